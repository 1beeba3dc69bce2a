/* pf_local.c: the preflight checks this host answers (docs/launcher.md): config_valid,
 * secrets, risk_limits, store_audit, headroom, strategies_validated, compliance_profile,
 * kill_switch (dry-fired on a simulated venue) and build_pinned. */
#define _DEFAULT_SOURCE
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/backtest.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/launch.h"
#include "noderr/risk.h"
#include "noderr/scenario.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- config, secrets, risk --------------------------------------------------------------- */

void nd__pf_config_valid(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const nd_live_config_t *cfg = pf->cfg;
    int64_t weights = 0;
    for (uint32_t k = 0; k < cfg->strategy_count; k++)
        weights += cfg->strategies[k].weight_e6;
    if (weights > 1000000) {
        nd__pf_set(out, ND_PF_FAIL, "make the strategies' weights add up to 1 at most",
                   "%s: strategies' weights add up to %lld.%06lld, more than the capital",
                   cfg->path, (long long)(weights / 1000000), (long long)(weights % 1000000));
        return;
    }
    if (pf->set->live && cfg->clock == ND_LIVE_CLOCK_VENUE) {
        nd__pf_set(out, ND_PF_FAIL, "remove \"clock\" (a live session runs on the local clock)",
                   "%s: clock \"venue\" replays a recording's time; live trading cannot",
                   cfg->path);
        return;
    }
    nd__pf_set(out, ND_PF_PASS, NULL,
               "%s: the schema holds (docs/live.md, preflight keys); %s mode, %u symbol(s), "
               "%u strategy(ies)", cfg->path, pf->set->live ? "live" : "paper", cfg->symbol_count,
               cfg->strategy_count);
}

void nd__pf_secrets(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (!pf->set->live) {
        nd__pf_set(out, ND_PF_SKIP, NULL, "paper mode: no order reaches the venue, no key needed");
        return;
    }
    const char *path = pf->vc->secrets_file[0] ? pf->vc->secrets_file : NULL;
    struct stat st;
    if (path && stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        nd__pf_set(out, ND_PF_FAIL, "chmod 600 the secrets file",
                   "%s has mode %04o: group or others can read the key", path,
                   (unsigned)(st.st_mode & 07777));
        return;
    }
    char why[256] = "";
    const char *venue = pf->vc->venue == ND_VENUE_COINBASE ? "COINBASE" : "BINANCE";
    nd_err_t rc = nd_secret_load(venue, path, pf->secret, why, sizeof why);
    if (rc == ND_ENOTFOUND && !path)
        nd__pf_set(out, ND_PF_FAIL, venue[0] == 'C'
                   ? "name a 0600 venue.secrets_file or set NODERR_COINBASE_API_KEY and "
                     "NODERR_COINBASE_API_SECRET (the key name and its EC private key)"
                   : "name a 0600 venue.secrets_file or set "
                     "NODERR_BINANCE_API_KEY and NODERR_BINANCE_API_SECRET",
                   "no API key: no venue.secrets_file and no NODERR_%s_* variables", venue);
    else if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "fix the secrets file (api_key= and api_secret= lines, 0600)",
                   "%s", why[0] ? why : nd_strerror(rc));
    else if (!pf->secret->api_key[0] || !pf->secret->api_secret[0])
        nd__pf_set(out, ND_PF_FAIL, "give both api_key and api_secret",
                   "the API key or its secret is empty");
    else
        nd__pf_set(out, ND_PF_PASS, NULL, "API key and secret from %s%s%s", path ? path : "the "
                   "NODERR_", path ? "" : venue, path ? " (owner-only mode)" : "_* environment");
    if (rc != ND_OK)
        nd_secret_wipe(pf->secret);
}

static bool limit_ok(int64_t value, int64_t bound)
{
    return value > 0 && value <= bound;
}

static void pct(int64_t e4, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld.%02lld%%", (long long)(e4 / 100), (long long)(e4 % 100));
}

void nd__pf_risk_limits(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const nd_risk_config_t *r = &pf->cfg->bt.engine.risk;
    const nd_preflight_settings_t *s = pf->set;
    const struct {
        const char *key;
        int64_t value, bound;
    } limits[3] = {
        {"risk.max_drawdown", r->max_drawdown_pct_e2, s->max_drawdown_max},
        {"risk.max_position", r->max_position_pct_e2, s->max_position_max},
        {"risk.daily_loss", r->daily_loss_pct_e2, s->daily_loss_max},
    };
    char text[3][2][48];
    for (int k = 0; k < 3; k++) {
        pct(limits[k].value, text[k][0], sizeof text[k][0]);
        pct(limits[k].bound, text[k][1], sizeof text[k][1]);
        if (!limit_ok(limits[k].value, limits[k].bound)) {
            nd__pf_set(out, ND_PF_FAIL, "set the limit above 0 and within its bound",
                       "%s %s is %s (0, %s]", limits[k].key, text[k][0],
                       limits[k].value <= 0 ? "off: not in" : "outside", text[k][1]);
            return;
        }
    }
    nd__pf_set(out, ND_PF_PASS, NULL,
               "max_drawdown %s <= %s, max_position %s <= %s, daily_loss %s <= %s", text[0][0],
               text[0][1], text[1][0], text[1][1], text[2][0], text[2][1]);
}

/* ---- store, headroom --------------------------------------------------------------------- */

static void store_probe(nd__pf_t *pf, nd_store_t *st, nd_preflight_outcome_t *out)
{
    nd_audit_result_t ar;
    char why[512] = "";
    nd_err_t rc = nd_audit_verify(st, &ar, why, sizeof why);
    if (rc != ND_OK || ar.problem != ND_AUDIT_OK) {
        nd__pf_set(out, ND_PF_FAIL, "run noderr audit verify on the store and restore it from a "
                   "verified copy", "audit chain: %s%s%s", rc != ND_OK ? why : "",
                   rc != ND_OK ? "" : nd_audit_problem_name(ar.problem),
                   rc != ND_OK ? "" : ar.detail);
        return;
    }
    int64_t now = nd_clock_now_ns(pf->env->clock);
    rc = nd_store_append_operator_action(st, now, "preflight", "preflight_store_probe",
                                         "the launcher's preflight checks the store can write",
                                         why, sizeof why);
    if (rc == ND_OK)
        rc = nd_store_flush(st, why, sizeof why);
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "check the store's permissions, disk space and connection",
                   "cannot write: %s", why[0] ? why : nd_strerror(rc));
    else
        nd__pf_set(out, ND_PF_PASS, NULL,
                   "%s store: %lld records verified (head: %s), a preflight record written at "
                   "seq %lld", nd_store_backend(st), (long long)ar.verified, ar.head_checked,
                   (long long)nd_store_last_seq(st));
}

void nd__pf_store_audit(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const char *url = pf->cfg->store_url;
    if (!url[0]) {
        nd__pf_set(out, pf->set->live ? ND_PF_FAIL : ND_PF_SKIP,
                   "set store.url: live orders must be recorded in the audit chain",
                   "no store.url: nothing is recorded");
        return;
    }
    /* The session creates its state directory before it opens the store (which often lives
     * there): so does this check. */
    if (mkdir(pf->cfg->state_dir, 0700) != 0 && errno != EEXIST) {
        nd__pf_set(out, ND_PF_FAIL, "check state_dir and its parent's permissions",
                   "state_dir %s: %s", pf->cfg->state_dir, strerror(errno));
        return;
    }
    nd_store_t *st = NULL;
    char why[512] = "";
    nd_err_t rc = nd_store_open(url, ND_STORE_CREATE, &st, why, sizeof why);
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "check store.url, the file's directory and permissions",
                   "cannot open %s: %s", url, why[0] ? why : nd_strerror(rc));
    else
        store_probe(pf, st, out);
    nd_store_close(st);
}

void nd__pf_headroom(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const char *store = pf->cfg->store_url;
    if (strncmp(store, "sqlite:", 7) == 0)
        store += 7;
    bool store_file = store[0] && !strstr(store, "://") && strncmp(store, "mem:", 4) != 0;
    const char *paths[2] = {pf->cfg->state_dir, store_file ? store : NULL};
    char report[256] = "", dirs[2][ND_LIVE_PATH_MAX];
    size_t used = 0;
    for (int k = 0; k < 2 && paths[k]; k++) {
        char *dir = dirs[k];
        nd__launch_existing_dir(paths[k], dir, ND_LIVE_PATH_MAX);
        if (k == 1 && strcmp(dirs[0], dir) == 0)
            break; /* the store is in the state directory's file system: measured */
        struct statvfs vfs;
        if (statvfs(dir, &vfs) != 0) {
            nd__pf_set(out, ND_PF_FAIL, "check the path", "statvfs %s failed", dir);
            return;
        }
        int64_t free_mb = (int64_t)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> 20);
        if (free_mb < pf->set->disk_free_mb_min) {
            nd__pf_set(out, ND_PF_FAIL, "free disk space or lower preflight.disk_free_mb_min",
                       "%s: %lld MiB free, under %lld MiB", dir, (long long)free_mb,
                       (long long)pf->set->disk_free_mb_min);
            return;
        }
        int w = snprintf(report + used, sizeof report - used, "%s: %lld MiB free; ", dir,
                         (long long)free_mb);
        used = w > 0 && used + (size_t)w < sizeof report ? used + (size_t)w : used;
    }
    int64_t mem_mb = nd_launch_memory_free_mb();
    nd__pf_set(out, mem_mb >= pf->set->memory_free_mb_min ? ND_PF_PASS : ND_PF_FAIL,
               "free memory or lower preflight.memory_free_mb_min",
               "%smemory available %lld MiB (at least %lld MiB disk, %lld MiB memory wanted)",
               report, (long long)mem_mb, (long long)pf->set->disk_free_mb_min,
               (long long)pf->set->memory_free_mb_min);
}

/* ---- validate, compliance, metrics ------------------------------------------------------- */

/* Checks one validate report (`noderr validate --json`) against strategy k as configured: the
 * same strategy and parameters, scenarios run and none failed. */
static bool report_ok(nd__pf_t *pf, uint32_t k, char *why, size_t why_len)
{
    const nd_strategy_spec_t *spec = &pf->cfg->bt.strategies[k];
    const char *path = k < pf->set->validate_report_count ? pf->set->validate_reports[k] : "";
    if (!path[0]) {
        nd_err_put(why, why_len, "strategies[%u] %s: no validate report "
                   "(preflight.validate_reports[%u])", k, spec->def->name, k);
        return false;
    }
    json_t *params = NULL;
    char err[256] = "", strategy[ND_NAME_MAX + 1] = "";
    int64_t passed = 0, failed = 0;
    bool ok = nd__launch_validate_report(path, strategy, sizeof strategy, &params, &passed,
                                         &failed, err, sizeof err) == ND_OK;
    const char *name = strategy[0] ? strategy : NULL;
    if (!ok)
        nd_err_put(why, why_len, "%s", err);
    else if (!name || strcmp(name, spec->def->name) != 0)
        nd_err_put(why, why_len, "%s judges %s, not strategies[%u] %s", path,
                   name ? name : "nothing", k, spec->def->name);
    for (int p = 0; ok && name && strcmp(name, spec->def->name) == 0 &&
                    p < spec->def->param_count; p++) {
        json_t *v = json_object_get(params, spec->def->params[p].name);
        if (!json_is_number(v) || json_number_value(v) != spec->params[p]) {
            nd_err_put(why, why_len, "%s: parameter %s differs from strategies[%u]'s", path,
                       spec->def->params[p].name, k);
            ok = false;
        }
    }
    ok = ok && name && strcmp(name, spec->def->name) == 0;
    if (ok && (failed != 0 || passed <= 0)) {
        nd_err_put(why, why_len, "%s: %lld scenarios failed, %lld passed", path,
                   (long long)failed, (long long)passed);
        ok = false;
    }
    json_decref(params);
    return ok;
}

nd_err_t nd__launch_validate_report(const char *path, char *strategy, size_t cap,
                                    json_t **params, int64_t *passed, int64_t *failed, char *err,
                                    size_t err_len)
{
    ND_ASSERT(path != NULL && strategy != NULL && cap > 0);
    ND_ASSERT(params != NULL && passed != NULL && failed != NULL);
    json_t *doc = NULL;
    nd_err_t rc = nd_json_file_load(path, 64u << 20, 0, &doc, err, err_len);
    if (rc != ND_OK)
        return rc;
    const char *name = json_string_value(json_object_get(doc, "strategy"));
    snprintf(strategy, cap, "%s", name ? name : "");
    *params = json_incref(json_object_get(doc, "params"));
    *passed = json_integer_value(json_object_get(doc, "passed"));
    *failed = json_integer_value(json_object_get(doc, "failed"));
    json_decref(doc);
    return ND_OK;
}

void nd__pf_strategies_validated(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    uint32_t checked = 0, events_only = 0;
    for (uint32_t k = 0; k < pf->cfg->bt.strategy_count; k++) {
        if (!pf->cfg->bt.strategies[k].def->on_bar) {
            events_only++; /* validate runs scenarios on bars: nothing to judge it by yet */
            continue;
        }
        char why[320] = "";
        if (!report_ok(pf, k, why, sizeof why)) {
            nd__pf_set(out, ND_PF_FAIL, "run noderr validate --strategy NAME --params ... --json "
                       "> FILE and list FILE in preflight.validate_reports", "%s", why);
            return;
        }
        checked++;
    }
    if (checked == 0)
        nd__pf_set(out, ND_PF_SKIP, NULL, "%u event-only strateg%s: validate judges bar "
                   "strategies only, nothing to check yet", events_only,
                   events_only == 1 ? "y" : "ies");
    else
        nd__pf_set(out, ND_PF_PASS, NULL, "%u strateg%s passed validate with the configured "
                   "parameters (%u event-only not checkable)", checked, checked == 1 ? "y" : "ies",
                   events_only);
}

void nd__pf_compliance_profile(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const char *code = pf->cfg->compliance_profile;
    nd_jurisdiction_t j;
    if (!code[0]) {
        nd__pf_set(out, pf->set->live ? ND_PF_FAIL : ND_PF_SKIP,
                   "set compliance.profile to the account's jurisdiction (US, EU, UK or SG)",
                   "no compliance.profile: no jurisdiction named");
        return;
    }
    const nd_surv_profile_t *p = nd_jurisdiction_parse(code, strlen(code), &j) == ND_OK
                                     ? nd_jurisdiction_profile(j)
                                     : NULL;
    if (!p || p->rules == 0) {
        nd__pf_set(out, ND_PF_FAIL, "use US, EU, UK or SG", "%s: no profile loads", code);
        return;
    }
    nd__pf_set(out, ND_PF_PASS, NULL, "%s: %s, %d surveillance rules", p->code, p->name,
               __builtin_popcount(p->rules));
}

/* ---- hashes ------------------------------------------------------------------------------ */

nd_err_t nd__launch_sha256_file(const char *path, const char *suffix, char out[65], char *err,
                                size_t err_len)
{
    FILE *f = NULL;
    nd_err_t rc = nd_file_open(path, &f, err, err_len);
    EVP_MD_CTX *md = rc == ND_OK ? EVP_MD_CTX_new() : NULL;
    if (rc == ND_OK && (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1))
        rc = ND_ENOMEM;
    unsigned char buf[1 << 16], digest[32];
    size_t n;
    while (rc == ND_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (EVP_DigestUpdate(md, buf, n) != 1)
            rc = ND_EIO;
    if (rc == ND_OK && ferror(f)) {
        nd_err_put(err, err_len, "%s: read error", path);
        rc = ND_EIO;
    }
    if (rc == ND_OK && ((suffix && EVP_DigestUpdate(md, suffix, strlen(suffix)) != 1) ||
                        EVP_DigestFinal_ex(md, digest, NULL) != 1))
        rc = ND_EIO;
    if (rc == ND_OK)
        nd_hash_hex(digest, out);
    EVP_MD_CTX_free(md);
    if (f)
        fclose(f);
    return rc;
}

static nd_err_t build_hash(const nd_preflight_env_t *env, char out[65], char *err, size_t err_len)
{
    return nd__launch_sha256_file(env->binary_path ? env->binary_path : "/proc/self/exe",
                                  env->version ? env->version : "", out, err, err_len);
}

nd_err_t nd__pf_hashes(const nd_live_config_t *cfg, const nd_preflight_env_t *env,
                       char config_hex[65], char build_hex[65], char *err, size_t err_len)
{
    json_t *copy = json_deep_copy(cfg->root);
    json_object_del(json_object_get(copy, "preflight"), "pin");
    char *text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(copy);
    unsigned char digest[32];
    unsigned int len = 0;
    nd_err_t rc = text && EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL) == 1
                      ? ND_OK
                      : ND_ENOMEM;
    free(text); /* tidy:allow jansson allocates with the C library */
    if (rc != ND_OK)
        return rc;
    nd_hash_hex(digest, config_hex);
    return build_hash(env, build_hex, err, err_len);
}

void nd__pf_build_pinned(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const nd_preflight_report_t *r = pf->report;
    const nd_preflight_settings_t *s = pf->set;
    if (!r->build_sha256[0]) {
        nd__pf_set(out, ND_PF_FAIL, "run the installed binary", "cannot hash the binary");
        return;
    }
    bool config_ok =
        !s->pin_config_sha256[0] || strcmp(s->pin_config_sha256, r->config_sha256) == 0;
    bool build_ok = !s->pin_build_sha256[0] || strcmp(s->pin_build_sha256, r->build_sha256) == 0;
    bool pinned = s->pin_config_sha256[0] && s->pin_build_sha256[0];
    if (!config_ok || !build_ok)
        nd__pf_set(out, ND_PF_FAIL, "deploy the pinned build and config, or pin these after "
                   "review (preflight.pin)", "%s changed: config %s, build %s",
                   !config_ok ? (build_ok ? "the config" : "both") : "the build",
                   r->config_sha256, r->build_sha256);
    else if (!pinned && s->live)
        nd__pf_set(out, ND_PF_FAIL, "pin both in preflight.pin.config_sha256 and build_sha256",
                   "live mode needs a pinned build and config: config %s, build %s",
                   r->config_sha256, r->build_sha256);
    else
        nd__pf_set(out, ND_PF_PASS, NULL, "config %s, build %s (%s)", r->config_sha256,
                   r->build_sha256, pinned ? "both match their pins" : "not pinned (paper)");
}
