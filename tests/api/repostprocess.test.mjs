// cd_result_repostprocess (src/api): a result's kept network outputs post-processed again with other
// thresholds must give, byte for byte, the labels of a full run with those thresholds, for the star
// and the flow model; it must say when only the network can (another scale, other parameters,
// another image, no kept outputs). Runs the C API compiled for Node (celldrop-node) with the
// shipped models on onnxruntime-node, on a synthetic image.
//
// Needs: bash scripts/build.sh wasm
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bindCore, checkSession, segmentTiles } from '../../src/api/celldrop_api.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(process.env.CELLDROP_BUILD || path.join(ROOT, 'build'));
const MODULE = path.join(BUILD, 'wasm', 'celldrop-node.js');

let core, ort, image, otherImage, sample;

before(async () => {
  assert.ok(fs.existsSync(MODULE), `${MODULE} is missing: run bash scripts/build.sh wasm`);
  const require = createRequire(import.meta.url);
  core = bindCore(await require(MODULE)({ wasmBinary: fs.readFileSync(MODULE.replace(/\.js$/, '.wasm')) }));
  ort = (await import('onnxruntime-node')).default;
  const decode = (seed, size = 256) => {
    const { summary, image: png } = core.synth(`seed=${seed} width=${size} height=${size}`);
    assert.equal(summary.error, undefined, summary.error);
    const { json, handle } = core.imageDecode(png);
    assert.equal(json.error, undefined, json.error);
    return handle;
  };
  image = decode(11);
  otherImage = decode(12);
  sample = decode(1, 512);  // the page's sample, whose automatic diameter takes one pass
});

async function openModel(name) {
  const cardText = fs.readFileSync(path.join(ROOT, 'models', `${name}.json`), 'utf8');
  const { json: card, handle } = core.modelOpen(cardText);
  assert.equal(card.error, undefined, card.error);
  const bytes = fs.readFileSync(path.join(ROOT, 'models', card.onnx.file));
  core.modelCheckOnnx(handle, bytes);
  const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  checkSession(core, handle, session);
  return { card, handle, session };
}

const labelsOf = (result) => {
  const { bytes, error } = core.resultExport(result, 'labels_tiff');
  assert.equal(error, undefined, error);
  return Buffer.from(bytes);
};

async function fullRun(model, img, params, keepMaps) {
  const seg = await segmentTiles(core, ort, model, img, params, { keepMaps });
  return seg;
}

for (const [name, moves] of [
  ['nuclei-star', [{ prob_thresh: 0.9 }, { prob_thresh: 0.2, nms_thresh: 0.6 }, { min_area: 300 }]],
  ['nuclei-flow', [{ cellprob_thresh: 3.0 }, { cellprob_thresh: -2.0, flow_thresh: 0.1 }, { min_area: 300 }]],
]) {
  test(`${name}: new thresholds on kept outputs give a full run's labels, without inference`, async () => {
    const model = await openModel(name);
    const base = { diameter: 18, tile: 192 };  // several tiles, one pass at a given scale
    const first = await fullRun(model, image, base, true);
    let previous = first.result;
    for (const move of moves) {
      const params = { ...base, ...move };
      const { json, handle } = core.resultRepostprocess(previous, image, params);
      assert.equal(json.error, undefined, json.error);
      assert.equal(json.timings_s.inference, 0, 'no network ran');
      const full = await fullRun(model, image, params, false);
      assert.ok(full.inferenceMs > 0);
      assert.equal(json.objects, full.summary.objects);
      assert.ok(labelsOf(handle).equals(labelsOf(full.result)), `${JSON.stringify(move)}: labels differ from a full run's`);
      assert.ok(!labelsOf(handle).equals(labelsOf(first.result)), `${JSON.stringify(move)} should change the labels`);
      core.resultFree(full.result);
      if (previous !== first.result) core.resultFree(previous);
      previous = handle;  // the new result keeps the outputs too: thresholds move again from it
    }
    core.resultFree(previous);

    // What only the network can answer.
    const refused = (result, img, params) => {
      const { json, handle } = core.resultRepostprocess(result, img, params);
      assert.equal(handle, 0);
      assert.equal(json.needs_network, true, JSON.stringify(json));
      return json.error;
    };
    assert.match(refused(first.result, image, { ...base, diameter: 24 }), /only the post-processing thresholds/);
    assert.match(refused(first.result, image, { ...base, invert: true }), /only the post-processing thresholds/);
    assert.match(refused(first.result, otherImage, base), /not the one this result was made from/);
    const plain = await fullRun(model, image, base, false);
    assert.match(refused(plain.result, image, { ...base, ...moves[0] }), /kept no network outputs/);
    core.resultFree(plain.result);
    core.resultFree(first.result);
    core.modelFree(model.handle);
  });
}

test('an automatic diameter: the kept outputs answer only when the thresholds keep the scale; the labels are a full run\'s either way', async () => {
  const model = await openModel('nuclei-star');
  const first = await fullRun(model, sample, { diameter: 0 }, true);
  let answered = 0, refused = 0;
  for (const prob of [0.45, 0.5, 0.55, 0.8]) {
    const params = { diameter: 0, prob_thresh: prob };
    const { json, handle } = core.resultRepostprocess(first.result, sample, params);
    if (json.needs_network) {
      refused++;
      assert.match(json.error, /another scale/);
      continue;
    }
    assert.equal(json.error, undefined, json.error);
    answered++;
    const full = await fullRun(model, sample, params, false);
    assert.equal(json.scale, full.summary.scale);
    assert.ok(labelsOf(handle).equals(labelsOf(full.result)), `prob ${prob}: labels differ from a full run's`);
    core.resultFree(full.result);
    core.resultFree(handle);
  }
  // A run that took a second pass kept that pass's outputs, at another scale than a first pass.
  if (first.summary.passes === 1) assert.ok(answered >= 1, 'at least the run\'s own threshold keeps its scale');
  else assert.equal(answered, 0);
  core.resultFree(first.result);
  core.modelFree(model.handle);
  console.log(`automatic diameter: ${answered} answered from kept outputs, ${refused} needed the network`);
});

// cd_result_labels: what the page's worker hands over instead of a PNG: the image's size, ids 1..count
// each present, 16-bit while they fit. (That the page's labels are the CLI's, pixel for pixel, the
// browser tests check.)
test('resultLabels hands over the label image as held', async () => {
  const model = await openModel('nuclei-star');
  const seg = await fullRun(model, sample, {}, false);
  const labels = core.resultLabels(seg.result);
  assert.equal(labels.width, 512);
  assert.equal(labels.height, 512);
  assert.equal(labels.count, seg.summary.objects);
  assert.ok(labels.data instanceof Uint16Array);
  assert.equal(labels.data.length, 512 * 512);
  const seen = new Set(labels.data);
  seen.delete(0);
  assert.equal(seen.size, labels.count);
  assert.equal(Math.max(...seen), labels.count);
  core.resultFree(seg.result);
  core.modelFree(model.handle);
});
