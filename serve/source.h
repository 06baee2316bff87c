/* source.h: what `ccstream serve` plays: a capture (or a synth session,
 * generated into a temporary capture first) loaded into memory as the
 * market's timeline.
 *
 * The timeline holds the data frames (TYPE 0 trades, TYPE 2/5 tickers,
 * TYPE 24 candles) of every connection of the capture, in the order they
 * were received, each tagged with the subscription it belongs to and the
 * time it was received (the capture's wall clock: the source's time).
 * What the server said about the session itself (welcome, 16, 3, 999,
 * errors) is not kept: serve says its own. Trades a reconnect's 20-trade
 * replay repeated are kept once (by subscription and ID); the ticker
 * snapshots after a subscribe are kept for the merged state but marked,
 * so they are not sent as live updates. Frames that do not decode are
 * counted and left out.
 *
 * Each frame knows where its times are (TS, RTS, LASTUPDATE, FIRSTTS,
 * LASTTS, in seconds) and its trade identities (ID, CCSEQ, LASTTRADEID),
 * so src_render can re-base it to the present and shift it for a loop
 * without parsing it again.
 *
 * The REST exchanges of the capture are kept with their request keys
 * (replay/book.h's request_key: method, path, sorted query, no api_key)
 * and bodies, for serve to answer a matching request as recorded.
 *
 * Shell code: allocates at load, never while serving. Locality: read-only
 * after src_load, so any thread may read it. */
#ifndef SERVE_SOURCE_H
#define SERVE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRC_SUB_MAX 96   /* longest subscription string */
#define SRC_PATCH_MAX 6  /* rewritable fields per frame */

/* A subscription the source can serve: "0~Coinbase~BTC~USD",
 * "5~CCCAGG~BTC~USD", "2~Binance~BTC~USDT", "24~CCCAGG~BTC~USD~m". */
struct src_sub {
    char name[SRC_SUB_MAX + 1]; /* canonical spelling */
    int type;                   /* 0, 2, 5, 24 */
    char market[32], base[16], quote[16], unit[4]; /* unit: TYPE 24 */
    uint32_t n_frames;          /* frames in the timeline */
};

/* A field src_render rewrites. */
enum src_patch_kind {
    SRC_P_SECONDS = 1, /* an integer of unix seconds: + shift */
    SRC_P_ID,          /* a decimal trade id (string or number): + id shift */
};

struct src_patch {
    uint32_t off;  /* first byte of the value's digits in the frame */
    uint16_t len;  /* digits */
    uint8_t kind;  /* enum src_patch_kind */
};

#define SRC_F_SNAPSHOT 0x1u /* a ticker snapshot after a subscribe: part
                               of the merged state, not a live update */
#define SRC_F_REPLAY 0x2u   /* a trade first seen in a subscribe's replay */

struct src_frame {
    int64_t t_ns;       /* received, unix ns (the source's clock) */
    uint64_t off;       /* payload in src.text */
    uint32_t len;
    uint32_t sub;       /* index in src.subs */
    uint32_t patch;     /* first in src.patches */
    uint8_t n_patch;
    uint8_t flags;      /* SRC_F_* */
};

/* A recorded REST exchange. */
struct src_rest {
    char *key;          /* "GET /data/v2/histominute?fsym=BTC&limit=10&tsym=USD" */
    int64_t t_ns;       /* when it was asked, the source's clock */
    int status;         /* HTTP status */
    char *body;         /* NUL-terminated copy; len below */
    size_t len;
};

struct src_stats {
    uint64_t events, frames;      /* events read, text frames in */
    uint64_t data_frames;         /* kept in the timeline */
    uint64_t duplicates;          /* replayed trades already kept */
    uint64_t control;             /* the server's own messages, left out */
    uint64_t undecodable;         /* frames that did not decode */
    uint64_t rest;                /* REST exchanges kept */
};

struct src {
    char *name;                   /* the path, or the synth spec */
    bool synth;
    struct src_sub *subs;
    size_t n_subs;
    struct src_frame *frames;     /* time order */
    size_t n_frames;
    struct src_patch *patches;
    size_t n_patches;
    char *text;                   /* every payload */
    size_t text_len;
    struct src_rest *rest;
    size_t n_rest;
    int64_t first_ns, last_ns;    /* of the timeline (0, 0 if empty) */
    int64_t start_ns;             /* the session's start (its wall clock) */
    int64_t id_span;              /* largest trade id + 1 - smallest: the
                                     id shift of one loop */
    struct src_stats st;
};

/* Load SOURCE: a capture file, or "synth:minutes=N,seed=S[,scenario=NAME]
 * [,symbols=A,B][,exchange=X][,start=T]" generated into a temporary file
 * under tmpdir (NULL: $TMPDIR or /tmp), loaded and removed. MD_OK;
 * MD_E_USAGE (a bad synth specification), MD_E_NOTFOUND, MD_E_CORRUPT,
 * MD_E_VERSION, MD_E_IO, MD_E_NOMEM, with errbuf naming the source and
 * the problem. On failure s is empty (src_free is safe). */
int src_load(struct src *s, const char *source, const char *tmpdir,
             char *errbuf, size_t errlen);

void src_free(struct src *s);

/* The subscription called name (matched as the streamer does: the
 * market case-insensitively, the rest exactly), or -1. */
long src_find_sub(const struct src *s, const char *name, size_t len);

/* The index of the first frame received after t_ns (n_frames if none). */
size_t src_frame_after(const struct src *s, int64_t t_ns);

static inline const char *src_payload(const struct src *s,
                                      const struct src_frame *f)
{
    return s->text + f->off;
}

/* Write frame f into out (cap bytes) with every time field + shift_s
 * seconds and every trade id + id_shift. Returns the length, or 0 if cap
 * is too small. Frames without patches are copied as they are. */
size_t src_render(const struct src *s, const struct src_frame *f,
                  int64_t shift_s, int64_t id_shift, char *out, size_t cap);

/* The recorded answer to key ("GET /path?sorted&query", no api_key), the
 * latest one recorded at or before t_ns, else the first; NULL if none. */
const struct src_rest *src_rest_find(const struct src *s, const char *key,
                                     int64_t t_ns);

/* A member of a merged ticker state: its name and latest value, as
 * recorded (pointers into src.text). */
struct src_member {
    const char *k, *v;
    size_t kn, vn;
};

#define SRC_MERGE_MAX 96

/* The merged state of ticker subscription sub up to source time t (every
 * TYPE 2/5 field it has had, its latest value, in order of first
 * appearance, as the client merge rule of the reference says) into
 * m[0..SRC_MERGE_MAX): how many; 0 if none yet. */
size_t src_merged(const struct src *s, long sub, int64_t t,
                  struct src_member *m);

/* The member named k of m[0..n), or NULL. */
const struct src_member *src_member_of(const struct src_member *m, size_t n,
                                       const char *k);

/* Parse a synth specification ("synth:" already stripped) into o.
 * MD_OK or MD_E_USAGE with errbuf. */
struct synth_opts;
int src_synth_spec(const char *spec, struct synth_opts *o, char *errbuf,
                   size_t errlen);

#endif /* SERVE_SOURCE_H */
