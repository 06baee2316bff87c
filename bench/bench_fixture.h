/* bench_fixture.h: the synth capture the replay benchmarks read
 * (bench_replay, bench_report, bench_series). Header-only, like the
 * benchmarks. */
#ifndef BENCH_FIXTURE_H
#define BENCH_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "md_err.h"
#include "synth.h"

/* A default-scenario synth capture of `frames` frames at path (seed
 * 20250722, as long as synth allows), of `pairs` symbols Q0000,Q0001,...
 * or of synth's default symbols when pairs is 0: 0, or -1 when it could
 * not be made (why on standard error, after who). Written by a child: a
 * peak RSS counts the pages a process had when it forked (Linux folds
 * them into ru_maxrss at exec), so the caller stays small for the
 * replays it forks later. */
static inline int bench_make_capture(const char *who, const char *path,
                                     unsigned pairs, uint64_t frames)
{
    struct synth_opts o;
    char err[256], *list = NULL;
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        synth_opts_default(&o);
        if (pairs > 0) {
            /* "Q" and at least 4 digits of an unsigned, and a comma */
            size_t n = 0, cap = (size_t)pairs * 12 + 1;
            unsigned i;
            list = malloc(cap); /* o points into it until the write */
            if (list == NULL) {
                fprintf(stderr, "%s: out of memory\n", who);
                _exit(1);
            }
            for (i = 0; i < pairs; i++) {
                n += (size_t)snprintf(list + n, cap - n, "%sQ%04u",
                                      i > 0 ? "," : "", i);
            }
            if (synth_set_symbols(&o, list, err, sizeof err) != MD_OK) {
                fprintf(stderr, "%s: %s\n", who, err);
                _exit(1);
            }
        }
        o.minutes = SYNTH_MINUTES_MAX;
        o.max_frames = frames;
        o.seed = 20250722;
        if (synth_write(&o, path, NULL, err, sizeof err) != MD_OK) {
            fprintf(stderr, "%s: synth: %s\n", who, err);
            _exit(1);
        }
        free(list);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        return -1;
    }
    return 0;
}

#endif /* BENCH_FIXTURE_H */
