// The stress tests' shared command-line pieces: the wait mechanism by name, and where their
// channels live (POSIX shared memory, or files in $RINGWIRE_STRESS_DIR: file-backed channels).
#ifndef RINGWIRE_STRESS_ARGS_H_
#define RINGWIRE_STRESS_ARGS_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ringwire/layout.h"

namespace stress {

// layout.h's WAIT_* for "futex", "semaphore" or "named-semaphore"; 0 for anything else.
inline uint32_t wait_mechanism(const char* name) {
  if (std::strcmp(name, "futex") == 0) return ringwire::layout::WAIT_FUTEX;
  if (std::strcmp(name, "semaphore") == 0) return ringwire::layout::WAIT_SEMAPHORE;
  if (std::strcmp(name, "named-semaphore") == 0) return ringwire::layout::WAIT_NAMED_SEMAPHORE;
  return 0;
}

// The channel `base`: a shared-memory name, or with RINGWIRE_STRESS_DIR set, the path of a
// file there (a file-backed channel).
inline std::string channel(const std::string& base) {
  const char* dir = std::getenv("RINGWIRE_STRESS_DIR");
  return dir == nullptr || *dir == '\0' ? base : std::string(dir) + "/" + base + ".ring";
}

}  // namespace stress

#endif  // RINGWIRE_STRESS_ARGS_H_
