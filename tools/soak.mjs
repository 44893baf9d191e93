#!/usr/bin/env node
// tools/soak.mjs — a soak test of ringwire under random SIGKILLs (not run in CI).
//
//   node tools/soak.mjs --duration 30m [--report-every 30s] [--seed N] [--json out.json]
//        [--lanes 4] [--marathon 3] [--modes spsc,mpmc,bcast-block,bcast-drop]
//        [--exclude mode:style ...] [--tolerate-close-partial]
//        [--self-test-fault [--fault-kind corrupt,drop,dup,leak|all]]
//
// Exit status: 0 PASS, 1 FAIL, 2 bad usage or a driver error, 130/143 interrupted.
// SOAK_DEBUG=1 prints, at each report, what every running lane's processes are doing;
// SOAK_STYLES=producer:<style>,consumer:<style> forces the workers' API styles (to
// reproduce a finding).
//
// WHAT RUNS. The driver (this process) keeps `--lanes` chaos lanes and `--marathon` marathon
// lanes going for the whole duration. A lane is one channel plus its producer and consumer
// processes (tools/soak/worker.mjs, forked). Chaos lane i runs mode i of --modes (in turn):
// SPSC; MPMC with 1-4 senders and 1-4 receivers; broadcast 'block' and broadcast 'drop' with
// 1-4 receivers. Each generation of a lane picks afresh its backing (a /dev/shm channel, a
// file-backed one under /tmp/soak<pid>.d/rings/, or an anonymous memfd passed to the
// children as fd 4), its wait mechanism (futex, semaphore, named-semaphore; not the last for
// anonymous channels), its capacity (1 KiB .. 256 KiB), and each process its API style
// (producers: send, sendSync, trySend, trySendMany, tryClaim + commit, pipelined sends;
// consumers: recv, recvSync, tryRecv, poll(limit), recvInto/tryRecvInto, two recv() pending,
// async iteration; --exclude mode:style leaves one out) and its pace. Message sizes are mixed
// from 1 byte to 4x the ring (1 MiB at most): tiny ones (1..15 B) on SPSC and broadcast
// 'block', fragmented ones (larger than a record) on SPSC and broadcast ('drop' lanes send
// mostly small messages and are paced, so that receivers are lapped now and then, not
// always). While a chaos lane lives (10..45 s) the driver, every 1..5 s, SIGKILLs a consumer
// or a producer that has opened its endpoint (one time in twenty all of the lane's
// processes at once, open or still starting) and starts a new process in its
// role 0..1 s after it is gone (SPSC: a new sender/receiver on the same channel; MPMC: new
// endpoints, and their numbers go up and down; broadcast: a receiver joins again, from
// 'next' or 'oldest'), or stops one gracefully (close) and replaces it. Then the lane
// retires: cleanly (producers close, the driver opens a sender, sends the fence -- below --
// and ends the stream, and every consumer drains to the end), or one time in four abruptly
// (every process SIGKILLed once open; then gc() must remove the channel if stats() shows an
// endpoint that died and none open, and keep it otherwise). The next generation re-creates
// the channel under the same name or path. Marathon lanes (SPSC shm/futex, MPMC
// file/semaphore, broadcast 'block' shm/named-semaphore; one producer and one consumer each)
// are never killed: their processes live the whole run, closing and reopening their
// endpoints every 4..12 s, so that their RSS and descriptor counts show a leak. Everything is
// named with the prefix soak<pid>. (/dev/shm/rw.soak<pid>.*, the named semaphores
// sem.rws.<key>.* found from those channels' headers, /tmp/soak<pid>.d with the logs and the
// file-backed channels) and removed at the end and on SIGINT/SIGTERM; what a soak whose
// driver was killed left is found by that prefix (its pid no longer a soak) and removed at
// the next start.
//
// WHAT A MESSAGE CARRIES (tools/soak/common.mjs). Producer processes get ids p, unique in
// the run and increasing in start order, and send seq = 0, 1, 2, ...; message (p, seq) has a
// length and every byte fixed by (p, seq): a 16-byte header (p, seq, length, a check of the
// three) and a body that is a slice of a fixed pseudo-random pattern chosen by (p, seq).
// Consumers check every byte (a wrong one makes a corrupt message), then append a 32-byte
// record (p, seq, length, flags) to their log with one write(2) before they take the next
// message: a record is there iff the message was received and handed to the application (a
// SIGKILL cannot tear the write, and the kernel keeps what was written). Producers write how
// many messages they know are in the ring (send() resolved, sendSync() returned, trySend()
// true, trySendMany()'s count, commit() returned) to their "sent" file after each: for a
// killed producer it is a lower bound of what it published. A pipelining producer whose
// send failed (PEER_DEAD) while a later one of the same batch went through cannot send that
// message in its place any more: it lists such seqs as holes (its holes file, written
// before its count passes them), which nobody expects. (The try forms never wait, so
// they never look for dead peers: a dead broadcast receiver that lagged holds them back
// until a waiting call cuts it off. After 20 failed tries in a row a producer falls back to
// a waiting send() of that message, as the README advises; counted as "try-fallback".)
// The driver reads the logs as they grow, and judges them against what README.md ("When a
// process dies") and layout.h ("What a death costs") promise.
//
// ACCOUNTING (per lane; final once the lane retired and every log is read; the reports show
// the gaps still open in running lanes separately, as "pending").
//   - corrupt: a message whose bytes are not what (p, seq) makes, or whose p is not one of
//     the lane's producers. Must be 0. (A corrupt message also counts as missing.)
//   - out-of-order: within one consumer process, a producer's seq going back (every mode:
//     MPMC keeps each sender's order at each receiver), or (SPSC, broadcast) an earlier
//     producer's message after a later one's. Must be 0.
//   - S(p), what producer p recorded as sent: the count in its sent file once it is gone
//     (killed or closed; it never grows after). Messages S(p) and beyond are those it had not
//     published (or had not recorded yet): missing ones at the end of a killed producer's
//     stream are not losses; a gap in the middle is.
//   - the fence: at a clean retirement, after the producers have closed, the driver sends
//     message 0 of a producer of its own (p after all others) before it ends the stream.
//     It must arrive like any other, and it is the message after whatever a 'drop' receiver
//     missed at the very end (receiver.lost counts a gap only when the message after it
//     arrives).
//   - SPSC and MPMC: the union of every consumer process's log, per producer. A message
//     received twice is a duplicate; the missing ones are those below bound(p) that nobody
//     received (holes aside; a hole that arrives fails the run), bound(p) = max(highest seq
//     received + 1, S(p)). After an abrupt retirement
//     what was still in the ring went with the channel: bound(p) is then the highest seq
//     received + 1 (SPSC: still S(p) once a later producer's message was received, since
//     those come after all of p's in the ring).
//       SPSC allowance: each consumer SIGKILL may lose or repeat the one message it held
//       (two for a consumer with two recv() pending): lost + duplicated <= the sum over the
//       lane's consumer kills.
//       MPMC allowance: delivery is at most once, so duplicates must be 0; each consumer
//       kill may lose what it held: 1, 2 with two recv() pending, or its poll() limit (1, 4,
//       16 or 64) for a consumer that polls (what is left of the run it took): lost <= the
//       sum over the lane's consumer kills.
//       Producer kills allow nothing: all that S(p) counts must arrive (an MPMC claim not
//       committed is skipped, and is beyond S(p)). Graceful stops (close) allow nothing.
//       SPSC losses of a message in fragments right after where a receiver closed cleanly
//       (a graceful stop, a marathon reopen) are counted apart, "at a clean close
//       mid-message": a receiver that took some of its fragments (a recv() that timed out
//       in the middle, a tryRecv()) and then closed leaves the next receiver to skip the
//       rest. The README promises nothing lost on close, so they fail the run too, unless
//       --tolerate-close-partial.
//   - Broadcast: each consumer process on its own (another's death costs it nothing). From
//     its first message on it must get every message sent while it is joined, in order:
//     within a producer, seq + 1 after seq; from producer p to a later q, p's messages up to
//     S(p) - 1, all of every producer between them, and q's from 0 (holes aside; one sender at a
//     time: q opened while this receiver was joined); at a clean end, everything up to the
//     fence. 'block': every gap is a loss (must be 0; duplicates too). 'drop': the growth of
//     receiver.lost at a message (logged with it) must cover the gap before it; a gap larger
//     than that is an unexplained loss (must be 0); growth larger than the gap seen
//     ("over-counted": messages a killed producer published without recording them, or
//     missed before a receiver's first message) is only reported. 'drop' consumers receive
//     one message at a time (no poll(), no two recv() pending), so that the growth belongs
//     to the message it is read with. A consumer that joins may first get tiny messages it
//     cannot place (they carry no header): skipped until its first full message ("skipped
//     at join").
//   - tiny messages (1..15 B, no header) sit at odd seq only, after a full message of their
//     producer, and the driver places them: after (p, s) a tiny message must be (p, s + 1);
//     failing that (a loss before it) the nearest of (p, s + 2 .. s + 8), (p, s), or seq 1,
//     3, 5, 7 of a later producer whose length and bytes match; none: corrupt. SPSC places a
//     new consumer's first one after the last message of the consumer before it.
//   - errors: workers retry ERR_RINGWIRE_PEER_DEAD (a peer died), ERR_RINGWIRE_TIMEOUT (the
//     timeouts they set) and ERR_RINGWIRE_BUSY (while opening), counted in the reports; any
//     other error (or exception), an exit nobody asked for, a consumer that sees the end of
//     the stream before its lane retires, a process that does not stop (30 s) or drain (60 s)
//     in time, or a running lane that moves nothing for 30 s while the same processes, all
//     open, stay alive fails the run (with what each process says it is doing and what
//     stats() says of the channel).
//   - resources: every 2 s the driver samples each process's RSS (/proc/<pid>/status) and
//     open descriptors (/proc/<pid>/fd), per kind (driver; chaos producers and consumers
//     over 5 s old, median/max; each marathon process: m-<mode>-<role>), and the /dev/shm
//     entries and channel files of its own. Judged for the processes that live the whole run
//     (the driver, the marathon processes): after a warm-up (the first 10% of the run, at
//     least 60 s; with fewer than 8 samples left it is not judged), the means of the four
//     quarters of the samples q1..q4: it grew if q4 is above q1 by more than 30% and 32 MiB
//     (RSS) or by more than max(4, 25%) descriptors, q4 is above q2 by more than 16 MiB (or
//     max(2, 12.5%) descriptors), and q2 <= q3 <= q4 (still rising through the second half:
//     a warm-up that levels off is not a leak).
//     Each retired channel must be gone (its /dev/shm object, its named semaphores, its
//     file), and at the end nothing of the prefix may be left, nor anything gc() would take.
// The verdict is PASS only if every lane stays within its allowance and nothing above
// failed. --self-test-fault makes every consumer break the rules on purpose, once each of
// corrupt (flip a byte before checking), drop (leave a record out) and dup (write one
// twice), and leak (keep 512 KiB a second and a descriptor every two) -- or only those
// --fault-kind names: the run must then FAIL.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAnonymousChannel, createChannel, gc, listChannels, openSender, stats, unlinkChannel } from 'ringwire';
import { layout } from 'ringwire/internal';
import {
  BAD_NAMES, F_CORRUPT, F_REJOIN, F_TINY, RECORD, isTiny, logFile, makeMessage, makeProfile, prng, sizeOf,
} from './soak/common.mjs';

const WORKER = fileURLToPath(new URL('./soak/worker.mjs', import.meta.url));
const MODES = ['spsc', 'mpmc', 'bcast-block', 'bcast-drop'];

// ---------------------------------------------------------------------------------------
// Arguments

function parseDuration(text, what) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (m === null) usage(`bad ${what}: ${text} (e.g. 90s, 30m, 1h)`);
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']);
}

function usage(error) {
  const text = 'usage: node tools/soak.mjs --duration 30m [--report-every 30s] [--seed N] [--json out.json]\n'
    + '                           [--lanes 4] [--marathon 3] [--modes spsc,mpmc,bcast-block,bcast-drop] [--exclude mode:style ...]\n'
    + '                           [--tolerate-close-partial]\n'
    + '                           [--self-test-fault [--fault-kind corrupt,drop,dup,leak|all]]';
  if (error) {
    console.error(`soak: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

let args;
try {
  args = parseArgs({
    options: {
      duration: { type: 'string', default: '60s' },
      'report-every': { type: 'string', default: '30s' },
      seed: { type: 'string' },
      json: { type: 'string' },
      lanes: { type: 'string', default: '4' },
      marathon: { type: 'string', default: '3' },
      'self-test-fault': { type: 'boolean', default: false },
      'fault-kind': { type: 'string', default: 'all' },
      modes: { type: 'string', default: MODES.join(',') },
      exclude: { type: 'string', multiple: true, default: [] },
      'tolerate-close-partial': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  usage(error.message);
}
if (args.help) usage();
const DURATION = parseDuration(args.duration, '--duration');
const REPORT_EVERY = parseDuration(args['report-every'], '--report-every');
const SEED = args.seed !== undefined ? Number(args.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const LANES = Math.max(0, Number(args.lanes) | 0);
const MARATHON = Math.min(3, Math.max(0, Number(args.marathon) | 0));
// --modes spsc,mpmc: the chaos lanes' modes (in turn); --exclude mode:style (or :style, or
// mode:) leaves a worker style out, e.g. to keep a known bug from hiding others.
const LANE_MODES = args.modes.split(',').map((m) => m.trim()).filter(Boolean);
for (const m of LANE_MODES) if (!MODES.includes(m)) usage(`bad mode in --modes: ${m} (${MODES.join(', ')})`);
const EXCLUDED = args.exclude.map((e) => {
  const [mode = '', style = ''] = e.split(':');
  return { mode, style };
});
const TOLERATE_CLOSE = args['tolerate-close-partial'];
const excluded = (mode, style) => EXCLUDED.some((e) => (e.mode === '' || e.mode === mode) && (e.style === '' || e.style === style));
const FAULT = args['self-test-fault'] ? args['fault-kind'] : '';
if (FAULT !== '' && !FAULT.split(',').every((f) => ['corrupt', 'drop', 'dup', 'leak', 'all'].includes(f))) usage(`bad --fault-kind ${FAULT}`);

const random = prng(SEED);
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const PREFIX = `soak${process.pid}.`;
const WORK = `/tmp/soak${process.pid}.d`;
const LOGS = path.join(WORK, 'logs');
const RINGS = path.join(WORK, 'rings');
const START = Date.now();
const elapsed = () => Date.now() - START;

// ---------------------------------------------------------------------------------------
// State

const procs = new Map(); // pid -> proc (alive)
const lanes = new Set(); // lanes not yet removed
const retired = []; // summaries of retired lanes
const failures = []; // reasons to FAIL
const failureCounts = new Map();
const errorCodes = Object.create(null); // expected codes, from the workers' tallies
const unexpectedCodes = Object.create(null);
const events = { producerKills: 0, consumerKills: 0, storms: 0, graceful: 0, restarts: 0, created: 0, removed: 0, gcRemoved: 0, gcKept: 0, abrupt: 0, spawned: 0, envFailures: 0 };
const samples = [];
const stalePrefixes = [];
let nextId = 1;
let stopping = false;
let aborted = false;
let wakeStop;
const stopped = new Promise((resolve) => { wakeStop = resolve; });

function fail(reason) {
  const key = reason.replace(/\d+/g, '#');
  const n = (failureCounts.get(key) ?? 0) + 1;
  failureCounts.set(key, n);
  if (failures.length < 200) failures.push(`[${fmtTime(elapsed())}] ${reason}`);
  if (n <= 3) console.log(`  FAIL: ${reason}`);
}

// ---------------------------------------------------------------------------------------
// Formatting

function fmtTime(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${String(m).padStart(h > 0 ? 2 : 1, '0')}m` : ''}${String(s % 60).padStart(h > 0 || m > 0 ? 2 : 1, '0')}s`;
}
const fmtN = (n) => Math.round(n).toLocaleString('en-US');
const mib = (bytes) => (bytes / 1048576).toFixed(1);

// ---------------------------------------------------------------------------------------
// Files

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function isSoak(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('soak');
  } catch {
    return false;
  }
}

/** The named semaphores of a 'named-semaphore' channel (layout.h, OFF_SEMAPHORE_KEY). */
function semaphoresOf(file) {
  const header = Buffer.alloc(layout.HEADER_SIZE);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, header.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const key = (BigInt(header.readUInt32LE(layout.OFF_SEMAPHORE_KEY + 4)) << 32n) | BigInt(header.readUInt32LE(layout.OFF_SEMAPHORE_KEY));
  const hex = key.toString(16).padStart(16, '0');
  return [`sem.rws.${hex}.d`, `sem.rws.${hex}.s`];
}

/** Removes what a soak whose driver is gone left behind (found by the prefix soak<pid>.). */
function sweepStale() {
  const found = new Set();
  for (const entry of fs.readdirSync('/dev/shm')) {
    const m = /^rw\.soak(\d+)\./.exec(entry);
    if (m !== null) found.add(Number(m[1]));
  }
  for (const entry of fs.readdirSync('/tmp')) {
    const m = /^soak(\d+)\.d$/.exec(entry);
    if (m !== null) found.add(Number(m[1]));
  }
  for (const pid of found) {
    if (pid === process.pid || (alive(pid) && isSoak(pid))) continue;
    let removed = 0;
    for (const name of listChannels({ prefix: `soak${pid}.` })) {
      try {
        if (unlinkChannel(name)) removed++;
      } catch {}
    }
    const dir = `/tmp/soak${pid}.d`;
    if (fs.existsSync(dir)) {
      const rings = path.join(dir, 'rings');
      for (const file of fs.existsSync(rings) ? fs.readdirSync(rings) : []) {
        try {
          if (unlinkChannel(path.join(rings, file))) removed++;
        } catch {}
      }
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    }
    stalePrefixes.push(`soak${pid}. (${removed} removed)`);
  }
}

// ---------------------------------------------------------------------------------------
// Processes

function spawnWorker(lane, role, extra) {
  const id = nextId++;
  const kind = lane.marathon ? `m-${lane.mode}-${role}` : role;
  const cfg = {
    role, mode: lane.libMode, overflow: lane.overflow, profile: lane.profile, seed: (SEED ^ Math.imul(id, 0x9e3779b1)) >>> 0,
    ...(lane.backing === 'anon' ? { fd: 4 } : { name: lane.name }),
    ...extra,
  };
  const inc = { id, role, kind, lane, style: cfg.style, limit: cfg.limit, from: cfg.from, dead: false, stopRequested: false, killed: false };
  if (role === 'producer') {
    cfg.p = id;
    cfg.sent = path.join(LOGS, `p${id}.sent`);
    inc.p = id;
    inc.sentPath = cfg.sent;
    inc.sentFinal = undefined;
  } else {
    cfg.log = path.join(LOGS, `c${id}.log`);
    if (FAULT !== '') cfg.fault = FAULT;
    Object.assign(inc, { logBase: cfg.log, fileIndex: 0, fd: -1, offset: 0, drained: false, lastByP: new Map(), lastP: -1, stream: null, ended: false });
  }
  const stdio = ['ignore', 'ignore', 'pipe', 'ipc'];
  if (lane.backing === 'anon') stdio.push(lane.anon.fd);
  const child = fork(WORKER, [JSON.stringify(cfg)], { stdio, execArgv: [] });
  events.spawned++;
  inc.spawnedAt = Date.now();
  inc.child = child;
  inc.pid = child.pid;
  inc.stderr = '';
  child.stderr.on('data', (chunk) => {
    inc.stderr = (inc.stderr + chunk).slice(-4000);
  });
  // Resolved on 'close', not 'exit': 'exit' can come before the last IPC messages (such as
  // 'ended', sent just before the worker exits) are read; 'close' waits for the channel.
  inc.exited = new Promise((resolve) => {
    child.on('close', () => resolve());
    child.on('exit', (code, signal) => {
      inc.dead = true;
      inc.exit = { code, signal };
      procs.delete(inc.pid);
      if (!inc.killed && code !== 0 && !aborted) {
        const tail = inc.stderr.trim().split('\n').slice(-6).join(' | ');
        if (!inc.opened && /ERR_MODULE_NOT_FOUND|ERR_RINGWIRE_NATIVE_UNAVAILABLE|load-addon|Cannot find module/.test(inc.stderr)) {
          // Not ringwire's doing: its build was missing (rebuilt while the soak ran?).
          if (events.envFailures++ === 0) fail(`environment: a worker could not load ringwire (was it rebuilt during the soak?): ${tail}`);
        } else {
          fail(`${kind} ${id} of ${lane.label} exited (code ${code}, signal ${signal}) unasked: ${tail}`);
        }
      }
    });
  });
  child.on('error', (error) => fail(`${kind} ${id} of ${lane.label}: ${error.message}`));
  child.on('message', (m) => onMessage(inc, m));
  if (child.pid !== undefined) procs.set(child.pid, inc);
  (role === 'producer' ? lane.producers : lane.consumers).push(inc);
  if (role === 'producer') lane.byP.set(inc.p, inc);
  return inc;
}

function onMessage(inc, m) {
  const lane = inc.lane;
  switch (m?.t) {
    case 'open':
      inc.opened = true;
      break;
    case 'tally':
      for (const [code, n] of Object.entries(m.tally)) {
        const before = inc.tally?.[code] ?? 0;
        errorCodes[code] = (errorCodes[code] ?? 0) + n - before;
      }
      inc.tally = { ...m.tally };
      break;
    case 'error':
      unexpectedCodes[m.code] = (unexpectedCodes[m.code] ?? 0) + 1;
      fail(`${inc.kind} ${inc.id} of ${lane.label} (${inc.style}): unexpected ${m.code}: ${m.message.split('\n').slice(0, 4).join(' | ')}`);
      break;
    case 'stopped':
      if (inc.role === 'producer') inc.sentFinal = m.sent;
      break;
    case 'diag':
      inc.diag = m;
      break;
    case 'ended':
      inc.ended = true;
      if (lane.state === 'running') fail(`consumer ${inc.id} of ${lane.label} saw the end of the stream before the lane retired`);
      break;
    default:
  }
}

function kill(inc) {
  if (inc.dead) return inc.exited;
  inc.killed = true;
  try {
    process.kill(inc.pid, 'SIGKILL');
  } catch {}
  return inc.exited;
}

/** Asks a worker to stop (close its endpoint, exit); kills it and fails if it does not. */
async function stopGracefully(inc, ms) {
  if (inc.dead) return;
  inc.stopRequested = true;
  try {
    inc.child.send({ t: 'stop' }, () => {}); // an error (it died meanwhile) is not one
  } catch {}
  const timer = sleep(ms).then(() => 'timeout');
  if (await Promise.race([inc.exited.then(() => 'done'), timer]) === 'timeout') {
    fail(`${inc.kind} ${inc.id} of ${inc.lane.label} (${inc.style}) did not stop within ${ms / 1000} s: ${await diagnose(inc.lane)}`);
    await kill(inc);
  }
}

/** What the lane's processes say they are doing, and what stats() says of the channel. */
async function diagnose(lane) {
  const answers = [];
  const asked = lane.producers.concat(lane.consumers).filter((inc) => !inc.dead);
  for (const inc of asked) {
    inc.diag = undefined;
    try {
      inc.child.send({ t: 'diag' }, () => {});
    } catch {}
  }
  await sleep(2000);
  for (const inc of asked) answers.push(`${inc.role[0]}${inc.id}(${inc.style}${inc.stopRequested ? ',stopping' : ''}${inc.opened ? '' : ',unopened'}): ${inc.diag ? `${inc.diag.doing} for ${inc.diag.ms} ms` : 'no answer'}`);
  let channel = '';
  try {
    const st = stats(lane.target);
    const ep = (e) => `${e.pid}${e.open ? '' : e.dead ? ' dead' : ' closed'}${e.waiters ? ' parked' : ''}${e.lag !== undefined ? ` lag ${e.lag}` : ''}${e.cutOff ? ' cut' : ''}`;
    channel = `stats: used ${st.bytesUsed}/${st.capacity}, sent ${st.messagesSent}, received ${st.messagesReceived}, ended ${st.ended}, `
      + `senders [${(st.senders ?? [st.sender]).filter(Boolean).map(ep).join(', ')}], receivers [${(st.receivers ?? [st.receiver]).filter(Boolean).map(ep).join(', ')}]`;
  } catch (error) {
    channel = `stats: ${error?.code ?? error}`;
  }
  const text = `${answers.join('; ')}; ${channel}`;
  console.log(`  diagnosis of ${lane.label}: ${text}`);
  return text;
}

/** What a consumer's SIGKILL may cost (see the header). */
function killAllowance(lane, inc) {
  if (lane.mode === 'bcast-block' || lane.mode === 'bcast-drop') return 0;
  if (inc.style === 'pending2') return 2;
  if (lane.mode === 'mpmc' && inc.style === 'poll') return inc.limit;
  return 1;
}

async function killConsumer(lane, inc) {
  lane.acct.allowance += killAllowance(lane, inc);
  lane.acct.consumerKills++;
  events.consumerKills++;
  await kill(inc);
}

async function killProducer(lane, inc) {
  lane.acct.producerKills++;
  events.producerKills++;
  await kill(inc);
}

// ---------------------------------------------------------------------------------------
// Lanes

const PRODUCER_STYLES = ['send', 'send', 'sync', 'try', 'batch', 'claim', 'pipeline'];
const CONSUMER_STYLES = ['recv', 'recv', 'sync', 'try', 'poll', 'poll', 'into', 'pending2', 'iter'];

const FORCED = Object.fromEntries((process.env.SOAK_STYLES ?? '').split(',').filter(Boolean).map((kv) => kv.split(':')));

function producerExtra(lane) {
  const style = FORCED.producer ?? pick(PRODUCER_STYLES.filter((s) => !excluded(lane.mode, s)));
  // 'drop' senders never wait: paced, so that receivers are lapped sometimes, not always.
  if (lane.mode === 'bcast-drop') return { style, burst: pick([2, 8, 16]), pause: pick([5, 20]), pauseOdds: 1, reopenEvery: 0 };
  return {
    style, burst: lane.marathon ? 100 : pick([20, 100, 300]), pause: lane.marathon ? 30 : pick([5, 20, 40]),
    pauseOdds: lane.marathon ? 1 : 0.5, reopenEvery: lane.marathon ? 8000 : 0,
  };
}

function consumerExtra(lane) {
  // 'drop': receiver.lost must grow at the very message after a gap, so one receive at a
  // time (poll() counts a message put together from fragments after its handler, and of two
  // recv() pending both may be taken before the first is handled).
  const styles = CONSUMER_STYLES.filter((s) => !excluded(lane.mode, s) && !(lane.mode === 'bcast-drop' && (s === 'poll' || s === 'pending2')));
  const style = FORCED.consumer ?? pick(styles);
  const limit = lane.mode === 'mpmc' ? pick([1, 4, 16, 64]) : pick([1, 16, 256, 100_000]);
  return {
    style, limit, from: random() < 0.25 ? 'oldest' : 'next',
    slow: lane.marathon ? 0 : pick([0, 0, 0.002, 0.02]), reopenEvery: lane.marathon ? 8000 : 0,
  };
}

function laneOptions(mode) {
  if (mode === 'spsc') return { mode: 'spsc' };
  if (mode === 'mpmc') return { mode: 'mpmc' };
  return { mode: 'broadcast', overflow: mode === 'bcast-drop' ? 'drop' : 'block' };
}

function newAcct() {
  return {
    moved: 0, bytes: 0, corrupt: 0, outOfOrder: 0, dup: 0, lost: 0, late: 0, allowance: 0,
    consumerKills: 0, producerKills: 0, skippedAtJoin: 0, dropCounted: 0, unexplained: 0, overcount: 0, tiny: 0, closeLost: 0, holes: 0,
  };
}

async function startLane({ slot, gen, mode, marathon, backing, wait, capacity, producers, consumers, lifetime }) {
  const key = marathon ? `M${slot}` : `L${slot}`;
  const lane = {
    key, slot, gen, mode, marathon, backing, wait, capacity, lifetime, label: `${key}g${gen} ${mode}/${backing}/${wait}/${capacity >> 10}K`,
    libMode: laneOptions(mode).mode, overflow: laneOptions(mode).overflow, state: 'starting',
    producers: [], consumers: [], byP: new Map(), trackers: new Map(), spscLast: null, closePoints: [],
    busy: new Set(), acct: newAcct(), semNames: [], startedAt: elapsed(), watchMoved: -1, watchSince: Date.now(), stallReported: false,
  };
  const options = { ...laneOptions(mode), capacity, wait };
  let file;
  if (backing === 'anon') {
    lane.anon = createAnonymousChannel(options);
    lane.target = { fd: lane.anon.fd };
  } else {
    lane.name = backing === 'shm' ? `${PREFIX}${key}x` : path.join(RINGS, `${key}.ring`);
    file = backing === 'shm' ? `/dev/shm/rw.${lane.name}` : lane.name;
    try {
      createChannel(lane.name, options);
    } catch (error) {
      if (error?.code !== 'ERR_RINGWIRE_EXISTS') throw error;
      fail(`${lane.label}: ${lane.name} still exists when re-created (not removed before)`);
      unlinkChannel(lane.name);
      createChannel(lane.name, options);
    }
    lane.target = lane.name;
    if (wait === 'named-semaphore') lane.semNames = semaphoresOf(file);
  }
  events.created++;
  const info = stats(lane.target);
  const expectedRecord = capacity - (mode === 'bcast-drop' ? 16 : 8);
  if (info.maxRecord !== expectedRecord) fail(`${lane.label}: stats().maxRecord ${info.maxRecord}, expected ${expectedRecord}`);
  lane.profile = makeProfile({ capacity, maxRecord: info.maxRecord, tiny: mode === 'spsc' || mode === 'bcast-block', fragments: mode !== 'mpmc', gentle: mode === 'bcast-drop' });
  lanes.add(lane);
  for (let i = 0; i < consumers; i++) spawnWorker(lane, 'consumer', consumerExtra(lane));
  for (let i = 0; i < producers; i++) spawnWorker(lane, 'producer', producerExtra(lane));
  lane.state = 'running';
  return lane;
}

const live = (list) => list.filter((inc) => !inc.dead && !inc.killed && !inc.stopRequested);
const single = (lane) => lane.mode !== 'mpmc'; // one producer at a time (SPSC, broadcast), and SPSC one consumer

/** Runs `task` as part of the lane's pending changes (a retirement waits for them). */
function track(lane, task) {
  const promise = task().catch((error) => fail(`${lane.label}: ${error?.stack ?? error}`)).finally(() => lane.busy.delete(promise));
  lane.busy.add(promise);
}

function replaceLater(lane, role) {
  return sleep(between(0, 1000)).then(() => {
    if (lane.state !== 'running') return;
    events.restarts++;
    spawnWorker(lane, role, role === 'producer' ? producerExtra(lane) : consumerExtra(lane));
  });
}

/** One random event of a chaos lane. */
function chaos(lane) {
  const roll = random();
  // Victims are processes that have opened their endpoint (one killed while it starts
  // tests nothing but the machine's patience); a storm takes every process all the same.
  const consumers = live(lane.consumers).filter((inc) => inc.opened);
  const producers = live(lane.producers).filter((inc) => inc.opened);
  if (roll < 0.05) {
    // A storm: every process of the lane at once.
    events.storms++;
    const all = [live(lane.consumers), live(lane.producers)];
    track(lane, async () => {
      await Promise.all([...all[0].map((c) => killConsumer(lane, c)), ...all[1].map((p) => killProducer(lane, p))]);
      await Promise.all([...all[0].map(() => replaceLater(lane, 'consumer')), ...all[1].map(() => replaceLater(lane, 'producer'))]);
    });
  } else if (roll < 0.45) {
    if (consumers.length === 0) return;
    const victim = pick(consumers);
    track(lane, async () => {
      await killConsumer(lane, victim);
      await replaceLater(lane, 'consumer');
    });
  } else if (roll < 0.75) {
    if (producers.length === 0) return;
    const victim = pick(producers);
    track(lane, async () => {
      await killProducer(lane, victim);
      await replaceLater(lane, 'producer');
    });
  } else if (roll < 0.9) {
    const role = random() < 0.5 ? 'consumer' : 'producer';
    const list = role === 'consumer' ? consumers : producers;
    if (list.length === 0) return;
    const victim = pick(list);
    events.graceful++;
    track(lane, async () => {
      await stopGracefully(victim, 20_000);
      await replaceLater(lane, role);
    });
  } else if (lane.mode === 'mpmc' || lane.mode.startsWith('bcast')) {
    // The number of endpoints goes up or down (MPMC: both roles; broadcast: receivers).
    const role = lane.mode === 'mpmc' && random() < 0.5 ? 'producer' : 'consumer';
    const list = role === 'consumer' ? consumers : producers;
    const most = role === 'consumer' ? 4 : lane.mode === 'mpmc' ? 4 : 1;
    if (live(role === 'consumer' ? lane.consumers : lane.producers).length < most && random() < 0.6) {
      events.restarts++;
      spawnWorker(lane, role, role === 'producer' ? producerExtra(lane) : consumerExtra(lane));
    } else if (list.length > 1) {
      events.graceful++;
      track(lane, () => stopGracefully(pick(list), 20_000));
    }
  }
}

async function waitBusy(lane) {
  while (lane.busy.size !== 0) await Promise.all([...lane.busy]);
}

/**
 * Opens a sender of the lane's channel (retrying while busy), sends the fence, and ends the
 * stream. The fence is message 0 of a producer of its own (p after every other): every
 * consumer of a broadcast lane must get it, and an MPMC or SPSC one, and it is the message
 * after whatever a 'drop' receiver missed at the end (receiver.lost counts a gap only when
 * the message after it arrives).
 */
async function endStream(lane) {
  const fence = { id: nextId++, role: 'producer', kind: 'fence', fence: true, dead: true, sentFinal: 0, lane };
  fence.p = fence.id;
  lane.byP.set(fence.p, fence);
  const message = makeMessage(lane.profile, fence.p, 0);
  const deadline = Date.now() + 15_000;
  for (;;) {
    let sender;
    try {
      sender = lane.anon !== undefined ? lane.anon.openSender() : openSender(lane.target);
    } catch (error) {
      if (error?.code === 'ERR_RINGWIRE_BUSY' && Date.now() < deadline) {
        await sleep(20);
        continue;
      }
      throw error;
    }
    try {
      // PEER_DEAD: the receiver that was to make room died (SPSC: until a new one opens).
      for (;;) {
        try {
          await sender.send(message, { timeout: 1000 });
          break;
        } catch (error) {
          if (!['ERR_RINGWIRE_PEER_DEAD', 'ERR_RINGWIRE_TIMEOUT'].includes(error?.code) || Date.now() > deadline + 15_000) throw error;
          await sleep(20);
        }
      }
      fence.sentFinal = 1;
      await sender.end();
    } finally {
      sender.close();
    }
    return;
  }
}

async function retire(lane, abrupt) {
  lane.state = 'retiring';
  await waitBusy(lane);
  if (abrupt) {
    events.abrupt++;
    // Killed while open (mostly): their channel is then one gc() must remove.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && lane.producers.concat(lane.consumers).some((inc) => !inc.dead && !inc.opened)) await sleep(50);
    await Promise.all([
      ...lane.consumers.filter((c) => !c.dead).map((c) => killConsumer(lane, c)),
      ...lane.producers.filter((p) => !p.dead).map((p) => killProducer(lane, p)),
    ]);
  } else {
    // A consumer killed just before may not have been replaced: one must drain the ring.
    if (live(lane.consumers).length === 0) spawnWorker(lane, 'consumer', consumerExtra(lane));
    await Promise.all(lane.producers.filter((p) => !p.dead).map((p) => stopGracefully(p, 30_000)));
    try {
      await endStream(lane);
    } catch (error) {
      fail(`${lane.label}: ending the stream: ${error?.code ?? ''} ${error?.message ?? error}`);
    }
    const deadline = sleep(60_000).then(() => 'timeout');
    for (const c of lane.consumers.filter((c) => !c.dead)) {
      if (await Promise.race([c.exited.then(() => 'done'), deadline]) === 'timeout') {
        fail(`${lane.label}: consumer ${c.id} (${c.style}) did not drain to the end within 60 s`);
        await kill(c);
      }
    }
    // Consumers that had exited before the wait above: their last messages are read by 'close'.
    await Promise.all(lane.consumers.map((c) => c.exited));
    for (const c of lane.consumers) {
      if (!c.killed && !c.stopRequested && !c.ended && c.exit?.code === 0) fail(`${lane.label}: consumer ${c.id} exited without the end`);
    }
  }
  drainLane(lane, true);
  finalize(lane, abrupt);
  removeChannel(lane, abrupt);
  lanes.delete(lane);
}

function removeChannel(lane, abrupt) {
  if (lane.anon !== undefined) {
    lane.anon.close();
    events.removed++;
    return;
  }
  const file = lane.backing === 'shm' ? `/dev/shm/rw.${lane.name}` : lane.name;
  if (abrupt) {
    // gc() removes a channel with no endpoint open once one died without closing (and keeps
    // one whose endpoints all closed): what stats() says decides what it must do.
    let must;
    try {
      const st = stats(lane.target);
      const endpoints = [...st.senders, ...st.receivers];
      must = endpoints.some((e) => e.dead) && !endpoints.some((e) => e.open);
    } catch (error) {
      fail(`${lane.label}: stats() before gc: ${error?.code ?? ''} ${error?.message}`);
    }
    let removed = [];
    try {
      removed = lane.backing === 'shm' ? gc({ prefix: lane.name }) : gc({ paths: [lane.name] });
    } catch (error) {
      fail(`${lane.label}: gc: ${error?.code ?? ''} ${error?.message}`);
    }
    if (removed.length === 1) events.gcRemoved++;
    else events.gcKept++;
    if (must === true && removed.length !== 1) fail(`${lane.label}: gc() did not remove the channel (an endpoint died, none open): ${JSON.stringify(removed)}`);
    if (must === false && removed.length !== 0) fail(`${lane.label}: gc() removed a channel whose endpoints all closed`);
  }
  if (fs.existsSync(file)) {
    try {
      unlinkChannel(lane.name);
    } catch (error) {
      fail(`${lane.label}: unlinkChannel: ${error?.code ?? ''} ${error?.message}`);
    }
  }
  events.removed++;
  if (fs.existsSync(file)) fail(`${lane.label}: ${file} left after removal`);
  for (const sem of lane.semNames) {
    if (fs.existsSync(`/dev/shm/${sem}`)) {
      fail(`${lane.label}: named semaphore /dev/shm/${sem} left after the channel was removed`);
      fs.rmSync(`/dev/shm/${sem}`, { force: true });
    }
  }
}

/**
 * A running lane is stalled when it moves nothing for 30 s while the same producers and
 * consumers, all of them open, stay alive (a lane whose processes keep being killed before
 * they open, on a loaded machine, is merely slow).
 */
function watch(lane) {
  const now = Date.now();
  const producers = live(lane.producers);
  const consumers = live(lane.consumers);
  const key = producers.concat(consumers).map((inc) => `${inc.id}${inc.opened ? '' : '?'}`).join(',');
  if (lane.acct.moved !== lane.watchMoved || key !== lane.watchKey || key.includes('?') || producers.length === 0 || consumers.length === 0) {
    lane.watchMoved = lane.acct.moved;
    lane.watchKey = key;
    lane.watchSince = now;
    return;
  }
  if (now - lane.watchSince > 30_000 && !lane.stallReported) {
    lane.stallReported = true;
    diagnose(lane).then((text) => fail(`${lane.label}: nothing moved for 30 s: ${text}`));
  }
}

async function slotLoop(slot) {
  const mode = LANE_MODES[slot % LANE_MODES.length];
  for (let gen = 1; !stopping; gen++) {
    const backing = pick(['shm', 'shm', 'file', 'file', 'anon']);
    const wait = pick(backing === 'anon' ? ['futex', 'semaphore'] : ['futex', 'semaphore', 'named-semaphore']);
    const capacity = pick([1024, 4096, 16384, 65536, 262144]);
    const producers = mode === 'mpmc' ? between(1, 3) : 1;
    const consumers = mode === 'spsc' ? 1 : between(1, 3);
    const lifetime = between(10_000, 45_000);
    const lane = await startLane({ slot, gen, mode, marathon: false, backing, wait, capacity, producers, consumers, lifetime });
    const until = Date.now() + lifetime;
    while (!stopping && Date.now() < until) {
      await Promise.race([sleep(Math.min(between(1000, 5000), until - Date.now())), stopped]);
      if (stopping || Date.now() >= until) break;
      chaos(lane);
    }
    await retire(lane, !stopping && random() < 0.25);
  }
}

// ---------------------------------------------------------------------------------------
// Reading the logs

const byOrder = (a, b) => a.id - b.id;

/** Reads what the lane's consumers logged since the last time. */
function drainLane(lane, final) {
  for (const c of [...lane.consumers].sort(byOrder)) {
    if (c.drained) continue;
    const dead = c.dead;
    readLog(lane, c);
    if (dead) {
      c.drained = true;
      if (c.fd >= 0) fs.closeSync(c.fd);
      c.fd = -1;
      // A consumer stopped gracefully: where its receiver closed (see closeLosses).
      if (lane.mode === 'spsc' && c.stopRequested && !c.killed && lane.spscLast !== null) lane.closePoints.push([...lane.spscLast]);
    } else if (lane.mode === 'spsc' && !final) {
      // SPSC consumers follow each other: the next one's log comes after this one's.
      break;
    }
  }
}

const chunk = Buffer.alloc(RECORD * 8192);

function readLog(lane, c) {
  for (;;) {
    if (c.fd < 0) {
      const file = logFile(c.logBase, c.fileIndex);
      try {
        c.fd = fs.openSync(file, 'r');
      } catch (error) {
        if (error.code === 'ENOENT') return;
        throw error;
      }
      c.offset = 0;
    }
    const n = fs.readSync(c.fd, chunk, 0, chunk.length, c.offset);
    const whole = n - (n % RECORD);
    for (let at = 0; at < whole; at += RECORD) onRecord(lane, c, chunk, at);
    c.offset += whole;
    if (n === chunk.length) continue;
    // At the end of this file: the consumer may have moved on to the next one.
    const next = logFile(c.logBase, c.fileIndex + 1);
    if (!fs.existsSync(next)) return;
    if (fs.fstatSync(c.fd).size > c.offset) continue;
    fs.closeSync(c.fd);
    fs.rmSync(logFile(c.logBase, c.fileIndex), { force: true });
    c.fd = -1;
    c.fileIndex++;
  }
}

/** seq numbers received of one producer (SPSC, MPMC): counts in a sliding window. */
const WINDOW = 1 << 22;
class SeqTracker {
  constructor() {
    this.low = 0;
    this.counts = new Uint8Array(1024);
    this.max = -1;
    this.distinct = 0; // in the window
    this.settledMissing = 0;
    this.late = 0;
  }

  /** Counts seq; true if it was new. */
  add(seq) {
    if (seq < this.low) {
      this.late++;
      return false;
    }
    let i = seq - this.low;
    if (i >= WINDOW) {
      this.settle(seq - WINDOW / 2);
      i = seq - this.low;
    }
    if (i >= this.counts.length) {
      let size = this.counts.length;
      while (size <= i) size *= 2;
      const grown = new Uint8Array(Math.min(size, WINDOW));
      grown.set(this.counts);
      this.counts = grown;
    }
    const n = this.counts[i];
    if (n < 255) this.counts[i] = n + 1;
    if (seq > this.max) this.max = seq;
    if (n === 0) this.distinct++;
    return n === 0;
  }

  settle(low) {
    const n = Math.min(low - this.low, this.counts.length);
    for (let i = 0; i < n; i++) {
      if (this.counts[i] === 0) this.settledMissing++;
      else this.distinct--;
    }
    this.settledMissing += low - this.low - n;
    this.counts.copyWithin(0, n);
    this.counts.fill(0, this.counts.length - n);
    this.low = low;
  }

  /** Whether seq arrived (seqs settled below the window count as not). */
  has(seq) {
    const i = seq - this.low;
    return i >= 0 && i < this.counts.length && this.counts[i] !== 0;
  }

  /** How many of seq 0 .. bound - 1 never arrived (bound > max). */
  missing(bound) {
    return this.settledMissing + Math.max(0, bound - this.low) - this.distinct;
  }
}

function corrupt(lane, c, why, detail) {
  lane.acct.corrupt++;
  if (lane.acct.corrupt <= 3) fail(`${lane.label}: corrupt message at consumer ${c.id} (${c.style}): ${why}${detail ? ` ${detail}` : ''}`);
}

/** Places a tiny message after context (p, s) (see the header); [p, seq] or null. */
function placeTiny(lane, context, bytes) {
  const candidates = [];
  if (context !== null) {
    for (let d = 1; d <= 8; d++) candidates.push([context[0], context[1] + d]);
    candidates.push([context[0], context[1]]);
  }
  for (const q of [...lane.byP.keys()].sort((a, b) => a - b)) {
    if (context !== null && q <= context[0]) continue;
    for (const seq of [1, 3, 5, 7]) candidates.push([q, seq]);
  }
  for (const [p, seq] of candidates) if (seq >= 0 && isTiny(lane.profile, bytes, p, seq)) return [p, seq];
  return null;
}

function onRecord(lane, c, buf, at) {
  let p = buf.readUInt32LE(at);
  let seq = buf.readUInt32LE(at + 4);
  const length = buf.readUInt32LE(at + 8);
  const aux = buf.readUInt32LE(at + 12);
  const acct = lane.acct;
  if (aux & F_REJOIN) {
    // The consumer closed its endpoint and opened a new one (marathon lanes): broadcast, a
    // new join; elsewhere only noted (for the diagnosis of a loss).
    c.stream = null;
    (c.reopens ??= []).push(lane.spscLast === null ? null : [...lane.spscLast]);
    if (lane.mode === 'spsc' && lane.spscLast !== null) lane.closePoints.push([...lane.spscLast]);
    return;
  }
  if (aux & F_CORRUPT) {
    corrupt(lane, c, BAD_NAMES[aux >>> 4] ?? 'unknown', `(${length} bytes, starting ${buf.subarray(at + 16, at + 32).toString('hex')})`);
    return;
  }
  if (aux & F_TINY) {
    acct.tiny++;
    const bytes = Buffer.from(buf.subarray(at + 16, at + 16 + length));
    let context;
    if (lane.mode === 'spsc') context = lane.spscLast;
    else if (c.stream !== null) context = [c.stream.p, c.stream.s];
    else {
      acct.skippedAtJoin++;
      return;
    }
    const placed = placeTiny(lane, context, bytes);
    if (placed === null) {
      corrupt(lane, c, 'tiny', `(${length} bytes ${bytes.toString('hex')} after ${JSON.stringify(context)})`);
      return;
    }
    [p, seq] = placed;
  }
  if (!lane.byP.has(p)) {
    corrupt(lane, c, 'foreign', `(p ${p} is not a producer of this lane)`);
    return;
  }
  acct.moved++;
  acct.bytes += length;
  if (lane.mode === 'spsc' || lane.mode === 'mpmc') {
    let tracker = lane.trackers.get(p);
    if (tracker === undefined) lane.trackers.set(p, tracker = new SeqTracker());
    const late = tracker.late;
    if (!tracker.add(seq)) {
      if (tracker.late !== late) acct.late++;
      else acct.dup++;
    }
    const last = c.lastByP.get(p);
    if (last !== undefined && seq < last) acct.outOfOrder++;
    if (last === undefined || seq > last) c.lastByP.set(p, seq);
    if (lane.mode === 'spsc') {
      if (p < c.lastP) acct.outOfOrder++;
      c.lastP = Math.max(c.lastP, p);
      lane.spscLast = [p, seq];
    }
    return;
  }
  // Broadcast: this consumer's own stream.
  const delta = aux >>> 4;
  const st = c.stream;
  let gap = 0;
  if (st === null) {
    c.stream = { p, s: seq };
    if (delta !== 0) acct.overcount += delta;
    acct.dropCounted += delta;
    return;
  }
  if (p === st.p) {
    if (seq === st.s) {
      acct.dup++;
      return;
    }
    if (seq < st.s) {
      acct.outOfOrder++;
      return;
    }
    gap = expected(lane.byP.get(p), st.s + 1, seq);
  } else if (p > st.p) {
    gap = tailOf(lane, st.p, st.s) + between2(lane, st.p, p) + expected(lane.byP.get(p), 0, seq);
  } else {
    acct.outOfOrder++;
    return;
  }
  const where = () => `consumer ${c.id} (${c.style}, from '${c.from}'): (${st.p}, ${st.s}) then (${p}, ${seq})${p !== st.p ? `, S(${st.p}) = ${sentBound(lane.byP.get(st.p))}` : ''}`;
  st.p = p;
  st.s = seq;
  judgeGap(lane, gap, delta, where);
}

function judgeGap(lane, gap, delta, where) {
  const acct = lane.acct;
  acct.dropCounted += delta;
  if (lane.mode === 'bcast-block') {
    acct.lost += gap;
  } else if (gap > delta) {
    acct.unexplained += gap - delta;
  } else {
    acct.overcount += delta - gap;
  }
  if (gap > delta && lane.mode === 'bcast-drop' && (lane.gapNotes = (lane.gapNotes ?? 0) + 1) <= 5) {
    console.log(`  note: ${lane.label}: ${gap} missing, receiver.lost grew ${delta}: ${where()}`);
  }
}

/**
 * The seqs a pipelining producer gave up on (a send that failed while a later one was sent:
 * see worker.mjs), sorted; final once it is dead.
 */
function holesOf(inc) {
  if (inc.holes !== undefined) return inc.holes;
  if (inc.fence) return (inc.holes = []);
  let holes = [];
  try {
    holes = fs.readFileSync(`${inc.sentPath}.holes`, 'utf8').split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  } catch {}
  if (inc.dead) inc.holes = holes;
  return holes;
}

/** How many of producer inc's seqs from .. to - 1 were sent (are not holes). */
function expected(inc, from, to) {
  if (to <= from) return 0;
  const holes = holesOf(inc);
  const below = (x) => {
    let lo = 0;
    let hi = holes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (holes[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return to - from - (below(to) - below(from));
}

/** What a dead producer recorded as sent (its final count). */
function sentBound(inc) {
  if (inc.sentFinal !== undefined) return inc.sentFinal;
  try {
    const fd = fs.openSync(inc.sentPath, 'r');
    const b = Buffer.alloc(4);
    const n = fs.readSync(fd, b, 0, 4, 0);
    fs.closeSync(fd);
    const value = n === 4 ? b.readUInt32LE(0) : 0;
    if (inc.dead) inc.sentFinal = value;
    return value;
  } catch {
    return 0;
  }
}

/** Messages of producer p after seq s that a joined receiver must still get. */
function tailOf(lane, p, s) {
  const inc = lane.byP.get(p);
  return expected(inc, s + 1, sentBound(inc));
}

/** Everything of the producers strictly between p and q. */
function between2(lane, p, q) {
  let n = 0;
  for (const [id, inc] of lane.byP) if (id > p && id < q) n += expected(inc, 0, sentBound(inc));
  return n;
}

function finalize(lane, abrupt) {
  const acct = lane.acct;
  if (lane.mode === 'spsc' || lane.mode === 'mpmc') {
    let lost = 0;
    const seen = [...lane.byP.keys()].filter((p) => (lane.trackers.get(p)?.max ?? -1) >= 0);
    const lastSeen = seen.length === 0 ? -1 : Math.max(...seen);
    for (const [p, inc] of lane.byP) {
      const tracker = lane.trackers.get(p) ?? new SeqTracker();
      let bound = tracker.max + 1;
      if (!abrupt || (lane.mode === 'spsc' && p < lastSeen)) bound = Math.max(bound, sentBound(inc));
      let missing = tracker.missing(bound);
      for (const hole of holesOf(inc)) {
        if (hole >= bound) break;
        acct.holes++;
        if (tracker.has(hole)) fail(`${lane.label}: message ${hole} of producer ${p} arrived, though its send failed`);
        else missing--;
      }
      lost += missing;
    }
    acct.lost = lost;
    if (lane.mode === 'spsc') acct.closeLost = closeLosses(lane);
    if (lost - acct.closeLost > acct.allowance || (acct.closeLost > 0 && !TOLERATE_CLOSE)) explainLoss(lane, abrupt);
    if (acct.closeLost > 0 && !TOLERATE_CLOSE) {
      fail(`${lane.label}: ${acct.closeLost} messages in fragments lost where a receiver closed (not died) in the middle of one`);
    }
    if (lane.mode === 'spsc' && acct.lost - acct.closeLost + acct.dup > acct.allowance) {
      fail(`${lane.label}: lost ${acct.lost - acct.closeLost} + duplicated ${acct.dup} > ${acct.allowance} allowed by ${acct.consumerKills} consumer kills`);
    }
    if (lane.mode === 'mpmc') {
      if (acct.dup > 0) fail(`${lane.label}: ${acct.dup} duplicates (MPMC delivers at most once)`);
      if (acct.lost > acct.allowance) fail(`${lane.label}: lost ${acct.lost} > ${acct.allowance} allowed by ${acct.consumerKills} consumer kills`);
    }
  } else {
    if (!abrupt) {
      // Consumers that drained to the end must have all of the last producers' messages.
      const last = Math.max(...lane.byP.keys());
      for (const c of lane.consumers) {
        if (!c.ended || c.stream === null) continue;
        const gap = tailOf(lane, c.stream.p, c.stream.s) + between2(lane, c.stream.p, last + 1);
        if (gap !== 0) judgeGap(lane, gap, 0, () => `consumer ${c.id} (${c.style}) at the end, after (${c.stream.p}, ${c.stream.s})`);
      }
    }
    if (acct.lost > 0) fail(`${lane.label}: ${acct.lost} messages lost (broadcast 'block' loses nothing)`);
    if (acct.unexplained > 0) fail(`${lane.label}: ${acct.unexplained} messages missing that receiver.lost did not count`);
    if (acct.dup > 0) fail(`${lane.label}: ${acct.dup} duplicates`);
  }
  if (acct.outOfOrder > 0) fail(`${lane.label}: ${acct.outOfOrder} out of order`);
  if (acct.late > 0) fail(`${lane.label}: ${acct.late} messages arrived ${WINDOW} or more behind their producer's newest`);
  retired.push({
    lane: lane.label, mode: lane.mode, backing: lane.backing, wait: lane.wait, capacity: lane.capacity, marathon: lane.marathon,
    abrupt, seconds: Math.round((elapsed() - lane.startedAt) / 1000), producers: lane.producers.length, consumers: lane.consumers.length,
    styles: { producers: lane.producers.map((inc) => inc.style), consumers: lane.consumers.map((inc) => `${inc.style}${inc.style === 'poll' ? `(${inc.limit})` : ''}`) },
    ...acct,
  });
  lane.trackers.clear();
}

/**
 * SPSC: messages in fragments lost where a receiver closed cleanly (a graceful stop, a
 * marathon reopen): one that took some fragments of a message (a recv() that timed out in
 * the middle of it, a tryRecv()) and then closed leaves the new receiver to skip the rest.
 * The README promises nothing lost on a clean close, so these fail the run too, but are
 * counted apart (--tolerate-close-partial accepts them).
 */
function closeLosses(lane) {
  let n = 0;
  const seen = new Set();
  for (const [p, s] of lane.closePoints) {
    const key = `${p}:${s}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const t = lane.trackers.get(p);
    const seq = s + 1;
    if (t === undefined || seq < t.low || sizeOf(lane.profile, p, seq) <= lane.profile.maxRecord) continue;
    const inc = lane.byP.get(p);
    if (seq >= Math.max(t.max + 1, sentBound(inc)) || holesOf(inc).includes(seq)) continue;
    if (!t.has(seq)) n++;
  }
  return n;
}

/** Prints which messages are missing (the first few) and what happened around them. */
function explainLoss(lane, abrupt) {
  const seen = [...lane.byP.keys()].filter((p) => (lane.trackers.get(p)?.max ?? -1) >= 0);
  const lastSeen = seen.length === 0 ? -1 : Math.max(...seen);
  const lines = [];
  for (const [p, inc] of lane.byP) {
    const t = lane.trackers.get(p) ?? new SeqTracker();
    let bound = t.max + 1;
    if (!abrupt || (lane.mode === 'spsc' && p < lastSeen)) bound = Math.max(bound, sentBound(inc));
    const missing = [];
    const holes = new Set(holesOf(inc));
    for (let seq = t.low; seq < bound && missing.length < 12; seq++) if (!t.has(seq) && !holes.has(seq)) missing.push(seq);
    if (missing.length === 0) continue;
    let reopens = '';
    try {
      reopens = fs.readFileSync(`${inc.sentPath}.reopens`, 'utf8').trim().split('\n').join(',');
    } catch {}
    lines.push(`producer ${p} (${inc.style ?? 'the fence'}, S ${sentBound(inc)}, max received ${t.max}${reopens ? `, reopened at ${reopens}` : ''}): missing ${missing.join(',')}${missing.length === 12 ? ',...' : ''}`);
  }
  for (const c of lane.consumers) if (c.reopens) lines.push(`consumer ${c.id} (${c.style}) reopened after ${c.reopens.map((r) => (r ? r.join(':') : '-')).join(' ')}`);
  console.log(`  loss in ${lane.label}:\n    ${lines.join('\n    ')}`);
}

/** Gaps so far in lanes still running (they may fill yet, MPMC; final at retirement). */
function provisional() {
  let gaps = 0;
  for (const lane of lanes) {
    if (lane.mode === 'spsc' || lane.mode === 'mpmc') {
      for (const [p, t] of lane.trackers) {
        const holesBelow = t.max + 1 - expected(lane.byP.get(p), 0, t.max + 1);
        gaps += t.missing(t.max + 1) - holesBelow;
      }
    } else {
      gaps += lane.acct.lost + lane.acct.unexplained;
    }
  }
  return gaps;
}

// ---------------------------------------------------------------------------------------
// Sampling and reports

function readRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

function countFds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function ownShmEntries() {
  const known = new Set();
  for (const lane of lanes) for (const s of lane.semNames) known.add(s);
  let n = 0;
  for (const entry of fs.readdirSync('/dev/shm')) if (entry.startsWith(`rw.${PREFIX}`) || known.has(entry)) n++;
  return n;
}

const median = (xs) => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

function sample() {
  const kinds = {};
  for (const inc of procs.values()) {
    if (inc.dead || Date.now() - inc.spawnedAt < 5000) continue; // still starting: not representative
    const rss = readRss(inc.pid);
    const fds = countFds(inc.pid);
    if (rss === undefined || fds === undefined) continue;
    (kinds[inc.kind] ??= { rss: [], fds: [] });
    kinds[inc.kind].rss.push(rss);
    kinds[inc.kind].fds.push(fds);
  }
  const s = { t: elapsed(), kinds: {}, shm: ownShmEntries(), files: fs.existsSync(RINGS) ? fs.readdirSync(RINGS).length : 0 };
  s.kinds.driver = { n: 1, rssMed: process.memoryUsage().rss, rssMax: process.memoryUsage().rss, fdMed: countFds(process.pid) - 1, fdMax: countFds(process.pid) - 1 };
  for (const [kind, v] of Object.entries(kinds)) {
    s.kinds[kind] = { n: v.rss.length, rssMed: median(v.rss), rssMax: Math.max(...v.rss), fdMed: median(v.fds), fdMax: Math.max(...v.fds) };
  }
  samples.push(s);
  // Exercise stats() on every running channel meanwhile.
  for (const lane of lanes) {
    if (lane.state !== 'running') continue;
    try {
      stats(lane.target);
    } catch (error) {
      fail(`${lane.label}: stats(): ${error?.code ?? ''} ${error?.message}`);
    }
  }
}

function totals() {
  const t = newAcct();
  for (const r of retired) for (const k of Object.keys(t)) t[k] += r[k];
  for (const lane of lanes) for (const k of ['moved', 'bytes', 'corrupt', 'outOfOrder', 'dup', 'late', 'allowance', 'consumerKills', 'producerKills', 'skippedAtJoin', 'dropCounted', 'unexplained', 'overcount', 'tiny']) t[k] += lane.acct[k];
  return t;
}

function perMode() {
  const out = {};
  for (const mode of MODES) {
    const rs = retired.filter((r) => r.mode === mode);
    const o = { lanes: rs.length, moved: 0, lost: 0, allowance: 0, closeLost: 0, dup: 0, consumerKills: 0, producerKills: 0, dropCounted: 0, unexplained: 0 };
    for (const r of rs) for (const k of Object.keys(o)) if (k !== 'lanes') o[k] += r[k];
    out[mode] = o;
  }
  return out;
}

let lastReport = { t: 0, moved: 0, bytes: 0 };
function report(final = false) {
  const t = totals();
  const now = elapsed();
  const dt = Math.max(1, now - lastReport.t) / 1000;
  const rate = (t.moved - lastReport.moved) / dt;
  const brate = (t.bytes - lastReport.bytes) / dt;
  lastReport = { t: now, moved: t.moved, bytes: t.bytes };
  const s = samples.at(-1);
  const kinds = s === undefined ? '' : Object.entries(s.kinds).sort().map(([k, v]) => `${k}${v.n > 1 ? `×${v.n}` : ''} ${mib(v.rssMed)}${v.n > 1 ? `/${mib(v.rssMax)}` : ''}`).join('  ');
  const fds = s === undefined ? '' : Object.entries(s.kinds).sort().map(([k, v]) => `${k} ${v.fdMed}${v.n > 1 ? `/${v.fdMax}` : ''}`).join('  ');
  const codes = Object.entries(errorCodes).map(([k, v]) => `${k.replace('ERR_RINGWIRE_', '')} ${fmtN(v)}`).join(', ') || 'none';
  const bad = Object.entries(unexpectedCodes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`[${fmtTime(now)}${final ? ' final' : ''}] moved ${fmtN(t.moved)} messages, ${mib(t.bytes)} MiB (${final ? 'avg ' : ''}${fmtN(final ? t.moved / (now / 1000) : rate)} msg/s, ${mib(final ? t.bytes / (now / 1000) : brate)} MiB/s); lanes running ${lanes.size}, retired ${retired.length}; processes ${procs.size}`);
  console.log(`  lost ${t.lost} (allowed ${t.allowance} by ${t.consumerKills} consumer kills; of them at a clean close mid-message ${t.closeLost}; gaps pending in running lanes ${provisional()})  duplicated ${t.dup}  out-of-order ${t.outOfOrder}  corrupt ${t.corrupt}  late ${t.late}`);
  console.log(`  broadcast 'drop': counted lost ${fmtN(t.dropCounted)}, unexplained ${t.unexplained}, over-counted ${t.overcount}; tiny placed ${fmtN(t.tiny)}, skipped at join ${t.skippedAtJoin}; pipeline holes ${t.holes}`);
  console.log(`  kills: producers ${events.producerKills}, consumers ${events.consumerKills} (storms ${events.storms}); graceful stops ${events.graceful}; restarts ${events.restarts}; channels created ${events.created}, removed ${events.removed} (by gc ${events.gcRemoved}; kept by gc ${events.gcKept}, as none died)`);
  console.log(`  retried: ${codes}; unexpected errors: ${bad}; failures: ${failures.length}${events.envFailures ? `; workers that could not load ringwire: ${events.envFailures}` : ''}`);
  console.log(`  RSS MiB (median/max): ${kinds}`);
  console.log(`  fds (median/max): ${fds}`);
  console.log(`  own /dev/shm entries ${s?.shm ?? '?'}, channel files ${s?.files ?? '?'}`);
}

/** Last quarter against the first, after warm-up (see the header). */
function growth() {
  const warm = Math.max(60_000, DURATION * 0.1);
  const after = samples.filter((s) => s.t >= warm && s.t <= DURATION);
  const result = { judged: after.length >= 8, samples: after.length, series: [] };
  if (!result.judged) return result;
  const q = Math.max(1, Math.floor(after.length / 4));
  const quarters = [0, 1, 2, 3].map((i) => after.slice(i * q, i === 3 ? after.length : (i + 1) * q));
  // Judged for the processes that live the whole run: the driver and the marathon lanes'
  // (chaos processes live seconds, and their numbers follow their lane's configuration).
  const kinds = new Set(after.flatMap((s) => Object.keys(s.kinds)).filter((k) => k === 'driver' || k.startsWith('m-')));
  const mean = (list, kind, field) => {
    const xs = list.map((s) => s.kinds[kind]?.[field]).filter((x) => x !== undefined);
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  for (const kind of [...kinds].sort()) {
    for (const [field, isRss] of [['rssMax', true], ['fdMax', false]]) {
      const [a, q2, q3, b] = quarters.map((list) => mean(list, kind, field));
      if (a === undefined || b === undefined || q2 === undefined || q3 === undefined) continue;
      // Growing: the last quarter beyond the threshold above the first, still rising
      // through the second half by at least half that, and never falling quarter to quarter
      // from the second on (a warm-up that levels off is not a leak).
      const beyond = isRss ? b > a * 1.3 && b - a > 32 * 1048576 : b - a > Math.max(4, a * 0.25);
      const rising = isRss ? b - q2 > 16 * 1048576 : b - q2 > Math.max(2, a * 0.125);
      const grew = beyond && rising && q3 >= q2 && b >= q3;
      result.series.push({ kind, field, first: a, q2, q3, last: b, grew });
      if (grew) fail(`${kind} ${field} grew from ${isRss ? `${mib(a)} MiB` : a.toFixed(1)} to ${isRss ? `${mib(b)} MiB` : b.toFixed(1)} (first vs last quarter after warm-up)`);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Cleanup

function leftovers() {
  const found = [];
  for (const entry of fs.readdirSync('/dev/shm')) if (entry.startsWith(`rw.${PREFIX}`)) found.push(`/dev/shm/${entry}`);
  for (const lane of lanes) for (const s of lane.semNames) if (fs.existsSync(`/dev/shm/${s}`)) found.push(`/dev/shm/${s}`);
  if (fs.existsSync(RINGS)) for (const f of fs.readdirSync(RINGS)) found.push(path.join(RINGS, f));
  return found;
}

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await Promise.all([...procs.values()].map((inc) => kill(inc)));
  for (const lane of lanes) {
    for (const c of lane.consumers) if (c.fd >= 0) try { fs.closeSync(c.fd); } catch {}
    try {
      if (lane.anon !== undefined) lane.anon.close();
      else unlinkChannel(lane.name);
    } catch {}
    for (const s of lane.semNames) fs.rmSync(`/dev/shm/${s}`, { force: true });
  }
  for (const name of listChannels({ prefix: PREFIX })) try { unlinkChannel(name); } catch {}
  if (fs.existsSync(RINGS)) for (const f of fs.readdirSync(RINGS)) try { unlinkChannel(path.join(RINGS, f)); } catch {}
  fs.rmSync(WORK, { recursive: true, force: true });
}

async function abort(signal) {
  if (aborted) {
    process.exit(130);
  }
  aborted = true;
  stopping = true;
  wakeStop();
  console.log(`\nsoak: ${signal}: killing the workers and removing what the soak made`);
  await cleanup();
  summary(`ABORTED (${signal})`);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

// ---------------------------------------------------------------------------------------
// The summary

function summary(forced) {
  const t = totals();
  const g = forced === undefined ? growth() : { judged: false, series: [] };
  const verdict = forced ?? (failures.length === 0 ? 'PASS' : 'FAIL');
  console.log('\n==== soak summary ====');
  console.log(`duration ${fmtTime(elapsed())} (asked ${fmtTime(DURATION)}), seed ${SEED}, lanes ${LANES} + ${MARATHON} marathon${FAULT ? `, SELF-TEST FAULT ${FAULT}` : ''}`);
  if (stalePrefixes.length !== 0) console.log(`leftovers of earlier soaks removed at start: ${stalePrefixes.join(', ')}`);
  report(true);
  console.log('per mode (retired lanes):');
  for (const [mode, o] of Object.entries(perMode())) {
    console.log(`  ${mode.padEnd(11)} lanes ${String(o.lanes).padStart(3)}  moved ${fmtN(o.moved).padStart(12)}  lost ${o.lost - o.closeLost}/${o.allowance} allowed${o.closeLost ? ` + ${o.closeLost} at a clean close mid-message` : ''}  dup ${o.dup}  kills: consumers ${o.consumerKills}, producers ${o.producerKills}${mode === 'bcast-drop' ? `  counted lost ${fmtN(o.dropCounted)}, unexplained ${o.unexplained}` : ''}`);
  }
  if (g.judged) {
    console.log(`growth (means of the four quarters of ${g.samples} samples after warm-up; RSS in MiB):`);
    for (const s of g.series) {
      const rss = s.field.startsWith('rss');
      const f = (x) => (rss ? mib(x) : x.toFixed(1));
      console.log(`  ${s.kind.padEnd(22)} ${rss ? 'RSS' : 'fds'}  ${f(s.first)} -> ${f(s.q2)} -> ${f(s.q3)} -> ${f(s.last)}${s.grew ? '  GREW' : ''}`);
    }
  } else if (forced === undefined) {
    console.log(`growth: not judged (${g.samples} samples after warm-up; 8 needed)`);
  }
  if (failures.length !== 0) {
    console.log(`failures (${failures.length}${failures.length >= 200 ? '+' : ''}):`);
    for (const f of failures.slice(0, 40)) console.log(`  ${f}`);
  }
  console.log(`VERDICT: ${verdict}`);
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({
      verdict, failures, seed: SEED, durationMs: elapsed(), args, totals: t, perMode: perMode(), events,
      errors: { retried: errorCodes, unexpected: unexpectedCodes }, growth: g, lanes: retired, samples,
    }, null, 1));
    console.log(`(written to ${args.json})`);
  }
  return verdict;
}

// ---------------------------------------------------------------------------------------
// Main

async function main() {
  process.on('SIGINT', () => abort('SIGINT'));
  process.on('SIGTERM', () => abort('SIGTERM'));
  process.on('uncaughtException', async (error) => {
    console.error(`soak: uncaught: ${error?.stack ?? error}`);
    fail(`driver: uncaught ${error?.message}`);
    await cleanup();
    summary('FAIL (driver crashed)');
    process.exit(2);
  });
  process.on('unhandledRejection', (error) => fail(`driver: unhandled rejection ${error?.stack ?? error}`));
  sweepStale();
  fs.mkdirSync(LOGS, { recursive: true, mode: 0o700 });
  fs.mkdirSync(RINGS, { recursive: true, mode: 0o700 });
  console.log(`soak: ${fmtTime(DURATION)}, seed ${SEED}, report every ${fmtTime(REPORT_EVERY)}, prefix ${PREFIX}, work ${WORK}${FAULT ? `, SELF-TEST FAULT ${FAULT}` : ''}`);

  const drainer = setInterval(() => {
    for (const lane of lanes) {
      if (lane.state !== 'running') continue;
      drainLane(lane, false);
      watch(lane);
    }
  }, 500);
  const sampler = setInterval(sample, 2000);
  const reporter = setInterval(() => {
    report();
    // SOAK_DEBUG=1: what every running lane's processes are doing, at each report.
    if (process.env.SOAK_DEBUG) for (const lane of lanes) if (lane.state === 'running') diagnose(lane);
  }, REPORT_EVERY);

  const marathons = [
    { mode: 'spsc', backing: 'shm', wait: 'futex', capacity: 65536 },
    { mode: 'mpmc', backing: 'file', wait: 'semaphore', capacity: 16384 },
    { mode: 'bcast-block', backing: 'shm', wait: 'named-semaphore', capacity: 16384 },
  ].slice(0, MARATHON);
  const marathonLanes = [];
  for (const [i, m] of marathons.entries()) {
    marathonLanes.push(await startLane({ slot: i, gen: 1, marathon: true, producers: 1, consumers: 1, lifetime: DURATION, ...m }));
  }
  const loops = Array.from({ length: LANES }, (_, slot) => slotLoop(slot));
  await Promise.race([sleep(DURATION), stopped]);
  if (aborted) return;
  stopping = true;
  wakeStop();
  await Promise.all(loops);
  await Promise.all(marathonLanes.map((lane) => retire(lane, false)));
  clearInterval(drainer);
  clearInterval(reporter);
  clearInterval(sampler);
  sample();
  const left = leftovers();
  for (const f of left) fail(`left at the end: ${f}`);
  const gcLeft = gc({ prefix: PREFIX, dryRun: true });
  if (gcLeft.length !== 0) fail(`gc would still remove: ${gcLeft.join(', ')}`);
  await cleanup();
  const verdict = summary();
  process.exit(verdict === 'PASS' ? 0 : 1);
}

main().catch(async (error) => {
  console.error(`soak: ${error?.stack ?? error}`);
  fail(`driver: ${error?.message}`);
  await cleanup();
  summary('FAIL (driver error)');
  process.exit(2);
});
