/* report_evolve_html.c: the evolve part of a report page: the selected parameters and how
 * they were chosen (with the warning when flagged), the run's settings, the Pareto front as a
 * scatter plot (inline SVG, drawn here so it needs no script) and a table whose members show
 * their equity curve when clicked (web/report.js), the convergence history, and the
 * walk-forward in-sample/out-of-sample table. Fixed formats throughout: the same document
 * gives the same bytes. */
#include "report_int.h"

#include "noderr/assert.h"

#include <math.h>
#include <string.h>

#define PLOT_W 360.0
#define PLOT_H 230.0
#define PLOT_PAD 36.0

typedef struct axis {
    double lo, hi;
} axis_t;

static void axis_add(axis_t *a, double v)
{
    if (!isfinite(v))
        return;
    a->lo = fmin(a->lo, v);
    a->hi = fmax(a->hi, v);
}

static void axis_fix(axis_t *a)
{
    if (!isfinite(a->lo)) {
        a->lo = 0;
        a->hi = 1;
    }
    if (!(a->hi > a->lo)) {
        a->lo -= 0.5;
        a->hi += 0.5;
    }
}

static double px_x(const axis_t *a, double v)
{
    return PLOT_PAD + (v - a->lo) / (a->hi - a->lo) * (PLOT_W - 1.5 * PLOT_PAD);
}

static double px_y(const axis_t *a, double v)
{
    return PLOT_H - PLOT_PAD + (v - a->lo) / (a->hi - a->lo) * (2.0 * PLOT_PAD - PLOT_H) + 0.0;
}

static void plot_frame(nd__report_sb_t *sb, const char *id, const axis_t *x, const axis_t *y,
                       const char *x_label, const char *y_label)
{
    nd__report_sb_printf(sb, "<svg class=\"plot\" id=\"%s\" viewBox=\"0 0 %.0f %.0f\" "
                             "font-size=\"10\" font-family=\"sans-serif\" role=\"img\">\n"
                             "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                             "fill=\"#fff\" stroke=\"#cbd5e1\"/>\n", id, PLOT_W, PLOT_H,
                         PLOT_PAD, PLOT_PAD / 2, PLOT_W - 1.5 * PLOT_PAD,
                         PLOT_H - 1.5 * PLOT_PAD);
    nd__report_sb_printf(sb, "<text x=\"2\" y=\"%.0f\">%.4g</text><text x=\"2\" y=\"%.0f\">"
                             "%.4g</text>\n", PLOT_PAD / 2 + 8, y->hi, PLOT_H - PLOT_PAD, y->lo);
    nd__report_sb_printf(sb, "<text x=\"%.0f\" y=\"%.0f\">%.4g</text><text x=\"%.0f\" y=\"%.0f\""
                             " text-anchor=\"end\">%.4g</text>\n", PLOT_PAD, PLOT_H - PLOT_PAD + 12,
                         x->lo, PLOT_W - PLOT_PAD / 2, PLOT_H - PLOT_PAD + 12, x->hi);
    nd__report_sb_printf(sb, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", PLOT_W / 2,
                         PLOT_H - 6);
    nd__report_sb_html(sb, x_label);
    nd__report_sb_printf(sb, "</text><text x=\"%.0f\" y=\"12\">", PLOT_PAD);
    nd__report_sb_html(sb, y_label);
    nd__report_sb_puts(sb, "</text>\n");
}

/* The objective names of the front, in order. */
static size_t objective_names(const json_t *front, const char **names, size_t cap)
{
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(json_array_get(front, 0), "objectives"), key, v) {
        if (n < cap)
            names[n++] = key;
    }
    return n;
}

static double member_value(const json_t *m, const char *objective)
{
    double v = NAN;
    if (objective)
        nd__report_number(json_object_get(json_object_get(m, "objectives"), objective), &v);
    else
        nd__report_number(json_object_get(m, "total_return"), &v);
    return v;
}

/* x: the second objective (total return with one), y: the first; a click selects the member. */
static void front_plot(nd__report_sb_t *sb, const json_t *front)
{
    const char *names[ND_EVOLVE_OBJECTIVES_MAX];
    size_t n_obj = objective_names(front, names, ND_EVOLVE_OBJECTIVES_MAX);
    const char *yname = n_obj ? names[0] : NULL, *xname = n_obj > 1 ? names[1] : NULL;
    axis_t x = {INFINITY, -INFINITY}, y = {INFINITY, -INFINITY};
    const json_t *m;
    size_t i;
    json_array_foreach(front, i, m) {
        axis_add(&x, member_value(m, xname));
        axis_add(&y, member_value(m, yname));
    }
    axis_fix(&x);
    axis_fix(&y);
    plot_frame(sb, "pf-plot", &x, &y, xname ? xname : "total_return", yname ? yname : "");
    json_array_foreach(front, i, m) {
        double vx = member_value(m, xname), vy = member_value(m, yname);
        if (!isfinite(vx) || !isfinite(vy))
            continue;
        nd__report_sb_printf(sb, "<circle class=\"member%s\" data-member=\"%zu\" cx=\"%.1f\" "
                                 "cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>member %zu</title>"
                                 "</circle>\n", i == 0 ? " selected" : "", i, px_x(&x, vx),
                             px_y(&y, vy), json_is_true(json_object_get(m, "halted"))
                                               ? "#ea580c" : "#2563eb", i + 1);
    }
    nd__report_sb_puts(sb, "</svg>\n");
}

static void params_text(nd__report_sb_t *sb, const json_t *params)
{
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)params, key, v) {
        nd__report_sb_puts(sb, first ? "" : " ");
        nd__report_sb_html(sb, key);
        nd__report_sb_puts(sb, "=");
        nd__report_value(sb, v, NULL);
        first = false;
    }
}

static void num_cell(nd__report_sb_t *sb, const json_t *v, const char *key)
{
    double d;
    if (nd__report_number(v, &d))
        nd__report_sb_printf(sb, "<td class=\"num\" data-v=\"%.17g\">", d);
    else
        nd__report_sb_puts(sb, "<td class=\"num\">");
    nd__report_value(sb, v, key);
    nd__report_sb_puts(sb, "</td>");
}

static void front_table(nd__report_sb_t *sb, const json_t *front)
{
    const char *names[ND_EVOLVE_OBJECTIVES_MAX];
    size_t n_obj = objective_names(front, names, ND_EVOLVE_OBJECTIVES_MAX);
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"sortable front\">\n<thead>"
                           "<tr><th>#</th><th>Parameters</th>");
    for (size_t k = 0; k < n_obj; k++) {
        nd__report_sb_puts(sb, "<th>");
        nd__report_label(sb, names[k]);
        nd__report_sb_puts(sb, "</th>");
    }
    nd__report_sb_puts(sb, "<th>Total return (all data)</th><th>Halted</th><th>Feasible</th>"
                           "</tr></thead>\n<tbody>\n");
    const json_t *m;
    size_t i;
    json_array_foreach(front, i, m) {
        nd__report_sb_printf(sb, "<tr class=\"pick%s\" data-member=\"%zu\"><td class=\"num\" "
                                 "data-v=\"%zu\">%zu</td><td>", i == 0 ? " selected" : "", i,
                             i + 1, i + 1);
        params_text(sb, json_object_get(m, "params"));
        nd__report_sb_puts(sb, "</td>");
        for (size_t k = 0; k < n_obj; k++)
            num_cell(sb, json_object_get(json_object_get(m, "objectives"), names[k]), NULL);
        num_cell(sb, json_object_get(m, "total_return"), "total_return");
        nd__report_sb_puts(sb, "<td>");
        nd__report_value(sb, json_object_get(m, "halted"), NULL);
        nd__report_sb_puts(sb, "</td><td>");
        nd__report_value(sb, json_object_get(m, "feasible"), NULL);
        nd__report_sb_puts(sb, "</td></tr>\n");
    }
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}

/* Best and mean weighted score per generation. */
static void convergence_plot(nd__report_sb_t *sb, const json_t *history)
{
    axis_t x = {INFINITY, -INFINITY}, y = {INFINITY, -INFINITY};
    const json_t *g;
    size_t i;
    json_array_foreach(history, i, g) {
        double v;
        axis_add(&x, (double)i);
        if (nd__report_number(json_object_get(g, "best"), &v))
            axis_add(&y, v);
        if (nd__report_number(json_object_get(g, "mean"), &v))
            axis_add(&y, v);
    }
    if (!isfinite(y.lo)) {
        nd__report_sb_puts(sb, "<p class=\"na\">No feasible parameter set in any generation of "
                               "the (last) run: no score to plot.</p>\n");
        return;
    }
    axis_fix(&x);
    axis_fix(&y);
    plot_frame(sb, "conv-plot", &x, &y, "generation", "weighted score: best (blue), mean (grey)");
    static const char *const keys[] = {"best", "mean"}, *const colours[] = {"#2563eb", "#94a3b8"};
    for (size_t s = 0; s < 2; s++) {
        nd__report_sb_printf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                                 "points=\"", colours[s]);
        json_array_foreach(history, i, g) {
            double v;
            if (nd__report_number(json_object_get(g, keys[s]), &v))
                nd__report_sb_printf(sb, "%.1f,%.1f ", px_x(&x, (double)i), px_y(&y, v));
        }
        nd__report_sb_puts(sb, "\"/>\n");
    }
    nd__report_sb_puts(sb, "</svg>\n");
}

static double winner_sharpe(const json_t *window, const char *which)
{
    double v = NAN;
    const json_t *w = json_array_get(json_object_get(window, "winners"), 0);
    nd__report_number(json_object_get(json_object_get(w, which), "sharpe"), &v);
    return v;
}

static void wf_table(nd__report_sb_t *sb, const json_t *windows, double chosen)
{
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"sortable\">\n<thead><tr>"
                           "<th>Window</th><th>Train from</th><th>Test from</th><th>Test to</th>"
                           "<th>Winner</th><th>IS Sharpe</th><th>OOS Sharpe</th><th>Flagged</th>"
                           "<th>Written by --out</th></tr></thead>\n<tbody>\n");
    const json_t *w;
    size_t i;
    json_array_foreach(windows, i, w) {
        const json_t *top = json_array_get(json_object_get(w, "winners"), 0);
        nd__report_sb_printf(sb, "<tr%s><td class=\"num\" data-v=\"%zu\">%zu</td><td>",
                             (double)(i + 1) == chosen ? " class=\"selected\"" : "", i + 1, i + 1);
        nd__report_value(sb, json_object_get(w, "train_start"), NULL);
        nd__report_sb_puts(sb, "</td><td>");
        nd__report_value(sb, json_object_get(w, "test_start"), NULL);
        nd__report_sb_puts(sb, "</td><td>");
        nd__report_value(sb, json_object_get(w, "test_end"), NULL);
        nd__report_sb_puts(sb, "</td><td>");
        params_text(sb, json_object_get(top, "params"));
        nd__report_sb_puts(sb, "</td>");
        json_t *is = json_real(winner_sharpe(w, "in_sample"));
        json_t *oos = json_real(winner_sharpe(w, "out_of_sample"));
        num_cell(sb, is, "sharpe");
        num_cell(sb, oos, "sharpe");
        json_decref(is);
        json_decref(oos);
        nd__report_sb_puts(sb, json_is_true(json_object_get(top, "flagged"))
                                   ? "<td><span class=\"badge fail\">FLAGGED</span></td>"
                                   : "<td>no</td>");
        nd__report_sb_puts(sb, (double)(i + 1) == chosen ? "<td>yes</td></tr>\n"
                                                          : "<td></td></tr>\n");
    }
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}

static void selection_part(nd__report_sb_t *sb, const json_t *ev)
{
    const char *warning = nd__report_string(ev, "warning", NULL);
    if (warning) {
        nd__report_sb_puts(sb, "<p class=\"warn\">Warning: ");
        nd__report_sb_html(sb, warning);
        nd__report_sb_puts(sb, "</p>\n");
    }
    json_t *rec = json_pack("{s:O}", "selected_parameters", json_object_get(ev,
                                                                            "selected_params"));
    if (json_object_get(ev, "selection"))
        json_object_set(rec, "selection", json_object_get(ev, "selection"));
    json_object_del(json_object_get(rec, "selection"), "candidates");
    nd__report_sb_puts(sb, "<h3>Selected parameters</h3>\n");
    nd__report_record_table(sb, rec);
    json_decref(rec);
    nd__report_sb_puts(sb, "<h3>Settings</h3>\n");
    nd__report_record_table(sb, json_object_get(ev, "settings"));
}

static void blob_front(nd__report_sb_t *blob, const json_t *front)
{
    nd__report_sb_puts(blob, ",\"evolve\":{\"front\":[");
    const json_t *m;
    size_t i;
    json_array_foreach(front, i, m) {
        nd__report_points_t eq;
        if (nd__report_points_read(json_object_get(m, "equity"), &eq) != ND_OK) {
            blob->oom = true;
            return;
        }
        nd__report_sb_puts(blob, i ? ",{\"label\":\"" : "{\"label\":\"");
        nd__report_sb_printf(blob, "member %zu\",\"equity\":[", i + 1);
        for (size_t k = 0; k < eq.count; k++)
            nd__report_sb_printf(blob, "%s[%lld,%.10g]", k ? "," : "", (long long)eq.time_s[k],
                                 eq.value[k]);
        nd__report_sb_puts(blob, "]}");
        nd__report_points_free(&eq);
    }
    nd__report_sb_puts(blob, "]}");
}

nd_err_t nd__report_evolve_html(nd__report_sb_t *sb, nd__report_sb_t *blob, const json_t *ev)
{
    ND_ASSERT(sb != NULL && blob != NULL);
    ND_ASSERT(json_is_object(ev));
    const json_t *front = json_object_get(ev, "front");
    nd__report_sb_puts(sb, "<section class=\"overview evolve\" id=\"evolve\">\n<h2>Evolve</h2>\n");
    selection_part(sb, ev);
    nd__report_sb_printf(sb, "<h3>Pareto front (%zu shown of %lld; click a member for its "
                             "equity over all the data)</h3>\n<div class=\"grid2\"><div>\n",
                         json_array_size(front),
                         (long long)json_integer_value(json_object_get(ev, "front_size")));
    front_plot(sb, front);
    nd__report_sb_puts(sb, "</div><div><div class=\"chart chart-eq\" id=\"pf-eq\"></div>\n"
                           "<p class=\"legend\" id=\"pf-label\"></p></div></div>\n");
    front_table(sb, front);
    nd__report_sb_puts(sb, "<h3>Convergence</h3>\n");
    convergence_plot(sb, json_object_get(ev, "history"));
    const json_t *wf = json_object_get(ev, "walk_forward");
    if (json_is_array(wf)) {
        double chosen = NAN;
        nd__report_number(json_object_get(json_object_get(ev, "selection"), "window"), &chosen);
        nd__report_sb_puts(sb, "<h3>Walk-forward: in sample against out of sample</h3>\n");
        wf_table(sb, wf, chosen);
    }
    nd__report_sb_puts(sb, "</section>\n");
    blob_front(blob, front);
    return sb->oom || blob->oom ? ND_ENOMEM : ND_OK;
}
