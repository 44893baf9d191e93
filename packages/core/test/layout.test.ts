// The TypeScript reads every offset from the addon; these tests check that what it reads
// agrees with what the C++ writes, and that the layout is internally sound.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createChannel, layout, openReceiver, openSender, stats } from '../src/index.js';
import { channelName } from './helpers.js';

describe('layout', () => {
  it('the header the C++ writes reads back at the offsets the addon exports', () => {
    const name = channelName('layout');
    const before = Date.now();
    createChannel(name, { capacity: 1 << 16, wait: 'semaphore' });
    const bytes = readFileSync(`/dev/shm/rw.${name}`);
    const word = (offset: number) => bytes.readUInt32LE(offset);
    expect(bytes.length).toBe(layout.HEADER_SIZE + (1 << 16));
    expect(word(layout.OFF_MAGIC)).toBe(layout.MAGIC);
    expect(word(layout.OFF_VERSION)).toBe(layout.VERSION);
    expect(word(layout.OFF_HEADER_SIZE)).toBe(layout.HEADER_SIZE);
    expect(word(layout.OFF_CAPACITY)).toBe(1 << 16);
    expect(word(layout.OFF_MODE)).toBe(layout.MODE_SPSC);
    expect(word(layout.OFF_WAIT_MECHANISM)).toBe(layout.WAIT_SEMAPHORE);
    expect(word(layout.OFF_MAX_MESSAGE)).toBe((1 << 16) - layout.RECORD_HEADER_SIZE);
    expect(word(layout.OFF_CREATOR_PID)).toBe(process.pid);
    expect(word(layout.OFF_RECORD_ALIGNMENT)).toBe(layout.RECORD_ALIGNMENT);
    expect(word(layout.OFF_RECORD_HEADER_SIZE)).toBe(layout.RECORD_HEADER_SIZE);
    const created = word(layout.OFF_CREATED_AT_LOW) + word(layout.OFF_CREATED_AT_HIGH) * 2 ** 32;
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(created).toBeLessThanOrEqual(Date.now() + 1000);
    expect(stats(name).createdAt.getTime()).toBe(created);
  });

  it('records written by the TypeScript sit where the layout says', () => {
    const name = channelName('records');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    sender.trySend('abc');
    const bytes = readFileSync(`/dev/shm/rw.${name}`);
    expect(bytes.readUInt32LE(layout.OFF_PRODUCER_POSITION)).toBe(16);
    expect(bytes.readUInt32LE(layout.OFF_SENDER_PID)).toBe(process.pid);
    expect(bytes.readUInt32LE(layout.HEADER_SIZE)).toBe(3);
    expect(bytes.subarray(layout.HEADER_SIZE + layout.RECORD_HEADER_SIZE, layout.HEADER_SIZE + 11).toString()).toBe('abc');
    const receiver = openReceiver(name);
    receiver.tryRecv();
    receiver.tryRecv(); // finds the ring empty: publishes its position
    expect(readFileSync(`/dev/shm/rw.${name}`).readUInt32LE(layout.OFF_CONSUMER_POSITION)).toBe(16);
    sender.close();
    receiver.close();
  });

  it('every mutable word has a line of its own, inside the header', () => {
    const lines = [
      [layout.OFF_PRODUCER_POSITION],
      [layout.OFF_CONSUMER_POSITION],
      [layout.OFF_DATA_SIGNAL, layout.OFF_RECEIVER_WAITERS],
      [layout.OFF_SPACE_SIGNAL, layout.OFF_SENDER_WAITERS],
      [layout.OFF_STATE, layout.OFF_SENDER_PID, layout.OFF_RECEIVER_PID],
    ].map((offsets) => offsets.map((offset) => Math.floor(offset / layout.LINE_SIZE)));
    for (const offsets of lines) expect(new Set(offsets).size).toBe(1);
    const lineOf = lines.map((offsets) => offsets[0]);
    expect(new Set([0, ...lineOf]).size).toBe(lineOf.length + 1);
    expect(layout.LINE_SIZE).toBeGreaterThanOrEqual(128);
    expect((Math.max(...lineOf) + 1) * layout.LINE_SIZE).toBeLessThanOrEqual(layout.HEADER_SIZE);
    expect(layout.HEADER_SIZE % 4096).toBe(0);
  });
});
