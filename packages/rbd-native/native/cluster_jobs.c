/* Cluster-level jobs: connect, shut down, create and remove images. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "job.h"
#include "napi_kit.h"

static void cluster_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  cluster_t *cluster = data;
  /* Never shut down here: rados_shutdown may wait, and images may still use it. */
  cluster->magic = 0;
  if (cluster->shut_down) free(cluster);
}

cluster_t *get_cluster(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) return NULL;
  return *(uint32_t *)data == CLUSTER_MAGIC ? data : NULL;
}

napi_value cluster_wrap(napi_env env, rados_t rados) {
  cluster_t *cluster = calloc(1, sizeof *cluster);
  if (!cluster) return NULL;
  cluster->magic = CLUSTER_MAGIC;
  cluster->rados = rados;
  napi_value result;
  if (napi_create_external(env, cluster, cluster_finalize, NULL, &result) != napi_ok) {
    free(cluster);
    return NULL;
  }
  return result;
}

static void connect_exec(job_t *job) {
  rados_t rados;
  int rc = rados_create(&rados, job->s[1]);
  if (rc < 0) {
    job->rc = rc;
    job->what = "rados_create";
    return;
  }
  if (job->s[0]) {
    rc = rados_conf_read_file(rados, job->s[0]);
    job->what = "rados_conf_read_file";
  } else {
    rados_conf_read_file(rados, NULL); /* the default search path; none found is fine */
    rc = rados_conf_parse_env(rados, NULL);
    job->what = "rados_conf_parse_env";
  }
  if (rc >= 0 && job->s[2]) {
    rc = rados_conf_set(rados, "keyring", job->s[2]);
    job->what = "rados_conf_set keyring";
  }
  for (int i = 0; rc >= 0 && i < job->nsettings; i++) {
    rc = rados_conf_set(rados, job->settings[2 * i], job->settings[2 * i + 1]);
    job->what = "rados_conf_set";
  }
  if (rc >= 0) {
    rc = rados_connect(rados);
    job->what = "rados_connect";
  }
  if (rc < 0) {
    job->rc = rc;
    rados_shutdown(rados);
    return;
  }
  job->rados = rados;
}

static napi_value connect_done(napi_env env, job_t *job) {
  napi_value result = cluster_wrap(env, job->rados);
  if (!result) rados_shutdown(job->rados);
  return result;
}

/* connect(conf|null, id|null, keyring|null, settings: string[] as name, value, …) → Promise<cluster> */
napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return throw_type(env, "connect: bad arguments");
  job_t *job = job_new();
  if (!job) return throw_type(env, "connect: out of memory");
  int ok = 1;
  for (int i = 0; i < 3 && ok; i++) job->s[i] = get_string(env, argv[i], &ok);
  bool is_array = false;
  uint32_t count = 0;
  napi_is_array(env, argv[3], &is_array);
  if (is_array) napi_get_array_length(env, argv[3], &count);
  if (!is_array || count % 2 || count > 2 * MAX_SETTINGS) ok = 0;
  for (uint32_t i = 0; ok && i < count; i++) {
    napi_value item;
    napi_get_element(env, argv[3], i, &item);
    job->settings[i] = get_string(env, item, &ok);
    if (!job->settings[i]) ok = 0;
    job->nsettings = (int)(i / 2) + 1;
  }
  if (!ok) {
    job->nsettings = (int)(count / 2);
    job_discard(env, job);
    return throw_type(env, "connect(conf, id, keyring, settings): strings (or null) and an even array of at most 64 strings");
  }
  return job_start(env, job, "blk-rbd-connect", connect_exec, connect_done);
}

static void shutdown_exec(job_t *job) { rados_shutdown(job->cluster->rados); }

static napi_value shutdown_done(napi_env env, job_t *job) {
  (void)job;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

/* shutdown(cluster) → Promise<void>; EBUSY while images are open on it. Idempotent. */
napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  cluster_t *cluster;
  if (!get_args(env, info, 1, argv) || !(cluster = get_cluster(env, argv[0]))) return throw_type(env, "shutdown(cluster): bad arguments");
  napi_value promise;
  napi_deferred deferred;
  if (cluster->shut_down || cluster->images > 0 || cluster->busy > 0) {
    napi_create_promise(env, &deferred, &promise);
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    if (cluster->shut_down) napi_resolve_deferred(env, deferred, undefined);
    else napi_reject_deferred(env, deferred, errno_error(env, "shutdown with images open or jobs running", EBUSY));
    return promise;
  }
  cluster->shut_down = 1;
  job_t *job = job_new();
  if (!job) return throw_type(env, "shutdown: out of memory");
  job->cluster = cluster;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-shutdown", shutdown_exec, shutdown_done);
}

static void create_exec(job_t *job) {
  if (!job_ioctx(job, job->s[0], job->s[1])) return;
  rbd_image_options_t options;
  rbd_image_options_create(&options);
  int rc = 0;
  if (job->u[1]) rc = rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_ORDER, job->u[1]);
  if (rc >= 0 && job->u[3]) rc = rbd_image_options_set_uint64(options, RBD_IMAGE_OPTION_FEATURES, job->u[2]);
  job->what = "rbd_image_options_set";
  if (rc >= 0) {
    rc = rbd_create4(job->ioctx, job->s[2], job->u[0], options);
    job->what = "rbd_create4";
  }
  rbd_image_options_destroy(options);
  rados_ioctx_destroy(job->ioctx);
  if (rc < 0) job->rc = rc;
}

/* createImage(cluster, pool, namespace|null, name, sizeBytes, order (0: default), features|null) → Promise<void> */
napi_value js_create_image(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  cluster_t *cluster;
  int ok = 1;
  if (!get_args(env, info, 7, argv) || !(cluster = get_cluster(env, argv[0]))) return throw_type(env, "createImage: bad arguments");
  job_t *job = job_new();
  if (!job) return throw_type(env, "createImage: out of memory");
  job->s[0] = get_string(env, argv[1], &ok);
  job->s[1] = get_string(env, argv[2], &ok);
  job->s[2] = get_string(env, argv[3], &ok);
  napi_valuetype type;
  napi_typeof(env, argv[6], &type);
  job->u[3] = type != napi_null && type != napi_undefined;
  if (!ok || !job->s[0] || !job->s[2] || cluster->shut_down || !get_u53(env, argv[4], &job->u[0]) ||
      !get_u53(env, argv[5], &job->u[1]) || job->u[1] > 26 || (job->u[3] && !get_u53(env, argv[6], &job->u[2]))) {
    job_discard(env, job);
    return throw_type(env, "createImage(cluster, pool, namespace, name, sizeBytes, order 0-26, features): bad arguments");
  }
  job->cluster = cluster;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-create", create_exec, shutdown_done);
}

static void remove_exec(job_t *job) {
  if (!job_ioctx(job, job->s[0], job->s[1])) return;
  int rc = 0;
  if (job->u[0]) {
    rbd_image_t image;
    rc = rbd_open(job->ioctx, job->s[2], &image, NULL);
    job->what = "rbd_open";
    if (rc >= 0) {
      int max = 64;
      rbd_snap_info_t *snaps = NULL;
      for (;;) {
        snaps = calloc((size_t)max, sizeof *snaps);
        if (!snaps) {
          rc = -ENOMEM;
          break;
        }
        rc = rbd_snap_list(image, snaps, &max);
        if (rc != -ERANGE) break;
        free(snaps);
        snaps = NULL;
      }
      job->what = "rbd_snap_list";
      for (int i = 0; rc >= 0 && i < rc; i++) {
        rbd_snap_unprotect(image, snaps[i].name); /* EINVAL when it was not protected */
        int removed = rbd_snap_remove(image, snaps[i].name);
        if (removed < 0) {
          rc = removed;
          job->what = "rbd_snap_remove";
        }
      }
      if (snaps && rc >= 0) rbd_snap_list_end(snaps);
      free(snaps);
      rbd_close(image);
    }
  }
  if (rc >= 0) {
    rc = rbd_remove(job->ioctx, job->s[2]);
    job->what = "rbd_remove";
  }
  rados_ioctx_destroy(job->ioctx);
  if (rc < 0) job->rc = rc;
}

/* removeImage(cluster, pool, namespace|null, name, purgeSnapshots) → Promise<void> */
napi_value js_remove_image(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  cluster_t *cluster;
  int ok = 1;
  bool purge = false;
  if (!get_args(env, info, 5, argv) || !(cluster = get_cluster(env, argv[0]))) return throw_type(env, "removeImage: bad arguments");
  job_t *job = job_new();
  if (!job) return throw_type(env, "removeImage: out of memory");
  job->s[0] = get_string(env, argv[1], &ok);
  job->s[1] = get_string(env, argv[2], &ok);
  job->s[2] = get_string(env, argv[3], &ok);
  if (!ok || !job->s[0] || !job->s[2] || cluster->shut_down || napi_get_value_bool(env, argv[4], &purge) != napi_ok) {
    job_discard(env, job);
    return throw_type(env, "removeImage(cluster, pool, namespace, name, purgeSnapshots): bad arguments");
  }
  job->u[0] = purge;
  job->cluster = cluster;
  job_keep(env, job, 0, argv[0]);
  return job_start(env, job, "blk-rbd-remove", remove_exec, shutdown_done);
}
