/* fuzz_ticks.c: libFuzzer driver for the tick file loaders (src/market/ticks.c).
 *
 * Every input is written to a file and read back in each format (auto and the five layouts). The
 * loader must never crash, must stop at the first bad row with a "PATH:LINE: reason" error, and
 * every event it hands out must satisfy the documented row rules (positive prices, positive trade
 * quantities, non-negative quote quantities, bid below ask, time never decreasing, trade ids
 * strictly increasing). */
#include "noderr/assert.h"
#include "noderr/ticks.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_format(const char *path, nd_tick_format_t format, size_t size)
{
    nd_instrument_t inst;
    ND_ASSERT(nd_instrument_init(&inst, "BTC/USDT", "sim") == ND_OK);
    nd_tick_source_t *src = NULL;
    char err[256];
    if (nd_ticks_open(path, format, &inst, &src, err, sizeof err) != ND_OK)
        return;
    nd_tick_event_t ev;
    int64_t prev_ts = INT64_MIN, prev_id = INT64_MIN;
    size_t rows = 0;
    nd_err_t rc;
    while ((rc = nd_ticks_next(src, &ev)) == ND_OK) {
        ND_ASSERT(nd_tick_ts(&ev) >= prev_ts);
        prev_ts = nd_tick_ts(&ev);
        if (ev.kind == ND_TICK_TRADE) {
            ND_ASSERT(ev.u.trade.px > 0);
            ND_ASSERT(ev.u.trade.qty > 0);
            ND_ASSERT(ev.u.trade.trade_id > prev_id);
            ND_ASSERT(ev.u.trade.aggressor == ND_SIDE_BUY || ev.u.trade.aggressor == ND_SIDE_SELL);
            prev_id = ev.u.trade.trade_id;
        } else {
            ND_ASSERT(ev.kind == ND_TICK_QUOTE);
            ND_ASSERT(ev.u.quote.bid_px > 0);
            ND_ASSERT(ev.u.quote.ask_px > ev.u.quote.bid_px);
            ND_ASSERT(ev.u.quote.bid_qty >= 0 && ev.u.quote.ask_qty >= 0);
        }
        ND_ASSERT(++rows <= size); /* a row needs at least one byte */
    }
    if (rc != ND_EEOF)
        ND_ASSERT(strncmp(nd_ticks_error(src), path, strlen(path)) == 0);
    /* The end is sticky. */
    ND_ASSERT(nd_ticks_next(src, &ev) == rc);
    nd_ticks_close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/nd_fuzz_ticks_%d.csv", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    for (int format = ND_TICK_FORMAT_AUTO; format <= ND_TICK_FORMAT_BOOK_TICKER; format++)
        check_format(path, (nd_tick_format_t)format, size);
    return 0;
}
