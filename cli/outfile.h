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

#endif /* OUTFILE_H */
