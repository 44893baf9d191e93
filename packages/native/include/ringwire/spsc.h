// ringwire/spsc.h — the SPSC protocol of layout.h for C++ peers (header-only, C++17, Linux).
// A C++ program can be the sender or the receiver of a channel whose other end is Node (or
// C++). Each ordering below names what it pairs with; layout.h has the protocol in full, and
// contract.h the API every mode shares (this file checks that it keeps it).
//
//   ringwire::SpscSender sender{ringwire::MappedSegment("jobs")};  // ERR_RINGWIRE_BUSY if one is open
//   sender.send(data, length, /*timeout_ms=*/1000);   // waits for space; ERR_RINGWIRE_TIMEOUT
//   sender.end();
//
//   ringwire::SpscReceiver receiver{ringwire::MappedSegment("jobs")};
//   std::vector<uint8_t> message;
//   while (receiver.recv(message)) use(message);       // false: end of stream
//
// Waits throw ERR_RINGWIRE_PEER_DEAD when the other end died without closing (after the
// receiver has taken everything it sent).
//
// Message sizes: one record carries up to the identity's max_message (capacity - 8 bytes). A
// longer message, up to the channel's max_message_size (max_message()), send() writes as a run
// of fragment records (layout.h, "Fragments"), each published as it is written and freed by the
// receiver once copied, so it may be many rings long; try_send() refuses it (it writes a message
// at once or not at all). The receiver puts it together and hands it out whole.
#ifndef RINGWIRE_SPSC_H_
#define RINGWIRE_SPSC_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "contract.h"
#include "layout.h"
#include "segment.h"
#include "wait.h"

namespace ringwire {

namespace detail {

// What one end of a channel shares with the other: parking on its own doorbell and ringing
// the peer's, per layout.h ("parking"), with the channel's mechanism (futex or semaphore).
class Endpoint {
 public:
  static constexpr int64_t kParkSliceMs = layout::PARK_SLICE_MS;  // re-check at least this often
  static constexpr int64_t kPeerCheckMs = layout::PEER_CHECK_MS;  // look at the peer's liveness at most this often

  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const MappedSegment& segment() const { return *segment_; }
  // The longest message: the channel's max_message_size (longer than a record: in fragments).
  uint32_t max_message() const { return segment_->identity().max_message_size; }
  bool is_closed() const { return !locked_; }

 protected:
  Endpoint(std::shared_ptr<MappedSegment> segment, uint32_t role)
      : segment_(std::move(segment)),
        role_(role),
        own_bell_(doorbell(*segment_, role == layout::ROLE_SENDER)),
        peer_bell_(doorbell(*segment_, role != layout::ROLE_SENDER)) {
    if (segment_->identity().mode != layout::MODE_SPSC) {
      throw Error("ERR_RINGWIRE_INCOMPATIBLE", "channel '" + segment_->name() + "' is not an spsc channel");
    }
    if (!segment_->lock_role(role)) {
      throw Error("ERR_RINGWIRE_BUSY", "channel '" + segment_->name() + "' already has a " + role_name());
    }
    locked_ = true;  // from here the destructor gives the role back, also if a derived constructor throws
    capacity_ = segment_->identity().capacity;
    mask_ = capacity_ - 1;
    ring_ = segment_->base() + layout::HEADER_SIZE;
    own_bell_.reset();  // we hold the role lock: no other endpoint of our role is parked
    store_seq_cst(word(sender() ? layout::OFF_SENDER_THREAD : layout::OFF_RECEIVER_THREAD),
                  static_cast<uint32_t>(syscall(SYS_gettid)));
    store_seq_cst(word(own_pid()), static_cast<uint32_t>(getpid()));
  }
  ~Endpoint() { release_role(); }  // not virtual: own SpscSender and SpscReceiver, not the base

  // The pid first, then the lock: a peer that sees the lock free and our pid still set
  // concludes we died (see check_peer). Idempotent.
  void release_role() noexcept {
    if (!locked_) return;
    locked_ = false;
    uint32_t pid = static_cast<uint32_t>(getpid());
    __atomic_compare_exchange_n(word(own_pid()), &pid, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    segment_->unlock_role(role_);
  }

  bool sender() const { return role_ == layout::ROLE_SENDER; }
  // The most one record carries (the identity's max_message).
  uint32_t record_limit() const { return segment_->identity().max_message; }
  const char* role_name() const { return sender() ? "sender" : "receiver"; }
  const char* peer_name() const { return sender() ? "receiver" : "sender"; }
  uint32_t own_pid() const { return sender() ? layout::OFF_SENDER_PID : layout::OFF_RECEIVER_PID; }
  uint32_t* word(uint32_t offset) const { return segment_->word(offset); }
  const std::string& name() const { return segment_->name(); }
  void check_open() const {
    if (!locked_) throw_closed(name(), role_name());
  }

  // After our seq_cst position store (layout.h, "parking").
  void wake_peer() const { peer_bell_.ring(); }

  // Sleeps until `ready()` may hold or `deadline_ms` (monotonic; -1 for none) passes:
  // announce, re-check, look at the peer, sleep one slice at most, withdraw. Throws
  // ERR_RINGWIRE_PEER_DEAD if the peer died without closing and nothing it did is left.
  template <typename Ready>
  void park(Ready&& ready, int64_t deadline_ms) {
    own_bell_.announce();
    uint32_t dead_pid = 0;
    // ready() again after the peer check: adopting a dead sender's records can make us ready,
    // and no wake comes for that.
    if (!ready() && (dead_pid = check_peer(ready)) == 0 && !ready()) {
      const int64_t limit = sleep_limit(kParkSliceMs, deadline_ms);
      if (limit > 0) own_bell_.sleep(limit);
    }
    own_bell_.withdraw();
    if (dead_pid != 0) throw_peer_dead(name(), peer_name(), dead_pid);
  }

  // The pid of the peer's last holder if it died without closing and nothing it did is left
  // to see (else 0): its pid still recorded (a clean close clears it before unlocking; an
  // opener locks before writing it), its role lock free, the pid unchanged, and still not
  // ready. A system call, so at most every kPeerCheckMs.
  template <typename Ready>
  uint32_t check_peer(Ready&& ready) {
    const int64_t now = monotonic_ms();
    if (now - last_peer_check_ms_ < kPeerCheckMs) return 0;
    last_peer_check_ms_ = now;
    const uint32_t peer_role = sender() ? layout::ROLE_RECEIVER : layout::ROLE_SENDER;
    const uint32_t peer_pid = sender() ? layout::OFF_RECEIVER_PID : layout::OFF_SENDER_PID;
    const uint32_t pid = load_seq_cst(word(peer_pid));
    if (pid == 0 || segment_->role_held_here(peer_role) || segment_->role_locked_by_other(peer_role)) return 0;
    if (load_seq_cst(word(peer_pid)) != pid) return 0;
    // A dead sender may have written records it had not yet published: make them visible
    // (layout.h, "written") while we hold its lock; a sender opening meanwhile does it instead.
    if (peer_role == layout::ROLE_SENDER && segment_->lock_role(layout::ROLE_SENDER)) {
      adopt_written();
      segment_->unlock_role(layout::ROLE_SENDER);
    }
    return ready() ? 0 : pid;
  }

  // layout.h, "written": with the sender's role lock held and its holder gone, publishes the
  // records it wrote after its last position store if they are exactly records, within a ring
  // of the consumer (a message it was writing in fragments stays partial: receivers drop it
  // when the next sender's first record, a start or a whole one, comes). True if the producer
  // position moved.
  bool adopt_written() {
    const uint32_t producer = load_seq_cst(word(layout::OFF_PRODUCER_POSITION));
    const uint32_t written = __atomic_load_n(word(layout::OFF_WRITTEN_POSITION), __ATOMIC_RELAXED);
    const uint32_t consumer = load_seq_cst(word(layout::OFF_CONSUMER_POSITION));
    const uint32_t align = layout::RECORD_ALIGNMENT - 1;
    const uint32_t ahead = written - producer;
    if (ahead == 0 || ahead > capacity_ || ((written | producer) & align) != 0 || producer - consumer > capacity_ ||
        written - consumer > capacity_) {
      return false;
    }
    double messages = 0;
    for (uint32_t position = producer; position != written;) {
      const uint32_t offset = position & mask_;
      uint32_t word0;
      std::memcpy(&word0, ring_ + offset, sizeof word0);
      uint32_t size = capacity_ - offset;
      if (word0 != layout::PADDING_LENGTH) {
        size = detail::record_extent(word0, offset, capacity_, record_limit(), segment_->identity().max_message_size);
        if (size == 0) return false;
        if (detail::ends_message(word0)) messages++;  // whole and last records: one message each
      }
      if (size > written - position) return false;
      position += size;
    }
    // The sender's counter is ours to update while we hold its lock. (A sender that died between
    // storing it and the producer position counted these already: SPSC records carry no
    // sequence number, and nothing says which position the count was stored for, so they are
    // added, at worst one publish's messages too many in a stats counter; broadcast's records
    // carry their numbers, and its repair counts exactly.)
    store_count(segment_->base(), layout::OFF_MESSAGES_SENT, load_count(segment_->base(), layout::OFF_MESSAGES_SENT) + messages);
    // seq_cst: publishes those records to the receiver, as the sender's own store would have.
    store_seq_cst(word(layout::OFF_PRODUCER_POSITION), written);
    return true;
  }

  [[noreturn]] void corrupt(const std::string& what) const { throw_corrupt(name(), what); }

  std::shared_ptr<MappedSegment> segment_;
  uint32_t role_;
  bool locked_ = false;
  int64_t last_peer_check_ms_ = INT64_MIN / 2;
  uint32_t capacity_ = 0, mask_ = 0;
  uint8_t* ring_ = nullptr;

 private:
  // The sender parks on the space signal (its waiter count beside it), the receiver on the data signal.
  static FlagDoorbell doorbell(const MappedSegment& segment, bool space) {
    const uint32_t signal = space ? layout::OFF_SPACE_SIGNAL : layout::OFF_DATA_SIGNAL;
    const uint32_t waiters = space ? layout::OFF_SENDER_WAITERS : layout::OFF_RECEIVER_WAITERS;
    return FlagDoorbell(segment.signal(signal), segment.word(waiters));
  }

  FlagDoorbell own_bell_, peer_bell_;
};

}  // namespace detail

class SpscSender : public detail::Endpoint {
 public:
  explicit SpscSender(MappedSegment segment) : SpscSender(std::make_shared<MappedSegment>(std::move(segment))) {}
  // A mapping shared with other endpoints of this process (threads): one set of addresses,
  // which is also what lets ThreadSanitizer follow the protocol.
  explicit SpscSender(std::shared_ptr<MappedSegment> segment) : Endpoint(std::move(segment), layout::ROLE_SENDER) {
    if ((detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0) {
      detail::throw_ended_at_open(name(), "its sender");
    }
    // What a sender before us wrote and did not publish (layout.h, "written"); a receiver
    // parked meanwhile is woken for it, as the dead sender's publish would have.
    if (adopt_written()) wake_peer();
    sent_ = detail::load_count(segment_->base(), layout::OFF_MESSAGES_SENT);  // after: it counts what was adopted
    position_ = detail::load_seq_cst(word(layout::OFF_PRODUCER_POSITION));
    if ((position_ & (layout::RECORD_ALIGNMENT - 1)) != 0) corrupt("misaligned producer position");
    __atomic_store_n(word(layout::OFF_WRITTEN_POSITION), position_, __ATOMIC_RELAXED);
    cached_consumer_ = valid_consumer(detail::load_seq_cst(word(layout::OFF_CONSUMER_POSITION)));
  }
  ~SpscSender() { close(); }

  // Sends if there is room now; false if the ring is full. Every record is published at once.
  // ERR_RINGWIRE_TOO_LARGE for a message longer than one record carries (send() writes it in
  // fragments, as the receiver makes room).
  bool try_send(const void* data, uint32_t length) {
    check_sendable(length);
    if (length > record_limit()) detail::throw_too_large_for_one_record(name(), length, record_limit());
    return try_put(length, data, length, true);
  }

  // Sends, waiting for room up to timeout_ms (-1: for as long as it takes). A message longer
  // than one record carries goes in fragments (layout.h, "Fragments"), each published as it is
  // written, waiting for room before each; the one deadline covers the whole message. On
  // ERR_RINGWIRE_TIMEOUT (or ERR_RINGWIRE_PEER_DEAD) partway, what was written stays partial:
  // this sender's next record is a start or a whole one, and the receiver drops the part.
  void send(const void* data, uint32_t length, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    if (length <= record_limit()) {
      wait_to_write(deadline, timeout_ms, [&] { return try_send(data, length); });
      return;
    }
    send_in_fragments(data, length, deadline, timeout_ms);
  }

  // End of stream: the receiver drains, then sees the end. Sends after it fail (CLOSED).
  void end() {
    check_open();
    ended_ = true;
    // seq_cst: after the last position store (see layout.h, "end").
    __atomic_or_fetch(word(layout::OFF_STATE), layout::STATE_ENDED, __ATOMIC_SEQ_CST);
    wake_peer();
  }

  // Gives the sender role back (every record is published already). Idempotent.
  void close() noexcept { release_role(); }

 private:
  // Writes one record (length word `word0`, `length` payload bytes) if there is room now, and
  // publishes it; `completes`: it ends a message (the sent count grows before the publish).
  // False if the ring is full (a padding record to the ring's end may have been published).
  bool try_put(uint32_t word0, const void* data, uint32_t length, bool completes) {
    const uint32_t size = layout::record_size(length);
    const uint32_t offset = position_ & mask_;
    const uint32_t tail = capacity_ - offset;
    const uint32_t needed = size <= tail ? size : tail + size;
    if (capacity_ - (position_ - cached_consumer_) < needed) {
      // acquire: pairs with the consumer's store; the space it freed is no longer read.
      cached_consumer_ = valid_consumer(detail::load_acquire(word(layout::OFF_CONSUMER_POSITION)));
      const uint32_t free = capacity_ - (position_ - cached_consumer_);
      if (free < needed) {
        if (size > tail && free >= tail) {  // pad now; the record goes to offset 0 later
          write_length(offset, layout::PADDING_LENGTH);
          publish(position_ + tail);
        }
        blocked_size_ = size;
        return false;
      }
    }
    uint32_t at = offset;
    uint32_t position = position_;
    if (size > tail) {
      write_length(offset, layout::PADDING_LENGTH);
      position += tail;
      at = 0;
    }
    write_length(at, word0);
    if (length != 0) std::memcpy(ring_ + at + layout::RECORD_HEADER_SIZE, data, length);
    if (completes) sent_++;
    publish(position + size);
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

  // Calls `attempt` (a try_put) until it writes, parking while the ring is full, up to the
  // deadline (ERR_RINGWIRE_TIMEOUT).
  template <typename Attempt>
  void wait_to_write(int64_t deadline, int64_t timeout_ms, Attempt&& attempt) {
    for (;;) {
      if (attempt()) return;
      if (detail::deadline_passed(deadline)) detail::throw_timeout(name(), "send", timeout_ms);
      park([this] { return has_room(); }, deadline);
    }
  }

  void check_sendable(uint32_t length) const {
    check_open();
    if (ended_) detail::throw_ended(name());
    if (length > max_message()) detail::throw_too_large(name(), length, max_message());
  }
  uint32_t valid_consumer(uint32_t consumer) const {
    const uint32_t used = position_ - consumer;
    if (used > capacity_ || (consumer & (layout::RECORD_ALIGNMENT - 1)) != 0) corrupt("impossible consumer position");
    return consumer;
  }
  void write_length(uint32_t offset, uint32_t length) {
    std::memcpy(ring_ + offset, &length, sizeof length);  // published by the position store
  }
  void publish(uint32_t position) {
    position_ = position;
    // This sender publishes every record: the written line equals the producer position.
    __atomic_store_n(word(layout::OFF_WRITTEN_POSITION), position, __ATOMIC_RELAXED);
    detail::store_count(segment_->base(), layout::OFF_MESSAGES_SENT, sent_);
    // seq_cst (not just release): publishes the record and must not pass wake_peer's load.
    detail::store_seq_cst(word(layout::OFF_PRODUCER_POSITION), position);
    wake_peer();
  }
  bool has_room() const {
    const uint32_t consumer = detail::load_seq_cst(word(layout::OFF_CONSUMER_POSITION));
    if (consumer == cached_consumer_) return false;
    const uint32_t tail = capacity_ - (position_ & mask_);
    const uint32_t needed = blocked_size_ <= tail ? blocked_size_ : tail;
    const uint32_t used = position_ - consumer;
    return used > capacity_ || capacity_ - used >= needed;
  }

  uint32_t position_ = 0, cached_consumer_ = 0, blocked_size_ = 0;
  double sent_ = 0;
  bool ended_ = false;
};

class SpscReceiver : public detail::Endpoint {
 public:
  explicit SpscReceiver(MappedSegment segment) : SpscReceiver(std::make_shared<MappedSegment>(std::move(segment))) {}
  explicit SpscReceiver(std::shared_ptr<MappedSegment> segment) : Endpoint(std::move(segment), layout::ROLE_RECEIVER) {
    namespace L = layout;
    received_ = detail::load_count(segment_->base(), L::OFF_MESSAGES_RECEIVED);
    position_ = detail::load_seq_cst(word(L::OFF_CONSUMER_POSITION));
    if ((position_ & (L::RECORD_ALIGNMENT - 1)) != 0) corrupt("misaligned consumer position");
    cached_producer_ = published_ = position_;
    // Resume from what the last receiver handed out (layout.h, "delivered"): its consumer
    // position may lag up to 32 records behind, and those were delivered already. Relaxed: we
    // hold the role lock it held, which orders its stores before this load.
    const uint32_t delivered = __atomic_load_n(word(L::OFF_DELIVERED_POSITION), __ATOMIC_RELAXED);
    const uint32_t taken = records_up_to(delivered);
    if (taken != 0) {
      received_ += taken;
      cached_producer_ = position_ = delivered;
      publish();  // published_ is still the consumer position: this stores the new one
    } else {
      store_delivered();  // nothing to resume (or nonsense there): no later receiver may adopt it
    }
  }
  ~SpscReceiver() { close(); }

  // Copies the next message into `out` if there is one: kMessage, kEmpty or kEnded. A message
  // in fragments is put together here, each fragment's space freed once it is copied; what is
  // put together so far stays for the next call. An ended stream with a message left partial
  // (its sender gave up on it) is ended once the ring is drained.
  Status try_recv(std::vector<uint8_t>& out) {
    check_open();
    for (;;) {
      uint32_t offset, word0;
      if (!next_record(offset, word0)) return drained_and_ended() ? Status::kEnded : Status::kEmpty;
      const uint8_t* payload = ring_ + offset + layout::RECORD_HEADER_SIZE;
      if ((word0 & layout::FRAGMENT) == 0) {
        assembly_.drop();  // a whole record: a message begun is one its sender gave up on
        out.assign(payload, payload + word0);
        received_++;
        advance(layout::record_size(word0));
        return Status::kMessage;
      }
      if (take_fragment(word0, payload, out)) return Status::kMessage;
    }
  }

  // Waits up to timeout_ms (-1: for as long as it takes) for a message: true with it in
  // `out`, false at the end of the stream.
  bool recv(std::vector<uint8_t>& out, int64_t timeout_ms = -1) {
    const int64_t deadline = detail::deadline_after(timeout_ms);
    for (;;) {
      const Status status = try_recv(out);
      if (status != Status::kEmpty) return status == Status::kMessage;
      if (detail::deadline_passed(deadline)) detail::throw_timeout(name(), "recv", timeout_ms);
      park([this] { return detail::load_seq_cst(word(layout::OFF_PRODUCER_POSITION)) != position_ ||
                           (detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0; },
           deadline);
    }
  }

  // Whether the sender ended the stream and every message has been taken.
  bool ended() const {
    check_open();
    return drained_and_ended();
  }

  // Publishes what was taken (the space goes back to the sender), then gives the receiver
  // role back. Idempotent.
  void close() noexcept {
    if (is_closed()) return;
    publish();
    release_role();
  }

 private:
  static constexpr uint32_t kPublishEvery = layout::PUBLISH_EVERY;

  // A fragment record (layout.h, "Fragments"; next_record checked its size): a start record
  // begins a message (dropping one begun), a data or last record adds to it, or is skipped if
  // none is begun (we resumed from the delivered line in the middle of one, or its start came
  // before a sender that died or gave up). True once the last record completed the message,
  // now in `out`.
  [[gnu::noinline]] bool take_fragment(uint32_t word0, const uint8_t* payload, std::vector<uint8_t>& out) {
    const uint32_t n = word0 & layout::FRAGMENT_LENGTH_MASK;
    if ((word0 & layout::FRAGMENT_FIRST) != 0) {
      uint32_t total;
      std::memcpy(&total, payload, sizeof total);
      if (!assembly_.begin(total, max_message())) {
        corrupt("a message of " + std::to_string(total) + " bytes begins (at most " + std::to_string(max_message()) +
                ")");
      }
      advance(layout::record_size(n));
      return false;
    }
    if (!assembly_.active()) {
      advance(layout::record_size(n));
      return false;
    }
    const bool last = (word0 & layout::FRAGMENT_LAST) != 0;
    if (!assembly_.fits(n, last)) {
      corrupt(std::string(last ? "a last" : "a data") + " fragment of " + std::to_string(n) + " bytes after " +
              std::to_string(assembly_.filled()) + " does not fit its message");
    }
    assembly_.append(payload, n);
    if (last) {
      assembly_.finish(out);
      received_++;
    }
    advance(layout::record_size(n));
    return last;
  }

  // Finds the next record, skipping padding; validates everything against what was published.
  bool next_record(uint32_t& offset, uint32_t& word0) {
    for (;;) {
      uint32_t available = cached_producer_ - position_;
      if (available == 0) {
        // acquire: pairs with the producer's position store; its record bytes are visible.
        const uint32_t producer = detail::load_acquire(word(layout::OFF_PRODUCER_POSITION));
        available = producer - position_;
        if (available == 0) {
          publish();
          return false;
        }
        if (available > capacity_ || (available & (layout::RECORD_ALIGNMENT - 1)) != 0) {
          corrupt("impossible producer position");
        }
        cached_producer_ = producer;
      }
      offset = position_ & mask_;
      std::memcpy(&word0, ring_ + offset, sizeof word0);
      if (word0 == layout::PADDING_LENGTH) {
        const uint32_t skip = capacity_ - offset;
        if (skip > available) corrupt("padding runs past the published end");
        advance(skip);
        continue;
      }
      const uint32_t size = detail::record_extent(word0, offset, capacity_, record_limit(), segment_->identity().max_message_size);
      if (size == 0 || size > available) {
        corrupt("record length word " + std::to_string(word0) + " exceeds what was published");
      }
      return true;
    }
  }

  // Past a message we handed out, a fragment we copied or skipped (copied out already), or a
  // padding record.
  void advance(uint32_t size) {
    position_ += size;
    store_delivered();
    if (++unpublished_ >= kPublishEvery || position_ - published_ >= capacity_ / 4) publish();
  }

  // What we handed out, for the next receiver if we die (layout.h, "delivered"). Relaxed: only
  // a receiver that took the role lock after us reads it; the producer never does.
  void store_delivered() { __atomic_store_n(word(layout::OFF_DELIVERED_POSITION), position_, __ATOMIC_RELAXED); }

  // The messages between our position and `delivered`, walking the records published there
  // (intact: the producer never writes past our published position); 0 unless `delivered` is
  // a record boundary the walk reaches exactly. Everything read is checked first. Messages are
  // whole and last records: a delivered position past a last record is adopted (and the rest
  // of a message in fragments begun after it skipped); one with no message ending before it is
  // not, and the fragments from our position are read again, so a message the last receiver
  // was putting together is delivered whole if its start is still there (as the TypeScript).
  uint32_t records_up_to(uint32_t delivered) const {
    const uint32_t published = detail::load_seq_cst(word(layout::OFF_PRODUCER_POSITION)) - position_;
    if ((delivered & (layout::RECORD_ALIGNMENT - 1)) != 0 || published > capacity_ || delivered - position_ > published) {
      return 0;
    }
    uint32_t messages = 0;
    for (uint32_t position = position_; position != delivered;) {
      const uint32_t offset = position & mask_;
      uint32_t word0;
      std::memcpy(&word0, ring_ + offset, sizeof word0);
      uint32_t size = capacity_ - offset;
      if (word0 != layout::PADDING_LENGTH) {
        size = detail::record_extent(word0, offset, capacity_, record_limit(), segment_->identity().max_message_size);
        if (size == 0) return 0;
        if (detail::ends_message(word0)) messages++;
      }
      if (size > delivered - position) return 0;
      position += size;
    }
    return messages;
  }

  void publish() noexcept {
    if (position_ == published_) return;
    published_ = position_;
    unpublished_ = 0;
    detail::store_count(segment_->base(), layout::OFF_MESSAGES_RECEIVED, received_);
    // seq_cst (not just release): frees the space and must not pass wake_peer's load.
    detail::store_seq_cst(word(layout::OFF_CONSUMER_POSITION), position_);
    wake_peer();
  }

  bool drained_and_ended() const {
    // The flag first, then the position: the sender sets the flag after its last message.
    return (detail::load_seq_cst(word(layout::OFF_STATE)) & layout::STATE_ENDED) != 0 &&
           detail::load_seq_cst(word(layout::OFF_PRODUCER_POSITION)) == position_;
  }

  uint32_t position_ = 0, published_ = 0, cached_producer_ = 0, unpublished_ = 0;
  double received_ = 0;
  detail::Assembly assembly_;  // a message in fragments being put together
};

static_assert(check_sender_shape<SpscSender>() && check_receiver_shape<SpscReceiver>(),
              "the SPSC endpoints keep the contract of contract.h");

}  // namespace ringwire

#endif  // RINGWIRE_SPSC_H_
