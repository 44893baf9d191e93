// libFuzzer harness: SPSC endpoints (spsc.h) over a hostile segment image. The identity line
// is built valid (harness.h's input format), so every input gets past MappedSegment's checks;
// the input decides the mutable lines (positions, written and delivered lines, state, pids,
// waiter counts, counters) and the ring. Then it runs the input's operations: receive (one
// try_recv, a drain, a recv() with a timeout that checks the sender's liveness), open and close
// receivers (each open walks the "delivered" line) and a sender (each open walks the "written"
// line of a dead sender), send (whole records and fragments), end, and scribble on the segment
// between operations as a hostile peer would. No lock is held by anyone else, so a pid in the
// image is a peer that died without closing. Every outcome is success or a ringwire::Error with
// a code contract.h lists; anything else (a crash, a sanitizer report, another exception, a
// leaked descriptor) is a finding.
#include "harness.h"

namespace {

using fuzz::Op;
namespace L = ringwire::layout;

enum Code : uint8_t {
  kDrain, kTryRecv, kRecvWait, kOpenReceiver, kCloseReceiver, kOpenSender, kCloseSender,
  kTrySend, kSend, kEnd, kScribble, kQuery, kCodes
};
// Preamble bits.
constexpr uint8_t kSenderFirst = 1;    // open a sender before the first receiver
constexpr uint8_t kNoReceiver = 2;     // no receiver until an operation opens one
constexpr uint8_t kDeadSender = 4;     // a sender pid in the image (one that died) if it has none

struct Run {
  const fuzz::Input& in;
  std::shared_ptr<ringwire::MappedSegment> shared, other;
  std::optional<ringwire::SpscReceiver> receiver;
  std::optional<ringwire::SpscSender> sender;
  std::vector<uint8_t> message;
  int errors = 0;

  void open_receiver() {
    receiver.reset();
    try {
      receiver.emplace(shared);
    } catch (const ringwire::Error& e) {
      receiver.reset();
      fuzz::expect_endpoint_error(e, "opening an spsc receiver");
      errors++;
    }
  }
  // With kTwoMappings, through the second descriptor (as another process would).
  void open_sender() {
    sender.reset();
    try {
      sender.emplace((in.bits & fuzz::kTwoMappings) != 0 ? other : shared);
    } catch (const ringwire::Error& e) {
      sender.reset();
      fuzz::expect_endpoint_error(e, "opening an spsc sender");
      errors++;
    }
  }
  // No message longer than max_message() (max_message_size: whole or put together from fragments).
  void check_message() const {
    const uint32_t limit = receiver->max_message();
    if (message.size() > limit) {
      std::fprintf(stderr, "fuzz harness: an spsc receiver handed out %zu bytes (at most %u)\n", message.size(), limit);
      std::abort();
    }
  }

  void op(const Op& op) {
    const uint8_t code = op.code % kCodes;
    if (code <= kRecvWait && !receiver) open_receiver();
    if ((code == kTrySend || code == kSend || code == kEnd) && !sender) open_sender();
    try {
      switch (code) {
        case kDrain:
          if (!receiver) return;
          for (int i = 0; i < fuzz::kDrainLimit && receiver->try_recv(message) == ringwire::Status::kMessage; i++) {
            check_message();
          }
          return;
        case kTryRecv:
          if (receiver && receiver->try_recv(message) == ringwire::Status::kMessage) check_message();
          return;
        case kRecvWait:
          if (receiver && receiver->recv(message, fuzz::timeout_of(op.a))) check_message();
          return;
        case kOpenReceiver: open_receiver(); return;
        case kCloseReceiver:
          if (receiver) receiver->close();
          if ((op.a & 1) != 0) receiver.reset();
          return;
        case kOpenSender: open_sender(); return;
        case kCloseSender:
          if (sender) sender->close();
          if ((op.a & 1) != 0) sender.reset();
          return;
        case kTrySend:
          if (sender) {
            sender->try_send(fuzz::payload(), fuzz::length_of(op, in.identity.capacity, sender->max_message()));
          }
          return;
        case kSend:
          if (sender) {
            sender->send(fuzz::payload(), fuzz::length_of(op, in.identity.capacity, sender->max_message()),
                         fuzz::timeout_of(op.c));
          }
          return;
        case kEnd:
          if (sender) sender->end();
          return;
        case kScribble: fuzz::scribble(*shared, op); return;
        default:
          if (receiver) {
            (void)receiver->is_closed();
            (void)receiver->max_message();
            if (!receiver->is_closed()) (void)receiver->ended();
          }
          return;
      }
    } catch (const ringwire::Error& e) {
      fuzz::expect_endpoint_error(e, "an spsc operation");
      errors++;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::SegmentCache cache;
  static fuzz::Input in;
  fuzz::decode(in, data, size, L::MODE_SPSC);
  uint32_t* words = fuzz::words_of(in.image.data());
  if ((in.preamble & kDeadSender) != 0 && words[L::OFF_SENDER_PID / 4] == 0) words[L::OFF_SENDER_PID / 4] = fuzz::kFillerPid;
  fuzz::SegmentCache::Entry& entry = cache.load(in.identity, in.image);
  {
    fuzz::FdCheck fds(false, cache.descriptors());
    fuzz::TimeScope virtual_time(in.step_ms);
    Run run{in, entry.segment, entry.other, {}, {}, {}};
    if ((in.preamble & kSenderFirst) != 0) run.open_sender();
    if ((in.preamble & kNoReceiver) == 0) run.open_receiver();
    for (const Op& op : in.ops) {
      if (run.errors >= fuzz::kErrorBudget) break;
      run.op(op);
    }
  }
  fuzz::SegmentCache::check_returned(entry);
  return 0;
}
