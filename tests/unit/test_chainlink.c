/* test_chainlink.c: Chainlink ABI encoding and decoding, number formatting, staleness rules and
 * the feed table (chainlink.h). Hex words are written out by hand here; the live mainnet capture
 * in ../shared/fixtures/chainlink is decoded when present and its documented values checked. */
#include "noderr/chainlink.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>


static size_t hex(const char *text, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    cr_assert_eq(nd_abi_hex_decode(text, strlen(text), buf, cap, &n), ND_OK, "hex %s", text);
    return n;
}

Test(chainlink_abi, hex_decode_errors)
{
    uint8_t b[4];
    size_t n = 99;
    cr_assert_eq(nd_abi_hex_decode("0x", 2, b, 4, &n), ND_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(nd_abi_hex_decode("0xA1b2", 6, b, 4, &n), ND_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(b[0], 0xa1);
    cr_assert_eq(b[1], 0xb2);
    cr_assert_eq(nd_abi_hex_decode("a1b2", 4, b, 4, &n), ND_EPARSE);
    cr_assert_eq(nd_abi_hex_decode("0xa1b", 5, b, 4, &n), ND_EPARSE);
    cr_assert_eq(nd_abi_hex_decode("0xg1", 4, b, 4, &n), ND_EPARSE);
    cr_assert_eq(nd_abi_hex_decode("0x0102030405", 12, b, 4, &n), ND_EFULL);
}

Test(chainlink_abi, negative_answer_round)
{
    /* Round 5, answer -12345 (two's complement), startedAt 100, updatedAt 200, answered 5: the
     * exact bytes our PriceFeed contract returned from ganache. */
    const char *r = "0x"
                    "0000000000000000000000000000000000000000000000000000000000000005"
                    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffcfc7"
                    "0000000000000000000000000000000000000000000000000000000000000064"
                    "00000000000000000000000000000000000000000000000000000000000000c8"
                    "0000000000000000000000000000000000000000000000000000000000000005";
    uint8_t b[160];
    size_t n = hex(r, b, sizeof b);
    nd_chainlink_round_t round;
    cr_assert_eq(nd_chainlink_decode_round(b, n, &round), ND_OK);
    cr_assert(round.round_id == 5);
    cr_assert(round.answer == -12345);
    cr_assert_eq(round.started_at_s, 100);
    cr_assert_eq(round.updated_at_s, 200);
    cr_assert(round.answered_in_round == 5);
    cr_assert_eq(nd_chainlink_check(&round, 250, 3600, 0), ND_ORACLE_INVALID_ANSWER);
    cr_assert_eq(nd_chainlink_decode_round(b, 159, &round), ND_EPARSE);
}

Test(chainlink_abi, out_of_range_words)
{
    uint8_t w[32];
    unsigned __int128 u;
    __int128 s;
    memset(w, 0, sizeof w);
    w[21] = 1; /* bit 80: one past a uint80 */
    cr_assert_eq(nd_abi_decode_uint(w, 80, &u), ND_ERANGE);
    w[21] = 0;
    w[22] = 0xff; /* the top byte of a uint80 */
    cr_assert_eq(nd_abi_decode_uint(w, 80, &u), ND_OK);
    cr_assert(u == (unsigned __int128)0xff << 72);
    /* int256 that needs more than 128 bits: high half not the sign extension. */
    memset(w, 0, sizeof w);
    w[15] = 1;
    cr_assert_eq(nd_abi_decode_int256(w, &s), ND_ERANGE);
    memset(w, 0xff, sizeof w);
    cr_assert_eq(nd_abi_decode_int256(w, &s), ND_OK);
    cr_assert(s == -1);
    /* Negative high half with a positive low half is not a valid sign extension. */
    w[16] = 0x7f;
    cr_assert_eq(nd_abi_decode_int256(w, &s), ND_ERANGE);
}

Test(chainlink_abi, dynamic_string)
{
    /* description() of our ganache feed: offset 0x20, length 9, "ETH / USD". */
    uint8_t b[256];
    char out[64];
    size_t n = hex("0x0000000000000000000000000000000000000000000000000000000000000020"
                   "0000000000000000000000000000000000000000000000000000000000000009"
                   "455448202f205553440000000000000000000000000000000000000000000000",
                   b, sizeof b);
    cr_assert_eq(nd_abi_decode_string(b, n, out, sizeof out), ND_OK);
    cr_assert_str_eq(out, "ETH / USD");
    /* Too small a buffer is a range error, not a truncation. */
    cr_assert_eq(nd_abi_decode_string(b, n, out, 9), ND_ERANGE);
    /* Offset not a multiple of 32. */
    b[31] = 0x21;
    cr_assert_eq(nd_abi_decode_string(b, n, out, sizeof out), ND_EPARSE);
    /* Offset past the end. */
    b[31] = 0x60;
    cr_assert_eq(nd_abi_decode_string(b, n, out, sizeof out), ND_EPARSE);
    /* Huge offset (2^255). */
    b[31] = 0x20;
    b[0] = 0x80;
    cr_assert_eq(nd_abi_decode_string(b, n, out, sizeof out), ND_EPARSE);
    b[0] = 0;
    /* Length running past the data. */
    b[63] = 33;
    cr_assert_eq(nd_abi_decode_string(b, n, out, sizeof out), ND_EPARSE);
    b[63] = 9;
    cr_assert_eq(nd_abi_decode_string(b, 40, out, sizeof out), ND_EPARSE);
    cr_assert_eq(nd_abi_decode_string(b, 0, out, sizeof out), ND_EPARSE);
}

Test(chainlink_abi, encode_calls)
{
    char c[ND_CHAINLINK_CALLDATA_HEX_MAX];
    nd_abi_encode_call0(ND_CHAINLINK_SEL_LATEST_ROUND_DATA, c);
    cr_assert_str_eq(c, "0xfeaf968c");
    nd_abi_encode_call0(ND_CHAINLINK_SEL_DECIMALS, c);
    cr_assert_str_eq(c, "0x313ce567");
    cr_assert_eq(nd_abi_encode_get_round_data(5, c), ND_OK);
    cr_assert_str_eq(c, "0x9a6fc8f5" "000000000000000000000000000000000000000000000000000000000000"
                        "0005");
    /* Phase 7, aggregator round 34248: (7 << 64) | 0x85c8. */
    unsigned __int128 id = ((unsigned __int128)7 << 64) | 0x85c8;
    cr_assert_eq(nd_abi_encode_get_round_data(id, c), ND_OK);
    cr_assert_str_eq(c, "0x9a6fc8f5" "00000000000000000000000000000000000000000000000700000000000085c8");
    cr_assert_eq(nd_abi_encode_get_round_data((unsigned __int128)1 << 80, c), ND_ERANGE);
}

Test(chainlink_format, numbers)
{
    char b[64];
    cr_assert_eq(nd_chainlink_format_price(272804000000, 8, b, sizeof b), 13);
    cr_assert_str_eq(b, "2728.04000000");
    nd_chainlink_format_price(-12345, 8, b, sizeof b);
    cr_assert_str_eq(b, "-0.00012345");
    nd_chainlink_format_price(5, 0, b, sizeof b);
    cr_assert_str_eq(b, "5");
    nd_chainlink_format_price(0, 2, b, sizeof b);
    cr_assert_str_eq(b, "0.00");
    nd_chainlink_format_price(100, 2, b, sizeof b);
    cr_assert_str_eq(b, "1.00");
    unsigned __int128 id = ((unsigned __int128)7 << 64) | 34248;
    nd_chainlink_format_u128(id, b, sizeof b);
    cr_assert_str_eq(b, "129127208515966895560");
    unsigned __int128 parsed;
    cr_assert_eq(nd_chainlink_parse_u128("129127208515966895560", &parsed), ND_OK);
    cr_assert(parsed == id);
    cr_assert_eq(nd_chainlink_parse_u128("0x700000000000085c8", &parsed), ND_OK);
    cr_assert(parsed == id);
    cr_assert_eq(nd_chainlink_parse_u128("12a", &parsed), ND_EPARSE);
    cr_assert_eq(nd_chainlink_parse_u128("", &parsed), ND_EPARSE);
    cr_assert_eq(nd_chainlink_parse_u128("999999999999999999999999999999999999999999", &parsed),
                 ND_ERANGE);
    __int128 min = -((__int128)1 << 126) * 2;
    nd_chainlink_format_i128(min, b, sizeof b);
    cr_assert_str_eq(b, "-170141183460469231731687303715884105728");
}

Test(chainlink_format, to_fixed)
{
    int64_t v;
    cr_assert_eq(nd_chainlink_answer_to_fixed(272804000000, 8, 8, &v), ND_OK);
    cr_assert_eq(v, 272804000000);
    cr_assert_eq(nd_chainlink_answer_to_fixed(272804000000, 8, 2, &v), ND_OK);
    cr_assert_eq(v, 272804);
    /* 0.125 to 2 places: tie, rounds to even 0.12; 0.135 to 0.14. */
    cr_assert_eq(nd_chainlink_answer_to_fixed(125, 3, 2, &v), ND_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(nd_chainlink_answer_to_fixed(135, 3, 2, &v), ND_OK);
    cr_assert_eq(v, 14);
    cr_assert_eq(nd_chainlink_answer_to_fixed(-135, 3, 2, &v), ND_OK);
    cr_assert_eq(v, -14);
    cr_assert_eq(nd_chainlink_answer_to_fixed(5, 0, 8, &v), ND_OK);
    cr_assert_eq(v, 500000000);
    cr_assert_eq(nd_chainlink_answer_to_fixed((__int128)1 << 100, 8, 8, &v), ND_EOVERFLOW);
}

static nd_chainlink_round_t round_of(int64_t answer, int64_t updated, unsigned id, unsigned in)
{
    nd_chainlink_round_t r = {.round_id = id, .answer = answer, .started_at_s = updated,
                              .updated_at_s = updated, .answered_in_round = in};
    return r;
}

Test(chainlink_check, staleness_rules)
{
    nd_chainlink_round_t r = round_of(100, 1000, 3, 3);
    cr_assert_eq(nd_chainlink_check(&r, 1000 + 3600, 3600, 0), ND_ORACLE_OK);
    cr_assert_eq(nd_chainlink_check(&r, 1000 + 3601, 3600, 0), ND_ORACLE_STALE_HEARTBEAT);
    cr_assert_eq(nd_chainlink_check(&r, 1000 + 3601, 3600, 1), ND_ORACLE_OK);
    cr_assert_eq(nd_chainlink_check(&r, 999, 3600, 0), ND_ORACLE_INVALID_FUTURE);
    r = round_of(100, 1000, 3, 2);
    cr_assert_eq(nd_chainlink_check(&r, 1000, 3600, 0), ND_ORACLE_STALE_ROUND);
    r = round_of(0, 1000, 3, 3);
    cr_assert_eq(nd_chainlink_check(&r, 1000, 3600, 0), ND_ORACLE_INVALID_ANSWER);
    r = round_of(-1, 1000, 3, 3);
    cr_assert_eq(nd_chainlink_check(&r, 1000, 3600, 0), ND_ORACLE_INVALID_ANSWER);
    r = round_of(1, 0, 3, 3);
    cr_assert_eq(nd_chainlink_check(&r, 1000, 3600, 0), ND_ORACLE_INVALID_NO_UPDATE);
    cr_assert_str_eq(nd_oracle_status_class(ND_ORACLE_STALE_ROUND), "stale");
    cr_assert_str_eq(nd_oracle_status_class(ND_ORACLE_INVALID_FUTURE), "invalid");
    cr_assert_str_eq(nd_oracle_status_name(ND_ORACLE_STALE_HEARTBEAT), "stale_heartbeat");
}

Test(chainlink_feeds, lookup)
{
    const nd_chainlink_feed_info_t *f = nd_chainlink_feed_find("eth-usd");
    cr_assert_not_null(f);
    cr_assert_str_eq(f->address, "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419");
    cr_assert_eq(nd_chainlink_feed_find("ETH / USD"), f);
    cr_assert_eq(nd_chainlink_feed_find("0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419"), f);
    cr_assert_eq(f->heartbeat_s, 3600);
    cr_assert_null(nd_chainlink_feed_find("DOGE/USD"));
    cr_assert(nd_chainlink_address_valid("0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c"));
    cr_assert(!nd_chainlink_address_valid("0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88"));
    cr_assert(!nd_chainlink_address_valid("F4030086522a5bEEa4988F8cA5B36dbC97BeE88c00"));
}

Test(chainlink_fixture, mainnet_latest_round_data)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures/chainlink/eth_call_latestRoundData_ETH-USD_block_"
             "26103003.json", ND_SHARED_DIR);
    struct stat st;
    if (stat(path, &st) != 0)
        cr_skip_test("shared chainlink fixture absent");
    json_t *root = json_load_file(path, 0, NULL);
    cr_assert_not_null(root);
    const char *result = json_string_value(json_object_get(json_object_get(root, "response"),
                                                           "result"));
    uint8_t b[160];
    size_t n = hex(result, b, sizeof b);
    nd_chainlink_round_t r;
    cr_assert_eq(nd_chainlink_decode_round(b, n, &r), ND_OK);
    char s[64];
    nd_chainlink_format_u128(r.round_id, s, sizeof s);
    cr_assert_str_eq(s, "129127208515966895560");
    cr_assert(r.round_id >> 64 == 7);
    cr_assert((uint64_t)r.round_id == 34248);
    cr_assert(r.answer == 272804000000);
    cr_assert_eq(r.started_at_s, 1790922084);
    cr_assert_eq(r.updated_at_s, 1790922119);
    cr_assert(r.answered_in_round == r.round_id);
    /* At the block's time the answer was 2244 s old: fresh under the 3600 s heartbeat. */
    cr_assert_eq(nd_chainlink_check(&r, 1790924363, 3600, 0), ND_ORACLE_OK);
    cr_assert_eq(nd_chainlink_check(&r, 1790922119 + 3601, 3600, 0), ND_ORACLE_STALE_HEARTBEAT);
    json_decref(root);
}
