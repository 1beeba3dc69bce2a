/* dashboard_ctl.c: the dashboard's config, bearer token, request checks and control requests
 * (dashboard.h).
 *
 * The token is the only secret here: it is created once with the OS's CSPRNG into a file only
 * its owner can read, compared in constant time, and never written anywhere else (logs carry
 * its id, a hash prefix). Every check refuses by default: no header, no token; no Origin, no
 * WebSocket. */
#include "noderr/dashboard.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/json_cfg.h"
#include "noderr/strategy.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Config -------------------------------------------------------------------------------- */

static const char *const config_keys[] = {"listen", "tls_cert", "tls_key", "updates_per_sec",
                                          "clients_max", NULL};

/* The server's part ({listen, tls_cert, tls_key}) through the HTTP server's own reader, so an
 * address or a TLS pair means the same for the metrics and the dashboard. */
static nd_err_t parse_server(nd_jcfg_t *c, json_t *o, nd_dashboard_config_t *cfg)
{
    static const char *const server_keys[] = {"listen", "tls_cert", "tls_key"};
    json_t *server = json_object();
    for (size_t k = 0; k < 3; k++)
        if (json_object_get(o, server_keys[k]))
            json_object_set(server, server_keys[k], json_object_get(o, server_keys[k]));
    cfg->listen_given = json_object_get(o, "listen") != NULL;
    if (!cfg->listen_given)
        json_object_set_new(server, "listen", json_string("127.0.0.1:0"));
    nd_err_t rc = nd_httpd_config_parse(server, c->path, c->key, &cfg->server, c->err,
                                        c->err_len);
    json_decref(server);
    return rc;
}

nd_err_t nd_dashboard_config_parse(const json_t *obj, const char *where,
                                   nd_dashboard_config_t *out, char *err, size_t err_len)
{
    ND_ASSERT(where != NULL);
    ND_ASSERT(out != NULL);
    /* where is "FILE: KEY" (the messages' prefix): the file and the key path apart. */
    char file[ND_DASHBOARD_PATH_MAX];
    const char *sep = strstr(where, ": ");
    size_t flen = sep ? (size_t)(sep - where) : strlen(where);
    snprintf(file, sizeof file, "%.*s", (int)(flen < sizeof file ? flen : sizeof file - 1), where);
    nd_jcfg_t c = {.path = file, .err = err, .err_len = err_len};
    snprintf(c.key, sizeof c.key, "%s", sep ? sep + 2 : "dashboard");
    json_t *o = (json_t *)obj;
    if (!json_is_object(o))
        return nd_jcfg_bad(&c, NULL, "must be an object");
    nd_dashboard_config_t cfg = {.on = true, .updates_per_sec = 10,
                                 .clients_max = ND_DASHBOARD_CLIENTS_MAX};
    int64_t rate = cfg.updates_per_sec, clients = cfg.clients_max;
    nd_err_t rc = nd_jcfg_keys(&c, o, config_keys);
    if (rc == ND_OK)
        rc = parse_server(&c, o, &cfg);
    if (rc == ND_OK)
        rc = nd_jcfg_int(&c, o, "updates_per_sec", 1, ND_DASHBOARD_RATE_MAX, &rate);
    if (rc == ND_OK)
        rc = nd_jcfg_int(&c, o, "clients_max", 1, ND_DASHBOARD_CLIENTS_MAX, &clients);
    if (rc != ND_OK)
        return rc;
    cfg.updates_per_sec = (int)rate;
    cfg.clients_max = (int)clients;
    *out = cfg;
    return ND_OK;
}

/* ---- Token --------------------------------------------------------------------------------- */

static void token_id(nd_dashboard_token_t *t)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)t->token, strlen(t->token), md);
    snprintf(t->id, sizeof t->id, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

static bool token_valid(const char *text, size_t len)
{
    if (len != ND_DASHBOARD_TOKEN_HEX)
        return false;
    for (size_t k = 0; k < len; k++)
        if (!((text[k] >= '0' && text[k] <= '9') || (text[k] >= 'a' && text[k] <= 'f')))
            return false;
    return true;
}

/* Creates the token file exclusively, mode 0600; ND_EEXIST-like ND_ESTATE when it appeared
 * meanwhile (another start won the race: read it then). */
static nd_err_t token_create(const char *path, nd_dashboard_token_t *t, char *err, size_t err_len)
{
    unsigned char bytes[ND_DASHBOARD_TOKEN_HEX / 2];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        nd_err_put(err, err_len, "%s: no random bytes for the token", path);
        return ND_EIO;
    }
    for (size_t k = 0; k < sizeof bytes; k++)
        snprintf(t->token + 2 * k, 3, "%02x", bytes[k]);
    explicit_bzero(bytes, sizeof bytes);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        explicit_bzero(t, sizeof *t);
        if (e == EEXIST)
            return ND_ESTATE;
        nd_err_put(err, err_len, "%s: cannot create: %s", path, strerror(e));
        return ND_EIO;
    }
    char line[ND_DASHBOARD_TOKEN_HEX + 2];
    int n = snprintf(line, sizeof line, "%s\n", t->token);
    bool ok = write(fd, line, (size_t)n) == n;
    ok = fsync(fd) == 0 && ok;
    ok = close(fd) == 0 && ok;
    explicit_bzero(line, sizeof line);
    if (!ok) {
        unlink(path);
        explicit_bzero(t, sizeof *t);
        nd_err_put(err, err_len, "%s: cannot write the token", path);
        return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd_dashboard_token_load(const char *state_dir, nd_dashboard_token_t *out, char *err,
                                 size_t err_len)
{
    ND_ASSERT(state_dir != NULL);
    ND_ASSERT(out != NULL);
    char path[ND_DASHBOARD_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/dashboard.token", state_dir);
    nd_dashboard_token_t t = {0};
    char *text = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, 256, ND_FILE_PRIVATE, &text, &len, err, err_len);
    if (rc == ND_ENOTFOUND) {
        rc = token_create(path, &t, err, err_len);
        if (rc != ND_ESTATE) {
            if (rc == ND_OK)
                token_id(&t), *out = t;
            explicit_bzero(&t, sizeof t);
            return rc;
        }
        rc = nd_file_read(path, 256, ND_FILE_PRIVATE, &text, &len, err, err_len);
    }
    if (rc != ND_OK)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    bool valid = token_valid(text, len);
    if (valid)
        memcpy(t.token, text, len);
    explicit_bzero(text, len);
    nd_free(text);
    if (!valid) {
        nd_err_put(err, err_len, "%s: not a dashboard token (64 hex digits); delete it to get "
                                 "a new one", path);
        return ND_EINVAL;
    }
    token_id(&t);
    *out = t;
    explicit_bzero(&t, sizeof t);
    return ND_OK;
}

bool nd_dashboard_auth_ok(const nd_dashboard_token_t *t, const char *header)
{
    ND_ASSERT(t != NULL);
    ND_ASSERT(strlen(t->token) == ND_DASHBOARD_TOKEN_HEX);
    static const char prefix[] = "Bearer ";
    if (!header || strncmp(header, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *given = header + sizeof prefix - 1;
    size_t n = strlen(given);
    unsigned char diff = n != ND_DASHBOARD_TOKEN_HEX;
    for (size_t k = 0; k < ND_DASHBOARD_TOKEN_HEX; k++) /* constant time in the token length */
        diff |= (unsigned char)(t->token[k] ^ (k < n ? given[k] : 0));
    return diff == 0;
}

bool nd_dashboard_origin_ok(const char *origin, const char *host, bool tls)
{
    if (!origin || !host || !origin[0] || !host[0])
        return false;
    const char *scheme = tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return strncmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

/* ---- Controls ------------------------------------------------------------------------------ */

static const struct {
    const char *path;
    nd_dashboard_action_t action;
    const char *name;
} routes[] = {
    {"/api/kill", ND_DASHBOARD_KILL, "kill_switch"},
    {"/api/strategy/pause", ND_DASHBOARD_PAUSE, "strategy_pause"},
    {"/api/strategy/resume", ND_DASHBOARD_RESUME, "strategy_resume"},
    {"/api/promote", ND_DASHBOARD_PROMOTE, "promote"},
    {"/api/rollback", ND_DASHBOARD_ROLLBACK, "rollback"},
};

const char *nd_dashboard_action_name(nd_dashboard_action_t a)
{
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++)
        if (routes[k].action == a)
            return routes[k].name;
    return "unknown";
}

static nd_err_t control_body(const char *body, size_t body_len, bool need_strategy,
                             nd_dashboard_control_t *c, char *err, size_t err_len)
{
    if (body_len == 0 && !need_strategy)
        return ND_OK;
    json_error_t jerr;
    json_t *doc = json_loadb(body ? body : "", body_len, JSON_REJECT_DUPLICATES, &jerr);
    nd_err_t rc = ND_OK;
    const char *key;
    json_t *v;
    if (!json_is_object(doc)) {
        nd_err_put(err, err_len, "body: a JSON object is expected");
        rc = ND_EINVAL;
    }
    json_object_foreach(json_is_object(doc) ? doc : NULL, key, v) {
        if (rc == ND_OK && strcmp(key, "strategy") != 0) {
            nd_err_put(err, err_len, "body.%s: unknown key", key);
            rc = ND_EINVAL;
        }
    }
    v = rc == ND_OK ? json_object_get(doc, "strategy") : NULL;
    if (rc == ND_OK && need_strategy &&
        (!json_is_string(v) || json_string_length(v) == 0 ||
         json_string_length(v) >= sizeof c->strategy)) {
        nd_err_put(err, err_len, "body.strategy: a strategy name or index (string) is expected");
        rc = ND_EINVAL;
    }
    if (rc == ND_OK && v && json_is_string(v))
        snprintf(c->strategy, sizeof c->strategy, "%s", json_string_value(v));
    json_decref(doc);
    return rc;
}

nd_err_t nd_dashboard_control_parse(const char *path, const char *body, size_t body_len,
                                    nd_dashboard_control_t *out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(out != NULL);
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
        if (strcmp(path, routes[k].path) != 0)
            continue;
        nd_dashboard_control_t c = {.action = routes[k].action};
        nd_err_t rc = control_body(body, body_len, routes[k].action != ND_DASHBOARD_KILL, &c,
                                   err, err_len);
        if (rc == ND_OK)
            *out = c;
        return rc;
    }
    nd_err_put(err, err_len, "%s: no such control", path);
    return ND_ENOTFOUND;
}

int nd_dashboard_strategy_find(const nd_engine_t *e, const char *name)
{
    ND_ASSERT(e != NULL);
    ND_ASSERT(name != NULL);
    uint32_t n = nd_engine_strategy_count(e);
    char *end;
    long index = strtol(name, &end, 10);
    if (name[0] >= '0' && name[0] <= '9' && *end == '\0')
        return index >= 0 && index < (long)n ? (int)index : -1;
    int found = -1;
    for (uint32_t k = 0; k < n; k++) {
        if (strcmp(nd_engine_strategy_def(e, k)->name, name) != 0)
            continue;
        if (found >= 0)
            return -1; /* two strategies of one name: say which by index */
        found = (int)k;
    }
    return found;
}
