// ringwire/broadcast.h — the broadcast protocol of layout.h for C++ peers (header-only, C++17,
// Linux). One sender and up to MAX_SLOTS receivers (Node or C++, in any mix of processes and
// threads) share a channel created with mode MODE_BROADCAST; every receiver gets every message
// sent while it is joined, in order, once. The TypeScript's ring/broadcast.ts mirrors this
// file; layout.h ("Broadcast protocol") has the protocol in full, and contract.h the API every
// mode shares (this file checks that it keeps it).
//
//   ringwire::BroadcastSender sender{ringwire::MappedSegment("ticks"), /*lag_limit_ms=*/500};
//   sender.send(data, length);   // 'block': waits for the slowest receiver; 'drop': never waits
//   sender.end();
//
//   ringwire::BroadcastReceiver receiver{ringwire::MappedSegment("ticks"), /*from_oldest=*/false};
//   std::vector<uint8_t> message;
//   while (receiver.recv(message)) use(message);   // false: end of stream
//   receiver.lost();                               // 'drop': the messages it missed
//
// The sender learns what a receiver has read only from its slot's cursor; a receiver never
// trusts a record until it has checked, after reading it, that the sender's intent I is not
// past it by more than a ring (the sender cannot have written over it). With overflow 'block'
// (FLAG_OVERFLOW_DROP clear) the sender waits for the slowest joined receiver; one that died
// holding it back, or (lag_limit_ms) one that held it back that long, is cut off and gets
// ERR_RINGWIRE_CUT_OFF. With 'drop' the sender never waits, and a receiver a ring behind skips
// to the oldest record still intact, counting what it missed in lost(). A receiver gets
// ERR_RINGWIRE_PEER_DEAD once the sender died without closing and everything it wrote (also
// what it had not yet published) has been received. Endpoints are not thread-safe: one thread
// per endpoint; threads may share one mapping (std::shared_ptr<MappedSegment>).
//
// Message sizes: one record carries up to the identity's max_message ('drop': 8 bytes less, see
// stamp()). A longer message, up to the channel's max_message_size (max_message()), send()
// writes as a run of fragment records (layout.h, "Fragments"), each carrying the message's
// sequence number and published as it is written, so it may be many rings long; try_send()
// refuses it (it writes a message at once or not at all). A receiver puts it together, checking
// I after each fragment as after a whole record; one lapped partway drops what it has and counts
// the message lost once, and one that joined partway skips the rest of it without counting it.
#ifndef RINGWIRE_BROADCAST_H_
#define RINGWIRE_BROADCAST_H_

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "contract.h"
#include "layout.h"
#include "segment.h"
#include "slots.h"
#include "wait.h"

namespace ringwire {

namespace detail {

[[noreturn]] inline void throw_cut_off(const std::string& channel) {
  throw Error("ERR_RINGWIRE_CUT_OFF", "this receiver of broadcast channel '" + channel +
                                          "' held its sender back longer than the sender's lag limit (or looked "
                                          "dead) and was cut off; close it (a new receiver may join)");
}

// Waiting for positions that must settle (the sender is between two of its stores): spins,
// then yields; false once kSettleMs have passed, when the positions were not in flux after all.
struct Settle {
  static constexpr int64_t kSettleMs = layout::PARK_SLICE_MS;
  uint32_t tries = 0;
  int64_t since = -1;
  bool wait() {
    if (tries++ < 64) {
      cpu_relax();
      return true;
    }
    const int64_t now = monotonic_ms();
    if (since < 0) since = now;
    if (now - since > kSettleMs) return false;
    sched_yield();
    return true;
  }
};

// What both ends share: the ring, its positions and slots, the two doorbells, and what
// whoever holds the sender's role lock after a sender died does (adopt_written, settle_intent).
class BroadcastRing {
 public:
  BroadcastRing(const BroadcastRing&) = delete;
  BroadcastRing& operator=(const BroadcastRing&) = delete;

  const MappedSegment& segment() const { return *segment_; }
  bool is_closed() const { return !locked_; }
  // Overflow 'drop' (FLAG_OVERFLOW_DROP): the sender never waits for receivers.
  bool drops() const { return drop_; }

 protected:
  static constexpr int64_t kParkSliceMs = layout::PARK_SLICE_MS;  // re-check (and look at peers) this often
  static constexpr int64_t kPeerCheckMs = layout::PEER_CHECK_MS;  // look at peers' liveness at most this often
  static constexpr int64_t kReconcileMs = layout::PARK_SLICE_MS;  // clear dead parked bits at most this often
  static constexpr int kSpinTries = 64;                            // attempts before parking
  static constexpr uint32_t kAlign = layout::RECORD_ALIGNMENT - 1;
  static constexpr uint32_t kHeader = layout::RECORD_HEADER_SIZE;
  // How a receiver reads the ring (headers and payload) before it checks I: relaxed loads and
  // then an acquire fence; under ThreadSanitizer, which has no fences, acquire loads.
#if defined(RINGWIRE_TSAN)
  static constexpr int kRingRead = __ATOMIC_ACQUIRE;
#else
  static constexpr int kRingRead = __ATOMIC_RELAXED;
#endif

  explicit BroadcastRing(std::shared_ptr<MappedSegment> segment)
      : segment_(std::move(segment)),
        data_bell_(segment_->signal(layout::OFF_DATA_SIGNAL),
                   segment_->word(layout::OFF_RECEIVER_WAITERS), segment_->word(layout::OFF_RECEIVER_WAITERS_HIGH)),
        space_bell_(segment_->signal(layout::OFF_SPACE_SIGNAL),
                    segment_->word(layout::OFF_SENDER_WAITERS)) {
    if (segment_->identity().mode != layout::MODE_BROADCAST) {
      throw Error("ERR_RINGWIRE_INCOMPATIBLE", "channel '" + name() + "' is not a broadcast channel");
    }
    capacity_ = segment_->identity().capacity;
    mask_ = capacity_ - 1;
    max_message_ = segment_->identity().max_message;
    ring_ = segment_->base() + layout::HEADER_SIZE;
    drop_ = (segment_->identity().flags & layout::FLAG_OVERFLOW_DROP) != 0;
  }
  ~BroadcastRing() = default;  // not virtual: own BroadcastSender and BroadcastReceiver, not the base

  // --- shared memory ---------------------------------------------------------------------

  const std::string& name() const { return segment_->name(); }
  uint32_t* word(uint32_t offset) const { return segment_->word(offset); }
  uint32_t load(uint32_t offset) const { return load_seq_cst(word(offset)); }
  uint32_t slot_load(uint32_t slot, uint32_t field) const { return detail::slot_load(*segment_, slot, field); }
  [[noreturn]] void corrupt(const std::string& what) const { throw_corrupt(name(), what); }
  // A position read from the segment: aligned, or ERR_RINGWIRE_CORRUPT.
  uint32_t aligned(uint32_t position, const char* what) const {
    if ((position & kAlign) != 0) corrupt(std::string(what) + " " + std::to_string(position) + " is not 8-byte aligned");
    return position;
  }
  static bool after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

  // The two words of the record header at `position`: atomics, since a lapped receiver may
  // read them while the sender writes them (it finds out from I and discards what it read).
  uint32_t* header(uint32_t position) const { return reinterpret_cast<uint32_t*>(ring_ + (position & mask_)); }
  uint32_t read_length(uint32_t position, int order = __ATOMIC_RELAXED) const {
    return __atomic_load_n(header(position), order);
  }
  uint32_t read_sequence(uint32_t position, int order = __ATOMIC_RELAXED) const {
    return __atomic_load_n(header(position) + 1, order);
  }
  void write_header(uint32_t position, uint32_t length, uint32_t sequence) {
    __atomic_store_n(header(position), length, __ATOMIC_RELAXED);  // published by the store of P
    __atomic_store_n(header(position) + 1, sequence, __ATOMIC_RELAXED);
  }
  // 'drop': the header at the tail carries the next record's sequence number before that
  // record is written, so a receiver joining at the tail knows where it starts counting what
  // it misses. Only inside I (the sender's claims reserve a header past each record).
  void stamp(uint32_t position, uint32_t sequence) {
    __atomic_store_n(header(position) + 1, sequence, __ATOMIC_RELAXED);
  }
  // The size of the record whose length word is `word0` at ring offset `offset`; 0 if no
  // record can say that (too long, past the end of the ring, or a malformed start record).
  uint32_t extent(uint32_t offset, uint32_t word0) const {
    return detail::record_extent(word0, offset, capacity_, max_message_, segment_->identity().max_message_size);
  }

  // --- the slots, as the sender reads them ---------------------------------------------

  // A receiver slot the sender waits for: joined (a pid, kind receiver) and not cut off.
  bool joined(uint32_t slot) const {
    return slot_load(slot, layout::SLOT_PID) != 0 && slot_load(slot, layout::SLOT_KIND) == layout::KIND_RECEIVER &&
           slot_load(slot, layout::SLOT_CUT) == 0;
  }
  // The cursor of the joined receiver furthest behind `tail`, and its slot; false if none. A
  // cursor that cannot be right (ahead of the tail, more than a ring behind, misaligned) is a
  // receiver breaking the protocol: it does not hold the sender back.
  bool slowest(uint32_t tail, uint32_t& cursor, uint32_t& slot) const {
    int64_t lag = -1;
    for (uint32_t s = 0; s < layout::MAX_SLOTS; s++) {
      if (!joined(s)) continue;
      const uint32_t at = slot_load(s, layout::SLOT_CURSOR);
      const uint32_t behind = tail - at;
      if (behind > capacity_ || (at & kAlign) != 0) continue;
      if (static_cast<int64_t>(behind) > lag) {
        lag = behind;
        cursor = at;
        slot = s;
      }
    }
    return lag >= 0;
  }

  // --- after a sender died (the caller holds ROLE_SENDER's lock) ---------------------------

  // layout.h, "written" (bounded by O): publishes the records the dead sender wrote after its
  // last store of P, if the walk from P lands exactly on the written position, within a ring
  // of O and inside I. The sent count: the sender's publish stores it before P, so it may
  // already count what the walk finds (a sender dead between the two stores); it is taken
  // from the last message walked, its sequence number + 1 (checked: between the count as it is
  // and that plus the messages walked; otherwise, and if no message was walked, the count
  // stays). 'drop': stamps the next sequence number at the new tail, as the sender's publish
  // does (a message it left partial in fragments was never counted: the next sender's first
  // message takes its number). True if P moved.
  bool adopt_written() {
    namespace L = layout;
    const uint32_t producer = load(L::OFF_PRODUCER_POSITION);
    const uint32_t written = __atomic_load_n(word(L::OFF_WRITTEN_POSITION), __ATOMIC_RELAXED);
    const uint32_t oldest = load(L::OFF_OLDEST_POSITION);
    const uint32_t intent = load(L::OFF_INTENT_POSITION);
    const uint32_t ahead = written - producer;
    if (ahead == 0 || ahead > capacity_ || ((written | producer) & kAlign) != 0 || producer - oldest > capacity_ ||
        written - oldest > capacity_ || intent - written > capacity_) {
      return false;
    }
    uint32_t messages = 0, last_sequence = 0;
    for (uint32_t position = producer; position != written;) {
      const uint32_t offset = position & mask_;
      const uint32_t length = read_length(position);
      uint32_t size = capacity_ - offset;
      if (length != L::PADDING_LENGTH) {
        size = extent(offset, length);
        if (size == 0) return false;
        if (detail::ends_message(length)) {  // whole and last records: one message each
          messages++;
          last_sequence = read_sequence(position);
        }
      }
      if (size > written - position) return false;
      position += size;
    }
    // The sender's counter is ours to update while we hold its lock: the messages past what it
    // counts are the last one's number + 1, less the count (mod 2^32).
    double sent = load_count(segment_->base(), L::OFF_MESSAGES_SENT);
    const uint32_t more = messages == 0 ? 0 : last_sequence + 1 - static_cast<uint32_t>(static_cast<uint64_t>(sent));
    if (more <= messages) sent += more;
    store_count(segment_->base(), L::OFF_MESSAGES_SENT, sent);
    if (drop_ && intent - written >= kHeader) stamp(written, static_cast<uint32_t>(static_cast<uint64_t>(sent)));
    // seq_cst: publishes those records, as the sender's own store would have.
    store_seq_cst(word(L::OFF_PRODUCER_POSITION), written);
    data_bell_.ring();
    return true;
  }

  // 'block': a sender that died between raising I and lowering it again to its receivers'
  // bound (layout.h, "send") left I past a receiver it must wait for, and wrote nothing past
  // that bound (it writes only after). I goes back to the bound, or that receiver would take
  // itself for lapped.
  void settle_intent() {
    if (drop_) return;
    const uint32_t tail = load(layout::OFF_PRODUCER_POSITION);
    uint32_t cursor = 0, slot = 0;
    if (!slowest(tail, cursor, slot)) return;
    const uint32_t limit = cursor + capacity_;
    const uint32_t intent = load(layout::OFF_INTENT_POSITION);
    if (intent - tail <= capacity_ && after(intent, limit)) store_seq_cst(word(layout::OFF_INTENT_POSITION), limit);
  }

  bool liveness_check_due(bool force) {
    const int64_t now = monotonic_ms();
    if (!force && now - last_liveness_check_ms_ < kPeerCheckMs) return false;
    last_liveness_check_ms_ = now;
    return true;
  }
  // The parked bits of receivers that died parked (slots.h); `own`: MAX_SLOTS for the sender.
  void reconcile(uint32_t own) {
    const int64_t now = monotonic_ms();
    if (now - last_reconcile_ms_ < kReconcileMs) return;
    last_reconcile_ms_ = now;
    clear_dead_parked(*segment_, kParkedReceivers, own);
  }

  std::shared_ptr<MappedSegment> segment_;
  EpochDoorbell data_bell_;  // receivers park on the data epoch (a parked bit per slot)
  FlagDoorbell space_bell_;  // the sender parks on the space flag (SPSC's count and flag)
  uint32_t capacity_ = 0, mask_ = 0, max_message_ = 0;
  uint8_t* ring_ = nullptr;
  bool drop_ = false;
  bool locked_ = false;
  int64_t last_liveness_check_ms_ = INT64_MIN / 2;
  int64_t last_reconcile_ms_ = INT64_MIN / 2;
};

}  // namespace detail

class BroadcastSender : public detail::BroadcastRing {
 public:
  // lag_limit_ms ('block' channels): a receiver that holds a waiting send back this long is
  // cut off (ERR_RINGWIRE_CUT_OFF at its next receive) and the send goes on without it; below
  // zero, none. ERR_RINGWIRE_BUSY while another sender is open.
  explicit BroadcastSender(MappedSegment segment, int64_t lag_limit_ms = -1)
      : BroadcastSender(std::make_shared<MappedSegment>(std::move(segment)), lag_limit_ms) {}
  explicit BroadcastSender(std::shared_ptr<MappedSegment> segment, int64_t lag_limit_ms = -1)
      : BroadcastRing(std::move(segment)), lag_limit_ms_(lag_limit_ms < 0 ? -1 : lag_limit_ms) {
    namespace L = layout;
    if (lag_limit_ms == 0) {
      throw Error("ERR_RINGWIRE_INVALID_ARG", "lag_limit_ms must be a positive number of milliseconds (or negative: none)");
    }
    if (!segment_->lock_role(L::ROLE_SENDER)) {
      throw Error("ERR_RINGWIRE_BUSY",
                  "channel '" + name() + "' already has a sender (broadcast allows one at a time); close it first");
    }
    locked_ = true;  // from here close() gives the role back
    try {
      if ((load(L::OFF_STATE) & L::STATE_ENDED) != 0) detail::throw_ended_at_open(name(), "its sender");
      space_bell_.reset();  // we hold the role lock: a count left is one that died parked
      detail::store_seq_cst(word(L::OFF_SENDER_THREAD), static_cast<uint32_t>(syscall(SYS_gettid)));
      // What a sender before us wrote and did not publish (layout.h, "written"), and an I it
      // left raised past a receiver: we hold its lock. Receivers parked meanwhile are woken
      // for what was adopted, as the dead sender's publish would have.
      const uint32_t before = load(L::OFF_PRODUCER_POSITION);
      adopt_written();
      settle_intent();
      position_ = aligned(load(L::OFF_PRODUCER_POSITION), "tail");
      if (position_ != before) data_bell_.ring();
      oldest_ = aligned(load(L::OFF_OLDEST_POSITION), "oldest position");
      intent_ = aligned(load(L::OFF_INTENT_POSITION), "intent");
      if (position_ - oldest_ > capacity_ || intent_ - position_ > capacity_ || intent_ - oldest_ > capacity_) {
        corrupt("positions oldest " + std::to_string(oldest_) + ", tail " + std::to_string(position_) + ", intent " +
                std::to_string(intent_) + " are impossible together");
      }
      __atomic_store_n(word(L::OFF_WRITTEN_POSITION), position_, __ATOMIC_RELAXED);
      sent_ = detail::load_count(segment_->base(), L::OFF_MESSAGES_SENT);
      sequence_ = static_cast<uint32_t>(static_cast<uint64_t>(sent_));
      if (drop_ && intent_ - position_ >= kHeader) stamp(position_, sequence_);
      step_ = capacity_ / 8;
      detail::store_seq_cst(word(L::OFF_SENDER_PID), static_cast<uint32_t>(getpid()));
    } catch (...) {
      close();
      throw;
    }
  }
  ~BroadcastSender() { close(); }

  // Sends if there is room now; false if a joined receiver is a ring behind ('block' only).
  // Every record is published at once. ERR_RINGWIRE_TOO_LARGE for a message longer than one
  // record carries (send() writes it in fragments, as the receivers make room).
  bool try_send(const void* data, uint32_t length) {
    check_sendable(length);
    if (length > record_limit()) detail::throw_too_large_for_one_record(name(), length, record_limit());
    return try_put(length, data, length, true);
  }

  // Sends, waiting for room up to timeout_ms (-1: for as long as it takes). While it waits, a
  // receiver holding it back that died, or that held it back lag_limit_ms, is cut off. A
  // message longer than one record carries goes in fragments (layout.h, "Fragments"), each
  // published as it is written, waiting for room before each; the one deadline covers the
  // whole message. On ERR_RINGWIRE_TIMEOUT partway, what was written stays partial: the next
  // record is a start or a whole one (with the same sequence number: the message was never
  // counted), and receivers drop the part.
  void send(const void* data, uint32_t length, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    if (length <= record_limit()) {
      wait_to_write(deadline, timeout_ms, [&] { return try_send(data, length); });
      return;
    }
    send_in_fragments(data, length, deadline, timeout_ms);
  }

  // End of stream: receivers read what was sent, then see the end. Sends after it fail (CLOSED).
  void end() {
    check_open();
    ended_ = true;
    // seq_cst, after the last store of P: a receiver that sees it and then reaches P has everything.
    __atomic_or_fetch(word(layout::OFF_STATE), layout::STATE_ENDED, __ATOMIC_SEQ_CST);
    data_bell_.ring();
  }

  // Gives the sender role back (every record is published already). Idempotent.
  void close() noexcept {
    if (!locked_) return;
    locked_ = false;
    // The pid first, then the lock: a receiver that sees the lock free and a pid concludes we died.
    uint32_t pid = static_cast<uint32_t>(getpid());
    __atomic_compare_exchange_n(word(layout::OFF_SENDER_PID), &pid, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    segment_->unlock_role(layout::ROLE_SENDER);
  }

  // The longest message this sender can send: the channel's max_message_size (longer than a
  // record: in fragments).
  uint32_t max_message() const { return segment_->identity().max_message_size; }

 private:
  // The most one record carries: 'drop' keeps a header's room past every record (for the next
  // sequence number, see stamp()), so a record may not fill the whole ring.
  uint32_t record_limit() const { return drop_ ? max_message_ - kHeader : max_message_; }

  // Writes one record (length word `word0`, `length` payload bytes) if there is room now, with
  // the sequence number of the message it belongs to, and publishes it; `completes`: it ends
  // a message (the count and the sequence number move on before the publish). False if the
  // ring is full ('block' only).
  bool try_put(uint32_t word0, const void* data, uint32_t length, bool completes) {
    const uint32_t size = layout::record_size(length);
    uint32_t at;
    if (!claim(size, at)) return false;
    write_header(at, word0, sequence_);
    detail::copy_in(ring_ + (at & mask_) + kHeader, data, length);
    if (completes) {
      sequence_++;
      sent_++;
    }
    publish(at + size);
    return true;
  }

  // send() of a message longer than one record carries: the start record, then data records
  // (layout.h, "Fragments"), each waited for, written and published in turn. Out of line, so
  // that send() of a whole message stays as small as it was.
  [[gnu::noinline]] void send_in_fragments(const void* data, uint32_t length, int64_t deadline, int64_t timeout_ms) {
    check_sendable(length);
    detail::Outgoing message(data, length, layout::fragment_bytes_for(capacity_));
    do {
      wait_to_write(deadline, timeout_ms, [&] {
        message.next(capacity_ - (position_ & mask_));  // again after a wait: padding may have moved us
        return try_put(message.word0(), message.payload(), message.chunk(), message.last());
      });
    } while (!message.advance());
  }

  // Calls `attempt` (a try_put) until it writes, spinning, then parking while the ring is
  // full, up to the deadline (ERR_RINGWIRE_TIMEOUT).
  template <typename Attempt>
  void wait_to_write(int64_t deadline, int64_t timeout_ms, Attempt&& attempt) {
    bool slice_ran_out = false;
    for (int tries = 0;; tries++) {
      if (attempt()) return;
      if (detail::deadline_passed(deadline)) detail::throw_timeout(name(), "send", timeout_ms);
      if (tries < kSpinTries) {
        detail::cpu_relax();
        continue;
      }
      slice_ran_out = park(slice_ran_out, deadline);
    }
  }

  void check_open() const {
    if (!locked_) detail::throw_closed(name(), "sender");
  }
  void check_sendable(uint32_t length) const {
    check_open();
    if (ended_) detail::throw_ended(name());
    if (length > max_message()) detail::throw_too_large(name(), length, max_message());
  }

  // Room for a record of `size` bytes (after a padding record if it would straddle the end of
  // the ring, published on its own so receivers can pass it while we wait): its position in
  // `at`, or false if the ring is full ('block' only). 'drop': I also covers the next
  // record's header, where publish() stamps its sequence number.
  bool claim(uint32_t size, uint32_t& at) {
    const uint32_t reserve = drop_ ? kHeader : 0;
    const uint32_t tail = capacity_ - (position_ & mask_);
    if (size > tail) {
      const uint32_t padded = position_ + tail;
      if (after(padded + reserve, intent_) && !raise_intent(padded + reserve)) return false;
      write_header(position_, layout::PADDING_LENGTH, sequence_);
      publish(padded);
    }
    const uint32_t end = position_ + size + reserve;
    if (after(end, intent_) && !raise_intent(end)) return false;
    blocked_since_ms_ = -1;
    at = position_;
    return true;
  }

  // Makes I reach `end` (layout.h, "send"): a step of an eighth of the ring past our position
  // at least, so that I is stored once per eighth and not per record; 'block': no further
  // than a ring past the slowest joined receiver (false, the ring full, if `end` is further).
  bool raise_intent(uint32_t end) {
    namespace L = layout;
    uint32_t next = position_ + step_;
    if (after(end, next)) next = end;
    uint32_t cursor = 0, slot = 0;
    if (!drop_ && slowest(position_, cursor, slot)) {
      const uint32_t limit = cursor + capacity_;
      if (after(end, limit)) return blocked(end);
      if (after(next, limit)) next = limit;
    }
    // O first (seq_cst): a receiver that sees the new I sees an O it may read from.
    advance_oldest(next - capacity_);
    const uint32_t before = intent_;
    // seq_cst: before any byte past the old I is written (receivers load I after reading),
    // and the Dekker partner of a joining receiver's cursor store: it must not pass the loads
    // of the slots below.
    detail::store_seq_cst(word(L::OFF_INTENT_POSITION), next);
    if (!drop_ && slowest(position_, cursor, slot)) {
      // A receiver that joined while we looked stored its cursor and then loads I: either it
      // sees this I and starts later, or we see its cursor now and bound I by it afresh.
      const uint32_t limit = cursor + capacity_;
      if (after(next, limit)) {
        if (after(end, limit)) {
          detail::store_seq_cst(word(L::OFF_INTENT_POSITION), before);
          return blocked(end);
        }
        next = limit;
        detail::store_seq_cst(word(L::OFF_INTENT_POSITION), next);
      }
    }
    intent_ = next;
#if !defined(RINGWIRE_TSAN)
    // The bytes we write after this stay after the store of I (pairs with a receiver's acquire
    // fence between reading a record and loading I). TSan knows no fences; it checks atomics.
    __atomic_thread_fence(__ATOMIC_RELEASE);
#endif
    return true;
  }

  // Notes what a full ring waits for (and since when, for the lag limit); always false.
  bool blocked(uint32_t end) {
    if (blocked_end_ != end || blocked_since_ms_ < 0) blocked_since_ms_ = detail::monotonic_ms();
    blocked_end_ = end;
    return false;
  }

  // Moves O to the first record at or after `floor` (reading the headers we wrote, checking
  // each: the mapping is shared) and stores it, seq_cst, before I is raised.
  void advance_oldest(uint32_t floor) {
    uint32_t oldest = oldest_;
    if (!after(floor, oldest)) return;
    while (after(floor, oldest) && oldest != position_) {
      const uint32_t offset = oldest & mask_;
      const uint32_t length = read_length(oldest);
      uint32_t size = capacity_ - offset;
      if (length != layout::PADDING_LENGTH) {
        size = extent(offset, length);
        if (size == 0) {
          corrupt("record length " + std::to_string(length) + " at ring offset " + std::to_string(offset) +
                  " (written by this sender) changed");
        }
      }
      if (after(oldest + size, position_)) corrupt("a record runs past the tail");
      oldest += size;
    }
    oldest_ = oldest;
    detail::store_seq_cst(word(layout::OFF_OLDEST_POSITION), oldest);
  }

  void publish(uint32_t position) {
    namespace L = layout;
    position_ = position;
    // Relaxed: read only by whoever takes the sender's lock after we die (layout.h, "written").
    __atomic_store_n(word(L::OFF_WRITTEN_POSITION), position, __ATOMIC_RELAXED);
    if (drop_) stamp(position, sequence_);  // claim() made I cover it
    detail::store_count(segment_->base(), L::OFF_MESSAGES_SENT, sent_);
    // seq_cst (not just release): publishes the record and must not pass ring()'s loads.
    detail::store_seq_cst(word(L::OFF_PRODUCER_POSITION), position);
    data_bell_.ring();
  }

  // Whether the blocked send may go on: the receiver holding it back moved (or left, or was cut off).
  bool ready() {
    uint32_t cursor = 0, slot = 0;
    if (!slowest(position_, cursor, slot)) return true;
    blocked_by_ = slot;
    return !after(blocked_end_, cursor + capacity_);
  }

  int64_t park_slice_ms() const {
    // A lag limit is judged after park slices: slices of a quarter of it, at least 1 ms.
    if (lag_limit_ms_ < 0) return kParkSliceMs;
    const int64_t quarter = lag_limit_ms_ / 4;
    return quarter < 1 ? 1 : quarter > kParkSliceMs ? kParkSliceMs : quarter;
  }

  // Sleeps on the space flag until a receiver moves (or leaves), a slice or the deadline
  // passes (layout.h, "parking"); first looks at the receiver holding us back (at most every
  // kPeerCheckMs, and after every slice that ran out). True if the slice ran out.
  bool park(bool slice_ran_out, int64_t deadline) {
    space_bell_.announce();
    WaitStatus status = WAIT_SIGNALLED;
    try {
      if (!ready()) {
        if (liveness_check_due(slice_ran_out)) check_receivers();
        if (!ready()) {
          const int64_t limit = detail::sleep_limit(park_slice_ms(), deadline);
          status = limit > 0 ? space_bell_.sleep(limit) : WAIT_TIMED_OUT;
        }
      }
    } catch (...) {
      space_bell_.withdraw();
      throw;
    }
    space_bell_.withdraw();
    return status == WAIT_TIMED_OUT;
  }

  // While a send waits: the receiver holding it back is cut off (SLOT_CUT) if it died (its
  // slot stays, with its pid, for stats and gc), or if it is alive and has held the send back
  // lag_limit_ms. A dead one is cut under its slot's lock, so a receiver taking the slot
  // meanwhile does not inherit the cut. Then the next slowest, and so on.
  void check_receivers() {
    namespace L = layout;
    reconcile(L::MAX_SLOTS);
    for (uint32_t i = 0; i < L::MAX_SLOTS && !ready(); i++) {
      const uint32_t s = blocked_by_;
      if (!joined(s)) return;
      const uint32_t pid = slot_load(s, L::SLOT_PID);
      // Dead: the lock free, and the pid unchanged across the lock check (slots.h).
      const bool dead = !detail::slot_alive(*segment_, s) && slot_load(s, L::SLOT_PID) == pid;
      const bool stalled = lag_limit_ms_ >= 0 && blocked_since_ms_ >= 0 &&
                           detail::monotonic_ms() - blocked_since_ms_ >= lag_limit_ms_;
      if (!dead && !stalled) return;
      uint32_t* cut = detail::slot_word(*segment_, s, L::SLOT_CUT);
      if (dead) {
        if (!segment_->lock_role(L::SLOT_LOCK_BASE + s)) continue;  // taken meanwhile: look again
        const bool same = slot_load(s, L::SLOT_PID) == pid && joined(s);
        if (same) detail::store_seq_cst(cut, 1);
        segment_->unlock_role(L::SLOT_LOCK_BASE + s);
        if (!same) continue;
      } else {
        detail::store_seq_cst(cut, 1);  // seq_cst: the receiver's next look at its slot sees it
      }
      blocked_since_ms_ = detail::monotonic_ms();
      data_bell_.ring();  // a cut receiver parked learns at once
    }
  }

  int64_t lag_limit_ms_;
  uint32_t position_ = 0;  // the tail: everything before it is published
  uint32_t oldest_ = 0, intent_ = 0, step_ = 0;
  uint32_t sequence_ = 0;  // the next record's sequence number (sent_ mod 2^32)
  double sent_ = 0;
  uint32_t blocked_end_ = 0, blocked_by_ = 0;
  int64_t blocked_since_ms_ = -1;
  bool ended_ = false;
};

class BroadcastReceiver : public detail::BroadcastRing {
 public:
  // Joins the channel: from the tail as it takes its slot (it gets every message published
  // once stats() lists it), or with from_oldest from the oldest message still in the ring.
  // ERR_RINGWIRE_BUSY if every slot is held.
  explicit BroadcastReceiver(MappedSegment segment, bool from_oldest = false)
      : BroadcastReceiver(std::make_shared<MappedSegment>(std::move(segment)), from_oldest) {}
  explicit BroadcastReceiver(std::shared_ptr<MappedSegment> segment, bool from_oldest = false)
      : BroadcastRing(std::move(segment)) {
    namespace L = layout;
    // The slot's cursor starts at the tail (a cursor the sender may rely on before the join
    // settles it: never behind what it may overwrite); its count is retired on every reuse.
    const detail::SlotPolicy policy{"broadcast", detail::kParkedReceivers, true, load(L::OFF_PRODUCER_POSITION)};
    slot_ = detail::open_slot(*segment_, L::KIND_RECEIVER, policy);
    locked_ = true;  // from here close() gives the slot back
    try {
      detail::store_count(segment_->base(), detail::slot_offset(slot_) + L::SLOT_LOST, 0);
      // seq_cst, before the join's cursor store: a sender that sees the cursor counts the slot.
      detail::store_seq_cst(slot_word(L::SLOT_CUT), 0);
      position_ = join(from_oldest, policy.initial_intent);
      published_ = cached_tail_ = position_;
    } catch (...) {
      close();
      throw;
    }
  }
  ~BroadcastReceiver() { close(); }

  // Copies the next message into `out` if there is one: kMessage, kEmpty or kEnded.
  // ERR_RINGWIRE_CUT_OFF once the sender cut this receiver off. A message in fragments is put
  // together here, each fragment checked against I as a whole record is; what is put together
  // so far stays for the next call.
  Status try_recv(std::vector<uint8_t>& out) {
    check_open();
    for (;;) {
      uint32_t at, word0, sequence;
      if (!next_record(at, word0, sequence)) return drained_and_ended() ? Status::kEnded : Status::kEmpty;
      const uint8_t* payload = ring_ + (at & mask_) + kHeader;
      if ((word0 & layout::FRAGMENT) == 0) {
        detail::copy_out(out, payload, word0, kRingRead);
        if (lapped()) {  // the sender may have written over it while we copied: discard
          on_lapped();
          continue;
        }
        assembly_.drop();  // a whole record: a message begun is one its sender gave up on
        joining_ = false;
        count(sequence);
        advance(layout::record_size(word0));
        return Status::kMessage;
      }
      if (take_fragment(word0, payload, sequence, out)) return Status::kMessage;
    }
  }

  // Waits up to timeout_ms (-1: for as long as it takes) for the next message: true with it
  // in `out`, false at the end of the stream.
  bool recv(std::vector<uint8_t>& out, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    bool slice_ran_out = false;
    for (int tries = 0;; tries++) {
      const Status status = try_recv(out);
      if (status != Status::kEmpty) return status == Status::kMessage;
      if (detail::deadline_passed(deadline)) detail::throw_timeout(name(), "recv", timeout_ms);
      if (tries < kSpinTries) {
        detail::cpu_relax();
        continue;
      }
      slice_ran_out = park(slice_ran_out, deadline);
    }
  }

  // Whether the sender ended the stream and this receiver has read everything before it.
  bool ended() const {
    check_open();
    return drained_and_ended();
  }

  // Publishes the cursor, then gives the slot back (the pid first: the sender stops waiting
  // for it, and is woken). Idempotent.
  void close() noexcept {
    if (!locked_) return;
    publish_cursor();
    locked_ = false;
    uint32_t pid = static_cast<uint32_t>(getpid());
    __atomic_compare_exchange_n(slot_word(layout::SLOT_PID), &pid, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    space_bell_.ring();
    segment_->unlock_role(layout::SLOT_LOCK_BASE + slot_);
  }

  // The longest message it may get: the channel's max_message_size.
  uint32_t max_message() const { return segment_->identity().max_message_size; }
  // Overflow 'drop': the messages this receiver missed (the sender wrote over them before it
  // read them). A receive that follows a gap raises it before it returns.
  uint64_t lost() const { return lost_; }
  uint32_t slot() const { return slot_; }

 private:
  static constexpr uint32_t kPublishEvery = layout::PUBLISH_EVERY;

  uint32_t* slot_word(uint32_t field) const { return detail::slot_word(*segment_, slot_, field); }
  void check_open() const {
    if (!locked_) detail::throw_closed(name(), "receiver");
  }
  bool cut() const { return detail::load_seq_cst(slot_word(layout::SLOT_CUT)) != 0; }

  // layout.h, "join": the cursor is stored, then I loaded; if the sender may already be
  // writing over it, O has moved (the sender stores O before I) and the join starts again,
  // from O. 'next' first tries first_cursor, the tail our slot's cursor started at (loaded
  // before the slot counted): a message published once the slot counts (stats() lists it, a
  // 'block' sender waits for it) is never behind where we start.
  uint32_t join(bool from_oldest, uint32_t first_cursor) {
    namespace L = layout;
    detail::Settle settle;
    for (bool first = !from_oldest;; first = false) {
      const uint32_t at = first ? aligned(first_cursor, "tail") : aligned(load(L::OFF_OLDEST_POSITION), "oldest position");
      // seq_cst: the Dekker partner of the sender's store of I and its loads of the slots.
      detail::store_seq_cst(slot_word(L::SLOT_CURSOR), at);
      // 'drop': the header there names the sequence number of the first message we can get
      // (the sender's stamp), so messages lost before our first one count too.
      const uint32_t sequence = read_sequence(at, kRingRead);
      if (!lapped_at(at)) {
        expected_ = sequence;
        started_ = drop_;
        joining_ = true;
        // A sender that waited for the cursor our slot started with goes on from this one.
        space_bell_.ring();
        return at;
      }
      // Lapped: our first cursor is at once given up for O (the sender stored O before I).
      if (!first && !settle.wait()) corrupt("the oldest position " + std::to_string(at) + " stays behind the intent");
    }
  }

  // Whether the sender may have written over what is at `position` (I past it by more than a
  // ring), after reading it: the acquire fence keeps the reads before the load of I (pairs
  // with the sender's release fence after its store of I).
  bool lapped_at(uint32_t position) const {
#if !defined(RINGWIRE_TSAN)
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
    return load(layout::OFF_INTENT_POSITION) - position > capacity_;
  }
  bool lapped() const { return lapped_at(position_); }

  // Our position is (or may be) overwritten. 'drop': skip to O, the oldest record still there
  // (what we skipped counts in lost() when the next message arrives, a message we were putting
  // together too: it is dropped, and its number not yet counted). 'block': we were cut off
  // (ERR_RINGWIRE_CUT_OFF), or I was raised past us for an instant while we joined (the sender
  // lowers it once it sees our cursor), or the sender died doing so (we repair I under its lock).
  void on_lapped() {
    namespace L = layout;
    detail::Settle settle;
    if (!drop_) {
      int64_t last_check = detail::monotonic_ms();
      for (;;) {
        if (cut()) detail::throw_cut_off(name());
        if (!lapped()) return;
        const int64_t now = detail::monotonic_ms();
        if (now - last_check >= kPeerCheckMs) {
          last_check = now;
          uint32_t pid;
          if (sender_dead(pid)) adopt_dead_sender();
        }
        if (!settle.wait()) {
          if (cut()) detail::throw_cut_off(name());
          corrupt("the intent " + std::to_string(load(L::OFF_INTENT_POSITION)) +
                  " is past a receiver the sender must wait for (" + std::to_string(position_) + ")");
        }
      }
    }
    for (;;) {
      const uint32_t oldest = load(L::OFF_OLDEST_POSITION);
      const uint32_t tail = load(L::OFF_PRODUCER_POSITION);
      // A true lap moved O past us (the sender moves O past I - capacity before it stores I):
      // an O at or behind us means I lies behind the tail, which no sender writes.
      if ((oldest & kAlign) == 0 && tail - oldest <= capacity_ && static_cast<int32_t>(oldest - position_) > 0) {
        position_ = oldest;
        cached_tail_ = oldest;
        assembly_.drop();
        joining_ = false;  // fragments at O belong to a message we lost, and count
        if (!lapped()) break;
      }
      if (!settle.wait()) {
        corrupt("the oldest position " + std::to_string(oldest) + " is impossible with tail " + std::to_string(tail));
      }
    }
    publish_cursor();
  }

  // A fragment record at our position (next_record checked its size), its payload copied and
  // then checked against I like a whole record, and only then judged (layout.h, "Fragments"):
  // a start record begins a message (dropping one begun), a data or last record adds to it, or
  // is skipped if none is begun (we joined or were lapped in the middle of one). True once the
  // last record completed the message, now in `out`.
  [[gnu::noinline]] bool take_fragment(uint32_t word0, const uint8_t* payload, uint32_t sequence, std::vector<uint8_t>& out) {
    const uint32_t n = word0 & layout::FRAGMENT_LENGTH_MASK;
    if ((word0 & layout::FRAGMENT_FIRST) != 0) {
      const uint32_t total = __atomic_load_n(reinterpret_cast<const uint32_t*>(payload), kRingRead);
      if (lapped()) {
        on_lapped();
        return false;
      }
      if (!assembly_.begin(total, max_message())) {
        corrupt("a message of " + std::to_string(total) + " bytes begins (at most " + std::to_string(max_message()) +
                ")");
      }
      joining_ = false;
      sequence_of_message_ = sequence;
      advance(layout::record_size(n));
      return false;
    }
    if (!assembly_.active()) {
      if (lapped()) {  // skipped like padding: checked against I, since its length was read
        on_lapped();
        return false;
      }
      // Joined after this message began: it is not ours, and not lost either.
      if (joining_) expected_ = sequence + 1;
      advance(layout::record_size(n));
      return false;
    }
    const bool last = (word0 & layout::FRAGMENT_LAST) != 0;
    // Judged once I says the record can be trusted: no more than the total leaves (a last
    // record exactly that), and the sequence number of the message's start record (every
    // record of a message carries it; the TypeScript checks it too).
    const bool fits = assembly_.fits(n, last) && sequence == sequence_of_message_;
    const uint32_t filled = assembly_.filled();
    if (fits) assembly_.append(payload, n, kRingRead);
    if (lapped()) {  // 'drop' skips to O and drops the message; 'block' may read this record again
      assembly_.truncate(filled);
      on_lapped();
      return false;
    }
    if (!fits) {
      corrupt(std::string(last ? "a last" : "a data") + " fragment of " + std::to_string(n) + " bytes (sequence " +
              std::to_string(sequence) + ") after " + std::to_string(filled) + " does not fit message " +
              std::to_string(sequence_of_message_));
    }
    if (last) {
      assembly_.finish(out);
      count(sequence_of_message_);
    }
    advance(layout::record_size(n));
    return last;
  }

  // The next record at our position (skipping padding, each checked against I like a record):
  // its position, length word and sequence number, or false if nothing is published there (then
  // the cursor is published). Everything is checked against what was published; a check that
  // fails is ERR_RINGWIRE_CORRUPT only if I says the bytes cannot have been overwritten.
  bool next_record(uint32_t& at, uint32_t& word0, uint32_t& sequence) {
    namespace L = layout;
    detail::Settle settle;
    for (;;) {
      uint32_t available = cached_tail_ - position_;
      if (available == 0) {
        // seq_cst (acquire would do): pairs with the sender's store of P; the bytes before it are visible.
        const uint32_t tail = load(L::OFF_PRODUCER_POSITION);
        available = tail - position_;
        if (available == 0) {
          if (cut()) detail::throw_cut_off(name());
          publish_cursor();
          return false;
        }
        if (available > capacity_ || (available & kAlign) != 0) {
          if (lapped()) {
            on_lapped();
            continue;
          }
          // Not lapped, yet P behind us: only a sender that moved O past P for an instant
          // (the TypeScript's, holding records back) does that. Anything else is corrupt.
          if (static_cast<int32_t>(available) < 0 && (available & kAlign) == 0 && settle.wait()) continue;
          corrupt("tail " + std::to_string(tail) + " is impossible with a receiver at " + std::to_string(position_));
        }
        cached_tail_ = tail;
      }
      const uint32_t offset = position_ & mask_;
      word0 = read_length(position_, kRingRead);
      sequence = read_sequence(position_, kRingRead);
      const bool padding = word0 == L::PADDING_LENGTH;
      const uint32_t size = padding ? capacity_ - offset : extent(offset, word0);
      if (size == 0 || size > available) {
        if (lapped()) {
          on_lapped();
          continue;
        }
        corrupt("record length word " + std::to_string(word0) + " at ring offset " + std::to_string(offset) +
                " exceeds what was published");
      }
      if (!padding) {
        at = position_;
        return true;
      }
      if (lapped()) {  // padding is passed like a record: checked against I, since it was read
        on_lapped();
        continue;
      }
      advance(size);
    }
  }

  // 'drop': a gap in the sequence numbers is what the sender wrote over before we read it.
  void count(uint32_t sequence) {
    if (started_) {
      const uint32_t missed = sequence - expected_;
      if (missed != 0 && missed < 0x80000000u) {
        lost_ += missed;
        detail::store_count(segment_->base(), detail::slot_offset(slot_) + layout::SLOT_LOST, static_cast<double>(lost_));
      }
    }
    started_ = true;
    expected_ = sequence + 1;
    received_++;
  }

  // Past a record we handed out, or padding: the cursor is published every PUBLISH_EVERY
  // records or a quarter of the ring (and when the ring is empty, before parking, on close).
  void advance(uint32_t size) {
    position_ += size;
    if (++unpublished_ >= kPublishEvery || position_ - published_ >= capacity_ / 4) publish_cursor();
  }

  void publish_cursor() noexcept {
    if (position_ == published_) return;
    published_ = position_;
    unpublished_ = 0;
    detail::store_count(segment_->base(), detail::slot_offset(slot_) + layout::SLOT_MESSAGES, received_);
    // seq_cst: the sender may reuse what is before it; must not pass ring()'s load of its count.
    detail::store_seq_cst(slot_word(layout::SLOT_CURSOR), position_);
    space_bell_.ring();
  }

  bool drained_and_ended() const {
    // The flag first, then P: the sender sets the flag after its last store of P.
    return (load(layout::OFF_STATE) & layout::STATE_ENDED) != 0 && load(layout::OFF_PRODUCER_POSITION) == position_;
  }
  // Whether a receive would not wait: something published past us, the end, or the cut.
  bool ready() const {
    return load(layout::OFF_PRODUCER_POSITION) != position_ || (load(layout::OFF_STATE) & layout::STATE_ENDED) != 0 ||
           cut();
  }

  // Sleeps on the data epoch (our parked bit set) until the sender publishes, a slice or the
  // deadline passes; first (at most every kPeerCheckMs, and after every slice that ran out)
  // looks at the sender. True if the slice ran out.
  bool park(bool slice_ran_out, int64_t deadline) {
    reconcile(slot_);
    uint32_t epoch;
    WaitStatus status = WAIT_SIGNALLED;
    if (data_bell_.arm(slot_, epoch) && !ready()) {
      try {
        if (liveness_check_due(slice_ran_out)) check_sender();
      } catch (...) {
        data_bell_.clear(slot_);
        throw;
      }
      if (!ready()) {
        // Another endpoint repairing what the dead sender left: look again soon.
        const int64_t limit = detail::sleep_limit(repaired_by_other_ != 0 ? kPeerCheckMs : kParkSliceMs, deadline);
        status = limit > 0 ? data_bell_.sleep(epoch, limit) : WAIT_TIMED_OUT;
      }
    }
    data_bell_.clear(slot_);  // wakers stop counting us
    return status == WAIT_TIMED_OUT;
  }

  // Cut off: say so. The sender died without closing: as SPSC, what it wrote is published
  // first (under its lock), then ERR_RINGWIRE_PEER_DEAD once nothing is left to read, but only
  // after a repair of our own: another receiver that took the lock first may be publishing
  // records we have not seen yet (models/broadcast.pml, FINDINGS 1). Then we park for
  // kPeerCheckMs, not a whole slice, and look again.
  void check_sender() {
    if (cut()) detail::throw_cut_off(name());
    uint32_t pid = load(layout::OFF_SENDER_PID);
    // A new sender (its own pid), or none: nobody is repairing the one we found dead.
    if (pid != repaired_by_other_) repaired_by_other_ = 0;
    if (!sender_dead(pid)) return;
    if (!adopt_dead_sender()) {
      repaired_by_other_ = pid;
      return;
    }
    repaired_by_other_ = 0;
    if (ready()) return;
    detail::throw_peer_dead(name(), "sender", pid);
  }
  // Whether the sender died without closing: its pid recorded, its lock free, the pid unchanged.
  bool sender_dead(uint32_t& pid) const {
    pid = load(layout::OFF_SENDER_PID);
    if (pid == 0 || segment_->role_held_here(layout::ROLE_SENDER) ||
        segment_->role_locked_by_other(layout::ROLE_SENDER)) {
      return false;
    }
    return load(layout::OFF_SENDER_PID) == pid;
  }
  // With the dead sender's lock (a sender opening meanwhile does this instead). False if
  // someone else holds the lock (a sender opening, or a receiver whose repair may be under way).
  bool adopt_dead_sender() {
    if (!segment_->lock_role(layout::ROLE_SENDER)) return false;
    try {
      adopt_written();
      settle_intent();
    } catch (...) {
      segment_->unlock_role(layout::ROLE_SENDER);
      throw;
    }
    segment_->unlock_role(layout::ROLE_SENDER);
    return true;
  }

  uint32_t slot_ = 0;
  uint32_t position_ = 0, published_ = 0, cached_tail_ = 0, unpublished_ = 0;
  uint32_t expected_ = 0;  // the sequence number expected next ('drop')
  bool started_ = false;
  // Since joining, no start or whole record yet: fragments of a message begun before we joined
  // are skipped without counting it lost.
  bool joining_ = false;
  detail::Assembly assembly_;  // a message in fragments being put together
  uint32_t sequence_of_message_ = 0;  // its sequence number (its start record's)
  uint64_t lost_ = 0;
  double received_ = 0;
  uint32_t repaired_by_other_ = 0;  // the dead sender whose lock another endpoint took before us
};

static_assert(check_sender_shape<BroadcastSender>() && check_receiver_shape<BroadcastReceiver>(),
              "the broadcast endpoints keep the contract of contract.h");

}  // namespace ringwire

#endif  // RINGWIRE_BROADCAST_H_
