#include "exif.h"

#include <string.h>

#define TIFF_TYPE_SHORT 3
#define TAG_ORIENTATION 0x0112

static uint32_t tiff_u16(const uint8_t *p, int little) {
  return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8
                : (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t tiff_u32(const uint8_t *p, int little) {
  return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                      (uint32_t)p[3] << 24
                : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                      (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int mvb_exif_orientation(const uint8_t *tiff, size_t size) {
  if (!tiff || size < 8) return 1;
  int little;
  if (tiff[0] == 'I' && tiff[1] == 'I')
    little = 1;
  else if (tiff[0] == 'M' && tiff[1] == 'M')
    little = 0;
  else
    return 1;
  if (tiff_u16(tiff + 2, little) != 42) return 1;
  /* Offsets are compared by subtraction so that no sum can wrap. */
  uint32_t ifd = tiff_u32(tiff + 4, little);
  if (ifd > size || size - ifd < 2) return 1;
  uint32_t count = tiff_u16(tiff + ifd, little);
  size_t entries = ifd + 2;
  if ((size - entries) / 12 < count) return 1;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *entry = tiff + entries + (size_t)i * 12;
    if (tiff_u16(entry, little) != TAG_ORIENTATION) continue;
    if (tiff_u16(entry + 2, little) != TIFF_TYPE_SHORT ||
        tiff_u32(entry + 4, little) != 1)
      return 1;
    /* A single SHORT sits in the first two bytes of the value field. */
    uint32_t value = tiff_u16(entry + 8, little);
    return value >= 1 && value <= 8 ? (int)value : 1;
  }
  return 1;
}

int mvb_exif_app1_orientation(const uint8_t *payload, size_t size) {
  static const uint8_t prefix[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (!payload || size < sizeof prefix || memcmp(payload, prefix, 6) != 0)
    return 0;
  return mvb_exif_orientation(payload + 6, size - 6);
}
