/* simtest.c: the deterministic simulation harness (see simtest.h): draws a world from a seed, runs the
 * engine through it with chaos strategies and an operator, keeps an independent ledger from the
 * engine's events, and checks the invariants after every event.
 *
 * Everything random comes from one xoshiro stream seeded by the run's seed (the strategies get
 * seeds drawn from it), in a fixed order, so a seed replays byte for byte. */
#include "noderr/simtest.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/engine.h"
#include "noderr/fixed.h"
#include "noderr/rand.h"
#include "noderr/sim_venue.h"
#include "simtest_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void nd__simtest_broke(sim_t *s, const char *invariant, const char *fmt, ...)
{
    if (s->broken)
        return; /* the first broken invariant is the one reported */
    s->broken = true;
    nd_simtest_report_t *r = s->report;
    r->passed = false;
    snprintf(r->invariant, sizeof r->invariant, "%s", invariant);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    r->event_index = s->bar_index;
    r->ts_ns = s->now_ns;
}


double nd__simtest_uniform(sim_t *s, double lo, double hi)
{
    return lo + (hi - lo) * nd_rand_uniform(&s->rng);
}

bool nd__simtest_chance(sim_t *s, double p)
{
    return nd_rand_uniform(&s->rng) < p;
}

/* ---- the world ---------------------------------------------------------------------------- */

static const char *const symbols[SIM_INSTRUMENTS_MAX] = {"BTC/USDT", "ETH/USDT", "SOL/USDT"};

static void draw_instruments(sim_t *s)
{
    s->inst_count = 1 + (uint32_t)nd_rand_below(&s->rng, SIM_INSTRUMENTS_MAX);
    for (uint32_t i = 0; i < s->inst_count; i++) {
        nd_instrument_t *in = &s->inst[i];
        nd_err_t rc = nd_instrument_init(in, symbols[i], "sim");
        ND_ASSERT(rc == ND_OK);
        in->id = i;
        in->px_decimals = 2 + (int)nd_rand_below(&s->rng, 7);
        /* The portfolio needs px + qty decimals >= the cash scale (8). */
        int qty_min = 8 - in->px_decimals > 3 ? 8 - in->px_decimals : 3;
        in->qty_decimals = qty_min + (int)nd_rand_below(&s->rng, (uint64_t)(9 - qty_min));
        in->tick_size = nd_pow10((int)nd_rand_below(&s->rng, (uint64_t)in->px_decimals));
        in->lot_size = nd_pow10((int)nd_rand_below(&s->rng, 3));
        in->min_notional = (int64_t)nd_rand_below(&s->rng, 11) * nd_pow10(ND_CASH_DECIMALS);
        s->px[i] = exp(nd__simtest_uniform(s, log(1.0), log(50000.0)));
        s->vol[i] = nd__simtest_uniform(s, 0.002, 0.03);
    }
}

static nd_breaker_reset_t draw_reset(sim_t *s)
{
    switch (nd_rand_below(&s->rng, 3)) {
    case 0: return (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    case 1: return (nd_breaker_reset_t){ND_BREAKER_RESET_NEXT_DAY, 0};
    default:
        return (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER,
                                    (int64_t)(1 + nd_rand_below(&s->rng, 48)) * ND_NS_PER_HOUR};
    }
}

/* A limit that is off one time in five, else within [lo, hi] hundredths of a percent. */
static int64_t draw_pct(sim_t *s, int64_t lo, int64_t hi)
{
    if (nd__simtest_chance(s, 0.2))
        return 0;
    return lo + (int64_t)nd_rand_below(&s->rng, (uint64_t)(hi - lo + 1));
}

static void draw_config(sim_t *s, nd_engine_config_t *cfg)
{
    nd_engine_config_default(cfg);
    cfg->initial_cash = (int64_t)exp(nd__simtest_uniform(s, log(1000.0), log(1e6))) * nd_pow10(ND_CASH_DECIMALS);
    if (nd__simtest_chance(s, 0.7)) {
        cfg->sizing = (nd_sizing_t){ND_SIZING_PERCENT, 100 + (int64_t)nd_rand_below(&s->rng, 9901), 0};
    } else {
        cfg->sizing = (nd_sizing_t){ND_SIZING_FIXED, 0,
                                    s->inst[0].lot_size * (int64_t)(1 + nd_rand_below(&s->rng, 1000))};
    }
    cfg->allow_short = nd__simtest_chance(s, 0.5);
    cfg->orders_max = 64 + (uint32_t)nd_rand_below(&s->rng, 193);
    cfg->venue.maker_fee_bps_e2 = (int64_t)nd_rand_below(&s->rng, 5001);
    cfg->venue.taker_fee_bps_e2 = (int64_t)nd_rand_below(&s->rng, 5001);
    cfg->venue.slippage_bps_e2 = nd__simtest_chance(s, 0.5) ? 0 : (int64_t)nd_rand_below(&s->rng, 5001);
    cfg->venue.impact_bps_e2 = nd__simtest_chance(s, 0.5) ? 0 : (int64_t)nd_rand_below(&s->rng, 10001);
    cfg->venue.max_volume_share_e4 = 100 + (int64_t)nd_rand_below(&s->rng, 9901);
    cfg->risk.max_position_pct_e2 = draw_pct(s, 500, 10000);
    cfg->risk.max_drawdown_pct_e2 = draw_pct(s, 200, 3000);
    cfg->risk.daily_loss_pct_e2 = draw_pct(s, 100, 1500);
    cfg->risk.price_collar_pct_e2 = draw_pct(s, 100, 2000);
    cfg->risk.orders_per_sec_max = nd__simtest_chance(s, 0.2) ? 0 : 1 + (int64_t)nd_rand_below(&s->rng, 50);
    cfg->risk.drawdown_reset = draw_reset(s);
    cfg->risk.daily_loss_reset = draw_reset(s);
}

/* The anomaly breaker, in one world in three, drawn from its own stream (the seed's other draws,
 * and so every world drawn before the breaker existed, stay as they were): a threshold from 0.5
 * to 0.99, a short memory (8-24 observations, warm after 1-2 memories) so the crashes of a
 * 300-bar world trip it, and a reset policy. Event-level worlds last seconds to minutes: their
 * buckets are 10 ms to 1 s and the calm window 200-2,000 buckets, so the breaker can trip on
 * the synthetic market's own moves. */
static void draw_anomaly(sim_t *s, nd_engine_config_t *cfg)
{
    nd_rand_t rng;
    nd_rand_init(&rng, s->report->seed ^ 0x616e6f6d616c79ULL); /* "anomaly" */
    if (nd_rand_below(&rng, 3) != 0)
        return;
    cfg->risk.anomaly_threshold_e6 = 500000 + (int64_t)nd_rand_below(&rng, 490001);
    cfg->anomaly.span = 8 + (uint32_t)nd_rand_below(&rng, 17);
    cfg->anomaly.warmup = cfg->anomaly.span * (1 + (uint32_t)nd_rand_below(&rng, 2));
    if (s->events_world) {
        cfg->anomaly_bucket_ns = (1 + (int64_t)nd_rand_below(&rng, 100)) * 10 * ND_NS_PER_MS;
        cfg->anomaly.window_ns = cfg->anomaly_bucket_ns * (200 + (int64_t)nd_rand_below(&rng, 1801));
    }
    if (nd_rand_below(&rng, 2) == 0)
        cfg->risk.anomaly_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER,
                                                       (1 + (int64_t)nd_rand_below(&rng, 48)) *
                                                           ND_NS_PER_HOUR};
}

static nd_err_t add_strategies(sim_t *s, char *err, size_t err_len)
{
    s->strat_count = 1 + (uint32_t)nd_rand_below(&s->rng, SIM_STRATEGIES_MAX);
    for (uint32_t k = 0; k < s->strat_count; k++) {
        uint32_t i = (uint32_t)nd_rand_below(&s->rng, s->inst_count);
        double params[ND_STRATEGY_PARAMS_MAX] = {0};
        params[ND_SIMTEST_P_SEED] = (double)(nd_rand_next(&s->rng) >> 11); /* 53 bits: exact */
        params[ND_SIMTEST_P_INSTRUMENTS] = s->inst_count;
        params[ND_SIMTEST_P_TICK] = (double)s->inst[i].tick_size;
        params[ND_SIMTEST_P_LOT] = (double)s->inst[i].lot_size;
        params[ND_SIMTEST_P_ACTIVITY] = nd__simtest_uniform(s, 0.05, 0.9);
        nd_err_t rc = nd_engine_add_strategy(s->engine, &nd__simtest_chaos_strategy, params, i,
                                             1000000 / s->strat_count, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

/* ---- the ledger: the engine's events, booked independently -------------------------------- */

static sim_order_t *order_at(sim_t *s, uint64_t client_id)
{
    if (client_id >= s->order_cap) {
        uint64_t cap = s->order_cap ? s->order_cap : 256;
        while (cap <= client_id)
            cap *= 2;
        sim_order_t *grown = nd_realloc(s->orders, cap * sizeof *grown);
        if (!grown) {
            s->failure = ND_ENOMEM;
            return NULL;
        }
        memset(grown + s->order_cap, 0, (cap - s->order_cap) * sizeof *grown);
        s->orders = grown;
        s->order_cap = cap;
    }
    return &s->orders[client_id];
}

/* The first the ledger hears of an order it will see fill: shown NEW (sent to a venue with
 * latency) or ACCEPTED (a venue that answers at once). A strategy order must not be sent while
 * trading is halted; a flattening order covers what it will trade from then on. */
static void order_known(sim_t *s, sim_order_t *so, const nd_event_t *ev)
{
    const nd_order_t *o = &ev->u.order;
    so->qty = o->qty;
    so->strategy = o->strategy_index;
    so->instrument = o->instrument_id;
    so->side = o->side;
    so->risk_flatten = o->risk_flatten;
    s->report->flatten_orders += o->risk_flatten;
    if (o->risk_flatten)
        s->cover[o->strategy_index][o->instrument_id] += o->side == ND_SIDE_BUY ? o->qty : -o->qty;
    if (!o->risk_flatten && ev->halted)
        nd__simtest_broke(s, "halted", "strategy %u's order %llu was %s while trading was halted",
                          o->strategy_index, (unsigned long long)o->client_id,
                          o->status == ND_ORDER_NEW ? "sent" : "accepted");
}

/* An order that will not trade any more: a flattening order no longer covers its rest. */
static void order_done(sim_t *s, sim_order_t *so)
{
    so->done = true;
    if (so->risk_flatten)
        s->cover[so->strategy][so->instrument] -=
            so->side == ND_SIDE_BUY ? so->qty - so->filled : so->filled - so->qty;
}

static void on_order(sim_t *s, const nd_event_t *ev)
{
    const nd_order_t *o = &ev->u.order;
    sim_order_t *so = order_at(s, o->client_id);
    if (!so)
        return;
    if (o->status == ND_ORDER_NEW) {
        if (so->sent || so->accepted)
            nd__simtest_broke(s, "fills", "order %llu sent twice", (unsigned long long)o->client_id);
        so->sent = true;
        order_known(s, so, ev);
        return;
    }
    if (o->status == ND_ORDER_ACCEPTED) {
        if (so->accepted)
            nd__simtest_broke(s, "fills", "order %llu accepted twice",
                              (unsigned long long)o->client_id);
        so->accepted = true;
        s->report->orders_accepted++;
        if (!so->sent)
            order_known(s, so, ev);
        return;
    }
    if (o->status == ND_ORDER_REJECTED) {
        s->report->orders_rejected++;
        if (so->sent && !so->done)
            order_done(s, so); /* refused by the venue after it was sent */
        return;
    }
    if (nd_order_is_done(o) && (so->accepted || so->sent) && !so->done)
        order_done(s, so);
}

/* An amend applies to a working strategy order, never below what it filled, never while
 * halted (it is a new commitment), never to a flattening order. */
static void on_amended(sim_t *s, const nd_event_t *ev)
{
    const nd_order_t *o = &ev->u.order;
    sim_order_t *so = order_at(s, o->client_id);
    if (!so)
        return;
    s->report->amends++;
    if (!so->accepted || so->done || so->risk_flatten) {
        nd__simtest_broke(s, "fills", "order %llu amended although it %s", (unsigned long long)o->client_id,
              !so->accepted ? "was never accepted"
              : so->done    ? "was done"
                            : "is a flattening order");
        return;
    }
    /* With latency the answer to an amend asked for before a halt may come during it. */
    if (ev->halted && !s->events_world)
        nd__simtest_broke(s, "halted", "strategy %u's order %llu was amended while trading was halted",
              o->strategy_index, (unsigned long long)o->client_id);
    if (o->qty <= so->filled)
        nd__simtest_broke(s, "fills", "order %llu amended to %lld, below its fills %lld",
              (unsigned long long)o->client_id, (long long)o->qty, (long long)so->filled);
    so->qty = o->qty;
}

static void on_fill(sim_t *s, const nd_fill_t *f)
{
    sim_order_t *so = order_at(s, f->client_id);
    if (!so)
        return;
    s->report->fills++;
    if (!so->accepted || so->done) {
        nd__simtest_broke(s, "fills", "a fill of %lld for order %llu, which the venue %s", (long long)f->qty,
              (unsigned long long)f->client_id, so->accepted ? "had finished" : "never accepted");
        return;
    }
    if (f->qty <= 0 || so->filled + f->qty > so->qty) {
        nd__simtest_broke(s, "fills", "order %llu overfilled: %lld + %lld of %lld", (unsigned long long)f->client_id,
              (long long)so->filled, (long long)f->qty, (long long)so->qty);
        return;
    }
    if (f->strategy_index != so->strategy || f->instrument_id != so->instrument || f->side != so->side) {
        nd__simtest_broke(s, "fills", "fill of order %llu names another strategy, instrument or side",
              (unsigned long long)f->client_id);
        return;
    }
    int64_t notional = 0;
    if (nd_notional(&s->inst[f->instrument_id], f->px, f->qty, &notional) != ND_OK ||
        notional != f->notional) {
        nd__simtest_broke(s, "fills", "fill of order %llu: notional %lld is not px x qty (%lld)",
              (unsigned long long)f->client_id, (long long)f->notional, (long long)notional);
        return;
    }
    so->filled += f->qty;
    int sign = f->side == ND_SIDE_BUY ? 1 : -1;
    if (so->risk_flatten)
        s->cover[f->strategy_index][f->instrument_id] -= sign * f->qty;
    s->cash -= (__int128)sign * f->notional + f->fee;
    s->pos[f->strategy_index][f->instrument_id] += sign * f->qty;
}

static nd_err_t sim_on_event(void *ctx, const nd_event_t *ev)
{
    sim_t *s = ctx;
    /* Recorded first, as a live session would: a write that fails halts trading. */
    if (s->recorder) {
        nd_err_t rc = nd_recorder_on_event(s->recorder, ev);
        if (rc != ND_OK)
            return rc;
    }
    switch (ev->kind) {
    case ND_EVENT_ORDER: on_order(s, ev); break;
    case ND_EVENT_ORDER_AMENDED: on_amended(s, ev); break;
    case ND_EVENT_FILL: on_fill(s, &ev->u.fill); break;
    case ND_EVENT_BREAKER:
        s->report->trips++;
        s->report->anomaly_trips += ev->u.breaker.kind == ND_BREAKER_ANOMALY;
        break;
    }
    return ND_OK;
}

static void sim_on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity_ext, bool in_market)
{
    sim_t *s = ctx;
    nd_recorder_on_bar_done(s->recorder, bar, equity_ext, in_market);
}

/* ---- the invariants after every event ----------------------------------------------------- */

static void check_equity(sim_t *s)
{
    nd_portfolio_t *p = nd_engine_portfolio(s->engine);
    int ext = nd_portfolio_ext_decimals(p);
    __int128 equity = s->cash * nd_pow10(ext - ND_CASH_DECIMALS);
    for (uint32_t i = 0; i < s->inst_count; i++) {
        int64_t net = 0;
        for (uint32_t k = 0; k < s->strat_count; k++) {
            int64_t have = nd_portfolio_position(p, k, i)->qty;
            if (have != s->pos[k][i]) {
                nd__simtest_broke(s, "equity", "strategy %u on %s holds %lld, the fills add up to %lld", k,
                      s->inst[i].symbol, (long long)have, (long long)s->pos[k][i]);
                return;
            }
            net += s->pos[k][i];
        }
        int mult = ext - s->inst[i].px_decimals - s->inst[i].qty_decimals;
        equity += (__int128)net * s->mark[i] * nd_pow10(mult);
    }
    if (equity != nd_portfolio_equity_ext(p))
        nd__simtest_broke(s, "equity", "cash + positions x marks = %.0f, the engine says %.0f (10^-%d)",
              (double)equity, (double)nd_portfolio_equity_ext(p), ext);
}

/* A venue refused a flattening order or failed a cancel on this event. */
static bool venue_fault_now(const sim_t *s)
{
    for (uint32_t v = 0; v < s->venue_count; v++)
        if (s->venues[v].flatten_refused_at == s->bar_index ||
            s->venues[v].cancel_failed_at == s->bar_index)
            return true;
    return false;
}

static void check_flatten(sim_t *s)
{
    const nd_risk_t *risk = nd_engine_risk(s->engine);
    /* With latency the engine waits for the answers to its cancels before it sends again, so
     * the cover is exact only between answers: event-level worlds are held to the end state
     * (flat after the drain) and to no strategy order sent while halted. */
    if (!risk->halted || s->events_world)
        return;
    for (uint32_t k = 0; k < s->strat_count; k++) {
        for (uint32_t i = 0; i < s->inst_count; i++) {
            int64_t covered = s->cover[k][i];
            /* A flattening order the venue refused on this event is sent again after the next
             * one, and orders whose cancel failed keep working until a cancel goes through;
             * until then the cover may be off. (The drain proves it is made good.) */
            if (venue_fault_now(s))
                continue;
            if (s->pos[k][i] + covered != 0) {
                nd__simtest_broke(s, "flatten", "halted by %s: strategy %u holds %lld on %s, flattening "
                      "orders cover %lld", nd_breaker_kind_name(risk->halt_kind), k,
                      (long long)s->pos[k][i], s->inst[i].symbol, (long long)-covered);
                return;
            }
        }
    }
}

static void add_attribution(nd_attribution_t *sum, const nd_attribution_t *a)
{
    sum->realized += a->realized;
    sum->unrealized += a->unrealized;
    sum->fees += a->fees;
    sum->net += a->net;
}

static void check_attribution(sim_t *s)
{
    nd_portfolio_t *p = nd_engine_portfolio(s->engine);
    nd_attribution_t a, total_s = {0}, total_i = {0}, venue;
    for (uint32_t k = 0; k < s->strat_count; k++) {
        nd_portfolio_by_strategy(p, k, &a);
        add_attribution(&total_s, &a);
    }
    for (uint32_t i = 0; i < s->inst_count; i++) {
        nd_portfolio_by_instrument(p, i, &a);
        add_attribution(&total_i, &a);
    }
    nd_attribution_t one;
    memset(&venue, 0, sizeof venue);
    for (uint32_t v = 0; v < s->venue_count; v++) {
        nd_portfolio_by_venue(p, s->venue_execs[v].facts.name, &one);
        add_attribution(&venue, &one);
    }
    if (total_s.net != total_i.net || total_s.net != venue.net || total_s.fees != venue.fees ||
        total_i.realized != venue.realized || total_s.unrealized != total_i.unrealized ||
        venue.fees != nd_portfolio_fees(p))
        nd__simtest_broke(s, "attribution", "net by strategy %lld, by instrument %lld, by venue %lld; fees "
              "%lld / %lld / %lld", (long long)total_s.net, (long long)total_i.net,
              (long long)venue.net, (long long)total_s.fees, (long long)total_i.fees,
              (long long)nd_portfolio_fees(p));
}

void nd__simtest_check_all(sim_t *s)
{
    char why[256];
    if (s->failure != ND_OK)
        return;
    check_equity(s);
    check_flatten(s);
    check_attribution(s);
    if (!s->broken && !nd_portfolio_check(nd_engine_portfolio(s->engine), why, sizeof why))
        nd__simtest_broke(s, "portfolio", "%s", why);
}

/* ---- the market and the operator ---------------------------------------------------------- */

int64_t nd__simtest_to_units(const nd_instrument_t *in, double px)
{
    double units = px * (double)nd_pow10(in->px_decimals);
    int64_t v = (int64_t)llround(units);
    v -= v % in->tick_size;
    return v > in->tick_size ? v : in->tick_size;
}

/* One bar of instrument i at ts: a random walk with regime switches, crashes and gaps, zero or
 * thin volume sometimes; liquid (a huge volume, no jump) during the drain. */
static nd_bar_t next_bar(sim_t *s, uint32_t i, int64_t ts, bool drain)
{
    const nd_instrument_t *in = &s->inst[i];
    if (!drain && nd__simtest_chance(s, 0.01))
        s->vol[i] = nd__simtest_uniform(s, 0.002, 0.05);
    double open = s->px[i];
    double ret = s->vol[i] * nd_rand_normal(&s->rng);
    if (!drain && nd__simtest_chance(s, 0.004))
        ret += nd__simtest_uniform(s, -0.6, -0.15); /* a crash */
    else if (!drain && nd__simtest_chance(s, 0.004))
        ret += nd__simtest_uniform(s, 0.1, 0.4);
    double close = open * exp(ret);
    if (close < 1e-4)
        close = 1e-4;
    double hi = fmax(open, close) * (1 + fabs(nd_rand_normal(&s->rng)) * s->vol[i] * 0.5);
    double lo = fmin(open, close) * (1 - fmin(0.9, fabs(nd_rand_normal(&s->rng)) * s->vol[i] * 0.5));
    s->px[i] = close;
    nd_bar_t b = {ts, nd__simtest_to_units(in, open), nd__simtest_to_units(in, hi), nd__simtest_to_units(in, lo), nd__simtest_to_units(in, close),
                  0, i, 0};
    if (b.high < b.open || b.high < b.close)
        b.high = b.open > b.close ? b.open : b.close;
    if (b.low > b.open || b.low > b.close)
        b.low = b.open < b.close ? b.open : b.close;
    double units = drain ? 1e12 : nd__simtest_chance(s, 0.03) ? 0 : exp(nd__simtest_uniform(s, log(1.0), log(1e6)));
    b.volume = (int64_t)(units * (double)in->lot_size);
    return b;
}

void nd__simtest_operator_acts(sim_t *s)
{
    const nd_risk_t *risk = nd_engine_risk(s->engine);
    nd_err_t rc = ND_OK;
    if (nd__simtest_chance(s, 0.002)) {
        rc = nd_engine_kill(s->engine);
    } else if (nd__simtest_chance(s, 0.002)) {
        rc = nd_engine_data_integrity_fail(s->engine, (int64_t)nd_rand_below(&s->rng, 1000000));
    } else if (risk->halted && nd__simtest_chance(s, 0.01)) {
        rc = nd_engine_release(s->engine);
        s->report->releases++;
    }
    if (rc != ND_OK)
        nd__simtest_broke(s, "engine", "an operator action failed: %s", nd_strerror(rc));
}

static void step(sim_t *s, const nd_bar_t *b)
{
    s->now_ns = b->ts_ns;
    if (nd_clock_sim_set(&s->clock, b->ts_ns) != ND_OK) {
        nd__simtest_broke(s, "engine", "time went backwards");
        return;
    }
    nd_err_t rc = nd_engine_on_bar(s->engine, b);
    if (rc != ND_OK) {
        nd__simtest_broke(s, "engine", "a bar failed: %s%s%s", nd_strerror(rc),
                          s->recorder ? "; the recorder: " : "",
                          s->recorder ? nd_recorder_error(s->recorder) : "");
        return;
    }
    s->mark[b->instrument_id] = b->close;
    s->report->events++;
    nd__simtest_check_all(s);
}

/* ---- the run ------------------------------------------------------------------------------ */

static nd_err_t build(sim_t *s, char *err, size_t err_len)
{
    draw_instruments(s);
    nd_engine_config_t cfg;
    draw_config(s, &cfg);
    s->events_world = nd__simtest_chance(s, 1.0 / 3.0);
    draw_anomaly(s, &cfg);
    nd_err_t rc = s->events_world ? nd__simtest_event_venues(s, &cfg)
                                  : nd__simtest_bar_venue(s, &cfg);
    if (rc != ND_OK) {
        snprintf(err, err_len, "simulated venue: %s", nd_strerror(rc));
        return rc;
    }
    nd_clock_sim_init(&s->clock, 1577836800LL * ND_NS_PER_SEC);
    rc = nd_engine_create(&cfg, s->inst, s->inst_count, &s->clock.clock, &s->engine, err,
                          err_len);
    if (rc == ND_OK)
        rc = add_strategies(s, err, err_len);
    if (rc == ND_OK)
        rc = nd__simtest_audit_open(s, err, err_len);
    if (rc == ND_OK && s->events_world)
        rc = nd__simtest_ticks_open(s, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_engine_listener_t l = {sim_on_event, s->recorder ? sim_on_bar_done : NULL, NULL, s};
    nd_engine_set_listener(s->engine, &l);
    s->cash = cfg.initial_cash;
    return nd_engine_start(s->engine, err, err_len);
}

static void run(sim_t *s, int64_t events)
{
    int64_t ts = 1577836800LL * ND_NS_PER_SEC;
    int64_t interval = nd__simtest_chance(s, 0.5) ? ND_NS_PER_HOUR : 15 * ND_NS_PER_MIN;
    for (s->bar_index = 0; s->bar_index < events && !s->broken; ts += interval) {
        for (uint32_t i = 0; i < s->inst_count && s->bar_index < events && !s->broken; i++) {
            nd_bar_t b = next_bar(s, i, ts, false);
            step(s, &b);
            s->bar_index++;
            if (!s->broken)
                nd__simtest_operator_acts(s);
        }
    }
    /* The drain: liquid bars and a venue without faults until the engine is flat or a halt has
     * been lifted. A run that is still halted at the end must be flat. */
    s->venues[0].quiet = true;
    for (int round = 0; round < SIM_DRAIN_ROUNDS && !s->broken; round++, ts += interval) {
        if (!nd_engine_risk(s->engine)->halted || !nd_portfolio_has_positions(
                nd_engine_portfolio(s->engine)))
            break;
        for (uint32_t i = 0; i < s->inst_count && !s->broken; i++) {
            nd_bar_t b = next_bar(s, i, ts, true);
            step(s, &b);
            s->bar_index++;
        }
    }
    if (!s->broken && nd_engine_risk(s->engine)->halted &&
        nd_portfolio_has_positions(nd_engine_portfolio(s->engine)))
        nd__simtest_broke(s, "flatten", "still halted and not flat after %d liquid bars",
                          SIM_DRAIN_ROUNDS);
}

static void summarise(const sim_t *s, nd_simtest_report_t *out)
{
    out->instruments = s->inst_count;
    out->strategies = s->strat_count;
    out->halted_bars = nd_engine_stats(s->engine)->halted_bars;
    out->events_world = s->events_world;
    for (uint32_t v = 0; v < s->venue_count; v++) {
        out->venue_refusals += s->venues[v].refused;
        out->cancels_failed += s->venues[v].cancels_failed;
        out->reordered += s->venues[v].reordered;
    }
}

nd_err_t nd_simtest_run(const nd_simtest_config_t *cfg, nd_simtest_report_t *out, char *err,
                        size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    if (cfg->events <= 0) {
        snprintf(err, err_len, "events must be positive");
        return ND_EINVAL;
    }
    memset(out, 0, sizeof *out);
    out->seed = cfg->seed;
    out->passed = true;
    out->event_index = -1;
    sim_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->report = out;
    nd_rand_init(&s->rng, cfg->seed);
    nd_err_t rc = build(s, err, err_len);
    if (rc == ND_OK) {
        if (s->events_world)
            nd__simtest_ticks_run(s, cfg->events);
        else
            run(s, cfg->events);
        nd__simtest_audit_check(s);
        summarise(s, out);
        rc = s->failure;
    }
    /* The engine first: it calls into the venues and the recorder while it goes. */
    nd_engine_destroy(s->engine);
    nd__simtest_audit_close(s);
    nd__simtest_ticks_close(s);
    nd_free(s->orders);
    nd_free(s);
    return rc;
}

json_t *nd_simtest_report_json(const nd_simtest_report_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(o, "passed", json_boolean(r->passed));
    json_object_set_new(o, "invariant", r->passed ? json_null() : json_string(r->invariant));
    json_object_set_new(o, "detail", r->passed ? json_null() : json_string(r->detail));
    json_object_set_new(o, "event", r->passed ? json_null() : json_integer(r->event_index));
    json_object_set_new(o, "ts_ns", r->passed ? json_null() : json_integer(r->ts_ns));
    json_object_set_new(o, "instruments", json_integer(r->instruments));
    json_object_set_new(o, "strategies", json_integer(r->strategies));
    json_object_set_new(o, "events", json_integer(r->events));
    json_object_set_new(o, "orders_accepted", json_integer(r->orders_accepted));
    json_object_set_new(o, "orders_rejected", json_integer(r->orders_rejected));
    json_object_set_new(o, "fills", json_integer(r->fills));
    json_object_set_new(o, "breaker_trips", json_integer(r->trips));
    json_object_set_new(o, "operator_releases", json_integer(r->releases));
    json_object_set_new(o, "halted_bars", json_integer(r->halted_bars));
    json_object_set_new(o, "flatten_orders", json_integer(r->flatten_orders));
    json_object_set_new(o, "amends", json_integer(r->amends));
    json_object_set_new(o, "venue_refusals", json_integer(r->venue_refusals));
    json_object_set_new(o, "cancels_failed", json_integer(r->cancels_failed));
    json_object_set_new(o, "reordered", json_integer(r->reordered));
    json_object_set_new(o, "world", json_string(r->events_world ? "events" : "bars"));
    json_object_set_new(o, "audit_records", json_integer(r->records));
    json_object_set_new(o, "anomaly_trips", json_integer(r->anomaly_trips));
    return o;
}
