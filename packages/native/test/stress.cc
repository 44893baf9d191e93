// Stress test of the C++ SPSC protocol (include/ringwire/spsc.h) for the sanitizer builds in
// CI: a sender and a receiver move many checkable messages of every size through a small
// ring (so it wraps, pads, fills and parks constantly), between two threads sharing one
// mapping (what ThreadSanitizer can follow) or between two processes. Now and then a message
// is longer than one record carries, up to 8 rings, and goes in fragments (layout.h).
//
//   stress threads|processes futex|semaphore|named-semaphore <messages>
//   stress receiver-kill futex|semaphore|named-semaphore [rounds]
//       receivers SIGKILLed at random moments: each next one resumes right after the last
//       message its predecessor handed out (at most the one it held is lost, none repeated)
//   stress sender-kill futex|semaphore|named-semaphore [rounds]
//       senders SIGKILLed while the receiver stalls, almost always in the middle of a message
//       in fragments: the receiver never returns a torn or partial message, and each next
//       sender carries the numbering on
//   stress hostile futex|semaphore|named-semaphore
//       impossible positions and lengths (and fragment records) poked into live channels:
//       ERR_RINGWIRE_CORRUPT, never an access outside the ring
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ringwire/spsc.h"
#include "stress_args.h"

namespace {

namespace L = ringwire::layout;

constexpr uint32_t kCapacity = 4096;
constexpr int64_t kTimeoutMs = 20'000;
constexpr uint32_t kRecordLimit = L::max_message_for(kCapacity);
constexpr uint32_t kFragmentBytes = L::fragment_bytes_for(kCapacity);

// Messages 64 onwards first take each of these sizes: either side of what one record carries,
// of multiples of a data fragment, and of 8 rings.
constexpr uint32_t kBoundaries[] = {
    kRecordLimit - 1,       kRecordLimit,           kRecordLimit + 1,       kRecordLimit + 8,
    4 * kFragmentBytes - 1, 4 * kFragmentBytes,     4 * kFragmentBytes + 1, 5 * kFragmentBytes - 1,
    5 * kFragmentBytes,     5 * kFragmentBytes + 1, 8 * kFragmentBytes,     8 * kFragmentBytes + 1,
    32 * kFragmentBytes - 1, 32 * kFragmentBytes,   2 * kCapacity,          8 * kCapacity - 1,
    8 * kCapacity,          8 * kCapacity + 1,
};
constexpr uint32_t kBoundaryCount = sizeof kBoundaries / sizeof kBoundaries[0];

// Message i: sizes 0 .. max_message, mostly small, and one in 101 in fragments (up to 8
// rings); byte j is (i * 31 + j) & 255.
uint32_t size_of(uint32_t i) {
  if (i >= 64 && i - 64 < kBoundaryCount) return kBoundaries[i - 64];
  if (i % 101 == 100) return kRecordLimit + 1 + ((i * 2654435761u) >> 7) % (8 * kCapacity - kRecordLimit);
  return i % 13 == 0 ? (i * 7919u) % (kRecordLimit + 1) : i % 200;
}
void fill(std::vector<uint8_t>& m, uint32_t i) {
  m.resize(size_of(i));
  for (uint32_t j = 0; j < m.size(); j++) m[j] = static_cast<uint8_t>(i * 31 + j);
}

bool produce(ringwire::SpscSender& sender, uint32_t count) {
  std::vector<uint8_t> message;
  for (uint32_t i = 0; i < count; i++) {
    fill(message, i);
    sender.send(message.data(), static_cast<uint32_t>(message.size()), kTimeoutMs);
  }
  sender.end();
  return true;
}

bool consume(ringwire::SpscReceiver& receiver, uint32_t count) {
  std::vector<uint8_t> message, expected;
  uint32_t i = 0;
  while (receiver.recv(message, kTimeoutMs)) {
    fill(expected, i);
    if (message != expected) {
      std::fprintf(stderr, "stress: message %u differs\n", i);
      return false;
    }
    i++;
  }
  if (i != count) std::fprintf(stderr, "stress: %u of %u messages arrived\n", i, count);
  return i == count;
}

// --- receiver-kill: the delivered position (layout.h, "delivered") ---------------------

// Message i for receiver-kill and sender-kill: its sequence number, then fill()'s bytes.
void fill_numbered(std::vector<uint8_t>& m, uint32_t i) {
  fill(m, i);
  m.resize(m.size() + 4);
  std::memmove(m.data() + 4, m.data(), m.size() - 4);
  std::memcpy(m.data(), &i, 4);
}

constexpr uint32_t kEndMark = 0xFFFFFFFFu, kDamagedMark = 0xFFFFFFFEu;

// A receiver process: reports the number of every message try_recv returns (after it
// returned) through `report`; kEndMark at the end of the stream. It pauses now and then, so
// that the sender fills the ring and it mostly reads a full one, where the consumer position
// it publishes lags behind what it took.
[[noreturn]] void report_receiver(const std::string& name, int report) {
  int code = 1;
  try {
    ringwire::SpscReceiver receiver{ringwire::MappedSegment(name)};
    std::vector<uint8_t> m, expected;
    for (uint32_t n = 1;; n++) {
      if (n % 8 == 0) usleep(100);
      ringwire::Status status = receiver.try_recv(m);
      if (status == ringwire::Status::kEmpty) {
        status = receiver.recv(m, kTimeoutMs) ? ringwire::Status::kMessage : ringwire::Status::kEnded;
      }
      uint32_t seq = kEndMark;
      if (status == ringwire::Status::kMessage) {
        if (m.size() >= 4) std::memcpy(&seq, m.data(), 4);
        if (m.size() >= 4) fill_numbered(expected, seq);
        if (m.size() < 4 || m != expected) seq = kDamagedMark;
      }
      if (write(report, &seq, 4) != 4 || seq == kDamagedMark) break;
      if (seq == kEndMark) {
        code = 0;
        break;
      }
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress receiver-kill child: %s: %s\n", e.code().c_str(), e.what());
  }
  _exit(code);
}

// The sender process: messages 0 .. count-1, then the end. While no receiver is open its
// sends report the dead one (ERR_RINGWIRE_PEER_DEAD); it waits for the next.
[[noreturn]] void numbered_sender(const std::string& name, uint32_t count) {
  try {
    ringwire::SpscSender sender{ringwire::MappedSegment(name)};
    std::vector<uint8_t> m;
    for (uint32_t i = 0; i < count; i++) {
      fill_numbered(m, i);
      for (;;) {
        try {
          sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
          break;
        } catch (const ringwire::Error& e) {
          if (e.code() != "ERR_RINGWIRE_PEER_DEAD") throw;
          usleep(1000);
        }
      }
    }
    sender.end();
    _exit(0);
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress receiver-kill sender: %s: %s\n", e.code().c_str(), e.what());
    _exit(1);
  }
}

// Reads one report (false at EOF, or after kTimeoutMs without one).
bool read_report(int fd, uint32_t& seq) {
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(kTimeoutMs)) != 1) return false;
  size_t got = 0;
  while (got < 4) {
    const ssize_t n = read(fd, reinterpret_cast<uint8_t*>(&seq) + got, 4 - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// Rounds of: a receiver takes messages and is SIGKILLed after a random number of reports (it
// is ahead of us by then: a random moment). Its successor's first message must follow the
// last one it reported, or the one after (the message it may have taken and not reported);
// without the delivered position it would start from the lazily published consumer position,
// up to 32 records earlier. A last receiver takes the rest, in order, to the end.
bool run_receiver_kill(const std::string& name, uint32_t rounds) {
  const uint32_t count = 25'000;
  std::mt19937 random(static_cast<uint32_t>(getpid()));
  const pid_t sender = fork();
  if (sender == 0) numbered_sender(name, count);
  bool ok = sender > 0;
  int64_t last = -1;  // the last message reported
  uint32_t lost = 0;
  for (uint32_t round = 0; round <= rounds && ok; round++) {
    const bool final_round = round == rounds;
    int fds[2];
    if (pipe(fds) != 0) return false;
    const pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      report_receiver(name, fds[1]);
    }
    close(fds[1]);
    const uint32_t kill_after = 1 + random() % 1500;
    bool first = true, ended = false;
    uint32_t seq = 0;
    for (uint32_t n = 0; ok && read_report(fds[0], seq); n++) {
      if (seq == kEndMark) {
        ended = true;
        break;
      }
      const bool in_order = first ? seq == last + 1 || seq == last + 2 : seq == last + 1;
      if (seq == kDamagedMark || !in_order) {
        std::fprintf(stderr, "stress receiver-kill: round %u: message %u after %lld%s\n", round, seq,
                     static_cast<long long>(last), first ? " (its first)" : "");
        ok = false;
        break;
      }
      if (first) lost += static_cast<uint32_t>(seq - (last + 1));
      first = false;
      last = seq;
      if (!final_round && n + 1 == kill_after) kill(child, SIGKILL);
    }
    close(fds[0]);
    int status = 0;
    if (!ok) kill(child, SIGKILL);
    waitpid(child, &status, 0);
    if (ok && (final_round ? !(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0 && last == count - 1)
                           : !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))) {
      std::fprintf(stderr, "stress receiver-kill: round %u: receiver status %d, ended %d, last message %lld\n", round,
                   status, ended, static_cast<long long>(last));
      ok = false;
    }
  }
  int status = 0;
  if (!ok && sender > 0) kill(sender, SIGKILL);
  if (sender > 0) waitpid(sender, &status, 0);
  ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("stress receiver-kill: %u receivers killed, %u messages lost with them\n", rounds, lost);
  return ok;
}

// --- sender-kill: a sender killed in the middle of a message in fragments --------------

// A sender of sender-kill: carries the numbering on from the channel's sent count (the
// messages every sender before it completed) up to `count`, then ends. While it is inside the
// send of a message in fragments, `inside` (shared with the parent) holds that message's
// number + 1.
[[noreturn]] void carrying_sender(const std::string& name, uint32_t count, std::atomic<uint32_t>* inside) {
  try {
    ringwire::SpscSender sender{ringwire::MappedSegment(name)};
    std::vector<uint8_t> m;
    for (auto i = static_cast<uint32_t>(ringwire::detail::load_count(sender.segment().base(), L::OFF_MESSAGES_SENT));
         i < count; i++) {
      fill_numbered(m, i);
      if (m.size() > kRecordLimit) inside->store(i + 1);
      sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
      inside->store(0);
    }
    sender.end();
    _exit(0);
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress sender-kill sender: %s: %s\n", e.code().c_str(), e.what());
    _exit(1);
  }
}

// Rounds of: a sender sends while the receiver takes a random number of messages, then stalls
// and SIGKILLs it; the next sender starts at once. Three rounds in four the receiver stalls
// just before a message in fragments (longer than the ring: its sender cannot finish it while
// the receiver stalls, so it dies partway through it), the others anywhere. Every message
// the receiver returns must be whole and intact, its number one past the last; once per kill
// one number may be skipped (a sender killed between storing the sent count and its publish
// leaves the count one ahead of what the next one adopts: stats, not messages). A last
// sender sends the rest and ends.
bool run_sender_kill(const std::string& name, uint32_t rounds) {
  const uint32_t count = 4000;
  void* shared = mmap(nullptr, sizeof(std::atomic<uint32_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return false;
  auto* inside = new (shared) std::atomic<uint32_t>(0);
  std::mt19937 random(static_cast<uint32_t>(getpid()));
  const auto spawn = [&] {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) carrying_sender(name, count, inside);
    return pid;
  };
  bool ok = true;
  uint32_t next = 0, kills = 0, mid_message = 0, skipped = 0;
  pid_t child = spawn();
  uint32_t take = 1 + random() % 200;
  bool mid = random() % 4 != 0;  // this round's kill waits for a message in fragments
  try {
    ringwire::SpscReceiver receiver{ringwire::MappedSegment(name)};
    std::vector<uint8_t> m, expected;
    const int64_t deadline = ringwire::detail::deadline_after(4 * kTimeoutMs);
    for (;;) {
      try {
        if (!receiver.recv(m, kTimeoutMs)) break;
      } catch (const ringwire::Error& e) {
        // Between a sender's death and the next one's open.
        if (e.code() != "ERR_RINGWIRE_PEER_DEAD" || ringwire::detail::deadline_passed(deadline)) throw;
        usleep(1000);
        continue;
      }
      uint32_t seq = UINT32_MAX;
      if (m.size() >= 4) std::memcpy(&seq, m.data(), 4);
      if (seq == next + 1 && skipped < kills) {
        skipped++;
        next++;
      }
      if (seq == next) fill_numbered(expected, seq);
      if (seq != next || m != expected) {
        std::fprintf(stderr, "stress sender-kill: message %u (%zu bytes) where message %u (%zu bytes) was due\n", seq,
                     m.size(), next, static_cast<size_t>(size_of(next) + 4));
        ok = false;
        break;
      }
      next++;
      if (take > 0) take--;
      if (kills < rounds && take == 0 && (!mid || size_of(next) + 4 > kRecordLimit)) {
        usleep(2000);  // stall: the sender fills the ring
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        if (inside->load() != 0) mid_message++;
        inside->store(0);
        kills++;
        child = spawn();
        take = 1 + random() % 200;
        mid = random() % 4 != 0;
      }
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress sender-kill: %s: %s\n", e.code().c_str(), e.what());
    ok = false;
  }
  int status = 0;
  if (!ok) kill(child, SIGKILL);
  waitpid(child, &status, 0);
  munmap(shared, sizeof(std::atomic<uint32_t>));
  if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0 && next == count)) {
    std::fprintf(stderr, "stress sender-kill: the last sender's status %d, %u of %u messages\n", status, next, count);
    ok = false;
  }
  // The test means something only if the kills land mid-message.
  if (ok && kills > 0 && mid_message == 0) {
    std::fprintf(stderr, "stress sender-kill: no sender was killed in the middle of a message\n");
    ok = false;
  }
  std::printf("stress sender-kill: %u senders killed, %u in the middle of a message in fragments, %u numbers skipped\n",
              kills, mid_message, skipped);
  return ok;
}

// --- hostile: impossible values in the shared header ---------------------------------

uint32_t* shared_word(const ringwire::MappedSegment& s, uint32_t offset) { return s.word(offset); }
void poke(const ringwire::MappedSegment& s, uint32_t offset, uint32_t value) {
  __atomic_store_n(shared_word(s, offset), value, __ATOMIC_SEQ_CST);
}
uint32_t peek(const ringwire::MappedSegment& s, uint32_t offset) {
  return __atomic_load_n(shared_word(s, offset), __ATOMIC_SEQ_CST);
}

// A fresh channel; `body` gets its mapping and returns true if all went as expected.
bool with_channel(const std::string& name, uint32_t wait, const char* what,
                  const std::function<bool(std::shared_ptr<ringwire::MappedSegment>)>& body,
                  uint32_t max_message_size = 0) {
  ringwire::CreateOptions options;
  options.capacity = kCapacity;
  options.wait_mechanism = wait;
  options.max_message_size = max_message_size;
  ringwire::create_segment(name, options);
  bool ok = false;
  try {
    ok = body(std::make_shared<ringwire::MappedSegment>(name));
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress: %s: unexpected %s: %s\n", what, e.code().c_str(), e.what());
  }
  ringwire::unlink_segment(name);
  if (!ok) std::fprintf(stderr, "stress: %s: FAILED\n", what);
  return ok;
}

bool expect_code(const char* what, const char* code, const std::function<void()>& body) {
  try {
    body();
  } catch (const ringwire::Error& e) {
    if (e.code() == code) return true;
    std::fprintf(stderr, "stress: %s: expected %s, got %s: %s\n", what, code, e.code().c_str(), e.what());
    return false;
  }
  std::fprintf(stderr, "stress: %s: expected %s, got nothing\n", what, code);
  return false;
}
bool expect_corrupt(const char* what, const std::function<void()>& body) {
  return expect_code(what, "ERR_RINGWIRE_CORRUPT", body);
}
bool check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "stress: %s: FAILED\n", what);
  return ok;
}

void send_some(ringwire::SpscSender& sender, uint32_t from, uint32_t n) {
  std::vector<uint8_t> m;
  for (uint32_t i = from; i < from + n; i++) {
    fill_numbered(m, i);
    if (!sender.try_send(m.data(), static_cast<uint32_t>(m.size()))) throw std::runtime_error("no room");
  }
}

// The next message a receiver gets (kEndMark if none).
uint32_t next_number(ringwire::SpscReceiver& receiver) {
  std::vector<uint8_t> m;
  uint32_t seq = kEndMark;
  if (receiver.try_recv(m) == ringwire::Status::kMessage && m.size() >= 4) std::memcpy(&seq, m.data(), 4);
  return seq;
}

// --- hostile fragments: records written by hand ---------------------------------------

// Writes a record at position `at` (its length word, then `payload`); returns the position after it.
uint32_t put_record(const ringwire::MappedSegment& s, uint32_t at, uint32_t word0, const std::vector<uint8_t>& payload) {
  uint8_t* record = s.base() + L::HEADER_SIZE + (at & (kCapacity - 1));
  std::memcpy(record, &word0, 4);
  if (!payload.empty()) std::memcpy(record + L::RECORD_HEADER_SIZE, payload.data(), payload.size());
  return at + L::record_size(static_cast<uint32_t>(payload.size()));
}
std::vector<uint8_t> start_of(uint32_t total) {
  std::vector<uint8_t> payload(8, 0);
  std::memcpy(payload.data(), &total, 4);
  return payload;
}
std::vector<uint8_t> bytes(uint32_t n, uint8_t value) { return std::vector<uint8_t>(n, value); }
constexpr uint32_t kStart = L::FRAGMENT | L::FRAGMENT_FIRST | L::FRAGMENT_START_BYTES;
constexpr uint32_t kData = L::FRAGMENT;
constexpr uint32_t kLast = L::FRAGMENT | L::FRAGMENT_LAST;

struct Written {
  uint32_t word0;
  std::vector<uint8_t> payload;
};
// Writes `records` from position 0; returns the end and, in `ends`, where each ends.
uint32_t put_records(const ringwire::MappedSegment& s, const std::vector<Written>& records,
                     std::vector<uint32_t>* ends = nullptr) {
  uint32_t at = 0;
  for (const Written& r : records) {
    at = put_record(s, at, r.word0, r.payload);
    if (ends != nullptr) ends->push_back(at);
  }
  return at;
}

// Fragment records that break layout.h's rules (ERR_RINGWIRE_CORRUPT), fragments with no
// message begun (skipped), a whole record dropping a message begun, and the two walks that
// count messages ("written", "delivered") counting whole and last records only.
bool hostile_fragments(const std::string& name, uint32_t wait) {
  bool ok = true;
  struct Case {
    const char* what;
    std::vector<Written> records;
  };
  const Case corrupt[] = {
      {"a message of 0 bytes begins", {{kStart, start_of(0)}}},
      {"a message longer than max_message_size begins", {{kStart, start_of(L::DEFAULT_MAX_MESSAGE_SIZE + 1)}}},
      {"a start record of 16 bytes", {{L::FRAGMENT | L::FRAGMENT_FIRST | 16, bytes(16, 0)}}},
      {"a start record that is also a last one", {{kStart | L::FRAGMENT_LAST, start_of(8)}}},
      {"a fragment longer than a record carries", {{kData | (kRecordLimit + 8), {}}}},
      {"a data fragment past the total", {{kStart, start_of(100)}, {kData | 200, bytes(200, 1)}}},
      {"a data fragment completing its message", {{kStart, start_of(100)}, {kData | 100, bytes(100, 1)}}},
      {"a last fragment short of the total", {{kStart, start_of(100)}, {kLast | 50, bytes(50, 1)}}},
      {"a last fragment past the total", {{kStart, start_of(100)}, {kData | 60, bytes(60, 1)}, {kLast | 50, bytes(50, 1)}}},
  };
  for (const Case& c : corrupt) {
    ok &= with_channel(name, wait, c.what, [&](std::shared_ptr<ringwire::MappedSegment> s) {
      ringwire::SpscReceiver receiver(s);
      // (The fragment longer than a record: its length word alone, published as 8 bytes.)
      poke(*s, L::OFF_PRODUCER_POSITION, put_records(*s, c.records));
      return expect_corrupt(c.what, [&] {
        std::vector<uint8_t> m;
        receiver.try_recv(m);
      });
    });
  }
  // No message begun: data and last records are skipped. A whole record drops a message
  // begun; a start record drops one begun and starts afresh.
  ok &= with_channel(name, wait, "fragments with no message begun, and messages dropped", [&](auto s) {
    ringwire::SpscReceiver receiver(s);
    const uint32_t end = put_records(*s, {{kData | 50, bytes(50, 1)},
                                          {kLast | 50, bytes(50, 2)},
                                          {4, bytes(4, 3)},
                                          {kStart, start_of(100)},
                                          {kData | 40, bytes(40, 4)},
                                          {3, bytes(3, 5)},
                                          {kStart, start_of(100)},
                                          {kData | 40, bytes(40, 6)},
                                          {kStart, start_of(30)},
                                          {kData | 20, bytes(20, 7)},
                                          {kLast | 10, bytes(10, 8)}});
    poke(*s, L::OFF_PRODUCER_POSITION, end);
    std::vector<uint8_t> a, b, c, none;
    std::vector<uint8_t> whole = bytes(20, 7);
    whole.resize(30, 8);
    return check(receiver.try_recv(a) == ringwire::Status::kMessage && a == bytes(4, 3) &&
                     receiver.try_recv(b) == ringwire::Status::kMessage && b == bytes(3, 5) &&
                     receiver.try_recv(c) == ringwire::Status::kMessage && c == whole &&
                     receiver.try_recv(none) == ringwire::Status::kEmpty,
                 "fragments with no message begun are skipped, a begun message dropped by the next");
  });
  // Partial state survives a try_recv that finds the ring empty.
  ok &= with_channel(name, wait, "a message put together across empty receives", [&](auto s) {
    ringwire::SpscReceiver receiver(s);
    std::vector<uint32_t> ends;
    put_records(*s, {{kStart, start_of(100)}, {kData | 60, bytes(60, 1)}, {kLast | 40, bytes(40, 2)}}, &ends);
    std::vector<uint8_t> m, whole = bytes(60, 1);
    whole.resize(100, 2);
    poke(*s, L::OFF_PRODUCER_POSITION, ends[1]);
    const bool empty = receiver.try_recv(m) == ringwire::Status::kEmpty;
    poke(*s, L::OFF_PRODUCER_POSITION, ends[2]);
    return check(empty && receiver.try_recv(m) == ringwire::Status::kMessage && m == whole,
                 "a message put together across an empty receive");
  });
  // "written": a sender opening after one that died publishes what it wrote, counting whole
  // and last records only.
  const std::vector<Written> two = {{kStart, start_of(100)}, {kData | 60, bytes(60, 1)}, {kLast | 40, bytes(40, 2)},
                                    {7, bytes(7, 3)}};
  ok &= with_channel(name, wait, "the written walk over fragments", [&](auto s) {
    const uint32_t end = put_records(*s, two);
    __atomic_store_n(s->word(L::OFF_WRITTEN_POSITION), end, __ATOMIC_RELAXED);
    ringwire::SpscSender sender(s);
    ringwire::SpscReceiver receiver(s);
    std::vector<uint8_t> a, b;
    return check(peek(*s, L::OFF_PRODUCER_POSITION) == end &&
                     ringwire::detail::load_count(s->base(), L::OFF_MESSAGES_SENT) == 2 &&
                     receiver.try_recv(a) == ringwire::Status::kMessage && a.size() == 100 &&
                     receiver.try_recv(b) == ringwire::Status::kMessage && b == bytes(7, 3),
                 "the written walk adopts fragments and counts 2 messages");
  });
  // "delivered": a receiver resuming counts whole and last records only. One whose delivered
  // position is in the middle of a message in fragments, after a whole message: adopted, and
  // the rest of that message skipped. With no message ending before it: not adopted, and the
  // message the last receiver was putting together is read again from its start.
  ok &= with_channel(name, wait, "the delivered walk over fragments", [&](auto s) {
    std::vector<uint32_t> ends;
    const uint32_t end = put_records(*s, two, &ends);
    poke(*s, L::OFF_PRODUCER_POSITION, end);
    poke(*s, L::OFF_DELIVERED_POSITION, end);
    bool good;
    {
      ringwire::SpscReceiver receiver(s);
      std::vector<uint8_t> m;
      good = check(ringwire::detail::load_count(s->base(), L::OFF_MESSAGES_RECEIVED) == 2 &&
                       receiver.try_recv(m) == ringwire::Status::kEmpty,
                   "the delivered walk counts 2 messages");
    }
    poke(*s, L::OFF_CONSUMER_POSITION, 0);
    poke(*s, L::OFF_DELIVERED_POSITION, ends[1]);  // after the start and a data record
    ringwire::detail::store_count(s->base(), L::OFF_MESSAGES_RECEIVED, 0);
    {
      ringwire::SpscReceiver receiver(s);
      std::vector<uint8_t> m, whole = bytes(60, 1);
      whole.resize(100, 2);
      good &= check(ringwire::detail::load_count(s->base(), L::OFF_MESSAGES_RECEIVED) == 0 &&
                        peek(*s, L::OFF_CONSUMER_POSITION) == 0 && receiver.try_recv(m) == ringwire::Status::kMessage &&
                        m == whole && receiver.try_recv(m) == ringwire::Status::kMessage && m == bytes(7, 3),
                    "a receiver resuming before any message ended reads the message in fragments again");
    }
    return good;
  });
  ok &= with_channel(name, wait, "the delivered walk past a whole message into fragments", [&](auto s) {
    std::vector<uint32_t> ends;
    const uint32_t end = put_records(*s, {{5, bytes(5, 4)}, {kStart, start_of(20)}, {kData | 10, bytes(10, 5)},
                                          {kLast | 10, bytes(10, 6)}, {2, bytes(2, 7)}}, &ends);
    poke(*s, L::OFF_PRODUCER_POSITION, end);
    poke(*s, L::OFF_DELIVERED_POSITION, ends[2]);  // the whole message, the start, a data record
    ringwire::SpscReceiver receiver(s);
    std::vector<uint8_t> m;
    return check(ringwire::detail::load_count(s->base(), L::OFF_MESSAGES_RECEIVED) == 1 &&
                     peek(*s, L::OFF_CONSUMER_POSITION) == ends[2] &&
                     receiver.try_recv(m) == ringwire::Status::kMessage && m == bytes(2, 7),
                 "a receiver resuming mid-message after a whole one skips the rest of it");
  });
  return ok;
}

int run_hostile(const std::string& name, uint32_t wait) {
  bool ok = true;
  const uint32_t last4 = kCapacity - 4;  // a position whose ring offset is in the last 4 bytes
  // The receiver: a producer position it must not follow.
  for (uint32_t producer : {last4, kCapacity + 8, 12u}) {
    const std::string what = "producer position " + std::to_string(producer);
    ok &= with_channel(name, wait, what.c_str(), [&](std::shared_ptr<ringwire::MappedSegment> s) {
      ringwire::SpscReceiver receiver(s);
      poke(*s, L::OFF_PRODUCER_POSITION, producer);
      return expect_corrupt(what.c_str(), [&] { next_number(receiver); });
    });
  }
  // Record headers that claim more than was published, or more than the ring holds.
  struct Record {
    const char* what;
    uint32_t at, length, published;
  };
  const Record records[] = {
      {"a length beyond max_message", 0, 0x7FFFFFF0u, 64},
      {"a record beyond the published end", 0, 100, 24},
      {"a record straddling the ring's end", kCapacity - 16, 100, 120},
      {"padding beyond the published end", kCapacity - 16, L::PADDING_LENGTH, 8},
  };
  for (const Record& r : records) {
    ok &= with_channel(name, wait, r.what, [&](std::shared_ptr<ringwire::MappedSegment> s) {
      poke(*s, L::OFF_CONSUMER_POSITION, r.at);
      poke(*s, L::OFF_DELIVERED_POSITION, r.at);
      ringwire::SpscReceiver receiver(s);
      std::memcpy(s->base() + L::HEADER_SIZE + r.at, &r.length, 4);
      poke(*s, L::OFF_PRODUCER_POSITION, r.at + r.published);
      return expect_corrupt(r.what, [&] { next_number(receiver); });
    });
  }
  // Openers: positions that cannot be.
  ok &= with_channel(name, wait, "receiver opening at a misaligned consumer position", [&](auto s) {
    poke(*s, L::OFF_CONSUMER_POSITION, last4);
    return expect_corrupt("receiver open", [&] { ringwire::SpscReceiver receiver(s); });
  });
  for (uint32_t consumer : {last4, 8u}) {
    ok &= with_channel(name, wait, "sender opening beside an impossible consumer position", [&](auto s) {
      poke(*s, L::OFF_CONSUMER_POSITION, consumer);  // misaligned, or past the producer
      return expect_corrupt("sender open", [&] { ringwire::SpscSender sender(s); });
    });
  }
  ok &= with_channel(name, wait, "sender opening at a misaligned producer position", [&](auto s) {
    poke(*s, L::OFF_PRODUCER_POSITION, last4);
    poke(*s, L::OFF_CONSUMER_POSITION, last4);
    return expect_corrupt("sender open", [&] { ringwire::SpscSender sender(s); });
  });
  // A live sender with a full ring looks at the consumer position again.
  ok &= with_channel(name, wait, "a full sender finding a misaligned consumer position", [&](auto s) {
    ringwire::SpscSender sender(s);
    std::vector<uint8_t> big(L::max_message_for(kCapacity));
    if (!sender.try_send(big.data(), static_cast<uint32_t>(big.size()))) return false;
    poke(*s, L::OFF_CONSUMER_POSITION, 4);
    return expect_corrupt("full sender", [&] { sender.try_send(nullptr, 0); });
  });
  // The delivered line: adopted only on a record boundary between the consumer and producer
  // positions (the walk from the consumer position lands on it); anything else is ignored
  // (the receiver starts at the consumer position).
  ok &= with_channel(name, wait, "delivered positions", [&](auto s) {
    ringwire::SpscSender sender(s);
    send_some(sender, 0, 5);  // 5 records, each record_size(4 + size_of(i)) bytes
    std::vector<uint32_t> at = {0};
    for (uint32_t i = 0; i < 5; i++) at.push_back(at.back() + L::record_size(4 + size_of(i)));
    bool good = true;
    const uint32_t ignored[] = {last4, at[2] + 4, at[2] + 8, at[5] + 8, 0u - 8u, kCapacity};
    for (uint32_t delivered : ignored) {
      poke(*s, L::OFF_DELIVERED_POSITION, delivered);
      uint32_t first;
      {
        ringwire::SpscReceiver receiver(s);
        first = next_number(receiver);
      }
      if (first != 0) {
        std::fprintf(stderr, "stress hostile: delivered %u was adopted (first message %u)\n", delivered, first);
        good = false;
      }
      poke(*s, L::OFF_CONSUMER_POSITION, 0);  // as if it had taken nothing
      ringwire::detail::store_count(s->base(), L::OFF_MESSAGES_RECEIVED, 0);
    }
    // A valid one is adopted, the messages walked counted, and published at once.
    poke(*s, L::OFF_DELIVERED_POSITION, at[3]);
    ringwire::SpscReceiver receiver(s);
    if (peek(*s, L::OFF_CONSUMER_POSITION) != at[3] || ringwire::detail::load_count(s->base(), L::OFF_MESSAGES_RECEIVED) != 3 ||
        next_number(receiver) != 3) {
      std::fprintf(stderr, "stress hostile: a valid delivered position was not adopted\n");
      good = false;
    }
    return good;
  });
  ok &= hostile_fragments(name, wait);
  return ok ? 0 : 1;
}

// --- api: the contract of contract.h (what the TypeScript does) ------------------------

// Timeouts throw, the end of the stream is false / kEnded, sends after end() and any call
// after close() throw ERR_RINGWIRE_CLOSED, close() is idempotent. Messages in fragments: only
// send() writes them; one that times out partway is dropped by the receiver, not counted, and
// does not keep an ended stream from ending.
bool run_api_checks(const std::string& name, uint32_t wait) {
  constexpr uint32_t kMaxMessageSize = 3 * kCapacity + 5;
  return with_channel(name, wait, "api", [&](std::shared_ptr<ringwire::MappedSegment> segment) {
    ringwire::SpscSender sender(segment);
    ringwire::SpscReceiver receiver(segment);
    std::vector<uint8_t> got, big(kRecordLimit, 9), huge(kMaxMessageSize + 1, 7);
    bool ok = check(sender.max_message() == kMaxMessageSize && receiver.max_message() == sender.max_message(),
                    "max_message() is max_message_size");
    ok &= check(receiver.try_recv(got) == ringwire::Status::kEmpty && !receiver.ended(), "an empty channel");
    ok &= expect_code("recv on an empty channel", "ERR_RINGWIRE_TIMEOUT", [&] { receiver.recv(got, 30); });
    ok &= expect_code("try_send of a message longer than a record", "ERR_RINGWIRE_TOO_LARGE",
                      [&] { sender.try_send(huge.data(), kRecordLimit + 1); });
    ok &= expect_code("send of a message longer than max_message()", "ERR_RINGWIRE_TOO_LARGE",
                      [&] { sender.send(huge.data(), sender.max_message() + 1, 30); });
    ok &= check(sender.try_send(big.data(), static_cast<uint32_t>(big.size())) && !sender.try_send(nullptr, 0),
                "a whole-ring message, then full");
    ok &= expect_code("send on a full ring", "ERR_RINGWIRE_TIMEOUT", [&] { sender.send(nullptr, 0, 30); });
    ok &= expect_code("send on a full ring, timeout 0", "ERR_RINGWIRE_TIMEOUT", [&] { sender.send(nullptr, 0, 0); });
    ok &= check(receiver.recv(got, 1000) && got == big, "the whole-ring message");
    // A message in fragments that times out once the ring is full (the receiver does not read).
    ok &= expect_code("send in fragments on a stalled ring", "ERR_RINGWIRE_TIMEOUT",
                      [&] { sender.send(huge.data(), kMaxMessageSize, 30); });
    ok &= check(ringwire::detail::load_count(segment->base(), L::OFF_MESSAGES_SENT) == 1 &&
                    receiver.try_recv(got) == ringwire::Status::kEmpty,
                "a message given up partway is not counted, nor received");
    sender.send("next", 4, 1000);
    ok &= check(receiver.try_recv(got) == ringwire::Status::kMessage && got.size() == 4 && std::memcmp(got.data(), "next", 4) == 0,
                "the message after one given up partway");
    sender.send("last", 4, 1000);
    // Given up partway once more, then the end: the receiver ends once it drained the part.
    ok &= expect_code("send in fragments on a stalled ring, again", "ERR_RINGWIRE_TIMEOUT",
                      [&] { sender.send(huge.data(), kMaxMessageSize, 30); });
    sender.end();
    sender.end();  // idempotent
    ok &= expect_code("try_send after end()", "ERR_RINGWIRE_CLOSED", [&] { sender.try_send(nullptr, 0); });
    ok &= expect_code("send after end()", "ERR_RINGWIRE_CLOSED", [&] { sender.send(nullptr, 0, 30); });
    ok &= check(!receiver.ended() && receiver.try_recv(got) == ringwire::Status::kMessage && got.size() == 4,
                "the message sent before the end");
    ok &= check(receiver.try_recv(got) == ringwire::Status::kEnded && !receiver.recv(got, 30) && receiver.ended(),
                "the end of the stream");
    sender.close();
    sender.close();  // idempotent
    ok &= check(sender.is_closed(), "is_closed()");
    ok &= expect_code("try_send after close()", "ERR_RINGWIRE_CLOSED", [&] { sender.try_send(nullptr, 0); });
    ok &= expect_code("end() after close()", "ERR_RINGWIRE_CLOSED", [&] { sender.end(); });
    receiver.close();
    ok &= expect_code("try_recv after close()", "ERR_RINGWIRE_CLOSED", [&] { receiver.try_recv(got); });
    ok &= expect_code("recv after close()", "ERR_RINGWIRE_CLOSED", [&] { receiver.recv(got, 30); });
    ok &= expect_code("ended() after close()", "ERR_RINGWIRE_CLOSED", [&] { (void)receiver.ended(); });
    ok &= expect_code("a sender opening an ended channel", "ERR_RINGWIRE_CLOSED",
                      [&] { ringwire::SpscSender again(segment); });
    // Closed endpoints gave their roles back: a new receiver may open (and sees the end).
    ringwire::SpscReceiver next(segment);
    return check(!next.recv(got, 30), "a new receiver after close() sees the end") && ok;
  }, kMaxMessageSize);
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: stress threads|processes futex|semaphore|named-semaphore <messages>\n"
      "       stress receiver-kill|sender-kill futex|semaphore|named-semaphore [rounds]\n"
      "       stress hostile futex|semaphore|named-semaphore\n";
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool streaming = mode == "threads" || mode == "processes";
  const bool killing = mode == "receiver-kill" || mode == "sender-kill";
  if (argc < 3 || stress::wait_mechanism(argv[2]) == 0 ||
      (streaming && argc != 4) || (killing && argc > 4) || (mode == "hostile" && argc != 3) ||
      (!streaming && !killing && mode != "hostile")) {
    std::fputs(usage, stderr);
    return 2;
  }
  const bool threads = mode == "threads";
  const uint32_t count = argc > 3 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 0;
  const std::string name = stress::channel("stress-" + std::to_string(getpid()));
  ringwire::CreateOptions options;
  options.capacity = kCapacity;
  options.wait_mechanism = stress::wait_mechanism(argv[2]);
  if (mode == "hostile") {
    int code = 1;
    try {
      code = run_hostile(name, options.wait_mechanism);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stress hostile: %s\n", e.what());
    }
    std::printf("stress hostile %s: %s\n", argv[2], code == 0 ? "ok" : "FAILED");
    return code;
  }
  bool ok = false;
  try {
    ringwire::create_segment(name, options);
    if (killing) {
      ok = mode == "receiver-kill" ? run_receiver_kill(name, count ? count : 20) : run_sender_kill(name, count ? count : 20);
      ringwire::unlink_segment(name);
      std::printf("stress %s %s: %s\n", argv[1], argv[2], ok ? "ok" : "FAILED");
      return ok ? 0 : 1;
    }
    if (threads) {
      if (!run_api_checks(name + "-api", options.wait_mechanism)) {
        ringwire::unlink_segment(name);
        return 1;
      }
      auto segment = std::make_shared<ringwire::MappedSegment>(name);
      {
        // One sender per channel, also among endpoints sharing a mapping; a closed
        // endpoint gives its role back while the mapping lives on.
        auto first = std::make_unique<ringwire::SpscSender>(segment);
        try {
          ringwire::SpscSender second(segment);
          std::fprintf(stderr, "stress: a second sender on one mapping was accepted\n");
          return 1;
        } catch (const ringwire::Error& e) {
          if (e.code() != "ERR_RINGWIRE_BUSY") throw;
        }
        first.reset();
        ringwire::MappedSegment other(name);
        if (!other.lock_role(ringwire::layout::ROLE_SENDER)) {
          std::fprintf(stderr, "stress: a closed sender kept its role\n");
          return 1;
        }
      }
      ringwire::unlink_segment(name);  // the mapping (and open semaphores) stay usable
      bool sent = false;
      std::thread producer([&] {
        ringwire::SpscSender sender(segment);
        sent = produce(sender, count);
      });
      {
        ringwire::SpscReceiver receiver(segment);
        ok = consume(receiver, count);
      }
      producer.join();
      ok = ok && sent;
    } else {
      const pid_t child = fork();
      if (child == 0) {
        try {
          ringwire::SpscSender sender{ringwire::MappedSegment(name)};
          _exit(produce(sender, count) ? 0 : 1);
        } catch (const ringwire::Error& e) {
          std::fprintf(stderr, "stress child: %s: %s\n", e.code().c_str(), e.what());
          _exit(1);
        }
      }
      {
        ringwire::SpscReceiver receiver{ringwire::MappedSegment(name)};
        ok = consume(receiver, count);
      }
      int status = 0;
      waitpid(child, &status, 0);
      ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      ringwire::unlink_segment(name);
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress: %s: %s\n", e.code().c_str(), e.what());
    ringwire::unlink_segment(name);
    return 1;
  }
  std::printf("stress %s %s: %u messages %s\n", argv[1], argv[2], count, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
