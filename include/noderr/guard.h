/* guard.h: the automatic rollback triggers (docs/launcher.md "Automatic rollback"): one guard a
 * running strategy version, fed timestamped observations (breaker trips, the version's
 * drawdown, order rejects and venue errors, health checks), deciding none, pause the ramp, or
 * roll back to the previous version with a cut capital share.
 *
 * Pure and deterministic: no clock, no I/O. The launcher reports what it observes with the time
 * of its injected clock and asks nd_guard_evaluate on its timer; on a rollback it acts (the
 * previous version into the slot, nd_ramp_cut with the decision's cut) and resets the guard for
 * the version now running. Observations dated before the guard's start (the version's start)
 * are ignored. The rules, in the order they are checked (the first that holds decides):
 *   1. a breaker tripped (on_breaker)                                -> roll back
 *   2. drawdown >= drawdown                                          -> roll back
 *   3. errors within the last error_window >= errors_max             -> roll back
 *   4. the last health_failures health checks all failed             -> roll back
 *   5. drawdown >= drawdown_pause, errors >= errors_pause, or the
 *      last health check failed                                      -> pause the ramp
 * A pause lifts by itself when its condition no longer holds. */
#ifndef NODERR_GUARD_H
#define NODERR_GUARD_H

#include "noderr/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The guard remembers the times of this many recent errors, so errors_max is at most this: a
 * burst is a handful to a few hundred rejects, and it bounds the state. */
#define ND_GUARD_ERRORS_MAX 1024
#define ND_GUARD_REASON_MAX 160

typedef enum nd_guard_action {
    ND_GUARD_NONE = 0,
    ND_GUARD_PAUSE_RAMP = 1,
    ND_GUARD_ROLLBACK = 2
} nd_guard_action_t;

typedef enum nd_guard_trigger {
    ND_GUARD_TRIGGER_NONE = 0,
    ND_GUARD_TRIGGER_BREAKER = 1,
    ND_GUARD_TRIGGER_DRAWDOWN = 2,
    ND_GUARD_TRIGGER_ERRORS = 3,
    ND_GUARD_TRIGGER_HEALTH = 4
} nd_guard_trigger_t;

/* The "launch.rollback" object (docs/launcher.md lists keys and defaults). */
typedef struct nd_guard_config {
    bool on_breaker;            /* a breaker trip rolls back (default true) */
    int64_t drawdown_e6;        /* roll back at this drawdown (default 80000 = 8%) */
    int64_t drawdown_pause_e6;  /* pause the ramp at this drawdown (default 40000; 0 off) */
    int64_t error_window_ns;    /* errors counted over this (default 300 s) */
    uint32_t errors_max;        /* roll back at this many in the window (default 20) */
    uint32_t errors_pause;      /* pause at this many (default 5; 0 off) */
    uint32_t health_failures;   /* roll back after this many failed checks in a row (default 3) */
    int64_t cut_e6;             /* the ramp's share is cut by this factor (default 500000) */
} nd_guard_config_t;

typedef struct nd_guard_decision {
    nd_guard_action_t action;
    nd_guard_trigger_t trigger;
    int64_t cut_e6;                   /* rollback: the factor for nd_ramp_cut */
    char reason[ND_GUARD_REASON_MAX]; /* "drawdown 8.5% >= rollback threshold 8%" */
} nd_guard_decision_t;

/* Caller-allocated; fields read-only. */
typedef struct nd_guard {
    nd_guard_config_t cfg;
    int64_t since_ns;            /* observations before this are ignored */
    bool breaker_tripped;
    int64_t breaker_at_ns;
    char breaker_name[32];
    int64_t drawdown_e6;         /* the latest observation's */
    int64_t drawdown_at_ns;      /* -1: none */
    int64_t error_at_ns[ND_GUARD_ERRORS_MAX]; /* ring of the latest error times */
    uint32_t error_head, error_count;
    uint64_t errors_total;
    uint32_t health_failed_run;  /* consecutive failed checks, the latest last */
    int64_t health_at_ns;        /* the latest check's time, -1: none */
} nd_guard_t;

void nd_guard_config_default(nd_guard_config_t *out /* OUT */);
/* Reads the "launch.rollback" object obj (NULL: every default) into out; errors name
 * "FILE: launch.rollback.KEY: why" (ND_EINVAL); out is written only on success. */
nd_err_t nd_guard_config_parse(const json_t *obj, const char *where, nd_guard_config_t *out,
                               char *err, size_t err_len);

/* A guard for the version that started at since_ns. */
void nd_guard_init(nd_guard_t *g, const nd_guard_config_t *cfg, int64_t since_ns);
/* After a rollback: a fresh guard for the version now running, from since_ns. */
void nd_guard_reset(nd_guard_t *g, int64_t since_ns);

/* Observations. Each may arrive in any order; the guard keeps what its rules need. */
void nd_guard_breaker(nd_guard_t *g, int64_t at_ns, const char *breaker_name);
/* The version's drawdown from its equity peak, in millionths (0.085 -> 85000); the latest by
 * time counts. */
void nd_guard_drawdown(nd_guard_t *g, int64_t at_ns, int64_t drawdown_e6);
/* One order reject or venue error. */
void nd_guard_error(nd_guard_t *g, int64_t at_ns);
/* One health check's result (checks must arrive in time order: an older one is ignored). */
void nd_guard_health(nd_guard_t *g, int64_t at_ns, bool ok);

/* The decision at now_ns from what was observed (pure: the same observations and now give the
 * same decision). O(errors remembered). */
void nd_guard_evaluate(const nd_guard_t *g, int64_t now_ns, nd_guard_decision_t *out /* OUT */);
/* The errors within the window ending at now_ns (capped at ND_GUARD_ERRORS_MAX). */
uint32_t nd_guard_errors_in_window(const nd_guard_t *g, int64_t now_ns);

/* "none", "pause_ramp", "rollback"; "none", "breaker", "drawdown", "errors", "health". */
const char *nd_guard_action_name(nd_guard_action_t action);
const char *nd_guard_trigger_name(nd_guard_trigger_t trigger);
/* {"action", "trigger", "cut", "reason", "at"} for the store. Caller decrefs. */
json_t *nd_guard_decision_json(const nd_guard_decision_t *d, int64_t at_ns);

#endif
