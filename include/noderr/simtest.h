/* simtest.h: deterministic simulation testing of the engine (after TigerBeetle's VOPR and
 * FoundationDB's simulation).
 *
 * One seed draws a whole world: 1-3 instruments with their own scales, tick, lot and minimum
 * notional; a market with volatility regimes, crashes, zero-volume and thin bars; an engine
 * configuration (cash, sizing, shorting, every risk limit, breaker reset policies, fees,
 * slippage, impact, the volume share that makes partial fills); 1-3 chaos strategies that
 * target, submit market/limit/stop orders of random sizes (valid or not), cancel any order id
 * they can name (the engine's flattening orders included), set timers and act from them; and an
 * operator who engages the kill switch, reports data-integrity failures and releases halts; and
 * a venue (the simulated one behind a faulty wrapper) that refuses orders, fails cancels so
 * that they race fills, and disconnects for spells. One world in three is event-level: synthetic
 * trades and L2 books through one L2 simulator with latency per instrument (late acks, fills
 * overtaking acks, venues going down); one in four records into the compliance store in memory,
 * whose audit chain must verify and hold every fill at the end (docs/simulation-testing.md).
 * The harness keeps its own ledger from the engine's events and checks, after every event:
 *
 *   equity       cash + sum of positions x marks, rebuilt from the fills, equals the engine's
 *                equity exactly (extended scale), and every position agrees;
 *   fills        every fill belongs to an order the venue accepted and never overfills it;
 *   halted       no strategy order is accepted while trading is halted;
 *   flatten      while halted, every position is covered exactly by working flattening
 *                orders (except on an event where the venue refused one: it is sent again
 *                after the next); after the run (and a drain of liquid bars with a healthy
 *                venue) a run still halted is flat;
 *   attribution  P&L by strategy, by instrument and by venue sum to the same totals, exactly;
 *   portfolio    the portfolio's own consistency check holds.
 *
 * The first broken invariant stops the run and is reported with the event index, its time and
 * the seed, so `noderr sim --seed N` replays it exactly. */
#ifndef NODERR_SIMTEST_H
#define NODERR_SIMTEST_H

#include "noderr/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct nd_simtest_config {
    uint64_t seed;
    int64_t events;          /* bars to generate before the drain, > 0 */
} nd_simtest_config_t;

typedef struct nd_simtest_report {
    uint64_t seed;
    bool passed;
    char invariant[32];      /* the first broken invariant, "" when passed */
    char detail[256];        /* what was seen against what must hold */
    int64_t event_index;     /* the bar at which it broke (0-based), -1 when passed */
    int64_t ts_ns;
    /* what the world was and what happened in it */
    uint32_t instruments;
    uint32_t strategies;
    int64_t events;          /* bars processed, drain included */
    int64_t orders_accepted;
    int64_t orders_rejected;
    int64_t fills;
    int64_t amends;          /* amends the venue applied */
    int64_t trips;
    int64_t releases;        /* operator releases */
    int64_t halted_bars;
    int64_t flatten_orders;
    int64_t venue_refusals;  /* orders the faulty venue refused (down, or at random) */
    int64_t cancels_failed;  /* cancels it failed: the order kept working and could fill */
    int64_t reordered;       /* fills it handed over before their order's ack */
    bool events_world;       /* trades and L2 books through L2 simulators with latency */
    int64_t records;         /* audit records verified (0 when the world did not record) */
    int64_t anomaly_trips;   /* trips of the anomaly breaker (on in one world in three) */
} nd_simtest_report_t;

/* Runs one seed. ND_OK with out->passed telling the verdict; ND_EINVAL for a bad config;
 * ND_ENOMEM. Deterministic: the same config gives the same report, byte for byte. */
nd_err_t nd_simtest_run(const nd_simtest_config_t *cfg, nd_simtest_report_t *out /* OUT */, char *err,
                    size_t err_len);

/* The report as a JSON object (caller owns it). */
json_t *nd_simtest_report_json(const nd_simtest_report_t *r);

#endif
