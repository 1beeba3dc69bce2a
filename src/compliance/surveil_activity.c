/* surveil_activity.c: the high-frequency and large-volume rules.
 *
 * High frequency works per (account, symbol): order messages (new and cancel; fills are the
 * venue's messages, not the participant's) in a sliding window, and the order-to-trade ratio
 * per UTC day. Large volume looks at single new orders, each owner's filled notional per UTC
 * day across symbols, and each owner's filled quantity per symbol and day against the
 * symbol's average daily volume (given, or derived from the events' own fills). Only events
 * of accounts under the current profile count. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <stdio.h>
#include <string.h>

static bool is_message(const nd_surv_event_t *e)
{
    return e->kind == ND_SURV_NEW || e->kind == ND_SURV_CANCEL;
}

typedef struct hf_episode {
    size_t alert;
    int64_t last_breach_ts;
    uint32_t peak;
} hf_episode_t;

static void hf_close(nd__surv_ctx_t *c, hf_episode_t *h)
{
    if (h->alert == SIZE_MAX)
        return;
    nd_surv_alert_t *a = &c->out->items[h->alert];
    const nd_surv_profile_t *p = c->profile;
    snprintf(a->reason, sizeof a->reason,
             "up to %u order messages (new + cancel) in %lld ms from one account in one symbol, "
             "above the limit of %u per window [%s]",
             h->peak, (long long)(p->hf_window_ns / 1000000), p->hf_msgs_max,
             nd__surv_cite(p->jurisdiction, ND_SURV_HIGH_FREQUENCY));
    a->measured = h->peak;
    a->threshold = p->hf_msgs_max;
    nd__surv_alert_commit(c);
    h->alert = SIZE_MAX;
}

/* Sliding-window message rate of one account-symbol group; q is scratch of capacity len. */
static nd_err_t hf_rate_group(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len, uint32_t *q)
{
    const nd_surv_profile_t *p = c->profile;
    size_t head = 0, tail = 0;
    hf_episode_t h = {.alert = SIZE_MAX};
    for (uint32_t k = 0; k < len; k++) {
        const nd_surv_event_t *e = &c->ev[idx[k]];
        if (!is_message(e))
            continue;
        q[tail++] = idx[k];
        while (c->ev[q[head]].ts_ns <= e->ts_ns - p->hf_window_ns)
            head++;
        uint32_t in_window = (uint32_t)(tail - head);
        if (in_window <= p->hf_msgs_max)
            continue;
        if (h.alert != SIZE_MAX && e->ts_ns - h.last_breach_ts > p->hf_window_ns)
            hf_close(c, &h);
        if (h.alert == SIZE_MAX) {
            nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_HIGH_FREQUENCY, e->owner,
                                                    e->symbol);
            if (!a)
                return ND_ENOMEM;
            h.alert = c->out->count - 1;
            h.peak = 0;
            for (size_t m = head; m + 1 < tail; m++)
                nd__surv_alert_add_event(a, c, q[m]);
        }
        nd__surv_alert_add_event(&c->out->items[h.alert], c, idx[k]);
        h.peak = in_window > h.peak ? in_window : h.peak;
        h.last_breach_ts = e->ts_ns;
    }
    hf_close(c, &h);
    return ND_OK;
}

/* Judges one account-symbol-day: [first, end) are group positions of that day. */
static nd_err_t otr_day(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t first, uint32_t end,
                        uint32_t msgs, uint32_t fills)
{
    const nd_surv_profile_t *p = c->profile;
    uint64_t allowed = (uint64_t)p->otr_max * (fills ? fills : 1);
    if (p->otr_max == 0 || msgs < p->otr_msgs_min || msgs <= allowed)
        return ND_OK;
    const nd_surv_event_t *e = &c->ev[idx[first]];
    nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_HIGH_FREQUENCY, e->owner, e->symbol);
    if (!a)
        return ND_ENOMEM;
    for (uint32_t k = first; k < end; k++)
        nd__surv_alert_add_event(a, c, idx[k]);
    snprintf(a->reason, sizeof a->reason,
             "order-to-trade ratio %u messages to %u fill(s) in one UTC day, above %u:1 "
             "(judged from %u messages) [%s]",
             msgs, fills, p->otr_max, p->otr_msgs_min,
             nd__surv_cite(p->jurisdiction, ND_SURV_HIGH_FREQUENCY));
    a->measured = (int64_t)msgs * 100 / (fills ? fills : 1);
    a->threshold = (int64_t)p->otr_max * 100;
    nd__surv_alert_commit(c);
    return ND_OK;
}

/* Calls day_cb on each run of one UTC day of idx[0..len) (a group's events in time order):
 * the one day-splitting walk of the per-day rules. An empty group has no day. */
typedef nd_err_t (*day_cb_t)(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t first,
                             uint32_t end, const void *arg);

static nd_err_t each_day(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len, day_cb_t day_cb,
                         const void *arg)
{
    nd_err_t rc = ND_OK;
    uint32_t first = 0;
    for (uint32_t k = 1; rc == ND_OK && k <= len; k++) {
        if (k < len &&
            nd__surv_day(c->ev[idx[k]].ts_ns) == nd__surv_day(c->ev[idx[first]].ts_ns))
            continue;
        rc = day_cb(c, idx, first, k, arg);
        first = k;
    }
    return rc;
}

static nd_err_t otr_run(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t first, uint32_t end,
                        const void *arg)
{
    (void)arg;
    uint32_t msgs = 0, fills = 0;
    for (uint32_t k = first; k < end; k++) {
        msgs += is_message(&c->ev[idx[k]]);
        fills += c->ev[idx[k]].kind == ND_SURV_FILL;
    }
    return otr_day(c, idx, first, end, msgs, fills);
}

static nd_err_t otr_group(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len)
{
    return each_day(c, idx, len, otr_run, NULL);
}

nd_err_t nd__surv_rule_high_frequency(nd__surv_ctx_t *c)
{
    const nd_surv_profile_t *p = c->profile;
    ND_ASSERT(p != NULL);
    ND_ASSERT(c->account_sym.start != NULL || c->n == 0);
    if (c->n == 0)
        return ND_OK;
    uint32_t *q = nd_alloc(c->n * sizeof *q);
    if (!q)
        return ND_ENOMEM;
    nd_err_t rc = ND_OK;
    const nd__surv_groups_t *g = &c->account_sym;
    for (uint32_t grp = 0; rc == ND_OK && grp < g->count; grp++) {
        const uint32_t *idx = g->idx + g->start[grp];
        uint32_t len = g->start[grp + 1] - g->start[grp];
        if (!nd__surv_account_applies(c, c->ev[idx[0]].account))
            continue;
        if (p->hf_window_ns > 0 && p->hf_msgs_max > 0)
            rc = hf_rate_group(c, idx, len, q);
        if (rc == ND_OK)
            rc = otr_group(c, idx, len);
    }
    nd_free(q);
    return rc;
}

/* ---- Large volume ------------------------------------------------------------------------ */

static nd_err_t large_orders(nd__surv_ctx_t *c)
{
    const nd_surv_profile_t *p = c->profile;
    char v[32], t[32];
    for (size_t k = 0; p->order_notional_max > 0 && k < c->n; k++) {
        uint32_t i = c->by_time[k];
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_NEW || e->px == 0 || !nd__surv_account_applies(c, e->account))
            continue;
        int64_t notional;
        if (nd__surv_notional(e->px, e->qty, &notional) != ND_OK)
            return nd__surv_overflow(c, i, "the order's notional");
        if (notional <= p->order_notional_max)
            continue;
        nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_LARGE_VOLUME, e->owner, e->symbol);
        if (!a)
            return ND_ENOMEM;
        nd__surv_alert_add_event(a, c, i);
        snprintf(a->reason, sizeof a->reason,
                 "single order notional %s %s above the threshold of %s %s [%s]",
                 nd__surv_amount(notional, v, sizeof v), p->currency,
                 nd__surv_amount(p->order_notional_max, t, sizeof t), p->currency,
                 "order size threshold is our choice");
        a->measured = notional;
        a->threshold = p->order_notional_max;
        nd__surv_alert_commit(c);
    }
    return ND_OK;
}

typedef struct owner_day {
    int64_t day;
    int64_t notional;
    size_t alert; /* SIZE_MAX when this owner-day has not crossed yet */
    int64_t first_ts;
} owner_day_t;

static nd_err_t daily_cross(nd__surv_ctx_t *c, owner_day_t *od, uint32_t i)
{
    const nd_surv_profile_t *p = c->profile;
    const nd_surv_event_t *e = &c->ev[i];
    nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_LARGE_VOLUME, e->owner, ND_SURV_ID_NONE);
    if (!a)
        return ND_ENOMEM;
    nd__surv_alert_add_event(a, c, i);
    a->from_ns = od->first_ts;
    char v[32], t[32];
    snprintf(a->reason, sizeof a->reason,
             "owner's filled notional in one UTC day reached %s %s, above the daily threshold "
             "of %s %s (all symbols and accounts) [%s]",
             nd__surv_amount(od->notional, v, sizeof v), p->currency,
             nd__surv_amount(p->daily_notional_max, t, sizeof t), p->currency,
             nd__surv_cite(p->jurisdiction, ND_SURV_LARGE_VOLUME));
    a->measured = od->notional;
    a->threshold = p->daily_notional_max;
    od->alert = c->out->count - 1;
    return ND_OK;
}

static nd_err_t large_daily(nd__surv_ctx_t *c)
{
    const nd_surv_profile_t *p = c->profile;
    if (p->daily_notional_max <= 0)
        return ND_OK;
    owner_day_t *st = nd_alloc((size_t)c->id_count * sizeof *st);
    if (!st)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < c->id_count; i++)
        st[i] = (owner_day_t){.day = INT64_MIN, .alert = SIZE_MAX};
    nd_err_t rc = ND_OK;
    for (size_t k = 0; rc == ND_OK && k < c->n; k++) {
        uint32_t i = c->by_time[k];
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_FILL || !nd__surv_account_applies(c, e->account))
            continue;
        owner_day_t *od = &st[e->owner];
        int64_t day = nd__surv_day(e->ts_ns);
        if (day != od->day)
            *od = (owner_day_t){.day = day, .alert = SIZE_MAX, .first_ts = e->ts_ns};
        int64_t n;
        if (nd__surv_notional(e->px, e->qty, &n) != ND_OK) {
            rc = nd__surv_overflow(c, i, "the fill's notional");
            break;
        }
        rc = nd__surv_add(c, &od->notional, n, i, "the owner's filled notional in the UTC day");
        if (rc != ND_OK)
            break;
        if (od->alert != SIZE_MAX) {
            nd__surv_alert_add_event(&c->out->items[od->alert], c, i);
            c->out->items[od->alert].measured = od->notional;
        } else if (od->notional > p->daily_notional_max) {
            rc = daily_cross(c, od, i);
        }
    }
    nd_free(st);
    return rc;
}

/* ADV of symbol for day: the given value, else (when asked) the mean daily filled quantity of
 * the events over the lookback days before `day` that had fills; 0 when unknown. */
static int64_t adv_for(const nd__surv_ctx_t *c, const nd__surv_map_t *daily, uint32_t symbol,
                       int64_t day)
{
    const nd_surv_options_t *o = c->opt;
    for (size_t i = 0; o && i < o->adv_count; i++)
        if (o->adv[i].symbol == symbol)
            return o->adv[i].qty;
    if (!o || !o->adv_from_events)
        return 0;
    __int128 sum = 0;
    uint32_t days = 0;
    for (int64_t d = day - (int64_t)c->profile->adv_lookback_days; d < day; d++) {
        int64_t q = nd__surv_map_get(daily, ((uint64_t)symbol << 32) ^ (uint64_t)d, -1);
        if (q >= 0) {
            sum += q;
            days++;
        }
    }
    if (days == 0 || days < c->profile->adv_days_min)
        return 0;
    return (int64_t)(sum / days);
}

static nd_err_t adv_day(nd__surv_ctx_t *c, const nd__surv_map_t *daily, const uint32_t *idx,
                        uint32_t first, uint32_t end, int64_t qty)
{
    const nd_surv_profile_t *p = c->profile;
    const nd_surv_event_t *e = &c->ev[idx[first]];
    int64_t adv = adv_for(c, daily, e->symbol, nd__surv_day(e->ts_ns));
    if (adv <= 0 || qty == 0 || (__int128)qty * 10000 <= (__int128)p->adv_share_bps * adv)
        return ND_OK;
    /* The share in bps is the alert's measured figure: past int64 (a tiny ADV) it is an
     * overflow, not a value cut by the cast. */
    __int128 share_bps = (__int128)qty * 10000 / adv;
    if (share_bps > INT64_MAX)
        return nd__surv_overflow(c, idx[first], "the owner's share of the average daily volume");
    nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_LARGE_VOLUME, e->owner, e->symbol);
    if (!a)
        return ND_ENOMEM;
    for (uint32_t k = first; k < end; k++) {
        const nd_surv_event_t *x = &c->ev[idx[k]];
        if (x->kind == ND_SURV_FILL && nd__surv_account_applies(c, x->account))
            nd__surv_alert_add_event(a, c, idx[k]);
    }
    char q[32], v[32];
    snprintf(a->reason, sizeof a->reason,
             "owner's filled quantity %s in one UTC day is %lld.%02lld%% of the average daily "
             "volume %s, above %u.%02u%% [%s]",
             nd__surv_amount(qty, q, sizeof q), (long long)(share_bps / 100),
             (long long)(share_bps % 100), nd__surv_amount(adv, v, sizeof v),
             p->adv_share_bps / 100, p->adv_share_bps % 100,
             nd__surv_cite(p->jurisdiction, ND_SURV_LARGE_VOLUME));
    a->measured = (int64_t)share_bps;
    a->threshold = p->adv_share_bps;
    nd__surv_alert_commit(c);
    return ND_OK;
}

/* Per owner-symbol group and UTC day: the owner's filled quantity against the ADV. */
static nd_err_t adv_run(nd__surv_ctx_t *c, const uint32_t *idx, uint32_t first, uint32_t end,
                        const void *daily)
{
    int64_t qty = 0;
    nd_err_t rc = ND_OK;
    for (uint32_t k = first; rc == ND_OK && k < end; k++) {
        const nd_surv_event_t *e = &c->ev[idx[k]];
        if (e->kind == ND_SURV_FILL && nd__surv_account_applies(c, e->account))
            rc = nd__surv_add(c, &qty, e->qty, idx[k], "the owner's filled quantity in the day");
    }
    return rc == ND_OK ? adv_day(c, daily, idx, first, end, qty) : rc;
}

static nd_err_t adv_group(nd__surv_ctx_t *c, const nd__surv_map_t *daily, const uint32_t *idx,
                          uint32_t len)
{
    return each_day(c, idx, len, adv_run, daily);
}

static nd_err_t large_adv(nd__surv_ctx_t *c)
{
    const nd_surv_options_t *o = c->opt;
    if (c->profile->adv_share_bps == 0 || !o || (o->adv_count == 0 && !o->adv_from_events))
        return ND_OK;
    nd__surv_map_t daily;
    nd__surv_map_init(&daily);
    nd_err_t rc = ND_OK;
    for (size_t i = 0; o->adv_from_events && i < c->n; i++) {
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_FILL)
            continue;
        int64_t *slot = nd__surv_map_slot(&daily, ((uint64_t)e->symbol << 32) ^
                                                      (uint64_t)nd__surv_day(e->ts_ns));
        if (!slot) {
            rc = ND_ENOMEM;
            break;
        }
        rc = nd__surv_add(c, slot, e->qty, (uint32_t)i, "the symbol's filled quantity in the day");
        if (rc != ND_OK)
            break;
    }
    const nd__surv_groups_t *g = &c->owner_sym;
    for (uint32_t grp = 0; rc == ND_OK && grp < g->count; grp++)
        rc = adv_group(c, &daily, g->idx + g->start[grp], g->start[grp + 1] - g->start[grp]);
    nd__surv_map_deinit(&daily);
    return rc;
}

nd_err_t nd__surv_rule_large_volume(nd__surv_ctx_t *c)
{
    ND_ASSERT(c->profile != NULL);
    ND_ASSERT(c->by_time != NULL);
    nd_err_t rc = large_orders(c);
    if (rc == ND_OK)
        rc = large_daily(c);
    if (rc == ND_OK)
        rc = large_adv(c);
    return rc;
}
