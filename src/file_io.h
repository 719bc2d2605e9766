/* file_io.h: whole files into memory, for the model loader and the CLI
 * (internal). Knows nothing of models or images. */
#ifndef MVB_FILE_IO_H
#define MVB_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Size caps for mvb_read_file, one per kind of file: far above any real file
 * of that kind, low enough that a wrong path or a hostile file is refused
 * before it can take the machine's memory. */
#define MVB_MAX_MODEL_JSON_BYTES ((uint64_t)64 << 20)  /* model.json: 64 MiB */
#define MVB_MAX_SHARD_BYTES ((uint64_t)1 << 30)        /* one shard: 1 GiB */
#define MVB_MAX_IMAGE_FILE_BYTES ((uint64_t)256 << 20) /* a photo: 256 MiB */
/* `mvb run --input`: a float32 tensor as large as a photo at the pixel limit
 * (50 MP x 3 channels x 4 bytes = 600 MB) still fits. */
#define MVB_MAX_TENSOR_FILE_BYTES ((uint64_t)1 << 30) /* 1 GiB */

/* Reads a whole regular file into *data (malloc'd; free it) and its length
 * into *size. what says which file it is in messages ("model file", "weight
 * shard", "image"). Refused, with a message naming the file: a directory, a
 * FIFO, device or socket (never blocks on one), a file larger than max_bytes
 * (before anything is read), and a file that grows while it is read. On
 * failure *data is NULL and *size 0. */
mvb_status mvb_read_file(const char *path, const char *what, uint64_t max_bytes,
                         uint8_t **data, size_t *size, mvb_error *err);

/* The length of a file mvb_read_file would read, into *size, from stat
 * alone: refused as mvb_read_file refuses it, without opening it. A loader
 * checks sizes with this before it reads any file. */
mvb_status mvb_file_size(const char *path, const char *what, uint64_t max_bytes,
                         size_t *size, mvb_error *err);

/* dir + "/" + name, malloc'd; NULL if out of memory. */
char *mvb_join_path(const char *dir, const char *name);

#endif
