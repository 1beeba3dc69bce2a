/* pipeline.c: the deployment pipeline's state and transitions (pipeline.h, docs/launcher.md
 * "Pipeline").
 *
 * Invariants: the state is a pure function of the store's pipeline records: every operation
 * builds its records, appends and commits them, and only then applies them with apply_record,
 * the function nd_pipeline_load runs over the scanned records, so the state in memory is the
 * state a fresh load would rebuild. apply_record refuses a record naming an impossible
 * transition (its from stage is not the version's stage, a second version of a strategy in
 * production, a registration whose id does not match its spec), so a chain this code did not
 * write is found on load. At most one version of a strategy is in production. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/pipeline.h"
#include "noderr/scenario.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nd_pipeline {
    nd_pipeline_version_t *versions;
    size_t count;
    size_t cap;
};

static const char *const stage_names[ND_STAGE_COUNT] = {"dev",    "backtest",   "paper",
                                                        "canary", "production", "retired"};

const char *nd_pipeline_stage_name(nd_pipeline_stage_t stage)
{
    return (int)stage >= 0 && stage < ND_STAGE_COUNT ? stage_names[stage] : "unknown";
}

nd_err_t nd_pipeline_stage_parse(const char *name, nd_pipeline_stage_t *out)
{
    for (int k = 0; name && k < ND_STAGE_COUNT; k++)
        if (strcmp(name, stage_names[k]) == 0) {
            *out = (nd_pipeline_stage_t)k;
            return ND_OK;
        }
    return ND_ENOTFOUND;
}

nd_err_t nd_pipeline_version_id(const nd_pipeline_spec_t *spec, char id[ND_PIPELINE_ID_LEN + 1])
{
    ND_ASSERT(spec != NULL);
    ND_ASSERT(id != NULL);
    if (!spec->strategy[0] || !spec->kind[0] || !spec->params[0] || !spec->code_hash[0])
        return ND_EINVAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *parts[] = {"noderr-version-v1\n", spec->kind, "\n", spec->strategy, "\n",
                           spec->params, "\n", spec->code_hash};
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (size_t k = 0; ok && k < sizeof parts / sizeof parts[0]; k++)
        ok = EVP_DigestUpdate(md, parts[k], strlen(parts[k])) == 1;
    unsigned char digest[EVP_MAX_MD_SIZE];
    ok = ok && EVP_DigestFinal_ex(md, digest, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return ND_ENOMEM;
    char hex[65];
    nd_hash_hex(digest, hex);
    memcpy(id, hex, ND_PIPELINE_ID_LEN);
    id[ND_PIPELINE_ID_LEN] = '\0';
    return ND_OK;
}

/* ---- state ------------------------------------------------------------------------------- */

nd_pipeline_t *nd_pipeline_new(void)
{
    return nd_calloc(1, sizeof(nd_pipeline_t));
}

void nd_pipeline_free(nd_pipeline_t *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->count; k++)
        nd_free(p->versions[k].history);
    nd_free(p->versions);
    nd_free(p);
}

uint32_t nd_pipeline_count(const nd_pipeline_t *p)
{
    ND_ASSERT(p != NULL);
    return (uint32_t)p->count;
}

const nd_pipeline_version_t *nd_pipeline_at(const nd_pipeline_t *p, uint32_t index)
{
    ND_ASSERT(p != NULL);
    ND_ASSERT(index < p->count);
    return &p->versions[index];
}

static nd_pipeline_version_t *find_mut(const nd_pipeline_t *p, const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len < 4 || len > ND_PIPELINE_ID_LEN)
        return NULL;
    nd_pipeline_version_t *hit = NULL;
    for (size_t k = 0; k < p->count; k++)
        if (strncmp(p->versions[k].id, id, len) == 0) {
            if (hit)
                return NULL; /* ambiguous prefix */
            hit = &p->versions[k];
        }
    return hit;
}

const nd_pipeline_version_t *nd_pipeline_find(const nd_pipeline_t *p, const char *id)
{
    ND_ASSERT(p != NULL);
    return find_mut(p, id);
}

const nd_pipeline_version_t *nd_pipeline_in_stage(const nd_pipeline_t *p, const char *strategy,
                                                  nd_pipeline_stage_t stage)
{
    ND_ASSERT(p != NULL);
    ND_ASSERT(strategy != NULL);
    const nd_pipeline_version_t *best = NULL;
    for (size_t k = 0; k < p->count; k++) {
        const nd_pipeline_version_t *v = &p->versions[k];
        if (v->stage == stage && strcmp(v->spec.strategy, strategy) == 0 &&
            (!best || v->stage_since_ns >= best->stage_since_ns))
            best = v;
    }
    return best;
}

/* ---- records: building and applying ----------------------------------------------------- */

/* The transition one record carries, decoded from its detail JSON. */
typedef struct move {
    char id[ND_PIPELINE_ID_LEN + 1];
    nd_pipeline_stage_t from, to;
    bool forced;
    nd_pipeline_spec_t spec;       /* registered only */
} move_t;

static bool copy_str(json_t *doc, const char *key, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(doc, key));
    if (!v || strlen(v) >= cap)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

/* Canonical text of a params object: sorted keys, no spaces. NULL when out of memory. */
static char *params_text(json_t *params)
{
    return json_dumps(params, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
}

static bool decode_spec(json_t *doc, const char *strategy, nd_pipeline_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    json_t *params = json_object_get(doc, "params");
    char *text = json_is_object(params) ? params_text(params) : NULL;
    bool ok = text && strlen(text) < sizeof spec->params && strlen(strategy) < sizeof spec->strategy;
    if (ok) {
        memcpy(spec->params, text, strlen(text) + 1);
        memcpy(spec->strategy, strategy, strlen(strategy) + 1);
    }
    free(text); /* tidy:allow jansson allocates with the C library */
    return ok && copy_str(doc, "kind", spec->kind, sizeof spec->kind) &&
           copy_str(doc, "spec", spec->spec, sizeof spec->spec) &&
           copy_str(doc, "code_hash", spec->code_hash, sizeof spec->code_hash);
}

static bool decode_move(const nd_record_t *rec, move_t *m, char *why, size_t why_len)
{
    json_t *doc = json_loads(rec->detail ? rec->detail : "", 0, NULL);
    char from[16] = "", to[16] = "";
    bool ok = json_is_object(doc) && copy_str(doc, "version", m->id, sizeof m->id) &&
              copy_str(doc, "from", from, sizeof from) && copy_str(doc, "to", to, sizeof to) &&
              nd_pipeline_stage_parse(from, &m->from) == ND_OK &&
              nd_pipeline_stage_parse(to, &m->to) == ND_OK;
    m->forced = json_is_true(json_object_get(doc, "forced"));
    if (!ok)
        nd_err_put(why, why_len, "its detail is not a pipeline transition");
    if (ok && strcmp(rec->event, "registered") == 0 && !decode_spec(doc, rec->strategy, &m->spec)) {
        nd_err_put(why, why_len, "its registration lacks kind, spec, params or code_hash");
        ok = false;
    }
    json_decref(doc);
    return ok;
}

/* Whether event may move a version from stage from to stage to. */
static bool move_legal(const char *event, nd_pipeline_stage_t from, nd_pipeline_stage_t to)
{
    if (strcmp(event, "promoted") == 0)
        return from < ND_STAGE_PRODUCTION && to > from && to <= ND_STAGE_PRODUCTION;
    if (strcmp(event, "demoted") == 0)
        return (from <= ND_STAGE_PRODUCTION && to < from) ||
               (from == ND_STAGE_RETIRED && to < ND_STAGE_PRODUCTION);
    if (strcmp(event, "retired") == 0)
        return from == ND_STAGE_PRODUCTION && to == ND_STAGE_RETIRED;
    if (strcmp(event, "rolled_back") == 0)
        return from == ND_STAGE_RETIRED && to == ND_STAGE_PRODUCTION;
    return false;
}

static nd_err_t add_transition(nd_pipeline_version_t *v, const nd_record_t *rec, const move_t *m)
{
    size_t cap = v->_history_cap;
    nd_pipeline_transition_t *grown =
        nd_array_grow(v->history, &cap, (size_t)v->history_count + 1, sizeof *grown, 4);
    if (!grown)
        return ND_ENOMEM;
    v->history = grown;
    v->_history_cap = (uint32_t)cap;
    nd_pipeline_transition_t *t = &v->history[v->history_count++];
    memset(t, 0, sizeof *t);
    t->seq = rec->seq;
    t->ts_ns = rec->ts_ns;
    snprintf(t->event, sizeof t->event, "%s", rec->event);
    t->from = m->from;
    t->to = m->to;
    t->forced = m->forced;
    snprintf(t->who, sizeof t->who, "%s", rec->account ? rec->account : "");
    snprintf(t->reason, sizeof t->reason, "%s", rec->reason ? rec->reason : "");
    v->stage = m->to;
    v->stage_since_ns = rec->ts_ns;
    return ND_OK;
}

static nd_err_t apply_register(nd_pipeline_t *p, const nd_record_t *rec, const move_t *m,
                               char *why, size_t why_len)
{
    char id[ND_PIPELINE_ID_LEN + 1];
    if (nd_pipeline_version_id(&m->spec, id) != ND_OK || strcmp(id, m->id) != 0) {
        nd_err_put(why, why_len, "version %s does not match its spec (id %s)", m->id, id);
        return ND_EIO;
    }
    if (find_mut(p, m->id) || m->from != ND_STAGE_DEV || m->to != ND_STAGE_DEV) {
        nd_err_put(why, why_len, "version %s registered twice or not in dev", m->id);
        return ND_EIO;
    }
    if (p->count >= ND_PIPELINE_VERSIONS_MAX) {
        nd_err_put(why, why_len, "more than %d versions", ND_PIPELINE_VERSIONS_MAX);
        return ND_EFULL;
    }
    nd_pipeline_version_t *v = nd_array_push(&p->versions, &p->cap, &p->count, sizeof *v, 16);
    if (!v)
        return ND_ENOMEM;
    memcpy(v->id, m->id, sizeof v->id);
    v->spec = m->spec;
    return add_transition(v, rec, m);
}

/* Applies one pipeline record to p: the single place a transition changes the state. */
static nd_err_t apply_record(nd_pipeline_t *p, const nd_record_t *rec, char *why, size_t why_len)
{
    ND_ASSERT(rec->kind == ND_RECORD_PIPELINE);
    move_t m;
    memset(&m, 0, sizeof m);
    if (!decode_move(rec, &m, why, why_len))
        return ND_EIO;
    if (strcmp(rec->event, "registered") == 0)
        return apply_register(p, rec, &m, why, why_len);
    nd_pipeline_version_t *v = find_mut(p, m.id);
    if (!v || strlen(m.id) != ND_PIPELINE_ID_LEN) {
        nd_err_put(why, why_len, "version %s was never registered", m.id);
        return ND_EIO;
    }
    if (v->stage != m.from || !move_legal(rec->event, m.from, m.to)) {
        nd_err_put(why, why_len, "%s of %s from %s to %s, but it is in %s", rec->event, m.id,
                   nd_pipeline_stage_name(m.from), nd_pipeline_stage_name(m.to),
                   nd_pipeline_stage_name(v->stage));
        return ND_EIO;
    }
    const nd_pipeline_version_t *prod = nd_pipeline_in_stage(p, v->spec.strategy,
                                                             ND_STAGE_PRODUCTION);
    if (m.to == ND_STAGE_PRODUCTION && prod) {
        nd_err_put(why, why_len, "%s would be a second production version of %s (%s is)",
                   m.id, v->spec.strategy, prod->id);
        return ND_EIO;
    }
    return add_transition(v, rec, &m);
}

typedef struct load_ctx {
    nd_pipeline_t *p;
    char why[320];
} load_ctx_t;

static nd_err_t load_record(void *ctx, const nd_record_t *rec)
{
    load_ctx_t *c = ctx;
    char why[256] = "";
    nd_err_t rc = apply_record(c->p, rec, why, sizeof why);
    if (rc != ND_OK)
        snprintf(c->why, sizeof c->why, "pipeline record seq %lld: %s", (long long)rec->seq,
                 why);
    return rc;
}

nd_err_t nd_pipeline_load(nd_store_t *s, nd_pipeline_t **out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    load_ctx_t c = {.p = nd_pipeline_new()};
    if (!c.p)
        return ND_ENOMEM;
    nd_record_filter_t f = {.kind_mask = 1u << ND_RECORD_PIPELINE};
    nd_err_t rc = nd_store_scan(s, &f, &c, load_record, err, err_len);
    if (rc != ND_OK) {
        if (c.why[0])
            nd_err_put(err, err_len, "%s", c.why);
        nd_pipeline_free(c.p);
        return rc;
    }
    *out = c.p;
    return ND_OK;
}

/* ---- appending transitions ---------------------------------------------------------------- */

#define MOVES_MAX 2 /* the records one operation appends: retire + promote, demote + restore */

typedef struct pending {
    nd_record_t rec[MOVES_MAX];
    char *detail[MOVES_MAX];
    int count;
} pending_t;

static void pending_free(pending_t *pd)
{
    for (int k = 0; k < pd->count; k++)
        free(pd->detail[k]); /* tidy:allow jansson allocates with the C library */
    pd->count = 0;
}

/* Adds a record of event moving v (or the version being registered: spec and id) from -> to,
 * with extra keys merged into its detail (stolen; may be NULL). */
static nd_err_t pending_add(pending_t *pd, const char *event, const char *id,
                            const nd_pipeline_spec_t *spec, nd_pipeline_stage_t from,
                            nd_pipeline_stage_t to, const nd_pipeline_actor_t *who, bool forced,
                            json_t *extra)
{
    ND_ASSERT(pd->count < MOVES_MAX);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:b}", "version", id, "from",
                            nd_pipeline_stage_name(from), "to", nd_pipeline_stage_name(to),
                            "forced", forced);
    if (doc && extra)
        json_object_update(doc, extra);
    json_decref(extra);
    char *text = doc ? json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!text)
        return ND_ENOMEM;
    nd_record_t *r = &pd->rec[pd->count];
    memset(r, 0, sizeof *r);
    r->ts_ns = who->ts_ns;
    r->kind = ND_RECORD_PIPELINE;
    r->event = event;
    r->account = who->who;
    r->strategy = spec->strategy;
    r->reason = who->reason ? who->reason : "";
    r->detail = text;
    pd->detail[pd->count++] = text;
    return ND_OK;
}

/* Appends and commits the pending records, then applies them: all or none reach the store, and
 * the state changes only after the commit. */
static nd_err_t pending_commit(nd_pipeline_t *p, nd_store_t *s, pending_t *pd, char *err,
                               size_t err_len)
{
    nd_err_t rc = ND_OK;
    for (int k = 0; rc == ND_OK && k < pd->count; k++)
        rc = nd_store_append(s, &pd->rec[k], err, err_len);
    if (rc == ND_OK)
        rc = nd_store_flush(s, err, err_len);
    for (int k = 0; rc == ND_OK && k < pd->count; k++) {
        char why[256] = "";
        rc = apply_record(p, &pd->rec[k], why, sizeof why);
        if (rc != ND_OK)
            nd_err_put(err, err_len, "recorded but not applied: %s", why);
        ND_ASSERT(rc == ND_OK || rc == ND_ENOMEM); /* validated before appending */
    }
    pending_free(pd);
    return rc;
}

static bool actor_ok(const nd_pipeline_actor_t *who, bool need_reason, char *err, size_t err_len)
{
    if (!who->who || !who->who[0]) {
        nd_err_put(err, err_len, "who made the change is required (an operator name)");
        return false;
    }
    if (need_reason && (!who->reason || !who->reason[0])) {
        nd_err_put(err, err_len, "a reason is required");
        return false;
    }
    return true;
}

nd_err_t nd_pipeline_register(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_spec_t *spec,
                              const nd_pipeline_actor_t *who, char id[ND_PIPELINE_ID_LEN + 1],
                              bool *added, char *err, size_t err_len)
{
    ND_ASSERT(p != NULL && s != NULL);
    ND_ASSERT(spec != NULL && who != NULL);
    json_t *params = json_loads(spec->params, 0, NULL);
    nd_pipeline_spec_t canon = *spec; /* the id is over the canonical params text */
    char *text = json_is_object(params) ? params_text(params) : NULL;
    bool params_ok = text && strlen(text) < sizeof canon.params;
    if (params_ok)
        memcpy(canon.params, text, strlen(text) + 1);
    free(text); /* tidy:allow jansson allocates with the C library */
    spec = &canon;
    if (nd_pipeline_version_id(spec, id) != ND_OK || !params_ok) {
        json_decref(params);
        nd_err_put(err, err_len, "version of %s: %s", spec->strategy[0] ? spec->strategy : "?",
                   params_ok ? "strategy, kind, params and code hash are all required"
                             : "params must be a JSON object of at most 2047 bytes");
        return ND_EINVAL;
    }
    if (!actor_ok(who, false, err, err_len)) {
        json_decref(params);
        return ND_EINVAL;
    }
    *added = false;
    if (find_mut(p, id)) {
        json_decref(params);
        return ND_OK;
    }
    pending_t pd = {0};
    json_t *extra = json_pack("{s:s, s:s, s:o, s:s}", "kind", spec->kind, "spec", spec->spec,
                              "params", params, "code_hash", spec->code_hash);
    nd_err_t rc = pending_add(&pd, "registered", id, spec, ND_STAGE_DEV, ND_STAGE_DEV, who, false,
                              extra);
    if (rc == ND_OK)
        rc = pending_commit(p, s, &pd, err, err_len);
    pending_free(&pd);
    *added = rc == ND_OK;
    return rc;
}

/* ---- promotion, demotion, rollback -------------------------------------------------------- */

static json_t *gates_json(const nd_pipeline_gates_t *g)
{
    json_t *o = json_object();
    for (int k = 0; k < ND_GATE_COUNT; k++) {
        if (!g->gate[k].applies)
            continue;
        json_object_set_new(o, nd_pipeline_gate_name((nd_pipeline_gate_t)k),
                            json_pack("{s:b, s:s}", "passed", g->gate[k].passed, "reason",
                                      g->gate[k].reason));
    }
    return o;
}

static nd_err_t demote(nd_pipeline_t *p, nd_store_t *s, nd_pipeline_version_t *v,
                       nd_pipeline_stage_t to, const nd_pipeline_actor_t *who, char *err,
                       size_t err_len)
{
    if (!actor_ok(who, false, err, err_len))
        return ND_EINVAL;
    pending_t pd = {0};
    nd_err_t rc = pending_add(&pd, "demoted", v->id, &v->spec, v->stage, to, who, false, NULL);
    return rc == ND_OK ? pending_commit(p, s, &pd, err, err_len) : rc;
}

/* Refuses what no promotion can do; ND_OK when v may be promoted (or demoted) to to. */
static nd_err_t promote_check(const nd_pipeline_version_t *v, nd_pipeline_stage_t to,
                              const nd_pipeline_actor_t *who, char *err, size_t err_len)
{
    if ((int)to < 0 || to >= ND_STAGE_RETIRED) {
        nd_err_put(err, err_len, "%s: a version retires only when another of its strategy is "
                   "promoted to production", v->id);
        return ND_ESTATE;
    }
    if (to == v->stage) {
        nd_err_put(err, err_len, "%s is in %s already", v->id, nd_pipeline_stage_name(to));
        return ND_ESTATE;
    }
    if (v->stage == ND_STAGE_RETIRED && to == ND_STAGE_PRODUCTION) {
        nd_err_put(err, err_len, "%s is retired: noderr rollback --strategy %s --to %s brings it "
                   "back", v->id, v->spec.strategy, v->id);
        return ND_ESTATE;
    }
    if (to > v->stage && v->stage != ND_STAGE_RETIRED && to > v->stage + 1 && !who->force) {
        nd_err_put(err, err_len, "%s: %s -> %s skips %s: promote one stage at a time, or "
                   "--force with your name and a reason", v->id, nd_pipeline_stage_name(v->stage),
                   nd_pipeline_stage_name(to), nd_pipeline_stage_name(v->stage + 1));
        return ND_ESTATE;
    }
    return ND_OK;
}

nd_err_t nd_pipeline_promote(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_config_t *cfg,
                             const char *id, nd_pipeline_stage_t to, nd_pipeline_evidence_t *ev,
                             const nd_pipeline_actor_t *who, nd_pipeline_gates_t *gates,
                             char *err, size_t err_len)
{
    ND_ASSERT(p != NULL && s != NULL && cfg != NULL);
    ND_ASSERT(ev != NULL && who != NULL);
    nd_pipeline_version_t *v = find_mut(p, id);
    if (!v) {
        nd_err_put(err, err_len, "no version %s in the pipeline (noderr pipeline register adds "
                   "a config's versions)", id ? id : "");
        return ND_ENOTFOUND;
    }
    nd_err_t rc = promote_check(v, to, who, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (to < v->stage || v->stage == ND_STAGE_RETIRED)
        return demote(p, s, v, to, who, err, err_len);
    nd_pipeline_gates_t local;
    nd_pipeline_gates_t *g = gates ? gates : &local;
    ev->stage_since_ns = v->stage_since_ns;
    bool passed = nd_pipeline_gates_eval(cfg, v->stage, ev, g);
    bool skip = to > v->stage + 1;
    if (!passed && !who->force) {
        char failed[768];
        nd_pipeline_gates_failed_text(g, failed, sizeof failed);
        nd_err_put(err, err_len, "%s: %s -> %s refused: %s", v->id,
                   nd_pipeline_stage_name(v->stage), nd_pipeline_stage_name(to), failed);
        return ND_EDECLINED;
    }
    if (!actor_ok(who, who->force, err, err_len))
        return ND_EINVAL;
    pending_t pd = {0};
    nd_pipeline_version_t *prod = to == ND_STAGE_PRODUCTION
        ? (nd_pipeline_version_t *)nd_pipeline_in_stage(p, v->spec.strategy, ND_STAGE_PRODUCTION)
        : NULL;
    char replaced[96];
    snprintf(replaced, sizeof replaced, "replaced in production by %s", v->id);
    nd_pipeline_actor_t retire_who = *who;
    retire_who.reason = replaced;
    rc = prod ? pending_add(&pd, "retired", prod->id, &prod->spec, ND_STAGE_PRODUCTION,
                            ND_STAGE_RETIRED, &retire_who, false, NULL)
              : ND_OK;
    if (rc == ND_OK)
        rc = pending_add(&pd, "promoted", v->id, &v->spec, v->stage, to, who,
                         who->force && (skip || !passed), json_pack("{s:o}", "gates",
                                                                    gates_json(g)));
    if (rc == ND_OK)
        rc = pending_commit(p, s, &pd, err, err_len);
    pending_free(&pd);
    return rc;
}

static nd_err_t rollback_target(nd_pipeline_t *p, const char *strategy, const char *to_id,
                                nd_pipeline_version_t **out, char *err, size_t err_len)
{
    nd_pipeline_version_t *t = to_id ? find_mut(p, to_id)
        : (nd_pipeline_version_t *)nd_pipeline_in_stage(p, strategy, ND_STAGE_RETIRED);
    if (!t) {
        nd_err_put(err, err_len, to_id ? "no version %s in the pipeline"
                   : "%s has no retired version to go back to", to_id ? to_id : strategy);
        return ND_ENOTFOUND;
    }
    if (t->stage != ND_STAGE_RETIRED || strcmp(t->spec.strategy, strategy) != 0) {
        nd_err_put(err, err_len, "%s is a %s version in %s, not a retired version of %s", t->id,
                   t->spec.strategy, nd_pipeline_stage_name(t->stage), strategy);
        return ND_ESTATE;
    }
    *out = t;
    return ND_OK;
}

nd_err_t nd_pipeline_rollback(nd_pipeline_t *p, nd_store_t *s, const nd_pipeline_config_t *cfg,
                              const char *strategy, const char *to_id,
                              const nd_pipeline_actor_t *who, int64_t current_share_e6,
                              nd_pipeline_rollback_t *out, char *err, size_t err_len)
{
    ND_ASSERT(p != NULL && s != NULL && cfg != NULL);
    ND_ASSERT(strategy != NULL && who != NULL && out != NULL);
    if (!actor_ok(who, true, err, err_len))
        return ND_EINVAL;
    nd_pipeline_version_t *prod =
        (nd_pipeline_version_t *)nd_pipeline_in_stage(p, strategy, ND_STAGE_PRODUCTION);
    if (!prod) {
        nd_err_put(err, err_len, "%s has no version in production to roll back", strategy);
        return ND_ENOTFOUND;
    }
    nd_pipeline_version_t *target = NULL;
    nd_err_t rc = rollback_target(p, strategy, to_id, &target, err, err_len);
    if (rc != ND_OK)
        return rc;
    char from_id[ND_PIPELINE_ID_LEN + 1], to[ND_PIPELINE_ID_LEN + 1];
    memcpy(from_id, prod->id, sizeof from_id);
    memcpy(to, target->id, sizeof to);
    pending_t pd = {0};
    rc = pending_add(&pd, "demoted", prod->id, &prod->spec, ND_STAGE_PRODUCTION, ND_STAGE_DEV,
                     who, false, json_pack("{s:s}", "rollback_to", to));
    if (rc == ND_OK)
        rc = pending_add(&pd, "rolled_back", target->id, &target->spec, ND_STAGE_RETIRED,
                         ND_STAGE_PRODUCTION, who, false, json_pack("{s:s}", "replaces", from_id));
    if (rc == ND_OK)
        rc = pending_commit(p, s, &pd, err, err_len);
    pending_free(&pd);
    if (rc != ND_OK)
        return rc;
    const nd_pipeline_version_t *now = nd_pipeline_find(p, to); /* versions may have moved */
    ND_ASSERT(now != NULL && now->stage == ND_STAGE_PRODUCTION);
    memset(out, 0, sizeof *out);
    memcpy(out->from_id, from_id, sizeof out->from_id);
    memcpy(out->to_id, to, sizeof out->to_id);
    out->spec = now->spec;
    out->share_e6 = (int64_t)((__int128)current_share_e6 * cfg->rollback_share_e6 / 1000000);
    return ND_OK;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static json_t *version_json(const nd_pipeline_version_t *v)
{
    json_t *hist = json_array();
    for (uint32_t k = 0; k < v->history_count; k++) {
        const nd_pipeline_transition_t *t = &v->history[k];
        json_array_append_new(
            hist, json_pack("{s:I, s:o, s:s, s:s, s:s, s:b, s:s, s:s}", "seq", (json_int_t)t->seq,
                            "at", nd_json_time(t->ts_ns), "event", t->event, "from",
                            nd_pipeline_stage_name(t->from), "to", nd_pipeline_stage_name(t->to),
                            "forced", t->forced, "who", t->who, "reason", t->reason));
    }
    json_t *params = json_loads(v->spec.params, 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o}", "id", v->id, "strategy",
                     v->spec.strategy, "kind", v->spec.kind, "spec", v->spec.spec, "params",
                     params ? params : json_object(), "code_hash", v->spec.code_hash, "stage",
                     nd_pipeline_stage_name(v->stage), "since", nd_json_time(v->stage_since_ns),
                     "history", hist);
}

json_t *nd_pipeline_json(const nd_pipeline_t *p)
{
    ND_ASSERT(p != NULL);
    json_t *list = json_array();
    for (size_t k = 0; k < p->count; k++)
        json_array_append_new(list, version_json(&p->versions[k]));
    return json_pack("{s:o}", "versions", list);
}
