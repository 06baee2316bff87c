/* outfile.h: an output file of a command that never destroys an input
 * and never pretends. The output is written to a temporary file beside
 * its final name (NAME.tmp-XXXXXX) and renamed into place only when every
 * write, the flush and the close succeeded; a failed or abandoned output
 * leaves no file under its final name and no debris. "-" is standard
 * output, written directly and checked the same way; so is an existing
 * file that is not a regular file (/dev/null, a FIFO, a terminal). An output that names
 * an input (the same path, or the same file through a link) is refused
 * before anything is written. */
#ifndef OUTFILE_H
#define OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
    FILE *f;          /* write here */
    const char *path; /* the final name (borrowed) */
    char *tmp;        /* the temporary name, or NULL (written in place) */
    bool is_stdout;
};

/* MD_OK, or MD_E_INVAL with err saying that path is one of inputs[0..n)
 * (NULL and "-" entries are skipped). */
int outfile_check(const char *path, const char *const *inputs,
                  size_t n_inputs, char *err, size_t errlen);

/* Open path for writing (mode "w" or "wb") after outfile_check. MD_OK;
 * MD_E_INVAL (an input), MD_E_IO (cannot create the temporary file: err
 * names path and the reason), MD_E_NOMEM. */
int outfile_open(struct outfile *o, const char *path, const char *mode,
                 const char *const *inputs, size_t n_inputs, char *err,
                 size_t errlen);

/* Flush, check, close and rename into place. MD_OK, or MD_E_IO with err
 * naming the file and the reason (the temporary file is removed). */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/* Close and remove the temporary file; nothing under the final name. */
void outfile_abort(struct outfile *o);

/* The process's umask (files are created 0644 less it, as fopen would). */
mode_t outfile_umask(void);

/* A new capture (SQLite) written under a temporary name and put in place
 * only when complete. outfile_db_begin fills tmp (cap bytes) with a name
 * beside path that does not exist yet (NAME.tmp-XXXXXX, created empty and
 * removed again: the store writer creates its file exclusively). MD_OK or
 * MD_E_IO with err. */
int outfile_db_begin(const char *path, char *tmp, size_t cap, char *err,
                     size_t errlen);

/* Put the finished capture tmp in place as path: with replace, over what
 * is there (rename); without, only if path still does not exist (a link,
 * then the temporary name removed), so of two writers one wins and the
 * other says so. On failure tmp and its -wal/-shm/-journal are removed.
 * MD_OK; MD_E_IO with err. */
int outfile_db_commit(const char *tmp, const char *path, bool replace,
                      char *err, size_t errlen);

/* Remove a capture file and its -wal, -shm and -journal companions. 0, or
 * -1 with errno when the main file could not be removed. */
int outfile_db_remove(const char *path);

/* While the command writes, SIGINT, SIGTERM and SIGHUP remove the
 * registered temporary files (a capture's companions included) and then
 * end the process as the signal would. At most 4 names, kept by the
 * caller until outfile_forget. */
void outfile_on_signal(const char *tmp);

/* The first SIGINT or SIGTERM calls fn (from the signal handler: it must
 * be async-signal-safe) instead of cleaning up and dying; the next one
 * cleans up and dies as usual. */
void outfile_on_first_signal(void (*fn)(int));
void outfile_forget(const char *tmp);

/* A message about a temporary file made to name the final one: every
 * occurrence of from in buf replaced by to (as far as cap holds). */
void outfile_msg_names(char *buf, size_t cap, const char *from,
                       const char *to);

#endif /* OUTFILE_H */
