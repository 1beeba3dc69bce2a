/* simtest_audit.c: recording in the harness. A quarter of the worlds record the run into the
 * compliance store in memory, committing in small random batches on the simulated clock; at the
 * end the audit chain must verify and hold every fill the ledger booked (count and signed
 * quantity an instrument), so no acknowledged fill is missing from the record. */
#include "simtest_int.h"

#include <string.h>

static const char *const strategy_names[SIM_STRATEGIES_MAX] = {"chaos_0", "chaos_1", "chaos_2"};

nd_err_t nd__simtest_audit_open(sim_t *s, char *err, size_t err_len)
{
    if (!nd__simtest_chance(s, 0.25))
        return ND_OK;
    uint32_t batch = 1 + (uint32_t)nd_rand_below(&s->rng, 64);
    nd_err_t rc = nd_store_open("mem:", 0, &s->store, err, err_len);
    if (rc == ND_OK)
        rc = nd_recorder_create(s->store, "sim", s->inst, s->inst_count, strategy_names,
                                s->strat_count, batch, &s->recorder, err, err_len);
    if (rc == ND_OK)
        rc = nd_recorder_set_commit(s->recorder, 0, 60000, &s->clock.clock, err, err_len);
    return rc;
}

void nd__simtest_audit_close(sim_t *s)
{
    nd_recorder_destroy(s->recorder);
    nd_store_close(s->store);
}

typedef struct fill_sum {
    const sim_t *s;
    int64_t count;
    int64_t qty[SIM_INSTRUMENTS_MAX];
} fill_sum_t;

static nd_err_t add_fill(void *ctx, const nd_record_t *rec)
{
    fill_sum_t *f = ctx;
    f->count++;
    for (uint32_t i = 0; i < f->s->inst_count; i++)
        if (strcmp(rec->instrument, f->s->inst[i].symbol) == 0)
            f->qty[i] += rec->side * rec->qty;
    return ND_OK;
}

void nd__simtest_audit_check(sim_t *s)
{
    if (!s->recorder || s->broken)
        return;
    char err[320] = "";
    nd_audit_result_t res;
    if (nd_recorder_flush(s->recorder, err, sizeof err) != ND_OK ||
        nd_audit_verify(s->store, &res, err, sizeof err) != ND_OK) {
        nd__simtest_broke(s, "audit", "the store could not be written or read: %s", err);
        return;
    }
    s->report->records = res.verified;
    if (res.problem != ND_AUDIT_OK) {
        nd__simtest_broke(s, "audit", "the chain does not verify at seq %lld: %s",
                          (long long)res.seq, res.detail);
        return;
    }
    fill_sum_t f = {.s = s};
    nd_record_filter_t filter = {.kind_mask = 1u << ND_RECORD_FILL};
    if (nd_store_scan(s->store, &filter, &f, add_fill, err, sizeof err) != ND_OK) {
        nd__simtest_broke(s, "audit", "the fills could not be read back: %s", err);
        return;
    }
    if (f.count != s->report->fills)
        nd__simtest_broke(s, "audit", "%lld fill records for %lld fills booked",
                          (long long)f.count, (long long)s->report->fills);
    for (uint32_t i = 0; i < s->inst_count && !s->broken; i++) {
        int64_t net = 0;
        for (uint32_t k = 0; k < s->strat_count; k++)
            net += s->pos[k][i];
        if (net != f.qty[i])
            nd__simtest_broke(s, "audit", "the fill records of %s add up to %lld, the ledger holds "
                              "%lld", s->inst[i].symbol, (long long)f.qty[i], (long long)net);
    }
}
