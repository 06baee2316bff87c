/* crash.h: crash points for the tests of docs/delivery.md. With
 * CCSTREAM_CRASH_AT=NAME:N in the environment the process kills itself
 * (SIGKILL: no handler, no flush, no exit code of its own) the Nth time
 * it passes point NAME; without it a crash point costs a branch. Names:
 *   produce        a row handed to the producer
 *   ack            an acknowledgement taken, before the outbox knows it
 *   commit-before  inside the commit's transaction, before COMMIT
 *   commit-after   the commit done, before anything acts on it
 *   txn-commit     exactly once: the transaction's records and progress
 *                  record produced, before commit_transaction
 * Shell code. */
#ifndef PUBLISH_CRASH_H
#define PUBLISH_CRASH_H

enum crash_at {
    CRASH_PRODUCE = 0,
    CRASH_ACK,
    CRASH_COMMIT_BEFORE,
    CRASH_COMMIT_AFTER,
    CRASH_TXN_COMMIT,
    CRASH__COUNT
};

void crash_point(enum crash_at at);

#endif /* PUBLISH_CRASH_H */
