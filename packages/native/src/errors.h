// Errors thrown to JavaScript carry a stable `code` (ERR_RINGWIRE_*), as Node's own do.
#ifndef RINGWIRE_ERRORS_H
#define RINGWIRE_ERRORS_H

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ringwire {

[[noreturn]] inline void ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

// Maps an errno from shm_open/sem_open/ftruncate/mmap to the closest ringwire code.
inline const char* CodeForErrno(int err) {
  switch (err) {
    case EEXIST: return "ERR_RINGWIRE_EXISTS";
    case ENOENT: return "ERR_RINGWIRE_NOT_FOUND";
    case EACCES:
    case EPERM: return "ERR_RINGWIRE_PERMISSION";
    case ENAMETOOLONG:
    case EINVAL: return "ERR_RINGWIRE_INVALID_ARG";
    default: return "ERR_RINGWIRE_SYSTEM";
  }
}

[[noreturn]] inline void ThrowErrno(Napi::Env env, int err, const std::string& what) {
  Napi::Error error = Napi::Error::New(env, what + ": " + std::strerror(err));
  error.Set("code", Napi::String::New(env, CodeForErrno(err)));
  error.Set("errno", Napi::Number::New(env, err));
  throw error;
}

}  // namespace ringwire

#endif  // RINGWIRE_ERRORS_H
