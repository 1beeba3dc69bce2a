/* cmd_strategy.c: `noderr strategy new NAME [--dir DIR]`: scaffolds a C strategy plugin project
 * (meson.build using pkg-config noderr, src/NAME.c with an SMA cross on the indicator library,
 * README.md) that builds out of tree against the installed SDK.
 *
 * The three files are the templates in src/cli/strategy_template/, embedded at build time
 * (tools/embed_files.py), with every @NAME@ replaced by NAME; the same template is compiled
 * by the test suite, so what `strategy new` writes is known to build. Nothing is overwritten:
 * an existing DIR is refused, and a bad NAME (not a strategy name, or a built-in's) too. */
#include "cli.h"
#include "noderr/alloc.h"
#include "noderr/file.h"
#include "noderr/limits.h"
#include "noderr/strategy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* tools/embed_files.py's output (strategy_template.c): NUL-terminated texts. */
extern const char nd__strategy_template_meson[], nd__strategy_template_c[],
    nd__strategy_template_readme[];
extern const size_t nd__strategy_template_meson_size, nd__strategy_template_c_size,
    nd__strategy_template_readme_size;

static const char usage_text[] =
    "usage: noderr strategy new NAME [--dir DIR]\n"
    "\n"
    "Creates a C strategy plugin project in DIR (default ./NAME): meson.build (finds the\n"
    "installed SDK with pkg-config noderr), src/NAME.c (a moving-average crossover with fast\n"
    "and slow parameters, on the indicator library) and README.md. Build it with\n"
    "`meson setup build && ninja -C build` and run it with --strategy-lib build/NAME.so.\n"
    "NAME is [a-z][a-z0-9_]*, at most 31 characters, and not a built-in strategy's name;\n"
    "DIR must not exist. See docs/strategy-sdk.md.\n";


typedef struct options {
    const char *dir;
} options_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("dir", options_t, dir),
    ND_CLI_OPTS_END,
};


static int check_name(const char *name)
{
    size_t len = strlen(name);
    bool ok = len >= 1 && len < ND_NAME_MAX && name[0] >= 'a' && name[0] <= 'z';
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
             name[i] == '_';
    if (!ok) {
        fprintf(stderr, "noderr strategy new: '%s' is not a strategy name ([a-z][a-z0-9_]*, at "
                "most %d characters)\n", name, ND_NAME_MAX - 1);
        return -1;
    }
    if (nd_strategy_find(name) || nd_strategy_find_event(name)) {
        fprintf(stderr, "noderr strategy new: '%s' is a built-in strategy's name; pick another\n",
                name);
        return -1;
    }
    return 0;
}

/* Writes template with every @NAME@ replaced by name to dir/file. */
static int write_file(const char *dir, const char *file, const char *template, size_t len,
                      const char *name)
{
    static const char mark[] = "@NAME@";
    size_t name_len = strlen(name), cap = len + 1 + (len / 6 + 1) * name_len;
    char *text = nd_alloc(cap), path[4096], err[512];
    if (text == NULL) {
        fprintf(stderr, "noderr strategy new: out of memory\n");
        return -1;
    }
    size_t used = 0;
    for (const char *p = template; *p;) {
        const char *hit = strstr(p, mark);
        size_t chunk = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(text + used, p, chunk);
        used += chunk;
        p += chunk;
        if (hit) {
            memcpy(text + used, name, name_len);
            used += name_len;
            p += sizeof mark - 1;
        }
    }
    int rc = 0;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (nd_file_write(path, text, used, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr strategy new: %s\n", err);
        rc = -1;
    }
    nd_free(text);
    return rc;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0)
        return 0;
    if (errno == EEXIST)
        fprintf(stderr, "noderr strategy new: %s already exists; give a new --dir\n", path);
    else
        fprintf(stderr, "noderr strategy new: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

static int scaffold(const char *name, const char *dir)
{
    char src_dir[4096], c_file[ND_NAME_MAX + 8];
    if ((size_t)snprintf(src_dir, sizeof src_dir, "%s/src", dir) >= sizeof src_dir) {
        fprintf(stderr, "noderr strategy new: --dir: path too long\n");
        return ND_EXIT_USAGE;
    }
    snprintf(c_file, sizeof c_file, "src/%s.c", name);
    if (make_dir(dir) || make_dir(src_dir) ||
        write_file(dir, "meson.build", nd__strategy_template_meson,
                   nd__strategy_template_meson_size, name) ||
        write_file(dir, c_file, nd__strategy_template_c, nd__strategy_template_c_size, name) ||
        write_file(dir, "README.md", nd__strategy_template_readme,
                   nd__strategy_template_readme_size, name))
        return ND_EXIT_USAGE;
    printf("created %s: meson.build, %s, README.md\n"
           "build:  cd %s && meson setup build && ninja -C build\n"
           "run:    noderr backtest --strategy-lib %s/build/%s.so\n",
           dir, c_file, dir, dir, name);
    return ND_EXIT_OK;
}

int nd_cmd_strategy(int argc, char **argv)
{
    int rc = nd_cli_subcommand("strategy", argc, argv, "new", usage_text);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    argc--;
    argv++;
    const char *name = NULL;
    if (argc >= 2 && argv[1][0] != '-') {
        name = argv[1];
        argc--;
        argv++;
    }
    options_t o = {NULL};
    rc = nd_cli_parse("strategy new", argc, argv, options, usage_text, NULL, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (name == NULL) {
        fprintf(stderr, "noderr strategy new: missing the strategy NAME\n%s", usage_text);
        return ND_EXIT_USAGE;
    }
    if (check_name(name))
        return ND_EXIT_USAGE;
    return scaffold(name, o.dir ? o.dir : name);
}
