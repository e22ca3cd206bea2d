// The JavaScript face of the C API (celldrop_api.h), shared by the CLI (celldrop-node) and the page's
// worker (celldrop-worker): one place that knows the memory contract, so the two shells cannot drift.
//   - Inputs are copied into the WebAssembly heap with cd_alloc and freed after the call.
//   - Every char* coming back is JSON, freed with cd_free after parsing.
//   - The heap may grow (and move) in any call that allocates: views are taken afresh every time.
//   - Handles come back through a void** out-parameter (4 bytes in wasm32).
// No Node or DOM API is used here; bytes are Uint8Arrays.

// m: an instantiated Emscripten module exporting the cd_* functions, UTF8ToString and the HEAP views.
export function bindCore(m) {
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
  // Typed arrays copied into the heap, plus output arrays ([Type, length] pairs) allocated there: fn
  // gets the input addresses and the output addresses, and the outputs come back copied out (one
  // array, or a list of them; with no outputs, fn's own answer). Everything is freed afterwards.
  const withArrays = (inputs, outputSpecs, fn) => {
    const blocks = [];
    try {
      const alloc = (bytes) => {
        const ptr = m._cd_alloc(bytes) >>> 0;
        if (!ptr) throw new Error(`out of memory for ${bytes} bytes`);
        blocks.push(ptr);
        return ptr;
      };
      const ins = inputs.map((a) => alloc(a.byteLength));
      const outs = [];
      for (let i = 0; i < outputSpecs.length; i += 2) outs.push({ Type: outputSpecs[i], n: outputSpecs[i + 1] });
      const outPtrs = outs.map((o) => alloc(o.n * o.Type.BYTES_PER_ELEMENT));
      inputs.forEach((a, i) => m.HEAPU8.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ins[i]));
      const answer = fn(ins, ...outPtrs);
      if (!outs.length) return answer;
      const copies = outs.map((o, i) => new o.Type(m.HEAPU8.buffer, outPtrs[i], o.n).slice());
      return copies.length === 1 ? copies[0] : copies;
    } finally {
      for (const p of blocks) m._cd_free(p);
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
  // A (pointer, size) pair the core wrote at `at`: the bytes copied out, the core's buffer freed.
  const takeBuffer = (at) => {
    const ptr = m.HEAPU32[at >>> 2] >>> 0, size = m.HEAPU32[(at + 4) >>> 2] >>> 0;
    const bytes = m.HEAPU8.slice(ptr, ptr + size);
    m._cd_free(ptr);
    return bytes;
  };

  return {
    version: () => m.UTF8ToString(m._cd_version() >>> 0),
    info: (bytes, maxMegapixels = 0) => withBytes(bytes, (p) => takeJson(m._cd_info(p, bytes.length, maxMegapixels))),
    synth(params) {
      const out = m._cd_alloc(16) >>> 0;  // image ptr, image size, labels ptr, labels size (wasm32)
      try {
        const summary = withString(params, (p) => takeJson(m._cd_synth(p, out, out + 4, out + 8, out + 12)));
        if (summary.error) return { summary };
        return { summary, image: takeBuffer(out), labels: takeBuffer(out + 8) };
      } finally {
        m._cd_free(out);
      }
    },
    modelOpen(cardText) {
      const bytes = enc.encode(cardText);
      return withBytes(bytes, (p) => withHandle((out) => m._cd_model_open(p, bytes.length, out)));
    },
    modelCheckOnnx: (model, bytes) => check(withBytes(bytes, (p) => takeJson(m._cd_model_check_onnx(model, p, bytes.length)))),
    modelCheckIo: (model, io) => check(withString(JSON.stringify(io), (p) => takeJson(m._cd_model_check_io(model, p)))),
    modelFree: (model) => m._cd_model_free(model),
    imageDecode: (bytes, page = 0, maxMegapixels = 0) =>
      withBytes(bytes, (p) => withHandle((out) => m._cd_image_decode(p, bytes.length, page, maxMegapixels, out))),
    imageSetPixelSize: (image, um) => check(takeJson(m._cd_image_set_pixel_size(image, um))),
    imageFree: (image) => m._cd_image_free(image),
    // keepMaps: the result keeps the network's stitched outputs for resultRepostprocess.
    runStart: (model, image, params, keepMaps = false) =>
      withString(JSON.stringify(params), (p) => withHandle((out) =>
        (keepMaps ? m._cd_run_start_keeping_maps : m._cd_run_start)(model, image, p, out))),
    // The waiting tile, its floats copied out of the heap (ONNX Runtime keeps the tensor across an await);
    // or, with external flow dynamics, the request for end points, its flow and foreground copied out.
    runNextTile(run) {
      const tile = check(takeJson(m._cd_run_next_tile(run)));
      if (tile.done) return tile;
      if (tile.dynamics) {
        const n = tile.width * tile.height;
        tile.flow = new Float32Array(m.HEAPF32.buffer, tile.flow >>> 0, 2 * n).slice();
        tile.foreground = m.HEAPU8.slice(tile.foreground >>> 0, (tile.foreground >>> 0) + n);
        return tile;
      }
      tile.data = new Float32Array(m.HEAPF32.buffer, tile.data >>> 0, tile.channels * tile.height * tile.width).slice();
      return tile;
    },
    // outputs: [{channels, height, width, data: Float32Array}] in the card's order.
    runSubmit(run, outputs) {
      outputs.forEach((o, k) => {
        const ptr = m._cd_run_output(run, k, o.channels, o.height, o.width) >>> 0;
        if (!ptr) throw new Error(`the network's output ${k} (${o.channels} x ${o.height} x ${o.width}) does not fit the model card`);
        m.HEAPF32.set(o.data, ptr >>> 2);  // a fresh view: cd_run_output may have grown the heap
      });
      return check(takeJson(m._cd_run_submit(run)));
    },
    runExternalFlowDynamics: (run) => m._cd_run_external_flow_dynamics(run),
    runSubmitEndPoints: (run, endY, endX) =>
      withArrays([endY, endX], [], ([y, x]) => check(takeJson(m._cd_run_submit_end_points(run, y, x)))),
    runFail: (run, message) => (message === null ? m._cd_run_fail(run, 0) : withString(message, (p) => m._cd_run_fail(run, p))),
    runFinish: (run) => withHandle((out) => m._cd_run_finish(run, out)),
    runFree: (run) => m._cd_run_free(run),
    resultExport(result, format, options = {}) {
      const out = m._cd_alloc(8) >>> 0;  // bytes pointer, size
      try {
        const json = withString(JSON.stringify(options), (p) =>
          withString(format, (f) => takeJson(m._cd_result_export(result, f, p, out, out + 4))));
        return json.error ? { error: json.error } : { bytes: takeBuffer(out) };
      } finally {
        m._cd_free(out);
      }
    },
    // The result's labels, copied out: {width, height, count, data} with data a Uint16Array when every
    // id fits in 16 bits (up to 65535 objects: half the bytes to hand over), else a Uint32Array.
    resultLabels(result) {
      const out = m._cd_alloc(12) >>> 0;  // width, height, count
      try {
        const p = m._cd_result_labels(result, out, out + 4, out + 8) >>> 0;
        if (!p) throw new Error('no result');
        const [width, height, count] = m.HEAPU32.slice(out >>> 2, (out >>> 2) + 3);
        const view = m.HEAPU32.subarray(p >>> 2, (p >>> 2) + width * height);
        return { width, height, count, data: count <= 0xffff ? new Uint16Array(view) : view.slice() };
      } finally {
        m._cd_free(out);
      }
    },
    // Marker-positive objects (cd_result_classify): the marker a channel from 0 or a stain ('dab',
    // 'hematoxylin'), threshold a number or null for Otsu's over the objects' means; a marker of null
    // or -1 clears; grades null or the 2+ and 3+ thresholds [t2, t3] (with threshold the 1+ one).
    // {positive, objects, threshold, threshold_from} and, graded, grades [0, 1+, 2+, 3+] and h_score.
    resultClassify: (result, marker, threshold = null, grades = null) =>
      check(withString(marker === null || marker === -1 ? '' : String(marker),
        (p) => takeJson(m._cd_result_classify(result, p, threshold ?? NaN, grades?.[0] ?? NaN, grades?.[1] ?? NaN)))),
    resultFree: (result) => m._cd_result_free(result),
    // The result post-processed again with other thresholds, without the network: {json, handle}
    // (json.needs_network: the new parameters need a full run).
    resultRepostprocess: (result, image, params) =>
      withString(JSON.stringify(params), (p) => withHandle((out) => m._cd_result_repostprocess(result, image, p, out))),
    // Flow dynamics one step at a time (typed arrays in, typed arrays out; see celldrop_api.h).
    flowFromLabels(labels, width, height) {
      return withArrays([labels], [Float32Array, 2 * width * height], ([l], out) =>
        check(takeJson(m._cd_flow_from_labels(l, width, height, out))));
    },
    flowFollow(flow, foreground, width, height, niter, flowScale = 1) {
      const n = width * height;
      const [endY, endX] = withArrays([flow, foreground], [Float32Array, n, Float32Array, n], ([f, g], y, x) =>
        check(takeJson(m._cd_flow_follow(f, g, width, height, niter, flowScale, y, x))));
      return { endY, endX };
    },
    flowMasks(endY, endX, foreground, width, height, maxSizeFraction = 0.4) {
      return withArrays([endY, endX, foreground], [Uint32Array, width * height], ([y, x, g], out) =>
        check(takeJson(m._cd_flow_masks(y, x, g, width, height, maxSizeFraction, out))));
    },
    evalPair: (gt, pred) => withBytes(gt, (g) => withBytes(pred, (p) => takeJson(m._cd_eval_pair(g, gt.length, p, pred.length)))),
  };
}

// The session's declared input/output names and channel counts, checked by the core against the card.
export function checkSession(core, model, session) {
  const channels = (meta) => (meta ?? []).map((x) => (Array.isArray(x?.shape) && typeof x.shape[1] === 'number' ? x.shape[1] : null));
  core.modelCheckIo(model, {
    inputs: [...session.inputNames], outputs: [...session.outputNames],
    input_channels: channels(session.inputMetadata), output_channels: channels(session.outputMetadata),
  });
}

// One segmentation: pulls tiles from the core, runs each through the ONNX Runtime session, pushes the
// outputs back, and returns {summary, result, inferenceMs, dynamicsMs} (result: a handle for
// resultExport, which the caller frees). hooks.beforeTile (async, optional) returns true to stop (a
// cancel): then the core's run ends with its "cancelled" error; hooks.onTile(tile) reports progress.
// hooks.followFlows (async, optional; flow models) replaces the core's flow dynamics: it gets
// {flow, foreground, width, height, niter, flowScale} and returns {endY, endX} per pixel, as
// cd_flow_follow would (the page's GPU shader, shaders/flow_follow.mjs); if it throws, the run fails
// with its message. hooks.onDynamics(request) reports that step's start. hooks.keepMaps: the result
// keeps the network's outputs, so core.resultRepostprocess can change its thresholds later.
export async function segmentTiles(core, ort, model, image, params, hooks = {}) {
  const { json: started, handle: run } = core.runStart(model.handle, image, params, !!hooks.keepMaps);
  if (started.error) throw new Error(started.error);
  let inferenceMs = 0, dynamicsMs = 0;
  try {
    if (hooks.followFlows) core.runExternalFlowDynamics(run);
    const outputNames = model.card.outputs.map((o) => o.name);
    for (;;) {
      if (hooks.beforeTile && (await hooks.beforeTile())) {
        core.runFail(run, null);
        break;
      }
      const tile = core.runNextTile(run);
      if (tile.done) break;
      if (tile.dynamics) {
        hooks.onDynamics?.(tile);
        const t0 = performance.now();
        let ends;
        try {
          ends = await hooks.followFlows({ flow: tile.flow, foreground: tile.foreground, width: tile.width, height: tile.height,
            niter: tile.niter, flowScale: tile.flow_scale });
        } catch (e) {
          core.runFail(run, e && e.message ? e.message : String(e));
          break;
        }
        dynamicsMs += performance.now() - t0;
        core.runSubmitEndPoints(run, ends.endY, ends.endX);
        continue;
      }
      hooks.onTile?.(tile);
      const input = new ort.Tensor('float32', tile.data, [1, tile.channels, tile.height, tile.width]);
      let results;
      const t0 = performance.now();
      try {
        results = await model.session.run({ [model.card.input.name]: input }, outputNames);
      } catch (e) {
        core.runFail(run, `ONNX Runtime failed: ${e && e.message ? e.message : e}`);
        break;
      }
      inferenceMs += performance.now() - t0;
      const outputs = outputNames.map((name) => {
        const t = results[name];
        const d = t.dims.length === 4 ? t.dims : [1, 1, ...t.dims.slice(-2)];
        return { channels: Number(d[1]), height: Number(d[2]), width: Number(d[3]), data: t.data };
      });
      for (const name of outputNames) results[name].dispose?.();
      core.runSubmit(run, outputs);
    }
    const { json: summary, handle: result } = core.runFinish(run);
    if (summary.error) throw new Error(summary.error);
    return { summary, result, inferenceMs, dynamicsMs };
  } finally {
    core.runFree(run);
  }
}
