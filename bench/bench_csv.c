/* bench_csv.c: the bar CSV loader alone, row by row, for callgrind's instruction counts.
 *
 * Opens FILE (default ../shared/data/BTCUSDT-1h.csv) with the default instrument, reads every bar
 * through the source's next() and prints rows and rows/s. Instructions per row:
 *   valgrind --tool=callgrind --toggle-collect=csv_next_plan --toggle-collect=csv_next_long \
 *       build-release/bench/bench_csv FILE
 * then divide the collected Ir by the rows printed. csv_next_plan is next() of a plain CSV source
 * and kline_next_plan of a kline one when the CPU has the row-plan path (AVX2 and BMI2), and
 * csv_next_long / kline_next_long their next() in long-row mode (a source whose last row had
 * eight-decimal prices; neither mode's next() calls the other's, so the two toggles never nest);
 * without the path, next() is csv_next: --toggle-collect=csv_next. (A pattern matching both, such
 * as 'csv_next*', toggles collection off again when csv_next_plan calls csv_next, and undercounts.)
 * Inputs other than ../shared/data's (kline rows, Binance's eight-decimal archive rows) are made
 * from those files by bench/csv_variants.sh, outside the repository. Not a test: it asserts
 * nothing about speed. */
#include "noderr/clock.h"
#include "noderr/market.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../shared/data/BTCUSDT-1h.csv";
    int repeat = argc > 2 ? atoi(argv[2]) : 1;
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    nd_clock_t *os = nd_clock_os();
    int64_t start = nd_clock_mono_ns(os), rows = 0, check = 0;
    for (int r = 0; r < repeat; r++) {
        nd_bar_source_t *src = NULL;
        char err[256];
        if (nd_bars_open(path, ND_BAR_FORMAT_AUTO, &inst, &src, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench_csv: %s\n", err);
            return 1;
        }
        nd_bar_t b;
        nd_err_t rc;
        while ((rc = src->next(src, &b)) == ND_OK) {
            check += b.close;
            rows++;
        }
        if (rc != ND_EEOF) {
            fprintf(stderr, "bench_csv: %s\n", src->err);
            return 1;
        }
        src->close(src);
    }
    double secs = (double)(nd_clock_mono_ns(os) - start) / 1e9;
    printf("csv  %lld rows in %.3f s = %.1f M rows/s (checksum %lld)\n", (long long)rows, secs,
           (double)rows / secs / 1e6, (long long)check);
    return 0;
}
