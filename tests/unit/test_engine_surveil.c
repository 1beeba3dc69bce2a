/* test_engine_surveil.c: strict pre-trade surveillance inside the engine. Two strategies of one
 * engine (one account, one beneficial owner) post limit orders from a script: an order that
 * would cross the other strategy's resting order is blocked as a self-match and recorded (a
 * recorder on a memory store is the listener), an order above the profile's hard notional
 * limit is blocked, cancels and fills release resting orders, and with the profile off
 * (the default) the same script sends every order. */
#include <criterion/criterion.h>

#include "noderr/engine.h"
#include "noderr/fixed.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <string.h>

#define U 100000000LL
#define T0 (1577836800LL * ND_NS_PER_SEC)

/* One scripted action: on bar `bar`, strategy `who` sends a limit order (side, px, qty in
 * whole units) or, with qty 0, cancels its order sent by action `cancel_of`. */
typedef struct action {
    int bar, who;
    nd_side_t side;
    int64_t px, qty;
    int cancel_of;
} action_t;

static action_t script[16];
static int script_count;
static uint64_t sent_ids[16];        /* client id of each action's order (0 = none) */
static nd_err_t submit_rc[16];

typedef struct quoter {
    uint32_t inst, index;
    int bar;
} quoter_t;

static size_t quoter_size(const double *params)
{
    (void)params;
    return sizeof(quoter_t);
}

static nd_err_t quoter_start(void *state, const double *params, uint32_t inst,
                             nd_strategy_ctx_t *ctx)
{
    (void)params;
    quoter_t *q = state;
    q->inst = inst;
    q->index = ctx->strategy_index;
    return ND_OK;
}

static void quoter_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    quoter_t *q = state;
    (void)bar;
    for (int k = 0; k < script_count; k++) {
        const action_t *a = &script[k];
        if (a->bar != q->bar || a->who != (int)q->index)
            continue;
        if (a->qty == 0) {
            submit_rc[k] = ctx->cancel(ctx, sent_ids[a->cancel_of]);
            continue;
        }
        nd_order_intent_t in = {q->inst, a->side, ND_ORDER_LIMIT, a->px * U, a->qty * U};
        submit_rc[k] = ctx->submit(ctx, &in, &sent_ids[k]);
    }
    q->bar++;
}

static const nd_strategy_def_t quoter_def = {
    .name = "quoter",
    .summary = "scripted limit orders",
    .state_size = quoter_size,
    .on_start = quoter_start,
    .on_bar = quoter_bar,
};

static nd_engine_t *engine;
static nd_clock_sim_t clock_sim;
static nd_store_t *store;
static nd_recorder_t *recorder;
static nd_instrument_t inst;
static nd_surv_profile_t profile;
static const char *const names[2] = {"quoter_a", "quoter_b"};

static void make_engine(const nd_surv_profile_t *p)
{
    char err[256];
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.allow_short = true;
    cfg.venue.max_volume_share_e4 = 10000;
    cfg.pretrade_profile = p;
    nd_clock_sim_init(&clock_sim, T0);
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_OK, "%s", err);
    static const double none[1] = {0};
    for (int s = 0; s < 2; s++)
        cr_assert_eq(nd_engine_add_strategy(engine, &quoter_def, none, 0, 500000, err, sizeof err),
                     ND_OK, "%s", err);
    cr_assert_eq(nd_store_open("mem:", 0, &store, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_recorder_create(store, "acct-1", &inst, 1, names, 2, 0, &recorder, err,
                                    sizeof err), ND_OK, "%s", err);
    nd_engine_listener_t l = {nd_recorder_on_event, nd_recorder_on_bar_done, NULL, recorder};
    nd_engine_set_listener(engine, &l);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
}

static void setup(void)
{
    memset(script, 0, sizeof script);
    memset(sent_ids, 0, sizeof sent_ids);
    memset(submit_rc, 0, sizeof submit_rc);
    script_count = 0;
    engine = NULL;
    store = NULL;
    recorder = NULL;
    profile = *nd_jurisdiction_profile(ND_JUR_US);
}

static void teardown(void)
{
    nd_engine_destroy(engine);
    nd_recorder_destroy(recorder);
    nd_store_close(store);
}

TestSuite(engine_surveil, .init = setup, .fini = teardown);

static void add(int bar, int who, nd_side_t side, int64_t px, int64_t qty, int cancel_of)
{
    script[script_count++] = (action_t){bar, who, side, px, qty, cancel_of};
}

/* Bar k: open/close 100, high 100.5; low as given (a low under a buy limit fills it). */
static void bar(int k, double low)
{
    nd_bar_t b = {T0 + k * ND_NS_PER_HOUR, 100 * U, 100 * U + U / 2, (int64_t)(low * U),
                  100 * U, 1000 * U, 0, 0};
    cr_assert_eq(nd_clock_sim_set(&clock_sim, b.ts_ns), ND_OK);
    cr_assert_eq(nd_engine_on_bar(engine, &b), ND_OK);
}

/* What the recorder stored: rejected order records and their reasons, in order. */
typedef struct rejected {
    int count;
    char reasons[8][32];
    char ids[8][24];
    char strategies[8][16];
} rejected_t;

static nd_err_t on_record(void *ctx, const nd_record_t *rec)
{
    rejected_t *r = ctx;
    if (strcmp(rec->event, "rejected") == 0 && r->count < 8) {
        snprintf(r->reasons[r->count], 32, "%s", rec->reason);
        snprintf(r->ids[r->count], 24, "%s", rec->client_order_id);
        snprintf(r->strategies[r->count], 16, "%s", rec->strategy);
        r->count++;
    }
    return ND_OK;
}

static rejected_t stored_rejects(void)
{
    char err[128];
    rejected_t r;
    memset(&r, 0, sizeof r);
    nd_record_filter_t f = {0};
    f.kind_mask = 1u << ND_RECORD_ORDER | 1u << ND_RECORD_RISK_REJECT;
    cr_assert_eq(nd_recorder_flush(recorder, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_scan(store, &f, &r, on_record, err, sizeof err), ND_OK, "%s", err);
    return r;
}

/* A buys at 99 (rests: the next bar's low is 99.5); B then sells at 98 (would cross A's buy:
 * blocked) and at 101 (does not cross: sent). A cancels its buy; B's sell at 98 goes through. */
static void self_match_script(void)
{
    add(0, 0, ND_SIDE_BUY, 99, 1, 0);   /* 0: A buy 99 */
    add(1, 1, ND_SIDE_SELL, 98, 1, 0);  /* 1: B sell 98 crosses A's resting buy */
    add(1, 1, ND_SIDE_SELL, 101, 1, 0); /* 2: B sell 101 does not cross */
    add(2, 0, ND_SIDE_BUY, 0, 0, 0);    /* 3: A cancels action 0's order */
    add(3, 1, ND_SIDE_SELL, 98, 1, 0);  /* 4: B sell 98 again: nothing rests to cross now */
}

Test(engine_surveil, self_match_blocked_and_recorded)
{
    self_match_script();
    make_engine(&profile);
    for (int k = 0; k < 4; k++)
        bar(k, 99.5);
    const nd_engine_stats_t *st = nd_engine_stats(engine);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SELF_MATCH), 1);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SURVEILLANCE_LIMIT), 0);
    cr_assert_eq(st->orders_submitted, 4);
    cr_assert_eq(st->orders_accepted, 3);
    cr_assert_eq(st->orders_rejected, 1);
    cr_assert_eq(st->orders_cancelled, 1);
    cr_assert_eq(submit_rc[1], ND_OK); /* a reject is an event, not an error */
    cr_assert_eq(submit_rc[3], ND_OK);
    rejected_t r = stored_rejects();
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.reasons[0], nd_reject_name(ND_REJECT_SELF_MATCH));
    cr_assert_str_eq(r.ids[0], "2"); /* client ids: A's buy 1, B's blocked sell 2 */
    cr_assert_str_eq(r.strategies[0], "quoter_b");
}

Test(engine_surveil, fill_releases_the_resting_order)
{
    add(0, 0, ND_SIDE_BUY, 99, 1, 0);  /* A buy 99: filled by bar 1 (low 98.9) */
    add(1, 1, ND_SIDE_SELL, 98, 1, 0); /* after the fill nothing rests: sent */
    make_engine(&profile);
    bar(0, 99.5);
    bar(1, 98.9);
    cr_assert_eq(nd_engine_stats(engine)->fills, 1);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SELF_MATCH), 0);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 2);
    cr_assert_eq(stored_rejects().count, 0);
}

Test(engine_surveil, hard_notional_limit_blocks)
{
    profile.pretrade_order_notional_max = 500 * U; /* 500 quote units */
    add(0, 0, ND_SIDE_BUY, 99, 5, 0); /* 495: under the limit, sent */
    add(0, 1, ND_SIDE_BUY, 99, 6, 0); /* 594: over the limit, blocked */
    make_engine(&profile);
    bar(0, 99.5);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SURVEILLANCE_LIMIT), 1);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SELF_MATCH), 0);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 1);
    rejected_t r = stored_rejects();
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.reasons[0], nd_reject_name(ND_REJECT_SURVEILLANCE_LIMIT));
    cr_assert_str_eq(r.strategies[0], "quoter_b");
}

Test(engine_surveil, message_rate_limit_blocks)
{
    profile.pretrade_msgs_max = 2; /* per hf_window (1 s) per account and symbol */
    add(0, 0, ND_SIDE_BUY, 93, 1, 0);
    add(0, 0, ND_SIDE_BUY, 94, 1, 0);
    add(0, 1, ND_SIDE_BUY, 95, 1, 0); /* third message in the same second: blocked */
    add(1, 1, ND_SIDE_BUY, 95, 1, 0); /* an hour later: sent */
    make_engine(&profile);
    bar(0, 99.5);
    bar(1, 99.5);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SURVEILLANCE_LIMIT), 1);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 3);
}

Test(engine_surveil, off_by_default_sends_everything)
{
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cr_assert_null(cfg.pretrade_profile);
    self_match_script();
    make_engine(NULL);
    for (int k = 0; k < 4; k++)
        bar(k, 99.5);
    const nd_engine_stats_t *st = nd_engine_stats(engine);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_SELF_MATCH), 0);
    cr_assert_eq(st->orders_submitted, 4);
    cr_assert_eq(st->orders_accepted, 4);
    cr_assert_eq(st->orders_rejected, 0);
    cr_assert_eq(stored_rejects().count, 0);
}
