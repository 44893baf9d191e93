// Async waits: parked endpoints sleep on native threads, never on the event loop and never
// on libuv's thread pool. Futex waits share a few waiter threads per process, each watching
// up to 127 words with futex_waitv; semaphore waits (the fallback, which cannot be
// multiplexed) take one short-lived thread per parked endpoint. Results come back to the
// JavaScript thread of the environment that asked, through its thread-safe function.
#ifndef RINGWIRE_WAITER_H
#define RINGWIRE_WAITER_H

#include <napi.h>
#include <semaphore.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "mapping.h"
#include "ringwire/wait.h"

namespace ringwire {

// The part of an environment's state that waiter threads may touch; guarded by `mutex`.
struct EnvLink {
  std::mutex mutex;
  napi_threadsafe_function tsfn = nullptr;
  bool alive = true;
};

struct PendingWait;

// Per-environment (main thread or worker) addon state.
struct AddonState {
  std::shared_ptr<EnvLink> link = std::make_shared<EnvLink>();
  Napi::FunctionReference dispatcher;  // (id, status) => void
  uint32_t next_id = 1;
  uint32_t pending = 0;  // waits that keep the loop alive, started and not yet delivered or cancelled
  std::unordered_map<uint32_t, std::shared_ptr<PendingWait>> waits;
  Napi::FunctionReference segment_constructor;
  Napi::FunctionReference error_factory;  // (code, message, errno?, syscall?) => Error
};

void InitWaiter(Napi::Env env, AddonState* state);

// Both return the wait id later passed to the dispatcher with a WaitStatus (ringwire/wait.h).
// deadline_ns is on CLOCK_MONOTONIC, or -1 for none. The wait ends when the 32-bit word at `addr` differs from `expected` or
// is woken (a woken wait ends even if the word has meanwhile gone back to `expected`).
uint32_t StartFutexWait(Napi::Env env, AddonState* state, std::shared_ptr<Mapping> mapping,
                        uint32_t* addr, uint32_t expected, int64_t deadline_ns, bool keep_alive);
// `signal` is a semaphore channel's signal inside `mapping`, which the wait keeps mapped. A
// flag (`epoch` false) waits for a token, as Signal::sleep does once the word was checked;
// an epoch word (several sleepers) as Signal::sleep_epoch: ended by the word leaving
// `expected`, and a token taken while it holds `expected` is given back for a while.
uint32_t StartSemaphoreWait(Napi::Env env, AddonState* state, std::shared_ptr<Mapping> mapping,
                            const detail::Signal& signal, uint32_t expected, bool epoch,
                            int64_t deadline_ns, bool keep_alive);
// Whether a pending wait keeps the event loop alive (`keep_alive` above); false if not pending.
bool SetWaitRef(Napi::Env env, AddonState* state, uint32_t id, bool ref);
// True when the wait was still pending; its result will not be delivered.
bool CancelWait(Napi::Env env, AddonState* state, uint32_t id);

// Sync waits and wakes are not here: Segment (segment.cc) calls ringwire/wait.h directly.

}  // namespace ringwire

#endif  // RINGWIRE_WAITER_H
