/* report_assets.c: where the page's inlined texts come from and how the page reaches disk.
 * The charting library, web/report.js and web/report.css are embedded into the binary at build
 * time when the library was installed in the source tree (src/report/meson.build), so an
 * installed binary needs no source tree; otherwise they are read at run time from the source
 * tree's web/ (installed by `npm ci --prefix web`). Either way they are never fetched: a report
 * needs no network, and the build needs no npm. NODERR_WEB_DIR, when set, wins over both. A
 * page is written whole with nd_file_write: to PATH.tmp renamed over PATH for a regular
 * file, so a failure never leaves a partial report where a reader expects a whole one, and in
 * place for a device or a FIFO, which a rename would replace. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "report/report_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inlined texts above this size are refused: the library is about 200 KB. */
#define ASSET_BYTES_MAX (16u * 1024u * 1024u)

#if ND_REPORT_EMBEDDED
/* tools/embed_files.py's output (report_assets_embedded.c): NUL-terminated texts. */
extern const char nd__report_embedded_library_js[], nd__report_embedded_report_js[],
    nd__report_embedded_report_css[];
extern const size_t nd__report_embedded_library_js_size, nd__report_embedded_report_js_size,
    nd__report_embedded_report_css_size;
#endif

const char *nd_report_web_dir(void)
{
    const char *env = getenv("NODERR_WEB_DIR");
    return env && env[0] ? env : ND_WEB_DIR;
}

void nd_report_assets_free(nd_report_assets_t *assets)
{
    ND_ASSERT(assets != NULL);
    nd_free(assets->library_js);
    nd_free(assets->report_js);
    nd_free(assets->report_css);
    memset(assets, 0, sizeof *assets);
}

/* A text inside <script> or <style> must not contain the end tag or a comment opener. */
static nd_err_t check_inlinable(const char *path, const char *text, const char *end_tag,
                                char *err, size_t err_len)
{
    const char *bad = strcasestr(text, end_tag);
    if (!bad)
        bad = strstr(text, "<!--");
    if (!bad)
        return ND_OK;
    nd_err_put(err, err_len, "%s: cannot be inlined: it contains '%.9s' at byte %zu", path,
                   bad, (size_t)(bad - text));
    return ND_EPARSE;
}

static nd_err_t load_one(const char *dir, const char *name, const char *end_tag, char **out,
                         char *err, size_t err_len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        nd_err_put(err, err_len, "report: web directory path too long: %s", dir);
        return ND_ERANGE;
    }
    char *text = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, ASSET_BYTES_MAX, 0, &text, &len, err, err_len);
    if (rc == ND_OK && (rc = check_inlinable(path, text, end_tag, err, err_len)) != ND_OK)
        nd_free(text);
    if (rc == ND_OK)
        *out = text;
    return rc;
}

#if ND_REPORT_EMBEDDED
/* A heap copy of an embedded text (the assets are released with nd_free either way), checked
 * like a file's. */
static nd_err_t copy_embedded(const char *name, const char *text, size_t len,
                              const char *end_tag, char **out, char *err, size_t err_len)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(text[len] == '\0');
    char *copy = nd_alloc(len + 1);
    if (copy == NULL) {
        nd_err_put(err, err_len, "report: out of memory for the embedded %s", name);
        return ND_ENOMEM;
    }
    memcpy(copy, text, len + 1);
    nd_err_t rc = check_inlinable(name, copy, end_tag, err, err_len);
    if (rc != ND_OK) {
        nd_free(copy);
        return rc;
    }
    *out = copy;
    return ND_OK;
}

static nd_err_t load_embedded(nd_report_assets_t *assets, char *err, size_t err_len)
{
    nd_report_assets_t a;
    memset(&a, 0, sizeof a);
    nd_err_t rc = copy_embedded("the embedded charting library", nd__report_embedded_library_js,
                                nd__report_embedded_library_js_size, "</script", &a.library_js,
                                err, err_len);
    if (rc == ND_OK)
        rc = copy_embedded("the embedded report.js", nd__report_embedded_report_js,
                           nd__report_embedded_report_js_size, "</script", &a.report_js, err,
                           err_len);
    if (rc == ND_OK)
        rc = copy_embedded("the embedded report.css", nd__report_embedded_report_css,
                           nd__report_embedded_report_css_size, "</style", &a.report_css, err,
                           err_len);
    if (rc != ND_OK) {
        nd_report_assets_free(&a);
        return rc;
    }
    *assets = a;
    return ND_OK;
}
#endif

nd_err_t nd_report_assets_load(const char *web_dir, nd_report_assets_t *assets, char *err,
                               size_t err_len)
{
    ND_ASSERT(assets != NULL);
#if ND_REPORT_EMBEDDED
    const char *env = getenv("NODERR_WEB_DIR");
    if (web_dir == NULL && !(env && env[0]))
        return load_embedded(assets, err, err_len);
#endif
    const char *dir = web_dir ? web_dir : nd_report_web_dir();
    ND_ASSERT(dir != NULL);
    nd_report_assets_t a;
    memset(&a, 0, sizeof a);
    nd_err_t rc = load_one(dir, ND_REPORT_LIBRARY_PATH, "</script", &a.library_js, err, err_len);
    if (rc == ND_ENOTFOUND) {
        nd_err_put(err, err_len,
                       "report: the charting library is not installed (%s/%s missing); run "
                       "'npm ci --prefix web' in the source tree, or set NODERR_WEB_DIR to a "
                       "web directory where it is installed", dir, ND_REPORT_LIBRARY_PATH);
        return rc;
    }
    if (rc == ND_OK)
        rc = load_one(dir, "report.js", "</script", &a.report_js, err, err_len);
    if (rc == ND_OK)
        rc = load_one(dir, "report.css", "</style", &a.report_css, err, err_len);
    if (rc != ND_OK) {
        nd_report_assets_free(&a);
        return rc;
    }
    *assets = a;
    return ND_OK;
}

nd_err_t nd_report_html_write(const json_t *doc, const char *path, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(doc != NULL);
    nd_report_assets_t assets;
    nd_err_t rc = nd_report_assets_load(NULL, &assets, err, err_len);
    if (rc != ND_OK)
        return rc;
    char *html = NULL;
    size_t len = 0;
    rc = nd_report_html_render(doc, &assets, &html, &len, err, err_len);
    nd_report_assets_free(&assets);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(html != NULL);
    ND_DEBUG_ASSERT(len == strlen(html));
    rc = nd_file_write(path, html, len, err, err_len);
    nd_free(html);
    return rc;
}
