/* launch_health.c: the launcher's health check (launch.h): one verdict per module from a
 * sample of the running session, and the host's headroom measurements (shared with
 * preflight's headroom check). */
#include "launch_int.h"

#include "noderr/assert.h"
#include "noderr/launch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL

const char *nd_launch_module_name(nd_launch_module_t m)
{
    static const char *const names[ND_LAUNCH_MODULE_COUNT] = {
        "host", "store", "refprice", "feed", "venue", "risk", "strategies", "monitoring"};
    return (unsigned)m < ND_LAUNCH_MODULE_COUNT ? names[m] : "unknown";
}

void nd__launch_existing_dir(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path[0] ? path : ".");
    struct stat st;
    while (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (!slash) {
            snprintf(dir, cap, ".");
            return;
        }
        if (slash == dir) {
            dir[1] = '\0';
            return;
        }
        *slash = '\0';
    }
}

/* The space free to us on the file system of path's nearest existing directory, in units of
 * 2^shift bytes; -1 when it cannot be read. */
static int64_t free_space(const char *path, unsigned shift)
{
    char dir[ND_LIVE_PATH_MAX];
    nd__launch_existing_dir(path, dir, sizeof dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return -1;
    return (int64_t)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> shift);
}

int64_t nd_launch_disk_free_mb(const char *path)
{
    return free_space(path, 20);
}

int64_t nd__launch_store_free_kb(const char *store_url)
{
    const char *store = store_url;
    if (strncmp(store, "sqlite:", 7) == 0)
        store += 7;
    if (!store[0] || strstr(store, "://") || strncmp(store, "mem:", 4) == 0)
        return -1;
    return free_space(store, 10);
}

int64_t nd_launch_memory_free_mb(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb >= 0)
        return kb / 1024;
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size / (1024 * 1024) : 0;
}

nd_err_t nd__launch_probe_open(nd__venue_probe_t *p, const nd_live_venue_config_t *vc,
                               const nd_clock_t *clock, int64_t recv_window_ms, long timeout_ms,
                               char *why, size_t why_len)
{
    ND_ASSERT(p != NULL && vc != NULL);
    ND_ASSERT(p->binance == NULL && p->http == NULL);
    p->venue = vc->venue;
    snprintf(p->rest_url, sizeof p->rest_url, "%s", vc->rest_url);
    if (vc->venue == ND_VENUE_COINBASE) {
        nd_err_t rc = nd_http_create(timeout_ms, &p->http);
        if (rc != ND_OK)
            nd_err_put(why, why_len, "coinbase: cannot start an HTTP client: %s",
                       nd_strerror(rc));
        return rc;
    }
    nd_binance_rest_config_t rc_cfg = {.base_url = vc->rest_url,
                                       .recv_window_ms = recv_window_ms,
                                       .timeout_ms = timeout_ms};
    return nd_binance_rest_create(&rc_cfg, clock, &p->binance, why, why_len);
}

void nd__launch_probe_close(nd__venue_probe_t *p)
{
    nd_binance_rest_destroy(p->binance);
    if (p->http)
        nd_http_destroy(p->http);
    p->binance = NULL;
    p->http = NULL;
}

/* The venue's clock in ms, its way. */
static nd_err_t venue_ms(const nd__venue_probe_t *p, int64_t *ms, char *why, size_t why_len)
{
    if (p->venue == ND_VENUE_COINBASE) {
        char e[200] = "";
        nd_err_t rc = nd_coinbase_public_time(p->http, p->rest_url, ms, e, sizeof e);
        if (rc != ND_OK)
            nd_err_put(why, why_len, "coinbase: %s", e[0] ? e : nd_strerror(rc));
        return rc;
    }
    nd_binance_rest_result_t res = {0};
    nd_err_t rc = nd_binance_rest_call(p->binance, "GET", "/api/v3/time", "", false, &res, why,
                                       why_len);
    json_t *doc = rc == ND_OK && res.http_status == 200 && res.body
                      ? json_loadb(res.body, res.body_len, 0, NULL)
                      : NULL;
    json_t *st = json_object_get(doc, "serverTime");
    if (rc == ND_OK && !json_is_integer(st)) {
        nd_err_put(why, why_len, "GET /api/v3/time: HTTP %ld, no serverTime", res.http_status);
        rc = ND_EPARSE;
    }
    if (rc == ND_OK)
        *ms = (int64_t)json_integer_value(st);
    json_decref(doc);
    nd_binance_rest_result_free(&res);
    return rc;
}

/* One time request: the venue's time minus the midpoint of the local send and receive
 * times, and the round trip. */
static nd_err_t time_sample(const nd__venue_probe_t *p, const nd_clock_t *clock,
                            int64_t *offset_us, int64_t *rtt_us, char *why, size_t why_len)
{
    int64_t t0 = nd_clock_now_ns(clock), ms = 0;
    nd_err_t rc = venue_ms(p, &ms, why, why_len);
    int64_t t1 = nd_clock_now_ns(clock);
    if (rc == ND_OK) {
        int64_t mid_us = (t0 / 2 + t1 / 2) / ND_NS_PER_US;
        *offset_us = ms * 1000 - mid_us;
        *rtt_us = (t1 - t0) / ND_NS_PER_US;
    }
    return rc;
}

nd_err_t nd__launch_venue_clock(const nd__venue_probe_t *p, const nd_clock_t *clock,
                                int samples, int64_t *offset_us, int64_t *rtt_us, char *why,
                                size_t why_len)
{
    ND_ASSERT(p != NULL && samples > 0);
    ND_ASSERT(p->binance != NULL || p->http != NULL);
    int64_t best_offset = 0, best_rtt = INT64_MAX;
    for (int k = 0; k < samples; k++) {
        int64_t offset, rtt;
        nd_err_t rc = time_sample(p, clock, &offset, &rtt, why, why_len);
        if (rc != ND_OK)
            return rc;
        if (rtt < best_rtt) { /* the sample with the shortest round trip is the tightest */
            best_rtt = rtt;
            best_offset = offset;
        }
    }
    *offset_us = best_offset;
    *rtt_us = best_rtt;
    return ND_OK;
}

bool nd__launch_clock_within(nd_venue_t venue, int64_t offset_us, int64_t rtt_us,
                             int64_t recv_window_ms, char *bound, size_t bound_len)
{
    ND_ASSERT(rtt_us >= 0 && recv_window_ms > 0);
    int64_t half_window_us = recv_window_ms * 1000 / 2;
    if (venue != ND_VENUE_COINBASE) {
        snprintf(bound, bound_len, "half of recvWindow %lld ms", (long long)recv_window_ms);
        return llabs(offset_us) + rtt_us / 2 < half_window_us;
    }
    /* offset = venue - ours: positive, the venue is ahead and each token dies early. */
    int64_t ahead_us = offset_us + rtt_us / 2, behind_us = -offset_us + rtt_us / 2;
    int64_t half_life_us = (int64_t)ND_COINBASE_JWT_LIFETIME_S * 1000000 / 2;
    bool ok = ahead_us < half_life_us && behind_us < half_window_us;
    snprintf(bound, bound_len, "coinbase JWT: venue ahead < %lld s (half the %d s life), "
             "behind < %lld ms (half of recvWindow: nbf)", (long long)(half_life_us / 1000000),
             ND_COINBASE_JWT_LIFETIME_S, (long long)(half_window_us / 1000));
    return ok;
}

static void verdict(nd_launch_verdict_t *v, nd_sup_health_t h, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(nd_launch_verdict_t *v, nd_sup_health_t h, const char *fmt, ...)
{
    v->health = h;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
}

static void judge_host(const nd_launch_config_t *cfg, const nd_launch_sample_t *s,
                       nd_launch_verdict_t *v)
{
    if (s->disk_free_mb >= 0 && s->disk_free_mb < cfg->disk_free_mb_min)
        verdict(v, ND_SUP_HEALTH_WARN, "disk %lld MiB free, under %lld", (long long)s->disk_free_mb,
                (long long)cfg->disk_free_mb_min);
    else if (s->memory_free_mb >= 0 && s->memory_free_mb < cfg->memory_free_mb_min)
        verdict(v, ND_SUP_HEALTH_WARN, "memory %lld MiB available, under %lld",
                (long long)s->memory_free_mb, (long long)cfg->memory_free_mb_min);
    else
        verdict(v, ND_SUP_HEALTH_OK, "disk %lld MiB, memory %lld MiB free",
                (long long)s->disk_free_mb, (long long)s->memory_free_mb);
}

static void judge_store(const nd_launch_config_t *cfg, const nd_launch_sample_t *s,
                        nd_launch_verdict_t *v)
{
    if (!s->store_present)
        verdict(v, ND_SUP_HEALTH_OK, "no store configured");
    else if (!s->store_ok)
        verdict(v, ND_SUP_HEALTH_FAIL, "write failed: %s", s->store_err);
    else if (s->store_write_ns > cfg->store_write_warn_ns)
        verdict(v, ND_SUP_HEALTH_WARN, "commit took %lld ms", (long long)(s->store_write_ns / NS_PER_MS));
    else
        verdict(v, ND_SUP_HEALTH_OK, "commit %lld us", (long long)(s->store_write_ns / 1000));
}

static void judge_feed(const nd_launch_config_t *cfg, const nd_launch_sample_t *s,
                       nd_launch_verdict_t *v)
{
    int64_t age = s->now_ns - s->feed_last_ns;
    long long age_ms = (long long)(age / NS_PER_MS);
    if (age > cfg->feed_stale_ns)
        verdict(v, ND_SUP_HEALTH_FAIL, "%s, last market event %lld ms ago",
                s->feed_state == ND_VENUE_DISCONNECTED ? "disconnected" : "stale", age_ms);
    else if (s->feed_state != ND_VENUE_CONNECTED || age > cfg->feed_stale_ns / 2)
        verdict(v, ND_SUP_HEALTH_WARN, "%s, last market event %lld ms ago",
                s->feed_state == ND_VENUE_CONNECTED ? "slow" : "connecting", age_ms);
    else
        verdict(v, ND_SUP_HEALTH_OK, "last market event %lld ms ago", age_ms);
}

/* The venue: reachable, its clock within half the recvWindow of ours (worst case: the offset
 * plus half the round trip), its round trip under venue_rtt_warn; live, no request lost since
 * the last check and the orders' mean round trip since then under venue_rtt_warn. A paper
 * session only warns: its orders never reach the venue. */
static void judge_venue(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                        const nd_launch_sample_t *s, nd_launch_verdict_t *v)
{
    nd_sup_health_t bad = s->live ? ND_SUP_HEALTH_FAIL : ND_SUP_HEALTH_WARN;
    int64_t errors = prev ? s->venue_errors - prev->venue_errors : s->venue_errors;
    int64_t orders = s->order_round_trips - (prev ? prev->order_round_trips : 0);
    int64_t order_ns = s->order_round_trip_ns - (prev ? prev->order_round_trip_ns : 0);
    char bound[160] = "";
    bool clock_ok = !s->venue_measured ||
                    nd__launch_clock_within(s->venue, s->venue_offset_us, s->venue_rtt_us,
                                            cfg->recv_window_ms, bound, sizeof bound);
    if (s->venue_measured && !s->venue_reached)
        verdict(v, bad, "unreachable: %s", s->venue_err);
    else if (s->venue_measured && s->venue_reached && !clock_ok)
        verdict(v, bad, "%s clock offset %+lld us +- %lld us: past the bound (%s)",
                nd_venue_name(s->venue), (long long)s->venue_offset_us,
                (long long)(s->venue_rtt_us / 2), bound);
    else if (s->venue_measured && s->venue_rtt_us * 1000 > cfg->venue_rtt_warn_ns)
        verdict(v, ND_SUP_HEALTH_WARN, "round trip %lld ms", (long long)(s->venue_rtt_us / 1000));
    else if (s->live && errors > 0)
        verdict(v, ND_SUP_HEALTH_WARN, "%lld requests lost or refused since the last check",
                (long long)errors);
    else if (orders > 0 && order_ns / orders > cfg->venue_rtt_warn_ns)
        verdict(v, ND_SUP_HEALTH_WARN, "orders' round trip %lld ms on average over %lld",
                (long long)(order_ns / orders / 1000000), (long long)orders);
    else if (s->venue_measured)
        verdict(v, ND_SUP_HEALTH_OK, "%sclock offset %+lld us, round trip %lld us",
                s->live ? "" : "simulated orders; ", (long long)s->venue_offset_us,
                (long long)s->venue_rtt_us);
    else
        verdict(v, ND_SUP_HEALTH_OK, "%s", s->live ? "not probed yet" : "simulated venue");
}

static void judge_orders(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                         const nd_launch_sample_t *s, nd_launch_verdict_t *strategies)
{
    int64_t sub = s->orders_submitted - (prev ? prev->orders_submitted : 0);
    int64_t rej = s->orders_rejected - (prev ? prev->orders_rejected : 0);
    if (sub >= 10 && rej * 10000 > cfg->reject_rate_warn_e4 * sub)
        verdict(strategies, ND_SUP_HEALTH_WARN, "%lld of %lld orders rejected", (long long)rej,
                (long long)sub);
    else
        verdict(strategies, ND_SUP_HEALTH_OK, "%lld orders, %lld rejected", (long long)sub,
                (long long)rej);
}

/* A probed part (the reference price, the metrics endpoint): not configured is OK. */
static void judge_probed(int status, const char *why, const char *absent, nd_launch_verdict_t *v)
{
    if (status < 0)
        verdict(v, ND_SUP_HEALTH_OK, "%s", why[0] ? why : absent);
    else if (status == ND_PF_FAIL)
        verdict(v, ND_SUP_HEALTH_FAIL, "%s", why);
    else
        verdict(v, ND_SUP_HEALTH_OK, "%s", why);
}

void nd_launch_health_judge(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                            const nd_launch_sample_t *s,
                            nd_launch_verdict_t out[ND_LAUNCH_MODULE_COUNT])
{
    ND_ASSERT(cfg != NULL && s != NULL && out != NULL);
    judge_host(cfg, s, &out[ND_LAUNCH_HOST]);
    judge_store(cfg, s, &out[ND_LAUNCH_STORE]);
    judge_feed(cfg, s, &out[ND_LAUNCH_FEED]);
    judge_probed(s->refprice_status, s->refprice_why, "not configured (preflight.oracle)",
                 &out[ND_LAUNCH_REFPRICE]);
    judge_probed(s->monitoring_status, s->monitoring_why, "not configured (metrics)",
                 &out[ND_LAUNCH_MONITORING]);
    judge_venue(cfg, prev, s, &out[ND_LAUNCH_VENUE]);
    judge_orders(cfg, prev, s, &out[ND_LAUNCH_STRATEGIES]);
    if (s->halted)
        verdict(&out[ND_LAUNCH_RISK], ND_SUP_HEALTH_WARN, "halted: %s",
                s->kill_switch ? "kill switch" : s->halt_reason);
    else
        verdict(&out[ND_LAUNCH_RISK], ND_SUP_HEALTH_OK, "no breaker tripped");
}

const char *nd_launch_venue_action_name(nd_launch_venue_action_t a)
{
    switch (a) {
    case ND_LAUNCH_VENUE_TRADE: return "trade";
    case ND_LAUNCH_VENUE_STOP_NEW: return "stop_new_orders";
    case ND_LAUNCH_VENUE_TRIP: return "trip";
    }
    return "unknown";
}

nd_launch_venue_action_t nd_launch_venue_rule(const nd_launch_config_t *cfg, bool live,
                                              bool feed_ok, bool venue_ok, bool position_open,
                                              int64_t out_ns, char *why, size_t why_len)
{
    ND_ASSERT(cfg != NULL && out_ns >= 0);
    ND_ASSERT(cfg->venue_down_halt_ns >= 0);
    char none[1];
    if (!why) {
        why = none;
        why_len = sizeof none;
    }
    if (feed_ok && venue_ok) {
        snprintf(why, why_len, "feed and orders usable");
        return ND_LAUNCH_VENUE_TRADE;
    }
    if (!venue_ok && live && position_open && out_ns >= cfg->venue_down_halt_ns) {
        snprintf(why, why_len, "order path out for %lld ms with a position there: the engine "
                 "cannot flatten it", (long long)(out_ns / NS_PER_MS));
        return ND_LAUNCH_VENUE_TRIP;
    }
    snprintf(why, why_len, "%s out: no new orders there%s", !feed_ok && !venue_ok ? "feed and "
             "order path" : !feed_ok ? "feed" : "order path",
             !venue_ok && live && position_open ? " (a position there: the kill switch if it "
                                                  "stays out)" : "");
    return ND_LAUNCH_VENUE_STOP_NEW;
}
