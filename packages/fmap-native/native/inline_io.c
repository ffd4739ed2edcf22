/*
 * Positioned file I/O on the calling (JavaScript) thread, for what the page cache answers.
 *
 * readNow: preadv2(RWF_NOWAIT). The kernel answers from the page cache or refuses with EAGAIN
 * instead of waiting for the disk, so a hit costs one system call and never blocks the event
 * loop; a miss goes to the thread pool (file_io.c).
 *
 * writeNow: pwritev. Buffered file systems (ext4 among them) refuse RWF_NOWAIT for writes, so the
 * kernel cannot promise not to wait; the caller only writes whole pages here (nothing to read
 * first) and stops writing inline after a write that waited long (dirty-page throttling, a
 * journal commit), see @blk/fmap's inline-writes.ts. "Waited" means the thread slept in the
 * kernel (a voluntary context switch, from getrusage): being preempted on a busy machine is not
 * the write's fault, and wall time alone cannot tell the two apart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "file_io.h"
#include "napi_util.h"

/* Buffers one writeNow takes; a request with more goes to the pool. */
#define MAX_INLINE_IOV 64

/*
 * readNow(fd, buffer, position) → bytes read from the page cache (0 at end of file), -1 when
 * that would wait for the disk, -2 when this file or kernel cannot tell (no RWF_NOWAIT).
 */
napi_value js_read_now(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int64_t position;
  struct iovec iov;
  if (!get_args(env, info, 3, argv) || !get_fd(env, argv[0], &fd) || !get_bytes(env, argv[1], &iov) ||
      !get_offset(env, argv[2], &position)) {
    return throw_type(env, "readNow(fd, buffer: Uint8Array, position): bad arguments");
  }
#if defined(__linux__) && defined(RWF_NOWAIT)
  ssize_t n;
  do n = preadv2(fd, &iov, 1, (off_t)position, RWF_NOWAIT);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return number(env, (double)n);
  if (errno == EAGAIN) return number(env, -1);
  if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) return number(env, -2);
  return throw_errno(env, "preadv2", errno);
#else
  (void)fd;
  (void)position;
  return number(env, -2);
#endif
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Voluntary context switches of this thread so far (-1 where the kernel cannot say). */
static long sleeps(void) {
#ifdef RUSAGE_THREAD
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) == 0) return usage.ru_nvcsw;
#endif
  return -1;
}

/*
 * writeNow(fd, buffers: Uint8Array | Uint8Array[], position, waited: Float64Array) → bytes
 * written (all of them), or -1 when there are more than 64 buffers (use the pool). waited[0] is
 * set to the milliseconds the call took if the thread slept during it, else 0 (where sleeping
 * cannot be told, the milliseconds it took). Throws the errno as a system error.
 */
napi_value js_write_now(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int fd;
  int64_t position;
  struct iovec iov[MAX_INLINE_IOV];
  napi_typedarray_type waited_type;
  size_t waited_length;
  void *waited_data;
  if (!get_args(env, info, 4, argv) || !get_fd(env, argv[0], &fd) || !get_offset(env, argv[2], &position) ||
      napi_get_typedarray_info(env, argv[3], &waited_type, &waited_length, &waited_data, NULL, NULL) != napi_ok ||
      waited_type != napi_float64_array || waited_length < 1) {
    return throw_type(env, "writeNow(fd, buffers, position, waited: Float64Array): bad arguments");
  }
  uint32_t count = buffer_count(env, argv[1]);
  if (count > MAX_INLINE_IOV) return number(env, -1);
  if (count == 0 || !get_iovecs(env, argv[1], iov, count)) {
    return throw_type(env, "writeNow: buffers must be a Uint8Array or a non-empty array of them");
  }
  long slept_before = sleeps();
  double started = now_ms();
  int64_t written = pwritev_all(fd, iov, (int)count, position);
  double took = now_ms() - started;
  long slept_after = sleeps();
  ((double *)waited_data)[0] = slept_before < 0 || slept_after != slept_before ? took : 0;
  if (written < 0) return throw_errno(env, "pwritev", (int)-written);
  return number(env, (double)written);
}
