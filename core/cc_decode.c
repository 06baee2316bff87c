/* cc_decode.c: CryptoCompare streamer v2 and min-api REST decoder.
 *
 * Table-driven over the flat scanner in cc_json.c: each message kind has a
 * static field table (name, kind, has bit, offset) listing the names in
 * the order CryptoCompare sends them, the order lookup tries them in.
 * Pure: no I/O, no allocation, no clock; never reads outside the caller's
 * buffer.
 *
 * One file, long: every message kind is a table over the same field engine
 * (lookup, number and string decoding, has bits), which the tables are
 * the bulk of. */
#include "cc_decode.h"

#include <string.h>

#include "md_err.h"
#include "md_types.h"

/* ---------------------------------------------------------------------
 * Field tables
 * ------------------------------------------------------------------- */

enum fkind {
    FK_NONE = 0,
    FK_STR,     /* struct cc_str */
    FK_INT,     /* int64_t, integral number */
    FK_NUM,     /* struct cc_num */
    FK_U32,     /* uint32_t: number or digit string (F, FLAGS) */
    FK_INTS,    /* int64_t: number or digit string (CLIENT_ID) */
    FK_NS,      /* int64_t in 0..999999999 */
    FK_BOOL,    /* bool */
    FK_TYPE,    /* int32_t TYPE: string or number (NOOFF: not stored) */
    FK_INFOOBJ, /* TYPE 18 INFO_OBJ {valid, invalid} -> struct cc_ctl */
    FK_RL,      /* RateLimit object -> struct cc_ratelimit */
    FK_ERR      /* Err object -> struct cc_rest_status */
};

struct field {
    const char *name;
    const char *pat; /* ,"name": as it follows a member in place */
    uint8_t len;
    uint8_t kind;  /* enum fkind */
    uint8_t bit;   /* has bit index, NOBIT for none */
    uint16_t off;  /* offset into the output struct, NOOFF for none */
};

#define NOBIT 0xFFu
#define NOOFF 0xFFFFu
#define FLD(nm, k, b, o) \
    {nm, ",\"" nm "\":", (uint8_t)(sizeof(nm) - 1), k, b, (uint16_t)(o)}

#define TR(m) offsetof(struct cc_trade, m)
static const struct field trade_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, NOOFF),
    FLD("M", FK_STR, 0, TR(market)),
    FLD("FSYM", FK_STR, 1, TR(fsym)),
    FLD("TSYM", FK_STR, 2, TR(tsym)),
    FLD("F", FK_U32, 3, TR(flags)),
    FLD("ID", FK_STR, 4, TR(id)),
    FLD("TS", FK_INT, 5, TR(ts)),
    FLD("Q", FK_NUM, 6, TR(q)),
    FLD("P", FK_NUM, 7, TR(p)),
    FLD("TOTAL", FK_NUM, 8, TR(total)),
    FLD("RTS", FK_INT, 9, TR(rts)),
    FLD("CCSEQ", FK_INT, 10, TR(ccseq)),
    FLD("TSNS", FK_NS, 11, TR(tsns)),
    FLD("RTSNS", FK_NS, 12, TR(rtsns)),
};

#define TK(m) offsetof(struct cc_ticker, m)
#define TKN(id) (offsetof(struct cc_ticker, num) + (id) * sizeof(struct cc_num))
#define TKNUM(nm, id) FLD(nm, FK_NUM, id, TKN(id))
static const struct field ticker_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, TK(type_num)),
    FLD("MARKET", FK_STR, CC_TK_MARKET, TK(market)),
    FLD("FROMSYMBOL", FK_STR, CC_TK_FROMSYMBOL, TK(fsym)),
    FLD("TOSYMBOL", FK_STR, CC_TK_TOSYMBOL, TK(tsym)),
    FLD("FLAGS", FK_U32, CC_TK_FLAGS, TK(flags)),
    TKNUM("MEDIAN", CC_TK_MEDIAN),
    FLD("LASTTRADEID", FK_STR, CC_TK_LASTTRADEID, TK(lasttradeid)),
    TKNUM("PRICE", CC_TK_PRICE),
    FLD("LASTUPDATE", FK_INT, CC_TK_LASTUPDATE, TK(lastupdate)),
    TKNUM("LASTVOLUME", CC_TK_LASTVOLUME),
    TKNUM("LASTVOLUMETO", CC_TK_LASTVOLUMETO),
    TKNUM("VOLUMEHOUR", CC_TK_VOLUMEHOUR),
    TKNUM("VOLUMEHOURTO", CC_TK_VOLUMEHOURTO),
    TKNUM("VOLUMEDAY", CC_TK_VOLUMEDAY),
    TKNUM("VOLUMEDAYTO", CC_TK_VOLUMEDAYTO),
    TKNUM("VOLUME24HOUR", CC_TK_VOLUME24HOUR),
    TKNUM("VOLUME24HOURTO", CC_TK_VOLUME24HOURTO),
    TKNUM("OPENDAY", CC_TK_OPENDAY),
    TKNUM("HIGHDAY", CC_TK_HIGHDAY),
    TKNUM("LOWDAY", CC_TK_LOWDAY),
    TKNUM("OPEN24HOUR", CC_TK_OPEN24HOUR),
    TKNUM("HIGH24HOUR", CC_TK_HIGH24HOUR),
    TKNUM("LOW24HOUR", CC_TK_LOW24HOUR),
    FLD("LASTMARKET", FK_STR, CC_TK_LASTMARKET, TK(lastmarket)),
    TKNUM("OPENHOUR", CC_TK_OPENHOUR),
    TKNUM("HIGHHOUR", CC_TK_HIGHHOUR),
    TKNUM("LOWHOUR", CC_TK_LOWHOUR),
    TKNUM("TOPTIERVOLUME24HOUR", CC_TK_TOPTIERVOLUME24HOUR),
    TKNUM("TOPTIERVOLUME24HOURTO", CC_TK_TOPTIERVOLUME24HOURTO),
    TKNUM("CHANGE24HOUR", CC_TK_CHANGE24HOUR),
    TKNUM("CHANGEPCT24HOUR", CC_TK_CHANGEPCT24HOUR),
    TKNUM("CHANGEDAY", CC_TK_CHANGEDAY),
    TKNUM("CHANGEPCTDAY", CC_TK_CHANGEPCTDAY),
    TKNUM("CHANGEHOUR", CC_TK_CHANGEHOUR),
    TKNUM("CHANGEPCTHOUR", CC_TK_CHANGEPCTHOUR),
    FLD("CONVERSIONTYPE", FK_STR, CC_TK_CONVERSIONTYPE, TK(conversiontype)),
    FLD("CONVERSIONSYMBOL", FK_STR, CC_TK_CONVERSIONSYMBOL,
        TK(conversionsymbol)),
    TKNUM("SUPPLY", CC_TK_SUPPLY),
    TKNUM("MKTCAP", CC_TK_MKTCAP),
    TKNUM("MKTCAPPENALTY", CC_TK_MKTCAPPENALTY),
    TKNUM("CIRCULATINGSUPPLY", CC_TK_CIRCULATINGSUPPLY),
    TKNUM("CURRENTSUPPLY", CC_TK_CURRENTSUPPLY),
    TKNUM("CURRENTSUPPLYMKTCAP", CC_TK_CURRENTSUPPLYMKTCAP),
    TKNUM("CIRCULATINGSUPPLYMKTCAP", CC_TK_CIRCULATINGSUPPLYMKTCAP),
    TKNUM("MAXSUPPLY", CC_TK_MAXSUPPLY),
    TKNUM("MAXSUPPLYMKTCAP", CC_TK_MAXSUPPLYMKTCAP),
    TKNUM("TOTALVOLUME24H", CC_TK_TOTALVOLUME24H),
    TKNUM("TOTALVOLUME24HTO", CC_TK_TOTALVOLUME24HTO),
    TKNUM("TOTALTOPTIERVOLUME24H", CC_TK_TOTALTOPTIERVOLUME24H),
    TKNUM("TOTALTOPTIERVOLUME24HTO", CC_TK_TOTALTOPTIERVOLUME24HTO),
    FLD("IMAGEURL", FK_STR, CC_TK_IMAGEURL, TK(imageurl)),
    TKNUM("ASK", CC_TK_ASK),
    TKNUM("BID", CC_TK_BID),
    TKNUM("OFFER", CC_TK_ASK),  /* legacy name of ASK */
    TKNUM("AVG", CC_TK_MEDIAN), /* legacy name of MEDIAN */
};

#define OH(m) offsetof(struct cc_ohlc, m)
static const struct field ohlc_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, NOOFF),
    FLD("MARKET", FK_STR, 0, OH(market)),
    FLD("FROMSYMBOL", FK_STR, 1, OH(fsym)),
    FLD("TOSYMBOL", FK_STR, 2, OH(tsym)),
    FLD("TS", FK_INT, 3, OH(ts)),
    FLD("UNIT", FK_STR, 4, OH(unit)),
    FLD("ACTION", FK_STR, 5, OH(action)),
    FLD("OPEN", FK_NUM, 6, OH(open)),
    FLD("HIGH", FK_NUM, 7, OH(high)),
    FLD("LOW", FK_NUM, 8, OH(low)),
    FLD("CLOSE", FK_NUM, 9, OH(close)),
    FLD("VOLUMEFROM", FK_NUM, 10, OH(volumefrom)),
    FLD("VOLUMETO", FK_NUM, 11, OH(volumeto)),
    FLD("TOTALTRADES", FK_INT, 12, OH(totaltrades)),
    FLD("FIRSTTS", FK_INT, 13, OH(firstts)),
    FLD("LASTTS", FK_INT, 14, OH(lastts)),
    FLD("FIRSTPRICE", FK_NUM, 15, OH(firstprice)),
    FLD("MAXPRICE", FK_NUM, 16, OH(maxprice)),
    FLD("MINPRICE", FK_NUM, 17, OH(minprice)),
    FLD("LASTPRICE", FK_NUM, 18, OH(lastprice)),
};

#define WL(m) offsetof(struct cc_welcome, m)
#define WLMAX(nm, p) \
    FLD(nm, FK_INT, 16 + (p), WL(rl_max) + (p) * sizeof(int64_t))
#define WLREM(nm, p) \
    FLD(nm, FK_INT, 24 + (p), WL(rl_remain) + (p) * sizeof(int64_t))
static const struct field welcome_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, NOOFF),
    FLD("MESSAGE", FK_STR, 0, WL(message)),
    FLD("CLIENT_ID", FK_INTS, 4, WL(client_id)),
    FLD("SOCKET_ID", FK_STR, 6, WL(socket_id)),
    FLD("DATA_FORMAT", FK_STR, 5, WL(data_format)),
    FLD("SERVER_NAME", FK_STR, 2, WL(server_name)),
    FLD("SERVER_TIME_MS", FK_INT, 3, WL(server_time_ms)),
    FLD("SOCKETS_ACTIVE", FK_INT, 7, WL(sockets_active)),
    WLMAX("RATELIMIT_MAX_DAY", CC_P_DAY),
    FLD("SOCKETS_REMAINING", FK_INT, 8, WL(sockets_remaining)),
    WLMAX("RATELIMIT_MAX_HOUR", CC_P_HOUR),
    WLMAX("RATELIMIT_MAX_MONTH", CC_P_MONTH),
    WLMAX("RATELIMIT_MAX_MINUTE", CC_P_MINUTE),
    WLMAX("RATELIMIT_MAX_SECOND", CC_P_SECOND),
    FLD("SERVER_UPTIME_SECONDS", FK_INT, 1, WL(server_uptime_s)),
    WLREM("RATELIMIT_REMAINING_DAY", CC_P_DAY),
    WLREM("RATELIMIT_REMAINING_HOUR", CC_P_HOUR),
    WLREM("RATELIMIT_REMAINING_MONTH", CC_P_MONTH),
    WLREM("RATELIMIT_REMAINING_MINUTE", CC_P_MINUTE),
    WLREM("RATELIMIT_REMAINING_SECOND", CC_P_SECOND),
};

#define CT(m) offsetof(struct cc_ctl, m)
static const struct field ctl_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, NOOFF),
    FLD("MESSAGE", FK_STR, 0, CT(message)),
    FLD("SUB", FK_STR, 1, CT(sub)),
    FLD("PARAMETER", FK_STR, 3, CT(parameter)),
    FLD("INFO", FK_STR, 2, CT(info)),
    FLD("TIMEMS", FK_INT, 4, CT(timems)),
    FLD("INFO_OBJ", FK_INFOOBJ, NOBIT, 0),
};

/* Unknown TYPEs: only the duplicate check of TYPE itself. */
static const struct field type_only_tab[] = {
    FLD("TYPE", FK_TYPE, NOBIT, NOOFF),
};

#define BR(m) offsetof(struct cc_bar, m)
static const struct field bar_tab[] = {
    FLD("time", FK_INT, 0, BR(time)),
    FLD("high", FK_NUM, 1, BR(high)),
    FLD("low", FK_NUM, 2, BR(low)),
    FLD("open", FK_NUM, 3, BR(open)),
    FLD("volumefrom", FK_NUM, 4, BR(volumefrom)),
    FLD("volumeto", FK_NUM, 5, BR(volumeto)),
    FLD("close", FK_NUM, 6, BR(close)),
    FLD("conversionType", FK_STR, 7, BR(conversion_type)),
    FLD("conversionSymbol", FK_STR, 8, BR(conversion_symbol)),
};

/* The envelope of every min-api / data-api body (Data is per endpoint). */
#define RS(m) offsetof(struct cc_rest_status, m)
static const struct field env_tab[] = {
    FLD("Response", FK_STR, 0, RS(response)),
    FLD("Message", FK_STR, 1, RS(message)),
    FLD("HasWarning", FK_BOOL, 2, RS(has_warning)),
    FLD("Type", FK_INT, 4, RS(type)),
    FLD("RateLimit", FK_RL, NOBIT, RS(rl)),
    FLD("Err", FK_ERR, NOBIT, 0),
    FLD("Warning", FK_STR, 3, RS(warning)),
    FLD("ParamWithError", FK_STR, 5, RS(param_with_error)),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(NELEM(ticker_tab) <= 64, "seen mask is 64 bits");
_Static_assert(NELEM(welcome_tab) <= 64, "seen mask is 64 bits");

/* ---------------------------------------------------------------------
 * Field readers
 * ------------------------------------------------------------------- */

/* The readers of rare members (INFO_OBJ, RateLimit, Err) stay out of
 * read_field, whose common cases then need fewer saved registers. */
#if defined(__GNUC__)
#define RARE __attribute__((noinline, cold))
#else
#define RARE
#endif

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static size_t off_of(const struct cc_json *j, const char *p)
{
    return (size_t)(p - j->buf);
}

/* One integral number -> int64. */
static int read_int(struct cc_json *j, int64_t *out)
{
    struct cc_num n;
    size_t start;
    int rc;

    if (cc_json_int_fast(j, out)) {
        return MD_OK; /* every TS, CCSEQ and TSNS: no decimal, no double */
    }
    start = j->pos;
    rc = cc_json_num(j, &n);
    if (rc < 0) {
        return rc;
    }
    rc = cc_dec_to_i64(&n.dec, out);
    if (rc == MD_E_RANGE) {
        return cc_json_fail(j, rc, start, "integer out of range");
    }
    if (rc < 0) {
        return cc_json_fail(j, rc, start, "expected an integer");
    }
    return MD_OK;
}

/* Digits only, no sign, no leading zero (except "0"), at most 18. */
static bool digits_i64(const char *p, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t i;
    if (len == 0 || len > 18 || (len > 1 && p[0] == '0')) {
        return false;
    }
    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* An integer given as a number or as a string of digits. */
static int read_int_lenient(struct cc_json *j, int64_t *out)
{
    struct cc_str s;
    size_t start;
    int rc;

    if (cc_json_peek(j) != '"') {
        return read_int(j, out);
    }
    start = j->pos;
    rc = cc_json_str(j, &s);
    if (rc < 0) {
        return rc;
    }
    if (s.esc || !digits_i64(s.p, s.len, out)) {
        return cc_json_fail(j, MD_E_PROTO, start, "expected a numeric string");
    }
    return MD_OK;
}

static int read_u32_lenient(struct cc_json *j, uint32_t *out)
{
    int64_t v;
    size_t start;
    int rc;

    (void)cc_json_peek(j);
    start = j->pos;
    rc = read_int_lenient(j, &v);
    if (rc < 0) {
        return rc;
    }
    if (v < 0 || v > (int64_t)UINT32_MAX) {
        return cc_json_fail(j, MD_E_RANGE, start, "flags out of range");
    }
    *out = (uint32_t)v;
    return MD_OK;
}

/* TYPE: "5" or 5. *num is -1 unless the text is a plain small integer. */
static int read_type(struct cc_json *j, int32_t *num, struct cc_str *text)
{
    int64_t v;
    int rc;
    int c = cc_json_peek(j);
    const char *b = j->buf + j->pos;
    size_t left = j->len - j->pos;

    /* the usual "0", "5" or "16": one digit, or two without a leading
     * zero, as cc_json_str and digits_i64 below would take them */
    if (c == '"' && left >= 3 && (unsigned)(b[1] - '0') <= 9u &&
        (b[2] == '"' || (left >= 4 && b[1] != '0' &&
                         (unsigned)(b[2] - '0') <= 9u && b[3] == '"'))) {
        size_t nd = b[2] == '"' ? 1u : 2u;
        text->p = b + 1;
        text->len = nd;
        text->esc = false;
        *num = nd == 1 ? b[1] - '0' : (b[1] - '0') * 10 + (b[2] - '0');
        j->pos += nd + 2;
        return MD_OK;
    }
    if (c == '"') {
        rc = cc_json_str(j, text);
        if (rc < 0) {
            return rc;
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        struct cc_num n;
        size_t start = j->pos;
        rc = cc_json_num(j, &n);
        if (rc < 0) {
            return rc;
        }
        text->p = j->buf + start;
        text->len = j->pos - start;
        text->esc = false;
    } else if (c < 0) {
        return cc_json_fail(j, MD_E_TRUNC, j->len, "truncated input");
    } else {
        return cc_json_fail(j, MD_E_PROTO, j->pos,
                            "TYPE must be a string or a number");
    }
    *num = -1;
    if (!text->esc && text->len <= 9 && digits_i64(text->p, text->len, &v)) {
        *num = (int32_t)v;
    }
    return MD_OK;
}

/* {"valid":1,"invalid":0} of TYPE 18. */
RARE static int read_info_obj(struct cc_json *j, struct cc_ctl *ctl)
{
    struct cc_str key;
    int rc = cc_json_obj_begin(j);

    while (rc >= 0) {
        rc = cc_json_obj_next(j, &key);
        if (rc <= 0) {
            break;
        }
        if (cc_str_eq(&key, "valid", 5)) {
            rc = read_int(j, &ctl->valid);
            ctl->has |= CC_CT_VALID;
        } else if (cc_str_eq(&key, "invalid", 7)) {
            rc = read_int(j, &ctl->invalid);
            ctl->has |= CC_CT_INVALID;
        } else {
            rc = cc_json_skip(j);
        }
    }
    return rc < 0 ? rc : MD_OK;
}

static const char *const period_names[CC_P__COUNT] = {
    "second", "minute", "hour", "day", "month",
};

/* {"second":1,...} into vals[], presence into *has (bit per period). */
static int read_periods(struct cc_json *j, int64_t *vals, uint32_t *has,
                        int64_t *total, bool *has_total)
{
    struct cc_str key;
    int rc = cc_json_obj_begin(j);

    while (rc >= 0) {
        size_t p;
        bool hit = false;
        rc = cc_json_obj_next(j, &key);
        if (rc <= 0) {
            break;
        }
        for (p = 0; p < CC_P__COUNT && !hit; p++) {
            if (cc_str_eq(&key, period_names[p], strlen(period_names[p]))) {
                hit = true;
                rc = read_int(j, &vals[p]);
                *has |= 1u << p;
            }
        }
        if (!hit && total && cc_str_eq(&key, "total_calls", 11)) {
            hit = true;
            rc = read_int(j, total);
            *has_total = true;
        }
        if (!hit) {
            rc = cc_json_skip(j);
        }
    }
    return rc < 0 ? rc : MD_OK;
}

RARE static int read_ratelimit(struct cc_json *j, struct cc_ratelimit *rl)
{
    struct cc_str key;
    int rc = cc_json_obj_begin(j);

    while (rc >= 0) {
        rc = cc_json_obj_next(j, &key);
        if (rc <= 0) {
            break;
        }
        rc = cc_json_null(j);
        if (rc != 0) {
            continue; /* null is absent; rc < 0 ends the loop */
        }
        if (cc_str_eq(&key, "calls_made", 10)) {
            rc = read_periods(j, rl->calls_made, &rl->has_made,
                              &rl->total_calls, &rl->has_total);
        } else if (cc_str_eq(&key, "max_calls", 9)) {
            rc = read_periods(j, rl->max_calls, &rl->has_max, NULL, NULL);
        } else if (cc_str_eq(&key, "calls_left", 10)) {
            rc = read_periods(j, rl->calls_left, &rl->has_left, NULL, NULL);
        } else {
            rc = cc_json_skip(j);
        }
    }
    return rc < 0 ? rc : MD_OK;
}

/* Err of the data-api envelope; has bits go to st->has. */
RARE static int read_err(struct cc_json *j, struct cc_rest_status *st)
{
    struct cc_str key;
    int rc = cc_json_obj_begin(j);

    while (rc >= 0) {
        rc = cc_json_obj_next(j, &key);
        if (rc <= 0) {
            break;
        }
        st->has |= CC_RS_ERR;
        rc = cc_json_null(j);
        if (rc != 0) {
            continue; /* null is absent; rc < 0 ends the loop */
        }
        if (cc_str_eq(&key, "type", 4)) {
            rc = read_int(j, &st->err_type);
            st->has |= CC_RS_ERR_TYPE;
        } else if (cc_str_eq(&key, "message", 7)) {
            rc = cc_json_str(j, &st->err_message);
            st->has |= CC_RS_ERR_MESSAGE;
        } else if (cc_str_eq(&key, "http_status_code", 16)) {
            rc = read_int(j, &st->err_http_status);
            st->has |= CC_RS_ERR_HTTP;
        } else if (cc_str_eq(&key, "other_info", 10) &&
                   cc_json_peek(j) == '{') {
            struct cc_str k2;
            rc = cc_json_obj_begin(j);
            while (rc >= 0) {
                rc = cc_json_obj_next(j, &k2);
                if (rc <= 0) {
                    break;
                }
                if (cc_str_eq(&k2, "param", 5) && cc_json_peek(j) == '"') {
                    rc = cc_json_str(j, &st->err_param);
                    st->has |= CC_RS_ERR_PARAM;
                } else {
                    rc = cc_json_skip(j);
                }
            }
        } else {
            rc = cc_json_skip(j);
        }
    }
    return rc < 0 ? rc : MD_OK;
}

/* A value not wanted: checked as what f says it is, then passed over. */
static int pass_field(struct cc_json *j, const struct field *f)
{
    struct cc_str str;
    int c;

    if (f->kind == FK_STR) {
        return cc_json_str(j, &str);
    }
    c = cc_json_peek(j);
    if (c != '-' && (c < '0' || c > '9')) {
        return cc_json__expect(j, "expected a number");
    }
    if (cc_json_num_pass(j)) {
        return MD_OK;
    }
    return cc_json_skip(j);
}

/* Read the value of field f into base; set its has bit. null = absent.
 * A number or string field whose has bit is not in want is only checked
 * (pass_field). */
static int read_field(struct cc_json *j, const struct field *f, void *base,
                      uint64_t *has, uint64_t want)
{
    int rc;
    size_t start;

    if (cc_json_peek(j) == 'n') {
        rc = cc_json_null(j);
        return rc < 0 ? rc : MD_OK;
    }
    if (f->bit != NOBIT && !((want >> f->bit) & 1u) &&
        (f->kind == FK_NUM || f->kind == FK_STR)) {
        return pass_field(j, f);
    }
    start = j->pos;
    switch ((enum fkind)f->kind) {
    case FK_STR:
        rc = cc_json_str(j, at(base, f->off));
        break;
    case FK_INT:
        rc = read_int(j, at(base, f->off));
        break;
    case FK_NUM:
        rc = cc_json_num(j, at(base, f->off));
        break;
    case FK_U32:
        rc = read_u32_lenient(j, at(base, f->off));
        break;
    case FK_INTS:
        rc = read_int_lenient(j, at(base, f->off));
        break;
    case FK_NS: {
        int64_t *v = at(base, f->off);
        rc = read_int(j, v);
        if (rc == MD_OK && (*v < 0 || *v > 999999999)) {
            rc = cc_json_fail(j, MD_E_RANGE, start,
                              "nanoseconds out of 0..999999999");
        }
        break;
    }
    case FK_BOOL:
        rc = cc_json_bool(j, at(base, f->off));
        break;
    case FK_TYPE: {
        int32_t num;
        struct cc_str text;
        rc = read_type(j, &num, &text);
        if (rc == MD_OK && f->off != NOOFF) {
            *(int32_t *)at(base, f->off) = num;
        }
        break;
    }
    case FK_INFOOBJ:
        rc = read_info_obj(j, base);
        break;
    case FK_RL: {
        struct cc_rest_status *st = base;
        rc = read_ratelimit(j, &st->rl);
        if (rc == MD_OK && (st->rl.has_made | st->rl.has_max |
                            st->rl.has_left | st->rl.has_total)) {
            st->has |= CC_RS_RATELIMIT;
        }
        break;
    }
    case FK_ERR:
        rc = read_err(j, base);
        break;
    case FK_NONE:
    default:
        rc = cc_json_skip(j);
        break;
    }
    if (rc == MD_OK && f->bit != NOBIT) {
        *has |= UINT64_C(1) << f->bit;
    }
    return rc;
}

/* Find key in tab, comparing from slot from on and wrapping around. The
 * tables list their names in the order CryptoCompare sends them, and
 * callers pass the slot after the previous key, so a frame in the usual
 * order costs one comparison per key; another order costs a pass over
 * the table (each slot rejected by its length or first byte). Keys with
 * escapes are unescaped first ("\u0050RICE" is PRICE). Returns the slot,
 * or -1. */
static inline bool slot_is(const struct field *f, const char *k,
                           size_t klen)
{
    return f->len == klen && f->name[0] == k[0] &&
           cc_json__bytes_eq(f->name, k, klen);
}

static int lookup(const struct field *tab, size_t n, size_t from,
                  const struct cc_str *key)
{
    char tmp[64];
    const char *k = key->p;
    size_t klen = key->len;
    size_t start, i;

    if (key->esc) {
        if (cc_str_unescape(key, tmp, sizeof tmp, &klen) != MD_OK) {
            return -1;
        }
        k = tmp;
    }
    if (klen == 0 || klen > UINT8_MAX) {
        return -1;
    }
    /* two plain loops, from..n then 0..from (names are unique, so the
     * order of the search decides nothing but its cost) */
    start = from < n ? from : 0;
    for (i = start; i < n; i++) {
        if (slot_is(&tab[i], k, klen)) {
            return (int)i;
        }
    }
    for (i = 0; i < start; i++) {
        if (slot_is(&tab[i], k, klen)) {
            return (int)i;
        }
    }
    return -1;
}

/* Decode the remaining members of the open object with tab. seen holds
 * table slots already consumed (duplicates are MD_E_PROTO); from0 is the
 * slot the next key most likely has. */
static int decode_members(struct cc_json *j, const struct field *tab,
                          size_t n, void *base, uint64_t *has, uint64_t seen,
                          size_t from0, uint64_t want)
{
    struct cc_str key;
    size_t from = from0;
    int rc;

    for (;;) {
        int idx;
        /* the usual order: the expected name, matched in place */
        if (from < n &&
            cc_json_next_key_is(j, tab[from].pat, tab[from].len + 4u, &key)) {
            idx = (int)from;
        } else {
            rc = cc_json_obj_next(j, &key);
            if (rc <= 0) {
                return rc;
            }
            idx = lookup(tab, n, from, &key);
        }
        if (idx < 0) {
            rc = cc_json_skip(j);
        } else if (seen & (UINT64_C(1) << idx)) {
            return cc_json_fail(j, MD_E_PROTO, off_of(j, key.p) - 1,
                                "duplicate key");
        } else {
            const struct field *f = &tab[idx];
            seen |= UINT64_C(1) << idx;
            from = (size_t)idx + 1;
            /* most numbers of a CCCAGG update are not wanted: passed
             * over here, without the call (null and the unusual shapes
             * go to read_field and pass_field, which decide as before) */
            if (f->kind == FK_NUM && f->bit != NOBIT &&
                !((want >> f->bit) & 1u) && cc_json_num_pass(j)) {
                rc = MD_OK;
            } else {
                rc = read_field(j, f, base, has, want);
            }
        }
        if (rc < 0) {
            return rc;
        }
    }
}

/* Names are unique and fit the lookup (1..255 bytes); the streamer's
 * tables start with TYPE, which cc_ws_decode consumes first. */
static bool table_ok(const struct field *tab, size_t n, bool type_first)
{
    size_t i, k;
    for (i = 0; i < n; i++) {
        if (tab[i].len == 0 || strlen(tab[i].name) != tab[i].len ||
            strlen(tab[i].pat) != tab[i].len + 4u || tab[i].pat[0] != ',' ||
            tab[i].pat[1] != '"' ||
            memcmp(tab[i].pat + 2, tab[i].name, tab[i].len) != 0 ||
            tab[i].pat[tab[i].len + 2] != '"' ||
            tab[i].pat[tab[i].len + 3] != ':') {
            return false;
        }
        for (k = 0; k < i; k++) {
            if (tab[k].len == tab[i].len &&
                memcmp(tab[k].name, tab[i].name, tab[i].len) == 0) {
                return false;
            }
        }
    }
    return !type_first || (n > 0 && strcmp(tab[0].name, "TYPE") == 0);
}

bool cc_decode__tables_ok(void)
{
    return table_ok(trade_tab, NELEM(trade_tab), true) &&
           table_ok(ticker_tab, NELEM(ticker_tab), true) &&
           table_ok(ohlc_tab, NELEM(ohlc_tab), true) &&
           table_ok(welcome_tab, NELEM(welcome_tab), true) &&
           table_ok(ctl_tab, NELEM(ctl_tab), true) &&
           table_ok(type_only_tab, NELEM(type_only_tab), true) &&
           table_ok(bar_tab, NELEM(bar_tab), false) &&
           table_ok(env_tab, NELEM(env_tab), false);
}

/* ---------------------------------------------------------------------
 * Streamer v2
 * ------------------------------------------------------------------- */

static const char *const type_names[CC_T__COUNT] = {
    [CC_T_NONE] = "CC_T_NONE",
    [CC_T_TRADE] = "CC_T_TRADE",
    [CC_T_TICKER] = "CC_T_TICKER",
    [CC_T_CCCAGG] = "CC_T_CCCAGG",
    [CC_T_OHLC] = "CC_T_OHLC",
    [CC_T_WELCOME] = "CC_T_WELCOME",
    [CC_T_SUB_COMPLETE] = "CC_T_SUB_COMPLETE",
    [CC_T_UNSUB_COMPLETE] = "CC_T_UNSUB_COMPLETE",
    [CC_T_UNSUB_ALL] = "CC_T_UNSUB_ALL",
    [CC_T_LOAD_COMPLETE] = "CC_T_LOAD_COMPLETE",
    [CC_T_HEARTBEAT] = "CC_T_HEARTBEAT",
    [CC_T_UNAUTHORIZED] = "CC_T_UNAUTHORIZED",
    [CC_T_RATE_LIMIT] = "CC_T_RATE_LIMIT",
    [CC_T_ERROR] = "CC_T_ERROR",
    [CC_T_UNKNOWN] = "CC_T_UNKNOWN",
};

/* MESSAGE texts matched exactly; TOO_MANY_* are patterns (see below). */
static const char *const code_texts[CC_C__COUNT] = {
    [CC_C_NONE] = "CC_C_NONE",
    [CC_C_OTHER] = "CC_C_OTHER",
    [CC_C_STREAMERWELCOME] = "STREAMERWELCOME",
    [CC_C_SUBSCRIBECOMPLETE] = "SUBSCRIBECOMPLETE",
    [CC_C_UNSUBSCRIBECOMPLETE] = "UNSUBSCRIBECOMPLETE",
    [CC_C_UNSUBSCRIBEALLCOMPLETE] = "UNSUBSCRIBEALLCOMPLETE",
    [CC_C_LOADCOMPLETE] = "LOADCOMPLETE",
    [CC_C_HEARTBEAT] = "HEARTBEAT",
    [CC_C_UNAUTHORIZED] = "UNAUTHORIZED",
    [CC_C_RATE_LIMIT_OPENING_SOCKETS_TOO_FAST] =
        "RATE_LIMIT_OPENING_SOCKETS_TOO_FAST",
    [CC_C_TOO_MANY_SOCKETS] = "TOO_MANY_SOCKETS_MAX_X_PER_CLIENT",
    [CC_C_TOO_MANY_SUBSCRIPTIONS] = "TOO_MANY_SUBSCRIPTIONS_MAX_X_PER_SOCKET",
    [CC_C_INVALID_SUB] = "INVALID_SUB",
    [CC_C_INVALID_JSON] = "INVALID_JSON",
    [CC_C_INVALID_PARAMETER] = "INVALID_PARAMETER",
    [CC_C_SUBSCRIPTION_UNRECOGNIZED] = "SUBSCRIPTION_UNRECOGNIZED",
    [CC_C_SUBSCRIPTION_ALREADY_ACTIVE] = "SUBSCRIPTION_ALREADY_ACTIVE",
    [CC_C_FORCE_DISCONNECT] = "FORCE_DISCONNECT",
};

int64_t cc_peek_int(const char *buf, size_t len, const char *key, size_t kl)
{
    const char *p = buf, *end = buf + len;
    int64_t v = 0;
    int digits = 0;

    if (kl == 0 || len < kl) {
        return -1;
    }
    for (;;) {
        p = memchr(p, key[0], (size_t)(end - p) - (kl - 1));
        if (p == NULL) {
            return -1;
        }
        if (memcmp(p, key, kl) == 0) {
            break;
        }
        if (++p > end - kl) {
            return -1;
        }
    }
    for (p += kl; p < end && *p >= '0' && *p <= '9' && digits < 18;
         p++, digits++) {
        v = v * 10 + (*p - '0');
    }
    return digits > 0 ? v : -1;
}

const char *cc_type_name(enum cc_type t)
{
    if ((unsigned)t >= CC_T__COUNT) {
        return "CC_T_?";
    }
    return type_names[t];
}

const char *cc_code_name(enum cc_code c)
{
    if ((unsigned)c >= CC_C__COUNT) {
        return "CC_C_?";
    }
    return code_texts[c];
}

/* "<pre><digits><suf>": the digits into *x. */
static bool match_max(const char *m, size_t len, const char *pre,
                      const char *suf, int64_t *x)
{
    size_t pl = strlen(pre);
    size_t sl = strlen(suf);
    if (len <= pl + sl || memcmp(m, pre, pl) != 0 ||
        memcmp(m + len - sl, suf, sl) != 0) {
        return false;
    }
    return digits_i64(m + pl, len - pl - sl, x);
}

static void classify_code(struct cc_ctl *ctl)
{
    char tmp[64];
    size_t len;
    size_t c;

    if (!(ctl->has & CC_CT_MESSAGE)) {
        ctl->code = CC_C_NONE;
        return;
    }
    ctl->code = CC_C_OTHER;
    if (cc_str_unescape(&ctl->message, tmp, sizeof tmp, &len) != MD_OK) {
        return;
    }
    for (c = CC_C_STREAMERWELCOME; c < CC_C__COUNT; c++) {
        if (c == CC_C_TOO_MANY_SOCKETS || c == CC_C_TOO_MANY_SUBSCRIPTIONS) {
            continue;
        }
        if (strlen(code_texts[c]) == len &&
            memcmp(code_texts[c], tmp, len) == 0) {
            ctl->code = (enum cc_code)c;
            return;
        }
    }
    if (match_max(tmp, len, "TOO_MANY_SOCKETS_MAX_", "_PER_CLIENT",
                  &ctl->max_x)) {
        ctl->code = CC_C_TOO_MANY_SOCKETS;
        ctl->has |= CC_CT_MAX_X;
    } else if (match_max(tmp, len, "TOO_MANY_SUBSCRIPTIONS_MAX_",
                         "_PER_SOCKET", &ctl->max_x)) {
        ctl->code = CC_C_TOO_MANY_SUBSCRIPTIONS;
        ctl->has |= CC_CT_MAX_X;
    }
}

static enum cc_type type_of(int32_t num)
{
    switch (num) {
    case 0: return CC_T_TRADE;
    case 2: return CC_T_TICKER;
    case 3: return CC_T_LOAD_COMPLETE;
    case 5: return CC_T_CCCAGG;
    case 16: return CC_T_SUB_COMPLETE;
    case 17: return CC_T_UNSUB_COMPLETE;
    case 18: return CC_T_UNSUB_ALL;
    case 20: return CC_T_WELCOME;
    case 24: return CC_T_OHLC;
    case 401: return CC_T_UNAUTHORIZED;
    case 429: return CC_T_RATE_LIMIT;
    case 500: return CC_T_ERROR;
    case 999: return CC_T_HEARTBEAT;
    default: return CC_T_UNKNOWN;
    }
}

static bool is_type_key(const struct cc_str *k)
{
    return k->esc ? cc_str_eq(k, "TYPE", 4)
                  : k->len == 4 && md_bytes_eq(k->p, "TYPE", 4);
}

/* Slow path: TYPE is not the first key. Walk the top level once to find
 * it (exactly one), leaving the cursor where it was. */
static int prescan_type(struct cc_json *j, struct cc_msg *msg)
{
    struct cc_json save = *j;
    struct cc_str key;
    int found = 0;
    int rc;

    for (;;) {
        rc = cc_json_obj_next(j, &key);
        if (rc <= 0) {
            break;
        }
        if (is_type_key(&key)) {
            if (found) {
                return cc_json_fail(j, MD_E_PROTO, off_of(j, key.p) - 1,
                                    "duplicate key");
            }
            found = 1;
            rc = read_type(j, &msg->type_num, &msg->type_text);
        } else {
            rc = cc_json_skip(j);
        }
        if (rc < 0) {
            return rc;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (!found) {
        return cc_json_fail(j, MD_E_PROTO, j->pos - 1, "missing TYPE");
    }
    *j = save;
    return MD_OK;
}

int cc_ws_decode(const char *buf, size_t len, struct cc_msg *msg,
                 struct cc_err *err)
{
    return cc_ws_decode_want(buf, len, msg, err, NULL);
}

int cc_ws_decode_want(const char *buf, size_t len, struct cc_msg *msg,
                      struct cc_err *err, const struct cc_want *wanted)
{
    struct cc_json j;
    struct cc_json body;
    struct cc_str key;
    const struct field *tab = NULL;
    size_t n = 0;
    void *base = NULL;
    uint64_t *has = NULL;
    uint64_t need = 0;
    uint64_t seen = 0;
    uint64_t want;
    int rc;

    if (!msg || (!buf && len > 0)) {
        if (err) {
            err->rc = MD_E_INVAL;
            err->off = 0;
            err->what = "invalid argument";
        }
        return MD_E_INVAL;
    }
    cc_json_init(&j, buf, len, err);
    msg->type = CC_T_NONE;
    msg->type_num = -1;
    msg->type_text.p = buf;
    msg->type_text.len = 0;
    msg->type_text.esc = false;

    if (len >= 8 && cc_json__bytes_eq(buf, "{\"TYPE\":", 8)) {
        /* Fastest path: the frame opens with {"TYPE": (no whitespace,
         * no escape), as every real frame does; the cursor as
         * cc_json_obj_begin and cc_json_obj_next leave it there. */
        j.depth = 1;
        j.first = false;
        j.pos = 8;
        rc = read_type(&j, &msg->type_num, &msg->type_text);
        seen = 1; /* TYPE's slot, 0 in every streamer table */
    } else {
        rc = cc_json_obj_begin(&j);
        if (rc < 0) {
            return rc;
        }
        body = j;
        rc = cc_json_obj_next(&j, &key);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            return cc_json_fail(&j, MD_E_PROTO, j.pos - 1, "missing TYPE");
        }
        if (is_type_key(&key)) {
            /* Fast path: TYPE first, as in every real frame. */
            rc = read_type(&j, &msg->type_num, &msg->type_text);
            seen = 1; /* TYPE's slot, 0 in every streamer table */
        } else {
            j = body;
            rc = prescan_type(&j, msg);
        }
    }
    if (rc < 0) {
        return rc;
    }
    msg->type = type_of(msg->type_num);

    switch (msg->type) {
    case CC_T_TRADE:
        memset(&msg->u.trade, 0, sizeof msg->u.trade);
        tab = trade_tab;
        n = NELEM(trade_tab);
        base = &msg->u.trade;
        has = &msg->u.trade.has;
        need = CC_TR_M | CC_TR_FSYM | CC_TR_TSYM;
        break;
    case CC_T_TICKER:
    case CC_T_CCCAGG:
        memset(&msg->u.ticker, 0, sizeof msg->u.ticker);
        msg->u.ticker.type_num = msg->type_num;
        tab = ticker_tab;
        n = NELEM(ticker_tab);
        base = &msg->u.ticker;
        has = &msg->u.ticker.has;
        need = CC_TKM(CC_TK_MARKET) | CC_TKM(CC_TK_FROMSYMBOL) |
               CC_TKM(CC_TK_TOSYMBOL);
        break;
    case CC_T_OHLC:
        memset(&msg->u.ohlc, 0, sizeof msg->u.ohlc);
        tab = ohlc_tab;
        n = NELEM(ohlc_tab);
        base = &msg->u.ohlc;
        has = &msg->u.ohlc.has;
        need = CC_OH_MARKET | CC_OH_FSYM | CC_OH_TSYM;
        break;
    case CC_T_WELCOME:
        memset(&msg->u.welcome, 0, sizeof msg->u.welcome);
        tab = welcome_tab;
        n = NELEM(welcome_tab);
        base = &msg->u.welcome;
        has = &msg->u.welcome.has;
        break;
    case CC_T_SUB_COMPLETE:
    case CC_T_UNSUB_COMPLETE:
    case CC_T_UNSUB_ALL:
    case CC_T_LOAD_COMPLETE:
    case CC_T_HEARTBEAT:
    case CC_T_UNAUTHORIZED:
    case CC_T_RATE_LIMIT:
    case CC_T_ERROR:
        memset(&msg->u.ctl, 0, sizeof msg->u.ctl);
        tab = ctl_tab;
        n = NELEM(ctl_tab);
        base = &msg->u.ctl;
        has = &msg->u.ctl.has;
        break;
    case CC_T_UNKNOWN:
    case CC_T_NONE:
    case CC_T__COUNT:
    default:
        /* Validate and skip; the caller counts unknown TYPEs. */
        memset(&msg->u, 0, sizeof msg->u);
        tab = type_only_tab;
        n = NELEM(type_only_tab);
        base = &msg->u.ctl;
        has = &msg->u.ctl.has;
        break;
    }
    if (wanted == NULL || (tab != ticker_tab && tab != trade_tab)) {
        want = CC_ALL_FIELDS;
    } else if (tab == trade_tab) {
        want = wanted->trade | need;
    } else {
        want = wanted->ticker | need | CC_TKM(CC_TK_FLAGS);
    }
    /* TYPE came first (slot 0 of every streamer table, checked by
     * cc_decode__tables_ok): seen marks it, so a second TYPE is a
     * duplicate, and the next key most likely has slot 1. */
    rc = decode_members(&j, tab, n, base, has, seen, seen ? 1u : 0u, want);
    if (rc < 0) {
        return rc;
    }
    if ((*has & need) != need) {
        return cc_json_fail(&j, MD_E_PROTO, j.pos - 1,
                            "missing required field");
    }
    if (msg->type == CC_T_UNKNOWN) {
        msg->u.ctl.has = 0;
    } else if (tab == ctl_tab) {
        classify_code(&msg->u.ctl);
    }
    return cc_json_end(&j);
}

/* ---------------------------------------------------------------------
 * Merge state
 * ------------------------------------------------------------------- */

void cc_ticker_reset(struct cc_ticker_state *st)
{
    if (st) {
        memset(st, 0, sizeof *st);
    }
}

static int fix_set(struct cc_fixstr *dst, const struct cc_str *src)
{
    size_t len;
    int rc;

    if (!src->esc && src->len <= sizeof dst->s) {
        /* no escapes: the bytes as they are (cc_str_unescape's copy) */
        if (src->len > 0) {
            memcpy(dst->s, src->p, src->len);
        }
        dst->len = (uint8_t)src->len;
        return MD_OK;
    }
    rc = cc_str_unescape(src, dst->s, sizeof dst->s, &len);
    if (rc == MD_E_FULL) {
        return MD_E_RANGE;
    }
    if (rc < 0) {
        return rc;
    }
    dst->len = (uint8_t)len;
    return MD_OK;
}

static bool fix_eq(const struct cc_fixstr *a, const struct cc_fixstr *b)
{
    return a->len == b->len && md_bytes_eq(a->s, b->s, a->len);
}

int cc_ticker_merge(struct cc_ticker_state *st,
                    const struct cc_ticker *update, uint64_t *changed)
{
    const uint64_t key = CC_TKM(CC_TK_MARKET) | CC_TKM(CC_TK_FROMSYMBOL) |
                         CC_TKM(CC_TK_TOSYMBOL);
    struct cc_fixstr market, fsym, tsym;
    struct cc_fixstr strs[5];
    static const int str_ids[5] = {
        CC_TK_LASTTRADEID, CC_TK_LASTMARKET, CC_TK_CONVERSIONTYPE,
        CC_TK_CONVERSIONSYMBOL, CC_TK_IMAGEURL,
    };
    const struct cc_str *src[5];
    struct cc_fixstr *dst[5];
    uint64_t h;
#if defined(__GNUC__)
    uint64_t m;
#endif
    size_t i;
    int rc;

    if (changed) {
        *changed = 0;
    }
    if (!st || !update || (update->has & key) != key) {
        return MD_E_INVAL;
    }
    h = update->has;
    rc = fix_set(&market, &update->market);
    if (rc == MD_OK) {
        rc = fix_set(&fsym, &update->fsym);
    }
    if (rc == MD_OK) {
        rc = fix_set(&tsym, &update->tsym);
    }
    if (rc < 0) {
        return rc;
    }
    if (st->keyed &&
        (st->type_num != update->type_num || !fix_eq(&st->market, &market) ||
         !fix_eq(&st->fsym, &fsym) || !fix_eq(&st->tsym, &tsym))) {
        return MD_E_INVAL;
    }
    src[0] = &update->lasttradeid;
    src[1] = &update->lastmarket;
    src[2] = &update->conversiontype;
    src[3] = &update->conversionsymbol;
    src[4] = &update->imageurl;
    dst[0] = &st->lasttradeid;
    dst[1] = &st->lastmarket;
    dst[2] = &st->conversiontype;
    dst[3] = &st->conversionsymbol;
    dst[4] = &st->imageurl;
    /* Copy every string first so a failure leaves st untouched. */
    for (i = 0; i < 5; i++) {
        if (h & CC_TKM(str_ids[i])) {
            rc = fix_set(&strs[i], src[i]);
            if (rc < 0) {
                return rc;
            }
        }
    }
    if (!st->keyed) {
        st->keyed = true;
        st->type_num = update->type_num;
        st->market = market;
        st->fsym = fsym;
        st->tsym = tsym;
    }
    for (i = 0; i < 5; i++) {
        if (h & CC_TKM(str_ids[i])) {
            *dst[i] = strs[i];
        }
    }
#if defined(__GNUC__)
    /* the set bits only: an update carries a few of the 45 */
    for (m = h & (CC_TKM(CC_TK__NUM) - 1u); m != 0; m &= m - 1u) {
        i = (size_t)__builtin_ctzll(m);
        st->num[i] = update->num[i];
    }
#else
    for (i = 0; i < CC_TK__NUM; i++) {
        if (h & CC_TKM(i)) {
            st->num[i] = update->num[i];
        }
    }
#endif
    if (h & CC_TKM(CC_TK_LASTUPDATE)) {
        st->lastupdate = update->lastupdate;
    }
    if (h & CC_TKM(CC_TK_FLAGS)) {
        st->flags = update->flags;
    }
    st->has |= h;
    st->updates++;
    if (changed) {
        *changed = h & ~key;
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * REST
 * ------------------------------------------------------------------- */

const char *cc_rest_kind_name(enum cc_rest_kind k)
{
    switch (k) {
    case CC_R_NONE: return "CC_R_NONE";
    case CC_R_OK: return "CC_R_OK";
    case CC_R_ERROR: return "CC_R_ERROR";
    case CC_R_RATE_LIMIT: return "CC_R_RATE_LIMIT";
    case CC_R_AUTH: return "CC_R_AUTH";
    case CC_R_PARAM: return "CC_R_PARAM";
    default: return "CC_R_?";
    }
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive substring test on the raw bytes. */
static bool ci_contains(const struct cc_str *s, const char *needle)
{
    size_t nl = strlen(needle);
    size_t i;
    size_t k;
    if (s->len < nl) {
        return false;
    }
    for (i = 0; i + nl <= s->len; i++) {
        for (k = 0; k < nl; k++) {
            if (lower((unsigned char)s->p[i + k]) != needle[k]) {
                break;
            }
        }
        if (k == nl) {
            return true;
        }
    }
    return false;
}

static bool about_key(const struct cc_str *m)
{
    return ci_contains(m, "api key") || ci_contains(m, "auth key") ||
           ci_contains(m, "api_key") || ci_contains(m, "apikey");
}

static enum cc_rest_kind kind_of_status(int code)
{
    if (code == 429) {
        return CC_R_RATE_LIMIT;
    }
    if (code == 401 || code == 403) {
        return CC_R_AUTH;
    }
    if (code == 400 || code == 404) {
        return CC_R_PARAM;
    }
    return CC_R_ERROR;
}

/* The body decides; the HTTP status only breaks ties. */
static void classify(struct cc_rest_status *st)
{
    uint64_t h = st->has;

    if (h & CC_RS_ERR) {
        int code = st->http_status;
        if (h & CC_RS_ERR_HTTP && st->err_http_status > 0 &&
            st->err_http_status < 1000) {
            code = (int)st->err_http_status;
        }
        if (code == 429 || ((h & CC_RS_ERR_MESSAGE) &&
                            ci_contains(&st->err_message, "rate limit"))) {
            st->kind = CC_R_RATE_LIMIT;
        } else if (code == 401 || code == 403 ||
                   ((h & CC_RS_ERR_MESSAGE) && about_key(&st->err_message))) {
            st->kind = CC_R_AUTH;
        } else if ((h & CC_RS_ERR_PARAM) || code == 400 || code == 404) {
            st->kind = CC_R_PARAM;
        } else {
            st->kind = CC_R_ERROR;
        }
        return;
    }
    if (h & CC_RS_RESPONSE) {
        if (cc_str_eq(&st->response, "Success", 7)) {
            st->kind = CC_R_OK;
        } else if (((h & CC_RS_TYPE) && st->type == 99) ||
                   ((h & CC_RS_MESSAGE) &&
                    ci_contains(&st->message, "rate limit"))) {
            st->kind = CC_R_RATE_LIMIT;
        } else if ((h & CC_RS_MESSAGE) && about_key(&st->message)) {
            st->kind = CC_R_AUTH;
        } else if ((h & CC_RS_PARAMWITHERROR) ||
                   ((h & CC_RS_TYPE) && st->type == 2)) {
            st->kind = CC_R_PARAM;
        } else if (st->http_status == 429 || st->http_status == 401 ||
                   st->http_status == 403) {
            st->kind = kind_of_status(st->http_status);
        } else {
            st->kind = CC_R_ERROR;
        }
        return;
    }
    /* A bare body: payload means success whatever the status says; an
     * empty one falls back on the status. */
    if ((h & CC_RS_DATA) || st->http_status == 0 ||
        (st->http_status >= 200 && st->http_status < 300)) {
        st->kind = CC_R_OK;
    } else {
        st->kind = kind_of_status(st->http_status);
    }
}

static void status_init(struct cc_rest_status *st, int http_status,
                        const char *buf)
{
    memset(st, 0, sizeof *st);
    st->http_status = http_status;
    st->response.p = buf;
    st->message.p = buf;
    st->warning.p = buf;
    st->param_with_error.p = buf;
    st->err_message.p = buf;
    st->err_param.p = buf;
}

/* One envelope member: 1 handled, 0 not an envelope key, <0 error. */
static int envelope_member(struct cc_json *j, const struct cc_str *key,
                           struct cc_rest_status *st, uint64_t *seen)
{
    int idx = lookup(env_tab, NELEM(env_tab), 0, key);
    int rc;
    if (idx < 0) {
        return 0;
    }
    if (*seen & (UINT64_C(1) << idx)) {
        return cc_json_fail(j, MD_E_PROTO, off_of(j, key->p) - 1,
                            "duplicate key");
    }
    *seen |= UINT64_C(1) << idx;
    rc = read_field(j, &env_tab[idx], st, &st->has, CC_ALL_FIELDS);
    return rc < 0 ? rc : 1;
}

static int rest_start(struct cc_json *j, const char *buf, size_t len,
                      struct cc_err *err)
{
    if (!buf && len > 0) {
        cc_json_init(j, NULL, 0, err);
        return cc_json_fail(j, MD_E_INVAL, 0, "invalid argument");
    }
    cc_json_init(j, buf, len, err);
    return cc_json_obj_begin(j);
}

static int bad_arg(struct cc_err *err)
{
    if (err) {
        err->rc = MD_E_INVAL;
        err->off = 0;
        err->what = "invalid argument";
    }
    return MD_E_INVAL;
}

/* Array of bar objects into bars[0..cap); counts all in out->n_total. */
static int read_bars(struct cc_json *j, struct cc_histo *out,
                     struct cc_bar *bars, size_t cap)
{
    int rc = cc_json_arr_begin(j);

    while (rc >= 0) {
        struct cc_bar scratch;
        struct cc_bar *b;
        rc = cc_json_arr_next(j);
        if (rc <= 0) {
            break;
        }
        b = out->n_bars < cap ? &bars[out->n_bars] : &scratch;
        memset(b, 0, sizeof *b);
        rc = cc_json_obj_begin(j);
        if (rc == MD_OK) {
            rc = decode_members(j, bar_tab, NELEM(bar_tab), b, &b->has, 0, 0,
                                    CC_ALL_FIELDS);
        }
        if (rc < 0) {
            break;
        }
        if (b != &scratch) {
            out->n_bars++;
        }
        out->n_total++;
    }
    return rc < 0 ? rc : MD_OK;
}

/* Top-level or v2 Data-level histo metadata: 1 handled, 0 not ours. */
static int histo_meta(struct cc_json *j, const struct cc_str *key,
                      struct cc_histo *out)
{
    int which;
    int rc;

    if (cc_str_eq(key, "TimeFrom", 8)) {
        which = 1;
    } else if (cc_str_eq(key, "TimeTo", 6)) {
        which = 2;
    } else if (cc_str_eq(key, "Aggregated", 10)) {
        which = 3;
    } else if (cc_str_eq(key, "FirstValueInArray", 17)) {
        which = 4;
    } else {
        return 0;
    }
    rc = cc_json_null(j);
    if (rc != 0) {
        return rc < 0 ? rc : 1;
    }
    if (which == 1) {
        rc = read_int(j, &out->time_from);
        out->has |= CC_HI_TIMEFROM;
    } else if (which == 2) {
        rc = read_int(j, &out->time_to);
        out->has |= CC_HI_TIMETO;
    } else if (which == 3) {
        rc = cc_json_bool(j, &out->aggregated);
        out->has |= CC_HI_AGGREGATED;
    } else {
        rc = cc_json_bool(j, &out->first_value_in_array);
        out->has |= CC_HI_FIRSTVALUE;
    }
    return rc < 0 ? rc : 1;
}

int cc_rest_histo(const char *buf, size_t len, int http_status,
                  struct cc_histo *out, struct cc_bar *bars, size_t cap,
                  struct cc_err *err)
{
    struct cc_json j;
    struct cc_str key;
    uint64_t seen = 0;
    bool data_seen = false;
    int rc;

    if (!out || (!bars && cap > 0)) {
        return bad_arg(err);
    }
    memset(out, 0, sizeof *out);
    status_init(&out->st, http_status, buf);
    rc = rest_start(&j, buf, len, err);
    while (rc >= 0) {
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        if (cc_str_eq(&key, "Data", 4)) {
            int c = cc_json_peek(&j);
            if (data_seen) {
                return cc_json_fail(&j, MD_E_PROTO, off_of(&j, key.p) - 1,
                                    "duplicate key");
            }
            data_seen = true;
            if (c == '[') {
                /* v1: the bars themselves. */
                out->has |= CC_HI_V1;
                out->st.has |= CC_RS_DATA;
                rc = read_bars(&j, out, bars, cap);
            } else if (c == '{') {
                struct cc_str k2;
                bool bars_seen = false;
                out->st.has |= CC_RS_DATA;
                rc = cc_json_obj_begin(&j);
                while (rc >= 0) {
                    rc = cc_json_obj_next(&j, &k2);
                    if (rc <= 0) {
                        break;
                    }
                    if (cc_str_eq(&k2, "Data", 4) &&
                        cc_json_peek(&j) == '[') {
                        if (bars_seen) {
                            return cc_json_fail(&j, MD_E_PROTO,
                                                off_of(&j, k2.p) - 1,
                                                "duplicate key");
                        }
                        bars_seen = true;
                        rc = read_bars(&j, out, bars, cap);
                    } else {
                        rc = histo_meta(&j, &k2, out);
                        if (rc == 0) {
                            rc = cc_json_skip(&j);
                        }
                    }
                }
            } else {
                rc = cc_json_skip(&j); /* null or a stray scalar */
            }
            continue;
        }
        rc = histo_meta(&j, &key, out);
        if (rc == 0) {
            rc = envelope_member(&j, &key, &out->st, &seen);
        }
        if (rc == 0) {
            rc = cc_json_skip(&j);
        }
    }
    if (rc < 0) {
        return rc;
    }
    rc = cc_json_end(&j);
    if (rc < 0) {
        return rc;
    }
    classify(&out->st);
    if (out->n_total > out->n_bars) {
        return cc_json_fail(&j, MD_E_FULL, len, "more bars than capacity");
    }
    return MD_OK;
}

int cc_rest_price(const char *buf, size_t len, int http_status,
                  struct cc_rest_status *st, struct cc_price *prices,
                  size_t cap, size_t *n, size_t *n_total,
                  struct cc_err *err)
{
    struct cc_json j;
    struct cc_str key;
    uint64_t seen = 0;
    size_t total = 0;
    size_t got = 0;
    int rc;

    if (!st || !n || (!prices && cap > 0)) {
        return bad_arg(err);
    }
    status_init(st, http_status, buf);
    *n = 0;
    if (n_total) {
        *n_total = 0;
    }
    rc = rest_start(&j, buf, len, err);
    while (rc >= 0) {
        int c;
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        rc = envelope_member(&j, &key, st, &seen);
        if (rc != 0) {
            continue;
        }
        if (cc_str_eq(&key, "Data", 4)) {
            rc = cc_json_skip(&j);
            continue;
        }
        c = cc_json_peek(&j);
        if (c == '{') {
            /* pricemulti: {"BTC":{"USD":1.2}} */
            struct cc_str k2;
            rc = cc_json_obj_begin(&j);
            while (rc >= 0) {
                struct cc_price scratch;
                struct cc_price *p;
                rc = cc_json_obj_next(&j, &k2);
                if (rc <= 0) {
                    break;
                }
                rc = cc_json_null(&j);
                if (rc != 0) {
                    continue; /* null is absent; rc < 0 ends the loop */
                }
                p = got < cap ? &prices[got] : &scratch;
                p->fsym = key;
                p->tsym = k2;
                rc = cc_json_num(&j, &p->px);
                if (rc == MD_OK) {
                    got += p != &scratch ? 1u : 0u;
                    total++;
                }
            }
            st->has |= CC_RS_DATA;
        } else if (c == 'n') {
            rc = cc_json_skip(&j);
        } else {
            /* price: {"USD":1.2} */
            struct cc_price scratch;
            struct cc_price *p = got < cap ? &prices[got] : &scratch;
            p->fsym.p = key.p;
            p->fsym.len = 0;
            p->fsym.esc = false;
            p->tsym = key;
            rc = cc_json_num(&j, &p->px);
            if (rc == MD_OK) {
                got += p != &scratch ? 1u : 0u;
                total++;
            }
            st->has |= CC_RS_DATA;
        }
    }
    *n = got;
    if (n_total) {
        *n_total = total;
    }
    if (rc < 0) {
        return rc;
    }
    rc = cc_json_end(&j);
    if (rc < 0) {
        return rc;
    }
    classify(st);
    if (total > got) {
        return cc_json_fail(&j, MD_E_FULL, len, "more prices than capacity");
    }
    return MD_OK;
}

/* RAW: {FSYM: {TSYM: {ticker}}}. */
static int read_raw(struct cc_json *j, struct cc_ticker *tickers, size_t cap,
                    size_t *got, size_t *total)
{
    struct cc_str fkey;
    int rc = cc_json_obj_begin(j);

    while (rc >= 0) {
        struct cc_str tkey;
        rc = cc_json_obj_next(j, &fkey);
        if (rc <= 0) {
            break;
        }
        rc = cc_json_obj_begin(j);
        while (rc >= 0) {
            struct cc_ticker scratch;
            struct cc_ticker *t;
            rc = cc_json_obj_next(j, &tkey);
            if (rc <= 0) {
                break;
            }
            t = *got < cap ? &tickers[*got] : &scratch;
            memset(t, 0, sizeof *t);
            t->type_num = -1;
            rc = cc_json_obj_begin(j);
            if (rc == MD_OK) {
                rc = decode_members(j, ticker_tab, NELEM(ticker_tab), t,
                                    &t->has, 0, 0, CC_ALL_FIELDS);
            }
            if (rc < 0) {
                break;
            }
            if (!(t->has & CC_TKM(CC_TK_FROMSYMBOL))) {
                t->fsym = fkey;
                t->has |= CC_TKM(CC_TK_FROMSYMBOL);
            }
            if (!(t->has & CC_TKM(CC_TK_TOSYMBOL))) {
                t->tsym = tkey;
                t->has |= CC_TKM(CC_TK_TOSYMBOL);
            }
            if (t != &scratch) {
                (*got)++;
            }
            (*total)++;
        }
    }
    return rc < 0 ? rc : MD_OK;
}

int cc_rest_pricemultifull(const char *buf, size_t len, int http_status,
                           struct cc_rest_status *st,
                           struct cc_ticker *tickers, size_t cap, size_t *n,
                           size_t *n_total, struct cc_err *err)
{
    struct cc_json j;
    struct cc_str key;
    uint64_t seen = 0;
    size_t total = 0;
    size_t got = 0;
    bool raw_seen = false;
    int rc;

    if (!st || !n || (!tickers && cap > 0)) {
        return bad_arg(err);
    }
    status_init(st, http_status, buf);
    *n = 0;
    if (n_total) {
        *n_total = 0;
    }
    rc = rest_start(&j, buf, len, err);
    while (rc >= 0) {
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        if (cc_str_eq(&key, "RAW", 3)) {
            if (raw_seen) {
                rc = cc_json_fail(&j, MD_E_PROTO, off_of(&j, key.p) - 1,
                                  "duplicate key");
                break;
            }
            raw_seen = true;
            st->has |= CC_RS_DATA;
            rc = read_raw(&j, tickers, cap, &got, &total);
            continue;
        }
        rc = envelope_member(&j, &key, st, &seen);
        if (rc == 0) {
            rc = cc_json_skip(&j); /* DISPLAY, Data, unknown */
        }
    }
    *n = got;
    if (n_total) {
        *n_total = total;
    }
    if (rc < 0) {
        return rc;
    }
    rc = cc_json_end(&j);
    if (rc < 0) {
        return rc;
    }
    classify(st);
    if (total > got) {
        return cc_json_fail(&j, MD_E_FULL, len,
                            "more tickers than capacity");
    }
    return MD_OK;
}

int cc_rest_status_decode(const char *buf, size_t len, int http_status,
                          struct cc_rest_status *st, struct cc_err *err)
{
    struct cc_json j;
    struct cc_str key;
    uint64_t seen = 0;
    int rc;

    if (!st) {
        return bad_arg(err);
    }
    status_init(st, http_status, buf);
    rc = rest_start(&j, buf, len, err);
    while (rc >= 0) {
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        rc = envelope_member(&j, &key, st, &seen);
        if (rc == 0) {
            /* Any other member is payload (bare bodies have no Data). */
            st->has |= CC_RS_DATA;
            rc = cc_json_skip(&j);
        }
    }
    if (rc < 0) {
        return rc;
    }
    rc = cc_json_end(&j);
    if (rc < 0) {
        return rc;
    }
    classify(st);
    return MD_OK;
}
