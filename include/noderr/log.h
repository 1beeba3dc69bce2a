/* log.h: levelled key=value logging with timestamps from the injected clock.
 *
 * ND_LOG checks the level before evaluating its arguments, so a disabled DEBUG line costs one
 * comparison. Lines go to a FILE (stderr by default) as `ts=... level=... msg...`. Secrets are
 * never passed to the logger. The per-bar hot path does not log. */
#ifndef NODERR_LOG_H
#define NODERR_LOG_H

#include "noderr/clock.h"

#include <stdio.h>

typedef enum nd_log_level {
    ND_LOG_ERR = 0,
    ND_LOG_WARN = 1,
    ND_LOG_INFO = 2,
    ND_LOG_DEBUG = 3
} nd_log_level_t;

extern nd_log_level_t nd__log_level;

/* Sets the highest level written (default ND_LOG_WARN, so command output stays clean). */
void nd_log_set_level(nd_log_level_t level);
/* Sets where lines go (NULL: stderr) and which clock stamps them (NULL: no timestamp). */
void nd_log_set_output(FILE *out, const nd_clock_t *clock);
/* Parses "err", "warn", "info" or "debug"; ND_EINVAL otherwise. */
nd_err_t nd_log_level_parse(const char *text, nd_log_level_t *out /* OUT */);

void nd__log_write(nd_log_level_t level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ND_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= nd__log_level)                                                              \
            nd__log_write((level), __FILE__, __LINE__, __VA_ARGS__);                               \
    } while (0)

#endif
