// Builds the native baselines from source into bench/build/ (nothing prebuilt is fetched):
// the C programs with `cc`, and the POSIX message queue addon with node-gyp. Each target is
// rebuilt only when one of its sources is newer than its output.
//
//   node bench/native/build.mjs          builds everything, prints the paths
//   import { buildNative } from ...      await buildNative() -> { cRing, cPingPong, sysvIpc, posixMq }
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const buildDir = path.resolve(here, '..', 'build');

const source = (file) => path.join(here, file);

/** Resolves with the command's combined output; rejects with it (or a clear "missing"). */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', (error) => {
      reject(error.code === 'ENOENT' ? Object.assign(new Error(`${command} not found`), { code: 'ENOENT' }) : error);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

async function mtime(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return -1;
  }
}

async function isStale(output, inputs) {
  const built = await mtime(output);
  if (built < 0) return true;
  const times = await Promise.all(inputs.map(mtime));
  return times.some((t) => t > built);
}

async function buildProgram(name) {
  const src = source(`${name}.c`);
  const out = path.join(buildDir, name);
  if (!(await isStale(out, [src, source('frames.h')]))) return out;
  await mkdir(buildDir, { recursive: true });
  const cc = process.env.CC || 'cc';
  // Compile to a temporary name and rename: an interrupted build never leaves a fresh-looking
  // but broken binary behind.
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    const warnings = await run(cc, ['-O2', '-std=c11', '-Wall', '-pthread', '-o', tmp, src]);
    if (warnings.trim()) process.stderr.write(warnings);
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new Error(`cannot build the native baselines: no C compiler ("${cc}" is not on PATH); install one, e.g. apt-get install gcc`);
    }
    throw error;
  }
  await rename(tmp, out);
  return out;
}

/** node-gyp: npm's own when run under npm, else the one bundled with the system npm. */
function nodeGypArgs() {
  const script = process.env.npm_config_node_gyp
    || path.resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(script)) {
    throw new Error(`cannot build the POSIX mq addon: node-gyp not found (looked for ${script}); run through npm or set npm_config_node_gyp`);
  }
  const args = [script, 'rebuild'];
  // Use the headers installed next to this node (no download); npm's nodedir setting wins.
  const nodedir = process.env.npm_config_nodedir || path.resolve(process.execPath, '..', '..');
  if (existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodedir}`);
  return args;
}

async function buildAddon() {
  const out = path.join(buildDir, 'posix_mq.node');
  if (!(await isStale(out, [source('posix_mq.cc'), source('binding.gyp')]))) return out;
  await mkdir(buildDir, { recursive: true });
  try {
    // node-gyp works in bench/native/build/ (gitignored); only the .node file is kept.
    await run(process.execPath, nodeGypArgs(), { cwd: here });
  } catch (error) {
    throw new Error(`cannot build the POSIX mq addon: ${error.message}`);
  }
  const tmp = `${out}.tmp-${process.pid}`;
  await copyFile(path.join(here, 'build', 'Release', 'posix_mq.node'), tmp);
  await rename(tmp, out);
  return out;
}

const builders = {
  cRing: () => buildProgram('c-ring'),
  cPingPong: () => buildProgram('c-pingpong'),
  sysvIpc: () => buildProgram('sysv-ipc'),
  posixMq: buildAddon,
};
const pending = new Map(); // one build per target per process, however many callers

/**
 * Builds the named targets (default: all) if their sources changed, and returns their paths:
 * { cRing, cPingPong, sysvIpc, posixMq }. Throws an Error saying what is missing or what failed.
 */
export async function buildNative(targets = Object.keys(builders)) {
  const paths = {};
  for (const target of targets) {
    if (!builders[target]) throw new Error(`unknown native target ${target}`);
    if (!pending.has(target)) {
      const build = builders[target]();
      build.catch(() => pending.delete(target)); // a failed build may be retried
      pending.set(target, build);
    }
    paths[target] = await pending.get(target);
  }
  return paths;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    for (const [target, file] of Object.entries(await buildNative())) {
      console.log(`${target.padEnd(10)} ${path.relative(process.cwd(), file)}`);
    }
  } catch (error) {
    console.error(`build failed: ${error.message}`);
    process.exit(1);
  }
}
