/* main.c: the `noderr` command: git-style subcommands, one file each (cmd_*.c). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"backtest", nd_cmd_backtest, "run a strategy over historical or synthetic bars"},
    {"metrics", nd_cmd_metrics, "performance and risk metrics of a return series"},
    {"strategies", nd_cmd_strategies, "list the built-in strategies and their parameters"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: noderr <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'noderr <command> --help' for a command's options.\n"
                 "Exit codes: 0 success, 1 a check failed, 2 usage or input error.\n");
}

int main(int argc, char **argv)
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "noderr: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return ND_EXIT_USAGE;
}
