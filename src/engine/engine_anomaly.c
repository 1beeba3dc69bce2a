/* engine_anomaly.c: the anomaly-confidence breaker's feed (anomaly.h, docs/anomaly.md): one
 * model per instrument, fed each bar after its mark, or the buckets of the instrument's market
 * events, or a live session's own observations (nd_engine_anomaly_observe). A score at or above
 * the threshold trips the breaker through risk (nd_risk_anomaly) and then the one trip path every
 * breaker takes (the event, cancel, flatten, own the position until flat). With
 * risk.fast_move_e6 > 0, every market event's mark price also goes to the instrument's
 * fast-move rule (nd_anomaly_fast_t), which trips the same breaker (nd_risk_fast_move) on a
 * move within minutes that a 15-minute bucket would show only at its end.
 *
 * Invariants: nothing here runs when the breaker is off (risk.anomaly_threshold_e6 == 0, the
 * backtest default), so a run without it is the run it always was; the models are allocated at
 * start and the per-event path does not allocate. */
#include "engine_int.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"

nd_err_t nd__engine_anomaly_start(nd_engine_t *e)
{
    if (e->cfg.risk.anomaly_threshold_e6 == 0)
        return ND_OK;
    e->anomaly = nd_calloc(e->instrument_count, sizeof *e->anomaly);
    e->anomaly_buckets = nd_calloc(e->instrument_count, sizeof *e->anomaly_buckets);
    e->anomaly_prev_close = nd_calloc(e->instrument_count, sizeof *e->anomaly_prev_close);
    if (!e->anomaly || !e->anomaly_buckets || !e->anomaly_prev_close)
        return ND_ENOMEM;
    if (e->cfg.risk.fast_move_e6 > 0) {
        e->anomaly_fast = nd_calloc(e->instrument_count, sizeof *e->anomaly_fast);
        if (!e->anomaly_fast)
            return ND_ENOMEM;
        for (uint32_t i = 0; i < e->instrument_count; i++) {
            nd_err_t rc = nd_anomaly_fast_init(&e->anomaly_fast[i], e->cfg.risk.fast_move_window_ns,
                                               e->cfg.risk.fast_move_e6);
            if (rc != ND_OK)
                return rc;
        }
    }
    for (uint32_t i = 0; i < e->instrument_count; i++) {
        nd_err_t rc = nd_anomaly_init(&e->anomaly[i], &e->cfg.anomaly);
        if (rc == ND_OK)
            rc = nd_anomaly_bucket_init(&e->anomaly_buckets[i], e->cfg.anomaly_bucket_ns,
                                        &e->instruments[i]);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

void nd__engine_anomaly_free(nd_engine_t *e)
{
    nd_free(e->anomaly);
    nd_free(e->anomaly_buckets);
    nd_free(e->anomaly_prev_close);
    nd_free(e->anomaly_fast);
}

/* Scores obs with instrument i's model; a trip goes the common breaker path. */
static nd_err_t observe(nd_engine_t *e, uint32_t i, const nd_anomaly_obs_t *obs)
{
    nd_anomaly_score_t score;
    nd_err_t rc = nd_anomaly_observe(&e->anomaly[i], obs, &score);
    if (rc != ND_OK)
        return rc;
    if (!nd_risk_anomaly(&e->risk, e->now_ns, nd_portfolio_equity_ext(e->portfolio), i, &score))
        return ND_OK;
    return nd__engine_on_breaker(e);
}

nd_err_t nd__engine_anomaly_bar(nd_engine_t *e, const nd_bar_t *bar)
{
    uint32_t i = bar->instrument_id;
    nd_anomaly_obs_t obs;
    nd_anomaly_obs_from_bar(bar, e->anomaly_prev_close[i], &e->instruments[i], &obs);
    e->anomaly_prev_close[i] = bar->close;
    return observe(e, i, &obs);
}

nd_err_t nd__engine_anomaly_event(nd_engine_t *e, uint32_t i, const nd_market_event_t *ev,
                                  const nd_book_view_t *book, int64_t mark_px)
{
    int64_t move_e6 = 0;
    if (e->anomaly_fast && mark_px > 0 &&
        nd_anomaly_fast_push(&e->anomaly_fast[i], e->now_ns, mark_px, &move_e6) &&
        nd_risk_fast_move(&e->risk, e->now_ns, nd_portfolio_equity_ext(e->portfolio), i,
                          move_e6)) {
        nd_err_t rc = nd__engine_on_breaker(e);
        if (rc != ND_OK)
            return rc;
    }
    nd_anomaly_obs_t obs;
    nd_anomaly_bucket_t *b = &e->anomaly_buckets[i];
    bool closed = nd_anomaly_bucket_push(b, ev, &obs);
    if (book && book->has_bid && book->has_ask)
        nd_anomaly_bucket_top(b, book->best_bid.px, book->best_ask.px);
    return closed ? observe(e, i, &obs) : ND_OK;
}

nd_err_t nd_engine_anomaly_observe(nd_engine_t *e, uint32_t instrument_id,
                                   const nd_anomaly_obs_t *obs)
{
    ND_ASSERT(e != NULL && e->started && obs != NULL);
    if (!e->anomaly)
        return ND_ESTATE;
    if (instrument_id >= e->instrument_count)
        return ND_EINVAL;
    e->now_ns = nd_clock_now_ns(e->clock);
    nd_err_t rc = observe(e, instrument_id, obs);
    nd_err_t frc = nd__engine_flush(e);
    return rc != ND_OK ? rc : frc;
}

const nd_anomaly_t *nd_engine_anomaly(const nd_engine_t *e, uint32_t instrument_id)
{
    ND_ASSERT(e != NULL);
    ND_ASSERT(instrument_id < e->instrument_count);
    return e->anomaly ? &e->anomaly[instrument_id] : NULL;
}
