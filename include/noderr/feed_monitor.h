/* feed_monitor.h: the data-integrity breaker's inputs in a live session: per market-data feed,
 * staleness (no update for longer than a bound) and sequence gaps not recovered within a bound,
 * plus the reference price's verdict (refprice.h). A failure names the input and the measured
 * value, which the engine records with the trip (nd_engine_feed_check,
 * nd_engine_data_integrity_fail_input).
 *
 * Pure logic on an injected clock: every call takes now; nothing here reads a clock or
 * allocates. Bounds are inclusive on the healthy side, as refprice's freshness: a feed whose last
 * update is exactly stale_after_ns old is fresh, one nanosecond more is stale; a gap open exactly
 * gap_recover_ns is still waiting, one nanosecond more fails. */
#ifndef NODERR_FEED_MONITOR_H
#define NODERR_FEED_MONITOR_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/refprice.h"
#include "noderr/risk.h"

#include <stdbool.h>
#include <stdint.h>

/* Feeds per session: a few venues x a few streams (trades, book, user data). */
#define ND_FEED_MONITOR_FEEDS_MAX 32

typedef struct nd_feed_monitor_config {
    int64_t stale_after_ns;  /* > 0; default 5 s */
    int64_t gap_recover_ns;  /* >= 0; default 2 s (0: a gap fails at the next check after it) */
    /* In-place resynchronisation (nd_feed_monitor_resync_gaps) of a gap that late messages did
     * not fill within reorder_wait_ns (default 500 ms): at most resyncs_per_min_max a feed in
     * any minute (default 30; 0: never, a gap waits for a reconnect or a snapshot). */
    int64_t reorder_wait_ns;
    uint32_t resyncs_per_min_max;
} nd_feed_monitor_config_t;

/* The numbers behind the last sequence number that the window remembers (seen or missing). */
#define ND_FEED_SEQ_WINDOW 64

typedef struct nd_feed {
    char name[ND_NAME_MAX];     /* "binance:BTCUSDT@depth" */
    int64_t updated_ns;         /* last message, or the registration time before any */
    uint64_t last_seq;          /* 0: the feed has no sequence numbers (yet) */
    int64_t gap_since_ns;       /* when the open gap was seen; 0: none open */
    uint64_t gap_missing;       /* messages missing in the open gap */
    uint64_t gaps;              /* gaps seen */
    uint64_t seen_mask;         /* bit i: number last_seq - 1 - i was seen (or given up) */
    uint64_t late;              /* messages that came late and filled a gap (reordered) */
    uint64_t repeats;           /* numbers seen before (duplicates) or too old to tell */
    uint64_t resyncs;           /* gaps resynchronised in place (their messages given up) */
    uint64_t lost;              /* messages given up by those resyncs */
    int64_t resync_minute_ns;   /* start of the current resync budget's minute */
    uint32_t resyncs_in_minute;
} nd_feed_t;

/* What a message's sequence number was (nd_feed_monitor_on_message). */
typedef enum nd_feed_msg {
    ND_FEED_MSG_NEW = 0,    /* the next number, a later one (a gap), or no number */
    ND_FEED_MSG_LATE = 1,   /* an earlier number not seen before: it fills a gap */
    ND_FEED_MSG_REPEAT = 2  /* a number seen before, or older than the window: skip it */
} nd_feed_msg_t;

typedef struct nd_feed_monitor {
    nd_feed_monitor_config_t cfg;
    nd_feed_t feeds[ND_FEED_MONITOR_FEEDS_MAX];
    uint32_t feed_count;
} nd_feed_monitor_t;

/* What a check found: the first failing input in the order stale, gap, reference price (among
 * feeds, the first registered), so the verdict is deterministic. */
typedef struct nd_feed_verdict {
    bool failed;
    nd_integrity_input_t input;   /* ND_INTEGRITY_STALE, _SEQ_GAP, _REFPRICE, _REFPRICE_SOURCES */
    int32_t feed;                 /* the feed's index; -1 for the reference price */
    int64_t measured_e6;          /* stale: the age, gap: how long it is open, both in
                                     microseconds (seconds x 10^6); refprice: the largest
                                     deviation in millionths (bps x 100); refprice_sources: the
                                     fresh sources x 10^6 */
    int64_t bound_e6;             /* the bound in the same unit (refprice: 0) */
} nd_feed_verdict_t;

/* Defaults: stale after 5 s, a gap must be recovered within 2 s, resynchronised in place after
 * 500 ms at most 30 times a minute. */
void nd_feed_monitor_config_default(nd_feed_monitor_config_t *cfg);
/* ND_EINVAL for stale_after_ns <= 0 or gap_recover_ns < 0. */
nd_err_t nd_feed_monitor_init(nd_feed_monitor_t *m, const nd_feed_monitor_config_t *cfg);
/* Registers a feed at now_ns (its staleness counts from there). ND_EFULL past the maximum,
 * ND_EEXIST for a name already registered, ND_EINVAL for an empty or too long name. */
nd_err_t nd_feed_monitor_add(nd_feed_monitor_t *m, const char *name, int64_t now_ns,
                             uint32_t *index /* OUT */);
/* A message on feed index at now_ns with its sequence number (0: none). A number beyond the
 * next one opens a gap (if none is open) and counts the numbers it skipped as missing; an
 * earlier number not seen before (within ND_FEED_SEQ_WINDOW of the last) fills one of them, and
 * the gap is recovered when none is missing; a number seen before, or older than the window, is
 * a repeat (the caller skips it: a duplicate must not be traded on twice). O(1). */
nd_feed_msg_t nd_feed_monitor_on_message(nd_feed_monitor_t *m, uint32_t index, int64_t now_ns,
                                         uint64_t seq);
/* Resynchronises in place every feed whose gap has been open longer than reorder_wait_ns, as
 * far as its budget allows (resyncs_per_min_max in a minute): the missing messages are given up
 * (counted as lost) and the sequence goes on from the last number, as after a reconnect. For a
 * stream whose lost messages cannot be fetched again (a trade stream: the next print is the
 * price, and the book is kept by snapshots), that is the resynchronisation; a feed that keeps
 * losing messages exhausts its budget, and its gap then trips the breaker after gap_recover_ns.
 * Returns how many feeds were resynchronised. O(feeds). */
uint32_t nd_feed_monitor_resync_gaps(nd_feed_monitor_t *m, int64_t now_ns);
/* The feed resynchronised at now_ns (a fresh snapshot up to seq, 0 for none): an open gap is
 * recovered and the sequence restarts from seq. */
void nd_feed_monitor_on_resync(nd_feed_monitor_t *m, uint32_t index, int64_t now_ns,
                               uint64_t seq);
/* Checks every feed at now_ns and, when ref is not NULL, the reference price (status HALT
 * fails). Returns out->failed. O(feeds). */
bool nd_feed_monitor_check(const nd_feed_monitor_t *m, int64_t now_ns,
                           const nd_refprice_result_t *ref, nd_feed_verdict_t *out /* OUT */);

#endif
