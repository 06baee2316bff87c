/* metrics_http.c: the metrics endpoint's HTTP server (metrics_http.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md_err.h"
#include "metrics_http.h"

#define HEAD_MAX 8192
#define CLIENTS_MAX 16
#define HEAD_TIMEOUT_MS 5000

struct mh_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    struct metrics_http *srv;
    char head[HEAD_MAX];
    size_t n;
    char *out;          /* the answer being written */
    bool answered;
    int closing;        /* handles still to close */
    struct mh_client *next;
};

struct metrics_http {
    uv_tcp_t listener;
    uv_loop_t *loop;
    metrics_render_fn render;
    void *ctx;
    int port;
    unsigned n_clients;
    bool closed;
    uint64_t requests;
    struct mh_client *clients;
};

void mh_printf(struct mh_buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (b->oom) {
        return;
    }
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        k = vsnprintf(b->p != NULL ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        {
            size_t cap = (b->cap + (size_t)k + 1) * 2;
            char *np = realloc(b->p, cap);
            if (np == NULL) {
                b->oom = true;
                return;
            }
            b->p = np;
            b->cap = cap;
        }
    }
}

int metrics_http_parse_addr(const char *text, struct sockaddr_storage *ss,
                            char *errbuf, size_t errlen)
{
    char host[64];
    const char *colon, *port;
    char *e;
    unsigned long p;
    size_t hl;

    memset(ss, 0, sizeof *ss);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            goto bad;
        }
        hl = (size_t)(close - text - 1);
        if (hl == 0 || hl >= sizeof host) {
            goto bad;
        }
        memcpy(host, text + 1, hl);
        host[hl] = '\0';
        port = close + 2;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            goto bad;
        }
        hl = (size_t)(colon - text);
        if (hl == 0 || hl >= sizeof host) {
            goto bad;
        }
        memcpy(host, text, hl);
        host[hl] = '\0';
        port = colon + 1;
    }
    p = strtoul(port, &e, 10);
    if (*port < '0' || *port > '9' || *e != '\0' || p > 65535) {
        goto bad;
    }
    if (text[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            goto bad;
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            goto bad;
        }
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
    }
    return MD_OK;
bad:
    snprintf(errbuf, errlen, "'%.80s' is not HOST:PORT (an IPv4 address "
             "such as 127.0.0.1:9464, or [::1]:9464; port 0 to 65535)",
             text);
    return MD_E_USAGE;
}

static void client_closed(uv_handle_t *h)
{
    struct mh_client *c = h->data;
    struct mh_client **pp;

    if (--c->closing > 0) {
        return;
    }
    for (pp = &c->srv->clients; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->srv->n_clients--;
    free(c->out);
    free(c);
}

static void client_close(struct mh_client *c)
{
    if (c->closing > 0) {
        return;
    }
    c->closing = 2;
    uv_close((uv_handle_t *)&c->timer, client_closed);
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void wrote(uv_write_t *w, int status)
{
    (void)status;
    client_close(w->data);
}

static void answer(struct mh_client *c, int status, const char *reason,
                   const char *type, const char *extra, const char *body,
                   size_t blen, bool head_only)
{
    struct mh_buf b = {NULL, 0, 0, false};
    uv_buf_t ub;

    c->answered = true;
    c->srv->requests++;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    mh_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: "
              "%zu\r\n%sConnection: close\r\n\r\n", status, reason, type,
              blen, extra);
    if (!head_only && blen > 0 && !b.oom) {
        if (b.cap - b.n < blen + 1) {
            char *np = realloc(b.p, b.n + blen + 1);
            if (np == NULL) {
                b.oom = true;
            } else {
                b.p = np;
                b.cap = b.n + blen + 1;
            }
        }
        if (!b.oom) {
            memcpy(b.p + b.n, body, blen);
            b.n += blen;
        }
    }
    if (b.oom) {
        free(b.p);
        client_close(c);
        return;
    }
    c->out = b.p;
    ub = uv_buf_init(c->out, (unsigned)b.n);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &ub, 1, wrote) != 0) {
        client_close(c);
    }
}

static void plain(struct mh_client *c, int status, const char *reason,
                  const char *extra, const char *text)
{
    answer(c, status, reason, "text/plain; charset=utf-8", extra, text,
           strlen(text), false);
}

/* The request head is complete in c->head[0..c->n). */
static void request(struct mh_client *c)
{
    char method[16], target[2048];
    const char *sp1, *sp2, *eol = strstr(c->head, "\r\n");
    size_t ml, tl;
    bool head_only;

    if (eol == NULL) {
        eol = strchr(c->head, '\n');
    }
    sp1 = memchr(c->head, ' ', eol != NULL ? (size_t)(eol - c->head) : 0);
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (eol == NULL || sp1 == NULL || sp2 == NULL ||
        (ml = (size_t)(sp1 - c->head)) == 0 || ml >= sizeof method ||
        (tl = (size_t)(sp2 - sp1 - 1)) == 0 || tl >= sizeof target ||
        strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        plain(c, 400, "Bad Request", "", "bad request\n");
        return;
    }
    memcpy(method, c->head, ml);
    method[ml] = '\0';
    memcpy(target, sp1 + 1, tl);
    target[tl] = '\0';
    head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head_only) {
        plain(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
              "GET /metrics\n");
        return;
    }
    target[strcspn(target, "?")] = '\0';
    if (strcmp(target, "/metrics") == 0) {
        struct mh_buf b = {NULL, 0, 0, false};
        c->srv->render(c->srv->ctx, &b);
        if (b.oom) {
            free(b.p);
            plain(c, 500, "Internal Server Error", "", "out of memory\n");
            return;
        }
        answer(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", "",
               b.p != NULL ? b.p : "", b.n, head_only);
        free(b.p);
    } else if (strcmp(target, "/") == 0) {
        answer(c, 200, "OK", "text/plain; charset=utf-8", "",
               "ccstream metrics: /metrics\n", 27, head_only);
    } else {
        plain(c, 404, "Not Found", "", "not found: try /metrics\n");
    }
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
    struct mh_client *c = h->data;

    (void)want;
    /* one byte kept for the NUL; a full head gets 431 below */
    *buf = uv_buf_init(c->head + c->n, (unsigned)(HEAD_MAX - 1 - c->n));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mh_client *c = s->data;

    (void)buf;
    if (c->answered || c->closing) {
        return;
    }
    if (nread < 0) {
        client_close(c);
        return;
    }
    c->n += (size_t)nread;
    c->head[c->n] = '\0';
    if (strstr(c->head, "\r\n\r\n") != NULL ||
        strstr(c->head, "\n\n") != NULL) {
        request(c);
    } else if (c->n >= HEAD_MAX - 1) {
        plain(c, 431, "Request Header Fields Too Large", "",
              "request head too large\n");
    }
}

static void on_timeout(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct metrics_http *m = l->data;
    struct mh_client *c;

    if (status != 0 || m->closed) {
        return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    c->srv = m;
    if (uv_tcp_init(m->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    uv_timer_init(m->loop, &c->timer);
    c->timer.data = c;
    c->next = m->clients;
    m->clients = c;
    m->n_clients++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
        m->n_clients > CLIENTS_MAX ||
        uv_timer_start(&c->timer, on_timeout, HEAD_TIMEOUT_MS, 0) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        client_close(c);
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
    if ((rc = metrics_http_parse_addr(addr, &ss, errbuf, errlen)) != MD_OK) {
        return rc;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    m->loop = loop;
    m->render = render;
    m->ctx = ctx;
    if (uv_tcp_init(loop, &m->listener) != 0) {
        free(m);
        snprintf(errbuf, errlen, "metrics %s: cannot make a socket", addr);
        return MD_E_IO;
    }
    m->listener.data = m;
    if ((rc = uv_tcp_bind(&m->listener, (const struct sockaddr *)&ss, 0)) !=
            0 ||
        (rc = uv_listen((uv_stream_t *)&m->listener, 64, on_connection)) !=
            0) {
        snprintf(errbuf, errlen, "metrics %s: %s", addr, uv_strerror(rc));
        m->closed = true;
        uv_close((uv_handle_t *)&m->listener, NULL);
        /* freed by the caller's loop run: the handle is m's first field;
         * leaked deliberately rather than freed under a closing handle */
        return MD_E_IO;
    }
    len = (int)sizeof ss;
    if (uv_tcp_getsockname(&m->listener, (struct sockaddr *)&ss, &len) == 0) {
        m->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
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

static void listener_closed(uv_handle_t *h)
{
    free(h->data);
}

void metrics_http_close(struct metrics_http *m)
{
    struct mh_client *c;

    if (m == NULL) {
        return;
    }
    m->closed = true;
    for (c = m->clients; c != NULL; c = c->next) {
        c->srv = m;
        client_close(c);
    }
    /* the clients' close callbacks run before the listener's (in order),
     * so m outlives them */
    uv_close((uv_handle_t *)&m->listener, listener_closed);
}
