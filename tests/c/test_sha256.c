/* test_sha256.c: src/sha256.c against the FIPS 180-4 example vectors (as
 * NIST's "Example Algorithm" document gives them) and its hex helpers. */
#include "test_util.h"

#include <stdint.h>

#include "sha256.h"

static void expect_digest(const uint8_t *d, const char *want, int line) {
  char hex[MVB_SHA256_HEX];
  mvb_sha256_hex(d, hex);
  EXPECT(strcmp(hex, want) == 0, "(from line %d) %s, expected %s", line, hex,
         want);
}
#define EXPECT_DIGEST(d, want) expect_digest(d, want, __LINE__)

static void hashes_abc(void) {
  uint8_t d[MVB_SHA256_BYTES];
  mvb_sha256("abc", 3, d);
  EXPECT_DIGEST(
      d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void hashes_the_empty_message(void) {
  uint8_t d[MVB_SHA256_BYTES];
  mvb_sha256("", 0, d);
  EXPECT_DIGEST(
      d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* 56 bytes: the padding no longer fits the block, so it takes a second. */
static void hashes_a_message_whose_padding_needs_a_second_block(void) {
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  uint8_t d[MVB_SHA256_BYTES];
  mvb_sha256(m, strlen(m), d);
  EXPECT_DIGEST(
      d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* A million 'a's, fed in pieces of uneven sizes so that every way a piece
 * can meet a block boundary is taken. */
static void hashes_a_million_a_in_uneven_pieces(void) {
  static char a[1000000];
  memset(a, 'a', sizeof a);
  const char *want =
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  uint8_t d[MVB_SHA256_BYTES];
  mvb_sha256(a, sizeof a, d);
  EXPECT_DIGEST(d, want);
  mvb_sha256_ctx c;
  mvb_sha256_init(&c);
  size_t done = 0;
  for (size_t piece = 1; done < sizeof a; piece = piece * 7 % 131 + 1) {
    size_t n = piece < sizeof a - done ? piece : sizeof a - done;
    mvb_sha256_update(&c, a + done, n);
    done += n;
  }
  mvb_sha256_final(&c, d);
  EXPECT_DIGEST(d, want);
}

static void reads_hex_of_either_case_and_nothing_else(void) {
  const char *lower =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const char *upper =
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
  uint8_t d[MVB_SHA256_BYTES], abc[MVB_SHA256_BYTES];
  mvb_sha256("abc", 3, abc);
  EXPECT(mvb_sha256_from_hex(lower, 64, d) && !memcmp(d, abc, sizeof d),
         "lowercase");
  EXPECT(mvb_sha256_from_hex(upper, 64, d) && !memcmp(d, abc, sizeof d),
         "uppercase");
  EXPECT(!mvb_sha256_from_hex(lower, 63, d), "63 digits accepted");
  EXPECT(!mvb_sha256_from_hex("", 0, d), "no digits accepted");
  char bad[65];
  memcpy(bad, lower, 65);
  bad[10] = 'g';
  EXPECT(!mvb_sha256_from_hex(bad, 64, d), "'g' accepted");
}

int main(void) {
  int failed = 0;
  failed += test_run("hashes_abc", hashes_abc);
  failed += test_run("hashes_the_empty_message", hashes_the_empty_message);
  failed += test_run("hashes_a_message_whose_padding_needs_a_second_block",
                     hashes_a_message_whose_padding_needs_a_second_block);
  failed += test_run("hashes_a_million_a_in_uneven_pieces",
                     hashes_a_million_a_in_uneven_pieces);
  failed += test_run("reads_hex_of_either_case_and_nothing_else",
                     reads_hex_of_either_case_and_nothing_else);
  return test_exit(failed);
}
