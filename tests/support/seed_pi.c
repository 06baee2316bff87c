/* seed_pi.c: the projection pi onto the seed. See seed_pi.h. */
#include "seed_pi.h"

#include "fsm.h"
#include "fsm_pub.h"

const char *pi_state(unsigned s)
{
    switch (s) {
    case PUB_S_IDLE:
    case PUB_S_STOPPED:
        return "Idle";
    case PUB_S_FETCHING:
        return "FetchingData";
    case PUB_S_PUBLISHING:
    case PUB_S_DRAINING:
        return "Publishing";
    case PUB_S_ERROR:
        return "Error";
    case PUB_S_CREATING_TOPIC:
        return "CreatingTopic";
    default:
        return "?";
    }
}

/* QUEUE_FULL (a refusal at once, back-pressure) has no seed counterpart:
 * it keeps its name, as every input the seed does not have. */
const char *pi_input(unsigned i)
{
    switch (i) {
    case PUB_I_PUBLISH_REJECTED:
    case PUB_I_PRODUCER_FATAL:
        return "PUBLISH_FAILURE";
    default:
        return pub_def.input_names[i];
    }
}

const char *pi_out(unsigned o)
{
    switch (o) {
    case PUB_O_START_FETCH:
        return "START_FETCH";
    case PUB_O_START_PUBLISH:
    case PUB_O_START_PUBLISH_QUEUED:
        return "START_PUBLISH";
    case PUB_O_HANDLE_ERROR_PUBLISH:
    case PUB_O_HANDLE_ERROR_FETCH:
    case PUB_O_HANDLE_ERROR_TOPIC:
    case PUB_O_HANDLE_ERROR_FATAL:
        return "HANDLE_ERROR";
    case PUB_O_RESET_ERROR:
        return "RESET_ERROR";
    case PUB_O_CREATE_NEW_TOPIC:
    case PUB_O_CREATE_NEW_TOPIC_NEXT:
        return "CREATE_NEW_TOPIC";
    default:
        return "-";
    }
}
