/* log.c: the logger. The only place in src/ that formats free text to a stream for logs. */
#include "noderr/log.h"
#include "noderr/assert.h"
#include "noderr/limits.h"

#include <stdarg.h>
#include <string.h>

nd_log_level_t nd__log_level = ND_LOG_WARN;
static FILE *log_out;
static const nd_clock_t *log_clock;

void nd_log_set_level(nd_log_level_t level)
{
    ND_ASSERT(level >= ND_LOG_ERR && level <= ND_LOG_DEBUG);
    nd__log_level = level;
}

void nd_log_set_output(FILE *out, const nd_clock_t *clock)
{
    log_out = out;
    log_clock = clock;
}

nd_err_t nd_log_level_parse(const char *text, nd_log_level_t *out)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (nd_log_level_t)i;
            return ND_OK;
        }
    }
    return ND_EINVAL;
}

void nd__log_write(nd_log_level_t level, const char *file, int line, const char *fmt, ...)
{
    static const char *const names[] = {"ERR", "WARN", "INFO", "DEBUG"};
    char text[ND_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    FILE *out = log_out ? log_out : stderr;
    if (log_clock) {
        char ts[32];
        nd_time_format_iso(nd_clock_now_ns(log_clock), ts, sizeof ts);
        fprintf(out, "ts=%s level=%s src=%s:%d %s\n", ts, names[level], file, line, text);
    } else {
        fprintf(out, "level=%s src=%s:%d %s\n", names[level], file, line, text);
    }
}
