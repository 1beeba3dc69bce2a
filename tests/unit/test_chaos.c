/* test_chaos.c: the chaos suite's pure parts: the scenario table (14 in the issue's 5
 * categories), the resilience score at and around its targets, the verdict naming the broken
 * invariant, the defect names, the JSON and HTML reports, and the results as chaos records in a
 * store (retention class "chaos"). The runs themselves are tested by
 * tests/integration/70_chaos.sh. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/chaos.h"
#include "noderr/store.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static nd_chaos_result_t good(const char *name)
{
    nd_chaos_result_t r;
    nd_chaos_result_init(&r, nd_chaos_find(name));
    r.status = ND_CHAOS_PASS;
    r.recovered = true;
    r.detect_ms = 100;
    r.recover_ms = 200;
    r.orders_fault = 4;
    r.orders_baseline = 4;
    /* A paper run: the six paper invariants checked, the venue ones (6, 7: live only) not. */
    for (int i = 0; i < 6; i++) {
        r.inv[i].checked = true;
        r.inv[i].held = true;
    }
    return r;
}

Test(chaos, table_has_the_issues_14_in_5_categories)
{
    size_t n = 0;
    const nd_chaos_scenario_t *sc = nd_chaos_scenarios(&n);
    cr_assert_eq(n, 14);
    int per[5] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(sc[i].number, (int)i + 1);
        cr_assert_eq(nd_chaos_find(sc[i].name), &sc[i]);
        per[sc[i].category]++;
    }
    cr_assert_eq(per[ND_CHAOS_MODULE], 3);
    cr_assert_eq(per[ND_CHAOS_DATA], 3);
    cr_assert_eq(per[ND_CHAOS_NETWORK], 3);
    cr_assert_eq(per[ND_CHAOS_MARKET], 2);
    cr_assert_eq(per[ND_CHAOS_RESOURCE], 3);
    cr_assert_null(nd_chaos_find("nope"));
    cr_assert_str_eq(nd_chaos_category_name(ND_CHAOS_NETWORK), "network");
}

Test(chaos, score_full_marks_and_each_part)
{
    nd_chaos_result_t r = good("stale_feed");
    nd_chaos_judge(&r);
    cr_assert_eq(r.status, ND_CHAOS_PASS);
    cr_assert_eq(r.score, 100);
    r.recover_ms = 4000; /* 4x the 1 s target: no recovery-time points */
    cr_assert_eq(nd_chaos_score(&r), 90);
    r.recover_ms = 2500; /* halfway between 1x and 4x: 5 of 10 */
    cr_assert_eq(nd_chaos_score(&r), 95);
    r = good("stale_feed");
    r.detect_ms = -1; /* needed detection, none: 0 of 15 */
    cr_assert_eq(nd_chaos_score(&r), 85);
    r = good("stale_feed");
    r.orders_fault = 1; /* a quarter of the baseline's orders: 1 of 5 */
    cr_assert_eq(nd_chaos_score(&r), 96);
    r = good("stale_feed");
    r.recovered = false; /* neither the 40 nor the recovery time's 10 */
    cr_assert_eq(nd_chaos_score(&r), 50);
    r = good("cpu_starvation"); /* no detection target: its 15 always */
    r.detect_ms = -1;
    cr_assert_eq(nd_chaos_score(&r), 100);
}

Test(chaos, a_broken_invariant_fails_and_is_named)
{
    nd_chaos_result_t r = good("stale_feed");
    r.inv[3].held = false;
    snprintf(r.inv[3].why, sizeof r.inv[3].why, "1 strategy orders left working");
    nd_chaos_judge(&r);
    cr_assert_eq(r.status, ND_CHAOS_FAIL);
    cr_assert(strstr(r.reason, "invariant halted_silent broken: 1 strategy orders") != NULL,
              "%s", r.reason);
    cr_assert_eq(r.score, 95); /* 30 x 5/6 = 25 of 30 */
    r = good("connector_killed"); /* live: the venue invariants checked too */
    r.inv[6].checked = r.inv[7].checked = r.inv[7].held = true;
    snprintf(r.inv[6].why, sizeof r.inv[6].why, "1 of our orders left open at exchange-sim");
    nd_chaos_judge(&r);
    cr_assert_eq(r.status, ND_CHAOS_FAIL);
    cr_assert_str_eq(r.reason, "invariant venue_orders broken: 1 of our orders left open at "
                               "exchange-sim");
    cr_assert_eq(r.score, 96); /* 30 x 7/8 = 26.25 of 30 */
    r = good("stale_feed");
    r.detect_ms = -1;
    nd_chaos_judge(&r);
    cr_assert_eq(r.status, ND_CHAOS_FAIL);
    cr_assert_str_eq(r.reason, "the fault was never detected");
    r = good("stale_feed");
    r.recovered = false;
    nd_chaos_judge(&r);
    cr_assert_str_eq(r.reason, "not recovered");
}

Test(chaos, unscored_results_and_the_mean)
{
    nd_chaos_result_t rs[3] = {good("stale_feed"), good("disk_full"), good("process_killed")};
    nd_chaos_judge(&rs[0]);
    rs[1].recovered = false;
    nd_chaos_judge(&rs[1]);
    rs[2].status = ND_CHAOS_NOT_IMPLEMENTED;
    nd_chaos_judge(&rs[2]);
    cr_assert_eq(rs[2].score, -1);
    cr_assert_eq(nd_chaos_score_overall(rs, 3), 75); /* (100 + 50) / 2 */
    cr_assert_eq(nd_chaos_score_overall(rs + 2, 1), -1);
}

Test(chaos, defect_names)
{
    nd_chaos_defect_t d;
    cr_assert_eq(nd_chaos_defect_parse("no-stale-detect", &d), ND_OK);
    cr_assert_eq(d, ND_CHAOS_DEFECT_STALE_DETECT);
    cr_assert_eq(nd_chaos_defect_parse("no-restart", &d), ND_OK);
    cr_assert_eq(d, ND_CHAOS_DEFECT_NO_RESTART);
    cr_assert_eq(nd_chaos_defect_parse("no-cancel-on-stop", &d), ND_OK);
    cr_assert_eq(d, ND_CHAOS_DEFECT_NO_CANCEL);
    cr_assert_eq(nd_chaos_defect_parse("none", &d), ND_OK);
    cr_assert_eq(nd_chaos_defect_parse("off", &d), ND_EINVAL);
}

Test(chaos, json_html_and_store_records)
{
    nd_chaos_options_t opt = {.seed = 7, .short_run = true};
    nd_chaos_result_t rs[2] = {good("stale_feed"), good("store_writer_killed")};
    nd_chaos_judge(&rs[0]);
    rs[1].status = ND_CHAOS_NOT_IMPLEMENTED;
    nd_chaos_judge(&rs[1]);
    char *text = nd_chaos_json(&opt, rs, 2);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "%s", text);
    cr_assert_eq(json_integer_value(json_object_get(doc, "score")), 100);
    cr_assert_eq(json_integer_value(json_object_get(doc, "not_implemented")), 1);
    json_t *s0 = json_array_get(json_object_get(doc, "scenarios"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(s0, "name")), "stale_feed");
    cr_assert_eq(json_array_size(json_object_get(s0, "invariants")), ND_CHAOS_INVARIANTS);
    cr_assert(json_is_false(json_object_get(doc, "live")));
    json_t *v6 = json_array_get(json_object_get(s0, "invariants"), 6);
    cr_assert_str_eq(json_string_value(json_object_get(v6, "name")), "venue_orders");
    json_decref(doc);
    nd_free(text);

    char path[128], url[160];
    snprintf(path, sizeof path, "/tmp/nd_test_chaos_%d.html", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_eq(nd_chaos_html(f, &opt, rs, 2), ND_OK);
    fclose(f);
    unlink(path);

    snprintf(path, sizeof path, "/tmp/nd_test_chaos_%d.db", (int)getpid());
    snprintf(url, sizeof url, "sqlite:%s", path);
    char err[256];
    cr_assert_eq(nd_chaos_store(url, &opt, rs, 2, 1700000000000000000LL, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(nd_retention_class_of(ND_RECORD_CHAOS), ND_RETENTION_CHAOS);
    nd_store_t *s = NULL;
    cr_assert_eq(nd_store_open(url, 0, &s, err, sizeof err), ND_OK);
    nd_audit_result_t a;
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK);
    cr_assert_eq(a.problem, ND_AUDIT_OK);
    cr_assert_eq(a.last_seq, 2); /* stale_feed and the suite; not-implemented ones are not */
    nd_store_close(s);
    unlink(path);
    snprintf(url, sizeof url, "%s.head", path);
    unlink(url);
}
