/* pipeline.h: the deployment pipeline of strategy versions (docs/launcher.md "Pipeline"):
 * dev -> backtest -> paper -> canary -> production, with promotion gates, demotion, retirement
 * and rollback.
 *
 * A version is a strategy, its parameters and its code: its id is the first 12 hex digits of
 * SHA-256 over a canonical encoding of those (nd_pipeline_version_id). Every transition is a
 * pipeline record in the compliance store (store.h ND_RECORD_PIPELINE), so it is in the audit
 * chain; the pipeline's state is never kept anywhere else: nd_pipeline_load rebuilds it by
 * scanning those records, and every operation here appends its records, commits them and only
 * then applies them to the state in memory with the same code the scan uses, so the two cannot
 * diverge. At most one version of a strategy is in production; the one it replaced is retired
 * and kept runnable (its spec and parameters are in its registration record) for a rollback.
 *
 * Gates (nd_pipeline_gates_eval) are pure functions of the config and the evidence: validation
 * passed (a `noderr validate --json` report of that strategy with those parameters), paper for
 * N days with P&L, slippage and fill rate within tolerance of an event-level backtest over the
 * same period, canary for N days. Nothing here prints: the CLI does. */
#ifndef NODERR_PIPELINE_H
#define NODERR_PIPELINE_H

#include "noderr/backtest.h"
#include "noderr/err.h"
#include "noderr/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Stages, in pipeline order; retired is off the line (a replaced production version). Stable:
 * their names are recorded. */
typedef enum nd_pipeline_stage {
    ND_STAGE_DEV = 0,
    ND_STAGE_BACKTEST = 1,
    ND_STAGE_PAPER = 2,
    ND_STAGE_CANARY = 3,
    ND_STAGE_PRODUCTION = 4,
    ND_STAGE_RETIRED = 5,
    ND_STAGE_COUNT = 6
} nd_pipeline_stage_t;

/* "dev", "backtest", "paper", "canary", "production", "retired". */
const char *nd_pipeline_stage_name(nd_pipeline_stage_t stage);
/* ND_ENOTFOUND for an unknown name. */
nd_err_t nd_pipeline_stage_parse(const char *name, nd_pipeline_stage_t *out /* OUT */);

#define ND_PIPELINE_ID_LEN 12          /* hex digits of a version id */
#define ND_PIPELINE_PARAMS_MAX 2048    /* a version's parameters as canonical JSON */
#define ND_PIPELINE_SPEC_MAX 512       /* the strategy entry as written (a path for a plugin) */
#define ND_PIPELINE_VERSIONS_MAX 4096  /* versions one store may hold */
#define ND_PIPELINE_TEXT_MAX 256       /* who and reason of a transition */

/* What a version is. kind: "builtin", "plugin" or "lua" (the session config's strategy kinds);
 * spec: the entry as written (a built-in's name, PATH.so[:NAME], F.lua); params: the strategy's
 * parameter values as one JSON object (nd_backtest_params_json), dumped with sorted keys and
 * no spaces; code_hash: hex SHA-256 of the .so or .lua file, or of the binary and its version
 * for a built-in (nd_pipeline_code_hash). */
typedef struct nd_pipeline_spec {
    char strategy[ND_NAME_MAX];
    char kind[16];
    char spec[ND_PIPELINE_SPEC_MAX];
    char params[ND_PIPELINE_PARAMS_MAX];
    char code_hash[65];
} nd_pipeline_spec_t;

/* The version id: the first 12 lower-case hex digits of SHA-256 over
 * "noderr-version-v1\n" KIND "\n" STRATEGY "\n" PARAMS "\n" CODE_HASH. The spec text (a path)
 * is not part of it: the same library moved keeps its id. ND_EINVAL when a field is empty. */
nd_err_t nd_pipeline_version_id(const nd_pipeline_spec_t *spec,
                                char id[ND_PIPELINE_ID_LEN + 1] /* OUT */);

/* The code hash of a strategy entry: SHA-256 of the file for "plugin" (PATH of PATH.so[:NAME])
 * and "lua"; for "builtin" of binary_path's bytes followed by version (the build hash
 * preflight's build_pinned check prints). ND_EIO naming the file when it cannot be read. */
nd_err_t nd_pipeline_code_hash(const char *kind, const char *spec, const char *binary_path,
                               const char *version, char hex[65] /* OUT */, char *err,
                               size_t err_len);

/* ---- config: the launch config's "launch.pipeline" object ------------------------------ */

typedef struct nd_pipeline_config {
    bool require_validation;       /* dev -> backtest needs a passing validate report (true) */
    int64_t paper_days;            /* paper -> canary: days in paper (default 14) */
    int64_t canary_days;           /* canary -> production: days in canary (default 7) */
    int64_t canary_share_e6;       /* the canary's capital share, millionths (0.05) */
    int64_t pnl_tolerance_e6;      /* |paper - backtest P&L| <= this share of capital (0.02) */
    int64_t slippage_bps_max;      /* paper fills at most this many bp worse than the
                                    * backtest's, notional-weighted (10) */
    int64_t fill_rate_tolerance_e6; /* |paper - backtest fill rate| <= this (0.10) */
    int64_t rollback_share_e6;     /* a rollback's capital: this share of the current (0.5) */
} nd_pipeline_config_t;

void nd_pipeline_config_default(nd_pipeline_config_t *out /* OUT */);

/* Reads obj (the "pipeline" object of the config's "launch" object; NULL: every default) into
 * out. where is the config file, first in messages: ND_EINVAL with "FILE:
 * launch.pipeline.KEY: why" in err for an unknown key or a bad value. */
nd_err_t nd_pipeline_config_parse(const json_t *obj, const char *where,
                                  nd_pipeline_config_t *out /* OUT */, char *err,
                                  size_t err_len);

/* ---- evidence and gates ---------------------------------------------------------------- */

/* A validate report as the gate sees it (nd_pipeline_validation_load). */
typedef struct nd_pipeline_validation {
    bool present;                  /* a report was given */
    bool matches;                  /* it judges this version's strategy and parameters */
    int64_t passed, failed;        /* scenarios */
    char source[ND_PIPELINE_SPEC_MAX]; /* the report's path */
    char mismatch[256];            /* why it does not match ("" when it does) */
} nd_pipeline_validation_t;

/* Reads a `noderr validate --json` report (as preflight's strategies_validated check reads
 * them) and compares its strategy and parameters with spec's. ND_OK with out filled (a report
 * of another strategy is a failed gate, not an error); the nd_json_file_load errors with why
 * in err when the file cannot be read as JSON. */
nd_err_t nd_pipeline_validation_load(const char *path, const nd_pipeline_spec_t *spec,
                                     nd_pipeline_validation_t *out /* OUT */, char *err,
                                     size_t err_len);

#define ND_PIPELINE_INSTRUMENTS_MAX 8

/* One instrument's executions of a strategy: quantities at qty_scale, cash at
 * ND_CASH_DECIMALS. */
typedef struct nd_pipeline_instrument_stats {
    char instrument[ND_NAME_MAX];
    int64_t buy_notional, buy_qty;
    int64_t sell_notional, sell_qty;
    int64_t position;              /* bought - sold */
    int64_t last_px;               /* the last fill's price */
    int32_t px_scale, qty_scale;
} nd_pipeline_instrument_stats_t;

/* A strategy's executions over a period, from its order and fill records (the same function
 * reads a paper session's store and the store an event-level backtest recorded into). */
typedef struct nd_pipeline_exec_stats {
    int64_t orders;                /* "submitted" order records */
    int64_t orders_filled;         /* "filled" order records (fully filled orders) */
    int64_t fills;
    int64_t fees;                  /* cash units */
    int64_t pnl;                   /* cash flow of the fills, less fees, plus the open position
                                    * at each instrument's last fill price; cash units */
    nd_pipeline_instrument_stats_t instruments[ND_PIPELINE_INSTRUMENTS_MAX];
    uint32_t instrument_count;
} nd_pipeline_exec_stats_t;

/* Sums the order and fill records of strategy with from_ns <= ts < to_ns (to_ns 0: no bound)
 * and, when account is not NULL, that account (a paper session records under its name).
 * ND_EFULL past ND_PIPELINE_INSTRUMENTS_MAX instruments, ND_EOVERFLOW when a sum does not fit,
 * the nd_store_scan errors; why in err. O(records in the period). */
nd_err_t nd_pipeline_exec_stats_load(nd_store_t *s, const char *strategy, const char *account,
                                     int64_t from_ns, int64_t to_ns,
                                     nd_pipeline_exec_stats_t *out /* OUT */, char *err,
                                     size_t err_len);

/* The backtest side of the paper gate: runs cfg (an event-level backtest: ticks set; the
 * session's strategies, so that each is sized as the session sized it) recording into a memory
 * store, then reads strategy's executions back with nd_pipeline_exec_stats_load. The
 * nd_backtest_run errors with why in err. */
nd_err_t nd_pipeline_backtest_stats(const nd_backtest_config_t *cfg, const char *strategy,
                                    nd_pipeline_exec_stats_t *out /* OUT */, char *err,
                                    size_t err_len);

/* Fill rate in millionths (orders_filled / orders; 1e6 without orders). */
int64_t nd_pipeline_fill_rate_e6(const nd_pipeline_exec_stats_t *st);
/* How much worse paper's fills were than the backtest's, in bp, notional-weighted over the
 * instruments and sides both traded (buys dearer or sells cheaper are positive); 0 when they
 * share none. */
int64_t nd_pipeline_slippage_bps(const nd_pipeline_exec_stats_t *paper,
                                 const nd_pipeline_exec_stats_t *backtest);

/* Everything a promotion may be judged on. now_ns is the decision time; the days a version has
 * spent in its stage come from the pipeline (nd_pipeline_promote fills stage_since_ns). */
typedef struct nd_pipeline_evidence {
    int64_t now_ns;
    int64_t stage_since_ns;        /* when the version entered its current stage */
    nd_pipeline_validation_t validation;
    bool paper_present;            /* paper and backtest below were measured */
    nd_pipeline_exec_stats_t paper;
    nd_pipeline_exec_stats_t backtest;
    int64_t capital;               /* cash units: the base of the P&L tolerance */
    char paper_source[ND_PIPELINE_SPEC_MAX]; /* "ticks FILE", for the record */
} nd_pipeline_evidence_t;

typedef enum nd_pipeline_gate {
    ND_GATE_VALIDATED = 0,         /* "validated" */
    ND_GATE_PAPER_DAYS = 1,        /* "paper_days" */
    ND_GATE_PAPER_PNL = 2,         /* "paper_pnl" */
    ND_GATE_PAPER_SLIPPAGE = 3,    /* "paper_slippage" */
    ND_GATE_PAPER_FILL_RATE = 4,   /* "paper_fill_rate" */
    ND_GATE_CANARY_DAYS = 5,       /* "canary_days" */
    ND_GATE_COUNT = 6
} nd_pipeline_gate_t;

const char *nd_pipeline_gate_name(nd_pipeline_gate_t gate);

typedef struct nd_pipeline_gate_result {
    bool applies;                  /* the gate guards this step */
    bool passed;
    char reason[256];              /* what was measured against what */
} nd_pipeline_gate_result_t;

typedef struct nd_pipeline_gates {
    nd_pipeline_gate_result_t gate[ND_GATE_COUNT];
    uint32_t checked, failed;
} nd_pipeline_gates_t;

/* Judges the step from -> from + 1 (dev -> backtest: validated; paper -> canary: the four
 * paper gates; canary -> production: canary_days; backtest -> paper: none). Pure: the same
 * inputs give the same result. Returns true when no gate that applies failed. */
bool nd_pipeline_gates_eval(const nd_pipeline_config_t *cfg, nd_pipeline_stage_t from,
                            const nd_pipeline_evidence_t *ev, nd_pipeline_gates_t *out /* OUT */);

/* The failed gates as "paper_days (3 of 14 days), paper_pnl (...)" into buf. */
void nd_pipeline_gates_failed_text(const nd_pipeline_gates_t *g, char *buf, size_t cap);

/* ---- the pipeline's state --------------------------------------------------------------- */

/* One transition of a version, as recorded. */
typedef struct nd_pipeline_transition {
    int64_t seq;                   /* the pipeline record's seq */
    int64_t ts_ns;
    char event[16];                /* registered|promoted|demoted|retired|rolled_back */
    nd_pipeline_stage_t from, to;  /* registered: dev -> dev */
    bool forced;                   /* gates overridden by an operator (--force) */
    char who[ND_PIPELINE_TEXT_MAX];
    char reason[ND_PIPELINE_TEXT_MAX];
} nd_pipeline_transition_t;

typedef struct nd_pipeline_version {
    char id[ND_PIPELINE_ID_LEN + 1];
    nd_pipeline_spec_t spec;
    nd_pipeline_stage_t stage;
    int64_t stage_since_ns;        /* when it entered stage */
    nd_pipeline_transition_t *history; /* oldest first (owned by the pipeline) */
    uint32_t history_count;
    uint32_t _history_cap;         /* private */
} nd_pipeline_version_t;

typedef struct nd_pipeline nd_pipeline_t;

/* An empty pipeline (nothing recorded yet); NULL when out of memory. */
nd_pipeline_t *nd_pipeline_new(void);
void nd_pipeline_free(nd_pipeline_t *p);

/* Rebuilds the pipeline from the store's pipeline records, in seq order. ND_EIO naming the
 * record's seq when one does not decode or names an impossible transition (the chain holds
 * something this code never appends); the nd_store_scan errors. On success the caller owns
 * *out. O(pipeline records). */
nd_err_t nd_pipeline_load(nd_store_t *s, nd_pipeline_t **out /* OUT */, char *err,
                          size_t err_len);

/* Versions in registration order; index < count. */
uint32_t nd_pipeline_count(const nd_pipeline_t *p);
const nd_pipeline_version_t *nd_pipeline_at(const nd_pipeline_t *p, uint32_t index);
/* The version with this id (or an unambiguous prefix of at least 4 digits), or NULL. */
const nd_pipeline_version_t *nd_pipeline_find(const nd_pipeline_t *p, const char *id);
/* The version of strategy in stage that entered it last (production: the only one), or NULL.
 * O(versions). */
const nd_pipeline_version_t *nd_pipeline_in_stage(const nd_pipeline_t *p, const char *strategy,
                                                  nd_pipeline_stage_t stage);

/* Who did it and why, for a transition's record. */
typedef struct nd_pipeline_actor {
    const char *who;               /* operator name, or "launch" for an automatic action */
    const char *reason;            /* "" allowed except with force and rollback */
    int64_t ts_ns;
    bool force;                    /* override failed or skipped gates (who and reason needed) */
} nd_pipeline_actor_t;

/* Registers spec in dev (one "registered" record, committed). *id receives its id, *added
 * false when that version was registered before (nothing appended). ND_EINVAL for an empty
 * field or a params text that is not a JSON object; ND_EFULL past ND_PIPELINE_VERSIONS_MAX;
 * the store's errors. */
nd_err_t nd_pipeline_register(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_spec_t *spec,
                              const nd_pipeline_actor_t *who, char id[ND_PIPELINE_ID_LEN + 1],
                              bool *added /* OUT */, char *err, size_t err_len);

/* Moves version id to stage to (to past its stage: a promotion; before it: a demotion).
 * A promotion goes one stage at a time and through its gates (nd_pipeline_gates_eval with ev,
 * whose stage_since_ns this fills in); with who->force a skip or failed gates are recorded as an
 * override naming the operator. Promoting to production retires the strategy's production
 * version in the same commit. gates (may be NULL) receives the judgement. Errors: ND_ENOTFOUND
 * (no such version), ND_ESTATE (a retired version, the same stage, a skip without force),
 * ND_EDECLINED (a gate failed: the failed gates named in err), ND_EINVAL (force without who or
 * reason), the store's errors. Nothing is appended unless it returns ND_OK. */
nd_err_t nd_pipeline_promote(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_config_t *cfg,
                             const char *id, nd_pipeline_stage_t to, nd_pipeline_evidence_t *ev,
                             const nd_pipeline_actor_t *who, nd_pipeline_gates_t *gates /* OUT */,
                             char *err, size_t err_len);

/* What a rollback hands the launcher: the version now in production, runnable from its spec,
 * and the capital share it gets. */
typedef struct nd_pipeline_rollback {
    char from_id[ND_PIPELINE_ID_LEN + 1]; /* the version rolled back (now in dev) */
    char to_id[ND_PIPELINE_ID_LEN + 1];   /* the version restored to production */
    nd_pipeline_spec_t spec;              /* to_id's spec and parameters */
    int64_t share_e6;                     /* current_share_e6 * rollback_share */
} nd_pipeline_rollback_t;

/* Rolls strategy back: its production version is demoted to dev and to_id (NULL: the version
 * retired last) goes back to production, in one commit, the reason (the trigger: a breaker
 * trip, "drawdown 9% past 8%", or the operator's note) in both records. Errors: ND_ENOTFOUND
 * (no production version, no retired version to go back to, to_id unknown), ND_ESTATE (to_id
 * not a retired version of that strategy), ND_EINVAL (empty reason), the store's errors. */
nd_err_t nd_pipeline_rollback(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_config_t *cfg,
                              const char *strategy, const char *to_id,
                              const nd_pipeline_actor_t *who, int64_t current_share_e6,
                              nd_pipeline_rollback_t *out /* OUT */, char *err, size_t err_len);

/* The pipeline as JSON: {"versions": [{"id", "strategy", "kind", "spec", "params" (object),
 * "code_hash", "stage", "since", "history": [{"seq", "at", "event", "from", "to", "forced",
 * "who", "reason"}...]}...]}. The caller json_decref's it. */
json_t *nd_pipeline_json(const nd_pipeline_t *p);

#endif
