/* pump.c: the outbox between the core and the broker (pump.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash.h"
#include "fsm_pub.h"
#include "md_err.h"
#include "pump.h"
#include "record.h"

/* Rows sent and not yet acknowledged, at most: librdkafka's own queue
 * (queue.buffering.max.messages, 100,000 by default) is the other bound;
 * a full queue waits for reports. */
#define MAX_IN_FLIGHT 100000

enum row_state {
    ROW_WAIT = 0, /* not sent (or to be sent again) */
    ROW_SENT,     /* with the producer, its report due */
    ROW_DONE      /* acknowledged or dead-lettered: popped at the head */
};

struct row {
    int64_t id;
    uint64_t bar_id;  /* 0: a row from before this process */
    uint8_t st;
    bool produced;    /* the core produced it: its topic exists */
    bool confirmed;   /* its topic is known to exist (rows from before) */
    int64_t ts_ms;
    size_t key_len, value_len, hdr_len;
    char *topic;      /* then key, value, headers: one allocation */
};

struct topic_wait {
    char *name;
    bool asked, ok;
};

struct pump {
    struct outbox *ob;
    struct pub_kafka *k;
    int format;
    struct row *q;         /* a ring of rows not done, in id order */
    size_t head, n, cap;
    size_t restored_left;  /* rows from before, at the front */
    size_t send_from;      /* offset from head: rows before are not
                              waiting */
    int64_t committed_upto;
    bool dirty;
    uint64_t acks_since;   /* acknowledged since the last commit */
    int64_t commit_ms;     /* when the last commit was (monotonic) */
    struct topic_wait *tw; /* topics of rows from before, to confirm */
    size_t n_tw;
    unsigned char value[65536];
    unsigned char hdr[1024];
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

static unsigned char *row_key(const struct row *r)
{
    return (unsigned char *)r->topic + strlen(r->topic) + 1;
}

static int push_row(struct pump *p, int64_t id, uint64_t bar_id,
                    const char *topic, const unsigned char *key, size_t kl,
                    const unsigned char *value, size_t vl,
                    const unsigned char *hdr, size_t hl, int64_t ts)
{
    size_t tl = strlen(topic);
    struct row *r;
    unsigned char *b;

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
    r->topic = malloc(tl + 1 + kl + vl + hl);
    if (r->topic == NULL) {
        return MD_E_NOMEM;
    }
    memcpy(r->topic, topic, tl + 1);
    b = (unsigned char *)r->topic + tl + 1;
    memcpy(b, key, kl);
    memcpy(b + kl, value, vl);
    memcpy(b + kl + vl, hdr, hl);
    r->id = id;
    r->bar_id = bar_id;
    r->key_len = kl;
    r->value_len = vl;
    r->hdr_len = hl;
    r->ts_ms = ts;
    p->n++;
    return MD_OK;
}

/* ---- rows from before ------------------------------------------------- */

static int load_row(void *ctx, const struct outbox_row *row)
{
    struct pump *p = ctx;
    size_t i;
    int rc = push_row(p, row->id, 0, row->topic, row->key, row->key_len,
                      row->value, row->value_len, row->headers,
                      row->headers_len, row->ts_ms);

    if (rc != MD_OK) {
        return rc;
    }
    at(p, p->n - 1)->produced = true;
    p->restored_left++;
    p->st.restored++;
    for (i = 0; i < p->n_tw; i++) {
        if (strcmp(p->tw[i].name, row->topic) == 0) {
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
    p->tw[p->n_tw].name = strdup(row->topic);
    p->tw[p->n_tw].asked = p->tw[p->n_tw].ok = false;
    if (p->tw[p->n_tw].name == NULL) {
        return MD_E_NOMEM;
    }
    p->n_tw++;
    return MD_OK;
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
        p->tw[i].asked = false; /* a failure is asked again */
        if (!ok) {
            fprintf(stderr, "outbox: topic %s of bars left from before: "
                    "%s (asked again)\n", name, why);
            return;
        }
        p->tw[i].ok = true;
        for (j = 0; j < p->restored_left; j++) {
            struct row *r = at(p, j);
            if (strcmp(r->topic, name) == 0) {
                r->confirmed = true;
            }
        }
        return;
    }
}

int pump_open(struct pump **pp, struct outbox *ob,
              const struct pub_kafka_opts *ko, int format, char *errbuf,
              size_t errlen)
{
    struct pump *p = calloc(1, sizeof *p);
    int rc;

    *pp = NULL;
    if (p == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    p->ob = ob;
    p->format = format;
    rc = pub_kafka_new(ko, &p->k, errbuf, errlen);
    if (rc == MD_OK) {
        rc = outbox_rows(ob, load_row, p);
        if (rc != MD_OK) {
            snprintf(errbuf, errlen, "the outbox's rows cannot be read "
                     "(%s)", md_strerror(rc));
        }
    }
    if (rc != MD_OK) {
        pump_close(p, 0);
        return rc;
    }
    p->committed_upto = p->n > 0 ? at(p, p->n - 1)->id : 0;
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
    for (i = 0; i < p->n; i++) {
        free(at(p, i)->topic);
    }
    for (i = 0; i < p->n_tw; i++) {
        free(p->tw[i].name);
    }
    free(p->tw);
    free(p->q);
    free(p);
}

/* ---- the core's side ---------------------------------------------------- */

int pump_closed(struct pump *p, const struct md_bar *m, char *errbuf,
                size_t errlen)
{
    struct pub_record r;
    size_t hl;
    int64_t id;
    int rc = pub_record_make(&m->bar, m->emit_ms, p->format, p->value,
                             sizeof p->value, &r);

    if (rc != MD_OK) {
        snprintf(errbuf, errlen, "bar %" PRIu64 " (%s %s-%s start_ms=%"
                 PRId64 "): no record can be made of it: %s", m->id,
                 m->bar.market, m->bar.base, m->bar.quote, m->bar.start_ms,
                 md_strerror(rc));
        return rc;
    }
    hl = outbox_headers_pack(&r, p->hdr, sizeof p->hdr);
    rc = outbox_add(p->ob, m->topic != NULL ? m->topic : "", &r, &id,
                    errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    p->dirty = true;
    return push_row(p, id, m->id, m->topic != NULL ? m->topic : "",
                    (const unsigned char *)r.key, r.key_len, r.value,
                    r.value_len, p->hdr, hl, r.timestamp_ms);
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
    return MD_OK;
}

int pump_commit(struct pump *p, struct core *c, int64_t seq, bool force,
                char *errbuf, size_t errlen)
{
    int rc;

    if (!p->dirty && !force) {
        return MD_OK;
    }
    rc = outbox_commit(p->ob, c, seq, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    crash_point(CRASH_COMMIT_AFTER);
    p->dirty = false;
    p->acks_since = 0;
    p->commit_ms = mono_ms();
    if (p->n > 0) {
        p->committed_upto = at(p, p->n - 1)->id;
    }
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
        free(at(p, 0)->topic);
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->restored_left -= p->restored_left > 0;
        p->send_from -= p->send_from > 0;
    }
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
        unsigned char *key;
        int rc;
        if (r->st != ROW_WAIT || !r->produced || !r->confirmed ||
            r->id > p->committed_upto) {
            continue;
        }
        key = row_key(r);
        rc = pub_kafka_produce_raw(p->k, r->topic, key, r->key_len,
                                   key + r->key_len, r->value_len,
                                   key + r->key_len + r->value_len,
                                   r->hdr_len, r->ts_ms, (uint64_t)r->id);
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

    fprintf(stderr, "outbox: the producer failed fatally (%s): a new one "
            "sends again every bar not acknowledged\n", why);
    pub_kafka_reset(p->k);
    p->st.resets++;
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
        reset(p, ev->reason);
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
        p->dirty = true;
        return outbox_ack(p->ob, r->id);
    case PUB_I_PUBLISH_REJECTED:
        fprintf(stderr, "outbox: dead letter: row %" PRId64 " topic %s: %s: "
                "refused for good, kept in the state file's dead_letter "
                "table\n", r->id, r->topic, ev->reason);
        r->st = ROW_DONE;
        p->st.dead++;
        p->dirty = true;
        return outbox_dead(p->ob, r->id, ev->reason);
    default:
        /* failed or refused at once: sent again, in its place */
        r->st = ROW_WAIT;
        if (ix < p->send_from) {
            p->send_from = ix;
        }
        return MD_OK;
    }
}

int pump_run(struct pump *p, int timeout_ms)
{
    struct pub_kafka_event ev;
    int got = 0, rc = MD_OK, wait = timeout_ms;

    ask_topics(p);
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
    return p->n;
}

int pump_fd(const struct pump *p)
{
    return pub_kafka_fd(p->k);
}

void pump_stats(const struct pump *p, struct pump_stats *st)
{
    *st = p->st;
    st->pending = p->n;
}
