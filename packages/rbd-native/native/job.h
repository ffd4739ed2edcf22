/* Blocking librbd/librados calls run on libuv's thread pool and settle a promise. */
#ifndef BLK_RBD_JOB_H
#define BLK_RBD_JOB_H
#include "handles.h"

#define JOB_STRINGS 6
#define MAX_SETTINGS 32

typedef struct job job_t;
typedef void (*job_exec_t)(job_t *job);
/* On the main thread after a successful exec: the value the promise resolves with. */
typedef napi_value (*job_done_t)(napi_env env, job_t *job);

struct job {
  napi_async_work work;
  napi_deferred deferred;
  job_exec_t exec;
  job_done_t done;
  /* exec's outcome: rc < 0 rejects with -rc and `what` (the call that failed). */
  int rc;
  const char *what;
  char *s[JOB_STRINGS];
  char *settings[2 * MAX_SETTINGS];
  int nsettings;
  uint64_t u[4];
  cluster_t *cluster;
  image_t *image;
  rados_t rados;
  rados_ioctx_t ioctx;
  rbd_image_t rbd;
  /* JavaScript values kept alive while the job runs (handles, the completion callback). */
  napi_ref keep[3];
  /* diff: (offset, length) pairs found. */
  double *extents;
  size_t nextents, max_extents;
};

job_t *job_new(void);
/* Queues the job; returns its promise (or NULL with an exception pending). */
napi_value job_start(napi_env env, job_t *job, const char *name, job_exec_t exec, job_done_t done);
/* Frees a job that was never started. */
void job_discard(napi_env env, job_t *job);
void job_keep(napi_env env, job_t *job, int slot, napi_value value);
/* A connection to `pool` (and namespace) on the job's cluster; sets rc/what on failure. */
int job_ioctx(job_t *job, const char *pool, const char *ns);

#endif
