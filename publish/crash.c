/* crash.c: crash points (crash.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"

static const char *const names[CRASH__COUNT] = {
    "produce", "ack", "commit-before", "commit-after", "txn-commit"};

void crash_point(enum crash_at at)
{
    static int armed = -1; /* -1: not read yet */
    static enum crash_at which;
    static long left;

    if (armed == 0) {
        return;
    }
    if (armed < 0) {
        const char *v = getenv("CCSTREAM_CRASH_AT");
        const char *colon = v != NULL ? strchr(v, ':') : NULL;
        unsigned i;
        armed = 0;
        for (i = 0; colon != NULL && i < CRASH__COUNT; i++) {
            if (strncmp(v, names[i], (size_t)(colon - v)) == 0 &&
                names[i][colon - v] == '\0') {
                which = (enum crash_at)i;
                left = strtol(colon + 1, NULL, 10);
                armed = left > 0;
            }
        }
        if (armed == 0) {
            return;
        }
    }
    if (at == which && --left == 0) {
        fprintf(stderr, "crash point %s reached: killed\n", names[at]);
        kill(getpid(), SIGKILL);
    }
}
