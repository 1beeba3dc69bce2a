/* supervisor.h: the launcher's modules as restartable units with a health state (docs/launcher.md
 * "The integrator").
 *
 * Modules are registered in start order, each naming the modules it depends on (registered
 * before it). nd_sup_start starts them in that order, nd_sup_stop stops them in reverse. A health
 * report per module (nd_sup_report, from the launcher's health check) moves its state; a failed
 * module is restarted with exponential backoff (nd_sup_tick), and its dependants are told: they
 * are BLOCKED while it is not UP (their on_blocked callback, e.g. strategies paused while the
 * feed is down) and released when it is UP again. Every state change goes to on_change, which
 * the launcher logs and records in the store. Pure apart from the callbacks: time is passed in,
 * so tests run hours of failures in microseconds. */
#ifndef NODERR_SUPERVISOR_H
#define NODERR_SUPERVISOR_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stdint.h>

#define ND_SUP_MODULES_MAX 16
#define ND_SUP_DEPS_MAX 4

typedef enum nd_sup_state {
    ND_SUP_DOWN = 0,     /* not started, or stopped */
    ND_SUP_UP = 1,       /* started and its last check passed */
    ND_SUP_DEGRADED = 2, /* running, its last check warned (still usable) */
    ND_SUP_FAILED = 3,   /* its check failed or it did not start: a restart is scheduled */
    ND_SUP_BLOCKED = 4   /* running but a module it depends on is not UP or DEGRADED */
} nd_sup_state_t;

typedef enum nd_sup_health {
    ND_SUP_HEALTH_OK = 0,
    ND_SUP_HEALTH_WARN = 1,
    ND_SUP_HEALTH_FAIL = 2
} nd_sup_health_t;

typedef struct nd_sup_module_ops {
    /* Starts (or restarts) the module; non-OK with why in err: FAILED, restarted later. NULL: a
     * module that is only watched (always starts). */
    nd_err_t (*start)(void *ctx, char *err, size_t err_len);
    void (*stop)(void *ctx);            /* may be NULL */
    /* A module it depends on left (blocked = true) or came back (false). May be NULL. */
    void (*on_blocked)(void *ctx, bool blocked);
    void *ctx;
} nd_sup_module_ops_t;

typedef struct nd_sup_config {
    int64_t backoff_min_ns;  /* the first restart waits this long (default 100 ms) */
    int64_t backoff_max_ns;  /* doubling up to this (default 30 s) */
    int64_t reset_after_ns;  /* UP this long resets the backoff (default 60 s) */
} nd_sup_config_t;

typedef struct nd_sup_change {
    uint32_t module;
    const char *name;
    nd_sup_state_t from, to;
    int64_t at_ns;
    uint32_t restarts;       /* restarts of this module so far */
    const char *reason;      /* why (the check's or start's message) */
} nd_sup_change_t;

typedef void (*nd_sup_change_cb)(void *ctx, const nd_sup_change_t *change);

typedef struct nd_sup_module {
    char name[24];
    nd_sup_module_ops_t ops;
    uint32_t deps[ND_SUP_DEPS_MAX];
    uint32_t dep_count;
    nd_sup_state_t state;
    bool blocked_told;       /* on_blocked(true) was the last call */
    uint32_t restarts, failures_in_row;
    int64_t since_ns;        /* when the state last changed */
    int64_t restart_at_ns;   /* FAILED: when the next restart is due */
    char reason[160];
} nd_sup_module_t;

typedef struct nd_sup {
    nd_sup_config_t cfg;
    nd_sup_module_t modules[ND_SUP_MODULES_MAX];
    uint32_t count;
    bool started;
    nd_sup_change_cb on_change;
    void *change_ctx;
} nd_sup_t;

void nd_sup_config_default(nd_sup_config_t *cfg);
void nd_sup_init(nd_sup_t *sup, const nd_sup_config_t *cfg, nd_sup_change_cb on_change,
                 void *ctx);
/* Registers a module depending on the named modules (NULL-terminated, each registered
 * before). ND_EFULL, ND_EINVAL (a bad or duplicate name), ND_ENOTFOUND (an unknown dependency). */
nd_err_t nd_sup_add(nd_sup_t *sup, const char *name, const nd_sup_module_ops_t *ops,
                    const char *const *deps, uint32_t *index /* OUT, may be NULL */);
/* Starts every module in registration order. A module that fails to start is FAILED (its
 * restart scheduled) and its dependants are BLOCKED; the others go on. */
void nd_sup_start(nd_sup_t *sup, int64_t now_ns);
/* The health check's verdict on one module: OK keeps or makes it UP, WARN DEGRADED, FAIL stops
 * it and schedules its restart. Ignored while it is DOWN, FAILED or BLOCKED by a dependency. */
void nd_sup_report(nd_sup_t *sup, uint32_t module, nd_sup_health_t health, const char *reason,
                   int64_t now_ns);
/* Runs the restarts that are due. Call often (the launcher's loop tick). */
void nd_sup_tick(nd_sup_t *sup, int64_t now_ns);
/* Stops every module in reverse order (each DOWN). */
void nd_sup_stop(nd_sup_t *sup, int64_t now_ns);
/* The backoff before the k-th restart in a row (k >= 1): min(max, min * 2^(k-1)). */
int64_t nd_sup_backoff_ns(const nd_sup_config_t *cfg, uint32_t k);
nd_err_t nd_sup_find(const nd_sup_t *sup, const char *name, uint32_t *index /* OUT */);
const char *nd_sup_state_name(nd_sup_state_t state);
/* True when every module is UP or DEGRADED. */
bool nd_sup_healthy(const nd_sup_t *sup);

#endif
