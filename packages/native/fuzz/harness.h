// What the libFuzzer harnesses (fuzz_*.cc) share: the ringwire headers under virtual time,
// segment images in sealed memfds, the receive harnesses' input format, the errors an outcome
// may end in, and the checks run after every iteration (no descriptor, mapping reference or
// role lock left behind). README.md says what each harness covers; make_seeds.cc writes the
// seed corpora in this format.
//
// Every wait is bounded, and none takes real time: while an iteration runs, the ringwire
// headers see virtual time. This file renames, for those headers alone (every system header is
// included first), the calls through which they read the clock and wait:
//   clock_gettime(CLOCK_MONOTONIC)  each read moves the clock on by the input's step (2..257
//                   ms), as if the process were descheduled between two reads (a schedule any
//                   peer must survive); after kClockBudget reads in one iteration, by an hour
//                   (whatever still waits gives up at its next look)
//   nanosleep       moves the clock on by the time asked for, and returns at once
//   sched_yield     returns at once (nobody else runs)
//   syscall(SYS_futex)  FUTEX_WAIT returns EAGAIN if the word differs, else moves the clock on
//                   by its timeout and returns ETIMEDOUT (nobody else could wake it); FUTEX_WAKE
//                   wakes nobody
//   sem_clockwait, sem_wait  take a token if there is one (sem_trywait), else move the clock to
//                   the deadline and return ETIMEDOUT
// So a Settle wait (broadcast.h: up to PARK_SLICE_MS) ends after a bounded number of reads, the
// deadlines of recv()/send() pass, parks return, all in microseconds, and an iteration is
// deterministic: it reads no real time. Outside an iteration (make_seeds.cc) everything is real.
// libFuzzer's own clock is untouched.
#ifndef RINGWIRE_FUZZ_HARNESS_H_
#define RINGWIRE_FUZZ_HARNESS_H_

// Every system and standard header the ringwire headers include, before the renames below (so
// that none of them sees them).
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace fuzz {

// --- virtual time (see above) ------------------------------------------------------------------

struct VirtualTime {
  static constexpr uint32_t kClockBudget = 1024;
  static constexpr int64_t kHourNs = 3'600'000'000'000;
  bool active = false;
  int64_t now_ns = 0;
  int64_t step_ns = 0;
  uint32_t reads = 0;
};
inline VirtualTime g_time;

inline int64_t ns_of(const timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }
inline timespec timespec_of(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}
inline void advance_by(int64_t ns) {
  if (ns > 0) g_time.now_ns += ns < VirtualTime::kHourNs ? ns : VirtualTime::kHourNs;
}
inline void advance_to(int64_t ns) {
  if (ns > g_time.now_ns) advance_by(ns - g_time.now_ns);
}

inline int virtual_clock_gettime(clockid_t id, timespec* ts) {
  if (!g_time.active || id != CLOCK_MONOTONIC) return ::clock_gettime(id, ts);
  advance_by(++g_time.reads <= VirtualTime::kClockBudget ? g_time.step_ns : VirtualTime::kHourNs);
  *ts = timespec_of(g_time.now_ns);
  return 0;
}

inline int virtual_nanosleep(const timespec* request, timespec* remain) {
  if (!g_time.active) return ::nanosleep(request, remain);
  advance_by(ns_of(*request));
  if (remain != nullptr) *remain = timespec{0, 0};
  return 0;
}

inline int virtual_sched_yield() { return g_time.active ? 0 : ::sched_yield(); }

template <typename Word, typename Op, typename Value, typename Timeout, typename... Rest>
long virtual_futex(Word word, Op op, Value value, Timeout timeout, Rest... rest) {
  const int command = static_cast<int>(op) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  if (command == FUTEX_WAKE) return 0;
  if (command != FUTEX_WAIT) return ::syscall(SYS_futex, word, op, value, timeout, rest...);
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != static_cast<uint32_t>(value)) {
    errno = EAGAIN;
    return -1;
  }
  const timespec* limit = timeout;
  advance_by(limit == nullptr ? VirtualTime::kHourNs : ns_of(*limit));
  errno = ETIMEDOUT;
  return -1;
}
template <typename... Args>
long virtual_syscall(long number, Args... args) {
  if constexpr (sizeof...(Args) >= 4) {
    if (g_time.active && number == SYS_futex) return virtual_futex(args...);
  }
  return ::syscall(number, args...);
}

inline int virtual_sem_clockwait(sem_t* sem, clockid_t clock, const timespec* until) {
  if (!g_time.active || clock != CLOCK_MONOTONIC) return ::sem_clockwait(sem, clock, until);
  if (::sem_trywait(sem) == 0) return 0;
  if (errno != EAGAIN) return -1;
  advance_to(ns_of(*until));
  errno = ETIMEDOUT;
  return -1;
}
inline int virtual_sem_wait(sem_t* sem) {
  if (!g_time.active) return ::sem_wait(sem);
  if (::sem_trywait(sem) == 0) return 0;
  if (errno != EAGAIN) return -1;
  advance_by(VirtualTime::kHourNs);
  errno = ETIMEDOUT;
  return -1;
}

// Runs virtual time for one iteration, from the real time it starts at (endpoints live no
// longer than the iteration).
class TimeScope {
 public:
  explicit TimeScope(uint32_t step_ms) {
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    g_time.now_ns = ns_of(now);
    g_time.step_ns = static_cast<int64_t>(step_ms) * 1'000'000;
    g_time.reads = 0;
    g_time.active = true;
  }
  ~TimeScope() { g_time.active = false; }
  TimeScope(const TimeScope&) = delete;
  TimeScope& operator=(const TimeScope&) = delete;
};

}  // namespace fuzz

// Function-like, so that only calls are renamed (segment.h's Error has a parameter named
// syscall, and an accessor syscall() that becomes ringwire_fuzz_syscall() in these files: the
// harnesses do not call it).
template <typename... Args>
long ringwire_fuzz_syscall(long number, Args... args) {
  return ::fuzz::virtual_syscall(number, args...);
}
#define clock_gettime(...) ::fuzz::virtual_clock_gettime(__VA_ARGS__)
#define nanosleep(...) ::fuzz::virtual_nanosleep(__VA_ARGS__)
#define sched_yield() ::fuzz::virtual_sched_yield()
#define syscall(...) ringwire_fuzz_syscall(__VA_ARGS__)
#define sem_clockwait(...) ::fuzz::virtual_sem_clockwait(__VA_ARGS__)
#define sem_wait(...) ::fuzz::virtual_sem_wait(__VA_ARGS__)
#include "ringwire/broadcast.h"
#include "ringwire/mpmc.h"
#include "ringwire/segment.h"
#include "ringwire/spsc.h"
#undef clock_gettime
#undef nanosleep
#undef sched_yield
#undef syscall
#undef sem_clockwait
#undef sem_wait

namespace fuzz {

namespace L = ringwire::layout;
using ringwire::MappedSegment;

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "fuzz harness: %s (errno %d: %s)\n", what, errno, std::strerror(errno));
  std::abort();
}

// --- outcomes ------------------------------------------------------------------------------

// What endpoints may throw (contract.h's codes; ERR_RINGWIRE_BUSY when every slot or the role is
// held). fuzz_open lists what opening may throw.
constexpr const char* kEndpointCodes[] = {
    "ERR_RINGWIRE_CORRUPT", "ERR_RINGWIRE_PEER_DEAD", "ERR_RINGWIRE_CUT_OFF", "ERR_RINGWIRE_TIMEOUT",
    "ERR_RINGWIRE_CLOSED",  "ERR_RINGWIRE_TOO_LARGE", "ERR_RINGWIRE_BUSY",
};

// An outcome that is a ringwire::Error: its code must be one `allowed` lists and its message
// must say something; anything else aborts (the fuzzer reports it as a crash).
template <size_t N>
void expect_code(const ringwire::Error& e, const char* const (&allowed)[N], const char* during) {
  for (const char* code : allowed) {
    if (e.code() == code) {
      if (e.what() == nullptr || e.what()[0] == '\0') break;
      return;
    }
  }
  std::fprintf(stderr, "fuzz harness: %s threw an unexpected ringwire error %s: %s\n", during, e.code().c_str(), e.what());
  std::abort();
}
inline void expect_endpoint_error(const ringwire::Error& e, const char* during) { expect_code(e, kEndpointCodes, during); }

// --- leak checks ---------------------------------------------------------------------------

// Descriptors: none an iteration opens may stay open. With `per_iteration` (fuzz_open, whose
// iterations open objects), the lowest free descriptor must be what it was before each
// iteration (an iteration's own come from there up); and every kCountEvery iterations, the
// descriptors open in all (/proc/self/fd) may not have grown by more than kSlack since the
// first count, less the `kept` ones a harness holds on purpose (its cached segments): a leak of
// a descriptor other than the lowest shows there. (In the receive harnesses only the harness
// opens descriptors, outside the iteration's checks: endpoints take locks, they open nothing.)
inline int lowest_free_fd() {
  const int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) die("fcntl(F_DUPFD)");
  close(fd);
  return fd;
}
inline int open_fds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) die("opendir(/proc/self/fd)");
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count - 1;  // not the directory's own
}
class FdCheck {
 public:
  static constexpr uint32_t kCountEvery = 4096;
  static constexpr int kSlack = 16;  // libFuzzer's own (the pipes to its symbolizer, ...)
  explicit FdCheck(bool per_iteration, int kept = 0) : kept_(kept), first_(per_iteration ? lowest_free_fd() : -1) {}
  ~FdCheck() {
    if (first_ >= 0 && lowest_free_fd() != first_) {
      char link[256] = "?";
      const std::string self = "/proc/self/fd/" + std::to_string(first_);
      const ssize_t n = readlink(self.c_str(), link, sizeof link - 1);
      if (n > 0) link[n] = '\0';
      std::fprintf(stderr, "fuzz harness: descriptor %d (%s) is still open after the iteration (a leak)\n", first_, link);
      std::abort();
    }
    static uint32_t iterations = 0;
    static int baseline = -1;
    if (iterations++ % kCountEvery != 0) return;
    const int count = open_fds() - kept_;
    if (baseline < 0) baseline = count;
    if (count > baseline + kSlack) {
      std::fprintf(stderr, "fuzz harness: %d descriptors open, %d at first: leaked by this or an earlier input\n", count,
                   baseline);
      std::abort();
    }
  }
  FdCheck(const FdCheck&) = delete;
  FdCheck& operator=(const FdCheck&) = delete;

 private:
  int kept_;
  int first_;
};

// --- images ----------------------------------------------------------------------------------

// What the identity line says (layout.h), written the way segment.h's write_header does.
struct Identity {
  uint32_t capacity = 1024;
  uint32_t mode = L::MODE_SPSC;
  uint32_t wait = L::WAIT_FUTEX;
  uint32_t default_wait = L::DEFAULT_WAIT_PARK;
  uint32_t flags = 0;
  uint32_t max_message_size = 0;  // 0: the mode's default (segment.h's resolve_max_message_size)
};

inline uint32_t* words_of(uint8_t* image) { return reinterpret_cast<uint32_t*>(image); }

// A valid identity line at the start of `image` (at least HEADER_SIZE bytes).
inline void write_identity(uint8_t* image, const Identity& id) {
  uint32_t* w = words_of(image);
  std::memset(image, 0, L::LINE_SIZE);
  w[L::OFF_VERSION / 4] = L::VERSION;
  w[L::OFF_HEADER_SIZE / 4] = L::HEADER_SIZE;
  w[L::OFF_CAPACITY / 4] = id.capacity;
  w[L::OFF_MODE / 4] = id.mode;
  w[L::OFF_WAIT_MECHANISM / 4] = id.wait;
  w[L::OFF_DEFAULT_WAIT / 4] = id.default_wait;
  w[L::OFF_MAX_MESSAGE / 4] = L::max_message_for(id.capacity);
  w[L::OFF_CREATOR_UID / 4] = static_cast<uint32_t>(geteuid());
  w[L::OFF_CREATOR_PID / 4] = 1;
  w[L::OFF_CREATED_AT_LOW / 4] = 0x6d0a5e00u;
  w[L::OFF_CREATED_AT_HIGH / 4] = 0x190;
  w[L::OFF_RECORD_ALIGNMENT / 4] = L::RECORD_ALIGNMENT;
  w[L::OFF_RECORD_HEADER_SIZE / 4] = L::RECORD_HEADER_SIZE;
  w[L::OFF_FLAGS / 4] = id.flags;
  w[L::OFF_MAX_MESSAGE_SIZE / 4] = ringwire::resolve_max_message_size(id.mode, id.capacity, id.max_message_size);
  w[L::OFF_IDENTITY_CHECK / 4] = ringwire::detail::identity_check(w);
  w[L::OFF_MAGIC / 4] = L::MAGIC;
}

// The two semaphores of a WAIT_SEMAPHORE image, process-shared as segment.h's write_header
// makes them, with `tokens` tokens each (stray ones: a sleeper takes one at once).
inline void init_semaphores(uint8_t* image, unsigned tokens) {
  for (uint32_t offset : {L::OFF_DATA_SEMAPHORE, L::OFF_SPACE_SEMAPHORE}) {
    if (sem_init(reinterpret_cast<sem_t*>(image + offset), 1, tokens) != 0) die("sem_init");
  }
}
// An image in an anonymous memfd (mode 0600 like create_anonymous), sealed against shrinking
// and growing unless `seal` is false; the descriptor is closed with this object.
class Memfd {
 public:
  Memfd(const uint8_t* bytes, size_t length, size_t size, bool seal = true, int seals = 0) {
    fd_ = memfd_create("ringwire-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd_ < 0) die("memfd_create");
    if (fchmod(fd_, 0600) != 0) die("fchmod");
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) die("ftruncate");
    if (length > size) length = size;
    for (size_t done = 0; done < length;) {
      const ssize_t n = pwrite(fd_, bytes + done, length - done, static_cast<off_t>(done));
      if (n <= 0) die("pwrite");
      done += static_cast<size_t>(n);
    }
    if (seal && fcntl(fd_, F_ADD_SEALS, seals != 0 ? seals : F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      die("fcntl(F_ADD_SEALS)");
    }
  }
  ~Memfd() {
    if (fd_ >= 0) close(fd_);
  }
  Memfd(const Memfd&) = delete;
  Memfd& operator=(const Memfd&) = delete;
  int fd() const { return fd_; }
  // A new mapping of it (its own descriptor: role locks held through it conflict with
  // another mapping's, as another process's would).
  std::shared_ptr<MappedSegment> open() const {
    return std::make_shared<MappedSegment>(MappedSegment::Descriptor{fd_});
  }

 private:
  int fd_ = -1;
};

// Opening a mapping (MappedSegment's checks, two mmaps, a descriptor through /proc, and an
// munmap with its TLB shootdown to close it) costs far more than the rest of a receive
// harness's iteration, and fuzz_open covers it: the receive harnesses keep two mappings per
// identity, each with its own descriptor (so role locks taken through one conflict with the
// other's, as another process's would), and copy each image into them. An iteration must leave
// them as it found them: no endpoint holding a reference or a role lock through either.
class SegmentCache {
 public:
  static constexpr size_t kEntries = 160;  // every identity the input can express (144)
  struct Entry {
    Identity identity;
    std::unique_ptr<Memfd> memfd;
    std::shared_ptr<MappedSegment> segment;
    std::shared_ptr<MappedSegment> other;  // the same memory through a second descriptor
    uint64_t used = 0;
  };

  // The entry for this identity, with `image` copied into its mapping.
  Entry& load(const Identity& id, const std::vector<uint8_t>& image) {
    Entry* entry = nullptr;
    for (Entry& e : entries_) {
      if (same(e.identity, id)) entry = &e;
    }
    if (entry == nullptr) {
      if (entries_.size() < kEntries) {
        entries_.emplace_back();
        entry = &entries_.back();
      } else {
        entry = &entries_[0];
        for (Entry& e : entries_) {
          if (e.used < entry->used) entry = &e;
        }
        entry->segment.reset();
        entry->other.reset();
        entry->memfd.reset();
      }
      entry->identity = id;
      entry->memfd = std::make_unique<Memfd>(image.data(), image.size(), image.size());
      entry->segment = entry->memfd->open();  // a valid identity: opening cannot fail
      entry->other = entry->memfd->open();
    }
    entry->used = ++clock_;
    std::memcpy(entry->segment->base(), image.data(), image.size());
    return *entry;
  }

  // After an iteration: nobody kept the mapping or a role lock through it.
  static void check_returned(const Entry& entry) {
    for (const std::shared_ptr<MappedSegment>* mapping : {&entry.segment, &entry.other}) {
      if (mapping->use_count() != 1) {
        std::fprintf(stderr, "fuzz harness: %ld references to a mapping outlive the iteration\n", mapping->use_count() - 1);
        std::abort();
      }
      for (uint32_t role = 0; role < 64; role++) {
        if ((*mapping)->role_held_here(role)) {
          std::fprintf(stderr, "fuzz harness: role lock %u is still held after every endpoint closed\n", role);
          std::abort();
        }
      }
    }
  }

  // The descriptors the cache holds (three per entry: the memfd and the mappings').
  int descriptors() const { return static_cast<int>(entries_.size()) * 3; }

 private:
  static bool same(const Identity& a, const Identity& b) {
    return a.capacity == b.capacity && a.mode == b.mode && a.wait == b.wait && a.default_wait == b.default_wait &&
           a.flags == b.flags && a.max_message_size == b.max_message_size;
  }
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

// --- the receive harnesses' input ------------------------------------------------------------
//
//   [0]        capacity: 1024 << (byte % 3)
//   [1]        image bits (kSemaphore ...)
//   [2]        the virtual clock's step: 2 + byte ms
//   [3]        the harness's own preamble bits
//   [4]        max_message_size: one of kMaxMessageSizes (byte % its length; MPMC: at most the
//              record limit)
//   [5]        WAIT_SEMAPHORE: the tokens each semaphore starts with (byte % 4)
//   [6..8)     unused
//   [8..72)    kOpCount operations of 4 bytes: code, a, b, c (what each does: the harness)
//   [72..240)  the first kLineBytes of each mutable header line 1..7 (producer, consumer, data
//              wait, space wait, state, release/written, delivered): every word the protocols
//              keep there (the semaphores, further along their lines, are the harness's)
//   then       MPMC and broadcast: slots 0..kSlotCount-1 of the slot table, kSlotBytes each
//              (pid, thread, kind, intent/cursor, messages, size/end, ended, lost, cut, ...)
//   then       the ring, up to capacity bytes (zero after the input's end)
//
// Slots kSlotCount..MAX_SLOTS-1 are empty, or with kFillSlots held by dead endpoints (a pid, no
// lock) of one kind, without intent and cut off, so that an opener must take a dead holder's
// slot, slot 0 first (slots.h's third pass), and repair what the input put there. The identity
// takes few values (3 capacities, 2 wait mechanisms, the mode's flag, 12 sizes), so that
// SegmentCache holds a mapping for each; fuzz_open takes any identity.
constexpr size_t kControlBytes = 8;
constexpr size_t kOpCount = 16, kOpBytes = 4;
constexpr size_t kLineCount = 7, kLineBytes = 24;
constexpr size_t kSlotCount = 8, kSlotBytes = 48;
constexpr size_t kOpsAt = kControlBytes;
constexpr size_t kLinesAt = kOpsAt + kOpCount * kOpBytes;
constexpr size_t kSlotsAt = kLinesAt + kLineCount * kLineBytes;

enum ImageBits : uint8_t {
  kSemaphore = 1,        // WAIT_SEMAPHORE (else WAIT_FUTEX)
  kModeFlag = 2,         // MPMC: FLAG_END_WITH_LAST_SENDER; broadcast: FLAG_OVERFLOW_DROP
  kFillSlots = 4,        // slots kSlotCount.. held by dead endpoints
  kFillerReceivers = 8,  // ... of kind receiver (else sender)
  kTwoMappings = 16,     // endpoints use two mappings, each with its own descriptor (else one)
};
constexpr uint32_t kFillerPid = 0x3fffffff;  // above any pid_max: never a live process

// max_message_size choices, for a ring of `capacity` (0: the mode's default).
constexpr size_t kMaxMessageSizes = 12;
inline uint32_t max_message_size_choice(uint8_t byte, uint32_t mode, uint32_t capacity) {
  const uint32_t choices[kMaxMessageSizes] = {
      0, 1, 7, 8, 9, 100, L::fragment_bytes_for(capacity), capacity - 16, capacity - 8, capacity, 3 * capacity + 4,
      L::MAX_MESSAGE_SIZE_LIMIT,
  };
  const uint32_t v = choices[byte % kMaxMessageSizes];
  return mode == L::MODE_MPMC && v > L::max_message_for(capacity) ? 0 : v;
}

struct Op {
  uint8_t code, a, b, c;
};

struct Input {
  Identity identity;
  uint8_t bits = 0, preamble = 0;
  uint32_t step_ms = 2;
  std::array<Op, kOpCount> ops{};
  std::vector<uint8_t> image;  // HEADER_SIZE + capacity bytes
  bool semaphore() const { return identity.wait == L::WAIT_SEMAPHORE; }
};

inline size_t slots_for(uint32_t mode) { return mode == L::MODE_SPSC ? 0 : kSlotCount; }
inline size_t ring_at(uint32_t mode) { return kSlotsAt + slots_for(mode) * kSlotBytes; }

// Reads `n` bytes at `at` of the input, zeros past its end.
inline void take(const uint8_t* data, size_t size, size_t at, void* out, size_t n) {
  auto* dst = static_cast<uint8_t*>(out);
  const size_t have = at >= size ? 0 : size - at < n ? size - at : n;
  if (have != 0) std::memcpy(dst, data + at, have);
  std::memset(dst + have, 0, n - have);
}

// Into `in`, whose image buffer is reused (an allocation per iteration costs page faults: ASan
// hands out fresh memory while freed blocks sit in its quarantine).
inline void decode(Input& in, const uint8_t* data, size_t size, uint32_t mode) {
  in = Input{Identity{}, 0, 0, 2, {}, std::move(in.image)};
  uint8_t control[kControlBytes];
  take(data, size, 0, control, sizeof control);
  Identity& id = in.identity;
  id.mode = mode;
  id.capacity = L::MIN_CAPACITY << (control[0] % 3);
  in.bits = control[1];
  id.wait = (in.bits & kSemaphore) != 0 ? L::WAIT_SEMAPHORE : L::WAIT_FUTEX;
  if ((in.bits & kModeFlag) != 0) {
    id.flags = mode == L::MODE_MPMC ? L::FLAG_END_WITH_LAST_SENDER : mode == L::MODE_BROADCAST ? L::FLAG_OVERFLOW_DROP : 0;
  }
  id.max_message_size = max_message_size_choice(control[4], mode, id.capacity);
  in.step_ms = 2 + control[2];
  in.preamble = control[3];
  for (size_t i = 0; i < kOpCount; i++) {
    uint8_t op[kOpBytes];
    take(data, size, kOpsAt + i * kOpBytes, op, kOpBytes);
    in.ops[i] = Op{op[0], op[1], op[2], op[3]};
  }
  in.image.assign(L::HEADER_SIZE + id.capacity, 0);
  uint8_t* image = in.image.data();
  write_identity(image, id);
  for (size_t line = 0; line < kLineCount; line++) {
    take(data, size, kLinesAt + line * kLineBytes, image + (line + 1) * L::LINE_SIZE, kLineBytes);
  }
  if (in.semaphore()) init_semaphores(image, control[5] % 4);
  const size_t slots = slots_for(mode);
  for (size_t s = 0; s < slots; s++) {
    take(data, size, kSlotsAt + s * kSlotBytes, image + L::OFF_SLOTS + s * L::SLOT_SIZE, kSlotBytes);
  }
  if (slots != 0 && (in.bits & kFillSlots) != 0) {
    for (uint32_t s = kSlotCount; s < L::MAX_SLOTS; s++) {
      uint32_t* slot = words_of(image + L::OFF_SLOTS + s * L::SLOT_SIZE);
      slot[L::SLOT_PID / 4] = kFillerPid;
      slot[L::SLOT_THREAD / 4] = kFillerPid;
      slot[L::SLOT_KIND / 4] = (in.bits & kFillerReceivers) != 0 ? L::KIND_RECEIVER : L::KIND_SENDER;
      slot[L::SLOT_CUT / 4] = 1;
    }
  }
  take(data, size, ring_at(mode), image + L::HEADER_SIZE, id.capacity);
}

// The inverse (make_seeds.cc): the input that decode() turns into `image` (a channel's bytes,
// HEADER_SIZE + capacity, made with an identity decode() can express), with these image bits
// (kFillSlots ...; kSemaphore turns a futex channel into a semaphore one), preamble, clock step
// and operations. The ring's trailing zeros are left out
// (decode() puts them back).
inline std::vector<uint8_t> encode(const std::vector<uint8_t>& image, uint8_t bits, uint8_t preamble, uint8_t step,
                                   const std::array<Op, kOpCount>& ops) {
  const uint32_t* w = reinterpret_cast<const uint32_t*>(image.data());
  const uint32_t capacity = w[L::OFF_CAPACITY / 4], mode = w[L::OFF_MODE / 4];
  uint8_t selector = 0;
  while ((L::MIN_CAPACITY << selector) < capacity) selector++;
  if (w[L::OFF_WAIT_MECHANISM / 4] == L::WAIT_SEMAPHORE) bits |= kSemaphore;  // (or asked for in `bits`)
  if ((w[L::OFF_FLAGS / 4] & (L::FLAG_END_WITH_LAST_SENDER | L::FLAG_OVERFLOW_DROP)) != 0) bits |= kModeFlag;
  uint8_t size_choice = 0;
  const uint32_t max_message_size = w[L::OFF_MAX_MESSAGE_SIZE / 4];
  for (uint8_t i = 0; i < kMaxMessageSizes; i++) {
    if (ringwire::resolve_max_message_size(mode, capacity, max_message_size_choice(i, mode, capacity)) == max_message_size) {
      size_choice = i;
      break;
    }
  }
  std::vector<uint8_t> out(ring_at(mode) + capacity, 0);
  out[0] = selector;
  out[1] = bits;
  out[2] = step;
  out[3] = preamble;
  out[4] = size_choice;
  for (size_t i = 0; i < kOpCount; i++) {
    const Op& op = ops[i];
    const uint8_t b[kOpBytes] = {op.code, op.a, op.b, op.c};
    std::memcpy(out.data() + kOpsAt + i * kOpBytes, b, kOpBytes);
  }
  for (size_t line = 0; line < kLineCount; line++) {
    std::memcpy(out.data() + kLinesAt + line * kLineBytes, image.data() + (line + 1) * L::LINE_SIZE, kLineBytes);
  }
  for (size_t s = 0; s < slots_for(mode); s++) {
    std::memcpy(out.data() + kSlotsAt + s * kSlotBytes, image.data() + L::OFF_SLOTS + s * L::SLOT_SIZE, kSlotBytes);
  }
  std::memcpy(out.data() + ring_at(mode), image.data() + L::HEADER_SIZE, capacity);
  while (out.size() > ring_at(mode) && out.back() == 0) out.pop_back();
  return out;
}

// --- what operations share ---------------------------------------------------------------

// The bytes a send takes its payload from (a message of n <= kPayloadBytes bytes).
constexpr uint32_t kPayloadBytes = 64 * 1024;
inline const uint8_t* payload() {
  static const std::vector<uint8_t> bytes = [] {
    std::vector<uint8_t> b(kPayloadBytes);
    for (uint32_t i = 0; i < kPayloadBytes; i++) b[i] = static_cast<uint8_t>(i * 131 + 7);
    return b;
  }();
  return bytes.data();
}

// A message length from an operation's bytes: small; up to a record; in fragments (up to
// three rings); or one byte more than `max_message` (ERR_RINGWIRE_TOO_LARGE, never read).
inline uint32_t length_of(const Op& op, uint32_t capacity, uint32_t max_message) {
  const uint32_t x = op.a | static_cast<uint32_t>(op.b & 0x3f) << 8;
  uint32_t n;
  switch (op.b >> 6) {
    case 0: n = op.a; break;
    case 1: n = x % (capacity + 1); break;
    case 2: n = capacity + x % (2 * capacity + 1); break;
    default: return max_message == UINT32_MAX ? max_message : max_message + 1;
  }
  return n <= kPayloadBytes ? n : kPayloadBytes;
}

// A timeout for recv()/send(), in (virtual) milliseconds: 0 to 5.1 s.
inline int64_t timeout_of(uint8_t byte) { return int64_t{byte} * 20; }

// A hostile peer writing one word of the segment between two operations: where from a and b,
// what from c. Anywhere (the semaphores too) but the identity line's magic (the copy endpoints
// took is what counts).
inline void scribble(MappedSegment& segment, const Op& op) {
  const uint32_t words = static_cast<uint32_t>(segment.size() / 4);
  const uint32_t offset = ((op.a | static_cast<uint32_t>(op.b) << 8) % words) * 4;
  if (offset == L::OFF_MAGIC) return;
  uint32_t* word = segment.word(offset);
  const uint32_t old = __atomic_load_n(word, __ATOMIC_SEQ_CST);
  const uint32_t k = op.c >> 3;
  uint32_t value;
  switch (op.c & 7) {
    case 0: value = k; break;
    case 1: value = L::PADDING_LENGTH; break;
    case 2: value = ringwire::detail::kStartWord; break;
    case 3: value = old + 8 * k; break;
    case 4: value = old - 8 * k; break;
    case 5: value = segment.identity().capacity << (k & 1); break;
    case 6: value = L::FRAGMENT | (k & 1 ? L::FRAGMENT_LAST : 0) | 8 * k; break;
    default: value = old ^ (1u << (k & 31)); break;
  }
  __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
}

// An iteration ends at its kErrorBudget-th ringwire::Error: each costs an unwind and two
// system calls (ASan's stack unpoisoning), and operations on an endpoint that failed mostly
// fail again.
constexpr int kErrorBudget = 3;

// Bounds a receive loop (each message moves a receiver on by 8 bytes at least, and no send
// runs meanwhile; a lapped broadcast receiver may go back, so this is only a guard).
constexpr int kDrainLimit = 4096;

}  // namespace fuzz

#endif  // RINGWIRE_FUZZ_HARNESS_H_
