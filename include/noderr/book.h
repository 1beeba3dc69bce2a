/* book.h: an L2 (price-level) order book over fixed-point prices, for venue connectors.
 *
 * Each side is a pair of sorted arrays (prices, quantities) allocated once at init, stored
 * worst-first so that the best level is the last element: updates cluster near the top of the
 * book, so an insert or removal moves only the few levels above it. No allocation after init;
 * set/delete are O(log n) to find and O(distance from the best level) to move.
 * Invariants: prices strictly increase along the bid array and strictly decrease along the ask
 * array (so the last element is the best on both), every stored quantity is > 0, and each side
 * holds at most levels_max levels. A side that is full refuses a new level (ND_EFULL, counted
 * in dropped_full, book unchanged): nothing is ever evicted or cut silently. */
#ifndef NODERR_BOOK_H
#define NODERR_BOOK_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most levels one side may hold. Binance snapshots carry at most 5000 per side, but a Coinbase
 * Exchange level2 snapshot of a busy product has tens of thousands (20k a side seen), and the
 * Coinbase decoder takes 65,536 levels a message: the same bound here, so a snapshot that
 * decodes always fits. Cost: 16 bytes a level a side, 2 MiB for a full book (calloc'd, so
 * untouched pages cost nothing). More is refused (ND_EFULL), never cut. */
#define ND_BOOK_LEVELS_MAX 65536

typedef enum nd_book_side { ND_BOOK_BID = 0, ND_BOOK_ASK = 1 } nd_book_side_t;

typedef struct nd_book_level {
    int64_t px;
    int64_t qty;
} nd_book_level_t;

typedef struct nd_book_half {
    int64_t *_px;     /* private: sorted worst..best */
    int64_t *_qty;    /* private */
    uint32_t _count;  /* private */
} nd_book_half_t;

typedef struct nd_book {
    /* private: use the functions below */
    nd_book_half_t _side[2];
    uint32_t _levels_max;
    /* read-only counters */
    uint64_t updates;      /* set/delete calls that changed the book */
    uint64_t dropped_full; /* new levels refused (ND_EFULL) because a side was full */
} nd_book_t;

/* Allocates both sides for levels_max levels each (1..ND_BOOK_LEVELS_MAX). ND_EINVAL, ND_ENOMEM.
 * The book is empty; release with nd_book_deinit. */
nd_err_t nd_book_init(nd_book_t *book, uint32_t levels_max);
void nd_book_deinit(nd_book_t *book);
/* Empties both sides (no allocation). */
void nd_book_clear(nd_book_t *book);

/* Sets the absolute quantity at px; qty 0 removes the level (removing an absent level is
 * fine). ND_EINVAL for px <= 0 or qty < 0 (book unchanged). ND_EFULL when px is a new level
 * and the side already holds levels_max (book unchanged, counted in dropped_full). */
nd_err_t nd_book_set(nd_book_t *book, nd_book_side_t side, int64_t px, int64_t qty);
/* Removes the level at px; returns true when it existed. */
bool nd_book_delete(nd_book_t *book, nd_book_side_t side, int64_t px);

/* Levels one side may hold (the levels_max given to nd_book_init). */
uint32_t nd_book_levels_max(const nd_book_t *book);
/* Levels on a side. */
uint32_t nd_book_levels(const nd_book_t *book, nd_book_side_t side);
/* Copies up to n best levels, best first, into out; returns how many. O(n). */
uint32_t nd_book_top(const nd_book_t *book, nd_book_side_t side, nd_book_level_t *out, uint32_t n);
/* The best level; false when the side is empty. */
bool nd_book_best(const nd_book_t *book, nd_book_side_t side, nd_book_level_t *out /* OUT */);
/* Quantity at px, 0 when absent. O(log n). */
int64_t nd_book_qty_at(const nd_book_t *book, nd_book_side_t side, int64_t px);
/* True when best bid >= best ask (both sides non-empty). */
bool nd_book_crossed(const nd_book_t *book);
/* Checks every invariant; O(n). Used by tests, fuzzers and ND_DEBUG_ASSERT. */
bool nd_book_valid(const nd_book_t *book);

#endif
