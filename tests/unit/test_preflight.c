/* test_preflight.c: the launcher's preflight checks one at a time (preflight.h), each passing
 * and failing: the "preflight" settings and their errors, risk limits at and around the seed's
 * bounds, secrets by mode and file mode, the store (a temp SQLite file, a store that cannot
 * write, none), disk and memory headroom, validate reports, the compliance profile, the kill
 * switch's dry fire, the pinned hashes, and the venue checks against a closed port. The venue
 * checks that pass need a venue: tests/integration/69_preflight.sh runs them on exchange-sim. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/preflight.h"
#include "noderr/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/nd_preflight_%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
    unsetenv("NODERR_BINANCE_API_KEY");
    unsetenv("NODERR_BINANCE_API_SECRET");
    unsetenv("NODERR_BINANCE_SECRETS_FILE");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(preflight, .init = setup, .fini = teardown);

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, mode), 0);
}

/* A config against a closed port with extra top-level keys; the strategy resolved as the CLI
 * resolves it. Returns the load and settings result. */
static nd_err_t load(const char *extra, const char *strategy, nd_live_config_t *cfg,
                     nd_preflight_settings_t *set, char *err, size_t err_len)
{
    char path[256], text[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"name\": \"t\", \"state_dir\": \"%s/state\","
             " \"venue\": {\"name\": \"binance\", \"rest_url\": \"http://127.0.0.1:9\","
             "  \"ws_url\": \"ws://127.0.0.1:9\", \"exchange_info\": false},"
             " \"symbol\": \"BTC/USDT\", \"strategies\": [{\"builtin\": \"%s\"}],"
             " \"capital\": {\"cash\": \"10000\", \"tick_size\": \"0.01\","
             "  \"lot_size\": \"0.00001\", \"min_notional\": \"5\"}%s%s}",
             dir, strategy, extra[0] ? ", " : "", extra);
    write_file(path, text, 0600);
    nd_err_t rc = nd_live_config_load(path, cfg, err, err_len);
    if (rc != ND_OK)
        return rc;
    const nd_strategy_def_t *def = nd_strategy_find(strategy);
    if (!def)
        def = nd_strategy_find_event(strategy);
    cr_assert_not_null(def, "%s", strategy);
    cfg->bt.strategies[0].def = def;
    nd_strategy_params_default(def, cfg->bt.strategies[0].params);
    cfg->bt.strategy_count = 1;
    return nd_preflight_settings_parse(cfg, set, err, err_len);
}

typedef struct fixture {
    nd_live_config_t cfg;
    nd_preflight_settings_t set;
    nd_preflight_report_t report;
} fixture_t;

/* Loads and runs one check; returns its outcome (the fixture is freed by done()). */
static const nd_preflight_outcome_t *run_one(fixture_t *f, const char *extra, const char *strategy,
                                             nd_preflight_check_t check)
{
    char err[512] = "";
    cr_assert_eq(load(extra, strategy, &f->cfg, &f->set, err, sizeof err), ND_OK, "%s", err);
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "test"};
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, 1u << check, &f->report), ND_OK);
    cr_assert(f->report.ran[check]);
    return &f->report.checks[check];
}

static fixture_t *fixture(void)
{
    fixture_t *f = nd_calloc(1, sizeof *f);
    cr_assert_not_null(f);
    return f;
}

static void done(fixture_t *f)
{
    nd_live_config_free(&f->cfg);
    nd_free(f);
}

#define EXPECT(o, st, text)                                                                      \
    do {                                                                                         \
        cr_assert_eq((o)->status, (st), "%s: %s", nd_preflight_status_name((o)->status),        \
                     (o)->reason);                                                               \
        cr_assert(strstr((o)->reason, (text)) != NULL, "reason '%s' lacks '%s'", (o)->reason,   \
                  (text));                                                                       \
        cr_assert_eq((o)->status == ND_PF_FAIL, (o)->hint[0] != '\0', "hint only on a failure");\
    } while (0)

/* Runs one check on a fresh fixture and expects its status and reason. */
static void expect(const char *extra, const char *strategy, nd_preflight_check_t check,
                   nd_preflight_status_t st, const char *text)
{
    fixture_t *f = fixture();
    const nd_preflight_outcome_t *o = run_one(f, extra, strategy, check);
    EXPECT(o, st, text);
    done(f);
}

Test(preflight, names_are_seventeen_distinct_and_parse_back)
{
    for (int k = 0; k < ND_PF_CHECK_COUNT; k++) {
        const char *name = nd_preflight_check_name((nd_preflight_check_t)k);
        cr_assert_not_null(name);
        nd_preflight_check_t back;
        cr_assert_eq(nd_preflight_check_parse(name, &back), ND_OK);
        cr_assert_eq(back, (nd_preflight_check_t)k);
        for (int j = 0; j < k; j++)
            cr_assert_str_neq(name, nd_preflight_check_name((nd_preflight_check_t)j));
    }
    cr_assert_null(nd_preflight_check_name(ND_PF_CHECK_COUNT));
    nd_preflight_check_t c;
    cr_assert_eq(nd_preflight_check_parse("nope", &c), ND_ENOTFOUND);
}

Test(preflight, settings_defaults_and_values)
{
    fixture_t *f = fixture();
    char err[512] = "";
    cr_assert_eq(load("", "quote_maker", &f->cfg, &f->set, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(f->set.live, false);
    cr_assert_eq(f->set.first_allocation, 500LL * 100000000); /* 5% of 10000 */
    cr_assert_eq(f->set.recv_window_ms, 5000);
    cr_assert_eq(f->set.max_drawdown_max, 1500);
    cr_assert_eq(f->set.max_position_max, 2500);
    cr_assert_eq(f->set.daily_loss_max, 500);
    nd_live_config_free(&f->cfg);
    cr_assert_eq(load("\"preflight\": {\"mode\": \"live\", \"first_allocation\": \"250.5\","
                      " \"recv_window_ms\": 10000, \"bounds\": {\"max_drawdown\": 0.1},"
                      " \"validate_reports\": [\"a.json\"], \"oracle\": {\"rpc_url\":"
                      " \"http://127.0.0.1:9\", \"feed\": \"ETH/USD\"}}",
                      "quote_maker", &f->cfg, &f->set, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(f->set.live, true);
    cr_assert_eq(f->set.first_allocation, 25050000000LL);
    cr_assert_eq(f->set.recv_window_ms, 10000);
    cr_assert_eq(f->set.max_drawdown_max, 1000);
    cr_assert_str_eq(f->set.validate_reports[0], "a.json");
    cr_assert_str_eq(f->set.oracle_feed, "ETH/USD");
    done(f);
}

static void bad_setting(const char *extra, const char *want)
{
    fixture_t *f = fixture();
    char err[512] = "";
    cr_assert_eq(load(extra, "quote_maker", &f->cfg, &f->set, err, sizeof err), ND_EINVAL,
                 "%s accepted", extra);
    cr_assert(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
    done(f);
}

Test(preflight, settings_errors_name_the_key)
{
    bad_setting("\"preflight\": {\"mode\": \"prod\"}", "preflight.mode: must be");
    bad_setting("\"preflight\": {\"modes\": \"live\"}", "preflight.modes: unknown key");
    bad_setting("\"preflight\": {\"bounds\": {\"max_drawdown\": 0.2}}",
                "preflight.bounds.max_drawdown: 0.2 is outside");
    bad_setting("\"preflight\": {\"pin\": {\"config_sha256\": \"abc\"}}",
                "preflight.pin.config_sha256: want 64");
    bad_setting("\"preflight\": {\"oracle\": {\"feed\": \"ETH/USD\"}}", "give rpc_url and feed");
    bad_setting("\"preflight\": 3", "preflight: must be an object");
}

Test(preflight, risk_limits_at_and_around_the_bounds)
{
    const nd_preflight_check_t c = ND_PF_RISK_LIMITS;
    expect("\"risk\": {\"max_drawdown\": 0.15, \"max_position\": 0.25, \"daily_loss\": 0.05}",
           "quote_maker", c, ND_PF_PASS, "max_drawdown 15.00% <= 15.00%");
    expect("\"risk\": {\"max_drawdown\": 0.1501}", "quote_maker", c, ND_PF_FAIL,
           "risk.max_drawdown 15.01% is outside (0, 15.00%]");
    expect("\"risk\": {\"max_drawdown\": 0.2}", "quote_maker", c, ND_PF_FAIL,
           "risk.max_drawdown 20.00% is outside");
    expect("\"risk\": {\"max_position\": 0.2501}", "quote_maker", c, ND_PF_FAIL,
           "risk.max_position 25.01%");
    expect("\"risk\": {\"daily_loss\": 0.0501}", "quote_maker", c, ND_PF_FAIL,
           "risk.daily_loss 5.01%");
    expect("\"risk\": {\"daily_loss\": 0}", "quote_maker", c, ND_PF_FAIL,
           "risk.daily_loss 0.00% is off");
    expect("\"risk\": {\"max_drawdown\": 0.0001}", "quote_maker", c, ND_PF_PASS, "0.01%");
    /* the config's own bounds tighten the seed's: 0.12 (the default) over 0.10 fails */
    expect("\"preflight\": {\"bounds\": {\"max_drawdown\": 0.1}}", "quote_maker", c, ND_PF_FAIL,
           "risk.max_drawdown 12.00% is outside (0, 10.00%]");
}

Test(preflight, secrets_by_mode_and_file_mode)
{
    const nd_preflight_check_t c = ND_PF_SECRETS;
    expect("", "quote_maker", c, ND_PF_SKIP, "paper mode");
    expect("\"preflight\": {\"mode\": \"live\"}", "quote_maker", c, ND_PF_FAIL, "no API key");
    char path[256], extra[512];
    snprintf(path, sizeof path, "%s/secrets", dir);
    write_file(path, "api_key=k\napi_secret=s\n", 0600);
    /* venue.secrets_file is inside "venue": rewrite the config with it through the env */
    setenv("NODERR_BINANCE_SECRETS_FILE", path, 1);
    snprintf(extra, sizeof extra, "\"preflight\": {\"mode\": \"live\"}");
    expect(extra, "quote_maker", c, ND_PF_PASS, "API key and secret");
    unsetenv("NODERR_BINANCE_SECRETS_FILE");
    setenv("NODERR_BINANCE_API_KEY", "k", 1);
    setenv("NODERR_BINANCE_API_SECRET", "s", 1);
    expect(extra, "quote_maker", c, ND_PF_PASS, "NODERR_BINANCE_* environment");
    unsetenv("NODERR_BINANCE_API_KEY");
    unsetenv("NODERR_BINANCE_API_SECRET");
}

Test(preflight, secrets_file_readable_by_others_fails)
{
    fixture_t *f = fixture();
    char err[512] = "", path[256];
    snprintf(path, sizeof path, "%s/secrets", dir);
    write_file(path, "api_key=k\napi_secret=s\n", 0644);
    cr_assert_eq(load("\"preflight\": {\"mode\": \"live\"}", "quote_maker", &f->cfg, &f->set, err,
                      sizeof err), ND_OK, "%s", err);
    snprintf(f->cfg.venues[0].secrets_file, sizeof f->cfg.venues[0].secrets_file, "%s", path);
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "test"};
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, 1u << ND_PF_SECRETS, &f->report), ND_OK);
    EXPECT(&f->report.checks[ND_PF_SECRETS], ND_PF_FAIL, "has mode 0644");
    cr_assert(strstr(f->report.checks[ND_PF_SECRETS].hint, "chmod 600"));
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, 1u << ND_PF_SECRETS, &f->report), ND_OK);
    EXPECT(&f->report.checks[ND_PF_SECRETS], ND_PF_PASS, "(owner-only mode)");
    done(f);
}

Test(preflight, store_writable_and_chain_verified)
{
    const nd_preflight_check_t c = ND_PF_STORE_AUDIT;
    char extra[512];
    snprintf(extra, sizeof extra, "\"store\": {\"url\": \"sqlite:%s/s.db\"}", dir);
    expect(extra, "quote_maker", c, ND_PF_PASS, "a preflight record written at seq 1");
    expect(extra, "quote_maker", c, ND_PF_PASS, "1 records verified"); /* and again */
    expect("\"store\": {\"url\": \"mem:?fail_after=0\"}", "quote_maker", c, ND_PF_FAIL,
           "cannot write");
    snprintf(extra, sizeof extra, "\"store\": {\"url\": \"sqlite:%s/no/such/dir/s.db\"}", dir);
    expect(extra, "quote_maker", c, ND_PF_FAIL, "cannot open");
    expect("", "quote_maker", c, ND_PF_SKIP, "no store.url");
    expect("\"preflight\": {\"mode\": \"live\"}", "quote_maker", c, ND_PF_FAIL, "no store.url");
}

Test(preflight, headroom_thresholds)
{
    const nd_preflight_check_t c = ND_PF_HEADROOM;
    expect("\"preflight\": {\"disk_free_mb_min\": 0, \"memory_free_mb_min\": 0}", "quote_maker",
           c, ND_PF_PASS, "MiB free");
    expect("\"preflight\": {\"disk_free_mb_min\": 999999999999}", "quote_maker", c, ND_PF_FAIL,
           "under 999999999999 MiB");
    expect("\"preflight\": {\"disk_free_mb_min\": 0, \"memory_free_mb_min\": 999999999999}",
           "quote_maker", c, ND_PF_FAIL, "memory available");
}

Test(preflight, validate_reports_per_strategy)
{
    const nd_preflight_check_t c = ND_PF_STRATEGIES_VALIDATED;
    expect("", "quote_maker", c, ND_PF_SKIP, "event-only");
    expect("", "sma_cross", c, ND_PF_FAIL, "no validate report");
    char path[256], extra[512], text[512];
    snprintf(path, sizeof path, "%s/v.json", dir);
    snprintf(extra, sizeof extra, "\"preflight\": {\"validate_reports\": [\"%s\"]}", path);
    const nd_strategy_def_t *def = nd_strategy_find("sma_cross");
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    int n = snprintf(text, sizeof text, "{\"strategy\": \"sma_cross\", \"params\": {");
    for (int k = 0; k < def->param_count; k++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s\"%s\": %.17g", k ? ", " : "",
                      def->params[k].name, params[k]);
    snprintf(text + n, sizeof text - (size_t)n, "}, \"passed\": 3, \"failed\": 0}");
    write_file(path, text, 0644);
    expect(extra, "sma_cross", c, ND_PF_PASS, "1 strategy passed validate");
    char *failed = strstr(text, "\"failed\": 0");
    failed[10] = '1';
    write_file(path, text, 0644);
    expect(extra, "sma_cross", c, ND_PF_FAIL, "1 scenarios failed");
    write_file(path, "{\"strategy\": \"sma_cross\", \"params\": {\"fast\": 12345},"
               " \"passed\": 3, \"failed\": 0}", 0644);
    expect(extra, "sma_cross", c, ND_PF_FAIL, "differs from strategies[0]");
    write_file(path, "{\"strategy\": \"rsi\", \"passed\": 3, \"failed\": 0}", 0644);
    expect(extra, "sma_cross", c, ND_PF_FAIL, "judges rsi");
}

Test(preflight, compliance_profile_and_metrics)
{
    expect("\"compliance\": {\"profile\": \"US\"}", "quote_maker", ND_PF_COMPLIANCE_PROFILE,
           ND_PF_PASS, "US: United States");
    expect("", "quote_maker", ND_PF_COMPLIANCE_PROFILE, ND_PF_SKIP, "no compliance.profile");
    expect("\"preflight\": {\"mode\": \"live\"}", "quote_maker", ND_PF_COMPLIANCE_PROFILE,
           ND_PF_FAIL, "no compliance.profile");
    expect("", "quote_maker", ND_PF_METRICS_ENDPOINT, ND_PF_SKIP, "no \"metrics\" endpoint");
    expect("\"preflight\": {\"mode\": \"live\"}", "quote_maker", ND_PF_METRICS_ENDPOINT,
           ND_PF_FAIL, "a live session must be monitored");
    expect("\"metrics\": {\"listen\": \"127.0.0.1:0\"}", "quote_maker", ND_PF_METRICS_ENDPOINT,
           ND_PF_PASS, "samples in the Prometheus text format");
}

Test(preflight, kill_switch_dry_fire)
{
    expect("\"risk\": {\"max_drawdown\": 0.15, \"max_position\": 0.25, \"daily_loss\": 0.05}",
           "quote_maker", ND_PF_KILL_SWITCH, ND_PF_PASS, "kill: halted, no working order, flat");
    /* a position limit the probe's 1% buy cannot pass: nothing to flatten, said so */
    expect("\"risk\": {\"max_position\": 0.0001}", "quote_maker", ND_PF_KILL_SWITCH, ND_PF_FAIL,
           "did not fill");
}

Test(preflight, config_cross_rules)
{
    expect("", "quote_maker", ND_PF_CONFIG_VALID, ND_PF_PASS, "paper mode, 1 symbol(s)");
    expect("\"clock\": \"venue\", \"preflight\": {\"mode\": \"live\"}", "quote_maker",
           ND_PF_CONFIG_VALID, ND_PF_FAIL, "clock \"venue\"");
}

Test(preflight, balances_in_paper_mode)
{
    expect("", "quote_maker", ND_PF_BALANCES, ND_PF_PASS, "capital.cash 10000 covers");
    expect("\"preflight\": {\"first_allocation\": \"20000\"}", "quote_maker", ND_PF_BALANCES,
           ND_PF_FAIL, "is short of the first allocation 20000");
}

Test(preflight, hashes_pinned)
{
    fixture_t *f = fixture();
    const nd_preflight_outcome_t *o = run_one(f, "", "quote_maker", ND_PF_BUILD_PINNED);
    EXPECT(o, ND_PF_PASS, "not pinned (paper)");
    char config[65], build[65], extra[512];
    memcpy(config, f->report.config_sha256, 65);
    memcpy(build, f->report.build_sha256, 65);
    cr_assert_eq(strlen(config), 64);
    done(f);
    expect("\"preflight\": {\"mode\": \"live\"}", "quote_maker", ND_PF_BUILD_PINNED, ND_PF_FAIL,
           "live mode needs a pinned build");
    snprintf(extra, sizeof extra, "\"preflight\": {\"pin\": {\"build_sha256\": \"%s\"}}", build);
    expect(extra, "quote_maker", ND_PF_BUILD_PINNED, ND_PF_PASS, "config ");
    snprintf(extra, sizeof extra, "\"preflight\": {\"pin\": {\"build_sha256\": \"%064d\"}}", 0);
    expect(extra, "quote_maker", ND_PF_BUILD_PINNED, ND_PF_FAIL, "the build changed");
}

Test(preflight, pin_does_not_change_the_config_hash)
{
    fixture_t *f = fixture();
    run_one(f, "\"preflight\": {\"mode\": \"live\"}", "quote_maker", ND_PF_BUILD_PINNED);
    char config[65], extra[512];
    memcpy(config, f->report.config_sha256, 65);
    done(f);
    snprintf(extra, sizeof extra, "\"preflight\": {\"mode\": \"live\", \"pin\": "
             "{\"config_sha256\": \"%s\"}}", config);
    f = fixture();
    const nd_preflight_outcome_t *o = run_one(f, extra, "quote_maker", ND_PF_BUILD_PINNED);
    cr_assert_str_eq(f->report.config_sha256, config);
    EXPECT(o, ND_PF_FAIL, "live mode needs a pinned build"); /* the build is not pinned */
    done(f);
}

Test(preflight, venue_checks_against_a_closed_port)
{
    fixture_t *f = fixture();
    char err[512] = "";
    cr_assert_eq(load("\"preflight\": {\"timeout_ms\": 500}", "quote_maker", &f->cfg, &f->set,
                      err, sizeof err), ND_OK, "%s", err);
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "test"};
    unsigned mask = 1u << ND_PF_VENUE_REACHABLE | 1u << ND_PF_CLOCK_OFFSET |
                    1u << ND_PF_EXCHANGE_INFO | 1u << ND_PF_FEEDS_FRESH | 1u << ND_PF_RATE_LIMITS;
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, mask, &f->report), ND_OK);
    EXPECT(&f->report.checks[ND_PF_VENUE_REACHABLE], ND_PF_FAIL, "/api/v3/ping");
    EXPECT(&f->report.checks[ND_PF_CLOCK_OFFSET], ND_PF_FAIL, "not measured");
    EXPECT(&f->report.checks[ND_PF_EXCHANGE_INFO], ND_PF_FAIL, "not measured");
    EXPECT(&f->report.checks[ND_PF_FEEDS_FRESH], ND_PF_FAIL, "not measured");
    EXPECT(&f->report.checks[ND_PF_RATE_LIMITS], ND_PF_FAIL, "not measured");
    cr_assert_eq(f->report.failed, 5);
    cr_assert_eq(f->report.passed, 0);
    cr_assert(!f->report.ran[ND_PF_RISK_LIMITS]);
    cr_assert_str_eq(f->report.checks[ND_PF_RISK_LIMITS].reason, "not selected");
    json_t *j = nd_preflight_report_json(&f->report);
    cr_assert_eq(json_array_size(json_object_get(j, "checks")), ND_PF_CHECK_COUNT);
    json_decref(j);
    done(f);
}

Test(preflight, oracle_skip_and_unreachable)
{
    expect("", "quote_maker", ND_PF_ORACLE_FRESH, ND_PF_SKIP, "no oracle configured");
    expect("\"preflight\": {\"timeout_ms\": 500, \"oracle\": {\"rpc_url\": \"http://127.0.0.1:9\","
           " \"feed\": \"ETH/USD\"}}", "quote_maker", ND_PF_ORACLE_FRESH, ND_PF_FAIL, "ETH/USD");
    expect("\"preflight\": {\"oracle\": {\"rpc_url\": \"http://127.0.0.1:9\","
           " \"feed\": \"NOPE/USD\"}}", "quote_maker", ND_PF_ORACLE_FRESH, ND_PF_FAIL,
           "unknown feed");
}

/* ---- two venues: the venue checks once per venue (docs/launcher.md "Two venues") ---------- */

/* A two-venue config (Binance and Coinbase, both on closed ports), one strategy on each. */
static void load_two(fixture_t *f, const char *preflight)
{
    char path[256], text[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/two.json", dir);
    snprintf(text, sizeof text,
             "{\"name\": \"t2\", \"state_dir\": \"%s/state2\", \"venues\": ["
             " {\"name\": \"binance\", \"rest_url\": \"http://127.0.0.1:9\","
             "  \"ws_url\": \"ws://127.0.0.1:9\", \"exchange_info\": false,"
             "  \"order_tag\": \"b\", \"symbol\": \"BTC/USDT\"},"
             " {\"name\": \"coinbase\", \"rest_url\": \"http://127.0.0.1:9\","
             "  \"ws_url\": \"ws://127.0.0.1:9\", \"exchange_info\": false,"
             "  \"order_tag\": \"c\", \"symbol\": \"ETH/USD\"}],"
             " \"strategies\": [{\"builtin\": \"quote_maker\", \"venue\": \"binance\"},"
             "  {\"builtin\": \"quote_maker\", \"venue\": \"coinbase\"}],"
             " \"capital\": {\"cash\": \"10000\"}, \"preflight\": %s}",
             dir, preflight);
    write_file(path, text, 0600);
    cr_assert_eq(nd_live_config_load(path, &f->cfg, err, sizeof err), ND_OK, "%s", err);
    const nd_strategy_def_t *def = nd_strategy_find_event("quote_maker");
    cr_assert_not_null(def);
    for (uint32_t k = 0; k < 2; k++) {
        f->cfg.bt.strategies[k].def = def;
        nd_strategy_params_default(def, f->cfg.bt.strategies[k].params);
    }
    f->cfg.bt.strategy_count = 2;
    cr_assert_eq(nd_preflight_settings_parse(&f->cfg, &f->set, err, sizeof err), ND_OK, "%s",
                 err);
}

Test(preflight, two_venues_each_venue_check_runs_per_venue_named)
{
    fixture_t *f = fixture();
    load_two(f, "{\"timeout_ms\": 500}");
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "test"};
    unsigned mask = 1u << ND_PF_VENUE_REACHABLE | 1u << ND_PF_CLOCK_OFFSET |
                    1u << ND_PF_BALANCES | 1u << ND_PF_RISK_LIMITS;
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, mask, &f->report), ND_OK);
    const nd_preflight_outcome_t *o = &f->report.checks[ND_PF_VENUE_REACHABLE];
    cr_assert_eq(o->venue_count, 2);
    cr_assert_str_eq(o->venues[0].venue, "binance");
    cr_assert_str_eq(o->venues[1].venue, "coinbase");
    cr_assert_eq(o->venues[0].status, ND_PF_FAIL);
    cr_assert_eq(o->venues[1].status, ND_PF_FAIL);
    cr_assert(strstr(o->venues[0].reason, "/api/v3/ping") != NULL, "%s", o->venues[0].reason);
    cr_assert(strstr(o->venues[1].reason, "brokerage/time") != NULL, "%s", o->venues[1].reason);
    EXPECT(o, ND_PF_FAIL, "binance: GET http://127.0.0.1:9/api/v3/ping");
    cr_assert(strstr(o->reason, "; coinbase: ") != NULL, "%s", o->reason);
    cr_assert(strncmp(o->hint, "binance: ", 9) == 0 && strstr(o->hint, "; coinbase: "), "%s",
              o->hint);
    EXPECT(&f->report.checks[ND_PF_CLOCK_OFFSET], ND_PF_FAIL, "coinbase: not measured");
    /* paper balances and the risk limits are the config's: once, no venues */
    cr_assert_eq(f->report.checks[ND_PF_BALANCES].venue_count, 0);
    cr_assert_eq(f->report.checks[ND_PF_RISK_LIMITS].venue_count, 0);
    cr_assert_eq(f->report.failed, 2);
    json_t *j = nd_preflight_report_json(&f->report);
    json_t *checks = json_object_get(j, "checks");
    json_t *vr = json_array_get(checks, ND_PF_VENUE_REACHABLE);
    json_t *vs = json_object_get(vr, "venues");
    cr_assert_eq(json_array_size(vs), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "venue")),
                     "coinbase");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "status")), "fail");
    cr_assert_null(json_object_get(json_array_get(checks, ND_PF_RISK_LIMITS), "venues"));
    json_decref(j);
    done(f);
}

Test(preflight, two_venues_live_secrets_one_venue_fails_the_check_naming_it)
{
    fixture_t *f = fixture();
    load_two(f, "{\"mode\": \"live\"}");
    setenv("NODERR_BINANCE_API_KEY", "k", 1);
    setenv("NODERR_BINANCE_API_SECRET", "s", 1);
    unsetenv("NODERR_COINBASE_API_KEY");
    unsetenv("NODERR_COINBASE_API_SECRET");
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "test"};
    cr_assert_eq(nd_preflight_run(&f->cfg, &f->set, &env, 1u << ND_PF_SECRETS, &f->report), ND_OK);
    unsetenv("NODERR_BINANCE_API_KEY");
    unsetenv("NODERR_BINANCE_API_SECRET");
    const nd_preflight_outcome_t *o = &f->report.checks[ND_PF_SECRETS];
    cr_assert_eq(o->venue_count, 2);
    cr_assert_eq(o->venues[0].status, ND_PF_PASS, "%s", o->venues[0].reason);
    cr_assert_eq(o->venues[1].status, ND_PF_FAIL, "%s", o->venues[1].reason);
    cr_assert(strstr(o->venues[1].reason, "NODERR_COINBASE_") != NULL, "%s", o->venues[1].reason);
    EXPECT(o, ND_PF_FAIL, "binance: ");
    cr_assert(strncmp(o->hint, "coinbase: ", 10) == 0, "only the failed venue's hint: %s",
              o->hint);
    cr_assert_eq(f->report.failed, 1);
    done(f);
}
