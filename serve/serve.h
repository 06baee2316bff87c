/* serve.h: `ccstream serve`: a fake CryptoCompare on loopback. REST and
 * the streamer v2 WebSocket on one port (libwebsockets in server mode),
 * played from a source (source.h): a capture or a synth session.
 *
 * What it emulates and what not: docs/serve.md. Shell code. Locality: one
 * thread (the lws service loop); signals only set a flag and wake it. */
#ifndef SERVE_H
#define SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rest.h"

#define SERVE_MAX_FAULTS 64

/* Faults on demand (docs/serve.md, "Faults"). */
enum serve_fault_kind {
    SF_INVALID = 0,
    SF_DROP,           /* every open socket drops, no close frame (1006) */
    SF_CLOSE,          /* every open socket is closed with arg (1001) */
    SF_FORCE,          /* TYPE 500 FORCE_DISCONNECT, then the close */
    SF_STALL,          /* nothing at all for arg ns (100 s): frames lost */
    SF_HB_STALL,       /* no heartbeats for arg ns (100 s); data flows */
    SF_GAP,            /* no data frames for arg ns (60 s); REST has them */
    SF_SLOW,           /* one frame per 200 ms for arg ns (10 s) */
    SF_MALFORMED,      /* one frame that is not JSON */
    SF_TRUNCATED,      /* the next data frame cut in half */
    SF_TOO_MANY,       /* the next socket: TYPE 429 TOO_MANY_SOCKETS */
    SF_REST_ERROR,     /* the next REST request: HTTP arg (500) */
    SF_REST_DELAY,     /* the next REST request answered arg ns later (5 s) */
    SF_REST_RATE,      /* the next REST request: Type 99 rate limit */
    SF_REST_DROP,      /* the next REST request: connection closed */
    SF__COUNT
};

struct serve_fault {
    uint8_t kind;   /* enum serve_fault_kind */
    int64_t at_ns;  /* source time from the source's first frame */
    int64_t arg;    /* duration ns, close code or HTTP status */
};

struct serve_opts {
    const char *source;       /* capture path or synth:... */
    char host[256];           /* listen address (127.0.0.1) */
    int port;                 /* 0: any free port (printed) */
    double speed;             /* 0: as fast as each client reads */
    bool rebase;              /* shift times to the present (default) */
    int64_t rebase_unit_s;    /* the shift is a whole number of these
                                 (86400) */
    bool loop;                /* play the source again, shifted */
    int64_t loop_unit_s;      /* a loop's length rounds up to this (60) */
    int64_t heartbeat_ns;     /* TYPE 999 period (30 s) */
    int64_t ping_s;           /* WebSocket ping period (30 s; 0: none) */
    bool one_socket_per_key;  /* a second socket: TYPE 429 */
    unsigned max_subs;        /* per socket (600) */
    bool tls;                 /* wss:// and https:// with a generated CA */
    const char *tls_dir;      /* where to write it (NULL: a temp dir) */
    const char *tmpdir;       /* for a synth source (NULL: $TMPDIR) */
    int64_t max_time_ns;      /* stop after this long (0: never) */
    bool quiet;               /* no summary */
    struct srest_cfg rest;
    struct serve_fault fault[SERVE_MAX_FAULTS];
    unsigned n_faults;
};

void serve_opts_default(struct serve_opts *o);

/* Add a fault "KIND@T[:ARG]" (T: a duration from the source's first
 * frame, as replay's --inject). MD_OK or MD_E_USAGE with errbuf. */
int serve_add_fault(struct serve_opts *o, const char *spec, char *errbuf,
                    size_t errlen);

/* Add the faults of a script file: one per line, '#' comments, blank
 * lines ignored; errors name FILE:LINE. */
int serve_load_faults(struct serve_opts *o, const char *path, char *errbuf,
                      size_t errlen);

/* The names of the fault kinds ("drop", ...); NULL if invalid. */
const char *serve_fault_name(int kind);

/* Run until SIGINT/SIGTERM (or max_time). MD_OK on a clean stop; else an
 * MD_E_* with errbuf (the source, the port taken, TLS). */
int serve_run(const struct serve_opts *o, char *errbuf, size_t errlen);

#endif /* SERVE_H */
