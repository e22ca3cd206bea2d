// CellDrop's segmentation worker (an ES module worker): the C++ core (celldrop-worker.js/.wasm, the C
// API of src/api) does decoding, tiling and post-processing, ONNX Runtime Web runs the network, tile
// by tile: on the GPU through its WebGPU execution provider when the browser offers a WebGPU adapter,
// else on its WebAssembly kernels (threads when the page is cross-origin isolated). On the GPU, a flow
// model's dynamics run in a WGSL shader too (shaders/flow_follow.wgsl, beside this file in shaders/).
// A lost device or a WebGPU error redoes the run on WebAssembly and says so. Only the label image and
// the run summary go back to the page.
//
// Messages in:  {type:'run', id, model:{name, cardText, onnxUrl}, image:{bytes, name, page}, params,
//                backend: 'auto' (default: WebGPU on a hardware adapter, else WASM) | 'webgpu' | 'wasm',
//                reuse: true when only post-processing thresholds changed since the last run: its kept
//                       network outputs are post-processed again (cd_result_repostprocess) when the
//                       model, image, backend and other parameters are the same, else a full run,
//                test: {loseGpuDeviceAtTile: n, gpuErrorAtTile: n}  (tests only: before tile n's run,
//                      destroy the GPU device / cause a WebGPU validation error)}
//               {type:'cancel', id}
//               {type:'check', id, model:{name, cardText, onnxBytes}}: a person's own model, checked
//                 before it is offered (card by the core, ONNX sha256 against it, session I/O);
//                 runs of it then carry model.onnxBytes instead of an onnxUrl
// Messages out: {type:'progress', id, stage, tile, tiles, pass, passes, elapsed_s, backend}
//                  stage 'tiles': the network on tile `tile` of `tiles`; 'dynamics': a flow model's dynamics
//                  on the GPU; 'fallback': WebGPU failed, the run starts again on WASM (`fallback` says why)
//               {type:'done', id, labels (ArrayBuffer: the label image, row-major, labelsWidth x
//                labelsHeight, uint16 or, above 65535 objects, uint32: labelsBits), summary, model,
//                modelSha256, backend, threads, gpu,
//                timings: {model_s, decode_s, inference_s, dynamics_s, postprocess_s, total_s} (seconds;
//                         inference_s is ONNX Runtime's runs alone, postprocess_s the core's),
//                reused (true: the last run's network outputs were post-processed again; no inference),
//                dynamics (flow models: 'webgpu' when shaders/flow_follow.wgsl ran the flow dynamics, 'wasm'
//                when the core did; null for star models),
//                fallback (null, or a sentence for the user: why this run did not use WebGPU)}
//               {type:'error', id, message, cancelled}
//               {type:'checked', id, card (the core's summary of the card)}
// Everything is fetched from this origin: the core beside this file, ONNX Runtime from ./ort/, the
// model from the URLs the page gives (its own /models/).

let core = null;       // the C API, loaded on the first run
let api = null;        // celldrop_api.mjs: the C API's JavaScript binding, shared with the CLI
const runtimes = {};   // backend -> onnxruntime-web build: 'wasm' (ort.wasm.min.mjs), 'webgpu' (ort.webgpu.min.mjs)
const cancelled = new Set();  // ids of runs the page cancelled (running or still queued)
const models = new Map();     // model name -> {cardText, onnxUrl, card, handle, bytes, sessions: {backend: session}}

// The GPU, asked for once per worker: {device, adapter, software, why (no device: the reason), lost
// (null or why the device died), error (the first uncaptured WebGPU error), ...}. Once WebGPU has
// failed, `broken` says why and later runs use WASM: ONNX Runtime binds its WebGPU kernels to one
// device per worker, so a fresh device needs a fresh worker (a page reload).
let gpu = null;
let flowFollower = null;  // shaders/flow_follow.mjs compiled for gpu.device, on the first flow run

const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm'];

// The last full run's result and image, kept so that a change of thresholds alone can be applied
// without the network (cd_result_repostprocess): {model, cardText, asked, backend, fallback, threads,
// gpu, imageBytes, image, result, params}. Its network outputs stay in the core's memory (for a star
// model about 8 floats per pixel), so only images up to KEEP_OUTPUTS_PIXELS keep them, and a new
// full run drops them before it starts.
let last = null;
const KEEP_OUTPUTS_PIXELS = 4 * 1024 * 1024;
// The parameters only post-processing reads: a change of these alone reuses the network's outputs.
const POSTPROCESSING_KEYS = ['prob_thresh', 'nms_thresh', 'cellprob_thresh', 'flow_thresh', 'min_area', 'exclude_border'];

function forgetLast() {
  if (!last) return;
  core.resultFree(last.result);
  core.imageFree(last.image);
  last = null;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Whether msg asks for what the last run made, but for its thresholds. A flow model's masks from
// the GPU shader may differ from the core's dynamics, which a re-post-processing runs: those runs
// go through the GPU again.
function reusable(msg) {
  if (!msg.reuse || !last) return false;
  const others = (p) => JSON.stringify(Object.entries(p ?? {}).filter(([k]) => !POSTPROCESSING_KEYS.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return last.model === msg.model.name && last.cardText === msg.model.cardText && last.asked === (msg.backend ?? 'auto') &&
    !(last.backend === 'webgpu' && last.kind === 'flow') && others(last.params) === others(msg.params) &&
    last.page === (msg.image.page ?? 0) && sameBytes(last.imageBytes, new Uint8Array(msg.image.bytes));
}

// The labels as the page reads them: the label image itself, 16-bit up to 65535 objects, else 32-bit
// (encoding a file here and decoding it there would only cost time and memory).
function labelsOf(result) {
  const { width, height, data } = core.resultLabels(result);
  return { buffer: data.buffer, labelsWidth: width, labelsHeight: height, labelsBits: data.BYTES_PER_ELEMENT * 8 };
}

// The last run's network outputs post-processed with msg's thresholds. False when the core says the
// network is needed after all (an automatic diameter that comes to another scale): then a full run.
function repostprocess(msg, post, t0) {
  const { json: summary, handle } = core.resultRepostprocess(last.result, last.image, msg.params ?? {});
  if (summary.error) {
    if (summary.needs_network) return false;
    throw new Error(summary.error);
  }
  let labels;
  try {
    labels = labelsOf(handle);
  } catch (e) {
    core.resultFree(handle);
    throw e;
  }
  core.resultFree(last.result);
  last.result = handle;
  last.params = msg.params;
  post({
    type: 'done', labels: labels.buffer, labelsWidth: labels.labelsWidth, labelsHeight: labels.labelsHeight,
    labelsBits: labels.labelsBits, summary, model: last.model,
    modelSha256: last.sha256, backend: last.backend, fallback: last.fallback, gpu: last.gpu,
    dynamics: last.kind === 'flow' ? 'wasm' : null, threads: last.threads, reused: true,
    timings: { model_s: 0, decode_s: 0, inference_s: 0, dynamics_s: 0, postprocess_s: summary.timings_s?.postprocess ?? 0,
      total_s: (performance.now() - t0) / 1000 },
  }, [labels.buffer]);
  return true;
}

function describe(e) {
  return e && e.message ? e.message : String(e);
}

async function loadCore() {
  if (core) return core;
  let createCellDropCore;
  try {
    ({ default: createCellDropCore } = await import('./celldrop-worker.js'));
    api = await import('./celldrop_api.mjs');
  } catch (e) {
    throw new Error(`the segmentation core (celldrop-worker.js, celldrop_api.mjs) could not be loaded: ${describe(e)}. Reload the page; ` +
      'if you host CellDrop, rebuild it with scripts/build.sh wasm site');
  }
  core = api.bindCore(await createCellDropCore());
  return core;
}

// Two builds of ONNX Runtime Web, each with its own WebAssembly module: the WASM backend keeps the
// plain build, which the CLI's --backend wasm also runs, so the page's WASM labels stay the CLI's.
async function loadOrt(backend) {
  if (runtimes[backend]) return runtimes[backend];
  const file = backend === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs';
  let ort;
  try {
    ort = await import(`./ort/${file}`);
  } catch (e) {
    throw new Error(`ONNX Runtime Web (ort/${file}) could not be loaded: ${describe(e)}. Reload the page; ` +
      'if you host CellDrop, rebuild the site with scripts/build.sh site');
  }
  // The kernels come from this origin, never a CDN; threads need cross-origin isolation
  // (SharedArrayBuffer), one thread otherwise.
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? 2 : 1;
  runtimes[backend] = ort;
  return ort;
}

// The device is ours, not ONNX Runtime's, so that a lost device is seen here (and a test can lose it)
// and the post-processing shaders can share it. Limits: the adapter's own, for the compute work
// ONNX Runtime does (the defaults are too small for large tensors).
async function getGpu() {
  if (gpu) return gpu;
  gpu = {
    device: null, adapter: null, software: false, why: null, lost: null, error: null, broken: null,
    failed: null,  // settles with lost or error, whichever comes first: what a GPU run races
    runsInFlight: 0,  // ONNX Runtime runs still going on the GPU (a failed one is left to finish)
  };
  if (!self.navigator?.gpu) {
    gpu.why = 'this browser has no WebGPU';
    return gpu;
  }
  try {
    gpu.adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    gpu.why = `the browser could not give a WebGPU adapter (${describe(e)})`;
    return gpu;
  }
  if (!gpu.adapter) {
    gpu.why = 'the browser offers no WebGPU adapter (no suitable GPU, or WebGPU is turned off)';
    return gpu;
  }
  // A fallback adapter is WebGPU on the CPU (SwiftShader): correct, but far slower than ONNX Runtime's
  // WebAssembly kernels (here ~17 s against 0.3 s for a 160 x 160 tile), so 'auto' passes it over.
  gpu.software = gpu.adapter.info?.isFallbackAdapter === true || gpu.adapter.isFallbackAdapter === true;
  const requiredLimits = {};
  for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage']) {
    if (typeof gpu.adapter.limits[k] === 'number') requiredLimits[k] = gpu.adapter.limits[k];
  }
  const requiredFeatures = ['shader-f16'].filter((f) => gpu.adapter.features.has(f));
  try {
    gpu.device = await gpu.adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    gpu.why = `the WebGPU adapter gave no device (${describe(e)})`;
    gpu.adapter = null;
    return gpu;
  }
  const g = gpu;
  g.failed = new Promise((resolve) => {
    g.device.lost.then((info) => {
      g.lost = `the GPU device was lost (${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''})`;
      resolve(g.lost);
    });
    g.device.addEventListener('uncapturederror', (e) => {
      // Dawn's messages run over several lines: one line reads better in a status bar.
      g.error ??= `WebGPU reported an error: ${describe(e.error).replace(/\s+/g, ' ').trim()}`;
      resolve(g.error);
    });
  });
  return gpu;
}

function gpuInfo() {
  const info = gpu?.adapter?.info;
  return info ? { vendor: info.vendor || '', architecture: info.architecture || '', description: info.description || '' } : null;
}

// The model's card and ONNX bytes, checked once per model file: the card by the core, the bytes
// against the card's sha256; sessions are opened per backend on first use.
async function openModel(model) {
  const cached = models.get(model.name);
  if (cached && cached.cardText === model.cardText && cached.onnxUrl === model.onnxUrl) return cached;
  if (cached) await closeModel(cached);
  const { json: card, handle } = core.modelOpen(model.cardText);
  if (card.error) throw new Error(`the model card ${model.name}.json is not valid: ${card.error}`);
  try {
    let bytes;
    if (model.onnxBytes) {
      bytes = new Uint8Array(model.onnxBytes);  // a person's own model, read in their tab
    } else {
      try {
        const r = await fetch(model.onnxUrl);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        bytes = new Uint8Array(await r.arrayBuffer());
      } catch (e) {
        throw new Error(`the model file ${card.onnx.file} could not be downloaded (${describe(e)}): check that it sits beside its card`);
      }
    }
    try {
      core.modelCheckOnnx(handle, bytes);
    } catch (e) {
      throw new Error(`the model ${model.name} cannot be used: ${describe(e)}`);
    }
    const entry = { name: model.name, cardText: model.cardText, onnxUrl: model.onnxUrl, card, handle, bytes, sessions: {} };
    models.set(model.name, entry);
    return entry;
  } catch (e) {
    core.modelFree(handle);
    throw e;
  }
}

async function closeModel(entry) {
  models.delete(entry.name);
  core.modelFree(entry.handle);
  for (const s of Object.values(entry.sessions)) await s.release?.().catch(() => {});
}

async function openSession(entry, backend) {
  if (entry.sessions[backend]) return entry.sessions[backend];
  const ort = await loadOrt(backend);
  const executionProviders = backend === 'webgpu' ? [{ name: 'webgpu', device: gpu.device }] : ['wasm'];
  let session;
  try {
    // ONNX Runtime may keep (and detach) the buffer it is given: hand it a copy.
    session = await ort.InferenceSession.create(entry.bytes.slice(), { executionProviders });
  } catch (e) {
    throw new Error(`ONNX Runtime (${backend}) could not load the model ${entry.card.onnx.file}: ${describe(e)}`);
  }
  try {
    api.checkSession(core, entry.handle, session);
  } catch (e) {
    await session.release?.();
    throw new Error(`the model ${entry.name} does not match its card: ${describe(e)}`);
  }
  entry.sessions[backend] = session;
  return session;
}

// A failure of the GPU path, as opposed to one every backend would meet (a bad parameter, a cancel).
class GpuFailure extends Error {}

// The WebGPU session, watched: a lost device or a WebGPU error during session.run fails the tile
// instead of handing back whatever the dead device left in its buffers. ONNX Runtime may never
// settle a run on a destroyed device, so the run races the device's failure. Test hooks:
// loseGpuDeviceAtTile destroys the device, gpuErrorAtTile makes a WebGPU validation error, before
// that tile's run.
function watchedGpuSession(session, testHooks) {
  let runs = 0;
  const fail = (why) => {
    gpu.broken ??= why;
    throw new GpuFailure(why);
  };
  return {
    async run(feeds, names) {
      runs += 1;
      if (testHooks?.loseGpuDeviceAtTile === runs) gpu.device.destroy();
      if (testHooks?.gpuErrorAtTile === runs) gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.MAP_WRITE });
      if (gpu.lost || gpu.error) fail(gpu.lost || gpu.error);
      let results;
      try {
        const running = session.run(feeds, names);
        gpu.runsInFlight += 1;
        running.finally(() => { gpu.runsInFlight -= 1; }).catch(() => {});
        results = await Promise.race([running, gpu.failed.then((why) => { throw new GpuFailure(why); })]);
      } catch (e) {
        fail(e instanceof GpuFailure ? e.message : `WebGPU inference failed: ${describe(e)}`);
      }
      // The loss may be reported a moment after the run returns: give it that moment.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (gpu.lost || gpu.error) fail(gpu.lost || gpu.error);
      return results;
    },
  };
}

// The flow dynamics on the GPU (flow models on the WebGPU backend): the shader mirrors the core's
// follow_flows, so the masks are the ones the core would make from the same network outputs. A
// failure here is a GPU failure like any other: the run is redone on WebAssembly.
async function followFlowsOnGpu(request) {
  try {
    if (gpu.lost || gpu.error) throw new GpuFailure(gpu.lost || gpu.error);
    if (!flowFollower) {
      const { createFlowFollower } = await import('./shaders/flow_follow.mjs');
      flowFollower = await createFlowFollower(gpu.device);
    }
    const ends = await Promise.race([flowFollower.follow(request), gpu.failed.then((why) => { throw new GpuFailure(why); })]);
    if (gpu.lost || gpu.error) throw new GpuFailure(gpu.lost || gpu.error);
    return ends;
  } catch (e) {
    gpu.broken ??= e instanceof GpuFailure ? e.message : `the flow shader failed: ${describe(e)}`;
    throw new GpuFailure(gpu.broken);
  }
}

// Which backend a run starts on, and, when that is not the one asked for (or the best one), why.
async function chooseBackend(asked) {
  if (asked === 'wasm') return { backend: 'wasm', fallback: null };
  const g = await getGpu();
  if (g.broken) {
    const why = `WebGPU stopped working earlier in this session: ${g.broken}`;
    if (asked === 'webgpu') throw new Error(`${why}. Reload the page to try the GPU again, or choose the WebAssembly backend.`);
    return { backend: 'wasm', fallback: `${why}; this run uses WebAssembly. Reload the page to try the GPU again.` };
  }
  if (!g.device) {
    if (asked === 'webgpu') throw new Error(`the WebGPU backend was asked for, but ${g.why}. Choose the WebAssembly backend (or "auto").`);
    return { backend: 'wasm', fallback: null };  // no GPU is the ordinary case, not a failure to report
  }
  if (g.software && asked === 'auto') return { backend: 'wasm', fallback: null };  // WebGPU on the CPU: slower
  return { backend: 'webgpu', fallback: null };
}

async function run(msg) {
  const t0 = performance.now();
  let backend = 'wasm';
  const post = (m, transfer) => self.postMessage({ id: msg.id, ...m }, transfer ?? []);
  const progress = (stage, tile, extra) => post({
    type: 'progress', stage, backend, elapsed_s: (performance.now() - t0) / 1000,
    tile: tile ? tile.index + 1 : 0, tiles: tile ? tile.count : 0, pass: tile ? tile.pass : 0, passes: tile ? tile.passes : 0,
    ...extra,
  });
  const cancelledError = () => post({ type: 'error', cancelled: true, message: 'Segmentation cancelled.' });
  let image = 0, result = 0;
  try {
    if (cancelled.has(msg.id)) {
      cancelledError();
      return;
    }
    const asked = msg.backend ?? 'auto';
    if (!BACKEND_CHOICES.includes(asked)) {
      throw new Error(`unknown backend "${asked}": choose one of ${BACKEND_CHOICES.join(', ')}`);
    }
    progress('loading');
    await loadCore();
    if (reusable(msg) && repostprocess(msg, post, t0)) return;
    forgetLast();  // a full run: the kept outputs would only add to its memory
    let fallback;
    ({ backend, fallback } = await chooseBackend(asked));
    const model = await openModel(msg.model);
    const imageBytes = new Uint8Array(msg.image.bytes);
    const tDecode = performance.now();
    const decoded = core.imageDecode(imageBytes, msg.image.page ?? 0);
    if (decoded.json.error) throw new Error(`the image cannot be read: ${decoded.json.error}`);
    image = decoded.handle;
    const decodeMs = performance.now() - tDecode;
    const keepOutputs = decoded.json.width * decoded.json.height <= KEEP_OUTPUTS_PIXELS;
    let tModel = performance.now();

    const segmentOn = async (which) => {
      const ort = await loadOrt(which);
      let session = await openSession(model, which);
      if (which === 'webgpu') session = watchedGpuSession(session, msg.test);
      tModel = performance.now();
      return api.segmentTiles(core, ort, { ...model, session }, image, msg.params ?? {}, {
        followFlows: which === 'webgpu' && model.card.kind === 'flow' ? followFlowsOnGpu : undefined,
        // session.run may finish without ever yielding to the event loop, so a cancel message would
        // wait until the whole run ends: give it a turn before each tile.
        beforeTile: async () => {
          await new Promise((resolve) => setTimeout(resolve, 0));
          return cancelled.has(msg.id);
        },
        onTile: (tile) => progress('tiles', tile),
        onDynamics: () => progress('dynamics'),
        keepMaps: keepOutputs,
      });
    };

    let seg;
    try {
      try {
        seg = await segmentOn(backend);
      } catch (e) {
        // A GPU that fails mid-run (or cannot open the model) leaves the run to WebAssembly, from the
        // start: a run made half on each would match neither backend's labels.
        if (backend !== 'webgpu' || cancelled.has(msg.id) || !(gpu.broken || /ONNX Runtime \(webgpu\)/.test(describe(e)))) throw e;
        gpu.broken ??= describe(e);
        fallback = `WebGPU failed: ${gpu.broken}; this run was redone with WebAssembly.`;
        backend = 'wasm';
        progress('fallback', null, { fallback });
        // The GPU sessions are of no more use in this worker (see `gpu`): free their memory, unless a
        // run left behind is still going in one.
        for (const m of models.values()) {
          const s = m.sessions.webgpu;
          delete m.sessions.webgpu;
          if (gpu.runsInFlight === 0) await s?.release?.().catch(() => {});
        }
        seg = await segmentOn('wasm');
      }
    } catch (e) {
      if (cancelled.has(msg.id)) {
        cancelledError();
        return;
      }
      throw e;
    }
    result = seg.result;
    const labels = labelsOf(result);
    const threads = runtimes[backend].env.wasm.numThreads, gpuUsed = backend === 'webgpu' ? gpuInfo() : null;
    if (keepOutputs) {
      last = { model: model.name, kind: model.card.kind, cardText: model.cardText, sha256: model.card.onnx.sha256,
        asked, backend, fallback, threads, gpu: gpuUsed, imageBytes, page: msg.image.page ?? 0, image, result,
        params: msg.params ?? {} };
      image = result = 0;  // kept: not freed below
    }
    post({
      type: 'done', labels: labels.buffer, labelsWidth: labels.labelsWidth, labelsHeight: labels.labelsHeight,
      labelsBits: labels.labelsBits, summary: seg.summary, model: model.name, modelSha256: model.card.onnx.sha256,
      backend, fallback, gpu: gpuUsed,
      // Where the flow dynamics ran (flow models): the GPU shader, or the core.
      dynamics: model.card.kind === 'flow' ? backend : null,
      threads, reused: false,
      timings: { model_s: (tModel - t0) / 1000, decode_s: decodeMs / 1000, inference_s: seg.inferenceMs / 1000,
        dynamics_s: seg.dynamicsMs / 1000, postprocess_s: seg.summary.timings_s?.postprocess ?? 0,
        total_s: (performance.now() - t0) / 1000 },
    }, [labels.buffer]);
  } catch (e) {
    post({ type: 'error', cancelled: false, message: describe(e) });
  } finally {
    if (result) core.resultFree(result);
    if (image) core.imageFree(image);
    cancelled.delete(msg.id);
  }
}

// A person's own model, before the page offers it: everything a run would check, done now, so a
// wrong card or file is reported when it is chosen. The checked model stays open for its runs.
async function check(msg) {
  const post = (m) => self.postMessage({ id: msg.id, ...m });
  try {
    await loadCore();
    const entry = await openModel(msg.model);
    await openSession(entry, 'wasm');
    post({ type: 'checked', card: entry.card });
  } catch (e) {
    post({ type: 'error', cancelled: false, message: describe(e) });
  }
}

// Runs one at a time, in the order asked: a second run waits for the first.
let queue = Promise.resolve();
self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') {
    cancelled.add(msg.id);
  } else if (msg.type === 'run') {
    queue = queue.then(() => run(msg));
  } else if (msg.type === 'check') {
    queue = queue.then(() => check(msg));
  }
};
