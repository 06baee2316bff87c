/* log.h: the shells' log lines on stderr: as text (the message as it is,
 * one line) or, with --log-format json, one JSON object per line:
 * {"ts":"2026-12-04T13:55:00.123Z","level":"warn","event":"outbox_full",
 *  "msg":"..."} (docs/operations.md, "Logs"). The message never holds a
 * secret: callers do not pass one (the API key is never formatted).
 * Shell code; one process-wide setting. */
#ifndef LOOP_LOG_H
#define LOOP_LOG_H

#include <stdbool.h>

enum md_log_level { MD_LOG_INFO = 0, MD_LOG_WARN, MD_LOG_ERROR };

/* JSON lines from now on (false: text). */
void md_log_json(bool on);
bool md_log_is_json(void);

/* One line: level, a short event name ([a-z_]), the message. */
void md_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A JSON string of text (quotes, escapes; bytes >= 0x80 kept as they
 * are, control characters as \u00XX) into out[0..cap), NUL-ended,
 * truncated to fit. */
void md_log_json_str(char *out, unsigned cap, const char *text);

#endif /* LOOP_LOG_H */
