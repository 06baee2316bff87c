/* cmd_serve.c: `ccstream serve`: a fake CryptoCompare on loopback
 * (serve/serve.h; docs/serve.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "md_err.h"
#include "md_parse.h"
#include "serve.h"

#define NS_PER_S INT64_C(1000000000)

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream serve SOURCE [options]\n"
        "\n"
        "A fake CryptoCompare on one port: the streamer v2 WebSocket at /v2\n"
        "and the min-api REST endpoints, played from SOURCE:\n"
        "  a capture file (ccstream capture, synth, import), or\n"
        "  synth:minutes=N,seed=S[,scenario=NAME][,symbols=A+B][,exchange=X]\n"
        "        [,start=T]   a synth session, generated first\n"
        "\n"
        "Listening:\n"
        "  --listen HOST[:PORT]  address (default 127.0.0.1:8787; loopback\n"
        "                        unless told otherwise)\n"
        "  --port N              the port alone; 0 picks a free one (printed)\n"
        "  --tls                 wss:// and https:// with a certificate made\n"
        "                        at start; the CA file's path is printed\n"
        "  --tls-dir DIR         write the CA, certificate and key there\n"
        "                        (kept); default: a temporary directory\n"
        "                        removed at exit\n"
        "\n"
        "Time:\n"
        "  --speed K             the source's timing x K (default 1); 'max':\n"
        "                        as fast as each client reads, from the\n"
        "                        source's start (back-pressure: nothing is\n"
        "                        buffered beyond what the socket takes)\n"
        "  --rebase-time[=UNIT]  shift every time (TS, RTS, LASTUPDATE,\n"
        "                        TIMEMS, SERVER_TIME_MS, REST times) to the\n"
        "                        present by whole UNITs (default 1d), so each\n"
        "                        bar boundary keeps its phase (the default)\n"
        "  --no-rebase           keep the recorded times\n"
        "  --loop[=UNIT]         play the source again at its end, shifted\n"
        "                        by its length rounded up to UNIT (default\n"
        "                        1m), trade ids shifted too\n"
        "  --heartbeat DUR       TYPE 999 period in source time (30s)\n"
        "  --ping DUR            WebSocket ping period (30s; 0: none)\n"
        "  --max-time DUR        stop after DUR (default: at SIGINT/SIGTERM)\n"
        "\n"
        "Behaviour:\n"
        "  --one-socket-per-key  a second socket of a key gets TYPE 429\n"
        "                        TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\n"
        "  --max-subs N          subscriptions per socket (600)\n"
        "  --auth-mode MODE      legacy (default) or 2026: REST without a key\n"
        "                        answers HTTP 401 and the Err envelope\n"
        "  --rate-limit S,M,H,D,MO  REST calls per key per second, minute,\n"
        "                        hour, day, month (default the free tier\n"
        "                        20,300,3000,7500,50000; 0: unlimited)\n"
        "  --no-recorded         synthesise every REST answer, even those the\n"
        "                        capture recorded\n"
        "\n"
        "Faults (T: a duration from the source's first frame, as replay's\n"
        "--inject: DIGITS[.DIGITS][ns|us|ms|s|m|h|d]):\n"
        "  --fault KIND@T[:ARG]  drop, close[:CODE], force-disconnect,\n"
        "                        stall[:DUR], heartbeat-stall[:DUR],\n"
        "                        gap[:DUR], slow[:DUR], malformed, truncated,\n"
        "                        too-many-sockets, rest-error[:STATUS],\n"
        "                        rest-delay[:DUR], rest-rate-limit, rest-drop\n"
        "  --faults FILE         one fault per line, '#' comments\n"
        "\n"
        "  --quiet               no summary at exit\n"
        "  -h, --help            this text\n"
        "\n"
        "Clients: ws://127.0.0.1:PORT/v2?api_key=KEY and\n"
        "http://127.0.0.1:PORT/data/v2/histominute?fsym=BTC&tsym=USD; see\n"
        "docs/serve.md. Exit status: 0 ok, 1 error, 2 usage.\n");
}

static int parse_listen(struct serve_opts *o, const char *v)
{
    const char *colon = strrchr(v, ':');
    size_t hn;
    uint64_t port;

    if (v[0] == '[') { /* [::1]:PORT */
        const char *close = strchr(v, ']');
        if (close == NULL) {
            return -1;
        }
        hn = (size_t)(close - v - 1);
        if (hn == 0 || hn >= sizeof o->host) {
            return -1;
        }
        memcpy(o->host, v + 1, hn);
        o->host[hn] = '\0';
        if (close[1] == '\0') {
            return 0;
        }
        if (close[1] != ':') {
            return -1;
        }
        colon = close + 1;
    } else if (colon == NULL || strchr(v, ':') != colon) {
        /* a host alone (or a bare IPv6 address) */
        if (strlen(v) == 0 || strlen(v) >= sizeof o->host) {
            return -1;
        }
        snprintf(o->host, sizeof o->host, "%s", v);
        return 0;
    } else {
        hn = (size_t)(colon - v);
        if (hn == 0 || hn >= sizeof o->host) {
            return -1;
        }
        memcpy(o->host, v, hn);
        o->host[hn] = '\0';
    }
    if (md_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != MD_OK) {
        return -1;
    }
    o->port = (int)port;
    return 0;
}

static int parse_unit(const char *v, int64_t *unit_s)
{
    int64_t ns;

    if (md_parse_duration(v, strlen(v), NS_PER_S, INT64_C(366) * 86400 *
                                                      NS_PER_S,
                          &ns) != MD_OK ||
        ns < NS_PER_S || ns % NS_PER_S != 0) {
        return -1;
    }
    *unit_s = ns / NS_PER_S;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    enum {
        O_LISTEN = 256, O_PORT, O_TLS, O_TLS_DIR, O_SPEED, O_REBASE,
        O_NO_REBASE, O_LOOP, O_HB, O_PING, O_MAX_TIME, O_ONE, O_MAX_SUBS,
        O_AUTH, O_RATE, O_NO_REC, O_FAULT, O_FAULTS, O_QUIET
    };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"listen", required_argument, NULL, O_LISTEN},
        {"port", required_argument, NULL, O_PORT},
        {"tls", no_argument, NULL, O_TLS},
        {"tls-dir", required_argument, NULL, O_TLS_DIR},
        {"speed", required_argument, NULL, O_SPEED},
        {"rebase-time", optional_argument, NULL, O_REBASE},
        {"no-rebase", no_argument, NULL, O_NO_REBASE},
        {"loop", optional_argument, NULL, O_LOOP},
        {"heartbeat", required_argument, NULL, O_HB},
        {"ping", required_argument, NULL, O_PING},
        {"max-time", required_argument, NULL, O_MAX_TIME},
        {"one-socket-per-key", no_argument, NULL, O_ONE},
        {"max-subs", required_argument, NULL, O_MAX_SUBS},
        {"auth-mode", required_argument, NULL, O_AUTH},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"no-recorded", no_argument, NULL, O_NO_REC},
        {"fault", required_argument, NULL, O_FAULT},
        {"faults", required_argument, NULL, O_FAULTS},
        {"quiet", no_argument, NULL, O_QUIET},
        {NULL, 0, NULL, 0},
    };
    struct serve_opts *o = malloc(sizeof *o);
    char err[1024];
    int c, rc;
    uint64_t u;
    int64_t ns;

    if (o == NULL) {
        fprintf(stderr, "ccstream serve: out of memory\n");
        return 1;
    }
    serve_opts_default(o);
    o->port = 8787;
    cli_opt_begin();
    while ((c = cli_opt_next("serve", argc, argv, ":h", longopts)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'h':
            usage(stdout);
            free(o);
            return 0;
        case O_LISTEN:
            if (parse_listen(o, optarg) != 0) {
                bad = "--listen takes HOST[:PORT] (127.0.0.1:8787, "
                      "[::1]:0)";
            }
            break;
        case O_PORT:
            if (md_parse_u64(optarg, strlen(optarg), 65535, &u) != MD_OK) {
                bad = "--port takes 0 to 65535";
            } else {
                o->port = (int)u;
            }
            break;
        case O_TLS:
            o->tls = true;
            break;
        case O_TLS_DIR:
            o->tls_dir = optarg;
            o->tls = true;
            break;
        case O_SPEED:
            if (strcmp(optarg, "max") == 0) {
                o->speed = 0;
            } else if (md_parse_real(optarg, strlen(optarg), 0.001, 1e6,
                                     &o->speed) != MD_OK) {
                bad = "--speed takes 0.001 to 1000000, or max";
            }
            break;
        case O_REBASE:
            o->rebase = true;
            if (optarg != NULL && parse_unit(optarg, &o->rebase_unit_s) != 0) {
                bad = "--rebase-time=UNIT takes a whole number of seconds "
                      "up to 366d (1m, 1h, 1d)";
            }
            break;
        case O_NO_REBASE:
            o->rebase = false;
            break;
        case O_LOOP:
            o->loop = true;
            if (optarg != NULL && parse_unit(optarg, &o->loop_unit_s) != 0) {
                bad = "--loop=UNIT takes a whole number of seconds (1m, 1h)";
            }
            break;
        case O_HB:
            if (md_parse_duration(optarg, strlen(optarg), NS_PER_S,
                                  INT64_C(3600) * NS_PER_S, &ns) != MD_OK ||
                ns < 1000000) {
                bad = "--heartbeat takes 1ms to 1h";
            } else {
                o->heartbeat_ns = ns;
            }
            break;
        case O_PING:
            if (md_parse_duration(optarg, strlen(optarg), NS_PER_S,
                                  INT64_C(3600) * NS_PER_S, &ns) != MD_OK ||
                (ns != 0 && ns < NS_PER_S)) {
                bad = "--ping takes 0 (none) or 1s to 1h";
            } else {
                o->ping_s = ns / NS_PER_S;
            }
            break;
        case O_MAX_TIME:
            if (md_parse_duration(optarg, strlen(optarg), NS_PER_S,
                                  INT64_C(366) * 86400 * NS_PER_S, &ns) !=
                    MD_OK ||
                ns <= 0) {
                bad = "--max-time takes a positive duration";
            } else {
                o->max_time_ns = ns;
            }
            break;
        case O_ONE:
            o->one_socket_per_key = true;
            break;
        case O_MAX_SUBS:
            if (md_parse_u64(optarg, strlen(optarg), 1000000, &u) != MD_OK ||
                u == 0) {
                bad = "--max-subs takes 1 to 1000000";
            } else {
                o->max_subs = (unsigned)u;
            }
            break;
        case O_AUTH:
            if (strcmp(optarg, "legacy") == 0) {
                o->rest.auth_mode = 0;
            } else if (strcmp(optarg, "2026") == 0) {
                o->rest.auth_mode = 2026;
            } else {
                bad = "--auth-mode takes legacy or 2026";
            }
            break;
        case O_RATE: {
            const char *p = optarg;
            unsigned w;
            for (w = 0; w < SREST_W__COUNT && bad == NULL; w++) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (md_parse_u64(p, n, UINT32_MAX, &u) != MD_OK ||
                    (w + 1 < SREST_W__COUNT && e == NULL) ||
                    (w + 1 == SREST_W__COUNT && e != NULL)) {
                    bad = "--rate-limit takes five whole numbers: second,"
                          "minute,hour,day,month (0: unlimited)";
                    break;
                }
                o->rest.max_calls[w] = u;
                p = e ? e + 1 : p + n;
            }
            break;
        }
        case O_NO_REC:
            o->rest.no_recorded = true;
            break;
        case O_FAULT:
            if (serve_add_fault(o, optarg, err, sizeof err) != MD_OK) {
                fprintf(stderr, "ccstream serve: %s\n", err);
                free(o);
                return 2;
            }
            break;
        case O_FAULTS:
            if ((rc = serve_load_faults(o, optarg, err, sizeof err)) !=
                MD_OK) {
                fprintf(stderr, "ccstream serve: %s\n", err);
                free(o);
                return rc == MD_E_USAGE ? 2 : 1;
            }
            break;
        case O_QUIET:
            o->quiet = true;
            break;
        default:
            usage(stderr);
            free(o);
            return 2;
        }
        if (bad != NULL) {
            fprintf(stderr, "ccstream serve: %s\n", bad);
            free(o);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "ccstream serve: %s\n",
                optind >= argc ? "give one SOURCE: a capture file or "
                                 "synth:minutes=N,seed=S"
                               : "one SOURCE only");
        usage(stderr);
        free(o);
        return 2;
    }
    o->source = argv[optind];
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = serve_run(o, err, sizeof err);
    free(o);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream serve: %s\n", err);
        return rc == MD_E_USAGE ? 2 : 1;
    }
    return 0;
}
