/* test_metrics_http.c: the metrics endpoint's HTTP server
 * (live/metrics_http.h) on loopback. Each case starts the server on
 * 127.0.0.1:0 on a loop of its own, run by a second thread; the test
 * speaks HTTP to it over plain blocking sockets and checks every answer
 * (status, headers, Content-Length against the bytes received, the body
 * the render callback made); at the end the server is closed on its
 * thread and the loop run until uv_loop_close returns 0: no handle left
 * open. The address parser and a port in use run on the test's thread. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "md_err.h"
#include "metrics_http.h"

/* the library's buffers (mh_buf) are freed here: plain malloc and free */
#undef malloc
#undef calloc
#undef realloc
#undef free

#define SMALL "# HELP t_total a test counter\n# TYPE t_total counter\n" \
              "t_total 42\n"
#define BIG_LINES 20000

enum { R_SMALL, R_BIG, R_OOM, R_HUGE };

struct rctx {
    atomic_int mode;
    atomic_int calls;
};

/* The render callback (on the loop's thread). */
static void render(void *ctx, struct mh_buf *b)
{
    struct rctx *r = ctx;
    int i;

    atomic_fetch_add(&r->calls, 1);
    switch (atomic_load(&r->mode)) {
    case R_SMALL:
        mh_printf(b, "%s", SMALL);
        break;
    case R_BIG:
        for (i = 0; i < BIG_LINES; i++) {
            mh_printf(b, "t_line{i=\"%05d\"} %d\n", i, i);
        }
        break;
    case R_OOM:
        mh_printf(b, "partial\n");
        b->oom = true;
        break;
    default:
        /* past mh_buf's 64 MiB bound */
        mh_printf(b, "%*d\n", 65 << 20, 1);
        break;
    }
}

struct fx {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t th;
    struct metrics_http *m;
    struct rctx r;
    int port;
    bool running;
    uint64_t requests; /* at the stop, read on the loop's thread */
    int loop_close;    /* uv_loop_close's answer */
};

static void on_stop(uv_async_t *a)
{
    struct fx *f = a->data;

    f->requests = metrics_http_requests(f->m);
    metrics_http_close(f->m);
    f->m = NULL;
    uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
    struct fx *f = arg;

    uv_run(&f->loop, UV_RUN_DEFAULT); /* until every handle is closed */
    return NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[256];

    if (f == NULL || uv_loop_init(&f->loop) != 0) {
        return -1;
    }
    if (metrics_http_start(&f->m, &f->loop, "127.0.0.1:0", render, &f->r,
                           err, sizeof err) != MD_OK) {
        fprintf(stderr, "metrics_http_start: %s\n", err);
        return -1;
    }
    f->port = metrics_http_port(f->m);
    if (f->port <= 0 || uv_async_init(&f->loop, &f->stop, on_stop) != 0) {
        return -1;
    }
    f->stop.data = f;
    if (pthread_create(&f->th, NULL, loop_main, f) != 0) {
        return -1;
    }
    f->running = true;
    *state = f;
    return 0;
}

/* Close the server on its thread and wait for the loop to end. */
static void fx_stop(struct fx *f)
{
    if (!f->running) {
        return;
    }
    f->running = false;
    if (uv_async_send(&f->stop) != 0) {
        fail_msg("uv_async_send failed");
    }
    pthread_join(f->th, NULL);
    f->loop_close = uv_loop_close(&f->loop);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int rc;

    fx_stop(f);
    rc = f->loop_close;
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- a blocking HTTP client ---- */

struct resp {
    char *raw;        /* every byte received, NUL added */
    size_t n;
    int status;       /* 0: no status line */
    long clen;        /* Content-Length, -1: none */
    const char *body; /* after the head */
    size_t blen;
    int err;          /* errno of the recv that ended it, 0: EOF */
};

static int dial(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {15, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
                     0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv),
                     0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* 0, or -1 (the server closed first: a refused connection). */
static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The value of header name ("" if absent), in out. */
static const char *header(const struct resp *r, const char *name,
                          char *out, size_t cap)
{
    const char *e = strstr(r->raw, "\r\n\r\n");
    const char *p;
    size_t nl = strlen(name);

    out[0] = '\0';
    for (p = strstr(r->raw, "\r\n"); p != NULL && e != NULL && p < e;
         p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *end = strstr(v, "\r\n");
            size_t len;
            while (*v == ' ') {
                v++;
            }
            len = (size_t)(end - v);
            if (len >= cap) {
                len = cap - 1;
            }
            memcpy(out, v, len);
            out[len] = '\0';
            break;
        }
    }
    return out;
}

/* Read to the end and parse. */
static void read_resp(int fd, struct resp *r)
{
    size_t cap = 4096;
    const char *e;
    char v[32];

    memset(r, 0, sizeof *r);
    r->clen = -1;
    r->raw = malloc(cap);
    assert_non_null(r->raw);
    for (;;) {
        ssize_t k;
        if (cap - r->n < 2048) {
            cap *= 2;
            r->raw = realloc(r->raw, cap);
            assert_non_null(r->raw);
        }
        k = recv(fd, r->raw + r->n, cap - r->n - 1, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            r->err = k < 0 ? errno : 0;
            break;
        }
        r->n += (size_t)k;
    }
    r->raw[r->n] = '\0';
    if (r->n < 12 || strncmp(r->raw, "HTTP/1.1 ", 9) != 0) {
        return;
    }
    r->status = (int)strtol(r->raw + 9, NULL, 10);
    e = strstr(r->raw, "\r\n\r\n");
    assert_non_null(e);
    r->body = e + 4;
    r->blen = r->n - (size_t)(r->body - r->raw);
    if (header(r, "Content-Length", v, sizeof v)[0] != '\0') {
        r->clen = strtol(v, NULL, 10);
    }
}

static void resp_free(struct resp *r)
{
    free(r->raw);
    r->raw = NULL;
}

/* One exchange: connect, send req (n bytes), optionally end our side,
 * read the answer to the end. */
static void http(int port, const char *req, size_t n, bool half,
                 struct resp *r)
{
    int fd = dial(port);

    assert_int_equal(send_all(fd, req, n), 0);
    if (half) {
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
    }
    read_resp(fd, r);
    close(fd);
}

static void get(int port, const char *req, struct resp *r)
{
    http(port, req, strlen(req), false, r);
}

/* The checks every answer passes: one status, Connection: close, a
 * Content-Length equal to the body received (0 body bytes for HEAD). */
static void check_common(const struct resp *r, int status, bool head)
{
    char v[128];

    assert_int_equal(r->err, 0);
    assert_int_equal(r->status, status);
    assert_string_equal(header(r, "Connection", v, sizeof v), "close");
    assert_true(r->clen >= 0);
    if (head) {
        assert_int_equal(r->blen, 0);
    } else {
        assert_int_equal(r->blen, (size_t)r->clen);
    }
}

/* A request head of exactly total bytes. */
static char *sized_head(size_t total)
{
    static const char pre[] = "GET /metrics HTTP/1.1\r\nX-Pad: ";
    char *h = malloc(total + 1);
    size_t pad = total - (sizeof pre - 1) - 4;

    assert_non_null(h);
    memcpy(h, pre, sizeof pre - 1);
    memset(h + sizeof pre - 1, 'a', pad);
    memcpy(h + total - 4, "\r\n\r\n", 5);
    return h;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the cases ---- */

static void test_metrics_http_get(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char v[128];

    get(f->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    check_common(&r, 200, false);
    assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.clen, strlen(SMALL));
    assert_memory_equal(r.body, SMALL, strlen(SMALL));
    resp_free(&r);
    /* a query string is the same page */
    get(f->port, "GET /metrics?name[]=t_total HTTP/1.0\r\n\r\n", &r);
    check_common(&r, 200, false);
    assert_string_equal(r.body, SMALL);
    resp_free(&r);
    /* / points to /metrics */
    get(f->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    check_common(&r, 200, false);
    assert_string_equal(r.body, "ccstream metrics: /metrics\n");
    assert_string_equal(header(&r, "Content-Type", v, sizeof v),
                        "text/plain; charset=utf-8");
    resp_free(&r);
    fx_stop(f);
    assert_int_equal(f->loop_close, 0);
    assert_int_equal(f->requests, 3);
    assert_int_equal(atomic_load(&f->r.calls), 2);
}

static void test_metrics_http_head(void **state)
{
    struct fx *f = *state;
    struct resp r;

    get(f->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    check_common(&r, 200, true);
    assert_int_equal(r.clen, strlen(SMALL)); /* GET's length, no body */
    resp_free(&r);
    get(f->port, "HEAD /nope HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 404, true);
    assert_true(r.clen > 0);
    resp_free(&r);
}

static void test_metrics_http_big(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char last[64];

    atomic_store(&f->r.mode, R_BIG);
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 200, false);
    assert_true(r.blen > (size_t)BIG_LINES * 16);
    assert_memory_equal(r.body, "t_line{i=\"00000\"} 0\n", 20);
    snprintf(last, sizeof last, "t_line{i=\"%05d\"} %d\n", BIG_LINES - 1,
             BIG_LINES - 1);
    assert_string_equal(r.body + r.blen - strlen(last), last);
    resp_free(&r);
}

static void test_metrics_http_errors(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char v[128], *h;

    get(f->port, "GET /nope HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 404, false);
    resp_free(&r);
    get(f->port, "GET /metricsx HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 404, false);
    resp_free(&r);
    get(f->port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r);
    check_common(&r, 405, false);
    assert_string_equal(header(&r, "Allow", v, sizeof v), "GET, HEAD");
    resp_free(&r);
    get(f->port, "hello there\r\n\r\n", &r);
    check_common(&r, 400, false);
    resp_free(&r);
    get(f->port, "GET /metrics HTTP/2.0\r\n\r\n", &r);
    check_common(&r, 400, false);
    resp_free(&r);
    get(f->port, "GET  /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 400, false);
    resp_free(&r);
    get(f->port, "GET /metrics\r\n\r\n", &r);
    check_common(&r, 400, false);
    resp_free(&r);
    {
        static const char nul[] = "GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n";
        http(f->port, nul, sizeof nul - 1, false, &r);
        check_common(&r, 400, false);
    }
    resp_free(&r);
    /* 8 KiB of head is the most: at 8192 bytes still 200, 8193 is 431 */
    h = sized_head(8192);
    get(f->port, h, &r);
    check_common(&r, 200, false);
    resp_free(&r);
    free(h);
    h = sized_head(8193);
    get(f->port, h, &r);
    check_common(&r, 431, false);
    resp_free(&r);
    free(h);
    h = sized_head(64 * 1024); /* the rest read and dropped: no reset */
    get(f->port, h, &r);
    check_common(&r, 431, false);
    resp_free(&r);
    free(h);
    /* a body the server does not read: the 405 still arrives whole */
    {
        size_t n = 200 * 1024;
        char *req = malloc(n);
        int k = snprintf(req, n, "POST /metrics HTTP/1.1\r\nContent-Length"
                         ": %zu\r\n\r\n", n);
        assert_true(k > 0);
        memset(req + k, 'b', n - (size_t)k);
        http(f->port, req, n, false, &r);
        check_common(&r, 405, false);
        resp_free(&r);
        free(req);
    }
    fx_stop(f);
    assert_int_equal(f->loop_close, 0);
    assert_int_equal(f->requests, 12);
    assert_int_equal(atomic_load(&f->r.calls), 1); /* the 8192 one */
}

static void test_metrics_http_oom(void **state)
{
    struct fx *f = *state;
    struct resp r;

    atomic_store(&f->r.mode, R_OOM);
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 500, false);
    assert_null(strstr(r.body, "partial"));
    resp_free(&r);
    atomic_store(&f->r.mode, R_HUGE);
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 500, false);
    resp_free(&r);
    atomic_store(&f->r.mode, R_SMALL); /* and it recovers */
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 200, false);
    resp_free(&r);
}

/* Bare LF line ends; a client that ends its side after the request; a
 * request one byte per segment; a head cut short by the client's EOF. */
static void test_metrics_http_lenient(void **state)
{
    struct fx *f = *state;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    struct resp r;
    size_t i;
    int fd, one = 1;

    get(f->port, "GET /metrics HTTP/1.0\n\n", &r);
    check_common(&r, 200, false);
    assert_string_equal(r.body, SMALL);
    resp_free(&r);
    http(f->port, req, strlen(req), true, &r);
    check_common(&r, 200, false);
    assert_string_equal(r.body, SMALL);
    resp_free(&r);
    fd = dial(f->port);
    assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                                sizeof one), 0);
    for (i = 0; i < strlen(req); i++) {
        assert_int_equal(send_all(fd, req + i, 1), 0);
        uv_sleep(2);
    }
    read_resp(fd, &r);
    close(fd);
    check_common(&r, 200, false);
    assert_string_equal(r.body, SMALL);
    resp_free(&r);
    http(f->port, "GET /metrics HTTP/1.1\r\n", 23, true, &r);
    check_common(&r, 400, false);
    resp_free(&r);
}

/* 20 connections at once: 16 are served, 4 closed unanswered; the server
 * goes on. */
static void test_metrics_http_many(void **state)
{
    struct fx *f = *state;
    struct pollfd pf[20];
    struct resp r;
    int i, ok = 0, refused = 0, ended = 0;
    double t0;

    for (i = 0; i < 20; i++) {
        pf[i].fd = dial(f->port);
        pf[i].events = POLLIN;
    }
    /* wait for the server to close the 4 over its bound */
    t0 = now_s();
    while (ended < 4 && now_s() - t0 < 3.0) {
        assert_true(poll(pf, 20, 100) >= 0);
        for (ended = 0, i = 0; i < 20; i++) {
            ended += pf[i].revents != 0;
        }
    }
    assert_int_equal(ended, 4);
    for (i = 0; i < 20; i++) {
        static const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
        bool gone = pf[i].revents != 0;
        if (send_all(pf[i].fd, req, sizeof req - 1) != 0) {
            assert_true(gone);
            refused++;
            close(pf[i].fd);
            continue;
        }
        read_resp(pf[i].fd, &r);
        close(pf[i].fd);
        if (r.status == 200) {
            assert_false(gone);
            assert_string_equal(r.body, SMALL);
            ok++;
        } else {
            assert_true(gone);
            assert_int_equal(r.n, 0);
            refused++;
        }
        resp_free(&r);
    }
    assert_int_equal(ok, 16);
    assert_int_equal(refused, 4);
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 200, false);
    resp_free(&r);
    fx_stop(f);
    assert_int_equal(f->loop_close, 0);
    assert_int_equal(f->requests, 17);
}

/* A request head not complete within 5 s: closed without an answer. */
static void test_metrics_http_slow_head(void **state)
{
    struct fx *f = *state;
    struct resp r;
    double t0, dt;
    int fd = dial(f->port);

    t0 = now_s();
    assert_int_equal(send_all(fd, "GET /metrics HTTP/1.1\r\n", 23), 0);
    read_resp(fd, &r);
    dt = now_s() - t0;
    close(fd);
    assert_int_equal(r.n, 0);
    assert_true(dt > 4.5);
    assert_true(dt < 9.0);
    resp_free(&r);
    fx_stop(f);
    assert_int_equal(f->loop_close, 0);
    assert_int_equal(f->requests, 0);
}

/* Closing with connections open (idle, mid-head, reset by the client)
 * frees everything: the loop closes clean. */
static void test_metrics_http_close_open(void **state)
{
    struct fx *f = *state;
    struct linger lg = {1, 0};
    struct resp r;
    char b[16];
    int fd[3], i;

    for (i = 0; i < 3; i++) {
        fd[i] = dial(f->port);
    }
    assert_int_equal(send_all(fd[1], "GET /metrics HT", 15), 0);
    /* a request, then a reset at once (its answer may meet the reset) */
    assert_int_equal(setsockopt(fd[2], SOL_SOCKET, SO_LINGER, &lg,
                                sizeof lg), 0);
    assert_int_equal(send_all(fd[2], "GET /metrics HTTP/1.1\r\n\r\n", 25),
                     0);
    close(fd[2]);
    /* one full exchange: the loop has taken the others by its end */
    get(f->port, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    check_common(&r, 200, false);
    resp_free(&r);
    fx_stop(f);
    assert_int_equal(f->loop_close, 0);
    for (i = 0; i < 2; i++) {
        assert_true(recv(fd[i], b, sizeof b, 0) <= 0); /* closed on us */
        close(fd[i]);
    }
}

static void test_metrics_http_parse_addr(void **state)
{
    static const char *const bad[] = {
        "127.0.0.1", "x:1", "127.0.0.1:70000", "", "127.0.0.1:",
        "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "256.1.1.1:80",
        "localhost:9464", ":9464", "::1:9464", "[::1]", "[::1]9464",
        "[::1:9464", "[]:1", "[zz]:1", "[127.0.0.1]:1", "1.2.3:4",
        "127.0.0.1:99999999999999999999",
    };
    struct sockaddr_storage ss;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    char err[256], quoted[300];
    size_t i;

    (void)state;
    assert_int_equal(metrics_http_parse_addr("127.0.0.1:9464", &ss, err,
                                             sizeof err), MD_OK);
    assert_int_equal(a4->sin_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 9464);
    assert_int_equal(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(metrics_http_parse_addr("0.0.0.0:0", &ss, err,
                                             sizeof err), MD_OK);
    assert_int_equal(a4->sin_family, AF_INET);
    assert_int_equal(ntohs(a4->sin_port), 0);
    assert_int_equal(metrics_http_parse_addr("[::1]:0", &ss, err,
                                             sizeof err), MD_OK);
    assert_int_equal(a6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 0);
    assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
    assert_int_equal(metrics_http_parse_addr("[::]:65535", &ss, err,
                                             sizeof err), MD_OK);
    assert_int_equal(ntohs(a6->sin6_port), 65535);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (metrics_http_parse_addr(bad[i], &ss, err, sizeof err) !=
            MD_E_USAGE) {
            fail_msg("'%s' accepted", bad[i]);
        }
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        if (strstr(err, quoted) == NULL || strlen(err) <= strlen(quoted)) {
            fail_msg("'%s': the message \"%s\" does not quote it", bad[i],
                     err);
        }
    }
    /* a short errbuf is cut, not overrun */
    assert_int_equal(metrics_http_parse_addr("x:1", &ss, err, 5),
                     MD_E_USAGE);
    assert_string_equal(err, "'x:1");
}

static void run_until_closed(uv_loop_t *loop)
{
    int i;

    for (i = 0; i < 1000 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++) {
        uv_sleep(1);
    }
}

/* A port in use: MD_E_IO naming the address and the reason; the
 * half-made server goes with the loop's next run. */
static void test_metrics_http_in_use(void **state)
{
    struct metrics_http *a = NULL, *b = NULL;
    struct rctx r;
    uv_loop_t loop;
    char err[256], addr[64], why[128];

    (void)state;
    memset(&r, 0, sizeof r);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(metrics_http_start(&a, &loop, "127.0.0.1:0", render,
                                        &r, err, sizeof err), MD_OK);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", metrics_http_port(a));
    b = a; /* must come back NULL */
    assert_int_equal(metrics_http_start(&b, &loop, addr, render, &r, err,
                                        sizeof err), MD_E_IO);
    assert_null(b);
    snprintf(why, sizeof why, "%s: %s", addr, uv_strerror(UV_EADDRINUSE));
    if (strstr(err, why) == NULL) {
        fail_msg("\"%s\" does not say \"%s\"", err, why);
    }
    b = a;
    assert_int_equal(metrics_http_start(&b, &loop, "x:1", render, &r, err,
                                        sizeof err), MD_E_USAGE);
    assert_null(b);
    assert_non_null(strstr(err, "'x:1'"));
    assert_int_equal(metrics_http_requests(a), 0);
    metrics_http_close(a);
    metrics_http_close(NULL);
    run_until_closed(&loop);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* mh_printf grows the buffer across appends of every size. */
static void test_metrics_http_buf(void **state)
{
    static char want[3000 * 702];
    struct mh_buf b = {NULL, 0, 0, false};
    size_t wn = 0;
    int i;

    (void)state;
    for (i = 0; i < 3000; i++) {
        mh_printf(&b, "%*d|", i % 700, i);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%*d|", i % 700,
                               i);
    }
    assert_false(b.oom);
    assert_int_equal(b.n, wn);
    assert_true(b.cap > b.n);
    assert_memory_equal(b.p, want, wn);
    mh_printf(&b, "%s", "");
    assert_int_equal(b.n, wn);
    /* after a failure nothing more is appended */
    b.oom = true;
    mh_printf(&b, "more");
    assert_int_equal(b.n, wn);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_http_parse_addr),
        cmocka_unit_test(test_metrics_http_buf),
        cmocka_unit_test(test_metrics_http_in_use),
        cmocka_unit_test_setup_teardown(test_metrics_http_get, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_head, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_big, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_oom, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_lenient, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_many, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_close_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_http_slow_head, setup,
                                        teardown),
    };

    /* a client that resets mid-answer must not kill the test (ccstream
     * live ignores SIGPIPE too) */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
