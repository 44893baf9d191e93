// A C++ peer for the interop tests: sends to or receives from a Node process over a ringwire
// channel, with the header-only protocol in include/ringwire.
//
//   interop send <name> <count> [timeout_ms]
//                                 sends <count> checkable messages, waiting up to timeout_ms
//                                 (10000) for room for each, then ends the stream
//   interop recv <name> [first [stop]]
//                                 receives to the end, checks every message (the first being
//                                 message <first>), prints the count; with <stop>, prints
//                                 "took <stop>" after that many and pauses until killed
//
// MPMC channels (any number of either, in any mix of Node and C++):
//
//   interop mpmc-send <name> <count> <end:0|1>
//       sends messages 0 .. count-1 (the same rule); with end=1 then ends the stream
//   interop mpmc-recv <name> [ordered:0|1 [stop]]
//       prints "ready", receives to the end of the stream and prints "received <n>". Each
//       message must be some message of the rule (its index is worked out from its length and
//       first byte); with ordered=1 (one sender, one receiver) message k must be message k.
//       With <stop>, stops after that many (closing its endpoint) and prints "received <stop>".
//
// Broadcast channels (one sender, any number of receivers):
//
//   interop bcast-send <name> <count> <end:0|1>
//       sends messages 0 .. count-1 (the same rule), waiting up to 10 s for room for each; with
//       end=1 then ends the stream
//   interop bcast-recv <name> [from:next|oldest [stall]]
//       joins (from the tail, or the oldest message still in the ring), prints "ready", then
//       receives to the end of the stream and prints "received <n> lost <m>". Each message must
//       be a message of the rule; on a 'block' channel message k + 1 must follow message k (no
//       gap: the first one received may be any), on a 'drop' channel the messages' numbers
//       must grow. With <stall>, prints "stalled" after that many and reads no more until a
//       line arrives on stdin.
//
// Large messages (SPSC or broadcast, told apart by the channel's mode): message i of the list
// is s_i bytes, byte j = (i * 131 + j * 7) & 255; longer than a record carries, it goes in
// fragments.
//
//   interop big-send <name> <sizes,comma-separated> <end:0|1>
//       sends message i of size s_i for each listed size, waiting up to 30 s for room for each;
//       with end=1 then ends the stream; prints "sent <n>"
//   interop big-recv <name> <count>
//       opens (broadcast: joins from the tail), prints "ready", receives <count> messages,
//       checks every byte of each, and prints "received <n> bytes <total> sizes <s_0,s_1,...>"
//       (an end of stream before <count> is an error)
//
// Errors (ringwire::Error) go to stderr as "<code>: <message>", with exit code 1.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ringwire/broadcast.h"
#include "ringwire/mpmc.h"
#include "ringwire/spsc.h"

// Message i: (i * 37) % 3001 bytes, byte j is (i + j * 7) & 255 — the same rule as the tests.
static uint32_t size_of(uint32_t i) { return (i * 37) % 3001; }
static void fill(std::vector<uint8_t>& m, uint32_t i) {
  m.resize(size_of(i));
  for (uint32_t j = 0; j < m.size(); j++) m[j] = static_cast<uint8_t>(i + j * 7);
}

// Whether m is message i for some i, and which (mod 3001 * 256): the length gives i mod 3001
// (a prime, and 37 has an inverse mod it), the first byte i mod 256. An empty message is
// i = 0 mod 3001, and no byte says which: `index` is then -1.
static bool index_of(const std::vector<uint8_t>& m, int64_t& index) {
  index = -1;
  if (m.size() > 3000) return false;
  if (m.empty()) return true;
  uint32_t inverse = 1;
  while ((37 * inverse) % 3001 != 1) inverse++;
  const uint32_t low = static_cast<uint32_t>(m.size()) * inverse % 3001;
  for (uint32_t i = low; i < 3001u * 256; i += 3001) {
    if ((i & 255) != m[0]) continue;
    std::vector<uint8_t> expected;
    fill(expected, i);
    index = i;
    return m == expected;
  }
  return false;
}
static bool is_some_message(const std::vector<uint8_t>& m) {
  int64_t index;
  return index_of(m, index);
}

// big-send and big-recv: message i (of the list) of `size` bytes.
static void fill_big(std::vector<uint8_t>& m, uint32_t i, uint32_t size) {
  m.resize(size);
  for (uint32_t j = 0; j < size; j++) m[j] = static_cast<uint8_t>(i * 131 + j * 7);
}
static bool is_big(const std::vector<uint8_t>& m, uint32_t i) {
  for (size_t j = 0; j < m.size(); j++) {
    if (m[j] != static_cast<uint8_t>(i * 131 + j * 7)) return false;
  }
  return true;
}

// big-send with either sender; big-recv with either receiver (the shapes of contract.h).
template <typename Sender>
static int big_send(Sender&& sender, const char* sizes, bool end) {
  std::vector<uint8_t> message;
  uint32_t i = 0;
  for (const char* at = sizes; *at != '\0'; i++) {
    char* next;
    const uint32_t size = static_cast<uint32_t>(std::strtoul(at, &next, 10));
    fill_big(message, i, size);
    sender.send(message.data(), size, 30'000);
    at = *next == ',' ? next + 1 : next;
  }
  if (end) sender.end();
  std::printf("sent %u\n", i);
  return 0;
}
template <typename Receiver>
static int big_recv(Receiver&& receiver, uint32_t count) {
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<uint8_t> message;
  std::string sizes;
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (!receiver.recv(message, 30'000)) {
      std::fprintf(stderr, "the stream ended after %u of %u messages\n", i, count);
      return 1;
    }
    if (!is_big(message, i)) {
      std::fprintf(stderr, "message %u (%zu bytes) differs\n", i, message.size());
      return 1;
    }
    total += message.size();
    sizes += (i == 0 ? "" : ",") + std::to_string(message.size());
  }
  std::printf("received %u bytes %llu sizes %s\n", count, static_cast<unsigned long long>(total), sizes.c_str());
  return 0;
}

int main(int argc, char** argv) {
  const char* usage =
      "usage: interop send <name> <count> [timeout_ms] | interop recv <name> [first [stop]] |\n"
      "       interop mpmc-send <name> <count> <end:0|1> | interop mpmc-recv <name> [ordered:0|1 [stop]] |\n"
      "       interop bcast-send <name> <count> <end:0|1> | interop bcast-recv <name> [next|oldest [stall]] |\n"
      "       interop big-send <name> <sizes,comma-separated> <end:0|1> | interop big-recv <name> <count>\n";
  if (argc < 3) {
    std::fputs(usage, stderr);
    return 2;
  }
  try {
    if (std::strcmp(argv[1], "send") == 0 && (argc == 4 || argc == 5)) {
      ringwire::SpscSender sender{ringwire::MappedSegment(argv[2])};
      const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
      const int64_t timeout_ms = argc == 5 ? std::strtoll(argv[4], nullptr, 10) : 10'000;
      std::vector<uint8_t> message;
      for (uint32_t i = 0; i < count; i++) {
        fill(message, i);
        sender.send(message.data(), static_cast<uint32_t>(message.size()), timeout_ms);
      }
      sender.end();
      std::printf("sent %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "recv") == 0 && argc <= 5) {
      const uint32_t first = argc >= 4 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 0;
      const uint32_t stop = argc == 5 ? static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)) : 0;
      ringwire::SpscReceiver receiver{ringwire::MappedSegment(argv[2])};
      std::printf("ready\n");
      std::fflush(stdout);
      std::vector<uint8_t> message, expected;
      uint32_t count = 0;
      while (receiver.recv(message, 10'000)) {
        fill(expected, first + count);
        if (message != expected) {
          std::fprintf(stderr, "message %u differs (%zu bytes, expected %zu)\n", first + count, message.size(),
                       expected.size());
          return 1;
        }
        if (++count == stop) {
          std::printf("took %u\n", count);
          std::fflush(stdout);
          for (;;) pause();  // holding what it took, unpublished, until killed
        }
      }
      std::printf("received %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "mpmc-send") == 0 && argc == 5 &&
        (std::strcmp(argv[4], "0") == 0 || std::strcmp(argv[4], "1") == 0)) {
      ringwire::MpmcSender sender{ringwire::MappedSegment(argv[2])};
      const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
      std::vector<uint8_t> message;
      for (uint32_t i = 0; i < count; i++) {
        fill(message, i);
        sender.send(message.data(), static_cast<uint32_t>(message.size()), 10'000);
      }
      if (argv[4][0] == '1') sender.end();
      std::printf("sent %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "mpmc-recv") == 0 && argc >= 3 && argc <= 5) {
      const bool ordered = argc >= 4 && std::strcmp(argv[3], "1") == 0;
      const uint32_t stop = argc == 5 ? static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)) : 0;
      ringwire::MpmcReceiver receiver{ringwire::MappedSegment(argv[2])};
      std::printf("ready\n");
      std::fflush(stdout);
      std::vector<uint8_t> message, expected;
      uint32_t count = 0;
      while ((stop == 0 || count < stop) && receiver.recv(message, 10'000)) {
        if (ordered) fill(expected, count);
        if (ordered ? message != expected : !is_some_message(message)) {
          std::fprintf(stderr, "message %u differs (%zu bytes)\n", count, message.size());
          return 1;
        }
        count++;
      }
      std::printf("received %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "bcast-send") == 0 && argc == 5 &&
        (std::strcmp(argv[4], "0") == 0 || std::strcmp(argv[4], "1") == 0)) {
      ringwire::BroadcastSender sender{ringwire::MappedSegment(argv[2])};
      const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
      std::vector<uint8_t> message;
      for (uint32_t i = 0; i < count; i++) {
        fill(message, i);
        sender.send(message.data(), static_cast<uint32_t>(message.size()), 10'000);
      }
      if (argv[4][0] == '1') sender.end();
      std::printf("sent %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "bcast-recv") == 0 && argc >= 3 && argc <= 5 &&
        (argc == 3 || std::strcmp(argv[3], "next") == 0 || std::strcmp(argv[3], "oldest") == 0)) {
      const bool from_oldest = argc >= 4 && std::strcmp(argv[3], "oldest") == 0;
      const uint32_t stall = argc == 5 ? static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)) : 0;
      ringwire::BroadcastReceiver receiver{ringwire::MappedSegment(argv[2]), from_oldest};
      std::printf("ready\n");
      std::fflush(stdout);
      std::vector<uint8_t> message, expected;
      uint32_t count = 0;
      int64_t last = -1;  // the number of the last message received
      while (receiver.recv(message, 10'000)) {
        int64_t index;
        if (receiver.drops()) {
          // Numbers grow (an empty message says nothing of its number).
          if (!index_of(message, index) || (index >= 0 && index <= last)) {
            std::fprintf(stderr, "message %u (%zu bytes) is not a later message of the rule\n", count, message.size());
            return 1;
          }
          if (index >= 0) last = index;
        } else {
          if (count == 0 && !index_of(message, last)) {
            std::fprintf(stderr, "the first message (%zu bytes) is no message of the rule\n", message.size());
            return 1;
          }
          if (count == 0 && last < 0) last = 0;  // empty: message 0 (joined before any, in these tests)
          fill(expected, static_cast<uint32_t>(count == 0 ? last : ++last));
          if (message != expected) {
            std::fprintf(stderr, "message %u (%zu bytes) is not message %lld\n", count, message.size(),
                         static_cast<long long>(last));
            return 1;
          }
        }
        if (++count == stall) {
          std::printf("stalled\n");
          std::fflush(stdout);
          char line[16];
          if (std::fgets(line, sizeof line, stdin) == nullptr) return 1;
        }
      }
      std::printf("received %u lost %llu\n", count, static_cast<unsigned long long>(receiver.lost()));
      return 0;
    }
    if (std::strcmp(argv[1], "big-send") == 0 && argc == 5 &&
        (std::strcmp(argv[4], "0") == 0 || std::strcmp(argv[4], "1") == 0)) {
      ringwire::MappedSegment segment(argv[2]);
      const bool end = argv[4][0] == '1';
      if (segment.identity().mode == ringwire::layout::MODE_BROADCAST) {
        return big_send(ringwire::BroadcastSender{std::move(segment)}, argv[3], end);
      }
      return big_send(ringwire::SpscSender{std::move(segment)}, argv[3], end);
    }
    if (std::strcmp(argv[1], "big-recv") == 0 && argc == 4) {
      ringwire::MappedSegment segment(argv[2]);
      const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
      if (segment.identity().mode == ringwire::layout::MODE_BROADCAST) {
        return big_recv(ringwire::BroadcastReceiver{std::move(segment)}, count);
      }
      return big_recv(ringwire::SpscReceiver{std::move(segment)}, count);
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
  std::fputs(usage, stderr);
  return 2;
}
