/* pump.h: the outbox between the core and the broker (docs/delivery.md).
 *
 * Every bar the core closes goes into the outbox (publish/outbox.h) at
 * once, as the record it goes out as; a commit writes those rows with the
 * core's checkpoint. To the core, the outbox is the publisher: a bar it
 * produces is reported delivered as soon as its row is committed, so the
 * core never waits for the broker and never holds bars for it. The pump
 * then sends committed rows the core has produced (so their topics
 * exist) to the broker through its own producer, in row order, and
 * deletes each row at the next commit after its acknowledgement. A row
 * refused for good moves to the dead letters; a fatal producer error
 * makes a new producer, which sends again every row not acknowledged, in
 * order. After a restart, the rows left are sent first, once their
 * topics are confirmed.
 *
 * At least once: a row acknowledged but not yet deleted when the process
 * dies is sent again after the restart, as the same bytes.
 *
 * Shell code: SQLite and librdkafka underneath; allocates. */
#ifndef PUBLISH_PUMP_H
#define PUBLISH_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "md_types.h"
#include "outbox.h"

struct pump;

/* The publish latency histogram: from a bar's entering the outbox to its
 * acknowledgement (exactly once: its transaction's commit), counted in
 * lat[b] for the first bound pump_latency_le_ms[b] it does not exceed,
 * lat[PUMP_LAT_N] beyond the last. Rows from before a restart count from
 * the restart. */
#define PUMP_LAT_N 13
extern const int64_t pump_latency_le_ms[PUMP_LAT_N];

struct pump_stats {
    uint64_t lat[PUMP_LAT_N + 1];
    uint64_t lat_sum_ms;
    uint64_t sent, acked, dead, resent, resets;
    uint64_t txns, aborts;  /* exactly once: committed, aborted */
    uint64_t skipped;       /* bars from before a progress record said
                               were committed: not sent again */
    uint64_t restored;   /* rows found in the outbox at open */
    uint64_t in_flight;  /* sent, not acknowledged */
    uint64_t pending;    /* in the outbox, not acknowledged */
};

/* Exactly once (docs/delivery.md): bars go in transactions of at most
 * PUMP_TXN_MAX, each also writing a progress record (key: the instance;
 * value: the state file's id and the last bar the transaction holds) to
 * the compacted topic PUMP_PROGRESS_TOPIC; a batch is deleted only after
 * the transaction holding its last bar committed. */
#define PUMP_TXN_MAX 10000
#define PUMP_TXN_MS 100 /* a transaction of fewer bars this long after the
                           last */
#define PUMP_PROGRESS_TOPIC "ccstream.progress"

/* A pump over ob (borrowed) sending with a producer made from ko (its
 * strings must outlive the pump; no_create and mock as for the core's
 * publisher), format the records' encoding (enum pub_format). Bars
 * already in ob are loaded, their topics asked for. With instance (not
 * NULL) exactly once: the producer's transactional.id is
 * "ccstream-INSTANCE"; opening fences a predecessor of that id, reads
 * the instance's progress record and drops the bars it says were
 * committed. MD_OK; pub_kafka_new's errors; MD_E_KAFKA; MD_E_IO. */
int pump_open(struct pump **p, struct outbox *ob,
              const struct pub_kafka_opts *ko, int format,
              const char *instance, char *errbuf, size_t errlen);

/* Flush the producer for up to timeout_ms, then free (NULL: no-op). What
 * was not acknowledged stays in the outbox. */
void pump_close(struct pump *p, int timeout_ms);

/* A topic bars will go to (the core asked for it): the producer learns
 * its partitions before the first of them is sent. */
void pump_warm(struct pump *p, const char *topic);

/* The core closed bar m: its record into the outbox (not committed yet).
 * MD_OK; MD_E_IO, MD_E_NOMEM, or an encoding error (errbuf says which
 * bar). */
int pump_closed(struct pump *p, const struct md_bar *m, char *errbuf,
                size_t errlen);

/* The core produced bar id: its row may go to the broker once
 * committed. MD_OK; MD_E_NOTFOUND (no row of that bar: a bug). */
int pump_produced(struct pump *p, uint64_t bar_id);

/* Commit (outbox_commit) if anything changed since the last commit:
 * rows, acknowledgements, or the core (force). MD_OK; MD_E_IO. */
int pump_commit(struct pump *p, struct core *c, int64_t seq, bool force,
                char *errbuf, size_t errlen);

/* Acknowledgements are committed (their rows deleted) in batches: after
 * PUMP_COMMIT_ACKS of them or PUMP_COMMIT_MS after the last commit, so a
 * restart sends again at most that much. */
#define PUMP_COMMIT_ACKS 4096
#define PUMP_COMMIT_MS 100

/* Something to commit, and a batch of acknowledgements is due. */
bool pump_commit_due(const struct pump *p);

/* Send what may go, then take the broker's answers for up to timeout_ms
 * (0: those ready); exactly once, a transaction is made and committed
 * here (waiting for the broker). MD_OK; MD_E_NOMEM; MD_E_KAFKA (exactly
 * once: the producer was fenced by another with the same instance, or a
 * transaction cannot be made: stop; errbuf of pump_error says why). */
int pump_run(struct pump *p, int timeout_ms);

/* Why pump_run failed. */
const char *pump_error(const struct pump *p);

/* The producer's event descriptor (pub_kafka_fd): readable when reports
 * wait; the live loop then calls pump_run(p, 0). */
int pump_fd(const struct pump *p);

/* The oldest row not acknowledged: when it entered the outbox (monotonic
 * ms), 0 if none. */
int64_t pump_oldest_ms(const struct pump *p);

/* Rows in flight or waiting to go (not acknowledged). */
uint64_t pump_pending(const struct pump *p);

void pump_stats(const struct pump *p, struct pump_stats *st);

#endif /* PUBLISH_PUMP_H */
