// ringwire/layout.h — the shared-memory layout of a ringwire channel, version 1.
//
// This file is the single source of truth for the segment format. The addon exports
// every constant below to TypeScript at load time; C and C++ peers include it directly.
//
// A channel is one POSIX shared-memory object named "/rw.<name>" (mode 0600):
//
//   offset 0                                                        HEADER_SIZE (4096)
//   +------------------------------------------------------------------+---------------------+
//   | identity line      (0..127)     written once by the creator      |  data ring          |
//   | producer line      (128..255)   producer position, messages sent |  `capacity` bytes,  |
//   | consumer line      (256..383)   consumer position, messages recv |  a power of two     |
//   | receiver wait line (384..511)   data signal, receiver waiters    |                     |
//   | sender wait line   (512..639)   space signal, sender waiters     |                     |
//   | state line         (640..767)   end flag, endpoint pids, threads |                     |
//   | reserved           (768..4095)  zero (liveness table, later)     |                     |
//   +------------------------------------------------------------------+---------------------+
//
// Identity line (all uint32, native endianness, written before `magic` is published):
//
//    0 magic  4 version  8 header_size  12 capacity  16 mode  20 wait_mechanism
//   24 default_wait  28 max_message  32 creator_uid  36 creator_pid
//   40 created_at_ms_low  44 created_at_ms_high  48 record_alignment  52 record_header_size
//   56 flags  60 identity_check (xor of words 1..14 with IDENTITY_SALT)
//
// Each mutable word sits on its own 128-byte line (two 64-byte lines, so adjacent-line
// prefetch does not make producer and consumer share one) and is only accessed atomically.
//
// Positions are byte counts that grow without bound, kept as uint32 and compared with
// wrap-around arithmetic: (producer - consumer) mod 2^32 is the number of bytes in use,
// always in [0, capacity]. capacity <= 2^30 keeps that distance unambiguous. A position
// maps to the ring offset (position & (capacity - 1)).
//
// Records (8-byte aligned, never straddling the end of the ring):
//
//   +-----------------+-----------------+---------------------------+---------+
//   | length (uint32) | reserved        | payload (`length` bytes)  | pad to 8|
//   +-----------------+-----------------+---------------------------+---------+
//
//   `reserved` is not written by SPSC producers and must be ignored by readers.
//   length == PADDING_LENGTH marks a padding record: the rest of the ring up to its end is
//   unused and the next record starts at ring offset 0. A producer writes one when a record
//   would not fit before the end of the ring.
//
// SPSC protocol (the orderings every implementation must keep):
//   producer: write record bytes; store producer position (seq_cst: release publishes the
//             bytes, and the store must not pass the load after it); then load
//             receiver_waiters (seq_cst, pairs with the receiver's increment) and, if nonzero
//             and data_signal CAS 0 -> 1 succeeds, wake data_signal. A release store alone is
//             NOT enough: store-load reordering would lose wakes (use a seq_cst store, or a
//             release store followed by a seq_cst fence).
//   consumer: load producer position (acquire: pairs with the producer's store), read and
//             validate records; store consumer position (seq_cst, as above: frees the space)
//             at least every 32 records or a quarter of the ring, and always before it parks,
//             blocks, or finds the ring empty; then load sender_waiters (seq_cst) and wake
//             space_signal the same way.
//   parking:  increment own waiters (seq_cst); store 0 to own signal; re-check the
//             condition (seq_cst load of the peer position); sleep while signal == 0;
//             decrement waiters. The seq_cst increment and the waker's seq_cst load after
//             its position store form a Dekker pair: either the waker sees the waiter, or
//             the waiter's re-check sees the new position. No wake is lost.
//   end:      the sender sets STATE_ENDED in `state` after its last position store; a
//             receiver that finds the ring empty and STATE_ENDED set re-reads the producer
//             position once more before it reports end of stream.
//
// Nothing read from the segment is trusted: readers check every position distance against
// capacity, every length against max_message and the bytes actually published, and report
// ERR_RINGWIRE_CORRUPT otherwise. (What no check can stop: a peer with write access to the
// object may shrink it with ftruncate, and touching the lost pages raises SIGBUS. Objects
// from shm_open cannot be sealed against that; the 0600 mode limits peers to the same user.)
#ifndef RINGWIRE_LAYOUT_H
#define RINGWIRE_LAYOUT_H

#include <cstdint>

namespace ringwire {
namespace layout {

constexpr uint32_t MAGIC = 0x52574952u;  // "RIWR" read as little-endian bytes 'R','I','W','R'
constexpr uint32_t VERSION = 1;
constexpr uint32_t HEADER_SIZE = 4096;
constexpr uint32_t LINE_SIZE = 128;
constexpr uint32_t IDENTITY_SALT = 0x9E3779B9u;

// Identity line (byte offsets).
constexpr uint32_t OFF_MAGIC = 0;
constexpr uint32_t OFF_VERSION = 4;
constexpr uint32_t OFF_HEADER_SIZE = 8;
constexpr uint32_t OFF_CAPACITY = 12;
constexpr uint32_t OFF_MODE = 16;
constexpr uint32_t OFF_WAIT_MECHANISM = 20;
constexpr uint32_t OFF_DEFAULT_WAIT = 24;
constexpr uint32_t OFF_MAX_MESSAGE = 28;
constexpr uint32_t OFF_CREATOR_UID = 32;
constexpr uint32_t OFF_CREATOR_PID = 36;
constexpr uint32_t OFF_CREATED_AT_LOW = 40;
constexpr uint32_t OFF_CREATED_AT_HIGH = 44;
constexpr uint32_t OFF_RECORD_ALIGNMENT = 48;
constexpr uint32_t OFF_RECORD_HEADER_SIZE = 52;
constexpr uint32_t OFF_FLAGS = 56;
constexpr uint32_t OFF_IDENTITY_CHECK = 60;
constexpr uint32_t IDENTITY_WORDS = 16;

// Mutable lines.
constexpr uint32_t OFF_PRODUCER_POSITION = 1 * LINE_SIZE;
constexpr uint32_t OFF_CONSUMER_POSITION = 2 * LINE_SIZE;
constexpr uint32_t OFF_DATA_SIGNAL = 3 * LINE_SIZE;
constexpr uint32_t OFF_RECEIVER_WAITERS = 3 * LINE_SIZE + 4;
constexpr uint32_t OFF_SPACE_SIGNAL = 4 * LINE_SIZE;
constexpr uint32_t OFF_SENDER_WAITERS = 4 * LINE_SIZE + 4;
constexpr uint32_t OFF_STATE = 5 * LINE_SIZE;
constexpr uint32_t OFF_SENDER_PID = 5 * LINE_SIZE + 4;
constexpr uint32_t OFF_RECEIVER_PID = 5 * LINE_SIZE + 8;
// The thread of each endpoint within its process: a Node worker's threadId (0 for the main
// thread), or a native peer's own thread id.
constexpr uint32_t OFF_SENDER_THREAD = 5 * LINE_SIZE + 12;
constexpr uint32_t OFF_RECEIVER_THREAD = 5 * LINE_SIZE + 16;
// Message counters for stats (float64, exact to 2^53; a single aligned 8-byte store each),
// each on its writer's line: the sender's beside the producer position, updated with every
// publish; the receiver's beside the consumer position, updated with every publish.
constexpr uint32_t OFF_MESSAGES_SENT = 1 * LINE_SIZE + 8;
constexpr uint32_t OFF_MESSAGES_RECEIVED = 2 * LINE_SIZE + 8;

// Bits of `state`.
constexpr uint32_t STATE_ENDED = 1u << 0;

// Bits of `flags` (identity line, fixed at creation).
constexpr uint32_t FLAG_PERSISTENT = 1u << 0;  // gc() never removes the channel

// Modes.
constexpr uint32_t MODE_SPSC = 1;
constexpr uint32_t MODE_MPMC = 2;

// How parked endpoints sleep and are woken (fixed per channel at creation).
constexpr uint32_t WAIT_FUTEX = 1;
constexpr uint32_t WAIT_SEMAPHORE = 2;

// What endpoints do by default when they must wait (they may override it when opening).
constexpr uint32_t DEFAULT_WAIT_PARK = 0;  // spin briefly, then park
constexpr uint32_t DEFAULT_WAIT_SPIN = 1;  // never park

// Records.
constexpr uint32_t RECORD_ALIGNMENT = 8;
constexpr uint32_t RECORD_HEADER_SIZE = 8;
constexpr uint32_t PADDING_LENGTH = 0xFFFFFFFFu;

// Capacity limits (bytes of ring, power of two).
constexpr uint32_t MIN_CAPACITY = 1u << 10;
constexpr uint32_t MAX_CAPACITY = 1u << 30;
constexpr uint32_t DEFAULT_CAPACITY = 1u << 20;

// Names: "/rw." + name for the segment, "/rwd." and "/rws." + name for the semaphores of
// the data and space signals. macOS limits these names to 31 characters.
constexpr uint32_t MAX_NAME_LENGTH = 26;

// Endpoint roles: each open endpoint holds a lock on byte `role` of its segment file.
constexpr uint32_t ROLE_SENDER = 0;
constexpr uint32_t ROLE_RECEIVER = 1;

inline constexpr bool is_power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }
inline constexpr uint32_t max_message_for(uint32_t capacity) {
  return capacity - RECORD_HEADER_SIZE;
}
inline constexpr uint32_t record_size(uint32_t payload_length) {
  return (RECORD_HEADER_SIZE + payload_length + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

}  // namespace layout
}  // namespace ringwire

#endif  // RINGWIRE_LAYOUT_H
