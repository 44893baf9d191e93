// frames.h — the message format of bench/src/workers/frames.mjs, for the C baselines (c-ring.c,
// sysv-ipc.c): bytes 0-7 and the last 8 bytes are the stamp (seq LE, the tag, the low 24 bits
// of ~seq LE); bytes 8..size-8 are PATTERN[start + 8 ..] with start = (seq + 31 * tag) mod 251,
// PATTERN[i] = ((i mod 251) * 73 + 41) mod 256. A producer writes every byte; a consumer
// checks the length, the seq, both stamps of every message, and every byte (memcmp) of one
// message in 16, rotating. Also the clocks both programs read.
#ifndef RINGWIRE_BENCH_FRAMES_H
#define RINGWIRE_BENCH_FRAMES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PERIOD 251u
#define STAMP 8u
static unsigned char *pattern;  // PERIOD + size bytes

static void make_pattern(uint32_t size) {
  pattern = malloc(PERIOD + size);
  for (uint32_t i = 0; i < PERIOD + size; i++) pattern[i] = (unsigned char)(((i % PERIOD) * 73 + 41) & 0xff);
}

static inline uint32_t pattern_start(uint32_t seq, uint32_t tag) { return (uint32_t)(((uint64_t)seq + 31u * tag) % PERIOD); }
static inline int fully_checked(uint32_t seq) { return (seq & 15) == ((seq >> 4) & 15); }

static inline void write_stamp(unsigned char *at, uint32_t seq, uint32_t tag) {
  uint32_t not = ~seq;
  memcpy(at, &seq, 4);  // little-endian on x86
  at[4] = (unsigned char)tag;
  at[5] = (unsigned char)not;
  at[6] = (unsigned char)(not >> 8);
  at[7] = (unsigned char)(not >> 16);
}

static inline void write_message(unsigned char *m, uint32_t size, uint32_t seq, uint32_t tag) {
  if (size > 2 * STAMP) memcpy(m, pattern + pattern_start(seq, tag), size);
  write_stamp(m, seq, tag);
  write_stamp(m + size - STAMP, seq, tag);
}

// 1 if the message of `len` bytes is message `seq` of a `size`-byte stream, whole.
static inline int message_ok(const unsigned char *m, uint32_t len, uint32_t size, uint32_t seq) {
  if (len != size) return 0;
  unsigned char want[STAMP];
  write_stamp(want, seq, 0);
  if (memcmp(m, want, STAMP) != 0 || memcmp(m + len - STAMP, want, STAMP) != 0) return 0;
  if (len <= 2 * STAMP || !fully_checked(seq)) return 1;
  uint32_t start = pattern_start(seq, 0);
  return memcmp(m + STAMP, pattern + start + STAMP, len - 2 * STAMP) == 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// CPU seconds a process has run (all its threads), from its CPU-time clock.
static double cpu_s(clockid_t clock) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif  // RINGWIRE_BENCH_FRAMES_H
