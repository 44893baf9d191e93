#include "waiter.h"

#include "errors.h"
#include "ringwire/wait.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
// The kernel's futex_waitv entry (linux/futex.h, Linux >= 5.16).
struct futex_waitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t __reserved;
};
#endif

namespace ringwire {
namespace {

constexpr size_t kFutexWaitvMax = 128;         // the kernel's FUTEX_WAITV_MAX
constexpr size_t kWordsPerThread = kFutexWaitvMax - 1;  // one slot is the control word
constexpr int64_t kSemaphoreSliceNs = 50'000'000;       // re-check cancellation this often

struct WaitResult {
  uint32_t id;
  int32_t status;
};

// Hands a result to the JavaScript thread that asked. Never blocks.
void Deliver(const std::shared_ptr<EnvLink>& link, uint32_t id, int32_t status) {
  std::lock_guard<std::mutex> guard(link->mutex);
  if (!link->alive) return;
  auto* result = new WaitResult{id, status};
  if (napi_call_threadsafe_function(link->tsfn, result, napi_tsfn_nonblocking) != napi_ok) {
    delete result;
  }
}

struct FutexEntry {
  uint32_t id;
  std::shared_ptr<Mapping> mapping;  // keeps `addr` mapped while the kernel watches it
  uint32_t* addr;
  uint32_t expected;
  int64_t deadline_ns;
  std::shared_ptr<EnvLink> link;
};

// One thread watching up to kWordsPerThread shared words plus a private control word that
// is bumped whenever the set of entries changes.
class FutexWaiterThread {
 public:
  FutexWaiterThread() { std::thread([this] { Run(); }).detach(); }

  bool TryAdd(FutexEntry entry) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (entries_.size() >= kWordsPerThread) return false;
    entries_.push_back(std::move(entry));
    Bump();
    return true;
  }

  bool Remove(const EnvLink* link, uint32_t id) {
    std::lock_guard<std::mutex> guard(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->link.get() == link && it->id == id) {
        entries_.erase(it);
        Bump();
        return true;
      }
    }
    return false;
  }

  void RemoveAll(const EnvLink* link) {
    std::lock_guard<std::mutex> guard(mutex_);
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [link](const FutexEntry& e) { return e.link.get() == link; }),
                   entries_.end());
    Bump();
  }

 private:
  // Called with mutex_ held. seq_cst: the waiter thread reads control_ before sleeping and
  // the kernel compares it again, so a bump between the two makes futex_waitv return.
  void Bump() {
    control_.fetch_add(1, std::memory_order_seq_cst);
    detail::futex_wake(ControlWord(), /*process_shared=*/false);
  }

  uint32_t* ControlWord() { return reinterpret_cast<uint32_t*>(&control_); }

  void Run() {
    std::vector<struct futex_waitv> watch;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      watch.clear();
      watch.push_back({control_.load(std::memory_order_seq_cst),
                       reinterpret_cast<uint64_t>(&control_), FUTEX_32 | FUTEX_PRIVATE_FLAG, 0});
      int64_t deadline = INT64_MAX;
      for (const FutexEntry& e : entries_) {
        // Shared (not private) futex: the word lives in a MAP_SHARED mapping that other
        // processes wake.
        watch.push_back({e.expected, reinterpret_cast<uint64_t>(e.addr), FUTEX_32, 0});
        if (e.deadline_ns >= 0) deadline = std::min(deadline, e.deadline_ns);
      }
      lock.unlock();
      if (watch.size() == 1) {
        // Idle: sleep on the control word alone (works without futex_waitv too).
        detail::futex_wait(ControlWord(), static_cast<uint32_t>(watch[0].val), -1, /*process_shared=*/false);
        lock.lock();
        continue;
      }
      timespec ts = detail::timespec_of_ns(deadline);
      long woken = syscall(SYS_futex_waitv, watch.data(), watch.size(), 0,
                           deadline == INT64_MAX ? nullptr : &ts, CLOCK_MONOTONIC);
      uint64_t woken_addr = woken > 0 ? watch[woken].uaddr : 0;
      if (woken < 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) {
        // No futex_waitv (ENOSYS before Linux 5.16, or a seccomp filter): poll every
        // millisecond while waits are pending rather than spin; the value checks below
        // still resolve every wait, up to a millisecond late.
        detail::sleep_ms(1);
      }
      lock.lock();

      const int64_t now = detail::monotonic_ns();
      std::vector<FutexEntry> done;
      for (auto it = entries_.begin(); it != entries_.end();) {
        // acquire: pairs with the waker's CAS of the signal; what it published before is
        // visible to the JavaScript that runs after delivery.
        const bool signalled = reinterpret_cast<uint64_t>(it->addr) == woken_addr ||
                               __atomic_load_n(it->addr, __ATOMIC_ACQUIRE) != it->expected;
        const bool timed_out = !signalled && it->deadline_ns >= 0 && it->deadline_ns <= now;
        if (signalled || timed_out) {
          Deliver(it->link, it->id, signalled ? WAIT_SIGNALLED : WAIT_TIMED_OUT);
          done.push_back(std::move(*it));
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
      // `done` releases its mappings here, possibly unmapping a closed segment.
      lock.unlock();
      done.clear();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::vector<FutexEntry> entries_;
  std::atomic<uint32_t> control_{0};
};

// Process-wide: every environment's futex waits share these threads. They are never
// destroyed (a detached thread parked in the kernel ends with the process).
std::mutex pool_mutex;
std::vector<FutexWaiterThread*>* pool = new std::vector<FutexWaiterThread*>();

}  // namespace

// A semaphore wait ends exactly once: delivered by its thread, or cancelled by JavaScript.
// A thread that takes a token for a wait already cancelled posts it back, so the endpoint's
// next wait (or another sleeper) still gets the wake it was meant for.
enum SemaphoreWaitState : int { SEM_PENDING = 0, SEM_FINISHED = 1, SEM_CANCELLED = 2 };

struct PendingWait {
  bool keeps_alive = true;                          // counted in AddonState::pending
  FutexWaiterThread* futex_thread = nullptr;        // for futex waits
  std::shared_ptr<std::atomic<int>> semaphore_state;  // for semaphore waits
};

static void CallDispatcher(napi_env raw_env, napi_value, void* context, void* data) {
  auto* result = static_cast<WaitResult*>(data);
  if (raw_env == nullptr) {  // the environment is going away
    delete result;
    return;
  }
  auto* state = static_cast<AddonState*>(context);
  Napi::Env env(raw_env);
  const uint32_t id = result->id;
  const int32_t status = result->status;
  delete result;
  auto it = state->waits.find(id);
  if (it == state->waits.end()) return;  // cancelled after the thread delivered
  const bool kept_alive = it->second->keeps_alive;
  state->waits.erase(it);
  if (kept_alive && --state->pending == 0) napi_unref_threadsafe_function(raw_env, state->link->tsfn);
  if (state->dispatcher.IsEmpty()) return;
  Napi::HandleScope scope(env);
  // The raw call: an exception here (a worker being terminated) must not become a C++
  // exception inside the thread-safe function's callback.
  napi_value argv[2] = {Napi::Number::New(env, id), Napi::Number::New(env, status)};
  napi_value ignored;
  napi_call_function(raw_env, env.Undefined(), state->dispatcher.Value(), 2, argv, &ignored);
}

static void CleanupEnv(void* arg) {
  auto* state = static_cast<AddonState*>(arg);
  {
    std::lock_guard<std::mutex> guard(pool_mutex);
    for (FutexWaiterThread* thread : *pool) thread->RemoveAll(state->link.get());
  }
  for (auto& [id, wait] : state->waits) {
    if (wait->semaphore_state) wait->semaphore_state->store(SEM_CANCELLED);
  }
  std::lock_guard<std::mutex> guard(state->link->mutex);
  state->link->alive = false;
  napi_release_threadsafe_function(state->link->tsfn, napi_tsfn_abort);
}

void InitWaiter(Napi::Env env, AddonState* state) {
  napi_value name = Napi::String::New(env, "ringwire.wait");
  napi_status status = napi_create_threadsafe_function(
      env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, state, CallDispatcher,
      &state->link->tsfn);
  if (status != napi_ok) NAPI_THROW_VOID(Napi::Error::New(env, "cannot create wait function"));
  napi_unref_threadsafe_function(env, state->link->tsfn);
  // Registered after the thread-safe function, so it runs before Node tears that down.
  napi_add_env_cleanup_hook(env, CleanupEnv, state);
}

static uint32_t Register(Napi::Env env, AddonState* state, std::shared_ptr<PendingWait> wait) {
  uint32_t id = state->next_id++;
  if (id == 0) id = state->next_id++;
  const bool keep_alive = wait->keeps_alive;
  state->waits[id] = std::move(wait);
  if (keep_alive && state->pending++ == 0) napi_ref_threadsafe_function(env, state->link->tsfn);
  return id;
}

// A wait counted in `pending` keeps the event loop alive (the thread-safe function is ref'd
// while any is); an unref'd one does not, as an unref'd socket does not.
bool SetWaitRef(Napi::Env env, AddonState* state, uint32_t id, bool ref) {
  auto it = state->waits.find(id);
  if (it == state->waits.end()) return false;
  PendingWait& wait = *it->second;
  if (wait.keeps_alive == ref) return true;
  wait.keeps_alive = ref;
  if (ref) {
    if (state->pending++ == 0) napi_ref_threadsafe_function(env, state->link->tsfn);
  } else if (--state->pending == 0) {
    napi_unref_threadsafe_function(env, state->link->tsfn);
  }
  return true;
}

uint32_t StartFutexWait(Napi::Env env, AddonState* state, std::shared_ptr<Mapping> mapping,
                        uint32_t* addr, uint32_t expected, int64_t deadline_ns, bool keep_alive) {
  auto wait = std::make_shared<PendingWait>();
  wait->keeps_alive = keep_alive;
  const uint32_t id = Register(env, state, wait);
  FutexEntry entry{id, std::move(mapping), addr, expected, deadline_ns, state->link};
  std::lock_guard<std::mutex> guard(pool_mutex);
  for (FutexWaiterThread* thread : *pool) {
    if (thread->TryAdd(entry)) {
      wait->futex_thread = thread;
      return id;
    }
  }
  FutexWaiterThread* thread;
  try {
    thread = new FutexWaiterThread();
  } catch (const std::system_error& e) {
    state->waits.erase(id);
    if (keep_alive && --state->pending == 0) napi_unref_threadsafe_function(env, state->link->tsfn);
    ThrowCoded(env, "ERR_RINGWIRE_SYSTEM", std::string("cannot start a waiter thread: ") + e.what());
  }
  pool->push_back(thread);
  thread->TryAdd(std::move(entry));
  wait->futex_thread = thread;
  return id;
}

uint32_t StartSemaphoreWait(Napi::Env env, AddonState* state, std::shared_ptr<Mapping> mapping,
                            const detail::Signal& signal, uint32_t expected, bool epoch,
                            int64_t deadline_ns, bool keep_alive) {
  auto wait = std::make_shared<PendingWait>();
  wait->keeps_alive = keep_alive;
  wait->semaphore_state = std::make_shared<std::atomic<int>>(SEM_PENDING);
  const uint32_t id = Register(env, state, wait);
  auto finish = [](std::atomic<int>& st) {
    int expected = SEM_PENDING;
    return st.compare_exchange_strong(expected, SEM_FINISHED);
  };
  sem_t* sem = signal.semaphore();
  using Sleep = detail::EpochSemaphoreSleep;
  try {
    std::thread([id, mapping, sem, epoch, sleeper = Sleep(signal.word(), sem, expected), deadline_ns, finish,
                 link = state->link, st = wait->semaphore_state]() mutable {
      while (st->load() == SEM_PENDING) {
        const int64_t now = detail::monotonic_ns();
        if (deadline_ns >= 0 && now >= deadline_ns) {
          if (finish(*st)) Deliver(link, id, WAIT_TIMED_OUT);
          return;
        }
        int64_t until = now + kSemaphoreSliceNs;
        if (deadline_ns >= 0) until = std::min(until, deadline_ns);
        Sleep::Outcome outcome;
        if (epoch) {
          outcome = sleeper.until(until);
        } else {
          const detail::SemaphoreWait waited = detail::semaphore_wait_until(sem, until);
          outcome = waited == detail::SemaphoreWait::kTaken      ? Sleep::kTaken
                    : waited == detail::SemaphoreWait::kTimedOut ? Sleep::kExpired
                                                                 : Sleep::kFailed;
        }
        if (outcome == Sleep::kExpired) continue;  // the slice (or the deadline) ended
        if (outcome == Sleep::kTaken) {
          if (finish(*st)) {
            Deliver(link, id, WAIT_SIGNALLED);
          } else {
            detail::return_token(sem);  // cancelled meanwhile: the token is someone else's
          }
          return;
        }
        // kChanged: signalled without a token to take. kFailed: not a wait we can keep
        // doing; let JavaScript re-check instead of looping hot.
        if (finish(*st)) Deliver(link, id, WAIT_SIGNALLED);
        return;
      }
    }).detach();
  } catch (const std::system_error& e) {
    CancelWait(env, state, id);
    ThrowCoded(env, "ERR_RINGWIRE_SYSTEM", std::string("cannot start a wait thread: ") + e.what());
  }
  return id;
}

bool CancelWait(Napi::Env env, AddonState* state, uint32_t id) {
  auto it = state->waits.find(id);
  if (it == state->waits.end()) return false;
  std::shared_ptr<PendingWait> wait = it->second;
  state->waits.erase(it);
  if (wait->keeps_alive && --state->pending == 0) napi_unref_threadsafe_function(env, state->link->tsfn);
  if (wait->futex_thread != nullptr) wait->futex_thread->Remove(state->link.get(), id);
  if (wait->semaphore_state) {
    int expected = SEM_PENDING;
    wait->semaphore_state->compare_exchange_strong(expected, SEM_CANCELLED);
  }
  return true;
}

}  // namespace ringwire
