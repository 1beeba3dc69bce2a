/* archive.c: unpacking a Binance kline zip with libarchive.
 *
 * A kline archive holds exactly one CSV. Anything else is refused before or while unpacking:
 * no entry or several, a name with a directory part, "..", or a leading dot, an entry that is
 * not a regular file, and an entry that is too large or expands like a zip bomb. The entry is
 * never written under its own name (the caller gives the output file), so a hostile name cannot
 * escape the data directory even if a check were missed. */
#include "data/data_int.h"

#include "noderr/assert.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/stat.h>

#define SLACK_BYTES ((int64_t)1 << 20)
#define BLOCK_BYTES ((size_t)64 << 10)

static nd_err_t bad(struct archive *a, char *err, size_t err_len, const char *why)
{
    const char *detail = a != NULL ? archive_error_string(a) : NULL;
    nd_err_put(err, err_len, "bad archive: %s%s%s", why, detail ? ": " : "",
                     detail ? detail : "");
    return ND_EPARSE;
}

/* Checks the entry's name and type. */
static nd_err_t check_entry(struct archive_entry *e, char *name, size_t name_cap, char *err,
                            size_t err_len)
{
    const char *path = archive_entry_pathname(e);
    if (path == NULL || path[0] == '\0')
        return bad(NULL, err, err_len, "entry without a name");
    if (strchr(path, '/') || strchr(path, '\\') || strstr(path, "..") || path[0] == '.') {
        nd_err_put(err, err_len, "bad archive: entry name '%.100s' has a directory part "
                         "or '..' (path traversal)", path);
        return ND_EPARSE;
    }
    if (archive_entry_filetype(e) != AE_IFREG) {
        nd_err_put(err, err_len, "bad archive: entry '%.100s' is not a regular file",
                         path);
        return ND_EPARSE;
    }
    snprintf(name, name_cap, "%s", path);
    return ND_OK;
}

/* Copies the current entry's data to out within the size limits. */
static nd_err_t copy_entry(struct archive *a, FILE *out, int64_t limit, char *err,
                           size_t err_len)
{
    char block[BLOCK_BYTES];
    int64_t total = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(a, block, sizeof block);
        if (n == 0)
            return ND_OK;
        if (n < 0)
            return bad(a, err, err_len, "cannot unpack the entry");
        total += n;
        if (total > limit) {
            nd_err_put(err, err_len, "bad archive: entry expands past %lld bytes (at most "
                             "%d times the archive, %lld bytes in all)", (long long)limit,
                             ND_DATA_EXPANSION_MAX, (long long)ND_DATA_ENTRY_BYTES_MAX);
            return ND_EPARSE;
        }
        if (fwrite(block, 1, (size_t)n, out) != (size_t)n) {
            nd_err_put(err, err_len, "cannot write the unpacked CSV to disk");
            return ND_EIO;
        }
    }
}

/* The unpacked size allowed for an archive of zip_bytes. */
static int64_t entry_limit(const char *zip_path)
{
    struct stat st;
    int64_t zip_bytes = stat(zip_path, &st) == 0 ? (int64_t)st.st_size : 0;
    int64_t limit = zip_bytes * ND_DATA_EXPANSION_MAX + SLACK_BYTES;
    return limit < ND_DATA_ENTRY_BYTES_MAX ? limit : ND_DATA_ENTRY_BYTES_MAX;
}

/* Reads the first entry of an opened archive into out and makes sure there is no second. */
static nd_err_t unzip_opened(struct archive *a, const char *zip_path, FILE *out, char *name,
                             size_t name_cap, char *err, size_t err_len)
{
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
        return bad(NULL, err, err_len, "no file inside");
    if (r != ARCHIVE_OK)
        return bad(a, err, err_len, "cannot read the first entry");
    nd_err_t rc = check_entry(e, name, name_cap, err, err_len);
    if (rc != ND_OK)
        return rc;
    int64_t limit = entry_limit(zip_path);
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > limit) {
        nd_err_put(err, err_len, "bad archive: entry '%s' declares %lld bytes, over the "
                         "limit of %lld", name, (long long)archive_entry_size(e),
                         (long long)limit);
        return ND_EPARSE;
    }
    rc = copy_entry(a, out, limit, err, err_len);
    if (rc != ND_OK)
        return rc;
    r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_OK)
        return bad(NULL, err, err_len, "more than one file inside (a kline archive holds one "
                   "CSV)");
    if (r != ARCHIVE_EOF)
        return bad(a, err, err_len, "cannot read past the first entry");
    return ND_OK;
}

nd_err_t nd__data_unzip_one(const char *zip_path, FILE *out, char *name, size_t name_cap,
                            char *err, size_t err_len)
{
    ND_ASSERT(zip_path != NULL && out != NULL);
    ND_ASSERT(name != NULL && name_cap > 0);
    struct archive *a = archive_read_new();
    if (a == NULL) {
        nd_err_put(err, err_len, "out of memory opening the archive");
        return ND_ENOMEM;
    }
    archive_read_support_format_zip(a);
    nd_err_t rc;
    if (archive_read_open_filename(a, zip_path, BLOCK_BYTES) != ARCHIVE_OK)
        rc = bad(a, err, err_len, "not a readable zip");
    else
        rc = unzip_opened(a, zip_path, out, name, name_cap, err, err_len);
    archive_read_free(a);
    return rc;
}
