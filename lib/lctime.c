/* Parsing Docker's times and formatting ours (see lctime.h). */
#include "lctime.h"

#include <stdio.h>
#include <string.h>

/* Reads exactly n decimal digits at *p into *v and advances *p. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

static bool expect(const char **p, const char *any)
{
    if (**p == '\0' || strchr(any, **p) == NULL)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses "Z" or "+hh:mm"/"-hh:mm" into seconds east of UTC; must end the string. */
static bool parse_offset(const char *p, long *off)
{
    int hh, mm;
    if (*p == 'Z' || *p == 'z') {
        *off = 0;
        return p[1] == '\0';
    }
    int sign = *p == '-' ? -1 : 1;
    if (!expect(&p, "+-") || !digits(&p, 2, &hh) || !expect(&p, ":") || !digits(&p, 2, &mm) ||
        *p != '\0' || hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 3600L + mm * 60L);
    return true;
}

bool lc_parse_docker_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se, frac = 0;
    long off;
    const char *p = s;
    if (s == NULL || !digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
        !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt") || !digits(&p, 2, &h) ||
        !expect(&p, ":") || !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &se))
        return false;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        frac = (int)(p - f);
        if (frac < 1 || frac > 9)
            return false;
    }
    if (!parse_offset(p, &off) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || se > 59)
        return false;
    if (y == 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && se == 0 && off == 0) {
        *out = 0;
        return true;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm) - off;
    return true;
}

void lc_format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (len == 0)
        return;
    buf[0] = '\0';
    if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}
