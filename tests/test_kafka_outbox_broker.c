/* test_kafka_outbox_broker.c: the outbox under broker faults, on a
 * private broker (tests/kafka/broker.sh in the test's directory): stopped
 * with SIGSTOP mid-stream (5 s; 30 s with MD_TEST_SLOW=1), killed and
 * restarted on its data and ports (MD_TEST_SLOW=1), and stopped for 3 s
 * with a small
 * outbox whose policy is to drop (docs/delivery.md): the records are
 * exactly the uninterrupted replay's bars, less, in the last case, the
 * bars dropped, counted and said. */
#include <stdio.h>
#include <stdlib.h>

#include "support/outbox_cases.h"

#include "cmocka_inc.h"

static void test_broker_faults(void **state)
{
    char extra[160];

    (void)state;
    snprintf(extra, sizeof extra, "--broker-dir '%s'",
             outbox_private_broker());
    outbox_run_cases("-", extra,
                     getenv("MD_TEST_SLOW") ? "hang:30 restart drop:3"
                                            : "hang:5 drop:3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_faults),
    };

    return cmocka_run_group_tests(tests, outbox_setup, outbox_teardown);
}
