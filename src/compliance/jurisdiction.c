/* jurisdiction.c: the built-in surveillance profiles (US, EU, UK, Singapore), their parsing,
 * and the rule each alert cites.
 *
 * Every number here is either taken from a rule (FINRA Rule 4210's four day trades, five
 * business days, $25,000 and 6%; SEC Rule 13h-1's $20 million a day) or is our own choice
 * because the rule states no number (wash window, layering window, message rates, ratios);
 * docs/surveillance.md lists which is which. Profiles are static and immutable. The legal
 * minimum retention of each record class per jurisdiction lives here too (with its source),
 * since it is the same kind of per-regime fact; retention.c enforces it. */
#include "surveil_int.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Cash units (10^-8) of a whole currency amount. */
#define CASH(units) ((int64_t)(units) * 100000000LL)

#define ALL_RULES                                                                                  \
    (ND_SURV_RULE_BIT(ND_SURV_WASH_TRADING) | ND_SURV_RULE_BIT(ND_SURV_LAYERING) |                 \
     ND_SURV_RULE_BIT(ND_SURV_HIGH_FREQUENCY) | ND_SURV_RULE_BIT(ND_SURV_LARGE_VOLUME))

/* The thresholds every profile shares today, written once so that a change reaches all four;
 * where a regulator sets its own figure, the profile says it in full instead. */
#define COMMON_RATES                                                                               \
    .hf_window_ns = ND_NS_PER_SEC, .hf_msgs_max = 50, .otr_max = 100, .otr_msgs_min = 500
#define COMMON_WINDOWS                                                                             \
    .adv_share_bps = 2500, .adv_lookback_days = 20, .adv_days_min = 5,                             \
    .wash_window_ns = 60 * ND_NS_PER_SEC, .wash_px_tolerance_bps = 10,                             \
    .layering_cancel_window_ns = 5 * ND_NS_PER_SEC, .layering_orders_min = 3,                      \
    .layering_levels_min = 3
/* EU and UK MAR: the suspicious transaction and order report (STOR) fields. */
#define MAR_REPORT_FIELDS                                                                          \
    "rule,account,owner,symbol,venue,order_ids,trades,from,to,measured,threshold,reason,"          \
    "stor_description"

static const nd_surv_profile_t profiles[ND_JUR_COUNT] = {
    [ND_JUR_US] = {
        .jurisdiction = ND_JUR_US, .code = "US", .name = "United States (SEC / FINRA)",
        .currency = "USD",
        .report_fields = "rule,account,owner,symbol,order_ids,trades,from,to,measured,threshold,"
                         "reason,account_type,equity",
        .rules = ALL_RULES | ND_SURV_RULE_BIT(ND_SURV_PATTERN_DAY_TRADING),
        COMMON_RATES,
        .order_notional_max = CASH(1000000), .daily_notional_max = CASH(20000000),
        COMMON_WINDOWS,
        .pdt_day_trades_min = 4, .pdt_business_days = 5, .pdt_equity_min = CASH(25000),
        .pdt_trade_share_bps = 600,
        .pretrade_order_notional_max = CASH(5000000), .pretrade_msgs_max = 100,
    },
    [ND_JUR_EU] = {
        .jurisdiction = ND_JUR_EU, .code = "EU", .name = "European Union (MiFID II / MAR)",
        .currency = "EUR",
        .report_fields = MAR_REPORT_FIELDS,
        .rules = ALL_RULES,
        COMMON_RATES,
        .order_notional_max = CASH(1000000), .daily_notional_max = CASH(20000000),
        COMMON_WINDOWS,
        .pretrade_order_notional_max = CASH(5000000), .pretrade_msgs_max = 100,
    },
    [ND_JUR_UK] = {
        .jurisdiction = ND_JUR_UK, .code = "UK", .name = "United Kingdom (FCA: UK MAR, MAR 1)",
        .currency = "GBP",
        .report_fields = MAR_REPORT_FIELDS,
        .rules = ALL_RULES,
        COMMON_RATES,
        .order_notional_max = CASH(1000000), .daily_notional_max = CASH(20000000),
        COMMON_WINDOWS,
        .pretrade_order_notional_max = CASH(5000000), .pretrade_msgs_max = 100,
    },
    [ND_JUR_SG] = {
        .jurisdiction = ND_JUR_SG, .code = "SG", .name = "Singapore (MAS: SFA ss197-201)",
        .currency = "SGD",
        .report_fields = "rule,account,owner,symbol,order_ids,trades,from,to,measured,threshold,"
                         "reason",
        .rules = ALL_RULES,
        COMMON_RATES,
        .order_notional_max = CASH(1500000), .daily_notional_max = CASH(25000000),
        COMMON_WINDOWS,
        .pretrade_order_notional_max = CASH(7500000), .pretrade_msgs_max = 100,
    },
};

const nd_surv_profile_t *nd_jurisdiction_profile(nd_jurisdiction_t j)
{
    ND_ASSERT((int)j >= 0 && j < ND_JUR_COUNT);
    ND_ASSERT(profiles[j].jurisdiction == j);
    return &profiles[j];
}

nd_err_t nd_jurisdiction_parse(const char *text, size_t len, nd_jurisdiction_t *out)
{
    ND_ASSERT(text != NULL);
    static const struct {
        const char *code;
        nd_jurisdiction_t j;
    } codes[] = {{"US", ND_JUR_US}, {"USA", ND_JUR_US}, {"EU", ND_JUR_EU}, {"UK", ND_JUR_UK},
                 {"GB", ND_JUR_UK}, {"SG", ND_JUR_SG}, {"SGP", ND_JUR_SG}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (strlen(codes[i].code) == len && strncasecmp(codes[i].code, text, len) == 0) {
            *out = codes[i].j;
            return ND_OK;
        }
    }
    return ND_ENOTFOUND;
}

nd_err_t nd_jurisdiction_parse_list(const char *text, uint32_t *mask, char *err, size_t err_len)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(mask != NULL);
    uint32_t m = 0;
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",|;");
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        nd_jurisdiction_t j;
        if (nd_jurisdiction_parse(p, len, &j) != ND_OK) {
            if (err_len)
                snprintf(err, err_len, "unknown jurisdiction '%.*s' (known: US, EU, UK, SG)",
                         (int)(len > 32 ? 32 : len), p);
            return ND_EPARSE;
        }
        m |= ND_JUR_BIT(j);
        p += strcspn(p, ",|;");
        if (*p == '\0')
            break;
        p++;
    }
    *mask = m;
    return ND_OK;
}

/* The provision an alert cites, per jurisdiction and rule (see docs/surveillance.md). */
const char *nd__surv_cite(nd_jurisdiction_t j, nd_surv_rule_t rule)
{
    static const char *const cite[ND_JUR_COUNT][ND_SURV_RULE_COUNT] = {
        [ND_JUR_US] = {"Exchange Act s9(a)(1), FINRA Rule 5210.02 (self-trades)",
                       "Exchange Act s9(a)(2), FINRA Rule 2020 (spoofing/layering)",
                       "FINRA Rule 4210(f)(8)(B)",
                       "SEC Rule 15c3-5 controls; threshold is our choice",
                       "SEC Rule 13h-1 (large trader activity level)"},
        [ND_JUR_EU] = {"MAR Art. 12(1)(a), Annex I A(c) (no change in beneficial ownership)",
                       "MAR Art. 12(2)(c), Annex I A(f) (orders removed before execution)",
                       "not a MiFID II / MAR rule",
                       "MiFID II RTS 6 / RTS 9 (order-to-trade ratio)",
                       "MAR Annex I A(a) (significant proportion of daily volume)"},
        [ND_JUR_UK] = {"UK MAR Art. 12, FCA MAR 1.6 (manipulating transactions)",
                       "UK MAR Art. 12(2)(c), FCA MAR 1.6 (manipulating transactions)",
                       "not an FCA rule",
                       "UK RTS 6 / RTS 9 (order-to-trade ratio)",
                       "UK MAR Annex I A(a) (significant proportion of daily volume)"},
        [ND_JUR_SG] = {"SFA s197(3) (no change in beneficial ownership)",
                       "SFA s197(1) / s198 (false or misleading appearance of trading)",
                       "not an MAS rule",
                       "SFA s197 (false appearance of active trading); threshold is our choice",
                       "SFA s198 (market manipulation); threshold is our choice"},
    };
    ND_ASSERT((int)j >= 0 && j < ND_JUR_COUNT);
    ND_ASSERT((int)rule >= 0 && rule < ND_SURV_RULE_COUNT);
    return cite[j][rule];
}

/* ---- legal minimum retention ------------------------------------------------------------ */

/* Trades (order events, fills, rejects, breakers, config changes, operator actions, alerts)
 * are the records the rules below name. Logs, metrics and chaos results are engineering
 * records no rule gives a period for, so they have no legal minimum (our choice: their
 * defaults in retention.c are operational, and --keep may shorten them freely). */
typedef struct legal_minimum {
    nd_retention_period_t period;
    const char *source;
} legal_minimum_t;

#define NO_RULE_MINIMUM                                                                            \
    {{0, 0}, "no rule names a period for this class: no legal minimum (our choice)"}

static const legal_minimum_t legal_minimums[ND_JUR_COUNT][ND_RETENTION_CLASSES] = {
    [ND_JUR_US] = {{{7, 0}, "SEC Rule 17a-4(a) and FINRA Rule 4511(b) require 6 years for "
                            "blotters, ledgers and order records; 7 (a year of margin) is our "
                            "choice"},
                   NO_RULE_MINIMUM, NO_RULE_MINIMUM, NO_RULE_MINIMUM},
    [ND_JUR_EU] = {{{7, 0}, "MiFID II Art. 16(7) and MiFIR Art. 25(1): 5 years, up to 7 where "
                            "the competent authority requests it; we keep the 7"},
                   NO_RULE_MINIMUM, NO_RULE_MINIMUM, NO_RULE_MINIMUM},
    [ND_JUR_UK] = {{{7, 0}, "UK MiFIR Art. 25 and FCA COBS 11.8: 5 years, up to 7 where the FCA "
                            "requests it; we keep the 7"},
                   NO_RULE_MINIMUM, NO_RULE_MINIMUM, NO_RULE_MINIMUM},
    [ND_JUR_SG] = {{{7, 0}, "MAS conduct-of-business regulations require 5 years for "
                            "transaction records; 7 (as in the other profiles) is our choice"},
                   NO_RULE_MINIMUM, NO_RULE_MINIMUM, NO_RULE_MINIMUM},
};

nd_retention_period_t nd_retention_legal_minimum(nd_jurisdiction_t j, nd_retention_class_t cls,
                                                 const char **source)
{
    ND_ASSERT((int)j >= 0 && j < ND_JUR_COUNT);
    ND_ASSERT((int)cls >= 0 && cls < ND_RETENTION_CLASSES);
    const legal_minimum_t *m = &legal_minimums[j][cls];
    ND_ASSERT(m->source != NULL);
    if (source)
        *source = m->source;
    return m->period;
}
