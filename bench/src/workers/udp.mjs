// Throughput over UDP on 127.0.0.1 (node:dgram): one datagram per message, S1 per message
// only. UDP has no backpressure and may drop what does not fit the receiver's buffer, so the
// consumer grants credit: it acknowledges, on its socket back to the producer's, the count of
// messages it has taken every quarter window, and the producer never has more than `window`
// datagrams in flight. The window is sized from the consumer's receive buffer (SO_RCVBUF as
// the kernel granted it: asked for 4 MiB, capped by net.core.rmem_max) so that a full window
// fits in half of it with room for the kernel's per-datagram overhead: nothing should drop.
// If a datagram is lost anyway, nothing is hidden: the checker sees the gap (out of order)
// and the producer, starved of credit, fails the run after STALL_MS without an ack.
// A 4-byte datagram END_OF_PHASE ends a phase.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { config, dieOnError, finish, now, onControl, PhaseState, SLICE_MS, tell } from './common.mjs';
import { Checker, END_OF_PHASE, writeMessage } from './frames.mjs';

const settings = config();
const { role } = settings;
dieOnError(`udp ${role}`);

/** The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
const MAX_PAYLOAD = 65507;
const WANTED_RCVBUF = 4 << 20;
/** What a datagram costs in the receive buffer besides its payload, generously (skb truesize). */
const OVERHEAD = 1024;
const MAX_WINDOW = 1024;
/** No ack for this long while out of credit: a datagram was lost. */
const STALL_MS = 2000;
const ACK_BYTES = 8; // u32 phase, u32 messages taken

/** The credit window for `size`-byte messages and the receiver's buffer of `rcvbuf` bytes. */
export function windowFor(size, rcvbuf) {
  const fit = Math.floor(rcvbuf / 2 / (2 * (size + OVERHEAD)));
  return Math.max(2, Math.min(MAX_WINDOW, fit));
}

function fail(message) {
  console.error(`udp ${role}: ${message}`);
  process.exit(1);
}

function produce() {
  const socket = dgram.createSocket('udp4');
  socket.on('error', (error) => fail(error.message));
  let phase = null;
  let stallTimer = null;

  const onAck = (msg) => {
    if (phase === null || msg.length !== ACK_BYTES || msg.readUInt32LE(0) !== phase.i) return;
    const taken = msg.readUInt32LE(4);
    if (taken <= phase.acked) return;
    phase.acked = taken;
    if (phase.waiting) {
      phase.waiting = false;
      clearTimeout(stallTimer);
      pump();
    }
  };
  socket.on('message', onAck);

  function pump() {
    if (phase.stopped) return endPhase();
    const sliceEnd = now() + SLICE_MS;
    const { size, window } = phase;
    for (let n = 1; ; n++) {
      if (phase.seq - phase.acked >= window) {
        phase.waiting = true;
        stallTimer = setTimeout(() => fail(`no ack for ${STALL_MS} ms with ${window} datagrams in flight `
          + `(${phase.seq} sent, ${phase.acked} acknowledged): a datagram was lost`), STALL_MS);
        return;
      }
      const datagram = Buffer.allocUnsafe(size);
      writeMessage(datagram, 0, size, phase.seq++);
      socket.send(datagram);
      if ((n & 63) === 0 && now() >= sliceEnd) {
        setImmediate(pump);
        return;
      }
    }
  }

  function endPhase() {
    const end = Buffer.alloc(4, 0xff);
    const { i, seq } = phase;
    socket.send(end, () => tell({ ctl: 'done', from: 'producer', i, sent: seq }));
  }

  onControl((message) => {
    if (message.ctl === 'phase') {
      const { size } = message;
      if (size > MAX_PAYLOAD) fail(`${size}-byte messages do not fit a datagram (${MAX_PAYLOAD} bytes at most)`);
      phase = {
        i: message.i, size, seq: 0, acked: 0, stopped: false, waiting: false,
        window: windowFor(size, settings.peer.rcvbuf),
      };
      pump();
    } else if (message.ctl === 'stop') {
      // The pump sees it at its next turn; a producer waiting for credit stops now.
      phase.stopped = true;
      if (phase.waiting) {
        phase.waiting = false;
        clearTimeout(stallTimer);
        endPhase();
      }
    } else if (message.ctl === 'exit') {
      socket.close(() => finish({ ctl: 'bye', from: 'producer' }));
    }
  });
  socket.connect(settings.peer.port, '127.0.0.1', () => tell({ ctl: 'ready', from: 'producer' }));
}

function consume() {
  const socket = dgram.createSocket('udp4');
  socket.on('error', (error) => fail(error.message));
  let state = null;
  let ackEvery = 1;
  let acked = 0;

  socket.on('message', (msg, from) => {
    if (state === null) return fail(`a ${msg.length}-byte datagram outside a phase`);
    if (msg.length === 4 && msg.readUInt32LE(0) === END_OF_PHASE) {
      state.done();
      state = null;
      return;
    }
    const current = state;
    current.checker.check(msg, 0, msg.length);
    const taken = current.checker.count;
    if (taken - acked >= ackEvery) {
      acked = taken;
      const ack = Buffer.allocUnsafe(ACK_BYTES); // send() may hold on to it: a fresh one each time
      ack.writeUInt32LE(current.i, 0);
      ack.writeUInt32LE(taken >>> 0, 4);
      socket.send(ack, from.port, from.address);
    }
    current.maybeSample();
  });

  onControl((message) => {
    if (message.ctl === 'phase') {
      state = new PhaseState(message, Checker);
      ackEvery = Math.max(1, windowFor(message.size, rcvbuf) >> 2);
      acked = 0;
      tell({ ctl: 'armed', from: 'consumer', i: message.i });
    } else if (message.ctl === 'exit') {
      socket.close(() => finish({ ctl: 'bye', from: 'consumer' }));
    }
  });

  let rcvbuf = 0;
  socket.bind(0, '127.0.0.1', () => {
    try {
      socket.setRecvBufferSize(WANTED_RCVBUF);
    } catch {
      // capped or refused: use what the kernel gives
    }
    rcvbuf = socket.getRecvBufferSize();
    tell({ ctl: 'ready', from: 'consumer', peer: { port: socket.address().port, rcvbuf } });
  });
}

if (role === 'producer') produce();
else consume();
