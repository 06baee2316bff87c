/* store_int.h: helpers shared by the files of the capture store module
 * (store.c, store_jsonl.c) and by nobody else.
 * Holds no state; see store.h for the public contract. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdarg.h>
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

#endif /* STORE_INT_H */
