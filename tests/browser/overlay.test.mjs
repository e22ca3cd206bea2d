// The mask overlay in headless Chromium: outlines, filled colours or both, with the opacity slider.
// The filled colour of an object is a fixed hash of its id (src/app/overlay.cpp, restated here
// independently), and a screenshot of a known object's inside must show that colour blended over the
// image's grey by the opacity the slider holds.
//
// Needs the site assembled first: bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decodePng } from './png.mjs';
import {
  SHOTS, assertClean, waitForShell, openApp, waitForResult, clickControl, canvasTop, testBed,
} from './harness.mjs';

const bed = testBed();

// object_color(id): a multiplicative hash, then HSV (hue from 16 bits, saturation 140..230 of 255,
// value 255) in integer arithmetic.
function objectColor(id) {
  let h = Math.imul(id, 2654435761) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 2246822519) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  const hue = (h & 0xffff) * 6, sector = Math.floor(hue / 65536), f = hue % 65536;
  const s = 140 + Math.floor(((h >>> 16) & 0xff) * 90 / 255), v = 255, one = 255 * 65536;
  const p = Math.floor(v * (255 - s) / 255);
  const q = Math.floor(v * (one - s * f) / one);
  const t = Math.floor(v * (one - s * (65536 - f)) / one);
  return [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][Math.min(sector, 5)];
}

const rgbAt = (img, x, y) => Array.from(img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x) * img.channels + 3));

test('filled masks: each object its id\'s colour blended with the image by the opacity; outlines stay on the edges in "both"', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context, bed.origin);
  let s = await waitForResult(page);
  assert.equal(s.segmentation.overlay.mode, 'outlines');
  const top = await canvasTop(page);
  const labels = await page.evaluate(() => {
    const r = window.celldrop.result();
    return { width: r.labels.width, height: r.labels.height, data: Array.from(r.labels.data) };
  });
  const id = (x, y) => labels.data[y * labels.width + x];

  // Inside points: image pixels whose 7 x 7 neighbourhood is one object, so the screen pixel at
  // their centre is the object's fill whatever the rounding of the zoom. One per object, up to 12.
  const inside = [];
  const seen = new Set();
  for (let y = 3; y < labels.height - 3 && inside.length < 12; y += 2) {
    for (let x = 3; x < labels.width - 3 && inside.length < 12; x += 2) {
      const k = id(x, y);
      if (!k || seen.has(k)) continue;
      let whole = true;
      for (let dy = -3; dy <= 3 && whole; dy++) for (let dx = -3; dx <= 3; dx++) if (id(x + dx, y + dy) !== k) { whole = false; break; }
      if (!whole) continue;
      seen.add(k);
      inside.push({ x, y, id: k });
    }
  }
  assert.ok(inside.length >= 6, `objects with a 7 x 7 inside: ${inside.length}`);
  const screen = (st, p) => ({ x: Math.floor(st.view.originX + (p.x + 0.5) * st.view.zoom),
    y: Math.floor(st.view.originY + (p.y + 0.5) * st.view.zoom + top) });

  // The pointer away from the image, so no tooltip covers it.
  await page.mouse.move(5, Math.round(top) + 5);
  // The image alone: masks hidden with O.
  await page.keyboard.press('o');
  s = await waitForShell(page, (st) => !st.segmentation.overlay.visible, 'masks hidden');
  await page.waitForTimeout(200);
  const plain = decodePng(await page.screenshot({ path: path.join(SHOTS, 'overlay-none.png') }));
  await page.keyboard.press('o');
  await waitForShell(page, (st) => st.segmentation.overlay.visible, 'masks shown again');

  // Filled, at an opacity the slider is dragged to (whatever value it lands on is the one to blend by).
  await clickControl(page, 'overlay.filled');
  s = await waitForShell(page, (st) => st.segmentation.overlay.mode === 'filled', 'filled mode');
  const slider = s.page.ui['overlay.opacity'];
  await page.mouse.click(Math.round(slider.x0 + 0.5 * (slider.x1 - slider.x0)), Math.round((slider.y0 + slider.y1) / 2 + top), { delay: 60 });
  s = await waitForShell(page, (st) => Math.abs(st.segmentation.overlay.opacity - 0.9) > 0.05, 'the opacity moved');
  const alpha = s.segmentation.overlay.opacity;
  assert.ok(alpha > 0.3 && alpha < 0.85, `opacity ${alpha}`);
  await page.mouse.move(5, Math.round(top) + 5);
  await page.waitForTimeout(200);
  const filled = decodePng(await page.screenshot({ path: path.join(SHOTS, 'overlay-filled.png') }));
  const colours = new Set();
  for (const p of inside) {
    const at = screen(s, p);
    const grey = rgbAt(plain, at.x, at.y);
    assert.ok(grey[0] === grey[1] && grey[1] === grey[2], `the image alone is grey at ${JSON.stringify(at)}: ${grey}`);
    const c = objectColor(p.id);
    colours.add(c.join(','));
    const want = c.map((v) => grey[0] * (1 - alpha) + v * alpha);
    const got = rgbAt(filled, at.x, at.y);
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs(got[k] - want[k]) <= 2.5,
        `object ${p.id} at image ${p.x},${p.y}: screen ${got}, expected ${want.map((v) => v.toFixed(1))} (colour ${c}, grey ${grey[0]}, opacity ${alpha})`);
    }
  }
  assert.ok(colours.size >= inside.length - 1, 'distinct objects get distinct colours');

  // Both: edge pixels are the outline colour, insides keep the fill.
  await clickControl(page, 'overlay.both');
  s = await waitForShell(page, (st) => st.segmentation.overlay.mode === 'both', 'both mode');
  await page.mouse.move(5, Math.round(top) + 5);
  await page.waitForTimeout(200);
  const both = decodePng(await page.screenshot({ path: path.join(SHOTS, 'overlay-both.png') }));
  const first = inside[0];
  const at = screen(s, first);
  assert.deepEqual(rgbAt(both, at.x, at.y), rgbAt(filled, at.x, at.y), 'the inside keeps its fill');
  // Along the object's middle row, walk left from its inside to its first pixel, an edge pixel: the
  // outline yellow blended. Its left edge there runs nearly straight down, and the screen pixel may
  // fall either side of the image pixel's centre at this zoom: one of two neighbours must match.
  let sx = 0, sy = 0, n = 0;
  labels.data.forEach((v, i) => { if (v === first.id) { sx += i % labels.width; sy += Math.floor(i / labels.width); n++; } });
  const row = Math.round(sy / n);
  let ex = Math.round(sx / n);
  assert.equal(id(ex, row), first.id, 'the centroid of a round object lies inside it');
  while (id(ex - 1, row) === first.id) ex--;
  const edge = screen(s, { x: ex, y: row });
  const blends = [edge.x - 1, edge.x, edge.x + 1].map((x) => {
    const grey = rgbAt(plain, x, edge.y)[0], got = rgbAt(both, x, edge.y);
    return { x, got, ok: [0xff, 0xd2, 0x1e].every((v, k) => Math.abs(got[k] - (grey * (1 - alpha) + v * alpha)) <= 2.5) };
  });
  assert.ok(blends.some((b) => b.ok), `edge pixel ${ex},${row} of object ${first.id}: ${JSON.stringify(blends)}`);
  assertClean(problems);
  await context.close();
});
