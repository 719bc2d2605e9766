/* test_image.c: decoding, bad input, EXIF orientation, resize and
 * normalization (src/image.c, container.c, jpeg_scan.c, exif.c and the
 * zlib counter in stb_impl.c). Every image is made here, with
 * stb_image_write or by hand, so the test needs no files; one case also
 * decodes a sample of ../shared/data when it is there.
 *
 *   test_image                        run the tests ("ok - name" lines)
 *   test_image --dump IN H W OUT.f32  decode IN, resize to H x W with mean 0
 *                                     and std 1, write float32 (used by
 *                                     tests/python/test_preprocess_...py)
 *   test_image --bench                time a 12 MP -> 128 x 128 resize
 */
#include "test_util.h" /* first: it asks for POSIX */

#include <dirent.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "exif.h"
#include "image.h"

/* stb_image's own entry point, to show that what the library refuses is
 * what stb_image alone would have turned into pixels. */
#define STBI_NO_STDIO
#include <stb/stb_image.h>

/* stb_image_write makes the PNG and BMP test images. Its JPEG writer is not
 * used: its bit writer shifts into an int's sign bit, which the CI's UBSan
 * build aborts on, so JPEGs are written by hand below. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* ---- Byte buffers and encoders ------------------------------------------ */

typedef struct bytes {
  uint8_t *data;
  size_t size, cap;
} bytes;

static void bytes_put(bytes *b, const void *data, size_t n) {
  if (b->size + n > b->cap) {
    size_t cap = (b->size + n) * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
      fprintf(stderr, "out of memory in test\n");
      exit(2);
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->size, data, n);
  b->size += n;
}

static void bytes_u8(bytes *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  bytes_put(b, &x, 1);
}
static void bytes_be16(bytes *b, unsigned v) {
  bytes_u8(b, v >> 8);
  bytes_u8(b, v);
}
static void bytes_be32(bytes *b, uint32_t v) {
  bytes_be16(b, v >> 16);
  bytes_be16(b, v & 0xFFFF);
}
static void bytes_le16(bytes *b, unsigned v) {
  bytes_u8(b, v);
  bytes_u8(b, v >> 8);
}

static void bytes_free(bytes *b) {
  free(b->data);
  b->data = NULL;
  b->size = b->cap = 0;
}

/* The whole file at path, appended to out; false if it cannot be opened. */
static bool read_whole_file(const char *path, bytes *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  uint8_t chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) bytes_put(out, chunk, n);
  fclose(f);
  return true;
}

static void write_cb(void *ctx, void *data, int size) {
  bytes_put(ctx, data, (size_t)size);
}

/* PNGs written by hand, for what stb_image_write cannot make: 16-bit
 * samples, interlacing, headers with absurd sizes, and image data that
 * inflates to more or less than the rows need. */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return ~c;
}

static void png_chunk(bytes *b, const char *type, const uint8_t *data,
                      size_t n) {
  bytes body = {0};
  bytes_put(&body, type, 4);
  if (n) bytes_put(&body, data, n);
  bytes_be32(b, (uint32_t)n);
  bytes_put(b, body.data, body.size);
  bytes_be32(b, crc32_of(body.data, body.size));
  bytes_free(&body);
}

/* The PNG around a zlib stream (one IDAT). */
static bytes png_with_zlib(uint32_t w, uint32_t h, int depth, int color,
                           int interlace, const bytes *z) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  bytes b = {0}, ihdr = {0};
  bytes_put(&b, sig, 8);
  bytes_be32(&ihdr, w);
  bytes_be32(&ihdr, h);
  uint8_t rest[5] = {(uint8_t)depth, (uint8_t)color, 0, 0, (uint8_t)interlace};
  bytes_put(&ihdr, rest, 5);
  png_chunk(&b, "IHDR", ihdr.data, ihdr.size);
  png_chunk(&b, "IDAT", z->data, z->size);
  png_chunk(&b, "IEND", NULL, 0);
  bytes_free(&ihdr);
  return b;
}

/* A zlib stream of stored blocks of at most 65535 bytes. */
static bytes zlib_stored(const uint8_t *data, size_t n) {
  bytes z = {0};
  bytes_u8(&z, 0x78);
  bytes_u8(&z, 0x01);
  uint32_t a = 1, s2 = 0;
  size_t done = 0;
  do {
    size_t len = n - done > 65535 ? 65535 : n - done;
    bytes_u8(&z, done + len == n ? 1 : 0);
    bytes_le16(&z, (unsigned)len);
    bytes_le16(&z, (unsigned)(~len & 0xFFFF));
    if (len) bytes_put(&z, data + done, len);
    done += len;
  } while (done < n);
  for (size_t i = 0; i < n; i++) {
    a = (a + data[i]) % 65521;
    s2 = (s2 + a) % 65521;
  }
  bytes_be32(&z, s2 << 16 | a);
  return z;
}

/* Deflate packs bits from the least significant end, Huffman codes from
 * their first bit. */
typedef struct lsb_writer {
  bytes *out;
  uint32_t acc;
  int count;
} lsb_writer;

static void put_lsb(lsb_writer *w, uint32_t value, int n) {
  for (int i = 0; i < n; i++) {
    w->acc |= (value >> i & 1) << w->count;
    if (++w->count == 8) {
      bytes_u8(w->out, w->acc);
      w->acc = 0;
      w->count = 0;
    }
  }
}

static void put_code(lsb_writer *w, uint32_t code, int n) {
  for (int i = n - 1; i >= 0; i--) put_lsb(w, code >> i & 1, 1);
}

/* A zlib stream of n >= 1 zero bytes in one fixed-Huffman block: a literal
 * 0, then copies of 258 bytes from 1 back (13 bits each, so 1 MiB of
 * zeros takes about 6.6 KB), the rest as literals. */
static bytes zlib_zeros(uint64_t n) {
  bytes z = {0};
  bytes_u8(&z, 0x78);
  bytes_u8(&z, 0x01);
  lsb_writer w = {&z, 0, 0};
  put_lsb(&w, 1, 1);     /* final block */
  put_lsb(&w, 1, 2);     /* fixed Huffman codes */
  put_code(&w, 0x30, 8); /* literal 0 */
  uint64_t left = n - 1;
  for (; left >= 258; left -= 258) {
    put_code(&w, 0xC5, 8); /* length 258 (symbol 285) */
    put_code(&w, 0, 5);    /* distance 1 */
  }
  for (; left; left--) put_code(&w, 0x30, 8);
  put_code(&w, 0, 7); /* end of block */
  if (w.count) put_lsb(&w, 0, 8 - w.count);
  bytes_be32(&z, (uint32_t)(n % 65521) << 16 | 1); /* Adler-32 of zeros */
  return z;
}

static bytes png_by_hand(uint32_t w, uint32_t h, int depth, int color,
                         const uint8_t *scanlines, size_t n) {
  bytes z = zlib_stored(scanlines, n);
  bytes b = png_with_zlib(w, h, depth, color, 0, &z);
  bytes_free(&z);
  return b;
}

/* A GIF written by hand: a clear code before every pixel keeps the LZW
 * table empty and the code size fixed at 3 bits (4-colour palette). */
static bytes gif_by_hand(int w, int h, const uint8_t palette[12],
                         const uint8_t *indices) {
  bytes b = {0}, lzw = {0};
  bytes_put(&b, "GIF89a", 6);
  bytes_le16(&b, (unsigned)w);
  bytes_le16(&b, (unsigned)h);
  uint8_t screen[3] = {0x81, 0, 0}; /* global table of 2^(1+1) colours */
  bytes_put(&b, screen, 3);
  bytes_put(&b, palette, 12);
  bytes_u8(&b, 0x2C);
  bytes_le16(&b, 0);
  bytes_le16(&b, 0);
  bytes_le16(&b, (unsigned)w);
  bytes_le16(&b, (unsigned)h);
  bytes_u8(&b, 0);
  bytes_u8(&b, 2); /* LZW minimum code size */
  uint32_t acc = 0;
  int bits = 0;
  for (int i = 0; i <= w * h; i++) {
    unsigned codes[2] = {4, i < w * h ? indices[i] : 5}; /* clear, pixel/EOI */
    for (int k = 0; k < 2; k++) {
      acc |= codes[k] << bits;
      bits += 3;
      while (bits >= 8) {
        bytes_u8(&lzw, acc & 0xFF);
        acc >>= 8;
        bits -= 8;
      }
    }
  }
  if (bits) bytes_u8(&lzw, acc);
  for (size_t done = 0; done < lzw.size;) {
    size_t n = lzw.size - done > 255 ? 255 : lzw.size - done;
    bytes_u8(&b, (unsigned)n);
    bytes_put(&b, lzw.data + done, n);
    done += n;
  }
  bytes_u8(&b, 0);
  bytes_u8(&b, 0x3B);
  bytes_free(&lzw);
  return b;
}

/* JPEGs written by hand: three components without subsampling, every 8 x 8
 * block flat (the colour of its top-left pixel) and coded by its DC
 * coefficient alone with a quantizer of 1, so a decoder must give the
 * colours back to within YCbCr rounding. w and h are multiples of 8. The
 * Huffman tables are complete (every bit string decodes), so that stb_image
 * decodes any scan data, even random bytes, without complaint: only the
 * library's own checks can tell what is missing. Where each scan's data
 * starts and ends is recorded in spans (when given). */
typedef struct bit_writer {
  bytes *out;
  uint32_t acc;
  int count;
} bit_writer;

static void put_bits(bit_writer *w, uint32_t value, int n) {
  for (int i = n - 1; i >= 0; i--) {
    w->acc = (w->acc << 1 | (value >> i & 1)) & 0xFF;
    if (++w->count < 8) continue;
    bytes_u8(w->out, w->acc);
    if (w->acc == 0xFF) bytes_u8(w->out, 0); /* byte stuffing */
    w->acc = 0;
    w->count = 0;
  }
}

static void pad_bits(bit_writer *w) {
  if (w->count) put_bits(w, 0x7F, 8 - w->count); /* pad with ones */
}

typedef struct span {
  size_t start, end; /* a scan's entropy-coded data */
} span;

typedef struct spans {
  span s[16];
  int n;
} spans;

static void span_open(spans *sp, const bytes *b) {
  if (sp && sp->n < 16) sp->s[sp->n].start = b->size;
}
static void span_close(spans *sp, const bytes *b) {
  if (sp && sp->n < 16) sp->s[sp->n++].end = b->size;
}

/* SOI, a quantization table of ones and the frame header. */
static void jpeg_frame(bytes *b, unsigned sof, int w, int h) {
  bytes_be16(b, 0xFFD8);
  bytes_be16(b, 0xFFDB);
  bytes_be16(b, 67);
  bytes_u8(b, 0);
  for (int i = 0; i < 64; i++) bytes_u8(b, 1);
  bytes_be16(b, sof);
  bytes_be16(b, 17);
  bytes_u8(b, 8);
  bytes_be16(b, (unsigned)h);
  bytes_be16(b, (unsigned)w);
  bytes_u8(b, 3);
  for (unsigned c = 1; c <= 3; c++) {
    bytes_u8(b, c);
    bytes_u8(b, 0x11);
    bytes_u8(b, 0);
  }
}

/* One Huffman table whose n symbols all have codes of length len; symbol i
 * gets code i. */
static void jpeg_table(bytes *b, unsigned class_id, const uint8_t *symbols,
                       int n, int len) {
  bytes_be16(b, 0xFFC4);
  bytes_be16(b, (unsigned)(2 + 17 + n));
  bytes_u8(b, class_id);
  for (int l = 1; l <= 16; l++) bytes_u8(b, l == len ? (unsigned)n : 0);
  bytes_put(b, symbols, (size_t)n);
}

/* DC: categories 0..15, 4-bit codes (the category is its own code). */
static void jpeg_dc_table(bytes *b) {
  uint8_t categories[16];
  for (int i = 0; i < 16; i++) categories[i] = (uint8_t)i;
  jpeg_table(b, 0x00, categories, 16, 4);
}

static void jpeg_scan_header(bytes *b, int n, unsigned first, int ss, int se,
                             int ah_al) {
  bytes_be16(b, 0xFFDA);
  bytes_be16(b, (unsigned)(6 + 2 * n));
  bytes_u8(b, (unsigned)n);
  for (int c = 0; c < n; c++) {
    bytes_u8(b, first + (unsigned)c);
    bytes_u8(b, 0x00);
  }
  bytes_u8(b, (unsigned)ss);
  bytes_u8(b, (unsigned)se);
  bytes_u8(b, (unsigned)ah_al);
}

/* The DC coefficient of each component of block (bx, by): 8 * (level -
 * 128), the block being flat. */
static void block_dc(const uint8_t *rgb, int w, int bx, int by, int dc[3]) {
  const uint8_t *p = rgb + ((size_t)by * 8 * (size_t)w + (size_t)bx * 8) * 3;
  double ycc[3] = {0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2],
                   -0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2] + 128,
                   0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2] + 128};
  for (int c = 0; c < 3; c++) {
    double v = ycc[c] < 0 ? 0 : ycc[c] > 255 ? 255 : ycc[c];
    dc[c] = (int)lround(8 * (v - 128));
  }
}

static void put_dc_difference(bit_writer *bw, int diff) {
  int cat = 0;
  for (int a = abs(diff); a; a >>= 1) cat++;
  put_bits(bw, (uint32_t)cat, 4);
  if (cat)
    put_bits(bw, (uint32_t)(diff >= 0 ? diff : diff + (1 << cat) - 1), cat);
}

/* Baseline; with a restart marker after every interval MCUs when interval
 * is not 0. */
static bytes jpeg_restarts_by_hand(int w, int h, const uint8_t *rgb,
                                   int interval, spans *sp) {
  static const uint8_t ac[2] = {0x00, 0x01}; /* end of block: code 0 */
  bytes b = {0};
  jpeg_frame(&b, 0xFFC0, w, h);
  jpeg_dc_table(&b);
  jpeg_table(&b, 0x10, ac, 2, 1);
  if (interval) {
    bytes_be16(&b, 0xFFDD);
    bytes_be16(&b, 4);
    bytes_be16(&b, (unsigned)interval);
  }
  jpeg_scan_header(&b, 3, 1, 0, 63, 0);
  span_open(sp, &b);
  bit_writer bw = {&b, 0, 0};
  int pred[3] = {0, 0, 0}, mcus = (w / 8) * (h / 8), restarts = 0;
  for (int m = 0; m < mcus; m++) {
    int dc[3];
    block_dc(rgb, w, m % (w / 8), m / (w / 8), dc);
    for (int c = 0; c < 3; c++) {
      put_dc_difference(&bw, dc[c] - pred[c]);
      pred[c] = dc[c];
      put_bits(&bw, 0, 1); /* end of block */
    }
    if (interval && (m + 1) % interval == 0 && m + 1 < mcus) {
      pad_bits(&bw);
      bytes_be16(&b, 0xFFD0 + (unsigned)(restarts++ % 8));
      pred[0] = pred[1] = pred[2] = 0;
    }
  }
  pad_bits(&bw);
  span_close(sp, &b);
  bytes_be16(&b, 0xFFD9);
  return b;
}

static bytes jpeg_by_hand(int w, int h, const uint8_t *rgb) {
  return jpeg_restarts_by_hand(w, h, rgb, 0, NULL);
}

/* Blocks in end-of-band runs (AC scans of a progressive JPEG whose AC
 * coefficients are all zero): symbol r * 16 (code r) covers 2^r + the next
 * r bits blocks. */
static void put_eob_runs(bit_writer *bw, int blocks) {
  while (blocks > 0) {
    int m = blocks > 32767 ? 32767 : blocks, r = 0;
    while (m >> (r + 1)) r++;
    put_bits(bw, (uint32_t)r, 4);
    if (r) put_bits(bw, (uint32_t)(m - (1 << r)), r);
    blocks -= m;
  }
}

/* Progressive, as libjpeg's usual order in miniature: the DC coefficients
 * less their lowest bit (interleaved), that bit (interleaved), then each
 * component's AC band 1..63 and its refinement, both one end-of-band run. */
static bytes jpeg_progressive_by_hand(int w, int h, const uint8_t *rgb,
                                      spans *sp) {
  uint8_t runs[15];
  for (int r = 0; r < 15; r++) runs[r] = (uint8_t)(r << 4);
  bytes b = {0};
  jpeg_frame(&b, 0xFFC2, w, h);
  jpeg_dc_table(&b);
  jpeg_table(&b, 0x10, runs, 15, 4);
  int blocks = (w / 8) * (h / 8);
  for (int pass = 0; pass < 2; pass++) { /* DC: high bits, then the last */
    jpeg_scan_header(&b, 3, 1, 0, 0, pass ? 0x10 : 0x01);
    span_open(sp, &b);
    bit_writer bw = {&b, 0, 0};
    int pred[3] = {0, 0, 0};
    for (int m = 0; m < blocks; m++) {
      int dc[3];
      block_dc(rgb, w, m % (w / 8), m / (w / 8), dc);
      for (int c = 0; c < 3; c++) {
        int high = dc[c] >= 0 ? dc[c] / 2 : -((1 - dc[c]) / 2); /* floor */
        if (pass) {
          put_bits(&bw, (uint32_t)(dc[c] - 2 * high), 1);
        } else {
          put_dc_difference(&bw, high - pred[c]);
          pred[c] = high;
        }
      }
    }
    pad_bits(&bw);
    span_close(sp, &b);
  }
  for (int pass = 0; pass < 2; pass++) /* AC: first, then refinement */
    for (unsigned c = 1; c <= 3; c++) {
      jpeg_scan_header(&b, 1, c, 1, 63, pass ? 0x10 : 0x00);
      span_open(sp, &b);
      bit_writer bw = {&b, 0, 0};
      put_eob_runs(&bw, blocks);
      pad_bits(&bw);
      span_close(sp, &b);
    }
  bytes_be16(&b, 0xFFD9);
  return b;
}

static bytes encode(char kind, int w, int h, int comp, const uint8_t *px) {
  bytes b = {0};
  if (kind == 'j') return jpeg_by_hand(w, h, px); /* comp must be 3 */
  if (kind == 'p')
    stbi_write_png_to_func(write_cb, &b, w, h, comp, px, w * comp);
  else
    stbi_write_bmp_to_func(write_cb, &b, w, h, comp, px);
  return b;
}

/* An exact-size heap copy, so AddressSanitizer sees any read past the end. */
static uint8_t *exact_copy(const uint8_t *p, size_t n) {
  uint8_t *c = calloc(n ? n : 1, 1);
  if (!c) exit(2);
  if (n) memcpy(c, p, n);
  return c;
}

static mvb_status decode(const uint8_t *p, size_t n, uint64_t max_pixels,
                         mvb_image *out, mvb_error *err) {
  uint8_t *copy = exact_copy(p, n);
  mvb_status st = mvb_image_decode(copy, n, max_pixels, out, err);
  free(copy);
  return st;
}

static unsigned lcg(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 16;
}

/* A photo-like test card: smooth gradients plus some texture. */
static uint8_t *test_card(int w, int h, int comp) {
  uint8_t *px = malloc((size_t)w * (size_t)h * (size_t)comp);
  if (!px) exit(2);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < comp; c++)
        px[((size_t)y * (size_t)w + (size_t)x) * (size_t)comp + (size_t)c] =
            (uint8_t)((x * 255 / (w > 1 ? w - 1 : 1) * (c + 1) +
                       y * 255 / (h > 1 ? h - 1 : 1) * (3 - c) +
                       ((x * 7 + y * 13) % 17)) /
                      4);
  return px;
}

/* A hand-written JPEG of body_w x body_h whose frame header claims w x h. */
static bytes jpeg_claiming(int body_w, int body_h, unsigned w, unsigned h) {
  uint8_t *px = test_card(body_w, body_h, 3);
  bytes jpg = jpeg_by_hand(body_w, body_h, px);
  free(px);
  for (size_t i = 2; i + 9 < jpg.size; i++)
    if (jpg.data[i] == 0xFF && jpg.data[i + 1] == 0xC0) { /* SOF0 */
      jpg.data[i + 5] = (uint8_t)(h >> 8);
      jpg.data[i + 6] = (uint8_t)h;
      jpg.data[i + 7] = (uint8_t)(w >> 8);
      jpg.data[i + 8] = (uint8_t)w;
      break;
    }
  return jpg;
}

/* ---- Decoding ----------------------------------------------------------- */

static void png_rgb_decodes_exactly(void) {
  int w = 37, h = 23;
  uint8_t *px = test_card(w, h, 3);
  bytes png = encode('p', w, h, 3, px);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st =
      decode(png.data, png.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(st == MVB_OK, "status %d: %s", st, err.message);
  if (st == MVB_OK) {
    EXPECT(img.width == w && img.height == h, "size %d x %d", img.width,
           img.height);
    EXPECT(memcmp(img.rgb, px, (size_t)w * h * 3) == 0, "pixels differ");
  }
  mvb_image_free(&img);
  bytes_free(&png);
  free(px);
}

static void png_grey_and_alpha_become_rgb(void) {
  int w = 5, h = 4;
  for (int comp = 1; comp <= 4; comp++) {
    if (comp == 3) continue;
    uint8_t *px = test_card(w, h, comp);
    bytes png = encode('p', w, h, comp, px);
    mvb_image img;
    mvb_error err = {{0}};
    mvb_status st = decode(png.data, png.size, 1000, &img, &err);
    EXPECT(st == MVB_OK, "%d channels: %s", comp, err.message);
    for (int i = 0; st == MVB_OK && i < w * h; i++) {
      const uint8_t *src = px + i * comp;
      uint8_t want[3] = {src[0], comp >= 3 ? src[1] : src[0],
                         comp >= 3 ? src[2] : src[0]};
      EXPECT(memcmp(img.rgb + i * 3, want, 3) == 0,
             "%d channels, pixel %d: got %d %d %d want %d %d %d", comp, i,
             img.rgb[i * 3], img.rgb[i * 3 + 1], img.rgb[i * 3 + 2], want[0],
             want[1], want[2]);
    }
    mvb_image_free(&img);
    bytes_free(&png);
    free(px);
  }
}

static void png_16_bit_becomes_8_bit(void) {
  /* 2 x 1 RGB, 16 bits per sample: each row is a filter byte + 12 bytes. */
  const uint8_t rows[13] = {0,    0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF,
                            0x00, 0x01, 0x80, 0x00, 0x7F, 0xFF};
  bytes png = png_by_hand(2, 1, 16, 2, rows, sizeof rows);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(png.data, png.size, 100, &img, &err);
  EXPECT(st == MVB_OK, "status %d: %s", st, err.message);
  const uint8_t want[6] = {0x12, 0xAB, 0xFF, 0x00, 0x80, 0x7F};
  if (st == MVB_OK)
    EXPECT(img.width == 2 && img.height == 1 && memcmp(img.rgb, want, 6) == 0,
           "got %d x %d: %d %d %d %d %d %d", img.width, img.height, img.rgb[0],
           img.rgb[1], img.rgb[2], img.rgb[3], img.rgb[4], img.rgb[5]);
  mvb_image_free(&img);
  bytes_free(&png);
}

static void bmp_decodes_exactly(void) {
  int w = 13, h = 7;
  uint8_t *px = test_card(w, h, 3);
  bytes bmp = encode('b', w, h, 3, px);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(bmp.data, bmp.size, 1000, &img, &err);
  EXPECT(st == MVB_OK, "status %d: %s", st, err.message);
  if (st == MVB_OK)
    EXPECT(img.width == w && img.height == h &&
               memcmp(img.rgb, px, (size_t)w * h * 3) == 0,
           "size %d x %d or pixels differ", img.width, img.height);
  mvb_image_free(&img);
  bytes_free(&bmp);
  free(px);
}

static const uint8_t gif_palette[12] = {255, 0, 0,   0,   255, 0,
                                        0,   0, 255, 250, 250, 250};
static const uint8_t gif_indices[12] = {0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 2, 2};

static void gif_first_frame_decodes(void) {
  bytes gif = gif_by_hand(4, 3, gif_palette, gif_indices);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(gif.data, gif.size, 100, &img, &err);
  EXPECT(st == MVB_OK, "status %d: %s", st, err.message);
  for (int i = 0; st == MVB_OK && i < 12; i++)
    EXPECT(
        img.width == 4 && img.height == 3 &&
            memcmp(img.rgb + i * 3, gif_palette + gif_indices[i] * 3, 3) == 0,
        "pixel %d: %d %d %d", i, img.rgb[i * 3], img.rgb[i * 3 + 1],
        img.rgb[i * 3 + 2]);
  mvb_image_free(&img);
  bytes_free(&gif);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n,
                            int *max) {
  double sum = 0;
  *max = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)a[i] - (int)b[i]);
    sum += d;
    if (d > *max) *max = d;
  }
  return sum / (double)n;
}

static void jpeg_decodes_approximately(void) {
  int w = 96, h = 64;
  uint8_t *px = test_card(w, h, 3);
  for (int y = 0; y < h; y++) /* flat 8 x 8 blocks, as jpeg_by_hand codes */
    for (int x = 0; x < w; x++)
      memcpy(px + (y * w + x) * 3, px + ((y & ~7) * w + (x & ~7)) * 3, 3);
  bytes jpg = jpeg_by_hand(w, h, px);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(jpg.data, jpg.size, 10000, &img, &err);
  EXPECT(st == MVB_OK, "status %d: %s", st, err.message);
  if (st == MVB_OK) {
    EXPECT(img.width == w && img.height == h, "size %d x %d", img.width,
           img.height);
    int max;
    double mad = mean_abs_diff(img.rgb, px, (size_t)w * h * 3, &max);
    EXPECT(mad < 1.0 && max <= 3, "mean abs diff %.2f, max %d", mad, max);
  }
  mvb_image_free(&img);
  bytes_free(&jpg);
  free(px);
}

/* ---- Bad input ---------------------------------------------------------- */

static void expect_refused(const uint8_t *p, size_t n, mvb_status want,
                           const char *needle, const char *what) {
  mvb_image img = {1, 1, (uint8_t *)"x"};
  mvb_error err = {{0}};
  mvb_status st = decode(p, n, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(st == want, "%s (%zu bytes): status %d, want %d: %s", what, n, st,
         want, err.message);
  EXPECT(!needle || strstr(err.message, needle),
         "%s (%zu bytes): message \"%s\" lacks \"%s\"", what, n, err.message,
         needle);
  EXPECT(img.rgb == NULL && img.width == 0 && img.height == 0,
         "%s: output not left empty", what);
  mvb_image_free(&img);
}

static void zero_bytes_refused(void) {
  uint8_t one = 0;
  expect_refused(&one, 0, MVB_ERR_IMAGE, "empty image (0 bytes)", "empty");
}

static void non_image_bytes_refused(void) {
  unsigned seed = 12345;
  uint8_t junk[4096];
  for (size_t n = 1; n <= sizeof junk; n = n * 3 + 1) {
    for (size_t i = 0; i < n; i++) junk[i] = (uint8_t)lcg(&seed);
    junk[0] = 0x00; /* no format starts with a zero byte */
    expect_refused(junk, n, MVB_ERR_IMAGE, "not a JPEG, PNG, BMP or GIF",
                   "random bytes");
  }
  mvb_image img;
  mvb_error err = {{0}};
  const char *text = "hello, this is plainly text and no image";
  decode((const uint8_t *)text, strlen(text), 100, &img, &err);
  EXPECT(strstr(err.message, "starting 68 65 6c 6c"),
         "message does not show the first bytes: \"%s\"", err.message);
  mvb_image_free(&img);
}

static void random_bytes_after_a_signature_refused(void) {
  static const uint8_t sigs[4][8] = {
      {0xFF, 0xD8, 0xFF},
      {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
      {'G', 'I', 'F', '8', '9', 'a'},
      {'B', 'M'}};
  static const size_t sig_len[4] = {3, 8, 6, 2};
  unsigned seed = 99;
  uint8_t junk[2000];
  int decoded[4] = {0};
  for (int s = 0; s < 4; s++)
    for (int round = 0; round < 50; round++) {
      size_t n = sig_len[s] + lcg(&seed) % (sizeof junk - 8);
      memcpy(junk, sigs[s], sig_len[s]);
      for (size_t i = sig_len[s]; i < n; i++) junk[i] = (uint8_t)lcg(&seed);
      mvb_image img;
      mvb_error err = {{0}};
      mvb_status st = decode(junk, n, 1u << 20, &img, &err);
      /* A failure is a clean status, a message, and no output. */
      EXPECT(st == MVB_OK ||
                 ((st == MVB_ERR_IMAGE || st == MVB_ERR_IMAGE_TOO_LARGE) &&
                  err.message[0] && img.rgb == NULL),
             "signature %d round %d: status %d \"%s\"", s, round, st,
             err.message);
      decoded[s] += st == MVB_OK;
      mvb_image_free(&img);
    }
  /* Random bytes could in principle form a tiny valid image, but the
   * containers' checks (CRCs, tables, every row present) make it far too
   * unlikely for these 200 draws: a decode here is a decoder taking junk
   * for a photo, as stb_image once took an unknown BMP compression. */
  for (int s = 0; s < 4; s++)
    EXPECT(decoded[s] == 0, "signature %d: %d of 50 junk files decoded", s,
           decoded[s]);
}

static void every_truncation_refused(bytes full, const char *kind,
                                     const char *needle) {
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(full.data, full.size, 1u << 20, &img, &err);
  EXPECT(st == MVB_OK, "whole %s: %s", kind, err.message);
  mvb_image_free(&img);
  for (size_t n = 1; n < full.size && !test_why[0]; n++) {
    /* Prefixes too short to carry the signature are "not an image". */
    mvb_status got = decode(full.data, n, 1u << 20, &img, &err);
    EXPECT(got == MVB_ERR_IMAGE && img.rgb == NULL,
           "%s cut to %zu of %zu bytes: status %d \"%s\"", kind, n, full.size,
           got, err.message);
    EXPECT(n < 8 || strstr(err.message, needle),
           "%s cut to %zu bytes: \"%s\" lacks \"%s\"", kind, n, err.message,
           needle);
    mvb_image_free(&img);
  }
}

static void card_truncations_refused(char kind, int w, int h, const char *name,
                                     const char *needle) {
  uint8_t *px = test_card(w, h, 3);
  bytes full = encode(kind, w, h, 3, px);
  every_truncation_refused(full, name, needle);
  bytes_free(&full);
  free(px);
}

static void jpeg_every_truncation_refused(void) {
  card_truncations_refused('j', 40, 24, "JPEG", "truncated JPEG");
}

static void png_every_truncation_refused(void) {
  card_truncations_refused('p', 20, 10, "PNG", "PNG");
}

static void bmp_every_truncation_refused(void) {
  card_truncations_refused('b', 9, 5, "BMP", "BMP");
}

/* stb_image reads a BMP with an unknown compression value as uncompressed;
 * the inspector refuses it, or a garbage value would skip the check that
 * every row is present (found by fuzz_image: a 44-byte BMP declaring
 * 64775 x 44 was decoded as zeros and called "neither 96%"). */
static void bmp_unknown_compression_refused(void) {
  uint8_t *px = test_card(9, 5, 3);
  bytes bmp = encode('b', 9, 5, 3, px);
  /* The BITMAPINFOHEADER's compression, a little-endian u32 at byte 30. */
  EXPECT(bmp.size > 34 && !bmp.data[30] && !bmp.data[31] && !bmp.data[32] &&
             !bmp.data[33],
         "stb_image_write's BMP is uncompressed");
  const uint32_t garbage[] = {0xff000000u, 0xc3ffff93u, 4, 5, 6};
  for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
    for (int k = 0; k < 4; k++)
      bmp.data[30 + k] = (uint8_t)(garbage[i] >> (8 * k));
    expect_refused(bmp.data, bmp.size, MVB_ERR_IMAGE,
                   "unsupported BMP: compression", "BMP, unknown compression");
  }
  bytes_free(&bmp);
  free(px);
}

static void gif_every_truncation_refused(void) {
  bytes gif = gif_by_hand(4, 3, gif_palette, gif_indices);
  /* The trailer byte after the first frame is not needed to show it. */
  gif.size -= 1;
  every_truncation_refused(gif, "GIF", "GIF");
  bytes_free(&gif);
}

static void huge_png_header_refused_before_decoding(void) {
  const uint8_t row[2] = {0, 0};
  bytes png = png_by_hand(100000, 100000, 8, 0, row, sizeof row);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st =
      decode(png.data, png.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  /* The message is image.c's own header check, not stb's "too large": the
   * refusal happened before stb_image ran. */
  EXPECT(st == MVB_ERR_IMAGE_TOO_LARGE, "status %d: %s", st, err.message);
  EXPECT(strstr(err.message, "100000 x 100000") &&
             strstr(err.message, "limit of 50000000"),
         "message \"%s\"", err.message);
  bytes_free(&png);

  uint8_t *px = test_card(64, 64, 3);
  png = encode('p', 64, 64, 3, px);
  st = decode(png.data, png.size, 1000, &img, &err);
  EXPECT(st == MVB_ERR_IMAGE_TOO_LARGE && strstr(err.message, "64 x 64") &&
             strstr(err.message, "limit of 1000"),
         "small limit: status %d \"%s\"", st, err.message);
  st = decode(png.data, png.size, 64 * 64, &img, &err);
  EXPECT(st == MVB_OK, "limit equal to the size: %s", err.message);
  mvb_image_free(&img);
  bytes_free(&png);
  free(px);
}

static void huge_jpeg_header_refused_before_decoding(void) {
  bytes jpg = jpeg_claiming(16, 16, 65535, 65535);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st =
      decode(jpg.data, jpg.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(st == MVB_ERR_IMAGE_TOO_LARGE && strstr(err.message, "65535 x 65535"),
         "status %d \"%s\"", st, err.message);
  bytes_free(&jpg);
}

/* ---- Scan data that ends early, inflate bombs ---------------------------- */

static int stb_decodes(const uint8_t *p, size_t n) {
  int w, h, c;
  uint8_t *px = stbi_load_from_memory(p, (int)n, &w, &h, &c, 3);
  stbi_image_free(px);
  return px != NULL;
}

/* The first n bytes, then an EOI marker, as a cut-off download that some
 * tool "repaired". */
static bytes cut_with_eoi(const bytes *full, size_t n) {
  bytes b = {0};
  bytes_put(&b, full->data, n);
  bytes_be16(&b, 0xFFD9);
  return b;
}

/* Every cut inside every recorded scan's data is refused as ending early. */
static void every_scan_cut_refused(const bytes *full, const spans *sp,
                                   const char *what) {
  for (int k = 0; k < sp->n && !test_why[0]; k++)
    for (size_t n = sp->s[k].start; n < sp->s[k].end && !test_why[0]; n++) {
      bytes cut = cut_with_eoi(full, n);
      expect_refused(cut.data, cut.size, MVB_ERR_IMAGE,
                     "JPEG scan data ends early", what);
      bytes_free(&cut);
    }
}

/* Decodes in a child process and reports how much its peak resident memory
 * grew (KiB), so a refusal can be shown to come before the allocations an
 * unchecked decode would make. Returns -1 if the child failed. */
static long decode_peak_growth_kib(const bytes *img, mvb_status *st,
                                   char *message, size_t message_size) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    mvb_image out;
    mvb_error err = {{0}};
    mvb_status got = mvb_image_decode(img->data, img->size,
                                      MVB_DEFAULT_MAX_IMAGE_PIXELS, &out, &err);
    mvb_image_free(&out);
    getrusage(RUSAGE_SELF, &after);
    long growth = after.ru_maxrss - before.ru_maxrss;
    ssize_t ok =
        write(fds[1], &got, sizeof got) == sizeof got &&
        write(fds[1], &growth, sizeof growth) == sizeof growth &&
        write(fds[1], err.message, sizeof err.message) == sizeof err.message;
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  char child_message[MVB_ERROR_SIZE] = "";
  long growth = -1;
  int ok =
      read(fds[0], st, sizeof *st) == sizeof *st &&
      read(fds[0], &growth, sizeof growth) == sizeof growth &&
      read(fds[0], child_message, sizeof child_message) == sizeof child_message;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  snprintf(message, message_size, "%s", child_message);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? growth : -1;
}

static void jpeg_scan_cut_before_eoi_refused(void) {
  int w = 64, h = 48;
  uint8_t *px = test_card(w, h, 3);
  spans sp = {0};
  bytes full = jpeg_restarts_by_hand(w, h, px, 0, &sp);
  REQUIRE(sp.n == 1, "%d scans recorded", sp.n);
  expect_refused(full.data, 0, MVB_ERR_IMAGE, NULL, "nothing"); /* sanity */
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(full.data, full.size, 10000, &img, &err);
  EXPECT(st == MVB_OK, "whole JPEG: %s", err.message);
  mvb_image_free(&img);
  /* Half the scan: stb_image alone returns a picture, grey below the cut. */
  bytes half = cut_with_eoi(&full, (sp.s[0].start + sp.s[0].end) / 2);
  EXPECT(stb_decodes(half.data, half.size), "stb_image refuses half a scan");
  expect_refused(half.data, half.size, MVB_ERR_IMAGE,
                 "JPEG scan data ends early", "half a scan");
  decode(half.data, half.size, 10000, &img, &err);
  EXPECT(strstr(err.message, "for a 64 x 48 image") &&
             strstr(err.message, "runs out in MCU") &&
             strstr(err.message, "of 48)"),
         "message \"%s\"", err.message);
  bytes_free(&half);
  every_scan_cut_refused(&full, &sp, "baseline scan cut");
  bytes_free(&full);
  free(px);
}

static void jpeg_progressive_decodes_and_every_scan_cut_refused(void) {
  int w = 48, h = 32;
  uint8_t *px = test_card(w, h, 3);
  for (int y = 0; y < h; y++) /* flat 8 x 8 blocks, as the encoders code */
    for (int x = 0; x < w; x++)
      memcpy(px + (y * w + x) * 3, px + ((y & ~7) * w + (x & ~7)) * 3, 3);
  spans sp = {0};
  bytes full = jpeg_progressive_by_hand(w, h, px, &sp);
  REQUIRE(sp.n == 8, "%d scans recorded", sp.n);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = decode(full.data, full.size, 10000, &img, &err);
  EXPECT(st == MVB_OK, "whole progressive JPEG: %s", err.message);
  if (st == MVB_OK) {
    int max;
    double mad = mean_abs_diff(img.rgb, px, (size_t)w * h * 3, &max);
    EXPECT(img.width == w && img.height == h && mad < 1.0 && max <= 3,
           "%d x %d, mean abs diff %.2f, max %d", img.width, img.height, mad,
           max);
  }
  mvb_image_free(&img);
  every_scan_cut_refused(&full, &sp, "progressive scan cut");
  /* Without its scans the frame would decode flat grey. */
  bytes bare = cut_with_eoi(&full, sp.s[0].start - 14); /* before the SOS */
  expect_refused(bare.data, bare.size, MVB_ERR_IMAGE,
                 "JPEG scan data is missing: no scan codes component 1",
                 "frame without scans");
  bytes_free(&bare);
  bytes_free(&full);
  free(px);
}

static void jpeg_restart_intervals_checked(void) {
  int w = 40, h = 24; /* 15 MCUs */
  uint8_t *px = test_card(w, h, 3);
  bytes plain = jpeg_by_hand(w, h, px);
  mvb_image want;
  mvb_error err = {{0}};
  REQUIRE(decode(plain.data, plain.size, 10000, &want, &err) == MVB_OK,
          "without restarts: %s", err.message);
  for (int interval = 1; interval <= 4; interval++) {
    spans sp = {0};
    bytes full = jpeg_restarts_by_hand(w, h, px, interval, &sp);
    mvb_image img;
    mvb_status st = decode(full.data, full.size, 10000, &img, &err);
    EXPECT(st == MVB_OK &&
               memcmp(img.rgb, want.rgb, (size_t)w * (size_t)h * 3) == 0,
           "interval %d: %s", interval, err.message);
    mvb_image_free(&img);
    every_scan_cut_refused(&full, &sp, "scan with restarts cut");
    /* Cut just before a restart marker: whole intervals, then EOI. stb
     * stops there and leaves the rest grey. */
    size_t rst = sp.s[0].start;
    while (rst + 1 < sp.s[0].end &&
           !(full.data[rst] == 0xFF && full.data[rst + 1] == 0xD1))
      rst++;
    if (interval < 4) { /* 4 MCUs: fewer than two markers */
      bytes cut = cut_with_eoi(&full, rst);
      EXPECT(stb_decodes(cut.data, cut.size),
             "stb_image refuses whole intervals");
      expect_refused(cut.data, cut.size, MVB_ERR_IMAGE,
                     "JPEG scan data ends early", "cut at a restart");
      bytes_free(&cut);
    }
    /* A restart marker dropped: the next interval's data runs on. */
    bytes dropped = {0};
    size_t at = sp.s[0].start;
    while (!(full.data[at] == 0xFF && full.data[at + 1] == 0xD0)) at++;
    bytes_put(&dropped, full.data, at);
    bytes_put(&dropped, full.data + at + 2, full.size - at - 2);
    mvb_error why = {{0}};
    st = decode(dropped.data, dropped.size, 10000, &img, &why);
    EXPECT(st == MVB_ERR_IMAGE && (strstr(why.message, "left over") ||
                                   strstr(why.message, "ends early")),
           "interval %d, RST0 dropped: status %d \"%s\"", interval, st,
           why.message);
    mvb_image_free(&img);
    bytes_free(&dropped);
    bytes_free(&full);
  }
  mvb_image_free(&want);
  bytes_free(&plain);
  free(px);
}

static void jpeg_tall_frame_over_small_body_refused(void) {
  bytes jpg = jpeg_claiming(8, 8, 1, 65535);
  EXPECT(stb_decodes(jpg.data, jpg.size), "stb_image refuses it by itself");
  expect_refused(jpg.data, jpg.size, MVB_ERR_IMAGE,
                 "JPEG scan data ends early: 4 bytes of entropy-coded data "
                 "for a 1 x 65535 image (scan 1 at byte",
                 "1 x 65535 over an 8 x 8 body");
  mvb_image img;
  mvb_error err = {{0}};
  decode(jpg.data, jpg.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(strstr(err.message, "codes 24576 blocks in at least 6144 bytes"),
         "message \"%s\"", err.message);
  bytes_free(&jpg);
}

static void jpeg_huge_frame_over_tiny_body_refused_before_allocating(void) {
  bytes jpg = jpeg_claiming(16, 16, 7000, 7000); /* 49 MP: under the limit */
  mvb_status st;
  char message[MVB_ERROR_SIZE];
  long kib = decode_peak_growth_kib(&jpg, &st, message, sizeof message);
  EXPECT(st == MVB_ERR_IMAGE && strstr(message, "JPEG scan data ends early") &&
             strstr(message, "for a 7000 x 7000 image") &&
             strstr(message, "codes 2296875 blocks in at least 574219 bytes"),
         "status %d \"%s\"", st, message);
  /* stb_image alone allocates 233 MiB for it */
  EXPECT(kib >= 0 && kib < 16 * 1024, "peak memory grew by %ld KiB", kib);
  bytes_free(&jpg);
}

static void jpeg_random_scan_refused(void) {
  int w = 32, h = 32;
  uint8_t *px = test_card(w, h, 3);
  spans sp = {0};
  bytes real = jpeg_restarts_by_hand(w, h, px, 0, &sp);
  unsigned seed = 7;
  int stb_took = 0;
  /* Random bytes (stuffed, so the scan keeps its extent) in place of the
   * scan, from a tenth to ten times its size: the tables are complete, so
   * stb decodes any of them; they run out or leave data unread. */
  for (size_t len = 8; len <= 10 * (sp.s[0].end - sp.s[0].start); len += 7) {
    bytes b = {0};
    bytes_put(&b, real.data, sp.s[0].start);
    for (size_t i = 0; i < len; i++) {
      uint8_t v = (uint8_t)lcg(&seed);
      bytes_u8(&b, v);
      if (v == 0xFF) bytes_u8(&b, 0);
    }
    bytes_be16(&b, 0xFFD9);
    stb_took += stb_decodes(b.data, b.size);
    mvb_image img;
    mvb_error err = {{0}};
    mvb_status st = decode(b.data, b.size, 10000, &img, &err);
    EXPECT(st == MVB_ERR_IMAGE && (strstr(err.message, "ends early") ||
                                   strstr(err.message, "left over")),
           "%zu random bytes: status %d \"%s\"", len, st, err.message);
    mvb_image_free(&img);
    bytes_free(&b);
  }
  EXPECT(stb_took > 0, "stb_image refused every random scan by itself");
  bytes_free(&real);
  free(px);
}

static void jpeg_scan_data_left_over_refused(void) {
  uint8_t *px = test_card(32, 16, 3);
  spans sp = {0};
  bytes real = jpeg_restarts_by_hand(32, 16, px, 0, &sp);
  const struct {
    size_t n;
    uint8_t byte;
    int ok;
  } junk[] = {{1, 0x7F, 1},   /* ImageNet has such JPEGs; stb decodes them */
              {300, 0x00, 1}, /* zeros, as IP cameras pad (stb skips them) */
              {40, 0x7F, 0}}; /* no encoder leaves this */
  for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++) {
    bytes b = {0};
    bytes_put(&b, real.data, sp.s[0].end);
    for (size_t i = 0; i < junk[k].n; i++) bytes_u8(&b, junk[k].byte);
    bytes_put(&b, real.data + sp.s[0].end, real.size - sp.s[0].end);
    mvb_image img;
    mvb_error err = {{0}};
    mvb_status st = decode(b.data, b.size, 10000, &img, &err);
    if (junk[k].ok)
      EXPECT(st == MVB_OK, "%zu bytes %02x: %s", junk[k].n, junk[k].byte,
             err.message);
    else
      EXPECT(st == MVB_ERR_IMAGE && strstr(err.message,
                                           "has 40 bytes of entropy-coded data "
                                           "left over after MCU 8 of 8"),
             "%zu bytes %02x: status %d \"%s\"", junk[k].n, junk[k].byte, st,
             err.message);
    mvb_image_free(&img);
    bytes_free(&b);
  }
  bytes_free(&real);
  free(px);
}

/* Rows of zeros for a PNG: the filter byte and bytes of every row, over
 * the seven Adam7 passes when interlaced, computed here independently of
 * the library. */
static size_t png_rows_size(uint32_t w, uint32_t h, int bits_per_pixel,
                            int interlaced) {
  static const int pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                 {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2},
                                 {0, 1, 1, 2}};
  if (!interlaced) return h * (1 + ((size_t)w * bits_per_pixel + 7) / 8);
  size_t total = 0;
  for (int p = 0; p < 7; p++) {
    size_t pw = 0, ph = 0;
    for (uint32_t x = (uint32_t)pass[p][0]; x < w; x += (uint32_t)pass[p][2])
      pw++;
    for (uint32_t y = (uint32_t)pass[p][1]; y < h; y += (uint32_t)pass[p][3])
      ph++;
    if (pw && ph) total += ph * (1 + (pw * (size_t)bits_per_pixel + 7) / 8);
  }
  return total;
}

static void png_inflated_size_must_match_rows(void) {
  const struct {
    uint32_t w, h;
    int depth, color, interlace, bpp;
  } cases[] = {{2, 2, 8, 2, 0, 24},   {5, 3, 8, 0, 1, 8}, {9, 7, 1, 0, 1, 1},
               {13, 9, 16, 6, 1, 64}, {3, 5, 4, 3, 0, 4}, {17, 1, 2, 0, 1, 2}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !test_why[0]; i++) {
    size_t need =
        png_rows_size(cases[i].w, cases[i].h, cases[i].bpp, cases[i].interlace);
    uint8_t *rows = calloc(2 * need + 1, 1);
    REQUIRE(rows, "out of memory");
    /* exactly the rows; up to twice as much (trailing data, as libpng
     * accepts); one byte more than twice; one byte short */
    const size_t sizes[4] = {need, 2 * need, 2 * need + 1, need - 1};
    for (int k = 0; k < 4; k++) {
      bytes z = zlib_stored(rows, sizes[k]);
      bytes png = png_with_zlib(cases[i].w, cases[i].h, cases[i].depth,
                                cases[i].color, cases[i].interlace, &z);
      if (cases[i].color == 3) { /* a palette goes before IDAT */
        bytes with = {0};
        uint8_t plte[3 * 16] = {0};
        bytes_put(&with, png.data, 33);
        png_chunk(&with, "PLTE", plte, sizeof plte);
        bytes_put(&with, png.data + 33, png.size - 33);
        bytes_free(&png);
        png = with;
      }
      mvb_image img;
      mvb_error err = {{0}};
      mvb_status st = decode(png.data, png.size, 10000, &img, &err);
      char want[160];
      if (k < 2) {
        EXPECT(st == MVB_OK, "case %zu, %zu of %zu bytes: %s", i, sizes[k],
               need, err.message);
      } else {
        if (k == 2)
          snprintf(want, sizeof want,
                   "PNG image data inflates to more than %zu bytes", 2 * need);
        else
          snprintf(want, sizeof want,
                   "truncated PNG: image data inflates to %zu bytes; a %u x "
                   "%u image needs %zu",
                   need - 1, (unsigned)cases[i].w, (unsigned)cases[i].h, need);
        EXPECT(st == MVB_ERR_IMAGE && strstr(err.message, want),
               "case %zu, %zu of %zu bytes: status %d \"%s\" lacks \"%s\"", i,
               sizes[k], need, st, err.message, want);
      }
      mvb_image_free(&img);
      bytes_free(&png);
      bytes_free(&z);
    }
    free(rows);
  }
}

static void png_inflate_bomb_refused_in_bounded_memory(void) {
  /* 1 x 1 RGB needs 4 bytes inflated; this data inflates to 64 MiB from
   * 420 KB. Without the count, stb_image's buffer doubles up to 64 MiB
   * and more. */
  bytes z = zlib_zeros((uint64_t)64 << 20);
  bytes png = png_with_zlib(1, 1, 8, 2, 0, &z);
  mvb_status st;
  char message[MVB_ERROR_SIZE];
  long kib = decode_peak_growth_kib(&png, &st, message, sizeof message);
  EXPECT(st == MVB_ERR_IMAGE &&
             strstr(message, "PNG image data inflates to more than 8 bytes") &&
             strstr(message, "a 1 x 1 image needs 4"),
         "status %d \"%s\"", st, message);
  EXPECT(kib >= 0 && kib < 16 * 1024, "peak memory grew by %ld KiB", kib);
  bytes_free(&png);
  bytes_free(&z);
  /* The same kind of stream under a header that declares its size: a 1023
   * x 1024 grey image's rows take exactly 1 MiB. */
  z = zlib_zeros((uint64_t)1 << 20);
  png = png_with_zlib(1023, 1024, 8, 0, 0, &z);
  mvb_image img;
  mvb_error err = {{0}};
  st = decode(png.data, png.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(st == MVB_OK && img.width == 1023 && img.rgb[0] == 0,
         "declared size: %s", err.message);
  mvb_image_free(&img);
  bytes_free(&png);
  bytes_free(&z);
}

/* Real photos: web/examples, and a sample of ../shared/data's JPEGs (a few
 * hundred, every k-th in name order) when it is there. */
static char **photo_paths;
static size_t photo_count, photo_cap;

static int collect_jpeg(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  size_t n = strlen(path);
  if (flag != FTW_F || n < 4 || strcmp(path + n - 4, ".jpg") != 0) return 0;
  if (photo_count == photo_cap) {
    photo_cap = photo_cap ? 2 * photo_cap : 1024;
    char **grown = realloc(photo_paths, photo_cap * sizeof *grown);
    if (!grown) return 1;
    photo_paths = grown;
  }
  photo_paths[photo_count] = strdup(path);
  return photo_paths[photo_count++] ? 0 : 1;
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int decode_file(const char *path, mvb_error *err) {
  bytes b = {0};
  if (!read_whole_file(path, &b))
    return snprintf(err->message, sizeof err->message, "cannot open");
  mvb_image img;
  mvb_status st =
      mvb_image_decode(b.data, b.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, err);
  mvb_image_free(&img);
  bytes_free(&b);
  return st != MVB_OK;
}

static void real_photos_still_decode(void) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/web/examples", test_source_dir());
  DIR *d = opendir(dir);
  REQUIRE(d, "no %.300s", dir);
  int examples = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL && !test_why[0];) {
    size_t n = strlen(e->d_name);
    if (n < 4 || strcmp(e->d_name + n - 4, ".jpg") != 0) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    mvb_error err = {{0}};
    EXPECT(decode_file(path, &err) == 0, "%.300s: %s", path, err.message);
    examples++;
  }
  closedir(d);
  EXPECT(examples >= 6, "%d example photos", examples);
  snprintf(dir, sizeof dir, "%s/../shared/data", test_source_dir());
  if (nftw(dir, collect_jpeg, 16, FTW_PHYS) != 0 || photo_count == 0)
    SKIP("%d examples decode; no photos under %s", examples, dir);
  qsort(photo_paths, photo_count, sizeof *photo_paths, compare_paths);
  size_t step = photo_count / 300 ? photo_count / 300 : 1, tried = 0;
  for (size_t i = 0; i < photo_count; i++) {
    if (i % step == 0 && !test_why[0]) {
      mvb_error err = {{0}};
      EXPECT(decode_file(photo_paths[i], &err) == 0, "%s: %s", photo_paths[i],
             err.message);
      tried++;
    }
    free(photo_paths[i]);
  }
  free(photo_paths);
  EXPECT(tried >= 100, "only %zu photos tried", tried);
}

/* ---- EXIF orientation ---------------------------------------------------- */

static const uint8_t RED[3] = {255, 0, 0}, GREEN[3] = {0, 255, 0},
                     BLUE[3] = {0, 0, 255}, WHITE[3] = {255, 255, 255};

/* 64 x 32, quadrants: red top-left, green top-right, blue bottom-left,
 * white bottom-right; on 16-pixel blocks so JPEG keeps them clean. */
static bytes quadrant_jpeg(void) {
  uint8_t px[64 * 32 * 3];
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 64; x++) {
      const uint8_t *c =
          y < 16 ? (x < 32 ? RED : GREEN) : (x < 32 ? BLUE : WHITE);
      memcpy(px + (y * 64 + x) * 3, c, 3);
    }
  return jpeg_by_hand(64, 32, px);
}

static void put(uint8_t *p, int little, uint32_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(little ? v >> (8 * i) : v >> (8 * (n - 1 - i)));
}

/* "Exif\0\0" + a TIFF whose IFD0 holds one entry: tag 0x0112, SHORT. */
static size_t exif_payload(uint8_t *p, int little, unsigned orientation) {
  memcpy(p, "Exif\0\0", 6);
  uint8_t *t = p + 6;
  t[0] = t[1] = little ? 'I' : 'M';
  put(t + 2, little, 42, 2);
  put(t + 4, little, 8, 4);       /* IFD0 offset */
  put(t + 8, little, 1, 2);       /* entries */
  put(t + 10, little, 0x0112, 2); /* tag */
  put(t + 12, little, 3, 2);      /* SHORT */
  put(t + 14, little, 1, 4);      /* count */
  put(t + 18, little, orientation, 2);
  put(t + 20, little, 0, 2);
  put(t + 22, little, 0, 4); /* no next IFD */
  return 6 + 26;
}

/* The JPEG with an APP1 segment carrying payload inserted after SOI. */
static bytes with_app1(bytes jpg, const uint8_t *payload, size_t n) {
  bytes b = {0};
  bytes_put(&b, jpg.data, 2);
  bytes_be16(&b, 0xFFE1);
  bytes_be16(&b, (unsigned)(n + 2));
  bytes_put(&b, payload, n);
  bytes_put(&b, jpg.data + 2, jpg.size - 2);
  return b;
}

static int near(const uint8_t *got, const uint8_t *want) {
  for (int c = 0; c < 3; c++)
    if (abs((int)got[c] - (int)want[c]) > 40) return 0;
  return 1;
}

static void exif_orientations_applied(void) {
  /* Colours expected at the displayed top-left, top-right, bottom-left and
   * bottom-right, per EXIF's definition of each orientation. */
  const uint8_t *const corners[9][4] = {
      {0},
      {RED, GREEN, BLUE, WHITE},  /* 1 as stored */
      {GREEN, RED, WHITE, BLUE},  /* 2 mirrored */
      {WHITE, BLUE, GREEN, RED},  /* 3 rotated 180 */
      {BLUE, WHITE, RED, GREEN},  /* 4 flipped */
      {RED, BLUE, GREEN, WHITE},  /* 5 transposed */
      {BLUE, RED, WHITE, GREEN},  /* 6 rotated 90 clockwise */
      {WHITE, GREEN, BLUE, RED},  /* 7 transversed */
      {GREEN, WHITE, RED, BLUE}}; /* 8 rotated 90 counter-clockwise */
  bytes jpg = quadrant_jpeg();
  for (int little = 0; little <= 1; little++)
    for (unsigned o = 1; o <= 8; o++) {
      uint8_t payload[64];
      size_t n = exif_payload(payload, little, o);
      bytes tagged = with_app1(jpg, payload, n);
      mvb_image img;
      mvb_error err = {{0}};
      mvb_status st = decode(tagged.data, tagged.size, 10000, &img, &err);
      EXPECT(st == MVB_OK, "orientation %u: %s", o, err.message);
      if (st == MVB_OK) {
        int w = o >= 5 ? 32 : 64, h = o >= 5 ? 64 : 32;
        EXPECT(img.width == w && img.height == h,
               "orientation %u (%s): %d x %d", o, little ? "II" : "MM",
               img.width, img.height);
        int xs[2] = {2, img.width - 3}, ys[2] = {2, img.height - 3};
        for (int k = 0; k < 4 && img.width == w; k++) {
          const uint8_t *got =
              img.rgb + ((size_t)ys[k / 2] * (size_t)w + (size_t)xs[k % 2]) * 3;
          EXPECT(near(got, corners[o][k]),
                 "orientation %u (%s), corner %d: %d %d %d", o,
                 little ? "II" : "MM", k, got[0], got[1], got[2]);
        }
      }
      mvb_image_free(&img);
      bytes_free(&tagged);
    }
  bytes_free(&jpg);
}

static void malformed_exif_ignored(void) {
  bytes jpg = quadrant_jpeg();
  uint8_t good[64];
  size_t good_n = exif_payload(good, 1, 6);
  struct {
    const char *what;
    size_t at; /* byte to overwrite (in the payload), or 0 for none */
    uint8_t value;
    size_t size; /* payload size to keep */
  } cases[] = {
      {"bad byte order", 6, 'X', 0},
      {"bad magic 42", 8, 43, 0},
      {"IFD offset past the end", 10, 200, 0},
      {"huge entry count", 14, 0xFF, 0},
      {"type LONG", 18, 4, 0},
      {"count 2", 20, 2, 0},
      {"orientation 9", 24, 9, 0},
      {"orientation 0", 24, 0, 0},
      {"cut inside the entry", 0, 0, 22},
      {"only the Exif prefix", 0, 0, 6},
      {"no Exif prefix", 0, 'x', 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t payload[64];
    memcpy(payload, good, good_n);
    size_t n = cases[i].size ? cases[i].size : good_n;
    if (cases[i].at || cases[i].value) payload[cases[i].at] = cases[i].value;
    bytes tagged = with_app1(jpg, payload, n);
    mvb_image img;
    mvb_error err = {{0}};
    mvb_status st = decode(tagged.data, tagged.size, 10000, &img, &err);
    EXPECT(st == MVB_OK && img.width == 64 && img.height == 32 &&
               near(img.rgb + (2 * 64 + 2) * 3, RED),
           "%s: status %d, %d x %d \"%s\"", cases[i].what, st, img.width,
           img.height, err.message);
    mvb_image_free(&img);
    bytes_free(&tagged);
  }
  /* Every prefix of a valid TIFF, read straight from an exact-size buffer. */
  for (size_t n = 0; n <= good_n - 6; n++) {
    uint8_t *tiff = exact_copy(good + 6, n);
    int o = mvb_exif_orientation(tiff, n);
    EXPECT(o == (n >= 22 ? 6 : 1), "TIFF cut to %zu bytes: orientation %d", n,
           o);
    free(tiff);
  }
  bytes_free(&jpg);
}

/* ---- Resize and normalization ------------------------------------------- */

static const mvb_preprocess UNIT = {
    0, 0, MVB_RESIZE_BILINEAR_ANTIALIAS, {0, 0, 0}, {1, 1, 1}};

static float *tensor_of(const mvb_image *img, mvb_preprocess pp) {
  float *t = malloc(sizeof(float) * (size_t)pp.height * (size_t)pp.width * 3);
  if (!t) exit(2);
  mvb_error err = {{0}};
  mvb_status st = mvb_image_to_tensor(img, &pp, t, &err);
  EXPECT(st == MVB_OK, "to_tensor: %s", err.message);
  if (st != MVB_OK) {
    free(t);
    return NULL;
  }
  return t;
}

static void resize_of_constant_is_constant(void) {
  const int sizes[][4] = {{300, 200, 128, 128},
                          {50, 70, 96, 128},
                          {1, 1, 5, 5},
                          {7, 3, 1, 1},
                          {1000, 10, 32, 32}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int w = sizes[s][0], h = sizes[s][1];
    mvb_image img = {w, h, malloc((size_t)w * h * 3)};
    for (int i = 0; i < w * h; i++) memcpy(img.rgb + i * 3, "\x0b\x80\xf5", 3);
    mvb_preprocess pp = UNIT;
    pp.width = sizes[s][2];
    pp.height = sizes[s][3];
    float *t = tensor_of(&img, pp);
    for (int i = 0; t && i < pp.width * pp.height * 3; i++) {
      float want = (float)(i % 3 == 0 ? 11 : i % 3 == 1 ? 128 : 245) / 255;
      EXPECT(fabsf(t[i] - want) < 1e-5f, "%dx%d -> %dx%d: value %d = %g", w, h,
             pp.width, pp.height, i, (double)t[i]);
    }
    free(t);
    mvb_image_free(&img);
  }
}

static void resize_to_same_size_is_identity(void) {
  int w = 31, h = 17;
  mvb_image img = {w, h, test_card(w, h, 3)};
  mvb_preprocess pp = UNIT;
  pp.width = w;
  pp.height = h;
  float *t = tensor_of(&img, pp);
  for (int i = 0; t && i < w * h * 3; i++)
    EXPECT(fabsf(t[i] * 255 - img.rgb[i]) < 1e-3f, "value %d: %g vs %d", i,
           (double)(t[i] * 255), img.rgb[i]);
  free(t);
  mvb_image_free(&img);
}

static void resize_matches_hand_computed_pil_weights(void) {
  /* One row [0, 255]. Shrinking to 1: support 2 around centre 1.0, both
   * taps weigh 0.75 -> 127.5. Growing to 4: centres 0.25, 0.75, 1.25, 1.75
   * (in input pixels) -> 0, 63.75, 191.25, 255 (edges clamp). */
  uint8_t px[6] = {0, 0, 0, 255, 255, 255};
  mvb_image img = {2, 1, px};
  mvb_preprocess pp = UNIT;
  pp.width = 1;
  pp.height = 1;
  float *t = tensor_of(&img, pp);
  if (t) EXPECT(fabsf(t[0] * 255 - 127.5f) < 1e-3f, "2 -> 1: %g", t[0] * 255.);
  free(t);
  pp.width = 4;
  pp.height = 3;
  t = tensor_of(&img, pp);
  const float want[4] = {0, 63.75f, 191.25f, 255};
  for (int y = 0; t && y < 3; y++)
    for (int x = 0; x < 4; x++)
      EXPECT(fabsf(t[(y * 4 + x) * 3 + 1] * 255 - want[x]) < 1e-3f,
             "2 -> 4: (%d, %d) = %g", x, y, t[(y * 4 + x) * 3 + 1] * 255.);
  free(t);
}

static void normalization_uses_mean_and_std(void) {
  uint8_t px[4 * 3];
  for (int i = 0; i < 4; i++) memcpy(px + i * 3, "\x33\x66\xcc", 3);
  mvb_image img = {2, 2, px};
  mvb_preprocess pp = {3,
                       5,
                       MVB_RESIZE_BILINEAR_ANTIALIAS,
                       {0.5f, 0.2f, 0.1f},
                       {0.5f, 0.25f, 2.0f}};
  float *t = tensor_of(&img, pp);
  const float want[3] = {(0.2f - 0.5f) / 0.5f, (0.4f - 0.2f) / 0.25f,
                         (0.8f - 0.1f) / 2.0f};
  for (int i = 0; t && i < 15 * 3; i++)
    EXPECT(fabsf(t[i] - want[i % 3]) < 1e-5f, "value %d: %g want %g", i,
           (double)t[i], (double)want[i % 3]);
  free(t);
  float out[3];
  mvb_error err = {{0}};
  pp.std[1] = 0;
  EXPECT(
      mvb_image_to_tensor(&img, &pp, out, &err) == MVB_ERR_INVALID_ARGUMENT &&
          strstr(err.message, "std"),
      "std 0 accepted: \"%s\"", err.message);
  pp.std[1] = 1;
  pp.width = 0;
  EXPECT(mvb_image_to_tensor(&img, &pp, out, &err) == MVB_ERR_INVALID_ARGUMENT,
         "width 0 accepted");
}

static void rgba_pixels_become_rgb(void) {
  uint8_t rgba[3 * 2 * 4];
  for (int i = 0; i < 24; i++) rgba[i] = (uint8_t)(i * 10);
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st = mvb_image_from_rgba(rgba, 3, 2, 6, &img, &err);
  EXPECT(st == MVB_OK && img.width == 3 && img.height == 2, "status %d: %s", st,
         err.message);
  for (int i = 0; st == MVB_OK && i < 6; i++)
    EXPECT(memcmp(img.rgb + i * 3, rgba + i * 4, 3) == 0, "pixel %d", i);
  mvb_image_free(&img);
  st = mvb_image_from_rgba(rgba, 3, 2, 5, &img, &err);
  EXPECT(st == MVB_ERR_IMAGE_TOO_LARGE && strstr(err.message, "3 x 2"),
         "over the limit: %d \"%s\"", st, err.message);
  st = mvb_image_from_rgba(rgba, 0, 2, 5, &img, &err);
  EXPECT(st == MVB_ERR_INVALID_ARGUMENT && img.rgb == NULL,
         "width 0: status %d", st);
  st = mvb_image_from_rgba(rgba, 3, -1, 5, &img, &err);
  EXPECT(st == MVB_ERR_INVALID_ARGUMENT, "height -1: status %d", st);
  st = mvb_image_from_rgba(NULL, 3, 2, 6, &img, &err);
  EXPECT(st == MVB_ERR_INVALID_ARGUMENT, "NULL pixels: status %d", st);
  mvb_image_free(NULL);
}

/* ---- Modes for the PIL cross-check and timing ---------------------------- */

static int dump(const char *in, int h, int w, const char *out_path) {
  bytes b = {0};
  if (!read_whole_file(in, &b)) {
    fprintf(stderr, "cannot open %s\n", in);
    return 1;
  }
  mvb_image img;
  mvb_error err = {{0}};
  mvb_preprocess pp = UNIT;
  pp.height = h;
  pp.width = w;
  float *t = malloc(sizeof(float) * (size_t)h * (size_t)w * 3);
  mvb_status st =
      !t ? MVB_ERR_OUT_OF_MEMORY
         : mvb_image_decode(b.data, b.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img,
                            &err);
  if (st == MVB_OK) st = mvb_image_to_tensor(&img, &pp, t, &err);
  mvb_image_free(&img);
  bytes_free(&b);
  FILE *o = st == MVB_OK ? fopen(out_path, "wb") : NULL;
  if (o) {
    if (fwrite(t, sizeof(float), (size_t)h * w * 3, o) != (size_t)h * w * 3)
      st = MVB_ERR_IO;
    if (fclose(o) != 0) st = MVB_ERR_IO;
  } else if (st == MVB_OK) {
    st = mvb_fail(&err, MVB_ERR_IO, "cannot write %s", out_path);
  }
  free(t);
  if (st != MVB_OK) fprintf(stderr, "%s: %s\n", in, err.message);
  return st == MVB_OK ? 0 : 1;
}

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC); /* C11; good enough for a rough timing */
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench(void) {
  int w = 4000, h = 3000;
  mvb_image img = {w, h, test_card(w, h, 3)};
  mvb_preprocess pp = UNIT;
  pp.width = pp.height = 128;
  float *t = malloc(sizeof(float) * 128 * 128 * 3);
  if (!t) return 1;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ms();
    mvb_error err = {{0}};
    if (mvb_image_to_tensor(&img, &pp, t, &err) != MVB_OK) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    double dt = now_ms() - t0;
    if (dt < best) best = dt;
  }
  printf("resize+normalize 4000x3000 -> 128x128: best of 5 %.1f ms\n", best);
  free(t);
  mvb_image_free(&img);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--dump") == 0)
    return dump(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
  if (argc == 2 && strcmp(argv[1], "--bench") == 0) return bench();
  if (argc != 1) {
    fprintf(stderr, "usage: %s [--dump IN H W OUT.f32 | --bench]\n", argv[0]);
    return 2;
  }
  int failed = 0;
#define RUN(name) failed += test_run(#name, name)
  RUN(png_rgb_decodes_exactly);
  RUN(png_grey_and_alpha_become_rgb);
  RUN(png_16_bit_becomes_8_bit);
  RUN(bmp_decodes_exactly);
  RUN(gif_first_frame_decodes);
  RUN(jpeg_decodes_approximately);
  RUN(zero_bytes_refused);
  RUN(non_image_bytes_refused);
  RUN(random_bytes_after_a_signature_refused);
  RUN(jpeg_every_truncation_refused);
  RUN(png_every_truncation_refused);
  RUN(bmp_every_truncation_refused);
  RUN(bmp_unknown_compression_refused);
  RUN(gif_every_truncation_refused);
  RUN(huge_png_header_refused_before_decoding);
  RUN(huge_jpeg_header_refused_before_decoding);
  RUN(jpeg_scan_cut_before_eoi_refused);
  RUN(jpeg_progressive_decodes_and_every_scan_cut_refused);
  RUN(jpeg_restart_intervals_checked);
  RUN(jpeg_tall_frame_over_small_body_refused);
  RUN(jpeg_huge_frame_over_tiny_body_refused_before_allocating);
  RUN(jpeg_random_scan_refused);
  RUN(jpeg_scan_data_left_over_refused);
  RUN(png_inflated_size_must_match_rows);
  RUN(png_inflate_bomb_refused_in_bounded_memory);
  RUN(real_photos_still_decode);
  RUN(exif_orientations_applied);
  RUN(malformed_exif_ignored);
  RUN(resize_of_constant_is_constant);
  RUN(resize_to_same_size_is_identity);
  RUN(resize_matches_hand_computed_pil_weights);
  RUN(normalization_uses_mean_and_std);
  RUN(rgba_pixels_become_rgb);
  printf("%d failed\n", failed);
  return test_exit(failed);
}
