/* xsim_exchange.c: the simulated exchange: the book, its market source and the user account.
 *
 * The market source (the synthetic L2 market for now) is replayed into the book as resting
 * orders of the market account: a level update sets the market's quantity at a price, a trade
 * becomes a market taker that matches with price-time priority, so a user order queued ahead
 * of the market at a level is filled first. The user account has one free and one locked
 * balance per asset; an order locks what it may spend (quote for a buy at its limit, base for a
 * sell), each fill moves the balances and charges the commission in the asset received. */
#include "noderr/xsim.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/binance.h"
#include "noderr/book.h"
#include "noderr/log.h"
#include "noderr/venue.h"

#include <stdio.h>
#include <string.h>

/* A replayed file: a tick source or a depth session, and its next event. */
typedef struct replay_file {
    char *path;
    nd_tick_source_t *src;
    nd_depth_session_t *depth;
    nd_tick_event_t head;
    bool has_head, done;
} replay_file_t;

struct nd_xsim {
    nd_xsim_config_t cfg;
    nd_binance_filters_t filters;
    nd_xsim_book_t *book;
    nd_synth_ticks_t *synth;
    replay_file_t files[3];     /* trades, quotes, depth: sources 0, 1, 2 as given */
    int file_count;
    int64_t loop_shift_ns;      /* added to replayed times after each --loop restart */
    int64_t first_ts, last_ts;  /* of the current pass of the replay */
    char source_err[256];
    nd_tick_event_t pending;
    bool has_pending, eof;
    int64_t update_id;
    int64_t wall_origin_ns, market_origin_ns, market_ns;
    nd_xsim_listener_t listener;
    bool has_listener;
    int64_t fault_rejects, fault_code, stale_until_ns;
    bool fault_partial;
    /* Market-event faults (nd_xsim_fault_crash, nd_xsim_fault_thin): a price path applied to
     * the market source's prices, and a thinned, widened book; wall_ns is the advance's. */
    bool crash_on, thin_on;
    int64_t crash_start_ns, crash_ms, crash_pct, wall_ns, crash_book_ppm;
    int64_t thin_depth_pct, thin_spread_x, thin_mid;
    bool held;                  /* a replay waits for its first stream client (nd_xsim_start) */
    bool replays_quotes;        /* bookTicker rows make the market's top */
    nd_xsim_user_order_t *orders;
    size_t order_count, order_cap;
    nd_xsim_trade_t *trades;
    size_t trade_count, trade_cap;
    int64_t base_free, base_locked, quote_free, quote_locked;
    int64_t now_ns;     /* the time of the event being applied, for fills */
    nd_err_t fill_err;  /* out of memory while recording a trade */
};

static void make_filters(const nd_instrument_t *inst, nd_binance_filters_t *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->symbol, sizeof f->symbol, "%.15s%.15s", inst->base, inst->quote);
    f->trading = true;
    f->min_price = inst->tick_size;
    f->tick_size = inst->tick_size;
    f->min_qty = inst->lot_size;
    f->max_qty = 9000 * nd_pow10(inst->qty_decimals);
    f->step_size = inst->lot_size;
    f->min_notional = inst->min_notional;
    f->min_notional_market = true;
}

/* ---- The market source -------------------------------------------------------------------- */

static nd_err_t reopen(nd_xsim_t *x, replay_file_t *f, bool depth, char *err, size_t err_len)
{
    return depth ? nd_depth_session_open(f->path, &x->cfg.inst, &f->depth, err, err_len)
                 : nd_ticks_open(f->path, ND_TICK_FORMAT_AUTO, &x->cfg.inst, &f->src, err, err_len);
}

static nd_err_t open_file(nd_xsim_t *x, const char *path, bool depth, char *err, size_t err_len)
{
    replay_file_t *f = &x->files[x->file_count];
    memset(f, 0, sizeof *f);
    f->path = nd_strdup(path);
    if (!f->path)
        return ND_ENOMEM;
    x->file_count++;
    return reopen(x, f, depth, err, err_len);
}

static void close_file(replay_file_t *f)
{
    if (f->src)
        nd_ticks_close(f->src);
    if (f->depth)
        nd_depth_session_close(f->depth);
    f->src = NULL;
    f->depth = NULL;
}

/* The file's next event; its error text when it stops on a bad row. */
static nd_err_t file_next(replay_file_t *f, nd_tick_event_t *out, const char **why)
{
    nd_err_t rc = f->depth ? nd_depth_session_next(f->depth, out) : nd_ticks_next(f->src, out);
    *why = f->depth ? nd_depth_session_error(f->depth) : nd_ticks_error(f->src);
    return rc;
}

static nd_err_t open_source(nd_xsim_t *x, const nd_xsim_replay_t *r, char *err, size_t err_len)
{
    if (!r->trades_path && !r->quotes_path && !r->depth_dir)
        return nd_synth_ticks_open(&x->cfg.synth, &x->cfg.inst, &x->synth, err, err_len);
    nd_err_t rc = ND_OK;
    if (r->trades_path)
        rc = open_file(x, r->trades_path, false, err, err_len);
    if (rc == ND_OK && r->quotes_path)
        rc = open_file(x, r->quotes_path, false, err, err_len);
    if (rc == ND_OK && r->depth_dir)
        rc = open_file(x, r->depth_dir, true, err, err_len);
    return rc;
}

/* Starts every file again (--loop), times shifted past the last event of this pass. */
static bool restart_files(nd_xsim_t *x)
{
    char err[256];
    for (int i = 0; i < x->file_count; i++) {
        replay_file_t *f = &x->files[i];
        bool depth = f->depth != NULL;
        close_file(f);
        f->has_head = f->done = false;
        if (reopen(x, f, depth, err, sizeof err) != ND_OK) {
            snprintf(x->source_err, sizeof x->source_err, "%s", err);
            return false;
        }
    }
    x->loop_shift_ns = x->last_ts + ND_NS_PER_MS - x->first_ts;
    return true;
}

/* The earliest head of the files (source 0 first on equal times); ND_EEOF when all ended. */
static nd_err_t next_file_event(nd_xsim_t *x, nd_tick_event_t *out, bool may_loop)
{
    int best = -1;
    for (int i = 0; i < x->file_count; i++) {
        replay_file_t *f = &x->files[i];
        if (!f->has_head && !f->done && (f->src || f->depth)) {
            const char *why = "";
            nd_err_t rc = file_next(f, &f->head, &why);
            f->has_head = rc == ND_OK;
            f->done = rc != ND_OK;
            if (rc != ND_OK && rc != ND_EEOF && !x->source_err[0]) {
                snprintf(x->source_err, sizeof x->source_err, "%s", why);
                ND_LOG(ND_LOG_ERR, "xsim replay stopped: %s", x->source_err);
            }
        }
        if (f->has_head && (best < 0 || nd_tick_ts(&f->head) < nd_tick_ts(&x->files[best].head)))
            best = i;
    }
    if (best < 0) {
        if (may_loop && x->cfg.replay.loop && !x->source_err[0] && x->last_ts && restart_files(x))
            return next_file_event(x, out, false);
        return ND_EEOF;
    }
    *out = x->files[best].head;
    x->files[best].has_head = false;
    if (!x->first_ts && !x->loop_shift_ns)
        x->first_ts = nd_tick_ts(out);
    out->u.trade.ts_ns += x->loop_shift_ns; /* ts_ns opens every tick payload (ticks.h) */
    x->last_ts = nd_tick_ts(out);
    return ND_OK;
}

/* Makes x->pending the next market event; false at the end of the source. */
static bool fetch_pending(nd_xsim_t *x)
{
    if (x->has_pending)
        return true;
    if (x->eof)
        return false;
    nd_err_t rc = x->synth ? nd_synth_ticks_next(x->synth, &x->pending)
                           : next_file_event(x, &x->pending, true);
    x->has_pending = rc == ND_OK;
    x->eof = rc != ND_OK;
    return x->has_pending;
}

/* ---- Listener ------------------------------------------------------------------------------- */

static void note_level(nd_xsim_t *x, nd_side_t side, int64_t px)
{
    if (x->has_listener && x->listener.level_cb)
        x->listener.level_cb(x->listener.ctx, side, px);
}

static void note_update(nd_xsim_t *x, unsigned flags)
{
    x->update_id++;
    if (x->has_listener && x->listener.update_cb)
        x->listener.update_cb(x->listener.ctx, x->update_id, x->market_ns, flags);
}

static void note_order(nd_xsim_t *x, const nd_xsim_user_order_t *o, const char *exec,
                       const nd_xsim_trade_t *fill)
{
    if (x->has_listener && x->listener.order_cb)
        x->listener.order_cb(x->listener.ctx, o, exec, fill);
}

static void note_trade(nd_xsim_t *x, const nd_xsim_public_trade_t *t)
{
    if (x->has_listener && x->listener.trade_cb)
        x->listener.trade_cb(x->listener.ctx, t);
}

void nd_xsim_set_listener(nd_xsim_t *x, const nd_xsim_listener_t *listener)
{
    ND_ASSERT(x != NULL);
    x->has_listener = listener != NULL;
    if (listener)
        x->listener = *listener;
}

nd_err_t nd_xsim_create(const nd_xsim_config_t *cfg, int64_t now_ns, nd_xsim_t **out, char *err,
                        size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    if (cfg->inst.px_decimals != 8 || cfg->inst.qty_decimals != 8) {
        snprintf(err, err_len, "the instrument must use 8 price and 8 quantity decimals");
        return ND_EINVAL;
    }
    if (cfg->fee_bps < 0 || cfg->fee_bps > 10000 || cfg->quote_balance < 0 || cfg->base_balance < 0) {
        snprintf(err, err_len, "fee or starting balance out of range");
        return ND_EINVAL;
    }
    nd_xsim_t *x = nd_calloc(1, sizeof *x);
    if (!x || nd_xsim_book_create(&x->book) != ND_OK) {
        nd_free(x);
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    x->cfg = *cfg;
    x->cfg.synth.start_ns = now_ns;
    /* borrowed: open_source copies the paths */
    x->cfg.replay.trades_path = x->cfg.replay.quotes_path = x->cfg.replay.depth_dir = NULL;
    x->replays_quotes = cfg->replay.quotes_path != NULL;
    if (x->cfg.replay.speed_e3 <= 0)
        x->cfg.replay.speed_e3 = 1000;
    make_filters(&cfg->inst, &x->filters);
    nd_err_t rc = open_source(x, &cfg->replay, err, err_len);
    if (rc != ND_OK) {
        nd_xsim_destroy(x);
        return rc;
    }
    x->quote_free = cfg->quote_balance;
    x->base_free = cfg->base_balance;
    x->wall_origin_ns = now_ns;
    x->market_origin_ns = x->market_ns = now_ns;
    if (x->file_count > 0) { /* the recording's clock starts at its first event */
        if (fetch_pending(x))
            x->market_origin_ns = x->market_ns = nd_tick_ts(&x->pending);
        else
            x->eof = true;
        x->held = !cfg->replay.start_now;
    }
    nd_xsim_advance(x, now_ns);
    *out = x;
    return ND_OK;
}

void nd_xsim_destroy(nd_xsim_t *x)
{
    if (!x)
        return;
    if (x->synth)
        nd_synth_ticks_close(x->synth);
    for (int i = 0; i < x->file_count; i++) {
        close_file(&x->files[i]);
        nd_free(x->files[i].path);
    }
    nd_xsim_book_destroy(x->book);
    nd_free(x->orders);
    nd_free(x->trades);
    nd_free(x);
}

const nd_xsim_config_t *nd_xsim_config(const nd_xsim_t *x)
{
    return &x->cfg;
}

static int64_t commission_of(const nd_xsim_t *x, int64_t amount)
{
    int64_t c = 0;
    ND_ASSERT(nd_fixed_mul_div(amount, x->cfg.fee_bps, 10000, ND_ROUND_UP, &c) == ND_OK);
    return c;
}

static int64_t notional_of(const nd_xsim_t *x, int64_t px, int64_t qty)
{
    int64_t n = 0;
    ND_ASSERT(nd_notional(&x->cfg.inst, px, qty, &n) == ND_OK);
    return n;
}

/* Releases what an order still has locked back to free. */
static void unlock_rest(nd_xsim_t *x, nd_xsim_user_order_t *o)
{
    if (o->side == ND_SIDE_BUY) {
        x->quote_locked -= o->locked;
        x->quote_free += o->locked;
    } else {
        x->base_locked -= o->locked;
        x->base_free += o->locked;
    }
    o->locked = 0;
}

static void record_trade(nd_xsim_t *x, const nd_xsim_trade_t *t)
{
    nd_xsim_trade_t *e = nd_array_push(&x->trades, &x->trade_cap, &x->trade_count, sizeof *e, 64);
    if (!e) {
        x->fill_err = ND_ENOMEM;
        return;
    }
    *e = *t;
}

static void user_fill(nd_xsim_t *x, int64_t order_id, bool is_maker, const nd_xsim_fill_t *f)
{
    ND_ASSERT(order_id >= 1 && (size_t)order_id <= x->order_count);
    nd_xsim_user_order_t *o = &x->orders[order_id - 1];
    int64_t notional = notional_of(x, f->px, f->qty);
    nd_xsim_trade_t t = {.id = f->trade_id, .order_id = o->id, .px = f->px, .qty = f->qty,
                         .quote_qty = notional, .is_buyer = o->side == ND_SIDE_BUY,
                         .is_maker = is_maker, .time_ns = x->now_ns};
    if (o->side == ND_SIDE_BUY && x->cfg.fee_in_quote) {
        /* Coinbase: the buyer pays notional plus fee in quote (the lock held both). */
        int64_t want = o->px ? notional_of(x, o->px, f->qty) : notional;
        want += commission_of(x, want);
        int64_t release = want < o->locked ? want : o->locked;
        t.commission = commission_of(x, notional);
        o->locked -= release;
        x->quote_locked -= release;
        x->quote_free += release - notional - t.commission;
        x->base_free += f->qty;
    } else if (o->side == ND_SIDE_BUY) {
        int64_t want = o->px ? notional_of(x, o->px, f->qty) : notional;
        int64_t release = want < o->locked ? want : o->locked;
        o->locked -= release;
        x->quote_locked -= release;
        x->quote_free += release - notional;
        t.commission = commission_of(x, f->qty);
        t.commission_in_base = true;
        x->base_free += f->qty - t.commission;
    } else {
        ND_ASSERT(o->locked >= f->qty);
        o->locked -= f->qty;
        x->base_locked -= f->qty;
        t.commission = commission_of(x, notional);
        x->quote_free += notional - t.commission;
    }
    o->executed_qty += f->qty;
    o->cum_quote += notional;
    o->update_ns = x->now_ns;
    ND_ASSERT(o->executed_qty <= o->orig_qty);
    o->status = o->executed_qty == o->orig_qty ? ND_XSIM_FILLED : ND_XSIM_PARTIALLY_FILLED;
    if (o->status == ND_XSIM_FILLED)
        unlock_rest(x, o);
    record_trade(x, &t);
    note_order(x, o, "TRADE", &t);
}

static void on_fill(void *ctx, const nd_xsim_fill_t *f)
{
    nd_xsim_t *x = ctx;
    note_level(x, f->maker.side, f->px);
    if (f->maker.account == ND_XSIM_ACCOUNT_USER)
        user_fill(x, f->maker.id, true, f);
    if (f->taker_account == ND_XSIM_ACCOUNT_USER)
        user_fill(x, f->taker_id, false, f);
    /* Fills of the user's orders are public trades too (a market-source trade is published
     * from the event itself). */
    nd_xsim_public_trade_t t = {.id = f->trade_id, .px = f->px, .qty = f->qty, .ts_ns = x->now_ns,
                                .buyer_is_maker = f->maker.side == ND_SIDE_BUY};
    note_trade(x, &t);
}

/* Removes the market account's orders of a side, all of them or those not at keep_px. */
static void clear_market_side(nd_xsim_t *x, nd_side_t side, int64_t keep_px)
{
    for (size_t i = nd_xsim_book_count(x->book, side); i-- > 0;) {
        const nd_xsim_order_t *o = nd_xsim_book_at(x->book, side, i);
        if (o->account == ND_XSIM_ACCOUNT_MARKET && o->px != keep_px) {
            note_level(x, side, o->px);
            ND_ASSERT(nd_xsim_book_cancel(x->book, o->id, NULL) == ND_OK);
        }
    }
}

/* A top-of-book quote: the market's liquidity is that one level a side. */
static void apply_quote(nd_xsim_t *x, const nd_quote_tick_t *q)
{
    clear_market_side(x, ND_SIDE_BUY, q->bid_px);
    clear_market_side(x, ND_SIDE_SELL, q->ask_px);
    note_level(x, ND_SIDE_BUY, q->bid_px);
    note_level(x, ND_SIDE_SELL, q->ask_px);
    (void)nd_xsim_book_set_level(x->book, ND_SIDE_BUY, q->bid_px, q->bid_qty, on_fill, x);
    (void)nd_xsim_book_set_level(x->book, ND_SIDE_SELL, q->ask_px, q->ask_qty, on_fill, x);
}

/* A market-source trade: a market taker at the trade's price. The levels it may consume are
 * noted first (the market trading with itself is not reported by the book). */
static void apply_trade(nd_xsim_t *x, const nd_trade_tick_t *t)
{
    nd_side_t opp = t->aggressor == ND_SIDE_BUY ? ND_SIDE_SELL : ND_SIDE_BUY;
    int64_t last_px = 0;
    for (size_t i = 0; i < nd_xsim_book_count(x->book, opp); i++) {
        int64_t px = nd_xsim_book_at(x->book, opp, i)->px;
        if (opp == ND_SIDE_SELL ? px > t->px : px < t->px)
            break;
        if (px != last_px)
            note_level(x, opp, px);
        last_px = px;
    }
    nd_xsim_order_t taker = {.id = 0, .account = ND_XSIM_ACCOUNT_MARKET, .side = t->aggressor,
                             .px = t->px, .qty = t->qty};
    int64_t filled = 0;
    nd_xsim_book_match(x->book, &taker, &filled, on_fill, x);
    /* One sequence for every print, the users' fills included: a recording's id while it fits
     * (the synthetic market's ids number all its events, not its trades). */
    int64_t recorded = x->synth ? 0 : t->trade_id;
    nd_xsim_public_trade_t pt = {.id = nd_xsim_book_take_trade_id(x->book, recorded),
                                 .px = t->px,
                                 .qty = t->qty, .ts_ns = t->ts_ns,
                                 .buyer_is_maker = t->aggressor == ND_SIDE_SELL};
    note_trade(x, &pt);
}

/* The crash path's price multiplier, in millionths: down to 1 + pct/100 over crash_ms, then
 * half of the fall back over the next crash_ms, then held there. */
static int64_t crash_ppm(const nd_xsim_t *x)
{
    int64_t t = x->wall_ns - x->crash_start_ns, ms = x->crash_ms * ND_NS_PER_MS;
    int64_t low = 1000000 + x->crash_pct * 10000, part = 1000000 + x->crash_pct * 5000;
    if (!x->crash_on || t <= 0)
        return 1000000;
    if (t < ms)
        return 1000000 + (low - 1000000) * t / ms;
    if (t < 2 * ms)
        return low + (part - low) * (t - ms) / ms;
    return part;
}

/* A market price under the faults: scaled by the crash path, and with the book thinned, its
 * distance from the mid at the fault's start multiplied (side -1 bid, +1 ask). On a tick. */
static int64_t fault_px(const nd_xsim_t *x, int64_t px, int side)
{
    int64_t tick = x->cfg.inst.tick_size;
    __int128 v = (__int128)px * crash_ppm(x) / 1000000;
    if (x->thin_on && side != 0)
        v = x->thin_mid + (v - x->thin_mid) * x->thin_spread_x;
    int64_t r = (int64_t)(v / tick * tick);
    return r < tick ? tick : r;
}

static int64_t fault_qty(const nd_xsim_t *x, int64_t qty)
{
    if (!x->thin_on || qty <= 0)
        return qty;
    int64_t lot = x->cfg.inst.lot_size, q = qty * x->thin_depth_pct / 100 / lot * lot;
    return q < lot ? lot : q;
}

static void fault_event(const nd_xsim_t *x, nd_tick_event_t *ev)
{
    if (ev->kind == ND_TICK_DELTA) {
        nd_book_delta_t *d = &ev->u.delta;
        d->px = fault_px(x, d->px, d->side == ND_BOOK_BID ? -1 : 1);
        d->qty = fault_qty(x, d->qty);
    } else if (ev->kind == ND_TICK_TRADE) {
        nd_trade_tick_t *t = &ev->u.trade;
        t->px = fault_px(x, t->px, t->aggressor == ND_SIDE_BUY ? 1 : -1);
        t->qty = fault_qty(x, t->qty);
    } else if (ev->kind == ND_TICK_QUOTE) {
        nd_quote_tick_t *q = &ev->u.quote;
        q->bid_px = fault_px(x, q->bid_px, -1);
        q->ask_px = fault_px(x, q->ask_px, 1);
        q->bid_qty = fault_qty(x, q->bid_qty);
        q->ask_qty = fault_qty(x, q->ask_qty);
    }
}

static void apply_event(nd_xsim_t *x, const nd_tick_event_t *source)
{
    nd_tick_event_t faulted;
    const nd_tick_event_t *ev = source;
    if (x->crash_on || x->thin_on) {
        /* Each 0.5% the crash path moves, the market's book is rebuilt at the new prices (its
         * old levels would otherwise stay on top, consumed only by its own new liquidity). */
        int64_t ppm = crash_ppm(x), moved = ppm - x->crash_book_ppm;
        if (x->crash_on && (moved >= 5000 || moved <= -5000)) {
            clear_market_side(x, ND_SIDE_BUY, 0);
            clear_market_side(x, ND_SIDE_SELL, 0);
            x->crash_book_ppm = ppm;
        }
        faulted = *source;
        fault_event(x, &faulted);
        ev = &faulted;
    }
    if (x->has_listener && x->listener.before_cb)
        x->listener.before_cb(x->listener.ctx, nd_tick_ts(ev));
    x->now_ns = nd_tick_ts(ev);
    if (x->now_ns > x->market_ns)
        x->market_ns = x->now_ns;
    if (ev->kind == ND_TICK_DELTA) {
        const nd_book_delta_t *d = &ev->u.delta;
        nd_side_t side = d->side == ND_BOOK_BID ? ND_SIDE_BUY : ND_SIDE_SELL;
        if (d->flags & ND_DELTA_F_CLEAR) {
            clear_market_side(x, ND_SIDE_BUY, 0);
            clear_market_side(x, ND_SIDE_SELL, 0);
        }
        note_level(x, side, d->px);
        /* ND_EFULL: the level is dropped, the book stays consistent */
        (void)nd_xsim_book_set_level(x->book, side, d->px, d->qty, on_fill, x);
    } else if (ev->kind == ND_TICK_TRADE) {
        apply_trade(x, &ev->u.trade);
    } else if (ev->kind == ND_TICK_QUOTE) {
        apply_quote(x, &ev->u.quote);
    }
    unsigned flags = ev->kind == ND_TICK_QUOTE ? ND_XSIM_UPDATE_QUOTE : 0u;
    if (ev->kind == ND_TICK_TRADE && x->replays_quotes)
        flags = ND_XSIM_UPDATE_NO_TOP;
    note_update(x, flags);
}

int64_t nd_xsim_advance(nd_xsim_t *x, int64_t now_ns)
{
    ND_ASSERT(x != NULL);
    if (x->cfg.replay.speed_max || x->held || now_ns < x->stale_until_ns)
        return 0;
    x->wall_ns = now_ns;
    __int128 elapsed = (__int128)(now_ns - x->wall_origin_ns) * x->cfg.replay.speed_e3 / 1000;
    int64_t target = x->market_origin_ns + (int64_t)elapsed;
    int64_t applied = 0;
    while (fetch_pending(x) && nd_tick_ts(&x->pending) <= target) {
        x->has_pending = false;
        apply_event(x, &x->pending);
        applied++;
    }
    if (target > x->market_ns)
        x->market_ns = target;
    return applied;
}

int64_t nd_xsim_step(nd_xsim_t *x, int64_t count)
{
    ND_ASSERT(x != NULL && count >= 0);
    int64_t applied = 0;
    while (!x->held && applied < count && fetch_pending(x)) {
        x->has_pending = false;
        apply_event(x, &x->pending);
        applied++;
    }
    return applied;
}

void nd_xsim_start(nd_xsim_t *x, int64_t now_ns)
{
    if (!x->held)
        return;
    x->held = false;
    x->wall_origin_ns = now_ns;
    ND_LOG(ND_LOG_INFO, "xsim replay started");
}

bool nd_xsim_speed_max(const nd_xsim_t *x)
{
    return x->cfg.replay.speed_max;
}

int64_t nd_xsim_market_ns(const nd_xsim_t *x)
{
    return x->market_ns;
}

bool nd_xsim_source_done(const nd_xsim_t *x)
{
    return x->eof && !x->has_pending;
}

const char *nd_xsim_source_error(const nd_xsim_t *x)
{
    return x->source_err;
}

void nd_xsim_fault_reject(nd_xsim_t *x, int64_t count, int64_t code)
{
    x->fault_rejects = count;
    x->fault_code = code;
}

bool nd_xsim_fault_take_reject(nd_xsim_t *x, int64_t *code)
{
    if (x->fault_rejects <= 0)
        return false;
    x->fault_rejects--;
    *code = x->fault_code;
    return true;
}

void nd_xsim_fault_partial(nd_xsim_t *x, bool on)
{
    x->fault_partial = on;
}

void nd_xsim_fault_stale(nd_xsim_t *x, int64_t until_wall_ns)
{
    x->stale_until_ns = until_wall_ns;
}

/* The market's mid (or its one side), 0 when the book is empty. */
static int64_t book_mid(const nd_xsim_t *x)
{
    int64_t bid = nd_xsim_book_best(x->book, ND_SIDE_BUY);
    int64_t ask = nd_xsim_book_best(x->book, ND_SIDE_SELL);
    return bid && ask ? (bid + ask) / 2 : bid ? bid : ask;
}

void nd_xsim_fault_spike(nd_xsim_t *x, int64_t pct)
{
    ND_ASSERT(x != NULL && pct > -100);
    int64_t tick = x->cfg.inst.tick_size, mid = book_mid(x);
    int64_t px = (int64_t)((__int128)mid * (100 + pct) / 100 / tick * tick);
    nd_xsim_public_trade_t pt = {.id = nd_xsim_book_take_trade_id(x->book, 0),
                                 .px = px < tick ? tick : px, .qty = x->cfg.inst.lot_size,
                                 .ts_ns = x->market_ns, .buyer_is_maker = pct < 0};
    note_trade(x, &pt);
}

void nd_xsim_fault_crash(nd_xsim_t *x, int64_t pct, int64_t ms, int64_t now_ns)
{
    ND_ASSERT(x != NULL && pct > -100 && pct <= 0);
    x->crash_on = pct != 0;
    x->crash_pct = pct;
    x->crash_ms = ms > 0 ? ms : 1;
    x->crash_start_ns = now_ns;
    x->wall_ns = now_ns;
    x->crash_book_ppm = 1000000;
    if (!x->crash_on) {
        clear_market_side(x, ND_SIDE_BUY, 0);
        clear_market_side(x, ND_SIDE_SELL, 0);
        note_update(x, 0);
    }
}

void nd_xsim_fault_thin(nd_xsim_t *x, int64_t depth_pct, int64_t spread_x)
{
    ND_ASSERT(x != NULL && depth_pct > 0 && depth_pct <= 100 && spread_x >= 1);
    x->thin_mid = book_mid(x);
    x->thin_on = depth_pct < 100 || spread_x > 1;
    x->thin_depth_pct = depth_pct;
    x->thin_spread_x = spread_x;
    /* The market's book is rebuilt from the next events, thin (or back to normal). */
    clear_market_side(x, ND_SIDE_BUY, 0);
    clear_market_side(x, ND_SIDE_SELL, 0);
    note_update(x, 0);
}

/* Filters as Binance applies them (the connector's own check, so client and venue agree). */
static nd_xsim_reject_t check_filters(const nd_xsim_t *x, const nd_xsim_new_order_t *r,
                                      int64_t ref_px)
{
    nd_binance_order_t bo = {.side = r->side == ND_SIDE_BUY ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK,
                             .type = r->type == ND_XSIM_MARKET       ? ND_BINANCE_MARKET
                                     : r->type == ND_XSIM_LIMIT_MAKER ? ND_BINANCE_LIMIT_MAKER
                                                                      : ND_BINANCE_LIMIT,
                             .px = r->px, .qty = r->qty, .ref_px = ref_px};
    switch (nd_binance_filters_check(&x->filters, &bo)) {
    case ND_REJECT_NONE: return ND_XSIM_OK;
    case ND_REJECT_INVALID_PRICE: return ND_XSIM_REJ_PRICE_FILTER;
    case ND_REJECT_INVALID_QUANTITY: return ND_XSIM_REJ_LOT_SIZE;
    default: return ND_XSIM_REJ_NOTIONAL;
    }
}

static bool duplicate_client_id(const nd_xsim_t *x, const char *client_id)
{
    const nd_xsim_user_order_t *o = nd_xsim_order_by_client_id(x, client_id);
    return o && (o->status == ND_XSIM_NEW || o->status == ND_XSIM_PARTIALLY_FILLED);
}

/* Resolves a MARKET order's quantity (quoteOrderQty) and what it locks; the cost in cash units
 * of the fills it would get. */
static nd_xsim_reject_t market_plan(const nd_xsim_t *x, nd_xsim_new_order_t *r, int64_t *lock)
{
    int64_t qty = 0;
    __int128 cost = 0, unit = nd_pow10(x->cfg.inst.px_decimals + x->cfg.inst.qty_decimals -
                                       ND_CASH_DECIMALS);
    if (r->qty == 0) { /* quoteOrderQty: spend up to quote_qty */
        nd_xsim_book_probe(x->book, r->side, 0, INT64_MAX / 4, (__int128)r->quote_qty * unit,
                           &qty, &cost);
        r->qty = nd_fixed_floor_to(qty, x->cfg.inst.lot_size);
    }
    nd_xsim_book_probe(x->book, r->side, 0, r->qty, 0, &qty, &cost);
    if (qty == 0)
        return ND_XSIM_REJ_NO_LIQUIDITY;
    int64_t c = 0;
    if (nd_fixed_div128(cost, (int64_t)unit, ND_ROUND_UP, &c) != ND_OK)
        return ND_XSIM_REJ_BALANCE;
    *lock = r->side == ND_SIDE_BUY ? c : r->qty;
    return ND_XSIM_OK;
}

static nd_xsim_reject_t precheck(const nd_xsim_t *x, nd_xsim_new_order_t *r, int64_t *lock)
{
    if (r->client_id[0] && duplicate_client_id(x, r->client_id))
        return ND_XSIM_REJ_DUPLICATE;
    if (x->order_count >= ND_XSIM_ORDERS_MAX * 16 ||
        nd_xsim_book_count(x->book, ND_SIDE_BUY) + nd_xsim_book_count(x->book, ND_SIDE_SELL) >=
            ND_XSIM_ORDERS_MAX)
        return ND_XSIM_REJ_FULL;
    nd_side_t opp = r->side == ND_SIDE_BUY ? ND_SIDE_SELL : ND_SIDE_BUY;
    nd_xsim_reject_t rej;
    if (r->type == ND_XSIM_MARKET) {
        if ((rej = market_plan(x, r, lock)) != ND_XSIM_OK)
            return rej;
        if ((rej = check_filters(x, r, nd_xsim_book_best(x->book, opp))) != ND_XSIM_OK)
            return rej;
    } else {
        if ((rej = check_filters(x, r, 0)) != ND_XSIM_OK)
            return rej;
        int64_t best = nd_xsim_book_best(x->book, opp);
        bool takes = best && (r->side == ND_SIDE_BUY ? best <= r->px : best >= r->px);
        if (r->type == ND_XSIM_LIMIT_MAKER && takes)
            return ND_XSIM_REJ_WOULD_TAKE;
        *lock = r->qty;
        /* A hostile price times size may not fit: no balance pays for it. */
        if (r->side == ND_SIDE_BUY &&
            (nd_notional(&x->cfg.inst, r->px, r->qty, lock) != ND_OK || *lock > INT64_MAX / 4))
            return ND_XSIM_REJ_BALANCE;
    }
    int64_t free_bal = r->side == ND_SIDE_BUY ? x->quote_free : x->base_free;
    if (r->side == ND_SIDE_BUY && x->cfg.fee_in_quote)
        *lock += commission_of(x, *lock); /* Coinbase: the hold covers the fee */
    if (*lock > free_bal)
        return ND_XSIM_REJ_BALANCE;
    /* A MARKET buy's fills are rounded one by one (half-even, at most half a unit each), and
     * quote fees round up per fill: lock a little more when there is, so the free balance never
     * goes below zero; the rest returns. */
    if (r->side == ND_SIDE_BUY && (r->type == ND_XSIM_MARKET || x->cfg.fee_in_quote))
        *lock += free_bal - *lock < 64 ? free_bal - *lock : 64;
    return ND_XSIM_OK;
}

static nd_xsim_user_order_t *new_record(nd_xsim_t *x, const nd_xsim_new_order_t *r, int64_t now_ns)
{
    nd_xsim_user_order_t *o =
        nd_array_push(&x->orders, &x->order_cap, &x->order_count, sizeof *o, 64);
    if (!o)
        return NULL;
    o->id = (int64_t)x->order_count;
    if (r->client_id[0])
        memcpy(o->client_id, r->client_id, sizeof o->client_id);
    else
        snprintf(o->client_id, sizeof o->client_id, "xsim-%lld", (long long)o->id);
    o->side = r->side;
    o->type = r->type;
    o->tif = r->type == ND_XSIM_LIMIT ? r->tif : ND_XSIM_GTC;
    o->px = r->type == ND_XSIM_MARKET ? 0 : r->px;
    o->orig_qty = r->qty;
    o->status = ND_XSIM_NEW;
    o->time_ns = o->update_ns = now_ns;
    return o;
}

static void lock_funds(nd_xsim_t *x, nd_xsim_user_order_t *o, int64_t lock)
{
    o->locked = lock;
    if (o->side == ND_SIDE_BUY) {
        x->quote_free -= lock;
        x->quote_locked += lock;
    } else {
        x->base_free -= lock;
        x->base_locked += lock;
    }
}

/* Matches the new order (at most half of it, at least a lot, under the partial-fills fault). */
static int64_t match_new(nd_xsim_t *x, nd_xsim_order_t *taker, bool fok_short)
{
    int64_t filled = 0;
    if (fok_short)
        return 0;
    nd_xsim_order_t t = *taker;
    if (x->fault_partial && t.qty > x->cfg.inst.lot_size) {
        t.qty = nd_fixed_floor_to(t.qty / 2, x->cfg.inst.lot_size);
        if (t.qty < x->cfg.inst.lot_size)
            t.qty = x->cfg.inst.lot_size;
    }
    nd_xsim_book_match(x->book, &t, &filled, on_fill, x);
    return filled;
}

nd_xsim_reject_t nd_xsim_place(nd_xsim_t *x, const nd_xsim_new_order_t *req, int64_t now_ns,
                               int64_t *out_id)
{
    ND_ASSERT(x != NULL && req != NULL && out_id != NULL);
    nd_xsim_advance(x, now_ns);
    nd_xsim_new_order_t r = *req;
    int64_t lock = 0;
    nd_xsim_reject_t rej = precheck(x, &r, &lock);
    if (rej != ND_XSIM_OK)
        return rej;
    bool fok_short = false;
    if (r.type == ND_XSIM_LIMIT && r.tif == ND_XSIM_FOK) {
        int64_t q = 0;
        __int128 cost = 0;
        nd_xsim_book_probe(x->book, r.side, r.px, r.qty, 0, &q, &cost);
        fok_short = q < r.qty;
    }
    nd_xsim_user_order_t *o = new_record(x, &r, x->market_ns);
    if (!o)
        return ND_XSIM_REJ_FULL;
    int64_t id = o->id;
    lock_funds(x, o, lock);
    x->now_ns = x->market_ns;
    note_order(x, o, "NEW", NULL);
    nd_xsim_order_t taker = {.id = id, .account = ND_XSIM_ACCOUNT_USER, .side = r.side,
                             .px = r.type == ND_XSIM_MARKET ? 0 : r.px, .qty = r.qty};
    int64_t filled = match_new(x, &taker, fok_short);
    o = &x->orders[id - 1]; /* the fills may not grow x->orders, but stay safe */
    bool rests = r.type != ND_XSIM_MARKET && r.tif == ND_XSIM_GTC;
    if (filled < r.qty && rests) {
        taker.qty = r.qty - filled;
        ND_ASSERT(nd_xsim_book_add(x->book, &taker) == ND_OK);
        note_level(x, r.side, r.px);
    } else if (filled < r.qty) {
        o->status = ND_XSIM_EXPIRED;
        unlock_rest(x, o);
        note_order(x, o, "EXPIRED", NULL);
    }
    if (filled > 0 || (filled < r.qty && rests))
        note_update(x, 0);
    *out_id = id;
    return ND_XSIM_OK;
}

int64_t nd_xsim_record_reject(nd_xsim_t *x, const nd_xsim_new_order_t *req, int64_t now_ns)
{
    ND_ASSERT(x != NULL && req != NULL);
    nd_xsim_advance(x, now_ns);
    nd_xsim_user_order_t *o = new_record(x, req, x->market_ns);
    if (!o)
        return 0;
    o->status = ND_XSIM_REJECTED;
    note_order(x, o, "REJECTED", NULL);
    return o->id;
}

nd_err_t nd_xsim_cancel(nd_xsim_t *x, int64_t id, int64_t now_ns)
{
    ND_ASSERT(x != NULL);
    nd_xsim_advance(x, now_ns);
    if (id < 1 || (size_t)id > x->order_count)
        return ND_ENOTFOUND;
    nd_xsim_user_order_t *o = &x->orders[id - 1];
    if (nd_xsim_book_cancel(x->book, id, NULL) != ND_OK)
        return ND_ENOTFOUND;
    o->status = ND_XSIM_CANCELED;
    o->update_ns = x->market_ns;
    unlock_rest(x, o);
    note_level(x, o->side, o->px);
    note_order(x, o, "CANCELED", NULL);
    note_update(x, 0);
    return ND_OK;
}

const nd_xsim_user_order_t *nd_xsim_order(const nd_xsim_t *x, int64_t id)
{
    return id >= 1 && (size_t)id <= x->order_count ? &x->orders[id - 1] : NULL;
}

const nd_xsim_user_order_t *nd_xsim_order_by_client_id(const nd_xsim_t *x, const char *client_id)
{
    for (size_t i = x->order_count; i-- > 0;)
        if (strcmp(x->orders[i].client_id, client_id) == 0)
            return &x->orders[i];
    return NULL;
}

int64_t nd_xsim_order_count(const nd_xsim_t *x)
{
    return (int64_t)x->order_count;
}

size_t nd_xsim_trade_count(const nd_xsim_t *x)
{
    return x->trade_count;
}

const nd_xsim_trade_t *nd_xsim_trade_at(const nd_xsim_t *x, size_t index)
{
    ND_ASSERT(index < x->trade_count);
    return &x->trades[index];
}

void nd_xsim_balances(const nd_xsim_t *x, int64_t *base_free, int64_t *base_locked,
                      int64_t *quote_free, int64_t *quote_locked)
{
    *base_free = x->base_free;
    *base_locked = x->base_locked;
    *quote_free = x->quote_free;
    *quote_locked = x->quote_locked;
}

const nd_xsim_book_t *nd_xsim_book(const nd_xsim_t *x)
{
    return x->book;
}

int64_t nd_xsim_update_id(const nd_xsim_t *x)
{
    return x->update_id;
}
