/* test_store_hold.c: a holding store (nd_store_set_hold, what sessions use) survives failed
 * writes: records appended while the backend fails are held in memory, the next successful
 * flush writes them in order on a new connection, the chain verifies and nothing acknowledged
 * is lost. Injected failures (memory and SQLite), a killed writer, a real full filesystem (a
 * small tmpfs, when run as root), the bound, and a property test over many seeds. */
#include <criterion/criterion.h>

#include "compliance/store_int.h"
#include "noderr/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 (1652054400LL * ND_NS_PER_SEC)

static nd_store_t *open_holding(const char *url, int64_t bound)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open(url, ND_STORE_CREATE, &s, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_set_hold(s, bound, err, sizeof err), ND_OK, "%s", err);
    return s;
}

static nd_err_t append_fill(nd_store_t *s, int64_t k, char *err, size_t err_len)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)k);
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.ts_ns = T0 + k;
    r.side = 1;
    r.event = "taker";
    r.account = "acct";
    r.instrument = "BTC/USDT";
    r.client_order_id = id;
    r.px = 3000000 + k;
    r.qty = 1 + k % 7;
    r.px_scale = 2;
    r.qty_scale = 3;
    return nd_store_append_fill(s, &r, err, err_len);
}

typedef struct walk {
    int64_t count;
    int64_t next_ts;
    bool in_order;
} walk_t;

static nd_err_t walk_cb(void *ctx, const nd_record_t *rec)
{
    walk_t *w = ctx;
    w->in_order = w->in_order && rec->ts_ns == w->next_ts && rec->seq == w->count + 1;
    w->next_ts++;
    w->count++;
    return ND_OK;
}

/* The chain verifies and holds records 0..n-1, in order. */
static void assert_chain(nd_store_t *s, int64_t n)
{
    char err[256] = "";
    nd_audit_result_t a;
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s at %lld: %s", nd_audit_problem_name(a.problem),
                 (long long)a.seq, a.detail);
    cr_assert_eq(a.verified, n);
    walk_t w = {0, T0, true};
    cr_assert_eq(nd_store_scan(s, NULL, &w, walk_cb, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(w.count, n);
    cr_assert(w.in_order);
}

static void temp_sqlite(char *path, size_t cap, const char *name)
{
    char dir[] = "/tmp/nd_hold_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, cap, "%s/%s", dir, name);
}

Test(hold, failed_writes_are_held_and_written_when_the_backend_returns)
{
    nd_store_t *s = open_holding("mem:", 1000);
    char err[256] = "";
    for (int64_t k = 0; k < 3; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    nd__store_set_faults(s, 100, 1);
    for (int64_t k = 3; k < 10; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert(nd_store_is_down(s));
    cr_assert_eq(nd_store_held(s), 7);
    cr_assert_eq(nd_store_last_seq(s), 10); /* numbered and chained while held */
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "injected") != NULL, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_EIO); /* still down, not failed */
    nd__store_set_faults(s, 0, 0);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    cr_assert(!nd_store_is_down(s));
    cr_assert_eq(nd_store_held(s), 0);
    cr_assert_str_eq(nd_store_failure(s), "");
    assert_chain(s, 10);
    nd_store_close(s);
}

Test(hold, the_bound_refuses_the_next_record_and_drops_nothing)
{
    nd_store_t *s = open_holding("mem:", 5);
    char err[256] = "";
    nd__store_set_faults(s, 100, 2);
    for (int64_t k = 0; k < 5; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(append_fill(s, 5, err, sizeof err), ND_EFULL);
    cr_assert(strstr(err, "bound") != NULL, "%s", err);
    cr_assert_eq(nd_store_last_seq(s), 5); /* the refused record took no seq */
    cr_assert_eq(nd_store_held(s), 5);
    nd__store_set_faults(s, 0, 0);
    cr_assert_eq(append_fill(s, 5, err, sizeof err), ND_EFULL); /* still 5 held until flushed */
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(append_fill(s, 5, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    assert_chain(s, 6);
    nd_store_close(s);
}

Test(hold, without_holding_a_failure_is_for_good)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open("mem:", 0, &s, err, sizeof err), ND_OK);
    nd__store_set_faults(s, 100, 3);
    cr_assert_eq(append_fill(s, 0, err, sizeof err), ND_EIO);
    nd__store_set_faults(s, 0, 0);
    cr_assert_eq(append_fill(s, 0, err, sizeof err), ND_ESTATE);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_ESTATE);
    cr_assert_eq(nd_store_kill_writer(s, "x", err, sizeof err), ND_ESTATE);
    nd_store_close(s);
}

Test(hold, a_killed_sqlite_writer_is_reopened_and_loses_nothing)
{
    char path[300], url[320];
    temp_sqlite(path, sizeof path, "k.db");
    snprintf(url, sizeof url, "sqlite:%s", path);
    nd_store_t *s = open_holding(url, 1000);
    char err[256] = "";
    for (int64_t k = 0; k < 4; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    for (int64_t k = 4; k < 9; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_kill_writer(s, "killed by the test", err, sizeof err), ND_OK);
    cr_assert(nd_store_is_down(s));
    cr_assert_str_eq(nd_store_failure(s), "killed by the test");
    cr_assert_eq(nd_store_held(s), 5);
    for (int64_t k = 9; k < 12; k++) /* appends go on while the writer is dead */
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    assert_chain(s, 12);
    nd_store_close(s);
    /* A new handle sees the same chain and head file. */
    s = open_holding(url, 1000);
    assert_chain(s, 12);
    nd_store_close(s);
}

Test(hold, a_reopened_database_that_moved_on_is_refused)
{
    char path[300], url[320];
    temp_sqlite(path, sizeof path, "m.db");
    snprintf(url, sizeof url, "sqlite:%s", path);
    nd_store_t *s = open_holding(url, 1000);
    char err[256] = "";
    cr_assert_eq(append_fill(s, 0, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_kill_writer(s, "killed", err, sizeof err), ND_OK);
    nd_store_t *other = open_holding(url, 1000); /* a second writer appends behind its back */
    cr_assert_eq(append_fill(other, 1, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(other, err, sizeof err), ND_OK, "%s", err);
    nd_store_close(other);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_ESTATE);
    cr_assert(strstr(err, "another writer") != NULL, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_ESTATE); /* for good */
    nd_store_close(s);
}

/* Fills the filesystem under dir with one file; returns its path in filler. */
static void fill_up(const char *dir, char *filler, size_t cap)
{
    snprintf(filler, cap, "%s/filler", dir);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    static char block[65536];
    memset(block, 'x', sizeof block);
    size_t chunk = sizeof block;
    while (chunk > 0) {
        ssize_t n = write(fd, block, chunk);
        if (n < 0 && errno == ENOSPC)
            chunk /= 2;
        else
            cr_assert(n > 0, "filling: %s", strerror(errno));
    }
    close(fd);
}

Test(hold, a_full_filesystem_recovers_when_space_returns)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to mount a small tmpfs");
    char dir[] = "/tmp/nd_hold_full_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    if (mount("tmpfs", dir, "tmpfs", 0, "size=2m") != 0)
        cr_skip_test("cannot mount a tmpfs: %s", strerror(errno));
    char url[400], filler[400];
    snprintf(url, sizeof url, "sqlite:%s/full.db", dir);
    nd_store_t *s = open_holding(url, 100000);
    char err[256] = "";
    for (int64_t k = 0; k < 50; k++)
        cr_assert_eq(append_fill(s, k, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    fill_up(dir, filler, sizeof filler);
    int64_t n = 50;
    nd_err_t rc = ND_OK;
    /* Enough records to need new pages in the WAL: the commit meets ENOSPC. */
    for (int round = 0; round < 20 && rc == ND_OK; round++) {
        for (int64_t k = 0; k < 500; k++, n++)
            cr_assert_eq(append_fill(s, n, err, sizeof err), ND_OK, "%s", err);
        rc = nd_store_flush(s, err, sizeof err);
    }
    cr_assert_eq(rc, ND_EIO, "the full filesystem never refused a commit");
    cr_assert(nd_store_is_down(s));
    for (int64_t k = 0; k < 100; k++, n++) /* recording goes on, in memory */
        cr_assert_eq(append_fill(s, n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_EIO); /* still full */
    cr_assert_eq(unlink(filler), 0);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
    assert_chain(s, n);
    nd_store_close(s);
    s = open_holding(url, 100000);
    assert_chain(s, n);
    nd_store_close(s);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
}

/* One seed: random batches, random failures at random writes, random killed writers; every
 * record acknowledged (appended before a flush that succeeded) must be in the chain at the
 * end, and, the faults stopped, every record appended at all. */
static void property_run(const char *url, uint64_t seed)
{
    nd_store_t *s = open_holding(url, 1000000);
    uint64_t rng = seed * 7919 + 17;
    char err[256] = "";
    int64_t n = 0, acked = 0;
    nd__store_set_faults(s, (uint32_t)(seed % 6) * 10, seed);
    for (int step = 0; step < 40; step++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t batch = (int64_t)((rng >> 33) % 9);
        for (int64_t k = 0; k < batch; k++, n++)
            cr_assert_eq(append_fill(s, n, err, sizeof err), ND_OK, "seed %llu: %s",
                         (unsigned long long)seed, err);
        if ((rng >> 40) % 11 == 0)
            nd_store_kill_writer(s, "killed", err, sizeof err);
        nd_err_t rc = nd_store_flush(s, err, sizeof err);
        cr_assert(rc == ND_OK || rc == ND_EIO, "seed %llu: %s", (unsigned long long)seed, err);
        if (rc == ND_OK)
            acked = n;
        cr_assert_eq(nd_store_last_seq(s), n);
    }
    cr_assert_geq(n, acked);
    nd__store_set_faults(s, 0, 0);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "seed %llu: %s",
                 (unsigned long long)seed, err);
    assert_chain(s, n);
    nd_store_close(s);
}

Test(hold, property_random_failures_never_break_the_chain_memory)
{
    for (uint64_t seed = 1; seed <= 60; seed++)
        property_run("mem:", seed);
}

Test(hold, property_random_failures_never_break_the_chain_sqlite)
{
    for (uint64_t seed = 1; seed <= 30; seed++) {
        char path[300], url[320];
        char name[32];
        snprintf(name, sizeof name, "p%llu.db", (unsigned long long)seed);
        temp_sqlite(path, sizeof path, name);
        snprintf(url, sizeof url, "sqlite:%s", path);
        property_run(url, seed);
    }
}
