/* simtest_int.h: the simulation harness's world (simtest.c), its event-level worlds
 * (simtest_ticks.c) and its chaos strategy (simtest_strategy.c). */
#ifndef NODERR_SIMTEST_INT_H
#define NODERR_SIMTEST_INT_H

#include "noderr/engine.h"
#include "noderr/exec_venue.h"
#include "noderr/l2sim.h"
#include "noderr/rand.h"
#include "noderr/sim_venue.h"
#include "noderr/simtest.h"
#include "noderr/store.h"
#include "noderr/strategy.h"
#include "noderr/ticks.h"

/* Parameters: seed (its own random stream), instruments (how many it may target), tick and
 * lot (price and quantity units of its own instrument, so most of its orders are valid),
 * activity (probability of acting on a bar or timer). */
enum { ND_SIMTEST_P_SEED, ND_SIMTEST_P_INSTRUMENTS, ND_SIMTEST_P_TICK, ND_SIMTEST_P_LOT, ND_SIMTEST_P_ACTIVITY,
       ND_SIMTEST_P_COUNT };

extern const nd_strategy_def_t nd__simtest_chaos_strategy;

#define SIM_INSTRUMENTS_MAX 3
#define SIM_STRATEGIES_MAX 3
#define SIM_DRAIN_ROUNDS 64
/* Event-level worlds: book levels a side (the engine's and each simulator's), and the market
 * events the drain may take. */
#define ND_SIMTEST_BOOK_LEVELS 64
#define SIM_DRAIN_EVENTS 4000

/* The venue as the harness sees it (simtest_venue.c): a simulator behind a faulty wrapper. */
typedef struct faulty_venue {
    nd_exec_venue_t inner;
    nd_rand_t rng;
    double refuse_rate;
    double cancel_fail_rate;
    double disconnect_rate;
    double reorder_rate;        /* a fill handed over before its order's ack */
    int64_t down_until_call;
    int64_t calls;
    bool quiet;                 /* the drain: no faults */
    int64_t flatten_refused_at; /* the bar at which a flattening order was last refused */
    int64_t cancel_failed_at;   /* the bar at which a cancel last failed */
    int64_t *bar_index;
    int64_t refused;
    int64_t cancels_failed;
    int64_t reordered;
} faulty_venue_t;

/* What the harness knows of an order, from the events alone. */
typedef struct sim_order {
    int64_t qty;
    int64_t filled;
    uint32_t strategy;
    uint32_t instrument;
    nd_side_t side;
    bool sent;      /* shown NEW: sent to a venue with latency */
    bool accepted;
    bool done;
    bool risk_flatten;
} sim_order_t;

typedef struct sim {
    nd_rand_t rng;
    nd_engine_t *engine;
    nd_clock_sim_t clock;
    nd_instrument_t inst[SIM_INSTRUMENTS_MAX];
    uint32_t inst_count;
    uint32_t strat_count;
    /* market */
    double px[SIM_INSTRUMENTS_MAX];    /* current price in quote units */
    double vol[SIM_INSTRUMENTS_MAX];   /* per-bar volatility */
    /* the ledger, rebuilt from events */
    __int128 cash;
    int64_t pos[SIM_STRATEGIES_MAX][SIM_INSTRUMENTS_MAX];
    int64_t mark[SIM_INSTRUMENTS_MAX];
    int64_t cover[SIM_STRATEGIES_MAX][SIM_INSTRUMENTS_MAX]; /* signed qty working flattening
                                                               orders will still trade */
    sim_order_t *orders;               /* by client id */
    uint64_t order_cap;
    /* the venues: one bar simulator, or one L2 simulator an instrument (event-level worlds) */
    nd_sim_venue_t bar_sim;
    faulty_venue_t venues[SIM_INSTRUMENTS_MAX];
    nd_exec_venue_t venue_execs[SIM_INSTRUMENTS_MAX];
    uint32_t venue_count;
    bool events_world;                 /* trades, quotes and books instead of bars */
    nd_l2sim_exec_t *l2[SIM_INSTRUMENTS_MAX];
    nd_synth_ticks_t *gen[SIM_INSTRUMENTS_MAX];
    nd_market_event_t next[SIM_INSTRUMENTS_MAX];
    bool has_next[SIM_INSTRUMENTS_MAX];
    bool down[SIM_INSTRUMENTS_MAX];    /* a venue status said disconnected */
    uint64_t seq;
    /* recording: the compliance store in memory, its audit chain checked at the end */
    nd_store_t *store;
    nd_recorder_t *recorder;
    /* the verdict */
    nd_simtest_report_t *report;
    int64_t bar_index;
    int64_t now_ns;
    bool broken;
    nd_err_t failure;                  /* ND_ENOMEM while recording */
} sim_t;

/* Marks the run broken at the first call (later ones are ignored): the invariant's name and
 * what was seen, printf-style. */
void nd__simtest_broke(sim_t *s, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
double nd__simtest_uniform(sim_t *s, double lo, double hi);
bool nd__simtest_chance(sim_t *s, double p);
/* The checks after every event (simtest.c), and the operator's random actions. */
void nd__simtest_check_all(sim_t *s);
void nd__simtest_operator_acts(sim_t *s);
/* Prices in the instrument's units, on its tick and at least one tick. */
int64_t nd__simtest_to_units(const nd_instrument_t *in, double px);

/* simtest_venue.c: the faulty venue over the bar simulator (venues[0], named "sim"), or over one
 * L2 simulator an instrument (each instrument's venue named "l2-I"); fills cfg's venue table. */
nd_err_t nd__simtest_bar_venue(sim_t *s, nd_engine_config_t *cfg);
nd_err_t nd__simtest_event_venues(sim_t *s, nd_engine_config_t *cfg);

/* simtest_ticks.c: an event-level world's market (seeded synthetic trades and books an
 * instrument, merged by the tie rule, with venue disconnects) and its run and drain. */
nd_err_t nd__simtest_ticks_open(sim_t *s, char *err, size_t err_len);
/* simtest_audit.c: recording into the store in memory in a quarter of the worlds (open draws
 * it), and the end-of-run check: the chain verifies and holds every fill booked. */
nd_err_t nd__simtest_audit_open(sim_t *s, char *err, size_t err_len);
void nd__simtest_audit_check(sim_t *s);
void nd__simtest_audit_close(sim_t *s);
void nd__simtest_ticks_run(sim_t *s, int64_t events);
void nd__simtest_ticks_close(sim_t *s);

#endif
