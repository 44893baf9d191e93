// ringwire/wait.h — sleeping and waking on a channel's signal words (header-only, C++17,
// Linux): the one implementation of the futex and semaphore calls and of the two doorbells of
// layout.h, used by every mode (spsc.h, mpmc.h, broadcast.h) and by the Node addon (src/). It
// knows the layout's offsets and constants, nothing of the modes' protocols.
//
//   system calls   futex_wait / futex_wake on a 32-bit word; semaphore_wait_until,
//                  post_tokens and return_token on a process-shared sem_t; monotonic time
//   Signal         one signal word of a channel with the wait mechanism fixed at its creation:
//                  a futex on the word, or the semaphore beside it (layout.h, "Semaphores")
//   EpochSemaphoreSleep  how a sleeper on an epoch word takes a semaphore token (sync and,
//                  in slices, the addon's async waits)
//   FlagDoorbell   SPSC (layout.h, "parking"): a waiter count and a 0/1 signal flag
//   EpochDoorbell  MPMC (layout.h, "Waking with several sleepers"): a parked bit per endpoint
//                  slot in two mask words, and an epoch
// Broadcast uses one of each: its one sender parks on a FlagDoorbell (the space line, as
// SPSC's) that receivers ring after publishing their cursors; its receivers park on an
// EpochDoorbell (the data line) that the sender rings after publishing. (The TypeScript's
// FlagToEpochDoorbell and EpochToFlagDoorbell are those pairs, parker and waker.)
//
// A doorbell is the parker's and the waker's halves of one Dekker pair: the parker announces
// itself (seq_cst) and then re-checks its condition; the waker publishes (seq_cst) and then
// loads the announcement. Either the waker sees the parker, or the parker's re-check sees
// what was published. The re-check is the caller's (it knows the condition): announce/arm,
// re-check, sleep, withdraw/clear.
#ifndef RINGWIRE_WAIT_H_
#define RINGWIRE_WAIT_H_

#include <linux/futex.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "layout.h"

namespace ringwire {

// How a wait ended (the addon hands these to TypeScript as layout.WAIT_SIGNALLED and
// layout.WAIT_TIMED_OUT). Signalled covers woken, already different, and interrupted: the
// caller re-checks its condition either way.
enum WaitStatus : int32_t { WAIT_SIGNALLED = 0, WAIT_TIMED_OUT = 1 };

namespace detail {

// --- time ------------------------------------------------------------------------------

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline int64_t monotonic_ms() { return monotonic_ns() / 1'000'000; }

// A duration, or a CLOCK_MONOTONIC time, in nanoseconds as a timespec.
inline timespec timespec_of_ns(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

inline void sleep_ms(int64_t ms) {
  timespec left = timespec_of_ns(ms * 1'000'000);
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// --- futex -----------------------------------------------------------------------------

// Sleeps while *word == expected, for at most timeout_ms (-1: no limit). process_shared =
// false for a word no other process maps (a private futex is cheaper); the signal words of a
// segment are shared.
inline WaitStatus futex_wait(uint32_t* word, uint32_t expected, int64_t timeout_ms, bool process_shared = true) {
  timespec ts = timespec_of_ns(timeout_ms * 1'000'000);
  const long r = syscall(SYS_futex, word, process_shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, expected,
                         timeout_ms >= 0 ? &ts : nullptr, nullptr, 0);
  return r != 0 && errno == ETIMEDOUT ? WAIT_TIMED_OUT : WAIT_SIGNALLED;
}

// Wakes every thread sleeping on the word; returns how many.
inline int futex_wake(uint32_t* word, bool process_shared = true) {
  return static_cast<int>(
      syscall(SYS_futex, word, process_shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0));
}

// --- semaphore -------------------------------------------------------------------------

enum class SemaphoreWait { kTaken, kTimedOut, kFailed };

// The semaphores live in memory a peer can write. glibc's sem_t (64-bit: a value and waiter
// count word, then a `private` word holding the futex flags) aborts the process ("The futex
// facility returned an unexpected error code") when an operation finds garbage in `private`.
// Every semaphore here is process-shared, for which glibc stores exactly kSharedFutexFlags
// there, and nobody writes it after sem_init: so it is put back before every operation that
// reaches the futex. (A peer that rewrites it in the instant between can still abort us: like
// ftruncate's SIGBUS, a limit of a format whose memory peers may write.) The value word needs
// nothing: garbage there makes sem_post fail with EOVERFLOW or wakes a sleeper early.
#if defined(__GLIBC__) && (__SIZEOF_POINTER__ == 8)
constexpr int kSharedFutexFlags = 128;  // glibc's LLL_SHARED (FUTEX_PRIVATE_FLAG, xor-ed in)
static_assert(sizeof(sem_t) == 32, "glibc's 64-bit sem_t");
inline void restore_semaphore_flags(sem_t* sem) {
  int* flags = reinterpret_cast<int*>(reinterpret_cast<uint8_t*>(sem) + 8);
  if (__atomic_load_n(flags, __ATOMIC_RELAXED) != kSharedFutexFlags) {
    __atomic_store_n(flags, kSharedFutexFlags, __ATOMIC_RELAXED);
  }
}
#else
inline void restore_semaphore_flags(sem_t*) {}
#endif

// Takes a token, waiting until deadline_ns (CLOCK_MONOTONIC; -1: no limit); a signal does not
// end the wait. kFailed: any other error (the caller re-checks rather than loop on it).
inline SemaphoreWait semaphore_wait_until(sem_t* sem, int64_t deadline_ns) {
  for (;;) {
    restore_semaphore_flags(sem);
    int r;
    if (deadline_ns < 0) {
      r = sem_wait(sem);
    } else {
      const timespec until = timespec_of_ns(deadline_ns);
      r = sem_clockwait(sem, CLOCK_MONOTONIC, &until);
    }
    if (r == 0) return SemaphoreWait::kTaken;
    if (errno == EINTR) continue;
    return errno == ETIMEDOUT ? SemaphoreWait::kTimedOut : SemaphoreWait::kFailed;
  }
}

// The tokens waiting in a semaphore (-1 if it cannot say).
inline int semaphore_tokens(sem_t* sem) {
  int value = 0;
  return sem_getvalue(sem, &value) == 0 ? value : -1;
}

// Wakes `sleepers` endpoints parked on a semaphore: posts one token for each, less the tokens
// still unconsumed (a woken endpoint that found its condition true leaves its token for its
// next park), so tokens never pile up however many wakes find nobody asleep. At most
// SEMAPHORE_POST_CAP. Returns the posts.
inline int post_tokens(sem_t* sem, uint32_t sleepers) {
  const int value = semaphore_tokens(sem);
  const uint32_t have = value > 0 ? static_cast<uint32_t>(value) : 0;
  const uint32_t want = sleepers > layout::SEMAPHORE_POST_CAP ? layout::SEMAPHORE_POST_CAP : sleepers;
  int posted = 0;
  restore_semaphore_flags(sem);
  for (uint32_t i = have; i < want; i++, posted++) sem_post(sem);
  return posted;
}

// Puts back a token taken for a wait that was cancelled meanwhile: it was meant for another
// sleeper (or the next park).
inline void return_token(sem_t* sem) {
  restore_semaphore_flags(sem);
  sem_post(sem);
}

// --- one signal word -------------------------------------------------------------------

// The semaphore beside a signal word: one per signal word, in the second half of its line.
inline uint32_t semaphore_offset_for(uint32_t signal_offset) {
  return signal_offset == layout::OFF_DATA_SIGNAL ? layout::OFF_DATA_SEMAPHORE : layout::OFF_SPACE_SEMAPHORE;
}
inline sem_t* semaphore_at(uint8_t* base, uint32_t signal_offset) {
  return reinterpret_cast<sem_t*>(base + semaphore_offset_for(signal_offset));
}

// The semaphore side of Signal::sleep_epoch, resumable: sync waits run it to their deadline,
// the addon's async waits in slices (to notice a cancellation between them).
//
// A token taken while the epoch word still holds `expected` was not posted for this sleeper
// (the epoch it armed was never signalled, and an epoch never returns to a value). It was
// posted for a sleeper of an earlier epoch that has not taken it yet: this one woke, re-armed
// the next epoch and came back first. Kept, it would leave that sleeper asleep until its
// slice ends, and every broadcast receiver must wake for every message. So it is given back,
// and this sleeper waits kGiveBackPauseNs before it takes a token again (sem_post wakes the
// waiter that has slept longest). A token nobody takes for kGiveBackNs is a stray one (a
// parker that found its condition true left it): then it is kept, one spurious wake.
class EpochSemaphoreSleep {
 public:
  enum Outcome {
    kChanged,  // the word no longer holds `expected`; no token taken
    kTaken,    // a token this sleeper keeps (a cancelled async wait must return_token it)
    kExpired,  // `until` passed
    kFailed,   // the semaphore wait failed otherwise: re-check rather than loop
  };

  EpochSemaphoreSleep(uint32_t* word, sem_t* semaphore, uint32_t expected)
      : word_(word), semaphore_(semaphore), expected_(expected) {}

  // Sleeps until one of the outcomes, or until `until_ns` (CLOCK_MONOTONIC; -1: no limit).
  // The give-back window started by one call carries over to the next.
  Outcome until(int64_t until_ns) {
    for (;;) {
      // acquire: pairs with the waker's CAS of the word.
      if (__atomic_load_n(word_, __ATOMIC_ACQUIRE) != expected_) return kChanged;
      const SemaphoreWait waited = semaphore_wait_until(semaphore_, until_ns);
      if (waited == SemaphoreWait::kTimedOut) return kExpired;
      if (waited == SemaphoreWait::kFailed) return kFailed;
      if (__atomic_load_n(word_, __ATOMIC_ACQUIRE) != expected_) return kTaken;
      const int64_t now = monotonic_ns();
      if (keep_after_ < 0) keep_after_ = now + kGiveBackNs;
      if (now >= keep_after_) return kTaken;
      return_token(semaphore_);
      const timespec pause = timespec_of_ns(kGiveBackPauseNs);
      nanosleep(&pause, nullptr);
      if (until_ns >= 0 && monotonic_ns() >= until_ns) return kExpired;
    }
  }

 private:
  static constexpr int64_t kGiveBackNs = 2'000'000;
  static constexpr int64_t kGiveBackPauseNs = 100'000;

  uint32_t* word_;
  sem_t* semaphore_;
  uint32_t expected_;
  int64_t keep_after_ = -1;
};

// A signal word of the segment mapped at `base`, slept on and woken with the channel's wait
// mechanism (WAIT_FUTEX or WAIT_SEMAPHORE, from its identity line).
class Signal {
 public:
  // `semaphore`: the signal's semaphore (unnamed in the header, or named), unused on a futex.
  Signal(uint32_t* word, sem_t* semaphore, bool futex) : word_(word), semaphore_(semaphore), futex_(futex) {}

  uint32_t* word() const { return word_; }
  sem_t* semaphore() const { return semaphore_; }
  bool futex() const { return futex_; }

  // Sleeps while the word holds `expected`, for at most timeout_ms (-1: no limit). With a
  // semaphore: only if the word still holds it (acquire: pairs with the waker's CAS of the
  // word), then until a token comes.
  WaitStatus sleep(uint32_t expected, int64_t timeout_ms) const {
    if (futex_) return futex_wait(word_, expected, timeout_ms);
    if (__atomic_load_n(word_, __ATOMIC_ACQUIRE) != expected) return WAIT_SIGNALLED;
    const int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ns() + timeout_ms * 1'000'000;
    return semaphore_wait_until(semaphore_, deadline) == SemaphoreWait::kTimedOut ? WAIT_TIMED_OUT : WAIT_SIGNALLED;
  }

  // An epoch word (EpochDoorbell: several sleepers): as sleep(), but with a semaphore a token
  // taken while the word still holds `expected` may be given back (EpochSemaphoreSleep).
  WaitStatus sleep_epoch(uint32_t expected, int64_t timeout_ms) const {
    if (futex_) return futex_wait(word_, expected, timeout_ms);
    const int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ns() + timeout_ms * 1'000'000;
    EpochSemaphoreSleep sleeper(word_, semaphore_, expected);
    return sleeper.until(deadline) == EpochSemaphoreSleep::kExpired ? WAIT_TIMED_OUT : WAIT_SIGNALLED;
  }

  // Wakes the endpoints sleeping on the word: a futex wakes them all; a semaphore gets a
  // token for each of `sleepers` (post_tokens). Returns the futex's wakes or the posts.
  int wake(uint32_t sleepers) const { return futex_ ? futex_wake(word_) : post_tokens(semaphore_, sleepers); }

 private:
  uint32_t* word_;
  sem_t* semaphore_;
  bool futex_;
};

// --- the SPSC doorbell (layout.h, "parking") ------------------------------------------

// One side's signal flag (0 armed, 1 signalled) and waiter count (0 or 1: one endpoint per
// role). The parker: announce(), re-check, sleep(), withdraw(). The waker: publish with a
// seq_cst store, then ring().
class FlagDoorbell {
 public:
  FlagDoorbell(Signal signal, uint32_t* waiters) : signal_(signal), waiters_(waiters) {}

  // An opener holding the role lock: no other endpoint of its role is parked, so a count is
  // stale (one that died parked).
  void reset() { __atomic_store_n(waiters_, 0, __ATOMIC_SEQ_CST); }

  // seq_cst increment: the Dekker partner of ring()'s load of the count. Then the flag is
  // armed (seq_cst: a ring() after this store finds it 0 and sets it).
  void announce() {
    __atomic_add_fetch(waiters_, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(signal_.word(), 0, __ATOMIC_SEQ_CST);
  }
  WaitStatus sleep(int64_t timeout_ms) const { return signal_.sleep(0, timeout_ms); }
  void withdraw() { __atomic_sub_fetch(waiters_, 1, __ATOMIC_SEQ_CST); }

  // After the caller's seq_cst position store: the seq_cst load of the count pairs with the
  // parker's increment. Only the waker whose CAS 0 -> 1 succeeds makes the system call.
  void ring() const {
    const uint32_t waiters = __atomic_load_n(waiters_, __ATOMIC_SEQ_CST);
    uint32_t armed = 0;
    if (waiters != 0 && __atomic_compare_exchange_n(signal_.word(), &armed, 1, false, __ATOMIC_SEQ_CST,
                                                    __ATOMIC_SEQ_CST)) {
      signal_.wake(waiters);
    }
  }

 private:
  Signal signal_;
  uint32_t* waiters_;
};

// --- the MPMC doorbell (layout.h, "Waking with several sleepers") ----------------------

// One kind's epoch (even: armed, odd: signalled) and parked mask: bit (slot & 31) of the low
// word for slots 0..31, of the high word for 32..63 (slots 48..63 do not exist: a bit there
// is a peer's scribble). The parker: arm(), re-check, sleep(), clear(). The waker: publish
// with a seq_cst store, then ring().
class EpochDoorbell {
 public:
  EpochDoorbell(Signal signal, uint32_t* parked_low, uint32_t* parked_high)
      : signal_(signal), low_(parked_low), high_(parked_high) {}

  // The mask word holding slot's bit (slot < 64), and the bit.
  uint32_t* parked_word(uint32_t slot) const { return slot < 32 ? low_ : high_; }
  static uint32_t bit_of(uint32_t slot) { return 1u << (slot & 31); }

  // Sets slot's bit (seq_cst OR: the Dekker partner of ring()'s loads of the masks), then
  // arms the epoch: an odd one is CASed to the next even value (failing means another
  // parker re-armed it, or a new signal came) and loaded again. False if it is still odd: a
  // wake came in between, so re-check instead of sleeping. Either way clear() the bit after.
  bool arm(uint32_t slot, uint32_t& epoch) {
    __atomic_or_fetch(parked_word(slot), bit_of(slot), __ATOMIC_SEQ_CST);
    uint32_t* word = signal_.word();
    uint32_t e = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if ((e & 1) != 0) {
      uint32_t odd = e;
      __atomic_compare_exchange_n(word, &odd, e + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      e = __atomic_load_n(word, __ATOMIC_SEQ_CST);
      if ((e & 1) != 0) return false;
    }
    epoch = e;
    return true;
  }
  // Sleeps while the epoch is still the even value arm() gave; an epoch never returns to a
  // value a sleeper loaded, so another parker re-arming cannot swallow this one's wake.
  // (A semaphore: see Signal::sleep_epoch.)
  WaitStatus sleep(uint32_t epoch, int64_t timeout_ms) const { return signal_.sleep_epoch(epoch, timeout_ms); }

  // Clears slot's bit (seq_cst, as the OR): the parker after sleeping, or whoever holds the
  // slot's lock (its holder died parked), or anyone for a slot that cannot exist.
  void clear(uint32_t slot) { __atomic_and_fetch(parked_word(slot), ~bit_of(slot), __ATOMIC_SEQ_CST); }

  // After the caller's seq_cst publish: the seq_cst loads of the masks pair with a parker's
  // OR. If anyone is parked, the waker that turns the even epoch odd wakes every sleeper
  // (a semaphore: one token per bit); an odd epoch means another waker already did.
  void ring() const {
    const uint32_t low = __atomic_load_n(low_, __ATOMIC_SEQ_CST);
    const uint32_t high = __atomic_load_n(high_, __ATOMIC_SEQ_CST);
    if ((low | high) == 0) return;
    uint32_t* word = signal_.word();
    uint32_t e = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if ((e & 1) != 0 ||
        !__atomic_compare_exchange_n(word, &e, e + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      return;
    }
    signal_.wake(static_cast<uint32_t>(__builtin_popcount(low) + __builtin_popcount(high)));
  }

 private:
  Signal signal_;
  uint32_t* low_;
  uint32_t* high_;
};

}  // namespace detail
}  // namespace ringwire

#endif  // RINGWIRE_WAIT_H_
