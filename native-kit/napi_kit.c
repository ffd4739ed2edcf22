#include "napi_kit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EDOM: return "EDOM";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    /* On Linux ENOTSUP is EOPNOTSUPP. */
    case EOPNOTSUPP: return "EOPNOTSUPP";
#ifdef ENODATA
    case ENODATA: return "ENODATA";
#endif
#ifdef ETIME
    case ETIME: return "ETIME";
#endif
    case EOVERFLOW: return "EOVERFLOW";
    case EILSEQ: return "EILSEQ";
#ifdef ESHUTDOWN
    case ESHUTDOWN: return "ESHUTDOWN";
#endif
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
#ifdef ESTALE
    case ESTALE: return "ESTALE";
#endif
#ifdef EDQUOT
    case EDQUOT: return "EDQUOT";
#endif
    case ECANCELED: return "ECANCELED";
    default: return "EUNKNOWN";
  }
}

napi_value errno_error(napi_env env, const char *what, int e) {
  char message[320];
  snprintf(message, sizeof message, "%s: %s", what, strerror(e));
  napi_value code, msg, error, num;
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, error, "errno", num);
  return error;
}

napi_value throw_errno(napi_env env, const char *what, int e) {
  napi_throw(env, errno_error(env, what, e));
  return NULL;
}

napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "EINVAL", message);
  return NULL;
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return 0;
  return 1;
}

int get_u53(napi_env env, napi_value value, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return 0;
  *out = (uint64_t)d;
  return 1;
}

char *get_string(napi_env env, napi_value value, int *ok) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    *ok = 0;
    return NULL;
  }
  if (type == napi_null || type == napi_undefined) return NULL;
  size_t length;
  if (type != napi_string || napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok || length > 4096) {
    *ok = 0;
    return NULL;
  }
  char *s = malloc(length + 1);
  if (!s || napi_get_value_string_utf8(env, value, s, length + 1, &length) != napi_ok || strlen(s) != length) {
    free(s);
    *ok = 0;
    return NULL;
  }
  return s;
}

int get_bytes(napi_env env, napi_value value, struct iovec *iov) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  iov->iov_base = data;
  iov->iov_len = length;
  return 1;
}

uint32_t buffer_count(napi_env env, napi_value value) {
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok) return 0;
  if (!is_array) return 1;
  return napi_get_array_length(env, value, &count) == napi_ok ? count : 0;
}

int get_iovecs(napi_env env, napi_value value, struct iovec *iov, uint32_t count) {
  bool is_array = false;
  if (napi_is_array(env, value, &is_array) != napi_ok) return 0;
  if (!is_array) return count == 1 && get_bytes(env, value, &iov[0]);
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    if (napi_get_element(env, value, i, &item) != napi_ok || !get_bytes(env, item, &iov[i])) return 0;
  }
  return 1;
}

napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}
