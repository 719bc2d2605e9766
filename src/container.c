#include "container.h"

#include <inttypes.h>
#include <string.h>

#include "exif.h"

mvb_format mvb_format_sniff(const uint8_t *b, size_t size) {
  static const uint8_t png_sig[8] = {0x89, 'P',  'N',  'G',
                                     '\r', '\n', 0x1A, '\n'};
  if (!b) return MVB_FORMAT_UNKNOWN;
  if (size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
    return MVB_FORMAT_JPEG;
  if (size >= 8 && memcmp(b, png_sig, 8) == 0) return MVB_FORMAT_PNG;
  if (size >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
    return MVB_FORMAT_GIF;
  if (size >= 2 && b[0] == 'B' && b[1] == 'M') return MVB_FORMAT_BMP;
  return MVB_FORMAT_UNKNOWN;
}

const char *mvb_format_name(mvb_format format) {
  switch (format) {
    case MVB_FORMAT_JPEG: return "JPEG";
    case MVB_FORMAT_PNG: return "PNG";
    case MVB_FORMAT_BMP: return "BMP";
    case MVB_FORMAT_GIF: return "GIF";
    default: return "unknown";
  }
}

static uint32_t be16(const uint8_t *p) {
  return (uint32_t)p[0] << 8 | (uint32_t)p[1];
}
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le16(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

/* ---- JPEG: marker segments -------------------------------------------- */

#define M_SOI 0xD8
#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_DHT 0xC4
#define M_APP1 0xE1
#define M_TEM 0x01

static int is_sof(uint8_t m) {
  /* C0..CF are frame headers except DHT (C4), JPG (C8) and DAC (CC). */
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int is_rst(uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

static int is_standalone(uint8_t m) {
  return m == M_SOI || m == M_TEM || is_rst(m);
}

/* Skips entropy-coded data from pos; returns the offset of the FF of the
 * marker that ends it, or size when the data ends first. Inside a scan,
 * FF 00 is an escaped data byte, FF D0..D7 are restart markers and FF FF is
 * fill. Counts the bytes of coded data in *data_bytes. */
static size_t skip_scan(const uint8_t *bytes, size_t size, size_t pos,
                        size_t *data_bytes) {
  size_t data = 0;
  while (pos < size) {
    const uint8_t *ff = memchr(bytes + pos, 0xFF, size - pos);
    if (!ff) break;
    data += (size_t)(ff - bytes) - pos;
    pos = (size_t)(ff - bytes);
    if (pos + 1 >= size) break;
    uint8_t next = bytes[pos + 1];
    if (next == 0x00) {
      data++;
      pos += 2;
    } else if (is_rst(next)) {
      pos += 2;
    } else if (next == 0xFF) {
      pos += 1;
    } else {
      *data_bytes = data;
      return pos;
    }
  }
  *data_bytes = data;
  return size;
}

mvb_status mvb_jpeg_begin(mvb_jpeg_reader *r, const uint8_t *bytes, size_t size,
                          mvb_error *err) {
  r->bytes = bytes;
  r->size = size;
  r->pos = 2;
  if (!bytes || size < 2 || bytes[0] != 0xFF || bytes[1] != M_SOI)
    return mvb_fail(err, MVB_ERR_IMAGE, "not a JPEG (no SOI marker)");
  return MVB_OK;
}

mvb_status mvb_jpeg_next(mvb_jpeg_reader *r, mvb_jpeg_segment *seg,
                         mvb_error *err) {
  const uint8_t *bytes = r->bytes;
  size_t size = r->size, pos = r->pos;
  memset(seg, 0, sizeof *seg);
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
    if (is_standalone(marker) || marker == 0x00) continue;
    seg->marker = marker;
    seg->at = pos - 2;
    break;
  }
  if (seg->marker == M_EOI) {
    r->pos = pos;
    return MVB_OK;
  }
  if (size - pos < 2)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "truncated JPEG: segment FF%02X at byte %zu has no length",
                    seg->marker, seg->at);
  size_t length = be16(bytes + pos);
  if (length < 2)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: segment FF%02X at byte %zu has length %zu",
                    seg->marker, seg->at, length);
  if (size - pos < length)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "truncated JPEG: segment FF%02X at byte %zu needs %zu "
                    "bytes, only %zu remain",
                    seg->marker, seg->at, length, size - pos);
  seg->payload = bytes + pos + 2;
  seg->payload_size = length - 2;
  pos += length;
  if (seg->marker == M_SOS) {
    size_t end = skip_scan(bytes, size, pos, &seg->scan_data_bytes);
    if (end == size)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated JPEG: data ends at byte %zu inside the scan "
                      "at byte %zu, without an EOI marker",
                      size, seg->at);
    seg->scan = bytes + pos;
    seg->scan_size = end - pos;
    pos = end;
  }
  r->pos = pos;
  return MVB_OK;
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

/* The frame header, with stb_image's rules: 8-bit samples, 1, 3 or 4
 * components, sampling factors 1..4 that divide the largest. */
static mvb_status parse_frame(const mvb_jpeg_segment *sof, mvb_jpeg_frame *f,
                              mvb_error *err) {
  const uint8_t *p = sof->payload;
  if (sof->marker != 0xC0 && sof->marker != 0xC1 && sof->marker != 0xC2)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "unsupported JPEG: frame type SOF%d at byte %zu (only "
                    "baseline and progressive Huffman-coded JPEGs decode)",
                    sof->marker - 0xC0, sof->at);
  if (sof->payload_size < 6)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: frame header at byte %zu is %zu bytes",
                    sof->at, sof->payload_size);
  if (p[0] != 8)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "unsupported JPEG: %d-bit samples (only 8-bit decode)",
                    p[0]);
  memset(f, 0, sizeof *f);
  f->height = be16(p + 1);
  f->width = be16(p + 3);
  f->progressive = sof->marker == 0xC2;
  f->n = p[5];
  if (f->n != 1 && f->n != 3 && f->n != 4)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: frame header at byte %zu declares %d "
                    "components",
                    sof->at, f->n);
  if (sof->payload_size != 6 + 3 * (size_t)f->n)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: frame header at byte %zu is %zu bytes for "
                    "%d components",
                    sof->at, sof->payload_size, f->n);
  uint32_t h_max = 1, v_max = 1;
  for (int i = 0; i < f->n; i++) {
    mvb_jpeg_component *c = &f->comp[i];
    c->id = p[6 + 3 * i];
    c->h = p[7 + 3 * i] >> 4;
    c->v = p[7 + 3 * i] & 15;
    if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 || p[8 + 3 * i] > 3)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: component %d has sampling %dx%d and "
                      "quantization table %d",
                      i + 1, c->h, c->v, p[8 + 3 * i]);
    if (c->h > h_max) h_max = c->h;
    if (c->v > v_max) v_max = c->v;
  }
  f->mcus_x = (f->width + 8 * h_max - 1) / (8 * h_max);
  f->mcus_y = (f->height + 8 * v_max - 1) / (8 * v_max);
  for (int i = 0; i < f->n; i++) {
    mvb_jpeg_component *c = &f->comp[i];
    if (h_max % c->h || v_max % c->v)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: component %d has sampling %dx%d, not a "
                      "divisor of %" PRIu32 "x%" PRIu32,
                      i + 1, c->h, c->v, h_max, v_max);
    c->x = (f->width * c->h + h_max - 1) / h_max;
    c->y = (f->height * c->v + v_max - 1) / v_max;
    c->bw = (c->x + 7) / 8;
    c->bh = (c->y + 7) / 8;
    c->stride = f->mcus_x * c->h;
    c->rows = f->mcus_y * c->v;
  }
  return MVB_OK;
}

mvb_status mvb_jpeg_parse_scan(const mvb_jpeg_segment *sos,
                               const mvb_jpeg_frame *f, int index,
                               mvb_jpeg_scan *s, mvb_error *err) {
  const uint8_t *p = sos->payload;
  memset(s, 0, sizeof *s);
  s->index = index;
  s->at = sos->at;
  s->data = sos->scan;
  s->size = sos->scan_size;
  s->data_bytes = sos->scan_data_bytes;
  s->n = sos->payload_size ? p[0] : 0;
  if (s->n < 1 || s->n > f->n || sos->payload_size != 4 + 2 * (size_t)s->n)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: scan header at byte %zu (%zu bytes) for %d "
                    "of the frame's %d components",
                    sos->at, sos->payload_size, s->n, f->n);
  for (int i = 0; i < s->n; i++) {
    uint8_t id = p[1 + 2 * i], tables = p[2 + 2 * i];
    int c = 0;
    while (c < f->n && f->comp[c].id != id) c++; /* the first match, as stb */
    if (c == f->n)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: scan at byte %zu names component id %d, "
                      "which the frame does not have",
                      sos->at, id);
    s->comp[i] = c;
    s->dc_table[i] = tables >> 4;
    s->ac_table[i] = tables & 15;
    if (s->dc_table[i] > 3 || s->ac_table[i] > 3)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: scan at byte %zu selects Huffman tables "
                      "0x%02x",
                      sos->at, tables);
  }
  const uint8_t *q = p + 1 + 2 * s->n;
  s->ss = q[0];
  s->se = q[1];
  s->ah = q[2] >> 4;
  s->al = q[2] & 15;
  int ok;
  if (f->progressive) /* a DC scan codes DC alone; only DC interleaves */
    ok = s->ss <= s->se && s->se <= 63 && s->ah <= 13 && s->al <= 13 &&
         (s->ss != 0 || s->se == 0) && (s->n == 1 || s->ss == 0);
  else
    ok = s->ss == 0 && s->ah == 0 && s->al == 0;
  if (!ok)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt JPEG: %s scan at byte %zu has coefficients "
                    "%d..%d, approximation %d/%d, %d components",
                    f->progressive ? "progressive" : "sequential", sos->at,
                    s->ss, s->se, s->ah, s->al, s->n);
  if (!f->progressive) s->se = 63; /* as stb: "should be 63, but might be 0" */
  return MVB_OK;
}

static mvb_status jpeg_inspect(const uint8_t *b, size_t size,
                               mvb_container *out, mvb_error *err) {
  mvb_jpeg_reader r;
  mvb_status st = mvb_jpeg_begin(&r, b, size, err);
  mvb_jpeg_frame *f = &out->jpeg;
  int have_frame = 0, have_exif = 0, scans = 0;
  while (st == MVB_OK) {
    mvb_jpeg_segment seg;
    st = mvb_jpeg_next(&r, &seg, err);
    if (st != MVB_OK || seg.marker == M_EOI) break;
    if (is_sof(seg.marker)) {
      if (have_frame) /* stb_image refuses a second frame */
        return mvb_fail(err, MVB_ERR_IMAGE,
                        "corrupt JPEG: second frame header at byte %zu",
                        seg.at);
      st = parse_frame(&seg, f, err);
      out->width = f->width;
      out->height = f->height;
      have_frame = 1;
    } else if (seg.marker == M_DHT) {
      st = check_huffman_tables(seg.payload, seg.payload_size, seg.at, err);
    } else if (seg.marker == M_APP1 && !have_exif) {
      /* only the first EXIF block counts, as in other readers */
      int o = mvb_exif_app1_orientation(seg.payload, seg.payload_size);
      have_exif = o != 0;
      if (o) out->orientation = o;
    } else if (seg.marker == M_SOS) {
      if (!have_frame)
        return mvb_fail(err, MVB_ERR_IMAGE,
                        "corrupt JPEG: scan at byte %zu before any frame "
                        "header",
                        seg.at);
      mvb_jpeg_scan s;
      st = mvb_jpeg_parse_scan(&seg, f, ++scans, &s, err);
    }
  }
  if (st != MVB_OK) return st;
  if (!have_frame)
    return mvb_fail(err, MVB_ERR_IMAGE, "corrupt JPEG: no frame header");
  return MVB_OK;
}

/* ---- PNG ---------------------------------------------------------------- */

/* Bytes one pass of rows takes inflated: a filter byte per row, then the
 * packed samples, rows rounded up to whole bytes. */
static uint64_t png_rows(uint64_t w, uint64_t h, uint64_t bits_per_pixel) {
  return w && h ? h * (1 + (w * bits_per_pixel + 7) / 8) : 0;
}

/* What the rows of an IHDR take inflated; interlaced images are seven
 * passes of sub-images (Adam7). */
static uint64_t png_inflated_size(uint32_t w, uint32_t h, int depth, int color,
                                  int interlaced) {
  static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
  if (w > MVB_MAX_SIDE || h > MVB_MAX_SIDE) return 0;
  uint64_t bpp = (uint64_t)depth * (uint64_t)channels[color];
  if (!interlaced) return png_rows(w, h, bpp);
  static const uint8_t pass[7][4] = {/* x0, y0, dx, dy */
                                     {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                     {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2},
                                     {0, 1, 1, 2}};
  uint64_t total = 0;
  for (int p = 0; p < 7; p++) {
    uint64_t pw =
        w > pass[p][0] ? (w - pass[p][0] + pass[p][2] - 1) / pass[p][2] : 0;
    uint64_t ph =
        h > pass[p][1] ? (h - pass[p][1] + pass[p][3] - 1) / pass[p][3] : 0;
    total += png_rows(pw, ph, bpp);
  }
  return total;
}

/* The header fields stb_image accepts: depths 1..16 by powers of two,
 * colour types 0 (grey), 2 (RGB), 3 (palette, not 16-bit), 4 (grey and
 * alpha) and 6 (RGBA), compression and filter method 0, interlace 0 or 1. */
static mvb_status png_header(const uint8_t *ihdr, mvb_container *out,
                             mvb_error *err) {
  out->width = be32(ihdr);
  out->height = be32(ihdr + 4);
  int depth = ihdr[8], color = ihdr[9], interlace = ihdr[12];
  int depth_ok =
      depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
  int color_ok =
      color == 0 || color == 2 || color == 3 || color == 4 || color == 6;
  if (!depth_ok || !color_ok || (color == 3 && depth == 16) || ihdr[10] ||
      ihdr[11] || interlace > 1)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt PNG: header has bit depth %d, colour type %d, "
                    "compression %d, filter %d, interlace %d",
                    depth, color, ihdr[10], ihdr[11], interlace);
  out->png_inflated =
      png_inflated_size(out->width, out->height, depth, color, interlace);
  return MVB_OK;
}

/* Walks chunks (length, type, data, CRC) from IHDR up to a complete IEND,
 * adding up the IDAT payloads (and copying them to idat when given). */
static mvb_status png_walk(const uint8_t *b, size_t size, mvb_container *out,
                           uint8_t *idat, mvb_error *err) {
  size_t pos = 8;
  for (int first = 1;; first = 0) {
    if (size - pos < 8)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated PNG: data ends at byte %zu before the IEND "
                      "chunk",
                      size);
    uint32_t length = be32(b + pos);
    const uint8_t *type = b + pos + 4;
    if (length > 0x7FFFFFFFu)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt PNG: chunk at byte %zu claims %" PRIu32 " bytes",
                      pos, length);
    if (size - pos - 8 < (size_t)length + 4)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated PNG: chunk '%.4s' at byte %zu needs %zu "
                      "bytes, only %zu remain",
                      (const char *)type, pos, (size_t)length + 12, size - pos);
    const uint8_t *data = b + pos + 8;
    if (first) {
      if (memcmp(type, "IHDR", 4) != 0 || length != 13)
        return mvb_fail(err, MVB_ERR_IMAGE,
                        "corrupt PNG: first chunk is not a 13-byte IHDR");
      mvb_status st = png_header(data, out, err);
      if (st != MVB_OK) return st;
    }
    if (memcmp(type, "IDAT", 4) == 0) {
      if (idat) memcpy(idat + out->png_idat_bytes, data, length);
      out->png_idat_bytes += length;
    }
    if (memcmp(type, "IEND", 4) == 0) break;
    pos += (size_t)length + 12;
  }
  if (out->png_idat_bytes == 0)
    return mvb_fail(err, MVB_ERR_IMAGE, "corrupt PNG: no image data (IDAT)");
  return MVB_OK;
}

void mvb_png_copy_idat(const uint8_t *bytes, size_t size, uint8_t *dst) {
  mvb_container again = {0};
  png_walk(bytes, size, &again, dst, NULL);
}

/* ---- BMP ---------------------------------------------------------------- */

/* The header's size, its compression (none or bit fields: what stb_image
 * decodes) and whether all rows of pixel data are present. */
static mvb_status bmp_inspect(const uint8_t *b, size_t size, mvb_container *h,
                              mvb_error *err) {
  if (size < 26)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "truncated BMP: %zu bytes, shorter than its header", size);
  uint32_t data_offset = le32(b + 10), header_size = le32(b + 14);
  uint32_t bpp, compression;
  int64_t width, height;
  if (header_size == 12) { /* OS/2 BITMAPCOREHEADER */
    width = le16(b + 18);
    height = le16(b + 20);
    bpp = le16(b + 24);
    compression = 0;
  } else {
    if (header_size < 40 || size < 34)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt BMP: info header of %" PRIu32 " bytes in %zu",
                      header_size, size);
    width = (int32_t)le32(b + 18);
    height = (int32_t)le32(b + 22);
    bpp = le16(b + 28);
    compression = le32(b + 30);
  }
  if (height < 0) height = -height; /* top-down rows */
  if (width <= 0 || height == 0 || width > UINT32_MAX || height > UINT32_MAX)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "corrupt BMP: size %" PRId64 " x %" PRId64, width, height);
  h->width = (uint32_t)width;
  h->height = (uint32_t)height;
  /* 0 = none, 3 = bit fields. stb_image refuses RLE (1, 2) but reads any
   * other value as uncompressed, so a garbage value would skip the size
   * check below and get rows of zeros. */
  if (compression != 0 && compression != 3)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "unsupported BMP: compression %" PRIu32
                    " (only uncompressed and bit-field BMPs are read)",
                    compression);
  if (bpp <= 32 && h->width <= MVB_MAX_SIDE && h->height <= MVB_MAX_SIDE) {
    uint64_t stride = ((uint64_t)h->width * bpp + 31) / 32 * 4;
    uint64_t need = data_offset + stride * h->height;
    if (need > size)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "truncated BMP: pixel data needs %" PRIu64
                      " bytes, only %zu present",
                      need, size);
  }
  return MVB_OK;
}

/* ---- GIF ---------------------------------------------------------------- */

/* Walks blocks up to the end of the first image's data (the only frame
 * decoded). Returns the offset after it, or 0 if the data ends first. */
static size_t gif_skip_subblocks(const uint8_t *b, size_t size, size_t pos) {
  while (pos < size) {
    size_t n = b[pos++];
    if (n == 0) return pos;
    if (size - pos < n) return 0;
    pos += n;
  }
  return 0;
}

static mvb_status gif_inspect(const uint8_t *b, size_t size, mvb_container *h,
                              mvb_error *err) {
  if (size < 13)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "truncated GIF: %zu bytes, shorter than its header", size);
  h->width = le16(b + 6); /* stb renders frames on the logical screen */
  h->height = le16(b + 8);
  size_t pos = 13;
  if (b[10] & 0x80) pos += (size_t)3 << ((b[10] & 7) + 1);
  while (pos < size) {
    size_t block_at = pos;
    uint8_t kind = b[pos++];
    if (kind == 0x21) { /* extension: label, then sub-blocks */
      pos = pos < size ? gif_skip_subblocks(b, size, pos + 1) : 0;
    } else if (kind == 0x2C) { /* image descriptor */
      if (size - pos < 10) break;
      uint8_t flags = b[pos + 8];
      pos += 9;
      if (flags & 0x80) pos += (size_t)3 << ((flags & 7) + 1);
      /* LZW minimum code size, then the data sub-blocks */
      pos = pos < size ? gif_skip_subblocks(b, size, pos + 1) : 0;
      if (pos) return MVB_OK;
    } else {
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt GIF: %s at byte %zu before the first image",
                      kind == 0x3B ? "trailer" : "unknown block", block_at);
    }
    if (!pos) break;
  }
  return mvb_fail(err, MVB_ERR_IMAGE,
                  "truncated GIF: data ends at byte %zu inside the first "
                  "image",
                  size);
}

/* ---- Any format --------------------------------------------------------- */

mvb_status mvb_container_inspect(const uint8_t *bytes, size_t size,
                                 mvb_container *out, mvb_error *err) {
  memset(out, 0, sizeof *out);
  out->orientation = 1;
  out->format = mvb_format_sniff(bytes, size);
  switch (out->format) {
    case MVB_FORMAT_JPEG: return jpeg_inspect(bytes, size, out, err);
    case MVB_FORMAT_PNG: return png_walk(bytes, size, out, NULL, err);
    case MVB_FORMAT_BMP: return bmp_inspect(bytes, size, out, err);
    case MVB_FORMAT_GIF: return gif_inspect(bytes, size, out, err);
    default:
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "not a JPEG, PNG, BMP or GIF image (%zu bytes starting "
                      "%02x %02x %02x %02x)",
                      size, size > 0 ? bytes[0] : 0, size > 1 ? bytes[1] : 0,
                      size > 2 ? bytes[2] : 0, size > 3 ? bytes[3] : 0);
  }
}
