/* cli_opt.c: getopt_long for every subcommand, with one set of messages
 * for unknown options and missing values (contract in cli.h). */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_opt_begin(void)
{
    optind = 0; /* glibc: 0 also resets its internal scan state */
    opterr = 0; /* the messages are ours */
}

int cli_opt_next(const char *cmd, int argc, char **argv,
                 const char *shortopts, const struct option *longopts)
{
    const char *what;
    int c;

    assert(shortopts[shortopts[0] == '+' ? 1 : 0] == ':');
    c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c != '?' && c != ':') {
        return c;
    }
    /* The offending element is the one getopt just stepped over; a short
     * option inside a cluster ("-hx") is named by optopt alone. */
    what = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    fprintf(stderr, "ccstream%s%s: ", cmd != NULL ? " " : "",
            cmd != NULL ? cmd : "");
    if (c == '?' && optopt != 0 && strncmp(what, "--", 2) != 0) {
        fprintf(stderr, "unknown option '-%c'\n", optopt);
    } else if (c == '?') {
        fprintf(stderr, "unknown option '%.80s'\n", what);
    } else {
        fprintf(stderr, "%s needs a value\n", what);
    }
    return c;
}
