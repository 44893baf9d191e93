// A C++ peer for the interop tests: sends to or receives from a Node process over a ringwire
// SPSC channel, with the header-only protocol in include/ringwire.
//
//   interop send <name> <count>   sends <count> checkable messages, then ends the stream
//   interop recv <name>           receives to the end, checks every message, prints the count
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ringwire/spsc.h"

// Message i: (i * 37) % 3001 bytes, byte j is (i + j * 7) & 255 — the same rule as the tests.
static uint32_t size_of(uint32_t i) { return (i * 37) % 3001; }
static void fill(std::vector<uint8_t>& m, uint32_t i) {
  m.resize(size_of(i));
  for (uint32_t j = 0; j < m.size(); j++) m[j] = static_cast<uint8_t>(i + j * 7);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: interop send <name> <count> | interop recv <name>\n");
    return 2;
  }
  try {
    if (std::strcmp(argv[1], "send") == 0 && argc == 4) {
      ringwire::SpscSender sender{ringwire::MappedSegment(argv[2])};
      const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
      std::vector<uint8_t> message;
      for (uint32_t i = 0; i < count; i++) {
        fill(message, i);
        if (!sender.send(message.data(), static_cast<uint32_t>(message.size()), 10'000)) {
          std::fprintf(stderr, "send %u timed out\n", i);
          return 1;
        }
      }
      sender.end();
      std::printf("sent %u\n", count);
      return 0;
    }
    if (std::strcmp(argv[1], "recv") == 0) {
      ringwire::SpscReceiver receiver{ringwire::MappedSegment(argv[2])};
      std::printf("ready\n");
      std::fflush(stdout);
      std::vector<uint8_t> message, expected;
      uint32_t count = 0;
      for (;;) {
        auto status = receiver.recv(message, 10'000);
        if (status == ringwire::SpscReceiver::Status::kEnded) break;
        if (status != ringwire::SpscReceiver::Status::kMessage) {
          std::fprintf(stderr, "timed out after %u messages\n", count);
          return 1;
        }
        fill(expected, count);
        if (message != expected) {
          std::fprintf(stderr, "message %u differs (%zu bytes, expected %zu)\n", count, message.size(), expected.size());
          return 1;
        }
        count++;
      }
      std::printf("received %u\n", count);
      return 0;
    }
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: interop send <name> <count> | interop recv <name>\n");
  return 2;
}
