/* cmd_inspect.c: `ccstream inspect`: a capture summarised for a person
 * (or, with --json, for a script): time span, sessions, connections and how
 * they ended, frames per direction and CryptoCompare TYPE, REST requests
 * by endpoint and status, gaps, errors, disconnects. One streaming pass in
 * bounded memory (per-connection state only); reads, never writes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cc_decode.h"
#include "cc_json.h"
#include "cli.h"
#include "md_err.h"
#include "md_parse.h"
#include "store.h"

#define INS_MAX_TYPES 64
#define INS_MAX_REST 256
#define INS_MAX_ERRS 64
#define INS_MAX_CODES 64
#define INS_TOP_GAPS 10
#define INS_KINDS 64

struct ins_conn {
    struct store_conn c; /* strings below are our copies */
    char *url, *reason;
    char kind[16];
    int ws;
    int64_t frames[2], bytes[2]; /* by dir in/out: ws text+binary */
    int64_t last_in_mono, last_in_wall;
    int live;            /* connected and watched for gaps */
    int saw_closed_ev;   /* a ws_closed event was seen */
    int64_t closed_ev_code;
    char req_method[16];
    char req_path[160];
    int have_req;
};

struct ins_type {
    char name[24];
    int64_t count;
};

struct ins_rest {
    char method[16];
    char path[160];
    int64_t status, count;
};

struct ins_err {
    char what[80];
    int64_t count, first_seq;
};

struct ins_gap {
    int64_t conn, start_wall, dur;
};

struct ins_code {
    int64_t code, count;
};

struct ins {
    const char *path;
    int64_t nevents, seen;
    int64_t first_wall, last_wall, first_mono, last_mono;
    int have_span;
    struct ins_conn *conns; /* [1 .. nconns] */
    int64_t nconns;
    int64_t kcount[INS_KINDS][3], kbytes[INS_KINDS][3];
    int64_t other_kinds;
    int64_t frames[2], fbytes[2];
    struct ins_type types[INS_MAX_TYPES];
    int ntypes;
    int64_t types_other, malformed;
    struct ins_rest rest[INS_MAX_REST];
    int nrest;
    int64_t rest_other;
    struct ins_err errs[INS_MAX_ERRS];
    int nerrs;
    int64_t errs_total;
    struct ins_gap gaps[INS_TOP_GAPS];
    int ngaps;
    int64_t gaps_count, gaps_total, gap_ns;
    struct ins_code codes[INS_MAX_CODES];
    int ncodes;
    int64_t disc_total;
    char glob_method[16], glob_path[160];
    int glob_have_req;
};

static void inspect_usage(FILE *f)
{
    fprintf(f,
            "usage: ccstream inspect [--json] [--gap SECONDS] [--check] "
            "CAPTURE.db\n"
            "\n"
            "Summarise a capture: time span (UTC) and duration, sessions,\n"
            "connections and how they ended (close codes, 1006 = abrupt),\n"
            "frames per direction and per CryptoCompare TYPE, REST requests\n"
            "by endpoint and status, gaps (no inbound frame for longer than\n"
            "the threshold while connected), errors (INVALID_SUB, 401, 429,\n"
            "5xx, malformed frames, socket errors) and disconnects.\n"
            "\n"
            "  --json         one JSON object instead of text (shape in\n"
            "                 docs/capture-format.md, \"inspect --json\")\n"
            "  --gap SECONDS  gap threshold (default 5)\n"
            "  --check        also run SQLite's quick_check on the file\n"
            "  -h, --help     this text\n"
            "\n"
            "Progress goes to standard error when it is a terminal.\n"
            "\n"
            "Exit status: 0 ok, 1 error (unreadable or damaged capture), 2 "
            "usage.\n");
}

/* ---------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------- */

static const char *fmt_dur(int64_t ns, char *b, size_t cap)
{
    int64_t ms, s, m, h;
    const char *sign = "";

    if (ns < 0) {
        sign = "-";
        ns = -ns;
    }
    ms = ns / 1000000;
    s = ms / 1000;
    m = s / 60;
    h = m / 60;
    if (h > 0) {
        snprintf(b, cap, "%s%" PRId64 "h%02" PRId64 "m%02" PRId64 ".%03" PRId64
                 "s", sign, h, m % 60, s % 60, ms % 1000);
    } else if (m > 0) {
        snprintf(b, cap, "%s%" PRId64 "m%02" PRId64 ".%03" PRId64 "s", sign,
                 m, s % 60, ms % 1000);
    } else {
        snprintf(b, cap, "%s%" PRId64 ".%03" PRId64 "s", sign, s, ms % 1000);
    }
    return b;
}

static const char *fmt_bytes(int64_t n, char *b, size_t cap)
{
    if (n < 10000) {
        snprintf(b, cap, "%" PRId64 " B", n);
    } else if (n < 10000000) {
        snprintf(b, cap, "%.1f kB", (double)n / 1e3);
    } else if (n < INT64_C(10000000000)) {
        snprintf(b, cap, "%.1f MB", (double)n / 1e6);
    } else {
        snprintf(b, cap, "%.1f GB", (double)n / 1e9);
    }
    return b;
}

static const char *type_label(const char *t)
{
    static const struct {
        const char *t, *label;
    } map[] = {
        {"0", "trade"},          {"2", "ticker"},
        {"3", "load complete"},  {"5", "CCCAGG"},
        {"16", "sub complete"},  {"17", "unsub complete"},
        {"18", "unsub all"},     {"20", "welcome"},
        {"24", "OHLC"},          {"401", "unauthorized"},
        {"429", "rate limit"},   {"500", "error"},
        {"999", "heartbeat"},
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(map[i].t, t) == 0) {
            return map[i].label;
        }
    }
    return "";
}

/* ---------------------------------------------------------------------
 * Counting
 * ------------------------------------------------------------------- */

static void add_err(struct ins *s, const char *what, int64_t seq)
{
    int i;

    s->errs_total++;
    for (i = 0; i < s->nerrs; i++) {
        if (strcmp(s->errs[i].what, what) == 0) {
            s->errs[i].count++;
            return;
        }
    }
    if (s->nerrs == INS_MAX_ERRS) {
        i = INS_MAX_ERRS - 1; /* the last slot collects the rest */
        snprintf(s->errs[i].what, sizeof s->errs[i].what, "other");
        s->errs[i].count++;
        return;
    }
    i = s->nerrs++;
    snprintf(s->errs[i].what, sizeof s->errs[i].what, "%s", what);
    s->errs[i].count = 1;
    s->errs[i].first_seq = seq;
}

static void add_type(struct ins *s, const char *name)
{
    int i;

    for (i = 0; i < s->ntypes; i++) {
        if (strcmp(s->types[i].name, name) == 0) {
            s->types[i].count++;
            return;
        }
    }
    if (s->ntypes == INS_MAX_TYPES) {
        s->types_other++;
        return;
    }
    i = s->ntypes++;
    snprintf(s->types[i].name, sizeof s->types[i].name, "%s", name);
    s->types[i].count = 1;
}

static void add_rest(struct ins *s, const char *method, const char *path,
                     int64_t status)
{
    int i;

    for (i = 0; i < s->nrest; i++) {
        if (s->rest[i].status == status &&
            strcmp(s->rest[i].method, method) == 0 &&
            strcmp(s->rest[i].path, path) == 0) {
            s->rest[i].count++;
            return;
        }
    }
    if (s->nrest == INS_MAX_REST) {
        s->rest_other++;
        return;
    }
    i = s->nrest++;
    snprintf(s->rest[i].method, sizeof s->rest[i].method, "%s", method);
    snprintf(s->rest[i].path, sizeof s->rest[i].path, "%s", path);
    s->rest[i].status = status;
    s->rest[i].count = 1;
}

static void add_code(struct ins *s, int64_t code)
{
    int i;

    s->disc_total++;
    for (i = 0; i < s->ncodes; i++) {
        if (s->codes[i].code == code) {
            s->codes[i].count++;
            return;
        }
    }
    if (s->ncodes == INS_MAX_CODES) {
        return;
    }
    s->codes[s->ncodes].code = code;
    s->codes[s->ncodes].count = 1;
    s->ncodes++;
}

static void add_gap(struct ins *s, int64_t conn, int64_t start_wall,
                    int64_t dur)
{
    int i, j;

    s->gaps_count++;
    s->gaps_total += dur;
    /* keep the INS_TOP_GAPS longest, longest first */
    for (i = 0; i < s->ngaps && s->gaps[i].dur >= dur; i++) {
    }
    if (i >= INS_TOP_GAPS) {
        return;
    }
    if (s->ngaps < INS_TOP_GAPS) {
        s->ngaps++;
    }
    for (j = s->ngaps - 1; j > i; j--) {
        s->gaps[j] = s->gaps[j - 1];
    }
    s->gaps[i].conn = conn;
    s->gaps[i].start_wall = start_wall;
    s->gaps[i].dur = dur;
}

/* A connection stops being watched: a gap up to `now` counts too. */
static void conn_end_watch(struct ins *s, struct ins_conn *c, int64_t now)
{
    if (c->live && now - c->last_in_mono > s->gap_ns) {
        add_gap(s, c->c.id, c->last_in_wall, now - c->last_in_mono);
    }
    c->live = 0;
}

/* Copy at most cap - 1 bytes of src[0..n) and a NUL. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "method" and "url" of a request's meta, the url cut to its path. */
static void req_of_meta(const char *meta, char *method, size_t mcap,
                        char *path, size_t pcap)
{
    struct cc_json j;
    struct cc_str k, v;
    char url[512];
    size_t n;
    const char *p, *e;

    snprintf(method, mcap, "?");
    snprintf(path, pcap, "?");
    if (meta == NULL) {
        return;
    }
    cc_json_init(&j, meta, strlen(meta), NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return;
    }
    while (cc_json_obj_next(&j, &k) == 1) {
        int is_m = cc_str_eq(&k, "method", 6), is_u = cc_str_eq(&k, "url", 3);
        if ((is_m || is_u) && cc_json_peek(&j) == '"') {
            if (cc_json_str(&j, &v) != MD_OK) {
                return;
            }
            if (cc_str_unescape(&v, url, sizeof url - 1, &n) != MD_OK) {
                n = 0;
            }
            url[n] = '\0';
            if (is_m) {
                copy_cut(method, mcap, url, n);
                continue;
            }
            p = strstr(url, "://");
            p = p ? strchr(p + 3, '/') : url;
            if (p == NULL) {
                p = "/";
            }
            e = p + strcspn(p, "?#");
            copy_cut(path, pcap, p, (size_t)(e - p));
        } else if (cc_json_skip(&j) != MD_OK) {
            return;
        }
    }
}

static void on_ws_text_in(struct ins *s, const struct store_event *ev)
{
    struct cc_msg msg;
    struct cc_err err;
    char name[24], what[80];
    size_t n = 0;
    int rc;

    rc = cc_ws_decode(ev->payload, ev->payload_len, &msg, &err);
    if (rc != MD_OK) {
        s->malformed++;
        add_type(s, "malformed");
        add_err(s, "ws malformed frame", ev->seq);
        return;
    }
    if (cc_str_unescape(&msg.type_text, name, sizeof name - 1, &n) !=
        MD_OK) {
        n = 0;
    }
    name[n] = '\0';
    add_type(s, n ? name : "?");
    if (msg.type == CC_T_UNAUTHORIZED || msg.type == CC_T_RATE_LIMIT ||
        msg.type == CC_T_ERROR) {
        const char *code = cc_code_name(msg.u.ctl.code);
        char m[48];
        if (msg.u.ctl.code == CC_C_OTHER || msg.u.ctl.code == CC_C_NONE) {
            n = 0;
            if (cc_str_unescape(&msg.u.ctl.message, m, sizeof m - 1, &n) !=
                MD_OK) {
                n = 0;
            }
            m[n] = '\0';
            code = n ? m : "?";
        }
        snprintf(what, sizeof what, "ws %s %s", name, code);
        add_err(s, what, ev->seq);
    }
}

static void on_event(struct ins *s, const struct store_event *ev)
{
    struct ins_conn *c = NULL;
    int din = ev->dir == STORE_D_IN, k = ev->kind;
    char what[80];

    if (ev->conn_id >= 1 && ev->conn_id <= s->nconns) {
        c = &s->conns[ev->conn_id];
    }
    if (!s->have_span) {
        s->first_wall = ev->wall_ns;
        s->first_mono = ev->mono_ns;
        s->have_span = 1;
    }
    s->last_wall = ev->wall_ns;
    s->last_mono = ev->mono_ns;
    if (k >= 0 && k < INS_KINDS) {
        s->kcount[k][ev->dir]++;
        s->kbytes[k][ev->dir] += (int64_t)ev->payload_len;
    } else {
        s->other_kinds++;
    }
    switch (k) {
    case STORE_K_WS_CONNECT:
    case STORE_K_WS_HANDSHAKE:
        if (c != NULL && !c->live) {
            c->live = 1;
            c->last_in_mono = ev->mono_ns;
            c->last_in_wall = ev->wall_ns;
        }
        break;
    case STORE_K_WS_TEXT:
    case STORE_K_WS_BINARY:
    case STORE_K_WS_PONG:
        if (k != STORE_K_WS_PONG && ev->dir <= STORE_D_OUT) {
            s->frames[ev->dir]++;
            s->fbytes[ev->dir] += (int64_t)ev->payload_len;
            if (c != NULL) {
                c->frames[ev->dir]++;
                c->bytes[ev->dir] += (int64_t)ev->payload_len;
            }
        }
        if (din && c != NULL) {
            if (c->live && ev->mono_ns - c->last_in_mono > s->gap_ns) {
                add_gap(s, c->c.id, c->last_in_wall,
                        ev->mono_ns - c->last_in_mono);
            }
            c->live = 1;
            c->last_in_mono = ev->mono_ns;
            c->last_in_wall = ev->wall_ns;
        }
        if (din && k == STORE_K_WS_TEXT) {
            on_ws_text_in(s, ev);
        }
        break;
    case STORE_K_WS_CLOSED:
        add_code(s, ev->status);
        if (c != NULL) {
            c->saw_closed_ev = 1;
            c->closed_ev_code = ev->status;
            conn_end_watch(s, c, ev->mono_ns);
        }
        break;
    case STORE_K_WS_ERROR:
        add_err(s, "ws socket error", ev->seq);
        break;
    case STORE_K_HTTP_REQUEST: {
        char *m = c ? c->req_method : s->glob_method;
        char *p = c ? c->req_path : s->glob_path;
        req_of_meta(ev->meta, m, sizeof s->glob_method, p,
                    sizeof s->glob_path);
        if (c != NULL) {
            c->have_req = 1;
        } else {
            s->glob_have_req = 1;
        }
        break;
    }
    case STORE_K_HTTP_RESPONSE:
    case STORE_K_HTTP_ERROR: {
        /* the outcome of the conn's last request; a transport error is
         * status 0 */
        const char *m = "?", *p = "?";
        if (c != NULL && c->have_req) {
            m = c->req_method;
            p = c->req_path;
        } else if (s->glob_have_req) {
            m = s->glob_method;
            p = s->glob_path;
        }
        add_rest(s, m, p, k == STORE_K_HTTP_ERROR ? 0 : ev->status);
        if (k == STORE_K_HTTP_ERROR) {
            add_err(s, "http transport error", ev->seq);
        } else if (ev->status >= 400) {
            snprintf(what, sizeof what, "http %" PRId64, ev->status);
            add_err(s, what, ev->seq);
        }
        break;
    }
    case STORE_K_DELIVERY:
        if (ev->status != 0) {
            add_err(s, "kafka delivery error", ev->seq);
        }
        break;
    case STORE_K_ADMIN:
        if (ev->status != 0) {
            add_err(s, "kafka admin error", ev->seq);
        }
        break;
    default:
        break;
    }
}

static int load_conns(struct ins *s, struct store_reader *r, char *err,
                      size_t errlen)
{
    int64_t n = store_conn_count(r), i;

    if (n < 0) {
        snprintf(err, errlen, "%s", store_reader_errmsg(r));
        return (int)n;
    }
    s->conns = calloc((size_t)n + 1, sizeof *s->conns);
    if (s->conns == NULL) {
        snprintf(err, errlen, "%s: out of memory", s->path);
        return MD_E_NOMEM;
    }
    s->nconns = n;
    for (i = 1; i <= n; i++) {
        struct ins_conn *c = &s->conns[i];
        int rc = store_reader_conn(r, i, &c->c, NULL, NULL, NULL);
        if (rc != MD_OK) {
            if (rc == MD_E_NOTFOUND) {
                snprintf(err, errlen, "%s: damaged: connection %" PRId64
                         " is missing", s->path, i);
            } else {
                snprintf(err, errlen, "%s", store_reader_errmsg(r));
            }
            return rc == MD_E_NOTFOUND ? MD_E_CORRUPT : rc;
        }
        c->url = strdup(c->c.url);
        c->reason = c->c.close_reason ? strdup(c->c.close_reason) : NULL;
        if (c->url == NULL || (c->c.close_reason && c->reason == NULL)) {
            snprintf(err, errlen, "%s: out of memory", s->path);
            return MD_E_NOMEM;
        }
        snprintf(c->kind, sizeof c->kind, "%s", c->c.kind);
        c->c.url = c->url;
        c->c.close_reason = c->reason;
        c->c.kind = c->kind;
        c->ws = strcmp(c->kind, "ws") == 0;
    }
    return MD_OK;
}

static void free_ins(struct ins *s)
{
    int64_t i;

    if (s->conns != NULL) {
        for (i = 1; i <= s->nconns; i++) {
            free(s->conns[i].url);
            free(s->conns[i].reason);
        }
    }
    free(s->conns);
}

static int cmp_type(const void *a, const void *b)
{
    const struct ins_type *x = a, *y = b;

    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return strcmp(x->name, y->name);
}

static int cmp_rest(const void *a, const void *b)
{
    const struct ins_rest *x = a, *y = b;
    int c = strcmp(x->path, y->path);

    if (c == 0) {
        c = strcmp(x->method, y->method);
    }
    if (c == 0 && x->status != y->status) {
        c = x->status < y->status ? -1 : 1;
    }
    return c;
}

static int cmp_err(const void *a, const void *b)
{
    const struct ins_err *x = a, *y = b;

    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return strcmp(x->what, y->what);
}

static int cmp_code(const void *a, const void *b)
{
    const struct ins_code *x = a, *y = b;

    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return x->code < y->code ? -1 : x->code > y->code;
}

/* Disconnect codes recorded only on the connections table (no ws_closed
 * event), and every connection's gap watch, at the end of the pass. */
static void finish(struct ins *s)
{
    int64_t i;

    for (i = 1; i <= s->nconns; i++) {
        struct ins_conn *c = &s->conns[i];
        if (c->c.closed) {
            conn_end_watch(s, c, c->c.closed_mono_ns);
            if (c->ws && !c->saw_closed_ev) {
                add_code(s, c->c.close_code);
            }
        } else {
            conn_end_watch(s, c, s->last_mono);
        }
    }
    qsort(s->types, (size_t)s->ntypes, sizeof s->types[0], cmp_type);
    qsort(s->rest, (size_t)s->nrest, sizeof s->rest[0], cmp_rest);
    qsort(s->errs, (size_t)s->nerrs, sizeof s->errs[0], cmp_err);
    qsort(s->codes, (size_t)s->ncodes, sizeof s->codes[0], cmp_code);
}

static const char *close_word(int64_t code)
{
    switch (code) {
    case 1000:
        return "normal";
    case 1001:
        return "going away";
    case 1002:
        return "protocol error";
    case 1005:
        return "no status";
    case 1006:
        return "abrupt";
    case 1008:
        return "policy violation";
    case 1009:
        return "too big";
    case 1011:
        return "server error";
    default:
        return "";
    }
}

/* ---------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------- */

static void conn_end(const struct ins *s, const struct ins_conn *c,
                     int *closed, int64_t *code, int64_t *life)
{
    *closed = c->c.closed || c->saw_closed_ev;
    *code = c->c.closed ? c->c.close_code
                        : (c->saw_closed_ev ? c->closed_ev_code : 0);
    if (c->c.closed) {
        *life = c->c.closed_mono_ns - c->c.opened_mono_ns;
    } else {
        *life = s->last_mono - c->c.opened_mono_ns;
    }
}

static void print_text(const struct ins *s, struct store_reader *r,
                       int checked, FILE *f)
{
    char t1[40], t2[40], d[40], b[40];
    struct store_session se;
    int64_t i, nws = 0, nrest = 0, nother = 0;
    int j, k, dir;

    fprintf(f, "capture      %s (%s, schema %d, %" PRId64 " events%s)\n",
            s->path, STORE_FORMAT, store_reader_schema(r), s->nevents,
            checked ? ", quick_check ok" : "");
    switch (store_reader_state(r)) {
    case STORE_STATE_COMPLETE:
        fprintf(f, "state        complete\n");
        break;
    case STORE_STATE_INTERRUPTED:
        fprintf(f, "state        interrupted (stopped by a signal, closed "
                "cleanly)\n");
        break;
    case STORE_STATE_WRITING:
        fprintf(f, "state        INCOMPLETE: its writer never closed it "
                "(killed or crashed); it holds what was committed\n");
        break;
    default:
        fprintf(f, "state        unknown (written before captures were "
                "marked complete)\n");
        break;
    }
    if (s->have_span) {
        fprintf(f, "span         %s .. %s (%s)\n",
                store_fmt_utc(s->first_wall, 3, t1, sizeof t1),
                store_fmt_utc(s->last_wall, 3, t2, sizeof t2),
                fmt_dur(s->last_mono - s->first_mono, d, sizeof d));
    } else {
        fprintf(f, "span         (no events)\n");
    }
    for (j = 0; store_reader_session(r, j, &se) == MD_OK; j++) {
        fprintf(f, "session      %s by %s, seed %" PRIu64 ", started %s\n",
                se.kind, se.tool, se.prng_seed,
                store_fmt_utc(se.started_wall_ns, 3, t1, sizeof t1));
        if (se.notes != NULL && se.notes[0] != '\0') {
            fprintf(f, "             notes: %s\n", se.notes);
        }
    }
    for (i = 1; i <= s->nconns; i++) {
        if (s->conns[i].ws) {
            nws++;
        } else if (strcmp(s->conns[i].kind, "rest") == 0) {
            nrest++;
        } else {
            nother++;
        }
    }
    fprintf(f, "connections  %" PRId64 " (ws %" PRId64 ", rest %" PRId64,
            s->nconns, nws, nrest);
    if (nother) {
        fprintf(f, ", other %" PRId64, nother);
    }
    fprintf(f, ")\n");
    for (i = 1; i <= s->nconns && i <= 50; i++) {
        const struct ins_conn *c = &s->conns[i];
        int closed;
        int64_t code, life;
        conn_end(s, c, &closed, &code, &life);
        fprintf(f, "  #%-3" PRId64 " %-4s %s\n", i, c->kind, c->url);
        fprintf(f, "       opened %s, %s %s, ",
                store_fmt_utc(c->c.opened_wall_ns, 3, t1, sizeof t1),
                closed ? "lived" : "open for",
                fmt_dur(life, d, sizeof d));
        if (closed) {
            fprintf(f, "ended %" PRId64 "%s%s%s", code,
                    *close_word(code) ? " (" : "", close_word(code),
                    *close_word(code) ? ")" : "");
            if (c->reason != NULL && c->reason[0] != '\0') {
                fprintf(f, " \"%s\"", c->reason);
            }
            fprintf(f, "\n");
        } else {
            fprintf(f, "still open at the end\n");
        }
        if (c->ws) {
            fprintf(f, "       frames in %" PRId64 " (%s), out %" PRId64,
                    c->frames[0], fmt_bytes(c->bytes[0], b, sizeof b),
                    c->frames[1]);
            fprintf(f, " (%s)\n", fmt_bytes(c->bytes[1], b, sizeof b));
        }
    }
    if (s->nconns > 50) {
        fprintf(f, "  ... %" PRId64 " more (--json lists all)\n",
                s->nconns - 50);
    }
    fprintf(f, "frames       in %" PRId64 " (%s)", s->frames[0],
            fmt_bytes(s->fbytes[0], b, sizeof b));
    fprintf(f, ", out %" PRId64 " (%s)\n", s->frames[1],
            fmt_bytes(s->fbytes[1], b, sizeof b));
    fprintf(f, "events       by kind and direction\n");
    for (k = 0; k < INS_KINDS; k++) {
        for (dir = 0; dir < 3; dir++) {
            if (s->kcount[k][dir] == 0) {
                continue;
            }
            fprintf(f, "  %-14s %-5s %10" PRId64 "  %s\n",
                    store_kind_name(k), store_dir_name(dir),
                    s->kcount[k][dir],
                    fmt_bytes(s->kbytes[k][dir], b, sizeof b));
        }
    }
    if (s->other_kinds) {
        fprintf(f, "  %-14s %-5s %10" PRId64 "\n", "unknown", "",
                s->other_kinds);
    }
    if (s->ntypes > 0) {
        fprintf(f, "TYPE         inbound text frames by CryptoCompare TYPE\n");
        for (j = 0; j < s->ntypes; j++) {
            fprintf(f, "  %-9s %10" PRId64 "  %s\n", s->types[j].name,
                    s->types[j].count, type_label(s->types[j].name));
        }
        if (s->types_other) {
            fprintf(f, "  %-9s %10" PRId64 "\n", "(more)", s->types_other);
        }
    }
    if (s->nrest > 0) {
        fprintf(f, "REST         outcomes by endpoint and status (ERR: "
                   "no response)\n");
        for (j = 0; j < s->nrest; j++) {
            char st[24];
            if (s->rest[j].status == 0) {
                snprintf(st, sizeof st, "ERR");
            } else {
                snprintf(st, sizeof st, "%" PRId64, s->rest[j].status);
            }
            fprintf(f, "  %-6s %-40s %3s %8" PRId64 "\n", s->rest[j].method,
                    s->rest[j].path, st, s->rest[j].count);
        }
        if (s->rest_other) {
            fprintf(f, "  (more) %" PRId64 "\n", s->rest_other);
        }
    }
    fprintf(f, "gaps         %" PRId64 " without an inbound frame for > %s",
            s->gaps_count, fmt_dur(s->gap_ns, d, sizeof d));
    if (s->gaps_count > 0) {
        fprintf(f, " (%s in all)", fmt_dur(s->gaps_total, d, sizeof d));
    }
    fprintf(f, "\n");
    for (j = 0; j < s->ngaps; j++) {
        fprintf(f, "  #%-3" PRId64 " %s from %s\n", s->gaps[j].conn,
                fmt_dur(s->gaps[j].dur, d, sizeof d),
                store_fmt_utc(s->gaps[j].start_wall, 3, t1, sizeof t1));
    }
    fprintf(f, "errors       %" PRId64 "\n", s->errs_total);
    for (j = 0; j < s->nerrs; j++) {
        fprintf(f, "  %-40s %8" PRId64 "  first at seq %" PRId64 "\n",
                s->errs[j].what, s->errs[j].count, s->errs[j].first_seq);
    }
    fprintf(f, "disconnects  %" PRId64 "\n", s->disc_total);
    for (j = 0; j < s->ncodes; j++) {
        fprintf(f, "  %-6" PRId64 " %-16s %8" PRId64 "\n", s->codes[j].code,
                close_word(s->codes[j].code), s->codes[j].count);
    }
}

static void json_str(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
    } else if (store_utf8_valid(s, strlen(s))) {
        store_json_put_str(f, s, strlen(s));
    } else {
        fputs("\"?\"", f);
    }
}

static void json_utc(FILE *f, int64_t ns)
{
    char t[40];

    json_str(f, store_fmt_utc(ns, 9, t, sizeof t));
}

static void print_json(const struct ins *s, struct store_reader *r,
                       int checked, FILE *f)
{
    struct store_session se;
    int64_t i;
    int j, k, dir, first;

    fputs("{\"file\":", f);
    json_str(f, s->path);
    fprintf(f, ",\"format\":\"%s\",\"schema_version\":%d,\"events\":%" PRId64
               ",\"quick_check\":%s,\"state\":\"%s\",\n",
            STORE_FORMAT, store_reader_schema(r), s->nevents,
            checked ? "\"ok\"" : "null",
            store_state_name(store_reader_state(r)));
    fputs("\"span\":", f);
    if (s->have_span) {
        fprintf(f, "{\"first_wall_ns\":%" PRId64 ",\"last_wall_ns\":%" PRId64,
                s->first_wall, s->last_wall);
        fputs(",\"first_utc\":", f);
        json_utc(f, s->first_wall);
        fputs(",\"last_utc\":", f);
        json_utc(f, s->last_wall);
        fprintf(f, ",\"duration_ns\":%" PRId64 "},\n",
                s->last_mono - s->first_mono);
    } else {
        fputs("null,\n", f);
    }
    fputs("\"sessions\":[", f);
    for (j = 0; store_reader_session(r, j, &se) == MD_OK; j++) {
        fprintf(f, "%s{\"id\":%d,\"kind\":", j ? "," : "", j + 1);
        json_str(f, se.kind);
        fputs(",\"tool\":", f);
        json_str(f, se.tool);
        fprintf(f, ",\"started_wall_ns\":%" PRId64 ",\"started_utc\":",
                se.started_wall_ns);
        json_utc(f, se.started_wall_ns);
        fprintf(f, ",\"prng_seed\":%" PRIu64 ",\"notes\":", se.prng_seed);
        json_str(f, se.notes);
        fputs("}", f);
    }
    fputs("],\n\"connections\":[", f);
    for (i = 1; i <= s->nconns; i++) {
        const struct ins_conn *c = &s->conns[i];
        int closed;
        int64_t code, life;
        conn_end(s, c, &closed, &code, &life);
        fprintf(f, "%s\n {\"id\":%" PRId64 ",\"kind\":", i > 1 ? "," : "",
                i);
        json_str(f, c->kind);
        fputs(",\"url\":", f);
        json_str(f, c->url);
        fprintf(f, ",\"opened_wall_ns\":%" PRId64 ",\"opened_utc\":",
                c->c.opened_wall_ns);
        json_utc(f, c->c.opened_wall_ns);
        fprintf(f, ",\"lifetime_ns\":%" PRId64 ",\"end\":\"%s\"", life,
                closed ? "closed" : "open");
        if (closed) {
            fprintf(f, ",\"close_code\":%" PRId64 ",\"abrupt\":%s", code,
                    code == 1006 ? "true" : "false");
        } else {
            fputs(",\"close_code\":null,\"abrupt\":false", f);
        }
        fputs(",\"close_reason\":", f);
        json_str(f, c->reason);
        fprintf(f,
                ",\"frames_in\":%" PRId64 ",\"frames_out\":%" PRId64
                ",\"bytes_in\":%" PRId64 ",\"bytes_out\":%" PRId64 "}",
                c->frames[0], c->frames[1], c->bytes[0], c->bytes[1]);
    }
    fprintf(f,
            "],\n\"frames\":{\"in\":{\"count\":%" PRId64 ",\"bytes\":%" PRId64
            "},\"out\":{\"count\":%" PRId64 ",\"bytes\":%" PRId64 "}},\n",
            s->frames[0], s->fbytes[0], s->frames[1], s->fbytes[1]);
    fputs("\"kinds\":[", f);
    first = 1;
    for (k = 0; k < INS_KINDS; k++) {
        for (dir = 0; dir < 3; dir++) {
            if (s->kcount[k][dir] == 0) {
                continue;
            }
            fprintf(f,
                    "%s{\"kind\":\"%s\",\"dir\":\"%s\",\"count\":%" PRId64
                    ",\"bytes\":%" PRId64 "}",
                    first ? "" : ",", store_kind_name(k), store_dir_name(dir),
                    s->kcount[k][dir], s->kbytes[k][dir]);
            first = 0;
        }
    }
    fprintf(f, "],\n\"types\":[");
    for (j = 0; j < s->ntypes; j++) {
        fprintf(f, "%s{\"type\":", j ? "," : "");
        json_str(f, s->types[j].name);
        fprintf(f, ",\"count\":%" PRId64 "}", s->types[j].count);
    }
    fprintf(f, "],\n\"malformed\":%" PRId64 ",\n\"rest\":[", s->malformed);
    for (j = 0; j < s->nrest; j++) {
        fprintf(f, "%s{\"method\":", j ? "," : "");
        json_str(f, s->rest[j].method);
        fputs(",\"endpoint\":", f);
        json_str(f, s->rest[j].path);
        fprintf(f, ",\"status\":%" PRId64 ",\"count\":%" PRId64 "}",
                s->rest[j].status, s->rest[j].count);
    }
    fprintf(f,
            "],\n\"gaps\":{\"threshold_ns\":%" PRId64 ",\"count\":%" PRId64
            ",\"total_ns\":%" PRId64 ",\"longest\":[",
            s->gap_ns, s->gaps_count, s->gaps_total);
    for (j = 0; j < s->ngaps; j++) {
        fprintf(f, "%s{\"conn\":%" PRId64 ",\"start_wall_ns\":%" PRId64
                   ",\"start_utc\":",
                j ? "," : "", s->gaps[j].conn, s->gaps[j].start_wall);
        json_utc(f, s->gaps[j].start_wall);
        fprintf(f, ",\"duration_ns\":%" PRId64 "}", s->gaps[j].dur);
    }
    fprintf(f, "]},\n\"errors\":{\"total\":%" PRId64 ",\"list\":[",
            s->errs_total);
    for (j = 0; j < s->nerrs; j++) {
        fprintf(f, "%s{\"what\":", j ? "," : "");
        json_str(f, s->errs[j].what);
        fprintf(f, ",\"count\":%" PRId64 ",\"first_seq\":%" PRId64 "}",
                s->errs[j].count, s->errs[j].first_seq);
    }
    fprintf(f, "]},\n\"disconnects\":{\"total\":%" PRId64 ",\"by_code\":[",
            s->disc_total);
    for (j = 0; j < s->ncodes; j++) {
        fprintf(f, "%s{\"code\":%" PRId64 ",\"abrupt\":%s,\"count\":%" PRId64
                   "}",
                j ? "," : "", s->codes[j].code,
                s->codes[j].code == 1006 ? "true" : "false",
                s->codes[j].count);
    }
    fputs("]}}\n", f);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"check", no_argument, NULL, 'c'},
        {"gap", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct store_reader *r = NULL;
    struct store_event ev;
    struct ins *s;
    const char *path = NULL;
    char err[1024];
    int c, rc, as_json = 0, check = 0, tty, shown = 0, status = 0;
    double gap_s = 5.0;
    int64_t t0, last_show = 0;

    cli_opt_begin();
    while ((c = cli_opt_next("inspect", argc, argv, ":h", longopts)) != -1) {
        switch (c) {
        case 'h':
            inspect_usage(stdout);
            return 0;
        case 'j':
            as_json = 1;
            break;
        case 'c':
            check = 1;
            break;
        case 'g':
            if (md_parse_real(optarg, strlen(optarg), 0.000001, 1e9,
                              &gap_s) != MD_OK) {
                fprintf(stderr,
                        "ccstream inspect: --gap '%.80s': a number of seconds "
                        "above 0\n\n",
                        optarg);
                inspect_usage(stderr);
                return 2;
            }
            break;
        default:
            fputc('\n', stderr);
            inspect_usage(stderr);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "ccstream inspect: one capture only ('%.80s')\n\n",
                argv[optind + 1]);
        inspect_usage(stderr);
        return 2;
    }
    if (optind < argc) {
        path = argv[optind];
    }
    if (path == NULL) {
        fprintf(stderr, "ccstream inspect: which capture?\n\n");
        inspect_usage(stderr);
        return 2;
    }
    rc = store_reader_open(path, &r, err, sizeof err);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream inspect: %s\n", err);
        return 1;
    }
    if (store_reader_warning(r) != NULL) {
        fprintf(stderr, "ccstream inspect: warning: %s\n",
                store_reader_warning(r));
    }
    if (check && store_reader_check(r, 0) != MD_OK) {
        fprintf(stderr, "ccstream inspect: %s\n", store_reader_errmsg(r));
        store_reader_close(r);
        return 1;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        fprintf(stderr, "ccstream inspect: out of memory\n");
        store_reader_close(r);
        return 1;
    }
    err[0] = '\0';
    s->path = path;
    s->gap_ns = (int64_t)(gap_s * 1e9);
    s->nevents = store_event_count(r);
    rc = s->nevents < 0 ? (int)s->nevents : MD_OK;
    if (rc == MD_OK) {
        rc = load_conns(s, r, err, sizeof err);
    } else {
        snprintf(err, sizeof err, "%s", store_reader_errmsg(r));
    }
    tty = isatty(STDERR_FILENO);
    t0 = now_ms();
    while (rc == MD_OK && (rc = store_next(r, &ev)) == MD_OK) {
        on_event(s, &ev);
        s->seen++;
        if (tty && (s->seen & 0xffff) == 0) {
            int64_t t = now_ms();
            if (t - t0 >= 1000 && t - last_show >= 250) {
                fprintf(stderr, "\rccstream inspect: %3d%% (%" PRId64
                                " of %" PRId64 " events)",
                        s->nevents > 0 ? (int)(100 * s->seen / s->nevents)
                                       : 100,
                        s->seen, s->nevents);
                last_show = t;
                shown = 1;
            }
        }
    }
    if (shown) {
        fprintf(stderr, "\r\033[K");
    }
    if (rc == MD_E_NOTFOUND) {
        rc = MD_OK;
    } else if (rc != MD_OK && err[0] == '\0') {
        snprintf(err, sizeof err, "%s", store_reader_errmsg(r));
    }
    if (rc == MD_OK) {
        finish(s);
        if (as_json) {
            print_json(s, r, check, stdout);
        } else {
            print_text(s, r, check, stdout);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "ccstream inspect: standard output: %s\n",
                    strerror(errno));
            status = 1;
        }
    } else {
        fprintf(stderr, "ccstream inspect: %s\n", err);
        status = 1;
    }
    free_ins(s);
    free(s);
    store_reader_close(r);
    return status;
}
