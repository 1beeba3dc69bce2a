/* risk.c: pre-trade checks, drawdown and daily-loss breakers, kill switch.
 *
 * All threshold comparisons are exact integer arithmetic in __int128, so a breaker trips at
 * exactly its threshold and never one unit early or late. The rate limiter keeps the times of
 * the orders accepted in the last second in a fixed ring. */
#include "noderr/risk.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/text.h"

#include <stdio.h>
#include <string.h>

#define RATE_RING_SIZE 1024
_Static_assert(RATE_RING_SIZE == sizeof(((nd_risk_t *)0)->_rate_ring) / sizeof(int64_t),
               "rate ring size matches the struct");

void nd_risk_config_default(nd_risk_config_t *cfg)
{
    cfg->max_position_pct_e2 = 2500;
    cfg->max_order_notional = 0;
    cfg->price_collar_pct_e2 = 1000;
    cfg->orders_per_sec_max = 50;
    cfg->max_drawdown_pct_e2 = 1200;
    cfg->daily_loss_pct_e2 = 500;
    cfg->drawdown_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    cfg->daily_loss_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEXT_DAY, 0};
    cfg->anomaly_threshold_e6 = 0;
    cfg->anomaly_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    cfg->fast_move_e6 = 0;
    cfg->fast_move_window_ns = ND_FAST_MOVE_WINDOW_NS;
}

void nd_risk_config_live(nd_risk_config_t *cfg)
{
    nd_risk_config_default(cfg);
    cfg->daily_loss_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    cfg->anomaly_threshold_e6 = ND_ANOMALY_THRESHOLD_LIVE_E6;
    cfg->fast_move_e6 = ND_FAST_MOVE_LIVE_E6;
}

nd_err_t nd_breaker_reset_parse(const char *text, nd_breaker_reset_t *out, char *err,
                                size_t err_len)
{
    ND_ASSERT(text != NULL && out != NULL);
    if (strcmp(text, "never") == 0) {
        *out = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
        return ND_OK;
    }
    if (strcmp(text, "next-day") == 0) {
        *out = (nd_breaker_reset_t){ND_BREAKER_RESET_NEXT_DAY, 0};
        return ND_OK;
    }
    if (strncmp(text, "after:", 6) == 0) {
        nd_span_t span;
        char why[160];
        nd_err_t rc = nd_span_parse(text + 6, strlen(text + 6), 0, &span, why, sizeof why);
        if (rc != ND_OK) {
            snprintf(err, err_len, "'%s': %s", text, why);
            return rc;
        }
        *out = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, span.value};
        return ND_OK;
    }
    snprintf(err, err_len, "'%s' is not never, next-day or after:DURATION", text);
    return ND_EPARSE;
}

void nd_breaker_reset_format(const nd_breaker_reset_t *policy, char *buf, size_t cap)
{
    ND_ASSERT(policy != NULL && buf != NULL);
    switch (policy->kind) {
    case ND_BREAKER_RESET_NEVER: snprintf(buf, cap, "never"); return;
    case ND_BREAKER_RESET_NEXT_DAY: snprintf(buf, cap, "next-day"); return;
    case ND_BREAKER_RESET_AFTER: {
        /* The largest unit that states it exactly, as nd_span_parse reads it back. */
        static const struct { int64_t ns; char unit; } units[] = {
            {7 * ND_NS_PER_DAY, 'w'}, {ND_NS_PER_DAY, 'd'}, {ND_NS_PER_HOUR, 'h'}, {ND_NS_PER_MIN, 'm'}};
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
            if (policy->after_ns % units[k].ns == 0) {
                snprintf(buf, cap, "after:%lld%c", (long long)(policy->after_ns / units[k].ns),
                         units[k].unit);
                return;
            }
        }
        snprintf(buf, cap, "after:%lldns", (long long)policy->after_ns);
        return;
    }
    }
    snprintf(buf, cap, "unknown");
}

nd_err_t nd_risk_config_set_reset(nd_risk_config_t *cfg, const char *spec, char *err,
                                  size_t err_len)
{
    ND_ASSERT(cfg != NULL && spec != NULL);
    if (!strchr(spec, '=')) {
        nd_breaker_reset_t both;
        nd_err_t rc = nd_breaker_reset_parse(spec, &both, err, err_len);
        if (rc == ND_OK)
            cfg->drawdown_reset = cfg->daily_loss_reset = both;
        return rc;
    }
    nd_breaker_reset_t drawdown = cfg->drawdown_reset, daily = cfg->daily_loss_reset;
    nd_breaker_reset_t anomaly = cfg->anomaly_reset;
    char item[96];
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(err, err_len, "'%s': expected drawdown=POLICY,daily-loss=POLICY", spec);
            return ND_EPARSE;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        p += len + (p[len] == ',');
        char *eq = strchr(item, '=');
        nd_breaker_reset_t *target = NULL;
        if (eq && (size_t)(eq - item) == 8 && strncmp(item, "drawdown", 8) == 0)
            target = &drawdown;
        else if (eq && (size_t)(eq - item) == 10 && strncmp(item, "daily-loss", 10) == 0)
            target = &daily;
        else if (eq && (size_t)(eq - item) == 7 && strncmp(item, "anomaly", 7) == 0)
            target = &anomaly;
        if (!target) {
            snprintf(err, err_len,
                     "'%s': each item is drawdown=POLICY, daily-loss=POLICY or anomaly=POLICY",
                     item);
            return ND_EPARSE;
        }
        nd_err_t rc = nd_breaker_reset_parse(eq + 1, target, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    cfg->drawdown_reset = drawdown;
    cfg->daily_loss_reset = daily;
    cfg->anomaly_reset = anomaly;
    return ND_OK;
}

static int64_t reset_end(const nd_breaker_reset_t *p, int64_t trip_ns)
{
    switch (p->kind) {
    case ND_BREAKER_RESET_NEVER: return INT64_MAX;
    case ND_BREAKER_RESET_NEXT_DAY: return nd_time_day_start(trip_ns) + ND_NS_PER_DAY;
    case ND_BREAKER_RESET_AFTER:
        return trip_ns > INT64_MAX - p->after_ns ? INT64_MAX : trip_ns + p->after_ns;
    }
    return INT64_MAX;
}

int64_t nd_risk_halt_end_ns(const nd_risk_config_t *cfg, nd_breaker_kind_t kind, int64_t trip_ns)
{
    ND_ASSERT(cfg != NULL);
    if (kind == ND_BREAKER_DRAWDOWN)
        return reset_end(&cfg->drawdown_reset, trip_ns);
    if (kind == ND_BREAKER_DAILY_LOSS)
        return reset_end(&cfg->daily_loss_reset, trip_ns);
    if (kind == ND_BREAKER_ANOMALY)
        return reset_end(&cfg->anomaly_reset, trip_ns);
    return INT64_MAX; /* the kill switch and data integrity: an operator releases them */
}

static bool reset_valid(const nd_breaker_reset_t *p)
{
    if (p->kind == ND_BREAKER_RESET_AFTER)
        return p->after_ns > 0;
    return (p->kind == ND_BREAKER_RESET_NEVER || p->kind == ND_BREAKER_RESET_NEXT_DAY) &&
           p->after_ns == 0;
}

const char *nd_breaker_kind_name(nd_breaker_kind_t kind)
{
    switch (kind) {
    case ND_BREAKER_DRAWDOWN: return "drawdown";
    case ND_BREAKER_DAILY_LOSS: return "daily_loss";
    case ND_BREAKER_KILL_SWITCH: return "kill_switch";
    case ND_BREAKER_DATA_INTEGRITY: return "data_integrity";
    case ND_BREAKER_ANOMALY: return "anomaly";
    }
    return "unknown";
}

const char *nd_integrity_input_name(nd_integrity_input_t input)
{
    switch (input) {
    case ND_INTEGRITY_UNSPECIFIED: return "unspecified";
    case ND_INTEGRITY_STALE: return "stale";
    case ND_INTEGRITY_SEQ_GAP: return "seq_gap";
    case ND_INTEGRITY_REFPRICE: return "refprice";
    case ND_INTEGRITY_REFPRICE_SOURCES: return "refprice_sources";
    case ND_INTEGRITY_PRICE_JUMP: return "price_jump";
    }
    return "unknown";
}

nd_err_t nd_risk_init(nd_risk_t *r, const nd_risk_config_t *cfg, int64_t ext_per_cash)
{
    ND_ASSERT(r != NULL && cfg != NULL);
    if (cfg->max_position_pct_e2 < 0 || cfg->max_order_notional < 0 ||
        cfg->price_collar_pct_e2 < 0 || cfg->orders_per_sec_max < 0 ||
        cfg->orders_per_sec_max > RATE_RING_SIZE || cfg->max_drawdown_pct_e2 < 0 ||
        cfg->max_drawdown_pct_e2 > 10000 || cfg->daily_loss_pct_e2 < 0 ||
        cfg->daily_loss_pct_e2 > 10000 || ext_per_cash <= 0 ||
        !reset_valid(&cfg->drawdown_reset) || !reset_valid(&cfg->daily_loss_reset) ||
        cfg->anomaly_threshold_e6 < 0 || cfg->anomaly_threshold_e6 > 1000000 ||
        !reset_valid(&cfg->anomaly_reset) || cfg->fast_move_e6 < 0 ||
        cfg->fast_move_e6 >= 1000000 ||
        (cfg->fast_move_e6 > 0 && cfg->fast_move_window_ns < ND_ANOMALY_FAST_SLOTS))
        return ND_EINVAL;
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->_ext_per_cash = ext_per_cash;
    r->_day_end_ns = INT64_MIN; /* not started: the first report takes the general path */
    return ND_OK;
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static bool rate_exceeded(nd_risk_t *r, int64_t now_ns)
{
    if (r->cfg.orders_per_sec_max == 0)
        return false;
    /* Drop orders older than one second from the front of the ring. */
    while (r->_rate_count > 0 &&
           r->_rate_ring[r->_rate_head] <= now_ns - ND_NS_PER_SEC) {
        r->_rate_head = (r->_rate_head + 1) % RATE_RING_SIZE;
        r->_rate_count--;
    }
    return r->_rate_count >= (uint32_t)r->cfg.orders_per_sec_max;
}

static void rate_record(nd_risk_t *r, int64_t now_ns)
{
    if (r->cfg.orders_per_sec_max == 0)
        return;
    ND_ASSERT(r->_rate_count < RATE_RING_SIZE);
    r->_rate_ring[(r->_rate_head + r->_rate_count) % RATE_RING_SIZE] = now_ns;
    r->_rate_count++;
}

static nd_reject_t check_limits(const nd_risk_t *r, const nd_instrument_t *inst,
                                const nd_order_t *o, const nd_risk_view_t *v)
{
    int64_t ref_px = o->type == ND_ORDER_MARKET ? v->last_px : o->px;
    if (o->type != ND_ORDER_MARKET && r->cfg.price_collar_pct_e2 > 0) {
        __int128 distance = (__int128)abs64(o->px - v->last_px) * 10000;
        if (distance > (__int128)r->cfg.price_collar_pct_e2 * v->last_px)
            return ND_REJECT_PRICE_OUTSIDE_BAND;
    }
    int64_t notional = 0;
    if (nd_notional(inst, ref_px, o->qty, &notional) != ND_OK)
        return ND_REJECT_OVERFLOW;
    if (r->cfg.max_order_notional > 0 && notional > r->cfg.max_order_notional)
        return ND_REJECT_NOTIONAL_LIMIT_EXCEEDED;
    if (r->cfg.max_position_pct_e2 > 0) {
        /* The position the order could make once it and every working order on its side fill:
         * two orders each within the limit must not together exceed it. */
        int64_t sign = o->side == ND_SIDE_BUY ? 1 : -1, before = 0, after = 0;
        if (__builtin_add_overflow(v->net_qty, sign * v->pending_qty, &before) ||
            __builtin_add_overflow(before, sign * o->qty, &after))
            return ND_REJECT_OVERFLOW;
        if (abs64(after) > abs64(before)) { /* orders that only reduce always pass */
            /* A position of the order's own size (an order opening from flat) is worth the
             * notional above: the same arguments, so no second 128-bit division. */
            int64_t value = notional;
            if (abs64(after) != o->qty &&
                nd_notional(inst, ref_px, abs64(after), &value) != ND_OK)
                return ND_REJECT_OVERFLOW;
            if (v->equity <= 0 || (__int128)value * 10000 >
                                      (__int128)r->cfg.max_position_pct_e2 * v->equity)
                return ND_REJECT_POSITION_LIMIT_EXCEEDED;
        }
    }
    return ND_REJECT_NONE;
}

nd_reject_t nd_risk_check_order(nd_risk_t *r, const nd_instrument_t *inst, const nd_order_t *o,
                                const nd_risk_view_t *view)
{
    ND_ASSERT(r != NULL && inst != NULL);
    ND_ASSERT(o != NULL && view != NULL);
    nd_reject_t reason = ND_REJECT_NONE;
    if (r->kill_switch)
        reason = ND_REJECT_KILL_SWITCH;
    else if (r->halted)
        reason = ND_REJECT_HALTED;
    else if (o->qty <= 0)
        reason = ND_REJECT_INVALID_QUANTITY;
    else if (o->type != ND_ORDER_MARKET && o->px <= 0)
        reason = ND_REJECT_INVALID_PRICE;
    else if (view->last_px <= 0)
        reason = ND_REJECT_NO_MARKET_DATA;
    else
        reason = check_limits(r, inst, o, view);
    if (reason == ND_REJECT_NONE && rate_exceeded(r, view->now_ns))
        reason = ND_REJECT_RATE_LIMIT_EXCEEDED;
    if (reason == ND_REJECT_NONE)
        rate_record(r, view->now_ns);
    else {
        ND_ASSERT((int)reason < ND_REJECT_SLOTS);
        r->rejects[reason]++;
    }
    return reason;
}

static int64_t ext_to_cash(const nd_risk_t *r, __int128 ext)
{
    int64_t v = 0;
    if (nd_fixed_div128(ext, r->_ext_per_cash, ND_ROUND_HALF_EVEN, &v) != ND_OK)
        return ext > 0 ? INT64_MAX : INT64_MIN;
    return v;
}

__attribute__((noinline, cold)) static void record_trip(nd_risk_t *r, nd_breaker_kind_t kind,
                                                       int64_t now_ns, __int128 equity,
                                                       __int128 reference, int64_t threshold_e2)
{
    r->trips++;
    /* A trip while halted keeps the halt that began first and lasts as long as the longer. */
    int64_t end = nd_risk_halt_end_ns(&r->cfg, kind, now_ns);
    if (!r->halted) {
        r->halted_since_ns = now_ns;
        r->halt_end_ns = end;
    } else if (end > r->halt_end_ns) {
        r->halt_end_ns = end;
    }
    r->halted = true;
    r->halt_kind = kind;
    if (r->event_count >= ND_BREAKER_EVENTS_MAX)
        return;
    nd_breaker_event_t *e = &r->events[r->event_count++];
    e->kind = kind;
    e->ts_ns = now_ns;
    e->equity = ext_to_cash(r, equity);
    e->reference = ext_to_cash(r, reference);
    e->threshold_pct_e2 = threshold_e2;
    e->measured_e6 = 0;
    memset(&e->detail, 0, sizeof e->detail);
    if (reference > 0) {
        __int128 share = (reference - equity) * 1000000 / reference;
        e->measured_e6 = (int64_t)share;
    }
}

/* True when (reference - equity) / reference >= threshold_e2 / 10000, exactly. */
static bool loss_reached(__int128 reference, __int128 equity, int64_t threshold_e2)
{
    if (threshold_e2 == 0 || reference <= 0)
        return false;
    return (reference - equity) * 10000 >= (__int128)threshold_e2 * reference;
}

/* The two loss breakers on a report while not halted (the peak already updated): a trip is
 * recorded and reported as true. */
static inline bool losses_tripped(nd_risk_t *r, int64_t now_ns, __int128 equity_ext)
{
    if (loss_reached(r->_peak, equity_ext, r->cfg.max_drawdown_pct_e2)) {
        record_trip(r, ND_BREAKER_DRAWDOWN, now_ns, equity_ext, r->_peak,
                    r->cfg.max_drawdown_pct_e2);
        return true;
    }
    if (loss_reached(r->_day_open, equity_ext, r->cfg.daily_loss_pct_e2)) {
        record_trip(r, ND_BREAKER_DAILY_LOSS, now_ns, equity_ext, r->_day_open,
                    r->cfg.daily_loss_pct_e2);
        return true;
    }
    return false;
}

/* nd_risk_on_equity in general: the first report, a new day, a halt in force. */
__attribute__((noinline)) static bool on_equity_general(nd_risk_t *r, int64_t now_ns,
                                                        __int128 equity_ext)
{
    if (!r->_started) {
        r->_started = true;
        r->_peak = equity_ext;
        r->_day_open = equity_ext;
        r->_day_end_ns = nd_time_day_start(now_ns) + ND_NS_PER_DAY;
    }
    if (now_ns >= r->_day_end_ns) {
        /* A new UTC day: its opening equity is the last equity reported before it began. */
        r->_day_open = r->_last_equity;
        r->_day_end_ns = nd_time_day_start(now_ns) + ND_NS_PER_DAY;
    }
    if (r->halted && !r->kill_switch && now_ns >= r->halt_end_ns) {
        ND_ASSERT(r->halt_kind == ND_BREAKER_DRAWDOWN || r->halt_kind == ND_BREAKER_DAILY_LOSS ||
                  r->halt_kind == ND_BREAKER_ANOMALY);
        /* The reset policy lifts the halt. A loss measured from the old reference would trip
         * again at once: a drawdown's peak restarts here, as after an operator's release, and
         * so does the day's reference when an after: policy lifts a daily-loss halt within a
         * day (at midnight the new day's opening equity is the reference already). */
        r->halted = false;
        r->halt_end_ns = 0;
        if (r->halt_kind == ND_BREAKER_DRAWDOWN)
            r->_peak = equity_ext;
        else if (r->halt_kind == ND_BREAKER_DAILY_LOSS &&
                 r->cfg.daily_loss_reset.kind == ND_BREAKER_RESET_AFTER)
            r->_day_open = equity_ext;
    }
    r->_last_equity = equity_ext;
    if (equity_ext > r->_peak)
        r->_peak = equity_ext;
    if (!r->halted)
        return losses_tripped(r, now_ns, equity_ext);
    /* A daily-loss halt: the drawdown breaker still watches (any other halt: neither). */
    if (r->halt_kind == ND_BREAKER_DAILY_LOSS &&
        loss_reached(r->_peak, equity_ext, r->cfg.max_drawdown_pct_e2)) {
        record_trip(r, ND_BREAKER_DRAWDOWN, now_ns, equity_ext, r->_peak,
                    r->cfg.max_drawdown_pct_e2);
        return true;
    }
    return false;
}

bool nd_risk_on_equity(nd_risk_t *r, int64_t now_ns, __int128 equity_ext)
{
    ND_ASSERT(r != NULL);
    /* The usual reports: started (_day_end_ns is INT64_MIN before) and the same day, and either
     * no halt in force, or a halt that does not lift now and is not a daily-loss one (the
     * usual state of a halted run: nothing to test). They are the general path's steps with
     * those facts known: no day roll, no lift, no loss test while halted. */
    if (__builtin_expect(now_ns >= r->_day_end_ns, 0) ||
        (r->halted && (r->halt_kind == ND_BREAKER_DAILY_LOSS ||
                       (!r->kill_switch && now_ns >= r->halt_end_ns))))
        return on_equity_general(r, now_ns, equity_ext);
    r->_last_equity = equity_ext;
    if (equity_ext > r->_peak)
        r->_peak = equity_ext;
    return !r->halted && losses_tripped(r, now_ns, equity_ext);
}

void nd_risk_kill(nd_risk_t *r, int64_t now_ns, __int128 equity_ext)
{
    ND_ASSERT(r != NULL);
    r->kill_switch = true;
    record_trip(r, ND_BREAKER_KILL_SWITCH, now_ns, equity_ext, r->_started ? r->_peak : equity_ext,
                0);
}

void nd_risk_release(nd_risk_t *r)
{
    ND_ASSERT(r != NULL);
    r->kill_switch = false;
    r->halted = false;
    r->halt_end_ns = 0;
    /* The peak restarts from the equity at release: the old peak belongs to a halted run. */
    r->_peak = r->_last_equity;
}

void nd_risk_data_integrity_fail(nd_risk_t *r, int64_t now_ns, __int128 equity_ext,
                                 int64_t measured_e6)
{
    nd_risk_data_integrity_fail_input(r, now_ns, equity_ext, ND_INTEGRITY_UNSPECIFIED,
                                      measured_e6);
}

void nd_risk_data_integrity_fail_input(nd_risk_t *r, int64_t now_ns, __int128 equity_ext,
                                       nd_integrity_input_t input, int64_t measured_e6)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(measured_e6 >= 0);
    if (r->halted && r->halt_kind == ND_BREAKER_DATA_INTEGRITY)
        return; /* one trip per failure; it stays until released */
    /* Sticky like a drawdown halt (only a new UTC day lifts daily-loss halts): the engine must
     * not resume on its own on data it distrusted. */
    record_trip(r, ND_BREAKER_DATA_INTEGRITY, now_ns, equity_ext,
                r->_started ? r->_peak : equity_ext, 0);
    if (r->event_count > 0 && r->events[r->event_count - 1].kind == ND_BREAKER_DATA_INTEGRITY &&
        r->events[r->event_count - 1].ts_ns == now_ns) {
        r->events[r->event_count - 1].measured_e6 = measured_e6;
        r->events[r->event_count - 1].detail.input = (uint32_t)input;
    }
}

static int32_t saturate_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

bool nd_risk_anomaly(nd_risk_t *r, int64_t now_ns, __int128 equity_ext, uint32_t instrument_id,
                     const nd_anomaly_score_t *score)
{
    ND_ASSERT(r != NULL && score != NULL);
    ND_ASSERT(score->confidence_e6 >= 0 && score->confidence_e6 <= 1000000);
    if (r->cfg.anomaly_threshold_e6 == 0 || score->confidence_e6 < r->cfg.anomaly_threshold_e6)
        return false;
    if (r->halted && r->halt_kind == ND_BREAKER_ANOMALY)
        return false; /* one trip per halt */
    record_trip(r, ND_BREAKER_ANOMALY, now_ns, equity_ext, r->_started ? r->_peak : equity_ext,
                r->cfg.anomaly_threshold_e6 / 100);
    if (r->event_count == 0 || r->events[r->event_count - 1].kind != ND_BREAKER_ANOMALY ||
        r->events[r->event_count - 1].ts_ns != now_ns)
        return true; /* past the kept events: counted, not described */
    nd_breaker_event_t *e = &r->events[r->event_count - 1];
    e->measured_e6 = score->confidence_e6;
    e->detail.input = score->top >= 0 ? (uint32_t)score->top : 0;
    e->detail.scored = score->scored;
    e->detail.instrument_id = instrument_id;
    e->detail.evidence_e3 = score->evidence_e3;
    for (int k = 0; k < ND_ANOMALY_SCORES; k++) {
        e->detail.z_e3[k] = saturate_i32(score->z_e3[k]);
        e->detail.value_e6[k] = score->value_e6[k];
    }
    return true;
}

bool nd_risk_fast_move(nd_risk_t *r, int64_t now_ns, __int128 equity_ext, uint32_t instrument_id,
                       int64_t move_e6)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(move_e6 != 0 && move_e6 > -1000000);
    if (r->cfg.fast_move_e6 == 0)
        return false;
    nd_anomaly_score_t s;
    memset(&s, 0, sizeof s);
    s.ts_ns = now_ns;
    s.confidence_e6 = 1000000;
    s.warm = true;
    s.present = 1u << ND_ANOMALY_RETURN;
    s.scored = 1u << ND_ANOMALY_RETURN;
    s.top = ND_ANOMALY_FAST_MOVE;
    s.value_e6[ND_ANOMALY_RETURN] = move_e6;
    s.z_e3[ND_ANOMALY_RETURN] = move_e6 * 1000 / r->cfg.fast_move_e6;
    return nd_risk_anomaly(r, now_ns, equity_ext, instrument_id, &s);
}

int64_t nd_risk_drawdown_e6(const nd_risk_t *r)
{
    ND_ASSERT(r != NULL);
    if (!r->_started || r->_peak <= 0 || r->_last_equity >= r->_peak)
        return 0;
    __int128 dd = (r->_peak - r->_last_equity) * 1000000 / r->_peak;
    ND_ASSERT(dd >= 0);
    return dd > 1000000 ? 1000000 : (int64_t)dd;
}
