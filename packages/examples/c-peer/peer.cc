// A C++ peer for Node: reads requests from one ringwire SPSC channel and answers on another,
// with the header-only protocol in packages/native/include/ringwire.
//
//   peer <request-channel> <reply-channel>
//
// A request is a vector of numbers: n little-endian float64 values (8n bytes). The reply is
// two float64 values: their sum and the sum of their squares. When Node ends the request
// stream, the peer ends the reply stream and exits 0. Errors (ringwire::Error, with the same
// codes as in Node) go to stderr with exit code 1; if the Node side dies without closing,
// the waiting recv() throws ERR_RINGWIRE_PEER_DEAD instead of waiting forever.
#include <cstdio>
#include <cstring>
#include <vector>

#include "ringwire/spsc.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian float64");

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: peer <request-channel> <reply-channel>\n");
    return 2;
  }
  try {
    // Opening checks the segment (owner, size, layout version) and takes the role's lock:
    // ERR_RINGWIRE_NOT_FOUND if the channel does not exist, ERR_RINGWIRE_BUSY if the role is taken.
    ringwire::SpscReceiver requests{ringwire::MappedSegment(argv[1])};
    ringwire::SpscSender replies{ringwire::MappedSegment(argv[2])};

    std::vector<uint8_t> request;  // reused: recv() copies each message into it
    unsigned answered = 0;
    for (;;) {
      // Waits (on a futex) for the next request: true with it in `request`, false once Node
      // has ended the stream and everything is read.
      if (!requests.recv(request)) break;
      if (request.size() % sizeof(double) != 0) {
        std::fprintf(stderr, "peer: a %zu-byte request is not a vector of float64\n", request.size());
        return 1;
      }
      double sum = 0, squares = 0;
      for (size_t at = 0; at < request.size(); at += sizeof(double)) {
        double value;
        std::memcpy(&value, request.data() + at, sizeof value);  // the bytes need not be aligned
        sum += value;
        squares += value * value;
      }
      const double reply[2] = {sum, squares};
      // Waits up to 5 s for room: ERR_RINGWIRE_TIMEOUT if Node stopped reading.
      replies.send(reply, sizeof reply, /*timeout_ms=*/5000);
      answered++;
    }
    replies.end();  // Node's receiver drains the replies, then gets null
    std::printf("peer: answered %u requests\n", answered);
    return 0;  // the endpoints' destructors close them (cleanly: not "dead")
  } catch (const ringwire::Error& e) {
    std::fprintf(stderr, "peer: %s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
}
