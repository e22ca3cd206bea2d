// Issue 2 acceptance: TIFFs written at test time by two independent writers (tifffile, libtiff's tiffcp)
// decode to exactly the samples tifffile reads, and `celldrop info` reports their geometry.
// make_interop_tiffs.py writes the files and tifffile's reference samples; decode_dump (tests/tools,
// built natively into $CELLDROP_BUILD/native/tools) decodes them with CellDrop's core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = process.env.CELLDROP_BUILD || join(root, 'build');
const decodeDump = join(build, 'native', 'tools', 'decode_dump');
const cli = join(root, 'cli', 'celldrop.mjs');
const python = '/usr/bin/python3';  // Debian's, with numpy and tifffile (see the toolchain notes)

let dir;
let cases = [];

before(() => {
  assert.ok(existsSync(decodeDump), `${decodeDump} is missing: run 'bash scripts/build.sh native' first`);
  dir = mkdtempSync(join(tmpdir(), 'celldrop-tiff-'));
  execFileSync(python, [join(root, 'tests', 'tiff', 'make_interop_tiffs.py'), dir], { stdio: 'inherit' });
  cases = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every writer and layout the issue names is covered', () => {
  const names = cases.map((c) => c.name);
  for (const want of ['tifffile_u16', 'tifffile_float32', 'tifffile_bigtiff', 'tifffile_big_endian',
    'tifffile_multipage_p2', 'tifffile_ome', 'tifffile_imagej', 'tifffile_deflate_predictor',
    'tifffile_planar_rgb', 'tifffile_tiled', 'tifffile_imagej_hyperstack_z1', 'tifffile_ome_channels', 'tiffcp_lzw', 'tiffcp_zip', 'tiffcp_packbits', 'tiffcp_tiled',
    'tiffcp_planar', 'tiffcp_lzw_predictor']) {
    assert.ok(names.includes(want), `fixture ${want} was not written`);
  }
});

test('decoded samples equal tifffile\'s, byte for byte', () => {
  assert.ok(cases.length > 0);
  for (const c of cases) {
    const rawPath = join(dir, `${c.name}.ours.raw`);
    const run = spawnSync(decodeDump, [join(dir, c.file), String(c.page), rawPath], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${c.name}: decode_dump failed: ${run.stdout}${run.stderr}`);
    const header = JSON.parse(run.stdout);
    assert.deepEqual(
      [header.format, header.width, header.height, header.channels, header.type, header.pages],
      ['tiff', c.width, c.height, c.channels, c.type, c.pages], `${c.name}: geometry`);
    if (c.pixel_size_um === null) {
      assert.equal(header.pixel_size_um, null, `${c.name}: no pixel size expected`);
    } else {
      assert.ok(header.pixel_size_um, `${c.name}: pixel size missing`);
      for (let i = 0; i < 2; i++) {
        assert.ok(Math.abs(header.pixel_size_um[i] - c.pixel_size_um[i]) < 1e-6 * c.pixel_size_um[i],
          `${c.name}: pixel size ${header.pixel_size_um} != ${c.pixel_size_um}`);
      }
    }
    const ours = readFileSync(rawPath);
    const reference = readFileSync(join(dir, c.reference));
    assert.equal(ours.length, reference.length, `${c.name}: sample bytes`);
    assert.ok(ours.equals(reference), `${c.name}: samples differ from tifffile's`);
  }
});

test('celldrop info reports the geometry of every file', () => {
  assert.ok(existsSync(cli), `${cli} is missing`);
  const seen = new Set();
  const files = [];
  for (const c of cases) {
    if (!seen.has(c.file)) { seen.add(c.file); files.push(c); }
  }
  const run = spawnSync(process.execPath, ['--no-experimental-fetch', cli, 'info',
    ...files.map((c) => join(dir, c.file))], { encoding: 'utf8' });
  assert.equal(run.status, 0, `celldrop info failed: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, files.length, 'one JSON line per file');
  files.forEach((c, i) => {
    const line = lines[i];
    assert.equal(line.error, undefined, `${c.file}: ${line.error}`);
    assert.equal(line.file, join(dir, c.file));
    assert.deepEqual(
      [line.format, line.width, line.height, line.channels, line.type, line.pages],
      ['tiff', c.width, c.height, c.channels, c.type, c.pages], `${c.file}: geometry`);
    if (c.pixel_size_um === null) {
      assert.equal(line.pixel_size_um, null, `${c.file}: no pixel size expected`);
    } else {
      assert.ok(Math.abs(line.pixel_size_um[0] - c.pixel_size_um[0]) < 1e-6, `${c.file}: pixel size x`);
      assert.ok(Math.abs(line.pixel_size_um[1] - c.pixel_size_um[1]) < 1e-6, `${c.file}: pixel size y`);
    }
  });
  // A damaged file is reported in its own line, not as a crash of the whole command.
  const broken = join(dir, 'truncated.tif');
  writeFileSync(broken, readFileSync(join(dir, 'u16.tif')).subarray(0, 6));
  const bad = spawnSync(process.execPath, ['--no-experimental-fetch', cli, 'info', broken], { encoding: 'utf8' });
  const badLine = JSON.parse(bad.stdout.trim().split('\n')[0]);
  assert.equal(badLine.file, broken);
  assert.equal(typeof badLine.error, 'string');
  assert.ok(badLine.error.length > 0);
});
