/* fmap's own argument checks, on top of the helpers shared with @blk/rbd-native (native-kit/napi_kit.h). */
#ifndef BLK_NAPI_UTIL_H
#define BLK_NAPI_UTIL_H
#include <stdint.h>
#include "napi_kit.h"

/* A non-negative integer below 2^53 (what JavaScript can hold exactly). */
int get_offset(napi_env env, napi_value value, int64_t *out);
int get_fd(napi_env env, napi_value value, int *out);

#endif
