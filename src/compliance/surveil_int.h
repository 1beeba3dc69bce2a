/* surveil_int.h: private to the surveillance rule engine (src/compliance/surveil*.c).
 *
 * The scan context holds the events in time order, grouped two ways (by owner and symbol, by
 * account and symbol), a per-order summary indexed by dictionary id, and the profile being
 * applied. Each rule reads the context and appends alerts through the helpers below. */
#ifndef NODERR_SURVEIL_INT_H
#define NODERR_SURVEIL_INT_H

#include "noderr/hmap.h"
#include "noderr/surveillance.h"

#include <stdint.h>

#define ND__SURV_NEVER INT64_MAX

/* A map from a 64-bit key to a 64-bit value (the one hash table, hmap.h). */
typedef struct nd__surv_map {
    nd_hmap_t map;
} nd__surv_map_t;

void nd__surv_map_init(nd__surv_map_t *m);
void nd__surv_map_deinit(nd__surv_map_t *m);
/* Returns a pointer to the value of key, inserting 0 when absent; NULL when out of memory. */
int64_t *nd__surv_map_slot(nd__surv_map_t *m, uint64_t key);
/* Returns the value of key, or dflt when absent. */
int64_t nd__surv_map_get(const nd__surv_map_t *m, uint64_t key, int64_t dflt);

/* What the scan knows about one order id across all its events. */
typedef struct nd__surv_order {
    int64_t new_ts;        /* ND__SURV_NEVER when its `new` is not in the events */
    int64_t first_fill_ts; /* ND__SURV_NEVER when never filled */
    int64_t cancel_ts;     /* ND__SURV_NEVER when never cancelled */
    int64_t px;
    uint32_t first_fill_event;
    int8_t side;
} nd__surv_order_t;

/* Events grouped by a pair of ids: idx[start[g] .. start[g+1]) are group g's event indexes in
 * time order. */
typedef struct nd__surv_groups {
    uint32_t *idx;
    uint32_t *start;
    uint32_t count;
} nd__surv_groups_t;

typedef struct nd__surv_ctx {
    const nd_surv_event_t *ev;
    size_t n;
    uint32_t *by_time;            /* every event index, ordered by (ts, input position) */
    nd__surv_groups_t owner_sym;  /* wash trading, layering, ADV share */
    nd__surv_groups_t account_sym;/* high frequency, order-to-trade, day trades */
    nd__surv_order_t *orders;     /* per dictionary id */
    const nd_surv_account_t **accounts; /* per dictionary id, NULL when not given */
    uint32_t id_count;            /* one more than the largest id in use */
    const nd_surv_options_t *opt;
    const nd_surv_profile_t *profile; /* the profile being applied */
    nd_surv_alerts_t *out;
    char *err;                    /* the scan's error detail (rules report overflows here) */
    size_t err_len;
} nd__surv_ctx_t;

/* Appends a zeroed alert for the current profile; NULL when out of memory. The pointer is
 * valid until the next append. */
nd_surv_alert_t *nd__surv_alert_new(nd__surv_ctx_t *c, nd_surv_rule_t rule, uint32_t owner,
                                    uint32_t symbol);
/* Adds an event's account, order and (for fills) trade to the evidence and widens the span. */
void nd__surv_alert_add_event(nd_surv_alert_t *a, const nd__surv_ctx_t *c, uint32_t index);
void nd__surv_alert_add_order(nd_surv_alert_t *a, uint32_t order);
void nd__surv_alert_add_account(nd_surv_alert_t *a, uint32_t account);
/* Drops the last alert unless one of its accounts is under the current profile. */
void nd__surv_alert_commit(nd__surv_ctx_t *c);
/* True when the account is under the current profile. */
bool nd__surv_account_applies(const nd__surv_ctx_t *c, uint32_t account);
/* Notional px * qty (both ND_SURV_DECIMALS) in cash units; ND_EOVERFLOW when it does not fit
 * int64 (nd_surv_scan refuses such events up front, so rules see only fitting ones). */
nd_err_t nd__surv_notional(int64_t px, int64_t qty, int64_t *out /* OUT */);
/* Where event index is, for messages: "line N (event I)" when options->first_line is set,
 * else "event I (data row I+1)". */
void nd__surv_event_where(const nd_surv_options_t *opt, size_t index, char *buf, size_t cap);
/* Writes "WHERE: WHAT does not fit 64 bits" into the scan's err and returns
 * ND_EOVERFLOW: a sum that overflows is an input error, never clamped. */
nd_err_t nd__surv_overflow(const nd__surv_ctx_t *c, uint32_t index, const char *what);
/* *sum += add, or nd__surv_overflow(c, index, what) leaving *sum unchanged. */
nd_err_t nd__surv_add(const nd__surv_ctx_t *c, int64_t *sum, int64_t add, uint32_t index,
                      const char *what);
/* UTC day number (days since 1970-01-01) of a time. */
int64_t nd__surv_day(int64_t ts_ns);
/* Formats a fixed-point amount ("25000", "0.5") into buf. */
const char *nd__surv_amount(int64_t value, char *buf, size_t cap);

/* The provision an alert of this rule cites under this jurisdiction (jurisdiction.c). */
const char *nd__surv_cite(nd_jurisdiction_t j, nd_surv_rule_t rule);

nd_err_t nd__surv_rule_wash(nd__surv_ctx_t *c);
nd_err_t nd__surv_rule_layering(nd__surv_ctx_t *c);
nd_err_t nd__surv_rule_high_frequency(nd__surv_ctx_t *c);
nd_err_t nd__surv_rule_large_volume(nd__surv_ctx_t *c);
nd_err_t nd__surv_rule_pdt(nd__surv_ctx_t *c);

#endif
