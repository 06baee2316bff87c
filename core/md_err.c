/* md_err.c: names and descriptions of the MD_E* codes. Pure. */
#include "md_err.h"

const char *md_strerror(int rc)
{
    switch (rc) {
#define MD_ERR_TEXT(name, value, text)                                   \
    case value:                                                          \
        return text;
        MD_ERR_LIST(MD_ERR_TEXT)
#undef MD_ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *md_errname(int rc)
{
    switch (rc) {
#define MD_ERR_NAME(name, value, text)                                   \
    case value:                                                          \
        return #name;
        MD_ERR_LIST(MD_ERR_NAME)
#undef MD_ERR_NAME
    default:
        return "MD_E_UNKNOWN";
    }
}
