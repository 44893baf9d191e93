// The TypeScript reads every offset from the addon; these tests check that what it reads
// agrees with what the C++ writes, and that the layout is internally sound.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import { layout } from '../src/native.js';
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

  it('mpmc records, positions and slots sit where the layout says', () => {
    const name = channelName('mprecords');
    const capacity = 4096;
    createChannel(name, { capacity, mode: 'mpmc' });
    const sender = openSender(name);
    sender.trySend('abcdefghijk'); // 11 bytes: a 24-byte record
    let bytes = readFileSync(`/dev/shm/rw.${name}`);
    const slot = (i: number, field: number) => bytes.readUInt32LE(layout.OFF_SLOTS + i * layout.SLOT_SIZE + field);
    expect(bytes.readUInt32LE(layout.OFF_MODE)).toBe(layout.MODE_MPMC);
    expect(bytes.readUInt32LE(layout.OFF_CLAIM_POSITION)).toBe(24);
    expect(slot(0, layout.SLOT_PID)).toBe(process.pid);
    expect(slot(0, layout.SLOT_KIND)).toBe(layout.KIND_SENDER);
    expect(slot(0, layout.SLOT_INTENT)).toBe(0 | layout.INTENT_VALID);
    expect(bytes.readDoubleLE(layout.OFF_SLOTS + layout.SLOT_MESSAGES)).toBe(1);
    expect(bytes.readUInt32LE(layout.HEADER_SIZE)).toBe(11);
    // word1: lap 0 | owner slot 0 | COMMITTED
    expect(bytes.readUInt32LE(layout.HEADER_SIZE + 4)).toBe((0 << layout.SLOT_SHIFT) | layout.REC_COMMITTED);
    expect(bytes.subarray(layout.HEADER_SIZE + 8, layout.HEADER_SIZE + 19).toString()).toBe('abcdefghijk');
    const receiver = openReceiver(name);
    expect(Buffer.from(receiver.tryRecv()!).toString()).toBe('abcdefghijk');
    bytes = readFileSync(`/dev/shm/rw.${name}`);
    expect(slot(1, layout.SLOT_KIND)).toBe(layout.KIND_RECEIVER);
    expect(bytes.readUInt32LE(layout.OFF_TAKE_POSITION)).toBe(24);
    expect(bytes.readUInt32LE(layout.OFF_RELEASE_POSITION)).toBe(24);
    // Released by the receiver in slot 1; the body is FREE for the next lap: (0, capacity).
    expect(bytes.readUInt32LE(layout.HEADER_SIZE + 4)).toBe((1 << layout.SLOT_SHIFT) | layout.REC_RELEASED);
    for (const unit of [8, 16]) {
      expect(bytes.readUInt32LE(layout.HEADER_SIZE + unit)).toBe(0);
      expect(bytes.readUInt32LE(layout.HEADER_SIZE + unit + 4)).toBe(capacity);
    }
    // The slot table fills the rest of the header, after the release line.
    expect(layout.OFF_SLOTS + layout.MAX_SLOTS * layout.SLOT_SIZE).toBeLessThanOrEqual(layout.HEADER_SIZE);
    expect(Math.floor(layout.OFF_RELEASE_POSITION / layout.LINE_SIZE)).toBeGreaterThan(Math.floor(layout.OFF_STATE / layout.LINE_SIZE));
    expect(layout.OFF_SLOTS).toBeGreaterThanOrEqual(layout.OFF_RELEASE_POSITION + layout.LINE_SIZE);
    sender.close();
    receiver.close();
    expect(readFileSync(`/dev/shm/rw.${name}`).readUInt32LE(layout.OFF_SLOTS + layout.SLOT_PID)).toBe(0);
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

describe('one definition of every protocol constant', () => {
  const header = readFileSync(new URL('../../native/include/ringwire/layout.h', import.meta.url), 'utf8');
  const declared = [...header.matchAll(/^constexpr uint32_t (\w+) = /gm)].map((m) => m[1]);
  const list = /#define RINGWIRE_LAYOUT_CONSTANTS\(X\)((?:.*\\\n)*.*)/.exec(header)?.[1] ?? '';
  const listed = [...list.matchAll(/X\((\w+)\)/g)].map((m) => m[1]);
  const source = readFileSync(new URL('../src/native.ts', import.meta.url), 'utf8');
  const body = /export interface Layout \{([^}]*)\}/.exec(source)?.[1] ?? '';
  const typed = [...body.matchAll(/readonly (\w+): number;/g)].map((m) => m[1]);
  // The two wait results come from the addon's waiter, not the segment layout.
  const fromWaiter = ['WAIT_SIGNALLED', 'WAIT_TIMED_OUT'];

  it("layout.h's RINGWIRE_LAYOUT_CONSTANTS lists every constant it declares, once", () => {
    expect(declared.length).toBeGreaterThan(80);
    expect([...listed].sort()).toEqual([...declared].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it("the addon exports exactly that list, with layout.h's values, and the TypeScript's Layout declares exactly the addon's keys", () => {
    expect(Object.keys(layout).filter((key) => !fromWaiter.includes(key)).sort()).toEqual([...declared].sort());
    expect([...typed].sort()).toEqual(Object.keys(layout).sort());
    // Values: the ones written as plain numbers in layout.h.
    for (const m of header.matchAll(/^constexpr uint32_t (\w+) = (\d+|0x[0-9A-Fa-f]+)u?;/gm)) {
      expect([m[1], (layout as unknown as Record<string, number>)[m[1]]]).toEqual([m[1], Number(m[2])]);
    }
  });
});

describe('the protocol layer', () => {
  it('core/src/ring/ mirrors include/ringwire/ file for file, and only channel.ts maps modes to protocols', () => {
    const ring = readdirSync(new URL('../src/ring/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    const headers = readdirSync(new URL('../../native/include/ringwire/', import.meta.url)).filter((f) => f.endsWith('.h'))
      .map((f) => f.slice(0, -2));
    expect(ring.sort()).toEqual(headers.sort());
    // Each protocol file is imported by channel.ts, and by no other file outside ring/ but
    // the pool (which reaches MPMC internals through `protocol`).
    const src = new URL('../src/', import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('ring/'));
    const modes = ['spsc', 'mpmc', 'broadcast'];
    for (const file of files) {
      const text = readFileSync(new URL(file, src), 'utf8');
      const imported = modes.filter((mode) => new RegExp(`from '[./]*ring/${mode}\\.js'`).test(text));
      if (file === 'channel.ts') expect(imported).toEqual(modes);
      else if (file.startsWith('pool/')) expect(imported.filter((m) => m !== 'mpmc')).toEqual([]);
      else expect(imported, file).toEqual([]);
    }
  });
});
