/* proc.h: test helpers for the commands that run as processes: a shell
 * command's status, a file's bytes, the monotonic clock, and `ccstream
 * serve` started on a free port (its banner read: the port, the CA) and
 * stopped by its PID. Every wait is bounded; failures are cmocka
 * failures. */
#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tserve {
    pid_t pid;
    int port;
    char err[300]; /* its stderr's file */
    char ca[512];  /* the CA file it printed (--tls), or "" */
    char banner_file[300]; /* its banner (stdout up to "  source") */
};

/* The status of sh -c CMD (printf-style); 128 if it did not exit. */
int tsh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A file's bytes, NUL-terminated, malloc'd (the test fails if it cannot
 * be read); *len if not NULL. */
char *tslurp(const char *path, size_t *len);

int64_t tnow_ms(void);

/* $BUILD/rel (BUILD defaults to "build") as an absolute path into out:
 * the tests cd elsewhere. 0, or -1 when it does not fit or the working
 * directory is unknown. */
int tbuild_path(char *out, size_t cap, const char *rel);

/* Start BIN serve ARGS... --port 0 (NULL-terminated arguments after
 * "serve"), its stderr in DIR; wait up to 15 s for its banner. */
void tserve_start(struct tserve *s, const char *bin, const char *dir, ...);

/* Send sig, wait up to 10 s: the exit status (128 + signal if killed). */
int tserve_stop(struct tserve *s, int sig);

#endif /* TEST_PROC_H */
