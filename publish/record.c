/* record.c: a bar as a Kafka record. See record.h and docs/bars.md. */
#include <string.h>

#include "bar_codec.h"
#include "md_err.h"
#include "record.h"

const char *pub_content_type(int format)
{
    return format == PUB_FMT_JSON ? "application/json" : "application/msgpack";
}

/* Header values are written by hand, not with snprintf: eight per bar on
 * the publisher's hot path (docs/performance.md, "Publish"). */
static void hdr_i64(struct pub_record *r, const char *name, int64_t v)
{
    struct pub_header *h = &r->hdr[r->n_hdr++];
    char tmp[24];
    size_t n = 0, i = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0) {
        h->value[i++] = '-';
    }
    while (n > 0) {
        h->value[i++] = tmp[--n];
    }
    h->value[i] = '\0';
    h->name = name;
    h->len = i;
}

static void hdr_str(struct pub_record *r, const char *name, const char *v)
{
    struct pub_header *h = &r->hdr[r->n_hdr++];
    size_t n = strlen(v);

    if (n >= sizeof h->value) {
        n = sizeof h->value - 1;
    }
    memcpy(h->value, v, n);
    h->value[n] = '\0';
    h->name = name;
    h->len = n;
}

int pub_record_make(const struct bar *b, int64_t emit_ms, int format,
                    unsigned char *buf, size_t cap, struct pub_record *r)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } flags[] = {
        {BAR_F_PARTIAL_START, "partial_start"},
        {BAR_F_SPANS_DISCONNECT, "spans_disconnect"},
        {BAR_F_SYNTHETIC, "synthetic"},
        {BAR_F_BACKFILLED, "backfilled"},
    };
    char fl[80];
    size_t len = 0, i, used = 0;
    int rc;

    r->n_hdr = 0;
    if ((rc = bar_key(b, r->key, sizeof r->key, &r->key_len)) != MD_OK) {
        return rc;
    }
    rc = format == PUB_FMT_JSON
             ? bar_to_json(b, (char *)buf, cap, &len)
             : bar_to_msgpack(b, buf, cap, &len);
    if (rc != MD_OK) {
        return rc;
    }
    r->value = buf;
    r->value_len = len;
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (b->flags & flags[i].bit) {
            size_t l = strlen(flags[i].name); /* all four fit in fl */
            if (used > 0) {
                fl[used++] = ',';
            }
            memcpy(fl + used, flags[i].name, l);
            used += l;
        }
    }
    fl[used] = '\0';
    hdr_i64(r, "ccs-schema", BAR_VERSION);
    hdr_i64(r, "start_ms", b->start_ms);
    hdr_i64(r, "end_ms", b->end_ms);
    hdr_i64(r, "revision", b->revision);
    hdr_str(r, "source", bar_source_name(b->source));
    hdr_str(r, "close_reason", bar_close_name(b->close_reason));
    hdr_str(r, "flags", fl);
    hdr_str(r, "content-type", pub_content_type(format));
    /* the bar's end, but never ahead of the server's clock when the bar
     * was made: a bar flushed at a stop (a day bar, say) would be refused
     * beyond log.message.timestamp.after.max.ms */
    r->timestamp_ms = b->end_ms;
    if (b->close_reason == BAR_CLOSE_FLUSH && emit_ms > 0 &&
        emit_ms < b->end_ms) {
        r->timestamp_ms = emit_ms;
    }
    return MD_OK;
}
