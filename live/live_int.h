/* live_int.h: the live shells' entry points, for live.c: the WebSocket
 * shell (ws.c, libwebsockets on the loop) and the REST shell (http.c,
 * libcurl's multi interface on the loop). Each runs the core's actions
 * through the executor's operation table (ctx: the struct live) and
 * queues what comes back with live_push. */
#ifndef LIVE_INT_H
#define LIVE_INT_H

#include "live.h"

/* init: MD_OK or an error in lv->err. close: stop, close the handles
 * (the loop must run for them to finish); release: free what is left. */
int live_ws_init(struct live *lv);
void live_ws_close(struct live *lv);
void live_ws_release(struct live *lv);
extern const struct loop_ws_ops live_ws_ops;

int live_http_init(struct live *lv);
void live_http_close(struct live *lv);
void live_http_release(struct live *lv);
extern const struct loop_http_ops live_http_ops;

/* "wss://host:port/path?query": the parts; port defaults by scheme. MD_OK
 * or MD_E_INVAL. */
struct live_url {
    bool tls;
    char host[256];
    int port;
    char path[1024]; /* path and query, "/" at least */
};
int live_url_parse(const char *url, const char *scheme_plain,
                   const char *scheme_tls, struct live_url *u);

/* Whether a URL carries an API key parameter (api_key=, apikey=, any
 * case): refused, a URL is shown in messages. */
bool live_url_has_key(const char *url);

/* text as a JSON string, quotes included, cut to fit cap (controls and
 * non-ASCII as \u escapes of '?'). */
void live_json_str(char *out, size_t cap, const char *text);

#endif /* LIVE_INT_H */
