// Opening something that is not a sound ringwire channel, and peers that write nonsense into
// a live one, must end in a clear error, never a crash or a read out of bounds.
import { chownSync, closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import { layout } from '../src/native.js';
import { channelName } from './helpers.js';

const segmentFile = (name: string) => `/dev/shm/rw.${name}`;
const code = (c: string) => expect.objectContaining({ code: c });

/** Writes little-endian uint32 `value` at byte `offset` of a channel's segment file. */
function poke(name: string, offset: number, value: number): void {
  const fd = openSync(segmentFile(name), 'r+');
  const word = Buffer.alloc(4);
  word.writeUInt32LE(value >>> 0);
  writeSync(fd, word, 0, 4, offset);
  closeSync(fd);
}

function validHeader(capacity = 4096): Buffer {
  const name = channelName('tmpl');
  createChannel(name, { capacity });
  return readFileSync(segmentFile(name));
}

describe('opening what is not a ringwire channel', () => {
  it('random bytes: ERR_RINGWIRE_INCOMPATIBLE (not a ringwire channel)', () => {
    const name = channelName('rand');
    writeFileSync(segmentFile(name), randomBytes(8192), { mode: 0o600 });
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
    expect(() => openReceiver(name)).toThrow(/not a ringwire channel/);
  });

  it('wrong magic: ERR_RINGWIRE_INCOMPATIBLE', () => {
    const name = channelName('magic');
    const bytes = validHeader();
    bytes.writeUInt32LE(0xdeadbeef, layout.OFF_MAGIC);
    writeFileSync(segmentFile(name), bytes, { mode: 0o600 });
    expect(() => openSender(name)).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
  });

  it('another layout version: ERR_RINGWIRE_INCOMPATIBLE naming both versions', () => {
    const name = channelName('version');
    const bytes = validHeader();
    bytes.writeUInt32LE(layout.VERSION + 1, layout.OFF_VERSION);
    writeFileSync(segmentFile(name), bytes, { mode: 0o600 });
    expect(() => openSender(name)).toThrow(code('ERR_RINGWIRE_INCOMPATIBLE'));
    expect(() => openSender(name)).toThrow(
      new RegExp(`version ${layout.VERSION + 1}; this ringwire reads version ${layout.VERSION}`));
  });

  it('a truncated file (smaller than the header, or empty): ERR_RINGWIRE_CORRUPT', () => {
    const name = channelName('trunc');
    writeFileSync(segmentFile(name), validHeader().subarray(0, 100), { mode: 0o600 });
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    const empty = channelName('empty');
    writeFileSync(segmentFile(empty), Buffer.alloc(0), { mode: 0o600 });
    expect(() => openReceiver(empty)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
  });

  it('a file shorter than its header says: ERR_RINGWIRE_CORRUPT', () => {
    const name = channelName('short');
    writeFileSync(segmentFile(name), validHeader(8192).subarray(0, layout.HEADER_SIZE + 4096), { mode: 0o600 });
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
  });

  it('a header field changed after creation: ERR_RINGWIRE_CORRUPT', () => {
    for (const [offset, value] of [[layout.OFF_CAPACITY, 8192], [layout.OFF_MAX_MESSAGE, 1 << 20], [layout.OFF_MODE, 7],
      [layout.OFF_MAX_MESSAGE_SIZE, 5]]) {
      const name = channelName('field');
      const bytes = validHeader();
      bytes.writeUInt32LE(value, offset);
      writeFileSync(segmentFile(name), bytes, { mode: 0o600 });
      expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    }
  });

  it.skipIf(process.getuid?.() !== 0)('a segment owned by another user: ERR_RINGWIRE_PERMISSION', () => {
    const name = channelName('owner');
    createChannel(name, { capacity: 4096 });
    chownSync(segmentFile(name), 65534, 65534);
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_PERMISSION'));
  });
});

describe('a peer writing nonsense into a live channel', () => {
  function live(tag: string) {
    const name = channelName(tag);
    createChannel(name, { capacity: 4096 });
    return { name, sender: openSender(name), receiver: openReceiver(name) };
  }

  it('a producer position beyond the ring: the receiver reports ERR_RINGWIRE_CORRUPT', () => {
    const { name, sender, receiver } = live('hprod');
    poke(name, layout.OFF_PRODUCER_POSITION, 4096 * 3);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    poke(name, layout.OFF_PRODUCER_POSITION, 13);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    sender.close();
    receiver.close();
  });

  it('a record length larger than what was published: ERR_RINGWIRE_CORRUPT, and pending recv rejects', async () => {
    const { name, sender, receiver } = live('hlen');
    const pending = receiver.recv({ timeout: 5000 });
    sender.trySend('tiny');
    await pending;
    const pending2 = receiver.recv({ timeout: 5000 });
    sender.trySend('second'); // wakes the parked receiver, which runs after this test's code
    poke(name, layout.HEADER_SIZE + 16, 0x7fff0000); // the new record's length
    await expect(pending2).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CORRUPT' });
    for (const length of [4089, 200, 0xfffffff0]) {
      poke(name, layout.HEADER_SIZE + 16, length);
      expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    }
    sender.close();
    receiver.close();
  });

  it('padding that runs past the published end: ERR_RINGWIRE_CORRUPT', () => {
    const { name, sender, receiver } = live('hpad');
    sender.trySend('x');
    poke(name, layout.HEADER_SIZE, layout.PADDING_LENGTH);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    sender.close();
    receiver.close();
  });

  it('a consumer position ahead of the producer: the sender reports ERR_RINGWIRE_CORRUPT', () => {
    const { name, sender, receiver } = live('hcons');
    while (sender.trySend(new Uint8Array(100)));
    poke(name, layout.OFF_CONSUMER_POSITION, 0x40000000);
    expect(() => sender.trySend(new Uint8Array(100))).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    sender.close();
    receiver.close();
  });

  it('opening an endpoint over impossible positions: ERR_RINGWIRE_CORRUPT', () => {
    const name = channelName('hopen');
    createChannel(name, { capacity: 4096 });
    poke(name, layout.OFF_CONSUMER_POSITION, 5);
    expect(() => openReceiver(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    expect(() => openSender(name)).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    // The failed opens released their locks.
    poke(name, layout.OFF_CONSUMER_POSITION, 0);
    openSender(name).close();
    openReceiver(name).close();
  });
});

describe('mpmc peers that write nonsense', () => {
  const open = (capacity = 4096) => {
    const name = channelName('mphost');
    createChannel(name, { capacity, mode: 'mpmc' });
    return name;
  };
  const H = layout.HEADER_SIZE;

  it('a committed record longer than a message can be: ERR_RINGWIRE_CORRUPT', () => {
    const name = open();
    const receiver = openReceiver(name);
    poke(name, H, 5000);
    poke(name, H + 4, layout.REC_COMMITTED);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    receiver.close();
  });

  it('a record running past the end of the ring, or a skip of an odd size: ERR_RINGWIRE_CORRUPT', () => {
    const name = open();
    const receiver = openReceiver(name);
    poke(name, layout.OFF_TAKE_POSITION, 4096 - 16);
    poke(name, H + 4096 - 16, 100);
    poke(name, H + 4096 - 12, layout.REC_COMMITTED);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    poke(name, H + 4096 - 16, (layout.SKIP | 12) >>> 0);
    expect(() => receiver.tryRecv()).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    receiver.close();
  });

  it('impossible positions: ERR_RINGWIRE_CORRUPT for the sender', () => {
    const name = open();
    const sender = openSender(name);
    poke(name, layout.OFF_CLAIM_POSITION, 5);
    expect(() => sender.trySend('x')).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    poke(name, layout.OFF_CLAIM_POSITION, 0);
    poke(name, layout.OFF_RELEASE_POSITION, 1 << 20);
    expect(() => sender.trySend('x')).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    poke(name, layout.OFF_RELEASE_POSITION, 0);
    // A unit that should be free (R is past it) holds something else.
    poke(name, H + 4, 7 | (3 << layout.SLOT_SHIFT));
    expect(() => sender.trySend('x')).toThrow(code('ERR_RINGWIRE_CORRUPT'));
    sender.close();
  });

  it('a claim naming an endpoint slot that cannot exist: ERR_RINGWIRE_CORRUPT from the wait', async () => {
    const name = open();
    const receiver = openReceiver(name);
    poke(name, H, 3);
    poke(name, H + 4, (63 << layout.SLOT_SHIFT) | layout.REC_CLAIMED);
    await expect(receiver.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CORRUPT' });
    receiver.close();
  });

  it('a delivered position that is no record boundary (or beyond what was sent) is ignored; a true one is resumed from', () => {
    const name = channelName('hdeliv');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    for (let i = 0; i < 5; i++) sender.trySend(new Uint8Array(20).fill(i)); // records of 32 bytes
    const first = () => {
      const receiver = openReceiver(name);
      const message = receiver.tryRecv();
      receiver.close();
      // As if it had taken nothing.
      poke(name, layout.OFF_CONSUMER_POSITION, 0);
      poke(name, layout.OFF_MESSAGES_RECEIVED, 0);
      poke(name, layout.OFF_MESSAGES_RECEIVED + 4, 0);
      return message?.[0];
    };
    for (const delivered of [8, 36, 40, 32 * 5 + 32, 4096 - 4, 0xfffffff8]) {
      poke(name, layout.OFF_DELIVERED_POSITION, delivered);
      poke(name, layout.OFF_CONSUMER_POSITION, 0);
      expect(first(), `delivered ${delivered}`).toBe(0);
    }
    poke(name, layout.OFF_CONSUMER_POSITION, 0);
    poke(name, layout.OFF_DELIVERED_POSITION, 32 * 3);
    const receiver = openReceiver(name);
    expect(stats(name).messagesReceived).toBe(3); // the three walked over, published at once
    expect(receiver.tryRecv()?.[0]).toBe(3);
    receiver.close();
    sender.close();
  });
});
