/* test_dashboard.c: the dashboard's snapshot part (attribution adds up, heatmap rows, VaR),
 * deltas (only changed paths, stable bytes, apply(a, delta(a, b)) == b on seeded random
 * documents), the bearer token file (created 0600, reloaded, refused when readable by others
 * or malformed), the Authorization and Origin checks, control requests and the config; the
 * dashboard on a thread of its own (its hooks run on the engine's loop's thread only, requests
 * refused with 409 once the engine side stopped; with no page, a snapshot a second). */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/dashboard.h"
#include "noderr/fixed.h"
#include "noderr/rand.h"
#include "noderr/venue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define U 100000000LL
#define T0 (1577836800LL * ND_NS_PER_SEC)

static char *dumps(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    cr_assert_not_null(j, "%s: %s", text, e.text);
    return j;
}

static void expect_delta(const char *a, const char *b, const char *want)
{
    json_t *ja = load(a), *jb = load(b);
    json_t *d = nd_dashboard_delta(ja, jb);
    char *got = dumps(d);
    cr_assert_str_eq(got, want);
    char err[256] = "";
    cr_assert_eq(nd_dashboard_apply(&ja, d, err, sizeof err), ND_OK, "%s", err);
    cr_assert(json_equal(ja, jb), "apply(%s, %s) gave %s", a, got, dumps(ja));
    free(got);
    json_decref(d);
    json_decref(ja);
    json_decref(jb);
}

Test(dashboard, delta_sends_only_changed_paths)
{
    expect_delta("{\"a\":1,\"b\":{\"c\":\"x\"}}", "{\"a\":1,\"b\":{\"c\":\"x\"}}", "[]");
    expect_delta("{\"a\":1,\"b\":{\"c\":\"x\"}}", "{\"a\":2,\"b\":{\"c\":\"x\"}}",
                 "[{\"p\":\"/a\",\"v\":2}]");
    expect_delta("{\"a\":1,\"z\":3}", "{\"b\":2,\"z\":3}",
                 "[{\"p\":\"/a\"},{\"p\":\"/b\",\"v\":2}]");
    expect_delta("{\"l\":[1,2,3]}", "{\"l\":[1,5,3]}", "[{\"p\":\"/l/1\",\"v\":5}]");
    expect_delta("{\"l\":[1,2,3]}", "{\"l\":[1,2]}", "[{\"p\":\"/l\",\"v\":[1,2]}]");
    expect_delta("{\"l\":[{\"q\":\"1\"}]}", "{\"l\":[{\"q\":\"2\"}]}",
                 "[{\"p\":\"/l/0/q\",\"v\":\"2\"}]");
    expect_delta("{\"a/b\":1,\"c~d\":1}", "{\"a/b\":2,\"c~d\":2}",
                 "[{\"p\":\"/a~1b\",\"v\":2},{\"p\":\"/c~0d\",\"v\":2}]");
    expect_delta("{\"a\":1}", "{\"a\":{\"b\":1}}", "[{\"p\":\"/a\",\"v\":{\"b\":1}}]");
    expect_delta("{\"a\":null}", "{\"a\":false}", "[{\"p\":\"/a\",\"v\":false}]");
    expect_delta("[1]", "{\"a\":1}", "[{\"p\":\"\",\"v\":{\"a\":1}}]");
}

Test(dashboard, delta_from_nothing_is_the_whole_document)
{
    json_t *b = load("{\"x\":[1,{\"y\":2}]}");
    json_t *d = nd_dashboard_delta(NULL, b);
    char *got = dumps(d);
    cr_assert_str_eq(got, "[{\"p\":\"\",\"v\":{\"x\":[1,{\"y\":2}]}}]");
    json_t *doc = NULL;
    char err[128];
    cr_assert_eq(nd_dashboard_apply(&doc, d, err, sizeof err), ND_OK);
    cr_assert(json_equal(doc, b));
    free(got);
    json_decref(d);
    json_decref(doc);
    json_decref(b);
}

Test(dashboard, apply_refuses_paths_that_do_not_exist)
{
    json_t *doc = load("{\"a\":{\"b\":[1,2]}}");
    char err[256];
    const char *bad[] = {"[{\"p\":\"/x/y\",\"v\":1}]", "[{\"p\":\"/a/b/5\",\"v\":1}]",
                         "[{\"p\":\"/a/b/01\",\"v\":1}]", "[{\"p\":\"a\",\"v\":1}]",
                         "[{\"p\":\"/a/~2\",\"v\":1}]", "[{\"v\":1}]", "{}", "[{\"p\":\"\"}]"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        json_t *d = load(bad[k]);
        err[0] = '\0';
        cr_assert_eq(nd_dashboard_apply(&doc, d, err, sizeof err), ND_EINVAL, "%s", bad[k]);
        cr_assert(err[0] != '\0', "%s: no reason", bad[k]);
        json_decref(d);
    }
    json_decref(doc);
}

/* A random JSON value of depth <= depth from a small alphabet, so two draws share structure. */
static json_t *random_value(nd_rand_t *r, int depth)
{
    uint64_t kind = nd_rand_below(r, depth > 0 ? 6 : 4);
    static const char *const keys[] = {"a", "b", "c/d", "e~f", "g"};
    switch (kind) {
    case 0: return json_integer((json_int_t)(nd_rand_below(r, 4)));
    case 1: return json_string(keys[nd_rand_below(r, 5)]);
    case 2: return json_null();
    case 3: return json_boolean(nd_rand_below(r, 2));
    case 4: {
        json_t *a = json_array();
        for (uint64_t k = nd_rand_below(r, 4); k > 0; k--)
            json_array_append_new(a, random_value(r, depth - 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t k = nd_rand_below(r, 5); k > 0; k--)
            json_object_set_new(o, keys[nd_rand_below(r, 5)], random_value(r, depth - 1));
        return o;
    }
    }
}

Test(dashboard, apply_of_delta_gives_the_next_document_on_random_pairs)
{
    uint64_t seed = 20261207;
    printf("test_dashboard: random pairs, seed=%llu\n", (unsigned long long)seed);
    nd_rand_t r;
    nd_rand_init(&r, seed);
    for (int k = 0; k < 2000; k++) {
        json_t *a = random_value(&r, 4), *b = random_value(&r, 4);
        json_t *d1 = nd_dashboard_delta(a, b), *d2 = nd_dashboard_delta(a, b);
        char *t1 = dumps(d1), *t2 = dumps(d2);
        cr_assert_str_eq(t1, t2, "seed=%llu pair %d: not deterministic", (unsigned long long)seed,
                         k);
        json_t *doc = json_deep_copy(a);
        char err[256] = "";
        cr_assert_eq(nd_dashboard_apply(&doc, d1, err, sizeof err), ND_OK,
                     "seed=%llu pair %d: %s", (unsigned long long)seed, k, err);
        cr_assert(json_equal(doc, b), "seed=%llu pair %d: %s", (unsigned long long)seed, k, t1);
        free(t1);
        free(t2);
        json_decref(d1);
        json_decref(d2);
        json_decref(doc);
        json_decref(a);
        json_decref(b);
    }
}

/* ---- The engine's part -------------------------------------------------------------------- */

static int target_first;

static size_t buyer_size(const double *params)
{
    (void)params;
    return sizeof(uint32_t);
}

static nd_err_t buyer_start(void *state, const double *params, uint32_t inst,
                            nd_strategy_ctx_t *ctx)
{
    (void)params;
    (void)ctx;
    *(uint32_t *)state = inst;
    return ND_OK;
}

static void buyer_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    (void)bar;
    if (target_first)
        ctx->target(ctx, *(uint32_t *)state, 1);
}

static const nd_strategy_def_t buyer_def = {.name = "buyer", .summary = "buys one",
                                            .state_size = buyer_size, .on_start = buyer_start,
                                            .on_bar = buyer_bar};
static const nd_strategy_def_t idle_def = {.name = "idle", .summary = "does nothing",
                                           .state_size = buyer_size, .on_start = buyer_start};

static nd_engine_t *make_engine(nd_clock_sim_t *clock)
{
    static nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.sizing = (nd_sizing_t){ND_SIZING_FIXED, 0, U};
    nd_clock_sim_init(clock, T0);
    char err[256];
    nd_engine_t *e = NULL;
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock->clock, &e, err, sizeof err), ND_OK,
                 "%s", err);
    static const double no_params[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(e, &buyer_def, no_params, 0, 500000, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_engine_add_strategy(e, &idle_def, no_params, 0, 500000, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_engine_start(e, err, sizeof err), ND_OK, "%s", err);
    return e;
}

Test(dashboard, engine_part_attributes_and_maps_risk)
{
    nd_clock_sim_t clock;
    target_first = 1;
    nd_engine_t *e = make_engine(&clock);
    nd_dashboard_state_t st;
    nd_dashboard_state_init(&st);
    for (int k = 0; k < 4; k++) {
        nd_bar_t bar = {T0 + k * ND_NS_PER_HOUR, (100 + k) * U, (100 + k) * U, (100 + k) * U,
                        (100 + k) * U, 1000 * U, 0, 0};
        cr_assert_eq(nd_clock_sim_set(&clock, bar.ts_ns), ND_OK);
        cr_assert_eq(nd_engine_on_bar(e, &bar), ND_OK);
        nd_dashboard_sample(&st, e);
    }
    json_t *j = nd_dashboard_engine_json(e, 1, &st);
    json_t *by_strategy = json_object_get(json_object_get(j, "attribution"), "strategy");
    cr_assert_eq(json_array_size(by_strategy), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(by_strategy, 0), "name")),
                     "buyer");
    /* The buyer holds one BTC bought at 101, marked at 103: 2 of unrealised P&L less fees. */
    const char *net = json_string_value(json_object_get(json_array_get(by_strategy, 0), "net"));
    const char *idle = json_string_value(json_object_get(json_array_get(by_strategy, 1), "net"));
    cr_assert_not_null(net);
    cr_assert_str_eq(idle, "0");
    nd_attribution_t a;
    nd_portfolio_by_strategy(nd_engine_portfolio(e), 0, &a);
    cr_assert_gt(a.unrealized, 0);
    json_t *venue = json_object_get(json_object_get(j, "attribution"), "venue");
    cr_assert_eq(json_array_size(venue), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(venue, 0), "net")), net);
    json_t *heat = json_object_get(j, "heatmap");
    cr_assert_eq(json_array_size(heat), 4); /* the session, two strategies, one asset */
    json_t *row = json_array_get(heat, 1);
    cr_assert_str_eq(json_string_value(json_object_get(row, "kind")), "strategy");
    /* One BTC at 103 in a 5,000 sleeve is 2.06% of it, 8.24% of the 25% position limit. */
    double exposure = json_real_value(json_object_get(row, "exposure"));
    cr_assert(exposure > 0.08 && exposure < 0.085, "%s", dumps(row));
    cr_assert(json_is_null(json_object_get(j, "var_95")), "4 samples are too few for a VaR");
    cr_assert_eq(json_array_size(json_object_get(j, "breakers")), 0);
    char *t1 = dumps(j);
    json_t *again = nd_dashboard_engine_json(e, 1, &st);
    char *t2 = dumps(again);
    cr_assert_str_eq(t1, t2);
    free(t1);
    free(t2);
    json_decref(j);
    json_decref(again);
    cr_assert_eq(nd_dashboard_strategy_find(e, "idle"), 1);
    cr_assert_eq(nd_dashboard_strategy_find(e, "0"), 0);
    cr_assert_eq(nd_dashboard_strategy_find(e, "2"), -1);
    cr_assert_eq(nd_dashboard_strategy_find(e, "nope"), -1);
    nd_engine_destroy(e);
}

Test(dashboard, var_is_the_fifth_percentile_loss)
{
    nd_dashboard_state_t st;
    nd_dashboard_state_init(&st);
    double var = -1;
    cr_assert_not(nd_dashboard_var_95(&st, &var));
    /* Returns alternate +1% and -2% around 1,000,000: the 5th percentile loss is 2%. */
    int64_t equity = 1000000 * U;
    for (int k = 0; k < 300; k++) {
        st.equity[st.head] = equity;
        st.head = (st.head + 1) % (ND_DASHBOARD_VAR_SAMPLES + 1);
        if (st.count < ND_DASHBOARD_VAR_SAMPLES + 1)
            st.count++;
        equity = k % 2 ? equity * 98 / 100 : equity * 101 / 100;
    }
    cr_assert(nd_dashboard_var_95(&st, &var));
    cr_assert_float_eq(var, 0.02, 1e-9);
}

/* ---- Token, Authorization, Origin ---------------------------------------------------------- */

Test(dashboard, token_is_created_private_and_reloaded)
{
    char dir[] = "/tmp/nd-dash-XXXXXX", path[64], err[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/dashboard.token", dir);
    nd_dashboard_token_t a, b;
    cr_assert_eq(nd_dashboard_token_load(dir, &a, err, sizeof err), ND_OK, "%s", err);
    struct stat s;
    cr_assert_eq(stat(path, &s), 0);
    cr_assert_eq(s.st_mode & 0777, 0600);
    cr_assert_eq(strlen(a.token), ND_DASHBOARD_TOKEN_HEX);
    cr_assert_eq(strlen(a.id), 8);
    cr_assert(strstr(a.token, a.id) == NULL || strncmp(a.token, a.id, 8) != 0,
              "the id must not be a prefix of the token");
    cr_assert_eq(nd_dashboard_token_load(dir, &b, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(a.token, b.token);
    cr_assert_str_eq(a.id, b.id);
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(nd_dashboard_token_load(dir, &b, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "0600") != NULL, "%s", err);
    cr_assert_eq(chmod(path, 0600), 0);
    FILE *f = fopen(path, "w");
    fputs("not-a-token\n", f);
    fclose(f);
    cr_assert_eq(nd_dashboard_token_load(dir, &b, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "64 hex digits") != NULL, "%s", err);
    unlink(path);
    rmdir(dir);
}

Test(dashboard, authorization_needs_the_exact_bearer_token)
{
    nd_dashboard_token_t t = {0};
    memset(t.token, 'a', ND_DASHBOARD_TOKEN_HEX);
    char header[128];
    snprintf(header, sizeof header, "Bearer %s", t.token);
    cr_assert(nd_dashboard_auth_ok(&t, header));
    cr_assert_not(nd_dashboard_auth_ok(&t, NULL));
    cr_assert_not(nd_dashboard_auth_ok(&t, ""));
    cr_assert_not(nd_dashboard_auth_ok(&t, t.token));
    cr_assert_not(nd_dashboard_auth_ok(&t, "Bearer "));
    header[20] = 'b';
    cr_assert_not(nd_dashboard_auth_ok(&t, header));
    header[20] = 'a';
    strcat(header, "a");
    cr_assert_not(nd_dashboard_auth_ok(&t, header));
    header[strlen(header) - 2] = '\0';
    cr_assert_not(nd_dashboard_auth_ok(&t, header));
}

Test(dashboard, origin_must_be_the_servers_own)
{
    cr_assert(nd_dashboard_origin_ok("http://127.0.0.1:8090", "127.0.0.1:8090", false));
    cr_assert(nd_dashboard_origin_ok("https://127.0.0.1:8090", "127.0.0.1:8090", true));
    cr_assert_not(nd_dashboard_origin_ok("http://127.0.0.1:8090", "127.0.0.1:8090", true));
    cr_assert_not(nd_dashboard_origin_ok("http://evil.example", "127.0.0.1:8090", false));
    cr_assert_not(nd_dashboard_origin_ok("http://127.0.0.1:8091", "127.0.0.1:8090", false));
    cr_assert_not(nd_dashboard_origin_ok("http://127.0.0.1:8090.evil", "127.0.0.1:8090", false));
    cr_assert_not(nd_dashboard_origin_ok(NULL, "127.0.0.1:8090", false));
    cr_assert_not(nd_dashboard_origin_ok("null", "127.0.0.1:8090", false));
    cr_assert_not(nd_dashboard_origin_ok("http://127.0.0.1:8090", NULL, false));
}

/* ---- Controls and config ------------------------------------------------------------------- */

Test(dashboard, control_requests_parse_and_refuse_bad_bodies)
{
    nd_dashboard_control_t c;
    char err[256];
    cr_assert_eq(nd_dashboard_control_parse("/api/kill", "", 0, &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.action, ND_DASHBOARD_KILL);
    cr_assert_str_eq(nd_dashboard_action_name(c.action), "kill_switch");
    const char *body = "{\"strategy\":\"quote_maker\"}";
    cr_assert_eq(nd_dashboard_control_parse("/api/strategy/pause", body, strlen(body), &c, err,
                                            sizeof err), ND_OK, "%s", err);
    cr_assert_eq(c.action, ND_DASHBOARD_PAUSE);
    cr_assert_str_eq(c.strategy, "quote_maker");
    cr_assert_eq(nd_dashboard_control_parse("/api/strategy/resume", "", 0, &c, err, sizeof err),
                 ND_EINVAL);
    body = "{\"strategy\":\"x\",\"force\":true}";
    cr_assert_eq(nd_dashboard_control_parse("/api/strategy/pause", body, strlen(body), &c, err,
                                            sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "body.force: unknown key") != NULL, "%s", err);
    body = "{\"strategy\":3}";
    cr_assert_eq(nd_dashboard_control_parse("/api/promote", body, strlen(body), &c, err,
                                            sizeof err), ND_EINVAL);
    cr_assert_eq(nd_dashboard_control_parse("/api/kill", "{", 1, &c, err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_dashboard_control_parse("/api/nope", "", 0, &c, err, sizeof err),
                 ND_ENOTFOUND);
}

static nd_err_t parse_config(const char *text, nd_dashboard_config_t *out, char *err,
                             size_t err_len)
{
    json_t *j = load(text);
    nd_err_t rc = nd_dashboard_config_parse(j, "paper.json: dashboard", out, err, err_len);
    json_decref(j);
    return rc;
}

Test(dashboard, config_defaults_to_loopback_and_names_bad_keys)
{
    nd_dashboard_config_t c;
    char err[256];
    cr_assert_eq(parse_config("{}", &c, err, sizeof err), ND_OK, "%s", err);
    cr_assert(c.on);
    cr_assert_not(c.listen_given);
    cr_assert_str_eq(c.server.listen, "127.0.0.1:0");
    cr_assert_eq(c.updates_per_sec, 10);
    cr_assert_eq(parse_config("{\"listen\": \"0.0.0.0:8090\", \"updates_per_sec\": 5}", &c, err,
                              sizeof err), ND_OK, "%s", err);
    cr_assert(c.listen_given);
    cr_assert_str_eq(c.server.listen, "0.0.0.0:8090");
    struct {
        const char *text, *want;
    } bad[] = {
        {"{\"listn\": \"x\"}", "paper.json: dashboard.listn: unknown key"},
        {"{\"listen\": \"8090\"}", "paper.json: dashboard.listen: '8090' is not HOST:PORT"},
        {"{\"listen\": \"127.0.0.1:70000\"}", "paper.json: dashboard.listen: '127.0.0.1:70000'"},
        {"{\"tls_cert\": \"c.pem\"}", "paper.json: dashboard.tls_key: TLS needs both"},
        {"{\"updates_per_sec\": 500}", "paper.json: dashboard.updates_per_sec"},
        {"[]", "paper.json: dashboard: must be an object"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_eq(parse_config(bad[k].text, &c, err, sizeof err), ND_EINVAL, "%s", bad[k].text);
        cr_assert(strstr(err, bad[k].want) != NULL, "%s: %s", bad[k].text, err);
    }
}

/* ---- The dashboard on a thread of its own ---------------------------------------------------- */

typedef struct engine_side {
    pthread_t engine;      /* the thread the hooks must run on */
    int snapshots, controls, wrong_thread;
} engine_side_t;

static json_t *thread_snapshot(void *ctx)
{
    engine_side_t *e = ctx;
    e->wrong_thread += !pthread_equal(pthread_self(), e->engine);
    e->snapshots++;
    return json_pack("{s:s}", "equity", "10000.5");
}

static int thread_control(void *ctx, const nd_dashboard_control_t *c, const char *token_id,
                          const char *peer, char *msg, size_t msg_len)
{
    engine_side_t *e = ctx;
    e->wrong_thread += !pthread_equal(pthread_self(), e->engine);
    e->controls++;
    snprintf(msg, msg_len, "%s by %s from %s", nd_dashboard_action_name(c->action), token_id,
             peer);
    return 200;
}

typedef struct http_client {
    char url[128];
    const char *token;
    uv_async_t done;
    int status[3];
    char body[3][256];
} http_client_t;

/* GET /api/snapshot, POST /api/kill with the token and without: statuses and bodies. */
static void *thread_client(void *arg)
{
    http_client_t *c = arg;
    nd_http_t *http;
    nd_http_response_t r;
    char url[192], auth[128], err[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    const char *with[] = {auth, NULL};
    struct { const char *method, *path, **headers; } req[3] = {
        {"GET", "/api/snapshot", NULL}, {"POST", "/api/kill", with}, {"POST", "/api/kill", NULL}};
    if (nd_http_create(5000, &http) != ND_OK)
        return NULL;
    for (int k = 0; k < 3; k++) {
        snprintf(url, sizeof url, "%s%s", c->url, req[k].path);
        if (nd_http_request(http, req[k].method, url, req[k].headers,
                            req[k].method[0] == 'P' ? "" : NULL, &r, err, sizeof err) != ND_OK)
            continue;
        c->status[k] = r.status;
        snprintf(c->body[k], sizeof c->body[k], "%.*s", (int)r.body_len, r.body ? r.body : "");
        nd_http_response_free(&r);
    }
    nd_http_destroy(http);
    uv_async_send(&c->done);
    return NULL;
}

static void stop_on_done(uv_async_t *a)
{
    uv_stop(a->loop);
}

static void run_thread_client(uv_loop_t *loop, http_client_t *c, bool engine_runs)
{
    uv_async_init(loop, &c->done, stop_on_done);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, thread_client, c), 0);
    if (engine_runs)
        uv_run(loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    uv_close((uv_handle_t *)&c->done, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

Test(dashboard, thread_carries_requests_to_the_engine_loop)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    engine_side_t e = {.engine = pthread_self()};
    nd_dashboard_hooks_t hooks = {.snapshot_cb = thread_snapshot, .control_cb = thread_control,
                                  .ctx = &e};
    nd_dashboard_config_t dc = {.on = true, .updates_per_sec = 10, .clients_max = 4};
    nd_dashboard_token_t token = {.id = "12345678"};
    memset(token.token, 'b', ND_DASHBOARD_TOKEN_HEX);
    nd_httpd_config_t hc = {.listen = "127.0.0.1:0"};
    nd_dashboard_thread_t *t = NULL;
    char err[256] = "";
    cr_assert_eq(nd_dashboard_thread_start(&hc, &dc, &token, &hooks, &loop, &t, err, sizeof err),
                 ND_OK, "%s", err);
    http_client_t c = {.token = token.token};
    nd_dashboard_thread_url(t, c.url, sizeof c.url);
    cr_assert(strncmp(c.url, "http://127.0.0.1:", 17) == 0, "%s", c.url);
    run_thread_client(&loop, &c, true);
    cr_assert_eq(c.status[0], 200, "%s", c.body[0]);
    cr_assert(strstr(c.body[0], "\"equity\":\"10000.5\"") != NULL, "%s", c.body[0]);
    cr_assert_eq(c.status[1], 200, "%s", c.body[1]);
    cr_assert(strstr(c.body[1], "kill_switch by 12345678 from 127.0.0.1") != NULL, "%s",
              c.body[1]);
    cr_assert_eq(c.status[2], 401, "%s", c.body[2]);
    cr_assert_eq(e.snapshots, 1);
    cr_assert_eq(e.controls, 1);
    cr_assert_eq(e.wrong_thread, 0);
    for (int k = 0; k < 10; k++) /* no WebSocket client: one in updates_per_sec builds one */
        nd_dashboard_thread_publish(t);
    cr_assert_eq(e.snapshots, 2);
    /* Stopped: the engine's loop no longer answers; the thread says so at once. */
    nd_dashboard_thread_stop(t);
    http_client_t after = {.token = token.token};
    snprintf(after.url, sizeof after.url, "%s", c.url);
    run_thread_client(&loop, &after, false);
    cr_assert_eq(after.status[0], 503, "%s", after.body[0]);
    cr_assert_eq(after.status[1], 409, "%s", after.body[1]);
    cr_assert(strstr(after.body[1], "stopping") != NULL, "%s", after.body[1]);
    cr_assert_eq(e.controls, 1);
    nd_dashboard_thread_destroy(t);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
