/* test_refprice.c: the reference price (refprice.h): median of fresh sources, the deviation
 * alarm and the data-integrity status, with values worked out by hand. */
#include "noderr/refprice.h"

#include <criterion/criterion.h>

#define SEC 1000000000LL

static nd_refprice_t make(uint32_t n, nd_refprice_config_t *cfg)
{
    nd_refprice_t rp;
    static const char *const names[] = {"binance", "coinbase", "coinbase-exchange", "chainlink"};
    cr_assert_eq(nd_refprice_init(&rp, "ETH", cfg), ND_OK);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = 99;
        cr_assert_eq(nd_refprice_add_source(&rp, names[i], &idx), ND_OK);
        cr_assert_eq(idx, i);
    }
    return rp;
}

Test(refprice, median_odd_and_even)
{
    nd_refprice_config_t cfg;
    nd_refprice_config_default(&cfg);
    nd_refprice_t rp = make(4, &cfg);
    nd_refprice_result_t r;
    /* 3 sources: 2000.00, 2001.00, 1999.50 (2 decimals) -> median 2000.00. */
    nd_refprice_update(&rp, 0, 200000, 100 * SEC);
    nd_refprice_update(&rp, 1, 200100, 100 * SEC);
    nd_refprice_update(&rp, 3, 199950, 100 * SEC);
    nd_refprice_compute(&rp, 101 * SEC, &r);
    cr_assert_eq(r.fresh, 3);
    cr_assert_eq(r.px, 200000);
    cr_assert_eq(r.status, ND_REFPRICE_OK);
    cr_assert_eq(r.deviating_mask, 0);
    /* |200100 - 200000| / 200000 = 5 bps. */
    cr_assert_eq(r.max_deviation_bps, 5);
    /* 4 sources: add 2000.05 -> middles 2000.00 and 2000.05 -> 2000.025 -> half-even 2000.02. */
    nd_refprice_update(&rp, 2, 200005, 100 * SEC);
    nd_refprice_compute(&rp, 101 * SEC, &r);
    cr_assert_eq(r.fresh, 4);
    cr_assert_eq(r.px, 200002);
}

Test(refprice, deviation_alarm)
{
    nd_refprice_config_t cfg;
    nd_refprice_config_default(&cfg); /* 100 bps */
    nd_refprice_t rp = make(3, &cfg);
    nd_refprice_result_t r;
    nd_refprice_update(&rp, 0, 200000, 0);
    nd_refprice_update(&rp, 1, 200000, 0);
    /* Exactly 1% away: still in line (strictly beyond alarms). */
    nd_refprice_update(&rp, 2, 202000, 0);
    nd_refprice_compute(&rp, SEC, &r);
    cr_assert_eq(r.status, ND_REFPRICE_OK);
    cr_assert_eq(r.max_deviation_bps, 100);
    nd_refprice_update(&rp, 2, 202001, 0);
    nd_refprice_compute(&rp, SEC, &r);
    cr_assert_eq(r.status, ND_REFPRICE_DEVIATION);
    cr_assert_eq(r.deviating_mask, 1u << 2);
    cr_assert_eq(r.px, 200000);
    cr_assert_eq(rp.alarms, 1);
    cfg.halt_on_deviation = true;
    rp.config = cfg;
    nd_refprice_compute(&rp, SEC, &r);
    cr_assert_eq(r.status, ND_REFPRICE_HALT);
    cr_assert_str_eq(nd_refprice_status_name(r.status), "halt");
}

Test(refprice, stale_and_invalid_sources_halt)
{
    nd_refprice_config_t cfg;
    nd_refprice_config_default(&cfg); /* 10 s, 2 sources */
    nd_refprice_t rp = make(3, &cfg);
    nd_refprice_result_t r;
    nd_refprice_compute(&rp, SEC, &r);
    cr_assert_eq(r.fresh, 0);
    cr_assert_eq(r.px, 0);
    cr_assert_eq(r.status, ND_REFPRICE_HALT);
    nd_refprice_update(&rp, 0, 100, 0);
    nd_refprice_update(&rp, 1, 102, 5 * SEC);
    nd_refprice_update(&rp, 2, 500, 5 * SEC);
    /* At 10 s all are fresh: median 102, source 2 strays. */
    nd_refprice_compute(&rp, 10 * SEC, &r);
    cr_assert_eq(r.fresh, 3);
    cr_assert_eq(r.px, 102);
    cr_assert_eq(r.status, ND_REFPRICE_DEVIATION);
    /* At 10.000000001 s source 0 is stale; oracle (2) invalidated: 1 fresh < 2 -> halt. */
    nd_refprice_invalidate(&rp, 2);
    nd_refprice_compute(&rp, 10 * SEC + 1, &r);
    cr_assert_eq(r.fresh, 1);
    cr_assert_eq(r.px, 102);
    cr_assert_eq(r.status, ND_REFPRICE_HALT);
    /* An update clears the invalidation. */
    nd_refprice_update(&rp, 2, 103, 10 * SEC);
    nd_refprice_compute(&rp, 10 * SEC + 1, &r);
    cr_assert_eq(r.fresh, 2);
    cr_assert_eq(r.px, 102); /* (102 + 103) / 2 = 102.5 -> half-even 102 */
    cr_assert_eq(r.status, ND_REFPRICE_OK);
}

Test(refprice, api_errors_and_mid)
{
    nd_refprice_config_t cfg;
    nd_refprice_config_default(&cfg);
    nd_refprice_t rp = make(1, &cfg);
    uint32_t idx;
    cr_assert_eq(nd_refprice_add_source(&rp, "binance", &idx), ND_EEXIST);
    cr_assert_eq(nd_refprice_update(&rp, 0, 0, 0), ND_EINVAL);
    cfg.min_sources = 0;
    cr_assert_eq(nd_refprice_init(&rp, "ETH", &cfg), ND_EINVAL);
    int64_t mid;
    cr_assert_eq(nd_refprice_mid(100, 103, &mid), ND_OK);
    cr_assert_eq(mid, 102); /* 101.5 -> 102 (even) */
    cr_assert_eq(nd_refprice_mid(100, 101, &mid), ND_OK);
    cr_assert_eq(mid, 100); /* 100.5 -> 100 (even) */
    cr_assert_eq(nd_refprice_mid(101, 100, &mid), ND_EINVAL);
}
