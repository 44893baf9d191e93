// c-pingpong: round-trip latency floors between two processes over one shared 32-bit word.
//
//   c-pingpong spin <iterations>    both sides busy-wait on the word
//   c-pingpong futex <iterations>   both sides park in FUTEX_WAIT and FUTEX_WAKE the peer
//
// Ping (the parent) writes an odd number 2i+1, pong (the forked child) answers 2i+2 in the
// same word; ping times each round trip with CLOCK_MONOTONIC. A warm-up of iterations/10
// rounds is not recorded. Prints one JSON line {"mode","iterations","p50","p99","p999","mean"}
// with the times in microseconds.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int use_futex;

// Shared (not FUTEX_PRIVATE) futexes: the word lives in a MAP_SHARED mapping seen by two
// processes, and private futexes are keyed by address space.
static void futex_wait(_Atomic uint32_t *w, uint32_t expected) {
  syscall(SYS_futex, w, FUTEX_WAIT, expected, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0); }

// Publish a new value of the word (and, in futex mode, wake the peer parked on it).
static void post(_Atomic uint32_t *w, uint32_t value) {
  atomic_store_explicit(w, value, memory_order_seq_cst);
  if (use_futex) futex_wake(w);
}

// Wait until the word, now `current`, holds `want`. Spin mode busy-waits (PAUSE, plus an
// occasional sched_yield so two spinners sharing one core still make progress); futex mode
// always enters FUTEX_WAIT, which returns at once if the word has already changed.
static void wait_for(_Atomic uint32_t *w, uint32_t current, uint32_t want) {
  if (use_futex) {
    do futex_wait(w, current);
    while (atomic_load_explicit(w, memory_order_acquire) != want);
  } else {
    unsigned spins = 0;
    while (atomic_load_explicit(w, memory_order_acquire) != want) {
      __builtin_ia32_pause();
      if ((++spins & 1023) == 0) sched_yield();
    }
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

// Nearest-rank percentile of sorted samples, in microseconds.
static double pct(const uint64_t *s, long n, double p) {
  long i = (long)(p * n + 0.999999) - 1;
  return s[i < 0 ? 0 : i >= n ? n - 1 : i] / 1000.0;
}

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("c-pingpong: sched_setaffinity");
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (strcmp(argv[1], "spin") && strcmp(argv[1], "futex")) || atol(argv[2]) < 1 ||
      (argc == 4 && strcmp(argv[3], "pin"))) {
    fprintf(stderr, "usage: c-pingpong spin|futex <iterations> [pin]\n");
    return 2;
  }
  // "pin": ping on CPU 0, pong on CPU 1, the placement the Node pairs get too. Without it
  // the scheduler decides, and a futex round trip on one CPU is ~30x faster than across two.
  const int pin = argc == 4;
  use_futex = strcmp(argv[1], "futex") == 0;
  const long n = atol(argv[2]), warmup = n / 10, rounds = warmup + n;
  alarm(120);  // a safety net: never outlive a stuck run

  // The word gets a page to itself: nothing else shares its cache line.
  _Atomic uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint64_t *samples = malloc(n * sizeof *samples);
  if (w == MAP_FAILED || !samples) {
    perror("c-pingpong: memory");
    return 1;
  }
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) {
    perror("c-pingpong: fork");
    return 1;
  }
  if (pin) pin_to(child == 0 ? 1 : 0);
  if (child == 0) {  // pong: wait for 2i+1, answer 2i+2
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    for (long i = 0; i < rounds; i++) {
      wait_for(w, (uint32_t)(2 * i), (uint32_t)(2 * i + 1));
      post(w, (uint32_t)(2 * i + 2));
    }
    _exit(0);
  }
  for (long i = 0; i < rounds; i++) {
    uint64_t t0 = now_ns();
    post(w, (uint32_t)(2 * i + 1));
    wait_for(w, (uint32_t)(2 * i + 1), (uint32_t)(2 * i + 2));
    if (i >= warmup) samples[i - warmup] = now_ns() - t0;
  }
  int status;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "c-pingpong: pong failed (status %d)\n", status);
    return 1;
  }
  double sum = 0;
  for (long i = 0; i < n; i++) sum += samples[i];
  qsort(samples, n, sizeof *samples, by_value);
  printf("{\"mode\":\"%s\",\"iterations\":%ld,\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"mean\":%.3f}\n",
         argv[1], n, pct(samples, n, 0.5), pct(samples, n, 0.99), pct(samples, n, 0.999),
         sum / n / 1000.0);
  return 0;
}
