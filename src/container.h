/* container.h: what an encoded image says about itself before any pixel is
 * decoded: its format, its size, its EXIF orientation and whether all of
 * its data is there (internal). Like stb_image's stbi__*_info functions, the
 * JPEG, PNG, BMP and GIF inspectors sit side by side in container.c.
 *
 * stb_image fills the missing part of a truncated JPEG, BMP or GIF with grey
 * or black instead of failing, so completeness is judged here as far as the
 * container shows it: every JPEG segment and PNG chunk must fit in the data
 * and the end marker (JPEG EOI, PNG IEND) must be present; uncompressed BMP
 * rows and the first GIF frame's blocks must all be there.
 *
 * Everything is read through bounds checks and nothing is allocated. What
 * it does not know: whether compressed data decodes, and what to. Whether a
 * JPEG's Huffman codes cover every block is jpeg_scan.h's question; what a
 * PNG's deflate stream inflates to is stb_impl.h's. Both need the numbers
 * gathered here (the JPEG frame, the PNG's expected inflated size).
 */
#ifndef MVB_CONTAINER_H
#define MVB_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mvb.h"

/* Per-side limit for every format; stb_impl.c builds stb_image with the
 * same STBI_MAX_DIMENSIONS, so nothing that passes here is refused by stb
 * for its size alone. */
#define MVB_MAX_SIDE ((uint32_t)1 << 17)

typedef enum mvb_format {
  MVB_FORMAT_UNKNOWN = 0,
  MVB_FORMAT_JPEG,
  MVB_FORMAT_PNG,
  MVB_FORMAT_BMP,
  MVB_FORMAT_GIF,
} mvb_format;

/* From the signature alone. */
mvb_format mvb_format_sniff(const uint8_t *bytes, size_t size);
const char *mvb_format_name(mvb_format format); /* "JPEG", ..., "unknown" */

/* ---- JPEG ------------------------------------------------------------- */

typedef struct mvb_jpeg_component {
  uint8_t id;
  uint8_t h, v;    /* sampling factors, 1..4, each dividing the largest */
  uint32_t x, y;   /* its own size in pixels: ceil(width * h / h_max) */
  uint32_t bw, bh; /* blocks of a scan of this component alone: ceil(x / 8) */
  uint32_t stride; /* blocks per row as stored: mcus_x * h (>= bw) */
  uint32_t rows;   /* block rows as stored: mcus_y * v (>= bh) */
} mvb_jpeg_component;

/* The first frame header (SOF0, SOF1 or SOF2: the Huffman-coded kinds
 * stb_image decodes). */
typedef struct mvb_jpeg_frame {
  uint32_t width, height;
  int progressive; /* SOF2 */
  int n;           /* components: 1, 3 or 4 */
  mvb_jpeg_component comp[4];
  uint32_t mcus_x, mcus_y; /* MCUs of an interleaved scan */
} mvb_jpeg_frame;

/* One scan header (SOS) and the entropy-coded data after it. */
typedef struct mvb_jpeg_scan {
  int index;                        /* 1 for the file's first scan */
  size_t at;                        /* byte offset of its SOS marker */
  int n;                            /* components in the scan, 1..4 */
  int comp[4];                      /* indices into mvb_jpeg_frame.comp */
  uint8_t dc_table[4], ac_table[4]; /* Huffman table ids, 0..3 */
  int ss, se;          /* spectral selection (63 for sequential scans) */
  int ah, al;          /* successive approximation, 0..13 */
  const uint8_t *data; /* entropy-coded bytes up to the marker that ends */
  size_t size;         /* the scan, RSTn markers and stuffing included */
  size_t data_bytes;   /* of which bytes of coded data (FF 00 counts 1) */
} mvb_jpeg_scan;

/* One marker segment, in file order. */
typedef struct mvb_jpeg_segment {
  uint8_t marker;         /* the xx of FF xx; 0xD9 (EOI) ends the file */
  size_t at;              /* byte offset of the marker's FF */
  const uint8_t *payload; /* after the 2-byte length; NULL for EOI */
  size_t payload_size;
  const uint8_t *scan; /* SOS only: the entropy-coded data that follows */
  size_t scan_size, scan_data_bytes;
} mvb_jpeg_segment;

typedef struct mvb_jpeg_reader {
  const uint8_t *bytes;
  size_t size, pos;
} mvb_jpeg_reader;

/* Starts a walk over bytes, which must begin with SOI (FF D8). */
mvb_status mvb_jpeg_begin(mvb_jpeg_reader *r, const uint8_t *bytes, size_t size,
                          mvb_error *err);

/* The next segment; stray bytes and standalone markers between segments
 * are skipped as libjpeg does. Fails ("truncated JPEG ...", naming the byte
 * offset) when a segment does not fit or the data ends before EOI. */
mvb_status mvb_jpeg_next(mvb_jpeg_reader *r, mvb_jpeg_segment *seg,
                         mvb_error *err);

/* Reads an SOS segment against the frame, with stb_image's rules (component
 * ids, table ids, spectral selection and approximation per frame type). */
mvb_status mvb_jpeg_parse_scan(const mvb_jpeg_segment *sos,
                               const mvb_jpeg_frame *frame, int index,
                               mvb_jpeg_scan *scan, mvb_error *err);

/* ---- Any format ------------------------------------------------------- */

typedef struct mvb_container {
  mvb_format format;
  uint32_t width, height;
  int orientation;       /* EXIF, 1..8; 1 for formats without it */
  mvb_jpeg_frame jpeg;   /* JPEG only */
  uint64_t png_inflated; /* PNG only: exactly what its rows take inflated,
                            filter bytes included (0 when too large to
                            count, which the size limit refuses anyway) */
  size_t png_idat_bytes; /* PNG only: compressed bytes in all IDAT chunks */
} mvb_container;

/* Refuses unknown formats (naming the first bytes), truncated and
 * malformed containers with MVB_ERR_IMAGE and a message naming the format,
 * what is wrong and where. Sizes are reported as declared: the caller
 * applies its pixel limit. */
mvb_status mvb_container_inspect(const uint8_t *bytes, size_t size,
                                 mvb_container *out, mvb_error *err);

/* Copies the payloads of all IDAT chunks, in order, into dst, which holds
 * png_idat_bytes from a successful inspection of the same bytes. */
void mvb_png_copy_idat(const uint8_t *bytes, size_t size, uint8_t *dst);

#endif
