// sysv-ipc: the System V baselines — a message queue (msgsnd / msgrcv) and a shared-memory
// ring (shmget / shmat) whose ends wait on a System V semaphore set (semget / semop) — each
// between two C processes, moving S-byte messages written and checked as c-ring.c (and
// bench/src/workers/frames.mjs) does them.
//
//   sysv-ipc mq <size> <durationMs>        throughput, one msgsnd / msgrcv per message (mtype 1)
//   sysv-ipc shm <size> <durationMs>       throughput, one semop on each side of every message
//   sysv-ipc mq-pingpong <iterations> [pin]    64-byte round trips over one queue (mtype 1 / 2)
//   sysv-ipc shm-pingpong <iterations> [pin]   64-byte round trips through a shared segment,
//                                              each side parked in semop until the other posts
//   sysv-ipc --print <size> <seq> <tag>    one message as hex (bench/src/tools/check-frames.mjs)
//   sysv-ipc --self-test                   the checker must catch torn, short and misordered messages
//
// Throughput: the parent is the consumer and the forked child the producer; the consumer
// warms up for a tenth of durationMs from its first message, then measures durationMs and
// prints one JSON line {"size","messages","seconds","msgPerSec","bytesPerSec","bad",
// "cpuProducer","cpuConsumer",...} as c-ring does ("qbytes": the queue's byte limit; "slots":
// the ring's). Ping-pong: the parent pings, the child pongs; one JSON line {"p50","p99",
// "p999","mean"} in microseconds, iterations / 10 warm-up rounds dropped.
//
// Nothing is left behind: the segment is marked IPC_RMID as soon as both processes have it
// attached (it goes when the last detaches, even after SIGKILL). A queue and a semaphore set
// have no attach count: the parent removes them (IPC_RMID) when it is done, on failure, and
// on SIGTERM, SIGINT, SIGHUP, SIGPIPE and SIGALRM (the safety net); the harness stops it with
// SIGTERM, never SIGKILL, and a harness killed outright leaves it to finish its run and remove
// them itself. The child dies with the parent (PR_SET_PDEATHSIG).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frames.h"

// ---- the kernel objects, removed on every way out ------------------------------------------
static volatile sig_atomic_t msqid = -1, semid = -1;
static pid_t child_pid = -1;

static void remove_ids(void) {
  if (msqid >= 0) msgctl(msqid, IPC_RMID, NULL), msqid = -1;
  if (semid >= 0) semctl(semid, 0, IPC_RMID), semid = -1;
}

static void on_signal(int sig) {
  remove_ids();
  if (child_pid > 0) kill(child_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void) {
  // SIGPIPE too: a harness killed outright closes our stdout before we report.
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGPIPE};
  for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], on_signal);
  atexit(remove_ids);
}

static void die(const char *what) {
  fprintf(stderr, "sysv-ipc: %s: %s\n", what, strerror(errno));
  exit(1);  // atexit removes what the parent made
}

// semop on one semaphore, retried across EINTR; 0, or -1 (EIDRM / EINVAL once removed).
static int sem_add(int id, unsigned short num, short delta) {
  struct sembuf op = {num, delta, 0};
  while (semop(id, &op, 1) != 0) {
    if (errno != EINTR) return -1;
  }
  return 0;
}

static pid_t fork_child(void) {
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGPIPE};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
  } else {
    child_pid = child;
  }
  return child;
}

// ---- throughput: the consumer's window (as c-ring's) ----------------------------------------
struct window {
  double duration_s, warmup_s, first, start, end, cpu_c0, cpu_p0, cpu_c, cpu_p;
  uint64_t count, start_count, end_count, bad;
  uint32_t clock_mask;
  clockid_t child_clock;
  int have_child_clock;
};

static void window_init(struct window *w, uint32_t size, double duration_s, pid_t child) {
  memset(w, 0, sizeof *w);
  w->duration_s = duration_s;
  w->warmup_s = duration_s / 10;
  w->clock_mask = size >= 4096 ? 0 : 255;
  w->cpu_c = w->cpu_p = -1;
  w->have_child_clock = clock_getcpuclockid(child, &w->child_clock) == 0;
}

// After each message: 1 once the window is complete.
static int window_tick(struct window *w) {
  w->count++;
  if ((w->count & w->clock_mask) != 0) return 0;
  double t = now_s();
  if (w->first == 0) {
    w->first = t;
  } else if (w->start == 0) {
    if (t - w->first >= w->warmup_s) {
      w->start = t, w->start_count = w->count;
      w->cpu_c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
      w->cpu_p0 = w->have_child_clock ? cpu_s(w->child_clock) : -1;
    }
  } else {
    w->end = t, w->end_count = w->count;
    if (w->end - w->start >= w->duration_s) {
      w->cpu_c = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - w->cpu_c0;
      w->cpu_p = w->have_child_clock && w->cpu_p0 >= 0 ? cpu_s(w->child_clock) - w->cpu_p0 : -1;
      return 1;
    }
  }
  return 0;
}

static void window_print(const struct window *w, uint32_t size, const char *extra) {
  double seconds = w->end - w->start;
  uint64_t messages = w->end_count - w->start_count;
  printf("{\"size\":%u,\"messages\":%llu,\"seconds\":%.6f,\"msgPerSec\":%.1f,\"bytesPerSec\":%.1f,\"bad\":%llu,"
         "\"cpuProducer\":%.6f,\"cpuConsumer\":%.6f%s}\n",
         size, (unsigned long long)messages, seconds, messages / seconds, (double)messages * size / seconds,
         (unsigned long long)w->bad, w->cpu_p, w->cpu_c, extra);
  fflush(stdout);
}

// The producer's exit status, once the consumer has stopped it: 0 when it left cleanly.
static int reap(void) {
  int status;
  waitpid(child_pid, &status, 0);
  child_pid = -1;
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    fprintf(stderr, "sysv-ipc: producer failed (status %d)\n", status);
    return 1;
  }
  return 0;
}

struct mq_message {
  long mtype;
  unsigned char text[];
};

static int mq_run(uint32_t size, double duration_s) {
  // msgsnd refuses messages above msgmax (EINVAL), whatever the caller's capabilities.
  FILE *f = fopen("/proc/sys/kernel/msgmax", "r");
  unsigned long msgmax = 8192;  // the kernel default
  if (f) {
    if (fscanf(f, "%lu", &msgmax) != 1) msgmax = 8192;
    fclose(f);
  }
  if (size > msgmax) {
    fprintf(stderr, "sysv-ipc: %u-byte messages are above /proc/sys/kernel/msgmax (%lu bytes)\n", size, msgmax);
    return 2;
  }
  // IPC_PRIVATE: a new queue only these two processes know of (0600).
  msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (msqid < 0) die("msgget");
  // As deep as 1 MiB of messages if the kernel lets us (CAP_SYS_RESOURCE may raise
  // msg_qbytes above msgmnb), else msgmnb bytes (16 KiB by default).
  struct msqid_ds ds;
  if (msgctl(msqid, IPC_STAT, &ds) != 0) die("msgctl IPC_STAT");
  if (ds.msg_qbytes < (1u << 20)) {
    msglen_t was = ds.msg_qbytes;
    ds.msg_qbytes = 1u << 20;
    if (msgctl(msqid, IPC_SET, &ds) != 0) ds.msg_qbytes = was;
  }
  struct mq_message *m = calloc(1, sizeof *m + size);
  m->mtype = 1;
  if (fork_child() == 0) {
    for (uint32_t seq = 0;; seq++) {
      write_message(m->text, size, seq, 0);
      while (msgsnd(msqid, m, size, 0) != 0) {
        if (errno == EINTR) continue;
        _exit(errno == EIDRM || errno == EINVAL ? 0 : 1);  // removed: the consumer is done
      }
    }
  }
  struct window w;
  window_init(&w, size, duration_s, child_pid);
  for (uint32_t expected = 0;; expected++) {
    ssize_t n = msgrcv(msqid, m, size, 1, 0);
    if (n < 0) {
      if (errno == EINTR) { expected--; continue; }
      die("msgrcv");
    }
    if (!message_ok(m->text, (uint32_t)n, size, expected)) w.bad++;
    if (window_tick(&w)) break;
  }
  remove_ids();  // the producer's msgsnd fails with EIDRM and it leaves
  char extra[64];
  snprintf(extra, sizeof extra, ",\"qbytes\":%lu", (unsigned long)ds.msg_qbytes);
  window_print(&w, size, extra);
  return reap() || (w.bad ? 1 : 0);
}

// The shared ring: `slots` fixed slots of `slot` bytes (a uint32 length, then the message);
// semaphore DATA counts the filled slots, SPACE the free ones.
enum { DATA = 0, SPACE = 1 };
struct ring {
  _Alignas(128) _Atomic uint32_t stop;
  _Alignas(128) unsigned char slots[];
};

static int attach_private(size_t bytes, struct ring **out) {
  int shmid = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
  if (shmid < 0) die("shmget");
  void *at = shmat(shmid, NULL, 0);
  if (at == (void *)-1) {
    shmctl(shmid, IPC_RMID, NULL);
    die("shmat");
  }
  *out = at;
  return shmid;
}

static void make_semaphores(unsigned short data, unsigned short space) {
  semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (semid < 0) die("semget");
  unsigned short values[2] = {data, space};
  if (semctl(semid, 0, SETALL, values) != 0) die("semctl SETALL");
}

static int shm_run(uint32_t size, double duration_s) {
  const uint32_t cap = size > (256u << 10) ? 4u << 20 : 1u << 20;  // as c-ring's ring
  const uint32_t slot = (8 + size + 7) & ~7u;
  uint32_t slots = cap / slot;
  if (slots < 2) slots = 2;
  if (slots > 16384) slots = 16384;  // below SEMVMX (32767)
  struct ring *r;
  const size_t bytes = sizeof(struct ring) + (size_t)slots * slot;
  int shmid = attach_private(bytes, &r);
  memset(r, 0, bytes);  // fault every page in now
  make_semaphores(0, (unsigned short)slots);
  if (fork_child() == 0) {  // the child inherits the attachment
    unsigned char *msg = calloc(1, size);
    for (uint32_t seq = 0;; seq++) {
      write_message(msg, size, seq, 0);
      if (sem_add(semid, SPACE, -1) != 0) _exit(errno == EIDRM || errno == EINVAL ? 0 : 1);
      if (atomic_load_explicit(&r->stop, memory_order_relaxed)) _exit(0);
      unsigned char *s = r->slots + (size_t)(seq % slots) * slot;
      memcpy(s, &size, 4);
      memcpy(s + 8, msg, size);
      if (sem_add(semid, DATA, 1) != 0) _exit(errno == EIDRM || errno == EINVAL ? 0 : 1);
    }
  }
  shmctl(shmid, IPC_RMID, NULL);  // both attached: it goes when both detach, however they end
  unsigned char *own = malloc(size);  // the consumer copies each message out of the ring
  struct window w;
  window_init(&w, size, duration_s, child_pid);
  for (uint32_t expected = 0;; expected++) {
    if (sem_add(semid, DATA, -1) != 0) die("semop (data)");
    const unsigned char *s = r->slots + (size_t)(expected % slots) * slot;
    uint32_t len;
    memcpy(&len, s, 4);
    if (len != size) {
      fprintf(stderr, "sysv-ipc: record length %u, expected %u\n", len, size);
      return 1;
    }
    memcpy(own, s + 8, size);
    if (sem_add(semid, SPACE, 1) != 0) die("semop (space)");
    if (!message_ok(own, len, size, expected)) w.bad++;
    if (window_tick(&w)) break;
  }
  atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
  remove_ids();  // a producer parked in semop gets EIDRM and leaves
  char extra[64];
  snprintf(extra, sizeof extra, ",\"slots\":%u", slots);
  window_print(&w, size, extra);
  return reap() || (w.bad ? 1 : 0);
}

// ---- ping-pong -----------------------------------------------------------------------------
#define PP_SIZE 64u
enum { PING = 0, PONG = 1 };

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sysv-ipc: sched_setaffinity");
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint64_t *s, long n, double p) {
  long i = (long)(p * n + 0.999999) - 1;
  return s[i < 0 ? 0 : i >= n ? n - 1 : i] / 1000.0;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int pingpong(int use_mq, long n, int pin) {
  const long rounds = n + n / 10;
  uint64_t *samples = malloc(n * sizeof *samples);
  struct mq_message *m = calloc(1, sizeof *m + PP_SIZE);
  unsigned char *slots = NULL;  // shm: [0] ping's message, [PP_SIZE] pong's echo
  if (use_mq) {
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (msqid < 0) die("msgget");
  } else {
    struct ring *r;
    int shmid = attach_private(sizeof(struct ring) + 2 * PP_SIZE, &r);
    slots = r->slots;
    make_semaphores(0, 0);  // PING: a message waits for pong; PONG: an echo waits for ping
    if (fork_child() != 0) shmctl(shmid, IPC_RMID, NULL);
  }
  if (use_mq) fork_child();
  const int is_pong = child_pid < 0;
  if (pin) pin_to(is_pong ? 1 : 0);
  long bad = 0;
  if (is_pong) {
    for (long i = 0; i < rounds; i++) {
      if (use_mq) {
        while (msgrcv(msqid, m, PP_SIZE, 1, 0) != PP_SIZE) if (errno != EINTR) _exit(1);
        if (!message_ok(m->text, PP_SIZE, PP_SIZE, (uint32_t)i)) bad++;
        m->mtype = 2;
        while (msgsnd(msqid, m, PP_SIZE, 0) != 0) if (errno != EINTR) _exit(1);
      } else {
        if (sem_add(semid, PING, -1) != 0) _exit(1);
        if (!message_ok(slots, PP_SIZE, PP_SIZE, (uint32_t)i)) bad++;
        memcpy(slots + PP_SIZE, slots, PP_SIZE);
        if (sem_add(semid, PONG, 1) != 0) _exit(1);
      }
    }
    _exit(bad ? 3 : 0);
  }
  for (long i = 0; i < rounds; i++) {
    uint64_t t0 = now_ns();
    if (use_mq) {
      m->mtype = 1;
      write_message(m->text, PP_SIZE, (uint32_t)i, 0);
      while (msgsnd(msqid, m, PP_SIZE, 0) != 0) if (errno != EINTR) die("msgsnd");
      while (msgrcv(msqid, m, PP_SIZE, 2, 0) != PP_SIZE) if (errno != EINTR) die("msgrcv");
      if (!message_ok(m->text, PP_SIZE, PP_SIZE, (uint32_t)i)) bad++;
    } else {
      write_message(slots, PP_SIZE, (uint32_t)i, 0);
      if (sem_add(semid, PING, 1) != 0) die("semop (ping)");
      if (sem_add(semid, PONG, -1) != 0) die("semop (pong)");
      if (!message_ok(slots + PP_SIZE, PP_SIZE, PP_SIZE, (uint32_t)i)) bad++;
    }
    if (i >= rounds - n) samples[i - (rounds - n)] = now_ns() - t0;
  }
  int status;
  waitpid(child_pid, &status, 0);
  child_pid = -1;
  remove_ids();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "sysv-ipc: pong failed (status %d)\n", status);
    return 1;
  }
  if (bad) {
    fprintf(stderr, "sysv-ipc: %ld round trips out of order or torn\n", bad);
    return 1;
  }
  double sum = 0;
  for (long i = 0; i < n; i++) sum += samples[i];
  qsort(samples, n, sizeof *samples, by_value);
  printf("{\"mode\":\"%s\",\"iterations\":%ld,\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"mean\":%.3f}\n",
         use_mq ? "mq" : "shm", n, pct(samples, n, 0.5), pct(samples, n, 0.99), pct(samples, n, 0.999), sum / n / 1000.0);
  return 0;
}

// ---- the checker's self-test (as c-ring's) -------------------------------------------------
static int self_test(void) {
  const uint32_t size = 1024;
  make_pattern(size);
  unsigned char *m = malloc(size);
  int failures = 0;
  uint32_t full = 0;
  for (uint32_t seq = 0; seq < 512; seq++) {
    write_message(m, size, seq, 0);
    if (!message_ok(m, size, size, seq)) failures++, fprintf(stderr, "whole message %u refused\n", seq);
    m[size / 2] ^= 1;
    if (message_ok(m, size, size, seq) == fully_checked(seq)) failures++, fprintf(stderr, "torn middle of %u\n", seq);
    if (fully_checked(seq)) full++;
    m[size / 2] ^= 1;
    m[size - 1] ^= 0x80;
    if (message_ok(m, size, size, seq)) failures++, fprintf(stderr, "wrong last byte of %u passed\n", seq);
    m[size - 1] ^= 0x80;
    if (message_ok(m, size - 1, size, seq)) failures++, fprintf(stderr, "wrong length of %u passed\n", seq);
    if (message_ok(m, size, size, seq + 1)) failures++, fprintf(stderr, "%u passed as %u\n", seq, seq + 1);
  }
  if (full != 32) failures++, fprintf(stderr, "%u of 512 fully checked, not 32\n", full);
  printf("{\"selfTest\":%s,\"fullyChecked\":%u,\"failures\":%d}\n", failures ? "false" : "true", full, failures);
  return failures ? 1 : 0;
}

static int usage(void) {
  fprintf(stderr, "usage: sysv-ipc mq|shm <size bytes> <durationMs>\n"
                  "       sysv-ipc mq-pingpong|shm-pingpong <iterations> [pin]\n"
                  "       sysv-ipc --print <size> <seq> <tag> | --self-test\n");
  return 2;
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
  if (argc < 3) return usage();
  const int mq = strcmp(argv[1], "mq") == 0, shm = strcmp(argv[1], "shm") == 0;
  const int mq_pp = strcmp(argv[1], "mq-pingpong") == 0, shm_pp = strcmp(argv[1], "shm-pingpong") == 0;
  install_handlers();
  if (mq_pp || shm_pp) {
    const long n = atol(argv[2]);
    if (n < 1 || argc > 4 || (argc == 4 && strcmp(argv[3], "pin") != 0)) return usage();
    make_pattern(PP_SIZE);
    alarm(120);  // the safety net: never outlive a stuck run
    return pingpong(mq_pp, n, argc == 4);
  }
  if ((!mq && !shm) || argc != 4 || atol(argv[2]) < 1 || atol(argv[3]) < 1) return usage();
  const uint32_t size = (uint32_t)atol(argv[2]);
  const long duration_ms = atol(argv[3]);
  if (size < 2 * STAMP) {
    fprintf(stderr, "sysv-ipc: messages are at least %u bytes\n", 2 * STAMP);
    return 2;
  }
  make_pattern(size);
  alarm((unsigned)(duration_ms * 11 / 10000) + 30);
  return mq ? mq_run(size, duration_ms / 1000.0) : shm_run(size, duration_ms / 1000.0);
}
