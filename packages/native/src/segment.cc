#include "segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "errors.h"
#include "ringwire/layout.h"

namespace ringwire {
namespace L = layout;

namespace {

constexpr int kInitWaitMs = 200;  // how long an opener waits for a creator to finish

std::string ValidName(Napi::Env env, const Napi::Value& value) {
  if (!value.IsString()) ThrowCoded(env, "ERR_RINGWIRE_INVALID_NAME", "channel name must be a string");
  std::string name = value.As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() > L::MAX_NAME_LENGTH) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_NAME",
               "channel name must be 1 to " + std::to_string(L::MAX_NAME_LENGTH) + " characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      ThrowCoded(env, "ERR_RINGWIRE_INVALID_NAME",
                 "channel name may hold only letters, digits, '.', '_' and '-'");
    }
  }
  return name;
}

uint32_t Uint32Arg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", std::string(what) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= UINT32_MAX) || v != static_cast<double>(static_cast<uint32_t>(v))) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", std::string(what) + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(v);
}

std::string SegmentPath(const std::string& name) { return "/rw." + name; }
std::string DataSemaphorePath(const std::string& name) { return "/rwd." + name; }
std::string SpaceSemaphorePath(const std::string& name) { return "/rws." + name; }

uint32_t IdentityCheck(const uint32_t* words) {
  uint32_t check = L::IDENTITY_SALT;
  for (uint32_t i = 1; i < L::IDENTITY_WORDS - 1; i++) check ^= words[i] * (2 * i + 1);
  return check;
}

void SleepMs(int ms) {
  timespec ts{0, ms * 1'000'000L};
  nanosleep(&ts, nullptr);
}

}  // namespace

Napi::Value CreateSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = ValidName(env, info[0]);
  const uint32_t capacity = Uint32Arg(env, info, 1, "capacity");
  const uint32_t mode = Uint32Arg(env, info, 2, "mode");
  const uint32_t wait_mechanism = Uint32Arg(env, info, 3, "wait mechanism");
  const uint32_t default_wait = Uint32Arg(env, info, 4, "default wait");
  const uint32_t flags = Uint32Arg(env, info, 5, "flags");
  if (!L::is_power_of_two(capacity) || capacity < L::MIN_CAPACITY || capacity > L::MAX_CAPACITY) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG",
               "capacity must be a power of two from " + std::to_string(L::MIN_CAPACITY) + " to " +
                   std::to_string(L::MAX_CAPACITY));
  }
  if ((mode != L::MODE_SPSC && mode != L::MODE_MPMC) ||
      (wait_mechanism != L::WAIT_FUTEX && wait_mechanism != L::WAIT_SEMAPHORE) ||
      (default_wait != L::DEFAULT_WAIT_PARK && default_wait != L::DEFAULT_WAIT_SPIN)) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", "unknown mode or wait strategy");
  }

  const std::string path = SegmentPath(name);
  int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      ThrowCoded(env, "ERR_RINGWIRE_EXISTS",
                 "channel '" + name + "' exists; open it with openSender/openReceiver or unlinkChannel('" +
                     name + "') first");
    }
    ThrowErrno(env, errno, "cannot create channel '" + name + "'");
  }
  // From here the name is ours: undo everything on failure.
  auto fail = [&](int err, const std::string& what) {
    close(fd);
    shm_unlink(path.c_str());
    sem_unlink(DataSemaphorePath(name).c_str());
    sem_unlink(SpaceSemaphorePath(name).c_str());
    ThrowErrno(env, err, what);
  };
  if (fchmod(fd, 0600) != 0) fail(errno, "cannot set the mode of channel '" + name + "'");
  const size_t size = static_cast<size_t>(L::HEADER_SIZE) + capacity;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) fail(errno, "cannot size channel '" + name + "'");
  if (wait_mechanism == L::WAIT_SEMAPHORE) {
    for (const std::string& sem_path : {DataSemaphorePath(name), SpaceSemaphorePath(name)}) {
      sem_unlink(sem_path.c_str());  // a leftover of a creator that died half-way
      sem_t* sem = sem_open(sem_path.c_str(), O_CREAT | O_EXCL, 0600, 0);
      if (sem == SEM_FAILED) fail(errno, "cannot create semaphore " + sem_path);
      sem_close(sem);
    }
  }
  void* base = mmap(nullptr, L::HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) fail(errno, "cannot map channel '" + name + "'");
  auto* words = static_cast<uint32_t*>(base);
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t created_ms = static_cast<uint64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
  words[L::OFF_VERSION / 4] = L::VERSION;
  words[L::OFF_HEADER_SIZE / 4] = L::HEADER_SIZE;
  words[L::OFF_CAPACITY / 4] = capacity;
  words[L::OFF_MODE / 4] = mode;
  words[L::OFF_WAIT_MECHANISM / 4] = wait_mechanism;
  words[L::OFF_DEFAULT_WAIT / 4] = default_wait;
  words[L::OFF_MAX_MESSAGE / 4] = L::max_message_for(capacity);
  words[L::OFF_CREATOR_UID / 4] = static_cast<uint32_t>(geteuid());
  words[L::OFF_CREATOR_PID / 4] = static_cast<uint32_t>(getpid());
  words[L::OFF_CREATED_AT_LOW / 4] = static_cast<uint32_t>(created_ms);
  words[L::OFF_CREATED_AT_HIGH / 4] = static_cast<uint32_t>(created_ms >> 32);
  words[L::OFF_RECORD_ALIGNMENT / 4] = L::RECORD_ALIGNMENT;
  words[L::OFF_RECORD_HEADER_SIZE / 4] = L::RECORD_HEADER_SIZE;
  words[L::OFF_FLAGS / 4] = flags;
  words[L::OFF_IDENTITY_CHECK / 4] = IdentityCheck(words);
  // release: an opener that acquires the magic sees the whole identity line.
  __atomic_store_n(&words[L::OFF_MAGIC / 4], L::MAGIC, __ATOMIC_RELEASE);
  munmap(base, L::HEADER_SIZE);
  close(fd);
  return env.Undefined();
}

Napi::Value UnlinkSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = ValidName(env, info[0]);
  const bool existed = shm_unlink(SegmentPath(name).c_str()) == 0;
  if (!existed && errno != ENOENT) ThrowErrno(env, errno, "cannot unlink channel '" + name + "'");
  sem_unlink(DataSemaphorePath(name).c_str());
  sem_unlink(SpaceSemaphorePath(name).c_str());
  return Napi::Boolean::New(env, existed);
}

Napi::Function Segment::Define(Napi::Env env) {
  return DefineClass(env, "Segment",
                     {
                         InstanceMethod<&Segment::Lock>("lock"),
                         InstanceMethod<&Segment::IsLockedByOther>("isLockedByOther"),
                         InstanceMethod<&Segment::Wake>("wake"),
                         InstanceMethod<&Segment::WaitSync>("waitSync"),
                         InstanceMethod<&Segment::WaitAsync>("waitAsync"),
                         InstanceMethod<&Segment::CancelWait>("cancelWait"),
                         InstanceMethod<&Segment::Close>("close"),
                     });
}

Segment::Segment(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Segment>(info) {
  Napi::Env env = info.Env();
  name_ = ValidName(env, info[0]);
  const std::string path = SegmentPath(name_);
  fd_ = shm_open(path.c_str(), O_RDWR, 0);
  if (fd_ < 0) {
    if (errno == ENOENT) {
      ThrowCoded(env, "ERR_RINGWIRE_NOT_FOUND",
                 "channel '" + name_ + "' does not exist; create it with createChannel('" + name_ + "')");
    }
    ThrowErrno(env, errno, "cannot open channel '" + name_ + "'");
  }
  auto refuse = [&](const char* code, const std::string& why) {
    close(fd_);
    fd_ = -1;
    ThrowCoded(env, code, "channel '" + name_ + "' " + why);
  };

  struct stat st;
  uint32_t words[L::IDENTITY_WORDS] = {};
  // A creator fills the segment between shm_open and publishing the magic; give it a moment.
  for (int waited = 0;; waited++) {
    if (fstat(fd_, &st) != 0) refuse("ERR_RINGWIRE_SYSTEM", "cannot be inspected");
    if (st.st_uid != geteuid()) {
      refuse("ERR_RINGWIRE_PERMISSION", "belongs to uid " + std::to_string(st.st_uid) +
                                            ", not to this process (uid " +
                                            std::to_string(geteuid()) + ")");
    }
    if (st.st_size >= static_cast<off_t>(L::HEADER_SIZE)) {
      void* base = mmap(nullptr, L::HEADER_SIZE, PROT_READ, MAP_SHARED, fd_, 0);
      if (base == MAP_FAILED) refuse("ERR_RINGWIRE_SYSTEM", "cannot be mapped");
      const auto* shared = static_cast<const uint32_t*>(base);
      // acquire: pairs with the creator's release store of the magic.
      words[0] = __atomic_load_n(&shared[0], __ATOMIC_ACQUIRE);
      for (uint32_t i = 1; i < L::IDENTITY_WORDS; i++) words[i] = shared[i];
      munmap(base, L::HEADER_SIZE);
      if (words[0] != 0) break;
    }
    if (waited >= kInitWaitMs) break;
    SleepMs(1);
  }
  if (st.st_size < static_cast<off_t>(L::HEADER_SIZE)) {
    refuse("ERR_RINGWIRE_CORRUPT", "is truncated (" + std::to_string(st.st_size) +
                                       " bytes, smaller than the " + std::to_string(L::HEADER_SIZE) +
                                       "-byte header)");
  }
  if (words[L::OFF_MAGIC / 4] != L::MAGIC) refuse("ERR_RINGWIRE_INCOMPATIBLE", "is not a ringwire channel (bad magic)");
  if (words[L::OFF_VERSION / 4] != L::VERSION) {
    refuse("ERR_RINGWIRE_INCOMPATIBLE", "has layout version " + std::to_string(words[L::OFF_VERSION / 4]) +
                                            "; this ringwire reads version " + std::to_string(L::VERSION));
  }
  if (words[L::OFF_IDENTITY_CHECK / 4] != IdentityCheck(words)) refuse("ERR_RINGWIRE_CORRUPT", "has a damaged header");
  Identity& id = identity_;
  id.version = words[L::OFF_VERSION / 4];
  id.header_size = words[L::OFF_HEADER_SIZE / 4];
  id.capacity = words[L::OFF_CAPACITY / 4];
  id.mode = words[L::OFF_MODE / 4];
  id.wait_mechanism = words[L::OFF_WAIT_MECHANISM / 4];
  id.default_wait = words[L::OFF_DEFAULT_WAIT / 4];
  id.max_message = words[L::OFF_MAX_MESSAGE / 4];
  id.creator_uid = words[L::OFF_CREATOR_UID / 4];
  id.creator_pid = words[L::OFF_CREATOR_PID / 4];
  id.flags = words[L::OFF_FLAGS / 4];
  id.created_at_ms = static_cast<double>((static_cast<uint64_t>(words[L::OFF_CREATED_AT_HIGH / 4]) << 32) |
                                         words[L::OFF_CREATED_AT_LOW / 4]);
  if (id.header_size != L::HEADER_SIZE) refuse("ERR_RINGWIRE_INCOMPATIBLE", "has an unknown header size");
  const bool consistent =
      L::is_power_of_two(id.capacity) && id.capacity >= L::MIN_CAPACITY && id.capacity <= L::MAX_CAPACITY &&
      (id.mode == L::MODE_SPSC || id.mode == L::MODE_MPMC) &&
      (id.wait_mechanism == L::WAIT_FUTEX || id.wait_mechanism == L::WAIT_SEMAPHORE) &&
      (id.default_wait == L::DEFAULT_WAIT_PARK || id.default_wait == L::DEFAULT_WAIT_SPIN) &&
      id.max_message == L::max_message_for(id.capacity) &&
      words[L::OFF_RECORD_ALIGNMENT / 4] == L::RECORD_ALIGNMENT &&
      words[L::OFF_RECORD_HEADER_SIZE / 4] == L::RECORD_HEADER_SIZE;
  if (!consistent) refuse("ERR_RINGWIRE_CORRUPT", "has inconsistent header fields");
  const size_t size = static_cast<size_t>(L::HEADER_SIZE) + id.capacity;
  if (static_cast<size_t>(st.st_size) != size) {
    refuse("ERR_RINGWIRE_CORRUPT", "is " + std::to_string(st.st_size) + " bytes; its header says " +
                                       std::to_string(size));
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (base == MAP_FAILED) refuse("ERR_RINGWIRE_SYSTEM", "cannot be mapped");
  mapping_ = std::make_shared<Mapping>(static_cast<uint8_t*>(base), size);
  if (id.wait_mechanism == L::WAIT_SEMAPHORE) {
    sem_t* data = sem_open(DataSemaphorePath(name_).c_str(), 0);
    sem_t* space = data == SEM_FAILED ? SEM_FAILED : sem_open(SpaceSemaphorePath(name_).c_str(), 0);
    if (space == SEM_FAILED) {
      if (data != SEM_FAILED) sem_close(data);
      mapping_.reset();
      refuse("ERR_RINGWIRE_CORRUPT", "uses semaphores, and they are missing");
    }
    data_semaphore_ = std::make_shared<NamedSemaphore>(data);
    space_semaphore_ = std::make_shared<NamedSemaphore>(space);
  }

  buffer_hold_ = new BufferHold{mapping_};
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, base, size, [](Napi::Env, void*, BufferHold* hold) { delete hold; }, buffer_hold_);
  buffer_ = Napi::Persistent(buffer);
  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("buffer", buffer);
  Napi::Object described = Napi::Object::New(env);
  described.Set("name", name_);
  described.Set("capacity", id.capacity);
  described.Set("mode", id.mode);
  described.Set("waitMechanism", id.wait_mechanism);
  described.Set("defaultWait", id.default_wait);
  described.Set("maxMessage", id.max_message);
  described.Set("creatorUid", id.creator_uid);
  described.Set("creatorPid", id.creator_pid);
  described.Set("createdAt", id.created_at_ms);
  described.Set("flags", id.flags);
  self.Set("info", described);
}

Segment::~Segment() {
  if (fd_ >= 0) close(fd_);
}

void Segment::EnsureOpen(Napi::Env env) const {
  if (!mapping_) ThrowCoded(env, "ERR_RINGWIRE_CLOSED", "channel '" + name_ + "' is closed");
}

uint32_t* Segment::SignalWord(Napi::Env env, const Napi::Value& offset) const {
  EnsureOpen(env);
  const uint32_t off = offset.IsNumber() ? offset.As<Napi::Number>().Uint32Value() : 0;
  if (off != L::OFF_DATA_SIGNAL && off != L::OFF_SPACE_SIGNAL) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", "not a signal word offset");
  }
  return mapping_->word(off);
}

std::shared_ptr<NamedSemaphore> Segment::SignalSemaphore(uint32_t offset) const {
  return offset == L::OFF_DATA_SIGNAL ? data_semaphore_ : space_semaphore_;
}

static int64_t TimeoutArg(const Napi::Value& value) {
  if (!value.IsNumber()) return -1;
  double ms = value.As<Napi::Number>().DoubleValue();
  if (!(ms >= 0)) return -1;
  return ms > 1e12 ? static_cast<int64_t>(1e12) : static_cast<int64_t>(ms);
}

// lock(role): takes this endpoint's role lock (an open-file-description lock on byte `role`
// of the segment file, released by the kernel when the process dies). False if another
// endpoint holds it.
static struct flock RoleLock(Napi::Env env, const Napi::CallbackInfo& info) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = Uint32Arg(env, info, 0, "role");
  fl.l_len = 1;
  return fl;
}

Napi::Value Segment::Lock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  struct flock fl = RoleLock(env, info);
  if (fcntl(fd_, F_OFD_SETLK, &fl) == 0) return Napi::Boolean::New(env, true);
  if (errno == EAGAIN || errno == EACCES) return Napi::Boolean::New(env, false);
  ThrowErrno(env, errno, "cannot lock channel '" + name_ + "'");
}

Napi::Value Segment::IsLockedByOther(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  struct flock fl = RoleLock(env, info);
  if (fcntl(fd_, F_OFD_GETLK, &fl) != 0) ThrowErrno(env, errno, "cannot inspect channel '" + name_ + "'");
  return Napi::Boolean::New(env, fl.l_type != F_UNLCK);
}

// wake(signalOffset, waiters): wakes everyone parked on the signal.
Napi::Value Segment::Wake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = SignalWord(env, info[0]);
  if (identity_.wait_mechanism == L::WAIT_FUTEX) return Napi::Number::New(env, FutexWake(word));
  // A semaphore wakes one sleeper per post: post once per counted waiter (at least one).
  uint32_t waiters = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 1;
  waiters = waiters == 0 ? 1 : (waiters > 1024 ? 1024 : waiters);
  sem_t* sem = SignalSemaphore(info[0].As<Napi::Number>().Uint32Value())->sem;
  for (uint32_t i = 0; i < waiters; i++) sem_post(sem);
  return Napi::Number::New(env, waiters);
}

// waitSync(signalOffset, timeoutMs): blocks this thread while the signal is 0.
Napi::Value Segment::WaitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = SignalWord(env, info[0]);
  const int64_t timeout_ms = TimeoutArg(info[1]);
  if (identity_.wait_mechanism == L::WAIT_FUTEX) return Napi::Number::New(env, FutexWaitSync(word, timeout_ms));
  // acquire: pairs with the waker's CAS of the signal.
  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != 0) return Napi::Number::New(env, WAIT_SIGNALLED);
  auto sem = SignalSemaphore(info[0].As<Napi::Number>().Uint32Value());
  return Napi::Number::New(env, SemaphoreWaitSync(sem->sem, timeout_ms < 0 ? INT32_MAX : timeout_ms));
}

// waitAsync(signalOffset, timeoutMs): parks on a native waiter thread; the environment's
// dispatcher gets (id, status) later. Returns the id.
Napi::Value Segment::WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* word = SignalWord(env, info[0]);
  const int64_t timeout_ms = TimeoutArg(info[1]);
  const int64_t deadline = timeout_ms < 0 ? -1 : MonotonicNowNs() + timeout_ms * 1'000'000;
  auto* state = env.GetInstanceData<AddonState>();
  uint32_t id;
  if (identity_.wait_mechanism == L::WAIT_FUTEX) {
    id = StartFutexWait(env, state, mapping_, word, deadline);
  } else {
    id = StartSemaphoreWait(env, state, SignalSemaphore(info[0].As<Napi::Number>().Uint32Value()), deadline);
  }
  return Napi::Number::New(env, id);
}

Napi::Value Segment::CancelWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t id = Uint32Arg(env, info, 0, "wait id");
  return Napi::Boolean::New(env, ringwire::CancelWait(env, env.GetInstanceData<AddonState>(), id));
}

// close(): detaches the ArrayBuffer (later access throws a TypeError in JavaScript, never
// faults), drops the role locks, and unmaps once no pending wait needs the memory.
Napi::Value Segment::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

void Segment::Release() {
  if (!mapping_) return;
  buffer_hold_->mapping.reset();
  buffer_hold_ = nullptr;  // the ArrayBuffer's finalizer frees it
  buffer_.Value().Detach();
  buffer_.Reset();
  mapping_.reset();
  data_semaphore_.reset();
  space_semaphore_.reset();
  close(fd_);
  fd_ = -1;
}

}  // namespace ringwire
