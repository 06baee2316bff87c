/* kafka_int.h: what kafka.c and kafka_txn.c share: the publisher's
 * state and two helpers. Not for use outside publish/. */
#ifndef PUBLISH_KAFKA_INT_H
#define PUBLISH_KAFKA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "topic_cache.h"

#include "kafka.h"

#define VALUE_CAP 8192

struct admin_req;

struct pub_kafka {
    struct pub_kafka_opts o;
    struct admin_req *reqs; /* CreateTopics requests not answered */
    rd_kafka_t *rk;
    struct topic_cache topics; /* rk's topic handles, by name */
    /* the main queue: delivery reports (as batches: RD_KAFKA_EVENT_DR),
     * errors and Admin results, read by pub_kafka_next; it writes to
     * wake[1] when it stops being empty */
    rd_kafka_queue_t *q;
    rd_kafka_event_t *dr;   /* the delivery batch being handed out */
    size_t dr_left;         /* its messages not handed out yet */
    int wake[2];            /* pipe: pub_kafka_fd is wake[0] */
    bool dead;              /* fatal: reports of this handle are ignored */
    bool replace;           /* dead with nothing unsettled: replace it */
    size_t unsettled;       /* messages this handle took, not reported */
    int last_err;           /* the last error librdkafka goes on after */
    char last_why[512];
    size_t admin_pending;   /* topics asked for, not answered */
    /* events made here (refusals, topic results, a fatal error), handed
     * out before the queue's: a ring */
    struct pub_kafka_event *ev;
    size_t ev_head, ev_n, ev_cap;
    bool oom;
    unsigned char value[VALUE_CAP];
    struct pub_kafka_stats st;
};

/* rd_kafka_conf_set, its refusal into errbuf with the value blotted out
 * (pub_kafka_conf_error): MD_OK or MD_E_USAGE. */
int pub_kafka__conf_set(rd_kafka_conf_t *c, const char *name,
                        const char *value, char *errbuf, size_t errlen);

/* librdkafka's log callback: warnings and worse on stderr. */
void pub_kafka__log(const rd_kafka_t *rk, int level, const char *fac,
                    const char *buf);

#endif /* PUBLISH_KAFKA_INT_H */
