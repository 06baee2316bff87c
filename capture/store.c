/* store.c: the capture store's names (event kinds, directions) and the
 * helpers its writer, reader and JSON Lines export share: errors, UTF-8
 * and JSON checks, base64. The writer is store_write.c (batched, WAL,
 * background thread, bounded queue, redaction before queueing through
 * store_redact.c), the streaming reader store_read.c. Format and
 * rationale: docs/capture-format.md. */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cc_json.h"
#include "md_err.h"
#include "store.h"
#include "store_int.h"


/* ---------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------- */

static const struct {
    int kind;
    const char *name;
} store_kinds[] = {
    {STORE_K_WS_CONNECT, "ws_connect"},
    {STORE_K_WS_HANDSHAKE, "ws_handshake"},
    {STORE_K_WS_TEXT, "ws_text"},
    {STORE_K_WS_BINARY, "ws_binary"},
    {STORE_K_WS_PING, "ws_ping"},
    {STORE_K_WS_PONG, "ws_pong"},
    {STORE_K_WS_CLOSE, "ws_close"},
    {STORE_K_WS_CLOSED, "ws_closed"},
    {STORE_K_WS_ERROR, "ws_error"},
    {STORE_K_HTTP_REQUEST, "http_request"},
    {STORE_K_HTTP_RESPONSE, "http_response"},
    {STORE_K_HTTP_ERROR, "http_error"},
    {STORE_K_TIMER, "timer"},
    {STORE_K_DELIVERY, "delivery"},
    {STORE_K_ADMIN, "admin"},
    {STORE_K_SIGNAL, "signal"},
    {STORE_K_OPERATOR, "operator"},
    {STORE_K_CORE_OUT, "core_out"},
};
#define STORE_NKINDS (sizeof store_kinds / sizeof store_kinds[0])

static const char *const store_dirs[] = {"in", "out", "local"};

int store__kind_at(size_t i, int *kind, const char **name)
{
    if (i >= STORE_NKINDS) {
        return 0;
    }
    *kind = store_kinds[i].kind;
    *name = store_kinds[i].name;
    return 1;
}

const char *store_kind_name(int kind)
{
    size_t i;

    for (i = 0; i < STORE_NKINDS; i++) {
        if (store_kinds[i].kind == kind) {
            return store_kinds[i].name;
        }
    }
    return "?";
}

/* The kinds this version writes (store.h); a switch, for the hot path. */
int store__kind_ok(int kind)
{
    switch (kind) {
    case STORE_K_WS_CONNECT:
    case STORE_K_WS_HANDSHAKE:
    case STORE_K_WS_TEXT:
    case STORE_K_WS_BINARY:
    case STORE_K_WS_PING:
    case STORE_K_WS_PONG:
    case STORE_K_WS_CLOSE:
    case STORE_K_WS_CLOSED:
    case STORE_K_WS_ERROR:
    case STORE_K_HTTP_REQUEST:
    case STORE_K_HTTP_RESPONSE:
    case STORE_K_HTTP_ERROR:
    case STORE_K_TIMER:
    case STORE_K_DELIVERY:
    case STORE_K_ADMIN:
    case STORE_K_SIGNAL:
    case STORE_K_OPERATOR:
    case STORE_K_CORE_OUT:
        return 1;
    default:
        return 0;
    }
}

const char *store_dir_name(int dir)
{
    if (dir >= STORE_D_IN && dir <= STORE_D_LOCAL) {
        return store_dirs[dir];
    }
    return "?";
}

const char *store_state_name(int state)
{
    switch (state) {
    case STORE_STATE_WRITING:
        return "incomplete";
    case STORE_STATE_COMPLETE:
        return "complete";
    case STORE_STATE_INTERRUPTED:
        return "interrupted";
    default:
        return "unknown";
    }
}

int store_kind_from_name(const char *name)
{
    size_t i;

    if (name == NULL) {
        return STORE_K_INVALID;
    }
    for (i = 0; i < STORE_NKINDS; i++) {
        if (strcmp(store_kinds[i].name, name) == 0) {
            return store_kinds[i].kind;
        }
    }
    return STORE_K_INVALID;
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

int store__err(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0. */
size_t store__utf8_seq(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i], lo = 0x80, hi = 0xBF;
    size_t k, need;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) {
            lo = 0xA0; /* no overlongs */
        } else if (c == 0xED) {
            hi = 0x9F; /* no surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F; /* nothing above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi) {
        return 0;
    }
    for (k = 2; k <= need; k++) {
        if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
            return 0;
        }
    }
    return need + 1;
}

int store_utf8_valid(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0, k;

    while (i < n) {
        /* ASCII runs, eight bytes at a time. */
        if (s[i] < 0x80) {
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080)) {
                    break;
                }
                i += 8;
            }
            while (i < n && s[i] < 0x80) {
                i++;
            }
            continue;
        }
        k = store__utf8_seq(s, n, i);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

static int store__json_ok(const char *text, size_t len, int object)
{
    struct cc_json j;
    struct cc_err e;

    if (!store_utf8_valid(text, len)) {
        return 0;
    }
    cc_json_init(&j, text, len, &e);
    if (object && cc_json_peek(&j) != '{') {
        return 0;
    }
    if (cc_json_skip(&j) != MD_OK || cc_json_end(&j) != MD_OK) {
        return 0;
    }
    return 1;
}

int store__json_object_ok(const char *text, size_t len)
{
    return store__json_ok(text, len, 1);
}

int store__json_value_ok(const char *text, size_t len)
{
    return store__json_ok(text, len, 0);
}

static const char store_b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char store_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t store__b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void store__b64_enc(const unsigned char *src, size_t n, char *dst, int url)
{
    const char *a = url ? store_b64url : store_b64std;
    size_t i = 0, o = 0;

    while (n - i >= 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
                     src[i + 2];
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = a[v >> 6 & 63];
        dst[o++] = a[v & 63];
        i += 3;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = a[v >> 6 & 63];
        dst[o++] = '=';
    }
}

static int store__b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

size_t store__b64_dec(const char *src, size_t n, unsigned char *dst)
{
    size_t i, o = 0;

    if (n % 4 != 0) {
        return (size_t)-1;
    }
    for (i = 0; i < n; i += 4) {
        int v0 = store__b64_val((unsigned char)src[i]);
        int v1 = store__b64_val((unsigned char)src[i + 1]);
        int v2, v3;
        int last = i + 4 == n;

        if (v0 < 0 || v1 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)(v0 << 2 | v1 >> 4);
        if (last && src[i + 2] == '=' && src[i + 3] == '=') {
            if (v1 & 15) {
                return (size_t)-1; /* not canonical */
            }
            break;
        }
        v2 = store__b64_val((unsigned char)src[i + 2]);
        if (v2 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)((v1 & 15) << 4 | v2 >> 2);
        if (last && src[i + 3] == '=') {
            if (v2 & 3) {
                return (size_t)-1;
            }
            break;
        }
        v3 = store__b64_val((unsigned char)src[i + 3]);
        if (v3 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)((v2 & 3) << 6 | v3);
    }
    return o;
}
