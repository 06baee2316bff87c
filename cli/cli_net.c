/* cli_net.c: the connection options capture and live share. See
 * cli_net.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_net.h"
#include "md_err.h"
#include "md_parse.h"

int cli_net_opt(struct live_opts *o, const char **key_file, int which,
                const char *v, char *why, size_t n)
{
    uint64_t u;

    switch (which) {
    case CLI_NET_WS_URL:
        o->ws_url = v;
        return MD_OK;
    case CLI_NET_REST_URL:
        o->rest_url = v;
        return MD_OK;
    case CLI_NET_KEY_FILE:
        *key_file = v;
        return MD_OK;
    case CLI_NET_KEY:
        snprintf(why, n, "a key written out in full is visible to everyone "
                 "who can read it (a command line: every user of this "
                 "machine): put it in a file of its own (--api-key-file) "
                 "or in $CRYPTOCOMPARE_API_KEY");
        return MD_E_USAGE;
    case CLI_NET_CA:
        o->ca_file = v;
        return MD_OK;
    case CLI_NET_INSECURE:
        o->insecure = true;
        return MD_OK;
    case CLI_NET_MAX_MSG:
        if (md_parse_u64(v, strlen(v), UINT64_C(1) << 30, &u) != MD_OK ||
            u < 1024) {
            snprintf(why, n, "takes 1024 to 1073741824 bytes");
            return MD_E_USAGE;
        }
        o->max_message = (size_t)u;
        return MD_OK;
    default:
        snprintf(why, n, "not a connection option");
        return MD_E_USAGE;
    }
}
