/* bench_capture.c: `ccstream capture` reading from `ccstream serve` as fast
 * as it can, beside a bare libwebsockets client reading the same served
 * stream in the same run.
 *
 *   bench_capture [SECONDS]     (default 4: each measurement's length)
 *
 * serve plays synth:minutes=60,seed=3 (BTC, ETH, LTC) at --speed max,
 * looped, so each client gets frames as fast as it reads them. capture:
 * the real binary as a child for SECONDS (--duration), everything recorded
 * into a capture on /tmp; its frames/s from the file (frames received
 * over the time from the first to the last), its CPU (utime + stime of
 * the process, the SQLite writer thread included) per frame and its peak
 * RSS from wait4. The bare client: a child with one lws client on lws's
 * own loop, the same SubAdd, counting text frames and dropping them.
 * Best of 3 each, measured alternately; the ratio best against best. The
 * target (issue: the live network layer): capture >= 0.6 of the bare
 * client, RSS flat. */
#define _DEFAULT_SOURCE /* wait4 */
#include <inttypes.h>
#include <libwebsockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SOURCE "synth:minutes=60,seed=3"
#define SUBS                                                               \
    "{\"action\":\"SubAdd\",\"subs\":[\"5~CCCAGG~BTC~USD\","              \
    "\"0~Coinbase~BTC~USD\",\"5~CCCAGG~ETH~USD\",\"0~Coinbase~ETH~USD\","  \
    "\"5~CCCAGG~LTC~USD\",\"0~Coinbase~LTC~USD\"]}"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pid_t start_serve(const char *bin, int *port)
{
    int pfd[2];
    pid_t pid;
    char buf[4096];
    size_t used = 0;
    const char *l;

    if (pipe(pfd) != 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execl(bin, bin, "serve", SOURCE, "--speed", "max", "--loop",
              "--port", "0", "--max-time", "20m", "--quiet", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    while (used < sizeof buf - 1) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        ssize_t r;
        if (poll(&p, 1, 60000) <= 0 ||
            (r = read(pfd[0], buf + used, sizeof buf - 1 - used)) <= 0) {
            break;
        }
        used += (size_t)r;
        buf[used] = '\0';
        if (strstr(buf, "  source") != NULL && buf[used - 1] == '\n') {
            break;
        }
    }
    close(pfd[0]);
    buf[used] = '\0';
    l = strstr(buf, "listening on 127.0.0.1:");
    *port = l != NULL ? atoi(l + strlen("listening on 127.0.0.1:")) : 0;
    return *port > 0 ? pid : -1;
}

/* ---- the bare client -------------------------------------------------- */

static uint64_t g_frames;
static double g_first, g_last;
static int g_done;

static int bare_cb(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len)
{
    static unsigned char sub[LWS_PRE + 512];

    (void)user;
    (void)in;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        memcpy(sub + LWS_PRE, SUBS, strlen(SUBS));
        lws_write(wsi, sub + LWS_PRE, strlen(SUBS), LWS_WRITE_TEXT);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_final_fragment(wsi) && len > 0) {
            double t = now_s();
            if (g_frames++ == 0) {
                g_first = t;
            }
            g_last = t;
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        g_done = 1;
        break;
    default:
        break;
    }
    return 0;
}

/* The bare client for secs: frames per second, in a child. */
static double bare(int port, double secs)
{
    int pfd[2];
    pid_t pid;
    double rate = 0;

    if (pipe(pfd) != 0) {
        return 0;
    }
    pid = fork();
    if (pid == 0) {
        static const struct lws_protocols pr[] = {
            {"bare", bare_cb, 0, 65536, 0, NULL, 0},
            {NULL, NULL, 0, 0, 0, NULL, 0}};
        struct lws_context_creation_info info;
        struct lws_client_connect_info ci;
        struct lws_context *ctx;
        double end = now_s() + secs, r;
        lws_set_log_level(LLL_ERR, NULL);
        memset(&info, 0, sizeof info);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = pr;
        ctx = lws_create_context(&info);
        memset(&ci, 0, sizeof ci);
        ci.context = ctx;
        ci.address = "127.0.0.1";
        ci.port = port;
        ci.path = "/v2?api_key=bench-key-0123456789";
        ci.host = "127.0.0.1";
        ci.origin = "127.0.0.1";
        ci.local_protocol_name = "bare";
        lws_client_connect_via_info(&ci);
        while (!g_done && now_s() < end) {
            lws_service(ctx, 0);
        }
        r = g_last > g_first ? (double)g_frames / (g_last - g_first) : 0;
        if (write(pfd[1], &r, sizeof r) != sizeof r) {
            _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    if (read(pfd[0], &rate, sizeof rate) != sizeof rate) {
        rate = 0;
    }
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    return rate;
}

/* ---- capture ---------------------------------------------------------- */

struct cap_result {
    double rate, cpu_us;
    long rss_kib;
    uint64_t frames;
};

static int capture(const char *bin, int port, double secs, const char *dir,
                   int n, struct cap_result *res)
{
    char out[256], ws[64], rest[64], dur[32];
    struct rusage ru;
    int st;
    pid_t pid;
    sqlite3 *db;
    sqlite3_stmt *q;

    snprintf(out, sizeof out, "%s/c%d.db", dir, n);
    snprintf(ws, sizeof ws, "ws://127.0.0.1:%d/v2", port);
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", port);
    snprintf(dur, sizeof dur, "%.0fs", secs);
    pid = fork();
    if (pid == 0) {
        setenv("CRYPTOCOMPARE_API_KEY", "bench-key-0123456789", 1);
        execl(bin, bin, "capture", "--out", out, "--ws-url", ws,
              "--rest-url", rest, "--duration", dur, "--quiet", (char *)NULL);
        _exit(127);
    }
    if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_capture: capture failed\n");
        return -1;
    }
    if (sqlite3_open_v2(out, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*), min(mono_ns), max(mono_ns) "
                               "FROM events WHERE kind = 3 AND dir = 0",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        fprintf(stderr, "bench_capture: %s: %s\n", out, sqlite3_errmsg(db));
        return -1;
    }
    res->frames = (uint64_t)sqlite3_column_int64(q, 0);
    res->rate = (double)res->frames /
                ((double)(sqlite3_column_int64(q, 2) -
                          sqlite3_column_int64(q, 1)) / 1e9);
    sqlite3_finalize(q);
    sqlite3_close(db);
    res->cpu_us = ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6) /
                  (double)(res->frames ? res->frames : 1) * 1e6;
    res->rss_kib = ru.ru_maxrss;
    unlink(out);
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 4;
    const char *slash = strrchr(argv[0], '/');
    char bin[4096], dir[] = "/tmp/ccstream-bench-XXXXXX", cmd[96];
    double best_cap = 0, best_bare = 0, cpu = 1e9;
    long rss_min = 0, rss_max = 0;
    int port, k;
    pid_t srv;

    snprintf(bin, sizeof bin, "%.*s../ccstream",
             slash != NULL ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (access(bin, X_OK) != 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_capture: %s: not found (make first)\n", bin);
        return 1;
    }
    srv = start_serve(bin, &port);
    if (srv < 0) {
        fprintf(stderr, "bench_capture: serve did not start\n");
        return 1;
    }
    for (k = 0; k < 3; k++) {
        struct cap_result r;
        double b = bare(port, secs);
        if (capture(bin, port, secs, dir, k, &r) != 0) {
            kill(srv, SIGTERM);
            return 1;
        }
        printf("  run %d: capture %.0f frames/s (%" PRIu64 " frames, %.2f "
               "us CPU each, RSS %ld KiB); bare lws client %.0f frames/s\n",
               k + 1, r.rate, r.frames, r.cpu_us, r.rss_kib, b);
        fflush(stdout);
        best_cap = r.rate > best_cap ? r.rate : best_cap;
        best_bare = b > best_bare ? b : best_bare;
        cpu = r.cpu_us < cpu ? r.cpu_us : cpu;
        rss_min = rss_min == 0 || r.rss_kib < rss_min ? r.rss_kib : rss_min;
        rss_max = r.rss_kib > rss_max ? r.rss_kib : rss_max;
    }
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    printf("capture from serve: best %.0f frames/s, bare lws client best "
           "%.0f frames/s, ratio %.2f (target >= 0.6); CPU %.2f us/frame; "
           "peak RSS %ld-%ld KiB over %.0f s runs\n",
           best_cap, best_bare, best_bare > 0 ? best_cap / best_bare : 0, cpu,
           rss_min, rss_max, secs);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
