// Why gc() removes (or, with dryRun, would remove) a channel: gc() returns only names, so
// `ringwire gc --dry-run` explains each one by gc()'s rules (channel.ts), read from stats()
// and the ring positions. gc() decides; this only says why.
import { stats, type ChannelStats, type EndpointStats } from '../channel.js';
import { ringPositions } from './ring.js';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function roles(s: ChannelStats): { role: string; endpoint: EndpointStats }[] {
  const spsc = [
    ...(s.sender === undefined ? [] : [{ role: 'sender', endpoint: s.sender }]),
    ...(s.receiver === undefined ? [] : [{ role: 'receiver', endpoint: s.receiver }]),
  ];
  return s.mode === 'spsc' ? spsc : [
    ...s.senders.map((endpoint) => ({ role: 'sender', endpoint })),
    ...s.receivers.map((endpoint) => ({ role: 'receiver', endpoint })),
  ];
}

/** Which of gc()'s rules `s` meets now, or undefined if none (gc keeps it). */
export function gcReason(s: ChannelStats): string | undefined {
  if (s.persistent) return undefined;
  const all = roles(s);
  if (all.some(({ endpoint }) => endpoint.open)) return undefined;
  // With no endpoint open, a recorded pid is one that died without closing.
  const died = all.filter(({ endpoint }) => endpoint.pid !== 0);
  if (died.length > 0) {
    return `${died.map(({ role, endpoint }) => `${role} ${endpoint.pid}`).join(', ')} died without closing; no endpoint is open`;
  }
  let positions;
  try {
    positions = ringPositions(s.name);
  } catch {
    return undefined; // removed meanwhile
  }
  if (positions.written === 0 && positions.taken === 0 && !processExists(s.creatorPid)) {
    return `never used, and its creator (pid ${s.creatorPid}) has exited`;
  }
  return undefined;
}

/** Why gc() picked the channel `name` (asked right after it did). */
export function explainGc(name: string): string {
  let s: ChannelStats;
  try {
    s = stats(name);
  } catch {
    return 'not a complete channel: left half-made by a creator killed while creating it, and untouched for over 10 s';
  }
  return gcReason(s) ?? 'it met gc()\'s rules when gc() looked (an endpoint has changed since)';
}
