/* cli_key.c: the CryptoCompare API key a command should scrub from what
 * it writes (contract in cli.h). Never printed, never on a command line:
 * a file's first line or the environment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "md_err.h"

int cli_api_key(const char *file, char *key, size_t cap, char *err,
                size_t errlen)
{
    const char *env;
    size_t n;

    key[0] = '\0';
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            snprintf(err, errlen, "--api-key-file %s: %s", file,
                     strerror(errno));
            return MD_E_IO;
        }
        if (fgets(key, (int)cap, f) == NULL) {
            key[0] = '\0';
        }
        fclose(f);
    } else if ((env = getenv("CCSTREAM_API_KEY")) != NULL) {
        if (strlen(env) >= cap) {
            snprintf(err, errlen, "CCSTREAM_API_KEY is longer than %zu "
                     "bytes", cap - 1);
            return MD_E_INVAL;
        }
        memcpy(key, env, strlen(env) + 1);
    }
    n = strlen(key);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r' ||
                     key[n - 1] == ' ' || key[n - 1] == '\t')) {
        key[--n] = '\0';
    }
    if (n > 0 && n < 8) {
        snprintf(err, errlen, "the API key %s is shorter than 8 bytes",
                 file != NULL ? "in --api-key-file" : "in CCSTREAM_API_KEY");
        key[0] = '\0';
        return MD_E_INVAL;
    }
    return MD_OK;
}

/* The key: --api-key-file, else $CRYPTOCOMPARE_API_KEY, else
 * $CCSTREAM_API_KEY (cli_api_key's rules). */
int cli_api_key_live(const char *file, char *key, size_t cap, char *err,
                     size_t errlen)
{
    const char *env = getenv("CRYPTOCOMPARE_API_KEY");

    if (file == NULL && env != NULL && env[0] != '\0') {
        if (strlen(env) >= cap || strlen(env) < 8) {
            snprintf(err, errlen, "CRYPTOCOMPARE_API_KEY must be 8 to %zu "
                     "bytes", cap - 1);
            return MD_E_INVAL;
        }
        memcpy(key, env, strlen(env) + 1);
        return MD_OK;
    }
    return cli_api_key(file, key, cap, err, errlen);
}
