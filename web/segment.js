// The page's side of segmentation: lists the site's models (/models/index.json, written by
// scripts/assemble-site.sh), starts the worker (worker.js) and passes messages between it and the
// Dear ImGui module, which calls start()/cancel()/abandon() and gets its callbacks (onModels,
// onProgress, onDone, onError) set by the module itself. No pixels are handled here.
//
// A person's own model (addModel: an .onnx file and its .json card, chosen or dropped together) is
// read in the tab and checked in the worker (the card by the core, the file's sha256 against the
// card, the session's inputs and outputs against the card) before it joins the list; it stays for
// the session and is never sent anywhere: its bytes go to the worker with each run.

const MODELS = new URL('../models/', import.meta.url);

export function createSegmenter() {
  let worker = null;
  let nextId = 1;
  let running = 0;  // id of the run in progress, 0 = none
  let runningSha256 = '';  // the ONNX sha256 its card names: the worker refuses any other file
  const cards = new Map();  // model name -> card text, fetched once
  const ownModels = new Map();  // model name -> ONNX bytes of a model the user loaded
  const checks = new Map();  // id -> {resolve, reject} of addModel's check in the worker

  const seg = {
    models: [],
    // Set by the module (src/app/segmentation.cpp).
    onModels: () => {},
    onProgress: () => {},
    onDone: () => {},
    onError: () => {},
    onModelAdded: () => {},
    onModelError: () => {},
  };

  function ensureWorker() {
    if (worker) return worker;
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'celldrop-segmentation' });
    worker.onmessage = (e) => {
      const m = e.data;
      const check = checks.get(m.id);
      if (check) {
        checks.delete(m.id);
        if (m.type === 'checked') check.resolve(m.card);
        else check.reject(new Error(m.message));
        return;
      }
      if (m.id !== running) return;  // a run the page gave up on
      if (m.type === 'progress') {
        seg.onProgress(m);
      } else if (m.type === 'done') {
        running = 0;
        const labels = m.labelsBits === 32 ? new Uint32Array(m.labels) : new Uint16Array(m.labels);
        seg.onDone(labels, { ...m, labels: null, modelSha256: m.modelSha256 || runningSha256 });
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
      for (const c of checks.values()) c.reject(new Error('the segmentation worker stopped; try again'));
      checks.clear();
      if (id) seg.onError(`the segmentation worker stopped: ${e.message || 'it could not be started'}. Try again; reload the page if it persists.`, false);
    };
    return worker;
  }

  async function cardText(modelName) {
    let text = cards.get(modelName);
    if (text === undefined) {
      const r = await fetch(new URL(`${encodeURIComponent(modelName)}.json`, MODELS));
      if (!r.ok) throw new Error(`its card could not be downloaded (HTTP ${r.status})`);
      text = await r.text();
      cards.set(modelName, text);
    }
    return text;
  }

  // The kind of picture a model was trained on (its card's training.modality: "fluorescence",
  // "histology", ...), or '' when the card does not say: the page suggests a model made for the image.
  const modalityOf = (card) => (typeof card?.training?.modality === 'string' ? card.training.modality : '');

  // The list of shipped models; an empty list when the site has none (not an error). Each card is
  // read too (a few kB each): a share link names the ONNX file's sha256, and the parameters panel
  // starts from the card's normalisation. A card that cannot be read leaves those out; running the
  // model then says what is wrong with it.
  seg.loadModels = async () => {
    let list = [];
    try {
      const r = await fetch(new URL('index.json', MODELS));
      if (r.ok) list = (await r.json()).models ?? [];
    } catch {
      list = [];
    }
    list = list.filter((m) => typeof m?.name === 'string');
    seg.models = await Promise.all(list.map(async (m) => {
      try {
        const card = JSON.parse(await cardText(m.name));
        return { ...m, sha256: card?.onnx?.sha256 ?? '', normalization: card?.normalization ?? {},
                 inputChannels: card?.input?.channels ?? 1, modality: modalityOf(card) };
      } catch {
        return m;
      }
    }));
    seg.onModels(seg.models);
    return seg.models;
  };

  // imageBytes: an encoded image file (the worker decodes it with the core); backend: 'auto' (WebGPU
  // when the browser has it, else WASM), 'webgpu' or 'wasm'; reuse: only thresholds changed since the
  // last result, so the worker may post-process its network outputs again; page: of a multi-page TIFF.
  // Returns the run's id.
  seg.start = async (modelName, imageBytes, imageName, paramsJson, backend = 'auto', reuse = false, page = 0) => {
    const id = nextId++;
    running = id;
    try {
      const text = await cardText(modelName);
      let onnxFile;
      try {
        const card = JSON.parse(text);
        onnxFile = card?.onnx?.file;
        runningSha256 = card?.onnx?.sha256 ?? '';
      } catch (e) {
        throw new Error(`its card is not JSON: ${e.message}`);
      }
      if (typeof onnxFile !== 'string' || onnxFile.includes('/')) throw new Error('its card names no ONNX file (onnx.file)');
      if (running !== id) return id;  // cancelled while the card was on its way
      const bytes = imageBytes.slice();  // ours to transfer
      const own = ownModels.get(modelName);
      ensureWorker().postMessage({
        type: 'run', id,
        model: own ? { name: modelName, cardText: text, onnxUrl: null, onnxBytes: own }
          : { name: modelName, cardText: text, onnxUrl: new URL(onnxFile, MODELS).href },
        image: { bytes: bytes.buffer, name: imageName, page },
        params: JSON.parse(paramsJson),
        backend,
        reuse,
      }, [bytes.buffer]);
    } catch (e) {
      if (running === id) {
        running = 0;
        seg.onError(`the model ${modelName} cannot be used: ${e.message}`, false);
      }
    }
    return id;
  };

  // files: the user's choice or drop, which must be one .onnx file and one .json card. Resolves with
  // the model's name once the worker has checked it and it is in the list (and tells the module);
  // otherwise tells the module why, in a sentence, and rejects with it.
  seg.addModel = async (files) => {
    try {
      const list = Array.from(files ?? []);
      const onnx = list.filter((f) => /\.onnx$/i.test(f.name)), json = list.filter((f) => /\.json$/i.test(f.name));
      if (list.length !== 2 || onnx.length !== 1 || json.length !== 1) {
        throw new Error(`choose two files together, the model's .onnx file and its .json card (you gave ${
          list.length ? list.map((f) => f.name).join(', ') : 'none'})`);
      }
      const [cardText, bytes] = await Promise.all([json[0].text(), onnx[0].arrayBuffer().then((b) => new Uint8Array(b))]);
      let card;
      try {
        card = JSON.parse(cardText);
      } catch (e) {
        throw new Error(`its card ${json[0].name} is not JSON: ${e.message}`);
      }
      const name = typeof card?.name === 'string' ? card.name : '';
      if (name && seg.models.some((m) => m.name === name && !(ownModels.has(name) && cards.get(name) === cardText))) {
        throw new Error(`a model named ${name} is already in the list; give yours another name in its card (${json[0].name})`);
      }
      const id = nextId++;
      const checked = new Promise((resolve, reject) => checks.set(id, { resolve, reject }));
      ensureWorker().postMessage({ type: 'check', id, model: { name: name || json[0].name, cardText, onnxUrl: null, onnxBytes: bytes } });
      const summary = await checked;  // the core's summary of the card: name, kind, diameter, thresholds
      if (!ownModels.has(summary.name)) {
        seg.models.push({ name: summary.name, kind: summary.kind, diameter: summary.diameter, thresholds: summary.thresholds,
          sha256: summary.onnx.sha256, normalization: card.normalization ?? {}, inputChannels: summary.input.channels,
          modality: modalityOf(card), own: true });
      }
      ownModels.set(summary.name, bytes);
      cards.set(summary.name, cardText);
      seg.onModels(seg.models);
      seg.onModelAdded(summary.name);
      return summary.name;
    } catch (e) {
      const message = `Load your own model: ${e.message}. The models you had are still here.`;
      seg.onModelError(message);
      throw new Error(message);
    }
  };

  seg.cancel = () => {
    if (!running) return;
    worker?.postMessage({ type: 'cancel', id: running });
  };

  // Cancels the run in progress and drops whatever it still sends: the image it was started on has
  // been replaced, so neither its masks nor its errors concern the page any more.
  seg.abandon = () => {
    if (!running) return;
    worker?.postMessage({ type: 'cancel', id: running });
    running = 0;
  };

  return seg;
}
