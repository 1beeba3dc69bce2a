/* bench_dash_snapshot.c: what a session's dashboard snapshot costs the engine's thread, before
 * and after the binary path (issue 14; session_dash.c, docs/monitoring.md "Dashboard").
 *
 * The session of tests/unit/live_dash_fixture.h in its rich state (two instruments, two
 * strategies, working orders, fills, a halt and its trip, VaR samples, three surveillance
 * alerts). Times, ROUNDS times each, interleaved:
 * - before: the document built on the engine's thread with jansson, as the snapshot hook did
 *   (nd_live_status_json + the dashboard's part + the latency), then released;
 * - fill: what the engine's thread does now (the figures into a preallocated buffer);
 * - format: what the dashboard's thread does with them (the same document), then released.
 * Prints p50, p99 and mean per step in microseconds, and checks the two documents are equal.
 *
 * Usage: bench_dash_snapshot [ROUNDS] (default 2000). */
#include "../src/live/session_dash.c"
#include "../src/live/session_surveil.c"
#include "../tests/unit/live_dash_fixture.h"
#include "bench_time.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

static void print_step(const char *what, int64_t *ns, size_t n)
{
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += (double)ns[k];
    qsort(ns, n, sizeof *ns, cmp_i64);
    printf("%-8s p50=%.2f us p99=%.2f us mean=%.2f us (n=%zu)\n", what, (double)ns[n / 2] / 1e3,
           (double)ns[n * 99 / 100] / 1e3, sum / (double)n / 1e3, n);
}

static json_t *before(nd_live_session_t *s)
{
    json_t *doc = nd_live_status_json(s);
    const nd_engine_t *e = nd_event_run_engine(s->run);
    json_object_set_new(doc, "dashboard",
                        nd_dashboard_engine_json(e, nd_event_run_instrument_count(s->run),
                                                 &s->dash_state));
    json_object_set_new(doc, "latency", nd__live_metrics_latency_json(s));
    return doc;
}

int main(int argc, char **argv)
{
    size_t rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    dash_fixture_t f;
    char err[256] = "";
    if (rounds == 0 || !fixture_open(&f, err, sizeof err)) {
        fprintf(stderr, "bench_dash_snapshot: %s\n", err[0] ? err : "rounds must be > 0");
        return 1;
    }
    const nd_clock_t *os = nd_clock_os();
    int64_t *t[3] = {nd_alloc(rounds * 8), nd_alloc(rounds * 8), nd_alloc(rounds * 8)};
    dash_snap_t *d = nd_alloc(sizeof *d);
    int same = 1;
    for (size_t k = 0; k < rounds; k++) {
        int64_t t0 = nd_clock_mono_ns(os);
        json_t *a = before(f.s);
        int64_t t1 = nd_clock_mono_ns(os);
        snapshot_fill(f.s, d);
        int64_t t2 = nd_clock_mono_ns(os);
        json_t *b = snapshot_format(d);
        int64_t t3 = nd_clock_mono_ns(os);
        if (k == 0)
            same = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        t[0][k] = t1 - t0;
        t[1][k] = t2 - t1;
        t[2][k] = t3 - t2;
    }
    printf("snapshot of the rich session (%zu bytes of figures), same document: %s\n",
           sizeof *d, same ? "yes" : "NO");
    print_step("before", t[0], rounds);
    print_step("fill", t[1], rounds);
    print_step("format", t[2], rounds);
    for (int k = 0; k < 3; k++)
        nd_free(t[k]);
    nd_free(d);
    fixture_close(&f);
    return same ? 0 : 1;
}
