/* core_out.h: reading a step's actions (struct md_out) in tests: the
 * deadline a timer was armed with, the actions of one kind counted. */
#ifndef TEST_CORE_OUT_H
#define TEST_CORE_OUT_H

#include <stdint.h>

#include "md_types.h"

/* The deadline the step's last arming of timer set, or -1 when the step
 * did not arm it. */
mono_ns out_armed(const struct md_out *o, enum md_timer timer);

/* The step's actions of kind k, each counted by its arg (n bars, n
 * requests) or 1 when its arg is 0. */
uint64_t out_sum(const struct md_out *o, enum md_act_kind k);

#endif /* TEST_CORE_OUT_H */
