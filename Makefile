# instctl: build, test, benchmark, install, package. See README.md.
# VERSION is the one version: `instctl --version` and the Debian package's.
VERSION   = 0.2.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PKGS      = libcjson libcurl sqlite3 libcrypto
CC       ?= cc
CFLAGS   ?= -O2 -g
XCFLAGS   = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# instctl itself loads libcurl when it first talks to an engine (lib/curl_api.h)
BINLIBS   = $(filter-out -lcurl,$(LDLIBS))
CHECKLIBS = $(shell pkg-config --libs check 2>/dev/null)
ifeq ($(SANITIZE),1)
XCFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
BUILD     = build-san
endif

LIB_SRCS   = $(sort $(wildcard lib/*.c))
CMD_SRCS   = $(sort $(wildcard cmd/instctl/*.c))
UNIT_SRCS  = $(sort $(wildcard tests/unit/check_*.c))
INTEG_SRCS = $(sort $(wildcard tests/integration/check_*.c))
TUTIL_SRCS = tests/testutil.c
LIB_OBJS   = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS   = $(CMD_SRCS:%.c=$(BUILD)/%.o)
TOOL_SRCS  = $(sort $(wildcard tests/tools/*.c))
TOOLS      = $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

BIN   = $(BUILD)/instctl
LIBA  = $(BUILD)/liblifecycle.a

.PHONY: all deps deps-runtime check unit integration bench demo demo-clean deb lint install uninstall clean standin engine engine2

all: $(BIN)

$(BUILD)/%.o: %.c $(wildcard lib/*.h cmd/instctl/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cmd/instctl/main.o: XCFLAGS += -DINSTCTL_VERSION='"$(VERSION)"'
$(BUILD)/cmd/instctl/main.o: Makefile

$(BIN): $(CMD_OBJS) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIBA) $(BINLIBS)

$(BUILD)/tests/%_suites.h: $(BUILD)/tests/.dir
	@true

$(BUILD)/tests/.dir:
	@mkdir -p $(BUILD)/tests && touch $@

# One runner binary per test kind; its suites are every `Suite *suite_*(void)`
# defined in that kind's files, collected here so adding a file adds a suite.
define RUNNER
$(BUILD)/tests/$(1)_suites.h: $(2) | $(BUILD)/tests/.dir
	@grep -ho 'Suite \*suite_[a-z_0-9]*(void)' $(2) | sed 's/.*\*\(suite_[a-z_0-9]*\).*/X(\1)/' > $$@.tmp
	@cmp -s $$@.tmp $$@ 2>/dev/null && rm -f $$@.tmp || mv $$@.tmp $$@

$(BUILD)/tests/$(1): tests/runner.c $(BUILD)/tests/$(1)_suites.h $(2) $(TUTIL_SRCS) tests/testutil.h $(LIBA)
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests -I$(BUILD)/tests -DSUITES_H='"$(1)_suites.h"' -DRUNNER_NAME='"$(1)"' \
	  $(LDFLAGS) -o $$@ tests/runner.c $(2) $(TUTIL_SRCS) $(LIBA) $(LDLIBS) $(CHECKLIBS)
endef
$(eval $(call RUNNER,unit,$(UNIT_SRCS)))
$(eval $(call RUNNER,integration,$(INTEG_SRCS)))

$(BUILD)/tests/%: tests/tools/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# Debian packages by set (scripts/install-deps.sh): each target installs only what it needs.
DEPS = scripts/install-deps.sh
deps:
	@$(DEPS) build runtime test package

deps-runtime:
	@$(DEPS) runtime

engine: deps-runtime
	@scripts/start-dockerd.sh

standin: engine
	@scripts/build-standin.sh

# A second engine over TCP with mutual TLS, the stand-in images loaded (several-hosts tests).
engine2: standin
	@scripts/start-second-engine.sh

check: deps standin engine2
	$(MAKE) $(BIN) $(BUILD)/tests/unit $(BUILD)/tests/integration $(TOOLS)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) BUILD=$(BUILD) tests/run-tests.sh $(BUILD)/tests/unit $(BUILD)/tests/integration

unit: $(BUILD)/tests/unit
	@tests/run-tests.sh $(BUILD)/tests/unit

bench: deps standin
	$(MAKE) $(BIN) $(TOOLS)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) BUILD=$(BUILD) tests/bench.sh

demo:
	@$(DEPS) build runtime
	$(MAKE) standin $(BIN)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) scripts/demo.sh

demo-clean: $(BIN)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) scripts/demo.sh clean

lint:
	scripts/check-layers.sh
	clang-format --dry-run --Werror $(LIB_SRCS) $(CMD_SRCS) $(wildcard lib/*.h cmd/instctl/*.h tests/*.c tests/*.h tests/tools/*.h) \
	  $(UNIT_SRCS) $(INTEG_SRCS) $(TOOL_SRCS)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --suppress=missingIncludeSystem --inline-suppr -Ilib lib cmd tests

COMPLETIONS = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS = $(sort $(wildcard systemd/*.service systemd/*.timer))
# Files that name the binary's path get the installed one.
BINPATH = sed 's|/usr/local/bin/instctl|$(PREFIX)/bin/instctl|g'
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/etc/cron.d \
	  $(COMPLETIONS) $(DESTDIR)/etc/instctl $(DESTDIR)$(PREFIX)/lib/instctl
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/instctl
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 cron/instctl $(DESTDIR)/etc/cron.d/instctl
	$(BIN) completion bash > $(COMPLETIONS)/instctl
	install -m 0644 etc/instctl.conf.example $(DESTDIR)/etc/instctl/instctl.conf.example
	$(BINPATH) scripts/billing-webhook.cgi > $(DESTDIR)$(PREFIX)/lib/instctl/billing-webhook.cgi
	chmod 0755 $(DESTDIR)$(PREFIX)/lib/instctl/billing-webhook.cgi
	$(foreach u,$(UNITS),install -d $(DESTDIR)$(SYSTEMDUNITDIR) && \
	  $(BINPATH) $(u) > $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u)) && \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u));)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/instctl $(DESTDIR)/etc/cron.d/instctl $(COMPLETIONS)/instctl
	rm -f $(DESTDIR)/etc/instctl/instctl.conf.example $(DESTDIR)$(PREFIX)/lib/instctl/billing-webhook.cgi
	rm -f $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man8/%,$(wildcard man/*.8))
	rm -f $(patsubst systemd/%,$(DESTDIR)$(SYSTEMDUNITDIR)/%,$(UNITS))
	-rmdir $(DESTDIR)$(PREFIX)/lib/instctl $(DESTDIR)/etc/instctl 2>/dev/null

# instctl_$(VERSION)_amd64.deb in $(BUILD)/, built by dpkg-buildpackage from a
# copy of the tree in a temporary directory (it writes beside the tree).
deb:
	@$(DEPS) build package
	@VERSION=$(VERSION) OUT=$(abspath $(BUILD)) scripts/build-deb.sh

clean:
	rm -rf build build-san
