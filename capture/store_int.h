/* store_int.h: helpers shared by the files of the capture store module
 * (store.c, store_redact.c, store_write.c, store_read.c, store_jsonl.c)
 * and by nobody else.
 * Holds no state; see store.h for the public contract. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* snprintf into errbuf when it is not NULL; returns rc. */
int store__err(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 if text[0..len) is exactly one JSON object (whitespace around it
 * allowed) in valid UTF-8, else 0. */
int store__json_object_ok(const char *text, size_t len);

/* 1 if text[0..len) is exactly one JSON value in valid UTF-8, else 0. */
int store__json_value_ok(const char *text, size_t len);

/* Write the JSON value text[0..len) (already validated) to f with every
 * whitespace byte outside strings removed, so it fits on one line.
 * Returns 0 or -1 (stream error). */
int store__json_put_min(FILE *f, const char *text, size_t len);

/* Standard base64 with padding: the encoded length of n bytes. */
size_t store__b64_len(size_t n);
/* Encode src[0..n) into dst (store__b64_len(n) bytes, no NUL); url
 * selects the URL-safe alphabet (and no padding is still written: the
 * caller trims it). */
void store__b64_enc(const unsigned char *src, size_t n, char *dst, int url);
/* Strict decode (standard alphabet, padding required, canonical): returns
 * the decoded length, or (size_t)-1 if src is not canonical base64. dst
 * needs n / 4 * 3 bytes. */
size_t store__b64_dec(const char *src, size_t n, unsigned char *dst);

/* PRAGMA application_id of every capture: "ccst". `file` and the reader
 * use it to tell a capture from any other SQLite database. */
#define STORE_APP_ID 0x63637374

/* The i-th event kind in the kinds table's order: 1 and *kind, *name;
 * 0 past the last. */
int store__kind_at(size_t i, int *kind, const char **name);

/* 1 if kind is a known STORE_K_* event kind. */
int store__kind_ok(int kind);

/* The length of the valid UTF-8 sequence at s[i] (of n), 0 if none. */
size_t store__utf8_seq(const unsigned char *s, size_t n, size_t i);

/* ---- redaction (store_redact.c) ---- */

#define STORE_RED_MAX 24

/* The forms of one secret to blot out. */
struct store_red {
    size_t n;
    char *pat[STORE_RED_MAX];
    size_t len[STORE_RED_MAX];
};

/* A growable byte buffer owned by the caller's thread. */
struct store_buf {
    unsigned char *p;
    size_t len, cap;
};

/* The forms of secret (none when NULL or empty) into rd. MD_OK or
 * MD_E_NOMEM; free with store__red_free. */
int store__red_init(struct store_red *rd, const char *secret);
void store__red_free(struct store_red *rd);

/* Append p[0..n) to b, growing it. MD_OK or MD_E_NOMEM. */
int store__buf_put(struct store_buf *b, const void *p, size_t n);

/* Redact src[0..len). *out is src itself when nothing matched (no copy),
 * else a's or b's bytes. With creds, credentials in known places go too
 * (texts and meta, never payloads). MD_OK, MD_E_NOMEM, or MD_E_RANGE for
 * a secret whose replacements never settle (refused rather than
 * leaked). */
int store__redact(const struct store_red *rd, const void *src, size_t len,
                  struct store_buf *a, struct store_buf *b,
                  const unsigned char **out, size_t *out_len, int creds);

/* s redacted, each byte that does not start a valid UTF-8 sequence
 * replaced with '?', NUL-terminated, into dst (the text columns). */
int store__clean_text(const struct store_red *rd, const char *s,
                      struct store_buf *a, struct store_buf *b,
                      struct store_buf *dst);

#endif /* STORE_INT_H */
