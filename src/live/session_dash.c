/* session_dash.c: a session's executive dashboard (dashboard.h, docs/monitoring.md
 * "Dashboard").
 *
 * When the config has "dashboard", the session loads (or creates) STATE_DIR/dashboard.token and
 * starts the dashboard: with a listen of its own, on a thread of its own (its loop, its HTTP
 * server: nd_dashboard_thread_start), so the engine's thread only builds the snapshot (the
 * status document plus the dashboard's part) updates_per_sec times a second and hands it over;
 * without one and with metrics on, on the metrics' server on the session's loop, where the
 * publish (delta, writes to every client) runs on the engine's thread too. Controls act
 * between events, on the loop thread like everything else (the dashboard's thread carries them
 * over): the kill switch as SIGUSR1 does, pause and resume through the engine; each one, done
 * or refused, is an operator action in the store with who (the token's id) and from where (the
 * peer address). */
#include "live_int.h"

#include "noderr/assert.h"
#include "noderr/httpd.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

/* The snapshot: what `noderr status --json` shows, and the dashboard's own part under
 * "dashboard". */
static json_t *snapshot(void *ctx)
{
    nd_live_session_t *s = ctx;
    json_t *doc = nd_live_status_json(s);
    const nd_engine_t *e = nd_event_run_engine(s->run);
    json_object_set_new(doc, "dashboard",
                        nd_dashboard_engine_json(e, nd_event_run_instrument_count(s->run),
                                                 &s->dash_state));
    json_object_set_new(doc, "latency", nd__live_metrics_latency_json(s)); /* the histograms */
    return doc;
}

/* The operator action into the store: "dashboard:TOKEN_ID" did action, from peer, with what
 * came of it. */
static void record(nd_live_session_t *s, const char *action, const char *token_id,
                   const char *peer, const char *detail)
{
    if (!s->store)
        return;
    char who[32], note[384], err[256];
    snprintf(who, sizeof who, "dashboard:%s", token_id);
    snprintf(note, sizeof note, "peer=%s %s", peer, detail);
    if (nd_store_append_operator_action(s->store, nd_clock_now_ns(s->clock), who, action, note,
                                        err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "event=store_write_failed action=%s why=\"%s\"", action, err);
        s->fatal = ND_EIO;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "the store could not record %s", action);
        uv_stop(&s->loop);
    }
}

static int pause_strategy(nd_live_session_t *s, const nd_dashboard_control_t *c, char *msg,
                          size_t msg_len)
{
    nd_engine_t *e = nd_event_run_engine(s->run);
    int k = nd_dashboard_strategy_find(e, c->strategy);
    if (k < 0) {
        snprintf(msg, msg_len, "no strategy '%s' (give its name, or its index when two share "
                 "one)", c->strategy);
        return 404;
    }
    bool pause = c->action == ND_DASHBOARD_PAUSE;
    nd_err_t rc = nd_engine_strategy_pause(e, (uint32_t)k, pause);
    if (rc != ND_OK) {
        snprintf(msg, msg_len, "strategy %d: %s", k, nd_strerror(rc));
        return 409;
    }
    snprintf(msg, msg_len, "strategy %d (%s) %s", k, nd_engine_strategy_def(e, (uint32_t)k)->name,
             pause ? "paused" : "resumed");
    return 200;
}

static int control(void *ctx, const nd_dashboard_control_t *c, const char *token_id,
                   const char *peer, char *msg, size_t msg_len)
{
    nd_live_session_t *s = ctx;
    int status = 200;
    if (s->fatal != ND_OK || s->stopping) {
        snprintf(msg, msg_len, "the session is stopping");
        status = 409;
    } else if (c->action == ND_DASHBOARD_KILL) {
        ND_LOG(ND_LOG_WARN, "event=kill_switch by=dashboard token_id=%s peer=%s", token_id, peer);
        if (nd_engine_kill(nd_event_run_engine(s->run)) != ND_OK) {
            snprintf(msg, msg_len, "the store could not record the kill switch");
            status = 500;
        } else {
            snprintf(msg, msg_len, "kill switch engaged");
        }
    } else if (c->action == ND_DASHBOARD_PAUSE || c->action == ND_DASHBOARD_RESUME) {
        status = pause_strategy(s, c, msg, msg_len);
    } else if (s->host_control) { /* a launch: its pipeline */
        char who[96];
        snprintf(who, sizeof who, "dashboard:%s@%s", token_id, peer);
        status = s->host_control(s->host_control_ctx, c->action == ND_DASHBOARD_PROMOTE,
                                 c->strategy, who, msg, msg_len);
    } else {
        snprintf(msg, msg_len, "not available: %s needs the deployment pipeline, which only "
                 "'noderr launch' runs (docs/monitoring.md)", nd_dashboard_action_name(c->action));
        status = 501;
    }
    char detail[320];
    snprintf(detail, sizeof detail, "strategy=%s status=%d result=\"%s\"",
             c->strategy[0] ? c->strategy : "-", status, msg);
    record(s, nd_dashboard_action_name(c->action), token_id, peer, detail);
    return status;
}

static void on_dash_timer(uv_timer_t *t)
{
    nd_live_session_t *s = t->data;
    int64_t now = nd_clock_now_ns(s->clock);
    if (now - s->dash_sampled_ns >= s->cfg->status_every_ns) { /* one VaR sample a period */
        nd_dashboard_sample(&s->dash_state, nd_event_run_engine(s->run));
        s->dash_sampled_ns = now;
    }
    if (s->dash_thread)
        nd_dashboard_thread_publish(s->dash_thread);
    else
        nd_dashboard_publish(s->dash);
}

/* The dashboard's server: the metrics' when the config gives the dashboard no listen of its own
 * and the session serves metrics (one port for both, on the session's loop), else its own on
 * dashboard.listen, on its own thread. */
static nd_err_t start_server(nd_live_session_t *s, const nd_dashboard_token_t *token, char *err,
                             size_t err_len)
{
    const nd_dashboard_config_t *dc = &s->cfg->dashboard;
    nd_dashboard_hooks_t hooks = {.snapshot_cb = snapshot, .control_cb = control, .ctx = s};
    nd_httpd_t *shared = dc->listen_given ? NULL : nd__live_metrics_server(s);
    nd_err_t rc;
    if (shared) {
        rc = nd_dashboard_create(shared, dc, token, &hooks, &s->dash, err, err_len);
        if (rc == ND_OK)
            nd_httpd_url(shared, s->dash_url, sizeof s->dash_url);
        return rc;
    }
    const nd_httpd_settings_t *hs = &dc->server;
    nd_httpd_config_t hc = {.listen = hs->listen,
                            .tls_cert_file = hs->tls_cert_file[0] ? hs->tls_cert_file : NULL,
                            .tls_key_file = hs->tls_key_file[0] ? hs->tls_key_file : NULL};
    char why[256] = "";
    rc = nd_dashboard_thread_start(&hc, dc, token, &hooks, &s->loop, &s->dash_thread, why,
                                   sizeof why);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "dashboard.listen: %s", why); /* the CLI names the file */
        return rc;
    }
    nd_dashboard_thread_url(s->dash_thread, s->dash_url, sizeof s->dash_url);
    return ND_OK;
}

nd_err_t nd__live_dash_open(nd_live_session_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && s->loop_ready);
    ND_ASSERT(s->run != NULL);
    const nd_dashboard_config_t *dc = &s->cfg->dashboard;
    if (!dc->on)
        return ND_OK;
    nd_dashboard_token_t token;
    nd_err_t rc = nd_dashboard_token_load(s->cfg->state_dir, &token, err, err_len);
    if (rc == ND_OK)
        rc = start_server(s, &token, err, err_len);
    explicit_bzero(&token, sizeof token);
    if (rc != ND_OK)
        return rc;
    nd_dashboard_state_init(&s->dash_state);
    uv_timer_init(&s->loop, &s->dash_timer);
    s->dash_timer.data = s;
    s->dash_timer_on = true;
    uint64_t every_ms = (uint64_t)(1000 / dc->updates_per_sec);
    uv_timer_start(&s->dash_timer, on_dash_timer, every_ms, every_ms);
    ND_LOG(ND_LOG_INFO, "event=dashboard_listening url=%s/ shared_with_metrics=%d thread=%d",
           s->dash_url, s->dash != NULL, s->dash_thread != NULL);
    return ND_OK;
}

void nd__live_dash_stop(nd_live_session_t *s)
{
    if (s->dash_timer_on && !uv_is_closing((uv_handle_t *)&s->dash_timer))
        uv_close((uv_handle_t *)&s->dash_timer, NULL);
    s->dash_timer_on = false;
    if (s->dash_thread) /* controls from now on: 409, the session is stopping */
        nd_dashboard_thread_stop(s->dash_thread);
}

void nd__live_dash_close(nd_live_session_t *s)
{
    nd__live_dash_stop(s);
    /* Its own thread closes every client and its server before it ends; a shared server was
     * closed by the metrics before (stop_loop), its clients' close callbacks first. */
    nd_dashboard_thread_destroy(s->dash_thread);
    s->dash_thread = NULL;
    nd_dashboard_destroy(s->dash);
    s->dash = NULL;
    s->dash_url[0] = '\0';
}
