/* cmd_oracle.c: `noderr oracle`: reads a Chainlink feed over Ethereum JSON-RPC (eth_call) with
 * fallback across endpoints, and reports the answer with its staleness verdict.
 *
 * Exit codes: 0 a fresh answer, 1 a check failed (stale or invalid answer), 2 usage or input
 * error (bad option, every RPC endpoint down, a revert). Endpoint URLs may embed API keys, so
 * they are never printed: endpoints are named by position. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/chainlink.h"
#include "noderr/clock.h"
#include "noderr/coinbase.h"
#include "noderr/refprice.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int nd_cmd_oracle(int argc, char **argv);

/* ---- oracle ------------------------------------------------------------------------------- */

typedef struct oracle_opts {
    const char *rpc, *feed, *block, *round;
    const char *address;
    const char *name;
    int64_t heartbeat_s, margin_s, timeout_ms;
    int64_t now_s; /* -1 until --now: the OS clock's */
    bool as_json;
} oracle_opts_t;

static const char usage_text[] =
    "usage: noderr oracle --rpc URL[,URL...] --feed ADDRESS|NAME [--json]\n"
    "         [--block latest|0xHEX] [--round ID] [--heartbeat S] [--margin S]\n"
    "         [--now UNIX_S] [--timeout-ms MS]\n"
    "Reads decimals(), description() and latestRoundData() (or getRoundData(ID))\n"
    "of a Chainlink AggregatorV3Interface feed, trying the endpoints in order, and\n"
    "checks the answer: > 0, updatedAt set and not in the future, answeredInRound >=\n"
    "roundId, age <= heartbeat + margin. Named feeds: ETH/USD, BTC/USD (mainnet).\n"
    "Exit 0 fresh, 1 stale or invalid, 2 usage or RPC error.\n";

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("rpc", oracle_opts_t, rpc),
    ND_CLI_TEXT("feed", oracle_opts_t, feed),
    ND_CLI_TEXT("block", oracle_opts_t, block),
    ND_CLI_TEXT("round", oracle_opts_t, round),
    ND_CLI_INT("heartbeat", oracle_opts_t, heartbeat_s, 1, 86400 * 7),
    ND_CLI_INT("margin", oracle_opts_t, margin_s, 0, 86400),
    ND_CLI_INT("timeout-ms", oracle_opts_t, timeout_ms, 1, 600000),
    ND_CLI_INT("now", oracle_opts_t, now_s, 0, 1LL << 40),
    ND_CLI_SET("json", oracle_opts_t, as_json),
    ND_CLI_OPTS_END,
};

static int oracle_resolve(oracle_opts_t *o)
{
    if (!o->rpc || !o->feed) {
        fprintf(stderr, "noderr oracle: --rpc and --feed are required\n");
        return -1;
    }
    const nd_chainlink_feed_info_t *info = nd_chainlink_feed_find(o->feed);
    if (info) {
        o->address = info->address;
        o->name = info->name;
        if (o->heartbeat_s == 0)
            o->heartbeat_s = info->heartbeat_s;
    } else if (nd_chainlink_address_valid(o->feed)) {
        o->address = o->feed;
        o->name = o->feed;
    } else {
        fprintf(stderr, "noderr oracle: --feed '%s' is neither 0x + 40 hex digits nor a known "
                        "feed (ETH/USD, BTC/USD)\n", o->feed);
        return -1;
    }
    if (o->heartbeat_s == 0)
        o->heartbeat_s = 3600;
    if (o->now_s < 0)
        o->now_s = nd_clock_now_ns(nd_clock_os()) / ND_NS_PER_SEC;
    return 0;
}

static json_t *reading_json(const oracle_opts_t *o, const nd_chainlink_reading_t *r,
                            nd_oracle_status_t st, const nd_chainlink_client_t *client)
{
    char round[48], answer[48], answered[48], price[64];
    nd_chainlink_format_u128(r->round.round_id, round, sizeof round);
    nd_chainlink_format_i128(r->round.answer, answer, sizeof answer);
    nd_chainlink_format_u128(r->round.answered_in_round, answered, sizeof answered);
    nd_chainlink_format_price(r->round.answer, r->decimals, price, sizeof price);
    json_t *j = json_object();
    json_object_set_new(j, "feed", json_string(o->name));
    json_object_set_new(j, "address", json_string(o->address));
    json_object_set_new(j, "description", json_string(r->description));
    json_object_set_new(j, "decimals", json_integer(r->decimals));
    json_object_set_new(j, "round_id", json_string(round));
    json_object_set_new(j, "phase_id", json_integer((json_int_t)(r->round.round_id >> 64)));
    json_object_set_new(j, "aggregator_round_id",
                        json_integer((json_int_t)(uint64_t)(r->round.round_id & UINT64_MAX)));
    json_object_set_new(j, "answer", json_string(answer));
    json_object_set_new(j, "price", json_string(price));
    json_object_set_new(j, "started_at", json_integer(r->round.started_at_s));
    json_object_set_new(j, "updated_at", json_integer(r->round.updated_at_s));
    json_object_set_new(j, "answered_in_round", json_string(answered));
    json_object_set_new(j, "age_s", json_integer(o->now_s - r->round.updated_at_s));
    json_object_set_new(j, "heartbeat_s", json_integer(o->heartbeat_s));
    json_object_set_new(j, "status", json_string(nd_oracle_status_class(st)));
    json_object_set_new(j, "reason", json_string(nd_oracle_status_name(st)));
    json_object_set_new(j, "endpoint", json_integer(r->endpoint_index + 1));
    json_object_set_new(j, "failovers", json_integer((json_int_t)client->failovers));
    return j;
}

static int oracle_report(const oracle_opts_t *o, const nd_chainlink_reading_t *r,
                         const nd_chainlink_client_t *client)
{
    nd_oracle_status_t st = nd_chainlink_check(&r->round, o->now_s, o->heartbeat_s, o->margin_s);
    json_t *j = reading_json(o, r, st, client);
    if (o->as_json) {
        nd_cli_print_json(j);
    } else {
        printf("%s (%s) %s = %s  round %s  updated %lld (%lld s ago, heartbeat %lld s)\n",
               r->description, o->address, o->name,
               json_string_value(json_object_get(j, "price")),
               json_string_value(json_object_get(j, "round_id")),
               (long long)r->round.updated_at_s, (long long)(o->now_s - r->round.updated_at_s),
               (long long)o->heartbeat_s);
        printf("status: %s (%s), endpoint %d\n", nd_oracle_status_class(st),
               nd_oracle_status_name(st), r->endpoint_index + 1);
    }
    json_decref(j);
    return st == ND_ORACLE_OK ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
}

int nd_cmd_oracle(int argc, char **argv)
{
    oracle_opts_t o = {.block = "latest", .timeout_ms = 5000, .now_s = -1};
    int a = nd_cli_parse("oracle", argc, argv, options, usage_text, NULL, &o);
    if (a != 0)
        return a < 0 ? ND_EXIT_OK : a;
    if (oracle_resolve(&o) != 0)
        return ND_EXIT_USAGE;
    unsigned __int128 round_id = 0;
    if (o.round && nd_chainlink_parse_u128(o.round, &round_id) != ND_OK) {
        fprintf(stderr, "noderr oracle: --round '%s' is not a whole number\n", o.round);
        return ND_EXIT_USAGE;
    }
    char err[1024];
    nd_chainlink_client_t client;
    if (nd_chainlink_client_init(&client, o.rpc, (long)o.timeout_ms, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr oracle: %s\n", err);
        return ND_EXIT_USAGE;
    }
    nd_chainlink_reading_t r;
    nd_err_t rc = nd_chainlink_read_feed(&client, o.address, o.block, o.round ? &round_id : NULL,
                                         &r, err, sizeof err);
    int exit_code = ND_EXIT_USAGE;
    if (rc == ND_OK)
        exit_code = oracle_report(&o, &r, &client);
    else
        fprintf(stderr, "noderr oracle: %s\n", err);
    nd_chainlink_client_deinit(&client);
    return exit_code;
}
