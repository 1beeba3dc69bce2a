/* l2sim_exec.c: the L2 simulator behind the venue interface (l2sim.h states the contract).
 *
 * Invariants:
 *  - a shadow is in use from submit until its last update is handed to the engine, and the
 *    simulator holds a pointer only to shadows in use (it drops an order once it is done, within
 *    the call that finished it, and the last update is handed out only after that call);
 *  - the update ring is FIFO and visible times never decrease along it;
 *  - shadow[k].pending counts the updates of that order still in the ring;
 *  - nothing is allocated after create. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/l2sim.h"

#include <stdio.h>
#include <string.h>

typedef struct shadow {
    nd_order_t order;   /* what the simulator works on */
    uint32_t pending;   /* its updates still in the ring */
    bool used;
    bool cancel_sent;
} shadow_t;

struct nd_l2sim_exec {
    nd_exec_venue_t venue;
    nd_l2sim_t *sim;
    shadow_t *shadows;
    uint32_t shadow_count;   /* cfg.orders_max */
    uint32_t shadows_used;
    /* Free shadows, a stack: the last freed is reused first, so the shadows in use stay at the
     * lowest indices and a look-up by client id scans only a few of them. */
    uint32_t *free_stack;
    uint32_t free_count;
    nd_order_update_t *ring; /* updates waiting for their visible time */
    uint32_t ring_cap, ring_head, ring_count;
    int64_t last_visible_ns;
    bool disconnected;
    nd_err_t sticky;         /* ND_EFULL once an update could not be queued */
};

/* A shadow by client id, or NULL. O(orders in use): a backtest holds a handful. */
static shadow_t *find_shadow(nd_l2sim_exec_t *x, uint64_t client_id)
{
    uint32_t seen = 0;
    for (uint32_t k = 0; k < x->shadow_count && seen < x->shadows_used; k++) {
        if (!x->shadows[k].used)
            continue;
        seen++;
        if (x->shadows[k].order.client_id == client_id)
            return &x->shadows[k];
    }
    return NULL;
}

/* A refused cancel or amend may speak of an order already gone: it holds no shadow. */
static bool answers_a_request_only(nd_order_update_kind_t kind)
{
    return kind == ND_UPDATE_CANCEL_REJECTED || kind == ND_UPDATE_AMEND_REJECTED;
}

static void on_report(void *ctx, const nd_l2sim_report_t *r)
{
    nd_l2sim_exec_t *x = ctx;
    shadow_t *sh = find_shadow(x, r->client_id);
    nd_order_update_t u;
    memset(&u, 0, sizeof u);
    u.client_id = r->client_id;
    /* One FIFO channel back to the engine: never visible before an earlier update. */
    u.ts_ns = r->visible_ns > x->last_visible_ns ? r->visible_ns : x->last_visible_ns;
    switch (r->kind) {
    case ND_L2SIM_REPORT_ACK:
        u.kind = ND_UPDATE_ACCEPTED;
        u.venue_id = sh ? sh->order.venue_id : 0;
        break;
    case ND_L2SIM_REPORT_FILL:
        u.kind = ND_UPDATE_FILL;
        u.fill = r->fill;
        break;
    case ND_L2SIM_REPORT_CANCELLED:
        /* Not asked for: the unfilled rest of a market order, which the venue drops. */
        u.kind = sh && sh->cancel_sent ? ND_UPDATE_CANCELLED : ND_UPDATE_EXPIRED;
        break;
    case ND_L2SIM_REPORT_CANCEL_REJECTED:
        u.kind = ND_UPDATE_CANCEL_REJECTED;
        break;
    case ND_L2SIM_REPORT_AMENDED:
        u.kind = ND_UPDATE_AMENDED;
        u.px = r->px;
        u.qty = r->qty;
        break;
    case ND_L2SIM_REPORT_AMEND_REJECTED:
        u.kind = ND_UPDATE_AMEND_REJECTED;
        break;
    }
    if (x->ring_count == x->ring_cap) {
        x->sticky = ND_EFULL; /* reported by the next on_market or poll: never dropped silently */
        return;
    }
    x->ring[(x->ring_head + x->ring_count) % x->ring_cap] = u;
    x->ring_count++;
    x->last_visible_ns = u.ts_ns;
    if (sh && !answers_a_request_only(u.kind))
        sh->pending++;
}

static nd_err_t exec_submit(void *self, nd_order_t *order, int64_t now_ns)
{
    nd_l2sim_exec_t *x = self;
    ND_ASSERT(order != NULL);
    ND_ASSERT(order->status == ND_ORDER_NEW);
    if (x->disconnected)
        return ND_EIO;
    if (x->free_count == 0)
        return ND_EFULL;
    uint32_t k = x->free_stack[x->free_count - 1];
    ND_ASSERT(!x->shadows[k].used);
    shadow_t *sh = &x->shadows[k];
    memset(sh, 0, sizeof *sh);
    sh->order = *order;
    nd_err_t rc = nd_l2sim_submit(x->sim, &sh->order, now_ns);
    if (rc != ND_OK)
        return rc;
    sh->used = true;
    x->shadows_used++;
    x->free_count--;
    return ND_OK; /* the engine's order stays NEW until its ACCEPTED is visible */
}

static nd_err_t exec_cancel(void *self, uint64_t client_id, int64_t now_ns)
{
    nd_l2sim_exec_t *x = self;
    if (x->disconnected)
        return ND_EIO;
    shadow_t *sh = find_shadow(x, client_id);
    if (!sh)
        return ND_ENOTFOUND;
    if (sh->cancel_sent || nd_order_is_done(&sh->order))
        return ND_OK; /* asked already, or its end is on the way */
    nd_err_t rc = nd_l2sim_cancel(x->sim, client_id, now_ns);
    if (rc == ND_OK)
        sh->cancel_sent = true;
    return rc;
}

static nd_err_t exec_amend(void *self, uint64_t client_id, int64_t px, int64_t qty,
                           int64_t now_ns)
{
    nd_l2sim_exec_t *x = self;
    if (x->disconnected)
        return ND_EIO;
    shadow_t *sh = find_shadow(x, client_id);
    if (!sh || sh->cancel_sent || nd_order_is_done(&sh->order))
        return ND_ENOTFOUND; /* gone, or going */
    return nd_l2sim_amend(x->sim, client_id, px, qty, now_ns);
}

static uint32_t exec_open_count(const void *self)
{
    const nd_l2sim_exec_t *x = self;
    return x->shadows_used;
}

static nd_err_t exec_on_market(void *self, const nd_market_event_t *ev)
{
    nd_l2sim_exec_t *x = self;
    if (x->sticky != ND_OK)
        return x->sticky;
    if (ev->kind == ND_MARKET_VENUE_STATUS) {
        x->disconnected = ev->u.status.state == ND_VENUE_DISCONNECTED;
        return ND_OK;
    }
    nd_tick_event_t tick;
    if (!nd_market_event_to_tick(ev, &tick))
        return ND_OK; /* a bar: this venue fills on events only */
    nd_err_t rc = nd_l2sim_on_event(x->sim, &tick);
    return rc != ND_OK ? rc : x->sticky;
}

static nd_err_t exec_poll(void *self, int64_t now_ns, nd_order_update_t *out, size_t cap,
                          size_t *count)
{
    nd_l2sim_exec_t *x = self;
    ND_ASSERT(out != NULL && count != NULL);
    if (x->sticky != ND_OK)
        return x->sticky;
    size_t n = 0;
    while (n < cap && x->ring_count > 0 && x->ring[x->ring_head].ts_ns <= now_ns) {
        const nd_order_update_t *u = &x->ring[x->ring_head];
        out[n++] = *u;
        x->ring_head = (x->ring_head + 1) % x->ring_cap;
        x->ring_count--;
        if (x->ring_count == 0)
            x->ring_head = 0; /* an empty ring restarts at its first entry: only as many entries
                               * as were ever held at once are touched (resident) */
        if (answers_a_request_only(u->kind))
            continue;
        shadow_t *sh = find_shadow(x, u->client_id);
        ND_ASSERT(sh != NULL);
        ND_ASSERT(sh->pending > 0);
        if (--sh->pending == 0 && nd_order_is_done(&sh->order)) {
            sh->used = false;
            x->shadows_used--;
            x->free_stack[x->free_count++] = (uint32_t)(sh - x->shadows);
        }
    }
    *count = n;
    return ND_OK;
}

static const nd_exec_venue_ops_t l2sim_exec_ops = {
    .submit = exec_submit,
    .cancel = exec_cancel,
    .amend = exec_amend,
    .on_bar = NULL,
    .open_count = exec_open_count,
    .on_market = exec_on_market,
    .poll = exec_poll,
};

static int64_t declared_latency(const nd_l2sim_latency_t *l)
{
    int64_t worst = l->const_ns;
    for (uint32_t i = 0; i < l->sample_count; i++)
        if (l->samples_ns[i] > worst)
            worst = l->samples_ns[i];
    return worst;
}

void nd_l2sim_exec_destroy(nd_l2sim_exec_t *x)
{
    if (!x)
        return;
    nd_l2sim_destroy(x->sim);
    nd_free(x->shadows);
    nd_free(x->free_stack);
    nd_free(x->ring);
    nd_free(x);
}

nd_err_t nd_l2sim_exec_create(const nd_l2sim_config_t *cfg, const nd_instrument_t *inst,
                              const char *name, nd_l2sim_exec_t **out)
{
    ND_ASSERT(cfg != NULL && inst != NULL);
    ND_ASSERT(name != NULL && out != NULL);
    if (strlen(name) >= ND_NAME_MAX)
        return ND_EINVAL;
    nd_l2sim_exec_t *x = nd_calloc(1, sizeof *x);
    if (!x)
        return ND_ENOMEM;
    nd_err_t rc = nd_l2sim_create(cfg, inst, on_report, x, &x->sim);
    if (rc != ND_OK) {
        nd_free(x);
        return rc;
    }
    x->shadow_count = cfg->orders_max;
    /* Per order in flight an ack, its fills and its end; four per request slot covers a
     * latency window of busy trading, and overflowing it is reported, never dropped. */
    x->ring_cap = 4u * cfg->requests_max + cfg->orders_max;
    x->shadows = nd_calloc(x->shadow_count, sizeof *x->shadows);
    x->ring = nd_calloc(x->ring_cap, sizeof *x->ring);
    x->free_stack = nd_calloc(x->shadow_count, sizeof *x->free_stack);
    if (!x->shadows || !x->ring || !x->free_stack) {
        nd_l2sim_exec_destroy(x);
        return ND_ENOMEM;
    }
    for (uint32_t k = 0; k < x->shadow_count; k++)
        x->free_stack[k] = x->shadow_count - 1 - k; /* shadow 0 on top */
    x->free_count = x->shadow_count;
    x->last_visible_ns = INT64_MIN;
    x->venue.ops = &l2sim_exec_ops;
    x->venue.self = x;
    snprintf(x->venue.facts.name, sizeof x->venue.facts.name, "%s", name);
    x->venue.facts.maker_fee_bps_e2 = cfg->maker_fee_bps_e2;
    x->venue.facts.taker_fee_bps_e2 = cfg->taker_fee_bps_e2;
    x->venue.facts.order_entry_latency_ns = declared_latency(&cfg->entry);
    x->venue.facts.ack_latency_ns = declared_latency(&cfg->ack);
    x->venue.facts.market_data_latency_ns = declared_latency(&cfg->md);
    x->venue.facts.amend = ND_AMEND_QTY_DOWN | ND_AMEND_QTY_UP | ND_AMEND_PRICE;
    *out = x;
    return ND_OK;
}

nd_exec_venue_t *nd_l2sim_exec_venue(nd_l2sim_exec_t *x)
{
    ND_ASSERT(x != NULL);
    return &x->venue;
}

nd_l2sim_t *nd_l2sim_exec_sim(nd_l2sim_exec_t *x)
{
    ND_ASSERT(x != NULL);
    return x->sim;
}
