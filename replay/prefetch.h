/* prefetch.h: read-ahead: a thread reads the capture while the core runs.
 * Shell code. */
#ifndef REPLAY_PREFETCH_H
#define REPLAY_PREFETCH_H

#include <pthread.h>
#include <stddef.h>

#include "store.h"

/* * The store reader belongs to the read-ahead thread alone; events reach
 * the replay loop in seq order through a few batches, each holding copies
 * of up to PF_BATCH events and their bytes. The order, and so every output,
 * is the same as reading directly: only the waiting changes. */
#define PF_BATCHES 4
#define PF_BATCH 4096               /* events per batch, at most */
#define PF_BATCH_BYTES (1u << 20)   /* bytes per batch, unless one event
                                       alone is larger */

struct pf_batch {
    size_t n, used, cap; /* events; bytes used of buf */
    struct store_event ev[PF_BATCH];
    char *buf;
    int full;
};

struct prefetch {
    struct store_reader *rd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pf_batch b[PF_BATCHES];
    unsigned head;  /* the batch the consumer reads */
    size_t pos;     /* next event in it */
    int seen_full;  /* the consumer saw it full (consumer-only) */
    int end_rc;     /* the reader's final rc (MD_E_NOTFOUND at the end) */
    int done;       /* the thread has put its last batch ... */
    unsigned last;  /* ... this one */
    int stop;       /* the consumer gave up */
    double cpu;     /* the thread's CPU seconds, set as it ends */
};

/* Start the thread on rd (which it alone uses from now on). MD_OK or
 * MD_E_NOMEM. */
int pf_start(struct prefetch *pf, struct store_reader *rd);

/* The next event, like store_next: pointers valid until the next call. */
int pf_next(struct prefetch *pf, struct store_event *ev);

/* Stop and join the thread; pf->cpu holds its CPU seconds. */
void pf_stop(struct prefetch *pf);

/* CPU seconds of the calling thread. */
double thread_cpu(void);

#endif /* REPLAY_PREFETCH_H */
