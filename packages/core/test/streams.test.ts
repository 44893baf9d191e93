// receiver.readable() and sender.writable(): Node streams with backpressure end to end.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import { channelName } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ringwire-streams-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('streams', () => {
  it('pipeline(file → sender.writable()) and pipeline(receiver.readable() → file) reproduce the file', async () => {
    const name = channelName('file');
    // A small ring: chunks of 64 KiB are split into messages, and both sides wait on each other.
    createChannel(name, { capacity: 8192 });
    const input = join(dir, 'in.bin');
    const output = join(dir, 'out.bin');
    const content = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(input, content);
    const sender = openSender(name);
    const receiver = openReceiver(name);
    await Promise.all([
      pipeline(createReadStream(input), sender.writable()),
      pipeline(receiver.readable(), createWriteStream(output)),
    ]);
    expect(sha(readFileSync(output))).toBe(sha(content));
    expect(stats(name).ended).toBe(true);
    sender.close();
    receiver.close();
  });

  it('object mode with a codec: one value per message, in order', async () => {
    const name = channelName('objects');
    createChannel(name, { capacity: 4096 });
    const sender = openSender<{ n: number }>(name, { codec: 'json' });
    const receiver = openReceiver<{ n: number }>(name, { codec: 'json' });
    const got: number[] = [];
    await Promise.all([
      pipeline(Readable.from(Array.from({ length: 500 }, (_, n) => ({ n }))), sender.writable()),
      pipeline(receiver.readable(), new Writable({
        objectMode: true,
        write(value: { n: number }, _e, callback) {
          got.push(value.n);
          callback();
        },
      })),
    ]);
    expect(got).toEqual(Array.from({ length: 500 }, (_, n) => n));
    sender.close();
    receiver.close();
  });

  it('a Readable that is not read stops taking messages: the ring fills and the sender waits (backpressure)', async () => {
    const name = channelName('backpressure');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    const readable = receiver.readable({ highWaterMark: 1024 });
    readable.pause();
    let sent = 0;
    let blocked = false;
    const pump = (async () => {
      for (let i = 0; i < 1000; i++) {
        const attempt = sender.send(new Uint8Array(200).fill(i & 255));
        const raced = await Promise.race([attempt.then(() => 'sent'), new Promise((r) => setImmediate(() => r('waiting')))]);
        if (raced === 'waiting') {
          blocked = true;
          await attempt;
        }
        sent++;
      }
      await sender.end();
    })();
    readable.on('data', () => {}); // never resumed until the sender is seen blocked
    readable.pause();
    while (!blocked) await new Promise((r) => setImmediate(r));
    // Blocked with the ring full and the stream's buffer at its mark: nothing beyond both.
    expect(sent).toBeLessThan(1000);
    expect(stats(name).bytesUsed).toBeGreaterThan(4096 - 256);
    let bytes = 0;
    readable.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    readable.resume();
    await pump;
    await new Promise((resolve) => readable.on('end', resolve));
    expect(bytes).toBe(200 * 1000);
    sender.close();
    receiver.close();
  });

  it('closing the receiver ends its Readable; destroying a stream leaves the endpoint open', async () => {
    const name = channelName('close-ends');
    createChannel(name);
    const sender = openSender(name);
    const receiver = openReceiver(name);
    const readable = receiver.readable();
    const chunks: Buffer[] = [];
    readable.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      receiver.close();
    });
    const ended = new Promise((resolve) => readable.on('end', resolve));
    await sender.send('only');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('only');

    const writable = sender.writable({ end: false });
    await new Promise<void>((resolve, reject) => writable.write('x', (e) => (e ? reject(e) : resolve())));
    writable.destroy();
    expect(sender.isClosed).toBe(false);
    await sender.send('still open');
    sender.close();
  });

  it('a writable with end: false leaves the channel open; bad options are refused', async () => {
    const name = channelName('no-end');
    createChannel(name);
    const sender = openSender(name);
    await pipeline(Readable.from([Buffer.from('a'), Buffer.from('b')]), sender.writable({ end: false }));
    expect(stats(name).ended).toBe(false);
    expect(() => sender.writable({ bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    const coded = openReceiver(name, { codec: 'json' });
    expect(() => coded.readable({ objectMode: false })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
    coded.close();
    sender.close();
  });
});
