/* test_json_cfg.c: nd_jcfg_fields and nd_jcfg_section_fields (json_cfg.h): a section read by its
 * table of fields, the keys it allows, the order of the reads and the messages. */
#include "noderr/json_cfg.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct sample {
    int64_t count, window_ns, price_e2, share_e6;
    bool on;
    char name[8];
} sample_t;

static nd_err_t read_sample(const char *text, sample_t *s, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    nd_jcfg_t c = {.path = "t.json", .err = err, .err_len = err_len};
    const nd_jcfg_field_t fields[] = {
        {"count", ND_JCFG_INT, &s->count, .lo = 1, .hi = 10},
        {"window_ms", ND_JCFG_INT, &s->window_ns, .lo = 1, .hi = 1000, .scale = 1000000},
        {"price", ND_JCFG_FIXED, &s->price_e2, .lo = 0, .hi = 100000, .places = 2},
        {"share", ND_JCFG_FRACTION, &s->share_e6, .real_lo = 0, .real_hi = 1, .places = 6},
        {"on", ND_JCFG_BOOL, .out = &s->on},
        {"name", ND_JCFG_STR, s->name, .cap = sizeof s->name},
        {"later", ND_JCFG_KEY, .out = NULL},
        {.key = NULL},
    };
    json_t *obj;
    nd_err_t rc = nd_jcfg_section_fields(&c, json_object_get(root, "part"), "part", fields, &obj);
    json_decref(root);
    return rc;
}

Test(json_cfg, fields_read_every_kind)
{
    sample_t s = {.count = 3, .window_ns = 5000000};
    char err[160] = "";
    cr_assert_eq(read_sample("{\"part\": {\"count\": 7, \"window_ms\": 20, \"price\": \"12.34\", "
                             "\"share\": 0.25, \"on\": true, \"name\": \"abc\", \"later\": [1]}}",
                             &s, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(s.count, 7);
    cr_assert_eq(s.window_ns, 20000000, "ms read, ns stored");
    cr_assert_eq(s.price_e2, 1234);
    cr_assert_eq(s.share_e6, 250000);
    cr_assert(s.on);
    cr_assert_str_eq(s.name, "abc");
}

Test(json_cfg, fields_absent_keep_defaults)
{
    sample_t s = {.count = 3, .window_ns = 5000000, .price_e2 = 7};
    char err[160] = "";
    cr_assert_eq(read_sample("{\"part\": {}}", &s, err, sizeof err), ND_OK);
    cr_assert_eq(s.count, 3);
    cr_assert_eq(s.window_ns, 5000000);
    cr_assert_eq(s.price_e2, 7);
    cr_assert_eq(read_sample("{}", &s, err, sizeof err), ND_OK, "no section: nothing to read");
}

Test(json_cfg, fields_messages)
{
    sample_t s = {0};
    char err[160] = "";
    cr_assert_eq(read_sample("{\"part\": {\"count\": 1, \"cuont\": 2}}", &s, err, sizeof err),
                 ND_EINVAL);
    cr_assert_str_eq(err, "t.json: part.cuont: unknown key");
    cr_assert_eq(read_sample("{\"part\": {\"count\": 11}}", &s, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "t.json: part.count: 11 is outside [1, 10]");
    cr_assert_eq(read_sample("{\"part\": {\"name\": \"far too long\", \"count\": 0}}", &s, err,
                             sizeof err),
                 ND_EINVAL);
    cr_assert_str_eq(err, "t.json: part.count: 0 is outside [1, 10]", "the table's order");
    cr_assert_eq(read_sample("{\"part\": 5}", &s, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "t.json: part: must be an object");
    cr_assert_eq(read_sample("{\"part\": {\"price\": 0.5}}", &s, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "t.json: part.price: ") == err, "%s", err);
}
