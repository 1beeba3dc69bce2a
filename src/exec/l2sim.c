/* l2sim.c: the L2 simulated venue (the model is in l2sim.h and docs/simulated-venue.md).
 *
 * Invariants:
 *  - _rest[side][0.._rest_count[side]) holds the slots of the resting orders of that side, best
 *    price first and, at one price, in arrival order (time priority);
 *  - a resting slot's ahead is in [0, displayed size at its price] after every complete event
 *    (with quotes, only at the quoted prices: deeper levels are unknown), checked by rest_valid
 *    in debug builds;
 *  - fills of one order never exceed its quantity (nd_order_apply_fill checks it), fills of one
 *    trade never exceed the trade's size, and a taker fill never exceeds the displayed size of
 *    its level, which is then reduced by it;
 *  - requests leave the ring in arrival order, and arrival times never decrease along it;
 *  - nothing is allocated after create. */
#include "noderr/l2sim.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/rand.h"
#include "noderr/sim_venue.h"

#include <string.h>

/* A rate in hundredths of a bp is a fraction of RATE_DEN. */
#define RATE_DEN 1000000LL
/* Levels copied out of the book per step of a taker walk: most orders stop in the first few. */
#define WALK_CHUNK 16u

ND_STATIC_ASSERT(RATE_DEN == 10000LL * ND_BPS_UNIT, "a rate of RATE_DEN is 100%");

enum slot_state { SLOT_FREE = 0, SLOT_IN_FLIGHT = 1, SLOT_RESTING = 2, SLOT_ACTIVE = 3 };
enum request_kind { REQ_NEW = 1, REQ_CANCEL = 2, REQ_AMEND = 3 };

typedef struct slot {
    nd_order_t *order;
    int64_t ahead;  /* displayed size ahead in the queue */
    int64_t traded; /* trade volume printed at the order's price since the level last changed */
    uint32_t next_free;
    uint8_t state;
} slot_t;

typedef struct request {
    int64_t arrive_ns;
    uint64_t client_id;
    int64_t px, qty; /* REQ_AMEND: the new price and total quantity */
    uint32_t slot;
    uint8_t kind;
} request_t;

typedef struct latency {
    int64_t const_ns;
    int64_t *samples;
    uint32_t count;
} latency_t;

struct nd_l2sim {
    nd_l2sim_config_t cfg;
    nd_instrument_t inst;
    nd_l2sim_report_cb report_cb;
    void *ctx;
    nd_rand_t rng;
    latency_t entry, ack, md;
    nd_book_t book;
    nd_book_level_t *walk;    /* levels_max levels: a copy of one side for taker walks */
    slot_t *slots;
    uint32_t free_head;       /* UINT32_MAX when none */
    uint32_t *rest[2];        /* indexed by nd_book_side_t */
    uint32_t rest_count[2];
    request_t *requests;      /* ring */
    uint32_t req_head, req_count;
    int64_t last_ns;          /* time of the last processed event or advance */
    int64_t last_arrive_ns;   /* arrival time of the last request sent */
    uint64_t next_venue_id;
    bool clearing;            /* inside a CLEAR..LAST run */
    bool cross_pending;       /* a delta of the current event may cross a resting order */
    bool quoted;              /* quotes drive the book: levels below the top are unknown */
    nd_l2sim_stats_t stats;
};

void nd_l2sim_config_default(nd_l2sim_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->maker_fee_bps_e2 = 10 * ND_BPS_UNIT;
    cfg->taker_fee_bps_e2 = 10 * ND_BPS_UNIT;
    cfg->queue_model = ND_L2SIM_QUEUE_RISK_AVERSE;
    cfg->seed = 1;
    cfg->orders_max = 1024;
    cfg->requests_max = 4096;
    cfg->levels_max = 5000;
}

static bool latency_valid(const nd_l2sim_latency_t *l)
{
    if (l->sample_count == 0)
        return l->const_ns >= 0;
    if (l->samples_ns == NULL || l->sample_count > ND_L2SIM_SAMPLES_MAX)
        return false;
    for (uint32_t i = 0; i < l->sample_count; i++)
        if (l->samples_ns[i] < 0)
            return false;
    return true;
}

static bool config_valid(const nd_l2sim_config_t *c)
{
    return c->maker_fee_bps_e2 >= 0 && c->maker_fee_bps_e2 <= RATE_DEN &&
           c->taker_fee_bps_e2 >= 0 && c->taker_fee_bps_e2 <= RATE_DEN &&
           (c->queue_model == ND_L2SIM_QUEUE_RISK_AVERSE ||
            c->queue_model == ND_L2SIM_QUEUE_PROPORTIONAL) &&
           latency_valid(&c->entry) && latency_valid(&c->ack) && latency_valid(&c->md) &&
           c->orders_max >= 1 && c->orders_max <= ND_ORDERS_OPEN_MAX && c->requests_max >= 1 &&
           c->requests_max <= 16u * ND_ORDERS_OPEN_MAX && c->levels_max >= 1 &&
           c->levels_max <= ND_BOOK_LEVELS_MAX;
}

static nd_err_t latency_init(latency_t *l, const nd_l2sim_latency_t *src)
{
    l->const_ns = src->const_ns;
    l->count = src->sample_count;
    if (l->count == 0)
        return ND_OK;
    l->samples = nd_calloc(l->count, sizeof *l->samples);
    if (l->samples == NULL)
        return ND_ENOMEM;
    memcpy(l->samples, src->samples_ns, l->count * sizeof *l->samples);
    return ND_OK;
}

static int64_t draw(nd_l2sim_t *sim, const latency_t *l)
{
    if (l->count == 0)
        return l->const_ns;
    return l->samples[nd_rand_below(&sim->rng, l->count)];
}

void nd_l2sim_destroy(nd_l2sim_t *sim)
{
    if (sim == NULL)
        return;
    nd_book_deinit(&sim->book);
    nd_free(sim->walk);
    nd_free(sim->slots);
    nd_free(sim->rest[0]);
    nd_free(sim->rest[1]);
    nd_free(sim->requests);
    nd_free(sim->entry.samples);
    nd_free(sim->ack.samples);
    nd_free(sim->md.samples);
    nd_free(sim);
}

nd_err_t nd_l2sim_create(const nd_l2sim_config_t *cfg, const nd_instrument_t *inst,
                         nd_l2sim_report_cb report_cb, void *ctx, nd_l2sim_t **out)
{
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    if (!config_valid(cfg) || report_cb == NULL || inst->tick_size <= 0 || inst->lot_size <= 0)
        return ND_EINVAL;
    nd_l2sim_t *sim = nd_calloc(1, sizeof *sim);
    if (sim == NULL)
        return ND_ENOMEM;
    sim->cfg = *cfg;
    sim->inst = *inst;
    sim->report_cb = report_cb;
    sim->ctx = ctx;
    nd_rand_init(&sim->rng, cfg->seed);
    uint32_t n = cfg->orders_max;
    if (nd_book_init(&sim->book, cfg->levels_max) != ND_OK ||
        (sim->walk = nd_calloc(cfg->levels_max, sizeof *sim->walk)) == NULL ||
        (sim->slots = nd_calloc(n, sizeof *sim->slots)) == NULL ||
        (sim->rest[0] = nd_calloc(n, sizeof *sim->rest[0])) == NULL ||
        (sim->rest[1] = nd_calloc(n, sizeof *sim->rest[1])) == NULL ||
        (sim->requests = nd_calloc(cfg->requests_max, sizeof *sim->requests)) == NULL ||
        latency_init(&sim->entry, &cfg->entry) != ND_OK ||
        latency_init(&sim->ack, &cfg->ack) != ND_OK || latency_init(&sim->md, &cfg->md) != ND_OK) {
        nd_l2sim_destroy(sim);
        return ND_ENOMEM;
    }
    /* The config's sample pointers are borrowed: point them at our copies. */
    sim->cfg.entry.samples_ns = sim->entry.samples;
    sim->cfg.ack.samples_ns = sim->ack.samples;
    sim->cfg.md.samples_ns = sim->md.samples;
    for (uint32_t i = 0; i < n; i++)
        sim->slots[i].next_free = i + 1 < n ? i + 1 : UINT32_MAX;
    sim->free_head = 0;
    sim->last_ns = INT64_MIN;
    sim->last_arrive_ns = INT64_MIN;
    sim->next_venue_id = 1;
    *out = sim;
    return ND_OK;
}

/* ---- slots and the resting arrays --------------------------------------------------------- */

static nd_book_side_t side_of(nd_side_t side)
{
    return side == ND_SIDE_BUY ? ND_BOOK_BID : ND_BOOK_ASK;
}

/* true when a is a better price than b on this side of the book. */
static inline bool better(nd_book_side_t side, int64_t a, int64_t b)
{
    return side == ND_BOOK_BID ? a > b : a < b;
}

static void slot_free(nd_l2sim_t *sim, uint32_t i)
{
    ND_ASSERT(i < sim->cfg.orders_max);
    ND_ASSERT(sim->slots[i].state != SLOT_FREE);
    sim->slots[i] = (slot_t){.next_free = sim->free_head, .state = SLOT_FREE};
    sim->free_head = i;
}

/* Index in rest[side] of the first order whose price is not better than px. */
static uint32_t rest_lower_bound(const nd_l2sim_t *sim, nd_book_side_t side, int64_t px)
{
    uint32_t lo = 0, hi = sim->rest_count[side];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (better(side, sim->slots[sim->rest[side][mid]].order->px, px))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Inserts slot i behind every order at the same or a better price (time priority). */
static void rest_insert(nd_l2sim_t *sim, nd_book_side_t side, uint32_t i)
{
    int64_t px = sim->slots[i].order->px;
    uint32_t at = rest_lower_bound(sim, side, px);
    uint32_t *r = sim->rest[side];
    while (at < sim->rest_count[side] && sim->slots[r[at]].order->px == px)
        at++;
    ND_ASSERT(sim->rest_count[side] < sim->cfg.orders_max);
    memmove(&r[at + 1], &r[at], (sim->rest_count[side] - at) * sizeof *r);
    r[at] = i;
    sim->rest_count[side]++;
    sim->slots[i].state = SLOT_RESTING;
}

/* Takes slot i out of rest[side], keeping the others in order. */
static void rest_remove(nd_l2sim_t *sim, nd_book_side_t side, uint32_t i)
{
    uint32_t *r = sim->rest[side];
    uint32_t k = 0;
    while (k < sim->rest_count[side] && r[k] != i)
        k++;
    ND_ASSERT(k < sim->rest_count[side]);
    memmove(&r[k], &r[k + 1], (sim->rest_count[side] - k - 1) * sizeof *r);
    sim->rest_count[side]--;
}

/* Drops resting slots whose orders are done, keeping the others in order, and frees them. */
static void rest_compact(nd_l2sim_t *sim, nd_book_side_t side)
{
    uint32_t *r = sim->rest[side];
    uint32_t w = 0;
    for (uint32_t k = 0; k < sim->rest_count[side]; k++) {
        if (nd_order_is_working(sim->slots[r[k]].order))
            r[w++] = r[k];
        else
            slot_free(sim, r[k]);
    }
    sim->rest_count[side] = w;
}

/* The resting arrays' invariants (O(orders)): sorted best first, every slot resting and working,
 * ahead within [0, displayed size]. For ND_DEBUG_ASSERT after each complete event. */
static __attribute__((unused)) bool rest_valid(const nd_l2sim_t *sim)
{
    for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++) {
        for (uint32_t k = 0; k < sim->rest_count[side]; k++) {
            const slot_t *s = &sim->slots[sim->rest[side][k]];
            if (s->state != SLOT_RESTING || !nd_order_is_working(s->order) || s->ahead < 0 ||
                s->traded < 0 || side_of(s->order->side) != (nd_book_side_t)side)
                return false;
            /* With a top-of-book feed a level that left the top is unknown, not empty. */
            if (!sim->quoted &&
                s->ahead > nd_book_qty_at(&sim->book, (nd_book_side_t)side, s->order->px))
                return false;
            if (k > 0 && better((nd_book_side_t)side, s->order->px,
                                sim->slots[sim->rest[side][k - 1]].order->px))
                return false;
        }
    }
    return true;
}

/* ---- reports and fills -------------------------------------------------------------------- */

static void report_full(nd_l2sim_t *sim, nd_l2sim_report_t *r)
{
    int64_t delay = draw(sim, &sim->ack);
    r->visible_ns = r->exchange_ns > INT64_MAX - delay ? INT64_MAX : r->exchange_ns + delay;
    sim->report_cb(sim->ctx, r);
}

static void report(nd_l2sim_t *sim, nd_l2sim_report_kind_t kind, uint64_t client_id,
                   int64_t exchange_ns, const nd_fill_t *fill)
{
    nd_l2sim_report_t r = {.kind = kind, .client_id = client_id, .exchange_ns = exchange_ns};
    if (fill != NULL)
        r.fill = *fill;
    report_full(sim, &r);
}

/* ceil(notional * rate / RATE_DEN) for notional >= 0. */
static nd_err_t fee_of(int64_t notional, int64_t rate, int64_t *fee)
{
    ND_ASSERT(notional >= 0);
    ND_ASSERT(rate >= 0);
    return nd_fixed_div128((__int128)notional * rate, RATE_DEN, ND_ROUND_UP, fee);
}

/* Fills qty of o at px, applies it and reports it. ND_EOVERFLOW leaves o untouched. */
static nd_err_t fill(nd_l2sim_t *sim, nd_order_t *o, int64_t px, int64_t qty, bool maker,
                     int64_t ts_ns)
{
    ND_ASSERT(qty > 0);
    ND_ASSERT(qty <= nd_order_remaining(o));
    ND_ASSERT(px > 0);
    int64_t notional, fee, total;
    if (nd_notional(&sim->inst, px, qty, &notional) != ND_OK ||
        fee_of(notional, maker ? sim->cfg.maker_fee_bps_e2 : sim->cfg.taker_fee_bps_e2, &fee) !=
            ND_OK ||
        nd_fixed_add(o->fill_notional, notional, &total) != ND_OK ||
        nd_fixed_add(o->fees, fee, &total) != ND_OK)
        return ND_EOVERFLOW;
    nd_fill_t f = {.client_id = o->client_id, .venue_id = o->venue_id,
                   .instrument_id = o->instrument_id, .strategy_index = o->strategy_index,
                   .side = o->side, .maker = maker, .px = px, .qty = qty, .notional = notional,
                   .fee = fee, .ts_ns = ts_ns};
    nd_err_t rc = nd_order_apply_fill(o, &f);
    ND_ASSERT(rc == ND_OK);
    sim->stats.fills++;
    if (maker)
        sim->stats.maker_fills++;
    else
        sim->stats.taker_fills++;
    report(sim, ND_L2SIM_REPORT_FILL, o->client_id, ts_ns, &f);
    return ND_OK;
}

/* ---- order arrival ------------------------------------------------------------------------ */

/* Our own taker removed qty of displayed size at px on side: the front of the queue, so our
 * resting orders there move up by as much. They are not filled by it: no self-trade. */
static void queue_taken(nd_l2sim_t *sim, nd_book_side_t side, int64_t px, int64_t qty)
{
    for (uint32_t k = rest_lower_bound(sim, side, px); k < sim->rest_count[side]; k++) {
        slot_t *s = &sim->slots[sim->rest[side][k]];
        if (s->order->px != px)
            break;
        s->ahead = s->ahead > qty ? s->ahead - qty : 0;
    }
}

/* Takes liquidity for o from the opposite side, best level first, up to its limit (market
 * orders: no limit) and the displayed size; each fill is at its level's price, and the size
 * taken is removed from our copy of the book. */
static nd_err_t take(nd_l2sim_t *sim, nd_order_t *o, int64_t ts_ns)
{
    nd_book_side_t opp = o->side == ND_SIDE_BUY ? ND_BOOK_ASK : ND_BOOK_BID;
    bool limit = o->type == ND_ORDER_LIMIT;
    uint32_t requested = 0, got = 0, k = 0;
    while (nd_order_remaining(o) > 0) {
        if (k == got) {
            /* A copy shorter than asked held the whole side, and it is walked: the book ran
             * out. Otherwise copy more: the first chunk, then the rest of the side. Levels
             * already walked were emptied, so each copy starts at the new best. */
            if (got > 0 && got < requested)
                break;
            requested = requested == 0 && WALK_CHUNK < sim->cfg.levels_max ? WALK_CHUNK
                                                                            : sim->cfg.levels_max;
            got = nd_book_top(&sim->book, opp, sim->walk, requested);
            k = 0;
            if (got == 0)
                break;
        }
        const nd_book_level_t *l = &sim->walk[k++];
        /* The limit bounds the price: a buy takes asks at or below it, a sell bids at or above. */
        if (limit && better(opp, o->px, l->px))
            break;
        int64_t q = nd_order_remaining(o) < l->qty ? nd_order_remaining(o) : l->qty;
        nd_err_t rc = fill(sim, o, l->px, q, false, ts_ns);
        if (rc != ND_OK)
            return rc;
        rc = nd_book_set(&sim->book, opp, l->px, l->qty - q);
        ND_ASSERT(rc == ND_OK);
        queue_taken(sim, opp, l->px, q);
    }
    return ND_OK;
}

static nd_err_t arrive_new(nd_l2sim_t *sim, uint32_t i, int64_t ts_ns)
{
    slot_t *s = &sim->slots[i];
    nd_order_t *o = s->order;
    ND_ASSERT(s->state == SLOT_IN_FLIGHT);
    nd_err_t rc = nd_order_transition(o, ND_ORDER_ACCEPTED, ts_ns);
    ND_ASSERT(rc == ND_OK);
    o->venue_id = sim->next_venue_id++;
    sim->stats.orders_arrived++;
    s->state = SLOT_ACTIVE;
    report(sim, ND_L2SIM_REPORT_ACK, o->client_id, ts_ns, NULL);
    rc = take(sim, o, ts_ns);
    if (rc != ND_OK) {
        /* The order is accepted and cannot price: cancel it rather than leave it half-handled. */
        if (nd_order_transition(o, ND_ORDER_CANCELLED, ts_ns) == ND_OK) {
            sim->stats.cancels++;
            report(sim, ND_L2SIM_REPORT_CANCELLED, o->client_id, ts_ns, NULL);
        }
        slot_free(sim, i);
        return rc;
    }
    if (!nd_order_is_working(o)) {
        slot_free(sim, i);
        return ND_OK;
    }
    if (o->type == ND_ORDER_MARKET) {
        /* The book ran out: a market order does not rest. */
        rc = nd_order_transition(o, ND_ORDER_CANCELLED, ts_ns);
        ND_ASSERT(rc == ND_OK);
        sim->stats.cancels++;
        report(sim, ND_L2SIM_REPORT_CANCELLED, o->client_id, ts_ns, NULL);
        slot_free(sim, i);
        return ND_OK;
    }
    nd_book_side_t side = side_of(o->side);
    s->ahead = nd_book_qty_at(&sim->book, side, o->px);
    s->traded = 0;
    rest_insert(sim, side, i);
    return ND_OK;
}

/* The slot of a working or in-flight order with client_id, or UINT32_MAX. O(orders). */
static uint32_t find_slot(const nd_l2sim_t *sim, uint64_t client_id)
{
    for (uint32_t i = 0; i < sim->cfg.orders_max; i++)
        if (sim->slots[i].state != SLOT_FREE && sim->slots[i].order->client_id == client_id)
            return i;
    return UINT32_MAX;
}

static void arrive_cancel(nd_l2sim_t *sim, uint64_t client_id, int64_t ts_ns)
{
    uint32_t i = find_slot(sim, client_id);
    if (i == UINT32_MAX || sim->slots[i].state != SLOT_RESTING) {
        report(sim, ND_L2SIM_REPORT_CANCEL_REJECTED, client_id, ts_ns, NULL);
        return;
    }
    nd_order_t *o = sim->slots[i].order;
    nd_err_t rc = nd_order_transition(o, ND_ORDER_CANCELLED, ts_ns);
    ND_ASSERT(rc == ND_OK);
    sim->stats.cancels++;
    report(sim, ND_L2SIM_REPORT_CANCELLED, client_id, ts_ns, NULL);
    rest_compact(sim, side_of(o->side));
}

/* An amend reaching the engine (order.h's queue rule): lowering the quantity at the same price
 * keeps the order's place; otherwise it leaves the queue and arrives again at its new price,
 * taking what it crosses, then resting at the back. AMENDED is reported before any fill it
 * makes, so the new quantity is known before fills against it. */
static nd_err_t arrive_amend(nd_l2sim_t *sim, const request_t *req)
{
    uint32_t i = find_slot(sim, req->client_id);
    if (i == UINT32_MAX || sim->slots[i].state != SLOT_RESTING ||
        req->qty <= sim->slots[i].order->filled_qty ||
        nd_order_amend_needs(sim->slots[i].order, req->px, req->qty) == 0) {
        report(sim, ND_L2SIM_REPORT_AMEND_REJECTED, req->client_id, req->arrive_ns, NULL);
        return ND_OK;
    }
    slot_t *s = &sim->slots[i];
    nd_order_t *o = s->order;
    bool keeps = nd_order_amend_keeps_priority(o, req->px, req->qty);
    nd_book_side_t side = side_of(o->side);
    if (!keeps)
        rest_remove(sim, side, i);
    nd_err_t rc = nd_order_amend(o, req->px, req->qty, req->arrive_ns);
    ND_ASSERT(rc == ND_OK);
    sim->stats.amends++;
    nd_l2sim_report_t r = {.kind = ND_L2SIM_REPORT_AMENDED, .client_id = o->client_id,
                           .exchange_ns = req->arrive_ns, .px = o->px, .qty = o->qty};
    report_full(sim, &r);
    if (keeps)
        return ND_OK;
    s->state = SLOT_ACTIVE;
    rc = take(sim, o, req->arrive_ns);
    if (rc != ND_OK) {
        /* Cannot price it (overflow): cancelled, as a new order would be, never half-handled. */
        if (nd_order_transition(o, ND_ORDER_CANCELLED, req->arrive_ns) == ND_OK) {
            sim->stats.cancels++;
            report(sim, ND_L2SIM_REPORT_CANCELLED, o->client_id, req->arrive_ns, NULL);
        }
        slot_free(sim, i);
        return rc;
    }
    if (!nd_order_is_working(o)) {
        slot_free(sim, i);
        return ND_OK;
    }
    s->ahead = nd_book_qty_at(&sim->book, side, o->px);
    s->traded = 0;
    rest_insert(sim, side, i);
    return ND_OK;
}

/* Processes requests arriving before `until` (or at it when inclusive). */
static nd_err_t process_requests(nd_l2sim_t *sim, int64_t until, bool inclusive)
{
    while (sim->req_count > 0) {
        request_t *r = &sim->requests[sim->req_head];
        if (inclusive ? r->arrive_ns > until : r->arrive_ns >= until)
            break;
        request_t req = *r;
        sim->req_head = (sim->req_head + 1) % sim->cfg.requests_max;
        sim->req_count--;
        if (sim->req_count == 0)
            sim->req_head = 0; /* restart at the first entry: only the high-water mark is
                                * ever touched (resident) */
        if (req.kind == REQ_CANCEL) {
            arrive_cancel(sim, req.client_id, req.arrive_ns);
            continue;
        }
        nd_err_t rc = req.kind == REQ_AMEND ? arrive_amend(sim, &req)
                                            : arrive_new(sim, req.slot, req.arrive_ns);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static nd_err_t enqueue(nd_l2sim_t *sim, request_t req, int64_t now_ns)
{
    if (sim->req_count >= sim->cfg.requests_max)
        return ND_EFULL;
    int64_t delay = draw(sim, &sim->entry);
    int64_t at = now_ns > INT64_MAX - delay ? INT64_MAX : now_ns + delay;
    /* One FIFO channel: a request never overtakes an earlier one, and the engine cannot act
     * in its past. */
    if (at < sim->last_arrive_ns)
        at = sim->last_arrive_ns;
    if (at < sim->last_ns)
        at = sim->last_ns;
    sim->last_arrive_ns = at;
    uint32_t tail = (sim->req_head + sim->req_count) % sim->cfg.requests_max;
    req.arrive_ns = at;
    sim->requests[tail] = req;
    sim->req_count++;
    return ND_OK;
}

nd_err_t nd_l2sim_submit(nd_l2sim_t *sim, nd_order_t *o, int64_t now_ns)
{
    ND_ASSERT(sim != NULL);
    ND_ASSERT(o != NULL);
    if (o->status != ND_ORDER_NEW)
        return ND_ESTATE;
    if (o->instrument_id != sim->inst.id || o->qty <= 0 ||
        (o->side != ND_SIDE_BUY && o->side != ND_SIDE_SELL) ||
        (o->type != ND_ORDER_MARKET && o->type != ND_ORDER_LIMIT) ||
        (o->type == ND_ORDER_LIMIT && o->px <= 0))
        return ND_EINVAL;
    if (sim->free_head == UINT32_MAX || sim->req_count >= sim->cfg.requests_max)
        return ND_EFULL;
    ND_DEBUG_ASSERT(find_slot(sim, o->client_id) == UINT32_MAX);
    uint32_t i = sim->free_head;
    request_t req = {.client_id = o->client_id, .slot = i, .kind = REQ_NEW};
    nd_err_t rc = enqueue(sim, req, now_ns);
    ND_ASSERT(rc == ND_OK);
    sim->free_head = sim->slots[i].next_free;
    sim->slots[i] = (slot_t){.order = o, .state = SLOT_IN_FLIGHT, .next_free = UINT32_MAX};
    return ND_OK;
}

nd_err_t nd_l2sim_cancel(nd_l2sim_t *sim, uint64_t client_id, int64_t now_ns)
{
    ND_ASSERT(sim != NULL);
    if (find_slot(sim, client_id) == UINT32_MAX)
        return ND_ENOTFOUND;
    request_t req = {.client_id = client_id, .slot = UINT32_MAX, .kind = REQ_CANCEL};
    return enqueue(sim, req, now_ns);
}

nd_err_t nd_l2sim_amend(nd_l2sim_t *sim, uint64_t client_id, int64_t px, int64_t qty,
                        int64_t now_ns)
{
    ND_ASSERT(sim != NULL);
    if (px <= 0 || qty <= 0)
        return ND_EINVAL;
    uint32_t i = find_slot(sim, client_id);
    if (i == UINT32_MAX)
        return ND_ENOTFOUND;
    if (sim->slots[i].order->type != ND_ORDER_LIMIT)
        return ND_ESTATE; /* a market order never rests */
    request_t req = {.client_id = client_id, .slot = i, .kind = REQ_AMEND, .px = px, .qty = qty};
    return enqueue(sim, req, now_ns);
}

/* ---- market events ------------------------------------------------------------------------ */

/* A trade: fills resting orders on the side it hit. Orders priced better than the trade were
 * traded through (fill up to the trade's remaining size); orders at the trade's price advance
 * by its volume and fill with what reaches them. */
static nd_err_t on_trade(nd_l2sim_t *sim, const nd_trade_tick_t *t)
{
    nd_book_side_t side = t->aggressor == ND_SIDE_SELL ? ND_BOOK_BID : ND_BOOK_ASK;
    uint32_t n = sim->rest_count[side];
    if (n == 0)
        return ND_OK;
    int64_t budget = t->qty, at_level = 0;
    bool done = false;
    for (uint32_t k = 0; k < n; k++) {
        slot_t *s = &sim->slots[sim->rest[side][k]];
        nd_order_t *o = s->order;
        if (better(side, t->px, o->px))
            break; /* this and every later order is priced worse than the trade */
        int64_t q = 0;
        if (o->px != t->px) {
            q = budget;
        } else {
            int64_t reach = t->qty - s->ahead - at_level;
            q = reach < budget ? reach : budget;
            s->ahead = s->ahead > t->qty ? s->ahead - t->qty : 0;
            s->traded += t->qty;
        }
        if (q > nd_order_remaining(o))
            q = nd_order_remaining(o);
        if (q <= 0)
            continue;
        nd_err_t rc = fill(sim, o, o->px, q, true, t->ts_ns);
        if (rc != ND_OK)
            return rc;
        budget -= q;
        if (o->px == t->px)
            at_level += q;
        done |= !nd_order_is_working(o);
    }
    if (done)
        rest_compact(sim, side);
    return ND_OK;
}

/* The queue update of the resting orders at px on side, from index k of the resting array
 * on, when the level goes from old_qty to new_qty. */
static void level_changed_from(nd_l2sim_t *sim, nd_book_side_t side, uint32_t k, int64_t px,
                               int64_t old_qty, int64_t new_qty)
{
    for (; k < sim->rest_count[side]; k++) {
        slot_t *s = &sim->slots[sim->rest[side][k]];
        if (s->order->px != px)
            break;
        int64_t drop = old_qty - new_qty;
        if (drop > 0) {
            int64_t explained = drop < s->traded ? drop : s->traded;
            int64_t cancelled = drop - explained;
            s->traded -= explained;
            int64_t level = old_qty - explained; /* the queue once the trades are taken out */
            if (sim->cfg.queue_model == ND_L2SIM_QUEUE_PROPORTIONAL && cancelled > 0 &&
                level > 0 && s->ahead > 0) {
                /* Rounded down, to a whole number of lots too (every order in the queue is
                 * one): the order advances no further than its share, and fills stay on the
                 * lot grid. */
                int64_t adv = (int64_t)((__int128)cancelled * s->ahead / level);
                adv -= adv % sim->inst.lot_size;
                s->ahead -= adv;
            }
        }
        if (s->ahead > new_qty)
            s->ahead = new_qty;
        if (new_qty == 0)
            s->traded = 0;
    }
}

static void level_changed(nd_l2sim_t *sim, nd_book_side_t side, int64_t px, int64_t old_qty,
                          int64_t new_qty)
{
    level_changed_from(sim, side, rest_lower_bound(sim, side, px), px, old_qty, new_qty);
}

/* Fills resting orders the opposite side has moved through: the book could only be there if
 * everything at their price was executed, them included. */
static nd_err_t check_cross(nd_l2sim_t *sim, int64_t ts_ns)
{
    for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++) {
        nd_book_side_t opp = side == ND_BOOK_BID ? ND_BOOK_ASK : ND_BOOK_BID;
        nd_book_level_t best;
        if (sim->rest_count[side] == 0 || !nd_book_best(&sim->book, opp, &best))
            continue;
        bool any = false;
        for (uint32_t k = 0; k < sim->rest_count[side]; k++) {
            nd_order_t *o = sim->slots[sim->rest[side][k]].order;
            if (better((nd_book_side_t)side, best.px, o->px))
                break; /* best opposite is beyond this order's price */
            nd_err_t rc = fill(sim, o, o->px, nd_order_remaining(o), true, ts_ns);
            if (rc != ND_OK)
                return rc;
            any = true;
        }
        if (any)
            rest_compact(sim, (nd_book_side_t)side);
    }
    return ND_OK;
}

static nd_err_t on_delta(nd_l2sim_t *sim, const nd_book_delta_t *d)
{
    if (d->flags & ND_DELTA_F_CLEAR) {
        nd_book_clear(&sim->book);
        sim->clearing = true;
    }
    /* The old size matters only when one of our orders rests at that price: find that first
     * (a binary search over our few orders), and look the book up only then. */
    uint32_t k = UINT32_MAX;
    if (!sim->clearing && sim->rest_count[d->side] > 0) {
        k = rest_lower_bound(sim, d->side, d->px);
        if (k == sim->rest_count[d->side] || sim->slots[sim->rest[d->side][k]].order->px != d->px)
            k = UINT32_MAX;
    }
    int64_t old = k != UINT32_MAX ? nd_book_qty_at(&sim->book, d->side, d->px) : 0;
    nd_err_t rc = nd_book_set(&sim->book, d->side, d->px, d->qty);
    /* A new level on a full side: the book refuses it rather than evict one (book.h), and the
     * run stops on the error rather than trade on a book that is not the venue's. */
    if (rc == ND_EFULL)
        return rc;
    ND_ASSERT(rc == ND_OK);
    if (k != UINT32_MAX)
        level_changed_from(sim, d->side, k, d->px, old, d->qty);
    /* After a complete event no resting order is crossed (check_cross fills those), so only a
     * level added at or through our best order on the other side can cross one. */
    nd_book_side_t ours = d->side == ND_BOOK_BID ? ND_BOOK_ASK : ND_BOOK_BID;
    if (d->qty > 0 && sim->rest_count[ours] > 0 &&
        !better(d->side, sim->slots[sim->rest[ours][0]].order->px, d->px))
        sim->cross_pending = true;
    if (!(d->flags & ND_DELTA_F_LAST))
        return ND_OK;
    if (sim->clearing) {
        /* After a snapshot nothing tells which size went where: keep each queue position
         * but never beyond what is displayed now. */
        sim->clearing = false;
        for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++)
            for (uint32_t j = 0; j < sim->rest_count[side]; j++) {
                slot_t *s = &sim->slots[sim->rest[side][j]];
                int64_t shown = nd_book_qty_at(&sim->book, (nd_book_side_t)side, s->order->px);
                s->ahead = s->ahead < shown ? s->ahead : shown;
                s->traded = 0;
            }
    }
    if (!sim->cross_pending)
        return ND_OK;
    sim->cross_pending = false;
    return check_cross(sim, d->ts_ns);
}

/* A top-of-book quote: the book becomes these two levels. Queue updates apply only at the
 * quoted prices, because a top-of-book feed says nothing about deeper levels. */
static nd_err_t on_quote(nd_l2sim_t *sim, const nd_quote_tick_t *q)
{
    sim->quoted = true;
    int64_t old_bid = nd_book_qty_at(&sim->book, ND_BOOK_BID, q->bid_px);
    int64_t old_ask = nd_book_qty_at(&sim->book, ND_BOOK_ASK, q->ask_px);
    nd_book_clear(&sim->book);
    nd_err_t rc = nd_book_set(&sim->book, ND_BOOK_BID, q->bid_px, q->bid_qty);
    ND_ASSERT(rc == ND_OK);
    rc = nd_book_set(&sim->book, ND_BOOK_ASK, q->ask_px, q->ask_qty);
    ND_ASSERT(rc == ND_OK);
    level_changed(sim, ND_BOOK_BID, q->bid_px, old_bid, q->bid_qty);
    level_changed(sim, ND_BOOK_ASK, q->ask_px, old_ask, q->ask_qty);
    return check_cross(sim, q->ts_ns);
}

static bool event_valid(const nd_l2sim_t *sim, const nd_tick_event_t *ev)
{
    switch (ev->kind) {
    case ND_TICK_TRADE:
        return ev->u.trade.instrument_id == sim->inst.id && ev->u.trade.px > 0 &&
               ev->u.trade.qty > 0 &&
               (ev->u.trade.aggressor == ND_SIDE_BUY || ev->u.trade.aggressor == ND_SIDE_SELL);
    case ND_TICK_QUOTE:
        return ev->u.quote.instrument_id == sim->inst.id && ev->u.quote.bid_px > 0 &&
               ev->u.quote.ask_px > ev->u.quote.bid_px && ev->u.quote.bid_qty >= 0 &&
               ev->u.quote.ask_qty >= 0;
    case ND_TICK_DELTA:
        return ev->u.delta.instrument_id == sim->inst.id && ev->u.delta.px > 0 &&
               ev->u.delta.qty >= 0 &&
               (ev->u.delta.side == ND_BOOK_BID || ev->u.delta.side == ND_BOOK_ASK);
    }
    return false;
}

nd_err_t nd_l2sim_on_event(nd_l2sim_t *sim, const nd_tick_event_t *ev)
{
    ND_ASSERT(sim != NULL);
    ND_ASSERT(ev != NULL);
    int64_t ts = nd_tick_ts(ev);
    if (ts < sim->last_ns || !event_valid(sim, ev))
        return ND_EINVAL;
    if (sim->req_count > 0) {
        nd_err_t rc = process_requests(sim, ts, false);
        if (rc != ND_OK)
            return rc;
    }
    sim->last_ns = ts;
    sim->stats.events++;
    nd_err_t rc = ND_EINVAL;
    switch (ev->kind) {
    case ND_TICK_TRADE: rc = on_trade(sim, &ev->u.trade); break;
    case ND_TICK_QUOTE: rc = on_quote(sim, &ev->u.quote); break;
    case ND_TICK_DELTA: rc = on_delta(sim, &ev->u.delta); break;
    }
    ND_DEBUG_ASSERT(rc != ND_OK || sim->clearing || rest_valid(sim));
    return rc;
}

nd_err_t nd_l2sim_advance(nd_l2sim_t *sim, int64_t now_ns)
{
    ND_ASSERT(sim != NULL);
    if (now_ns < sim->last_ns)
        return ND_EINVAL;
    nd_err_t rc = process_requests(sim, now_ns, true);
    sim->last_ns = now_ns;
    ND_DEBUG_ASSERT(rc != ND_OK || sim->clearing || rest_valid(sim));
    return rc;
}

int64_t nd_l2sim_md_delay_ns(nd_l2sim_t *sim)
{
    ND_ASSERT(sim != NULL);
    return draw(sim, &sim->md);
}

const nd_book_t *nd_l2sim_book(const nd_l2sim_t *sim)
{
    ND_ASSERT(sim != NULL);
    return &sim->book;
}

bool nd_l2sim_queue_ahead(const nd_l2sim_t *sim, uint64_t client_id, int64_t *ahead)
{
    ND_ASSERT(sim != NULL);
    ND_ASSERT(ahead != NULL);
    uint32_t i = find_slot(sim, client_id);
    if (i == UINT32_MAX || sim->slots[i].state != SLOT_RESTING)
        return false;
    *ahead = sim->slots[i].ahead;
    return true;
}

void nd_l2sim_stats(const nd_l2sim_t *sim, nd_l2sim_stats_t *out)
{
    ND_ASSERT(sim != NULL);
    ND_ASSERT(out != NULL);
    *out = sim->stats;
}
