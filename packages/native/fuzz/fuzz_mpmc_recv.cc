// libFuzzer harness: MPMC endpoints (mpmc.h) over a hostile segment image. The identity line
// is built valid (harness.h's input format); the input decides the mutable lines (claim, take
// and release positions, epochs and parked masks, state, retired counters), slots 0..7 of the
// slot table (pids, kinds, intents, sizes and run ends, ended words) and the ring (record
// headers with their laps, owner slots and states). No lock is held by anyone else, so every
// slot with a pid is an endpoint that died without closing: opening an endpoint into such a
// slot repairs what its intent covers (a dead sender's claim becomes ABANDONED, a dead
// receiver's run is released), a receiver blocked at a CLAIMED record repairs it, a sender
// short of space releases dead receivers' runs, and recv()/send() with a timeout look at the
// other kind's liveness (ERR_RINGWIRE_PEER_DEAD; ending with the last sender). Up to four
// receivers and four senders, opened and closed by the input's operations; with kTwoMappings
// the odd ones map the segment through a second descriptor. Every outcome is success or a
// ringwire::Error with a code contract.h lists; a message longer than max_message(), a crash,
// a sanitizer report, another exception or a leak is a finding.
#include "harness.h"

namespace {

using fuzz::Op;
namespace L = ringwire::layout;

enum Code : uint8_t {
  kDrain, kTryRecv, kRecvWait, kOpenReceiver, kCloseReceiver, kOpenSender, kCloseSender,
  kTrySend, kSend, kEnd, kScribble, kQuery, kCodes
};
// Preamble bits.
constexpr uint8_t kSenderFirst = 1;  // open sender 0 before anything else
constexpr uint8_t kTwoReceivers = 2; // open receivers 0 and 1 before the operations
constexpr size_t kEndpoints = 4;

struct Run {
  const fuzz::Input& in;
  std::shared_ptr<ringwire::MappedSegment> shared, other;
  std::array<std::optional<ringwire::MpmcReceiver>, kEndpoints> receivers;
  std::array<std::optional<ringwire::MpmcSender>, kEndpoints> senders;
  std::vector<uint8_t> message;
  int errors = 0;

  std::shared_ptr<ringwire::MappedSegment> mapping(size_t i) const {
    return (in.bits & fuzz::kTwoMappings) != 0 && (i & 1) != 0 ? other : shared;
  }
  template <typename Endpoint>
  void open(std::optional<Endpoint>& endpoint, size_t i, const char* what) {
    endpoint.reset();
    try {
      endpoint.emplace(mapping(i));
    } catch (const ringwire::Error& e) {
      endpoint.reset();
      fuzz::expect_endpoint_error(e, what);
      errors++;
    }
  }
  void check_message(const ringwire::MpmcReceiver& receiver) const {
    if (message.size() > receiver.max_message()) {
      std::fprintf(stderr, "fuzz harness: an mpmc receiver handed out %zu bytes (at most %u)\n", message.size(),
                   receiver.max_message());
      std::abort();
    }
  }

  void op(const Op& op) {
    const uint8_t code = op.code % kCodes;
    const size_t i = op.a % kEndpoints;
    std::optional<ringwire::MpmcReceiver>& receiver = receivers[i];
    std::optional<ringwire::MpmcSender>& sender = senders[i];
    if (code <= kRecvWait && !receiver) open(receiver, i, "opening an mpmc receiver");
    if ((code == kTrySend || code == kSend || code == kEnd) && !sender) open(sender, i, "opening an mpmc sender");
    try {
      switch (code) {
        case kDrain:
          if (!receiver) return;
          for (int n = 0; n < fuzz::kDrainLimit && receiver->try_recv(message) == ringwire::Status::kMessage; n++) {
            check_message(*receiver);
          }
          return;
        case kTryRecv:
          if (receiver && receiver->try_recv(message) == ringwire::Status::kMessage) check_message(*receiver);
          return;
        case kRecvWait:
          if (receiver && receiver->recv(message, fuzz::timeout_of(op.c))) check_message(*receiver);
          return;
        case kOpenReceiver: open(receiver, i, "opening an mpmc receiver"); return;
        case kCloseReceiver:
          if (receiver) receiver->close();
          if ((op.b & 1) != 0) receiver.reset();
          return;
        case kOpenSender: open(sender, i, "opening an mpmc sender"); return;
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
          const Op sized{op.code, op.b, static_cast<uint8_t>(op.c & 0x7f), 0};  // whole records only
          sender->send(fuzz::payload(), fuzz::length_of(sized, in.identity.capacity, sender->max_message()),
                       fuzz::timeout_of(static_cast<uint8_t>(op.c << 1 | op.b >> 7)));
          return;
        }
        case kEnd:
          if (sender) sender->end();
          return;
        case kScribble: fuzz::scribble(*shared, op); return;
        default:
          if (receiver) {
            (void)receiver->messages();
            (void)receiver->slot();
            if (!receiver->is_closed()) (void)receiver->ended();
          }
          return;
      }
    } catch (const ringwire::Error& e) {
      fuzz::expect_endpoint_error(e, "an mpmc operation");
      errors++;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::SegmentCache cache;
  static fuzz::Input in;
  fuzz::decode(in, data, size, L::MODE_MPMC);
  fuzz::SegmentCache::Entry& entry = cache.load(in.identity, in.image);
  {
    fuzz::FdCheck fds(false, cache.descriptors());
    fuzz::TimeScope virtual_time(in.step_ms);
    Run run{in, entry.segment, entry.other, {}, {}, {}};
    if ((in.preamble & kSenderFirst) != 0) run.open(run.senders[0], 0, "opening an mpmc sender");
    if ((in.preamble & kTwoReceivers) != 0) {
      run.open(run.receivers[0], 0, "opening an mpmc receiver");
      run.open(run.receivers[1], 1, "opening an mpmc receiver");
    }
    for (const Op& op : in.ops) {
      if (run.errors >= fuzz::kErrorBudget) break;
      run.op(op);
    }
  }
  fuzz::SegmentCache::check_returned(entry);
  return 0;
}
