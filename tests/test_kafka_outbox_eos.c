/* test_kafka_outbox_eos.c: the outbox's exactly-once mode
 * (--exactly-once: a transactional producer and a progress topic,
 * docs/delivery.md) under producer crashes, on the real broker of
 * tests/run-tests.sh: killed inside a transaction before its commit and
 * after it before the outbox knows, and at a random moment, then
 * `--resume`: a read_committed consumer (python3-confluent-kafka) reads
 * every bar once, as raw records. MD_TEST_SLOW=1: the other crash points
 * and four random kills more (under ASan each case takes about 20 s). */
#include <stdlib.h>

#include "support/outbox_cases.h"

#include "cmocka_inc.h"

/* Transactions of up to 10,000 bars, one every 100 ms at least; the run
 * takes about six seconds, the first two to fence and read the progress
 * topic. */
static void test_exactly_once(void **state)
{
    (void)state;
    outbox_crashes("--exactly-once", "crash:txn-commit:5 crash:ack:5",
                   "crash:produce:6000 crash:commit-before:300 "
                   "crash:commit-after:400",
                   1, 4, 2500, 2500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_once),
    };

    return cmocka_run_group_tests(tests, outbox_setup, outbox_teardown);
}
