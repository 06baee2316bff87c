/* outbox.h: the producer's durable state, one SQLite file: the core's
 * checkpoint (core/ckpt.h) with the capture seq it covers.
 *
 * Tables (docs/delivery.md, "The state file"):
 *   meta(key, value)               format, created
 *   ckpt_head(id = 0, seq, server_ns, written_ms, data)
 *   ckpt_stream(k, data)           one row per aggregator stream
 *
 * A checkpoint is one transaction: the head and the streams that changed
 * since the last one (core_ckpt_changed), so its cost follows what
 * changed, not how long the process has run. WAL, synchronous=FULL: a
 * committed checkpoint survives a crash of the process or the machine.
 * Shell code: SQLite underneath, allocates. */
#ifndef PUBLISH_OUTBOX_H
#define PUBLISH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define OUTBOX_FORMAT "ccstream-state-1"

struct outbox;

struct outbox_stats {
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

/* Write c's checkpoint, covering capture seq, in one transaction; then
 * core_ckpt_written(c). MD_OK; MD_E_IO (nothing of it kept: the last
 * checkpoint stands), errbuf says why (a full disk, ...). */
int outbox_checkpoint(struct outbox *ob, struct core *c, int64_t seq,
                      char *errbuf, size_t errlen);

const struct outbox_stats *outbox_stats(const struct outbox *ob);

#endif /* PUBLISH_OUTBOX_H */
