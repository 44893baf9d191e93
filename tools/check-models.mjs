#!/usr/bin/env node
// Runs the SPIN models of ringwire's protocols (packages/native/include/ringwire/models/*.pml,
// beside layout.h, which each one names the lines of) and fails on any violation.
//
// Every model states what to run in directive lines at column 0:
//   //@ check <label> [-DNAME[=VALUE] ...] [cc:<gcc flag> ...] : <pan arguments>
//       must verify: 0 errors, the search complete (exhaustive: no depth or memory cut-off)
//   //@ mutant <label> -DMUT_<NAME> [...] : <pan arguments>
//       a documented weakening of the protocol that SPIN must reject (errors > 0), so each
//       model is shown able to fail
// For each line: `spin -a [-D...] model.pml` in a fresh temporary directory, `gcc -O2 [cc:...]
// pan.c`, `./pan <arguments>`. Each prints its states stored, depth reached and time.
//
// Kept in step with layout.h: a model names the lines of layout.h it models,
//   // layout.h: lines 112-159 (what they say), 286-303 (...)
// and carries a digest of those lines' text,
//   // layout.h digest: <12 hex digits>
// A change to those lines (or a shift of them) fails the run until someone has read the model
// against the new text and run `node tools/check-models.mjs --update-digests`.
//
//   node tools/check-models.mjs [--only <model>[,<model>]] [--label <substring>] [--json <file>] [--jobs <n>]
//   node tools/check-models.mjs --update-digests
//
// Lines run --jobs at a time (default: one per CPU; RINGWIRE_MODEL_JOBS), reported in order.
//
// With RINGWIRE_TEST_JSON_DIR set (.ci/run sets it), every check and mutant is written there as
// one test of the totals. spin comes from tools/ensure-spin.sh (Debian's package).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const modelsDir = process.env.RINGWIRE_MODELS_DIR ?? path.join(root, 'packages/native/include/ringwire/models');
/** A check that takes longer fails: the models are bounded to run in CI. */
const TIME_LIMIT_S = Number(process.env.RINGWIRE_MODEL_TIME_LIMIT ?? 180);

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' }, label: { type: 'string' }, json: { type: 'string' }, 'update-digests': { type: 'boolean' },
    jobs: { type: 'string' },
  },
});
const layoutFile = path.join(root, 'packages/native/include/ringwire/layout.h');

/** The line ranges a model's "// layout.h: lines A-B (...), C-D (...)" comment names (what is in parentheses is prose). */
export function layoutRanges(text) {
  const line = text.split('\n').find((l) => /^\/\/ layout\.h: lines /.test(l));
  if (line === undefined) return null;
  let outside = '';
  let depth = 0;
  for (const ch of line.slice(line.indexOf('lines') + 5)) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) outside += ch;
  }
  return [...outside.matchAll(/(\d+)\s*-\s*(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

/** The digest of the layout.h lines a model names. */
export function layoutDigest(ranges, layoutText) {
  const lines = layoutText.split('\n');
  const hash = createHash('sha256');
  for (const [from, to] of ranges) hash.update(`${from}-${to}\n${lines.slice(from - 1, to).join('\n')}\n`);
  return hash.digest('hex').slice(0, 12);
}

/** Null when the model's digest matches layout.h's lines now; else why not. */
function checkInStep(file, text, layoutText) {
  const ranges = layoutRanges(text);
  if (ranges === null || ranges.length === 0) return `${file} does not name the lines of layout.h it models ("// layout.h: lines A-B (...)")`;
  const lineCount = layoutText.split('\n').length;
  for (const [from, to] of ranges) if (from < 1 || to < from || to > lineCount) return `${file} names lines ${from}-${to}, outside layout.h`;
  const want = layoutDigest(ranges, layoutText);
  const have = (/^\/\/ layout\.h digest: ([0-9a-f]+)/m.exec(text) ?? [])[1];
  if (have === want) return null;
  return `${file}: layout.h's lines ${ranges.map((r) => r.join('-')).join(', ')} ${have === undefined ? 'have no digest in the model' : 'changed since the model was checked against them'}: `
    + 'read the model against them (and fix the line numbers if they moved), then run node tools/check-models.mjs --update-digests';
}

/** The directives of a model file. */
export function directivesOf(text, file) {
  const out = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.startsWith('//@ ')) continue;
    const match = /^\/\/@ (check|mutant) (\S+)(.*?) : (.*)$/.exec(line);
    if (match === null) throw new Error(`${file}:${i + 1}: a directive is "//@ check|mutant <label> [-D...] [cc:...] : <pan arguments>"`);
    const [, kind, label, options, pan] = match;
    const tokens = options.trim() === '' ? [] : options.trim().split(/\s+/);
    const spinFlags = [];
    const ccFlags = [];
    for (const token of tokens) {
      if (token.startsWith('-D') || token.startsWith('-U')) spinFlags.push(token);
      else if (token.startsWith('cc:')) ccFlags.push(token.slice(3));
      else throw new Error(`${file}:${i + 1}: unknown option ${token} (-D..., -U... for spin, cc:<flag> for gcc)`);
    }
    if (kind === 'mutant' && !spinFlags.some((f) => f.startsWith('-DMUT_'))) {
      throw new Error(`${file}:${i + 1}: a mutant selects its mutation with -DMUT_<NAME>`);
    }
    out.push({ kind, label, spinFlags, ccFlags, panArgs: pan.trim().split(/\s+/).filter(Boolean), line: i + 1 });
  }
  return out;
}

/** What pan printed that the verdict rests on. */
export function parsePan(output) {
  const number = (re) => {
    const m = re.exec(output);
    return m === null ? null : Number(m[1]);
  };
  return {
    errors: number(/errors: (\d+)/),
    stored: number(/(\d+(?:\.\d+)?(?:e\+\d+)?) states, stored/),
    transitions: number(/(\d+(?:\.\d+)?(?:e\+\d+)?) transitions \(= (?:stored|visited)\+matched\)/),
    depth: number(/depth reached (\d+)/),
    memoryMb: number(/([\d.]+)\s+total actual memory usage/),
    incomplete: /search not completed|max search depth too small|out of memory|aborting/i.test(output)
      ? (/(search not completed|max search depth too small|out of memory|aborting[^\n]*)/i.exec(output) ?? [''])[0]
      : null,
    // the first violation pan reports, for the log
    violation: (/pan:\d+: ([^\n]+)/.exec(output) ?? /(acceptance cycle[^\n]*|invalid end state[^\n]*|assertion violated[^\n]*)/.exec(output) ?? [null, null])[1],
  };
}

/** Runs a command to its end: its status or signal and its output (stdout, then stderr, each up to 64 MiB). */
function run(command, argv, { cwd, timeout } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let kept = 0;
    const keep = (into) => (chunk) => {
      if (kept < 64 << 20) into.push(chunk);
      kept += chunk.length;
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = timeout === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), timeout);
    let error;
    child.on('error', (e) => { error = e; });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, output: `${Buffer.concat(out)}${Buffer.concat(err)}${error ? String(error) : ''}`, error });
    });
  });
}

/** Verifiers built in this run, by model and flags: lines that differ only in pan's arguments share one. */
const built = new Map();

/** Temporary directories made in this run (removed at exit). */
const made = [];

/** The directory holding `pan` for this model and these flags, built once per run; or why not. */
function verifier(model, d) {
  const key = JSON.stringify([model, d.spinFlags, d.ccFlags]);
  if (built.has(key)) return built.get(key);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringwire-spin-'));
  made.push(dir);
  const result = (async () => {
    fs.copyFileSync(model, path.join(dir, path.basename(model)));
    const spin = await run('spin', ['-a', ...d.spinFlags, path.basename(model)], { cwd: dir });
    if (spin.status !== 0) return { why: `spin -a failed:\n${spin.output.trim()}` };
    const cc = await run('gcc', ['-O2', '-w', ...d.ccFlags, '-o', 'pan', 'pan.c'], { cwd: dir });
    if (cc.status !== 0) return { why: `gcc failed:\n${cc.output.trim().slice(0, 2000)}` };
    return { dir };
  })();
  built.set(key, result);
  return result;
}

async function runOne(model, d) {
  const started = performance.now();
  const { dir, why } = await verifier(model, d);
  if (why !== undefined) return { ok: false, why };
  {
    const verify = performance.now();
    const pan = await run('./pan', d.panArgs, { cwd: dir, timeout: TIME_LIMIT_S * 1000 });
    const seconds = (performance.now() - verify) / 1000;
    const facts = { ...parsePan(pan.output), seconds, total: (performance.now() - started) / 1000 };
    if (pan.signal !== null) return { ok: false, facts, why: `pan ${pan.signal === 'SIGTERM' ? `took over ${TIME_LIMIT_S} s` : `died (${pan.signal})`}` };
    if (facts.errors === null) return { ok: false, facts, why: `pan's output has no "errors:" line:\n${pan.output.slice(-2000)}` };
    if (d.kind === 'check') {
      if (facts.errors > 0) return { ok: false, facts, why: `violation: ${facts.violation ?? '?'}` };
      if (facts.incomplete !== null) return { ok: false, facts, why: `not exhaustive: ${facts.incomplete}` };
      return { ok: true, facts };
    }
    if (facts.errors === 0) return { ok: false, facts, why: 'the mutant verified: the model did not catch this mutation' };
    return { ok: true, facts };
  }
}

function updateDigests() {
  const layoutText = fs.readFileSync(layoutFile, 'utf8');
  for (const file of fs.readdirSync(modelsDir).filter((f) => f.endsWith('.pml')).sort()) {
    const model = path.join(modelsDir, file);
    const text = fs.readFileSync(model, 'utf8');
    const ranges = layoutRanges(text);
    if (ranges === null || ranges.length === 0) throw new Error(`${file} does not name the lines of layout.h it models`);
    const digest = `// layout.h digest: ${layoutDigest(ranges, layoutText)}`;
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('// layout.h digest: '));
    if (at >= 0) lines[at] = digest;
    else lines.splice(lines.findIndex((l) => l.startsWith('// layout.h: lines ')) + 1, 0, digest);
    fs.writeFileSync(model, lines.join('\n'));
    console.log(`${file}: ${digest}`);
  }
}

async function main() {
  if (args['update-digests']) {
    updateDigests();
    return;
  }
  execFileSync('bash', [path.join(root, 'tools/ensure-spin.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const only = args.only ? new Set(args.only.split(',').map((s) => s.replace(/\.pml$/, ''))) : null;
  const models = fs.readdirSync(modelsDir).filter((f) => f.endsWith('.pml')).sort()
    .filter((f) => only === null || only.has(f.replace(/\.pml$/, '')));
  if (models.length === 0) throw new Error(`no models in ${modelsDir}${only ? ` named ${args.only}` : ''}`);
  const version = execFileSync('spin', ['-V'], { encoding: 'utf8' }).trim();
  console.log(`models: ${version}, ${models.length} model(s) in ${path.relative(root, modelsDir)}`);
  const results = [];
  const jobs = [];
  const began = performance.now();
  const layoutText = fs.readFileSync(layoutFile, 'utf8');
  for (const file of models) {
    const model = path.join(modelsDir, file);
    const stale = checkInStep(file, fs.readFileSync(model, 'utf8'), layoutText);
    const inStep = { name: `${file} in step with layout.h`, kind: 'check', ok: stale === null, ...(stale === null ? {} : { why: stale }) };
    console.log(`${inStep.ok ? 'ok  ' : 'FAIL'} ${inStep.name}${stale === null ? '' : `: ${stale}`}`);
    results.push(inStep);
    const directives = directivesOf(fs.readFileSync(model, 'utf8'), file)
      .filter((d) => !args.label || d.label.includes(args.label));
    if (directives.length === 0 && !args.label) throw new Error(`${file} has no //@ check or //@ mutant lines`);
    if (!args.label && !directives.some((d) => d.kind === 'mutant')) throw new Error(`${file} has no mutant: a model must be shown able to fail`);
    for (const d of directives) jobs.push({ file, model, d });
  }
  // Run `jobs` lines at a time; report each in the models' order as soon as those before it are.
  const parallel = Math.max(1, Number(args.jobs ?? process.env.RINGWIRE_MODEL_JOBS ?? os.availableParallelism()));
  const outcomes = jobs.map(() => null);
  const waiting = jobs.map(() => null);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      try {
        outcomes[i] = await runOne(jobs[i].model, jobs[i].d);
      } catch (error) {
        outcomes[i] = { ok: false, why: String(error?.stack ?? error) };
      }
      waiting[i]?.();
    }
  };
  const workers = Array.from({ length: Math.min(parallel, jobs.length) }, worker);
  for (const [i, { file, d }] of jobs.entries()) {
    if (outcomes[i] === null) await new Promise((resolve) => { waiting[i] = resolve; });
    {
      const name = `${file} ${d.kind} ${d.label}`;
      const result = outcomes[i];
      const f = result.facts;
      const numbers = f ? `${f.stored ?? '?'} states stored, ${f.transitions ?? '?'} transitions, depth ${f.depth ?? '?'}, `
        + `${f.memoryMb ?? '?'} MB, ${f.seconds.toFixed(1)} s` : '';
      const what = d.kind === 'mutant' ? (result.ok ? `rejected as it must (${f.violation ?? `${f.errors} error(s)`})` : 'NOT rejected') : (result.ok ? 'verified' : 'FAILED');
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${name}: ${what}${numbers ? `; ${numbers}` : ''}`);
      if (!result.ok) console.log(`     ${result.why.replace(/\n/g, '\n     ')}\n     reproduce: node tools/check-models.mjs --only ${file.replace(/\.pml$/, '')} --label ${d.label}`);
      results.push({ name, kind: d.kind, ok: result.ok, ...(f ?? {}), ...(result.ok ? {} : { why: result.why }) });
    }
  }
  await Promise.all(workers);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`models: ${passed} passed, ${failed} failed (${results.filter((r) => r.kind === 'check').length} checks, `
    + `${results.filter((r) => r.kind === 'mutant').length} mutants) in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  const report = { numPassedTests: passed, numFailedTests: failed, testResults: results };
  if (args.json) fs.writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  if (process.env.RINGWIRE_TEST_JSON_DIR) {
    fs.writeFileSync(path.join(process.env.RINGWIRE_TEST_JSON_DIR, 'models.json'), `${JSON.stringify(report)}\n`);
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await main();
  } catch (error) {
    console.error(`models: ${error.message}`);
    process.exitCode = 1;
  }
}
