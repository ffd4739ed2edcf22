/*
 * Node-API helpers both addons share (@blk/fmap-native, @blk/rbd-native): argument reading,
 * errno errors, numbers. Lives in the monorepo's native-kit/ and is copied into each addon's
 * tarball at pack time, so a published addon builds from its own files.
 */
#ifndef BLK_NAPI_KIT_H
#define BLK_NAPI_KIT_H
#include <stdint.h>
#include <sys/uio.h>
#include <node_api.h>

/* The errno name ("ENOENT") of a positive errno, or "EUNKNOWN". */
const char *errno_name(int e);
/* An Error "what: strerror(e)" with `code` = the errno name and `errno` = e (positive). */
napi_value errno_error(napi_env env, const char *what, int e);
/* Throws errno_error(env, what, e); returns NULL for `return throw_errno(...)`. */
napi_value throw_errno(napi_env env, const char *what, int e);
/* Throws a TypeError with code EINVAL; returns NULL. */
napi_value throw_type(napi_env env, const char *message);
/* The first `want` arguments; 0 when fewer were passed. */
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* A non-negative integer below 2^53 (what JavaScript can hold exactly). */
int get_u53(napi_env env, napi_value value, uint64_t *out);
/* A malloc'd copy of a string argument; NULL for null/undefined (then *ok stays 1) or on error (*ok = 0). */
char *get_string(napi_env env, napi_value value, int *ok);
/* A Uint8Array's memory as an iovec (the array must stay referenced while it is used). */
int get_bytes(napi_env env, napi_value value, struct iovec *iov);
/* How many buffers `value` holds: an array's length, else 1 (a single Uint8Array); 0 when unreadable. */
uint32_t buffer_count(napi_env env, napi_value value);
/* iov[0..count) from `value`: the items of an array, or `value` itself when it is not one; 0 when one is not a Uint8Array. */
int get_iovecs(napi_env env, napi_value value, struct iovec *iov, uint32_t count);
napi_value number(napi_env env, double value);

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) return throw_type(env, "node-api call failed: " #call); \
  } while (0)

#endif
