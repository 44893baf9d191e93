// Errors thrown to JavaScript carry a stable `code` (ERR_RINGWIRE_*), as Node's own do. Once
// the TypeScript has registered its error factory (setErrorFactory), they are RingwireErrors:
// `instanceof RingwireError` holds for every error the addon throws, and ERR_RINGWIRE_SYSTEM
// errors carry `errno` and `syscall`.
#ifndef RINGWIRE_ERRORS_H
#define RINGWIRE_ERRORS_H

#include <napi.h>

#include <string>

#include "waiter.h"

namespace ringwire {

// The error ThrowCoded throws, made but not thrown (to reject a promise with).
inline Napi::Value CodedError(Napi::Env env, const char* code, const std::string& message, int sys_errno = 0,
                              const std::string& syscall = {}) {
  auto* state = env.GetInstanceData<AddonState>();
  if (state != nullptr && !state->error_factory.IsEmpty()) {
    Napi::Value made = state->error_factory.Call(
        {Napi::String::New(env, code), Napi::String::New(env, message),
         sys_errno != 0 ? Napi::Number::New(env, sys_errno) : env.Undefined(),
         syscall.empty() ? env.Undefined() : Napi::String::New(env, syscall)});
    if (env.IsExceptionPending()) throw Napi::Error(env, env.GetAndClearPendingException().Value());
    return made;
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (sys_errno != 0) error.Set("errno", Napi::Number::New(env, sys_errno));
  if (!syscall.empty()) error.Set("syscall", Napi::String::New(env, syscall));
  return error.Value();
}

[[noreturn]] inline void ThrowCoded(Napi::Env env, const char* code, const std::string& message, int sys_errno = 0,
                                    const std::string& syscall = {}) {
  throw Napi::Error(env, CodedError(env, code, message, sys_errno, syscall));
}

}  // namespace ringwire

#endif  // RINGWIRE_ERRORS_H
