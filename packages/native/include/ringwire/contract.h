// ringwire/contract.h — what the C++ endpoints of every mode (spsc.h, mpmc.h, broadcast.h, and
// a mode added after them) have in common: one shape for a sender and one for a receiver, with
// the TypeScript API's behaviour (the TypeScript's ring/contract.ts mirrors this file), checked
// at compile time by each mode's header; and the pieces each implementation shares: the Status
// of a receive, deadlines, the errors of a wait, the shared stats counters, copies in and out
// of the ring, and fragments (SPSC and broadcast: a message written as a run of records, and
// put together again from them).
//
//   Sender (opened from a MappedSegment, or a std::shared_ptr<MappedSegment> that threads share)
//     bool try_send(const void* data, uint32_t length)       sends if there is room now; false if full
//     void send(const void* data, uint32_t length, int64_t timeout_ms = -1)   waits for room
//     void end()                 end of stream: receivers drain what was sent, then see the end
//     void close() noexcept      gives the endpoint back (idempotent; the destructor runs it)
//     uint32_t max_message() const   the longest message: SPSC and broadcast, the channel's
//                                max_message_size (send() writes one longer than a record in
//                                fragments; try_send() takes only what one record carries);
//                                MPMC, what one record carries
//     bool is_closed() const
//   Receiver
//     Status try_recv(std::vector<uint8_t>& out)             kMessage (copied into out), kEmpty, kEnded
//     bool recv(std::vector<uint8_t>& out, int64_t timeout_ms = -1)   true: a message; false: ended
//     bool ended() const         the stream ended and everything sent before was taken
//     void close() noexcept;  uint32_t max_message() const (the longest message it may get);  bool is_closed() const
//
// A timeout_ms below zero waits for as long as it takes. Errors are ringwire::Error with the
// TypeScript's codes:
//   ERR_RINGWIRE_TIMEOUT    send()/recv(): the timeout passed (nothing was sent or taken; a
//                           message in fragments may have been partly written, and receivers
//                           drop that part when the next message comes)
//   ERR_RINGWIRE_PEER_DEAD  send()/recv() while waiting: the other side is gone and can never
//                           answer. SPSC: the one peer died without closing. MPMC: no endpoint
//                           of the other kind is alive and at least one died without closing.
//                           Broadcast: receivers as SPSC; a sender never (it stops waiting for a
//                           dead receiver). (Everything the dead sent is received first.)
//   ERR_RINGWIRE_CUT_OFF    broadcast receivers: the sender stopped waiting for this one (it
//                           held a 'block' sender back past its lag limit, or looked dead)
//   ERR_RINGWIRE_CLOSED     any call but close() after close(); a send after the stream ended
//                           (this sender's end(), or on MPMC another sender's)
//   ERR_RINGWIRE_TOO_LARGE  a message longer than max_message(); and try_send() of one longer
//                           than one record carries (SPSC and broadcast: send() writes it in
//                           fragments as the receivers make room)
//   ERR_RINGWIRE_CORRUPT    a peer broke the protocol
// Endpoints are not thread-safe: one thread per endpoint.
#ifndef RINGWIRE_CONTRACT_H_
#define RINGWIRE_CONTRACT_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "layout.h"
#include "segment.h"
#include "wait.h"

// Built with ThreadSanitizer: the ring's bytes are copied with atomics (copy_in, copy_out).
#if defined(__SANITIZE_THREAD__)
#define RINGWIRE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RINGWIRE_TSAN 1
#endif
#endif

namespace ringwire {

// What try_recv() found: a message (copied into `out`), none now, or none ever again (the
// stream ended and everything sent before it was taken).
enum class Status { kMessage, kEmpty, kEnded };

namespace detail {

// --- deadlines (CLOCK_MONOTONIC milliseconds; -1: none) -------------------------------

inline int64_t deadline_after(int64_t timeout_ms) { return timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms; }
inline bool deadline_passed(int64_t deadline_ms) { return deadline_ms >= 0 && monotonic_ms() >= deadline_ms; }
// How long one sleep may last: `slice_ms`, or what is left before the deadline if less.
inline int64_t sleep_limit(int64_t slice_ms, int64_t deadline_ms) {
  if (deadline_ms < 0) return slice_ms;
  const int64_t left = deadline_ms - monotonic_ms();
  return left < slice_ms ? (left > 0 ? left : 0) : slice_ms;
}

// --- the errors of the contract (the TypeScript's messages) ----------------------------

[[noreturn]] inline void throw_timeout(const std::string& channel, const char* operation, int64_t timeout_ms) {
  throw Error("ERR_RINGWIRE_TIMEOUT",
              std::string(operation) + " on channel '" + channel + "' timed out after " + std::to_string(timeout_ms) + " ms");
}
// `role`: "sender" or "receiver".
[[noreturn]] inline void throw_closed(const std::string& channel, const char* role) {
  throw Error("ERR_RINGWIRE_CLOSED", std::string(role) + " of channel '" + channel + "' is closed");
}
[[noreturn]] inline void throw_ended(const std::string& channel) {
  throw Error("ERR_RINGWIRE_CLOSED", "channel '" + channel + "' has ended; no more messages can be sent");
}
// A sender opening into an ended channel; `by`: "its sender" or "its senders".
[[noreturn]] inline void throw_ended_at_open(const std::string& channel, const char* by) {
  throw Error("ERR_RINGWIRE_CLOSED",
              "channel '" + channel + "' was ended by " + by + "; unlink it and create it again to send more");
}
[[noreturn]] inline void throw_too_large(const std::string& channel, uint32_t length, uint32_t max_message) {
  throw Error("ERR_RINGWIRE_TOO_LARGE", "a " + std::to_string(length) + "-byte message can never fit channel '" +
                                            channel + "' (at most " + std::to_string(max_message) +
                                            " bytes; create it with a larger capacity, or, for spsc and broadcast "
                                            "channels, a larger max_message_size)");
}
// try_send() given a message longer than one record carries (SPSC and broadcast): such a
// message goes in fragments, written as the receivers make room, which only send() does.
[[noreturn]] inline void throw_too_large_for_one_record(const std::string& channel, uint32_t length,
                                                        uint32_t record_limit) {
  throw Error("ERR_RINGWIRE_TOO_LARGE", "try_send() writes a message into the ring at once or not at all, and channel '" +
                                            channel + "' holds at most " + std::to_string(record_limit) +
                                            " bytes in one record; a " + std::to_string(length) +
                                            "-byte message is sent with send(), which writes it in fragments as the "
                                            "receiver makes room");
}
// SPSC: the one peer (`peer`: "sender" or "receiver"), process `pid`, died without closing.
[[noreturn]] inline void throw_peer_dead(const std::string& channel, const char* peer, uint32_t pid) {
  throw Error("ERR_RINGWIRE_PEER_DEAD", "the " + std::string(peer) + " of channel '" + channel + "' (pid " +
                                            std::to_string(pid) + ") exited without closing; nothing more will arrive from it (a new " +
                                            peer + " may open the channel)");
}
// MPMC: no `peer` is alive, and `dead` of them died without closing.
[[noreturn]] inline void throw_peers_dead(const std::string& channel, const char* peer, uint32_t dead) {
  throw Error("ERR_RINGWIRE_PEER_DEAD", "every " + std::string(peer) + " of channel '" + channel + "' is gone and " +
                                            std::to_string(dead) + " exited without closing; nothing more will come from them (a new " +
                                            peer + " may open the channel)");
}
[[noreturn]] inline void throw_corrupt(const std::string& channel, const std::string& what) {
  throw Error("ERR_RINGWIRE_CORRUPT",
              "channel '" + channel + "' is corrupt: " + what + "; a peer wrote bytes that break the protocol");
}

// --- the ring's bytes ---------------------------------------------------------------

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// The payload into and out of the ring. Plain memcpy normally; under ThreadSanitizer 8-byte
// relaxed atomics, because a reader may copy bytes a writer is overwriting, by design: MPMC, an
// endpoint holding a stale position may load, or try to CAS, a "header" that has meanwhile
// become payload of a later lap (it finds out and discards what it read; a CAS expecting a
// header value fails on payload bytes; TSan counts even a failed CAS as a write); broadcast, a
// receiver the sender laps copies a record as it is overwritten, and discards the copy once
// the sender's intent says so. TSan would report a plain copy. The tail unit's pad bytes
// belong to the record (record_size rounds up to 8), so touching them is fine.
inline void copy_in(uint8_t* dst, const void* src, uint32_t n) {
  if (n == 0) return;
#if defined(RINGWIRE_TSAN)
  const auto* s = static_cast<const uint8_t*>(src);
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, s + i, 8);
    __atomic_store_n(reinterpret_cast<uint64_t*>(dst + i), v, __ATOMIC_RELAXED);
  }
  if (i < n) {
    uint64_t v = 0;
    std::memcpy(&v, s + i, n - i);
    __atomic_store_n(reinterpret_cast<uint64_t*>(dst + i), v, __ATOMIC_RELAXED);
  }
#else
  std::memcpy(dst, src, n);
#endif
}
// `order` (TSan only): a broadcast receiver copies with acquire loads there, so the load of
// the intent after the copy cannot move before it (elsewhere it puts an acquire fence before
// that load, which TSan does not support).
inline void copy_out(std::vector<uint8_t>& out, const uint8_t* src, uint32_t n, int order = __ATOMIC_RELAXED) {
#if defined(RINGWIRE_TSAN)
  out.resize(n);
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t v = __atomic_load_n(reinterpret_cast<const uint64_t*>(src + i), order);
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < n) {
    const uint64_t v = __atomic_load_n(reinterpret_cast<const uint64_t*>(src + i), order);
    std::memcpy(out.data() + i, &v, n - i);
  }
#else
  (void)order;
  out.assign(src, src + n);
#endif
}

// --- fragments (layout.h, "Fragments"): what the SPSC and broadcast protocols share -------

// The length word of a start record (its payload: the message's total length, then 0).
constexpr uint32_t kStartWord = layout::FRAGMENT | layout::FRAGMENT_FIRST | layout::FRAGMENT_START_BYTES;

// The payload bytes of the record whose length word is `word0`: a whole record's length, or a
// fragment's bytes. (Padding is the caller's, checked first.)
inline uint32_t payload_length(uint32_t word0) {
  return (word0 & layout::FRAGMENT) != 0 ? word0 & layout::FRAGMENT_LENGTH_MASK : word0;
}
// The size of the record whose length word is `word0` at ring offset `offset`, or 0 if no
// record can say that: a payload longer than `record_limit` (the identity's max_message), a
// whole record longer than `message_limit` (the channel's max_message_size: no sender writes
// one), a record running past the end of the ring, or a start record that is not exactly
// kStartWord (which also rules out FIRST and LAST together).
inline uint32_t record_extent(uint32_t word0, uint32_t offset, uint32_t capacity, uint32_t record_limit,
                              uint32_t message_limit) {
  constexpr uint32_t kStart = layout::FRAGMENT | layout::FRAGMENT_FIRST;
  if ((word0 & kStart) == kStart && word0 != kStartWord) return 0;
  if ((word0 & layout::FRAGMENT) == 0 && word0 > message_limit) return 0;
  const uint32_t length = payload_length(word0);
  return length <= record_limit && layout::RECORD_HEADER_SIZE + length <= capacity - offset ? layout::record_size(length)
                                                                                            : 0;
}
// Whether the record ends a message: a whole record or a last one. The message counters and
// the walks that count messages ("written", "delivered") count only these.
inline bool ends_message(uint32_t word0) {
  return (word0 & layout::FRAGMENT) == 0 || (word0 & layout::FRAGMENT_LAST) != 0;
}

// A message a sender writes in fragments, and how far it got: next() names the next record (the
// start record, then data records, the last flagged FRAGMENT_LAST), advance() moves past it
// once it is written. Only a message longer than one record carries is written this way.
class Outgoing {
 public:
  Outgoing(const void* data, uint32_t length, uint32_t fragment_bytes)
      : data_(static_cast<const uint8_t*>(data)), length_(length), fragment_bytes_(fragment_bytes), start_{length, 0} {}

  // The next record, for a sender `tail` bytes before the ring's end: a data record carries at
  // most fragment_bytes, and ends at the ring's end rather than pad to it when that is nearer
  // and leaves it 8 bytes at least (else the sender pads, as for any record that does not fit).
  void next(uint32_t tail) {
    if (!started_) {
      word0_ = kStartWord;
      chunk_ = layout::FRAGMENT_START_BYTES;
      return;
    }
    uint32_t chunk = length_ - done_ < fragment_bytes_ ? length_ - done_ : fragment_bytes_;
    if (tail - layout::RECORD_HEADER_SIZE < chunk && tail >= 2 * layout::RECORD_HEADER_SIZE) {
      chunk = tail - layout::RECORD_HEADER_SIZE;
    }
    chunk_ = chunk;
    word0_ = layout::FRAGMENT | (done_ + chunk == length_ ? layout::FRAGMENT_LAST : 0) | chunk;
  }
  uint32_t word0() const { return word0_; }
  uint32_t chunk() const { return chunk_; }
  const void* payload() const { return started_ ? static_cast<const void*>(data_ + done_) : start_; }
  // Whether the record next() named completes the message (the sender counts it then).
  bool last() const { return started_ && done_ + chunk_ == length_; }
  // Past the record next() named; true once that was the last.
  bool advance() {
    if (!started_) {
      started_ = true;
      return false;
    }
    done_ += chunk_;
    return done_ == length_;
  }

 private:
  const uint8_t* data_;
  uint32_t length_, fragment_bytes_;
  uint32_t start_[2];  // the start record's payload: the total, then 0
  uint32_t done_ = 0, word0_ = 0, chunk_ = 0;
  bool started_ = false;
};

// A message a receiver puts together from fragments: begun by a start record, filled by data
// records, handed out whole once the last one is read (layout.h's rules: the caller reports a
// record that breaks them as ERR_RINGWIRE_CORRUPT).
class Assembly {
 public:
  bool active() const { return active_; }
  // Begins a message of `total` bytes, dropping one begun; false if no message of the channel
  // can be that long (1..max_message_size), and then none is begun.
  bool begin(uint32_t total, uint32_t max_message_size) {
    active_ = false;
    if (total == 0 || total > max_message_size) return false;
    bytes_.clear();
    // At most kReserveLimit at once: the total is a peer's claim until its bytes arrive.
    bytes_.reserve(total < kReserveLimit ? total : kReserveLimit);
    total_ = total;
    active_ = true;
    return true;
  }
  uint32_t filled() const { return static_cast<uint32_t>(bytes_.size()); }
  // Whether a data record (`last`: a last record) of `n` bytes may follow what is filled: no
  // more than the total leaves, and a last record exactly that.
  bool fits(uint32_t n, bool last) const {
    const uint32_t left = total_ - filled();
    return n <= left && (n == left) == last;
  }
  // Appends n bytes from the ring (`order` as copy_out's).
  void append(const uint8_t* src, uint32_t n, int order = __ATOMIC_RELAXED) {
#if defined(RINGWIRE_TSAN)
    const size_t at = bytes_.size();
    bytes_.resize(at + n);
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = __atomic_load_n(reinterpret_cast<const uint64_t*>(src + i), order);
      std::memcpy(bytes_.data() + at + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = __atomic_load_n(reinterpret_cast<const uint64_t*>(src + i), order);
      std::memcpy(bytes_.data() + at + i, &v, n - i);
    }
#else
    (void)order;
    bytes_.insert(bytes_.end(), src, src + n);
#endif
  }
  // Takes back an append whose bytes turned out not to be trustworthy (broadcast: I moved).
  void truncate(uint32_t filled) { bytes_.resize(filled); }
  // Hands the whole message over (a swap: `out`'s old buffer is reused for the next one).
  void finish(std::vector<uint8_t>& out) {
    out.swap(bytes_);
    active_ = false;
  }
  void drop() { active_ = false; }

 private:
  static constexpr uint32_t kReserveLimit = 64u << 20;
  std::vector<uint8_t> bytes_;
  uint32_t total_ = 0;
  bool active_ = false;
};

// --- shared words, with the ordering in the name ---------------------------------------

inline uint32_t load_acquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline uint32_t load_seq_cst(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
inline void store_seq_cst(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
inline bool cas32(uint32_t* p, uint32_t expected, uint32_t desired) {
  return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

// The stats counters are float64 (layout.h): read back defensively (a peer may have left
// anything there), written with one 8-byte store.
inline double valid_count(double value) {
  return value >= 0 && value <= 9007199254740991.0 && value == static_cast<double>(static_cast<uint64_t>(value))
             ? value
             : 0;
}
inline double load_count(const uint8_t* base, uint32_t offset) {
  double value;
  const uint64_t bits = __atomic_load_n(reinterpret_cast<const uint64_t*>(base + offset), __ATOMIC_RELAXED);
  std::memcpy(&value, &bits, sizeof value);
  return valid_count(value);
}
inline void store_count(uint8_t* base, uint32_t offset, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(reinterpret_cast<uint64_t*>(base + offset), bits, __ATOMIC_RELAXED);
}
// Adds to a counter other endpoints may add to at the same time (a CAS loop, so no addition
// is lost between this process's endpoints and other C++ peers).
inline void add_count(uint8_t* base, uint32_t offset, double more) {
  auto* word = reinterpret_cast<uint64_t*>(base + offset);
  uint64_t bits = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    double value;
    std::memcpy(&value, &bits, sizeof value);
    value = valid_count(value) + more;
    uint64_t next;
    std::memcpy(&next, &value, sizeof next);
    if (__atomic_compare_exchange_n(word, &bits, next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
  }
}

}  // namespace detail

// --- the shape, checked at compile time --------------------------------------------------

// True if S has the sender shape above; each mode's header instantiates it for its sender, so
// a mode that drifts from the contract does not compile.
template <typename S>
constexpr bool check_sender_shape() {
  static_assert(std::is_constructible_v<S, MappedSegment> && std::is_constructible_v<S, std::shared_ptr<MappedSegment>>,
                "a sender opens from its own mapping, or from one shared with other endpoints");
  static_assert(!std::is_copy_constructible_v<S> && !std::is_copy_assignable_v<S>, "an endpoint owns a lock: not copyable");
  static_assert(std::is_same_v<decltype(std::declval<S&>().try_send(std::declval<const void*>(), uint32_t{})), bool>,
                "bool try_send(const void* data, uint32_t length)");
  static_assert(std::is_same_v<decltype(std::declval<S&>().send(std::declval<const void*>(), uint32_t{}, int64_t{})), void>,
                "void send(const void* data, uint32_t length, int64_t timeout_ms): throws on timeout");
  static_assert(std::is_same_v<decltype(std::declval<S&>().send(std::declval<const void*>(), uint32_t{})), void>,
                "send's timeout defaults to none");
  static_assert(std::is_same_v<decltype(std::declval<S&>().end()), void>, "void end()");
  static_assert(std::is_same_v<decltype(std::declval<S&>().close()), void> && noexcept(std::declval<S&>().close()),
                "void close() noexcept");
  static_assert(std::is_nothrow_destructible_v<S>, "the destructor closes, and never throws");
  static_assert(std::is_same_v<decltype(std::declval<const S&>().max_message()), uint32_t>,
                "uint32_t max_message() const");
  static_assert(std::is_same_v<decltype(std::declval<const S&>().is_closed()), bool>, "bool is_closed() const");
  return true;
}

// True if R has the receiver shape above (instantiated by each mode's header).
template <typename R>
constexpr bool check_receiver_shape() {
  static_assert(std::is_constructible_v<R, MappedSegment> && std::is_constructible_v<R, std::shared_ptr<MappedSegment>>,
                "a receiver opens from its own mapping, or from one shared with other endpoints");
  static_assert(!std::is_copy_constructible_v<R> && !std::is_copy_assignable_v<R>, "an endpoint owns a lock: not copyable");
  static_assert(std::is_same_v<decltype(std::declval<R&>().try_recv(std::declval<std::vector<uint8_t>&>())), Status>,
                "Status try_recv(std::vector<uint8_t>& out)");
  static_assert(
      std::is_same_v<decltype(std::declval<R&>().recv(std::declval<std::vector<uint8_t>&>(), int64_t{})), bool>,
      "bool recv(std::vector<uint8_t>& out, int64_t timeout_ms): false at the end of the stream, throws on timeout");
  static_assert(std::is_same_v<decltype(std::declval<R&>().recv(std::declval<std::vector<uint8_t>&>())), bool>,
                "recv's timeout defaults to none");
  static_assert(std::is_same_v<decltype(std::declval<const R&>().ended()), bool>, "bool ended() const");
  static_assert(std::is_same_v<decltype(std::declval<R&>().close()), void> && noexcept(std::declval<R&>().close()),
                "void close() noexcept");
  static_assert(std::is_nothrow_destructible_v<R>, "the destructor closes, and never throws");
  static_assert(std::is_same_v<decltype(std::declval<const R&>().max_message()), uint32_t>,
                "uint32_t max_message() const");
  static_assert(std::is_same_v<decltype(std::declval<const R&>().is_closed()), bool>, "bool is_closed() const");
  return true;
}

}  // namespace ringwire

#endif  // RINGWIRE_CONTRACT_H_
