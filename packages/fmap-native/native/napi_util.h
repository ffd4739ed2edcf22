/* Argument checking and errors shared by the addon's C files. */
#ifndef BLK_NAPI_UTIL_H
#define BLK_NAPI_UTIL_H
#include <stdint.h>
#include <node_api.h>

const char *errno_code(int e);
napi_value throw_errno(napi_env env, const char *what, int e);
napi_value throw_type(napi_env env, const char *message);
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* A non-negative integer below 2^53 (what JavaScript can hold exactly). */
int get_offset(napi_env env, napi_value value, int64_t *out);
int get_fd(napi_env env, napi_value value, int *out);
napi_value number(napi_env env, double value);

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) return throw_type(env, "node-api call failed: " #call); \
  } while (0)

#endif
