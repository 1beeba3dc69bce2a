/* fuzz_launch_config.c: libFuzzer driver for the launcher's ramp, allocation and rollback
 * configs and the saved ramp and allocation states (ramp.h, allocation.h, guard.h): the bytes a
 * launch config file and a state file bring in.
 *
 * The input is a JSON document; its "ramp", "allocation" and "rollback" members go to the three
 * config parsers, its "ramp_state" and "allocation_state" members to the state loaders (under
 * the parsed config, or the default). A parser must either refuse with a message naming the
 * key or give a config whose invariants hold, and then the module must run on it: the schedule
 * starts above 0, never decreases and never passes 100%; a ramp ticked and cut stays at or
 * below its schedule; an allocation stays within its caps and the total; a guard decides. */
#include "noderr/allocation.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/guard.h"
#include "noderr/ramp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_schedule(const nd_ramp_config_t *cfg)
{
    int64_t prev = 0, end = nd_ramp_schedule_end(cfg);
    ND_ASSERT(end >= 0);
    for (int k = 0; k <= 64; k++) {
        int64_t at = end / 64 * k, share = nd_ramp_schedule_share(cfg, at);
        ND_ASSERT(share > 0 && share <= ND_RAMP_SHARE_ONE);
        ND_ASSERT(share >= prev);
        ND_ASSERT(nd_ramp_schedule_step_start(cfg, at) <= at);
        prev = share;
    }
}

static void run_ramp(nd_ramp_t *r, int64_t from_ns)
{
    const nd_ramp_config_t *cfg = &r->cfg;
    int64_t now = from_ns > r->last_tick_ns ? from_ns : r->last_tick_ns;
    for (int k = 0; k < 40 && now < INT64_MAX / 2; k++) {
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX], cut;
        uint32_t n = 0;
        ND_ASSERT(nd_ramp_tick(r, now, k % 7 != 3, "fuzz", ev, &n) == ND_OK);
        ND_ASSERT(n <= ND_RAMP_TICK_EVENTS_MAX);
        if (k == 20)
            ND_ASSERT(nd_ramp_cut(r, now, 500000, NULL, &cut) == ND_OK);
        ND_ASSERT(r->share_e6 <= nd_ramp_schedule_share(cfg, now - r->start_ns));
        ND_ASSERT(r->share_e6 == nd_ramp_schedule_share(cfg, r->progress_ns));
        now += ND_NS_PER_HOUR * (k % 3) + ND_NS_PER_SEC;
    }
}

static void fuzz_ramp(json_t *doc)
{
    char err[256];
    nd_ramp_config_t cfg;
    if (nd_ramp_config_parse(json_object_get(doc, "ramp"), "f.json", &cfg, err, sizeof err) !=
        ND_OK) {
        ND_ASSERT(strstr(err, "f.json: launch") == err);
        nd_ramp_config_default(&cfg);
    }
    check_schedule(&cfg);
    nd_ramp_t r;
    nd_ramp_init(&r, &cfg);
    json_t *state = json_object_get(doc, "ramp_state");
    if (state && nd_ramp_state_load(&r, &cfg, state, err, sizeof err) != ND_OK)
        return;
    ND_ASSERT(r.progress_ns <= r.last_tick_ns - r.start_ns);
    run_ramp(&r, 1767225600LL * ND_NS_PER_SEC);
    json_t *saved = nd_ramp_state_json(&r);
    nd_ramp_t back;
    ND_ASSERT(nd_ramp_state_load(&back, &cfg, saved, err, sizeof err) == ND_OK);
    ND_ASSERT(back.share_e6 == r.share_e6 && back.progress_ns == r.progress_ns);
    json_decref(saved);
}

static void fuzz_allocation(json_t *doc, const uint8_t *data, size_t size)
{
    char err[256];
    nd_allocation_config_t cfg;
    if (nd_allocation_config_parse(json_object_get(doc, "allocation"), "f.json", &cfg, err,
                                   sizeof err) != ND_OK) {
        ND_ASSERT(strstr(err, "f.json: launch") == err);
        return;
    }
    nd_allocation_t a;
    nd_allocation_init(&a, &cfg);
    json_t *state = json_object_get(doc, "allocation_state");
    if (state && nd_allocation_state_load(&a, &cfg, state, err, sizeof err) != ND_OK)
        return;
    static int64_t returns[4][32];
    nd_allocation_input_t in[4];
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 32; k++)
            returns[i][k] = size ? (int64_t)data[(size_t)(i * 32 + k) % size] * 997 - 120000 : 0;
        in[i] = (nd_allocation_input_t){returns[i], (uint32_t)(8 * i + 2), i != 3};
    }
    nd_allocation_event_t ev;
    int64_t now = a.last_ns > 0 ? a.last_ns : 0;
    if (nd_allocation_rebalance(&a, now, in, 4, &ev, err, sizeof err) != ND_OK)
        return; /* too many at the floor, or the saved time ahead */
    int64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        ND_ASSERT(ev.target_e6[i] >= 0 && ev.target_e6[i] <= cfg.max_e6);
        ND_ASSERT(i == 3 || ev.target_e6[i] >= cfg.min_e6);
        ND_ASSERT(ev.new_e6[i] >= 0 && ev.new_e6[i] <= ND_ALLOCATION_ONE);
        sum += ev.new_e6[i];
    }
    ND_ASSERT(ev.at_once || ev.turnover_e6 <= cfg.turnover_e6);
    ND_ASSERT(sum <= cfg.total_e6);
}

static void fuzz_guard(json_t *doc)
{
    char err[256];
    nd_guard_config_t cfg;
    if (nd_guard_config_parse(json_object_get(doc, "rollback"), "f.json", &cfg, err,
                              sizeof err) != ND_OK) {
        ND_ASSERT(strstr(err, "f.json: launch") == err);
        return;
    }
    ND_ASSERT(cfg.errors_pause < cfg.errors_max);
    ND_ASSERT(cfg.drawdown_pause_e6 < cfg.drawdown_e6);
    static nd_guard_t g;
    nd_guard_init(&g, &cfg, 0);
    for (int k = 0; k < 50; k++) {
        nd_guard_error(&g, k * ND_NS_PER_SEC);
        nd_guard_health(&g, k * ND_NS_PER_SEC, k % 5 != 0);
        nd_guard_drawdown(&g, k * ND_NS_PER_SEC, k * 2000);
    }
    nd_guard_decision_t d;
    nd_guard_evaluate(&g, 50 * ND_NS_PER_SEC, &d);
    ND_ASSERT(d.action == ND_GUARD_NONE || d.action == ND_GUARD_PAUSE_RAMP ||
              d.action == ND_GUARD_ROLLBACK);
    ND_ASSERT((d.action == ND_GUARD_NONE) == (d.reason[0] == '\0'));
    ND_ASSERT(d.action == ND_GUARD_ROLLBACK ? d.cut_e6 == cfg.cut_e6 : d.cut_e6 == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    if (!doc)
        return 0;
    if (json_is_object(doc)) {
        fuzz_ramp(doc);
        fuzz_allocation(doc, data, size);
        fuzz_guard(doc);
    }
    json_decref(doc);
    return 0;
}
