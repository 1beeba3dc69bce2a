/* period.c: the pure parts of the downloader: argument checks, which archives cover a date
 * range, their names and URLs, and .CHECKSUM parsing.
 *
 * No I/O and no clock here ("today" is an argument), so every rule is unit-tested exactly.
 * Invariants: periods come out in strictly increasing time, contiguous from the first to the
 * last; only the last month of a range can be split into days. */
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/data.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const intervals[] = {"1s", "1m",  "3m", "5m", "15m", "30m", "1h", "2h",
                                        "4h", "6h",  "8h", "12h", "1d", "3d",  "1w", "1mo"};

int nd_data_symbol_valid(const char *symbol)
{
    ND_ASSERT(symbol != NULL);
    size_t len = strlen(symbol);
    if (len == 0 || len >= ND_DATA_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = symbol[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

int nd_data_interval_valid(const char *interval)
{
    ND_ASSERT(interval != NULL);
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++)
        if (strcmp(interval, intervals[i]) == 0)
            return 1;
    return 0;
}

/* Returns 00:00 UTC of the first day of the month after (year, month). */
static int64_t next_month_start(int year, int month)
{
    nd_civil_t c = {.year = month == 12 ? year + 1 : year, .month = month == 12 ? 1 : month + 1,
                    .day = 1};
    return nd_time_from_civil(&c);
}

static int64_t month_start(int year, int month)
{
    nd_civil_t c = {.year = year, .month = month, .day = 1};
    return nd_time_from_civil(&c);
}

/* Appends one period; ND_EFULL past cap. */
static nd_err_t push(nd_data_period_t *out, size_t cap, size_t *n, nd_data_period_kind_t kind,
                     int64_t start_ns, int64_t end_ns)
{
    ND_ASSERT(start_ns < end_ns);
    if (*n >= cap)
        return ND_EFULL;
    nd_civil_t c;
    nd_time_to_civil(start_ns, &c);
    ND_ASSERT(kind == ND_DATA_MONTHLY ? c.day == 1 : 1);
    out[*n] = (nd_data_period_t){.kind = kind, .year = c.year, .month = c.month,
                                 .day = kind == ND_DATA_DAILY ? c.day : 0,
                                 .start_ns = start_ns, .end_ns = end_ns};
    (*n)++;
    return ND_OK;
}

/* Adds the periods of one month: the monthly archive, or one daily archive per day from
 * first_day to last_day when the range ends inside the month. */
static nd_err_t add_month(nd_data_period_t *out, size_t cap, size_t *n, int year, int month,
                          int64_t first_day, int64_t last_day)
{
    int64_t start = month_start(year, month), end = next_month_start(year, month);
    ND_ASSERT(first_day >= start && last_day < end);
    ND_ASSERT(first_day <= last_day);
    if (last_day + ND_NS_PER_DAY == end)
        return push(out, cap, n, ND_DATA_MONTHLY, start, end);
    for (int64_t day = first_day; day <= last_day; day += ND_NS_PER_DAY) {
        nd_err_t rc = push(out, cap, n, ND_DATA_DAILY, day, day + ND_NS_PER_DAY);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

nd_err_t nd_data_periods(int64_t from_ns, int64_t to_ns, int64_t today_ns, nd_data_period_t *out,
                         size_t cap, size_t *count, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL || cap == 0);
    ND_ASSERT(count != NULL);
    int64_t from_day = nd_time_day_start(from_ns), to_day = nd_time_day_start(to_ns);
    char a[32], b[32];
    if (from_day > to_day) {
        nd_time_format_iso(from_day, a, sizeof a);
        nd_time_format_iso(to_day, b, sizeof b);
        nd_err_put(err, err_len, "from %.10s is after to %.10s", a, b);
        return ND_EINVAL;
    }
    /* A day's archive is published after the day ends: the last candidate is yesterday. */
    int64_t last_day = nd_time_day_start(today_ns) - ND_NS_PER_DAY;
    if (to_day < last_day)
        last_day = to_day;
    if (last_day < from_day) {
        nd_time_format_iso(from_day, a, sizeof a);
        nd_err_put(err, err_len, "nothing published yet from %.10s: Binance publishes a day's "
                "archive after the day ends (UTC)", a);
        return ND_EINVAL;
    }
    nd_civil_t c, e;
    nd_time_to_civil(from_day, &c);
    nd_time_to_civil(last_day, &e);
    size_t n = 0;
    int64_t first = from_day;
    for (int y = c.year, m = c.month; y < e.year || (y == e.year && m <= e.month);) {
        int64_t end = next_month_start(y, m);
        int64_t last = last_day < end ? last_day : end - ND_NS_PER_DAY;
        nd_err_t rc = add_month(out, cap, &n, y, m, first, last);
        if (rc != ND_OK) {
            nd_err_put(err, err_len, "more than %zu archives in the range", cap);
            return rc;
        }
        first = end;
        y = m == 12 ? y + 1 : y;
        m = m == 12 ? 1 : m + 1;
    }
    ND_ASSERT(n > 0);
    *count = n;
    return ND_OK;
}

size_t nd_data_period_name(const nd_data_period_t *period, char *buf, size_t cap)
{
    ND_ASSERT(period != NULL);
    ND_ASSERT(cap >= 16);
    int len;
    if (period->kind == ND_DATA_MONTHLY)
        len = snprintf(buf, cap, "%04d-%02d", period->year, period->month);
    else
        len = snprintf(buf, cap, "%04d-%02d-%02d", period->year, period->month, period->day);
    ND_ASSERT(len > 0 && (size_t)len < cap);
    return (size_t)len;
}

nd_err_t nd_data_archive_url(const char *base_url, const char *symbol, const char *interval,
                             const nd_data_period_t *period, char *buf, size_t cap)
{
    ND_ASSERT(interval != NULL);
    return nd_data_archive_url_kind(base_url, ND_DATA_KIND_KLINES, symbol, interval, period, buf,
                                    cap);
}

static const char *const kind_names[] = {"klines", "trades", "aggTrades", "bookTicker"};

const char *nd_data_kind_name(nd_data_kind_t kind)
{
    ND_ASSERT((unsigned)kind < sizeof kind_names / sizeof kind_names[0]);
    return kind_names[kind];
}

nd_err_t nd_data_kind_parse(const char *name, nd_data_kind_t *out)
{
    ND_ASSERT(name != NULL && out != NULL);
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (nd_data_kind_t)i;
            return ND_OK;
        }
    return ND_EINVAL;
}

nd_err_t nd_data_archive_url_kind(const char *base_url, nd_data_kind_t kind, const char *symbol,
                                  const char *interval, const nd_data_period_t *period, char *buf,
                                  size_t cap)
{
    ND_ASSERT(base_url != NULL && symbol != NULL);
    ND_ASSERT(period != NULL && buf != NULL);
    ND_ASSERT(kind != ND_DATA_KIND_KLINES || interval != NULL);
    size_t base_len = strlen(base_url);
    if (base_len > 0 && base_url[base_len - 1] == '/')
        base_len--;
    char name[16];
    nd_data_period_name(period, name, sizeof name);
    const char *span = period->kind == ND_DATA_MONTHLY ? "monthly" : "daily";
    int len;
    if (kind == ND_DATA_KIND_KLINES)
        len = snprintf(buf, cap, "%.*s/data/spot/%s/klines/%s/%s/%s-%s-%s.zip", (int)base_len,
                       base_url, span, symbol, interval, symbol, interval, name);
    else
        /* Binance publishes bookTicker archives for USD-M futures only. */
        len = snprintf(buf, cap, "%.*s/data/%s/%s/%s/%s/%s-%s-%s.zip", (int)base_len, base_url,
                       kind == ND_DATA_KIND_BOOK_TICKER ? "futures/um" : "spot", span,
                       kind_names[kind], symbol, symbol, kind_names[kind], name);
    if (len < 0 || (size_t)len >= cap)
        return ND_ERANGE;
    return ND_OK;
}

/* Strips one final "\n" or "\r\n" (Binance ends the line; some tools do not). */
static size_t strip_newline(const char *text, size_t len)
{
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    return len;
}

nd_err_t nd_data_checksum_parse(const char *text, size_t len, const char *expected_name,
                                char hex[65], char *err, size_t err_len)
{
    ND_ASSERT(text != NULL || len == 0);
    ND_ASSERT(expected_name != NULL);
    len = strip_newline(text, len);
    char digest[65];
    size_t i = 0;
    for (; i < len && i < 64 && isxdigit((unsigned char)text[i]); i++)
        digest[i] = (char)(text[i] >= 'A' && text[i] <= 'F' ? text[i] - 'A' + 'a' : text[i]);
    digest[i] = '\0';
    if (i != 64 || (i < len && text[i] != ' ')) {
        nd_err_put(err, err_len, "checksum file does not start with 64 hex digits and a space");
        return ND_EPARSE;
    }
    size_t p = 65;
    if (p < len && text[p] == ' ')
        p++;
    if (p < len && text[p] == '*')
        p++;
    size_t name_len = len > p ? len - p : 0;
    if (name_len != strlen(expected_name) || memcmp(text + p, expected_name, name_len) != 0) {
        int shown = name_len > 80 ? 80 : (int)name_len;
        nd_err_put(err, err_len, "checksum file names '%.*s', expected '%s'", shown,
                name_len ? text + p : "", expected_name);
        return ND_EPARSE;
    }
    memcpy(hex, digest, sizeof digest);
    return ND_OK;
}
