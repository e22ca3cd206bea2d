// Counting the nuclei positive for a marker, in headless Chromium: the panel's "Count positive", its
// marker channel and threshold sliders and Otsu button, the overlay's class colours, the exports, the
// page API's setPositive and a share link that brings the count back; then grading a stained slide's
// nuclei 1+ to 3+ (the panel's "Grade") and its H-score. The fixture is made at test
// time: the CLI's synthetic nuclei in channel 1 and, written by tifffile, a marker in channel 2 that
// only every other nucleus carries.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  SHOTS, PYTHON, openApp, assertClean, waitForShell, waitForResult, clickControl, canvasTop, dropFile, synthImage,
  sha256File, run, saveDocShot, testBed,
} from './harness.mjs';
import { decodePng } from './png.mjs';

let twoChannels;
const bed = testBed({
  tmp: 'positive',
  prepare: ({ tmp }) => {
    const nuclei = synthImage(tmp, 31, ['--width', '256', '--height', '224']);
    twoChannels = path.join(tmp, 'nuclei-and-marker.tif');
    run(PYTHON, ['-c', `
import sys, numpy as np, tifffile
from PIL import Image
nuclei = np.array(Image.open(sys.argv[1])).astype(np.uint16)
truth = np.array(Image.open(sys.argv[2])).astype(np.int64)
marker = np.where(truth % 2 == 1, 3000, 400).astype(np.uint16) * (truth > 0)
tifffile.imwrite(sys.argv[3], np.stack([nuclei, marker], axis=-1), photometric='minisblack', planarconfig='contig')
`, nuclei, path.join(tmp, 'synth-31-labels.png'), twoChannels]);
  },
});

// Otsu's threshold over values, written out here apart from the core's: the cut between consecutive
// sorted values with the largest between-group variance, halfway between them.
function otsu(values) {
  const v = [...values].sort((a, b) => a - b);
  let best = -1, threshold = null;
  for (let k = 1; k < v.length; k++) {
    if (v[k] === v[k - 1]) continue;
    const low = v.slice(0, k).reduce((s, x) => s + x, 0) / k;
    const high = v.slice(k).reduce((s, x) => s + x, 0) / (v.length - k);
    const between = k * (v.length - k) * (high - low) ** 2;
    if (between > best) [best, threshold] = [between, v[k - 1] + (v[k] - v[k - 1]) / 2];
  }
  return threshold;
}

// The overlay as saved (what is on screen): each object's edge pixels in colourOf(id), at the
// overlay's opacity over the image below. Returns how many edge pixels were looked at.
async function assertEdgeColours(page, r, opacity, colourOf) {
  const overlay = decodePng(Buffer.from((await page.evaluate(() => window.celldrop.export('overlay_png'))).bytes));
  const { width, height, data } = r.labels;
  let edges = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = data[y * width + x];
      if (!id) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 || data[y * width + x - 1] !== id ||
        data[y * width + x + 1] !== id || data[(y - 1) * width + x] !== id || data[(y + 1) * width + x] !== id;
      if (!edge) continue;
      const rgb = colourOf(id);
      for (let c = 0; c < 3; c++) {
        const got = overlay.data[(y * width + x) * overlay.channels + c];
        assert.ok(Math.abs(got - opacity * rgb[c]) <= (1 - opacity) * 255 + 1, `object ${id}'s edge at ${x},${y}: ${got} in channel ${c}`);
      }
      edges++;
    }
  }
  return edges;
}

// A stained slide opened from `url` and counted as the measuring lesson says: the run on its picture
// offers "Read its hematoxylin" (the model was made for fluorescence), pressed, then Count positive
// (by DAB on such a slide). Resolves with the page's state once counted.
async function readAndCount(page, url) {
  let s = await waitForShell(page, (st) => st.segmentation.hasResult && !st.segmentation.running, 'a result');
  await page.evaluate((u) => window.celldrop.open(u), url);
  s = await waitForResult(page, null, s.segmentation.runs + 1);
  const runs = s.segmentation.runs;
  await clickControl(page, 'stain_offer');
  await waitForShell(page, (st) => st.segmentation.runs > runs && st.segmentation.hasResult && !st.segmentation.running,
    'the run through the hematoxylin', 120_000);
  await clickControl(page, 'positive.count');
  return waitForShell(page, (st) => st.page.positive.count !== null, 'the DAB count');
}

async function clickAt(page, rect, fx) {
  const top = await canvasTop(page);
  await page.mouse.click(Math.round(rect.x0 + fx * (rect.x1 - rect.x0)), Math.round((rect.y0 + rect.y1) / 2 + top), { delay: 60 });
}

test('Count positive: Otsu splits the nuclei by their marker, the overlay, table and exports follow, and a link brings it back', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await dropFile(page, twoChannels, 'nuclei-and-marker.tif', 'image/tiff');
  let s = await waitForResult(page, sha256File(twoChannels));
  assert.deepEqual(s.page.positive, {
    channel: -1, stain: null, otsu: true, threshold: null, count: null, grades: null, gradeCounts: null, hScore: null, note: '', means: null,
  });

  // On: the channel on show (1) is the marker's at first; the slider moves it to channel 2.
  await clickControl(page, 'positive.count');
  s = await waitForShell(page, (st) => st.page.positive.count !== null, 'counted in channel 1');
  assert.equal(s.page.positive.channel, 0);
  await clickAt(page, s.page.ui['positive.channel'], 0.9);
  s = await waitForShell(page, (st) => st.page.positive.channel === 1, 'the marker in channel 2');
  let r = await page.evaluate(() => window.celldrop.result());
  const means = r.objects.map((o) => o.mean_2);
  const threshold = otsu(means);
  assert.ok(Math.abs(s.page.positive.threshold - threshold) <= 1e-9 * threshold, `${s.page.positive.threshold} vs Otsu's ${threshold}`);
  // Every object is classified by the rule, and the marker's two levels are well apart: about half.
  for (const o of r.objects) assert.equal(o.positive, o.mean_2 >= threshold ? 1 : 0, `object ${o.label}: mean_2 ${o.mean_2}`);
  const otsuCount = r.objects.filter((o) => o.positive === 1).length;
  assert.equal(s.page.positive.count, otsuCount);
  assert.ok(otsuCount > 0.3 * r.objects.length && otsuCount < 0.7 * r.objects.length, `${otsuCount} of ${r.objects.length} positive`);
  assert.deepEqual(r.record.positive, { channel: 1, threshold: s.page.positive.threshold, threshold_from: 'otsu', objects: otsuCount });

  // Behind the threshold slider, the histogram of the nuclei's means over its range (48 bins), each
  // bar in the colour of its class: the negatives' blue, the positives' orange.
  const low = Math.min(...means), high = Math.max(...means);
  const bins = new Array(48).fill(0);
  for (const m of means) bins[Math.min(47, Math.floor((m - low) / (high - low) * 48))]++;
  assert.deepEqual(s.page.positive.means, { low, high, histogram: bins });
  await page.mouse.move(700, 500);  // nothing hovered: the slider's frame in its plain colour
  await page.waitForTimeout(300);
  const panel = decodePng(await page.screenshot({ path: path.join(SHOTS, 'positive-histogram.png') }));
  const slider = s.page.ui['positive.threshold'];
  const bar = (slider.x1 - slider.x0) / 48;
  const grabX = slider.x0 + (threshold - low) / (high - low) * (slider.x1 - slider.x0);
  const bottom = Math.floor(slider.y1 + (await canvasTop(page))) - 2;
  const rgbOf = (i) => {
    const x = Math.floor(slider.x0 + i * bar);  // a bar's first column
    return Array.from(panel.data.subarray((bottom * panel.width + x) * panel.channels, (bottom * panel.width + x) * panel.channels + 3));
  };
  const clear = (i) => Math.abs(slider.x0 + (i + 0.5) * bar - grabX) > 14;  // the grab hides what is under it
  const empty = bins.findIndex((n, i) => n === 0 && clear(i));
  assert.ok(empty >= 0, 'an empty bin to compare with');
  const frame = rgbOf(empty);
  const looked = { positive: 0, negative: 0 };
  bins.forEach((n, i) => {
    if (!n || !clear(i)) return;
    const [red, green, blue] = rgbOf(i);
    const positive = low + (i + 0.5) * (high - low) / 48 >= threshold;
    assert.ok(positive ? red > blue + 40 : green > frame[1] + 30 && blue > red,
      `bin ${i} (${n} nuclei, ${positive ? 'positive' : 'negative'}) shows ${[red, green, blue]} over the frame's ${frame}`);
    looked[positive ? 'positive' : 'negative']++;
  });
  assert.ok(looked.positive >= 3 && looked.negative >= 1, `bars looked at: ${JSON.stringify(looked)}`);

  // The overlay as saved (what is on screen): every object's edge in its class's colour.
  const positiveOf = new Map(r.objects.map((o) => [o.label, o.positive]));
  const edges = await assertEdgeColours(page, r, s.segmentation.overlay.opacity,
    (id) => (positiveOf.get(id) ? [0xFF, 0x6E, 0x3C] : [0x56, 0xB4, 0xE9]));
  assert.ok(edges > 100);
  const geojson = JSON.parse(new TextDecoder().decode((await page.evaluate(() => window.celldrop.export('geojson'))).bytes));
  for (const f of geojson.features) {
    assert.equal(f.properties.classification.name, positiveOf.get(Number(f.properties.name)) ? 'Positive' : 'Negative');
  }

  // The threshold slider at its left end, the dimmest nucleus's mean: a threshold of the user's, every nucleus positive.
  await clickAt(page, s.page.ui['positive.threshold'], 0.01);
  s = await waitForShell(page, (st) => st.page.positive.otsu === false, 'a threshold of the user\'s');
  assert.ok(s.page.positive.threshold < threshold && s.page.positive.count > otsuCount, JSON.stringify(s.page.positive));
  r = await page.evaluate(() => window.celldrop.result());
  assert.equal(r.record.positive.threshold_from, 'user');
  assert.equal(r.objects.filter((o) => o.positive === 1).length, s.page.positive.count);
  // Otsu brings its threshold back.
  await clickControl(page, 'positive.otsu');
  s = await waitForShell(page, (st) => st.page.positive.otsu === true, 'Otsu again');
  assert.equal(s.page.positive.count, otsuCount);
  // The picture with the marker's channel on show: the table's mean is then the one compared.
  await page.keyboard.press('.');
  await waitForShell(page, (st) => st.page.display.channel === 1 && st.page.table.meanChannel === 1, 'the marker on show');
  await page.mouse.move(700, 500);
  const shot = path.join(SHOTS, 'positive.png');
  await page.screenshot({ path: shot });
  saveDocShot(shot, 'state-positive.png');

  // The page API sets a threshold; the share link carries it, and opening the link with the same
  // image counts the same nuclei.
  const all = await page.evaluate(() => window.celldrop.setPositive(1, 1).then((res) => res.objects.every((o) => o.positive === 1)));
  assert.ok(all, 'a threshold below every mean: all positive');
  await page.evaluate(() => window.celldrop.setPositive(1, 1700));
  s = await waitForShell(page, (st) => st.page.positive.threshold === 1700, 'the API\'s threshold');
  const count1700 = s.page.positive.count;
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.match(link, /&positive=1%3A1700(&|$)/);
  const second = await openApp(context, bed.origin, link.slice(link.indexOf('#')));
  await waitForResult(second.page);
  await dropFile(second.page, twoChannels, 'nuclei-and-marker.tif', 'image/tiff');
  s = await waitForResult(second.page, sha256File(twoChannels));
  s = await waitForShell(second.page, (st) => st.page.positive.count !== null, 'counted as the link says');
  assert.deepEqual([s.page.positive.channel, s.page.positive.otsu, s.page.positive.threshold, s.page.positive.count], [1, false, 1700, count1700]);
  // Off: nothing classified, no column, nothing in the record or the link.
  r = await second.page.evaluate(() => window.celldrop.setPositive(null));
  assert.ok(r.objects.every((o) => o.positive === undefined) && r.record.positive === undefined);
  assert.doesNotMatch(await second.page.evaluate(() => window.celldrop.shareLink()), /positive/);
  await assert.rejects(second.page.evaluate(() => window.celldrop.setPositive(1, Infinity)), /finite threshold/);
  assertClean(problems);
  assertClean(second.problems);
  await context.close();
});

// Dragging the threshold repaints only the boxes of the nuclei whose class changed (src/app/main.cpp's
// refresh_overlay): on screen, each of them must take its new colour and every other keep its own.
test('a moved threshold recolours on screen the nuclei that changed class, and only those', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  await dropFile(page, twoChannels, 'nuclei-and-marker.tif', 'image/tiff');
  await waitForResult(page, sha256File(twoChannels));
  const top = await canvasTop(page);
  let r = await page.evaluate(() => window.celldrop.setPositive(1, 1000));
  // A second threshold just above the third dimmest positive mean: three nuclei turn negative, few
  // enough that their boxes are repainted rather than the whole layer.
  const positiveMeans = r.objects.filter((o) => o.positive === 1).map((o) => o.mean_2).sort((a, b) => a - b);
  const second = (positiveMeans[2] + positiveMeans[3]) / 2;
  await clickControl(page, 'overlay.filled');
  let s = await waitForShell(page, (st) => st.segmentation.overlay.mode === 'filled', 'filled masks');
  const { width, height, data } = r.labels;
  const id = (x, y) => data[y * width + x];
  // One inside point per object: an image pixel whose 5 x 5 neighbourhood is that object.
  const inside = new Map();
  for (let y = 2; y < height - 2; y++) {
    for (let x = 2; x < width - 2; x++) {
      const k = id(x, y);
      if (!k || inside.has(k)) continue;
      let whole = true;
      for (let dy = -2; dy <= 2 && whole; dy++) for (let dx = -2; dx <= 2; dx++) if (id(x + dx, y + dy) !== k) { whole = false; break; }
      if (whole) inside.set(k, { x, y });
    }
  }
  const screen = (p) => ({ x: Math.floor(s.view.originX + (p.x + 0.5) * s.view.zoom), y: Math.floor(s.view.originY + (p.y + 0.5) * s.view.zoom + top) });
  const rgbAt = (img, p) => Array.from(img.data.subarray((p.y * img.width + p.x) * img.channels, (p.y * img.width + p.x) * img.channels + 3));
  await page.mouse.move(5, Math.round(top) + 5);  // no tooltip over the image
  await page.keyboard.press('o');
  await waitForShell(page, (st) => !st.segmentation.overlay.visible, 'masks hidden');
  await page.waitForTimeout(200);
  const plain = decodePng(await page.screenshot({ path: path.join(SHOTS, 'positive-plain.png') }));
  await page.keyboard.press('o');
  s = await waitForShell(page, (st) => st.segmentation.overlay.visible, 'masks shown');
  const alpha = s.segmentation.overlay.opacity;

  const check = async (objects, what) => {
    await page.waitForTimeout(200);
    const shot = decodePng(await page.screenshot({ path: path.join(SHOTS, `positive-${what}.png`) }));
    for (const o of objects) {
      const at = screen(inside.get(o.label));
      const grey = rgbAt(plain, at)[0];
      const want = (o.positive ? [0xFF, 0x6E, 0x3C] : [0x56, 0xB4, 0xE9]).map((v) => grey * (1 - alpha) + v * alpha);
      const got = rgbAt(shot, at);
      assert.ok(got.every((v, c) => Math.abs(v - want[c]) <= 2.5),
        `${what}: object ${o.label} (${o.positive ? 'positive' : 'negative'}) shows ${got}, expected ${want.map((v) => v.toFixed(1))}`);
    }
  };
  const before = new Map(r.objects.map((o) => [o.label, o.positive]));
  const shown = r.objects.filter((o) => inside.has(o.label));
  assert.ok(shown.length > 0.8 * r.objects.length, `${shown.length} of ${r.objects.length} objects have an inside point`);
  await check(shown, 'before');
  r = await page.evaluate((t) => window.celldrop.setPositive(1, t), second);
  const changed = r.objects.filter((o) => o.positive !== before.get(o.label));
  assert.equal(changed.length, 3, 'three nuclei turned negative');
  assert.ok(changed.every((o) => inside.has(o.label)), 'each has an inside point to look at');
  await check(r.objects.filter((o) => inside.has(o.label)), 'after');
  assertClean(problems);
  await context.close();
});

// The lesson "From outlines to numbers" has students drop its two-channel TIFF on the app and count
// the positive nuclei as it says (Input channel 1, marker in channel 2): the page must count the
// number the lesson prints, which the CLI counted when the site was built.
test('the measuring lesson\'s marker picture, counted in the page as the lesson says, gives the lesson\'s number', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const lesson = await (await fetch(`${bed.origin}/lessons/measuring/`)).text();
  const stated = lesson.match(/data-fact="m_positive">(\d+)</);
  assert.ok(stated, 'the lesson states its count');
  await page.evaluate((url) => window.celldrop.open(url), `${bed.origin}/lessons/measuring/media/nuclei-and-marker.tif`);
  await page.evaluate(() => window.celldrop.run({ channel: 0 }));
  const r = await page.evaluate(() => window.celldrop.setPositive(1));
  assert.equal(r.objects.filter((o) => o.positive === 1).length, Number(stated[1]));
  assertClean(problems);
  await context.close();
});

// The same lesson's stained slide, as its steps say: drop it, press "Read its hematoxylin" (offered
// because the model was trained on fluorescence), tick Count positive (by DAB on such a slide). The
// page must count the lesson's number.
test('the measuring lesson\'s stained slide, read and counted in the page as the lesson says, gives the lesson\'s number', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const lesson = await (await fetch(`${bed.origin}/lessons/measuring/`)).text();
  const stated = lesson.match(/data-fact="d_positive">(\d+)</);
  assert.ok(stated, 'the lesson states its count');
  const s = await readAndCount(page, `${bed.origin}/lessons/measuring/media/ihc-slide.png`);
  assert.equal(s.page.positive.stain, 'dab');
  assert.equal(s.page.positive.count, Number(stated[1]));
  assertClean(problems);
  await context.close();
});

// The lesson's slide in another lab's colours, as its last step says: read and counted as the first
// slide, then "Estimate the stains' colours" and Run. The page must count the lesson's two numbers.
test('the measuring lesson\'s slide in another lab\'s colours gives the lesson\'s counts, standard and estimated', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  const lesson = await (await fetch(`${bed.origin}/lessons/measuring/`)).text();
  const standard = lesson.match(/data-fact="l_positive">(\d+)</), own = lesson.match(/data-fact="e_positive">(\d+)</);
  assert.ok(standard && own, 'the lesson states both counts');
  assert.ok(Number(own[1]) < Number(standard[1]), `the brown patches are no longer counted: ${own[1]} against ${standard[1]}`);
  s = await readAndCount(page, `${bed.origin}/lessons/measuring/media/ihc-other-lab.png`);
  assert.equal(s.page.positive.count, Number(standard[1]));
  assert.equal(s.page.stainVectors.estimated, false);
  const runs = s.segmentation.runs;
  await clickControl(page, 'estimate_stains');
  await waitForShell(page, (st) => JSON.parse(st.page.params).estimate_stains === true, 'the box ticked');
  await page.keyboard.press('r');
  s = await waitForShell(page, (st) => st.segmentation.runs > runs && st.segmentation.hasResult && !st.segmentation.running &&
    st.page.positive.count !== null, 'the run with the slide\'s own colours', 120_000);
  assert.equal(s.page.stainVectors.estimated, true);
  assert.equal(s.page.positive.count, Number(own[1]));
  assertClean(problems);
  await context.close();
});

// Grading the lesson's stained slide, as a pathologist scores one: tick Grade under Count positive
// (QuPath's thresholds 0.2, 0.4, 0.6 on the nuclei's mean DAB density), and each nucleus is negative,
// 1+, 2+ or 3+ by its own mean; the counts, the H-score, the overlay's colours, the exports and a share
// link follow, and a 2+ threshold dragged below 1+ stops at it.
test('Grade: the nuclei of a stained slide are graded 1+ to 3+ by their DAB, with the H-score, and a link brings it back', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1300 } });
  const { page, problems } = await openApp(context, bed.origin);
  await waitForResult(page);
  const slide = `${bed.origin}/lessons/measuring/media/ihc-slide.png`;
  await readAndCount(page, slide);
  await clickControl(page, 'positive.grade');
  const s = await waitForShell(page, (st) => st.page.positive.hScore !== null, 'graded');
  assert.deepEqual([s.page.positive.otsu, s.page.positive.threshold, s.page.positive.grades], [false, 0.2, [0.4, 0.6]]);

  // Each nucleus's grade is how many thresholds its mean DAB density reaches; the counts and the
  // H-score are those of the table, and so are the record, the GeoJSON's classes and the overlay.
  const graded = async () => {
    const st = await waitForShell(page, (x) => x.page.positive.hScore !== null, 'graded');
    const r = await page.evaluate(() => window.celldrop.result());
    const cuts = [st.page.positive.threshold, ...st.page.positive.grades];
    const counts = [0, 0, 0, 0];
    for (const o of r.objects) {
      const grade = cuts.filter((t) => o.dab_od_mean >= t).length;
      assert.equal(o.grade, grade, `object ${o.label}: DAB ${o.dab_od_mean}`);
      assert.equal(o.positive, grade > 0 ? 1 : 0);
      counts[grade]++;
    }
    assert.deepEqual(st.page.positive.gradeCounts, counts);
    const hScore = 100 * (counts[1] + 2 * counts[2] + 3 * counts[3]) / r.objects.length;
    assert.ok(Math.abs(st.page.positive.hScore - hScore) < 1e-9, `${st.page.positive.hScore} against ${hScore}`);
    assert.deepEqual(r.record.positive.grades.thresholds, cuts);
    assert.deepEqual(r.record.positive.grades.objects, counts);
    return { st, r, counts, hScore };
  };
  let { st, r, counts, hScore } = await graded();
  assert.ok(counts.every((n) => n > 0), `every grade has nuclei on the lesson's slide: ${counts}`);
  const geojson = JSON.parse(new TextDecoder().decode((await page.evaluate(() => window.celldrop.export('geojson'))).bytes));
  const gradeOf = new Map(r.objects.map((o) => [o.label, o.grade]));
  for (const f of geojson.features) {
    assert.equal(f.properties.classification.name, ['Negative', '1+', '2+', '3+'][gradeOf.get(Number(f.properties.name))]);
  }
  const colours = [[0x56, 0xB4, 0xE9], [0xF0, 0xE4, 0x42], [0xE6, 0x9F, 0x00], [0xE8, 0x11, 0x2D]];
  assert.ok(await assertEdgeColours(page, r, st.segmentation.overlay.opacity, (id) => colours[gradeOf.get(id)]) > 100);
  await page.mouse.move(700, 5);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOTS, 'positive-graded.png') });

  // The 2+ slider at its left end, below the 1+ threshold: it stops at 1+, and no nucleus is 1+.
  await clickAt(page, st.page.ui['positive.grade2'], 0.01);
  st = await waitForShell(page, (x) => x.page.positive.grades?.[0] === 0.2, '2+ stopped at 1+');
  ({ st, r, counts, hScore } = await graded());
  assert.equal(counts[1], 0);
  assert.deepEqual(st.page.positive.grades, [0.2, 0.6]);

  // The link carries the three thresholds; opened with the same slide, it grades the same nuclei.
  const link = await page.evaluate(() => window.celldrop.shareLink());
  assert.match(link, /&positive=dab%3A0\.2%2C0\.2%2C0\.6(&|$)/);
  const second = await openApp(context, bed.origin, link.slice(link.indexOf('#')));
  let s2 = await waitForResult(second.page);
  await second.page.evaluate((url) => window.celldrop.open(url), slide);
  s2 = await waitForShell(second.page, (x) => x.segmentation.runs > s2.segmentation.runs && x.segmentation.hasResult &&
    !x.segmentation.running && x.page.positive.hScore !== null, 'graded as the link says', 120_000);
  assert.deepEqual([s2.page.positive.threshold, s2.page.positive.grades, s2.page.positive.gradeCounts], [0.2, [0.2, 0.6], counts]);
  assert.equal(s2.page.positive.hScore, st.page.positive.hScore);

  // The page API refuses grades without a 1+ threshold, and rising ones that do not rise; the count by
  // one threshold then stands. Unticked, the grades are gone from the table, the exports and the link.
  await assert.rejects(page.evaluate(() => window.celldrop.setPositive('dab', null, [0.4, 0.6])), /grades take three thresholds/);
  await assert.rejects(page.evaluate(() => window.celldrop.setPositive('dab', 0.5, [0.4, 0.6])), /must rise from 1\+ to 3\+, not 0.5, 0.4, 0.6/);
  st = await waitForShell(page, (x) => x.page.positive.threshold === 0.5 && x.page.positive.grades === null, 'one threshold');
  assert.equal(st.page.positive.hScore, null);
  await page.evaluate(() => window.celldrop.setPositive('dab', 0.2, [0.4, 0.6]));
  await clickControl(page, 'positive.grade');
  st = await waitForShell(page, (x) => x.page.positive.grades === null && x.page.positive.count !== null, 'grades off');
  r = await page.evaluate(() => window.celldrop.result());
  assert.ok(r.objects.every((o) => o.grade === undefined) && r.record.positive.grades === undefined);
  assert.match(await page.evaluate(() => window.celldrop.shareLink()), /&positive=dab%3A0\.2(&|$)/);
  assertClean(problems);
  assertClean(second.problems);
  await context.close();
});
