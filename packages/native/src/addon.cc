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
  // Every constant layout.h declares, from its own list (one place to add a constant).
#define RINGWIRE_EXPORT(name) o.Set(#name, Napi::Number::New(env, L::name));
  RINGWIRE_LAYOUT_CONSTANTS(RINGWIRE_EXPORT)
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
  exports.Set("createAnonymous", Napi::Function::New<CreateAnonymous>(env, "createAnonymous"));
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
