/* err.h: the one error enum of Noderr, and the separate enum of business rejects.
 *
 * Errors are values: fallible functions return nd_err_t, ND_OK (0) on success and a negative
 * code on failure. Values are explicit and never renumbered because they are written to logs
 * and, later, to the store. Business rejects (risk, compliance, venue) are data, not errors:
 * they travel as nd_reject_t inside events and never through nd_err_t. */
#ifndef NODERR_ERR_H
#define NODERR_ERR_H

#include <stddef.h>

#define ND_ERR_MAP(XX)                                                                             \
    XX(OK, 0, "success")                                                                           \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EOVERFLOW, -3, "arithmetic overflow")                                                       \
    XX(EAGAIN, -4, "resource temporarily unavailable, try again")                                  \
    XX(EDECLINED, -5, "declined: not handled here")                                                \
    XX(EIO, -6, "input/output error")                                                              \
    XX(EPARSE, -7, "malformed input")                                                              \
    XX(ERANGE, -8, "value out of range")                                                           \
    XX(ENOTFOUND, -9, "not found")                                                                 \
    XX(ESTATE, -10, "operation not allowed in the current state")                                  \
    XX(EFULL, -11, "capacity exhausted")                                                           \
    XX(EPRECISION, -12, "more decimal places than the fixed-point scale holds")                    \
    XX(EEOF, -13, "end of input")                                                                  \
    XX(EUSAGE, -14, "usage error")                                                                 \
    XX(EEXIST, -15, "already exists")

typedef enum nd_err {
#define ND__ERR_ENUM(name, value, msg) ND_##name = (value),
    ND_ERR_MAP(ND__ERR_ENUM)
#undef ND__ERR_ENUM
} nd_err_t;

/* Returns the symbolic name ("EOVERFLOW") of an error code; "UNKNOWN" for a foreign value. */
const char *nd_err_name(nd_err_t err);
/* Returns a one-line human message for an error code; never NULL. */
const char *nd_strerror(nd_err_t err);

/* Formats an error detail into a caller's err buffer (the `char *err, size_t err_len` of every
 * fallible function); does nothing when err is NULL or err_len is 0, always NUL-terminates. */
void nd_err_put(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Business rejects: why an order was refused. Stable explicit values (persisted, counted). */
#define ND_REJECT_MAP(XX)                                                                          \
    XX(NONE, 0, "not rejected")                                                                    \
    XX(HALTED, 1, "trading is halted by a circuit breaker")                                        \
    XX(KILL_SWITCH, 2, "the kill switch is engaged")                                               \
    XX(POSITION_LIMIT_EXCEEDED, 3, "position would exceed the maximum share of equity")            \
    XX(NOTIONAL_LIMIT_EXCEEDED, 4, "order notional exceeds the maximum")                           \
    XX(PRICE_OUTSIDE_BAND, 5, "price outside the collar around the last price")                    \
    XX(RATE_LIMIT_EXCEEDED, 6, "order rate limit exceeded")                                        \
    XX(INSUFFICIENT_FUNDS, 7, "not enough cash for the order")                                     \
    XX(INSUFFICIENT_POSITION, 8, "selling more than is held (short selling is off)")               \
    XX(BELOW_MIN_NOTIONAL, 9, "order notional below the instrument minimum")                       \
    XX(INVALID_QUANTITY, 10, "quantity is zero, negative or not a multiple of the lot size")       \
    XX(INVALID_PRICE, 11, "price is not positive or not a multiple of the tick size")              \
    XX(NO_MARKET_DATA, 12, "no last price for the instrument yet")                                 \
    XX(OVERFLOW, 13, "order value overflows the fixed-point range")                                \
    XX(UNKNOWN_INSTRUMENT, 14, "unknown instrument")                                               \
    XX(DUPLICATE_CLIENT_ID, 15, "client order id already in use")                                  \
    XX(POOL_EXHAUSTED, 16, "too many open orders")                                               \
    XX(SELF_MATCH, 17, "order would trade against a resting order of the same beneficial owner")  \
    XX(SURVEILLANCE_LIMIT, 18, "order breaches a hard surveillance limit of the jurisdiction")   \
    XX(ABOVE_MAX_NOTIONAL, 30, "order notional above the instrument maximum")                     \
    XX(VENUE_RATE_LIMITED, 31, "the venue's request rate limit was hit (back off)")              \
    XX(VENUE_BANNED, 32, "the venue banned this IP for ignoring rate limits")                    \
    XX(VENUE_TIMESTAMP, 33, "request timestamp outside the venue's receive window")              \
    XX(VENUE_UNAUTHORIZED, 34, "the venue refused the API key, signature or permissions")        \
    XX(VENUE_FILTER_FAILURE, 35, "the venue's symbol filters refused the order")                 \
    XX(VENUE_ORDER_REJECTED, 36, "the venue's matching engine rejected the order")               \
    XX(VENUE_UNKNOWN_ORDER, 37, "the venue does not know the order")                              \
    XX(VENUE_BAD_REQUEST, 38, "the venue found a request parameter invalid")                     \
    XX(VENUE_STATUS_UNKNOWN, 39, "the venue did not answer in time: order status unknown")       \
    XX(VENUE_SYMBOL_NOT_TRADING, 40, "the symbol is not trading on the venue")                   \
    XX(VENUE_ERROR, 41, "the venue reported another error")

typedef enum nd_reject {
#define ND__REJECT_ENUM(name, value, msg) ND_REJECT_##name = (value),
    ND_REJECT_MAP(ND__REJECT_ENUM)
#undef ND__REJECT_ENUM
} nd_reject_t;

/* Returns the stable lower-case name ("position_limit_exceeded") of a reject reason. */
const char *nd_reject_name(nd_reject_t reason);
/* Returns a one-line human message for a reject reason; never NULL. */
const char *nd_reject_message(nd_reject_t reason);

#endif
