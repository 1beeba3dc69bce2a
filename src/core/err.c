/* err.c: names and messages for nd_err_t and nd_reject_t, generated from the X-macro maps. */
#include "noderr/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *nd_err_name(nd_err_t err)
{
    switch (err) {
#define ND__ERR_NAME(name, value, msg)                                                             \
    case ND_##name:                                                                                \
        return #name;
        ND_ERR_MAP(ND__ERR_NAME)
#undef ND__ERR_NAME
    }
    return "UNKNOWN";
}

const char *nd_strerror(nd_err_t err)
{
    switch (err) {
#define ND__ERR_MSG(name, value, msg)                                                              \
    case ND_##name:                                                                                \
        return msg;
        ND_ERR_MAP(ND__ERR_MSG)
#undef ND__ERR_MSG
    }
    return "unknown error";
}

/* Lower-case stable names, written once here so that logs, JSON and the store agree. */
const char *nd_reject_name(nd_reject_t reason)
{
    switch (reason) {
    case ND_REJECT_NONE: return "none";
    case ND_REJECT_HALTED: return "halted";
    case ND_REJECT_KILL_SWITCH: return "kill_switch";
    case ND_REJECT_POSITION_LIMIT_EXCEEDED: return "position_limit_exceeded";
    case ND_REJECT_NOTIONAL_LIMIT_EXCEEDED: return "notional_limit_exceeded";
    case ND_REJECT_PRICE_OUTSIDE_BAND: return "price_outside_band";
    case ND_REJECT_RATE_LIMIT_EXCEEDED: return "rate_limit_exceeded";
    case ND_REJECT_INSUFFICIENT_FUNDS: return "insufficient_funds";
    case ND_REJECT_INSUFFICIENT_POSITION: return "insufficient_position";
    case ND_REJECT_BELOW_MIN_NOTIONAL: return "below_min_notional";
    case ND_REJECT_INVALID_QUANTITY: return "invalid_quantity";
    case ND_REJECT_INVALID_PRICE: return "invalid_price";
    case ND_REJECT_NO_MARKET_DATA: return "no_market_data";
    case ND_REJECT_OVERFLOW: return "overflow";
    case ND_REJECT_UNKNOWN_INSTRUMENT: return "unknown_instrument";
    case ND_REJECT_DUPLICATE_CLIENT_ID: return "duplicate_client_id";
    case ND_REJECT_POOL_EXHAUSTED: return "pool_exhausted";
    case ND_REJECT_SELF_MATCH: return "self_match";
    case ND_REJECT_SURVEILLANCE_LIMIT: return "surveillance_limit";
    case ND_REJECT_ABOVE_MAX_NOTIONAL: return "above_max_notional";
    case ND_REJECT_VENUE_RATE_LIMITED: return "venue_rate_limited";
    case ND_REJECT_VENUE_BANNED: return "venue_banned";
    case ND_REJECT_VENUE_TIMESTAMP: return "venue_timestamp";
    case ND_REJECT_VENUE_UNAUTHORIZED: return "venue_unauthorized";
    case ND_REJECT_VENUE_FILTER_FAILURE: return "venue_filter_failure";
    case ND_REJECT_VENUE_ORDER_REJECTED: return "venue_order_rejected";
    case ND_REJECT_VENUE_UNKNOWN_ORDER: return "venue_unknown_order";
    case ND_REJECT_VENUE_BAD_REQUEST: return "venue_bad_request";
    case ND_REJECT_VENUE_STATUS_UNKNOWN: return "venue_status_unknown";
    case ND_REJECT_VENUE_SYMBOL_NOT_TRADING: return "venue_symbol_not_trading";
    case ND_REJECT_VENUE_ERROR: return "venue_error";
    }
    return "unknown";
}

const char *nd_reject_message(nd_reject_t reason)
{
    switch (reason) {
#define ND__REJECT_MSG(name, value, msg)                                                           \
    case ND_REJECT_##name:                                                                         \
        return msg;
        ND_REJECT_MAP(ND__REJECT_MSG)
#undef ND__REJECT_MSG
    }
    return "unknown reject reason";
}

void nd_err_put(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}
