/* clock.h: time is int64 nanoseconds UTC behind an injected clock.
 *
 * No module reads the system clock directly: it is read only in src/core/clock.c. The engine
 * caches "now" once per event and modules read that. The simulated clock is advanced by the
 * backtester or a test, so every backtest and replay is bit-for-bit reproducible. */
#ifndef NODERR_CLOCK_H
#define NODERR_CLOCK_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

#define ND_NS_PER_US 1000LL
#define ND_NS_PER_MS 1000000LL
#define ND_NS_PER_SEC 1000000000LL
#define ND_NS_PER_MIN (60LL * ND_NS_PER_SEC)
#define ND_NS_PER_HOUR (3600LL * ND_NS_PER_SEC)
#define ND_NS_PER_DAY (86400LL * ND_NS_PER_SEC)

typedef struct nd_clock {
    /* Monotonic nanoseconds for measuring intervals. */
    int64_t (*now_mono_ns)(void *ctx);
    /* Wall-clock nanoseconds since the Unix epoch, UTC. */
    int64_t (*now_real_ns)(void *ctx);
    void *ctx;
} nd_clock_t;

/* The simulated clock: both readings return the value last set; it never moves by itself. */
typedef struct nd_clock_sim {
    nd_clock_t clock; /* public: pass &sim.clock where an nd_clock_t * is wanted */
    int64_t _now_ns;  /* private */
} nd_clock_sim_t;

/* Initialises a simulated clock at start_ns. */
void nd_clock_sim_init(nd_clock_sim_t *sim, int64_t start_ns);
/* Moves the simulated clock to now_ns; time may not go backwards (ND_EINVAL, clock unchanged). */
nd_err_t nd_clock_sim_set(nd_clock_sim_t *sim, int64_t now_ns);

/* The operating-system clock (CLOCK_MONOTONIC and CLOCK_REALTIME). Its monotonic reading
 * aborts if the OS ever reports time going backwards. Shared, immutable, never freed. */
nd_clock_t *nd_clock_os(void);

static inline int64_t nd_clock_now_ns(const nd_clock_t *clock)
{
    return clock->now_real_ns(clock->ctx);
}
static inline int64_t nd_clock_mono_ns(const nd_clock_t *clock)
{
    return clock->now_mono_ns(clock->ctx);
}

/* UTC calendar helpers (proleptic Gregorian, no leap seconds, as Unix time). */
typedef struct nd_civil {
    int year, month, day, hour, minute, second;
    int64_t nanos;
} nd_civil_t;

/* Splits ns since the epoch into a UTC calendar date and time. */
void nd_time_to_civil(int64_t ns, nd_civil_t *out /* OUT */);
/* Returns ns since the epoch for a UTC calendar date and time (fields not range-checked). */
int64_t nd_time_from_civil(const nd_civil_t *civil);
/* Returns the start (00:00 UTC) of the day containing ns, in ns. */
int64_t nd_time_day_start(int64_t ns);
/* Formats ns as ISO-8601 UTC, "2020-03-12T23:00:00Z" (milliseconds added when non-zero).
 * Returns the length written; buf needs 32 bytes. */
size_t nd_time_format_iso(int64_t ns, char *buf, size_t cap);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]Z" or with a space instead of T.
 * Returns ND_EPARSE on anything else. */
nd_err_t nd_time_parse_iso(const char *text, int64_t *out_ns /* OUT */);

/* The one binary search over time: the first index i in [0, count) whose time is >= t, or
 * count when none is. The times are sorted ascending and read at (char *)first + i * stride, so
 * one search serves a plain int64_t array (stride sizeof(int64_t)) and a time field of an
 * array of structs (first = &items[0].ts_ns, stride = sizeof items[0]). O(log count). */
size_t nd_time_lower_bound(const int64_t *first, size_t count, size_t stride, int64_t t);

#endif
