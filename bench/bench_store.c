/* bench_store.c: the compliance store's throughput.
 *
 *   fills     N fills (default 1,000,000) appended to a fresh SQLite file through
 *             nd_store_append_fill (numbering, SHA-256 chaining, INSERT) and committed in
 *             batches of 10,000 (WAL, synchronous=FULL); fills/s and per-batch latency
 *             percentiles (append + commit of one batch);
 *   verify    nd_audit_verify over that file: records/s (read the six columns, check the
 *             header, SHA-256 of the stored encoding, link);
 *   verify-mem the same chain in the memory backend: the verifier without SQLite's reads.
 *   backtest  `noderr backtest` with and without --db on the same data (issue 11, item 6):
 *             bench_store backtest NODERR [CSV|-] [REPS] runs the binary REPS times (default
 *             9) each way, alternating, a fresh SQLite file per --db run, and prints the
 *             median wall and CPU (user + system, from wait4) times and their ratios; CSV "-"
 *             or absent: the synthetic 8,000-bar market. Process start-up is included on both
 *             sides, as a user sees it.
 * Usage: bench_store [N] [PATH] (default /tmp/noderr_bench_store.db, removed at the end).
 * Not a test: it asserts nothing about speed. */
#include "noderr/clock.h"
#include "noderr/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH 10000

/* CPU seconds used so far: on a loaded machine the rate per CPU second is the stable figure. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void fill_record(nd_record_t *r, int64_t k, char ids[2][24])
{
    memset(r, 0, sizeof *r);
    snprintf(ids[0], 24, "%lld", (long long)(k / 2 + 1));
    snprintf(ids[1], 24, "v%lld", (long long)(k / 2 + 1));
    r->ts_ns = 1704067200LL * ND_NS_PER_SEC + k * ND_NS_PER_MS;
    r->event = k % 3 ? "taker" : "maker";
    r->account = "acct-1";
    r->strategy = "sma_cross";
    r->venue = "sim";
    r->instrument = "BTC/USDT";
    r->client_order_id = ids[0];
    r->venue_order_id = ids[1];
    r->side = k % 2 ? -1 : 1;
    r->px = 4200000000000 + k % 1000 * 1000000;
    r->px_scale = 8;
    r->qty = 100000 + k % 77;
    r->qty_scale = 8;
    r->notional = 4200000000 + k % 1000;
    r->fee = 4200000;
}

static int append_fills(nd_store_t *s, int64_t n, int64_t *batch_ns, int64_t *total_ns)
{
    char err[256], ids[2][24];
    nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock), tb = t0;
    for (int64_t k = 0; k < n; k++) {
        nd_record_t r;
        fill_record(&r, k, ids);
        if (nd_store_append_fill(s, &r, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        if ((k + 1) % BATCH == 0 || k + 1 == n) {
            if (nd_store_flush(s, err, sizeof err) != ND_OK) {
                fprintf(stderr, "bench_store: %s\n", err);
                return 1;
            }
            int64_t now = nd_clock_mono_ns(clock);
            batch_ns[k / BATCH] = now - tb;
            tb = now;
        }
    }
    *total_ns = nd_clock_mono_ns(clock) - t0;
    return 0;
}

static double verify_rate(nd_store_t *s, int64_t expect, double *per_cpu)
{
    nd_audit_result_t a;
    char err[256];
    nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock);
    double c0 = cpu_seconds();
    if (nd_audit_verify(s, &a, err, sizeof err) != ND_OK || a.problem != ND_AUDIT_OK ||
        a.verified != expect) {
        fprintf(stderr, "bench_store: verify failed: %s %s\n", err, a.detail);
        return 0;
    }
    double wall = (double)(nd_clock_mono_ns(clock) - t0) / 1e9;
    *per_cpu = (double)expect / (cpu_seconds() - c0);
    return (double)expect / wall;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs argv with stdout and stderr to /dev/null; wall and CPU seconds of the child. */
static int run_child(char *const *argv, double *wall, double *cpu)
{
    nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *wall = (double)(nd_clock_mono_ns(clock) - t0) / 1e9;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", ".head", ".head.next"};
    char name[700];
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[k]);
        unlink(name);
    }
}

#define REPS_MAX 101

static int bench_backtest(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_store backtest NODERR [CSV|-] [REPS]\n");
        return 2;
    }
    const char *csv = argc > 3 && strcmp(argv[3], "-") != 0 ? argv[3] : NULL;
    int reps = argc > 4 ? atoi(argv[4]) : 9;
    if (reps < 1 || reps > REPS_MAX) {
        fprintf(stderr, "bench_store: REPS must be 1 to %d\n", REPS_MAX);
        return 2;
    }
    char db[600];
    snprintf(db, sizeof db, "/tmp/noderr_bench_backtest_%d.db", (int)getpid());
    char *plain[12] = {argv[2], "backtest", "--strategy", "sma_cross"};
    int n = 4;
    if (csv) {
        plain[n++] = "--data";
        plain[n++] = (char *)csv;
    } else {
        plain[n++] = "--bars";
        plain[n++] = "8000";
    }
    char *with_db[14];
    memcpy(with_db, plain, sizeof plain);
    with_db[n] = "--db";
    with_db[n + 1] = db;
    with_db[n + 2] = NULL;
    plain[n] = NULL;
    double wall[2][REPS_MAX], cpu[2][REPS_MAX];
    for (int k = 0; k < reps; k++) {
        remove_db(db);
        if (run_child(plain, &wall[0][k], &cpu[0][k]) != 0 ||
            run_child(with_db, &wall[1][k], &cpu[1][k]) != 0) {
            fprintf(stderr, "bench_store: %s backtest failed\n", argv[2]);
            remove_db(db);
            return 1;
        }
    }
    remove_db(db);
    for (int side = 0; side < 2; side++) {
        qsort(wall[side], (size_t)reps, sizeof(double), compare_double);
        qsort(cpu[side], (size_t)reps, sizeof(double), compare_double);
    }
    double w0 = wall[0][reps / 2], w1 = wall[1][reps / 2];
    double c0 = cpu[0][reps / 2], c1 = cpu[1][reps / 2];
    printf("backtest    %s, %d runs each way (medians)\n", csv ? csv : "synthetic 8000 bars",
           reps);
    printf("            without --db: %.3f s wall, %.3f s CPU\n", w0, c0);
    printf("            with --db:    %.3f s wall, %.3f s CPU\n", w1, c1);
    printf("            ratio:        %.2fx wall, %.2fx CPU\n", w1 / w0, c0 > 0 ? c1 / c0 : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "backtest") == 0)
        return bench_backtest(argc, argv);
    int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
    const char *path = argc > 2 ? argv[2] : "/tmp/noderr_bench_store.db";
    char url[600], side[620], err[256];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(url, sizeof url, "sqlite:%s", path);
    nd_store_t *s = NULL, *m = NULL;
    if (n <= 0 || nd_store_open(url, ND_STORE_CREATE, &s, err, sizeof err) != ND_OK ||
        nd_store_open("mem:", 0, &m, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_store: %s\n", n <= 0 ? "N must be positive" : err);
        return 2;
    }
    int64_t batches = (n + BATCH - 1) / BATCH, total_ns = 0, mem_ns = 0;
    int64_t *batch_ns = calloc((size_t)batches, sizeof *batch_ns); /* tidy:allow bench */
    double c0 = cpu_seconds();
    if (!batch_ns || append_fills(s, n, batch_ns, &total_ns) != 0)
        return 1;
    double cpu = cpu_seconds() - c0;
    qsort(batch_ns, (size_t)batches, sizeof *batch_ns, compare_i64);
    printf("fills       %10.0f fills/s into SQLite (%lld fills, batches of %d: p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms)\n", (double)n / ((double)total_ns / 1e9), (long long)n,
           BATCH, (double)batch_ns[batches / 2] / 1e6, (double)batch_ns[batches * 99 / 100] / 1e6,
           (double)batch_ns[batches - 1] / 1e6);
    printf("            %10.0f fills per CPU second\n", (double)n / cpu);
    double per_cpu = 0, rate = verify_rate(s, n, &per_cpu);
    printf("verify      %10.0f records/s (SQLite, %lld records; %.0f per CPU second)\n", rate,
           (long long)n, per_cpu);
    if (append_fills(m, n, batch_ns, &mem_ns) != 0)
        return 1;
    rate = verify_rate(m, n, &per_cpu);
    printf("verify-mem  %10.0f records/s (memory backend; %.0f per CPU second)\n", rate, per_cpu);
    nd_store_close(s);
    nd_store_close(m);
    free(batch_ns); /* tidy:allow bench */
    unlink(path);
    unlink(side);
    return 0;
}
