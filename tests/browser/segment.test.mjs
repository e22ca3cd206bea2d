// Segmentation in the page, end to end on the WASM backend (WebGPU is off in this Chromium): a
// hand-made star model and a copy of it with a wrong sha256 are put into a copy of the assembled
// site's models/, the page segments its embedded sample in the worker, and its object count must
// equal the CLI's with --backend wasm on the same image (synth seed 1, which the sample is).
// Cancel, a bad model, the outline toggle and hovering an object are checked through the real UI.
//
// Needs: bash scripts/build.sh wasm site (the site, the CLI's module), Debian's python3-onnx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodePng } from './png.mjs';
import {
  ROOT, SITE, SHOTS, CLI, PYTHON, RUN_TIMEOUT_MS, startServer, openApp, assertClean, waitForShell, run,
  labelsFileChecksum, testBed,
} from './harness.mjs';

// The hand-made network with decisive outputs (tests/fixtures/hand_made_star.py).
const HAND_MADE = path.join(ROOT, 'tests', 'fixtures', 'hand_made_star.py');

let expected, expectedChecksum;
let brokenOrigin;  // the same site without ONNX Runtime's files

const bed = testBed({
  tmp: 'page-segment',
  prepare: async (bed) => {
    const { tmp } = bed;
    // The site with only the test models (the shipped ones removed): blur-star, corrupt-star whose card
    // names another sha256, and slow-star.
    const site = path.join(tmp, 'site');
    fs.cpSync(SITE, site, { recursive: true });
    const models = path.join(site, 'models');
    fs.rmSync(models, { recursive: true, force: true });
    fs.mkdirSync(models, { recursive: true });
    run(PYTHON, [HAND_MADE, models, 'blur-star']);
    run(PYTHON, [HAND_MADE, models, 'corrupt-star']);
    run(PYTHON, [HAND_MADE, models, 'slow-star', 'slow']);
    const badCard = path.join(models, 'corrupt-star.json');
    const card = JSON.parse(fs.readFileSync(badCard, 'utf8'));
    card.onnx.sha256 = card.onnx.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    fs.writeFileSync(badCard, JSON.stringify(card, null, 1));
    run(PYTHON, [path.join(ROOT, 'scripts', 'model-index.py'), models]);

    // What the CLI finds on the same image with the same model and default parameters.
    const images = path.join(tmp, 'images');
    run(process.execPath, [CLI, 'synth', '--seed', '1', '--out', images]);
    const out = run(process.execPath, [CLI, 'segment', path.join(images, 'synth-1.png'), '--out', path.join(tmp, 'cli'),
      '--model', path.join(models, 'blur-star.json'), '--backend', 'wasm', '--threads', '1']);
    expected = JSON.parse(out.trim().split('\n')[0]);
    assert.ok(expected.objects > 20, `the CLI should find many objects: ${out}`);
    expectedChecksum = labelsFileChecksum(path.join(tmp, 'cli', 'synth-1.png'));

    bed.root = site;
    const broken = path.join(tmp, 'broken-site');
    fs.cpSync(site, broken, { recursive: true });
    fs.rmSync(path.join(broken, 'app', 'ort'), { recursive: true });
    const brokenServer = await startServer(broken);
    brokenOrigin = brokenServer.origin;
    bed.cleanups.push(() => brokenServer.child.kill());
  },
});

// Pixels of the outline colour (yellow, src/app/main.cpp) inside the image on screen: grey image
// pixels never have red and green far above blue.
async function yellowPixels(page, file) {
  const box = await page.locator('#canvas').boundingBox();
  const r = await page.evaluate(() => window.celldropShell.imageRect);
  const buf = await page.screenshot({ path: path.join(SHOTS, file) });
  const img = decodePng(buf);
  let n = 0;
  for (let y = Math.ceil(box.y + r.y0); y < Math.floor(box.y + r.y1); y++) {
    for (let x = Math.ceil(box.x + r.x0); x < Math.floor(box.x + r.x1); x++) {
      const i = (y * img.width + x) * img.channels;
      if (img.data[i] > 180 && img.data[i + 1] > 140 && img.data[i + 2] < 90) n++;
    }
  }
  return n;
}

const seg = (page) => page.evaluate(() => window.celldropShell?.segmentation ?? null);

// The page's segmentation state once it satisfies `predicate`.
async function waitForSeg(page, predicate, what, timeout = RUN_TIMEOUT_MS) {
  return (await waitForShell(page, (st) => st.segmentation && predicate(st.segmentation), what, timeout)).segmentation;
}

// Clicks the middle of a rectangle the page published (canvas CSS pixels).
async function clickRect(page, r) {
  const box = await page.locator('#canvas').boundingBox();
  await page.mouse.click(box.x + (r.x0 + r.x1) / 2, box.y + (r.y0 + r.y1) / 2);
}

test('the page segments the sample in its worker: the CLI\'s count, outlines, hover, cancel, a bad model', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, bed.origin);
  assert.equal(await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter())), false,
    'WebGPU must be unavailable here (no adapter), so the WASM backend is what runs');

  // Opening the page segments the sample once with the first model (no nuclei-star here).
  let s = await waitForSeg(page, (x) => x.runs >= 1 || x.error, 'the automatic first run');
  assert.equal(s.error, null);
  assert.deepEqual(s.models, ['blur-star', 'corrupt-star', 'slow-star']);
  assert.equal(s.model, 'blur-star');
  assert.equal(s.backend, 'wasm');
  assert.equal(s.count, expected.objects, 'the page and the CLI (--backend wasm) must find the same objects');
  assert.equal(s.labelsChecksum, expectedChecksum, 'the page\'s labels must be the CLI\'s, pixel for pixel');
  assert.equal(Number(s.diameter.toFixed(2)), expected.diameter);
  assert.equal(s.diameterEstimated, true);
  assert.equal(s.tilesRun, expected.tiles);
  assert.ok(s.timings.inference > 0 && s.timings.total >= s.timings.inference, JSON.stringify(s.timings));
  assert.equal(s.outlines.visible, true);

  // Hovering: some point of the image lies on an object, and reports its id and area.
  const box = await page.locator('#canvas').boundingBox();
  const r = (await page.evaluate(() => window.celldropShell.imageRect));
  let hovered = null;
  for (let i = 1; i < 40 && !hovered; i++) {
    const fx = ((i * 7) % 40) / 40, fy = ((i * 13) % 40) / 40;
    await page.mouse.move(box.x + r.x0 + (r.x1 - r.x0) * fx, box.y + r.y0 + (r.y1 - r.y0) * fy);
    await page.waitForTimeout(60);
    hovered = (await seg(page)).hoverObject;
  }
  assert.ok(hovered, 'no object under any of the probed points');
  assert.ok(hovered.id >= 1 && hovered.id <= s.count && hovered.area > 0, JSON.stringify({ hovered, count: s.count }));
  const shown = await yellowPixels(page, 'segmented-sample.png');
  assert.ok(shown > 5000, `outlines should be drawn over the image: ${shown} yellow pixels`);

  // O hides and shows the outlines.
  await page.keyboard.press('o', { delay: 60 });
  await waitForSeg(page, (x) => !x.outlines.visible, 'outlines hidden', 5000);
  await page.waitForTimeout(200);  // the frame after the state is on screen
  const hidden = await yellowPixels(page, 'segmented-sample-no-outlines.png');
  assert.ok(hidden < 50, `O should hide the outlines: ${hidden} yellow pixels left`);
  await page.keyboard.press('o', { delay: 60 });
  await waitForSeg(page, (x) => x.outlines.visible, 'outlines shown', 5000);

  // Cancel, on a model that takes seconds per tile (two passes: the automatic diameter's first):
  // the run stops before its next tile, the masks from before stay.
  await clickRect(page, s.ui.models[2]);
  s = await waitForSeg(page, (x) => x.model === 'slow-star', 'the slow model chosen', 5000);
  await page.keyboard.press('r', { delay: 60 });
  s = await waitForSeg(page, (x) => x.running && x.progress.stage === 'tiles', 'the slow run\'s first tile');
  assert.equal(s.progress.passes, 2);
  const cancelledAt = Date.now();
  await clickRect(page, s.ui.cancel);
  s = await waitForSeg(page, (x) => !x.running, 'the cancel', 30_000);
  assert.equal(s.cancelled, true, JSON.stringify(s));
  assert.equal(s.error, null);
  assert.equal(s.runs, 1, 'the cancelled run must not count as finished');
  assert.equal(s.count, expected.objects, 'the masks before the cancelled run stay');
  assert.ok(Date.now() - cancelledAt < 20_000, 'Cancel took too long');

  // A model whose file does not match its card's sha256: a clear error, and the app stays usable.
  await clickRect(page, s.ui.models[1]);
  s = await waitForSeg(page, (x) => x.model === 'corrupt-star', 'the bad model chosen', 5000);
  await clickRect(page, s.ui.run);
  s = await waitForSeg(page, (x) => !x.running && x.error, 'the bad model\'s error');
  assert.match(s.error, /corrupt-star/);
  assert.match(s.error, /sha-?256/i);
  await page.screenshot({ path: path.join(SHOTS, 'segment-bad-model.png') });
  await clickRect(page, s.ui.models[0]);
  await waitForSeg(page, (x) => x.model === 'blur-star', 'the good model chosen', 5000);
  const runs = s.runs;
  await page.keyboard.press('r', { delay: 60 });
  s = await waitForSeg(page, (x) => x.runs > runs || (x.error && !/corrupt-star/.test(x.error)), 'a run after the error');
  assert.equal(s.error, null);
  assert.equal(s.count, expected.objects);

  assertClean(problems);
  await context.close();
});

test('a site without ONNX Runtime\'s files says so, and the page stays usable', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, brokenOrigin);
  // The automatic first run meets the missing file.
  let s = await waitForSeg(page, (x) => !x.running && x.error, 'the error of the automatic run');
  assert.match(s.error, /ONNX Runtime Web/);
  assert.match(s.error, /scripts\/build\.sh site/);
  assert.equal(s.hasResult, false);
  await page.screenshot({ path: path.join(SHOTS, 'segment-no-runtime.png') });
  // The viewer still answers: F fits, the shell keeps publishing.
  const frames = (await page.evaluate(() => window.celldropShell.frames));
  await page.keyboard.press('f', { delay: 60 });
  await page.waitForFunction((f) => window.celldropShell.frames > f, frames, { timeout: 10_000 });
  assert.equal((await page.evaluate(() => window.celldropShell.error)), null);
  assertClean(problems, { allowFailed: ['/app/ort/'] });
  await context.close();
});
