/* cl_abi.c: ABI encoding and decoding for AggregatorV3Interface, number formatting, the
 * staleness rules and the table of known feeds.
 *
 * Invariants: a decoder never reads outside the buffer it is given (every offset and length
 * from the wire is checked against it before use), and a value that does not fit its C type is
 * ND_ERANGE, never truncated. */
#include "noderr/chainlink.h"

#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/text.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

nd_err_t nd_abi_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    ND_ASSERT(hex != NULL);
    ND_ASSERT(out_len != NULL);
    if (hex_len < 2 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X'))
        return ND_EPARSE;
    size_t digits = hex_len - 2;
    if (digits % 2 != 0)
        return ND_EPARSE;
    if (digits / 2 > cap)
        return ND_EFULL;
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = nd_hex_digit(hex[2 + 2 * i]);
        int lo = nd_hex_digit(hex[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return ND_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = digits / 2;
    return ND_OK;
}

nd_err_t nd_abi_decode_uint(const uint8_t word[ND_ABI_WORD], int bits, unsigned __int128 *out)
{
    ND_ASSERT(word != NULL);
    ND_ASSERT(bits >= 8 && bits <= 128 && bits % 8 == 0);
    int first = ND_ABI_WORD - bits / 8;
    for (int i = 0; i < first; i++)
        if (word[i] != 0)
            return ND_ERANGE;
    unsigned __int128 value = 0;
    for (int i = first; i < ND_ABI_WORD; i++)
        value = value << 8 | word[i];
    *out = value;
    return ND_OK;
}

nd_err_t nd_abi_decode_int256(const uint8_t word[ND_ABI_WORD], __int128 *out)
{
    ND_ASSERT(word != NULL);
    ND_ASSERT(out != NULL);
    /* The low 16 bytes hold the value when the high 16 are its sign extension. */
    uint8_t fill = (word[16] & 0x80) ? 0xff : 0x00;
    for (int i = 0; i < 16; i++)
        if (word[i] != fill)
            return ND_ERANGE;
    unsigned __int128 bits = 0;
    for (int i = 16; i < ND_ABI_WORD; i++)
        bits = bits << 8 | word[i];
    /* Two's complement reinterpretation, done with a memcpy so it is defined behaviour. */
    __int128 value;
    memcpy(&value, &bits, sizeof value);
    *out = value;
    return ND_OK;
}

/* Reads a word that must hold a small offset or length (below 2^32). */
static nd_err_t word_to_size(const uint8_t *word, size_t *out)
{
    unsigned __int128 v;
    nd_err_t rc = nd_abi_decode_uint(word, 32, &v);
    if (rc != ND_OK)
        return ND_EPARSE;
    *out = (size_t)v;
    return ND_OK;
}

nd_err_t nd_abi_decode_string(const uint8_t *data, size_t len, char *out, size_t cap)
{
    ND_ASSERT(data != NULL || len == 0);
    ND_ASSERT(out != NULL && cap > 0);
    size_t offset, strlen_bytes;
    if (len < ND_ABI_WORD || word_to_size(data, &offset) != ND_OK)
        return ND_EPARSE;
    if (offset % ND_ABI_WORD != 0 || offset > len - ND_ABI_WORD)
        return ND_EPARSE;
    if (word_to_size(data + offset, &strlen_bytes) != ND_OK)
        return ND_EPARSE;
    size_t start = offset + ND_ABI_WORD;
    if (strlen_bytes > len - start)
        return ND_EPARSE;
    if (strlen_bytes >= cap)
        return ND_ERANGE;
    if (memchr(data + start, 0, strlen_bytes) != NULL)
        return ND_EPARSE;
    memcpy(out, data + start, strlen_bytes);
    out[strlen_bytes] = '\0';
    return ND_OK;
}

void nd_abi_encode_call0(uint32_t selector, char out[ND_CHAINLINK_CALLDATA_HEX_MAX])
{
    static const char digits[] = "0123456789abcdef";
    ND_ASSERT(out != NULL);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 8; i++)
        out[2 + i] = digits[(selector >> (28 - 4 * i)) & 0xf];
    out[10] = '\0';
}

nd_err_t nd_abi_encode_get_round_data(unsigned __int128 round_id,
                                      char out[ND_CHAINLINK_CALLDATA_HEX_MAX])
{
    static const char digits[] = "0123456789abcdef";
    ND_ASSERT(out != NULL);
    if (round_id >> 80 != 0)
        return ND_ERANGE;
    nd_abi_encode_call0(ND_CHAINLINK_SEL_GET_ROUND_DATA, out);
    /* 64 hex digits, big-endian, left-padded with zeros. */
    for (int i = 0; i < 64; i++) {
        int shift = 4 * (63 - i);
        out[10 + i] = shift >= 128 ? '0' : digits[(unsigned)(round_id >> shift) & 0xf];
    }
    out[74] = '\0';
    ND_ASSERT(strlen(out) == ND_CHAINLINK_CALLDATA_HEX_MAX - 1);
    return ND_OK;
}

static nd_err_t decode_time(const uint8_t *word, int64_t *out)
{
    unsigned __int128 v;
    if (nd_abi_decode_uint(word, 64, &v) != ND_OK || v > (unsigned __int128)INT64_MAX)
        return ND_ERANGE;
    *out = (int64_t)v;
    return ND_OK;
}

nd_err_t nd_chainlink_decode_round(const uint8_t *data, size_t len, nd_chainlink_round_t *out)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(data != NULL || len == 0);
    if (len < 5 * ND_ABI_WORD)
        return ND_EPARSE;
    nd_chainlink_round_t r;
    nd_err_t rc = nd_abi_decode_uint(data, 80, &r.round_id);
    if (rc == ND_OK)
        rc = nd_abi_decode_int256(data + ND_ABI_WORD, &r.answer);
    if (rc == ND_OK)
        rc = decode_time(data + 2 * ND_ABI_WORD, &r.started_at_s);
    if (rc == ND_OK)
        rc = decode_time(data + 3 * ND_ABI_WORD, &r.updated_at_s);
    if (rc == ND_OK)
        rc = nd_abi_decode_uint(data + 4 * ND_ABI_WORD, 80, &r.answered_in_round);
    if (rc != ND_OK)
        return rc;
    *out = r;
    return ND_OK;
}

nd_err_t nd_chainlink_decode_decimals(const uint8_t *data, size_t len, int *out)
{
    ND_ASSERT(out != NULL);
    unsigned __int128 v;
    if (len < ND_ABI_WORD)
        return ND_EPARSE;
    if (nd_abi_decode_uint(data, 8, &v) != ND_OK)
        return ND_ERANGE;
    /* 10^36 still fits an int128 answer scale; no real feed comes close. */
    if (v > 36)
        return ND_ERANGE;
    *out = (int)v;
    return ND_OK;
}

size_t nd_chainlink_format_u128(unsigned __int128 value, char *buf, size_t cap)
{
    char tmp[48];
    size_t n = 0;
    ND_ASSERT(buf != NULL && cap >= 41);
    do {
        tmp[n++] = (char)('0' + (int)(value % 10));
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

size_t nd_chainlink_format_i128(__int128 value, char *buf, size_t cap)
{
    ND_ASSERT(buf != NULL && cap >= 41);
    if (value >= 0)
        return nd_chainlink_format_u128((unsigned __int128)value, buf, cap);
    /* Negate in unsigned arithmetic so that the minimum value does not overflow. */
    unsigned __int128 magnitude = (unsigned __int128)0 - (unsigned __int128)value;
    buf[0] = '-';
    return 1 + nd_chainlink_format_u128(magnitude, buf + 1, cap - 1);
}

nd_err_t nd_chainlink_parse_u128(const char *text, unsigned __int128 *out)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(out != NULL);
    int base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0')
        return ND_EPARSE;
    unsigned __int128 value = 0;
    for (; *p; p++) {
        int d = base == 16 ? nd_hex_digit(*p) : (isdigit((unsigned char)*p) ? *p - '0' : -1);
        if (d < 0)
            return ND_EPARSE;
        if (value > (~(unsigned __int128)0 - (unsigned)d) / (unsigned)base)
            return ND_ERANGE;
        value = value * (unsigned)base + (unsigned)d;
    }
    *out = value;
    return ND_OK;
}

size_t nd_chainlink_format_price(__int128 answer, int decimals, char *buf, size_t cap)
{
    char raw[48], digits[48];
    ND_ASSERT(decimals >= 0 && decimals <= 36);
    ND_ASSERT(buf != NULL && cap >= 64);
    int negative = answer < 0;
    unsigned __int128 magnitude =
        negative ? (unsigned __int128)0 - (unsigned __int128)answer : (unsigned __int128)answer;
    size_t n = nd_chainlink_format_u128(magnitude, raw, sizeof raw);
    /* Left-pad with zeros so that there is at least one digit before the point. */
    size_t total = n > (size_t)decimals ? n : (size_t)decimals + 1;
    memset(digits, '0', total - n);
    memcpy(digits + (total - n), raw, n);
    size_t int_digits = total - (size_t)decimals, pos = 0;
    if (negative)
        buf[pos++] = '-';
    memcpy(buf + pos, digits, int_digits);
    pos += int_digits;
    if (decimals > 0) {
        buf[pos++] = '.';
        memcpy(buf + pos, digits + int_digits, (size_t)decimals);
        pos += (size_t)decimals;
    }
    buf[pos] = '\0';
    return pos;
}

nd_err_t nd_chainlink_answer_to_fixed(__int128 answer, int decimals, int out_decimals,
                                      int64_t *out)
{
    ND_ASSERT(decimals >= 0 && decimals <= 36);
    ND_ASSERT(out_decimals >= 0 && out_decimals <= ND_DECIMALS_MAX);
    __int128 value = answer;
    for (int d = decimals; d < out_decimals; d++) {
        if (value > INT64_MAX || value < INT64_MIN)
            return ND_EOVERFLOW;
        value *= 10;
    }
    if (decimals > out_decimals) {
        __int128 div = 1;
        for (int d = out_decimals; d < decimals; d++)
            div *= 10;
        __int128 q = value / div, r = value % div;
        /* Half-even rounding on the remainder's magnitude. */
        __int128 twice = (r < 0 ? -r : r) * 2;
        if (twice > div || (twice == div && (q % 2 != 0)))
            q += value < 0 ? -1 : 1;
        value = q;
    }
    if (value > INT64_MAX || value < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)value;
    return ND_OK;
}

nd_oracle_status_t nd_chainlink_check(const nd_chainlink_round_t *round, int64_t now_s,
                                      int64_t heartbeat_s, int64_t margin_s)
{
    ND_ASSERT(round != NULL);
    ND_ASSERT(heartbeat_s > 0 && margin_s >= 0);
    if (round->answer <= 0)
        return ND_ORACLE_INVALID_ANSWER;
    if (round->updated_at_s == 0)
        return ND_ORACLE_INVALID_NO_UPDATE;
    if (round->updated_at_s > now_s + margin_s)
        return ND_ORACLE_INVALID_FUTURE;
    if (round->answered_in_round < round->round_id)
        return ND_ORACLE_STALE_ROUND;
    if (now_s - round->updated_at_s > heartbeat_s + margin_s)
        return ND_ORACLE_STALE_HEARTBEAT;
    return ND_ORACLE_OK;
}

const char *nd_oracle_status_name(nd_oracle_status_t status)
{
    switch (status) {
    case ND_ORACLE_OK: return "ok";
    case ND_ORACLE_INVALID_ANSWER: return "invalid_answer";
    case ND_ORACLE_INVALID_NO_UPDATE: return "invalid_no_update";
    case ND_ORACLE_INVALID_FUTURE: return "invalid_future";
    case ND_ORACLE_STALE_ROUND: return "stale_round";
    case ND_ORACLE_STALE_HEARTBEAT: return "stale_heartbeat";
    }
    return "unknown";
}

const char *nd_oracle_status_class(nd_oracle_status_t status)
{
    switch (status) {
    case ND_ORACLE_OK: return "ok";
    case ND_ORACLE_INVALID_ANSWER:
    case ND_ORACLE_INVALID_NO_UPDATE:
    case ND_ORACLE_INVALID_FUTURE: return "invalid";
    case ND_ORACLE_STALE_ROUND:
    case ND_ORACLE_STALE_HEARTBEAT: return "stale";
    }
    return "invalid";
}

/* Ethereum mainnet proxies (fixtures/chainlink/feeds_ethereum_mainnet.json); heartbeat and
 * deviation differ per chain and change over time, so production config should override. */
static const nd_chainlink_feed_info_t known_feeds[] = {
    {"ETH/USD", "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", 8, 3600, 50},
    {"BTC/USD", "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c", 8, 3600, 50},
};

/* Compares feed names ignoring case, spaces and the separator ('/', '-', '_'). */
static int feed_name_equal(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '/' || *a == '-' || *a == '_')
            a++;
        while (*b == ' ' || *b == '/' || *b == '-' || *b == '_')
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

const nd_chainlink_feed_info_t *nd_chainlink_feed_find(const char *name_or_address)
{
    ND_ASSERT(name_or_address != NULL);
    for (size_t i = 0; i < sizeof known_feeds / sizeof known_feeds[0]; i++) {
        if (strcasecmp(name_or_address, known_feeds[i].address) == 0 ||
            feed_name_equal(name_or_address, known_feeds[i].name))
            return &known_feeds[i];
    }
    return NULL;
}

int nd_chainlink_address_valid(const char *address)
{
    ND_ASSERT(address != NULL);
    if (strlen(address) != 42 || address[0] != '0' || (address[1] != 'x' && address[1] != 'X'))
        return 0;
    for (int i = 2; i < 42; i++)
        if (nd_hex_digit(address[i]) < 0)
            return 0;
    return 1;
}
