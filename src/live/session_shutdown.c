/* session_shutdown.c: a session's emergency shutdown (live.h; docs/launcher.md "Shutdown and
 * resume").
 *
 * The control channel: `noderr shutdown` writes STATE_DIR/shutdown.request ({"flatten": bool,
 * "deadline_ms": N, "uid": U, "at_ns": T}) and sends SIGTERM to the pid in session.pid. Only the
 * session's own user can do both: the state directory is 0700, the signal needs the same uid
 * (or root), and the session reads the request only from a regular file (not a link) its own
 * effective uid owns with no group or other access bits, written less than a minute ago. A
 * SIGTERM without a request (systemd's stop, kill) is the same stop without flattening.
 *
 * The stop itself: the engine takes no new order; each live leg's adapter journals a cancel
 * intent for every order not done and sends one DELETE /api/v3/openOrders, queued behind the
 * orders already queued, so nothing sent before it survives it; with flatten the kill switch's
 * flattening follows (risk-owned market orders sized to each strategy's position, followed up
 * after partial fills; they bypass the halt, as a breaker's do). The loop runs until settled or
 * the deadline, then finish stops the adapters' workers (their REST clients are this thread's
 * again), syncs the journals, asks the venue what is still open and writes shutdown.json.
 * Invariant: clean means the venue said nothing is open on any symbol (live), the engine holds
 * no working order, and with flatten no position is left. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/json_cfg.h"
#include "noderr/log.h"
#include "noderr/portfolio.h"
#include "noderr/scenario.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEADLINE_MAX_NS (600 * ND_NS_PER_SEC)
#define DEFAULT_DEADLINE_NS (3 * ND_NS_PER_SEC) /* session.c's STOP_GRACE_NS */

nd_err_t nd_live_shutdown_request(const char *state_dir, const nd_live_shutdown_ask_t *ask,
                                  const nd_clock_t *clock, long *pid_out, char *err,
                                  size_t err_len)
{
    ND_ASSERT(state_dir != NULL && ask != NULL);
    json_t *body = json_pack("{s:b, s:I}", "flatten", ask->flatten, "deadline_ms",
                             (json_int_t)(ask->deadline_ns / ND_NS_PER_MS));
    if (!body)
        return ND_ENOMEM;
    nd_err_t rc = nd_live_request_send(state_dir, "shutdown", body, clock, SIGTERM, pid_out, err,
                                       err_len);
    json_decref(body);
    return rc;
}

void nd__live_shutdown_clear(const nd_live_session_t *s)
{
    char path[ND_LIVE_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/shutdown.request", s->cfg->state_dir);
    if (unlink(path) == 0)
        ND_LOG(ND_LOG_WARN, "event=shutdown_request_stale action=removed");
}

/* Takes the request into s->ask (flatten, deadline) when it is the owner's, private and fresh. */
void nd__live_shutdown_take(nd_live_session_t *s)
{
    json_t *doc = nd_live_request_take(s->cfg->state_dir, "shutdown", s->clock);
    if (!doc)
        return; /* none: a plain SIGTERM */
    json_t *flatten = json_object_get(doc, "flatten"), *deadline = json_object_get(doc,
                                                                                  "deadline_ms");
    if (!json_is_boolean(flatten) || !json_is_integer(deadline) ||
        json_integer_value(deadline) < 0 ||
        json_integer_value(deadline) > DEADLINE_MAX_NS / ND_NS_PER_MS) {
        ND_LOG(ND_LOG_WARN, "event=shutdown_request_refused why=\"malformed\"");
    } else {
        s->ask.flatten = json_is_true(flatten);
        if (json_integer_value(deadline) > 0) /* 0: the session's own */
            s->ask.deadline_ns = json_integer_value(deadline) * ND_NS_PER_MS;
        snprintf(s->shutdown.by, sizeof s->shutdown.by, "request");
    }
    json_decref(doc);
}

nd_err_t nd__live_shutdown_begin(nd_live_session_t *s)
{
    nd_err_t rc = ND_OK;
    for (uint32_t k = 0; s->cfg->live && k < s->cfg->symbol_count; k++) {
        nd_err_t lrc = nd__live_leg_cancel_all(&s->legs[k]);
        rc = rc != ND_OK ? rc : lrc;
    }
    if (s->ask.flatten) {
        ND_LOG(ND_LOG_WARN, "event=shutdown_flatten");
        nd_err_t krc = nd_engine_kill(nd_event_run_engine(s->run));
        rc = rc != ND_OK ? rc : krc;
    }
    return rc;
}

bool nd__live_shutdown_settled(const nd_live_session_t *s)
{
    const nd_engine_t *e = nd_event_run_engine(s->run);
    for (uint32_t k = 0; s->cfg->live && k < s->cfg->symbol_count; k++)
        if (nd__live_leg_cancel_all_busy(&s->legs[k]))
            return false;
    if (nd_engine_working_count(e) > 0)
        return false;
    return !s->ask.flatten || !nd_portfolio_has_positions(nd_engine_portfolio(e));
}

/* The venue's open orders on each symbol, asked with the leg's REST client once its worker is
 * stopped: -1 when a venue does not answer. */
static int64_t venue_open(nd_live_session_t *s, json_t *per_symbol)
{
    int64_t total = 0;
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        nd_live_leg_t *leg = &s->legs[k];
        nd__live_leg_stop(leg);
        char err[256] = "";
        if (leg->journal && nd_journal_sync(leg->journal) != ND_OK)
            ND_LOG(ND_LOG_ERR, "event=journal_sync_failed symbol=%s", s->cfg->venue_symbols[k]);
        if (leg->cb_exec) { /* Coinbase: the orders of ours the venue lists open */
            int64_t open = nd__live_coinbase_open(s, k);
            json_object_set_new(per_symbol, s->cfg->venue_symbols[k],
                                open < 0 ? json_null() : json_integer(open));
            total = total < 0 || open < 0 ? -1 : total + open;
            continue;
        }
        nd_binance_rest_result_t res;
        nd_err_t rc = nd_binance_rest_open_orders(leg->rest, s->cfg->venue_symbols[k], &res, err,
                                                  sizeof err);
        json_t *arr = rc == ND_OK && res.http_status == 200
                          ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
        if (rc == ND_OK)
            nd_binance_rest_result_free(&res);
        if (!json_is_array(arr)) {
            ND_LOG(ND_LOG_WARN, "event=shutdown_venue_unanswered symbol=%s why=\"%s\"",
                   s->cfg->venue_symbols[k], err[0] ? err : "not an array");
            json_object_set_new(per_symbol, s->cfg->venue_symbols[k], json_null());
            total = -1;
        } else {
            json_object_set_new(per_symbol, s->cfg->venue_symbols[k],
                                json_integer((json_int_t)json_array_size(arr)));
            total = total < 0 ? total : total + (int64_t)json_array_size(arr);
        }
        json_decref(arr);
    }
    return total;
}

static json_t *report_json(nd_live_session_t *s, json_t *venue)
{
    const nd_live_shutdown_t *r = &s->shutdown;
    const nd_engine_t *e = nd_event_run_engine(s->run);
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(s->cfg->name));
    json_object_set_new(j, "mode", json_string(s->cfg->live ? "live" : "paper"));
    json_object_set_new(j, "by", json_string(r->by));
    json_object_set_new(j, "flatten", json_boolean(r->flatten));
    json_object_set_new(j, "at", nd_json_time(nd_clock_now_ns(s->clock)));
    json_object_set_new(j, "deadline_ms", json_integer(r->deadline_ns / ND_NS_PER_MS));
    json_object_set_new(j, "took_ms", json_integer(r->took_ns / ND_NS_PER_MS));
    json_object_set_new(j, "deadline_passed", json_boolean(r->deadline_passed));
    json_object_set_new(j, "clean", json_boolean(r->clean));
    json_object_set_new(j, "working_left", json_integer(r->working_left));
    json_object_set_new(j, "positions_left", json_integer(r->positions_left));
    json_object_set_new(j, "venue_open_orders", venue);
    json_object_set_new(j, "open_orders", nd__live_orders_json(s, e));
    json_object_set_new(j, "positions", nd__live_positions_json(s, e));
    return j;
}

void nd__live_shutdown_finish(nd_live_session_t *s)
{
    nd_live_shutdown_t *r = &s->shutdown;
    const nd_engine_t *e = nd_event_run_engine(s->run);
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    r->done = true;
    r->flatten = s->ask.flatten;
    r->took_ns = nd_clock_mono_ns(s->clock) - s->stop_mono_ns;
    r->deadline_passed = !nd__live_shutdown_settled(s);
    r->working_left = nd_engine_working_count(e);
    for (uint32_t k = 0; k < nd_event_run_instrument_count(s->run); k++)
        r->positions_left += nd_portfolio_net_qty(p, k) != 0;
    json_t *venue = json_object();
    r->venue_open = s->cfg->live ? venue_open(s, venue) : 0;
    r->clean = r->venue_open == 0 && r->working_left == 0 &&
               (!r->flatten || r->positions_left == 0);
    json_t *doc = report_json(s, venue);
    char path[ND_LIVE_PATH_MAX + 32], err[512] = "no memory";
    snprintf(path, sizeof path, "%s/shutdown.json", s->cfg->state_dir);
    size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS, need = json_dumpb(doc, NULL, 0, flags);
    char *text = need ? nd_alloc(need) : NULL;
    if (!text || json_dumpb(doc, text, need, flags) != need ||
        nd_file_write(path, text, need, err, sizeof err) != ND_OK)
        ND_LOG(ND_LOG_WARN, "event=shutdown_report_write_failed why=\"%s\"", err);
    nd_free(text);
    json_decref(doc);
    ND_LOG(r->clean ? ND_LOG_INFO : ND_LOG_WARN,
           "event=shutdown_done by=%s flatten=%d took_ms=%lld clean=%d working_left=%u "
           "positions_left=%u venue_open=%lld", r->by, (int)r->flatten,
           (long long)(r->took_ns / ND_NS_PER_MS), (int)r->clean, r->working_left,
           r->positions_left, (long long)r->venue_open);
    nd__live_notify_status("stopped: %s", r->clean ? "nothing left working" : "orders or "
                                                                                "positions left");
}

nd_err_t nd_live_shutdown_config_parse(const json_t *obj, const char *where,
                                       nd_live_shutdown_ask_t *out, char *err, size_t err_len)
{
    ND_ASSERT(where != NULL && out != NULL);
    nd_jcfg_t c = {.path = where, .err = err, .err_len = err_len};
    int64_t deadline_s = DEFAULT_DEADLINE_NS / ND_NS_PER_SEC;
    bool flatten = false;
    const nd_jcfg_field_t fields[] = {
        {"deadline_s", ND_JCFG_INT, &deadline_s, .lo = 1, .hi = DEADLINE_MAX_NS / ND_NS_PER_SEC},
        {"flatten_on_sigterm", ND_JCFG_BOOL, .out = &flatten},
        {.key = NULL},
    };
    json_t *o;
    nd_err_t rc = nd_jcfg_section_fields(&c, obj, "launch.shutdown", fields, &o);
    if (rc != ND_OK)
        return rc;
    out->flatten = flatten;
    out->deadline_ns = deadline_s * ND_NS_PER_SEC;
    return ND_OK;
}

void nd_live_session_set_shutdown(nd_live_session_t *s, const nd_live_shutdown_ask_t *defaults)
{
    ND_ASSERT(s != NULL && defaults != NULL);
    ND_ASSERT(!s->stopping);
    s->ask = *defaults;
}

const nd_live_shutdown_t *nd_live_session_shutdown(const nd_live_session_t *s)
{
    return &s->shutdown;
}
