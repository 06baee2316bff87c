/* record.h: a bar as a Kafka record: key, headers, value and timestamp,
 * a pure function of the bar and the encoding chosen (docs/bars.md, "On
 * Kafka"). No session id, host or produce time: a duplicate after a crash
 * and the record replay of the same capture produces are byte-identical.
 * Shell code (codec/ underneath); allocates nothing. */
#ifndef PUBLISH_RECORD_H
#define PUBLISH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "bar.h"

enum pub_format {
    PUB_FMT_MSGPACK = 0, /* the default */
    PUB_FMT_JSON
};

#define PUB_HEADERS 8
#define PUB_KEY_MAX 96

struct pub_header {
    const char *name;  /* static */
    char value[80];    /* NUL-terminated; len bytes on the wire */
    size_t len;
};

struct pub_record {
    char key[PUB_KEY_MAX];
    size_t key_len;
    const unsigned char *value; /* in the caller's buffer */
    size_t value_len;
    struct pub_header hdr[PUB_HEADERS];
    unsigned n_hdr;
    int64_t timestamp_ms;
};

/* The record of bar b in format (enum pub_format), its value encoded into
 * buf[0..cap). emit_ms: the server-time watermark when the core made the
 * bar (struct md_bar), the timestamp of a bar flushed before its end.
 * MD_OK; MD_E_FULL (cap too small); MD_E_RANGE / MD_E_INVAL as bar_key and
 * the encoders refuse a bar. */
int pub_record_make(const struct bar *b, int64_t emit_ms, int format,
                    unsigned char *buf, size_t cap, struct pub_record *r);

/* "application/msgpack", "application/json". */
const char *pub_content_type(int format);

#endif /* PUBLISH_RECORD_H */
