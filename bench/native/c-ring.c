// c-ring: the ceiling for "what C does" — one producer process and one consumer process
// moving S-byte messages through a shared-memory SPSC ring with the same record format and
// the same message discipline as ringwire (see packages/native/include/ringwire/layout.h).
//
//   c-ring <size> <durationMs>
//   c-ring --print <size> <seq> <tag>    one message as hex (for bench/src/tools/check-frames.mjs)
//   c-ring --self-test                   the checker must catch torn, short and misordered messages
//
// The parent is the consumer and the forked child the producer. The consumer starts a
// warm-up (10% of durationMs) at its first message, then measures durationMs and prints one
// JSON line: {"size","messages","seconds","msgPerSec","bytesPerSec","bad","cpuProducer",
// "cpuConsumer"} (the CPU seconds each process ran inside the window). Exit status 1 if any
// message arrived out of order or torn.
//
// Messages are written and checked as the JS systems do (bench/src/workers/frames.mjs): the
// producer writes every byte (a slice of a 251-periodic pattern, then an 8-byte stamp of the
// seq at both ends); the consumer checks the length, the seq, both stamps of every message,
// and every byte (memcmp) of one message in 16, rotating.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frames.h"

#define LINE 128                      // own 128-byte line per hot word, as in layout.h
#define RECORD_HEADER 8               // uint32 length + uint32 reserved
#define PADDING_LENGTH 0xFFFFFFFFu    // "the rest of the ring is unused"
#define PUBLISH_EVERY 32              // consumer publishes its position this often (records)

struct shared {
  _Alignas(LINE) _Atomic uint32_t producer;  // bytes ever written (wraps mod 2^32)
  _Alignas(LINE) _Atomic uint32_t consumer;  // bytes ever consumed
  _Alignas(LINE) _Atomic uint32_t stop;      // set by the consumer when it has measured
  _Alignas(LINE) unsigned char ring[];
};

static inline uint32_t record_size(uint32_t len) { return (RECORD_HEADER + len + 7) & ~7u; }

// A busy wait that stays polite on an oversubscribed machine: PAUSE frees the sibling
// hyperthread, and an occasional sched_yield lets the peer run if both share one core
// (otherwise each hand-off would cost a whole scheduler time slice).
static inline void relax(unsigned *spins) {
  __builtin_ia32_pause();
  if ((++*spins & 1023) == 0) sched_yield();
}

static void produce(struct shared *sh, uint32_t cap, uint32_t size) {
  unsigned char *msg = calloc(1, size);  // the producer's own message, copied into the ring
  const uint32_t mask = cap - 1, rec = record_size(size);
  uint32_t head = 0, tail_cache = 0;  // rigtorp: re-read the consumer only when short of room
  unsigned spins = 0;
  for (uint32_t seq = 0;; seq++) {
    write_message(msg, size, seq, 0);
    uint32_t off = head & mask;
    uint32_t pad = off + rec > cap ? cap - off : 0;  // a record never straddles the end
    while (head + pad + rec - tail_cache > cap) {
      tail_cache = atomic_load_explicit(&sh->consumer, memory_order_acquire);
      if (head + pad + rec - tail_cache <= cap) break;
      if (atomic_load_explicit(&sh->stop, memory_order_relaxed)) return;
      relax(&spins);
    }
    if (pad) {
      uint32_t p = PADDING_LENGTH;
      memcpy(sh->ring + off, &p, 4);
      head += pad;
      off = 0;
    }
    memcpy(sh->ring + off, &size, 4);
    memcpy(sh->ring + off + RECORD_HEADER, msg, size);
    head += rec;
    // Release publishes the record bytes written above to the consumer's acquire load.
    atomic_store_explicit(&sh->producer, head, memory_order_release);
    if (atomic_load_explicit(&sh->stop, memory_order_relaxed)) return;
  }
}

static int consume(struct shared *sh, uint32_t cap, uint32_t size, double duration_s,
                   pid_t child) {
  clockid_t child_clock;
  int have_child_clock = clock_getcpuclockid(child, &child_clock) == 0;
  double cpu_c0 = 0, cpu_p0 = 0, cpu_c = -1, cpu_p = -1;
  unsigned char *own = malloc(size);  // the consumer copies each message out of the ring
  const uint32_t mask = cap - 1;
  uint32_t tail = 0, head_cache = 0, published = 0, unpublished = 0, expected = 0;
  uint64_t count = 0, start_count = 0, end_count = 0, bad = 0;
  double first = 0, start = 0, end = 0;
  const double warmup_s = duration_s / 10;
  // Reading the clock costs about as much as a small message: every 256 records, or on
  // every record once they are big enough for the clock not to matter.
  const uint32_t clock_mask = size >= 4096 ? 0 : 255;
  unsigned spins = 0;
  for (;;) {
    if (tail == head_cache) {
      head_cache = atomic_load_explicit(&sh->producer, memory_order_acquire);
      if (tail == head_cache) {
        // Empty: give the producer all the room before waiting (the layout.h rule).
        if (published != tail) atomic_store_explicit(&sh->consumer, published = tail, memory_order_release);
        unpublished = 0;
        // Back off (128 PAUSEs, ~1.4 us on this Xeon) before looking again. Polling the
        // producer's position while it writes makes both cores trade the position line and
        // the record lines on every message, and throughput then flips between ~15 and
        // ~60 M msg/s (64 B) from run to run; letting a batch build up (B-Queue's
        // observation) gives a steady 75-95 M.
        for (int k = 0; k < 128; k++) __builtin_ia32_pause();
        if ((++spins & 63) == 0) sched_yield();
        // A producer that died would leave us spinning forever.
        if ((spins & 0xFFFF) == 0 && waitpid(child, NULL, WNOHANG) != 0) {
          fprintf(stderr, "c-ring: producer died\n");
          return -1;
        }
        continue;
      }
    }
    const unsigned char *r = sh->ring + (tail & mask);
    uint32_t len;
    memcpy(&len, r, 4);
    if (len == PADDING_LENGTH) {
      tail += cap - (tail & mask);
      continue;
    }
    if (len != size) {
      fprintf(stderr, "c-ring: record length %u, expected %u\n", len, size);
      return -1;  // the ring is corrupt; nothing after this can be trusted
    }
    memcpy(own, r + RECORD_HEADER, size);
    tail += record_size(size);
    if (!message_ok(own, len, size, expected)) bad++;
    expected++;
    count++;
    // Free space every 32 records, or every quarter ring (big records: 32 may not fit).
    if (++unpublished == PUBLISH_EVERY || tail - published >= cap / 4) {
      atomic_store_explicit(&sh->consumer, published = tail, memory_order_release);
      unpublished = 0;
    }
    if ((count & clock_mask) == 0) {
      double t = now_s();
      if (first == 0) {
        first = t;
      } else if (start == 0) {
        if (t - first >= warmup_s) {
          start = t, start_count = count;
          cpu_c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
          cpu_p0 = have_child_clock ? cpu_s(child_clock) : -1;
        }
      } else {
        end = t, end_count = count;
        if (end - start >= duration_s) {
          cpu_c = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_c0;
          cpu_p = have_child_clock && cpu_p0 >= 0 ? cpu_s(child_clock) - cpu_p0 : -1;
          break;
        }
      }
    }
  }
  atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
  double seconds = end - start;
  uint64_t messages = end_count - start_count;
  printf("{\"size\":%u,\"messages\":%llu,\"seconds\":%.6f,\"msgPerSec\":%.1f,\"bytesPerSec\":%.1f,\"bad\":%llu,"
         "\"cpuProducer\":%.6f,\"cpuConsumer\":%.6f}\n",
         size, (unsigned long long)messages, seconds, messages / seconds,
         (double)messages * size / seconds, (unsigned long long)bad, cpu_p, cpu_c);
  return bad ? 1 : 0;
}

// The checker must catch what it is there to catch: a torn middle byte of a fully checked
// message, a wrong last byte, a wrong length, a message out of order; and pass whole ones.
static int self_test(void) {
  const uint32_t size = 1024;
  make_pattern(size);
  unsigned char *m = malloc(size);
  int failures = 0;
  uint32_t full = 0, partial = 0;
  for (uint32_t seq = 0; seq < 512; seq++) {
    write_message(m, size, seq, 0);
    if (!message_ok(m, size, size, seq)) failures++, fprintf(stderr, "whole message %u refused\n", seq);
    m[size / 2] ^= 1;  // torn in the middle: caught exactly when the message is fully checked
    if (message_ok(m, size, size, seq) == fully_checked(seq)) failures++, fprintf(stderr, "torn middle of %u\n", seq);
    fully_checked(seq) ? full++ : partial++;
    m[size / 2] ^= 1;
    m[size - 1] ^= 0x80;
    if (message_ok(m, size, size, seq)) failures++, fprintf(stderr, "wrong last byte of %u passed\n", seq);
    m[size - 1] ^= 0x80;
    if (message_ok(m, size - 1, size, seq)) failures++, fprintf(stderr, "wrong length of %u passed\n", seq);
    if (message_ok(m, size, size, seq + 1)) failures++, fprintf(stderr, "%u passed as %u\n", seq, seq + 1);
  }
  if (full != 32) failures++, fprintf(stderr, "%u of 512 fully checked, not 32\n", full);
  printf("{\"selfTest\":%s,\"fullyChecked\":%u,\"failures\":%d}\n", failures ? "false" : "true", full, failures);
  (void)partial;
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--self-test") == 0) return self_test();
  if (argc == 5 && strcmp(argv[1], "--print") == 0) {
    uint32_t size = (uint32_t)atol(argv[2]), seq = (uint32_t)strtoul(argv[3], NULL, 10), tag = (uint32_t)atol(argv[4]);
    if (size < 2 * STAMP) return 2;
    make_pattern(size);
    unsigned char *m = malloc(size);
    write_message(m, size, seq, tag);
    for (uint32_t i = 0; i < size; i++) printf("%02x", m[i]);
    printf("\n");
    return 0;
  }
  if (argc != 3 || atol(argv[1]) < 1 || atol(argv[2]) < 1) {
    fprintf(stderr, "usage: c-ring <size bytes> <durationMs>\n");
    return 2;
  }
  const uint32_t size = (uint32_t)atol(argv[1]);
  const long duration_ms = atol(argv[2]);
  if (size < 2 * STAMP) {
    fprintf(stderr, "c-ring: messages are at least %u bytes\n", 2 * STAMP);
    return 2;
  }
  make_pattern(size);
  const uint32_t cap = size > (256u << 10) ? 4u << 20 : 1u << 20;
  if (record_size(size) > cap) {
    fprintf(stderr, "c-ring: %u-byte messages do not fit a %u-byte ring\n", size, cap);
    return 2;
  }
  // A safety net: whatever goes wrong, neither process outlives the run by much.
  alarm((unsigned)(duration_ms * 11 / 10000) + 30);

  // MAP_SHARED|MAP_ANONYMOUS survives fork and leaves nothing behind in /dev/shm.
  size_t bytes = sizeof(struct shared) + cap;
  struct shared *sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) {
    perror("c-ring: mmap");
    return 1;
  }
  memset(sh, 0, bytes);  // fault every page in now, not during the run

  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) {
    perror("c-ring: fork");
    return 1;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the producer dies with the consumer
    if (getppid() != parent) _exit(1);  // the consumer died before prctl took effect
    produce(sh, cap, size);
    _exit(0);
  }
  int rc = consume(sh, cap, size, duration_ms / 1000.0, child);
  if (rc < 0) kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  if (rc >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    fprintf(stderr, "c-ring: producer failed (status %d)\n", status);
    return 1;
  }
  return rc < 0 ? 1 : rc;
}
