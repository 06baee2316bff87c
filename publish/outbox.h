/* outbox.h: the producer's durable state, one SQLite file: the bars not
 * yet acknowledged by the broker, as the records they go out as, and the
 * core's checkpoint (core/ckpt.h) with the capture seq it covers.
 *
 * Tables (docs/delivery.md, "The state file"):
 *   meta(key, value)               format
 *   outbox(first, n, data, added_ms)  a batch of n bars' records, ids
 *                                  first .. first + n - 1
 *   dead_letter(id, topic, key, value, headers, ts_ms, added_ms, error)
 *   ckpt_head(id = 0, seq, server_ns, written_ms, data)
 *   ckpt_stream(k, data)           one row per aggregator stream
 *
 * Batches added and batches done since the last commit are written with
 * a checkpoint, in one transaction (outbox_commit): a committed state
 * never holds a checkpoint whose bars are missing from the outbox, nor
 * the reverse. The checkpoint's cost follows what changed since the last
 * one, not how long the process has run. WAL, synchronous=FULL: a commit
 * survives a crash of the process or the machine. Shell code: SQLite
 * underneath, allocates. */
#ifndef PUBLISH_OUTBOX_H
#define PUBLISH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "record.h"

#define OUTBOX_FORMAT "ccstream-state-1"

struct outbox;

struct outbox_stats {
    uint64_t depth;         /* bars in batches not done */
    uint64_t added, done, dead; /* bars, since open */
    uint64_t checkpoints;   /* committed */
    uint64_t streams_written; /* records rewritten, over all of them */
    uint64_t bytes_written;   /* their bytes, head included */
    uint64_t last_streams, last_bytes; /* of the last one */
};

/* Open the state file at path, created if missing. MD_OK; MD_E_CORRUPT
 * (not a state file, or one SQLite cannot read); MD_E_VERSION (another
 * format); MD_E_IO; MD_E_NOMEM. errbuf names the file and the reason. */
int outbox_open(struct outbox **ob, const char *path, char *errbuf,
                size_t errlen);

/* Close (a NULL ob is fine). */
void outbox_close(struct outbox *ob);

/* Restore c (fresh from core_init) from the file's checkpoint; *seq is
 * the capture seq it covers. MD_OK; MD_E_NOTFOUND (no checkpoint yet:
 * c untouched); the restore's errors (ckpt.h), with errbuf saying which
 * record. */
int outbox_restore(struct outbox *ob, struct core *c, int64_t *seq,
                   char *errbuf, size_t errlen);

/* Write c's checkpoint, covering capture seq, with the batches added and
 * done since the last commit, in one transaction; then
 * core_ckpt_written(c). MD_OK; MD_E_IO (nothing of it kept: the last
 * commit stands; the rows since are lost with the process), errbuf says
 * why (a full disk, ...). */
int outbox_commit(struct outbox *ob, struct core *c, int64_t seq,
                  char *errbuf, size_t errlen);

/* The same, named for a caller with no rows. */
int outbox_checkpoint(struct outbox *ob, struct core *c, int64_t seq,
                      char *errbuf, size_t errlen);

/* A bar's record as the outbox keeps it: the topic, key, value and
 * headers, each after its length (2, 2, 4, 2 bytes, little-endian), then
 * the timestamp (8 bytes); headers as outbox_headers_pack writes them.
 * Its length into buf[0..cap), 0 if it does not fit. */
size_t outbox_record_pack(const char *topic, const struct pub_record *r,
                          unsigned char *buf, size_t cap);

/* A bar as read back: pointers into the batch, valid while it is. */
struct outbox_row {
    int64_t id;
    const char *topic; /* not NUL-terminated: topic_len bytes */
    size_t topic_len;
    const unsigned char *key, *value, *headers;
    size_t key_len, value_len, headers_len;
    int64_t ts_ms;
};

/* The record at p[0..len): MD_OK, its length in *used; MD_E_CORRUPT. */
int outbox_record_parse(const unsigned char *p, size_t len, size_t *used,
                        struct outbox_row *row);

/* A random name the file was given when it was made (16 hex digits):
 * tells a progress record of this file from one of a file made again. */
const char *outbox_file_id(const struct outbox *ob);

/* The id the next bar takes: ids count bars, ascending, never reused. */
int64_t outbox_next_id(const struct outbox *ob);

/* Ids below id are taken (a progress record names one): the next bar's
 * id is at least id. */
void outbox_raise_next_id(struct outbox *ob, int64_t id);

/* A batch: the records of bars first .. first + n - 1, one after another
 * in data[0..len), into the transaction the next commit ends. MD_OK;
 * MD_E_IO (errbuf says why). */
int outbox_put(struct outbox *ob, int64_t first, uint32_t n,
               const void *data, size_t len, char *errbuf, size_t errlen);

/* Every bar of batch first was acknowledged (or dead-lettered): the batch
 * is deleted by the next commit. MD_OK; MD_E_IO. */
int outbox_done(struct outbox *ob, int64_t first, uint32_t n);

/* A bar refused for good: its record into dead_letter with why, by the
 * next commit. MD_OK; MD_E_IO. */
int outbox_dead(struct outbox *ob, const struct outbox_row *row,
                const char *why);

/* Every committed batch, in id order, to fn (data[0..len): its records;
 * a non-zero return stops the walk and is returned). MD_OK; MD_E_IO. */
int outbox_batches(struct outbox *ob,
                   int (*fn)(void *ctx, int64_t first, uint32_t n,
                             const unsigned char *data, size_t len),
                   void *ctx);

/* A record's headers as the outbox keeps them (a name length byte, the
 * name, a 2-byte little-endian value length, the value; each header in
 * turn), into buf[0..cap): its length, 0 if it does not fit. */
size_t outbox_headers_pack(const struct pub_record *r, unsigned char *buf,
                           size_t cap);

const struct outbox_stats *outbox_stats(const struct outbox *ob);

#endif /* PUBLISH_OUTBOX_H */
