/*
 * @blk/fmap-native: the few system calls Node does not expose, for @blk/fmap.
 * mmap with views that are detached before munmap, msync, lseek(SEEK_DATA/SEEK_HOLE) and
 * fallocate(PUNCH_HOLE|KEEP_SIZE), and file_io.c's positioned I/O engine. Plain C over Node-API,
 * no dependencies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <node_api.h>
#include "file_io.h"
#include "napi_util.h"

#define ABI_VERSION 3

/*
 * One mmap. Shared by the JS mapping object and every view made of it: `refs` counts them, and the
 * last finalizer frees the struct. `addr` is NULL once unmapped, so a late finalizer never unmaps
 * an address the kernel may have handed to someone else.
 */
typedef struct {
  uint8_t *addr;
  size_t length;
  size_t refs;
  napi_ref *views;
  size_t nviews;
  size_t cap;
} mapping_t;

static void mapping_unref(mapping_t *m) {
  if (--m->refs > 0) return;
  if (m->addr) munmap(m->addr, m->length);
  free(m->views);
  free(m);
}

static void mapping_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  mapping_unref((mapping_t *)data);
}

static void view_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_unref((mapping_t *)hint);
}

static mapping_t *get_mapping(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (mapping_t *)data;
}

/* map(fd, length) → mapping */
static napi_value js_map(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  int64_t length;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) || !get_offset(env, argv[1], &length) || length == 0) {
    return throw_type(env, "map(fd, length): bad arguments");
  }
  void *addr = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  mapping_t *m = calloc(1, sizeof *m);
  if (!m) {
    munmap(addr, (size_t)length);
    return throw_errno(env, "map", ENOMEM);
  }
  m->addr = addr;
  m->length = (size_t)length;
  m->refs = 1;
  napi_value result;
  if (napi_create_external(env, m, mapping_finalize, NULL, &result) != napi_ok) {
    munmap(addr, (size_t)length);
    free(m);
    return throw_type(env, "napi_create_external failed");
  }
  return result;
}

/* Drops weak references whose views were collected, so the table stays small. */
static void prune_views(napi_env env, mapping_t *m) {
  size_t kept = 0;
  for (size_t i = 0; i < m->nviews; i++) {
    napi_value value = NULL;
    napi_get_reference_value(env, m->views[i], &value);
    if (value) m->views[kept++] = m->views[i];
    else napi_delete_reference(env, m->views[i]);
  }
  m->nviews = kept;
}

/* view(mapping, offset, length) → ArrayBuffer over the mapped bytes */
static napi_value js_view(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t offset, length;
  if (!get_args(env, info, 3, argv)) return throw_type(env, "view(mapping, offset, length): bad arguments");
  mapping_t *m = get_mapping(env, argv[0]);
  if (!m || !get_offset(env, argv[1], &offset) || !get_offset(env, argv[2], &length)) {
    return throw_type(env, "view(mapping, offset, length): bad arguments");
  }
  if (!m->addr) return throw_errno(env, "view of an unmapped mapping", EBADF);
  if ((uint64_t)offset > m->length || (uint64_t)length > m->length - (uint64_t)offset) {
    return throw_errno(env, "view outside the mapping", EINVAL);
  }
  if (m->nviews == m->cap) {
    prune_views(env, m);
    if (m->nviews == m->cap) {
      size_t cap = m->cap ? 2 * m->cap : 8;
      napi_ref *grown = realloc(m->views, cap * sizeof *grown);
      if (!grown) return throw_errno(env, "view", ENOMEM);
      m->views = grown;
      m->cap = cap;
    }
  }
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(env, m->addr + offset, (size_t)length, view_finalize, m, &buffer);
  if (status != napi_ok) return throw_type(env, "napi_create_external_arraybuffer failed (external buffers not allowed here?)");
  m->refs++;
  CHECK(napi_create_reference(env, buffer, 0, &m->views[m->nviews]));
  m->nviews++;
  return buffer;
}

/* sync(mapping, offset, length, blocking) */
static napi_value js_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t offset, length;
  bool blocking;
  if (!get_args(env, info, 4, argv)) return throw_type(env, "sync(mapping, offset, length, blocking): bad arguments");
  mapping_t *m = get_mapping(env, argv[0]);
  if (!m || !get_offset(env, argv[1], &offset) || !get_offset(env, argv[2], &length) ||
      napi_get_value_bool(env, argv[3], &blocking) != napi_ok) {
    return throw_type(env, "sync(mapping, offset, length, blocking): bad arguments");
  }
  if (!m->addr) return throw_errno(env, "msync of an unmapped mapping", EBADF);
  if ((uint64_t)offset > m->length || (uint64_t)length > m->length - (uint64_t)offset) {
    return throw_errno(env, "msync outside the mapping", EINVAL);
  }
  long page = sysconf(_SC_PAGESIZE);
  int64_t start = offset - offset % page;
  if (length > 0 && msync(m->addr + start, (size_t)(length + (offset - start)), blocking ? MS_SYNC : MS_ASYNC) != 0) {
    return throw_errno(env, "msync", errno);
  }
  return NULL;
}

/* unmap(mapping): detach every view, then munmap. */
static napi_value js_unmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return throw_type(env, "unmap(mapping): bad arguments");
  mapping_t *m = get_mapping(env, argv[0]);
  if (!m) return throw_type(env, "unmap(mapping): bad arguments");
  if (!m->addr) return NULL;
  for (size_t i = 0; i < m->nviews; i++) {
    napi_value value = NULL;
    napi_get_reference_value(env, m->views[i], &value);
    if (value) napi_detach_arraybuffer(env, value);
    napi_delete_reference(env, m->views[i]);
  }
  m->nviews = 0;
  munmap(m->addr, m->length);
  m->addr = NULL;
  return NULL;
}

static napi_value seek(napi_env env, napi_callback_info info, int whence, const char *what) {
  napi_value argv[2];
  int fd;
  int64_t offset;
  if (!get_args(env, info, 2, argv) || !get_fd(env, argv[0], &fd) || !get_offset(env, argv[1], &offset)) {
    return throw_type(env, "seek(fd, offset): bad arguments");
  }
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
  off_t at = lseek(fd, (off_t)offset, whence);
  if (at < 0) {
    if (errno == ENXIO) return number(env, -1);
    return throw_errno(env, what, errno);
  }
  return number(env, (double)at);
#else
  (void)whence;
  (void)what;
  /* No hole information: data everywhere, no hole before the end. */
  return number(env, whence == 3 ? (double)offset : -1);
#endif
}

static napi_value js_seek_data(napi_env env, napi_callback_info info) {
#ifdef SEEK_DATA
  return seek(env, info, SEEK_DATA, "lseek(SEEK_DATA)");
#else
  return seek(env, info, 3, "lseek(SEEK_DATA)");
#endif
}

static napi_value js_seek_hole(napi_env env, napi_callback_info info) {
#ifdef SEEK_HOLE
  return seek(env, info, SEEK_HOLE, "lseek(SEEK_HOLE)");
#else
  return seek(env, info, 4, "lseek(SEEK_HOLE)");
#endif
}

/* punchHole(fd, offset, length) → true, or false when the file system cannot. */
static napi_value js_punch_hole(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int64_t offset, length;
  napi_value result;
  if (!get_args(env, info, 3, argv) || !get_fd(env, argv[0], &fd) || !get_offset(env, argv[1], &offset) ||
      !get_offset(env, argv[2], &length)) {
    return throw_type(env, "punchHole(fd, offset, length): bad arguments");
  }
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
  if (length > 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) != 0) {
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
      napi_get_boolean(env, false, &result);
      return result;
    }
    return throw_errno(env, "fallocate(PUNCH_HOLE)", errno);
  }
  napi_get_boolean(env, true, &result);
#else
  (void)fd;
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"map", NULL, js_map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"view", NULL, js_view, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unmap", NULL, js_unmap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekData", NULL, js_seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, js_seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"punchHole", NULL, js_punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"readNow", NULL, js_read_now, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeNow", NULL, js_write_now, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ioOpen", NULL, js_io_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ioSubmit", NULL, js_io_submit, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ioClose", NULL, js_io_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pageSize", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
    {"abiVersion", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  size_t count = sizeof props / sizeof props[0];
  napi_value version, page_size;
  napi_create_int32(env, ABI_VERSION, &version);
  napi_create_int64(env, sysconf(_SC_PAGESIZE), &page_size);
  props[count - 2].value = page_size;
  props[count - 1].value = version;
  napi_define_properties(env, exports, count, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
