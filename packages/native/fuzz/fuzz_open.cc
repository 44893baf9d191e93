// libFuzzer harness: opening and validating a segment (segment.h's MappedSegment) from
// arbitrary bytes. The input is a whole image (header and ring) behind four control bytes that
// choose how it is stored: in an anonymous memfd opened through MappedSegment::Descriptor
// (sealed, partly sealed, or not), or in a file under /dev/shm opened by its path (mode 0600 or
// 0644; a NAMED_SEMAPHORE identity makes the opener look for its semaphores), and how large the
// object is (the image's own length, or the size its capacity word calls for, exact or 8 bytes
// off). Every outcome must be a MappedSegment, or a ringwire::Error with one of the codes
// segment.h refuses with. On success the identity it took must be consistent (what the checks
// promise), and with a control bit the mode's receiver (and sender) then run on the image as it
// is, semaphores and all (rings up to 64 KiB): try_recv until empty, one try_send.
//
// An object shorter than the header makes validate() wait for a creator to finish (up to 200
// tries 1 ms apart: virtual time, see harness.h), and so does a magic of 0, which the harness
// turns into 1 (each try maps and unmaps the header, which costs real time). Not covered:
// another owner's object (the harness's are its own).
#include "harness.h"

namespace {

namespace L = ringwire::layout;

// Control bits (byte 0).
constexpr uint8_t kFile = 1;         // a file under /dev/shm, opened by path (else a memfd)
constexpr uint8_t kLoose = 2;        // memfd: not sealed; file: mode 0644
constexpr uint8_t kPartSealed = 4;   // memfd: sealed against shrinking and growing, not F_SEAL_SEAL
constexpr uint8_t kFixCheck = 8;     // recompute the identity check over the image's words
constexpr uint8_t kFixMagic = 16;    // write the magic
constexpr uint8_t kEndpoints = 32;   // opened: run the mode's receiver
constexpr uint8_t kSend = 64;        // ... and a sender
constexpr uint8_t kShort = 128;      // the image's own length even below HEADER_SIZE (else padded)
constexpr size_t kControlBytes = 4;
constexpr uint32_t kEndpointCapacity = 64 * 1024;

constexpr const char* kOpenCodes[] = {"ERR_RINGWIRE_CORRUPT", "ERR_RINGWIRE_INCOMPATIBLE", "ERR_RINGWIRE_PERMISSION"};

// A per-process file under /dev/shm, removed as soon as it has been opened (or failed to).
std::string file_path() {
  static const std::string path = "/dev/shm/ringwire-fuzz." + std::to_string(getpid()) + ".ring";
  return path;
}

std::shared_ptr<ringwire::MappedSegment> open_file(const std::vector<uint8_t>& image, size_t size, bool loose) {
  const std::string path = file_path();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fuzz::die("open");
  if (fchmod(fd, loose ? 0644 : 0600) != 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) fuzz::die("sizing the file");
  const size_t length = image.size() < size ? image.size() : size;
  for (size_t done = 0; done < length;) {
    const ssize_t n = pwrite(fd, image.data() + done, length - done, static_cast<off_t>(done));
    if (n <= 0) fuzz::die("pwrite");
    done += static_cast<size_t>(n);
  }
  close(fd);
  struct Unlink {
    const std::string& path;
    ~Unlink() { unlink(path.c_str()); }
  } unlink_after{path};
  return std::make_shared<ringwire::MappedSegment>(path);
}

// What validate() promises about the identity it accepted and the mapping it made.
void check_opened(const ringwire::MappedSegment& segment) {
  const ringwire::Identity& id = segment.identity();
  const bool ok = L::is_power_of_two(id.capacity) && id.capacity >= L::MIN_CAPACITY && id.capacity <= L::MAX_CAPACITY &&
                  L::is_known_mode(id.mode) && id.max_message == L::max_message_for(id.capacity) &&
                  id.max_message_size != 0 &&
                  ringwire::resolve_max_message_size(id.mode, id.capacity, id.max_message_size) == id.max_message_size &&
                  segment.size() == L::HEADER_SIZE + static_cast<size_t>(id.capacity) && segment.base() != nullptr;
  if (!ok) {
    std::fprintf(stderr, "fuzz harness: an inconsistent identity was accepted\n");
    std::abort();
  }
}

template <typename Receiver, typename Sender>
void run_endpoints(const std::shared_ptr<ringwire::MappedSegment>& segment, bool send, int& errors) {
  std::vector<uint8_t> message;
  try {
    Receiver receiver(segment);
    for (int i = 0; i < fuzz::kDrainLimit && receiver.try_recv(message) == ringwire::Status::kMessage; i++) {
    }
  } catch (const ringwire::Error& e) {
    fuzz::expect_endpoint_error(e, "a receiver on an opened image");
    errors++;
  }
  if (!send || errors >= fuzz::kErrorBudget) return;
  try {
    Sender sender(segment);
    sender.try_send(fuzz::payload(), 24);
  } catch (const ringwire::Error& e) {
    fuzz::expect_endpoint_error(e, "a sender on an opened image");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t control[kControlBytes] = {};
  std::memcpy(control, data, size < kControlBytes ? size : kControlBytes);
  const uint8_t bits = control[0];
  static std::vector<uint8_t> image;
  const size_t length = size > kControlBytes ? size - kControlBytes : 0;
  image.assign((bits & kShort) != 0 || length > L::HEADER_SIZE ? length : L::HEADER_SIZE, 0);
  if (length != 0) std::memcpy(image.data(), data + kControlBytes, length);
  // The identity words (a short image: what it has of them).
  uint32_t words[L::IDENTITY_WORDS] = {};
  std::memcpy(words, image.data(), image.size() < sizeof words ? image.size() : sizeof words);
  if ((bits & kFixMagic) != 0) words[L::OFF_MAGIC / 4] = L::MAGIC;
  if (words[L::OFF_MAGIC / 4] == 0) words[L::OFF_MAGIC / 4] = 1;
  if ((bits & kFixCheck) != 0) words[L::OFF_IDENTITY_CHECK / 4] = ringwire::detail::identity_check(words);
  std::memcpy(image.data(), words, image.size() < sizeof words ? image.size() : sizeof words);
  // The object's size: the image's, or what its capacity word calls for (exact, +8 or -8).
  size_t object = image.size();
  const uint32_t capacity = words[L::OFF_CAPACITY / 4];
  if (control[1] % 4 != 0 && capacity >= 8 && capacity <= L::MAX_CAPACITY) {
    object = L::HEADER_SIZE + static_cast<size_t>(capacity);
    if (control[1] % 4 == 2) object += 8;
    if (control[1] % 4 == 3) object -= 8;
    if (object < L::HEADER_SIZE) object = L::HEADER_SIZE;
  }

  fuzz::FdCheck fds(true);
  fuzz::TimeScope virtual_time(2 + control[2]);
  std::shared_ptr<ringwire::MappedSegment> segment;
  try {
    if ((bits & kFile) != 0) {
      segment = open_file(image, object, (bits & kLoose) != 0);
    } else {
      const bool seal = (bits & kLoose) == 0;
      const fuzz::Memfd memfd(image.data(), image.size(), object, seal,
                              (bits & kPartSealed) != 0 ? F_SEAL_SHRINK | F_SEAL_GROW : 0);
      segment = memfd.open();
    }
  } catch (const ringwire::Error& e) {
    fuzz::expect_code(e, kOpenCodes, "opening an image");
  }
  if (access(file_path().c_str(), F_OK) == 0) {
    std::fprintf(stderr, "fuzz harness: %s is still there after the iteration\n", file_path().c_str());
    std::abort();
  }
  if (!segment) return 0;
  check_opened(*segment);
  // Endpoints on small rings only: on a large one an endpoint's walks ("written", "delivered")
  // may read the whole ring, which costs a fuzzing iteration too much.
  if ((bits & kEndpoints) == 0 || segment->identity().capacity > kEndpointCapacity) return 0;
  int errors = 0;
  const bool send = (bits & kSend) != 0;
  switch (segment->identity().mode) {
    case L::MODE_SPSC: run_endpoints<ringwire::SpscReceiver, ringwire::SpscSender>(segment, send, errors); break;
    case L::MODE_MPMC: run_endpoints<ringwire::MpmcReceiver, ringwire::MpmcSender>(segment, send, errors); break;
    default: run_endpoints<ringwire::BroadcastReceiver, ringwire::BroadcastSender>(segment, send, errors); break;
  }
  return 0;
}
