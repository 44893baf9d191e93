// Errors thrown to JavaScript carry a stable `code` (ERR_RINGWIRE_*), as Node's own do.
#ifndef RINGWIRE_ERRORS_H
#define RINGWIRE_ERRORS_H

#include <napi.h>

#include <string>

namespace ringwire {

[[noreturn]] inline void ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

}  // namespace ringwire

#endif  // RINGWIRE_ERRORS_H
