/* Argument reading, errors and promises shared by the addon's C files. */
#ifndef BLK_RBD_UTIL_H
#define BLK_RBD_UTIL_H
#include <stdint.h>
#include <node_api.h>

/* The errno name ("ENOENT") librbd's negative return values stand for, or "EUNKNOWN". */
const char *errno_name(int e);
/* An Error with `code` = errno name and `errno` = the positive number. */
napi_value errno_error(napi_env env, const char *what, int e);
napi_value throw_type(napi_env env, const char *message);
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* A non-negative integer below 2^53 (what JavaScript can hold exactly). */
int get_u53(napi_env env, napi_value value, uint64_t *out);
/* A malloc'd copy of a string argument; NULL for null/undefined (then *ok stays 1) or on error (*ok = 0). */
char *get_string(napi_env env, napi_value value, int *ok);
napi_value number(napi_env env, double value);

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) return throw_type(env, "node-api call failed: " #call); \
  } while (0)

#endif
