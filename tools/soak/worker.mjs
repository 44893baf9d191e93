// A soak worker (forked by tools/soak.mjs): a producer or a consumer of one lane's channel.
// argv[2] is its configuration (JSON). It reports to the driver over IPC ('open', 'tally',
// 'stopped', 'ended', 'error') and through files that survive a SIGKILL:
//   - a producer writes, after every message it knows is in the ring (send() resolved,
//     sendSync() returned, trySend() true, trySendMany() counted, commit() returned), how
//     many it has sent, as a u32 at offset 0 of its sent file (pwrite: the file always holds
//     the last count written);
//   - a consumer checks each message it receives and appends one record to its log (see
//     common.mjs) before it takes the next one, so a SIGKILL loses at most the message it
//     held (or, inside poll(), leaves one handed out and not yet recorded).
// Expected RingwireError codes (PEER_DEAD while a peer is dead, TIMEOUT of the waits it sets,
// BUSY while opening) are retried and counted; any other error is reported and the worker
// exits 1.
import fs from 'node:fs';
import { setTimeout as sleep, setImmediate as yieldNow } from 'node:timers/promises';
import { openReceiver, openSender, RingwireError } from 'ringwire';
import {
  BAD, F_CORRUPT, F_REJOIN, F_TINY, HEADER, LOG_ROTATE, RECORD, checkMessage, logFile, prng, sizeOf, writeMessage,
} from './common.mjs';

const cfg = JSON.parse(process.argv[2]);
const random = prng(cfg.seed);
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const target = cfg.fd !== undefined ? { fd: cfg.fd } : cfg.name;
const profile = cfg.profile;
const tally = Object.create(null);
let stopping = false;
let parentGone = false;

// What it is doing, for the driver's questions when a lane stalls.
let doing = 'starting';
let counted = () => '';
let doingSince = Date.now();
function setDoing(text) {
  if (text !== doing) {
    doing = text;
    doingSince = Date.now();
  }
}
process.on('message', (m) => {
  if (m?.t === 'stop') stopping = true;
  if (m?.t === 'diag') process.send({ t: 'diag', doing: `${doing}, ${counted()}`, ms: Date.now() - doingSince, tally });
});
// Ctrl-C reaches the whole process group: the driver, not the terminal, ends the workers
// (it kills them, then removes the channels).
process.on('SIGINT', () => {});
process.on('disconnect', () => {
  // The driver is gone (killed): nobody will clean up after us or read what we do.
  parentGone = true;
  process.exit(0);
});

function note(code) {
  tally[code] = (tally[code] ?? 0) + 1;
}

const EXPECTED = new Set(['ERR_RINGWIRE_PEER_DEAD', 'ERR_RINGWIRE_TIMEOUT']);

/** An error we retry after (counted), or rethrown. */
function expected(error, extra) {
  if (error instanceof RingwireError && (EXPECTED.has(error.code) || extra?.includes(error.code))) {
    note(error.code);
    return true;
  }
  throw error;
}

function fatal(error) {
  const code = error instanceof RingwireError ? error.code : error?.name === 'AbortError' ? 'ABORT_ERR' : 'EXCEPTION';
  try {
    process.send?.({ t: 'error', code, message: String(error?.stack ?? error).slice(0, 2000) });
  } catch {}
  setTimeout(() => process.exit(1), 50);
}

let lastTally = 0;
function sendTally(force = false) {
  const now = Date.now();
  if (!force && now - lastTally < 2000) return;
  lastTally = now;
  if (process.connected) process.send({ t: 'tally', tally });
}

async function openEndpoint(open) {
  for (;;) {
    try {
      return open();
    } catch (error) {
      expected(error, ['ERR_RINGWIRE_BUSY']);
      await sleep(between(5, 50));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Producer

async function producer() {
  const p = cfg.p;
  const style = cfg.style;
  const sentFd = fs.openSync(cfg.sent, 'w');
  const counter = Buffer.alloc(4);
  let sent = 0;
  const record = () => {
    counter.writeUInt32LE(sent, 0);
    fs.writeSync(sentFd, counter, 0, 4, 0);
  };
  record();
  counted = () => `${sent} sent`;
  const open = () => openEndpoint(() => openSender(target));
  let sender = await open();
  process.send({ t: 'open' });
  let reopenAt = cfg.reopenEvery ? Date.now() + cfg.reopenEvery * (0.5 + random()) : Infinity;
  const size = (seq) => sizeOf(profile, p, seq);
  // Messages are built in one reused buffer (every style but 'pipeline' is done with a
  // message before it builds the next), so the producer's own allocations do not hide
  // what ringwire's do from the RSS samples.
  const scratch = Buffer.alloc(Math.max(profile.hugeMax, profile.maxRecord) + 64);
  const message = (seq, fresh = false) => {
    const length = size(seq);
    const bytes = fresh ? Buffer.allocUnsafe(length) : scratch.subarray(0, length);
    writeMessage(bytes, 0, p, seq, length);
    return bytes;
  };
  const fits = (seq) => size(seq) <= profile.maxRecord;
  // Sends that wait are aborted when the driver asks us to stop (what they had not written
  // is not sent, and not counted).
  const abort = new AbortController();
  process.on('message', (m) => {
    if (m?.t === 'stop') abort.abort();
  });
  const aborted = (error) => error?.name === 'AbortError' && stopping;

  /** A waiting send of message seq, retried after expected errors; false if given up (stop). */
  async function sendOne(seq) {
    const bytes = message(seq);
    for (;;) {
      if (stopping) return false;
      setDoing(`send seq ${seq} (${bytes.length} B)`);
      try {
        await sender.send(bytes, { signal: abort.signal, ...(random() < 0.5 ? { timeout: between(50, 1000) } : {}) });
        return true;
      } catch (error) {
        if (aborted(error)) return false;
        expected(error);
        await sleep(between(5, 40));
      }
    }
  }

  /**
   * The try forms (trySend, trySendMany, tryClaim) never wait, so they never look for dead
   * peers either (a dead broadcast receiver that lagged holds them back until a waiting call
   * cuts it off): after a few failed tries, a waiting send() of the message, as the README
   * says to do.
   */
  let misses = 0;
  /** After a failed try: a short sleep (null), or after 20 in a row a waiting send of seq (1 if sent). */
  async function missed(seq) {
    if (++misses < 20) {
      await sleep(between(0, 3));
      return null;
    }
    misses = 0;
    note('try-fallback');
    return (await sendOne(seq)) ? 1 : 0;
  }

  /** One message or a batch; returns how many were sent. */
  async function step() {
    const seq = sent;
    setDoing(`${style} seq ${seq}`);
    switch (style) {
      case 'send':
        return (await sendOne(seq)) ? 1 : 0;
      case 'sync': {
        const bytes = message(seq);
        for (;;) {
          if (stopping) return 0;
          try {
            sender.sendSync(bytes, { timeout: between(20, 300) });
            return 1;
          } catch (error) {
            expected(error);
            await sleep(between(5, 40));
          }
        }
      }
      case 'try': {
        if (!fits(seq)) return (await sendOne(seq)) ? 1 : 0;
        const bytes = message(seq);
        for (;;) {
          if (stopping) return 0;
          let ok = false;
          try {
            ok = sender.trySend(bytes);
          } catch (error) {
            expected(error);
          }
          if (ok) {
            misses = 0;
            return 1;
          }
          const r = await missed(seq);
          if (r !== null) return r;
        }
      }
      case 'batch': {
        if (!fits(seq)) return (await sendOne(seq)) ? 1 : 0;
        const batch = [];
        const want = between(2, 24);
        for (let s = seq; batch.length < want && fits(s); s++) batch.push(message(s, true));
        let n = 0;
        try {
          n = sender.trySendMany(batch);
        } catch (error) {
          expected(error);
        }
        if (n !== 0) {
          misses = 0;
          return n;
        }
        return (await missed(seq)) ?? 0;
      }
      case 'claim': {
        if (!fits(seq)) return (await sendOne(seq)) ? 1 : 0;
        const length = size(seq);
        let at = -1;
        try {
          at = sender.tryClaim(length);
        } catch (error) {
          expected(error);
        }
        if (at < 0) return (await missed(seq)) ?? 0;
        misses = 0;
        writeMessage(sender.buffer, at, p, seq, length);
        sender.commit();
        return 1;
      }
      case 'pipeline': {
        // Up to `depth` sends in flight, no timeouts (a timed-out send in the middle of the
        // queue would let the ones after it through, and its retry come after them). Each
        // send stands alone, though: one that fails with PEER_DEAD at once (the ring full,
        // the receiver dead) may be followed by one that fits and is sent. Such a failed
        // message can no longer be sent in its place: it is a hole, written to the holes
        // file before the count passes it, and the driver does not expect it.
        const depth = between(2, 6);
        const pending = [];
        for (let i = 0; i < depth; i++) pending.push(sender.send(message(seq + i, true), { signal: abort.signal }).then(() => true, (error) => error));
        const results = await Promise.all(pending);
        const n = results.lastIndexOf(true) + 1; // sent: everything up to the last success
        const holes = [];
        let failed = null;
        for (let i = 0; i < results.length; i++) {
          if (results[i] === true) continue;
          failed ??= results[i];
          if (i < n) holes.push(seq + i);
        }
        if (holes.length !== 0) {
          fs.appendFileSync(`${cfg.sent}.holes`, holes.map((h) => `${h}\n`).join(''));
          note('pipeline-holes');
        }
        if (failed !== null && !aborted(failed)) {
          sent += n; // counted before the wait below
          record();
          expected(failed);
          await sleep(between(5, 40));
          return 0;
        }
        return n;
      }
      default:
        throw new Error(`unknown producer style ${style}`);
    }
  }

  while (!stopping) {
    const burst = between(1, cfg.burst);
    for (let i = 0; i < burst && !stopping; i++) {
      const n = await step();
      if (n !== 0) {
        sent += n;
        record();
      }
    }
    setDoing('pausing');
    sendTally();
    const pause = random() < cfg.pauseOdds ? between(1, cfg.pause) : 0;
    if (pause > 0) await sleep(pause);
    else await yieldNow();
    if (Date.now() >= reopenAt && !stopping) {
      setDoing('reopening');
      sender.close();
      fs.appendFileSync(`${cfg.sent}.reopens`, `${sent}\n`);
      sender = await open();
      reopenAt = Date.now() + cfg.reopenEvery * (0.5 + random());
    }
  }
  setDoing('closing');
  sender.close();
  record();
  fs.closeSync(sentFd);
  sendTally(true);
  process.send({ t: 'stopped', sent }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// Consumer

async function consumer() {
  const style = cfg.style;
  const drop = cfg.mode === 'broadcast' && cfg.overflow === 'drop';
  let logIndex = 0;
  let logRecords = 0;
  let log = fs.openSync(logFile(cfg.log, 0), 'a');
  const rec = Buffer.alloc(RECORD);
  const rec32 = new Uint32Array(rec.buffer, rec.byteOffset, RECORD / 4);
  let received = 0;
  let lastLost = 0;
  let receiver;
  // --self-test-fault: a consumer that breaks the rules on purpose, once each, so the
  // driver must say FAIL.
  const fault = cfg.fault ?? '';
  let faultAt = fault !== '' ? between(50, 600) : -1;
  const faults = new Set(fault === 'all' ? ['corrupt', 'drop', 'dup'] : fault.split(',').filter((f) => f !== '' && f !== 'leak'));
  if (faults.size === 0) faultAt = -1;
  if (fault === 'all' || fault.split(',').includes('leak')) {
    // A leak on purpose: 512 KiB kept (and touched) every second, a descriptor every two.
    const kept = [];
    setInterval(() => kept.push(Buffer.alloc(512 << 10, 1)), 1000).unref();
    setInterval(() => kept.push(fs.openSync('/dev/null', 'r')), 2000).unref();
  }

  function write() {
    fs.writeSync(log, rec, 0, RECORD);
    if (++logRecords >= LOG_ROTATE) {
      fs.closeSync(log);
      logRecords = 0;
      log = fs.openSync(logFile(cfg.log, ++logIndex), 'a');
    }
  }

  function handle(bytes, at, length) {
    let aux = 0;
    if (drop) {
      const lost = receiver.lost;
      aux = (lost - lastLost) << 4;
      lastLost = lost;
    }
    let skip = false;
    let twice = false;
    if (received === faultAt) {
      const kind = [...faults][received % faults.size];
      faults.delete(kind);
      faultAt = faults.size !== 0 ? received + between(50, 600) : -1;
      if (kind === 'corrupt') {
        bytes = Buffer.from(bytes.subarray(at, at + length));
        at = 0;
        bytes[length >> 1] ^= 0x20;
      } else if (kind === 'drop') {
        skip = true;
      } else if (kind === 'dup') {
        twice = true;
      }
    }
    received++;
    rec.fill(0);
    if (length < HEADER) {
      rec32[0] = 0xffffffff;
      rec32[1] = 0xffffffff;
      rec32[2] = length;
      rec32[3] = aux | F_TINY;
      if (length > 0) rec.set(bytes.subarray(at, at + length), 16);
    } else {
      const checked = checkMessage(profile, bytes, at, length);
      if (typeof checked === 'number') {
        rec32[0] = 0xffffffff;
        rec32[1] = 0xffffffff;
        rec32[2] = length;
        rec32[3] = F_CORRUPT | (checked << 4);
        rec.set(bytes.subarray(at, at + Math.min(16, length)), 16);
      } else {
        rec32[0] = checked[0];
        rec32[1] = checked[1];
        rec32[2] = length;
        rec32[3] = aux;
      }
    }
    if (skip) return;
    write();
    if (twice) write();
  }

  function rejoinMarker() {
    rec.fill(0);
    rec32[3] = F_REJOIN;
    write();
    lastLost = 0;
  }

  counted = () => `${received} received${drop ? `, lost ${lastLost}` : ''}`;
  const from = cfg.from ?? 'next';
  const open = () => openEndpoint(() => openReceiver(target, cfg.mode === 'broadcast' ? { from } : undefined));
  receiver = await open();
  process.send({ t: 'open' });
  let reopenAt = cfg.reopenEvery ? Date.now() + cfg.reopenEvery * (0.5 + random()) : Infinity;
  const into = Buffer.alloc(Math.max(profile.hugeMax, profile.maxRecord) + 64);
  const timeout = () => ({ timeout: between(50, 1000) });
  let ended = false;
  let lastYield = Date.now();
  const onMessage = (m) => {
    if (m === null) ended = true;
    else handle(m, 0, m.length);
  };

  /** One receive that may wait; false once the stream ended. */
  async function waitOne() {
    try {
      onMessage(await receiver.recv(timeout()));
    } catch (error) {
      expected(error);
      if (error.code === 'ERR_RINGWIRE_PEER_DEAD') await sleep(between(5, 40));
    }
  }

  async function step() {
    switch (style) {
      case 'recv':
        return waitOne();
      case 'sync':
        try {
          onMessage(receiver.recvSync({ timeout: between(20, 300) }));
        } catch (error) {
          expected(error);
          await sleep(between(1, 20));
        }
        return;
      case 'try': {
        let m;
        try {
          m = receiver.tryRecv();
        } catch (error) {
          expected(error);
          await sleep(between(5, 40));
          return;
        }
        if (m === undefined) return waitOne();
        handle(m, 0, m.length);
        return;
      }
      case 'poll': {
        let n = 0;
        try {
          n = receiver.poll(handle, cfg.limit);
        } catch (error) {
          expected(error);
          await sleep(between(5, 40));
          return;
        }
        if (n === 0) return waitOne();
        return;
      }
      case 'into': {
        try {
          const n = random() < 0.5 ? receiver.tryRecvInto(into) : await receiver.recvInto(into, 0, timeout());
          if (n === null) ended = true;
          else if (n >= 0) handle(into, 0, n);
          else return waitOne();
        } catch (error) {
          expected(error);
          if (error.code === 'ERR_RINGWIRE_PEER_DEAD') await sleep(between(5, 40));
        }
        return;
      }
      case 'pending2': {
        // Two receives pending at once (each holds a message once it has one).
        const a = receiver.recv(timeout()).then((m) => m, (e) => e);
        const b = receiver.recv(timeout()).then((m) => m, (e) => e);
        for (const result of [await a, await b]) {
          if (result instanceof Error) {
            expected(result);
            if (result.code === 'ERR_RINGWIRE_PEER_DEAD') await sleep(between(5, 40));
          } else {
            onMessage(result);
          }
        }
        return;
      }
      case 'iter': {
        // A stretch of async iteration, left by aborting it (which takes nothing).
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), between(50, 2000));
        let count = 0;
        try {
          for await (const m of receiver.messages({ signal: abort.signal })) {
            handle(m, 0, m.length);
            if (stopping || ++count > 5000) break;
          }
          if (!abort.signal.aborted && !stopping && count <= 5000) ended = true;
        } catch (error) {
          if (error?.name !== 'AbortError') {
            expected(error);
            if (error.code === 'ERR_RINGWIRE_PEER_DEAD') await sleep(between(5, 40));
          }
        } finally {
          clearTimeout(timer);
        }
        return;
      }
      default:
        throw new Error(`unknown consumer style ${style}`);
    }
  }

  while (!ended && !stopping) {
    if (doing !== style) setDoing(style);
    await step();
    if (cfg.slow && random() < cfg.slow) await sleep(between(1, 30));
    const now = Date.now();
    if (now - lastYield >= 5) {
      lastYield = now;
      sendTally();
      await yieldNow();
    }
    if (now >= reopenAt && !ended && !stopping) {
      setDoing('reopening');
      receiver.close();
      rejoinMarker();
      receiver = await open();
      reopenAt = Date.now() + cfg.reopenEvery * (0.5 + random());
    }
  }
  setDoing('closing');
  const lost = receiver.lost;
  receiver.close();
  fs.closeSync(log);
  sendTally(true);
  process.send({ t: ended ? 'ended' : 'stopped', received, lost }, () => process.exit(0));
}

(cfg.role === 'producer' ? producer() : consumer()).catch(fatal);
