/* clock.c: the only file that reads the operating system's clocks, plus the simulated clock
 * and UTC calendar arithmetic (Howard Hinnant's days-from-civil algorithm, public domain). */
#define _POSIX_C_SOURCE 200809L
#include "noderr/clock.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t sim_now(void *ctx)
{
    return ((nd_clock_sim_t *)ctx)->_now_ns;
}

void nd_clock_sim_init(nd_clock_sim_t *sim, int64_t start_ns)
{
    ND_ASSERT(sim != NULL);
    sim->clock.now_mono_ns = sim_now;
    sim->clock.now_real_ns = sim_now;
    sim->clock.ctx = sim;
    sim->_now_ns = start_ns;
}

nd_err_t nd_clock_sim_set(nd_clock_sim_t *sim, int64_t now_ns)
{
    ND_ASSERT(sim != NULL);
    if (now_ns < sim->_now_ns)
        return ND_EINVAL;
    sim->_now_ns = now_ns;
    return ND_OK;
}

static int64_t os_read(clockid_t id)
{
    struct timespec ts;
    int rc = clock_gettime(id, &ts);
    ND_ASSERT(rc == 0);
    return (int64_t)ts.tv_sec * ND_NS_PER_SEC + ts.tv_nsec;
}

/* Per thread: CLOCK_MONOTONIC never goes backwards within a thread, but two threads reading the
 * one OS clock (exchange-sim's loop thread and a test's client) may store out of order. */
static _Thread_local int64_t os_last_mono_ns;

static int64_t os_mono(void *ctx)
{
    (void)ctx;
    int64_t now = os_read(CLOCK_MONOTONIC);
    /* CLOCK_MONOTONIC must never go backwards; if it does, every interval is a lie. */
    ND_ASSERT(now >= os_last_mono_ns);
    os_last_mono_ns = now;
    return now;
}

static int64_t os_real(void *ctx)
{
    (void)ctx;
    return os_read(CLOCK_REALTIME);
}

static nd_clock_t os_clock = {os_mono, os_real, NULL};

nd_clock_t *nd_clock_os(void)
{
    return &os_clock;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(y + (m <= 2));
    *month = m;
    *day = d;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

void nd_time_to_civil(int64_t ns, nd_civil_t *out)
{
    /* Split with truncating division and fix the sign afterwards: forming days * ND_NS_PER_DAY
     * would overflow for the first day before 1677-09-22 (INT64_MIN lies inside it). */
    int64_t days = ns / ND_NS_PER_DAY, rem = ns % ND_NS_PER_DAY;
    if (rem < 0) {
        rem += ND_NS_PER_DAY;
        days--;
    }
    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / ND_NS_PER_HOUR);
    out->minute = (int)(rem / ND_NS_PER_MIN % 60);
    out->second = (int)(rem / ND_NS_PER_SEC % 60);
    out->nanos = rem % ND_NS_PER_SEC;
}

/* The exact instant in 128 bits: years far from 1970 leave the int64 range (1677..2262), and
 * the day of INT64_MIN starts before it even though INT64_MIN itself is in range. */
static __int128 civil_to_ns128(const nd_civil_t *c)
{
    int64_t days = days_from_civil(c->year, c->month, c->day);
    return (__int128)days * ND_NS_PER_DAY + (__int128)c->hour * ND_NS_PER_HOUR +
           (__int128)c->minute * ND_NS_PER_MIN + (__int128)c->second * ND_NS_PER_SEC + c->nanos;
}

int64_t nd_time_from_civil(const nd_civil_t *c)
{
    ND_ASSERT(c != NULL);
    return (int64_t)civil_to_ns128(c);
}

int64_t nd_time_day_start(int64_t ns)
{
    /* Only instants before 1677-09-22 have a midnight outside int64; none is a real bar. */
    int64_t start_ns;
    ND_ASSERT(!__builtin_mul_overflow(floor_div(ns, ND_NS_PER_DAY), ND_NS_PER_DAY, &start_ns));
    return start_ns;
}

size_t nd_time_format_iso(int64_t ns, char *buf, size_t cap)
{
    ND_ASSERT(cap >= 32);
    nd_civil_t c;
    nd_time_to_civil(ns, &c);
    int n;
    if (c.nanos % ND_NS_PER_MS == 0 && c.nanos != 0)
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day,
                     c.hour, c.minute, c.second, (int)(c.nanos / ND_NS_PER_MS));
    else if (c.nanos != 0)
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", c.year, c.month, c.day,
                     c.hour, c.minute, c.second, (int)c.nanos);
    else
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
    ND_ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static int parse_digits(const char *s, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

nd_err_t nd_time_parse_iso(const char *s, int64_t *out_ns)
{
    ND_ASSERT(s != NULL);
    nd_civil_t c = {0};
    size_t len = strlen(s);
    if (len < 10 || parse_digits(s, 4, &c.year) || s[4] != '-' ||
        parse_digits(s + 5, 2, &c.month) || s[7] != '-' || parse_digits(s + 8, 2, &c.day))
        return ND_EPARSE;
    size_t i = 10;
    if (i < len) {
        if ((s[i] != 'T' && s[i] != ' ') || len < i + 6 || parse_digits(s + i + 1, 2, &c.hour) ||
            s[i + 3] != ':' || parse_digits(s + i + 4, 2, &c.minute))
            return ND_EPARSE;
        i += 6;
        if (i < len && s[i] == ':') {
            if (len < i + 3 || parse_digits(s + i + 1, 2, &c.second))
                return ND_EPARSE;
            i += 3;
            if (i < len && s[i] == '.') {
                int64_t scale = ND_NS_PER_SEC;
                i++;
                if (i >= len || s[i] < '0' || s[i] > '9')
                    return ND_EPARSE;
                for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
                    if (scale == 1)
                        return ND_EPARSE;
                    scale /= 10;
                    c.nanos += (s[i] - '0') * scale;
                }
            }
        }
        if (i < len && s[i] == 'Z')
            i++;
        if (i != len)
            return ND_EPARSE;
    }
    /* Unix time has no leap seconds, so :60 is refused rather than read as the next minute. */
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.minute > 59 ||
        c.second > 59)
        return ND_EPARSE;
    __int128 exact = civil_to_ns128(&c);
    if (exact < INT64_MIN || exact > INT64_MAX) /* outside 1677-09-21..2262-04-11 */
        return ND_EPARSE;
    nd_civil_t check;
    int64_t ns = (int64_t)exact;
    nd_time_to_civil(ns, &check);
    if (check.day != c.day) /* 2021-02-30 and the like */
        return ND_EPARSE;
    *out_ns = ns;
    return ND_OK;
}

size_t nd_time_lower_bound(const int64_t *first, size_t count, size_t stride, int64_t t)
{
    ND_ASSERT(first != NULL || count == 0);
    ND_ASSERT(stride >= sizeof(int64_t));
    const char *base = (const char *)first;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (*(const int64_t *)(const void *)(base + mid * stride) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
