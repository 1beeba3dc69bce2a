/* exchange_info.c: instrument rules from a saved Binance exchangeInfo file (--exchange-info):
 * tick size, step size and minimum notional for every instrument of a bar backtest, read with
 * the Binance venue's own filter parser (binance.h), so there is one reader of that format. */
#include "noderr/backtest.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/binance.h"
#include "noderr/venue.h"
#include "noderr/file.h"

#include <stdio.h>
#include <string.h>

_Static_assert(ND_VENUE_DECIMALS == 8, "exchangeInfo values are read at 8 decimals");

/* "ETH/USDT" -> "ETHUSDT", Binance's spelling. */
static void binance_symbol(const char *symbol, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t k = 0; symbol[k] && w + 1 < cap; k++)
        if (symbol[k] != '/')
            out[w++] = symbol[k];
    out[w] = '\0';
}

nd_err_t nd_backtest_rules_parse(nd_backtest_config_t *cfg, const char *json, size_t len,
                                 const char *source, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && json != NULL);
    ND_ASSERT(source != NULL && cfg->more_count < ND_BACKTEST_ASSETS_MAX);
    nd_err_t rc = ND_OK;
    for (uint32_t k = 0; rc == ND_OK && k <= cfg->more_count; k++) {
        char name[ND_NAME_MAX], why[256] = "";
        binance_symbol(k == 0 ? cfg->symbol : cfg->more[k - 1].symbol, name, sizeof name);
        nd_binance_filters_t f;
        rc = nd_binance_filters_parse(json, len, name, &f, why, sizeof why);
        if (rc == ND_ENOTFOUND)
            nd_err_put(err, err_len, "%s lists no symbol %s", source, name);
        else if (rc != ND_OK)
            nd_err_put(err, err_len, "%s: %s", source, why[0] ? why : nd_strerror(rc));
        else if (f.tick_size <= 0 || f.step_size <= 0) {
            nd_err_put(err, err_len, "%s: %s has no PRICE_FILTER tickSize or LOT_SIZE stepSize",
                       source, name);
            rc = ND_EPARSE;
        } else {
            /* Binance's 8 decimals are ND_VENUE_DECIMALS: the values are already *_e8. */
            cfg->rules[k] = (nd_instrument_rules_t){f.tick_size, f.step_size, f.min_notional,
                                                    source};
        }
    }
    return rc;
}

nd_err_t nd_backtest_rules_load(nd_backtest_config_t *cfg, const char *path, char *err,
                                size_t err_len)
{
    ND_ASSERT(cfg != NULL && path != NULL);
    char *json = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, 64u << 20, 0, &json, &len, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd_backtest_rules_parse(cfg, json, len, path, err, err_len);
    nd_free(json);
    return rc;
}
