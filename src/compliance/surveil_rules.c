/* surveil_rules.c: the wash-trading and layering/spoofing rules.
 *
 * Both work per (beneficial owner, symbol) group, in time order, so that a wash trade spread
 * over several accounts and strategies of one owner is seen as one. Consecutive matches closer
 * than the window merge into one alert (an episode), so a long wash-trading session is one
 * case with its evidence rather than hundreds of alerts. Work per event is bounded (probe and
 * look-ahead limits below), so a scan stays linear in the number of events. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

/* Opposite fills a new fill is compared with, newest first: wash trades pair with a recent
 * fill, and a bound keeps a dense market maker's stream linear. */
#define WASH_PROBE_MAX 8
/* Events looked at after a fill for cancels of layered orders. */
#define LAYERING_LOOKAHEAD_MAX 256
/* Distinct price levels counted for one layering case. */
#define LAYERING_LEVELS_MAX 32

typedef struct wash_episode {
    size_t alert;   /* index in c->out, or SIZE_MAX when none is open */
    int64_t last_ts;
    uint32_t pairs;
    uint32_t self_matches;
    int64_t px_min;
    int64_t px_max;
} wash_episode_t;

static bool px_within(int64_t a, int64_t b, uint32_t tol_bps)
{
    __int128 diff = a > b ? (__int128)a - b : (__int128)b - a;
    return diff * 10000 <= (__int128)tol_bps * b;
}

static void wash_close(nd__surv_ctx_t *c, wash_episode_t *w)
{
    if (w->alert == SIZE_MAX)
        return;
    ND_ASSERT(w->alert == c->out->count - 1);
    nd_surv_alert_t *a = &c->out->items[w->alert];
    const nd_surv_profile_t *p = c->profile;
    char lo[32], hi[32];
    snprintf(a->reason, sizeof a->reason,
             "same beneficial owner bought and sold within %llds at prices within %u bps: "
             "%u buy/sell pair(s) over %u account(s), %u direct self-match(es) at the same "
             "time and price, prices %s..%s; no change in beneficial ownership [%s]",
             (long long)(p->wash_window_ns / 1000000000LL), p->wash_px_tolerance_bps, w->pairs,
             a->account_count, w->self_matches, nd__surv_amount(w->px_min, lo, sizeof lo),
             nd__surv_amount(w->px_max, hi, sizeof hi),
             nd__surv_cite(p->jurisdiction, ND_SURV_WASH_TRADING));
    a->measured = w->pairs;
    a->threshold = 1;
    nd__surv_alert_commit(c);
    w->alert = SIZE_MAX;
}

/* Records the pair (fill i, earlier opposite fill j) in the open episode or a new one. */
static nd_err_t wash_match(nd__surv_ctx_t *c, wash_episode_t *w, uint32_t i, uint32_t j)
{
    const nd_surv_event_t *e = &c->ev[i], *o = &c->ev[j];
    if (w->alert != SIZE_MAX && e->ts_ns - w->last_ts > c->profile->wash_window_ns)
        wash_close(c, w);
    if (w->alert == SIZE_MAX) {
        if (!nd__surv_alert_new(c, ND_SURV_WASH_TRADING, e->owner, e->symbol))
            return ND_ENOMEM;
        w->alert = c->out->count - 1;
        w->pairs = w->self_matches = 0;
        w->px_min = INT64_MAX;
        w->px_max = INT64_MIN;
    }
    nd_surv_alert_t *a = &c->out->items[w->alert];
    nd__surv_alert_add_event(a, c, j);
    nd__surv_alert_add_event(a, c, i);
    w->pairs++;
    w->self_matches += (e->ts_ns == o->ts_ns && e->px == o->px);
    w->last_ts = e->ts_ns;
    int64_t lo = e->px < o->px ? e->px : o->px, hi = e->px < o->px ? o->px : e->px;
    w->px_min = lo < w->px_min ? lo : w->px_min;
    w->px_max = hi > w->px_max ? hi : w->px_max;
    return ND_OK;
}

/* One owner-symbol group. buys/sells are scratch lists of fill indexes (capacity len). */
static nd_err_t wash_group(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len, uint32_t *buys,
                           uint32_t *sells)
{
    const nd_surv_profile_t *p = c->profile;
    size_t head[2] = {0, 0}, count[2] = {0, 0};
    uint32_t *list[2] = {buys, sells};
    wash_episode_t w = {.alert = SIZE_MAX};
    nd_err_t rc = ND_OK;
    for (uint32_t k = 0; rc == ND_OK && k < len; k++) {
        uint32_t i = idx[k];
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_FILL)
            continue;
        int own = e->side == ND_SIDE_BUY ? 0 : 1, opp = 1 - own;
        while (head[opp] < count[opp] &&
               c->ev[list[opp][head[opp]]].ts_ns < e->ts_ns - p->wash_window_ns)
            head[opp]++;
        size_t probes = 0;
        for (size_t m = count[opp]; m > head[opp] && probes < WASH_PROBE_MAX; m--, probes++) {
            uint32_t j = list[opp][m - 1];
            if (px_within(e->px, c->ev[j].px, p->wash_px_tolerance_bps)) {
                rc = wash_match(c, &w, i, j);
                break;
            }
        }
        list[own][count[own]++] = i;
    }
    if (rc == ND_OK && len > 0)
        wash_close(c, &w);
    return rc;
}

nd_err_t nd__surv_rule_wash(nd__surv_ctx_t *c)
{
    ND_ASSERT(c->profile != NULL);
    ND_ASSERT(c->owner_sym.start != NULL || c->n == 0);
    if (c->profile->wash_window_ns <= 0 || c->n == 0)
        return ND_OK;
    uint32_t *scratch = nd_alloc(2 * c->n * sizeof *scratch);
    if (!scratch)
        return ND_ENOMEM;
    nd_err_t rc = ND_OK;
    const nd__surv_groups_t *g = &c->owner_sym;
    for (uint32_t grp = 0; rc == ND_OK && grp < g->count; grp++) {
        uint32_t lo = g->start[grp], len = g->start[grp + 1] - lo;
        rc = wash_group(c, g->idx + lo, len, scratch, scratch + c->n);
    }
    nd_free(scratch);
    return rc;
}

/* ---- Layering / spoofing ---------------------------------------------------------------- */

typedef struct layer_case {
    uint32_t cancels[LAYERING_LOOKAHEAD_MAX]; /* event indexes of the qualifying cancels */
    uint32_t count;
    int64_t levels[LAYERING_LEVELS_MAX];
    uint32_t level_count;
    int64_t first_new_ts;
    uint32_t last_pos; /* group position of the last qualifying cancel */
} layer_case_t;

/* Collects the cancels, within the window after the fill at group position k, of orders of
 * the other side that were resting at the fill and never filled. */
static void layer_collect(const nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len, uint32_t k,
                          layer_case_t *lc)
{
    const nd_surv_event_t *f = &c->ev[idx[k]];
    int64_t until = f->ts_ns + c->profile->layering_cancel_window_ns;
    lc->count = lc->level_count = 0;
    lc->first_new_ts = f->ts_ns;
    for (uint32_t m = k + 1; m < len && m - k <= LAYERING_LOOKAHEAD_MAX; m++) {
        const nd_surv_event_t *x = &c->ev[idx[m]];
        if (x->ts_ns > until)
            break;
        if (x->kind != ND_SURV_CANCEL || x->side != -f->side)
            continue;
        const nd__surv_order_t *o = &c->orders[x->order];
        if (o->new_ts > f->ts_ns || o->first_fill_ts != ND__SURV_NEVER || o->px == 0)
            continue;
        lc->cancels[lc->count++] = idx[m];
        lc->last_pos = m;
        lc->first_new_ts = o->new_ts < lc->first_new_ts ? o->new_ts : lc->first_new_ts;
        bool seen = false;
        for (uint32_t l = 0; l < lc->level_count; l++)
            seen = seen || lc->levels[l] == o->px;
        if (!seen && lc->level_count < LAYERING_LEVELS_MAX)
            lc->levels[lc->level_count++] = o->px;
    }
}

static nd_err_t layer_alert(nd__surv_ctx_t *c, uint32_t fill, const layer_case_t *lc)
{
    const nd_surv_event_t *f = &c->ev[fill];
    const nd_surv_profile_t *p = c->profile;
    nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_LAYERING, f->owner, f->symbol);
    if (!a)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < lc->count; i++)
        nd__surv_alert_add_event(a, c, lc->cancels[i]);
    nd__surv_alert_add_event(a, c, fill);
    a->from_ns = lc->first_new_ts;
    int64_t last_cancel = c->ev[lc->cancels[lc->count - 1]].ts_ns;
    char px[32];
    snprintf(a->reason, sizeof a->reason,
             "%u %s orders at %u price levels, resting when the owner's %s executed at %s, "
             "were all cancelled within %lld ms of that execution (window %lld ms) without "
             "filling [%s]",
             lc->count, f->side == ND_SIDE_BUY ? "sell" : "buy", lc->level_count,
             f->side == ND_SIDE_BUY ? "buy" : "sell", nd__surv_amount(f->px, px, sizeof px),
             (long long)((last_cancel - f->ts_ns) / 1000000),
             (long long)(p->layering_cancel_window_ns / 1000000),
             nd__surv_cite(p->jurisdiction, ND_SURV_LAYERING));
    a->measured = lc->count;
    a->threshold = p->layering_orders_min;
    nd__surv_alert_commit(c);
    return ND_OK;
}

nd_err_t nd__surv_rule_layering(nd__surv_ctx_t *c)
{
    const nd_surv_profile_t *p = c->profile;
    ND_ASSERT(p != NULL);
    if (p->layering_cancel_window_ns <= 0 || p->layering_orders_min == 0)
        return ND_OK;
    layer_case_t *lc = nd_alloc(sizeof *lc);
    if (!lc)
        return ND_ENOMEM;
    nd_err_t rc = ND_OK;
    const nd__surv_groups_t *g = &c->owner_sym;
    for (uint32_t grp = 0; rc == ND_OK && grp < g->count; grp++) {
        const uint32_t *idx = g->idx + g->start[grp];
        uint32_t len = g->start[grp + 1] - g->start[grp];
        uint32_t reported_until = 0; /* group position of the last cancel already reported */
        for (uint32_t k = 0; rc == ND_OK && k < len; k++) {
            if (c->ev[idx[k]].kind != ND_SURV_FILL)
                continue;
            layer_collect(c, idx, len, k, lc);
            if (lc->count < p->layering_orders_min || lc->level_count < p->layering_levels_min)
                continue;
            if (lc->last_pos <= reported_until && reported_until != 0)
                continue;
            rc = layer_alert(c, idx[k], lc);
            reported_until = lc->last_pos;
        }
    }
    nd_free(lc);
    return rc;
}
