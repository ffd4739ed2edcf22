#include "napi_util.h"

int get_offset(napi_env env, napi_value value, int64_t *out) {
  uint64_t u;
  if (!get_u53(env, value, &u)) return 0;
  *out = (int64_t)u;
  return 1;
}

int get_fd(napi_env env, napi_value value, int *out) {
  int32_t fd;
  if (napi_get_value_int32(env, value, &fd) != napi_ok || fd < 0) return 0;
  *out = fd;
  return 1;
}
