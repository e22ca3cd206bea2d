// End to end in headless Chromium (Debian's, driven by playwright-core, WebGL2 over SwiftShader):
// the assembled site is served by scripts/serve.mjs exactly as the start command serves it, and the
// page is checked the way a person would look at it: pixels of screenshots, the wheel, the keys.
//
// Needs the site assembled first (scripts/test.sh does it): bash scripts/build.sh wasm site
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodePng, greyAt } from './png.mjs';
import {
  ROOT, SHOTS, launch, watchedPage as watched, assertClean, shell, waitForShell, openApp as open, waitForResult,
  clickControl, canvasTop, saveDocShot, READY_TIMEOUT_MS, testBed,
} from './harness.mjs';

const bed = testBed();

const watchedPage = (context) => watched(context, bed.origin);
const openApp = (context, suffix = '') => open(context, bed.origin, suffix);

// What the viewer must draw for one sample value: the display mapping of src/app/display.cpp,
// restated here independently.
function expectedGrey(value, lo, hi) {
  if (!(hi > lo)) return value > lo ? 255 : 0;
  if (value <= lo) return 0;
  if (value >= hi) return 255;
  return Math.round((value - lo) / (hi - lo) * 255);
}

function regionStats(img, x0, y0, x1, y1) {
  let n = 0, sum = 0, sum2 = 0;
  const values = [];
  for (let y = Math.ceil(y0); y < Math.floor(y1); y++) {
    for (let x = Math.ceil(x0); x < Math.floor(x1); x++) {
      const v = greyAt(img, x, y);
      n++; sum += v; sum2 += v * v;
      values.push(v);
    }
  }
  values.sort((a, b) => a - b);
  const mean = sum / n;
  return { n, mean, sd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), values };
}

test('the app starts isolated and clean, and shows the synthetic sample', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page, problems } = await openApp(context);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP must make the page cross-origin isolated');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
  const s = await shell(page);
  assert.equal(s.error, null);
  assert.deepEqual([s.image.width, s.image.height, s.image.channels, s.image.type], [512, 512, 1, 'uint16']);
  assert.ok(s.image.groundTruthObjects > 20, `sample should hold many nuclei, has ${s.image.groundTruthObjects}`);
  assert.ok(s.view.fitted);
  // The fitted image lies inside the viewer and fills it along one axis (less the margin).
  const { imageRect: r, viewport: v } = s;
  assert.ok(r.x0 >= v.x0 && r.y0 >= v.y0 && r.x1 <= v.x1 + 0.5 && r.y1 <= v.y1 + 0.5, JSON.stringify(s));
  assert.ok(Math.min(v.x1 - v.x0 - (r.x1 - r.x0), v.y1 - v.y0 - (r.y1 - r.y0)) <= 2 * 16 + 1);

  // Point at a nucleus so the status line shows what the README should show: coordinates and value.
  const top0 = await page.evaluate(() => document.getElementById('canvas').getBoundingClientRect().top);
  await page.mouse.move(Math.round((r.x0 + r.x1) / 2), Math.round((r.y0 + r.y1) / 2 + top0));
  await waitForShell(page, (st) => st.hover !== null, 'the pointer to read a pixel');
  const file = path.join(SHOTS, 'app-sample-fit.png');
  const png = await page.screenshot({ path: file });
  const img = decodePng(png);
  const top = await page.evaluate(() => document.getElementById('canvas').getBoundingClientRect().top);
  // Inside the image: dark background with bright nuclei, i.e. high contrast and a bright tail.
  const inside = regionStats(img, r.x0 + 2, r.y0 + top + 2, r.x1 - 2, r.y1 + top - 2);
  assert.ok(inside.sd > 30, `image area looks blank (sd ${inside.sd.toFixed(1)})`);
  const dark = inside.values[Math.floor(inside.n * 0.2)], bright = inside.values[Math.floor(inside.n * 0.99)];
  assert.ok(dark < 50 && bright > 150, `expected dark background and bright nuclei, got p20 ${dark}, p99 ${bright}`);
  const brightShare = inside.values.filter((x) => x > (dark + bright) / 2).length / inside.n;
  assert.ok(brightShare > 0.1 && brightShare < 0.7, `share of bright (nuclear) pixels ${brightShare.toFixed(2)}`);
  // Beside the image the viewer is plain: nothing drawn there.
  const beside = regionStats(img, v.x0 + 4, r.y0 + top + 4, r.x0 - 4, r.y1 + top - 4);
  assert.ok(beside.n > 100 && beside.sd < 1, `viewer beside the image should be plain, sd ${beside.sd}`);
  // The README's picture: the sample segmented, the pointer on it. Refreshed on request only, so a
  // test run leaves the work tree clean:   CELLDROP_UPDATE_DOCS=1 node --test tests/browser/
  if (process.env.CELLDROP_UPDATE_DOCS === '1') {
    await waitForResult(page);
    await page.mouse.move(Math.round((r.x0 + r.x1) / 2) + 1, Math.round((r.y0 + r.y1) / 2 + top0));
    await page.waitForTimeout(500);
    fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshot.png') });
  }
  assertClean(problems);
  await context.close();
});

test('wheel zooms about the pointer, pixels are drawn with the exact contrast mapping, F fits, 1 is 1:1, drag pans', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const { page, problems } = await openApp(context);
  const top = await page.evaluate(() => document.getElementById('canvas').getBoundingClientRect().top);
  let s = await shell(page);
  const fitZoom = s.view.zoom;

  // Wheel over a point of the image: zoom grows and that image point stays under the pointer.
  // Mouse events carry whole page pixels; the canvas starts `top` pixels down (below the header
  // line), and Dear ImGui floors the pointer position, so the pointer in canvas coordinates is
  // floor(pageX), floor(pageY - top).
  const pageX = Math.round(s.imageRect.x0 + (s.imageRect.x1 - s.imageRect.x0) * 0.37);
  const pageY = Math.round(s.imageRect.y0 + (s.imageRect.y1 - s.imageRect.y0) * 0.61 + top);
  const px = pageX, py = Math.floor(pageY - top);
  const imageUnder = (st) => [(px - st.view.originX) / st.view.zoom, (py - st.view.originY) / st.view.zoom];
  const before = imageUnder(s);
  await page.mouse.move(pageX, pageY);
  for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -100);
  s = await waitForShell(page, (st) => st.view.zoom > fitZoom * 5, 'the wheel to zoom in');
  assert.equal(s.view.fitted, false);
  const afterZoom = imageUnder(s);
  assert.ok(Math.abs(afterZoom[0] - before[0]) < 0.5 && Math.abs(afterZoom[1] - before[1]) < 0.5,
    `zoom must keep the image point under the pointer: ${before} -> ${afterZoom}`);

  // Point at the centre of one image pixel and compare the screenshot with the mapping of its value.
  const ix = Math.floor(afterZoom[0]) + 3, iy = Math.floor(afterZoom[1]) - 2;
  const sx = Math.round(s.view.originX + (ix + 0.5) * s.view.zoom);
  const sy = Math.round(s.view.originY + (iy + 0.5) * s.view.zoom + top);  // page coordinates
  await page.mouse.move(sx, sy);
  s = await waitForShell(page, (st) => st.hover && st.hover.x === ix && st.hover.y === iy, `hover on pixel ${ix},${iy}`);
  const shot = decodePng(await page.screenshot({ path: path.join(SHOTS, 'app-zoomed.png') }));
  // Several pixels around the pointer sample the same image pixel (it is many screen pixels wide).
  const grey = greyAt(shot, sx - 1, sy - 1);
  const want = expectedGrey(s.hover.value, s.contrast.min, s.contrast.max);
  assert.ok(Math.abs(grey - want) <= 1, `pixel ${ix},${iy} value ${s.hover.value} should show grey ${want}, shows ${grey}`);

  // Drag pans by exactly the pointer's travel.
  const o = [s.view.originX, s.view.originY];
  await page.mouse.down();
  await page.mouse.move(sx - 40, sy + 25, { steps: 4 });
  await page.mouse.up();
  s = await waitForShell(page, (st) => Math.abs(st.view.originX - (o[0] - 40)) < 0.01, 'the drag to pan');
  assert.ok(Math.abs(s.view.originY - (o[1] + 25)) < 0.01, `pan y: ${o[1]} -> ${s.view.originY}`);

  await page.keyboard.press('f');
  s = await waitForShell(page, (st) => st.view.fitted, 'F to fit');
  assert.ok(Math.abs(s.view.zoom - fitZoom) < 1e-9, `fit zoom ${s.view.zoom} vs ${fitZoom}`);

  await page.keyboard.press('1');
  s = await waitForShell(page, (st) => Math.abs(st.view.zoomPercent - 100) < 1e-6, '1 for 1:1');
  assert.equal(s.view.fitted, false);
  assertClean(problems);
  await context.close();
});

test('? lists the keys, whatever the keyboard layout, and Esc closes the list', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const { page, problems } = await openApp(context);
  await waitForResult(page);
  await page.keyboard.press('Shift+Slash');  // '?' on a US layout; the page reads the character
  let s = await waitForShell(page, (st) => st.page.keysShown, 'the list of keys');
  await page.screenshot({ path: path.join(SHOTS, 'app-keys.png') });
  await page.keyboard.press('Escape');
  s = await waitForShell(page, (st) => !st.page.keysShown, 'the list closed');
  assert.equal(s.segmentation.running, false);
  assertClean(problems);
  await context.close();
});

test('on a HiDPI screen the canvas has device resolution', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 900, height: 640 }, deviceScaleFactor: 2 });
  const { page, problems } = await openApp(context);
  const s = await shell(page);
  assert.equal(s.devicePixelRatio, 2);
  assert.equal(s.canvas.width, s.canvas.cssWidth * 2);
  assert.equal(s.canvas.height, s.canvas.cssHeight * 2);
  // 1:1 means one image pixel per device pixel, so half a CSS pixel per image pixel.
  await page.keyboard.press('1');
  const one = await waitForShell(page, (st) => !st.view.fitted, '1 for 1:1');
  assert.ok(Math.abs(one.view.zoom - 0.5) < 1e-9, `zoom ${one.view.zoom}`);
  await page.keyboard.press('f');
  await waitForShell(page, (st) => st.view.fitted, 'F to fit');
  await page.screenshot({ path: path.join(SHOTS, 'app-hidpi.png') });
  assertClean(problems);
  await context.close();
});

test('on a phone held upright the image is on top, the panel below, and a finger scrolls the panel', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
  const { page, problems } = await openApp(context);
  let s = await waitForResult(page);
  assert.deepEqual([s.viewport.x0, s.viewport.y0, s.viewport.x1], [0, 0, s.canvas.cssWidth], 'the viewer spans the width');
  const open = s.page.ui.open, view = s.view;
  assert.ok(open.y0 > s.viewport.y1, `the panel (its Open button at ${open.y0}) is below the image (to ${s.viewport.y1})`);
  // A finger dragged up over the panel's background, right of its buttons.
  const top = await canvasTop(page);
  const cdp = await context.newCDPSession(page);
  const touch = (type, y) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x: 350, y: y + top }] });
  const y0 = Math.round(s.viewport.y1 + 120);
  await touch('touchStart', y0);
  for (let y = y0 - 10; y >= y0 - 100; y -= 10) {
    await touch('touchMove', y);
    await page.waitForTimeout(20);
  }
  await touch('touchEnd', y0 - 100);
  s = await waitForShell(page, (st) => st.page.ui.open.y0 <= open.y0 - 60, 'the panel scrolled by the finger');
  assert.deepEqual([s.view.originX, s.view.originY, s.view.zoom], [view.originX, view.originY, view.zoom], 'the image did not move');
  // Further down, the object table: a finger on its rows scrolls them and selects nothing.
  const drag = async (x, from, to) => {
    const steps = 12;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y: from + top }] });
    for (let k = 1; k <= steps; k++) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y: from + ((to - from) * k) / steps + top }] });
      await page.waitForTimeout(20);
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await page.waitForTimeout(100);
  };
  for (let k = 0; k < 8 && !((await shell(page)).page.table.visibleRows.length >= 3); k++) await drag(350, y0, y0 - 250);
  s = await shell(page);
  const rows = s.page.table.visibleRows;
  assert.ok(rows.length >= 3, `the table is in view: ${JSON.stringify(rows)}`);
  const row = rows[rows.length - 1];
  await drag(Math.round((row.x0 + row.x1) / 2), Math.round((row.y0 + row.y1) / 2), Math.round((row.y0 + row.y1) / 2) - 60);
  s = await waitForShell(page, (st) => st.page.table.visibleRows[0]?.id > rows[0].id, 'the rows scrolled by the finger');
  assert.equal(s.page.table.selected, 0, 'a finger that scrolled the rows selected none');
  await page.screenshot({ path: path.join(SHOTS, 'app-phone.png') });
  assertClean(problems);
  await context.close();
});

test('a missing module file gives a clear message, not a blank page', async () => {
  // No service worker: once it has installed and claimed the page (on a slow machine, before the
  // page asks for the .wasm), it fetches the file itself, which page.route never sees.
  const context = await bed.browser.newContext({ viewport: { width: 900, height: 600 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.route('**/celldrop-app.wasm', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${bed.origin}/app/`);
  await page.waitForFunction(() => document.body.dataset.state === 'fatal', null, { timeout: READY_TIMEOUT_MS });
  const text = await page.textContent('#message');
  assert.match(text, /could not start/);
  assert.ok(await page.isVisible('#message'));
  await context.close();
});

test('without WebGL2 the page says what is missing', async () => {
  const noGl = await launch(['--disable-3d-apis', '--disable-webgl']);
  try {
    const page = await noGl.newPage();
    await page.goto(`${bed.origin}/app/`);
    await page.waitForFunction(() => document.body.dataset.state === 'fatal', null, { timeout: 30_000 });
    assert.match(await page.textContent('#message'), /WebGL2/);
    await page.screenshot({ path: path.join(SHOTS, 'app-no-webgl2.png') });
  } finally {
    await noGl.close();
  }
});

test('the landing page and the lesson load, with no broken links', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const { page, problems } = await watchedPage(context);
  const seen = new Set();
  const pages = [`${bed.origin}/`];
  for (let i = 0; i < pages.length; i++) {
    const url = pages[i];
    const res = await page.goto(url);
    assert.equal(res.status(), 200, url);
    await page.waitForLoadState('load');
    const name = new URL(url).pathname.replace(/\/$/, '/index').replace(/^\//, '').replace(/[^a-z0-9]+/gi, '-');
    await page.screenshot({ path: path.join(SHOTS, `site-${name}.png`), fullPage: true });
    // Every image on the page decoded (a broken <img> has naturalWidth 0).
    const broken = await page.$$eval('img', (imgs) => imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src));
    assert.deepEqual(broken, [], `broken images on ${url}`);
    const alts = await page.$$eval('img', (imgs) => imgs.filter((i) => !i.alt).map((i) => i.src));
    assert.deepEqual(alts, [], `images without alt text on ${url}`);
    const links = await page.$$eval('a[href], link[href], img[src], script[src]', (els) =>
      els.map((e) => e.href || e.src));
    for (const link of links) {
      const u = new URL(link);
      u.hash = '';
      if (u.origin !== bed.origin) assert.fail(`${url} links outside the site: ${link}`);
      if (seen.has(u.href)) continue;
      seen.add(u.href);
      const r = await page.request.get(u.href);
      assert.equal(r.status(), 200, `${url} links to ${u.href}`);
      // Follow the site's own HTML pages, but not into the app (tested above).
      if (/text\/html/.test(r.headers()['content-type']) && !u.pathname.startsWith('/app/') && !pages.includes(u.href)) pages.push(u.href);
    }
  }
  assert.ok(pages.some((p) => p.includes('/lessons/')), `the landing page must link to the lessons: ${pages}`);
  assertClean(problems);
  await context.close();
});

// The object under a screen point, from the published view (canvas coordinates) and the labels.
function screenOfImage(s, x, y) {
  return { x: s.view.originX + x * s.view.zoom, y: s.view.originY + y * s.view.zoom };
}

test('the object table: a row click selects and centres the object, a click on an object selects its row, headers sort', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const { page, problems } = await openApp(context);
  let s = await waitForResult(page);
  const top = await canvasTop(page);
  const { objects, labels } = await page.evaluate(() => {
    const r = window.celldrop.result();
    return { objects: r.objects, labels: { width: r.labels.width, data: Array.from(r.labels.data) } };
  });
  assert.equal(s.page.table.rows, objects.length);

  // A row: the second visible one.
  s = await waitForShell(page, (st) => st.page.table.visibleRows.length >= 2, 'table rows on screen');
  const row = s.page.table.visibleRows[1];
  await page.mouse.click(Math.round((row.x0 + row.x1) / 2), Math.round((row.y0 + row.y1) / 2 + top), { delay: 60 });
  s = await waitForShell(page, (st) => st.page.table.selected === row.id, `row ${row.id} selected`);
  const m = objects.find((o) => o.label === row.id);
  const at = screenOfImage(s, m.centroid_x + 0.5, m.centroid_y + 0.5);
  const centre = [(s.viewport.x0 + s.viewport.x1) / 2, (s.viewport.y0 + s.viewport.y1) / 2];
  assert.ok(Math.abs(at.x - centre[0]) < 1 && Math.abs(at.y - centre[1]) < 1,
    `object ${row.id} must be centred: at ${at.x},${at.y}, viewer centre ${centre}`);
  await page.keyboard.press('f');
  s = await waitForShell(page, (st) => st.view.fitted, 'F to fit');

  // An object in the image, far down the table (the largest id): pointing shows its measurements,
  // a click selects its row and brings it into view.
  const target = objects[objects.length - 1];
  const px = Math.round(target.centroid_x), py = Math.round(target.centroid_y);
  assert.equal(labels.data[py * labels.width + px], target.label, 'the centroid pixel belongs to the object');
  const p = screenOfImage(s, px + 0.5, py + 0.5);
  await page.mouse.move(Math.round(p.x), Math.round(p.y + top));
  s = await waitForShell(page, (st) => st.segmentation.hoverObject?.id === target.label, 'hover on the object');
  assert.equal(s.segmentation.hoverObject.area, target.area_px);
  const hoverShot = path.join(SHOTS, 'state-hover.png');
  await page.screenshot({ path: hoverShot });
  saveDocShot(hoverShot, 'state-hover.png');
  await page.mouse.down();
  await page.waitForTimeout(60);
  await page.mouse.up();
  s = await waitForShell(page, (st) => st.page.table.selected === target.label &&
    st.page.table.visibleRows.some((r) => r.id === target.label), 'its row selected and in view');

  // Sorting by area: one click ascending, another descending.
  const areas = new Map(objects.map((o) => [o.label, o.area_px]));
  const header = s.page.table.headers['area px'];
  const clickHeader = () => page.mouse.click(Math.round((header.x0 + header.x1) / 2), Math.round((header.y0 + header.y1) / 2 + top), { delay: 60 });
  await clickHeader();
  s = await waitForShell(page, (st) => st.page.table.sortColumn === 'area px', 'sorted by area');
  const asc = s.page.table.order.map((id) => areas.get(id));
  assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
  assert.equal(asc[0], Math.min(...areas.values()));
  await clickHeader();
  s = await waitForShell(page, (st) => st.page.table.sortColumn === 'area px' && !st.page.table.ascending, 'sorted by area, descending');
  assert.equal(areas.get(s.page.table.order[0]), Math.max(...areas.values()));
  assertClean(problems);
  await context.close();
});

test('screenshots of the main states: the sample segmented, the parameters', async () => {
  const context = await bed.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const { page, problems } = await openApp(context);
  await waitForResult(page);
  const sampleShot = path.join(SHOTS, 'state-sample.png');
  await page.screenshot({ path: sampleShot });
  saveDocShot(sampleShot, 'state-sample.png');
  await clickControl(page, 'advanced');
  await waitForShell(page, (st) => st.page.ui.advanced && st.frames > 0, 'the parameters open');
  await page.waitForTimeout(300);
  const paramsShot = path.join(SHOTS, 'state-parameters.png');
  await page.screenshot({ path: paramsShot });
  saveDocShot(paramsShot, 'state-parameters.png');
  const img = decodePng(fs.readFileSync(paramsShot));
  assert.equal(img.width, 1280);
  assertClean(problems);
  await context.close();
});
