// Runs shaders/flow_follow.wgsl: the GPU twin of the core's follow_flows (src/core/flow.cpp). Used by
// the segmentation worker when the WebGPU backend is active, and by tests/browser/shader.test.mjs
// against the C++ reference (cd_flow_follow). No DOM: works in a page or a worker.
//
//   const follower = await createFlowFollower(device);          // compiles once per device
//   const { endY, endX } = await follower.follow({ flow, foreground, width, height, niter, flowScale });
//
// flow: Float32Array, planar 2 x height x width (dy plane, then dx); foreground: Uint8Array (0/1) of
// height x width. endY/endX: Float32Array per pixel (background pixels: their own position), the
// layout cd_flow_follow writes and cd_flow_masks reads.

const SHADER_URL = new URL('./flow_follow.wgsl', import.meta.url);

export async function createFlowFollower(device) {
  let code;
  try {
    const r = await fetch(SHADER_URL);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    code = await r.text();
  } catch (e) {
    throw new Error(`the flow shader (${SHADER_URL.pathname}) could not be downloaded: ${e.message || e}`);
  }
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: 'flow_follow.wgsl' });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    await device.popErrorScope();
    throw new Error(`the flow shader does not compile: ${errors.map((m) => `line ${m.lineNum}: ${m.message}`).join('; ')}`);
  }
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      { binding: 4, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const prepare = device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'prepare' } });
  const follow = device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'follow' } });
  const setupError = await device.popErrorScope();
  if (setupError) throw new Error(`the flow shader's pipelines could not be made: ${setupError.message}`);

  return {
    async follow({ flow, foreground, width, height, niter, flowScale = 1 }) {
      const n = width * height;
      if (!(width > 0 && height > 0) || flow.length !== 2 * n || foreground.length !== n) {
        throw new Error(`flow (${flow.length} floats) and foreground (${foreground.length}) must be 2 x and 1 x ${width} x ${height}`);
      }
      const limit = device.limits.maxStorageBufferBindingSize;
      if (8 * n > limit) throw new Error(`the image (${width} x ${height}) is too large for this GPU's buffers (${limit} bytes)`);
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 3).set([width, height, Math.max(0, niter | 0)]);
      new Float32Array(params, 12, 1)[0] = flowScale !== 0 ? 1 / flowScale : 1;  // as follow_flows
      const fg32 = Uint32Array.from(foreground, (v) => (v ? 1 : 0));  // WGSL storage has no bytes

      const buffers = [];
      const buffer = (size, usage, data) => {
        const b = device.createBuffer({ size: Math.max(16, size), usage, mappedAtCreation: !!data });
        if (data) {
          new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));
          b.unmap();
        }
        buffers.push(b);
        return b;
      };
      const S = GPUBufferUsage;
      try {
        device.pushErrorScope('out-of-memory');
        device.pushErrorScope('validation');
        const uniform = buffer(16, S.UNIFORM, params);
        const flowBuf = buffer(flow.byteLength, S.STORAGE, flow);
        const fgBuf = buffer(fg32.byteLength, S.STORAGE, fg32);
        const fieldBuf = buffer(8 * n, S.STORAGE);
        const endsBuf = buffer(8 * n, S.STORAGE | S.COPY_SRC);
        const readBuf = buffer(8 * n, S.MAP_READ | S.COPY_DST);
        const bindGroup = device.createBindGroup({
          layout,
          entries: [uniform, flowBuf, fgBuf, fieldBuf, endsBuf].map((b, i) => ({ binding: i, resource: { buffer: b } })),
        });
        const encoder = device.createCommandEncoder();
        // Two passes: every pixel's field value must be written before any pixel samples it.
        for (const pipeline of [prepare, follow]) {
          const pass = encoder.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(Math.ceil(width / 8), Math.ceil(height / 8));
          pass.end();
        }
        encoder.copyBufferToBuffer(endsBuf, 0, readBuf, 0, 8 * n);
        device.queue.submit([encoder.finish()]);
        const validation = await device.popErrorScope();
        const oom = await device.popErrorScope();
        if (validation || oom) throw new Error(`the flow shader could not run: ${(validation || oom).message}`);
        await readBuf.mapAsync(GPUMapMode.READ);
        const ends = new Float32Array(readBuf.getMappedRange().slice(0));
        readBuf.unmap();
        const endY = new Float32Array(n), endX = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          endY[i] = ends[2 * i];
          endX[i] = ends[2 * i + 1];
        }
        return { endY, endX };
      } finally {
        for (const b of buffers) b.destroy();
      }
    },
  };
}
