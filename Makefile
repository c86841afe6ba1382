# instctl: build, test, benchmark, install. See README.md.
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PKGS      = libcjson libcurl sqlite3 libcrypto
CC       ?= cc
CFLAGS   ?= -O2 -g
XCFLAGS   = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECKLIBS = $(shell pkg-config --libs check 2>/dev/null)
ifeq ($(SANITIZE),1)
XCFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
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

.PHONY: all deps check unit integration bench demo lint install uninstall clean standin engine

all: $(BIN)

$(BUILD)/%.o: %.c $(wildcard lib/*.h cmd/instctl/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJS) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIBA) $(LDLIBS)

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

deps:
	@scripts/install-deps.sh

engine: deps
	@scripts/start-dockerd.sh

standin: engine
	@scripts/build-standin.sh

check: standin
	$(MAKE) $(BIN) $(BUILD)/tests/unit $(BUILD)/tests/integration $(TOOLS)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) BUILD=$(BUILD) tests/run-tests.sh $(BUILD)/tests/unit $(BUILD)/tests/integration

unit: $(BUILD)/tests/unit
	@tests/run-tests.sh $(BUILD)/tests/unit

bench: standin
	$(MAKE) $(BIN) $(TOOLS)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) BUILD=$(BUILD) tests/bench.sh

demo: standin
	$(MAKE) $(BIN)
	@INSTCTL_BIN=$(CURDIR)/$(BIN) scripts/demo.sh

lint:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CMD_SRCS) $(wildcard lib/*.h cmd/instctl/*.h tests/*.c tests/*.h tests/tools/*.h) \
	  $(UNIT_SRCS) $(INTEG_SRCS) $(TOOL_SRCS)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --suppress=missingIncludeSystem --inline-suppr -Ilib lib cmd tests

COMPLETIONS = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
# systemd reads units from $(PREFIX)/lib/systemd/system (/usr/local/lib/systemd/system).
SYSTEMD     = $(DESTDIR)$(PREFIX)/lib/systemd/system
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/etc/cron.d \
	  $(COMPLETIONS) $(DESTDIR)/etc/instctl $(DESTDIR)$(PREFIX)/lib/instctl
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/instctl
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 cron/instctl $(DESTDIR)/etc/cron.d/instctl
	$(BIN) completion bash > $(COMPLETIONS)/instctl
	install -m 0644 etc/instctl.conf.example $(DESTDIR)/etc/instctl/instctl.conf.example
	install -m 0755 scripts/billing-webhook.cgi $(DESTDIR)$(PREFIX)/lib/instctl/billing-webhook.cgi
	install -d $(SYSTEMD)
	for u in systemd/*.service systemd/*.timer; do \
	  sed 's|/usr/local/bin/instctl|$(PREFIX)/bin/instctl|' $$u > $(SYSTEMD)/$${u#systemd/} && \
	  chmod 0644 $(SYSTEMD)/$${u#systemd/} || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/instctl $(DESTDIR)/etc/cron.d/instctl $(COMPLETIONS)/instctl
	rm -f $(DESTDIR)/etc/instctl/instctl.conf.example $(DESTDIR)$(PREFIX)/lib/instctl/billing-webhook.cgi
	rm -f $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man8/%,$(wildcard man/*.8))
	rm -f $(patsubst systemd/%,$(SYSTEMD)/%,$(wildcard systemd/*.service systemd/*.timer))
	-rmdir $(DESTDIR)$(PREFIX)/lib/instctl $(DESTDIR)/etc/instctl 2>/dev/null

clean:
	rm -rf build build-san
