/* config.c: the core's configuration of a run, from its options and the
 * capture's session (rpl_core_config), and the session configuration a
 * recording of the run carries so that it replays configured the same
 * (rpl_session_config). Shared by replay, report and capture
 * (replay.h). */
#include <stdlib.h>
#include <string.h>

#include "md_err.h"
#include "md_parse.h"
#include "replay_int.h"
#include "rest_policy.h"

/* ---- configuration from the capture's session -------------------------- */

/* A bar interval: whole seconds, 1 s to 7 days ("90s", "1m", "1h",
 * "1d"; a bare number is seconds); -1 if not. */
static int64_t parse_interval(const char *s, size_t n)
{
    int64_t ns;

    if (md_parse_duration(s, n, NS_PER_S, AGG_INTERVAL_MAX_S * NS_PER_S,
                          &ns) != MD_OK ||
        ns <= 0 || ns % NS_PER_S != 0) {
        return -1;
    }
    return ns / NS_PER_S;
}

/* The first fault of the names (a message), or NULL: the symbol list
 * has no empty entry, each symbol and the quote are 1..BAR_SYM_MAX bytes,
 * the exchange 1..BAR_MARKET_MAX. NULL names are not given. *which: the
 * faulty one (0 symbols, 1 exchange, 2 quote). */
static const char *check_names(const char *syms, const char *ex,
                               const char *quote, int *which)
{
    static char msg[160];
    const char *p, *e;

    if (syms != NULL) {
        for (p = syms;; p = e + 1) {
            size_t n;
            e = strchr(p, ',');
            n = e != NULL ? (size_t)(e - p) : strlen(p);
            if (n == 0 || n > BAR_SYM_MAX) {
                *which = 0;
                snprintf(msg, sizeof msg, "--symbols '%.64s': %s", syms,
                         n == 0 ? "an empty symbol"
                                : "a symbol longer than 15 bytes");
                return msg;
            }
            if (e == NULL) {
                break;
            }
        }
    }
    if (ex != NULL) {
        /* one exchange or several, comma-separated */
        for (p = ex;; p = e + 1) {
            size_t n;
            e = strchr(p, ',');
            n = e != NULL ? (size_t)(e - p) : strlen(p);
            if (n == 0 || n > BAR_MARKET_MAX) {
                *which = 1;
                snprintf(msg, sizeof msg, "--exchange '%.64s': each name 1 "
                         "to %d bytes", ex, BAR_MARKET_MAX);
                return msg;
            }
            if (e == NULL) {
                break;
            }
        }
    }
    if (quote != NULL && (quote[0] == '\0' || strlen(quote) > BAR_SYM_MAX)) {
        *which = 2;
        snprintf(msg, sizeof msg, "--quote '%.64s': 1 to %d bytes", quote,
                 BAR_SYM_MAX);
        return msg;
    }
    return NULL;
}

int rpl_core_config(const struct rpl_opts *o, const char *session_config,
                    struct core_config *cfg, char *err, size_t errlen)
{
    char *syms = o->symbols ? strdup(o->symbols) : NULL;
    char *ex = o->exchange ? strdup(o->exchange) : NULL;
    char *quote = o->quote ? strdup(o->quote) : NULL;
    char *tok, *save = NULL;
    char *sess_ivs = o->intervals == NULL && session_config != NULL
                         ? meta_str(session_config, "intervals")
                         : NULL;
    const char *ivs = o->intervals ? o->intervals
                      : sess_ivs != NULL ? sess_ivs : "1m";
    const char *p;
    bool ohlc = o->ohlc;
    int rc = MD_OK;

    if (syms == NULL && session_config != NULL) {
        syms = meta_str(session_config, "symbols");
    }
    if (ex == NULL && session_config != NULL) {
        ex = meta_str(session_config, "exchange");
    }
    if (quote == NULL && session_config != NULL) {
        quote = meta_str(session_config, "quote");
    }
    core_config_default(cfg);
    {
        /* the REST policy the capture was made for (synth records it) */
        int64_t v;
        if (meta_i64(session_config, "rest", "preflight_bars", &v) &&
            v >= 1 && v <= RP_LIMIT_MAX) {
            cfg->rp.preflight_bars = (uint32_t)v;
        }
        if (meta_i64(session_config, "rest", "settle_s", &v) && v >= 0 &&
            v <= 86400) {
            cfg->rp.settle_s = v;
        }
        if (meta_i64(session_config, "rest", "page_limit", &v) && v >= 1 &&
            v <= RP_LIMIT_MAX) {
            cfg->rp.page_limit = (uint32_t)v;
        }
        if (meta_i64(session_config, "rest", "share", &v) && v >= 1 &&
            v <= 65536) {
            cfg->rp.share = (uint32_t)v;
        }
    }
    cfg->agg.emit_empty = o->emit_empty;
    {
        /* what a recording was made with (rpl_session_config), unless the
         * options say otherwise */
        int64_t v;
        if (!o->emit_empty &&
            meta_i64(session_config, NULL, "emit_empty", &v) && v == 1) {
            cfg->agg.emit_empty = true;
        }
        if (meta_i64(session_config, NULL, "stop_keeps_open", &v) &&
            v == 1) {
            cfg->stop_keeps_open = true; /* a live run with a state file */
        }
        if (o->grace == NULL &&
            meta_i64(session_config, NULL, "grace_ns", &v) && v >= 0 &&
            v <= AGG_INTERVAL_MAX_S * NS_PER_S) {
            cfg->agg.grace_ns = v;
        }
        if (o->lateness == NULL &&
            meta_i64(session_config, NULL, "lateness_ns", &v) && v >= 0 &&
            v <= AGG_INTERVAL_MAX_S * NS_PER_S) {
            cfg->agg.lateness_ns = v;
        }
        if (o->topic == NULL && session_config != NULL) {
            char *t = meta_str(session_config, "topic");
            if (t != NULL && strlen(t) < sizeof cfg->topic_template &&
                core_topic_template_check(t) == MD_OK) {
                memcpy(cfg->topic_template, t, strlen(t) + 1);
            }
            free(t);
        }
    }
    if (o->topic != NULL) {
        if (strlen(o->topic) >= sizeof cfg->topic_template ||
            core_topic_template_check(o->topic) != MD_OK) {
            snprintf(err, errlen, "bad --topic '%.64s' (characters "
                     "a-z A-Z 0-9 . _ - and the placeholders {market} "
                     "{base} {quote} {interval} {source}, at most %d)",
                     o->topic, CORE_TOPIC_TEMPLATE_MAX - 1);
            rc = MD_E_USAGE;
            goto out;
        }
        memcpy(cfg->topic_template, o->topic, strlen(o->topic) + 1);
    }
    if (o->grace != NULL) {
        int64_t g;
        if (md_parse_duration(o->grace, strlen(o->grace), NS_PER_S,
                              AGG_INTERVAL_MAX_S * NS_PER_S, &g) != MD_OK) {
            snprintf(err, errlen, "bad --grace '%.64s' (a duration "
                     "of at most 7d, e.g. 2s)", o->grace);
            rc = MD_E_USAGE;
            goto out;
        }
        cfg->agg.grace_ns = g;
    }
    if (o->lateness != NULL) {
        int64_t l;
        if (md_parse_duration(o->lateness, strlen(o->lateness), NS_PER_S,
                              AGG_INTERVAL_MAX_S * NS_PER_S, &l) != MD_OK) {
            snprintf(err, errlen, "bad --lateness '%.64s' (a duration "
                     "of at most 7d, e.g. 120s, 5m)", o->lateness);
            rc = MD_E_USAGE;
            goto out;
        }
        cfg->agg.lateness_ns = l;
    }
    cfg->agg.n_intervals = 0;
    for (p = ivs; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int64_t iv = parse_interval(p, n);
        unsigned k;
        if (iv <= 0 || cfg->agg.n_intervals == AGG_MAX_INTERVALS) {
            snprintf(err, errlen, "bad interval list '%.64s' (e.g. "
                     "1m,5m,1h: whole seconds up to 7d, at most %d)", ivs,
                     AGG_MAX_INTERVALS);
            rc = MD_E_USAGE;
            goto out;
        }
        for (k = 0; k < cfg->agg.n_intervals; k++) {
            if (cfg->agg.intervals_s[k] == iv) {
                snprintf(err, errlen, "interval list '%.64s' names "
                         "%llds twice", ivs, (long long)iv);
                rc = MD_E_USAGE;
                goto out;
            }
        }
        cfg->agg.intervals_s[cfg->agg.n_intervals++] = iv;
        p = e ? e + 1 : p + n;
    }
    {
        /* the aggregator keeps AGG_SLOTS buckets per series: the horizon
         * must fit in them at the smallest interval */
        int64_t smallest = INT64_MAX;
        unsigned k;
        for (k = 0; k < cfg->agg.n_intervals; k++) {
            if (cfg->agg.intervals_s[k] < smallest) {
                smallest = cfg->agg.intervals_s[k];
            }
        }
        if (cfg->agg.lateness_ns / (smallest * NS_PER_S) + 3 > AGG_SLOTS) {
            snprintf(err, errlen,
                     "lateness %llds is too long for %llds bars: at most "
                     "%llds (the aggregator keeps %d buckets per series)",
                     (long long)(cfg->agg.lateness_ns / NS_PER_S),
                     (long long)smallest,
                     (long long)(smallest * (AGG_SLOTS - 3)), AGG_SLOTS);
            rc = MD_E_USAGE;
            goto out;
        }
        if (cfg->agg.grace_ns > cfg->agg.lateness_ns) {
            snprintf(err, errlen, "grace may not exceed lateness");
            rc = MD_E_USAGE;
            goto out;
        }
    }
    {
        /* every name whole: a list without empty entries, names that fit
         * (the option's fault when given, else the session's) */
        int which = 0;
        const char *bad = check_names(syms, ex, quote, &which);
        const char *given[3] = {o->symbols, o->exchange, o->quote};
        if (bad != NULL) {
            snprintf(err, errlen, "%s%s", bad,
                     given[which] != NULL ? "" : " (in the session)");
            rc = given[which] != NULL ? MD_E_USAGE : MD_E_INVAL;
            goto out;
        }
    }
    if (syms == NULL) {
        syms = strdup("BTC,ETH,LTC");
        if (syms == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = MD_E_NOMEM;
            goto out;
        }
    }
    {
        /* CCCAGG and each exchange per symbol and interval, in an array
         * as long as the list needs */
        size_t n_syms = 1, n_ex = 1, cap;
        for (p = syms; *p != '\0'; p++) {
            n_syms += *p == ',';
        }
        for (p = ex != NULL ? ex : ""; *p != '\0'; p++) {
            n_ex += *p == ',';
        }
        cap = n_syms * (1 + n_ex) * cfg->agg.n_intervals + n_syms;
        if (cap > CORE_SERIES_LIMIT) {
            snprintf(err, errlen, "too many series: %zu symbols x %u "
                     "intervals x %zu markets (at most %u series)", n_syms,
                     cfg->agg.n_intervals, 1 + n_ex, CORE_SERIES_LIMIT);
            rc = MD_E_INVAL;
            goto out;
        }
        cfg->series = calloc(cap, sizeof *cfg->series);
        if (cfg->series == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = MD_E_NOMEM;
            goto out;
        }
        cfg->cap_series = (unsigned)cap;
    }
    if (!ohlc && session_config != NULL) {
        int64_t v;
        ohlc = meta_i64(session_config, NULL, "ohlc", &v) && v == 1;
    }
    if (ohlc) {
        unsigned k;
        bool minute = false;
        for (k = 0; k < cfg->agg.n_intervals; k++) {
            minute |= cfg->agg.intervals_s[k] == 60;
        }
        if (!minute) {
            snprintf(err, errlen, "--ohlc takes the server's minute candles: "
                     "1m must be among the intervals");
            rc = MD_E_USAGE;
            goto out;
        }
    }
    for (tok = strtok_r(syms, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned k;
        if (ohlc && core_config_add_ohlc(cfg, "CCCAGG", tok,
                                         quote ? quote : "USD") != MD_OK) {
            snprintf(err, errlen, "bad candle series for symbol '%.32s'",
                     tok);
            rc = MD_E_INVAL;
            goto out;
        }
        for (k = 0; k < cfg->agg.n_intervals; k++) {
            int64_t iv = cfg->agg.intervals_s[k];
            const char *m = ex != NULL ? ex : "Coinbase";
            if (core_config_add_series(cfg, "CCCAGG", tok,
                                       quote ? quote : "USD", iv) != MD_OK) {
                snprintf(err, errlen, "bad series for symbol '%.32s'",
                         tok);
                rc = MD_E_INVAL;
                goto out;
            }
            while (*m != '\0') {
                char one[BAR_MARKET_MAX + 1];
                size_t n = strcspn(m, ",");
                memcpy(one, m, n);
                one[n] = '\0';
                if (core_config_add_series(cfg, one, tok,
                                           quote ? quote : "USD", iv) !=
                    MD_OK) {
                    snprintf(err, errlen, "bad series for symbol '%.32s' "
                             "on '%s'", tok, one);
                    rc = MD_E_INVAL;
                    goto out;
                }
                m += n + (m[n] == ',');
            }
        }
    }
    {
        /* the shard: the options', else the session's ("K/N") */
        unsigned sk = o->shard_k, sn = o->shard_n;
        char *sh = sn == 0 && session_config != NULL
                       ? meta_str(session_config, "shard")
                       : NULL;
        if (sh != NULL) {
            char *e;
            unsigned long a = strtoul(sh, &e, 10), b = 0;
            if (*e == '/') {
                b = strtoul(e + 1, &e, 10);
            }
            if (*e != '\0' || b == 0 || b > 65536 || a >= b) {
                snprintf(err, errlen, "bad shard '%.32s' in the session",
                         sh);
                free(sh);
                rc = MD_E_INVAL;
                goto out;
            }
            sk = (unsigned)a;
            sn = (unsigned)b;
            free(sh);
        }
        if (sn > 1 && core_config_shard(cfg, sk, sn) != MD_OK) {
            snprintf(err, errlen, "bad shard %u/%u", sk, sn);
            rc = MD_E_USAGE;
            goto out;
        }
    }
out:
    free(sess_ivs);
    free(syms);
    free(ex);
    free(quote);
    return rc;
}

static bool has_ohlc(const struct core_config *cfg)
{
    unsigned i;

    for (i = 0; i < cfg->n_series; i++) {
        if (cfg->series[i].source == BAR_SRC_OHLC) {
            return true;
        }
    }
    return false;
}

int rpl_session_config(const struct rpl_opts *o, const char *session_config,
                       const struct core_config *cfg, char **out)
{
    char *syms = o->symbols ? strdup(o->symbols)
                 : meta_str(session_config, "symbols");
    char *ex = o->exchange ? strdup(o->exchange)
               : meta_str(session_config, "exchange");
    char *quote = o->quote ? strdup(o->quote)
                  : meta_str(session_config, "quote");
    char ivs[AGG_MAX_INTERVALS * 24] = "";
    size_t n = 0, len = 0;
    unsigned k;
    FILE *f;
    int rc;

    for (k = 0; k < cfg->agg.n_intervals && n < sizeof ivs; k++) {
        n += (size_t)snprintf(ivs + n, sizeof ivs - n, "%s%llds",
                              k ? "," : "",
                              (long long)cfg->agg.intervals_s[k]);
    }
    *out = NULL;
    f = open_memstream(out, &len);
    if (f == NULL) {
        free(syms);
        free(ex);
        free(quote);
        return MD_E_NOMEM;
    }
    /* names checked by rpl_core_config: no character needs escaping
     * (symbols, markets and templates are [A-Za-z0-9._{}-]) */
    fprintf(f, "{\"symbols\":\"%s\",\"exchange\":\"%s\",\"quote\":\"%s\","
               "\"intervals\":\"%s\",\"grace_ns\":%lld,\"lateness_ns\":%lld,"
               "\"emit_empty\":%d,\"ohlc\":%d,\"topic\":\"%s\",\"rest\":{"
               "\"preflight_bars\":%u,\"settle_s\":%lld,\"page_limit\":%u"
               "%s%.0u}",
            syms ? syms : "BTC,ETH,LTC", ex ? ex : "Coinbase",
            quote ? quote : "USD", ivs, (long long)cfg->agg.grace_ns,
            (long long)cfg->agg.lateness_ns, cfg->agg.emit_empty ? 1 : 0,
            has_ohlc(cfg) ? 1 : 0, cfg->topic_template, cfg->rp.preflight_bars,
            (long long)cfg->rp.settle_s, cfg->rp.page_limit,
            cfg->rp.share > 1 ? ",\"share\":" : "",
            cfg->rp.share > 1 ? cfg->rp.share : 0);
    if (o->shard_n > 1) {
        fprintf(f, ",\"shard\":\"%u/%u\"", o->shard_k, o->shard_n);
    } else if (o->shard_n == 0) {
        /* a recording of a shard, recorded again: still that shard */
        char *sh = meta_str(session_config, "shard");
        if (sh != NULL && strspn(sh, "0123456789/") == strlen(sh)) {
            fprintf(f, ",\"shard\":\"%s\"", sh);
        }
        free(sh);
    }
    if (cfg->stop_keeps_open) {
        fputs(",\"stop_keeps_open\":1", f);
    }
    if (session_config != NULL) {
        fprintf(f, ",\"source\":%s", session_config);
    }
    fputs("}", f);
    rc = fclose(f) == 0 && *out != NULL ? MD_OK : MD_E_NOMEM;
    free(syms);
    free(ex);
    free(quote);
    return rc;
}

