// libFuzzer harness: broadcast endpoints (broadcast.h) over a hostile segment image. The
// identity line is built valid (harness.h's input format; 'block' or 'drop' from the image
// bits); the input decides the mutable lines (tail P, oldest O, intent I, "written", epochs,
// parked masks, state, the sender's pid), slots 0..7 of the slot table (receivers' pids, kinds,
// cursors, counters, cut words) and the ring (records with their sequence numbers, padding,
// fragments). No lock is held by anyone else, so a sender pid in the image is a sender that died
// without closing. Up to four receivers join (from the tail or the oldest record) and leave;
// they receive (a lapped receiver skips to O with 'drop', re-checks I with 'block', is cut off),
// and recv() with a timeout looks at the sender (the "written" walk of a dead one under its
// lock, settling an I it left raised, ERR_RINGWIRE_PEER_DEAD). The sender opens (the same walk
// and settling, then the positions' checks), sends whole records and fragments, waits for the
// slowest receiver with a lag limit or cuts off dead ones, and ends. Every outcome is success or
// a ringwire::Error with a code contract.h lists; a crash, a sanitizer report, another
// exception or a leak is a finding.
#include "harness.h"

namespace {

using fuzz::Op;
namespace L = ringwire::layout;

enum Code : uint8_t {
  kDrain, kTryRecv, kRecvWait, kOpenReceiver, kCloseReceiver, kOpenSender, kCloseSender,
  kTrySend, kSend, kEnd, kScribble, kQuery, kCodes
};
// Preamble bits.
constexpr uint8_t kSenderFirst = 1;  // open the sender before the first receiver
constexpr uint8_t kDeadSender = 2;   // a sender pid in the image (one that died) if it has none
constexpr uint8_t kFromOldest = 4;   // receivers opened on demand join from the oldest record
constexpr size_t kReceivers = 4;

struct Run {
  const fuzz::Input& in;
  std::shared_ptr<ringwire::MappedSegment> shared, other;
  std::array<std::optional<ringwire::BroadcastReceiver>, kReceivers> receivers;
  std::optional<ringwire::BroadcastSender> sender;
  std::vector<uint8_t> message;
  int errors = 0;

  void open_receiver(size_t i, bool from_oldest) {
    receivers[i].reset();
    try {
      receivers[i].emplace((in.bits & fuzz::kTwoMappings) != 0 && (i & 1) != 0 ? other : shared, from_oldest);
    } catch (const ringwire::Error& e) {
      receivers[i].reset();
      fuzz::expect_endpoint_error(e, "opening a broadcast receiver");
      errors++;
    }
  }
  // lag_byte 0: no lag limit; else that many (virtual) 10 ms.
  void open_sender(uint8_t lag_byte) {
    sender.reset();
    try {
      sender.emplace((in.bits & fuzz::kTwoMappings) != 0 ? other : shared, lag_byte == 0 ? -1 : int64_t{lag_byte} * 10);
    } catch (const ringwire::Error& e) {
      sender.reset();
      fuzz::expect_endpoint_error(e, "opening a broadcast sender");
      errors++;
    }
  }
  // No message longer than max_message() (max_message_size: whole or put together from fragments).
  void check_message(const ringwire::BroadcastReceiver& receiver) const {
    const uint32_t limit = receiver.max_message();
    if (message.size() > limit) {
      std::fprintf(stderr, "fuzz harness: a broadcast receiver handed out %zu bytes (at most %u)\n", message.size(), limit);
      std::abort();
    }
  }

  void op(const Op& op) {
    const uint8_t code = op.code % kCodes;
    const size_t i = op.a % kReceivers;
    std::optional<ringwire::BroadcastReceiver>& receiver = receivers[i];
    if (code <= kRecvWait && !receiver) open_receiver(i, (in.preamble & kFromOldest) != 0);
    if ((code == kTrySend || code == kSend || code == kEnd) && !sender) open_sender(0);
    try {
      switch (code) {
        case kDrain: {
          if (!receiver) return;
          // Nothing is sent during a drain, so it can hand out no more than the ring holds:
          // records of 8 bytes at least, the receiver moving forwards (a lapped one to O).
          // More means it went back and handed messages out again.
          const int most = static_cast<int>(in.identity.capacity / L::RECORD_ALIGNMENT) + 1;
          for (int n = 0; n < fuzz::kDrainLimit && receiver->try_recv(message) == ringwire::Status::kMessage; n++) {
            check_message(*receiver);
            if (n + 1 > most) {
              std::fprintf(stderr, "fuzz harness: a broadcast receiver handed out more than %d messages in one drain of "
                           "a %u-byte ring with nothing sent meanwhile: the same messages again\n", most,
                           in.identity.capacity);
              std::abort();
            }
          }
          return;
        }
        case kTryRecv:
          if (receiver && receiver->try_recv(message) == ringwire::Status::kMessage) check_message(*receiver);
          return;
        case kRecvWait:
          if (receiver && receiver->recv(message, fuzz::timeout_of(op.c))) check_message(*receiver);
          return;
        case kOpenReceiver: open_receiver(i, (op.b & 1) != 0); return;
        case kCloseReceiver:
          if (receiver) receiver->close();
          if ((op.b & 1) != 0) receiver.reset();
          return;
        case kOpenSender: open_sender(op.b); return;
        case kCloseSender:
          if (sender) sender->close();
          if ((op.b & 1) != 0) sender.reset();
          return;
        case kTrySend: {
          if (!sender) return;
          const Op sized{op.code, op.b, op.c, 0};
          sender->try_send(fuzz::payload(), fuzz::length_of(sized, in.identity.capacity, sender->max_message()));
          return;
        }
        case kSend: {
          if (!sender) return;
          const Op sized{op.code, op.b, op.c, 0};
          sender->send(fuzz::payload(), fuzz::length_of(sized, in.identity.capacity, sender->max_message()),
                       fuzz::timeout_of(op.a));
          return;
        }
        case kEnd:
          if (sender) sender->end();
          return;
        case kScribble: fuzz::scribble(*shared, op); return;
        default:
          if (receiver) {
            (void)receiver->lost();
            (void)receiver->slot();
            (void)receiver->drops();
            if (!receiver->is_closed()) (void)receiver->ended();
          }
          return;
      }
    } catch (const ringwire::Error& e) {
      fuzz::expect_endpoint_error(e, "a broadcast operation");
      errors++;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::SegmentCache cache;
  static fuzz::Input in;
  fuzz::decode(in, data, size, L::MODE_BROADCAST);
  uint32_t* words = fuzz::words_of(in.image.data());
  if ((in.preamble & kDeadSender) != 0 && words[L::OFF_SENDER_PID / 4] == 0) words[L::OFF_SENDER_PID / 4] = fuzz::kFillerPid;
  fuzz::SegmentCache::Entry& entry = cache.load(in.identity, in.image);
  {
    fuzz::FdCheck fds(false, cache.descriptors());
    fuzz::TimeScope virtual_time(in.step_ms);
    Run run{in, entry.segment, entry.other, {}, {}, {}, 0};
    if ((in.preamble & kSenderFirst) != 0) run.open_sender(in.preamble >> 3);
    for (const Op& op : in.ops) {
      if (run.errors >= fuzz::kErrorBudget) break;
      run.op(op);
    }
  }
  fuzz::SegmentCache::check_returned(entry);
  return 0;
}
