/* metrics_http.h: a minimal HTTP/1.1 server on a libuv loop for the
 * Prometheus text exposition (version 0.0.4).
 *
 *   GET or HEAD /metrics[?...]  200, the render callback's text
 *   GET or HEAD /               200, a line pointing to /metrics
 *   any other path              404
 *   any other method            405 with "Allow: GET, HEAD"
 *   a malformed request line    400
 *   a request head over 8 KiB   431
 *   the render ran out of room  500
 *
 * One request per connection: every answer says "Connection: close" and
 * the connection ends once it is written (after a short lingering close
 * that reads and discards what the client still sends, so that the
 * answer is not lost to a reset). At most 16 connections at once; more
 * are accepted and closed at once. A request head must arrive within 5 s,
 * an answer be taken within 10 s. Everything runs on the loop's thread
 * (the render callback too) and nothing blocks.
 *
 * libuv writes with writev(): an answer written to a client that has gone
 * raises SIGPIPE, so the process must ignore it (in ccstream live it is:
 * libwebsockets sets SIGPIPE to SIG_IGN when its context is created).
 * Shell code. */
#ifndef LIVE_METRICS_HTTP_H
#define LIVE_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

/* A growing text buffer the render callback appends to. Start it as
 * {NULL, 0, 0, false}; p is not NUL-terminated past n. Its owner (the
 * server, for the buffer given to the render callback) frees p. */
struct mh_buf {
    char *p;
    size_t n, cap;
    bool oom; /* an append failed (or passed 64 MiB): the answer is 500 */
};

/* Append printf-style. On a failure sets oom and appends nothing more;
 * what was appended before stays. */
void mh_printf(struct mh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Called on the loop's thread for each GET or HEAD of /metrics: append
 * the exposition to b (its text is the body, its length the
 * Content-Length; HEAD sends the length without the body). */
typedef void (*metrics_render_fn)(void *ctx, struct mh_buf *b);

struct metrics_http; /* opaque */

/* Parse "HOST:PORT": HOST an IPv4 literal (127.0.0.1, 0.0.0.0) or an IPv6
 * literal in brackets ([::1]); PORT 0..65535 (0: any free port). No host
 * names (nothing is looked up). MD_OK with *ss filled, or MD_E_USAGE
 * with errbuf saying what is wrong and quoting the text. */
int metrics_http_parse_addr(const char *text, struct sockaddr_storage *ss,
                            char *errbuf, size_t errlen);

/* Listen on addr on loop; render (with ctx) answers each scrape. MD_OK
 * with *out set; MD_E_USAGE (addr does not parse: errbuf as above),
 * MD_E_NOMEM, or MD_E_IO with errbuf naming the address and the reason
 * ("address already in use", ...) and *out NULL. After an MD_E_IO the
 * half-made listener is being closed: the caller runs the loop (as
 * before uv_loop_close anyway) and its close callback frees it. */
int metrics_http_start(struct metrics_http **out, uv_loop_t *loop,
                       const char *addr, metrics_render_fn render,
                       void *ctx, char *errbuf, size_t errlen);

/* The port bound (the one chosen when addr asked for port 0). */
int metrics_http_port(const struct metrics_http *m);

/* Requests answered so far, any status (400s and 431s included;
 * connections closed unanswered not counted). */
uint64_t metrics_http_requests(const struct metrics_http *m);

/* Close the listener and every open connection (uv_close on each handle;
 * an answer being written is abandoned). The memory is freed in the
 * close callbacks, so the caller runs the loop afterwards until they have
 * run (as live_free does) and must not use m again. NULL: no-op. */
void metrics_http_close(struct metrics_http *m);

#endif /* LIVE_METRICS_HTTP_H */
