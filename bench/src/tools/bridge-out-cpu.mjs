// The CPU time per message of ringwire/nats's out bridge alone, against nats.js publishing the
// same messages itself: what the bridge costs beyond the client. One nats-server (no
// subscriber: the server drops what it is sent), one process per line:
//   bridge   a producer process fills an SPSC channel (8 MiB) for SECONDS; this process runs
//            bridge({ direction: 'out' }) from it until the stream ends
//   publish  this process publishes the messages itself, as S13's plain publisher does: a
//            fresh Uint8Array each (nats.js keeps what it is given until it writes it out),
//            await nc.flush() every 4096, as the bridge flushes
// Each message is SIZE bytes with its sequence number in its first 4; every line is the CPU
// time (user + system) of the measuring process over the messages it moved. A diagnostic:
// nobody receives, nothing is checked here (S13 checks every message end to end).
//
//   node bench/src/tools/bridge-out-cpu.mjs [--size=4096] [--seconds=3] [--rounds=3]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { createChannel, openSender, unlinkChannel } from 'ringwire';
import { bridge } from 'ringwire/nats';
import { findNatsServer, startNatsServer } from '../harness/nats-server.mjs';

const option = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SIZE = option('size', 4096);
const SECONDS = option('seconds', 3);
const ROUNDS = option('rounds', 3);

if (process.argv[2] === 'producer') {
  const sender = openSender(process.argv[3]);
  const message = new Uint8Array(SIZE);
  const view = new DataView(message.buffer);
  const end = performance.now() + SECONDS * 1000;
  let seq = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++, seq++) {
      view.setUint32(0, seq, true);
      if (!sender.trySend(message)) await sender.send(message);
    }
  }
  await sender.end();
  sender.close();
  process.exit(0);
}

function line(what, count, cpu) {
  const us = (cpu.user + cpu.system) / count;
  console.log(`${what.padEnd(8)} ${SIZE} B  ${String(count).padStart(8)} msgs  ${us.toFixed(2)} µs CPU/msg (user ${(cpu.user / count).toFixed(2)}, system ${(cpu.system / count).toFixed(2)})`);
  return us;
}

async function viaBridge(url, round) {
  const name = `rwbench-bo-${process.pid}-${round}`;
  createChannel(name, { capacity: 8 << 20 });
  try {
    const producer = fork(fileURLToPath(import.meta.url), ['producer', name, `--size=${SIZE}`, `--seconds=${SECONDS}`]);
    const exited = new Promise((resolve, reject) => producer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`producer exited with ${code}`)))));
    const start = process.cpuUsage();
    const running = await bridge({ channel: name, subject: `rwbench.bo.${process.pid}`, direction: 'out', servers: url });
    const { stats } = await running.done;
    const cpu = process.cpuUsage(start);
    await exited;
    return line('bridge', stats.messages, cpu);
  } finally {
    unlinkChannel(name);
  }
}

async function viaPublish(url) {
  const nc = await connect({ servers: url });
  const subject = `rwbench.bo.${process.pid}`;
  const start = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  let seq = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 4096; i++, seq++) {
      const message = new Uint8Array(SIZE);
      new DataView(message.buffer).setUint32(0, seq, true);
      nc.publish(subject, message);
    }
    await nc.flush();
  }
  const cpu = process.cpuUsage(start);
  await nc.close();
  return line('publish', seq, cpu);
}

const binary = findNatsServer();
if (binary === null) {
  console.error('nats-server is not on PATH (bash tools/ensure-nats-server.sh installs it)');
  process.exit(1);
}
const server = await startNatsServer(binary);
try {
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bridged = await viaBridge(server.url, round);
    const published = await viaPublish(server.url);
    ratios.push(bridged / published);
  }
  ratios.sort((a, b) => a - b);
  console.log(`bridge ÷ publish, CPU per message: median ${ratios[ratios.length >> 1].toFixed(2)}x (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)}x over ${ROUNDS} rounds)`);
} finally {
  await server.stop();
}
