/* cli_conf.h: a command's configuration file (--config FILE), shared by
 * capture and live: one KEY = VALUE per line, KEY a long option of the
 * command without its dashes, '#' a comment, blank lines ignored; an
 * option without a value takes true or false; an option given more than
 * once (kafka-property) may repeat. Flags on the command line win: the
 * file is read first. Errors name FILE:LINE:COLUMN. */
#ifndef CLI_CONF_H
#define CLI_CONF_H

#include <stddef.h>

struct option;

#define CLI_CONF_MAX 64 /* settings per file */

/* Set option id to v (kept by the caller until exit); MD_OK, or
 * MD_E_USAGE with why. */
typedef int (*cli_conf_set_fn)(void *ctx, int id, const char *v, char *why,
                               size_t n);

/* The FILE of the last --config FILE / --config=FILE before "--", or
 * NULL. */
const char *cli_conf_file(int argc, char **argv);

/* Read file: each setting through set, the values kept in keep[0..
 * CLI_CONF_MAX] (NULL-ended; free with cli_conf_free). skip: option ids
 * a file may not set (help, config), ended by 0. MD_OK; MD_E_USAGE or
 * MD_E_IO with err. */
int cli_conf_read(const char *file, const struct option *lo,
                  const int *skip, cli_conf_set_fn set, void *ctx,
                  char **keep, char *err, size_t errlen);

void cli_conf_free(char **keep);

#endif /* CLI_CONF_H */
