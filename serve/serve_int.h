/* serve_int.h: the server's internals shared by serve.c (the context,
 * HTTP, faults, the loop) and ws.c (the streamer's sockets). */
#ifndef SERVE_INT_H
#define SERVE_INT_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "rest.h"
#include "serve.h"
#include "source.h"

#define NS INT64_C(1000000000)

/* A message waiting to go out on a socket (control frames, subscribe
 * payloads), with the LWS_PRE headroom lws_write needs. */
struct qmsg {
    struct qmsg *next;
    size_t len;
    bool close_after;   /* close the socket once it is sent */
    uint16_t close_code;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct client {
    struct client *next, *prev;
    struct srv *sv;
    struct lws *wsi;
    uint64_t id;
    char key[320];
    bool has_key;
    /* what it is subscribed to: since[sub] is the unwrapped source time
     * of the subscribe (INT64_MIN: not subscribed) */
    int64_t *since;
    uint8_t *has_state;  /* a ticker snapshot was sent */
    unsigned n_subbed;
    /* the timeline */
    size_t cursor;       /* next frame */
    int64_t loop_k;      /* loops done */
    int64_t clock0;      /* unwrapped source time at connect */
    int64_t at;          /* as fast as it reads: the time of what it was
                            sent last (its clock) */
    int64_t next_hb;     /* unwrapped source time of the next heartbeat */
    int64_t real_idle;   /* as fast as it reads: real ns since when it had
                            nothing to send (its clock then runs in real
                            time), 0 while it has */
    int64_t slow_until_real; /* SF_SLOW: the next frame not before */
    bool fault_done[SERVE_MAX_FAULTS];
    bool truncate_next;
    /* a request arriving in several fragments */
    char *rx;
    size_t rxn, rxcap;
    bool rx_skip;        /* the rest of a refused (too large) message */
    /* output */
    struct qmsg *qhead, *qtail;
    size_t qbytes;
    bool rx_paused;
    bool closing;        /* close after the queue */
    bool drop_now;       /* abrupt drop at the next callback */
    uint16_t close_code;
    lws_sorted_usec_list_t sul; /* wake when the next thing is due */
    uint64_t frames_sent, bytes_sent;
};

/* An HTTP request being answered. */
struct hreq {
    struct srv *sv;
    struct lws *wsi;
    struct srest_resp resp;
    bool have;
    bool headers_sent;
    bool drop;
    size_t sent;
    lws_sorted_usec_list_t sul;
    bool sul_armed;
};

/* What lws keeps per connection (one protocol serves both). */
struct pss {
    int kind; /* 0 none, 1 WebSocket, 2 HTTP */
    struct client *c;
    struct hreq *h;
};

struct srv_stats {
    uint64_t sockets, sockets_refused, frames, bytes, subscribes, errors;
    uint64_t rest, faults;
    uint64_t max_clients, clients;
};

struct srv {
    const struct serve_opts *o;
    struct src src;
    struct srest *rest;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    int64_t real0;       /* real ns at start (CLOCK_MONOTONIC) */
    int64_t shift_s;     /* re-base shift of the first pass */
    int64_t loop_ns;     /* one loop's length in source time */
    int64_t loop_s;
    uint64_t next_client;
    struct client *clients;
    bool rest_fault_done[SERVE_MAX_FAULTS];
    volatile int stop;
    struct srv_stats st;
    char *wbuf;          /* rendering buffer: LWS_PRE + wcap */
    size_t wcap;
};

/* The API key of a request or an upgrade: api_key= or apiKey= in the
 * query, else the Authorization header ("Apikey K" or "K"). */
bool srv_api_key(struct lws *wsi, char *key, size_t cap);

/* The real clock, ns (CLOCK_MONOTONIC). */
int64_t srv_real_ns(void);
/* The global source clock (unwrapped: loops add loop_ns). */
int64_t srv_clock(const struct srv *sv);

/* ws.c */
int ws_established(struct srv *sv, struct lws *wsi, struct pss *p);
int ws_receive(struct client *c, const char *in, size_t len, bool final);
int ws_writeable(struct client *c);
void ws_closed(struct client *c);

#endif /* SERVE_INT_H */
