/* launch_health.c: the launcher's health check (launch.h): one verdict per module from a
 * sample of the running session, and the host's headroom measurements (shared with
 * preflight's headroom check). */
#include "launch_int.h"

#include "noderr/assert.h"
#include "noderr/launch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL

const char *nd_launch_module_name(nd_launch_module_t m)
{
    static const char *const names[ND_LAUNCH_MODULE_COUNT] = {"host", "store", "feed", "venue",
                                                              "risk", "strategies"};
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

int64_t nd_launch_disk_free_mb(const char *path)
{
    char dir[ND_LIVE_PATH_MAX];
    nd__launch_existing_dir(path, dir, sizeof dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return -1;
    return (int64_t)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> 20);
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

static void judge_orders(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                         const nd_launch_sample_t *s, nd_launch_verdict_t *venue,
                         nd_launch_verdict_t *strategies)
{
    int64_t errors = prev ? s->venue_errors - prev->venue_errors : s->venue_errors;
    if (!s->live)
        verdict(venue, ND_SUP_HEALTH_OK, "simulated venue");
    else if (errors > 0)
        verdict(venue, ND_SUP_HEALTH_WARN, "%lld requests lost or refused since the last check",
                (long long)errors);
    else
        verdict(venue, ND_SUP_HEALTH_OK, "no request lost since the last check");
    int64_t sub = s->orders_submitted - (prev ? prev->orders_submitted : 0);
    int64_t rej = s->orders_rejected - (prev ? prev->orders_rejected : 0);
    if (sub >= 10 && rej * 10000 > cfg->reject_rate_warn_e4 * sub)
        verdict(strategies, ND_SUP_HEALTH_WARN, "%lld of %lld orders rejected", (long long)rej,
                (long long)sub);
    else
        verdict(strategies, ND_SUP_HEALTH_OK, "%lld orders, %lld rejected", (long long)sub,
                (long long)rej);
}

void nd_launch_health_judge(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                            const nd_launch_sample_t *s,
                            nd_launch_verdict_t out[ND_LAUNCH_MODULE_COUNT])
{
    ND_ASSERT(cfg != NULL && s != NULL && out != NULL);
    judge_host(cfg, s, &out[ND_LAUNCH_HOST]);
    judge_store(cfg, s, &out[ND_LAUNCH_STORE]);
    judge_feed(cfg, s, &out[ND_LAUNCH_FEED]);
    judge_orders(cfg, prev, s, &out[ND_LAUNCH_VENUE], &out[ND_LAUNCH_STRATEGIES]);
    if (s->halted)
        verdict(&out[ND_LAUNCH_RISK], ND_SUP_HEALTH_WARN, "halted: %s",
                s->kill_switch ? "kill switch" : s->halt_reason);
    else
        verdict(&out[ND_LAUNCH_RISK], ND_SUP_HEALTH_OK, "no breaker tripped");
}
