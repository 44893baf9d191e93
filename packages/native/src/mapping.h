// The mapping shared between a Segment, the ArrayBuffer over its memory and pending waits
// (futex words and semaphores live in it): unmapped when its last owner lets go, so a wait
// that outlives close() never touches unmapped memory.
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
  // A NAMED_SEMAPHORE channel's semaphores (data, space), closed with the mapping; else null.
  sem_t* named[2] = {nullptr, nullptr};
  Mapping(uint8_t* b, size_t s) : base(b), size(s) {}
  ~Mapping() {
    for (sem_t* sem : named) {
      if (sem != nullptr) sem_close(sem);
    }
    munmap(base, size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  uint32_t* word(uint32_t offset) const { return reinterpret_cast<uint32_t*>(base + offset); }
};


}  // namespace ringwire

#endif  // RINGWIRE_MAPPING_H
