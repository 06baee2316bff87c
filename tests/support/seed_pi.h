/* seed_pi.h: the projection pi of the publisher machine onto the original
 * design's machine (docs/mealy.md, "Projection pi onto the seed"): its
 * states, inputs and outputs by the seed's names. One table for every test
 * that reads a publisher transition as the seed's (test_fsm_pi,
 * test_fsm_scenarios). */
#ifndef TEST_SEED_PI_H
#define TEST_SEED_PI_H

/* pi on states: Idle, FetchingData, Publishing, Error, CreatingTopic ("?"
 * for a state that is none of the publisher's). */
const char *pi_state(unsigned s);

/* pi on inputs: the seed has one failure input, PUBLISH_FAILURE; ccstream
 * refines it into three classes of final failure (fsm_pub.h). Every other
 * input keeps its own name. */
const char *pi_input(unsigned i);

/* pi on outputs: the seed's actions keep their names, their suffixed
 * variants (one per distinct effect) map back to them, the rest is "-". */
const char *pi_out(unsigned o);

#endif /* TEST_SEED_PI_H */
