/* cmocka_inc.h: cmocka needs these before it; include this instead. */
#ifndef CMOCKA_INC_H
#define CMOCKA_INC_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#endif
