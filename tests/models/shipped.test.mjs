// Every shipped model (models/*.json beside its .onnx) segments synthetic nuclei through the whole
// pipeline — the CLI, automatic diameter, tiling, the core's post-processing — and is scored against
// the generator's exact ground truth. The bars sit a little under what each model really achieves
// (models/README.md), far above chance: a broken export, card or post-processing fails here.
// Fluorescence models see the generator's images; a histology model sees them recoloured to look
// like H&E (dark purple nuclei on pink), made at test time with Debian's numpy and PIL. Fluorescence
// models also see them as an immunohistochemistry slide, read through its hematoxylin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'celldrop.mjs');
const MODELS = path.join(ROOT, 'models');

// AP@0.5 each model must reach on the fixtures below. Measured when they were shipped: nuclei-star
// 1.000, nuclei-flow 0.995, nuclei-he-star 1.000 (the generator's nuclei are easier than real ones);
// a model that is not listed must reach the default.
const BARS = { 'nuclei-star': 0.95, 'nuclei-flow': 0.95, 'nuclei-he-star': 0.95 };
const DEFAULT_BAR = 0.9;

function celldrop(...args) {
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function shippedCards() {
  return fs.readdirSync(MODELS).filter((f) => f.endsWith('.json') && !f.endsWith('.loss.json') && f !== 'index.json')
    .map((f) => JSON.parse(fs.readFileSync(path.join(MODELS, f), 'utf8')));
}

// Three 256² images with labels: images/synth-N.png, gt/synth-N.png.
function fixtures(dir) {
  for (const sub of ['raw', 'images', 'gt']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const seed of [101, 102, 103]) {
    const r = celldrop('synth', '--seed', String(seed), '--out', path.join(dir, 'raw'), '--width', '256', '--height', '256',
      '--diameter', '20', '--bits', '8');
    assert.equal(r.code, 0, r.stderr);
    fs.renameSync(path.join(dir, 'raw', `synth-${seed}-labels.png`), path.join(dir, 'gt', `synth-${seed}.png`));
  }
}

function toHematoxylinEosin(src, dst) {
  const script = `
import sys, numpy as np
from PIL import Image
t = np.asarray(Image.open(sys.argv[1]), np.float32)
t = (t - t.min()) / max(t.max() - t.min(), 1)
pink, purple = np.array([236, 190, 215], np.float32), np.array([95, 55, 140], np.float32)
rgb = pink * (1 - t[..., None]) + purple * t[..., None]
Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), 'RGB').save(sys.argv[2])`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, src, dst], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

// A synthetic IHC slide of the generator's nuclei (scripts/ihc_slide.py): brown DAB blobs
// between them are as dark as nuclei in the grey picture, and gone from the hematoxylin.
function toImmunohistochemistry(src, labels, dst, seed) {
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'scripts', 'ihc_slide.py'), src, labels, dst, String(seed)],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

// AP@0.5 of one CLI run over dir/images against dir/gt.
function score(dir, out, ...options) {
  const seg = celldrop('segment', path.join(dir, 'images'), '--out', path.join(dir, out), ...options);
  assert.equal(seg.code, 0, seg.stderr);
  const ev = celldrop('eval', '--gt', path.join(dir, 'gt'), '--pred', path.join(dir, out), '--json');
  assert.equal(ev.code, 0, ev.stderr);
  return JSON.parse(ev.stdout.trim().split('\n')[0]).ap50;
}

for (const card of shippedCards().filter((c) => c.training?.modality === 'fluorescence' && c.input.channels === 1)) {
  test(`shipped model ${card.name} segments an IHC slide's nuclei from its hematoxylin (--stain hematoxylin)`, (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `celldrop-ihc-${card.name}-`));
    fixtures(tmp);
    for (const seed of [101, 102, 103]) {
      toImmunohistochemistry(path.join(tmp, 'raw', `synth-${seed}.png`), path.join(tmp, 'gt', `synth-${seed}.png`),
        path.join(tmp, 'images', `synth-${seed}.png`), seed);
    }
    const stain = score(tmp, 'stain', '--model', card.name, '--stain', 'hematoxylin', '--export', 'record');
    const inverted = score(tmp, 'invert', '--model', card.name, '--invert');
    t.diagnostic(`AP@0.5 from the hematoxylin ${stain.toFixed(3)}, from the inverted grey picture ${inverted.toFixed(3)}`);
    // Measured when added: from the hematoxylin 0.990 (nuclei-star), 0.995 (nuclei-star-tta) and 0.981
    // (nuclei-flow); inverted 0.750, 0.737 and 0.693.
    assert.ok(stain >= 0.95, `${card.name}: AP@0.5 ${stain.toFixed(3)} from the hematoxylin`);
    assert.ok(stain > inverted + 0.1, `the DAB blobs should mislead the inverted grey picture: ${inverted.toFixed(3)}`);
    const record = JSON.parse(fs.readFileSync(path.join(tmp, 'stain', 'synth-101.json'), 'utf8'));
    assert.equal(record.parameters.stain, 'hematoxylin');
    assert.doesNotMatch(record.note ?? '', /looks like/, 'the hematoxylin looks like fluorescence');
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

for (const card of shippedCards()) {
  test(`shipped model ${card.name}: AP@0.5 on synthetic nuclei through the full pipeline`, (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `celldrop-shipped-${card.name}-`));
    fixtures(tmp);
    const histology = card.training?.modality === 'histology';
    for (const f of fs.readdirSync(path.join(tmp, 'raw'))) {
      const src = path.join(tmp, 'raw', f), dst = path.join(tmp, 'images', f);
      if (histology) toHematoxylinEosin(src, dst);
      else fs.copyFileSync(src, dst);
    }
    const seg = celldrop('segment', path.join(tmp, 'images'), '--out', path.join(tmp, 'pred'), '--model', card.name);
    assert.equal(seg.code, 0, seg.stderr);
    const ev = celldrop('eval', '--gt', path.join(tmp, 'gt'), '--pred', path.join(tmp, 'pred'), '--json');
    assert.equal(ev.code, 0, ev.stderr);
    const score = JSON.parse(ev.stdout.trim().split('\n')[0]);
    t.diagnostic(`AP@0.5 ${score.ap50.toFixed(3)}, AP@0.75 ${score.ap75.toFixed(3)}, DSB ${score.dsb.toFixed(3)}`);
    const bar = BARS[card.name] ?? DEFAULT_BAR;
    assert.ok(score.ap50 >= bar, `${card.name}: AP@0.5 ${score.ap50.toFixed(3)} is under its bar ${bar}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}
