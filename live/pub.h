/* pub.h: live's publisher (docs/delivery.md, docs/operations.md): every
 * bar the core closes into the outbox (publish/pump.h) at once; each pass
 * that produced bars commits them with the core's checkpoint, then tells
 * the core they are delivered; the pump sends committed bars to the
 * broker on its own producer, driven by its event descriptor and a tick
 * on the live loop. Topics are asked for with an Admin client whose
 * answers come back as the core's inputs.
 *
 * A live producer cannot slow its input: past outbox_max bars not
 * acknowledged, each bar closing is dropped (counted, said once per
 * stretch, refused to the core, which dead-letters it).
 *
 * Shell code. */
#ifndef LIVE_PUB_H
#define LIVE_PUB_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "kafka.h"
#include "live.h"
#include "outbox.h"
#include "pump.h"
#include "pump_core.h"

struct live_pub_opts {
    struct pub_kafka_opts ko;  /* brokers and properties; strings outlive
                                  the publisher */
    const char *instance;      /* exactly once: the transactional.id's
                                  suffix; NULL: at least once */
    uint64_t outbox_max;       /* bars not acknowledged at most (0: 1e6) */
    int64_t checkpoint_every_ns; /* a checkpoint at least this often */
};

struct live_pub {
    struct live *lv;
    struct core *core;
    struct outbox *ob;         /* borrowed */
    struct pub_kafka *admin;   /* topics */
    struct pump *pump;
    struct live_publisher ops;
    uv_poll_t admin_poll, pump_poll;
    uv_timer_t tick;
    unsigned handles;          /* bits: admin_poll, pump_poll, tick made */
    struct pump_core pc;       /* produced bars, and those dropped */
    uint64_t outbox_max;
    mono_ns ckpt_every, ckpt_t;
    bool exactly_once;
    /* counters (the status line, metrics, the summary) */
    uint64_t commits, checkpoints;
    uint64_t topics_failed;
    struct pump_stats final;   /* the pump's, kept at live_pub_close */
    int64_t ckpt_wall_ms;      /* the last checkpoint's wall time */
    char said_topic[256];      /* the last topic failure said */
};

/* Open the publisher over ob (restored or empty) for lv's core: the Admin
 * client and the pump (exactly once: fences a predecessor, waits for the
 * broker up to 60 s). MD_OK; an error with errbuf. */
int live_pub_open(struct live_pub *lp, struct live *lv, struct outbox *ob,
                  const struct live_pub_opts *o, char *errbuf,
                  size_t errlen);

/* After live_run: send what is left for up to timeout_ms, then commit the
 * final checkpoint. MD_OK (bars may be left: pump_pending says how many,
 * kept for the next run); MD_E_IO; MD_E_KAFKA (errbuf). */
int live_pub_finish(struct live_pub *lp, int timeout_ms, char *errbuf,
                    size_t errlen);

/* Close the handles (the caller's live_free runs their closes) and free
 * the producers. */
void live_pub_close(struct live_pub *lp);

#endif /* LIVE_PUB_H */
