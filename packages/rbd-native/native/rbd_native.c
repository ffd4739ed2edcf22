/*
 * @blk/rbd-native: librbd for @blk/rbd. Blocking calls (connect, open, close, resize, snapshots,
 * diff) run on libuv's thread pool and return promises; I/O goes through rbd_aio_* and comes back
 * in batches through a thread-safe function (image.c). Plain C over Node-API.
 */
#include <stdio.h>
#include <node_api.h>
#include <rbd/librbd.h>
#include "handles.h"

#define ABI_VERSION 1

static napi_value init(napi_env env, napi_value exports) {
  napi_value abi, librbd;
  int major = 0, minor = 0, extra = 0;
  rbd_version(&major, &minor, &extra);
  char version[32];
  int n = snprintf(version, sizeof version, "%d.%d.%d", major, minor, extra);
  napi_create_uint32(env, ABI_VERSION, &abi);
  napi_create_string_utf8(env, version, (size_t)n, &librbd);
  napi_property_descriptor props[] = {
      {"abiVersion", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      {"librbdVersion", NULL, NULL, NULL, NULL, librbd, napi_enumerable, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createImage", NULL, js_create_image, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeImage", NULL, js_remove_image, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"size", NULL, js_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resize", NULL, js_resize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"snapshot", NULL, js_snapshot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"diff", NULL, js_diff, NULL, NULL, NULL, napi_enumerable, NULL},
      {"submit", NULL, js_submit, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
