/* surveil_pretrade.c: the strict pre-trade surveillance check.
 *
 * The state holds every resting order (up to ND_ORDERS_OPEN_MAX, the engine's own bound) and,
 * per (account, symbol), a ring with the times of the last pretrade_msgs_max messages. A new
 * order is blocked when it would cross a resting opposite order of the same beneficial owner
 * in the same symbol (a direct self-match: a wash trade the firm itself would create), when
 * its notional is above the hard limit, or when one more message would put more than
 * pretrade_msgs_max messages in one hf_window_ns. The check never changes the state; apply
 * records what was actually sent, cancelled or filled. Allocation happens only at creation
 * and when a new account-symbol pair first sends a message. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/limits.h"

#include <stdio.h>
#include <string.h>

#define PAIRS_MAX 4096
#define RING_MAX 1024

typedef struct resting {
    uint32_t order, owner, account, symbol;
    int64_t px;
    int64_t remaining;
    int64_t ts_ns;
    int8_t side;
} resting_t;

typedef struct rate_ring {
    uint32_t account, symbol;
    uint32_t head;  /* next slot to write */
    uint32_t count; /* filled slots, at most ring_size */
    int64_t *ts;
} rate_ring_t;

struct nd_surv_pretrade {
    const nd_surv_profile_t *profile;
    resting_t *resting;
    size_t resting_count;
    rate_ring_t *rings;
    size_t ring_count;
    uint32_t ring_size;
};

nd_err_t nd_surv_pretrade_create(const nd_surv_profile_t *profile, nd_surv_pretrade_t **out)
{
    ND_ASSERT(profile != NULL);
    ND_ASSERT(out != NULL);
    nd_surv_pretrade_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->profile = profile;
    s->ring_size = profile->pretrade_msgs_max < RING_MAX ? profile->pretrade_msgs_max : RING_MAX;
    s->resting = nd_alloc(ND_ORDERS_OPEN_MAX * sizeof *s->resting);
    s->rings = nd_alloc(PAIRS_MAX * sizeof *s->rings);
    if (!s->resting || !s->rings) {
        nd_surv_pretrade_destroy(s);
        return ND_ENOMEM;
    }
    *out = s;
    return ND_OK;
}

void nd_surv_pretrade_destroy(nd_surv_pretrade_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->rings && i < s->ring_count; i++)
        nd_free(s->rings[i].ts);
    nd_free(s->rings);
    nd_free(s->resting);
    nd_free(s);
}

size_t nd_surv_pretrade_resting(const nd_surv_pretrade_t *s)
{
    ND_ASSERT(s != NULL);
    return s->resting_count;
}

static const rate_ring_t *find_ring(const nd_surv_pretrade_t *s, uint32_t account,
                                    uint32_t symbol)
{
    for (size_t i = 0; i < s->ring_count; i++)
        if (s->rings[i].account == account && s->rings[i].symbol == symbol)
            return &s->rings[i];
    return NULL;
}

/* True when one more message at now_ns would exceed the limit in the window. */
static bool rate_breached(const nd_surv_pretrade_t *s, const nd_surv_event_t *o)
{
    const rate_ring_t *r = find_ring(s, o->account, o->symbol);
    if (s->ring_size == 0 || s->profile->hf_window_ns <= 0 || !r || r->count < s->ring_size)
        return false;
    /* The oldest kept message is ring_size messages back: still inside the window means the
     * window would hold ring_size + 1 messages with this one. */
    int64_t oldest = r->ts[r->head % s->ring_size];
    return oldest > o->ts_ns - s->profile->hf_window_ns;
}

static bool crosses(const resting_t *r, const nd_surv_event_t *o)
{
    if (r->owner != o->owner || r->symbol != o->symbol || r->side != -o->side)
        return false;
    if (o->px == 0)
        return true; /* a market order takes whatever rests */
    return o->side == ND_SIDE_BUY ? o->px >= r->px : o->px <= r->px;
}

static void fill_alert(const nd_surv_pretrade_t *s, const nd_surv_event_t *o,
                       const resting_t *r, nd_surv_rule_t rule, nd_surv_alert_t *a)
{
    memset(a, 0, sizeof *a);
    a->rule = rule;
    a->jurisdiction = s->profile->jurisdiction;
    a->owner = o->owner;
    a->symbol = o->symbol;
    a->from_ns = r ? r->ts_ns : o->ts_ns;
    a->to_ns = o->ts_ns;
    nd__surv_alert_add_account(a, o->account);
    nd__surv_alert_add_order(a, o->order);
    if (r) {
        nd__surv_alert_add_account(a, r->account);
        nd__surv_alert_add_order(a, r->order);
    }
}

nd_reject_t nd_surv_pretrade_check(const nd_surv_pretrade_t *s, const nd_surv_event_t *o,
                                   nd_surv_alert_t *alert)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(o != NULL && o->kind == ND_SURV_NEW);
    const nd_surv_profile_t *p = s->profile;
    for (size_t i = 0; i < s->resting_count; i++) {
        if (!crosses(&s->resting[i], o))
            continue;
        if (alert) {
            fill_alert(s, o, &s->resting[i], ND_SURV_WASH_TRADING, alert);
            snprintf(alert->reason, sizeof alert->reason,
                     "blocked before sending: the order would trade against a resting opposite "
                     "order of the same beneficial owner (self-match) [%s]",
                     nd__surv_cite(p->jurisdiction, ND_SURV_WASH_TRADING));
        }
        return ND_REJECT_SELF_MATCH;
    }
    int64_t notional = 0;
    if (o->px && nd__surv_notional(o->px, o->qty, &notional) != ND_OK) {
        /* A notional past int64 is refused as such, not measured as a clamped figure. */
        if (alert) {
            fill_alert(s, o, NULL, ND_SURV_LARGE_VOLUME, alert);
            snprintf(alert->reason, sizeof alert->reason, "blocked before sending: price x "
                     "quantity does not fit 64-bit cash units");
            alert->measured = 0;
            alert->threshold = p->pretrade_order_notional_max;
        }
        return ND_REJECT_OVERFLOW;
    }
    bool too_big = p->pretrade_order_notional_max > 0 && notional > p->pretrade_order_notional_max;
    bool too_fast = !too_big && rate_breached(s, o);
    if (too_big || too_fast) {
        if (alert) {
            char v[32], t[32];
            fill_alert(s, o, NULL, too_big ? ND_SURV_LARGE_VOLUME : ND_SURV_HIGH_FREQUENCY, alert);
            if (too_big)
                snprintf(alert->reason, sizeof alert->reason,
                         "blocked before sending: order notional %s %s above the hard limit "
                         "%s %s", nd__surv_amount(notional, v, sizeof v), p->currency,
                         nd__surv_amount(p->pretrade_order_notional_max, t, sizeof t),
                         p->currency);
            else
                snprintf(alert->reason, sizeof alert->reason,
                         "blocked before sending: more than %u order messages in %lld ms from "
                         "one account in one symbol", p->pretrade_msgs_max,
                         (long long)(p->hf_window_ns / 1000000));
            alert->measured = too_big ? notional : (int64_t)p->pretrade_msgs_max + 1;
            alert->threshold = too_big ? p->pretrade_order_notional_max : p->pretrade_msgs_max;
        }
        return ND_REJECT_SURVEILLANCE_LIMIT;
    }
    if (o->px != 0 && s->resting_count >= ND_ORDERS_OPEN_MAX)
        return ND_REJECT_POOL_EXHAUSTED;
    return ND_REJECT_NONE;
}

/* The ring of (account, symbol), created when missing (the only allocation after create). */
static nd_err_t ring_of(nd_surv_pretrade_t *s, uint32_t account, uint32_t symbol,
                        rate_ring_t **out)
{
    rate_ring_t *r = (rate_ring_t *)find_ring(s, account, symbol);
    if (!r) {
        if (s->ring_count == PAIRS_MAX)
            return ND_EFULL;
        int64_t *ts = nd_alloc(s->ring_size * sizeof *ts);
        if (!ts)
            return ND_ENOMEM;
        r = &s->rings[s->ring_count++];
        *r = (rate_ring_t){.account = account, .symbol = symbol, .ts = ts};
    }
    *out = r;
    return ND_OK;
}

nd_err_t nd_surv_pretrade_reserve(nd_surv_pretrade_t *s, uint32_t account, uint32_t symbol)
{
    ND_ASSERT(s != NULL);
    rate_ring_t *r = NULL;
    return s->ring_size == 0 ? ND_OK : ring_of(s, account, symbol, &r);
}

static nd_err_t record_message(nd_surv_pretrade_t *s, const nd_surv_event_t *e)
{
    if (s->ring_size == 0)
        return ND_OK;
    rate_ring_t *r = NULL;
    nd_err_t rc = ring_of(s, e->account, e->symbol, &r);
    if (rc != ND_OK)
        return rc;
    r->ts[r->head % s->ring_size] = e->ts_ns;
    r->head = (r->head + 1) % s->ring_size;
    r->count += r->count < s->ring_size;
    ND_ASSERT(r->count <= s->ring_size);
    return ND_OK;
}

static size_t find_resting(const nd_surv_pretrade_t *s, uint32_t order)
{
    for (size_t i = 0; i < s->resting_count; i++)
        if (s->resting[i].order == order)
            return i;
    return SIZE_MAX;
}

static void remove_resting(nd_surv_pretrade_t *s, size_t i)
{
    ND_ASSERT(i < s->resting_count);
    s->resting[i] = s->resting[--s->resting_count];
}

nd_err_t nd_surv_pretrade_apply(nd_surv_pretrade_t *s, const nd_surv_event_t *e)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(e != NULL);
    if ((e->side != ND_SIDE_BUY && e->side != ND_SIDE_SELL) || e->qty < 0 || e->px < 0)
        return ND_EINVAL;
    size_t at = find_resting(s, e->order);
    switch (e->kind) {
    case ND_SURV_NEW: {
        nd_err_t rc = record_message(s, e);
        if (rc != ND_OK || e->px == 0 || at != SIZE_MAX)
            return rc;
        if (s->resting_count == ND_ORDERS_OPEN_MAX)
            return ND_EFULL;
        s->resting[s->resting_count++] = (resting_t){
            .order = e->order, .owner = e->owner, .account = e->account, .symbol = e->symbol,
            .px = e->px, .remaining = e->qty, .ts_ns = e->ts_ns, .side = e->side};
        return ND_OK;
    }
    case ND_SURV_CANCEL:
        if (at != SIZE_MAX)
            remove_resting(s, at);
        return record_message(s, e);
    case ND_SURV_FILL:
        if (at != SIZE_MAX) {
            s->resting[at].remaining -= e->qty;
            if (s->resting[at].remaining <= 0)
                remove_resting(s, at);
        }
        return ND_OK;
    default:
        return ND_EINVAL;
    }
}
