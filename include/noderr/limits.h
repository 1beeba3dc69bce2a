/* limits.h: every compile-time maximum of Noderr, each with its reason.
 *
 * Runtime configuration may lower a limit, never raise it. Every loop and queue is bounded by
 * one of these, so a bad input or a runaway strategy hits a clear error instead of memory. */
#ifndef NODERR_LIMITS_H
#define NODERR_LIMITS_H

/* Instruments one engine trades at once. A desk runs tens of symbols per process; 256 keeps
 * per-instrument arrays small enough to index directly without hashing. */
#define ND_INSTRUMENTS_MAX 256

/* Strategies one engine runs at once. Capital weights are split across them; 64 is far above
 * what a single process should carry and keeps attribution tables fixed-size. */
#define ND_STRATEGIES_MAX 64

/* Open (working) orders at once across all strategies. The order pool is sized from config up
 * to this; a strategy that leaks resting orders is refused with ND_REJECT_POOL_EXHAUSTED. */
#define ND_ORDERS_OPEN_MAX 4096

/* Order intents one strategy may emit in one callback. A callback that wants more is a bug. */
#define ND_INTENTS_PER_CALLBACK_MAX 64

/* Parameters in one strategy schema. Four built-ins use at most five. */
#define ND_STRATEGY_PARAMS_MAX 16

/* Strategy definitions one plugin library offers (strategy_plugin.h). A plugin is a handful of
 * strategies; a longer list is refused at load rather than walked without bound. */
#define ND_STRATEGY_PLUGIN_DEFS_MAX 64

/* Plugin libraries one `noderr` process loads (--strategy-lib). Every strategy of a run could
 * come from its own library, so this matches ND_STRATEGIES_MAX. */
#define ND_STRATEGY_LIBS_MAX 64

/* Length of names (symbols, strategy and parameter names, venue names), including the NUL. */
#define ND_NAME_MAX 32

/* Venues one engine trades on at once (e.g. Binance, Coinbase and a simulated venue; a paper
 * session has one simulated venue per instrument). */
#define ND_VENUES_MAX 32

/* Timers pending at once across all strategies. */
#define ND_TIMERS_MAX 1024

/* Events buffered between engine stages (fills, acks, rejects, breaker trips) per bar. */
#define ND_EVENT_RING_SIZE 8192

/* Breaker trips remembered for reporting. A run that trips more often than this is broken;
 * the count keeps going but only the first trips are kept in full. */
#define ND_BREAKER_EVENTS_MAX 1024

/* Counters kept per business-reject reason (nd_reject_t values must stay below this). Venue
 * connectors add reasons of their own; 64 leaves room without a map. */
#define ND_REJECT_SLOTS 64

/* Longest line a data loader accepts. Kline rows are under 200 bytes. */
#define ND_LINE_MAX 1024

/* Longest formatted log line. */
#define ND_LOG_LINE_MAX 512

/* Longest indicator lookback (bars) a built-in strategy accepts. */
#define ND_LOOKBACK_MAX 10000

_Static_assert((ND_EVENT_RING_SIZE & (ND_EVENT_RING_SIZE - 1)) == 0, "ring sizes are powers of 2");
_Static_assert(ND_ORDERS_OPEN_MAX < ND_EVENT_RING_SIZE, "a bar's events fit the event ring");
_Static_assert(ND_NAME_MAX >= 16, "names hold a symbol like BTC/USDT");
_Static_assert(ND_STRATEGY_LIBS_MAX >= ND_STRATEGIES_MAX, "one library a strategy");

#endif
