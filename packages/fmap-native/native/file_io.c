/*
 * Positioned file I/O without libuv's per-call hand-off.
 *
 * The pool: a few threads doing pread/pwritev/fdatasync/ftruncate. JavaScript submits
 * requests (one mutex hold each); the threads put results on a done list and wake the event loop
 * through a thread-safe function only when that list goes from empty to non-empty, so one wakeup
 * and one call into JavaScript deliver a whole batch. Results go into a Float64Array that
 * JavaScript registered: (id, bytes or -errno) pairs.
 */
#define _GNU_SOURCE
#include "file_io.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>

/* Each request holds its JavaScript buffers (keep) until delivered; see request_t. */
#define COMPLETION_RELEASE(env, r)            \
  do {                                        \
    if ((r)->keep) {                          \
      napi_delete_reference((env), (r)->keep); \
      (r)->keep = NULL;                       \
    }                                         \
  } while (0)
#include "completion_list.h"
#include "napi_util.h"

enum { OP_READ = 0, OP_WRITE = 1, OP_DATASYNC = 2, OP_TRUNCATE = 3 };

#define MAX_THREADS 16
/* Requests submitted and not yet delivered, per engine; past it submit returns false. */
#define MAX_IN_FLIGHT 4096
#define INLINE_IOV 4
/* What the last thread to stop sends instead of a completion. */
#define ALL_STOPPED ((void *)1)
#define MAX_IOV 1024

typedef struct request {
  struct request *next;
  int op;
  int fd;
  int64_t position;
  double id;
  int64_t result;
  int iovcnt;
  struct iovec *iov;
  /* Holds the JavaScript buffers (or their array) until the request is delivered: a caller that
   * drops them must not let the collector free memory a thread is reading into. */
  napi_ref keep;
  struct iovec inline_iov[INLINE_IOV];
} request_t;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  /* Under lock. */
  request_t *todo_head, *todo_tail;
  request_t *done_head, *done_tail;
  int notify_pending;
  int stopping;
  int refs;
  int threads_live;
  int no_notify; /* set by tsfn_finalize: the thread-safe function must not be called again */
  /* Main thread only. */
  request_t *spare;
  size_t in_flight;
  int closed;
  int tsfn_live;
  int released;
  int nthreads;
  pthread_t threads[MAX_THREADS];
  napi_threadsafe_function tsfn;
  napi_ref completions_ref;
  double *completions;
  size_t completions_pairs;
} engine_t;

static void free_list(request_t *r) {
  COMPLETION_FREE_LIST(r);
}

static void engine_unref(engine_t *e) {
  pthread_mutex_lock(&e->lock);
  int last = --e->refs == 0;
  pthread_mutex_unlock(&e->lock);
  if (!last) return;
  free_list(e->todo_head);
  free_list(e->done_head);
  free_list(e->spare);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

static void stop(engine_t *e) {
  pthread_mutex_lock(&e->lock);
  e->stopping = 1;
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

static int64_t do_read(request_t *r) {
  uint8_t *base = r->iov[0].iov_base;
  size_t length = r->iov[0].iov_len, done = 0;
  while (done < length) {
    ssize_t n = pread(r->fd, base + done, length - done, (off_t)(r->position + (int64_t)done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  return (int64_t)done;
}

/* Writes every iovec at `position`; advances through them after short writes. Mutates iov. */
int64_t pwritev_all(int fd, struct iovec *iov, int count, int64_t position) {
  int64_t done = 0;
  while (count > 0) {
    ssize_t n = pwritev(fd, iov, count, (off_t)(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    done += n;
    size_t left = (size_t)n;
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return done;
}

static void perform(request_t *r) {
  switch (r->op) {
    case OP_READ:
      r->result = do_read(r);
      break;
    case OP_WRITE:
      r->result = pwritev_all(r->fd, r->iov, r->iovcnt, r->position);
      break;
    case OP_DATASYNC:
#ifdef __APPLE__
      r->result = fsync(r->fd) == 0 ? 0 : -errno;
#else
      r->result = fdatasync(r->fd) == 0 ? 0 : -errno;
#endif
      break;
    case OP_TRUNCATE:
      r->result = ftruncate(r->fd, (off_t)r->position) == 0 ? 0 : -errno;
      break;
    default:
      r->result = -EINVAL;
  }
}

static void *worker(void *arg) {
  engine_t *e = arg;
  pthread_mutex_lock(&e->lock);
  for (;;) {
    while (!e->todo_head && !e->stopping) pthread_cond_wait(&e->wake, &e->lock);
    request_t *r = e->todo_head;
    if (!r) break;
    e->todo_head = r->next;
    if (!e->todo_head) e->todo_tail = NULL;
    pthread_mutex_unlock(&e->lock);
    perform(r);
    pthread_mutex_lock(&e->lock);
    COMPLETION_PUSH_LOCKED(e, r);
  }
  /* The last one out tells the main thread, which then lets the thread-safe function go. */
  if (--e->threads_live == 0 && !e->no_notify) napi_call_threadsafe_function(e->tsfn, ALL_STOPPED, napi_tsfn_nonblocking);
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

/* On the main thread: hands every finished request to JavaScript, a Float64Array's worth at a time. */
static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  /* No env: Node is emptying the queue after tsfn_finalize, when the engine may be gone. */
  if (!env || !callback) return;
  engine_t *e = context;
  COMPLETION_DELIVER(env, e, callback);
  if (data == ALL_STOPPED && !e->released) {
    e->released = 1;
    napi_release_threadsafe_function(e->tsfn, napi_tsfn_release);
  }
}

/*
 * Runs when the engine was closed and its threads are gone, or when the environment is torn down
 * with them still running: then they are stopped and joined here (each finishes the system call
 * it is in), because the thread-safe function they notify is deleted right after this returns.
 */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  engine_t *e = data;
  e->tsfn_live = 0;
  if (e->completions_ref) napi_delete_reference(env, e->completions_ref);
  e->completions_ref = NULL;
  pthread_mutex_lock(&e->lock);
  e->no_notify = 1;
  pthread_mutex_unlock(&e->lock);
  stop(e);
  for (int i = 0; i < e->nthreads; i++) pthread_join(e->threads[i], NULL);
  e->nthreads = 0;
  engine_unref(e);
}

static void external_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  engine_t *e = data;
  e->closed = 1;
  stop(e);
  engine_unref(e);
}

static engine_t *get_engine(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

/* ioOpen(threads, onComplete(count), completions: Float64Array) → engine */
napi_value js_io_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t threads;
  napi_valuetype type;
  napi_typedarray_type array_type;
  size_t length;
  void *array_data;
  if (!get_args(env, info, 3, argv) || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1 ||
      threads > MAX_THREADS || napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function ||
      napi_get_typedarray_info(env, argv[2], &array_type, &length, &array_data, NULL, NULL) != napi_ok ||
      array_type != napi_float64_array || length < 2) {
    return throw_type(env, "ioOpen(threads 1-16, onComplete, completions: Float64Array): bad arguments");
  }
  engine_t *e = calloc(1, sizeof *e);
  if (!e) return throw_errno(env, "ioOpen", ENOMEM);
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->wake, NULL);
  e->completions = array_data;
  e->completions_pairs = length / 2;
  e->refs = 2; /* the JavaScript handle and the thread-safe function */
  napi_value name;
  napi_create_string_utf8(env, "blk-file-io", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[2], 1, &e->completions_ref) != napi_ok ||
      napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, e, tsfn_finalize, e, call_js,
                                      &e->tsfn) != napi_ok) {
    if (e->completions_ref) napi_delete_reference(env, e->completions_ref);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->lock);
    free(e);
    return throw_type(env, "ioOpen: cannot create the thread-safe function");
  }
  e->tsfn_live = 1;
  napi_unref_threadsafe_function(env, e->tsfn);
  napi_value result;
  if (napi_create_external(env, e, external_finalize, NULL, &result) != napi_ok) {
    stop(e);
    e->released = 1;
    e->refs--; /* no JavaScript handle */
    napi_release_threadsafe_function(e->tsfn, napi_tsfn_release);
    return throw_type(env, "ioOpen: napi_create_external failed");
  }
  pthread_mutex_lock(&e->lock);
  for (int32_t i = 0; i < threads; i++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&e->threads[e->nthreads], &attr, worker, e) == 0) e->nthreads++;
    pthread_attr_destroy(&attr);
  }
  e->threads_live = e->nthreads;
  pthread_mutex_unlock(&e->lock);
  if (e->nthreads == 0) {
    e->closed = 1;
    e->released = 1;
    napi_release_threadsafe_function(e->tsfn, napi_tsfn_release);
    return throw_errno(env, "ioOpen: pthread_create", EAGAIN);
  }
  return result;
}

/*
 * ioSubmit(engine, op, fd, buffers, position, id) → false when MAX_IN_FLIGHT are outstanding.
 * read: one Uint8Array; write: a Uint8Array or an array of them; datasync: null; truncate: null,
 * position = the new length.
 */
napi_value js_io_submit(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t op;
  int fd;
  int64_t position;
  double id;
  if (!get_args(env, info, 6, argv)) return throw_type(env, "ioSubmit: bad arguments");
  engine_t *e = get_engine(env, argv[0]);
  if (!e || napi_get_value_int32(env, argv[1], &op) != napi_ok || op < OP_READ || op > OP_TRUNCATE ||
      !get_fd(env, argv[2], &fd) || !get_offset(env, argv[4], &position) ||
      napi_get_value_double(env, argv[5], &id) != napi_ok) {
    return throw_type(env, "ioSubmit(engine, op, fd, buffers, position, id): bad arguments");
  }
  if (e->closed || !e->tsfn_live) return throw_errno(env, "ioSubmit on a closed engine", EBADF);
  napi_value result;
  request_t *r = e->spare;
  if (r) e->spare = r->next;
  else if (!(r = calloc(1, sizeof *r))) return throw_errno(env, "ioSubmit", ENOMEM);
  r->iov = r->inline_iov;
  r->iovcnt = 0;
  int ok = 1;
  if (op == OP_READ) {
    ok = get_bytes(env, argv[3], &r->iov[0]);
    r->iovcnt = 1;
  } else if (op == OP_WRITE) {
    uint32_t count = buffer_count(env, argv[3]);
    if (count == 0 || count > MAX_IOV) ok = 0;
    else if (count > INLINE_IOV && !(r->iov = malloc(count * sizeof *r->iov))) {
      r->iov = r->inline_iov;
      ok = 0;
    }
    ok = ok && get_iovecs(env, argv[3], r->iov, count);
    r->iovcnt = (int)count;
  }
  if (!ok) {
    if (r->iov != r->inline_iov) free(r->iov);
    r->iov = r->inline_iov;
    r->next = e->spare;
    e->spare = r;
    return throw_type(env, "ioSubmit: buffers must be a Uint8Array (or, for writes, 1-1024 of them)");
  }
  if (e->in_flight >= MAX_IN_FLIGHT) {
    if (r->iov != r->inline_iov) free(r->iov);
    r->iov = r->inline_iov;
    r->next = e->spare;
    e->spare = r;
    napi_get_boolean(env, false, &result);
    return result;
  }
  r->keep = NULL;
  if (op <= OP_WRITE && napi_create_reference(env, argv[3], 1, &r->keep) != napi_ok) {
    if (r->iov != r->inline_iov) free(r->iov);
    r->iov = r->inline_iov;
    r->next = e->spare;
    e->spare = r;
    return throw_type(env, "ioSubmit: napi_create_reference failed");
  }
  r->op = op;
  r->fd = fd;
  r->position = position;
  r->id = id;
  r->next = NULL;
  if (e->in_flight++ == 0) napi_ref_threadsafe_function(env, e->tsfn);
  pthread_mutex_lock(&e->lock);
  if (e->todo_tail) e->todo_tail->next = r;
  else e->todo_head = r;
  e->todo_tail = r;
  pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->lock);
  napi_get_boolean(env, true, &result);
  return result;
}

/* ioClose(engine): no more submissions; requests already submitted still complete. Idempotent. */
napi_value js_io_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_t *e;
  if (!get_args(env, info, 1, argv) || !(e = get_engine(env, argv[0]))) return throw_type(env, "ioClose(engine): bad arguments");
  if (!e->closed) {
    e->closed = 1;
    stop(e);
  }
  return NULL;
}
