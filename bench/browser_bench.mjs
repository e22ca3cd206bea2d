#!/usr/bin/env node
// The page in headless Chromium (WASM backend: no WebGPU adapter without the SwiftShader flags), as a
// person meets it. For each shipped model (the site's models/index.json) and image size:
//   drop -> masks   from the drop event on the canvas to the masks on show, with the page's default
//                   parameters (automatic diameter); the median of REPEATS drops of different
//                   synthetic images, after one drop that warms the engines up;
//   inference       the page's inference time for those runs ÷ onnxruntime-node's native time on the
//                   same images, model, parameters and thread count (the CLI's --backend native, which
//                   runs the same tiles: its labels equal the page's), each image's native run (after
//                   a warm-up run) right after its drop; the median of the per-drop ratios;
// and the peak memory of one 4096 x 4096 drop -> masks: the resident memory (RSS, from /proc) of
// Chromium's renderer processes (the page, its segmentation worker and ONNX Runtime's threads all
// live there), sampled every 50 ms, beside the GPU process's (textures; SwiftShader keeps them in RAM).
//
//   node bench/browser_bench.mjs [--sizes 512,2048] [--repeats 3] [--models a,b] [--memory-size 4096|0]
//                                [--memory-model NAME]   (default: the first model)
//                                [--site DIR]   (default: $CELLDROP_BUILD/site; e.g. a copy with other models)
//
// It also says which ONNX Runtime Web WebAssembly file the page fetched and whether the page and its
// worker were cross-origin isolated (threads), since a silent fallback would change every figure.
// Needs: bash scripts/build.sh wasm site. Figures for this machine are in bench/README.md.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../scripts/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.resolve(process.env.CELLDROP_BUILD || path.join(ROOT, 'build'));
const SITE = path.resolve(process.argv.includes('--site') ? process.argv[process.argv.indexOf('--site') + 1] : path.join(BUILD, 'site'));
const CLI = path.join(ROOT, 'cli', 'celldrop.mjs');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const opt = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const sizes = opt('sizes', '512,2048').split(',').filter(Boolean).map(Number);
const repeats = Number(opt('repeats', '3'));
const memorySize = Number(opt('memory-size', '4096'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const MB = 1024 * 1024;

if (!fs.existsSync(path.join(SITE, 'app', 'index.html'))) {
  console.error(`browser_bench: ${SITE} holds no assembled site: run bash scripts/build.sh wasm site first`);
  process.exit(1);
}
const index = JSON.parse(fs.readFileSync(path.join(SITE, 'models', 'index.json'), 'utf8'));
const models = opt('models', index.models.map((m) => m.name).join(',')).split(',').filter(Boolean);
if (models.length === 0) {
  console.error('browser_bench: the site ships no models (models/index.json is empty)');
  process.exit(1);
}
const memoryModel = opt('memory-model', models[0]);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-browser-bench-'));
// The CLI's per-file lines (stderr) would break up the table; its errors still reach the exception.
const cli = (...args) => execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// Synthetic nuclei (the CLI's generator), one different image per drop: seed = 1 + drop number.
function synth(size, seed) {
  const dir = path.join(tmp, `synth-${size}`);
  const file = path.join(dir, `synth-${seed}.png`);
  if (!fs.existsSync(file)) cli('synth', '--seed', String(seed), '--width', String(size), '--height', String(size), '--out', dir);
  return file;
}

// Drops `file` on the canvas (a DataTransfer holding a File, as from a file manager) and resolves
// with the page's own clock from the drop to the masks of that image on show, and the run's state.
// The page fetches the file from the bench's server (/bench-images/): handing it over as base64
// would put tens of MB of strings in the renderer whose memory the peak measures.
async function dropToMasks(page, file) {
  const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  return page.evaluate(async ({ url, sha, name }) => {
    const blob = await (await fetch(url)).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type: 'image/png' }));
    const canvas = document.getElementById('canvas');
    const runsBefore = window.celldropShell.segmentation.runs;
    const t0 = performance.now();
    for (const type of ['dragenter', 'dragover', 'drop']) {
      canvas.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
    for (;;) {
      const s = window.celldropShell;
      if (s.page?.openError) throw new Error(s.page.openError);
      if (s.segmentation.error) throw new Error(s.segmentation.error);
      if (s.segmentation.hasResult && !s.segmentation.running && s.segmentation.runs > runsBefore && s.page?.image.sha256 === sha) {
        return { seconds: (performance.now() - t0) / 1000, model: s.segmentation.model, count: s.segmentation.count, threads: s.segmentation.threads,
          backend: s.segmentation.backend, inference: s.segmentation.timings.inference, tiles: s.segmentation.tilesRun };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }, { url: `/bench-images/${path.relative(tmp, file).split(path.sep).join('/')}`, sha, name: path.basename(file) });
}

// The site, plus the synthetic images under /bench-images/ (same origin: the page may fetch them).
function benchServer() {
  const site = createServer(SITE).listeners('request')[0];
  return http.createServer((req, res) => {
    const m = /^\/bench-images\/(synth-\d+\/synth-\d+\.png)$/.exec(new URL(req.url, 'http://localhost').pathname);
    if (!m) return site(req, res);
    fs.readFile(path.join(tmp, m[1]), (err, bytes) => {
      res.writeHead(err ? 404 : 200, { 'Content-Type': err ? 'text/plain' : 'image/png' });
      res.end(err ? 'no such image' : bytes);
    });
  });
}

// The ONNX Runtime Web .wasm files any page fetched (worker requests included).
const ortBinaries = new Set();

async function openPage(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.on('request', (r) => { if (/\/app\/ort\/.*\.wasm$/.test(new URL(r.url()).pathname)) ortBinaries.add(path.basename(new URL(r.url()).pathname)); });
  const page = await context.newPage();
  await page.goto(`${origin}/app/`);
  await page.waitForFunction(() => window.celldropShell?.ready === true && window.celldrop, null, { timeout: 120_000 });
  await page.evaluate(() => window.celldrop.ready());
  // The sample's own first run, so the drops below never race it.
  await page.waitForFunction(() => window.celldropShell.segmentation.runs >= 1 && !window.celldropShell.segmentation.running,
    null, { timeout: 300_000 });
  return { context, page };
}

// onnxruntime-node on the same images: the CLI's native backend, the first file a warm-up (the page's
// warm-up is its drop 0), the median inference time of the others from their run records.
let nativeCalls = 0;
function nativeInference(model, files, threads) {
  const dir = path.join(tmp, `native-in-${model}-${++nativeCalls}`);
  const out = path.join(tmp, `native-out-${model}-${nativeCalls}`);
  fs.mkdirSync(dir, { recursive: true });
  files.forEach((f, i) => fs.copyFileSync(f, path.join(dir, `copy-${i}.png`)));
  cli('segment', dir, '--out', out, '--model', path.join(SITE, 'models', `${model}.json`), '--backend', 'native',
    '--threads', String(threads), '--export', 'record');
  const runs = files.slice(1).map((_, i) => JSON.parse(fs.readFileSync(path.join(out, `copy-${i + 1}.json`), 'utf8')));
  return { inference: median(runs.map((r) => r.timings_s.inference)), count: runs[0].objects };
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;  // the process ended
  }
}

async function peakMemory(browser, origin, file, model) {
  const { context, page } = await openPage(browser, origin);
  await page.evaluate((m) => window.celldrop.run({ model: m }), model);
  const cdp = await browser.newBrowserCDPSession();
  const pids = async (type) => (await cdp.send('SystemInfo.getProcessInfo')).processInfo.filter((p) => p.type === type).map((p) => p.id);
  const sum = (list) => list.reduce((a, pid) => a + rssOf(pid), 0);
  const largest = (list) => Math.max(0, ...list.map(rssOf));
  // Chromium keeps a few small renderers besides the page's: the largest one is the page's.
  const sample = async () => {
    const renderers = await pids('renderer');
    return { renderers: sum(renderers), page: largest(renderers), gpu: sum(await pids('GPU')) };
  };
  const before = await sample();
  const peak = { ...before };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = await sample();
      for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], now[k]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  let run;
  try {
    run = await dropToMasks(page, file);
  } finally {
    sampling = false;
    await sampler;
    await context.close();
  }
  return { before, peak, run };
}

async function main() {
  const { chromium } = await import('playwright-core');
  const server = benchServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const chromeVersion = browser.version();
  try {
    console.log(`Chromium ${chromeVersion}, ${os.cpus().length} CPUs (${os.cpus()[0].model}), ${repeats} drops per size after a warm-up`);
    console.log('| model | image | objects | threads | drop → masks s | page inference s | native inference s | WASM ÷ native |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const model of models) {
      const { context, page } = await openPage(browser, origin);
      await page.evaluate((m) => window.celldrop.run({ model: m }), model);
      for (const size of sizes) {
        const files = [];
        const runs = [];
        const natives = [];
        for (let r = 0; r <= repeats; r++) {
          files.push(synth(size, 1 + r));
          const got = await dropToMasks(page, files[r]);
          if (got.backend !== 'wasm') throw new Error(`the page ran on ${got.backend}; this benchmark is for WASM`);
          if (got.model !== model) throw new Error(`the page ran ${got.model}, not ${model}`);
          if (r === 0) continue;
          runs.push(got);
          // The native run of the same image right after the page's: on a shared machine the load
          // then falls on both sides of each ratio alike.
          natives.push(nativeInference(model, [files[r], files[r]], got.threads));
        }
        const threads = runs[0].threads;
        const page_s = median(runs.map((x) => x.inference));
        const native_s = median(natives.map((x) => x.inference));
        const ratio = median(runs.map((x, i) => x.inference / natives[i].inference));
        console.log(`| ${model} | ${size}² | ${runs[0].count} (native ${natives[0].count}) | ${threads} | ${median(runs.map((x) => x.seconds)).toFixed(2)} | ` +
          `${page_s.toFixed(2)} | ${native_s.toFixed(2)} | ${ratio.toFixed(2)} |`);
      }
      const isolated = await page.evaluate(() => window.crossOriginIsolated);
      console.log(`  (${model}: ONNX Runtime Web fetched ${[...ortBinaries].join(', ') || 'no .wasm file'}; page cross-origin isolated: ${isolated})`);
      await context.close();
    }
    if (memorySize > 0) {
      const m = await peakMemory(browser, origin, synth(memorySize, 1), memoryModel);
      const line = (what, k) => console.log(`  ${what.padEnd(52)} ${(m.before[k] / MB).toFixed(0).padStart(5)} MB before, ${(m.peak[k] / MB).toFixed(0).padStart(5)} MB peak`);
      console.log(`\nPeak memory (RSS), one ${memorySize}² drop → masks (${m.run.model}, ${m.run.count} objects, ${m.run.seconds.toFixed(1)} s):`);
      line('the page\'s renderer (page + worker + ONNX Runtime)', 'page');
      line('all renderer processes', 'renderers');
      line('GPU process (textures; SwiftShader keeps them in RAM)', 'gpu');
    }
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`browser_bench: ${e.message}`);
  process.exit(1);
});
