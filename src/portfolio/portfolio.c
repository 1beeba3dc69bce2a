/* portfolio.c: average-cost accounting per (strategy, instrument), round trips, attribution.
 *
 * Invariant kept by apply_fill, checked by nd_portfolio_check:
 *   cash + sum(cost) == initial_cash + sum(realized) - sum(fees).
 * Equity for marking is kept in the extended scale 10^-ext_decimals as
 *   equity_ext = cash * 10^(ext - cash decimals) + sum_i net_qty_i * mark_i * mult_i
 * and updated incrementally, so marking a bar is one multiply-add and no division. */
#include "noderr/portfolio.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <string.h>

struct nd_portfolio {
    const nd_instrument_t *instruments;
    uint32_t instrument_count;
    uint32_t strategy_count;
    int64_t initial_cash;
    int64_t cash;
    int64_t fees;
    int ext_decimals;
    __int128 cash_mult;       /* 10^(ext - ND_CASH_DECIMALS) */
    __int128 equity_ext;      /* exact equity in 10^-ext */
    int64_t *weights_e6;      /* per strategy */
    int64_t *net_qty;         /* per instrument, across strategies */
    int64_t *last_px;         /* per instrument */
    int64_t *value_mult;      /* per instrument: 10^(ext - px_decimals - qty_decimals) */
    int64_t *net_value_mult;  /* per instrument: net_qty x value_mult when it fits an int64,
                                 else 0: the mark's one 64 x 64-bit product instead of three */
    int64_t *px_limit;        /* per instrument: the highest mark at which every position's value
                                 still fits the cash scale (INT64_MAX when flat) */
    nd_position_t *positions; /* [strategy * instrument_count + instrument] */
    uint32_t open_positions;  /* positions whose qty is not 0 (apply_fill alone changes qty) */
    int64_t *closed_trips;    /* per position: round trips closed */
    nd_trade_cb trade_cb;
    void *trade_ctx;
};

static nd_position_t *pos_at(const nd_portfolio_t *p, uint32_t s, uint32_t i)
{
    ND_ASSERT(s < p->strategy_count);
    ND_ASSERT(i < p->instrument_count);
    return &p->positions[(size_t)s * p->instrument_count + i];
}

static nd_err_t check_create_args(const nd_instrument_t *instruments, uint32_t instrument_count,
                                  const int64_t *weights_e6, uint32_t strategy_count,
                                  int64_t initial_cash)
{
    if (!instruments || instrument_count == 0 || instrument_count > ND_INSTRUMENTS_MAX)
        return ND_EINVAL;
    if (!weights_e6 || strategy_count == 0 || strategy_count > ND_STRATEGIES_MAX)
        return ND_EINVAL;
    if (initial_cash <= 0)
        return ND_EINVAL;
    int64_t total = 0;
    for (uint32_t s = 0; s < strategy_count; s++) {
        if (weights_e6[s] < 0 || weights_e6[s] > 1000000)
            return ND_EINVAL;
        total += weights_e6[s];
    }
    if (total > 1000000)
        return ND_EINVAL;
    for (uint32_t i = 0; i < instrument_count; i++) {
        int d = instruments[i].px_decimals + instruments[i].qty_decimals;
        if (d < ND_CASH_DECIMALS || d > 24 || instruments[i].id != i)
            return ND_EINVAL;
    }
    return ND_OK;
}

nd_err_t nd_portfolio_create(const nd_instrument_t *instruments, uint32_t instrument_count,
                             const int64_t *weights_e6, uint32_t strategy_count,
                             int64_t initial_cash, nd_portfolio_t **out)
{
    nd_err_t rc = check_create_args(instruments, instrument_count, weights_e6, strategy_count,
                                    initial_cash);
    if (rc != ND_OK)
        return rc;
    nd_portfolio_t *p = nd_calloc(1, sizeof *p);
    if (!p)
        return ND_ENOMEM;
    size_t npos = (size_t)strategy_count * instrument_count;
    p->weights_e6 = nd_calloc(strategy_count, sizeof(int64_t));
    p->net_qty = nd_calloc(instrument_count, sizeof(int64_t));
    p->last_px = nd_calloc(instrument_count, sizeof(int64_t));
    p->value_mult = nd_calloc(instrument_count, sizeof(int64_t));
    p->net_value_mult = nd_calloc(instrument_count, sizeof(int64_t));
    p->px_limit = nd_calloc(instrument_count, sizeof(int64_t));
    p->positions = nd_calloc(npos, sizeof(nd_position_t));
    p->closed_trips = nd_calloc(npos, sizeof(int64_t));
    if (!p->weights_e6 || !p->net_qty || !p->last_px || !p->value_mult || !p->net_value_mult ||
        !p->px_limit || !p->positions || !p->closed_trips) {
        nd_portfolio_destroy(p);
        return ND_ENOMEM;
    }
    p->instruments = instruments;
    p->instrument_count = instrument_count;
    p->strategy_count = strategy_count;
    memcpy(p->weights_e6, weights_e6, strategy_count * sizeof(int64_t));
    p->ext_decimals = ND_CASH_DECIMALS;
    for (uint32_t i = 0; i < instrument_count; i++) {
        int d = instruments[i].px_decimals + instruments[i].qty_decimals;
        if (d > p->ext_decimals)
            p->ext_decimals = d;
    }
    /* ext may reach 24 decimals: 10^24 does not fit an int64, so build the multipliers here. */
    p->cash_mult = 1;
    for (int k = ND_CASH_DECIMALS; k < p->ext_decimals; k++)
        p->cash_mult *= 10;
    for (uint32_t i = 0; i < instrument_count; i++)
        p->px_limit[i] = INT64_MAX;
    for (uint32_t i = 0; i < instrument_count; i++)
        p->value_mult[i] =
            nd_pow10(p->ext_decimals - instruments[i].px_decimals - instruments[i].qty_decimals);
    p->initial_cash = initial_cash;
    p->cash = initial_cash;
    p->equity_ext = (__int128)initial_cash * p->cash_mult;
    *out = p;
    return ND_OK;
}

void nd_portfolio_destroy(nd_portfolio_t *p)
{
    if (!p)
        return;
    nd_free(p->weights_e6);
    nd_free(p->net_qty);
    nd_free(p->last_px);
    nd_free(p->value_mult);
    nd_free(p->net_value_mult);
    nd_free(p->px_limit);
    nd_free(p->positions);
    nd_free(p->closed_trips);
    nd_free(p);
}

void nd_portfolio_on_trade(nd_portfolio_t *p, nd_trade_cb cb, void *ctx)
{
    ND_ASSERT(p != NULL);
    p->trade_cb = cb;
    p->trade_ctx = ctx;
}

/* Average price of value (cash units) over qty (quantity units), in price units. */
static int64_t average_px(const nd_instrument_t *inst, int64_t value, int64_t qty)
{
    if (qty == 0)
        return 0;
    int shift = inst->px_decimals + inst->qty_decimals - ND_CASH_DECIMALS;
    int64_t px = 0;
    if (nd_fixed_mul_div(value, nd_pow10(shift), qty, ND_ROUND_HALF_EVEN, &px) != ND_OK)
        return 0;
    return px;
}

static void close_trip(nd_portfolio_t *p, nd_position_t *pos, const nd_fill_t *fill, int dir)
{
    const nd_instrument_t *inst = &p->instruments[fill->instrument_id];
    nd_trade_t t = {
        .strategy_index = fill->strategy_index,
        .instrument_id = fill->instrument_id,
        .direction = dir,
        .entry_ns = pos->trip.entry_ns,
        .exit_ns = fill->ts_ns,
        .qty = pos->trip.qty_max,
        .entry_px = average_px(inst, pos->trip.entry_cost, pos->trip.entry_qty),
        .exit_px = average_px(inst, pos->trip.exit_value, pos->trip.exit_qty),
        .pnl = pos->trip.realized - pos->trip.fees,
        .fees = pos->trip.fees,
    };
    p->closed_trips[(size_t)fill->strategy_index * p->instrument_count + fill->instrument_id]++;
    if (p->trade_cb)
        p->trade_cb(p->trade_ctx, &t);
}

static void open_trip(nd_position_t *pos, int64_t ts_ns)
{
    pos->trip = (nd_position_trip_t){.entry_ns = ts_ns};
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* The part of a fill that closes existing exposure: c of its q units. Computes everything into
 * *next first so that an overflow leaves the position untouched. */
typedef struct fill_split {
    int64_t close_qty, close_value, close_cost, close_fee, realized;
} fill_split_t;

static nd_err_t split_fill(const nd_position_t *pos, const nd_fill_t *f, fill_split_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t signed_qty = f->side == ND_SIDE_BUY ? f->qty : -f->qty;
    if (pos->qty == 0 || (pos->qty > 0) == (signed_qty > 0))
        return ND_OK;
    int64_t held = abs64(pos->qty);
    out->close_qty = f->qty < held ? f->qty : held;
    nd_err_t rc = nd_fixed_mul_div(pos->cost, out->close_qty, held, ND_ROUND_HALF_EVEN,
                                   &out->close_cost);
    if (rc == ND_OK)
        rc = nd_fixed_mul_div(f->notional, out->close_qty, f->qty, ND_ROUND_HALF_EVEN,
                              &out->close_value);
    if (rc == ND_OK)
        rc = nd_fixed_mul_div(f->fee, out->close_qty, f->qty, ND_ROUND_HALF_EVEN,
                              &out->close_fee);
    if (rc != ND_OK)
        return rc;
    int64_t signed_value = pos->qty > 0 ? out->close_value : -out->close_value;
    if (__builtin_sub_overflow(signed_value, out->close_cost, &out->realized))
        return ND_EOVERFLOW;
    return ND_OK;
}

/* The highest price at which a position of abs_qty is worth at most INT64_MAX cash units
 * (px * qty <= INT64_MAX * 10^shift, so nd_notional's rounded quotient fits). */
static int64_t px_limit_for(const nd_instrument_t *inst, int64_t abs_qty)
{
    if (abs_qty == 0)
        return INT64_MAX;
    int shift = inst->px_decimals + inst->qty_decimals - ND_CASH_DECIMALS;
    __int128 limit = shift >= 0 ? (__int128)INT64_MAX * nd_pow10(shift) / abs_qty
                                : (__int128)INT64_MAX / abs_qty / nd_pow10(-shift);
    return limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/* After a fill: the mark limit of the instrument's largest position. */
static void update_px_limit(nd_portfolio_t *p, uint32_t i)
{
    int64_t m = 0;
    for (uint32_t s = 0; s < p->strategy_count; s++)
        if (abs64(pos_at(p, s, i)->qty) > m)
            m = abs64(pos_at(p, s, i)->qty);
    p->px_limit[i] = px_limit_for(&p->instruments[i], m);
}

/* A fill whose fee is partly paid in base, as the account sees it (portfolio.h): a buy of q
 * with a base fee b gives q - b for the whole notional N, a sell of q with b gives q + b for
 * N + v, and the fee grows by v = N * b / q (half-even), the base fee's value at the fill's
 * price. The cash moved is the same (N + fee on a buy, N - fee on a sell), so every invariant
 * holds as for a cash fee. ND_EINVAL when b >= q on a buy, ND_EOVERFLOW out of range. */
static nd_err_t base_fee_fill(const nd_fill_t *f, nd_fill_t *out)
{
    ND_ASSERT(f->fee_qty > 0);
    ND_ASSERT(f->qty > 0);
    *out = *f;
    out->fee_qty = 0;
    if (f->side == ND_SIDE_BUY && f->fee_qty >= f->qty)
        return ND_EINVAL;
    int64_t value = 0;
    nd_err_t rc = nd_fixed_mul_div(f->notional, f->fee_qty, f->qty, ND_ROUND_HALF_EVEN, &value);
    if (rc != ND_OK)
        return rc;
    int s = f->side == ND_SIDE_BUY ? -1 : 1;
    int ovf = __builtin_add_overflow(f->qty, s * f->fee_qty, &out->qty);
    ovf |= __builtin_add_overflow(f->notional, s * value, &out->notional);
    ovf |= __builtin_add_overflow(f->fee, value, &out->fee);
    return ovf ? ND_EOVERFLOW : ND_OK;
}

static nd_err_t book_fill(nd_portfolio_t *p, const nd_fill_t *f);

nd_err_t nd_portfolio_apply_fill(nd_portfolio_t *p, const nd_fill_t *f)
{
    ND_ASSERT(p != NULL && f != NULL);
    if (f->instrument_id >= p->instrument_count || f->strategy_index >= p->strategy_count ||
        f->qty <= 0 || f->notional < 0 || f->fee < 0 || f->fee_qty < 0)
        return ND_EINVAL;
    if (f->fee_qty == 0)
        return book_fill(p, f);
    nd_fill_t booked;
    nd_err_t rc = base_fee_fill(f, &booked);
    return rc == ND_OK ? book_fill(p, &booked) : rc;
}

/* Books a fill with every fee in cash (checked by the caller). */
static nd_err_t book_fill(nd_portfolio_t *p, const nd_fill_t *f)
{
    ND_ASSERT(f->fee_qty == 0);
    nd_position_t *pos = pos_at(p, f->strategy_index, f->instrument_id);
    fill_split_t sp;
    nd_err_t rc = split_fill(pos, f, &sp);
    if (rc != ND_OK)
        return rc;
    int s = f->side == ND_SIDE_BUY ? 1 : -1;
    int64_t open_qty = f->qty - sp.close_qty, open_value = f->notional - sp.close_value;
    int64_t cash_delta = 0, new_cash = 0, new_cost = 0, new_qty = 0, new_net = 0, new_fees = 0;
    int64_t cost_delta = s * open_value - sp.close_cost;
    int ovf = __builtin_add_overflow(s * f->notional, f->fee, &cash_delta);
    ovf |= __builtin_sub_overflow(p->cash, cash_delta, &new_cash);
    ovf |= __builtin_add_overflow(pos->cost, cost_delta, &new_cost);
    ovf |= __builtin_add_overflow(pos->qty, (int64_t)s * f->qty, &new_qty);
    ovf |= __builtin_add_overflow(p->net_qty[f->instrument_id], (int64_t)s * f->qty, &new_net);
    ovf |= __builtin_add_overflow(p->fees, f->fee, &new_fees);
    /* The invariant that keeps unrealised P&L exact: every position's value at the last mark
     * fits the cash scale. */
    if (ovf ||
        p->last_px[f->instrument_id] > px_limit_for(&p->instruments[f->instrument_id],
                                                     abs64(new_qty)))
        return ND_EOVERFLOW;
    int64_t before_qty = pos->qty;
    /* Commit. Nothing below can fail. */
    p->cash = new_cash;
    p->fees = new_fees;
    p->net_qty[f->instrument_id] = new_net;
    if (__builtin_mul_overflow(new_net, p->value_mult[f->instrument_id],
                               &p->net_value_mult[f->instrument_id]))
        p->net_value_mult[f->instrument_id] = 0; /* the mark takes the 128-bit product */
    p->equity_ext += -(__int128)cash_delta * p->cash_mult +
                     (__int128)s * f->qty * p->last_px[f->instrument_id] *
                         p->value_mult[f->instrument_id];
    pos->realized += sp.realized;
    pos->fees += f->fee;
    if (s > 0)
        pos->bought_qty += f->qty;
    else
        pos->sold_qty += f->qty;
    if (sp.close_qty > 0) {
        pos->trip.realized += sp.realized;
        pos->trip.fees += sp.close_fee;
        pos->trip.exit_value += sp.close_value;
        pos->trip.exit_qty += sp.close_qty;
        pos->qty = before_qty + s * sp.close_qty;
        if (pos->qty == 0)
            close_trip(p, pos, f, before_qty > 0 ? 1 : -1);
    }
    if (open_qty > 0) {
        if (pos->qty == 0)
            open_trip(pos, f->ts_ns);
        pos->trip.fees += f->fee - sp.close_fee;
        pos->trip.entry_cost += open_value;
        pos->trip.entry_qty += open_qty;
    }
    pos->qty = new_qty;
    pos->cost = new_cost;
    p->open_positions += (uint32_t)(new_qty != 0) - (uint32_t)(before_qty != 0);
    if (abs64(pos->qty) > pos->trip.qty_max)
        pos->trip.qty_max = abs64(pos->qty);
    ND_ASSERT(pos->qty != 0 || pos->cost == 0);
    update_px_limit(p, f->instrument_id);
    return ND_OK;
}

/* The mark's move when net_qty x value_mult does not fit an int64: three multiplications.
 * Out of line, so that the usual mark stays small enough to inline into the bar step. */
__attribute__((noinline, cold)) static void mark_wide(nd_portfolio_t *p, uint32_t instrument_id,
                                                      int64_t q, int64_t move)
{
    p->equity_ext += (__int128)q * move * p->value_mult[instrument_id];
}

/* Always inlined where the engine's bar step calls it (under LTO), as before the int64
 * product was added: a call a bar costs more than the product saves. */
__attribute__((always_inline)) inline nd_err_t nd_portfolio_mark(nd_portfolio_t *p,
                                                                 uint32_t instrument_id,
                                                                 int64_t px, int64_t *net_qty)
{
    ND_ASSERT(instrument_id < p->instrument_count);
    if (px > p->px_limit[instrument_id])
        return ND_EOVERFLOW; /* a position worth more than the cash scale holds: refused */
    int64_t prev = p->last_px[instrument_id];
    p->last_px[instrument_id] = px;
    int64_t q = p->net_qty[instrument_id];
    if (net_qty)
        *net_qty = q;
    if (q != 0) {
        /* The same exact product either way; the first is one multiplication, not three. */
        int64_t qv = p->net_value_mult[instrument_id];
        if (__builtin_expect(qv != 0, 1))
            p->equity_ext += (__int128)qv * (px - prev);
        else
            mark_wide(p, instrument_id, q, px - prev);
    }
    return ND_OK;
}

int64_t nd_portfolio_last_px(const nd_portfolio_t *p, uint32_t instrument_id)
{
    ND_ASSERT(instrument_id < p->instrument_count);
    return p->last_px[instrument_id];
}

__int128 nd_portfolio_equity_ext(const nd_portfolio_t *p)
{
    return p->equity_ext;
}

int nd_portfolio_ext_decimals(const nd_portfolio_t *p)
{
    return p->ext_decimals;
}

int64_t nd_portfolio_equity(const nd_portfolio_t *p)
{
    int64_t eq = 0;
    /* cash_mult may exceed int64 only when ext > 26 decimals, which create() refuses. */
    nd_err_t rc = nd_fixed_div128(p->equity_ext, (int64_t)p->cash_mult, ND_ROUND_HALF_EVEN, &eq);
    return rc == ND_OK ? eq : (p->equity_ext > 0 ? INT64_MAX : INT64_MIN);
}

int64_t nd_portfolio_cash(const nd_portfolio_t *p)
{
    return p->cash;
}

int64_t nd_portfolio_initial_cash(const nd_portfolio_t *p)
{
    return p->initial_cash;
}

int64_t nd_portfolio_fees(const nd_portfolio_t *p)
{
    return p->fees;
}

const nd_position_t *nd_portfolio_position(const nd_portfolio_t *p, uint32_t strategy_index,
                                           uint32_t instrument_id)
{
    return pos_at(p, strategy_index, instrument_id);
}

int64_t nd_portfolio_net_qty(const nd_portfolio_t *p, uint32_t instrument_id)
{
    ND_ASSERT(instrument_id < p->instrument_count);
    return p->net_qty[instrument_id];
}

/* Any position, also offsetting ones that net to zero: a net quantity is never non-zero
 * without some position, so the count of open positions answers (nd_portfolio_check verifies
 * it). O(1): a halted engine asks on every bar. */
bool nd_portfolio_has_positions(const nd_portfolio_t *p)
{
    return p->open_positions > 0;
}

int64_t nd_portfolio_unrealized(const nd_portfolio_t *p, uint32_t strategy_index,
                                uint32_t instrument_id)
{
    const nd_position_t *pos = pos_at(p, strategy_index, instrument_id);
    if (pos->qty == 0)
        return 0;
    int64_t value = 0;
    nd_err_t rc = nd_notional(&p->instruments[instrument_id], p->last_px[instrument_id],
                              pos->qty, &value);
    ND_ASSERT(rc == ND_OK); /* every position's value at the mark fits: mark and fills refuse
                               what would not */
    /* value and cost carry the position's sign, so their difference fits too. */
    return value - pos->cost;
}

static void add_position(const nd_portfolio_t *p, uint32_t s, uint32_t i, nd_attribution_t *a)
{
    const nd_position_t *pos = pos_at(p, s, i);
    int64_t unrealized = nd_portfolio_unrealized(p, s, i);
    a->realized += pos->realized;
    a->unrealized += unrealized;
    a->fees += pos->fees;
    a->net += pos->realized + unrealized - pos->fees;
    a->trades += p->closed_trips[(size_t)s * p->instrument_count + i];
}

void nd_portfolio_by_strategy(const nd_portfolio_t *p, uint32_t strategy_index,
                              nd_attribution_t *out)
{
    ND_ASSERT(strategy_index < p->strategy_count);
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < p->instrument_count; i++)
        add_position(p, strategy_index, i, out);
}

void nd_portfolio_by_instrument(const nd_portfolio_t *p, uint32_t instrument_id,
                                nd_attribution_t *out)
{
    ND_ASSERT(instrument_id < p->instrument_count);
    memset(out, 0, sizeof *out);
    for (uint32_t s = 0; s < p->strategy_count; s++)
        add_position(p, s, instrument_id, out);
}

void nd_portfolio_by_venue(const nd_portfolio_t *p, const char *venue, nd_attribution_t *out)
{
    ND_ASSERT(venue != NULL);
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < p->instrument_count; i++) {
        if (strcmp(p->instruments[i].venue, venue) != 0)
            continue;
        for (uint32_t s = 0; s < p->strategy_count; s++)
            add_position(p, s, i, out);
    }
}

int64_t nd_portfolio_strategy_equity(const nd_portfolio_t *p, uint32_t strategy_index)
{
    nd_attribution_t a;
    nd_portfolio_by_strategy(p, strategy_index, &a);
    int64_t sleeve = 0;
    if (nd_fixed_mul_div(p->initial_cash, p->weights_e6[strategy_index], 1000000, ND_ROUND_DOWN,
                         &sleeve) != ND_OK)
        return 0;
    return sleeve + a.net;
}

nd_err_t nd_portfolio_set_weight(nd_portfolio_t *p, uint32_t strategy_index, int64_t weight_e6)
{
    ND_ASSERT(strategy_index < p->strategy_count);
    if (weight_e6 < 0 || weight_e6 > 1000000)
        return ND_EINVAL;
    int64_t total = weight_e6;
    for (uint32_t s = 0; s < p->strategy_count; s++)
        if (s != strategy_index)
            total += p->weights_e6[s];
    if (total > 1000000)
        return ND_EINVAL;
    p->weights_e6[strategy_index] = weight_e6;
    return ND_OK;
}

int64_t nd_portfolio_weight(const nd_portfolio_t *p, uint32_t strategy_index)
{
    ND_ASSERT(strategy_index < p->strategy_count);
    return p->weights_e6[strategy_index];
}

bool nd_portfolio_check(const nd_portfolio_t *p, char *err, size_t err_len)
{
    __int128 cost = 0, realized = 0, fees = 0, value_ext = 0;
    uint32_t open = 0;
    for (uint32_t s = 0; s < p->strategy_count; s++) {
        for (uint32_t i = 0; i < p->instrument_count; i++) {
            const nd_position_t *pos = pos_at(p, s, i);
            open += pos->qty != 0;
            cost += pos->cost;
            realized += pos->realized;
            fees += pos->fees;
        }
    }
    for (uint32_t i = 0; i < p->instrument_count; i++)
        value_ext += (__int128)p->net_qty[i] * p->last_px[i] * p->value_mult[i];
    if (p->cash + cost != p->initial_cash + realized - fees) {
        snprintf(err, err_len, "cash plus cost basis does not equal initial cash plus realised "
                               "P&L minus fees");
        return false;
    }
    if (fees != p->fees) {
        snprintf(err, err_len, "position fees do not sum to the account's fees");
        return false;
    }
    if (open != p->open_positions) {
        snprintf(err, err_len, "the count of open positions is off");
        return false;
    }
    if ((__int128)p->cash * p->cash_mult + value_ext != p->equity_ext) {
        snprintf(err, err_len, "equity differs from cash plus marked positions");
        return false;
    }
    return true;
}
