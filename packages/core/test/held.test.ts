// Held delivery on an SPSC receiver (ring/spsc.ts hold/mark/confirm), what ringwire/nats's
// out bridge uses for at-least-once: messages taken stay in the ring for the next receiver
// until confirmed; messages in fragments are freed as they are read once everything before
// them is confirmed.
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import type { SpscReceiverProtocol } from '../src/ring/spsc.js';
import { channelName } from './helpers.js';

const text = (message: Uint8Array | null | undefined) => Buffer.from(message!).toString();
const held = (receiver: { protocol: unknown }) => receiver.protocol as SpscReceiverProtocol;

describe('held delivery (SPSC)', () => {
  it('messages taken and not confirmed go to the next receiver; confirmed ones do not, and free their space', async () => {
    const name = channelName('held');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    for (let i = 0; i < 6; i++) expect(sender.trySend(`m${i}`)).toBe(true);
    sender.flush();
    const first = openReceiver(name);
    held(first).hold();
    expect([0, 1, 2].map(() => text(first.tryRecv()))).toEqual(['m0', 'm1', 'm2']);
    const mark = held(first).mark();
    expect([3, 4].map(() => text(first.tryRecv()))).toEqual(['m3', 'm4']);
    held(first).confirm(mark);
    expect(stats(name).messagesReceived).toBe(3); // counted once confirmed
    first.close(); // m3 and m4 were taken, not confirmed
    const second = openReceiver(name);
    expect([0, 1, 2].map(() => text(second.tryRecv()))).toEqual(['m3', 'm4', 'm5']);
    second.close();
    sender.close();
    expect(() => held(first).confirm({ position: mark.position + 8, count: 0 })).toThrow();
  });

  it('a mark taken where everything was confirmed, with padding read after it, confirms as a no-op', () => {
    // The NATS bridge confirms a run as soon as the client has copied it, and may take a
    // second mark at the same place for a flush; the flush's answer can come after padding
    // at the ring's end was read (and freed, as everything before it was confirmed).
    const name = channelName('heldpad');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    held(receiver).hold();
    const message = new Uint8Array(2500).fill(7);
    expect(sender.trySend(message)).toBe(true);
    sender.flush();
    expect(receiver.tryRecv()).toEqual(message);
    held(receiver).confirm(held(receiver).mark());
    const again = held(receiver).mark();
    // The next one does not fit before the ring's end: padding, then the message at its start.
    expect(sender.trySend(message)).toBe(true);
    sender.flush();
    expect(receiver.tryRecv()).toEqual(message);
    held(receiver).confirm(again);
    expect(stats(name).messagesReceived).toBe(1);
    held(receiver).confirm(held(receiver).mark());
    expect(stats(name)).toMatchObject({ messagesReceived: 2, bytesUsed: 0 });
    // A mark past what was taken is still refused.
    const last = held(receiver).mark();
    expect(() => held(receiver).confirm({ position: last.position + 8, count: last.count + 1 })).toThrow(/not between/);
    sender.close();
    receiver.close();
  });

  it('a message longer than the ring waits for what is held before it, then passes once that is confirmed', async () => {
    const name = channelName('heldbig');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const receiver = openReceiver(name);
    held(receiver).hold();
    for (let i = 0; i < 3; i++) expect(sender.trySend(`small ${i}`)).toBe(true);
    sender.flush();
    for (let i = 0; i < 3; i++) expect(text(receiver.tryRecv())).toBe(`small ${i}`);
    const mark = held(receiver).mark();
    const big = new Uint8Array(20_000).map((_, i) => i & 255);
    const sending = sender.send(big, { timeout: 30_000 });
    const receiving = receiver.recv({ timeout: 30_000 });
    // The three are held: the big message cannot get through the ring until they are confirmed.
    let settled = false;
    void receiving.then(() => { settled = true; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    held(receiver).confirm(mark);
    expect(await receiving).toEqual(big);
    await sending;
    held(receiver).confirm(held(receiver).mark());
    expect(stats(name)).toMatchObject({ messagesReceived: 4, bytesUsed: 0 });
    sender.close();
    receiver.close();
  });
});
