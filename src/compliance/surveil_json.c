/* surveil_json.c: an alert and its evidence as one JSON object, for the CLI and the store.
 *
 * Keys come in a fixed order (jansson keeps insertion order with JSON_PRESERVE_ORDER), times
 * are ISO-8601 UTC and money is exact decimal strings, so equal alerts encode byte for byte
 * the same. */
#include "surveil_int.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/scenario.h"

#include <jansson.h>

static json_t *amount(int64_t v)
{
    return nd_json_fixed(v, ND_SURV_DECIMALS);
}

static json_t *names(const nd_surv_dict_t *dict, const uint32_t *ids, uint32_t count)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < count; i++)
        if (json_array_append_new(arr, json_string(nd_surv_dict_name(dict, ids[i]))) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *trade(const nd_surv_dict_t *dict, const nd_surv_event_t *e)
{
    json_t *t = json_object();
    if (!t)
        return NULL;
    int rc = json_object_set_new(t, "order_id", json_string(nd_surv_dict_name(dict, e->order)));
    rc |= json_object_set_new(t, "account", json_string(nd_surv_dict_name(dict, e->account)));
    rc |= json_object_set_new(t, "ts", nd_json_time(e->ts_ns));
    rc |= json_object_set_new(t, "side", json_string(e->side == ND_SIDE_BUY ? "buy" : "sell"));
    rc |= json_object_set_new(t, "price", amount(e->px));
    rc |= json_object_set_new(t, "qty", amount(e->qty));
    if (rc != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

json_t *nd_surv_alert_to_json(const nd_surv_alert_t *a, const nd_surv_dict_t *dict,
                              const nd_surv_event_t *events, size_t n)
{
    ND_ASSERT(a != NULL);
    ND_ASSERT(dict != NULL);
    json_t *o = json_object();
    json_t *trades = json_array();
    if (!o || !trades) {
        json_decref(o);
        json_decref(trades);
        return NULL;
    }
    for (uint32_t i = 0; i < a->fill_count; i++)
        if (events && a->fills[i] < n)
            json_array_append_new(trades, trade(dict, &events[a->fills[i]]));
    const nd_surv_profile_t *p = nd_jurisdiction_profile(a->jurisdiction);
    int rc = json_object_set_new(o, "rule", json_string(nd_surv_rule_name(a->rule)));
    rc |= json_object_set_new(o, "jurisdiction", json_string(p->code));
    rc |= json_object_set_new(o, "owner", a->owner == ND_SURV_ID_NONE
                                               ? json_null()
                                               : json_string(nd_surv_dict_name(dict, a->owner)));
    rc |= json_object_set_new(o, "symbol", a->symbol == ND_SURV_ID_NONE
                                                ? json_null()
                                                : json_string(nd_surv_dict_name(dict, a->symbol)));
    rc |= json_object_set_new(o, "accounts", names(dict, a->accounts, a->account_count));
    rc |= json_object_set_new(o, "order_ids", names(dict, a->orders, a->order_count));
    rc |= json_object_set_new(o, "from", nd_json_time(a->from_ns));
    rc |= json_object_set_new(o, "to", nd_json_time(a->to_ns));
    rc |= json_object_set_new(o, "reason", json_string(a->reason));
    rc |= json_object_set_new(o, "measured", json_integer(a->measured));
    rc |= json_object_set_new(o, "threshold", json_integer(a->threshold));
    rc |= json_object_set_new(o, "truncated", json_boolean(a->truncated));
    rc |= json_object_set_new(o, "trades", trades);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
