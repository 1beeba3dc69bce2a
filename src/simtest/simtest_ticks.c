/* simtest_ticks.c: the harness's event-level worlds. Each instrument gets a seeded synthetic
 * market of trades and L2 book deltas (nd_synth_ticks) and its own L2 simulator with latency
 * behind the faulty venue; the streams are merged by the engine's tie rule (time, then source =
 * instrument, then order), and now and then a venue goes down and comes back (a venue status
 * event: the simulator refuses every request meanwhile). The invariants are checked after every
 * event, and the drain (a quiet venue, every venue up) runs until the engine is flat or the halt
 * is lifted. */
#include "simtest_int.h"

#include "noderr/assert.h"
#include "noderr/portfolio.h"

#include <stdio.h>

#define T0 (1577836800LL * ND_NS_PER_SEC)

static nd_err_t pull(sim_t *s, uint32_t i)
{
    nd_tick_event_t tick;
    nd_err_t rc = nd_synth_ticks_next(s->gen[i], &tick);
    s->has_next[i] = rc == ND_OK;
    if (rc == ND_OK)
        nd_market_event_from_tick(&tick, i, s->seq++, &s->next[i]);
    return rc == ND_EEOF ? ND_OK : rc;
}

/* Opens instrument i's market: from start_ns at start_px; level_qty_max 0 draws the depth. */
static nd_err_t open_market(sim_t *s, uint32_t i, int64_t start_ns, int64_t start_px,
                            int64_t level_qty_max, char *err, size_t err_len)
{
    nd_synth_ticks_config_t tc;
    nd_synth_ticks_config_default(&tc);
    tc.seed = nd_rand_next(&s->rng);
    tc.events = INT64_MAX / 4; /* the run stops it */
    tc.start_ns = start_ns;
    tc.step_ns = (1 + (int64_t)nd_rand_below(&s->rng, 1000)) * ND_NS_PER_MS;
    tc.start_px = start_px;
    tc.levels = 5 + (uint32_t)nd_rand_below(&s->rng, ND_SIMTEST_BOOK_LEVELS / 2 - 5);
    tc.level_qty_max =
        level_qty_max > 0 ? level_qty_max : 2 + (int64_t)nd_rand_below(&s->rng, 5000);
    tc.trade_per_mille = 100 + (uint32_t)nd_rand_below(&s->rng, 300);
    /* The generator's book needs a price on the tick with room for every level below it. */
    int64_t tick = s->inst[i].tick_size;
    tc.start_px -= tc.start_px % tick;
    if (tc.start_px <= (int64_t)tc.levels * tick)
        tc.start_px = ((int64_t)tc.levels + 1) * tick;
    nd_synth_ticks_close(s->gen[i]);
    s->gen[i] = NULL;
    nd_err_t rc = nd_synth_ticks_open(&tc, &s->inst[i], &s->gen[i], err, err_len);
    return rc == ND_OK ? pull(s, i) : rc;
}

nd_err_t nd__simtest_ticks_open(sim_t *s, char *err, size_t err_len)
{
    s->now_ns = T0; /* a venue may go down before the first market event */
    for (uint32_t i = 0; i < s->inst_count; i++) {
        nd_err_t rc = open_market(s, i, T0, nd__simtest_to_units(&s->inst[i], s->px[i]), 0, err,
                                  err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

/* The drain's market, like the bar worlds' liquid bars: each instrument's book is replaced (a
 * fresh snapshot at the last price) by one whose every level holds more than all the positions
 * on it, so a healthy venue can take the flattening orders. */
static void liquid_markets(sim_t *s)
{
    char err[256];
    nd_portfolio_t *p = nd_engine_portfolio(s->engine);
    for (uint32_t i = 0; i < s->inst_count && !s->broken; i++) {
        /* Positions, and what working orders may still add: a strategy order whose cancel is
         * in flight can fill against the new book first (a cancel racing a fill). */
        int64_t held = 0;
        for (uint32_t k = 0; k < s->strat_count; k++)
            held += s->pos[k][i] < 0 ? -s->pos[k][i] : s->pos[k][i];
        for (uint64_t id = 0; id < s->order_cap; id++) {
            const sim_order_t *so = &s->orders[id];
            if ((so->sent || so->accepted) && !so->done && so->instrument == i)
                held += so->qty - so->filled;
        }
        int64_t lots = held / s->inst[i].lot_size + 2;
        int64_t px = nd_portfolio_last_px(p, i);
        if (px <= 0)
            px = nd__simtest_to_units(&s->inst[i], s->px[i]);
        if (open_market(s, i, s->now_ns + 1, px, lots > 1000 ? lots : 1000, err, sizeof err) !=
            ND_OK)
            nd__simtest_broke(s, "engine", "the drain's market: %s", err);
    }
}

void nd__simtest_ticks_close(sim_t *s)
{
    for (uint32_t i = 0; i < SIM_INSTRUMENTS_MAX; i++) {
        nd_synth_ticks_close(s->gen[i]);
        nd_l2sim_exec_destroy(s->l2[i]);
    }
}

/* The next market event of the merged streams; false when every stream has ended. */
static bool next_event(sim_t *s, nd_market_event_t *out)
{
    int best = -1;
    for (uint32_t i = 0; i < s->inst_count; i++)
        if (s->has_next[i] && (best < 0 || nd_market_event_before(&s->next[i], &s->next[best])))
            best = (int)i;
    if (best < 0)
        return false;
    *out = s->next[best];
    if (pull(s, (uint32_t)best) != ND_OK)
        nd__simtest_broke(s, "engine", "the synthetic market of instrument %d failed", best);
    return true;
}

static void step_event(sim_t *s, const nd_market_event_t *ev)
{
    s->now_ns = nd_market_event_ts(ev);
    if (nd_clock_sim_set(&s->clock, s->now_ns) != ND_OK) {
        nd__simtest_broke(s, "engine", "time went backwards");
        return;
    }
    nd_err_t rc = nd_engine_on_event(s->engine, ev);
    if (rc != ND_OK) {
        nd__simtest_broke(s, "engine", "a market event failed: %s%s%s", nd_strerror(rc),
                          s->recorder ? "; the recorder: " : "",
                          s->recorder ? nd_recorder_error(s->recorder) : "");
        return;
    }
    nd_portfolio_t *p = nd_engine_portfolio(s->engine);
    for (uint32_t i = 0; i < s->inst_count; i++)
        s->mark[i] = nd_portfolio_last_px(p, i);
    s->report->events++;
    nd__simtest_check_all(s);
}

/* Instrument i's venue goes down or comes back: a venue status event. */
static void flip_venue(sim_t *s, uint32_t i)
{
    s->down[i] = !s->down[i];
    nd_market_event_t ev = {.kind = ND_MARKET_VENUE_STATUS, .source = i, .seq = s->seq++};
    ev.u.status = (nd_venue_status_t){s->now_ns, i, s->down[i] ? ND_VENUE_DISCONNECTED
                                                               : ND_VENUE_CONNECTED};
    step_event(s, &ev);
}

/* A venue goes down (about once in 2,000 events) or, when down, comes back (one in 50). */
static void venue_weather(sim_t *s)
{
    uint32_t i = (uint32_t)nd_rand_below(&s->rng, s->inst_count);
    if (nd__simtest_chance(s, s->down[i] ? 0.02 : 0.0005))
        flip_venue(s, i);
}

static bool done_draining(sim_t *s)
{
    return !nd_engine_risk(s->engine)->halted ||
           !nd_portfolio_has_positions(nd_engine_portfolio(s->engine));
}

void nd__simtest_ticks_run(sim_t *s, int64_t events)
{
    nd_market_event_t ev;
    for (s->bar_index = 0; s->bar_index < events && !s->broken; s->bar_index++) {
        venue_weather(s);
        if (s->broken || !next_event(s, &ev))
            break;
        step_event(s, &ev);
        if (!s->broken)
            nd__simtest_operator_acts(s);
    }
    for (uint32_t v = 0; v < s->venue_count; v++)
        s->venues[v].quiet = true;
    for (uint32_t i = 0; i < s->inst_count && !s->broken; i++)
        if (s->down[i])
            flip_venue(s, i);
    liquid_markets(s);
    for (int64_t k = 0; k < SIM_DRAIN_EVENTS && !s->broken && !done_draining(s); k++) {
        if (!next_event(s, &ev))
            break;
        step_event(s, &ev);
        s->bar_index++;
    }
    if (!s->broken && !done_draining(s))
        nd__simtest_broke(s, "flatten", "still halted and not flat after %d market events with "
                          "a healthy venue", SIM_DRAIN_EVENTS);
}
