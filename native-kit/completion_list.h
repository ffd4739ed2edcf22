/*
 * The batched completion list of a Node-API I/O engine (@blk/fmap-native's thread pool,
 * @blk/rbd-native's librbd callbacks): a thread that finishes a request appends it to a done list
 * and wakes the event loop through a thread-safe function only when no wakeup is pending, so one
 * wakeup and one call into JavaScript deliver a whole batch as (id, bytes or -errno) pairs in a
 * Float64Array JavaScript registered.
 *
 * Macros over the engine's own structs, whose fields they name:
 *   owner:   pthread_mutex_t lock; under it: REQUEST *done_head, *done_tail; int notify_pending,
 *            no_notify (set once the thread-safe function is finalized); main thread only:
 *            REQUEST *spare; size_t in_flight; int tsfn_live; napi_threadsafe_function tsfn;
 *            double *completions; size_t completions_pairs.
 *   request: REQUEST *next; double id; int64_t result; struct iovec *iov, inline_iov[].
 * An engine that holds something per request until it is delivered (a napi_ref to its buffers)
 * defines COMPLETION_RELEASE(env, r) before including this file; it runs on the main thread as
 * each request is delivered.
 */
#ifndef BLK_COMPLETION_LIST_H
#define BLK_COMPLETION_LIST_H
#include <pthread.h>
#include <stdlib.h>
#include <node_api.h>

#ifndef COMPLETION_RELEASE
#define COMPLETION_RELEASE(env, r) ((void)0)
#endif

/*
 * With the owner's lock held, on any thread: appends `r`. Under the lock, so a finalizer that
 * takes it to set no_notify never races a call of the thread-safe function.
 */
#define COMPLETION_PUSH_LOCKED(owner, r)                                                                        \
  do {                                                                                                          \
    (r)->next = NULL;                                                                                           \
    if ((owner)->done_tail) (owner)->done_tail->next = (r);                                                    \
    else (owner)->done_head = (r);                                                                              \
    (owner)->done_tail = (r);                                                                                   \
    if (!(owner)->notify_pending && !(owner)->no_notify) {                                                      \
      (owner)->notify_pending = 1;                                                                              \
      if (napi_call_threadsafe_function((owner)->tsfn, NULL, napi_tsfn_nonblocking) == napi_closing)           \
        (owner)->no_notify = 1;                                                                                 \
    }                                                                                                           \
  } while (0)

/* Frees a list of requests (and their iovec arrays); `list` ends up NULL. */
#define COMPLETION_FREE_LIST(list)                                  \
  do {                                                              \
    while (list) {                                                  \
      __typeof__(list) next_ = (list)->next;                        \
      if ((list)->iov != (list)->inline_iov) free((list)->iov);     \
      free(list);                                                   \
      (list) = next_;                                               \
    }                                                               \
  } while (0)

/* A finished or refused request back on the owner's spare list (main thread). */
#define COMPLETION_RECYCLE(owner, r)                      \
  do {                                                    \
    if ((r)->iov != (r)->inline_iov) free((r)->iov);     \
    (r)->iov = (r)->inline_iov;                           \
    (r)->next = (owner)->spare;                           \
    (owner)->spare = (r);                                 \
  } while (0)

/*
 * On the main thread: hands every finished request to `callback(count)`, a Float64Array's worth at
 * a time, recycles them, and unrefs the thread-safe function once nothing is in flight. An
 * exception the callback throws is raised as an uncaught exception.
 */
#define COMPLETION_DELIVER(env, owner, callback)                                                        \
  do {                                                                                                  \
    pthread_mutex_lock(&(owner)->lock);                                                                 \
    __typeof__((owner)->done_head) completion_list_ = (owner)->done_head;                               \
    (owner)->done_head = (owner)->done_tail = NULL;                                                     \
    (owner)->notify_pending = 0;                                                                        \
    pthread_mutex_unlock(&(owner)->lock);                                                               \
    while (completion_list_) {                                                                          \
      size_t n_ = 0;                                                                                    \
      while (completion_list_ && n_ < (owner)->completions_pairs) {                                     \
        __typeof__(completion_list_) r_ = completion_list_;                                             \
        completion_list_ = r_->next;                                                                    \
        (owner)->completions[2 * n_] = r_->id;                                                          \
        (owner)->completions[2 * n_ + 1] = (double)r_->result;                                          \
        n_++;                                                                                           \
        COMPLETION_RELEASE((env), r_);                                                                  \
        COMPLETION_RECYCLE(owner, r_);                                                                  \
        (owner)->in_flight--;                                                                           \
      }                                                                                                 \
      napi_value undefined_, count_;                                                                    \
      napi_get_undefined((env), &undefined_);                                                           \
      napi_create_uint32((env), (uint32_t)n_, &count_);                                                 \
      if (napi_call_function((env), undefined_, (callback), 1, &count_, NULL) == napi_pending_exception) { \
        napi_value error_;                                                                              \
        napi_get_and_clear_last_exception((env), &error_);                                              \
        napi_fatal_exception((env), error_);                                                            \
      }                                                                                                 \
    }                                                                                                   \
    if ((owner)->in_flight == 0 && (owner)->tsfn_live) napi_unref_threadsafe_function((env), (owner)->tsfn); \
  } while (0)

#endif
