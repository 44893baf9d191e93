// Resources shared between a Segment, the ArrayBuffer over its memory and pending waits.
// Each is released when its last owner lets go, so a wait that outlives close() never
// touches unmapped memory or a closed semaphore.
#ifndef RINGWIRE_MAPPING_H
#define RINGWIRE_MAPPING_H

#include <semaphore.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace ringwire {

struct Mapping {
  uint8_t* base;
  size_t size;
  Mapping(uint8_t* b, size_t s) : base(b), size(s) {}
  ~Mapping() { munmap(base, size); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  uint32_t* word(uint32_t offset) const { return reinterpret_cast<uint32_t*>(base + offset); }
};

struct NamedSemaphore {
  sem_t* sem;
  explicit NamedSemaphore(sem_t* s) : sem(s) {}
  ~NamedSemaphore() { sem_close(sem); }
  NamedSemaphore(const NamedSemaphore&) = delete;
  NamedSemaphore& operator=(const NamedSemaphore&) = delete;
};

}  // namespace ringwire

#endif  // RINGWIRE_MAPPING_H
