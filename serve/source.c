/* source.c: a capture (or a synth session) loaded as the market's
 * timeline for `ccstream serve`. See source.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "book.h"
#include "cc_decode.h"
#include "cc_json.h"
#include "md_err.h"
#include "md_parse.h"
#include "source.h"
#include "store.h"
#include "synth.h"

/* ---- growing arrays ------------------------------------------------------ */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 64;
    void *p;

    if (need <= *cap) {
        return MD_OK;
    }
    while (c < need) {
        c *= 2;
    }
    p = realloc(*v, c * size);
    if (p == NULL) {
        return MD_E_NOMEM;
    }
    *v = p;
    *cap = c;
    return MD_OK;
}

/* ---- hashing ---------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *p, size_t n, int fold)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (fold && c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
        }
        h = (h ^ c) * UINT64_C(1099511628211);
    }
    return h;
}

#define FNV0 UINT64_C(14695981039346656037)

/* The subscription's lookup hash: the market (second field) folded. */
static uint64_t sub_hash(const char *name, size_t len)
{
    uint64_t h = FNV0;
    size_t i, field = 0, start = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || name[i] == '~') {
            h = fnv(h, name + start, i - start, field == 1);
            h = fnv(h, "~", 1, 0);
            field++;
            start = i + 1;
        }
    }
    return h;
}

static int sub_eq(const char *a, const char *b, size_t blen)
{
    size_t i, field = 0;

    if (strlen(a) != blen) {
        return 0;
    }
    for (i = 0; i < blen; i++) {
        char x = a[i], y = b[i];
        if (x == '~') {
            field++;
        }
        if (field == 1 && x != '~') {
            if ((x | 0x20) != (y | 0x20) || ((x | 0x20) < 'a' ||
                                               (x | 0x20) > 'z')) {
                if (x != y) {
                    return 0;
                }
            }
        } else if (x != y) {
            return 0;
        }
    }
    return 1;
}

/* ---- the loader's state ------------------------------------------------- */

struct ld {
    struct src *s;
    size_t subs_cap, frames_cap, patches_cap, text_cap, rest_cap;
    uint32_t *sub_index;   /* open addressing: sub + 1, 0 empty */
    size_t sub_mask;
    uint64_t *ids;         /* trade identities kept (hash; 0 empty) */
    size_t ids_mask, n_ids;
    /* per connection: which subscriptions it has had a frame of */
    int64_t conn;
    uint8_t *seen;         /* [n_subs] for the current connection */
    size_t seen_cap;
    int64_t t_last;
    int64_t id_min, id_max;
    bool have_ids;
};

static int index_rebuild(struct ld *l)
{
    size_t n = 64, i;
    uint32_t *ix;

    while (n < l->s->n_subs * 4) {
        n *= 2;
    }
    ix = calloc(n, sizeof *ix);
    if (ix == NULL) {
        return MD_E_NOMEM;
    }
    for (i = 0; i < l->s->n_subs; i++) {
        const struct src_sub *u = &l->s->subs[i];
        size_t k = (size_t)sub_hash(u->name, strlen(u->name)) & (n - 1);
        while (ix[k] != 0) {
            k = (k + 1) & (n - 1);
        }
        ix[k] = (uint32_t)(i + 1);
    }
    free(l->sub_index);
    l->sub_index = ix;
    l->sub_mask = n - 1;
    return MD_OK;
}

static long find_sub(const struct src *s, const uint32_t *ix, size_t mask,
                     const char *name, size_t len)
{
    size_t k;

    if (ix == NULL) {
        return -1;
    }
    k = (size_t)sub_hash(name, len) & mask;
    while (ix[k] != 0) {
        const struct src_sub *u = &s->subs[ix[k] - 1];
        if (sub_eq(u->name, name, len)) {
            return (long)(ix[k] - 1);
        }
        k = (k + 1) & mask;
    }
    return -1;
}

static int copy_field(char *dst, size_t cap, const struct cc_str *v)
{
    size_t n = 0;

    if (v->len == 0 || v->len >= cap ||
        cc_str_unescape(v, dst, cap, &n) != MD_OK || n == 0 || n >= cap) {
        return -1;
    }
    dst[n] = '\0';
    if (memchr(dst, '~', n) != NULL) {
        return -1;
    }
    return 0;
}

/* The subscription of a data frame, added if new: its index, or -1 when
 * the names do not fit (the frame is then counted as undecodable). */
static long sub_of(struct ld *l, int type, const struct cc_str *market,
                   const struct cc_str *base, const struct cc_str *quote,
                   const struct cc_str *unit, int *rc)
{
    struct src_sub u;
    char name[SRC_SUB_MAX + 1];
    int n;
    long k;

    memset(&u, 0, sizeof u);
    *rc = MD_OK;
    u.type = type;
    if (copy_field(u.market, sizeof u.market, market) != 0 ||
        copy_field(u.base, sizeof u.base, base) != 0 ||
        copy_field(u.quote, sizeof u.quote, quote) != 0 ||
        (unit != NULL && copy_field(u.unit, sizeof u.unit, unit) != 0)) {
        return -1;
    }
    if (type == 24) {
        n = snprintf(name, sizeof name, "24~%s~%s~%s~%s", u.market, u.base,
                     u.quote, u.unit);
    } else {
        n = snprintf(name, sizeof name, "%d~%s~%s~%s", type, u.market,
                     u.base, u.quote);
    }
    if (n < 0 || (size_t)n >= sizeof name) {
        return -1;
    }
    k = find_sub(l->s, l->sub_index, l->sub_mask, name, (size_t)n);
    if (k >= 0) {
        return k;
    }
    memcpy(u.name, name, (size_t)n + 1);
    if ((*rc = grow((void **)&l->s->subs, &l->subs_cap, l->s->n_subs + 1,
                    sizeof u)) != MD_OK) {
        return -1;
    }
    l->s->subs[l->s->n_subs++] = u;
    if (l->s->n_subs * 2 > l->sub_mask) {
        if ((*rc = index_rebuild(l)) != MD_OK) {
            return -1;
        }
    } else {
        size_t h = (size_t)sub_hash(name, (size_t)n) & l->sub_mask;
        while (l->sub_index[h] != 0) {
            h = (h + 1) & l->sub_mask;
        }
        l->sub_index[h] = (uint32_t)l->s->n_subs;
    }
    if ((*rc = grow((void **)&l->seen, &l->seen_cap, l->s->n_subs, 1)) !=
        MD_OK) {
        return -1;
    }
    l->seen[l->s->n_subs - 1] = 0;
    return (long)(l->s->n_subs - 1);
}

/* A subscription named by a TYPE 16 (SUB): "T~MARKET~BASE~QUOTE[~UNIT]". */
static int sub_named(struct ld *l, const struct cc_str *sub)
{
    char buf[SRC_SUB_MAX + 1], *f[5];
    struct cc_str m, b, q, u;
    size_t n = 0, k = 0, i;
    int rc, type;

    if (sub->len == 0 || sub->len > SRC_SUB_MAX ||
        cc_str_unescape(sub, buf, sizeof buf, &n) != MD_OK) {
        return MD_OK;
    }
    buf[n] = '\0';
    f[k++] = buf;
    for (i = 0; i < n && k < 5; i++) {
        if (buf[i] == '~') {
            buf[i] = '\0';
            f[k++] = buf + i + 1;
        }
    }
    if (strcmp(f[0], "0") == 0 || strcmp(f[0], "2") == 0 ||
        strcmp(f[0], "5") == 0) {
        if (k != 4) {
            return MD_OK;
        }
    } else if (strcmp(f[0], "24") == 0) {
        if (k != 5) {
            return MD_OK;
        }
    } else {
        return MD_OK;
    }
    type = (int)strtol(f[0], NULL, 10);
    m = (struct cc_str){f[1], strlen(f[1]), false};
    b = (struct cc_str){f[2], strlen(f[2]), false};
    q = (struct cc_str){f[3], strlen(f[3]), false};
    u = (struct cc_str){k == 5 ? f[4] : "", k == 5 ? strlen(f[4]) : 0,
                        false};
    (void)sub_of(l, type, &m, &b, &q, type == 24 ? &u : NULL, &rc);
    return rc;
}

/* ---- patches: where a frame's times and ids are ---------------------- */

static int add_patch(struct ld *l, struct src_frame *f, size_t off,
                     size_t len, int kind)
{
    struct src *s = l->s;
    int rc;

    if (f->n_patch >= SRC_PATCH_MAX || len == 0 || len > 19) {
        return MD_OK;
    }
    if ((rc = grow((void **)&s->patches, &l->patches_cap, s->n_patches + 1,
                   sizeof *s->patches)) != MD_OK) {
        return rc;
    }
    if (f->n_patch == 0) {
        f->patch = (uint32_t)s->n_patches;
    }
    s->patches[s->n_patches].off = (uint32_t)off;
    s->patches[s->n_patches].len = (uint16_t)len;
    s->patches[s->n_patches].kind = (uint8_t)kind;
    s->n_patches++;
    f->n_patch++;
    return MD_OK;
}

static bool all_digits(const char *p, size_t n)
{
    size_t i;

    if (n == 0) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

static int64_t digits_value(const char *p, size_t n)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; i < n && i < 18; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Walk the top-level members of frame buf[0..len) and record where the
 * fields of its kind are. */
static int find_patches(struct ld *l, struct src_frame *f, const char *buf,
                        size_t len, int type)
{
    struct cc_json j;
    struct cc_str k;
    int rc;

    cc_json_init(&j, buf, len, NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return MD_OK;
    }
    while (cc_json_obj_next(&j, &k) == 1) {
        size_t start;
        int c = cc_json_peek(&j);
        int kind = 0;

        if (c < 0) {
            return MD_OK;
        }
        start = j.pos;
        if (cc_json_skip(&j) != MD_OK) {
            return MD_OK;
        }
        if (type == 0) {
            if (cc_str_eq(&k, "TS", 2) || cc_str_eq(&k, "RTS", 3)) {
                kind = SRC_P_SECONDS;
            } else if (cc_str_eq(&k, "ID", 2) || cc_str_eq(&k, "CCSEQ", 5)) {
                kind = SRC_P_ID;
            }
        } else if (type == 2 || type == 5) {
            if (cc_str_eq(&k, "LASTUPDATE", 10)) {
                kind = SRC_P_SECONDS;
            } else if (cc_str_eq(&k, "LASTTRADEID", 11)) {
                kind = SRC_P_ID;
            }
        } else if (type == 24) {
            if (cc_str_eq(&k, "TS", 2) || cc_str_eq(&k, "FIRSTTS", 7) ||
                cc_str_eq(&k, "LASTTS", 6)) {
                kind = SRC_P_SECONDS;
            }
        }
        if (kind != 0) {
            size_t vs = start, vl = j.pos - start;
            if (c == '"') {
                vs++;
                vl = vl >= 2 ? vl - 2 : 0;
            }
            if (!all_digits(buf + vs, vl)) {
                continue;
            }
            if (kind == SRC_P_ID && vl <= 18) {
                int64_t v = digits_value(buf + vs, vl);
                if (!l->have_ids || v < l->id_min) {
                    l->id_min = v;
                }
                if (!l->have_ids || v > l->id_max) {
                    l->id_max = v;
                }
                l->have_ids = true;
            }
            if ((rc = add_patch(l, f, vs, vl, kind)) != MD_OK) {
                return rc;
            }
        }
    }
    return MD_OK;
}

/* ---- trade identities -------------------------------------------------- */

/* 1 if the trade (sub, id) was kept already, else remember it and 0. */
static int id_seen(struct ld *l, long sub, const struct cc_str *id, int *rc)
{
    uint64_t h = fnv(fnv(FNV0, (const char *)&sub, sizeof sub, 0), id->p,
                     id->len, 0);
    size_t k;

    *rc = MD_OK;
    if (h == 0) {
        h = 1;
    }
    if ((l->n_ids + 1) * 2 > l->ids_mask) {
        size_t n = l->ids_mask ? (l->ids_mask + 1) * 2 : 4096, i;
        uint64_t *v = calloc(n, sizeof *v);
        if (v == NULL) {
            *rc = MD_E_NOMEM;
            return 0;
        }
        for (i = 0; l->ids != NULL && i <= l->ids_mask; i++) {
            if (l->ids[i] != 0) {
                size_t p = (size_t)l->ids[i] & (n - 1);
                while (v[p] != 0) {
                    p = (p + 1) & (n - 1);
                }
                v[p] = l->ids[i];
            }
        }
        free(l->ids);
        l->ids = v;
        l->ids_mask = n - 1;
    }
    k = (size_t)h & l->ids_mask;
    while (l->ids[k] != 0) {
        if (l->ids[k] == h) {
            return 1;
        }
        k = (k + 1) & l->ids_mask;
    }
    l->ids[k] = h;
    l->n_ids++;
    return 0;
}

/* ---- events ------------------------------------------------------------ */

static int add_frame(struct ld *l, const struct store_event *ev,
                     int64_t t_ns)
{
    struct src *s = l->s;
    struct cc_msg msg;
    struct src_frame f;
    const char *buf = ev->payload;
    size_t len = ev->payload_len;
    long sub;
    int rc = MD_OK, type;

    if (cc_ws_decode(buf, len, &msg, NULL) != MD_OK) {
        s->st.undecodable++;
        return MD_OK;
    }
    switch (msg.type) {
    case CC_T_TRADE:
        type = 0;
        sub = sub_of(l, 0, &msg.u.trade.market, &msg.u.trade.fsym,
                     &msg.u.trade.tsym, NULL, &rc);
        break;
    case CC_T_TICKER:
    case CC_T_CCCAGG:
        type = msg.type == CC_T_TICKER ? 2 : 5;
        sub = sub_of(l, type, &msg.u.ticker.market, &msg.u.ticker.fsym,
                     &msg.u.ticker.tsym, NULL, &rc);
        break;
    case CC_T_OHLC:
        type = 24;
        sub = sub_of(l, 24, &msg.u.ohlc.market, &msg.u.ohlc.fsym,
                     &msg.u.ohlc.tsym, &msg.u.ohlc.unit, &rc);
        break;
    case CC_T_SUB_COMPLETE:
        s->st.control++;
        return sub_named(l, &msg.u.ctl.sub);
    case CC_T_NONE:
    case CC_T_WELCOME:
    case CC_T_UNSUB_COMPLETE:
    case CC_T_UNSUB_ALL:
    case CC_T_LOAD_COMPLETE:
    case CC_T_HEARTBEAT:
    case CC_T_UNAUTHORIZED:
    case CC_T_RATE_LIMIT:
    case CC_T_ERROR:
    case CC_T_UNKNOWN:
    case CC_T__COUNT:
    default:
        s->st.control++;
        return MD_OK;
    }
    if (rc != MD_OK) {
        return rc;
    }
    if (sub < 0) {
        s->st.undecodable++;
        return MD_OK;
    }
    memset(&f, 0, sizeof f);
    if (type == 0) {
        int seen;
        if (msg.u.trade.id.len > 0) {
            seen = id_seen(l, sub, &msg.u.trade.id, &rc);
            if (rc != MD_OK) {
                return rc;
            }
            if (seen) {
                s->st.duplicates++;
                return MD_OK;
            }
        }
        if (l->seen[sub] == 0 && l->conn > 1) {
            f.flags |= SRC_F_REPLAY;
        }
    } else if (type == 2 || type == 5) {
        if (l->seen[sub] == 0) {
            f.flags |= SRC_F_SNAPSHOT;
        }
    }
    l->seen[sub] = 1;
    if ((rc = grow((void **)&s->text, &l->text_cap, s->text_len + len + 1,
                   1)) != MD_OK ||
        (rc = grow((void **)&s->frames, &l->frames_cap, s->n_frames + 1,
                   sizeof f)) != MD_OK) {
        return rc;
    }
    f.t_ns = t_ns;
    f.off = s->text_len;
    f.len = (uint32_t)len;
    f.sub = (uint32_t)sub;
    memcpy(s->text + s->text_len, buf, len);
    s->text[s->text_len + len] = '\0';
    s->text_len += len + 1;
    if ((rc = find_patches(l, &f, buf, len, type)) != MD_OK) {
        return rc;
    }
    s->frames[s->n_frames++] = f;
    s->subs[sub].n_frames++;
    s->st.data_frames++;
    return MD_OK;
}

static int load_rest(struct src *s, const char *path, int64_t wall0,
                     int64_t mono0, char *errbuf, size_t errlen)
{
    struct book b;
    size_t i, cap = 0;
    int rc;

    memset(&b, 0, sizeof b);
    if ((rc = book_load(&b, path, errbuf, errlen)) != MD_OK) {
        book_free(&b);
        return rc;
    }
    for (i = 0; i < b.n; i++) {
        struct src_rest r;
        struct store_event ev;
        char *body = NULL;
        size_t len = 0;

        memset(&r, 0, sizeof r);
        if ((rc = book_body(&b, &b.v[i], &body, &len)) != MD_OK) {
            snprintf(errbuf, errlen, "%s: cannot read the body of REST "
                     "answer %zu (%s)", path, i + 1, md_errname(rc));
            break;
        }
        r.t_ns = 0;
        if (store_event_at(b.rd, b.v[i].seq, &ev) == MD_OK) {
            r.t_ns = wall0 + (ev.mono_ns - mono0) - b.v[i].latency_ns;
        }
        r.key = strdup(b.v[i].key);
        r.status = b.v[i].status;
        r.body = body;
        r.len = len;
        if (r.key == NULL ||
            grow((void **)&s->rest, &cap, s->n_rest + 1, sizeof r) !=
                MD_OK) {
            free(r.key);
            free(body);
            rc = MD_E_NOMEM;
            snprintf(errbuf, errlen, "%s: out of memory", path);
            break;
        }
        s->rest[s->n_rest++] = r;
    }
    s->st.rest = s->n_rest;
    book_free(&b);
    return rc;
}

static int load_capture(struct src *s, const char *path, char *errbuf,
                        size_t errlen)
{
    struct store_reader *r = NULL;
    struct store_session sess;
    struct store_event ev;
    struct ld l;
    int64_t wall0, mono0;
    int rc;

    memset(&l, 0, sizeof l);
    l.s = s;
    if ((rc = store_reader_open(path, &r, errbuf, errlen)) != MD_OK) {
        return rc;
    }
    if ((rc = store_reader_session(r, 0, &sess)) != MD_OK) {
        snprintf(errbuf, errlen, "%s: no session in the capture", path);
        store_reader_close(r);
        return MD_E_CORRUPT;
    }
    wall0 = sess.started_wall_ns;
    mono0 = sess.started_mono_ns;
    s->start_ns = wall0;
    if ((rc = index_rebuild(&l)) != MD_OK) {
        goto out;
    }
    while ((rc = store_next(r, &ev)) == MD_OK) {
        int64_t t = wall0 + (ev.mono_ns - mono0);
        s->st.events++;
        if (t < l.t_last) {
            t = l.t_last; /* the timeline never goes back */
        }
        l.t_last = t;
        if (ev.kind == STORE_K_WS_CONNECT) {
            /* a new socket: its subscriptions start again */
            l.conn++;
            if (l.seen != NULL) {
                memset(l.seen, 0, s->n_subs);
            }
        }
        if (ev.kind == STORE_K_WS_TEXT && ev.dir == STORE_D_IN) {
            s->st.frames++;
            if ((rc = add_frame(&l, &ev, t)) != MD_OK) {
                snprintf(errbuf, errlen, "%s: event %" PRId64 ": %s", path,
                         ev.seq, md_strerror(rc));
                goto out;
            }
        }
    }
    if (rc != MD_E_NOTFOUND) {
        snprintf(errbuf, errlen, "%s", store_reader_errmsg(r));
        goto out;
    }
    rc = MD_OK;
    if (s->n_frames > 0) {
        s->first_ns = s->frames[0].t_ns;
        s->last_ns = s->frames[s->n_frames - 1].t_ns;
    }
    s->id_span = l.have_ids ? l.id_max - l.id_min + 1 : 0;
    store_reader_close(r);
    r = NULL;
    rc = load_rest(s, path, wall0, mono0, errbuf, errlen);
out:
    store_reader_close(r);
    free(l.sub_index);
    free(l.ids);
    free(l.seen);
    return rc;
}

/* ---- synth specifications ------------------------------------------- */

int src_synth_spec(const char *spec, struct synth_opts *o, char *errbuf,
                   size_t errlen)
{
    const char *p = spec;

    synth_opts_default(o);
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        const char *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p), kn, vn;
        const char *v;
        uint64_t u;
        char tmp[64];

        eq = memchr(p, '=', n);
        if (eq == NULL) {
            snprintf(errbuf, errlen, "synth:%s: '%.*s' is not NAME=VALUE "
                     "(minutes, seed, scenario, symbols, exchange, start)",
                     spec, (int)n, p);
            return MD_E_USAGE;
        }
        kn = (size_t)(eq - p);
        v = eq + 1;
        vn = n - kn - 1;
        if (vn >= sizeof tmp) {
            snprintf(errbuf, errlen, "synth:%s: the value of '%.*s' is too "
                     "long", spec, (int)kn, p);
            return MD_E_USAGE;
        }
        memcpy(tmp, v, vn);
        tmp[vn] = '\0';
        if (kn == 7 && memcmp(p, "minutes", 7) == 0) {
            if (md_parse_u64(v, vn, SYNTH_MINUTES_MAX, &u) != MD_OK ||
                u == 0) {
                snprintf(errbuf, errlen, "synth:%s: minutes must be 1 to "
                         "%d", spec, SYNTH_MINUTES_MAX);
                return MD_E_USAGE;
            }
            o->minutes = (uint32_t)u;
        } else if (kn == 4 && memcmp(p, "seed", 4) == 0) {
            if (md_parse_u64(v, vn, UINT64_MAX, &u) != MD_OK) {
                snprintf(errbuf, errlen, "synth:%s: seed must be a whole "
                         "number", spec);
                return MD_E_USAGE;
            }
            o->seed = u;
        } else if (kn == 8 && memcmp(p, "scenario", 8) == 0) {
            o->scenario = synth_scenario_from_name(tmp);
            if (o->scenario == SYNTH_SC_INVALID) {
                snprintf(errbuf, errlen, "synth:%s: no scenario '%s' (see "
                         "ccstream synth --list-scenarios)", spec, tmp);
                return MD_E_USAGE;
            }
        } else if (kn == 8 && memcmp(p, "exchange", 8) == 0) {
            if (synth_set_exchange(o, tmp, errbuf, errlen) != MD_OK) {
                return MD_E_USAGE;
            }
        } else if (kn == 5 && memcmp(p, "start", 5) == 0) {
            if (synth_parse_start(tmp, &o->start_s) != MD_OK) {
                snprintf(errbuf, errlen, "synth:%s: start must be unix "
                         "seconds or YYYY-MM-DDTHH:MM:SSZ", spec);
                return MD_E_USAGE;
            }
        } else if (kn == 7 && memcmp(p, "symbols", 7) == 0) {
            /* '+' separates the symbols: ',' separates the settings */
            static char list[64];
            size_t i;
            memcpy(list, tmp, vn + 1);
            for (i = 0; i < vn; i++) {
                if (list[i] == '+') {
                    list[i] = ',';
                }
            }
            if (synth_set_symbols(o, list, errbuf, errlen) != MD_OK) {
                return MD_E_USAGE;
            }
        } else {
            snprintf(errbuf, errlen, "synth:%s: unknown setting '%.*s' "
                     "(minutes, seed, scenario, symbols, exchange, start)",
                     spec, (int)kn, p);
            return MD_E_USAGE;
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return synth_opts_check(o, errbuf, errlen);
}

/* ---- the public functions ---------------------------------------------- */

int src_load(struct src *s, const char *source, const char *tmpdir,
             char *errbuf, size_t errlen)
{
    int rc;

    memset(s, 0, sizeof *s);
    if (source == NULL || *source == '\0') {
        snprintf(errbuf, errlen, "no source: give a capture file or "
                 "synth:minutes=N,seed=S");
        return MD_E_USAGE;
    }
    s->name = strdup(source);
    if (s->name == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    if (strncmp(source, "synth:", 6) == 0) {
        struct synth_opts o;
        char path[4096];
        const char *dir = tmpdir;
        int fd, n;

        s->synth = true;
        if ((rc = src_synth_spec(source + 6, &o, errbuf, errlen)) !=
            MD_OK) {
            src_free(s);
            return rc;
        }
        if (dir == NULL || *dir == '\0') {
            dir = getenv("TMPDIR");
        }
        if (dir == NULL || *dir == '\0') {
            dir = "/tmp";
        }
        n = snprintf(path, sizeof path, "%s/ccstream-serve-XXXXXX", dir);
        if (n < 0 || (size_t)n >= sizeof path || (fd = mkstemp(path)) < 0) {
            snprintf(errbuf, errlen, "%s: cannot create a temporary file "
                     "for the synth session: %s", dir, strerror(errno));
            src_free(s);
            return MD_E_IO;
        }
        close(fd);
        unlink(path); /* synth_write wants a path that does not exist */
        rc = synth_write(&o, path, NULL, errbuf, errlen);
        if (rc == MD_OK) {
            rc = load_capture(s, path, errbuf, errlen);
        }
        unlink(path);
        {
            char side[4200];
            snprintf(side, sizeof side, "%s-wal", path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", path);
            unlink(side);
        }
    } else {
        rc = load_capture(s, source, errbuf, errlen);
    }
    if (rc != MD_OK) {
        src_free(s);
        return rc;
    }
    return MD_OK;
}

void src_free(struct src *s)
{
    size_t i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < s->n_rest; i++) {
        free(s->rest[i].key);
        free(s->rest[i].body);
    }
    free(s->rest);
    free(s->subs);
    free(s->frames);
    free(s->patches);
    free(s->text);
    free(s->name);
    memset(s, 0, sizeof *s);
}

long src_find_sub(const struct src *s, const char *name, size_t len)
{
    size_t i;

    /* linear: subscribes are rare and sources hold few subscriptions */
    for (i = 0; i < s->n_subs; i++) {
        if (sub_eq(s->subs[i].name, name, len)) {
            return (long)i;
        }
    }
    return -1;
}

size_t src_frame_after(const struct src *s, int64_t t_ns)
{
    size_t lo = 0, hi = s->n_frames;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->frames[mid].t_ns <= t_ns) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* v in decimal into out (at least 21 bytes); its length. */
static int fmt_i64(int64_t v, char *out)
{
    char t[24];
    int n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        out[k++] = '-';
    }
    while (n > 0) {
        out[k++] = t[--n];
    }
    return k;
}

size_t src_render(const struct src *s, const struct src_frame *f,
                  int64_t shift_s, int64_t id_shift, char *out, size_t cap)
{
    const char *in = s->text + f->off;
    size_t at = 0, used = 0;
    unsigned i;

    if (f->n_patch == 0 || (shift_s == 0 && id_shift == 0)) {
        if (f->len > cap) {
            return 0;
        }
        memcpy(out, in, f->len);
        return f->len;
    }
    for (i = 0; i < f->n_patch; i++) {
        const struct src_patch *p = &s->patches[f->patch + i];
        int64_t add = p->kind == SRC_P_SECONDS ? shift_s : id_shift;
        size_t seg = p->off - at;
        char num[24];
        int n;

        if (used + seg > cap) {
            return 0;
        }
        memcpy(out + used, in + at, seg);
        used += seg;
        if (add == 0 || p->len > 18) {
            n = (int)p->len;
            memcpy(num, in + p->off, p->len);
        } else {
            n = fmt_i64(digits_value(in + p->off, p->len) + add, num);
        }
        if (n < 0 || used + (size_t)n > cap) {
            return 0;
        }
        memcpy(out + used, num, (size_t)n);
        used += (size_t)n;
        at = p->off + p->len;
    }
    if (used + (f->len - at) > cap) {
        return 0;
    }
    memcpy(out + used, in + at, f->len - at);
    return used + (f->len - at);
}

const struct src_rest *src_rest_find(const struct src *s, const char *key,
                                     int64_t t_ns)
{
    const struct src_rest *best = NULL, *first = NULL;
    size_t i;

    for (i = 0; i < s->n_rest; i++) {
        const struct src_rest *r = &s->rest[i];
        if (strcmp(r->key, key) != 0) {
            continue;
        }
        if (first == NULL) {
            first = r;
        }
        if (r->t_ns <= t_ns) {
            best = r;
        }
    }
    return best ? best : first;
}

size_t src_merged(const struct src *s, long sub, int64_t t,
                  struct src_member *m)
{
    size_t nm = 0, i, end = src_frame_after(s, t);

    for (i = 0; i < end; i++) {
        const struct src_frame *f = &s->frames[i];
        struct cc_json j;
        struct cc_str key;
        const char *buf;

        if (f->sub != (uint32_t)sub) {
            continue;
        }
        buf = src_payload(s, f);
        cc_json_init(&j, buf, f->len, NULL);
        if (cc_json_obj_begin(&j) != MD_OK) {
            continue;
        }
        while (cc_json_obj_next(&j, &key) == 1) {
            size_t start, x;
            if (cc_json_peek(&j) < 0) {
                break;
            }
            start = j.pos;
            if (cc_json_skip(&j) != MD_OK) {
                break;
            }
            for (x = 0; x < nm; x++) {
                if (m[x].kn == key.len &&
                    memcmp(m[x].k, key.p, key.len) == 0) {
                    break;
                }
            }
            if (x == nm) {
                if (nm == SRC_MERGE_MAX) {
                    continue;
                }
                m[nm].k = key.p;
                m[nm].kn = key.len;
                nm++;
            }
            m[x].v = buf + start;
            m[x].vn = j.pos - start;
        }
    }
    return nm;
}

const struct src_member *src_member_of(const struct src_member *m, size_t n,
                                       const char *k)
{
    size_t i, kl = strlen(k);

    for (i = 0; i < n; i++) {
        if (m[i].kn == kl && memcmp(m[i].k, k, kl) == 0) {
            return &m[i];
        }
    }
    return NULL;
}
