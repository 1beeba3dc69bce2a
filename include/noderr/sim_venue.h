/* sim_venue.h: the simulated venue that fills orders against bars.
 *
 * Fill rules (the same for every run, so backtests are reproducible):
 *  - An order submitted while bar i is current becomes eligible from bar i+1 on.
 *  - Market: fills at the open of its first eligible bar, plus slippage against the trader.
 *  - Limit buy at L: fills at the open if open <= L (the bar gapped through), else at L if
 *    low <= L; a limit sell mirrors it (open >= L, else high >= L). No slippage: the limit price
 *    is the guarantee. Maker fee.
 *  - Stop buy at S: fills at the open if open >= S, else at S if high >= S; a stop sell mirrors
 *    it. Slippage applies (it executes as a market order). Taker fee.
 *  - Slippage in price: px * (fixed_bps + impact_bps * qty / bar_volume) / 10,000, rounded
 *    against the trader to a whole price unit.
 *  - Partial fills: at most max_volume_share of the bar's volume fills per bar (rounded down to
 *    the lot); the rest stays working for later bars. A bar with zero volume fills nothing.
 *  - Fees: notional * fee_bps / 10,000 in cash units, rounded up (never in the trader's favour).
 * Rates are integers in 1/100 of a basis point (hundredths), so 7.5 bps is 750. */
#ifndef NODERR_SIM_VENUE_H
#define NODERR_SIM_VENUE_H

#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stddef.h>
#include <stdint.h>

/* 1 bp = 100 units: rates are in hundredths of a basis point. */
#define ND_BPS_UNIT 100LL

typedef struct nd_sim_config {
    int64_t maker_fee_bps_e2;    /* maker fee, hundredths of a bp (1000 = 10 bps) */
    int64_t taker_fee_bps_e2;    /* taker fee */
    int64_t slippage_bps_e2;     /* fixed slippage */
    int64_t impact_bps_e2;       /* extra slippage at 100% of the bar's volume, linear in share */
    int64_t max_volume_share_e4; /* share of bar volume one order may take per bar, 1e-4 units
                                    (1000 = 10%); 10000 = the whole bar */
} nd_sim_config_t;

/* Defaults: 10 bps maker and taker, no slippage, no impact, 10% of bar volume. */
void nd_sim_config_default(nd_sim_config_t *cfg);

typedef struct nd_sim_venue {
    nd_sim_config_t cfg;
    const nd_instrument_t *instruments; /* borrowed, count entries, indexed by id */
    uint32_t instrument_count;
    uint64_t next_venue_id;
    /* private: working orders in submission order (time priority) and their eligibility */
    nd_order_t *_open[ND_ORDERS_OPEN_MAX];
    int64_t _eligible_after_ns[ND_ORDERS_OPEN_MAX];
    uint32_t _open_count;
} nd_sim_venue_t;

/* Initialises v over a borrowed instrument table (it must outlive v). */
nd_err_t nd_sim_venue_init(nd_sim_venue_t *v, const nd_sim_config_t *cfg,
                           const nd_instrument_t *instruments, uint32_t instrument_count);

/* Accepts a NEW order (moving it to ACCEPTED, assigning venue_id). The order stays owned by
 * the caller and must stay valid until it is done. It is eligible on bars whose open time is
 * later than now_ns. ND_EFULL when ND_ORDERS_OPEN_MAX orders are working. */
nd_err_t nd_sim_venue_submit(nd_sim_venue_t *v, nd_order_t *order, int64_t now_ns);

/* Cancels a working order by client id (CANCELLED); ND_ENOTFOUND if it is not working here. */
nd_err_t nd_sim_venue_cancel(nd_sim_venue_t *v, uint64_t client_id, int64_t now_ns);
/* Amends a working order in place (order.h nd_order_amend): lowering the quantity at the same
 * price keeps its place in the matching order; otherwise it goes last and may fill only on bars
 * after now_ns, like a new order. ND_ENOTFOUND when not working here. */
nd_err_t nd_sim_venue_amend(nd_sim_venue_t *v, uint64_t client_id, int64_t px, int64_t qty,
                            int64_t now_ns);

/* Matches working orders of bar->instrument_id against the bar, in time priority. Writes up to
 * cap fills to fills_out, applies them to the orders, and drops orders that are done from the
 * working set. Returns the number of fills via *count. ND_EOVERFLOW if a price or notional
 * overflows (the order is left untouched). Cost O(working orders). */
nd_err_t nd_sim_venue_on_bar(nd_sim_venue_t *v, const nd_bar_t *bar, nd_fill_t *fills_out,
                             size_t cap, size_t *count /* OUT */);

/* Number of working orders. */
static inline uint32_t nd_sim_venue_open_count(const nd_sim_venue_t *v)
{
    return v->_open_count;
}

/* v behind the venue interface (exec_venue.h), named name, declaring its fees; v is borrowed. */
void nd_sim_venue_exec(nd_sim_venue_t *v, const char *name, nd_exec_venue_t *out /* OUT */);

#endif
