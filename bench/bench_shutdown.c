/* bench_shutdown.c: the emergency shutdown's cancel (docs/launcher.md "Shutdown and resume"):
 * ORDERS working orders spread over two venues, each an exchange-sim (in this process, each on
 * its own thread and loopback port) behind its own Binance live adapter (worker thread, journal
 * in JOURNAL_DIR), then nd_binance_exec_cancel_all on both and the adapters polled until every
 * order is reported CANCELLED (the engine's "none working"), then each venue asked for its open
 * orders (GET /api/v3/openOrders: the venue's "none working"). Setting the orders up is not
 * timed. Runs ROUNDS rounds and prints each, then the median and the worst. Target: < 2 s to
 * none working with 1,000 orders on two venues. MODE "each" cancels order by order instead
 * (DELETE /api/v3/order per order, the queue refilled as it drains): the baseline.
 * Usage: bench_shutdown [ORDERS] [ROUNDS] [JOURNAL_DIR] [all|each] (1000, 5, /tmp, all). */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/xsim.h"

#include "bench_time.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VENUES 2
#define ROUNDS_MAX 32

typedef struct venue {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    pthread_t thread;
    char url[64], journal_path[512];
    nd_binance_rest_t *rest, *probe; /* the adapter's (its worker's), and the bench's own */
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_binance_exec_t *exec;
    nd_exec_venue_t v;
    int64_t accepted, cancelled, next_id;
} venue_t;

static nd_secret_t secret;
static bool each; /* the baseline: one cancel per order */

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

static int open_venue(venue_t *vn, int index, const char *dir)
{
    char err[256] = "";
    nd_xsim_config_t cfg = {.quote_balance = (int64_t)1000000000 * 100000000};
    nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim");
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 20 * ND_NS_PER_MS;
    cfg.synth.events = INT64_MAX / 2;
    cfg.synth.level_qty_max = 20000;
    nd_xsim_api_config_t acfg = {.api_key = secret.api_key, .api_secret = secret.api_secret,
                                 .weight_limit = 1000000, .seed = 7};
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 100 * ND_NS_PER_MS,
                                    .clock = nd_clock_os()};
    int port = 0;
    if (nd_xsim_create(&cfg, nd_clock_now_ns(nd_clock_os()), &vn->x, err, sizeof err) != ND_OK ||
        nd_xsim_api_create(vn->x, &acfg, &vn->api) != ND_OK ||
        nd_xsim_server_open(vn->api, vn->x, &scfg, &vn->server, &port, err, sizeof err) != ND_OK ||
        pthread_create(&vn->thread, NULL, serve, vn->server) != 0) {
        fprintf(stderr, "bench_shutdown: exchange-sim: %s\n", err);
        return -1;
    }
    snprintf(vn->url, sizeof vn->url, "http://127.0.0.1:%d", port);
    snprintf(vn->journal_path, sizeof vn->journal_path, "%s/nd-bench-shutdown-%d-%d.journal", dir,
             (int)getpid(), index);
    nd_binance_rest_config_t rcfg = {.base_url = vn->url, .secret = &secret,
                                     .weight_limit_1m = 1000000};
    vn->local = nd_calloc(1, sizeof *vn->local);
    if (!vn->local ||
        nd_binance_rest_create(&rcfg, nd_clock_os(), &vn->rest, err, sizeof err) != ND_OK ||
        nd_binance_rest_create(&rcfg, nd_clock_os(), &vn->probe, err, sizeof err) != ND_OK ||
        nd_binance_rest_sync_time(vn->rest, err, sizeof err) != ND_OK ||
        nd_binance_rest_sync_time(vn->probe, err, sizeof err) != ND_OK ||
        nd_binance_rest_load_filters(vn->rest, "BTCUSDT", err, sizeof err) != ND_OK ||
        nd_journal_open(vn->journal_path, NULL, NULL, &vn->journal, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_shutdown: venue %d: %s\n", index, err);
        return -1;
    }
    nd_binance_exec_config_t ecfg = {.rest = vn->rest, .journal = vn->journal,
                                     .local = vn->local, .clock = nd_clock_os(),
                                     .symbol = "BTCUSDT",
                                     .assets = {.base = "BTC", .quote = "USDT"}, .tag = "bench",
                                     .run = 1, .queue_max = 256};
    if (nd_binance_exec_create(&ecfg, &vn->exec, err, sizeof err) != ND_OK ||
        nd_binance_exec_start(vn->exec) != ND_OK) {
        fprintf(stderr, "bench_shutdown: adapter %d: %s\n", index, err);
        return -1;
    }
    vn->v = nd_binance_exec_venue(vn->exec);
    return 0;
}

static void poll_venue(venue_t *vn)
{
    nd_order_update_t up[256];
    size_t n = 0;
    vn->v.ops->poll(vn->v.self, 0, up, 256, &n);
    for (size_t k = 0; k < n; k++) {
        vn->accepted += up[k].kind == ND_UPDATE_ACCEPTED;
        vn->cancelled += up[k].kind == ND_UPDATE_CANCELLED;
    }
}

/* Places per_venue limit buys at half the market on each venue and waits for every ack. */
static int place(venue_t *vns, int64_t per_venue)
{
    for (int i = 0; i < VENUES; i++)
        vns[i].accepted = vns[i].cancelled = 0;
    int64_t sent[VENUES] = {0};
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < VENUES; i++) {
            venue_t *vn = &vns[i];
            while (sent[i] < per_venue) {
                nd_order_intent_t in = {.side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT,
                                        .px = (int64_t)(20000 - sent[i] % 1000) * 100000000,
                                        .qty = 100000};
                nd_order_t o;
                nd_order_init(&o, (uint64_t)++vn->next_id, &in, 0, 0);
                if (vn->v.ops->submit(vn->v.self, &o, 0) != ND_OK) {
                    vn->next_id--;
                    break; /* the queue is full: poll, then more */
                }
                sent[i]++;
            }
            poll_venue(vn);
            more = more || vn->accepted < per_venue;
        }
        usleep(200);
    }
    return 0;
}

/* The venue's open orders on BTCUSDT (the bench's own client), -1 when it does not answer. */
static int64_t venue_open(venue_t *vn)
{
    nd_binance_rest_result_t res;
    char err[256];
    if (nd_binance_rest_open_orders(vn->probe, "BTCUSDT", &res, err, sizeof err) != ND_OK)
        return -1;
    json_t *arr = res.http_status == 200 ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
    int64_t n = json_is_array(arr) ? (int64_t)json_array_size(arr) : -1;
    json_decref(arr);
    nd_binance_rest_result_free(&res);
    return n;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One round: place, then time the cancel-all to the adapters' CANCELLED and the venues' none. */
static int round_once(venue_t *vns, int64_t per_venue, double *engine_s, double *venue_s)
{
    place(vns, per_venue);
    for (int i = 0; i < VENUES; i++)
        if (venue_open(&vns[i]) != per_venue)
            return -1;
    double t0 = bench_wall_s();
    int64_t next[VENUES];
    for (int i = 0; i < VENUES; i++) {
        next[i] = vns[i].next_id - per_venue + 1;
        if (!each && nd_binance_exec_cancel_all(vns[i].exec) != ND_OK)
            return -1;
    }
    for (bool busy = true; busy;) {
        busy = false;
        for (int i = 0; i < VENUES; i++) {
            while (each && next[i] <= vns[i].next_id &&
                   vns[i].v.ops->cancel(vns[i].v.self, (uint64_t)next[i], 0) == ND_OK)
                next[i]++;
            poll_venue(&vns[i]);
            busy = busy || vns[i].cancelled < per_venue ||
                   nd_binance_exec_cancel_all_busy(vns[i].exec);
        }
        if (busy)
            usleep(200);
        if (bench_wall_s() - t0 > 30)
            return -1;
    }
    *engine_s = bench_wall_s() - t0;
    for (int i = 0; i < VENUES; i++)
        if (venue_open(&vns[i]) != 0)
            return -1;
    *venue_s = bench_wall_s() - t0;
    return 0;
}

int main(int argc, char **argv)
{
    int64_t orders = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    each = argc > 4 && strcmp(argv[4], "each") == 0;
    if (orders < VENUES || orders / VENUES > 1000 || rounds < 1 || rounds > ROUNDS_MAX) {
        fprintf(stderr, "usage: bench_shutdown [ORDERS 2..2000] [ROUNDS 1..%d] [JOURNAL_DIR]\n",
                ROUNDS_MAX);
        return 2;
    }
    snprintf(secret.api_key, sizeof secret.api_key, "bench-key");
    snprintf(secret.api_secret, sizeof secret.api_secret, "bench-secret-0123456789abcdef");
    venue_t vns[VENUES];
    memset(vns, 0, sizeof vns);
    for (int i = 0; i < VENUES; i++)
        if (open_venue(&vns[i], i, dir) != 0)
            return 1;
    double engine[ROUNDS_MAX], venue[ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        double c0 = bench_cpu_s();
        if (round_once(vns, orders / VENUES, &engine[r], &venue[r]) != 0) {
            fprintf(stderr, "bench_shutdown: round %d did not end with none working\n", r + 1);
            return 1;
        }
        printf("round %d: %lld orders on %d venues: all CANCELLED %.0f ms, venues none open "
               "%.0f ms (cpu %.2f s with the setup)\n", r + 1, (long long)orders, VENUES,
               engine[r] * 1e3, venue[r] * 1e3, bench_cpu_s() - c0);
    }
    qsort(engine, (size_t)rounds, sizeof engine[0], cmp_dbl);
    qsort(venue, (size_t)rounds, sizeof venue[0], cmp_dbl);
    printf("%s of %lld working orders on %d venues: none working at the venues in "
           "median %.0f ms, worst %.0f ms (adapters all CANCELLED: median %.0f ms, worst %.0f "
           "ms); target < 2000 ms\n", each ? "order-by-order cancel" : "emergency cancel-all",
           (long long)orders, VENUES, venue[rounds / 2] * 1e3,
           venue[rounds - 1] * 1e3, engine[rounds / 2] * 1e3, engine[rounds - 1] * 1e3);
    for (int i = 0; i < VENUES; i++) {
        nd_binance_exec_destroy(vns[i].exec);
        nd_journal_close(vns[i].journal);
        unlink(vns[i].journal_path);
        nd_binance_rest_destroy(vns[i].rest);
        nd_binance_rest_destroy(vns[i].probe);
        nd_free(vns[i].local);
        nd_xsim_server_stop(vns[i].server);
        pthread_join(vns[i].thread, NULL);
        nd_xsim_server_close(vns[i].server);
        nd_xsim_api_destroy(vns[i].api);
        nd_xsim_destroy(vns[i].x);
    }
    return venue[rounds - 1] < 2.0 ? 0 : 1;
}
