/* xsim_metrics.c: exchange-sim's Prometheus metrics (`noderr exchange-sim --metrics`), served
 * as GET /metrics on its own server: orders and fills of the user account, connections open
 * and accepted, HTTP requests, WebSocket messages in and out, faults injected by kind
 * (docs/monitoring.md). Counted on the server's loop thread. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <string.h>

static const char *const fault_kinds[] = {"disconnect", "stale",     "drop",   "duplicate",
                                          "delay",      "gap",       "reject", "rate_limit",
                                          "skew",       "partial_fills"};
#define FAULT_KINDS (sizeof fault_kinds / sizeof fault_kinds[0])

struct nd__xsim_metrics {
    nd_prom_t *prom;
    const nd_xsim_t *x;
    nd_prom_cell_t *orders, *fills, *open, *accepted, *requests, *ws_in, *ws_out;
    nd_prom_cell_t *faults[FAULT_KINDS];
};

static void collect(void *ctx)
{
    nd__xsim_metrics_t *m = ctx;
    nd_prom_set(m->orders, nd_xsim_order_count(m->x));
    nd_prom_set(m->fills, (int64_t)nd_xsim_trade_count(m->x));
}

static nd_err_t add(nd__xsim_metrics_t *m, nd_prom_type_t type, const char *name, const char *help,
                    const char *label, const char *value, nd_prom_cell_t **cell, char *err,
                    size_t err_len)
{
    nd_prom_family_t *f = NULL;
    const char *labels[] = {label, NULL};
    nd_err_t rc = nd_prom_family(m->prom, type, name, help, 0, label ? labels : NULL, NULL, 0,
                                 &f, err, err_len);
    if (rc != ND_OK)
        return rc;
    return nd_prom_series(f, label ? (const char *[]){value} : NULL, cell);
}

/* A counter family with one label and a series per value. */
static nd_err_t add_labelled(nd__xsim_metrics_t *m, const char *name, const char *help,
                             const char *label, const char *const *values, size_t count,
                             nd_prom_cell_t **cells, char *err, size_t err_len)
{
    nd_prom_family_t *f = NULL;
    const char *labels[] = {label, NULL};
    nd_err_t rc = nd_prom_family(m->prom, ND_PROM_COUNTER, name, help, 0, labels, NULL, 0, &f,
                                 err, err_len);
    for (size_t k = 0; rc == ND_OK && k < count; k++)
        rc = nd_prom_series(f, (const char *[]){values[k]}, &cells[k]);
    return rc;
}

nd_err_t nd__xsim_metrics_create(const nd_xsim_t *x, int64_t start_real_ns,
                                 nd__xsim_metrics_t **out, char *err, size_t err_len)
{
    ND_ASSERT(x != NULL && out != NULL);
    nd__xsim_metrics_t *m = nd_calloc(1, sizeof *m);
    if (!m || nd_prom_create(&m->prom) != ND_OK) {
        nd_free(m);
        return ND_ENOMEM;
    }
    m->x = x;
    nd_prom_cell_t *ws[2];
    const char *dirs[] = {"in", "out"};
    nd_err_t rc = add(m, ND_PROM_COUNTER, "noderr_xsim_orders_total",
                      "Orders the user account placed.", NULL, NULL, &m->orders, err, err_len);
    if (rc == ND_OK)
        rc = add(m, ND_PROM_COUNTER, "noderr_xsim_fills_total", "Trades of the user account.",
                 NULL, NULL, &m->fills, err, err_len);
    if (rc == ND_OK)
        rc = add(m, ND_PROM_GAUGE, "noderr_xsim_connections", "Client connections open.", NULL,
                 NULL, &m->open, err, err_len);
    if (rc == ND_OK)
        rc = add(m, ND_PROM_COUNTER, "noderr_xsim_connections_total",
                 "Client connections accepted.", NULL, NULL, &m->accepted, err, err_len);
    if (rc == ND_OK)
        rc = add(m, ND_PROM_COUNTER, "noderr_xsim_http_requests_total",
                 "HTTP requests answered (REST, admin, metrics).", NULL, NULL, &m->requests, err,
                 err_len);
    if (rc == ND_OK)
        rc = add_labelled(m, "noderr_xsim_ws_messages_total",
                          "WebSocket data messages by direction (in: from clients).", "direction",
                          dirs, 2, ws, err, err_len);
    if (rc == ND_OK)
        rc = add_labelled(m, "noderr_xsim_faults_injected_total",
                          "Faults injected through the admin API, by kind.", "fault",
                          fault_kinds, FAULT_KINDS, m->faults, err, err_len);
    if (rc == ND_OK)
        rc = nd_prom_process_metrics(m->prom, start_real_ns, err, err_len);
    if (rc == ND_OK)
        rc = nd_prom_on_collect(m->prom, collect, m);
    if (rc != ND_OK) {
        nd__xsim_metrics_destroy(m);
        return rc;
    }
    m->ws_in = ws[0];
    m->ws_out = ws[1];
    *out = m;
    return ND_OK;
}

void nd__xsim_metrics_destroy(nd__xsim_metrics_t *m)
{
    if (!m)
        return;
    nd_prom_destroy(m->prom);
    nd_free(m);
}

void nd__xsim_metrics_count(nd__xsim_metrics_t *m, nd__xsim_count_t what, int64_t n)
{
    if (!m)
        return;
    nd_prom_cell_t *cells[] = {m->open, m->accepted, m->requests, m->ws_in, m->ws_out};
    ND_ASSERT((size_t)what < sizeof cells / sizeof cells[0]);
    nd_prom_add(cells[what], n);
}

void nd__xsim_metrics_fault(nd__xsim_metrics_t *m, const char *kind)
{
    for (size_t k = 0; m && kind && k < FAULT_KINDS; k++)
        if (strcmp(kind, fault_kinds[k]) == 0)
            nd_prom_add(m->faults[k], 1);
}

nd_err_t nd__xsim_metrics_render(nd__xsim_metrics_t *m, char **out, size_t *out_len)
{
    ND_ASSERT(m != NULL);
    return nd_prom_render(m->prom, out, out_len);
}
