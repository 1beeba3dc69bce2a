/* test_live_shutdown.c: the emergency shutdown's control channel and config (session_shutdown.c):
 * a request written by nd_live_shutdown_request is born 0600 and read once (flatten, deadline);
 * a request that is group-readable, a symbolic link, stale or malformed is refused and removed,
 * and the stop goes on without flattening; a stale request is cleared at start; no session, no
 * request; launch.shutdown read with its defaults and every error naming the key. */
#include <criterion/criterion.h>

#include "../../src/live/live_int.h"
#include "noderr/alloc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fake {
    nd_live_config_t *cfg;
    nd_live_session_t *s;
    char request[ND_LIVE_PATH_MAX + 32];
} fake_t;

/* A session's state directory holding our own pid (SIGTERM ignored: it is sent to us). */
static void fake_open(fake_t *f)
{
    signal(SIGTERM, SIG_IGN);
    f->cfg = nd_calloc(1, sizeof *f->cfg);
    f->s = nd_calloc(1, sizeof *f->s);
    cr_assert(f->cfg && f->s);
    snprintf(f->cfg->state_dir, sizeof f->cfg->state_dir, "/tmp/nd-shutdown-test-%d",
             (int)getpid());
    cr_assert_eq(mkdir(f->cfg->state_dir, 0700), 0);
    char pid_path[ND_LIVE_PATH_MAX + 16];
    snprintf(pid_path, sizeof pid_path, "%s/session.pid", f->cfg->state_dir);
    FILE *p = fopen(pid_path, "w");
    cr_assert_not_null(p);
    fprintf(p, "%d\n", (int)getpid());
    cr_assert_eq(fclose(p), 0);
    snprintf(f->request, sizeof f->request, "%s/shutdown.request", f->cfg->state_dir);
    f->s->cfg = f->cfg;
    f->s->clock = nd_clock_os();
}

static void fake_close(fake_t *f)
{
    char cmd[ND_LIVE_PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->cfg->state_dir);
    cr_assert_eq(system(cmd), 0);
    nd_free(f->s);
    nd_free(f->cfg);
}

static void write_request(const fake_t *f, const char *text, mode_t mode)
{
    FILE *r = fopen(f->request, "w");
    cr_assert_not_null(r);
    fputs(text, r);
    cr_assert_eq(fclose(r), 0);
    cr_assert_eq(chmod(f->request, mode), 0);
}

Test(live_shutdown, a_request_is_private_and_read_once)
{
    fake_t f;
    fake_open(&f);
    nd_live_shutdown_ask_t ask = {.flatten = true, .deadline_ns = 7 * ND_NS_PER_SEC};
    char err[256] = "";
    long pid = 0;
    cr_assert_eq(nd_live_shutdown_request(f.cfg->state_dir, &ask, nd_clock_os(), &pid, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert_eq(pid, (long)getpid());
    struct stat st;
    cr_assert_eq(stat(f.request, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    nd__live_shutdown_take(f.s);
    cr_assert(f.s->ask.flatten);
    cr_assert_eq(f.s->ask.deadline_ns, 7 * ND_NS_PER_SEC);
    cr_assert_str_eq(f.s->shutdown.by, "request");
    cr_assert_neq(access(f.request, F_OK), 0, "read once: removed");
    fake_close(&f);
}

/* Each is refused: the stop goes on as a plain SIGTERM (no flatten), the file removed. */
static void refused(const char *text, mode_t mode, bool symlinked)
{
    fake_t f;
    fake_open(&f);
    char target[ND_LIVE_PATH_MAX + 32];
    snprintf(target, sizeof target, "%s/elsewhere", f.cfg->state_dir);
    if (symlinked) {
        FILE *r = fopen(target, "w");
        cr_assert_not_null(r);
        fputs(text, r);
        cr_assert_eq(fclose(r), 0);
        cr_assert_eq(chmod(target, 0600), 0);
        cr_assert_eq(symlink(target, f.request), 0);
    } else {
        write_request(&f, text, mode);
    }
    nd__live_shutdown_take(f.s);
    cr_assert(!f.s->ask.flatten, "%s", text);
    cr_assert_str_eq(f.s->shutdown.by, "");
    cr_assert_neq(access(f.request, F_OK), 0);
    fake_close(&f);
}

Test(live_shutdown, requests_not_private_linked_stale_or_malformed_are_refused)
{
    char fresh[160], stale[160];
    int64_t now = nd_clock_now_ns(nd_clock_os());
    snprintf(fresh, sizeof fresh, "{\"flatten\": true, \"deadline_ms\": 1000, \"at_ns\": %lld}",
             (long long)now);
    snprintf(stale, sizeof stale, "{\"flatten\": true, \"deadline_ms\": 1000, \"at_ns\": %lld}",
             (long long)(now - 120 * ND_NS_PER_SEC));
    refused(fresh, 0644, false);
    refused(fresh, 0600, true);
    refused(stale, 0600, false);
    refused("{\"flatten\": \"yes\", \"deadline_ms\": 1000, \"at_ns\": 1}", 0600, false);
    refused("not json", 0600, false);
    char far[160];
    snprintf(far, sizeof far, "{\"flatten\": true, \"deadline_ms\": 9999999, \"at_ns\": %lld}",
             (long long)now);
    refused(far, 0600, false);
}

Test(live_shutdown, a_zero_deadline_keeps_the_sessions_own_and_no_request_keeps_all)
{
    fake_t f;
    fake_open(&f);
    nd_live_shutdown_ask_t defaults = {.flatten = false, .deadline_ns = 9 * ND_NS_PER_SEC};
    nd_live_session_set_shutdown(f.s, &defaults);
    nd__live_shutdown_take(f.s); /* no request: a plain SIGTERM */
    cr_assert_eq(f.s->ask.deadline_ns, 9 * ND_NS_PER_SEC);
    cr_assert(!f.s->ask.flatten);
    char text[160];
    snprintf(text, sizeof text, "{\"flatten\": true, \"deadline_ms\": 0, \"at_ns\": %lld}",
             (long long)nd_clock_now_ns(nd_clock_os()));
    write_request(&f, text, 0600);
    nd__live_shutdown_take(f.s);
    cr_assert(f.s->ask.flatten);
    cr_assert_eq(f.s->ask.deadline_ns, 9 * ND_NS_PER_SEC);
    fake_close(&f);
}

Test(live_shutdown, a_stale_request_is_cleared_at_start_and_none_runs_no_request)
{
    fake_t f;
    fake_open(&f);
    write_request(&f, "{}", 0600);
    nd__live_shutdown_clear(f.s);
    cr_assert_neq(access(f.request, F_OK), 0);
    char pid_path[ND_LIVE_PATH_MAX + 16], err[256] = "";
    snprintf(pid_path, sizeof pid_path, "%s/session.pid", f.cfg->state_dir);
    cr_assert_eq(unlink(pid_path), 0);
    nd_live_shutdown_ask_t ask = {0};
    cr_assert_eq(nd_live_shutdown_request(f.cfg->state_dir, &ask, nd_clock_os(), NULL, err,
                                          sizeof err), ND_ENOTFOUND);
    cr_assert(strstr(err, "no session is running there"), "%s", err);
    cr_assert_neq(access(f.request, F_OK), 0, "no request without a session");
    fake_close(&f);
}

Test(live_shutdown, launch_config_defaults_values_and_errors)
{
    nd_live_shutdown_ask_t out;
    char err[256] = "";
    cr_assert_eq(nd_live_shutdown_config_parse(NULL, "l.json", &out, err, sizeof err), ND_OK);
    cr_assert(!out.flatten);
    cr_assert_eq(out.deadline_ns, 3 * ND_NS_PER_SEC);
    json_t *o = json_pack("{s:i,s:b}", "deadline_s", 12, "flatten_on_sigterm", 1);
    cr_assert_eq(nd_live_shutdown_config_parse(o, "l.json", &out, err, sizeof err), ND_OK);
    cr_assert(out.flatten);
    cr_assert_eq(out.deadline_ns, 12 * ND_NS_PER_SEC);
    json_decref(o);
    static const struct {
        const char *doc, *want;
    } bad[] = {
        {"{\"deadline_s\": 0}", "l.json: launch.shutdown.deadline_s:"},
        {"{\"deadline_s\": 601}", "l.json: launch.shutdown.deadline_s:"},
        {"{\"deadline_s\": \"3\"}", "l.json: launch.shutdown.deadline_s:"},
        {"{\"flatten_on_sigterm\": 1}", "l.json: launch.shutdown.flatten_on_sigterm:"},
        {"{\"flatten\": true}", "l.json: launch.shutdown"},
        {"[]", "l.json: launch.shutdown: must be an object"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        json_t *doc = json_loads(bad[k].doc, 0, NULL);
        cr_assert_not_null(doc);
        err[0] = '\0';
        cr_assert_eq(nd_live_shutdown_config_parse(doc, "l.json", &out, err, sizeof err),
                     ND_EINVAL, "%s", bad[k].doc);
        cr_assert(strncmp(err, bad[k].want, strlen(bad[k].want)) == 0, "%s: %s", bad[k].doc, err);
        json_decref(doc);
    }
}
