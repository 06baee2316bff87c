/* book.h: the REST answers a capture recorded, found by request (method,
 * path and sorted query, any api_key dropped), and the small JSON readers
 * of the capture's meta and session configuration. Shell code. */
#ifndef REPLAY_BOOK_H
#define REPLAY_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"


/* The bodies stay in the capture (a long session holds many megabytes of
 * them) and are read by seq when an answer is used, so memory does not
 * grow with the capture. */
struct answer {
    char *key;      /* "GET /path?sorted&query" */
    int status;
    int64_t seq;    /* of the response event: its body */
    int64_t latency_ns;
    bool used;
};

struct book {
    struct answer *v;
    size_t n, cap;
    size_t *order; /* v's indexes by key, then position (book_find) */
    struct store_reader *rd; /* the capture, for the bodies */
};

/* "METHOD /path?sorted&query" without api_key; malloc'd, NULL on no
 * memory. */
char *request_key(const char *method, const char *url);

/* The string member name of the JSON object meta, malloc'd; NULL if
 * absent or not a string. */
char *meta_str(const char *meta, const char *name);

/* The integer member name (inside the object member outer, if not NULL)
 * of json into *out: 1, or 0 if absent or not an integer. */
int meta_i64(const char *json, const char *outer, const char *name,
             int64_t *out);

/* Load every recorded REST exchange of the capture at path (keys, status,
 * latency, the seq of the body). MD_OK or an MD_E_* with err. */
int book_load(struct book *b, const char *path, char *err, size_t errlen);

/* The body of a's response, read from the capture: malloc'd into *out. */
int book_body(struct book *b, const struct answer *a, char **out,
              size_t *len);

/* The first unused answer for key (identical requests in recorded
 * order), or NULL. */
struct answer *book_find(struct book *b, const char *key);

void book_free(struct book *b);

#endif /* REPLAY_BOOK_H */
