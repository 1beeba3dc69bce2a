/* simtest_venue.c: the harness's faulty venue. It wraps a simulated venue (the bar simulator, or
 * one L2 simulator per instrument in event-level worlds) and, at rates drawn per world, refuses
 * orders and amends, fails cancels (a cancel racing a fill: the order stays working and may still
 * fill), disconnects for spells (every request refused) and, with latency, hands an order's fill
 * over before its acknowledgement (the two messages of a live venue can cross). Matching is the
 * simulator's. Faults stop during the drain (quiet). */
#include "simtest_int.h"

#include "noderr/assert.h"

#include <stdio.h>

static bool venue_down(faulty_venue_t *v)
{
    v->calls++;
    if (v->quiet)
        return false;
    if (v->calls < v->down_until_call)
        return true;
    if (nd_rand_uniform(&v->rng) < v->disconnect_rate) {
        v->down_until_call = v->calls + 1 + (int64_t)nd_rand_below(&v->rng, 50);
        return true;
    }
    return false;
}

static bool refuses(faulty_venue_t *v)
{
    return venue_down(v) || (!v->quiet && nd_rand_uniform(&v->rng) < v->refuse_rate);
}

static nd_err_t faulty_submit(void *self, nd_order_t *order, int64_t now_ns)
{
    faulty_venue_t *v = self;
    if (refuses(v)) {
        v->refused++;
        if (order->risk_flatten)
            v->flatten_refused_at = *v->bar_index;
        return ND_EAGAIN;
    }
    return v->inner.ops->submit(v->inner.self, order, now_ns);
}

static nd_err_t faulty_cancel(void *self, uint64_t client_id, int64_t now_ns)
{
    faulty_venue_t *v = self;
    if (venue_down(v) || (!v->quiet && nd_rand_uniform(&v->rng) < v->cancel_fail_rate)) {
        v->cancels_failed++;
        v->cancel_failed_at = *v->bar_index;
        return ND_EAGAIN;
    }
    return v->inner.ops->cancel(v->inner.self, client_id, now_ns);
}

static nd_err_t faulty_amend(void *self, uint64_t client_id, int64_t px, int64_t qty,
                             int64_t now_ns)
{
    faulty_venue_t *v = self;
    if (refuses(v)) {
        v->refused++;
        return ND_EAGAIN;
    }
    return v->inner.ops->amend(v->inner.self, client_id, px, qty, now_ns);
}

static nd_err_t faulty_on_bar(void *self, const nd_bar_t *bar, nd_fill_t *fills_out, size_t cap,
                              size_t *count)
{
    faulty_venue_t *v = self;
    return v->inner.ops->on_bar(v->inner.self, bar, fills_out, cap, count);
}

static uint32_t faulty_open_count(const void *self)
{
    const faulty_venue_t *v = self;
    return v->inner.ops->open_count(v->inner.self);
}

static nd_err_t faulty_on_market(void *self, const nd_market_event_t *ev)
{
    faulty_venue_t *v = self;
    return v->inner.ops->on_market(v->inner.self, ev);
}

/* The updates visible now; an acknowledgement followed by a fill of the same order is handed
 * over the other way round at the world's reorder rate. */
static nd_err_t faulty_poll(void *self, int64_t now_ns, nd_order_update_t *out, size_t cap,
                            size_t *count)
{
    faulty_venue_t *v = self;
    nd_err_t rc = v->inner.ops->poll(v->inner.self, now_ns, out, cap, count);
    if (rc != ND_OK || v->quiet)
        return rc;
    for (size_t k = 0; k + 1 < *count; k++) {
        if (out[k].kind != ND_UPDATE_ACCEPTED || out[k + 1].kind != ND_UPDATE_FILL ||
            out[k].client_id != out[k + 1].client_id ||
            nd_rand_uniform(&v->rng) >= v->reorder_rate)
            continue;
        nd_order_update_t ack = out[k];
        out[k] = out[k + 1];
        out[k + 1] = ack;
        v->reordered++;
        k++;
    }
    return ND_OK;
}

static const nd_exec_venue_ops_t bar_ops = {.submit = faulty_submit, .cancel = faulty_cancel,
                                            .amend = faulty_amend, .on_bar = faulty_on_bar,
                                            .open_count = faulty_open_count};

static const nd_exec_venue_ops_t event_ops = {.submit = faulty_submit, .cancel = faulty_cancel,
                                              .amend = faulty_amend,
                                              .open_count = faulty_open_count,
                                              .on_market = faulty_on_market,
                                              .poll = faulty_poll};

/* Draws the fault rates (a third of the worlds have a perfect venue) and wraps v->inner. */
static void wrap(sim_t *s, faulty_venue_t *v, const nd_exec_venue_ops_t *ops, nd_exec_venue_t *out)
{
    nd_rand_init(&v->rng, nd_rand_next(&s->rng));
    bool faulty = !nd__simtest_chance(s, 1.0 / 3.0);
    v->refuse_rate = faulty ? nd__simtest_uniform(s, 0.0, 0.2) : 0.0;
    v->cancel_fail_rate = faulty ? nd__simtest_uniform(s, 0.0, 0.3) : 0.0;
    v->disconnect_rate = faulty ? nd__simtest_uniform(s, 0.0, 0.005) : 0.0;
    v->reorder_rate = faulty ? nd__simtest_uniform(s, 0.0, 0.5) : 0.0;
    v->flatten_refused_at = -1;
    v->cancel_failed_at = -1;
    v->bar_index = &s->bar_index;
    *out = v->inner;
    out->ops = ops;
    out->self = v;
}

nd_err_t nd__simtest_bar_venue(sim_t *s, nd_engine_config_t *cfg)
{
    faulty_venue_t *v = &s->venues[0];
    nd_err_t rc = nd_sim_venue_init(&s->bar_sim, &cfg->venue, s->inst, s->inst_count);
    if (rc != ND_OK)
        return rc;
    nd_sim_venue_exec(&s->bar_sim, "sim", &v->inner);
    wrap(s, v, &bar_ops, &s->venue_execs[0]);
    s->venue_count = 1;
    cfg->venues[0] = &s->venue_execs[0];
    cfg->venue_count = 1;
    return ND_OK;
}

/* One L2 simulator a instrument, named after it ("l2-0", ...): fees as drawn for the world,
 * order-entry latency constant or drawn from a short list, an ack latency, either queue model. */
nd_err_t nd__simtest_event_venues(sim_t *s, nd_engine_config_t *cfg)
{
    for (uint32_t i = 0; i < s->inst_count; i++) {
        snprintf(s->inst[i].venue, sizeof s->inst[i].venue, "l2-%u", i);
        nd_l2sim_config_t lc;
        nd_l2sim_config_default(&lc);
        lc.maker_fee_bps_e2 = cfg->venue.maker_fee_bps_e2;
        lc.taker_fee_bps_e2 = cfg->venue.taker_fee_bps_e2;
        lc.queue_model = nd__simtest_chance(s, 0.5) ? ND_L2SIM_QUEUE_RISK_AVERSE
                                                    : ND_L2SIM_QUEUE_PROPORTIONAL;
        int64_t samples[4]; /* copied by the simulator */
        for (uint32_t k = 0; k < 4; k++)
            samples[k] = (int64_t)nd_rand_below(&s->rng, 50) * ND_NS_PER_MS;
        if (nd__simtest_chance(s, 0.5))
            lc.entry = (nd_l2sim_latency_t){.samples_ns = samples, .sample_count = 4};
        else
            lc.entry.const_ns = samples[0];
        lc.ack.const_ns = (int64_t)nd_rand_below(&s->rng, 20) * ND_NS_PER_MS;
        lc.seed = nd_rand_next(&s->rng);
        lc.orders_max = 256;
        lc.requests_max = 512; /* the update ring is 4x this: small worlds, small rings */
        lc.levels_max = ND_SIMTEST_BOOK_LEVELS;
        faulty_venue_t *v = &s->venues[i];
        nd_err_t rc = nd_l2sim_exec_create(&lc, &s->inst[i], s->inst[i].venue, &s->l2[i]);
        if (rc != ND_OK)
            return rc;
        v->inner = *nd_l2sim_exec_venue(s->l2[i]);
        wrap(s, v, &event_ops, &s->venue_execs[i]);
        cfg->venues[i] = &s->venue_execs[i];
    }
    s->venue_count = s->inst_count;
    cfg->venue_count = s->inst_count;
    cfg->book_levels_max = ND_SIMTEST_BOOK_LEVELS;
    return ND_OK;
}
