/* test_kafka_outbox.c: the outbox's at-least-once guarantee under
 * producer crashes (docs/delivery.md, "How it is tested"), on the real
 * broker of tests/run-tests.sh: `ccstream replay --brokers --state` as
 * the producer, as fast as it goes, killed (SIGKILL) at each crash point
 * (a bar handed to the producer, an acknowledgement taken before the
 * outbox knows it, inside the commit's transaction, just after it) and at
 * random moments, then `--resume`: every bar arrives, duplicates are
 * exact, nothing differs from one uninterrupted replay but what the
 * restart itself changed (tests/outbox_faults.py, read back with
 * python3-confluent-kafka). make test: two crash points and a random
 * kill; MD_TEST_SLOW=1: the other two points and twenty-two kills. The
 * exactly-once mode and the broker's faults have their own binaries
 * (test_kafka_outbox_eos, test_kafka_outbox_broker). */
#include <stdlib.h>

#include "support/outbox_cases.h"

#include "cmocka_inc.h"

/* The replay makes its bars in about a second. */
static void test_producer_crashes(void **state)
{
    (void)state;
    outbox_crashes("", "crash:produce:6000 crash:ack:8000",
                   "crash:commit-before:700 crash:commit-after:800", 1, 22,
                   150, 800);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_producer_crashes),
    };

    return cmocka_run_group_tests(tests, outbox_setup, outbox_teardown);
}
