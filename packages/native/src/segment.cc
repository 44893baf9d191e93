#include "segment.h"

#include <sys/stat.h>

#include <climits>
#include <cstring>

#include "errors.h"
#include "ringwire/layout.h"

namespace ringwire {
namespace L = layout;

namespace {

// Runs `body`, turning a ringwire::Error into a JavaScript error with the same code.
template <typename F>
auto Translated(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    ThrowCoded(env, e.code().c_str(), e.what(), e.sys_errno(), e.syscall());
  }
}

std::string NameArg(Napi::Env env, const Napi::Value& value) {
  if (!value.IsString()) ThrowCoded(env, "ERR_RINGWIRE_INVALID_NAME", "channel name must be a string");
  std::string name = value.As<Napi::String>().Utf8Value();
  Translated(env, [&] { check_name(name); });
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

}  // namespace

// The creation options at info[first..first+5]: capacity, mode, wait mechanism, default wait,
// flags, max message size (optional).
CreateOptions CreateOptionsArgs(Napi::Env env, const Napi::CallbackInfo& info, size_t first) {
  CreateOptions options;
  options.capacity = Uint32Arg(env, info, first, "capacity");
  options.mode = Uint32Arg(env, info, first + 1, "mode");
  options.wait_mechanism = Uint32Arg(env, info, first + 2, "wait mechanism");
  options.default_wait = Uint32Arg(env, info, first + 3, "default wait");
  options.flags = Uint32Arg(env, info, first + 4, "flags");
  if (info.Length() > first + 5 && !info[first + 5].IsUndefined()) {
    options.max_message_size = Uint32Arg(env, info, first + 5, "max message size");
  }
  return options;
}

Napi::Value CreateSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = NameArg(env, info[0]);
  const CreateOptions options = CreateOptionsArgs(env, info, 1);
  Translated(env, [&] { create_segment(name, options); });
  return env.Undefined();
}

Napi::Value CreateAnonymous(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CreateOptions options = CreateOptionsArgs(env, info, 0);
  return Napi::Number::New(env, Translated(env, [&] { return create_anonymous(options); }));
}

Napi::Value UnlinkSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = NameArg(env, info[0]);
  return Napi::Boolean::New(env, Translated(env, [&] { return unlink_segment(name); }));
}

Napi::Function Segment::Define(Napi::Env env) {
  return DefineClass(env, "Segment",
                     {
                         InstanceMethod<&Segment::Lock>("lock"),
                         InstanceMethod<&Segment::IsLockedByOther>("isLockedByOther"),
                         InstanceMethod<&Segment::Unlock>("unlock"),
                         InstanceMethod<&Segment::Inode>("inode"),
                         InstanceMethod<&Segment::Wake>("wake"),
                         InstanceMethod<&Segment::WaitSync>("waitSync"),
                         InstanceMethod<&Segment::WaitAsync>("waitAsync"),
                         InstanceMethod<&Segment::RefWait>("refWait"),
                         InstanceMethod<&Segment::CancelWait>("cancelWait"),
                         InstanceMethod<&Segment::SemaphoreValue>("semaphoreValue"),
                         InstanceMethod<&Segment::Sync>("sync"),
                         InstanceMethod<&Segment::Close>("close"),
                     });
}

Segment::Segment(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Segment>(info) {
  Napi::Env env = info.Env();
  // A name (or a file's path), or the descriptor of an anonymous channel.
  if (info[0].IsNumber()) {
    const double fd = info[0].As<Napi::Number>().DoubleValue();
    if (!(fd >= 0 && fd <= INT_MAX) || fd != static_cast<double>(static_cast<int>(fd))) {
      ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", "fd must be a descriptor number (a non-negative integer)");
    }
    opened_ = Translated(env, [&] { return std::make_unique<MappedSegment>(MappedSegment::Descriptor{static_cast<int>(fd)}); });
    name_ = opened_->name();
  } else {
    name_ = NameArg(env, info[0]);
    opened_ = Translated(env, [&] { return std::make_unique<MappedSegment>(name_); });
  }
  identity_ = opened_->identity();
  const size_t size = opened_->size();
  void* base = opened_->take_mapping();
  mapping_ = std::make_shared<Mapping>(static_cast<uint8_t*>(base), size);
  opened_->take_named_semaphores(mapping_->named);
  backing_ = opened_->backing();
  const Identity& id = identity_;

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
  described.Set("maxMessageSize", id.max_message_size);
  described.Set("creatorUid", id.creator_uid);
  described.Set("creatorPid", id.creator_pid);
  described.Set("createdAt", static_cast<double>(id.created_at_ms));
  described.Set("flags", id.flags);
  described.Set("backing", backing_ == Backing::kFile ? "file" : backing_ == Backing::kAnonymous ? "anonymous" : "shm");
  self.Set("info", described);
}

Segment::~Segment() = default;

void Segment::EnsureOpen(Napi::Env env) const {
  if (!mapping_) ThrowCoded(env, "ERR_RINGWIRE_CLOSED", "channel '" + name_ + "' is closed");
}

uint32_t Segment::SignalOffset(Napi::Env env, const Napi::Value& offset) const {
  EnsureOpen(env);
  const uint32_t off = offset.IsNumber() ? offset.As<Napi::Number>().Uint32Value() : 0;
  if (off != L::OFF_DATA_SIGNAL && off != L::OFF_SPACE_SIGNAL) {
    ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", "not a signal word offset");
  }
  return off;
}

detail::Signal Segment::SignalAt(uint32_t offset) const {
  sem_t* named = mapping_->named[offset == L::OFF_DATA_SIGNAL ? 0 : 1];
  return detail::Signal(mapping_->word(offset),
                        identity_.wait_mechanism == L::WAIT_NAMED_SEMAPHORE ? named : detail::semaphore_at(mapping_->base, offset),
                        identity_.wait_mechanism == L::WAIT_FUTEX);
}

static uint32_t ExpectedArg(const Napi::Value& value) {
  return value.IsNumber() ? value.As<Napi::Number>().Uint32Value() : 0;
}

static int64_t TimeoutArg(const Napi::Value& value) {
  if (!value.IsNumber()) return -1;
  double ms = value.As<Napi::Number>().DoubleValue();
  if (!(ms >= 0)) return -1;
  return ms > 1e12 ? static_cast<int64_t>(1e12) : static_cast<int64_t>(ms);
}

// lock(role): takes this endpoint's role lock (released by the kernel when the process
// dies). False if another endpoint holds it.
Napi::Value Segment::Lock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  const uint32_t role = Uint32Arg(env, info, 0, "role");
  return Napi::Boolean::New(env, Translated(env, [&] { return opened_->lock_role(role); }));
}

// unlock(role): gives a lock taken with lock() back (a repairer done with a dead slot).
Napi::Value Segment::Unlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  const uint32_t role = Uint32Arg(env, info, 0, "role");
  if (role >= 64) ThrowCoded(env, "ERR_RINGWIRE_INVALID_ARG", "lock byte out of range");
  opened_->unlock_role(role);
  return env.Undefined();
}

Napi::Value Segment::IsLockedByOther(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  const uint32_t role = Uint32Arg(env, info, 0, "role");
  return Napi::Boolean::New(env, Translated(env, [&] { return opened_->role_locked_by_other(role); }));
}

// inode(): the object's inode, to tell whether its name still leads to it.
Napi::Value Segment::Inode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  struct stat st;
  if (fstat(opened_->fd(), &st) != 0) {
    ThrowCoded(env, "ERR_RINGWIRE_SYSTEM", "cannot inspect channel '" + name_ + "'", errno, "fstat");
  }
  return Napi::Number::New(env, static_cast<double>(st.st_ino));
}

// wake(signalOffset, waiters): wakes everyone parked on the signal (the TypeScript has done
// its doorbell's half: this is only the system call). A semaphore wakes one sleeper per
// token: one per parked endpoint (at least one), less the tokens not yet taken.
Napi::Value Segment::Wake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t offset = SignalOffset(env, info[0]);
  const uint32_t waiters = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 1;
  return Napi::Number::New(env, SignalAt(offset).wake(waiters == 0 ? 1 : waiters));
}

// Whether the signal at `offset` is an epoch word with several sleepers (EpochDoorbell) rather
// than a flag with one (FlagDoorbell): both of MPMC's, and broadcast's data line (its
// receivers). It decides how a semaphore wait treats a token (Signal::sleep_epoch).
bool Segment::EpochSignal(uint32_t offset) const {
  return identity_.mode == L::MODE_MPMC || (identity_.mode == L::MODE_BROADCAST && offset == L::OFF_DATA_SIGNAL);
}

// waitSync(signalOffset, timeoutMs, expected = 0): blocks this thread while the signal word
// equals `expected` (SPSC flags park on 0; MPMC epochs on the even value they armed).
Napi::Value Segment::WaitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t offset = SignalOffset(env, info[0]);
  const int64_t timeout_ms = TimeoutArg(info[1]);
  const uint32_t expected = ExpectedArg(info[2]);
  const detail::Signal signal = SignalAt(offset);
  return Napi::Number::New(env, EpochSignal(offset) ? signal.sleep_epoch(expected, timeout_ms)
                                                    : signal.sleep(expected, timeout_ms));
}

// waitAsync(signalOffset, timeoutMs, expected = 0, ref = true): parks on a native waiter thread;
// the environment's dispatcher gets (id, status) later. Returns the id. An unref'd wait
// (ref false) does not keep the event loop alive.
Napi::Value Segment::WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t offset = SignalOffset(env, info[0]);
  const int64_t timeout_ms = TimeoutArg(info[1]);
  const uint32_t expected = ExpectedArg(info[2]);
  const int64_t deadline = timeout_ms < 0 ? -1 : detail::monotonic_ns() + timeout_ms * 1'000'000;
  const bool keep_alive = info.Length() < 4 || info[3].IsUndefined() || info[3].ToBoolean().Value();
  auto* state = env.GetInstanceData<AddonState>();
  const detail::Signal signal = SignalAt(offset);
  uint32_t id;
  if (signal.futex()) {
    id = StartFutexWait(env, state, mapping_, signal.word(), expected, deadline, keep_alive);
  } else {
    id = StartSemaphoreWait(env, state, mapping_, signal, expected, EpochSignal(offset), deadline, keep_alive);
  }
  return Napi::Number::New(env, id);
}

// refWait(id, ref): whether a pending wait keeps the event loop alive; false if not pending.
Napi::Value Segment::RefWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t id = info[0].ToNumber().Uint32Value();
  return Napi::Boolean::New(env, SetWaitRef(env, env.GetInstanceData<AddonState>(), id, info[1].ToBoolean().Value()));
}

// semaphoreValue(signalOffset): the tokens waiting on a semaphore channel's signal (-1 for a
// futex channel); for stats and tests.
Napi::Value Segment::SemaphoreValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t offset = SignalOffset(env, info[0]);
  const detail::Signal signal = SignalAt(offset);
  return Napi::Number::New(env, signal.futex() ? -1 : detail::semaphore_tokens(signal.semaphore()));
}

namespace {

// msync(MS_SYNC) of a file-backed channel on the libuv pool, holding the mapping.
class SyncWorker : public Napi::AsyncWorker {
 public:
  SyncWorker(Napi::Env env, std::shared_ptr<Mapping> mapping, std::string name)
      : Napi::AsyncWorker(env, "ringwire.sync"), deferred_(Napi::Promise::Deferred::New(env)),
        mapping_(std::move(mapping)), name_(std::move(name)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (msync(mapping_->base, mapping_->size, MS_SYNC) != 0) error_ = errno;
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (error_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Value error = CodedError(env, detail::code_for_errno(error_),
                                   "cannot sync channel '" + name_ + "': msync failed with " + detail::errno_name(error_) +
                                       " (" + std::strerror(error_) + ")", error_, "msync");
    deferred_.Reject(error);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Mapping> mapping_;
  std::string name_;
  int error_ = 0;
};

}  // namespace

// sync(): a promise that resolves once the channel's file holds everything written to its
// mapping (msync MS_SYNC on the thread pool); at once for shared memory and anonymous ones.
Napi::Value Segment::Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureOpen(env);
  if (backing_ != Backing::kFile) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  auto* worker = new SyncWorker(env, mapping_, name_);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
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
  opened_.reset();  // closes the descriptor: drops the role locks
}

}  // namespace ringwire
