/* ws.c: the WebSocket shell on the live loop (live_int.h): libwebsockets
 * 4.1.6 through its libuv event library, on the loop live.c owns. The
 * core's ws_open, ws_subscribe, ws_ping and ws_close become lws calls;
 * what the server does comes back as core inputs: WS_OPEN, each text
 * message (fragments joined, capped at max_message), PONG, and one
 * WS_CLOSED per socket with its close code (1006 when none came) or, for
 * a refused upgrade, the HTTP status. The API key goes in an
 * Authorization header, never in the URL. lws's own ping and validity
 * timers stay off: liveness is the core's. A host name is resolved with
 * uv_getaddrinfo (lws 4.1.6 would block the loop). */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "live_int.h"
#include "log.h"
#include "md_err.h"

struct wsock {
    struct live *lv;
    uint64_t id;            /* the core's socket id */
    struct lws *wsi;
    uv_getaddrinfo_t dns;
    bool resolving, up, closing, ended, too_big;
    int peer_code;          /* the server's close code, 0 none */
    char *rx;               /* a message being joined */
    size_t rxn, rxcap;
    unsigned char *tx;      /* a SubAdd to send (LWS_PRE headroom) */
    size_t txn;
    bool want_ping;
    struct wsock *next;
};

struct live_ws {
    struct lws_context *ctx;
    struct live_url url;
    struct wsock *socks;    /* every socket of the run (few: reconnects) */
    char auth[600];         /* "Apikey KEY", or "" */
    char last_err[320];     /* the last error told (not told again) */
};

int live_url_parse(const char *url, const char *scheme_plain,
                   const char *scheme_tls, struct live_url *u)
{
    const char *p, *host, *colon, *slash;
    size_t hl;

    memset(u, 0, sizeof *u);
    if (strncmp(url, scheme_tls, strlen(scheme_tls)) == 0 &&
        strncmp(url + strlen(scheme_tls), "://", 3) == 0) {
        u->tls = true;
        p = url + strlen(scheme_tls) + 3;
    } else if (strncmp(url, scheme_plain, strlen(scheme_plain)) == 0 &&
               strncmp(url + strlen(scheme_plain), "://", 3) == 0) {
        p = url + strlen(scheme_plain) + 3;
    } else {
        return MD_E_INVAL;
    }
    host = p;
    slash = strchr(p, '/');
    colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
    hl = colon ? (size_t)(colon - host)
               : slash ? (size_t)(slash - host) : strlen(host);
    if (hl == 0 || hl >= sizeof u->host || strchr(url, '@') != NULL) {
        return MD_E_INVAL; /* no host, or credentials in the URL */
    }
    memcpy(u->host, host, hl);
    u->port = u->tls ? 443 : 80;
    if (colon != NULL) {
        char *e;
        long port = strtol(colon + 1, &e, 10);
        if (e == colon + 1 || port < 1 || port > 65535 ||
            (*e != '\0' && *e != '/')) {
            return MD_E_INVAL;
        }
        u->port = (int)port;
    }
    snprintf(u->path, sizeof u->path, "%s", slash ? slash : "/");
    return strlen(slash ? slash : "/") < sizeof u->path ? MD_OK : MD_E_INVAL;
}

static struct wsock *sock_of(struct live *lv, uint64_t id)
{
    struct wsock *s;

    for (s = lv->ws->socks; s != NULL; s = s->next) {
        if (s->id == id && !s->ended) {
            return s;
        }
    }
    return NULL;
}

/* The socket's end: its one WS_CLOSED (or the refused handshake). */
static void ended(struct wsock *s, int code, int http_status, const char *why)
{
    struct live *lv = s->lv;
    struct core_in in;
    char meta[400], js[320];
    mono_ns t = live_now();

    if (s->ended) {
        return;
    }
    s->ended = true;
    s->wsi = NULL;
    free(s->rx); /* up to max_message: not kept for the run */
    s->rx = NULL;
    s->rxn = s->rxcap = 0;
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_CONN;
    in.input = CONN_I_WS_CLOSED;
    in.conn_id = (uint32_t)s->id;
    in.close_code = code;
    in.http_status = http_status;
    meta[0] = '\0';
    if (why != NULL) {
        live_json_str(js, sizeof js, why);
        snprintf(meta, sizeof meta, "{\"error\":%s}", js);
    }
    live_push(lv, &in, meta[0] ? meta : NULL);
    if (why != NULL && !s->closing && strcmp(why, lv->ws->last_err) != 0) {
        /* said once, not at every reconnect (the core backs off) */
        snprintf(lv->ws->last_err, sizeof lv->ws->last_err, "%s", why);
        md_log(MD_LOG_WARN, "ws_closed", "%sccstream: %s://%s:%d: socket %" PRIu64 ": %s%s\n",
                lv->o.status && !md_log_is_json() ? "\n" : "", lv->ws->url.tls ? "wss" : "ws",
                lv->ws->url.host, lv->ws->url.port, s->id, why,
                http_status == 401 || http_status == 403
                    ? " (the API key was refused)" : "");
    }
    if (lv->rec != NULL &&
        store_conn_close(lv->rec, (int64_t)s->id, t, t + lv->wall_minus_mono,
                         http_status ? http_status : code, why) != MD_OK) {
        live_fail(lv, MD_E_IO, "the capture: cannot record the end of "
                  "socket %" PRIu64, s->id);
    }
}

static int on_ws(struct lws *wsi, enum lws_callback_reasons reason,
                 void *user, void *in, size_t len)
{
    struct wsock *s = wsi != NULL ? lws_get_opaque_user_data(wsi) : NULL;
    struct live *lv;
    struct core_in ci;

    (void)user;
    if (s == NULL) {
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    lv = s->lv;
    memset(&ci, 0, sizeof ci);
    ci.conn_id = (uint32_t)s->id;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        if (lv->ws->auth[0] != '\0' &&
            lws_add_http_header_by_token(
                wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                (const unsigned char *)lv->ws->auth,
                (int)strlen(lv->ws->auth), p, end) != 0) {
            return -1;
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        s->up = true;
        if (!s->closing) {
            /* the core closed it while it connected: it hears only the
             * end */
            ci.kind = CORE_IN_CONN;
            ci.input = CONN_I_WS_OPEN;
            live_push(lv, &ci, NULL);
        }
        if (s->closing || s->tx != NULL || s->want_ping) {
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (s->closing || s->too_big) {
            lv->late_frames += !s->too_big && lws_is_final_fragment(wsi);
            break; /* closed by the core, or too big: nothing more */
        }
        if (s->rxn + len > lv->o.max_message) {
            /* closed with 1009 from the next WRITEABLE (returning -1 in
             * the middle of a fragmented message here makes lws 4.1.6
             * call back on a freed wsi) */
            s->too_big = true;
            lv->late_frames++; /* this message, refused */
            free(s->rx); /* the message is dropped with its socket */
            s->rx = NULL;
            s->rxn = s->rxcap = 0;
            lws_callback_on_writable(wsi);
            break;
        }
        if (s->rxn + len > s->rxcap) {
            size_t c = s->rxcap ? s->rxcap : 4096;
            char *nb;
            while (c < s->rxn + len) {
                c *= 2;
            }
            nb = realloc(s->rx, c);
            if (nb == NULL) {
                live_fail(lv, MD_E_NOMEM, "out of memory joining a message");
                return -1;
            }
            s->rx = nb;
            s->rxcap = c;
        }
        memcpy(s->rx + s->rxn, in, len);
        s->rxn += len;
        if (lws_is_final_fragment(wsi) &&
            lws_remaining_packet_payload(wsi) == 0) {
            if (!lws_frame_is_binary(wsi)) {
                ci.kind = CORE_IN_FRAME;
                ci.data = s->rx;
                ci.len = s->rxn;
                live_push(lv, &ci, NULL);
            } else {
                lv->binary_frames++; /* the streamer sends none: counted */
            }
            s->rxn = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (s->closing) {
            break;
        }
        ci.kind = CORE_IN_CONN;
        ci.input = CONN_I_PONG;
        live_push(lv, &ci, NULL);
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *b = in;
            s->peer_code = (b[0] << 8) | b[1];
        } else {
            s->peer_code = 1005; /* a close frame without a code */
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (s->too_big) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL,
                             0);
            return -1;
        }
        if (s->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (s->tx != NULL) {
            int n = lws_write(wsi, s->tx + LWS_PRE, s->txn, LWS_WRITE_TEXT);
            free(s->tx);
            s->tx = NULL;
            if (n < 0) {
                return -1;
            }
            if (s->want_ping) {
                lws_callback_on_writable(wsi);
                break;
            }
        }
        if (s->want_ping) {
            unsigned char buf[LWS_PRE + 1];
            s->want_ping = false;
            if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0) {
                return -1;
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        int st = wsi != NULL ? (int)lws_http_client_http_response(wsi) : 0;
        /* a refusal only for a socket the core still wants: one it
         * closed just ends */
        ended(s, 1006, st > 0 && st != 101 && !s->closing ? st : 0,
              in != NULL ? (const char *)in : "connection error");
        break;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        ended(s, s->too_big ? 1009 : s->closing ? 1000
                 : s->peer_code ? s->peer_code : 1006,
              0, NULL);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        ended(s, 1006, 0, "the connection went away");
        lws_set_opaque_user_data(wsi, NULL);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"ccstream-ws", on_ws, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void connect_to(struct wsock *s, const char *address)
{
    struct live *lv = s->lv;
    struct live_ws *w = lv->ws;
    struct lws_client_connect_info ci;

    memset(&ci, 0, sizeof ci);
    ci.context = w->ctx;
    ci.address = address;
    ci.port = w->url.port;
    ci.path = w->url.path;
    ci.host = w->url.host;
    ci.origin = w->url.host;
    ci.protocol = NULL; /* CryptoCompare uses no subprotocol */
    ci.local_protocol_name = protocols[0].name;
    ci.opaque_user_data = s;
    ci.pwsi = &s->wsi;
    /* a redirect would carry the Authorization header to whatever host
     * it names: refused (the socket fails, the core backs off) */
    ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
    if (w->url.tls) {
        ci.ssl_connection |= LCCSCF_USE_SSL;
        if (lv->o.insecure) {
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
                                 LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
        }
    }
    if (lws_client_connect_via_info(&ci) == NULL && !s->ended) {
        ended(s, 1006, 0, "cannot start the connection");
    }
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct wsock *s = req->data;
    char ip[INET6_ADDRSTRLEN] = "";

    s->resolving = false;
    if (s->lv->ws->ctx == NULL) {
        uv_freeaddrinfo(res);
        ended(s, 1006, 0, "shutting down");
        return; /* cancelled at exit */
    }
    if (status == 0 && res != NULL) {
        const void *a = res->ai_family == AF_INET6
            ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
            : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
        inet_ntop(res->ai_family, a, ip, sizeof ip);
    }
    uv_freeaddrinfo(res);
    if (s->closing || ip[0] == '\0') {
        char why[300];
        snprintf(why, sizeof why, "cannot resolve %s: %s", s->lv->ws->url.host,
                 status != 0 ? uv_strerror(status) : "no address");
        ended(s, 1006, 0, s->closing ? "closed before connecting" : why);
        return;
    }
    connect_to(s, ip);
}

static void op_open(void *ctx, mono_ns t, uint64_t sock)
{
    struct live *lv = ctx;
    struct live_ws *w = lv->ws;
    struct wsock *s = calloc(1, sizeof *s);
    unsigned char a6[16];
    char meta[1400], js[1300], url[1300];

    if (s == NULL) {
        live_fail(lv, MD_E_NOMEM, "out of memory opening a socket");
        return;
    }
    s->lv = lv;
    s->id = sock;
    s->next = w->socks;
    w->socks = s;
    snprintf(url, sizeof url, "%s://%s:%d%s", w->url.tls ? "wss" : "ws",
             w->url.host, w->url.port, w->url.path);
    if (lv->rec != NULL) {
        struct store_conn sc;
        int64_t id = 0;
        memset(&sc, 0, sizeof sc);
        sc.kind = "ws";
        sc.url = url;
        sc.opened_mono_ns = t;
        sc.opened_wall_ns = t + lv->wall_minus_mono;
        /* socket k of the core is connection k of the capture */
        if (store_conn_open(lv->rec, &sc, &id) != MD_OK ||
            id != (int64_t)sock) {
            live_fail(lv, MD_E_IO, "the capture: cannot record socket %"
                      PRIu64, sock);
            return;
        }
        live_json_str(js, sizeof js, url);
        snprintf(meta, sizeof meta, "{\"url\":%s}", js);
        live_record(lv, STORE_K_WS_CONNECT, STORE_D_OUT, (int64_t)sock, t, 0,
                    meta, NULL, 0);
    }
    if (inet_pton(AF_INET, w->url.host, a6) == 1 ||
        inet_pton(AF_INET6, w->url.host, a6) == 1) {
        connect_to(s, w->url.host);
        return;
    }
    s->dns.data = s;
    s->resolving = true;
    if (uv_getaddrinfo(&lv->uv, &s->dns, resolved, w->url.host, NULL,
                       NULL) != 0) {
        s->resolving = false;
        ended(s, 1006, 0, "cannot start resolving the host");
    }
}

static void op_subscribe(void *ctx, mono_ns t, uint64_t sock,
                         const char *const *subs, size_t n)
{
    struct live *lv = ctx;
    struct wsock *s = sock_of(lv, sock);
    size_t i, need = 64, len = 0;
    char *p;

    for (i = 0; i < n; i++) {
        need += strlen(subs[i]) + 3;
    }
    if (s == NULL) {
        return; /* gone already: its WS_CLOSED is on its way */
    }
    free(s->tx);
    s->tx = malloc(LWS_PRE + need);
    if (s->tx == NULL) {
        live_fail(lv, MD_E_NOMEM, "out of memory subscribing");
        return;
    }
    p = (char *)s->tx + LWS_PRE;
    len = (size_t)snprintf(p, need, "{\"action\":\"SubAdd\",\"subs\":[");
    for (i = 0; i < n; i++) {
        /* subscription strings are [A-Za-z0-9~._-]: no escape needed */
        len += (size_t)snprintf(p + len, need - len, "%s\"%s\"", i ? "," : "",
                                subs[i]);
    }
    len += (size_t)snprintf(p + len, need - len, "]}");
    s->txn = len;
    live_record(lv, STORE_K_WS_TEXT, STORE_D_OUT, (int64_t)sock, t, 0, NULL,
                p, len);
    if (s->wsi != NULL && s->up) {
        lws_callback_on_writable(s->wsi);
    }
}

static void op_close(void *ctx, mono_ns t, uint64_t sock)
{
    struct live *lv = ctx;
    struct wsock *s = sock_of(lv, sock);

    if (s == NULL) {
        return;
    }
    s->closing = true;
    live_withdraw_socket(lv, (uint32_t)sock);
    live_record(lv, STORE_K_WS_CLOSE, STORE_D_OUT, (int64_t)sock, t, 1000,
                NULL, NULL, 0);
    if (s->wsi != NULL && s->up) {
        lws_callback_on_writable(s->wsi);
    } else if (s->wsi != NULL) {
        /* still connecting: abandoned at once */
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    /* resolving: the answer finds it closing and ends it */
}

static void op_ping(void *ctx, mono_ns t, uint64_t sock)
{
    struct live *lv = ctx;
    struct wsock *s = sock_of(lv, sock);

    if (s == NULL || s->wsi == NULL) {
        return;
    }
    s->want_ping = true;
    live_record(lv, STORE_K_WS_PING, STORE_D_OUT, (int64_t)sock, t, 0, NULL,
                NULL, 0);
    lws_callback_on_writable(s->wsi);
}

const struct loop_ws_ops live_ws_ops = {op_open, op_subscribe, op_close,
                                        op_ping};

static void lws_log(int level, const char *line)
{
    (void)level;
    md_log(MD_LOG_WARN, "lws", "ccstream: lws: %s", line);
}

int live_ws_init(struct live *lv)
{
    struct lws_context_creation_info info;
    struct live_ws *w = calloc(1, sizeof *w);
    void *loops[1];

    if (w == NULL) {
        snprintf(lv->err, sizeof lv->err, "out of memory");
        return MD_E_NOMEM;
    }
    lv->ws = w;
    if (live_url_has_key(lv->o.ws_url)) {
        snprintf(lv->err, sizeof lv->err, "the WebSocket URL holds an API "
                 "key parameter: keys go in --api-key-file or "
                 "$CRYPTOCOMPARE_API_KEY (a URL is logged and shown)");
        return MD_E_USAGE;
    }
    if (live_url_parse(lv->o.ws_url, "ws", "wss", &w->url) != MD_OK) {
        snprintf(lv->err, sizeof lv->err, "bad WebSocket URL '%.200s' "
                 "(ws://HOST[:PORT]/PATH or wss://..., no credentials)",
                 lv->o.ws_url);
        return MD_E_USAGE;
    }
    if (lv->o.api_key != NULL && lv->o.api_key[0] != '\0') {
        snprintf(w->auth, sizeof w->auth, "Apikey %s", lv->o.api_key);
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    memset(&info, 0, sizeof info);
    loops[0] = &lv->uv;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.gid = -1;
    info.uid = -1;
    if (w->url.tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = lv->o.ca_file;
    }
    w->ctx = lws_create_context(&info);
    if (w->ctx == NULL) {
        snprintf(lv->err, sizeof lv->err, "cannot start libwebsockets (its "
                 "libuv event library, libwebsockets-evlib-uv, installed?)");
        return MD_E_IO;
    }
    return MD_OK;
}

void live_ws_close(struct live *lv)
{
    struct live_ws *w = lv->ws;

    struct wsock *s;

    if (w == NULL) {
        return;
    }
    for (s = w->socks; s != NULL; s = s->next) {
        if (s->resolving) {
            uv_cancel((uv_req_t *)&s->dns);
        }
    }
    if (w->ctx != NULL) {
        lws_context_destroy(w->ctx);
        w->ctx = NULL;
    }
}

void live_ws_release(struct live *lv)
{
    struct live_ws *w = lv->ws;
    struct wsock *s, *n;

    if (w == NULL) {
        return;
    }
    for (s = w->socks; s != NULL; s = n) {
        n = s->next;
        free(s->rx);
        free(s->tx);
        free(s);
    }
    explicit_bzero(w->auth, sizeof w->auth);
    free(w);
    lv->ws = NULL;
}
