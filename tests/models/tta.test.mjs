// models/train/tta.py wraps a model in test-time augmentation: each view (flips, transposes) runs
// the same network and its outputs are mapped back to the image's frame before the mean. A wrong
// flow sign, a dy/dx swap left out or a wrong ray permutation trains nothing and fails nowhere else
// (the views would just blur the result), so each view is checked on its own here against the
// plain model, with this file's own mapping of the view (independent of the script's graph code),
// on an image of elongated nuclei whose rays and flows differ by direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TTA = path.join(ROOT, 'models/train/tta.py');
const H = 64, W = 96;  // multiples of the networks' divisor (8); not square, so a transpose shows

// Elongated bright ellipses at several angles on a dark background, normalised to about 0..1.
function ellipses() {
  const x = new Float32Array(H * W);
  const blobs = [[20, 24, 14, 6, 0.3], [44, 60, 16, 7, -0.9], [18, 72, 11, 5, 1.4], [48, 20, 13, 6, 2.2]];
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      let v = 0.05;
      for (const [cy, cx, a, b, t] of blobs) {
        const dy = y - cy, dx = c - cx;
        const u = (dx * Math.cos(t) + dy * Math.sin(t)) / a, w = (-dx * Math.sin(t) + dy * Math.cos(t)) / b;
        if (u * u + w * w <= 1) v = 0.9;
      }
      x[y * W + c] = v;
    }
  }
  return x;
}

// A planar [channels][h][w] array seen through a view (transpose first, then the flips), as tta.py
// documents; `shift` moves each flipped axis by one element toward its end first (star views).
function view(a, channels, h, w, [transpose, flipH, flipW], shift = 0) {
  const [vh, vw] = transpose ? [w, h] : [h, w];
  const out = new Float32Array(a.length);
  for (let k = 0; k < channels; k++) {
    for (let y = 0; y < vh; y++) {
      for (let x = 0; x < vw; x++) {
        let sy = flipH ? vh - 1 - y : y, sx = flipW ? vw - 1 - x : x;
        if (flipH) sy = Math.max(sy - shift, 0);
        if (flipW) sx = Math.max(sx - shift, 0);
        const [oy, ox] = transpose ? [sx, sy] : [sy, sx];
        out[(k * vh + y) * vw + x] = a[(k * h + oy) * w + ox];
      }
    }
  }
  return out;
}

// The inverse spatial mapping of a view's output ([channels][vh][vw] -> [channels][h][w]).
function unview(a, channels, h, w, [transpose, flipH, flipW]) {
  const [vh, vw] = transpose ? [w, h] : [h, w];
  const out = new Float32Array(a.length);
  for (let k = 0; k < channels; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let [py, px] = transpose ? [x, y] : [y, x];
        if (flipH) py = vh - 1 - py;
        if (flipW) px = vw - 1 - px;
        out[(k * h + y) * w + x] = a[(k * vh + py) * vw + px];
      }
    }
  }
  return out;
}

const VIEWS = [];
for (const t of [false, true]) for (const fh of [false, true]) for (const fw of [false, true]) VIEWS.push([t, fh, fw]);

async function run(bytes, input, h, w) {
  const session = await ort.InferenceSession.create(bytes);
  const r = await session.run({ image: new ort.Tensor('float32', input, [1, 1, h, w]) });
  return session.outputNames.map((n) => r[n].data);
}

function meanAbsDiff(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

// tta.py's models for the given views, one file per view list: [{views, bytes, card}].
function buildModels(tmp, source, viewLists) {
  const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.dirname(TTA))})
import onnx, tta
from pathlib import Path
card = json.load(open(sys.argv[1]))
model = onnx.load(str(Path(sys.argv[1]).parent / card["onnx"]["file"]))
for i, views in enumerate(json.loads(sys.argv[3])):
    onnx.save(tta.build(model, card, [tuple(v) for v in views]), f"{sys.argv[2]}/view{i}.onnx")`;
  execFileSync('/usr/bin/python3', ['-c', script, path.join(ROOT, 'models', `${source}.json`), tmp, JSON.stringify(viewLists)]);
  return viewLists.map((views, i) => ({ views, bytes: fs.readFileSync(path.join(tmp, `view${i}.onnx`)) }));
}

test('tta.py, flow model: every view mapped back agrees with the plain model; flow signs and the dy/dx swap matter', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-tta-flow-'));
  const x = ellipses();
  const [cp, flow] = await run(fs.readFileSync(path.join(ROOT, 'models/nuclei-flow.onnx')), x, H, W);
  const models = buildModels(tmp, 'nuclei-flow', VIEWS.map((v) => [v]));
  for (const { views: [v], bytes } of models) {
    // Whatever the graph does, its one view must be: network(view(x)) mapped back by this file's rule.
    const [vh, vw] = v[0] ? [W, H] : [H, W];
    const [vcp, vflow] = await run(fs.readFileSync(path.join(ROOT, 'models/nuclei-flow.onnx')), view(x, 1, H, W, v), vh, vw);
    const back = unview(vflow, 2, H, W, v);
    const n = H * W;
    let dy = back.slice(0, n), dx = back.slice(n);
    if (v[1]) dy = dy.map((d) => -d);  // the view's dy (before the transpose's swap) points up in the image
    if (v[2]) dx = dx.map((d) => -d);
    if (v[0]) [dy, dx] = [dx, dy];
    const expected = new Float32Array(2 * n);
    expected.set(dy, 0);
    expected.set(dx, n);
    const [tcp, tflow] = await run(bytes, x, H, W);
    assert.ok(meanAbsDiff(tcp, unview(vcp, 1, H, W, v)) < 1e-5, `view ${v}: cellprob mapped back`);
    assert.ok(meanAbsDiff(tflow, expected) < 1e-5, `view ${v}: flow mapped back`);
    // The network was trained with these augmentations, so the view agrees with the plain run, and
    // far better than it would with a component's sign left as it was.
    const err = meanAbsDiff(tflow, flow);
    const wrong = new Float32Array(expected);
    for (let i = 0; i < n; i++) wrong[v[0] ? n + i : i] *= -1;
    assert.ok(err < 0.5 * meanAbsDiff(wrong, flow), `view ${v}: flow differs from the plain model's by ${err}`);
    const sigmoid = (a) => a.map((l) => 1 / (1 + Math.exp(-l)));  // logits far from 0 differ freely
    const probErr = meanAbsDiff(sigmoid(tcp), sigmoid(cp));
    assert.ok(probErr < 0.1, `view ${v}: cell probability differs from the plain model's by ${probErr}`);
    // ... and better than the view's own output left unflipped would.
    if (!v[0] && (v[1] || v[2])) {
      const unmapped = meanAbsDiff(sigmoid(vcp), sigmoid(cp));
      assert.ok(probErr < 0.5 * unmapped, `view ${v}: cell probability ${probErr} off, unmapped ${unmapped}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('tta.py, star model: every view maps its rays back to the plain model\'s (a wrong permutation would not)', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-tta-star-'));
  const x = ellipses();
  const card = JSON.parse(fs.readFileSync(path.join(ROOT, 'models/nuclei-star.json'), 'utf8'));
  const nRays = card.star.n_rays, grid = card.star.grid;
  const [prob, dist] = await run(fs.readFileSync(path.join(ROOT, 'models/nuclei-star.onnx')), x, H, W);
  const gh = H / grid, gw = W / grid;
  // Inside objects only (where rays are meaningful): cells the plain model is confident about.
  const inside = [];
  for (let i = 0; i < gh * gw; i++) if (prob[i] > 0.5) inside.push(i);
  assert.ok(inside.length > 20, 'the plain model finds the ellipses');
  const rayError = (d) => {
    let s = 0;
    for (const i of inside) for (let k = 0; k < nRays; k++) s += Math.abs(d[k * gh * gw + i] - dist[k * gh * gw + i]);
    return s / (inside.length * nRays);
  };
  const models = buildModels(tmp, 'nuclei-star', VIEWS.map((v) => [v]));
  for (const { views: [v], bytes } of models) {
    const [tprob, tdist] = await run(bytes, x, H, W);
    const err = rayError(tdist);
    // The same outputs with the rays left in the view's order: what a missing permutation gives.
    const rotated = new Float32Array(tdist.length);
    for (let k = 0; k < nRays; k++) rotated.set(tdist.subarray(k * gh * gw, (k + 1) * gh * gw), ((k + nRays / 4) % nRays) * gh * gw);
    assert.ok(err < 1.0, `view ${v}: rays differ from the plain model's by ${err.toFixed(2)} px`);
    if (v.some(Boolean)) assert.ok(err < 0.5 * rayError(rotated), `view ${v}: rays ${err.toFixed(2)} px off, rotated ${rayError(rotated).toFixed(2)}`);
    assert.ok(meanAbsDiff(tprob, prob) < 0.05, `view ${v}: prob differs`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('tta.py writes a card the app accepts: the model\'s own with the new file\'s sha256 and the views recorded', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-tta-card-'));
  execFileSync('/usr/bin/python3', [TTA, path.join(ROOT, 'models/nuclei-flow.json'), '--views', '4', '--out', path.join(tmp, 'flow4')]);
  const card = JSON.parse(fs.readFileSync(path.join(tmp, 'flow4.json'), 'utf8'));
  const blob = fs.readFileSync(path.join(tmp, 'flow4.onnx'));
  assert.equal(card.name, 'flow4');
  assert.equal(card.onnx.file, 'flow4.onnx');
  assert.equal(card.onnx.sha256, createHash('sha256').update(blob).digest('hex'));
  assert.equal(card.onnx.bytes, blob.length);
  assert.equal(card.training.tta.views, 4);
  assert.equal(card.training.tta.source, 'nuclei-flow');
  const source = fs.statSync(path.join(ROOT, 'models/nuclei-flow.onnx')).size;
  assert.ok(blob.length < source * 1.1, `the views share the weights: ${blob.length} bytes against ${source}`);
  // The CLI opens it (the core checks the card and the sha256) and segments with it.
  const cli = path.join(ROOT, 'cli/celldrop.mjs');
  execFileSync(process.execPath, ['--no-experimental-fetch', cli, 'synth', '--seed', '7', '--out', tmp, '--width', '128', '--height', '128', '--bits', '8']);
  const line = JSON.parse(execFileSync(process.execPath, ['--no-experimental-fetch', cli, 'segment', path.join(tmp, 'synth-7.png'),
    '--out', path.join(tmp, 'pred'), '--model', path.join(tmp, 'flow4.json')], { encoding: 'utf8' }).trim());
  assert.ok(line.objects > 0, JSON.stringify(line));
  fs.rmSync(tmp, { recursive: true, force: true });
});

// A shipped TTA model is a build product of its source: when the source is exported again (new
// weights, a graph rewrite), the wrapper must be rebuilt with it, or the two drift apart silently.
test('shipped TTA models are tta.py\'s build of the shipped source model, byte for byte', () => {
  const models = path.join(ROOT, 'models');
  const cards = fs.readdirSync(models).filter((f) => f.endsWith('.json') && !f.endsWith('.loss.json') && f !== 'index.json')
    .map((f) => JSON.parse(fs.readFileSync(path.join(models, f), 'utf8'))).filter((c) => c.training?.tta);
  for (const card of cards) {
    const { source, views } = card.training.tta;
    const sourceCard = JSON.parse(fs.readFileSync(path.join(models, `${source}.json`), 'utf8'));
    assert.equal(card.training.tta.source_sha256, sourceCard.onnx.sha256,
      `${card.name} wraps another ${source} than the shipped one: rebuild it (${card.training.tta.command})`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-tta-shipped-'));
    execFileSync('/usr/bin/python3', [TTA, path.join(models, `${source}.json`), '--views', String(views), '--out', path.join(tmp, card.name)]);
    const rebuilt = createHash('sha256').update(fs.readFileSync(path.join(tmp, `${card.name}.onnx`))).digest('hex');
    assert.equal(rebuilt, card.onnx.sha256, `${card.name}.onnx is not what ${card.training.tta.command} builds now`);
    // Thresholds may be chosen again for the wrapper; how the app feeds it and reads it may not change.
    for (const key of ['diameter', 'normalization', 'input', 'outputs', 'star', 'flow']) {
      assert.deepEqual(card[key], sourceCard[key], `${card.name}: ${key} differs from ${source}'s`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
