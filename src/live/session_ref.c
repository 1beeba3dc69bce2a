/* session_ref.c: the session's reference price per asset (refprice.h) and its part in the
 * data-integrity breaker (docs/live.md "Reference price").
 *
 * Every symbol is a source of its asset (nd_live_reference_asset: "BTC/USDT" and "BTC/USD" are
 * both BTC/USD): its venue's mid while a quote is fresh, else its last trade; each Chainlink
 * feed of the config ("reference.chainlink") is one more source of its asset, read on libuv's
 * thread pool so the loop never waits on JSON-RPC. Prices are at ND_VENUE_DECIMALS, the same
 * scale for every source; times are the live clock's (when the session received or read the
 * value), so a source that stops updating goes stale after reference.max_age_ms and leaves the
 * median: it is reported (logged, status.json), never used.
 *
 * The rule, per asset with two sources or more: a fresh source farther than max_deviation_bps
 * from the median of the fresh ones, for longer than deviation_hold_ms (measured between the
 * session's 20 ms checks), is a HALT the engine records as the data-integrity input refprice;
 * fewer fresh sources than min_sources (0: off) is refprice_sources, counted only once every
 * source has had max_age_ms to show a first price. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/chainlink.h"
#include "noderr/venue.h"
#include "noderr/log.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>

typedef struct ref_chainlink {
    const nd_live_chainlink_config_t *cfg;
    uint32_t asset, source;
    nd_live_session_t *s;
    uv_work_t work;
    bool busy;                  /* a read is on the thread pool: only the worker touches what
                                 * follows up to "on the loop" */
    nd_chainlink_client_t client;
    int decimals;               /* -1 until decimals() was read */
    nd_err_t rc;
    nd_chainlink_round_t round;
    char why[192];
    /* on the loop */
    int64_t next_mono_ns;       /* when the next read may start */
    nd__live_ref_chainlink_t fig;
} ref_chainlink_t;

typedef struct ref_asset {
    nd_refprice_t rp;
    int64_t quote_ns[ND_REFPRICE_SOURCES_MAX]; /* live clock at the source's last mid */
    bool stale[ND_REFPRICE_SOURCES_MAX];       /* reported stale (logged once a change) */
    nd_refprice_result_t last;
    bool computed;
    bool deviating;                            /* a deviation was logged and has not ended */
} ref_asset_t;

struct nd__live_ref {
    ref_asset_t assets[ND_VENUES_MAX];
    uint32_t asset_count;
    uint8_t symbol_asset[ND_VENUES_MAX], symbol_source[ND_VENUES_MAX];
    ref_chainlink_t chainlink[ND_LIVE_CHAINLINK_MAX];
    uint32_t chainlink_count;
    int64_t armed_ns;           /* from then on too few fresh sources counts */
    uint64_t trips;
};

/* The asset named `name`, added when new; ND_EFULL past the bound. */
static nd_err_t asset_of(nd__live_ref_t *r, const nd_live_config_t *cfg, const char *name,
                         uint32_t *out)
{
    for (uint32_t a = 0; a < r->asset_count; a++)
        if (strcmp(r->assets[a].rp.asset, name) == 0) {
            *out = a;
            return ND_OK;
        }
    if (r->asset_count == ND_VENUES_MAX)
        return ND_EFULL;
    nd_refprice_config_t rc;
    nd_refprice_config_default(&rc);
    rc.max_age_ns = cfg->reference.max_age_ns;
    rc.deviation_bps_max = cfg->reference.max_deviation_bps;
    rc.min_sources = cfg->reference.min_sources;
    rc.halt_on_deviation = true;
    rc.deviation_hold_ns = cfg->reference.hold_ns;
    nd_err_t err = nd_refprice_init(&r->assets[r->asset_count].rp, name, &rc);
    if (err == ND_OK)
        *out = r->asset_count++;
    return err;
}

static nd_err_t add_chainlinks(nd_live_session_t *s, nd__live_ref_t *r, char *err, size_t err_len)
{
    const nd_live_reference_config_t *rc = &s->cfg->reference;
    for (uint32_t i = 0; i < rc->chainlink_count; i++) {
        ref_chainlink_t *c = &r->chainlink[i];
        c->cfg = &rc->chainlink[i];
        c->s = s;
        c->decimals = -1;
        c->work.data = c;
        c->fig.status = "not_read";
        char name[ND_NAME_MAX];
        snprintf(name, sizeof name, "chainlink:%.20s", c->cfg->asset);
        nd_err_t e = asset_of(r, s->cfg, c->cfg->asset, &c->asset);
        if (e == ND_OK)
            e = nd_refprice_add_source(&r->assets[c->asset].rp, name, &c->source);
        if (e == ND_OK)
            e = nd_chainlink_client_init(&c->client, c->cfg->rpc, c->cfg->timeout_ms, err,
                                         err_len);
        if (e != ND_OK) {
            if (!err[0])
                nd_err_put(err, err_len, "reference.chainlink: %s: %s", c->cfg->asset,
                           nd_strerror(e));
            return e;
        }
        r->chainlink_count = i + 1;
    }
    if (rc->chainlink_count > 0) { /* libcurl's global set-up, on this thread, before workers */
        nd_http_t *h = NULL;
        if (nd_http_create(1000, &h) != ND_OK)
            return ND_EIO;
        nd_http_destroy(h);
    }
    return ND_OK;
}

nd_err_t nd__live_ref_open(nd_live_session_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && s->ref == NULL);
    if (!s->cfg->reference.on || !s->cfg->integrity_on)
        return ND_OK;
    nd__live_ref_t *r = nd_calloc(1, sizeof *r);
    if (!r)
        return ND_ENOMEM;
    s->ref = r;
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        char asset[ND_NAME_MAX], name[ND_NAME_MAX];
        const nd_instrument_t *inst = nd_event_run_instrument(s->run, k);
        uint32_t a, src;
        nd__live_feed_name(s, k, name, sizeof name);
        nd_err_t e = nd_live_reference_asset(inst->symbol, asset, sizeof asset) ? ND_OK
                                                                                : ND_EINVAL;
        if (e == ND_OK)
            e = asset_of(r, s->cfg, asset, &a);
        if (e == ND_OK)
            e = nd_refprice_add_source(&r->assets[a].rp, name, &src);
        if (e != ND_OK) {
            nd_err_put(err, err_len, "reference: %s: %s", inst->symbol, nd_strerror(e));
            return e;
        }
        r->symbol_asset[k] = (uint8_t)a;
        r->symbol_source[k] = (uint8_t)src;
    }
    r->armed_ns = nd_clock_now_ns(s->clock) + s->cfg->reference.max_age_ns;
    return add_chainlinks(s, r, err, err_len);
}

void nd__live_ref_on_market(nd_live_session_t *s, uint32_t k, const nd_md_event_t *md,
                            int64_t now_ns)
{
    nd__live_ref_t *r = s->ref;
    if (!r)
        return;
    ND_ASSERT(k < s->cfg->symbol_count);
    ref_asset_t *a = &r->assets[r->symbol_asset[k]];
    uint32_t src = r->symbol_source[k];
    int64_t px = 0;
    if (md->kind == ND_MD_BBO) {
        if (nd_refprice_mid(md->u.bbo.bid_px, md->u.bbo.ask_px, &px) != ND_OK)
            return;
        a->quote_ns[src] = now_ns;
    } else if (md->kind == ND_MD_TRADE) {
        /* the last trade stands in only while the venue has no fresh quote */
        if (a->quote_ns[src] != 0 && now_ns - a->quote_ns[src] <= a->rp.config.max_age_ns)
            return;
        px = md->u.trade.px;
    }
    if (px > 0)
        nd_refprice_update(&a->rp, src, px, now_ns);
}

/* ---- Chainlink reads on libuv's thread pool ------------------------------------------- */

static void chainlink_work(uv_work_t *w)
{
    ref_chainlink_t *c = w->data;
    uint8_t out[ND_CHAINLINK_RESULT_MAX];
    size_t len = 0;
    char call[ND_CHAINLINK_CALLDATA_HEX_MAX];
    c->why[0] = '\0';
    c->rc = ND_OK;
    if (c->decimals < 0) {
        nd_abi_encode_call0(ND_CHAINLINK_SEL_DECIMALS, call);
        c->rc = nd_chainlink_eth_call(&c->client, c->cfg->feed, call, "latest", out, sizeof out,
                                      &len, c->why, sizeof c->why);
        int d = -1;
        if (c->rc == ND_OK && (c->rc = nd_chainlink_decode_decimals(out, len, &d)) == ND_OK)
            c->decimals = d;
    }
    if (c->rc != ND_OK)
        return;
    nd_abi_encode_call0(ND_CHAINLINK_SEL_LATEST_ROUND_DATA, call);
    c->rc = nd_chainlink_eth_call(&c->client, c->cfg->feed, call, "latest", out, sizeof out, &len,
                                  c->why, sizeof c->why);
    if (c->rc == ND_OK)
        c->rc = nd_chainlink_decode_round(out, len, &c->round);
}

/* A read's verdict on the loop: a usable round updates the source (dated now: when the session
 * read it), anything else invalidates it until the next good read. */
static void chainlink_take(ref_chainlink_t *c, int64_t now_ns)
{
    nd_live_session_t *s = c->s;
    ref_asset_t *a = &s->ref->assets[c->asset];
    nd__live_ref_chainlink_t *f = &c->fig;
    const char *was = f->status;
    int64_t px = 0;
    f->reads++;
    if (c->rc != ND_OK) {
        f->failures++;
        f->status = "read_failed";
        snprintf(f->error, sizeof f->error, "%s", c->why[0] ? c->why : nd_strerror(c->rc));
    } else {
        nd_oracle_status_t st = nd_chainlink_check(&c->round, now_ns / ND_NS_PER_SEC,
                                                   c->cfg->max_age_s, 0);
        f->status = nd_oracle_status_name(st);
        f->updated_at_s = c->round.updated_at_s;
        f->error[0] = '\0';
        if (st == ND_ORACLE_OK &&
            nd_chainlink_answer_to_fixed(c->round.answer, c->decimals, ND_VENUE_DECIMALS, &px) !=
                ND_OK)
            f->status = "out_of_range";
    }
    if (px > 0)
        nd_refprice_update(&a->rp, c->source, px, now_ns);
    else
        nd_refprice_invalidate(&a->rp, c->source);
    if (strcmp(was, f->status) != 0)
        ND_LOG(px > 0 ? ND_LOG_INFO : ND_LOG_WARN,
               "event=refprice_chainlink asset=%s status=%s updated_at=%lld why=\"%s\"",
               c->cfg->asset, f->status, (long long)f->updated_at_s, f->error);
}

static void chainlink_done(uv_work_t *w, int status)
{
    ref_chainlink_t *c = w->data;
    c->busy = false;
    if (status != 0 || c->s->closing)
        return;
    chainlink_take(c, nd_clock_now_ns(c->s->clock));
}

static void chainlink_poll(nd_live_session_t *s, int64_t mono_ns)
{
    for (uint32_t i = 0; i < s->ref->chainlink_count; i++) {
        ref_chainlink_t *c = &s->ref->chainlink[i];
        if (c->busy || mono_ns < c->next_mono_ns)
            continue;
        c->next_mono_ns = mono_ns + c->cfg->poll_ns;
        if (uv_queue_work(&s->loop, &c->work, chainlink_work, chainlink_done) == 0)
            c->busy = true;
    }
}

/* ---- The check -------------------------------------------------------------------------- */

/* Logs what changed since the last computation: a source gone stale or fresh again, a
 * deviation starting or ending. */
static void report(ref_asset_t *a, int64_t now_ns)
{
    const nd_refprice_t *rp = &a->rp;
    for (uint32_t i = 0; i < rp->source_count; i++) {
        const nd_refprice_source_t *src = &rp->sources[i];
        bool stale = src->has_price &&
                     (src->invalid || now_ns - src->updated_ns > rp->config.max_age_ns);
        if (stale != a->stale[i])
            ND_LOG(stale ? ND_LOG_WARN : ND_LOG_INFO,
                   "event=refprice_source_%s asset=%s source=%s age_ms=%lld invalid=%d",
                   stale ? "stale" : "fresh", rp->asset, src->name,
                   (long long)((now_ns - src->updated_ns) / ND_NS_PER_MS), (int)src->invalid);
        a->stale[i] = stale;
    }
    bool deviating = a->last.deviating_mask != 0;
    if (deviating != a->deviating)
        ND_LOG(deviating ? ND_LOG_WARN : ND_LOG_INFO,
               "event=refprice_%s asset=%s median=%lld max_deviation_bps=%d mask=%u",
               deviating ? "deviation" : "in_line", rp->asset, (long long)a->last.px,
               (int)a->last.max_deviation_bps, a->last.deviating_mask);
    a->deviating = deviating;
}

const nd_refprice_result_t *nd__live_ref_check(nd_live_session_t *s, int64_t now_ns,
                                               int32_t *asset)
{
    nd__live_ref_t *r = s->ref;
    *asset = -1;
    if (!r)
        return NULL;
    chainlink_poll(s, nd_clock_mono_ns(s->clock));
    const nd_refprice_result_t *worst = NULL;
    for (uint32_t i = 0; i < r->asset_count; i++) {
        ref_asset_t *a = &r->assets[i];
        nd_refprice_compute(&a->rp, now_ns, &a->last);
        a->computed = true;
        report(a, now_ns);
        /* one source alone has nothing to be checked against */
        if (a->rp.source_count < 2 || a->last.status != ND_REFPRICE_HALT || worst)
            continue;
        if (a->last.deviating_mask == 0 && now_ns < r->armed_ns)
            continue; /* too few sources, before each had time to show a price */
        worst = &a->last;
        *asset = (int32_t)i;
    }
    return worst;
}

/* "asset=BTC/USD median=... binance:BTCUSDT=4000012345000 age_ms=12 ..." for the record. */
static void trip_detail(const nd_live_session_t *s, int32_t asset, int64_t now_ns, char *out,
                        size_t cap)
{
    ND_ASSERT(s->ref != NULL && asset >= 0 && (uint32_t)asset < s->ref->asset_count);
    const ref_asset_t *a = &s->ref->assets[asset];
    const nd_refprice_t *rp = &a->rp;
    int n = snprintf(out, cap, "asset=%s median=%lld decimals=%d fresh=%u max_deviation_bps=%d "
                     "bound_bps=%d deviating_ms=%lld hold_ms=%lld", rp->asset,
                     (long long)a->last.px, ND_VENUE_DECIMALS, a->last.fresh,
                     (int)a->last.max_deviation_bps, (int)rp->config.deviation_bps_max,
                     (long long)(a->last.deviating_for_ns / ND_NS_PER_MS),
                     (long long)(rp->config.deviation_hold_ns / ND_NS_PER_MS));
    for (uint32_t i = 0; i < rp->source_count && n > 0 && (size_t)n < cap; i++) {
        const nd_refprice_source_t *src = &rp->sources[i];
        n += snprintf(out + n, cap - (size_t)n, " %s=%lld age_ms=%lld%s%s", src->name,
                      (long long)src->px,
                      src->has_price ? (long long)((now_ns - src->updated_ns) / ND_NS_PER_MS)
                                     : -1LL,
                      a->stale[i] || !src->has_price ? " stale" : "",
                      a->last.deviating_mask & (1u << i) ? " deviating" : "");
    }
}

void nd__live_ref_on_trip(nd_live_session_t *s, int32_t asset, int64_t now_ns)
{
    ND_ASSERT(s->ref != NULL);
    char detail[1024];
    trip_detail(s, asset, now_ns, detail, sizeof detail);
    s->ref->trips++;
    ND_LOG(ND_LOG_WARN, "event=refprice_trip %s", detail);
    nd__live_record_action(s, "refprice_trip", detail);
}

void nd__live_ref_close(nd_live_session_t *s)
{
    nd__live_ref_t *r = s->ref;
    if (!r)
        return;
    for (uint32_t i = 0; i < r->chainlink_count; i++) {
        ND_ASSERT(!r->chainlink[i].busy); /* the loop ran every work's done callback */
        nd_chainlink_client_deinit(&r->chainlink[i].client);
    }
    nd_free(r);
    s->ref = NULL;
}

/* ---- status.json's "reference" ------------------------------------------------------------ */

static void fill_asset(const nd__live_ref_t *r, uint32_t i, int64_t now_ns,
                       nd__live_ref_asset_fig_t *f)
{
    const ref_asset_t *a = &r->assets[i];
    const nd_refprice_t *rp = &a->rp;
    snprintf(f->asset, sizeof f->asset, "%s", rp->asset);
    f->status = rp->source_count < 2 ? "unchecked" : nd_refprice_status_name(a->last.status);
    f->px = a->last.px;
    f->deviating_ms = a->last.deviating_for_ns / ND_NS_PER_MS;
    f->fresh = a->last.fresh;
    f->max_deviation_bps = a->last.max_deviation_bps;
    f->source_count = rp->source_count;
    for (uint32_t j = 0; j < rp->source_count; j++) {
        const nd_refprice_source_t *src = &rp->sources[j];
        nd__live_ref_source_fig_t *o = &f->sources[j];
        snprintf(o->name, sizeof o->name, "%s", src->name);
        o->px = src->px;
        o->age_ms = src->has_price ? (now_ns - src->updated_ns) / ND_NS_PER_MS : -1;
        o->stale = !src->has_price || a->stale[j];
        o->deviating = (a->last.deviating_mask & (1u << j)) != 0;
        o->deviation_bps = 0;
        if (!o->stale && a->last.px > 0) {
            __int128 d = (__int128)src->px - a->last.px;
            d = (d < 0 ? -d : d) * 10000 / a->last.px;
            o->deviation_bps = d > INT32_MAX ? INT32_MAX : (int32_t)d;
        }
        o->chainlink = -1;
        for (uint32_t c = 0; c < r->chainlink_count; c++)
            if (r->chainlink[c].asset == i && r->chainlink[c].source == j)
                o->chainlink = (int)c;
    }
}

void nd__live_ref_fill(const nd_live_session_t *s, int64_t now_ns, nd__live_ref_figures_t *out)
{
    const nd__live_ref_t *r = s->ref;
    out->on = r != NULL;
    if (!r)
        return;
    const nd_live_reference_config_t *rc = &s->cfg->reference;
    out->bound_bps = rc->max_deviation_bps;
    out->hold_ms = rc->hold_ns / ND_NS_PER_MS;
    out->max_age_ms = rc->max_age_ns / ND_NS_PER_MS;
    out->min_sources = rc->min_sources;
    out->trips = (int64_t)r->trips;
    out->asset_count = r->asset_count;
    for (uint32_t i = 0; i < r->asset_count; i++)
        fill_asset(r, i, now_ns, &out->assets[i]);
    out->chainlink_count = r->chainlink_count;
    for (uint32_t c = 0; c < r->chainlink_count; c++) {
        out->chainlink[c] = r->chainlink[c].fig;
        out->chainlink_feed[c] = r->chainlink[c].cfg->feed;
    }
}

static json_t *source_json(const nd__live_ref_figures_t *f, const nd__live_ref_source_fig_t *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(o->name));
    json_object_set_new(j, "price", o->age_ms >= 0 ? nd_json_fixed(o->px, ND_VENUE_DECIMALS)
                                                   : json_null());
    json_object_set_new(j, "age_ms", o->age_ms >= 0 ? json_integer(o->age_ms) : json_null());
    json_object_set_new(j, "stale", json_boolean(o->stale));
    json_object_set_new(j, "deviation_bps", json_integer(o->deviation_bps));
    json_object_set_new(j, "deviating", json_boolean(o->deviating));
    if (o->chainlink >= 0) {
        const nd__live_ref_chainlink_t *c = &f->chainlink[o->chainlink];
        json_t *cl = json_object();
        json_object_set_new(cl, "feed", json_string(f->chainlink_feed[o->chainlink]));
        json_object_set_new(cl, "status", json_string(c->status));
        json_object_set_new(cl, "updated_at", c->updated_at_s ? json_integer(c->updated_at_s)
                                                              : json_null());
        json_object_set_new(cl, "reads", json_integer((json_int_t)c->reads));
        json_object_set_new(cl, "failures", json_integer((json_int_t)c->failures));
        if (c->error[0])
            json_object_set_new(cl, "error", json_string(c->error));
        json_object_set_new(j, "chainlink", cl);
    }
    return j;
}

json_t *nd__live_ref_format(const nd__live_ref_figures_t *f)
{
    if (!f->on)
        return NULL;
    json_t *j = json_object(), *assets = json_array();
    json_object_set_new(j, "max_deviation_bps", json_integer(f->bound_bps));
    json_object_set_new(j, "deviation_hold_ms", json_integer(f->hold_ms));
    json_object_set_new(j, "max_age_ms", json_integer(f->max_age_ms));
    json_object_set_new(j, "min_sources", json_integer(f->min_sources));
    json_object_set_new(j, "trips", json_integer(f->trips));
    for (uint32_t i = 0; i < f->asset_count; i++) {
        const nd__live_ref_asset_fig_t *a = &f->assets[i];
        json_t *o = json_object(), *sources = json_array();
        json_object_set_new(o, "asset", json_string(a->asset));
        json_object_set_new(o, "status", json_string(a->status));
        json_object_set_new(o, "price", a->fresh ? nd_json_fixed(a->px, ND_VENUE_DECIMALS)
                                                 : json_null());
        json_object_set_new(o, "fresh", json_integer(a->fresh));
        json_object_set_new(o, "deviation_bps", json_integer(a->max_deviation_bps));
        json_object_set_new(o, "deviating_ms", json_integer(a->deviating_ms));
        for (uint32_t k = 0; k < a->source_count; k++)
            json_array_append_new(sources, source_json(f, &a->sources[k]));
        json_object_set_new(o, "sources", sources);
        json_array_append_new(assets, o);
    }
    json_object_set_new(j, "assets", assets);
    return j;
}
