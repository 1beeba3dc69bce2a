/* bench_dashboard.c: what the dashboard costs the engine thread (issue 14's target: 100
 * WebSocket clients at 10 updates/s move the tick-to-order p99 by no more than 10%).
 *
 * One libuv loop, as in a paper session: the engine (quote_maker on a seeded walk of Binance
 * bookTicker and trade messages, as bench_tick_to_order), the HTTP server with the dashboard, and
 * its publish timer at 10 updates a second. Messages "arrive" on a fixed schedule (one every
 * INTERVAL_US); an idle handle processes every message whose arrival time has come, so a message
 * that arrives while the loop is busy with the dashboard (snapshot, delta, writes to 100
 * sockets) waits, and its latency counts that wait: latency = decode and engine step done -
 * arrival. Phase 1 runs with no client, phase 2 once CLIENTS clients are connected (started by
 * bench/bench_dashboard.sh, which prints both lines). Prints p50/p99/p99.9/max per phase, the
 * dashboard's messages sent, and the publish's cost to the engine's thread.
 *
 * MODE "thread" (the default; a session whose dashboard has a listen of its own): the dashboard
 * runs on its own thread (nd_dashboard_thread_start) and the engine's thread only fills the
 * snapshot's figures (no allocation) and hands them over; the document is formatted there.
 * MODE "loop" (a dashboard sharing the metrics' server): the dashboard is on the engine's loop
 * and the whole publish, the writes included, runs there.
 *
 * Usage: bench_dashboard SECONDS CLIENTS [MODE] (prints "listening on URL" first). */
#include "../src/live/live_int.h"
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/dashboard.h"
#include "noderr/fixed.h"
#include "noderr/httpd.h"
#include "noderr/rand.h"
#include "noderr/scenario.h"
#include "noderr/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define INTERVAL_NS 500000 /* 2,000 messages a second */
#define MSG_CAP 256
#define PUBLISH_SAMPLES 4096

typedef struct bench {
    nd_backtest_config_t cfg; /* borrowed by the run: lives as long as it */
    nd_event_run_t *run;
    const nd_instrument_t *inst;
    nd_binance_decoder_t *dec;
    nd_dashboard_t *dash;          /* MODE loop */
    nd_dashboard_thread_t *thread; /* MODE thread */
    nd_dashboard_state_t state;
    uv_loop_t loop;
    uv_idle_t idle;
    uv_timer_t publish;
    const nd_clock_t *clock;
    nd_rand_t rng;
    int64_t mid, ts_ns, bad;
    uint64_t seq, k;
    int64_t phase_start, phase_end, next_arrival;
    int64_t *lat;
    size_t n, cap;
    int64_t publish_ns, publishes, publish_max_ns;
    int64_t publish_sample[PUBLISH_SAMPLES]; /* each publish's engine-thread wall time */
    double phase_cpu_s;                      /* the engine thread's CPU time at phase start */
    uint32_t clients_wanted;
    int phase; /* 0: no clients, 1: waiting for clients, 2: with clients, 3: done */
    int64_t seconds;
} bench_t;

static void sink(void *ctx, const nd_md_event_t *md)
{
    bench_t *b = ctx;
    nd_market_event_t ev;
    char err[256];
    if (!nd__live_md_to_event(md, b->inst, b->ts_ns, b->seq++, &ev) ||
        nd_event_run_push(b->run, &ev, err, sizeof err) != ND_OK)
        b->bad++;
}

static size_t message(bench_t *b, char *buf, size_t cap)
{
    size_t k = b->k++;
    b->mid += (int64_t)nd_rand_below(&b->rng, 5) - 2;
    int64_t bid = b->mid, ask = b->mid + 1;
    if (k % 3 == 2)
        return (size_t)snprintf(buf, cap,
            "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":%lld,\"s\":\"BTCUSDT\","
            "\"t\":%zu,\"p\":\"%lld.%02lld\",\"q\":\"0.00%03u\",\"T\":%lld,\"m\":%s,\"M\":true}}",
            1700000000000LL + (long long)k, k, (long long)(bid / 100), (long long)(bid % 100),
            (unsigned)(1 + nd_rand_below(&b->rng, 900)), 1700000000000LL + (long long)k,
            nd_rand_below(&b->rng, 2) ? "true" : "false");
    return (size_t)snprintf(buf, cap,
        "{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":%zu,\"s\":\"BTCUSDT\","
        "\"b\":\"%lld.%02lld\",\"B\":\"0.%05u\",\"a\":\"%lld.%02lld\",\"A\":\"0.%05u\"}}",
        k, (long long)(bid / 100), (long long)(bid % 100),
        (unsigned)(1000 + nd_rand_below(&b->rng, 90000)), (long long)(ask / 100),
        (long long)(ask % 100), (unsigned)(1000 + nd_rand_below(&b->rng, 90000)));
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

static uint32_t clients(const bench_t *b)
{
    return b->thread ? nd_dashboard_thread_clients(b->thread) : nd_dashboard_clients(b->dash);
}

static uint64_t sent(const bench_t *b)
{
    return b->thread ? nd_dashboard_thread_messages(b->thread) : nd_dashboard_messages(b->dash);
}

/* The calling thread's CPU time (user + system): the engine's, on the engine's thread. On a
 * shared machine the wall clock also counts waiting for a core; this does not. */
static double thread_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void report(bench_t *b, const char *what)
{
    qsort(b->lat, b->n, sizeof *b->lat, cmp_i64);
    size_t n = b->n, np = (size_t)(b->publishes < PUBLISH_SAMPLES ? b->publishes : PUBLISH_SAMPLES);
    qsort(b->publish_sample, np, sizeof *b->publish_sample, cmp_i64);
    printf("%-22s clients=%u messages=%zu p50=%.2f us p99=%.2f us p99.9=%.2f us max=%.2f us "
           "publishes=%lld publish_p50=%.1f us publish_mean=%.1f us publish_max=%.1f us "
           "engine_thread_cpu=%.1f ms sent=%llu\n",
           what, clients(b), n, (double)b->lat[n / 2] / 1e3,
           (double)b->lat[n * 99 / 100] / 1e3, (double)b->lat[n * 999 / 1000] / 1e3,
           (double)b->lat[n - 1] / 1e3, (long long)b->publishes,
           np ? (double)b->publish_sample[np / 2] / 1e3 : 0.0,
           b->publishes ? (double)b->publish_ns / (double)b->publishes / 1e3 : 0.0,
           (double)b->publish_max_ns / 1e3, (thread_cpu_s() - b->phase_cpu_s) * 1e3,
           (unsigned long long)sent(b));
    fflush(stdout);
    b->n = 0;
    b->publishes = b->publish_ns = b->publish_max_ns = 0;
}

static void start_phase(bench_t *b, int64_t now)
{
    b->phase_start = b->next_arrival = now;
    b->phase_end = now + b->seconds * ND_NS_PER_SEC;
    b->phase_cpu_s = thread_cpu_s();
}

/* Every message whose arrival time has come, each timed from its arrival. */
static void on_idle(uv_idle_t *h)
{
    bench_t *b = h->data;
    int64_t now = nd_clock_mono_ns(b->clock);
    if (b->phase == 1) {
        if (clients(b) >= b->clients_wanted) {
            b->phase = 2;
            start_phase(b, now);
        }
        return;
    }
    char buf[MSG_CAP];
    while (b->next_arrival <= now && b->n < b->cap) {
        size_t len = message(b, buf, sizeof buf);
        b->ts_ns = 1700000000000000000LL + (int64_t)b->k * 1000000;
        nd_binance_decode(b->dec, buf, len, b->ts_ns, sink, b);
        now = nd_clock_mono_ns(b->clock);
        b->lat[b->n++] = now - b->next_arrival;
        b->next_arrival += INTERVAL_NS;
    }
    if (now < b->phase_end)
        return;
    report(b, b->phase == 0 ? "no clients" : "with clients");
    if (b->phase == 0) {
        b->phase = 1;
        printf("waiting for %u clients\n", b->clients_wanted);
        fflush(stdout);
    } else {
        b->phase = 3;
        uv_stop(&b->loop);
    }
}

static void on_publish(uv_timer_t *t)
{
    bench_t *b = t->data;
    int64_t t0 = nd_clock_mono_ns(b->clock);
    nd_dashboard_sample(&b->state, nd_event_run_engine(b->run));
    if (b->thread)
        nd_dashboard_thread_publish(b->thread);
    else
        nd_dashboard_publish(b->dash);
    int64_t dt = nd_clock_mono_ns(b->clock) - t0;
    b->publish_ns += dt;
    if (b->publishes < PUBLISH_SAMPLES)
        b->publish_sample[b->publishes] = dt;
    b->publishes++;
    if (dt > b->publish_max_ns)
        b->publish_max_ns = dt;
}

/* The bench's snapshot as figures (as a session's, session_dash.c): filled on the engine's
 * thread without allocating, formatted into the document on the dashboard's. */
typedef struct bench_snap {
    int64_t equity, cash, now_ns;
    nd_dashboard_figures_t dash;
} bench_snap_t;

static void snapshot_fill(void *ctx, void *snap)
{
    bench_t *b = ctx;
    bench_snap_t *d = snap;
    const nd_engine_t *e = nd_event_run_engine(b->run);
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    d->equity = nd_portfolio_equity(p);
    d->cash = nd_portfolio_cash(p);
    d->now_ns = nd_clock_now_ns(b->clock);
    nd_dashboard_figures_fill(e, 1, &b->state, &d->dash);
}

static json_t *snapshot_format(const void *snap)
{
    const bench_snap_t *d = snap;
    json_t *doc = json_object();
    json_t *account = json_object();
    json_object_set_new(account, "equity", nd_json_fixed(d->equity, ND_CASH_DECIMALS));
    json_object_set_new(account, "cash", nd_json_fixed(d->cash, ND_CASH_DECIMALS));
    json_object_set_new(doc, "account", account);
    json_object_set_new(doc, "updated_at_ns", json_integer(d->now_ns));
    json_object_set_new(doc, "dashboard", nd_dashboard_figures_json(&d->dash));
    return doc;
}

static int control(void *ctx, const nd_dashboard_control_t *c, const char *token_id,
                   const char *peer, char *msg, size_t msg_len)
{
    (void)ctx, (void)c, (void)token_id, (void)peer;
    snprintf(msg, msg_len, "the bench takes no controls");
    return 501;
}

static nd_err_t open_run(bench_t *b, nd_backtest_result_t *result, char *err, size_t err_len)
{
    nd_backtest_config_t *cfg = &b->cfg;
    nd_backtest_config_default(cfg);
    cfg->strategies[0].def = nd_strategy_find_event("quote_maker");
    nd_strategy_params_default(cfg->strategies[0].def, cfg->strategies[0].params);
    cfg->strategy_count = 1;
    cfg->px_decimals = 2;
    cfg->qty_decimals = 6;
    cfg->engine.risk.orders_per_sec_max = 0;
    cfg->engine.risk.max_drawdown_pct_e2 = 0;
    cfg->engine.risk.daily_loss_pct_e2 = 0;
    nd_err_t rc = nd_event_run_open(cfg, result, &b->run, err, err_len);
    if (rc == ND_OK)
        b->inst = nd_event_run_instrument(b->run, 0);
    return rc;
}

/* The dashboard in the mode asked for; *h is the loop mode's server (NULL on a thread). */
static nd_err_t start_dashboard(bench_t *b, bool threaded, nd_httpd_t **h, char *url,
                                size_t url_cap, char *err, size_t err_len)
{
    nd_httpd_config_t hc = {.listen = "127.0.0.1:0", .uv_loop = &b->loop};
    nd_dashboard_config_t dc = {.on = true, .updates_per_sec = 10,
                                .clients_max = ND_DASHBOARD_CLIENTS_MAX};
    nd_dashboard_token_t token = {.id = "bench"};
    memset(token.token, 'a', ND_DASHBOARD_TOKEN_HEX);
    nd_dashboard_hooks_t hooks = {.fill_cb = snapshot_fill, .format_cb = snapshot_format,
                                  .snap_size = sizeof(bench_snap_t), .control_cb = control,
                                  .ctx = b};
    nd_err_t rc;
    if (threaded) {
        rc = nd_dashboard_thread_start(&hc, &dc, &token, &hooks, &b->loop, &b->thread, err,
                                       err_len);
        if (rc == ND_OK)
            nd_dashboard_thread_url(b->thread, url, url_cap);
        return rc;
    }
    rc = nd_httpd_create(&hc, h, err, err_len);
    if (rc == ND_OK)
        rc = nd_dashboard_create(*h, &dc, &token, &hooks, &b->dash, err, err_len);
    if (rc == ND_OK)
        nd_httpd_url(*h, url, url_cap);
    return rc;
}

int main(int argc, char **argv)
{
    static bench_t b;
    b.seconds = argc > 1 ? strtoll(argv[1], NULL, 10) : 10;
    b.clients_wanted = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100;
    bool threaded = argc <= 3 || strcmp(argv[3], "loop") != 0;
    b.clock = nd_clock_os();
    b.mid = 4000000;
    nd_rand_init(&b.rng, 11);
    b.cap = (size_t)(b.seconds * (ND_NS_PER_SEC / INTERVAL_NS) + 1000);
    b.lat = nd_alloc(b.cap * sizeof *b.lat);
    nd_backtest_result_t result;
    char err[512] = "", url[128] = "";
    nd_httpd_t *h = NULL;
    uv_loop_init(&b.loop);
    if (open_run(&b, &result, err, sizeof err) != ND_OK ||
        nd_binance_decoder_create(0, 0, &b.dec) != ND_OK ||
        start_dashboard(&b, threaded, &h, url, sizeof url, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_dashboard: %s\n", err);
        return 1;
    }
    nd_dashboard_state_init(&b.state);
    printf("mode %s\nlistening on %s\n", threaded ? "thread" : "loop", url);
    fflush(stdout);
    uv_idle_init(&b.loop, &b.idle);
    uv_timer_init(&b.loop, &b.publish);
    b.idle.data = b.publish.data = &b;
    uv_idle_start(&b.idle, on_idle);
    uv_timer_start(&b.publish, on_publish, 100, 100);
    start_phase(&b, nd_clock_mono_ns(b.clock));
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&b.idle, NULL);
    uv_close((uv_handle_t *)&b.publish, NULL);
    nd_dashboard_thread_destroy(b.thread);
    nd_httpd_destroy(h);
    nd_dashboard_destroy(b.dash);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    nd_event_run_close(b.run, err, sizeof err);
    nd_backtest_result_free(&result);
    nd_binance_decoder_destroy(b.dec);
    nd_free(b.lat);
    return 0;
}
