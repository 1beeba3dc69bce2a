/* cb_fake.c: a scripted Coinbase Advanced Trade market-data WebSocket on 127.0.0.1 for the
 * Coinbase paper session test (tests/integration/68_coinbase_session.sh), until exchange-sim
 * serves Coinbase. Not a venue: no matching, no REST, no auth.
 *
 * It prints "listening on 127.0.0.1:PORT", then one line per (un)subscribe it receives
 * ("subscribe market_trades"). Each subscribe is answered as Coinbase does: a `subscriptions`
 * frame, then the channel's snapshot (ticker: the best bid and offer; market_trades: three
 * trades from before the subscription, which a session must not trade on; level2: a book of
 * five levels a side). Every 50 ms it sends a heartbeat (the venue's time), a market_trades
 * update of three trades listed newest first (as Coinbase batches them), a ticker and a level2
 * update, from a seeded random walk. Every frame carries the connection's sequence_num, from
 * 0; with --gap-after N it skips one number once, after N frames of the first connection (the
 * session must resubscribe and take the new snapshots).
 *   cb_fake --product BTC-USD [--seed S] [--gap-after N] */
#include <libwebsockets.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 4096
#define FRAME_MAX 2048

static struct {
    const char *product;
    uint64_t rng;
    long gap_after;
    bool gap_done;
    int conn_no;
    struct lws *wsi;
    long seq;
    char *queue[QUEUE_MAX];
    int head, tail;
    bool sub_trades, sub_ticker, sub_l2, sub_hb;
    int64_t px_cents;        /* the random walk's last price */
    long trade_id;
    long hb_counter;
    lws_sorted_usec_list_t sul;
    struct lws_context *ctx;
} F;

static uint64_t next_rand(void)
{
    F.rng ^= F.rng << 13;
    F.rng ^= F.rng >> 7;
    F.rng ^= F.rng << 17;
    return F.rng;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* RFC3339 with nanoseconds, as Coinbase stamps its envelopes. */
static void rfc3339(int64_t ns, char *out, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%09lldZ", day, (long long)(ns % 1000000000));
}

static void px_text(int64_t cents, char *out, size_t cap)
{
    snprintf(out, cap, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
}

/* Queues one envelope of channel around events (a JSON array's inside). */
static void send_frame(const char *channel, const char *events)
{
    if (!F.wsi)
        return;
    if (F.gap_after > 0 && !F.gap_done && F.conn_no == 1 && F.seq >= F.gap_after) {
        F.gap_done = true;
        F.seq++; /* one number never sent */
    }
    char ts[48], *frame = malloc(FRAME_MAX + strlen(events));
    rfc3339(now_ns(), ts, sizeof ts);
    snprintf(frame, FRAME_MAX + strlen(events),
             "{\"channel\":\"%s\",\"client_id\":\"\",\"timestamp\":\"%s\",\"sequence_num\":%ld,"
             "\"events\":[%s]}", channel, ts, F.seq++, events);
    int next = (F.tail + 1) % QUEUE_MAX;
    if (next == F.head) { /* the client stopped reading: drop, as a full socket would */
        free(frame);
        return;
    }
    F.queue[F.tail] = frame;
    F.tail = next;
    lws_callback_on_writable(F.wsi);
}

static void send_ticker(const char *type)
{
    char ev[1024], bid[32], ask[32], last[32];
    px_text(F.px_cents - 1, bid, sizeof bid);
    px_text(F.px_cents + 1, ask, sizeof ask);
    px_text(F.px_cents, last, sizeof last);
    snprintf(ev, sizeof ev,
             "{\"type\":\"%s\",\"tickers\":[{\"type\":\"ticker\",\"product_id\":\"%s\","
             "\"price\":\"%s\",\"volume_24_h\":\"100\",\"low_24_h\":\"1\",\"high_24_h\":\"1\","
             "\"low_52_w\":\"1\",\"high_52_w\":\"1\",\"price_percent_chg_24_h\":\"0\","
             "\"best_bid\":\"%s\",\"best_bid_quantity\":\"0.5\",\"best_ask\":\"%s\","
             "\"best_ask_quantity\":\"0.7\"}]}", type, F.product, last, bid, ask);
    send_frame("ticker", ev);
}

/* Three trades, newest first; a snapshot's are from before the subscription (ids below the
 * live ones' and times a minute ago), an update's move the walk on. */
static void send_trades(bool snapshot)
{
    char ev[FRAME_MAX], item[3][320];
    int64_t t = now_ns() - (snapshot ? 60000000000LL : 0);
    for (int k = 0; k < 3; k++) {
        long id;
        int64_t cents;
        if (snapshot) {
            id = 1000 + k;
            cents = F.px_cents;
        } else {
            F.px_cents += (int64_t)(next_rand() % 41) - 20;
            id = ++F.trade_id;
            cents = F.px_cents;
        }
        char px[32], when[48];
        px_text(cents, px, sizeof px);
        rfc3339(t + k * 1000, when, sizeof when);
        snprintf(item[k], sizeof item[k],
                 "{\"trade_id\":\"%ld\",\"product_id\":\"%s\",\"price\":\"%s\","
                 "\"size\":\"0.00%llu\",\"side\":\"%s\",\"time\":\"%s\"}", id, F.product, px,
                 (unsigned long long)(next_rand() % 9 + 1), next_rand() % 2 ? "BUY" : "SELL",
                 when);
    }
    snprintf(ev, sizeof ev, "{\"type\":\"%s\",\"trades\":[%s,%s,%s]}",
             snapshot ? "snapshot" : "update", item[2], item[1], item[0]);
    send_frame("market_trades", ev);
}

static void send_l2(bool snapshot)
{
    char ev[FRAME_MAX], when[48];
    size_t n = 0;
    rfc3339(now_ns(), when, sizeof when);
    n += (size_t)snprintf(ev + n, sizeof ev - n, "{\"type\":\"%s\",\"product_id\":\"%s\","
                          "\"updates\":[", snapshot ? "snapshot" : "update", F.product);
    for (int k = 0; k < (snapshot ? 10 : 2); k++) {
        bool bid = k % 2 == 0;
        char px[32];
        px_text(bid ? F.px_cents - 1 - k / 2 : F.px_cents + 1 + k / 2, px, sizeof px);
        n += (size_t)snprintf(ev + n, sizeof ev - n, "%s{\"side\":\"%s\",\"event_time\":\"%s\","
                              "\"price_level\":\"%s\",\"new_quantity\":\"%s\"}", k ? "," : "",
                              bid ? "bid" : "offer", when, px, snapshot ? "1.5" : "0");
    }
    snprintf(ev + n, sizeof ev - n, "]}");
    send_frame("l2_data", ev);
}

static void send_heartbeat(void)
{
    char ev[256], when[48];
    int64_t t = now_ns();
    time_t s = (time_t)(t / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(ev, sizeof ev, "{\"current_time\":\"%s.%09lld +0000 UTC m=+%ld.000000001\","
             "\"heartbeat_counter\":%ld}", when, (long long)(t % 1000000000), F.hb_counter,
             F.hb_counter);
    F.hb_counter++;
    send_frame("heartbeats", ev);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    if (F.wsi) {
        if (F.sub_hb)
            send_heartbeat();
        if (F.sub_trades)
            send_trades(false);
        if (F.sub_ticker)
            send_ticker("update");
        if (F.sub_l2)
            send_l2(false);
    }
    lws_sul_schedule(F.ctx, 0, sul, tick, 50 * LWS_US_PER_MS);
}

/* {"type":"subscribe","product_ids":[..],"channel":"C"[,"jwt":..]}: crude but exact enough for
 * the frames the client sends (the unit tests check their JSON). */
static void on_frame(const char *text)
{
    bool sub = strstr(text, "\"type\":\"subscribe\"") != NULL;
    const char *c = strstr(text, "\"channel\":\"");
    if (!c)
        return;
    c += strlen("\"channel\":\"");
    char channel[64];
    size_t n = strcspn(c, "\"");
    snprintf(channel, sizeof channel, "%.*s", (int)(n < 63 ? n : 63), c);
    printf("%s %s\n", sub ? "subscribe" : "unsubscribe", channel);
    fflush(stdout);
    bool *flag = strcmp(channel, "market_trades") == 0 ? &F.sub_trades
                 : strcmp(channel, "ticker") == 0      ? &F.sub_ticker
                 : strcmp(channel, "level2") == 0      ? &F.sub_l2
                 : strcmp(channel, "heartbeats") == 0  ? &F.sub_hb
                                                       : NULL;
    if (!flag)
        return;
    *flag = sub;
    if (!sub)
        return;
    send_frame("subscriptions", "{\"subscriptions\":{}}");
    if (flag == &F.sub_ticker)
        send_ticker("snapshot");
    else if (flag == &F.sub_trades)
        send_trades(true);
    else if (flag == &F.sub_l2)
        send_l2(true);
}

static int on_writeable(struct lws *wsi)
{
    if (F.head == F.tail)
        return 0;
    char *t = F.queue[F.head];
    F.head = (F.head + 1) % QUEUE_MAX;
    size_t n = strlen(t);
    unsigned char *buf = malloc(LWS_PRE + n);
    memcpy(buf + LWS_PRE, t, n);
    int rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    free(t);
    if (F.head != F.tail)
        lws_callback_on_writable(wsi);
    return rc < 0 ? -1 : 0;
}

static void drop_queue(void)
{
    while (F.head != F.tail) {
        free(F.queue[F.head]);
        F.head = (F.head + 1) % QUEUE_MAX;
    }
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        drop_queue();
        F.conn_no++;
        F.wsi = wsi;
        F.seq = 0;
        F.sub_trades = F.sub_ticker = F.sub_l2 = F.sub_hb = false;
        break;
    case LWS_CALLBACK_RECEIVE: {
        char *text = strndup(in, len);
        on_frame(text);
        free(text);
        break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return wsi == F.wsi ? on_writeable(wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (wsi == F.wsi) {
            F.wsi = NULL;
            drop_queue();
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"coinbase", cb, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    F.product = "BTC-USD";
    F.rng = 88172645463325252ULL;
    F.px_cents = 5000000;
    F.trade_id = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--product") == 0)
            F.product = argv[i + 1];
        else if (strcmp(argv[i], "--seed") == 0)
            F.rng ^= strtoull(argv[i + 1], NULL, 10) * 0x9E3779B97F4A7C15ULL;
        else if (strcmp(argv[i], "--gap-after") == 0)
            F.gap_after = strtol(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: cb_fake [--product P] [--seed S] [--gap-after N]\n");
            return 2;
        }
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    F.ctx = lws_create_context(&info);
    if (!F.ctx)
        return 1;
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(F.ctx, "default"));
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    lws_sul_schedule(F.ctx, 0, &F.sul, tick, 50 * LWS_US_PER_MS);
    for (;;)
        if (lws_service(F.ctx, 0) < 0)
            break;
    lws_context_destroy(F.ctx);
    return 0;
}
