/* cli_net.h: the options `capture` and `live` share for the connection to
 * CryptoCompare (--ws-url, --rest-url, --api-key-file, --api-key,
 * --ca-file, --insecure, --max-message): their table entries, their help
 * and how each is taken, written once. */
#ifndef CLI_NET_H
#define CLI_NET_H

#include <getopt.h>
#include <stddef.h>

#include "live.h"

/* The options, in table order; a command gives them the ids first ..
 * first + CLI_NET__COUNT - 1. */
enum cli_net_opt {
    CLI_NET_WS_URL,
    CLI_NET_REST_URL,
    CLI_NET_KEY_FILE,
    CLI_NET_KEY,
    CLI_NET_CA,
    CLI_NET_INSECURE,
    CLI_NET_MAX_MSG,
    CLI_NET__COUNT
};

/* Their getopt_long entries, ids from first. */
#define CLI_NET_OPTIONS(first)                                               \
    {"ws-url", required_argument, NULL, (first) + CLI_NET_WS_URL},           \
    {"rest-url", required_argument, NULL, (first) + CLI_NET_REST_URL},       \
    {"api-key-file", required_argument, NULL, (first) + CLI_NET_KEY_FILE},   \
    {"api-key", required_argument, NULL, (first) + CLI_NET_KEY},             \
    {"ca-file", required_argument, NULL, (first) + CLI_NET_CA},              \
    {"insecure", no_argument, NULL, (first) + CLI_NET_INSECURE},             \
    {"max-message", required_argument, NULL, (first) + CLI_NET_MAX_MSG}

/* Their lines of --help. */
#define CLI_NET_HELP                                                         \
    "  --ws-url URL        the streamer (default\n"                          \
    "                      wss://streamer.cryptocompare.com/v2)\n"           \
    "  --rest-url URL      min-api (default\n"                               \
    "                      https://min-api.cryptocompare.com)\n"             \
    "  --api-key-file FILE the API key on FILE's first line; default:\n"     \
    "                      $CRYPTOCOMPARE_API_KEY, else\n"                   \
    "                      $CCSTREAM_API_KEY. Sent in headers only,\n"       \
    "                      never logged, redacted from a capture.\n"         \
    "                      A key on the command line is refused.\n"          \
    "  --ca-file FILE      trust these CAs (default: the system's)\n"        \
    "  --insecure          no TLS verification (a loud warning)\n"           \
    "  --max-message N     largest WebSocket message, bytes (default\n"      \
    "                      16777216): a larger one closes with 1009\n"

/* Take option which (enum cli_net_opt) with value v into o, or the key
 * file's name into *key_file. MD_OK, or MD_E_USAGE with why (for
 * "--name: why"). */
int cli_net_opt(struct live_opts *o, const char **key_file, int which,
                const char *v, char *why, size_t n);

#endif /* CLI_NET_H */
