// `npm run snapshots [-- <MiB>]`: messages larger than the ring. This process sends three
// snapshots of a data set (default 64 MiB each) to a consumer process over an SPSC channel
// whose ring is only 64 KiB: each goes in fragments, written as the consumer frees room, and
// the consumer gets each one whole. Before each snapshot goes a small message naming it, its
// size and its SHA-256, which the consumer checks. The consumer receives with recvInto() into
// one buffer it reuses, so the stream allocates nothing per snapshot.
import { createHash } from 'node:crypto';
import { createChannel, openSender, unlinkChannel } from 'ringwire';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';

const mib = Number(process.argv[2] ?? 64);
if (!(Number.isInteger(mib) && mib >= 1 && mib <= 1024)) {
  console.error('usage: node snapshots/main.mjs [MiB per snapshot, 1..1024]');
  process.exit(2);
}

const channel = `snapshots-${process.pid}`;
// A 64 KiB ring; messages up to 1 GiB (the default maxMessageSize) go through it in fragments.
createChannel(channel, { capacity: 64 * 1024 });
onInterrupt(() => unlinkChannel(channel));
const sender = openSender(channel);
try {
  const consumer = startNode(new URL('./consumer.mjs', import.meta.url), [channel, String(mib)]);
  const snapshot = Buffer.alloc(mib << 20);
  const started = performance.now();
  for (let version = 1; version <= 3; version++) {
    // A data set that changes between versions: every byte depends on the version.
    for (let i = 0; i < snapshot.length; i += 4) snapshot.writeUInt32LE((i * 2654435761 + version) >>> 0, i);
    const sha256 = createHash('sha256').update(snapshot).digest('hex');
    await sender.send(JSON.stringify({ name: `snapshot-${version}`, bytes: snapshot.length, sha256 }));
    await sender.send(snapshot); // resolves once its last fragment is in the ring
  }
  await sender.end();
  await consumer.done;
  const seconds = (performance.now() - started) / 1000;
  console.log(`producer: sent 3 snapshots of ${mib} MiB through a 64 KiB ring in ${seconds.toFixed(2)} s`);
} catch (error) {
  console.error(`snapshots: ${error.message}`);
  process.exitCode = 1;
} finally {
  sender.close();
  stopChildren();
  unlinkChannel(channel);
}
