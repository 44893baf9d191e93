// Writes the seed corpora of the fuzz harnesses (corpus/<harness>/): images of real channels,
// made by the C++ endpoints in anonymous memfds and copied out, in each harness's input format,
// plus a few edge cases made by hand (an endpoint that died between two steps of its protocol,
// records written and not published, a delivered line ahead of the consumer, an intent left
// raised). Run by hand when the format or the layout changes (README.md):
//
//   clang++ -std=c++17 -O1 -g -I include fuzz/make_seeds.cc -o /tmp/make_seeds && /tmp/make_seeds fuzz/corpus
//
// The images hold this process's pid and thread ids: once it has exited, they are endpoints
// that died without closing, as the harnesses want.
#include <string>

namespace seeds {
void test_point(const char* name);
}
// MPMC: a copy of the segment at a named step of the protocol (an endpoint that died there).
#define RINGWIRE_MPMC_TEST_POINT(name) ::seeds::test_point(name)

#include <sys/stat.h>

#include <functional>

#include "harness.h"

namespace seeds {

namespace L = ringwire::layout;
using fuzz::Op;
using Image = std::vector<uint8_t>;
using Ops = std::array<Op, fuzz::kOpCount>;

// The operation codes every receive harness shares.
enum Code : uint8_t {
  kDrain, kTryRecv, kRecvWait, kOpenReceiver, kCloseReceiver, kOpenSender, kCloseSender,
  kTrySend, kSend, kEnd, kScribble, kQuery
};

std::string g_root;
const char* g_snapshot_at = nullptr;
const ringwire::MappedSegment* g_snapshot_of = nullptr;
Image g_snapshot;

void test_point(const char* name) {
  if (g_snapshot_at == nullptr || g_snapshot_of == nullptr || std::strcmp(name, g_snapshot_at) != 0) return;
  g_snapshot.assign(g_snapshot_of->base(), g_snapshot_of->base() + g_snapshot_of->size());
  g_snapshot_at = nullptr;
}

void write_file(const std::string& harness, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string dir = g_root + "/" + harness;
  mkdir(g_root.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::printf("%6zu  %s\n", bytes.size(), path.c_str());
}

// A channel in a memfd and a mapping of it; image() copies its bytes.
struct Channel {
  int fd;
  std::shared_ptr<ringwire::MappedSegment> segment;
  explicit Channel(const ringwire::CreateOptions& o)
      : fd(ringwire::create_anonymous(o)),
        segment(std::make_shared<ringwire::MappedSegment>(ringwire::MappedSegment::Descriptor{fd})) {}
  ~Channel() { close(fd); }
  Image image() const { return Image(segment->base(), segment->base() + segment->size()); }
  uint32_t* word(uint32_t offset) const { return segment->word(offset); }
};

ringwire::CreateOptions options(uint32_t mode, uint32_t capacity = 1024, uint32_t wait = L::WAIT_FUTEX,
                                uint32_t flags = 0, uint32_t max_message_size = 0) {
  ringwire::CreateOptions o;
  o.mode = mode;
  o.capacity = capacity;
  o.wait_mechanism = wait;
  o.flags = flags;
  o.max_message_size = max_message_size;
  return o;
}

std::vector<uint8_t> message(uint32_t n, uint32_t seed) {
  std::vector<uint8_t> m(n);
  for (uint32_t i = 0; i < n; i++) m[i] = static_cast<uint8_t>(seed * 31 + i);
  return m;
}

Ops ops(std::initializer_list<Op> list) {
  Ops out{};
  size_t i = 0;
  for (const Op& op : list) out[i++] = op;
  return out;
}
// Drain receiver 0 (all zero: what an input without operations does).
const Ops kDrainOnly{};

void seed(const char* harness, const std::string& name, const Image& image, const Ops& script, uint8_t bits = 0,
          uint8_t preamble = 0, uint8_t step = 8) {
  write_file(harness, name, fuzz::encode(image, bits, preamble, step, script));
}

// --- fuzz_open: control bytes, then the image (trailing zeros left out: the object is sized by
// its capacity word, control byte 1 = 1) ---------------------------------------------------

void open_seed(const std::string& name, Image image, uint8_t bits, uint8_t size_mode = 1) {
  while (image.size() > L::HEADER_SIZE && image.back() == 0) image.pop_back();
  std::vector<uint8_t> out = {bits, size_mode, 8, 0};
  out.insert(out.end(), image.begin(), image.end());
  write_file("fuzz_open", name, out);
}

// --- SPSC ------------------------------------------------------------------------------------

void spsc() {
  constexpr const char* H = "fuzz_spsc_recv";
  const Ops exercise = ops({{kDrain, 0, 0, 0}, {kOpenSender, 0, 0, 0}, {kTrySend, 40, 0, 0}, {kSend, 0, 0x90, 3},
                            {kDrain, 0, 0, 0}, {kTrySend, 0, 0x44, 0}, {kRecvWait, 5, 0, 0}, {kEnd, 0, 0, 0},
                            {kDrain, 0, 0, 0}, {kQuery, 0, 0, 0}, {kCloseReceiver, 1, 0, 0}, {kOpenReceiver, 0, 0, 0},
                            {kDrain, 0, 0, 0}});
  {  // five messages waiting; then sent from here, received, and ended
    Channel c(options(L::MODE_SPSC));
    ringwire::SpscSender tx(c.segment);
    for (uint32_t i = 0; i < 5; i++) tx.try_send(message(10 + 20 * i, i).data(), 10 + 20 * i);
    const Image image = c.image();
    seed(H, "five-waiting", image, kDrainOnly);
    seed(H, "five-waiting-exercise", image, exercise);
    seed(H, "five-waiting-two-mappings", image, exercise, fuzz::kTwoMappings, 1);
    open_seed("spsc-five-waiting", image, 32 | 64);
    open_seed("spsc-five-waiting-file", image, 1 | 32);
    // A sender that died after writing two records it had not published (the "written" walk).
    Image unpublished = image;
    uint32_t* w = fuzz::words_of(unpublished.data());
    w[L::OFF_PRODUCER_POSITION / 4] -= L::record_size(10 + 20 * 4) + L::record_size(10 + 20 * 3);
    seed(H, "written-unpublished", unpublished, kDrainOnly, 0, 1);
    seed(H, "written-unpublished-recv-wait", unpublished, ops({{kDrain, 0, 0, 0}, {kRecvWait, 9, 0, 0}, {kDrain, 0, 0, 0}}),
         fuzz::kSemaphore, 4);
  }
  {  // a receiver that took three of five and died before publishing (the "delivered" walk)
    Channel c(options(L::MODE_SPSC));
    ringwire::SpscSender tx(c.segment);
    ringwire::SpscReceiver rx(c.segment);
    for (uint32_t i = 0; i < 5; i++) tx.try_send(message(30, i).data(), 30);
    std::vector<uint8_t> out;
    for (int i = 0; i < 3; i++) rx.try_recv(out);
    seed(H, "delivered-ahead", c.image(), kDrainOnly);
  }
  {  // round the ring: padding at its end, positions past a lap; ended
    Channel c(options(L::MODE_SPSC));
    ringwire::SpscSender tx(c.segment);
    ringwire::SpscReceiver rx(c.segment);
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < 40; i++) {
      tx.try_send(message(100 + i, i).data(), 100 + i);
      if (i % 3 != 2) rx.try_recv(out);
    }
    tx.end();
    rx.close();
    seed(H, "wrapped-ended", c.image(), exercise);
    open_seed("spsc-wrapped-ended", c.image(), 32);
  }
  {  // a message in fragments (max_message_size above a record), on semaphores
    Channel c(options(L::MODE_SPSC, 4096, L::WAIT_SEMAPHORE));
    ringwire::SpscSender tx(c.segment);
    const std::vector<uint8_t> long_message = message(2500, 7);
    tx.send(long_message.data(), 2500, 0);
    tx.try_send(message(12, 8).data(), 12);
    const Image image = c.image();
    seed(H, "fragments-exercise", image, exercise);
    open_seed("spsc-fragments-semaphore", image, 32 | 64);
    // The sender died inside the message: only its start and first data record published.
    Image partial = image;
    fuzz::words_of(partial.data())[L::OFF_PRODUCER_POSITION / 4] = 16 + 1024 + 1024;
    seed(H, "fragments-partial", partial, kDrainOnly);
  }
  {  // a small max_message_size
    Channel c(options(L::MODE_SPSC, 1024, L::WAIT_FUTEX, 0, 100));
    ringwire::SpscSender tx(c.segment);
    tx.send(message(90, 1).data(), 90, 0);
    seed(H, "max-message-100", c.image(), exercise);
  }
  {  // empty, 2048 bytes
    Channel c(options(L::MODE_SPSC, 2048));
    seed(H, "empty", c.image(), exercise);
  }
}

// --- MPMC ------------------------------------------------------------------------------------

// The image of an MPMC channel at the test point `at` of `step` (run after `setup`).
Image mpmc_at(const ringwire::CreateOptions& o, const char* at,
              const std::function<void(std::shared_ptr<ringwire::MappedSegment>)>& setup,
              const std::function<void(std::shared_ptr<ringwire::MappedSegment>)>& step) {
  Channel c(o);
  setup(c.segment);
  g_snapshot.clear();
  g_snapshot_of = c.segment.get();
  g_snapshot_at = at;
  step(c.segment);
  g_snapshot_at = nullptr;
  g_snapshot_of = nullptr;
  if (g_snapshot.empty()) {
    std::fprintf(stderr, "make_seeds: test point %s never reached\n", at);
    std::exit(1);
  }
  return g_snapshot;
}

void mpmc() {
  constexpr const char* H = "fuzz_mpmc_recv";
  const Ops exercise = ops({{kDrain, 0, 0, 0}, {kOpenSender, 1, 0, 0}, {kTrySend, 1, 40, 0}, {kSend, 1, 0x30, 0x41},
                            {kDrain, 0, 0, 0}, {kTryRecv, 1, 0, 0}, {kEnd, 1, 0, 0}, {kRecvWait, 0, 0, 6},
                            {kCloseSender, 1, 1, 0}, {kOpenReceiver, 2, 0, 0}, {kDrain, 2, 0, 0}, {kQuery, 2, 0, 0},
                            {kTrySend, 3, 200, 0x40}, {kDrain, 3, 0, 0}});
  {  // two senders' messages waiting, some taken
    Channel c(options(L::MODE_MPMC));
    ringwire::MpmcSender a(c.segment), b(c.segment);
    ringwire::MpmcReceiver rx(c.segment);
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < 12; i++) {
      (i % 2 == 0 ? a : b).try_send(message(20 + 7 * i, i).data(), 20 + 7 * i);
      if (i % 4 == 3) rx.try_recv(out);
    }
    const Image image = c.image();
    seed(H, "waiting", image, kDrainOnly);
    seed(H, "waiting-exercise", image, exercise, fuzz::kSemaphore);
    seed(H, "waiting-two-mappings", image, exercise, fuzz::kTwoMappings, 2);
    open_seed("mpmc-waiting", image, 32 | 64);
  }
  {  // round the ring (skip records at its end), ended with the last sender
    Channel c(options(L::MODE_MPMC, 1024, L::WAIT_FUTEX, L::FLAG_END_WITH_LAST_SENDER));
    ringwire::MpmcSender a(c.segment), b(c.segment);
    ringwire::MpmcReceiver rx(c.segment);
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < 30; i++) {
      a.try_send(message(90 + i, i).data(), 90 + i);
      if (i % 3 != 0) rx.try_recv(out);
    }
    a.end();
    seed(H, "wrapped-one-ended", c.image(), exercise);
  }
  // Endpoints that died between two steps: a claim not committed, a run taken and not
  // released, a record released and R not moved. kFillSlots: an opener must take slot 0.
  const auto two_sent = [](std::shared_ptr<ringwire::MappedSegment> s) {
    ringwire::MpmcSender tx(s);
    tx.try_send(message(40, 1).data(), 40);
    tx.try_send(message(50, 2).data(), 50);
  };
  const auto send_one = [](std::shared_ptr<ringwire::MappedSegment> s) {
    ringwire::MpmcSender tx(s);
    tx.try_send(message(60, 3).data(), 60);
  };
  const auto take_one = [](std::shared_ptr<ringwire::MappedSegment> s) {
    ringwire::MpmcReceiver rx(s);
    std::vector<uint8_t> out;
    rx.try_recv(out);
  };
  for (const char* at : {"claim-cas", "claimed", "committing"}) {
    const Image image = mpmc_at(options(L::MODE_MPMC), at, two_sent, send_one);
    seed(H, std::string("dead-sender-") + at, image, kDrainOnly);
    if (std::strcmp(at, "claimed") == 0) seed(H, std::string("dead-sender-") + at + "-fill", image, kDrainOnly, fuzz::kFillSlots);
  }
  for (const char* at : {"taken", "rewriting", "released"}) {
    const Image image = mpmc_at(options(L::MODE_MPMC), at, two_sent, take_one);
    seed(H, std::string("dead-receiver-") + at, image, exercise);
    if (std::strcmp(at, "taken") == 0) {
      seed(H, std::string("dead-receiver-") + at + "-fill", image, kDrainOnly, fuzz::kFillSlots | fuzz::kFillerReceivers);
      open_seed(std::string("mpmc-dead-receiver-") + at, image, 32 | 64);
    }
  }
  {  // a full ring whose oldest record a dead receiver holds: a sender must repair to send
    const auto fill = [](std::shared_ptr<ringwire::MappedSegment> s) {
      ringwire::MpmcSender tx(s);
      for (uint32_t i = 0; tx.try_send(message(100, i).data(), 100); i++) {
      }
    };
    const Image image = mpmc_at(options(L::MODE_MPMC), "taken", fill, take_one);
    seed(H, "full-dead-receiver", image,
         ops({{kTrySend, 1, 100, 0}, {kSend, 1, 100, 0x21}, {kDrain, 0, 0, 0}, {kTrySend, 1, 100, 0}}), fuzz::kSemaphore);
  }
  {  // empty, 4096 bytes, semaphores
    Channel c(options(L::MODE_MPMC, 4096, L::WAIT_SEMAPHORE));
    seed(H, "empty", c.image(), exercise, fuzz::kSemaphore);
  }
}

// --- broadcast ---------------------------------------------------------------------------

void broadcast() {
  constexpr const char* H = "fuzz_broadcast_recv";
  const Ops exercise = ops({{kDrain, 0, 0, 0}, {kOpenReceiver, 1, 1, 0}, {kOpenSender, 0, 3, 0}, {kTrySend, 0, 60, 0},
                            {kSend, 9, 0x90, 0}, {kDrain, 1, 0, 0}, {kTryRecv, 0, 0, 0}, {kSend, 9, 0x10, 0x88},
                            {kRecvWait, 2, 0, 8}, {kEnd, 0, 0, 0}, {kDrain, 0, 0, 0}, {kQuery, 1, 0, 0},
                            {kCloseReceiver, 1, 1, 0}, {kDrain, 2, 0, 0}});
  for (const uint32_t flags : {0u, L::FLAG_OVERFLOW_DROP}) {
    const std::string kind = flags == 0 ? "block-" : "drop-";
    Channel c(options(L::MODE_BROADCAST, 1024, L::WAIT_FUTEX, flags));
    ringwire::BroadcastSender tx(c.segment);
    ringwire::BroadcastReceiver fast(c.segment), slow(c.segment, true);
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < 24; i++) {
      if (!tx.try_send(message(50 + 3 * i, i).data(), 50 + 3 * i)) break;
      fast.try_recv(out);
      if (i % 4 == 0) slow.try_recv(out);
    }
    const Image image = c.image();
    seed(H, kind + "two-receivers-exercise", image, exercise, fuzz::kSemaphore, 4);
    seed(H, kind + "two-receivers-oldest", image, exercise, fuzz::kTwoMappings, 4 | 1);
    open_seed("broadcast-" + kind + "two-receivers", image, 32 | 64);
    // The sender died after writing two records it had not published.
    Image unpublished = image;
    uint32_t* w = fuzz::words_of(unpublished.data());
    const uint32_t p = w[L::OFF_PRODUCER_POSITION / 4];
    uint32_t back = p, at = w[L::OFF_OLDEST_POSITION / 4];
    std::vector<uint32_t> starts;
    while (at != p) {  // the record boundaries from O to P
      starts.push_back(at);
      uint32_t word0;
      std::memcpy(&word0, unpublished.data() + L::HEADER_SIZE + (at & 1023), 4);
      at += word0 == L::PADDING_LENGTH ? 1024 - (at & 1023) : L::record_size(word0);
    }
    if (starts.size() >= 2) back = starts[starts.size() - 2];
    w[L::OFF_PRODUCER_POSITION / 4] = back;
    seed(H, kind + "written-unpublished", unpublished, ops({{kDrain, 0, 0, 0}, {kRecvWait, 0, 0, 9}, {kDrain, 0, 0, 0}}),
         fuzz::kSemaphore, 2 | 4);
    seed(H, kind + "written-unpublished-sender", unpublished, kDrainOnly, 0, 1 | 4);
    // An intent left raised past the slowest receiver ('block': a sender died between
    // raising and lowering it).
    Image raised = image;
    uint32_t* r = fuzz::words_of(raised.data());
    r[L::OFF_INTENT_POSITION / 4] = r[L::OFF_PRODUCER_POSITION / 4] + 512;
    seed(H, kind + "intent-raised", raised, exercise, fuzz::kSemaphore, 2);
  }
  {  // a message in fragments, a lapped receiver ('drop', the sender ended)
    Channel c(options(L::MODE_BROADCAST, 4096, L::WAIT_SEMAPHORE, L::FLAG_OVERFLOW_DROP));
    ringwire::BroadcastSender tx(c.segment);
    ringwire::BroadcastReceiver lapped(c.segment, true);
    for (uint32_t i = 0; i < 60; i++) tx.try_send(message(120, i).data(), 120);
    const std::vector<uint8_t> long_message = message(2600, 5);
    tx.send(long_message.data(), 2600, 0);
    tx.end();
    seed(H, "drop-lapped-fragments-ended", c.image(), kDrainOnly, fuzz::kSemaphore);
    open_seed("broadcast-drop-lapped-fragments", c.image(), 32 | 64);
  }
  {  // a block sender cut off a receiver that held it back
    Channel c(options(L::MODE_BROADCAST, 2048));
    ringwire::BroadcastSender tx(c.segment, 1);
    ringwire::BroadcastReceiver stuck(c.segment);
    for (uint32_t i = 0; i < 20; i++) {
      try {
        tx.send(message(200, i).data(), 200, 5);
      } catch (const ringwire::Error&) {
      }
    }
    seed(H, "block-cut-off", c.image(), exercise, fuzz::kFillSlots | fuzz::kFillerReceivers);
  }
}

// --- fuzz_open's edge cases ------------------------------------------------------------------

void open_edges() {
  Channel spsc(options(L::MODE_SPSC));
  const Image base = spsc.image();
  const auto variant = [&](const std::string& name, uint32_t offset, uint32_t value, uint8_t bits, uint8_t size_mode = 1) {
    Image image = base;
    std::memcpy(image.data() + offset, &value, 4);
    open_seed(name, image, bits, size_mode);
  };
  variant("bad-version", L::OFF_VERSION, 2, 0);
  variant("bad-check", L::OFF_IDENTITY_CHECK, 12345, 0);
  variant("capacity-1000-fixed-check", L::OFF_CAPACITY, 1000, 8);
  variant("mode-9-fixed-check", L::OFF_MODE, 9, 8);
  variant("max-message-size-0-fixed-check", L::OFF_MAX_MESSAGE_SIZE, 0, 8);
  variant("size-8-over", L::OFF_FLAGS, 0, 0, 2);
  variant("size-8-under", L::OFF_FLAGS, 0, 1, 3);
  open_seed("unsealed", base, 2);
  open_seed("part-sealed", base, 4);
  open_seed("file-mode-0644", base, 1 | 2);
  {
    Image huge = base;  // the largest capacity (a sparse object)
    uint32_t* w = fuzz::words_of(huge.data());
    w[L::OFF_CAPACITY / 4] = L::MAX_CAPACITY;
    w[L::OFF_MAX_MESSAGE / 4] = L::max_message_for(L::MAX_CAPACITY);
    w[L::OFF_IDENTITY_CHECK / 4] = ringwire::detail::identity_check(w);
    open_seed("capacity-1g", huge, 32 | 64);
  }
  {
    Image named = base;  // named semaphores that do not exist (a file-backed channel)
    uint32_t* w = fuzz::words_of(named.data());
    w[L::OFF_WAIT_MECHANISM / 4] = L::WAIT_NAMED_SEMAPHORE;
    w[L::OFF_SEMAPHORE_KEY / 4] = 0x5eed5eed;
    w[L::OFF_SEMAPHORE_KEY / 4 + 1] = 0x0ddba11;
    w[L::OFF_IDENTITY_CHECK / 4] = ringwire::detail::identity_check(w);
    open_seed("named-semaphore-file", named, 1 | 32);
    open_seed("named-semaphore-memfd", named, 32);
  }
}

}  // namespace seeds

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus directory>\n");
    return 2;
  }
  seeds::g_root = argv[1];
  seeds::spsc();
  seeds::mpmc();
  seeds::broadcast();
  seeds::open_edges();
  return 0;
}
