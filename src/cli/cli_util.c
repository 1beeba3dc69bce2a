/* cli_util.c: option parsing shared by the subcommands; errors name the option and why. */
#include "cli.h"
#include "noderr/fixed.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nd_cli_fixed(const char *option, const char *text, int decimals, int64_t min, int64_t max,
                 int64_t *out)
{
    int64_t v = 0;
    nd_err_t rc = nd_fixed_parse(text, strlen(text), decimals, &v);
    if (rc == ND_EPRECISION) {
        fprintf(stderr, "noderr: %s: '%s' has more than %d decimal places\n", option, text,
                decimals);
        return -1;
    }
    if (rc != ND_OK) {
        fprintf(stderr, "noderr: %s: '%s' is not a plain decimal number\n", option, text);
        return -1;
    }
    if (v < min || v > max) {
        char lo[32], hi[32];
        nd_fixed_format(min, decimals, lo, sizeof lo);
        nd_fixed_format(max, decimals, hi, sizeof hi);
        fprintf(stderr, "noderr: %s: %s is outside [%s, %s]\n", option, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int nd_cli_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
    return nd_cli_fixed(option, text, 0, min, max, out);
}

int nd_cli_real(const char *option, const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v)) {
        fprintf(stderr, "noderr: %s: '%s' is not a finite number\n", option, text);
        return -1;
    }
    if (v < min || v > max) {
        fprintf(stderr, "noderr: %s: %s is outside [%g, %g]\n", option, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int nd_cli_print_json(json_t *value)
{
    /* 15 significant digits: stable text, and beyond what any statistic here means. */
    char *text = json_dumps(value, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (!text) {
        fprintf(stderr, "noderr: could not encode the JSON output\n");
        return -1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text); /* tidy:allow: json_dumps allocates with the C library */
    return 0;
}
