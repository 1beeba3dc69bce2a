/* surveil_scan.c: nd_surv_scan, the post-trade scan driver.
 *
 * It validates the events, orders their indexes by (ts, input position) with a stable merge
 * sort (skipped when the input is already in time order), groups them by (owner, symbol) and
 * (account, symbol) with one counting pass each, summarises every order id, runs each
 * profile's rules and sorts the new alerts. All working memory is freed before returning. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nd_err_t check_events(const nd_surv_event_t *ev, size_t n,
                             const nd_surv_options_t *opt, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        const nd_surv_event_t *e = &ev[i];
        const char *why = NULL;
        if (e->side != ND_SIDE_BUY && e->side != ND_SIDE_SELL)
            why = "side is neither buy nor sell";
        else if (e->kind < ND_SURV_NEW || e->kind > ND_SURV_FILL)
            why = "kind is neither new, cancel nor fill";
        else if (e->px < 0 || e->qty < 0)
            why = "negative price or quantity";
        else if (e->kind != ND_SURV_CANCEL && e->qty == 0)
            why = "zero quantity";
        else if (e->kind == ND_SURV_FILL && e->px == 0)
            why = "fill without a price";
        else if (e->account == ND_SURV_ID_NONE || e->owner == ND_SURV_ID_NONE ||
                 e->symbol == ND_SURV_ID_NONE || e->order == ND_SURV_ID_NONE)
            why = "missing account, owner, symbol or order id";
        if (why) {
            if (err_len)
                snprintf(err, err_len, "event %zu: %s", i, why);
            return ND_EINVAL;
        }
        int64_t notional;
        if (nd_surv_event_notional(e, &notional) != ND_OK)
            why = "price x quantity (the notional) does not fit 64-bit cash units";
        else if (e->ts_ns > ND_SURV_TS_ABS_MAX || e->ts_ns < -ND_SURV_TS_ABS_MAX)
            why = "time outside the years 1823..2116";
        if (why) {
            char where[64];
            nd__surv_event_where(opt, i, where, sizeof where);
            if (err_len)
                snprintf(err, err_len, "%s: %s", where, why);
            return ND_EOVERFLOW;
        }
    }
    return ND_OK;
}

static void merge_sort(const nd_surv_event_t *ev, uint32_t *a, uint32_t *tmp, size_t n)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = ev[a[j]].ts_ns < ev[a[i]].ts_ns ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Fills c->by_time. O(n) when already ordered, O(n log n) otherwise. */
static nd_err_t order_by_time(nd__surv_ctx_t *c)
{
    c->by_time = nd_alloc((c->n ? c->n : 1) * sizeof *c->by_time);
    if (!c->by_time)
        return ND_ENOMEM;
    bool sorted = true;
    for (size_t i = 0; i < c->n; i++) {
        c->by_time[i] = (uint32_t)i;
        sorted = sorted && (i == 0 || c->ev[i - 1].ts_ns <= c->ev[i].ts_ns);
    }
    if (sorted)
        return ND_OK;
    uint32_t *tmp = nd_alloc(c->n * sizeof *tmp);
    if (!tmp)
        return ND_ENOMEM;
    merge_sort(c->ev, c->by_time, tmp, c->n);
    nd_free(tmp);
    ND_DEBUG_ASSERT(c->n < 2 || c->ev[c->by_time[0]].ts_ns <= c->ev[c->by_time[c->n - 1]].ts_ns);
    return ND_OK;
}

/* Groups events by (first id, symbol); first = owner or account. Group numbers follow first
 * appearance in time, and each group keeps time order (a stable counting sort). */
static nd_err_t build_groups(nd__surv_ctx_t *c, bool by_owner, nd__surv_groups_t *g)
{
    nd__surv_map_t map;
    nd__surv_map_init(&map);
    uint32_t *group_of = nd_alloc((c->n ? c->n : 1) * sizeof *group_of);
    nd_err_t rc = group_of ? ND_OK : ND_ENOMEM;
    g->count = 0;
    for (size_t k = 0; rc == ND_OK && k < c->n; k++) {
        const nd_surv_event_t *e = &c->ev[c->by_time[k]];
        uint64_t key = ((uint64_t)(by_owner ? e->owner : e->account) << 32) | e->symbol;
        int64_t *slot = nd__surv_map_slot(&map, key);
        if (!slot) {
            rc = ND_ENOMEM;
            break;
        }
        if (*slot == 0)
            *slot = ++g->count; /* 0 means "new": store group + 1 */
        group_of[k] = (uint32_t)(*slot - 1);
    }
    if (rc == ND_OK) {
        g->start = nd_calloc((size_t)g->count + 1, sizeof *g->start);
        g->idx = nd_alloc((c->n ? c->n : 1) * sizeof *g->idx);
        rc = (g->start && g->idx) ? ND_OK : ND_ENOMEM;
    }
    uint32_t *next = NULL;
    if (rc == ND_OK) {
        next = nd_alloc(((size_t)g->count + 1) * sizeof *next);
        rc = next ? ND_OK : ND_ENOMEM;
    }
    if (rc == ND_OK) {
        for (size_t k = 0; k < c->n; k++)
            g->start[group_of[k] + 1]++;
        for (uint32_t i = 0; i < g->count; i++)
            g->start[i + 1] += g->start[i];
        memcpy(next, g->start, ((size_t)g->count + 1) * sizeof *next);
        for (size_t k = 0; k < c->n; k++)
            g->idx[next[group_of[k]]++] = c->by_time[k];
        ND_ASSERT(g->count == 0 || next[g->count - 1] == g->start[g->count]);
    }
    nd_free(next);
    nd_free(group_of);
    nd__surv_map_deinit(&map);
    return rc;
}

static void groups_free(nd__surv_groups_t *g)
{
    nd_free(g->idx);
    nd_free(g->start);
    memset(g, 0, sizeof *g);
}

static uint32_t max_id(const nd_surv_event_t *ev, size_t n, const nd_surv_options_t *o)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const nd_surv_event_t *e = &ev[i];
        uint32_t ids[] = {e->account, e->owner, e->symbol, e->order};
        for (size_t k = 0; k < 4; k++)
            m = ids[k] > m ? ids[k] : m;
    }
    for (size_t i = 0; o && i < o->account_count; i++)
        m = o->accounts[i].account > m ? o->accounts[i].account : m;
    for (size_t i = 0; o && i < o->adv_count; i++)
        m = o->adv[i].symbol > m ? o->adv[i].symbol : m;
    return m;
}

/* Summarises each order id: when it was sent, first filled and cancelled. */
static nd_err_t build_orders(nd__surv_ctx_t *c)
{
    c->orders = nd_alloc((size_t)c->id_count * sizeof *c->orders);
    c->accounts = nd_calloc(c->id_count, sizeof *c->accounts);
    if (!c->orders || !c->accounts)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < c->id_count; i++) {
        nd__surv_order_t *o = &c->orders[i];
        o->new_ts = o->first_fill_ts = o->cancel_ts = ND__SURV_NEVER;
        o->px = 0;
        o->first_fill_event = UINT32_MAX;
        o->side = 0;
    }
    for (size_t k = 0; k < c->n; k++) {
        uint32_t i = c->by_time[k];
        const nd_surv_event_t *e = &c->ev[i];
        nd__surv_order_t *o = &c->orders[e->order];
        if (o->side == 0)
            o->side = e->side;
        if (e->kind == ND_SURV_NEW && o->new_ts == ND__SURV_NEVER) {
            o->new_ts = e->ts_ns;
            o->px = e->px;
        } else if (e->kind == ND_SURV_FILL && o->first_fill_ts == ND__SURV_NEVER) {
            o->first_fill_ts = e->ts_ns;
            o->first_fill_event = i;
        } else if (e->kind == ND_SURV_CANCEL && o->cancel_ts == ND__SURV_NEVER) {
            o->cancel_ts = e->ts_ns;
        }
    }
    const nd_surv_options_t *opt = c->opt;
    for (size_t i = 0; opt && i < opt->account_count; i++)
        c->accounts[opt->accounts[i].account] = &opt->accounts[i];
    return ND_OK;
}

static int cmp_alert(const void *pa, const void *pb)
{
    const nd_surv_alert_t *a = pa, *b = pb;
    int64_t ka[] = {a->from_ns, a->to_ns, a->rule, a->jurisdiction, a->owner, a->symbol,
                    a->order_count ? (int64_t)a->orders[0] : -1, a->accounts[0], a->measured};
    int64_t kb[] = {b->from_ns, b->to_ns, b->rule, b->jurisdiction, b->owner, b->symbol,
                    b->order_count ? (int64_t)b->orders[0] : -1, b->accounts[0], b->measured};
    for (size_t i = 0; i < sizeof ka / sizeof ka[0]; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return strcmp(a->reason, b->reason);
}

typedef nd_err_t (*rule_fn)(nd__surv_ctx_t *c);

static nd_err_t run_profiles(nd__surv_ctx_t *c, const nd_surv_profile_t *const *profiles,
                             size_t profile_count)
{
    static const rule_fn rules[ND_SURV_RULE_COUNT] = {
        [ND_SURV_WASH_TRADING] = nd__surv_rule_wash,
        [ND_SURV_LAYERING] = nd__surv_rule_layering,
        [ND_SURV_PATTERN_DAY_TRADING] = nd__surv_rule_pdt,
        [ND_SURV_HIGH_FREQUENCY] = nd__surv_rule_high_frequency,
        [ND_SURV_LARGE_VOLUME] = nd__surv_rule_large_volume,
    };
    nd_err_t rc = ND_OK;
    for (size_t p = 0; rc == ND_OK && p < profile_count; p++) {
        ND_ASSERT(profiles[p] != NULL);
        c->profile = profiles[p];
        for (int r = 0; rc == ND_OK && r < ND_SURV_RULE_COUNT; r++)
            if (c->profile->rules & ND_SURV_RULE_BIT(r))
                rc = rules[r](c);
    }
    return rc;
}

nd_err_t nd_surv_scan(const nd_surv_event_t *events, size_t n,
                      const nd_surv_profile_t *const *profiles, size_t profile_count,
                      const nd_surv_options_t *options, nd_surv_alerts_t *alerts, char *err,
                      size_t err_len)
{
    ND_ASSERT(events != NULL || n == 0);
    ND_ASSERT(alerts != NULL);
    ND_ASSERT(profiles != NULL || profile_count == 0);
    if (err_len)
        err[0] = '\0';
    if (n >= UINT32_MAX) {
        snprintf(err, err_len, "%zu events: more than the scan indexes", n);
        return ND_EINVAL;
    }
    nd_err_t rc = check_events(events, n, options, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd__surv_ctx_t c = {0};
    c.ev = events;
    c.n = n;
    c.opt = options;
    c.out = alerts;
    c.err = err;
    c.err_len = err_len;
    c.id_count = max_id(events, n, options) + 1;
    size_t base = alerts->count;
    rc = order_by_time(&c);
    if (rc == ND_OK)
        rc = build_groups(&c, true, &c.owner_sym);
    if (rc == ND_OK)
        rc = build_groups(&c, false, &c.account_sym);
    if (rc == ND_OK)
        rc = build_orders(&c);
    if (rc == ND_OK)
        rc = run_profiles(&c, profiles, profile_count);
    if (rc == ND_OK && alerts->count - base > 1)
        qsort(alerts->items + base, alerts->count - base, sizeof *alerts->items, cmp_alert);
    if (rc != ND_OK)
        alerts->count = base;
    if (rc == ND_ENOMEM && err_len)
        snprintf(err, err_len, "out of memory scanning %zu events", n);
    groups_free(&c.owner_sym);
    groups_free(&c.account_sym);
    nd_free(c.by_time);
    nd_free(c.orders);
    nd_free(c.accounts);
    return rc;
}
