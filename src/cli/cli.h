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

#endif
