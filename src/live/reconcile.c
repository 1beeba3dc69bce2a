/* reconcile.c: the local view against the venue's, as typed differences with resolutions.
 *
 * Pure logic: no I/O, no clock, no allocation. The caller fetches the venue's view, calls
 * nd_recon_compare, acts at the venue where a resolution says so (resend, cancel), records
 * every difference, and applies each with nd_recon_apply. Invariants: a trade id is booked at
 * most once; an order's filled_qty is the sum of its booked trades; a venue order that is not
 * ours is never resolved by anything but SURFACE; applying a list twice is the same as once. */
#include "noderr/reconcile.h"

#include "noderr/assert.h"

#include <string.h>

static const char *const status_names[] = {"sent",     "open",     "filled",  "cancelled",
                                           "expired",  "rejected", "dropped", "unknown"};
static const char *const kind_names[] = {"",        "never_sent", "reached",
                                         "done_at_venue", "fill_missing", "unknown_ours",
                                         "foreign", "vanished", "balance"};
static const char *const resolution_names[] = {"",      "resend", "drop",    "book",
                                               "adopt", "cancel", "surface", "halt"};

const char *nd_recon_status_name(nd_recon_status_t status)
{
    return (unsigned)status < 8 ? status_names[status] : "?";
}

const char *nd_recon_kind_name(nd_recon_kind_t kind)
{
    return kind >= 1 && kind <= 8 ? kind_names[kind] : "?";
}

const char *nd_recon_resolution_name(nd_recon_resolution_t resolution)
{
    return resolution >= 1 && resolution <= 7 ? resolution_names[resolution] : "?";
}

bool nd_recon_status_done(nd_recon_status_t status)
{
    return status == ND_RECON_FILLED || status == ND_RECON_CANCELLED ||
           status == ND_RECON_EXPIRED || status == ND_RECON_REJECTED ||
           status == ND_RECON_DROPPED;
}

void nd_recon_policy_default(nd_recon_policy_t *policy)
{
    ND_ASSERT(policy != NULL);
    policy->never_sent = ND_RESOLVE_DROP;
    policy->unknown_ours = ND_RESOLVE_CANCEL;
    policy->balance = ND_RESOLVE_HALT;
}

nd_recon_order_t *nd_recon_find(nd_recon_local_t *local, const char *clid)
{
    ND_ASSERT(local != NULL && clid != NULL);
    for (uint32_t i = 0; i < local->order_count; i++)
        if (strcmp(local->orders[i].clid, clid) == 0)
            return &local->orders[i];
    return NULL;
}

static const nd_recon_order_t *find_const(const nd_recon_local_t *local, const char *clid)
{
    return nd_recon_find((nd_recon_local_t *)local, clid);
}

/* The booked key of a trade: its id and side. A trade between two orders of the same account
 * (a self-trade) is listed twice by myTrades with one id, once as buyer and once as seller. */
static int64_t trade_key(int64_t trade_id, nd_side_t side)
{
    return trade_id * 2 + (side == ND_SIDE_BUY);
}

/* Index of the first booked key >= key. */
static uint32_t booked_lower(const nd_recon_local_t *local, int64_t key)
{
    uint32_t lo = 0, hi = local->booked_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (local->booked[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool nd_recon_booked(const nd_recon_local_t *local, int64_t trade_id, nd_side_t side)
{
    int64_t key = trade_key(trade_id, side);
    uint32_t i = booked_lower(local, key);
    return i < local->booked_count && local->booked[i] == key;
}

nd_err_t nd_recon_balance_add(nd_recon_local_t *local, const char *asset, int64_t amount)
{
    ND_ASSERT(asset != NULL && asset[0]);
    for (uint32_t i = 0; i < local->balance_count; i++)
        if (strcmp(local->balances[i].asset, asset) == 0) {
            local->balances[i].amount += amount;
            return ND_OK;
        }
    if (local->balance_count == ND_RECON_ASSETS_MAX)
        return ND_EFULL;
    nd_recon_asset_t *a = &local->balances[local->balance_count++];
    memset(a, 0, sizeof *a);
    strncpy(a->asset, asset, sizeof a->asset - 1);
    a->amount = amount;
    return ND_OK;
}

/* The balance moves of a trade in its base and quote: the commission is charged in its
 * commission asset (Binance: the asset received, unless the account pays in BNB; "" in
 * journals written before the asset was kept means the asset received). A commission in a
 * third asset moves neither: that balance is not the instrument's, and the venue view holds
 * base and quote only. */
static void trade_moves(const nd_recon_trade_t *t, const nd_recon_instrument_t *inst,
                        int64_t *base, int64_t *quote)
{
    *base = t->side == ND_SIDE_BUY ? t->qty : -t->qty;
    *quote = t->side == ND_SIDE_BUY ? -t->quote_qty : t->quote_qty;
    const char *asset = t->commission_asset;
    if (asset[0] == '\0')
        asset = t->side == ND_SIDE_BUY ? inst->base : inst->quote;
    if (strcmp(asset, inst->base) == 0)
        *base -= t->commission;
    else if (strcmp(asset, inst->quote) == 0)
        *quote -= t->commission;
}

/* Forgets booked keys of trades before the last trade id: the venue is only ever asked for
 * trades from last_trade_id on, so older keys can never be looked up again. */
static void compact_booked(nd_recon_local_t *local)
{
    uint32_t first = booked_lower(local, trade_key(local->last_trade_id, ND_SIDE_SELL));
    memmove(&local->booked[0], &local->booked[first],
            (local->booked_count - first) * sizeof local->booked[0]);
    local->booked_count -= first;
}

uint32_t nd_recon_local_compact(nd_recon_local_t *local, uint32_t *map)
{
    ND_ASSERT(local != NULL);
    uint32_t kept = 0, count = local->order_count;
    for (uint32_t i = 0; i < count; i++) {
        bool drop = nd_recon_status_done(local->orders[i].status);
        if (map)
            map[i] = drop ? UINT32_MAX : kept;
        if (!drop)
            local->orders[kept++] = local->orders[i];
    }
    memset(&local->orders[kept], 0, (count - kept) * sizeof local->orders[0]);
    local->order_count = kept;
    return count - kept;
}

/* A trade's instrument in the table: a table of one is a leg's own (an order adapter's view
 * holds one symbol, whatever its instrument id in the session: a session's second symbol, or
 * its second venue's), else by id; NULL when the id is not in the table. */
static const nd_recon_instrument_t *instrument_of(const nd_recon_instrument_t *instruments,
                                                  uint32_t instrument_count, uint32_t id)
{
    if (instrument_count == 1)
        return &instruments[0];
    return id < instrument_count ? &instruments[id] : NULL;
}

nd_err_t nd_recon_book_trade(nd_recon_local_t *local, const nd_recon_trade_t *trade,
                             const nd_recon_instrument_t *instruments, uint32_t instrument_count)
{
    ND_ASSERT(local != NULL && trade != NULL);
    ND_ASSERT(trade->trade_id > 0);
    if (nd_recon_booked(local, trade->trade_id, trade->side))
        return ND_EEXIST;
    const nd_recon_instrument_t *inst = instrument_of(instruments, instrument_count,
                                                      trade->instrument_id);
    if (!inst)
        return ND_EINVAL;
    if (local->booked_count == sizeof local->booked / sizeof local->booked[0])
        compact_booked(local);
    if (local->booked_count == sizeof local->booked / sizeof local->booked[0])
        return ND_EFULL;
    int64_t base, quote;
    trade_moves(trade, inst, &base, &quote);
    if (nd_recon_balance_add(local, inst->base, base) != ND_OK ||
        nd_recon_balance_add(local, inst->quote, quote) != ND_OK)
        return ND_EFULL;
    int64_t key = trade_key(trade->trade_id, trade->side);
    uint32_t at = booked_lower(local, key);
    memmove(&local->booked[at + 1], &local->booked[at],
            (local->booked_count - at) * sizeof local->booked[0]);
    local->booked[at] = key;
    local->booked_count++;
    if (trade->trade_id > local->last_trade_id)
        local->last_trade_id = trade->trade_id;
    nd_recon_order_t *o = trade->clid[0] ? nd_recon_find(local, trade->clid) : NULL;
    if (o)
        o->filled_qty += trade->qty;
    return ND_OK;
}

/* ---- compare ------------------------------------------------------------------------------ */

typedef struct diffs {
    nd_recon_diff_t *out;
    size_t cap, count;
    bool full;
} diffs_t;

static nd_recon_diff_t *push(diffs_t *d, nd_recon_kind_t kind, nd_recon_resolution_t resolution)
{
    if (d->count == d->cap) {
        d->full = true;
        return NULL;
    }
    nd_recon_diff_t *x = &d->out[d->count++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->resolution = resolution;
    return x;
}

static const nd_recon_order_t *venue_find(const nd_recon_venue_t *v, const char *clid)
{
    for (uint32_t i = 0; i < v->open_count; i++)
        if (strcmp(v->open[i].clid, clid) == 0)
            return &v->open[i];
    for (uint32_t i = 0; i < v->queried_count; i++)
        if (strcmp(v->queried[i].clid, clid) == 0)
            return &v->queried[i];
    return NULL;
}

/* The differences of one local order against what the venue says of it. */
static void compare_local(const nd_recon_order_t *lo, const nd_recon_venue_t *v,
                          const nd_recon_policy_t *policy, diffs_t *d)
{
    const nd_recon_order_t *vo = venue_find(v, lo->clid);
    if (!vo)
        return; /* the venue was not asked: nothing known */
    nd_recon_diff_t *x = NULL;
    bool unanswered = lo->status == ND_RECON_SENT || lo->status == ND_RECON_DROPPED;
    if (vo->status == ND_RECON_UNKNOWN) {
        if (lo->status == ND_RECON_SENT)
            x = push(d, ND_RECON_NEVER_SENT, policy->never_sent);
        else if (lo->status == ND_RECON_OPEN)
            x = push(d, ND_RECON_VANISHED, ND_RESOLVE_BOOK);
        if (x) {
            x->order = *lo;
            x->order.status = lo->status == ND_RECON_OPEN ? ND_RECON_CANCELLED : lo->status;
        }
        return;
    }
    if (unanswered)
        x = push(d, ND_RECON_REACHED, ND_RESOLVE_BOOK);
    else if (lo->status == ND_RECON_OPEN && vo->status != ND_RECON_OPEN)
        x = push(d, ND_RECON_DONE_AT_VENUE, ND_RESOLVE_BOOK);
    if (x)
        x->order = *vo;
}

/* The clid a trade belongs to: its own, else the order with its venue id in either view. */
static void trade_clid(const nd_recon_local_t *local, const nd_recon_venue_t *v,
                       nd_recon_trade_t *t)
{
    if (t->clid[0])
        return;
    for (uint32_t i = 0; i < local->order_count; i++)
        if (local->orders[i].venue_id == t->venue_order_id)
            memcpy(t->clid, local->orders[i].clid, sizeof t->clid);
    for (uint32_t i = 0; !t->clid[0] && i < v->open_count; i++)
        if (v->open[i].venue_id == t->venue_order_id)
            memcpy(t->clid, v->open[i].clid, sizeof t->clid);
    for (uint32_t i = 0; !t->clid[0] && i < v->queried_count; i++)
        if (v->queried[i].venue_id == t->venue_order_id)
            memcpy(t->clid, v->queried[i].clid, sizeof t->clid);
}

static void compare_orders(const nd_recon_local_t *local, const nd_recon_venue_t *v,
                           const char *tag, const nd_recon_policy_t *policy, diffs_t *d)
{
    for (uint32_t i = 0; i < local->order_count; i++)
        compare_local(&local->orders[i], v, policy, d);
    for (uint32_t i = 0; i < v->open_count; i++) {
        const nd_recon_order_t *vo = &v->open[i];
        if (find_const(local, vo->clid))
            continue;
        bool ours = nd_clid_parse(tag, vo->clid, NULL, NULL, NULL) == ND_OK;
        nd_recon_diff_t *x = ours ? push(d, ND_RECON_UNKNOWN_OURS, policy->unknown_ours)
                                  : push(d, ND_RECON_FOREIGN, ND_RESOLVE_SURFACE);
        if (x)
            x->order = *vo;
    }
}

static int64_t asset_amount(const nd_recon_asset_t *a, uint32_t n, const char *asset)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(a[i].asset, asset) == 0)
            return a[i].amount;
    return 0;
}

/* The slot of asset in sheet[0..*n), added with amount 0 when absent (NULL when full). */
static nd_recon_asset_t *sheet_slot(nd_recon_asset_t *sheet, uint32_t *n, uint32_t cap,
                                    const char *asset)
{
    for (uint32_t i = 0; i < *n; i++)
        if (strcmp(sheet[i].asset, asset) == 0)
            return &sheet[i];
    if (*n == cap)
        return NULL;
    nd_recon_asset_t *a = &sheet[(*n)++];
    memset(a, 0, sizeof *a);
    strncpy(a->asset, asset, sizeof a->asset - 1);
    return a;
}

/* Balances: the local ones moved by the trades about to be booked, against the venue's, over
 * the union of assets. */
static void compare_balances(const nd_recon_local_t *local, const nd_recon_venue_t *v,
                             const nd_recon_instrument_t *insts, uint32_t inst_count,
                             const nd_recon_policy_t *policy, diffs_t *d)
{
    enum { CAP = ND_RECON_ASSETS_MAX * 2 };
    nd_recon_asset_t sheet[CAP], *slot;
    uint32_t n = 0;
    for (uint32_t i = 0; i < local->balance_count; i++)
        if ((slot = sheet_slot(sheet, &n, CAP, local->balances[i].asset)) != NULL)
            slot->amount = local->balances[i].amount;
    for (size_t k = 0; k < d->count; k++) {
        const nd_recon_trade_t *t = &d->out[k].trade;
        const nd_recon_instrument_t *inst = instrument_of(insts, inst_count, t->instrument_id);
        if (d->out[k].kind != ND_RECON_FILL_MISSING || !inst)
            continue;
        int64_t base, quote;
        trade_moves(t, inst, &base, &quote);
        if ((slot = sheet_slot(sheet, &n, CAP, inst->base)) != NULL)
            slot->amount += base;
        if ((slot = sheet_slot(sheet, &n, CAP, inst->quote)) != NULL)
            slot->amount += quote;
    }
    for (uint32_t i = 0; i < v->balance_count; i++)
        (void)sheet_slot(sheet, &n, CAP, v->balances[i].asset);
    for (uint32_t i = 0; i < n; i++) {
        int64_t want = asset_amount(v->balances, v->balance_count, sheet[i].asset);
        if (want == sheet[i].amount)
            continue;
        nd_recon_diff_t *x = push(d, ND_RECON_BALANCE, policy->balance);
        if (x) {
            x->local = sheet[i];
            x->venue = sheet[i];
            x->venue.amount = want;
        }
    }
}

nd_err_t nd_recon_compare(const nd_recon_local_t *local, const nd_recon_venue_t *venue,
                          const char *tag, const nd_recon_instrument_t *instruments,
                          uint32_t instrument_count, const nd_recon_policy_t *policy,
                          nd_recon_diff_t *out, size_t cap, size_t *count)
{
    ND_ASSERT(local != NULL && venue != NULL && policy != NULL);
    ND_ASSERT(out != NULL && count != NULL);
    diffs_t d = {.out = out, .cap = cap};
    compare_orders(local, venue, tag, policy, &d);
    for (uint32_t i = 0; i < venue->trade_count; i++) {
        const nd_recon_trade_t *t = &venue->trades[i];
        ND_ASSERT(t->trade_id > 0);
        bool seen = nd_recon_booked(local, t->trade_id, t->side);
        for (size_t k = 0; k < d.count && !seen; k++)
            seen = d.out[k].kind == ND_RECON_FILL_MISSING &&
                   d.out[k].trade.trade_id == t->trade_id && d.out[k].trade.side == t->side;
        if (seen)
            continue;
        nd_recon_diff_t *x = push(&d, ND_RECON_FILL_MISSING, ND_RESOLVE_BOOK);
        if (!x)
            break;
        x->trade = *t;
        trade_clid(local, venue, &x->trade);
    }
    if (local->has_balances && venue->has_balances && !d.full)
        compare_balances(local, venue, instruments, instrument_count, policy, &d);
    *count = d.count;
    return d.full ? ND_EFULL : ND_OK;
}

/* ---- apply -------------------------------------------------------------------------------- */

static nd_err_t adopt_order(nd_recon_local_t *local, const nd_recon_order_t *vo)
{
    nd_recon_order_t *lo = nd_recon_find(local, vo->clid);
    if (lo) {
        lo->status = vo->status;
        lo->venue_id = vo->venue_id;
        return ND_OK;
    }
    if (local->order_count == ND_RECON_ORDERS_MAX)
        return ND_EFULL;
    lo = &local->orders[local->order_count++];
    *lo = *vo;
    lo->filled_qty = 0; /* fills arrive as trades, each booked once */
    lo->cancel_sent = false;
    return ND_OK;
}

nd_err_t nd_recon_apply(nd_recon_local_t *local, const nd_recon_diff_t *diff,
                        const nd_recon_instrument_t *instruments, uint32_t instrument_count)
{
    ND_ASSERT(local != NULL && diff != NULL);
    ND_ASSERT(diff->kind >= ND_RECON_NEVER_SENT && diff->kind <= ND_RECON_BALANCE);
    switch (diff->resolution) {
    case ND_RESOLVE_DROP: {
        nd_recon_order_t *lo = nd_recon_find(local, diff->order.clid);
        if (lo && lo->status == ND_RECON_SENT)
            lo->status = ND_RECON_DROPPED;
        return ND_OK;
    }
    case ND_RESOLVE_BOOK:
        if (diff->kind == ND_RECON_FILL_MISSING) {
            nd_err_t rc = nd_recon_book_trade(local, &diff->trade, instruments, instrument_count);
            return rc == ND_EEXIST ? ND_OK : rc;
        }
        return adopt_order(local, &diff->order);
    case ND_RESOLVE_ADOPT:
        if (diff->kind == ND_RECON_BALANCE) {
            int64_t have = asset_amount(local->balances, local->balance_count, diff->venue.asset);
            return nd_recon_balance_add(local, diff->venue.asset, diff->venue.amount - have);
        }
        return adopt_order(local, &diff->order);
    default:
        return ND_OK; /* RESEND, CANCEL, SURFACE, HALT: acted on at the venue, not here */
    }
}
