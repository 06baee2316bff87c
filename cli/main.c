/* main.c: the ccstream front end: parses the subcommand and hands over.
 * The only place that may exit the process. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"mealy", cmd_mealy,
     "print, check or draw the producer's Mealy machines"},
    {"live", cmd_live,
     "the producer: CryptoCompare into the core, bars to Kafka"},
    {"capture", cmd_capture,
     "record a live session (or ccstream serve's) into a capture"},
    {"replay", cmd_replay,
     "drive the core from a capture under a virtual clock"},
    {"inspect", cmd_inspect, "summarise a capture (text or --json)"},
    {"export", cmd_export, "write a capture as JSON lines"},
    {"import", cmd_import, "read JSON lines back into a capture"},
    {"synth", cmd_synth, "generate a realistic session into a capture"},
    {"serve", cmd_serve,
     "a fake CryptoCompare (WebSocket and REST) on loopback"},
    {"report", cmd_report,
     "one HTML page of a session: bars, machine states, summary"},
    {"tail", cmd_tail, "print the bars in Kafka topics"},
    {"broker", cmd_broker,
     "an embedded Kafka broker (librdkafka's mock cluster) on loopback"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: ccstream COMMAND [ARGS...]\n\n"
               "ccstream captures CryptoCompare sessions, replays them\n"
               "through its Mealy-machine core, and publishes OHLCV bars to\n"
               "Kafka/Redpanda.\n\nCommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\n  ccstream COMMAND --help   help for one command\n"
               "  ccstream --version        print the version\n");
}

/* What a command that succeeded wrote to standard output reached it:
 * flushed and checked (a full disk, a closed pipe, /dev/full), else exit
 * 1 with the reason. A command that failed has said why already. */
static int stdout_checked(const char *cmd, int status)
{
    errno = 0;
    if (status == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "ccstream %s: cannot write standard output: %s\n",
                cmd, strerror(errno != 0 ? errno : EIO));
        return 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *name;
    size_t i;
    int c;

    /* '+': options end at the command, whose own options follow it */
    cli_opt_begin();
    while ((c = cli_opt_next(NULL, argc, argv, "+:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("ccstream %s\n", CCSTREAM_VERSION);
            return 0;
        default:
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    name = argv[optind];
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0) {
        printf("ccstream %s\n", CCSTREAM_VERSION);
        return 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            int st = commands[i].run(argc - optind, argv + optind);
            return stdout_checked(name, st);
        }
    }
    fprintf(stderr, "ccstream: unknown command '%.80s'\n\n", name);
    usage(stderr);
    return 2;
}
