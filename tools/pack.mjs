#!/usr/bin/env node
// `npm run pack`: builds, then writes the installable tarballs of @ringwire/native and ringwire
// into pack/ at the repository root (or into the directory given as the first argument):
//
//   node tools/pack.mjs [<out-dir>] [--no-build]
//
// @ringwire/native is packed from a copy of its published files in a temporary directory, so
// its prepack (prebuildify --napi --strip --tag-libc: a fresh, stripped node-gyp build moved
// into prebuilds/<platform>-<arch>/) never touches packages/native/build, which the
// repository's own tests and tools load meanwhile. ringwire is packed in place; its prepack
// builds dist (ESM and CommonJS). --no-build packs what is built already: no turbo build and
// no ringwire prepack (the addon is still compiled for prebuilds/, in the copy). The test
// packages/core/test/package.test.ts uses that form.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'packages', 'native');
const coreDir = join(root, 'packages', 'core');

const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const positional = args.filter((arg) => !arg.startsWith('--'));
const outDir = resolve(positional[0] ?? join(root, 'pack'));

function run(command, commandArgs, cwd, { capture = false } = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd, encoding: 'utf8', stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`\`${command} ${commandArgs.join(' ')}\` in ${cwd} failed (${result.status ?? result.signal})`);
  }
  return result.stdout;
}

/** `npm pack --json` output: [{ filename, files: [{ path }] }], after what prepack printed. */
function packJson(stdout) {
  const start = stdout.search(/^\[\s*$/m);
  if (start < 0) throw new Error(`no JSON in npm pack's output:\n${stdout}`);
  return JSON.parse(stdout.slice(start))[0];
}

mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(outDir)) {
  if (/^ringwire-(native-)?\d.*\.tgz$/.test(file)) rmSync(join(outDir, file));
}

if (build) run('npm', ['run', 'build'], root);
if (!existsSync(join(coreDir, 'dist', 'index.js')) || !existsSync(join(coreDir, 'dist', 'cjs', 'package.json'))) {
  throw new Error('packages/core/dist is not built (ESM and CommonJS): run `npm run build` first');
}

// @ringwire/native, from a copy of the files it publishes (prebuilds/ is made afresh there).
const stage = mkdtempSync(join(tmpdir(), 'ringwire-native-pack-'));
try {
  const listed = packJson(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], nativeDir, { capture: true }));
  for (const { path } of listed.files) {
    if (path.startsWith('prebuilds/')) continue;
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    cpSync(join(nativeDir, path), join(stage, path));
  }
  // binding.gyp asks node for node-addon-api's headers and prepack runs prebuildify: both are
  // found through the workspace's node_modules.
  const require = createRequire(join(nativeDir, 'package.json'));
  const modules = dirname(dirname(require.resolve('node-addon-api/package.json')));
  symlinkSync(modules, join(stage, 'node_modules'), 'dir');
  const native = packJson(run('npm', ['pack', '--json', '--pack-destination', outDir], stage, { capture: true }));
  const prebuilt = native.files.map((file) => file.path).filter((path) => path.startsWith('prebuilds/'));
  if (prebuilt.length === 0) throw new Error(`${native.filename} has no prebuilt binary`);
  console.log(`pack: ${join(outDir, native.filename)} (prebuilt: ${prebuilt.join(', ')})`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

// ringwire. dist is built in place and never cleaned here (the repository's tests load it
// meanwhile), so a file whose source is gone would be published: refuse that instead.
const core = packJson(run('npm', ['pack', '--json', '--pack-destination', outDir, ...(build ? [] : ['--ignore-scripts'])],
  coreDir, { capture: true }));
const stale = core.files.map((file) => file.path).filter((path) => {
  const built = /^dist\/(?:cjs\/)?(.+?)(?:\.c?js|\.d\.c?ts)$/.exec(path);
  if (built === null) return path.startsWith('dist/') && path !== 'dist/cjs/package.json';
  return !['.ts', '.cts'].some((ext) => existsSync(join(coreDir, 'src', built[1] + ext)));
});
if (stale.length > 0) {
  rmSync(join(outDir, core.filename));
  throw new Error(`packages/core/dist has files no source makes (${stale.join(', ')}): `
    + 'remove packages/core/dist, then pack again');
}
console.log(`pack: ${join(outDir, core.filename)} (${core.files.length} files)`);
