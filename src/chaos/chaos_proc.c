/* chaos_proc.c: what the chaos runner does to processes and to the machine: starts its children
 * (exchange-sim, the launch session) with posix_spawn, stops them, and applies the system-level
 * faults: a network namespace with tc netem on its loopback, a cgroup (v2, or v1 cpu and
 * memory) around the session, a tmpfs under the store that it fills. Every fault here is
 * undone by its pair (netem NULL, quota 0, limit 0, unlink, umount); nothing touches the host's
 * own network or cgroups beyond the ones created here. */
#include "chaos_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/venue.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

nd_err_t nd__chaos_spawn(char *const argv[], const char *out_path, const char *err_path,
                         pid_t *pid, char *err, size_t err_len)
{
    ND_ASSERT(argv != NULL && argv[0] != NULL);
    ND_ASSERT(out_path != NULL && err_path != NULL && pid != NULL);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t child = 0;
    int rc = posix_spawn(&child, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        nd_err_put(err, err_len, "cannot start %s %s: %s", argv[0], argv[1] ? argv[1] : "",
                   strerror(rc));
        return ND_EIO;
    }
    *pid = child;
    return ND_OK;
}

void nd__chaos_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int64_t nd__chaos_mono_ns(void)
{
    return nd_clock_mono_ns(nd_clock_os());
}

int64_t nd__chaos_real_ns(void)
{
    return nd_clock_now_ns(nd_clock_os());
}

bool nd__chaos_wait(pid_t pid, int64_t timeout_ms, int *status)
{
    ND_ASSERT(pid > 0);
    int64_t until = nd__chaos_mono_ns() + timeout_ms * 1000000;
    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid || (got < 0 && errno == ECHILD))
            return true;
        if (nd__chaos_mono_ns() >= until)
            return false;
        nd__chaos_sleep_ms(10);
    }
}

int nd__chaos_stop(pid_t pid, int64_t grace_ms)
{
    if (pid <= 0)
        return -1;
    int status = -1;
    kill(pid, SIGCONT); /* a stopped child cannot act on SIGTERM */
    kill(pid, SIGTERM);
    if (nd__chaos_wait(pid, grace_ms, &status))
        return status;
    kill(pid, SIGKILL);
    (void)nd__chaos_wait(pid, 5000, &status);
    return -1;
}

int nd__chaos_read_port(const char *path, int64_t timeout_ms)
{
    int64_t until = nd__chaos_mono_ns() + timeout_ms * 1000000;
    do {
        char *text = NULL, err[160];
        size_t len = 0;
        if (nd_file_read(path, 1 << 16, 0, &text, &len, err, sizeof err) == ND_OK) {
            const char *at = strstr(text, "listening on 127.0.0.1:");
            int port = at ? atoi(at + strlen("listening on 127.0.0.1:")) : -1;
            nd_free(text);
            if (port > 0)
                return port;
        }
        nd__chaos_sleep_ms(20);
    } while (nd__chaos_mono_ns() < until);
    return -1;
}

nd_err_t nd__chaos_write_file(const char *path, const char *text, char *err, size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    ssize_t n = fd < 0 ? -1 : write(fd, text, len);
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && n == (ssize_t)len) {
        e = errno;
        n = -1;
    }
    if (n != (ssize_t)len) {
        nd_err_put(err, err_len, "%s: %s", path, n < 0 ? strerror(e) : "short write");
        return ND_EIO;
    }
    return ND_OK;
}

int nd__chaos_run_cmd(char *const argv[], const char *log_dir)
{
    pid_t pid = 0;
    char err[200], out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/commands.out", log_dir);
    snprintf(err_path, sizeof err_path, "%s/commands.err", log_dir);
    if (nd__chaos_spawn(argv, out_path, err_path, &pid, err, sizeof err) != ND_OK)
        return -1;
    int status = 0;
    if (!nd__chaos_wait(pid, 10000, &status)) {
        kill(pid, SIGKILL);
        (void)nd__chaos_wait(pid, 1000, &status);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first of the usual places holding the tool (ip, tc), or NULL. */
static const char *find_tool(const char *name, char *buf, size_t cap)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, cap, "%s/%s", dirs[i], name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

nd_err_t nd__chaos_netns_enter(const char *log_dir, char *err, size_t err_len)
{
    char ip[64];
    if (!find_tool("ip", ip, sizeof ip) || !find_tool("tc", (char[64]){0}, 64)) {
        nd_err_put(err, err_len, "network faults need ip and tc (iproute2)");
        return ND_EIO;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        nd_err_put(err, err_len, "cannot create a network namespace: %s", strerror(errno));
        return ND_EIO;
    }
    char *argv[] = {ip, "link", "set", "lo", "up", NULL};
    if (nd__chaos_run_cmd(argv, log_dir) != 0) {
        nd_err_put(err, err_len, "ip link set lo up failed in the new namespace");
        return ND_EIO;
    }
    /* The probe: a kernel without sch_netem refuses the qdisc (the proxy is used instead). */
    if (nd__chaos_netem("delay 1ms", log_dir, err, err_len) != ND_OK)
        return ND_EIO;
    return nd__chaos_netem(NULL, log_dir, err, err_len);
}

nd_err_t nd__chaos_netem(const char *spec, const char *log_dir, char *err, size_t err_len)
{
    char tc[64], copy[128];
    if (!find_tool("tc", tc, sizeof tc)) {
        nd_err_put(err, err_len, "tc not found");
        return ND_EIO;
    }
    char *argv[16] = {tc, "qdisc", spec ? "replace" : "del", "dev", "lo", "root"};
    int n = 6;
    if (spec) {
        argv[n++] = "netem";
        snprintf(copy, sizeof copy, "%s", spec);
        for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok && n < 15;
             tok = strtok_r(NULL, " ", &save))
            argv[n++] = tok;
    }
    argv[n] = NULL;
    if (nd__chaos_run_cmd(argv, log_dir) != 0) {
        nd_err_put(err, err_len, "tc qdisc %s netem %s failed", argv[2], spec ? spec : "");
        return ND_EIO;
    }
    return ND_OK;
}

/* Writes text into the control file dir/name. */
static nd_err_t cg_write(const char *dir, const char *name, const char *text, char *err,
                         size_t err_len)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n < 0) {
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return ND_EIO;
    }
    return ND_OK;
}

/* The cgroup v1 path of this process for controller (from /proc/self/cgroup), or "". */
static void v1_own_path(const char *controller, char *buf, size_t cap)
{
    char *text = NULL, err[120];
    size_t len = 0;
    buf[0] = '\0';
    if (nd_file_read("/proc/self/cgroup", 1 << 16, 0, &text, &len, err, sizeof err) != ND_OK)
        return;
    char want[64];
    snprintf(want, sizeof want, ":%s:", controller);
    const char *at = strstr(text, want);
    if (at) {
        at += strlen(want);
        size_t n = strcspn(at, "\n");
        snprintf(buf, cap, "%.*s", (int)n, at);
        if (strcmp(buf, "/") == 0)
            buf[0] = '\0';
    }
    nd_free(text);
}

nd_err_t nd__chaos_cgroup_create(nd__chaos_cgroup_t *cg, const char *name, pid_t pid, char *err,
                                 size_t err_len)
{
    memset(cg, 0, sizeof *cg);
    char pidtext[32], own[200];
    snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
    cg->v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    if (cg->v2) {
        (void)cg_write("/sys/fs/cgroup", "cgroup.subtree_control", "+cpu +memory", err, err_len);
        snprintf(cg->cpu_dir, sizeof cg->cpu_dir, "/sys/fs/cgroup/%s", name);
        snprintf(cg->mem_dir, sizeof cg->mem_dir, "%s", cg->cpu_dir);
    } else {
        snprintf(cg->cpu_dir, sizeof cg->cpu_dir, "/sys/fs/cgroup/cpu/%s", name);
        v1_own_path("memory", own, sizeof own);
        snprintf(cg->mem_dir, sizeof cg->mem_dir, "/sys/fs/cgroup/memory%s/%s", own, name);
    }
    for (int k = 0; k < (cg->v2 ? 1 : 2); k++) {
        const char *dir = k == 0 ? cg->cpu_dir : cg->mem_dir;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            nd_err_put(err, err_len, "cannot create the cgroup %s: %s", dir, strerror(errno));
            return ND_EIO;
        }
        if (cg_write(dir, "cgroup.procs", pidtext, err, err_len) != ND_OK)
            return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd__chaos_cgroup_cpu(nd__chaos_cgroup_t *cg, int quota_pct, char *err, size_t err_len)
{
    char text[64];
    if (cg->v2) {
        if (quota_pct > 0)
            snprintf(text, sizeof text, "%d 100000", quota_pct * 1000);
        else
            snprintf(text, sizeof text, "max 100000");
        return cg_write(cg->cpu_dir, "cpu.max", text, err, err_len);
    }
    snprintf(text, sizeof text, "%d", quota_pct > 0 ? quota_pct * 1000 : -1);
    return cg_write(cg->cpu_dir, "cpu.cfs_quota_us", text, err, err_len);
}

nd_err_t nd__chaos_cgroup_memory(nd__chaos_cgroup_t *cg, int64_t limit, char *err,
                                 size_t err_len)
{
    char text[64];
    if (limit > 0)
        snprintf(text, sizeof text, "%lld", (long long)limit);
    else
        snprintf(text, sizeof text, "%s", cg->v2 ? "max" : "-1");
    return cg_write(cg->mem_dir, cg->v2 ? "memory.max" : "memory.limit_in_bytes", text, err,
                    err_len);
}

int64_t nd__chaos_cgroup_usage(const nd__chaos_cgroup_t *cg)
{
    char path[320], *text = NULL, err[120];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", cg->mem_dir,
             cg->v2 ? "memory.current" : "memory.usage_in_bytes");
    if (nd_file_read(path, 4096, 0, &text, &len, err, sizeof err) != ND_OK)
        return -1;
    int64_t v = strtoll(text, NULL, 10);
    nd_free(text);
    return v;
}

void nd__chaos_cgroup_remove(nd__chaos_cgroup_t *cg)
{
    if (cg->cpu_dir[0])
        (void)rmdir(cg->cpu_dir);
    if (!cg->v2 && cg->mem_dir[0])
        (void)rmdir(cg->mem_dir);
}

nd_err_t nd__chaos_tmpfs(const char *dir, int size_mb, char *err, size_t err_len)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%dm,mode=0700", size_mb);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        nd_err_put(err, err_len, "%s: %s", dir, strerror(errno));
        return ND_EIO;
    }
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        nd_err_put(err, err_len, "cannot mount a tmpfs at %s: %s", dir, strerror(errno));
        return ND_EIO;
    }
    return ND_OK;
}

int64_t nd__chaos_fill(const char *path)
{
    static char block[65536];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int64_t total = 0;
    for (size_t chunk = sizeof block; chunk > 0; chunk /= 16) {
        ssize_t n;
        while ((n = write(fd, block, chunk)) > 0)
            total += n;
    }
    (void)fsync(fd);
    close(fd);
    return total;
}

void nd__chaos_umount(const char *dir)
{
    (void)umount2(dir, MNT_DETACH);
}

nd_err_t nd__chaos_fault(int port, const char *token, const char *body, char *err,
                         size_t err_len)
{
    nd_http_t *http = NULL;
    nd_err_t rc = nd_http_create(3000, &http);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "cannot start the HTTP client");
        return rc;
    }
    char url[96], auth[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/admin/fault", port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    nd_http_response_t resp;
    rc = nd_http_request(http, "POST", url, headers, body, &resp, err, err_len);
    if (rc == ND_OK) {
        if (resp.status != 200) {
            nd_err_put(err, err_len, "admin fault %s: HTTP %ld", body, resp.status);
            rc = ND_EIO;
        }
        nd_http_response_free(&resp);
    }
    nd_http_destroy(http);
    return rc;
}
