/* fuzz_prom_parse.c: libFuzzer driver for the Prometheus text parser (prom.h nd_prom_parse),
 * which reads what preflight scrapes from an endpoint.
 *
 * The contract: the answer is ND_OK or ND_EPARSE; on ND_EPARSE err names a line ("line N: ...")
 * no later than the input's line count, and *samples is untouched; on ND_OK the sample count is
 * at most the number of lines, every prefix ending at a newline parses too (the format is line
 * by line), and the same input gives the same answer. */
#include "noderr/assert.h"
#include "noderr/prom.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    char err[128] = "";
    size_t samples = (size_t)-1;
    nd_err_t rc = nd_prom_parse(text, size, &samples, err, sizeof err);
    ND_ASSERT(rc == ND_OK || rc == ND_EPARSE);
    if (rc == ND_EPARSE) {
        ND_ASSERT(samples == (size_t)-1);
        unsigned long line = 0;
        ND_ASSERT(sscanf(err, "line %lu:", &line) == 1);
        ND_ASSERT(line >= 1 && line <= lines + 1);
        return 0;
    }
    ND_ASSERT(samples <= lines);
    size_t again = 0;
    ND_ASSERT(nd_prom_parse(text, size, &again, err, sizeof err) == ND_OK && again == samples);
    const char *nl = memchr(text, '\n', size);
    if (nl) { /* the first line alone */
        size_t first = 0;
        ND_ASSERT(nd_prom_parse(text, (size_t)(nl - text) + 1, &first, err, sizeof err) == ND_OK);
        ND_ASSERT(first <= 1 && first <= samples);
    }
    return 0;
}
