// Getting images into the page, in headless Chromium: a real drag and drop (DragEvent with a
// DataTransfer holding a File), a paste (ClipboardEvent), the Open button's file chooser, ?image=
// from this origin and from another server, and what must not break the page: a corrupt file, a
// huge declared size, an unreachable or CORS-less URL. Fixtures are made at test time (the CLI's
// synthetic nuclei, tifffile, a hand-written PNG header).
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  ROOT, SITE, SHOTS, PYTHON, CLI, openApp, assertClean, waitForShell, waitForResult, clickControl, canvasTop, dropFile,
  synthImage, sha256File, run, saveDocShot, shell, labelsFileChecksum, testBed,
} from './harness.mjs';
import { decodePng, encodePng } from './png.mjs';

let other, otherOrigin;
let png2, png3, tiffRgb16, slide, corrupt, huge;

// A PNG whose header declares `width` x `height` pixels, with a valid CRC but almost no data: the
// page must refuse it from the header, before allocating anything.
function pngDeclaring(width, height) {
  return encodePng(width, height, 8, 0, Buffer.alloc(64));
}

// A second server on another port, i.e. another origin: one image with CORS headers, one without,
// and a 404.
function startOtherServer() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const body = fs.readFileSync(png3);
      if (req.url === '/cors/cells.png') {
        res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' });
        res.end(body);
      } else if (req.url === '/nocors/cells.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(body);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' });
        res.end('not here');
      }
    });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, origin: `http://127.0.0.1:${srv.address().port}` }));
  });
}

const bed = testBed({
  tmp: 'intake',
  prepare: async (bed) => {
    const { tmp } = bed;
    png2 = synthImage(tmp, 2);
    png3 = synthImage(tmp, 3, ['--width', '384', '--height', '320']);
    // A three-channel 16-bit TIFF: nuclei in channel 2, the others dimmer copies, so a merged or
    // chosen channel both hold nuclei.
    tiffRgb16 = path.join(tmp, 'three-channel.tif');
    run(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.uint16)
tifffile.imwrite(sys.argv[2], np.stack([a // 4, a, a // 2], axis=-1), photometric='rgb')
`, png2, tiffRgb16]);
    // An 8-bit RGBA "stained slide": the nuclei dark purple on a light background (png3 inverted, each
    // channel scaled differently), opaque, as slide scanners and screenshots save them.
    slide = path.join(tmp, 'stained-slide.png');
    run(PYTHON, ['-c', `
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.float64)
inv = 1.0 - (a - a.min()) / max(1.0, a.max() - a.min())
rgba = np.stack([235 * inv + 20, 200 * inv, 225 * inv + 30, np.full_like(inv, 255)], axis=-1)
Image.fromarray(np.round(rgba).astype(np.uint8), 'RGBA').save(sys.argv[2])
`, png3, slide]);
    corrupt = path.join(tmp, 'corrupt.png');
    const good = fs.readFileSync(png2);
    fs.writeFileSync(corrupt, Buffer.concat([good.subarray(0, 200), Buffer.alloc(300, 0x5a)]));
    huge = path.join(tmp, 'huge.png');
    fs.writeFileSync(huge, pngDeclaring(20000, 20000));  // 400 megapixels: the page holds 268 at most
    // The site with one extra image, for ?image= from this origin.
    const site = path.join(tmp, 'site');
    fs.cpSync(SITE, site, { recursive: true });
    fs.mkdirSync(path.join(site, 'images'));
    fs.copyFileSync(png3, path.join(site, 'images', 'cells-3.png'));
    bed.root = site;
    ({ srv: other, origin: otherOrigin } = await startOtherServer());
    bed.cleanups.push(() => other.close());
  },
});

test('a dropped file opens (with a drop hint while dragging) and is segmented', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const dropped = await dropFile(page, png2, 'seed 2.png');
  assert.deepEqual(dropped, { hintShown: true, hintHiddenAfter: true });
  const sha = sha256File(png2);
  const s = await waitForResult(page, sha);
  assert.equal(s.page.image.name, 'seed 2.png');
  assert.equal(s.page.image.stem, 'seed 2');
  assert.deepEqual([s.image.width, s.image.height, s.image.channels, s.image.type], [512, 512, 1, 'uint16']);
  assert.equal(s.page.openError, null);
  assert.ok(s.segmentation.count > 20, `the dropped nuclei should be found: ${s.segmentation.count}`);
  assert.equal(s.page.table.rows, s.segmentation.count);
  assertClean(problems);
  await context.close();
});

test('images dropped together open one after the other, in name order, with the same parameters', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await page.evaluate(() => window.celldrop.run({ prob_thresh: 0.6 }));
  // Dropped in the file manager's order; opened by name: "cells 10" after "cells 9".
  const named = [['cells 10.png', png3], ['cells 9.png', png2], ['another.png', slide]].map(([name, from]) => {
    const to = path.join(bed.tmp, name);
    fs.copyFileSync(from, to);
    return to;
  });
  await dropFile(page, named);
  let s = await waitForResult(page, sha256File(slide));
  assert.deepEqual(s.page.list, { index: 0, count: 3 });
  assert.equal(s.page.image.name, 'another.png');
  await waitForShell(page, (st) => st.page.ui.next_image, 'the Next button');
  // N (or Next) opens the next one, segmented with the parameters in use.
  await page.keyboard.press('n');
  s = await waitForResult(page, sha256File(png2));
  assert.deepEqual([s.page.list.index, s.page.image.name], [1, 'cells 9.png']);
  assert.equal(JSON.parse(s.page.params).prob_thresh, 0.6);
  await clickControl(page, 'next_image');
  s = await waitForResult(page, sha256File(png3));
  assert.deepEqual([s.page.list.index, s.page.image.name], [2, 'cells 10.png']);
  // The last one has no next: the API says so and nothing changes.
  assert.equal(await page.evaluate(() => window.celldrop.next()), null);
  // P (or Previous, or the API) goes back.
  const back = await page.evaluate(() => window.celldrop.previous());
  assert.equal(back.name, 'cells 9.png');
  await page.keyboard.press('p');
  s = await waitForResult(page, sha256File(slide));
  assert.equal(s.page.list.index, 0);
  // A file that cannot be opened ends nothing: the image, its result and the list stay.
  const truncated = path.join(bed.tmp, 'truncated.png');
  fs.writeFileSync(truncated, fs.readFileSync(png2).subarray(0, 300));
  await dropFile(page, truncated);
  s = await waitForShell(page, (st) => st.page.openError && st, 'the error for the truncated file');
  assert.match(s.page.openError, /truncated\.png/);
  assert.deepEqual([s.page.list, s.page.image.name, s.segmentation.hasResult], [{ index: 0, count: 3 }, 'another.png', true]);
  // Opening one image on its own ends the list.
  await dropFile(page, png2);
  s = await waitForResult(page, sha256File(png2));
  assert.deepEqual(s.page.list, { index: 0, count: 0 });
  assert.equal(s.page.ui.next_image, undefined);
  assertClean(problems);
  await context.close();
});

test('a multi-page TIFF is a list of its pages: N steps, each page is the CLI\'s --page, a link names its page', async () => {
  // A time-lapse of three frames with 18, 24 and 30 nuclei, written by tifffile as ImageJ does.
  const frames = [21, 22, 23].map((seed, i) => synthImage(bed.tmp, seed, ['--width', '256', '--height', '256', '--count', String(18 + 6 * i)]));
  const stack = path.join(bed.tmp, 'frames.tif');
  run(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
a = np.stack([np.array(Image.open(f)).astype(np.uint16) for f in sys.argv[2:]])
tifffile.imwrite(sys.argv[1], a, imagej=True, metadata={'axes': 'TYX'})
`, stack, ...frames]);
  // What the CLI finds on the last page with the page's WebAssembly kernels.
  const cliOut = path.join(bed.tmp, 'frames-cli');
  const line = JSON.parse(run(process.execPath, [CLI, 'segment', stack, '--page', '2', '--out', cliOut, '--backend', 'wasm',
    '--threads', '1', '--export', 'record']).trim().split('\n')[0]);
  const cliChecksum = labelsFileChecksum(path.join(cliOut, 'frames.png'));
  assert.equal(JSON.parse(fs.readFileSync(path.join(cliOut, 'frames.json'), 'utf8')).image.page, 2, 'the CLI\'s record names the page');

  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await dropFile(page, stack, 'frames.tif', 'image/tiff');
  let s = await waitForResult(page, sha256File(stack));
  assert.deepEqual([s.page.list, s.page.image.stem], [{ index: 0, count: 3 }, 'frames_page0']);
  await page.keyboard.press('n');
  s = await waitForShell(page, (st) => st.page.image.stem === 'frames_page1' && st.segmentation.hasResult &&
    !st.segmentation.running && st, 'page 2', 60_000);
  await clickControl(page, 'next_image');
  s = await waitForShell(page, (st) => st.page.image.stem === 'frames_page2' && st.segmentation.hasResult &&
    !st.segmentation.running && st, 'page 3', 60_000);
  assert.equal(s.page.list.index, 2);
  assert.equal(s.segmentation.count, line.objects, 'the page and the CLI (--page 2 --backend wasm) find the same objects');
  assert.equal(s.segmentation.labelsChecksum, cliChecksum, 'and the same labels, pixel for pixel');
  const record = await page.evaluate(() => window.celldrop.result().record);
  assert.equal(record.image.page, 2);

  // A link made on page 3 opens the dropped file on page 3.
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.equal(new URLSearchParams(new URL(link).hash.slice(1)).get('image_page'), '2');
  const second = await openApp(context, bed.origin, new URL(link).hash);
  await waitForShell(second.page, (st) => st.segmentation?.modelsKnown && !st.page.link.pending, 'the link applied', 60_000);
  await dropFile(second.page, stack, 'frames.tif', 'image/tiff');
  s = await waitForShell(second.page, (st) => st.page.image.sha256 === sha256File(stack) && st.segmentation.hasResult &&
    !st.segmentation.running && st, 'the linked page', 60_000);
  assert.deepEqual([s.page.image.stem, s.page.list], ['frames_page2', { index: 2, count: 3 }]);
  assert.equal(s.segmentation.labelsChecksum, cliChecksum);
  assert.equal(s.page.link.sameImage, true);
  assertClean(problems);
  assertClean(second.problems);
  await context.close();
});

test('a pasted image opens', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin);
  const b64 = fs.readFileSync(png3).toString('base64');
  const handled = await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    const e = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.body.dispatchEvent(e);
    return e.defaultPrevented;
  }, b64);
  assert.equal(handled, true, 'the page must take the pasted image');
  const s = await waitForShell(page, (st) => st.page.image.sha256 === sha256File(png3), 'the pasted image on show');
  assert.deepEqual([s.image.width, s.image.height], [384, 320]);
  assertClean(problems);
  await context.close();
});

test('the Open button opens the file chooser; a 16-bit three-channel TIFF opens with a channel picker and is segmented', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 10_000 }), clickControl(page, 'open')]);
  await chooser.setFiles(tiffRgb16);
  const s = await waitForResult(page, sha256File(tiffRgb16));
  assert.deepEqual([s.image.width, s.image.height, s.image.channels, s.image.type], [512, 512, 3, 'uint16']);
  // The one-channel model sees the mean of the three channels unless one is chosen.
  assert.equal(JSON.parse(s.page.params).merge, true);
  assert.ok(s.segmentation.count > 20, `nuclei in the merged channels: ${s.segmentation.count}`);
  // Or the channel that holds them, alone (0-based: the second).
  const r = await page.evaluate(() => window.celldrop.run({ channel: 1 }));
  assert.equal(r.record.parameters.channel, 1);
  assert.equal(r.record.parameters.merge, undefined);
  assert.ok(r.objects.length > 20, `nuclei in channel 2: ${r.objects.length}`);
  assertClean(problems);
  await context.close();
});

// The object table's mean column follows the channel on show, so a marker's intensity can be read
// and sorted nucleus by nucleus: its order is the CSV's mean_<channel> order, for each channel shown.
test('the object table\'s mean is the channel on show: sorted by it, the order follows the channel picker', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  // Nuclei in channel 1, and in channel 2 a "marker" in the same nuclei that grows from left to
  // right, so the two order the nuclei differently (and the picture stays a fluorescence one).
  const twoChannels = path.join(bed.tmp, 'nuclei-and-marker.tif');
  run(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.uint16)
marker = (a * (np.arange(a.shape[1]) / a.shape[1])[None, :]).astype(np.uint16)
tifffile.imwrite(sys.argv[2], np.stack([a, marker], axis=-1), photometric='minisblack', planarconfig='contig')
`, png2, twoChannels]);
  await waitForResult(page);
  await dropFile(page, twoChannels, 'nuclei-and-marker.tif', 'image/tiff');
  let s = await waitForResult(page, sha256File(twoChannels));
  const objects = (await page.evaluate(() => window.celldrop.result())).objects;
  // The CSV counts channels from 1, the page from 0.
  const expected = (c) => objects.map((o) => [o[`mean_${c + 1}`], o.label]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, 20).map((x) => x[1]);
  assert.notDeepEqual(expected(0), expected(1), 'the channels must order the nuclei differently for this test');
  assert.equal(s.page.table.meanChannel, 0);
  const top = await canvasTop(page);
  const header = s.page.table.headers.mean;
  assert.ok(header.x0 > 0 && header.x1 <= s.viewport.x0, 'the mean column is in view without scrolling sideways');
  await page.mouse.click(Math.round((header.x0 + header.x1) / 2), Math.round((header.y0 + header.y1) / 2 + top), { delay: 60 });
  s = await waitForShell(page, (st) => st.page.table.sortColumn === 'mean', 'sorted by mean');
  assert.equal(s.page.table.ascending, true);
  assert.deepEqual(s.page.table.order, expected(0));
  // The Channel slider (under Contrast, below the table): the panel scrolled to it by a wheel over
  // its scrollbar, then its right end clicked: channel 2 on show, and the column with it.
  await page.mouse.move(Math.round(s.viewport.x0 - 8), Math.round(200 + top));
  const sliderInView = (st) => st.page.ui.display_channel && st.page.ui.display_channel.y0 >= 0 &&
    st.page.ui.display_channel.y1 <= st.canvas.cssHeight - 40;
  for (let i = 0; i < 30 && !sliderInView(await shell(page)); i++) {
    await page.mouse.wheel(0, 120);
    await page.waitForTimeout(100);
  }
  s = await waitForShell(page, sliderInView, 'the Channel slider in view');
  const slider = s.page.ui.display_channel;
  await page.mouse.click(Math.round(slider.x0 + 0.6 * (slider.x1 - slider.x0)), Math.round((slider.y0 + slider.y1) / 2 + top), { delay: 60 });
  s = await waitForShell(page, (st) => st.page.display.channel === 1 && st.page.table.meanChannel === 1, 'channel 2 on show');
  assert.deepEqual(s.page.table.order, expected(1));
  // "," and "." step through the channels (ImageJ's previous and next slice), round from the last.
  await page.keyboard.press('.');
  s = await waitForShell(page, (st) => st.page.display.channel === 0 && st.page.table.meanChannel === 0, '"." from the last channel');
  assert.deepEqual(s.page.table.order, expected(0));
  await page.keyboard.press(',');
  await waitForShell(page, (st) => st.page.display.channel === 1 && st.page.table.meanChannel === 1, '"," back to channel 2');
  await page.screenshot({ path: path.join(SHOTS, 'intake-mean-channel.png') });
  assertClean(problems);
  await context.close();
});

test('a stained slide (8-bit RGBA) is shown in colour, and a run with a fluorescence model offers the slide model, which reads its RGB', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await dropFile(page, slide);
  let s = await waitForResult(page, sha256File(slide));
  assert.deepEqual([s.image.channels, s.image.type], [4, 'uint8']);
  assert.deepEqual(s.page.display, { colour: true, channel: -1 });
  assert.equal(s.segmentation.model, 'nuclei-star');
  // The picture as stored: with the masks hidden, a pixel of the image shows its own colour.
  await page.keyboard.press('o');
  s = await waitForShell(page, (st) => st.segmentation.overlay.visible === false, 'the masks hidden');
  const top = await canvasTop(page);
  const file = decodePng(fs.readFileSync(slide));
  const shot = decodePng(await page.screenshot({ path: path.join(SHOTS, 'intake-slide.png') }));
  let compared = 0;
  for (const [fx, fy] of [[0.3, 0.4], [0.55, 0.5], [0.7, 0.25], [0.45, 0.8]]) {
    const ix = Math.floor(file.width * fx), iy = Math.floor(file.height * fy);
    const sx = Math.round(s.view.originX + (ix + 0.5) * s.view.zoom), sy = Math.round(s.view.originY + (iy + 0.5) * s.view.zoom + top);
    const want = Array.from(file.data.subarray((iy * file.width + ix) * 4, (iy * file.width + ix) * 4 + 3));
    const got = Array.from(shot.data.subarray((sy * shot.width + sx) * shot.channels, (sy * shot.width + sx) * shot.channels + 3));
    got.forEach((v, c) => assert.ok(Math.abs(v - want[c]) <= 2, `image pixel ${ix},${iy}: shows ${got}, is ${want}`));
    compared++;
  }
  assert.equal(compared, 4);
  // C shows one channel at a time in grey, and back.
  await page.keyboard.press('c');
  s = await waitForShell(page, (st) => st.page.display.colour === false, 'one channel');
  assert.equal(s.page.display.channel, 0);
  await page.keyboard.press('c');
  await waitForShell(page, (st) => st.page.display.colour === true, 'colour again');
  // nuclei-star was trained on fluorescence: the run says so and offers the H&E model, which takes
  // the RGBA file's red, green and blue.
  await clickControl(page, 'suggested_model');
  s = await waitForShell(page, (st) => st.segmentation.model === 'nuclei-he-star' && st.segmentation.hasResult &&
    !st.segmentation.running, 'the suggested model\'s result', 120_000);
  assert.equal(s.page.ui.suggested_model, undefined, 'the model fits: nothing more to suggest');
  const r = await page.evaluate(() => window.celldrop.result());
  assert.equal(r.record.model.name, 'nuclei-he-star');
  assert.ok(r.objects.length > 5, `nuclei found by the slide model: ${r.objects.length}`);
  assertClean(problems);
  await context.close();
});

// A grey picture of dark nuclei on a bright background (a brightfield-like negative) under a
// fluorescence model: the run says so and offers "Invert and run" beside the slide model. Inverted,
// the negative is the picture itself to the network (exactly with percentiles 0 and 100), so the
// labels are the picture's; the record and the link carry invert, and nothing more is offered.
test('a negative picture: Invert and run segments it as the picture itself; record and link carry it', async () => {
  const picture = synthImage(bed.tmp, 31, ['--width', '256', '--height', '256']);
  const negative = path.join(bed.tmp, 'negative-31.png');
  run(PYTHON, ['-c', `
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype(np.int64)
Image.fromarray((65535 - a).astype(np.uint16)).save(sys.argv[2])
`, picture, negative]);
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  await dropFile(page, picture);
  s = await waitForResult(page, sha256File(picture));
  await page.evaluate(() => window.celldrop.run({ percentile_low: 0, percentile_high: 100 }));
  s = await waitForResult(page, sha256File(picture), s.segmentation.runs + 1);
  const want = { checksum: s.segmentation.labelsChecksum, count: s.segmentation.count };
  assert.ok(want.count > 10, `nuclei in the picture: ${want.count}`);
  assert.equal(s.page.ui.invert_offer, undefined, 'a fluorescence picture: nothing to invert');

  await dropFile(page, negative);
  s = await waitForResult(page, sha256File(negative));
  assert.ok(s.page.ui.invert_offer && s.page.ui.suggested_model, 'a negative: inverting and the slide model are offered');
  assert.equal(JSON.parse(s.page.params).invert, false);
  await page.screenshot({ path: path.join(SHOTS, 'intake-invert-offer.png') });
  const runs = s.segmentation.runs;
  await clickControl(page, 'invert_offer');
  s = await waitForShell(page, (st) => st.segmentation.runs > runs && st.segmentation.hasResult && !st.segmentation.running,
    'the inverted run', 120_000);
  assert.equal(JSON.parse(s.page.params).invert, true);
  assert.equal(s.segmentation.model, 'nuclei-star');
  assert.deepEqual({ checksum: s.segmentation.labelsChecksum, count: s.segmentation.count }, want, 'the picture\'s labels');
  assert.equal(s.page.ui.invert_offer, undefined, 'the network saw what the model knows: nothing more to offer');
  assert.equal(s.page.ui.suggested_model, undefined);
  const r = await page.evaluate(() => window.celldrop.result());
  assert.equal(r.record.parameters.invert, true);
  assert.match(await page.evaluate(() => window.celldrop.shareLink()), /[#&]p\.invert=true(&|$)/);
  assertClean(problems);
  await context.close();
});

// An immunohistochemistry slide (scripts/ihc_slide.py: the generator's nuclei in hematoxylin,
// brown DAB between them) under a fluorescence model: the run says the picture is of the other kind
// and, beside the slide model and Invert, offers to read the slide's hematoxylin. That run is the
// CLI's --stain hematoxylin run, and once the network sees nuclei bright on dark nothing more is offered.
test('an IHC slide under a fluorescence model: Read its hematoxylin segments it as the CLI\'s --stain hematoxylin does', async () => {
  const picture = synthImage(bed.tmp, 41, ['--width', '256', '--height', '256']);
  const slide = path.join(bed.tmp, 'ihc-41.png');
  run(PYTHON, [path.join(ROOT, 'scripts', 'ihc_slide.py'), picture, path.join(bed.tmp, 'synth-41-labels.png'), slide, '41']);
  const cli = path.join(bed.tmp, 'ihc-41-cli');
  run(process.execPath, [CLI, 'segment', slide, '--out', cli, '--model', 'nuclei-star', '--stain', 'hematoxylin',
    '--backend', 'wasm', '--threads', '1']);
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  await page.evaluate(() => window.celldrop.run({ backend: 'wasm' }));  // the CLI's kernels
  s = await waitForResult(page, null, s.segmentation.runs + 1);
  await dropFile(page, slide);
  s = await waitForResult(page, sha256File(slide));
  assert.equal(s.segmentation.model, 'nuclei-star');
  assert.ok(s.page.ui.stain_offer && s.page.ui.invert_offer, 'a stained slide: its hematoxylin and the negative are offered');
  const runs = s.segmentation.runs;
  await clickControl(page, 'stain_offer');
  s = await waitForShell(page, (st) => st.segmentation.runs > runs && st.segmentation.hasResult && !st.segmentation.running,
    'the run through the hematoxylin', 120_000);
  assert.equal(JSON.parse(s.page.params).stain, 'hematoxylin');
  assert.equal(s.page.ui.stain_offer, undefined, 'the network saw nuclei bright on dark: nothing more to offer');
  assert.equal(s.page.ui.invert_offer, undefined);
  assert.equal(s.segmentation.labelsChecksum, labelsFileChecksum(path.join(cli, 'ihc-41.png')), 'the CLI\'s labels');
  assertClean(problems);
  await context.close();
});

test('?image= opens an image from this origin', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin, '?image=../images/cells-3.png');
  const s = await waitForResult(page, sha256File(png3));
  assert.equal(s.page.image.name, 'cells-3.png');
  assert.equal(s.page.image.url, `${bed.origin}/images/cells-3.png`);
  assertClean(problems);
  await context.close();
});

// The one request that may leave the origin: the URL the user gave. The page's Content-Security-
// Policy (web/index.html) still limits connect-src to 'self', which blocks it.
test('?image= opens an image from another server that allows it (CORS)', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context, bed.origin, `?image=${encodeURIComponent(`${otherOrigin}/cors/cells.png`)}`, [otherOrigin]);
  const s = await waitForShell(page, (st) => st.page.image.url || st.page.openError, 'the cross-origin image or an error', 60_000);
  assert.equal(s.page.openError, null);
  await waitForResult(page, sha256File(png3));
  assertClean(problems);
  await context.close();
});

test('?image= failures (HTTP 404, no CORS) are said plainly and the sample stays usable', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  for (const [url, pattern] of [[`${otherOrigin}/missing.png`, /HTTP 404|CORS/], [`${otherOrigin}/nocors/cells.png`, /CORS/],
    ['../images/absent.png', /HTTP 404/]]) {
    const { page, problems } = await openApp(context, bed.origin, `?image=${encodeURIComponent(url)}`, [otherOrigin]);
    const s = await waitForShell(page, (st) => st.page.openError, `an error for ${url}`, 60_000);
    assert.match(s.page.openError, pattern);
    assert.match(s.page.openError, /could not be downloaded/);
    // The sample is still there and is segmented after all.
    await waitForResult(page);
    assertClean(problems, { allowFailed: ['missing.png', 'absent.png', 'nocors', 'CORS', 'Content Security Policy', 'net::ERR_FAILED', '404 (Not Found)'] });
    await page.close();
  }
  await context.close();
});

test('a corrupt file and a huge declared size each give a clear error and keep the image and results', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 820 } });
  const { page, problems } = await openApp(context, bed.origin);
  const before = await waitForResult(page);
  const sha = before.page.image.sha256;

  await dropFile(page, corrupt, 'corrupt.png');
  let s = await waitForShell(page, (st) => st.page.openError, 'the corrupt file error');
  assert.match(s.page.openError, /^Cannot open corrupt\.png: /);
  assert.equal(s.page.image.sha256, sha, 'the image on show must stay');
  assert.equal(s.segmentation.hasResult, true, 'the results must stay');
  assert.equal(s.segmentation.labelsChecksum, before.segmentation.labelsChecksum);

  await dropFile(page, huge, 'huge.png');
  s = await waitForShell(page, (st) => /huge\.png/.test(st.page.openError || ''), 'the huge image error');
  assert.match(s.page.openError, /20000 x 20000 pixels.*more than this page can hold/);
  assert.equal(s.page.image.sha256, sha);
  assert.equal(s.segmentation.hasResult, true);
  const shot = path.join(SHOTS, 'state-error.png');
  await page.screenshot({ path: shot });
  saveDocShot(shot, 'state-error.png');

  // The page API rejects with the same sentence.
  const apiError = await page.evaluate(async () => {
    try {
      await window.celldrop.open(new Uint8Array([1, 2, 3, 4]), 'four-bytes.png');
      return null;
    } catch (e) {
      return e.message;
    }
  });
  assert.match(apiError, /^Cannot open four-bytes\.png: .*PNG, JPEG, BMP and TIFF/);

  // Still usable: the next good file opens and is segmented, and the error is gone.
  await dropFile(page, png3, 'good.png');
  s = await waitForResult(page, sha256File(png3));
  assert.equal(s.page.openError, null);
  assertClean(problems);
  await context.close();
});
