// Stress test of the C++ MPMC protocol (include/ringwire/mpmc.h) for the sanitizer builds in
// CI. Producers and consumers move many checkable messages through a small ring (4096 bytes,
// so it wraps, skips, fills and parks constantly):
//
//   stress_mpmc threads   futex|semaphore|named-semaphore <messages> [producers consumers]
//       threads sharing one mapping (what ThreadSanitizer can follow), plus API checks
//   stress_mpmc threads-last futex|semaphore|named-semaphore <messages> [producers consumers]
//       the same on a channel that ends with its last sender: each producer ends its part
//   stress_mpmc processes futex|semaphore|named-semaphore <messages> [producers consumers]
//       forked processes, each with its own mapping
//   stress_mpmc kill      futex|semaphore|named-semaphore <messages> [rounds]
//       processes, with producers and consumers SIGKILLed at random moments: the others must
//       never hang and never see a damaged message; only a killed consumer may lose one
//   stress_mpmc repair    futex|semaphore|named-semaphore
//       kills an endpoint at each step of the protocol (test points in mpmc.h) and checks
//       that a waiting peer, and an endpoint opening into the dead one's slot, repair it; and
//       stalls an endpoint for a lap just before its claim or take CAS (see stale_cas); and
//       has a dead sender's claim appear at T while a receiver decides on ERR_RINGWIRE_PEER_DEAD
//   stress_mpmc parked-kill futex|semaphore|named-semaphore
//       receivers SIGKILLed while parked leave their bits in the parked mask: an endpoint
//       taking a dead one's slot clears its bit, a live receiver parking clears the others';
//       then semaphore tokens stay within the live parked endpoints
//   stress_mpmc hostile futex|semaphore|named-semaphore
//       impossible positions, headers, intents and slot numbers poked into live channels:
//       ERR_RINGWIRE_CORRUPT, never an access outside the ring
//
// Every message carries its producer, its sequence number and a checksum; consumers check
// the order of each producer's messages, and all runs check that none is lost or duplicated.
// Empty messages are interleaved too (counted, not identified).
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

// Test points (RINGWIRE_MPMC_TEST_POINT in mpmc.h): die (SIGKILL, no cleanup at all) at the
// n-th pass of a named step; run a hook once at one; count repairs and undone stale CASes.
static const char* g_die_at = nullptr;
static int g_die_after = 0;
static const char* g_hook_at = nullptr;
static void (*g_hook)() = nullptr;
static std::atomic<uint32_t> g_stale{0};  // see MpmcEndpoint::stale
static uint32_t* g_repairs = nullptr;     // [claims, takes, releases] repaired, shared by forks
static void test_point(const char* name) {
  if (std::strcmp(name, "stale") == 0) g_stale++;
  if (g_hook_at != nullptr && std::strcmp(g_hook_at, name) == 0) {
    g_hook_at = nullptr;
    g_hook();
  }
  if (g_repairs != nullptr) {
    if (std::strcmp(name, "repaired-claim") == 0) __atomic_add_fetch(&g_repairs[0], 1, __ATOMIC_SEQ_CST);
    if (std::strcmp(name, "repaired-take") == 0) __atomic_add_fetch(&g_repairs[1], 1, __ATOMIC_SEQ_CST);
    if (std::strcmp(name, "repairing-release") == 0) __atomic_add_fetch(&g_repairs[2], 1, __ATOMIC_SEQ_CST);
  }
  if (g_die_at != nullptr && std::strcmp(g_die_at, name) == 0 && g_die_after-- == 0) kill(getpid(), SIGKILL);
}
#define RINGWIRE_MPMC_TEST_POINT(name) test_point(name)

#include "ringwire/mpmc.h"
#include "stress_args.h"

namespace {

namespace L = ringwire::layout;

constexpr uint32_t kCapacity = 4096;
constexpr int64_t kTimeoutMs = 20'000;
constexpr uint32_t kHead = 12;  // producer, sequence, checksum
constexpr uint32_t kMaxProducers = 256;

uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
uint32_t seed_of(uint32_t p, uint32_t seq) { return mix(p * 0x9E3779B1u ^ mix(seq + 0x51ED27u)); }
// 12..600 bytes, now and then up to 1512 (straddles and full rings).
uint32_t size_of(uint32_t p, uint32_t seq) {
  const uint32_t h = seed_of(p, seq);
  return kHead + (h % 47 == 0 ? (h >> 8) % 1501 : (h >> 8) % 589);
}
bool empty_after(uint32_t seq) { return seq % 53 == 7; }
uint32_t empties_in(uint32_t count) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < count; i++) n += empty_after(i);
  return n;
}
uint32_t checksum(const uint8_t* m, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    if (i >= 8 && i < 12) continue;
    h = (h ^ m[i]) * 16777619u;
  }
  return h;
}
void fill(std::vector<uint8_t>& m, uint32_t p, uint32_t seq) {
  m.resize(size_of(p, seq));
  std::memcpy(&m[0], &p, 4);
  std::memcpy(&m[4], &seq, 4);
  const uint32_t s = seed_of(p, seq);
  for (uint32_t j = kHead; j < m.size(); j++) m[j] = static_cast<uint8_t>(s + j * 13);
  const uint32_t sum = checksum(m.data(), m.size());
  std::memcpy(&m[8], &sum, 4);
}
// False if damaged: too short, wrong size for its id, bad checksum or body.
bool decode(const std::vector<uint8_t>& m, uint32_t producers, uint32_t& p, uint32_t& seq) {
  if (m.size() < kHead) return false;
  uint32_t sum;
  std::memcpy(&p, &m[0], 4);
  std::memcpy(&seq, &m[4], 4);
  std::memcpy(&sum, &m[8], 4);
  if (p >= producers || m.size() != size_of(p, seq) || sum != checksum(m.data(), m.size())) return false;
  const uint32_t s = seed_of(p, seq);
  for (uint32_t j = kHead; j < m.size(); j++) {
    if (m[j] != static_cast<uint8_t>(s + j * 13)) return false;
  }
  return true;
}

// Results, in a MAP_SHARED anonymous mapping so forked children report into it too.
struct Results {
  uint32_t producers, per_producer;
  uint32_t empties;                    // empty messages received
  uint32_t repairs[3];                 // see g_repairs
  uint32_t child_slot;                 // the slot a forked endpoint got
  uint32_t committed[kMaxProducers];   // messages each producer's send() returned for
  uint8_t seen[1];                     // [producer * per_producer + seq]: times received
};
Results* make_results(uint32_t producers, uint32_t per_producer) {
  const size_t size = sizeof(Results) + static_cast<size_t>(producers) * per_producer;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  auto* r = static_cast<Results*>(p);
  r->producers = producers;
  r->per_producer = per_producer;
  return r;
}

void produce(ringwire::MpmcSender& sender, Results* results, uint32_t p, uint32_t count) {
  std::vector<uint8_t> m;
  for (uint32_t seq = 0; seq < count; seq++) {
    fill(m, p, seq);
    sender.send(m.data(), static_cast<uint32_t>(m.size()), kTimeoutMs);
    __atomic_store_n(&results->committed[p], seq + 1, __ATOMIC_SEQ_CST);
    if (empty_after(seq)) sender.send(nullptr, 0, kTimeoutMs);
  }
}

// Receives to the end of the stream; false (with a message) on anything wrong.
bool consume(ringwire::MpmcReceiver& receiver, Results* results, const char* who) {
  std::vector<int64_t> last(results->producers, -1);
  std::vector<uint8_t> m;
  while (receiver.recv(m, kTimeoutMs)) {
    if (m.empty()) {
      __atomic_add_fetch(&results->empties, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    uint32_t p, seq;
    if (!decode(m, results->producers, p, seq) || seq >= results->per_producer) {
      std::fprintf(stderr, "stress_mpmc %s: a damaged message (%zu bytes)\n", who, m.size());
      return false;
    }
    if (static_cast<int64_t>(seq) <= last[p]) {
      std::fprintf(stderr, "stress_mpmc %s: producer %u's message %u after its %lld\n", who, p, seq,
                   static_cast<long long>(last[p]));
      return false;
    }
    last[p] = seq;
    if (__atomic_fetch_add(&results->seen[p * results->per_producer + seq], 1, __ATOMIC_SEQ_CST) != 0) {
      std::fprintf(stderr, "stress_mpmc %s: producer %u's message %u arrived twice\n", who, p, seq);
      return false;
    }
  }
  return true;
}

// Every message of producers [0, producers) with seq < sent[p] arrived once, none after.
// Up to `may_lose` may be missing (killed consumers).
bool verify(const Results* r, const std::vector<uint32_t>& sent, uint32_t may_lose, uint32_t maybe_one_more) {
  uint32_t missing = 0;
  bool ok = true;
  for (uint32_t p = 0; p < sent.size(); p++) {
    for (uint32_t seq = 0; seq < r->per_producer; seq++) {
      const uint8_t n = r->seen[p * r->per_producer + seq];
      if (seq < sent[p]) {
        if (n == 0) missing++;
        if (n > 1) ok = false;
      } else if (n != 0 && !(maybe_one_more && seq == sent[p] && n == 1)) {
        std::fprintf(stderr, "stress_mpmc: producer %u's message %u arrived, never sent\n", p, seq);
        ok = false;
      }
    }
  }
  if (missing > may_lose) {
    std::fprintf(stderr, "stress_mpmc: %u messages lost (at most %u allowed)\n", missing, may_lose);
    ok = false;
  }
  return ok;
}

bool end_stream(const std::string& name) {
  ringwire::MpmcSender closer{ringwire::MappedSegment(name)};
  closer.end();
  return true;
}

// Waits for a child; true if it exited 0.
bool reap(pid_t child, const char* what) {
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  std::fprintf(stderr, "stress_mpmc: %s %d failed (status %d)\n", what, static_cast<int>(child), status);
  return false;
}

template <typename F>
pid_t spawn(F&& body) {
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (child == 0) {
    int code = 1;
    try {
      code = body() ? 0 : 1;
    } catch (const ringwire::Error& e) {
      std::fprintf(stderr, "stress_mpmc child %d: %s: %s\n", static_cast<int>(getpid()), e.code().c_str(), e.what());
    }
    _exit(code);
  }
  return child;
}

template <typename F>
bool expect_error(const char* code, F&& body) {
  try {
    body();
  } catch (const ringwire::Error& e) {
    if (e.code() == code) return true;
    std::fprintf(stderr, "stress_mpmc: expected %s, got %s: %s\n", code, e.code().c_str(), e.what());
    return false;
  }
  std::fprintf(stderr, "stress_mpmc: expected %s, got nothing\n", code);
  return false;
}

// The API around the protocol: modes, slots, sizes, end, timeouts.
bool api_checks(const std::string& name, uint32_t wait) {
  bool ok = true;
  const std::string spsc = name + "-s";
  ringwire::CreateOptions o;
  o.capacity = kCapacity;
  o.wait_mechanism = wait;
  ringwire::create_segment(spsc, o);
  ok &= expect_error("ERR_RINGWIRE_INCOMPATIBLE", [&] { ringwire::MpmcSender s{ringwire::MappedSegment(spsc)}; });
  ok &= expect_error("ERR_RINGWIRE_INCOMPATIBLE", [&] { ringwire::MpmcReceiver r{ringwire::MappedSegment(spsc)}; });
  ringwire::unlink_segment(spsc);

  auto segment = std::make_shared<ringwire::MappedSegment>(name);
  {
    std::vector<std::unique_ptr<ringwire::MpmcSender>> all;
    for (uint32_t i = 0; i < L::MAX_SLOTS; i++) all.push_back(std::make_unique<ringwire::MpmcSender>(segment));
    ok &= expect_error("ERR_RINGWIRE_BUSY", [&] { ringwire::MpmcReceiver r(segment); });
    // Another mapping (another open file description) is refused by the kernel's locks.
    ok &= expect_error("ERR_RINGWIRE_BUSY", [&] { ringwire::MpmcReceiver r{ringwire::MappedSegment(name)}; });
    const uint32_t freed = all[17]->slot();
    all[17].reset();
    ringwire::MpmcReceiver r(segment);
    if (r.slot() != freed) {
      std::fprintf(stderr, "stress_mpmc: a closed slot was not reused\n");
      ok = false;
    }
    ok &= expect_error("ERR_RINGWIRE_TOO_LARGE", [&] {
      std::vector<uint8_t> big(L::max_message_for(kCapacity) + 1);
      all[0]->try_send(big.data(), static_cast<uint32_t>(big.size()));
    });
    // The largest message takes the whole ring; then it is full.
    std::vector<uint8_t> big(L::max_message_for(kCapacity), 7), got;
    if (!all[0]->try_send(big.data(), static_cast<uint32_t>(big.size())) || all[1]->try_send(nullptr, 0)) {
      std::fprintf(stderr, "stress_mpmc: a whole-ring message\n");
      ok = false;
    }
    ok &= expect_error("ERR_RINGWIRE_TIMEOUT", [&] { all[2]->send(nullptr, 0, 30); });
    if (r.try_recv(got) != ringwire::Status::kMessage || got != big || r.try_recv(got) != ringwire::Status::kEmpty) {
      std::fprintf(stderr, "stress_mpmc: a whole-ring message came back wrong\n");
      ok = false;
    }
    ok &= expect_error("ERR_RINGWIRE_TIMEOUT", [&] { r.recv(got, 30); });
    all[3]->close();
    all[3]->close();  // idempotent
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { all[3]->try_send(nullptr, 0); });
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { all[3]->end(); });
  }
  // Slot counters survive their holders of one kind: slot 0 sent the whole-ring message.
  {
    ringwire::MpmcSender s(segment);
    if (s.slot() != 0 || s.messages() != 1) {
      std::fprintf(stderr, "stress_mpmc: slot %u's counter is %g, expected slot 0 and 1\n", s.slot(), s.messages());
      ok = false;
    }
  }
  // A slot taken by the other kind moves its count to the channel's retired total (as the
  // TypeScript does; stats() adds it up). Receivers take the receiver's old slot 17 first,
  // then, with no slot left that was never used, a sender's: slot 0.
  {
    ringwire::MpmcReceiver first(segment);
    ringwire::MpmcReceiver second(segment);
    const double retired = ringwire::detail::load_count(segment->base(), L::OFF_MESSAGES_SENT);
    if (first.slot() != 17 || second.slot() != 0 || second.messages() != 0 || retired != 1) {
      std::fprintf(stderr, "stress_mpmc: receivers in slots %u and %u (count %g), %g messages sent retired; expected 17, 0 (0), 1\n",
                   first.slot(), second.slot(), second.messages(), retired);
      ok = false;
    }
  }
  // Any sender's end() ends the stream for all: sends fail, receivers drain, then see the end.
  {
    ringwire::MpmcSender a(segment), b(segment);
    ringwire::MpmcReceiver r(segment);
    std::vector<uint8_t> got;
    a.send("last", 4, 1000);
    b.end();
    b.end();  // idempotent
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { a.try_send(nullptr, 0); });
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { b.send(nullptr, 0, 30); });
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { ringwire::MpmcSender late(segment); });
    if (r.ended() || r.try_recv(got) != ringwire::Status::kMessage || got.size() != 4 ||
        r.try_recv(got) != ringwire::Status::kEnded || r.recv(got, 30) || !r.ended()) {
      std::fprintf(stderr, "stress_mpmc: the end of the stream\n");
      ok = false;
    }
    r.close();
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { r.try_recv(got); });
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { r.recv(got, 30); });
    ok &= expect_error("ERR_RINGWIRE_CLOSED", [&] { (void)r.ended(); });
  }
  return ok;
}

// threads-last: the channel ends with its last sender (FLAG_END_WITH_LAST_SENDER): every
// producer ends its own part, and the consumers must get every message and then the end.
int run_threads(const std::string& name, uint32_t wait, uint32_t count, uint32_t producers, uint32_t consumers,
                bool last_sender) {
  if (!api_checks(name, wait)) return 1;
  // A fresh channel for the stream (the checks above left the stream positions moved).
  ringwire::unlink_segment(name);
  ringwire::CreateOptions o;
  o.capacity = kCapacity;
  o.mode = L::MODE_MPMC;
  o.wait_mechanism = wait;
  if (last_sender) o.flags = L::FLAG_END_WITH_LAST_SENDER;
  ringwire::create_segment(name, o);
  auto segment = std::make_shared<ringwire::MappedSegment>(name);
  ringwire::unlink_segment(name);  // the mapping (and open semaphores) stay usable
  Results* results = make_results(producers, count);
  std::atomic<bool> ok{true};
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < consumers; c++) {
    threads.emplace_back([&, c] {
      try {
        ringwire::MpmcReceiver receiver(segment);
        if (!consume(receiver, results, "consumer")) ok = false;
      } catch (const ringwire::Error& e) {
        std::fprintf(stderr, "stress_mpmc consumer %u: %s: %s\n", c, e.code().c_str(), e.what());
        ok = false;
      }
    });
  }
  // Ending with the last sender: all of a stream's senders open before any of them ends.
  std::vector<std::unique_ptr<ringwire::MpmcSender>> opened;
  if (last_sender) {
    for (uint32_t p = 0; p < producers; p++) opened.push_back(std::make_unique<ringwire::MpmcSender>(segment));
  }
  std::vector<std::thread> senders;
  for (uint32_t p = 0; p < producers; p++) {
    senders.emplace_back([&, p] {
      try {
        if (last_sender) {
          produce(*opened[p], results, p, count);
          opened[p]->end();  // this sender's part; the last one ends the channel
          opened[p]->close();
        } else {
          ringwire::MpmcSender sender(segment);
          produce(sender, results, p, count);
        }
      } catch (const ringwire::Error& e) {
        std::fprintf(stderr, "stress_mpmc producer %u: %s: %s\n", p, e.code().c_str(), e.what());
        ok = false;
      }
    });
  }
  for (auto& t : senders) t.join();
  if (!last_sender) {
    ringwire::MpmcSender closer(segment);
    closer.end();
  }
  for (auto& t : threads) t.join();
  bool good = ok && verify(results, std::vector<uint32_t>(producers, count), 0, 0);
  if (results->empties != producers * empties_in(count)) {
    std::fprintf(stderr, "stress_mpmc: %u empty messages, expected %u\n", results->empties,
                 producers * empties_in(count));
    good = false;
  }
  if (g_stale != 0) std::printf("stress_mpmc: %u stale CASes undone\n", g_stale.load());
  return good ? 0 : 1;
}

int run_processes(const std::string& name, uint32_t count, uint32_t producers, uint32_t consumers) {
  Results* results = make_results(producers, count);
  std::vector<pid_t> receivers, senders;
  for (uint32_t c = 0; c < consumers; c++) {
    receivers.push_back(spawn([&] {
      ringwire::MpmcReceiver receiver{ringwire::MappedSegment(name)};
      return consume(receiver, results, "consumer");
    }));
  }
  for (uint32_t p = 0; p < producers; p++) {
    senders.push_back(spawn([&, p] {
      ringwire::MpmcSender sender{ringwire::MappedSegment(name)};
      produce(sender, results, p, count);
      return true;
    }));
  }
  bool ok = true;
  for (pid_t s : senders) ok &= reap(s, "producer");
  end_stream(name);
  for (pid_t r : receivers) ok &= reap(r, "consumer");
  ok = ok && verify(results, std::vector<uint32_t>(producers, count), 0, 0);
  if (results->empties != producers * empties_in(count)) {
    std::fprintf(stderr, "stress_mpmc: %u empty messages, expected %u\n", results->empties,
                 producers * empties_in(count));
    ok = false;
  }
  return ok ? 0 : 1;
}

// Producer 0 sends `count` messages and lives; producers 1..rounds are killed at random
// moments, and every third round a consumer too (and replaced). The end comes from a sender
// this process holds open from the start: once producer 0 is done, every other sender would
// be dead, and the consumers' waits would (rightly) fail with ERR_RINGWIRE_PEER_DEAD.
int run_kill(const std::string& name, uint32_t count, uint32_t rounds) {
  const uint32_t producers = rounds + 1;
  Results* results = make_results(producers, count);
  g_repairs = results->repairs;
  std::mt19937 random(static_cast<uint32_t>(getpid()));
  // Forked children inherit its descriptor, and so share its lock; they leave with _exit,
  // never closing it.
  ringwire::MpmcSender closer{ringwire::MappedSegment(name)};
  auto consumer = [&] {
    return spawn([&] {
      ringwire::MpmcReceiver receiver{ringwire::MappedSegment(name)};
      return consume(receiver, results, "consumer");
    });
  };
  std::vector<pid_t> receivers = {consumer(), consumer()};
  const pid_t steady = spawn([&] {
    ringwire::MpmcSender sender{ringwire::MappedSegment(name)};
    produce(sender, results, 0, count);
    return true;
  });
  bool ok = true;
  uint32_t consumer_kills = 0;
  for (uint32_t k = 1; k <= rounds; k++) {
    const pid_t victim = spawn([&, k] {
      ringwire::MpmcSender sender{ringwire::MappedSegment(name)};
      produce(sender, results, k, count);
      return true;
    });
    usleep(random() % 5'000);
    if (k % 3 == 0) {
      const size_t i = random() % receivers.size();
      kill(receivers[i], SIGKILL);
      waitpid(receivers[i], nullptr, 0);
      receivers[i] = consumer();
      consumer_kills++;
    }
    kill(victim, SIGKILL);
    int status = 0;
    waitpid(victim, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      std::fprintf(stderr, "stress_mpmc: producer %u failed before it was killed (status %d)\n", k, status);
      ok = false;
    }
  }
  ok &= reap(steady, "steady producer");
  closer.end();
  for (pid_t r : receivers) ok &= reap(r, "consumer");
  std::vector<uint32_t> sent(producers);
  for (uint32_t p = 0; p < producers; p++) sent[p] = results->committed[p];
  ok = ok && verify(results, sent, consumer_kills, 1);
  uint32_t steady_seen = 0;
  for (uint32_t seq = 0; seq < count; seq++) steady_seen += results->seen[seq];
  std::printf(
      "stress_mpmc kill: %u producers and %u consumers killed; %u claims and %u takes repaired, R helped past %u releases; "
      "the steady producer's %u of %u arrived\n",
      rounds, consumer_kills, results->repairs[0], results->repairs[1], results->repairs[2], steady_seen, count);
  return ok ? 0 : 1;
}

// --- repair: an endpoint killed at each step -------------------------------------------

struct Expect {
  uint32_t p, seq;
};

bool receive_exactly(ringwire::MpmcReceiver& receiver, const std::vector<Expect>& expected, const char* what) {
  std::vector<uint8_t> m;
  for (const Expect& e : expected) {
    do {
      if (!receiver.recv(m, 5'000)) {
        std::fprintf(stderr, "stress_mpmc repair %s: the stream ended early\n", what);
        return false;
      }
    } while (m.empty() && e.p == 0);  // producer 0 sends empty ones now and then
    uint32_t p = ~0u, seq = ~0u;
    if (!decode(m, 4, p, seq) || p != e.p || seq != e.seq) {
      std::fprintf(stderr, "stress_mpmc repair %s: got %u/%u, expected %u/%u\n", what, p, seq, e.p, e.seq);
      return false;
    }
  }
  return true;
}

bool killed(pid_t child, const char* what) {
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return true;
  std::fprintf(stderr, "stress_mpmc repair %s: the child did not die at its test point (status %d)\n", what, status);
  return false;
}

uint32_t position(const ringwire::MappedSegment& s, uint32_t offset) {
  return __atomic_load_n(s.word(offset), __ATOMIC_SEQ_CST);
}

// Values written by hand into a live channel (a dead peer's leftovers, or nonsense).
void poke(const ringwire::MappedSegment& s, uint32_t offset, uint32_t value) {
  __atomic_store_n(s.word(offset), value, __ATOMIC_SEQ_CST);
}
void poke_slot(const ringwire::MappedSegment& s, uint32_t x, uint32_t field, uint32_t value) {
  poke(s, L::OFF_SLOTS + x * L::SLOT_SIZE + field, value);
}
// A record header at `position`.
void poke_header(const ringwire::MappedSegment& s, uint32_t position, uint32_t word0, uint32_t word1) {
  auto* unit = reinterpret_cast<uint64_t*>(s.base() + L::HEADER_SIZE + (position & (kCapacity - 1)));
  __atomic_store_n(unit, static_cast<uint64_t>(word0) | static_cast<uint64_t>(word1) << 32, __ATOMIC_SEQ_CST);
}
void poke_positions(const ringwire::MappedSegment& s, uint32_t r, uint32_t t, uint32_t c) {
  poke(s, L::OFF_RELEASE_POSITION, r);
  poke(s, L::OFF_TAKE_POSITION, t);
  poke(s, L::OFF_CLAIM_POSITION, c);
}

// The state of the record at the position slot x's intent names.
uint32_t state_at_intent(const ringwire::MappedSegment& s, uint32_t x) {
  const uint32_t intent = position(s, L::OFF_SLOTS + x * L::SLOT_SIZE + L::SLOT_INTENT) & ~7u;
  const auto* unit = reinterpret_cast<const uint64_t*>(s.base() + L::HEADER_SIZE + (intent & (kCapacity - 1)));
  return static_cast<uint32_t>(__atomic_load_n(unit, __ATOMIC_SEQ_CST) >> 32) & L::STATE_MASK;
}

void create(const std::string& name, uint32_t wait) {
  ringwire::CreateOptions o;
  o.capacity = kCapacity;
  o.mode = L::MODE_MPMC;
  o.wait_mechanism = wait;
  ringwire::create_segment(name, o);
}

// Opens endpoints of type E until one lands in `slot` (the dead one: openers take slots never
// used or closed cleanly first); the others stay open in `fillers`.
template <typename E>
std::unique_ptr<E> open_into(const std::shared_ptr<ringwire::MappedSegment>& segment, uint32_t slot,
                             std::vector<std::shared_ptr<void>>& fillers) {
  for (;;) {
    auto e = std::make_unique<E>(segment);
    if (e->slot() == slot) return e;
    fillers.push_back(std::shared_ptr<E>(std::move(e)));
  }
}

// A sender dies at `point` (its third claim, or its first skip); the receiver waiting at the
// dead claim repairs it (opener = false), or a sender opening into the dead slot does.
bool sender_dies(const std::string& name, uint32_t wait, const char* point, bool opener) {
  create(name, wait);
  Results* results = make_results(2, 64);
  std::string what = std::string(point) + (opener ? " (opener repairs)" : " (receiver repairs)");
  bool ok = true;
  {
    auto segment = std::make_shared<ringwire::MappedSegment>(name);
    ringwire::MpmcReceiver receiver(segment);
    const bool skip = std::strcmp(point, "skip-claimed") == 0;
    const pid_t child = spawn([&] {
      g_die_at = point;
      g_die_after = skip ? 0 : 2;
      ringwire::MpmcSender sender{ringwire::MappedSegment(name)};
      results->child_slot = sender.slot();
      produce(sender, results, 0, 64);
      return true;
    });
    ok &= killed(child, what.c_str());
    const uint32_t k = results->committed[0];
    std::vector<Expect> first;
    for (uint32_t i = 0; i < k; i++) first.push_back({0, i});
    std::vector<std::shared_ptr<void>> fillers;
    std::unique_ptr<ringwire::MpmcSender> sender;
    if (opener) {
      if (state_at_intent(*segment, results->child_slot) != L::REC_CLAIMED) {
        std::fprintf(stderr, "stress_mpmc repair %s: no dead claim at the dead sender's intent\n", what.c_str());
        ok = false;
      }
      const uint32_t intent = position(*segment, L::OFF_SLOTS + results->child_slot * L::SLOT_SIZE + L::SLOT_INTENT);
      sender = open_into<ringwire::MpmcSender>(segment, results->child_slot, fillers);
      const auto* unit =
          reinterpret_cast<const uint64_t*>(segment->base() + L::HEADER_SIZE + (intent & (kCapacity - 1) & ~7u));
      if ((static_cast<uint32_t>(__atomic_load_n(unit, __ATOMIC_SEQ_CST) >> 32) & L::STATE_MASK) != L::REC_ABANDONED) {
        std::fprintf(stderr, "stress_mpmc repair %s: the opener did not abandon the dead claim\n", what.c_str());
        ok = false;
      }
    }
    fillers.clear();
    ok = ok && receive_exactly(receiver, first, what.c_str());
    std::vector<uint8_t> m;
    if (opener && receiver.try_recv(m) != ringwire::Status::kEmpty) {  // takes the abandoned record, silently
      std::fprintf(stderr, "stress_mpmc repair %s: a message from the dead claim\n", what.c_str());
      ok = false;
    }
    if (!opener) {
      // Parked at the dead claim: the check before parking repairs it; then, with no sender
      // alive and the one there was dead, nothing can come (as the TypeScript says).
      ok &= expect_error("ERR_RINGWIRE_PEER_DEAD", [&] { receiver.recv(m, 5'000); });
      sender = std::make_unique<ringwire::MpmcSender>(segment);
    }
    if (position(*segment, L::OFF_TAKE_POSITION) != position(*segment, L::OFF_CLAIM_POSITION)) {
      std::fprintf(stderr, "stress_mpmc repair %s: the dead claim was not passed\n", what.c_str());
      ok = false;
    }
    // The channel goes on: more than a lap of new messages, then the end.
    for (uint32_t i = 0; i < 40 && ok; i++) {
      fill(m, 1, i);
      sender->send(m.data(), static_cast<uint32_t>(m.size()), 5'000);
      ok &= receive_exactly(receiver, {{1, i}}, what.c_str());
    }
    sender->end();
    if (ok && receiver.recv(m, 5'000)) {
      std::fprintf(stderr, "stress_mpmc repair %s: no end of stream\n", what.c_str());
      ok = false;
    }
  }
  ringwire::unlink_segment(name);
  return ok;
}

// For "take-lost": the doomed receiver, just before its CAS of T, lets a receiver of the
// parent take the record first (so its CAS fails and it dies holding a stale intent).
int g_to_parent[2], g_to_child[2];
void let_the_parent_take() {
  char c = 0;
  if (write(g_to_parent[1], &c, 1) != 1 || read(g_to_child[0], &c, 1) != 1) _exit(3);
}

// A receiver dies at `point` while taking the first of six messages (lost, except for
// "take-lost", where another receiver took it); the sender waiting for space repairs it
// (opener = false), or a receiver opening into the dead slot does.
bool receiver_dies(const std::string& name, uint32_t wait, const char* point, bool opener) {
  create(name, wait);
  Results* results = make_results(1, 1);
  std::string what = std::string(point) + (opener ? " (opener repairs)" : " (sender repairs)");
  const bool lost = std::strcmp(point, "take-lost") == 0;
  bool ok = true;
  {
    auto segment = std::make_shared<ringwire::MappedSegment>(name);
    ringwire::MpmcSender sender(segment);
    std::vector<uint8_t> m;
    // Six messages of 600 bytes: 3648 of the 4096 bytes.
    auto send = [&](uint32_t p, uint32_t i) {
      m.assign(600, 0);
      std::memcpy(&m[0], &p, 4);
      std::memcpy(&m[4], &i, 4);
      sender.send(m.data(), 600, 5'000);
    };
    std::unique_ptr<ringwire::MpmcReceiver> receiver;
    auto receive = [&](uint32_t p, uint32_t i) {
      uint32_t got_p = ~0u, got_i = ~0u;
      if (receiver->recv(m, 5'000) && m.size() == 600) {
        std::memcpy(&got_p, &m[0], 4);
        std::memcpy(&got_i, &m[4], 4);
      }
      if (got_p == p && got_i == i) return true;
      std::fprintf(stderr, "stress_mpmc repair %s: got %u/%u, expected %u/%u\n", what.c_str(), got_p, got_i, p, i);
      return false;
    };
    for (uint32_t i = 0; i < 6; i++) send(0, i);
    // Opens before the child unless an opener is to land in the child's slot later.
    if (!opener || lost) receiver = std::make_unique<ringwire::MpmcReceiver>(segment);
    if (lost && (pipe(g_to_parent) != 0 || pipe(g_to_child) != 0)) return false;
    const pid_t child = spawn([&] {
      g_die_at = point;
      g_die_after = 0;
      if (lost) {
        g_hook_at = "take-cas";
        g_hook = let_the_parent_take;
      }
      ringwire::MpmcReceiver doomed{ringwire::MappedSegment(name)};
      results->child_slot = doomed.slot();
      doomed.recv(m, 5'000);
      return true;
    });
    uint32_t next = 1;
    if (lost) {
      char c = 0;
      ok &= read(g_to_parent[0], &c, 1) == 1;
      ok &= receive(0, 0);
      next = 1;
      ok &= write(g_to_child[1], &c, 1) == 1;
      for (int fd : {g_to_parent[0], g_to_parent[1], g_to_child[0], g_to_child[1]}) ::close(fd);
    }
    ok &= killed(child, what.c_str());
    std::vector<std::shared_ptr<void>> fillers;
    if (opener) {
      std::unique_ptr<ringwire::MpmcReceiver> first = std::move(receiver);
      const uint32_t intent = position(*segment, L::OFF_SLOTS + results->child_slot * L::SLOT_SIZE + L::SLOT_INTENT);
      const uint32_t before = state_at_intent(*segment, results->child_slot);
      receiver = open_into<ringwire::MpmcReceiver>(segment, results->child_slot, fillers);
      fillers.clear();
      const auto* unit =
          reinterpret_cast<const uint64_t*>(segment->base() + L::HEADER_SIZE + (intent & (kCapacity - 1) & ~7u));
      const uint32_t after = static_cast<uint32_t>(__atomic_load_n(unit, __ATOMIC_SEQ_CST) >> 32) & L::STATE_MASK;
      if ((intent & L::INTENT_VALID) == 0 || after != L::REC_RELEASED ||
          (before == L::REC_RELEASED) != (lost || std::strcmp(point, "released") == 0 ||
                                          std::strcmp(point, "advancing") == 0)) {
        std::fprintf(stderr, "stress_mpmc repair %s: the dead take was %u, and %u after the opener\n", what.c_str(),
                     before, after);
        ok = false;
      }
    }
    for (uint32_t i = next; i < 6 && ok; i++) ok &= receive(0, i);
    if (opener && ok && position(*segment, L::OFF_RELEASE_POSITION) != position(*segment, L::OFF_TAKE_POSITION)) {
      std::fprintf(stderr, "stress_mpmc repair %s: the opener left the dead take\n", what.c_str());
      ok = false;
    }
    // More than a lap: the sender finds R held by the dead take (unless an opener repaired it).
    for (uint32_t i = 0; i < 20 && ok; i++) {
      send(1, i);
      ok &= receive(1, i);
    }
    if (ok && position(*segment, L::OFF_RELEASE_POSITION) != position(*segment, L::OFF_TAKE_POSITION)) {
      std::fprintf(stderr, "stress_mpmc repair %s: R did not catch up with T\n", what.c_str());
      ok = false;
    }
  }
  ringwire::unlink_segment(name);
  return ok;
}

// A sender that stalls between checking the claim position and its claim CAS for a whole
// lap: the unit it read a FREE header from (eight zero bytes, FREE of lap 0) is now payload
// of a later record which happens to hold eight zero bytes there. Its CAS succeeds on
// payload; it must notice (R has passed its position) and put the bytes back.
struct StaleCase {
  std::shared_ptr<ringwire::MappedSegment> segment;
  std::unique_ptr<ringwire::MpmcSender> s;
  std::unique_ptr<ringwire::MpmcReceiver> b;
};
StaleCase* g_stale_case = nullptr;

std::vector<uint8_t> forged() {
  std::vector<uint8_t> m(64, 0xAB);
  std::memset(&m[16], 0, 8);  // payload byte 16 of a record at a lap start: ring offset 24
  return m;
}

// Meanwhile (inside the late sender's test point): the ring moves on a lap, to a record at
// the next lap's start whose payload covers offset 24 with the forged bytes.
void move_a_lap() {
  StaleCase& k = *g_stale_case;
  std::vector<uint8_t> m, x(16, 1);
  k.s->send(x.data(), 16, 1000);  // at 24, where the late sender wanted to claim
  while (k.b->try_recv(m) == ringwire::Status::kMessage) {
  }
  std::vector<uint8_t> filler(kCapacity - 48 - 8, 2);  // 48 .. the lap's end
  k.s->send(filler.data(), static_cast<uint32_t>(filler.size()), 1000);
  while (k.b->try_recv(m) == ringwire::Status::kMessage) {
  }
  const std::vector<uint8_t> p = forged();
  k.s->send(p.data(), static_cast<uint32_t>(p.size()), 1000);
}

bool stale_claim(const std::string& name, uint32_t wait) {
  create(name, wait);
  const char* what = "stale claim";
  bool ok = true;
  {
    StaleCase k;
    k.segment = std::make_shared<ringwire::MappedSegment>(name);
    k.s = std::make_unique<ringwire::MpmcSender>(k.segment);
    k.b = std::make_unique<ringwire::MpmcReceiver>(k.segment);
    ringwire::MpmcSender late(k.segment);
    g_stale_case = &k;
    std::vector<uint8_t> m(16, 3), got;
    k.s->send(m.data(), 16, 1000);  // at 0 (24 bytes)
    k.b->try_recv(got);             // R = T = 24
    const uint32_t before = g_stale.load();
    g_hook = move_a_lap;
    g_hook_at = "claim-cas";
    std::vector<uint8_t> mine(16, 4);
    late.send(mine.data(), 16, 1000);
    if (g_stale.load() != before + 1) {
      std::fprintf(stderr, "stress_mpmc repair %s: the late CAS was not caught\n", what);
      ok = false;
    }
    // The forged message is intact, and the late sender's message follows it.
    using ringwire::Status;
    if (k.b->try_recv(got) != Status::kMessage || got != forged() || k.b->try_recv(got) != Status::kMessage ||
        got != mine) {
      std::fprintf(stderr, "stress_mpmc repair %s: the messages after it are wrong\n", what);
      ok = false;
    }
    g_hook_at = nullptr;
    g_stale_case = nullptr;
  }
  ringwire::unlink_segment(name);
  return ok;
}

// A receiver finds nothing at T; before it looks at its peers, a sender claims T and dies
// holding the claim, after another sender committed a message behind it and closed (the
// trail of models/mpmc.pml's FINDINGS 1). With no sender alive and one dead, the receiver
// must still deliver that message (repairing the dead claim into a skip record) before it
// reports ERR_RINGWIRE_PEER_DEAD. The claim is written by hand into the slot of a sender
// that was SIGKILLed after opening: what its claim CAS would have left.
struct ClaimCase {
  std::shared_ptr<ringwire::MappedSegment> segment;
  std::unique_ptr<ringwire::MpmcSender> live;
  uint32_t dead = 0;
  std::vector<uint8_t> message;
};
ClaimCase* g_claim_case = nullptr;

// Inside the receiver's recv(), between its last take() and its look at the peers.
void claim_at_take_then_die() {
  ClaimCase& k = *g_claim_case;
  const ringwire::MappedSegment& s = *k.segment;
  const uint32_t t = position(s, L::OFF_TAKE_POSITION);
  constexpr uint32_t size = L::RECORD_HEADER_SIZE + 8;
  // The dead sender's claim at T: its size and intent, the header CLAIMED, then C past it.
  poke_slot(s, k.dead, L::SLOT_SIZE_OR_END, size);
  poke_slot(s, k.dead, L::SLOT_INTENT, t | L::INTENT_VALID);
  poke_header(s, t, 0, (t & ~(kCapacity - 1)) | k.dead << L::SLOT_SHIFT | L::REC_CLAIMED);
  uint32_t c = t;
  __atomic_compare_exchange_n(s.word(L::OFF_CLAIM_POSITION), &c, t + size, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  // The other sender commits a message behind it and closes (without end()).
  k.live->send(k.message.data(), static_cast<uint32_t>(k.message.size()), 1000);
  k.live.reset();
}

bool claim_between_looks(const std::string& name, uint32_t wait) {
  create(name, wait);
  const char* what = "dead claim between the receiver's looks";
  Results* results = make_results(1, 1);
  bool ok = true;
  {
    ClaimCase k;
    k.segment = std::make_shared<ringwire::MappedSegment>(name);
    ringwire::MpmcReceiver receiver(k.segment);
    k.live = std::make_unique<ringwire::MpmcSender>(k.segment);
    const pid_t child = spawn([&] {
      ringwire::MpmcSender doomed{ringwire::MappedSegment(name)};
      results->child_slot = doomed.slot();
      kill(getpid(), SIGKILL);
      return true;
    });
    ok &= killed(child, what);
    k.dead = results->child_slot;
    fill(k.message, 1, 0);
    // A message first, so that T is not at the start of the ring.
    std::vector<uint8_t> m;
    k.live->send(k.message.data(), static_cast<uint32_t>(k.message.size()), 1000);
    ok = ok && receive_exactly(receiver, {{1, 0}}, what);
    fill(k.message, 1, 1);
    g_claim_case = &k;
    g_hook = claim_at_take_then_die;
    g_hook_at = "receiver-peers";
    try {
      ok = ok && receive_exactly(receiver, {{1, 1}}, what);
    } catch (const ringwire::Error& e) {
      std::fprintf(stderr, "stress_mpmc repair %s: %s: %s\n", what, e.code().c_str(), e.what());
      ok = false;
    }
    if (g_hook_at != nullptr) {
      std::fprintf(stderr, "stress_mpmc repair %s: the receiver never looked at its peers\n", what);
      ok = false;
    }
    g_hook_at = nullptr;
    g_claim_case = nullptr;
    // Then nothing is left, no sender is alive and one is dead.
    ok &= expect_error("ERR_RINGWIRE_PEER_DEAD", [&] { receiver.recv(m, 5'000); });
  }
  ringwire::unlink_segment(name);
  return ok;
}

int run_repair(const std::string& name, uint32_t wait) {
  bool ok = stale_claim(name, wait);
  ok &= claim_between_looks(name, wait);
  for (const char* point : {"claimed", "claim-advanced", "committing", "skip-claimed"}) {
    for (bool opener : {false, true}) ok &= sender_dies(name, wait, point, opener);
  }
  for (const char* point : {"take-lost", "taken", "rewriting", "released", "advancing"}) {
    for (bool opener : {false, true}) ok &= receiver_dies(name, wait, point, opener);
  }
  return ok ? 0 : 1;
}

// --- parked-kill: bits left by endpoints that died parked -------------------------------

// Whether slot x's bit is set in the receivers' parked mask; how many are.
bool receiver_parked(const ringwire::MappedSegment& s, uint32_t x) {
  return (position(s, x < 32 ? L::OFF_RECEIVER_WAITERS : L::OFF_RECEIVER_WAITERS_HIGH) >> (x & 31) & 1) != 0;
}
uint32_t receivers_parked(const ringwire::MappedSegment& s) {
  return static_cast<uint32_t>(__builtin_popcount(position(s, L::OFF_RECEIVER_WAITERS)) +
                               __builtin_popcount(position(s, L::OFF_RECEIVER_WAITERS_HIGH)));
}

// Polls `done` for up to `ms`.
bool wait_for(const std::function<bool()>& done, int64_t ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    usleep(1000);
  }
  return true;
}

struct Parked {
  uint32_t slots[8];  // the slot each receiver process got (~0u: not yet)
  uint32_t received;  // messages the live receiver took
};

// Receivers park on an empty channel in slots 30..34 (both mask words) and are killed there.
// No one clears their bits until an endpoint takes the lowest one's slot (its bit goes at
// once) and a live receiver parks (the other four go within a few park slices). Then a burst
// of messages goes through; and one more while the live receiver sleeps (stopped), after
// which a semaphore holds no more tokens than there are live parked endpoints (with the dead
// bits left, the wake would post one per dead receiver too, each a spurious wake-up later).
bool run_parked_kill(const std::string& name, uint32_t wait) {
  constexpr uint32_t kDoomed = 5, kBurst = 400, kLate = 10;
  create(name, wait);
  auto* shared = static_cast<Parked*>(mmap(nullptr, sizeof(Parked), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) return false;
  for (uint32_t& slot : shared->slots) slot = ~0u;
  auto slot_of = [&](uint32_t k) { return __atomic_load_n(&shared->slots[k], __ATOMIC_SEQ_CST); };
  bool ok = true;
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "stress_mpmc parked-kill: %s\n", what);
    ok = false;
  };
  {
    auto segment = std::make_shared<ringwire::MappedSegment>(name);
    std::vector<std::unique_ptr<ringwire::MpmcSender>> fillers;
    for (uint32_t i = 0; i < 30; i++) fillers.push_back(std::make_unique<ringwire::MpmcSender>(segment));
    std::vector<pid_t> doomed;
    for (uint32_t k = 0; k < kDoomed; k++) {
      doomed.push_back(spawn([&, k] {
        ringwire::MpmcReceiver receiver{ringwire::MappedSegment(name)};
        __atomic_store_n(&shared->slots[k], receiver.slot(), __ATOMIC_SEQ_CST);
        std::vector<uint8_t> m;
        receiver.recv(m, 60'000);  // parks: nothing comes
        return false;
      }));
    }
    auto all_parked = [&] {
      for (uint32_t k = 0; k < kDoomed; k++) {
        if (slot_of(k) == ~0u || !receiver_parked(*segment, slot_of(k))) return false;
      }
      return true;
    };
    // Stopped while every bit is set (a receiver between two park slices has it clear).
    for (int attempt = 0; ok; attempt++) {
      if (attempt == 20 || !wait_for(all_parked, 10'000)) fail("the parked receivers' bits were never all set");
      for (pid_t pid : doomed) {
        kill(pid, SIGSTOP);
        waitpid(pid, nullptr, WUNTRACED);
      }
      if (all_parked()) break;
      for (pid_t pid : doomed) kill(pid, SIGCONT);
    }
    for (pid_t pid : doomed) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    fillers.clear();
    uint32_t lowest = ~0u;
    for (uint32_t k = 0; k < kDoomed; k++) lowest = std::min(lowest, slot_of(k));
    if (ok && (lowest != 30 || !all_parked())) fail("the dead receivers' bits are not as they were left");
    // An opener taking a dead parked slot (openers take the lowest such when no other is free).
    if (ok) {
      std::vector<std::shared_ptr<void>> others;
      auto taker = open_into<ringwire::MpmcSender>(segment, lowest, others);
      if (receiver_parked(*segment, lowest)) {
        fail("an endpoint taking a dead parked slot left its bit");
      } else if (receivers_parked(*segment) != kDoomed - 1) {
        fail("an endpoint taking one slot cleared others' bits");
      }
    }
    // A live receiver clears the rest when it parks: before parking, and after each slice.
    const pid_t live = spawn([&] {
      ringwire::MpmcReceiver receiver{ringwire::MappedSegment(name)};
      __atomic_store_n(&shared->slots[kDoomed], receiver.slot(), __ATOMIC_SEQ_CST);
      std::vector<uint8_t> m;
      while (receiver.recv(m, kTimeoutMs)) {
        uint32_t p, seq;
        if (!decode(m, 1, p, seq)) return false;
        __atomic_add_fetch(&shared->received, 1, __ATOMIC_SEQ_CST);
      }
      return true;
    });
    auto live_parked = [&] { return slot_of(kDoomed) != ~0u && receiver_parked(*segment, slot_of(kDoomed)); };
    if (ok && !wait_for([&] { return live_parked() && receivers_parked(*segment) == 1; }, 10'000)) {
      fail("a parked receiver left the dead receivers' bits set");
    }
    // Messages still flow, and wakes count only the live.
    {
      ringwire::MpmcSender sender(segment);
      std::vector<uint8_t> m;
      for (uint32_t seq = 0; seq < kBurst && ok; seq++) {
        fill(m, 0, seq);
        sender.send(m.data(), static_cast<uint32_t>(m.size()), 5'000);
      }
      auto received = [&] { return __atomic_load_n(&shared->received, __ATOMIC_SEQ_CST); };
      if (ok && !wait_for([&] { return received() == kBurst && live_parked(); }, 10'000)) fail("the burst did not arrive");
      // Asleep by now (nothing has come for 50 ms): stopped there, it takes no token while
      // the next messages wake it.
      usleep(50'000);
      kill(live, SIGSTOP);
      waitpid(live, nullptr, WUNTRACED);
      for (uint32_t seq = kBurst; seq < kBurst + kLate && ok; seq++) {
        fill(m, 0, seq);
        sender.send(m.data(), static_cast<uint32_t>(m.size()), 5'000);
      }
      if (ok && wait != L::WAIT_FUTEX) {
        int data = -1, space = -1;
        sem_getvalue(segment->semaphore_for(L::OFF_DATA_SIGNAL), &data);
        sem_getvalue(segment->semaphore_for(L::OFF_SPACE_SIGNAL), &space);
        // One live receiver parked; the one sender may have left a token it did not need.
        if (data > 1 || space > 1) {
          std::fprintf(stderr, "stress_mpmc parked-kill: semaphore values %d (data) and %d (space), %u parked\n", data,
                       space, receivers_parked(*segment));
          ok = false;
        }
      }
      kill(live, SIGCONT);
      if (ok && !wait_for([&] { return received() == kBurst + kLate; }, 10'000)) fail("the late messages did not arrive");
      sender.end();
    }
    ok &= reap(live, "live receiver");
    if (ok && __atomic_load_n(&shared->received, __ATOMIC_SEQ_CST) != kBurst + kLate) fail("messages after the end");
  }
  munmap(shared, sizeof(Parked));
  ringwire::unlink_segment(name);
  return ok;
}

// --- hostile: impossible values in the shared header and ring --------------------------

struct Hostile {
  const char* what;
  std::function<void(const std::shared_ptr<ringwire::MappedSegment>&)> run;  // must throw CORRUPT
};

int run_hostile(const std::string& name, uint32_t wait) {
  using Segment = std::shared_ptr<ringwire::MappedSegment>;
  using ringwire::MpmcReceiver;
  using ringwire::MpmcSender;
  const uint32_t last4 = 2 * kCapacity - 4;  // a position whose ring offset is in the last 4 bytes
  const uint32_t claimed_by_63 = 63u << L::SLOT_SHIFT | L::REC_CLAIMED;
  auto try_send = [](const Segment& s) {
    MpmcSender sender(s);
    sender.try_send("x", 1);
  };
  auto try_recv = [](const Segment& s) {
    MpmcReceiver receiver(s);
    std::vector<uint8_t> m;
    receiver.try_recv(m);
  };
  // Every slot's holder dead, slot 0 of `kind` with this intent and size (or end): a receiver
  // opening takes over slot 0 and repairs what it left.
  auto open_into_slot0 = [](const Segment& s, uint32_t kind, uint32_t intent, uint32_t size_or_end) {
    for (uint32_t x = 0; x < L::MAX_SLOTS; x++) poke_slot(*s, x, L::SLOT_PID, 1);
    poke_slot(*s, 0, L::SLOT_KIND, kind);
    poke_slot(*s, 0, L::SLOT_SIZE_OR_END, size_or_end);
    poke_slot(*s, 0, L::SLOT_INTENT, intent | L::INTENT_VALID);
    MpmcReceiver receiver(s);
  };
  const std::vector<Hostile> cases = {
      {"claim position in the ring's last 4 bytes", [&](const Segment& s) { poke_positions(*s, 0, 0, last4); try_send(s); }},
      {"take position in the ring's last 4 bytes", [&](const Segment& s) { poke_positions(*s, 0, last4, 0); try_recv(s); }},
      {"release position in the ring's last 4 bytes (sender)",
       [&](const Segment& s) { poke_positions(*s, last4, 0, 0); try_send(s); }},
      {"release position in the ring's last 4 bytes (receiver)",
       [&](const Segment& s) { poke_positions(*s, last4, 0, 0); try_recv(s); }},
      {"claim position beyond R + capacity",
       [&](const Segment& s) { poke_positions(*s, 0, 0, kCapacity + 8); try_send(s); }},
      {"take position beyond R + capacity",
       [&](const Segment& s) { poke_positions(*s, 0, kCapacity + 8, kCapacity + 8); try_recv(s); }},
      {"a committed length beyond max_message", [&](const Segment& s) {
         poke_header(*s, 0, L::max_message_for(kCapacity) + 1, L::REC_COMMITTED);
         poke_positions(*s, 0, 0, kCapacity);
         try_recv(s);
       }},
      {"a committed record straddling the ring's end", [&](const Segment& s) {
         poke_positions(*s, kCapacity - 16, kCapacity - 16, kCapacity - 16);
         poke_header(*s, kCapacity - 16, 100, L::REC_COMMITTED);
         try_recv(s);
       }},
      {"a skip record of a misaligned size", [&](const Segment& s) {
         poke_header(*s, 0, L::SKIP | 12, L::REC_COMMITTED);
         poke_positions(*s, 0, 0, 16);
         try_recv(s);
       }},
      {"a claim at T naming slot 63", [&](const Segment& s) {
         poke_header(*s, 0, 0, claimed_by_63);
         poke_positions(*s, 0, 0, 24);
         try_recv(s);
       }},
      {"a claim at C naming slot 63", [&](const Segment& s) {
         poke_header(*s, 0, 0, claimed_by_63);
         try_send(s);
       }},
      {"a claim at C whose owner's intent is misaligned", [&](const Segment& s) {
         poke_header(*s, 0, 0, 5u << L::SLOT_SHIFT | L::REC_CLAIMED);
         poke_slot(*s, 5, L::SLOT_SIZE_OR_END, 24);
         poke_slot(*s, 5, L::SLOT_INTENT, 0 | L::INTENT_VALID | 4);
         try_send(s);
       }},
      {"a dead claim at T whose owner's size overruns the ring", [&](const Segment& s) {
         poke_header(*s, 0, 0, 7u << L::SLOT_SHIFT | L::REC_CLAIMED);
         poke_slot(*s, 7, L::SLOT_PID, 1);
         poke_slot(*s, 7, L::SLOT_KIND, L::KIND_SENDER);
         poke_slot(*s, 7, L::SLOT_SIZE_OR_END, 2 * kCapacity);
         poke_slot(*s, 7, L::SLOT_INTENT, 0 | L::INTENT_VALID);
         try_recv(s);
       }},
      {"opening into a dead receiver's slot with a misaligned intent", [&](const Segment& s) {
         for (uint32_t x = 0; x < L::MAX_SLOTS; x++) poke_slot(*s, x, L::SLOT_PID, 1);  // all dead: slot 0 is taken
         poke_slot(*s, 0, L::SLOT_KIND, L::KIND_RECEIVER);
         poke_slot(*s, 0, L::SLOT_SIZE_OR_END, 16);
         poke_slot(*s, 0, L::SLOT_INTENT, 8 | L::INTENT_VALID | 2);
         MpmcReceiver receiver(s);
       }},
      {"opening into a dead receiver's slot with a run longer than the ring", [&](const Segment& s) {
         for (uint32_t x = 0; x < L::MAX_SLOTS; x++) poke_slot(*s, x, L::SLOT_PID, 1);
         poke_slot(*s, 0, L::SLOT_KIND, L::KIND_RECEIVER);
         poke_slot(*s, 0, L::SLOT_SIZE_OR_END, 2 * kCapacity);
         poke_slot(*s, 0, L::SLOT_INTENT, 0 | L::INTENT_VALID);
         MpmcReceiver receiver(s);
       }},
      {"a full sender finding a taken record covered by a misaligned intent", [&](const Segment& s) {
         MpmcSender sender(s);  // slot 0
         poke_header(*s, 0, L::max_message_for(kCapacity), L::REC_COMMITTED);
         poke_positions(*s, 0, kCapacity, kCapacity);
         poke_slot(*s, 3, L::SLOT_KIND, L::KIND_RECEIVER);
         poke_slot(*s, 3, L::SLOT_SIZE_OR_END, kCapacity);
         poke_slot(*s, 3, L::SLOT_INTENT, 0 | L::INTENT_VALID | 2);
         sender.try_send("x", 1);
       }},
      // Positions a lap apart (C more than a ring past R) with T at a unit that reads as a dead
      // sender's claim: opening into its slot must not abandon it (the abandoned size would
      // run into the next lap's records, as the property test's seed 2025671398 showed).
      {"opening into a dead sender's claim at T with C more than a ring past R", [&](const Segment& s) {
         poke_header(*s, 256, 0, 0u << L::SLOT_SHIFT | L::REC_CLAIMED);
         poke_positions(*s, 256, 256, 2 * kCapacity);
         open_into_slot0(s, L::KIND_SENDER, 256, kCapacity - 256);
       }},
      // A dead receiver's run [intent, T): its repair rewrites each record's body, so the run
      // must start at a record (on the walk from R) and each record must end by T.
      {"opening into a dead receiver's slot whose run starts inside a record", [&](const Segment& s) {
         poke_header(*s, 0, 504, 1u << L::SLOT_SHIFT | L::REC_COMMITTED);
         poke_header(*s, 256, 248, L::REC_COMMITTED);  // payload that reads as a record to T
         poke_header(*s, 512, 504, 1u << L::SLOT_SHIFT | L::REC_COMMITTED);
         poke_positions(*s, 0, 512, 1024);
         open_into_slot0(s, L::KIND_RECEIVER, 256, 512);
       }},
      {"opening into a dead receiver's slot whose run holds a record running past T", [&](const Segment& s) {
         poke_header(*s, 0, 600, 1u << L::SLOT_SHIFT | L::REC_COMMITTED);  // would end at 616
         poke_header(*s, 512, 504, 1u << L::SLOT_SHIFT | L::REC_COMMITTED);
         poke_positions(*s, 0, 512, 1024);
         open_into_slot0(s, L::KIND_RECEIVER, 0, 512);
       }},
      {"a full sender finding a released record of a misaligned size", [&](const Segment& s) {
         poke_header(*s, 0, L::SKIP | 12, L::REC_RELEASED);
         poke_positions(*s, 0, kCapacity, kCapacity);
         try_send(s);
       }},
  };
  bool ok = true;
  for (const Hostile& c : cases) {
    create(name, wait);
    try {
      auto segment = std::make_shared<ringwire::MappedSegment>(name);
      ok &= expect_error("ERR_RINGWIRE_CORRUPT", [&] { c.run(segment); }) ||
            (std::fprintf(stderr, "stress_mpmc hostile: %s: FAILED\n", c.what), false);
    } catch (const ringwire::Error& e) {
      std::fprintf(stderr, "stress_mpmc hostile: %s: %s: %s\n", c.what, e.code().c_str(), e.what());
      ok = false;
    }
    ringwire::unlink_segment(name);
  }
  // A dead sender's intent inside a committed record whose payload there reads as its claim:
  // opening into its slot leaves the record as it is (a claim is only ever at a record boundary
  // on the walk from T), and the record is handed out whole.
  create(name, wait);
  {
    auto segment = std::make_shared<ringwire::MappedSegment>(name);
    const uint32_t length = kCapacity - L::RECORD_HEADER_SIZE;
    uint8_t* ring = segment->base() + L::HEADER_SIZE;
    std::memset(ring + L::RECORD_HEADER_SIZE, 0xa5, length);
    poke_header(*segment, 256, 0x5a5a5a5a, 0u << L::SLOT_SHIFT | L::REC_CLAIMED);
    poke_header(*segment, 0, length, 1u << L::SLOT_SHIFT | L::REC_COMMITTED);
    const std::vector<uint8_t> expected(ring + L::RECORD_HEADER_SIZE, ring + L::RECORD_HEADER_SIZE + length);
    poke_positions(*segment, 0, 0, kCapacity);
    for (uint32_t x = 0; x < L::MAX_SLOTS; x++) {
      poke_slot(*segment, x, L::SLOT_PID, 1);  // all dead: slot 0 is taken
      poke_slot(*segment, x, L::SLOT_KIND, L::KIND_RECEIVER);
    }
    poke_slot(*segment, 0, L::SLOT_KIND, L::KIND_SENDER);
    poke_slot(*segment, 0, L::SLOT_SIZE_OR_END, 16);
    poke_slot(*segment, 0, L::SLOT_INTENT, 256 | L::INTENT_VALID);
    MpmcReceiver receiver(segment);
    std::vector<uint8_t> m;
    if (receiver.slot() != 0 || receiver.try_recv(m) != ringwire::Status::kMessage || m != expected) {
      std::fprintf(stderr, "stress_mpmc hostile: a dead sender's intent inside a committed record changed the record\n");
      ok = false;
    }
  }
  ringwire::unlink_segment(name);
  // Parked bits for slots that do not exist (48..63) are a scribble: the next park clears them.
  create(name, wait);
  {
    auto segment = std::make_shared<ringwire::MappedSegment>(name);
    poke(*segment, L::OFF_RECEIVER_WAITERS_HIGH, 1u << 31 | 1u << 16);
    MpmcReceiver receiver(segment);
    std::vector<uint8_t> m;
    try {
      receiver.recv(m, 200);  // parks: scans the masks first
    } catch (const ringwire::Error& e) {
      if (e.code() != "ERR_RINGWIRE_TIMEOUT") throw;
    }
    if (__atomic_load_n(segment->word(L::OFF_RECEIVER_WAITERS_HIGH), __ATOMIC_SEQ_CST) != 0) {
      std::fprintf(stderr, "stress_mpmc hostile: parked bits for slots 48 and 63 were not cleared\n");
      ok = false;
    }
  }
  ringwire::unlink_segment(name);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: stress_mpmc threads|threads-last|processes futex|semaphore|named-semaphore <messages> [producers consumers]\n"
      "       stress_mpmc kill futex|semaphore|named-semaphore <messages> [rounds]\n"
      "       stress_mpmc repair|parked-kill|hostile futex|semaphore|named-semaphore\n";
  if (argc < 3 || stress::wait_mechanism(argv[2]) == 0) {
    std::fputs(usage, stderr);
    return 2;
  }
  const std::string mode = argv[1];
  const uint32_t wait = stress::wait_mechanism(argv[2]);
  const uint32_t count = argc > 3 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 0;
  const uint32_t producers = argc > 4 ? static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)) : 3;
  const uint32_t consumers = argc > 5 ? static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 10)) : 3;
  const bool streaming = mode == "threads" || mode == "threads-last" || mode == "processes";
  const bool own_channels = mode == "repair" || mode == "parked-kill" || mode == "hostile";
  if ((streaming && (argc < 4 || argc > 6 || producers == 0 || consumers == 0 || producers > kMaxProducers)) ||
      (mode == "kill" && (argc < 4 || argc > 5 || producers + 1 > kMaxProducers)) ||
      (own_channels && argc != 3) || (!streaming && mode != "kill" && !own_channels)) {
    std::fputs(usage, stderr);
    return 2;
  }
  const std::string name = stress::channel("rwstress-mpmc-" + std::to_string(getpid()));
  int code = 1;
  try {
    if (mode == "repair") {
      code = run_repair(name, wait);
    } else if (mode == "parked-kill") {
      code = run_parked_kill(name, wait) ? 0 : 1;
    } else if (mode == "hostile") {
      code = run_hostile(name, wait);
    } else {
      ringwire::CreateOptions o;
      o.capacity = kCapacity;
      o.mode = L::MODE_MPMC;
      o.wait_mechanism = wait;
      ringwire::create_segment(name, o);
      if (mode == "threads" || mode == "threads-last") {
        code = run_threads(name, wait, count, producers, consumers, mode == "threads-last");
      }
      if (mode == "processes") code = run_processes(name, count, producers, consumers);
      if (mode == "kill") code = run_kill(name, count, argc > 4 ? producers : 30);
      ringwire::unlink_segment(name);
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "stress_mpmc: %s: %s\n", e.code().c_str(), e.what());
    ringwire::unlink_segment(name);
    return 1;
  }
  std::printf("stress_mpmc %s %s%s%s: %s\n", argv[1], argv[2], count ? " " : "", count ? argv[3] : "",
              code == 0 ? "ok" : "FAILED");
  return code;
}
