#include "job.h"
#include <errno.h>
#include <stdlib.h>
#include "napi_kit.h"

job_t *job_new(void) { return calloc(1, sizeof(job_t)); }

void job_discard(napi_env env, job_t *job) {
  for (int i = 0; i < JOB_STRINGS; i++) free(job->s[i]);
  for (int i = 0; i < job->nsettings * 2; i++) free(job->settings[i]);
  for (int i = 0; i < 3; i++)
    if (job->keep[i]) napi_delete_reference(env, job->keep[i]);
  free(job->extents);
  if (job->work) napi_delete_async_work(env, job->work);
  free(job);
}

void job_keep(napi_env env, job_t *job, int slot, napi_value value) { napi_create_reference(env, value, 1, &job->keep[slot]); }

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  job->exec(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  if (job->cluster) job->cluster->busy--;
  if (job->image) job->image->busy--;
  if (status != napi_ok) {
    job->rc = -ECANCELED;
    job->what = "job";
  }
  napi_value value = NULL;
  if (job->rc >= 0) {
    value = job->done(env, job);
    if (!value) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &value);
      napi_reject_deferred(env, job->deferred, value ? value : errno_error(env, "job", ENOMEM));
      job_discard(env, job);
      return;
    }
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_reject_deferred(env, job->deferred, errno_error(env, job->what ? job->what : "librbd", -job->rc));
  }
  job_discard(env, job);
}

napi_value job_start(napi_env env, job_t *job, const char *name, job_exec_t exec, job_done_t done) {
  napi_value promise, resource_name;
  job->exec = exec;
  job->done = done;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    job_discard(env, job);
    return throw_type(env, "cannot queue a librbd job");
  }
  if (job->cluster) job->cluster->busy++;
  if (job->image) job->image->busy++;
  return promise;
}

int job_ioctx(job_t *job, const char *pool, const char *ns) {
  int rc = rados_ioctx_create(job->cluster->rados, pool, &job->ioctx);
  if (rc < 0) {
    job->rc = rc;
    job->what = "rados_ioctx_create (pool)";
    job->ioctx = NULL;
    return 0;
  }
  if (ns) rados_ioctx_set_namespace(job->ioctx, ns);
  return 1;
}
