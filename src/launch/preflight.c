/* preflight.c: the preflight's checks in order, its settings (the config's "preflight"
 * object) and its report (preflight.h, docs/launcher.md). The checks themselves are in
 * pf_venue.c (what the venue and the oracle answer) and pf_local.c (what this host holds). */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/json_cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const check_names[ND_PF_CHECK_COUNT] = {
    "config_valid", "secrets", "venue_reachable", "clock_offset", "exchange_info", "balances",
    "oracle_fresh", "feeds_fresh", "risk_limits", "store_audit", "headroom",
    "strategies_validated", "compliance_profile", "metrics_endpoint", "kill_switch",
    "rate_limits", "build_pinned",
};

static const nd__pf_check_fn check_fns[ND_PF_CHECK_COUNT] = {
    nd__pf_config_valid, nd__pf_secrets, nd__pf_venue_reachable, nd__pf_clock_offset,
    nd__pf_exchange_info, nd__pf_balances, nd__pf_oracle_fresh, nd__pf_feeds_fresh,
    nd__pf_risk_limits, nd__pf_store_audit, nd__pf_headroom, nd__pf_strategies_validated,
    nd__pf_compliance_profile, nd__pf_metrics_endpoint, nd__pf_kill_switch, nd__pf_rate_limits,
    nd__pf_build_pinned,
};

_Static_assert(ND_PF_CHECK_COUNT == 17, "the issue names 17 checks");

const char *nd_preflight_check_name(nd_preflight_check_t check)
{
    return (unsigned)check < ND_PF_CHECK_COUNT ? check_names[check] : NULL;
}

const char *nd_preflight_status_name(nd_preflight_status_t status)
{
    switch (status) {
    case ND_PF_PASS: return "pass";
    case ND_PF_FAIL: return "fail";
    case ND_PF_SKIP: return "skip";
    }
    return "unknown";
}

nd_err_t nd_preflight_check_parse(const char *name, nd_preflight_check_t *out)
{
    ND_ASSERT(name != NULL && out != NULL);
    for (int k = 0; k < ND_PF_CHECK_COUNT; k++)
        if (strcmp(name, check_names[k]) == 0) {
            *out = (nd_preflight_check_t)k;
            return ND_OK;
        }
    return ND_ENOTFOUND;
}

void nd__pf_set(nd_preflight_outcome_t *out, nd_preflight_status_t status, const char *hint,
                const char *fmt, ...)
{
    out->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    snprintf(out->hint, sizeof out->hint, "%s", status == ND_PF_FAIL && hint ? hint : "");
}

/* ---- settings ---------------------------------------------------------------------------- */

static void settings_default(const nd_live_config_t *cfg, nd_preflight_settings_t *s)
{
    memset(s, 0, sizeof *s);
    s->first_allocation = cfg->bt.engine.initial_cash / 20; /* the ramp starts at 5% */
    s->recv_window_ms = 5000;
    s->timeout_ms = 3000;
    s->feed_within_ms = 5000;
    s->disk_free_mb_min = 512;
    s->memory_free_mb_min = 256;
    s->max_drawdown_max = 1500; /* the seed's bounds, in the risk config's 1e-4 units */
    s->max_position_max = 2500;
    s->daily_loss_max = 500;
    s->oracle_margin_s = 60;
}

static nd_err_t parse_bounds(nd_jcfg_t *c, json_t *pf, nd_preflight_settings_t *s)
{
    json_t *b;
    nd_err_t rc = nd_jcfg_section(c, json_object_get(pf, "bounds"), "preflight.bounds", &b);
    if (rc != ND_OK || !b)
        return rc;
    static const char *const keys[] = {"max_drawdown", "max_position", "daily_loss", NULL};
    /* Bounds only tighten the seed's: a wider one is refused, not silently capped. */
    if ((rc = nd_jcfg_keys(c, b, keys)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, b, "max_drawdown", 0.0001, 0.15, 4, &s->max_drawdown_max)) !=
            ND_OK ||
        (rc = nd_jcfg_fraction(c, b, "max_position", 0.0001, 0.25, 4, &s->max_position_max)) !=
            ND_OK ||
        (rc = nd_jcfg_fraction(c, b, "daily_loss", 0.0001, 0.05, 4, &s->daily_loss_max)) != ND_OK)
        return rc;
    snprintf(c->key, sizeof c->key, "preflight");
    return ND_OK;
}

static nd_err_t parse_oracle(nd_jcfg_t *c, json_t *pf, nd_preflight_settings_t *s)
{
    json_t *o;
    nd_err_t rc = nd_jcfg_section(c, json_object_get(pf, "oracle"), "preflight.oracle", &o);
    if (rc != ND_OK || !o)
        return rc;
    static const char *const keys[] = {"rpc_url", "feed", "heartbeat_s", "margin_s", NULL};
    if ((rc = nd_jcfg_keys(c, o, keys)) != ND_OK ||
        (rc = nd_jcfg_str(c, o, "rpc_url", s->oracle_rpc, sizeof s->oracle_rpc)) != ND_OK ||
        (rc = nd_jcfg_str(c, o, "feed", s->oracle_feed, sizeof s->oracle_feed)) != ND_OK ||
        (rc = nd_jcfg_int(c, o, "heartbeat_s", 1, 7 * 86400, &s->oracle_heartbeat_s)) != ND_OK ||
        (rc = nd_jcfg_int(c, o, "margin_s", 0, 86400, &s->oracle_margin_s)) != ND_OK)
        return rc;
    if (!s->oracle_rpc[0] || !s->oracle_feed[0])
        return nd_jcfg_bad(c, NULL, "give rpc_url and feed together");
    snprintf(c->key, sizeof c->key, "preflight");
    return ND_OK;
}

static nd_err_t parse_hex(nd_jcfg_t *c, json_t *obj, const char *field, char out[65])
{
    char text[80] = "";
    nd_err_t rc = nd_jcfg_str(c, obj, field, text, sizeof text);
    if (rc != ND_OK)
        return rc;
    size_t n = strlen(text);
    for (size_t k = 0; k < n; k++)
        if (!((text[k] >= '0' && text[k] <= '9') || (text[k] >= 'a' && text[k] <= 'f')))
            n = 0;
    if (text[0] && n != 64)
        return nd_jcfg_bad(c, field, "want 64 lowercase hex digits (a SHA-256)");
    memcpy(out, text, 65);
    return ND_OK;
}

static nd_err_t parse_lists(nd_jcfg_t *c, json_t *pf, nd_preflight_settings_t *s)
{
    json_t *list = json_object_get(pf, "validate_reports");
    if (list && (!json_is_array(list) || json_array_size(list) > ND_STRATEGIES_MAX))
        return nd_jcfg_bad(c, "validate_reports", "must be a list of paths, one per strategy");
    size_t k;
    json_t *v;
    json_array_foreach(list, k, v) {
        if (!json_is_string(v) || json_string_length(v) >= ND_LIVE_PATH_MAX)
            return nd_jcfg_bad(c, "validate_reports", "each entry is a path (\"\": none)");
        snprintf(s->validate_reports[k], ND_LIVE_PATH_MAX, "%s", json_string_value(v));
        s->validate_report_count = (uint32_t)k + 1;
    }
    json_t *pin;
    nd_err_t rc = nd_jcfg_section(c, json_object_get(pf, "pin"), "preflight.pin", &pin);
    if (rc != ND_OK || !pin)
        return rc;
    static const char *const keys[] = {"config_sha256", "build_sha256", NULL};
    if ((rc = nd_jcfg_keys(c, pin, keys)) != ND_OK ||
        (rc = parse_hex(c, pin, "config_sha256", s->pin_config_sha256)) != ND_OK ||
        (rc = parse_hex(c, pin, "build_sha256", s->pin_build_sha256)) != ND_OK)
        return rc;
    snprintf(c->key, sizeof c->key, "preflight");
    return ND_OK;
}

nd_err_t nd_preflight_settings_parse(const nd_live_config_t *cfg, nd_preflight_settings_t *s,
                                     char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && s != NULL);
    settings_default(cfg, s);
    nd_jcfg_t c = {cfg->path, "", err, err_len};
    if (cfg->venue_count > 1) /* its venue checks and the launch's venue module know one */
        return nd_jcfg_bad(&c, "venues", "preflight and launch take one venue: run a session "
                                         "with two with noderr paper or noderr live");
    json_t *pf;
    nd_err_t rc = nd_jcfg_section(&c, cfg->root ? json_object_get(cfg->root, "preflight") : NULL,
                                  "preflight", &pf);
    if (rc != ND_OK || !pf)
        return rc;
    static const char *const keys[] = {
        "mode", "first_allocation", "recv_window_ms", "timeout_ms", "feed_within_ms",
        "disk_free_mb_min", "memory_free_mb_min", "bounds", "oracle", "validate_reports", "pin",
        NULL,
    };
    char mode[16] = "";
    if ((rc = nd_jcfg_keys(&c, pf, keys)) != ND_OK ||
        (rc = nd_jcfg_str(&c, pf, "mode", mode, sizeof mode)) != ND_OK ||
        (rc = nd_jcfg_fixed(&c, pf, "first_allocation", ND_CASH_DECIMALS, 0, INT64_MAX / 1000,
                            &s->first_allocation)) != ND_OK ||
        (rc = nd_jcfg_int(&c, pf, "recv_window_ms", 1, 60000, &s->recv_window_ms)) != ND_OK ||
        (rc = nd_jcfg_int(&c, pf, "timeout_ms", 100, 60000, &s->timeout_ms)) != ND_OK ||
        (rc = nd_jcfg_int(&c, pf, "feed_within_ms", 100, 600000, &s->feed_within_ms)) != ND_OK ||
        (rc = nd_jcfg_int(&c, pf, "disk_free_mb_min", 0, INT64_MAX / 2, &s->disk_free_mb_min)) !=
            ND_OK ||
        (rc = nd_jcfg_int(&c, pf, "memory_free_mb_min", 0, INT64_MAX / 2,
                          &s->memory_free_mb_min)) != ND_OK ||
        (rc = parse_bounds(&c, pf, s)) != ND_OK || (rc = parse_oracle(&c, pf, s)) != ND_OK ||
        (rc = parse_lists(&c, pf, s)) != ND_OK)
        return rc;
    if (mode[0] && strcmp(mode, "live") == 0)
        s->live = true;
    else if (mode[0] && strcmp(mode, "paper") != 0)
        return nd_jcfg_bad(&c, "mode", "must be \"paper\" or \"live\"");
    return ND_OK;
}

/* ---- the run ----------------------------------------------------------------------------- */

nd_err_t nd_preflight_run(const nd_live_config_t *cfg, const nd_preflight_settings_t *set,
                          const nd_preflight_env_t *env, unsigned mask, nd_preflight_report_t *out)
{
    ND_ASSERT(cfg != NULL && set != NULL);
    ND_ASSERT(env != NULL && env->clock != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    nd__pf_t pf = {.cfg = cfg, .set = set, .env = env, .report = out};
    pf.secret = nd_calloc(1, sizeof *pf.secret);
    if (!pf.secret)
        return ND_ENOMEM;
    char why[256] = "";
    if (nd__pf_hashes(cfg, env, out->config_sha256, out->build_sha256, why, sizeof why) !=
        ND_OK)
        out->config_sha256[0] = out->build_sha256[0] = '\0';
    int64_t start = nd_clock_mono_ns(env->clock);
    for (int k = 0; k < ND_PF_CHECK_COUNT; k++) {
        nd_preflight_outcome_t *o = &out->checks[k];
        if (!(mask & (1u << k))) {
            nd__pf_set(o, ND_PF_SKIP, NULL, "not selected");
            continue;
        }
        out->ran[k] = true;
        int64_t t0 = nd_clock_mono_ns(env->clock);
        check_fns[k](&pf, o);
        o->elapsed_ns = nd_clock_mono_ns(env->clock) - t0;
        out->passed += o->status == ND_PF_PASS;
        out->failed += o->status == ND_PF_FAIL;
        out->skipped += o->status == ND_PF_SKIP;
    }
    out->elapsed_ns = nd_clock_mono_ns(env->clock) - start;
    nd__launch_probe_close(&pf.probe);
    nd_free(pf.info);
    nd_secret_wipe(pf.secret);
    nd_free(pf.secret);
    return ND_OK;
}

json_t *nd_preflight_report_json(const nd_preflight_report_t *r)
{
    ND_ASSERT(r != NULL);
    json_t *j = json_object(), *list = json_array();
    json_object_set_new(j, "passed", json_integer(r->passed));
    json_object_set_new(j, "failed", json_integer(r->failed));
    json_object_set_new(j, "skipped", json_integer(r->skipped));
    json_object_set_new(j, "config_sha256", json_string(r->config_sha256));
    json_object_set_new(j, "build_sha256", json_string(r->build_sha256));
    json_object_set_new(j, "elapsed_ms", json_integer(r->elapsed_ns / 1000000));
    for (int k = 0; k < ND_PF_CHECK_COUNT; k++) {
        const nd_preflight_outcome_t *o = &r->checks[k];
        json_t *c = json_object();
        json_object_set_new(c, "name", json_string(check_names[k]));
        json_object_set_new(c, "status", json_string(nd_preflight_status_name(o->status)));
        json_object_set_new(c, "reason", json_string(o->reason));
        json_object_set_new(c, "hint", json_string(o->hint));
        json_object_set_new(c, "elapsed_ms", json_integer(o->elapsed_ns / 1000000));
        json_array_append_new(list, c);
    }
    json_object_set_new(j, "checks", list);
    return j;
}
