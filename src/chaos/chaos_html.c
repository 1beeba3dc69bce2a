/* chaos_html.c: the chaos suite's HTML report: one self-contained page (inline style, no
 * script) with the overall resilience score, one row a scenario (status, detection and
 * recovery against their targets, orders and P&L against the fault-free run, score) and the
 * invariants of each scenario. Text from the results is escaped. */
#include "noderr/chaos.h"

#include "noderr/assert.h"

#include <stdio.h>

/* Writes s with &, <, > and " escaped. */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void ms_cell(FILE *f, int64_t ms, int64_t target)
{
    if (ms < 0)
        fputs("<td>-</td>", f);
    else
        fprintf(f, "<td class=\"%s\">%lld ms</td>", target > 0 && ms > target ? "over" : "ok",
                (long long)ms);
}

static void row(FILE *f, const nd_chaos_result_t *r)
{
    const nd_chaos_scenario_t *sc = r->scenario;
    fprintf(f, "<tr class=\"s%d\"><td>%d</td><td>", (int)r->status, sc->number);
    esc(f, sc->name);
    fprintf(f, "</td><td>%s</td><td>", nd_chaos_category_name(sc->category));
    esc(f, nd_chaos_status_name(r->status));
    fputs("</td>", f);
    ms_cell(f, r->detect_ms, sc->detect_target_ms);
    fprintf(f, "<td>%lld ms</td>", (long long)sc->detect_target_ms);
    ms_cell(f, r->recover_ms, sc->recover_target_ms);
    fprintf(f, "<td>%lld ms</td><td>%lld / %lld</td><td>%.2f / %.2f</td><td>",
            (long long)sc->recover_target_ms, (long long)r->orders_fault,
            (long long)r->orders_baseline, (double)r->pnl_fault_e8 / 1e8,
            (double)r->pnl_baseline_e8 / 1e8);
    if (r->score >= 0)
        fprintf(f, "%d", r->score);
    fputs("</td><td>", f);
    esc(f, r->reason);
    if (r->detected_by[0]) {
        fputs(r->reason[0] ? "; detected by " : "detected by ", f);
        esc(f, r->detected_by);
    }
    fputs("<ul>", f);
    for (int i = 0; i < ND_CHAOS_INVARIANTS; i++) {
        const nd_chaos_invariant_t *v = &r->inv[i];
        if (!v->checked)
            continue;
        fprintf(f, "<li class=\"%s\">%s: ", v->held ? "ok" : "over", v->name);
        esc(f, v->why);
        fputs("</li>", f);
    }
    fputs("</ul></td></tr>\n", f);
}

nd_err_t nd_chaos_html(FILE *f, const nd_chaos_options_t *opt, const nd_chaos_result_t *results,
                       size_t n)
{
    ND_ASSERT(f != NULL && opt != NULL);
    int overall = nd_chaos_score_overall(results, n);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>noderr chaos "
          "report</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
          "collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}.ok{color:"
          "#070}.over{color:#b00}.s1{background:#fee}.s2,.s3{color:#777}ul{margin:0;"
          "padding-left:1.2em;font-size:90%}</style></head><body>\n", f);
    fprintf(f, "<h1>Chaos suite: resilience score %s%d</h1>\n", overall < 0 ? "n/a " : "",
            overall < 0 ? 0 : overall);
    fprintf(f, "<p>seed %llu, %s run, defect planted: %s. Score per scenario (docs/chaos.md): "
            "40 recovered + 30 invariants + 15 detection + 10 recovery + 5 cost.</p>\n",
            (unsigned long long)opt->seed, opt->short_run ? "short" : "full",
            opt->defect == ND_CHAOS_DEFECT_NONE ? "none" : "yes");
    fputs("<table><tr><th>#</th><th>scenario</th><th>category</th><th>status</th><th>detect"
          "</th><th>target</th><th>recover</th><th>target</th><th>orders fault / baseline</th>"
          "<th>P&amp;L fault / baseline</th><th>score</th><th>details</th></tr>\n", f);
    for (size_t i = 0; i < n; i++)
        row(f, &results[i]);
    fputs("</table></body></html>\n", f);
    return ferror(f) ? ND_EIO : ND_OK;
}
