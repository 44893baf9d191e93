// S4 over a Unix domain socket or TCP on 127.0.0.1: the pong side listens and echoes every
// length-prefixed message it reads; the ping side writes one, waits for the echo on 'data',
// and times the round trip. TCP with setNoDelay(true) on both ends.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { config, dieOnError, finish, now, tell } from './common.mjs';
import { Checker, FrameParser, LENGTH_PREFIX, prefix, seqOf, writeMessage, STOP_SEQ } from './frames.mjs';

const SIZE = 64;
const { role, transport, path: socketPath, peer, warmup, warmupMs, iterations } = config();
dieOnError(`${transport} ping-pong ${role}`);
const checker = new Checker(SIZE);

function frameOf(bytes, offset, length) {
  const frame = Buffer.allocUnsafe(LENGTH_PREFIX + length);
  prefix(frame, 0, length);
  frame.set(bytes.subarray(offset, offset + length), LENGTH_PREFIX);
  return frame;
}

function fail(error) {
  console.error(`${transport} ping-pong ${role}: ${error.message}`);
  process.exit(1);
}

if (role === 'pong') {
  const server = net.createServer((socket) => {
    server.close();
    if (transport === 'tcp') socket.setNoDelay(true);
    const parser = new FrameParser((bytes, offset, length) => {
      const stop = seqOf(bytes, offset) === STOP_SEQ;
      if (!stop) checker.check(bytes, offset, length);
      socket.write(frameOf(bytes, offset, length));
      if (stop) socket.end(() => finish({ ctl: 'done', from: 'pong', received: checker.count, bad: checker.bad }));
    }, () => {});
    socket.on('data', (chunk) => parser.push(chunk));
    socket.on('error', fail);
  });
  const listening = () => tell({ ctl: 'ready', from: 'pong', peer: { port: server.address()?.port } });
  if (transport === 'uds') server.listen(socketPath, listening);
  else server.listen(0, '127.0.0.1', listening);
} else {
  const socket = transport === 'uds' ? net.createConnection(socketPath)
    : net.createConnection({ host: '127.0.0.1', port: peer.port });
  if (transport === 'tcp') socket.setNoDelay(true);
  const samples = new Float64Array(iterations);
  let n = 0; // round trips so far
  let k = 0; // of them measured
  let warm = 0;
  let warmEnd = Infinity; // set at the first send: warm up for `warmup` round trips and `warmupMs`
  let start = 0;
  const send = (seq) => {
    const frame = Buffer.allocUnsafe(LENGTH_PREFIX + SIZE);
    prefix(frame, 0, SIZE);
    writeMessage(frame, LENGTH_PREFIX, SIZE, seq);
    start = now();
    if (warmEnd === Infinity) warmEnd = start + warmupMs;
    socket.write(frame);
  };
  const parser = new FrameParser((bytes, offset, length) => {
    const end = now();
    if (seqOf(bytes, offset) === STOP_SEQ) {
      socket.end(() => finish({ ctl: 'result', from: 'ping', samples: Array.from(samples), warm, received: checker.count, bad: checker.bad }));
      return;
    }
    checker.check(bytes, offset, length);
    if (warm < warmup || end < warmEnd) warm++;
    else samples[k++] = (end - start) * 1000;
    send(k < iterations ? ++n : STOP_SEQ);
  }, () => {});
  socket.on('data', (chunk) => parser.push(chunk));
  socket.on('error', fail);
  socket.on('connect', () => {
    tell({ ctl: 'ready', from: 'ping' }); // connected: the harness removes the socket path
    send(0);
  });
}
