// Node and a C++ peer (packages/native/test/interop.cc, built here from the header-only
// protocol in packages/native/include/ringwire) on one channel, both directions.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, openReceiver, openSender, stats } from '../src/index.js';
import { channelName, holder, until } from './helpers.js';

const native = fileURLToPath(new URL('../../native/', import.meta.url));
let dir: string;
let program: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringwire-interop-'));
  program = join(dir, 'interop');
  execFileSync(process.env.CXX ?? 'g++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror',
    '-I', join(native, 'include'), join(native, 'test/interop.cc'), '-o', program]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The same rule as interop.cc: message i is (i * 37) % 3001 bytes, byte j = (i + j * 7) & 255.
function message(i: number): Uint8Array {
  const bytes = new Uint8Array((i * 37) % 3001);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (i + j * 7) & 255;
  return bytes;
}

function run(args: string[]) {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const done = once(child, 'exit').then(([code]) => ({ code, stdout, stderr }));
  return { child, done, ready: once(child.stdout, 'data') };
}

const COUNT = 20_000;

describe('Node and C++ on one channel', () => {
  for (const wait of ['futex', 'semaphore'] as const) {
    it(`wait '${wait}': a C++ sender's messages reach a Node receiver intact, to the end`, async () => {
      const name = channelName(`cn${wait}`);
      createChannel(name, { capacity: 1 << 14, wait });
      const receiver = openReceiver(name);
      const peer = run(['send', name, String(COUNT)]);
      let i = 0;
      const wrong: number[] = [];
      for await (const got of receiver) {
        if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(message(i))) wrong.push(i);
        i++;
      }
      expect(wrong).toEqual([]);
      expect(i).toBe(COUNT);
      expect(await peer.done).toEqual({ code: 0, stdout: `sent ${COUNT}\n`, stderr: '' });
      // Both sides keep the same stats counters in the header.
      expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: COUNT });
      receiver.close();
    });

    it(`wait '${wait}': a Node sender's messages reach a C++ receiver intact, to the end`, async () => {
      const name = channelName(`nc${wait}`);
      createChannel(name, { capacity: 1 << 14, wait });
      const peer = run(['recv', name]);
      await peer.ready;
      const sender = openSender(name);
      for (let i = 0; i < COUNT; i++) await sender.send(message(i), { timeout: 10_000 });
      sender.end();
      sender.close();
      expect(await peer.done).toEqual({ code: 0, stdout: `ready\nreceived ${COUNT}\n`, stderr: '' });
      expect(stats(name)).toMatchObject({ messagesSent: COUNT, messagesReceived: COUNT });
    });
  }

  it('a C++ peer refuses a second sender with ERR_RINGWIRE_BUSY', async () => {
    const name = channelName('cbusy');
    createChannel(name, { capacity: 4096 });
    const sender = openSender(name);
    const peer = run(['send', name, '1']);
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_BUSY/);
    sender.close();
  });
});

describe('a C++ peer and a Node peer that dies', () => {
  it('a C++ receiver gets ERR_RINGWIRE_PEER_DEAD when its Node sender is killed', async () => {
    const name = channelName('cdeadS');
    createChannel(name, { capacity: 4096 });
    const { kill } = await holder('sender', name, '0');
    const peer = run(['recv', name]);
    await peer.ready;
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD/);
  });

  it('a C++ sender blocked on a full ring gets ERR_RINGWIRE_PEER_DEAD when its Node receiver is killed', async () => {
    const name = channelName('cdeadR');
    createChannel(name, { capacity: 4096 });
    const { kill } = await holder('receiver', name);
    const peer = run(['send', name, '1000']);
    await until(() => stats(name).sender.waiters === 1, 10_000, 'the C++ sender to fill the ring and park');
    await kill();
    const result = await peer.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ERR_RINGWIRE_PEER_DEAD/);
  });
});
