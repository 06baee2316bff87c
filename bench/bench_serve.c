/* bench_serve.c: frames per second `ccstream serve` sends to clients that
 * read as fast as they can, beside a bare libwebsockets sender of the same
 * frames in the same run (no SQLite, no re-basing, no subscriptions: the
 * frames, pre-rendered, written in a loop), and serve's CPU per frame.
 *
 *   bench_serve [SECONDS]     (default 3: each measurement's length)
 *
 * Both servers play synth:minutes=60,seed=3 (its frames in a loop). The
 * client is this process with 1 or 10 plain sockets, each subscribed to
 * every pair: a lean WebSocket reader that counts frames from their
 * headers and skips the payloads, so it costs far less per frame than
 * either server and the servers are what is measured (an lws client costs
 * about as much per frame as the sender). Best of 5 per figure, the two
 * servers measured alternately. Server CPU: utime + stime of its process
 * (/proc/PID/stat) over the measurement, per frame received. The ratio:
 * best against best, and the median of the five pairs measured back to
 * back (the machine's noise moves both servers). The servers run on CPU
 * 0, the client on CPU 1. */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"
#include "md_err.h"
#include "source.h"

#define SOURCE "synth:minutes=60,seed=3"
#define MAXC 10

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the bare sender -------------------------------------------------- */

static struct src g_src;
static char **g_frames;
static size_t *g_lens;

struct bare_pss {
    size_t next;
};

static int bare_cb(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    struct bare_pss *p = user;
    int k;

    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        p->next = 0;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        for (k = 0; k < 64 && !lws_send_pipe_choked(wsi); k++) {
            size_t i = p->next++ % g_src.n_frames;
            if (lws_write(wsi, (unsigned char *)g_frames[i] + LWS_PRE,
                          g_lens[i], LWS_WRITE_TEXT) < (int)g_lens[i]) {
                return -1;
            }
        }
        lws_callback_on_writable(wsi);
        return 0;
    default:
        return 0;
    }
}

static void bare_main(int port_fd)
{
    static const struct lws_protocols protos[] = {
        {"bare", bare_cb, sizeof(struct bare_pss), 4096, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    char err[512];
    size_t i;
    int port;

    if (src_load(&g_src, SOURCE, NULL, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_serve: %s\n", err);
        _exit(1);
    }
    g_frames = calloc(g_src.n_frames, sizeof *g_frames);
    g_lens = calloc(g_src.n_frames, sizeof *g_lens);
    for (i = 0; i < g_src.n_frames; i++) {
        g_lens[i] = g_src.frames[i].len;
        g_frames[i] = malloc(LWS_PRE + g_lens[i]);
        memcpy(g_frames[i] + LWS_PRE, src_payload(&g_src, &g_src.frames[i]),
               g_lens[i]);
    }
    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protos;
    ctx = lws_create_context(&info);
    if (ctx == NULL) {
        _exit(1);
    }
    port = lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default"));
    if (write(port_fd, &port, sizeof port) != sizeof port) {
        _exit(1);
    }
    close(port_fd);
    for (;;) {
        lws_service(ctx, 0);
    }
}

/* ---- the client ------------------------------------------------------ */

/* A lean WebSocket reader on plain sockets (the upgrade by hand, frames
 * counted from their headers, payloads skipped), so the client costs far
 * less per frame than either server and the servers are what is measured:
 * an lws client costs about as much per frame as the sender. */
struct rawc {
    int fd;
    unsigned char buf[1 << 17];
    size_t have;      /* bytes in buf */
    uint64_t skip;    /* payload bytes still to pass over */
    uint64_t frames;
};

static int raw_connect(struct rawc *c, int port, bool subscribe)
{
    struct sockaddr_in a;
    char req[512], resp[2048];
    size_t got = 0;
    int n;
    static const char sub[] =
        "{\"action\":\"SubAdd\",\"subs\":[\"0~Coinbase~BTC~USD\","
        "\"0~Coinbase~ETH~USD\",\"0~Coinbase~LTC~USD\",\"5~CCCAGG~BTC~USD\","
        "\"5~CCCAGG~ETH~USD\",\"5~CCCAGG~LTC~USD\"]}";

    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        return -1;
    }
    n = snprintf(req, sizeof req,
                 "GET /v2?api_key=bench-key-0001 HTTP/1.1\r\n"
                 "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n", port);
    if (write(c->fd, req, (size_t)n) != n) {
        return -1;
    }
    while (got < sizeof resp - 1) {
        ssize_t r = read(c->fd, resp + got, 1); /* up to the blank line */
        if (r <= 0) {
            return -1;
        }
        got++;
        if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0) {
            break;
        }
    }
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0) {
        return -1;
    }
    if (subscribe) {
        unsigned char f[512];
        size_t len = sizeof sub - 1, i;
        f[0] = 0x81;
        f[1] = (unsigned char)(0x80 | 126);
        f[2] = (unsigned char)(len >> 8);
        f[3] = (unsigned char)len;
        memset(f + 4, 0, 4); /* a zero mask: the payload as it is */
        for (i = 0; i < len; i++) {
            f[8 + i] = (unsigned char)sub[i];
        }
        if (write(c->fd, f, 8 + len) != (ssize_t)(8 + len)) {
            return -1;
        }
    }
    return 0;
}

/* Read what is there and count the frames that end in it. */
static int raw_read(struct rawc *c)
{
    ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
    size_t at = 0;

    if (r <= 0) {
        return -1;
    }
    c->have += (size_t)r;
    for (;;) {
        uint64_t len;
        size_t hl;
        if (c->skip > 0) {
            size_t k = c->have - at < c->skip ? c->have - at : (size_t)c->skip;
            at += k;
            c->skip -= k;
            if (c->skip > 0) {
                break;
            }
            c->frames++;
            continue;
        }
        if (c->have - at < 2) {
            break;
        }
        len = c->buf[at + 1] & 0x7f;
        hl = 2;
        if (len == 126) {
            if (c->have - at < 4) {
                break;
            }
            len = (uint64_t)c->buf[at + 2] << 8 | c->buf[at + 3];
            hl = 4;
        } else if (len == 127) {
            unsigned k;
            if (c->have - at < 10) {
                break;
            }
            len = 0;
            for (k = 0; k < 8; k++) {
                len = len << 8 | c->buf[at + 2 + k];
            }
            hl = 10;
        }
        at += hl;
        if (len == 0) {
            c->frames++;
        } else {
            c->skip = len;
        }
    }
    memmove(c->buf, c->buf + at, c->have - at);
    c->have -= at;
    return 0;
}

static uint64_t proc_cpu_ticks(pid_t pid)
{
    return bench_proc_cpu_ticks((int)pid);
}

/* Frames/s over secs with n sockets; *cpu_ns the server's CPU per frame. */
static double measure(int port, pid_t server, int n, bool subscribe,
                      double secs, double *cpu_ns)
{
    static struct rawc c[MAXC];
    struct pollfd p[MAXC];
    int i;
    double t0, dt;
    uint64_t f0 = 0, f1 = 0, c0, c1;
    long hz = sysconf(_SC_CLK_TCK);

    for (i = 0; i < n; i++) {
        if (raw_connect(&c[i], port, subscribe) != 0) {
            fprintf(stderr, "bench_serve: cannot connect to %d\n", port);
            exit(1);
        }
        p[i].fd = c[i].fd;
        p[i].events = POLLIN;
    }
    /* warm up 0.5 s, then measure */
    for (t0 = now_s(); now_s() - t0 < 0.5;) {
        if (poll(p, (nfds_t)n, 100) > 0) {
            for (i = 0; i < n; i++) {
                if (p[i].revents & POLLIN) {
                    raw_read(&c[i]);
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        f0 += c[i].frames;
    }
    c0 = proc_cpu_ticks(server);
    t0 = now_s();
    while (now_s() - t0 < secs) {
        if (poll(p, (nfds_t)n, 100) > 0) {
            for (i = 0; i < n; i++) {
                if ((p[i].revents & POLLIN) && raw_read(&c[i]) != 0) {
                    p[i].fd = -1;
                }
            }
        }
    }
    dt = now_s() - t0;
    c1 = proc_cpu_ticks(server);
    for (i = 0; i < n; i++) {
        f1 += c[i].frames;
        close(c[i].fd);
    }
    *cpu_ns = f1 > f0 ? (double)(c1 - c0) / (double)hz * 1e9 /
                            (double)(f1 - f0)
                      : 0;
    return (double)(f1 - f0) / dt;
}

/* Run on CPU cpu only (when the machine has two): the servers on one core,
 * the client on the other, so neither steals the other's time. */
static void pin(int cpu)
{
    cpu_set_t set;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        return;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static pid_t start_serve(int *port)
{
    int pfd[2];
    pid_t pid;
    char buf[2048];
    size_t used = 0;
    const char *l;

    if (pipe(pfd) != 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        pin(0);
        dup2(pfd[1], 1);
        close(pfd[0]);
        execl("build/ccstream", "ccstream", "serve", SOURCE, "--speed", "max",
              "--loop", "--port", "0", "--quiet", "--ping", "0",
              (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    buf[0] = '\0';
    while (strstr(buf, "  source") == NULL && used < sizeof buf - 1) {
        ssize_t r = read(pfd[0], buf + used, sizeof buf - 1 - used);
        if (r <= 0) {
            return -1;
        }
        used += (size_t)r;
        buf[used] = '\0';
    }
    close(pfd[0]);
    l = strstr(buf, "listening on 127.0.0.1:");
    if (l == NULL) {
        return -1;
    }
    *port = (int)strtol(l + 23, NULL, 10);
    return pid;
}

static pid_t start_bare(int *port)
{
    int pfd[2];
    pid_t pid;

    if (pipe(pfd) != 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        pin(0);
        close(pfd[0]);
        bare_main(pfd[1]);
        _exit(0);
    }
    close(pfd[1]);
    if (read(pfd[0], port, sizeof *port) != sizeof *port) {
        return -1;
    }
    close(pfd[0]);
    return pid;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    int sport = 0, bport = 0, round, nc;
    pid_t sp, bp;
    static const int clients[2] = {1, 10};

    if (secs <= 0) {
        secs = 3.0;
    }
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    sp = start_serve(&sport);
    bp = start_bare(&bport);
    pin(1);
    if (sp <= 0 || bp <= 0) {
        fprintf(stderr, "bench_serve: cannot start the servers (run from "
                        "the repository root after make)\n");
        return 1;
    }
    printf("bench_serve: %s, frames in a loop, %.1f s per measurement, "
           "best of 5, serve and bare alternating\n", SOURCE, secs);
    for (nc = 0; nc < 2; nc++) {
        double best_s = 0, best_b = 0, cpu_s = 0, cpu_b = 0, ratio[5], t;
        int i, j;
        for (round = 0; round < 5; round++) {
            double c, fs, fb;
            fs = measure(sport, sp, clients[nc], true, secs, &c);
            if (fs > best_s) {
                best_s = fs;
                cpu_s = c;
            }
            fb = measure(bport, bp, clients[nc], false, secs, &c);
            if (fb > best_b) {
                best_b = fb;
                cpu_b = c;
            }
            ratio[round] = fb > 0 ? fs / fb : 0;
        }
        for (i = 1; i < 5; i++) { /* the median of the pairs' ratios */
            for (j = i; j > 0 && ratio[j] < ratio[j - 1]; j--) {
                t = ratio[j];
                ratio[j] = ratio[j - 1];
                ratio[j - 1] = t;
            }
        }
        printf("  %2d client%s  serve %9.0f frames/s (%.0f ns CPU/frame)   "
               "bare lws %9.0f frames/s (%.0f ns CPU/frame)   best/best "
               "%.2f, median of pairs %.2f\n",
               clients[nc], clients[nc] == 1 ? " " : "s", best_s, cpu_s,
               best_b, cpu_b, best_b > 0 ? best_s / best_b : 0, ratio[2]);
        fflush(stdout);
    }
    kill(sp, SIGTERM);
    kill(bp, SIGKILL);
    waitpid(sp, NULL, 0);
    waitpid(bp, NULL, 0);
    return 0;
}
