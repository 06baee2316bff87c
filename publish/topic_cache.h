/* topic_cache.h: a producer's librdkafka topic handles, by name.
 *
 * rd_kafka_producev with RD_KAFKA_V_TOPIC(name) makes a topic handle for
 * every record and drops it again: a lookup under the client's lock that
 * librdkafka's broker threads take too. Producing through a handle kept
 * for the producer's life (RD_KAFKA_V_RKT) raised a plain producer from
 * 209-285 k to 343-371 k records/s against the test broker
 * (docs/performance.md, "Publish"). The cache is per producer: clear it
 * before rd_kafka_destroy. */
#ifndef PUBLISH_TOPIC_CACHE_H
#define PUBLISH_TOPIC_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct topic_slot {
    uint64_t hash;
    char *name; /* NULL: empty */
    rd_kafka_topic_t *rkt;
};

struct topic_cache {
    struct topic_slot *slot;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

/* The handle of topic name on rk, made on first use: NULL when it cannot
 * be made or kept (out of memory, or a name librdkafka refuses; produce1
 * then tries a handle of its own). */
rd_kafka_topic_t *topic_cache_get(struct topic_cache *c, rd_kafka_t *rk,
                                  const char *name);

/* Every handle destroyed and the memory freed; the cache is empty and
 * usable again (for the next producer). */
void topic_cache_clear(struct topic_cache *c);

#endif /* PUBLISH_TOPIC_CACHE_H */
