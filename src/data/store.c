/* store.c: the downloader's storage: hashed writes, temp files committed by rename, kline
 * normalisation and the merged per-symbol file.
 *
 * Invariants: a file reaches its final name only by rename(2) after fflush and fsync, so a
 * reader (or a resumed run) never sees a partial file under a final name; every stored row has
 * passed the project's loader (src/market/bars_csv.c) and lies inside its period. */
#include "data/data_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nd_err_t nd__data_writer_init(nd__data_writer_t *w, FILE *file)
{
    ND_ASSERT(w != NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return ND_ENOMEM;
    }
    *w = (nd__data_writer_t){.file = file, .md = md};
    return ND_OK;
}

void nd__data_writer_put(nd__data_writer_t *w, const void *data, size_t len)
{
    ND_ASSERT(w != NULL && w->md != NULL);
    if (w->failed)
        return;
    if (EVP_DigestUpdate(w->md, data, len) != 1)
        w->failed = 1;
    if (w->file != NULL && fwrite(data, 1, len, w->file) != len)
        w->failed = 1;
    w->bytes += (int64_t)len;
}

static void to_hex(const unsigned char *digest, unsigned len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * len] = '\0';
}

void nd__data_writer_finish(nd__data_writer_t *w, char hex[65])
{
    ND_ASSERT(w != NULL && w->md != NULL);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(w->md, digest, &len) != 1)
        w->failed = 1;
    ND_ASSERT(w->failed || len == 32);
    to_hex(digest, w->failed ? 0 : len, hex);
    nd__data_writer_deinit(w);
}

void nd__data_writer_deinit(nd__data_writer_t *w)
{
    ND_ASSERT(w != NULL);
    EVP_MD_CTX_free(w->md);
    w->md = NULL;
}

nd_err_t nd__data_sha256_file(const char *path, char hex[65], int64_t *lines, char *err,
                              size_t err_len)
{
    ND_ASSERT(path != NULL && lines != NULL);
    FILE *f = NULL; /* nd_file_open: a FIFO or a directory is refused, never blocks */
    if (nd_file_open(path, &f, err, err_len) != ND_OK)
        return ND_EIO;
    nd__data_writer_t w;
    if (nd__data_writer_init(&w, NULL) != ND_OK) {
        fclose(f);
        return ND_ENOMEM;
    }
    static char block[1 << 16]; /* single-threaded CLI use: keeps 64 KiB off the stack */
    int64_t count = 0;
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0) {
        nd__data_writer_put(&w, block, n);
        for (const char *p = block; (p = memchr(p, '\n', (size_t)(block + n - p))) != NULL; p++)
            count++;
    }
    int bad = ferror(f);
    fclose(f);
    char digest[65];
    nd__data_writer_finish(&w, digest);
    if (bad || w.failed) {
        nd_err_put(err, err_len, "%s: read error", path);
        return ND_EIO;
    }
    memcpy(hex, digest, sizeof digest);
    *lines = count;
    return ND_OK;
}

void nd__data_instrument(nd_instrument_t *inst)
{
    ND_ASSERT(inst != NULL);
    *inst = (nd_instrument_t){.px_decimals = ND_DEFAULT_PX_DECIMALS,
                              .qty_decimals = ND_DEFAULT_QTY_DECIMALS, .tick_size = 1,
                              .lot_size = 1};
    snprintf(inst->symbol, sizeof inst->symbol, "DATA");
}

static const char csv_header[] = "ts,open,high,low,close,volume\n";

/* Writes one normalised row: ts in ms, numbers in canonical form (trailing zeros trimmed). */
void nd__data_put_row(nd__data_writer_t *w, const nd_bar_t *b)
{
    char line[160], o[24], h[24], l[24], c[24], v[24];
    nd_fixed_format(b->open, ND_DEFAULT_PX_DECIMALS, o, sizeof o);
    nd_fixed_format(b->high, ND_DEFAULT_PX_DECIMALS, h, sizeof h);
    nd_fixed_format(b->low, ND_DEFAULT_PX_DECIMALS, l, sizeof l);
    nd_fixed_format(b->close, ND_DEFAULT_PX_DECIMALS, c, sizeof c);
    nd_fixed_format(b->volume, ND_DEFAULT_QTY_DECIMALS, v, sizeof v);
    int n = snprintf(line, sizeof line, "%lld,%s,%s,%s,%s,%s\n",
                     (long long)(b->ts_ns / ND_NS_PER_MS), o, h, l, c, v);
    ND_ASSERT(n > 0 && (size_t)n < sizeof line);
    nd__data_writer_put(w, line, (size_t)n);
}

/* Replaces a leading tmp_path in a loader message with label. */
static void relabel(const char *msg, const char *tmp_path, const char *label, char *err,
                    size_t err_len)
{
    size_t n = strlen(tmp_path);
    if (strncmp(msg, tmp_path, n) == 0)
        nd_err_put(err, err_len, "%s%s", label, msg + n);
    else
        nd_err_put(err, err_len, "%s: %s", label, msg);
}

/* Checks a bar against its period and the whole-millisecond rule of the stored format. */
static nd_err_t check_in_period(const nd_bar_t *b, const nd_data_period_t *p, const char *label,
                                int64_t index, char *err, size_t err_len)
{
    char when[32];
    if (b->ts_ns >= p->start_ns && b->ts_ns < p->end_ns && b->ts_ns % ND_NS_PER_MS == 0)
        return ND_OK;
    nd_time_format_iso(b->ts_ns, when, sizeof when);
    nd_err_put(err, err_len, "%s: bar %lld opens at %s, %s", label, (long long)index + 1,
                     when, b->ts_ns % ND_NS_PER_MS ? "not a whole millisecond"
                                                   : "outside the archive's period");
    return ND_EPARSE;
}

nd_err_t nd__data_normalise(const char *kline_path, const char *label,
                            const nd_data_period_t *period, nd__data_writer_t *w, int64_t *bars,
                            char *err, size_t err_len)
{
    ND_ASSERT(kline_path != NULL && label != NULL);
    ND_ASSERT(period != NULL && w != NULL);
    nd_instrument_t inst;
    nd__data_instrument(&inst);
    nd_bar_source_t *src;
    char msg[256];
    nd_err_t rc = nd_bars_open(kline_path, ND_BAR_FORMAT_KLINE, &inst, &src, msg, sizeof msg);
    if (rc != ND_OK) {
        relabel(msg, kline_path, label, err, err_len);
        return rc == ND_EIO || rc == ND_ENOMEM ? rc : ND_EPARSE;
    }
    nd__data_writer_put(w, csv_header, sizeof csv_header - 1);
    int64_t count = 0;
    nd_bar_t b;
    while ((rc = src->next(src, &b)) == ND_OK) {
        if (check_in_period(&b, period, label, count, err, err_len) != ND_OK) {
            src->close(src);
            return ND_EPARSE;
        }
        nd__data_put_row(w, &b);
        count++;
    }
    if (rc != ND_EEOF)
        relabel(src->err, kline_path, label, err, err_len);
    src->close(src);
    if (rc != ND_EEOF)
        return rc == ND_EIO || rc == ND_ENOMEM ? rc : ND_EPARSE;
    *bars = count;
    return ND_OK;
}

nd_err_t nd__data_temp_open(const char *dir, const char *name, char *path, size_t cap,
                            FILE **out, char *err, size_t err_len)
{
    ND_ASSERT(dir != NULL && name != NULL);
    ND_ASSERT(path != NULL && out != NULL);
    int n = snprintf(path, cap, "%s/.%s.tmp-XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        nd_err_put(err, err_len, "%s/%s: path too long", dir, name);
        return ND_ERANGE;
    }
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        nd_err_put(err, err_len, "%s: cannot create a temporary file: %s", dir,
                         strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return ND_EIO;
    }
    *out = f;
    return ND_OK;
}

nd_err_t nd__data_commit(FILE *file, const char *tmp_path, const char *final_path, char *err,
                         size_t err_len)
{
    ND_ASSERT(file != NULL);
    ND_ASSERT(tmp_path != NULL && final_path != NULL);
    /* fsync before rename: after a crash the final name holds either the old file or the whole
     * new one, never a prefix of it. */
    int bad = fflush(file) != 0 || fsync(fileno(file)) != 0;
    int saved = errno;
    bad |= fclose(file) != 0;
    if (bad) {
        nd_err_put(err, err_len, "%s: write failed: %s", final_path, strerror(saved));
        unlink(tmp_path);
        return ND_EIO;
    }
    if (rename(tmp_path, final_path) != 0) {
        nd_err_put(err, err_len, "%s: cannot rename into place: %s", final_path,
                         strerror(errno));
        unlink(tmp_path);
        return ND_EIO;
    }
    return ND_OK;
}
