/* file.h: reading a whole input file, and writing a whole output file.
 *
 * Every whole-file read (secrets, params and config JSON, returns files) goes through
 * nd_file_read, so that a FIFO, a device or a directory is refused with one clear message
 * before anything can block on it, and no file is read past a stated size. */
#ifndef NODERR_FILE_H
#define NODERR_FILE_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Flags of nd_file_read. */
#define ND_FILE_PRIVATE 1u /* a secret: no symlink, and no group or other access bits */

/* Reads the whole regular file at path into an nd_alloc'd buffer with a NUL after the last byte
 * (the caller frees it with nd_free; a caller holding a secret wipes it first).
 *
 * The path is stat'ed (lstat with ND_FILE_PRIVATE) before it is opened, so a FIFO, a device, a
 * socket or a directory is refused without a blocking open; the open itself uses O_NONBLOCK and
 * O_NOCTTY, and fstat checks that the file opened is the regular file that was checked (closing
 * the race with a rename in between). A file larger than size_max bytes is ND_ERANGE.
 * Errors: ND_ENOTFOUND (no such file), ND_EINVAL (not a regular file, or not private),
 * ND_ERANGE (too large), ND_EIO (read failed), ND_ENOMEM. err names the path and why. */
nd_err_t nd_file_read(const char *path, size_t size_max, unsigned flags, char **out /* OUT */,
                      size_t *len /* OUT */, char *err, size_t err_len);

/* Opens the regular file at path for streaming reads (a large CSV), with nd_file_read's checks
 * (no blocking open of a FIFO or device, a directory named as one). fclose *out when done. */
nd_err_t nd_file_open(const char *path, FILE **out /* OUT */, char *err, size_t err_len);

/* A read-only mapping of a whole file opened by nd_file_open (file_map.c). */
typedef struct nd_file_map {
    const char *data; /* NULL when not mapped */
    size_t len;
    int slot; /* the SIGBUS handler's entry */
} nd_file_map_t;

/* Maps the whole file f reads when it is a regular file of 1 to len_max bytes, for reading front
 * to back (MADV_SEQUENTIAL); false otherwise, or when it cannot be mapped, and the caller reads
 * f with stdio instead (f is left as it was). Should the file be truncated under the mapping,
 * touching a lost page ends the process with exit 2 and "noderr: PATH: the file shrank while it
 * was being read" on stderr, from a SIGBUS handler installed with the first mapping. */
bool nd_file_map(FILE *f, const char *path, size_t len_max, nd_file_map_t *out /* OUT */);
/* Unmaps m (a no-op when nothing is mapped, a zeroed nd_file_map_t included). */
void nd_file_unmap(nd_file_map_t *m);

/* ---- Writing a whole output file. ---------------------------------------------------------
 *
 * A regular file (or a path that does not exist yet) is written to PATH.tmp and renamed over
 * PATH only once every write, the flush and the close succeeded, so a reader never sees half a
 * file. Anything else that exists (a device, a FIFO, /dev/stdout) is written in place: renaming
 * over it would replace the node itself (run as root, a report to /dev/full turned the device
 * into a regular file). A path behind a symbolic link is judged by what the link names, and a
 * link to a regular file keeps being a link: the file it names is the one replaced. */
typedef struct nd_file_out {
    FILE *f;         /* write here between open and close */
    const char *path; /* the caller's path (borrowed) */
    char tmp[4096];   /* TARGET.tmp while temporary, else "" */
    char target[4096]; /* what the temporary file is renamed onto: path, or where its link points */
} nd_file_out_t;

/* Opens path for writing as above. Errors: ND_ERANGE (path too long), ND_EIO (cannot open);
 * err names the file and why. */
nd_err_t nd_file_out_open(nd_file_out_t *out /* OUT */, const char *path, char *err,
                          size_t err_len);

/* Flushes and closes the stream, checking the error flag, the flush and the close; with commit
 * and a temporary name, renames it over the path; without commit, or on any failure, removes
 * the temporary name. Errors: ND_EIO with err naming the file and the first error seen. */
nd_err_t nd_file_out_close(nd_file_out_t *out, bool commit, char *err, size_t err_len);

/* Flushes f, checks its error flag and, with close_it, closes it: 0, or the first errno seen
 * (EIO when only the error flag tells). Every output stream ends through here so that a write
 * lost in a buffer (a full disk, /dev/full) is never success. */
int nd_file_finish(FILE *f, bool close_it);

/* Writes len bytes as the whole content of path (open, one write, close as above). */
nd_err_t nd_file_write(const char *path, const void *data, size_t len, char *err,
                       size_t err_len);

#endif
