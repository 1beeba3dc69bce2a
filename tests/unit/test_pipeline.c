/* test_pipeline.c: the deployment pipeline (pipeline.h): version ids, the launch.pipeline
 * config, each gate passing and failing, the transitions the pipeline allows and refuses
 * (skips without force, unregistered versions, retired versions, a second production version),
 * rollback with its capital cut, executions read from order and fill records, validate reports,
 * a foreign record refused on load, and a property test over random operation sequences: the
 * state rebuilt from the store equals the state kept in memory and a model kept here, every
 * transition is a record in a chain that verifies, and a strategy has at most one version in
 * production. Stores are in memory ("mem:"). */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/fixed.h"
#include "noderr/pipeline.h"
#include "noderr/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY (86400LL * 1000000000LL)
#define T0 (1767225600LL * 1000000000LL) /* 2026-01-01 */

static nd_store_t *open_mem(void)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open("mem:", ND_STORE_CREATE, &s, err, sizeof err), ND_OK, "%s", err);
    return s;
}

static nd_pipeline_spec_t spec_of(const char *strategy, const char *params, char hash_digit)
{
    nd_pipeline_spec_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.strategy, sizeof s.strategy, "%s", strategy);
    snprintf(s.kind, sizeof s.kind, "builtin");
    snprintf(s.spec, sizeof s.spec, "%s", strategy);
    snprintf(s.params, sizeof s.params, "%s", params);
    memset(s.code_hash, hash_digit, 64);
    s.code_hash[64] = '\0';
    return s;
}

static nd_pipeline_actor_t actor(const char *who, const char *reason, int64_t ts, bool force)
{
    return (nd_pipeline_actor_t){who, reason, ts, force};
}

/* Registers spec and returns its id (static buffer per call site: copy it). */
static void reg(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_spec_t *spec, char *id)
{
    nd_pipeline_actor_t who = actor("alice", "", T0, false);
    bool added = false;
    char err[256] = "";
    cr_assert_eq(nd_pipeline_register(p, s, spec, &who, id, &added, err, sizeof err), ND_OK,
                 "%s", err);
}

/* Promotes id one stage with --force (no evidence needed). */
static nd_err_t force_to(nd_pipeline_t *p, nd_store_t *s, const char *id, nd_pipeline_stage_t to,
                         int64_t ts)
{
    nd_pipeline_config_t cfg;
    nd_pipeline_config_default(&cfg);
    nd_pipeline_evidence_t ev;
    memset(&ev, 0, sizeof ev);
    ev.now_ns = ts;
    nd_pipeline_actor_t who = actor("bob", "test override", ts, true);
    char err[512] = "";
    return nd_pipeline_promote(p, s, &cfg, id, to, &ev, &who, NULL, err, sizeof err);
}

/* ---- ids, names, config ------------------------------------------------------------------ */

Test(pipeline, version_id_known_answer_and_what_changes_it)
{
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5,\"slow\":30}", 'a');
    memcpy(a.code_hash, "abababababababababababababababababababababababababababababababab", 64);
    char id[ND_PIPELINE_ID_LEN + 1], id2[ND_PIPELINE_ID_LEN + 1];
    cr_assert_eq(nd_pipeline_version_id(&a, id), ND_OK);
    cr_assert_str_eq(id, "0ecf9dc29a8b"); /* sha256 of the documented encoding, by Python */
    nd_pipeline_spec_t b = a;
    snprintf(b.spec, sizeof b.spec, "/elsewhere/sma_cross"); /* the path is not the version */
    cr_assert_eq(nd_pipeline_version_id(&b, id2), ND_OK);
    cr_assert_str_eq(id, id2);
    b = a;
    snprintf(b.params, sizeof b.params, "{\"fast\":6,\"slow\":30}");
    nd_pipeline_version_id(&b, id2);
    cr_assert_str_neq(id, id2);
    b = a;
    b.code_hash[0] = 'c';
    nd_pipeline_version_id(&b, id2);
    cr_assert_str_neq(id, id2);
    b = a;
    snprintf(b.kind, sizeof b.kind, "lua");
    nd_pipeline_version_id(&b, id2);
    cr_assert_str_neq(id, id2);
    b = a;
    b.code_hash[0] = '\0';
    cr_assert_eq(nd_pipeline_version_id(&b, id2), ND_EINVAL);
}

Test(pipeline, stage_and_gate_names)
{
    for (int k = 0; k < ND_STAGE_COUNT; k++) {
        nd_pipeline_stage_t st;
        cr_assert_eq(nd_pipeline_stage_parse(nd_pipeline_stage_name(k), &st), ND_OK);
        cr_assert_eq((int)st, k);
    }
    nd_pipeline_stage_t st;
    cr_assert_eq(nd_pipeline_stage_parse("staging", &st), ND_ENOTFOUND);
    cr_assert_str_eq(nd_pipeline_gate_name(ND_GATE_PAPER_SLIPPAGE), "paper_slippage");
}

Test(pipeline, config_defaults_values_and_errors)
{
    nd_pipeline_config_t c;
    char err[256] = "";
    cr_assert_eq(nd_pipeline_config_parse(NULL, "x.json", &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.paper_days, 14);
    cr_assert_eq(c.rollback_share_e6, 500000);
    json_t *o = json_loads("{\"paper_days\": 3, \"canary_share\": 0.1, \"rollback_share\": 0.25,"
                           " \"slippage_bps_max\": 4, \"require_validation\": false}", 0, NULL);
    cr_assert_eq(nd_pipeline_config_parse(o, "x.json", &c, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(c.paper_days, 3);
    cr_assert_eq(c.canary_share_e6, 100000);
    cr_assert_eq(c.rollback_share_e6, 250000);
    cr_assert_eq(c.slippage_bps_max, 4);
    cr_assert(!c.require_validation);
    json_decref(o);
    o = json_loads("{\"paper_dayz\": 3}", 0, NULL);
    cr_assert_eq(nd_pipeline_config_parse(o, "x.json", &c, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "x.json: launch.pipeline") && strstr(err, "paper_dayz"), "%s", err);
    json_decref(o);
    o = json_loads("{\"rollback_share\": 1.5}", 0, NULL);
    cr_assert_eq(nd_pipeline_config_parse(o, "x.json", &c, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "launch.pipeline.rollback_share"), "%s", err);
    json_decref(o);
}

/* ---- gates ------------------------------------------------------------------------------- */

static nd_pipeline_exec_stats_t stats(int64_t orders, int64_t filled, int64_t pnl,
                                      int64_t buy_notional, int64_t buy_qty)
{
    nd_pipeline_exec_stats_t st;
    memset(&st, 0, sizeof st);
    st.orders = orders;
    st.orders_filled = filled;
    st.pnl = pnl;
    st.instrument_count = 1;
    snprintf(st.instruments[0].instrument, ND_NAME_MAX, "BTC/USDT");
    st.instruments[0].buy_notional = buy_notional;
    st.instruments[0].buy_qty = buy_qty;
    return st;
}

Test(pipeline, gate_validated)
{
    nd_pipeline_config_t c;
    nd_pipeline_config_default(&c);
    nd_pipeline_evidence_t ev;
    memset(&ev, 0, sizeof ev);
    nd_pipeline_gates_t g;
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_DEV, &ev, &g));
    cr_assert(strstr(g.gate[ND_GATE_VALIDATED].reason, "no validate report"));
    ev.validation = (nd_pipeline_validation_t){.present = true, .matches = true, .passed = 3};
    cr_assert(nd_pipeline_gates_eval(&c, ND_STAGE_DEV, &ev, &g));
    ev.validation.failed = 1;
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_DEV, &ev, &g));
    ev.validation.failed = 0;
    ev.validation.matches = false;
    snprintf(ev.validation.mismatch, sizeof ev.validation.mismatch, "judges rsi");
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_DEV, &ev, &g));
    cr_assert(strstr(g.gate[ND_GATE_VALIDATED].reason, "judges rsi"));
    c.require_validation = false;
    cr_assert(nd_pipeline_gates_eval(&c, ND_STAGE_DEV, &ev, &g));
    cr_assert(nd_pipeline_gates_eval(&c, ND_STAGE_BACKTEST, &ev, &g)); /* no gate */
    cr_assert_eq(g.checked, 0);
}

Test(pipeline, gate_paper_each_measure)
{
    nd_pipeline_config_t c;
    nd_pipeline_config_default(&c); /* 14 days, 2% of capital, 10 bp, 10 points */
    nd_pipeline_evidence_t ev;
    memset(&ev, 0, sizeof ev);
    ev.stage_since_ns = T0;
    ev.now_ns = T0 + 14 * DAY;
    ev.capital = 10000 * nd_pow10(ND_CASH_DECIMALS);
    ev.paper_present = true;
    ev.paper = stats(100, 80, 150 * nd_pow10(8), 1000000, 100);   /* vwap 10000 */
    ev.backtest = stats(100, 85, 100 * nd_pow10(8), 1000000, 100);
    nd_pipeline_gates_t g;
    cr_assert(nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g), "%s",
              g.gate[ND_GATE_PAPER_PNL].reason);
    cr_assert_eq(g.checked, 4);
    ev.now_ns = T0 + 14 * DAY - 1;
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g));
    cr_assert(!g.gate[ND_GATE_PAPER_DAYS].passed);
    ev.now_ns = T0 + 20 * DAY;
    ev.paper.pnl = 301 * nd_pow10(8); /* 201 away, tolerance 200 */
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g));
    cr_assert(!g.gate[ND_GATE_PAPER_PNL].passed);
    cr_assert(g.gate[ND_GATE_PAPER_SLIPPAGE].passed);
    ev.paper.pnl = 100 * nd_pow10(8);
    ev.paper.instruments[0].buy_notional = 1001200; /* 12 bp dearer */
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g));
    cr_assert(!g.gate[ND_GATE_PAPER_SLIPPAGE].passed);
    cr_assert_eq(nd_pipeline_slippage_bps(&ev.paper, &ev.backtest), 12);
    ev.paper.instruments[0].buy_notional = 1000000;
    ev.paper.orders_filled = 74; /* 74% vs 85% */
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g));
    cr_assert(!g.gate[ND_GATE_PAPER_FILL_RATE].passed);
    char text[512];
    nd_pipeline_gates_failed_text(&g, text, sizeof text);
    cr_assert(strstr(text, "paper_fill_rate (") && !strstr(text, "paper_pnl"), "%s", text);
    ev.paper_present = false;
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_PAPER, &ev, &g));
    cr_assert_eq(g.failed, 3);
}

Test(pipeline, slippage_sells_and_canary_days)
{
    nd_pipeline_exec_stats_t p = stats(0, 0, 0, 0, 0), b = stats(0, 0, 0, 0, 0);
    p.instruments[0].sell_notional = 995000; /* sold 50 bp cheaper */
    p.instruments[0].sell_qty = 100;
    b.instruments[0].sell_notional = 1000000;
    b.instruments[0].sell_qty = 100;
    cr_assert_eq(nd_pipeline_slippage_bps(&p, &b), 50);
    snprintf(b.instruments[0].instrument, ND_NAME_MAX, "ETH/USDT"); /* nothing shared */
    cr_assert_eq(nd_pipeline_slippage_bps(&p, &b), 0);
    cr_assert_eq(nd_pipeline_fill_rate_e6(&p), 1000000);
    nd_pipeline_config_t c;
    nd_pipeline_config_default(&c);
    nd_pipeline_evidence_t ev = {.stage_since_ns = T0, .now_ns = T0 + 6 * DAY};
    nd_pipeline_gates_t g;
    cr_assert(!nd_pipeline_gates_eval(&c, ND_STAGE_CANARY, &ev, &g));
    cr_assert(strstr(g.gate[ND_GATE_CANARY_DAYS].reason, "6d in canary of 7 days"), "%s",
              g.gate[ND_GATE_CANARY_DAYS].reason);
    ev.now_ns = T0 + 7 * DAY;
    cr_assert(nd_pipeline_gates_eval(&c, ND_STAGE_CANARY, &ev, &g));
}

/* ---- transitions ------------------------------------------------------------------------- */

Test(pipeline, register_is_idempotent_and_canonical)
{
    nd_store_t *s = open_mem();
    nd_pipeline_t *p = nd_pipeline_new();
    nd_pipeline_spec_t a = spec_of("sma_cross", "{ \"slow\": 30, \"fast\": 5 }", 'a');
    char id[13], id2[13];
    bool added = false;
    nd_pipeline_actor_t who = actor("alice", "", T0, false);
    char err[256] = "";
    cr_assert_eq(nd_pipeline_register(p, s, &a, &who, id, &added, err, sizeof err), ND_OK);
    cr_assert(added);
    snprintf(a.params, sizeof a.params, "{\"fast\":5,\"slow\":30}");
    cr_assert_eq(nd_pipeline_register(p, s, &a, &who, id2, &added, err, sizeof err), ND_OK);
    cr_assert(!added);
    cr_assert_str_eq(id, id2);
    cr_assert_eq(nd_store_last_seq(s), 1);
    snprintf(a.params, sizeof a.params, "[1]");
    cr_assert_eq(nd_pipeline_register(p, s, &a, &who, id2, &added, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "JSON object"), "%s", err);
    nd_pipeline_free(p);
    nd_store_close(s);
}

Test(pipeline, promotion_refusals)
{
    nd_store_t *s = open_mem();
    nd_pipeline_t *p = nd_pipeline_new();
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5}", 'a');
    char id[13], err[512] = "";
    reg(p, s, &a, id);
    nd_pipeline_config_t cfg;
    nd_pipeline_config_default(&cfg);
    nd_pipeline_evidence_t ev = {.now_ns = T0 + DAY};
    nd_pipeline_actor_t who = actor("alice", "", T0 + DAY, false);
    nd_pipeline_gates_t g;
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, "ffffffffffff", ND_STAGE_BACKTEST, &ev, &who, &g,
                                     err, sizeof err), ND_ENOTFOUND);
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_BACKTEST, &ev, &who, &g, err,
                                     sizeof err), ND_EDECLINED);
    cr_assert(strstr(err, "validated (no validate report given)"), "%s", err);
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_PAPER, &ev, &who, &g, err,
                                     sizeof err), ND_ESTATE);
    cr_assert(strstr(err, "skips backtest"), "%s", err);
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_RETIRED, &ev, &who, &g, err,
                                     sizeof err), ND_ESTATE);
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_DEV, &ev, &who, &g, err,
                                     sizeof err), ND_ESTATE);
    who.force = true; /* force without a reason */
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_PAPER, &ev, &who, &g, err,
                                     sizeof err), ND_EINVAL);
    cr_assert_eq(nd_store_last_seq(s), 1); /* nothing refused was recorded */
    who.reason = "validated by hand";
    cr_assert_eq(nd_pipeline_promote(p, s, &cfg, id, ND_STAGE_PAPER, &ev, &who, &g, err,
                                     sizeof err), ND_OK, "%s", err);
    const nd_pipeline_version_t *v = nd_pipeline_find(p, id);
    cr_assert_eq(v->stage, ND_STAGE_PAPER);
    cr_assert(v->history[1].forced);
    cr_assert_str_eq(v->history[1].who, "alice");
    cr_assert_str_eq(v->history[1].reason, "validated by hand");
    nd_pipeline_free(p);
    nd_store_close(s);
}

Test(pipeline, production_retires_and_rollback_restores)
{
    nd_store_t *s = open_mem();
    nd_pipeline_t *p = nd_pipeline_new();
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5}", 'a');
    nd_pipeline_spec_t b = spec_of("sma_cross", "{\"fast\":6}", 'a');
    char ida[13], idb[13], err[512] = "";
    reg(p, s, &a, ida);
    reg(p, s, &b, idb);
    cr_assert_eq(force_to(p, s, ida, ND_STAGE_PRODUCTION, T0 + DAY), ND_OK);
    cr_assert_eq(force_to(p, s, idb, ND_STAGE_PRODUCTION, T0 + 2 * DAY), ND_OK);
    cr_assert_eq(nd_pipeline_find(p, ida)->stage, ND_STAGE_RETIRED);
    cr_assert_str_eq(nd_pipeline_in_stage(p, "sma_cross", ND_STAGE_PRODUCTION)->id, idb);
    cr_assert_eq(force_to(p, s, ida, ND_STAGE_PRODUCTION, T0 + 3 * DAY), ND_ESTATE);
    nd_pipeline_config_t cfg;
    nd_pipeline_config_default(&cfg);
    nd_pipeline_actor_t who = actor("launch", "", T0 + 4 * DAY, false);
    nd_pipeline_rollback_t rb;
    cr_assert_eq(nd_pipeline_rollback(p, s, &cfg, "sma_cross", NULL, &who, 200000, &rb, err,
                                      sizeof err), ND_EINVAL); /* a rollback needs its trigger */
    who.reason = "breaker drawdown 9% >= 8%";
    cr_assert_eq(nd_pipeline_rollback(p, s, &cfg, "sma_cross", idb, &who, 200000, &rb, err,
                                      sizeof err), ND_ESTATE); /* not a retired version */
    cr_assert_eq(nd_pipeline_rollback(p, s, &cfg, "sma_cross", NULL, &who, 200000, &rb, err,
                                      sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(rb.from_id, idb);
    cr_assert_str_eq(rb.to_id, ida);
    cr_assert_eq(rb.share_e6, 100000);
    cr_assert_str_eq(rb.spec.params, "{\"fast\":5}");
    cr_assert_eq(nd_pipeline_find(p, ida)->stage, ND_STAGE_PRODUCTION);
    cr_assert_eq(nd_pipeline_find(p, idb)->stage, ND_STAGE_DEV);
    cr_assert_eq(nd_pipeline_rollback(p, s, &cfg, "sma_cross", NULL, &who, 200000, &rb, err,
                                      sizeof err), ND_ENOTFOUND);
    cr_assert(strstr(err, "no retired version"), "%s", err);
    cr_assert_eq(nd_pipeline_rollback(p, s, &cfg, "rsi", NULL, &who, 200000, &rb, err,
                                      sizeof err), ND_ENOTFOUND);
    nd_pipeline_free(p);
    nd_store_close(s);
}

/* The state rebuilt from the store, as JSON text, equals the state in memory's. */
static void assert_rebuilt_equal(nd_store_t *s, const nd_pipeline_t *p)
{
    nd_pipeline_t *q = NULL;
    char err[512] = "";
    cr_assert_eq(nd_pipeline_load(s, &q, err, sizeof err), ND_OK, "%s", err);
    json_t *a = nd_pipeline_json(p), *b = nd_pipeline_json(q);
    cr_assert(json_equal(a, b), "the state rebuilt from the store differs");
    json_decref(a);
    json_decref(b);
    nd_pipeline_free(q);
}

Test(pipeline, foreign_record_refused_on_load)
{
    nd_store_t *s = open_mem();
    nd_pipeline_t *p = nd_pipeline_new();
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5}", 'a');
    char id[13], err[512] = "";
    reg(p, s, &a, id);
    char detail[160];
    snprintf(detail, sizeof detail, "{\"version\":\"%s\",\"from\":\"dev\",\"to\":\"production\","
             "\"forced\":false}", id);
    nd_record_t r = {.ts_ns = T0, .kind = ND_RECORD_PIPELINE, .event = "promoted",
                     .account = "mallory", .strategy = "sma_cross", .detail = detail};
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_OK);
    nd_record_t bad = r; /* a second production version from dev is impossible after it */
    cr_assert_eq(nd_store_append(s, &bad, err, sizeof err), ND_OK);
    nd_pipeline_t *q = NULL;
    cr_assert_eq(nd_pipeline_load(s, &q, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "pipeline record seq 3"), "%s", err);
    nd_pipeline_free(p);
    nd_store_close(s);
}

/* ---- executions from records ------------------------------------------------------------- */

static void append_exec(nd_store_t *s, nd_record_kind_t kind, const char *event, int side,
                        int64_t px, int64_t qty, int64_t notional, int64_t fee, const char *strat)
{
    nd_record_t r = {.ts_ns = T0 + 10, .kind = kind, .event = event, .account = "sess",
                     .strategy = strat, .instrument = "BTC/USDT", .venue = "l2sim",
                     .client_order_id = "1", .side = side, .px = px, .qty = qty,
                     .px_scale = 2, .qty_scale = 5, .notional = notional, .fee = fee};
    char err[256] = "";
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_OK, "%s", err);
}

Test(pipeline, exec_stats_from_records)
{
    nd_store_t *s = open_mem();
    /* Buy 0.002 at 100.00 (notional 0.2 = 20000000 cash units), sell 0.001 at 110.00. */
    append_exec(s, ND_RECORD_ORDER, "submitted", 1, 10000, 200, 0, 0, "qm");
    append_exec(s, ND_RECORD_FILL, "taker", 1, 10000, 200, 20000000, 10000, "qm");
    append_exec(s, ND_RECORD_ORDER, "filled", 1, 10000, 200, 20000000, 10000, "qm");
    append_exec(s, ND_RECORD_ORDER, "submitted", -1, 11000, 100, 0, 0, "qm");
    append_exec(s, ND_RECORD_FILL, "maker", -1, 11000, 100, 11000000, 5000, "qm");
    append_exec(s, ND_RECORD_ORDER, "submitted", 1, 9000, 100, 0, 0, "other");
    nd_pipeline_exec_stats_t st;
    char err[256] = "";
    cr_assert_eq(nd_pipeline_exec_stats_load(s, "qm", "sess", 0, 0, &st, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(st.orders, 2);
    cr_assert_eq(st.orders_filled, 1);
    cr_assert_eq(st.fills, 2);
    cr_assert_eq(st.fees, 15000);
    /* -0.2 + 0.11 - fees 0.00015 + 0.001 held at 110.00 (0.11) = 0.01985 */
    cr_assert_eq(st.pnl, 1985000);
    cr_assert_eq(nd_pipeline_fill_rate_e6(&st), 500000);
    cr_assert_eq(nd_pipeline_exec_stats_load(s, "qm", "other-session", 0, 0, &st, err,
                                             sizeof err), ND_OK);
    cr_assert_eq(st.orders, 0);
    cr_assert_eq(nd_pipeline_exec_stats_load(s, "qm", NULL, T0 + 11, 0, &st, err, sizeof err),
                 ND_OK);
    cr_assert_eq(st.fills, 0); /* the period excludes them */
    nd_store_close(s);
}

Test(pipeline, validation_report_matches_strategy_and_params)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/nd_pipeline_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs("{\"strategy\": \"sma_cross\", \"params\": {\"slow\": 30, \"fast\": 5}, "
          "\"passed\": 4, \"failed\": 0}", f);
    cr_assert_eq(fclose(f), 0);
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5,\"slow\":30}", 'a');
    nd_pipeline_validation_t v;
    char err[256] = "";
    cr_assert_eq(nd_pipeline_validation_load(path, &a, &v, err, sizeof err), ND_OK, "%s", err);
    cr_assert(v.present && v.matches);
    cr_assert_eq(v.passed, 4);
    snprintf(a.params, sizeof a.params, "{\"fast\":6,\"slow\":30}");
    cr_assert_eq(nd_pipeline_validation_load(path, &a, &v, err, sizeof err), ND_OK);
    cr_assert(!v.matches);
    cr_assert(strstr(v.mismatch, "parameters differ"), "%s", v.mismatch);
    snprintf(a.strategy, sizeof a.strategy, "rsi");
    nd_pipeline_validation_load(path, &a, &v, err, sizeof err);
    cr_assert(strstr(v.mismatch, "judges sma_cross, not rsi"), "%s", v.mismatch);
    unlink(path);
    cr_assert_neq(nd_pipeline_validation_load(path, &a, &v, err, sizeof err), ND_OK);
}

/* ---- property: random operation sequences ------------------------------------------------ */

#define P_VERSIONS 8

static uint64_t cur_seed;        /* printed by every failure of the property test */
static int64_t rollbacks_done;   /* coverage: the sequences did roll back */

typedef struct model {
    char id[P_VERSIONS][13];
    int strategy[P_VERSIONS];
    nd_pipeline_stage_t stage[P_VERSIONS];
    bool registered[P_VERSIONS];
    int64_t transitions;          /* records the model expects */
} model_t;

static int prod_of(const model_t *m, int strategy)
{
    for (int k = 0; k < P_VERSIONS; k++)
        if (m->registered[k] && m->strategy[k] == strategy && m->stage[k] == ND_STAGE_PRODUCTION)
            return k;
    return -1;
}

/* One random operation, applied to the pipeline and, when it succeeded, to the model. */
static void random_op(nd_rand_t *r, nd_pipeline_t *p, nd_store_t *s, model_t *m, int64_t ts,
                      const nd_pipeline_spec_t *specs)
{
    int k = (int)nd_rand_below(r, P_VERSIONS), op = (int)nd_rand_below(r, 4);
    if (op == 0 || !m->registered[k]) {
        char id[13];
        reg(p, s, &specs[k], id);
        m->transitions += !m->registered[k];
        m->registered[k] = true;
        memcpy(m->id[k], id, sizeof id);
        return;
    }
    if (op == 3) {
        nd_pipeline_config_t cfg;
        nd_pipeline_config_default(&cfg);
        nd_pipeline_actor_t who = actor("launch", "health failed", ts, false);
        nd_pipeline_rollback_t rb;
        char err[512];
        if (nd_pipeline_rollback(p, s, &cfg, specs[k].strategy, NULL, &who, 1000000, &rb, err,
                                 sizeof err) == ND_OK) {
            int from = -1, to = -1;
            for (int j = 0; j < P_VERSIONS; j++) {
                from = m->registered[j] && strcmp(m->id[j], rb.from_id) == 0 ? j : from;
                to = m->registered[j] && strcmp(m->id[j], rb.to_id) == 0 ? j : to;
            }
            cr_assert(from >= 0 && to >= 0 && m->stage[from] == ND_STAGE_PRODUCTION);
            cr_assert_eq(m->stage[to], ND_STAGE_RETIRED);
            rollbacks_done++;
            m->stage[from] = ND_STAGE_DEV;
            m->stage[to] = ND_STAGE_PRODUCTION;
            m->transitions += 2;
        }
        return;
    }
    nd_pipeline_stage_t to = (nd_pipeline_stage_t)nd_rand_below(r, ND_STAGE_COUNT);
    int prod = prod_of(m, m->strategy[k]);
    nd_err_t rc = force_to(p, s, m->id[k], to, ts);
    bool legal = to != ND_STAGE_RETIRED && to != m->stage[k] &&
                 !(m->stage[k] == ND_STAGE_RETIRED && to == ND_STAGE_PRODUCTION);
    cr_assert_eq(rc == ND_OK, legal, "seed %llu: op to %d from %d: %d",
                 (unsigned long long)cur_seed, to, m->stage[k], rc);
    if (rc != ND_OK)
        return;
    if (to == ND_STAGE_PRODUCTION && prod >= 0) {
        m->stage[prod] = ND_STAGE_RETIRED;
        m->transitions++;
    }
    m->stage[k] = to;
    m->transitions++;
}

static void check_model(nd_store_t *s, const nd_pipeline_t *p, const model_t *m)
{
    assert_rebuilt_equal(s, p);
    for (int k = 0; k < P_VERSIONS; k++) {
        if (!m->registered[k])
            continue;
        const nd_pipeline_version_t *v = nd_pipeline_find(p, m->id[k]);
        cr_assert(v != NULL);
        cr_assert_eq(v->stage, m->stage[k], "seed %llu: version %d: %d vs model %d",
                     (unsigned long long)cur_seed, k, v->stage, m->stage[k]);
    }
    for (int strat = 0; strat < 3; strat++) {
        int prods = 0;
        for (int k = 0; k < P_VERSIONS; k++)
            prods += m->registered[k] && m->strategy[k] == strat &&
                     m->stage[k] == ND_STAGE_PRODUCTION;
        cr_assert_leq(prods, 1, "seed %llu", (unsigned long long)cur_seed);
    }
    cr_assert_eq(nd_store_last_seq(s), m->transitions, "seed %llu: every transition is a record",
                 (unsigned long long)cur_seed);
    nd_audit_result_t ar;
    char err[256] = "";
    cr_assert_eq(nd_audit_verify(s, &ar, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(ar.problem, ND_AUDIT_OK, "seed %llu: %s", (unsigned long long)cur_seed,
                 ar.detail);
}

Test(pipeline, property_random_sequences)
{
    static const char *const names[3] = {"sma_cross", "rsi_bands", "quote_maker"};
    nd_pipeline_spec_t specs[P_VERSIONS];
    for (int k = 0; k < P_VERSIONS; k++) {
        char params[32];
        snprintf(params, sizeof params, "{\"n\":%d}", k);
        specs[k] = spec_of(names[k % 3], params, 'a' + (char)(k % 5));
    }
    for (uint64_t seed = 1; seed <= 300; seed++) {
        cur_seed = seed;
        nd_rand_t r;
        nd_rand_init(&r, seed);
        nd_store_t *s = open_mem();
        nd_pipeline_t *p = nd_pipeline_new();
        model_t m;
        memset(&m, 0, sizeof m);
        for (int k = 0; k < P_VERSIONS; k++)
            m.strategy[k] = k % 3;
        int steps = 20 + (int)nd_rand_below(&r, 60);
        for (int step = 0; step < steps; step++)
            random_op(&r, p, s, &m, T0 + step * DAY, specs);
        check_model(s, p, &m);
        nd_pipeline_free(p);
        nd_store_close(s);
    }
    cr_assert_gt(rollbacks_done, 10, "the sequences rolled back only %lld times",
                 (long long)rollbacks_done);
}

Test(pipeline, retention_keeps_pipeline_records)
{
    nd_store_t *s = open_mem();
    nd_pipeline_t *p = nd_pipeline_new();
    nd_pipeline_spec_t a = spec_of("sma_cross", "{\"fast\":5}", 'a');
    char id[13], err[512] = "";
    reg(p, s, &a, id);
    cr_assert_eq(force_to(p, s, id, ND_STAGE_PRODUCTION, T0 + DAY), ND_OK);
    cr_assert_str_eq(nd_record_kind_name(ND_RECORD_PIPELINE), "pipeline");
    cr_assert_eq(nd_retention_class_of(ND_RECORD_PIPELINE), -1);
    nd_retention_policy_t policy;
    nd_retention_policy_default(&policy);
    nd_retention_result_t rr;
    cr_assert_eq(nd_retention_apply(s, &policy, T0 + 20 * 365 * DAY, false, &rr, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(rr.pruned_total, 0);
    assert_rebuilt_equal(s, p);
    nd_pipeline_free(p);
    nd_store_close(s);
}
