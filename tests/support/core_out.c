/* core_out.c: reading a step's actions in tests. See core_out.h. */
#include "core_out.h"

mono_ns out_armed(const struct md_out *o, enum md_timer timer)
{
    mono_ns d = -1;
    size_t i;

    for (i = 0; i < o->n; i++) {
        if (o->a[i].kind == MD_A_ARM_TIMER && o->a[i].timer == timer) {
            d = o->a[i].deadline_ns;
        }
    }
    return d;
}

uint64_t out_sum(const struct md_out *o, enum md_act_kind k)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < o->n; i++) {
        n += o->a[i].kind == k ? (o->a[i].arg ? o->a[i].arg : 1) : 0;
    }
    return n;
}
