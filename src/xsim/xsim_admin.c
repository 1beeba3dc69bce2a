/* xsim_admin.c: exchange-sim's admin API: fault injection for tests and rehearsals.
 *
 * POST /admin/fault with "Authorization: Bearer <token>" (the --admin-token-file token,
 * compared in constant time) and a JSON body naming one fault:
 *   {"fault":"disconnect"}                       close every stream connection (1001)
 *   {"fault":"stale","ms":T}                     market updates stop for T ms, sockets stay up
 *   {"fault":"drop"|"duplicate","count":N}       the next N market stream messages
 *   {"fault":"corrupt","count":N}                the next N messages cut in half (not JSON)
 *   {"fault":"delay","count":N,"ms":T}           hold the next N messages T ms (they reorder)
 *     (these four take "every":K: every K-th message, N times, spread out; count 0 ends one)
 *   {"fault":"gap"}                              the next depth diff never leaves (a U gap)
 *   {"fault":"user_stream_end"}                  every WebSocket API user data subscription
 *                                                ends with eventStreamTerminated
 *   {"fault":"user_drop","count":N[,"gap":false]} Coinbase: the next N user channel updates are
 *                                                not sent (their sequence_num spent, or with
 *                                                gap false not: a loss no gap reveals)
 *   {"fault":"reject","count":N,"code":C}        the next N new orders fail with Binance code C
 *   {"fault":"rate_limit","ms":T}                every REST request gets 429 for T ms
 *   {"fault":"skew","ms":S}                      serverTime and timestamp checks shifted S ms
 *   {"fault":"partial_fills","on":true|false}    a new order matches at most half its quantity
 *   {"fault":"spike","pct":P}                    one trade print P% off the mid
 *   {"fault":"crash","pct":P,"ms":T}             prices fall P% (< 0) over T ms, recover half
 *                                                over T ms; pct 0 ends it
 *   {"fault":"thin","depth_pct":D,"spread_x":S}  the book at D% depth, spreads S times wider;
 *                                                100 and 1 end it
 * and GET /admin/latency (same token): the wire-to-wire samples (latency_answer).
 * Without a token the admin API does not exist (404). Each fault applied is logged (never the
 * token). Answers {"fault":..,"applied":true} or {"code":-1102,"msg":..}. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nd_err_t answer(nd_xsim_response_t *resp, int status, json_t *doc)
{
    return nd__xsim_respond(resp, status, doc, JSON_COMPACT);
}

static nd_err_t refuse(nd_xsim_response_t *resp, int status, int code, const char *msg)
{
    return answer(resp, status, json_pack("{s:i,s:s}", "code", code, "msg", msg));
}

static bool token_ok(const char *want, const char *auth)
{
    if (strncmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    size_t n = strlen(want);
    if (strlen(given) != n)
        return false;
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(want[i] ^ given[i]);
    return diff == 0;
}

/* The market-event faults; false when the name or its fields are wrong. */
static bool apply_market(nd_xsim_t *x, const char *fault, json_t *doc, int64_t now_ns)
{
    json_int_t pct = json_integer_value(json_object_get(doc, "pct"));
    json_int_t ms = json_integer_value(json_object_get(doc, "ms"));
    json_int_t depth = json_integer_value(json_object_get(doc, "depth_pct"));
    json_int_t spread = json_integer_value(json_object_get(doc, "spread_x"));
    if (strcmp(fault, "spike") == 0 && pct > -100 && pct <= 1000 && pct != 0)
        nd_xsim_fault_spike(x, pct);
    else if (strcmp(fault, "crash") == 0 && pct > -100 && pct <= 0 && ms >= 0)
        nd_xsim_fault_crash(x, pct, ms, now_ns);
    else if (strcmp(fault, "thin") == 0 && depth > 0 && depth <= 100 && spread >= 1 &&
             spread <= 1000)
        nd_xsim_fault_thin(x, depth, spread);
    else
        return false;
    return true;
}

/* Applies the named fault; false when the name or its fields are wrong. */
static bool apply(nd_xsim_api_t *api, nd_xsim_t *x, nd__xsim_streams_t *streams, const char *fault,
                  json_t *doc, int64_t now_ns)
{
    json_int_t count = json_integer_value(json_object_get(doc, "count"));
    json_int_t ms = json_integer_value(json_object_get(doc, "ms"));
    json_int_t code = json_integer_value(json_object_get(doc, "code"));
    json_int_t every = json_integer_value(json_object_get(doc, "every"));
    bool message_fault = strcmp(fault, "drop") == 0 || strcmp(fault, "duplicate") == 0 ||
                         strcmp(fault, "corrupt") == 0;
    if (count < 0 || ms < -86400000 || ms > 86400000 || every < 0 || every > 1000000)
        return false;
    if (strcmp(fault, "disconnect") == 0)
        nd__xsim_streams_disconnect_all(streams);
    else if (strcmp(fault, "stale") == 0 && ms > 0)
        nd_xsim_fault_stale(x, now_ns + ms * ND_NS_PER_MS);
    else if (message_fault)
        nd__xsim_streams_fault(streams, fault, count, every, 0);
    else if (strcmp(fault, "delay") == 0 && (count == 0 || ms > 0))
        nd__xsim_streams_fault(streams, fault, count, every, ms * ND_NS_PER_MS);
    else if (strcmp(fault, "gap") == 0)
        nd__xsim_streams_gap(streams);
    else if (strcmp(fault, "user_drop") == 0)
        nd__xsim_streams_fault(streams, json_is_false(json_object_get(doc, "gap"))
                                            ? "user_drop_silent" : "user_drop",
                               count, 0, 0);
    else if (strcmp(fault, "user_stream_end") == 0)
        (void)nd__xsim_streams_terminate_user(streams, now_ns);
    else if (strcmp(fault, "reject") == 0 && count > 0 && code < 0)
        nd_xsim_fault_reject(x, count, code);
    else if (strcmp(fault, "rate_limit") == 0 && ms > 0)
        nd__xsim_api_fault_rate_limit(api, now_ns + ms * ND_NS_PER_MS);
    else if (strcmp(fault, "skew") == 0)
        nd__xsim_api_fault_skew(api, ms * ND_NS_PER_MS);
    else if (strcmp(fault, "partial_fills") == 0 && json_is_boolean(json_object_get(doc, "on")))
        nd_xsim_fault_partial(x, json_is_true(json_object_get(doc, "on")));
    else if (!apply_market(x, fault, doc, now_ns))
        return false;
    ND_LOG(ND_LOG_WARN, "xsim fault injected fault=%s count=%lld ms=%lld code=%lld", fault,
           (long long)count, (long long)ms, (long long)code);
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* GET /admin/latency: the wire-to-wire samples since the last call (then forgotten): from a
 * trade message handed to the sockets to the next accepted new order's request read, in ns:
 * {"count":N,"min_ns":..,"p50_ns":..,"p90_ns":..,"p99_ns":..,"max_ns":..} (zeros when none). */
static nd_err_t latency_answer(nd__xsim_streams_t *streams, nd_xsim_response_t *resp)
{
    int64_t *v = nd_calloc(ND__XSIM_W2W_MAX, sizeof *v);
    if (!v)
        return ND_ENOMEM;
    uint32_t n = nd__xsim_streams_take_latency(streams, v, ND__XSIM_W2W_MAX);
    qsort(v, n, sizeof *v, cmp_i64);
    json_int_t at[5] = {0};
    const uint32_t per_mille[5] = {0, 500, 900, 990, 1000}; /* the last: max */
    for (int i = 0; n > 0 && i < 5; i++)
        at[i] = (json_int_t)v[i == 4 ? n - 1 : (uint32_t)((uint64_t)n * per_mille[i] / 1000)];
    nd_free(v);
    return answer(resp, 200, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "count", (json_int_t)n,
                                       "min_ns", at[0], "p50_ns", at[1], "p90_ns", at[2],
                                       "p99_ns", at[3], "max_ns", at[4]));
}

nd_err_t nd__xsim_admin_handle(nd_xsim_api_t *api, nd_xsim_t *x, nd__xsim_streams_t *streams,
                               const char *method, const char *path, const char *auth,
                               const char *body, size_t body_len, int64_t now_ns,
                               nd_xsim_response_t *resp)
{
    ND_ASSERT(api != NULL && x != NULL && streams != NULL && resp != NULL);
    ND_ASSERT(method != NULL && path != NULL && auth != NULL);
    memset(resp, 0, sizeof *resp);
    const char *token = nd__xsim_api_admin_token(api);
    bool latency = strcmp(path, "/admin/latency") == 0 && strcmp(method, "GET") == 0;
    if (!token || (!latency && (strcmp(path, "/admin/fault") != 0 || strcmp(method, "POST") != 0)))
        return refuse(resp, 404, -1000, "Unknown path or method.");
    if (!token_ok(token, auth))
        return refuse(resp, 401, -2015, "Missing or wrong admin bearer token.");
    if (latency)
        return latency_answer(streams, resp);
    json_error_t jerr;
    json_t *doc = json_loadb(body ? body : "", body_len, 0, &jerr);
    const char *fault = json_string_value(json_object_get(doc, "fault"));
    if (!doc || !fault || strlen(fault) > 32 || !apply(api, x, streams, fault, doc, now_ns)) {
        json_decref(doc);
        return refuse(resp, 400, -1102, "Body must be JSON naming a known fault with its fields "
                                        "(docs/exchange-sim.md).");
    }
    nd_err_t rc = answer(resp, 200, json_pack("{s:s,s:b}", "fault", fault, "applied", 1));
    json_decref(doc);
    return rc;
}
