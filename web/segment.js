// The page's side of segmentation: lists the site's models (/models/index.json, written by
// scripts/assemble-site.sh), starts the worker (worker.js) and passes messages between it and the
// Dear ImGui module, which calls start()/cancel() and gets its callbacks (onModels, onProgress,
// onDone, onError) set by the module itself. No pixels are handled here.

const MODELS = new URL('../models/', import.meta.url);

export function createSegmenter() {
  let worker = null;
  let nextId = 1;
  let running = 0;  // id of the run in progress, 0 = none
  const cards = new Map();  // model name -> card text, fetched once

  const seg = {
    models: [],
    // Set by the module (src/app/segment_bridge.cpp).
    onModels: () => {},
    onProgress: () => {},
    onDone: () => {},
    onError: () => {},
  };

  function ensureWorker() {
    if (worker) return worker;
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'celldrop-segmentation' });
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.id !== running) return;  // a run the page gave up on
      if (m.type === 'progress') {
        seg.onProgress(m);
      } else if (m.type === 'done') {
        running = 0;
        seg.onDone(new Uint8Array(m.labels), m);
      } else if (m.type === 'error') {
        running = 0;
        seg.onError(m.message, !!m.cancelled);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const id = running;
      running = 0;
      worker.terminate();
      worker = null;  // the next run starts a fresh one
      if (id) seg.onError(`the segmentation worker stopped: ${e.message || 'it could not be started'}. Try again; reload the page if it persists.`, false);
    };
    return worker;
  }

  // The list of shipped models; an empty list when the site has none (not an error).
  seg.loadModels = async () => {
    let list = [];
    try {
      const r = await fetch(new URL('index.json', MODELS));
      if (r.ok) list = (await r.json()).models ?? [];
    } catch {
      list = [];
    }
    seg.models = list.filter((m) => typeof m?.name === 'string');
    seg.onModels(seg.models);
    return seg.models;
  };

  // imageBytes: an encoded image file (the worker decodes it with the core). Returns the run's id.
  seg.start = async (modelName, imageBytes, imageName, paramsJson) => {
    const id = nextId++;
    running = id;
    try {
      let cardText = cards.get(modelName);
      if (cardText === undefined) {
        const r = await fetch(new URL(`${encodeURIComponent(modelName)}.json`, MODELS));
        if (!r.ok) throw new Error(`its card could not be downloaded (HTTP ${r.status})`);
        cardText = await r.text();
        cards.set(modelName, cardText);
      }
      let onnxFile;
      try {
        onnxFile = JSON.parse(cardText)?.onnx?.file;
      } catch (e) {
        throw new Error(`its card is not JSON: ${e.message}`);
      }
      if (typeof onnxFile !== 'string' || onnxFile.includes('/')) throw new Error('its card names no ONNX file (onnx.file)');
      if (running !== id) return id;  // cancelled while the card was on its way
      const bytes = imageBytes.slice();  // ours to transfer
      ensureWorker().postMessage({
        type: 'run', id,
        model: { name: modelName, cardText, onnxUrl: new URL(onnxFile, MODELS).href },
        image: { bytes: bytes.buffer, name: imageName },
        params: JSON.parse(paramsJson),
      }, [bytes.buffer]);
    } catch (e) {
      if (running === id) {
        running = 0;
        seg.onError(`the model ${modelName} cannot be used: ${e.message}`, false);
      }
    }
    return id;
  };

  seg.cancel = () => {
    if (!running) return;
    worker?.postMessage({ type: 'cancel', id: running });
  };

  return seg;
}
