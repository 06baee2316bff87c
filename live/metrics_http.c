/* metrics_http.c: the metrics endpoint's HTTP server (metrics_http.h).
 *
 * A connection goes through three phases, each with its own timeout on
 * the client's one timer:
 *   MH_HEAD    the request head is read into head[] (5 s);
 *   MH_WRITE   the answer is being written; what the client still sends
 *              is read and dropped (10 s);
 *   MH_LINGER  the answer is written and our side shut down; read and
 *              drop until the client closes (2 s). Closing with unread
 *              bytes would send a reset, which can destroy the answer
 *              before the client has read it (a POST body, the rest of
 *              an oversized head).
 * Then both handles are closed and the last close callback frees the
 * client. The server is freed when its own handles (listener, accept
 * retry timer) and every client are closed, in whichever close callback
 * comes last: libuv documents no order for them (it runs them in the
 * reverse order of the uv_close calls). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_err.h"
#include "metrics_http.h"

#define MH_HEAD_MAX 8192      /* a request head, bytes */
#define MH_CLIENTS_MAX 16u    /* connections at once */
#define MH_HEAD_MS 5000       /* to send the request head */
#define MH_WRITE_MS 10000     /* to take the answer */
#define MH_LINGER_MS 2000     /* to close after the answer */
#define MH_RETRY_MS 100       /* to accept again after a failure */
#define MH_BACKLOG 64
#define MH_BUF_MAX ((size_t)64 << 20) /* an mh_buf, NUL room included */

#define MH_PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MH_TEXT_TYPE "text/plain; charset=utf-8"

enum mh_phase { MH_HEAD, MH_WRITE, MH_LINGER };

struct mh_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    uv_shutdown_t sd;
    struct metrics_http *srv;
    struct mh_client *prev, *next; /* srv->clients */
    enum mh_phase phase;
    int open;            /* close callbacks still to come */
    bool has_timer;      /* timer initialised */
    bool closing;
    bool peer_done;      /* the client ended its side (EOF) */
    char *out;           /* status line and headers (and a fixed body) */
    char *body;          /* the render's text, written after out */
    size_t n;            /* bytes in head */
    char head[MH_HEAD_MAX];
};

struct metrics_http {
    uv_tcp_t listener;
    uv_timer_t retry;    /* accept again after a failure */
    uv_loop_t *loop;
    metrics_render_fn render;
    void *ctx;
    struct mh_client *clients;
    unsigned n_clients;  /* counted until their close callbacks */
    int open;            /* own close callbacks still to come */
    bool has_retry;      /* retry initialised */
    bool relisten;       /* a failed uv_accept left the listener stopped */
    bool closed;
    int port;
    uint64_t requests;
};

void mh_printf(struct mh_buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t room, need, cap;
    char *np;
    int k;

    if (b->oom) {
        return;
    }
    room = b->cap - b->n;
    va_start(ap, fmt);
    k = vsnprintf(room > 0 ? b->p + b->n : NULL, room, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)k < room) {
        b->n += (size_t)k;
        return;
    }
    need = b->n + (size_t)k + 1;
    if (need > MH_BUF_MAX) {
        b->oom = true;
        return;
    }
    cap = b->cap < 256 ? 256 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
    va_start(ap, fmt);
    k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->cap - b->n) {
        b->oom = true; /* the same text came out longer: never seen */
        return;
    }
    b->n += (size_t)k;
}

/* errbuf = "'TEXT': " and the reason; MD_E_USAGE. */
static int bad_addr(char *errbuf, size_t errlen, const char *text,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad_addr(char *errbuf, size_t errlen, const char *text,
                    const char *fmt, ...)
{
    va_list ap;
    int k;

    k = snprintf(errbuf, errlen, "'%s': ", text);
    if (k >= 0 && (size_t)k < errlen) {
        va_start(ap, fmt);
        vsnprintf(errbuf + k, errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return MD_E_USAGE;
}

int metrics_http_parse_addr(const char *text, struct sockaddr_storage *ss,
                            char *errbuf, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *hs, *he, *port, *q;
    unsigned long p = 0;
    size_t hl;
    bool v6;

    memset(ss, 0, sizeof *ss);
    if (text == NULL || text[0] == '\0') {
        return bad_addr(errbuf, errlen, "", "empty: give HOST:PORT, "
                        "e.g. 127.0.0.1:9464");
    }
    v6 = text[0] == '[';
    if (v6) {
        hs = text + 1;
        he = strchr(hs, ']');
        if (he == NULL) {
            return bad_addr(errbuf, errlen, text, "no ']' closing the "
                            "IPv6 address (e.g. [::1]:9464)");
        }
        if (he[1] != ':') {
            return bad_addr(errbuf, errlen, text, "no :PORT after the "
                            "IPv6 address (e.g. [::1]:9464)");
        }
        port = he + 2;
    } else {
        hs = text;
        he = strrchr(text, ':');
        if (he == NULL) {
            return bad_addr(errbuf, errlen, text, "no port: give "
                            "HOST:PORT, e.g. 127.0.0.1:9464");
        }
        port = he + 1;
    }
    if (*port == '\0') {
        return bad_addr(errbuf, errlen, text, "no port after ':' (0 to "
                        "65535; 0: any free port)");
    }
    for (q = port; *q != '\0'; q++) {
        if (*q >= '0' && *q <= '9') {
            p = p * 10 + (unsigned long)(*q - '0');
        }
        if (*q < '0' || *q > '9' || p > 65535) {
            return bad_addr(errbuf, errlen, text, "the port '%s' is not a "
                            "number from 0 to 65535", port);
        }
    }
    hl = (size_t)(he - hs);
    if (hl == 0) {
        return bad_addr(errbuf, errlen, text, "no host before the port "
                        "(127.0.0.1 for this machine only, 0.0.0.0 for "
                        "every interface)");
    }
    if (hl >= sizeof host) {
        return bad_addr(errbuf, errlen, text, "the host is not an IP "
                        "address (too long)");
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            return bad_addr(errbuf, errlen, text, "'%s' is not an IPv6 "
                            "address", host);
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        if (strchr(host, ':') != NULL) {
            return bad_addr(errbuf, errlen, text, "an IPv6 address goes "
                            "in brackets (e.g. [::1]:9464)");
        }
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            return bad_addr(errbuf, errlen, text, "'%s' is not an IPv4 "
                            "address (give a literal such as 127.0.0.1 or "
                            "0.0.0.0: host names are not looked up)", host);
        }
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
    }
    return MD_OK;
}

static void server_maybe_free(struct metrics_http *m)
{
    if (m->closed && m->open == 0 && m->n_clients == 0) {
        free(m);
    }
}

static void server_closed(uv_handle_t *h)
{
    struct metrics_http *m = h->data;

    m->open--;
    server_maybe_free(m);
}

/* Close the server's own handles (not the clients'). */
static void server_close_handles(struct metrics_http *m)
{
    m->closed = true;
    m->open = m->has_retry ? 2 : 1;
    if (m->has_retry) {
        uv_close((uv_handle_t *)&m->retry, server_closed);
    }
    uv_close((uv_handle_t *)&m->listener, server_closed);
}

static void client_closed(uv_handle_t *h)
{
    struct mh_client *c = h->data;
    struct metrics_http *m = c->srv;

    if (--c->open > 0) {
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        m->clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    m->n_clients--;
    free(c->out);
    free(c->body);
    free(c);
    server_maybe_free(m);
}

static void client_close(struct mh_client *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->open = c->has_timer ? 2 : 1;
    if (c->has_timer) {
        uv_close((uv_handle_t *)&c->timer, client_closed);
    }
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void on_timer(uv_timer_t *t)
{
    client_close(t->data);
}

/* (Re)start the client's one timeout: MD_OK, or the client is closed. */
static int client_arm(struct mh_client *c, uint64_t ms)
{
    if (uv_timer_start(&c->timer, on_timer, ms, 0) != 0) {
        client_close(c);
        return MD_E_IO;
    }
    return MD_OK;
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    struct mh_client *c = r->handle->data;

    /* cancelled by a close: nothing to do; done: wait for the client's
     * EOF (on_read) or the linger timeout */
    if (!c->closing && status != 0) {
        client_close(c);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct mh_client *c = w->handle->data;

    if (c->closing) {
        return; /* cancelled by the close */
    }
    if (status != 0 || c->peer_done) {
        client_close(c);
        return;
    }
    c->phase = MH_LINGER;
    if (client_arm(c, MH_LINGER_MS) != MD_OK) {
        return;
    }
    if (uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        client_close(c);
    }
}

/* Answer and go to MH_WRITE. The body is text (copied) or, when own is
 * not NULL, own's buffer (taken: freed with the client). head_only: the
 * headers only, Content-Length still the body's. */
static void answer(struct mh_client *c, int status, const char *reason,
                   const char *type, const char *extra, const char *text,
                   struct mh_buf *own, bool head_only)
{
    struct mh_buf b = {NULL, 0, 0, false};
    size_t blen = own != NULL ? own->n : strlen(text);
    uv_buf_t ub[2];
    unsigned nb = 1;

    if (own != NULL) {
        c->body = own->p;
        own->p = NULL;
    }
    mh_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
              "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
              reason, type, blen, extra);
    if (own == NULL && !head_only) {
        mh_printf(&b, "%s", text);
    }
    if (b.oom) {
        free(b.p);
        client_close(c);
        return;
    }
    c->out = b.p;
    c->phase = MH_WRITE;
    ub[0] = uv_buf_init(c->out, (unsigned)b.n);
    if (own != NULL && !head_only && blen > 0) {
        ub[1] = uv_buf_init(c->body, (unsigned)blen);
        nb = 2;
    }
    if (client_arm(c, MH_WRITE_MS) != MD_OK) {
        return;
    }
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, ub, nb, on_written) != 0) {
        client_close(c);
        return;
    }
    c->srv->requests++;
}

static void bad_request(struct mh_client *c)
{
    answer(c, 400, "Bad Request", MH_TEXT_TYPE, "",
           "bad request: send GET /metrics HTTP/1.1\n", NULL, false);
}

/* RFC 9110 token characters (a method). */
static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* The head is complete in head[0..end). Only its request line matters:
 * METHOD SP TARGET SP HTTP/1.x; the header fields are not read. */
static void request(struct mh_client *c, size_t end)
{
    struct metrics_http *m = c->srv;
    const char *h = c->head;
    size_t i, line, mlen, ts, plen;
    bool head_only;

    for (i = 0; i < end; i++) {
        unsigned char ch = (unsigned char)h[i];
        if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') ||
            ch == 0x7f) {
            bad_request(c); /* NUL or another control byte */
            return;
        }
    }
    line = (size_t)((const char *)memchr(h, '\n', end) - h); /* found */
    if (line > 0 && h[line - 1] == '\r') {
        line--;
    }
    for (i = 0; i < line && is_tchar(h[i]); i++) {
    }
    mlen = i;
    if (mlen == 0 || i >= line || h[i] != ' ') {
        bad_request(c);
        return;
    }
    ts = ++i;
    for (; i < line && h[i] > 0x20 && h[i] < 0x7f; i++) {
    }
    if (i == ts || i >= line || h[i] != ' ' || line - i - 1 != 8 ||
        memcmp(h + i + 1, "HTTP/1.", 7) != 0 ||
        (h[i + 8] != '0' && h[i + 8] != '1')) {
        bad_request(c);
        return;
    }
    head_only = mlen == 4 && memcmp(h, "HEAD", 4) == 0;
    if (!head_only && !(mlen == 3 && memcmp(h, "GET", 3) == 0)) {
        answer(c, 405, "Method Not Allowed", MH_TEXT_TYPE,
               "Allow: GET, HEAD\r\n",
               "method not allowed: GET or HEAD /metrics\n", NULL, false);
        return;
    }
    for (plen = 0; ts + plen < i && h[ts + plen] != '?'; plen++) {
    }
    if (plen == 8 && memcmp(h + ts, "/metrics", 8) == 0) {
        struct mh_buf b = {NULL, 0, 0, false};
        m->render(m->ctx, &b);
        if (b.oom) {
            free(b.p);
            answer(c, 500, "Internal Server Error", MH_TEXT_TYPE, "",
                   "out of memory rendering the metrics\n", NULL,
                   head_only);
            return;
        }
        answer(c, 200, "OK", MH_PROM_TYPE, "", NULL, &b, head_only);
        free(b.p); /* NULL: taken */
    } else if (plen == 1 && h[ts] == '/') {
        answer(c, 200, "OK", MH_TEXT_TYPE, "",
               "ccstream metrics: /metrics\n", NULL, head_only);
    } else {
        answer(c, 404, "Not Found", MH_TEXT_TYPE, "",
               "not found: the metrics are at /metrics\n", NULL, head_only);
    }
}

/* Where the head ends in h[from..n): just past an empty line (LF LF or
 * LF CR LF); 0 if it does not yet. */
static size_t head_end(const char *h, size_t from, size_t n)
{
    size_t i;

    for (i = from; i < n; i++) {
        if (h[i] != '\n') {
            continue;
        }
        if (i + 1 < n && h[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < n && h[i + 1] == '\r' && h[i + 2] == '\n') {
            return i + 3;
        }
    }
    return 0;
}

static void on_alloc(uv_handle_t *hd, size_t want, uv_buf_t *buf)
{
    struct mh_client *c = hd->data;

    (void)want;
    if (c->phase == MH_HEAD) {
        /* never full here: a full head was answered with 431 */
        *buf = uv_buf_init(c->head + c->n, (unsigned)(sizeof c->head - c->n));
    } else {
        /* the head is done with: its room takes what is dropped */
        *buf = uv_buf_init(c->head, (unsigned)sizeof c->head);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mh_client *c = s->data;
    size_t from, end;

    (void)buf;
    if (c->closing || nread == 0) {
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF || c->phase == MH_LINGER ||
            (c->phase == MH_HEAD && c->n == 0)) {
            client_close(c); /* an error; done; or gone without a word */
            return;
        }
        /* the client ended its side: the answer still goes out (a head
         * cut short gets 400), then the connection closes */
        c->peer_done = true;
        if (uv_read_stop(s) != 0) {
            client_close(c);
        } else if (c->phase == MH_HEAD) {
            bad_request(c);
        }
        return;
    }
    if (c->phase != MH_HEAD) {
        return; /* dropped */
    }
    from = c->n > 3 ? c->n - 3 : 0;
    c->n += (size_t)nread;
    end = head_end(c->head, from, c->n);
    if (end > 0) {
        request(c, end);
    } else if (c->n == sizeof c->head) {
        answer(c, 431, "Request Header Fields Too Large", MH_TEXT_TYPE, "",
               "request head over 8192 bytes\n", NULL, false);
    }
}

static void retry_later(struct metrics_http *m);

/* Take the connection pending on the listener. */
static void accept_one(struct metrics_http *m)
{
    struct mh_client *c = calloc(1, sizeof *c);

    if (c == NULL) {
        retry_later(m); /* it stays pending meanwhile */
        return;
    }
    if (uv_tcp_init(m->loop, &c->tcp) != 0) {
        free(c);
        retry_later(m);
        return;
    }
    c->tcp.data = c;
    c->srv = m;
    c->next = m->clients;
    if (m->clients != NULL) {
        m->clients->prev = c;
    }
    m->clients = c;
    m->n_clients++;
    if (uv_accept((uv_stream_t *)&m->listener, (uv_stream_t *)&c->tcp) !=
        0) {
        /* libuv then stops watching the listener: listen again */
        m->relisten = true;
        retry_later(m);
        client_close(c);
        return;
    }
    if (m->n_clients > MH_CLIENTS_MAX) {
        client_close(c); /* too many at once */
        return;
    }
    if (uv_timer_init(m->loop, &c->timer) != 0) {
        client_close(c);
        return;
    }
    c->has_timer = true;
    c->timer.data = c;
    if (client_arm(c, MH_HEAD_MS) != MD_OK) {
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        client_close(c);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    struct metrics_http *m = l->data;

    /* an error (a connection aborted, no descriptor left): libuv goes on
     * listening, and so do we */
    if (status != 0 || m->closed) {
        return;
    }
    accept_one(m);
}

static void on_retry(uv_timer_t *t)
{
    struct metrics_http *m = t->data;

    if (m->closed) {
        return;
    }
    if (m->relisten) {
        m->relisten = false;
        if (uv_listen((uv_stream_t *)&m->listener, MH_BACKLOG,
                      on_connection) != 0) {
            m->relisten = true;
            retry_later(m);
        }
    } else {
        accept_one(m);
    }
}

static void retry_later(struct metrics_http *m)
{
    if (uv_is_active((uv_handle_t *)&m->retry)) {
        return;
    }
    if (uv_timer_start(&m->retry, on_retry, MH_RETRY_MS, 0) != 0) {
        /* only a closing timer refuses: the server is closing anyway */
        return;
    }
}

int metrics_http_start(struct metrics_http **out, uv_loop_t *loop,
                       const char *addr, metrics_render_fn render,
                       void *ctx, char *errbuf, size_t errlen)
{
    struct sockaddr_storage ss;
    struct metrics_http *m;
    int rc, len;

    *out = NULL;
    rc = metrics_http_parse_addr(addr, &ss, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(errbuf, errlen, "metrics endpoint %s: out of memory",
                 addr);
        return MD_E_NOMEM;
    }
    m->loop = loop;
    m->render = render;
    m->ctx = ctx;
    rc = uv_tcp_init(loop, &m->listener);
    if (rc != 0) {
        snprintf(errbuf, errlen, "metrics endpoint %s: %s", addr,
                 uv_strerror(rc));
        free(m);
        return MD_E_IO;
    }
    m->listener.data = m;
    rc = uv_timer_init(loop, &m->retry);
    if (rc == 0) {
        m->has_retry = true;
        m->retry.data = m;
        rc = uv_tcp_bind(&m->listener, (const struct sockaddr *)&ss, 0);
    }
    if (rc == 0) {
        /* a bind error (in use) often shows only here */
        rc = uv_listen((uv_stream_t *)&m->listener, MH_BACKLOG,
                       on_connection);
    }
    if (rc == 0) {
        len = (int)sizeof ss;
        rc = uv_tcp_getsockname(&m->listener, (struct sockaddr *)&ss, &len);
    }
    if (rc != 0) {
        snprintf(errbuf, errlen, "metrics endpoint %s: %s", addr,
                 uv_strerror(rc));
        server_close_handles(m); /* m goes in the close callbacks */
        return MD_E_IO;
    }
    if (ss.ss_family == AF_INET6) {
        m->port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        m->port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    }
    *out = m;
    return MD_OK;
}

int metrics_http_port(const struct metrics_http *m)
{
    return m->port;
}

uint64_t metrics_http_requests(const struct metrics_http *m)
{
    return m->requests;
}

void metrics_http_close(struct metrics_http *m)
{
    struct mh_client *c;

    if (m == NULL || m->closed) {
        return;
    }
    /* client_close unlinks nothing (the close callbacks do): the walk
     * is safe */
    for (c = m->clients; c != NULL; c = c->next) {
        client_close(c);
    }
    server_close_handles(m);
}
