/* engine.c: engine life cycle and the per-bar event loop (see engine.h for the step order).
 *
 * Invariants: every order in live[] is working and came from order_pool; events leave the ring
 * only through nd__engine_flush, in the order they were emitted; now_ns never decreases. */
#include "engine_int.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/log.h"
#include "strategy/builtins_int.h"

#include <stdio.h>
#include <string.h>

void nd_engine_config_default(nd_engine_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->initial_cash = 10000 * nd_pow10(ND_CASH_DECIMALS);
    cfg->sizing.kind = ND_SIZING_PERCENT;
    cfg->sizing.percent_e2 = 2500;
    cfg->allow_short = false;
    cfg->orders_max = 1024;
    nd_sim_config_default(&cfg->venue);
    nd_risk_config_default(&cfg->risk);
    nd_anomaly_config_default(&cfg->anomaly);
    cfg->anomaly_bucket_ns = 15 * ND_NS_PER_MIN;
}

static nd_err_t check_config(const nd_engine_config_t *cfg, const nd_instrument_t *instruments,
                             uint32_t count, char *err, size_t err_len)
{
    if (cfg->initial_cash <= 0) {
        snprintf(err, err_len, "initial cash must be positive");
        return ND_EINVAL;
    }
    if (cfg->orders_max == 0 || cfg->orders_max > ND_ORDERS_OPEN_MAX) {
        snprintf(err, err_len, "order pool size must be 1..%d", ND_ORDERS_OPEN_MAX);
        return ND_EINVAL;
    }
    if (count == 0 || count > ND_INSTRUMENTS_MAX) {
        snprintf(err, err_len, "need 1..%d instruments", ND_INSTRUMENTS_MAX);
        return ND_EINVAL;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (instruments[i].id != i || instruments[i].tick_size <= 0 ||
            instruments[i].lot_size <= 0) {
            snprintf(err, err_len, "instrument %u (%s): id must equal its index and tick and lot "
                     "must be positive", i, instruments[i].symbol);
            return ND_EINVAL;
        }
    }
    if (cfg->sizing.kind == ND_SIZING_PERCENT &&
        (cfg->sizing.percent_e2 <= 0 || cfg->sizing.percent_e2 > 10000)) {
        snprintf(err, err_len, "percent sizing must be in (0, 100]");
        return ND_EINVAL;
    }
    if (cfg->venue_count > ND_VENUES_MAX) {
        snprintf(err, err_len, "at most %d venues", ND_VENUES_MAX);
        return ND_EINVAL;
    }
    for (uint32_t v = 0; v < cfg->venue_count; v++) {
        const nd_exec_venue_t *ven = cfg->venues[v];
        /* A venue matches bars (on_bar), events (on_market and poll, both), or both. */
        if (!ven || !ven->ops || !ven->ops->submit || !ven->ops->cancel ||
            !ven->ops->open_count || (!ven->ops->on_market != !ven->ops->poll) ||
            (!ven->ops->on_bar && !ven->ops->on_market)) {
            snprintf(err, err_len, "venue %u: every operation must be given", v);
            return ND_EINVAL;
        }
    }
    if (cfg->sizing.kind == ND_SIZING_FIXED && cfg->sizing.fixed_qty <= 0) {
        snprintf(err, err_len, "fixed sizing quantity must be positive");
        return ND_EINVAL;
    }
    return ND_OK;
}

static nd_err_t alloc_buffers(nd_engine_t *e, const nd_instrument_t *instruments, uint32_t count)
{
    e->instruments = nd_calloc(count, sizeof *instruments);
    e->last_bar_ns = nd_calloc(count, sizeof(int64_t));
    e->live = nd_calloc(e->cfg.orders_max, sizeof(nd_order_t *));
    e->fill_buf = nd_calloc(e->cfg.orders_max, sizeof(nd_fill_t));
    e->venue_of = nd_calloc(count, sizeof(uint8_t));
    if (!e->instruments || !e->last_bar_ns || !e->live || !e->fill_buf || !e->venue_of)
        return ND_ENOMEM;
    memcpy(e->instruments, instruments, count * sizeof *instruments);
    e->instrument_count = count;
    nd_err_t rc = nd_pool_init(&e->order_pool, sizeof(nd_order_t), e->cfg.orders_max);
    if (rc == ND_OK)
        rc = nd_ring_init(&e->events, sizeof(nd_event_t), ND_EVENT_RING_SIZE);
    return rc;
}

/* Each instrument trades on the venue whose name it carries; with no venue configured, on one
 * simulated venue the engine makes from cfg.venue. */
static nd_err_t route_venues(nd_engine_t *e, char *err, size_t err_len)
{
    if (e->cfg.venue_count == 0) {
        e->own_sim = nd_calloc(1, sizeof *e->own_sim);
        if (!e->own_sim)
            return ND_ENOMEM;
        nd_err_t rc = nd_sim_venue_init(e->own_sim, &e->cfg.venue, e->instruments,
                                        e->instrument_count);
        if (rc != ND_OK) {
            snprintf(err, err_len, "simulated venue: %s", nd_strerror(rc));
            return rc;
        }
        nd_sim_venue_exec(e->own_sim, "sim", &e->own_sim_exec);
        e->venues[0] = &e->own_sim_exec;
        e->venue_count = 1;
        return ND_OK; /* venue_of is all zero: everything trades there */
    }
    e->venue_count = e->cfg.venue_count;
    memcpy(e->venues, e->cfg.venues, e->venue_count * sizeof e->venues[0]);
    for (uint32_t i = 0; i < e->instrument_count; i++) {
        uint32_t v = 0;
        while (v < e->venue_count && strcmp(e->venues[v]->facts.name, e->instruments[i].venue) != 0)
            v++;
        if (v == e->venue_count) {
            snprintf(err, err_len, "instrument %s trades on venue '%s', which is not configured",
                     e->instruments[i].symbol, e->instruments[i].venue);
            return ND_EINVAL;
        }
        e->venue_of[i] = (uint8_t)v;
    }
    return ND_OK;
}

nd_err_t nd_engine_create(const nd_engine_config_t *cfg, const nd_instrument_t *instruments,
                          uint32_t instrument_count, nd_clock_t *clock, nd_engine_t **out,
                          char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(out != NULL);
    nd_err_t rc = check_config(cfg, instruments, instrument_count, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_engine_t *e = nd_calloc(1, sizeof *e);
    if (!e)
        return ND_ENOMEM;
    e->cfg = *cfg;
    e->clock = clock;
    e->next_client_id = 1;
    rc = alloc_buffers(e, instruments, instrument_count);
    if (rc == ND_OK)
        rc = route_venues(e, err, err_len);
    if (rc == ND_OK && (rc = nd_risk_init(&e->risk, &cfg->risk, 1)) != ND_OK) /* again at start */
        snprintf(err, err_len, "risk limits or breaker reset policies out of range");
    if (rc != ND_OK) {
        if (rc == ND_ENOMEM)
            snprintf(err, err_len, "engine set-up failed: %s", nd_strerror(rc));
        nd_engine_destroy(e);
        return rc;
    }
    *out = e;
    return ND_OK;
}

void nd_engine_destroy(nd_engine_t *e)
{
    if (!e)
        return;
    for (uint32_t s = 0; s < e->strategy_count; s++) {
        nd__strategy_slot_t *slot = &e->strategies[s];
        if (slot->started && slot->def->on_stop)
            slot->def->on_stop(slot->state);
        nd_free(slot->state);
    }
    nd_surv_pretrade_destroy(e->pretrade);
    nd_portfolio_destroy(e->portfolio);
    nd_pool_deinit(&e->order_pool);
    nd_ring_deinit(&e->events);
    nd_free(e->instruments);
    nd_free(e->last_bar_ns);
    nd_free(e->live);
    nd_free(e->fill_buf);
    nd_free(e->venue_of);
    nd_free(e->own_sim);
    nd__engine_events_free(e);
    nd__engine_anomaly_free(e);
    nd_free(e);
}

void nd_engine_set_listener(nd_engine_t *e, const nd_engine_listener_t *listener)
{
    ND_ASSERT(e != NULL);
    if (listener)
        e->listener = *listener;
    else
        memset(&e->listener, 0, sizeof e->listener);
}

static nd_err_t engine_set_timer(nd_strategy_ctx_t *ctx, int64_t at_ns, uint64_t timer_id);

nd_err_t nd_engine_add_strategy(nd_engine_t *e, const nd_strategy_def_t *def,
                                const double *params, uint32_t instrument_id, int64_t weight_e6,
                                char *err, size_t err_len)
{
    ND_ASSERT(e != NULL && def != NULL);
    ND_ASSERT(params != NULL);
    if (e->started) {
        snprintf(err, err_len, "strategies must be added before the engine starts");
        return ND_ESTATE;
    }
    if (e->strategy_count >= ND_STRATEGIES_MAX) {
        snprintf(err, err_len, "at most %d strategies", ND_STRATEGIES_MAX);
        return ND_EFULL;
    }
    if (instrument_id >= e->instrument_count) {
        snprintf(err, err_len, "strategy %s: unknown instrument %u", def->name, instrument_id);
        return ND_EINVAL;
    }
    if (weight_e6 <= 0 || weight_e6 > 1000000) {
        snprintf(err, err_len, "strategy %s: weight must be in (0, 1]", def->name);
        return ND_EINVAL;
    }
    ND_ASSERT(def->param_count <= ND_STRATEGY_PARAMS_MAX);
    nd_err_t rc = nd_strategy_params_check(def, params, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd__strategy_slot_t *slot = &e->strategies[e->strategy_count];
    memset(slot, 0, sizeof *slot);
    slot->def = def;
    memcpy(slot->params, params, (size_t)def->param_count * sizeof(double));
    slot->instrument_id = instrument_id;
    slot->weight_e6 = weight_e6;
    slot->ctx.engine = e;
    slot->ctx.strategy_index = e->strategy_count;
    slot->ctx.target = nd__engine_target;
    slot->ctx.submit = nd__engine_submit;
    slot->ctx.cancel = nd__engine_cancel;
    slot->ctx.amend = nd__engine_amend;
    slot->ctx.set_timer = engine_set_timer;
    slot->ctx.position = nd__engine_position;
    slot->ctx.def = def;
    e->strategy_count++;
    return ND_OK;
}

static void relay_trade(void *ctx, const nd_trade_t *trade)
{
    nd_engine_t *e = ctx;
    if (e->listener.on_trade)
        e->listener.on_trade(e->listener.ctx, trade);
}

/* Strict pre-trade surveillance: the state and every (account 0, instrument) rate ring are
 * allocated here, so the per-order path never allocates. */
static nd_err_t start_pretrade(nd_engine_t *e, char *err, size_t err_len)
{
    if (!e->cfg.pretrade_profile)
        return ND_OK;
    nd_err_t rc = nd_surv_pretrade_create(e->cfg.pretrade_profile, &e->pretrade);
    for (uint32_t i = 0; rc == ND_OK && i < e->instrument_count; i++)
        rc = nd_surv_pretrade_reserve(e->pretrade, 0, i);
    if (rc != ND_OK)
        snprintf(err, err_len, "pre-trade surveillance: %s", nd_strerror(rc));
    return rc;
}

nd_err_t nd_engine_start(nd_engine_t *e, char *err, size_t err_len)
{
    ND_ASSERT(e != NULL && !e->started);
    if (e->strategy_count == 0) {
        snprintf(err, err_len, "no strategy to run");
        return ND_EINVAL;
    }
    int64_t weights[ND_STRATEGIES_MAX], total = 0;
    for (uint32_t s = 0; s < e->strategy_count; s++) {
        weights[s] = e->strategies[s].weight_e6;
        total += weights[s];
    }
    if (total > 1000000) {
        snprintf(err, err_len, "strategy weights add up to more than 1");
        return ND_EINVAL;
    }
    nd_err_t rc = nd_portfolio_create(e->instruments, e->instrument_count, weights,
                                      e->strategy_count, e->cfg.initial_cash, &e->portfolio);
    if (rc != ND_OK) {
        snprintf(err, err_len, "portfolio: %s", nd_strerror(rc));
        return rc;
    }
    nd_portfolio_on_trade(e->portfolio, relay_trade, e);
    int64_t ext_per_cash = nd_pow10(nd_portfolio_ext_decimals(e->portfolio) - ND_CASH_DECIMALS);
    rc = nd_risk_init(&e->risk, &e->cfg.risk, ext_per_cash);
    if (rc != ND_OK) {
        snprintf(err, err_len, "risk limits out of range");
        return rc;
    }
    rc = start_pretrade(e, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd__engine_events_start(e);
    if (rc != ND_OK) {
        snprintf(err, err_len, "event buffers: %s", nd_strerror(rc));
        return rc;
    }
    rc = nd__engine_anomaly_start(e);
    if (rc != ND_OK) {
        snprintf(err, err_len, "anomaly model: %s (span, warm-up, bucket)", nd_strerror(rc));
        return rc;
    }
    e->now_ns = nd_clock_now_ns(e->clock);
    for (uint32_t s = 0; s < e->strategy_count; s++) {
        nd__strategy_slot_t *slot = &e->strategies[s];
        slot->state = nd_calloc(1, slot->def->state_size(slot->params));
        if (!slot->state)
            return ND_ENOMEM;
        slot->started = true; /* on_stop runs even if on_start fails part-way */
        rc = slot->def->on_start(slot->state, slot->params, slot->instrument_id, &slot->ctx);
        if (rc != ND_OK) {
            snprintf(err, err_len, "strategy %s failed to start: %s", slot->def->name,
                     nd_strerror(rc));
            return rc;
        }
    }
    e->started = true;
    return ND_OK;
}

/* Timers: a binary min-heap on (at_ns, seq). */
static bool timer_before(const nd__timer_t *a, const nd__timer_t *b)
{
    return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->seq < b->seq);
}

static void timer_sift_up(nd_engine_t *e, uint32_t i)
{
    nd__timer_t t = e->timers[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_before(&t, &e->timers[parent]))
            break;
        e->timers[i] = e->timers[parent];
        i = parent;
    }
    e->timers[i] = t;
}

static nd_err_t engine_set_timer(nd_strategy_ctx_t *ctx, int64_t at_ns, uint64_t timer_id)
{
    nd_engine_t *e = ctx->engine;
    if (at_ns < e->now_ns)
        return ND_EINVAL;
    if (e->timer_count >= ND_TIMERS_MAX)
        return ND_EFULL;
    uint32_t i = e->timer_count++;
    e->timers[i] = (nd__timer_t){at_ns, e->timer_seq++, ctx->strategy_index, timer_id};
    timer_sift_up(e, i);
    return ND_OK;
}

static nd__timer_t timer_pop(nd_engine_t *e)
{
    ND_ASSERT(e->timer_count > 0);
    nd__timer_t top = e->timers[0], last = e->timers[--e->timer_count];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= e->timer_count)
            break;
        if (child + 1 < e->timer_count && timer_before(&e->timers[child + 1], &e->timers[child]))
            child++;
        if (!timer_before(&e->timers[child], &last))
            break;
        e->timers[i] = e->timers[child];
        i = child;
    }
    e->timers[i] = last;
    return top;
}

void nd__engine_fire_timers(nd_engine_t *e)
{
    /* Bounded: a timer set from on_timer for "now" fires on the next event, not in this loop. */
    uint32_t budget = e->timer_count;
    while (budget-- > 0 && e->timer_count > 0 && e->timers[0].at_ns <= e->now_ns) {
        nd__timer_t t = timer_pop(e);
        nd__strategy_slot_t *slot = &e->strategies[t.strategy_index];
        if (slot->paused)
            nd__engine_timer_missed(slot, t.timer_id);
        else if (slot->def->on_timer)
            slot->def->on_timer(slot->state, e->now_ns, t.timer_id, &slot->ctx);
    }
}

void nd__engine_drop_timers(nd_engine_t *e, uint32_t s)
{
    uint32_t kept = 0;
    for (uint32_t k = 0; k < e->timer_count; k++)
        if (e->timers[k].strategy_index != s)
            e->timers[kept++] = e->timers[k];
    e->timer_count = kept;
    for (uint32_t k = 1; k < e->timer_count; k++) /* re-heap: (at, seq) order is total */
        timer_sift_up(e, k);
}

nd_err_t nd__engine_emit(nd_engine_t *e, nd_event_kind_t kind, const void *payload)
{
    /* Written in place in the ring: an event is copied once, from its payload. */
    nd_event_t *ev = nd_ring_slot(&e->events);
    if (!ev) {
        nd_err_t rc = nd__engine_flush(e);
        if (rc != ND_OK)
            return rc;
        ev = nd_ring_slot(&e->events);
        ND_ASSERT(ev != NULL);
    }
    ev->kind = kind;
    ev->ts_ns = e->now_ns;
    ev->halted = e->risk.halted || e->store_failed;
    switch (kind) {
    case ND_EVENT_ORDER:
    case ND_EVENT_ORDER_AMENDED: ev->u.order = *(const nd_order_t *)payload; break;
    case ND_EVENT_FILL: ev->u.fill = *(const nd_fill_t *)payload; break;
    case ND_EVENT_BREAKER: ev->u.breaker = *(const nd_breaker_event_t *)payload; break;
    }
    nd_ring_commit(&e->events);
    return ND_OK;
}

__attribute__((noinline)) nd_err_t nd__engine_flush(nd_engine_t *e)
{
    /* Each event is handed to the listener where it lies in the ring (taken off first, so a
     * flush can never deliver it twice). */
    const nd_event_t *ev;
    while ((ev = nd_ring_take(&e->events)) != NULL) {
        if (!e->listener.on_event || e->store_failed)
            continue;
        if (e->listener.on_event(e->listener.ctx, ev) != ND_OK) {
            /* Durability before acting: nothing more trades unrecorded. */
            e->store_failed = true;
            e->risk.halted = true;
            e->risk.halt_end_ns = INT64_MAX; /* no reset policy lifts this one */
        }
    }
    nd_ring_rewind(&e->events); /* the listener has returned: no event is being read */
    return e->store_failed ? ND_EIO : ND_OK;
}

nd_err_t nd__engine_step_done(nd_engine_t *e)
{
    if (nd_ring_count(&e->events) > 0 || e->store_failed)
        return nd__engine_flush(e);
    return ND_OK;
}

static nd_err_t book_fills(nd_engine_t *e, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        const nd_fill_t *f = &e->fill_buf[k];
        nd_err_t rc = nd_portfolio_apply_fill(e->portfolio, f);
        if (rc != ND_OK)
            return rc;
        e->stats.fills++;
        nd__engine_emit(e, ND_EVENT_FILL, f);
        nd_order_t *o = nd__engine_find_live(e, f->client_id);
        ND_ASSERT(o != NULL);
        nd__engine_surv_apply(e, o, ND_SURV_FILL, f->px, f->qty);
        nd__engine_emit(e, ND_EVENT_ORDER, o);
    }
    nd__engine_release_done(e);
    /* Strategies hear of their fills only once the whole batch is booked: an action taken in
     * on_fill (a cancel, a new order) must not release or reuse the pool slot of an order whose
     * fill later in the batch is not booked yet. The simulation harness found this. */
    for (size_t k = 0; k < count; k++) {
        const nd_fill_t *f = &e->fill_buf[k];
        if (f->strategy_index < e->strategy_count) {
            nd__strategy_slot_t *slot = &e->strategies[f->strategy_index];
            if (slot->def->on_fill)
                slot->def->on_fill(slot->state, f, &slot->ctx);
        }
    }
    return ND_OK;
}

static inline nd_err_t check_bar(nd_engine_t *e, const nd_bar_t *bar)
{
    if (bar->instrument_id >= e->instrument_count)
        return ND_EINVAL;
    int64_t ts = bar->ts_ns;
    if (__builtin_expect(e->stats.bars + e->stats.events == 0, 0))
        e->stats.first_ts_ns = ts;
    else if (ts < e->stats.last_ts_ns)
        return ND_EINVAL;
    int64_t *last = &e->last_bar_ns[bar->instrument_id];
    if (*last != 0) {
        /* The interval is the smallest gap seen, 0 before the first: gap - 1 < interval - 1
         * unsigned is both tests in one (0 - 1 is the largest uint64), and a gap of 0 (a bar
         * at the same time) is no gap. ts >= *last: ts >= last_ts_ns, which is >= every
         * instrument's last bar. */
        uint64_t gap = (uint64_t)ts - (uint64_t)*last;
        if (gap - 1 < (uint64_t)e->stats.interval_ns - 1)
            e->stats.interval_ns = (int64_t)gap;
    }
    *last = ts;
    e->stats.last_ts_ns = ts;
    e->stats.bars++;
    return ND_OK;
}

/* The bar's matching at its venue, when an order is working: the fills booked. Out of line,
 * so that a bar with no order keeps a small frame. An event-level venue has no on_bar. */
__attribute__((noinline)) static nd_err_t bar_venue_step(nd_engine_t *e, const nd_bar_t *bar)
{
    nd_exec_venue_t *venue = nd__engine_venue(e, bar->instrument_id);
    if (!venue->ops->on_bar || venue->ops->open_count(venue->self) == 0)
        return ND_OK;
    size_t count = 0;
    nd_err_t rc = venue->ops->on_bar(venue->self, bar, e->fill_buf, e->cfg.orders_max, &count);
    return rc == ND_OK ? book_fills(e, count) : rc;
}

nd_err_t nd__engine_on_breaker(nd_engine_t *e)
{
    const nd_risk_t *r = &e->risk;
    if (r->event_count > 0) {
        const nd_breaker_event_t *b = &r->events[r->event_count - 1];
        ND_LOG(ND_LOG_INFO, "event=breaker type=%s measured_e6=%lld threshold_pct_e2=%lld",
               nd_breaker_kind_name(b->kind), (long long)b->measured_e6,
               (long long)b->threshold_pct_e2);
        nd__engine_emit(e, ND_EVENT_BREAKER, b);
    }
    /* A trip: the strategies' orders go and every position gets its flattening order; those
     * already working (an earlier trip's) stay when they still match the position. */
    return nd__engine_ensure_flat(e);
}

/* The breaker step when a breaker tripped now or the engine is (or was) halted: the flattening,
 * the release, the ensure-flat follow-up. Out of line: a quiet bar never comes here. */
__attribute__((noinline)) static nd_err_t risk_step_halted(nd_engine_t *e, bool tripped,
                                                           bool was_halted)
{
    if (tripped) {
        nd_err_t rc = nd__engine_on_breaker(e);
        if (rc != ND_OK)
            return rc;
    } else if (was_halted && !e->risk.halted) {
        nd__engine_release_flatten(e); /* the reset policy lifted the halt */
    }
    if (e->risk.halted && !e->store_failed &&
        (e->live_count > 0 || nd_portfolio_has_positions(e->portfolio))) {
        /* Risk owns every position until it is flat: follow up partial fills and orders the
         * venue dropped. */
        return nd__engine_ensure_flat(e);
    }
    return ND_OK;
}

/* nd__engine_risk_step's body, inlined into the bar step: on a quiet bar (no trip, not halted
 * before or after) it is the equity read and the breakers' update, with no call frame and no
 * equity through memory. now_ns is e->now_ns, passed by a caller that holds it in a register
 * (gcc cannot tell that the stores of the mark leave it unchanged, and would read it again). */
static inline nd_err_t risk_step(nd_engine_t *e, int64_t now_ns, __int128 *equity_out)
{
    ND_DEBUG_ASSERT(now_ns == e->now_ns);
    __int128 equity = nd_portfolio_equity_ext(e->portfolio);
    bool was_halted = e->risk.halted;
    bool tripped = nd_risk_on_equity(&e->risk, now_ns, equity);
    /* A halted engine that is flat, with nothing working, has nothing to do here (the usual
     * state of a halted run): no call. */
    if (__builtin_expect(tripped | was_halted | e->risk.halted, 0) &&
        !(!tripped & was_halted & e->risk.halted && e->live_count == 0 &&
          !nd_portfolio_has_positions(e->portfolio))) {
        nd_err_t rc = risk_step_halted(e, tripped, was_halted);
        if (rc != ND_OK)
            return rc;
    }
    *equity_out = equity;
    return ND_OK;
}

nd_err_t nd__engine_risk_step(nd_engine_t *e, __int128 *equity_out)
{
    return risk_step(e, e->now_ns, equity_out);
}

/* A strategy's bar: the bar built-ins called directly when the slot's definition is one of them
 * (gcc can inline them under LTO: no indirect call per bar), any other strategy (a plugin, Lua)
 * through its definition's on_bar. The same functions either way. */
static inline void strategy_on_bar(nd__strategy_slot_t *slot, const nd_bar_t *bar)
{
    const nd_strategy_def_t *def = slot->def;
    if (def == &nd__strategy_sma_cross)
        nd__strategy_sma_cross_on_bar(slot->state, bar, &slot->ctx);
    else if (def == &nd__strategy_ema_momentum)
        nd__strategy_ema_momentum_on_bar(slot->state, bar, &slot->ctx);
    else if (def == &nd__strategy_mean_reversion)
        nd__strategy_mean_reversion_on_bar(slot->state, bar, &slot->ctx);
    else if (def == &nd__strategy_breakout)
        nd__strategy_breakout_on_bar(slot->state, bar, &slot->ctx);
    else if (def->on_bar)
        def->on_bar(slot->state, bar, &slot->ctx);
}

/* Every running strategy of the bar's instrument, in the order they were added. One strategy
 * (the usual backtest) without the loop. */
static inline void strategies_on_bar(nd_engine_t *e, const nd_bar_t *bar)
{
    if (e->strategy_count == 1) {
        nd__strategy_slot_t *slot = &e->strategies[0];
        if (slot->instrument_id == bar->instrument_id && !slot->paused)
            strategy_on_bar(slot, bar);
        return;
    }
    /* Strategies are only added before the start: the end is fixed for the loop. */
    nd__strategy_slot_t *end = e->strategies + e->strategy_count;
    for (nd__strategy_slot_t *slot = e->strategies; slot < end; slot++) {
        if (slot->instrument_id == bar->instrument_id && !slot->paused)
            strategy_on_bar(slot, bar);
    }
}

nd_err_t nd_engine_on_bar(nd_engine_t *e, const nd_bar_t *bar)
{
    ND_DEBUG_ASSERT(e->started);
    e->now_ns = nd_clock_now_ns(e->clock);
    nd_err_t rc = check_bar(e, bar);
    if (rc != ND_OK)
        return rc;
    if (e->timer_count > 0)
        nd__engine_fire_timers(e);
    /* live[] holds every working order of every venue: none there, nothing to match (and no
     * venue look-up or indirect call on the hot path). */
    if (e->live_count > 0 && (rc = bar_venue_step(e, bar)) != ND_OK)
        return rc;
    int64_t net_qty = 0; /* only the venue's on_bar above fills on the bar path */
    rc = nd_portfolio_mark(e->portfolio, bar->instrument_id, bar->close, &net_qty);
    if (rc != ND_OK)
        return rc; /* a position worth more than int64 cash units: stop, never cut */
    bool in_market = net_qty != 0;
    if (__builtin_expect(e->anomaly != NULL, 0) && (rc = nd__engine_anomaly_bar(e, bar)) != ND_OK)
        return rc;
    __int128 equity = 0;
    rc = risk_step(e, e->now_ns, &equity);
    if (rc != ND_OK)
        return rc;
    if (__builtin_expect(e->risk.halted, 0))
        e->stats.halted_bars++;
    strategies_on_bar(e, bar);
    e->stats.bars_in_market += in_market; /* apart from halted_bars: no vector add of two */
    if (e->listener.on_bar_done)
        e->listener.on_bar_done(e->listener.ctx, bar, equity, in_market);
    return nd__engine_step_done(e);
}

/* gcc only: no SLP vectorisation in the quiet run. With it (LTO inlines the mark and the breakers'
 * report here), gcc copies the __int128 equity the mark has just updated with two 64-bit stores
 * by one 16-byte vector load, which the store buffer cannot forward: a stall of a dozen cycles
 * or more on every bar in a position (the loop ran slower in wall-clock time with fewer
 * instructions). clang has no such attribute. */
#if defined(__GNUC__) && !defined(__clang__)
#define ND__NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define ND__NO_SLP
#endif

/* nd_engine_on_bars' quiet run: bars taken one after another while each needs only the quiet
 * step (no timer pending, no working order, the instrument known, time in order; the caller
 * checked the rest: no anomaly model, no event queued, a bar seen before). The clock
 * is set to each bar's time, and the time checks and bar counters are kept in locals and
 * written back once at the end; the mark, the breakers' report (risk_step, the trip path
 * included), the strategies, the listener and the flush are on_bar's own. Stops before the
 * first bar that needs the full step, or after a failed one (*rc; that bar counted in
 * stats.bars as on_bar counts it, but not done). Returns the bars done. */
ND__NO_SLP static size_t quiet_run(nd_engine_t *e, nd_clock_sim_t *clock, const nd_bar_t *bars,
                                   size_t count, nd_err_t *rc_out)
{
    nd_engine_stats_t *st = &e->stats;
    int64_t floor_ts = st->last_ts_ns > clock->_now_ns ? st->last_ts_ns : clock->_now_ns;
    int64_t interval = st->interval_ns, in_market_bars = st->bars_in_market;
    int64_t halted_bars = st->halted_bars;
    nd_err_t rc = ND_OK;
    size_t n = 0;
    for (; n < count; n++) {
        const nd_bar_t *bar = &bars[n];
        uint32_t id = bar->instrument_id;
        int64_t ts = bar->ts_ns;
        if ((e->live_count | e->timer_count) != 0 || id >= e->instrument_count || ts < floor_ts)
            break;
        clock->_now_ns = ts;
        e->now_ns = ts;
        int64_t *last = &e->last_bar_ns[id];
        uint64_t gap = (uint64_t)ts - (uint64_t)*last; /* as check_bar */
        if (*last != 0 && gap - 1 < (uint64_t)interval - 1)
            interval = (int64_t)gap;
        *last = ts;
        floor_ts = ts;
        int64_t net_qty = 0;
        rc = nd_portfolio_mark(e->portfolio, id, bar->close, &net_qty);
        __int128 equity = 0;
        if (rc != ND_OK || (rc = risk_step(e, ts, &equity)) != ND_OK)
            break;
        halted_bars += e->risk.halted;
        strategies_on_bar(e, bar);
        in_market_bars += net_qty != 0;
        if (e->listener.on_bar_done)
            e->listener.on_bar_done(e->listener.ctx, bar, equity, net_qty != 0);
        if ((rc = nd__engine_step_done(e)) != ND_OK)
            break;
    }
    /* A bar that failed after its checks was counted, as on_bar counts it. */
    int64_t counted = (int64_t)n + (rc != ND_OK);
    if (counted > 0) {
        st->last_ts_ns = floor_ts;
        st->interval_ns = interval;
        st->bars += counted;
        st->bars_in_market = in_market_bars;
        st->halted_bars = halted_bars;
    }
    *rc_out = rc;
    return n;
}

/* Not inlined into a caller: one call a batch, and a function profilers can name. */
__attribute__((noinline)) nd_err_t nd_engine_on_bars(nd_engine_t *e, nd_clock_sim_t *clock,
                                                     const nd_bar_t *bars, size_t count,
                                                     size_t *done)
{
    ND_ASSERT(e != NULL);
    ND_ASSERT(e->started);
    ND_ASSERT(clock != NULL);
    ND_ASSERT(&clock->clock == e->clock); /* the engine's own clock: its time is the bar's */
    ND_ASSERT(done != NULL);
    ND_ASSERT(bars != NULL || count == 0);
    size_t k = 0;
    nd_err_t rc = ND_OK;
    while (k < count && rc == ND_OK) {
        if (e->anomaly == NULL && !e->store_failed && nd_ring_count(&e->events) == 0 &&
            e->stats.bars + e->stats.events > 0)
            k += quiet_run(e, clock, bars + k, count - k, &rc);
        if (k == count || rc != ND_OK)
            break;
        /* The full step for a bar the quiet run does not take (or refused: on_bar says why). */
        if (nd_clock_sim_set(clock, bars[k].ts_ns) != ND_OK) {
            rc = ND_EINVAL;
            break;
        }
        if ((rc = nd_engine_on_bar(e, &bars[k])) == ND_OK)
            k++;
    }
    *done = k;
    return rc;
}

nd_err_t nd_engine_kill(nd_engine_t *e)
{
    ND_ASSERT(e != NULL && e->started);
    nd_risk_kill(&e->risk, e->now_ns, nd_portfolio_equity_ext(e->portfolio));
    nd_err_t rc = nd__engine_on_breaker(e);
    nd_err_t frc = nd__engine_flush(e);
    return rc != ND_OK ? rc : frc;
}

nd_err_t nd_engine_release(nd_engine_t *e)
{
    ND_ASSERT(e != NULL && e->started);
    if (!e->risk.halted || e->store_failed)
        return e->store_failed ? ND_EIO : ND_OK; /* a store failure is not an operator's to lift */
    nd_risk_release(&e->risk);
    nd__engine_release_flatten(e);
    ND_LOG(ND_LOG_INFO, "event=halt_released by=operator");
    return nd__engine_flush(e);
}

nd_err_t nd_engine_data_integrity_fail(nd_engine_t *e, int64_t measured_e6)
{
    return nd_engine_data_integrity_fail_input(e, ND_INTEGRITY_UNSPECIFIED, measured_e6);
}

nd_err_t nd_engine_data_integrity_fail_input(nd_engine_t *e, nd_integrity_input_t input,
                                             int64_t measured_e6)
{
    ND_ASSERT(e != NULL && e->started);
    ND_ASSERT(measured_e6 >= 0);
    if (e->risk.halted && e->risk.halt_kind == ND_BREAKER_DATA_INTEGRITY)
        return ND_OK;
    nd_risk_data_integrity_fail_input(&e->risk, e->now_ns, nd_portfolio_equity_ext(e->portfolio),
                                      input, measured_e6);
    nd_err_t rc = nd__engine_on_breaker(e);
    nd_err_t frc = nd__engine_flush(e);
    return rc != ND_OK ? rc : frc;
}

nd_err_t nd_engine_feed_check(nd_engine_t *e, const nd_feed_monitor_t *monitor,
                              const nd_refprice_result_t *ref, nd_feed_verdict_t *verdict)
{
    ND_ASSERT(e != NULL && e->started && monitor != NULL);
    e->now_ns = nd_clock_now_ns(e->clock);
    nd_feed_verdict_t v;
    bool failed = nd_feed_monitor_check(monitor, e->now_ns, ref, &v);
    if (verdict)
        *verdict = v;
    if (!failed)
        return ND_OK;
    return nd_engine_data_integrity_fail_input(e, v.input, v.measured_e6 < 0 ? 0 : v.measured_e6);
}

const nd_engine_stats_t *nd_engine_stats(const nd_engine_t *e)
{
    return &e->stats;
}

nd_portfolio_t *nd_engine_portfolio(const nd_engine_t *e)
{
    return e->portfolio;
}

const nd_risk_t *nd_engine_risk(const nd_engine_t *e)
{
    return &e->risk;
}

const nd_instrument_t *nd_engine_instrument(const nd_engine_t *e, uint32_t instrument_id)
{
    ND_ASSERT(instrument_id < e->instrument_count);
    return &e->instruments[instrument_id];
}

uint32_t nd_engine_strategy_count(const nd_engine_t *e)
{
    return e->strategy_count;
}

const nd_strategy_def_t *nd_engine_strategy_def(const nd_engine_t *e, uint32_t strategy_index)
{
    ND_ASSERT(strategy_index < e->strategy_count);
    return e->strategies[strategy_index].def;
}

const double *nd_engine_strategy_params(const nd_engine_t *e, uint32_t strategy_index)
{
    ND_ASSERT(strategy_index < e->strategy_count);
    return e->strategies[strategy_index].params;
}

int64_t nd_engine_rejects(const nd_engine_t *e, nd_reject_t reason)
{
    ND_ASSERT((int)reason >= 0 && (int)reason < ND_REJECT_SLOTS);
    return e->rejects[reason];
}
