/* bench_serve.c: frames per second `ccstream serve` sends to clients that
 * read as fast as they can, beside a bare libwebsockets sender of the same
 * frames in the same run (no SQLite, no re-basing, no subscriptions: the
 * frames, pre-rendered, written in a loop), and serve's CPU per frame.
 *
 *   bench_serve [SECONDS]     (default 3: each measurement's length)
 *
 * Both servers play synth:minutes=60,seed=3 (its frames in a loop); the
 * client is one lws context in this process with 1 or 10 sockets, each
 * subscribed to every pair; a frame counts when its last fragment
 * arrives. Best of 5 per figure, the two servers measured alternately. Server CPU: utime + stime of its process
 * (/proc/PID/stat) over the measurement, per frame received. Unpinned:
 * the server and the client are two processes on the machine's 2 cores
 * (as feasibility.md section 3 measured libwebsockets alone). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- the client ------------------------------------------------------- */

struct client_run {
    struct lws_context *ctx;
    int port, n, up;
    bool subscribe;
    uint64_t frames;
    double t_first;
    const char *subs;
};

static struct client_run g_run;

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        g_run.up++;
        if (g_run.subscribe) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[LWS_PRE + 1024];
        int n = snprintf((char *)buf + LWS_PRE, 1024,
                         "{\"action\":\"SubAdd\",\"subs\":[%s]}", g_run.subs);
        lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        (void)in;
        (void)len;
        if (lws_is_final_fragment(wsi)) {
            if (g_run.frames == 0) {
                g_run.t_first = now_s();
            }
            g_run.frames++;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench_serve: connect failed: %s\n",
                in ? (const char *)in : "?");
        return 0;
    default:
        return 0;
    }
}

static uint64_t proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    unsigned long ut = 0, st = 0;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2) {
        return 0;
    }
    return ut + st;
}

/* Frames/s over secs with n sockets; *cpu_ns_per_frame of the server. */
static double measure(int port, pid_t server, int n, bool subscribe,
                      double secs, double *cpu_ns)
{
    static const struct lws_protocols protos[] = {
        {"bench-client", client_cb, 0, 65536, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    int i;
    double t0, t_end;
    uint64_t f0, c0, c1;
    long hz = sysconf(_SC_CLK_TCK);

    memset(&g_run, 0, sizeof g_run);
    g_run.port = port;
    g_run.n = n;
    g_run.subscribe = subscribe;
    g_run.subs = "\"0~Coinbase~BTC~USD\",\"0~Coinbase~ETH~USD\","
                 "\"0~Coinbase~LTC~USD\",\"5~CCCAGG~BTC~USD\","
                 "\"5~CCCAGG~ETH~USD\",\"5~CCCAGG~LTC~USD\"";
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protos;
    g_run.ctx = lws_create_context(&info);
    for (i = 0; i < n; i++) {
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = g_run.ctx;
        ci.address = "127.0.0.1";
        ci.port = port;
        ci.path = "/v2?api_key=bench-key-0001";
        ci.host = "127.0.0.1";
        ci.origin = "127.0.0.1";
        ci.local_protocol_name = "bench-client";
        lws_client_connect_via_info(&ci);
    }
    /* warm up: every socket up and frames flowing for 0.5 s */
    t0 = now_s();
    while ((g_run.up < n || g_run.frames == 0 || now_s() - g_run.t_first < 0.5) &&
           now_s() - t0 < 10) {
        lws_service(g_run.ctx, 0);
    }
    f0 = g_run.frames;
    c0 = proc_cpu_ticks(server);
    t0 = now_s();
    t_end = t0 + secs;
    while (now_s() < t_end) {
        lws_service(g_run.ctx, 0);
    }
    c1 = proc_cpu_ticks(server);
    {
        double dt = now_s() - t0;
        uint64_t frames = g_run.frames - f0;
        lws_context_destroy(g_run.ctx);
        *cpu_ns = frames ? (double)(c1 - c0) / (double)hz * 1e9 /
                               (double)frames
                         : 0;
        return (double)frames / dt;
    }
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
    if (sp <= 0 || bp <= 0) {
        fprintf(stderr, "bench_serve: cannot start the servers (run from "
                        "the repository root after make)\n");
        return 1;
    }
    printf("bench_serve: %s, frames in a loop, %.1f s per measurement, "
           "best of 5, serve and bare alternating\n", SOURCE, secs);
    for (nc = 0; nc < 2; nc++) {
        double best_s = 0, best_b = 0, cpu_s = 0, cpu_b = 0;
        for (round = 0; round < 5; round++) {
            double c, f;
            f = measure(sport, sp, clients[nc], true, secs, &c);
            if (f > best_s) {
                best_s = f;
                cpu_s = c;
            }
            f = measure(bport, bp, clients[nc], false, secs, &c);
            if (f > best_b) {
                best_b = f;
                cpu_b = c;
            }
        }
        printf("  %2d client%s  serve %9.0f frames/s (%.0f ns CPU/frame)   "
               "bare lws %9.0f frames/s (%.0f ns CPU/frame)   ratio %.2f\n",
               clients[nc], clients[nc] == 1 ? " " : "s", best_s, cpu_s,
               best_b, cpu_b, best_b > 0 ? best_s / best_b : 0);
        fflush(stdout);
    }
    kill(sp, SIGTERM);
    kill(bp, SIGKILL);
    waitpid(sp, NULL, 0);
    waitpid(bp, NULL, 0);
    return 0;
}
