/* jbuf.h: a growing text buffer for the JSON serve writes (replies,
 * snapshots, REST bodies). An allocation failure is sticky: every later
 * write is ignored and jb_ok says so once, at the end. Shell code. */
#ifndef SERVE_JBUF_H
#define SERVE_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jb {
    char *p;     /* NUL-terminated while not oom */
    size_t len, cap;
    bool oom;
};

void jb_put(struct jb *b, const char *s, size_t n);
void jb_s(struct jb *b, const char *s);
void jb_i64(struct jb *b, int64_t v);
/* s[0..n) as a JSON string, quotes included */
void jb_str(struct jb *b, const char *s, size_t n);
/* x as its shortest round-trip text (bar_fmt_double) */
void jb_dbl(struct jb *b, double x);
/* MD_OK, or MD_E_NOMEM (the buffer is freed) */
int jb_ok(struct jb *b);
void jb_free(struct jb *b);

#endif /* SERVE_JBUF_H */
