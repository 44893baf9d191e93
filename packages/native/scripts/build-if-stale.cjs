// `npm run build` in the repository: compiles the addon unless build/Release/ringwire.node is
// newer than every source it is built from (src/, include/, binding.gyp). A build that only
// checked that the file exists kept an addon older than the C++ (and turbo's cache replays
// such a no-op build), so the TypeScript met constants the addon did not export.
const { statSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const newest = (path) => {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((entry) => newest(join(path, entry))));
};
let built = -1;
try {
  built = statSync(join(root, 'build/Release/ringwire.node')).mtimeMs;
} catch {
  // not built yet
}
const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'include')), newest(join(root, 'binding.gyp')));
if (built < sources) {
  // npm's own node-gyp (it reads nodedir from ~/.npmrc), as `npm run rebuild` uses.
  const gyp = process.env.npm_config_node_gyp;
  if (gyp !== undefined) execFileSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'inherit' });
  else execFileSync('npm', ['run', 'rebuild'], { cwd: root, stdio: 'inherit' });
}
