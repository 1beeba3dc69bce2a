/* fuzz_xsim_ws_frame.c: libFuzzer driver for exchange-sim's WebSocket frame parser
 * (src/xsim/xsim_frame.c), the first thing a client's bytes reach.
 *
 * The input is parsed as a stream of client frames, as the server does, with a payload limit
 * taken from the first byte. The contract: a frame lies inside the bytes given and is at least
 * its header; a payload is at most the limit; control frames are final and at most 125 bytes;
 * only defined opcodes come out; an error is one of the close codes 1002 or 1009; 0 (need
 * more bytes) is stable under truncation; and every text payload can be checked as UTF-8. */
#include "../../src/xsim/xsim_int.h"

#include "noderr/assert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char buf[1 << 17];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > sizeof buf)
        return 0;
    size_t payload_max = (size_t)data[0] * 257;
    size_t len = size - 1;
    memcpy(buf, data + 1, len);
    size_t at = 0;
    while (at < len) {
        nd__xsim_ws_frame_t f;
        long n = nd__xsim_ws_parse(buf + at, len - at, payload_max, &f);
        if (n == 0) {
            for (size_t k = 0; k < len - at; k++) /* a prefix of too little is too little */
                ND_ASSERT(nd__xsim_ws_parse(buf + at, k, payload_max, &f) == 0);
            break;
        }
        if (n < 0) {
            ND_ASSERT(n == -1002 || n == -1009);
            break;
        }
        ND_ASSERT((size_t)n <= len - at && (size_t)n >= 6);
        ND_ASSERT(f.len <= payload_max);
        ND_ASSERT(f.payload >= buf + at && f.payload + f.len == buf + at + n);
        ND_ASSERT(f.opcode <= ND__WS_BINARY || (f.opcode >= ND__WS_CLOSE && f.opcode <= ND__WS_PONG));
        if (f.opcode >= ND__WS_CLOSE) {
            ND_ASSERT(f.fin);
            ND_ASSERT(f.len <= 125);
        }
        (void)nd__xsim_utf8_valid(f.payload, f.len);
        at += (size_t)n;
    }
    return 0;
}
