#include "jpeg_scan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_DHT 0xC4
#define M_DRI 0xDD

/* Whole bytes of coded data a scan or restart interval may hold beyond what
 * its blocks use. Encoders pad only the last byte (with one bits): none of
 * the 24,021 JPEGs in ../shared/data, nor 2,248 re-encodings of a sample of
 * them (jpegtran, cjpeg and PIL: progressive, restart intervals of 1 block
 * to 1 MCU row, 4:2:2, grey, optimized tables), leaves one whole byte. But
 * stb_image skips junk before the EOI (ImageNet has JPEGs with a junk byte
 * there, stb_image PR #422) and finds a restart marker within its 4-byte
 * look-ahead, so a few bytes pass (and zeros at the end of a scan, any
 * number); a random scan leaves hundreds. */
#define MAX_LEFTOVER 3

/* ---- The fewest bytes a scan can take ------------------------------------ */

/* Blocks a scan codes: every block of its MCUs when interleaved, else the
 * component's own blocks. */
static uint64_t scan_blocks(const mvb_jpeg_frame *f, const mvb_jpeg_scan *s) {
  if (s->n == 1) {
    const mvb_jpeg_component *c = &f->comp[s->comp[0]];
    return (uint64_t)c->bw * c->bh;
  }
  uint64_t per_mcu = 0;
  for (int i = 0; i < s->n; i++)
    per_mcu += (uint64_t)f->comp[s->comp[i]].h * f->comp[s->comp[i]].v;
  return (uint64_t)f->mcus_x * f->mcus_y * per_mcu;
}

/* The fewest bits any encoder can spend on a scan. Every Huffman code is at
 * least one bit long, so a sequential scan spends at least two per block
 * (its DC difference and an end-of-block, or longer AC codes), a first DC
 * scan one (its difference) and a DC refinement exactly one; AC scans of a
 * progressive JPEG can cover thousands of blocks with a single end-of-band
 * run and have no useful minimum. Encoders do reach this bound: PIL
 * (libjpeg) with optimize=True spends exactly 2 bits per block on flat
 * images at every quality (measured over 1,880 encodings: flat colours,
 * 8x8 to 4000x3000, quality 1..100, baseline and progressive, 4:4:4, 4:2:2,
 * 4:2:0 and grey), so no larger bound would be safe, and this one is
 * certain. Photos carry 12 to 120 times as much (median 54, over 3,002 of
 * ../shared/data); a 7000 x 7000 frame over a few hundred bytes of scan
 * data carries a thousandth. */
static uint64_t scan_min_bits(const mvb_jpeg_frame *f, const mvb_jpeg_scan *s) {
  uint64_t per_block = !f->progressive ? 2 : s->ss == 0 ? 1 : 0;
  return per_block * scan_blocks(f, s);
}

/* A pass over the markers alone, before anything is allocated or decoded:
 * each scan holds at least its minimum, and every component is in a scan
 * that codes its DC coefficients (else it would come out flat grey). */
static mvb_status check_scan_sizes(const uint8_t *bytes, size_t size,
                                   const mvb_jpeg_frame *f, mvb_error *err) {
  mvb_jpeg_reader r;
  mvb_status st = mvb_jpeg_begin(&r, bytes, size, err);
  unsigned dc_coded = 0; /* bit i: component i */
  int scans = 0;
  while (st == MVB_OK) {
    mvb_jpeg_segment seg;
    st = mvb_jpeg_next(&r, &seg, err);
    if (st != MVB_OK || seg.marker == M_EOI) break;
    if (seg.marker != M_SOS) continue;
    mvb_jpeg_scan s;
    st = mvb_jpeg_parse_scan(&seg, f, ++scans, &s, err);
    if (st != MVB_OK) break;
    uint64_t need = (scan_min_bits(f, &s) + 7) / 8;
    if (s.data_bytes < need)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "JPEG scan data ends early: %zu bytes of entropy-coded "
                      "data for a %" PRIu32 " x %" PRIu32
                      " image (scan %d at byte %zu codes %" PRIu64
                      " blocks in at least %" PRIu64 " bytes)",
                      s.data_bytes, f->width, f->height, s.index, s.at,
                      scan_blocks(f, &s), need);
    for (int i = 0; i < s.n; i++)
      if (s.ss == 0 && s.ah == 0) dc_coded |= 1u << s.comp[i];
  }
  for (int i = 0; st == MVB_OK && i < f->n; i++)
    if (!(dc_coded & 1u << i))
      st = mvb_fail(err, MVB_ERR_IMAGE,
                    "JPEG scan data is missing: no scan codes component %d "
                    "(id %d)%s",
                    i + 1, f->comp[i].id,
                    f->progressive ? "'s DC coefficients" : "");
  return st;
}

/* ---- Huffman tables, built as stbi__build_huffman does ------------------ */

#define FAST_BITS 9

typedef struct huffman {
  int defined;
  int count;                        /* symbols */
  uint16_t fast[1 << FAST_BITS];    /* (length << 8) | symbol index; 0: slow */
  uint16_t fast_ac[1 << FAST_BITS]; /* an AC code with its magnitude bits,
                                       when both fit: run << 8 | bits; 0: no */
  uint32_t maxcode[18];             /* 1 + last code of a length, << 16 - len */
  int delta[17];                    /* code -> symbol index, per length */
  uint8_t values[256];
} huffman;

/* counts[i]: codes of length i + 1. Returns 0 when a length has more codes
 * than fit (stb_image: "bad code lengths"). */
static int huffman_build(huffman *h, const uint8_t counts[16],
                         const uint8_t *symbols) {
  uint8_t size[257];
  int k = 0;
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < counts[i]; j++) size[k++] = (uint8_t)(i + 1);
  size[k] = 0;
  h->count = k;
  memcpy(h->values, symbols, (size_t)k);
  uint16_t codes[256];
  uint32_t code = 0;
  k = 0;
  for (int len = 1; len <= 16; len++) {
    h->delta[len] = k - (int)code;
    if (size[k] == len) {
      while (size[k] == len) codes[k++] = (uint16_t)code++;
      if (code - 1 >= 1u << len) return 0;
    }
    h->maxcode[len] = code << (16 - len);
    code <<= 1;
  }
  h->maxcode[17] = 0xFFFFFFFFu;
  memset(h->fast, 0, sizeof h->fast);
  memset(h->fast_ac, 0, sizeof h->fast_ac);
  /* stb's table marks "not fast" with index 255, so the 256th symbol always
   * takes its slow path; so it does here. */
  for (int i = 0; i < k && i < 255; i++)
    if (size[i] <= FAST_BITS) {
      int first = codes[i] << (FAST_BITS - size[i]);
      int bits = size[i] + (h->values[i] & 15), run = h->values[i] >> 4;
      for (int j = 0; j < 1 << (FAST_BITS - size[i]); j++) {
        h->fast[first + j] = (uint16_t)(size[i] << 8 | i);
        if ((h->values[i] & 15) && bits <= FAST_BITS)
          h->fast_ac[first + j] = (uint16_t)(run << 8 | bits);
      }
    }
  h->defined = 1;
  return 1;
}

/* ---- Reading bits ------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p, *end; /* the scan's bytes not yet loaded */
  uint64_t acc;           /* loaded bits, the next one in bit 63 */
  int n;                  /* how many */
  int at_marker;          /* p is at the FF of RSTn or of the scan's end */
} reader;

/* Loads bytes up to 64 bits or the next marker: FF 00 is a data byte FF,
 * FF FF is fill before a marker, as stbi__grow_buffer_unsafe reads. */
static void fill(reader *r) {
  /* Most of the time the next 8 bytes hold no FF: take what fits at once. */
  if (r->n <= 56 && r->end - r->p >= 8) {
    uint64_t x;
    memcpy(&x, r->p, 8);
    x = ~x; /* a zero byte now marks an FF */
    if (!((x - 0x0101010101010101u) & ~x & 0x8080808080808080u)) {
      int take = (64 - r->n) / 8;
      for (int i = 0; i < take; i++)
        r->acc |= (uint64_t)r->p[i] << (56 - r->n - 8 * i);
      r->p += take;
      r->n += 8 * take;
      return;
    }
  }
  while (r->n <= 56 && !r->at_marker) {
    if (r->p >= r->end) {
      r->at_marker = 1;
      break;
    }
    uint8_t c = *r->p;
    if (c == 0xFF) {
      const uint8_t *q = r->p + 1;
      while (q < r->end && *q == 0xFF) q++;
      if (q >= r->end || *q != 0x00) {
        r->at_marker = 1;
        break;
      }
      r->p = q + 1;
    } else {
      r->p++;
    }
    r->acc |= (uint64_t)c << (56 - r->n);
    r->n += 8;
  }
}

typedef enum outcome { DONE = 0, ENDS_EARLY, BAD_CODE } outcome;

/* n is 1..16. */
static outcome get_bits(reader *r, int n, uint32_t *v) {
  if (r->n < n) fill(r);
  if (r->n < n) return ENDS_EARLY;
  *v = (uint32_t)(r->acc >> (64 - n));
  r->acc <<= n;
  r->n -= n;
  return DONE;
}

static outcome get_bit(reader *r) {
  uint32_t v;
  return get_bits(r, 1, &v);
}

static outcome decode(reader *r, const huffman *h, int *symbol) {
  if (r->n < 16) fill(r);
  uint32_t peek = (uint32_t)(r->acc >> 48); /* zeros past the data */
  unsigned f = h->fast[peek >> (16 - FAST_BITS)];
  int len, index;
  if (f) {
    len = (int)(f >> 8);
    index = (int)(f & 255);
  } else {
    for (len = FAST_BITS + 1; peek >= h->maxcode[len]; len++) continue;
    if (len == 17) return r->n < 16 && r->at_marker ? ENDS_EARLY : BAD_CODE;
    index = (int)(peek >> (16 - len)) + h->delta[len];
  }
  if (len > r->n) return ENDS_EARLY;
  if (index < 0 || index >= h->count) return BAD_CODE;
  r->acc <<= len;
  r->n -= len;
  *symbol = h->values[index];
  return DONE;
}

/* A coefficient's s (1..15) magnitude bits, sign-extended as
 * stbi__extend_receive. */
static outcome receive(reader *r, int s, int32_t *value) {
  uint32_t v = 0;
  outcome o = get_bits(r, s, &v);
  *value = v < 1u << (s - 1) ? (int32_t)v - (int32_t)(1u << s) + 1 : (int32_t)v;
  return o;
}

/* Whole bytes of coded data from the read position to the next marker,
 * which the reader is then left at; the partial byte does not count, nor
 * do zero bytes unless zeros is set. */
static size_t skip_to_marker(reader *r, int zeros) {
  size_t left = 0;
  uint64_t whole = r->acc << (r->n % 8);
  for (;;) {
    for (int i = 0; i < r->n / 8; i++)
      left += zeros || (whole >> (56 - 8 * i) & 0xFF) != 0;
    r->acc = 0;
    r->n = 0;
    if (r->at_marker) return left;
    fill(r);
    whole = r->acc;
  }
}

/* At a marker: its code when it is RSTn, else 0 (the scan's end). Moves
 * past RSTn and starts afresh, as stbi__jpeg_reset. */
static int take_restart(reader *r) {
  const uint8_t *q = r->p;
  while (q < r->end && *q == 0xFF) q++;
  if (q >= r->end) return 0;
  r->p = q + 1;
  r->acc = 0;
  r->n = 0;
  r->at_marker = 0;
  return *q;
}

/* ---- Blocks, as stb_image's decode_block functions ---------------------- */

typedef struct walk {
  const mvb_jpeg_frame *f;
  const mvb_jpeg_scan *s;
  huffman dc[4], ac[4];
  unsigned interval;    /* restart interval in MCUs, 0 for none */
  uint64_t *nonzero[4]; /* progressive, per block: bit k set when the
                           coefficient at zigzag position k is non-zero */
  reader r;
  uint32_t eobrun;
} walk;

static outcome dc_difference(walk *w, const huffman *h) {
  int t;
  outcome o = decode(&w->r, h, &t);
  if (o != DONE) return o;
  if (t > 15) return BAD_CODE;
  int32_t diff;
  return t ? receive(&w->r, t, &diff) : DONE;
}

/* The coefficients' values are not needed here, only their bits. */
static outcome sequential_block(walk *w, int i) {
  const huffman *ac = &w->ac[w->s->ac_table[i]];
  reader *r = &w->r;
  outcome o = dc_difference(w, &w->dc[w->s->dc_table[i]]);
  for (int k = 1; o == DONE && k < 64;) {
    if (r->n < 16) fill(r);
    unsigned f = ac->fast_ac[r->acc >> (64 - FAST_BITS)];
    if (f && (int)(f & 255) <= r->n) { /* a code and its magnitude at once */
      r->acc <<= f & 255;
      r->n -= (int)(f & 255);
      k += (int)(f >> 8) + 1;
      continue;
    }
    int rs;
    if ((o = decode(r, ac, &rs)) != DONE) break;
    int s = rs & 15, run = rs >> 4;
    if (s == 0) {
      if (rs != 0xF0) break; /* end of block */
      k += 16;
    } else {
      uint32_t v;
      k += run + 1;
      o = get_bits(r, s, &v);
    }
  }
  return o;
}

static void set_nonzero(uint64_t *mask, int k, int nonzero) {
  uint64_t bit = (uint64_t)1 << (k > 63 ? 63 : k); /* stb clamps to 63 */
  *mask = nonzero ? *mask | bit : *mask & ~bit;
}

static outcome dc_block(walk *w, int i, uint64_t *mask) {
  if (w->s->ah) return get_bit(&w->r); /* refinement: one bit */
  *mask = 0; /* stb clears the block's coefficients on its first DC scan */
  return dc_difference(w, &w->dc[w->s->dc_table[i]]);
}

static outcome ac_first_block(walk *w, uint64_t *mask) {
  if (w->eobrun) {
    w->eobrun--;
    return DONE;
  }
  const huffman *ac = &w->ac[w->s->ac_table[0]];
  outcome o = DONE;
  for (int k = w->s->ss; o == DONE && k <= w->s->se;) {
    int rs;
    if ((o = decode(&w->r, ac, &rs)) != DONE) break;
    int s = rs & 15, run = rs >> 4;
    if (s == 0) {
      if (run < 15) { /* end-of-band run of 2^run + extra blocks */
        uint32_t extra = 0;
        if (run) o = get_bits(&w->r, run, &extra);
        w->eobrun = (1u << run) + extra - 1;
        break;
      }
      k += 16;
    } else {
      int32_t v;
      k += run;
      o = receive(&w->r, s, &v);
      /* stb stores it as a short, which can wrap to zero */
      set_nonzero(mask, k++, (uint16_t)((uint32_t)v << w->s->al) != 0);
    }
  }
  return o;
}

static outcome ac_refine_block(walk *w, uint64_t *mask) {
  const int se = w->s->se;
  int k = w->s->ss;
  outcome o = DONE;
  if (w->eobrun) {
    w->eobrun--;
    for (; o == DONE && k <= se; k++)
      if (*mask >> k & 1) o = get_bit(&w->r);
    return o;
  }
  const huffman *ac = &w->ac[w->s->ac_table[0]];
  while (o == DONE && k <= se) {
    int rs;
    if ((o = decode(&w->r, ac, &rs)) != DONE) break;
    int s = rs & 15, run = rs >> 4;
    if (s == 0) {
      if (run < 15) {
        uint32_t extra = 0;
        if (run) o = get_bits(&w->r, run, &extra);
        w->eobrun = (1u << run) - 1 + extra;
        run = 64; /* the rest of the band only refines */
      }
    } else {
      if (s != 1) return BAD_CODE;
      o = get_bit(&w->r); /* sign */
    }
    /* Skip run zero coefficients, reading a correction bit for each
     * non-zero one passed; a new coefficient lands after them. */
    while (o == DONE && k <= se) {
      int at = k++;
      if (*mask >> at & 1) {
        o = get_bit(&w->r);
      } else if (run == 0) {
        if (s) *mask |= (uint64_t)1 << at;
        break;
      } else {
        run--;
      }
    }
  }
  return o;
}

/* Block (bx, by) of the scan's i-th component. */
static outcome block(walk *w, int i, uint32_t bx, uint32_t by) {
  const mvb_jpeg_component *c = &w->f->comp[w->s->comp[i]];
  if (!w->f->progressive) return sequential_block(w, i);
  uint64_t *mask = &w->nonzero[w->s->comp[i]][(size_t)by * c->stride + bx];
  if (w->s->ss == 0) return dc_block(w, i, mask);
  return w->s->ah ? ac_refine_block(w, mask) : ac_first_block(w, mask);
}

/* ---- Scans -------------------------------------------------------------- */

static mvb_status scan_failed(walk *w, outcome o, const uint8_t *bytes,
                              uint64_t mcu, uint64_t mcus, mvb_error *err) {
  const mvb_jpeg_scan *s = w->s;
  if (o == ENDS_EARLY)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "JPEG scan data ends early: %zu bytes of entropy-coded "
                    "data for a %" PRIu32 " x %" PRIu32
                    " image (scan %d at byte %zu runs out in MCU %" PRIu64
                    " of %" PRIu64 ")",
                    s->data_bytes, w->f->width, w->f->height, s->index, s->at,
                    mcu + 1, mcus);
  return mvb_fail(err, MVB_ERR_IMAGE,
                  "corrupt JPEG: bad Huffman code near byte %zu (scan %d at "
                  "byte %zu, MCU %" PRIu64 " of %" PRIu64 ")",
                  (size_t)(w->r.p - bytes), s->index, s->at, mcu + 1, mcus);
}

static mvb_status left_over(walk *w, size_t left, uint64_t mcu, uint64_t mcus,
                            mvb_error *err) {
  if (left <= MAX_LEFTOVER) return MVB_OK;
  return mvb_fail(err, MVB_ERR_IMAGE,
                  "corrupt JPEG: scan %d at byte %zu has %zu bytes of "
                  "entropy-coded data left over after MCU %" PRIu64
                  " of %" PRIu64,
                  w->s->index, w->s->at, left, mcu, mcus);
}

/* MCUs in stb_image's order: one block per MCU for a single component,
 * else each component's h x v blocks per MCU; a restart marker after every
 * interval. */
static mvb_status check_scan(walk *w, const uint8_t *bytes, mvb_error *err) {
  const mvb_jpeg_frame *f = w->f;
  const mvb_jpeg_scan *s = w->s;
  int single = s->n == 1;
  const mvb_jpeg_component *c0 = &f->comp[s->comp[0]];
  uint64_t cols = single ? c0->bw : f->mcus_x;
  uint64_t mcus = cols * (single ? c0->bh : f->mcus_y);
  w->r = (reader){s->data, s->data + s->size, 0, 0, 0};
  w->eobrun = 0;
  uint64_t todo = w->interval ? w->interval : UINT64_MAX, mcu = 0;
  for (uint32_t my = 0; mcu < mcus; my++)
    for (uint32_t mx = 0; mx < cols; mx++, mcu++) {
      outcome o = DONE;
      if (single) {
        o = block(w, 0, mx, my);
      } else {
        for (int i = 0; o == DONE && i < s->n; i++) {
          const mvb_jpeg_component *c = &f->comp[s->comp[i]];
          for (uint32_t y = 0; o == DONE && y < c->v; y++)
            for (uint32_t x = 0; o == DONE && x < c->h; x++)
              o = block(w, i, mx * c->h + x, my * c->v + y);
        }
      }
      if (o != DONE) return scan_failed(w, o, bytes, mcu, mcus, err);
      if (--todo == 0 && mcu + 1 < mcus) {
        /* stb_image must find the marker within its 4-byte look-ahead */
        size_t left = skip_to_marker(&w->r, 1);
        mvb_status st = left_over(w, left, mcu + 1, mcus, err);
        if (st != MVB_OK) return st;
        if (!take_restart(&w->r)) /* stb stops here: the rest comes out grey */
          return scan_failed(w, ENDS_EARLY, bytes, mcu + 1, mcus, err);
        w->eobrun = 0;
        todo = w->interval;
      }
    }
  /* Data after the last MCU, restart markers and all; stb_image skips it,
   * and IP cameras pad here with zeros (stb_image: "IP Kamera 9060"). */
  size_t left = skip_to_marker(&w->r, 0);
  while (take_restart(&w->r)) left += skip_to_marker(&w->r, 0);
  return left_over(w, left, mcus, mcus, err);
}

static mvb_status define_tables(walk *w, const mvb_jpeg_segment *seg,
                                mvb_error *err) {
  const uint8_t *p = seg->payload, *end = p + seg->payload_size;
  while (p < end) {
    /* container.c refuses other layouts; checked again for memory safety */
    size_t symbols = 0;
    for (int i = 1; i <= 16 && end - p >= 17; i++) symbols += p[i];
    if (end - p < 17 || (p[0] >> 4) > 1 || (p[0] & 15) > 3 || symbols > 256 ||
        (size_t)(end - p - 17) < symbols)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: Huffman table at byte %zu", seg->at);
    huffman *h = (p[0] >> 4 ? w->ac : w->dc) + (p[0] & 15);
    if (!huffman_build(h, p + 1, p + 17))
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: Huffman table at byte %zu has more codes "
                      "of one length than fit",
                      seg->at);
    p += 17 + symbols;
  }
  return MVB_OK;
}

static mvb_status need_tables(const walk *w, mvb_error *err) {
  const mvb_jpeg_scan *s = w->s;
  for (int i = 0; i < s->n; i++) {
    int dc = s->ss == 0 && (!w->f->progressive || s->ah == 0);
    int ac = !w->f->progressive || s->ss > 0;
    const char *missing = dc && !w->dc[s->dc_table[i]].defined   ? "DC"
                          : ac && !w->ac[s->ac_table[i]].defined ? "AC"
                                                                 : NULL;
    if (missing)
      return mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: scan %d at byte %zu uses %s Huffman "
                      "table %d, which is not defined",
                      s->index, s->at, missing,
                      *missing == 'D' ? s->dc_table[i] : s->ac_table[i]);
  }
  return MVB_OK;
}

static mvb_status alloc_masks(walk *w, mvb_error *err) {
  for (int i = 0; i < w->f->n; i++) {
    const mvb_jpeg_component *c = &w->f->comp[i];
    uint64_t blocks = (uint64_t)c->stride * c->rows;
    if (blocks > SIZE_MAX / sizeof(uint64_t) ||
        !(w->nonzero[i] =
              calloc((size_t)blocks ? (size_t)blocks : 1, sizeof(uint64_t))))
      return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                      "out of memory for the coefficient masks of a %" PRIu32
                      " x %" PRIu32 " progressive JPEG",
                      w->f->width, w->f->height);
  }
  return MVB_OK;
}

mvb_status mvb_jpeg_check_scans(const uint8_t *bytes, size_t size,
                                const mvb_jpeg_frame *frame, mvb_error *err) {
  mvb_status st = check_scan_sizes(bytes, size, frame, err);
  if (st != MVB_OK) return st;
  walk *w = calloc(1, sizeof *w); /* 20 KB of tables: not for the stack */
  if (!w)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for JPEG Huffman tables");
  w->f = frame;
  mvb_jpeg_reader r;
  st = mvb_jpeg_begin(&r, bytes, size, err);
  if (st == MVB_OK && frame->progressive) st = alloc_masks(w, err);
  int scans = 0;
  while (st == MVB_OK) {
    mvb_jpeg_segment seg;
    st = mvb_jpeg_next(&r, &seg, err);
    if (st != MVB_OK || seg.marker == M_EOI) break;
    if (seg.marker == M_DHT) {
      st = define_tables(w, &seg, err);
    } else if (seg.marker == M_DRI) {
      if (seg.payload_size != 2)
        st = mvb_fail(err, MVB_ERR_IMAGE,
                      "corrupt JPEG: restart interval segment at byte %zu is "
                      "%zu bytes",
                      seg.at, seg.payload_size + 4);
      else
        w->interval = (unsigned)seg.payload[0] << 8 | seg.payload[1];
    } else if (seg.marker == M_SOS) {
      mvb_jpeg_scan s;
      st = mvb_jpeg_parse_scan(&seg, frame, ++scans, &s, err);
      w->s = &s;
      if (st == MVB_OK) st = need_tables(w, err);
      if (st == MVB_OK) st = check_scan(w, bytes, err);
      w->s = NULL;
    }
  }
  for (int i = 0; i < 4; i++) free(w->nonzero[i]);
  free(w);
  return st;
}
