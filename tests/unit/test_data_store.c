/* test_data_store.c: the downloader's file work without a network: unpacking zips (one CSV,
 * or the refusals), normalising kline CSVs (ms and us) into the stored format, hashing, and the
 * merged file (time order, a monthly file superseding its month's daily files). Zips are made
 * here with libarchive's writer. */
#include "data/data_int.h"
#include "noderr/clock.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char err[512];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/nd_data_test_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(data_store, .init = make_dir, .fini = remove_dir);

/* Writes a zip at path with the given entries (name, content; NULL name ends the list). */
static void write_zip(const char *path, const char *const *entries, size_t repeat)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; entries[i] != NULL; i += 2) {
        size_t len = strlen(entries[i + 1]);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, entries[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)(len * repeat));
        cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
        for (size_t r = 0; r < repeat; r++)
            cr_assert_eq(archive_write_data(a, entries[i + 1], len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* Unzips path into dir/out.csv; returns the code, err holds the reason. */
static nd_err_t unzip(const char *zip, char *name)
{
    char out[128];
    snprintf(out, sizeof out, "%s/out.csv", dir);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    err[0] = '\0';
    nd_err_t rc = nd__data_unzip_one(zip, f, name, 64, err, sizeof err);
    fclose(f);
    return rc;
}

Test(data_store, unzip_one_csv)
{
    char zip[128], name[64] = "", out[128];
    snprintf(zip, sizeof zip, "%s/a.zip", dir);
    const char *entries[] = {"BTCUSDT-1h-2020-01.csv", "1,2,3\n4,5,6\n", NULL};
    write_zip(zip, entries, 1);
    cr_assert_eq(unzip(zip, name), ND_OK, "%s", err);
    cr_assert_str_eq(name, "BTCUSDT-1h-2020-01.csv");
    snprintf(out, sizeof out, "%s/out.csv", dir);
    cr_assert_str_eq(slurp(out), "1,2,3\n4,5,6\n");
}

Test(data_store, unzip_refusals)
{
    char zip[128], name[64];
    snprintf(zip, sizeof zip, "%s/a.zip", dir);
    const char *two[] = {"a.csv", "1\n", "b.csv", "2\n", NULL};
    write_zip(zip, two, 1);
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    cr_assert_str_eq(err, "bad archive: more than one file inside (a kline archive holds one CSV)");
    const char *evil[] = {"../../evil.csv", "1\n", NULL};
    write_zip(zip, evil, 1);
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    cr_assert(strstr(err, "path traversal") != NULL, "%s", err);
    const char *sub[] = {"dir/x.csv", "1\n", NULL};
    write_zip(zip, sub, 1);
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    const char *none[] = {NULL};
    write_zip(zip, none, 1);
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    cr_assert(strstr(err, "bad archive") != NULL, "%s", err);
    spit(zip, "PK\003\004 not a zip at all");
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    cr_assert(strncmp(err, "bad archive: ", 13) == 0, "%s", err);
}

Test(data_store, unzip_refuses_a_zip_bomb)
{
    char zip[128], name[64];
    static char zeros[1 << 16];
    memset(zeros, '0', sizeof zeros - 1);
    snprintf(zip, sizeof zip, "%s/bomb.zip", dir);
    const char *bomb[] = {"x.csv", zeros, NULL};
    write_zip(zip, bomb, 512); /* 32 MiB of '0' in a zip of a few tens of KiB */
    cr_assert_eq(unzip(zip, name), ND_EPARSE);
    cr_assert(strstr(err, "bad archive: entry") != NULL, "%s", err);
}

static nd_data_period_t january(void)
{
    nd_data_period_t p = {.kind = ND_DATA_MONTHLY, .year = 2020, .month = 1};
    nd_time_parse_iso("2020-01-01", &p.start_ns);
    nd_time_parse_iso("2020-02-01", &p.end_ns);
    return p;
}

/* Normalises text (a kline CSV) for January 2020; returns the code, out the stored text. */
static nd_err_t normalise(const char *text, char **out, int64_t *bars, char hex[65])
{
    char in[128], path[128];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(path, sizeof path, "%s/norm.csv", dir);
    spit(in, text);
    FILE *f = fopen(path, "wb");
    nd__data_writer_t w;
    cr_assert_eq(nd__data_writer_init(&w, f), ND_OK);
    nd_data_period_t p = january();
    err[0] = '\0';
    nd_err_t rc = nd__data_normalise(in, "URL: X.csv", &p, &w, bars, err, sizeof err);
    nd__data_writer_finish(&w, hex);
    fclose(f);
    *out = slurp(path);
    return rc;
}

Test(data_store, normalise_ms_and_us_klines)
{
    char *text, hex[65], again[65];
    int64_t bars = 0, lines = 0;
    const char *ms = "1577836800000,7195.24000000,7196.25000000,7175.46000000,7177.02000000,"
                     "511.81490100,1577840399999,3675857.77,7640,226.3,1624320.43,0\n"
                     "1577840400000,7176.47000000,7230.00000000,7175.71000000,7216.27000000,"
                     "883.05260300,1577843999999,6365198.00,9033,498.4,3593788.69,0\n";
    cr_assert_eq(normalise(ms, &text, &bars, hex), ND_OK, "%s", err);
    cr_assert_eq(bars, 2);
    cr_assert_str_eq(text, "ts,open,high,low,close,volume\n"
                           "1577836800000,7195.24,7196.25,7175.46,7177.02,511.814901\n"
                           "1577840400000,7176.47,7230,7175.71,7216.27,883.052603\n");
    char path[128];
    snprintf(path, sizeof path, "%s/norm.csv", dir);
    cr_assert_eq(nd__data_sha256_file(path, again, &lines, err, sizeof err), ND_OK);
    cr_assert_str_eq(again, hex, "the writer's digest is the file's");
    cr_assert_eq(lines, 3);
    const char *us = "1577836800000000,1,2,0.5,1.5,10,1577840399999999,1,1,1,1,0\n";
    cr_assert_eq(normalise(us, &text, &bars, hex), ND_OK, "%s", err);
    cr_assert_str_eq(text, "ts,open,high,low,close,volume\n1577836800000,1,2,0.5,1.5,10\n");
}

Test(data_store, normalise_refusals_name_the_label)
{
    char *text, hex[65];
    int64_t bars = 0;
    const char *feb = "1580515200000,1,2,0.5,1.5,10,1580518799999,1,1,1,1,0\n";
    cr_assert_eq(normalise(feb, &text, &bars, hex), ND_EPARSE);
    cr_assert_str_eq(err, "URL: X.csv: bar 1 opens at 2020-02-01T00:00:00Z, outside the "
                          "archive's period");
    const char *bad = "1577836800000,1,2,0.5,1.5,10,1577840399999,1,1,1,1,0\n"
                      "1577840400000,1,0.5,2,1.5,10,1577843999999,1,1,1,1,0\n";
    cr_assert_eq(normalise(bad, &text, &bars, hex), ND_EPARSE);
    cr_assert_str_eq(err, "URL: X.csv:2: high 0.5 below low 2");
    cr_assert_eq(normalise("", &text, &bars, hex), ND_EPARSE);
    cr_assert_str_eq(err, "URL: X.csv: no bars");
}

/* Stores a period file with a sidecar (the merge needs only that the sidecar exists). */
static void stored(const char *period, const char *rows)
{
    char path[160], text[1024];
    snprintf(path, sizeof path, "%s/P/BTCUSDT-1h-%s.csv", dir, period);
    snprintf(text, sizeof text, "ts,open,high,low,close,volume\n%s", rows);
    spit(path, text);
    strcat(path, ".sha256");
    spit(path, "x\n");
}

Test(data_store, merge_orders_periods_and_prefers_monthly_files)
{
    char pdir[128], out[128];
    snprintf(pdir, sizeof pdir, "%s/P", dir);
    cr_assert_eq(mkdir(pdir, 0755), 0);
    stored("2020-02-01", "1580515200000,5,5,5,5,1\n");
    stored("2020-01", "1577836800000,1,1,1,1,1\n1580511600000,2,2,2,2,2\n");
    stored("2020-01-31", "1580428800000,9,9,9,9,9\n"); /* superseded by 2020-01 */
    stored("2019-12-31", "1577750400000,0.5,0.5,0.5,0.5,0\n");
    char orphan[160]; /* a CSV without a sidecar is not a stored period */
    snprintf(orphan, sizeof orphan, "%s/BTCUSDT-1h-2020-03.csv", pdir);
    spit(orphan, "ts,open,high,low,close,volume\n1583020800000,7,7,7,7,7\n");
    snprintf(out, sizeof out, "%s/BTCUSDT-1h.csv", dir);
    int64_t bars = 0;
    cr_assert_eq(nd__data_merge(pdir, "BTCUSDT-1h-", dir, out, &bars, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(bars, 4);
    cr_assert_str_eq(slurp(out), "ts,open,high,low,close,volume\n"
                                 "1577750400000,0.5,0.5,0.5,0.5,0\n"
                                 "1577836800000,1,1,1,1,1\n"
                                 "1580511600000,2,2,2,2,2\n"
                                 "1580515200000,5,5,5,5,1\n");
}

Test(data_store, merge_refuses_overlapping_periods)
{
    char pdir[128], out[128];
    snprintf(pdir, sizeof pdir, "%s/P", dir);
    cr_assert_eq(mkdir(pdir, 0755), 0);
    stored("2020-01-01", "1577836800000,1,1,1,1,1\n");
    stored("2020-01-02", "1577836800000,1,1,1,1,1\n");
    snprintf(out, sizeof out, "%s/BTCUSDT-1h.csv", dir);
    int64_t bars = 0;
    cr_assert_eq(nd__data_merge(pdir, "BTCUSDT-1h-", dir, out, &bars, err, sizeof err),
                 ND_EPARSE);
    cr_assert(strstr(err, "BTCUSDT-1h-2020-01-02.csv: bar at 1577836800000 ms overlaps") != NULL,
              "%s", err);
    cr_assert_eq(access(out, F_OK), -1, "no merged file after a failure");
}

/* A FIFO where a cached CSV should be is refused without blocking (it used to be fopen'ed,
 * which waits for a writer forever); the timeout turns a regression into a failure. */
Test(data_store, sha256_of_a_fifo_is_refused_without_blocking, .timeout = 10)
{
    char fifo[64], hex[65], why[256] = "";
    int64_t lines = 0;
    snprintf(fifo, sizeof fifo, "/tmp/nd_data_fifo_%d", (int)getpid());
    unlink(fifo);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    nd_err_t rc = nd__data_sha256_file(fifo, hex, &lines, why, sizeof why);
    unlink(fifo);
    cr_assert_eq(rc, ND_EIO);
    cr_assert(strstr(why, "FIFO") != NULL, "%s", why);
}
