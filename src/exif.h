/* exif.h: walks a JPEG's marker structure to learn, before any pixel is
 * decoded, its frame size, its EXIF orientation and whether the data is
 * complete (internal).
 *
 * stb_image fills the missing part of a truncated JPEG with grey instead of
 * failing, so completeness is checked here: every segment must fit in the
 * data and an EOI marker (FF D9) must follow the last scan. The walk
 * allocates nothing and reads every byte through a bounds check; malformed
 * EXIF only means "no orientation" (1), never a failure.
 */
#ifndef MVB_EXIF_H
#define MVB_EXIF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mvb.h"

typedef struct mvb_jpeg_info {
  uint32_t width, height; /* from the first SOFn segment */
  int orientation;        /* EXIF tag 0x0112: 1..8; 1 when absent or bad */
} mvb_jpeg_info;

/* bytes must start with SOI (FF D8). Fails with MVB_ERR_IMAGE and a message
 * naming the byte offset when the data is truncated ("truncated JPEG ..."),
 * has no frame header before its first scan, or has a malformed segment. */
mvb_status mvb_jpeg_inspect(const uint8_t *bytes, size_t size,
                            mvb_jpeg_info *info, mvb_error *err);

/* The orientation stored in an APP1 EXIF payload after its "Exif\0\0"
 * prefix (a TIFF structure: byte order, IFD0). Returns 1..8, or 1 when the
 * tag is missing or anything is out of bounds or malformed. */
int mvb_exif_orientation(const uint8_t *tiff, size_t size);

#endif
