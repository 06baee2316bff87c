/* md_civil.h: civil (proleptic Gregorian, UTC) dates <-> days since
 * 1970-01-01, Howard Hinnant's algorithms. Pure; exact for every int64 day
 * count a timestamp in ns can hold. */
#ifndef MD_CIVIL_H
#define MD_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t md_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The civil date of day z since 1970-01-01. */
void md_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif /* MD_CIVIL_H */
