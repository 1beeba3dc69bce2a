/* json.c: a strict, allocation-free JSON tokenizer for venue messages (jsmn-like).
 *
 * It validates the whole grammar (strings with escapes, numbers, literals, nesting) and writes
 * flat tokens into caller memory; each token records the index just past its subtree, so a
 * decoder skips an unknown value in O(1). Invariants: tokens are in document order, token 0 is
 * the root, every container's `next` is greater than its own index, and a truncated message
 * is told apart from a malformed one (ND_EEOF vs ND_EPARSE) so feeds can count them apart. */
#include "noderr/venue.h"

#include "noderr/assert.h"
#include "noderr/text.h"

#include <string.h>

#define JSON_DEPTH_MAX 32

typedef struct jp {
    const char *s;
    size_t len, pos;
    nd_jtok_t *tok;
    uint32_t cap, n;
    int depth;
} jp_t;

static nd_err_t parse_value(jp_t *p);

static inline void skip_ws(jp_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p->pos++;
    }
}

static nd_err_t new_tok(jp_t *p, nd_jtype_t type, uint32_t *idx)
{
    if (p->n >= p->cap || p->pos > UINT32_MAX)
        return ND_EFULL;
    nd_jtok_t *t = &p->tok[p->n];
    t->start = (uint32_t)p->pos;
    t->end = t->start;
    t->next = 0;
    t->size = 0;
    t->type = (uint8_t)type;
    t->escaped = 0;
    *idx = p->n++;
    return ND_OK;
}

/* 1 for bytes a string may hold as they are: not '"', not '\\', not a control character. */
static const uint8_t plain_char[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0xff] = 1,
};

static nd_err_t parse_string(jp_t *p)
{
    uint32_t idx;
    p->pos++; /* the opening quote */
    nd_err_t rc = new_tok(p, ND_J_STRING, &idx);
    if (rc != ND_OK)
        return rc;
    const char *s = p->s;
    size_t i = p->pos, len = p->len;
    for (;;) {
        /* The common case, plain ASCII without escapes, runs in this tight loop. */
        while (i < len && plain_char[(unsigned char)s[i]])
            i++;
        if (i >= len)
            return ND_EEOF;
        char c = s[i];
        if (c == '"')
            break;
        if (c != '\\')
            return ND_EPARSE; /* a raw control character */
        p->tok[idx].escaped = 1;
        if (++i >= len)
            return ND_EEOF;
        c = s[i];
        if (c == 'u') {
            for (int k = 1; k <= 4; k++) {
                if (i + (size_t)k >= len)
                    return ND_EEOF;
                if (nd_hex_digit(s[i + (size_t)k]) < 0)
                    return ND_EPARSE;
            }
            i += 4;
        } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
            return ND_EPARSE;
        }
        i++;
    }
    p->tok[idx].end = (uint32_t)i;
    p->tok[idx].next = idx + 1;
    p->pos = i + 1;
    return ND_OK;
}

static size_t digits(const char *s, size_t i, size_t len)
{
    size_t k = i;
    while (k < len && s[k] >= '0' && s[k] <= '9')
        k++;
    return k - i;
}

static nd_err_t parse_number(jp_t *p)
{
    uint32_t idx;
    nd_err_t rc = new_tok(p, ND_J_NUMBER, &idx);
    if (rc != ND_OK)
        return rc;
    const char *s = p->s;
    size_t i = p->pos, len = p->len;
    if (s[i] == '-' && ++i >= len)
        return ND_EEOF;
    size_t d = digits(s, i, len);
    if (d == 0)
        return ND_EPARSE;
    if (d > 1 && s[i] == '0')
        return ND_EPARSE;
    i += d;
    if (i < len && s[i] == '.') {
        if (++i >= len)
            return ND_EEOF;
        if ((d = digits(s, i, len)) == 0)
            return ND_EPARSE;
        i += d;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len)
            return ND_EEOF;
        if ((d = digits(s, i, len)) == 0)
            return ND_EPARSE;
        i += d;
    }
    p->tok[idx].end = (uint32_t)i;
    p->tok[idx].next = idx + 1;
    p->pos = i;
    return ND_OK;
}

static nd_err_t parse_literal(jp_t *p, const char *word, nd_jtype_t type)
{
    size_t n = strlen(word);
    for (size_t k = 0; k < n; k++) {
        if (p->pos + k >= p->len)
            return ND_EEOF;
        if (p->s[p->pos + k] != word[k])
            return ND_EPARSE;
    }
    uint32_t idx;
    nd_err_t rc = new_tok(p, type, &idx);
    if (rc != ND_OK)
        return rc;
    p->pos += n;
    p->tok[idx].end = (uint32_t)p->pos;
    p->tok[idx].next = idx + 1;
    return ND_OK;
}

/* Parses the members of an object or the elements of an array after its opening bracket. */
static nd_err_t parse_container(jp_t *p, bool object)
{
    uint32_t idx;
    nd_err_t rc = new_tok(p, object ? ND_J_OBJECT : ND_J_ARRAY, &idx);
    if (rc != ND_OK)
        return rc;
    if (++p->depth > JSON_DEPTH_MAX)
        return ND_EFULL;
    p->pos++;
    char close = object ? '}' : ']';
    skip_ws(p);
    if (p->pos >= p->len)
        return ND_EEOF;
    uint32_t count = 0;
    if (p->s[p->pos] != close) {
        for (;;) {
            skip_ws(p);
            if (p->pos >= p->len)
                return ND_EEOF;
            if (object) {
                if (p->s[p->pos] != '"')
                    return ND_EPARSE;
                if ((rc = parse_string(p)) != ND_OK)
                    return rc;
                skip_ws(p);
                if (p->pos >= p->len)
                    return ND_EEOF;
                if (p->s[p->pos++] != ':')
                    return ND_EPARSE;
            }
            if ((rc = parse_value(p)) != ND_OK)
                return rc;
            count++;
            skip_ws(p);
            if (p->pos >= p->len)
                return ND_EEOF;
            char c = p->s[p->pos];
            if (c == close)
                break;
            if (c != ',')
                return ND_EPARSE;
            p->pos++;
        }
    }
    if (count > UINT16_MAX)
        return ND_EFULL;
    p->pos++;
    p->depth--;
    p->tok[idx].end = (uint32_t)p->pos;
    p->tok[idx].size = (uint16_t)count;
    p->tok[idx].next = p->n;
    return ND_OK;
}

static nd_err_t parse_value(jp_t *p)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return ND_EEOF;
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, true);
    case '[': return parse_container(p, false);
    case '"': return parse_string(p);
    case 't': return parse_literal(p, "true", ND_J_TRUE);
    case 'f': return parse_literal(p, "false", ND_J_FALSE);
    case 'n': return parse_literal(p, "null", ND_J_NULL);
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return parse_number(p);
        return ND_EPARSE;
    }
}

nd_err_t nd_json_tokenize(const char *text, size_t len, nd_jtok_t *tok, uint32_t cap,
                          uint32_t *count)
{
    ND_ASSERT(text != NULL || len == 0);
    ND_ASSERT(tok != NULL && cap > 0);
    if (len > UINT32_MAX - 1)
        return ND_EFULL;
    jp_t p = {text, len, 0, tok, cap, 0, 0};
    nd_err_t rc = parse_value(&p);
    if (rc != ND_OK)
        return rc;
    skip_ws(&p);
    if (p.pos != len)
        return ND_EPARSE;
    *count = p.n;
    return ND_OK;
}

uint32_t nd_json_get(const char *text, const nd_jtok_t *tok, uint32_t obj, const char *key)
{
    if (tok[obj].type != ND_J_OBJECT)
        return 0;
    size_t klen = strlen(key);
    uint32_t i = obj + 1;
    for (uint32_t k = 0; k < tok[obj].size; k++) {
        const nd_jtok_t *t = &tok[i];
        if (t->end - t->start == klen && memcmp(text + t->start, key, klen) == 0)
            return i + 1;
        i = tok[i + 1].next;
    }
    return 0;
}

nd_err_t nd_json_int(const char *text, const nd_jtok_t *t, int64_t *out)
{
    if (t->type != ND_J_NUMBER)
        return ND_EPARSE;
    size_t i = t->start;
    bool neg = text[i] == '-';
    if (neg)
        i++;
    uint64_t v = 0;
    for (; i < t->end; i++) {
        char c = text[i];
        if (c < '0' || c > '9')
            return ND_EPARSE; /* a fraction or exponent: not an integer */
        uint64_t digit = (uint64_t)(c - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10)
            return ND_EOVERFLOW;
        v = v * 10 + digit;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return ND_OK;
}

bool nd_json_eq(const char *text, const nd_jtok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == ND_J_STRING && t->end - t->start == n && memcmp(text + t->start, s, n) == 0;
}

size_t nd_json_copy(const char *text, const nd_jtok_t *t, char *buf, size_t cap)
{
    ND_ASSERT(cap > 0);
    size_t n = t->end - t->start;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, text + t->start, n);
    buf[n] = '\0';
    return n;
}

/* The four hex digits at s (the tokenizer checked they are hex). */
static uint32_t hex4(const char *s)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (uint32_t)nd_hex_digit(s[k]);
    return v;
}

/* UTF-8 of code point cp into out (4 bytes room); returns the byte count. */
static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

nd_err_t nd_json_string(const char *text, const nd_jtok_t *t, char *buf, size_t cap,
                        size_t *out_len)
{
    ND_ASSERT(t != NULL && buf != NULL);
    ND_ASSERT(cap > 0);
    if (t->type != ND_J_STRING) {
        buf[0] = '\0';
        return ND_EPARSE;
    }
    size_t n = 0;
    nd_err_t rc = ND_OK;
    for (uint32_t i = t->start; i < t->end;) {
        char one[4];
        size_t k = 1;
        char c = text[i];
        if (c != '\\') {
            one[0] = c;
            i++;
        } else {
            char e = text[i + 1];
            i += 2;
            switch (e) {
            case '"': one[0] = '"'; break;
            case '\\': one[0] = '\\'; break;
            case '/': one[0] = '/'; break;
            case 'b': one[0] = '\b'; break;
            case 'f': one[0] = '\f'; break;
            case 'n': one[0] = '\n'; break;
            case 'r': one[0] = '\r'; break;
            case 't': one[0] = '\t'; break;
            case 'u': {
                /* The tokenizer guaranteed four hex digits; a surrogate must come in a
                 * high-low pair, anything else is not a character (refused, never guessed). */
                uint32_t cp = hex4(text + i);
                i += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    rc = ND_EPARSE;
                    goto out;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (i + 6 > t->end || text[i] != '\\' || text[i + 1] != 'u') {
                        rc = ND_EPARSE;
                        goto out;
                    }
                    uint32_t lo = hex4(text + i + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        rc = ND_EPARSE;
                        goto out;
                    }
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                k = utf8_put(cp, one);
                break;
            }
            default: /* the tokenizer admits no other escape */
                ND_ASSERT(!"escape the tokenizer refused");
            }
        }
        if (n + k >= cap) {
            rc = ND_EFULL;
            goto out;
        }
        memcpy(buf + n, one, k);
        n += k;
    }
out:
    buf[n] = '\0';
    if (out_len)
        *out_len = n;
    return rc;
}
