/* refprice.h: the reference price of an asset: the median of its fresh sources (venue mid prices,
 * Chainlink), a deviation alarm when one source strays from that median beyond a threshold, and a
 * data-integrity status the risk engine can halt on.
 *
 * Prices are int64 fixed point at the caller's scale (the same for every source of one asset).
 * A source is fresh when it was updated within max_age_ns of "now" and not invalidated (an
 * oracle that reports stale or invalid, a venue whose book is resynchronising). Nothing here
 * reads the clock; callers pass now. No allocation: sources live in the struct. */
#ifndef NODERR_REFPRICE_H
#define NODERR_REFPRICE_H

#include "noderr/err.h"
#include "noderr/limits.h"

#include <stdbool.h>
#include <stdint.h>

/* Sources per asset: a handful of venues plus one or two oracles. */
#define ND_REFPRICE_SOURCES_MAX 8

typedef struct nd_refprice_config {
    int64_t max_age_ns;        /* a source older than this is not fresh (> 0) */
    int32_t deviation_bps_max; /* alarm when |px - median| / median exceeds this (> 0) */
    uint32_t min_sources;      /* fewer fresh sources than this: integrity HALT (0: never) */
    bool halt_on_deviation;    /* treat a deviation alarm as HALT (default: warn only) */
    /* With halt_on_deviation: a deviation is HALT only once it has lasted longer than this
     * (>= 0; 0, the default: at once). "Lasted" is measured between computations: from the
     * first computation that saw a source stray to this one, with no computation in between
     * that saw every fresh source in line (a stale source leaving the set ends its deviation). */
    int64_t deviation_hold_ns;
} nd_refprice_config_t;

typedef enum nd_refprice_status {
    ND_REFPRICE_OK = 0,        /* enough fresh sources, all within the threshold */
    ND_REFPRICE_DEVIATION = 1, /* a source strays: alarm; the median is still published */
    ND_REFPRICE_HALT = 2       /* not enough fresh sources (or deviation with halt_on_deviation) */
} nd_refprice_status_t;

typedef struct nd_refprice_source {
    char name[ND_NAME_MAX];    /* "binance", "coinbase", "chainlink" */
    int64_t px;
    int64_t updated_ns;
    bool has_price;
    bool invalid;              /* set by nd_refprice_invalidate until the next update */
} nd_refprice_source_t;

typedef struct nd_refprice {
    char asset[ND_NAME_MAX];
    nd_refprice_config_t config;
    nd_refprice_source_t sources[ND_REFPRICE_SOURCES_MAX];
    uint32_t source_count;
    uint64_t alarms;           /* read-only: computations that raised a deviation alarm */
    int64_t deviating_since_ns; /* read-only: the first computation of the current deviation */
    bool deviating;            /* read-only: the last computation saw a source stray */
} nd_refprice_t;

typedef struct nd_refprice_result {
    nd_refprice_status_t status;
    int64_t px;                /* median of fresh sources (0 when none), half-even for even counts */
    uint32_t fresh;            /* fresh sources used */
    uint32_t deviating_mask;   /* bit i set: source i strays beyond the threshold */
    int32_t max_deviation_bps; /* the largest deviation among fresh sources */
    int64_t deviating_for_ns;  /* how long the current deviation has lasted (0: none) */
} nd_refprice_result_t;

/* Fills cfg with defaults: 10 s freshness, 100 bps (1%) deviation, 2 sources, warn only, no
 * hold. */
void nd_refprice_config_default(nd_refprice_config_t *cfg);
/* ND_EINVAL for a bad config or asset name. */
nd_err_t nd_refprice_init(nd_refprice_t *rp, const char *asset, const nd_refprice_config_t *cfg);
/* Registers a source; *index identifies it in updates. ND_EFULL past ND_REFPRICE_SOURCES_MAX,
 * ND_EEXIST for a duplicate name. */
nd_err_t nd_refprice_add_source(nd_refprice_t *rp, const char *name, uint32_t *index /* OUT */);
/* Records a price (> 0, else ND_EINVAL) at updated_ns; clears an invalidation. */
nd_err_t nd_refprice_update(nd_refprice_t *rp, uint32_t index, int64_t px, int64_t updated_ns);
/* Marks a source unusable until its next update (oracle stale, book resync). */
void nd_refprice_invalidate(nd_refprice_t *rp, uint32_t index);
/* Median, alarm and status at now_ns. Counts an alarm in rp->alarms and follows how long the
 * deviation lasts (deviation_hold_ns). now_ns must not go back between calls. O(sources^2). */
void nd_refprice_compute(nd_refprice_t *rp, int64_t now_ns, nd_refprice_result_t *out /* OUT */);
/* "ok", "deviation", "halt". */
const char *nd_refprice_status_name(nd_refprice_status_t status);
/* Mid price of a best bid and ask (both > 0, bid <= ask), rounded half-even. ND_EINVAL else. */
nd_err_t nd_refprice_mid(int64_t bid_px, int64_t ask_px, int64_t *out /* OUT */);

#endif
