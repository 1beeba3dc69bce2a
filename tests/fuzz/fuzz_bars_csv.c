/* fuzz_bars_csv.c: libFuzzer driver for the bar file loaders (src/market/bars_csv.c).
 *
 * Every input is written to a file and read back in each format (auto, CSV, kline). The loader
 * must never crash, must stop at the first bad row with an error, and every bar it does hand out
 * must satisfy the documented row rules (positive low, OHLC consistent, non-negative volume,
 * strictly increasing time). */
#include "noderr/assert.h"
#include "noderr/market.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_format(const char *path, nd_bar_format_t format, size_t size)
{
    nd_instrument_t inst;
    ND_ASSERT(nd_instrument_init(&inst, "BTC/USDT", "sim") == ND_OK);
    nd_bar_source_t *src = NULL;
    char err[256];
    if (nd_bars_open(path, format, &inst, &src, err, sizeof err) != ND_OK)
        return;
    nd_bar_t bar;
    int64_t prev_ts = INT64_MIN;
    size_t rows = 0;
    nd_err_t rc;
    while ((rc = src->next(src, &bar)) == ND_OK) {
        ND_ASSERT(bar.low > 0);
        ND_ASSERT(bar.high >= bar.open && bar.high >= bar.close);
        ND_ASSERT(bar.low <= bar.open && bar.low <= bar.close);
        ND_ASSERT(bar.volume >= 0);
        ND_ASSERT(bar.ts_ns > prev_ts);
        prev_ts = bar.ts_ns;
        ND_ASSERT(++rows <= size); /* a row needs at least one byte */
    }
    /* The error is sticky: nothing after a bad row, and EOF stays EOF. */
    ND_ASSERT(src->next(src, &bar) == rc);
    src->close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/nd_fuzz_bars_%d.csv", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    check_format(path, ND_BAR_FORMAT_AUTO, size);
    check_format(path, ND_BAR_FORMAT_CSV, size);
    check_format(path, ND_BAR_FORMAT_KLINE, size);
    return 0;
}
