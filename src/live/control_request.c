/* control_request.c: the control channel between a CLI command and the session running in a
 * state directory (live.h "Control requests"): the command writes STATE_DIR/NAME.request, born
 * private (umask 077), with its uid and time, then signals the session's pid; the session reads
 * it only from a regular file (not a link) of its own uid, private and under a minute old, and
 * removes it either way. Another user, a stale file or a link is logged and ignored. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUEST_MAX_AGE_NS (60 * ND_NS_PER_SEC)

static void path_of(const char *state_dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.request", state_dir, name);
}

nd_err_t nd_live_request_send(const char *state_dir, const char *name, json_t *body,
                              const nd_clock_t *clock, int signum, long *pid_out, char *err,
                              size_t err_len)
{
    ND_ASSERT(state_dir != NULL && name != NULL && body != NULL && clock != NULL);
    long pid = nd__live_pid_read(state_dir);
    if (!nd_live_pid_alive(pid)) {
        nd_err_put(err, err_len, "%s: no session is running there", state_dir);
        return ND_ENOTFOUND;
    }
    json_object_set_new(body, "uid", json_integer((json_int_t)geteuid()));
    json_object_set_new(body, "at_ns", json_integer(nd_clock_now_ns(clock)));
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return ND_ENOMEM;
    char path[ND_LIVE_PATH_MAX + 64];
    path_of(state_dir, name, path, sizeof path);
    mode_t old = umask(077); /* the request is born private: no window with group access */
    nd_err_t rc = nd_file_write(path, text, strlen(text), err, err_len);
    umask(old);
    nd_free(text);
    if (rc != ND_OK)
        return rc;
    if (kill((pid_t)pid, signum) != 0) {
        nd_err_put(err, err_len, "pid %ld: %s", pid, strerror(errno));
        unlink(path);
        return ND_EIO;
    }
    if (pid_out)
        *pid_out = pid;
    return ND_OK;
}

static json_t *read_checked(const char *path, const char *name, const nd_clock_t *clock)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return NULL; /* none */
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        ND_LOG(ND_LOG_WARN, "event=%s_request_refused why=\"not a regular file of uid %ld\"",
               name, (long)geteuid());
        return NULL;
    }
    char *buf = NULL, err[512] = "";
    size_t len = 0;
    if (nd_file_read(path, 8192, ND_FILE_PRIVATE, &buf, &len, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_WARN, "event=%s_request_refused why=\"%s\"", name, err);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    nd_free(buf);
    json_t *at = json_object_get(doc, "at_ns");
    int64_t age = json_is_integer(at) ? nd_clock_now_ns(clock) - json_integer_value(at) : -1;
    if (!json_is_object(doc) || age < -ND_NS_PER_SEC || age > REQUEST_MAX_AGE_NS) {
        ND_LOG(ND_LOG_WARN, "event=%s_request_refused why=\"malformed or stale\"", name);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *nd_live_request_take(const char *state_dir, const char *name, const nd_clock_t *clock)
{
    char path[ND_LIVE_PATH_MAX + 64];
    path_of(state_dir, name, path, sizeof path);
    json_t *doc = read_checked(path, name, clock);
    if (unlink(path) != 0 && errno != ENOENT)
        ND_LOG(ND_LOG_WARN, "event=%s_request_remove_failed why=\"%s\"", name, strerror(errno));
    return doc;
}

/* ---- the pipeline's requests (a launch) ---------------------------------------------------- */

static void answer_path(const char *state_dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/pipeline.answer", state_dir);
}

void nd_live_pipeline_answer(const char *state_dir, int status, const char *msg)
{
    char path[ND_LIVE_PATH_MAX + 64], tmp[ND_LIVE_PATH_MAX + 72], err[256];
    answer_path(state_dir, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *j = json_pack("{s:i, s:s}", "status", status, "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    mode_t old = umask(077);
    nd_err_t rc = text ? nd_file_write(tmp, text, strlen(text), err, sizeof err) : ND_ENOMEM;
    umask(old);
    nd_free(text);
    if (rc != ND_OK || rename(tmp, path) != 0) /* the command never reads half an answer */
        ND_LOG(ND_LOG_ERR, "event=pipeline_answer_failed path=%s", path);
}

nd_err_t nd_live_pipeline_request(const char *state_dir, json_t *body, const nd_clock_t *clock,
                                  int64_t wait_ms, int *status, char *msg, size_t msg_len)
{
    char path[ND_LIVE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/status.json", state_dir);
    json_t *doc = json_load_file(path, 0, NULL);
    bool launch = doc && json_is_object(json_object_get(doc, "launch"));
    json_decref(doc);
    /* Only a launch handles SIGUSR2 (a plain session would die of it): its status says so. */
    if (nd_live_pid_alive(nd__live_pid_read(state_dir)) && !launch) {
        nd_err_put(msg, msg_len, "%s: the session running there is not a launch", state_dir);
        return ND_ESTATE;
    }
    answer_path(state_dir, path, sizeof path);
    unlink(path);
    nd_err_t rc = nd_live_request_send(state_dir, "pipeline", body, clock, SIGUSR2, NULL, msg,
                                       msg_len);
    for (int64_t t = 0; rc == ND_OK && t < wait_ms; t += 20) {
        json_t *ans = json_load_file(path, 0, NULL);
        if (ans) {
            *status = (int)json_integer_value(json_object_get(ans, "status"));
            snprintf(msg, msg_len, "%s", json_string_value(json_object_get(ans, "message"))
                                             ? json_string_value(json_object_get(ans, "message"))
                                             : "");
            json_decref(ans);
            unlink(path);
            return ND_OK;
        }
        usleep(20000);
    }
    if (rc == ND_OK) {
        nd_err_put(msg, msg_len, "%s: the launch did not answer within %lld ms", state_dir,
                   (long long)wait_ms);
        rc = ND_EAGAIN;
    }
    return rc;
}
