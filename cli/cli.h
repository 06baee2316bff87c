/* cli.h: the subcommands of the ccstream front end. Each takes the
 * arguments after the program name (argv[0] is the subcommand) and returns
 * the process exit status: 0 ok, 1 failure, 2 usage error. */
#ifndef CLI_H
#define CLI_H

int cmd_mealy(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_broker(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_live(int argc, char **argv);

/* Option parsing shared by the subcommands: getopt_long with the GNU
 * rules (options and operands in any order, "--" ends the options,
 * "--name VALUE" or "--name=VALUE", unambiguous prefixes of long names).
 *
 * cli_opt_begin starts a new scan: getopt's state is global, and a
 * command may run more than once in one process (the tests do).
 *
 * cli_opt_next returns the next option's val; -1 when the options are
 * done (the operands are then argv[optind..argc), moved to the end);
 * '?' after printing "ccstream CMD: unknown option 'X'", or ':' after
 * "ccstream CMD: X needs a value", on stderr ("ccstream: ..." when cmd
 * is NULL; the caller prints its usage if it wants and returns 2).
 * shortopts must begin with ':' (after a '+' that stops at the first
 * operand). */
struct option;
void cli_opt_begin(void);
int cli_opt_next(const char *cmd, int argc, char **argv,
                 const char *shortopts, const struct option *longopts);

/* The API key to scrub from what a command writes: the first line of
 * file (trailing blanks dropped) when file is not NULL, else the
 * environment variable CCSTREAM_API_KEY, else none (key ""). Never
 * printed. MD_OK; MD_E_IO (file unreadable), MD_E_INVAL (a key shorter
 * than 8 bytes, which redaction refuses, or too long for cap): err
 * says which, never what. */
#include <stddef.h>
int cli_api_key(const char *file, char *key, size_t cap, char *err,
                size_t errlen);

/* The key of a live session (capture, live): --api-key-file FILE, else
 * $CRYPTOCOMPARE_API_KEY, else $CCSTREAM_API_KEY (cli_api_key's rules). */
int cli_api_key_live(const char *file, char *key, size_t cap, char *err,
                     size_t errlen);

#endif /* CLI_H */
