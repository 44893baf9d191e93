// The `ringwire` CLI, run as the built binary (dist/cli/main.js) in child processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createChannel, listChannels, openReceiver, openSender, stats } from '../src/index.js';
import { channelName, fixture, freshName, RUN_PREFIX, until } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const COMMANDS = ['ls', 'stat', 'top', 'rm', 'gc', 'create', 'bridge', 'send', 'recv'];

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  bytes: Buffer;
  stderr: string;
}

interface Running {
  pid: number;
  /** Output so far. */
  output(): string;
  write(data: string | Buffer): void;
  endStdin(): void;
  kill(signal: NodeJS.Signals): void;
  done: Promise<Result>;
}

/** Children still running at the end of a test (one that failed half-way) are killed. */
const live = new Set<ChildProcess>();
afterEach(() => {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
});

/** Watches a child started with every stdio piped; fails it after `timeoutMs`. */
function watch(child: ChildProcess, what: string, timeoutMs = 60_000): Running {
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  child.stdin!.on('error', () => {}); // it may exit without reading all of it
  live.add(child);
  child.on('exit', () => live.delete(child));
  const done = new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    // 'close', not 'exit': output may still be in the pipes when the process exits.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ code, signal, stdout: bytes.toString('utf8'), bytes, stderr });
    });
  });
  return {
    pid: child.pid!,
    output: () => Buffer.concat(out).toString('utf8'),
    write: (data) => { child.stdin!.write(data); },
    endStdin: () => { child.stdin!.end(); },
    kill: (signal) => { child.kill(signal); },
    done,
  };
}

/** Starts `ringwire <args>` (the built binary) with its stdin open. */
function startRingwire(args: string[]): Running {
  return watch(spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' }), `ringwire ${args.join(' ')}`);
}

/** Runs `ringwire <args>` to the end with `input` on its stdin. */
function run(args: string[], input: string | Buffer = ''): Promise<Result> {
  const running = startRingwire(args);
  if (input.length > 0) running.write(input);
  running.endStdin();
  return running.done;
}

/** An endpoint in another process (fixtures/hold.mjs), open until kill() (SIGKILL). */
async function hold(...args: string[]): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, [fixture('hold.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  await once(child.stdout, 'data');
  return { pid: child.pid!, kill: async () => { child.kill('SIGKILL'); await exited; } };
}

/** Usage errors: status 2, "ringwire: <message>" and a usage line on stderr, nothing on stdout. */
function expectUsage(result: Result): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/^ringwire: .+\nusage: ringwire /);
  expect(result.stdout).toBe('');
}

/** Errors: status 1 and "ringwire: <message> (<code>)" on stderr. */
function expectError(result: Result, code: string): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(new RegExp(`^ringwire: .+ \\(${code}\\)\\n`));
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

const temp = mkdtempSync(join(tmpdir(), 'ringwire-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('ringwire CLI: help, version, usage', () => {
  it('--help, --version, and --help of every command exit 0 on stdout', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: ringwire <command>/);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`\\n  ${command} +\\S`));
    expect((await run(['-h'])).stdout).toBe(help.stdout);
    const version = await run(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
    for (const command of COMMANDS) {
      const result = await run([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^usage: ringwire ${command}[ \\n]`));
      expect(result.stdout).toContain('--help');
      expect(result.stderr).toBe('');
    }
  });

  it('bad usage exits with 2 and prints the usage on stderr', async () => {
    const name = freshName('usage');
    const cases = [
      [], ['bogus'], ['--bogus'], ['ls', '--bogus'], ['ls', 'extra'], ['ls', '--prefix'], ['stat'], ['stat', name, 'more'],
      ['rm'], ['create'], ['create', name, '--capacity', '12q'], ['create', name, '--mode', 'fifo'],
      ['create', name, '--wait', 'sleep'], ['create', name, '--persistent=yes'], ['send', name, '--codec', 'v8'],
      ['send', name, '--json', '--codec', 'xml'], ['send', name, '--json', '--file', 'x'], ['recv', name, '--count', 'x'],
      ['recv', name, '--count', '-1'], ['recv', name, '--codec', 'json'], ['top', '--interval', '0'],
      ['top', '--count', '0'], ['gc', '--dry-run', 'x'], ['gc', '--prefix', 'a', './a.ring'],
      ['bridge', 'sideways', 'a', 'b', '--server', 'nats://127.0.0.1:1'], ['bridge', 'out', 'a', 'b'], ['bridge', 'out', 'a'],
      ['bridge', 'in', 's', 'c', '--server', 'nats://127.0.0.1:1', '--jetstream', 'S'],
      ['bridge', 'out', 'c', 's', '--server', 'nats://127.0.0.1:1', '--queue', 'q'],
      ['bridge', 'in', 's', 'c', '--server', 'nats://127.0.0.1:1', '--server-confirm'],
      ['bridge', 'out', 'c', 's', '--server', 'nats://127.0.0.1:1', '--jetstream', 'S', '--server-confirm'],
    ];
    for (const args of cases) {
      const result = await run(args);
      expect(result.code, `ringwire ${args.join(' ')}: ${result.stderr}`).toBe(2);
      expectUsage(result);
    }
    expect(existsSync(`/dev/shm/rw.${name}`)).toBe(false);
  });

  it('errors exit with 1 and print "ringwire: <message> (<code>)"', async () => {
    const missing = freshName('missing');
    expectError(await run(['stat', missing]), 'ERR_RINGWIRE_NOT_FOUND');
    expectError(await run(['recv', missing]), 'ERR_RINGWIRE_NOT_FOUND');
    expectError(await run(['stat', 'bad name']), 'ERR_RINGWIRE_INVALID_NAME');
    const name = channelName('exists');
    createChannel(name);
    expectError(await run(['create', name]), 'ERR_RINGWIRE_EXISTS');
    expectError(await run(['create', channelName('cap'), '--capacity', '3k']), 'ERR_RINGWIRE_INVALID_ARG');
    expectError(await run(['send', name, '--file', join(temp, 'no-such-file')]), 'ENOENT');
  });

  it('main.js starts with a shebang and is executable, so it runs as a command (npm links the bin to it)', async () => {
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    // The build makes main.js executable (tsc does not); a linked bin runs the file itself.
    accessSync(CLI, constants.X_OK);
    const running = watch(spawn(CLI, ['--version'], { stdio: 'pipe' }), CLI);
    running.endStdin();
    expect(await running.done).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n` });
  });
});

describe('ringwire create, ls, stat', () => {
  it('create passes its options to createChannel (capacity suffixes included)', async () => {
    const a = channelName('create-a');
    const result = await run(['create', a, '--capacity', '64k', '--mode', 'mpmc', '--wait', 'spin', '--persistent']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(a);
    expect(stats(a)).toMatchObject({ name: a, capacity: 65536, mode: 'mpmc', wait: 'spin', persistent: true });
    const b = channelName('create-b');
    expect((await run(['create', b, '-c', '1m'])).code).toBe(0);
    expect(stats(b)).toMatchObject({ capacity: 1 << 20, mode: 'spsc', wait: 'futex', persistent: false });
    const c = channelName('create-c');
    expect((await run(['create', c, '--capacity=4KiB', '--wait', 'semaphore'])).code).toBe(0);
    expect(stats(c)).toMatchObject({ capacity: 4096, wait: 'semaphore' });
  });

  it('create, send, stat, recv and rm take a file-backed channel\'s path; create takes --wait named-semaphore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringwire-cli-'));
    try {
      const path = join(dir, 'jobs.ring');
      const created = await run(['create', path, '-c', '4k']);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toContain(path);
      expect((await run(['send', path], 'kept in a file')).code).toBe(0);
      const shown = await run(['stat', path]);
      expect(shown.stdout).toMatch(/^backing: +file \(file-backed channel\)$/m);
      expect(shown.stdout).toMatch(/^messages: +1 sent, 0 received/m);
      const received = await run(['recv', path, '--count', '1']);
      expect(received.stdout).toBe('kept in a file\n');
      // gc PATH: judged by gc's rules (a clean channel with a message waiting is kept).
      expect((await run(['gc', path])).stdout).toBe('nothing to remove\n');
      expect((await run(['rm', path])).stdout).toBe(`removed ${path}\n`);
      expect(existsSync(path)).toBe(false);
      const named = channelName('create-ns');
      expect((await run(['create', named, '-c', '4k', '--wait', 'named-semaphore'])).code).toBe(0);
      expect(stats(named)).toMatchObject({ wait: 'named-semaphore', backing: 'shm' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('create makes broadcast channels (--overflow), and stat shows each receiver: where it is, its lag, what it lost', async () => {
    const name = channelName('create-bc');
    const created = await run(['create', name, '--mode', 'broadcast', '--overflow', 'drop', '-c', '4k']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('broadcast (overflow drop)');
    expect(stats(name)).toMatchObject({ mode: 'broadcast', overflow: 'drop', capacity: 4096 });
    expectError(await run(['create', channelName('create-bc2'), '--overflow', 'drop']), 'ERR_RINGWIRE_INVALID_ARG');
    const receiver = openReceiver(name);
    const sender = openSender(name);
    for (let i = 0; i < 3; i++) sender.trySend(`message ${i}`);
    sender.flush();
    receiver.tryRecv();
    receiver.publishNow();
    const shown = await run(['stat', name]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/mode:\s+broadcast \(overflow: drop\)/);
    expect(shown.stdout).toMatch(new RegExp(`pid ${process.pid}, thread 0, open, at 24, 48 bytes behind, 1 received`));
    sender.close();
    receiver.close();
  });

  it('ls and stat show a channel, what went through it, and the pid of an open receiver', async () => {
    const name = channelName('ls');
    const other = channelName('ls-other');
    createChannel(name, { capacity: 1 << 16 });
    createChannel(other, { mode: 'mpmc', persistent: true });
    const sender = openSender(name);
    for (let i = 0; i < 3; i++) sender.trySend(`message ${i}`);
    sender.close();
    const receiver = await hold('receiver', name);
    try {
      const listed = await run(['ls', '--prefix', RUN_PREFIX, '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const entries = JSON.parse(listed.stdout) as { name: string }[];
      expect(entries.map((e) => e.name)).toEqual(listChannels({ prefix: RUN_PREFIX }));
      expect(entries.find((e) => e.name === name)).toMatchObject({
        name, mode: 'spsc', capacity: 65536, messagesSent: 3, messagesReceived: 0, persistent: false,
        receivers: [{ open: true, pid: receiver.pid, dead: false }], senders: [], creatorPid: process.pid,
      });
      expect(entries.find((e) => e.name === other)).toMatchObject({ mode: 'mpmc', persistent: true });

      const human = await run(['ls', '--prefix', RUN_PREFIX]);
      expect(human.code).toBe(0);
      const [header, ...rows] = lines(human.stdout);
      expect(header.split(/\s+/)).toEqual(['NAME', 'MODE', 'CAPACITY', 'FILL', 'IN', 'OUT', 'SENDERS', 'RECEIVERS',
        'PARKED', 'PERSISTENT', 'ENDED', 'AGE']);
      const row = rows.find((line) => line.startsWith(`${name} `))!.split(/\s+/);
      expect(row.slice(0, 11)).toEqual([name, 'spsc', '64K', '<1%', '3', '0', '-', String(receiver.pid), '0/0', 'no', 'no']);
      expect(rows.find((line) => line.startsWith(`${other} `))!.split(/\s+/).slice(0, 3)).toEqual([other, 'mpmc', '1M']);

      const stat = await run(['stat', name, '--json']);
      expect(stat.code).toBe(0);
      expect(JSON.parse(stat.stdout)).toEqual(JSON.parse(JSON.stringify(stats(name))));
      expect(JSON.parse(stat.stdout)).toMatchObject({ receiver: { open: true, pid: receiver.pid } });
      const statHuman = await run(['stat', name]);
      expect(statHuman.code).toBe(0);
      expect(statHuman.stdout).toMatch(new RegExp(`^name: +${name.replace(/\./g, '\\.')}$`, 'm'));
      expect(statHuman.stdout).toMatch(/^capacity: +65536 bytes \(64K\)$/m);
      expect(statHuman.stdout).toMatch(/^messages: +3 sent, 0 received, 3 not yet received$/m);
      expect(statHuman.stdout).toMatch(new RegExp(`^receiver: +pid ${receiver.pid}, thread 0, open$`, 'm'));
      expect(statHuman.stdout).toMatch(/^sender: +none$/m);
    } finally {
      await receiver.kill();
    }
    // Killed: ls shows it as dead.
    const after = JSON.parse((await run(['ls', '--prefix', name, '--json'])).stdout) as unknown[];
    expect(after).toMatchObject([{ name, receivers: [{ open: false, dead: true, pid: receiver.pid }] }]);
    expect((await run(['ls', '--prefix', name])).stdout).toContain(`${receiver.pid}(dead)`);
  });

  it('ls lists an entry that is not a readable channel as unreadable, with its code; listChannels skips it', async () => {
    const good = channelName('good');
    const junk = channelName('junk');
    createChannel(good);
    writeFileSync(`/dev/shm/rw.${junk}`, randomBytes(8192));
    const prefix = RUN_PREFIX;
    expect(listChannels({ prefix })).toContain(good);
    expect(listChannels({ prefix })).not.toContain(junk);
    const listed = await run(['ls', '--prefix', prefix, '--json']);
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout) as { name: string }[];
    expect(entries.find((e) => e.name === junk)).toEqual({
      name: junk, error: { code: 'ERR_RINGWIRE_INCOMPATIBLE', message: expect.any(String) },
    });
    expect(entries.find((e) => e.name === good)).toMatchObject({ name: good, mode: 'spsc' });
    const human = await run(['ls', '--prefix', prefix]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${junk.replace(/\./g, '\\.')} +unreadable \\(ERR_RINGWIRE_INCOMPATIBLE\\)`, 'm'));
  });

  it('listChannels gives names, sorted, filtered by prefix', () => {
    const names = [channelName('b'), channelName('a'), channelName('c')];
    for (const name of names) createChannel(name, { capacity: 4096 });
    const listed = listChannels({ prefix: RUN_PREFIX });
    expect(listed).toEqual([...listed].sort());
    for (const name of names) expect(listed).toContain(name);
    expect(listChannels({ prefix: names[1] })).toEqual([names[1]]);
    expect(listChannels()).toEqual(expect.arrayContaining(names));
    expect(() => listChannels({ prefix: 3 as unknown as string })).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_INVALID_ARG' }));
  });
});

describe('ringwire send and recv', () => {
  it('sends each line of stdin and prints each message as a line; --count stops after N', async () => {
    const name = channelName('lines');
    createChannel(name);
    const sent = await run(['send', name], 'one\ntwo\n\nfour with spaces\r\nfive, no newline');
    expect(sent.code, sent.stderr).toBe(0);
    expect(stats(name)).toMatchObject({ messagesSent: 5, ended: false, senders: [] });
    const first = await run(['recv', name, '--count', '2']);
    expect(first).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    const rest = await run(['recv', name]);
    expect(rest).toMatchObject({ code: 0, stdout: '\nfour with spaces\nfive, no newline\n' });
    expect(await run(['recv', name])).toMatchObject({ code: 0, stdout: '' }); // nothing there: exits at once
  });

  it('--file sends a file\'s bytes as one message, and recv prints them byte for byte', async () => {
    const name = channelName('file');
    createChannel(name);
    const bytes = Buffer.concat([randomBytes(5000), Buffer.from([0, 10, 13, 255, 10])]);
    const file = join(temp, 'binary');
    writeFileSync(file, bytes);
    expect((await run(['send', name, '--file', file])).code).toBe(0);
    expect((await run(['send', name], 'after\n')).code).toBe(0);
    const received = await run(['recv', name, '-n', '1']);
    expect(received.code).toBe(0);
    expect(received.bytes.equals(Buffer.concat([bytes, Buffer.from('\n')]))).toBe(true);
    expect((await run(['recv', name])).stdout).toBe('after\n');
  });

  it('--json sends values encoded with --codec, and recv --json decodes them', async () => {
    for (const codec of ['json', 'msgpack', 'v8']) {
      const name = channelName(`json-${codec}`);
      createChannel(name);
      const sent = await run(['send', name, '--json', '--codec', codec], '{"a":1,"b":[true,null]}\n\n[1,"x"]\n"text"\n0\n');
      expect(sent.code, sent.stderr).toBe(0);
      expect(stats(name).messagesSent).toBe(4); // the blank line is skipped
      const received = await run(['recv', name, '--json', '--codec', codec]);
      expect(received.code, received.stderr).toBe(0);
      const got = lines(received.stdout).map((line) => JSON.parse(line) as { seq: number; bytes: number; value: unknown });
      expect(got.map((m) => m.value)).toEqual([{ a: 1, b: [true, null] }, [1, 'x'], 'text', 0]);
      expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      for (const m of got) expect(m.bytes).toBeGreaterThan(0);
    }
    // json is JSON text on the wire.
    const name = channelName('json-text');
    createChannel(name);
    expect((await run(['send', name, '--json'], '{ "spaced" : 1 }\n')).code).toBe(0);
    expect((await run(['recv', name])).stdout).toBe('{"spaced":1}\n');
  });

  it('send --json stops at a line that is not JSON, or is null, after sending the lines before it', async () => {
    const name = channelName('bad-json');
    createChannel(name);
    const result = await run(['send', name, '--json'], '1\n2\n{nope\n4\n');
    expectError(result, 'ERR_RINGWIRE_INVALID_ARG');
    expect(result.stderr).toContain('line 3');
    const nulls = await run(['send', name, '--json', '--codec', 'msgpack'], '3\nnull\n5\n');
    expectError(nulls, 'ERR_RINGWIRE_INVALID_ARG');
    expect(nulls.stderr).toContain('line 2');
    expect((await run(['recv', name, '-n', '2'])).stdout).toBe('1\n2\n');
    expect((await run(['recv', name, '--json', '--codec', 'msgpack'])).stdout).toBe('{"seq":1,"bytes":1,"value":3}\n');
  });

  it('recv --json prints values JSON cannot hold (v8 Maps, BigInts, bytes) in JSON form', async () => {
    const name = channelName('v8-values');
    createChannel(name);
    const sender = openSender(name);
    sender.trySend(serialize({ map: new Map<unknown, unknown>([[1, 'one']]), big: 2n ** 70n, set: new Set([3]), bytes: new Uint8Array([4, 5]) }));
    sender.close();
    const received = await run(['recv', name, '--json', '--codec', 'v8']);
    expect(received.code, received.stderr).toBe(0);
    expect(JSON.parse(received.stdout)).toMatchObject({
      seq: 1, value: { map: [[1, 'one']], big: (2n ** 70n).toString(), set: [3], bytes: [4, 5] },
    });
  });

  it('recv --json prints a message that does not decode as base64 with ERR_RINGWIRE_DECODE, goes on, and exits 1', async () => {
    const name = channelName('undecodable');
    createChannel(name);
    expect((await run(['send', name], 'not json\nnull\n"fine"\n')).code).toBe(0);
    const received = await run(['recv', name, '--json']);
    expectError(received, 'ERR_RINGWIRE_DECODE');
    expect(received.stderr).toContain('2 of 3 message(s) could not be decoded');
    const [bad, nullish, good] = lines(received.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(bad).toMatchObject({ seq: 1, bytes: 8, error: 'ERR_RINGWIRE_DECODE', base64: Buffer.from('not json').toString('base64') });
    expect(nullish).toMatchObject({ seq: 2, bytes: 4, error: 'ERR_RINGWIRE_DECODE', base64: Buffer.from('null').toString('base64') });
    expect(good).toEqual({ seq: 3, bytes: 6, value: 'fine' });
  });

  it('recv --follow prints messages as they come and exits 0 when the stream ends', async () => {
    const name = channelName('follow');
    createChannel(name);
    const follow = startRingwire(['recv', name, '--follow']);
    await until(() => stats(name).receiver?.open === true, 30_000, 'recv --follow to open the receiver');
    expect((await run(['send', name], 'first\nsecond\n')).code).toBe(0);
    await until(() => follow.output() === 'first\nsecond\n', 30_000, 'the messages to be printed');
    expect((await run(['send', name, '--end'], 'last\n')).code).toBe(0);
    const result = await follow.done;
    expect(result).toMatchObject({ code: 0, stdout: 'first\nsecond\nlast\n', stderr: '' });
    expect(stats(name)).toMatchObject({ ended: true, messagesReceived: 3, receivers: [] });
  });

  it('recv --follow --count N exits after N messages, leaving the rest', async () => {
    const name = channelName('follow-n');
    createChannel(name);
    const follow = startRingwire(['recv', name, '-f', '-n', '3']);
    await until(() => stats(name).receiver?.open === true, 30_000, 'recv --follow to open the receiver');
    expect((await run(['send', name], 'a\nb\n')).code).toBe(0);
    await until(() => follow.output() === 'a\nb\n', 30_000, 'two messages to be printed');
    expect((await run(['send', name], 'c\nd\n')).code).toBe(0);
    expect(await follow.done).toMatchObject({ code: 0, stdout: 'a\nb\nc\n' });
    expect((await run(['recv', name])).stdout).toBe('d\n');
  });

  it('recv --follow stops on Ctrl-C (SIGINT) with status 0, closing its receiver', async () => {
    const name = channelName('follow-int');
    createChannel(name);
    const follow = startRingwire(['recv', name, '--follow']);
    await until(() => stats(name).receiver?.open === true, 30_000, 'recv --follow to open the receiver');
    follow.kill('SIGINT');
    expect(await follow.done).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(stats(name).receiver).toMatchObject({ open: false, dead: false, pid: 0 });
  });

  it('send stops on Ctrl-C (SIGINT) while waiting for room: status 1, what was sent stays sent', async () => {
    const name = channelName('send-int');
    createChannel(name, { capacity: 1024 });
    const send = startRingwire(['send', name]);
    send.write('x'.repeat(600) + '\n' + 'y'.repeat(600) + '\n');
    await until(() => stats(name).sender?.open === true && stats(name).messagesSent === 1, 30_000, 'send to fill the ring');
    send.kill('SIGINT');
    const result = await send.done;
    expectError(result, 'ABORT_ERR');
    expect(result.stderr).toContain('interrupted after 1 message(s)');
    expect(stats(name)).toMatchObject({ messagesSent: 1, ended: false, sender: { open: false, dead: false } });
  });

  it('send waits for room (backpressure) and delivers everything in order', async () => {
    const name = channelName('backpressure');
    createChannel(name, { capacity: 1024 });
    const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    const follow = startRingwire(['recv', name, '--follow']);
    await until(() => stats(name).receiver?.open === true, 30_000, 'recv --follow to open the receiver');
    const sent = await run(['send', name, '--end'], `${input}\n`);
    expect(sent.code, sent.stderr).toBe(0);
    const result = await follow.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${input}\n`);
  });
});

describe('ringwire rm and gc', () => {
  it('rm refuses a channel with an endpoint open (naming its pid) unless --force', async () => {
    const name = channelName('rm');
    const idle = channelName('rm-idle');
    createChannel(name);
    createChannel(idle);
    const receiver = await hold('receiver', name);
    try {
      const refused = await run(['rm', name, idle]);
      expectError(refused, 'ERR_RINGWIRE_BUSY');
      expect(refused.stderr).toContain(`receiver pid ${receiver.pid}`);
      expect(refused.stdout).toBe(`removed ${idle}\n`); // the other name is still removed
      expect(stats(name).name).toBe(name);
      expect(() => stats(idle)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
      const forced = await run(['rm', '--force', name]);
      expect(forced).toMatchObject({ code: 0, stdout: `removed ${name}\n` });
      expect(() => stats(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
    } finally {
      await receiver.kill();
    }
    expectError(await run(['rm', name]), 'ERR_RINGWIRE_NOT_FOUND');
  });

  it('gc --dry-run lists a channel whose endpoint died without removing it; gc removes it', async () => {
    const name = channelName('gc');
    const kept = channelName('gc-kept');
    createChannel(name);
    createChannel(kept, { persistent: true });
    for (const channel of [name, kept]) {
      const sender = await hold('sender', channel, '2');
      await sender.kill();
    }
    expect(stats(name).sender).toMatchObject({ dead: true });
    const dry = await run(['gc', '--prefix', name, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^would remove ${name.replace(/\./g, '\\.')}: sender \\d+ died without closing`));
    const dryJson = await run(['gc', '--prefix', name, '-n', '--json']);
    expect(JSON.parse(dryJson.stdout)).toEqual({ dryRun: true, wouldRemove: [{ name, reason: expect.stringContaining('died') }] });
    expect(stats(name).messagesSent).toBe(2); // still there
    expect(JSON.parse((await run(['gc', '--prefix', kept, '--dry-run', '--json'])).stdout)).toEqual({ dryRun: true, wouldRemove: [] });

    const removed = await run(['gc', '--prefix', name]);
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${name}\n` });
    expect(() => stats(name)).toThrow(expect.objectContaining({ code: 'ERR_RINGWIRE_NOT_FOUND' }));
    expect(JSON.parse((await run(['gc', '--prefix', kept, '--json'])).stdout)).toEqual({ dryRun: false, removed: [] });
    expect(stats(kept).persistent).toBe(true);
  });

  it('gc --dry-run agrees with gc on a never-used channel whose creator exited, and on one in use', async () => {
    const unused = channelName('gc-unused');
    const inUse = channelName('gc-in-use');
    expect((await run(['create', unused])).code).toBe(0); // its creator, the CLI, has exited
    createChannel(inUse);
    const receiver = openReceiver(inUse);
    try {
      const dry = JSON.parse((await run(['gc', '--prefix', RUN_PREFIX, '--dry-run', '--json'])).stdout) as
        { wouldRemove: { name: string; reason: string }[] };
      expect(dry.wouldRemove.find((c) => c.name === unused)?.reason).toMatch(/^never used, and its creator \(pid \d+\) has exited$/);
      expect(dry.wouldRemove.find((c) => c.name === inUse)).toBeUndefined();
      expect((await run(['gc', '--prefix', unused])).stdout).toBe(`removed ${unused}\n`);
      expect((await run(['gc', '--prefix', inUse])).stdout).toBe('nothing to remove\n');
    } finally {
      receiver.close();
    }
  });
});

describe('ringwire top', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;

  /** `ringwire top` in a pseudo-terminal (util-linux `script`), keys sent through its stdin. */
  function topInPty(args: string[]): Running {
    const command = [process.execPath, CLI, 'top', ...args].map((word) => `'${word}'`).join(' ');
    return watch(spawn('script', ['-qfec', command, '/dev/null'], { stdio: 'pipe' }), `script ${command}`);
  }

  it.skipIf(!hasScript)('in a terminal it shows channels until q, then exits 0', async () => {
    const name = channelName('top');
    createChannel(name);
    const sender = openSender(name);
    for (let i = 0; i < 5; i++) sender.trySend(`message ${i}`);
    sender.flush();
    try {
      const top = topInPty(['--prefix', name, '--interval', '100']);
      const row = new RegExp(`${name.replace(/\./g, '\\.')} +spsc +\\S+ +5 `);
      await until(() => row.test(top.output()), 30_000, 'top to show the channel with a lag of 5');
      expect(top.output()).toContain('q to quit');
      top.write('q');
      const result = await top.done;
      expect(result.code, result.stdout + result.stderr).toBe(0);
    } finally {
      sender.close();
    }
  });

  it.skipIf(!hasScript)('in a terminal Ctrl-C quits with 0 too', async () => {
    const name = channelName('top-c');
    createChannel(name);
    const top = topInPty(['--prefix', name, '--interval', '100']);
    await until(() => top.output().includes(name), 30_000, 'top to show the channel');
    top.write('\x03');
    expect((await top.done).code).toBe(0);
  });

  it('without a terminal it prints one snapshot per refresh: a table, or a JSON line with --json', async () => {
    const name = channelName('top-json');
    createChannel(name);
    const sender = openSender(name);
    for (let i = 0; i < 4; i++) sender.trySend('x');
    sender.flush();
    try {
      const snapshots = await run(['top', '--prefix', name, '--json', '--count', '2', '--interval', '50']);
      expect(snapshots.code, snapshots.stderr).toBe(0);
      const [first, second] = lines(snapshots.stdout).map((line) => JSON.parse(line) as { intervalMs: number | null; channels: unknown[] });
      expect(lines(snapshots.stdout)).toHaveLength(2);
      expect(first).toMatchObject({ intervalMs: null, channels: [{ name, lag: 4, messagesSent: 4, msgInPerSec: null, ringBytesInPerSec: null }] });
      expect(second.intervalMs).toEqual(expect.any(Number));
      expect(second.channels).toMatchObject([{
        name, lag: 4, msgInPerSec: expect.any(Number), msgOutPerSec: expect.any(Number),
        ringBytesInPerSec: expect.any(Number), ringBytesOutPerSec: expect.any(Number), senders: [{ pid: process.pid, open: true }],
      }]);
      const table = await run(['top', '--prefix', name, '--count', '1']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^-- \d{4}-\d\d-\d\dT/);
      expect(table.stdout).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')} +spsc +\\S+ +4 +- +- +- +- +${process.pid} +-$`, 'm'));
    } finally {
      sender.close();
    }
  });
});
