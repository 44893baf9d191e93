// ringwire/pool: a piscina pool in another process fed from a task channel, results back.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaskChannels, TaskClient, unlinkTaskChannels } from '../src/pool.js';
import { createChannel, openReceiver, openSender, RingwireError, stats, unlinkChannel } from '../src/index.js';
import { serveTasks } from '../src/pool.js';
import { freshName, runChild, until, type ChildResult } from './helpers.js';

/** Two channels are made from it: at most 24 characters. */
const taskName = () => freshName('p', 24);

/** What pool-host.mjs printed last: servePool's result (with `runs`) or its error. */
const hostResult = (run: ChildResult) => JSON.parse(run.stdout.trim().split('\n').at(-1)!);

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ = 100)
}

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
      expect(hostResult(done)).toEqual({ tasks: 5000 + 1 + 2000 + 2, deaths: 1, runs: 3 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('task channels in files (a path): a pool in another process serves them; unlinkTaskChannels removes both files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringwire-pool-'));
    const name = join(dir, 'tasks');
    try {
      createTaskChannels(name, { capacity: 1 << 16 });
      expect([stats(`${name}.t`).backing, stats(`${name}.r`).backing]).toEqual(['file', 'file']);
      const host = runChild('pool-host.mjs', [name, '2'], 60_000);
      const client = new TaskClient(name, { timeout: 20_000 });
      const sums = await Promise.all(Array.from({ length: 500 }, (_, i) => client.run({ op: 'add', a: i, b: 1 })));
      expect(sums).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      await client.drain();
      client.close();
      const done = await host;
      expect(done.code, done.stderr).toBe(0);
      expect(hostResult(done)).toMatchObject({ tasks: 500 });
      unlinkTaskChannels(name);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
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
      expect(done.map((d) => hostResult(d).tasks).reduce((a, b) => a + b, 0)).toBe(3000);
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
      expect(hostResult(done)).toEqual({ tasks: 2, deaths: 0, runs: 1 });
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

describe('ringwire/pool when processes die', () => {
  it('a loop that fails on its own (no task channel): servePool rejects with its RingwireError, no restarts', async () => {
    const name = taskName();
    createChannel(`${name}.r`, { mode: 'mpmc' }); // the result channel only
    try {
      const done = await runChild('pool-host.mjs', [name, '2'], 30_000);
      expect(done.code, done.stderr).toBe(0);
      expect(hostResult(done)).toEqual({
        error: expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND', name: 'RingwireError', ringwire: true }),
        runs: 2, // one per loop: a loop's own failure is not a thread death
      });
    } finally {
      unlinkChannel(`${name}.r`);
    }
  });

  it('a pool whose client was killed waits for a new client, asleep, and serves it', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const host = runChild('pool-host.mjs', [name, '2'], 60_000);
      const old = runChild('pool-client.mjs', [name, '3', '1'], 30_000);
      await until(() => old.output().includes('submitted'), 20_000, 'the first client to submit');
      process.kill(old.pid, 'SIGKILL');
      expect((await old).signal).toBe('SIGKILL');
      // Both loops drain the channel, find their client dead, and park waiting for the next.
      await until(() => stats(`${name}.t`).messagesReceived === 3 && stats(`${name}.t`).receiversWaiting === 2,
        20_000, 'both loops to park');
      // Asleep: over a window of 1.5 s (a window is what "idle" means), the host uses next to
      // no CPU. A host restarting its loops, or polling, would use a large share of a core.
      const before = cpuSeconds(host.pid);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(cpuSeconds(host.pid) - before).toBeLessThan(0.15);
      // A new client is served by the same loops.
      const client = new TaskClient(name, { timeout: 20_000 });
      expect(await Promise.all([client.run({ op: 'add', a: 1, b: 2 }), client.run({ op: 'add', a: 5, b: 5 })])).toEqual([3, 10]);
      await client.drain();
      client.close();
      const done = await host;
      expect(done.code, done.stderr).toBe(0);
      expect(hostResult(done)).toEqual({ tasks: 5, deaths: 0, runs: 2 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it("whenClientDies 'end': a pool whose client was killed finishes what is in the channel and ends", async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const host = runChild('pool-host.mjs', [name, '2', 'default', 'v8', 'end'], 60_000);
      const old = runChild('pool-client.mjs', [name, '4', '1'], 30_000);
      await until(() => old.output().includes('submitted'), 20_000, 'the client to submit');
      process.kill(old.pid, 'SIGKILL');
      const done = await host;
      expect(done.code, done.stderr).toBe(0);
      expect(hostResult(done)).toEqual({ tasks: 4, deaths: 0, runs: 2 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a pool killed with tasks queued: they run on the next pool; only the task it held rejects, and never runs', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const first = runChild('pool-host.mjs', [name, '1'], 60_000);
      const client = new TaskClient(name, { timeout: 20_000 });
      const held = client.run({ op: 'slow', ms: 60_000, n: 'held' });
      // The single loop takes it (and holds it for a minute)...
      await until(() => stats(`${name}.t`).messagesReceived === 1, 20_000, 'the pool to take the first task');
      // ...so these wait in the channel.
      const queued = [client.run({ op: 'add', a: 1, b: 1 }), client.run({ op: 'add', a: 2, b: 2 })];
      process.kill(first.pid, 'SIGKILL');
      await expect(held).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD' });
      // With no pool up, a new task waits in the channel for one (its timeout is 5 s).
      const late = client.run({ op: 'add', a: 3, b: 3 }, { timeout: 5000 });
      let settled = false;
      void late.finally(() => { settled = true; });
      await until(() => stats(`${name}.r`).receiversWaiting === 1 && stats(`${name}.t`).bytesUsed > 0, 10_000, 'the client to listen');
      expect(settled).toBe(false);
      const second = runChild('pool-host.mjs', [name, '1'], 60_000);
      expect(await Promise.all([...queued, late])).toEqual([2, 4, 6]);
      await client.drain();
      client.close();
      const done = await second;
      expect(done.code, done.stderr).toBe(0);
      // The held task did not run again: the second pool ran exactly the three others.
      expect(hostResult(done)).toEqual({ tasks: 3, deaths: 0, runs: 1 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a second TaskClient on the same channel: ERR_RINGWIRE_BUSY while the first is open', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const first = new TaskClient(name);
      let second: unknown;
      try {
        second = new TaskClient(name);
      } catch (error) {
        second = error;
      }
      expect(second).toBeInstanceOf(RingwireError);
      expect(second).toMatchObject({ code: 'ERR_RINGWIRE_BUSY' });
      first.close();
      const third = new TaskClient(name);
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      expect(await third.run({ op: 'add', a: 20, b: 22 })).toBe(42);
      await third.drain();
      third.close();
      expect((await host).code).toBe(0);
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it("results meant for a killed client are never taken for a new client's tasks", async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      // The old client's tasks take 100 ms each: their results come after it died.
      const old = runChild('pool-client.mjs', [name, '5', '100'], 30_000);
      await until(() => old.output().includes('submitted'), 20_000, 'the old client to submit');
      process.kill(old.pid, 'SIGKILL');
      expect((await old).signal).toBe('SIGKILL');
      const client = new TaskClient(name, { timeout: 20_000 });
      const mine = Array.from({ length: 5 }, (_, k) => client.run({ op: 'slow', ms: 1, n: `new ${k}` }));
      expect(await Promise.all(mine)).toEqual(Array.from({ length: 5 }, (_, k) => `new ${k}`));
      await client.drain();
      client.close();
      expect(hostResult(await host)).toEqual({ tasks: 10, deaths: 0, runs: 1 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a pool process killed while another pool lives: the tasks it held reject with ERR_RINGWIRE_PEER_DEAD, the rest go on', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      const doomed = runChild('pool-host.mjs', [name, '1'], 60_000);
      const client = new TaskClient(name, { timeout: 30_000 });
      const held = client.run({ op: 'slow', ms: 60_000, n: 'held' });
      await until(() => stats(`${name}.t`).messagesReceived === 1, 20_000, 'the first pool to take the task');
      // A second pool comes up, then the first dies: the client never sees every pool gone.
      const survivor = runChild('pool-host.mjs', [name, '1'], 60_000);
      await until(() => stats(`${name}.t`).receivers.filter((r) => r.open).length === 2, 20_000, 'the second pool to open');
      process.kill(doomed.pid, 'SIGKILL');
      await expect(held).rejects.toMatchObject({ code: 'ERR_RINGWIRE_PEER_DEAD', message: expect.stringContaining('pool worker') });
      expect(await Promise.all([client.run({ op: 'add', a: 1, b: 2 }), client.run({ op: 'add', a: 3, b: 4 })])).toEqual([3, 7]);
      await client.drain();
      client.close();
      const done = await survivor;
      expect(hostResult(done)).toEqual({ tasks: 2, deaths: 0, runs: 1 }); // the held task never ran again
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('replies too big for a tiny result channel become short failure reports (never a loop that spins)', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1024 });
    try {
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      const client = new TaskClient(name, { timeout: 20_000 });
      await expect(client.run({ op: 'big', n: 5000 })).rejects.toMatchObject({
        code: 'ERR_RINGWIRE_TASK_FAILED', message: expect.stringContaining('can never fit'),
      });
      await expect(client.run({ op: 'throwLong', n: 5000 })).rejects.toMatchObject({
        code: 'ERR_RINGWIRE_TASK_FAILED', message: expect.stringMatching(/RangeError: x{400}…$/),
      });
      expect(await client.run({ op: 'add', a: 1, b: 1 })).toBe(2);
      await client.drain();
      client.close();
      expect(hostResult(await host)).toEqual({ tasks: 3, deaths: 0, runs: 1 });
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('a task whose payload cannot be decoded is answered as failed, not dropped', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1 << 14 });
    try {
      // The loop in this process; this test speaks the wire format itself.
      const loop = serveTasks((value) => value)({ channel: name });
      const tasks = openSender(`${name}.t`);
      const results = openReceiver(`${name}.r`);
      const v8Garbage = new Uint8Array(24);
      v8Garbage[0] = 2; // the v8 tag
      new DataView(v8Garbage.buffer).setFloat64(8, 8, true);
      v8Garbage.fill(0xff, 16);
      tasks.trySend('J0 7 {not json');
      tasks.trySend(v8Garbage);
      tasks.trySend('J0 9 "fine"');
      tasks.end();
      const texts: string[] = [];
      for (let m = await results.recv({ timeout: 20_000 }); texts.push(Buffer.from(m!).toString()) < 6;) {
        m = await results.recv({ timeout: 20_000 });
      }
      const answers = texts.filter((t) => !t.startsWith('J3 ')); // notices of what the loop took
      expect(answers).toEqual([
        expect.stringMatching(/^J1 7 \{"name":"RingwireError".*task message/),
        expect.stringMatching(/^J1 8 \{"name":"RingwireError"/),
        'J0 9 "fine"',
      ]);
      expect(await loop).toEqual({ tasks: 3 });
      tasks.close();
      results.close();
    } finally {
      unlinkTaskChannels(name);
    }
  });

  it('submitMany aborted part way: the error carries the results of the tasks that went in', async () => {
    const name = taskName();
    createTaskChannels(name, { capacity: 1024 });
    try {
      const client = new TaskClient(name, { timeout: 30_000 });
      const controller = new AbortController();
      const many = client.submitMany(Array.from({ length: 100 }, (_, i) => ({ op: 'add', a: i, b: 0 })), { signal: controller.signal });
      await until(() => stats(`${name}.t`).bytesUsed > 512, 10_000, 'the task channel to fill');
      controller.abort();
      const error = await many.then(() => undefined, (e: unknown) => e) as { name: string; submitted: Array<Promise<unknown>> };
      expect(error.name).toBe('AbortError');
      expect(error.submitted.length).toBeGreaterThan(0);
      expect(error.submitted.length).toBeLessThan(100);
      expect(client.inFlight).toBe(error.submitted.length);
      const host = runChild('pool-host.mjs', [name, '1'], 60_000);
      expect(await Promise.all(error.submitted)).toEqual(error.submitted.map((_, i) => i));
      await client.drain();
      client.close();
      expect(hostResult(await host).tasks).toBe(error.submitted.length);
    } finally {
      unlinkTaskChannels(name);
    }
  });
});
