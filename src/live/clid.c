/* clid.c: deterministic client order ids, "nd<tag>-<run>-<strategy>-<client_id>".
 *
 * The same order always gets the same id: the session tag is the operator's, the run number
 * is the journal's start count and the strategy index and client id are the engine's. The
 * venue's duplicate-id rule then makes a retry idempotent, and an id seen at the venue is
 * ours exactly when it parses back with our tag. Numbers are lowercase base 36 without leading
 * zeros, so each id has one spelling. */
#include "noderr/reconcile.h"

#include "noderr/assert.h"

#include <string.h>

/* Six base-36 digits of run and four of strategy keep the longest id at 34 characters. */
#define CLID_RUN_MAX 2176782335u /* 36^6 - 1 */
#define CLID_STRATEGY_MAX 0xFFFFu /* ND_STRATEGY_RISK included */

static bool tag_ok(const char *tag)
{
    size_t n = tag ? strlen(tag) : 0;
    if (n == 0 || n > ND_CLID_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= '0' && tag[i] <= '9')))
            return false;
    return true;
}

/* Writes v in base 36 at out; returns the digits written (1..13). */
static size_t put36(uint64_t v, char *out)
{
    char tmp[16];
    size_t n = 0;
    do {
        uint64_t d = v % 36;
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + (d - 10));
        v /= 36;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

nd_err_t nd_clid_format(const char *tag, uint32_t run, uint32_t strategy_index,
                        uint64_t client_id, char out[ND_CLID_SIZE])
{
    ND_ASSERT(out != NULL);
    if (!tag_ok(tag) || run > CLID_RUN_MAX || strategy_index > CLID_STRATEGY_MAX)
        return ND_EINVAL;
    size_t n = 0;
    out[n++] = 'n';
    out[n++] = 'd';
    memcpy(out + n, tag, strlen(tag));
    n += strlen(tag);
    out[n++] = '-';
    n += put36(run, out + n);
    out[n++] = '-';
    n += put36(strategy_index, out + n);
    out[n++] = '-';
    n += put36(client_id, out + n);
    out[n] = '\0';
    ND_ASSERT(n < ND_CLID_SIZE);
    return ND_OK;
}

/* Reads one base-36 number ending at '-' or the end: the canonical spelling only (no leading
 * zero unless it is "0"), at most max. Advances *p past it. */
static bool get36(const char **p, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] && s[n] != '-'; n++) {
        char c = s[n];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'z')
            d = (uint64_t)(c - 'a') + 10;
        else
            return false;
        if (v > (max - d) / 36)
            return false;
        v = v * 36 + d;
    }
    if (n == 0 || (n > 1 && s[0] == '0'))
        return false;
    *p = s + n;
    *out = v;
    return true;
}

nd_err_t nd_clid_parse(const char *tag, const char *text, uint32_t *run,
                       uint32_t *strategy_index, uint64_t *client_id)
{
    ND_ASSERT(text != NULL);
    if (!tag_ok(tag))
        return ND_EINVAL;
    size_t tag_len = strlen(tag);
    if (strncmp(text, "nd", 2) != 0 || strncmp(text + 2, tag, tag_len) != 0 ||
        text[2 + tag_len] != '-')
        return ND_EDECLINED;
    const char *p = text + 3 + tag_len;
    uint64_t r, s, c;
    if (!get36(&p, CLID_RUN_MAX, &r) || *p++ != '-' || !get36(&p, CLID_STRATEGY_MAX, &s) || *p++ != '-' ||
        !get36(&p, UINT64_MAX, &c) || *p != '\0')
        return ND_EDECLINED;
    if (run)
        *run = (uint32_t)r;
    if (strategy_index)
        *strategy_index = (uint32_t)s;
    if (client_id)
        *client_id = c;
    return ND_OK;
}
