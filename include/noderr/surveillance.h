/* surveillance.h: market-abuse surveillance over order events, and jurisdiction profiles.
 *
 * The rule engine works over an in-memory array of order events (new, cancel, fill), so the
 * post-trade scan over the compliance store and `noderr surveil` over an exported CSV run the
 * same code. It does not depend on the store: the store persists the nd_surv_alert_t values
 * the scan returns (nd_surv_alert_to_json gives their evidence as one JSON object).
 *
 * Names (accounts, owners, strategies, venues, symbols, order ids) are interned once into an
 * nd_surv_dict_t and events carry the small integer ids, which keeps the scan at millions of
 * events per second. Prices and quantities are exact fixed point at ND_SURV_DECIMALS; notional
 * values are cash units (10^-ND_CASH_DECIMALS of the price currency). Time is ns since the
 * epoch, UTC; "days" are UTC calendar days.
 *
 * Two modes: nd_surv_scan (post-trade, every rule of every profile over a whole event array)
 * and nd_surv_pretrade_check (strict pre-trade: blocks an order that would self-match against
 * the same owner's resting opposite order or breach a hard limit; incremental state).
 * docs/surveillance.md documents each rule and where each threshold comes from. */
#ifndef NODERR_SURVEILLANCE_H
#define NODERR_SURVEILLANCE_H

#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scale of event prices and quantities: 8 decimals, the precision Binance publishes, so any
 * exported log with up to 8 decimals parses exactly. */
#define ND_SURV_DECIMALS 8
/* Evidence kept per alert: the first orders, accounts and trades involved, in time order.
 * The reason states the full counts; a case with more is still one alert. */
#define ND_SURV_ALERT_ORDERS_MAX 16
#define ND_SURV_ALERT_ACCOUNTS_MAX 8
#define ND_SURV_ALERT_FILLS_MAX 16
#define ND_SURV_REASON_MAX 320
/* "No id": a field that does not apply to an alert (the symbol of a cross-symbol daily total). */
#define ND_SURV_ID_NONE UINT32_MAX

/* ---- Names ------------------------------------------------------------------------------ */

/* An interning table: each distinct string gets the next id from 0. Owned by its creator. */
typedef struct nd_surv_dict nd_surv_dict_t;

/* Creates an empty dictionary; ND_ENOMEM. Free with nd_surv_dict_destroy. */
nd_err_t nd_surv_dict_create(nd_surv_dict_t **out /* OUT */);
void nd_surv_dict_destroy(nd_surv_dict_t *dict);
/* Returns the id of text[0..len), adding it when new; ND_ENOMEM, ND_EFULL past 2^31 names.
 * Amortised O(len). */
nd_err_t nd_surv_dict_intern(nd_surv_dict_t *dict, const char *text, size_t len,
                             uint32_t *id /* OUT */);
/* Returns the id of an existing name, or ND_ENOTFOUND. */
nd_err_t nd_surv_dict_find(const nd_surv_dict_t *dict, const char *text, size_t len,
                           uint32_t *id /* OUT */);
/* Returns the NUL-terminated name of id (valid until the dictionary is destroyed), or "?" for
 * ND_SURV_ID_NONE or an unknown id. */
const char *nd_surv_dict_name(const nd_surv_dict_t *dict, uint32_t id);
/* Number of names held. */
uint32_t nd_surv_dict_count(const nd_surv_dict_t *dict);

/* ---- Events ----------------------------------------------------------------------------- */

typedef enum nd_surv_kind {
    ND_SURV_NEW = 1,    /* an order was sent */
    ND_SURV_CANCEL = 2, /* an order was cancelled (price and quantity may be 0: unknown) */
    ND_SURV_FILL = 3    /* an execution: px and qty are the trade's */
} nd_surv_kind_t;

typedef struct nd_surv_event {
    int64_t ts_ns;
    int64_t px;        /* ND_SURV_DECIMALS; 0 = market order (new) or not given (cancel) */
    int64_t qty;       /* ND_SURV_DECIMALS; > 0 for new and fill */
    uint32_t account;  /* dictionary ids */
    uint32_t owner;    /* beneficial owner: wash trading and daily totals group by it */
    uint32_t strategy;
    uint32_t venue;
    uint32_t symbol;
    uint32_t order;
    int8_t side;       /* ND_SIDE_BUY (1) or ND_SIDE_SELL (-1) */
    uint8_t kind;      /* nd_surv_kind_t */
} nd_surv_event_t;

/* The event's notional px * qty in cash units (10^-ND_CASH_DECIMALS). ND_EOVERFLOW when it
 * does not fit int64: such an event is an input error (nd_surv_scan refuses it), never
 * clamped. */
nd_err_t nd_surv_event_notional(const nd_surv_event_t *event, int64_t *out /* OUT */);

/* Event times must lie within +-ND_SURV_TS_ABS_MAX ns of the epoch (1823..2116), so that a time
 * plus or minus any rule window or day count cannot overflow. */
#define ND_SURV_TS_ABS_MAX (INT64_C(1) << 62)

/* Builds an event from an engine order (rescaling its price and quantity from the instrument's
 * scales to ND_SURV_DECIMALS) so that the engine can feed the pre-trade check. ND_EOVERFLOW or
 * ND_EPRECISION when the order's values do not fit the surveillance scale. */
nd_err_t nd_surv_event_from_order(const nd_order_t *order, const nd_instrument_t *inst,
                                  nd_surv_kind_t kind, uint32_t account, uint32_t owner,
                                  uint32_t symbol, uint32_t order_id, int64_t ts_ns,
                                  nd_surv_event_t *out /* OUT */);

/* ---- Rules and jurisdictions ------------------------------------------------------------ */

typedef enum nd_surv_rule {
    ND_SURV_WASH_TRADING = 0,
    ND_SURV_LAYERING = 1,
    ND_SURV_PATTERN_DAY_TRADING = 2,
    ND_SURV_HIGH_FREQUENCY = 3,
    ND_SURV_LARGE_VOLUME = 4,
    ND_SURV_RULE_COUNT = 5
} nd_surv_rule_t;

#define ND_SURV_RULE_BIT(rule) (1u << (unsigned)(rule))

/* Stable lower-case name: "wash_trading", "layering", "pattern_day_trading",
 * "high_frequency", "large_volume"; "unknown" otherwise. */
const char *nd_surv_rule_name(nd_surv_rule_t rule);

typedef enum nd_jurisdiction {
    ND_JUR_US = 0, /* SEC / FINRA */
    ND_JUR_EU = 1, /* MiFID II / MAR */
    ND_JUR_UK = 2, /* FCA (UK MAR, MAR 1 of the FCA Handbook) */
    ND_JUR_SG = 3, /* MAS (Securities and Futures Act Part 12) */
    ND_JUR_COUNT = 4
} nd_jurisdiction_t;

#define ND_JUR_BIT(j) (1u << (unsigned)(j))

/* A jurisdiction profile: which rules apply and their thresholds. 0 switches a threshold off.
 * Notional thresholds are in cash units of the price currency as given (no FX conversion). */
typedef struct nd_surv_profile {
    nd_jurisdiction_t jurisdiction;
    const char *code;          /* "US" */
    const char *name;          /* "United States (SEC / FINRA)" */
    const char *currency;      /* the currency the notional thresholds are meant in */
    const char *report_fields; /* comma-separated fields a report under this regime carries */
    uint32_t rules;            /* bit set of ND_SURV_RULE_BIT */
    /* High frequency: order messages (new + cancel) per account and symbol. */
    int64_t hf_window_ns;      /* sliding window */
    uint32_t hf_msgs_max;      /* alert when more messages than this fall in one window */
    uint32_t otr_max;          /* order-to-trade: messages per fill, per account, symbol, day */
    uint32_t otr_msgs_min;     /* the ratio is judged only from this many messages a day */
    /* Large volume. */
    int64_t order_notional_max; /* one new order's px * qty, cash units */
    int64_t daily_notional_max; /* one owner's filled notional in a UTC day, all symbols */
    uint32_t adv_share_bps;     /* one owner's filled qty in a symbol and day vs ADV */
    uint32_t adv_lookback_days; /* calendar days before the day, for an ADV from the events */
    uint32_t adv_days_min;      /* days with fills needed in the lookback */
    /* Wash trading: a buy and a sell fill of one owner in one symbol. */
    int64_t wash_window_ns;
    uint32_t wash_px_tolerance_bps;
    /* Layering / spoofing: orders on one side cancelled soon after a fill on the other. */
    int64_t layering_cancel_window_ns;
    uint32_t layering_orders_min;
    uint32_t layering_levels_min;
    /* Pattern day trading (FINRA Rule 4210(f)(8)(B)). */
    uint32_t pdt_day_trades_min;  /* 4 */
    uint32_t pdt_business_days;   /* 5 */
    int64_t pdt_equity_min;       /* 25,000.00 USD in cash units */
    uint32_t pdt_trade_share_bps; /* day trades must exceed this share of all trades: 600 */
    /* Strict pre-trade hard limits (nd_surv_pretrade_check). */
    int64_t pretrade_order_notional_max;
    uint32_t pretrade_msgs_max; /* messages per account and symbol per hf_window_ns */
} nd_surv_profile_t;

/* The built-in profile of a jurisdiction (static, never freed). */
const nd_surv_profile_t *nd_jurisdiction_profile(nd_jurisdiction_t j);
/* Parses a code ("US", "eu", case-insensitive; "GB" = UK, "SGP"/"SG" = Singapore). ND_ENOTFOUND. */
nd_err_t nd_jurisdiction_parse(const char *text, size_t len, nd_jurisdiction_t *out /* OUT */);
/* Parses a list such as "US,EU" (separators ',', '|', ';') into a bit set of ND_JUR_BIT.
 * ND_EPARSE naming the bad code in err. */
nd_err_t nd_jurisdiction_parse_list(const char *text, uint32_t *mask /* OUT */, char *err,
                                    size_t err_len);

/* ---- Accounts and scan options ---------------------------------------------------------- */

typedef enum nd_surv_account_type {
    ND_SURV_ACCOUNT_UNKNOWN = 0, /* counted as a margin account, and alerts say so */
    ND_SURV_ACCOUNT_CASH = 1,
    ND_SURV_ACCOUNT_MARGIN = 2
} nd_surv_account_type_t;

typedef struct nd_surv_account {
    uint32_t account;  /* dictionary id */
    nd_surv_account_type_t type;
    bool equity_known;
    int64_t equity;    /* cash units */
    uint32_t jurisdictions; /* ND_JUR_BIT set this account is under; 0 = every profile scanned */
} nd_surv_account_t;

/* A given average daily volume of a symbol (quantity, ND_SURV_DECIMALS). */
typedef struct nd_surv_adv {
    uint32_t symbol;
    int64_t qty;
} nd_surv_adv_t;

typedef struct nd_surv_options {
    const nd_surv_account_t *accounts; /* may be NULL: every account unknown type and equity */
    size_t account_count;
    const nd_surv_adv_t *adv;          /* given ADVs; may be NULL */
    size_t adv_count;
    bool adv_from_events;  /* derive a symbol's ADV from the events' own fills (lookback) */
    const int64_t *holidays; /* UTC days since the epoch that are not business days; sorted */
    size_t holiday_count;
    /* For error messages: when the events were read one per line from a file, the line of
     * event 0 (event i is on line first_line + i), so an overflow says "line N (event i)";
     * 0 when they did not come from a file. */
    uint32_t first_line;
} nd_surv_options_t;

/* ---- Scan inputs read from CSV files (surveil_csv.c) ------------------------------------ */

/* The header of an order-event CSV (ts ISO-8601 UTC or Unix ms; event new|cancel|fill; side
 * buy|sell; price and qty exact decimals at ND_SURV_DECIMALS). */
#define ND_SURV_CSV_HEADER "ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty"

/* What a scan reads: events, accounts and holidays, names interned in dict. init/deinit pair;
 * the arrays are nd_alloc'd and owned here (events may be handed in from the store, see
 * nd_store_surv_load, with _event_cap its capacity). */
typedef struct nd_surv_inputs {
    nd_surv_dict_t *dict;              /* borrowed: must outlive the inputs */
    uint32_t default_jurisdictions;    /* accounts without their own list fall under these */
    nd_surv_event_t *events;
    size_t event_count;
    nd_surv_account_t *accounts;
    size_t account_count;
    int64_t *holidays;                 /* UTC days since the epoch, sorted */
    size_t holiday_count;
    /* private */
    size_t _event_cap, _account_cap, _holiday_cap, _seen_cap;
    struct nd__surv_order_seen *_seen; /* first row of each order id, by dictionary id */
} nd_surv_inputs_t;

void nd_surv_inputs_init(nd_surv_inputs_t *in, nd_surv_dict_t *dict,
                         uint32_t default_jurisdictions);
void nd_surv_inputs_deinit(nd_surv_inputs_t *in);

/* Reads an order-event CSV (header ND_SURV_CSV_HEADER) into in->events. Every bad row stops the
 * read with "PATH:LINE: column 'text': why" in err; nothing is skipped. An order id keeps the
 * side, symbol, account and owner of its first row, and a row whose price x qty does not fit
 * 64-bit cash units is refused. A file without events is an error. ND_EPARSE (a bad row or
 * header), ND_ENOTFOUND/ND_EIO/ND_EINVAL (cannot open: a FIFO or a directory is refused without
 * blocking), ND_ENOMEM. */
nd_err_t nd_surv_csv_read_events(nd_surv_inputs_t *in, const char *path, char *err,
                                 size_t err_len);
/* Reads accounts (header account,type,equity[,jurisdiction]; type cash|margin or empty,
 * equity a decimal or empty = unknown, jurisdiction a list such as US|EU); errors as above. */
nd_err_t nd_surv_csv_read_accounts(nd_surv_inputs_t *in, const char *path, char *err,
                                   size_t err_len);
/* Reads holidays (header date, one YYYY-MM-DD a line) into in->holidays, sorted. */
nd_err_t nd_surv_csv_read_holidays(nd_surv_inputs_t *in, const char *path, char *err,
                                   size_t err_len);
/* Adds every account of the events that no accounts file listed, with unknown type and equity
 * under in->default_jurisdictions. ND_ENOMEM. */
nd_err_t nd_surv_inputs_complete_accounts(nd_surv_inputs_t *in);
/* Parses SYMBOL=QTY (the --adv option) into *out, the symbol interned in dict. ND_EPARSE with
 * the reason in err. */
nd_err_t nd_surv_adv_parse(nd_surv_dict_t *dict, const char *text, nd_surv_adv_t *out /* OUT */,
                           char *err, size_t err_len);

/* ---- Alerts ----------------------------------------------------------------------------- */

typedef struct nd_surv_alert {
    nd_surv_rule_t rule;
    nd_jurisdiction_t jurisdiction; /* the profile that raised it */
    uint32_t owner;  /* dictionary id, or ND_SURV_ID_NONE */
    uint32_t symbol; /* dictionary id, or ND_SURV_ID_NONE when the alert spans symbols */
    int64_t from_ns; /* time span of the evidence */
    int64_t to_ns;
    int64_t measured;  /* the figure that crossed the threshold, in the rule's unit */
    int64_t threshold; /* (see docs/surveillance.md: counts, cash units or ppm) */
    uint32_t account_count;
    uint32_t accounts[ND_SURV_ALERT_ACCOUNTS_MAX]; /* distinct, first seen first */
    uint32_t order_count;
    uint32_t orders[ND_SURV_ALERT_ORDERS_MAX];     /* distinct order ids, first seen first */
    uint32_t fill_count;
    uint32_t fills[ND_SURV_ALERT_FILLS_MAX]; /* trades: indexes into the scanned event array */
    bool truncated; /* more orders, accounts or fills were involved than kept */
    char reason[ND_SURV_REASON_MAX]; /* one human sentence: what, how much, which rule */
} nd_surv_alert_t;

/* A growable array of alerts. init/deinit pair; the scan appends. */
typedef struct nd_surv_alerts {
    nd_surv_alert_t *items;
    size_t count;
    size_t _cap; /* private */
} nd_surv_alerts_t;

void nd_surv_alerts_init(nd_surv_alerts_t *alerts);
void nd_surv_alerts_deinit(nd_surv_alerts_t *alerts);

/* Runs every rule of every profile over events[0..n) (any order: the scan orders them by time,
 * stably) and appends the alerts, sorted by (from, to, rule, jurisdiction, owner, symbol), so
 * the same input gives the same output. An alert is raised under a profile only when one of
 * its accounts is under that profile (nd_surv_account_t.jurisdictions); the same case seen by
 * two profiles is reported once per profile. Returns ND_EINVAL (err names the event index)
 * for a malformed event; ND_EOVERFLOW (err: "line N (event I): ..." with
 * options->first_line, else "event I (data row I+1): ...") for an event whose
 * notional does not fit int64, a time past ND_SURV_TS_ABS_MAX, or a sum a rule keeps (a
 * position, a day's notional or quantity) that overflows: never a clamped figure; ND_ENOMEM;
 * on error `alerts` keeps what it held before.
 * Cost O(n log n) at worst (sorting), O(n) on time-ordered input; memory O(n + ids). */
nd_err_t nd_surv_scan(const nd_surv_event_t *events, size_t n,
                      const nd_surv_profile_t *const *profiles, size_t profile_count,
                      const nd_surv_options_t *options, nd_surv_alerts_t *alerts /* OUT */,
                      char *err, size_t err_len);

/* The alert as a JSON object (jansson, caller decrefs): rule, jurisdiction, owner, symbol,
 * accounts, order_ids, from, to (ISO-8601 UTC), reason, measured, threshold, truncated and
 * trades [{order_id, account, ts, side, price, qty}] looked up in the scanned events. NULL on
 * out of memory. */
struct json_t;
struct json_t *nd_surv_alert_to_json(const nd_surv_alert_t *alert, const nd_surv_dict_t *dict,
                                     const nd_surv_event_t *events, size_t n);

/* ---- Strict pre-trade mode -------------------------------------------------------------- */

/* Incremental pre-trade state: the resting orders of every owner and each account's recent
 * message times. Not thread-safe; one per engine. */
typedef struct nd_surv_pretrade nd_surv_pretrade_t;

/* Creates the state for a profile (kept by pointer: it must outlive the state). ND_ENOMEM. */
nd_err_t nd_surv_pretrade_create(const nd_surv_profile_t *profile,
                                 nd_surv_pretrade_t **out /* OUT */);
void nd_surv_pretrade_destroy(nd_surv_pretrade_t *state);

/* Checks a new order (kind ND_SURV_NEW) before it is sent. Returns ND_REJECT_NONE, or
 * ND_REJECT_SELF_MATCH when it would cross a resting opposite order of the same owner in the
 * same symbol (a market order crosses any), or ND_REJECT_SURVEILLANCE_LIMIT when its notional
 * or the account's message rate in the symbol breaches the profile's hard limits, or
 * ND_REJECT_POOL_EXHAUSTED when the state cannot hold another resting order, or
 * ND_REJECT_OVERFLOW when its price x quantity does not fit 64-bit cash units. On a reject,
 * *alert (when not NULL) is filled with the evidence, ready to record. Does not change the
 * state: apply the order with nd_surv_pretrade_apply once it is sent. O(resting orders). */
nd_reject_t nd_surv_pretrade_check(const nd_surv_pretrade_t *state, const nd_surv_event_t *order,
                                   nd_surv_alert_t *alert /* OUT, may be NULL */);

/* Records an event that happened: a sent order rests, a cancel removes it, a fill reduces it;
 * new and cancel count as messages. ND_EFULL past ND_ORDERS_OPEN_MAX resting orders or 4096
 * account-symbol pairs, ND_EINVAL for a malformed event. */
nd_err_t nd_surv_pretrade_apply(nd_surv_pretrade_t *state, const nd_surv_event_t *event);

/* Creates the message-rate ring of an (account, symbol) pair now, so that the first message of
 * that pair does not allocate later (the engine reserves its pairs at start, keeping its
 * per-order path free of allocation). Idempotent. ND_EFULL past 4096 pairs, ND_ENOMEM. */
nd_err_t nd_surv_pretrade_reserve(nd_surv_pretrade_t *state, uint32_t account, uint32_t symbol);

/* Resting orders currently held (for tests and reports). */
size_t nd_surv_pretrade_resting(const nd_surv_pretrade_t *state);

#endif
