// The flow-dynamics shader (shaders/flow_follow.wgsl, driven by shaders/flow_follow.mjs) against its
// C++ reference, follow_flows in src/core/flow.cpp (through the C API's cd_flow_follow), on the same
// inputs: flows the core makes from the synthetic generator's labels (masks_to_flows), no model.
// The shader runs in headless Chromium on SwiftShader's WebGPU (the CPU); the reference in Node
// (celldrop-node). End points must agree within a small tolerance, and the core's clustering
// (cd_flow_masks) must give the same masks from either's end points.
//
// Needs: bash scripts/build.sh wasm (celldrop-node), Debian's python3-numpy and python3-pil.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindCore } from '../../src/api/celldrop_api.mjs';
import { ROOT, BUILD, PYTHON, CHROMIUM, startServer } from './harness.mjs';

const MODULE = path.join(BUILD, 'wasm', 'celldrop-node');
// SwiftShader's WebGPU (the CPU) by default; CELLDROP_WEBGPU_ARGS (space-separated Chromium flags)
// runs the same comparison on a real GPU instead.
const REAL_GPU_ARGS = process.env.CELLDROP_WEBGPU_ARGS?.trim() ? process.env.CELLDROP_WEBGPU_ARGS.trim().split(/\s+/) : null;
const WEBGPU_ARGS = REAL_GPU_ARGS ?? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader'];
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', ...WEBGPU_ARGS, '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

let core, browser, server, origin, tmp;

// A 16-bit label PNG's pixels as a Uint32Array (PIL reads it; no image code of ours is trusted here).
function readLabels(file) {
  const r = spawnSync(PYTHON, ['-c', `
import sys
import numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1])).astype('<u4')
sys.stdout.write(f"{a.shape[1]} {a.shape[0]}\\n")
sys.stdout.flush()
sys.stdout.buffer.write(a.tobytes())
`, file], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const nl = r.stdout.indexOf(10);
  const [width, height] = r.stdout.subarray(0, nl).toString().split(' ').map(Number);
  const bytes = r.stdout.subarray(nl + 1);
  return { width, height, labels: new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
}

before(async () => {
  assert.ok(fs.existsSync(`${MODULE}.js`), `${MODULE}.js is missing: run bash scripts/build.sh wasm first`);
  const { default: createCellDrop } = await import(`${MODULE}.js`);
  core = bindCore(await createCellDrop({ wasmBinary: fs.readFileSync(`${MODULE}.wasm`) }));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'celldrop-shader-'));
  // A bare origin with the shaders and an empty page: the shader needs nothing of the app.
  const site = path.join(tmp, 'site');
  fs.mkdirSync(path.join(site, 'app'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'shaders'), path.join(site, 'app', 'shaders'), { recursive: true });
  fs.writeFileSync(path.join(site, 'app', 'index.html'), '<!doctype html><link rel="icon" href="data:,"><title>shader test</title>\n');
  ({ child: server, origin } = await startServer(site));
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const b64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

// The shader's end points for these inputs, computed in the page.
async function gpuFollow(page, { flow, foreground, width, height, niter, flowScale }) {
  const out = await page.evaluate(async (a) => {
    const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return { error: 'no WebGPU adapter' };
    const device = await adapter.requestDevice();
    const { createFlowFollower } = await import('/app/shaders/flow_follow.mjs');
    const follower = await createFlowFollower(device);
    const flow = new Float32Array(bytes(a.flow).buffer);
    const t0 = performance.now();
    const { endY, endX } = await follower.follow({ flow, foreground: bytes(a.foreground), width: a.width, height: a.height,
      niter: a.niter, flowScale: a.flowScale });
    const ms = performance.now() - t0;
    // btoa of a spread has an argument limit: encode in chunks.
    const chunked = (x) => {
      const u = new Uint8Array(x.buffer);
      let s = '';
      for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
      return btoa(s);
    };
    device.destroy();
    return { endY: chunked(endY), endX: chunked(endX), ms, arch: adapter.info?.architecture ?? '' };
  }, { flow: b64(flow), foreground: b64(foreground), width, height, niter, flowScale });
  assert.equal(out.error, undefined, out.error);
  const f32 = (s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
  return { endY: f32(out.endY), endX: f32(out.endX), ms: out.ms, arch: out.arch };
}

// Label images equal up to renumbering? Returns the pixels that break a one-to-one correspondence.
function relabelMismatch(a, b) {
  const ab = new Map(), ba = new Map();
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    if ((a[i] === 0) !== (b[i] === 0)) { bad++; continue; }
    if (!a[i]) continue;
    if (!ab.has(a[i])) ab.set(a[i], b[i]);
    if (!ba.has(b[i])) ba.set(b[i], a[i]);
    if (ab.get(a[i]) !== b[i] || ba.get(b[i]) !== a[i]) bad++;
  }
  return bad;
}

const objects = (l) => new Set(l.filter((v) => v > 0)).size;

// One comparison: reference and shader on the same field; returns what the assertions need.
async function compare(page, input) {
  const ref = core.flowFollow(input.flow, input.foreground, input.width, input.height, input.niter, input.flowScale);
  const gpu = await gpuFollow(page, input);
  const n = input.width * input.height;
  let far = 0, worst = 0, moved = 0, sumErr = 0, fg = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(ref.endY[i] - gpu.endY[i]) + Math.abs(ref.endX[i] - gpu.endX[i]);
    assert.ok(Number.isFinite(gpu.endY[i]) && Number.isFinite(gpu.endX[i]), `pixel ${i}: the shader's end point is not finite`);
    if (!input.foreground[i]) {
      assert.equal(d, 0, `background pixel ${i} must stay where it is`);
      continue;
    }
    fg++;
    sumErr += d;
    worst = Math.max(worst, d);
    if (d > 0.05) far++;
    if (Math.abs(ref.endY[i] - Math.floor(i / input.width)) + Math.abs(ref.endX[i] - (i % input.width)) > 2) moved++;
  }
  const refMasks = core.flowMasks(ref.endY, ref.endX, input.foreground, input.width, input.height);
  const gpuMasks = core.flowMasks(gpu.endY, gpu.endX, input.foreground, input.width, input.height);
  return { fg, far, worst, meanErr: sumErr / fg, moved, refMasks, gpuMasks, ms: gpu.ms, arch: gpu.arch };
}

test('flow_follow.wgsl: the end points and masks of follow_flows on flows from synthetic labels', async () => {
  const images = path.join(tmp, 'images');
  const synth = spawnSync(process.execPath, [path.join(ROOT, 'cli', 'celldrop.mjs'), 'synth', '--seed', '5', '--width', '160',
    '--height', '128', '--diameter', '18', '--out', images], { encoding: 'utf8', env: { ...process.env, CELLDROP_BUILD: BUILD } });
  assert.equal(synth.status, 0, synth.stderr);
  const { width, height, labels } = readLabels(path.join(images, 'synth-5-labels.png'));
  const truth = objects(labels);
  assert.ok(truth > 20, `the synthetic image should hold many nuclei: ${truth}`);

  const unit = core.flowFromLabels(labels, width, height);
  const foreground = Uint8Array.from(labels, (v) => (v ? 1 : 0));
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(`${origin}/app/index.html`);

  // 1. Unit flows, the reference's 200 steps.
  let r = await compare(page, { flow: unit, foreground, width, height, niter: 200, flowScale: 1 });
  if (!REAL_GPU_ARGS) assert.match(r.arch, /swiftshader/i, 'the test must run on SwiftShader\'s WebGPU');
  assert.ok(r.moved > r.fg / 2, `most pixels should travel toward their centre: ${r.moved} of ${r.fg}`);
  assert.ok(r.far <= r.fg * 0.005, `end points farther than 0.05 px from the reference: ${r.far} of ${r.fg} (worst ${r.worst})`);
  assert.ok(r.meanErr < 0.005, `mean end-point difference ${r.meanErr} px`);
  assert.ok(r.worst < 2, `worst end-point difference ${r.worst} px`);
  const refCount = objects(r.refMasks);
  assert.ok(refCount >= truth * 0.9 && refCount <= truth * 1.1, `the reference's clustering should find the ${truth} nuclei: ${refCount}`);
  assert.equal(objects(r.gpuMasks), refCount, 'the shader\'s end points must cluster into as many masks');
  assert.equal(relabelMismatch(r.refMasks, r.gpuMasks), 0, 'the masks from the shader\'s end points must be the reference\'s');
  console.log(`# shader: ${r.fg} foreground px, ${r.ms.toFixed(0)} ms on ${r.arch || 'an unnamed adapter'}, ${r.far} off by > 0.05 px, mean |d| ${r.meanErr.toExponential(2)} px, ` +
    `worst ${r.worst.toFixed(4)} px, ${refCount} masks (truth ${truth})`);

  // 2. A network's flows: 5 x unit (Cellpose's scale) with flow_scale 5, a few values the network
  //    got wrong (NaN, infinity), and fewer steps.
  const scaled = unit.map((v) => 5 * v);
  for (let k = 0; k < 40; k++) scaled[(k * 7919) % scaled.length] = k % 2 ? NaN : -Infinity;
  r = await compare(page, { flow: scaled, foreground, width, height, niter: 60, flowScale: 5 });
  assert.ok(r.far <= r.fg * 0.005, `scaled flows: ${r.far} of ${r.fg} end points off by more than 0.05 px (worst ${r.worst})`);
  assert.ok(r.worst < 2, `scaled flows: worst end-point difference ${r.worst} px`);
  assert.equal(relabelMismatch(r.refMasks, r.gpuMasks), 0, 'scaled flows: the same masks');

  assert.deepEqual(problems, []);
  await context.close();
});

test('flow_follow.mjs refuses inputs of the wrong size with a clear message', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/app/index.html`);
  const message = await page.evaluate(async () => {
    const device = await (await navigator.gpu.requestAdapter()).requestDevice();
    const { createFlowFollower } = await import('/app/shaders/flow_follow.mjs');
    const follower = await createFlowFollower(device);
    try {
      await follower.follow({ flow: new Float32Array(10), foreground: new Uint8Array(4), width: 2, height: 2, niter: 5 });
      return 'accepted';
    } catch (e) {
      return e.message;
    } finally {
      device.destroy();
    }
  });
  assert.match(message, /must be 2 x and 1 x 2 x 2/);
  await context.close();
});

test('cd_flow_masks refuses a non-finite end point, cd_flow_follow a bad size', () => {
  const fg = new Uint8Array([1, 1, 0, 0]);
  assert.throws(() => core.flowMasks(new Float32Array([0, NaN, 1, 1]), new Float32Array(4), fg, 2, 2), /not a finite number/);
  assert.throws(() => core.flowFollow(new Float32Array(8), fg, 0, 2, 10), /width and height above 0/);
});
