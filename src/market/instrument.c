/* instrument.c: instruments, symbol parsing and notional arithmetic. */
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/market.h"

#include <string.h>

static const char *const known_quotes[] = {"USDT", "BUSD", "USDC", "FDUSD", "TUSD", "USD",
                                           "EUR",  "GBP",  "BTC",  "ETH",   "BNB"};

static int copy_name(char *dst, const char *src, size_t len)
{
    if (len == 0 || len >= ND_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return -1;
        dst[i] = c;
    }
    dst[len] = '\0';
    return 0;
}

static int split_symbol(nd_instrument_t *inst, const char *symbol)
{
    const char *slash = strchr(symbol, '/');
    size_t len = strlen(symbol);
    if (slash)
        return copy_name(inst->base, symbol, (size_t)(slash - symbol)) ||
               copy_name(inst->quote, slash + 1, len - (size_t)(slash - symbol) - 1);
    for (size_t i = 0; i < sizeof known_quotes / sizeof known_quotes[0]; i++) {
        size_t qlen = strlen(known_quotes[i]);
        if (len > qlen && strcmp(symbol + len - qlen, known_quotes[i]) == 0)
            return copy_name(inst->base, symbol, len - qlen) ||
                   copy_name(inst->quote, known_quotes[i], qlen);
    }
    return -1;
}

nd_err_t nd_instrument_init(nd_instrument_t *inst, const char *symbol, const char *venue)
{
    ND_ASSERT(inst != NULL);
    ND_ASSERT(symbol != NULL);
    memset(inst, 0, sizeof *inst);
    if (split_symbol(inst, symbol) != 0)
        return ND_EINVAL;
    size_t blen = strlen(inst->base), qlen = strlen(inst->quote);
    if (blen + qlen + 2 > ND_NAME_MAX)
        return ND_EINVAL;
    memcpy(inst->symbol, inst->base, blen);
    inst->symbol[blen] = '/';
    memcpy(inst->symbol + blen + 1, inst->quote, qlen + 1);
    const char *v = venue ? venue : "sim";
    if (strlen(v) >= ND_NAME_MAX)
        return ND_EINVAL;
    strcpy(inst->venue, v);
    inst->px_decimals = ND_DEFAULT_PX_DECIMALS;
    inst->qty_decimals = ND_DEFAULT_QTY_DECIMALS;
    inst->tick_size = nd_pow10(ND_DEFAULT_PX_DECIMALS - 2);  /* 0.01 */
    inst->lot_size = nd_pow10(ND_DEFAULT_QTY_DECIMALS - 5);  /* 0.00001 */
    inst->min_notional = 5 * nd_pow10(ND_CASH_DECIMALS);     /* 5 quote units */
    return ND_OK;
}

nd_err_t nd_notional(const nd_instrument_t *inst, int64_t px, int64_t qty, int64_t *out)
{
    ND_ASSERT(inst != NULL);
    /* px * qty is in 10^-(px_decimals + qty_decimals); cash is in 10^-ND_CASH_DECIMALS. */
    int shift = inst->px_decimals + inst->qty_decimals - ND_CASH_DECIMALS;
    ND_ASSERT(shift <= ND_DECIMALS_MAX);
    __int128 product = (__int128)px * qty;
    if (shift >= 0)
        return nd_fixed_div128(product, nd_pow10(shift), ND_ROUND_HALF_EVEN, out);
    if (product > INT64_MAX || product < INT64_MIN)
        return ND_EOVERFLOW;
    __int128 scaled = product * nd_pow10(-shift);
    if (scaled > INT64_MAX || scaled < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)scaled;
    return ND_OK;
}

nd_err_t nd_instrument_symbol_from_path(const char *path, char *out, size_t cap)
{
    ND_ASSERT(path != NULL && out != NULL);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, "-_.");
    if (len == 0 || len >= ND_NAME_MAX)
        return ND_ENOTFOUND;
    char token[ND_NAME_MAX];
    for (size_t k = 0; k < len; k++) {
        char c = base[k];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return ND_ENOTFOUND; /* "eth2022.csv" names no symbol: no guessing */
        token[k] = c;
    }
    token[len] = '\0';
    nd_instrument_t probe;
    if (nd_instrument_init(&probe, token, "sim") != ND_OK)
        return ND_ENOTFOUND;
    if (strlen(probe.symbol) >= cap)
        return ND_ERANGE;
    memcpy(out, probe.symbol, strlen(probe.symbol) + 1);
    return ND_OK;
}
