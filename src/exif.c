#include "exif.h"

#include <string.h>

/* ---- EXIF (TIFF inside APP1) ------------------------------------------ */

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

/* ---- JPEG marker walk ------------------------------------------------- */

#define M_SOI 0xD8
#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_APP1 0xE1
#define M_TEM 0x01

static int is_sof(uint8_t m) {
  /* C0..CF are frame headers except DHT (C4), JPG (C8) and DAC (CC). */
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int is_standalone(uint8_t m) {
  return m == M_SOI || m == M_TEM || (m >= 0xD0 && m <= 0xD7);
}

/* A DHT segment: tables of (class/id, 16 code counts, symbols). stb_image
 * 2.27 writes past its 257-entry code table when the counts add up to more
 * than 256, so such tables are refused here, before it sees them. */
static mvb_status check_huffman_tables(const uint8_t *p, size_t size,
                                       size_t marker_at, mvb_error *err) {
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < 17)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: Huffman table at byte %zu is cut short",
                      marker_at);
    if ((p[pos] >> 4) > 1 || (p[pos] & 15) > 3)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: Huffman table at byte %zu has class/id "
                      "0x%02x",
                      marker_at, p[pos]);
    size_t symbols = 0;
    for (int i = 1; i <= 16; i++) symbols += p[pos + i];
    if (symbols > 256 || size - pos - 17 < symbols)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: Huffman table at byte %zu declares %zu "
                      "codes",
                      marker_at, symbols);
    pos += 17 + symbols;
  }
  return MVB_OK;
}

/* Skips entropy-coded data from pos; returns the offset of the next marker's
 * FF, or size when the data ends first. Inside a scan, FF 00 is an escaped
 * data byte, FF D0..D7 are restart markers and FF FF is fill. */
static size_t skip_scan(const uint8_t *bytes, size_t size, size_t pos) {
  while (pos < size) {
    const uint8_t *ff = memchr(bytes + pos, 0xFF, size - pos);
    if (!ff) return size;
    pos = (size_t)(ff - bytes);
    if (pos + 1 >= size) return size;
    uint8_t next = bytes[pos + 1];
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7))
      pos += 2;
    else if (next == 0xFF)
      pos += 1;
    else
      return pos;
  }
  return size;
}

static void read_exif(const uint8_t *payload, size_t length,
                      mvb_jpeg_info *info, int *seen) {
  static const uint8_t prefix[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (*seen || length < sizeof prefix || memcmp(payload, prefix, 6) != 0)
    return;
  *seen = 1; /* only the first EXIF block counts, as in other readers */
  info->orientation = mvb_exif_orientation(payload + 6, length - 6);
}

mvb_status mvb_jpeg_inspect(const uint8_t *bytes, size_t size,
                            mvb_jpeg_info *info, mvb_error *err) {
  info->width = info->height = 0;
  info->orientation = 1;
  if (size < 2 || bytes[0] != 0xFF || bytes[1] != M_SOI)
    return mvb_fail(err, MVB_ERR_IMAGE, "not a JPEG (no SOI marker)");
  int have_frame = 0, have_exif = 0;
  size_t pos = 2;
  for (;;) {
    /* Like libjpeg, tolerate stray bytes before a marker. */
    const uint8_t *ff =
        pos < size ? memchr(bytes + pos, 0xFF, size - pos) : NULL;
    if (!ff)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated JPEG: data ends at byte %zu without an EOI "
                      "marker",
                      size);
    pos = (size_t)(ff - bytes);
    while (pos < size && bytes[pos] == 0xFF) pos++; /* fill bytes */
    if (pos >= size)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated JPEG: data ends inside a marker at byte %zu",
                      size);
    uint8_t marker = bytes[pos++];
    size_t marker_at = pos - 2;
    if (marker == M_EOI) break;
    if (is_standalone(marker) || marker == 0x00) continue;
    if (size - pos < 2)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated JPEG: segment FF%02X at byte %zu has no "
                      "length",
                      marker, marker_at);
    size_t length = (size_t)bytes[pos] << 8 | bytes[pos + 1];
    if (length < 2)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: segment FF%02X at byte %zu has length "
                      "%zu",
                      marker, marker_at, length);
    if (size - pos < length)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated JPEG: segment FF%02X at byte %zu needs %zu "
                      "bytes, only %zu remain",
                      marker, marker_at, length, size - pos);
    const uint8_t *payload = bytes + pos + 2;
    size_t payload_size = length - 2;
    pos += length;
    if (is_sof(marker) && !have_frame) {
      if (payload_size < 5)
        return mvb_fail(err, MVB_ERR_IMAGE,
                        "corrupt JPEG: frame header at byte %zu is %zu bytes",
                        marker_at, payload_size);
      info->height = (uint32_t)payload[1] << 8 | payload[2];
      info->width = (uint32_t)payload[3] << 8 | payload[4];
      have_frame = 1;
    } else if (marker == 0xC4) {
      mvb_status st =
          check_huffman_tables(payload, payload_size, marker_at, err);
      if (st != MVB_OK) return st;
    } else if (marker == M_APP1) {
      read_exif(payload, payload_size, info, &have_exif);
    } else if (marker == M_SOS) {
      if (!have_frame)
        return mvb_fail(err, MVB_ERR_IMAGE,
                        "corrupt JPEG: scan at byte %zu before any frame "
                        "header",
                        marker_at);
      pos = skip_scan(bytes, size, pos);
    }
  }
  if (!have_frame)
    return mvb_fail(err, MVB_ERR_IMAGE, "corrupt JPEG: no frame header");
  return MVB_OK;
}
