/* session_notify.c: a session under systemd (deploy/systemd/noderr.service, Type=notify;
 * docs/launcher.md "systemd").
 *
 * Through libsystemd's sd_notify: READY=1 once the session can trade (state directory claimed,
 * venues reconciled, positions restored, loop about to run), WATCHDOG=1 from the session's own
 * loop at half of WatchdogSec (so a loop that stops turning is killed and restarted by systemd),
 * STOPPING=1 when the stop begins, and STATUS= lines saying what it does. Without NOTIFY_SOCKET
 * in the environment (not started by systemd) every call is a no-op; a build without libsystemd
 * (ND_HAVE_SYSTEMD unset) has none of it, and says so once in the log when NOTIFY_SOCKET is
 * set. */
#include "live_int.h"

#include "noderr/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef ND_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void nd__live_notify(const char *state)
{
#ifdef ND_HAVE_SYSTEMD
    int rc = sd_notify(0, state);
    if (rc < 0)
        ND_LOG(ND_LOG_WARN, "event=sd_notify_failed state=%s errno=%d", state, -rc);
#else
    static bool warned;
    if (!warned && getenv("NOTIFY_SOCKET")) {
        warned = true;
        ND_LOG(ND_LOG_WARN, "event=sd_notify_unavailable why=\"built without libsystemd\"");
    }
    (void)state;
#endif
}

void nd__live_notify_status(const char *fmt, ...)
{
    char line[256];
    int n = snprintf(line, sizeof line, "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    nd__live_notify(line);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    nd__live_notify("WATCHDOG=1");
}

void nd__live_watchdog_start(nd_live_session_t *s)
{
#ifdef ND_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return; /* no WatchdogSec, or the variables name another process */
    uint64_t every_ms = usec / 2000 > 0 ? usec / 2000 : 1;
    uv_timer_init(&s->loop, &s->watchdog);
    s->watchdog.data = s;
    s->watchdog_on = true;
    uv_timer_start(&s->watchdog, on_watchdog, 0, every_ms);
    ND_LOG(ND_LOG_INFO, "event=watchdog_on every_ms=%llu", (unsigned long long)every_ms);
#else
    (void)s;
#endif
}
