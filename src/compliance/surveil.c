/* surveil.c: the post-trade surveillance scan: orders events by time, groups them, runs each
 * profile's rules and sorts the alerts deterministically; plus the shared helpers of the rules.
 *
 * Invariants: the input array is never modified (the scan orders a permutation of indexes, so
 * an alert's trade evidence indexes the caller's array); every rule sees events of one group in
 * (ts, input position) order; an alert is kept only when one of its accounts is under the
 * profile that raised it. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Map ------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t hash_key(const void *key, size_t key_size)
{
    uint64_t k;
    ND_ASSERT(key_size == sizeof k);
    memcpy(&k, key, sizeof k);
    return mix64(k);
}

void nd__surv_map_init(nd__surv_map_t *m)
{
    nd_hmap_init(&m->map, sizeof(uint64_t), sizeof(int64_t), hash_key);
}

void nd__surv_map_deinit(nd__surv_map_t *m)
{
    nd_hmap_deinit(&m->map);
}

int64_t *nd__surv_map_slot(nd__surv_map_t *m, uint64_t key)
{
    if (nd_hmap_reserve(&m->map, 1) != ND_OK)
        return NULL;
    size_t s = nd_hmap_slot(&m->map, &key);
    return nd_hmap_used(&m->map, s) ? nd_hmap_value(&m->map, s)
                                    : nd_hmap_claim(&m->map, s, &key);
}

int64_t nd__surv_map_get(const nd__surv_map_t *m, uint64_t key, int64_t dflt)
{
    const int64_t *v = nd_hmap_get(&m->map, &key);
    return v ? *v : dflt;
}

/* ---- Small helpers ------------------------------------------------------------------------ */

const char *nd_surv_rule_name(nd_surv_rule_t rule)
{
    switch (rule) {
    case ND_SURV_WASH_TRADING: return "wash_trading";
    case ND_SURV_LAYERING: return "layering";
    case ND_SURV_PATTERN_DAY_TRADING: return "pattern_day_trading";
    case ND_SURV_HIGH_FREQUENCY: return "high_frequency";
    case ND_SURV_LARGE_VOLUME: return "large_volume";
    case ND_SURV_RULE_COUNT: break;
    }
    return "unknown";
}

nd_err_t nd__surv_notional(int64_t px, int64_t qty, int64_t *out)
{
    /* |px * qty| < 2^126 fits __int128; the quotient must fit int64 or it is an input error,
     * never a clamped value (a clamped notional would still cross every threshold, but its
     * figure in the alert would be false). */
    __int128 v = (__int128)px * qty / nd_pow10(ND_SURV_DECIMALS);
    ND_STATIC_ASSERT(ND_SURV_DECIMALS == ND_CASH_DECIMALS, "px * qty / 1e8 is cash units");
    if (v > INT64_MAX || v < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)v;
    return ND_OK;
}

nd_err_t nd_surv_event_notional(const nd_surv_event_t *event, int64_t *out)
{
    ND_ASSERT(event != NULL);
    ND_ASSERT(out != NULL);
    return nd__surv_notional(event->px, event->qty, out);
}

void nd__surv_event_where(const nd_surv_options_t *opt, size_t index, char *buf, size_t cap)
{
    if (opt && opt->first_line > 0)
        snprintf(buf, cap, "line %llu (event %zu)",
                 (unsigned long long)opt->first_line + index, index);
    else
        snprintf(buf, cap, "event %zu (data row %zu)", index, index + 1);
}

nd_err_t nd__surv_overflow(const nd__surv_ctx_t *c, uint32_t index, const char *what)
{
    ND_ASSERT(index < c->n);
    char where[64];
    nd__surv_event_where(c->opt, index, where, sizeof where);
    if (c->err_len)
        snprintf(c->err, c->err_len, "%s: %s does not fit 64 bits", where, what);
    return ND_EOVERFLOW;
}

nd_err_t nd__surv_add(const nd__surv_ctx_t *c, int64_t *sum, int64_t add, uint32_t index,
                      const char *what)
{
    int64_t r;
    if (__builtin_add_overflow(*sum, add, &r))
        return nd__surv_overflow(c, index, what);
    *sum = r;
    return ND_OK;
}

int64_t nd__surv_day(int64_t ts_ns)
{
    int64_t d = ts_ns / ND_NS_PER_DAY;
    return (ts_ns % ND_NS_PER_DAY < 0) ? d - 1 : d;
}

const char *nd__surv_amount(int64_t value, char *buf, size_t cap)
{
    ND_ASSERT(cap >= 24);
    nd_fixed_format(value, ND_SURV_DECIMALS, buf, cap);
    return buf;
}

nd_err_t nd_surv_event_from_order(const nd_order_t *o, const nd_instrument_t *inst,
                                  nd_surv_kind_t kind, uint32_t account, uint32_t owner,
                                  uint32_t symbol, uint32_t order_id, int64_t ts_ns,
                                  nd_surv_event_t *out)
{
    ND_ASSERT(o != NULL);
    ND_ASSERT(inst != NULL);
    int64_t px = 0, qty = 0;
    nd_err_t rc = nd_fixed_rescale(o->px, inst->px_decimals, ND_SURV_DECIMALS, ND_ROUND_TRUNC, &px);
    if (rc == ND_OK)
        rc = nd_fixed_rescale(o->qty, inst->qty_decimals, ND_SURV_DECIMALS, ND_ROUND_TRUNC, &qty);
    if (rc != ND_OK)
        return rc;
    nd_surv_event_t e = {0};
    e.ts_ns = ts_ns;
    e.px = o->type == ND_ORDER_MARKET ? 0 : px;
    e.qty = qty;
    e.account = account;
    e.owner = owner;
    e.strategy = o->strategy_index;
    e.venue = ND_SURV_ID_NONE;
    e.symbol = symbol;
    e.order = order_id;
    e.side = (int8_t)o->side;
    e.kind = (uint8_t)kind;
    *out = e;
    return ND_OK;
}

/* ---- Alerts ------------------------------------------------------------------------------- */

void nd_surv_alerts_init(nd_surv_alerts_t *alerts)
{
    ND_ASSERT(alerts != NULL);
    memset(alerts, 0, sizeof *alerts);
}

void nd_surv_alerts_deinit(nd_surv_alerts_t *alerts)
{
    ND_ASSERT(alerts != NULL);
    nd_free(alerts->items);
    memset(alerts, 0, sizeof *alerts);
}

nd_surv_alert_t *nd__surv_alert_new(nd__surv_ctx_t *c, nd_surv_rule_t rule, uint32_t owner,
                                    uint32_t symbol)
{
    nd_surv_alerts_t *out = c->out;
    nd_surv_alert_t *a = nd_array_push(&out->items, &out->_cap, &out->count, sizeof *a, 16);
    if (!a)
        return NULL;
    a->rule = rule;
    a->jurisdiction = c->profile->jurisdiction;
    a->owner = owner;
    a->symbol = symbol;
    a->from_ns = INT64_MAX;
    a->to_ns = INT64_MIN;
    return a;
}

/* Appends id to a bounded evidence list unless it is already there; a full list marks the
 * alert truncated rather than dropping the fact silently. */
static void add_distinct(uint32_t *items, uint32_t *count, uint32_t max, uint32_t id,
                         bool *truncated)
{
    for (uint32_t i = 0; i < *count; i++)
        if (items[i] == id)
            return;
    if (*count == max) {
        *truncated = true;
        return;
    }
    items[(*count)++] = id;
}

void nd__surv_alert_add_order(nd_surv_alert_t *a, uint32_t order)
{
    add_distinct(a->orders, &a->order_count, ND_SURV_ALERT_ORDERS_MAX, order, &a->truncated);
}

void nd__surv_alert_add_account(nd_surv_alert_t *a, uint32_t account)
{
    add_distinct(a->accounts, &a->account_count, ND_SURV_ALERT_ACCOUNTS_MAX, account,
                 &a->truncated);
}

void nd__surv_alert_add_event(nd_surv_alert_t *a, const nd__surv_ctx_t *c, uint32_t index)
{
    ND_ASSERT(index < c->n);
    const nd_surv_event_t *e = &c->ev[index];
    nd__surv_alert_add_account(a, e->account);
    nd__surv_alert_add_order(a, e->order);
    if (e->kind == ND_SURV_FILL) {
        bool seen = false;
        for (uint32_t i = 0; i < a->fill_count; i++)
            seen = seen || a->fills[i] == index;
        if (!seen && a->fill_count < ND_SURV_ALERT_FILLS_MAX)
            a->fills[a->fill_count++] = index;
        else if (!seen)
            a->truncated = true;
    }
    if (e->ts_ns < a->from_ns)
        a->from_ns = e->ts_ns;
    if (e->ts_ns > a->to_ns)
        a->to_ns = e->ts_ns;
}

bool nd__surv_account_applies(const nd__surv_ctx_t *c, uint32_t account)
{
    const nd_surv_account_t *info = account < c->id_count ? c->accounts[account] : NULL;
    if (!info || info->jurisdictions == 0)
        return true;
    return (info->jurisdictions & ND_JUR_BIT(c->profile->jurisdiction)) != 0;
}

void nd__surv_alert_commit(nd__surv_ctx_t *c)
{
    ND_ASSERT(c->out->count > 0);
    const nd_surv_alert_t *a = &c->out->items[c->out->count - 1];
    ND_ASSERT(a->from_ns <= a->to_ns);
    for (uint32_t i = 0; i < a->account_count; i++)
        if (nd__surv_account_applies(c, a->accounts[i]))
            return;
    c->out->count--;
}
