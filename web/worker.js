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
  } catch (e) {
    throw new Error(`the segmentation core (celldrop-worker.js) could not be loaded: ${describe(e)}. Reload the page; ` +
      'if you host CellDrop, rebuild it with scripts/build.sh wasm site');
  }
  const m = await createCellDropCore();
  const enc = new TextEncoder();
  const takeJson = (ptr) => {
    ptr >>>= 0;
    const text = m.UTF8ToString(ptr);
    m._cd_free(ptr);
    return JSON.parse(text);
  };
  const withBytes = (bytes, fn) => {
    const ptr = m._cd_alloc(bytes.length) >>> 0;
    if (!ptr) throw new Error(`out of memory for ${bytes.length} bytes`);
    try {
      m.HEAPU8.set(bytes, ptr);
      return fn(ptr);
    } finally {
      m._cd_free(ptr);
    }
  };
  const withString = (s, fn) => withBytes(enc.encode(s + '\0'), fn);
  const withHandle = (fn) => {
    const out = m._cd_alloc(4) >>> 0;
    try {
      const json = takeJson(fn(out));
      return { json, handle: json.error ? 0 : m.HEAPU32[out >>> 2] >>> 0 };
    } finally {
      m._cd_free(out);
    }
  };
  const check = (json) => {
    if (json.error) throw new Error(json.error);
    return json;
  };
  core = {
    modelOpen: (cardText) => {
      const bytes = enc.encode(cardText);
      return withBytes(bytes, (p) => withHandle((out) => m._cd_model_open(p, bytes.length, out)));
    },
    modelCheckOnnx: (model, bytes) => check(withBytes(bytes, (p) => takeJson(m._cd_model_check_onnx(model, p, bytes.length)))),
    modelCheckIo: (model, io) => check(withString(JSON.stringify(io), (p) => takeJson(m._cd_model_check_io(model, p)))),
    modelFree: (model) => m._cd_model_free(model),
    imageDecode: (bytes) => withBytes(bytes, (p) => withHandle((out) => m._cd_image_decode(p, bytes.length, 0, 0, out))),
    imageFree: (image) => m._cd_image_free(image),
    runStart: (model, image, params) =>
      withString(JSON.stringify(params), (p) => withHandle((out) => m._cd_run_start(model, image, p, out))),
    // The tile's floats are copied out: ONNX Runtime keeps the tensor across an await, and the heap may move.
    runNextTile(run) {
      const tile = check(takeJson(m._cd_run_next_tile(run)));
      if (tile.done) return tile;
      tile.data = new Float32Array(m.HEAPF32.buffer, tile.data >>> 0, tile.channels * tile.height * tile.width).slice();
      return tile;
    },
    runSubmit(run, outputs) {
      outputs.forEach((o, k) => {
        const ptr = m._cd_run_output(run, k, o.channels, o.height, o.width) >>> 0;
        if (!ptr) throw new Error(`the network's output ${k} (${o.channels} x ${o.height} x ${o.width}) does not fit the model card`);
        m.HEAPF32.set(o.data, ptr >>> 2);  // a fresh view: cd_run_output may have grown the heap
      });
      return check(takeJson(m._cd_run_submit(run)));
    },
    runFail: (run, message) => (message === null ? m._cd_run_fail(run, 0) : withString(message, (p) => m._cd_run_fail(run, p))),
    runFinish: (run) => withHandle((out) => m._cd_run_finish(run, out)),
    runFree: (run) => m._cd_run_free(run),
    resultExport(result, format) {
      const out = m._cd_alloc(8) >>> 0;  // bytes pointer, size (wasm32)
      try {
        const json = withString('{}', (p) => withString(format, (f) => takeJson(m._cd_result_export(result, f, p, out, out + 4))));
        if (json.error) return { error: json.error };
        const ptr = m.HEAPU32[out >>> 2] >>> 0, size = m.HEAPU32[(out + 4) >>> 2] >>> 0;
        const bytes = m.HEAPU8.slice(ptr, ptr + size);
        m._cd_free(ptr);
        return { bytes };
      } finally {
        m._cd_free(out);
      }
    },
    resultFree: (result) => m._cd_result_free(result),
  };
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
    const channels = (meta) => (meta ?? []).map((m) => (Array.isArray(m?.shape) && typeof m.shape[1] === 'number' ? m.shape[1] : null));
    try {
      core.modelCheckIo(handle, {
        inputs: [...session.inputNames], outputs: [...session.outputNames],
        input_channels: channels(session.inputMetadata), output_channels: channels(session.outputMetadata),
      });
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
  let image = 0, runHandle = 0, result = 0;
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
    const started = core.runStart(model.handle, image, msg.params ?? {});
    if (started.json.error) throw new Error(started.json.error);
    runHandle = started.handle;
    const outputNames = model.card.outputs.map((o) => o.name);
    let inferenceMs = 0;
    for (;;) {
      // session.run may finish without ever yielding to the event loop, so a cancel message would
      // wait until the whole run ends: give it a turn before each tile.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (cancelled.has(msg.id)) {
        core.runFail(runHandle, null);
        break;
      }
      const tile = core.runNextTile(runHandle);
      if (tile.done) break;
      progress('tiles', tile);
      const input = new ort.Tensor('float32', tile.data, [1, tile.channels, tile.height, tile.width]);
      let outputs;
      const tInfer = performance.now();
      try {
        outputs = await model.session.run({ [model.card.input.name]: input }, outputNames);
      } catch (e) {
        core.runFail(runHandle, `ONNX Runtime failed: ${describe(e)}`);
        break;
      }
      inferenceMs += performance.now() - tInfer;
      const list = outputNames.map((name) => {
        const t = outputs[name];
        const d = t.dims.length === 4 ? t.dims : [1, 1, ...t.dims.slice(-2)];
        return { channels: Number(d[1]), height: Number(d[2]), width: Number(d[3]), data: t.data };
      });
      for (const name of outputNames) outputs[name].dispose?.();
      core.runSubmit(runHandle, list);
    }
    const finished = core.runFinish(runHandle);
    if (finished.json.error) {
      if (cancelled.has(msg.id)) {
        post({ type: 'error', cancelled: true, message: 'Segmentation cancelled.' });
        return;
      }
      throw new Error(finished.json.error);
    }
    result = finished.handle;
    // A 16-bit PNG holds up to 65535 objects; the TIFF takes over above that.
    let labels = core.resultExport(result, 'labels_png'), labelsFormat = 'png';
    if (labels.error && /65535/.test(labels.error)) {
      labels = core.resultExport(result, 'labels_tiff');
      labelsFormat = 'tiff';
    }
    if (labels.error) throw new Error(`the labels could not be handed to the page: ${labels.error}`);
    const buffer = labels.bytes.buffer;
    post({
      type: 'done', labels: buffer, labelsFormat, summary: finished.json, backend: BACKEND,
      threads: ort.env.wasm.numThreads,
      timings: { model_s: (tModel - t0) / 1000, inference_s: inferenceMs / 1000, total_s: (performance.now() - t0) / 1000 },
    }, [buffer]);
  } catch (e) {
    post({ type: 'error', cancelled: false, message: describe(e) });
  } finally {
    if (result) core.resultFree(result);
    if (runHandle) core.runFree(runHandle);
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
