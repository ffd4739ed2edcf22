/* The two handles JavaScript holds: a cluster connection and an open image. */
#ifndef BLK_RBD_HANDLES_H
#define BLK_RBD_HANDLES_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <node_api.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

/* Requests submitted and not yet delivered, per image; past it submit returns false. */
#define MAX_IN_FLIGHT 4096
/* librbd refuses more iovecs than IOV_MAX in readv/writev. */
#define MAX_IOV 1024
#define INLINE_IOV 4

#define CLUSTER_MAGIC 0x626c6b63u
#define IMAGE_MAGIC 0x626c6b69u

typedef struct {
  uint32_t magic;
  rados_t rados;
  /* Main thread only: images opened on it and not yet closed; it cannot shut down before them. */
  int images;
  int shut_down;
  int busy; /* a job is using it off the main thread */
} cluster_t;

typedef struct request {
  struct request *next;
  struct image *image;
  double id;
  int64_t result;
  int iovcnt;
  struct iovec *iov;
  struct iovec inline_iov[INLINE_IOV];
} request_t;

typedef struct image {
  uint32_t magic;
  cluster_t *cluster;
  rados_ioctx_t ioctx;
  rbd_image_t rbd;
  pthread_mutex_t lock;
  /* Under lock: finished requests waiting for the main thread. */
  request_t *done_head, *done_tail;
  int notify_pending;
  int no_notify; /* the thread-safe function is gone (environment torn down): never call it again */
  /* Main thread only. */
  request_t *spare;
  size_t in_flight;
  int closing; /* close was asked for: no more submissions */
  int closed;  /* rbd_close has returned */
  int busy;    /* a job is using it off the main thread */
  int tsfn_live;
  int refs; /* the JavaScript handle and the thread-safe function */
  napi_threadsafe_function tsfn;
  napi_ref callback_ref;
  napi_ref completions_ref;
  double *completions;
  size_t completions_pairs;
} image_t;

cluster_t *get_cluster(napi_env env, napi_value value);
image_t *get_image(napi_env env, napi_value value);
/* Wraps a freshly opened image: the handle, its thread-safe function and completion buffer. */
napi_value image_wrap(napi_env env, cluster_t *cluster, rados_ioctx_t ioctx, rbd_image_t rbd, napi_value on_complete,
                      napi_value completions);
/* After rbd_close: hands what is left to JavaScript and lets the thread-safe function go. */
void image_closed(napi_env env, image_t *image);
napi_value cluster_wrap(napi_env env, rados_t rados);

napi_value js_submit(napi_env env, napi_callback_info info);
napi_value js_connect(napi_env env, napi_callback_info info);
napi_value js_shutdown(napi_env env, napi_callback_info info);
napi_value js_open(napi_env env, napi_callback_info info);
napi_value js_close(napi_env env, napi_callback_info info);
napi_value js_size(napi_env env, napi_callback_info info);
napi_value js_resize(napi_env env, napi_callback_info info);
napi_value js_snapshot(napi_env env, napi_callback_info info);
napi_value js_diff(napi_env env, napi_callback_info info);
napi_value js_create_image(napi_env env, napi_callback_info info);
napi_value js_remove_image(napi_env env, napi_callback_info info);

#endif
