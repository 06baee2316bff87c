/* proc.c: see proc.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "proc.h"

int tsh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

char *tslurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    if (f == NULL) {
        fail_msg("cannot read %s", path);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (len != NULL) {
        *len = (size_t)n;
    }
    return b;
}

int64_t tnow_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tbuild_path(char *out, size_t cap, const char *rel)
{
    const char *b = getenv("BUILD");
    const char *dir = b != NULL && *b != '\0' ? b : "build";
    char cwd[256];
    int n;

    if (dir[0] == '/') {
        n = snprintf(out, cap, "%s/%s", dir, rel);
    } else if (getcwd(cwd, sizeof cwd) != NULL) {
        n = snprintf(out, cap, "%s/%s/%s", cwd, dir, rel);
    } else {
        return -1;
    }
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

void tserve_start(struct tserve *s, const char *bin, const char *dir, ...)
{
    static int n;
    static char pool[40][512];
    char *argv[40];
    int argc = 0, pfd[2];
    const char *a;
    va_list ap;
    char buf[4096];
    size_t used = 0;
    int64_t deadline = tnow_ms() + 15000;

    memset(s, 0, sizeof *s);
    snprintf(s->err, sizeof s->err, "%s/serve-%d.err", dir, ++n);
    snprintf(pool[argc], sizeof pool[argc], "%s", bin);
    argv[argc] = pool[argc];
    argc++;
    snprintf(pool[argc], sizeof pool[argc], "serve");
    argv[argc] = pool[argc];
    argc++;
    va_start(ap, dir);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 36) {
        snprintf(pool[argc], sizeof pool[argc], "%s", a);
        argv[argc] = pool[argc];
        argc++;
    }
    va_end(ap);
    snprintf(pool[argc], sizeof pool[argc], "--port");
    argv[argc] = pool[argc];
    argc++;
    snprintf(pool[argc], sizeof pool[argc], "0");
    argv[argc] = pool[argc];
    argc++;
    argv[argc] = NULL;
    assert_int_equal(pipe(pfd), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int fe = open(s->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(pfd[1], 1);
        if (fe >= 0) {
            dup2(fe, 2);
        }
        close(pfd[0]);
        close(pfd[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(pfd[1]);
    /* the banner ends with the "  source" line */
    buf[0] = '\0';
    while (!(used > 0 && buf[used - 1] == '\n' &&
             strstr(buf, "  source") != NULL)) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        ssize_t r;
        int left = (int)(deadline - tnow_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            fail_msg("serve did not start in 15 s; stderr in %s", s->err);
        }
        r = read(pfd[0], buf + used, sizeof buf - 1 - used);
        if (r <= 0) {
            fail_msg("serve exited before listening; stderr in %s", s->err);
        }
        used += (size_t)r;
        buf[used] = '\0';
    }
    close(pfd[0]);
    snprintf(s->banner_file, sizeof s->banner_file, "%s/serve-%d.banner", dir,
             n);
    {
        FILE *bf = fopen(s->banner_file, "w");
        if (bf != NULL) {
            fputs(buf, bf);
            fclose(bf);
        }
    }
    {
        const char *l = strstr(buf, "listening on ");
        const char *eol, *c, *ca = strstr(buf, "CA file   ");
        assert_non_null(l);
        eol = strchr(l, '\n');
        assert_non_null(eol);
        for (c = eol; c > l && *c != ':'; c--) {
        }
        s->port = (int)strtol(c + 1, NULL, 10);
        assert_true(s->port > 0 && s->port < 65536);
        if (ca != NULL) {
            size_t k = strcspn(ca + 10, "\n");
            snprintf(s->ca, sizeof s->ca, "%.*s", (int)k, ca + 10);
        }
    }
}

int tserve_stop(struct tserve *s, int sig)
{
    int st = 0;
    int64_t deadline = tnow_ms() + 10000;

    if (s->pid <= 0) {
        return 0;
    }
    kill(s->pid, sig);
    for (;;) {
        pid_t w = waitpid(s->pid, &st, WNOHANG);
        if (w == s->pid) {
            break;
        }
        if (tnow_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            s->pid = 0;
            fail_msg("serve did not stop in 10 s after signal %d", sig);
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
