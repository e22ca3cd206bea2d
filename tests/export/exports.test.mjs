// Issue 3 acceptance, exports checked by their real readers: tifffile reads the label TIFFs (16- and
// 32-bit) as the same labels, shapely accepts every GeoJSON polygon, Python's csv module loads one
// row per object, and ImageJ 1.53t (headless macro) opens the ROI zip with the right count and
// areas, and the label TIFFs. tests/tools/export_fixture (built natively into
// $CELLDROP_BUILD/native/tools) writes the files; read_exports.py runs the Python readers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = process.env.CELLDROP_BUILD || join(root, 'build');
const fixtureTool = join(build, 'native', 'tools', 'export_fixture');
const python = '/usr/bin/python3';  // Debian's, with numpy, tifffile and shapely (see the toolchain notes)

let dir;
let fx;
let seen;

before(() => {
  assert.ok(existsSync(fixtureTool), `${fixtureTool} is missing: run 'bash scripts/build.sh native' first`);
  dir = mkdtempSync(join(tmpdir(), 'celldrop-export-'));
  execFileSync(fixtureTool, [dir], { stdio: 'inherit' });
  fx = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8'));
  const run = spawnSync(python, [join(root, 'tests', 'export', 'read_exports.py'), dir],
    { encoding: 'utf8', timeout: 60000 });
  assert.equal(run.status, 0, `read_exports.py failed: ${run.stderr}`);
  seen = JSON.parse(run.stdout);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('tifffile reads the label TIFFs as the same labels, Deflate-compressed', () => {
  assert.deepEqual(seen['labels.tif'], { dtype: 'uint16', shape: [fx.height, fx.width], compression: 8, equal: true });
  assert.deepEqual(seen['labels32.tif'], { dtype: 'uint32', shape: [fx.height, fx.width], compression: 8, equal: true });
});

test('shapely accepts every GeoJSON polygon, one QuPath detection per object', () => {
  const { type, features } = seen.geojson;
  assert.equal(type, 'FeatureCollection');
  assert.equal(features.length, fx.objects);
  const csvPolygonArea = new Map(seen.csv.labels.map((l, i) => [l, seen.csv.polygon_areas[i]]));
  for (const f of features) {
    assert.ok(f.valid, `polygon of object ${f.label} is not valid for shapely`);
    assert.equal(f.type, 'Polygon');
    assert.ok(f.ccw, `object ${f.label}: exterior ring is not counter-clockwise (RFC 7946)`);
    assert.equal(f.objectType, 'detection');
    assert.equal(f.classification, 'Nucleus');
    assert.equal(f.area, csvPolygonArea.get(f.label), `object ${f.label}: polygon area`);
    assert.equal(f.measured_area, seen.truth_areas[f.label - 1], `object ${f.label}: measurement`);
  }
  // The ring's polygon covers its hole; the two-piece object keeps its larger piece.
  const ring = features.find((f) => f.label === fx.ring_label);
  assert.equal(ring.area, 16 * 16);
  const pieces = features.find((f) => f.label === fx.multi_piece_label);
  assert.equal(pieces.area, 36);
});

test('outlines of random pixel noise are valid polygons too', () => {
  assert.equal(seen.noise.length, 4);
  for (const f of seen.noise) {
    assert.ok(f.valid, 'a polygon traced from noise is not valid for shapely');
    assert.ok(f.area >= 1);
  }
});

test('the CSV loads with one row per object and the right areas', () => {
  assert.deepEqual(seen.csv.columns, ['label', 'area_px', 'polygon_area_px', 'pieces']);
  assert.equal(seen.csv.rows, fx.objects);
  assert.deepEqual(seen.csv.labels, Array.from({ length: fx.objects }, (_, i) => i + 1));
  assert.deepEqual(seen.csv.areas, seen.truth_areas);
});

test('the run record is JSON with the image fingerprint and the parameters', () => {
  const r = JSON.parse(readFileSync(join(dir, 'record.json'), 'utf8'));
  assert.equal(r.app, 'CellDrop');
  assert.match(r.app_version, /^\d+\.\d+\.\d+/);
  assert.match(r.image.sha256, /^[0-9a-f]{64}$/);
  assert.equal(r.model.sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(r.parameters.note, 'exports of "ground truth"\n');
  assert.equal(r.objects, fx.objects);
});

test('ImageJ 1.53t opens the ROI zip with one ROI per object, and the label TIFFs', () => {
  const macro = join(dir, 'check.ijm');
  writeFileSync(macro, `
roiManager("reset");
roiManager("Open", "${join(dir, 'rois.zip')}");
n = roiManager("count");
print("ROICOUNT " + n);
open("${join(dir, 'labels.tif')}");
s = "";
for (i = 0; i < n; i++) { roiManager("select", i); getStatistics(area); s = s + area + " "; }
print("AREAS " + s);
getStatistics(area, mean, min, max);
print("TIFF " + getWidth() + " " + getHeight() + " " + bitDepth() + " " + max);
open("${join(dir, 'labels32.tif')}");
getStatistics(area, mean, min, max);
print("TIFF32 " + getWidth() + " " + getHeight() + " " + bitDepth() + " " + max);
`);
  // ImageJ wants a display even in batch mode: xvfb-run gives it a virtual one.
  const run = spawnSync('xvfb-run', ['-a', 'imagej', '-b', macro], { encoding: 'utf8', timeout: 60000 });
  const text = `${run.stdout}\n${run.stderr}`;
  const line = (key) => {
    const m = text.match(new RegExp(`^${key} (.*)$`, 'm'));
    assert.ok(m, `ImageJ printed no ${key} line; its output was:\n${text}`);
    return m[1].trim();
  };
  assert.equal(Number(line('ROICOUNT')), fx.objects);
  // ImageJ measures each polygon ROI by the pixels it encloses: the traced piece with its holes.
  assert.deepEqual(line('AREAS').split(/\s+/).map(Number), seen.csv.polygon_areas);
  assert.equal(line('TIFF'), `${fx.width} ${fx.height} 16 ${fx.objects}`);
  assert.equal(line('TIFF32'), `${fx.width} ${fx.height} 32 ${100000 + fx.objects}`);
});
