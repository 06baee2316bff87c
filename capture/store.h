/* store.h: the capture store: one SQLite file per capture holding sessions,
 * connections, and every event in the order the core received it (frames in
 * and out, REST exchanges, connection events, timer firings, delivery
 * reports, Admin results, signals, operator commands). The unit of truth
 * for replay, the fake server and fixtures. Format: docs/capture-format.md.
 *
 * Writer: a background thread commits batches (WAL, synchronous=NORMAL) at
 * least every 100 ms or every `batch_events` events; store_append copies the
 * event into a bounded queue and blocks (counted) when the queue is full,
 * so no event is ever dropped. After SIGKILL the file passes
 * PRAGMA integrity_check and loses at most the last uncommitted batch.
 * Secrets given to the writer (the API key) are redacted from every text
 * and blob before it reaches the queue, in plain, URL-encoded and base64
 * forms.
 *
 * Reader: streams events in order in constant memory; refuses a file that is
 * not SQLite, not a ccstream capture, truncated/corrupt, or of a newer
 * schema_version, with a message naming the file and the problem.
 *
 * Shell code (capture/): uses sqlite3 and pthreads. Functions return MD_OK
 * or a negative MD_E_* (core/md_err.h) and describe failures in the
 * caller's errbuf. Locality: a writer or reader handle is used from one
 * thread (the event loop); the writer's own thread is internal. */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STORE_SCHEMA_VERSION 2
#define STORE_FORMAT "ccstream-capture"

/* What an event is. The numbers are stored in the file: never renumber;
 * the table `kinds` in every file names them. */
enum store_kind {
    STORE_K_INVALID = 0,
    /* WebSocket */
    STORE_K_WS_CONNECT = 1,   /* out: connection attempt (url in meta) */
    STORE_K_WS_HANDSHAKE = 2, /* in: upgrade response; headers in meta */
    STORE_K_WS_TEXT = 3,      /* in/out: one text frame, payload verbatim */
    STORE_K_WS_BINARY = 4,    /* in/out: one binary frame */
    STORE_K_WS_PING = 5,      /* out (lws 4.1.6 answers inbound pings
                                 itself and does not surface them) */
    STORE_K_WS_PONG = 6,      /* in */
    STORE_K_WS_CLOSE = 7,     /* in/out: close frame; status = code,
                                 payload = reason */
    STORE_K_WS_CLOSED = 8,    /* in: the socket ended (status = code,
                                 1006 abrupt) */
    STORE_K_WS_ERROR = 9,     /* in: connection error; payload = text */
    /* REST */
    STORE_K_HTTP_REQUEST = 20,  /* out: method + redacted URL in meta */
    STORE_K_HTTP_RESPONSE = 21, /* in: status, headers in meta, body */
    STORE_K_HTTP_ERROR = 22,    /* in: transport error; payload = text */
    /* other core inputs */
    STORE_K_TIMER = 30,     /* timer firing: meta {"timer":..,"deadline":..} */
    STORE_K_DELIVERY = 31,  /* Kafka delivery report: status = error code */
    STORE_K_ADMIN = 32,     /* Kafka Admin result */
    STORE_K_SIGNAL = 33,    /* SIGINT/SIGTERM/SIGHUP: status = signo */
    STORE_K_OPERATOR = 34,  /* operator command: payload = command */
    /* what the core did with the input before it (recordings only) */
    STORE_K_CORE_OUT = 35,  /* local: payload = the core's actions as text,
                               one per line (docs/replay-contract.md) */
    STORE_K__MAX = 35
};

enum store_dir {
    STORE_D_IN = 0,    /* from the outside world to the core */
    STORE_D_OUT = 1,   /* from the core to the outside world */
    STORE_D_LOCAL = 2  /* produced locally (timers, signals, operator) */
};

/* One event. The writer copies everything; pointers are borrowed for the
 * call. meta is a JSON object (text) or NULL; payload may hold any bytes. */
struct store_event {
    int64_t conn_id;  /* 0 = not tied to a connection */
    int kind;         /* enum store_kind */
    int dir;          /* enum store_dir */
    int64_t mono_ns;  /* local monotonic receive (or send) time */
    int64_t wall_ns;  /* local wall-clock time, unix ns */
    int64_t status;   /* HTTP status, close code, error code, signo; 0 */
    const char *meta;
    const void *payload;
    size_t payload_len;
    /* filled by the reader: */
    int64_t seq;      /* global order, 1, 2, 3, ... */
    int64_t conn_seq; /* order within the connection, 1, 2, ... */
};

struct store_session {
    int64_t started_mono_ns, started_wall_ns;
    const char *tool;   /* "ccstream 0.1.0" */
    const char *kind;   /* "capture", "live", "synth", "record", "import" */
    const char *config; /* JSON, secrets already removed */
    uint64_t prng_seed;
    const char *notes;  /* may be NULL */
    int core_version;   /* a recording's CORE_VERSION (core.h): the core
                           whose actions it holds; 0 = none (schema 1
                           files, synth, import of such) */
};

struct store_conn {
    const char *kind; /* "ws", "rest" */
    const char *url;  /* redacted by the writer if it holds the key */
    int64_t opened_mono_ns, opened_wall_ns;
    /* filled by the reader (ignored by the writer): */
    int64_t id;
    int closed;                 /* 0: no store_conn_close was recorded */
    int64_t closed_mono_ns, closed_wall_ns, close_code; /* 0 if !closed */
    const char *close_reason;   /* NULL if none */
};

struct store_writer_opts {
    unsigned batch_events;  /* commit after this many; default 10000 */
    unsigned batch_ms;      /* and at least this often; default 100 */
    size_t queue_bytes;     /* bound of the queue; default 64 MiB */
    int synchronous_full;   /* PRAGMA synchronous=FULL (default NORMAL) */
    /* Called on the writer's own thread after each COMMIT with the seq of
     * the last event now durable (0 if none yet). Must not call back into
     * the writer. NULL (the default): no call. Tests and progress. */
    void (*on_commit)(void *arg, int64_t last_seq);
    void *on_commit_arg;
};

struct store_writer_stats {
    uint64_t events, bytes, commits, stalls; /* stalls: append waited */
};

struct store_writer;
struct store_reader;

void store_writer_opts_default(struct store_writer_opts *o);

/* Create path (which must not exist: never clobbered) with the schema,
 * write the session, start the writer thread. sess->tool and sess->kind
 * are required; sess->config NULL means "{}", else it must be valid JSON
 * in UTF-8. opts NULL (or a zero field) means the defaults.
 * secret (NULL or "" for none; else at least 8 bytes) is redacted from
 * everything written afterwards (session, URLs, reasons, meta, payloads)
 * as plain text, URL-encoded (upper/lower hex, '+' for space),
 * JSON-escaped and base64 (standard and URL-safe, at any alignment inside
 * longer base64), each occurrence replaced with "REDACTED", before it is
 * queued: the secret never reaches SQLite.
 * MD_OK and *w; else *w = NULL and MD_E_INVAL (arguments, path exists),
 * MD_E_IO (cannot create or write), MD_E_NOMEM; errbuf says why and names
 * the file; a file this call created is removed again. */
int store_writer_open(const char *path, const struct store_session *sess,
                      const char *secret,
                      const struct store_writer_opts *opts,
                      struct store_writer **w, char *errbuf, size_t errlen);

/* Record a further session (ids 2, 3, ... in call order; the first is
 * store_writer_open's), redacted like the first, written in order with
 * the events around it. For import of a capture of several sessions.
 * MD_OK, MD_E_INVAL (config not JSON), MD_E_NOMEM, or the sticky error. */
int store_session_add(struct store_writer *w,
                      const struct store_session *sess);

/* Record a connection; *conn_id receives its id (1, 2, ...), assigned at
 * once, in call order. c->kind and c->url must not be NULL (url may be "").
 * Text columns (here kind and url; the session's tool, kind and notes;
 * the close reason) are stored redacted and as valid UTF-8: a byte that
 * does not start a valid sequence becomes '?'. Verbatim bytes belong in
 * event payloads. MD_OK, MD_E_INVAL, or the sticky error. */
int store_conn_open(struct store_writer *w, const struct store_conn *c,
                    int64_t *conn_id);

/* Record how a connection ended (once per connection; reason may be NULL).
 * MD_E_INVAL for an unknown or already closed id. */
int store_conn_close(struct store_writer *w, int64_t conn_id,
                     int64_t closed_mono_ns, int64_t closed_wall_ns,
                     int64_t close_code, const char *reason);

/* Queue one event (copied, redacted). Blocks while the queue is full. seq
 * and conn_seq are assigned here (ev->seq/conn_seq are ignored). MD_OK;
 * MD_E_INVAL for an unknown kind or dir, a conn_id that store_conn_open did
 * not return, meta that is not one JSON object in valid UTF-8, or
 * payload NULL with payload_len > 0; MD_E_RANGE for a payload or meta
 * above 900 MB; or the writer thread's sticky error
 * (MD_E_IO, see store_writer_errmsg). */
int store_append(struct store_writer *w, const struct store_event *ev);

/* The writer thread's sticky error message ("" if none). Valid until the
 * writer is closed. */
const char *store_writer_errmsg(struct store_writer *w);

/* Commit everything queued so far and wait for it. */
int store_flush(struct store_writer *w);

void store_writer_stats(const struct store_writer *w,
                        struct store_writer_stats *st);

/* Flush, stop the thread, checkpoint, close, free. NULL is a no-op.
 * Returns the first error the writer met, if any. */
int store_writer_close(struct store_writer *w, char *errbuf, size_t errlen);

/* Open a capture read-only and check it is one we can read: cheap checks
 * only (header, size against the page count, application_id, the meta
 * table, schema_version, sessions); damage deeper in the file shows as
 * MD_E_CORRUPT from store_next, or from store_reader_check.
 * MD_OK and *r; else *r = NULL and
 * MD_E_NOTFOUND (no such file), MD_E_IO (cannot read it), MD_E_CORRUPT
 * (empty, not SQLite, truncated, damaged, not a ccstream capture),
 * MD_E_VERSION (a newer schema_version), with errbuf naming the file. */
int store_reader_open(const char *path, struct store_reader **r,
                      char *errbuf, size_t errlen);

/* How a capture ended, as its writer marked it (meta 'state'). A clean
 * close marks it complete (or what store_writer_set_end_state said);
 * until then it says 'writing', which a reader reports as incomplete: the
 * writer was killed or crashed and the file holds what it committed. A
 * file from a writer before this mark existed has none (unknown). */
enum store_state {
    STORE_STATE_UNKNOWN = 0, /* no mark: an older writer */
    STORE_STATE_WRITING,     /* never closed: incomplete */
    STORE_STATE_COMPLETE,
    STORE_STATE_INTERRUPTED  /* closed cleanly after SIGINT or SIGTERM */
};

/* "unknown", "incomplete", "complete", "interrupted". */
const char *store_state_name(int state);

/* Something a reader's user should be told although the capture opened
 * (it is read through a private copy: its writer died and left a -wal
 * this reader may not use in place), or NULL. */
const char *store_reader_warning(const struct store_reader *r);

/* The file's schema_version (1 .. STORE_SCHEMA_VERSION). */
int store_reader_schema(const struct store_reader *r);

/* The capture's state (enum store_state). */
int store_reader_state(const struct store_reader *r);

/* What store_writer_close marks on success (default COMPLETE; UNKNOWN
 * removes the mark, for an import of a file that had none). */
void store_writer_set_end_state(struct store_writer *w, int state);

/* PRAGMA quick_check (full = 0) or integrity_check (full = 1): reads the
 * whole file. MD_OK or MD_E_CORRUPT (store_reader_errmsg says what). */
int store_reader_check(struct store_reader *r, int full);

/* The message of the last failure on r (names the file), "" if none. */
const char *store_reader_errmsg(const struct store_reader *r);

/* The session row(s): index 0 is the first. MD_E_NOTFOUND past the end.
 * Strings stay valid until the reader is closed. */
int store_reader_session(struct store_reader *r, int index,
                         struct store_session *s);

/* Connection conn_id (ids are dense: 1 .. store_conn_count). Fills *c
 * (reader fields included) and, when not NULL, the three outputs (never
 * closed: *closed_mono_ns = 0, *close_code = -1, *reason = NULL). Strings
 * stay valid until the next call. MD_OK, MD_E_NOTFOUND, MD_E_CORRUPT. */
int store_reader_conn(struct store_reader *r, int64_t conn_id,
                      struct store_conn *c, int64_t *closed_mono_ns,
                      int64_t *close_code, const char **reason);

/* Number of connections (the largest id), 0 if none, negative on error. */
int64_t store_conn_count(struct store_reader *r);

/* From now on store_next returns only events of these kinds (n <= 16),
 * still in seq order, from the first again. For scans that need a few
 * kinds of a large capture: the HTTP kinds (20..22, in any order) are read
 * through the events_http index where the capture has it (replay's REST
 * answers); other sets scan the events. MD_OK or MD_E_*. */
int store_reader_only(struct store_reader *r, const int *kinds, size_t n);

/* The largest jump between one event's mono_ns and the one before it
 * (or the session's start, for the first), either way: 7 days. A live
 * capture's events are seconds apart (heartbeats every 30 s); a larger
 * jump is a damaged or hand-made capture (mono_ns = wall_ns, INT64_MAX)
 * that replay would turn into an unbounded run of timers. */
#define STORE_MAX_JUMP_NS (INT64_C(7) * 86400 * 1000000000)

/* Check an event's time against the one before: not negative, within
 * STORE_MAX_JUMP_NS of prev. MD_OK, or MD_E_CORRUPT with why (no file or
 * seq: the caller names those). Used by the reader and by import. */
int store_time_check(int64_t prev_ns, int64_t t_ns, char *why,
                     size_t why_size);

/* The next event in seq order. MD_OK with *ev filled (pointers valid until
 * the next call), MD_E_NOTFOUND at the end, MD_E_CORRUPT on a bad row. */
int store_next(struct store_reader *r, struct store_event *ev);

/* The event with this seq, whatever store_next is doing (a separate
 * statement): MD_OK with *ev filled (pointers valid until the next
 * store_event_at on r), MD_E_NOTFOUND, MD_E_CORRUPT on a bad row. */
int store_event_at(struct store_reader *r, int64_t seq,
                   struct store_event *ev);

/* Number of events (cheap: the largest seq); negative on error. */
int64_t store_event_count(struct store_reader *r);

/* Start store_next again from seq 1. */
int store_rewind(struct store_reader *r);

/* NULL is a no-op. */
void store_reader_close(struct store_reader *r);

/* ---------------------------------------------------------------------
 * Text form (capture/store_jsonl.c; docs/capture-format.md, "JSON lines")
 * ------------------------------------------------------------------- */

/* Write the whole capture as JSON lines to out: a "capture" header, the
 * sessions, the connections, then one line per event in seq order.
 * Streams (constant memory). MD_OK; MD_E_CORRUPT (a bad row), MD_E_IO (a
 * write failed); errbuf says which. */
int store_export(struct store_reader *r, FILE *out, char *errbuf,
                 size_t errlen);

/* Read JSON lines from in (name is what messages call it) into a new
 * capture at out_path (which must not exist), preserving every value, so
 * that export -> import -> export is byte-identical, except what the
 * writer redacts: secret (the API key, NULL or "" for none) in every
 * form, and credentials in known places whatever the key (an api_key=
 * URL parameter, an Authorization token in a text or meta; see
 * docs/capture-format.md, Redaction). On any failure the
 * partial file is removed. MD_OK; MD_E_PROTO (errbuf: "NAME:LINE:COLUMN:
 * what"), MD_E_VERSION, MD_E_IO, MD_E_INVAL (out_path exists). */
int store_import(FILE *in, const char *name, const char *out_path,
                 const char *secret, char *errbuf, size_t errlen);

/* Helpers for text output, shared with the CLI. */

/* 1 if p[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int store_utf8_valid(const void *p, size_t n);

/* Write p[0..n) as a JSON string, quotes included: '"', '\\' and bytes
 * below 0x20 or equal to 0x7f are escaped, everything else verbatim (the
 * caller checks UTF-8). Returns 0, or -1 if the stream failed. */
int store_json_put_str(FILE *f, const void *p, size_t n);

/* Write unix ns as "2024-05-01T12:00:00.123456789Z" into buf (>= 32
 * bytes; digits = 0, 3, 6 or 9 fractional digits). Returns buf. */
char *store_fmt_utc(int64_t wall_ns, int digits, char *buf, size_t cap);

/* Names for kinds and directions ("ws_text", "in"); "?" if unknown. */
const char *store_kind_name(int kind);
const char *store_dir_name(int dir);
int store_kind_from_name(const char *name);

#endif /* STORE_H */
