/* png_file.c: the one translation unit that compiles stb_image_write, PNG
 * only, to caller-checked file writes (png_file.h). */
#include "png_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Static, so a test that compiles its own copy of the writer still links. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
/* Third-party code: its warnings are not ours to fix. The writers we do not
 * call are diagnosed at the end of the file, so that one stays off. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

typedef struct sink {
  FILE *f;
  int error; /* errno of the first failed write, else 0 */
} sink;

static void write_chunk(void *context, void *data, int size) {
  sink *s = context;
  if (s->error) return;
  errno = 0;
  if (fwrite(data, 1, (size_t)size, s->f) != (size_t)size)
    s->error = errno ? errno : EIO;
}

mvb_status mvb_write_png(const char *path, const uint8_t *rgb, int width,
                         int height, mvb_error *err) {
  if (!path || !rgb || width < 1 || height < 1)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                    "a PNG needs a path, pixels and sides of at least 1 (got "
                    "%d x %d)",
                    width, height);
  /* stb_image_write holds the filtered rows, 1 + 3 * width bytes each, and
   * its zlib output in int-sized buffers. */
  if (((uint64_t)width * 3 + 1) * (uint64_t)height > INT_MAX / 2)
    return mvb_fail(err, MVB_ERR_IMAGE_TOO_LARGE,
                    "%s: %d x %d pixels is too large to write as a PNG", path,
                    width, height);
  sink s = {fopen(path, "wb"), 0};
  if (!s.f)
    return mvb_fail(err, MVB_ERR_IO, "cannot write %s: %s", path,
                    strerror(errno));
  int encoded = stbi_write_png_to_func(write_chunk, &s, width, height,
                                       /*comp=*/3, rgb, width * 3);
  errno = 0;
  if (fclose(s.f) != 0 && !s.error) s.error = errno ? errno : EIO;
  if (encoded && !s.error) return MVB_OK;
  if (!encoded)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "cannot encode %s: out of memory", path);
  return mvb_fail(err, MVB_ERR_IO, "cannot write %s: %s", path,
                  strerror(s.error));
}
