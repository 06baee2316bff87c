/* cc_decode.h: CryptoCompare decoder, raw bytes to typed events.
 *
 * Streamer v2 frames (one JSON object each) and min-api REST bodies become
 * plain structs; TYPE 2/5 partial updates merge into a per-key state.
 * Pure: no I/O, no allocation, no clock, no locale changes; input is
 * pointer+length (not NUL-terminated) and is never read past its end. */
#ifndef CC_DECODE_H
#define CC_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc_json.h"

/* Decoding rules shared by every entry point (docs/decoder.md has more):
 * - Key order never matters. Unknown keys are skipped, their values
 *   validated (nesting bounded by CC_JSON_MAX_DEPTH).
 * - A known key that appears twice in one object is MD_E_PROTO
 *   ("duplicate key"): frame members, bars, RAW tickers, the REST
 *   envelope. In the small nested objects (INFO_OBJ, RateLimit, Err) the
 *   last one wins; duplicate unknown keys are not detected.
 * - Absent fields leave their "has" bit clear and their value zero; a
 *   value of null is treated as absent. A value of the wrong JSON type
 *   for a known field is MD_E_PROTO.
 * - Integer fields must be integral numbers that fit int64 (MD_E_RANGE
 *   otherwise; "1.0" is accepted as 1, "1.5" is MD_E_PROTO).
 * - Strings are struct cc_str, borrowed from the input: they die with the
 *   buffer. When str.esc is set, run cc_str_unescape() into your buffer.
 * - Failures return a negative MD_E_* code and fill *err (may be NULL)
 *   with the byte offset; MD_E_TRUNC when the input ended early,
 *   MD_E_PROTO when it is malformed. Output structs are then unspecified
 *   (but safe to read: no pointer in them points outside the input). */

/* ---------------------------------------------------------------------
 * Streamer v2
 * ------------------------------------------------------------------- */

/* What a frame is, by its TYPE. */
enum cc_type {
    CC_T_NONE = 0,
    CC_T_TRADE,          /* TYPE 0 -> struct cc_trade */
    CC_T_TICKER,         /* TYPE 2 per-exchange ticker -> cc_ticker */
    CC_T_CCCAGG,         /* TYPE 5 CCCAGG index -> cc_ticker */
    CC_T_OHLC,           /* TYPE 24 candle -> struct cc_ohlc */
    CC_T_WELCOME,        /* TYPE 20 STREAMERWELCOME -> cc_welcome */
    CC_T_SUB_COMPLETE,   /* TYPE 16 -> cc_ctl (SUB) */
    CC_T_UNSUB_COMPLETE, /* TYPE 17 -> cc_ctl (SUB) */
    CC_T_UNSUB_ALL,      /* TYPE 18 -> cc_ctl (INFO, INFO_OBJ) */
    CC_T_LOAD_COMPLETE,  /* TYPE 3 -> cc_ctl (INFO) */
    CC_T_HEARTBEAT,      /* TYPE 999 -> cc_ctl (TIMEMS) */
    CC_T_UNAUTHORIZED,   /* TYPE 401 -> cc_ctl */
    CC_T_RATE_LIMIT,     /* TYPE 429 -> cc_ctl (code says which) */
    CC_T_ERROR,          /* TYPE 500 -> cc_ctl (code says which) */
    CC_T_UNKNOWN,        /* any other TYPE; see cc_msg.type_text */
    CC_T__COUNT
};

/* MESSAGE of a control frame, for TYPE 401/429/500 (and the others). */
enum cc_code {
    CC_C_NONE = 0, /* no MESSAGE key */
    CC_C_OTHER,    /* a MESSAGE this decoder does not know */
    CC_C_STREAMERWELCOME,
    CC_C_SUBSCRIBECOMPLETE,
    CC_C_UNSUBSCRIBECOMPLETE,
    CC_C_UNSUBSCRIBEALLCOMPLETE,
    CC_C_LOADCOMPLETE,
    CC_C_HEARTBEAT,
    CC_C_UNAUTHORIZED,
    CC_C_RATE_LIMIT_OPENING_SOCKETS_TOO_FAST,
    CC_C_TOO_MANY_SOCKETS,       /* TOO_MANY_SOCKETS_MAX_<X>_PER_CLIENT */
    CC_C_TOO_MANY_SUBSCRIPTIONS, /* TOO_MANY_SUBSCRIPTIONS_MAX_<X>_PER_SOCKET */
    CC_C_INVALID_SUB,
    CC_C_INVALID_JSON,
    CC_C_INVALID_PARAMETER,
    CC_C_SUBSCRIPTION_UNRECOGNIZED,
    CC_C_SUBSCRIPTION_ALREADY_ACTIVE,
    CC_C_FORCE_DISCONNECT,
    CC_C__COUNT
};

/* TYPE 0 trade. has bits: */
#define CC_TR_M      (UINT64_C(1) << 0) /* always set (required) */
#define CC_TR_FSYM   (UINT64_C(1) << 1) /* always set (required) */
#define CC_TR_TSYM   (UINT64_C(1) << 2) /* always set (required) */
#define CC_TR_F      (UINT64_C(1) << 3)
#define CC_TR_ID     (UINT64_C(1) << 4)
#define CC_TR_TS     (UINT64_C(1) << 5)
#define CC_TR_Q      (UINT64_C(1) << 6)
#define CC_TR_P      (UINT64_C(1) << 7)
#define CC_TR_TOTAL  (UINT64_C(1) << 8)
#define CC_TR_RTS    (UINT64_C(1) << 9)
#define CC_TR_CCSEQ  (UINT64_C(1) << 10)
#define CC_TR_TSNS   (UINT64_C(1) << 11)
#define CC_TR_RTSNS  (UINT64_C(1) << 12)

/* Trade side flags (the F bitmask). */
#define CC_F_SELL     1u
#define CC_F_BUY      2u
#define CC_F_UNKNOWN  4u
#define CC_F_REVERSED 8u

struct cc_trade {
    uint64_t has;
    struct cc_str market; /* M */
    struct cc_str fsym;
    struct cc_str tsym;
    struct cc_str id;     /* exchange trade id (a string on the wire) */
    uint32_t flags;       /* F: a string "1" on the wire; a number works */
    int64_t ts;           /* unix seconds (exchange) */
    int64_t rts;          /* unix seconds (CryptoCompare receive) */
    int64_t ccseq;
    int64_t tsns;         /* ns remainder of ts, checked 0..999999999 */
    int64_t rtsns;        /* ns remainder of rts, checked 0..999999999 */
    struct cc_num q;
    struct cc_num p;
    struct cc_num total;
};

/* TYPE 5 / TYPE 2 / REST RAW ticker. Field ids equal the bit positions of
 * the streamer's packed mask (section 3.3), so CC_TKM(id) is the documented
 * bit value (CC_TKM(CC_TK_VOLUMEDAY) == 0x100). Numeric fields live in
 * num[id]; LASTUPDATE (int) and the strings have their own members.
 * The ids are plain constants, not an enum: id 0 is a real field. */
#define CC_TK_PRICE                    0
#define CC_TK_BID                      1
#define CC_TK_ASK                      2 /* legacy OFFER accepted */
#define CC_TK_LASTUPDATE               3 /* int seconds -> lastupdate */
#define CC_TK_MEDIAN                   4 /* legacy AVG accepted */
#define CC_TK_LASTVOLUME               5
#define CC_TK_LASTVOLUMETO             6
#define CC_TK_LASTTRADEID              7 /* string -> lasttradeid */
#define CC_TK_VOLUMEDAY                8
#define CC_TK_VOLUMEDAYTO              9
#define CC_TK_VOLUME24HOUR             10
#define CC_TK_VOLUME24HOURTO           11
#define CC_TK_OPENDAY                  12
#define CC_TK_HIGHDAY                  13
#define CC_TK_LOWDAY                   14
#define CC_TK_OPEN24HOUR               15
#define CC_TK_HIGH24HOUR               16
#define CC_TK_LOW24HOUR                17
#define CC_TK_LASTMARKET               18 /* string -> lastmarket */
#define CC_TK_VOLUMEHOUR               19
#define CC_TK_VOLUMEHOURTO             20
#define CC_TK_OPENHOUR                 21
#define CC_TK_HIGHHOUR                 22
#define CC_TK_LOWHOUR                  23
#define CC_TK_TOPTIERVOLUME24HOUR      24
#define CC_TK_TOPTIERVOLUME24HOURTO    25
/* JSON-only (no packed bit on the wire; ids chosen here) */
#define CC_TK_CURRENTSUPPLY            26
#define CC_TK_CIRCULATINGSUPPLY        27
#define CC_TK_MAXSUPPLY                28
#define CC_TK_MKTCAPPENALTY            29
#define CC_TK_CURRENTSUPPLYMKTCAP      30
#define CC_TK_CIRCULATINGSUPPLYMKTCAP  31
#define CC_TK_MAXSUPPLYMKTCAP          32
/* REST RAW only */
#define CC_TK_CHANGE24HOUR             33
#define CC_TK_CHANGEPCT24HOUR          34
#define CC_TK_CHANGEDAY                35
#define CC_TK_CHANGEPCTDAY             36
#define CC_TK_CHANGEHOUR               37
#define CC_TK_CHANGEPCTHOUR            38
#define CC_TK_SUPPLY                   39
#define CC_TK_MKTCAP                   40
#define CC_TK_TOTALVOLUME24H           41
#define CC_TK_TOTALVOLUME24HTO         42
#define CC_TK_TOTALTOPTIERVOLUME24H    43
#define CC_TK_TOTALTOPTIERVOLUME24HTO  44
#define CC_TK__NUM                     45 /* size of num[] */
#define CC_TK_CONVERSIONTYPE           45 /* string (REST RAW) */
#define CC_TK_CONVERSIONSYMBOL         46 /* string (REST RAW) */
#define CC_TK_IMAGEURL                 47 /* string (REST RAW) */
/* identity (always set by cc_ws_decode: required) and flags */
#define CC_TK_MARKET                   60
#define CC_TK_FROMSYMBOL               61
#define CC_TK_TOSYMBOL                 62
#define CC_TK_FLAGS                    63
#define CC_TKM(id) (UINT64_C(1) << (id))
/* Every field the packed streamer format can carry (0x3ffffff). */
#define CC_TK_STREAMER_MASK ((UINT64_C(1) << 26) - 1)

/* FLAGS bits (section 3.4). FLAGS & CC_FL_PRICEUNCHANGED: no PRICE key. */
#define CC_FL_PRICEUP          0x1u
#define CC_FL_PRICEDOWN        0x2u
#define CC_FL_PRICEUNCHANGED   0x4u
#define CC_FL_BIDUP            0x8u
#define CC_FL_BIDDOWN          0x10u
#define CC_FL_BIDUNCHANGED     0x20u
#define CC_FL_ASKUP            0x40u
#define CC_FL_ASKDOWN          0x80u
#define CC_FL_ASKUNCHANGED     0x100u
#define CC_FL_MEDIANUP         0x200u
#define CC_FL_MEDIANDOWN       0x400u
#define CC_FL_MEDIANUNCHANGED  0x800u

struct cc_ticker {
    uint64_t has;      /* CC_TKM(id) bits */
    int32_t type_num;  /* 2 or 5 (from TYPE; REST RAW carries "5") */
    uint32_t flags;    /* FLAGS: number on the socket, string in REST */
    struct cc_str market;
    struct cc_str fsym; /* FROMSYMBOL */
    struct cc_str tsym; /* TOSYMBOL */
    struct cc_str lasttradeid;
    struct cc_str lastmarket;
    struct cc_str conversiontype;
    struct cc_str conversionsymbol;
    struct cc_str imageurl;
    int64_t lastupdate; /* unix seconds */
    struct cc_num num[CC_TK__NUM]; /* slots 3, 7 and 18 stay unused */
};

/* TYPE 24 OHLC candle (field list from S4; not yet seen in a capture). */
#define CC_OH_MARKET      (UINT64_C(1) << 0) /* required */
#define CC_OH_FSYM        (UINT64_C(1) << 1) /* required (FROMSYMBOL) */
#define CC_OH_TSYM        (UINT64_C(1) << 2) /* required (TOSYMBOL) */
#define CC_OH_TS          (UINT64_C(1) << 3)
#define CC_OH_UNIT        (UINT64_C(1) << 4)
#define CC_OH_ACTION      (UINT64_C(1) << 5)
#define CC_OH_OPEN        (UINT64_C(1) << 6)
#define CC_OH_HIGH        (UINT64_C(1) << 7)
#define CC_OH_LOW         (UINT64_C(1) << 8)
#define CC_OH_CLOSE       (UINT64_C(1) << 9)
#define CC_OH_VOLUMEFROM  (UINT64_C(1) << 10)
#define CC_OH_VOLUMETO    (UINT64_C(1) << 11)
#define CC_OH_TOTALTRADES (UINT64_C(1) << 12)
#define CC_OH_FIRSTTS     (UINT64_C(1) << 13)
#define CC_OH_LASTTS      (UINT64_C(1) << 14)
#define CC_OH_FIRSTPRICE  (UINT64_C(1) << 15)
#define CC_OH_MAXPRICE    (UINT64_C(1) << 16)
#define CC_OH_MINPRICE    (UINT64_C(1) << 17)
#define CC_OH_LASTPRICE   (UINT64_C(1) << 18)

struct cc_ohlc {
    uint64_t has;
    struct cc_str market;
    struct cc_str fsym;
    struct cc_str tsym;
    struct cc_str unit;   /* "m", "H", "D" (or "MINUTE"...): verbatim */
    struct cc_str action; /* "A", "U", "I": verbatim */
    int64_t ts;           /* period start, unix seconds */
    int64_t totaltrades;
    int64_t firstts;
    int64_t lastts;
    struct cc_num open, high, low, close;
    struct cc_num volumefrom, volumeto;
    struct cc_num firstprice, maxprice, minprice, lastprice;
};

/* Rate-limit windows, used as array indices (constants, not an enum:
 * index 0 is a real window). */
#define CC_P_SECOND 0
#define CC_P_MINUTE 1
#define CC_P_HOUR   2
#define CC_P_DAY    3
#define CC_P_MONTH  4
#define CC_P__COUNT 5

/* TYPE 20 welcome. has bits: */
#define CC_WL_MESSAGE        (UINT64_C(1) << 0)
#define CC_WL_SERVER_UPTIME  (UINT64_C(1) << 1)
#define CC_WL_SERVER_NAME    (UINT64_C(1) << 2)
#define CC_WL_SERVER_TIME_MS (UINT64_C(1) << 3)
#define CC_WL_CLIENT_ID      (UINT64_C(1) << 4)
#define CC_WL_DATA_FORMAT    (UINT64_C(1) << 5)
#define CC_WL_SOCKET_ID      (UINT64_C(1) << 6)
#define CC_WL_SOCKETS_ACTIVE (UINT64_C(1) << 7)
#define CC_WL_SOCKETS_REMAIN (UINT64_C(1) << 8)
/* RATELIMIT_MAX_<period>: bit 16 + period; REMAINING: bit 24 + period */
#define CC_WL_RL_MAX(p)    (UINT64_C(1) << (16 + (p)))
#define CC_WL_RL_REMAIN(p) (UINT64_C(1) << (24 + (p)))

struct cc_welcome {
    uint64_t has;
    struct cc_str message;
    struct cc_str server_name;
    struct cc_str data_format;
    struct cc_str socket_id;
    int64_t server_uptime_s;
    int64_t server_time_ms;
    int64_t client_id;  /* an int on the wire; a digit string works too */
    int64_t sockets_active;
    int64_t sockets_remaining;
    int64_t rl_max[CC_P__COUNT];    /* socket openings, not REST calls */
    int64_t rl_remain[CC_P__COUNT];
};

/* Control frames (16, 17, 18, 3, 999, 401, 429, 500). has bits: */
#define CC_CT_MESSAGE   (UINT64_C(1) << 0)
#define CC_CT_SUB       (UINT64_C(1) << 1)
#define CC_CT_INFO      (UINT64_C(1) << 2)
#define CC_CT_PARAMETER (UINT64_C(1) << 3)
#define CC_CT_TIMEMS    (UINT64_C(1) << 4)
#define CC_CT_VALID     (UINT64_C(1) << 5) /* INFO_OBJ.valid */
#define CC_CT_INVALID   (UINT64_C(1) << 6) /* INFO_OBJ.invalid */
#define CC_CT_MAX_X     (UINT64_C(1) << 7) /* X of ..._MAX_<X>_PER_... */

struct cc_ctl {
    uint64_t has;
    enum cc_code code; /* from MESSAGE */
    struct cc_str message;
    struct cc_str sub;
    struct cc_str info;
    struct cc_str parameter;
    int64_t timems;  /* unix ms (999) */
    int64_t valid;   /* 18: INFO_OBJ.valid */
    int64_t invalid; /* 18: INFO_OBJ.invalid */
    int64_t max_x;   /* 429: the X in TOO_MANY_..._MAX_X_PER_... */
};

/* One decoded frame. Only the union member named by type is written. */
struct cc_msg {
    enum cc_type type;
    int32_t type_num;       /* numeric TYPE, -1 if TYPE is not digits */
    struct cc_str type_text; /* TYPE verbatim (borrowed); for UNKNOWN */
    union {
        struct cc_trade trade;
        struct cc_ticker ticker; /* CC_T_TICKER, CC_T_CCCAGG */
        struct cc_ohlc ohlc;
        struct cc_welcome welcome;
        struct cc_ctl ctl;
    } u;
};

/* Decode one streamer v2 frame buf[0..len) into *msg.
 * TYPE may be a JSON string ("5") or a bare number (5) and may sit
 * anywhere in the object (a first-key TYPE is the fast path). A frame
 * with an unrecognised TYPE is validated and returned as CC_T_UNKNOWN
 * with MD_OK (the caller counts it). Required: TYPE everywhere;
 * M/FSYM/TSYM for trades; MARKET/FROMSYMBOL/TOSYMBOL for 2, 5 and 24;
 * otherwise MD_E_PROTO "missing required field".
 * Returns MD_OK; MD_E_TRUNC / MD_E_PROTO / MD_E_RANGE with *err (may be
 * NULL) set; MD_E_INVAL if buf is NULL with len > 0 or msg is NULL.
 * Ownership: msg's strings borrow from buf. */
int cc_ws_decode(const char *buf, size_t len, struct cc_msg *msg,
                 struct cc_err *err);

/* Every field of a kind. */
#define CC_ALL_FIELDS (~UINT64_C(0))

/* The fields to convert, per message kind, as has bits. */
struct cc_want {
    uint64_t trade;  /* CC_TR_* (M, FSYM, TSYM always) */
    uint64_t ticker; /* CC_TKM() (MARKET, FROMSYMBOL, TOSYMBOL, FLAGS
                        always) */
};

/* cc_ws_decode, but of a trade or a TYPE 2/5/24 ticker the decimal
 * (struct cc_num) and string fields not in want (NULL: all wanted) are
 * not converted and their has bits stay clear; integer fields are always
 * read. The fields passed over are still checked: a number must be a
 * JSON number and a string a valid string, or the frame is MD_E_PROTO as
 * before; only a number too large for a double (MD_E_RANGE when
 * converted) passes unnoticed there. A CCCAGG update carries some twenty numbers of which
 * the aggregator reads four, and a trade's TOTAL is the costliest number
 * of a trade and unread, so this is much of the cost of a frame. */
int cc_ws_decode_want(const char *buf, size_t len, struct cc_msg *msg,
                      struct cc_err *err, const struct cc_want *want);

/* The whole number (at most 18 digits) right after the first key[0..kl)
 * in buf[0..len), without decoding the message: -1 when the key is absent
 * or no digit follows it. For figures over raw frames (a trade's lag, the
 * server's clock), where a decode would cost more than the figure is
 * worth; key holds its quotes and colon ("\"TS\":"). */
int64_t cc_peek_int(const char *buf, size_t len, const char *key, size_t kl);

/* Stable names for logs and tests. cc_type_name gives the symbol
 * ("CC_T_TRADE"); cc_code_name gives the MESSAGE text the code stands for
 * ("INVALID_SUB", "TOO_MANY_SOCKETS_MAX_X_PER_CLIENT"), or "CC_C_NONE" /
 * "CC_C_OTHER". Never NULL; static strings. */
const char *cc_type_name(enum cc_type t);
const char *cc_code_name(enum cc_code c);

/* ---------------------------------------------------------------------
 * TYPE 5 / TYPE 2 merge state
 * ------------------------------------------------------------------- */

/* Longest string a state keeps (bytes, unescaped). */
#define CC_STATE_STR_MAX 63

struct cc_fixstr {
    uint8_t len;
    char s[CC_STATE_STR_MAX];
};

/* The merged view of one (TYPE, MARKET, FROMSYMBOL, TOSYMBOL) key. It
 * owns copies of its strings, so it outlives every input buffer. Treat
 * the fields as read-only; change them through the functions below. */
struct cc_ticker_state {
    bool keyed;        /* key fields below are set */
    int32_t type_num;  /* 2 or 5 */
    struct cc_fixstr market, fsym, tsym;
    uint64_t has;      /* CC_TKM bits ever merged since the last reset */
    uint32_t flags;    /* FLAGS of the latest update that carried one */
    uint64_t updates;  /* merges since the last reset */
    int64_t lastupdate;
    struct cc_fixstr lasttradeid, lastmarket;
    struct cc_fixstr conversiontype, conversionsymbol, imageurl;
    struct cc_num num[CC_TK__NUM];
};

/* Forget everything, key included: call on a new snapshot, i.e. after
 * every (re)subscribe. Cannot fail. */
void cc_ticker_reset(struct cc_ticker_state *st);

/* Merge update into st: every field present in update overwrites st, no
 * absent field is touched (never zeroed). PRICE is absent when FLAGS has
 * CC_FL_PRICEUNCHANGED, so the last PRICE stays; a PRICE that is present
 * is taken even then (REST RAW "2052" snapshots carry it). An unkeyed
 * (reset) state adopts the update's key; a keyed one accepts only the
 * same key. *changed (may be NULL) receives the CC_TKM bits written.
 * Returns MD_OK; MD_E_INVAL (NULL argument, or a different key);
 * MD_E_RANGE (a string longer than CC_STATE_STR_MAX); MD_E_PROTO (a bad
 * escape in a string). On failure st is unchanged.
 * Ownership: strings are copied; update may die afterwards. */
int cc_ticker_merge(struct cc_ticker_state *st,
                    const struct cc_ticker *update, uint64_t *changed);

/* ---------------------------------------------------------------------
 * REST (min-api)
 * ------------------------------------------------------------------- */

/* What a REST body says, by its content (the HTTP status is a hint). */
enum cc_rest_kind {
    CC_R_NONE = 0,
    CC_R_OK,          /* success payload (enveloped or bare) */
    CC_R_ERROR,       /* an error not classified below */
    CC_R_RATE_LIMIT,  /* Type 99, rate-limit text, or HTTP 429 */
    CC_R_AUTH,        /* missing/invalid key: Type 1 + key text, 401/403 */
    CC_R_PARAM        /* Type 2 or ParamWithError: bad parameter/symbol */
};

/* Envelope has bits: */
#define CC_RS_RESPONSE       (UINT64_C(1) << 0)
#define CC_RS_MESSAGE        (UINT64_C(1) << 1)
#define CC_RS_HASWARNING     (UINT64_C(1) << 2)
#define CC_RS_WARNING        (UINT64_C(1) << 3)
#define CC_RS_TYPE           (UINT64_C(1) << 4)
#define CC_RS_PARAMWITHERROR (UINT64_C(1) << 5)
#define CC_RS_RATELIMIT      (UINT64_C(1) << 6) /* a non-empty RateLimit */
#define CC_RS_ERR            (UINT64_C(1) << 7) /* a non-empty Err */
#define CC_RS_ERR_TYPE       (UINT64_C(1) << 8)
#define CC_RS_ERR_MESSAGE    (UINT64_C(1) << 9)
#define CC_RS_ERR_HTTP       (UINT64_C(1) << 10)
#define CC_RS_ERR_PARAM      (UINT64_C(1) << 11)
#define CC_RS_DATA           (UINT64_C(1) << 12) /* a payload was seen */

struct cc_ratelimit {
    uint32_t has_made;   /* bit p: calls_made[p] present */
    uint32_t has_max;    /* bit p: max_calls[p] present */
    uint32_t has_left;   /* bit p: calls_left[p] present */
    bool has_total;      /* calls_made.total_calls present */
    int64_t calls_made[CC_P__COUNT];
    int64_t max_calls[CC_P__COUNT];
    int64_t calls_left[CC_P__COUNT];
    int64_t total_calls;
};

struct cc_rest_status {
    enum cc_rest_kind kind;
    uint64_t has;          /* CC_RS_* */
    int http_status;       /* as passed in (0 = unknown) */
    struct cc_str response; /* "Success" / "Error" */
    struct cc_str message;
    struct cc_str warning;
    struct cc_str param_with_error;
    bool has_warning;
    int64_t type;          /* 100 ok, 1 auth/general, 2 param, 99 rate */
    struct cc_ratelimit rl;
    /* 2026 / data-api error envelope {"Data":{},"Err":{...}} */
    int64_t err_type;
    struct cc_str err_message;
    int64_t err_http_status;
    struct cc_str err_param; /* Err.other_info.param */
};

/* One OHLCV bar of /data/v2/histo* or /data/histo* (v1). has bits: */
#define CC_BAR_TIME        (UINT64_C(1) << 0)
#define CC_BAR_HIGH        (UINT64_C(1) << 1)
#define CC_BAR_LOW         (UINT64_C(1) << 2)
#define CC_BAR_OPEN        (UINT64_C(1) << 3)
#define CC_BAR_VOLUMEFROM  (UINT64_C(1) << 4)
#define CC_BAR_VOLUMETO    (UINT64_C(1) << 5)
#define CC_BAR_CLOSE       (UINT64_C(1) << 6)
#define CC_BAR_CONV_TYPE   (UINT64_C(1) << 7)
#define CC_BAR_CONV_SYMBOL (UINT64_C(1) << 8)

struct cc_bar {
    uint64_t has;
    int64_t time; /* bar start, unix seconds */
    struct cc_num high, low, open, close;
    struct cc_num volumefrom, volumeto;
    struct cc_str conversion_type;   /* borrowed */
    struct cc_str conversion_symbol; /* borrowed */
};

/* Histo has bits: */
#define CC_HI_AGGREGATED (UINT64_C(1) << 0)
#define CC_HI_TIMEFROM   (UINT64_C(1) << 1)
#define CC_HI_TIMETO     (UINT64_C(1) << 2)
#define CC_HI_V1         (UINT64_C(1) << 3) /* Data was the bar array */
#define CC_HI_FIRSTVALUE (UINT64_C(1) << 4) /* v1 FirstValueInArray */

struct cc_histo {
    struct cc_rest_status st;
    uint64_t has;
    bool aggregated;
    bool first_value_in_array;
    int64_t time_from;
    int64_t time_to;
    size_t n_bars;  /* bars written to the caller's array */
    size_t n_total; /* bars in the body (> n_bars means MD_E_FULL) */
};

/* Decode a /data/v2/histominute|histohour|histoday body or a v1
 * /data/histominute body (told apart by content: Data an array = v1).
 * Bars go to bars[0..cap) in body order; out->n_bars says how many.
 * http_status is a hint for classification only (0 if unknown).
 * Error envelopes (Response "Error", Err, Type 99...) are MD_OK with
 * out->st.kind != CC_R_OK and no bars.
 * Returns MD_OK; MD_E_FULL when the body holds more than cap bars: the
 * whole body is still validated, bars[0..cap) are filled, out->n_total
 * is the full count (call again with a bigger array); MD_E_TRUNC /
 * MD_E_PROTO / MD_E_RANGE with *err set; MD_E_INVAL (NULL out, or NULL
 * bars with cap > 0). Ownership: strings in out and bars borrow buf. */
int cc_rest_histo(const char *buf, size_t len, int http_status,
                  struct cc_histo *out, struct cc_bar *bars, size_t cap,
                  struct cc_err *err);

/* One price of /data/price or /data/pricemulti. */
struct cc_price {
    struct cc_str fsym; /* empty for /data/price (the caller knows it) */
    struct cc_str tsym;
    struct cc_num px;
};

/* Decode /data/price ({"USD":1.2,...}) or /data/pricemulti
 * ({"BTC":{"USD":1.2},...}), told apart per member (number vs object).
 * Envelope keys (Response, Message, Type, Data, RateLimit, Err...) are
 * never prices. Prices go to prices[0..cap) in body order; *n counts
 * them. Returns as cc_rest_histo (MD_E_FULL: *n = cap, st->... and the
 * total in *n_total when non-NULL). */
int cc_rest_price(const char *buf, size_t len, int http_status,
                  struct cc_rest_status *st, struct cc_price *prices,
                  size_t cap, size_t *n, size_t *n_total,
                  struct cc_err *err);

/* Decode /data/pricemultifull: RAW[FSYM][TSYM] into tickers[0..cap)
 * (FLAGS as a string or number; FROMSYMBOL/TOSYMBOL filled from the keys
 * when absent). DISPLAY is validated and skipped. Returns as
 * cc_rest_price. */
int cc_rest_pricemultifull(const char *buf, size_t len, int http_status,
                           struct cc_rest_status *st,
                           struct cc_ticker *tickers, size_t cap, size_t *n,
                           size_t *n_total, struct cc_err *err);

/* Decode only the envelope of any min-api / data-api body and classify
 * it. Every other key is validated, skipped and counts as payload
 * (CC_RS_DATA: a bare body with payload is CC_R_OK whatever the status).
 * Returns as cc_rest_histo, without MD_E_FULL. */
int cc_rest_status_decode(const char *buf, size_t len, int http_status,
                          struct cc_rest_status *st, struct cc_err *err);

const char *cc_rest_kind_name(enum cc_rest_kind k);

/* Module-internal, for the tests: true when every field table fits its
 * lookup (unique names of 1..255 bytes; the streamer's start with TYPE). */
bool cc_decode__tables_ok(void);

#endif /* CC_DECODE_H */
