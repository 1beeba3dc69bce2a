/* report_html.c: the HTML report of `noderr evolve --report` (evolve.h): self-contained, with
 * inline SVG charts and no scripts or external resources, so it opens anywhere offline. */
#include "noderr/evolve.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#define SVG_W 640.0
#define SVG_H 280.0
#define SVG_PAD 48.0

typedef struct chart {
    const char *title, *x_label;
    const double *x;
    const double *ys[3];
    const char *names[3];
    int series;
    size_t n;
    bool scatter;
} chart_t;

static void chart_range(const chart_t *c, double *x0, double *x1, double *y0, double *y1)
{
    *x0 = *y0 = INFINITY;
    *x1 = *y1 = -INFINITY;
    for (size_t i = 0; i < c->n; i++) {
        *x0 = fmin(*x0, c->x[i]);
        *x1 = fmax(*x1, c->x[i]);
        for (int s = 0; s < c->series; s++) {
            if (isfinite(c->ys[s][i])) {
                *y0 = fmin(*y0, c->ys[s][i]);
                *y1 = fmax(*y1, c->ys[s][i]);
            }
        }
    }
    if (!(*x1 > *x0)) {
        *x0 -= 1;
        *x1 += 1;
    }
    if (!isfinite(*y0) || !(*y1 > *y0)) {
        *y0 = isfinite(*y0) ? *y0 - 1 : 0;
        *y1 = *y0 + 2;
    }
}

static void svg_chart(FILE *f, const chart_t *c)
{
    static const char *colours[3] = {"#1f77b4", "#d62728", "#2ca02c"};
    double x0, x1, y0, y1;
    chart_range(c, &x0, &x1, &y0, &y1);
    double pw = SVG_W - 2 * SVG_PAD, ph = SVG_H - 2 * SVG_PAD;
    fprintf(f, "<h2>%s</h2>\n<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f'"
               " font-family='sans-serif' font-size='11'>\n"
               "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#999'/>\n",
            c->title, SVG_W, SVG_H, SVG_PAD, SVG_PAD, pw, ph);
    fprintf(f, "<text x='%.0f' y='%.0f'>%.4g</text><text x='%.0f' y='%.0f'>%.4g</text>\n", 2.0,
            SVG_PAD + 4, y1, 2.0, SVG_PAD + ph, y0);
    fprintf(f, "<text x='%.0f' y='%.0f'>%.4g</text><text x='%.0f' y='%.0f' text-anchor='end'>"
               "%.4g</text><text x='%.0f' y='%.0f' text-anchor='middle'>%s</text>\n",
            SVG_PAD, SVG_H - SVG_PAD + 14, x0, SVG_W - SVG_PAD, SVG_H - SVG_PAD + 14, x1,
            SVG_W / 2, SVG_H - 8, c->x_label);
    for (int s = 0; s < c->series; s++) {
        if (!c->scatter)
            fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", colours[s]);
        for (size_t i = 0; i < c->n; i++) {
            if (!isfinite(c->ys[s][i]))
                continue;
            double px = SVG_PAD + (c->x[i] - x0) / (x1 - x0) * pw;
            double py = SVG_PAD + ph - (c->ys[s][i] - y0) / (y1 - y0) * ph;
            if (c->scatter)
                fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px, py, colours[s]);
            else
                fprintf(f, "%.1f,%.1f ", px, py);
        }
        if (!c->scatter)
            fputs("'/>\n", f);
        fprintf(f, "<text x='%.0f' y='%.0f' fill='%s'>%s</text>\n", SVG_PAD + 8 + 140.0 * s,
                SVG_PAD - 8, colours[s], c->names[s]);
    }
    fputs("</svg>\n", f);
}

static void report_charts(FILE *f, const nd_evolve_task_t *t, const nd_evolve_result_t *r,
                          double *buf)
{
    size_t n = r->history_count;
    double *gen = buf, *best = buf + n, *mean = buf + 2 * n, *hv = buf + 3 * n;
    double *div = buf + 4 * n, *rate = buf + 5 * n;
    for (size_t i = 0; i < n; i++) {
        gen[i] = r->history[i].generation;
        best[i] = r->history[i].best;
        mean[i] = r->history[i].mean;
        hv[i] = r->history[i].hypervolume;
        div[i] = r->history[i].diversity;
        rate[i] = r->history[i].mutation_rate;
    }
    chart_t c1 = {"Convergence: weighted score", "generation", gen, {best, mean, NULL},
                  {"best", "mean (feasible)", NULL}, 2, n, false};
    chart_t c2 = {"Hypervolume of the first front", "generation", gen, {hv, NULL, NULL},
                  {"hypervolume", NULL, NULL}, 1, n, false};
    chart_t c3 = {"Diversity and mutation rate", "generation", gen, {div, rate, NULL},
                  {"diversity", "mutation rate", NULL}, 2, n, false};
    svg_chart(f, &c1);
    svg_chart(f, &c2);
    svg_chart(f, &c3);
    double *px = buf + 6 * n, *py = px + r->front_count;
    bool two = t->objective_count >= 2;
    for (size_t i = 0; i < r->front_count; i++) {
        px[i] = two ? r->front[i].objectives[1] : r->front[i].genes[0];
        py[i] = r->front[i].objectives[0];
    }
    char title[160];
    snprintf(title, sizeof title, "Pareto front: %s against %s",
             nd_evolve_objective_name(t->objectives[0]),
             two ? nd_evolve_objective_name(t->objectives[1]) : t->def->params[0].name);
    chart_t c4 = {title, two ? nd_evolve_objective_name(t->objectives[1])
                             : t->def->params[0].name,
                  px, {py, NULL, NULL}, {"front member", NULL, NULL}, 1, r->front_count, true};
    svg_chart(f, &c4);
}

nd_err_t nd_evolve_report_html(FILE *f, const nd_evolve_task_t *t, const nd_evolve_config_t *cfg,
                               const nd_evolve_result_t *r)
{
    ND_ASSERT(f != NULL && t != NULL);
    ND_ASSERT(cfg != NULL && r != NULL);
    double *buf = nd_calloc(6 * r->history_count + 2 * r->front_count + 1, sizeof *buf);
    if (!buf)
        return ND_ENOMEM;
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>noderr evolve: %s"
               "</title></head>\n<body style='font-family:sans-serif'>\n<h1>noderr evolve: %s"
               "</h1>\n<p>%s mode, population %u, %u generations run (stop: %s), %lld "
               "evaluations, seed %llu.</p>\n",
            t->def->name, t->def->name, cfg->mode == ND_EVOLVE_PARETO ? "Pareto" : "weighted",
            cfg->population, r->generations_run, nd_evolve_stop_name(r->stop_reason),
            (long long)r->evaluations, (unsigned long long)cfg->seed);
    report_charts(f, t, r, buf);
    fputs("</body></html>\n", f);
    nd_free(buf);
    return ND_OK;
}
