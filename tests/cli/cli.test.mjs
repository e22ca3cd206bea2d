// The CLI end to end: `celldrop` run as a user runs it, over the WebAssembly build of the core, with
// files from independent writers (Python's tifffile and PIL, libtiff's tiffcp).
// Run: node --test tests/cli/   (after scripts/build.sh wasm; plain Node works: the CLI loads the .wasm itself)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'celldrop.mjs');
const BUILD = process.env.CELLDROP_BUILD ? path.resolve(process.env.CELLDROP_BUILD) : path.join(ROOT, 'build');
const PYTHON = '/usr/bin/python3';  // Debian's, with numpy, tifffile and PIL (scripts/setup.sh)

let tmp;
before(() => {
  assert.ok(
    fs.existsSync(path.join(BUILD, 'wasm', 'celldrop-node.wasm')),
    `the WebAssembly module is not built in ${BUILD}/wasm: run "bash scripts/build.sh wasm" first`,
  );
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-cli-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function celldrop(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

function python(script, ...args) {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  return r.stdout.trim();
}

test('--help and --version', () => {
  const help = celldrop('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /celldrop info/);
  assert.match(help.stdout, /celldrop synth --seed N --out DIR/);
  assert.equal(celldrop('synth', '--help').code, 0);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const bare = celldrop();
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /Usage:/);
  const version = celldrop('--version');
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), `celldrop ${pkg.version} (core ${pkg.version})`);
});

test('the CLI runs as an executable with its shebang', () => {
  fs.accessSync(CLI, fs.constants.X_OK);
  const r = spawnSync(CLI, ['--version'], { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^celldrop \d+\.\d+\.\d+ \(core \d+\.\d+\.\d+\)/);
});

test('usage errors are reported with exit code 2', () => {
  const cases = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['synth', '--seed', '1', '--out', tmp, '--sharpness', '3'], /unknown option --sharpness/],
    [['synth', '--seed'], /--seed needs a value/],
    [['synth', '--seed', 'seven', '--out', tmp], /--seed must be a number, not "seven"/],
    [['synth', '--seed', '1.5', '--out', tmp], /--seed must be a whole number/],
    [['synth', '--out', tmp], /--seed N is required/],
    [['synth', '--seed', '1'], /--out DIR is required/],
    [['synth', '--seed', '1', '--out', tmp, '--bits', '12'], /--bits must be 8 or 16/],
    [['synth', '--seed', '1', '--out', tmp, '--count', '5', '--density', '0.2'], /--count or --density/],
    [['info'], /at least one FILE/],
    [['info', '--max-megapixels', 'lots', 'x.png'], /--max-megapixels must be a number/],
  ];
  for (const [args, message] of cases) {
    const r = celldrop(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  // Values the core rejects come back as errors too (exit 1: the command was well-formed).
  const r = celldrop('synth', '--seed', '1', '--out', tmp, '--width', '100000');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /size 100000x512 is outside/);
});

test('synth writes an image and its labels, byte-identical for the same seed', () => {
  const a = path.join(tmp, 'a'), b = path.join(tmp, 'b');
  const first = celldrop('synth', '--seed', '7', '--out', a, '--width', '256', '--height', '192');
  assert.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.lines[0]);
  assert.equal(first.lines.length, 1);
  assert.deepEqual(
    { seed: summary.seed, width: summary.width, height: summary.height, bits: summary.bits },
    { seed: 7, width: 256, height: 192, bits: 16 },
  );
  assert.ok(summary.count > 10, `count ${summary.count}`);
  assert.equal(summary.image, path.join(a, 'synth-7.png'));
  assert.equal(summary.labels, path.join(a, 'synth-7-labels.png'));

  assert.equal(celldrop('synth', '--seed', '7', '--out', b, '--width', '256', '--height', '192').code, 0);
  for (const name of ['synth-7.png', 'synth-7-labels.png']) {
    assert.ok(fs.readFileSync(path.join(a, name)).equals(fs.readFileSync(path.join(b, name))), `${name} differs`);
  }
  assert.equal(celldrop('synth', '--seed', '8', '--out', b, '--width', '256', '--height', '192').code, 0);
  assert.ok(!fs.readFileSync(path.join(a, 'synth-7.png')).equals(fs.readFileSync(path.join(b, 'synth-8.png'))));

  // PIL, an independent reader: 16-bit gray image; labels 1..count, each present.
  const read = python(
    `import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1]); lab = Image.open(sys.argv[2])
a = np.array(im); l = np.array(lab)
ids = np.unique(l)
print(im.size[0], im.size[1], a.dtype, lab.mode, int(l.max()), len(ids) - 1, int(a[l > 0].mean() > 2 * a[l == 0].mean()))`,
    summary.image,
    summary.labels,
  );
  const [w, h, dtype, labelMode, maxId, ids, brighter] = read.split(' ');
  assert.deepEqual([w, h], ['256', '192']);
  assert.match(dtype, /uint16|int32/);
  assert.match(labelMode, /^I;16|^I$/);
  assert.equal(Number(maxId), summary.count);
  assert.equal(Number(ids), summary.count);
  assert.equal(brighter, '1');
});

test('info reports PNGs written by synth, 8 and 16-bit', () => {
  const dir = path.join(tmp, 'info-png');
  assert.equal(celldrop('synth', '--seed', '3', '--out', dir, '--width', '120', '--height', '80', '--bits', '8').code, 0);
  const r = celldrop('info', path.join(dir, 'synth-3.png'), path.join(dir, 'synth-3-labels.png'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.lines[0]), {
    file: path.join(dir, 'synth-3.png'), format: 'png', width: 120, height: 80, channels: 1, type: 'uint8',
    pages: 1, pixel_size_um: null,
  });
  const labels = JSON.parse(r.lines[1]);
  assert.equal(labels.type, 'uint16');
  assert.equal(labels.width, 120);
});

test('info reports TIFFs from tifffile and tiffcp, pixel size included', () => {
  const tif = path.join(tmp, 'stack.tif');
  python(
    `import sys, numpy as np, tifffile
data = (np.arange(3 * 40 * 56, dtype=np.uint16) * 7).reshape(3, 40, 56)
tifffile.imwrite(sys.argv[1], data, imagej=True, resolution=(1 / 0.65, 1 / 0.65), metadata={'unit': 'um', 'axes': 'ZYX'})`,
    tif,
  );
  const lzw = path.join(tmp, 'stack-lzw.tif');
  const cp = spawnSync('tiffcp', ['-c', 'lzw', tif, lzw], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  const float = path.join(tmp, 'float.tif');
  python(
    `import sys, numpy as np, tifffile
tifffile.imwrite(sys.argv[1], np.ones((30, 20, 3), dtype=np.float32), photometric='rgb')`,
    float,
  );

  const r = celldrop('info', tif, lzw, float);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const [fromTifffile, fromTiffcp, rgb] = r.lines.map((l) => JSON.parse(l));
  for (const [line, file] of [[fromTifffile, tif], [fromTiffcp, lzw]]) {
    assert.equal(line.file, file);
    assert.equal(line.format, 'tiff');
    assert.deepEqual([line.width, line.height, line.channels, line.type, line.pages], [56, 40, 1, 'uint16', 3]);
  }
  assert.ok(Array.isArray(fromTifffile.pixel_size_um), JSON.stringify(fromTifffile));
  for (const v of fromTifffile.pixel_size_um) assert.ok(Math.abs(v - 0.65) < 1e-4, JSON.stringify(fromTifffile));
  assert.deepEqual([rgb.width, rgb.height, rgb.channels, rgb.type, rgb.pages], [20, 30, 3, 'float32', 1]);
});

test('bad and missing files give an error line, the others are still reported, exit 1', () => {
  const dir = path.join(tmp, 'bad');
  assert.equal(celldrop('synth', '--seed', '4', '--out', dir, '--width', '200', '--height', '200').code, 0);
  const good = path.join(dir, 'synth-4.png');
  const truncated = path.join(dir, 'truncated.png');
  const bytes = fs.readFileSync(good);
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const notImage = path.join(dir, 'notes.txt');
  fs.writeFileSync(notImage, 'hello');
  const missing = path.join(dir, 'nope.tif');

  const r = celldrop('info', truncated, missing, good, notImage);
  assert.equal(r.code, 1);
  const lines = r.lines.map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.deepEqual(Object.keys(lines[0]), ['file', 'error']);
  assert.equal(lines[0].file, truncated);
  assert.match(lines[0].error, /truncated|damaged|corrupt/i);
  assert.deepEqual(lines[1], { file: missing, error: 'no such file' });
  assert.equal(lines[2].file, good);
  assert.equal(lines[2].width, 200);
  assert.equal(lines[2].error, undefined);
  assert.equal(lines[3].file, notImage);
  assert.match(lines[3].error, /not a supported image/);

  const budget = celldrop('info', '--max-megapixels', '0.01', good);
  assert.equal(budget.code, 1);
  assert.match(JSON.parse(budget.lines[0]).error, /megapixels/);
  assert.equal(celldrop('info', '--max-megapixels=1', good).code, 0);
});

test('a missing module is explained, with the build command', () => {
  const r = spawnSync(process.execPath, [CLI, 'info', CLI], {
    encoding: 'utf8',
    env: { ...process.env, CELLDROP_BUILD: path.join(tmp, 'no-build-here') },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /WebAssembly module is missing/);
  assert.match(r.stderr, /scripts\/build\.sh wasm/);
});
