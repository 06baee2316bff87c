/* test_live.c: the live driver's descriptor watch (loop_driver.watch),
 * which other shells (the publisher's queue event fd) plug into: a pipe
 * registered through it, written to, calls back on the loop's thread with
 * the readable flag; a second descriptor too; live_free closes them. No
 * network: the shells are set up but the core is never started. */
#include <stdio.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "core.h"
#include "live.h"
#include "md_err.h"

#undef free
#undef malloc
#undef calloc

struct hit {
    int fd, events, n;
};

static void on_fd(void *arg, int fd, int events)
{
    struct hit *h = arg;
    char b[16];

    h->fd = fd;
    h->events = events;
    h->n++;
    if (read(fd, b, sizeof b) < 0) {
        h->n = -1000;
    }
}

static void test_watch(void **state)
{
    static struct live lv;
    static struct core core;
    struct core_config cfg;
    struct rp_series series[2];
    struct live_opts o;
    struct hit h1 = {0, 0, 0}, h2 = {0, 0, 0};
    int p1[2], p2[2], i;
    void *mem;
    size_t need;

    (void)state;
    core_config_default(&cfg);
    cfg.series = series;
    cfg.cap_series = 2;
    cfg.trace = 1;
    assert_int_equal(core_config_add_series(&cfg, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    need = core_mem_size(&cfg);
    mem = malloc(need);
    assert_non_null(mem);
    assert_int_equal(core_init(&core, &cfg, mem, need), MD_OK);
    memset(&o, 0, sizeof o);
    o.ws_url = "ws://127.0.0.1:9/v2";
    o.rest_url = "http://127.0.0.1:9";
    o.max_message = 1 << 20;
    assert_int_equal(live_init(&lv, &core, &o, NULL), MD_OK);
    assert_non_null(lv.drv.watch);
    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    assert_int_equal(lv.drv.watch(lv.drv.ctx, p1[0], 1, on_fd, &h1), MD_OK);
    assert_int_equal(lv.drv.watch(lv.drv.ctx, p2[0], 1, on_fd, &h2), MD_OK);
    /* nothing written: no call */
    uv_run(&lv.uv, UV_RUN_NOWAIT);
    assert_int_equal(h1.n, 0);
    assert_int_equal(h2.n, 0);
    assert_int_equal(write(p2[1], "x", 1), 1);
    for (i = 0; i < 100 && h2.n == 0; i++) {
        uv_run(&lv.uv, UV_RUN_NOWAIT);
        uv_sleep(10);
    }
    assert_int_equal(h2.n, 1);
    assert_int_equal(h2.fd, p2[0]);
    assert_int_equal(h2.events, 1);
    assert_int_equal(h1.n, 0); /* the other one stays quiet */
    assert_int_equal(write(p1[1], "yy", 2), 2);
    for (i = 0; i < 100 && h1.n == 0; i++) {
        uv_run(&lv.uv, UV_RUN_NOWAIT);
        uv_sleep(10);
    }
    assert_int_equal(h1.n, 1);
    /* the wake, from this thread too: the next poll returns at once */
    lv.drv.wake(lv.drv.ctx);
    uv_run(&lv.uv, UV_RUN_NOWAIT);
    live_free(&lv);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
