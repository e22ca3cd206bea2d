// `celldrop segment` and `celldrop eval` end to end, with a model made at test time: the training
// recipe (models/train) runs two steps on synthetic nuclei and exports an ONNX file and its card, so
// no shared data and no committed weights are needed. The model is barely trained, so the tests
// check the plumbing (files, formats, fingerprints, errors, backends agreeing), not accuracy.
// Run: node --test tests/cli/   (after scripts/build.sh native wasm: the recipe needs
// libcelldrop_train.so, the CLI the WebAssembly module)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'celldrop.mjs');
const BUILD = process.env.CELLDROP_BUILD ? path.resolve(process.env.CELLDROP_BUILD) : path.join(ROOT, 'build');
const PYTHON = '/usr/bin/python3';  // Debian's, with torch, numpy and PIL (scripts/setup.sh)

let tmp, card, cardPath, onnxPath, images;

function celldrop(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}
const json = (line) => JSON.parse(line);
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function synth(dir, seed, size = ['160', '128']) {
  const r = celldrop('synth', '--seed', String(seed), '--out', dir, '--width', size[0], '--height', size[1], '--bits', '8',
    '--diameter', '14');
  assert.equal(r.code, 0, r.stderr);
  return json(r.lines[0]);
}

before(() => {
  for (const f of [path.join(BUILD, 'wasm', 'celldrop-node.wasm'), path.join(BUILD, 'native', 'libcelldrop_train.so')]) {
    assert.ok(fs.existsSync(f), `${f} is missing: run "bash scripts/build.sh native wasm" first`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-segment-'));
  // A training set of four synthetic images, then two steps of the star recipe.
  const data = path.join(tmp, 'data');
  fs.mkdirSync(path.join(data, 'images'), { recursive: true });
  fs.mkdirSync(path.join(data, 'labels'), { recursive: true });
  const rows = ['id,width,height,channels,modality,nuclei,split'];
  for (const seed of [1, 2, 3, 4]) {
    const s = synth(data, seed, ['96', '80']);
    fs.renameSync(s.image, path.join(data, 'images', `synth-${seed}.png`));
    fs.renameSync(s.labels, path.join(data, 'labels', `synth-${seed}.png`));
    rows.push(`synth-${seed},96,80,1,fluorescence,${s.count},${seed < 4 ? 'train' : 'val'}`);
  }
  fs.writeFileSync(path.join(data, 'manifest.csv'), rows.join('\n') + '\n');
  const models = path.join(tmp, 'models');
  const train = spawnSync(PYTHON, [path.join(ROOT, 'models/train/train.py'), '--data', data, '--kind', 'star',
    '--name', 'test-star', '--out', models, '--work', path.join(tmp, 'work'), '--steps', '2', '--batch', '2',
    '--crop', '64', '--diameter', '14', '--val-every', '1000', '--threads', '1'],
  { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD } });
  assert.equal(train.status, 0, `training recipe failed: ${train.stderr}`);
  cardPath = path.join(models, 'test-star.json');
  card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
  onnxPath = path.join(models, card.onnx.file);

  // The images to segment.
  images = path.join(tmp, 'images');
  for (const seed of [11, 12]) {
    const s = synth(images, seed);
    fs.rmSync(s.labels);
  }
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A low probability threshold makes even a barely trained network propose objects.
const LOW = ['--prob-thresh', '0.05'];

test('segment writes 16-bit labels and every export, and each parses', () => {
  const out = path.join(tmp, 'all');
  const image = path.join(images, 'synth-11.png');
  const r = celldrop('segment', image, '--out', out, '--model', cardPath, '--diameter', '14', ...LOW, '--export', 'all');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.length, 1);
  const line = json(r.lines[0]);
  assert.equal(line.file, image);
  assert.equal(line.error, undefined);
  assert.ok(line.objects > 0, `no objects: ${r.stdout}`);
  assert.equal(line.diameter, 14);
  assert.equal(line.diameter_estimated, false);
  assert.equal(line.scale, 1);
  const stem = path.join(out, 'synth-11');
  assert.deepEqual(line.written.sort(), ['.csv', '.geojson', '.json', '.png', '.roi.zip', '.tif'].map((e) => stem + e).sort());

  // The label PNG and TIFF, read back by the CLI's own decoder.
  const info = celldrop('info', `${stem}.png`, `${stem}.tif`);
  assert.equal(info.code, 0, info.stdout);
  for (const l of info.lines.map(json)) {
    assert.deepEqual([l.width, l.height, l.channels, l.type], [160, 128, 1, 'uint16'], JSON.stringify(l));
  }
  // Labels 1..N, each present: gt vs itself scores 1 with N objects.
  const self = path.join(tmp, 'self');
  fs.mkdirSync(self);
  fs.copyFileSync(`${stem}.png`, path.join(self, 'synth-11.png'));
  const e = celldrop('eval', '--gt', self, '--pred', self, '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(json(e.lines[0]).tp50, line.objects);

  // CSV: a header and one row per object, labels 1..N.
  const rows = fs.readFileSync(`${stem}.csv`, 'utf8').split('\r\n').filter(Boolean);
  assert.equal(rows[0].split(',')[0], 'label');
  assert.equal(rows.length - 1, line.objects);
  assert.deepEqual(rows.slice(1).map((row) => Number(row.split(',')[0])), Array.from({ length: line.objects }, (_, i) => i + 1));
  // GeoJSON: one detection per object.
  const geo = JSON.parse(fs.readFileSync(`${stem}.geojson`, 'utf8'));
  assert.equal(geo.type, 'FeatureCollection');
  assert.equal(geo.features.length, line.objects);
  assert.equal(geo.features[0].properties.objectType, 'detection');
  // ROI zip: one entry per object (the end-of-central-directory record's entry count).
  const zip = fs.readFileSync(`${stem}.roi.zip`);
  assert.equal(zip.readUInt32LE(zip.length - 22), 0x06054b50);
  assert.equal(zip.readUInt16LE(zip.length - 22 + 10), line.objects);
  // Run record: the model's and the image's fingerprints, the parameters as used, timings.
  const record = JSON.parse(fs.readFileSync(`${stem}.json`, 'utf8'));
  assert.equal(record.model.name, 'test-star');
  assert.equal(record.model.sha256, card.onnx.sha256);
  assert.equal(record.model.sha256, sha256(onnxPath));
  assert.equal(record.image.sha256, sha256(image));
  assert.equal(record.image.name, 'synth-11.png');
  assert.equal(record.image.width, 160);
  assert.equal(record.objects, line.objects);
  assert.equal(record.parameters.prob_thresh, 0.05);
  assert.equal(record.parameters.nms_thresh, card.thresholds.nms);
  assert.equal(record.parameters.diameter, 14);
  assert.equal(record.parameters.diameter_requested, 14);
  assert.ok(record.timings_s.total > 0);
  assert.match(record.started_at, /^\d{4}-\d\d-\d\dT/);
});

// The hand-made network with decisive outputs (tests/fixtures/hand_made_star.py).
const HAND_MADE = path.join(ROOT, 'tests', 'fixtures', 'hand_made_star.py');

test('native and wasm backends give identical labels (several tiles, automatic diameter)', () => {
  const base = path.join(tmp, 'hand', 'blur-star');
  fs.mkdirSync(path.dirname(base));
  const py = spawnSync(PYTHON, [HAND_MADE, path.dirname(base), path.basename(base)], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const image = path.join(images, 'synth-12.png');
  const native = path.join(tmp, 'native'), wasm = path.join(tmp, 'wasm');
  const args = [image, '--model', `${base}.json`, '--tile', '64', '--overlap', '16'];
  const a = celldrop('segment', ...args, '--out', native, '--backend', 'native');
  const b = celldrop('segment', ...args, '--out', wasm, '--backend', 'wasm', '--threads', '1');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const [la, lb] = [json(a.lines[0]), json(b.lines[0])];
  assert.ok(la.objects > 10, a.stdout);
  assert.ok(la.tiles > 4, a.stdout);
  assert.equal(la.diameter_estimated, true);
  assert.deepEqual([lb.objects, lb.tiles, lb.diameter, lb.scale], [la.objects, la.tiles, la.diameter, la.scale]);
  assert.ok(fs.readFileSync(path.join(native, 'synth-12.png')).equals(fs.readFileSync(path.join(wasm, 'synth-12.png'))),
    'the label PNGs differ');
  const e = celldrop('eval', '--gt', native, '--pred', wasm, '--json');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(json(e.lines[0]).dsb, 1);
});

test('a folder: images found and sorted, a corrupt file reported and skipped, exit code 1', () => {
  const dir = path.join(tmp, 'batch');
  fs.mkdirSync(dir);
  for (const name of ['synth-11.png', 'synth-12.png']) fs.copyFileSync(path.join(images, name), path.join(dir, name));
  const bytes = fs.readFileSync(path.join(images, 'synth-11.png'));
  fs.writeFileSync(path.join(dir, 'broken.png'), bytes.subarray(0, bytes.length >> 1));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image, and not named like one');
  const out = path.join(tmp, 'batch-out');
  const r = celldrop('segment', dir, '--out', out, '--model', cardPath, '--diameter', '14', ...LOW, '--export', 'csv');
  assert.equal(r.code, 1);
  const lines = r.lines.map(json);
  assert.deepEqual(lines.map((l) => path.basename(l.file)), ['broken.png', 'synth-11.png', 'synth-12.png']);
  assert.match(lines[0].error, /truncated|damaged|corrupt/i);
  for (const l of lines.slice(1)) assert.equal(l.error, undefined, l.error);
  assert.deepEqual(fs.readdirSync(out).sort(), ['synth-11.csv', 'synth-11.png', 'synth-12.csv', 'synth-12.png']);
  assert.match(r.stderr, /1 of 3 images failed/);
});

test('model errors are clear: missing, unknown name, bad card, sha256 mismatch, session I/O mismatch', () => {
  const image = path.join(images, 'synth-11.png');
  const out = path.join(tmp, 'errors');
  const run = (model) => celldrop('segment', image, '--out', out, '--model', model);
  const copy = (name, edit, onnxEdit) => {
    const dir = path.join(tmp, `model-${name}`);
    fs.mkdirSync(dir);
    const c = JSON.parse(JSON.stringify(card));
    edit?.(c);
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify(c));
    const bytes = Buffer.from(fs.readFileSync(onnxPath));
    onnxEdit?.(bytes);
    fs.writeFileSync(path.join(dir, card.onnx.file), bytes);
    return path.join(dir, 'm.json');
  };
  const cases = [
    [path.join(tmp, 'nowhere', 'm.json'), /model card not found: .*nowhere/],
    ['no-such-model', /no model named "no-such-model"/],
    [copy('kind', (c) => { c.kind = 'blob'; }), /model card: kind/],
    [copy('typo', (c) => { c.normalization.percentile_hi = 99; }), /model card: .*percentile_hi/],
    [copy('sha', null, (b) => { b[b.length >> 1] ^= 0xff; }), /SHA-256 is [0-9a-f]{64} but its model card \(onnx\.sha256\) says/],
    [copy('io', (c) => { c.input.name = 'pixels'; }), /pixels/],
    [copy('missing', (c) => { c.onnx.file = 'elsewhere.onnx'; }), /elsewhere\.onnx is missing/],
  ];
  for (const [model, message] of cases) {
    const r = run(model);
    assert.equal(r.code, 1, `${model}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  // An .onnx path finds its card beside it.
  const byOnnx = celldrop('segment', image, '--out', out, '--model', onnxPath, '--diameter', '14', ...LOW);
  assert.equal(byOnnx.code, 0, byOnnx.stderr);
});

test('--diameter auto estimates by a first pass; a given diameter rescales once', () => {
  const image = path.join(images, 'synth-11.png');
  const auto = celldrop('segment', image, '--out', path.join(tmp, 'auto'), '--model', cardPath, ...LOW, '--export', 'record');
  assert.equal(auto.code, 0, auto.stderr);
  const a = json(auto.lines[0]);
  const recA = JSON.parse(fs.readFileSync(path.join(tmp, 'auto', 'synth-11.json'), 'utf8'));
  assert.equal(recA.parameters.diameter_requested, 'auto');
  if (a.diameter_estimated) {
    assert.ok(a.diameter > 0);
    assert.equal(recA.parameters.diameter_estimated, true);
    // The scale the estimate asks for, limited to 1/8..8, or 1 when within 15% (the summary rounds).
    const wanted = Math.min(8, Math.max(1 / 8, card.diameter / a.diameter));
    const expected = Math.abs(wanted - 1) <= 0.15 ? 1 : wanted;
    assert.ok(Math.abs(a.scale - expected) <= 0.01 * expected, JSON.stringify(a));
    assert.equal(recA.parameters.passes, expected === 1 ? 1 : 2);
  } else {
    assert.match(a.note, /could not be estimated/);
  }
  const given = celldrop('segment', image, '--out', path.join(tmp, 'given'), '--model', cardPath, ...LOW, '--diameter', '28',
    '--export', 'record');
  assert.equal(given.code, 0, given.stderr);
  const g = json(given.lines[0]);
  assert.equal(g.diameter, 28);
  assert.equal(g.diameter_estimated, false);
  assert.equal(g.scale, 0.5);  // the card's 14 px / 28 px
  const recG = JSON.parse(fs.readFileSync(path.join(tmp, 'given', 'synth-11.json'), 'utf8'));
  assert.equal(recG.parameters.passes, 1);
  assert.equal(recG.parameters.network_width, 80);
});

// --exclude-border leaves out the objects the image border cuts: the labels are those of the run
// without it, less every object with a pixel on the border, renumbered in order. The shipped star
// model finds real nuclei (the test-time one only blobs), some on the border and some inside.
test('--exclude-border removes the objects the border cuts and says so in the record', () => {
  const image = path.join(images, 'synth-11.png');
  const runs = {};
  for (const [name, extra] of [['all', []], ['inner', ['--exclude-border']]]) {
    const r = celldrop('segment', image, '--out', path.join(tmp, `border-${name}`), '--model', 'nuclei-star',
      '--export', 'record', ...extra);
    assert.equal(r.code, 0, r.stderr);
    runs[name] = { summary: json(r.lines[0]), record: JSON.parse(fs.readFileSync(path.join(tmp, `border-${name}`, 'synth-11.json'), 'utf8')) };
  }
  assert.equal(runs.all.record.parameters.exclude_border, false);
  assert.equal(runs.inner.record.parameters.exclude_border, true);
  const check = spawnSync(PYTHON, ['-c', `
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.int64)
b = np.array(Image.open(sys.argv[2])).astype(np.int64)
cut = set(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).tolist()) - {0}
kept = [i for i in np.unique(a) if i != 0 and i not in cut]
expected = np.zeros_like(a)
for n, i in enumerate(kept, 1):
    expected[a == i] = n
assert np.array_equal(expected, b), 'not the run without it, less the cut objects'
print(len(cut), len(kept))
`, path.join(tmp, 'border-all', 'synth-11.png'), path.join(tmp, 'border-inner', 'synth-11.png')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const [cut, kept] = check.stdout.trim().split(' ').map(Number);
  assert.ok(cut > 0 && kept > 0, `objects cut by the border ${cut}, inside ${kept}: the test needs both`);
  assert.equal(runs.inner.summary.objects, kept);
  assert.equal(runs.all.summary.objects, cut + kept);
});

// --invert shows the network the negative (1 - the normalised image). The negative of a picture,
// inverted, is the picture itself to the network (exactly with percentiles 0 and 100, which inverting
// the samples swaps): the same labels, and no note that the picture is of the other kind. Without
// --invert the negative is said to be a stained or brightfield picture.
test('--invert segments the negative of a picture as the picture itself, and the record says so', () => {
  const image = path.join(images, 'synth-11.png');
  const negative = path.join(tmp, 'negative.png');
  const py = spawnSync(PYTHON, ['-c', `
import sys, numpy as np
from PIL import Image
Image.fromarray(255 - np.array(Image.open(sys.argv[1]))).save(sys.argv[2])
`, image, negative], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const runs = {};
  for (const [name, file, extra] of [['picture', image, []], ['negative', negative, []], ['inverted', negative, ['--invert']]]) {
    const out = path.join(tmp, `invert-${name}`);
    const r = celldrop('segment', file, '--out', out, '--model', 'nuclei-star', '--percentiles', '0,100', '--export', 'record', ...extra);
    assert.equal(r.code, 0, r.stderr);
    const stem = path.basename(file, '.png');
    runs[name] = { summary: json(r.lines[0]), labels: fs.readFileSync(path.join(out, `${stem}.png`)),
      record: JSON.parse(fs.readFileSync(path.join(out, `${stem}.json`), 'utf8')) };
  }
  assert.ok(runs.picture.summary.objects > 10);
  assert.equal(runs.inverted.summary.objects, runs.picture.summary.objects);
  assert.ok(runs.inverted.labels.equals(runs.picture.labels), 'the inverted negative gives the picture\'s labels');
  assert.equal(runs.inverted.record.parameters.invert, true);
  assert.equal(runs.picture.record.parameters.invert, false);
  assert.match(runs.negative.summary.note, /looks like a stained or brightfield image/);
  assert.doesNotMatch(runs.inverted.summary.note ?? '', /looks like/);
  assert.notEqual(runs.negative.summary.objects, runs.picture.summary.objects, 'uninverted, the negative is another picture');
});

// --pixel-size calibrates images whose files carry none (or a wrong one): areas in um^2, the label
// TIFF's resolution as ImageJ reads it (tifffile here) and the record, which says the user gave it.
test('--pixel-size gives areas in um^2, a calibrated label TIFF and a record that says where it came from', () => {
  const image = path.join(images, 'synth-11.png');
  const out = path.join(tmp, 'calibrated');
  const r = celldrop('segment', image, '--out', out, '--model', 'nuclei-star', '--pixel-size', '0.5', '--export', 'csv,tiff,record');
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(fs.readFileSync(path.join(out, 'synth-11.json'), 'utf8'));
  assert.equal(rec.image.pixel_size_um, 0.5);
  assert.equal(rec.image.pixel_size_from, 'user');
  const [header, ...rows] = fs.readFileSync(path.join(out, 'synth-11.csv'), 'utf8').trim().split('\r\n').map((l) => l.split(','));
  const px = header.indexOf('area_px'), um2 = header.indexOf('area_um2');
  assert.ok(rows.length > 0);
  for (const row of rows) assert.equal(Number(row[um2]), Number(row[px]) * 0.25, row.join(','));
  const tiff = spawnSync(PYTHON, ['-c', `
import sys, tifffile
with tifffile.TiffFile(sys.argv[1]) as t:
    p = t.pages[0]
    x = p.tags['XResolution'].value
    print(x[0] / x[1], p.tags['ResolutionUnit'].value, t.imagej_metadata.get('unit'))
`, path.join(out, 'synth-11.tif')], { encoding: 'utf8' });
  assert.equal(tiff.status, 0, tiff.stderr);
  const [perUnit, , unit] = tiff.stdout.trim().split(' ');
  assert.equal(Number(perUnit), 2, tiff.stdout);  // 2 pixels per micrometre
  assert.equal(unit, 'micron');
  // Without it the file's own (none, for the synthetic PNG): no areas in um^2, none in the record.
  const plain = celldrop('segment', image, '--out', path.join(tmp, 'uncalibrated'), '--model', 'nuclei-star', '--export', 'record');
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'uncalibrated', 'synth-11.json'), 'utf8')).image.pixel_size_um, undefined);
});

// Segments `image` into `out` with `args` (a --positive run) and checks its outputs in numpy: the CSV's
// `positive` is its `column` at or above Otsu's threshold of that column (recomputed here), as the JSON
// line says, the GeoJSON's classes say the same, and each object is compared with the ground truth: the
// nucleus it mostly covers carries the marker when its id is odd. Returns the line and the fraction of
// objects classified as the truth says.
function segmentPositive(image, out, column, gtLabels, ...args) {
  const run = celldrop('segment', image, '--out', out, ...args, '--export', 'csv,geojson,record');
  assert.equal(run.code, 0, run.stderr);
  const line = json(run.lines[0]);
  assert.ok(line.objects > 10 && line.positive > 0 && line.positive < line.objects, run.stdout);
  const stem = path.basename(image).replace(/\.[^.]+$/, '');
  const r = spawnSync(PYTHON, ['-c', `
import sys, csv, json, numpy as np
from PIL import Image
out, stem, column, gt_path = sys.argv[1:5]
rows = list(csv.DictReader(open(f'{out}/{stem}.csv')))
means = np.array([float(r[column]) for r in rows])
positive = np.array([int(r['positive']) for r in rows])
v = np.sort(means)
best, threshold = -1, None
for k in range(1, len(v)):
    if v[k] == v[k - 1]: continue
    lo, hi = v[:k].mean(), v[k:].mean()
    between = k * (len(v) - k) * (hi - lo) ** 2
    if between > best: best, threshold = between, (v[k - 1] + v[k]) / 2
assert np.array_equal(positive, (means >= threshold).astype(int)), f'positive is {column} >= the threshold'
classes = {f['properties']['name']: f['properties']['classification']['name'] for f in json.load(open(f'{out}/{stem}.geojson'))['features']}
assert all(classes[r['label']] == ('Positive' if int(r['positive']) else 'Negative') for r in rows), 'GeoJSON classes'
labels = np.array(Image.open(f'{out}/{stem}.png')).astype(np.int64)
gt = np.array(Image.open(gt_path)).astype(np.int64)
agree = 0
for r in rows:
    ids = gt[labels == int(r['label'])]
    ids = ids[ids > 0]
    truth = len(ids) > 0 and np.bincount(ids).argmax() % 2 == 1
    agree += int(truth) == int(r['positive'])
print(threshold, int(positive.sum()), agree / len(rows))
`, out, stem, column, gtLabels], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [threshold, count, agreement] = r.stdout.trim().split(' ').map(Number);
  assert.ok(Math.abs(threshold - line.positive_threshold) <= 1e-9 * Math.abs(threshold), `${threshold} vs ${line.positive_threshold}`);
  assert.equal(count, line.positive);
  return { line, agreement };
}

// --positive counts the nuclei positive for a marker. A two-channel TIFF (written by tifffile): the
// synthetic nuclei, and a marker in the nuclei of odd ground-truth id, bright, the others dim. Otsu's
// split of the objects' mean marker levels (recomputed here in numpy) must find that difference, and
// the CSV, GeoJSON classes, record and the line must all tell the same count.
test('--positive classifies nuclei by a marker channel: Otsu finds the bright ones, every export agrees', () => {
  const s = synth(path.join(tmp, 'marker-src'), 21, ['192', '160']);
  const image = path.join(tmp, 'marker', 'nuclei-and-marker.tif');
  fs.mkdirSync(path.dirname(image), { recursive: true });
  const make = spawnSync(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
nuclei = np.array(Image.open(sys.argv[1])).astype(np.uint16)
gt = np.array(Image.open(sys.argv[2])).astype(np.int64)
marker = np.where(gt % 2 == 1, 900, 120).astype(np.uint16) * (gt > 0)
tifffile.imwrite(sys.argv[3], np.stack([nuclei, marker], axis=-1), photometric='minisblack', planarconfig='contig')
`, s.image, s.labels, image], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  const out = path.join(tmp, 'marker-out');
  const { line, agreement } = segmentPositive(image, out, 'mean_2', s.labels, '--model', 'nuclei-star', '--channel', '0',
    '--positive', '1');
  assert.ok(agreement >= 0.9, `objects classified as their nucleus's marker says: ${agreement}`);
  const record = JSON.parse(fs.readFileSync(path.join(out, 'nuclei-and-marker.json'), 'utf8'));
  assert.deepEqual(record.positive, { channel: 1, threshold: line.positive_threshold, threshold_from: 'otsu', objects: line.positive });
  // A threshold given: above every mean, none is positive; the record says the user chose it.
  const none = celldrop('segment', image, '--out', path.join(tmp, 'marker-none'), '--model', 'nuclei-star', '--channel', '0',
    '--positive', '1:100000', '--export', 'record');
  assert.equal(none.code, 0, none.stderr);
  assert.equal(json(none.lines[0]).positive, 0);
  assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'marker-none', 'nuclei-and-marker.json'), 'utf8')).positive.threshold_from, 'user');
  // A channel the image lacks fails that image with the reason.
  const lacking = celldrop('segment', image, '--out', path.join(tmp, 'marker-lacking'), '--model', 'nuclei-star', '--positive', '2');
  assert.equal(lacking.code, 1);
  assert.match(json(lacking.lines[0]).error, /2 channels, so there is no channel 2/);
});

// On an immunohistochemistry slide the marker is brown DAB, not a channel. The synthetic slide
// (scripts/ihc_slide.py) stains the nuclei of odd ground-truth id with DAB and lays DAB blobs
// between the nuclei; read through its hematoxylin, each nucleus's mean DAB density must tell the two
// kinds apart, and the CSV carries both stains' densities.
test('--positive dab on an IHC slide read with --stain hematoxylin counts the DAB-stained nuclei, and grades them 1+ to 3+', () => {
  const s = synth(path.join(tmp, 'ihc-src'), 21, ['256', '256']);
  const image = path.join(tmp, 'ihc', 'ihc-21.png');
  fs.mkdirSync(path.dirname(image), { recursive: true });
  const make = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), s.image, s.labels, image, '21'], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  const out = path.join(tmp, 'ihc-out');
  const { line, agreement } = segmentPositive(image, out, 'dab_od_mean', s.labels, '--model', 'nuclei-star',
    '--stain', 'hematoxylin', '--positive', 'dab');
  assert.ok(agreement >= 0.95, `objects classified as their nucleus's DAB says: ${agreement}`);
  const header = fs.readFileSync(path.join(out, 'ihc-21.csv'), 'utf8').split('\r\n')[0];
  assert.match(header, /,hematoxylin_od_mean,dab_od_mean,positive$/);
  const record = JSON.parse(fs.readFileSync(path.join(out, 'ihc-21.json'), 'utf8'));
  assert.deepEqual(record.positive, { stain: 'dab', threshold: line.positive_threshold, threshold_from: 'otsu', objects: line.positive });

  // Graded: 1+ from the same threshold, 2+ and 3+ from the positives' middle and upper quartile means,
  // so every grade has nuclei. The CSV's grade is what each nucleus's mean says; the line's counts,
  // the H-score, the GeoJSON's QuPath classes and the record agree with it.
  const means = fs.readFileSync(path.join(out, 'ihc-21.csv'), 'utf8').trim().split('\r\n').slice(1)
    .map((row) => Number(row.split(',').at(-2))).filter((m) => m >= line.positive_threshold).sort((a, b) => a - b);
  const cuts = [line.positive_threshold, means[Math.floor(means.length / 2)], means[Math.floor(means.length * 3 / 4)]];
  const gradedOut = path.join(tmp, 'ihc-graded');
  const run = celldrop('segment', image, '--out', gradedOut, '--model', 'nuclei-star', '--stain', 'hematoxylin',
    '--positive', `dab:${cuts.join(',')}`, '--export', 'csv,geojson,record');
  assert.equal(run.code, 0, run.stderr);
  const graded = json(run.lines[0]);
  assert.equal(graded.positive, line.positive);
  assert.equal(graded.grades.reduce((a, b) => a + b, 0), graded.objects);
  assert.equal(graded.grades[1] + graded.grades[2] + graded.grades[3], graded.positive);
  assert.ok(graded.grades.every((n) => n > 0), `every grade has nuclei: ${graded.grades}`);
  const check = spawnSync(PYTHON, ['-c', `
import sys, csv, json
out, cuts = sys.argv[1], [float(c) for c in sys.argv[2].split(',')]
rows = list(csv.DictReader(open(f'{out}/ihc-21.csv')))
grade = {r['label']: sum(float(r['dab_od_mean']) >= c for c in cuts) for r in rows}
assert all(int(r['grade']) == grade[r['label']] for r in rows), 'grade is the number of thresholds the mean reaches'
counts = [sum(g == k for g in grade.values()) for k in range(4)]
names = ['Negative', '1+', '2+', '3+']
classes = {f['properties']['name']: f['properties']['classification']['name'] for f in json.load(open(f'{out}/ihc-21.geojson'))['features']}
assert all(classes[label] == names[g] for label, g in grade.items()), 'GeoJSON classes are QuPath intensity classes'
print(json.dumps({'counts': counts, 'h_score': 100 * sum(grade.values()) / len(grade)}))
`, gradedOut, cuts.join(',')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const expected = JSON.parse(check.stdout);
  assert.deepEqual(graded.grades, expected.counts);
  assert.equal(graded.h_score, Number(expected.h_score.toFixed(1)));
  const gradedRecord = JSON.parse(fs.readFileSync(path.join(gradedOut, 'ihc-21.json'), 'utf8'));
  assert.deepEqual(gradedRecord.positive.grades.thresholds, cuts);
  assert.deepEqual(gradedRecord.positive.grades.objects, expected.counts);
  assert.ok(Math.abs(gradedRecord.positive.grades.h_score - expected.h_score) < 1e-9);

  // Read through its channels instead, the slide has no stain densities: no such columns.
  const plain = celldrop('segment', image, '--out', path.join(tmp, 'ihc-plain'), '--model', 'nuclei-star', '--invert', '--export', 'csv');
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(fs.readFileSync(path.join(tmp, 'ihc-plain', 'ihc-21.csv'), 'utf8').split('\r\n')[0], /_od_mean/);
});

// Another lab's stains: a purple hematoxylin and a dark, neutral DAB (scripts/ihc_slide.py given
// their colours). Unmixed with Ruifrok & Johnston's colours, part of each brown blob reads as
// hematoxylin and some blobs are taken for nuclei; --estimate-stains unmixes with the slide's own
// colours, found again within 2 degrees, and the blobs are gone.
test('--estimate-stains reads a slide of other stains with its own colours', () => {
  const colours = [[0.5626, 0.7201, 0.4062], [0.40, 0.60, 0.69]];
  const s = synth(path.join(tmp, 'lab-src'), 23, ['256', '256']);
  const image = path.join(tmp, 'lab', 'lab-23.png');
  const gt = path.join(tmp, 'lab-gt');
  fs.mkdirSync(path.dirname(image), { recursive: true });
  fs.mkdirSync(gt, { recursive: true });
  fs.copyFileSync(s.labels, path.join(gt, 'lab-23.png'));
  const make = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), s.image, s.labels, image, '23',
    colours.map((c) => c.join(',')).join('/')], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  const score = (...extra) => {
    const out = path.join(tmp, `lab-out${extra.length}`);
    const r = celldrop('segment', image, '--out', out, '--model', 'nuclei-star', '--stain', 'hematoxylin', '--export', 'record', ...extra);
    assert.equal(r.code, 0, r.stderr);
    const e = celldrop('eval', '--gt', gt, '--pred', out, '--json');
    assert.equal(e.code, 0, e.stderr);
    return { line: json(r.lines[0]), scores: json(e.lines[0]), record: JSON.parse(fs.readFileSync(path.join(out, 'lab-23.json'), 'utf8')) };
  };
  const standard = score();
  const own = score('--estimate-stains');
  assert.equal(standard.line.stain_vectors, undefined);
  assert.ok(standard.scores.fp50 >= 5, `Ruifrok's colours take brown blobs for nuclei: ${standard.scores.fp50} false`);
  assert.ok(own.scores.fp50 <= 2, `the slide's own colours: ${own.scores.fp50} false`);
  assert.ok(own.scores.ap50 >= 0.95, `AP@0.5 ${own.scores.ap50}`);
  const degrees = (a, b) => {
    const dot = a.reduce((t, x, k) => t + x * b[k], 0), len = (v) => Math.hypot(...v);
    return Math.acos(Math.min(1, dot / (len(a) * len(b)))) * 180 / Math.PI;
  };
  assert.ok(degrees(own.line.stain_vectors.hematoxylin, colours[0]) < 2, JSON.stringify(own.line.stain_vectors));
  assert.ok(degrees(own.line.stain_vectors.dab, colours[1]) < 2, JSON.stringify(own.line.stain_vectors));
  const p = own.record.parameters;
  assert.equal(p.estimate_stains, true);
  assert.equal(p.stain_vector_dab, own.line.stain_vectors.dab.map((x) => x.toFixed(3)).join(' '));
  assert.equal(standard.record.parameters.estimate_stains, false);
  assert.equal(standard.record.parameters.stain_vector_hematoxylin, '0.650 0.704 0.286');
  // A slide of one stain has no second colour to find: the run says so, and the file is skipped.
  const oneStain = path.join(tmp, 'lab', 'one-stain.png');
  const one = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), s.image, s.labels, oneStain, '23', '--hematoxylin-only'],
    { encoding: 'utf8' });
  assert.equal(one.status, 0, one.stderr);
  const refused = celldrop('segment', oneStain, '--out', path.join(tmp, 'lab-one'), '--stain', 'hematoxylin', '--estimate-stains');
  assert.equal(refused.code, 1);
  assert.match(json(refused.lines[0]).error, /all of one colour.*use the standard colours/);
});

test('segment usage errors', () => {
  const image = path.join(images, 'synth-11.png');
  const cases = [
    [['segment', image], /--out DIR is required/],
    [['segment', '--out', tmp], /at least one FILE or DIR/],
    [['segment', image, '--out', tmp, '--backend', 'gpu'], /--backend must be native or wasm/],
    [['segment', image, '--out', tmp, '--export', 'pdf'], /--export knows labels, tiff/],
    [['segment', image, '--out', tmp, '--diameter', '-3'], /--diameter must be "auto" or a diameter/],
    [['segment', image, '--out', tmp, '--exclude-border=yes'], /--exclude-border takes no value/],
    [['segment', image, '--out', tmp, '--invert=no'], /--invert takes no value/],
    [['segment', image, '--out', tmp, '--pixel-size', '0'], /--pixel-size must be a length in micrometres above 0/],
    [['segment', image, '--out', tmp, '--positive', '1:2:3'], /--positive takes N or N:THRESHOLD/],
    [['segment', image, '--out', tmp, '--positive', 'two'], /--positive takes a channel number or a stain \(hematoxylin, dab\), not "two"/],
    [['segment', image, '--out', tmp, '--positive', 'dab:0.2,0.4'], /--positive takes one threshold, or three for the grades 1\+, 2\+ and 3\+/],
    [['segment', image, '--out', tmp, '--positive', 'dab:0.4,0.2,0.6'], /--positive's thresholds for the grades 1\+, 2\+ and 3\+ must rise, not "0.4,0.2,0.6"/],
    [['segment', image, '--out', tmp, '--stain', 'eosin'], /--stain must be hematoxylin or dab, not "eosin"/],
    [['segment', image, '--out', tmp, '--stain', 'dab', '--channel', '0'], /give --channel or --stain, not both/],
    [['segment', image, '--out', tmp, '--estimate-stains'], /--estimate-stains estimates the colours of the stains --stain unmixes: add --stain hematoxylin/],
    // Stains are names in any case, as the page and share links take them.
    [['segment', image, '--out', tmp, '--positive', 'DAB:0.2'], /--positive dab reads each nucleus's stain density.*add --stain hematoxylin/],
    [['eval', '--gt', tmp], /--gt DIR and --pred DIR are required/],
    [['eval', '--gt', tmp, '--pred', tmp, '--json=yes'], /--json takes no value/],
  ];
  for (const [args, message] of cases) {
    const r = celldrop(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // Parameters the core refuses come back with the core's words.
  const r = celldrop('segment', image, '--out', path.join(tmp, 'refused'), '--model', cardPath, '--prob-thresh', '3');
  assert.equal(r.code, 1);
  assert.match(json(r.lines[0]).error, /prob_thresh must be a probability/);
  // A stain of a one-channel image: the core says what it needs.
  const grey = celldrop('segment', image, '--out', path.join(tmp, 'refused'), '--model', cardPath, '--stain', 'hematoxylin');
  assert.equal(grey.code, 1);
  assert.match(json(grey.lines[0]).error, /colour deconvolution \(hematoxylin\) needs an RGB picture of a stained slide; this image has 1 channel/);
});

test('eval: ground truth against itself scores 1, an empty prediction 0, unpaired files reported', () => {
  const gt = path.join(tmp, 'eval-gt'), empty = path.join(tmp, 'eval-empty');
  for (const seed of [21, 22]) {
    const s = synth(gt, seed);  // the size of the segmented image below
    fs.rmSync(s.image);
    fs.renameSync(s.labels, path.join(gt, `img-${seed}.png`));
  }
  // An empty prediction: the labels of an image segmented with a threshold nothing passes.
  const none = celldrop('segment', path.join(images, 'synth-11.png'), '--out', path.join(tmp, 'none'), '--model', cardPath,
    '--diameter', '14', '--prob-thresh', '1');
  assert.equal(none.code, 0, none.stderr);
  assert.equal(json(none.lines[0]).objects, 0);
  fs.mkdirSync(empty);
  for (const name of ['img-21.png', 'img-22.png']) fs.copyFileSync(path.join(tmp, 'none', 'synth-11.png'), path.join(empty, name));

  const self = celldrop('eval', '--gt', gt, '--pred', gt, '--json');
  assert.equal(self.code, 0, self.stderr);
  const s = json(self.lines[0]);
  assert.deepEqual([s.images, s.ap50, s.ap75, s.f1_50, s.dsb], [2, 1, 1, 1, 1]);
  assert.ok(s.tp50 > 10);

  const zero = celldrop('eval', '--gt', gt, '--pred', empty, '--json');
  assert.equal(zero.code, 0, zero.stderr);
  const z = json(zero.lines[0]);
  assert.deepEqual([z.ap50, z.ap75, z.f1_50, z.dsb, z.tp50, z.fp50, z.fn50], [0, 0, 0, 0, 0, 0, s.tp50]);

  // Text output, and a ground truth without a prediction.
  fs.rmSync(path.join(empty, 'img-22.png'));
  fs.copyFileSync(path.join(gt, 'img-21.png'), path.join(empty, 'extra.png'));
  const partial = celldrop('eval', '--gt', gt, '--pred', empty);
  assert.equal(partial.code, 0, partial.stderr);
  assert.match(partial.stdout, /images 1 {2}AP@0\.5 0\.0000 {2}AP@0\.75 0\.0000 {2}F1@0\.5 0\.0000 {2}DSB 0\.0000/);
  assert.match(partial.stderr, /no prediction for .*img-22\.png/);
  assert.match(partial.stderr, /no ground truth for .*extra\.png/);
  const nothing = celldrop('eval', '--gt', gt, '--pred', path.join(tmp, 'images'));
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /no pair of files/);
});

// An RGB picture and a one-channel model: the model reads the mean of the channels (no --channel
// needed), and a picture of the other kind than the model's training images (a stained slide, dark
// nuclei on a bright background, against this fluorescence model) is said to be one.
test('an RGB stained slide is read as the mean of its channels, and the run says the model was made for fluorescence', () => {
  const slide = path.join(tmp, 'slide.png');
  const r = spawnSync(PYTHON, ['-c', `
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.float64)
inv = 1.0 - a / max(1.0, a.max())
Image.fromarray(np.round(np.stack([230 * inv + 20, 190 * inv, 220 * inv + 30], axis=-1)).astype(np.uint8), 'RGB').save(sys.argv[2])
`, path.join(images, 'synth-11.png'), slide], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = celldrop('segment', slide, path.join(images, 'synth-11.png'), '--out', path.join(tmp, 'slide'), '--model', cardPath,
    ...LOW, '--export', 'record');
  assert.equal(out.code, 0, out.stderr);
  const [s, f] = out.lines.map(json);
  assert.equal(s.error, undefined);
  assert.match(s.note, /looks like a stained or brightfield image .* trained on fluorescence/);
  assert.doesNotMatch(f.note ?? '', /looks like/, 'the fluorescence image fits the model');
  const rec = JSON.parse(fs.readFileSync(path.join(tmp, 'slide', 'slide.json'), 'utf8'));
  assert.equal(rec.parameters.merge_channels, true);
  assert.match(out.stderr, /slide\.png: \d+ objects \(this looks like a stained/, 'the progress line says it too');
});

test('--page all segments every page of a multi-page TIFF, each under its own name, as --page N does', () => {
  const stack = path.join(tmp, 'frames.tif');
  const py = spawnSync(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
a = np.stack([np.array(Image.open(f)) for f in sys.argv[2:]]).astype(np.uint8)
tifffile.imwrite(sys.argv[1], a, imagej=True, metadata={'axes': 'TYX'})
`, stack, path.join(images, 'synth-11.png'), path.join(images, 'synth-12.png'), path.join(images, 'synth-11.png')],
  { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const out = path.join(tmp, 'pages');
  const single = path.join(images, 'synth-12.png');
  const r = celldrop('segment', stack, single, '--page', 'all', '--out', out, '--model', cardPath, '--diameter', '14', ...LOW,
    '--export', 'record');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.lines.map(json);
  assert.deepEqual(lines.map((l) => [path.basename(l.file), l.page]),
    [['frames.tif', 0], ['frames.tif', 1], ['frames.tif', 2], ['synth-12.png', 0]]);
  assert.deepEqual(lines[0].written.map((f) => path.basename(f)), ['frames_page0.png', 'frames_page0.json']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'frames_page2.json'), 'utf8')).image.page, 2);
  // Pages 0 and 2 are the same picture, page 1 the one-page image: the same labels.
  assert.equal(sha256(path.join(out, 'frames_page0.png')), sha256(path.join(out, 'frames_page2.png')));
  assert.equal(sha256(path.join(out, 'frames_page1.png')), sha256(path.join(out, 'synth-12.png')));
  // --page N gives the same page's labels.
  const one = celldrop('segment', stack, '--page', '1', '--out', path.join(tmp, 'page1'), '--model', cardPath, '--diameter', '14', ...LOW);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(sha256(path.join(tmp, 'page1', 'frames.png')), sha256(path.join(out, 'frames_page1.png')));
  const bad = celldrop('segment', stack, '--page', 'some', '--out', out, '--model', cardPath);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--page must be a whole number >= 0 or all/);
});
