/* fuzz_ckpt.c: libFuzzer target for the core's checkpoint restore
 * (core/ckpt.h): whatever bytes a damaged state file hands it, a restore
 * refuses them or takes them exactly as they read, and a core it accepted
 * works.
 *
 * The input is a checkpoint in frames: a 2-byte little-endian length and
 * that many bytes, the head first, then the streams in order (the seeds
 * in fuzz/corpus/fuzz_ckpt are real checkpoints of a synth session's
 * replay, framed so). Checked: no crash, no undefined behaviour, no
 * endless loop; an accepted stream record is written back byte for byte;
 * a restored core passes core_check and takes a timer, a STOP and its
 * drain without error. The core is configured as the seeds' run was:
 * BTC, ETH, LTC on Coinbase and CCCAGG against USD, 1m bars. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "core.h"
#include "md_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core C;
static struct core_config CFG;
static struct rp_series SERIES[8];
static void *MEM;
static size_t MEMSIZE;
static uint8_t BUF[1 << 20];
static struct md_out OUT;

static void configure(void)
{
    static const char *const sym[3] = {"BTC", "ETH", "LTC"};
    unsigned i;

    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 8;
    for (i = 0; i < 3; i++) {
        core_config_add_series(&CFG, "CCCAGG", sym[i], "USD", 60);
        core_config_add_series(&CFG, "Coinbase", sym[i], "USD", 60);
    }
    MEMSIZE = core_mem_size(&CFG);
    MEM = malloc(MEMSIZE);
    if (MEM == NULL) {
        abort();
    }
}

/* The next frame of data: MD_OK and *p, *n; MD_E_NOTFOUND at the end. */
static int frame(const uint8_t **data, size_t *size, const uint8_t **p,
                 size_t *n)
{
    size_t len;

    if (*size < 2) {
        return MD_E_NOTFOUND;
    }
    len = (size_t)(*data)[0] | (size_t)(*data)[1] << 8;
    if (len > *size - 2) {
        len = *size - 2;
    }
    *p = *data + 2;
    *n = len;
    *data += 2 + len;
    *size -= 2 + len;
    return MD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p;
    size_t n, len;
    unsigned k = 0;
    struct core_in in;

    if (MEM == NULL) {
        configure();
    }
    if (core_init(&C, &CFG, MEM, MEMSIZE) != MD_OK) {
        abort();
    }
    if (frame(&data, &size, &p, &n) != MD_OK ||
        core_restore_head(&C, p, n) != MD_OK) {
        return 0;
    }
    while (frame(&data, &size, &p, &n) == MD_OK) {
        if (core_restore_stream(&C, k, p, n) != MD_OK) {
            return 0;
        }
        if (core_ckpt_stream(&C, k, BUF, sizeof BUF, &len) != MD_OK ||
            len != n || memcmp(BUF, p, n) != 0) {
            abort(); /* taken otherwise than it reads */
        }
        k++;
    }
    if (core_restore_done(&C) != MD_OK) {
        return 0;
    }
    if (core_check(&C) != MD_OK) {
        abort();
    }
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_START;
    in.t_ns = 1000000000;
    in.server_ms = C.feed.agg.watermark_ns / 1000000 + 1000;
    md_out_reset(&OUT);
    if (core_step(&C, &in, &OUT) != MD_OK) {
        abort();
    }
    in.kind = CORE_IN_TIMER;
    in.timer = MD_T_BAR;
    in.t_ns = 2000000000 + 600 * INT64_C(1000000000);
    md_out_reset(&OUT);
    if (core_step(&C, &in, &OUT) != MD_OK) {
        abort();
    }
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_STOP;
    in.t_ns = 3000000000 + 600 * INT64_C(1000000000);
    md_out_reset(&OUT);
    if (core_step(&C, &in, &OUT) != MD_OK || core_check(&C) != MD_OK) {
        abort();
    }
    return 0;
}
