/* png_file.h: RGB pixels -> a PNG file, with stb_image_write (Debian's
 * libstb-dev), for the CLI's `mvb explain` (internal). Knows nothing of
 * models, heatmaps or decoding. */
#ifndef MVB_PNG_FILE_H
#define MVB_PNG_FILE_H

#include <stdint.h>

#include "error.h"

/* Writes rgb ((height, width, 3), rows packed) to path as an 8-bit RGB PNG,
 * replacing any file there. Refused: sides below 1, and images whose
 * filtered rows would not fit stb_image_write's int sizes (far above the
 * default pixel limit). A failed write (a full disk shows only at fclose)
 * is reported with the path and the system's reason (what was written is
 * left: path may be a device or a pipe, not ours to remove). */
mvb_status mvb_write_png(const char *path, const uint8_t *rgb, int width,
                         int height, mvb_error *err);

#endif
