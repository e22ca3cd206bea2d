// Times Cellpose-style post-processing (flow_postprocess) per megapixel on ideal network outputs:
// flows from masks_to_flows of synthetic nuclei labels (one 256x256 image, tiled to each size, as
// the reference measurements in bench/README.md were), cell probability +1 inside, -1 outside.
// Usage: flow_bench [repeats=3]. Prints one line per size: median wall-clock and CPU time (the CPU
// time of this single-threaded code is the steadier figure on a shared machine), CPU time per
// megapixel, the two halves' CPU time, and AP@0.5 of the result against the labels (a benchmark of a
// wrong result is void).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "core/flow.h"
#include "core/labels.h"
#include "core/metrics.h"
#include "core/synth.h"

using namespace celldrop;

static double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

static Labels tile(const Labels& src, int size) {
  Labels out;
  out.width = out.height = size;
  out.data.assign(size_t(size) * size_t(size), 0);
  uint32_t per_tile = 0;
  for (uint32_t v : src.data) per_tile = std::max(per_tile, v);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const int tile_index = (y / src.height) * ((size + src.width - 1) / src.width) + x / src.width;
      const uint32_t v = src.at(x % src.width, y % src.height);
      out.at(x, y) = v ? v + uint32_t(tile_index) * per_tile : 0;
    }
  return out;
}

static double cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  SynthParams sp;
  sp.seed = 1;
  sp.width = sp.height = 256;
  const SynthResult synth = synthesize_nuclei(sp);
  if (!synth.error.empty()) {
    std::fprintf(stderr, "flow_bench: synthetic labels failed: %s\n", synth.error.c_str());
    return 1;
  }
  std::printf("size       objects  wall s   cpu s    cpu s/MP  dynamics+clusters  QC+cleanup  AP@0.5\n");
  for (int size : {512, 1024, 2048}) {
    Labels truth = tile(synth.labels, size);
    const int objects = relabel_sequential(truth);
    const FlowField flow = masks_to_flows(truth);
    std::vector<float> prob(truth.data.size());
    for (size_t i = 0; i < prob.size(); ++i) prob[i] = truth.data[i] ? 1.0f : -1.0f;

    FlowParams params;
    std::vector<double> total, cpu, front;
    Labels result;
    for (int r = 0; r < repeats; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      result = flow_postprocess(prob.data(), flow, params);
      total.push_back(seconds_since(t0));
      cpu.push_back(cpu_seconds() - c0);
      // The first half alone (no QC, no clean-up), to show where the time goes.
      std::vector<uint8_t> fg(prob.size());
      for (size_t i = 0; i < fg.size(); ++i) fg[i] = prob[i] > params.cellprob_threshold;
      c0 = cpu_seconds();
      const Labels masks = get_masks(follow_flows(flow, fg, params.niter), size, size);
      front.push_back(cpu_seconds() - c0);
    }
    const double t = median(total), c = median(cpu), f = median(front), mp = double(size) * size / 1e6;
    std::printf("%4dx%-4d  %7d  %7.4f  %7.4f  %8.4f  %17.4f  %10.4f  %.4f\n", size, size, objects, t, c,
                c / mp, f, c - f, match_labels(truth, result, 0.5).ap());
  }
  return 0;
}
