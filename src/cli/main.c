/* main.c: the `noderr` command: git-style subcommands, one file each (cmd_*.c), all declared in
 * cli.h and all built (a missing command file is a link error, not a silently shorter list).
 *
 * Output is checked here once: after the command, stdout is flushed and closed, and a write
 * that failed (a full disk, a closed pipe) turns the exit code into 2 with a message. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"backtest", nd_cmd_backtest, "run a strategy over historical or synthetic bars"},
    {"metrics", nd_cmd_metrics, "performance and risk metrics of a return series"},
    {"strategies", nd_cmd_strategies, "list the built-in strategies and their parameters"},
    {"data", nd_cmd_data, "download historical candles (data fetch)"},
    {"scenarios", nd_cmd_scenarios, "list the validation scenarios"},
    {"validate", nd_cmd_validate, "run a strategy through every scenario with pass/fail criteria"},
    {"evolve", nd_cmd_evolve, "optimise strategy parameters with a genetic algorithm"},
    {"audit", nd_cmd_audit, "verify the tamper-evident audit chain (audit verify)"},
    {"surveil", nd_cmd_surveil, "scan an order-event log for market abuse"},
    {"report", nd_cmd_report, "regulatory reports from the store"},
    {"retention", nd_cmd_retention, "apply the record retention policy"},
    {"book", nd_cmd_book, "replay a recorded order-book session (book replay)"},
    {"decode", nd_cmd_decode, "print the normalised events of a recorded venue stream"},
    {"sign", nd_cmd_sign, "sign a request payload as a venue expects"},
    {"paper", nd_cmd_paper, "paper trading on a venue's live market data (docs/live.md)"},
    {"live", nd_cmd_live, "live trading with the venue's order adapters (docs/live.md)"},
    {"status", nd_cmd_status, "the state of a running paper or live session"},
    {"kill", nd_cmd_kill, "engage the kill switch of a running session"},
    {"launch", nd_cmd_launch, "preflight, then a session under the module supervisor (docs/launcher.md)"},
    {"shutdown", nd_cmd_shutdown, "emergency shutdown of a running session (cancel all, flatten)"},
    {"chaos", nd_cmd_chaos, "the chaos suite: faults against a launch session, resilience score (docs/chaos.md)"},
    {"preflight", nd_cmd_preflight, "the launcher's 17 checks over a session config (docs/launcher.md)"},
    {"pipeline", nd_cmd_pipeline, "strategy versions and their stages; pipeline register"},
    {"promote", nd_cmd_promote, "promote a strategy version through its gates (docs/launcher.md)"},
    {"rollback", nd_cmd_rollback, "put a strategy's previous version back in production"},
    {"exchange-sim", nd_cmd_exchange_sim, "a local Binance Spot REST exchange with a matching engine"},
    {"oracle", nd_cmd_oracle, "read Chainlink price feeds"},
    {"sim", nd_cmd_sim, "deterministic simulation testing of the engine's invariants"},
    {"indicator", nd_cmd_indicator, "print a technical indicator over a bar file"},
    {"strategy", nd_cmd_strategy, "scaffold a C strategy plugin project (strategy new)"},
    {"anomaly", nd_cmd_anomaly, "score market data with the anomaly model (breaker calibration)"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: noderr <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'noderr <command> --help' for a command's options.\n"
                 "Exit codes: 0 success, 1 a check failed, 2 usage or input error.\n");
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ND_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return ND_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("noderr 0.1.0\n");
        return ND_EXIT_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "noderr: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return ND_EXIT_USAGE;
}

/* stdout's buffer when it is not a terminal. A write that fails inside printf leaves only the
 * stream's error flag (the errno is gone by the final flush, which then says "Input/output
 * error"); with output up to this size held until nd_cli_stdout_finish, the failing write is
 * that flush's own and its reason ("No space left on device") is reported. Larger output still
 * fails with exit 2, with the less precise reason. */
#define STDOUT_BUFFER_BYTES (256u * 1024u)

int main(int argc, char **argv)
{
    static char stdout_buffer[STDOUT_BUFFER_BYTES];
    if (!isatty(STDOUT_FILENO))
        setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
    int rc = dispatch(argc, argv);
    nd_cli_strategy_libs_close(); /* after the command: nothing uses a plugin's code any more */
    return nd_cli_stdout_finish(rc);
}
