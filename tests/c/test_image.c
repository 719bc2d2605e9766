/* test_image.c: decoding, bad input, EXIF orientation, resize and
 * normalization (src/image.c, src/exif.c). Every image is made here, with
 * stb_image_write or by hand, so the test needs no files.
 *
 *   test_image                        run the tests ("ok - name" lines)
 *   test_image --dump IN H W OUT.f32  decode IN, resize to H x W with mean 0
 *                                     and std 1, write float32 (used by
 *                                     tests/python/test_preprocess_...py)
 *   test_image --bench                time a 12 MP -> 128 x 128 resize
 */
#include "test_util.h" /* first: it asks for POSIX */

#include <math.h>
#include <time.h>

#include "exif.h"
#include "image.h"

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

static void write_cb(void *ctx, void *data, int size) {
  bytes_put(ctx, data, (size_t)size);
}

/* A PNG written by hand (stored deflate blocks), for what stb_image_write
 * cannot make: 16-bit samples and headers with absurd sizes. */
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

static bytes png_by_hand(uint32_t w, uint32_t h, int depth, int color,
                         const uint8_t *scanlines, size_t n) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  bytes b = {0}, ihdr = {0}, z = {0};
  bytes_put(&b, sig, 8);
  bytes_be32(&ihdr, w);
  bytes_be32(&ihdr, h);
  uint8_t rest[5] = {(uint8_t)depth, (uint8_t)color, 0, 0, 0};
  bytes_put(&ihdr, rest, 5);
  png_chunk(&b, "IHDR", ihdr.data, ihdr.size);
  bytes_u8(&z, 0x78);
  bytes_u8(&z, 0x01);
  uint32_t a = 1, s2 = 0;
  size_t done = 0;
  do { /* stored blocks of at most 65535 bytes */
    size_t len = n - done > 65535 ? 65535 : n - done;
    bytes_u8(&z, done + len == n ? 1 : 0);
    bytes_le16(&z, (unsigned)len);
    bytes_le16(&z, (unsigned)(~len & 0xFFFF));
    if (len) bytes_put(&z, scanlines + done, len);
    done += len;
  } while (done < n);
  for (size_t i = 0; i < n; i++) {
    a = (a + scanlines[i]) % 65521;
    s2 = (s2 + a) % 65521;
  }
  bytes_be32(&z, s2 << 16 | a);
  png_chunk(&b, "IDAT", z.data, z.size);
  png_chunk(&b, "IEND", NULL, 0);
  bytes_free(&ihdr);
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

/* A baseline JPEG written by hand: three components without subsampling,
 * every 8 x 8 block flat (the colour of its top-left pixel) and coded by its
 * DC coefficient alone with a quantizer of 1, so a decoder must give the
 * colours back to within YCbCr rounding. w and h are multiples of 8. */
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

static bytes jpeg_by_hand(int w, int h, const uint8_t *rgb) {
  bytes b = {0};
  bytes_be16(&b, 0xFFD8);
  bytes_be16(&b, 0xFFDB); /* DQT: table 0, all ones */
  bytes_be16(&b, 67);
  bytes_u8(&b, 0);
  for (int i = 0; i < 64; i++) bytes_u8(&b, 1);
  bytes_be16(&b, 0xFFC0); /* SOF0 */
  bytes_be16(&b, 17);
  bytes_u8(&b, 8);
  bytes_be16(&b, (unsigned)h);
  bytes_be16(&b, (unsigned)w);
  bytes_u8(&b, 3);
  for (unsigned c = 1; c <= 3; c++) {
    bytes_u8(&b, c);
    bytes_u8(&b, 0x11);
    bytes_u8(&b, 0);
  }
  /* DHT: DC categories 0..11 all with 4-bit codes; AC: only EOB, code 0 */
  bytes_be16(&b, 0xFFC4);
  bytes_be16(&b, 2 + 17 + 12 + 17 + 1);
  bytes_u8(&b, 0x00);
  for (int len = 1; len <= 16; len++) bytes_u8(&b, len == 4 ? 12 : 0);
  for (unsigned v = 0; v < 12; v++) bytes_u8(&b, v);
  bytes_u8(&b, 0x10);
  for (int len = 1; len <= 16; len++) bytes_u8(&b, len == 1 ? 1 : 0);
  bytes_u8(&b, 0x00);
  bytes_be16(&b, 0xFFDA); /* SOS */
  bytes_be16(&b, 12);
  bytes_u8(&b, 3);
  for (unsigned c = 1; c <= 3; c++) {
    bytes_u8(&b, c);
    bytes_u8(&b, 0x00);
  }
  bytes_u8(&b, 0);
  bytes_u8(&b, 63);
  bytes_u8(&b, 0);
  bit_writer bw = {&b, 0, 0};
  int pred[3] = {0, 0, 0};
  for (int by = 0; by < h / 8; by++)
    for (int bx = 0; bx < w / 8; bx++) {
      const uint8_t *p =
          rgb + ((size_t)by * 8 * (size_t)w + (size_t)bx * 8) * 3;
      double ycc[3] = {0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2],
                       -0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2] + 128,
                       0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2] + 128};
      for (int c = 0; c < 3; c++) {
        double v = ycc[c] < 0 ? 0 : ycc[c] > 255 ? 255 : ycc[c];
        int dc = (int)lround(8 * (v - 128)); /* flat block: DC = 8 * mean */
        int diff = dc - pred[c], cat = 0;
        pred[c] = dc;
        for (int a = abs(diff); a; a >>= 1) cat++;
        put_bits(&bw, (uint32_t)cat, 4);
        if (cat)
          put_bits(&bw, (uint32_t)(diff >= 0 ? diff : diff + (1 << cat) - 1),
                   cat);
        put_bits(&bw, 0, 1); /* EOB */
      }
    }
  if (bw.count) put_bits(&bw, 0x7F, 8 - bw.count); /* pad with ones */
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
  for (int s = 0; s < 4; s++)
    for (int round = 0; round < 50; round++) {
      size_t n = sig_len[s] + lcg(&seed) % (sizeof junk - 8);
      memcpy(junk, sigs[s], sig_len[s]);
      for (size_t i = sig_len[s]; i < n; i++) junk[i] = (uint8_t)lcg(&seed);
      mvb_image img;
      mvb_error err = {{0}};
      mvb_status st = decode(junk, n, 1u << 20, &img, &err);
      /* Random data may by chance be a valid tiny image; what matters is
       * that a failure is a clean status and the output stays empty. */
      EXPECT(st == MVB_OK ||
                 ((st == MVB_ERR_IMAGE || st == MVB_ERR_IMAGE_TOO_LARGE) &&
                  err.message[0] && img.rgb == NULL),
             "signature %d round %d: status %d \"%s\"", s, round, st,
             err.message);
      mvb_image_free(&img);
    }
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
  uint8_t *px = test_card(16, 16, 3);
  bytes jpg = jpeg_by_hand(16, 16, px);
  for (size_t i = 2; i + 9 < jpg.size; i++)
    if (jpg.data[i] == 0xFF && jpg.data[i + 1] == 0xC0) { /* SOF0 */
      jpg.data[i + 5] = jpg.data[i + 7] = 0xFF;
      jpg.data[i + 6] = jpg.data[i + 8] = 0xFF;
      break;
    }
  mvb_image img;
  mvb_error err = {{0}};
  mvb_status st =
      decode(jpg.data, jpg.size, MVB_DEFAULT_MAX_IMAGE_PIXELS, &img, &err);
  EXPECT(st == MVB_ERR_IMAGE_TOO_LARGE && strstr(err.message, "65535 x 65535"),
         "status %d \"%s\"", st, err.message);
  bytes_free(&jpg);
  free(px);
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
  FILE *f = fopen(in, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", in);
    return 1;
  }
  bytes b = {0};
  uint8_t chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) bytes_put(&b, chunk, n);
  fclose(f);
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
  RUN(gif_every_truncation_refused);
  RUN(huge_png_header_refused_before_decoding);
  RUN(huge_jpeg_header_refused_before_decoding);
  RUN(exif_orientations_applied);
  RUN(malformed_exif_ignored);
  RUN(resize_of_constant_is_constant);
  RUN(resize_to_same_size_is_identity);
  RUN(resize_matches_hand_computed_pil_weights);
  RUN(normalization_uses_mean_and_std);
  RUN(rgba_pixels_become_rgb);
  printf("%d failed\n", failed);
  return failed ? 1 : 0;
}
