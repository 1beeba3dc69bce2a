/* fetch.c: nd_data_fetch, the downloader's driver: periods -> cache check or download, verify,
 * unpack, normalise, store -> merged file.
 *
 * Invariants: periods are processed in time order and the first failure stops the run; a
 * period reaches its final name (CSV, then its .sha256 sidecar) only after every check passed,
 * so a stored pair is always complete and verified, and a resumed run skips it without
 * touching the network. Temporary files live beside the final ones (same file system, so the
 * rename is atomic) as ".NAME.tmp-XXXXXX" and are removed on every path out; a killed run's
 * leftovers are removed by the next run, which holds the directory's lock. */
#include "data/data_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 4096
#define SIDECAR_BYTES_MAX 512

typedef struct fetch {
    const nd_data_fetch_config_t *cfg;
    const char *base_url;
    const char *dir;
    const char *label;         /* the interval for klines, else the kind's name */
    char period_dir[PATH_LEN]; /* DIR/SYMBOL-LABEL */
    char prefix[64];           /* "SYMBOL-LABEL-" */
    nd__data_http_t *http;     /* created on the first download */
    nd_data_progress_t progress;
    int lock_fd;
} fetch_t;

/* The paths of one period. */
typedef struct period_paths {
    char base[96];          /* "BTCUSDT-1h-2020-01" */
    char url[ND_DATA_URL_MAX];
    char csv[PATH_LEN];     /* final normalised file */
    char sidecar[PATH_LEN]; /* csv + ".sha256" */
    char tmp[3][PATH_LEN];  /* zip, unpacked kline CSV, normalised CSV ("" when unused) */
} period_paths_t;

/* mkdir -p: creates path and its missing parents. */
static nd_err_t make_dirs(const char *path, char *err, size_t err_len)
{
    char buf[PATH_LEN];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        nd_err_put(err, err_len, "%s: path too long", path);
        return ND_ERANGE;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            nd_err_put(err, err_len, "%s: cannot create the directory: %s", buf,
                             strerror(errno));
            return ND_EIO;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    return ND_OK;
}

/* Takes the directory's lock (one fetch per SYMBOL-INTERVAL directory at a time) and removes
 * the temporary files a killed run left behind. */
static nd_err_t lock_and_clean(fetch_t *f, char *err, size_t err_len)
{
    char path[PATH_LEN + 256];
    snprintf(path, sizeof path, "%s/.lock", f->period_dir);
    f->lock_fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (f->lock_fd < 0) {
        nd_err_put(err, err_len, "%s: %s", path, strerror(errno));
        return ND_EIO;
    }
    if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        nd_err_put(err, err_len, "%s: another fetch into this directory is running",
                         f->period_dir);
        return ND_ESTATE;
    }
    DIR *d = opendir(f->period_dir);
    if (d == NULL) {
        nd_err_put(err, err_len, "%s: %s", f->period_dir, strerror(errno));
        return ND_EIO;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-") != NULL) {
            snprintf(path, sizeof path, "%s/%s", f->period_dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
    return ND_OK;
}

static nd_err_t set_paths(const fetch_t *f, const nd_data_period_t *p, period_paths_t *pp,
                          char *name, char *err, size_t err_len)
{
    memset(pp, 0, sizeof *pp);
    nd_data_period_name(p, name, 16);
    snprintf(pp->base, sizeof pp->base, "%s%s", f->prefix, name);
    int n1 = snprintf(pp->csv, sizeof pp->csv, "%s/%s.csv", f->period_dir, pp->base);
    int n2 = snprintf(pp->sidecar, sizeof pp->sidecar, "%s.sha256", pp->csv);
    nd_err_t rc = nd_data_archive_url_kind(f->base_url, f->cfg->kind, f->cfg->symbol,
                                           f->cfg->interval, p, pp->url,
                                           sizeof pp->url - sizeof ".CHECKSUM");
    if (rc != ND_OK || n1 >= (int)sizeof pp->csv || n2 >= (int)sizeof pp->sidecar) {
        nd_err_put(err, err_len, "%s: URL or path too long", pp->base);
        return ND_ERANGE;
    }
    return ND_OK;
}

/* Reads a sidecar: line 1 the archive's digest, line 2 the stored CSV's. */
static int read_sidecar(const period_paths_t *pp, char zip_hex[65], char csv_hex[65])
{
    /* Any sidecar that cannot be read whole (missing, a FIFO, a directory, too large) means
     * "not cached": the period is fetched again and the sidecar rewritten. */
    char name[128], *text = NULL;
    size_t len = 0;
    if (nd_file_read(pp->sidecar, SIDECAR_BYTES_MAX, 0, &text, &len, NULL, 0) != ND_OK)
        return 0;
    char *nl = memchr(text, '\n', len);
    int ok = nl != NULL;
    snprintf(name, sizeof name, "%s.zip", pp->base);
    ok = ok && nd_data_checksum_parse(text, (size_t)(nl - text) + 1, name, zip_hex, NULL, 0) ==
                   ND_OK;
    snprintf(name, sizeof name, "%s.csv", pp->base);
    ok = ok && nd_data_checksum_parse(nl + 1, len - (size_t)(nl + 1 - text), name, csv_hex, NULL,
                                      0) == ND_OK;
    nd_free(text);
    return ok;
}

/* A period is cached when its CSV hashes to the digest its sidecar recorded. */
static int try_cached(const period_paths_t *pp, nd_data_period_result_t *r)
{
    char zip_hex[65], csv_hex[65], actual[65];
    int64_t lines;
    if (!read_sidecar(pp, zip_hex, csv_hex) ||
        nd__data_sha256_file(pp->csv, actual, &lines, NULL, 0) != ND_OK ||
        strcmp(actual, csv_hex) != 0 || lines < 1)
        return 0;
    r->status = ND_DATA_CACHED;
    r->bars = lines - 1;
    memcpy(r->sha256, zip_hex, sizeof zip_hex);
    return 1;
}

static void on_bytes(void *ctx, int64_t done, int64_t total)
{
    fetch_t *f = ctx;
    f->progress.bytes_done = done;
    f->progress.bytes_total = total;
    if (f->cfg->progress_cb != NULL)
        f->cfg->progress_cb(f->cfg->progress_ctx, &f->progress);
}

/* Fetches and parses the period's .CHECKSUM. */
static nd_err_t get_checksum(fetch_t *f, const period_paths_t *pp, char hex[65], char *err,
                             size_t err_len)
{
    char url[ND_DATA_URL_MAX + 16], text[ND_DATA_CHECKSUM_BYTES_MAX], name[128], why[192];
    snprintf(url, sizeof url, "%s.CHECKSUM", pp->url);
    size_t len;
    nd_err_t rc = nd__data_http_get_mem(f->http, url, text, sizeof text, &len, err, err_len);
    if (rc != ND_OK)
        return rc;
    snprintf(name, sizeof name, "%s.zip", pp->base);
    if (nd_data_checksum_parse(text, len, name, hex, why, sizeof why) != ND_OK) {
        nd_err_put(err, err_len, "%s: bad checksum file: %s", url, why);
        return ND_EPARSE;
    }
    return ND_OK;
}

/* Opens the period's temporary file number slot (0 the archive, 1 the unpacked CSV, 2 the
 * stored CSV and then its sidecar), named after the period with suffix; its path is kept in
 * pp->tmp[slot] for the rename or cleanup. */
static nd_err_t open_temp(fetch_t *f, period_paths_t *pp, int slot, const char *suffix,
                          FILE **file, char *err, size_t err_len)
{
    char name[128];
    snprintf(name, sizeof name, "%s%s", pp->base, suffix);
    return nd__data_temp_open(f->period_dir, name, pp->tmp[slot], PATH_LEN, file, err, err_len);
}

/* open_temp, then a hashing writer over the file. */
static nd_err_t open_temp_writer(fetch_t *f, period_paths_t *pp, int slot, const char *suffix,
                                 FILE **file, nd__data_writer_t *w, char *err, size_t err_len)
{
    nd_err_t rc = open_temp(f, pp, slot, suffix, file, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (nd__data_writer_init(w, *file) != ND_OK) {
        fclose(*file);
        return ND_ENOMEM;
    }
    return ND_OK;
}

/* Flags, flushes and closes a temp file a step wrote: a failed write is "URL: cannot write the
 * WHAT to disk" (ND_EIO) unless the step had failed already (rc, its message in err). */
static nd_err_t close_temp(FILE *file, nd_err_t rc, const period_paths_t *pp, const char *what,
                           char *err, size_t err_len)
{
    if (nd_file_finish(file, true) != 0 && rc == ND_OK) {
        nd_err_put(err, err_len, "%s: cannot write the %s to disk", pp->url, what);
        return ND_EIO;
    }
    return rc;
}

/* Downloads the archive to a temp file and checks its SHA-256 against want. */
static nd_err_t get_archive(fetch_t *f, period_paths_t *pp, const char *want, char *err,
                            size_t err_len)
{
    char got[65];
    FILE *file;
    nd__data_writer_t w;
    nd_err_t rc = open_temp_writer(f, pp, 0, ".zip", &file, &w, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd__data_http_get_file(f->http, pp->url, &w, ND_DATA_ARCHIVE_BYTES_MAX, on_bytes, f,
                                err, err_len);
    nd__data_writer_finish(&w, got);
    rc = close_temp(file, rc, pp, "download", err, err_len);
    if (rc != ND_OK)
        return rc;
    if (strcmp(got, want) != 0) {
        nd_err_put(err, err_len, "%s: checksum mismatch: the archive's SHA-256 is %s, "
                         "%s.CHECKSUM says %s", pp->url, got, pp->url, want);
        return ND_EPARSE;
    }
    return ND_OK;
}

/* Unpacks the verified archive into a temp kline CSV. */
static nd_err_t unpack(fetch_t *f, period_paths_t *pp, char *entry, size_t entry_cap, char *err,
                       size_t err_len)
{
    char why[384];
    FILE *file;
    nd_err_t rc = open_temp(f, pp, 1, ".kline.csv", &file, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd__data_unzip_one(pp->tmp[0], file, entry, entry_cap, why, sizeof why);
    if (rc != ND_OK)
        nd_err_put(err, err_len, "%s: %s", pp->url, why);
    return close_temp(file, rc, pp, "unpacked CSV", err, err_len);
}

/* Normalises the unpacked CSV into the period's final file, then writes the sidecar. */
static nd_err_t store(fetch_t *f, period_paths_t *pp, const nd_data_period_t *p,
                      const char *entry, nd_data_period_result_t *r, char *err, size_t err_len)
{
    char label[ND_DATA_URL_MAX + 160], csv_hex[65];
    snprintf(label, sizeof label, "%s: %s", pp->url, entry);
    FILE *file;
    nd__data_writer_t w;
    nd_err_t rc = open_temp_writer(f, pp, 2, ".csv", &file, &w, err, err_len);
    if (rc != ND_OK)
        return rc;
    int64_t bars = 0;
    if (f->cfg->kind == ND_DATA_KIND_KLINES)
        rc = nd__data_normalise(pp->tmp[1], label, p, &w, &bars, err, err_len);
    else
        rc = nd__data_store_ticks(pp->tmp[1], label, f->cfg->kind, p, &w, &bars, err, err_len);
    nd__data_writer_finish(&w, csv_hex);
    if (rc == ND_OK && w.failed) {
        nd_err_put(err, err_len, "%s: write failed", pp->csv);
        rc = ND_EIO;
    }
    if (rc != ND_OK) {
        fclose(file);
        return rc;
    }
    rc = nd__data_commit(file, pp->tmp[2], pp->csv, err, err_len);
    pp->tmp[2][0] = '\0'; /* renamed or removed by commit */
    if (rc != ND_OK)
        return rc;
    rc = open_temp(f, pp, 2, ".csv", &file, err, err_len);
    if (rc == ND_OK) {
        fprintf(file, "%s  %s.zip\n%s  %s.csv\n", r->sha256, pp->base, csv_hex, pp->base);
        rc = nd__data_commit(file, pp->tmp[2], pp->sidecar, err, err_len);
        pp->tmp[2][0] = '\0';
    }
    if (rc != ND_OK)
        unlink(pp->csv); /* a CSV without its sidecar would be fetched again anyway */
    r->bars = bars;
    return rc;
}

/* Downloads, verifies, unpacks and stores one period. */
static nd_err_t download(fetch_t *f, const nd_data_period_t *p, period_paths_t *pp,
                         nd_data_period_result_t *r, char *err, size_t err_len)
{
    if (f->http == NULL) {
        long timeout = f->cfg->timeout_sec > 0 ? f->cfg->timeout_sec : ND_DATA_TIMEOUT_SEC_DEFAULT;
        nd_err_t rc = nd__data_http_new(timeout, &f->http, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    /* A stored pair that failed verification is dropped first, so a failed download leaves
     * no file for the period. */
    unlink(pp->sidecar);
    unlink(pp->csv);
    char want[65], entry[128];
    nd_err_t rc = get_checksum(f, pp, want, err, err_len);
    if (rc == ND_OK)
        rc = get_archive(f, pp, want, err, err_len);
    if (rc == ND_OK) {
        memcpy(r->sha256, want, sizeof want);
        rc = unpack(f, pp, entry, sizeof entry, err, err_len);
    }
    if (rc == ND_OK)
        rc = store(f, pp, p, entry, r, err, err_len);
    for (int i = 0; i < 3; i++)
        if (pp->tmp[i][0] != '\0')
            unlink(pp->tmp[i]);
    if (rc == ND_OK)
        r->status = ND_DATA_DOWNLOADED;
    return rc;
}

static nd_err_t run_period(fetch_t *f, const nd_data_period_t *p, nd_data_period_result_t *r,
                           char *err, size_t err_len)
{
    period_paths_t pp;
    r->period = *p;
    r->status = ND_DATA_FAILED;
    nd_err_t rc = set_paths(f, p, &pp, r->name, err, err_len);
    if (rc != ND_OK)
        return rc;
    f->progress.period = r->name;
    f->progress.bytes_done = f->progress.bytes_total = 0;
    f->progress.done = 0;
    if (f->cfg->progress_cb != NULL)
        f->cfg->progress_cb(f->cfg->progress_ctx, &f->progress);
    if (!try_cached(&pp, r)) {
        rc = download(f, p, &pp, r, err, err_len);
        if (rc != ND_OK) {
            r->bars = 0;
            return rc;
        }
    }
    ND_ASSERT(r->status == ND_DATA_DOWNLOADED || r->status == ND_DATA_CACHED);
    f->progress.done = 1;
    if (f->cfg->progress_cb != NULL)
        f->cfg->progress_cb(f->cfg->progress_ctx, &f->progress);
    return ND_OK;
}

static nd_err_t check_config(const nd_data_fetch_config_t *cfg, const char *base_url, char *err,
                             size_t err_len)
{
    if (!nd_data_symbol_valid(cfg->symbol)) {
        nd_err_put(err, err_len, "symbol '%.40s': expected 1 to %d characters A-Z 0-9",
                         cfg->symbol, ND_DATA_SYMBOL_MAX - 1);
        return ND_EINVAL;
    }
    if (cfg->kind != ND_DATA_KIND_KLINES && cfg->kind != ND_DATA_KIND_TRADES &&
        cfg->kind != ND_DATA_KIND_AGG_TRADES && cfg->kind != ND_DATA_KIND_BOOK_TICKER) {
        nd_err_put(err, err_len, "unknown data kind %d", (int)cfg->kind);
        return ND_EINVAL;
    }
    if (cfg->kind == ND_DATA_KIND_KLINES &&
        (cfg->interval == NULL || !nd_data_interval_valid(cfg->interval))) {
        nd_err_put(err, err_len, "interval '%.20s': expected one of 1s 1m 3m 5m 15m 30m "
                         "1h 2h 4h 6h 8h 12h 1d 3d 1w 1mo", cfg->interval ? cfg->interval : "");
        return ND_EINVAL;
    }
    size_t len = strlen(base_url);
    if ((strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) ||
        len >= ND_DATA_URL_MAX / 2) {
        nd_err_put(err, err_len, "base URL '%.100s': expected http:// or https:// and at "
                         "most %d characters", base_url, ND_DATA_URL_MAX / 2 - 1);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* Everything after the checks: directories, lock, periods, merge. */
static nd_err_t fetch_all(fetch_t *f, const nd_data_period_t *periods, size_t count,
                          nd_data_fetch_result_t *result, char *err, size_t err_len)
{
    nd_err_t rc = make_dirs(f->period_dir, err, err_len);
    if (rc == ND_OK)
        rc = lock_and_clean(f, err, err_len);
    for (size_t i = 0; rc == ND_OK && i < count; i++) {
        f->progress.period_index = i;
        nd_data_period_result_t *r = &result->periods[result->count++];
        rc = run_period(f, &periods[i], r, err, err_len);
        if (rc == ND_OK && r->status == ND_DATA_DOWNLOADED)
            result->downloaded++;
        else if (rc == ND_OK)
            result->cached++;
    }
    if (rc != ND_OK)
        return rc;
    if (f->cfg->kind != ND_DATA_KIND_KLINES) {
        /* Tick archives are large (a month of BTCUSDT trades is gigabytes): no merged copy.
         * The result names the folder of period files, and counts their rows. */
        for (size_t i = 0; i < result->count; i++)
            result->bars += result->periods[i].bars;
        size_t n = strlen(f->period_dir);
        if (n >= sizeof result->file) {
            nd_err_put(err, err_len, "%s: path too long", f->period_dir);
            return ND_ERANGE;
        }
        memcpy(result->file, f->period_dir, n + 1);
        return ND_OK;
    }
    char out[ND_DATA_URL_MAX];
    snprintf(out, sizeof out, "%s/%s-%s.csv", f->dir, f->cfg->symbol, f->label);
    int64_t bars = 0;
    rc = nd__data_merge(f->period_dir, f->prefix, f->dir, out, &bars, err, err_len);
    if (rc == ND_OK) {
        result->bars = bars;
        snprintf(result->file, sizeof result->file, "%s", out);
    }
    return rc;
}

nd_err_t nd_data_fetch(const nd_data_fetch_config_t *cfg, nd_data_fetch_result_t *result,
                       char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && result != NULL);
    ND_ASSERT(cfg->symbol != NULL);
    memset(result, 0, sizeof *result);
    fetch_t f = {.cfg = cfg, .lock_fd = -1,
                 .base_url = cfg->base_url ? cfg->base_url : ND_DATA_BASE_URL_DEFAULT,
                 .dir = cfg->dir && cfg->dir[0] ? cfg->dir : "data"};
    nd_err_t rc = check_config(cfg, f.base_url, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (strlen(f.dir) > PATH_LEN / 2) {
        nd_err_put(err, err_len, "directory path longer than %d bytes", PATH_LEN / 2);
        return ND_EINVAL;
    }
    f.label = cfg->kind == ND_DATA_KIND_KLINES ? cfg->interval : nd_data_kind_name(cfg->kind);
    snprintf(f.period_dir, sizeof f.period_dir, "%s/%s-%s", f.dir, cfg->symbol, f.label);
    snprintf(f.prefix, sizeof f.prefix, "%s-%s-", cfg->symbol, f.label);
    nd_data_period_t *periods = nd_calloc(ND_DATA_PERIODS_MAX, sizeof *periods);
    if (periods == NULL)
        return ND_ENOMEM;
    size_t count = 0;
    rc = nd_data_periods(cfg->from_ns, cfg->to_ns, cfg->today_ns, periods, ND_DATA_PERIODS_MAX,
                         &count, err, err_len);
    if (rc == ND_OK && (result->periods = nd_calloc(count, sizeof *result->periods)) == NULL)
        rc = ND_ENOMEM;
    if (rc == ND_OK) {
        f.progress.period_count = count;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = fetch_all(&f, periods, count, result, err, err_len);
        nd__data_http_free(f.http);
        curl_global_cleanup();
    }
    if (f.lock_fd >= 0)
        close(f.lock_fd);
    nd_free(periods);
    ND_ASSERT(result->count <= count);
    return rc;
}

void nd_data_fetch_result_deinit(nd_data_fetch_result_t *result)
{
    ND_ASSERT(result != NULL);
    nd_free(result->periods);
    memset(result, 0, sizeof *result);
}
