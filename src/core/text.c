/* text.c: quoting outside bytes in messages, the byte order mark, and durations (text.h). */
#include "noderr/text.h"

#include "noderr/assert.h"
#include "noderr/clock.h"

#include <stdio.h>
#include <string.h>

int nd_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *nd_text_escape(const char *text, size_t len, char *out, size_t cap)
{
    ND_ASSERT(out != NULL && cap >= 8);
    ND_ASSERT(text != NULL || len == 0);
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char piece[4];
        size_t plen = 0;
        if (c == '\\') {
            piece[plen++] = '\\';
            piece[plen++] = '\\';
        } else if (c >= 0x20 && c < 0x7f) {
            piece[plen++] = (char)c;
        } else {
            piece[0] = '\\';
            piece[1] = 'x';
            piece[2] = hex[c >> 4];
            piece[3] = hex[c & 15];
            plen = 4;
        }
        if (w + plen + 4 > cap) { /* room for "..." and the NUL */
            memcpy(out + w, "...", 3);
            w += 3;
            break;
        }
        memcpy(out + w, piece, plen);
        w += plen;
    }
    out[w] = '\0';
    return out;
}

size_t nd_text_bom_len(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

nd_err_t nd_span_parse(const char *text, size_t len, unsigned flags, nd_span_t *out, char *err,
                       size_t err_len)
{
    ND_ASSERT(text != NULL && out != NULL);
    const char *expected = (flags & ND_SPAN_BARS_OK)
                               ? "a whole number with a unit m, h, d or w, or a number of bars"
                               : "a whole number with a unit m, h, d or w";
    size_t k = 0;
    int64_t n = 0;
    bool too_big = false;
    for (; k < len && text[k] >= '0' && text[k] <= '9'; k++) {
        /* Saturate instead of wrapping: the bound check below reports it. */
        if (!too_big && (__builtin_mul_overflow(n, 10, &n) ||
                         __builtin_add_overflow(n, text[k] - '0', &n)))
            too_big = true;
    }
    int64_t unit = 0;
    if (k == 0 || k + 1 < len) {
        unit = -1;
    } else if (k == len) {
        unit = (flags & ND_SPAN_BARS_OK) ? 1 : -1;
    } else {
        switch (text[k]) {
        case 'm': unit = ND_NS_PER_MIN; break;
        case 'h': unit = ND_NS_PER_HOUR; break;
        case 'd': unit = ND_NS_PER_DAY; break;
        case 'w': unit = 7 * ND_NS_PER_DAY; break;
        default: unit = -1; break;
        }
    }
    char shown[48];
    if (unit < 0) {
        nd_err_put(err, err_len, "'%s' is not %s", nd_text_escape(text, len, shown, sizeof shown),
                expected);
        return ND_EPARSE;
    }
    bool bars = unit == 1;
    int64_t max = bars ? ND_SPAN_BARS_MAX : ND_SPAN_NS_MAX, v = 0;
    if (!too_big && n > 0 && !__builtin_mul_overflow(n, unit, &v) && v <= max) {
        out->value = v;
        out->bars = bars;
        return ND_OK;
    }
    nd_text_escape(text, len, shown, sizeof shown);
    if (!too_big && n == 0)
        nd_err_put(err, err_len, "'%s' must be positive", shown);
    else if (bars)
        nd_err_put(err, err_len, "'%s' is more than %lld bars", shown, (long long)ND_SPAN_BARS_MAX);
    else
        nd_err_put(err, err_len, "'%s' is longer than 100 years (36525d)", shown);
    return ND_ERANGE;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* One YYYYMMDD date (exactly 8 digits) to 00:00 UTC of it, in ns. */
static nd_err_t parse_yyyymmdd(const char *text, size_t len, int64_t *out, char *err,
                               size_t err_len)
{
    static const char *const months[12] = {"January", "February", "March", "April", "May",
                                           "June", "July", "August", "September", "October",
                                           "November", "December"};
    char shown[48];
    int v[8];
    for (size_t k = 0; k < len && k < 8; k++)
        v[k] = text[k] - '0';
    for (size_t k = 0; k < len; k++) {
        if (len != 8 || text[k] < '0' || text[k] > '9') {
            nd_err_put(err, err_len, "'%s' is not a date YYYYMMDD",
                       nd_text_escape(text, len, shown, sizeof shown));
            return ND_EPARSE;
        }
    }
    int year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    int month = v[4] * 10 + v[5], day = v[6] * 10 + v[7];
    nd_text_escape(text, len, shown, sizeof shown);
    if (month < 1 || month > 12) {
        nd_err_put(err, err_len, "%s: month %02d does not exist", shown, month);
        return ND_EPARSE;
    }
    if (day < 1 || day > days_in_month(year, month)) {
        nd_err_put(err, err_len, "%s: %s %d has %d days", shown, months[month - 1], year,
                   days_in_month(year, month));
        return ND_EPARSE;
    }
    /* Nanoseconds since 1970 in an int64 end in April 2262. */
    if (year < 1970 || year > 2261) {
        nd_err_put(err, err_len, "%s: outside 1970..2261 (Unix time in nanoseconds)", shown);
        return ND_ERANGE;
    }
    nd_civil_t c = {.year = year, .month = month, .day = day};
    *out = nd_time_from_civil(&c);
    ND_ASSERT(*out >= 0);
    return ND_OK;
}

nd_err_t nd_timerange_parse(const char *text, size_t len, nd_timerange_t *out, char *err,
                            size_t err_len)
{
    ND_ASSERT(text != NULL && out != NULL);
    char shown[48];
    const char *dash = memchr(text, '-', len);
    if (!dash || memchr(dash + 1, '-', len - (size_t)(dash - text) - 1) || len == 1) {
        nd_err_put(err, err_len, "'%s' is not YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD",
                   nd_text_escape(text, len, shown, sizeof shown));
        return ND_EPARSE;
    }
    nd_timerange_t r = {0, 0};
    size_t head = (size_t)(dash - text), tail = len - head - 1;
    nd_err_t rc = ND_OK;
    if (head > 0)
        rc = parse_yyyymmdd(text, head, &r.start_ns, err, err_len);
    if (rc == ND_OK && tail > 0)
        rc = parse_yyyymmdd(dash + 1, tail, &r.end_ns, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (tail > 0 && r.end_ns <= r.start_ns) {
        nd_err_put(err, err_len, "'%s': the end must be after the start (the end date is "
                   "excluded: 20220101-20220102 is one day)",
                   nd_text_escape(text, len, shown, sizeof shown));
        return ND_ERANGE;
    }
    *out = r;
    return ND_OK;
}

char *nd_timerange_format(const nd_timerange_t *range, char *out, size_t cap)
{
    ND_ASSERT(range != NULL && out != NULL);
    ND_ASSERT(cap > 0);
    char a[32] = "start", b[32] = "end";
    if (range->start_ns > 0)
        nd_time_format_iso(range->start_ns, a, sizeof a);
    if (range->end_ns > 0)
        nd_time_format_iso(range->end_ns, b, sizeof b);
    /* Dates only: a range is whole days. */
    if (range->start_ns > 0)
        a[10] = '\0';
    if (range->end_ns > 0)
        b[10] = '\0';
    snprintf(out, cap, "%s .. %s", a, b);
    return out;
}

char *nd_span_format(int64_t ns, char *out, size_t cap)
{
    ND_ASSERT(out != NULL && cap > 0);
    ND_ASSERT(ns > 0);
    if (ns % ND_NS_PER_DAY == 0)
        snprintf(out, cap, "%lldd", (long long)(ns / ND_NS_PER_DAY));
    else if (ns % ND_NS_PER_HOUR == 0)
        snprintf(out, cap, "%lldh", (long long)(ns / ND_NS_PER_HOUR));
    else if (ns % ND_NS_PER_MIN == 0)
        snprintf(out, cap, "%lldm", (long long)(ns / ND_NS_PER_MIN));
    else
        snprintf(out, cap, "%llds", (long long)(ns / ND_NS_PER_SEC));
    return out;
}
