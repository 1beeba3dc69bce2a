/* file.h: reading a whole input file.
 *
 * Every whole-file read (secrets, params and config JSON, returns files) goes through
 * nd_file_read, so that a FIFO, a device or a directory is refused with one clear message
 * before anything can block on it, and no file is read past a stated size. */
#ifndef NODERR_FILE_H
#define NODERR_FILE_H

#include "noderr/err.h"

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

#endif
