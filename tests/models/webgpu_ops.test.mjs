// Every shipped model runs on ONNX Runtime Web's WebGPU execution provider — all of its operators,
// none left to the CPU — and gives the WASM provider's outputs. Headless Chromium with SwiftShader's
// WebGPU (the flags of ../shared/notes/toolchain.md); the site's own ORT files from /app/ort/.
// A model with an operator WebGPU lacks would either fail to load with 'webgpu' alone or differ here.
// Needs: bash scripts/build.sh wasm site.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SITE, assertSiteBuilt, startServer, launch } from '../browser/harness.mjs';

const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader'];
const SIZE = 64;  // SwiftShader runs WebGPU on the CPU: small inputs keep this to seconds per model

let server, browser, page;

before(async () => {
  assertSiteBuilt();
  server = await startServer();
  browser = await launch(WEBGPU_ARGS);
  page = await browser.newPage();
  // A same-origin document without the app, so nothing else competes for the two cores.
  await page.goto(`${server.origin}/models/index.json`);
});

after(async () => {
  await browser?.close();
  server?.child.kill();
});

const cards = JSON.parse(fs.readFileSync(path.join(SITE, 'models', 'index.json'), 'utf8')).models;

test('the site lists at least one model', () => assert.ok(cards.length > 0));

for (const { name } of cards) {
  test(`model ${name}: every operator runs on WebGPU, with WASM's outputs`, async () => {
    const r = await page.evaluate(async ({ name, size }) => {
      const card = await (await fetch(`/models/${name}.json`)).json();
      const bytes = new Uint8Array(await (await fetch(`/models/${card.onnx.file}`)).arrayBuffer());
      const c = card.input.channels;
      const x = new Float32Array(c * size * size);
      for (let i = 0; i < x.length; i++) x[i] = 0.5 + 0.5 * Math.sin(i * 0.37) * Math.cos(i * 0.011);
      const out = {};
      for (const [backend, file] of [['wasm', 'ort.wasm.min.mjs'], ['webgpu', 'ort.webgpu.min.mjs']]) {
        const ort = await import(`/app/ort/${file}`);
        ort.env.wasm.wasmPaths = '/app/ort/';
        ort.env.wasm.numThreads = 1;
        // Only this provider: an operator it lacks makes session creation or the run fail.
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
        const feeds = { [card.input.name]: new ort.Tensor('float32', x, [1, c, size, size]) };
        const res = await session.run(feeds);
        out[backend] = Object.fromEntries(card.outputs.map((o) => [o.name, Array.from(res[o.name].data)]));
        await session.release();
      }
      const diff = {};
      for (const o of card.outputs) {
        const a = out.wasm[o.name], b = out.webgpu[o.name];
        let m = a.length === b.length ? 0 : Infinity;
        for (let i = 0; i < a.length && m !== Infinity; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        diff[o.name] = m;
      }
      return { adapter: !!(await navigator.gpu?.requestAdapter()), diff };
    }, { name, size: SIZE });
    assert.ok(r.adapter, 'SwiftShader gave no WebGPU adapter: check the Chromium flags');
    // Ray distances are in pixels (tens), probabilities and flows near 1: 1e-2 is float32 rounding
    // of a different summation order, far below any effect on the masks.
    for (const [output, d] of Object.entries(r.diff)) assert.ok(d < 1e-2, `${name}.${output}: WebGPU differs from WASM by ${d}`);
  });
}
