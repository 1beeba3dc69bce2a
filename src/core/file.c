/* file.c: whole-file reads that never block on a FIFO or a device (file.h).
 *
 * Why stat before open: open(2) on a FIFO with no writer blocks forever, and on a terminal or
 * a device it can have side effects, so the kind of file is decided from its metadata first.
 * The open then uses O_NONBLOCK as a second guard (should the path be swapped for a FIFO after
 * the stat) and fstat on the descriptor must show the same regular file. */
#include "noderr/file.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a non-regular file is, for the message. */
static const char *kind_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

static nd_err_t check_kind(const char *path, const struct stat *st, unsigned flags,
                           size_t size_max, char *err, size_t err_len)
{
    if (!S_ISREG(st->st_mode)) {
        nd_err_put(err, err_len, "%s: is %s, not a regular file", path, kind_name(st->st_mode));
        return ND_EINVAL;
    }
    if ((flags & ND_FILE_PRIVATE) && (st->st_mode & 077) != 0) {
        nd_err_put(err, err_len,
                   "%s: must be a regular file with mode 0600 (no group/other access)", path);
        return ND_EINVAL;
    }
    if (st->st_size < 0 || (uintmax_t)st->st_size > size_max) {
        nd_err_put(err, err_len, "%s: %lld bytes, larger than the %zu bytes allowed", path,
                (long long)st->st_size, size_max);
        return ND_ERANGE;
    }
    return ND_OK;
}

/* Reads fd to its end into a buffer of at most size_max bytes plus the NUL. */
static nd_err_t read_fd(const char *path, int fd, size_t hint, size_t size_max, char **out,
                        size_t *len, char *err, size_t err_len)
{
    size_t cap = (hint < size_max ? hint : size_max) + 1, n = 0;
    char *buf = nd_alloc(cap);
    if (buf == NULL) {
        nd_err_put(err, err_len, "%s: out of memory reading %zu bytes", path, cap);
        return ND_ENOMEM;
    }
    for (;;) {
        if (n + 1 == cap) { /* full: the file grew since fstat, or hint was 0 */
            if (cap - 1 >= size_max) {
                char probe;
                ssize_t more = read(fd, &probe, 1);
                if (more == 0)
                    break;
                nd_free(buf);
                nd_err_put(err, err_len, "%s: larger than the %zu bytes allowed", path, size_max);
                return ND_ERANGE;
            }
            size_t grown_cap = cap - 1 > size_max / 2 ? size_max + 1 : 2 * (cap - 1) + 1;
            if (grown_cap < 4097)
                grown_cap = 4097 < size_max + 1 ? 4097 : size_max + 1;
            char *grown = nd_realloc(buf, grown_cap);
            if (grown == NULL) {
                nd_free(buf);
                nd_err_put(err, err_len, "%s: out of memory reading %zu bytes", path, grown_cap);
                return ND_ENOMEM;
            }
            buf = grown;
            cap = grown_cap;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            nd_free(buf);
            nd_err_put(err, err_len, "%s: read failed: %s", path, strerror(e));
            return ND_EIO;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    ND_ASSERT(n < cap);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return ND_OK;
}

/* stat, open without blocking, fstat: the descriptor of the regular file that was checked. */
static nd_err_t open_checked(const char *path, size_t size_max, unsigned flags, int *fd_out,
                             struct stat *st_out, char *err, size_t err_len)
{
    struct stat before;
    int st_rc = (flags & ND_FILE_PRIVATE) ? lstat(path, &before) : stat(path, &before);
    if (st_rc != 0) {
        int e = errno;
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return e == ENOENT || e == ENOTDIR ? ND_ENOTFOUND : ND_EIO;
    }
    nd_err_t rc = check_kind(path, &before, flags, size_max, err, err_len);
    if (rc != ND_OK)
        return rc;
    int oflags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (flags & ND_FILE_PRIVATE)
        oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0) {
        int e = errno;
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return e == ENOENT ? ND_ENOTFOUND : ND_EIO;
    }
    struct stat after;
    if (fstat(fd, &after) != 0) {
        int e = errno;
        close(fd);
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return ND_EIO;
    }
    rc = check_kind(path, &after, flags, size_max, err, err_len);
    if (rc == ND_OK && (after.st_dev != before.st_dev || after.st_ino != before.st_ino)) {
        nd_err_put(err, err_len, "%s: was replaced while it was being opened", path);
        rc = ND_EINVAL;
    }
    if (rc != ND_OK) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *st_out = after;
    return ND_OK;
}

nd_err_t nd_file_read(const char *path, size_t size_max, unsigned flags, char **out, size_t *len,
                      char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    ND_ASSERT(len != NULL);
    int fd = -1;
    struct stat st;
    nd_err_t rc = open_checked(path, size_max, flags, &fd, &st, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = read_fd(path, fd, (size_t)st.st_size, size_max, out, len, err, err_len);
    close(fd);
    return rc;
}

nd_err_t nd_file_open(const char *path, FILE **out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    int fd = -1;
    struct stat st;
    nd_err_t rc = open_checked(path, SIZE_MAX, 0, &fd, &st, err, err_len);
    if (rc != ND_OK)
        return rc;
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return ND_ENOMEM;
    }
    *out = f;
    return ND_OK;
}

/* ---- Whole output files. ------------------------------------------------------------------ */

nd_err_t nd_file_out_open(nd_file_out_t *out, const char *path, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(path != NULL);
    memset(out, 0, sizeof *out);
    out->path = path;
    struct stat st, link_st;
    bool exists = stat(path, &st) == 0;
    bool in_place = exists && !S_ISREG(st.st_mode);
    /* A link to a regular file: the file is replaced, not the link (the rename would otherwise
     * turn the link into a file of its own). */
    bool linked = exists && !in_place && lstat(path, &link_st) == 0 && S_ISLNK(link_st.st_mode);
    char resolved[PATH_MAX];
    const char *target = linked && realpath(path, resolved) ? resolved : path;
    if (!in_place &&
        ((size_t)snprintf(out->target, sizeof out->target, "%s", target) >= sizeof out->target ||
         (size_t)snprintf(out->tmp, sizeof out->tmp, "%s.tmp", target) >= sizeof out->tmp)) {
        out->tmp[0] = '\0';
        nd_err_put(err, err_len, "%s: path too long", path);
        return ND_ERANGE;
    }
    const char *opened = in_place ? path : out->tmp;
    out->f = fopen(opened, "wb");
    if (out->f == NULL) {
        int e = errno;
        nd_err_put(err, err_len, "%s: cannot write: %s", opened, strerror(e));
        out->tmp[0] = '\0';
        return ND_EIO;
    }
    return ND_OK;
}

int nd_file_finish(FILE *f, bool close_it)
{
    ND_ASSERT(f != NULL);
    /* The first error wins: a failed write is seen by the flush or the error flag, a failed
     * flush of the last block (NFS, a full disk) by the close. */
    int e = 0;
    errno = 0;
    if (fflush(f) != 0)
        e = errno ? errno : EIO;
    if (ferror(f) && e == 0)
        e = EIO;
    if (close_it) {
        errno = 0;
        if (fclose(f) != 0 && e == 0)
            e = errno ? errno : EIO;
    }
    return e;
}

nd_err_t nd_file_out_close(nd_file_out_t *out, bool commit, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(out->f != NULL && out->path != NULL);
    int e = nd_file_finish(out->f, true);
    out->f = NULL;
    bool temporary = out->tmp[0] != '\0';
    if (e == 0 && commit && temporary && rename(out->tmp, out->target) != 0)
        e = errno ? errno : EIO;
    if (temporary && (e != 0 || !commit))
        remove(out->tmp);
    out->tmp[0] = '\0';
    if (e != 0) {
        nd_err_put(err, err_len, "%s: %s", out->path, strerror(e));
        return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd_file_write(const char *path, const void *data, size_t len, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(data != NULL || len == 0);
    nd_file_out_t out;
    nd_err_t rc = nd_file_out_open(&out, path, err, err_len);
    if (rc != ND_OK)
        return rc;
    errno = 0;
    bool wrote = len == 0 || fwrite(data, 1, len, out.f) == len;
    int write_errno = wrote ? 0 : errno ? errno : EIO; /* the stream's flag keeps no errno */
    rc = nd_file_out_close(&out, wrote, err, err_len);
    if (!wrote) {
        nd_err_put(err, err_len, "%s: %s", path, strerror(write_errno));
        rc = ND_EIO;
    }
    return rc;
}
