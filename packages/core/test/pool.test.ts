// ringwire/pool: a piscina pool in another process fed from a task channel, results back.
import { describe, expect, it } from 'vitest';
import { createTaskChannels, TaskClient, unlinkTaskChannels } from '../src/pool.js';
import { stats } from '../src/index.js';
import { freshName, runChild } from './helpers.js';

/** Two channels are made from it: at most 24 characters. */
const taskName = () => freshName('p', 24);

describe('ringwire/pool with piscina', () => {
  it('runs tasks in a pool in another process; failures and dead workers are reported, not lost', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 16 });
    try {
      const host = runChild('pool-host.mjs', [name, '2'], 60_000);
      const client = new TaskClient(name, { timeout: 20_000 });
      const sums = await Promise.all(Array.from({ length: 5000 }, (_, i) => client.run({ op: 'add', a: i, b: 0.5 })));
      expect(sums).toEqual(Array.from({ length: 5000 }, (_, i) => i + 0.5));
      await expect(client.run({ op: 'throw', n: 7 })).rejects.toMatchObject({
        code: 'ERR_RINGWIRE_TASK_FAILED', message: expect.stringContaining('TypeError: bad task 7'),
      });
      await expect(client.run({ op: 'die' })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_WORKER_DIED' });
      // Many at once: one claim per run of tasks.
      const many = await client.submitMany(Array.from({ length: 2000 }, (_, i) => ({ op: 'add', a: i, b: 1 })));
      expect(await Promise.all(many)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
      // The pool carries on with a new worker.
      expect(await Promise.all([client.run({ op: 'add', a: 1, b: 2 }), client.run({ op: 'add', a: 3, b: 4 })])).toEqual([3, 7]);
      await client.drain();
      client.close();
      const done = await host;
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toEqual({ tasks: 5000 + 1 + 2000 + 2, deaths: 1 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a slow pool slows the producer: submit() waits for room, nothing piles up', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1024 });
    try {
      const host = runChild('pool-host.mjs', [name, '2'], 60_000);
      const client = new TaskClient(name);
      const results: Array<Promise<unknown>> = [];
      let most = 0;
      const started = performance.now();
      for (let n = 0; n < 200; n++) {
        const { result } = await client.submit({ op: 'slow', ms: 2, n });
        results.push(result);
        // In flight: at most what the task ring holds, plus the two being run, plus the
        // results on their way back.
        most = Math.max(most, client.inFlight);
        expect(stats(`${name}.t`).bytesUsed).toBeLessThanOrEqual(1024);
      }
      expect(await Promise.all(results)).toEqual(Array.from({ length: 200 }, (_, n) => n));
      // 200 tasks of 2 ms on 2 threads: the producer was held back to the pool's pace.
      expect(performance.now() - started).toBeGreaterThan(150);
      expect(most).toBeLessThan(60);
      await client.drain();
      client.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('raw bytes, a timeout, and a closed client', async () => {
    const name = taskName();
    createTaskChannels(name);
    try {
      const host = runChild('pool-host.mjs', [name, '1', 'addRaw', 'raw'], 60_000);
      const client = new TaskClient(name, { codec: 'raw' });
      const task = new Uint8Array(16);
      new DataView(task.buffer).setFloat64(0, 1.25, true);
      new DataView(task.buffer).setFloat64(8, 2, true);
      const out = await client.run(task) as Uint8Array;
      expect(new DataView(out.buffer, out.byteOffset).getFloat64(0, true)).toBe(3.25);
      // The worker took that one waiting (recv); now many queued at once (poll, in batches).
      const tasks = Array.from({ length: 300 }, (_, i) => {
        const t = new Uint8Array(16);
        new DataView(t.buffer).setFloat64(0, i, true);
        new DataView(t.buffer).setFloat64(8, 0.5, true);
        return t;
      });
      const sums = await Promise.all(await client.submitMany(tasks)) as Uint8Array[];
      expect(sums.map((o) => new DataView(o.buffer, o.byteOffset).getFloat64(0, true)))
        .toEqual(Array.from({ length: 300 }, (_, i) => i + 0.5));
      await expect(client.run('not bytes')).rejects.toMatchObject({ code: 'ERR_RINGWIRE_INVALID_ARG' });
      await client.drain();
      client.close();
      await expect(client.run(task)).rejects.toMatchObject({ code: 'ERR_RINGWIRE_CLOSED' });
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('two pools in two processes serve one task channel', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const hosts = [runChild('pool-host.mjs', [name, '1'], 60_000), runChild('pool-host.mjs', [name, '1'], 60_000)];
      const client = new TaskClient(name, { timeout: 20_000 });
      const sums = await Promise.all(Array.from({ length: 3000 }, (_, i) => client.run({ op: 'add', a: i, b: i })));
      expect(sums).toEqual(Array.from({ length: 3000 }, (_, i) => 2 * i));
      await client.drain();
      client.close();
      const done = await Promise.all(hosts);
      for (const d of done) expect(d.code, d.stderr).toBe(0);
      expect(done.map((d) => JSON.parse(d.stdout).tasks).reduce((a, b) => a + b, 0)).toBe(3000);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a payload that cannot be encoded, and a result too big for its channel, are reported', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 4096 });
    try {
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      const client = new TaskClient(name, { timeout: 20_000 });
      await expect(client.submitMany([{ op: 'add', a: 1, b: 2 }, { op: 'echo', big: 1n }])).rejects.toThrow(/BigInt/);
      expect(client.inFlight).toBe(0); // nothing registered, nothing sent
      await expect(client.run({ op: 'big', n: 5000 })).rejects.toMatchObject({
        code: 'ERR_RINGWIRE_TASK_FAILED', message: expect.stringContaining('can never fit'),
      });
      expect(await client.run({ op: 'add', a: 20, b: 22 })).toBe(42);
      await client.drain();
      client.close();
      const done = await host;
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toEqual({ tasks: 2, deaths: 0 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a task whose result does not come in time rejects with ERR_RINGWIRE_TIMEOUT', async () => {
    const name = taskName();
    createTaskChannels(name);
    try {
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      const client = new TaskClient(name);
      await expect(client.run({ op: 'slow', ms: 500, n: 1 }, { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_RINGWIRE_TIMEOUT' });
      expect(client.inFlight).toBe(0);
      expect(await client.run({ op: 'add', a: 2, b: 2 })).toBe(4); // the late result is dropped
      await client.drain();
      client.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });
});
