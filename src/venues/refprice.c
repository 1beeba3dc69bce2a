/* refprice.c: reference price per asset: median of fresh sources, deviation alarm and the
 * data-integrity status.
 *
 * Invariants: only fresh, valid sources enter the median; deviation is measured against that
 * median in basis points through 128-bit arithmetic, so no price overflows; the status is HALT
 * whenever fewer than min_sources are fresh, whatever the prices say. */
#include "noderr/refprice.h"

#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

void nd_refprice_config_default(nd_refprice_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    cfg->max_age_ns = 10LL * 1000000000LL;
    cfg->deviation_bps_max = 100;
    cfg->min_sources = 2;
    cfg->halt_on_deviation = false;
    cfg->deviation_hold_ns = 0;
}

nd_err_t nd_refprice_init(nd_refprice_t *rp, const char *asset, const nd_refprice_config_t *cfg)
{
    ND_ASSERT(rp != NULL);
    ND_ASSERT(asset != NULL && cfg != NULL);
    if (cfg->max_age_ns <= 0 || cfg->deviation_bps_max <= 0 || cfg->deviation_hold_ns < 0 ||
        cfg->min_sources > ND_REFPRICE_SOURCES_MAX || asset[0] == '\0' ||
        strlen(asset) >= ND_NAME_MAX)
        return ND_EINVAL;
    memset(rp, 0, sizeof *rp);
    snprintf(rp->asset, sizeof rp->asset, "%s", asset);
    rp->config = *cfg;
    return ND_OK;
}

nd_err_t nd_refprice_add_source(nd_refprice_t *rp, const char *name, uint32_t *index)
{
    ND_ASSERT(rp != NULL && name != NULL);
    ND_ASSERT(index != NULL);
    if (name[0] == '\0' || strlen(name) >= ND_NAME_MAX)
        return ND_EINVAL;
    for (uint32_t i = 0; i < rp->source_count; i++)
        if (strcmp(rp->sources[i].name, name) == 0)
            return ND_EEXIST;
    if (rp->source_count == ND_REFPRICE_SOURCES_MAX)
        return ND_EFULL;
    nd_refprice_source_t *s = &rp->sources[rp->source_count];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    *index = rp->source_count++;
    return ND_OK;
}

nd_err_t nd_refprice_update(nd_refprice_t *rp, uint32_t index, int64_t px, int64_t updated_ns)
{
    ND_ASSERT(rp != NULL);
    ND_ASSERT(index < rp->source_count);
    if (px <= 0)
        return ND_EINVAL;
    nd_refprice_source_t *s = &rp->sources[index];
    s->px = px;
    s->updated_ns = updated_ns;
    s->has_price = true;
    s->invalid = false;
    return ND_OK;
}

void nd_refprice_invalidate(nd_refprice_t *rp, uint32_t index)
{
    ND_ASSERT(rp != NULL);
    ND_ASSERT(index < rp->source_count);
    rp->sources[index].invalid = true;
}

/* (a + b) / 2 rounded half-even, without overflow. */
static int64_t mean2(int64_t a, int64_t b)
{
    __int128 sum = (__int128)a + b;
    __int128 q = sum / 2;
    if (sum % 2 != 0 && q % 2 != 0)
        q += sum > 0 ? 1 : -1;
    return (int64_t)q;
}

nd_err_t nd_refprice_mid(int64_t bid_px, int64_t ask_px, int64_t *out)
{
    ND_ASSERT(out != NULL);
    if (bid_px <= 0 || ask_px <= 0 || bid_px > ask_px)
        return ND_EINVAL;
    *out = mean2(bid_px, ask_px);
    ND_ASSERT(*out >= bid_px && *out <= ask_px);
    return ND_OK;
}

static int64_t median(int64_t *px, uint32_t n)
{
    ND_ASSERT(n > 0);
    /* Insertion sort: n is at most ND_REFPRICE_SOURCES_MAX. */
    for (uint32_t i = 1; i < n; i++) {
        int64_t v = px[i];
        uint32_t j = i;
        for (; j > 0 && px[j - 1] > v; j--)
            px[j] = px[j - 1];
        px[j] = v;
    }
    return n % 2 ? px[n / 2] : mean2(px[n / 2 - 1], px[n / 2]);
}

static bool is_fresh(const nd_refprice_t *rp, const nd_refprice_source_t *s, int64_t now_ns)
{
    return s->has_price && !s->invalid && s->updated_ns <= now_ns &&
           now_ns - s->updated_ns <= rp->config.max_age_ns;
}

void nd_refprice_compute(nd_refprice_t *rp, int64_t now_ns, nd_refprice_result_t *out)
{
    ND_ASSERT(rp != NULL && out != NULL);
    ND_ASSERT(rp->source_count <= ND_REFPRICE_SOURCES_MAX);
    nd_refprice_result_t r = {.status = ND_REFPRICE_OK};
    int64_t px[ND_REFPRICE_SOURCES_MAX];
    for (uint32_t i = 0; i < rp->source_count; i++)
        if (is_fresh(rp, &rp->sources[i], now_ns))
            px[r.fresh++] = rp->sources[i].px;
    if (r.fresh > 0)
        r.px = median(px, r.fresh);
    for (uint32_t i = 0; i < rp->source_count && r.fresh > 0; i++) {
        const nd_refprice_source_t *s = &rp->sources[i];
        if (!is_fresh(rp, s, now_ns))
            continue;
        __int128 diff = (__int128)s->px - r.px;
        if (diff < 0)
            diff = -diff;
        __int128 bps = diff * 10000 / r.px;
        int32_t bps32 = bps > INT32_MAX ? INT32_MAX : (int32_t)bps;
        if (bps32 > r.max_deviation_bps)
            r.max_deviation_bps = bps32;
        /* Strictly beyond: a source exactly at the threshold is still in line. */
        if (diff * 10000 > (__int128)rp->config.deviation_bps_max * r.px)
            r.deviating_mask |= 1u << i;
    }
    if (r.deviating_mask) {
        if (!rp->deviating || now_ns < rp->deviating_since_ns)
            rp->deviating_since_ns = now_ns;
        rp->deviating = true;
        r.deviating_for_ns = now_ns - rp->deviating_since_ns;
        /* Strictly longer than the hold (as the deviation is strictly beyond its threshold);
         * no hold: at once. */
        int64_t hold = rp->config.deviation_hold_ns;
        r.status = rp->config.halt_on_deviation && (hold == 0 || r.deviating_for_ns > hold)
                       ? ND_REFPRICE_HALT
                       : ND_REFPRICE_DEVIATION;
        rp->alarms++;
    } else {
        rp->deviating = false;
    }
    ND_ASSERT(r.deviating_for_ns >= 0);
    if (r.fresh < rp->config.min_sources)
        r.status = ND_REFPRICE_HALT;
    *out = r;
}

const char *nd_refprice_status_name(nd_refprice_status_t status)
{
    switch (status) {
    case ND_REFPRICE_OK: return "ok";
    case ND_REFPRICE_DEVIATION: return "deviation";
    case ND_REFPRICE_HALT: return "halt";
    }
    return "halt";
}
