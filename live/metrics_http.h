/* metrics_http.h: a minimal HTTP/1.1 server on a libuv loop for the
 * Prometheus text exposition: GET (or HEAD) /metrics answers the render
 * callback's text; / a pointer to it; other paths 404, other methods 405,
 * a malformed request 400, a head over 8 KiB 431. One request per
 * connection (Connection: close), at most 16 at once, 5 s to send a
 * request head. Runs on the loop's thread; never blocks. Shell code. */
#ifndef LIVE_METRICS_HTTP_H
#define LIVE_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

/* A growing text buffer the render callback appends to. */
struct mh_buf {
    char *p;
    size_t n, cap;
    bool oom; /* an append failed: the answer is 500 */
};

/* Append printf-style (sets oom on failure). */
void mh_printf(struct mh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef void (*metrics_render_fn)(void *ctx, struct mh_buf *b);

struct metrics_http;

/* "HOST:PORT": HOST an IPv4 literal (127.0.0.1, 0.0.0.0) or a bracketed
 * IPv6 literal ([::1]); PORT 0..65535 (0: any free port). MD_OK, or
 * MD_E_USAGE with errbuf naming the text. */
int metrics_http_parse_addr(const char *text, struct sockaddr_storage *ss,
                            char *errbuf, size_t errlen);

/* Listen on addr on loop. MD_OK; MD_E_USAGE (a bad address); MD_E_IO
 * with errbuf naming the address and the reason (in use, ...). */
int metrics_http_start(struct metrics_http **out, uv_loop_t *loop,
                       const char *addr, metrics_render_fn render,
                       void *ctx, char *errbuf, size_t errlen);

/* The port bound (useful with port 0). */
int metrics_http_port(const struct metrics_http *m);

/* Requests answered (any status). */
uint64_t metrics_http_requests(const struct metrics_http *m);

/* Close the listener and every client; the memory goes in the close
 * callbacks, run by the caller's next runs of the loop. NULL: no-op. */
void metrics_http_close(struct metrics_http *m);

#endif /* LIVE_METRICS_HTTP_H */
