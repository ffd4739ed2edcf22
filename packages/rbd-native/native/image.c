/*
 * Asynchronous I/O on an open image. JavaScript submits a request (rbd_aio_*, one call, no
 * thread of ours involved); librbd runs its completion callback on one of its own threads, which
 * puts the request on a done list and wakes the event loop through a thread-safe function only
 * when that list was empty, so one wakeup and one call into JavaScript deliver a whole batch as
 * (id, bytes or -errno) pairs in a Float64Array JavaScript registered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "completion_list.h"
#include "handles.h"
#include "napi_kit.h"

enum { OP_READ = 0, OP_WRITE = 1, OP_FLUSH = 2, OP_DISCARD = 3, OP_WRITE_ZEROES = 4 };

static void free_list(request_t *r) {
  COMPLETION_FREE_LIST(r);
}

static void image_unref(image_t *image) {
  if (--image->refs > 0) return;
  free_list(image->done_head);
  free_list(image->spare);
  pthread_mutex_destroy(&image->lock);
  image->magic = 0;
  free(image);
}

/* On a librbd thread. */
static void aio_done(rbd_completion_t completion, void *arg) {
  request_t *r = arg;
  image_t *image = r->image;
  r->result = rbd_aio_get_return_value(completion);
  rbd_aio_release(completion);
  pthread_mutex_lock(&image->lock);
  COMPLETION_PUSH_LOCKED(image, r);
  pthread_mutex_unlock(&image->lock);
}

/* On the main thread: every finished request to JavaScript, a Float64Array's worth at a time. */
static void deliver(napi_env env, image_t *image, napi_value callback) {
  COMPLETION_DELIVER(env, image, callback);
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)data;
  /* No env: Node is emptying the queue while tearing the environment down. */
  if (!env || !callback) return;
  deliver(env, context, callback);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  image_t *image = data;
  image->tsfn_live = 0;
  if (image->completions_ref) napi_delete_reference(env, image->completions_ref);
  if (image->callback_ref) napi_delete_reference(env, image->callback_ref);
  image->completions_ref = image->callback_ref = NULL;
  pthread_mutex_lock(&image->lock);
  image->no_notify = 1;
  pthread_mutex_unlock(&image->lock);
  /*
   * Still open here means the environment is being torn down (process or worker exit) without a
   * close: librbd may yet complete requests into this struct, so it is left allocated.
   */
  if (!image->closed) return;
  image_unref(image);
}

/*
 * The JavaScript handle is collected. A device that was never closed stays open here on
 * purpose: rbd_close may wait for the cluster, and a finalizer must not block the event loop.
 */
static void external_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  image_unref(data);
}

image_t *get_image(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) return NULL;
  return *(uint32_t *)data == IMAGE_MAGIC ? data : NULL;
}

napi_value image_wrap(napi_env env, cluster_t *cluster, rados_ioctx_t ioctx, rbd_image_t rbd, napi_value on_complete,
                      napi_value completions) {
  image_t *image = calloc(1, sizeof *image);
  if (!image) return NULL;
  size_t length;
  void *array_data;
  napi_typedarray_type array_type;
  napi_get_typedarray_info(env, completions, &array_type, &length, &array_data, NULL, NULL);
  pthread_mutex_init(&image->lock, NULL);
  image->magic = IMAGE_MAGIC;
  image->cluster = cluster;
  image->ioctx = ioctx;
  image->rbd = rbd;
  image->completions = array_data;
  image->completions_pairs = length / 2;
  image->refs = 2;
  napi_value name, result;
  napi_create_string_utf8(env, "blk-rbd-image", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, completions, 1, &image->completions_ref) != napi_ok ||
      napi_create_reference(env, on_complete, 1, &image->callback_ref) != napi_ok ||
      napi_create_threadsafe_function(env, on_complete, NULL, name, 0, 1, image, tsfn_finalize, image, call_js,
                                      &image->tsfn) != napi_ok) {
    if (image->completions_ref) napi_delete_reference(env, image->completions_ref);
    if (image->callback_ref) napi_delete_reference(env, image->callback_ref);
    pthread_mutex_destroy(&image->lock);
    free(image);
    return NULL;
  }
  image->tsfn_live = 1;
  napi_unref_threadsafe_function(env, image->tsfn);
  if (napi_create_external(env, image, external_finalize, NULL, &result) != napi_ok) {
    image->refs = 1;
    image->closed = 1;
    napi_release_threadsafe_function(image->tsfn, napi_tsfn_release);
    return NULL;
  }
  cluster->images++;
  return result;
}

void image_closed(napi_env env, image_t *image) {
  image->closed = 1;
  image->cluster->images--;
  napi_value callback;
  if (image->callback_ref && napi_get_reference_value(env, image->callback_ref, &callback) == napi_ok && callback)
    deliver(env, image, callback);
  if (image->tsfn_live) napi_release_threadsafe_function(image->tsfn, napi_tsfn_release);
}

/* Fills r->iov from an array of 1-1024 Uint8Arrays; their total length in *total. */
static int take_buffers(napi_env env, napi_value array, request_t *r, uint64_t *total) {
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) return 0;
  uint32_t count = buffer_count(env, array);
  if (count == 0 || count > MAX_IOV) return 0;
  if (count > INLINE_IOV && !(r->iov = malloc(count * sizeof *r->iov))) {
    r->iov = r->inline_iov;
    return 0;
  }
  if (!get_iovecs(env, array, r->iov, count)) return 0;
  *total = 0;
  for (uint32_t i = 0; i < count; i++) *total += r->iov[i].iov_len;
  r->iovcnt = (int)count;
  return 1;
}

/*
 * submit(image, op, buffers, offset, length, id) → true, or false when MAX_IN_FLIGHT are
 * outstanding. op 0 read / 1 write take `buffers` (1-1024 Uint8Arrays, `length` ignored);
 * 2 flush, 3 discard, 4 write-zeroes take null and `length`. Throws (code = errno name) when
 * librbd refuses the request outright; otherwise its result arrives through onComplete.
 */
napi_value js_submit(napi_env env, napi_callback_info info) {
  napi_value argv[6], result;
  int32_t op;
  uint64_t offset, length;
  double id;
  if (!get_args(env, info, 6, argv)) return throw_type(env, "submit: bad arguments");
  image_t *image = get_image(env, argv[0]);
  if (!image || napi_get_value_int32(env, argv[1], &op) != napi_ok || op < OP_READ || op > OP_WRITE_ZEROES ||
      !get_u53(env, argv[3], &offset) || !get_u53(env, argv[4], &length) ||
      napi_get_value_double(env, argv[5], &id) != napi_ok) {
    return throw_type(env, "submit(image, op, buffers, offset, length, id): bad arguments");
  }
  if (image->closing || image->closed) {
    napi_throw(env, errno_error(env, "submit on a closed image", ESHUTDOWN));
    return NULL;
  }
  if (image->in_flight >= MAX_IN_FLIGHT) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  request_t *r = image->spare;
  if (r) image->spare = r->next;
  else if (!(r = calloc(1, sizeof *r))) {
    napi_throw(env, errno_error(env, "submit", ENOMEM));
    return NULL;
  }
  r->iov = r->inline_iov;
  r->iovcnt = 0;
  r->image = image;
  r->id = id;
  r->next = NULL;
  if ((op == OP_READ || op == OP_WRITE) && !take_buffers(env, argv[2], r, &length)) {
    COMPLETION_RECYCLE(image, r);
    return throw_type(env, "submit: buffers must be an array of 1-1024 Uint8Arrays");
  }
  rbd_completion_t completion;
  int rc = rbd_aio_create_completion(r, aio_done, &completion);
  if (rc < 0) {
    COMPLETION_RECYCLE(image, r);
    napi_throw(env, errno_error(env, "rbd_aio_create_completion", -rc));
    return NULL;
  }
  /* Counted before submitting: the completion may run on a librbd thread before the call returns. */
  if (image->in_flight++ == 0) napi_ref_threadsafe_function(env, image->tsfn);
  switch (op) {
    case OP_READ:
      rc = r->iovcnt == 1 ? rbd_aio_read(image->rbd, offset, r->iov[0].iov_len, r->iov[0].iov_base, completion)
                          : rbd_aio_readv(image->rbd, r->iov, r->iovcnt, offset, completion);
      break;
    case OP_WRITE:
      rc = r->iovcnt == 1 ? rbd_aio_write(image->rbd, offset, r->iov[0].iov_len, r->iov[0].iov_base, completion)
                          : rbd_aio_writev(image->rbd, r->iov, r->iovcnt, offset, completion);
      break;
    case OP_FLUSH:
      rc = rbd_aio_flush(image->rbd, completion);
      break;
    case OP_DISCARD:
      rc = rbd_aio_discard(image->rbd, offset, length, completion);
      break;
    default:
      rc = rbd_aio_write_zeroes(image->rbd, offset, length, completion, 0, 0);
  }
  if (rc < 0) {
    /* Refused before it started: no callback will come. */
    rbd_aio_release(completion);
    if (--image->in_flight == 0) napi_unref_threadsafe_function(env, image->tsfn);
    COMPLETION_RECYCLE(image, r);
    napi_throw(env, errno_error(env, "rbd_aio", -rc));
    return NULL;
  }
  napi_get_boolean(env, true, &result);
  return result;
}
