// Module entry: per-environment state (so the addon loads in worker threads), the layout
// constants for TypeScript, and the functions and class the channel API builds on.
#include <napi.h>

#include "ringwire/layout.h"
#include "segment.h"
#include "waiter.h"

namespace ringwire {
namespace {

// Keeps a function the TypeScript registers once per environment.
Napi::Value KeepFunction(const Napi::CallbackInfo& info, Napi::FunctionReference AddonState::*slot, const char* what) {
  auto* state = info.Env().GetInstanceData<AddonState>();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a function").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  state->*slot = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// setWaitDispatcher((id, status) => void): where finished async waits are reported.
Napi::Value SetWaitDispatcher(const Napi::CallbackInfo& info) {
  return KeepFunction(info, &AddonState::dispatcher, "dispatcher");
}

// setErrorFactory((code, message, errno?, syscall?) => Error): how the addon makes the errors
// it throws (the TypeScript's RingwireError).
Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  return KeepFunction(info, &AddonState::error_factory, "error factory");
}

Napi::Object Layout(Napi::Env env) {
  namespace L = layout;
  Napi::Object o = Napi::Object::New(env);
#define RINGWIRE_EXPORT(name) o.Set(#name, Napi::Number::New(env, L::name))
  RINGWIRE_EXPORT(MAGIC);
  RINGWIRE_EXPORT(VERSION);
  RINGWIRE_EXPORT(HEADER_SIZE);
  RINGWIRE_EXPORT(LINE_SIZE);
  RINGWIRE_EXPORT(OFF_MAGIC);
  RINGWIRE_EXPORT(OFF_VERSION);
  RINGWIRE_EXPORT(OFF_HEADER_SIZE);
  RINGWIRE_EXPORT(OFF_CAPACITY);
  RINGWIRE_EXPORT(OFF_MODE);
  RINGWIRE_EXPORT(OFF_WAIT_MECHANISM);
  RINGWIRE_EXPORT(OFF_DEFAULT_WAIT);
  RINGWIRE_EXPORT(OFF_MAX_MESSAGE);
  RINGWIRE_EXPORT(OFF_CREATOR_UID);
  RINGWIRE_EXPORT(OFF_CREATOR_PID);
  RINGWIRE_EXPORT(OFF_CREATED_AT_LOW);
  RINGWIRE_EXPORT(OFF_CREATED_AT_HIGH);
  RINGWIRE_EXPORT(OFF_RECORD_ALIGNMENT);
  RINGWIRE_EXPORT(OFF_RECORD_HEADER_SIZE);
  RINGWIRE_EXPORT(OFF_FLAGS);
  RINGWIRE_EXPORT(OFF_IDENTITY_CHECK);
  RINGWIRE_EXPORT(OFF_PRODUCER_POSITION);
  RINGWIRE_EXPORT(OFF_CONSUMER_POSITION);
  RINGWIRE_EXPORT(OFF_DATA_SIGNAL);
  RINGWIRE_EXPORT(OFF_RECEIVER_WAITERS);
  RINGWIRE_EXPORT(OFF_SPACE_SIGNAL);
  RINGWIRE_EXPORT(OFF_SENDER_WAITERS);
  RINGWIRE_EXPORT(OFF_STATE);
  RINGWIRE_EXPORT(OFF_SENDER_PID);
  RINGWIRE_EXPORT(OFF_RECEIVER_PID);
  RINGWIRE_EXPORT(OFF_SENDER_THREAD);
  RINGWIRE_EXPORT(OFF_RECEIVER_THREAD);
  RINGWIRE_EXPORT(OFF_MESSAGES_SENT);
  RINGWIRE_EXPORT(OFF_MESSAGES_RECEIVED);
  RINGWIRE_EXPORT(OFF_DELIVERED_POSITION);
  RINGWIRE_EXPORT(OFF_WRITTEN_POSITION);
  RINGWIRE_EXPORT(OFF_DATA_SEMAPHORE);
  RINGWIRE_EXPORT(OFF_SPACE_SEMAPHORE);
  RINGWIRE_EXPORT(SEMAPHORE_BYTES);
  RINGWIRE_EXPORT(OFF_RECEIVER_WAITERS_HIGH);
  RINGWIRE_EXPORT(OFF_SENDER_WAITERS_HIGH);
  RINGWIRE_EXPORT(STATE_ENDED);
  RINGWIRE_EXPORT(STATE_SENDER_ENDED);
  RINGWIRE_EXPORT(FLAG_PERSISTENT);
  RINGWIRE_EXPORT(FLAG_END_WITH_LAST_SENDER);
  RINGWIRE_EXPORT(SLOT_ENDED);
  RINGWIRE_EXPORT(MODE_SPSC);
  RINGWIRE_EXPORT(MODE_MPMC);
  RINGWIRE_EXPORT(WAIT_FUTEX);
  RINGWIRE_EXPORT(WAIT_SEMAPHORE);
  RINGWIRE_EXPORT(DEFAULT_WAIT_PARK);
  RINGWIRE_EXPORT(DEFAULT_WAIT_SPIN);
  RINGWIRE_EXPORT(RECORD_ALIGNMENT);
  RINGWIRE_EXPORT(RECORD_HEADER_SIZE);
  RINGWIRE_EXPORT(PADDING_LENGTH);
  RINGWIRE_EXPORT(MIN_CAPACITY);
  RINGWIRE_EXPORT(MAX_CAPACITY);
  RINGWIRE_EXPORT(DEFAULT_CAPACITY);
  RINGWIRE_EXPORT(MAX_NAME_LENGTH);
  RINGWIRE_EXPORT(ROLE_SENDER);
  RINGWIRE_EXPORT(ROLE_RECEIVER);
  RINGWIRE_EXPORT(OFF_CLAIM_POSITION);
  RINGWIRE_EXPORT(OFF_TAKE_POSITION);
  RINGWIRE_EXPORT(OFF_RELEASE_POSITION);
  RINGWIRE_EXPORT(OFF_SLOTS);
  RINGWIRE_EXPORT(SLOT_SIZE);
  RINGWIRE_EXPORT(MAX_SLOTS);
  RINGWIRE_EXPORT(SLOT_PID);
  RINGWIRE_EXPORT(SLOT_THREAD);
  RINGWIRE_EXPORT(SLOT_KIND);
  RINGWIRE_EXPORT(SLOT_INTENT);
  RINGWIRE_EXPORT(SLOT_MESSAGES);
  RINGWIRE_EXPORT(SLOT_SIZE_OR_END);
  RINGWIRE_EXPORT(SLOT_LOCK_BASE);
  RINGWIRE_EXPORT(KIND_SENDER);
  RINGWIRE_EXPORT(KIND_RECEIVER);
  RINGWIRE_EXPORT(INTENT_VALID);
  RINGWIRE_EXPORT(STATE_MASK);
  RINGWIRE_EXPORT(SLOT_SHIFT);
  RINGWIRE_EXPORT(SLOT_FIELD_MASK);
  RINGWIRE_EXPORT(REC_FREE);
  RINGWIRE_EXPORT(REC_CLAIMED);
  RINGWIRE_EXPORT(REC_COMMITTED);
  RINGWIRE_EXPORT(REC_RELEASED);
  RINGWIRE_EXPORT(REC_ABANDONED);
  RINGWIRE_EXPORT(SKIP);
#undef RINGWIRE_EXPORT
  o.Set("WAIT_SIGNALLED", Napi::Number::New(env, WAIT_SIGNALLED));
  o.Set("WAIT_TIMED_OUT", Napi::Number::New(env, WAIT_TIMED_OUT));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new AddonState();
  env.SetInstanceData<AddonState>(state);  // deleted by node-addon-api at environment teardown
  InitWaiter(env, state);
  exports.Set("layout", Layout(env));
  exports.Set("createSegment", Napi::Function::New<CreateSegment>(env, "createSegment"));
  exports.Set("unlinkSegment", Napi::Function::New<UnlinkSegment>(env, "unlinkSegment"));
  exports.Set("setWaitDispatcher", Napi::Function::New<SetWaitDispatcher>(env, "setWaitDispatcher"));
  exports.Set("setErrorFactory", Napi::Function::New<SetErrorFactory>(env, "setErrorFactory"));
  exports.Set("Segment", Segment::Define(env));
#ifdef __linux__
  exports.Set("platformHasFutex", Napi::Boolean::New(env, true));
#else
  exports.Set("platformHasFutex", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace
}  // namespace ringwire

static Napi::Object InitRingwire(Napi::Env env, Napi::Object exports) {
  return ringwire::Init(env, exports);
}

NODE_API_MODULE(ringwire, InitRingwire)
