// The consumer of the snapshots example: takes a header message and then its snapshot, into
// one buffer it reuses, and checks each snapshot's size and SHA-256.
//   node consumer.mjs <channel> <MiB>
import { createHash } from 'node:crypto';
import { openReceiver } from 'ringwire';

const [channel, mib] = process.argv.slice(2);
const receiver = openReceiver(channel);
const buffer = new Uint8Array(Number(mib) << 20);
let ok = 0;
try {
  for (;;) {
    const header = await receiver.recv();
    if (header === null) break; // the producer ended the stream
    const { name, bytes, sha256 } = JSON.parse(Buffer.from(header).toString());
    const length = await receiver.recvInto(buffer);
    const got = createHash('sha256').update(buffer.subarray(0, length)).digest('hex');
    const whole = length === bytes && got === sha256;
    console.log(`consumer: ${name}, ${length} bytes, ${whole ? 'SHA-256 matches' : 'DAMAGED'}`);
    if (whole) ok++;
  }
} finally {
  receiver.close();
}
if (ok !== 3) process.exitCode = 1;
