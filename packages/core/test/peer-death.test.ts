// A peer that dies without closing must not leave the other end waiting forever.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender } from '../src/index.js';
import { channelName, fixture } from './helpers.js';

/** Starts hold.mjs and resolves once it has opened its endpoint. */
async function holder(...args: string[]) {
  const child = spawn(process.execPath, [fixture('hold.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  await once(child.stdout, 'data');
  return { kill: async () => { child.kill('SIGKILL'); await exited; }, exited };
}

const text = (bytes: Uint8Array | null) => Buffer.from(bytes!).toString();

describe('a peer that dies', () => {
  it('the receiver drains what a killed sender sent, then recv() rejects with ERR_RINGWIRE_PEER_DEAD', async () => {
    const name = channelName('sdead');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = await holder('sender', name, '3');
    await sender.kill();
    const got: string[] = [];
    await expect((async () => { for await (const m of receiver) got.push(text(m)); })())
      .rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(got).toEqual(['before death 0', 'before death 1', 'before death 2']);
    expect(() => receiver.recvSync({ timeout: 5000 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_PEER_DEAD' }));
    receiver.close();
  });

  it('a receiver parked before the sender is killed wakes with ERR_RINGWIRE_PEER_DEAD', async () => {
    const name = channelName('sdead2');
    createChannel(name, { capacity: 4096, wait: 'semaphore' });
    const receiver = openReceiver(name, { spinMicros: 0 });
    const sender = await holder('sender', name, '0');
    const pending = receiver.recv({ timeout: 10_000 });
    await sender.kill();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    // A new sender may take over, and the receiver goes on.
    const next = openSender(name);
    next.trySend('new sender');
    expect(text(await receiver.recv({ timeout: 1000 }))).toBe('new sender');
    next.close();
    receiver.close();
  });

  it('a sender parked on a full ring wakes with ERR_RINGWIRE_PEER_DEAD when the receiver is killed', async () => {
    const name = channelName('rdead');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name, { spinMicros: 0 });
    while (sender.trySend(new Uint8Array(500)));
    const receiver = await holder('receiver', name);
    const pending = sender.send(new Uint8Array(500), { timeout: 10_000 });
    await receiver.kill();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    expect(() => sender.sendSync(new Uint8Array(500), { timeout: 5000 })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_PEER_DEAD' }));
    sender.close();
  });

  it("wait 'spin': a polling receiver notices a killed sender too", async () => {
    const name = channelName('spdead');
    createChannel(name, { capacity: 4096, wait: 'spin' });
    const receiver = openReceiver(name);
    const sender = await holder('sender', name, '1');
    await sender.kill();
    expect(text(await receiver.recv({ timeout: 5000 }))).toBe('before death 0');
    await expect(receiver.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
    receiver.close();
  });

  it('a sender that closed cleanly without end() is not dead: the receiver keeps waiting', async () => {
    const name = channelName('sclean');
    createChannel(name, { capacity: 4096 });
    const receiver = openReceiver(name);
    const sender = await holder('close-sender', name, '1');
    expect(text(await receiver.recv({ timeout: 5000 }))).toBe('before death 0');
    await expect(receiver.recv({ timeout: 1500 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    await sender.kill();
    await expect(receiver.recv({ timeout: 1500 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
    receiver.close();
  });
});
