/* test_coinbase_rest_fields.c: the Advanced Trade REST element decoders (cb_rest.c, included to
 * reach its static functions) keep every string whole: a product, order id or type longer than
 * its field refuses the element instead of cutting it (issue 10). */
#include "../../src/venues/coinbase/cb_rest.c"

#include <criterion/criterion.h>

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    cr_assert_not_null(v, "%s", e.text);
    return v;
}

Test(coinbase_rest_fields, fill_with_long_strings_refused)
{
    nd_md_event_t e;
    json_t *ok = parse("{\"product_id\":\"BTC-USD\",\"order_id\":\"o1\",\"trade_type\":\"FILL\","
                       "\"side\":\"BUY\",\"price\":\"10\",\"size\":\"1\",\"commission\":\"0\"}");
    cr_assert(fill_event(ok, &e));
    cr_assert_str_eq(e.symbol, "BTC-USD");
    cr_assert_str_eq(e.u.order.exec_type, "FILL");
    json_t *sym = parse("{\"product_id\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"order_id\":\"o1\","
                        "\"trade_type\":\"FILL\",\"price\":\"10\",\"size\":\"1\",\"commission\":\"0\"}");
    cr_assert_not(fill_event(sym, &e), "a 32-character product must not be cut to 31");
    json_t *id = parse("{\"product_id\":\"BTC-USD\",\"order_id\":\"0123456789012345678901234567890"
                       "1234567890123456789\",\"trade_type\":\"FILL\",\"price\":\"10\",\"size\":\"1\","
                       "\"commission\":\"0\"}");
    cr_assert_not(fill_event(id, &e), "a 50-character order id must not be cut");
    json_decref(ok);
    json_decref(sym);
    json_decref(id);
}

Test(coinbase_rest_fields, account_with_long_currency_refused)
{
    nd_md_event_t e;
    json_t *a = parse("{\"currency\":\"AVERYLONGCURRENCYNAME\",\"available_balance\":{\"value\":\"1\"},"
                      "\"hold\":{\"value\":\"0\"}}");
    cr_assert_not(balance_event(a, &e));
    json_t *b = parse("{\"currency\":\"BTC\",\"available_balance\":{\"value\":\"1\"},"
                      "\"hold\":{\"value\":\"0\"}}");
    cr_assert(balance_event(b, &e));
    cr_assert_str_eq(e.u.balance.asset, "BTC");
    json_decref(a);
    json_decref(b);
}
