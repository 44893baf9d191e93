// A mapped ringwire segment as seen from JavaScript: `new Segment(name)` opens and checks
// it, `buffer` is an ArrayBuffer over the whole mapping, and the methods park and wake.
#ifndef RINGWIRE_SEGMENT_H
#define RINGWIRE_SEGMENT_H

#include <napi.h>

#include <memory>
#include <string>

#include "mapping.h"
#include "ringwire/segment.h"
#include "ringwire/wait.h"
#include "waiter.h"

namespace ringwire {

class Segment : public Napi::ObjectWrap<Segment> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Segment(const Napi::CallbackInfo& info);
  ~Segment() override;

 private:
  Napi::Value Lock(const Napi::CallbackInfo& info);
  Napi::Value IsLockedByOther(const Napi::CallbackInfo& info);
  Napi::Value Unlock(const Napi::CallbackInfo& info);
  Napi::Value Inode(const Napi::CallbackInfo& info);
  Napi::Value Wake(const Napi::CallbackInfo& info);
  Napi::Value WaitSync(const Napi::CallbackInfo& info);
  Napi::Value WaitAsync(const Napi::CallbackInfo& info);
  Napi::Value RefWait(const Napi::CallbackInfo& info);
  Napi::Value CancelWait(const Napi::CallbackInfo& info);
  Napi::Value SemaphoreValue(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void EnsureOpen(Napi::Env env) const;
  uint32_t SignalOffset(Napi::Env env, const Napi::Value& offset) const;
  // The signal word at `offset` with this channel's wait mechanism (ringwire/wait.h).
  detail::Signal SignalAt(uint32_t offset) const;
  bool EpochSignal(uint32_t offset) const;
  void Release();

  std::string name_;
  Backing backing_ = Backing::kShm;
  // The opened segment without its mapping (moved into the shared owner below): its
  // descriptor carries the role locks.
  std::unique_ptr<MappedSegment> opened_;
  Identity identity_{};
  std::shared_ptr<Mapping> mapping_;
  // The ArrayBuffer's own claim on the mapping; dropped at close (after detaching) or when
  // the ArrayBuffer is collected, whichever comes first.
  struct BufferHold {
    std::shared_ptr<Mapping> mapping;
  };
  BufferHold* buffer_hold_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

// createSegment(name, capacity, mode, waitMechanism, defaultWait, flags): creates exclusively.
Napi::Value CreateSegment(const Napi::CallbackInfo& info);
// unlinkSegment(name): removes the segment's name; true if it existed.
Napi::Value UnlinkSegment(const Napi::CallbackInfo& info);
// createAnonymous(capacity, mode, waitMechanism, defaultWait, flags, maxMessageSize?): a sealed
// memfd channel; returns its descriptor.
Napi::Value CreateAnonymous(const Napi::CallbackInfo& info);

}  // namespace ringwire

#endif  // RINGWIRE_SEGMENT_H
