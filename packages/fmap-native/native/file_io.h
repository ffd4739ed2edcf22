/* Positioned file I/O: the thread pool (file_io.c) for everything that may wait for the disk, and
 * the calls that run on the JavaScript thread (inline_io.c). */
#ifndef BLK_FILE_IO_H
#define BLK_FILE_IO_H
#include <stdint.h>
#include <sys/uio.h>
#include <node_api.h>

/* pwritev until every byte is written (continuing after short writes): bytes, or -errno. */
int64_t pwritev_all(int fd, struct iovec *iov, int count, int64_t position);

napi_value js_io_open(napi_env env, napi_callback_info info);
napi_value js_io_submit(napi_env env, napi_callback_info info);
napi_value js_io_close(napi_env env, napi_callback_info info);
napi_value js_read_now(napi_env env, napi_callback_info info);
napi_value js_write_now(napi_env env, napi_callback_info info);

#endif
