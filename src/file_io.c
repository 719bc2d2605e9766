/* file_io.c: reading whole files, for the model loader and the CLI. */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fstat */
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *mvb_join_path(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  bool slash = a > 0 && dir[a - 1] != '/';
  char *p = malloc(a + slash + b + 1);
  if (!p) return NULL;
  memcpy(p, dir, a);
  if (slash) p[a] = '/';
  memcpy(p + a + slash, name, b + 1);
  return p;
}

/* What a path that is neither a regular file nor a directory is. */
static const char *file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown kind";
}

/* Reads until end of file or until want bytes are in (*got says how many);
 * -1 with errno on a read error. */
static int read_up_to(int fd, uint8_t *buf, size_t want, size_t *got) {
  /* read() of more than SSIZE_MAX is implementation-defined. */
  const size_t chunk = (size_t)1 << 30;
  size_t n = 0;
  while (n < want) {
    ssize_t r = read(fd, buf + n, want - n < chunk ? want - n : chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    n += (size_t)r;
  }
  *got = n;
  return 0;
}

/* A file fit to be read whole: a regular file of at most max_bytes (and at
 * most SIZE_MAX - 1, so its length + 1 fits a size_t; wasm's is 32 bits).
 * Its length goes to *length. */
static mvb_status check_file(const struct stat *st, const char *path,
                             const char *what, uint64_t max_bytes,
                             uint64_t *length, mvb_error *err) {
  if (S_ISDIR(st->st_mode))
    return mvb_fail(err, MVB_ERR_IO, "%s \"%.300s\" is a directory", what,
                    path);
  if (!S_ISREG(st->st_mode))
    return mvb_fail(err, MVB_ERR_IO, "%s \"%.300s\" is not a regular file (%s)",
                    what, path, file_kind(st->st_mode));
  *length = (uint64_t)st->st_size;
  uint64_t limit =
      max_bytes < (uint64_t)SIZE_MAX - 1 ? max_bytes : (uint64_t)SIZE_MAX - 1;
  if (*length > limit)
    return mvb_fail(err, MVB_ERR_IO,
                    "%s \"%.300s\" is %llu bytes, more than the limit of "
                    "%llu bytes",
                    what, path, (unsigned long long)*length,
                    (unsigned long long)limit);
  return MVB_OK;
}

mvb_status mvb_file_size(const char *path, const char *what, uint64_t max_bytes,
                         size_t *size, mvb_error *err) {
  struct stat st;
  uint64_t length = 0;
  *size = 0;
  if (stat(path, &st) != 0)
    return mvb_fail(err, MVB_ERR_IO, "cannot open %s \"%.300s\": %s", what,
                    path, strerror(errno));
  mvb_status status = check_file(&st, path, what, max_bytes, &length, err);
  if (status == MVB_OK) *size = (size_t)length;
  return status;
}

mvb_status mvb_read_file(const char *path, const char *what, uint64_t max_bytes,
                         uint8_t **data, size_t *size, mvb_error *err) {
  mvb_status status = MVB_OK;
  uint8_t *buf = NULL;
  *data = NULL;
  *size = 0;
  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat
   * could tell what it is. It changes nothing for a regular file. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return mvb_fail(err, MVB_ERR_IO, "cannot open %s \"%.300s\": %s", what,
                    path, strerror(errno));
  struct stat st;
  uint64_t length = 0;
  if (fstat(fd, &st) != 0) {
    status = mvb_fail(err, MVB_ERR_IO, "cannot read %s \"%.300s\": %s", what,
                      path, strerror(errno));
    goto done;
  }
  /* Judged by fstat's size, before a byte is read or allocated. */
  status = check_file(&st, path, what, max_bytes, &length, err);
  if (status != MVB_OK) goto done;
  buf = malloc((size_t)length + 1);
  if (!buf) {
    status = mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                      "out of memory reading %s \"%.300s\" (%llu bytes)", what,
                      path, (unsigned long long)length);
    goto done;
  }
  /* One byte more than fstat promised: if it arrives the file is growing
   * under us, and reading stops there instead of following it. */
  size_t got = 0;
  if (read_up_to(fd, buf, (size_t)length + 1, &got) != 0) {
    status = mvb_fail(err, MVB_ERR_IO, "cannot read %s \"%.300s\": %s", what,
                      path, strerror(errno));
    goto done;
  }
  if (got != length) {
    status = mvb_fail(err, MVB_ERR_IO,
                      "%s \"%.300s\" changed size while being read (%llu "
                      "bytes when opened)",
                      what, path, (unsigned long long)length);
    goto done;
  }
  *data = buf;
  *size = got;
  buf = NULL;
done:
  free(buf);
  close(fd); /* read-only: closing cannot lose data */
  return status;
}
