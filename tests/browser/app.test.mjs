// End to end in headless Chromium (Debian's, driven by playwright-core, WebGL2 over SwiftShader):
// the assembled site is served by scripts/serve.mjs exactly as the start command serves it, and the
// page is checked the way a person would look at it: pixels of screenshots, the wheel, the keys.
//
// Needs the site assembled first (scripts/test.sh does it): bash scripts/build.sh wasm site
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng, greyAt } from './png.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(process.env.CELLDROP_BUILD || path.join(ROOT, 'build'));
const SITE = path.join(BUILD, 'site');
const SHOTS = path.join(BUILD, 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const READY_TIMEOUT_MS = 90_000;  // SwiftShader on two shared cores is slow to compile shaders

let chromium;  // playwright-core, loaded in before(): see the note at the end of this file
let server;
let origin;
let browser;

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'serve.mjs'), '--root', SITE, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error(`serve.mjs did not start: ${out}${err}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /CellDrop is running at (http:\/\/127\.0\.0\.1:\d+)\/app\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, origin: m[1] });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited with ${code}: ${out}${err}`));
    });
  });
}

function launch(extraArgs = []) {
  // Playwright gives each launch a fresh, temporary profile: no cache, no service worker, nothing
  // left from an earlier run.
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

function defineTests() {
before(async () => {
  ({ chromium } = await import('playwright-core'));
  assert.ok(fs.existsSync(path.join(SITE, 'app', 'celldrop-app.wasm')),
    `${SITE} holds no assembled site: run bash scripts/build.sh wasm site first`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup.sh`);
  fs.mkdirSync(SHOTS, { recursive: true });
  ({ child: server, origin } = await startServer());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

// A page that records everything that would mean trouble: console errors, uncaught exceptions, and
// any request that leaves the origin (the privacy promise).
async function watchedPage(context) {
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], foreignRequests: [], failedRequests: [] };
  page.on('console', (m) => { if (m.type() === 'error') problems.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => problems.pageErrors.push(e.message));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin && u.protocol !== 'data:' && u.protocol !== 'blob:') problems.foreignRequests.push(r.url());
  });
  page.on('requestfailed', (r) => problems.failedRequests.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.failedRequests.push(`${r.url()} ${r.status()}`); });
  return { page, problems };
}

function assertClean(problems) {
  assert.deepEqual(problems.consoleErrors, [], 'console errors');
  assert.deepEqual(problems.pageErrors, [], 'uncaught exceptions');
  assert.deepEqual(problems.foreignRequests, [], 'requests outside the origin');
  assert.deepEqual(problems.failedRequests, [], 'failed requests');
}

async function openApp(context) {
  const w = await watchedPage(context);
  await w.page.goto(`${origin}/app/`);
  await w.page.waitForFunction(() => window.celldropShell?.ready === true, null, { timeout: READY_TIMEOUT_MS });
  return w;
}

const shell = (page) => page.evaluate(() => window.celldropShell);

// Waits until the page has drawn and published a state that satisfies `predicate`.
async function waitForShell(page, predicate, what) {
  const deadline = Date.now() + 20_000;
  let s;
  while (Date.now() < deadline) {
    s = await shell(page);
    if (predicate(s)) return s;
    await page.waitForTimeout(50);
  }
  assert.fail(`timed out waiting for ${what}; last state: ${JSON.stringify(s)}`);
}

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
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
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
  // The README's picture is refreshed on request only, so a test run leaves the work tree clean:
  //   CELLDROP_UPDATE_DOCS=1 node --test tests/browser/
  if (process.env.CELLDROP_UPDATE_DOCS === '1') {
    fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    fs.copyFileSync(file, path.join(ROOT, 'docs', 'screenshot.png'));
  }
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
  assertClean(problems);
  await context.close();
});

test('wheel zooms about the pointer, pixels are drawn with the exact contrast mapping, F fits, 1 is 1:1, drag pans', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
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

test('on a HiDPI screen the canvas has device resolution', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 }, deviceScaleFactor: 2 });
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

test('a missing module file gives a clear message, not a blank page', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  await page.route('**/celldrop-app.wasm', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${origin}/app/`);
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
    await page.goto(`${origin}/app/`);
    await page.waitForFunction(() => document.body.dataset.state === 'fatal', null, { timeout: 30_000 });
    assert.match(await page.textContent('#message'), /WebGL2/);
    await page.screenshot({ path: path.join(SHOTS, 'app-no-webgl2.png') });
  } finally {
    await noGl.close();
  }
});

test('the landing page and the lesson load, with no broken links', async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const { page, problems } = await watchedPage(context);
  const seen = new Set();
  const pages = [`${origin}/`];
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
      if (u.origin !== origin) assert.fail(`${url} links outside the site: ${link}`);
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
}

defineTests();
