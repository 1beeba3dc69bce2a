/* chaos_int.h: private to src/chaos: the children the runner starts (chaos_proc.c), the
 * system-level faults (network namespace and netem, cgroups, the tmpfs under the store), the
 * status samples and the invariant checks (chaos_check.c). */
#ifndef NODERR_CHAOS_INT_H
#define NODERR_CHAOS_INT_H

#include "noderr/chaos.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- children (chaos_proc.c) ---- */

/* Starts argv[0..] (argv[0] the binary) with stdout to out_path and stderr to err_path (both
 * truncated); *pid on success. ND_EIO with why. */
nd_err_t nd__chaos_spawn(char *const argv[], const char *out_path, const char *err_path,
                         pid_t *pid /* OUT */, char *err, size_t err_len);
/* Waits up to timeout_ms for pid to exit; true with *status when it did. */
bool nd__chaos_wait(pid_t pid, int64_t timeout_ms, int *status /* OUT */);
/* SIGTERM, then SIGKILL after grace_ms; reaps it. Returns the wait status (or -1). */
int nd__chaos_stop(pid_t pid, int64_t grace_ms);
/* Sleeps ms milliseconds. */
void nd__chaos_sleep_ms(int64_t ms);
/* The monotonic and real clocks (nd_clock_os), in ns. */
int64_t nd__chaos_mono_ns(void);
int64_t nd__chaos_real_ns(void);
/* Reads "listening on 127.0.0.1:PORT" from path within timeout_ms; the port or -1. */
int nd__chaos_read_port(const char *path, int64_t timeout_ms);
/* Writes text to path (truncating), mode 0600; ND_EIO with why. */
nd_err_t nd__chaos_write_file(const char *path, const char *text, char *err, size_t err_len);
/* Runs argv to completion (stdout and stderr to log_dir/commands.{out,err}); its exit code,
 * or -1. */
int nd__chaos_run_cmd(char *const argv[], const char *log_dir);

/* ---- system faults (chaos_proc.c) ---- */

/* Enters a new network namespace and brings its loopback up: every child started later talks
 * over that loopback only, so netem there touches nothing else on the machine. Then probes
 * netem (added and removed). ND_EIO with why when any step fails (the namespace may already
 * be entered: loopback still works in it). */
nd_err_t nd__chaos_netns_enter(const char *log_dir, char *err, size_t err_len);
/* tc netem on the namespace's lo: spec such as "delay 150ms 100ms" or "loss 30%"; NULL removes
 * it. ND_EIO when tc fails. */
nd_err_t nd__chaos_netem(const char *spec, const char *log_dir, char *err, size_t err_len);

/* A cgroup (v2 when mounted, else v1 cpu and memory) that the session is moved into. */
typedef struct nd__chaos_cgroup {
    char cpu_dir[256];
    char mem_dir[256];
    bool v2;
} nd__chaos_cgroup_t;
/* Creates the cgroup named name and moves pid into it. ND_EIO with why (no cgroup fs, not
 * root). */
nd_err_t nd__chaos_cgroup_create(nd__chaos_cgroup_t *cg, const char *name, pid_t pid, char *err,
                                 size_t err_len);
/* quota_pct of one CPU (0 = unlimited). */
nd_err_t nd__chaos_cgroup_cpu(nd__chaos_cgroup_t *cg, int quota_pct, char *err, size_t err_len);
/* The memory limit in bytes (0 = unlimited); the current usage into *usage when not NULL. */
nd_err_t nd__chaos_cgroup_memory(nd__chaos_cgroup_t *cg, int64_t limit, char *err,
                                 size_t err_len);
int64_t nd__chaos_cgroup_usage(const nd__chaos_cgroup_t *cg);
/* Removes the (empty: its processes exited) cgroup; best effort. */
void nd__chaos_cgroup_remove(nd__chaos_cgroup_t *cg);

/* Mounts a tmpfs of size_mb at dir (created). ND_EIO with why. */
nd_err_t nd__chaos_tmpfs(const char *dir, int size_mb, char *err, size_t err_len);
/* Fills the file system of path with a file there until it is full; the bytes written. */
int64_t nd__chaos_fill(const char *path);
void nd__chaos_umount(const char *dir);

/* The fault-injecting TCP proxy (chaos_proxy.c): 127.0.0.1:port -> 127.0.0.1:target_port, its
 * own thread; delay, jitter, loss and partition set at any time, 0/false for none. */
typedef struct nd__chaos_proxy nd__chaos_proxy_t;
nd_err_t nd__chaos_proxy_start(int target_port, uint64_t seed, nd__chaos_proxy_t **out /* OUT */,
                               char *err, size_t err_len);
int nd__chaos_proxy_port(const nd__chaos_proxy_t *px);
void nd__chaos_proxy_set(nd__chaos_proxy_t *px, int delay_ms, int jitter_ms, int loss_pct,
                         bool partition);
void nd__chaos_proxy_stop(nd__chaos_proxy_t *px);

/* POST /admin/fault with body to exchange-sim at port; ND_EIO with the HTTP status or why. */
nd_err_t nd__chaos_fault(int port, const char *token, const char *body, char *err,
                         size_t err_len);

/* ---- status samples and invariants (chaos_check.c) ---- */

/* What the runner reads from status.json. */
typedef struct nd__chaos_sample {
    bool ok;                /* the file was read */
    bool healthy;           /* launch.healthy */
    bool paused;            /* launch.strategies_paused */
    bool halted;            /* risk.halted */
    int64_t submitted;      /* orders.submitted */
    int64_t fills;
    int64_t open_orders;
    int64_t uncancelled;  /* working orders with no cancel sent (status: cancel_pending false) */
    int64_t cancel_sent_ns[16]; /* the others' cancel times (engine time), the first 16 */
    uint32_t cancel_count;
    int64_t equity_e8;
    int64_t connects;       /* feed.connects */
    int64_t bad, late;      /* feed.bad, feed.late */
    int64_t trips;          /* risk.trips */
    int64_t changes_total;  /* launch.changes_total */
    int64_t first_order_ms; /* -1 when none yet */
    char last_change[96];   /* "feed up->failed" of the last change, "" when none */
    int64_t last_change_ns; /* its at_ns */
    int64_t updated_ns;
} nd__chaos_sample_t;

void nd__chaos_sample(const char *status_path, nd__chaos_sample_t *out /* OUT */);

/* The invariants over the stopped session's store and its last status. blind_orders: strategy
 * orders seen working while the market was not seen past the detection target (the runner's
 * count). expect_halt: the scenario must trip a breaker. */
typedef struct nd__chaos_facts {
    const char *store_url;
    const nd__chaos_sample_t *last;   /* the final status */
    int64_t blind_orders;
    int64_t submitted_after_removal;
    bool restarted;                   /* process_killed: a second session ran */
    bool expect_trip;                 /* the fault must trip a breaker (a halt is right) */
    int died_status;                  /* the session exited by itself: its wait status; -1 */
} nd__chaos_facts_t;

void nd__chaos_check(const nd__chaos_facts_t *facts, nd_chaos_result_t *r);
/* Marks invariant k of r checked, held or not, with why (chaos_check.c; the venue checks too). */
void nd__chaos_set_inv(nd_chaos_result_t *r, int k, bool held, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the venue-side invariants of a live run (chaos_venue.c) ---- */

typedef struct nd__chaos_venue_facts {
    const char *rest_url;          /* exchange-sim itself, never the proxy */
    const struct nd_secret *secret; /* the run's generated HMAC key */
    const char *journal_path;      /* the stopped session's intent journal */
    const char *status_path;       /* its final status.json */
    const char *symbol;            /* venue symbol, "BTCUSDT" */
    const char *base, *quote;      /* "BTC", "USDT" */
} nd__chaos_venue_facts_t;

/* Sets venue_orders (6) and venue_position (7) from exchange-sim's orders, trades and account
 * against the session's store and final status. Blocking: one REST call an order. */
void nd__chaos_venue_check(const nd__chaos_venue_facts_t *facts, nd_chaos_result_t *r);

#endif
