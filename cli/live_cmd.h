/* live_cmd.h: what `ccstream live` runs (cmd_live.c parses the options
 * into it; live_cmd.c prepares and runs): the configuration, the core,
 * the state file, the recording, the loop, the publisher, the metrics. */
#ifndef LIVE_CMD_H
#define LIVE_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_conf.h"
#include "core.h"
#include "live.h"
#include "loop.h"
#include "metrics.h"
#include "outbox.h"
#include "pub.h"
#include "replay.h"
#include "stats.h"
#include "store.h"

#define LIVE_CMD_KEPT 64

struct live_cmd {
    /* options */
    struct rpl_opts ro;        /* the series: symbols, exchange, ... shard */
    struct live_opts lo;       /* the network */
    struct live_pub_opts po;   /* Kafka and the outbox */
    const char *brokers, *key_file, *state, *record, *metrics, *instance;
    const char *bars_name, *trace_name;
    bool exactly_once, stop_flush, check, quiet;
    int64_t drain_ns, status_every_ns, skew_warn_ns;
    int64_t settle_ns;         /* --backfill-settle, 0: the default */
    unsigned rest_share;       /* --rest-share, 0: the shards' N */
    char *keep[CLI_CONF_MAX + 1]; /* the configuration file's values */
    char *kept[LIVE_CMD_KEPT];    /* copies of -X arguments */
    unsigned n_kept;
    /* prepared */
    char key[512];
    const char *key_source;
    char state_default[64];
    char shard_text[32];       /* "K/N", or "" */
    char txn_instance[128];    /* exactly once: the instance */
    struct core_config cfg;
    unsigned n_series, n_subs;
    char (*sub_text)[CORE_SUB_LEN];
    const char **subs;
    char err[1024];
    /* running */
    struct core core;
    void *mem;
    struct outbox *ob;
    bool resumed;
    struct store_writer *w;
    char *sess_cfg;
    uint64_t seed;
    struct live lv;
    struct live_pub lp;
    struct live_stats st;
    struct loop_observer obs;
    struct live_metrics m;
    struct metrics_http *mh;
    uint64_t status_frames;
    int64_t started_wall_ms;
};

void live_cmd_init(struct live_cmd *c);

/* Defaults, the key, the series of this shard, checks that need no
 * network. MD_OK; MD_E_USAGE or another error with c->err. */
int live_cmd_prepare(struct live_cmd *c);

/* Run until stopped; the exit status (cmd_live's usage). */
int live_cmd_run(struct live_cmd *c);

void live_cmd_free(struct live_cmd *c);

#endif /* LIVE_CMD_H */
