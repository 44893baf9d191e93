// ringwire/segment.h — creating, opening and checking a channel's shared-memory object, for
// the Node addon and for C++ peers alike (header-only, C++17, POSIX). The format itself is in
// layout.h. Errors are ringwire::Error with the same stable codes the JavaScript API uses.
#ifndef RINGWIRE_SEGMENT_H_
#define RINGWIRE_SEGMENT_H_

#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/random.h>
#endif
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "layout.h"
#include "wait.h"

namespace ringwire {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message, int sys_errno = 0, std::string syscall = {})
      : std::runtime_error(message), code_(std::move(code)), errno_(sys_errno), syscall_(std::move(syscall)) {}
  const std::string& code() const { return code_; }
  // For ERR_RINGWIRE_SYSTEM (and others caused by a failed system call): the errno and the call.
  int sys_errno() const { return errno_; }
  const std::string& syscall() const { return syscall_; }

 private:
  std::string code_;
  int errno_;
  std::string syscall_;
};

// The identity line as an opener validated it. Peers may scribble on the shared copy later;
// an endpoint only ever uses this snapshot.
struct Identity {
  // max_message: the most one record carries; max_message_size: the largest message (layout.h,
  // "Fragments": SPSC and broadcast write longer ones in fragments, up to this).
  uint32_t version, header_size, capacity, mode, wait_mechanism, default_wait, max_message, max_message_size;
  uint32_t creator_uid, creator_pid, flags;
  uint64_t created_at_ms;
};

namespace detail {

inline const char* code_for_errno(int err) {
  switch (err) {
    case EEXIST: return "ERR_RINGWIRE_EXISTS";
    case ENOENT: return "ERR_RINGWIRE_NOT_FOUND";
    case EACCES:
    case EPERM: return "ERR_RINGWIRE_PERMISSION";
    case ENOSPC: return "ERR_RINGWIRE_NO_SPACE";
    case ENAMETOOLONG:
    case EINVAL: return "ERR_RINGWIRE_INVALID_ARG";
    default: return "ERR_RINGWIRE_SYSTEM";
  }
}

// The symbolic name of an errno value, for messages ("EMFILE").
inline const char* errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "E?";
  }
}

// Throws the error for a failed system call: `what` says what we were doing, `syscall` which
// call failed; the code follows errno (ERR_RINGWIRE_SYSTEM for anything without its own).
[[noreturn]] inline void throw_errno(int err, const std::string& what, const char* syscall) {
  throw Error(code_for_errno(err), what + ": " + syscall + " failed with " + errno_name(err) + " (" + std::strerror(err) + ")",
              err, syscall);
}

inline uint32_t identity_check(const uint32_t* words) {
  uint32_t check = layout::IDENTITY_SALT;
  for (uint32_t i = 1; i < layout::IDENTITY_WORDS; i++) {
    if (i != layout::OFF_IDENTITY_CHECK / 4) check ^= words[i] * (2 * i + 1);
  }
  return check;
}

}  // namespace detail

// A name containing '/' is the path of a regular file holding the channel (a file-backed
// channel: "./data/jobs.ring", "/var/lib/app/jobs.ring"; a relative path is relative to the
// working directory); any other is a POSIX shared-memory object, "/rw.<name>".
inline bool is_file_name(const std::string& name) { return name.find('/') != std::string::npos; }

// The longest path a file-backed channel may have (PATH_MAX less its terminating NUL).
constexpr size_t kMaxPathLength = 4095;

// Names: 1..MAX_NAME_LENGTH of [A-Za-z0-9._-]; or a file's path (with a '/', not ending in
// one, at most kMaxPathLength bytes, no NUL). Throws ERR_RINGWIRE_INVALID_NAME.
inline void check_name(const std::string& name) {
  if (is_file_name(name)) {
    if (name.size() > kMaxPathLength || name.find('\0') != std::string::npos) {
      throw Error("ERR_RINGWIRE_INVALID_NAME", "a channel file's path must be at most " + std::to_string(kMaxPathLength) +
                                                   " bytes, without NUL characters");
    }
    if (name.back() == '/') {
      throw Error("ERR_RINGWIRE_INVALID_NAME", "channel path '" + name + "' names a directory; give the path of a file");
    }
    return;
  }
  if (name.empty() || name.size() > layout::MAX_NAME_LENGTH) {
    throw Error("ERR_RINGWIRE_INVALID_NAME",
                "channel name must be 1 to " + std::to_string(layout::MAX_NAME_LENGTH) + " characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      throw Error("ERR_RINGWIRE_INVALID_NAME",
                  "channel name may hold only letters, digits, '.', '_' and '-' (or be a file's path, with a '/')");
    }
  }
}

inline std::string segment_path(const std::string& name) { return "/rw." + name; }

// The directory holding a file-backed channel's path ("." for "./x", "/" for "/x").
inline std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The names of a NAMED_SEMAPHORE channel's semaphores (layout.h): "/rws.<key>.d" and ".s".
inline std::string semaphore_name(uint64_t key, bool data) {
  char text[32];
  std::snprintf(text, sizeof text, "/rws.%016llx.%c", static_cast<unsigned long long>(key), data ? 'd' : 's');
  return text;
}

// Where shm_open keeps its objects on Linux (glibc and musl alike): "/rw.x" is this folder's rw.x.
constexpr const char* kShmDir = "/dev/shm";

// The semaphores live in the header (layout.h); a libc whose sem_t is bigger cannot use them.
// (glibc's sem_t is 32 bytes; peers on one semaphore channel must agree on one libc's format.)
static_assert(sizeof(sem_t) <= layout::SEMAPHORE_BYTES, "sem_t fits its place in the header");

// Where a channel's bytes are: a POSIX shared-memory object, a regular file, or an anonymous
// memfd (created with create_anonymous, opened from a descriptor).
enum class Backing : uint32_t { kShm = 0, kFile = 1, kAnonymous = 2 };

struct CreateOptions {
  uint32_t capacity = layout::DEFAULT_CAPACITY;
  uint32_t mode = layout::MODE_SPSC;
  uint32_t wait_mechanism = layout::WAIT_FUTEX;
  uint32_t default_wait = layout::DEFAULT_WAIT_PARK;
  uint32_t flags = 0;
  // The largest message (layout.h, "Fragments"); 0: DEFAULT_MAX_MESSAGE_SIZE, or MPMC's
  // record limit. MPMC takes at most max_message_for(capacity).
  uint32_t max_message_size = 0;
};

// The max_message_size a channel is created with (0 asks for the mode's default), or 0 if
// `requested` is out of range for the mode and capacity.
inline uint32_t resolve_max_message_size(uint32_t mode, uint32_t capacity, uint32_t requested) {
  const uint32_t record_limit = layout::max_message_for(capacity);
  if (mode == layout::MODE_MPMC) return requested == 0 ? record_limit : requested <= record_limit ? requested : 0;
  if (requested == 0) return layout::DEFAULT_MAX_MESSAGE_SIZE;
  return requested <= layout::MAX_MESSAGE_SIZE_LIMIT ? requested : 0;
}

namespace detail {

inline std::string size_text(double bytes) {
  char text[32];
  if (bytes >= 1 << 30) std::snprintf(text, sizeof text, "%.1f GiB", bytes / (1 << 30));
  else if (bytes >= 1 << 20) std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1 << 20));
  else std::snprintf(text, sizeof text, "%.0f KiB", bytes / 1024);
  return text;
}

// Reserves every page of the object now, so that a full /dev/shm fails creation here rather
// than killing the first process to touch a page tmpfs cannot supply (SIGBUS).
inline void reserve(int fd, const std::string& name, size_t size, Backing backing) {
  int err;
  // tmpfs gives up with EINTR when a signal arrives during a large allocation: try again.
  do err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  while (err == EINTR);
  if (err == 0) return;
  if (err == ENOSPC && backing == Backing::kFile) {
    throw Error("ERR_RINGWIRE_NO_SPACE", "cannot create channel '" + name + "': its file system has no room for " +
                                             size_text(static_cast<double>(size)), err, "posix_fallocate");
  }
  if (err == ENOSPC) {
    struct statvfs vfs;
    const double free_bytes = fstatvfs(fd, &vfs) == 0 ? static_cast<double>(vfs.f_bavail) * vfs.f_frsize : -1;
    throw Error("ERR_RINGWIRE_NO_SPACE",
                "cannot create channel '" + name + "': it needs " + size_text(static_cast<double>(size)) + " of shared memory and " +
                    std::string(kShmDir) + " has " + (free_bytes < 0 ? std::string("less") : size_text(free_bytes)) +
                    " free; remove channels no longer used (gc()), choose a smaller capacity, or give " + kShmDir +
                    " more room (Docker: --shm-size=1g; Kubernetes: an emptyDir with medium Memory mounted there; "
                    "otherwise mount -o remount,size=1G " + kShmDir + ")",
                err, "posix_fallocate");
  }
  if (err == EOPNOTSUPP || err == EINVAL) {
    // A file system without fallocate (not tmpfs): size it sparse, as before.
    if (ftruncate(fd, static_cast<off_t>(size)) == 0) return;
    throw_errno(errno, "cannot size channel '" + name + "'", "ftruncate");
  }
  throw_errno(err, "cannot size channel '" + name + "'", "posix_fallocate");
}

// Writes the identity line (magic last, with release) and initialises the semaphores (or, for
// named ones, stores their key).
inline void write_header(int fd, const std::string& name, const CreateOptions& o, uint64_t semaphore_key) {
  namespace L = layout;
  void* base = mmap(nullptr, L::HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) throw_errno(errno, "cannot map channel '" + name + "'", "mmap");
  auto* bytes = static_cast<uint8_t*>(base);
  auto* words = static_cast<uint32_t*>(base);
  if (o.wait_mechanism == L::WAIT_SEMAPHORE) {
    for (uint32_t offset : {L::OFF_DATA_SEMAPHORE, L::OFF_SPACE_SEMAPHORE}) {
      if (sem_init(reinterpret_cast<sem_t*>(bytes + offset), 1, 0) != 0) {
        const int err = errno;
        munmap(base, L::HEADER_SIZE);
        throw_errno(err, "cannot create the semaphores of channel '" + name + "'", "sem_init");
      }
    }
  }
  if (o.wait_mechanism == L::WAIT_NAMED_SEMAPHORE) {
    words[L::OFF_SEMAPHORE_KEY / 4] = static_cast<uint32_t>(semaphore_key);
    words[L::OFF_SEMAPHORE_KEY / 4 + 1] = static_cast<uint32_t>(semaphore_key >> 32);
  }
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t created_ms = static_cast<uint64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
  words[L::OFF_VERSION / 4] = L::VERSION;
  words[L::OFF_HEADER_SIZE / 4] = L::HEADER_SIZE;
  words[L::OFF_CAPACITY / 4] = o.capacity;
  words[L::OFF_MODE / 4] = o.mode;
  words[L::OFF_WAIT_MECHANISM / 4] = o.wait_mechanism;
  words[L::OFF_DEFAULT_WAIT / 4] = o.default_wait;
  words[L::OFF_MAX_MESSAGE / 4] = L::max_message_for(o.capacity);
  words[L::OFF_CREATOR_UID / 4] = static_cast<uint32_t>(geteuid());
  words[L::OFF_CREATOR_PID / 4] = static_cast<uint32_t>(getpid());
  words[L::OFF_CREATED_AT_LOW / 4] = static_cast<uint32_t>(created_ms);
  words[L::OFF_CREATED_AT_HIGH / 4] = static_cast<uint32_t>(created_ms >> 32);
  words[L::OFF_RECORD_ALIGNMENT / 4] = L::RECORD_ALIGNMENT;
  words[L::OFF_RECORD_HEADER_SIZE / 4] = L::RECORD_HEADER_SIZE;
  words[L::OFF_FLAGS / 4] = o.flags;
  words[L::OFF_MAX_MESSAGE_SIZE / 4] = resolve_max_message_size(o.mode, o.capacity, o.max_message_size);
  words[L::OFF_IDENTITY_CHECK / 4] = identity_check(words);
  // release: an opener that acquires the magic sees the whole identity line.
  __atomic_store_n(&words[L::OFF_MAGIC / 4], L::MAGIC, __ATOMIC_RELEASE);
  munmap(base, L::HEADER_SIZE);
}

[[noreturn]] inline void throw_exists(const std::string& name) {
  throw Error("ERR_RINGWIRE_EXISTS", "channel '" + name + "' exists; open it with openSender/openReceiver or unlinkChannel('" +
                                         name + "') first");
}

#ifdef __linux__
// Gives the nameless object open as `fd` its name (`target`: its path); false if this system
// cannot (then the caller creates it under its name instead). Throws ERR_RINGWIRE_EXISTS if
// the name is taken.
inline bool link_nameless(int fd, const std::string& name, const std::string& target) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
  int err = errno;
  if (err == ENOENT && access("/proc/self/fd", F_OK) != 0) {
    // No /proc: linking a descriptor directly needs CAP_DAC_READ_SEARCH.
    if (linkat(fd, "", AT_FDCWD, target.c_str(), AT_EMPTY_PATH) == 0) return true;
    err = errno;
    if (err == ENOENT || err == EPERM) return false;
  }
  if (err == EEXIST) throw_exists(name);
  throw_errno(err, "cannot name channel '" + name + "'", "linkat");
}
#endif

// 64 random bits (the key of a channel's named semaphores).
inline uint64_t random_key() {
  uint64_t key = 0;
#ifdef __linux__
  if (getrandom(&key, sizeof key, 0) == sizeof key) return key;
#endif
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  key = static_cast<uint64_t>(now.tv_nsec) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(now.tv_sec) << 20 ^
        static_cast<uint64_t>(getpid()) << 40 ^ reinterpret_cast<uintptr_t>(&key);
  return key;
}

// Removes a NAMED_SEMAPHORE channel's semaphores (those already gone are no error).
inline void unlink_named_semaphores(uint64_t key) {
  sem_unlink(semaphore_name(key, true).c_str());
  sem_unlink(semaphore_name(key, false).c_str());
}

// Creates a NAMED_SEMAPHORE channel's two semaphores exclusively (0600), under a fresh key
// whenever one is taken (nobody can plant a name to block a channel), and returns the key.
inline uint64_t create_named_semaphores(const std::string& name) {
  for (int attempt = 0;; attempt++) {
    const uint64_t key = random_key();
    sem_t* data = sem_open(semaphore_name(key, true).c_str(), O_CREAT | O_EXCL, 0600, 0);
    if (data == SEM_FAILED) {
      if (errno == EEXIST && attempt < 16) continue;
      throw_errno(errno, "cannot create the semaphores of channel '" + name + "'", "sem_open");
    }
    sem_close(data);
    sem_t* space = sem_open(semaphore_name(key, false).c_str(), O_CREAT | O_EXCL, 0600, 0);
    if (space == SEM_FAILED) {
      const int err = errno;
      sem_unlink(semaphore_name(key, true).c_str());
      if (err == EEXIST && attempt < 16) continue;
      throw_errno(err, "cannot create the semaphores of channel '" + name + "'", "sem_open");
    }
    sem_close(space);
    return key;
  }
}

// Makes a directory entry durable (a created or removed file-backed channel survives a crash
// of the machine as it was left).
inline void sync_directory(const std::string& dir, const std::string& name) {
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) throw_errno(errno, "cannot sync the directory of channel '" + name + "'", "open");
  const int ok = fsync(dir_fd);
  const int err = errno;
  close(dir_fd);
  if (ok != 0 && err != EINVAL) throw_errno(err, "cannot sync the directory of channel '" + name + "'", "fsync");
}

// Checks what create_segment and create_anonymous are given.
inline void check_create_options(const CreateOptions& o, bool anonymous) {
  namespace L = layout;
  if (!L::is_power_of_two(o.capacity) || o.capacity < L::MIN_CAPACITY || o.capacity > L::MAX_CAPACITY) {
    throw Error("ERR_RINGWIRE_INVALID_ARG", "capacity must be a power of two from " +
                                                std::to_string(L::MIN_CAPACITY) + " to " + std::to_string(L::MAX_CAPACITY));
  }
  if (!L::is_known_mode(o.mode) ||
      (o.wait_mechanism != L::WAIT_FUTEX && o.wait_mechanism != L::WAIT_SEMAPHORE &&
       o.wait_mechanism != L::WAIT_NAMED_SEMAPHORE) ||
      (o.default_wait != L::DEFAULT_WAIT_PARK && o.default_wait != L::DEFAULT_WAIT_SPIN)) {
    throw Error("ERR_RINGWIRE_INVALID_ARG", "unknown mode or wait strategy");
  }
  if (anonymous && o.wait_mechanism == L::WAIT_NAMED_SEMAPHORE) {
    throw Error("ERR_RINGWIRE_INVALID_ARG",
                "an anonymous channel cannot use named semaphores: nothing would remove their names when it goes; "
                "use wait 'semaphore' or 'futex'");
  }
  if (resolve_max_message_size(o.mode, o.capacity, o.max_message_size) == 0) {
    throw Error("ERR_RINGWIRE_INVALID_ARG",
                o.mode == L::MODE_MPMC
                    ? "maxMessageSize of an MPMC channel is at most its ring's record limit (" +
                          std::to_string(L::max_message_for(o.capacity)) + " bytes): MPMC carries no fragments"
                    : "maxMessageSize must be from 1 to " + std::to_string(L::MAX_MESSAGE_SIZE_LIMIT));
  }
}

}  // namespace detail

// Creates a channel exclusively (mode 0600), atomically where the system allows (layout.h):
// a creator killed at any instant leaves nothing, or a complete channel. A name with a '/' is
// a file's path (a file-backed channel; the file, and its directory entry, are synced before
// this returns). Throws ERR_RINGWIRE_EXISTS if the name is taken, ERR_RINGWIRE_NO_SPACE if
// /dev/shm (or the file's file system) cannot hold it.
inline void create_segment(const std::string& name, const CreateOptions& o) {
  namespace L = layout;
  check_name(name);
  detail::check_create_options(o, false);
  const bool file = is_file_name(name);
  const Backing backing = file ? Backing::kFile : Backing::kShm;
  const std::string path = file ? name : segment_path(name);
  const std::string dir = file ? directory_of(name) : std::string(kShmDir);
  const size_t size = static_cast<size_t>(L::HEADER_SIZE) + o.capacity;
  const uint64_t key = o.wait_mechanism == L::WAIT_NAMED_SEMAPHORE ? detail::create_named_semaphores(name) : 0;
  // Built nameless first, named last (layout.h, "Creation is atomic").
  for (int attempt = 0;; attempt++) {
    int fd = -1;
    bool nameless = false;
#ifdef __linux__
    if (attempt == 0) {
      fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) {
        nameless = true;
      } else if (errno == EMFILE || errno == ENFILE || errno == ENOSPC || errno == ENOMEM ||
                 (file && (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == EROFS))) {
        const int err = errno;
        if (key != 0) detail::unlink_named_semaphores(key);
        detail::throw_errno(err, "cannot create channel '" + name + "' in directory '" + dir + "'", "open");
      }
    }
#endif
    if (!nameless) {
      fd = file ? open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                : shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
      if (fd < 0) {
        const int err = errno;
        if (key != 0) detail::unlink_named_semaphores(key);
        if (err == EEXIST) detail::throw_exists(name);
        detail::throw_errno(err, "cannot create channel '" + name + "'", file ? "open" : "shm_open");
      }
    }
    try {
      if (fchmod(fd, 0600) != 0) detail::throw_errno(errno, "cannot set the mode of channel '" + name + "'", "fchmod");
      detail::reserve(fd, name, size, backing);
      detail::write_header(fd, name, o, key);
      if (file && fsync(fd) != 0) detail::throw_errno(errno, "cannot sync channel '" + name + "'", "fsync");
#ifdef __linux__
      if (nameless && !detail::link_nameless(fd, name, file ? path : std::string(kShmDir) + path)) {
        close(fd);
        continue;  // cannot name a nameless object here: create it under its name
      }
#endif
      if (file) detail::sync_directory(dir, name);
    } catch (...) {
      close(fd);
      if (!nameless) file ? unlink(path.c_str()) : shm_unlink(path.c_str());
      if (key != 0) detail::unlink_named_semaphores(key);
      throw;
    }
    close(fd);
    return;
  }
}

// Creates an anonymous channel (Linux: memfd_create): no name anywhere, sealed against
// shrinking and growing once sized (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), so no peer can
// shrink it under another's mapping (SIGBUS). Returns its descriptor (close-on-exec: hand it
// to a child explicitly); the memory goes when the last descriptor and mapping of it do.
// Peers open it with MappedSegment(Descriptor{fd}).
inline int create_anonymous(const CreateOptions& o) {
  namespace L = layout;
  const std::string name = "anonymous";
  detail::check_create_options(o, true);
#if defined(__linux__) && defined(MFD_ALLOW_SEALING)
  const int fd = memfd_create("ringwire", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) detail::throw_errno(errno, "cannot create an anonymous channel", "memfd_create");
  try {
    if (fchmod(fd, 0600) != 0) detail::throw_errno(errno, "cannot set the mode of an anonymous channel", "fchmod");
    detail::reserve(fd, name, static_cast<size_t>(L::HEADER_SIZE) + o.capacity, Backing::kAnonymous);
    detail::write_header(fd, name, o, 0);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      detail::throw_errno(errno, "cannot seal an anonymous channel", "fcntl");
    }
  } catch (...) {
    close(fd);
    throw;
  }
  return fd;
#else
  (void)o;
  throw Error("ERR_RINGWIRE_SYSTEM", "anonymous channels need Linux (memfd_create with sealing)", ENOSYS, "memfd_create");
#endif
}

namespace detail {

// The object's descriptor for reading (unlink_segment), or -1 if it does not exist.
inline int open_object(const std::string& name, int flags) {
  if (is_file_name(name)) return open(name.c_str(), flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  return shm_open(segment_path(name).c_str(), flags, 0);
}

// The key of a NAMED_SEMAPHORE channel's semaphores, read from the header open as `fd`; 0 for
// anything else (another mechanism, not a channel, too short).
inline uint64_t peek_semaphore_key(int fd, bool* is_channel) {
  namespace L = layout;
  *is_channel = false;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(L::HEADER_SIZE)) return 0;
  void* head = mmap(nullptr, L::HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  if (head == MAP_FAILED) return 0;
  const auto* words = static_cast<const uint32_t*>(head);
  uint32_t identity[L::IDENTITY_WORDS];
  identity[0] = __atomic_load_n(&words[0], __ATOMIC_ACQUIRE);
  for (uint32_t i = 1; i < L::IDENTITY_WORDS; i++) identity[i] = words[i];
  *is_channel = identity[0] == L::MAGIC && identity[L::OFF_IDENTITY_CHECK / 4] == identity_check(identity);
  uint64_t key = 0;
  if (*is_channel && identity[L::OFF_WAIT_MECHANISM / 4] == L::WAIT_NAMED_SEMAPHORE) {
    key = words[L::OFF_SEMAPHORE_KEY / 4] | static_cast<uint64_t>(words[L::OFF_SEMAPHORE_KEY / 4 + 1]) << 32;
  }
  munmap(head, L::HEADER_SIZE);
  return key;
}

}  // namespace detail

// Removes the name (and a NAMED_SEMAPHORE channel's semaphores); mappings stay valid. False if
// there was none. A file is removed only if it is a ringwire channel (ERR_RINGWIRE_INCOMPATIBLE
// otherwise: unlinkChannel is no general-purpose rm), and the removal is synced.
inline bool unlink_segment(const std::string& name) {
  check_name(name);
  const bool file = is_file_name(name);
  const int fd = detail::open_object(name, O_RDONLY);
  if (fd < 0 && errno == ENOENT) return false;
  bool is_channel = false;
  uint64_t key = 0;
  if (fd >= 0) {
    key = detail::peek_semaphore_key(fd, &is_channel);
    struct stat opened, named;
    const bool same = fstat(fd, &opened) == 0 && lstat(file ? name.c_str() : (std::string(kShmDir) + segment_path(name)).c_str(), &named) == 0 &&
                      opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
    close(fd);
    if (file && (!is_channel || !same)) {
      throw Error("ERR_RINGWIRE_INCOMPATIBLE", "'" + name + "' is not a ringwire channel; not removed");
    }
  } else if (file) {
    detail::throw_errno(errno, "cannot remove channel '" + name + "'", "open");
  }
  if (file) {
    if (unlink(name.c_str()) != 0) {
      if (errno == ENOENT) return false;
      detail::throw_errno(errno, "cannot remove channel '" + name + "'", "unlink");
    }
    detail::sync_directory(directory_of(name), name);
  } else if (shm_unlink(segment_path(name).c_str()) != 0) {
    if (errno == ENOENT) return false;
    detail::throw_errno(errno, "cannot unlink channel '" + name + "'", "shm_unlink");
  }
  if (key != 0) detail::unlink_named_semaphores(key);
  return true;
}

// An open, validated mapping of a whole channel (header and ring), with its descriptor (for
// role locks). Move-only.
class MappedSegment {
 public:
  // An anonymous channel's descriptor (create_anonymous, or inherited from the parent).
  struct Descriptor {
    int fd;
  };

  // Opens and checks everything an opener can: owner, mode, size, magic, version, every field.
  explicit MappedSegment(const std::string& name) : name_(name) {
    check_name(name);
    backing_ = is_file_name(name) ? Backing::kFile : Backing::kShm;
    fd_ = backing_ == Backing::kFile ? open(name.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
                                     : shm_open(segment_path(name).c_str(), O_RDWR, 0);
    if (fd_ < 0) {
      if (errno == ENOENT) {
        throw Error("ERR_RINGWIRE_NOT_FOUND",
                    "channel '" + name + "' does not exist; create it with createChannel('" + name + "')");
      }
      detail::throw_errno(errno, "cannot open channel '" + name + "'", backing_ == Backing::kFile ? "open" : "shm_open");
    }
    try {
      validate();
    } catch (...) {
      release();
      throw;
    }
  }

  // Opens an anonymous channel from a descriptor this process holds (it stays the caller's:
  // the mapping opens its own description of the same memory, so its role locks are its own).
  // Refuses a descriptor that is not a sealed anonymous channel.
  explicit MappedSegment(Descriptor descriptor) : name_("fd:" + std::to_string(descriptor.fd)) {
    backing_ = Backing::kAnonymous;
    if (descriptor.fd < 0 || fcntl(descriptor.fd, F_GETFD) < 0) {
      throw Error("ERR_RINGWIRE_INVALID_ARG", "descriptor " + std::to_string(descriptor.fd) + " is not open in this process");
    }
#ifdef __linux__
    const std::string self = "/proc/self/fd/" + std::to_string(descriptor.fd);
    fd_ = open(self.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) detail::throw_errno(errno, "cannot open anonymous channel '" + name_ + "' (through /proc/self/fd)", "open");
    try {
      const int seals = fcntl(fd_, F_GET_SEALS);
      constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
      if (seals < 0 || (seals & kSeals) != kSeals) {
        refuse("ERR_RINGWIRE_INCOMPATIBLE",
               "is not an anonymous ringwire channel (not sealed against shrinking and growing)");
      }
      validate();
    } catch (...) {
      release();
      throw;
    }
#else
    throw Error("ERR_RINGWIRE_SYSTEM", "anonymous channels need Linux", ENOSYS, "open");
#endif
  }

  MappedSegment(MappedSegment&& other) noexcept { *this = std::move(other); }
  MappedSegment& operator=(MappedSegment&& other) noexcept {
    if (this != &other) {
      release();
      name_ = std::move(other.name_);
      identity_ = other.identity_;
      roles_ = std::move(other.roles_);
      other.roles_ = std::make_unique<std::atomic<uint64_t>>(0);
      backing_ = other.backing_;
      fd_ = other.fd_;
      base_ = other.base_;
      size_ = other.size_;
      named_[0] = other.named_[0];
      named_[1] = other.named_[1];
      other.fd_ = -1;
      other.base_ = nullptr;
      other.named_[0] = other.named_[1] = nullptr;
    }
    return *this;
  }
  MappedSegment(const MappedSegment&) = delete;
  MappedSegment& operator=(const MappedSegment&) = delete;
  ~MappedSegment() { release(); }

  const std::string& name() const { return name_; }
  const Identity& identity() const { return identity_; }
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  uint32_t* word(uint32_t offset) const { return reinterpret_cast<uint32_t*>(base_ + offset); }
  Backing backing() const { return backing_; }
  // The semaphore behind a signal word (semaphore channels: in the header, or named).
  sem_t* semaphore_for(uint32_t signal_offset) const {
    if (identity_.wait_mechanism == layout::WAIT_NAMED_SEMAPHORE) return named_[signal_offset == layout::OFF_DATA_SIGNAL ? 0 : 1];
    return detail::semaphore_at(base_, signal_offset);
  }
  // The signal word at `signal_offset` with its way of sleeping and waking.
  detail::Signal signal(uint32_t signal_offset) const {
    return detail::Signal(word(signal_offset), semaphore_for(signal_offset), identity_.wait_mechanism == layout::WAIT_FUTEX);
  }

  // A durability point for a file-backed channel: returns once everything written to the
  // mapping is on disk (msync MS_SYNC). Nothing to do for shared memory and anonymous channels.
  void sync() const {
    if (backing_ == Backing::kFile && base_ != nullptr && msync(base_, size_, MS_SYNC) != 0) {
      detail::throw_errno(errno, "cannot sync channel '" + name_ + "'", "msync");
    }
  }

  // Takes the role lock: an open-file-description lock on byte `role` of the segment file,
  // released by the kernel when this descriptor closes or the process dies. False if held,
  // by another descriptor or by another endpoint sharing this mapping (locks held through
  // one descriptor never conflict with each other, so this mapping counts its own).
  // Roles are 0..63: the SPSC sender and receiver bytes, and the MPMC endpoint slots.
  bool lock_role(uint32_t role) {
    if (role >= 64) throw Error("ERR_RINGWIRE_INVALID_ARG", "lock byte out of range");
    const uint64_t bit = uint64_t{1} << role;
    if ((roles_->fetch_or(bit) & bit) != 0) return false;
    struct flock fl = role_lock(role);
    if (fcntl(fd_, F_OFD_SETLK, &fl) == 0) return true;
    const int err = errno;
    roles_->fetch_and(~bit);
    if (err == EAGAIN || err == EACCES) return false;
    detail::throw_errno(err, "cannot lock channel '" + name_ + "'", "fcntl");
  }

  // Gives a role back (an endpoint closing while the mapping lives on).
  void unlock_role(uint32_t role) {
    struct flock fl = role_lock(role);
    fl.l_type = F_UNLCK;
    if (fd_ >= 0) fcntl(fd_, F_OFD_SETLK, &fl);
    roles_->fetch_and(~(uint64_t{1} << (role & 63)));
  }

  // Whether an endpoint sharing this mapping holds the role.
  bool role_held_here(uint32_t role) const {
    return (roles_->load() & (uint64_t{1} << (role & 63))) != 0;
  }

  // Whether a descriptor other than ours holds the role lock.
  bool role_locked_by_other(uint32_t role) const {
    struct flock fl = role_lock(role);
    if (fcntl(fd_, F_OFD_GETLK, &fl) != 0) detail::throw_errno(errno, "cannot inspect channel '" + name_ + "'", "fcntl");
    return fl.l_type != F_UNLCK;
  }

  // Unmaps and closes the descriptor (dropping role locks). Idempotent.
  void release() {
    for (sem_t*& sem : named_) {
      if (sem != nullptr) sem_close(sem);
      sem = nullptr;
    }
    if (base_ != nullptr) munmap(base_, size_);
    if (fd_ >= 0) close(fd_);
    base_ = nullptr;
    fd_ = -1;
  }

  // Hands the mapping to another owner (the addon's reference-counted mapping): after this,
  // release() no longer unmaps it.
  uint8_t* take_mapping() {
    uint8_t* base = base_;
    base_ = nullptr;
    return base;
  }

  // Likewise the named semaphores (null for other mechanisms): after this, the new owner
  // sem_close()s them.
  void take_named_semaphores(sem_t* out[2]) {
    out[0] = named_[0];
    out[1] = named_[1];
    named_[0] = named_[1] = nullptr;
  }

 private:
  static constexpr int kInitWaitMs = 200;

  // Checks the object open as fd_ (owner, mode, size, every header field) and maps it.
  void validate() {
    namespace L = layout;
    uint32_t words[L::IDENTITY_WORDS] = {};
    struct stat st;
    // Where creation cannot be atomic (layout.h) a creator fills the segment under its name
    // before publishing the magic: wait briefly for it.
    for (int waited = 0;; waited++) {
      if (fstat(fd_, &st) != 0) detail::throw_errno(errno, "channel '" + name_ + "' cannot be inspected", "fstat");
      if (!S_ISREG(st.st_mode)) refuse("ERR_RINGWIRE_INCOMPATIBLE", "is not a regular file");
      if (st.st_uid != geteuid()) {
        refuse("ERR_RINGWIRE_PERMISSION", "belongs to uid " + std::to_string(st.st_uid) +
                                              ", not to this process (uid " + std::to_string(geteuid()) + ")");
      }
      if (st.st_size >= static_cast<off_t>(L::HEADER_SIZE)) {
        void* head = mmap(nullptr, L::HEADER_SIZE, PROT_READ, MAP_SHARED, fd_, 0);
        if (head == MAP_FAILED) detail::throw_errno(errno, "channel '" + name_ + "' cannot be mapped", "mmap");
        const auto* shared = static_cast<const uint32_t*>(head);
        // acquire: pairs with the creator's release store of the magic.
        words[0] = __atomic_load_n(&shared[0], __ATOMIC_ACQUIRE);
        for (uint32_t i = 1; i < L::IDENTITY_WORDS; i++) words[i] = shared[i];
        munmap(head, L::HEADER_SIZE);
        if (words[0] != 0) break;
      }
      if (waited >= kInitWaitMs) break;
      detail::sleep_ms(1);
    }
    if (st.st_size < static_cast<off_t>(L::HEADER_SIZE)) {
      refuse("ERR_RINGWIRE_CORRUPT", "is truncated (" + std::to_string(st.st_size) + " bytes, smaller than the " +
                                         std::to_string(L::HEADER_SIZE) + "-byte header)");
    }
    if (words[L::OFF_MAGIC / 4] != L::MAGIC) refuse("ERR_RINGWIRE_INCOMPATIBLE", "is not a ringwire channel (bad magic)");
    if (words[L::OFF_VERSION / 4] != L::VERSION) {
      refuse("ERR_RINGWIRE_INCOMPATIBLE", "has layout version " + std::to_string(words[L::OFF_VERSION / 4]) +
                                              "; this ringwire reads version " + std::to_string(L::VERSION));
    }
    if (words[L::OFF_IDENTITY_CHECK / 4] != detail::identity_check(words)) {
      refuse("ERR_RINGWIRE_CORRUPT", "has a damaged header");
    }
    Identity& id = identity_;
    id.version = words[L::OFF_VERSION / 4];
    id.header_size = words[L::OFF_HEADER_SIZE / 4];
    id.capacity = words[L::OFF_CAPACITY / 4];
    id.mode = words[L::OFF_MODE / 4];
    id.wait_mechanism = words[L::OFF_WAIT_MECHANISM / 4];
    id.default_wait = words[L::OFF_DEFAULT_WAIT / 4];
    id.max_message = words[L::OFF_MAX_MESSAGE / 4];
    id.max_message_size = words[L::OFF_MAX_MESSAGE_SIZE / 4];
    id.creator_uid = words[L::OFF_CREATOR_UID / 4];
    id.creator_pid = words[L::OFF_CREATOR_PID / 4];
    id.flags = words[L::OFF_FLAGS / 4];
    id.created_at_ms = (static_cast<uint64_t>(words[L::OFF_CREATED_AT_HIGH / 4]) << 32) |
                       words[L::OFF_CREATED_AT_LOW / 4];
    if (id.header_size != L::HEADER_SIZE) refuse("ERR_RINGWIRE_INCOMPATIBLE", "has an unknown header size");
    const bool consistent =
        L::is_power_of_two(id.capacity) && id.capacity >= L::MIN_CAPACITY && id.capacity <= L::MAX_CAPACITY &&
        L::is_known_mode(id.mode) &&
        (id.wait_mechanism == L::WAIT_FUTEX || id.wait_mechanism == L::WAIT_SEMAPHORE ||
         id.wait_mechanism == L::WAIT_NAMED_SEMAPHORE) &&
        (id.default_wait == L::DEFAULT_WAIT_PARK || id.default_wait == L::DEFAULT_WAIT_SPIN) &&
        id.max_message == L::max_message_for(id.capacity) &&
        id.max_message_size != 0 && resolve_max_message_size(id.mode, id.capacity, id.max_message_size) == id.max_message_size &&
        words[L::OFF_RECORD_ALIGNMENT / 4] == L::RECORD_ALIGNMENT &&
        words[L::OFF_RECORD_HEADER_SIZE / 4] == L::RECORD_HEADER_SIZE;
    if (!consistent) refuse("ERR_RINGWIRE_CORRUPT", "has inconsistent header fields");
    if (backing_ == Backing::kAnonymous && id.wait_mechanism == L::WAIT_NAMED_SEMAPHORE) {
      refuse("ERR_RINGWIRE_CORRUPT", "is anonymous yet names semaphores, which ringwire never makes");
    }
    // Nobody else may read or write it (ringwire creates every channel 0600).
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      refuse("ERR_RINGWIRE_PERMISSION", std::string("is open to other users (mode ") + mode +
                                            "); ringwire makes channels 0600: chmod 600 it if it is yours");
    }
    size_ = static_cast<size_t>(L::HEADER_SIZE) + id.capacity;
    if (static_cast<size_t>(st.st_size) != size_) {
      refuse("ERR_RINGWIRE_CORRUPT", "is " + std::to_string(st.st_size) + " bytes; its header says " +
                                         std::to_string(size_));
    }
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (base == MAP_FAILED) detail::throw_errno(errno, "channel '" + name_ + "' cannot be mapped", "mmap");
    base_ = static_cast<uint8_t*>(base);
    if (id.wait_mechanism == L::WAIT_NAMED_SEMAPHORE) open_named_semaphores();
  }

  // A NAMED_SEMAPHORE channel's semaphores, by the key in its header (layout.h): each must
  // exist and be this user's alone.
  void open_named_semaphores() {
    namespace L = layout;
    const uint32_t* key_words = word(L::OFF_SEMAPHORE_KEY);
    const uint64_t key = __atomic_load_n(&key_words[0], __ATOMIC_RELAXED) |
                         static_cast<uint64_t>(__atomic_load_n(&key_words[1], __ATOMIC_RELAXED)) << 32;
    for (int i = 0; i < 2; i++) {
      const std::string sem_name = semaphore_name(key, i == 0);
#ifdef __linux__
      // glibc and musl keep "/x" as /dev/shm/sem.x: its owner and mode are checked there.
      struct stat st;
      const std::string file = std::string(kShmDir) + "/sem." + sem_name.substr(1);
      if (lstat(file.c_str(), &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
        refuse("ERR_RINGWIRE_PERMISSION", "has a semaphore, " + file + ", that is not this user's alone");
      }
#endif
      sem_t* sem = sem_open(sem_name.c_str(), 0);
      if (sem == SEM_FAILED) {
        if (errno == ENOENT) refuse("ERR_RINGWIRE_CORRUPT", "has lost its semaphore " + sem_name + " (removed by hand?)");
        detail::throw_errno(errno, "cannot open the semaphores of channel '" + name_ + "'", "sem_open");
      }
      named_[i] = sem;
    }
  }

  static struct flock role_lock(uint32_t role) {
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = role;
    fl.l_len = 1;
    return fl;
  }

  [[noreturn]] void refuse(const char* code, const std::string& why) {
    throw Error(code, "channel '" + name_ + "' " + why);
  }

  std::string name_;
  Identity identity_{};
  // Roles locked through this mapping's descriptor (heap-held so the mapping stays movable).
  std::unique_ptr<std::atomic<uint64_t>> roles_ = std::make_unique<std::atomic<uint64_t>>(0);
  Backing backing_ = Backing::kShm;
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  sem_t* named_[2] = {nullptr, nullptr};  // NAMED_SEMAPHORE: data, space
};

}  // namespace ringwire

#endif  // RINGWIRE_SEGMENT_H_
