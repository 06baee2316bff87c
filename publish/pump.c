/* pump.c: the outbox between the core and the broker (pump.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash.h"
#include "fsm_pub.h"
#include "log.h"
#include "md_err.h"
#include "pump.h"
#include "record.h"

/* Rows sent and not yet acknowledged, at most: librdkafka's own queue
 * (queue.buffering.max.messages, 100,000 by default) is the other bound;
 * a full queue waits for reports. */
#define MAX_IN_FLIGHT 50000

enum row_state {
    ROW_WAIT = 0, /* not sent (or to be sent again) */
    ROW_SENT,     /* with the producer, its report due */
    ROW_DONE      /* acknowledged or dead-lettered: popped at the head */
};

/* A batch of records: the outbox's unit (one SQLite row), in memory until
 * every bar of it is done. The open chunk takes the bars closed since the
 * last commit. */
struct chunk {
    int64_t first;       /* the id of its first bar */
    uint32_t n, done;    /* bars; bars acknowledged or dead-lettered */
    bool stored;         /* written to the outbox (outbox_put) */
    unsigned char *data;
    size_t len, cap;
    struct chunk *next;  /* chunks in id order */
};

struct row {
    int64_t id;
    uint64_t bar_id;  /* 0: a row from before this process */
    uint8_t st;
    bool produced;    /* the core produced it: its topic exists */
    bool confirmed;   /* its topic is known to exist (rows from before) */
    bool rejected;    /* exactly once: refused for good in a transaction */
    int64_t born_ms;  /* when it entered the outbox (monotonic) */
    struct chunk *ck;
    size_t off;       /* its record in ck->data */
};

struct topic_wait {
    char *name;
    bool asked, ok;
};

struct pump {
    struct outbox *ob;
    struct pub_kafka *k;
    int format;
    struct chunk *head_ck, *open_ck; /* chunks not done; the open one */
    struct row *q;         /* a ring of rows not done, in id order */
    size_t head, n, cap;
    size_t restored_left;  /* rows from before, at the front */
    size_t send_from;      /* offset from head: rows before are not
                              waiting */
    uint64_t open_rows;    /* rows not done (the ring also holds done rows
                              behind one not done) */
    bool dirty;
    uint64_t acks_since;   /* acknowledged since the last commit */
    int64_t commit_ms;     /* when the last commit was (monotonic) */
    struct topic_wait *tw; /* topics of rows from before, to confirm */
    size_t n_tw;
    bool txn;              /* exactly once */
    char instance[128];    /* its progress record's key */
    int64_t *txn_ids;      /* the rows of the transaction being made */
    int64_t txn_ms;        /* when the last one ended (monotonic) */
    size_t n_txn, cap_txn;
    char err[512];
    unsigned char value[65536];
    unsigned char rec[65536 + 4096];
    char topic[PUB_TOPIC_MAX + 1];
    struct pump_stats st;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct row *at(struct pump *p, size_t i)
{
    return &p->q[(p->head + i) % p->cap];
}

/* A row's record, parsed from its chunk. */
static void record_of(const struct row *r, struct outbox_row *o)
{
    size_t used;

    (void)outbox_record_parse(r->ck->data + r->off, r->ck->len - r->off,
                              &used, o);
    o->id = r->id;
}

static struct chunk *chunk_new(struct pump *p, int64_t first)
{
    struct chunk *c = calloc(1, sizeof *c), **tail;

    if (c == NULL) {
        return NULL;
    }
    c->first = first;
    for (tail = &p->head_ck; *tail != NULL; tail = &(*tail)->next) {
    }
    *tail = c;
    return c;
}

static int chunk_append(struct chunk *c, const unsigned char *rec, size_t n)
{
    if (c->cap - c->len < n) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        unsigned char *d;
        while (cap - c->len < n) {
            cap *= 2;
        }
        d = realloc(c->data, cap);
        if (d == NULL) {
            return MD_E_NOMEM;
        }
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, rec, n);
    c->len += n;
    return MD_OK;
}

/* Free the chunks at the head every bar of which is done and popped. */
static void chunks_free(struct pump *p)
{
    while (p->head_ck != NULL && p->head_ck != p->open_ck &&
           p->head_ck->done == p->head_ck->n &&
           (p->n == 0 || at(p, 0)->ck != p->head_ck)) {
        struct chunk *c = p->head_ck;
        p->head_ck = c->next;
        free(c->data);
        free(c);
    }
}

static int push_row(struct pump *p, int64_t id, uint64_t bar_id,
                    struct chunk *ck, size_t off)
{
    struct row *r;

    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096, i;
        struct row *v = malloc(cap * sizeof *v);
        if (v == NULL) {
            return MD_E_NOMEM;
        }
        for (i = 0; i < p->n; i++) {
            v[i] = *at(p, i);
        }
        free(p->q);
        p->q = v;
        p->cap = cap;
        p->head = 0;
    }
    r = at(p, p->n);
    memset(r, 0, sizeof *r);
    r->id = id;
    r->bar_id = bar_id;
    r->ck = ck;
    r->off = off;
    r->born_ms = mono_ms();
    p->n++;
    p->open_rows++;
    return MD_OK;
}

static int row_done(struct pump *p, struct row *r);

const int64_t pump_latency_le_ms[PUMP_LAT_N] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};

/* Row r acknowledged: its time from the outbox to the broker's answer
 * (or its transaction's commit) into the histogram. */
static void latency(struct pump *p, const struct row *r)
{
    int64_t ms = mono_ms() - r->born_ms;
    unsigned b = 0;

    while (b < PUMP_LAT_N && ms > pump_latency_le_ms[b]) {
        b++;
    }
    p->st.lat[b]++;
    p->st.lat_sum_ms += (uint64_t)(ms > 0 ? ms : 0);
}
static void pop_done(struct pump *p);

/* ---- rows from before ------------------------------------------------- */

static int want_topic(struct pump *p, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < p->n_tw; i++) {
        if (strlen(p->tw[i].name) == len &&
            memcmp(p->tw[i].name, name, len) == 0) {
            return MD_OK;
        }
    }
    if (p->n_tw % 16 == 0) {
        struct topic_wait *v = realloc(p->tw, (p->n_tw + 16) * sizeof *v);
        if (v == NULL) {
            return MD_E_NOMEM;
        }
        p->tw = v;
    }
    p->tw[p->n_tw].name = strndup(name, len);
    p->tw[p->n_tw].asked = p->tw[p->n_tw].ok = false;
    if (p->tw[p->n_tw].name == NULL) {
        return MD_E_NOMEM;
    }
    p->n_tw++;
    return MD_OK;
}

/* A batch left by a run before: its bars go first, once their topics are
 * confirmed. */
static int load_batch(void *ctx, int64_t first, uint32_t n,
                      const unsigned char *data, size_t len)
{
    struct pump *p = ctx;
    struct chunk *c;
    size_t off = 0;
    uint32_t i;
    int rc;

    /* batches in id order, not overlapping: the ring is sorted by id */
    if (p->n > 0 && first <= at(p, p->n - 1)->id) {
        return MD_E_CORRUPT;
    }
    c = chunk_new(p, first);

    if (c == NULL || chunk_append(c, data, len) != MD_OK) {
        return MD_E_NOMEM;
    }
    c->n = n;
    c->stored = true;
    for (i = 0; i < n; i++) {
        struct outbox_row o;
        size_t used;
        if (outbox_record_parse(c->data + off, c->len - off, &used, &o) !=
                MD_OK ||
            o.topic_len == 0 || o.topic_len > PUB_TOPIC_MAX) {
            return MD_E_CORRUPT;
        }
        if ((rc = push_row(p, first + i, 0, c, off)) != MD_OK ||
            (rc = want_topic(p, o.topic, o.topic_len)) != MD_OK) {
            return rc;
        }
        at(p, p->n - 1)->produced = true;
        off += used;
    }
    p->restored_left += n;
    p->st.restored += n;
    return off == c->len ? MD_OK : MD_E_CORRUPT;
}

/* Ask the broker for the topics of rows from before (they exist, or are
 * made): their rows go once it answers. */
static void ask_topics(struct pump *p)
{
    const char *names[64];
    size_t i, n = 0;

    for (i = 0; i < p->n_tw; i++) {
        if (!p->tw[i].asked && !p->tw[i].ok && n < 64) {
            names[n++] = p->tw[i].name;
            p->tw[i].asked = true;
        }
    }
    if (n > 0) {
        for (i = 0; i < n; i++) {
            pub_kafka_warm(p->k, names[i]);
        }
        pub_kafka_ops.topic_create(p->k, 0, names, n);
    }
}

static void topic_answer(struct pump *p, const char *name, bool ok,
                         const char *why)
{
    size_t i, j;

    for (i = 0; i < p->n_tw; i++) {
        if (strcmp(p->tw[i].name, name) != 0) {
            continue;
        }
        if (p->tw[i].ok) {
            return; /* its rows are confirmed already */
        }
        p->tw[i].asked = false; /* a failure is asked again */
        if (!ok) {
            md_log(MD_LOG_WARN, "topic_failed", "outbox: topic %s of bars left from before: "
                    "%s (asked again)\n", name, why);
            return;
        }
        p->tw[i].ok = true;
        for (j = 0; j < p->restored_left; j++) {
            struct row *r = at(p, j);
            struct outbox_row o;
            record_of(r, &o);
            if (o.topic_len == strlen(name) &&
                memcmp(o.topic, name, o.topic_len) == 0) {
                r->confirmed = true;
            }
        }
        return;
    }
}

/* Exactly once, at the start: the progress topic made, the predecessor
 * fenced (its open transaction aborted), and the bars its last committed
 * transaction held dropped. */
static int txn_start(struct pump *p, const struct pub_kafka_opts *ko,
                     char *errbuf, size_t errlen)
{
    char val[128], fid[32];
    long long last = 0;
    size_t i;
    int rc = pub_kafka_topic_compacted(p->k, PUMP_PROGRESS_TOPIC, errbuf,
                                       errlen);

    if (rc == MD_OK) {
        pub_kafka_warm(p->k, PUMP_PROGRESS_TOPIC);
        rc = pub_kafka_txn_init(p->k, errbuf, errlen);
    }
    if (rc != MD_OK) {
        return rc;
    }
    rc = pub_kafka_last_value(ko, PUMP_PROGRESS_TOPIC, p->instance, val,
                              sizeof val, errbuf, errlen);
    if (rc == MD_E_NOTFOUND) {
        return MD_OK;
    }
    if (rc != MD_OK) {
        return rc;
    }
    /* "FILE_ID LAST": only a record of this very state file counts (a
     * file made again numbers its bars from 1 again) */
    if (sscanf(val, "%31s %lld", fid, &last) != 2 ||
        strcmp(fid, outbox_file_id(p->ob)) != 0) {
        return MD_OK;
    }
    /* ids up to last were used: never again */
    outbox_raise_next_id(p->ob, (int64_t)last + 1);
    for (i = 0; i < p->restored_left; i++) {
        struct row *r = at(p, i);
        if (r->id > last) {
            break;
        }
        r->st = ROW_DONE;
        p->st.skipped++;
        if ((rc = row_done(p, r)) != MD_OK) {
            snprintf(errbuf, errlen, "the outbox: %s", md_strerror(rc));
            return rc;
        }
    }
    pop_done(p);
    return MD_OK;
}

int pump_open(struct pump **pp, struct outbox *ob,
              const struct pub_kafka_opts *ko, int format,
              const char *instance, char *errbuf, size_t errlen)
{
    struct pump *p = calloc(1, sizeof *p);
    struct pub_kafka_opts o;
    char tid[160];
    int rc;

    *pp = NULL;
    if (p == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    p->ob = ob;
    p->format = format;
    o = *ko;
    if (instance != NULL) {
        p->txn = true;
        snprintf(p->instance, sizeof p->instance, "%s", instance);
        snprintf(tid, sizeof tid, "ccstream-%s", instance);
        o.transactional_id = tid; /* copied by librdkafka at once */
    }
    rc = pub_kafka_new(&o, &p->k, errbuf, errlen);
    if (rc == MD_OK) {
        rc = outbox_batches(ob, load_batch, p);
        if (rc != MD_OK) {
            snprintf(errbuf, errlen, "the outbox's bars cannot be read "
                     "(%s)", md_strerror(rc));
        }
    }
    if (rc == MD_OK && p->txn) {
        rc = txn_start(p, ko, errbuf, errlen);
    }
    if (rc != MD_OK) {
        pump_close(p, 0);
        return rc;
    }
    ask_topics(p);
    *pp = p;
    return MD_OK;
}

void pump_close(struct pump *p, int timeout_ms)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    pub_kafka_free(p->k, timeout_ms);
    while (p->head_ck != NULL) {
        struct chunk *c = p->head_ck;
        p->head_ck = c->next;
        free(c->data);
        free(c);
    }
    for (i = 0; i < p->n_tw; i++) {
        free(p->tw[i].name);
    }
    free(p->tw);
    free(p->q);
    free(p->txn_ids);
    free(p);
}

/* ---- the core's side ---------------------------------------------------- */

void pump_warm(struct pump *p, const char *topic)
{
    pub_kafka_warm(p->k, topic);
}

int pump_closed(struct pump *p, const struct md_bar *m, char *errbuf,
                size_t errlen)
{
    struct pub_record r;
    size_t len, off;
    int rc = pub_record_make(&m->bar, m->emit_ms, p->format, p->value,
                             sizeof p->value, &r);

    if (rc == MD_OK &&
        (len = outbox_record_pack(m->topic != NULL ? m->topic : "", &r,
                                  p->rec, sizeof p->rec)) == 0) {
        rc = MD_E_FULL;
    }
    if (rc != MD_OK) {
        snprintf(errbuf, errlen, "bar %" PRIu64 " (%s %s-%s start_ms=%"
                 PRId64 "): no record can be made of it: %s", m->id,
                 m->bar.market, m->bar.base, m->bar.quote, m->bar.start_ms,
                 md_strerror(rc));
        return rc;
    }
    if (p->open_ck == NULL) {
        int64_t first = p->n > 0 ? at(p, p->n - 1)->id + 1
                                 : outbox_next_id(p->ob);
        if (first < outbox_next_id(p->ob)) {
            first = outbox_next_id(p->ob);
        }
        if ((p->open_ck = chunk_new(p, first)) == NULL) {
            return MD_E_NOMEM;
        }
    }
    off = p->open_ck->len;
    if ((rc = chunk_append(p->open_ck, p->rec, len)) != MD_OK) {
        return rc;
    }
    rc = push_row(p, p->open_ck->first + p->open_ck->n, m->id, p->open_ck,
                  off);
    if (rc != MD_OK) {
        p->open_ck->len = off; /* no stray record in the batch */
        return rc;
    }
    p->open_ck->n++;
    p->dirty = true;
    return MD_OK;
}

int pump_produced(struct pump *p, uint64_t bar_id)
{
    size_t lo = p->restored_left, hi = p->n;

    /* rows of this process are in bar order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(p, mid)->bar_id < bar_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == p->n || at(p, lo)->bar_id != bar_id) {
        return MD_E_NOTFOUND;
    }
    at(p, lo)->produced = true;
    at(p, lo)->confirmed = true; /* the core had its topic made */
    if (p->restored_left > 0 && p->n_tw > 0) {
        /* bars from before of that topic go first, in order */
        struct outbox_row o;
        record_of(at(p, lo), &o);
        memcpy(p->topic, o.topic, o.topic_len);
        p->topic[o.topic_len] = '\0';
        topic_answer(p, p->topic, true, NULL);
    }
    return MD_OK;
}

int pump_commit(struct pump *p, struct core *c, int64_t seq, bool force,
                char *errbuf, size_t errlen)
{
    struct chunk *put;
    int rc;

    if (!p->dirty && !force) {
        return MD_OK;
    }
    put = p->open_ck;
    if (put != NULL) {
        /* the bars closed since the last commit: one batch */
        rc = outbox_put(p->ob, put->first, put->n, put->data, put->len,
                        errbuf, errlen);
        if (rc != MD_OK) {
            return rc;
        }
    }
    rc = outbox_commit(p->ob, c, seq, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    if (put != NULL) {
        /* committed: its bars may go */
        put->stored = true;
        p->open_ck = NULL;
    }
    crash_point(CRASH_COMMIT_AFTER);
    p->dirty = false;
    p->acks_since = 0;
    p->commit_ms = mono_ms();
    return MD_OK;
}

bool pump_commit_due(const struct pump *p)
{
    return p->dirty && (p->acks_since >= PUMP_COMMIT_ACKS ||
                        mono_ms() - p->commit_ms >= PUMP_COMMIT_MS);
}

/* ---- the broker's side -------------------------------------------------- */

static void pop_done(struct pump *p)
{
    while (p->n > 0 && at(p, 0)->st == ROW_DONE) {
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->restored_left -= p->restored_left > 0;
        p->send_from -= p->send_from > 0;
    }
    chunks_free(p);
}

static struct row *find(struct pump *p, int64_t id, size_t *ix)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(p, mid)->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == p->n || at(p, lo)->id != id) {
        return NULL;
    }
    *ix = lo;
    return at(p, lo);
}

static void send_some(struct pump *p)
{
    size_t i;

    while (p->send_from < p->n && at(p, p->send_from)->st != ROW_WAIT) {
        p->send_from++;
    }
    for (i = p->send_from; i < p->n && p->st.in_flight < MAX_IN_FLIGHT;
         i++) {
        struct row *r = at(p, i);
        struct outbox_row o;
        int rc;
        if (!r->ck->stored) {
            break; /* the open batch and what follows: not committed */
        }
        if (r->st != ROW_WAIT || !r->produced || !r->confirmed) {
            continue;
        }
        record_of(r, &o);
        if (o.topic_len > PUB_TOPIC_MAX) {
            continue; /* cannot be: the core's topics are shorter */
        }
        memcpy(p->topic, o.topic, o.topic_len);
        p->topic[o.topic_len] = '\0';
        rc = pub_kafka_produce_raw(p->k, p->topic, o.key, o.key_len,
                                   o.value, o.value_len, o.headers,
                                   o.headers_len, o.ts_ms, (uint64_t)r->id);
        if (rc != MD_OK) {
            break; /* a full queue waits for reports; a dead producer for
                      its fatal error's event */
        }
        r->st = ROW_SENT;
        p->st.sent++;
        p->st.in_flight++;
        crash_point(CRASH_PRODUCE);
    }
}

static void reset(struct pump *p, const char *why)
{
    size_t i;

    md_log(MD_LOG_WARN, "producer_reset", "outbox: the producer failed fatally (%s): a new one "
            "sends again every bar not acknowledged\n", why);
    pub_kafka_reset(p->k);
    p->st.resets++;
    for (i = 0; i < p->n_tw; i++) {
        p->tw[i].asked = false; /* the old producer's requests are gone */
    }
    for (i = 0; i < p->n; i++) {
        struct row *r = at(p, i);
        if (r->st == ROW_SENT) {
            r->st = ROW_WAIT;
            p->st.resent++;
        }
    }
    p->st.in_flight = 0;
    p->send_from = 0;
}

/* A bar done: its batch is deleted by the next commit once all are. */
static int row_done(struct pump *p, struct row *r)
{
    struct chunk *c = r->ck;

    p->dirty = true;
    p->open_rows--;
    if (++c->done == c->n && c->stored) {
        return outbox_done(p->ob, c->first, c->n);
    }
    return MD_OK;
}

static int answer(struct pump *p, const struct pub_kafka_event *ev)
{
    struct row *r;
    size_t ix;

    if (ev->kind == PKE_TOPIC) {
        topic_answer(p, ev->topic, ev->input == PUB_I_TOPIC_CREATED,
                     ev->reason);
        return MD_OK;
    }
    if (ev->input == PUB_I_PRODUCER_FATAL) {
        if (p->txn) {
            /* fenced by another producer of this instance, or dead: a new
             * one would fence it back; stop */
            snprintf(p->err, sizeof p->err, "the transactional producer "
                     "failed fatally: %s (another producer with "
                     "transactional.id ccstream-%s?)", ev->reason,
                     p->instance);
            return MD_E_KAFKA;
        }
        reset(p, ev->reason);
        return MD_OK;
    }
    if (p->txn) {
        /* the transaction's commit decides, not a report; but a bar
         * refused for good would make every commit fail: it is
         * dead-lettered when the transaction is aborted */
        if (ev->input == PUB_I_PUBLISH_REJECTED &&
            (r = find(p, (int64_t)ev->bar_id, &ix)) != NULL) {
            r->rejected = true;
            snprintf(p->err, sizeof p->err, "%s", ev->reason);
        }
        return MD_OK;
    }
    r = find(p, (int64_t)ev->bar_id, &ix);
    if (r == NULL || r->st != ROW_SENT) {
        return MD_OK; /* a dead producer's late report */
    }
    p->st.in_flight--;
    switch (ev->input) {
    case PUB_I_PUBLISH_SUCCESS:
        crash_point(CRASH_ACK);
        r->st = ROW_DONE;
        p->st.acked++;
        p->acks_since++;
        latency(p, r);
        return row_done(p, r);
    case PUB_I_PUBLISH_REJECTED: {
        struct outbox_row o;
        int rc;
        record_of(r, &o);
        md_log(MD_LOG_ERROR, "dead_letter", "outbox: dead letter: bar %" PRId64 " topic %.*s: "
                "%s: refused for good, kept in the state file's "
                "dead_letter table\n", r->id, (int)o.topic_len, o.topic,
                ev->reason);
        r->st = ROW_DONE;
        p->st.dead++;
        rc = outbox_dead(p->ob, &o, ev->reason);
        return rc == MD_OK ? row_done(p, r) : rc;
    }
    default:
        /* failed or refused at once: sent again, in its place */
        r->st = ROW_WAIT;
        if (ix < p->send_from) {
            p->send_from = ix;
        }
        return MD_OK;
    }
}

/* Exactly once: one transaction of the bars that may go, committed with
 * the progress record naming its last bar. */
static int txn_send(struct pump *p)
{
    char val[64];
    int64_t last = 0;
    size_t i, k;
    bool fatal = false;
    int rc;

    p->n_txn = 0;
    for (i = 0; i < p->n && p->n_txn < PUMP_TXN_MAX; i++) {
        struct row *r = at(p, i);
        if (r->st == ROW_DONE) {
            continue;
        }
        /* a transaction is a prefix of the bars not done: its progress
         * record's last bar says every bar before it is in Kafka */
        if (!r->ck->stored || r->st != ROW_WAIT || !r->produced ||
            !r->confirmed) {
            break;
        }
        if (p->n_txn == p->cap_txn) {
            size_t cap = p->cap_txn ? p->cap_txn * 2 : 1024;
            int64_t *v = realloc(p->txn_ids, cap * sizeof *v);
            if (v == NULL) {
                return MD_E_NOMEM;
            }
            p->txn_ids = v;
            p->cap_txn = cap;
        }
        p->txn_ids[p->n_txn++] = r->id;
    }
    /* a full transaction at once, else what there is every PUMP_TXN_MS:
     * fewer, larger transactions */
    if (p->n_txn == 0 ||
        (p->n_txn < PUMP_TXN_MAX && mono_ms() - p->txn_ms < PUMP_TXN_MS)) {
        return MD_OK;
    }
    if ((rc = pub_kafka_txn_begin(p->k, p->err, sizeof p->err)) != MD_OK) {
        return rc;
    }
    for (k = 0; k < p->n_txn; k++) {
        struct row *r = find(p, p->txn_ids[k], &i);
        struct outbox_row o;
        record_of(r, &o);
        memcpy(p->topic, o.topic, o.topic_len); /* checked at load */
        p->topic[o.topic_len] = '\0';
        while ((rc = pub_kafka_produce_raw(
                    p->k, p->topic, o.key, o.key_len, o.value, o.value_len,
                    o.headers, o.headers_len, o.ts_ms, (uint64_t)r->id)) ==
               MD_E_FULL) {
            struct pub_kafka_event ev;
            int got = pub_kafka_next(p->k, 10, &ev); /* room, by reports */
            if (got < 0) {
                return MD_E_NOMEM;
            }
            if (got == 1 && (rc = answer(p, &ev)) != MD_OK) {
                return rc;
            }
        }
        if (rc != MD_OK) {
            break; /* a fatal error: its event stops the pump */
        }
        r->st = ROW_SENT;
        p->st.sent++;
        last = r->id;
        crash_point(CRASH_PRODUCE);
    }
    if (rc == MD_OK) {
        snprintf(val, sizeof val, "%s %lld", outbox_file_id(p->ob),
                 (long long)last);
        rc = pub_kafka_produce_raw(p->k, PUMP_PROGRESS_TOPIC,
                                   (const unsigned char *)p->instance,
                                   strlen(p->instance),
                                   (const unsigned char *)val, strlen(val),
                                   NULL, 0, 0, 0);
    }
    /* the commit needs every report read first (they come as events,
     * read here): a report says nothing yet, the commit decides */
    while (rc == MD_OK && pub_kafka_in_queue(p->k) > 0) {
        struct pub_kafka_event ev;
        int got = pub_kafka_next(p->k, 100, &ev);
        if (got < 0) {
            return MD_E_NOMEM;
        }
        if (got == 1) {
            rc = answer(p, &ev);
        }
    }
    if (rc == MD_OK) {
        crash_point(CRASH_TXN_COMMIT);
        rc = pub_kafka_txn_commit(p->k, &fatal, p->err, sizeof p->err);
    } else {
        snprintf(p->err, sizeof p->err, "the transactional producer "
                 "failed while producing");
        fatal = true;
    }
    p->txn_ms = mono_ms();
    if (rc == MD_OK) {
        p->st.txns++;
        for (k = 0; k < p->n_txn; k++) {
            struct row *r = find(p, p->txn_ids[k], &i);
            if (k == 0) {
                crash_point(CRASH_ACK);
            }
            r->st = ROW_DONE;
            p->st.acked++;
            p->acks_since++;
            latency(p, r);
            if ((rc = row_done(p, r)) != MD_OK) {
                return rc;
            }
        }
        return MD_OK;
    }
    if (fatal) {
        return MD_E_KAFKA;
    }
    /* aborted: its bars go again, in the next transaction */
    p->st.aborts++;
    md_log(MD_LOG_WARN, "txn_aborted", "outbox: %s: its %zu bars go again\n", p->err,
            p->n_txn);
    for (k = 0; k < p->n_txn; k++) {
        struct row *r = find(p, p->txn_ids[k], &i);
        if (r->rejected) {
            struct outbox_row o;
            record_of(r, &o);
            md_log(MD_LOG_ERROR, "dead_letter", "outbox: dead letter: bar %" PRId64 " topic "
                    "%.*s: refused for good, kept in the state file's "
                    "dead_letter table\n", r->id, (int)o.topic_len,
                    o.topic);
            r->st = ROW_DONE;
            p->st.dead++;
            if ((rc = outbox_dead(p->ob, &o, "refused for good")) != MD_OK ||
                (rc = row_done(p, r)) != MD_OK) {
                return rc;
            }
            continue;
        }
        if (r->st == ROW_SENT) {
            r->st = ROW_WAIT;
            p->st.resent++;
        }
    }
    return MD_OK;
}

const char *pump_error(const struct pump *p)
{
    return p->err;
}

int pump_run(struct pump *p, int timeout_ms)
{
    struct pub_kafka_event ev;
    int got = 0, rc = MD_OK, wait = timeout_ms;

    ask_topics(p);
    if (p->txn) {
        /* reports and topic answers first (a transaction waits for
         * them), then the transaction */
        while ((got = pub_kafka_next(p->k, 0, &ev)) == 1) {
            if ((rc = answer(p, &ev)) != MD_OK) {
                return rc;
            }
        }
        if (got < 0) {
            return MD_E_NOMEM;
        }
        if (p->acks_since < PUMP_COMMIT_ACKS &&
            (rc = txn_send(p)) != MD_OK) {
            return rc;
        }
        if ((got = pub_kafka_next(p->k, wait, &ev)) == 1) {
            rc = answer(p, &ev);
        }
        pop_done(p);
        return got < 0 ? MD_E_NOMEM : rc;
    }
    send_some(p);
    /* at most a commit's batch of acknowledgements at a time: the caller
     * commits them before taking more */
    while (p->acks_since < PUMP_COMMIT_ACKS &&
           (got = pub_kafka_next(p->k, wait, &ev)) == 1) {
        wait = 0;
        rc = answer(p, &ev);
        if (rc != MD_OK) {
            break;
        }
    }
    pop_done(p);
    send_some(p);
    return got < 0 ? MD_E_NOMEM : rc;
}

uint64_t pump_pending(const struct pump *p)
{
    return p->open_rows;
}

void pump_stats(const struct pump *p, struct pump_stats *st)
{
    *st = p->st;
    st->pending = p->open_rows;
}

int pump_fd(const struct pump *p)
{
    return pub_kafka_fd(p->k);
}

int64_t pump_oldest_ms(const struct pump *p)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        const struct row *r = &p->q[(p->head + i) % p->cap];
        if (r->st != ROW_DONE) {
            return r->born_ms;
        }
    }
    return 0;
}
