/* xsim_frame.c: WebSocket frame bytes (RFC 6455 5.2) for exchange-sim: the parser of client
 * frames, the server frame header, the UTF-8 check of text. Pure functions over buffers, no I/O
 * (xsim_ws.c does the connections), so the fuzz driver tests/fuzz/fuzz_xsim_ws_frame.c links
 * this file alone. Invariants: a parsed frame lies inside the bytes given; a payload is never
 * longer than the limit asked for; a control frame is final and at most 125 bytes. */
#include "xsim_int.h"

#include "noderr/assert.h"

long nd__xsim_ws_parse(char *buf, size_t len, size_t payload_max, nd__xsim_ws_frame_t *out)
{
    ND_ASSERT(buf != NULL && out != NULL);
    if (len < 2)
        return 0;
    const uint8_t *b = (const uint8_t *)buf;
    int opcode = b[0] & 0x0F;
    bool fin = (b[0] & 0x80) != 0, masked = (b[1] & 0x80) != 0;
    if ((b[0] & 0x70) != 0 || !masked)
        return -1002; /* reserved bits without an extension; unmasked client frame */
    bool control = opcode >= 0x8;
    if (opcode > ND__WS_BINARY && !(opcode >= ND__WS_CLOSE && opcode <= ND__WS_PONG))
        return -1002;
    uint64_t plen = b[1] & 0x7F;
    size_t head = 2;
    if (control && (!fin || plen > 125))
        return -1002;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)b[2] << 8 | b[3];
        head = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        if (b[2] & 0x80)
            return -1002; /* the most significant bit must be 0 */
        plen = 0;
        for (int i = 2; i < 10; i++)
            plen = plen << 8 | b[i];
        head = 10;
    }
    if (plen > payload_max)
        return -1009;
    if (len < head + 4 + plen)
        return 0;
    const uint8_t *mask = b + head;
    char *payload = buf + head + 4;
    for (size_t i = 0; i < plen; i++)
        payload[i] = (char)((uint8_t)payload[i] ^ mask[i & 3]);
    out->fin = fin;
    out->opcode = opcode;
    out->payload = payload;
    out->len = (size_t)plen;
    return (long)(head + 4 + plen);
}

size_t nd__xsim_ws_header(uint8_t out[10], int opcode, size_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

bool nd__xsim_utf8_valid(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        size_t need = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                                      : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (need == 9 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + need >= len)
            return false;
        uint32_t cp = need == 0 ? c : need == 1 ? c & 0x1Fu : need == 2 ? c & 0x0Fu : c & 0x07u;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

