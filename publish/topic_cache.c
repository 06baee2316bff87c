/* topic_cache.c: a producer's topic handles by name, open addressing
 * with linear probing, grown at half full. See topic_cache.h. */
#include <stdlib.h>
#include <string.h>

#include "md_fnv.h"
#include "topic_cache.h"

static int grow(struct topic_cache *c)
{
    size_t cap = c->cap == 0 ? 16 : c->cap * 2, i;
    struct topic_slot *s = calloc(cap, sizeof *s);

    if (s == NULL) {
        return -1;
    }
    for (i = 0; i < c->cap; i++) {
        if (c->slot[i].name != NULL) {
            size_t j = (size_t)c->slot[i].hash & (cap - 1);
            while (s[j].name != NULL) {
                j = (j + 1) & (cap - 1);
            }
            s[j] = c->slot[i];
        }
    }
    free(c->slot);
    c->slot = s;
    c->cap = cap;
    return 0;
}

rd_kafka_topic_t *topic_cache_get(struct topic_cache *c, rd_kafka_t *rk,
                                  const char *name)
{
    uint64_t h = md_fnv1a64(MD_FNV1A64_BASIS, name, strlen(name));
    size_t i;
    char *copy;
    rd_kafka_topic_t *rkt;

    if (c->cap > 0) {
        for (i = (size_t)h & (c->cap - 1); c->slot[i].name != NULL;
             i = (i + 1) & (c->cap - 1)) {
            if (c->slot[i].hash == h && strcmp(c->slot[i].name, name) == 0) {
                return c->slot[i].rkt;
            }
        }
    }
    if ((c->n + 1) * 2 > c->cap && grow(c) != 0) {
        return NULL;
    }
    copy = strdup(name);
    if (copy == NULL) {
        return NULL;
    }
    rkt = rd_kafka_topic_new(rk, name, NULL);
    if (rkt == NULL) {
        free(copy);
        return NULL;
    }
    for (i = (size_t)h & (c->cap - 1); c->slot[i].name != NULL;
         i = (i + 1) & (c->cap - 1)) {
    }
    c->slot[i].hash = h;
    c->slot[i].name = copy;
    c->slot[i].rkt = rkt;
    c->n++;
    return rkt;
}

void topic_cache_clear(struct topic_cache *c)
{
    size_t i;

    for (i = 0; i < c->cap; i++) {
        if (c->slot[i].name != NULL) {
            rd_kafka_topic_destroy(c->slot[i].rkt);
            free(c->slot[i].name);
        }
    }
    free(c->slot);
    c->slot = NULL;
    c->cap = 0;
    c->n = 0;
}
