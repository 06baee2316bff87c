/* bar_codec.h: the wire encodings of a bar (JSON and msgpack) and its
 * Kafka message key. docs/bars.md is the reference for both formats.
 *
 * Shell-side (codec/, not core/): msgpack is msgpack-c's. No I/O, no
 * clock, no locale changes (strtod and snprintf run in the C locale the
 * program never leaves). Every function writes only into caller buffers
 * and reads inputs only inside [0, len); only bar_from_msgpack allocates
 * (msgpack-c's objects, freed before it returns). */
#ifndef BAR_CODEC_H
#define BAR_CODEC_H

#include <stddef.h>

#include "bar.h"
#include "md_err.h"

/* Buffer sizes that always suffice for one encoded bar (the worst case,
 * every string at its longest and fully \u-escaped, is checked by
 * tests/test_bar_codec.c). BAR_JSON_MAX includes the NUL. */
#define BAR_JSON_MAX 2048
#define BAR_MSGPACK_MAX 1024
#define BAR_KEY_MAX 128

/* All functions here are reentrant: no static mutable state. */

/* ---------------------------------------------------------------------
 * What every encoder checks first (the same rules the decoders enforce,
 * so anything decoded re-encodes, and anything encoded decodes):
 *   - market, base, quote: NUL-terminated inside their arrays, non-empty,
 *     valid UTF-8 (first_id/last_id likewise, but may be empty);
 *   - interval_s > 0; source and close_reason are named values (not
 *     *_INVALID, not >= *__COUNT);
 *   - flags and has carry no unknown bits;
 *   - every present double (open, high, low, close, vwap) is finite.
 * A violation is MD_E_RANGE (MD_E_INVAL for NULL pointers). Fields whose
 * has bit is clear are neither checked nor written.
 * ------------------------------------------------------------------- */

/* Encode b as one JSON object: no whitespace, no trailing newline, keys
 * in the fixed order of docs/bars.md with "v" first, absent optional
 * fields omitted. Doubles are the shortest text that strtod reads back to
 * the same bits; volumes are exact decimals. Writes *len bytes plus a
 * terminating NUL into buf[0..cap).
 * Returns MD_OK; MD_E_FULL when cap < *len + 1 (then *len is the length
 * the object needs, without the NUL, and buf holds an unterminated
 * prefix); MD_E_RANGE / MD_E_INVAL (see above; *len = 0). b is only read.
 * Deterministic: equal bars give identical bytes. With cap >= BAR_JSON_MAX
 * (the fast path: keys and numbers written in place, about twice as fast)
 * a few bytes after the NUL may be changed too. */
int bar_to_json(const struct bar *b, char *buf, size_t cap, size_t *len);

/* Decode one JSON object from buf[0..len) (not NUL-terminated; never read
 * past len) into *b. Keys in any order; whitespace allowed; unknown keys
 * skipped whatever their value, within the scanner's limits (nesting up to
 * CC_JSON_MAX_DEPTH = 64, number tokens up to 128 characters). Optional
 * fields absent: their has bit is clear and the fields are zero. Always
 * fully overwrites *b on MD_OK and leaves it untouched on failure.
 * Integers may be spelled with a zero fraction or an exponent ("1.0",
 * "6e1"); volumes in any exact spelling ("12.50", "1.25e1").
 * Returns MD_OK or:
 *   MD_E_VERSION  "v" is greater than BAR_VERSION (reported in preference
 *                 to any other error as long as the "v" member is
 *                 well-formed and reachable);
 *   MD_E_TRUNC    the input ends early (*err_off = len);
 *   MD_E_PROTO    malformed JSON, wrong type, duplicate key, unknown
 *                 source/close_reason/flag name, a required key missing,
 *                 an optional group incomplete (open without close...),
 *                 "interval" not matching "interval_s", a string with NUL
 *                 or invalid UTF-8, trailing bytes after the object;
 *   MD_E_RANGE    a number that does not fit its field, a volume with
 *                 more significant fractional digits than its scale, a
 *                 string longer than its field, interval_s <= 0.
 * *err_off (may be NULL) is set to the byte offset of the offending value
 * (0 when the object as a whole is at fault), or to 0 on success. */
int bar_from_json(const char *buf, size_t len, struct bar *b,
                  size_t *err_off);

/* Encode b as one msgpack map with the same keys, order and presence as
 * the JSON form, through msgpack-c's packer. Integers use their smallest
 * msgpack form, doubles and volumes float64, strings str, flags an array
 * of str. Volumes are exact only to the ~15-17 significant digits of a
 * double (the JSON form is always exact). No NUL is written.
 * Returns MD_OK; MD_E_FULL when cap < *len (then *len is the size needed);
 * MD_E_RANGE / MD_E_INVAL (see above; *len = 0). */
int bar_to_msgpack(const struct bar *b, unsigned char *buf, size_t cap,
                   size_t *len);

/* Decode one msgpack map from buf[0..len) into *b, by the same rules as
 * bar_from_json (codes, presence, err_off, *b untouched on failure),
 * through msgpack-c's unpacker. Unknown keys (including non-str keys) are
 * skipped with their values, nested maps and arrays included up to 32
 * levels (deeper: MD_E_PROTO). Declared lengths and counts are checked
 * against the input before msgpack-c reads it, so memory stays
 * proportional to len whatever the headers claim; MD_E_NOMEM if even
 * that cannot be had.
 * Double fields accept float64, float32 or an integer that a double holds
 * exactly; volumes accept float64 (rebuilt exactly from the shortest
 * decimal that round-trips the double), float32 or an integer; integer
 * fields accept any msgpack int form. nil is never accepted for a known
 * key. Truncation anywhere is MD_E_TRUNC with *err_off = len; bytes after
 * the map are MD_E_PROTO. The map's structure is checked before any value
 * is read, so a structural fault (truncation, the byte 0xc1, nesting too
 * deep) is reported in preference to a bad value before it; among value
 * faults the first in byte order is reported. A map produced by
 * bar_to_msgpack re-encodes to identical bytes. */
int bar_from_msgpack(const unsigned char *buf, size_t len, struct bar *b,
                     size_t *err_off);

/* The Kafka message key "MARKET:BASE-QUOTE:INTERVAL:SOURCE", e.g.
 * "Coinbase:BTC-USD:1m:trades": the same for every revision of a series,
 * so one series stays on one partition, in order. Writes *len bytes plus a
 * NUL. To keep the key unambiguous (and parseable by splitting at ':' and
 * the first '-'), market, base and quote must not contain ':' and base
 * must not contain '-'.
 * Returns MD_OK; MD_E_FULL when cap < *len + 1 (*len = length needed);
 * MD_E_RANGE (empty/unterminated/ambiguous names, interval_s <= 0, bad
 * source; *len = 0); MD_E_INVAL (NULL pointers). */
int bar_key(const struct bar *b, char *buf, size_t cap, size_t *len);

/* A finite double as its shortest round-trip text, laid out as
 * ECMAScript's Number::toString does ("119283.1", "0.00001", "1e-8",
 * "1.7976931348623157e+308"); negative zero is "-0". out needs 32 bytes;
 * returns the length (NUL written). Used by every JSON writer of the
 * project so all print numbers alike. */
size_t bar_fmt_double(double x, char *out);

#endif /* BAR_CODEC_H */
