/* The positioned file I/O engine (file_io.c): a NOWAIT read on the calling thread, and a small
 * pool of threads for everything that may wait for the disk. */
#ifndef BLK_FILE_IO_H
#define BLK_FILE_IO_H
#include <node_api.h>

napi_value js_read_now(napi_env env, napi_callback_info info);
napi_value js_io_open(napi_env env, napi_callback_info info);
napi_value js_io_submit(napi_env env, napi_callback_info info);
napi_value js_io_close(napi_env env, napi_callback_info info);

#endif
