// CellDrop's segmentation worker (an ES module worker): the C++ core (celldrop-worker.js/.wasm, the C
// API of src/api) does decoding, tiling and post-processing, ONNX Runtime Web's WebAssembly kernels
// run the network, tile by tile. Only the label image and the run summary go back to the page.
//
// Messages in:  {type:'run', id, model:{name, card, onnx}, image:{bytes, name}, params}
//               {type:'cancel', id}
// Messages out: {type:'progress', id, stage, tile, tiles, pass, passes, elapsed_s, backend}
//               {type:'done', id, labels (ArrayBuffer: 16-bit label PNG, or TIFF above 65535 objects),
//                labelsFormat, summary, backend, threads, timings}
//               {type:'error', id, message, cancelled}
// Everything is fetched from this origin: the core beside this file, ONNX Runtime from ./ort/, the
// model from the URLs the page gives (its own /models/).

let core = null;       // the C API, loaded on the first run
let api = null;        // celldrop_api.mjs: the C API's JavaScript binding, shared with the CLI
let ort = null;        // onnxruntime-web, loaded on the first run
const cancelled = new Set();  // ids of runs the page cancelled (running or still queued)
const sessions = new Map();  // model name -> {sha256, session, handle, card}

const BACKEND = 'wasm';

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

async function loadOrt() {
  if (ort) return ort;
  try {
    ort = await import('./ort/ort.wasm.min.mjs');
  } catch (e) {
    throw new Error(`ONNX Runtime Web (ort/ort.wasm.min.mjs) could not be loaded: ${describe(e)}. Reload the page; ` +
      'if you host CellDrop, rebuild the site with scripts/build.sh site');
  }
  // The kernels come from this origin, never a CDN; threads need cross-origin isolation
  // (SharedArrayBuffer), one thread otherwise.
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? 2 : 1;
  return ort;
}

// The model's session, opened once per model file: the card checked by the core, the ONNX bytes
// against the card's sha256, then the session's input and output names against the card.
async function openModel(model) {
  const cached = sessions.get(model.name);
  if (cached && cached.cardText === model.cardText && cached.onnxUrl === model.onnxUrl) return cached;
  if (cached) {
    core.modelFree(cached.handle);
    await cached.session.release?.();
    sessions.delete(model.name);
  }
  const { json: card, handle } = core.modelOpen(model.cardText);
  if (card.error) throw new Error(`the model card ${model.name}.json is not valid: ${card.error}`);
  try {
    let bytes;
    try {
      const r = await fetch(model.onnxUrl);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      bytes = new Uint8Array(await r.arrayBuffer());
    } catch (e) {
      throw new Error(`the model file ${card.onnx.file} could not be downloaded (${describe(e)}): check that it sits beside its card`);
    }
    try {
      core.modelCheckOnnx(handle, bytes);
    } catch (e) {
      throw new Error(`the model ${model.name} cannot be used: ${describe(e)}`);
    }
    let session;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    } catch (e) {
      throw new Error(`ONNX Runtime could not load the model ${card.onnx.file}: ${describe(e)}`);
    }
    try {
      api.checkSession(core, handle, session);
    } catch (e) {
      await session.release?.();
      throw new Error(`the model ${model.name} does not match its card: ${describe(e)}`);
    }
    const entry = { name: model.name, cardText: model.cardText, onnxUrl: model.onnxUrl, card, handle, session };
    sessions.set(model.name, entry);
    return entry;
  } catch (e) {
    core.modelFree(handle);
    throw e;
  }
}

async function run(msg) {
  const t0 = performance.now();
  const post = (m, transfer) => self.postMessage({ id: msg.id, ...m }, transfer ?? []);
  const progress = (stage, tile) => post({
    type: 'progress', stage, backend: BACKEND, elapsed_s: (performance.now() - t0) / 1000,
    tile: tile ? tile.index + 1 : 0, tiles: tile ? tile.count : 0, pass: tile ? tile.pass : 0, passes: tile ? tile.passes : 0,
  });
  let image = 0, result = 0;
  try {
    if (cancelled.has(msg.id)) {
      post({ type: 'error', cancelled: true, message: 'Segmentation cancelled.' });
      return;
    }
    progress('loading');
    await loadCore();
    await loadOrt();
    const model = await openModel(msg.model);
    const tModel = performance.now();
    const decoded = core.imageDecode(new Uint8Array(msg.image.bytes));
    if (decoded.json.error) throw new Error(`the image cannot be read: ${decoded.json.error}`);
    image = decoded.handle;
    let seg;
    try {
      seg = await api.segmentTiles(core, ort, model, image, msg.params ?? {}, {
        // session.run may finish without ever yielding to the event loop, so a cancel message would
        // wait until the whole run ends: give it a turn before each tile.
        beforeTile: async () => {
          await new Promise((resolve) => setTimeout(resolve, 0));
          return cancelled.has(msg.id);
        },
        onTile: (tile) => progress('tiles', tile),
      });
    } catch (e) {
      if (cancelled.has(msg.id)) {
        post({ type: 'error', cancelled: true, message: 'Segmentation cancelled.' });
        return;
      }
      throw e;
    }
    result = seg.result;
    // A 16-bit PNG holds up to 65535 objects; the TIFF takes over above that.
    let labels = core.resultExport(result, 'labels_png'), labelsFormat = 'png';
    if (labels.error && /65535/.test(labels.error)) {
      labels = core.resultExport(result, 'labels_tiff');
      labelsFormat = 'tiff';
    }
    if (labels.error) throw new Error(`the labels could not be handed to the page: ${labels.error}`);
    const buffer = labels.bytes.buffer;
    post({
      type: 'done', labels: buffer, labelsFormat, summary: seg.summary, backend: BACKEND,
      threads: ort.env.wasm.numThreads,
      timings: { model_s: (tModel - t0) / 1000, inference_s: seg.inferenceMs / 1000, total_s: (performance.now() - t0) / 1000 },
    }, [buffer]);
  } catch (e) {
    post({ type: 'error', cancelled: false, message: describe(e) });
  } finally {
    if (result) core.resultFree(result);
    if (image) core.imageFree(image);
    cancelled.delete(msg.id);
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
  }
};
