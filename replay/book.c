/* book.c: the REST answer book and the meta readers (book.h). */
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "cc_json.h"
#include "md_err.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "GET" + path with the query sorted and any api_key dropped. */
char *request_key(const char *method, const char *url)
{
    const char *path = url, *q;
    char *buf, *params[64], *tmp, *tok, *save = NULL, *out;
    size_t n = 0, i, len;

    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        path = strchr(strchr(path, ':') + 3, '/');
        if (path == NULL) {
            path = "/";
        }
    }
    q = strchr(path, '?');
    len = strlen(method) + strlen(path) + 4;
    out = malloc(len);
    if (out == NULL) {
        return NULL;
    }
    if (q == NULL) {
        snprintf(out, len, "%s %s", method, path);
        return out;
    }
    tmp = strdup(q + 1);
    if (tmp == NULL) {
        free(out);
        return NULL;
    }
    for (tok = strtok_r(tmp, "&", &save); tok != NULL && n < 64;
         tok = strtok_r(NULL, "&", &save)) {
        if (strncmp(tok, "api_key=", 8) != 0 && *tok != '\0') {
            params[n++] = tok;
        }
    }
    qsort(params, n, sizeof params[0], cmp_str);
    buf = out;
    snprintf(buf, len, "%s %.*s", method, (int)(q - path), path);
    for (i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%c%s", i == 0 ? '?' : '&',
                 params[i]);
    }
    free(tmp);
    return out;
}

/* A string member of a small JSON object (meta), copied; an array of
 * strings comes back joined with commas; NULL if absent. */
char *meta_str(const char *meta, const char *name)
{
    struct cc_json j;
    struct cc_str k, v;
    char *out = NULL;
    size_t used = 0, cap = 0, n;
    int rc;

    if (meta == NULL) {
        return NULL;
    }
    cc_json_init(&j, meta, strlen(meta), NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return NULL;
    }
    while ((rc = cc_json_obj_next(&j, &k)) == 1) {
        int c = cc_json_peek(&j);
        if (!cc_str_eq(&k, name, strlen(name)) || (c != '"' && c != '[')) {
            if (cc_json_skip(&j) != MD_OK) {
                return NULL;
            }
            continue;
        }
        if (c == '[' && cc_json_arr_begin(&j) != MD_OK) {
            return NULL;
        }
        while (c == '"' || cc_json_arr_next(&j) == 1) {
            char *grown;
            if (cc_json_peek(&j) != '"' || cc_json_str(&j, &v) != MD_OK) {
                free(out);
                return NULL;
            }
            if (used + v.len + 2 > cap) {
                cap = (used + v.len + 2) * 2;
                grown = realloc(out, cap);
                if (grown == NULL) {
                    free(out);
                    return NULL;
                }
                out = grown;
            }
            if (used > 0) {
                out[used++] = ',';
            }
            n = 0;
            if (cc_str_unescape(&v, out + used, cap - used - 1, &n) !=
                MD_OK) {
                free(out);
                return NULL;
            }
            used += n;
            out[used] = '\0';
            if (c == '"') {
                break;
            }
        }
        return out;
    }
    return NULL;
}

/* An integer member of the object member `outer` (or of the top level
 * when outer is NULL). 1 and *out when found, else 0. */
int meta_i64(const char *json, const char *outer, const char *name,
                    int64_t *out)
{
    struct cc_json j;
    struct cc_str k;
    struct cc_num n;
    int depth_ok = outer == NULL;

    if (json == NULL) {
        return 0;
    }
    cc_json_init(&j, json, strlen(json), NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return 0;
    }
    while (cc_json_obj_next(&j, &k) == 1) {
        if (!depth_ok && cc_str_eq(&k, outer, strlen(outer)) &&
            cc_json_peek(&j) == '{') {
            if (cc_json_obj_begin(&j) != MD_OK) {
                return 0;
            }
            depth_ok = 1;
            continue;
        }
        if (depth_ok && cc_str_eq(&k, name, strlen(name)) &&
            cc_json_num(&j, &n) == MD_OK) {
            return cc_dec_to_i64(&n.dec, out) == MD_OK;
        }
        if (cc_json_skip(&j) != MD_OK) {
            return 0;
        }
    }
    return 0;
}

/* qsort has no context argument: the book being sorted. One thread. */
static const struct book *sorting;

static int cmp_order(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(sorting->v[a].key, sorting->v[b].key);

    return c != 0 ? c : (a > b) - (a < b);
}

/* The answers' indexes by key, then position: book_find's index. */
static int book_index(struct book *b)
{
    size_t i;

    free(b->order);
    b->order = malloc((b->n ? b->n : 1) * sizeof *b->order);
    if (b->order == NULL) {
        return MD_E_NOMEM;
    }
    for (i = 0; i < b->n; i++) {
        b->order[i] = i;
    }
    sorting = b;
    qsort(b->order, b->n, sizeof *b->order, cmp_order);
    sorting = NULL;
    return MD_OK;
}

int book_load(struct book *b, const char *path, char *err,
                     size_t errlen)
{
    struct store_reader *r;
    struct store_event ev;
    char *pending_key = NULL;
    int64_t pending_t = 0;
    int rc;

    static const int http[] = {STORE_K_HTTP_REQUEST, STORE_K_HTTP_RESPONSE,
                               STORE_K_HTTP_ERROR};

    rc = store_reader_open(path, &r, err, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    rc = store_reader_only(r, http, 3);
    while (rc == MD_OK && (rc = store_next(r, &ev)) == MD_OK) {
        if (ev.kind == STORE_K_HTTP_REQUEST) {
            char *m = meta_str(ev.meta, "method"), *u = meta_str(ev.meta, "path");
            if (u == NULL) {
                u = meta_str(ev.meta, "url");
            }
            free(pending_key);
            pending_key = u != NULL ? request_key(m ? m : "GET", u) : NULL;
            pending_t = ev.mono_ns;
            free(m);
            free(u);
        } else if ((ev.kind == STORE_K_HTTP_RESPONSE ||
                    ev.kind == STORE_K_HTTP_ERROR) &&
                   pending_key != NULL) {
            struct answer *a;
            if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                struct answer *v = realloc(b->v, cap * sizeof *v);
                if (v == NULL) {
                    rc = MD_E_NOMEM;
                    break;
                }
                b->v = v;
                b->cap = cap;
            }
            a = &b->v[b->n++];
            memset(a, 0, sizeof *a);
            a->key = pending_key;
            pending_key = NULL;
            a->status = ev.kind == STORE_K_HTTP_ERROR ? 0 : (int)ev.status;
            a->seq = ev.seq;
            a->latency_ns = ev.mono_ns - pending_t;
        }
    }
    free(pending_key);
    b->rd = r;
    if (rc == MD_E_NOTFOUND || rc == MD_OK) {
        rc = book_index(b);
        if (rc != MD_OK) {
            snprintf(err, errlen, "%s", md_strerror(rc));
            return rc;
        }
    }
    if (rc != MD_E_NOTFOUND && rc != MD_OK) {
        snprintf(err, errlen, "%s", *store_reader_errmsg(r) != '\0'
                                        ? store_reader_errmsg(r)
                                        : md_strerror(rc));
        return rc;
    }
    return MD_OK;
}

/* The body of answer a into a new NUL-terminated buffer (*len bytes). */
int book_body(struct book *b, const struct answer *a, char **out,
                     size_t *len)
{
    struct store_event ev;
    int rc = store_event_at(b->rd, a->seq, &ev);

    *out = NULL;
    *len = 0;
    if (rc != MD_OK) {
        return rc == MD_E_NOTFOUND ? MD_E_CORRUPT : rc;
    }
    *out = malloc(ev.payload_len + 1);
    if (*out == NULL) {
        return MD_E_NOMEM;
    }
    memcpy(*out, ev.payload, ev.payload_len);
    (*out)[ev.payload_len] = '\0';
    *len = ev.payload_len;
    return MD_OK;
}

/* Binary search for the key's first answer, then the first unused of its
 * group: answers are used in order, so the used ones lead each group. */
struct answer *book_find(struct book *b, const char *key)
{
    size_t lo = 0, hi = b->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->v[b->order[mid]].key, key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < b->n && strcmp(b->v[b->order[lo]].key, key) == 0; lo++) {
        if (!b->v[b->order[lo]].used) {
            return &b->v[b->order[lo]];
        }
    }
    return NULL;
}

void book_free(struct book *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        free(b->v[i].key);
    }
    free(b->v);
    free(b->order);
    store_reader_close(b->rd);
}

