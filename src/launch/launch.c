/* launch.c: the integrator (launch.h, docs/launcher.md "The integrator"): a session run under
 * the module supervisor, with the health check on the session's loop. The modules map onto the
 * session's parts: the feed's restart is a fresh connection (subscribed again), the store's a
 * commit retried, the strategies are paused while a module they depend on is out. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/json_cfg.h"
#include "noderr/log.h"
#include "noderr/prom.h"
#include "noderr/venue.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define NS_PER_MS 1000000LL
#define SUP_TICK_MS 50
#define HISTORY_MAX 32

struct nd_launch {
    const nd_live_config_t *cfg;
    nd_launch_config_t lc;
    const nd_clock_t *clock;
    nd_live_session_t *session;
    nd_sup_t sup;
    uv_timer_t health_timer, sup_timer;
    uv_signal_t sig_reload;         /* SIGUSR2: the pipeline changed (nd_live_notify_pipeline) */
    bool timers_ready;
    uint32_t venue_count;           /* the config's venues: the feed, venue and strategies
                                     * modules are one per venue (named feed.binance, ... with
                                     * two) */
    struct nd__launch_venue_ctx {
        nd_launch_t *l;
        uint32_t v;
    } vctx[ND_LIVE_VENUES_MAX];
    uint32_t m_feed[ND_LIVE_VENUES_MAX], m_venue[ND_LIVE_VENUES_MAX], m_strat[ND_LIVE_VENUES_MAX];
    uint32_t m_risk, m_monitoring;  /* supervisor indexes (host, store, refprice: 0, 1, 2) */
    nd_launch_sample_t prev[ND_LIVE_VENUES_MAX];
    bool have_prev;
    nd_launch_verdict_t last[ND_SUP_MODULES_MAX]; /* the last check's, by supervisor index */
    /* Two venues: each venue's rule (nd_launch_venue_rule) and since when its order path is out */
    nd_launch_venue_action_t action[ND_LIVE_VENUES_MAX];
    char action_why[ND_LIVE_VENUES_MAX][160];
    int64_t out_since_ns[ND_LIVE_VENUES_MAX];
    bool venue_tripped;             /* the rule tripped the kill switch (once) */
    int64_t last_check_ns;
    uint64_t checks;
    int64_t started_mono_ns, first_order_ms; /* -1: no order yet */
    int64_t started_ns;             /* the live clock at create: time_lapse's origin */
    nd_sup_change_t history[HISTORY_MAX];
    char history_reason[HISTORY_MAX][160];
    uint32_t history_count;      /* all changes; the last HISTORY_MAX kept */
    bool strategies_paused[ND_LIVE_VENUES_MAX];
    nd__launch_capital_t capital;
    nd__launch_metrics_t metrics;
    /* The venue probe: GET /api/v3/time on libuv's worker pool (never on the engine's thread),
     * its last finished result read by the next health check. */
    nd__venue_probe_t probe_venue[ND_LIVE_VENUES_MAX]; /* each venue's clock (launch_health.c) */
    uv_work_t probe;
    bool probe_busy;
    /* per venue, only the probed fields are used (refprice and monitoring: [0]'s) */
    nd_launch_sample_t probe_out[ND_LIVE_VENUES_MAX], probe_last[ND_LIVE_VENUES_MAX];
    nd_preflight_settings_t settings;        /* the oracle the probe reads */
    char metrics_url[128];                   /* the probe's scrape, "" without metrics */
};

nd_err_t nd_launch_config_parse(const nd_live_config_t *cfg, nd_launch_config_t *out,
                                char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    nd_sup_config_default(&out->sup); /* restarts back off from 100 ms to 30 s */
    out->health_every_ns = 10000 * NS_PER_MS;
    out->feed_stale_ns = 5000 * NS_PER_MS;
    out->store_write_warn_ns = 250 * NS_PER_MS;
    out->venue_rtt_warn_ns = 1000 * NS_PER_MS;
    out->venue_down_halt_ns = 30000 * NS_PER_MS;
    out->recv_window_ms = 5000;
    out->time_lapse = 1;
    out->reject_rate_warn_e4 = 5000;
    out->disk_free_mb_min = 512;
    out->memory_free_mb_min = 256;
    const nd_jcfg_field_t fields[] = {
        {"health_every_ms", ND_JCFG_INT, &out->health_every_ns, .lo = 100, .hi = 3600000,
         .scale = NS_PER_MS},
        {"feed_stale_ms", ND_JCFG_INT, &out->feed_stale_ns, .lo = 100, .hi = 3600000,
         .scale = NS_PER_MS},
        {"store_write_warn_ms", ND_JCFG_INT, &out->store_write_warn_ns, .lo = 1, .hi = 600000,
         .scale = NS_PER_MS},
        {"venue_rtt_warn_ms", ND_JCFG_INT, &out->venue_rtt_warn_ns, .lo = 1, .hi = 600000,
         .scale = NS_PER_MS},
        {"time_lapse", ND_JCFG_INT, &out->time_lapse, .lo = 1, .hi = 1000000},
        {"venue_down_halt_ms", ND_JCFG_INT, &out->venue_down_halt_ns, .lo = 0, .hi = 3600000,
         .scale = NS_PER_MS},
        {"reject_rate_warn", ND_JCFG_FRACTION, &out->reject_rate_warn_e4, .real_lo = 0.0001,
         .real_hi = 1, .places = 4},
        {"disk_free_mb_min", ND_JCFG_INT, &out->disk_free_mb_min, .lo = 0, .hi = INT64_MAX / 2},
        {"memory_free_mb_min", ND_JCFG_INT, &out->memory_free_mb_min, .lo = 0,
         .hi = INT64_MAX / 2},
        {"restart_backoff_ms", ND_JCFG_INT, &out->sup.backoff_min_ns, .lo = 1, .hi = 600000,
         .scale = NS_PER_MS},
        {"restart_backoff_max_ms", ND_JCFG_INT, &out->sup.backoff_max_ns, .lo = 1,
         .hi = 3600000, .scale = NS_PER_MS},
        /* the sections below, each read by its own parser */
        {"pipeline", ND_JCFG_KEY, .out = NULL},
        {"ramp", ND_JCFG_KEY, .out = NULL},
        {"allocation", ND_JCFG_KEY, .out = NULL},
        {"rollback", ND_JCFG_KEY, .out = NULL},
        {"shutdown", ND_JCFG_KEY, .out = NULL},
        {.key = NULL},
    };
    nd_jcfg_t c = {cfg->path, "launch", err, err_len};
    json_t *l;
    nd_err_t rc = nd_jcfg_section_fields(
        &c, cfg->root ? json_object_get(cfg->root, "launch") : NULL, "launch", fields, &l);
    if (rc != ND_OK)
        return rc;
    if (out->sup.backoff_max_ns < out->sup.backoff_min_ns)
        return nd_jcfg_bad(&c, "restart_backoff_max_ms", "is under restart_backoff_ms");
    json_t *alloc = l ? json_object_get(l, "allocation") : NULL;
    out->allocation_dynamic = alloc != NULL;
    if ((rc = nd_ramp_config_parse(l ? json_object_get(l, "ramp") : NULL, cfg->path, &out->ramp,
                                   err, err_len)) != ND_OK ||
        (rc = nd_guard_config_parse(l ? json_object_get(l, "rollback") : NULL, cfg->path,
                                    &out->rollback, err, err_len)) != ND_OK ||
        (rc = nd_allocation_config_parse(alloc, cfg->path, &out->allocation, err, err_len)) !=
            ND_OK ||
        (rc = nd_pipeline_config_parse(l ? json_object_get(l, "pipeline") : NULL, cfg->path,
                                       &out->pipeline, err, err_len)) != ND_OK ||
        (rc = nd_live_shutdown_config_parse(l ? json_object_get(l, "shutdown") : NULL, cfg->path,
                                            &out->shutdown, err, err_len)) != ND_OK)
        return rc;
    return ND_OK;
}

/* ---- the modules ------------------------------------------------------------------------- */

static nd_err_t feed_start(void *ctx, char *err, size_t err_len)
{
    struct nd__launch_venue_ctx *vc = ctx;
    nd_launch_t *l = vc->l;
    (void)err;
    (void)err_len;
    if (!l->sup.started) /* the first start is the session's own connection */
        return ND_OK;
    if (l->venue_count > 1) /* a restart: that venue's stream alone */
        nd_live_session_venue_feed_reconnect(l->session, vc->v);
    else
        nd_live_session_feed_reconnect(l->session);
    return ND_OK;
}

/* The store's file system is full: a commit would fail, so the module is out until space
 * returns (a session without a file store: never). */
static bool store_fs_full(const nd_launch_t *l, char *why, size_t why_len)
{
    int64_t free_kb = nd__launch_store_free_kb(l->cfg->store_url);
    if (free_kb < 0 || free_kb >= ND__LAUNCH_STORE_FULL_KB)
        return false;
    snprintf(why, why_len, "the store's file system is full (%lld KiB free)", (long long)free_kb);
    return true;
}

/* The store's (re)start: a commit, which after a failure reopens the database and writes what
 * the store held (nd_store_set_hold); refused while its file system is full. */
static nd_err_t store_start(void *ctx, char *err, size_t err_len)
{
    nd_launch_t *l = ctx;
    if (nd_live_session_has_store(l->session) && store_fs_full(l, err, err_len))
        return ND_EIO;
    return nd_live_session_store_flush(l->session, err, err_len);
}

/* The store's health: down (holding records it could not write: the supervisor's restart, with
 * its backoff, is the retry), its file system full, or a commit now and how long it took. */
static void sample_store(nd_launch_t *l, nd_launch_sample_t *s)
{
    s->store_present = nd_live_session_has_store(l->session);
    int64_t t0 = nd_clock_mono_ns(l->clock);
    if (s->store_present &&
        (nd_live_session_store_down(l->session, s->store_err, sizeof s->store_err) ||
         store_fs_full(l, s->store_err, sizeof s->store_err)))
        s->store_ok = false;
    else
        s->store_ok = nd_live_session_store_flush(l->session, s->store_err,
                                                  sizeof s->store_err) == ND_OK;
    s->store_write_ns = nd_clock_mono_ns(l->clock) - t0;
}

/* The strategies depend on the store, the feed and the venue: while one is out they are paused
 * (no new orders, working ones cancelled) and resumed when it is back. With two venues each
 * venue's strategies depend on its own feed and venue: the other venue's trade on. */
static void strategies_blocked(void *ctx, bool blocked)
{
    struct nd__launch_venue_ctx *vc = ctx;
    nd_launch_t *l = vc->l;
    nd_engine_t *e = nd_live_session_engine(l->session);
    for (uint32_t k = 0; k < nd_engine_strategy_count(e); k++)
        if ((k >= l->cfg->strategy_count || l->cfg->strategies[k].venue == vc->v) &&
            nd_engine_strategy_pause(e, k, blocked) != ND_OK)
            ND_LOG(ND_LOG_ERR, "event=strategy_pause_failed strategy=%u", k);
    l->strategies_paused[vc->v] = blocked;
    char detail[96];
    snprintf(detail, sizeof detail, "%s%s%s", l->venue_count > 1 ? nd_venue_name(
             l->cfg->venues[vc->v].venue) : "", l->venue_count > 1 ? ": " : "",
             blocked ? "a module they depend on is out" : "modules back");
    nd_live_session_record(l->session, blocked ? "strategies_paused" : "strategies_resumed",
                           detail);
}

static void on_change(void *ctx, const nd_sup_change_t *ch)
{
    nd_launch_t *l = ctx;
    uint32_t slot = l->history_count++ % HISTORY_MAX;
    l->history[slot] = *ch;
    snprintf(l->history_reason[slot], sizeof l->history_reason[slot], "%s", ch->reason);
    l->history[slot].reason = l->history_reason[slot];
    char detail[256];
    snprintf(detail, sizeof detail, "%s %s->%s restarts=%u: %s", ch->name,
             nd_sup_state_name(ch->from), nd_sup_state_name(ch->to), ch->restarts, ch->reason);
    if (l->session) {
        nd_live_session_record(l->session, "module_state", detail);
        nd_live_session_status_now(l->session);
    }
}

/* "feed", or with two venues "feed.binance". */
static void module_name(const nd_launch_t *l, const char *base, uint32_t v, char *out,
                        size_t cap)
{
    if (l->venue_count > 1)
        snprintf(out, cap, "%s.%s", base, nd_venue_name(l->cfg->venues[v].venue));
    else
        snprintf(out, cap, "%s", base);
}

/* The modules of one kind, one per venue (their supervisor indexes into index[]). */
static nd_err_t add_per_venue(nd_launch_t *l, const char *base, nd_sup_module_ops_t ops,
                              bool strategies, uint32_t *index)
{
    nd_err_t rc = ND_OK;
    for (uint32_t v = 0; rc == ND_OK && v < l->venue_count; v++) {
        char name[24], feed[24], venue[24];
        module_name(l, base, v, name, sizeof name);
        module_name(l, "feed", v, feed, sizeof feed);
        module_name(l, "venue", v, venue, sizeof venue);
        const char *deps[] = {"store", feed, venue, NULL};
        ops.ctx = &l->vctx[v];
        rc = nd_sup_add(&l->sup, name, &ops, strategies ? deps : NULL, &index[v]);
    }
    return rc;
}

/* In nd_launch_module_t's order, the feed, venue and strategies modules one per venue: with one
 * venue the supervisor's index m is module m. */
static nd_err_t add_modules(nd_launch_t *l)
{
    nd_sup_module_ops_t watch = {NULL, NULL, NULL, l};
    nd_sup_module_ops_t store = {store_start, NULL, NULL, l};
    nd_sup_module_ops_t feed = {feed_start, NULL, NULL, NULL};
    nd_sup_module_ops_t strategies = {NULL, NULL, strategies_blocked, NULL};
    static const char *const risk_deps[] = {"store", NULL};
    for (uint32_t v = 0; v < l->venue_count; v++)
        l->vctx[v] = (struct nd__launch_venue_ctx){l, v};
    nd_err_t rc = ND_OK;
    if ((rc = nd_sup_add(&l->sup, "host", &watch, NULL, NULL)) != ND_OK ||
        (rc = nd_sup_add(&l->sup, "store", &store, NULL, NULL)) != ND_OK ||
        (rc = nd_sup_add(&l->sup, "refprice", &watch, NULL, NULL)) != ND_OK ||
        (rc = add_per_venue(l, "feed", feed, false, l->m_feed)) != ND_OK ||
        (rc = add_per_venue(l, "venue", watch, false, l->m_venue)) != ND_OK ||
        (rc = nd_sup_add(&l->sup, "risk", &watch, risk_deps, &l->m_risk)) != ND_OK ||
        (rc = add_per_venue(l, "strategies", strategies, true, l->m_strat)) != ND_OK ||
        (rc = nd_sup_add(&l->sup, "monitoring", &watch, NULL, &l->m_monitoring)) != ND_OK)
        return rc;
    ND_ASSERT(l->venue_count > 1 || (l->m_feed[0] == ND_LAUNCH_FEED &&
                                     l->m_venue[0] == ND_LAUNCH_VENUE &&
                                     l->m_strat[0] == ND_LAUNCH_STRATEGIES));
    ND_ASSERT(l->sup.count == ND_LAUNCH_MODULE_COUNT + 3 * (l->venue_count - 1));
    ND_ASSERT(l->m_monitoring == l->sup.count - 1 && l->m_risk == 3 + 2 * l->venue_count);
    return ND_OK;
}

/* ---- the health check -------------------------------------------------------------------- */

/* What the session looks like now, the feed and the venue's fields those of venue 0 (the
 * only one, or see venue_sample). */
static void take_sample(nd_launch_t *l, nd_launch_sample_t *s)
{
    memset(s, 0, sizeof *s);
    s->now_ns = nd_clock_now_ns(l->clock);
    s->live = l->cfg->live;
    s->feed_state = nd_live_session_feed_state(l->session);
    s->feed_last_ns = nd_live_session_feed_last_ns(l->session);
    sample_store(l, s);
    const nd_engine_t *e = nd_live_session_engine(l->session);
    const nd_risk_t *r = nd_engine_risk(e);
    s->halted = r->halted;
    s->kill_switch = r->kill_switch;
    if (r->halted)
        snprintf(s->halt_reason, sizeof s->halt_reason, "%s", nd_breaker_kind_name(r->halt_kind));
    s->orders_submitted = nd_engine_stats(e)->orders_submitted;
    s->orders_rejected = nd_engine_stats(e)->orders_rejected;
    bool probed = l->probe_last[0].venue_measured;
    s->refprice_status = probed ? l->probe_last[0].refprice_status : -1;
    snprintf(s->refprice_why, sizeof s->refprice_why, "%s",
             probed ? l->probe_last[0].refprice_why : l->settings.oracle_rpc[0] ? "not probed yet" : "");
    s->monitoring_status = probed ? l->probe_last[0].monitoring_status : -1;
    snprintf(s->monitoring_why, sizeof s->monitoring_why, "%s",
             probed ? l->probe_last[0].monitoring_why : l->metrics_url[0] ? "not probed yet" : "");
    s->disk_free_mb = nd_launch_disk_free_mb(l->cfg->state_dir);
    s->memory_free_mb = nd_launch_memory_free_mb();
}

/* The feed and venue fields of s set to venue v's: its adapters' counters, its probe's last
 * answer, and with two venues its own stream's last market event. */
static void venue_sample(const nd_launch_t *l, uint32_t v, nd_launch_sample_t *s)
{
    if (l->venue_count > 1) {
        int64_t last = nd_live_session_venue_feed_last_ns(l->session, v);
        s->feed_last_ns = last ? last : l->started_ns;
        s->feed_state = last ? ND_VENUE_CONNECTED : ND_VENUE_DISCONNECTED;
    }
    nd_binance_exec_stats_t vs;
    nd_live_session_venue_stats_of(l->session, v, &vs);
    s->venue_errors = (int64_t)(vs.unknown + vs.queue_full);
    s->order_round_trips = (int64_t)vs.round_trips;
    s->order_round_trip_ns = (int64_t)vs.round_trip_ns_sum;
    const nd_launch_sample_t *p = &l->probe_last[v];
    s->venue = p->venue_measured ? p->venue : l->cfg->venues[v].venue;
    s->venue_measured = p->venue_measured;
    s->venue_reached = p->venue_reached;
    s->venue_offset_us = p->venue_offset_us;
    s->venue_rtt_us = p->venue_rtt_us;
    snprintf(s->venue_err, sizeof s->venue_err, "%s", p->venue_err);
}

/* A scrape of the session's own /metrics, as Prometheus would: HTTP 200 and the text format. */
static int probe_metrics(const char *url, char *why, size_t why_len)
{
    nd_http_t *http = NULL;
    nd_http_response_t resp = {0};
    char err[160] = "";
    nd_err_t rc = nd_http_create(2000, &http);
    if (rc == ND_OK)
        rc = nd_http_request(http, "GET", url, NULL, NULL, &resp, err, sizeof err);
    size_t samples = 0;
    if (rc == ND_OK && resp.status != 200) {
        snprintf(err, sizeof err, "HTTP %ld", resp.status);
        rc = ND_EIO;
    }
    if (rc == ND_OK)
        rc = nd_prom_parse(resp.body, resp.body_len, &samples, err, sizeof err);
    nd_http_response_free(&resp);
    nd_http_destroy(http);
    if (rc != ND_OK) {
        snprintf(why, why_len, "%s: %s", url, err[0] ? err : nd_strerror(rc));
        return ND_PF_FAIL;
    }
    snprintf(why, why_len, "%s serves %zu samples", url, samples);
    return ND_PF_PASS;
}

static void probe_work(uv_work_t *w)
{
    nd_launch_t *l = w->data;
    for (uint32_t v = 0; v < l->venue_count; v++) {
        nd_launch_sample_t *p = &l->probe_out[v];
        p->venue_err[0] = '\0';
        p->venue = l->probe_venue[v].venue;
        p->venue_reached = (l->probe_venue[v].binance || l->probe_venue[v].http) &&
                           nd__launch_venue_clock(&l->probe_venue[v], l->clock, 3,
                                                  &p->venue_offset_us, &p->venue_rtt_us,
                                                  p->venue_err, sizeof p->venue_err) == ND_OK;
        if (!l->probe_venue[v].binance && !l->probe_venue[v].http)
            snprintf(p->venue_err, sizeof p->venue_err, "no client for the venue's probe");
        p->venue_measured = true;
    }
    nd_launch_sample_t *p = &l->probe_out[0];
    p->refprice_status = -1;
    if (l->settings.oracle_rpc[0]) { /* preflight's own oracle check, run again */
        nd_preflight_env_t env = {l->clock, "/proc/self/exe", ""};
        nd__pf_t pf = {.cfg = l->cfg, .set = &l->settings, .env = &env,
                       .vc = &l->cfg->venues[0]};
        nd_preflight_outcome_t o;
        memset(&o, 0, sizeof o);
        nd__pf_oracle_fresh(&pf, &o);
        p->refprice_status = (int)o.status;
        snprintf(p->refprice_why, sizeof p->refprice_why, "%s", o.reason);
    }
    p->monitoring_status = l->metrics_url[0] ? probe_metrics(l->metrics_url, p->monitoring_why,
                                                             sizeof p->monitoring_why)
                                             : -1;
}

static void probe_done(uv_work_t *w, int status)
{
    nd_launch_t *l = w->data;
    l->probe_busy = false;
    if (status == 0)
        memcpy(l->probe_last, l->probe_out, sizeof l->probe_last);
}

static void probe_start(nd_launch_t *l)
{
    bool any = false;
    for (uint32_t v = 0; v < l->venue_count; v++)
        any |= l->probe_venue[v].binance || l->probe_venue[v].http;
    if (!any || l->probe_busy)
        return;
    l->probe.data = l;
    if (uv_queue_work(nd_live_session_loop(l->session), &l->probe, probe_work, probe_done) == 0)
        l->probe_busy = true;
}

/* The capital control's time: the live clock, time_lapse times faster from the start. */
static int64_t capital_now(const nd_launch_t *l, int64_t now_ns)
{
    __int128 t = (__int128)l->started_ns + (__int128)(now_ns - l->started_ns) * l->lc.time_lapse;
    return t < INT64_MAX / 2 ? (int64_t)t : INT64_MAX / 2; /* centuries of rehearsal: it stops */
}

static bool usable(const nd_launch_t *l, uint32_t m)
{
    nd_sup_state_t st = l->sup.modules[m].state;
    return st == ND_SUP_UP || st == ND_SUP_DEGRADED;
}

/* The session holds a position on one of venue v's instruments: a lot or more (dust under a
 * lot, a buy's commission paid in the base asset, cannot be sold anywhere). */
static bool venue_position(const nd_launch_t *l, uint32_t v)
{
    const nd_engine_t *e = nd_live_session_engine(l->session);
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    const nd_live_venue_config_t *vc = &l->cfg->venues[v];
    for (uint32_t k = vc->symbol_first; k < vc->symbol_first + vc->symbol_count; k++) {
        int64_t qty = nd_portfolio_net_qty(p, k), lot = nd_engine_instrument(e, k)->lot_size;
        if (qty >= (lot > 0 ? lot : 1) || -qty >= (lot > 0 ? lot : 1))
            return true;
    }
    return false;
}

/* Two venues: each venue's rule (nd_launch_venue_rule). Its strategies' pause is the
 * supervisor's (strategies.VENUE is blocked while its feed or venue is out); a trip is the
 * kill switch, once. Every change of a venue's action is logged and recorded. */
static void venue_rules(nd_launch_t *l, int64_t now_ns)
{
    for (uint32_t v = 0; v < l->venue_count; v++) {
        bool feed_ok = usable(l, l->m_feed[v]), venue_ok = usable(l, l->m_venue[v]);
        if (venue_ok)
            l->out_since_ns[v] = 0;
        else if (!l->out_since_ns[v])
            l->out_since_ns[v] = l->sup.modules[l->m_venue[v]].since_ns;
        int64_t out_ns = venue_ok ? 0 : now_ns - l->out_since_ns[v];
        char why[160];
        nd_launch_venue_action_t a =
            nd_launch_venue_rule(&l->lc, l->cfg->live, feed_ok, venue_ok, venue_position(l, v),
                                 out_ns > 0 ? out_ns : 0, why, sizeof why);
        const char *name = nd_venue_name(l->cfg->venues[v].venue);
        if (a != l->action[v]) {
            char detail[224];
            snprintf(detail, sizeof detail, "%s %s->%s: %s", name,
                     nd_launch_venue_action_name(l->action[v]), nd_launch_venue_action_name(a),
                     why);
            ND_LOG(a == ND_LAUNCH_VENUE_TRADE ? ND_LOG_INFO : ND_LOG_WARN,
                   "event=venue_rule venue=%s action=%s why=\"%s\"", name,
                   nd_launch_venue_action_name(a), why);
            nd_live_session_record(l->session, "venue_rule", detail);
        }
        l->action[v] = a;
        snprintf(l->action_why[v], sizeof l->action_why[v], "%s", why);
        /* its strategies are paused: the session's data-integrity breaker leaves its feeds to
         * this rule (a venue out must not halt the venue that trades on) */
        nd_live_session_venue_hold(l->session, v, a != ND_LAUNCH_VENUE_TRADE);
        nd_engine_t *e = nd_live_session_engine(l->session);
        if (a == ND_LAUNCH_VENUE_TRIP && !l->venue_tripped && !nd_engine_risk(e)->halted) {
            l->venue_tripped = true;
            ND_LOG(ND_LOG_ERR, "event=venue_down_halt venue=%s why=\"%s\"", name, why);
            char detail[224];
            snprintf(detail, sizeof detail, "%s: %s", name, why);
            nd_live_session_record(l->session, "venue_down_halt", detail);
            if (nd_engine_kill(e) != ND_OK)
                ND_LOG(ND_LOG_ERR, "event=venue_down_halt_failed venue=%s", name);
            nd_live_session_status_now(l->session);
        }
    }
}

/* Each strategy slot's health for its rollback guard. One venue: the session's. Two venues:
 * every module usable but the venues' own (feed, venue, strategies per venue): a venue's outage
 * is not its strategies' version's fault (their pause and the venue rule answer it), nor the
 * other venue's. */
static void slot_health(const nd_launch_t *l, bool *slot_ok)
{
    bool ok = true;
    for (uint32_t m = 0; m < l->sup.count; m++) {
        bool per_venue = false;
        for (uint32_t v = 0; l->venue_count > 1 && v < l->venue_count; v++)
            per_venue |= m == l->m_feed[v] || m == l->m_venue[v] || m == l->m_strat[v];
        ok &= per_venue || usable(l, m);
    }
    for (uint32_t k = 0; k < ND_STRATEGIES_MAX; k++)
        slot_ok[k] = ok;
}

static void on_health(uv_timer_t *t)
{
    nd_launch_t *l = t->data;
    nd_launch_sample_t base, s;
    take_sample(l, &base);
    for (uint32_t v = 0; v < l->venue_count; v++) {
        nd_launch_verdict_t out[ND_LAUNCH_MODULE_COUNT];
        s = base;
        venue_sample(l, v, &s);
        nd_launch_health_judge(&l->lc, l->have_prev ? &l->prev[v] : NULL, &s, out);
        l->prev[v] = s;
        if (v == 0) {
            for (uint32_t m = ND_LAUNCH_HOST; m < ND_LAUNCH_FEED; m++) /* host, store, refprice */
                l->last[m] = out[m];
            l->last[l->m_risk] = out[ND_LAUNCH_RISK];
            l->last[l->m_monitoring] = out[ND_LAUNCH_MONITORING];
        }
        l->last[l->m_feed[v]] = out[ND_LAUNCH_FEED];
        l->last[l->m_venue[v]] = out[ND_LAUNCH_VENUE];
        l->last[l->m_strat[v]] = out[ND_LAUNCH_STRATEGIES];
    }
    for (uint32_t m = 0; m < l->sup.count; m++)
        nd_sup_report(&l->sup, m, l->last[m].health, l->last[m].reason, base.now_ns);
    if (l->venue_count > 1)
        venue_rules(l, base.now_ns);
    bool slot_ok[ND_STRATEGIES_MAX];
    slot_health(l, slot_ok);
    nd__launch_capital_tick(&l->capital, capital_now(l, base.now_ns), nd_sup_healthy(&l->sup),
                            slot_ok);
    nd__launch_metrics_sync(&l->metrics);
    probe_start(l); /* its answer is judged at the next check */
    l->have_prev = true;
    l->last_check_ns = base.now_ns;
    l->checks++;
}

/* SIGUSR2: a command's pipeline request (the launch writes the store, the command asks), or
 * without one a plain reload of the pipeline. */
static void on_reload(uv_signal_t *h, int signum)
{
    nd_launch_t *l = h->data;
    (void)signum;
    int64_t now = capital_now(l, nd_clock_now_ns(l->clock));
    json_t *req = nd_live_request_take(l->cfg->state_dir, "pipeline", l->clock);
    if (req) {
        char msg[320];
        int status = nd__launch_capital_request(&l->capital, req, now, msg, sizeof msg);
        ND_LOG(ND_LOG_INFO, "event=pipeline_request status=%d answer=\"%s\"", status, msg);
        nd_live_pipeline_answer(l->cfg->state_dir, status, msg);
        json_decref(req);
    } else {
        nd__launch_capital_reload(&l->capital, now);
    }
    nd__launch_metrics_sync(&l->metrics);
    nd_live_session_status_now(l->session);
}

static void on_sup_tick(uv_timer_t *t)
{
    nd_launch_t *l = t->data;
    nd_sup_tick(&l->sup, nd_clock_now_ns(l->clock));
    if (l->first_order_ms < 0 &&
        nd_engine_stats(nd_live_session_engine(l->session))->orders_submitted > 0) {
        l->first_order_ms = (nd_clock_mono_ns(l->clock) - l->started_mono_ns) / NS_PER_MS;
        ND_LOG(ND_LOG_INFO, "event=first_order after_ms=%lld", (long long)l->first_order_ms);
    }
}

/* ---- status.json's "launch" object ------------------------------------------------------- */

static json_t *module_json(const nd_launch_t *l, uint32_t k)
{
    const nd_sup_module_t *m = &l->sup.modules[k];
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(m->name));
    json_object_set_new(j, "state", json_string(nd_sup_state_name(m->state)));
    json_object_set_new(j, "since_ns", json_integer(m->since_ns));
    json_object_set_new(j, "restarts", json_integer(m->restarts));
    json_object_set_new(j, "reason", json_string(m->reason));
    if (l->checks > 0)
        json_object_set_new(j, "check", json_string(l->last[k].reason));
    return j;
}

/* Two venues: each venue's health ({"name", "usable", "feed", "venue", "strategies" (their
 * module states), "strategies_paused", "action", "why", "position"}). */
static json_t *venues_json(const nd_launch_t *l)
{
    json_t *a = json_array();
    for (uint32_t v = 0; v < l->venue_count; v++) {
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(nd_venue_name(l->cfg->venues[v].venue)));
        json_object_set_new(j, "usable", json_boolean(usable(l, l->m_feed[v]) &&
                                                      usable(l, l->m_venue[v]) &&
                                                      usable(l, l->m_strat[v])));
        const uint32_t mods[3] = {l->m_feed[v], l->m_venue[v], l->m_strat[v]};
        static const char *const keys[3] = {"feed", "venue", "strategies"};
        for (int k = 0; k < 3; k++)
            json_object_set_new(j, keys[k],
                                json_string(nd_sup_state_name(l->sup.modules[mods[k]].state)));
        json_object_set_new(j, "strategies_paused", json_boolean(l->strategies_paused[v]));
        json_object_set_new(j, "action", json_string(nd_launch_venue_action_name(l->action[v])));
        json_object_set_new(j, "why", json_string(l->action_why[v]));
        json_object_set_new(j, "position", json_boolean(venue_position(l, v)));
        json_array_append_new(a, j);
    }
    return a;
}

static json_t *launch_json(void *ctx)
{
    nd_launch_t *l = ctx;
    json_t *j = json_object(), *mods = json_array(), *hist = json_array();
    for (uint32_t k = 0; k < l->sup.count; k++)
        json_array_append_new(mods, module_json(l, k));
    uint32_t n = l->history_count < HISTORY_MAX ? l->history_count : HISTORY_MAX;
    for (uint32_t i = l->history_count - n; i < l->history_count; i++) {
        const nd_sup_change_t *c = &l->history[i % HISTORY_MAX];
        json_t *h = json_object();
        json_object_set_new(h, "at_ns", json_integer(c->at_ns));
        json_object_set_new(h, "module", json_string(c->name));
        json_object_set_new(h, "from", json_string(nd_sup_state_name(c->from)));
        json_object_set_new(h, "to", json_string(nd_sup_state_name(c->to)));
        json_object_set_new(h, "reason", json_string(c->reason));
        json_array_append_new(hist, h);
    }
    json_object_set_new(j, "healthy", json_boolean(nd_sup_healthy(&l->sup)));
    bool paused = false;
    for (uint32_t v = 0; v < l->venue_count; v++)
        paused |= l->strategies_paused[v];
    json_object_set_new(j, "strategies_paused", json_boolean(paused));
    if (l->venue_count > 1)
        json_object_set_new(j, "venues", venues_json(l));
    json_object_set_new(j, "health_checks", json_integer((json_int_t)l->checks));
    json_object_set_new(j, "last_check_ns", json_integer(l->last_check_ns));
    json_object_set_new(j, "first_order_ms", l->first_order_ms >= 0
                                                 ? json_integer(l->first_order_ms)
                                                 : json_null());
    json_object_set_new(j, "modules", mods);
    json_object_set_new(j, "capital", nd__launch_capital_json(&l->capital));
    json_object_set_new(j, "changes", hist);
    json_object_set_new(j, "changes_total", json_integer(l->history_count));
    return j;
}

static int host_control(void *ctx, bool promote, const char *strategy, const char *who,
                        char *msg, size_t msg_len)
{
    nd_launch_t *l = ctx;
    int status = nd__launch_capital_control(&l->capital, promote, strategy, who,
                                            capital_now(l, nd_clock_now_ns(l->clock)), msg,
                                            msg_len);
    nd__launch_metrics_sync(&l->metrics);
    return status;
}

/* ---- create, run, close ------------------------------------------------------------------ */

static nd_err_t preflight_passed(const nd_preflight_report_t *pf, char *err, size_t err_len)
{
    if (!pf) {
        snprintf(err, err_len, "preflight did not run: a launch never trades without it");
        return ND_EDECLINED;
    }
    if (pf->failed == 0)
        return ND_OK;
    int used = snprintf(err, err_len, "preflight failed (%u check(s)):", pf->failed);
    for (int k = 0; k < ND_PF_CHECK_COUNT && used > 0 && (size_t)used < err_len; k++)
        if (pf->checks[k].status == ND_PF_FAIL) {
            used += snprintf(err + used, err_len - (size_t)used, " %s",
                             nd_preflight_check_name((nd_preflight_check_t)k));
            for (uint32_t v = 0; v < pf->checks[k].venue_count; v++) /* name the venue */
                if (pf->checks[k].venues[v].status == ND_PF_FAIL && used > 0 &&
                    (size_t)used < err_len)
                    used += snprintf(err + used, err_len - (size_t)used, " (%s)",
                                     pf->checks[k].venues[v].venue);
        }
    return ND_EDECLINED;
}

nd_err_t nd_launch_create(const nd_live_config_t *cfg, const nd_launch_config_t *lc,
                          const nd_preflight_settings_t *settings,
                          const nd_preflight_report_t *preflight, const nd_clock_t *clock,
                          nd_backtest_result_t *result, nd_launch_t **out, char *err,
                          size_t err_len)
{
    ND_ASSERT(cfg != NULL && lc != NULL && clock != NULL && out != NULL);
    *out = NULL;
    nd_err_t rc = preflight_passed(preflight, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (cfg->live && lc->time_lapse != 1) {
        snprintf(err, err_len, "%s: launch.time_lapse: a live launch runs in real time (1)",
                 cfg->path);
        return ND_EINVAL;
    }
    nd_launch_t *l = nd_calloc(1, sizeof *l);
    if (!l)
        return ND_ENOMEM;
    l->cfg = cfg;
    l->lc = *lc;
    if (settings)
        l->settings = *settings;
    l->clock = clock;
    l->first_order_ms = -1;
    l->started_mono_ns = nd_clock_mono_ns(clock);
    l->started_ns = nd_clock_now_ns(clock);
    l->venue_count = cfg->venue_count;
    ND_ASSERT(l->venue_count >= 1 && l->venue_count <= ND_LIVE_VENUES_MAX);
    nd_sup_init(&l->sup, &lc->sup, on_change, l);
    rc = add_modules(l);
    if (rc == ND_OK)
        rc = nd_live_session_create(cfg, clock, result, &l->session, err, err_len);
    if (rc != ND_OK) {
        nd_free(l);
        return rc;
    }
    nd_live_session_set_shutdown(l->session, &lc->shutdown);
    snprintf(l->metrics_url, sizeof l->metrics_url, "%s", nd_live_session_metrics_url(l->session));
    for (uint32_t v = 0; v < l->venue_count; v++) {
        char why[160] = "";
        if (nd__launch_probe_open(&l->probe_venue[v], &cfg->venues[v], clock, lc->recv_window_ms,
                                  2000, why, sizeof why) != ND_OK)
            ND_LOG(ND_LOG_WARN, "event=venue_probe_off venue=%s why=\"%s\"",
                   nd_venue_name(cfg->venues[v].venue), why);
    }
    rc = nd__launch_capital_open(&l->capital, &l->lc, cfg, l->session, nd_clock_now_ns(clock), err,
                                 err_len);
    if (rc == ND_OK)
        rc = nd__launch_metrics_open(&l->metrics, nd_live_session_prom(l->session), &l->sup,
                                     &l->capital, err, err_len);
    if (rc != ND_OK) {
        nd__launch_capital_close(&l->capital);
        nd_live_session_close(l->session, NULL, 0);
        for (uint32_t v = 0; v < ND_LIVE_VENUES_MAX; v++)
            nd__launch_probe_close(&l->probe_venue[v]);
        nd_free(l);
        return rc;
    }
    nd_live_session_status_extra(l->session, "launch", launch_json, l);
    nd_live_session_host_control(l->session, host_control, l);
    uv_loop_t *loop = nd_live_session_loop(l->session);
    uv_timer_init(loop, &l->health_timer);
    uv_timer_init(loop, &l->sup_timer);
    uv_signal_init(loop, &l->sig_reload);
    l->health_timer.data = l->sup_timer.data = l->sig_reload.data = l;
    l->timers_ready = true;
    *out = l;
    return ND_OK;
}

nd_err_t nd_launch_run(nd_launch_t *l, char *err, size_t err_len)
{
    ND_ASSERT(l != NULL);
    nd_live_session_record(l->session, "launch_start", l->cfg->name);
    nd__launch_capital_adopt(&l->capital, capital_now(l, nd_clock_now_ns(l->clock)), false);
    nd__launch_metrics_sync(&l->metrics);
    nd_sup_start(&l->sup, nd_clock_now_ns(l->clock));
    uint64_t every_ms = (uint64_t)(l->lc.health_every_ns / NS_PER_MS);
    uv_timer_start(&l->health_timer, on_health, every_ms, every_ms);
    uv_timer_start(&l->sup_timer, on_sup_tick, SUP_TICK_MS, SUP_TICK_MS);
    uv_signal_start(&l->sig_reload, on_reload, SIGUSR2);
    nd_err_t rc = nd_live_session_run(l->session, err, err_len);
    uv_timer_stop(&l->health_timer);
    uv_timer_stop(&l->sup_timer);
    uv_signal_stop(&l->sig_reload);
    nd_sup_stop(&l->sup, nd_clock_now_ns(l->clock));
    return rc;
}

void nd_launch_set_resolver(nd_launch_t *l, nd_launch_resolve_fn fn, void *ctx)
{
    l->capital.resolve = fn;
    l->capital.resolve_ctx = ctx;
}

const nd_live_shutdown_t *nd_launch_shutdown(const nd_launch_t *l)
{
    return nd_live_session_shutdown(l->session);
}

const nd_live_feed_stats_t *nd_launch_feed(const nd_launch_t *l)
{
    return nd_live_session_feed(l->session);
}

nd_err_t nd_launch_close(nd_launch_t *l, char *err, size_t err_len)
{
    if (!l)
        return ND_OK;
    if (l->timers_ready) { /* closed before the session closes its loop */
        uv_close((uv_handle_t *)&l->health_timer, NULL);
        uv_close((uv_handle_t *)&l->sup_timer, NULL);
        uv_close((uv_handle_t *)&l->sig_reload, NULL);
    }
    nd_live_session_status_extra(l->session, NULL, NULL, NULL);
    nd__launch_capital_close(&l->capital);
    nd_err_t rc = nd_live_session_close(l->session, err, err_len); /* runs the loop dry: a probe
                                                                       in flight finishes */
    for (uint32_t v = 0; v < ND_LIVE_VENUES_MAX; v++)
        nd__launch_probe_close(&l->probe_venue[v]);
    nd_free(l);
    return rc;
}
