/* pipeline_evidence.c: what the paper gate measures (pipeline.h): a strategy's executions
 * read from its order and fill records, the same executions of an event-level backtest, the
 * fill rate and slippage between the two, and a strategy's code hash.
 *
 * Both sides of the paper gate go through nd_pipeline_exec_stats_load: the paper side reads the
 * session's store, the backtest side a memory store the engine recorder filled during the
 * backtest, with the instruments named as a session names them, so a difference between the
 * two is a difference in trading, never in bookkeeping. Integer throughout: sums are checked
 * for overflow, the open position is marked at the last fill price through __int128. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/pipeline.h"

#include <stdio.h>
#include <string.h>

/* ---- executions from records ------------------------------------------------------------ */

typedef struct stats_ctx {
    nd_pipeline_exec_stats_t *st;
    const char *strategy;
    const char *account;
    char *err;
    size_t err_len;
} stats_ctx_t;

static nd_pipeline_instrument_stats_t *instrument_of(stats_ctx_t *c, const nd_record_t *rec)
{
    nd_pipeline_exec_stats_t *st = c->st;
    for (uint32_t k = 0; k < st->instrument_count; k++)
        if (strcmp(st->instruments[k].instrument, rec->instrument) == 0)
            return &st->instruments[k];
    if (st->instrument_count >= ND_PIPELINE_INSTRUMENTS_MAX) {
        nd_err_put(c->err, c->err_len, "record seq %lld: more than %d instruments",
                   (long long)rec->seq, ND_PIPELINE_INSTRUMENTS_MAX);
        return NULL;
    }
    nd_pipeline_instrument_stats_t *i = &st->instruments[st->instrument_count++];
    snprintf(i->instrument, sizeof i->instrument, "%s", rec->instrument);
    i->px_scale = rec->px_scale;
    i->qty_scale = rec->qty_scale;
    return i;
}

static nd_err_t add_fill(stats_ctx_t *c, const nd_record_t *rec)
{
    nd_pipeline_instrument_stats_t *i = instrument_of(c, rec);
    if (!i)
        return ND_EFULL;
    if (rec->px_scale != i->px_scale || rec->qty_scale != i->qty_scale) {
        nd_err_put(c->err, c->err_len, "record seq %lld: %s changed scales", (long long)rec->seq,
                   rec->instrument);
        return ND_EINVAL;
    }
    bool buy = rec->side > 0;
    nd_err_t rc = nd_fixed_add(c->st->fees, rec->fee, &c->st->fees);
    if (rc == ND_OK)
        rc = buy ? nd_fixed_add(i->buy_notional, rec->notional, &i->buy_notional)
                 : nd_fixed_add(i->sell_notional, rec->notional, &i->sell_notional);
    if (rc == ND_OK)
        rc = buy ? nd_fixed_add(i->buy_qty, rec->qty, &i->buy_qty)
                 : nd_fixed_add(i->sell_qty, rec->qty, &i->sell_qty);
    if (rc == ND_OK)
        rc = buy ? nd_fixed_add(i->position, rec->qty, &i->position)
                 : nd_fixed_sub(i->position, rec->qty, &i->position);
    if (rc != ND_OK) {
        nd_err_put(c->err, c->err_len, "record seq %lld: the sums overflow", (long long)rec->seq);
        return ND_EOVERFLOW;
    }
    i->last_px = rec->px;
    c->st->fills++;
    return ND_OK;
}

static nd_err_t stats_record(void *ctx, const nd_record_t *rec)
{
    stats_ctx_t *c = ctx;
    if (!rec->strategy || strcmp(rec->strategy, c->strategy) != 0 ||
        (c->account && (!rec->account || strcmp(rec->account, c->account) != 0)))
        return ND_OK;
    if (rec->kind == ND_RECORD_FILL)
        return add_fill(c, rec);
    if (rec->kind == ND_RECORD_ORDER && strcmp(rec->event, "submitted") == 0)
        c->st->orders++;
    if (rec->kind == ND_RECORD_ORDER && strcmp(rec->event, "filled") == 0)
        c->st->orders_filled++;
    return ND_OK;
}

/* The P&L: sells less buys less fees, plus each open position at its last fill price. */
static nd_err_t stats_pnl(nd_pipeline_exec_stats_t *st, char *err, size_t err_len)
{
    __int128 pnl = -(__int128)st->fees;
    for (uint32_t k = 0; k < st->instrument_count; k++) {
        const nd_pipeline_instrument_stats_t *i = &st->instruments[k];
        pnl += (__int128)i->sell_notional - i->buy_notional;
        int shift = i->px_scale + i->qty_scale - ND_CASH_DECIMALS;
        __int128 mark = (__int128)i->position * i->last_px;
        int64_t cash = 0;
        nd_err_t rc = shift >= 0 ? nd_fixed_div128(mark, nd_pow10(shift), ND_ROUND_DOWN, &cash)
                                 : nd_fixed_div128(mark * nd_pow10(-shift), 1, ND_ROUND_DOWN,
                                                   &cash);
        if (rc != ND_OK || shift > 18 || shift < -18) {
            nd_err_put(err, err_len, "%s: the open position's value overflows", i->instrument);
            return ND_EOVERFLOW;
        }
        pnl += cash;
    }
    if (pnl > INT64_MAX || pnl < INT64_MIN) {
        nd_err_put(err, err_len, "the P&L overflows");
        return ND_EOVERFLOW;
    }
    st->pnl = (int64_t)pnl;
    return ND_OK;
}

nd_err_t nd_pipeline_exec_stats_load(nd_store_t *s, const char *strategy, const char *account,
                                     int64_t from_ns, int64_t to_ns,
                                     nd_pipeline_exec_stats_t *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && strategy != NULL);
    ND_ASSERT(out != NULL);
    nd_pipeline_exec_stats_t st;
    memset(&st, 0, sizeof st);
    stats_ctx_t c = {&st, strategy, account, err, err_len};
    nd_record_filter_t f = {.ts_from_ns = from_ns, .ts_to_ns = to_ns,
                            .kind_mask = (1u << ND_RECORD_ORDER) | (1u << ND_RECORD_FILL)};
    nd_err_t rc = nd_store_scan(s, &f, &c, stats_record, err, err_len);
    if (rc == ND_OK)
        rc = stats_pnl(&st, err, err_len);
    if (rc == ND_OK)
        *out = st;
    return rc;
}

int64_t nd_pipeline_fill_rate_e6(const nd_pipeline_exec_stats_t *st)
{
    ND_ASSERT(st != NULL);
    ND_ASSERT(st->orders_filled >= 0);
    if (st->orders <= 0)
        return 1000000;
    return (int64_t)((__int128)st->orders_filled * 1000000 / st->orders);
}

/* Paper's average price against the backtest's on one side, in bp (paper dearer: positive). */
static int64_t side_bps(int64_t p_notional, int64_t p_qty, int64_t b_notional, int64_t b_qty)
{
    __int128 num = (__int128)p_notional * b_qty - (__int128)b_notional * p_qty;
    __int128 den = (__int128)b_notional * p_qty;
    return den > 0 ? (int64_t)(num * 10000 / den) : 0;
}

int64_t nd_pipeline_slippage_bps(const nd_pipeline_exec_stats_t *paper,
                                 const nd_pipeline_exec_stats_t *backtest)
{
    ND_ASSERT(paper != NULL && backtest != NULL);
    __int128 weighted = 0, weight = 0;
    for (uint32_t k = 0; k < paper->instrument_count; k++) {
        const nd_pipeline_instrument_stats_t *p = &paper->instruments[k];
        for (uint32_t j = 0; j < backtest->instrument_count; j++) {
            const nd_pipeline_instrument_stats_t *b = &backtest->instruments[j];
            if (strcmp(p->instrument, b->instrument) != 0)
                continue;
            if (p->buy_qty > 0 && b->buy_qty > 0) {
                weighted += (__int128)side_bps(p->buy_notional, p->buy_qty, b->buy_notional,
                                               b->buy_qty) * p->buy_notional;
                weight += p->buy_notional;
            }
            if (p->sell_qty > 0 && b->sell_qty > 0) {
                weighted -= (__int128)side_bps(p->sell_notional, p->sell_qty, b->sell_notional,
                                               b->sell_qty) * p->sell_notional;
                weight += p->sell_notional;
            }
        }
    }
    return weight > 0 ? (int64_t)(weighted / weight) : 0;
}

/* ---- the backtest side ------------------------------------------------------------------- */

typedef struct bt_run {
    nd_backtest_config_t cfg;
    nd_backtest_result_t result;
    nd_instrument_t insts[ND_BACKTEST_ASSETS_MAX];
    const char *names[ND_STRATEGIES_MAX];
} bt_run_t;

/* The run's instruments named as a paper session names them (session_state.c). */
static nd_err_t bt_instruments(bt_run_t *b, uint32_t *count)
{
    *count = 1 + b->cfg.more_count;
    for (uint32_t k = 0; k < *count; k++) {
        const char *symbol = k == 0 ? b->cfg.symbol : b->cfg.more[k - 1].symbol;
        char venue[ND_NAME_MAX] = "l2sim";
        if (k > 0)
            snprintf(venue, sizeof venue, "l2sim-%u", k);
        nd_err_t rc = nd_instrument_init(&b->insts[k], symbol, venue);
        if (rc != ND_OK)
            return rc;
        b->insts[k].id = k;
    }
    return ND_OK;
}

nd_err_t nd_pipeline_backtest_stats(const nd_backtest_config_t *cfg, const char *strategy,
                                    nd_pipeline_exec_stats_t *out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    ND_ASSERT(strategy != NULL);
    ND_ASSERT(cfg->strategy_count >= 1);
    bt_run_t *b = nd_calloc(1, sizeof *b);
    if (!b)
        return ND_ENOMEM;
    b->cfg = *cfg;
    nd_store_t *store = NULL;
    nd_recorder_t *rec = NULL;
    uint32_t count = 0;
    nd_err_t rc = nd_store_open("mem:", ND_STORE_CREATE, &store, err, err_len);
    if (rc == ND_OK && (rc = bt_instruments(b, &count)) != ND_OK)
        nd_err_put(err, err_len, "bad symbol '%s'", b->cfg.symbol);
    for (uint32_t k = 0; k < b->cfg.strategy_count; k++)
        b->names[k] = b->cfg.strategies[k].def->name;
    if (rc == ND_OK)
        rc = nd_recorder_create(store, "backtest", b->insts, count, b->names,
                                b->cfg.strategy_count, 0, &rec, err, err_len);
    if (rc == ND_OK) {
        b->cfg.tap.on_event = nd_recorder_on_event;
        b->cfg.tap.on_bar_done = NULL;
        b->cfg.tap.ctx = rec;
        rc = nd_backtest_run(&b->cfg, &b->result, err, err_len);
        nd_backtest_result_free(&b->result);
    }
    if (rc == ND_OK)
        rc = nd_recorder_flush(rec, err, err_len);
    if (rc == ND_OK)
        rc = nd_pipeline_exec_stats_load(store, strategy, "backtest", 0, 0, out, err, err_len);
    nd_recorder_destroy(rec);
    nd_store_close(store);
    nd_free(b);
    return rc;
}

/* ---- code hash --------------------------------------------------------------------------- */

nd_err_t nd_pipeline_code_hash(const char *kind, const char *spec, const char *binary_path,
                               const char *version, char hex[65], char *err, size_t err_len)
{
    ND_ASSERT(kind != NULL && spec != NULL);
    ND_ASSERT(hex != NULL);
    if (strcmp(kind, "builtin") == 0)
        return nd__launch_sha256_file(binary_path ? binary_path : "/proc/self/exe",
                                      version ? version : "", hex, err, err_len);
    if (strcmp(kind, "plugin") != 0 && strcmp(kind, "lua") != 0) {
        nd_err_put(err, err_len, "unknown strategy kind '%s'", kind);
        return ND_EINVAL;
    }
    /* PATH ends at the first ':' after its last '/' (cli.h's strategy look-up rule). */
    char path[ND_PIPELINE_SPEC_MAX];
    snprintf(path, sizeof path, "%s", spec);
    char *slash = strrchr(path, '/');
    char *colon = strchr(slash ? slash : path, ':');
    if (colon)
        *colon = '\0';
    return nd__launch_sha256_file(path, NULL, hex, err, err_len);
}
