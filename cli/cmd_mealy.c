/* cmd_mealy.c: `ccstream mealy`: print, check and draw the producer's
 * Mealy machines from the tables the core runs on. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "core.h"
#include "md_err.h"
#include "mealy_fmt.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ccstream mealy [--table | --markdown | --dot | --check]"
            " [MACHINE...]\n"
            "\n"
            "Print the producer's Mealy machines (conn, rest, pub) from the\n"
            "tables the core runs on. MACHINE limits output to those named.\n"
            "\n"
            "  --table     tab-separated δ/λ, one line per guarded arm:\n"
            "              machine state input guard next output label\n"
            "              (the default)\n"
            "  --markdown  the 8-tuple and table as in docs/mealy.md\n"
            "  --dot       Graphviz of the reachable transitions\n"
            "              (dot -Tsvg to draw; make docs does it)\n"
            "  --check     validate every table (total, labelled, in range)\n"
            "  -h, --help  this text\n"
            "\n"
            "Exit status: 0 ok (--check: every table valid), 1 error, 2 "
            "usage.\n");
}

int cmd_mealy(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"table", no_argument, NULL, 't'},
        {"markdown", no_argument, NULL, 'm'},
        {"dot", no_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum { TABLE, MARKDOWN, DOT, CHECK } mode = TABLE;
    const struct fsm_def *only[MD_M__COUNT];
    unsigned n_only = 0, m;
    int c, i, bad = 0;

    cli_opt_begin();
    while ((c = cli_opt_next("mealy", argc, argv, ":h", longopts)) != -1) {
        switch (c) {
        case 't':
            mode = TABLE;
            break;
        case 'm':
            mode = MARKDOWN;
            break;
        case 'd':
            mode = DOT;
            break;
        case 'c':
            mode = CHECK;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    for (i = optind; i < argc; i++) {
        const struct fsm_def *d = mealy_find(argv[i]);
        if (d == NULL) {
            fprintf(stderr,
                    "ccstream mealy: no machine '%.80s' (conn, rest, pub)\n",
                    argv[i]);
            return 2;
        }
        if (n_only < MD_M__COUNT) {
            only[n_only++] = d;
        }
    }
    if (n_only == 0) {
        for (m = 1; m < MD_M__COUNT; m++) {
            only[n_only++] = core_defs[m];
        }
    }
    for (m = 0; m < n_only; m++) {
        const struct fsm_def *d = only[m];
        char why[256];
        switch (mode) {
        case TABLE:
            mealy_print_table(stdout, d, m == 0);
            break;
        case MARKDOWN:
            mealy_print_markdown(stdout, d);
            break;
        case DOT:
            mealy_print_dot(stdout, d);
            break;
        case CHECK:
            if (fsm_validate(d, why, sizeof why) != MD_OK) {
                fprintf(stderr, "ccstream mealy: %s\n", why);
                bad = 1;
            } else {
                printf("%s: ok (%u states, %u inputs, %u cells)\n", d->name,
                       d->nstates - 1, d->ninputs - 1,
                       (d->nstates - 1) * (d->ninputs - 1));
            }
            break;
        }
    }
    return bad;
}
