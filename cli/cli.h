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

#endif /* CLI_H */
