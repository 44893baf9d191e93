// A self-test of the message format and its checkers (workers/frames.mjs): whole messages
// pass, and what a transport could get wrong is caught: a torn middle byte (in the one
// message in 16 whose every byte is compared; the test fails if that full check is taken
// out), a wrong last byte, a wrong length, a message out of order, another producer's
// message; through the stream framing too. S11's strided sample (SampledChecker) catches a
// wrong stretch anywhere in a message it does not check whole, and messages put back together
// from chunks into one reused buffer (FrameAssembler) check out. The C helpers
// (bench/native/c-ring.c, bench/native/sysv-ipc.c) write the same bytes as frames.mjs and run
// their own checkers' self-tests.
//
//   node bench/src/tools/check-frames.mjs        exit 0 when every check holds
//
// check-results.mjs runs selfTest() as well, so CI runs it after every quick bench.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Checker, Coalescer, END_OF_PHASE, FanInChecker, FrameAssembler, FrameParser, fullyChecked, LENGTH_PREFIX, prefix,
  SAMPLE_BYTES, SAMPLE_STRIDE, SampledChecker, writeMessage,
} from '../workers/frames.mjs';

const SIZES = [16, 17, 24, 64, 65, 256, 1024, 4096];

/** Feeds `n` messages of `size` to a fresh Checker, `tamper(bytes, seq)` may spoil one; returns bad. */
function run(size, n, tamper = () => size) {
  const checker = new Checker(size);
  const bytes = new Uint8Array(size + 8);
  for (let seq = 0; seq < n; seq++) {
    writeMessage(bytes, 3, size, seq);
    const length = tamper(bytes.subarray(3), seq) ?? size;
    checker.check(bytes, 3, length);
  }
  return checker.bad;
}

/** Every check, as a list of problems (empty when all hold) and a one-line summary. */
export async function selfTest({ native = true } = {}) {
  const problems = [];
  const expect = (what, got, want) => {
    if (got !== want) problems.push(`${what}: got ${got}, expected ${want}`);
  };

  // One message in every aligned block of 16 is fully checked, at every position in turn.
  const positions = new Set();
  for (let block = 0; block < 16; block++) {
    const full = [];
    for (let k = 0; k < 16; k++) if (fullyChecked(block * 16 + k)) full.push(k);
    expect(`fully checked messages in block ${block}`, full.length, 1);
    positions.add(full[0]);
  }
  expect('positions of the fully checked message over 16 blocks', positions.size, 16);

  for (const size of SIZES) {
    const mid = size >> 1;
    expect(`${size} B: whole messages`, run(size, 600), 0);
    // A torn middle byte in every message: caught in exactly the fully checked ones (every
    // byte of a 16-byte message is in a stamp, so there all are caught).
    const tornAll = run(size, 512, (m) => { m[mid] ^= 0x10; });
    expect(`${size} B: a torn middle byte in each of 512 messages is caught`, tornAll, size <= 16 ? 512 : 32);
    // A torn middle byte in one fully checked message is caught (it must fail without the full check).
    expect(`${size} B: a torn middle byte of message 17 (fully checked)`, run(size, 100, (m, seq) => {
      if (seq === 17) m[mid] ^= 0x01;
    }), 1);
    for (const at of new Set([8, size - 9])) {
      if (at < 8 || at >= size - 8) continue;
      expect(`${size} B: a torn byte at ${at} of message 34 (fully checked)`, run(size, 100, (m, seq) => {
        if (seq === 34) m[at] ^= 0x80;
      }), 1);
    }
    expect(`${size} B: a wrong last byte`, run(size, 100, (m, seq) => { if (seq === 40) m[size - 1] ^= 1; }), 1);
    expect(`${size} B: a wrong first byte of the tail stamp`, run(size, 100, (m, seq) => { if (seq === 41) m[size - 8] ^= 1; }), 1);
    expect(`${size} B: a wrong tag byte`, run(size, 100, (m, seq) => { if (seq === 42) m[4] = 7; }), 1);
    expect(`${size} B: a message one byte short`, run(size, 100, (m, seq) => (seq === 50 ? size - 1 : size)), 1);
    expect(`${size} B: a message one byte long`, run(size, 100, (m, seq) => (seq === 51 ? size + 1 : size)), 1);
    // Message 60 replaced by message 61: 60 is missing (61 is out of order) and then 61
    // comes twice (the second one out of order).
    expect(`${size} B: a message lost and one repeated`, run(size, 100, (m, seq) => {
      if (seq === 60) writeMessage(m, 0, size, 61);
    }), 2);
  }

  // S5: the producer's number is the tag; each producer's messages must grow.
  for (const size of [16, 64, 1024]) {
    const checker = new FanInChecker(size, 2);
    const m = new Uint8Array(size);
    let want = 0;
    for (let seq = 0; seq < 64; seq++) {
      for (const from of [0, 1]) {
        writeMessage(m, 0, size, seq, from);
        if (seq === 17 && from === 1 && size > 16) {
          m[size >> 1] ^= 4; // torn middle of a fully checked message
          want++;
        }
        if (seq === 20 && from === 0) {
          m[4] = 1; // claims to be producer 1's: the stamp's ~seq still fits, the tail does not
          want++;
        }
        if (seq === 21 && from === 1) {
          writeMessage(m, 0, size, 3, 1); // producer 1 going back in its sequence
          want++;
        }
        if (seq === 22 && from === 0) {
          m[size - 1] ^= 2;
          want++;
        }
        checker.check(m, 0, seq === 23 && from === 0 ? size - 1 : size);
        if (seq === 23 && from === 0) want++;
      }
    }
    expect(`S5 ${size} B: messages of two producers, five spoilt`, checker.bad, want);
  }

  // The stream framing: coalesced messages cut out of chunks split anywhere.
  for (const size of [16, 100, 5000]) {
    for (const spoil of [false, true]) {
      const coalescer = new Coalescer(size);
      const chunks = [];
      const sink = { write: (chunk, release) => { chunks.push(Buffer.from(chunk)); release(); return true; } };
      for (let seq = 0; seq < 300; seq++) {
        if (!coalescer.fits) coalescer.flush(sink);
        coalescer.add(seq);
      }
      coalescer.flush(sink);
      const stream = Buffer.concat(chunks);
      if (spoil) stream[LENGTH_PREFIX + 34 * (LENGTH_PREFIX + size) + (size >> 1)] ^= 1; // message 34: fully checked
      const checker = new Checker(size);
      const parser = new FrameParser((bytes, offset, length) => checker.check(bytes, offset, length), () => {});
      for (let at = 0, cut = 7; at < stream.length; at += cut, cut = (cut * 31 + 5) % 9001 + 1) {
        parser.push(stream.subarray(at, Math.min(stream.length, at + cut)));
      }
      expect(`stream ${size} B${spoil ? ', message 34 torn' : ''}: count`, checker.count, 300);
      expect(`stream ${size} B${spoil ? ', message 34 torn' : ''}: bad`, checker.bad, spoil ? 1 : 0);
    }
  }

  // S11: large messages (a size that is no power of two), the strided sample in every
  // message not checked whole. Message 5 is not checked whole; 17 is.
  {
    const size = 300007;
    const sampled = (n, tamper) => {
      const checker = new SampledChecker(size);
      const m = new Uint8Array(size);
      const other = new Uint8Array(size);
      for (let seq = 0; seq < n; seq++) {
        writeMessage(m, 0, size, seq);
        tamper?.(m, seq, other);
        checker.check(m, 0, size);
      }
      return checker.bad;
    };
    expect('S11: whole messages', sampled(40), 0);
    expect('S11: message 5 is not checked whole, 17 is', `${fullyChecked(5)} ${fullyChecked(17)}`, 'false true');
    // A stretch one stride (and a sample) long taken from the next message (a stale or
    // misplaced fragment), at a few places: always caught.
    for (const at of [8, 4096, 65536 - 3, 150001, size - 8 - SAMPLE_STRIDE - SAMPLE_BYTES]) {
      expect(`S11: ${SAMPLE_STRIDE + SAMPLE_BYTES} bytes of message 6 at ${at} in message 5`, sampled(10, (m, seq, other) => {
        if (seq !== 5) return;
        writeMessage(other, 0, size, 6);
        m.set(other.subarray(at, at + SAMPLE_STRIDE + SAMPLE_BYTES), at);
      }), 1);
    }
    // A lost 64 KiB piece (everything after it moved up) in a message not checked whole.
    expect('S11: 64 KiB lost from the middle of message 5', sampled(10, (m, seq) => {
      if (seq === 5) m.copyWithin(100000, 100000 + 65536, size - 8);
    }), 1);
    // One wrong byte: caught in a message checked whole; in another, only where a sample falls.
    expect('S11: one wrong byte in message 17 (checked whole)', sampled(20, (m, seq) => {
      if (seq === 17) m[123457] ^= 1;
    }), 1);
    const first = 8 + ((5 * 613) % SAMPLE_STRIDE);
    expect('S11: one wrong byte in message 5 where a sample falls', sampled(10, (m, seq) => {
      if (seq === 5) m[first + 7 * SAMPLE_STRIDE + 3] ^= 1;
    }), 1);

    // The same messages over a stream, put back together into one reused buffer.
    for (const spoil of [false, true]) {
      const n = 12;
      const stream = new Uint8Array(n * (LENGTH_PREFIX + size) + LENGTH_PREFIX);
      for (let seq = 0; seq < n; seq++) {
        const at = seq * (LENGTH_PREFIX + size);
        prefix(stream, at, size);
        writeMessage(stream, at + LENGTH_PREFIX, size, seq);
      }
      prefix(stream, n * (LENGTH_PREFIX + size), END_OF_PHASE);
      if (spoil) stream[5 * (LENGTH_PREFIX + size) + LENGTH_PREFIX + first + 2 * SAMPLE_STRIDE] ^= 0x40;
      const checker = new SampledChecker(size);
      let ends = 0;
      const assembler = new FrameAssembler((bytes, offset, length) => checker.check(bytes, offset, length), () => ends++);
      assembler.into(Buffer.alloc(size));
      for (let at = 0, cut = 3; at < stream.length; at += cut, cut = (cut * 37 + 11) % 70001 + 1) {
        assembler.push(Buffer.from(stream.buffer, at, Math.min(stream.length - at, cut)));
      }
      const what = `S11 stream of ${n} x ${size} B into one buffer${spoil ? ', message 5 torn at a sample' : ''}`;
      expect(`${what}: count`, checker.count, n);
      expect(`${what}: bad`, checker.bad, spoil ? 1 : 0);
      expect(`${what}: ends`, ends, 1);
      expect(`${what}: idle at the end`, assembler.idle, true);
    }
  }

  // The C helpers: the same bytes as frames.mjs, and their own checkers' self-tests. Where they
  // cannot be built (no C compiler), the bench reports them as not run, and so does this.
  let c = 'C helper not checked';
  if (native) {
    let helpers = null;
    try {
      const { buildNative } = await import('../../native/build.mjs');
      helpers = await buildNative(['cRing', 'sysvIpc']);
    } catch (error) {
      c = `C helpers not built: ${String(error.message).split('\n')[0]}`;
    }
    if (helpers !== null) {
      // c-ring.c and sysv-ipc.c each carry their own copy of the format and the checker.
      const before = problems.length;
      for (const [name, file] of [['c-ring', helpers.cRing], ['sysv-ipc', helpers.sysvIpc]]) {
        try {
          for (const [size, seq, tag] of [[16, 0, 0], [65, 17, 0], [300, 4294967295, 1], [1024, 123456, 0]]) {
            const hex = execFileSync(file, ['--print', size, seq, tag].map(String), { encoding: 'utf8' }).trim();
            const js = new Uint8Array(size);
            writeMessage(js, 0, size, seq, tag);
            expect(`${name} writes message ${seq} (${size} B, tag ${tag}) as frames.mjs does`, hex, Buffer.from(js).toString('hex'));
          }
          const report = JSON.parse(execFileSync(file, ['--self-test'], { encoding: 'utf8' }).trim());
          expect(`${name} --self-test`, report.selfTest, true);
        } catch (error) {
          problems.push(`${name}: ${String(error.message).split('\n')[0]}`);
        }
      }
      if (problems.length === before) c = 'C helpers (c-ring, sysv-ipc) checked';
    }
  }
  return { problems, summary: `message format and checkers: ${SIZES.length} sizes, S5, stream framing, S11's sample and reassembly; ${c}` };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { problems, summary } = await selfTest();
  if (problems.length > 0) {
    console.error(`check-frames: ${problems.length} problem${problems.length === 1 ? '' : 's'}:`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(`check-frames: ok (${summary})`);
}
