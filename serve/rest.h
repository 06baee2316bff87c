/* rest.h: the min-api REST answers of `ccstream serve`: a recorded
 * response when the request matches one, otherwise an answer computed
 * from the source through ccstream's own aggregator (feed.h, agg.h: the
 * code the producer runs), with the real envelopes, error messages,
 * headers and per-key rate limits (reference cryptocompare-protocol.md,
 * sections 1 and 7).
 *
 * No sockets here: serve.c turns a struct srest_resp into HTTP. Times:
 * the source's clock (src.h) plus the shift serve re-bases it by; every
 * time in a body (time, TimeFrom, TimeTo, LASTUPDATE) is shifted, and a
 * request's toTs is taken back by the shift before it is looked up.
 *
 * Shell code: allocates. Locality: one thread (the server's loop). */
#ifndef SERVE_REST_H
#define SERVE_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* Windows of the rate limits. */
enum srest_win {
    SREST_W_SECOND = 0,
    SREST_W_MINUTE,
    SREST_W_HOUR,
    SREST_W_DAY,
    SREST_W_MONTH,
    SREST_W__COUNT
};

struct srest_cfg {
    /* 0: legacy (a missing key is answered as the request would be, HTTP
     * 200); 2026: a missing key is HTTP 401 with the Err envelope. */
    int auth_mode;
    /* per-key limits per window; 0 = unlimited. Default: the 2024 free
     * tier, 20 / 300 / 3000 / 7500 / 50000. */
    uint64_t max_calls[SREST_W__COUNT];
    bool no_recorded;  /* answer everything by synthesis */
};

void srest_cfg_default(struct srest_cfg *c);

struct srest;

/* One request, as the HTTP layer saw it. */
struct srest_req {
    const char *method;  /* "GET" */
    const char *path;    /* "/data/v2/histominute" (no query) */
    const char *query;   /* "fsym=BTC&tsym=USD&limit=10", "" if none;
                            %-escapes not decoded yet */
    const char *key;     /* the API key from api_key=, apiKey= or the
                            Authorization header ("Apikey K" or "K"), NULL
                            when none was given */
    int64_t src_now_ns;  /* the source's clock now (what the market knows:
                            bars and prices up to here) */
    int64_t shift_s;     /* served time = source time + shift_s */
    int64_t wall_ns;     /* the real clock now, for the rate windows */
};

struct srest_hdr {
    const char *name, *value; /* static strings */
};

#define SREST_MAX_HDRS 16

struct srest_resp {
    int status;               /* HTTP status */
    char *body;               /* malloc'd; the caller frees */
    size_t len;
    struct srest_hdr hdr[SREST_MAX_HDRS]; /* besides Content-Type and
                                             Content-Length */
    unsigned n_hdr;
    bool recorded;            /* the capture's own answer */
};

/* MD_OK; MD_E_NOMEM; MD_E_INVAL for a bad configuration. s is borrowed
 * for the life of r. */
int srest_new(const struct src *s, const struct srest_cfg *cfg,
              struct srest **r, char *errbuf, size_t errlen);
void srest_free(struct srest *r);

/* Answer q into *out (always an answer: errors are envelopes). MD_OK or
 * MD_E_NOMEM. */
int srest_answer(struct srest *r, const struct srest_req *q,
                 struct srest_resp *out);

struct srest_stats {
    uint64_t requests, recorded, synthesised, errors, rate_limited;
};
void srest_stats(const struct srest *r, struct srest_stats *st);

#endif /* SERVE_REST_H */
