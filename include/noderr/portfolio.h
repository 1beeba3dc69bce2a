/* portfolio.h: cash, positions, P&L and its attribution by strategy, asset and venue.
 *
 * One account in the quote currency (cash in 10^-ND_CASH_DECIMALS). Positions are kept per
 * (strategy, instrument) so that every fill's P&L belongs to exactly one strategy; per-asset
 * and per-venue figures are sums over those. Average-cost accounting: a fill that adds to a
 * position adds its notional to the cost basis; a fill that reduces it releases a pro-rata share
 * of the cost and books the difference as realised P&L. Invariants, exact in integers:
 *   cash + sum(cost bases) == initial cash + sum(realised) - sum(fees)
 *   equity == cash + sum(qty * mark)
 * Marking is on the hot path: it keeps equity in an extended integer scale (10^-EXT, EXT =
 * max over instruments of px_decimals + qty_decimals) so that it needs one multiplication and no
 * division per bar. */
#ifndef NODERR_PORTFOLIO_H
#define NODERR_PORTFOLIO_H

#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The round trip in progress: its running figures, which start from zero together when the
 * position leaves flat. */
typedef struct nd_position_trip {
    int64_t entry_ns;
    int64_t realized;
    int64_t fees;
    int64_t qty_max;    /* largest absolute size reached */
    int64_t entry_cost; /* absolute cost of everything bought (long) or sold (short) */
    int64_t entry_qty;
    int64_t exit_value;
    int64_t exit_qty;
} nd_position_trip_t;

typedef struct nd_position {
    int64_t qty;        /* signed quantity units: > 0 long, < 0 short */
    int64_t cost;       /* signed cost basis of the open quantity, cash units */
    int64_t realized;   /* realised P&L, gross of fees, cash units */
    int64_t fees;       /* fees paid, cash units */
    int64_t bought_qty; /* turnover, quantity units */
    int64_t sold_qty;
    nd_position_trip_t trip; /* the round trip in progress */
} nd_position_t;

/* A round trip: from flat to flat (a flip closes one and opens the next). */
typedef struct nd_trade {
    uint32_t strategy_index;
    uint32_t instrument_id;
    int direction;      /* +1 long, -1 short */
    int64_t entry_ns;
    int64_t exit_ns;
    int64_t qty;        /* largest absolute size held */
    int64_t entry_px;   /* average entry price, price units */
    int64_t exit_px;    /* average exit price, price units */
    int64_t pnl;        /* realised P&L net of the trip's fees, cash units */
    int64_t fees;
} nd_trade_t;

typedef void (*nd_trade_cb)(void *ctx, const nd_trade_t *trade);

/* P&L attributed to one key (a strategy, an asset or a venue), cash units. */
typedef struct nd_attribution {
    int64_t realized;
    int64_t unrealized;
    int64_t fees;
    int64_t net;        /* realized + unrealized - fees */
    int64_t trades;     /* closed round trips */
} nd_attribution_t;

typedef struct nd_portfolio nd_portfolio_t;

/* Creates a portfolio over a borrowed instrument table, strategy_count sleeves with capital
 * weights in millionths (weights_e6, summing to at most 1,000,000) and initial_cash. Returns
 * ND_EINVAL on bad arguments, ND_ENOMEM. Free with nd_portfolio_destroy. */
nd_err_t nd_portfolio_create(const nd_instrument_t *instruments, uint32_t instrument_count,
                             const int64_t *weights_e6, uint32_t strategy_count,
                             int64_t initial_cash, nd_portfolio_t **out /* OUT */);
void nd_portfolio_destroy(nd_portfolio_t *p);

/* Called with every closed round trip (e.g. to stream it to a file). */
void nd_portfolio_on_trade(nd_portfolio_t *p, nd_trade_cb cb, void *ctx);

/* Books a fill: cash, position, cost basis, realised P&L, fees, round trips. ND_EOVERFLOW (and
 * nothing booked) if any amount leaves the int64 range, the new position's value at the last
 * mark included.
 * A fee paid in base (fill->fee_qty, Binance's commission on a buy) is booked as the account
 * sees it: the position moves by qty - fee_qty on a buy (qty + fee_qty on a sell), the cash by
 * the notional and the cash fee as always, and the base fee's value v = notional * fee_qty /
 * qty (half-even: its pro-rata share of the notional, i.e. at the fill's price) is a fee: it
 * leaves the cost basis of what was bought (a buy's basis is notional - v for qty - fee_qty)
 * and counts in fees, so the invariants above hold unchanged. ND_EINVAL when fee_qty < 0 or,
 * on a buy, fee_qty >= qty. */
nd_err_t nd_portfolio_apply_fill(nd_portfolio_t *p, const nd_fill_t *fill);

/* Marks an instrument at px (price units). O(1), no division: the hot path. ND_EOVERFLOW (the
 * mark unchanged) when some position's value at px would not fit the cash scale: every
 * position's value at its mark always fits, so unrealised P&L is always exact. net_qty, when
 * not NULL, gets the instrument's net position (nd_portfolio_net_qty), which the mark reads
 * anyway. */
nd_err_t nd_portfolio_mark(nd_portfolio_t *p, uint32_t instrument_id, int64_t px,
                           int64_t *net_qty /* OUT, or NULL */);

/* Last mark of an instrument, 0 before the first. */
int64_t nd_portfolio_last_px(const nd_portfolio_t *p, uint32_t instrument_id);

/* Equity in the extended scale (see above), exact; and its scale's decimals. */
__int128 nd_portfolio_equity_ext(const nd_portfolio_t *p);
int nd_portfolio_ext_decimals(const nd_portfolio_t *p);

/* Equity, cash, fees in cash units (equity rounded half-even from the extended scale). */
int64_t nd_portfolio_equity(const nd_portfolio_t *p);
int64_t nd_portfolio_cash(const nd_portfolio_t *p);
int64_t nd_portfolio_initial_cash(const nd_portfolio_t *p);
int64_t nd_portfolio_fees(const nd_portfolio_t *p);

/* A strategy's own position on an instrument (never NULL for valid indices). */
const nd_position_t *nd_portfolio_position(const nd_portfolio_t *p, uint32_t strategy_index,
                                           uint32_t instrument_id);
/* The net position on an instrument across strategies, quantity units. */
int64_t nd_portfolio_net_qty(const nd_portfolio_t *p, uint32_t instrument_id);
/* True when any strategy holds anything. */
bool nd_portfolio_has_positions(const nd_portfolio_t *p);

/* Changes a sleeve's capital weight (millionths) at run time: its equity becomes the new
 * weight * initial cash + its P&L. Cash and positions are the account's and do not move.
 * ND_EINVAL when the weight is outside [0, 1,000,000] or the weights would add up to more. */
nd_err_t nd_portfolio_set_weight(nd_portfolio_t *p, uint32_t strategy_index, int64_t weight_e6);
int64_t nd_portfolio_weight(const nd_portfolio_t *p, uint32_t strategy_index);

/* A strategy sleeve's equity: weight * initial cash + its realised and unrealised P&L - fees. */
int64_t nd_portfolio_strategy_equity(const nd_portfolio_t *p, uint32_t strategy_index);

/* Attribution, summed over positions; O(strategies * instruments). */
void nd_portfolio_by_strategy(const nd_portfolio_t *p, uint32_t strategy_index,
                              nd_attribution_t *out /* OUT */);
void nd_portfolio_by_instrument(const nd_portfolio_t *p, uint32_t instrument_id,
                                nd_attribution_t *out /* OUT */);
/* By venue name: sums every instrument whose venue matches. */
void nd_portfolio_by_venue(const nd_portfolio_t *p, const char *venue,
                           nd_attribution_t *out /* OUT */);

/* Unrealised P&L of one position at the instrument's last mark, cash units. */
int64_t nd_portfolio_unrealized(const nd_portfolio_t *p, uint32_t strategy_index,
                                uint32_t instrument_id);

/* Checks the accounting invariants above (O(positions)); returns false and why in err. */
bool nd_portfolio_check(const nd_portfolio_t *p, char *err, size_t err_len);

#endif
