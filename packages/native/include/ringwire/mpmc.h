// ringwire/mpmc.h — the MPMC protocol of layout.h for C++ peers (header-only, C++17, Linux,
// little-endian). Any number of senders and receivers (up to MAX_SLOTS endpoints in all, in any
// mix of processes and threads, Node or C++) share one channel created with mode MODE_MPMC.
// Each ordering below names what it pairs with; layout.h ("MPMC protocol") has it in full, and
// contract.h the API every mode shares (this file checks that it keeps it).
//
//   ringwire::MpmcSender sender{ringwire::MappedSegment("jobs")};  // ERR_RINGWIRE_BUSY: no free slot
//   sender.send(data, length, /*timeout_ms=*/1000);   // waits for space; ERR_RINGWIRE_TIMEOUT
//   sender.end();                                     // ends the stream for every receiver
//
//   ringwire::MpmcReceiver receiver{ringwire::MappedSegment("jobs")};
//   std::vector<uint8_t> message;
//   while (receiver.recv(message)) use(message);      // false: end of stream
//
// Threads of one process may share a mapping (std::shared_ptr<MappedSegment>): every endpoint
// takes its own slot. Each message goes to exactly one receiver, and one sender's messages
// reach every receiver in the order they were sent. If an endpoint dies, the others repair
// what it left: a half-written message is skipped, a message a dead receiver was copying is
// lost (delivery is at most once). Waits throw ERR_RINGWIRE_PEER_DEAD once no endpoint of the
// other kind is alive and one of them died without closing. Endpoints are not thread-safe:
// one thread per endpoint.
#ifndef RINGWIRE_MPMC_H_
#define RINGWIRE_MPMC_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "contract.h"
#include "layout.h"
#include "segment.h"
#include "slots.h"
#include "wait.h"

// Test points: the stress test (test/stress_mpmc.cc) defines this before including the header
// to kill an endpoint at each step of the protocol and check that the others repair it.
#ifndef RINGWIRE_MPMC_TEST_POINT
#define RINGWIRE_MPMC_TEST_POINT(name) ((void)0)
#endif

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "ringwire MPMC headers are one 64-bit word with word0 in the low half");

namespace ringwire {

namespace detail {

inline uint64_t unit_value(uint32_t word0, uint32_t word1) {
  return static_cast<uint64_t>(word0) | (static_cast<uint64_t>(word1) << 32);
}
inline uint32_t word0_of(uint64_t unit) { return static_cast<uint32_t>(unit); }
inline uint32_t word1_of(uint64_t unit) { return static_cast<uint32_t>(unit >> 32); }

inline bool cas64(uint64_t* p, uint64_t expected, uint64_t desired) {
  return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

// What every MPMC endpoint does: hold a slot, park and wake on the epochs, release taken
// records, repair what dead endpoints left behind, tell whether the other kind is gone.
class MpmcEndpoint {
 public:
  static constexpr int64_t kParkSliceMs = layout::PARK_SLICE_MS;  // re-check (and look for dead owners) this often
  static constexpr int64_t kPeerCheckMs = layout::PEER_CHECK_MS;  // look at the other kind's liveness at most this often
  static constexpr int64_t kRepairCheckMs = 50;  // try_* look at a blocker's lock at most this often
  static constexpr int kSpinTries = 64;          // attempts before parking

  MpmcEndpoint(const MpmcEndpoint&) = delete;
  MpmcEndpoint& operator=(const MpmcEndpoint&) = delete;

  // Gives the slot back: the intent and pid first, then the lock (a repairer that gets the
  // lock and finds a pid concludes the holder died). Idempotent; the endpoint is unusable
  // afterwards. (Between calls an endpoint holds no claim and no taken record.)
  void close() noexcept {
    if (!locked_) return;
    // Ending with the last sender: a sender closing without having ended, after another
    // ended, may be the last one that had not (layout.h, "Ending with the last sender"). Its
    // slot counts as done first (seq_cst), then it looks: with a sender ending at the same
    // instant (which stores, then looks too), one of the two sees the other.
    if (kind_ == layout::KIND_SENDER && ends_with_last_sender() &&
        load_seq_cst(slot_word(slot_, layout::SLOT_ENDED)) == 0) {
      store_seq_cst(slot_word(slot_, layout::SLOT_ENDED), 1);
      try {
        if ((load_seq_cst(word(layout::OFF_STATE)) & (layout::STATE_SENDER_ENDED | layout::STATE_ENDED)) ==
                layout::STATE_SENDER_ENDED &&
            no_live_sender_left()) {
          end_channel();
        }
      } catch (...) {
        // close() never throws (it runs in destructors); a parked receiver decides instead.
      }
    }
    locked_ = false;
    store_seq_cst(slot_word(slot_, layout::SLOT_INTENT), 0);
    uint32_t pid = static_cast<uint32_t>(getpid());
    __atomic_compare_exchange_n(slot_word(slot_, layout::SLOT_PID), &pid, 0, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    segment_->unlock_role(layout::SLOT_LOCK_BASE + slot_);
  }

  uint32_t slot() const { return slot_; }
  const MappedSegment& segment() const { return *segment_; }
  uint32_t max_message() const { return max_message_; }
  bool is_closed() const { return !locked_; }
  // This slot's message counter: kept across the slot's holders of one kind (layout.h).
  double messages() const { return messages_; }

 protected:
  ~MpmcEndpoint() { close(); }  // not virtual: own MpmcSender and MpmcReceiver, not the base

  MpmcEndpoint(std::shared_ptr<MappedSegment> segment, uint32_t kind)
      : segment_(std::move(segment)),
        data_bell_(doorbell(*segment_, layout::OFF_DATA_SIGNAL, layout::OFF_RECEIVER_WAITERS,
                            layout::OFF_RECEIVER_WAITERS_HIGH)),
        space_bell_(doorbell(*segment_, layout::OFF_SPACE_SIGNAL, layout::OFF_SENDER_WAITERS,
                             layout::OFF_SENDER_WAITERS_HIGH)) {
    namespace L = layout;
    if (segment_->identity().mode != L::MODE_MPMC) {
      throw Error("ERR_RINGWIRE_INCOMPATIBLE", "channel '" + segment_->name() + "' is not an mpmc channel");
    }
    capacity_ = segment_->identity().capacity;
    mask_ = capacity_ - 1;
    // The longest record a sender writes (MPMC's max_message_size is at most one record's).
    max_message_ = std::min(segment_->identity().max_message, segment_->identity().max_message_size);
    ring_ = segment_->base() + L::HEADER_SIZE;
    // The slot table's three passes (slots.h); a slot whose holder died has what it left
    // repaired first (layout.h, "Liveness and repair"), with its lock held.
    const SlotPolicy policy{"mpmc", kParkedReceivers | kParkedSenders};
    slot_ = open_slot(*segment_, kind, policy, [this](uint32_t dead) {
      slot_ = dead;  // the repair skips our own slot
      repair_slot(dead);
    });
    locked_ = true;  // from here close() gives the slot back
    kind_ = kind;
    messages_ = load_count(segment_->base(), slot_offset(slot_) + L::SLOT_MESSAGES);
  }

  static EpochDoorbell doorbell(const MappedSegment& segment, uint32_t signal, uint32_t parked_low,
                                uint32_t parked_high) {
    return EpochDoorbell(segment.signal(signal), segment.word(parked_low),
                         segment.word(parked_high));
  }

  // --- shared memory ---------------------------------------------------------------------

  uint32_t* word(uint32_t offset) const { return segment_->word(offset); }
  uint32_t* slot_word(uint32_t slot, uint32_t field) const { return detail::slot_word(*segment_, slot, field); }
  uint32_t slot_load(uint32_t slot, uint32_t field) const { return detail::slot_load(*segment_, slot, field); }
  // The 8-byte unit at a position (record headers and body units).
  uint64_t* unit(uint32_t position) const { return reinterpret_cast<uint64_t*>(ring_ + (position & mask_)); }
  uint64_t load_unit(uint32_t position, int order = __ATOMIC_ACQUIRE) const {
    return __atomic_load_n(unit(position), order);
  }
  uint32_t lap(uint32_t position) const { return position & ~mask_; }
  uint32_t load_position(uint32_t offset, int order = __ATOMIC_ACQUIRE) const {
    const uint32_t p = __atomic_load_n(word(offset), order);
    if ((p & (layout::RECORD_ALIGNMENT - 1)) != 0) corrupt("misaligned position " + std::to_string(p));
    return p;
  }
  // word1 without the owner slot: lap | state.
  static uint32_t lap_state(uint32_t word1) { return word1 & ~layout::SLOT_FIELD_MASK; }
  static uint32_t owner_of(uint32_t word1) { return (word1 & layout::SLOT_FIELD_MASK) >> layout::SLOT_SHIFT; }
  // Whether word1 is a record (not FREE) of the lap of `position`.
  bool record_of_lap(uint32_t word1, uint32_t position) const {
    return (word1 & ~mask_) == lap(position) && (word1 & layout::STATE_MASK) != layout::REC_FREE;
  }

  // The size of the record whose header at `position` has this word0: a payload length or
  // SKIP | size. False if impossible: too long, misaligned, or straddling the end of the ring.
  bool extent(uint32_t position, uint32_t word0, uint32_t& size) const {
    const uint32_t room = capacity_ - (position & mask_);
    if ((word0 & layout::SKIP) != 0) {
      size = word0 & ~layout::SKIP;
      return size >= layout::RECORD_HEADER_SIZE && (size & (layout::RECORD_ALIGNMENT - 1)) == 0 && size <= room;
    }
    size = layout::record_size(word0);
    return word0 <= max_message_ && size <= room;
  }

  // The size of slot x's claim at c (CLAIMED: word0 means nothing yet), from x's slot: x
  // stored it, then its intent, before the claim CAS, and keeps both until its next claim.
  // False if x's slot does not say so (x moved on meanwhile, or nonsense).
  bool claim_size(uint32_t c, uint32_t x, uint32_t& size) const {
    if (x >= layout::MAX_SLOTS || slot_load(x, layout::SLOT_INTENT) != (c | layout::INTENT_VALID)) return false;
    size = slot_load(x, layout::SLOT_SIZE_OR_END);
    return size >= layout::RECORD_HEADER_SIZE && (size & (layout::RECORD_ALIGNMENT - 1)) == 0 &&
           size <= capacity_ - (c & mask_);
  }

  // The position a valid intent of slot x names. Intents are a position | INTENT_VALID: any
  // other low bit set is nonsense.
  uint32_t intent_position(uint32_t x, uint32_t intent) const {
    if ((intent & (layout::RECORD_ALIGNMENT - 1)) != layout::INTENT_VALID) {
      corrupt("endpoint slot " + std::to_string(x) + " holds a misaligned intent " + std::to_string(intent));
    }
    return intent & ~(layout::RECORD_ALIGNMENT - 1);
  }

  // Whether slot y is a receiver whose intent (the run it took) covers position p.
  bool covers(uint32_t y, uint32_t p) const {
    namespace L = layout;
    if (slot_load(y, L::SLOT_KIND) != L::KIND_RECEIVER) return false;
    const uint32_t intent = slot_load(y, L::SLOT_INTENT);
    if ((intent & L::INTENT_VALID) == 0) return false;
    const uint32_t start = intent_position(y, intent);
    const uint32_t end = slot_load(y, L::SLOT_SIZE_OR_END);
    return static_cast<int32_t>(p - start) >= 0 && static_cast<int32_t>(end - p) > 0;
  }

  // Something impossible was read at `position` (the value of the position word at `offset`).
  // If the position word still holds it, the read was made while it held it and the segment
  // is corrupt; otherwise we were merely late (the unit may since have become payload).
  void suspect(uint32_t offset, uint32_t position, const char* what) const {
    if (__atomic_load_n(word(offset), __ATOMIC_SEQ_CST) == position) corrupt(what);
  }

  [[noreturn]] void corrupt(const std::string& what) const { throw_corrupt(segment_->name(), what); }
  const char* kind_name() const { return kind_ == layout::KIND_SENDER ? "sender" : "receiver"; }
  void check_open() const {
    if (!locked_) throw_closed(segment_->name(), kind_name());
  }
  void count_message() {
    messages_ += 1;
    store_count(segment_->base(), slot_offset(slot_) + layout::SLOT_MESSAGES, messages_);
  }
  // Our intent (and the size or end beside it), published by the seq_cst CAS after. Release,
  // not relaxed: a repairer walking from T sizes our last claim from these words while its
  // header still reads CLAIMED, so they must not be seen to change before our commit of that
  // claim is (the acquire loads between need not order them on a weakly ordered CPU).
  void store_intent(uint32_t position, uint32_t size_or_end) {
    __atomic_store_n(slot_word(slot_, layout::SLOT_SIZE_OR_END), size_or_end, __ATOMIC_RELEASE);
    __atomic_store_n(slot_word(slot_, layout::SLOT_INTENT), position | layout::INTENT_VALID, __ATOMIC_RELEASE);
  }

  // --- waking and parking (layout.h, "Waking with several sleepers"; wait.h) -----------

  // Sleeps on `bell` (our kind's) until `ready()` may hold, a wake, a slice (kParkSliceMs) or
  // `deadline_ms` passes; WAIT_TIMED_OUT if the slice ran out. First (so also after each
  // slice, at most every kRepairCheckMs) clears the bits of endpoints that died parked.
  template <typename Ready>
  WaitStatus park(EpochDoorbell& bell, Ready&& ready, int64_t deadline_ms) {
    const int64_t now = monotonic_ms();
    if (now - last_parked_check_ms_ >= kRepairCheckMs) {
      last_parked_check_ms_ = now;
      clear_dead_parked(*segment_, kParkedReceivers | kParkedSenders, slot_);  // slots.h
    }
    uint32_t epoch;
    WaitStatus status = WAIT_SIGNALLED;
    if (bell.arm(slot_, epoch) && !ready()) {
      const int64_t limit = sleep_limit(kParkSliceMs, deadline_ms);
      status = limit > 0 ? bell.sleep(epoch, limit) : WAIT_TIMED_OUT;
    }
    bell.clear(slot_);  // wakers stop counting us
    return status;
  }

  // --- release ---------------------------------------------------------------------------

  // The taken record at t: body FREE for the next lap (so stale bytes never read as a
  // header), then header RELEASED (owner slot `owner`). Does not move R.
  void release_record(uint32_t t, uint32_t word0, uint32_t size, uint32_t owner) {
    const uint32_t at = t & mask_;
    const uint64_t free_next = unit_value(0, lap(t) + capacity_);
    // Relaxed: published by the seq_cst RELEASED store below (and R's advance after it).
    for (uint32_t u = layout::RECORD_HEADER_SIZE; u < size; u += layout::RECORD_ALIGNMENT) {
      __atomic_store_n(reinterpret_cast<uint64_t*>(ring_ + at + u), free_next, __ATOMIC_RELAXED);
      RINGWIRE_MPMC_TEST_POINT("rewriting");
    }
    // seq_cst: must not pass the load of R after it (Dekker with a releaser ahead of us, whose
    // loop reads our header after its CAS of R). We own the header: one 64-bit store.
    __atomic_store_n(unit(t), unit_value(word0, lap(t) | owner << layout::SLOT_SHIFT | layout::REC_RELEASED),
                     __ATOMIC_SEQ_CST);
    RINGWIRE_MPMC_TEST_POINT("released");
  }

  // Releases our taken record at t and moves R past it if R stood there. True if R moved.
  bool release(uint32_t t, uint32_t word0, uint32_t size) {
    release_record(t, word0, size, slot_);
    if (__atomic_load_n(word(layout::OFF_RELEASE_POSITION), __ATOMIC_SEQ_CST) != t) return false;
    return advance_release(t);
  }

  // From R == r: while the header at R is RELEASED of lap(R), CAS R past it. Whoever wins a
  // CAS goes on; a loser stops (the winner reads the next header after its CAS). Wakes the
  // senders if R moved. True if we moved it.
  bool advance_release(uint32_t r) {
    namespace L = layout;
    bool moved = false;
    for (;;) {
      const uint64_t h = load_unit(r, __ATOMIC_SEQ_CST);
      if (lap_state(word1_of(h)) != (lap(r) | L::REC_RELEASED)) break;
      uint32_t size;
      if (!extent(r, word0_of(h), size)) {
        suspect(L::OFF_RELEASE_POSITION, r, "impossible released record");
        break;
      }
      if (!cas32(word(L::OFF_RELEASE_POSITION), r, r + size)) break;
      RINGWIRE_MPMC_TEST_POINT("advancing");
      moved = true;
      r += size;
    }
    if (moved) space_bell_.ring();
    return moved;
  }

  // --- repair (layout.h, "Liveness and repair") -----------------------------------------

  // Whether dead (or closed) slot x's leftovers are now ours: its lock taken. Our own slot's
  // never are (we hold nothing while we wait); a live holder's lock cannot be taken.
  bool adopt(uint32_t x) {
    return x < layout::MAX_SLOTS && x != slot_ && segment_->lock_role(layout::SLOT_LOCK_BASE + x);
  }
  void disown(uint64_t held) {
    for (uint32_t y = 0; y < layout::MAX_SLOTS; y++) {
      if ((held >> y & 1) != 0 && y != slot_) segment_->unlock_role(layout::SLOT_LOCK_BASE + y);
    }
  }

  // Slot x (owned: dead) claimed the record at p and died before committing: it becomes a
  // skip record of the claim's size (ABANDONED); receivers take it and skip it. True if so.
  bool repair_claim(uint32_t p, uint32_t x) {
    namespace L = layout;
    // A claim not yet released lies in [R, C]. C loaded before R: C <= R + capacity holds
    // whenever C is loaded and R only grows, so a wider window is a peer's scribble. R past C
    // (both moved on meanwhile), or p outside the window, is no claim of now.
    const uint32_t c = load_position(L::OFF_CLAIM_POSITION, __ATOMIC_SEQ_CST);
    const uint32_t r = load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST);
    const uint32_t window = c - r;
    if (static_cast<int32_t>(window) < 0) return false;
    if (window > capacity_) {
      corrupt("claim position " + std::to_string(c) + " is more than a ring past release position " + std::to_string(r));
    }
    if (p - r > window) return false;  // not in [R, C]: long since released
    const uint64_t h = load_unit(p, __ATOMIC_SEQ_CST);
    // R at or before p after the read: the record at p was not released, so that was a header.
    if (p - load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST) > capacity_) return false;
    if (word1_of(h) != (lap(p) | x << L::SLOT_SHIFT | L::REC_CLAIMED)) return false;
    uint32_t size;
    if (!claim_size(p, x, size) || p + size - r > capacity_) {
      corrupt("the claim at position " + std::to_string(p) + " has no size in its owner's slot");
    }
    // Its sender may have died before advancing C: do it first, so that no one who takes the
    // ABANDONED record (moving T) finds C behind T.
    cas32(word(L::OFF_CLAIM_POSITION), p, p + size);
    // word0 = SKIP | size and the state, at once.
    if (!cas64(unit(p), h, unit_value(L::SKIP | size, lap(p) | x << L::SLOT_SHIFT | L::REC_ABANDONED))) {
      return false;
    }
    RINGWIRE_MPMC_TEST_POINT("repaired-claim");
    data_bell_.ring();
    return true;
  }

  // Slot x (owned: dead) took a run of records and died before releasing them all: releases
  // what is left of it as if x had finished (those messages are lost), from R or the run's
  // start, up to its end or T (a run x stored but lost the CAS for ends at T). A record that
  // a live receiver's run covers too is left alone, and so is everything after it. Slots
  // found dead on the way are added to `held` (their locks taken). Clears x's intent if its
  // whole run was handled. Then moves R.
  void repair_run(uint32_t x, uint64_t& held) {
    namespace L = layout;
    const uint32_t intent = slot_load(x, L::SLOT_INTENT);
    if ((intent & L::INTENT_VALID) != 0) {
      const uint32_t start = intent_position(x, intent);
      const uint32_t end = slot_load(x, L::SLOT_SIZE_OR_END);
      if (end - start > capacity_ || (end & (L::RECORD_ALIGNMENT - 1)) != 0) {
        corrupt("endpoint slot " + std::to_string(x) + " holds an impossible run");
      }
      const uint32_t t = load_position(L::OFF_TAKE_POSITION, __ATOMIC_SEQ_CST);
      // A run starts where T stood: at a record, which the walk from R meets (unless R has
      // passed it meanwhile). Released from the middle of a record, it would write into it.
      const uint32_t r0 = load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST);
      if (static_cast<int32_t>(start - r0) > 0 && !reachable(start, L::OFF_RELEASE_POSITION) &&
          static_cast<int32_t>(load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST) - start) <= 0) {
        corrupt("the run endpoint slot " + std::to_string(x) + " took starts inside a record, at " +
                std::to_string(start));
      }
      uint32_t p = start;
      bool whole = true;
      for (;;) {
        // Records before R are released: start there if R is past p (R may move meanwhile).
        const uint32_t r = load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST);
        if (static_cast<int32_t>(r - p) > 0) p = r;
        if (static_cast<int32_t>(end - p) <= 0 || static_cast<int32_t>(t - p) <= 0) break;
        const uint64_t h = load_unit(p, __ATOMIC_SEQ_CST);
        if (static_cast<int32_t>(load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST) - p) > 0) continue;
        const uint32_t w0 = word0_of(h), w1 = word1_of(h), state = w1 & L::STATE_MASK;
        uint32_t size;
        if (!record_of_lap(w1, p) || state == L::REC_CLAIMED || state > L::REC_ABANDONED || !extent(p, w0, size) ||
            static_cast<int32_t>(t - (p + size)) < 0) {
          corrupt("the run endpoint slot " + std::to_string(x) + " took holds an impossible record at " +
                  std::to_string(p));
        }
        if (state == L::REC_COMMITTED || state == L::REC_ABANDONED) {
          // Taken (p < T) and not released. Whoever else covers it must be dead too.
          bool live = false;
          for (uint32_t y = 0; y < L::MAX_SLOTS && !live; y++) {
            if (y == x || y == slot_ || (held >> y & 1) != 0 || !covers(y, p)) continue;
            if (adopt(y)) {
              held |= uint64_t{1} << y;
            } else {
              live = true;
            }
          }
          if (live) {
            whole = false;
            break;
          }
          // Still not released (a live owner that released and cleared its intent before
          // we looked would show here): it is ours to release.
          if (load_unit(p, __ATOMIC_SEQ_CST) != h) continue;
          release_record(p, w0, size, x);
          RINGWIRE_MPMC_TEST_POINT("repaired-take");
        }
        p += size;
      }
      if (whole) store_seq_cst(slot_word(x, L::SLOT_INTENT), 0);
    }
    advance_release(load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST));
  }

  // At open, a slot whose pid was left set: repair what its intent covers.
  void repair_slot(uint32_t x) {
    namespace L = layout;
    const uint32_t intent = slot_load(x, L::SLOT_INTENT);
    if ((intent & L::INTENT_VALID) == 0) return;
    const uint32_t kind = slot_load(x, L::SLOT_KIND);
    if (kind == L::KIND_RECEIVER) {
      uint64_t held = 0;
      try {
        repair_run(x, held);
      } catch (...) {
        disown(held);
        throw;
      }
      disown(held);
    } else if (kind == L::KIND_SENDER) {
      const uint32_t p = intent_position(x, intent);
      if (word1_of(load_unit(p, __ATOMIC_SEQ_CST)) == (lap(p) | x << L::SLOT_SHIFT | L::REC_CLAIMED) &&
          reachable(p, L::OFF_TAKE_POSITION)) {
        repair_claim(p, x);
      }
    }
  }

  // Whether a record starts at p, found by walking the records from T (`from` the take
  // position: the only places a claim can be) or from R (the release position: where a taken
  // run can start). A position in a slot is one a peer stored: the unit there can be payload
  // of a record whose bytes read as a header, and repairing it would write into that record.
  // A record is read only while the walk's start has not passed it (not yet taken, or not yet
  // released: its header still stands); if it moves past, the walk starts again from there,
  // further on. A claim the walk meets takes its size from its owner's slot, valid while the
  // claim stands.
  bool reachable(uint32_t p, uint32_t from) const {
    namespace L = layout;
    uint32_t t = load_position(from, __ATOMIC_SEQ_CST);
    uint32_t at = t;
    // Each record is read at most a few times (again after its claim is committed, or after
    // the start moved); a ring a peer scribbled on could make the walk go round without that
    // bound.
    for (uint32_t reads = 4 * (capacity_ / L::RECORD_ALIGNMENT) + 16; reads > 0; reads--) {
      const uint32_t ahead = p - at;
      if (ahead == 0) return true;
      if (ahead >= capacity_) return false;  // behind T, or more than a ring on
      const uint64_t h = load_unit(at, __ATOMIC_SEQ_CST);
      const uint32_t w1 = word1_of(h), state = w1 & L::STATE_MASK;
      uint32_t size = 0;
      bool sized = false;
      if (record_of_lap(w1, at)) {
        if (state == L::REC_CLAIMED) {
          sized = claim_size(at, owner_of(w1), size);
        } else if (state == L::REC_COMMITTED || state == L::REC_ABANDONED ||
                   (state == L::REC_RELEASED && from == L::OFF_RELEASE_POSITION)) {
          sized = extent(at, word0_of(h), size);
        }
      }
      const uint32_t now = load_position(from, __ATOMIC_SEQ_CST);
      if (static_cast<int32_t>(now - at) > 0) {
        // Passed since: what was read may be gone. Start again there, further on.
        if (static_cast<int32_t>(now - t) <= 0) return false;
        t = at = now;
        continue;
      }
      if (word1_of(load_unit(at, __ATOMIC_SEQ_CST)) != w1) continue;  // committed (or repaired) meanwhile
      if (!sized) return false;  // not a record: C or T is here, or the ring is not one to walk
      at += size;
    }
    return false;
  }

  // After a claim CAS at p succeeded: R past p means we were a lap (or more) late — the
  // header we read was read while C == p, but the ring moved on before our CAS, and the unit
  // had become payload of a later record that happened to hold the exact value we expected.
  // (A real claim keeps R at or before p.) Put the bytes back and retry. This narrows, but
  // cannot close, that window of layout.h's CAS-on-header claim: a receiver may copy the
  // changed payload before it is restored.
  bool stale(uint32_t p, uint64_t expected, uint64_t mine) {
    const uint32_t r = __atomic_load_n(word(layout::OFF_RELEASE_POSITION), __ATOMIC_SEQ_CST);
    if (static_cast<int32_t>(p - r) >= 0) return false;
    RINGWIRE_MPMC_TEST_POINT("stale");
    cas64(unit(p), mine, expected);
    return true;
  }

  bool ends_with_last_sender() const {
    return (segment_->identity().flags & layout::FLAG_END_WITH_LAST_SENDER) != 0;
  }

  // Ending with the last sender: whether no sender other than this endpoint is open, alive
  // and not yet ended (its lock says alive).
  bool no_live_sender_left() const {
    namespace L = layout;
    for (uint32_t s = 0; s < L::MAX_SLOTS; s++) {
      if (s == slot_ || load_seq_cst(slot_word(s, L::SLOT_KIND)) != L::KIND_SENDER ||
          load_seq_cst(slot_word(s, L::SLOT_PID)) == 0 || load_seq_cst(slot_word(s, L::SLOT_ENDED)) != 0) {
        continue;
      }
      if (slot_alive(s)) return false;
    }
    return true;
  }

  bool slot_alive(uint32_t s) const { return detail::slot_alive(*segment_, s); }
  // Endpoints of `kind` other than this one: live or dead (slots.h).
  using Peers = detail::Peers;
  Peers peers(uint32_t kind) const { return detail::peers(*segment_, kind, slot_); }

  // Ends the stream for every receiver and wakes them.
  void end_channel() {
    // seq_cst: after our last commit; pairs with a receiver's load of the state.
    __atomic_or_fetch(word(layout::OFF_STATE), layout::STATE_ENDED, __ATOMIC_SEQ_CST);
    data_bell_.ring();
  }

  // Whether to look at the other kind's liveness now (system calls): at most every
  // kPeerCheckMs, and always after a park slice ran out (`force`).
  bool liveness_check_due(bool force) {
    const int64_t now = monotonic_ms();
    if (!force && now - last_liveness_check_ms_ < kPeerCheckMs) return false;
    last_liveness_check_ms_ = now;
    return true;
  }

  bool repair_check_due(bool force) {
    const int64_t now = monotonic_ms();
    if (!force && now - last_repair_check_ms_ < kRepairCheckMs) return false;
    last_repair_check_ms_ = now;
    return true;
  }

  std::shared_ptr<MappedSegment> segment_;
  EpochDoorbell data_bell_, space_bell_;  // receivers park on the data epoch, senders on the space epoch
  uint32_t slot_ = 0, kind_ = 0;
  bool locked_ = false;
  uint32_t capacity_ = 0, mask_ = 0, max_message_ = 0;
  uint8_t* ring_ = nullptr;
  double messages_ = 0;
  int64_t last_repair_check_ms_ = INT64_MIN / 2;
  int64_t last_liveness_check_ms_ = INT64_MIN / 2;
  int64_t last_parked_check_ms_ = INT64_MIN / 2;
};

}  // namespace detail

class MpmcSender : public detail::MpmcEndpoint {
 public:
  explicit MpmcSender(MappedSegment segment) : MpmcSender(std::make_shared<MappedSegment>(std::move(segment))) {}
  // A mapping shared with other endpoints of this process (threads): one set of addresses,
  // which is also what lets ThreadSanitizer follow the protocol.
  explicit MpmcSender(std::shared_ptr<MappedSegment> segment)
      : MpmcEndpoint(std::move(segment), layout::KIND_SENDER) {
    // The channel may have ended since openers could look (another sender's end(), a
    // receiver finding the last sender gone): refuse, leaving the slot clean.
    if ((detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0) {
      detail::throw_ended_at_open(segment_->name(), "its senders");
    }
  }

  // Sends if there is room now; false if the ring is full.
  bool try_send(const void* data, uint32_t length) {
    if (attempt(data, length)) return true;
    if (repair_check_due(false) && repair_at_release()) return attempt(data, length);
    return false;
  }

  // Sends, waiting for room up to timeout_ms (-1: for as long as it takes).
  void send(const void* data, uint32_t length, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    bool slice_ran_out = false;
    for (int tries = 0;; tries++) {
      if (attempt(data, length)) return;
      if (detail::deadline_passed(deadline)) detail::throw_timeout(segment_->name(), "send", timeout_ms);
      if (tries < kSpinTries) {
        detail::cpu_relax();
        continue;
      }
      // Before each park (and so after each slice): is R held by a dead receiver?
      repair_check_due(true);
      if (repair_at_release()) continue;
      const uint32_t r = full_release_;
      const auto space_came_back = [this, r] { return detail::load_seq_cst(word(layout::OFF_RELEASE_POSITION)) != r; };
      // With no receiver alive and one dead, nothing will free space (after the repair above).
      if (liveness_check_due(slice_ran_out)) {
        const Peers receivers = peers(layout::KIND_RECEIVER);
        if (receivers.live == 0 && receivers.dead != 0) {
          if (!space_came_back()) detail::throw_peers_dead(segment_->name(), "receiver", receivers.dead);
          continue;
        }
      }
      slice_ran_out = park(space_bell_, space_came_back, deadline) == WAIT_TIMED_OUT;
    }
  }

  // End of stream for every receiver (they drain what was sent first). On a channel created
  // to end with its last sender, this sender's part ends, and the channel with it once no
  // other live sender has yet to end (layout.h, "Ending with the last sender").
  void end() {
    check_open();
    if (!ends_with_last_sender()) {
      end_channel();
      return;
    }
    if (detail::load_seq_cst(slot_word(slot_, layout::SLOT_ENDED)) != 0) return;
    detail::store_seq_cst(slot_word(slot_, layout::SLOT_ENDED), 1);
    __atomic_or_fetch(word(layout::OFF_STATE), layout::STATE_SENDER_ENDED, __ATOMIC_SEQ_CST);
    if (no_live_sender_left()) end_channel();
  }

 private:
  bool attempt(const void* data, uint32_t length) {
    check_open();
    // Any sender's end() ends the channel for all: a send after it fails rather than go
    // into a stream its receivers may have finished reading. (Ending with the last sender:
    // this sender's own end() ends what it may send.)
    if ((detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0 ||
        detail::load_seq_cst(slot_word(slot_, layout::SLOT_ENDED)) != 0) {
      detail::throw_ended(segment_->name());
    }
    if (length > max_message_) detail::throw_too_large(segment_->name(), length, max_message_);
    uint32_t c;
    if (!claim(layout::record_size(length), c)) return false;
    // A claim racing another sender's end(): a receiver that saw the end with nothing at T
    // may have finished. Give the claim up (a skip record) rather than send into that.
    if ((detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0) {
      __atomic_store_n(unit(c),
                       detail::unit_value(layout::SKIP | layout::record_size(length),
                                          lap(c) | slot_ << layout::SLOT_SHIFT | layout::REC_ABANDONED),
                       __ATOMIC_SEQ_CST);
      data_bell_.ring();
      detail::throw_ended(segment_->name());
    }
    detail::copy_in(ring_ + (c & mask_) + layout::RECORD_HEADER_SIZE, data, length);
    RINGWIRE_MPMC_TEST_POINT("committing");
    // word0 and word1 in one seq_cst store: publishes the payload (release) and must not pass
    // the parked masks' loads in ring(). Only we write a header we claimed (a repairer needs our lock).
    __atomic_store_n(unit(c),
                     detail::unit_value(length, lap(c) | slot_ << layout::SLOT_SHIFT | layout::REC_COMMITTED),
                     __ATOMIC_SEQ_CST);
    count_message();
    data_bell_.ring();
    return true;
  }

  // Claims `size` bytes for a record (layout.h, "claim"), first a skip record to the end of
  // the ring if it would straddle it. False if the ring is full (full_release_ = the R that
  // said so).
  bool claim(uint32_t size, uint32_t& claimed) {
    namespace L = layout;
    uint32_t* const claim_word = word(L::OFF_CLAIM_POSITION);
    for (;;) {
      // C, then R, then the header: R >= (C we read) - capacity, and R's acquire makes the
      // FREE rewrite of the previous lap visible before we read the header.
      const uint32_t c = load_position(L::OFF_CLAIM_POSITION);
      const uint32_t r = load_position(L::OFF_RELEASE_POSITION);
      const uint32_t used = c - r;
      if (used > capacity_) {
        if (static_cast<int32_t>(used) >= 0) corrupt("claim position beyond the release position + capacity");
        suspect(L::OFF_CLAIM_POSITION, c, "release position beyond the claim position");
        continue;  // our C was stale
      }
      const uint32_t lap_c = lap(c);
      const uint64_t h = load_unit(c);
      const uint32_t w0 = detail::word0_of(h), w1 = detail::word1_of(h);
      if (record_of_lap(w1, c)) {
        // Claimed already, C not yet moved past it: help. While CLAIMED its size is in the
        // claimer's slot; after, in word0.
        const uint32_t state = w1 & L::STATE_MASK;
        uint32_t record = 0;
        bool ok = state == L::REC_CLAIMED ? claim_size(c, owner_of(w1), record)
                                          : state <= L::REC_ABANDONED && extent(c, w0, record);
        // Within [R, R + capacity]; R re-read: the claimer saw a later R than we may have.
        if (ok && used + record > capacity_) ok = c + record - load_position(L::OFF_RELEASE_POSITION) <= capacity_;
        if (!ok) {
          suspect(L::OFF_CLAIM_POSITION, c, "impossible record at the claim position");
          continue;
        }
        detail::cas32(claim_word, c, c + record);
        continue;
      }
      const uint32_t tail = capacity_ - (c & mask_);
      const bool skip = size > tail;
      const uint32_t take = skip ? tail : size;
      if (used + take > capacity_) {
        full_release_ = r;
        return false;
      }
      // R is past the record that last used this unit, so it must be free for this lap: FREE
      // of this lap, or RELEASED (any slot) of the previous one.
      if (w1 != lap_c && lap_state(w1) != ((lap_c - capacity_) | L::REC_RELEASED)) {
        suspect(L::OFF_CLAIM_POSITION, c, "ring unit at the claim position is not free although released");
        continue;
      }
      // Our slot says how big the claim is before the claim exists.
      store_intent(c, take);
      // C still c: the header we read was read while C == c (it is a header, not payload of a
      // later lap), which narrows the window in which the CAS below could hit stale bytes.
      if (detail::load_seq_cst(claim_word) != c) continue;
      RINGWIRE_MPMC_TEST_POINT("claim-cas");
      // word1 from the exact value read (word0 too: no one writes a free header's word0).
      const uint64_t mine = detail::unit_value(w0, lap_c | slot_ << L::SLOT_SHIFT | L::REC_CLAIMED);
      if (!detail::cas64(unit(c), h, mine)) continue;
      if (stale(c, h, mine)) continue;
      RINGWIRE_MPMC_TEST_POINT(skip ? "skip-claimed" : "claimed");
      detail::cas32(claim_word, c, c + take);  // fails harmlessly if someone helped
      if (!skip) {
        RINGWIRE_MPMC_TEST_POINT("claim-advanced");
        claimed = c;
        return true;
      }
      __atomic_store_n(unit(c),
                       detail::unit_value(L::SKIP | tail, lap_c | slot_ << L::SLOT_SHIFT | L::REC_COMMITTED),
                       __ATOMIC_SEQ_CST);
      data_bell_.ring();
    }
  }

  // Waiting for space: if R is stuck at a RELEASED record (its releaser died before moving R)
  // help; if at a record taken by a dead receiver, release that receiver's run. True if R
  // moved (or may have).
  bool repair_at_release() {
    namespace L = layout;
    const uint32_t r = load_position(L::OFF_RELEASE_POSITION, __ATOMIC_SEQ_CST);
    const uint64_t h = load_unit(r, __ATOMIC_SEQ_CST);
    if (detail::load_seq_cst(word(L::OFF_RELEASE_POSITION)) != r) return true;
    const uint32_t w1 = detail::word1_of(h), state = w1 & L::STATE_MASK;
    if ((w1 & ~mask_) != lap(r)) return false;
    if (state == L::REC_RELEASED) {
      RINGWIRE_MPMC_TEST_POINT("repairing-release");
      return advance_release(r);
    }
    if (state != L::REC_COMMITTED && state != L::REC_ABANDONED) return false;
    // Taken (before T), so some receiver's intent covers it: T moved past it by that
    // receiver's CAS, which came after its intent (and our T load after that CAS).
    const uint32_t t = load_position(L::OFF_TAKE_POSITION, __ATOMIC_SEQ_CST);
    if (static_cast<int32_t>(t - r) <= 0) return false;  // not taken: the receivers are slow
    uint64_t held = 0;
    uint32_t lowest = L::MAX_SLOTS;
    bool moved = false;
    try {
      for (uint32_t y = 0; y < L::MAX_SLOTS; y++) {
        if (y == slot_ || !covers(y, r)) continue;
        if (!adopt(y)) {  // alive (still copying), or another repairer on it: wait
          disown(held);
          return false;
        }
        held |= uint64_t{1} << y;
        if (lowest == L::MAX_SLOTS) lowest = y;
      }
      if (lowest == L::MAX_SLOTS) return false;
      // Under the locks: still taken and not released, and covered (the lowest is used, so
      // two repairers never work on one run).
      if (load_unit(r, __ATOMIC_SEQ_CST) == h && covers(lowest, r)) {
        repair_run(lowest, held);
        moved = detail::load_seq_cst(word(L::OFF_RELEASE_POSITION)) != r;
      }
    } catch (...) {
      disown(held);
      throw;
    }
    disown(held);
    return moved;
  }

  uint32_t full_release_ = 0;
};

class MpmcReceiver : public detail::MpmcEndpoint {
 public:
  explicit MpmcReceiver(MappedSegment segment)
      : MpmcReceiver(std::make_shared<MappedSegment>(std::move(segment))) {}
  explicit MpmcReceiver(std::shared_ptr<MappedSegment> segment)
      : MpmcEndpoint(std::move(segment), layout::KIND_RECEIVER) {}

  // Copies the next message into `out` if there is one: kMessage, kEmpty or kEnded.
  Status try_recv(std::vector<uint8_t>& out) {
    Take taken = take(out);
    if (taken == Take::kBlocked && repair_check_due(false) && repair_at_take()) taken = take(out);
    if (taken == Take::kMessage) return Status::kMessage;
    if (taken == Take::kBlocked || !end_marked()) return Status::kEmpty;
    // STATE_ENDED is set after the last commit: one more look at T decides.
    taken = take(out);
    return taken == Take::kMessage ? Status::kMessage : taken == Take::kEmpty ? Status::kEnded : Status::kEmpty;
  }

  // Waits up to timeout_ms (-1: for as long as it takes) for the next message: true with it
  // in `out`, false at the end of the stream (ended, and everything sent before taken).
  bool recv(std::vector<uint8_t>& out, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    bool slice_ran_out = false;
    for (int tries = 0;; tries++) {
      Take taken = take(out);
      if (taken == Take::kMessage) return true;
      if (taken == Take::kEmpty && end_marked()) {
        taken = take(out);  // one more look, as in try_recv()
        if (taken != Take::kBlocked) return taken == Take::kMessage;
      }
      if (detail::deadline_passed(deadline)) detail::throw_timeout(segment_->name(), "recv", timeout_ms);
      if (tries < kSpinTries) {
        detail::cpu_relax();
        continue;
      }
      if (taken == Take::kBlocked) {
        // Before each park (and so after each slice): is T held by a dead sender's claim?
        repair_check_due(true);
        if (repair_at_take()) continue;
      } else if (liveness_check_due(slice_ran_out)) {
        // Nothing at T. Ending with the last sender: once one has ended or died (dying counts
        // as ending) and no live sender that has not ended remains, the channel ends here.
        // Otherwise, with no sender alive and one dead, nothing more can come.
        RINGWIRE_MPMC_TEST_POINT("receiver-peers");
        const Peers senders = peers(layout::KIND_SENDER);
        if (ends_with_last_sender() && !end_marked() &&
            (senders.dead != 0 ||
             (detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_SENDER_ENDED) != 0) &&
            no_live_sender_left()) {
          end_channel();
          continue;
        }
        if (senders.live == 0 && senders.dead != 0) {
          // Decide on what is at T now: only nothing there, with the stream not ended, is the
          // end. Since our take() a sender may have claimed T and died holding the claim,
          // after another committed a message behind it and closed (models/mpmc.pml,
          // FINDINGS 1): on a claim go round, and take() finds it blocked and repairs it.
          if (state_at_take() == 0 && !end_marked()) {
            detail::throw_peers_dead(segment_->name(), "sender", senders.dead);
          }
          continue;
        }
      }
      const uint32_t t = seen_take_;
      const uint64_t h = seen_header_;
      const bool empty = taken == Take::kEmpty;
      const auto moved = [this, t, h, empty] {
        return detail::load_seq_cst(word(layout::OFF_TAKE_POSITION)) != t || load_unit(t, __ATOMIC_SEQ_CST) != h ||
               (empty && end_marked());
      };
      slice_ran_out = park(data_bell_, moved, deadline) == WAIT_TIMED_OUT;
    }
  }

  // Whether the stream ended and every message sent before it has been taken.
  bool ended() const {
    check_open();
    // The flag first, then T: STATE_ENDED is set after the last commit.
    return end_marked() && state_at_take() == 0;
  }

 private:
  enum class Take { kMessage, kEmpty, kBlocked };

  // Whether a sender ended the stream (messages sent before may still be waiting).
  bool end_marked() const { return (detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0; }

  // What is at T, without taking it: 1 a record (a message or a skip), 0 nothing, -1 a claim
  // not yet committed.
  int state_at_take() const {
    const uint32_t t = load_position(layout::OFF_TAKE_POSITION);
    const uint32_t w1 = detail::word1_of(load_unit(t));  // acquire: pairs with the sender's commit
    if ((w1 & ~mask_) != lap(t)) return 0;
    const uint32_t state = w1 & layout::STATE_MASK;
    return state == layout::REC_FREE ? 0 : state == layout::REC_CLAIMED ? -1 : 1;
  }
  // Takes records at T until one carries a message (layout.h, "take" and "release"), one
  // record per CAS of T; skip and abandoned records are consumed silently. kEmpty: nothing at
  // T; kBlocked: a claim not yet committed (seen_take_/seen_header_ say where and what).
  Take take(std::vector<uint8_t>& out) {
    namespace L = layout;
    check_open();
    uint32_t* const take_word = word(L::OFF_TAKE_POSITION);
    for (;;) {
      // T, then R, then the header (the same reasoning as claim()'s).
      const uint32_t t = load_position(L::OFF_TAKE_POSITION);
      const uint32_t r = load_position(L::OFF_RELEASE_POSITION);
      const uint32_t used = t - r;
      if (used > capacity_) {
        if (static_cast<int32_t>(used) >= 0) corrupt("take position beyond the release position + capacity");
        suspect(L::OFF_TAKE_POSITION, t, "release position beyond the take position");
        continue;
      }
      const uint32_t lap_t = lap(t);
      // acquire: pairs with the sender's commit; its payload and length are visible.
      const uint64_t h = load_unit(t);
      const uint32_t w0 = detail::word0_of(h), w1 = detail::word1_of(h);
      const uint32_t state = w1 & L::STATE_MASK;
      seen_take_ = t;
      seen_header_ = h;
      if ((w1 & ~mask_) == lap_t) {
        if (state == L::REC_CLAIMED) return Take::kBlocked;
        if (state == L::REC_FREE && w1 == lap_t) return Take::kEmpty;
        uint32_t size;
        bool ok = (state == L::REC_COMMITTED || state == L::REC_ABANDONED) && extent(t, w0, size);
        if (ok && used + size > capacity_) ok = t + size - load_position(L::OFF_RELEASE_POSITION) <= capacity_;
        // It lies before C: its claim moved C past it before word1 said so (C loaded after
        // word1 is at least there).
        if (ok) ok = before_claim(t, t + size);
        if (!ok) {
          suspect(L::OFF_TAKE_POSITION, t, "impossible record at the take position");
          continue;
        }
        const bool deliver = state == L::REC_COMMITTED && (w0 & L::SKIP) == 0;
        if (deliver) out.reserve(w0);  // may throw: before we take anything
        // Our slot says what we take before we take it (a repairer reads it if we die).
        store_intent(t, t + size);
        RINGWIRE_MPMC_TEST_POINT("take-cas");
        // The take: T t -> t + size. Winning also proves T == t all along, so the header
        // was read while it stood at T (a header, and unchanged: no one else takes it).
        if (!detail::cas32(take_word, t, t + size)) {
          RINGWIRE_MPMC_TEST_POINT("take-lost");
          detail::store_seq_cst(slot_word(slot_, L::SLOT_INTENT), 0);
          continue;
        }
        RINGWIRE_MPMC_TEST_POINT("taken");
        if (deliver) detail::copy_out(out, ring_ + (t & mask_) + L::RECORD_HEADER_SIZE, w0);  // reserved above
        release(t, w0, size);
        // seq_cst, after the RELEASED store: a repairer that sees no intent sees the release.
        detail::store_seq_cst(slot_word(slot_, L::SLOT_INTENT), 0);
        if (!deliver) continue;
        count_message();
        return Take::kMessage;
      }
      if ((w1 & ~mask_) == lap_t - capacity_) {
        // The previous lap's header: released (nothing claimed here yet), or, with the ring
        // full (T == R + capacity), the record at R, taken and still being copied.
        if (state == L::REC_RELEASED) return Take::kEmpty;
        if ((state == L::REC_COMMITTED || state == L::REC_ABANDONED) && used == capacity_) return Take::kEmpty;
      }
      suspect(L::OFF_TAKE_POSITION, t, "unexpected header at the take position");
    }
  }

  // Blocked at a CLAIMED record: if its sender is dead, mark it ABANDONED. True if repaired.
  bool repair_at_take() {
    const uint32_t x = owner_of(detail::word1_of(seen_header_));
    if (x >= layout::MAX_SLOTS) corrupt("the claim at the take position names endpoint slot " + std::to_string(x));
    if (!adopt(x)) return false;  // alive: it is still writing
    bool repaired = false;
    try {
      repaired = repair_claim(seen_take_, x);
    } catch (...) {
      disown(uint64_t{1} << x);
      throw;
    }
    disown(uint64_t{1} << x);
    return repaired;
  }

  uint32_t seen_take_ = 0;
  uint64_t seen_header_ = 0;
  uint32_t known_claim_ = 0;  // C as last loaded: C only grows, so it stays a lower bound

  // Whether a record at T = t ending at `end` lies before C, with C no more than a ring past t
  // (R <= T <= C <= R + capacity: a wider window is a peer's scribble, and what reads as a
  // record at t may be the payload of one a lap ahead). By C as last loaded if that settles
  // it, else by C now; saves a load of the line every sender writes on most takes.
  bool before_claim(uint32_t t, uint32_t end) {
    if (static_cast<int32_t>(known_claim_ - end) >= 0 && known_claim_ - t <= capacity_) return true;
    known_claim_ = load_position(layout::OFF_CLAIM_POSITION);
    return static_cast<int32_t>(known_claim_ - end) >= 0 && known_claim_ - t <= capacity_;
  }
};

static_assert(check_sender_shape<MpmcSender>() && check_receiver_shape<MpmcReceiver>(),
              "the MPMC endpoints keep the contract of contract.h");

}  // namespace ringwire

#endif  // RINGWIRE_MPMC_H_
