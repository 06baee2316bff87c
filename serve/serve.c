/* serve.c: `ccstream serve`: the libwebsockets context (REST and the
 * streamer v2 on one port), the HTTP side, the faults, the loop and its
 * clean stop. The sockets' protocol is ws.c; the REST answers rest.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "md_err.h"
#include "md_parse.h"
#include "serve_int.h"
#include "tls.h"

static const char *const fault_names[SF__COUNT] = {
    [SF_DROP] = "drop",
    [SF_CLOSE] = "close",
    [SF_FORCE] = "force-disconnect",
    [SF_STALL] = "stall",
    [SF_HB_STALL] = "heartbeat-stall",
    [SF_GAP] = "gap",
    [SF_SLOW] = "slow",
    [SF_MALFORMED] = "malformed",
    [SF_TRUNCATED] = "truncated",
    [SF_TOO_MANY] = "too-many-sockets",
    [SF_REST_ERROR] = "rest-error",
    [SF_REST_DELAY] = "rest-delay",
    [SF_REST_RATE] = "rest-rate-limit",
    [SF_REST_DROP] = "rest-drop",
};

const char *serve_fault_name(int kind)
{
    return kind > SF_INVALID && kind < SF__COUNT ? fault_names[kind] : NULL;
}

void serve_opts_default(struct serve_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 0;
    o->speed = 1.0;
    o->rebase = true;
    o->rebase_unit_s = 86400;
    o->loop_unit_s = 60;
    o->heartbeat_ns = 30 * NS;
    o->ping_s = 30;
    o->max_subs = 600;
    srest_cfg_default(&o->rest);
}

/* The argument a fault takes: 'd' a duration, 'c' a close code, 's' an
 * HTTP status, 0 none; and its default. */
static void fault_arg(int kind, char *type, int64_t *def)
{
    *type = 0;
    *def = 0;
    switch (kind) {
    case SF_CLOSE:
        *type = 'c';
        *def = 1001;
        break;
    case SF_STALL:
    case SF_HB_STALL:
        *type = 'd';
        *def = 100 * NS;
        break;
    case SF_GAP:
        *type = 'd';
        *def = 60 * NS;
        break;
    case SF_SLOW:
        *type = 'd';
        *def = 10 * NS;
        break;
    case SF_REST_DELAY:
        *type = 'd';
        *def = 5 * NS;
        break;
    case SF_REST_ERROR:
        *type = 's';
        *def = 500;
        break;
    default:
        break;
    }
}

int serve_add_fault(struct serve_opts *o, const char *spec, char *errbuf,
                    size_t errlen)
{
    const char *at = strchr(spec, '@'), *colon;
    struct serve_fault f;
    size_t kn;
    int k;
    char type;
    int64_t def;

    memset(&f, 0, sizeof f);
    if (at == NULL) {
        snprintf(errbuf, errlen, "fault '%s': expected KIND@T[:ARG], e.g. "
                 "drop@2m (see --help)", spec);
        return MD_E_USAGE;
    }
    kn = (size_t)(at - spec);
    for (k = SF_INVALID + 1; k < SF__COUNT; k++) {
        if (strlen(fault_names[k]) == kn &&
            memcmp(fault_names[k], spec, kn) == 0) {
            break;
        }
    }
    if (k == SF__COUNT) {
        snprintf(errbuf, errlen, "fault '%s': no kind '%.*s' (drop, close, "
                 "force-disconnect, stall, heartbeat-stall, gap, slow, "
                 "malformed, truncated, too-many-sockets, rest-error, "
                 "rest-delay, rest-rate-limit, rest-drop)", spec, (int)kn,
                 spec);
        return MD_E_USAGE;
    }
    f.kind = (uint8_t)k;
    colon = strchr(at + 1, ':');
    if (md_parse_duration(at + 1,
                          colon ? (size_t)(colon - at - 1) : strlen(at + 1),
                          NS, INT64_C(365) * 86400 * NS, &f.at_ns) !=
        MD_OK) {
        snprintf(errbuf, errlen, "fault '%s': the time must be a duration "
                 "from the source's start: DIGITS[.DIGITS][ns|us|ms|s|m|h|d]",
                 spec);
        return MD_E_USAGE;
    }
    fault_arg(k, &type, &def);
    f.arg = def;
    if (colon != NULL) {
        uint64_t v;
        const char *a = colon + 1;
        if (type == 0) {
            snprintf(errbuf, errlen, "fault '%s': %s takes no argument",
                     spec, fault_names[k]);
            return MD_E_USAGE;
        }
        if (type == 'd') {
            if (md_parse_duration(a, strlen(a), NS,
                                  INT64_C(30) * 86400 * NS, &f.arg) !=
                    MD_OK ||
                f.arg <= 0) {
                snprintf(errbuf, errlen, "fault '%s': the argument must be "
                         "a positive duration", spec);
                return MD_E_USAGE;
            }
        } else if (md_parse_u64(a, strlen(a), 4999, &v) != MD_OK ||
                   (type == 'c' && (v < 1000 || (v > 1011 && v < 3000))) ||
                   (type == 's' && (v < 100 || v > 599))) {
            snprintf(errbuf, errlen, "fault '%s': the argument must be %s",
                     spec, type == 'c' ? "a close code (1000-1011, "
                                         "3000-4999)"
                                       : "an HTTP status (100-599)");
            return MD_E_USAGE;
        } else {
            f.arg = (int64_t)v;
        }
    }
    if (o->n_faults >= SERVE_MAX_FAULTS) {
        snprintf(errbuf, errlen, "fault '%s': at most %d faults", spec,
                 SERVE_MAX_FAULTS);
        return MD_E_USAGE;
    }
    o->fault[o->n_faults++] = f;
    return MD_OK;
}

int serve_load_faults(struct serve_opts *o, const char *path, char *errbuf,
                      size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[512];
    unsigned no = 0;

    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open the fault script: %s",
                 path, strerror(errno));
        return MD_E_USAGE;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *e;
        char err[400];
        no++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(errbuf, errlen, "%s:%u: line too long", path, no);
            fclose(f);
            return MD_E_USAGE;
        }
        if ((e = strchr(p, '#')) != NULL) {
            *e = '\0';
        }
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
                         e[-1] == '\t')) {
            *--e = '\0';
        }
        if (*p == '\0') {
            continue;
        }
        if (serve_add_fault(o, p, err, sizeof err) != MD_OK) {
            snprintf(errbuf, errlen, "%s:%u: %s", path, no, err);
            fclose(f);
            return MD_E_USAGE;
        }
    }
    if (ferror(f)) {
        snprintf(errbuf, errlen, "%s: read error", path);
        fclose(f);
        return MD_E_IO;
    }
    fclose(f);
    return MD_OK;
}

/* ---- clocks ----------------------------------------------------------- */

int64_t srv_real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

int64_t srv_clock(const struct srv *sv)
{
    double speed = sv->o->speed > 0 ? sv->o->speed : 1.0;

    return sv->src.first_ns +
           (int64_t)((double)(srv_real_ns() - sv->real0) * speed);
}

/* ---- HTTP ----------------------------------------------------------- */

bool srv_api_key(struct lws *wsi, char *key, size_t cap)
{
    char buf[300];
    const char *v;
    int n;

    v = lws_get_urlarg_by_name(wsi, "api_key=", buf, (int)sizeof buf);
    if (v == NULL) {
        v = lws_get_urlarg_by_name(wsi, "apiKey=", buf, (int)sizeof buf);
    }
    if (v != NULL && *v != '\0') {
        snprintf(key, cap, "%s", v);
        return true;
    }
    n = lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) {
        const char *p = buf;
        if (strncasecmp(p, "Apikey ", 7) == 0) {
            p += 7;
        }
        while (*p == ' ') {
            p++;
        }
        if (*p != '\0') {
            snprintf(key, cap, "%s", p);
            return true;
        }
    }
    return false;
}


static struct srv *g_srv; /* for the signal handler */

static void http_wake(lws_sorted_usec_list_t *sul)
{
    struct hreq *h = lws_container_of(sul, struct hreq, sul);

    h->sul_armed = false;
    lws_callback_on_writable(h->wsi);
}

/* The next REST fault due now, used up; NULL if none. */
static const struct serve_fault *rest_fault(struct srv *sv, int64_t now)
{
    unsigned k;

    for (k = 0; k < sv->o->n_faults; k++) {
        const struct serve_fault *f = &sv->o->fault[k];
        if (sv->rest_fault_done[k] ||
            (f->kind != SF_REST_ERROR && f->kind != SF_REST_DELAY &&
             f->kind != SF_REST_RATE && f->kind != SF_REST_DROP)) {
            continue;
        }
        if (now >= sv->src.first_ns + f->at_ns) {
            sv->rest_fault_done[k] = true;
            sv->st.faults++;
            return f;
        }
    }
    return NULL;
}

/* The source time REST answers at: the server's clock, within the
 * source (and its loop), and the shift its times get. */
static int64_t rest_now(const struct srv *sv, int64_t *shift_s)
{
    int64_t t = srv_clock(sv), k = 0;

    if (sv->o->speed <= 0) {
        /* as fast as clients read: the market is at its end */
        t = sv->src.last_ns;
    }
    if (sv->o->loop && sv->loop_ns > 0 && t >= sv->src.first_ns) {
        k = (t - sv->src.first_ns) / sv->loop_ns;
        t -= k * sv->loop_ns;
    }
    *shift_s = sv->shift_s + k * sv->loop_s;
    return t;
}

static int http_request(struct srv *sv, struct lws *wsi, struct pss *p,
                        const char *path)
{
    char query[4096], key[300], method[8];
    struct hreq *h;
    struct srest_req q;
    const struct serve_fault *f;
    int n, i;
    int64_t shift;

    h = calloc(1, sizeof *h);
    if (h == NULL) {
        return -1;
    }
    h->sv = sv;
    h->wsi = wsi;
    p->kind = 2;
    p->h = h;
    /* the query: lws gives its parts one by one */
    query[0] = '\0';
    for (i = 0, n = 0; i < 64; i++) {
        char part[1024];
        int m = lws_hdr_copy_fragment(wsi, part, (int)sizeof part,
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (m <= 0) {
            break;
        }
        if ((size_t)n + (size_t)m + 2 >= sizeof query) {
            break;
        }
        n += snprintf(query + n, sizeof query - (size_t)n, "%s%s",
                      n > 0 ? "&" : "", part);
    }
    memset(&q, 0, sizeof q);
    snprintf(method, sizeof method, "%s",
             lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? "POST"
             : lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0
                 ? "OPTIONS"
                 : "GET");
    q.method = method;
    q.path = path;
    q.query = query;
    q.key = srv_api_key(wsi, key, sizeof key) ? key : NULL;
    q.src_now_ns = rest_now(sv, &shift);
    q.shift_s = shift;
    q.wall_ns = srv_real_ns();
    sv->st.rest++;
    f = rest_fault(sv, sv->o->speed > 0 ? srv_clock(sv)
                                        : sv->src.first_ns +
                                              (srv_real_ns() - sv->real0));
    if (f != NULL && f->kind == SF_REST_DROP) {
        h->drop = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (f != NULL && f->kind == SF_REST_ERROR) {
        static const char body[] = "{\"Response\":\"Error\",\"Message\":"
                                   "\"Internal server error (injected)\","
                                   "\"HasWarning\":false,\"Type\":1,"
                                   "\"RateLimit\":{},\"Data\":{}}";
        h->resp.status = (int)f->arg;
        h->resp.body = strdup(body);
        h->resp.len = sizeof body - 1;
        if (h->resp.body == NULL) {
            return -1;
        }
    } else if (f != NULL && f->kind == SF_REST_RATE) {
        static const char body[] =
            "{\"Response\":\"Error\",\"Message\":\"You are over your rate "
            "limit please upgrade your account!\",\"HasWarning\":false,"
            "\"Type\":99,\"RateLimit\":{\"calls_made\":{\"second\":21,"
            "\"minute\":21,\"hour\":21,\"day\":21,\"month\":21,"
            "\"total_calls\":21},\"max_calls\":{\"second\":20,"
            "\"minute\":300,\"hour\":3000,\"day\":7500,\"month\":50000}},"
            "\"Data\":{}}";
        h->resp.status = 200;
        h->resp.body = strdup(body);
        h->resp.len = sizeof body - 1;
        if (h->resp.body == NULL) {
            return -1;
        }
    } else if (srest_answer(sv->rest, &q, &h->resp) != MD_OK) {
        return -1;
    }
    h->have = true;
    if (f != NULL && f->kind == SF_REST_DELAY) {
        h->sul_armed = true;
        lws_sul_schedule(lws_get_context(wsi), 0, &h->sul, http_wake,
                         (lws_usec_t)(f->arg / 1000));
        return 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static void http_done(struct pss *p);

/* Write the answer's next part. After the last, the request is freed and
 * the transaction completed: lws frees p for the next request on the
 * connection, so nothing may touch p after this returns. */
static int http_writeable(struct pss *p)
{
    struct hreq *h = p->h;
    struct lws *wsi = h->wsi;
    unsigned char hb[LWS_PRE + 2048], *start = hb + LWS_PRE, *w = start,
                                       *end = hb + sizeof hb - 1;
    unsigned i;

    if (h->drop) {
        int fd = (int)lws_get_socket_fd(wsi);
        if (fd >= 0) {
            shutdown(fd, SHUT_RDWR);
        }
        return -1;
    }
    if (!h->have || h->sul_armed) {
        return 0;
    }
    if (!h->headers_sent) {
        if (lws_add_http_common_headers(
                wsi, (unsigned)h->resp.status | LWSAHH_FLAG_NO_SERVER_NAME,
                "application/json; charset=UTF-8", h->resp.len, &w, end)) {
            return -1;
        }
        for (i = 0; i < h->resp.n_hdr; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s:", h->resp.hdr[i].name);
            if (lws_add_http_header_by_name(
                    wsi, (const unsigned char *)name,
                    (const unsigned char *)h->resp.hdr[i].value,
                    (int)strlen(h->resp.hdr[i].value), &w, end)) {
                return -1;
            }
        }
        if (lws_finalize_write_http_header(wsi, start, &w, end)) {
            return -1;
        }
        h->headers_sent = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    {
        size_t left = h->resp.len - h->sent, n = left > 16384 ? 16384 : left;
        unsigned char *buf = malloc(LWS_PRE + n + 1);
        int wr;
        if (buf == NULL) {
            return -1;
        }
        memcpy(buf + LWS_PRE, h->resp.body + h->sent, n);
        wr = lws_write(wsi, buf + LWS_PRE, n,
                      n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
        free(buf);
        if (wr < (int)n) {
            return -1;
        }
        h->sent += n;
        if (h->sent < h->resp.len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    http_done(p);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void http_done(struct pss *p)
{
    if (p != NULL && p->h != NULL) {
        if (p->h->sul_armed) {
            lws_sul_cancel(&p->h->sul);
        }
        free(p->h->resp.body);
        free(p->h);
        p->h = NULL;
    }
}

/* ---- the protocol --------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct pss *p = user;
    struct srv *sv = g_srv;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[256];
        if (lws_hdr_copy(wsi, uri, (int)sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
            strcmp(uri, "/v2") != 0) {
            return 1; /* the streamer lives at /v2 only */
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        if (p == NULL) {
            return -1;
        }
        return ws_established(sv, wsi, p);
    case LWS_CALLBACK_RECEIVE:
        if (p == NULL || p->c == NULL) {
            return -1;
        }
        return ws_receive(p->c, in, len, lws_is_final_fragment(wsi) != 0);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (p == NULL || p->c == NULL) {
            return 0;
        }
        return ws_writeable(p->c);
    case LWS_CALLBACK_CLOSED:
        if (p != NULL && p->c != NULL) {
            ws_closed(p->c);
            p->c = NULL;
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        if (p == NULL) {
            return -1;
        }
        if (p->h != NULL) {
            http_done(p);
        }
        return http_request(sv, wsi, p, (const char *)in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (p == NULL || p->h == NULL) {
            return 0;
        }
        return http_writeable(p);
    case LWS_CALLBACK_CLOSED_HTTP:
        http_done(p);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"ccstream-serve", callback, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_signal(int sig)
{
    (void)sig;
    if (g_srv != NULL) {
        g_srv->stop = 1;
        if (g_srv->ctx != NULL) {
            lws_cancel_service(g_srv->ctx);
        }
    }
}

/* A clear error for a port that is taken, before lws tries. */
static int probe_port(const char *host, int port, char *errbuf,
                      size_t errlen)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    int fd, one = 1, rc = MD_OK;
    bool v6 = strchr(host, ':') != NULL;

    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (v6 ? inet_pton(AF_INET6, host, &a6.sin6_addr) != 1
           : inet_pton(AF_INET, host, &a4.sin_addr) != 1) {
        snprintf(errbuf, errlen, "--listen %s: not an IP address", host);
        return MD_E_USAGE;
    }
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(errbuf, errlen, "socket: %s", strerror(errno));
        return MD_E_NET;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    if ((v6 ? bind(fd, (struct sockaddr *)&a6, sizeof a6)
            : bind(fd, (struct sockaddr *)&a4, sizeof a4)) != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s:%d: %s%s", host, port,
                 strerror(errno),
                 errno == EADDRINUSE ? " (another process has the port; "
                                       "--listen HOST:0 picks a free one)"
                                     : "");
        rc = MD_E_NET;
    }
    close(fd);
    return rc;
}

static void summary(const struct srv *sv)
{
    struct srest_stats rs;

    srest_stats(sv->rest, &rs);
    fprintf(stderr,
            "serve: %" PRIu64 " sockets (%" PRIu64 " refused, at most %"
            PRIu64 " at once), %" PRIu64 " subscriptions, %" PRIu64
            " frames (%" PRIu64 " bytes), %" PRIu64 " error replies; REST %"
            PRIu64 " requests (%" PRIu64 " recorded, %" PRIu64
            " synthesised, %" PRIu64 " errors, %" PRIu64
            " rate-limited); %" PRIu64 " faults applied\n",
            sv->st.sockets, sv->st.sockets_refused, sv->st.max_clients,
            sv->st.subscribes, sv->st.frames, sv->st.bytes, sv->st.errors,
            rs.requests, rs.recorded, rs.synthesised, rs.errors,
            rs.rate_limited, sv->st.faults);
}

static lws_sorted_usec_list_t stop_sul;

static void stop_due(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    if (g_srv != NULL) {
        g_srv->stop = 1;
    }
}

static void log_emit(int level, const char *line)
{
    if (level & LLL_ERR) {
        fprintf(stderr, "serve: lws: %s", line);
    }
}

int serve_run(const struct serve_opts *o, char *errbuf, size_t errlen)
{
    struct srv sv;
    struct lws_context_creation_info info;
    struct serve_tls_files tf;
    char tdir[4096] = "";
    lws_retry_bo_t retry;
    struct sigaction sa, old_int, old_term;
    int rc = MD_OK;
    int64_t span;

    memset(&sv, 0, sizeof sv);
    memset(&tf, 0, sizeof tf);
    sv.o = o;
    if ((rc = probe_port(o->host, o->port, errbuf, errlen)) != MD_OK) {
        return rc;
    }
    if ((rc = src_load(&sv.src, o->source, o->tmpdir, errbuf, errlen)) !=
        MD_OK) {
        return rc;
    }
    if (sv.src.n_frames == 0) {
        snprintf(errbuf, errlen, "%s: no market data frames to serve",
                 o->source);
        src_free(&sv.src);
        return MD_E_USAGE;
    }
    if ((rc = srest_new(&sv.src, &o->rest, &sv.rest, errbuf, errlen)) !=
        MD_OK) {
        src_free(&sv.src);
        return rc;
    }
    sv.wcap = 1u << 20;
    sv.wbuf = malloc(LWS_PRE + sv.wcap);
    if (sv.wbuf == NULL) {
        rc = MD_E_NOMEM;
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    /* the re-basing shift: whole units, the source's start at or just
     * before now, so every bar boundary keeps its phase */
    if (o->rebase) {
        struct timespec ts;
        int64_t unit = o->rebase_unit_s * NS, now;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * NS + ts.tv_nsec;
        if (now > sv.src.first_ns) {
            sv.shift_s = (now - sv.src.first_ns) / unit * o->rebase_unit_s;
        }
    }
    span = sv.src.last_ns - sv.src.first_ns + 1;
    sv.loop_s = (span + o->loop_unit_s * NS - 1) / (o->loop_unit_s * NS) *
                o->loop_unit_s;
    sv.loop_ns = sv.loop_s * NS;
    if (o->tls) {
        const char *dir = o->tls_dir;
        if (dir == NULL) {
            if ((rc = serve_tls_tmpdir(tdir, sizeof tdir, errbuf, errlen)) !=
                MD_OK) {
                goto out;
            }
            dir = tdir;
        }
        if ((rc = serve_tls_make(dir, NULL, 0, &tf, errbuf, errlen)) !=
            MD_OK) {
            goto out;
        }
    }
    lws_set_log_level(LLL_ERR, log_emit);
    memset(&info, 0, sizeof info);
    memset(&retry, 0, sizeof retry);
    retry.secs_since_valid_ping = (uint16_t)(o->ping_s > 0 ? o->ping_s : 0);
    retry.secs_since_valid_hangup =
        (uint16_t)(o->ping_s > 0 ? o->ping_s * 2 + 10 : 0);
    info.port = o->port;
    info.iface = o->host;
    info.protocols = protocols;
    if (o->ping_s > 0) {
        info.retry_and_idle_policy = &retry;
    }
    if (o->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = tf.cert;
        info.ssl_private_key_filepath = tf.key;
    }
    info.vhost_name = "ccstream-serve";
    info.server_string = "nginx";
    g_srv = &sv;
    sv.ctx = lws_create_context(&info);
    if (sv.ctx == NULL) {
        snprintf(errbuf, errlen, "cannot listen on %s:%d (libwebsockets "
                 "could not create the server%s)", o->host, o->port,
                 o->tls ? " with TLS" : "");
        rc = MD_E_NET;
        goto out;
    }
    sv.vh = lws_get_vhost_by_name(sv.ctx, "ccstream-serve");
    sv.port = sv.vh != NULL ? lws_get_vhost_listen_port(sv.vh) : o->port;
    sv.real0 = srv_real_ns();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (o->max_time_ns > 0) {
        lws_sul_schedule(sv.ctx, 0, &stop_sul, stop_due,
                         (lws_usec_t)(o->max_time_ns / 1000));
    }
    {
        bool v6 = strchr(o->host, ':') != NULL;
        char hp[300];
        snprintf(hp, sizeof hp, "%s%s%s:%d", v6 ? "[" : "", o->host,
                 v6 ? "]" : "", sv.port);
        printf("ccstream serve: listening on %s\n", hp);
        printf("  streamer  %s://%s/v2?api_key=KEY\n",
               o->tls ? "wss" : "ws", hp);
        printf("  REST      %s://%s/data/v2/histominute?fsym=BTC&tsym=USD\n",
               o->tls ? "https" : "http", hp);
    }
    if (o->tls) {
        printf("  CA file   %s\n", tf.ca);
    }
    printf("  source    %s: %zu frames of %zu subscriptions over %.1f s, "
           "times shifted by %" PRId64 " s%s%s\n",
           o->source, sv.src.n_frames, sv.src.n_subs,
           (double)(sv.src.last_ns - sv.src.first_ns) / 1e9, sv.shift_s,
           o->loop ? ", looping" : "",
           o->speed > 0 ? "" : ", as fast as each client reads");
    fflush(stdout);
    while (!sv.stop) {
        if (lws_service(sv.ctx, 0) < 0) {
            break;
        }
        if (o->max_time_ns > 0 &&
            srv_real_ns() - sv.real0 >= o->max_time_ns) {
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    lws_context_destroy(sv.ctx);
    sv.ctx = NULL;
    if (!o->quiet) {
        summary(&sv);
    }
out:
    g_srv = NULL;
    if (o->tls && tf.ca[0] != '\0' && o->tls_dir == NULL) {
        serve_tls_cleanup(&tf, tdir);
    }
    free(sv.wbuf);
    srest_free(sv.rest);
    src_free(&sv.src);
    return rc;
}
