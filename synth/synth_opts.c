/* synth_opts.c: what `ccstream synth` is asked for: the scenarios (their
 * names, what each shows, the faults and quiet spells each scripts), the
 * options (defaults, the text form "name=value,...", their checks), and
 * the configuration a session records (the series, the REST policy, as
 * JSON). The simulation itself is synth.c. docs/synth.md. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "md_err.h"
#include "rest_policy.h"
#include "synth.h"
#include "synth_int.h"
#include "version.h"

static const struct {
    const char *name, *what;
} scenarios[SYNTH_SC__COUNT] = {
    [SYNTH_SC_DEFAULT] = {"default",
                          "reference 9.1: preflight, welcome, SubAdd, "
                          "snapshots, replays, one abrupt drop (1006) "
                          "and reconnect with overlapping replays, "
                          "REST backfill of the gap, postflight"},
    [SYNTH_SC_ABRUPT_DISCONNECT] = {"abrupt-disconnect",
                                    "drop mid-bar (WS error, 1006, no "
                                    "close frame); the first reconnect is "
                                    "refused, the second succeeds"},
    [SYNTH_SC_CLEAN_CLOSE] = {"clean-close",
                              "server close frames: 1001 going away at "
                              "40%, 1000 at 80%; both reconnected"},
    [SYNTH_SC_FORCE_DISCONNECT] = {"force-disconnect",
                                   "TYPE 500 FORCE_DISCONNECT, the client "
                                   "closes and reconnects"},
    [SYNTH_SC_HEARTBEAT_STALL] = {"heartbeat-stall",
                                  "the socket goes silent (no heartbeat, "
                                  "no data); the client closes it after "
                                  "75 s and reconnects"},
    [SYNTH_SC_UNAUTHORIZED] = {"unauthorized",
                               "after a drop the reconnect is answered "
                               "TYPE 401 UNAUTHORIZED; the client closes "
                               "and stays down"},
    [SYNTH_SC_TOO_MANY_SOCKETS] = {"too-many-sockets",
                                   "after a drop the reconnect is answered "
                                   "TYPE 429 TOO_MANY_SOCKETS_MAX_1_PER_"
                                   "CLIENT; closed, 300 s back-off, "
                                   "reconnect"},
    [SYNTH_SC_INVALID_SUB] = {"invalid-sub",
                              "SubAdd with unknown pairs, a malformed sub "
                              "and a duplicate: INVALID_SUB and "
                              "SUBSCRIPTION_ALREADY_ACTIVE"},
    [SYNTH_SC_REST_RATE_LIMIT] = {"rest-rate-limit",
                                  "a preflight answer is the Type 99 rate "
                                  "limit body (HTTP 200); retried when the "
                                  "minute window resets"},
    [SYNTH_SC_REST_UNAUTHORIZED] = {"rest-unauthorized",
                                    "REST answers HTTP 401 with the 2026 "
                                    "Err envelope; the queued requests "
                                    "are dropped"},
    [SYNTH_SC_MALFORMED_FRAME] = {"malformed-frame",
                                  "two frames that are not valid JSON (a "
                                  "stray comma, a NaN)"},
    [SYNTH_SC_TRUNCATED_FRAME] = {"truncated-frame",
                                  "two frames cut short (a trade, a CCCAGG "
                                  "update)"},
    [SYNTH_SC_DUPLICATE_TRADES] = {"duplicate-trades",
                                   "two reconnects with overlapping "
                                   "replays, and trades re-sent after "
                                   "LOADCOMPLETE"},
    [SYNTH_SC_LATE_TRADES] = {"late-trades",
                              "trades arriving 3-60 s after their minute "
                              "closed (revisions), one beyond 120 s"},
    [SYNTH_SC_OUT_OF_ORDER] = {"out-of-order",
                               "about 10% of trades out of order by up to "
                               "1 s"},
    [SYNTH_SC_GAP_BACKFILL] = {"gap-backfill",
                               "a drop, then reconnects refused for four "
                               "minutes: the gap is backfilled by REST in "
                               "two rounds (settled bars, then the rest)"},
};

const char *synth_scenario_name(int sc)
{
    if (sc <= SYNTH_SC_INVALID || sc >= SYNTH_SC__COUNT) {
        return NULL;
    }
    return scenarios[sc].name;
}

const char *synth_scenario_what(int sc)
{
    if (sc <= SYNTH_SC_INVALID || sc >= SYNTH_SC__COUNT) {
        return "";
    }
    return scenarios[sc].what;
}

int synth_scenario_from_name(const char *name)
{
    int sc;

    if (name == NULL) {
        return SYNTH_SC_INVALID;
    }
    for (sc = SYNTH_SC_INVALID + 1; sc < SYNTH_SC__COUNT; sc++) {
        if (strcmp(name, scenarios[sc].name) == 0) {
            return sc;
        }
    }
    return SYNTH_SC_INVALID;
}

/* ---------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------- */

void synth_opts_default(struct synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->minutes = SYNTH_MINUTES_DEFAULT;
    o->seed = SYNTH_SEED_DEFAULT;
    o->symbols = SYNTH_SYMBOLS_DEFAULT;
    o->n_symbols = 3;
    memcpy(o->exchange, SYNTH_EXCHANGE_DEFAULT,
           sizeof SYNTH_EXCHANGE_DEFAULT);
    o->scenario = SYNTH_SC_DEFAULT;
    o->start_s = SYNTH_START_DEFAULT;
}

void sy_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
}

static bool sym_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The symbols of a comma-separated list, checked: into names[0..*n)
 * when names is not NULL (room for every symbol the list holds), else
 * only counted. MD_OK or MD_E_USAGE with errbuf. */
static int parse_symbols(const char *list, char (*names)[RP_SYM_MAX + 1],
                         unsigned *n_out, char *errbuf, size_t errlen)
{
    unsigned n = 0;
    const char *p = list;

    if (list == NULL || *list == '\0') {
        sy_errf(errbuf, errlen, "%sempty symbol list", "");
        return MD_E_USAGE;
    }
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        const char *q;
        size_t k;

        if (len == 0) {
            sy_errf(errbuf, errlen, "empty symbol in '%s'", list);
            return MD_E_USAGE;
        }
        if (len > RP_SYM_MAX) {
            sy_errf(errbuf, errlen, "symbol too long (15 at most) in '%s'",
                 list);
            return MD_E_USAGE;
        }
        for (k = 0; k < len; k++) {
            if (!sym_char_ok(p[k])) {
                sy_errf(errbuf, errlen,
                     "bad symbol in '%s' (upper-case letters and digits)",
                     list);
                return MD_E_USAGE;
            }
        }
        if (len == 3 && memcmp(p, "USD", 3) == 0) {
            sy_errf(errbuf, errlen, "USD is the quote, not a symbol ('%s')",
                 list);
            return MD_E_USAGE;
        }
        /* the symbols before this one, in the list itself */
        for (q = list; q < p;) {
            const char *qe = strchr(q, ',');
            if ((size_t)(qe - q) == len && memcmp(q, p, len) == 0) {
                sy_errf(errbuf, errlen, "duplicate symbol in '%.64s%s'", list,
                     strlen(list) > 64 ? "..." : "");
                return MD_E_USAGE;
            }
            q = qe + 1;
        }
        if (names != NULL) {
            memcpy(names[n], p, len);
            names[n][len] = '\0';
        }
        n++;
        if (e == NULL) {
            break;
        }
        p = e + 1;
    }
    *n_out = n;
    return MD_OK;
}

/* The symbols of o as an array of n_symbols names (malloc'd: the caller
 * frees it), or NULL when out of memory. o was checked. */
char (*sy_symbol_names(const struct synth_opts *o))[RP_SYM_MAX + 1]
{
    char(*names)[RP_SYM_MAX + 1] = calloc(o->n_symbols, sizeof *names);
    unsigned n = 0;

    if (names != NULL &&
        (parse_symbols(o->symbols, names, &n, NULL, 0) != MD_OK ||
         n != o->n_symbols)) {
        free(names);
        names = NULL;
    }
    return names;
}

int synth_set_symbols(struct synth_opts *o, const char *list, char *errbuf,
                      size_t errlen)
{
    unsigned n = 0;
    int rc = parse_symbols(list, NULL, &n, errbuf, errlen);

    if (rc != MD_OK) {
        return rc;
    }
    o->symbols = list;
    o->n_symbols = n;
    return MD_OK;
}

int synth_set_exchange(struct synth_opts *o, const char *name, char *errbuf,
                       size_t errlen)
{
    size_t len, k;

    len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len > RP_MARKET_MAX) {
        sy_errf(errbuf, errlen, "bad exchange name '%s' (1..31 characters)",
             name != NULL ? name : "");
        return MD_E_USAGE;
    }
    for (k = 0; k < len; k++) {
        char c = name[k];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            sy_errf(errbuf, errlen,
                 "bad exchange name '%s' (letters, digits, '.', '_', '-')",
                 name);
            return MD_E_USAGE;
        }
    }
    if (strcasecmp(name, RP_INDEX_MARKET) == 0) {
        sy_errf(errbuf, errlen, "'%s' is the index, not an exchange", name);
        return MD_E_USAGE;
    }
    memcpy(o->exchange, name, len + 1);
    return MD_OK;
}

int synth_parse_start(const char *text, int64_t *start_s)
{
    unsigned y, mo, d, h, mi, s;
    int n = 0;
    char *end;
    long long v;

    if (text == NULL || *text == '\0') {
        return MD_E_USAGE;
    }
    if (text[0] >= '0' && text[0] <= '9' && strchr(text, '-') == NULL) {
        v = strtoll(text, &end, 10);
        if (*end != '\0' || v < 946684800LL || v > 4102444799LL) {
            return MD_E_USAGE;
        }
        *start_s = v;
        return MD_OK;
    }
    if (strlen(text) != 20 ||
        sscanf(text, "%4u-%2u-%2uT%2u:%2u:%2uZ%n", &y, &mo, &d, &h, &mi, &s,
               &n) != 6 ||
        n != 20) {
        return MD_E_USAGE;
    }
    if (y < 2000 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || s > 59) {
        return MD_E_USAGE;
    }
    {
        int64_t days = sy_days_from_civil(y, mo, d);
        int64_t y2;
        unsigned m2, d2;
        sy_civil_from_days(days, &y2, &m2, &d2);
        if (m2 != mo || d2 != d) { /* 2025-02-30 */
            return MD_E_USAGE;
        }
        *start_s = days * 86400 + h * 3600 + mi * 60 + s;
    }
    return MD_OK;
}

int synth_opts_check(const struct synth_opts *o, char *errbuf,
                     size_t errlen)
{
    struct synth_opts tmp = *o;
    unsigned n = 0;

    if (o->minutes < 1 || o->minutes > SYNTH_MINUTES_MAX) {
        sy_errf(errbuf, errlen, "--minutes must be 1..525600%s", "");
        return MD_E_USAGE;
    }
    if (synth_scenario_name(o->scenario) == NULL) {
        sy_errf(errbuf, errlen, "unknown scenario%s", "");
        return MD_E_USAGE;
    }
    if (o->start_s < 946684800 || o->start_s > 4102444799LL) {
        sy_errf(errbuf, errlen, "start must be in 2000..2099%s", "");
        return MD_E_USAGE;
    }
    if (parse_symbols(o->symbols, NULL, &n, errbuf, errlen) != MD_OK) {
        return MD_E_USAGE;
    }
    if (n != o->n_symbols) {
        sy_errf(errbuf, errlen, "n_symbols %u, but the list has %u",
             o->n_symbols, n);
        return MD_E_USAGE;
    }
    if (memchr(o->exchange, '\0', sizeof o->exchange) == NULL ||
        synth_set_exchange(&tmp, o->exchange, errbuf, errlen) != MD_OK) {
        return MD_E_USAGE;
    }
    return MD_OK;
}

/* The series every request is planned for: per symbol the CCCAGG index
 * (the live source is TYPE 5) and the exchange (TYPE 0 trades), 1 m. */
unsigned sy_make_series(const struct synth_opts *o,
                        const char (*names)[RP_SYM_MAX + 1],
                        struct rp_series *series)
{
    unsigned i, n = 0;

    for (i = 0; i < o->n_symbols; i++) {
        struct rp_series *a = &series[n++], *x = &series[n++];
        memset(a, 0, sizeof *a);
        memcpy(a->market, RP_INDEX_MARKET, sizeof RP_INDEX_MARKET);
        memcpy(a->base, names[i], sizeof a->base);
        memcpy(a->quote, "USD", 4);
        a->interval_s = 60;
        a->source = BAR_SRC_CCCAGG;
        *x = *a;
        memcpy(x->market, o->exchange, sizeof x->market);
        x->source = BAR_SRC_TRADES;
    }
    return n;
}

void sy_rest_config(struct rp_config *cfg)
{
    rp_config_default(cfg);
    cfg->preflight_bars = PREFLIGHT_BARS;
}

int synth_config_json(const struct synth_opts *o, char *buf, size_t cap)
{
    struct sy_buf b;
    struct rp_series *series = calloc(2 * (size_t)o->n_symbols + 1,
                                      sizeof *series);
    char(*names)[RP_SYM_MAX + 1] = sy_symbol_names(o);
    struct rp_config cfg;
    char iso[32];
    unsigned i, n;

    if (series == NULL || names == NULL) {
        free(series);
        free(names);
        return -1;
    }
    sy_rest_config(&cfg);
    n = sy_make_series(o, (const char(*)[RP_SYM_MAX + 1])names, series);
    sy_buf_init(&b, buf, cap);
    SY_LIT(&b, "{\"generator\":\"ccstream synth\",\"version\":");
    sy_qstr(&b, CCSTREAM_VERSION);
    SY_LIT(&b, ",\"scenario\":");
    sy_qstr(&b, synth_scenario_name(o->scenario) != NULL
                    ? synth_scenario_name(o->scenario)
                    : "?");
    SY_LIT(&b, ",\"minutes\":");
    sy_u64(&b, o->minutes);
    SY_LIT(&b, ",\"seed\":");
    sy_u64(&b, o->seed);
    SY_LIT(&b, ",\"symbols\":[");
    for (i = 0; i < o->n_symbols; i++) {
        if (i > 0) {
            sy_putc(&b, ',');
        }
        sy_qstr(&b, names[i]);
    }
    SY_LIT(&b, "],\"quote\":\"USD\",\"exchange\":");
    sy_qstr(&b, o->exchange);
    sy_iso8601(o->start_s, iso, sizeof iso);
    SY_LIT(&b, ",\"start\":");
    sy_qstr(&b, iso);
    SY_LIT(&b, ",\"max_frames\":");
    sy_u64(&b, o->max_frames);
    SY_LIT(&b, ",\"ws_url\":\"" WS_URL "\",\"rest_url\":\"" REST_URL "\"");
    SY_LIT(&b, ",\"conn\":{\"stale_timeout_s\":75,\"backoff_min_s\":5,"
               "\"backoff_max_s\":60,\"backoff_long_s\":300}");
    SY_LIT(&b, ",\"rest\":{\"settle_s\":");
    sy_i64(&b, cfg.settle_s);
    SY_LIT(&b, ",\"page_limit\":");
    sy_u64(&b, cfg.page_limit);
    SY_LIT(&b, ",\"preflight_bars\":");
    sy_u64(&b, cfg.preflight_bars);
    SY_LIT(&b, ",\"minute_depth_s\":");
    sy_i64(&b, cfg.minute_depth_s);
    SY_LIT(&b, "},\"series\":[");
    for (i = 0; i < n; i++) {
        if (i > 0) {
            sy_putc(&b, ',');
        }
        SY_LIT(&b, "{\"market\":");
        sy_qstr(&b, series[i].market);
        SY_LIT(&b, ",\"base\":");
        sy_qstr(&b, series[i].base);
        SY_LIT(&b, ",\"quote\":\"USD\",\"interval_s\":60,\"source\":");
        sy_qstr(&b, bar_source_name(series[i].source));
        sy_putc(&b, '}');
    }
    SY_LIT(&b, "]}");
    free(series);
    free(names);
    return b.full ? -1 : (int)b.len;
}
