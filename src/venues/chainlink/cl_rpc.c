/* cl_rpc.c: the Ethereum JSON-RPC client for Chainlink feeds: eth_call over HTTP(S) with
 * fallback across endpoints, and the read of a feed (decimals, description, a round).
 *
 * Invariants: endpoint URLs may carry API keys (".../v3/<key>"), so errors name endpoints by
 * position ("endpoint 2"), never by URL; every request has a timeout, so one dead endpoint costs
 * at most timeout_ms before the next is tried; a reply is used only when it is a JSON-RPC 2.0
 * object with our id and a hex result. */
#include "noderr/chainlink.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/venue.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t err_len, const char *text)
{
    if (err && err_len)
        snprintf(err, err_len, "%s", text);
}

nd_err_t nd_chainlink_client_init(nd_chainlink_client_t *client, const char *urls, long timeout_ms,
                                  char *err, size_t err_len)
{
    ND_ASSERT(client != NULL);
    ND_ASSERT(urls != NULL);
    memset(client, 0, sizeof *client);
    client->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    client->last_endpoint = -1;
    const char *p = urls;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool scheme_ok = (len > 7 && strncmp(p, "http://", 7) == 0) ||
                         (len > 8 && strncmp(p, "https://", 8) == 0);
        if (!scheme_ok || client->endpoint_count == ND_CHAINLINK_ENDPOINTS_MAX) {
            set_err(err, err_len, scheme_ok ? "--rpc: more than 8 endpoints"
                                            : "--rpc: each endpoint must be an http:// or "
                                              "https:// URL");
            nd_chainlink_client_deinit(client);
            return ND_EINVAL;
        }
        char *copy = nd_alloc(len + 1);
        if (!copy) {
            nd_chainlink_client_deinit(client);
            return ND_ENOMEM;
        }
        memcpy(copy, p, len);
        copy[len] = '\0';
        client->endpoints[client->endpoint_count++] = copy;
        p += len + (comma ? 1 : 0);
    }
    if (client->endpoint_count == 0) {
        set_err(err, err_len, "--rpc: no endpoint given");
        return ND_EINVAL;
    }
    return ND_OK;
}

void nd_chainlink_client_deinit(nd_chainlink_client_t *client)
{
    ND_ASSERT(client != NULL);
    ND_ASSERT(client->endpoint_count <= ND_CHAINLINK_ENDPOINTS_MAX);
    for (size_t i = 0; i < client->endpoint_count; i++)
        nd_free(client->endpoints[i]);
    client->endpoint_count = 0;
}

/* Block tags are "latest", "earliest", "pending", "safe", "finalized" or 0x-hex. */
static bool block_tag_valid(const char *tag)
{
    static const char *const names[] = {"latest", "earliest", "pending", "safe", "finalized"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(tag, names[i]) == 0)
            return true;
    if (strncmp(tag, "0x", 2) != 0 || tag[2] == '\0' || strlen(tag) > 18)
        return false;
    return strspn(tag + 2, "0123456789abcdefABCDEF") == strlen(tag + 2);
}

typedef enum reply_kind { REPLY_OK, REPLY_REVERT, REPLY_BAD } reply_kind_t;

/* Reads a JSON-RPC reply body; on REPLY_OK the result bytes are in out. */
static reply_kind_t read_reply(const char *body, size_t body_len, uint64_t id, uint8_t *out,
                               size_t cap, size_t *out_len, char *why, size_t why_len)
{
    json_t *root = json_loadb(body, body_len, 0, NULL);
    reply_kind_t kind = REPLY_BAD;
    json_t *jid = json_object_get(root, "id"), *result = json_object_get(root, "result");
    json_t *error = json_object_get(root, "error");
    if (!json_is_object(root)) {
        snprintf(why, why_len, "reply is not a JSON object");
    } else if (!json_is_integer(jid) || (uint64_t)json_integer_value(jid) != id) {
        snprintf(why, why_len, "reply id does not match the request");
    } else if (json_is_object(error)) {
        const char *msg = json_string_value(json_object_get(error, "message"));
        /* A revert is the contract's answer (e.g. an unknown round), the same on every node. */
        kind = msg && strstr(msg, "revert") ? REPLY_REVERT : REPLY_BAD;
        snprintf(why, why_len, "JSON-RPC error %lld: %.120s",
                 (long long)json_integer_value(json_object_get(error, "code")), msg ? msg : "");
    } else if (!json_is_string(result)) {
        snprintf(why, why_len, "reply has no result");
    } else if (nd_abi_hex_decode(json_string_value(result), json_string_length(result), out, cap,
                                 out_len) != ND_OK) {
        snprintf(why, why_len, "result is not 0x-hex of at most %zu bytes", cap);
    } else {
        kind = REPLY_OK;
    }
    json_decref(root);
    return kind;
}

/* One request to one endpoint. */
static reply_kind_t call_one(nd_chainlink_client_t *client, nd_http_t *http, size_t index,
                             const char *request, uint8_t *out, size_t cap, size_t *out_len,
                             char *why, size_t why_len)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    nd_http_response_t resp;
    char herr[160];
    if (nd_http_request(http, "POST", client->endpoints[index], headers, request, &resp, herr,
                        sizeof herr) != ND_OK) {
        /* The transport error may quote the URL, which may hold an API key: cut it out. */
        const char *url = client->endpoints[index], *at = strstr(herr, url);
        if (at)
            snprintf(why, why_len, "%.*s<url>%s", (int)(at - herr), herr, at + strlen(url));
        else
            snprintf(why, why_len, "%s", herr);
        return REPLY_BAD;
    }
    reply_kind_t kind = REPLY_BAD;
    if (resp.status != 200)
        snprintf(why, why_len, "HTTP status %ld", resp.status);
    else
        kind = read_reply(resp.body, resp.body_len, client->request_id, out, cap, out_len, why,
                          why_len);
    nd_http_response_free(&resp);
    return kind;
}

nd_err_t nd_chainlink_eth_call(nd_chainlink_client_t *client, const char *to,
                               const char *calldata_hex, const char *block_tag, uint8_t *out,
                               size_t cap, size_t *out_len, char *err, size_t err_len)
{
    ND_ASSERT(client && to && calldata_hex && block_tag);
    ND_ASSERT(out && out_len && client->endpoint_count > 0);
    if (!nd_chainlink_address_valid(to) || !block_tag_valid(block_tag)) {
        set_err(err, err_len, nd_chainlink_address_valid(to) ? "eth_call: bad block tag"
                                                             : "eth_call: bad address");
        return ND_EINVAL;
    }
    nd_http_t *http = NULL;
    nd_err_t rc = nd_http_create(client->timeout_ms, &http);
    if (rc != ND_OK)
        return rc;
    char request[512], summary[768] = "", why[200];
    size_t used = 0;
    rc = ND_EIO;
    for (size_t i = 0; i < client->endpoint_count; i++) {
        client->request_id++;
        snprintf(request, sizeof request,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"eth_call\",\"params\":[{\"to\":\"%s\","
                 "\"data\":\"%s\"},\"%s\"],\"id\":%llu}",
                 to, calldata_hex, block_tag, (unsigned long long)client->request_id);
        reply_kind_t kind = call_one(client, http, i, request, out, cap, out_len, why, sizeof why);
        if (kind == REPLY_OK || kind == REPLY_REVERT) {
            client->last_endpoint = (int)i;
            rc = kind == REPLY_OK ? ND_OK : ND_EDECLINED;
            if (kind == REPLY_REVERT && err && err_len)
                snprintf(err, err_len, "eth_call reverted (endpoint %zu): %s", i + 1, why);
            break;
        }
        client->failovers++;
        int n = snprintf(summary + used, sizeof summary - used, "%sendpoint %zu: %s",
                         used ? "; " : "", i + 1, why);
        if (n > 0 && (size_t)n < sizeof summary - used)
            used += (size_t)n;
    }
    nd_http_destroy(http);
    if (rc == ND_EIO && err && err_len)
        snprintf(err, err_len, "every RPC endpoint failed: %s", summary);
    return rc;
}

static nd_err_t call_decode(nd_chainlink_client_t *client, const char *address, const char *tag,
                            const char *calldata, uint8_t *buf, size_t *len, char *err,
                            size_t err_len)
{
    return nd_chainlink_eth_call(client, address, calldata, tag, buf, ND_CHAINLINK_RESULT_MAX, len,
                                 err, err_len);
}

nd_err_t nd_chainlink_read_feed(nd_chainlink_client_t *client, const char *address,
                                const char *block_tag, const unsigned __int128 *round_id,
                                nd_chainlink_reading_t *out, char *err, size_t err_len)
{
    ND_ASSERT(client && address && block_tag);
    ND_ASSERT(out != NULL);
    uint8_t *buf = nd_alloc(ND_CHAINLINK_RESULT_MAX);
    if (!buf)
        return ND_ENOMEM;
    nd_chainlink_reading_t r;
    memset(&r, 0, sizeof r);
    char calldata[ND_CHAINLINK_CALLDATA_HEX_MAX];
    size_t len = 0;
    nd_abi_encode_call0(ND_CHAINLINK_SEL_DECIMALS, calldata);
    nd_err_t rc = call_decode(client, address, block_tag, calldata, buf, &len, err, err_len);
    if (rc == ND_OK && (rc = nd_chainlink_decode_decimals(buf, len, &r.decimals)) != ND_OK)
        set_err(err, err_len, "decimals(): malformed ABI result");
    if (rc == ND_OK) {
        nd_abi_encode_call0(ND_CHAINLINK_SEL_DESCRIPTION, calldata);
        rc = call_decode(client, address, block_tag, calldata, buf, &len, err, err_len);
        if (rc == ND_OK && (rc = nd_abi_decode_string(buf, len, r.description,
                                                      sizeof r.description)) != ND_OK)
            set_err(err, err_len, "description(): malformed ABI string");
    }
    if (rc == ND_OK) {
        if (round_id)
            rc = nd_abi_encode_get_round_data(*round_id, calldata);
        else
            nd_abi_encode_call0(ND_CHAINLINK_SEL_LATEST_ROUND_DATA, calldata);
        if (rc == ND_OK)
            rc = call_decode(client, address, block_tag, calldata, buf, &len, err, err_len);
        if (rc == ND_OK && (rc = nd_chainlink_decode_round(buf, len, &r.round)) != ND_OK)
            set_err(err, err_len, round_id ? "getRoundData(): malformed or out-of-range ABI result"
                                           : "latestRoundData(): malformed or out-of-range ABI "
                                             "result");
        r.endpoint_index = client->last_endpoint;
    }
    nd_free(buf);
    if (rc == ND_OK)
        *out = r;
    return rc;
}
