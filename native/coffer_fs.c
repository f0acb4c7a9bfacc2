/*
 * coffer_fs: the few Linux file-system calls Node does not expose, needed to
 * capture and restore file metadata exactly:
 *   utimensat(AT_SYMLINK_NOFOLLOW) with nanosecond times, mknod/mkfifo,
 *   l{get,list,set,remove}xattr (never following symlinks), and
 *   lseek(SEEK_DATA/SEEK_HOLE) to find holes without reading them, and
 *   syncfs(2) to make a restore's files durable together, and two batch
 *   calls for restoring many small files: writeFiles (create, write, set
 *   owner, mode and times, close) and renameAll.
 * aead.c adds xchachaOpenInto: AEAD opening into a caller's buffer.
 * Every function but syncfs, writeFiles and renameAll is synchronous and small; errors are thrown as Node-style
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
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "aead.h"

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
 * Creates the promise for `job` and queues it on the thread pool. NULL when
 * that failed: a JS error is thrown, nothing was queued, and the caller still
 * owns (and frees) the job.
 */
static napi_value queue_job(napi_env env, const char *name, const char *syscall, napi_async_execute_callback execute,
                            napi_async_complete_callback complete, void *job, napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, resource_name;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_async_work(env, NULL, resource_name, execute, complete, job, work) != napi_ok) {
    throw_errno(env, EAGAIN, syscall, NULL);
    return NULL;
  }
  if (napi_queue_async_work(env, *work) != napi_ok) {
    napi_delete_async_work(env, *work);
    throw_errno(env, EAGAIN, syscall, NULL);
    return NULL;
  }
  return promise;
}

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
  napi_value promise = queue_job(env, "coffer_syncfs", "syncfs", syncfs_execute, syncfs_complete, job, &job->deferred, &job->work);
  if (promise == NULL) free(job);
  return promise;
}


/* Copies the strings of a JS array into malloc'd C strings (NULL on failure, with a pending JS exception). */
static char **get_string_array(napi_env env, napi_value array, size_t *count) {
  uint32_t length = 0;
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **out = calloc(length == 0 ? 1 : length, sizeof *out);
  if (out == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    char buf[PATH_BUF];
    if (napi_get_element(env, array, i, &item) != napi_ok || !get_string(env, item, buf, sizeof buf) || (out[i] = strdup(buf)) == NULL) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  *count = length;
  return out;
}

static void free_string_array(char **strings, size_t count) {
  if (strings == NULL) return;
  for (size_t i = 0; i < count; i++) free(strings[i]);
  free(strings);
}

static int get_bigint64_array(napi_env env, napi_value value, const int64_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_bigint64_array) {
    napi_throw_type_error(env, NULL, "expected a BigInt64Array");
    return 0;
  }
  *data = raw;
  return 1;
}

/* Floor division so times before 1970 keep 0 <= tv_nsec < 1e9. */
static struct timespec ns_to_timespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000LL;
  ts.tv_nsec = ns % 1000000000LL;
  if (ts.tv_nsec < 0) { ts.tv_nsec += 1000000000LL; ts.tv_sec -= 1; }
  return ts;
}

/*
 * writeFiles(paths, pieces, pieceOffsets, meta) -> Promise<Int32Array>
 *
 * Restores small files in one trip to the thread pool. For file i,
 * meta[8i..8i+7] = pieceStart, pieceCount, size, mode, uid, gid, atimeNs,
 * mtimeNs: its content is pieces[pieceStart ..] (Buffers) written at
 * pieceOffsets[same index]; the gaps and the tail up to size stay holes. The
 * file is created new (O_EXCL|O_NOFOLLOW, 0600), written, truncated to size,
 * given its owner (uid/gid -1: leave as created; only changed when different),
 * mode and times, and closed. A file that fails is closed and unlinked, and
 * the others go on. Result: per file null (done) or an fs-style error naming
 * the call that failed. Buffers must not be changed until the promise settles.
 */
static const char *const WRITE_STAGES[] = { "open", "write", "ftruncate", "fstat", "fchown", "fchmod", "futimens", "close" };
enum { ST_OPEN, ST_WRITE, ST_FTRUNCATE, ST_FSTAT, ST_FCHOWN, ST_FCHMOD, ST_FUTIMENS, ST_CLOSE };
#define WRITE_META_FIELDS 8

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep;          /* [pieces, pieceOffsets, meta]: their memory must outlive the work */
  char **paths;
  size_t count;
  const uint8_t **piece_data;
  size_t *piece_len;
  size_t piece_count;
  const int64_t *piece_offsets;
  const int64_t *meta;
  int32_t *result;        /* 2 per file: errno, stage */
} write_files_job;

static int write_all_at(int fd, const uint8_t *data, size_t length, int64_t position) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = pwrite(fd, data + done, length - done, (off_t)(position + (int64_t)done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += (size_t)n;
  }
  return 0;
}

/* Returns 0 or an errno, with *stage set to where it failed. */
static int write_one_file(const write_files_job *job, size_t i, int *stage) {
  const int64_t *m = job->meta + i * WRITE_META_FIELDS;
  int64_t piece_start = m[0], piece_count = m[1], size = m[2], mode = m[3], uid = m[4], gid = m[5];
  *stage = ST_OPEN;
  int fd = open(job->paths[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  /* Nothing was created (EEXIST: the name is not this run's to remove). */
  if (fd < 0) return errno;
  int err = 0;
  int64_t end = 0;
  *stage = ST_WRITE;
  for (int64_t p = piece_start; err == 0 && p < piece_start + piece_count; p++) {
    err = write_all_at(fd, job->piece_data[p], job->piece_len[p], job->piece_offsets[p]);
    end = job->piece_offsets[p] + (int64_t)job->piece_len[p];
  }
  if (err == 0 && end != size) {
    *stage = ST_FTRUNCATE;
    if (ftruncate(fd, (off_t)size) != 0) err = errno;
  }
  if (err == 0 && (uid >= 0 || gid >= 0)) {
    struct stat st;
    *stage = ST_FSTAT;
    if (fstat(fd, &st) != 0) err = errno;
    else if ((uid >= 0 && (uid_t)uid != st.st_uid) || (gid >= 0 && (gid_t)gid != st.st_gid)) {
      *stage = ST_FCHOWN;
      if (fchown(fd, uid >= 0 ? (uid_t)uid : (uid_t)-1, gid >= 0 ? (gid_t)gid : (gid_t)-1) != 0) err = errno;
    }
  }
  /* After chown, which clears setuid/setgid. */
  if (err == 0) {
    *stage = ST_FCHMOD;
    if (fchmod(fd, (mode_t)(mode & 07777)) != 0) err = errno;
  }
  /* Last: nothing after it changes the times. */
  if (err == 0) {
    struct timespec ts[2] = { ns_to_timespec(m[6]), ns_to_timespec(m[7]) };
    *stage = ST_FUTIMENS;
    if (futimens(fd, ts) != 0) err = errno;
  }
  if (close(fd) != 0 && err == 0) {
    *stage = ST_CLOSE;
    err = errno;
  }
  if (err != 0) unlink(job->paths[i]);
  return err;
}

static void write_files_execute(napi_env env, void *data) {
  (void)env;
  write_files_job *job = data;
  for (size_t i = 0; i < job->count; i++) {
    int stage = ST_OPEN;
    int err = write_one_file(job, i, &stage);
    job->result[2 * i] = err;
    job->result[2 * i + 1] = err == 0 ? 0 : stage;
  }
}

static void write_files_free(napi_env env, write_files_job *job) {
  if (job->keep != NULL) napi_delete_reference(env, job->keep);
  free_string_array(job->paths, job->count);
  free(job->piece_data);
  free(job->piece_len);
  free(job->result);
  free(job);
}

static void write_files_complete(napi_env env, napi_status status, void *data) {
  write_files_job *job = data;
  if (status != napi_ok) {
    napi_reject_deferred(env, job->deferred, errno_error(env, EIO, "writeFiles", NULL));
  } else {
    napi_value results, item;
    napi_create_array_with_length(env, job->count, &results);
    for (size_t i = 0; i < job->count; i++) {
      int err = job->result[2 * i];
      if (err == 0) napi_get_null(env, &item);
      else item = errno_error(env, err, WRITE_STAGES[job->result[2 * i + 1]], job->paths[i]);
      napi_set_element(env, results, (uint32_t)i, item);
    }
    napi_resolve_deferred(env, job->deferred, results);
  }
  napi_delete_async_work(env, job->work);
  write_files_free(env, job);
}

static napi_value js_write_files(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  write_files_job *job = calloc(1, sizeof *job);
  if (job == NULL) { throw_errno(env, ENOMEM, "writeFiles", NULL); return NULL; }
  size_t meta_length = 0, offsets_length = 0;
  uint32_t piece_count = 0;
  bool is_array = false;
  job->paths = get_string_array(env, argv[0], &job->count);
  if (job->paths == NULL) { free(job); return NULL; }
  if (!get_bigint64_array(env, argv[2], &job->piece_offsets, &offsets_length) ||
      !get_bigint64_array(env, argv[3], &job->meta, &meta_length)) goto fail;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &piece_count) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of Buffers");
    goto fail;
  }
  if (meta_length != job->count * WRITE_META_FIELDS || offsets_length != piece_count) {
    napi_throw_range_error(env, NULL, "writeFiles: meta or piece offsets do not match the files and pieces");
    goto fail;
  }
  job->piece_count = piece_count;
  job->piece_data = calloc(piece_count == 0 ? 1 : piece_count, sizeof *job->piece_data);
  job->piece_len = calloc(piece_count == 0 ? 1 : piece_count, sizeof *job->piece_len);
  job->result = calloc(job->count == 0 ? 1 : job->count * 2, sizeof *job->result);
  if (job->piece_data == NULL || job->piece_len == NULL || job->result == NULL) { throw_errno(env, ENOMEM, "writeFiles", NULL); goto fail; }
  for (uint32_t p = 0; p < piece_count; p++) {
    napi_value item;
    bool is_buffer = false;
    void *raw = NULL;
    if (napi_get_element(env, argv[1], p, &item) != napi_ok || napi_is_buffer(env, item, &is_buffer) != napi_ok || !is_buffer ||
        napi_get_buffer_info(env, item, &raw, &job->piece_len[p]) != napi_ok) {
      napi_throw_type_error(env, NULL, "expected an array of Buffers");
      goto fail;
    }
    job->piece_data[p] = raw;
  }
  /* Each file's pieces must lie inside the pieces array. */
  for (size_t i = 0; i < job->count; i++) {
    const int64_t *m = job->meta + i * WRITE_META_FIELDS;
    if (m[0] < 0 || m[1] < 0 || m[0] + m[1] > (int64_t)piece_count || m[2] < 0) {
      napi_throw_range_error(env, NULL, "writeFiles: a file's pieces or size are out of range");
      goto fail;
    }
  }
  napi_value keep;
  napi_create_array_with_length(env, 3, &keep);
  napi_set_element(env, keep, 0, argv[1]);
  napi_set_element(env, keep, 1, argv[2]);
  napi_set_element(env, keep, 2, argv[3]);
  napi_create_reference(env, keep, 1, &job->keep);
  napi_value promise = queue_job(env, "coffer_write_files", "writeFiles", write_files_execute, write_files_complete, job, &job->deferred, &job->work);
  if (promise == NULL) goto fail;
  return promise;
fail:
  write_files_free(env, job);
  return NULL;
}

/*
 * renameAll(from, to) -> Promise<[renamed, error | null]>: rename(2) of each
 * pair in order on the thread pool, stopping at the first failure.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char **from;
  char **to;
  size_t count;
  int32_t renamed;
  int32_t err;
} rename_job;

static void rename_execute(napi_env env, void *data) {
  (void)env;
  rename_job *job = data;
  for (size_t i = 0; i < job->count; i++) {
    if (rename(job->from[i], job->to[i]) != 0) {
      job->err = errno;
      return;
    }
    job->renamed++;
  }
}

static void rename_free(rename_job *job) {
  free_string_array(job->from, job->count);
  free_string_array(job->to, job->count);
  free(job);
}

static void rename_complete(napi_env env, napi_status status, void *data) {
  rename_job *job = data;
  napi_value result, count, error;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, job->renamed, &count);
  int err = status == napi_ok ? job->err : EIO;
  if (err == 0) napi_get_null(env, &error);
  else error = errno_error(env, err, "rename", (size_t)job->renamed < job->count ? job->to[job->renamed] : NULL);
  napi_set_element(env, result, 0, count);
  napi_set_element(env, result, 1, error);
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  rename_free(job);
}

static napi_value js_rename_all(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  rename_job *job = calloc(1, sizeof *job);
  if (job == NULL) { throw_errno(env, ENOMEM, "renameAll", NULL); return NULL; }
  size_t to_count = 0;
  job->from = get_string_array(env, argv[0], &job->count);
  if (job->from == NULL) { free(job); return NULL; }
  job->to = get_string_array(env, argv[1], &to_count);
  if (job->to == NULL) { free_string_array(job->from, job->count); free(job); return NULL; }
  if (to_count != job->count) {
    napi_throw_range_error(env, NULL, "renameAll: from and to differ in length");
    free_string_array(job->to, to_count);
    job->to = NULL;
    rename_free(job);
    return NULL;
  }
  napi_value promise = queue_job(env, "coffer_rename_all", "renameAll", rename_execute, rename_complete, job, &job->deferred, &job->work);
  if (promise == NULL) rename_free(job);
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
    { "writeFiles", NULL, js_write_files, NULL, NULL, NULL, napi_enumerable, NULL },
    { "renameAll", NULL, js_rename_all, NULL, NULL, NULL, napi_enumerable, NULL },
    { "xchachaOpenInto", NULL, js_xchacha_open_into, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
