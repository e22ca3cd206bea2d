#!/usr/bin/env node
// Where ONNX Runtime Web's WASM time goes, operator by operator, against onnxruntime-node on the same
// model, input and thread count. Both runtimes profile the same session runs (enableProfiling: each
// node's kernel time, after graph optimisation, so fused nodes show as what actually ran, e.g.
// FusedConv); the table sums them per operator type and divides WASM by native.
//
//   node bench/ort_profile.mjs [--models nuclei-star,nuclei-flow] [--size 512] [--threads 2]
//                              [--repeats 5] [--variants LIST] [--detail]
//
// --size S        the input is 1 x channels x S x S (the pipeline's tiles are at most 512 px plus
//                 rounding to the divisor), uniform random in [0, 1) like a normalised image
// --variants      also time (not profile) the WASM session under other options, each against the
//                 same native runs, e.g. --variants arena,mem-pattern,basic,parallel,no-spin
// --models-dir D  read D/<name>.onnx and D/<name>.json instead of models/ (e.g. a rewritten graph)
// --alt-dir D     also time D/<name>.onnx on both runtimes in the same rounds (before/after a rewrite)
// --detail        one row per layer (operator, input and output shapes) instead of per operator
//
// CPU seconds (the whole process's, so with threads they include the thread pools' spinning) are
// the figure to read on a loaded machine with --threads 1: they do not grow when other processes
// take the cores. Runs are interleaved (native, WASM, native, WASM, ...) so the shared machine's load falls on both
// sides of each ratio alike; the first run of each session warms up and is left out. Profiling itself
// costs a little time on both sides; the timing rows come from runs without it.
// Figures for this machine are in bench/README.md ("The page in Chromium").
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const flag = (name) => process.argv.includes(`--${name}`);
const models = opt('models', 'nuclei-star,nuclei-flow').split(',').filter(Boolean);
const size = Number(opt('size', '512'));
const threads = Number(opt('threads', '2'));
const repeats = Number(opt('repeats', '5'));
const variantNames = opt('variants', '').split(',').filter(Boolean);
const detail = flag('detail');
const altDir = opt('alt-dir', null);
const modelsDir = path.resolve(opt('models-dir', path.join(ROOT, 'models')));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// WASM session options under test. 'default' is what web/worker.js and the CLI's --backend wasm pass.
const VARIANTS = {
  'default': {},
  'arena': { enableCpuMemArena: true },
  'mem-pattern': { enableMemPattern: true },
  'arena+pattern': { enableCpuMemArena: true, enableMemPattern: true },
  'all': { graphOptimizationLevel: 'all' },  // the default spelled out: a control for the noise
  'basic': { graphOptimizationLevel: 'basic' },
  'extended': { graphOptimizationLevel: 'extended' },
  'disabled': { graphOptimizationLevel: 'disabled' },
  'parallel': { executionMode: 'parallel' },
  'no-spin': { extra: { session: { 'intra_op.allow_spinning': '0' } } },
};
for (const v of variantNames) {
  if (!VARIANTS[v]) {
    console.error(`ort_profile: unknown variant "${v}"; known: ${Object.keys(VARIANTS).join(', ')}`);
    process.exit(2);
  }
}

const require = createRequire(import.meta.url);
let ortNode, ortWeb;
try {
  ortNode = (await import('onnxruntime-node')).default;
  const entry = require.resolve('onnxruntime-web');
  const mod = await import('onnxruntime-web');
  ortWeb = mod.default ?? mod;
  ortWeb.env.wasm.wasmPaths = path.dirname(entry) + path.sep;
  ortWeb.env.wasm.numThreads = threads;
} catch (e) {
  console.error(`ort_profile: ONNX Runtime could not be loaded (${e.message}); run "bash scripts/setup.sh" in ${ROOT}`);
  process.exit(1);
}

// The child of wasmEvents: profile the WASM session alone and let the runtime print the profile.
const child = opt('wasm-profile-child', null);
if (child) {
  const bytes = fs.readFileSync(path.join(modelsDir, `${child}.onnx`));
  const card = JSON.parse(fs.readFileSync(path.join(modelsDir, `${child}.json`), 'utf8'));
  const channels = card.input.channels;
  const data = input(channels);
  const session = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], enableProfiling: true });
  for (let i = 0; i <= repeats; i++) await session.run({ [card.input.name]: new ortWeb.Tensor('float32', data, [1, channels, size, size]) });
  await session.endProfiling();
  await new Promise((r) => setTimeout(r, 500));
  process.exit(0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-ort-profile-'));
const nativeOptions = (profile) => ({
  executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  ...(profile ? { enableProfiling: true, profileFilePrefix: path.join(tmp, `native-${Date.now()}`) } : {}),
});
const wasmOptions = (variant, profile) => ({ executionProviders: ['wasm'], ...VARIANTS[variant], ...(profile ? { enableProfiling: true } : {}) });

// onnxruntime-node writes its profile to <prefix>_<date>.json; ORT Web's WASM build prints it (a JSON
// array of trace events) to standard output when the profile ends, so it is caught there.
function nativeEvents(prefix) {
  const dir = path.dirname(prefix), base = path.basename(prefix);
  const file = fs.readdirSync(dir).find((f) => f.startsWith(base) && f.endsWith('.json'));
  if (!file) throw new Error(`onnxruntime-node wrote no profile under ${dir}`);
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
}
function wasmEvents(name) {
  // In a child process: the print can come from one of the runtime's worker threads, after the call
  // returns, so the child's whole standard output is the reliable place to read it.
  const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--wasm-profile-child', name,
    '--models-dir', modelsDir, '--size', String(size), '--threads', String(threads), '--repeats', String(repeats)],
  { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  const start = text.indexOf('[');
  if (start < 0) throw new Error('ONNX Runtime Web printed no profile');
  return JSON.parse(text.slice(start, text.lastIndexOf(']') + 1));
}

// Operator classes, so the two runtimes' rewritten graphs line up: both fuse Conv+Relu (WASM into
// FusedConv; native into a Conv of its NCHWc blocked layout, which also runs Resize as Upsample and adds
// the layout reorders that ORT Web, without that layout, never needs).
const OP_CLASS = { FusedConv: 'Conv (+Relu)', Conv: 'Conv (+Relu)', Resize: 'Resize (nearest 2×)',
  Upsample: 'Resize (nearest 2×)', ReorderInput: 'NCHWc reorder', ReorderOutput: 'NCHWc reorder' };
// NCHWc tensors are 5-D [N, C/8, H, W, 8]: give them as C x H x W like plain NCHW ones.
const chw = (shape) => {
  const d = Object.values(shape ?? {})[0] ?? [];
  return d.length === 5 ? `${d[1] * d[4]}×${d[2]}×${d[3]}` : d.slice(1).join('×');
};

// Kernel time per key (operator class, or with --detail the class and its first input's and output's
// shapes, the same for the same layer in both runtimes), milliseconds per run, summed over the
// profiled runs after the first (the warm-up) and divided by their number.
function perOp(events, runs) {
  const byKey = new Map();
  const runEvents = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const firstRunEnd = runEvents.length ? runEvents[0].ts + runEvents[0].dur : 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < firstRunEnd) continue;
    const op = OP_CLASS[e.args?.op_name] ?? e.args?.op_name ?? '?';
    const key = detail ? `${op} ${chw(e.args?.input_type_shape?.[0])} → ${chw(e.args?.output_type_shape?.[0])}` : op;
    byKey.set(key, (byKey.get(key) ?? 0) + e.dur);
  }
  for (const [k, v] of byKey) byKey.set(k, v / runs / 1000);
  return byKey;
}

function input(channels) {
  const data = new Float32Array(channels * size * size);
  let s = 12345;  // a fixed LCG so both runtimes see the same numbers on every invocation
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = (s >>> 8) / 16777216; }
  return data;
}

const f3 = (x) => x.toFixed(3), f1 = (x) => x.toFixed(1), f2 = (x) => x.toFixed(2);
console.log(`ort_profile: ${size}x${size}, ${threads} threads, ${repeats} runs after a warm-up; onnxruntime-node ${ortNode.env?.versions?.node ?? ''} vs onnxruntime-web ${ortWeb.env.versions.web} (${ortWeb.env.wasm.numThreads} threads)`);
for (const name of models) {
  const bytes = fs.readFileSync(path.join(modelsDir, `${name}.onnx`));
  const card = JSON.parse(fs.readFileSync(path.join(modelsDir, `${name}.json`), 'utf8'));
  const channels = card.input.channels;
  const data = input(channels);
  const feedsFor = (ort) => ({ [card.input.name]: new ort.Tensor('float32', data, [1, channels, size, size]) });

  // 1. Profiled sessions: per-operator kernel times (WASM in a child process, see wasmEvents).
  const nativeProfileOptions = nativeOptions(true);
  const nProf = await ortNode.InferenceSession.create(bytes, nativeProfileOptions);
  for (let i = 0; i <= repeats; i++) await nProf.run(feedsFor(ortNode));
  nProf.endProfiling();
  const nEvents = nativeEvents(nativeProfileOptions.profileFilePrefix);
  await nProf.release?.();
  const wEvents = wasmEvents(name);
  const nOps = perOp(nEvents, repeats), wOps = perOp(wEvents, repeats);
  const ranOps = (events) => new Set(events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.args?.op_name));
  const wRan = ranOps(wEvents), nRan = ranOps(nEvents);

  console.log(`\n${name} (${card.kind}), input 1x${channels}x${size}x${size}`);
  console.log(`operators run per inference: wasm ${[...wRan].sort().join(', ')}; native ${[...nRan].sort().join(', ')}`);
  console.log(`Cast nodes at inference: wasm ${wRan.has('Cast') ? 'yes' : 'no (folded at session creation)'}, native ${nRan.has('Cast') ? 'yes' : 'no (folded at session creation)'}`);
  const keys = [...new Set([...wOps.keys(), ...nOps.keys()])].sort((a, b) => (wOps.get(b) ?? 0) - (wOps.get(a) ?? 0));
  const wTotal = [...wOps.values()].reduce((a, b) => a + b, 0), nTotal = [...nOps.values()].reduce((a, b) => a + b, 0);
  console.log(`| ${detail ? "layer" : "operator"} | wasm ms | share | native ms | share | wasm ÷ native |`);
  console.log('|---|---|---|---|---|---|');
  for (const k of keys) {
    const w = wOps.get(k) ?? 0, n = nOps.get(k) ?? 0;
    console.log(`| ${k} | ${f1(w)} | ${f1(100 * w / wTotal)}% | ${f1(n)} | ${f1(100 * n / nTotal)}% | ${n > 0 ? f2(w / n) : '–'} |`);
  }
  console.log(`| all kernels | ${f1(wTotal)} | | ${f1(nTotal)} | | ${f2(wTotal / nTotal)} |`);

  // 2. Timed sessions without profiling: each WASM variant, and with --alt-dir the other graph on
  // both runtimes, all in the same rounds, each round starting at another session.
  const sessions = [{ label: `onnxruntime-node, ${threads} threads`, graph: 'shipped', native: true,
    session: await ortNode.InferenceSession.create(bytes, nativeOptions(false)) }];
  for (const v of ['default', ...variantNames.filter((x) => x !== 'default')]) {
    sessions.push({ label: `onnxruntime-web wasm, ${v}`, graph: 'shipped', variant: v,
      session: await ortWeb.InferenceSession.create(bytes.slice(), wasmOptions(v, false)) });
  }
  if (altDir) {
    const alt = fs.readFileSync(path.join(altDir, `${name}.onnx`));
    sessions.push({ label: `onnxruntime-node, ${threads} threads, ${altDir} graph`, graph: 'alt', native: true,
      session: await ortNode.InferenceSession.create(alt, nativeOptions(false)) });
    sessions.push({ label: `onnxruntime-web wasm, default, ${altDir} graph`, graph: 'alt',
      session: await ortWeb.InferenceSession.create(alt.slice(), wasmOptions('default', false)) });
  }
  for (const s of sessions) { s.times = []; s.cpu = []; }
  for (let i = 0; i <= repeats; i++) {
    for (let j = 0; j < sessions.length; j++) {
      const s = sessions[(i + j) % sessions.length];
      const t = performance.now(), c = process.cpuUsage();
      s.out = await s.session.run(feedsFor(s.native ? ortNode : ortWeb));
      const cpu = process.cpuUsage(c);
      if (i > 0) { s.times.push((performance.now() - t) / 1000); s.cpu.push((cpu.user + cpu.system) / 1e6); }
    }
  }
  const reference = sessions[1].out;  // the default WASM session on the shipped graph
  console.log(`\n| ${name}: session | median s per run | ÷ native (same graph) | CPU s per run | CPU ÷ native | largest output difference from the default WASM session's |`);
  console.log('|---|---|---|---|---|---|');
  for (const s of sessions) {
    const native = sessions.find((x) => x.native && x.graph === s.graph);
    let d = 0;
    for (const k of Object.keys(reference)) {
      const a = reference[k].data, b = s.out[k].data;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    console.log(`| ${s.label} | ${f3(median(s.times))} | ${f2(median(s.times) / median(native.times))} | ${f3(median(s.cpu))} | ` +
      `${f2(median(s.cpu) / median(native.cpu))} | ${s === sessions[1] ? '' : d.toExponential(2)} |`);
    await s.session.release?.();
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
