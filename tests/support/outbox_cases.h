/* outbox_cases.h: what the outbox's fault tests share (tests/
 * test_kafka_outbox*.c): a synth session of 300 pairs for 12 minutes in a
 * temporary directory, and tests/outbox_faults.py run on it. */
#ifndef TEST_OUTBOX_CASES_H
#define TEST_OUTBOX_CASES_H

/* cmocka group setup and teardown: the capture made, the directory (and
 * a private broker, if one was started) removed. */
int outbox_setup(void **state);
int outbox_teardown(void **state);

/* The shared broker of tests/run-tests.sh. */
const char *outbox_brokers(void);

/* tests/outbox_faults.py on the capture with brokers_arg, extra options
 * and the cases: a cmocka failure unless it says ok. */
void outbox_run_cases(const char *brokers_arg, const char *extra,
                      const char *cases);

/* Crash points (and, with MD_TEST_SLOW, slow_points), then kills at
 * moments drawn in [lo, lo + span) ms from a seed printed. */
void outbox_crashes(const char *extra, const char *points,
                    const char *slow_points, unsigned kills,
                    unsigned slow_kills, int lo, int span);

/* A private broker (tests/kafka/broker.sh in the directory), started;
 * its run directory. */
const char *outbox_private_broker(void);

#endif /* TEST_OUTBOX_CASES_H */
