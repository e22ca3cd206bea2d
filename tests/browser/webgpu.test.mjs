// The segmentation worker's backends (web/worker.js), driven by messages from a bare page of the
// assembled site: the WebGPU path (SwiftShader's WebGPU on the CPU) and the WASM path each segment a
// small synthetic image with the shipped nuclei-star model, and their labels agree (AP@0.5 >= 0.99);
// the worker's WASM labels are the CLI's (--backend wasm) pixel for pixel; a GPU device lost during a
// run (the worker's test hook destroys it) falls back to WASM with a message and the WASM labels;
// a browser without WebGPU runs 'auto' on WASM and refuses a forced 'webgpu' with a clear message;
// 'auto' passes over a software adapter (SwiftShader is one), so the GPU runs here are forced.
//
// SwiftShader's WebGPU is slow (seconds per small tile), so the image is 160 x 160 at the model's own
// diameter: one pass, one tile.
//
// Needs: bash scripts/build.sh wasm site, the shipped models/nuclei-star, Debian's python3-numpy/pil.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindCore } from '../../src/api/celldrop_api.mjs';
import { ROOT, BUILD, SITE, CLI, PYTHON, CHROMIUM, startServer, run } from './harness.mjs';
import { encodePng } from './png.mjs';

const MODULE = path.join(BUILD, 'wasm', 'celldrop-node');
const BASE_ARGS = ['--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader'];
const MODEL = 'nuclei-star';
const PARAMS = { diameter: 20 };  // the model's own diameter: no rescale, no automatic second pass
const RUN_TIMEOUT_MS = 240_000;
const FLOW_MODEL = 'gradient-flow';

// A hand-made Cellpose-style network with decisive outputs, written at test time (the shipped
// nuclei-flow would take minutes on SwiftShader's WebGPU here).
const HAND_MADE_FLOW = path.join(ROOT, 'tests', 'fixtures', 'hand_made_flow.py');

let core, server, origin, tmp, imageBytes, cliLabels, cliFlowLabels;

// A label PNG's pixels, read by PIL (no image code of ours), as a comparable string of numbers.
function labelPixels(file) {
  return run(PYTHON, ['-c', 'import sys, numpy as np\nfrom PIL import Image\n' +
    'a = np.array(Image.open(sys.argv[1])).astype(np.uint32)\nprint(a.shape, a.max(), list(a.ravel()))', file]);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'app', 'worker.js')), `${SITE} holds no assembled site: run bash scripts/build.sh wasm site first`);
  assert.ok(fs.existsSync(path.join(SITE, 'models', `${MODEL}.json`)), `the site has no ${MODEL} model (models/${MODEL}.json)`);
  const { default: createCellDrop } = await import(`${MODULE}.js`);
  core = bindCore(await createCellDrop({ wasmBinary: fs.readFileSync(`${MODULE}.wasm`) }));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-webgpu-'));
  const site = path.join(tmp, 'site');
  fs.cpSync(SITE, site, { recursive: true });
  for (const f of ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) {
    assert.ok(fs.existsSync(path.join(site, 'app', 'ort', f)), `the site lacks app/ort/${f} (ONNX Runtime Web's WebGPU build): scripts/assemble-site.sh must copy it`);
  }
  assert.ok(fs.existsSync(path.join(site, 'app', 'shaders', 'flow_follow.wgsl')), 'the site lacks app/shaders/: scripts/assemble-site.sh must copy shaders/');
  fs.writeFileSync(path.join(site, 'app', 'worker-harness.html'), '<!doctype html><link rel="icon" href="data:,"><title>worker harness</title>\n');

  const images = path.join(tmp, 'images');
  run(process.execPath, [CLI, 'synth', '--seed', '3', '--width', '160', '--height', '160', '--diameter', '20', '--out', images]);
  imageBytes = fs.readFileSync(path.join(images, 'synth-3.png'));
  // The CLI's WASM labels for the same image, model and parameters.
  run(process.execPath, [CLI, 'segment', path.join(images, 'synth-3.png'), '--out', path.join(tmp, 'cli'), '--model', MODEL,
    '--diameter', String(PARAMS.diameter), '--backend', 'wasm', '--threads', '1']);
  cliLabels = labelPixels(path.join(tmp, 'cli', 'synth-3.png'));
  run(PYTHON, [HAND_MADE_FLOW, path.join(site, 'models'), FLOW_MODEL]);
  run(process.execPath, [CLI, 'segment', path.join(images, 'synth-3.png'), '--out', path.join(tmp, 'cli-flow'), '--model',
    path.join(site, 'models', `${FLOW_MODEL}.json`), '--diameter', String(PARAMS.diameter), '--backend', 'wasm', '--threads', '1']);
  cliFlowLabels = labelPixels(path.join(tmp, 'cli-flow', 'synth-3.png'));
  ({ child: server, origin } = await startServer(site));
});

after(async () => {
  server?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// One run in the page's worker (created on the page's first call); resolves with the 'done' or
// 'error' message (labels as base64) and the progress messages before it.
function segmentInWorker(page, backend, testHooks, model = MODEL) {
  return page.evaluate(async (a) => {
    window.harnessWorker ??= new Worker('/app/worker.js', { type: 'module' });
    const worker = window.harnessWorker;
    const id = (window.harnessId = (window.harnessId ?? 0) + 1);
    const cardText = await (await fetch(`/models/${a.model}.json`)).text();
    const onnxUrl = new URL(`/models/${JSON.parse(cardText).onnx.file}`, location.href).href;
    const bytes = Uint8Array.from(atob(a.image), (c) => c.charCodeAt(0));
    return new Promise((resolve) => {
      const progress = [];
      worker.onerror = (e) => resolve({ type: 'worker-error', message: e.message });
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.id !== id) return;
        if (m.type === 'progress') {
          progress.push({ stage: m.stage, backend: m.backend, fallback: m.fallback ?? null });
          return;
        }
        if (m.labels) {
          const u = new Uint8Array(m.labels);
          let s = '';
          for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
          m.labels = btoa(s);
        }
        resolve({ ...m, progress });
      };
      worker.postMessage({
        type: 'run', id, model: { name: a.model, cardText, onnxUrl }, image: { bytes: bytes.buffer, name: 'synth-3.png' },
        params: a.params, backend: a.backend, test: a.test,
      }, [bytes.buffer]);
    });
  }, { model, image: imageBytes.toString('base64'), params: PARAMS, backend, test: testHooks });
}

// The worker's labels (the raw 16-bit label image) as a 16-bit greyscale PNG, which the core reads.
function saveLabels(m, name) {
  assert.equal(m.type, 'done', `the run failed: ${m.message}`);
  assert.equal(m.labelsBits, 16);
  const raw = Buffer.from(m.labels, 'base64');
  const w = m.labelsWidth, h = m.labelsHeight;
  assert.equal(raw.length, 2 * w * h);
  const rows = Buffer.alloc(h * (1 + 2 * w));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rows.writeUInt16BE(raw.readUInt16LE(2 * (y * w + x)), y * (1 + 2 * w) + 1 + 2 * x);
  }
  const file = path.join(tmp, `${name}.png`);
  fs.writeFileSync(file, encodePng(w, h, 16, 0, rows));
  return file;
}

// AP@0.5 of one label image against another (the core's one-to-one matching).
function ap50(gtFile, predFile) {
  const r = core.evalPair(fs.readFileSync(gtFile), fs.readFileSync(predFile));
  assert.equal(r.error, undefined, r.error);
  const k = r.thresholds.indexOf(0.5);
  return { ap: r.tp[k] / (r.tp[k] + r.fp[k] + r.fn[k]), objects: r.gt_objects };
}

test('WebGPU and WASM segment the same image alike; a lost GPU device falls back to WASM and says so', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...WEBGPU_ARGS] });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => { if (new URL(r.url()).origin !== origin && !/^(data|blob):/.test(r.url())) problems.push(`foreign ${r.url()}`); });
    page.setDefaultTimeout(RUN_TIMEOUT_MS);
    await page.goto(`${origin}/app/worker-harness.html`);
    assert.equal(await page.evaluate(async () => (await navigator.gpu?.requestAdapter())?.info?.architecture), 'swiftshader');

    // Forced WASM, with a GPU present: the CLI's labels.
    const wasm = await segmentInWorker(page, 'wasm');
    const wasmFile = saveLabels(wasm, 'wasm');
    assert.equal(wasm.backend, 'wasm');
    assert.equal(wasm.fallback, null);
    assert.ok(wasm.progress.every((p) => p.backend === 'wasm'));
    assert.equal(labelPixels(wasmFile), cliLabels, 'the worker\'s WASM labels must be the CLI\'s (--backend wasm)');

    // Auto passes SwiftShader over (WebGPU on the CPU is slower than WASM's kernels): WASM's labels.
    const soft = await segmentInWorker(page, 'auto');
    assert.equal(soft.type, 'done', soft.message);
    assert.equal(soft.backend, 'wasm', 'auto must not pick a software (fallback) WebGPU adapter');
    assert.equal(soft.fallback, null);
    assert.equal(labelPixels(saveLabels(soft, 'auto-swiftshader')), cliLabels);

    // WebGPU, asked for: its labels agree with WASM's.
    const gpu = await segmentInWorker(page, 'webgpu');
    const gpuFile = saveLabels(gpu, 'webgpu');
    assert.equal(gpu.backend, 'webgpu');
    assert.equal(gpu.fallback, null);
    assert.equal(gpu.gpu?.architecture, 'swiftshader');
    assert.ok(gpu.progress.some((p) => p.stage === 'tiles' && p.backend === 'webgpu'), JSON.stringify(gpu.progress));
    const agree = ap50(wasmFile, gpuFile);
    assert.ok(agree.objects > 15, `the WASM run should find many nuclei: ${agree.objects}`);
    assert.ok(agree.ap >= 0.99, `WebGPU vs WASM labels: AP@0.5 ${agree.ap} (< 0.99)`);
    console.log(`# webgpu vs wasm: AP@0.5 ${agree.ap.toFixed(4)} over ${agree.objects} objects; inference ` +
      `${gpu.timings.inference_s.toFixed(2)} s (SwiftShader WebGPU) vs ${wasm.timings.inference_s.toFixed(2)} s (WASM, ${wasm.threads} threads)`);

    // A flow model: on WebGPU the flow dynamics run in shaders/flow_follow.wgsl, and the masks agree
    // with WASM's, whose are the CLI's.
    const flowWasm = await segmentInWorker(page, 'wasm', undefined, FLOW_MODEL);
    const flowWasmFile = saveLabels(flowWasm, 'flow-wasm');
    assert.equal(flowWasm.dynamics, 'wasm');
    assert.equal(labelPixels(flowWasmFile), cliFlowLabels, 'the worker\'s WASM flow labels must be the CLI\'s');
    const flowGpu = await segmentInWorker(page, 'webgpu', undefined, FLOW_MODEL);
    const flowGpuFile = saveLabels(flowGpu, 'flow-webgpu');
    assert.equal(flowGpu.backend, 'webgpu');
    assert.equal(flowGpu.dynamics, 'webgpu', 'the flow dynamics must run on the GPU');
    assert.ok(flowGpu.progress.some((p) => p.stage === 'dynamics' && p.backend === 'webgpu'), JSON.stringify(flowGpu.progress));
    assert.ok(flowGpu.timings.dynamics_s > 0, JSON.stringify(flowGpu.timings));
    const flowAgree = ap50(flowWasmFile, flowGpuFile);
    assert.ok(flowAgree.objects > 10, `the flow model should find many nuclei: ${flowAgree.objects}`);
    assert.ok(flowAgree.ap >= 0.99, `flow model, WebGPU (network + dynamics shader) vs WASM: AP@0.5 ${flowAgree.ap}`);
    console.log(`# flow model, webgpu (with the dynamics shader, ${(1000 * flowGpu.timings.dynamics_s).toFixed(0)} ms) vs wasm: ` +
      `AP@0.5 ${flowAgree.ap.toFixed(4)} over ${flowAgree.objects} objects`);

    // The device is lost before the first tile: the run is redone on WASM, and says why.
    const lost = await segmentInWorker(page, 'webgpu', { loseGpuDeviceAtTile: 1 });
    const lostFile = saveLabels(lost, 'lost');
    assert.equal(lost.backend, 'wasm');
    assert.match(lost.fallback ?? '', /WebGPU failed/);
    assert.match(lost.fallback, /lost/);
    assert.match(lost.fallback, /WebAssembly/);
    assert.ok(lost.progress.some((p) => p.stage === 'fallback' && p.backend === 'wasm' && /lost/.test(p.fallback)), JSON.stringify(lost.progress));
    assert.equal(labelPixels(lostFile), cliLabels, 'after the fallback the labels must be WASM\'s');
    console.log(`# device lost: ${lost.fallback}`);

    // Later runs in this worker stay on WASM and say why; a forced WebGPU is refused.
    const after = await segmentInWorker(page, 'auto');
    assert.equal(after.type, 'done', after.message);
    assert.equal(after.backend, 'wasm');
    assert.match(after.fallback ?? '', /stopped working earlier.*Reload the page/);
    console.log(`# the next run: ${after.fallback}`);
    const forced = await segmentInWorker(page, 'webgpu');
    assert.equal(forced.type, 'error');
    assert.match(forced.message, /WebGPU stopped working earlier/);
    assert.deepEqual(problems, [], 'uncaught exceptions or requests outside the origin');

    // A WebGPU error during a run (a fresh worker: the first one's GPU is gone): redone on WASM, and
    // said so, without waiting for the abandoned GPU run.
    const fresh = await browser.newPage();
    fresh.setDefaultTimeout(RUN_TIMEOUT_MS);
    fresh.on('pageerror', (e) => problems.push(e.message));
    await fresh.goto(`${origin}/app/worker-harness.html`);
    const failed = await segmentInWorker(fresh, 'webgpu', { gpuErrorAtTile: 1 });
    const failedFile = saveLabels(failed, 'gpu-error');
    assert.equal(failed.backend, 'wasm');
    assert.match(failed.fallback ?? '', /WebGPU failed: WebGPU reported an error: .*; this run was redone with WebAssembly/);
    assert.equal(labelPixels(failedFile), cliLabels);
    console.log(`# WebGPU error: ${failed.fallback}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('without WebGPU, auto runs on WASM quietly and a forced WebGPU says what is missing', async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_ARGS });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(RUN_TIMEOUT_MS);
    await page.goto(`${origin}/app/worker-harness.html`);
    assert.equal(await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter())), false, 'WebGPU must be unavailable here');
    const auto = await segmentInWorker(page, 'auto');
    const autoFile = saveLabels(auto, 'auto-nogpu');
    assert.equal(auto.backend, 'wasm');
    assert.equal(auto.fallback, null);
    assert.equal(labelPixels(autoFile), cliLabels);
    const forced = await segmentInWorker(page, 'webgpu');
    assert.equal(forced.type, 'error');
    assert.match(forced.message, /WebGPU backend was asked for, but .*(no WebGPU|adapter)/);
    assert.match(forced.message, /WebAssembly backend/);
    const unknown = await segmentInWorker(page, 'cuda');
    assert.equal(unknown.type, 'error');
    assert.match(unknown.message, /unknown backend "cuda": choose one of auto, webgpu, wasm/);
  } finally {
    await browser.close();
  }
});
