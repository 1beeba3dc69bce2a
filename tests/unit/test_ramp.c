/* test_ramp.c: the capital ramp (ramp.h): the schedules with hand-checked shares, the
 * "launch.ramp" config and its errors, pause and resume (paused time not counted), the cut
 * after a rollback, events and the saved state; a 30-day run on the simulated clock with the
 * share checked at every tick; and properties over many seeds (never above the schedule nor
 * 100%, monotone while healthy, the state round-trips through JSON). */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/rand.h"
#include "noderr/ramp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY ND_NS_PER_DAY
#define SEC ND_NS_PER_SEC
#define T0 (1767225600LL * SEC) /* 2026-01-01 */

static nd_ramp_config_t cfg_default(void)
{
    nd_ramp_config_t cfg;
    nd_ramp_config_default(&cfg);
    return cfg;
}

static nd_err_t parse(const char *text, nd_ramp_config_t *out, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "bad test JSON: %s", jerr.text);
    nd_err_t rc = nd_ramp_config_parse(doc, "launch.json", out, err, err_len);
    json_decref(doc);
    return rc;
}

Test(ramp, default_linear_schedule_hand_checked)
{
    nd_ramp_config_t cfg = cfg_default();
    /* 5% + 95% * d / 30, floored to millionths, moving once a day. */
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 0), 50000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, DAY - 1), 50000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, DAY), 81666);    /* 50000 + 31666.67 */
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 2 * DAY), 113333); /* 50000 + 63333.33 */
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 15 * DAY), 525000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 29 * DAY), 968333);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 30 * DAY - 1), 968333);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 30 * DAY), 1000000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 400 * DAY), 1000000);
    cr_assert_eq(nd_ramp_schedule_end(&cfg), 30 * DAY);
    cr_assert_eq(nd_ramp_schedule_step_start(&cfg, 9 * DAY + 5), 9 * DAY);
}

Test(ramp, linear_with_interval_not_dividing_days)
{
    char err[256] = "";
    nd_ramp_config_t cfg;
    /* 10% -> 40% over 1 day, every 7 hours: steps at 0, 7, 14, 21, 24 h. */
    cr_assert_eq(parse("{\"linear\": {\"from\": 0.1, \"to\": 0.4, \"days\": 1, \"interval_s\": "
                       "25200}}", &cfg, err, sizeof err), ND_OK, "%s", err);
    int64_t h = 3600 * SEC;
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 0), 100000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 7 * h), 187500); /* 0.1 + 0.3 * 7/24 */
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 21 * h), 362500);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 23 * h), 362500);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 28 * h), 400000); /* the last step, at 24 h... */
    cr_assert_eq(nd_ramp_schedule_end(&cfg), 24 * h);         /* ... is the duration */
}

Test(ramp, steps_schedule_hand_checked)
{
    char err[256] = "";
    nd_ramp_config_t cfg;
    cr_assert_eq(parse("{\"steps\": [{\"day\": 0, \"share\": 0.05}, {\"day\": 7, \"share\": 0.25},"
                       " {\"day\": 14, \"share\": 0.5}, {\"day\": 30, \"share\": 1}],"
                       " \"resume_after_s\": 0, \"gap_max_s\": 30}", &cfg, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(cfg.kind, ND_RAMP_STEPS);
    cr_assert_eq(cfg.step_count, 4);
    cr_assert_eq(cfg.resume_after_ns, 0);
    cr_assert_eq(cfg.gap_max_ns, 30 * SEC);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 7 * DAY - 1), 50000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 7 * DAY), 250000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 20 * DAY), 500000);
    cr_assert_eq(nd_ramp_schedule_share(&cfg, 31 * DAY), 1000000);
    /* A fractional day: 0.5 day = 12 h. */
    cr_assert_eq(parse("{\"steps\": [{\"day\": 0, \"share\": 0.1}, {\"day\": 0.5, \"share\": 0.2}]}",
                       &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(cfg.steps[1].at_ns, DAY / 2);
}

Test(ramp, config_defaults_and_errors_name_the_key)
{
    char err[256] = "";
    nd_ramp_config_t cfg, def = cfg_default();
    cr_assert_eq(nd_ramp_config_parse(NULL, "launch.json", &cfg, err, sizeof err), ND_OK);
    cr_assert_eq(memcmp(&cfg, &def, sizeof cfg), 0);
    cr_assert_eq(parse("{}", &cfg, err, sizeof err), ND_OK);
    struct {
        const char *text, *message;
    } bad[] = {
        {"{\"speed\": 1}", "launch.json: launch.ramp.speed: unknown key"},
        {"[]", "launch.json: launch.ramp: must be an object"},
        {"{\"linear\": {\"days\": 0}}", "launch.json: launch.ramp.linear.days: 0 is outside"},
        {"{\"linear\": {\"from\": 0.5, \"to\": 0.2}}", "launch.ramp.linear.to: is below"},
        {"{\"linear\": {\"from\": 1.5}}", "launch.ramp.linear.from: 1.5 is outside"},
        {"{\"linear\": {\"from\": 0.0500001}}", "launch.ramp.linear.from: at most 6 decimal"},
        {"{\"linear\": {\"interval_s\": 10}}", "launch.ramp.linear.interval_s: 10 is outside"},
        {"{\"linear\": 3}", "launch.ramp.linear: must be an object"},
        {"{\"linear\": {}, \"steps\": []}", "launch.ramp.steps: give either"},
        {"{\"steps\": []}", "launch.ramp.steps: must be a list of 1 to 128"},
        {"{\"steps\": [{\"day\": 1, \"share\": 0.1}]}", "launch.ramp.steps[0].day: the first"},
        {"{\"steps\": [{\"day\": 0, \"share\": 0.1}, {\"day\": 0, \"share\": 0.2}]}",
         "launch.ramp.steps[1].day: must be after"},
        {"{\"steps\": [{\"day\": 0, \"share\": 0.3}, {\"day\": 2, \"share\": 0.2}]}",
         "launch.ramp.steps[1].share: is below the previous"},
        {"{\"steps\": [{\"day\": 0, \"share\": 0}]}", "launch.ramp.steps[0].share: 0 is outside"},
        {"{\"steps\": [{\"day\": 0}]}", "launch.ramp.steps[0]: needs both"},
        {"{\"steps\": [7]}", "launch.ramp.steps[0]: must be an object"},
        {"{\"resume_after_s\": -1}", "launch.ramp.resume_after_s: -1 is outside"},
        {"{\"gap_max_s\": \"60\"}", "launch.ramp.gap_max_s: must be a whole number"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        nd_ramp_config_t untouched = def;
        err[0] = '\0';
        cr_assert_eq(parse(bad[k].text, &untouched, err, sizeof err), ND_EINVAL, "%s",
                     bad[k].text);
        cr_assert(strstr(err, bad[k].message) != NULL, "%s: '%s' lacks '%s'", bad[k].text, err,
                  bad[k].message);
        cr_assert_eq(memcmp(&untouched, &def, sizeof def), 0, "written on error");
    }
}

/* Ticks every step_ns from..to (exclusive) with the given health; returns events seen. */
static uint32_t run(nd_ramp_t *r, int64_t from, int64_t to, int64_t step_ns, bool healthy,
                    nd_ramp_event_t *last)
{
    uint32_t events = 0;
    for (int64_t t = from; t < to; t += step_ns) {
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
        uint32_t n = 0;
        cr_assert_eq(nd_ramp_tick(r, t, healthy, healthy ? NULL : "feed stale", ev, &n), ND_OK);
        if (n && last)
            *last = ev[n - 1];
        events += n;
    }
    return events;
}

Test(ramp, thirty_days_on_the_sim_clock_share_at_every_tick)
{
    nd_ramp_config_t cfg = cfg_default();
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, T0);
    uint32_t advances = 0, starts = 0;
    int64_t prev = 0;
    /* Every 10 s (the health check's period) for 31 days: 267,840 ticks. */
    for (int64_t t = T0; t <= T0 + 31 * DAY; t += 10 * SEC) {
        cr_assert_eq(nd_clock_sim_set(&sim, t), ND_OK);
        int64_t now = nd_clock_now_ns(&sim.clock);
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
        uint32_t n = 0;
        cr_assert_eq(nd_ramp_tick(&r, now, true, NULL, ev, &n), ND_OK);
        for (uint32_t k = 0; k < n; k++) {
            advances += ev[k].kind == ND_RAMP_EV_ADVANCE;
            starts += ev[k].kind == ND_RAMP_EV_START;
            cr_assert_eq(ev[k].share_before_e6, prev);
            prev = ev[k].share_after_e6;
        }
        /* Healthy throughout: progress is the wall time since the start. */
        cr_assert_eq(r.progress_ns, now - T0);
        cr_assert_eq(r.share_e6, nd_ramp_schedule_share(&cfg, now - T0), "at %lld s",
                     (long long)((now - T0) / SEC));
        int64_t d = (now - T0) / DAY;
        int64_t expect = d >= 30 ? 1000000 : 50000 + 950000 * d / 30;
        cr_assert_eq(r.share_e6, expect, "day %lld", (long long)d);
    }
    cr_assert_eq(starts, 1);
    cr_assert_eq(advances, 30);
    cr_assert_eq(r.share_e6, 1000000);
    cr_assert_eq(r.pauses, 0);
}

Test(ramp, failed_health_pauses_and_paused_days_do_not_count)
{
    nd_ramp_config_t cfg = cfg_default(); /* resume after 60 s of health */
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    nd_ramp_event_t last;
    int64_t step = 10 * SEC;
    run(&r, T0, T0 + 10 * DAY, step, true, &last);
    cr_assert_eq(r.share_e6, 50000 + 950000 * 9 / 30); /* day 9 until the tick at day 10 */
    /* Unhealthy from day 10 to day 12: one pause event, the share holds. */
    cr_assert_eq(run(&r, T0 + 10 * DAY, T0 + 12 * DAY, step, false, &last), 1);
    cr_assert_eq(last.kind, ND_RAMP_EV_PAUSE);
    cr_assert_str_eq(last.reason, "feed stale");
    cr_assert(r.paused);
    cr_assert_eq(r.share_e6, 50000 + 950000 * 9 / 30);
    cr_assert_eq(r.progress_ns, 10 * DAY - step); /* the interval ending unhealthy: not counted */
    /* Healthy again: resumes at 12 d + 60 s (one event), then counts from there. */
    cr_assert_eq(run(&r, T0 + 12 * DAY, T0 + 12 * DAY + 61 * SEC, step, true, &last), 1);
    cr_assert_eq(last.kind, ND_RAMP_EV_RESUME);
    cr_assert_eq(last.at_ns, T0 + 12 * DAY + 60 * SEC);
    cr_assert_not(r.paused);
    run(&r, T0 + 12 * DAY + 70 * SEC, T0 + 40 * DAY, step, true, NULL);
    /* Lost: from 10 d - 10 s to 12 d + 60 s = 2 d + 70 s. */
    int64_t lost = 2 * DAY + 70 * SEC;
    cr_assert_eq(r.progress_ns, (T0 + 40 * DAY - step) - T0 - lost);
    cr_assert_eq(r.share_e6, 1000000);
    nd_ramp_t r2;
    nd_ramp_init(&r2, &cfg);
    run(&r2, T0, T0 + 10 * DAY, step, true, NULL);
    run(&r2, T0 + 10 * DAY, T0 + 12 * DAY, step, false, NULL);
    run(&r2, T0 + 12 * DAY, T0 + 32 * DAY, step, true, NULL);
    /* At 32 d wall time, 29 d 23 h 58 m 50 s counted: still day 29's share, not 100%. */
    cr_assert_eq(r2.share_e6, 968333);
    cr_assert_eq(r2.pauses, 1);
}

Test(ramp, start_unhealthy_and_gap_not_counted)
{
    nd_ramp_config_t cfg = cfg_default();
    cfg.resume_after_ns = 0;
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
    uint32_t n = 0;
    cr_assert_eq(nd_ramp_tick(&r, T0, false, NULL, ev, &n), ND_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(ev[0].kind, ND_RAMP_EV_START);
    cr_assert_eq(ev[0].share_after_e6, 50000);
    cr_assert_eq(ev[1].kind, ND_RAMP_EV_PAUSE);
    cr_assert_str_eq(ev[1].reason, "unhealthy");
    cr_assert_eq(nd_ramp_tick(&r, T0 + SEC, true, NULL, ev, &n), ND_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(ev[0].kind, ND_RAMP_EV_RESUME);
    cr_assert_eq(nd_ramp_tick(&r, T0 + 11 * SEC, true, NULL, ev, &n), ND_OK);
    cr_assert_eq(r.progress_ns, 10 * SEC);
    /* A 2-day silence (the launcher was down) is longer than gap_max: it does not count. */
    cr_assert_eq(nd_ramp_tick(&r, T0 + 2 * DAY, true, NULL, ev, &n), ND_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(r.progress_ns, 10 * SEC);
    cr_assert_eq(r.share_e6, 50000);
    /* Time going backwards is refused and changes nothing. */
    cr_assert_eq(nd_ramp_tick(&r, T0 + DAY, true, NULL, ev, &n), ND_EINVAL);
    cr_assert_eq(r.last_tick_ns, T0 + 2 * DAY);
}

Test(ramp, cut_moves_back_to_a_step_and_climbs_from_there)
{
    nd_ramp_config_t cfg = cfg_default();
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    nd_ramp_event_t ev;
    cr_assert_eq(nd_ramp_cut(&r, T0, 500000, "x", &ev), ND_ESTATE);
    run(&r, T0, T0 + 20 * DAY + 10 * SEC, 10 * SEC, true, NULL);
    cr_assert_eq(r.share_e6, 683333); /* 5% + 95% * 20/30 */
    /* Half of 683333 is 341666; the latest step at or below it is day 9's 335000. */
    cr_assert_eq(nd_ramp_cut(&r, T0 + 20 * DAY + 10 * SEC, 500000, "breaker drawdown", &ev),
                 ND_OK);
    cr_assert_eq(ev.kind, ND_RAMP_EV_CUT);
    cr_assert_eq(ev.share_before_e6, 683333);
    cr_assert_eq(ev.share_after_e6, 335000);
    cr_assert_eq(ev.progress_ns, 9 * DAY);
    cr_assert_str_eq(ev.reason, "breaker drawdown");
    cr_assert_eq(r.cuts, 1);
    /* Climbs from day 9: day 10's share a day later. */
    run(&r, T0 + 20 * DAY + 20 * SEC, T0 + 21 * DAY + 20 * SEC, 10 * SEC, true, NULL);
    cr_assert_eq(r.share_e6, 50000 + 950000 * 10 / 30);
    /* A cut below the first share stops at the first step; factor 1 keeps the step. */
    cr_assert_eq(nd_ramp_cut(&r, T0 + 22 * DAY, 0, NULL, &ev), ND_OK);
    cr_assert_eq(ev.share_after_e6, 50000);
    cr_assert_eq(r.progress_ns, 0);
    cr_assert_str_eq(ev.reason, "rollback");
    cr_assert_eq(nd_ramp_cut(&r, T0 + 22 * DAY, 1000001, NULL, &ev), ND_EINVAL);
    run(&r, T0 + 22 * DAY, T0 + 25 * DAY + 10 * SEC, 10 * SEC, true, NULL);
    int64_t before = r.share_e6, progress = r.progress_ns;
    cr_assert_eq(nd_ramp_cut(&r, T0 + 26 * DAY, 1000000, NULL, &ev), ND_OK);
    cr_assert_eq(ev.share_after_e6, before);
    cr_assert_eq(r.progress_ns, nd_ramp_schedule_step_start(&cfg, progress));
}

/* Field by field (memcmp would compare padding). */
static bool same_ramp(const nd_ramp_t *a, const nd_ramp_t *b)
{
    return a->started == b->started && a->paused == b->paused && a->start_ns == b->start_ns &&
           a->last_tick_ns == b->last_tick_ns && a->progress_ns == b->progress_ns &&
           a->healthy_since_ns == b->healthy_since_ns && a->share_e6 == b->share_e6 &&
           a->pauses == b->pauses && a->cuts == b->cuts;
}

Test(ramp, events_and_state_json)
{
    nd_ramp_config_t cfg = cfg_default();
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    nd_ramp_event_t last;
    run(&r, T0, T0 + DAY + 10 * SEC, 10 * SEC, true, &last);
    json_t *ev = nd_ramp_event_json(&last);
    char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(text, "{\"event\":\"advance\",\"at\":\"2026-01-02T00:00:00Z\","
                           "\"share_before\":\"0.05\",\"share_after\":\"0.081666\","
                           "\"progress_s\":86400,\"reason\":\"\"}");
    free(text);
    json_decref(ev);
    json_t *state = nd_ramp_state_json(&r);
    nd_ramp_t back;
    char err[128] = "";
    cr_assert_eq(nd_ramp_state_load(&back, &cfg, state, err, sizeof err), ND_OK, "%s", err);
    cr_assert(same_ramp(&back, &r));
    json_object_set_new(state, "progress_ns", json_integer(100 * DAY));
    cr_assert_eq(nd_ramp_state_load(&back, &cfg, state, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "progress_ns exceeds") != NULL, "%s", err);
    json_object_set_new(state, "last_tick_ns", json_string("x"));
    cr_assert_eq(nd_ramp_state_load(&back, &cfg, state, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "last_tick_ns") != NULL, "%s", err);
    json_decref(state);
    cr_assert_eq(nd_ramp_state_load(&back, &cfg, json_null(), err, sizeof err), ND_EPARSE);
}

/* One random run: ticks at random gaps (some past gap_max), random health, random cuts, random
 * restarts through JSON; checks every invariant after every step. */
static void property_run(uint64_t seed)
{
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    nd_ramp_config_t cfg = cfg_default();
    if (nd_rand_below(&rng, 2)) {
        cfg.kind = ND_RAMP_STEPS;
        cfg.step_count = 1 + (uint32_t)nd_rand_below(&rng, 8);
        int64_t at = 0, share = 1 + (int64_t)nd_rand_below(&rng, 200000);
        for (uint32_t k = 0; k < cfg.step_count; k++) {
            cfg.steps[k].at_ns = at;
            cfg.steps[k].share_e6 = share;
            at += 1 + (int64_t)nd_rand_below(&rng, (uint64_t)(5 * DAY));
            share += (int64_t)nd_rand_below(&rng, (uint64_t)(1000001 - share));
        }
    }
    cfg.resume_after_ns = (int64_t)nd_rand_below(&rng, 300) * SEC;
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    int64_t now = T0, prev_share = 0;
    for (int k = 0; k < 3000; k++) {
        now += (int64_t)nd_rand_below(&rng, 8) == 0 ? (int64_t)nd_rand_below(&rng, DAY)
                                                     : (int64_t)nd_rand_below(&rng, 120 * SEC);
        bool healthy = nd_rand_below(&rng, 10) != 0;
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
        uint32_t n = 0;
        cr_assert_eq(nd_ramp_tick(&r, now, healthy, NULL, ev, &n), ND_OK);
        cr_assert_leq(n, ND_RAMP_TICK_EVENTS_MAX);
        bool cut = nd_rand_below(&rng, 200) == 0;
        if (cut) {
            nd_ramp_event_t e;
            cr_assert_eq(nd_ramp_cut(&r, now, (int64_t)nd_rand_below(&rng, 1000001), NULL, &e),
                         ND_OK);
            cr_assert_leq(e.share_after_e6, e.share_before_e6);
        }
        cr_assert_leq(r.share_e6, nd_ramp_schedule_share(&cfg, now - r.start_ns),
                      "seed %llu: above the schedule", (unsigned long long)seed);
        cr_assert_leq(r.share_e6, ND_RAMP_SHARE_ONE);
        cr_assert_gt(r.share_e6, 0);
        cr_assert_eq(r.share_e6, nd_ramp_schedule_share(&cfg, r.progress_ns));
        if (!cut)
            cr_assert_geq(r.share_e6, prev_share, "seed %llu: went down without a cut",
                          (unsigned long long)seed);
        if (r.paused && !cut && k > 0)
            cr_assert_eq(r.share_e6, prev_share, "seed %llu: moved while paused",
                         (unsigned long long)seed);
        prev_share = r.share_e6;
        if (nd_rand_below(&rng, 100) == 0) { /* a restart */
            json_t *state = nd_ramp_state_json(&r);
            char *text = json_dumps(state, JSON_COMPACT);
            json_t *back_doc = json_loads(text, 0, NULL);
            nd_ramp_t back;
            char err[128] = "";
            cr_assert_eq(nd_ramp_state_load(&back, &cfg, back_doc, err, sizeof err), ND_OK,
                         "seed %llu: %s", (unsigned long long)seed, err);
            cr_assert(same_ramp(&back, &r), "seed %llu: state did not round-trip",
                         (unsigned long long)seed);
            r = back;
            free(text);
            json_decref(state);
            json_decref(back_doc);
        }
    }
}

Test(ramp, properties_over_many_seeds)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        property_run(seed);
}

Test(ramp, monotone_while_healthy_and_progress_never_exceeds_wall_time)
{
    for (uint64_t seed = 1000; seed < 1100; seed++) {
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        nd_ramp_config_t cfg = cfg_default();
        nd_ramp_t r;
        nd_ramp_init(&r, &cfg);
        int64_t now = T0, prev = 0;
        for (int k = 0; k < 2000; k++) {
            now += (int64_t)nd_rand_below(&rng, 200 * SEC);
            nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
            uint32_t n = 0;
            cr_assert_eq(nd_ramp_tick(&r, now, true, NULL, ev, &n), ND_OK);
            cr_assert_geq(r.share_e6, prev, "seed %llu", (unsigned long long)seed);
            cr_assert_leq(r.progress_ns, now - T0, "seed %llu", (unsigned long long)seed);
            prev = r.share_e6;
        }
    }
}
