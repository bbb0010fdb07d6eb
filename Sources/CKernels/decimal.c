#define _GNU_SOURCE
#include "decimal.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

int ssl_parse_double(const char *s, long len, double *out) {
    if (len <= 0 || len > 63) return -1;
    pthread_once(&c_locale_once, make_c_locale);
    if (!c_locale) return -1;
    char buf[64];
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    // strtod skips leading white space, which Double(String) refuses (cells come trimmed; this keeps the rule exact).
    if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) return 0;
    char *end = 0;
    double v = strtod_l(buf, &end, c_locale);
    if (end != buf + len) return 0;
    *out = v;
    return 1;
}
