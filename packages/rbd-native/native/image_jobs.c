/* Image-level jobs that block in librbd: open, close, size, resize, snapshots, allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "job.h"
#include "napi_kit.h"

static napi_value undefined_value(napi_env env, job_t *job) {
  (void)job;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

static void open_exec(job_t *job) {
  if (!job_ioctx(job, job->s[0], job->s[1])) return;
  int rc = job->u[0] ? rbd_open_read_only(job->ioctx, job->s[2], &job->rbd, job->s[3])
                     : rbd_open(job->ioctx, job->s[2], &job->rbd, job->s[3]);
  job->what = "rbd_open";
  if (rc >= 0) {
    rc = rbd_get_size(job->rbd, &job->u[1]);
    job->what = "rbd_get_size";
    if (rc < 0) rbd_close(job->rbd);
  }
  if (rc < 0) {
    job->rc = rc;
    rados_ioctx_destroy(job->ioctx);
  }
}

static napi_value open_done(napi_env env, job_t *job) {
  napi_value on_complete, completions, result, size;
  napi_get_reference_value(env, job->keep[1], &on_complete);
  napi_get_reference_value(env, job->keep[2], &completions);
  napi_value image = image_wrap(env, job->cluster, job->ioctx, job->rbd, on_complete, completions);
  if (!image) {
    rbd_close(job->rbd);
    rados_ioctx_destroy(job->ioctx);
    return NULL;
  }
  napi_create_array_with_length(env, 2, &result);
  napi_create_double(env, (double)job->u[1], &size);
  napi_set_element(env, result, 0, image);
  napi_set_element(env, result, 1, size);
  return result;
}

/*
 * open(cluster, pool, namespace|null, name, snapshot|null, readOnly, onComplete(count), completions:
 * Float64Array) → Promise<[image, sizeBytes]>
 */
napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  cluster_t *cluster;
  int ok = 1;
  bool read_only = false;
  napi_valuetype type;
  napi_typedarray_type array_type;
  size_t length;
  if (!get_args(env, info, 8, argv) || !(cluster = get_cluster(env, argv[0]))) return throw_type(env, "open: bad arguments");
  job_t *job = job_new();
  if (!job) return throw_type(env, "open: out of memory");
  for (int i = 0; i < 4; i++) job->s[i] = get_string(env, argv[1 + i], &ok);
  if (!ok || !job->s[0] || !job->s[2] || cluster->shut_down || napi_get_value_bool(env, argv[5], &read_only) != napi_ok ||
      napi_typeof(env, argv[6], &type) != napi_ok || type != napi_function ||
      napi_get_typedarray_info(env, argv[7], &array_type, &length, NULL, NULL, NULL) != napi_ok ||
      array_type != napi_float64_array || length < 2) {
    job_discard(env, job);
    return throw_type(env, "open(cluster, pool, namespace, name, snapshot, readOnly, onComplete, completions): bad arguments");
  }
  job->u[0] = read_only;
  job->cluster = cluster;
  job_keep(env, job, 0, argv[0]);
  job_keep(env, job, 1, argv[6]);
  job_keep(env, job, 2, argv[7]);
  return job_start(env, job, "blk-rbd-open", open_exec, open_done);
}

static void close_exec(job_t *job) {
  /* Waits for the requests still in flight; their completions are delivered in close_done. */
  int rc = rbd_close(job->image->rbd);
  rados_ioctx_destroy(job->image->ioctx);
  if (rc < 0) {
    job->rc = rc;
    job->what = "rbd_close";
  }
}

static napi_value close_done(napi_env env, job_t *job) {
  image_closed(env, job->image);
  return undefined_value(env, job);
}


/* close(image) → Promise<void>. EALREADY when asked twice, EBUSY while another job uses it. */
napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  image_t *image;
  if (!get_args(env, info, 1, argv) || !(image = get_image(env, argv[0]))) return throw_type(env, "close(image): bad arguments");
  if (image->closing || image->busy) {
    napi_value promise;
    napi_deferred deferred;
    napi_create_promise(env, &deferred, &promise);
    napi_reject_deferred(env, deferred, errno_error(env, "close", image->closing ? EALREADY : EBUSY));
    return promise;
  }
  image->closing = 1;
  job_t *job = job_new();
  if (!job) return throw_type(env, "close: out of memory");
  job->image = image;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-close", close_exec, close_done);
}

/* The image argument of the jobs below, refusing a closed one. */
static image_t *open_image(napi_env env, napi_value value, napi_value *promise) {
  image_t *image = get_image(env, value);
  if (!image) return NULL;
  if (image->closing) {
    napi_deferred deferred;
    napi_create_promise(env, &deferred, promise);
    napi_reject_deferred(env, deferred, errno_error(env, "image is closed", ESHUTDOWN));
  }
  return image;
}

static void size_exec(job_t *job) {
  int rc = rbd_get_size(job->image->rbd, &job->u[0]);
  if (rc < 0) {
    job->rc = rc;
    job->what = "rbd_get_size";
  }
}

static napi_value size_done(napi_env env, job_t *job) { return number(env, (double)job->u[0]); }

/* size(image) → Promise<sizeBytes>, refreshed from the cluster when the header changed. */
napi_value js_size(napi_env env, napi_callback_info info) {
  napi_value argv[1], promise = NULL;
  image_t *image;
  if (!get_args(env, info, 1, argv) || !(image = open_image(env, argv[0], &promise))) return throw_type(env, "size(image): bad arguments");
  if (promise) return promise;
  job_t *job = job_new();
  if (!job) return throw_type(env, "size: out of memory");
  job->image = image;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-size", size_exec, size_done);
}

static void resize_exec(job_t *job) {
  int rc = rbd_resize(job->image->rbd, job->u[0]);
  if (rc < 0) {
    job->rc = rc;
    job->what = "rbd_resize";
  }
}

/* resize(image, sizeBytes) → Promise<void> */
napi_value js_resize(napi_env env, napi_callback_info info) {
  napi_value argv[2], promise = NULL;
  image_t *image;
  uint64_t size;
  if (!get_args(env, info, 2, argv) || !(image = open_image(env, argv[0], &promise)) || !get_u53(env, argv[1], &size))
    return throw_type(env, "resize(image, sizeBytes): bad arguments");
  if (promise) return promise;
  job_t *job = job_new();
  if (!job) return throw_type(env, "resize: out of memory");
  job->image = image;
  job->u[0] = size;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-resize", resize_exec, undefined_value);
}

static void snapshot_exec(job_t *job) {
  int rc;
  if (job->u[0] == 0) {
    rc = rbd_snap_create(job->image->rbd, job->s[0]);
    job->what = "rbd_snap_create";
  } else {
    rbd_snap_unprotect(job->image->rbd, job->s[0]); /* EINVAL when it was not protected */
    rc = rbd_snap_remove(job->image->rbd, job->s[0]);
    job->what = "rbd_snap_remove";
  }
  if (rc < 0) job->rc = rc;
}

/* snapshot(image, 0 create | 1 remove, name) → Promise<void> */
napi_value js_snapshot(napi_env env, napi_callback_info info) {
  napi_value argv[3], promise = NULL;
  image_t *image;
  int32_t op;
  int ok = 1;
  if (!get_args(env, info, 3, argv) || !(image = open_image(env, argv[0], &promise)) ||
      napi_get_value_int32(env, argv[1], &op) != napi_ok || op < 0 || op > 1)
    return throw_type(env, "snapshot(image, op, name): bad arguments");
  if (promise) return promise;
  job_t *job = job_new();
  if (!job) return throw_type(env, "snapshot: out of memory");
  job->s[0] = get_string(env, argv[2], &ok);
  if (!ok || !job->s[0]) {
    job_discard(env, job);
    return throw_type(env, "snapshot(image, op, name): name must be a string");
  }
  job->image = image;
  job->u[0] = (uint64_t)op;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-snapshot", snapshot_exec, undefined_value);
}

static int diff_extent(uint64_t offset, size_t length, int exists, void *arg) {
  job_t *job = arg;
  if (!exists || length == 0) return 0;
  if (job->nextents > 0) {
    double *last = &job->extents[2 * (job->nextents - 1)];
    if (last[0] + last[1] == (double)offset) {
      last[1] += (double)length;
      return 0;
    }
  }
  if (job->nextents == job->max_extents) return -ECANCELED; /* enough: stop iterating */
  job->extents[2 * job->nextents] = (double)offset;
  job->extents[2 * job->nextents + 1] = (double)length;
  job->nextents++;
  return 0;
}

static void diff_exec(job_t *job) {
  job->extents = malloc(2 * job->max_extents * sizeof(double));
  if (!job->extents) {
    job->rc = -ENOMEM;
    job->what = "diff";
    return;
  }
  int rc = rbd_diff_iterate2(job->image->rbd, NULL, job->u[0], job->u[1], 1, 0, diff_extent, job);
  if (rc == -ECANCELED && job->nextents == job->max_extents) rc = 0;
  if (rc < 0) {
    job->rc = rc;
    job->what = "rbd_diff_iterate2";
  }
}

static napi_value diff_done(napi_env env, job_t *job) {
  napi_value buffer, array;
  void *data;
  size_t bytes = 2 * job->nextents * sizeof(double);
  if (napi_create_arraybuffer(env, bytes, &data, &buffer) != napi_ok) return NULL;
  if (bytes) memcpy(data, job->extents, bytes);
  if (napi_create_typedarray(env, napi_float64_array, 2 * job->nextents, buffer, 0, &array) != napi_ok) return NULL;
  return array;
}

/*
 * diff(image, offset, length, maxExtents 1-65536) → Promise<Float64Array> of (offset, length) pairs:
 * the allocated extents in [offset, offset+length), exact (not whole objects), adjacent ones
 * merged, at most maxExtents of them (the first ones).
 */
napi_value js_diff(napi_env env, napi_callback_info info) {
  napi_value argv[4], promise = NULL;
  image_t *image;
  uint64_t offset, length, max;
  if (!get_args(env, info, 4, argv) || !(image = open_image(env, argv[0], &promise)) || !get_u53(env, argv[1], &offset) ||
      !get_u53(env, argv[2], &length) || !get_u53(env, argv[3], &max) || max < 1 || max > 65536)
    return throw_type(env, "diff(image, offset, length, maxExtents 1-65536): bad arguments");
  if (promise) return promise;
  job_t *job = job_new();
  if (!job) return throw_type(env, "diff: out of memory");
  job->image = image;
  job->u[0] = offset;
  job->u[1] = length;
  job->max_extents = (size_t)max;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-diff", diff_exec, diff_done);
}
