/* merge.c: rebuilds the merged file DIR/SYMBOL-INTERVAL.csv from the stored periods.
 *
 * The merged file is the union of every stored period (a file with its .sha256 sidecar) in
 * time order, whatever range the current run asked for. A monthly file supersedes the daily
 * files of its month (a later run fetched the month whole). Every row is re-read through the
 * project's loader and time must increase strictly across files too, so the merged file always
 * loads; it is written to a temp file and renamed into place. */
#include "data/data_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stored period files one merge reads: 100 years of daily files is 36,500; anything past
 * this is not a directory this tool wrote. */
#define STORED_MAX 100000
#define PATH_MAX_LEN 4096

typedef struct stored {
    char **names; /* period names, "2020-01" or "2020-01-05" */
    size_t count;
    size_t cap;
} stored_t;

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Returns the length of the period part of "PERIOD.csv" (7 or 10), or 0 if it is not one. */
static size_t period_part(const char *rest)
{
    size_t len = strlen(rest);
    if (len != 11 && len != 14)
        return 0;
    if (strcmp(rest + len - 4, ".csv") != 0 || !all_digits(rest, 4) || rest[4] != '-' ||
        !all_digits(rest + 5, 2))
        return 0;
    if (len == 14 && (rest[7] != '-' || !all_digits(rest + 8, 2)))
        return 0;
    return len - 4;
}

static nd_err_t add_name(stored_t *s, const char *name, size_t len)
{
    if (s->count == STORED_MAX)
        return ND_EFULL;
    char **grown = nd_array_grow(s->names, &s->cap, s->count + 1, sizeof *grown, 64);
    if (!grown)
        return ND_ENOMEM;
    s->names = grown;
    char *copy = nd_alloc(len + 1);
    if (copy == NULL)
        return ND_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    s->names[s->count++] = copy;
    return ND_OK;
}

static void stored_free(stored_t *s)
{
    for (size_t i = 0; i < s->count; i++)
        nd_free(s->names[i]);
    nd_free(s->names);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the stored periods of dir (files PREFIXPERIOD.csv with a sidecar), sorted. */
static nd_err_t list_stored(const char *dir, const char *prefix, stored_t *s, char *err,
                            size_t err_len)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        nd_err_put(err, err_len, "%s: cannot list the directory", dir);
        return ND_EIO;
    }
    size_t plen = strlen(prefix);
    nd_err_t rc = ND_OK;
    struct dirent *de;
    char side[PATH_MAX_LEN];
    while (rc == ND_OK && (de = readdir(d)) != NULL) {
        size_t n;
        if (strncmp(de->d_name, prefix, plen) != 0 || (n = period_part(de->d_name + plen)) == 0)
            continue;
        snprintf(side, sizeof side, "%s/%s.sha256", dir, de->d_name);
        if (access(side, R_OK) == 0)
            rc = add_name(s, de->d_name + plen, n);
    }
    closedir(d);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "%s: more than %d stored files or out of memory", dir,
                         STORED_MAX);
        return rc;
    }
    qsort(s->names, s->count, sizeof *s->names, cmp_names);
    return ND_OK;
}

/* Appends one stored file's bars; time must keep increasing from *prev_ns. */
static nd_err_t append_file(const char *path, nd__data_writer_t *w, int64_t *prev_ns,
                            int64_t *bars, char *err, size_t err_len)
{
    nd_instrument_t inst;
    nd__data_instrument(&inst);
    nd_bar_source_t *src;
    nd_err_t rc = nd_bars_open(path, ND_BAR_FORMAT_CSV, &inst, &src, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_bar_t b;
    while ((rc = src->next(src, &b)) == ND_OK) {
        if (*bars > 0 && b.ts_ns <= *prev_ns) {
            nd_err_put(err, err_len, "%s: bar at %lld ms overlaps the previous stored "
                             "period", path, (long long)(b.ts_ns / ND_NS_PER_MS));
            src->close(src);
            return ND_EPARSE;
        }
        nd__data_put_row(w, &b);
        *prev_ns = b.ts_ns;
        (*bars)++;
    }
    if (rc != ND_EEOF)
        nd_err_put(err, err_len, "%s", src->err);
    src->close(src);
    return rc == ND_EEOF ? ND_OK : rc;
}

/* Says whether name is a daily period of the monthly period month ("2020-01-05", "2020-01"). */
static int superseded(const char *name, const char *month)
{
    return month != NULL && strlen(name) == 10 && strncmp(name, month, 7) == 0;
}

static nd_err_t write_all(const char *dir, const char *prefix, const stored_t *s,
                          nd__data_writer_t *w, int64_t *bars, char *err, size_t err_len)
{
    static const char header[] = "ts,open,high,low,close,volume\n";
    nd__data_writer_put(w, header, sizeof header - 1);
    const char *month = NULL;
    int64_t prev_ns = 0;
    char path[PATH_MAX_LEN];
    for (size_t i = 0; i < s->count; i++) {
        const char *name = s->names[i];
        if (strlen(name) == 7)
            month = name;
        else if (superseded(name, month))
            continue;
        snprintf(path, sizeof path, "%s/%s%s.csv", dir, prefix, name);
        nd_err_t rc = append_file(path, w, &prev_ns, bars, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

nd_err_t nd__data_merge(const char *period_dir, const char *prefix, const char *tmp_dir,
                        const char *out_path, int64_t *bars, char *err, size_t err_len)
{
    ND_ASSERT(period_dir != NULL && prefix != NULL);
    ND_ASSERT(tmp_dir != NULL && out_path != NULL && bars != NULL);
    stored_t s = {0};
    nd_err_t rc = list_stored(period_dir, prefix, &s, err, err_len);
    FILE *f = NULL;
    char tmp[PATH_MAX_LEN];
    const char *base = strrchr(out_path, '/');
    if (rc == ND_OK)
        rc = nd__data_temp_open(tmp_dir, base ? base + 1 : out_path, tmp, sizeof tmp, &f, err,
                                err_len);
    nd__data_writer_t w = {0};
    if (rc == ND_OK && nd__data_writer_init(&w, f) != ND_OK)
        rc = ND_ENOMEM;
    int64_t count = 0;
    if (rc == ND_OK)
        rc = write_all(period_dir, prefix, &s, &w, &count, err, err_len);
    if (w.md != NULL)
        nd__data_writer_deinit(&w);
    if (rc == ND_OK && w.failed) {
        nd_err_put(err, err_len, "%s: write failed", out_path);
        rc = ND_EIO;
    }
    if (rc == ND_OK)
        rc = nd__data_commit(f, tmp, out_path, err, err_len);
    else if (f != NULL) {
        fclose(f);
        unlink(tmp);
    }
    stored_free(&s);
    if (rc == ND_OK)
        *bars = count;
    return rc;
}
