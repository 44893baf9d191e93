// The C baselines (posix-mq, sysv-mq, sysv-shm, c-ring, c-spin, c-futex) come from bench/src/native-baselines.mjs,
// which builds and runs the helpers in bench/native. Until that file exists, or when a helper
// cannot run here, the rows are recorded as not run (value null) with the reason.
let loaded;

async function load() {
  if (loaded === undefined) {
    try {
      loaded = { module: await import('../native-baselines.mjs') };
    } catch (error) {
      const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && /native-baselines/.test(error.message);
      loaded = { reason: missing ? 'native baselines not built' : `native baselines failed to load: ${error.message}` };
    }
  }
  return loaded;
}

/** Runs `name` from native-baselines.mjs with `options`: { result } or { reason }. */
async function call(name, options) {
  const { module, reason } = await load();
  if (!module) return { reason };
  if (typeof module[name] !== 'function') return { reason: `native-baselines.mjs has no ${name}()` };
  try {
    return { result: await module[name](options) };
  } catch (error) {
    return { reason: String(error?.message ?? error).split('\n')[0] };
  }
}

/** The function of native-baselines.mjs that measures each throughput system. */
const THROUGHPUT = { 'posix-mq': 'posixMq', 'sysv-mq': 'sysvMq', 'sysv-shm': 'sysvShm', 'c-ring': 'cRing' };

/** Throughput of posix-mq, sysv-mq, sysv-shm or c-ring: { msgPerSec, bytesPerSec } or { reason }. */
export async function nativeThroughput(system, size, durationMs) {
  if (!THROUGHPUT[system]) return { reason: `no native throughput baseline ${system}` };
  const { result, reason } = await call(THROUGHPUT[system], { size, durationMs });
  if (!result) return { reason };
  if (!(result.msgPerSec > 0) || !(result.bytesPerSec > 0)) {
    return { reason: `${system} reported no throughput (${JSON.stringify(result)})` };
  }
  return result;
}

/**
 * Round trips in C: c-spin, c-futex (one shared word), sysv-mq or sysv-shm (System V queue,
 * or segment and semaphores); { p50, p99, p999, mean } µs or { reason }.
 */
export async function nativePingPong(system, iterations, pin) {
  const [name, options] = system.startsWith('sysv-')
    ? ['sysvPingPong', { kind: system.slice(5), iterations, pin }]
    : ['cPingPong', { mode: system.slice(2), iterations, pin }];
  const { result, reason } = await call(name, options);
  if (!result) return { reason };
  const { p50, p99, p999 } = result;
  if (!(p50 > 0 && p50 <= p99 && p99 <= p999)) {
    return { reason: `${system} reported impossible percentiles (${JSON.stringify(result)})` };
  }
  return result;
}
