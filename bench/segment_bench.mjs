#!/usr/bin/env node
// Post-processing ÷ inference for a real model, through the CLI's full pipeline (the same C++ core and
// ONNX Runtime kernels as everywhere else). For each image size and backend one `celldrop segment` call
// segments REPEATS + 1 copies of a synthetic nuclei image; the first copy warms the engines up (V8
// runs WASM with its baseline compiler until it tiers up; ORT plans its kernels on the first run), and
// the table gives the median stage times of the others, from their run records.
//
//   node bench/segment_bench.mjs [--model NAME|PATH] [--repeats N] [--sizes 512,2048] [--backends native,wasm]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'cli/celldrop.mjs');
const opt = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const model = opt('model', 'nuclei-star');
const repeats = Number(opt('repeats', '3'));
const sizes = opt('sizes', '512,2048').split(',').map(Number);
const backends = opt('backends', 'native,wasm').split(',');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cardPath = model.endsWith('.json') ? model : path.join(root, 'models', `${model}.json`);
const channels = JSON.parse(fs.readFileSync(cardPath, 'utf8')).input.channels;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-bench-'));
console.log(`model ${model}, ${repeats} repeats, ${os.cpus().length} CPUs (${os.cpus()[0].model})`);
console.log('| image | backend | objects | normalise s | inference s | post-processing s | post ÷ inference |');
console.log('|---|---|---|---|---|---|---|');
for (const size of sizes) {
  execFileSync('node', [cli, 'synth', '--seed', '1', '--width', String(size), '--height', String(size), '--out', tmp,
    ...(channels === 3 ? ['--bits', '8'] : [])]);
  const image = path.join(tmp, 'synth-1.png');
  if (channels === 3) {  // an RGB model (H&E) gets the same nuclei as an RGB image
    execFileSync('/usr/bin/python3', ['-c', 'import sys; from PIL import Image; Image.open(sys.argv[1]).convert("RGB").save(sys.argv[1])', image]);
  }
  for (const backend of backends) {
    const dir = path.join(tmp, `in-${size}-${backend}`);
    const out = path.join(tmp, `out-${size}-${backend}`);
    fs.mkdirSync(dir);
    for (let r = 0; r <= repeats; r++) fs.copyFileSync(image, path.join(dir, `copy-${r}.png`));
    execFileSync('node', [cli, 'segment', dir, '--out', out, '--model', model, '--backend', backend,
      '--diameter', '22', '--export', 'record'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const runs = [];
    for (let r = 1; r <= repeats; r++) runs.push(JSON.parse(fs.readFileSync(path.join(out, `copy-${r}.json`), 'utf8')));
    const t = (k) => median(runs.map((x) => x.timings_s[k]));
    console.log(`| ${size}² | ${backend} | ${runs[0].objects} | ${t('normalize').toFixed(3)} | ${t('inference').toFixed(3)} | ` +
      `${t('postprocess').toFixed(3)} | ${(100 * t('postprocess') / t('inference')).toFixed(1)}% |`);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
