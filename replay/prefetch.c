/* prefetch.c: the read-ahead thread (prefetch.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "md_err.h"
#include "prefetch.h"

double thread_cpu(void)
{
    struct timespec t;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) {
        return 0;
    }
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Copy one event's bytes into the batch; 0 if they do not fit. */
static int pf_put(struct pf_batch *b, const struct store_event *ev)
{
    size_t ml = ev->meta != NULL ? strlen(ev->meta) + 1 : 0;
    size_t need = ml + ev->payload_len;
    struct store_event *e;

    if (b->n == PF_BATCH) {
        return 0;
    }
    if (b->n == 0 && b->cap != PF_BATCH_BYTES &&
        need <= PF_BATCH_BYTES) {
        /* the usual size: first use, or back from an outsized event */
        char *nb = realloc(b->buf, PF_BATCH_BYTES);
        if (nb == NULL) {
            return -1;
        }
        b->buf = nb;
        b->cap = PF_BATCH_BYTES;
    }
    if (b->used + need > b->cap) {
        char *nb;
        if (b->n > 0) {
            return 0; /* next batch: pointers into buf must stay put */
        }
        nb = realloc(b->buf, need); /* one event larger than a batch */
        if (nb == NULL) {
            return -1;
        }
        b->buf = nb;
        b->cap = need;
    }
    e = &b->ev[b->n++];
    *e = *ev;
    if (ml > 0) {
        memcpy(b->buf + b->used, ev->meta, ml);
        e->meta = b->buf + b->used;
        b->used += ml;
    }
    if (ev->payload_len > 0) {
        memcpy(b->buf + b->used, ev->payload, ev->payload_len);
        e->payload = b->buf + b->used;
        b->used += ev->payload_len;
    } else {
        e->payload = NULL;
    }
    return 1;
}

static void *pf_main(void *arg)
{
    struct prefetch *pf = arg;
    struct store_event ev;
    unsigned w = 0;
    int rc = MD_OK, have = 0;

    /* a name of its own, for top -H and perf --comm; cosmetic, so a
     * failure changes nothing */
    (void)prctl(PR_SET_NAME, "ccstream-read", 0, 0, 0);

    for (;;) {
        struct pf_batch *b = &pf->b[w];
        pthread_mutex_lock(&pf->mu);
        while (b->full && !pf->stop) {
            pthread_cond_wait(&pf->cv, &pf->mu);
        }
        pthread_mutex_unlock(&pf->mu);
        if (pf->stop) {
            break;
        }
        b->n = 0;
        b->used = 0;
        for (;;) {
            int put;
            if (!have) {
                rc = store_next(pf->rd, &ev);
                if (rc != MD_OK) {
                    break;
                }
                have = 1;
            }
            put = pf_put(b, &ev);
            if (put < 0) {
                rc = MD_E_NOMEM;
                break;
            }
            if (put == 0) {
                break; /* batch full; ev goes into the next one */
            }
            have = 0;
        }
        pthread_mutex_lock(&pf->mu);
        b->full = 1;
        if (rc != MD_OK) {
            pf->end_rc = rc;
            pf->last = w;
            pf->done = 1;
        }
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        if (rc != MD_OK) {
            break;
        }
        w = (w + 1) % PF_BATCHES;
    }
    pf->cpu = thread_cpu();
    return NULL;
}

int pf_start(struct prefetch *pf, struct store_reader *rd)
{
    memset(pf, 0, sizeof *pf);
    pf->rd = rd;
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    if (pthread_create(&pf->thread, NULL, pf_main, pf) != 0) {
        return MD_E_NOMEM;
    }
    return MD_OK;
}

/* The next event, like store_next: pointers valid until the next call. */
int pf_next(struct prefetch *pf, struct store_event *ev)
{
    for (;;) {
        struct pf_batch *b = &pf->b[pf->head];
        int rc;

        /* A batch seen full stays put until the consumer gives it back,
         * so reading it needs no lock. */
        if (pf->seen_full && pf->pos < b->n) {
            *ev = b->ev[pf->pos++];
            return MD_OK;
        }
        pthread_mutex_lock(&pf->mu);
        if (!pf->seen_full) {
            while (!b->full) {
                pthread_cond_wait(&pf->cv, &pf->mu);
            }
            pf->seen_full = 1;
            pthread_mutex_unlock(&pf->mu);
            continue;
        }
        if (pf->done && pf->head == pf->last) {
            /* the thread's last batch, used up: the end (or its error) */
            rc = pf->end_rc;
            pthread_mutex_unlock(&pf->mu);
            return rc;
        }
        /* this batch is used up: give it back to the thread */
        b->full = 0;
        pf->seen_full = 0;
        pf->pos = 0;
        pf->head = (pf->head + 1) % PF_BATCHES;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
    }
}

void pf_stop(struct prefetch *pf)
{
    unsigned k;

    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->thread, NULL);
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    for (k = 0; k < PF_BATCHES; k++) {
        free(pf->b[k].buf);
    }
}

