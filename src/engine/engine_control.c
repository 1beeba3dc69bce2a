/* engine_control.c: changing a running engine's strategies without stopping it: pause and
 * resume one strategy, move its capital share, swap it for another version. The launcher's
 * ramp, allocation and rollback and the dashboard's controls act through these; each works
 * between two events, on the engine's thread, like every other engine call. */
#include "engine_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

void nd__engine_timer_missed(nd__strategy_slot_t *slot, uint64_t timer_id)
{
    for (uint32_t k = 0; k < slot->missed_count; k++)
        if (slot->missed_timers[k] == timer_id)
            return;
    if (slot->missed_count < ND__MISSED_TIMERS_MAX)
        slot->missed_timers[slot->missed_count++] = timer_id;
}

static nd__strategy_slot_t *started_slot(nd_engine_t *e, uint32_t strategy_index)
{
    ND_ASSERT(e != NULL && e->started);
    return strategy_index < e->strategy_count ? &e->strategies[strategy_index] : NULL;
}

/* A resumed strategy first gets the timers that fell due while it was paused, once each, at
 * the resume time: a strategy that re-arms a periodic timer in on_timer keeps its cycle. */
static void fire_missed(nd_engine_t *e, nd__strategy_slot_t *slot)
{
    uint32_t n = slot->missed_count;
    slot->missed_count = 0;
    for (uint32_t k = 0; k < n && slot->def->on_timer; k++)
        slot->def->on_timer(slot->state, e->now_ns, slot->missed_timers[k], &slot->ctx);
}

nd_err_t nd_engine_strategy_pause(nd_engine_t *e, uint32_t strategy_index, bool paused)
{
    nd__strategy_slot_t *slot = started_slot(e, strategy_index);
    if (!slot)
        return ND_ENOTFOUND;
    if (slot->paused == paused)
        return ND_OK;
    ND_LOG(ND_LOG_INFO, "event=strategy_%s strategy=%u name=%s", paused ? "pause" : "resume",
           strategy_index, slot->def->name);
    if (paused) {
        slot->paused = true;
        nd__engine_cancel_strategy(e, strategy_index);
    } else {
        slot->paused = false;
        fire_missed(e, slot);
    }
    return nd__engine_flush(e);
}

bool nd_engine_strategy_paused(const nd_engine_t *e, uint32_t strategy_index)
{
    ND_ASSERT(strategy_index < e->strategy_count);
    return e->strategies[strategy_index].paused;
}

nd_err_t nd_engine_strategy_set_weight(nd_engine_t *e, uint32_t strategy_index,
                                       int64_t weight_e6)
{
    nd__strategy_slot_t *slot = started_slot(e, strategy_index);
    if (!slot)
        return ND_ENOTFOUND;
    nd_err_t rc = nd_portfolio_set_weight(e->portfolio, strategy_index, weight_e6);
    if (rc != ND_OK)
        return rc;
    slot->weight_e6 = weight_e6;
    ND_LOG(ND_LOG_INFO, "event=strategy_weight strategy=%u weight_e6=%lld", strategy_index,
           (long long)weight_e6);
    return ND_OK;
}

int64_t nd_engine_strategy_weight(const nd_engine_t *e, uint32_t strategy_index)
{
    ND_ASSERT(strategy_index < e->strategy_count);
    return e->strategies[strategy_index].weight_e6;
}

/* The old version goes first (its orders cancelled, its timers dropped, on_stop), then the new
 * one starts in the same slot: same instrument, same sleeve, the position it holds. */
nd_err_t nd_engine_strategy_replace(nd_engine_t *e, uint32_t strategy_index,
                                    const nd_strategy_def_t *def, const double *params,
                                    char *err, size_t err_len)
{
    nd__strategy_slot_t *slot = started_slot(e, strategy_index);
    if (!slot) {
        snprintf(err, err_len, "no strategy %u", strategy_index);
        return ND_ENOTFOUND;
    }
    ND_ASSERT(def != NULL && params != NULL && def->param_count <= ND_STRATEGY_PARAMS_MAX);
    nd_err_t rc = nd_strategy_params_check(def, params, err, err_len);
    if (rc != ND_OK)
        return rc;
    void *state = nd_calloc(1, def->state_size(params));
    if (!state)
        return ND_ENOMEM;
    nd__engine_cancel_strategy(e, strategy_index);
    nd__engine_drop_timers(e, strategy_index);
    if (slot->started && slot->def->on_stop)
        slot->def->on_stop(slot->state);
    nd_free(slot->state);
    ND_LOG(ND_LOG_INFO, "event=strategy_replace strategy=%u from=%s to=%s", strategy_index,
           slot->def->name, def->name);
    slot->def = def;
    slot->ctx.def = def;
    memcpy(slot->params, params, (size_t)def->param_count * sizeof(double));
    slot->state = state;
    slot->missed_count = 0;
    slot->started = true; /* on_stop is owed even if on_start fails part-way */
    rc = def->on_start(state, slot->params, slot->instrument_id, &slot->ctx);
    if (rc != ND_OK) {
        slot->paused = true; /* nothing half-started trades; replace again to recover */
        snprintf(err, err_len, "strategy %s failed to start: %s (the slot is paused)", def->name,
                 nd_strerror(rc));
        return rc;
    }
    return nd__engine_flush(e);
}
