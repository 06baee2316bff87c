/* cli_kafka.h: -X KEY=VALUE and -X @FILE, shared by replay and tail. */
#ifndef CLI_KAFKA_H
#define CLI_KAFKA_H

#include <stddef.h>

/* Add the property (or the file's properties) of one -X argument to
 * props[0..*n), at most cap. arg is modified (KEY=VALUE split in place);
 * a file's lines are copied and kept for the process's life. 0, or the
 * exit status (2 usage, 1 out of memory) after an error on stderr naming
 * the argument or FILE:LINE, never a value. */
int cli_kafka_prop(const char *cmd, char *arg, const char *props[][2],
                   unsigned *n, unsigned cap);

#endif /* CLI_KAFKA_H */
