/* cmocka_inc.h: cmocka needs these before it (and, with UNIT_TESTING, its
 * malloc/free macros must come after <stdlib.h>); include this instead. */
#ifndef CMOCKA_INC_H
#define CMOCKA_INC_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#endif
