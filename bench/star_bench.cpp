// Times StarDist-style post-processing (star_postprocess: candidates, NMS, rendering) per megapixel
// on ideal network outputs, set up as the reference measurements in bench/README.md were: one 256x256
// label image with 50 synthetic nuclei, tiled to each size; 32 rays; probability = the object's
// shortest ray at the pixel over its largest (a distance-transform-like value, peaking at the centre).
// The grid arrays are tiled directly: a ray that reaches a tile border meets another tile's object
// there, so it stops exactly where it stopped at the 256x256 image's edge.
// Usage: star_bench [repeats=5] [grid] [size]   (grid and size pick one case, e.g. for a profiler)
// One line per grid and size: objects, candidates, median wall time, per megapixel, median CPU time,
// AP@0.5 against the tiled labels (a benchmark of a wrong result is void).
// WebAssembly (Node) build: see bench/README.md.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#include "core/metrics.h"
#include "core/star.h"
#include "core/synth.h"

using namespace celldrop;

static double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Processor time of this process: on a machine shared with other jobs, wall time mostly measures
// the others. Under Node (WebAssembly build) clock() is wall time, so ask Node instead.
static double cpu_seconds() {
#ifdef __EMSCRIPTEN__
  return EM_ASM_DOUBLE({
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
#else
  return double(std::clock()) / CLOCKS_PER_SEC;
#endif
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Tiles a row-major [y][x][c] array of a w x h grid to (w * k) x (h * k).
static std::vector<float> tile_grid(const std::vector<float>& src, int w, int h, int c, int k) {
  std::vector<float> out(src.size() * size_t(k) * size_t(k));
  const int W = w * k;
  for (int y = 0; y < h * k; ++y)
    for (int x = 0; x < W; ++x)
      std::copy_n(&src[(size_t(y % h) * size_t(w) + size_t(x % w)) * size_t(c)], c,
                  &out[(size_t(y) * size_t(W) + size_t(x)) * size_t(c)]);
  return out;
}

static Labels tile_labels(const Labels& src, int k) {
  uint32_t per_tile = 0;
  for (uint32_t v : src.data) per_tile = std::max(per_tile, v);
  Labels out;
  out.width = src.width * k;
  out.height = src.height * k;
  out.data.resize(size_t(out.width) * size_t(out.height));
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const uint32_t v = src.at(x % src.width, y % src.height);
      const uint32_t tile_index = uint32_t((y / src.height) * k + x / src.width);
      out.at(x, y) = v ? v + tile_index * per_tile : 0;
    }
  return out;
}

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const int only_grid = argc > 2 ? std::atoi(argv[2]) : 0, only_size = argc > 3 ? std::atoi(argv[3]) : 0;
  const int n_rays = 32;
  SynthParams sp;
  sp.seed = 1;
  sp.width = sp.height = 256;
  sp.count = 50;
  const SynthResult synth = synthesize_nuclei(sp);
  if (!synth.error.empty()) {
    std::fprintf(stderr, "star_bench: synthetic labels failed: %s\n", synth.error.c_str());
    return 1;
  }
  StarParams params;  // prob_thresh 0.5, nms_thresh 0.4
  // Wall time is what a user waits; CPU time of the (single-threaded) call shows what other load on a
  // shared machine hides.
  std::printf("grid  size   objects  candidates  star_postprocess  per MP     CPU time    AP@0.5\n");
  for (int grid : {2, 1}) {
    if (only_grid && grid != only_grid) continue;
    const int gs = star_grid_size(256, grid);
    const std::vector<float> dist = star_distances(synth.labels, n_rays, grid);
    std::vector<float> prob(size_t(gs) * size_t(gs), 0.0f);
    std::vector<float> best(size_t(synth.count) + 1, 0.0f);
    for (int pass = 0; pass < 2; ++pass)
      for (int gy = 0; gy < gs; ++gy)
        for (int gx = 0; gx < gs; ++gx) {
          const uint32_t id = synth.labels.at(gx * grid, gy * grid);
          if (!id) continue;
          const float* d = &dist[(size_t(gy) * size_t(gs) + size_t(gx)) * size_t(n_rays)];
          const float shortest = *std::min_element(d, d + n_rays);
          if (pass == 0)
            best[id] = std::max(best[id], shortest);
          else
            prob[size_t(gy) * size_t(gs) + size_t(gx)] = shortest / best[id];
        }
    for (int size : {256, 512, 1024, 2048}) {
      if (only_size && size != only_size) continue;
      const int k = size / 256, g = gs * k;
      const std::vector<float> tp = tile_grid(prob, gs, gs, 1, k), td = tile_grid(dist, gs, gs, n_rays, k);
      std::vector<double> times, cpu_times;
      StarResult r;
      for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_seconds();
        r = star_postprocess(tp.data(), td.data(), g, g, n_rays, grid, size, size, params);
        cpu_times.push_back(cpu_seconds() - c0);
        times.push_back(seconds_since(t0));
      }
      const double t = median(times), cpu = median(cpu_times), mp = double(size) * size / 1e6;
      const double ap = match_labels(tile_labels(synth.labels, k), r.labels, 0.5).ap();
      std::printf("%-4d  %4d²  %7zu  %10d  %13.4f s  %7.4f s  %8.4f s  %6.3f\n", grid, size,
                  r.objects.size(), r.candidates, t, t / mp, cpu, ap);
    }
  }
  return 0;
}
