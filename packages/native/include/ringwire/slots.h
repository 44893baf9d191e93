// ringwire/slots.h — the endpoint slot table of layout.h (header-only, C++17, Linux), for the
// modes whose endpoints each take a slot: MPMC senders and receivers (mpmc.h), broadcast
// receivers (broadcast.h). The TypeScript's ring/slots.ts mirrors this file.
//
//   open_slot          takes a free slot, its lock held: three passes (layout.h, "MPMC
//                      protocol"), the dead holder's leftovers handed to the mode's take-over
//                      hook, the slot's count retired (on a change of kind, or on every reuse)
//   peers              endpoints of a kind in the other slots: live (lock held) or dead
//   clear_dead_parked  the parked bits that endpoints which died parked left behind
//
// A slot belongs to whoever holds the lock on byte SLOT_LOCK_BASE + slot of the segment file
// (the kernel drops it when the holder dies). An opener takes the lock before it writes its
// pid; a clean close clears the pid before it drops the lock. So a pid recorded beside a free
// lock, and still there after the lock was seen free, is an endpoint that died without closing.
#ifndef RINGWIRE_SLOTS_H_
#define RINGWIRE_SLOTS_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

#include "contract.h"
#include "layout.h"
#include "segment.h"

namespace ringwire {
namespace detail {

inline uint32_t slot_offset(uint32_t slot) { return layout::OFF_SLOTS + slot * layout::SLOT_SIZE; }
inline uint32_t* slot_word(const MappedSegment& segment, uint32_t slot, uint32_t field) {
  return segment.word(slot_offset(slot) + field);
}
inline uint32_t slot_load(const MappedSegment& segment, uint32_t slot, uint32_t field) {
  return load_seq_cst(slot_word(segment, slot, field));
}

// Whether the endpoint in slot `s` is alive: its lock is held, through another descriptor or
// by another endpoint sharing this mapping (whose locks never conflict with ours).
inline bool slot_alive(const MappedSegment& segment, uint32_t s) {
  const uint32_t role = layout::SLOT_LOCK_BASE + s;
  return segment.role_held_here(role) || segment.role_locked_by_other(role);
}

// The parked masks a mode keeps a bit per slot in (layout.h, "Waking with several sleepers").
// Broadcast has only the receivers': its sender's wait line holds SPSC's waiter count, which
// a bit clear would corrupt.
enum ParkedMasks : uint32_t { kParkedReceivers = 1, kParkedSenders = 2 };
inline uint32_t* parked_word(const MappedSegment& segment, uint32_t mask, uint32_t slot) {
  const bool low = slot < 32;
  if (mask == kParkedReceivers) {
    return segment.word(low ? layout::OFF_RECEIVER_WAITERS : layout::OFF_RECEIVER_WAITERS_HIGH);
  }
  return segment.word(low ? layout::OFF_SENDER_WAITERS : layout::OFF_SENDER_WAITERS_HIGH);
}
// Clears slot's bit in `mask` (seq_cst, as a parker's own clear): by its parker, by whoever
// holds its lock (its holder died parked), or by anyone for a slot that cannot exist.
inline void clear_parked(const MappedSegment& segment, uint32_t mask, uint32_t slot) {
  __atomic_and_fetch(parked_word(segment, mask, slot), ~(1u << (slot & 31)), __ATOMIC_SEQ_CST);
}

// What a mode asks of open_slot.
struct SlotPolicy {
  const char* mode;                         // the mode's name, for ERR_RINGWIRE_BUSY
  uint32_t parked_masks;                    // the ParkedMasks this mode keeps
  bool retire_every_reuse = false;          // broadcast: a reused slot's count is always retired
  uint32_t initial_intent = 0;              // SLOT_INTENT before the pid (broadcast: the cursor)
};

// With slot's lock held: makes the slot this endpoint's. Clears the bits a holder that died
// parked left; hands a dead holder's leftovers (a pid still recorded) to `take_over(slot)`;
// retires the slot's count to the channel's total of its kind (the SPSC counter words) if
// the kind changes, or always with retire_every_reuse; then writes the slot's fields, the pid
// last.
template <typename TakeOver>
void take_slot(MappedSegment& segment, uint32_t slot, uint32_t kind, const SlotPolicy& policy, TakeOver&& take_over) {
  namespace L = layout;
  for (uint32_t mask : {kParkedReceivers, kParkedSenders}) {
    if ((policy.parked_masks & mask) != 0) clear_parked(segment, mask, slot);
  }
  // A pid left in the slot: its last holder died without closing. We hold its lock, so its
  // leftovers are ours to repair (layout.h, "Liveness and repair").
  if (slot_load(segment, slot, L::SLOT_PID) != 0) take_over(slot);
  const uint32_t was = slot_load(segment, slot, L::SLOT_KIND);
  if (was != 0 && (was != kind || policy.retire_every_reuse)) {
    // The slot's count moves to the channel's retired total of its kind (the SPSC counter
    // words, which these modes do not otherwise use) and the slot starts from zero.
    const uint32_t count = slot_offset(slot) + L::SLOT_MESSAGES;
    add_count(segment.base(), was == L::KIND_SENDER ? L::OFF_MESSAGES_SENT : L::OFF_MESSAGES_RECEIVED,
              load_count(segment.base(), count));
    store_count(segment.base(), count, 0);
  }
  store_seq_cst(slot_word(segment, slot, L::SLOT_INTENT), policy.initial_intent);  // before the kind: never a stale one
  store_seq_cst(slot_word(segment, slot, L::SLOT_ENDED), 0);
  store_seq_cst(slot_word(segment, slot, L::SLOT_KIND), kind);
  store_seq_cst(slot_word(segment, slot, L::SLOT_THREAD), static_cast<uint32_t>(syscall(SYS_gettid)));
  // seq_cst, last: whoever sees the pid sees the slot's fields.
  store_seq_cst(slot_word(segment, slot, L::SLOT_PID), static_cast<uint32_t>(getpid()));
}

// Takes a free slot for an endpoint of `kind` and returns it, its lock held. Pass 0: a slot
// never used, or closed cleanly by an endpoint of this kind; 1: any slot closed cleanly; 2:
// any whose lock is free (a slot whose holder died keeps its record, its pid for stats and
// for ERR_RINGWIRE_PEER_DEAD, until no other is free). ERR_RINGWIRE_BUSY if every slot is
// held. If taking it throws, the lock is given back (the dead holder's record stays).
template <typename TakeOver>
uint32_t open_slot(MappedSegment& segment, uint32_t kind, const SlotPolicy& policy, TakeOver&& take_over) {
  namespace L = layout;
  for (int pass = 0; pass < 3; pass++) {
    for (uint32_t s = 0; s < L::MAX_SLOTS; s++) {
      const uint32_t was = slot_load(segment, s, L::SLOT_KIND);
      if (pass < 2 && slot_load(segment, s, L::SLOT_PID) != 0) continue;
      if (pass == 0 && was != kind && was != 0) continue;
      if (!segment.lock_role(L::SLOT_LOCK_BASE + s)) continue;
      try {
        take_slot(segment, s, kind, policy, take_over);
      } catch (...) {
        segment.unlock_role(L::SLOT_LOCK_BASE + s);
        throw;
      }
      return s;
    }
  }
  throw Error("ERR_RINGWIRE_BUSY", "channel '" + segment.name() + "' already has " + std::to_string(L::MAX_SLOTS) +
                                       " open endpoints, the most a " + policy.mode + " channel can have");
}
inline uint32_t open_slot(MappedSegment& segment, uint32_t kind, const SlotPolicy& policy) {
  return open_slot(segment, kind, policy, [](uint32_t) {});
}

// Endpoints of `kind` in slots other than `own` with a pid recorded: live (their lock held) or
// dead (their lock free and the pid unchanged across the lock check: one that closed cleanly
// meanwhile cleared it first). System calls: one lock check per such slot.
struct Peers {
  uint32_t live = 0, dead = 0;
};
inline Peers peers(const MappedSegment& segment, uint32_t kind, uint32_t own) {
  namespace L = layout;
  Peers count;
  for (uint32_t s = 0; s < L::MAX_SLOTS; s++) {
    if (s == own || slot_load(segment, s, L::SLOT_KIND) != kind) continue;
    const uint32_t pid = slot_load(segment, s, L::SLOT_PID);
    if (pid == 0) continue;
    if (slot_alive(segment, s)) {
      count.live++;
    } else if (slot_load(segment, s, L::SLOT_PID) == pid) {
      count.dead++;
    }
  }
  return count;
}

// A bit stays set where an endpoint died parked, and costs every wake a futex call or a
// semaphore token until someone holding that slot's lock clears it (layout.h, "Waking with
// several sleepers"). If we can take the lock, the holder is dead (or gone): clear it. A bit
// of a slot that cannot exist (48..63) is a peer's scribble: cleared too. Two loads per mask
// when nothing is set; a lock attempt (a system call) per parked endpoint. `own`: the
// caller's slot (MAX_SLOTS for none).
inline void clear_dead_parked(MappedSegment& segment, uint32_t masks, uint32_t own) {
  namespace L = layout;
  for (uint32_t mask : {kParkedReceivers, kParkedSenders}) {
    if ((masks & mask) == 0) continue;
    for (uint32_t base : {0u, 32u}) {
      // Relaxed: only a hint of whom to look at; the lock decides.
      uint32_t bits = __atomic_load_n(parked_word(segment, mask, base), __ATOMIC_RELAXED);
      for (; bits != 0; bits &= bits - 1) {
        const uint32_t s = base + static_cast<uint32_t>(__builtin_ctz(bits));
        if (s >= L::MAX_SLOTS) {
          clear_parked(segment, mask, s);
          continue;
        }
        if (s == own || segment.role_held_here(L::SLOT_LOCK_BASE + s)) continue;
        if (!segment.lock_role(L::SLOT_LOCK_BASE + s)) continue;  // alive
        clear_parked(segment, mask, s);
        segment.unlock_role(L::SLOT_LOCK_BASE + s);
      }
    }
  }
}

}  // namespace detail
}  // namespace ringwire

#endif  // RINGWIRE_SLOTS_H_
