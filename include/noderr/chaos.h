/* chaos.h: the chaos suite (docs/chaos.md, issue 15). Each scenario starts `noderr exchange-sim`
 * and a `noderr launch` paper session on 127.0.0.1 as child processes, warms up until the
 * session is healthy and trading, injects one fault, holds it, removes it, measures how long
 * the session took to notice (detection) and to be healthy and trading again (recovery), the
 * orders and P&L during the fault against a fault-free run of the same seed, then checks the
 * invariants after stopping the session. The resilience score (nd_chaos_score) turns that into
 * 0-100 a scenario; the suite's score is their mean.
 *
 * Module src/chaos/: chaos.c (the scenario table, the score, JSON, store records),
 * chaos_proc.c (children, signals, cgroups, the network namespace and netem, the tmpfs under
 * the store), chaos_proxy.c (the fault-injecting TCP proxy), chaos_run.c (one scenario's
 * phases), chaos_check.c (status samples and the invariants over the store), chaos_html.c (the
 * HTML report). Nothing here prints: the command (src/cli/cmd_chaos.c) does. */
#ifndef NODERR_CHAOS_H
#define NODERR_CHAOS_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum nd_chaos_category {
    ND_CHAOS_MODULE = 0,  /* module failures */
    ND_CHAOS_DATA = 1,    /* data corruption */
    ND_CHAOS_NETWORK = 2, /* network faults */
    ND_CHAOS_MARKET = 3,  /* market events */
    ND_CHAOS_RESOURCE = 4 /* resource exhaustion */
} nd_chaos_category_t;

/* "module", "data", "network", "market", "resource". */
const char *nd_chaos_category_name(nd_chaos_category_t c);

/* One scenario of the table (static, read-only). */
typedef struct nd_chaos_scenario {
    const char *name;          /* e.g. "stale_feed" */
    int number;                /* 1..14, the numbering */
    nd_chaos_category_t category;
    const char *fault;         /* what is injected, one line */
    const char *expect;        /* what the session must do, one line */
    int64_t detect_target_ms;  /* 0: no detection is required (the fault may go unnoticed) */
    int64_t recover_target_ms; /* from the fault's removal to healthy and trading */
    bool implemented;          /* false: listed as "not implemented", never run */
    bool needs_root;           /* skipped with the reason when not root */
    bool in_short;             /* part of the --short suite */
} nd_chaos_scenario_t;

#define ND_CHAOS_SCENARIOS 14

/* The table in the order; *count = ND_CHAOS_SCENARIOS. */
const nd_chaos_scenario_t *nd_chaos_scenarios(size_t *count /* OUT */);
/* The scenario named name, or NULL. */
const nd_chaos_scenario_t *nd_chaos_find(const char *name);

typedef enum nd_chaos_status {
    ND_CHAOS_PASS = 0,            /* recovered, every invariant held */
    ND_CHAOS_FAIL = 1,            /* not recovered or an invariant broke */
    ND_CHAOS_SKIP = 2,            /* cannot run here (the reason says why) */
    ND_CHAOS_NOT_IMPLEMENTED = 3, /* listed, not built */
    ND_CHAOS_ERROR = 4            /* the harness itself failed (a child did not start...) */
} nd_chaos_status_t;

/* "pass", "fail", "skip", "not implemented", "error". */
const char *nd_chaos_status_name(nd_chaos_status_t s);

#define ND_CHAOS_INVARIANTS 8

/* The invariants, in this order in every result:
 *   0 "audit_chain"      the store's audit chain verifies (nd_audit_verify) after the run;
 *   1 "fills_recorded"   every fill the session acknowledged (status fills) is a fill record;
 *   2 "no_duplicate"     no client order id submitted twice, no fill recorded twice;
 *   3 "halted_silent"    no strategy order submitted while the strategies were paused or the
 *                        engine halted (the store's operator and breaker records against its
 *                        order records), and none left working on a market the session had
 *                        stopped seeing past the detection target;
 *   4 "breakers"         the engine is not halted at the end unless the scenario expects it,
 *                        and a scenario that must trip a breaker tripped one;
 *   5 "resumed"          the session traded again after the fault (orders submitted after
 *                        the removal; after a SIGKILL, the restarted session);
 *   6 "venue_orders"     live only (--live): every client order id the store says the session
 *                        submitted is one order at exchange-sim (GET /api/v3/order), none of
 *                        them twice, no venue trade of an order the session did not record,
 *                        and none of ours left open after the stop (openOrders);
 *   7 "venue_position"   live only: the session's final position and cash (status.json) equal
 *                        exchange-sim's account balances of the base and quote assets.
 * In paper mode 6 and 7 are unchecked (paper mode has no venue orders). */
typedef struct nd_chaos_invariant {
    const char *name;
    bool checked;  /* false: not applicable or not measurable (why says which) */
    bool held;
    char why[200];
} nd_chaos_invariant_t;

/* One scenario's measured result. Times in ms; -1 = not observed. */
typedef struct nd_chaos_result {
    const nd_chaos_scenario_t *scenario;
    nd_chaos_status_t status;
    char reason[240];         /* skip/error reason, or the first broken invariant */
    char detected_by[96];     /* the signal: "module feed up->failed", "feed reconnect", ... */
    int64_t detect_ms;
    bool recovered;
    int64_t recover_ms;
    int64_t orders_fault;     /* orders submitted in the window: injection to the end of the
                               * hold + 2 s (1.5 s short) */
    int64_t orders_baseline;  /* the fault-free run's, scaled to a window as long */
    int64_t pnl_fault_e8;     /* equity change over that window, quote units 1e-8 */
    int64_t pnl_baseline_e8;
    int64_t elapsed_ms;       /* the scenario's wall time */
    nd_chaos_invariant_t inv[ND_CHAOS_INVARIANTS];
    int score;                /* 0-100; -1 when not scored (skip, not implemented, error) */
} nd_chaos_result_t;

/* The resilience score of one result (docs/chaos.md), 0..100, the sum of:
 *   recovered                        40 (0 when not recovered);
 *   invariants                       30 x held / checked (30 when none was checkable);
 *   detection time                   15 within its target, then linearly down to 0 at 4x the
 *                                    target; 0 when a required detection never came; 15 when
 *                                    the scenario has no detection target;
 *   recovery time                    10, the same shape against the recovery target (0 when
 *                                    not recovered);
 *   cost against the fault-free run   5 x min(1, orders during the fault window / the
 *                                    baseline's orders in a window as long; 5 with no
 *                                    baseline orders).
 * A broken invariant also fails the scenario (nd_chaos_judge), whatever its score. Returns -1
 * for skip, not implemented and error (they are not scored). Pure: no I/O. */
int nd_chaos_score(const nd_chaos_result_t *r);

/* The overall score: the mean of the scored results (rounded), or -1 when none is scored. */
int nd_chaos_score_overall(const nd_chaos_result_t *results, size_t n);

/* Marks the result's status from its measurements: FAIL naming the first broken invariant (or
 * "not recovered") in reason, else PASS; then computes the score. */
void nd_chaos_judge(nd_chaos_result_t *r);

/* Fills the eight invariant names, marks them unchecked, zeroes the measurements (-1 times). */
void nd_chaos_result_init(nd_chaos_result_t *r, const nd_chaos_scenario_t *sc);

/* A protection the runner may switch off to prove the suite notices (the planted-defect test):
 * NONE, or STALE_DETECT ("no-stale-detect": the launch's feed_stale_ms is raised to an hour,
 * so a stale feed is never noticed and the strategies keep quoting on a market they no longer
 * see: halted_silent breaks), or NO_RESTART ("no-restart": a killed session is not restarted:
 * resumed breaks), or NO_CANCEL ("no-cancel-on-stop", live: the session is stopped with SIGKILL
 * instead of SIGTERM, so its shutdown never cancels its working orders: venue_orders breaks). */
typedef enum nd_chaos_defect {
    ND_CHAOS_DEFECT_NONE = 0,
    ND_CHAOS_DEFECT_STALE_DETECT = 1,
    ND_CHAOS_DEFECT_NO_RESTART = 2,
    ND_CHAOS_DEFECT_NO_CANCEL = 3
} nd_chaos_defect_t;

/* Parses a defect name ("none", "no-stale-detect", "no-restart", "no-cancel-on-stop"); ND_EINVAL
 * when unknown. */
nd_err_t nd_chaos_defect_parse(const char *text, nd_chaos_defect_t *out /* OUT */);

typedef struct nd_chaos_options {
    const char *binary;       /* the noderr binary to spawn ("/proc/self/exe") */
    const char *work_dir;     /* an existing directory for configs, logs, state and stores */
    uint64_t seed;            /* exchange-sim's market seed */
    bool short_run;           /* shorter holds and windows (CI) */
    nd_chaos_defect_t defect;
    bool live;                /* the session trades live against exchange-sim (a generated HMAC
                               * key, a pinned live preflight) and the venue invariants are
                               * checked; else paper */
    bool use_netns;           /* try tc netem in a fresh network namespace (root) for the
                               * network faults; else (or when netem is missing) the proxy */
    /* Called after each scenario (may be NULL), e.g. to print progress. */
    void (*progress_cb)(void *ctx, const nd_chaos_result_t *r);
    void *ctx;
} nd_chaos_options_t;

/* Runs the scenarios sel[0..n) in that order (a fault-free baseline run first), writing one
 * result each into out[0..n). Unimplemented scenarios are NOT_IMPLEMENTED without running,
 * those needing root are SKIP without it, and a scenario whose children did not start (or
 * did not warm up) is ERROR with its reason while the others still run. Returns ND_OK (err
 * is kept for harness failures to come). Blocking: the full suite takes about 100 s. As root
 * with a network scenario selected, the calling process moves into a network namespace of
 * its own for good (see docs/chaos.md). */
nd_err_t nd_chaos_run(const nd_chaos_options_t *opt, const nd_chaos_scenario_t *const *sel,
                      size_t n, nd_chaos_result_t *out /* OUT */, char *err, size_t err_len);

/* The results as one JSON document (text, nd_alloc'd, freed by nd_free): {"seed", "short",
 * "live", "defect", "score", "passed", "failed", "skipped", "not_implemented", "scenarios": [{"name",
 * "number", "category", "status", "reason", "detected_by", "detect_ms", "detect_target_ms",
 * "recovered", "recover_ms", "recover_target_ms", "orders_fault", "orders_baseline",
 * "pnl_fault", "pnl_baseline", "elapsed_ms", "score", "invariants": [{"name", "checked",
 * "held", "why"}]}]}. NULL when out of memory. */
char *nd_chaos_json(const nd_chaos_options_t *opt, const nd_chaos_result_t *results, size_t n);

/* Writes the HTML report (one self-contained page: the score, one row a scenario, the
 * invariants) to f. ND_EIO when a write fails. */
nd_err_t nd_chaos_html(FILE *f, const nd_chaos_options_t *opt, const nd_chaos_result_t *results,
                       size_t n);

/* Appends one chaos record per scored or attempted result (event = scenario name, reason =
 * status and score, detail = the scenario's JSON) and one for the whole run ("suite"), then
 * flushes, to the store at url (created when missing). They are ND_RECORD_CHAOS, retention
 * class "chaos" (90 days), pruned by `noderr retention`. ND_EIO/ND_EINVAL with why in err. */
nd_err_t nd_chaos_store(const char *url, const nd_chaos_options_t *opt,
                        const nd_chaos_result_t *results, size_t n, int64_t now_ns, char *err,
                        size_t err_len);

#endif
