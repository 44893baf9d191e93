// Packaging: the tarballs `npm run pack` makes (tools/pack.mjs, here into a temporary directory
// and from the dist the build made) install into a project of their own outside this repository
// and work there — ES modules and CommonJS (without require(esm)), each as two processes over
// one channel; their types check under every TypeScript module resolution; the bin runs; and a
// missing addon fails with ERR_RINGWIRE_NATIVE_UNAVAILABLE saying what to do, after which
// doing it (`npm rebuild @ringwire/native`: a build from source) makes it work.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelName } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORE = join(ROOT, 'packages', 'core');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const MESSAGES = 3000;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Started {
  done: Promise<Result>;
  /** Resolves with the first line the child prints (rejects if it exits first). */
  firstLine: Promise<string>;
}

/**
 * The environment of every child: this one's, without what npm put there for the script that
 * runs the tests (npm_config_local_prefix and the like would point npm at this repository).
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return env;
}

function start(command: string, args: string[], cwd: string, timeoutMs = 60_000): Started {
  const options: SpawnOptions = { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
  const child = spawn(command, args, options);
  let stdout = '';
  let stderr = '';
  let onLine: ((line: string) => void) | undefined;
  const firstLine = new Promise<string>((resolve) => { onLine = resolve; });
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.includes('\n')) onLine?.(stdout.slice(0, stdout.indexOf('\n')));
  });
  child.stderr!.on('data', (chunk) => { stderr += chunk; });
  const done = new Promise<Result>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const first = Promise.race([firstLine, done.then((result) => {
    throw new Error(`${command} ${args.join(' ')} exited (${result.code ?? result.signal}) before printing a line; `
      + `stderr: ${result.stderr}`);
  })]);
  first.catch(() => undefined); // awaited only by those that wait for a line
  return { done, firstLine: first };
}

/** Runs a command to its end; throws with its output unless it exits with 0. */
async function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Result> {
  const result = await start(command, args, cwd, timeoutMs).done;
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\n`
      + `${result.stdout}\n${result.stderr}`);
  }
  return result;
}

// The consumer's programs: a sender that creates the channel (then prints "created") and
// sends MESSAGES messages of 0 to 4999 bytes, each with its own content, through a 64 KiB ring
// (so it wraps and fills), and a receiver that checks every byte. Each prints what it moved.
const MESSAGE = `function message(i) {
  const bytes = Buffer.alloc((i * 7919) % 5000);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j) & 255;
  return bytes;
}`;
const SEND = `const [name, count] = [process.argv[2], Number(process.argv[3])];
  createChannel(name, { capacity: 1 << 16 });
  const sender = openSender(name);
  console.log('created');
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const m = message(i);
    bytes += m.length;
    await sender.send(m);
  }
  await sender.end();
  sender.close();
  console.log(JSON.stringify({ count, bytes }));`;
const RECEIVE = `const name = process.argv[2];
  const receiver = openReceiver(name);
  let count = 0;
  let bytes = 0;
  for await (const m of receiver) {
    if (!Buffer.from(m.buffer, m.byteOffset, m.byteLength).equals(message(count))) {
      throw new Error('message ' + count + ' differs');
    }
    count++;
    bytes += m.byteLength;
  }
  receiver.close();
  console.log(JSON.stringify({ count, bytes }));`;

const CONSUMER_FILES: Record<string, string> = {
  'send.mjs': `import { createChannel, openSender } from 'ringwire';\n${MESSAGE}\n${SEND}\n`,
  'receive.mjs': `import { openReceiver } from 'ringwire';\n${MESSAGE}\n${RECEIVE}\n`,
  'send.cjs': `'use strict';\nconst { createChannel, openSender } = require('ringwire');\n${MESSAGE}\n`
    + `(async () => {\n  ${SEND}\n})().catch((error) => { console.error(error); process.exitCode = 1; });\n`,
  'receive.cjs': `'use strict';\nconst { openReceiver } = require('ringwire');\n${MESSAGE}\n`
    + `(async () => {\n  ${RECEIVE}\n})().catch((error) => { console.error(error); process.exitCode = 1; });\n`,
  // Both builds in one process (import and require of the same install): one channel between
  // them, and their errors are each other's RingwireError.
  'both.mjs': `import { createRequire } from 'node:module';
import * as esm from 'ringwire';
const cjs = createRequire(import.meta.url)('ringwire');
const name = process.argv[2];
esm.createChannel(name, { capacity: 4096 });
const sender = esm.openSender(name);
const receiver = cjs.openReceiver(name);
await sender.send(Buffer.from('from the ES module build'));
const received = Buffer.from(await receiver.recv({ timeout: 10_000 })).toString();
let exists;
try { cjs.createChannel(name); } catch (error) { exists = error; }
sender.close();
receiver.close();
console.log(JSON.stringify({
  received, code: exists?.code, esmInstance: exists instanceof esm.RingwireError,
  cjsInstance: exists instanceof cjs.RingwireError, separateCopies: esm.RingwireError !== cjs.RingwireError,
}));
`,
  // ringwire/nats with no NATS client installed: ringwire itself works, bridge() says what
  // to install (from the ES module build, then the CommonJS one).
  'nats-missing.mjs': `import { createAnonymousChannel } from 'ringwire';
import { bridge } from 'ringwire/nats';
const channel = createAnonymousChannel({ capacity: 4096 });
const channelsWork = channel.openSender().trySend('fine');
channel.close();
const error = await bridge({ channel: 'x', subject: 's', direction: 'in', servers: 'nats://127.0.0.1:1' }).catch((e) => e);
console.log(JSON.stringify({ code: error.code, says: error.message.includes('npm install @nats-io/transport-node'), channelsWork }));
`,
  'nats-missing.cjs': `const { createAnonymousChannel } = require('ringwire');
const { bridge } = require('ringwire/nats');
const channel = createAnonymousChannel({ capacity: 4096 });
const channelsWork = channel.openSender().trySend('fine');
channel.close();
bridge({ channel: 'x', subject: 's', direction: 'in', servers: 'nats://127.0.0.1:1' }).catch((error) => {
  console.log(JSON.stringify({ code: error.code, says: error.message.includes('npm install @nats-io/transport-node'), channelsWork }));
});
`,
  // What require('ringwire') and import('ringwire') throw; run when the addon is gone.
  'load.cjs': `try { require('ringwire'); console.log(JSON.stringify({ loaded: true })); } catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, cause: String(error.cause?.message) }));
}
`,
  'load.mjs': `try { await import('ringwire'); console.log(JSON.stringify({ loaded: true })); } catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, cause: String(error.cause?.message) }));
}
`,
};

// TypeScript consumers: every subpath, in the module formats each resolution mode allows.
const USE_TYPES = `const name: string = 'x';
createChannel(name, { capacity: 1 << 16 });
const sender: ReturnType<typeof openSender> = openSender(name);
const receiver = openReceiver(name);
const code: RingwireErrorCode = 'ERR_RINGWIRE_NATIVE_UNAVAILABLE';
const isError: boolean = new Error() instanceof RingwireError;
const magic: number = layout.MAGIC;
const shape: Layout = layout;
const futex: boolean = native.platformHasFutex;
// Typed codecs, and using / await using (Symbol.dispose / Symbol.asyncDispose).
interface Job { id: number }
const jobs = openSender<Job>(name, { codec: 'json' });
const jobsIn = openReceiver<Job>(name, { codec: 'msgpack' });
// @ts-expect-error: a Job has an id, not a name
void jobs.send({ name: 'x' });
async function firstId(): Promise<number | undefined> {
  const job: Job | null = await jobsIn.recv();
  return job?.id;
}
function scoped(): void {
  using bytes = openSender(name);
  bytes.unref().trySend(new Uint8Array(1));
}
async function scopedAsync(): Promise<void> {
  await using s = openSender<Job>(name, { codec: 'v8' });
  await s.send({ id: 1 });
  for await (const job of jobsIn.messages({ signal: AbortSignal.timeout(10) })) void job.id;
}
const bridging: BridgeOptions = { channel: { fd: 3 }, subject: 'jobs', direction: 'in', servers: 'nats://127.0.0.1:4222' };
export const used = [sender, receiver, code, isError, magic, shape, futex, TaskClient, createTaskChannels, firstId, scoped,
  scopedAsync, bridge, bridging];
`;
const IMPORTS = `import { createChannel, openReceiver, openSender, RingwireError, type RingwireErrorCode } from 'ringwire';
import { createTaskChannels, TaskClient } from 'ringwire/pool';
import { layout, native, type Layout } from 'ringwire/internal';
import { bridge, type BridgeOptions } from 'ringwire/nats';
`;
const TYPE_FILES: Record<string, string> = {
  'types/esm.mts': IMPORTS + USE_TYPES,
  'types/cjs.cts': `${IMPORTS}import packageJson = require('ringwire/package.json');
export const version: string = packageJson.version;
${USE_TYPES}`,
  'types/esm.ts': IMPORTS + USE_TYPES,
  'types/cjs.ts': `${IMPORTS}import packageJson = require('ringwire/package.json');
export const version: string = packageJson.version;
${USE_TYPES}`,
};
const TYPE_CHECKS: { mode: string; compilerOptions: Record<string, unknown>; files: string[] }[] = [
  { mode: 'node16', compilerOptions: { module: 'node16', moduleResolution: 'node16' }, files: ['esm.mts', 'cjs.cts'] },
  { mode: 'nodenext', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' }, files: ['esm.mts', 'cjs.cts'] },
  { mode: 'bundler (esnext)', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, files: ['esm.ts'] },
  { mode: 'bundler (preserve)', compilerOptions: { module: 'preserve', moduleResolution: 'bundler' }, files: ['esm.ts'] },
  {
    mode: 'node10', compilerOptions: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: ['cjs.ts'],
  },
];

let work: string;
let project: string;
let nativeFiles: string[];
let coreFiles: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ringwire-package-'));
  const packDir = join(work, 'pack');
  // From the dist the build made (npm test builds first): no rebuild of what other tests load.
  await run(process.execPath, [join(ROOT, 'tools', 'pack.mjs'), packDir, '--no-build'], ROOT, 120_000);
  const tarball = (pattern: RegExp) => {
    const found = readdirSync(packDir).filter((file) => pattern.test(file));
    expect(found).toHaveLength(1);
    return join(packDir, found[0]);
  };
  const nativeTarball = tarball(/^ringwire-native-.*\.tgz$/);
  const coreTarball = tarball(/^ringwire-\d.*\.tgz$/);
  const list = async (file: string) => (await run('tar', ['tzf', file], work)).stdout.split('\n').filter(Boolean)
    .map((path) => path.replace(/^package\//, ''));
  nativeFiles = await list(nativeTarball);
  coreFiles = await list(coreTarball);

  project = join(work, 'project');
  mkdirSync(join(project, 'types'), { recursive: true });
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true })}\n`);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', nativeTarball, coreTarball], project, 120_000);
  for (const [file, text] of Object.entries({ ...CONSUMER_FILES, ...TYPE_FILES })) writeFileSync(join(project, file), text);
}, 240_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** Runs a sender and a receiver process over a fresh channel; returns what each reports. */
async function pair(sender: string, receiver: string, nodeFlags: string[] = []) {
  const name = channelName('pkg');
  const sending = start(process.execPath, [...nodeFlags, sender, name, String(MESSAGES)], project);
  expect(await sending.firstLine).toBe('created');
  const receiving = start(process.execPath, [...nodeFlags, receiver, name], project);
  const [sent, received] = await Promise.all([sending.done, receiving.done]);
  for (const result of [sent, received]) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }
  const sentTotals = JSON.parse(sent.stdout.split('\n')[1]);
  expect(sentTotals.count).toBe(MESSAGES);
  expect(JSON.parse(received.stdout)).toEqual(sentTotals);
}

describe('the packed tarballs, installed in a project outside the repository', () => {
  it('hold what an install needs: a prebuilt addon, both builds, types, licence, readme; no tests or sources', () => {
    expect(nativeFiles).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'LICENSE', 'index.cjs', 'index.d.cts', 'binding.gyp', 'include/ringwire/layout.h',
      'src/addon.cc', `prebuilds/${process.platform}-${process.arch}/@ringwire+native.glibc.node`,
    ]));
    expect(nativeFiles.filter((path) => /^(build|test|node_modules)\//.test(path))).toEqual([]);

    expect(coreFiles).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'LICENSE', 'pool/package.json', 'nats/package.json', 'internal/package.json',
      ...['index', 'pool', 'nats', 'internal'].flatMap((entry) => [
        `dist/${entry}.js`, `dist/${entry}.d.ts`, `dist/cjs/${entry}.js`, `dist/cjs/${entry}.d.ts`]),
      'dist/cjs/package.json', 'dist/load-addon.cjs', 'dist/cjs/load-addon.cjs',
    ]));
    expect(coreFiles.filter((path) => !/^(dist\/|(pool|nats|internal)\/package\.json$|package\.json$|README\.md$|LICENSE$)/
      .test(path))).toEqual([]);
    expect(coreFiles.filter((path) => /\.(map|tsbuildinfo)$|\.test\./.test(path))).toEqual([]);
  });

  it('ship no source-map comments pointing at files the package does not have', () => {
    const installed = join(project, 'node_modules', 'ringwire', 'dist');
    const js = (readdirSync(installed, { recursive: true }) as string[]).filter((file) => /\.c?js$/.test(file));
    expect(js.length).toBeGreaterThan(10);
    expect(js.filter((file) => readFileSync(join(installed, file), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('ES modules: a sender process and a receiver process move every byte', async () => {
    await pair('send.mjs', 'receive.mjs');
  }, 60_000);

  it('CommonJS: a sender process and a receiver process move every byte', async () => {
    await pair('send.cjs', 'receive.cjs');
  }, 60_000);

  it('CommonJS without require(esm) (--no-experimental-require-module where Node has it)', async () => {
    // Node 20.19+ can require() ES modules; the flag turns that off, so only a real CommonJS
    // build loads. Older Nodes have neither the feature nor the flag.
    const flags = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')
      ? ['--no-experimental-require-module'] : [];
    await pair('send.cjs', 'receive.cjs', flags);
  }, 60_000);

  it('one process may load both builds: they share the channel and each other\'s errors', async () => {
    const name = channelName('pkgboth');
    const result = await run(process.execPath, ['both.mjs', name], project);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      received: 'from the ES module build', code: 'ERR_RINGWIRE_EXISTS', esmInstance: true, cjsInstance: true,
      separateCopies: true,
    });
  }, 30_000);

  it('ringwire/nats without the NATS client (an optional peer dependency, not installed here): bridge() says what to install', async () => {
    for (const file of ['nats-missing.mjs', 'nats-missing.cjs']) {
      const result = await run(process.execPath, [file], project);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        code: 'ERR_RINGWIRE_MISSING_DEPENDENCY', says: true, channelsWork: true,
      });
    }
  }, 30_000);

  it('types check for ringwire, ringwire/pool, ringwire/nats and ringwire/internal under node16, nodenext, bundler and node10', async () => {
    const typeRoots = [join(ROOT, 'node_modules', '@types')];
    await Promise.all(TYPE_CHECKS.map(async ({ mode, compilerOptions, files }, index) => {
      const config = join(project, 'types', `tsconfig.${index}.json`);
      writeFileSync(config, JSON.stringify({
        compilerOptions: {
          // ringwire's own declarations are checked once (nodenext), not with every mode.
          ...compilerOptions, target: 'es2022', strict: true, noEmit: true, skipLibCheck: mode !== 'nodenext',
          resolveJsonModule: true, types: ['node'], typeRoots,
        },
        files,
      }));
      const result = await start(TSC, ['--noEmit', '-p', config], project, 90_000).done;
      expect(`${mode}: ${result.stdout}${result.stderr}`).toBe(`${mode}: `);
      expect(result.code).toBe(0);
    }));
  }, 90_000);

  it('the ringwire bin runs', async () => {
    expect(coreFiles).toContain('dist/cli/main.js');
    const result = await run(join(project, 'node_modules', '.bin', 'ringwire'), ['--help'], project);
    expect(result.stdout).toMatch(/usage/i);
  }, 30_000);

  it('without a usable binary, loading fails with ERR_RINGWIRE_NATIVE_UNAVAILABLE saying what to do; '
    + 'doing it (npm rebuild: a build from source) makes it work', async () => {
    const installed = join(project, 'node_modules', '@ringwire', 'native');
    renameSync(join(installed, 'prebuilds'), join(installed, 'prebuilds.off'));
    rmSync(join(installed, 'build'), { recursive: true, force: true });
    for (const script of ['load.cjs', 'load.mjs']) {
      const failure = JSON.parse((await run(process.execPath, [script], project)).stdout);
      expect(failure.name).toBe('RingwireError');
      expect(failure.code).toBe('ERR_RINGWIRE_NATIVE_UNAVAILABLE');
      expect(failure.message).toContain(`${process.platform}-${process.arch}`);
      expect(failure.message).toContain('python3, make and a C++17 compiler');
      expect(failure.message).toContain('npm rebuild @ringwire/native');
      expect(failure.cause).toMatch(/No native build was found/);
    }

    // The source fallback, as the message says: the install script (node-gyp-build) finds no
    // prebuilt binary that fits and builds one.
    await run('npm', ['rebuild', '@ringwire/native'], project, 150_000);
    expect(existsSync(join(installed, 'build', 'Release', 'ringwire.node'))).toBe(true);
    expect(JSON.parse((await run(process.execPath, ['load.cjs'], project)).stdout)).toEqual({ loaded: true });
    await pair('send.mjs', 'receive.cjs');
  }, 180_000);
});
