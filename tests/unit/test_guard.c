/* test_guard.c: the automatic rollback triggers (guard.h): each rule on its own with
 * hand-checked thresholds, their order, the error window sliding, consecutive health failures,
 * observations before the version's start ignored, reset, the "launch.rollback" config and its
 * errors, and the decision's JSON. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC ND_NS_PER_SEC
#define T0 (1767225600LL * SEC) /* 2026-01-01 */

static nd_guard_t g;

static void setup(void)
{
    nd_guard_config_t cfg;
    nd_guard_config_default(&cfg);
    nd_guard_init(&g, &cfg, T0);
}

TestSuite(guard, .init = setup);

static nd_guard_decision_t eval(int64_t now)
{
    nd_guard_decision_t d;
    nd_guard_evaluate(&g, now, &d);
    return d;
}

Test(guard, nothing_observed_is_none)
{
    nd_guard_decision_t d = eval(T0);
    cr_assert_eq(d.action, ND_GUARD_NONE);
    cr_assert_eq(d.trigger, ND_GUARD_TRIGGER_NONE);
    cr_assert_str_eq(d.reason, "");
}

Test(guard, breaker_trip_rolls_back_with_the_cut)
{
    nd_guard_breaker(&g, T0 + SEC, "drawdown");
    nd_guard_breaker(&g, T0 + 2 * SEC, "daily_loss"); /* the first trip is reported */
    nd_guard_decision_t d = eval(T0 + 2 * SEC);
    cr_assert_eq(d.action, ND_GUARD_ROLLBACK);
    cr_assert_eq(d.trigger, ND_GUARD_TRIGGER_BREAKER);
    cr_assert_eq(d.cut_e6, 500000);
    cr_assert_str_eq(d.reason, "breaker drawdown tripped");
    /* Off by config: a trip alone decides nothing. */
    g.cfg.on_breaker = false;
    cr_assert_eq(eval(T0 + 2 * SEC).action, ND_GUARD_NONE);
}

Test(guard, drawdown_pause_then_rollback_at_the_thresholds)
{
    /* Defaults: pause at 4%, roll back at 8% (below the 12% breaker). */
    nd_guard_drawdown(&g, T0 + 1 * SEC, 39999);
    cr_assert_eq(eval(T0 + SEC).action, ND_GUARD_NONE);
    nd_guard_drawdown(&g, T0 + 2 * SEC, 40000);
    nd_guard_decision_t d = eval(T0 + 2 * SEC);
    cr_assert_eq(d.action, ND_GUARD_PAUSE_RAMP);
    cr_assert_eq(d.trigger, ND_GUARD_TRIGGER_DRAWDOWN);
    cr_assert_eq(d.cut_e6, 0);
    cr_assert_str_eq(d.reason, "drawdown 4% >= pause threshold 4%");
    nd_guard_drawdown(&g, T0 + 3 * SEC, 79999);
    cr_assert_eq(eval(T0 + 3 * SEC).action, ND_GUARD_PAUSE_RAMP);
    nd_guard_drawdown(&g, T0 + 4 * SEC, 85000);
    d = eval(T0 + 4 * SEC);
    cr_assert_eq(d.action, ND_GUARD_ROLLBACK);
    cr_assert_str_eq(d.reason, "drawdown 8.5% >= rollback threshold 8%");
    /* An older observation does not replace the latest; a recovery lifts it. */
    nd_guard_drawdown(&g, T0 + 3 * SEC, 0);
    cr_assert_eq(eval(T0 + 4 * SEC).action, ND_GUARD_ROLLBACK);
    nd_guard_drawdown(&g, T0 + 5 * SEC, 10000);
    cr_assert_eq(eval(T0 + 5 * SEC).action, ND_GUARD_NONE);
}

Test(guard, error_burst_over_a_sliding_window)
{
    /* Defaults: a 300 s window, pause at 5, roll back at 20. */
    for (int k = 0; k < 4; k++)
        nd_guard_error(&g, T0 + k * SEC);
    cr_assert_eq(eval(T0 + 10 * SEC).action, ND_GUARD_NONE);
    nd_guard_error(&g, T0 + 4 * SEC);
    nd_guard_decision_t d = eval(T0 + 10 * SEC);
    cr_assert_eq(d.action, ND_GUARD_PAUSE_RAMP);
    cr_assert_str_eq(d.reason, "5 rejects and venue errors in 300s >= 5");
    for (int k = 5; k < 20; k++)
        nd_guard_error(&g, T0 + k * SEC);
    d = eval(T0 + 20 * SEC);
    cr_assert_eq(d.action, ND_GUARD_ROLLBACK);
    cr_assert_eq(d.trigger, ND_GUARD_TRIGGER_ERRORS);
    cr_assert_str_eq(d.reason, "20 rejects and venue errors in 300s >= 20");
    /* The window slides: at T0 + 300 s the error at T0 is out (window (now - 300 s, now]). */
    cr_assert_eq(nd_guard_errors_in_window(&g, T0 + 299 * SEC), 20);
    cr_assert_eq(nd_guard_errors_in_window(&g, T0 + 300 * SEC), 19);
    cr_assert_eq(eval(T0 + 300 * SEC).action, ND_GUARD_PAUSE_RAMP);
    cr_assert_eq(eval(T0 + 400 * SEC).action, ND_GUARD_NONE);
    cr_assert_eq(g.errors_total, 20);
}

Test(guard, error_ring_keeps_the_latest)
{
    for (int k = 0; k < ND_GUARD_ERRORS_MAX + 500; k++)
        nd_guard_error(&g, T0 + k * ND_NS_PER_MS);
    cr_assert_eq(g.error_count, ND_GUARD_ERRORS_MAX);
    int64_t now = T0 + (ND_GUARD_ERRORS_MAX + 500) * ND_NS_PER_MS;
    cr_assert_eq(nd_guard_errors_in_window(&g, now), ND_GUARD_ERRORS_MAX);
    cr_assert_eq(eval(now).action, ND_GUARD_ROLLBACK);
}

Test(guard, health_one_failure_pauses_three_in_a_row_roll_back)
{
    nd_guard_health(&g, T0 + 10 * SEC, false);
    nd_guard_decision_t d = eval(T0 + 10 * SEC);
    cr_assert_eq(d.action, ND_GUARD_PAUSE_RAMP);
    cr_assert_str_eq(d.reason, "health check failed (1 in a row)");
    nd_guard_health(&g, T0 + 20 * SEC, false);
    cr_assert_eq(eval(T0 + 20 * SEC).action, ND_GUARD_PAUSE_RAMP);
    nd_guard_health(&g, T0 + 30 * SEC, true); /* a pass resets the run */
    cr_assert_eq(eval(T0 + 30 * SEC).action, ND_GUARD_NONE);
    for (int k = 4; k <= 6; k++)
        nd_guard_health(&g, T0 + k * 10 * SEC, false);
    d = eval(T0 + 60 * SEC);
    cr_assert_eq(d.action, ND_GUARD_ROLLBACK);
    cr_assert_eq(d.trigger, ND_GUARD_TRIGGER_HEALTH);
    cr_assert_str_eq(d.reason, "3 consecutive failed health checks >= 3");
    nd_guard_health(&g, T0 + 50 * SEC, true); /* older than the latest: ignored */
    cr_assert_eq(eval(T0 + 60 * SEC).action, ND_GUARD_ROLLBACK);
}

Test(guard, order_of_rules_and_observations_before_the_start)
{
    nd_guard_breaker(&g, T0 - SEC, "drawdown"); /* the previous version's: ignored */
    nd_guard_drawdown(&g, T0 - SEC, 200000);
    nd_guard_error(&g, T0 - SEC);
    nd_guard_health(&g, T0 - SEC, false);
    cr_assert_eq(eval(T0).action, ND_GUARD_NONE);
    cr_assert_eq(g.errors_total, 0);
    /* Everything at once: the breaker decides, then drawdown, errors, health. */
    for (int k = 0; k < 3; k++)
        nd_guard_health(&g, T0 + k * SEC, false);
    cr_assert_eq(eval(T0 + 3 * SEC).trigger, ND_GUARD_TRIGGER_HEALTH);
    for (int k = 0; k < 20; k++)
        nd_guard_error(&g, T0 + SEC);
    cr_assert_eq(eval(T0 + 3 * SEC).trigger, ND_GUARD_TRIGGER_ERRORS);
    nd_guard_drawdown(&g, T0 + 2 * SEC, 90000);
    cr_assert_eq(eval(T0 + 3 * SEC).trigger, ND_GUARD_TRIGGER_DRAWDOWN);
    nd_guard_breaker(&g, T0 + 2 * SEC, "daily_loss");
    cr_assert_eq(eval(T0 + 3 * SEC).trigger, ND_GUARD_TRIGGER_BREAKER);
    /* Pure: the same state and time give the same decision. */
    nd_guard_decision_t a = eval(T0 + 3 * SEC), b = eval(T0 + 3 * SEC);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    /* After the rollback the launcher resets it for the version now running. */
    nd_guard_reset(&g, T0 + 4 * SEC);
    cr_assert_eq(eval(T0 + 4 * SEC).action, ND_GUARD_NONE);
    cr_assert_eq(g.cfg.errors_max, 20);
}

Test(guard, config_defaults_and_errors_name_the_key)
{
    char err[256] = "";
    nd_guard_config_t cfg, def;
    nd_guard_config_default(&def);
    cr_assert_eq(nd_guard_config_parse(NULL, "l.json", &cfg, err, sizeof err), ND_OK);
    cr_assert_eq(memcmp(&cfg, &def, sizeof cfg), 0);
    json_t *ok = json_loads("{\"on_breaker\": false, \"drawdown\": 0.06, \"drawdown_pause\": 0,"
                            " \"error_window_s\": 60, \"errors_max\": 10, \"errors_pause\": 0,"
                            " \"health_failures\": 5, \"cut\": 0.25}", 0, NULL);
    cr_assert_eq(nd_guard_config_parse(ok, "l.json", &cfg, err, sizeof err), ND_OK, "%s", err);
    json_decref(ok);
    cr_assert_not(cfg.on_breaker);
    cr_assert_eq(cfg.drawdown_e6, 60000);
    cr_assert_eq(cfg.drawdown_pause_e6, 0);
    cr_assert_eq(cfg.error_window_ns, 60 * SEC);
    cr_assert_eq(cfg.errors_max, 10);
    cr_assert_eq(cfg.errors_pause, 0);
    cr_assert_eq(cfg.health_failures, 5);
    cr_assert_eq(cfg.cut_e6, 250000);
    struct {
        const char *text, *message;
    } bad[] = {
        {"{\"drawdwn\": 0.1}", "l.json: launch.rollback.drawdwn: unknown key"},
        {"true", "l.json: launch.rollback: must be an object"},
        {"{\"on_breaker\": 1}", "launch.rollback.on_breaker: must be true or false"},
        {"{\"drawdown\": 0}", "launch.rollback.drawdown: 0 is outside"},
        {"{\"drawdown\": 0.03}", "launch.rollback.drawdown_pause: must be below \"drawdown\""},
        {"{\"error_window_s\": 0}", "launch.rollback.error_window_s: 0 is outside"},
        {"{\"errors_max\": 5000}", "launch.rollback.errors_max: 5000 is outside [1, 1024]"},
        {"{\"errors_max\": 4}", "launch.rollback.errors_pause: must be below \"errors_max\""},
        {"{\"health_failures\": 0}", "launch.rollback.health_failures: 0 is outside"},
        {"{\"cut\": 1.5}", "launch.rollback.cut: 1.5 is outside"},
        {"{\"cut\": 0.1234567}", "launch.rollback.cut: at most 6 decimal places"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        json_t *doc = json_loads(bad[k].text, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(doc, "%s", bad[k].text);
        nd_guard_config_t untouched = def;
        err[0] = '\0';
        cr_assert_eq(nd_guard_config_parse(doc, "l.json", &untouched, err, sizeof err), ND_EINVAL,
                     "%s", bad[k].text);
        cr_assert(strstr(err, bad[k].message) != NULL, "'%s' lacks '%s'", err, bad[k].message);
        cr_assert_eq(memcmp(&untouched, &def, sizeof def), 0);
        json_decref(doc);
    }
}

Test(guard, decision_json)
{
    nd_guard_drawdown(&g, T0 + SEC, 81234);
    nd_guard_decision_t d = eval(T0 + SEC);
    json_t *doc = nd_guard_decision_json(&d, T0 + SEC);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(text, "{\"action\":\"rollback\",\"trigger\":\"drawdown\",\"cut\":\"0.5\","
                           "\"reason\":\"drawdown 8.1234% >= rollback threshold 8%\","
                           "\"at\":\"2026-01-01T00:00:01Z\"}");
    free(text);
    json_decref(doc);
    cr_assert_str_eq(nd_guard_action_name(ND_GUARD_PAUSE_RAMP), "pause_ramp");
    cr_assert_str_eq(nd_guard_trigger_name(ND_GUARD_TRIGGER_ERRORS), "errors");
}
