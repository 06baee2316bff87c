/* ckpt.h: the core's checkpoint: what must survive a restart, as bytes.
 *
 * A checkpoint is a head and one record per aggregator stream:
 *
 *   head    the PRNG, the watermark, the aggregator's counters and
 *           reconnect gaps, the series' backfill owed, the publisher's
 *           counters, and the server time a restored core opens its gap
 *           from (the last time the connection was seen live);
 *   stream  one stream's key, its series (every bucket open or still
 *           revisable, with its revision), its trade-id dedupe window
 *           and its CCCAGG day-volume baseline.
 *
 * Not in it: the connection and REST machines (a restored core starts
 * them in their initial states), deadlines (they were on a dead
 * process's clock), the TYPE 5 merge states (every subscription starts
 * new snapshots anyway), and the bar store (bars not yet acknowledged
 * are the outbox's, publish/outbox.h). A restored core opens a reconnect
 * gap from the head's server time, so the minutes lost are backfilled
 * once it is live again, and plans no preflight.
 *
 * Incremental: a stream's record changes only when the stream does
 * (agg_changed), so a writer keeps the records by index and rewrites the
 * head and the changed streams (core_ckpt_changed), then clears the marks
 * (core_ckpt_written). The cost of a checkpoint follows what changed
 * since the last one, not the bars ever made.
 *
 * Format (docs/delivery.md, "The checkpoint"): little-endian integers,
 * doubles as their IEEE bits, strings as a length byte and the bytes;
 * each record starts with a tag and CKPT_FORMAT. A record from another
 * format, another set of intervals or dedupe size, or with any value out
 * of range is refused whole (MD_E_CORRUPT or MD_E_VERSION), never half
 * applied to a stream. Pure: no I/O, no allocation, no clock. */
#ifndef CKPT_H
#define CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define CKPT_FORMAT 1

/* The largest record of c's configuration: a buffer of this many bytes
 * holds the head or any stream. */
size_t core_ckpt_bound(const struct core *c);

/* The head into buf[0..cap): MD_OK and *len, or MD_E_FULL. */
int core_ckpt_head(const struct core *c, uint8_t *buf, size_t cap,
                   size_t *len);

/* Streams in the aggregator (records 0 .. n-1). */
unsigned core_ckpt_streams(const struct core *c);

/* Stream k's record: MD_OK and *len; MD_E_FULL; MD_E_RANGE (no stream
 * k). */
int core_ckpt_stream(const struct core *c, unsigned k, uint8_t *buf,
                     size_t cap, size_t *len);

/* Stream k changed since the last core_ckpt_written (or was never
 * written): its record is due. */
bool core_ckpt_changed(const struct core *c, unsigned k);

/* The changed streams' records are stored: clear the marks. */
void core_ckpt_written(struct core *c);

/* Restore into a core fresh from core_init with the checkpoint's
 * configuration (no step taken yet): the head, then every stream record
 * 0 .. n-1 in order, then core_restore_done. MD_OK; MD_E_CORRUPT (a
 * malformed record, a value out of range, a stream out of order);
 * MD_E_VERSION (another CKPT_FORMAT); MD_E_INVAL (another set of
 * intervals or dedupe size than this core's, more streams than it
 * holds); MD_E_STATE (the core has stepped). A failed restore leaves the
 * core unusable: initialise it again. */
int core_restore_head(struct core *c, const uint8_t *buf, size_t len);
int core_restore_stream(struct core *c, unsigned k, const uint8_t *buf,
                        size_t len);

/* Every stream the head counts was restored (else MD_E_CORRUPT); the
 * gap is opened. */
int core_restore_done(struct core *c);

#endif /* CKPT_H */
