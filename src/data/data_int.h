/* data_int.h: private interfaces between the downloader's files (http.c, archive.c, store.c,
 * fetch.c). Not part of the public contract in include/noderr/data.h. */
#ifndef NODERR_DATA_INT_H
#define NODERR_DATA_INT_H

#include "noderr/data.h"
#include "noderr/market.h"

#include <stdint.h>
#include <stdio.h>

/* SHA-256 of everything written through a hashed writer. */
typedef struct nd__data_writer {
    FILE *file;
    void *md;        /* EVP_MD_CTX * */
    int64_t bytes;
    int failed;      /* a write failed (disk full, ...) */
} nd__data_writer_t;

nd_err_t nd__data_writer_init(nd__data_writer_t *w, FILE *file);
void nd__data_writer_put(nd__data_writer_t *w, const void *data, size_t len);
/* Writes the digest in lower-case hex (65 bytes) and frees the hash state. */
void nd__data_writer_finish(nd__data_writer_t *w, char hex[65] /* OUT */);
/* Frees the hash state without a digest (error paths); safe after finish. */
void nd__data_writer_deinit(nd__data_writer_t *w);

/* SHA-256 of a whole file in hex and its number of '\n'; ND_EIO with err when unreadable. */
nd_err_t nd__data_sha256_file(const char *path, char hex[65] /* OUT */, int64_t *lines /* OUT */,
                              char *err, size_t err_len);

/* One reusable HTTP client (a libcurl easy handle). */
typedef struct nd__data_http nd__data_http_t;

typedef void (*nd__data_bytes_cb)(void *ctx, int64_t done, int64_t total);

nd_err_t nd__data_http_new(long timeout_sec, nd__data_http_t **out /* OUT */, char *err,
                           size_t err_len);
void nd__data_http_free(nd__data_http_t *http);
/* GETs url into buf (at most cap bytes); ND_ENOTFOUND on 404, ND_EIO otherwise. */
nd_err_t nd__data_http_get_mem(nd__data_http_t *http, const char *url, char *buf, size_t cap,
                               size_t *len /* OUT */, char *err, size_t err_len);
/* GETs url through w (so its SHA-256 is computed on the way), at most max_bytes. */
nd_err_t nd__data_http_get_file(nd__data_http_t *http, const char *url, nd__data_writer_t *w,
                                int64_t max_bytes, nd__data_bytes_cb bytes_cb, void *ctx,
                                char *err, size_t err_len);

/* Unpacks the single regular-file entry of the zip at zip_path into out. Refuses (ND_EPARSE,
 * "bad archive: ...") an unreadable zip, no entry or several, a name with a directory part or
 * "..", anything but a regular file, and an entry over ND_DATA_ENTRY_BYTES_MAX or expanding
 * more than ND_DATA_EXPANSION_MAX times. The entry's name goes into name. */
nd_err_t nd__data_unzip_one(const char *zip_path, FILE *out, char *name, size_t name_cap,
                            char *err, size_t err_len);

/* The instrument used to read and write stored files: Binance's 8 decimals for both scales. */
void nd__data_instrument(nd_instrument_t *inst /* OUT */);

/* Writes one bar as a stored row "ts_ms,open,high,low,close,volume\n" (canonical numbers). */
void nd__data_put_row(nd__data_writer_t *w, const nd_bar_t *bar);

/* Reads the kline CSV at kline_path (ms or us open times), checks every bar lies in the
 * period, and writes it normalised (ts,open,high,low,close,volume; ts ms) through w. Error
 * messages name `label` in place of the temporary path. */
nd_err_t nd__data_normalise(const char *kline_path, const char *label,
                            const nd_data_period_t *period, nd__data_writer_t *w,
                            int64_t *bars /* OUT */, char *err, size_t err_len);

/* Validates the unpacked trades / aggTrades / bookTicker CSV at csv_path with the tick loaders
 * (every row inside period) and writes it through w as a canonical header plus the data rows
 * verbatim. Messages name `label` in place of the temporary path. */
nd_err_t nd__data_store_ticks(const char *csv_path, const char *label, nd_data_kind_t kind,
                              const nd_data_period_t *period, nd__data_writer_t *w,
                              int64_t *rows /* OUT */, char *err, size_t err_len);

/* Rebuilds out_path from every stored period of period_dir (name prefix "SYMBOL-INTERVAL-",
 * with a sidecar), in time order; a monthly file supersedes that month's daily files. Writes
 * through a temp file in tmp_dir then renames. */
nd_err_t nd__data_merge(const char *period_dir, const char *prefix, const char *tmp_dir,
                        const char *out_path, int64_t *bars /* OUT */, char *err, size_t err_len);

/* Creates a temp file ".<name>.tmp-XXXXXX" in dir; its path goes into path (cap bytes). */
nd_err_t nd__data_temp_open(const char *dir, const char *name, char *path, size_t cap,
                            FILE **out /* OUT */, char *err, size_t err_len);
/* Flushes, fsyncs and closes file, then renames tmp_path to final_path. On any failure the
 * temp file is removed and ND_EIO returned. */
nd_err_t nd__data_commit(FILE *file, const char *tmp_path, const char *final_path, char *err,
                         size_t err_len);

#endif
