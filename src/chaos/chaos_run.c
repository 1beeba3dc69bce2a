/* chaos_run.c: one chaos scenario from start to verdict. Phases: set up its directory and
 * config; start exchange-sim and `noderr launch` (paper) as children; warm up until the launch
 * is healthy and has traded; inject the fault; hold it while sampling status.json every 20 ms
 * for the first sign the session noticed (detection); remove it; wait until every module is up,
 * the strategies are not paused and orders flow again (recovery); stop both children; check
 * the invariants over the store. A fault-free run of the same seed and timing goes first and
 * gives the baseline order rate and P&L. Every fault is undone before the next scenario, and
 * every child is stopped, whatever the outcome. */
#include "chaos_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/live.h"
#include "noderr/log.h"
#include "noderr/venue.h"

#include <jansson.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_MS 20
#define WARMUP_MS 20000
#define RECOVER_WAIT_MS 12000
#define FEED_STALE_MS 600

typedef struct run {
    const nd_chaos_options_t *opt;
    const nd_chaos_scenario_t *sc; /* NULL: the fault-free baseline */
    nd_chaos_result_t *r;
    char dir[400], config[480], status[480], store_dir[480], store_url[520], token[64];
    pid_t xsim, session;
    int port;       /* exchange-sim's */
    int venue_port; /* the session's venue: exchange-sim's, or the proxy's in front of it */
    nd__chaos_proxy_t *proxy;
    bool tmpfs, have_cgroup, netem;
    nd__chaos_cgroup_t cg;
    int64_t hold_ms, window_ms;
    nd__chaos_sample_t s0, cur;
    int64_t t_inject, t_remove, inject_real_ns, restart_real_ns;
    int64_t blind_orders;
    int64_t killed_orders; /* orders of a killed process, counted into the window */
    int64_t sub_at_remove;
    bool restarted, window_done;
    int died_status; /* the session's wait status when it exited by itself, else -1 */
    nd_secret_t secret; /* live: the run's generated HMAC key (exchange-sim's and the session's) */
    char secrets_path[480];
    char pin[200];      /* live: "\"pin\": {...}, " once preflight gave the hashes, else "" */
    int64_t window_orders, window_pnl_e8;
    char err[256];
} run_t;

/* The baseline's rate, shared by every scenario of one nd_chaos_run. */
typedef struct baseline {
    bool have;
    int64_t window_ms, orders, pnl_e8;
} baseline_t;

static const char *name_of(const run_t *run)
{
    return run->sc ? run->sc->name : "baseline";
}

static bool is(const run_t *run, const char *name)
{
    return run->sc && strcmp(run->sc->name, name) == 0;
}

/* A live run's extra config: the secrets file, a compliance profile, a metrics endpoint and a
 * live preflight (pinned once preflight has said the hashes: a live launch requires the pins). */
static void live_parts(const run_t *run, char *venue, size_t venue_cap, char *extra,
                       size_t extra_cap, char *mode, size_t mode_cap)
{
    venue[0] = extra[0] = mode[0] = '\0';
    if (!run->opt->live)
        return;
    snprintf(venue, venue_cap, ",\n           \"secrets_file\": \"%s\"", run->secrets_path);
    snprintf(extra, extra_cap, " \"compliance\": {\"profile\": \"EU\"},\n"
             " \"metrics\": {\"listen\": \"127.0.0.1:0\"},\n");
    snprintf(mode, mode_cap, "\"mode\": \"live\", \"first_allocation\": \"100\", %s", run->pin);
}

static nd_err_t write_config(run_t *run)
{
    char text[3072], venue[560], extra[160], mode[300];
    bool no_detect = run->opt->defect == ND_CHAOS_DEFECT_STALE_DETECT;
    live_parts(run, venue, sizeof venue, extra, sizeof extra, mode, sizeof mode);
    snprintf(text, sizeof text,
             "{\"name\": \"chaos-%s\", \"state_dir\": \"%s/state\",\n"
             " \"venue\": {\"name\": \"binance\", \"rest_url\": \"http://127.0.0.1:%d\",\n"
             "           \"ws_url\": \"ws://127.0.0.1:%d\"%s},\n"
             " \"symbol\": \"BTC/USDT\", \"strategies\": [{\"builtin\": \"quote_maker\"}],\n"
             " \"capital\": {\"cash\": \"10000\", \"sizing_percent\": 0.1},\n"
             " \"risk\": {\"max_drawdown\": 0.12, \"max_position\": 0.25, \"daily_loss\": 0.05,\n"
             "          \"anomaly_threshold\": 0.8},\n"
             " \"store\": {\"url\": \"%s\"},\n%s"
             " \"log\": {\"level\": \"info\"},\n"
             " \"preflight\": {%s\"disk_free_mb_min\": 1, \"memory_free_mb_min\": 1},\n"
             " \"launch\": {\"health_every_ms\": 200, \"feed_stale_ms\": %d,\n"
             "            \"restart_backoff_ms\": 100, \"restart_backoff_max_ms\": 1000,\n"
             "            \"disk_free_mb_min\": 1, \"memory_free_mb_min\": 1}}\n",
             name_of(run), run->dir, run->venue_port, run->venue_port, venue, run->store_url,
             extra, mode, no_detect ? 3600000 : FEED_STALE_MS);
    return nd__chaos_write_file(run->config, text, run->err, sizeof run->err);
}

/* A live run: a generated HMAC key (in the environment exchange-sim reads, and in a 0600
 * secrets file the session reads), different for every run. */
static nd_err_t live_key(run_t *run, int index)
{
    uint64_t salt = (uint64_t)nd__chaos_real_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)index;
    snprintf(run->secret.api_key, sizeof run->secret.api_key, "chaos-%d-%d", (int)getpid(),
             index);
    snprintf(run->secret.api_secret, sizeof run->secret.api_secret, "%016llx%016llx",
             (unsigned long long)salt, (unsigned long long)(salt * 0x9E3779B97F4A7C15ull));
    snprintf(run->secrets_path, sizeof run->secrets_path, "%s/secrets", run->dir);
    char text[600];
    snprintf(text, sizeof text, "api_key=%.100s\napi_secret=%.100s\n", run->secret.api_key,
             run->secret.api_secret);
    if (setenv("NODERR_XSIM_API_KEY", run->secret.api_key, 1) != 0 ||
        setenv("NODERR_XSIM_API_SECRET", run->secret.api_secret, 1) != 0) {
        nd_err_put(run->err, sizeof run->err, "setenv: %s", strerror(errno));
        return ND_EIO;
    }
    return nd__chaos_write_file(run->secrets_path, text, run->err, sizeof run->err);
}

/* A live launch requires its config and build pinned: preflight (unpinned, so it fails) says
 * both hashes, and the config is written again with them. */
static nd_err_t live_pin(run_t *run)
{
    char out[480], errp[480];
    snprintf(out, sizeof out, "%s/preflight.json", run->dir);
    snprintf(errp, sizeof errp, "%s/preflight.err", run->dir);
    char *argv[] = {(char *)run->opt->binary, "preflight", "--config", run->config, "--json",
                    NULL};
    pid_t pid = 0;
    int status = 0;
    if (nd__chaos_spawn(argv, out, errp, &pid, run->err, sizeof run->err) != ND_OK)
        return ND_EIO;
    if (!nd__chaos_wait(pid, 30000, &status)) {
        (void)nd__chaos_stop(pid, 1000);
        nd_err_put(run->err, sizeof run->err, "preflight did not finish within 30 s (%s)", errp);
        return ND_EIO;
    }
    json_error_t jerr;
    json_t *d = json_load_file(out, 0, &jerr);
    const char *c = json_string_value(json_object_get(d, "config_sha256"));
    const char *b = json_string_value(json_object_get(d, "build_sha256"));
    if (c && b)
        snprintf(run->pin, sizeof run->pin,
                 "\"pin\": {\"config_sha256\": \"%.64s\", \"build_sha256\": \"%.64s\"}, ", c, b);
    json_decref(d);
    if (!run->pin[0]) {
        nd_err_put(run->err, sizeof run->err, "preflight gave no hashes to pin (%s)", out);
        return ND_EIO;
    }
    return write_config(run);
}

static nd_err_t setup(run_t *run, int index)
{
    snprintf(run->dir, sizeof run->dir, "%s/%02d_%s", run->opt->work_dir, index, name_of(run));
    if (mkdir(run->dir, 0700) != 0 && errno != EEXIST) {
        nd_err_put(run->err, sizeof run->err, "%s: %s", run->dir, strerror(errno));
        return ND_EIO;
    }
    snprintf(run->config, sizeof run->config, "%s/config.json", run->dir);
    snprintf(run->status, sizeof run->status, "%s/state/status.json", run->dir);
    snprintf(run->store_dir, sizeof run->store_dir, "%s/store", run->dir);
    snprintf(run->store_url, sizeof run->store_url, "sqlite:%s/session.db", run->store_dir);
    snprintf(run->token, sizeof run->token, "chaos-admin-token-%d-%d", (int)getpid(), index);
    if (run->opt->live && live_key(run, index) != ND_OK)
        return ND_EIO;
    if (is(run, "disk_full")) {
        if (nd__chaos_tmpfs(run->store_dir, 16, run->err, sizeof run->err) != ND_OK)
            return ND_EDECLINED;
        run->tmpfs = true;
    } else if (mkdir(run->store_dir, 0700) != 0 && errno != EEXIST) {
        nd_err_put(run->err, sizeof run->err, "%s: %s", run->store_dir, strerror(errno));
        return ND_EIO;
    }
    return ND_OK;
}

static nd_err_t start_xsim(run_t *run)
{
    char token_path[480], out[480], errp[480], seed[32];
    snprintf(token_path, sizeof token_path, "%s/admin-token", run->dir);
    char line[80];
    snprintf(line, sizeof line, "%s\n", run->token);
    if (nd__chaos_write_file(token_path, line, run->err, sizeof run->err) != ND_OK)
        return ND_EIO;
    snprintf(out, sizeof out, "%s/exchange-sim.out", run->dir);
    snprintf(errp, sizeof errp, "%s/exchange-sim.err", run->dir);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)run->opt->seed);
    /* The venue's account starts as the session's capital: 10000 USDT, no BTC. */
    char *argv[] = {(char *)run->opt->binary, "exchange-sim", "--tick-ms", "20", "--seed", seed,
                    "--admin-token-file", token_path, "--balance", "USDT=10000,BTC=0", NULL};
    if (nd__chaos_spawn(argv, out, errp, &run->xsim, run->err, sizeof run->err) != ND_OK)
        return ND_EIO;
    run->port = nd__chaos_read_port(out, 5000);
    if (run->port <= 0) {
        nd_err_put(run->err, sizeof run->err, "exchange-sim did not listen within 5 s (%s)", errp);
        return ND_EIO;
    }
    run->venue_port = run->port;
    if (run->sc && run->sc->category == ND_CHAOS_NETWORK && !run->netem) {
        if (nd__chaos_proxy_start(run->port, run->opt->seed, &run->proxy, run->err,
                                  sizeof run->err) != ND_OK)
            return ND_EIO;
        run->venue_port = nd__chaos_proxy_port(run->proxy);
    }
    nd_err_t rc = write_config(run);
    return rc == ND_OK && run->opt->live ? live_pin(run) : rc;
}

static nd_err_t start_session(run_t *run, const char *suffix)
{
    char out[480], errp[480];
    snprintf(out, sizeof out, "%s/launch%s.out", run->dir, suffix);
    snprintf(errp, sizeof errp, "%s/launch%s.err", run->dir, suffix);
    char *argv[] = {(char *)run->opt->binary, "launch", "--config", run->config, NULL};
    return nd__chaos_spawn(argv, out, errp, &run->session, run->err, sizeof run->err);
}

/* Samples status.json into run->cur; a sample older than not_before_ns (a killed process's
 * last document) does not count. */
static bool sample(run_t *run, int64_t not_before_ns)
{
    nd__chaos_sample(run->status, &run->cur);
    return run->cur.ok && run->cur.updated_ns >= not_before_ns;
}

static bool trading(const nd__chaos_sample_t *s)
{
    return s->ok && s->healthy && !s->paused && !s->halted && s->first_order_ms >= 0 &&
           s->submitted > 0;
}

static nd_err_t warm_up(run_t *run, int64_t not_before_ns)
{
    int64_t until = nd__chaos_mono_ns() + (int64_t)WARMUP_MS * 1000000;
    while (nd__chaos_mono_ns() < until) {
        if (sample(run, not_before_ns) && trading(&run->cur))
            return ND_OK;
        int status = 0;
        if (nd__chaos_wait(run->session, 0, &status)) {
            run->session = 0;
            nd_err_put(run->err, sizeof run->err, "the launch exited during warm-up (%s/launch.err)",
                       run->dir);
            return ND_EIO;
        }
        nd__chaos_sleep_ms(POLL_MS);
    }
    nd_err_put(run->err, sizeof run->err,
               "the launch was not healthy and trading within %d s (%s/launch.err)",
               WARMUP_MS / 1000, run->dir);
    return ND_EIO;
}

static void detected(run_t *run, const char *by, int64_t ms)
{
    if (run->r->detect_ms >= 0)
        return;
    run->r->detect_ms = ms < 0 ? 0 : ms;
    snprintf(run->r->detected_by, sizeof run->r->detected_by, "%s", by);
}

/* Whether signal (a module's name, "breaker", "reconnect", "bad", "late") counts as this
 * scenario's detection: the sign its fault should give, so that a module warning caused by
 * the quiet synthetic market is not credited as noticing a price spike. Scenarios without a
 * detection target take any sign (reported, not scored). */
static bool signal_counts(const run_t *run, const char *signal)
{
    bool feed = strcmp(signal, "feed") == 0 || strcmp(signal, "strategies") == 0;
    if (is(run, "price_spike") || is(run, "flash_crash"))
        return strcmp(signal, "breaker") == 0 || strcmp(signal, "bad") == 0 ||
               strcmp(signal, "risk") == 0;
    if (is(run, "connector_killed"))
        return feed || strcmp(signal, "reconnect") == 0;
    if (is(run, "stale_feed") || is(run, "venue_partition") || is(run, "corrupt_messages"))
        return feed || strcmp(signal, "reconnect") == 0 || strcmp(signal, "bad") == 0 ||
               strcmp(signal, "late") == 0;
    if (is(run, "disk_full") || is(run, "store_writer_killed"))
        return strcmp(signal, "store") == 0 || strcmp(signal, "strategies") == 0 ||
               strcmp(signal, "risk") == 0;
    return true;
}

/* The first sign, in this sample, that the session noticed the fault. */
static void watch_detection(run_t *run, int64_t now)
{
    const nd__chaos_sample_t *c = &run->cur, *s0 = &run->s0;
    int64_t since_ms = (now - run->t_inject) / 1000000;
    if (!c->ok || run->r->detect_ms >= 0 || run->restarted)
        return;
    char module[32];
    snprintf(module, sizeof module, "%.*s", (int)strcspn(c->last_change, " "), c->last_change);
    if (c->changes_total > s0->changes_total && signal_counts(run, module)) {
        char by[96];
        snprintf(by, sizeof by, "module %.80s", c->last_change);
        int64_t ms = (c->last_change_ns - run->inject_real_ns) / 1000000;
        detected(run, by, ms >= 0 && ms <= since_ms ? ms : since_ms);
    } else if (c->trips > s0->trips && signal_counts(run, "breaker")) {
        detected(run, "breaker trip", since_ms);
    } else if (c->connects > s0->connects && signal_counts(run, "reconnect")) {
        detected(run, "feed reconnect", since_ms);
    } else if (c->bad > s0->bad && signal_counts(run, "bad")) {
        detected(run, "bad market message", since_ms);
    } else if (c->late > s0->late && signal_counts(run, "late")) {
        detected(run, "late market message", since_ms);
    }
}

/* Working strategy orders on a market the session has not seen for longer than the detection
 * target (plus one status period, the document's own lag): the runner knows the market is
 * blind from injection to removal in the scenarios that stop it. */
static bool blinds(const run_t *run)
{
    return is(run, "stale_feed") || is(run, "venue_partition");
}

static void watch_blind(run_t *run)
{
    if (!blinds(run) || run->t_remove > 0 || !run->cur.ok)
        return;
    int64_t age_ms = (run->cur.updated_ns - run->inject_real_ns) / 1000000;
    /* Blind and still quoting: a working order the session has not asked the venue to cancel
     * since the fault (live, a cancel sent into a partition stays unanswered until it ends:
     * cancel_pending). A cancel sent before the injection is no reaction to it: in paper mode a
     * strategy's requote just before a stale feed waits for market time that does not come. */
    int64_t blind = run->cur.uncancelled;
    for (uint32_t k = 0; k < run->cur.cancel_count; k++)
        blind += run->cur.cancel_sent_ns[k] < run->inject_real_ns;
    if (age_ms > run->sc->detect_target_ms + 1000 && blind > run->blind_orders)
        run->blind_orders = blind;
}

static void watch_window(run_t *run, int64_t now)
{
    if (run->window_done || !run->cur.ok || now < run->t_inject + run->window_ms * 1000000)
        return;
    run->window_done = true;
    int64_t base = run->restarted ? 0 : run->s0.submitted;
    run->window_orders = run->killed_orders + run->cur.submitted - base;
    run->window_pnl_e8 = run->cur.equity_e8 - run->s0.equity_e8;
}

/* A session that exited by itself (not the runner's SIGKILL) is reaped and noted. */
static void watch_exit(run_t *run, int64_t now)
{
    int status = 0;
    if (run->session <= 0 || !nd__chaos_wait(run->session, 0, &status))
        return;
    run->session = 0;
    run->died_status = status;
    char by[64];
    snprintf(by, sizeof by, "the session exited (wait status %d)", status);
    detected(run, by, (now - run->t_inject) / 1000000);
}

/* Samples until mono time `until` (or, with stop_when_recovered, recovery). */
static void observe(run_t *run, int64_t until, bool stop_when_recovered)
{
    while (nd__chaos_mono_ns() < until) {
        int64_t now = nd__chaos_mono_ns();
        watch_exit(run, now);
        bool fresh = sample(run, run->restarted ? run->restart_real_ns : 0);
        if (fresh) {
            watch_detection(run, now);
            watch_blind(run);
            watch_window(run, now);
            /* A killed store writer is instantaneous (no hold): recovery counts from the
             * kill, once the session has noticed it. */
            bool noticed = !is(run, "store_writer_killed") || run->r->detect_ms >= 0;
            if (stop_when_recovered && noticed && run->r->recover_ms < 0 && run->cur.healthy &&
                !run->cur.paused && !run->cur.halted && run->cur.first_order_ms >= 0)
                run->r->recover_ms = (now - run->t_remove) / 1000000;
            if (stop_when_recovered && run->r->recover_ms >= 0 &&
                run->cur.submitted > run->sub_at_remove && run->window_done)
                return;
        }
        nd__chaos_sleep_ms(POLL_MS);
    }
}

static nd_err_t fault(run_t *run, const char *body)
{
    return nd__chaos_fault(run->port, run->token, body, run->err, sizeof run->err);
}

static nd_err_t kill_session(run_t *run)
{
    nd__chaos_sample(run->status, &run->cur);
    run->killed_orders = run->cur.ok ? run->cur.submitted - run->s0.submitted : 0;
    kill(run->session, SIGKILL);
    int status = 0;
    (void)nd__chaos_wait(run->session, 5000, &status);
    run->session = 0;
    detected(run, "process exit (the runner's waitpid)",
             (nd__chaos_mono_ns() - run->t_inject) / 1000000);
    return ND_OK;
}

/* Spread over the market messages (about 23 a second here), as a noisy link would: one in
 * five corrupted (cut in half), one in seven dropped (a trade-id gap), one in three held 300 ms
 * (reordered), one in two duplicated, and a depth gap. Bursts of consecutive messages would
 * only be a stale feed again (100 dropped in a row silence this market for 4 s). With `end`,
 * every count is set to 0: the fault ends at its removal. */
static nd_err_t corrupt(run_t *run, bool end)
{
    static const struct {
        const char *name;
        int count, every;
    } spec[] = {{"corrupt", 20, 5}, {"drop", 12, 7}, {"delay", 30, 3}, {"duplicate", 50, 2}};
    nd_err_t rc = ND_OK;
    for (size_t i = 0; rc == ND_OK && i < sizeof spec / sizeof spec[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"fault\":\"%s\",\"count\":%d,\"every\":%d,\"ms\":300}",
                 spec[i].name, end ? 0 : spec[i].count, spec[i].every);
        rc = fault(run, body);
    }
    if (rc == ND_OK && !end)
        rc = fault(run, "{\"fault\":\"gap\"}");
    return rc;
}

/* Moves the session into its own cgroup (created on first use). */
static nd_err_t cgroup(run_t *run)
{
    if (run->have_cgroup)
        return ND_OK;
    char name[64];
    snprintf(name, sizeof name, "noderr-chaos-%d", (int)getpid());
    nd_err_t rc = nd__chaos_cgroup_create(&run->cg, name, run->session, run->err,
                                          sizeof run->err);
    run->have_cgroup = rc == ND_OK;
    return rc;
}

/* The session's resident set (VmRSS) in bytes, or 64 MiB when unreadable. */
static int64_t rss_of(pid_t pid)
{
    char path[64], *text = NULL, err[120];
    size_t len = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int64_t kb = 65536;
    if (nd_file_read(path, 1 << 16, 0, &text, &len, err, sizeof err) == ND_OK) {
        const char *at = strstr(text, "VmRSS:");
        if (at)
            kb = strtoll(at + 6, NULL, 10);
        nd_free(text);
    }
    return kb * 1024;
}

static nd_err_t inject(run_t *run)
{
    char body[96], *err = run->err;
    size_t cap = sizeof run->err;
    if (!run->sc)
        return ND_OK;
    if (is(run, "connector_killed"))
        return fault(run, "{\"fault\":\"disconnect\"}");
    if (is(run, "process_killed"))
        return kill_session(run);
    if (is(run, "store_writer_killed")) {
        if (kill(run->session, ND_LIVE_CHAOS_STORE_SIGNAL) == 0)
            return ND_OK;
        nd_err_put(err, cap, "signalling the session: %s", strerror(errno));
        return ND_EIO;
    }
    if (is(run, "price_spike"))
        return fault(run, "{\"fault\":\"spike\",\"pct\":20}");
    if (is(run, "flash_crash")) {
        snprintf(body, sizeof body, "{\"fault\":\"crash\",\"pct\":-30,\"ms\":%lld}",
                 (long long)run->hold_ms / 2);
        return fault(run, body);
    }
    if (is(run, "liquidity_crisis"))
        return fault(run, "{\"fault\":\"thin\",\"depth_pct\":3,\"spread_x\":20}");
    if (is(run, "stale_feed")) {
        snprintf(body, sizeof body, "{\"fault\":\"stale\",\"ms\":%lld}", (long long)run->hold_ms);
        return fault(run, body);
    }
    if (is(run, "corrupt_messages"))
        return corrupt(run, false);
    if (run->proxy) {
        nd__chaos_proxy_set(run->proxy, is(run, "latency_jitter") ? 150 : 0,
                            is(run, "latency_jitter") ? 100 : 0, is(run, "packet_loss") ? 30 : 0,
                            is(run, "venue_partition"));
        return ND_OK;
    }
    if (run->netem) {
        const char *spec = is(run, "latency_jitter") ? "delay 150ms 100ms"
                           : is(run, "packet_loss")  ? "loss 30%"
                                                     : "loss 100%";
        return nd__chaos_netem(spec, run->opt->work_dir, err, cap);
    }
    if (is(run, "cpu_starvation"))
        return cgroup(run) != ND_OK ? ND_EIO : nd__chaos_cgroup_cpu(&run->cg, 5, err, cap);
    if (is(run, "memory_pressure"))
        return cgroup(run) != ND_OK
                   ? ND_EIO
                   : nd__chaos_cgroup_memory(&run->cg, rss_of(run->session) + (16 << 20), err,
                                             cap);
    if (is(run, "disk_full")) {
        char path[520];
        snprintf(path, sizeof path, "%s/filler", run->store_dir);
        return nd__chaos_fill(path) > 0 ? ND_OK : ND_EIO;
    }
    nd_err_put(err, cap, "no injection for %s", run->sc->name);
    return ND_EINVAL;
}

static nd_err_t remove_fault(run_t *run)
{
    char path[520], *err = run->err;
    size_t cap = sizeof run->err;
    if (!run->sc)
        return ND_OK;
    if (is(run, "process_killed")) {
        if (run->opt->defect == ND_CHAOS_DEFECT_NO_RESTART)
            return ND_OK;
        run->restart_real_ns = nd__chaos_real_ns();
        run->restarted = true;
        return start_session(run, "-restart");
    }
    if (run->proxy) {
        nd__chaos_proxy_set(run->proxy, 0, 0, 0, false);
        return ND_OK;
    }
    if (is(run, "liquidity_crisis"))
        return fault(run, "{\"fault\":\"thin\",\"depth_pct\":100,\"spread_x\":1}");
    if (is(run, "corrupt_messages"))
        return corrupt(run, true);
    if (run->netem && run->sc->category == ND_CHAOS_NETWORK)
        return nd__chaos_netem(NULL, run->opt->work_dir, err, cap);
    if (is(run, "cpu_starvation"))
        return nd__chaos_cgroup_cpu(&run->cg, 0, err, cap);
    if (is(run, "memory_pressure"))
        return nd__chaos_cgroup_memory(&run->cg, 0, err, cap);
    if (is(run, "disk_full")) {
        snprintf(path, sizeof path, "%s/filler", run->store_dir);
        return unlink(path) == 0 ? ND_OK : ND_EIO;
    }
    return ND_OK;
}

/* Stops the session: SIGTERM (its shutdown cancels what is working), or, with the planted
 * defect no-cancel-on-stop, SIGKILL while an order works (nothing cancelled). */
static void stop_session(run_t *run)
{
    if (run->session > 0 && run->opt->defect == ND_CHAOS_DEFECT_NO_CANCEL) {
        /* Killed while an order works (as the status shows it, up to 5 s), so there is one to
         * leave behind. */
        nd__chaos_sample_t s = {0};
        for (int k = 0; k < 5000 / POLL_MS && s.open_orders == 0; k++) {
            nd__chaos_sample(run->status, &s);
            if (s.open_orders == 0)
                nd__chaos_sleep_ms(POLL_MS);
        }
        kill(run->session, SIGKILL);
        int status = 0;
        (void)nd__chaos_wait(run->session, 5000, &status);
    } else if (run->session > 0) {
        (void)nd__chaos_stop(run->session, 15000);
    }
    run->session = 0;
}

/* Stops both children and undoes what is left of the fault (the store stays for the checks). */
static void stop_children(run_t *run)
{
    if (run->xsim > 0)
        kill(run->xsim, SIGCONT);
    stop_session(run);
    if (run->xsim > 0)
        (void)nd__chaos_stop(run->xsim, 5000);
    run->xsim = 0;
    char scratch[200];
    if (run->netem && run->sc && run->sc->category == ND_CHAOS_NETWORK)
        (void)nd__chaos_netem(NULL, run->opt->work_dir, scratch, sizeof scratch);
}

static void cleanup(run_t *run)
{
    nd__chaos_proxy_stop(run->proxy);
    run->proxy = NULL;
    if (run->have_cgroup)
        nd__chaos_cgroup_remove(&run->cg);
    if (run->tmpfs)
        nd__chaos_umount(run->store_dir);
}

/* Why sc cannot run here, or NULL. */
static const char *cannot_run(const nd_chaos_scenario_t *sc)
{
    if (sc->needs_root && geteuid() != 0)
        return "needs root (cgroups, tmpfs mounts)";
    return NULL;
}

static bool expects_trip(const run_t *run)
{
    return is(run, "flash_crash") || is(run, "price_spike");
}

/* Inject, hold, remove, recover: the measured middle of a run. */
static nd_err_t fault_cycle(run_t *run)
{
    nd__chaos_sleep_ms(300);
    if (!sample(run, 0))
        return ND_EIO;
    /* A fault that blinds the session is injected while a strategy order is working (as the
     * status shows it), so what happens to working orders is what gets tested. */
    for (int k = 0; k < 5000 / POLL_MS && blinds(run) && run->cur.uncancelled == 0; k++) {
        nd__chaos_sleep_ms(POLL_MS);
        (void)sample(run, 0);
    }
    run->s0 = run->cur;
    run->died_status = -1;
    run->t_inject = nd__chaos_mono_ns();
    run->inject_real_ns = nd__chaos_real_ns();
    if (inject(run) != ND_OK)
        return ND_EIO;
    observe(run, run->t_inject + run->hold_ms * 1000000, false);
    if (remove_fault(run) != ND_OK)
        return ND_EIO;
    run->t_remove = nd__chaos_mono_ns();
    run->sub_at_remove = run->restarted ? 0 : run->cur.submitted;
    observe(run, run->t_remove + (int64_t)RECOVER_WAIT_MS * 1000000, true);
    run->r->recovered = run->r->recover_ms >= 0 && run->cur.submitted > run->sub_at_remove;
    /* A fault that must trip a breaker is contained when the engine halted with nothing
     * working: trading resumes on an operator's reset, as the policy says. */
    if (expects_trip(run) && run->cur.halted) {
        run->r->recovered = run->cur.open_orders == 0;
        run->r->recover_ms = 0;
    }
    if (!run->sc)
        run->r->recovered = true;
    return ND_OK;
}

/* A live run's venue-side invariants, asked of exchange-sim after the session stopped and
 * before exchange-sim does (its state is in memory). */
static void check_venue(run_t *run)
{
    if (run->xsim > 0)
        kill(run->xsim, SIGCONT);
    stop_session(run);
    char rest_url[64], journal[480];
    snprintf(rest_url, sizeof rest_url, "http://127.0.0.1:%d", run->port);
    snprintf(journal, sizeof journal, "%s/state/journal-BTCUSDT.bin", run->dir);
    nd__chaos_venue_facts_t vf = {.rest_url = rest_url, .secret = &run->secret,
                                  .journal_path = journal, .status_path = run->status,
                                  .symbol = "BTCUSDT", .base = "BTC", .quote = "USDT"};
    nd__chaos_venue_check(&vf, run->r);
}

static void finish(run_t *run, const baseline_t *base)
{
    if (run->opt->live)
        check_venue(run);
    stop_children(run);
    nd__chaos_sample_t last;
    nd__chaos_sample(run->status, &last);
    nd__chaos_facts_t facts = {.store_url = run->store_url, .last = &last,
                               .blind_orders = run->blind_orders,
                               .submitted_after_removal = last.submitted - run->sub_at_remove,
                               .restarted = run->restarted,
                               .expect_trip = expects_trip(run),
                               .died_status = run->died_status};
    if (run->restarted && last.updated_ns < run->restart_real_ns)
        facts.submitted_after_removal = 0;
    nd__chaos_check(&facts, run->r);
    nd_chaos_result_t *r = run->r;
    r->orders_fault = run->window_orders;
    r->pnl_fault_e8 = run->window_pnl_e8;
    if (base && base->have && base->window_ms > 0) {
        r->orders_baseline = base->orders * run->window_ms / base->window_ms;
        r->pnl_baseline_e8 = base->pnl_e8 * run->window_ms / base->window_ms;
    }
    r->status = ND_CHAOS_PASS;
    nd_chaos_judge(r);
}

static void run_one(const nd_chaos_options_t *opt, run_t *run, int index, const baseline_t *base)
{
    nd_chaos_result_t *r = run->r;
    int64_t t0 = nd__chaos_mono_ns();
    run->hold_ms = opt->short_run ? 2000 : 3000;
    /* A blind market (stale, partition) is held long enough for a status document written
     * after the detection target and its one-second period: the blind-orders check reads it. */
    if (blinds(run))
        run->hold_ms = run->sc->detect_target_ms + 2500;
    if (is(run, "store_writer_killed"))
        run->hold_ms = 0; /* a kill: nothing to hold or remove, recovery counts from it */
    run->window_ms = run->hold_ms + (opt->short_run ? 1500 : 2000);
    nd_err_t rc = setup(run, index);
    if (rc == ND_OK)
        rc = start_xsim(run);
    if (rc == ND_OK)
        rc = start_session(run, "");
    if (rc == ND_OK)
        rc = warm_up(run, 0);
    if (rc == ND_OK)
        rc = fault_cycle(run);
    if (rc == ND_OK) {
        finish(run, base);
    } else {
        stop_children(run);
        r->status = rc == ND_EDECLINED ? ND_CHAOS_SKIP : ND_CHAOS_ERROR;
        snprintf(r->reason, sizeof r->reason, "%.230s", run->err[0] ? run->err : "harness failure");
        r->score = -1;
    }
    cleanup(run);
    r->elapsed_ms = (nd__chaos_mono_ns() - t0) / 1000000;
    ND_LOG(ND_LOG_INFO, "event=chaos_scenario name=%s status=%s score=%d detect_ms=%lld "
           "recover_ms=%lld", name_of(run), nd_chaos_status_name(r->status), r->score,
           (long long)r->detect_ms, (long long)r->recover_ms);
}

static void run_baseline(const nd_chaos_options_t *opt, baseline_t *base, bool netns)
{
    static const nd_chaos_scenario_t none = {"baseline", 0, ND_CHAOS_MODULE, "none", "none", 0,
                                             0, true, false, false};
    nd_chaos_result_t r;
    nd_chaos_result_init(&r, &none);
    run_t run = {.opt = opt, .sc = NULL, .r = &r, .netem = netns};
    run_one(opt, &run, 0, NULL);
    base->have = r.status == ND_CHAOS_PASS || r.status == ND_CHAOS_FAIL;
    base->window_ms = run.window_ms;
    base->orders = run.window_orders;
    base->pnl_e8 = run.window_pnl_e8;
}

nd_err_t nd_chaos_run(const nd_chaos_options_t *opt, const nd_chaos_scenario_t *const *sel,
                      size_t n, nd_chaos_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(opt != NULL && opt->binary != NULL && opt->work_dir != NULL);
    ND_ASSERT(sel != NULL || n == 0);
    (void)setenv("NODERR_XSIM_API_KEY", "chaos-key", 0);
    (void)setenv("NODERR_XSIM_API_SECRET", "chaos-secret", 0);
    /* The sessions honour the chaos fault hooks (ND_LIVE_CHAOS_STORE_SIGNAL). */
    (void)setenv("NODERR_CHAOS_FAULTS", "1", 1);
    /* tc netem in a namespace of our own when it can (only when a network scenario runs: the
     * runner itself moves into it, so a --db over TCP must be reachable there); the TCP proxy
     * otherwise. */
    char netns_why[200];
    bool netns = false;
    bool network = false;
    for (size_t i = 0; i < n; i++)
        network |= sel[i]->implemented && sel[i]->category == ND_CHAOS_NETWORK;
    if (network && opt->use_netns && geteuid() == 0)
        netns = nd__chaos_netns_enter(opt->work_dir, netns_why, sizeof netns_why) == ND_OK;
    if (network && !netns && opt->use_netns)
        ND_LOG(ND_LOG_INFO, "event=chaos_network_faults via=proxy why=\"%s\"",
               geteuid() == 0 ? netns_why : "not root");
    baseline_t base = {0};
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= sel[i]->implemented && !cannot_run(sel[i]);
    if (any)
        run_baseline(opt, &base, netns);
    for (size_t i = 0; i < n; i++) {
        nd_chaos_result_init(&out[i], sel[i]);
        const char *why = cannot_run(sel[i]);
        if (!sel[i]->implemented) {
            out[i].status = ND_CHAOS_NOT_IMPLEMENTED;
            snprintf(out[i].reason, sizeof out[i].reason, "not implemented");
        } else if (why) {
            out[i].status = ND_CHAOS_SKIP;
            snprintf(out[i].reason, sizeof out[i].reason, "%s", why);
        } else {
            run_t run = {.opt = opt, .sc = sel[i], .r = &out[i], .netem = netns};
            run_one(opt, &run, (int)i + 1, &base);
        }
        if (opt->progress_cb)
            opt->progress_cb(opt->ctx, &out[i]);
    }
    (void)err;
    (void)err_len;
    return ND_OK;
}
