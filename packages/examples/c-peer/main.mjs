// `npm run c-peer`: Node asks a C++ program to do arithmetic over two SPSC channels. This
// launcher builds c-peer/peer.cc (with g++, or $CXX) into c-peer/build/, creates a request
// channel and a reply channel, starts the peer, sends it vectors of numbers and prints the
// sums and sums of squares it answers, then ends the requests and removes both channels.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, openReceiver, openSender, unlinkChannel } from 'ringwire';
import { onInterrupt, start, stopChildren } from '../shared/launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const include = path.resolve(here, '../../native/include'); // ringwire's C++ headers
const program = path.join(here, 'build', 'peer');

/** Compiles peer.cc unless the program is newer than it and every ringwire header. */
function buildPeer() {
  const headers = readdirSync(path.join(include, 'ringwire')).map((f) => path.join(include, 'ringwire', f));
  const sources = [path.join(here, 'peer.cc'), ...headers];
  if (existsSync(program) && sources.every((f) => statSync(f).mtimeMs <= statSync(program).mtimeMs)) return;
  const cxx = process.env.CXX || 'g++';
  mkdirSync(path.dirname(program), { recursive: true });
  const output = `${program}.${process.pid}.tmp`; // renamed into place: runs at once never see half a file
  const result = spawnSync(cxx, ['-std=c++17', '-O2', '-Wall', '-Wextra', '-I', include,
    path.join(here, 'peer.cc'), '-o', output], { stdio: 'inherit' });
  if (result.error?.code === 'ENOENT') {
    throw new Error(`${cxx} not found: this example needs a C++17 compiler (apt-get install g++, or set CXX)`);
  }
  if (result.error || result.status !== 0) {
    rmSync(output, { force: true });
    throw new Error(`${cxx} could not build peer.cc${result.error ? `: ${result.error.message}` : ''}`);
  }
  renameSync(output, program);
}

/** Numbers to bytes (little-endian float64, the peer's format) and back. */
function encode(numbers) {
  const view = new DataView(new ArrayBuffer(numbers.length * 8));
  numbers.forEach((n, i) => view.setFloat64(i * 8, n, true));
  return new Uint8Array(view.buffer);
}
function decode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
}

const requestChannel = `cpeer-req-${process.pid}`;
const replyChannel = `cpeer-res-${process.pid}`;
const channels = [requestChannel, replyChannel];
onInterrupt(() => { for (const name of channels) unlinkChannel(name); });
let requests;
let replies;

try {
  buildPeer();
  for (const name of channels) createChannel(name, { capacity: 64 * 1024 });
  // Open our ends before starting the peer: should this process die, the peer's waits then
  // fail with ERR_RINGWIRE_PEER_DEAD instead of waiting for an endpoint that never comes.
  requests = openSender(requestChannel);
  replies = openReceiver(replyChannel);
  const peer = start(program, channels, { label: 'peer' });

  const inputs = [[1, 2, 3], [0.5, -0.5], [], [10, 20, 30, 40]];
  for (const numbers of inputs) {
    await requests.send(encode(numbers));
    // recv() rejects with ERR_RINGWIRE_TIMEOUT after 5 s, or ERR_RINGWIRE_PEER_DEAD if the peer died.
    const reply = await Promise.race([replies.recv({ timeout: 5000 }), peer.done.then(() => null)]);
    if (reply === null) throw new Error('the peer stopped answering');
    const [sum, squares] = decode(reply);
    console.log(`c-peer: [${numbers.join(', ')}] -> sum ${sum}, sum of squares ${squares}`);
  }

  // End of requests: the peer drains them, ends its replies and exits.
  requests.end();
  const last = await replies.recv({ timeout: 5000 });
  if (last !== null) throw new Error('the peer sent more replies than requests');
  await peer.done;
  console.log(`c-peer: ${inputs.length} requests answered by C++`);
} catch (error) {
  console.error(`c-peer: ${error.message}`);
  process.exitCode = 1;
} finally {
  requests?.close();
  replies?.close();
  stopChildren();
  for (const name of channels) unlinkChannel(name);
}
