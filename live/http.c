/* http.c: the REST shell on the live loop (live_int.h): libcurl's multi
 * socket interface driven by libuv (uv_poll per socket, one uv_timer for
 * curl's timeout). The core's rest_send is one GET of the REST base URL
 * and the request's path and query, the API key in an Authorization
 * header; its answer comes back as one HTTP input (status and body; 0
 * and no body for a transport error, its words in the recording). HTTP/1.1
 * keep-alive through the multi handle's connection cache; the core's own
 * timer decides when an answer is overdue (rest_cancel), curl's timeout is
 * a backstop only. */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "live_int.h"
#include "md_err.h"
#include "version.h"

#define BODY_MAX (64u << 20) /* a REST body larger than this is refused */

struct call {
    struct live *lv;
    CURL *easy;
    uint64_t id;
    char *body;
    size_t n, cap;
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
};

struct live_http {
    CURLM *multi;
    uv_timer_t timer;
    struct live_url base;
    char base_url[1100];
    struct curl_slist *headers;
    struct call *cur;       /* the one request in flight (the core sends
                               one at a time) */
};

struct sockctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct live *lv;
};

static void done_calls(struct live *lv);

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct call *k = arg;
    size_t n = size * nmemb;

    if (k->n + n > BODY_MAX) {
        k->too_big = true;
        return 0; /* curl stops with a write error */
    }
    if (k->n + n + 1 > k->cap) {
        size_t c = k->cap ? k->cap : 16384;
        char *nb;
        while (c < k->n + n + 1) {
            c *= 2;
        }
        nb = realloc(k->body, c);
        if (nb == NULL) {
            live_fail(k->lv, MD_E_NOMEM, "out of memory reading a REST "
                      "answer");
            return 0;
        }
        k->body = nb;
        k->cap = c;
    }
    memcpy(k->body + k->n, p, n);
    k->n += n;
    return n;
}

static void call_free(struct live *lv, struct call *k)
{
    if (k == NULL) {
        return;
    }
    if (lv->http->cur == k) {
        lv->http->cur = NULL;
    }
    curl_multi_remove_handle(lv->http->multi, k->easy);
    curl_easy_cleanup(k->easy);
    free(k->body);
    free(k);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sockctx *sc = h->data;
    int flags = 0, running = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
        flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    }
    curl_multi_socket_action(sc->lv->http->multi, sc->fd, flags, &running);
    done_calls(sc->lv);
}

static void close_sock(uv_handle_t *h)
{
    free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    struct live *lv = userp;
    struct sockctx *sc = socketp;
    int ev = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sc != NULL) {
            uv_poll_stop(&sc->poll);
            uv_close((uv_handle_t *)&sc->poll, close_sock);
            curl_multi_assign(lv->http->multi, fd, NULL);
        }
        return 0;
    }
    if (sc == NULL) {
        sc = calloc(1, sizeof *sc);
        if (sc == NULL || uv_poll_init_socket(&lv->uv, &sc->poll, fd) != 0) {
            free(sc);
            return -1;
        }
        sc->fd = fd;
        sc->lv = lv;
        sc->poll.data = sc;
        curl_multi_assign(lv->http->multi, fd, sc);
    }
    ev |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    ev |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    uv_poll_start(&sc->poll, ev, on_poll);
    return 0;
}

static void on_curl_timer(uv_timer_t *h)
{
    struct live *lv = h->data;
    int running = 0;

    curl_multi_socket_action(lv->http->multi, CURL_SOCKET_TIMEOUT, 0,
                             &running);
    done_calls(lv);
}

static int on_timeout(CURLM *multi, long ms, void *userp)
{
    struct live *lv = userp;

    (void)multi;
    if (ms < 0) {
        uv_timer_stop(&lv->http->timer);
    } else {
        /* 0 means now: no rounding up (it cost 1.3 ms per request) */
        uv_timer_start(&lv->http->timer, on_curl_timer, (uint64_t)ms, 0);
    }
    return 0;
}

/* Every finished transfer: its answer to the core. */
static void done_calls(struct live *lv)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(lv->http->multi, &left)) != NULL) {
        struct call *k = NULL;
        struct core_in in;
        char meta[CURL_ERROR_SIZE + 64];
        long status = 0;
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_HTTP;
        meta[0] = '\0';
        if (m->data.result == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
                              &status);
            in.http_status = (int)status;
            in.data = k->body != NULL ? k->body : "";
            in.len = k->n;
        } else {
            /* a transport error: status 0, no body; its words recorded */
            const char *why = k->too_big ? "the body is larger than 64 MB"
                              : k->errbuf[0] ? k->errbuf
                                             : curl_easy_strerror(
                                                   m->data.result);
            size_t i, o = 0;
            o += (size_t)snprintf(meta, sizeof meta, "{\"error\":\"");
            for (i = 0; why[i] != '\0' && o + 8 < sizeof meta; i++) {
                unsigned char c = (unsigned char)why[i];
                if (c == '"' || c == '\\') {
                    meta[o++] = '\\';
                    meta[o++] = (char)c;
                } else if (c >= 0x20 && c < 0x7f) {
                    meta[o++] = (char)c;
                }
            }
            snprintf(meta + o, sizeof meta - o, "\"}");
        }
        lv->http_calls++;
        live_push(lv, &in, meta[0] ? meta : NULL);
        call_free(lv, k);
    }
}

static void op_send(void *ctx, mono_ns t, uint64_t id,
                    const struct md_request *req)
{
    struct live *lv = ctx;
    struct live_http *h = lv->http;
    struct call *k = calloc(1, sizeof *k);
    char url[2200], meta[2400 + 100];

    if (k == NULL || (k->easy = curl_easy_init()) == NULL) {
        free(k);
        live_fail(lv, MD_E_NOMEM, "out of memory sending a REST request");
        return;
    }
    k->lv = lv;
    k->id = id;
    snprintf(url, sizeof url, "%s%.*s", h->base_url, (int)req->target_len,
             req->target);
    curl_easy_setopt(k->easy, CURLOPT_URL, url);
    curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(k->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k->easy, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(k->easy, CURLOPT_PRIVATE, k);
    curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(k->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->easy, CURLOPT_HTTP_VERSION,
                     (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(k->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(k->easy, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(k->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(k->easy, CURLOPT_USERAGENT, "ccstream/" CCSTREAM_VERSION);
    if (lv->o.ca_file != NULL) {
        curl_easy_setopt(k->easy, CURLOPT_CAINFO, lv->o.ca_file);
    }
    if (lv->o.insecure) {
        curl_easy_setopt(k->easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(k->easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (lv->rec != NULL) {
        /* the URL has no key (it goes in a header) */
        char js[2300];
        live_json_str(js, sizeof js, url);
        snprintf(meta, sizeof meta, "{\"method\":\"%s\",\"url\":%s}",
                 req->method != NULL ? req->method : "GET", js);
        live_record(lv, STORE_K_HTTP_REQUEST, STORE_D_OUT, 0, t, 0, meta,
                    NULL, 0);
    }
    if (h->cur != NULL) {
        call_free(lv, h->cur); /* the core sends one at a time */
    }
    h->cur = k;
    if (curl_multi_add_handle(h->multi, k->easy) != CURLM_OK) {
        h->cur = NULL;
        curl_easy_cleanup(k->easy);
        free(k);
        live_fail(lv, MD_E_IO, "cannot start a REST request");
    }
}

static void op_cancel(void *ctx, mono_ns t, uint64_t id)
{
    struct live *lv = ctx;
    struct call *k = lv->http->cur;

    (void)t;
    if (k != NULL && k->id == id) {
        call_free(lv, k); /* abandoned: its answer never comes */
    }
    /* nor an answer that came already and waits for the next pass */
    live_withdraw_http(lv);
}

const struct loop_http_ops live_http_ops = {op_send, op_cancel};

int live_http_init(struct live *lv)
{
    struct live_http *h = calloc(1, sizeof *h);
    char auth[600];
    size_t n;

    if (h == NULL) {
        snprintf(lv->err, sizeof lv->err, "out of memory");
        return MD_E_NOMEM;
    }
    lv->http = h;
    if (live_url_has_key(lv->o.rest_url)) {
        snprintf(lv->err, sizeof lv->err, "the REST URL holds an API key "
                 "parameter: keys go in --api-key-file or "
                 "$CRYPTOCOMPARE_API_KEY (a URL is logged and shown)");
        return MD_E_USAGE;
    }
    if (live_url_parse(lv->o.rest_url, "http", "https", &h->base) != MD_OK) {
        snprintf(lv->err, sizeof lv->err, "bad REST URL '%.200s' "
                 "(http://HOST[:PORT] or https://..., no credentials)",
                 lv->o.rest_url);
        return MD_E_USAGE;
    }
    snprintf(h->base_url, sizeof h->base_url, "%s", lv->o.rest_url);
    n = strlen(h->base_url);
    while (n > 0 && h->base_url[n - 1] == '/') {
        h->base_url[--n] = '\0'; /* the targets start with '/' */
    }
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        snprintf(lv->err, sizeof lv->err, "cannot start libcurl");
        return MD_E_IO;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, lv);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, lv);
    uv_timer_init(&lv->uv, &h->timer);
    h->timer.data = lv;
    h->headers = curl_slist_append(NULL, "Accept: application/json");
    if (lv->o.api_key != NULL && lv->o.api_key[0] != '\0') {
        snprintf(auth, sizeof auth, "Authorization: Apikey %s",
                 lv->o.api_key);
        h->headers = curl_slist_append(h->headers, auth);
        memset(auth, 0, sizeof auth);
    }
    if (h->headers == NULL) {
        snprintf(lv->err, sizeof lv->err, "out of memory");
        return MD_E_NOMEM;
    }
    return MD_OK;
}

void live_http_close(struct live *lv)
{
    struct live_http *h = lv->http;

    if (h == NULL) {
        return;
    }
    call_free(lv, h->cur);
    if (h->multi != NULL) {
        curl_multi_cleanup(h->multi); /* closes its sockets' polls */
        h->multi = NULL;
    }
    if (h->timer.loop != NULL && !uv_is_closing((uv_handle_t *)&h->timer)) {
        uv_close((uv_handle_t *)&h->timer, NULL);
    }
}

void live_http_release(struct live *lv)
{
    struct live_http *h = lv->http;

    if (h == NULL) {
        return;
    }
    {
        struct curl_slist *l;
        for (l = h->headers; l != NULL; l = l->next) {
            explicit_bzero(l->data, strlen(l->data)); /* the key */
        }
    }
    curl_slist_free_all(h->headers);
    free(h);
    lv->http = NULL;
}
