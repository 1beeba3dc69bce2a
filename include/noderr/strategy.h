/* strategy.h: the strategy interface, parameter schemas and the registry of built-ins.
 *
 * A strategy is a table of callbacks plus a declared parameter schema. The engine allocates
 * the strategy's state once at start (state_size), then calls on_bar for every bar of its
 * instrument; the strategy acts through the nd_strategy_ctx_t it is handed: it states a target
 * direction (the portfolio sizes the order) or submits explicit orders. Strategies never see
 * cash or sizing: sizing belongs to the portfolio. Callbacks must not allocate or block. */
#ifndef NODERR_STRATEGY_H
#define NODERR_STRATEGY_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/order.h"
#include "noderr/ticks.h"

#include <stddef.h>
#include <stdint.h>

/* The strategy ABI: the layout and meaning of nd_param_def_t, nd_strategy_ctx_t and
 * nd_strategy_def_t below, as a plugin built against these headers sees them (strategy_plugin.h,
 * docs/strategy-sdk.md). It goes up by one whenever one of those structs changes size or field
 * order, a field changes type or meaning, or a callback's contract changes; a plugin built for
 * another ABI is refused at load. Additions that old plugins cannot observe (a new function in
 * the library, a new indicator) do not change it. */
#define ND_STRATEGY_ABI_VERSION 1

typedef enum nd_param_type {
    ND_PARAM_INT = 0,   /* whole numbers, e.g. a lookback in bars */
    ND_PARAM_REAL = 1,  /* real numbers, e.g. a z-score threshold */
    ND_PARAM_CHOICE = 2 /* an index into choices[] */
} nd_param_type_t;

typedef struct nd_param_def {
    const char *name;
    nd_param_type_t type;
    double min, max, def, step; /* inclusive bounds; step is the optimiser's grid (0 = any) */
    const char *help;
    const char *const *choices; /* ND_PARAM_CHOICE only */
    int choice_count;
} nd_param_def_t;

/* What the engine offers a strategy. A vtable so tests can drive a strategy without an engine. */
typedef struct nd_strategy_ctx nd_strategy_ctx_t;
struct nd_strategy_ctx {
    void *engine;            /* private to the implementation */
    uint32_t strategy_index; /* read-only */
    /* Target exposure on an instrument: +1 long, 0 flat, -1 short. The portfolio turns it into
     * an order of the right size (or none when already there). */
    nd_err_t (*target)(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction);
    /* Submits an explicit order; qty 0 means portfolio sizing. *client_id gets its id. */
    nd_err_t (*submit)(nd_strategy_ctx_t *ctx, const nd_order_intent_t *intent,
                       uint64_t *client_id /* OUT */);
    /* Cancels a working order of this strategy. */
    nd_err_t (*cancel)(nd_strategy_ctx_t *ctx, uint64_t client_id);
    /* Asks for on_timer at at_ns (not before the current time) carrying timer_id. */
    nd_err_t (*set_timer)(nd_strategy_ctx_t *ctx, int64_t at_ns, uint64_t timer_id);
    /* This strategy's own position in quantity units. */
    int64_t (*position)(nd_strategy_ctx_t *ctx, uint32_t instrument_id);
    /* Amends a working limit or stop order of this strategy to price px and total quantity qty
     * (the filled part included), where its venue can (order.h: ND_AMEND_* and the queue rule:
     * a lower quantity at the same price keeps the order's place). ND_OK: sent (a venue with
     * latency answers later; until then the order keeps its old values). ND_ENOTFOUND: not a
     * working order of this strategy; ND_ESTATE: not yet acknowledged, an amend already in
     * flight, a risk-flattening order, or trading halted; ND_EINVAL: px <= 0, qty not above the
     * filled quantity, or nothing changes; ND_EDECLINED: the venue cannot amend this way
     * (*reason stays ND_REJECT_NONE) or an account or risk check refused the new values
     * (*reason says which; counted with the run's rejects). reason may be NULL. */
    nd_err_t (*amend)(nd_strategy_ctx_t *ctx, uint64_t client_id, int64_t px, int64_t qty,
                      nd_reject_t *reason /* OUT */);
    /* The definition this strategy runs: lets one implementation serve several definitions
     * (a plugin's or a script's callbacks reach their def->user through it). Read-only. */
    const struct nd_strategy_def *def;
};

/* A read-only view of the engine's L2 book of one instrument, handed to on_book once a venue
 * event is complete (after a delta flagged LAST). Depth by level: nd_book_top(book, side, ...),
 * nd_book_qty_at; the pointer is valid during the call only. has_bid/has_ask say whether the
 * best levels are set. */
typedef struct nd_book_view {
    uint32_t instrument_id;
    int64_t ts_ns;
    int64_t update_id;     /* the venue update id of the last delta applied */
    bool has_bid, has_ask;
    nd_book_level_t best_bid, best_ask;
    const nd_book_t *book;
} nd_book_view_t;

typedef struct nd_strategy_def {
    const char *name;    /* "sma_cross" */
    const char *summary; /* one line for `noderr strategies` */
    const nd_param_def_t *params;
    int param_count;
    /* Bytes of state for these parameters (lookback buffers included). */
    size_t (*state_size)(const double *params);
    /* Checks relations between parameters (e.g. fast < slow); writes why into err. May be NULL. */
    nd_err_t (*validate)(const double *params, char *err, size_t err_len);
    /* Initialises zeroed state. instrument_id is the instrument the strategy trades. */
    nd_err_t (*on_start)(void *state, const double *params, uint32_t instrument_id,
                         nd_strategy_ctx_t *ctx);
    void (*on_bar)(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx);
    void (*on_fill)(void *state, const nd_fill_t *fill, nd_strategy_ctx_t *ctx);     /* may be NULL */
    void (*on_timer)(void *state, int64_t now_ns, uint64_t timer_id, nd_strategy_ctx_t *ctx); /* may be NULL */
    /* Event-level callbacks (nd_engine_on_event), each may be NULL: a strategy with only on_bar
     * runs unchanged on bars and is simply not called on ticks. on_bar may be NULL for a
     * strategy that trades on events only. */
    void (*on_trade)(void *state, const nd_trade_tick_t *trade, nd_strategy_ctx_t *ctx);
    void (*on_quote)(void *state, const nd_quote_tick_t *quote, nd_strategy_ctx_t *ctx);
    void (*on_book)(void *state, const nd_book_view_t *book, nd_strategy_ctx_t *ctx);
    void (*on_venue_status)(void *state, const nd_venue_status_t *status, nd_strategy_ctx_t *ctx);
    /* Releases what on_start acquired beyond the state block (e.g. a script interpreter); called
     * once for each strategy whose on_start was called (even if it failed part-way, so on_stop
     * must accept zeroed fields) when the engine is destroyed, before the state is freed. May be
     * NULL. */
    void (*on_stop)(void *state);
    /* The implementation's own data for this definition (a loaded script, a plugin handle);
     * NULL for built-ins. Reached from callbacks as ctx->def->user. */
    const void *user;
} nd_strategy_def_t;

/* The built-in strategies, in a fixed order. */
const nd_strategy_def_t *const *nd_strategy_builtins(int *count /* OUT */);
/* Looks a strategy up by name; NULL if unknown. */
const nd_strategy_def_t *nd_strategy_find(const char *name);
/* The built-in event strategies (on_quote/on_book/on_trade, no on_bar), e.g. quote_maker, and a
 * look-up among them; kept apart from the bar built-ins above. */
const nd_strategy_def_t *const *nd_strategy_event_builtins(int *count /* OUT */);
const nd_strategy_def_t *nd_strategy_find_event(const char *name);

/* Fills values[] with the schema defaults. */
void nd_strategy_params_default(const nd_strategy_def_t *def, double *values);
/* Sets one parameter from "k=v" text: checks the name, the type (integers must be whole), the
 * bounds and, for choices, the name. ND_EINVAL with a reason in err. */
nd_err_t nd_strategy_param_set(const nd_strategy_def_t *def, double *values, const char *kv,
                               char *err, size_t err_len);
/* Checks every value against its schema and the strategy's validate(). */
nd_err_t nd_strategy_params_check(const nd_strategy_def_t *def, const double *values, char *err,
                                  size_t err_len);

#endif
