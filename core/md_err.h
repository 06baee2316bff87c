/* md_err.h: the project-wide error codes and their names.
 *
 * Every function in ccstream that can fail returns int: MD_OK (0) on
 * success or a negative MD_E* code. md_strerror() names a code for
 * people; md_errname() gives the symbol for logs and tests.
 * Pure: no I/O, no allocation. */
#ifndef MD_ERR_H
#define MD_ERR_H

#define MD_ERR_LIST(X)                                                   \
    X(MD_OK, 0, "success")                                               \
    X(MD_E_INVAL, -1, "invalid argument")                                \
    X(MD_E_FULL, -2, "output buffer full")                               \
    X(MD_E_PROTO, -3, "protocol violation or malformed input")           \
    X(MD_E_TRUNC, -4, "truncated input")                                 \
    X(MD_E_NOMEM, -5, "out of memory")                                   \
    X(MD_E_STATE, -6, "illegal transition or broken invariant")          \
    X(MD_E_RANGE, -7, "value out of range")                              \
    X(MD_E_IO, -8, "input/output error")                                 \
    X(MD_E_NOTFOUND, -9, "not found")                                    \
    X(MD_E_UNSUPPORTED, -10, "unsupported")                              \
    X(MD_E_CORRUPT, -11, "corrupt or foreign file")                      \
    X(MD_E_VERSION, -12, "file written by a newer version")              \
    X(MD_E_TIMEOUT, -13, "timed out")                                    \
    X(MD_E_KAFKA, -14, "Kafka client error")                             \
    X(MD_E_NET, -15, "network error")                                    \
    X(MD_E_USAGE, -16, "usage error")

enum md_rc {
#define MD_ERR_ENUM(name, value, text) name = value,
    MD_ERR_LIST(MD_ERR_ENUM)
#undef MD_ERR_ENUM
    MD_E__LAST = -17
};

/* A short English description of rc. Never NULL; unknown codes give
 * "unknown error". The string is static. */
const char *md_strerror(int rc);

/* The symbolic name of rc ("MD_E_PROTO"). Never NULL; static. */
const char *md_errname(int rc);

#endif /* MD_ERR_H */
