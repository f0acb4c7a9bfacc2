/*
 * coffer_fs: the few Linux file-system calls Node does not expose, needed to
 * capture and restore file metadata exactly:
 *   utimensat(AT_SYMLINK_NOFOLLOW) with nanosecond times, mknod/mkfifo,
 *   l{get,list,set,remove}xattr (never following symlinks), and
 *   lseek(SEEK_DATA/SEEK_HOLE) to find holes without reading them, and
 *   syncfs(2) to make a restore's files durable together.
 * Every function but syncfs is synchronous and small; errors are thrown as Node-style
 * errors carrying `code` (e.g. "ENOENT"), `errno` and `syscall`, so callers can
 * branch on them like on fs errors.
 */
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PATH_BUF 4096
#define NAME_BUF 256

static const char *errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    case ENXIO: return "ENXIO";
    case EIO: return "EIO";
    case EFBIG: return "EFBIG";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    default: return "EUNKNOWN";
  }
}

/* An Error like Node's fs errors: message "CODE: strerror, syscall 'path'", with code, errno, syscall, path. */
static napi_value errno_error(napi_env env, int err, const char *syscall, const char *path) {
  char msg[PATH_BUF + 256];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", errno_code(err), strerror(err), syscall, path ? path : "");
  napi_value message, error, value;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "code", value);
  napi_create_int32(env, -err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, error, "path", value);
  }
  return error;
}

static void throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  napi_throw(env, errno_error(env, err, syscall, path));
}

static int get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < expected) {
    napi_throw_type_error(env, NULL, "wrong number of arguments");
    return 0;
  }
  return 1;
}

/* Copies a JS string into buf (UTF-8). Names are arbitrary bytes on Linux, but
 * Node already presents paths as UTF-8 strings, so this matches fs.*. */
static int get_string(napi_env env, napi_value value, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, buf, size, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return 0;
  }
  if (len >= size - 1) {
    napi_throw_range_error(env, NULL, "string too long");
    return 0;
  }
  if (strlen(buf) != len) {
    napi_throw_type_error(env, NULL, "string contains NUL");
    return 0;
  }
  return 1;
}

static int get_bigint(napi_env env, napi_value value, int64_t *out) {
  bool lossless = false;
  if (napi_get_value_bigint_int64(env, value, out, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, NULL, "expected a bigint in int64 range");
    return 0;
  }
  return 1;
}

static int get_int64(napi_env env, napi_value value, int64_t *out) {
  if (napi_get_value_int64(env, value, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a number");
    return 0;
  }
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* lutimens(path, atimeNs: bigint, mtimeNs: bigint): sets both times, never following a symlink. */
static napi_value lutimens(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_BUF];
  int64_t at, mt;
  if (!get_args(env, info, 3, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !get_bigint(env, argv[1], &at) || !get_bigint(env, argv[2], &mt)) return NULL;
  struct timespec ts[2];
  /* Floor division so times before 1970 keep 0 <= tv_nsec < 1e9. */
  ts[0].tv_sec = at / 1000000000LL; ts[0].tv_nsec = at % 1000000000LL;
  if (ts[0].tv_nsec < 0) { ts[0].tv_nsec += 1000000000LL; ts[0].tv_sec -= 1; }
  ts[1].tv_sec = mt / 1000000000LL; ts[1].tv_nsec = mt % 1000000000LL;
  if (ts[1].tv_nsec < 0) { ts[1].tv_nsec += 1000000000LL; ts[1].tv_sec -= 1; }
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) {
    throw_errno(env, errno, "utimensat", path);
    return NULL;
  }
  return undefined(env);
}

/* mknod(path, mode (type | permission bits), rdev: number): fifos, sockets and devices. */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_BUF];
  int64_t mode, rdev;
  if (!get_args(env, info, 3, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !get_int64(env, argv[1], &mode) || !get_int64(env, argv[2], &rdev)) return NULL;
  if (mknod(path, (mode_t)mode, (dev_t)rdev) != 0) {
    throw_errno(env, errno, "mknod", path);
    return NULL;
  }
  return undefined(env);
}

/* llistxattr(path) -> string[] of attribute names (of the link itself for symlinks). */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_BUF];
  if (!get_args(env, info, 1, argv) || !get_string(env, argv[0], path, sizeof path)) return NULL;
  char *buf = NULL;
  ssize_t size;
  for (;;) {
    size = llistxattr(path, NULL, 0);
    if (size < 0) { throw_errno(env, errno, "llistxattr", path); return NULL; }
    if (size == 0) break;
    buf = malloc((size_t)size);
    if (!buf) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
    ssize_t got = llistxattr(path, buf, (size_t)size);
    if (got >= 0) { size = got; break; }
    int err = errno;
    free(buf); buf = NULL;
    if (err != ERANGE) { throw_errno(env, err, "llistxattr", path); return NULL; }
    /* The list grew between the two calls: ask again. */
  }
  napi_value result;
  napi_create_array(env, &result);
  uint32_t index = 0;
  for (ssize_t pos = 0; pos < size;) {
    size_t len = strnlen(buf + pos, (size_t)(size - pos));
    if (len > 0) {
      napi_value name;
      napi_create_string_utf8(env, buf + pos, len, &name);
      napi_set_element(env, result, index++, name);
    }
    pos += (ssize_t)len + 1;
  }
  free(buf);
  return result;
}

/* lgetxattr(path, name) -> Buffer, or null when the attribute does not exist. */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 2, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !get_string(env, argv[1], name, sizeof name)) return NULL;
  for (;;) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) {
      if (errno == ENODATA) { napi_value n; napi_get_null(env, &n); return n; }
      throw_errno(env, errno, "lgetxattr", path);
      return NULL;
    }
    void *data = NULL;
    napi_value result;
    if (napi_create_buffer(env, (size_t)size, &data, &result) != napi_ok) return NULL;
    if (size == 0) return result;
    ssize_t got = lgetxattr(path, name, data, (size_t)size);
    if (got >= 0) {
      if (got == size) return result;
      napi_value slice;
      void *copy = NULL;
      napi_create_buffer_copy(env, (size_t)got, data, &copy, &slice);
      return slice;
    }
    if (errno == ENODATA) { napi_value n; napi_get_null(env, &n); return n; }
    if (errno != ERANGE) { throw_errno(env, errno, "lgetxattr", path); return NULL; }
    /* The value grew between the two calls: ask again. */
  }
}

/* lsetxattr(path, name, value: Buffer): creates or replaces. */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 3, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !get_string(env, argv[1], name, sizeof name)) return NULL;
  void *data = NULL;
  size_t length = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[2], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a Buffer value");
    return NULL;
  }
  if (lsetxattr(path, name, length ? data : "", length, 0) != 0) {
    throw_errno(env, errno, "lsetxattr", path);
    return NULL;
  }
  return undefined(env);
}

/* lremovexattr(path, name). */
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[PATH_BUF], name[NAME_BUF];
  if (!get_args(env, info, 2, argv) || !get_string(env, argv[0], path, sizeof path) ||
      !get_string(env, argv[1], name, sizeof name)) return NULL;
  if (lremovexattr(path, name) != 0) {
    throw_errno(env, errno, "lremovexattr", path);
    return NULL;
  }
  return undefined(env);
}

/* seekData(fd, offset) / seekHole(fd, offset) -> offset, or -1 past the last data (ENXIO). */
static napi_value do_seek(napi_env env, napi_callback_info info, int whence, const char *syscall) {
  napi_value argv[2];
  int64_t fd, offset;
  if (!get_args(env, info, 2, argv) || !get_int64(env, argv[0], &fd) || !get_int64(env, argv[1], &offset)) return NULL;
  off_t pos = lseek((int)fd, (off_t)offset, whence);
  napi_value result;
  if (pos < 0) {
    if (errno == ENXIO) { napi_create_int64(env, -1, &result); return result; }
    throw_errno(env, errno, syscall, NULL);
    return NULL;
  }
  napi_create_int64(env, (int64_t)pos, &result);
  return result;
}

static napi_value seek_data(napi_env env, napi_callback_info info) { return do_seek(env, info, SEEK_DATA, "lseek(SEEK_DATA)"); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return do_seek(env, info, SEEK_HOLE, "lseek(SEEK_HOLE)"); }

/*
 * syncfs(fd) -> Promise<void>: syncfs(2) of the file system holding fd, on
 * the libuv thread pool (it waits for write-back). Native rather than the
 * `sync --file-system` command: spawning a child forks this process, whose
 * page tables are large during a restore, and that showed in profiles.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int err;
} syncfs_job;

static void syncfs_execute(napi_env env, void *data) {
  (void)env;
  syncfs_job *job = data;
  job->err = syncfs(job->fd) == 0 ? 0 : errno;
}

static void syncfs_complete(napi_env env, napi_status status, void *data) {
  syncfs_job *job = data;
  if (status == napi_ok && job->err == 0) {
    napi_resolve_deferred(env, job->deferred, undefined(env));
  } else {
    napi_reject_deferred(env, job->deferred, errno_error(env, job->err != 0 ? job->err : EIO, "syncfs", NULL));
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!get_args(env, info, 1, argv) || !get_int64(env, argv[0], &fd)) return NULL;
  syncfs_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    throw_errno(env, ENOMEM, "syncfs", NULL);
    return NULL;
  }
  job->fd = (int)fd;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "coffer_syncfs", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, syncfs_execute, syncfs_complete, job, &job->work) != napi_ok || napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    throw_errno(env, EAGAIN, "syncfs", NULL);
    return NULL;
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "lutimens", NULL, lutimens, NULL, NULL, NULL, napi_enumerable, NULL },
    { "mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL },
    { "llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_enumerable, NULL },
    { "seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL },
    { "seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL },
    { "syncfs", NULL, js_syncfs, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
