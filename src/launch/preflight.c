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
    /* Bounds only tighten the seed's: a wider one is refused, not silently capped. */
    const nd_jcfg_field_t fields[] = {
        {"max_drawdown", ND_JCFG_FRACTION, &s->max_drawdown_max, .real_lo = 0.0001,
         .real_hi = 0.15, .places = 4},
        {"max_position", ND_JCFG_FRACTION, &s->max_position_max, .real_lo = 0.0001,
         .real_hi = 0.25, .places = 4},
        {"daily_loss", ND_JCFG_FRACTION, &s->daily_loss_max, .real_lo = 0.0001, .real_hi = 0.05,
         .places = 4},
        {.key = NULL},
    };
    json_t *b;
    nd_err_t rc = nd_jcfg_section_fields(c, json_object_get(pf, "bounds"), "preflight.bounds",
                                         fields, &b);
    if (rc != ND_OK || !b)
        return rc;
    snprintf(c->key, sizeof c->key, "preflight");
    return ND_OK;
}

static nd_err_t parse_oracle(nd_jcfg_t *c, json_t *pf, nd_preflight_settings_t *s)
{
    const nd_jcfg_field_t fields[] = {
        {"rpc_url", ND_JCFG_STR, s->oracle_rpc, .cap = sizeof s->oracle_rpc},
        {"feed", ND_JCFG_STR, s->oracle_feed, .cap = sizeof s->oracle_feed},
        {"heartbeat_s", ND_JCFG_INT, &s->oracle_heartbeat_s, .lo = 1, .hi = 7 * 86400},
        {"margin_s", ND_JCFG_INT, &s->oracle_margin_s, .lo = 0, .hi = 86400},
        {.key = NULL},
    };
    json_t *o;
    nd_err_t rc = nd_jcfg_section_fields(c, json_object_get(pf, "oracle"), "preflight.oracle",
                                         fields, &o);
    if (rc != ND_OK || !o)
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
    char mode[16] = "";
    const nd_jcfg_field_t fields[] = {
        {"mode", ND_JCFG_STR, mode, .cap = sizeof mode},
        {"first_allocation", ND_JCFG_FIXED, &s->first_allocation, .lo = 0,
         .hi = INT64_MAX / 1000, .places = ND_CASH_DECIMALS},
        {"recv_window_ms", ND_JCFG_INT, &s->recv_window_ms, .lo = 1, .hi = 60000},
        {"timeout_ms", ND_JCFG_INT, &s->timeout_ms, .lo = 100, .hi = 60000},
        {"feed_within_ms", ND_JCFG_INT, &s->feed_within_ms, .lo = 100, .hi = 600000},
        {"disk_free_mb_min", ND_JCFG_INT, &s->disk_free_mb_min, .lo = 0, .hi = INT64_MAX / 2},
        {"memory_free_mb_min", ND_JCFG_INT, &s->memory_free_mb_min, .lo = 0,
         .hi = INT64_MAX / 2},
        {"bounds", ND_JCFG_KEY, .out = NULL},           /* parse_bounds */
        {"oracle", ND_JCFG_KEY, .out = NULL},           /* parse_oracle */
        {"validate_reports", ND_JCFG_KEY, .out = NULL}, /* parse_lists */
        {"pin", ND_JCFG_KEY, .out = NULL},              /* parse_lists */
        {.key = NULL},
    };
    json_t *pf;
    nd_err_t rc = nd_jcfg_section_fields(
        &c, cfg->root ? json_object_get(cfg->root, "preflight") : NULL, "preflight", fields, &pf);
    if (rc != ND_OK || !pf)
        return rc;
    if ((rc = parse_bounds(&c, pf, s)) != ND_OK || (rc = parse_oracle(&c, pf, s)) != ND_OK ||
        (rc = parse_lists(&c, pf, s)) != ND_OK)
        return rc;
    if (mode[0] && strcmp(mode, "live") == 0)
        s->live = true;
    else if (mode[0] && strcmp(mode, "paper") != 0)
        return nd_jcfg_bad(&c, "mode", "must be \"paper\" or \"live\"");
    return ND_OK;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* ---- venues ------------------------------------------------------------------------------ */

bool nd__pf_per_venue(const nd__pf_t *pf, int k)
{
    if (pf->cfg->venue_count < 2)
        return false;
    switch ((nd_preflight_check_t)k) {
    case ND_PF_VENUE_REACHABLE:
    case ND_PF_CLOCK_OFFSET:
    case ND_PF_EXCHANGE_INFO:
    case ND_PF_FEEDS_FRESH:
    case ND_PF_RATE_LIMITS: return true;
    case ND_PF_SECRETS:
    case ND_PF_BALANCES: return pf->set->live; /* paper: the config's, the same for both */
    default: return false;
    }
}

const char *nd__pf_venue_symbol(const nd__pf_t *pf)
{
    uint32_t k = pf->vc->symbol_first;
    ND_ASSERT(k < pf->cfg->symbol_count);
    return k == 0 ? pf->cfg->bt.symbol : pf->cfg->bt.more[k - 1].symbol;
}

const char *nd__pf_quote_asset(const nd__pf_t *pf)
{
    const char *sym = nd__pf_venue_symbol(pf);
    const char *slash = strchr(sym, '/');
    return slash ? slash + 1 : sym;
}

static void park(nd__pf_t *pf, nd__pf_venue_t *to)
{
    to->secret = pf->secret;
    to->probe = pf->probe;
    to->reachable = pf->reachable;
    to->info = pf->info;
    to->info_len = pf->info_len;
    memcpy(to->info_url, pf->info_url, sizeof to->info_url);
}

void nd__pf_switch(nd__pf_t *pf, uint32_t v)
{
    ND_ASSERT(v < pf->cfg->venue_count);
    if (v == pf->v && pf->vc)
        return;
    if (pf->vc)
        park(pf, &pf->parked[pf->v]);
    const nd__pf_venue_t *from = &pf->parked[v];
    pf->secret = from->secret;
    pf->probe = from->probe;
    pf->reachable = from->reachable;
    pf->info = from->info;
    pf->info_len = from->info_len;
    memcpy(pf->info_url, from->info_url, sizeof pf->info_url);
    memset(&pf->parked[v], 0, sizeof pf->parked[v]); /* parked again when it is left */
    pf->v = v;
    pf->vc = &pf->cfg->venues[v];
}

/* The venues' outcomes as the check's: the worst status, each venue named in the reason and
 * the hints of the ones that failed. */
static void merge_venues(nd_preflight_outcome_t *o)
{
    ND_ASSERT(o->venue_count >= 2);
    bool fail = false, pass = false;
    size_t used = 0, hint_used = 0;
    o->reason[0] = o->hint[0] = '\0';
    for (uint32_t v = 0; v < o->venue_count; v++) {
        const nd_preflight_venue_outcome_t *vo = &o->venues[v];
        fail |= vo->status == ND_PF_FAIL;
        pass |= vo->status == ND_PF_PASS;
        int w = snprintf(o->reason + used, sizeof o->reason - used, "%s%s: %s%s", v ? "; " : "",
                         vo->venue, vo->status == ND_PF_SKIP ? "skip, " : "", vo->reason);
        used = w > 0 && used + (size_t)w < sizeof o->reason ? used + (size_t)w : used;
        if (vo->status != ND_PF_FAIL || !vo->hint[0])
            continue;
        w = snprintf(o->hint + hint_used, sizeof o->hint - hint_used, "%s%s: %s",
                     hint_used ? "; " : "", vo->venue, vo->hint);
        hint_used = w > 0 && hint_used + (size_t)w < sizeof o->hint ? hint_used + (size_t)w
                                                                     : hint_used;
    }
    o->status = fail ? ND_PF_FAIL : pass ? ND_PF_PASS : ND_PF_SKIP;
}

/* Check k once per venue, each venue current in turn, into o->venues; then the first venue is
 * current again (the checks that run once ask it). */
static void run_per_venue(nd__pf_t *pf, int k, nd_preflight_outcome_t *o)
{
    for (uint32_t v = 0; v < pf->cfg->venue_count; v++) {
        nd__pf_switch(pf, v);
        nd_preflight_outcome_t one;
        memset(&one, 0, sizeof one);
        check_fns[k](pf, &one);
        nd_preflight_venue_outcome_t *vo = &o->venues[v];
        const char *name = nd_venue_name(pf->vc->venue);
        snprintf(vo->venue, sizeof vo->venue, "%s", name);
        vo->status = one.status;
        size_t n = strlen(name); /* the Coinbase checks name their venue already */
        const char *r = one.reason;
        if (strncmp(r, name, n) == 0 && (r[n] == ':' || r[n] == ' '))
            r += n + (r[n] == ':' ? 1 : 0);
        while (*r == ' ')
            r++;
        snprintf(vo->reason, sizeof vo->reason, "%s", r);
        snprintf(vo->hint, sizeof vo->hint, "%s", one.hint);
    }
    o->venue_count = pf->cfg->venue_count;
    nd__pf_switch(pf, 0);
    merge_venues(o);
}

/* Frees what the checks kept of every venue. */
static void venues_free(nd__pf_t *pf)
{
    if (pf->vc)
        park(pf, &pf->parked[pf->v]);
    for (uint32_t v = 0; v < ND_LIVE_VENUES_MAX; v++) {
        nd__pf_venue_t *pv = &pf->parked[v];
        nd__launch_probe_close(&pv->probe);
        nd_free(pv->info);
        if (pv->secret) {
            nd_secret_wipe(pv->secret);
            nd_free(pv->secret);
        }
    }
}

nd_err_t nd_preflight_run(const nd_live_config_t *cfg, const nd_preflight_settings_t *set,
                          const nd_preflight_env_t *env, unsigned mask,
                          nd_preflight_report_t *out)
{
    ND_ASSERT(cfg != NULL && set != NULL);
    ND_ASSERT(env != NULL && env->clock != NULL && out != NULL);
    ND_ASSERT(cfg->venue_count >= 1 && cfg->venue_count <= ND_LIVE_VENUES_MAX);
    memset(out, 0, sizeof *out);
    nd__pf_t pf = {.cfg = cfg, .set = set, .env = env, .report = out};
    nd_err_t rc = ND_OK;
    for (uint32_t v = 0; v < cfg->venue_count; v++)
        if (!(pf.parked[v].secret = nd_calloc(1, sizeof *pf.parked[v].secret)))
            rc = ND_ENOMEM;
    if (rc != ND_OK) {
        venues_free(&pf);
        return rc;
    }
    nd__pf_switch(&pf, 0);
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
        if (nd__pf_per_venue(&pf, k))
            run_per_venue(&pf, k, o);
        else
            check_fns[k](&pf, o);
        o->elapsed_ns = nd_clock_mono_ns(env->clock) - t0;
        out->passed += o->status == ND_PF_PASS;
        out->failed += o->status == ND_PF_FAIL;
        out->skipped += o->status == ND_PF_SKIP;
    }
    out->elapsed_ns = nd_clock_mono_ns(env->clock) - start;
    venues_free(&pf);
    return ND_OK;
}

static json_t *venues_json(const nd_preflight_outcome_t *o)
{
    json_t *list = json_array();
    for (uint32_t v = 0; v < o->venue_count; v++) {
        const nd_preflight_venue_outcome_t *vo = &o->venues[v];
        json_t *j = json_object();
        json_object_set_new(j, "venue", json_string(vo->venue));
        json_object_set_new(j, "status", json_string(nd_preflight_status_name(vo->status)));
        json_object_set_new(j, "reason", json_string(vo->reason));
        json_object_set_new(j, "hint", json_string(vo->hint));
        json_array_append_new(list, j);
    }
    return list;
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
        if (o->venue_count)
            json_object_set_new(c, "venues", venues_json(o));
        json_array_append_new(list, c);
    }
    json_object_set_new(j, "checks", list);
    return j;
}
