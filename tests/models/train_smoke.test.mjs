// Training smoke test: the recipe in models/train runs end to end on synthetic nuclei (a few steps),
// exports ONNX with a model card, and onnxruntime-node loads and runs the result with the card's
// contract. Full training runs by hand (models/README.md), never here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'cli/celldrop.mjs');

function makeDataset(dir) {
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'labels'), { recursive: true });
  const rows = ['id,width,height,channels,modality,nuclei,split'];
  for (const [seed, split] of [[1, 'train'], [2, 'train'], [3, 'train'], [4, 'val'], [5, 'val']]) {
    const out = JSON.parse(execFileSync('node', ['--no-experimental-fetch', cli, 'synth', '--seed', String(seed),
      '--out', dir, '--width', '96', '--height', '80', '--bits', '8', '--diameter', '14'], { encoding: 'utf8' }));
    const id = `synth-${seed}`;
    fs.renameSync(path.join(dir, `${id}.png`), path.join(dir, 'images', `${id}.png`));
    fs.renameSync(path.join(dir, `${id}-labels.png`), path.join(dir, 'labels', `${id}.png`));
    rows.push(`${id},96,80,1,fluorescence,${out.count ?? 0},${split}`);
  }
  fs.writeFileSync(path.join(dir, 'manifest.csv'), rows.join('\n') + '\n');
}

for (const kind of ['star', 'flow']) {
  test(`training recipe, ${kind} model: a few steps, ONNX export, card, onnxruntime-node run`, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `celldrop-train-${kind}-`));
    makeDataset(path.join(tmp, 'data'));
    const models = path.join(tmp, 'models');
    execFileSync('/usr/bin/python3', [path.join(root, 'models/train/train.py'), '--data', path.join(tmp, 'data'),
      '--kind', kind, '--name', `smoke-${kind}`, '--out', models, '--work', path.join(tmp, 'work'),
      '--steps', '3', '--batch', '2', '--crop', '64', '--diameter', '14', '--val-every', '1000', '--threads', '1',
      // The flow run also stores its weights as float16 (cast to float32 in the graph).
      '--weights', kind === 'flow' ? 'float16' : 'float32'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });

    const card = JSON.parse(fs.readFileSync(path.join(models, `smoke-${kind}.json`), 'utf8'));
    const onnxPath = path.join(models, card.onnx.file);
    const bytes = fs.readFileSync(onnxPath);
    assert.equal(card.kind, kind);
    assert.equal(card.onnx.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(card.training.steps, 3);
    assert.equal(card.onnx.weights, kind === 'flow' ? 'float16' : 'float32');
    const curve = JSON.parse(fs.readFileSync(path.join(models, card.training.loss_curve), 'utf8'));
    assert.equal(curve.steps.at(-1), 3, 'the loss curve ends at the last step');
    assert.ok(curve.loss.every(Number.isFinite));

    const session = await ort.InferenceSession.create(onnxPath);
    assert.deepEqual(session.inputNames, [card.input.name]);
    assert.deepEqual(session.outputNames, card.outputs.map((o) => o.name));
    const [h, w] = [card.input.divisor * 5, card.input.divisor * 7];  // any multiple of the divisor
    const input = new ort.Tensor('float32', new Float32Array(h * w * card.input.channels).fill(0.5),
      [1, card.input.channels, h, w]);
    const result = await session.run({ [card.input.name]: input });
    for (const o of card.outputs) {
      assert.deepEqual(result[o.name].dims, [1, o.channels, h / o.grid, w / o.grid], o.name);
      assert.ok(result[o.name].data.every(Number.isFinite), `${o.name} is finite`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}
