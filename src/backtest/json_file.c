/* json_file.c: JSON documents from files: scenario configs and --params (scenario.h).
 *
 * Here rather than in core because core links without jansson (the fuzz targets build core
 * alone). The bytes come from nd_file_read, so a FIFO, a device or a directory is refused
 * before anything blocks, and jansson's own wording is replaced where it names its flags. */
#include "noderr/scenario.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/text.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

nd_err_t nd_json_file_load(const char *path, size_t size_max, int json_flags, json_t **out,
                           char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    char *buf = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, size_max, 0, &buf, &len, err, err_len);
    if (rc != ND_OK)
        return rc;
    size_t skip = nd_text_bom_len(buf, len);
    json_error_t jerr;
    json_t *root = json_loadb(buf + skip, len - skip, json_flags, &jerr);
    nd_free(buf);
    if (root == NULL) {
        /* jansson names its own flag for an escaped NUL: say what is wrong with the file. */
        const char *why = strstr(jerr.text, "JSON_ALLOW_NUL") ? "\\u0000 (a NUL character) "
                                                                "is not allowed in a string"
                                                              : jerr.text;
        if (jerr.line > 0)
            nd_err_put(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, why);
        else
            nd_err_put(err, err_len, "%s: %s", path, why);
        return ND_EPARSE;
    }
    *out = root;
    return ND_OK;
}

json_t *nd_json_time(int64_t ns)
{
    char text[40];
    nd_time_format_iso(ns, text, sizeof text);
    return json_string(text);
}
