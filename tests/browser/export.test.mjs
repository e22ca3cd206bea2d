// Results out of the page, in headless Chromium: each export button of the Results panel is clicked
// as a person would, the download is caught with its file name, and the file is read back by a reader
// that is not the page's: PIL/numpy and tifffile for the label images, Python's csv, json, shapely
// and zipfile for the table, outlines and ROIs, this folder's PNG reader for the overlay.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodePng } from './png.mjs';
import {
  PYTHON, openApp, assertClean, waitForResult, waitForShell, clickControl, dropFile, synthImage, run, labelsChecksum,
  sha256File as sha256OfFile, SHOTS, canvasTop, shell, testBed,
} from './harness.mjs';

let image;
const bed = testBed({
  tmp: 'export',
  prepare: ({ tmp }) => { image = synthImage(tmp, 5, ['--width', '400', '--height', '300']); },
});

// Reads every file back and prints what it found, as one JSON object.
const READ_BACK = `
import csv, io, json, sys, zipfile
import numpy as np, tifffile
from PIL import Image
d = sys.argv[1]
names = json.loads(sys.argv[2])
out = {}
png = np.array(Image.open(f"{d}/{names['labels_png']}"))
header = open(f"{d}/{names['labels_png']}", 'rb').read(26)
out['png'] = {'depth': header[24], 'colour_type': header[25], 'shape': list(png.shape), 'ids': len(np.unique(png)) - 1, 'max': int(png.max())}
tif = tifffile.imread(f"{d}/{names['labels_tiff']}")
out['tiff_equals_png'] = bool(tif.shape == png.shape and (tif.astype(np.int64) == png.astype(np.int64)).all())
w = (np.arange(png.size, dtype=np.uint64) * 2654435761 + 1) % 2**32
out['checksum'] = int((png.astype(np.uint64).ravel() * w % 2**32).sum() % 2**32)
areas = np.bincount(png.ravel())
with open(f"{d}/{names['csv']}", newline='') as f:
    rows = list(csv.DictReader(f))
out['csv_rows'] = len(rows)
out['csv_areas_match'] = all(int(float(r['area_px'])) == int(areas[int(float(r['label']))]) for r in rows)
with open(f"{d}/{names['geojson']}") as f:
    gj = json.load(f)
out['geojson_features'] = len(gj['features'])
from shapely.geometry import shape
out['geojson_valid'] = all(shape(f['geometry']).is_valid for f in gj['features'])
z = zipfile.ZipFile(f"{d}/{names['roi']}")
entries = z.namelist()
out['rois'] = len(entries)
out['rois_named'] = all(n.endswith('.roi') for n in entries)
out['rois_magic'] = all(z.read(n)[:4] == b'Iout' for n in entries)
with open(f"{d}/{names['record']}") as f:
    out['record'] = json.load(f)
print(json.dumps(out))
`;

test('each export downloads with a sensible name and reads back as what it claims to be', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await dropFile(page, image, 'plate A1.png');
  const s = await waitForResult(page, null, 2);
  assert.equal(s.page.image.name, 'plate A1.png');
  const model = s.segmentation.model;
  const objects = s.segmentation.count;
  assert.ok(objects > 10, `objects: ${objects}`);

  const expectedNames = {
    labels_png: `plate A1_${model}_labels.png`,
    labels_tiff: `plate A1_${model}_labels.tiff`,
    csv: `plate A1_${model}_objects.csv`,
    geojson: `plate A1_${model}_objects.geojson`,
    roi: `plate A1_${model}_rois.zip`,
    record: `plate A1_${model}_run.json`,
    overlay_png: `plate A1_${model}_overlay.png`,
  };
  const dir = path.join(bed.tmp, 'downloads');
  fs.mkdirSync(dir);
  for (const [key, name] of Object.entries(expectedNames)) {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), clickControl(page, `export.${key}`)]);
    assert.equal(download.suggestedFilename(), name, `the ${key} export's file name`);
    await download.saveAs(path.join(dir, name));
    assert.ok(fs.statSync(path.join(dir, name)).size > 0, `${name} is empty`);
  }

  const back = JSON.parse(run(PYTHON, ['-c', READ_BACK, dir, JSON.stringify(expectedNames)]));
  assert.deepEqual(back.png.shape, [300, 400]);
  assert.deepEqual([back.png.depth, back.png.colour_type], [16, 0], 'a 16-bit grey PNG');
  assert.equal(back.png.ids, objects);
  assert.equal(back.png.max, objects, 'ids run 1..N');
  assert.equal(back.checksum, s.segmentation.labelsChecksum, 'the label PNG holds the labels the page shows');
  assert.equal(back.tiff_equals_png, true);
  assert.equal(back.csv_rows, objects, 'one CSV row per object');
  assert.equal(back.csv_areas_match, true, 'CSV areas are the label image areas');
  assert.equal(back.geojson_features, objects);
  assert.equal(back.geojson_valid, true, 'every GeoJSON polygon is valid (shapely)');
  assert.equal(back.rois, objects, 'one .roi per object');
  assert.equal(back.rois_named, true);
  assert.equal(back.rois_magic, true);
  const rec = back.record;
  assert.equal(rec.image.name, 'plate A1.png');
  assert.equal(rec.image.sha256, s.page.image.sha256);
  assert.deepEqual([rec.image.width, rec.image.height, rec.image.channels], [400, 300, 1]);
  assert.equal(rec.model.name, model);
  assert.match(rec.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(rec.objects, objects);
  assert.equal(rec.parameters.backend, s.segmentation.backend);
  assert.ok(rec.timings_s.total > 0);

  // The overlay: the image's size, grey where there is no outline, the outline colour on outlines.
  const overlay = decodePng(fs.readFileSync(path.join(dir, expectedNames.overlay_png)));
  assert.deepEqual([overlay.width, overlay.height, overlay.channels], [400, 300, 3]);
  let grey = 0, yellowish = 0;
  for (let i = 0; i < overlay.width * overlay.height; i++) {
    const [r, g, b] = overlay.data.subarray(i * 3, i * 3 + 3);
    if (r === g && g === b) grey++;
    else if (r > b + 60 && g > b + 40) yellowish++;
  }
  assert.ok(yellowish > objects * 10, `outline pixels in the overlay: ${yellowish}`);
  assert.equal(grey + yellowish, overlay.width * overlay.height, 'every pixel is image grey or outline');

  // The page API gives the same bytes, and result() the same labels.
  const api = await page.evaluate(() => {
    const r = window.celldrop.result();
    return { labels: Array.from(r.labels.data), objects: r.objects.length, width: r.labels.width };
  });
  assert.equal(labelsChecksum(api.labels), s.segmentation.labelsChecksum);
  assert.equal(api.objects, objects);
  assertClean(problems);
  await context.close();
});

test('with no result yet there is nothing to export, and the API says so', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  // A new image drops the old result until its own is ready.
  const message = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    await window.celldrop.open(new Blob([bytes], { type: 'image/png' }));
    try {
      window.celldrop.export('csv');
      return null;
    } catch (e) {
      return e.message;
    }
  }, fs.readFileSync(image).toString('base64'));
  assert.match(message, /no result to save yet/);
  await waitForResult(page, null, 1);
  assertClean(problems);
  await context.close();
});

// The calibration typed into the panel (the sample's file has none): the table's areas in um^2, the
// label TIFF's resolution as tifffile reads it and the record follow at once, without a run; the next
// image keeps it, a share link carries it, and "Use the file's" goes back.
test('a pixel size typed in the panel calibrates areas, label files and the record, stays for the next image, and links carry it', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  const runs0 = s.segmentation.runs;
  assert.equal(s.page.image.pixelSizeFrom, null, 'the sample carries no calibration');
  let r = await page.evaluate(() => window.celldrop.result());
  assert.ok(r.objects.every((o) => o.area_um2 === null));
  assert.equal(r.record.image.pixel_size_um, undefined);

  await clickControl(page, 'pixel_size');
  await waitForShell(page, () => true, 'a frame');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0,5', { delay: 40 });  // a decimal comma, as much of Europe writes it
  await page.keyboard.press('Enter');
  s = await waitForShell(page, (st) => st.page.image.pixelSizeFrom === 'user', 'the typed pixel size in use');
  assert.equal(s.page.image.pixelSizeUm, 0.5);
  assert.equal(s.segmentation.runs, runs0, 'a calibration changes no labels: nothing runs');
  r = await page.evaluate(() => window.celldrop.result());
  assert.ok(r.objects.length > 0);
  for (const o of r.objects) assert.equal(o.area_um2, o.area_px * 0.25, JSON.stringify(o));
  assert.equal(r.record.image.pixel_size_um, 0.5);
  assert.equal(r.record.image.pixel_size_from, 'user');
  const tiff = await page.evaluate(() => Array.from(window.celldrop.export('labels_tiff').bytes));
  const tiffFile = path.join(bed.tmp, 'calibrated.tiff');
  fs.writeFileSync(tiffFile, Buffer.from(tiff));
  const read = run(PYTHON, ['-c', `
import sys, tifffile
with tifffile.TiffFile(sys.argv[1]) as t:
    x = t.pages[0].tags['XResolution'].value
    print(x[0] / x[1], t.imagej_metadata.get('unit'))
`, tiffFile]);
  assert.equal(read.trim(), '2.0 micron', 'ImageJ reads 2 pixels per micrometre');
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.match(link, /[#&]pixel_size_um=0\.5(&|$)/);

  // The next image (a PNG without calibration too) keeps the typed size.
  await dropFile(page, image);
  s = await waitForResult(page, sha256OfFile(image));
  assert.equal(s.page.image.pixelSizeUm, 0.5);
  r = await page.evaluate(() => window.celldrop.result());
  assert.equal(r.record.image.pixel_size_from, 'user');

  // "Use the file's": no calibration again.
  await clickControl(page, 'pixel_size.file');
  s = await waitForShell(page, (st) => st.page.image.pixelSizeFrom === null, 'the file\'s calibration (none)');
  r = await page.evaluate(() => window.celldrop.result());
  assert.ok(r.objects.every((o) => o.area_um2 === null));

  // The link restores it in a new tab.
  const other = await openApp(context, bed.origin, link.slice(link.indexOf('#')));
  s = await waitForShell(other.page, (st) => st.page?.image.pixelSizeFrom === 'user', 'the link\'s pixel size');
  assert.equal(s.page.image.pixelSizeUm, 0.5);
  await page.screenshot({ path: path.join(SHOTS, 'pixel-size.png') });
  assertClean(problems);
  assertClean(other.problems);
  await context.close();
});

// A finger gets no on-screen keyboard for a field drawn on the canvas, so tapping the pixel size asks
// in the page's own field (a decimal keypad). Keys typed there are the field's, never the app's
// shortcuts (R would run the segmentation).
test('on a touch screen the pixel size is asked in a field of the page, whose keys are no shortcuts', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 }, hasTouch: true });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  const runs = s.page.runsStarted;
  s = await waitForShell(page, (st) => st.page?.ui?.pixel_size, 'the pixel size field');
  const r = s.page.ui.pixel_size, top = await canvasTop(page);
  await page.touchscreen.tap(Math.round((r.x0 + r.x1) / 2), Math.round((r.y0 + r.y1) / 2 + top));
  await page.waitForFunction(() => document.getElementById('pixel-size-dialog')?.open && document.activeElement?.id === 'pixel-size-input');
  await page.keyboard.type('r', { delay: 40 });
  await page.keyboard.press('Backspace');
  await page.keyboard.type('x', { delay: 40 });
  await page.keyboard.press('Enter');
  assert.match(await page.textContent('#pixel-size-dialog .problem'), /Type a number/);
  await page.fill('#pixel-size-input', '0,25');
  await page.keyboard.press('Enter');
  s = await waitForShell(page, (st) => st.page.image.pixelSizeUm === 0.25, 'the pixel size from the page\'s field');
  assert.equal(s.page.image.pixelSizeFrom, 'user');
  await page.waitForFunction(() => !document.getElementById('pixel-size-dialog').open);
  // A size the page refuses opens the field again with the reason.
  await page.evaluate(() => window.dispatchEvent(new CustomEvent('celldrop-ask-pixel-size', { detail: { current: 0.25 } })));
  await page.fill('#pixel-size-input', '2000000');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('pixel-size-dialog').open &&
    /micrometres/.test(document.querySelector('#pixel-size-dialog .problem').textContent));
  await page.click('#pixel-size-dialog button.secondary');
  assert.equal((await shell(page)).page.image.pixelSizeUm, 0.25, 'the refused size changed nothing');
  await page.waitForTimeout(500);
  assert.equal((await shell(page)).page.runsStarted, runs, 'the keys typed in the field ran nothing');
  assertClean(problems);
  await context.close();
});

// Reads "Segment all"'s zip back with Python's zipfile, csv and PIL.
const READ_BATCH = `
import csv, io, json, sys, zipfile
import numpy as np
from PIL import Image
z = zipfile.ZipFile(sys.argv[1])
rows = list(csv.DictReader(io.TextIOWrapper(z.open('summary.csv'), encoding='utf-8', newline='')))
labels = {n: int(np.array(Image.open(io.BytesIO(z.read(n)))).max()) for n in z.namelist() if n.endswith('_labels.png')}
tables = {n: sum(1 for _ in csv.DictReader(io.TextIOWrapper(z.open(n), encoding='utf-8', newline=''))) for n in z.namelist() if n.endswith('_objects.csv')}
print(json.dumps({'names': z.namelist(), 'rows': rows, 'labels': labels, 'tables': tables}))
`;

test('"Segment all" segments every image of a list and saves their labels, tables, records and a summary in one zip', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const other = synthImage(bed.tmp, 6, ['--width', '320', '--height', '256']);
  const broken = path.join(bed.tmp, 'b-broken.png');
  fs.writeFileSync(broken, fs.readFileSync(other).subarray(0, 300));
  const named = [['a-cells.png', image], ['c-cells.png', other]].map(([name, from]) => {
    fs.copyFileSync(from, path.join(bed.tmp, name));
    return path.join(bed.tmp, name);
  });
  await dropFile(page, [named[1], broken, named[0]]);
  await waitForResult(page, null, 2);
  // The panel's button: one download, named after the model and the number of images.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), clickControl(page, 'segment_all')]);
  const model = (await page.evaluate(() => window.celldropShell.segmentation.model));
  assert.equal(download.suggestedFilename(), `celldrop_${model}_3-images.zip`);
  const zipPath = path.join(bed.tmp, 'all.zip');
  await download.saveAs(zipPath);
  const back = JSON.parse(run(PYTHON, ['-c', READ_BATCH, zipPath]));
  assert.deepEqual(back.rows.map((r) => r.image), ['a-cells.png', 'b-broken.png', 'c-cells.png'], 'one row per image, in name order');
  const [a, b, c] = back.rows;
  assert.match(b.error, /cannot|could not|Cannot/i, `the broken file's row says why: ${b.error}`);
  assert.equal(b.objects, '');
  for (const row of [a, c]) {
    const stem = row.image.replace(/\.png$/, '');
    assert.equal(row.error, '');
    assert.equal(row.model, model);
    assert.ok(Number(row.objects) > 10, `${row.image}: ${row.objects} objects`);
    assert.ok(Number(row.mean_area_px) > 20, `${row.image}: mean area ${row.mean_area_px} px`);
    assert.equal(back.labels[`${stem}_${model}_labels.png`], Number(row.objects), 'the label image holds ids 1..N');
    assert.equal(back.tables[`${stem}_${model}_objects.csv`], Number(row.objects), 'one table row per object');
    assert.ok(back.names.includes(`${stem}_${model}_run.json`));
  }
  assert.equal(back.names[0], 'summary.csv');
  // The panel is back to its list, and the API gives the same zip's summary.
  const api = await page.evaluate(async () => {
    const z = await window.celldrop.segmentAll();
    return { name: z.name, images: z.images, failed: z.failed, size: z.bytes.length };
  });
  assert.deepEqual([api.name, api.images, api.failed], [`celldrop_${model}_3-images.zip`, 3, 1]);
  assert.ok(api.size > 1000);
  // With no input event after it, the panel shows the batch's end (Previous and Next work again).
  await waitForShell(page, (st) => st.page.batch.total === 0, 'the panel to leave the batch', 5000);
  assertClean(problems);
  await context.close();
});
