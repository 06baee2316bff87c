/* synth_int.h: helpers shared inside synth/ (not for other modules; the
 * tests include it to check the number formatting): a bounded text
 * buffer, the server's number formatting, and UTC calendar arithmetic. */
#ifndef SYNTH_INT_H
#define SYNTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rest_policy.h"

/* A caller-owned buffer with a hard capacity. Appending past cap sets
 * full and drops the text; nothing is ever allocated. */
struct sy_buf {
    char *p;
    size_t len, cap; /* cap counts the terminating NUL */
    bool full;
};

void sy_buf_init(struct sy_buf *b, char *mem, size_t cap);
void sy_buf_reset(struct sy_buf *b);
/* Append s[0..n) (inline: with a constant n the copy is inlined too). */
static inline void sy_put(struct sy_buf *b, const char *s, size_t n)
{
    if (b->full || n >= b->cap - b->len) {
        b->full = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void sy_putc(struct sy_buf *b, char c)
{
    sy_put(b, &c, 1);
}

void sy_puts(struct sy_buf *b, const char *s);
/* A string literal, without strlen. */
#define SY_LIT(b, lit) sy_put((b), (lit), sizeof(lit) - 1)
void sy_i64(struct sy_buf *b, int64_t v);
void sy_u64(struct sy_buf *b, uint64_t v);
/* x as JavaScript's Number.prototype.toString writes it (what
 * JSON.stringify sends): the shortest decimal that reads back as x,
 * plain for 1e-6 <= |x| < 1e21 ("119283.1", "41316.495295202"), else
 * exponent form ("1e-7"). NaN and infinities, which JSON cannot hold,
 * are written as "null". */
void sy_dbl(struct sy_buf *b, double x);
/* v / 10^dec (dec <= 18) as sy_dbl writes the double nearest to it,
 * without the double when it can: exact decimal text for up to 15
 * significant digits, which is the same text. */
void sy_scaled(struct sy_buf *b, int64_t v, unsigned dec);
/* s as a JSON string with its quotes; escapes '"', '\\' and controls. */
void sy_qstr(struct sy_buf *b, const char *s);
/* v / 10^dec as exact decimal text, trailing zeros trimmed (dec <= 18). */
void sy_fixed(struct sy_buf *b, int64_t v, unsigned dec);

/* x formatted as sy_dbl does into out (>= 32 bytes); returns the length.
 * Exposed for the tests. */
size_t sy_fmt_double(double x, char *out);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t sy_days_from_civil(int64_t y, unsigned m, unsigned d);
void sy_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* "2025-07-22T13:19:55Z" for unix seconds t; out >= 21 bytes. */
void sy_iso8601(int64_t t, char *out, size_t cap);
/* "Tue, 22 Jul 2025 13:19:55 GMT" (RFC 7231 IMF-fixdate); out >= 30. */
void sy_http_date(int64_t t, char *out, size_t cap);

/* The local monotonic time of a session's start for a seed (synth.c). */
int64_t synth__mono_base(uint64_t seed);

/* ---- what the session is asked for (synth_opts.c) ---- */

#define WS_URL "wss://streamer.cryptocompare.com/v2"
#define REST_URL "https://min-api.cryptocompare.com"
#define PREFLIGHT_BARS 10 /* reference 9.1: limit=10 */

struct synth_opts;

/* vsnprintf into errbuf when it is not NULL. */
void sy_errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The symbols' names (o->n_symbols of them, calloc'ed: the caller frees),
 * NULL when out of memory. */
char (*sy_symbol_names(const struct synth_opts *o))[RP_SYM_MAX + 1];

/* The series every request is planned for: per symbol the CCCAGG index
 * and the exchange, 1 m; how many (2 a symbol). */
unsigned sy_make_series(const struct synth_opts *o,
                        const char (*names)[RP_SYM_MAX + 1],
                        struct rp_series *series);

/* The REST policy the emulated client follows (the core's defaults, with
 * the reference's preflight limit). */
void sy_rest_config(struct rp_config *cfg);

#endif /* SYNTH_INT_H */
