/* chainlink.h: Chainlink price feeds read over Ethereum JSON-RPC (eth_call), with the ABI
 * encoding and decoding of AggregatorV3Interface and the staleness rules.
 *
 * Numbers on the wire are 32-byte big-endian ABI words. Round ids are uint80 and answers int256
 * (two's complement); both are held here in 128-bit integers, and a word that does not fit is an
 * ND_ERANGE error rather than a silent truncation. Timestamps are Unix seconds. Nothing here reads
 * the clock: callers pass "now". The RPC client tries its endpoints in order and falls back to the
 * next one on a transport error, a timeout, an HTTP error, a JSON-RPC error or a malformed reply;
 * an execution revert is an answer, not an endpoint fault, and is returned without fallback. */
#ifndef NODERR_CHAINLINK_H
#define NODERR_CHAINLINK_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

/* Function selectors (first 4 bytes of keccak256 of the signature; fixtures/chainlink). */
#define ND_CHAINLINK_SEL_LATEST_ROUND_DATA 0xfeaf968cu
#define ND_CHAINLINK_SEL_DECIMALS 0x313ce567u
#define ND_CHAINLINK_SEL_DESCRIPTION 0x7284e416u
#define ND_CHAINLINK_SEL_VERSION 0x54fd4d50u
#define ND_CHAINLINK_SEL_GET_ROUND_DATA 0x9a6fc8f5u

#define ND_ABI_WORD 32
/* Calldata as hex: "0x" + 4-byte selector + at most one argument word, plus the NUL. */
#define ND_CHAINLINK_CALLDATA_HEX_MAX (2 + 8 + 64 + 1)
/* The longest description() kept; longer strings are an ND_ERANGE error. */
#define ND_CHAINLINK_DESCRIPTION_MAX 128
/* Endpoints one client falls back across. */
#define ND_CHAINLINK_ENDPOINTS_MAX 8
/* Bytes of an eth_call result kept (a round is 160; a description a few hundred). */
#define ND_CHAINLINK_RESULT_MAX 4096

/* One round as returned by latestRoundData() / getRoundData(uint80). */
typedef struct nd_chainlink_round {
    unsigned __int128 round_id;          /* uint80: (phaseId << 64) | aggregatorRoundId */
    __int128 answer;                     /* int256 narrowed to 128 bits (ND_ERANGE beyond) */
    int64_t started_at_s;                /* uint256 narrowed to int64 (ND_ERANGE beyond) */
    int64_t updated_at_s;
    unsigned __int128 answered_in_round; /* uint80, deprecated upstream but still checked */
} nd_chainlink_round_t;

/* --- ABI ---------------------------------------------------------------------------------- */

/* Decodes "0x"-prefixed hex (even length, either case) into out. ND_EPARSE on a missing prefix,
 * odd length or non-hex digit; ND_EFULL when more than cap bytes. */
nd_err_t nd_abi_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap,
                           size_t *out_len /* OUT */);

/* Decodes an unsigned word of `bits` bits (8..128, multiple of 8): ND_ERANGE when any higher
 * bit is set, since a valid encoder left-pads with zeros. */
nd_err_t nd_abi_decode_uint(const uint8_t word[ND_ABI_WORD], int bits,
                            unsigned __int128 *out /* OUT */);

/* Decodes an int256 word into 128 bits; ND_ERANGE when the value does not fit (the upper 16
 * bytes are not the sign extension of the lower 16). */
nd_err_t nd_abi_decode_int256(const uint8_t word[ND_ABI_WORD], __int128 *out /* OUT */);

/* Decodes a dynamic `string` return value: the offset word, then at the offset a length word and
 * the bytes. ND_EPARSE when the offset or the length points outside data or the offset is not a
 * multiple of 32; ND_ERANGE when the string does not fit cap-1 bytes. out is NUL-terminated;
 * embedded NUL bytes are ND_EPARSE (a feed description never has them). */
nd_err_t nd_abi_decode_string(const uint8_t *data, size_t len, char *out, size_t cap);

/* Writes the calldata hex of a no-argument call ("0xfeaf968c"); out needs
 * ND_CHAINLINK_CALLDATA_HEX_MAX bytes. */
void nd_abi_encode_call0(uint32_t selector, char out[ND_CHAINLINK_CALLDATA_HEX_MAX]);

/* Writes the calldata hex of getRoundData(uint80 round_id); ND_ERANGE when round_id needs more
 * than 80 bits. */
nd_err_t nd_abi_encode_get_round_data(unsigned __int128 round_id,
                                      char out[ND_CHAINLINK_CALLDATA_HEX_MAX]);

/* Decodes the five words of latestRoundData()/getRoundData(); ND_EPARSE unless len >= 160. */
nd_err_t nd_chainlink_decode_round(const uint8_t *data, size_t len,
                                   nd_chainlink_round_t *out /* OUT */);

/* Decodes decimals() (uint8); ND_EPARSE when len < 32, ND_ERANGE above 255 or above 36. */
nd_err_t nd_chainlink_decode_decimals(const uint8_t *data, size_t len, int *out /* OUT */);

/* Formats a 128-bit integer as decimal; buf needs 41 bytes. Returns the length. */
size_t nd_chainlink_format_i128(__int128 value, char *buf, size_t cap);
size_t nd_chainlink_format_u128(unsigned __int128 value, char *buf, size_t cap);
/* Parses a decimal or 0x-hex unsigned integer up to 128 bits (ND_EPARSE / ND_ERANGE). */
nd_err_t nd_chainlink_parse_u128(const char *text, unsigned __int128 *out /* OUT */);

/* Formats answer scaled by 10^-decimals as a plain decimal with all `decimals` places
 * ("2728.04000000", "-0.00012345"). buf needs 64 bytes. */
size_t nd_chainlink_format_price(__int128 answer, int decimals, char *buf, size_t cap);

/* Converts answer at `decimals` to an int64 at out_decimals, rounding half-even;
 * ND_EOVERFLOW when it does not fit. */
nd_err_t nd_chainlink_answer_to_fixed(__int128 answer, int decimals, int out_decimals,
                                      int64_t *out /* OUT */);

/* --- Staleness ------------------------------------------------------------------------------ */

/* Why a round can or cannot be used. OK is the only usable value; the others fall in two
 * classes: "invalid" (the value itself is unusable) and "stale" (it may be right but is old). */
typedef enum nd_oracle_status {
    ND_ORACLE_OK = 0,
    ND_ORACLE_INVALID_ANSWER = 1,     /* answer <= 0 */
    ND_ORACLE_INVALID_NO_UPDATE = 2,  /* updatedAt == 0: the round never completed */
    ND_ORACLE_INVALID_FUTURE = 3,     /* updatedAt later than now + margin: clock or feed fault */
    ND_ORACLE_STALE_ROUND = 4,        /* answeredInRound < roundId: answer carried from an older round */
    ND_ORACLE_STALE_HEARTBEAT = 5     /* now - updatedAt > heartbeat + margin */
} nd_oracle_status_t;

/* Applies Chainlink's recommended checks in the order above (invalid before stale, so the worse
 * verdict is reported). heartbeat_s > 0; margin_s >= 0 is the application's grace on top. */
nd_oracle_status_t nd_chainlink_check(const nd_chainlink_round_t *round, int64_t now_s,
                                      int64_t heartbeat_s, int64_t margin_s);

/* "ok", "invalid_answer", "invalid_no_update", "invalid_future", "stale_round",
 * "stale_heartbeat". */
const char *nd_oracle_status_name(nd_oracle_status_t status);
/* "ok", "invalid" or "stale". */
const char *nd_oracle_status_class(nd_oracle_status_t status);

/* --- Known feeds ---------------------------------------------------------------------------- */

typedef struct nd_chainlink_feed_info {
    const char *name;      /* "ETH/USD" */
    const char *address;   /* proxy address, checksummed */
    int decimals;
    int64_t heartbeat_s;
    int32_t deviation_bps; /* on-chain deviation threshold, basis points */
} nd_chainlink_feed_info_t;

/* Looks up a built-in Ethereum-mainnet feed by name ("ETH/USD", "eth-usd", "ETH / USD") or by
 * address (case-insensitive); NULL when unknown. */
const nd_chainlink_feed_info_t *nd_chainlink_feed_find(const char *name_or_address);

/* Checks "0x" + 40 hex digits. */
int nd_chainlink_address_valid(const char *address);

/* --- JSON-RPC client ------------------------------------------------------------------------ */

typedef struct nd_chainlink_client {
    char *endpoints[ND_CHAINLINK_ENDPOINTS_MAX]; /* private: owned copies */
    size_t endpoint_count;
    long timeout_ms;          /* whole-request timeout per endpoint */
    int last_endpoint;        /* read-only: index that answered the last call, -1 before */
    uint64_t failovers;       /* read-only: endpoints skipped because they failed */
    uint64_t request_id;      /* private: JSON-RPC id, increments per request */
} nd_chainlink_client_t;

/* Initialises a client from a comma-separated list of URLs ("https://a,https://b"); http:// and
 * https:// only. ND_EINVAL on an empty list, a bad scheme or too many endpoints. */
nd_err_t nd_chainlink_client_init(nd_chainlink_client_t *client, const char *urls, long timeout_ms,
                                  char *err, size_t err_len);
void nd_chainlink_client_deinit(nd_chainlink_client_t *client);

/* eth_call(to, calldata_hex) at block_tag ("latest", "0x18e4cdb"). Tries each endpoint in
 * order; returns the first good result. ND_EIO when every endpoint failed (err lists each
 * endpoint's reason, never URL credentials), ND_EDECLINED on an execution revert. */
nd_err_t nd_chainlink_eth_call(nd_chainlink_client_t *client, const char *to,
                               const char *calldata_hex, const char *block_tag, uint8_t *out,
                               size_t cap, size_t *out_len /* OUT */, char *err, size_t err_len);

/* What one read of a feed returns. */
typedef struct nd_chainlink_reading {
    nd_chainlink_round_t round;
    int decimals;
    char description[ND_CHAINLINK_DESCRIPTION_MAX];
    int endpoint_index;       /* which endpoint answered latestRoundData */
} nd_chainlink_reading_t;

/* Reads decimals(), description() and latestRoundData() (or getRoundData(round_id) when
 * round_id != NULL) of the feed at `address`. */
nd_err_t nd_chainlink_read_feed(nd_chainlink_client_t *client, const char *address,
                                const char *block_tag, const unsigned __int128 *round_id,
                                nd_chainlink_reading_t *out /* OUT */, char *err, size_t err_len);

#endif
