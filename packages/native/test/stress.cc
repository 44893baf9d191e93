// Stress test of the C++ SPSC protocol (include/ringwire/spsc.h) for the sanitizer builds in
// CI: a sender and a receiver move many checkable messages of every size through a small
// ring (so it wraps, pads, fills and parks constantly), between two threads sharing one
// mapping (what ThreadSanitizer can follow) or between two processes.
//
//   stress threads|processes futex|semaphore <messages>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringwire/spsc.h"

namespace {

constexpr uint32_t kCapacity = 4096;
constexpr int64_t kTimeoutMs = 20'000;

// Message i: sizes 0 .. max_message, mostly small; byte j is (i * 31 + j) & 255.
uint32_t size_of(uint32_t i) {
  return i % 13 == 0 ? (i * 7919u) % (ringwire::layout::max_message_for(kCapacity) + 1) : i % 200;
}
void fill(std::vector<uint8_t>& m, uint32_t i) {
  m.resize(size_of(i));
  for (uint32_t j = 0; j < m.size(); j++) m[j] = static_cast<uint8_t>(i * 31 + j);
}

bool produce(ringwire::SpscSender& sender, uint32_t count) {
  std::vector<uint8_t> message;
  for (uint32_t i = 0; i < count; i++) {
    fill(message, i);
    if (!sender.send(message.data(), static_cast<uint32_t>(message.size()), kTimeoutMs)) {
      std::fprintf(stderr, "stress: send %u timed out\n", i);
      return false;
    }
  }
  sender.end();
  return true;
}

bool consume(ringwire::SpscReceiver& receiver, uint32_t count) {
  std::vector<uint8_t> message, expected;
  uint32_t i = 0;
  for (;;) {
    const auto status = receiver.recv(message, kTimeoutMs);
    if (status == ringwire::SpscReceiver::Status::kEnded) break;
    if (status != ringwire::SpscReceiver::Status::kMessage) {
      std::fprintf(stderr, "stress: timed out after %u messages\n", i);
      return false;
    }
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::strcmp(argv[1], "threads") && std::strcmp(argv[1], "processes")) ||
      (std::strcmp(argv[2], "futex") && std::strcmp(argv[2], "semaphore"))) {
    std::fprintf(stderr, "usage: stress threads|processes futex|semaphore <messages>\n");
    return 2;
  }
  const bool threads = std::strcmp(argv[1], "threads") == 0;
  const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
  const std::string name = "stress-" + std::to_string(getpid());
  ringwire::CreateOptions options;
  options.capacity = kCapacity;
  options.wait_mechanism = std::strcmp(argv[2], "futex") == 0 ? ringwire::layout::WAIT_FUTEX
                                                              : ringwire::layout::WAIT_SEMAPHORE;
  bool ok = false;
  try {
    ringwire::create_segment(name, options);
    if (threads) {
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
