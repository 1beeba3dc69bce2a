/* cli.h: the `noderr` subcommands. Each returns the process exit code: 0 success, 1 a check
 * failed, 2 usage or input error (with a message on stderr naming where and why). Each accepts
 * --help (usage on stdout, exit 0). */
#ifndef NODERR_CLI_H
#define NODERR_CLI_H

#define ND_EXIT_OK 0
#define ND_EXIT_CHECK_FAILED 1
#define ND_EXIT_USAGE 2

int nd_cmd_backtest(int argc, char **argv);
int nd_cmd_metrics(int argc, char **argv);
int nd_cmd_strategies(int argc, char **argv);

/* Shared option parsing (cli_util.c). Each returns 0 on success, -1 with a message on stderr
 * naming the option and why. */
#include <stdint.h>

/* Parses a decimal with at most `decimals` places into units of 10^-decimals, within
 * [min, max] (in those units). */
int nd_cli_fixed(const char *option, const char *text, int decimals, int64_t min, int64_t max,
                 int64_t *out);
/* Parses a whole number within [min, max]. */
int nd_cli_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);
/* Parses a finite real number within [min, max]. */
int nd_cli_real(const char *option, const char *text, double min, double max, double *out);
/* Writes a JSON value to stdout followed by a newline, deterministic formatting. */
struct json_t;
int nd_cli_print_json(struct json_t *value);

#endif
