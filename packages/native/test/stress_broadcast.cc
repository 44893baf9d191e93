// Stress test of the C++ broadcast protocol (include/ringwire/broadcast.h) for the sanitizer
// builds in CI. One sender moves checksummed messages of varying sizes (padding at the end of
// the ring all the time; about one in 97 longer than a record carries, in fragments: up to 8
// rings, 2 with 'drop') through a small ring (4096 bytes) to several receivers:
//
//   stress_broadcast threads futex|semaphore|named-semaphore <messages>
//       'block': threads sharing one mapping (what ThreadSanitizer can follow). Three steady
//       receivers joined from the start get every message, in order; two visitors join (from
//       the tail or the oldest record) and leave again and again mid-stream, and get
//       consecutive messages from where they joined. Plus API checks.
//   stress_broadcast drop futex|semaphore|named-semaphore <messages>
//       'drop': the sender never waits; a slow receiver is lapped again and again. No torn
//       message gets through, sequence numbers only grow, every gap is counted in lost(), and
//       each steady receiver's received + lost is every message sent.
//   stress_broadcast lag futex|semaphore|named-semaphore
//       'block' with a lag limit: a receiver that stops reading is cut off (ERR_RINGWIRE_CUT_OFF)
//       and the sender goes on; the steady receiver gets everything.
//   stress_broadcast kill futex|semaphore|named-semaphore
//       processes: a receiver SIGKILLed while it holds a 'block' sender back is cut off (its
//       slot keeps its pid); a sender SIGKILLed mid-stream ('block': in the middle of a message
//       in fragments): its receivers get everything it sent (nothing of that message), then
//       ERR_RINGWIRE_PEER_DEAD; a new sender carries the sequence numbers on.
//   stress_broadcast hostile futex|semaphore|named-semaphore
//       impossible positions, lengths and cursors poked into live channels:
//       ERR_RINGWIRE_CORRUPT (or ignored, for a cursor), never an access outside the ring;
//       fragment records written by hand: the rules of layout.h's "Fragments", a receiver that
//       joined mid-message not counting that message lost.
//   stress_broadcast repair futex|semaphore|named-semaphore
//       a sender dead between storing the sent count and P (the state written by hand), the
//       two faults models/broadcast.pml found: its repair counts the last message once (the
//       next sender numbers on from it, nothing counts as lost); a receiver that loses the
//       dead sender's lock to another one repairing (made to happen here by a seam in fcntl,
//       below) gets what that one adopts and reports ERR_RINGWIRE_PEER_DEAD only after a
//       repair of its own.
//   stress_broadcast join futex|semaphore|named-semaphore
//       'block' and 'drop', from 'next': messages sent while a receiver takes its slot (after
//       its slot's first cursor is loaded: made to happen here by the fcntl seam, before its
//       attempt at the slot's lock) reach it, nothing counted lost; one sent a ring past that
//       cursor meanwhile starts at the oldest message still there (O) and gets every one after.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ringwire/broadcast.h"
#include "ringwire/mpmc.h"
#include "stress_args.h"

// The seam the repair mode uses to make a race happen at a chosen instant: segment.h takes
// and looks at role locks with fcntl, and this definition (the program's own) is called
// instead of the C library's. Each hook runs once, just before the first call after it was
// set: g_before_sender_lock before an attempt at the sender's role lock (F_OFD_SETLK), and
// g_before_sender_look before a look at it (F_OFD_GETLK), g_before_slot_lock before an
// attempt at a slot's lock. Everything else goes through as is.
namespace {
std::function<void()> g_before_sender_lock, g_before_sender_look, g_before_slot_lock;
}  // namespace

extern "C" int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);  // as the C library reads it: every command's argument fits
  va_end(ap);
  if ((cmd == F_OFD_SETLK || cmd == F_OFD_GETLK) && arg != nullptr) {
    const struct flock* fl = static_cast<const struct flock*>(arg);
    std::function<void()>& hook = cmd == F_OFD_SETLK ? g_before_sender_lock : g_before_sender_look;
    if (hook && fl->l_type == F_WRLCK && fl->l_start == ringwire::layout::ROLE_SENDER && fl->l_len == 1) {
      const std::function<void()> run = std::move(hook);
      hook = nullptr;
      run();
    }
    if (cmd == F_OFD_SETLK && g_before_slot_lock && fl->l_type == F_WRLCK && fl->l_len == 1 &&
        fl->l_start >= ringwire::layout::SLOT_LOCK_BASE && fl->l_start < ringwire::layout::SLOT_LOCK_BASE + ringwire::layout::MAX_SLOTS) {
      const std::function<void()> run = std::move(g_before_slot_lock);
      g_before_slot_lock = nullptr;
      run();
    }
  }
  return static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
}

namespace {

namespace L = ringwire::layout;
using ringwire::BroadcastReceiver;
using ringwire::BroadcastSender;
using ringwire::MappedSegment;

constexpr uint32_t kCapacity = 4096;
constexpr int64_t kTimeoutMs = 20'000;
constexpr uint32_t kHead = 8;  // sequence, checksum

uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
// The longest message of a run, in fragments (0: none longer than a record).
uint32_t g_fragmented_max = 0;
std::atomic<uint64_t> g_fragmented_received{0};  // messages in fragments received intact
// 8..396 bytes, now and then up to 1508 (straddles the end of the ring, fills it at once), and
// with g_fragmented_max one in 97 from a ring's size up to that, in fragments.
uint32_t size_of(uint32_t seq) {
  const uint32_t h = mix(seq ^ 0x9E3779B9u);
  if (g_fragmented_max != 0 && h % 97 == 0) return kCapacity + (h >> 8) % (g_fragmented_max - kCapacity + 1);
  return kHead + (h % 41 == 0 ? (h >> 8) % 1501 : (h >> 8) % 389);
}
uint32_t checksum(const uint8_t* m, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    if (i >= 4 && i < 8) continue;
    h = (h ^ m[i]) * 16777619u;
  }
  return h;
}
void fill(std::vector<uint8_t>& m, uint32_t seq) {
  m.resize(size_of(seq));
  std::memcpy(&m[0], &seq, 4);
  const uint32_t s = mix(seq);
  for (uint32_t j = kHead; j < m.size(); j++) m[j] = static_cast<uint8_t>(s + j * 13);
  const uint32_t sum = checksum(m.data(), m.size());
  std::memcpy(&m[4], &sum, 4);
}
// False if damaged: too short, wrong size for its number, bad checksum or body.
bool decode(const std::vector<uint8_t>& m, uint32_t& seq) {
  if (m.size() < kHead) return false;
  uint32_t sum;
  std::memcpy(&seq, &m[0], 4);
  std::memcpy(&sum, &m[4], 4);
  if (m.size() != size_of(seq) || sum != checksum(m.data(), m.size())) return false;
  const uint32_t s = mix(seq);
  for (uint32_t j = kHead; j < m.size(); j++) {
    if (m[j] != static_cast<uint8_t>(s + j * 13)) return false;
  }
  if (m.size() > kCapacity - 16) g_fragmented_received++;
  return true;
}

std::atomic<bool> g_failed{false};
#define FAIL(...)                                          \
  do {                                                     \
    std::fprintf(stderr, "stress_broadcast: " __VA_ARGS__); \
    std::fputc('\n', stderr);                              \
    g_failed = true;                                       \
  } while (0)

uint32_t wait_of(const char* name) {
  if (const uint32_t wait = stress::wait_mechanism(name); wait != 0) return wait;
  std::fprintf(stderr, "unknown wait mechanism %s\n", name);
  std::exit(2);
}

// A channel for one check, unlinked when it goes.
struct Channel {
  std::string name;
  Channel(const char* tag, uint32_t wait, uint32_t flags, uint32_t capacity = kCapacity,
          uint32_t mode = L::MODE_BROADCAST, uint32_t max_message_size = 0) {
    name = stress::channel("sb." + std::to_string(getpid()) + "." + tag);
    ringwire::unlink_segment(name);
    ringwire::CreateOptions o;
    o.capacity = capacity;
    o.mode = mode;
    o.wait_mechanism = wait;
    o.flags = flags;
    o.max_message_size = max_message_size;
    ringwire::create_segment(name, o);
  }
  ~Channel() { ringwire::unlink_segment(name); }
  std::shared_ptr<MappedSegment> map() const { return std::make_shared<MappedSegment>(name); }
};

uint32_t word(const MappedSegment& s, uint32_t offset) { return __atomic_load_n(s.word(offset), __ATOMIC_SEQ_CST); }
void poke(const MappedSegment& s, uint32_t offset, uint32_t value) { __atomic_store_n(s.word(offset), value, __ATOMIC_SEQ_CST); }
uint32_t slot_field(uint32_t slot, uint32_t field) { return L::OFF_SLOTS + slot * L::SLOT_SIZE + field; }
double count_at(const MappedSegment& s, uint32_t offset) { return ringwire::detail::load_count(s.base(), offset); }

bool expect_code(const char* what, const char* code, const std::function<void()>& f) {
  try {
    f();
  } catch (const ringwire::Error& e) {
    if (e.code() == code) return true;
    FAIL("%s: %s (%s), expected %s", what, e.code().c_str(), e.what(), code);
    return false;
  }
  FAIL("%s: no error, expected %s", what, code);
  return false;
}

// Receives to the end (or `limit` messages), checking each: intact, and number `first` onwards
// with no gap (block). Returns the count; first_seq gets the first number seen.
uint64_t receive_block(BroadcastReceiver& r, const char* who, int64_t expect_first, uint64_t limit,
                       int64_t* first_seq = nullptr) {
  std::vector<uint8_t> m;
  uint64_t n = 0;
  int64_t next = expect_first;
  while (n < limit && r.recv(m, kTimeoutMs)) {
    uint32_t seq;
    if (!decode(m, seq)) {
      FAIL("%s: a damaged message (%zu bytes) after %llu", who, m.size(), static_cast<unsigned long long>(n));
      return n;
    }
    if (next >= 0 && seq != static_cast<uint32_t>(next)) {
      FAIL("%s: message %u where %lld was due", who, seq, static_cast<long long>(next));
      return n;
    }
    if (n == 0 && first_seq != nullptr) *first_seq = seq;
    next = static_cast<int64_t>(seq) + 1;
    n++;
  }
  if (r.lost() != 0) FAIL("%s: lost %llu on a 'block' channel", who, static_cast<unsigned long long>(r.lost()));
  return n;
}

void api_checks(uint32_t wait) {
  constexpr uint32_t kMaxMessageSize = 3 * kCapacity + 5;
  {
    Channel c("api", wait, 0, kCapacity, L::MODE_BROADCAST, kMaxMessageSize);
    auto seg = c.map();
    BroadcastSender sender(seg);
    expect_code("a second sender", "ERR_RINGWIRE_BUSY", [&] { BroadcastSender again(seg); });
    expect_code("a second sender's mapping", "ERR_RINGWIRE_BUSY", [&] { BroadcastSender again(c.map()); });
    expect_code("lag limit 0", "ERR_RINGWIRE_INVALID_ARG", [&] { BroadcastSender zero(c.map(), 0); });
    std::vector<uint8_t> big(kCapacity - 8 + 1), huge(kMaxMessageSize + 1);
    if (sender.max_message() != kMaxMessageSize) FAIL("'block' max_message %u", sender.max_message());
    expect_code("try_send longer than a record", "ERR_RINGWIRE_TOO_LARGE",
                [&] { sender.try_send(big.data(), static_cast<uint32_t>(big.size())); });
    expect_code("send longer than max_message_size", "ERR_RINGWIRE_TOO_LARGE",
                [&] { sender.send(huge.data(), static_cast<uint32_t>(huge.size()), 30); });
    // No receiver: the sender never waits; a full-ring message goes, and one of 3 rings.
    big.pop_back();
    if (!sender.try_send(big.data(), static_cast<uint32_t>(big.size()))) FAIL("a full-ring message with no receiver");
    sender.send(huge.data(), kMaxMessageSize, 30);
    BroadcastReceiver receiver(seg);
    std::vector<uint8_t> m;
    expect_code("recv timeout", "ERR_RINGWIRE_TIMEOUT", [&] { receiver.recv(m, 20); });
    // A receiver that does not read holds a 'block' sender back: the ring fills, send times out.
    uint32_t sent = 0;
    fill(m, 0);
    while (sender.try_send(m.data(), static_cast<uint32_t>(m.size()))) sent++;
    if (sent == 0 || sent > kCapacity / m.size()) FAIL("%u messages fit a ring", sent);
    expect_code("send timeout", "ERR_RINGWIRE_TIMEOUT", [&] { sender.send(m.data(), static_cast<uint32_t>(m.size()), 30); });
    // A message in fragments given up (the ring is all but full: partway, or before it could
    // write its start record): not counted, not received; the receiver drops what it gets of
    // it when the next message comes.
    const double sent_before = count_at(*seg, L::OFF_MESSAGES_SENT);
    expect_code("send in fragments, timeout", "ERR_RINGWIRE_TIMEOUT", [&] { sender.send(huge.data(), kMaxMessageSize, 30); });
    if (count_at(*seg, L::OFF_MESSAGES_SENT) != sent_before) FAIL("a message given up partway was counted");
    // 48 receivers at most.
    std::vector<std::unique_ptr<BroadcastReceiver>> many;
    for (uint32_t i = 1; i < L::MAX_SLOTS; i++) many.push_back(std::make_unique<BroadcastReceiver>(seg));
    expect_code("a 49th receiver", "ERR_RINGWIRE_BUSY", [&] { BroadcastReceiver one_more(seg); });
    many.clear();
    // The receiver reads what was sent, the part of the message given up, and that message
    // sent again while it reads.
    uint32_t got = 0;
    std::thread reader([&] {
      try {
        while (got < sent + 1 && receiver.recv(m, kTimeoutMs)) got++;
      } catch (const ringwire::Error& e) {
        FAIL("the receiver: %s: %s", e.code().c_str(), e.what());
      }
    });
    for (uint32_t j = 0; j < huge.size(); j++) huge[j] = static_cast<uint8_t>(j * 7 + 1);
    sender.send(huge.data(), kMaxMessageSize, kTimeoutMs);
    reader.join();
    if (got != sent + 1 || m.size() != kMaxMessageSize || std::memcmp(m.data(), huge.data(), kMaxMessageSize) != 0) {
      FAIL("message %u, the one in fragments sent again (%zu bytes), is not intact", got, m.size());
    }
    sender.end();
    expect_code("send after end", "ERR_RINGWIRE_CLOSED", [&] { sender.try_send(m.data(), 1); });
    if (receiver.recv(m, kTimeoutMs) || !receiver.ended() || receiver.lost() != 0) {
      FAIL("the receiver got more than %u, or no end, or lost some", sent + 1);
    }
    sender.close();
    sender.close();
    expect_code("send after close", "ERR_RINGWIRE_CLOSED", [&] { sender.try_send(m.data(), 1); });
    receiver.close();
    expect_code("recv after close", "ERR_RINGWIRE_CLOSED", [&] { receiver.try_recv(m); });
    expect_code("a sender opening an ended channel", "ERR_RINGWIRE_CLOSED", [&] { BroadcastSender late(seg); });
    if (word(*seg, L::OFF_SENDER_PID) != 0) FAIL("the sender's pid stayed after close");
  }
  {
    Channel c("apid", wait, L::FLAG_OVERFLOW_DROP);
    BroadcastSender sender(c.map());
    std::vector<uint8_t> record(kCapacity - 16 + 1);
    if (sender.max_message() != L::DEFAULT_MAX_MESSAGE_SIZE) FAIL("'drop' max_message %u", sender.max_message());
    if (!sender.try_send(record.data(), kCapacity - 16)) FAIL("a 'drop' record of capacity - 16 bytes");
    expect_code("a 'drop' record of capacity - 15 bytes", "ERR_RINGWIRE_TOO_LARGE",
                [&] { sender.try_send(record.data(), kCapacity - 15); });
    Channel m("apim", wait, 0, kCapacity, L::MODE_MPMC);
    expect_code("a broadcast sender on an mpmc channel", "ERR_RINGWIRE_INCOMPATIBLE", [&] { BroadcastSender s(m.map()); });
    expect_code("an mpmc receiver on a broadcast channel", "ERR_RINGWIRE_INCOMPATIBLE", [&] { ringwire::MpmcReceiver r(c.map()); });
  }
}

// --- threads ('block') -------------------------------------------------------------------

void run_threads(uint32_t wait, uint32_t count) {
  const uint32_t fragmented_max = g_fragmented_max;  // the API checks' messages fit a record
  g_fragmented_max = 0;
  api_checks(wait);
  g_fragmented_max = fragmented_max;
  Channel c("thr", wait, 0);
  auto seg = c.map();
  std::atomic<uint32_t> sent{0};
  std::atomic<bool> done{false};
  std::vector<std::unique_ptr<BroadcastReceiver>> steady;
  for (int i = 0; i < 3; i++) steady.push_back(std::make_unique<BroadcastReceiver>(seg, i == 1));
  std::vector<std::thread> threads;
  std::vector<uint64_t> got(steady.size());
  for (size_t i = 0; i < steady.size(); i++) {
    threads.emplace_back([&, i] {
      try {
        got[i] = receive_block(*steady[i], "steady receiver", 0, UINT64_MAX);
        steady[i]->close();
      } catch (const ringwire::Error& e) {
        FAIL("steady receiver: %s: %s", e.code().c_str(), e.what());
      }
    });
  }
  std::atomic<uint32_t> visits{0};
  for (int v = 0; v < 2; v++) {
    threads.emplace_back([&, v] {
      std::mt19937 rng(static_cast<uint32_t>(v * 7919 + getpid()));
      std::vector<uint8_t> m;
      try {
        for (uint32_t n = 0; !done; n++) {
          const bool oldest = (n + v) % 2 == 1;
          const uint32_t before = sent.load();
          BroadcastReceiver r(seg, oldest);
          const uint32_t after = sent.load();
          int64_t first = -1;
          const uint64_t took = receive_block(r, oldest ? "visitor (oldest)" : "visitor (next)", -1, rng() % 300, &first);
          // From the tail: nothing sent before it opened, nothing after its join (the sender
          // counts a message after publishing it: one more may be out).
          if (took != 0 && ((!oldest && first < before) || first > static_cast<int64_t>(after) + 1)) {
            FAIL("a visitor that opened between messages %u and %u got %lld first", before, after, static_cast<long long>(first));
          }
          visits++;
          if (rng() % 4 == 0) std::this_thread::yield();
        }
      } catch (const ringwire::Error& e) {
        FAIL("visitor: %s: %s", e.code().c_str(), e.what());
      }
    });
  }
  try {
    BroadcastSender sender(seg);
    std::vector<uint8_t> m;
    for (uint32_t seq = 0; seq < count; seq++) {
      fill(m, seq);
      sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      sent = seq + 1;
    }
    sender.end();
  } catch (const ringwire::Error& e) {
    FAIL("sender: %s: %s", e.code().c_str(), e.what());
  }
  done = true;
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < got.size(); i++) {
    if (got[i] != count) FAIL("steady receiver %zu got %llu of %u", i, static_cast<unsigned long long>(got[i]), count);
  }
  if (count_at(*seg, L::OFF_MESSAGES_SENT) != count) FAIL("messages sent %.0f", count_at(*seg, L::OFF_MESSAGES_SENT));
  if (visits < 2) FAIL("the visitors joined only %u times", visits.load());
  if (g_fragmented_received == 0) FAIL("no message in fragments was received");
  std::printf("  %u visits, %llu messages in fragments received\n", visits.load(),
              static_cast<unsigned long long>(g_fragmented_received.load()));
}

// --- drop --------------------------------------------------------------------------------

// Receives to the end, checking each message intact, numbers growing, and every gap counted
// in lost() at once. Returns received + lost (from the first message on, when `from_start`).
uint64_t receive_drop(BroadcastReceiver& r, const char* who, uint32_t pause_every, uint64_t limit, bool from_start,
                      uint64_t* received = nullptr) {
  std::vector<uint8_t> m;
  uint64_t n = 0;
  int64_t last = -1;
  uint64_t lost = r.lost();
  while (n < limit && r.recv(m, kTimeoutMs)) {
    uint32_t seq;
    if (!decode(m, seq)) {
      FAIL("%s: a damaged message (%zu bytes)", who, m.size());
      return 0;
    }
    const uint64_t gap = last < 0 ? (from_start ? seq : 0) : seq - static_cast<uint64_t>(last) - 1;
    if (last >= 0 && static_cast<int64_t>(seq) <= last) {
      FAIL("%s: message %u after %lld", who, seq, static_cast<long long>(last));
      return 0;
    }
    if ((last >= 0 || from_start) && r.lost() - lost != gap) {
      FAIL("%s: %llu missed before message %u, lost() says %llu", who, static_cast<unsigned long long>(gap), seq,
           static_cast<unsigned long long>(r.lost() - lost));
      return 0;
    }
    lost = r.lost();
    last = seq;
    n++;
    if (pause_every != 0 && n % pause_every == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (received != nullptr) *received = n;
  return n + r.lost();
}

void run_drop(uint32_t wait, uint32_t count) {
  Channel c("drp", wait, L::FLAG_OVERFLOW_DROP);
  auto seg = c.map();
  std::atomic<bool> done{false};
  std::vector<std::unique_ptr<BroadcastReceiver>> steady;
  for (int i = 0; i < 3; i++) steady.push_back(std::make_unique<BroadcastReceiver>(seg));
  std::vector<uint64_t> total(steady.size()), received(steady.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < steady.size(); i++) {
    threads.emplace_back([&, i] {
      try {
        // Receiver 2 is slow: it is lapped again and again.
        total[i] = receive_drop(*steady[i], "steady receiver", i == 2 ? 8 : 0, UINT64_MAX, true, &received[i]);
      } catch (const ringwire::Error& e) {
        FAIL("steady receiver: %s: %s", e.code().c_str(), e.what());
      }
    });
  }
  std::atomic<uint32_t> visits{0};
  threads.emplace_back([&] {
    std::mt19937 rng(static_cast<uint32_t>(getpid()));
    try {
      for (uint32_t n = 0; !done; n++) {
        BroadcastReceiver r(seg, n % 2 == 1);
        receive_drop(r, "visitor", rng() % 3 == 0 ? 4 : 0, rng() % 200, false);
        visits++;
      }
    } catch (const ringwire::Error& e) {
      FAIL("visitor: %s: %s", e.code().c_str(), e.what());
    }
  });
  try {
    BroadcastSender sender(seg);
    std::vector<uint8_t> m;
    for (uint32_t seq = 0; seq < count; seq++) {
      fill(m, seq);
      if (m.size() > kCapacity - 16) {
        sender.send(m.data(), static_cast<uint32_t>(m.size()), 0);  // in fragments: never waits either
      } else if (!sender.try_send(m.data(), static_cast<uint32_t>(m.size()))) {
        FAIL("a 'drop' sender found the ring full");
        break;
      }
      if (seq % 64 == 0) std::this_thread::yield();  // let the receivers keep up now and then
    }
    sender.end();
  } catch (const ringwire::Error& e) {
    FAIL("sender: %s: %s", e.code().c_str(), e.what());
  }
  done = true;
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < total.size(); i++) {
    if (total[i] != count) {
      FAIL("steady receiver %zu: received %llu + lost %llu != %u sent", i, static_cast<unsigned long long>(received[i]),
           static_cast<unsigned long long>(total[i] - received[i]), count);
    }
  }
  std::printf("  received (lost): %llu (%llu), %llu (%llu), slow %llu (%llu); %u visits; %llu in fragments received\n",
              static_cast<unsigned long long>(received[0]), static_cast<unsigned long long>(total[0] - received[0]),
              static_cast<unsigned long long>(received[1]), static_cast<unsigned long long>(total[1] - received[1]),
              static_cast<unsigned long long>(received[2]), static_cast<unsigned long long>(total[2] - received[2]),
              visits.load(), static_cast<unsigned long long>(g_fragmented_received.load()));
}

// --- lag limit ---------------------------------------------------------------------------

void run_lag(uint32_t wait) {
  Channel c("lag", wait, 0);
  auto seg = c.map();
  const uint32_t count = 3000;  // far more than a ring: the sender must get past the staller
  BroadcastReceiver steady(seg), staller(seg);
  std::atomic<uint32_t> sent{0};
  uint64_t got = 0;
  std::thread reader([&] {
    try {
      got = receive_block(steady, "steady receiver", 0, UINT64_MAX);
    } catch (const ringwire::Error& e) {
      FAIL("steady receiver: %s: %s", e.code().c_str(), e.what());
    }
  });
  std::thread stalling([&] {
    try {
      try {
        receive_block(staller, "staller", 0, 10);
      } catch (const ringwire::Error& e) {
        // Held up past the lag limit before it even stopped (a busy machine): cut off already.
        if (e.code() != "ERR_RINGWIRE_CUT_OFF") throw;
      }
      // Stops reading until the sender is far past it, which it can only be once it has cut it off.
      while (sent < count) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      expect_code("the staller's next receive", "ERR_RINGWIRE_CUT_OFF", [&] {
        std::vector<uint8_t> m;
        staller.recv(m, kTimeoutMs);
      });
      expect_code("and the one after", "ERR_RINGWIRE_CUT_OFF", [&] {
        std::vector<uint8_t> m;
        staller.try_recv(m);
      });
    } catch (const ringwire::Error& e) {
      FAIL("staller: %s: %s", e.code().c_str(), e.what());
    }
  });
  const auto start = std::chrono::steady_clock::now();
  try {
    BroadcastSender sender(seg, /*lag_limit_ms=*/250);
    std::vector<uint8_t> m;
    for (uint32_t seq = 0; seq < count; seq++) {
      fill(m, seq);
      sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      sent = seq + 1;
    }
    sender.end();
  } catch (const ringwire::Error& e) {
    FAIL("sender: %s: %s", e.code().c_str(), e.what());
  }
  reader.join();
  stalling.join();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  if (got != count) FAIL("the steady receiver got %llu of %u", static_cast<unsigned long long>(got), count);
  if (word(*seg, slot_field(staller.slot(), L::SLOT_CUT)) != 1) FAIL("the staller's slot is not marked cut");
  std::printf("  sent %u past a stalled receiver in %lld ms (lag limit 250 ms)\n", count, static_cast<long long>(ms));
}

// --- processes ---------------------------------------------------------------------------

// Forks `child` (its exit status is its result); the parent gets its pid.
pid_t spawn(const std::function<int()>& child) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) _exit(child());
  return pid;
}
int reap(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

void run_kill(uint32_t wait) {
  {
    // A receiver killed while it holds a 'block' sender back.
    Channel c("kr", wait, 0);
    int ready[2];
    if (pipe(ready) != 0) std::exit(1);
    const pid_t victim = spawn([&] {
      BroadcastReceiver r(c.map());
      char step = 'j';
      if (write(ready[1], &step, 1) != 1) return 1;
      std::vector<uint8_t> m;
      r.recv(m, kTimeoutMs);  // one message, then it dies holding the rest back
      step = 'r';
      if (write(ready[1], &step, 1) != 1) return 1;
      for (;;) pause();
    });
    char step;
    if (read(ready[0], &step, 1) != 1) FAIL("the victim did not join");
    auto seg = c.map();
    BroadcastReceiver steady(seg);
    uint64_t got = 0;
    std::thread reader([&] { got = receive_block(steady, "steady receiver", 0, UINT64_MAX); });
    {
      BroadcastSender sender(seg);
      std::vector<uint8_t> m;
      fill(m, 0);
      sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      if (read(ready[0], &step, 1) != 1) FAIL("the victim did not take its message");
      kill(victim, SIGKILL);
      reap(victim);
      for (uint32_t seq = 1; seq < 2000; seq++) {
        fill(m, seq);
        sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      }
      sender.end();
    }
    reader.join();
    if (got != 2000) FAIL("the steady receiver got %llu of 2000 past a killed receiver", static_cast<unsigned long long>(got));
    bool found = false;
    for (uint32_t s = 0; s < L::MAX_SLOTS; s++) {
      if (word(*seg, slot_field(s, L::SLOT_PID)) == static_cast<uint32_t>(victim)) {
        found = true;
        if (word(*seg, slot_field(s, L::SLOT_CUT)) != 1) FAIL("the killed receiver's slot is not cut off");
      }
    }
    if (!found) FAIL("the killed receiver's slot lost its pid");
    close(ready[0]);
    close(ready[1]);
  }
  for (uint32_t flags : {0u, L::FLAG_OVERFLOW_DROP}) {
    // A sender killed mid-stream; a new one carries on. 'block': it dies in the middle of a
    // message in fragments (3 rings: it waits for the receiver, which stops reading and kills it).
    Channel c(flags == 0 ? "ks" : "ksd", wait, flags);
    auto seg = c.map();
    BroadcastReceiver r(seg);
    const uint32_t first = 500 + static_cast<uint32_t>(getpid() % 300);
    const pid_t sender = spawn([&] {
      BroadcastSender s(c.map());
      std::vector<uint8_t> m;
      for (uint32_t seq = 0;; seq++) {
        fill(m, seq);
        s.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
        if (seq + 1 == first) {
          if (flags == 0) {
            std::vector<uint8_t> unfinished(3 * kCapacity, 0xEE);
            s.send(unfinished.data(), static_cast<uint32_t>(unfinished.size()), kTimeoutMs);
          }
          kill(getpid(), SIGKILL);
        }
      }
      return 1;  // never reached
    });
    std::vector<uint8_t> m;
    uint32_t got = 0;
    try {
      for (;; got++) {
        if (flags == 0 && got == first) {
          usleep(20'000);  // the sender fills the ring with the start of its next message
          kill(sender, SIGKILL);
        }
        if (!r.recv(m, kTimeoutMs)) break;
        uint32_t seq;
        if (!decode(m, seq) || (flags == 0 && seq != got)) FAIL("message %u from the doomed sender is wrong", got);
      }
      FAIL("the receiver saw an end, not a dead sender");
    } catch (const ringwire::Error& e) {
      if (e.code() != "ERR_RINGWIRE_PEER_DEAD") FAIL("after the sender's death: %s: %s", e.code().c_str(), e.what());
    }
    reap(sender);
    if (flags == 0 && got != first) FAIL("got %u of the %u messages the killed sender sent", got, first);
    // A new sender carries the numbers on; the receiver, still open, reads on.
    const uint64_t lost = r.lost();
    uint32_t more = 0;
    std::thread reader([&] {
      std::vector<uint8_t> got_m;
      while (r.recv(got_m, kTimeoutMs)) {
        uint32_t seq;
        if (!decode(got_m, seq) || (flags == 0 && seq != first + more)) FAIL("message %u from the next sender is wrong", more);
        more++;
      }
    });
    {
      BroadcastSender next(seg);
      for (uint32_t seq = first; seq < first + 100; seq++) {
        fill(m, seq);
        next.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      }
      next.end();
    }
    reader.join();
    if (flags == 0 && more != 100) FAIL("got %u of the next sender's 100", more);
    if (got + more + r.lost() != first + 100 || (flags == 0 && lost != 0)) {
      FAIL("%s: received %u + lost %llu across the sender's death, of %u", flags == 0 ? "block" : "drop", got + more,
           static_cast<unsigned long long>(r.lost()), first + 100);
    }
  }
}

// --- hostile -----------------------------------------------------------------------------

// --- hostile fragments: records written by hand -------------------------------------------

struct Record {
  uint32_t word0, sequence;
  std::vector<uint8_t> payload;
};
constexpr uint32_t kStart = L::FRAGMENT | L::FRAGMENT_FIRST | L::FRAGMENT_START_BYTES;
constexpr uint32_t kData = L::FRAGMENT;
constexpr uint32_t kLast = L::FRAGMENT | L::FRAGMENT_LAST;
std::vector<uint8_t> start_of(uint32_t total) {
  std::vector<uint8_t> payload(8, 0);
  std::memcpy(payload.data(), &total, 4);
  return payload;
}
std::vector<uint8_t> bytes(uint32_t n, uint8_t value) { return std::vector<uint8_t>(n, value); }

// Writes `records` from position `at` and publishes them as a sender would (I, then P).
uint32_t put_records(const MappedSegment& s, uint32_t at, const std::vector<Record>& records) {
  for (const Record& r : records) {
    uint8_t* record = s.base() + L::HEADER_SIZE + (at & (kCapacity - 1));
    std::memcpy(record, &r.word0, 4);
    std::memcpy(record + 4, &r.sequence, 4);
    if (!r.payload.empty()) std::memcpy(record + 8, r.payload.data(), r.payload.size());
    at += L::record_size(static_cast<uint32_t>(r.payload.size()));
  }
  poke(s, L::OFF_INTENT_POSITION, at);
  poke(s, L::OFF_PRODUCER_POSITION, at);
  return at;
}

// Fragment records that break layout.h's rules (ERR_RINGWIRE_CORRUPT: I says they were not
// overwritten); fragments with no message begun, skipped, and not counted lost by a receiver
// that joined in the middle of their message.
void hostile_fragments(uint32_t wait) {
  struct Case {
    const char* what;
    std::vector<Record> records;
  };
  const Case corrupt[] = {
      {"a message of 0 bytes begins", {{kStart, 0, start_of(0)}}},
      {"a start record that is also a last one", {{kStart | L::FRAGMENT_LAST, 0, start_of(8)}}},
      {"a fragment longer than a record carries", {{kData | kCapacity, 0, {}}}},
      {"a data fragment past the total", {{kStart, 0, start_of(100)}, {kData | 200, 0, bytes(200, 1)}}},
      {"a data fragment completing its message", {{kStart, 0, start_of(100)}, {kData | 100, 0, bytes(100, 1)}}},
      {"a last fragment short of the total", {{kStart, 0, start_of(100)}, {kLast | 50, 0, bytes(50, 1)}}},
      {"a fragment of another message's number", {{kStart, 0, start_of(100)}, {kLast | 100, 1, bytes(100, 1)}}},
  };
  std::vector<uint8_t> m;
  for (const Case& c : corrupt) {
    Channel channel("hof", wait, 0);
    auto seg = channel.map();
    BroadcastReceiver r(seg);
    put_records(*seg, 0, c.records);
    expect_code(c.what, "ERR_RINGWIRE_CORRUPT", [&] { r.try_recv(m); });
  }
  // 'drop': a receiver joining (from the oldest record) in the middle of message 6 skips the
  // rest of it and counts nothing lost; whole record 7, message 8 in fragments; then message
  // 12: 9, 10 and 11 are lost.
  Channel channel("hoj", wait, L::FLAG_OVERFLOW_DROP);
  auto seg = channel.map();
  uint32_t end = put_records(*seg, 0,
                             {{kData | 50, 6, bytes(50, 1)},
                              {kLast | 50, 6, bytes(50, 2)},
                              {4, 7, bytes(4, 3)},
                              {kStart, 8, start_of(30)},
                              {kData | 20, 8, bytes(20, 4)},
                              {kLast | 10, 8, bytes(10, 5)}});
  BroadcastReceiver r(seg, /*from_oldest=*/true);
  std::vector<uint8_t> whole = bytes(20, 4);
  whole.resize(30, 5);
  if (r.try_recv(m) != ringwire::Status::kMessage || m != bytes(4, 3) || r.lost() != 0) {
    FAIL("a receiver that joined mid-message: %zu bytes first, lost %llu", m.size(), static_cast<unsigned long long>(r.lost()));
  }
  if (r.try_recv(m) != ringwire::Status::kMessage || m != whole || r.lost() != 0) FAIL("message 8, in fragments");
  put_records(*seg, end, {{kStart, 12, start_of(12)}, {kLast | 12, 12, bytes(12, 6)}});
  if (r.try_recv(m) != ringwire::Status::kMessage || m != bytes(12, 6) || r.lost() != 3) {
    FAIL("message 12 after 8: lost %llu, not 3", static_cast<unsigned long long>(r.lost()));
  }
}

void run_hostile(uint32_t wait) {
  std::vector<uint8_t> m;
  const auto corrupt_on_recv = [&](const char* what, uint32_t flags, const std::function<void(MappedSegment&)>& poison) {
    Channel c("hos", wait, flags);
    auto seg = c.map();
    BroadcastSender sender(seg);
    BroadcastReceiver r(seg);
    fill(m, 1);
    for (int i = 0; i < 3; i++) sender.try_send(m.data(), static_cast<uint32_t>(m.size()));
    poison(*seg);
    expect_code(what, "ERR_RINGWIRE_CORRUPT", [&] { while (r.try_recv(m) == ringwire::Status::kMessage) {} });
  };
  corrupt_on_recv("a misaligned tail", 0, [](MappedSegment& s) { poke(s, L::OFF_PRODUCER_POSITION, 12); });
  corrupt_on_recv("a tail over a ring ahead", 0, [](MappedSegment& s) { poke(s, L::OFF_PRODUCER_POSITION, 2 * kCapacity); });
  corrupt_on_recv("a length past max_message", 0, [](MappedSegment& s) { poke(s, L::HEADER_SIZE, kCapacity); });
  corrupt_on_recv("a length past the end of the ring", 0, [](MappedSegment& s) { poke(s, L::HEADER_SIZE, 0xFFFFFFF0u); });
  corrupt_on_recv("a record past what was published", L::FLAG_OVERFLOW_DROP,
                  [](MappedSegment& s) { poke(s, L::HEADER_SIZE, word(s, L::OFF_PRODUCER_POSITION)); });
  corrupt_on_recv("padding past what was published", 0, [](MappedSegment& s) { poke(s, L::HEADER_SIZE, L::PADDING_LENGTH); });
  const auto corrupt_on_open = [&](const char* what, bool sender, const std::function<void(MappedSegment&)>& poison) {
    Channel c("hoo", wait, 0);
    auto seg = c.map();
    poison(*seg);
    expect_code(what, "ERR_RINGWIRE_CORRUPT", [&] {
      if (sender) BroadcastSender s(seg);
      else BroadcastReceiver r(seg, true);
    });
  };
  corrupt_on_open("a sender: a misaligned tail", true, [](MappedSegment& s) { poke(s, L::OFF_PRODUCER_POSITION, 4); });
  corrupt_on_open("a sender: an intent behind the tail", true, [](MappedSegment& s) { poke(s, L::OFF_PRODUCER_POSITION, 64); });
  corrupt_on_open("a sender: oldest more than a ring behind", true, [](MappedSegment& s) {
    poke(s, L::OFF_PRODUCER_POSITION, 2 * kCapacity);
    poke(s, L::OFF_INTENT_POSITION, 2 * kCapacity);
  });
  corrupt_on_open("a receiver from the oldest: misaligned", false, [](MappedSegment& s) { poke(s, L::OFF_OLDEST_POSITION, 20); });
  {
    // A cursor that cannot be right does not hold a 'block' sender back (and no read goes
    // outside the ring); a parked mask bit of a slot that cannot exist is cleared; the
    // sender's waiter count beside the parked masks is never taken for a mask.
    Channel c("hoc", wait, 0);
    auto seg = c.map();
    BroadcastSender sender(seg);
    BroadcastReceiver r(seg);
    poke(*seg, slot_field(r.slot(), L::SLOT_CURSOR), 0xFFFFFFF4u);
    fill(m, 2);
    for (uint32_t i = 0; i < 3 * kCapacity / m.size(); i++) {
      if (!sender.try_send(m.data(), static_cast<uint32_t>(m.size()))) FAIL("a nonsense cursor held the sender back");
    }
    poke(*seg, L::OFF_RECEIVER_WAITERS_HIGH, 1u << 31 | 1u << 16);
    poke(*seg, L::OFF_SENDER_WAITERS, 1);  // as if the sender were parked
    BroadcastReceiver other(c.map());      // takes slot 1 (slot 0 is r's): clears only its bits
    BroadcastReceiver third(c.map());
    third.close();
    BroadcastReceiver in_slot_two(c.map());  // a reused slot
    expect_code("recv on an idle channel", "ERR_RINGWIRE_TIMEOUT", [&] { in_slot_two.recv(m, 20); });  // parks: reconciles
    if (word(*seg, L::OFF_RECEIVER_WAITERS_HIGH) != 0) FAIL("parked bits of slots 48 and 63 were not cleared");
    if (word(*seg, L::OFF_SENDER_WAITERS) != 1) FAIL("a receiver cleared a bit of the sender's waiter count");
    poke(*seg, L::OFF_SENDER_WAITERS, 0);
  }
  hostile_fragments(wait);
}

// --- repair: what a sender dead between two of its stores leaves ----------------------------

constexpr uint32_t kNoSuchPid = 1u << 22;  // above Linux's pid limit: the sender that "died"

std::vector<uint8_t> small(uint32_t seq) {
  std::vector<uint8_t> m(16, static_cast<uint8_t>(seq));
  std::memcpy(m.data(), &seq, 4);
  return m;
}
// The number of a message from small(), or -1 for anything else.
int64_t small_seq(const std::vector<uint8_t>& m) {
  uint32_t seq;
  if (m.size() != 16) return -1;
  std::memcpy(&seq, m.data(), 4);
  return m == small(seq) ? seq : -1;
}
// Messages 0 .. count - 1 sent, and the channel left as a sender leaves it that dies in the
// publish of the last one: written, ('drop') the stamp, and the sent count (count) stored; P
// not yet (it still ends at the message before).
void dies_before_the_tail(const Channel& c, const MappedSegment& seg, uint32_t count) {
  uint32_t before = 0;
  {
    BroadcastSender s(c.map());
    for (uint32_t seq = 0; seq < count; seq++) {
      before = word(seg, L::OFF_PRODUCER_POSITION);
      const std::vector<uint8_t> m = small(seq);
      if (!s.try_send(m.data(), static_cast<uint32_t>(m.size()))) FAIL("no room for message %u", seq);
    }
  }
  if (count_at(seg, L::OFF_MESSAGES_SENT) != count) FAIL("the sent count is not %u before the death", count);
  poke(seg, L::OFF_PRODUCER_POSITION, before);
  poke(seg, L::OFF_SENDER_PID, kNoSuchPid);
}
// What a receiver gets now (try_recv), by number (-1: not a message of small()).
std::vector<int64_t> drain_small(BroadcastReceiver& r) {
  std::vector<int64_t> got;
  std::vector<uint8_t> m;
  while (r.try_recv(m) == ringwire::Status::kMessage) got.push_back(small_seq(m));
  return got;
}
std::string listed(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return "[" + s + "]";
}
bool recv_peer_dead(BroadcastReceiver& r, const char* who) {
  std::vector<uint8_t> m;
  return expect_code(who, "ERR_RINGWIRE_PEER_DEAD", [&] { r.recv(m, kTimeoutMs); });
}
// A receiver whose repair the test runs by hand (its lock taken through its own mapping).
struct Repairer : BroadcastReceiver {
  using BroadcastReceiver::BroadcastReceiver;
  bool repair() { return adopt_written(); }
};

void run_repair(uint32_t wait) {
  using V = std::vector<int64_t>;
  {
    // 'drop': the next sender, opening, adopts the last message (under the lock it holds)
    // without counting it twice: it numbers on from 3; a receiver joined before counts
    // nothing lost, and one joining at the new tail starts at the stamp there (3).
    Channel c("rpd", wait, L::FLAG_OVERFLOW_DROP);
    auto seg = c.map();
    BroadcastReceiver r(seg);
    dies_before_the_tail(c, *seg, 3);
    if (drain_small(r) != V{0, 1}) FAIL("'drop': what was published before the death");
    BroadcastSender next(c.map());
    if (count_at(*seg, L::OFF_MESSAGES_SENT) != 3) FAIL("'drop': the sent count after the repair is %.0f, not 3", count_at(*seg, L::OFF_MESSAGES_SENT));
    BroadcastReceiver joiner(seg);
    const std::vector<uint8_t> m = small(3);
    const uint32_t at = word(*seg, L::OFF_PRODUCER_POSITION);
    if (!next.try_send(m.data(), static_cast<uint32_t>(m.size()))) FAIL("'drop': no room for message 3");
    const uint32_t sequence = word(*seg, L::HEADER_SIZE + (at & (kCapacity - 1)) + 4);
    if (sequence != 3) FAIL("'drop': the next sender numbered its first message %u, not 3", sequence);
    const V got = drain_small(r), joined = drain_small(joiner);
    if (got != V{2, 3} || joined != V{3}) FAIL("'drop': got %s and %s after the repair", listed(got).c_str(), listed(joined).c_str());
    if (r.lost() != 0 || joiner.lost() != 0) {
      FAIL("'drop': lost %llu and %llu", static_cast<unsigned long long>(r.lost()), static_cast<unsigned long long>(joiner.lost()));
    }
    if (count_at(*seg, L::OFF_MESSAGES_SENT) != 4) FAIL("'drop': the sent count is not 4 after one more");
  }
  {
    // 'block': the receiver that finds the sender dead adopts the last message, counted once,
    // then (nothing more to read, after a repair of its own) ERR_RINGWIRE_PEER_DEAD.
    Channel c("rpb", wait, 0);
    auto seg = c.map();
    BroadcastReceiver r(seg);
    dies_before_the_tail(c, *seg, 3);
    std::vector<uint8_t> m;
    V got;
    for (int i = 0; i < 3 && r.recv(m, kTimeoutMs); i++) got.push_back(small_seq(m));
    if (got != V{0, 1, 2}) FAIL("'block': got %s across the sender's death", listed(got).c_str());
    if (count_at(*seg, L::OFF_MESSAGES_SENT) != 3) FAIL("'block': the sent count after the repair is %.0f, not 3", count_at(*seg, L::OFF_MESSAGES_SENT));
    recv_peer_dead(r, "'block': after everything the dead sender wrote");
  }
  {
    // The race: A has found the sender dead (its lock free); just as A tries to take the lock,
    // B takes it and begins its repair. B publishes what the dead sender wrote only once A
    // has looked at P (and parked): here, when A next looks at the lock. A must not report
    // ERR_RINGWIRE_PEER_DEAD before that: it gets message 1, and PEER_DEAD only after a repair
    // of its own.
    Channel c("rpr", wait, 0);
    auto seg_a = c.map(), seg_b = c.map();
    BroadcastReceiver a(seg_a);
    Repairer b(seg_b);
    dies_before_the_tail(c, *seg_a, 2);
    if (drain_small(a) != V{0}) FAIL("race: what was published before the death");
    bool raced = false, repaired = false;
    g_before_sender_lock = [&] {
      raced = true;
      if (!seg_b->lock_role(L::ROLE_SENDER)) FAIL("race: B could not take the dead sender's lock");
      g_before_sender_look = [&] {
        repaired = b.repair();
        seg_b->unlock_role(L::ROLE_SENDER);
      };
    };
    std::vector<uint8_t> m;
    try {
      if (!a.recv(m, kTimeoutMs) || small_seq(m) != 1) FAIL("race: A did not get message 1");
    } catch (const ringwire::Error& e) {
      FAIL("race: A, having lost the dead sender's lock to B's repair: %s (%s)", e.code().c_str(), e.what());
    }
    g_before_sender_lock = g_before_sender_look = nullptr;
    seg_b->unlock_role(L::ROLE_SENDER);  // (if A gave up while B held it)
    if (!raced || !repaired) FAIL("race: it did not happen (raced %d, B repaired %d)", raced, repaired);
    recv_peer_dead(a, "race: A, after its own repair");
    const V got = drain_small(b);
    if (got != V{0, 1}) FAIL("race: B got %s", listed(got).c_str());
    recv_peer_dead(b, "race: B");
  }
}

// --- join: 'next' starts at its slot's first cursor ------------------------------------------

void run_join(uint32_t wait) {
  using V = std::vector<int64_t>;
  for (const uint32_t flags : {0u, static_cast<uint32_t>(L::FLAG_OVERFLOW_DROP)}) {
    const char* mode = flags != 0 ? "'drop'" : "'block'";
    for (const uint32_t during : {3u, 400u}) {  // 400 small messages: more than a ring (4096 bytes)
      Channel c(flags != 0 ? "joind" : "joinb", wait, flags);
      BroadcastSender s(c.map());
      uint32_t seq = 0;
      auto send = [&](uint32_t n) {
        for (uint32_t end = seq + n; seq < end; seq++) {
          const std::vector<uint8_t> m = small(seq);
          if (!s.try_send(m.data(), static_cast<uint32_t>(m.size()))) FAIL("%s: no room for message %u", mode, seq);
        }
      };
      send(2);  // nobody joined: nobody waits
      bool ran = false;
      g_before_slot_lock = [&] {
        ran = true;
        send(during);
      };
      BroadcastReceiver r(c.map());
      g_before_slot_lock = nullptr;
      if (!ran) FAIL("%s: the seam did not run", mode);
      uint32_t oldest = seq;
      if (during > 3) {
        // Lapped at its first cursor: it starts at O, the oldest message still in the ring.
        std::vector<uint8_t> m;
        BroadcastReceiver o(c.map(), true);
        if (o.try_recv(m) != ringwire::Status::kMessage) FAIL("%s: nothing from 'oldest'", mode);
        oldest = static_cast<uint32_t>(small_seq(m));
      }
      V want;
      for (uint32_t k = during > 3 ? oldest : 2; k < seq; k++) want.push_back(k);
      V got = drain_small(r);
      if (got != want) FAIL("%s, %u sent while it took its slot: got %s, not %s", mode, during, listed(got).c_str(), listed(want).c_str());
      send(3);
      want = {seq - 3, seq - 2, seq - 1};
      got = drain_small(r);
      if (got != want) FAIL("%s, %u sent while it took its slot: then got %s, not %s", mode, during, listed(got).c_str(), listed(want).c_str());
      if (r.lost() != 0) FAIL("%s: %llu counted lost", mode, static_cast<unsigned long long>(r.lost()));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: stress_broadcast threads|drop|lag|kill|hostile|repair|join futex|semaphore|named-semaphore [messages]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const uint32_t wait = wait_of(argv[2]);
  const uint32_t count = argc > 3 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 20000;
  const auto start = std::chrono::steady_clock::now();
  try {
    // Messages in fragments: up to 8 rings; 'drop', 2 (so that receivers keeping up get some).
    g_fragmented_max = mode == "drop" ? 2 * kCapacity : mode == "hostile" || mode == "repair" || mode == "join" ? 0 : 8 * kCapacity;
    if (mode == "threads") run_threads(wait, count);
    else if (mode == "drop") run_drop(wait, count);
    else if (mode == "lag") run_lag(wait);
    else if (mode == "kill") run_kill(wait);
    else if (mode == "hostile") run_hostile(wait);
    else if (mode == "repair") run_repair(wait);
    else if (mode == "join") run_join(wait);
    else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const ringwire::Error& e) {
    FAIL("%s: %s", e.code().c_str(), e.what());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("stress_broadcast %s %s%s: %s (%lld ms)\n", argv[1], argv[2], argc > 3 ? (" " + std::string(argv[3])).c_str() : "",
              g_failed ? "FAILED" : "ok", static_cast<long long>(ms));
  return g_failed ? 1 : 0;
}
