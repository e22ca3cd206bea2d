#!/usr/bin/env node
// Dragging the threshold of "Count positive" on a large image, in headless Chromium, as a person does
// it: a synthetic SIZE x SIZE image is dropped and segmented with the page's defaults, counting is
// turned on (the marker's channel is the image's one channel), and the mouse drags the threshold
// slider in STEPS steps, 120 ms apart. Each step that moves the threshold past some nuclei's means
// changes their class and so their colour in the overlay.
//
// Reported, from the page's own animation frames (requestAnimationFrame times):
//   idle            the frame interval before the drag (the display's pace);
//   drag            frames drawn during the drag, the median and slowest intervals, and the frames
//                   slower than 50 ms (each such frame is a visible stutter);
//   whole layer     the slowest frame after each of a few overlay mode switches (Outlines <-> Filled),
//                   which rebuild the whole overlay layer: what each class change would cost if it
//                   rebuilt the layer instead of repainting the boxes of the objects that changed.
//
//   node bench/count_drag_bench.mjs [--size 4096] [--steps 30]
// Needs: bash scripts/build.sh wasm site. Figures for this machine are in bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertSiteBuilt, startServer, launch, openApp, waitForResult, waitForShell, dropFile, sha256File, synthImage,
  clickControl, canvasTop } from '../tests/browser/harness.mjs';

const opt = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const size = Number(opt('size', '4096'));
const steps = Number(opt('steps', '30'));
assertSiteBuilt();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-count-drag-'));
const image = synthImage(tmp, 3, ['--width', String(size), '--height', String(size)]);
const { child, origin } = await startServer();
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const { page } = await openApp(context, origin);
  await waitForResult(page);
  const started = Date.now();
  await dropFile(page, image, path.basename(image));
  let s = await waitForResult(page, sha256File(image));
  console.log(`${size} x ${size}: ${s.segmentation.count} objects, drop -> masks ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await clickControl(page, 'positive.count');
  s = await waitForShell(page, (st) => st.page.positive.count >= 0, 'the count');
  await page.evaluate(() => {
    window.benchFrames = [];
    const tick = (t) => { window.benchFrames.push(t); requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await page.waitForTimeout(1000);
  const frames = () => page.evaluate(() => window.benchFrames);
  const intervals = (all, from, to) => {
    const f = all.filter((t) => t >= from && t <= to);
    return f.slice(1).map((t, i) => t - f[i]).sort((a, b) => a - b);
  };
  const now = () => page.evaluate(() => performance.now());

  // The drag, from 40% of the slider rightwards.
  const r = s.page.ui['positive.threshold'];
  const y = Math.round((r.y0 + r.y1) / 2 + await canvasTop(page));
  const at = (f) => Math.round(r.x0 + f * (r.x1 - r.x0));
  const before = s.page.positive;
  await page.mouse.move(at(0.4), y);
  await page.mouse.down();
  const dragFrom = await now();
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(at(0.4 + (0.3 * i) / steps), y);
    await page.waitForTimeout(120);
  }
  const dragTo = await now();
  await page.mouse.up();
  s = await waitForShell(page, () => true, 'the state');
  const after = s.page.positive;

  // Whole-layer rebuilds: the overlay mode switched back and forth.
  const rebuilds = [];
  for (const mode of ['filled', 'outlines', 'filled', 'outlines']) {
    const from = await now();
    await clickControl(page, `overlay.${mode}`);
    await page.waitForTimeout(600);
    rebuilds.push(intervals(await frames(), from, from + 600).at(-1));
  }
  const all = await frames();
  const idle = intervals(all, dragFrom - 1000, dragFrom);
  const drag = intervals(all, dragFrom, dragTo);
  const ms = (x) => `${Math.round(x)} ms`;
  console.log(`idle: frame interval ${ms(idle[idle.length >> 1])}`);
  console.log(`drag: threshold ${before.threshold.toFixed(1)} -> ${after.threshold.toFixed(1)}, positive ${before.count} -> ` +
    `${after.count}; ${drag.length + 1} frames in ${ms(dragTo - dragFrom)}, median interval ${ms(drag[drag.length >> 1])}, ` +
    `slowest ${ms(drag.at(-1))}, ${drag.filter((g) => g > 50).length} over 50 ms`);
  console.log(`whole layer: slowest frame after a mode switch ${rebuilds.map(ms).join(', ')}`);
} finally {
  await browser.close();
  child.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
}
