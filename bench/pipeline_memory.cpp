// Peak memory of the core's pipeline (run_pipeline) on a large image, for each model kind, with a
// perfect network: its outputs are made from synthetic nuclei's exact labels (flows from
// masks_to_flows; star: the exact ray distances, and each cell's shortest ray over its object's
// longest as the probability). Every allocation through operator new is counted, except the
// network's own (the callback and its precomputed maps), and the largest blocks alive at the peak
// are listed: a change's effect on the peak shows exactly, where a process's resident memory
// (bench/browser_bench.mjs) also holds the page, ONNX Runtime and freed-but-kept heap.
// Usage: pipeline_memory [size=4096]. The image counts as held (the pipeline keeps it throughout).
// AP@0.5 of the result against the labels is printed too: a measure of a wrong result is void.
// Then the measurements a result gets on a brightfield slide read through a stain (the table's
// measure_objects and measure_stains), with the slide and the labels counted as held.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "core/flow.h"
#include "core/measure.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/star.h"
#include "core/synth.h"

using namespace celldrop;

// --- counting allocator: a header before each block says its size and whether it counts ---------
namespace {
struct Header {
  size_t size;
  size_t counted;
};
bool counting = true;
size_t live = 0, peak = 0;
constexpr size_t kBig = size_t(1) << 20;  // blocks of at least 1 MiB are listed at the peak
constexpr int kSlots = 256;
void* big[kSlots];
size_t big_size[kSlots];
std::vector<size_t>* at_peak = nullptr;  // the big blocks alive at the peak (filled with counting off)

void remember_peak() {
  counting = false;
  at_peak->clear();
  for (int i = 0; i < kSlots; ++i)
    if (big[i]) at_peak->push_back(big_size[i]);
  counting = true;
}
}  // namespace

void* operator new(size_t n) {
  Header* h = static_cast<Header*>(std::malloc(n + sizeof(Header)));
  if (!h) throw std::bad_alloc();
  *h = {n, counting ? size_t(1) : size_t(0)};
  if (h->counted) {
    live += n;
    if (n >= kBig)
      for (int i = 0; i < kSlots; ++i)
        if (!big[i]) {
          big[i] = h + 1;
          big_size[i] = n;
          break;
        }
    if (live > peak) {
      peak = live;
      if (at_peak) remember_peak();
    }
  }
  return h + 1;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  Header* h = static_cast<Header*>(p) - 1;
  if (h->counted) {
    live -= h->size;
    if (h->size >= kBig)
      for (int i = 0; i < kSlots; ++i)
        if (big[i] == p) big[i] = nullptr;
  }
  std::free(h);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

// --- the perfect network -------------------------------------------------------------------------
namespace {
ModelCard card_for(ModelKind kind) {
  ModelCard c;
  c.name = kind == ModelKind::Star ? "oracle-star" : "oracle-flow";
  c.kind = kind;
  c.input.channels = 1;
  c.input.divisor = 8;
  c.diameter = 20.0;
  if (kind == ModelKind::Star) {
    c.star.n_rays = 32;
    c.star.grid = 2;
    c.star.prob_threshold = 0.5;
    c.star.nms_threshold = 0.4;
    c.outputs = {{"prob", 1, 2}, {"dist", 32, 2}};
  } else {
    c.flow.flow_scale = 5.0;
    c.flow.reference_niter = 200;
    c.flow.cellprob_threshold = 0.0;
    c.flow.flow_threshold = 0.4;
    c.outputs = {{"cellprob", 1, 1}, {"flow", 2, 1}};
  }
  return c;
}

// Whole-image outputs, output by output as the card lists them (channel planes of grid cells).
std::vector<std::vector<float>> oracle_maps(const Labels& l, const ModelCard& card) {
  if (card.kind == ModelKind::Flow) {
    FlowField f = masks_to_flows(l);
    for (float& v : f.data) v *= float(card.flow.flow_scale);
    std::vector<float> cellprob(l.data.size());
    for (size_t i = 0; i < l.data.size(); ++i) cellprob[i] = l.data[i] ? 5.0f : -5.0f;
    return {cellprob, f.data};
  }
  const int g = card.star.grid, n = card.star.n_rays;
  const int gw = star_grid_size(l.width, g), gh = star_grid_size(l.height, g);
  const size_t cells = size_t(gw) * size_t(gh);
  const std::vector<float> rays = star_distances(l, n, g);  // cell-major: n per cell
  std::vector<float> prob(cells, 0.0f), dist(cells * size_t(n));
  std::vector<float> longest;
  for (size_t c = 0; c < cells; ++c) {
    const uint32_t id = l.at(int(c % size_t(gw)) * g, int(c / size_t(gw)) * g);
    float shortest = rays[c * size_t(n)];
    for (int r = 0; r < n; ++r) {
      dist[size_t(r) * cells + c] = rays[c * size_t(n) + size_t(r)];
      shortest = std::min(shortest, rays[c * size_t(n) + size_t(r)]);
    }
    if (!id) continue;
    if (longest.size() <= id) longest.resize(size_t(id) + 1, 0.0f);
    longest[id] = std::max(longest[id], shortest);
    prob[c] = shortest;
  }
  for (size_t c = 0; c < cells; ++c) {
    const uint32_t id = l.at(int(c % size_t(gw)) * g, int(c / size_t(gw)) * g);
    if (id && longest[id] > 0) prob[c] /= longest[id];
  }
  return {prob, dist};
}

NetworkFn oracle(const std::vector<std::vector<float>>* maps, const ModelCard* card, int width, int height) {
  return [=](const NetworkTile& t, std::vector<NetworkOutput>* outs, std::string*) {
    counting = false;  // the network's memory is not the pipeline's
    outs->resize(card->outputs.size());
    for (size_t k = 0; k < card->outputs.size(); ++k) {
      const ModelOutput& o = card->outputs[k];
      const int mw = star_grid_size(width, o.grid), mh = star_grid_size(height, o.grid);
      NetworkOutput& out = (*outs)[k];
      out.channels = o.channels;
      out.width = t.width / o.grid;
      out.height = t.height / o.grid;
      out.data.assign(size_t(out.channels) * size_t(out.width) * size_t(out.height), 0.0f);
      for (int c = 0; c < o.channels; ++c)
        for (int y = 0; y < out.height; ++y)
          for (int x = 0; x < out.width; ++x) {
            const int X = t.x / o.grid + x, Y = t.y / o.grid + y;
            if (X >= mw || Y >= mh) continue;  // padding, cropped by the pipeline
            out.data[(size_t(c) * size_t(out.height) + size_t(y)) * size_t(out.width) + size_t(x)] =
                (*maps)[k][(size_t(c) * size_t(mh) + size_t(Y)) * size_t(mw) + size_t(X)];
          }
    }
    counting = true;
    return true;
  };
}
}  // namespace

int main(int argc, char** argv) {
  const int size = argc > 1 ? std::atoi(argv[1]) : 4096;
  std::printf("%-5s %9s %8s %7s %10s %10s  %s\n", "model", "image", "objects", "AP@0.5", "image MB", "peak MB",
              "blocks of 1 MiB or more alive at the peak, MB");
  for (ModelKind kind : {ModelKind::Star, ModelKind::Flow}) {
    counting = false;
    SynthParams sp;
    sp.seed = 11;
    sp.width = size;
    sp.height = size;
    sp.mean_diameter = 20.0;  // the card's: the pipeline runs at scale 1, where the oracle's maps are
    const SynthResult s = synthesize_nuclei(sp);
    if (!s.error.empty()) {
      std::fprintf(stderr, "pipeline_memory: %s\n", s.error.c_str());
      return 1;
    }
    const ModelCard card = card_for(kind);
    const std::vector<std::vector<float>> maps = oracle_maps(s.labels, card);
    std::vector<size_t> blocks;
    blocks.reserve(kSlots);
    at_peak = &blocks;
    counting = true;
    live = peak = 0;
    double image_mb, peak_mb, ap;
    int objects;
    {
      const Image image = s.image;  // the caller's image, held throughout
      image_mb = double(live) / 1048576.0;
      PipelineParams p;
      p.diameter = card.diameter;
      PipelineResult r;
      std::string error;
      if (!run_pipeline(image, card, oracle(&maps, &card, size, size), p, &r, &error)) {
        std::fprintf(stderr, "pipeline_memory: %s\n", error.c_str());
        return 1;
      }
      objects = r.count;
      peak_mb = double(peak) / 1048576.0;
      counting = false;
      ap = match_labels(s.labels, r.labels, 0.5).ap();
    }
    at_peak = nullptr;
    counting = false;
    std::sort(blocks.rbegin(), blocks.rend());
    std::printf("%-5s %4dx%-4d %8d %7.3f %10.1f %10.1f ", kind == ModelKind::Star ? "star" : "flow", size, size,
                objects, ap, image_mb, peak_mb);
    for (size_t b : blocks) std::printf(" %.1f", double(b) / 1048576.0);
    std::printf("\n");
  }

  // The measurements of a stained slide: the synthetic nuclei as hematoxylin (8-bit RGB), its labels.
  counting = false;
  SynthParams sp;
  sp.seed = 11;
  sp.width = size;
  sp.height = size;
  sp.mean_diameter = 20.0;
  const SynthResult s = synthesize_nuclei(sp);
  std::vector<size_t> blocks;
  blocks.reserve(kSlots);
  at_peak = &blocks;
  counting = true;
  live = peak = 0;
  size_t objects = 0;
  double held_mb;
  {
    Image slide = make_image(size, size, 3, SampleType::U8);
    Labels labels = s.labels;
    held_mb = double(live) / 1048576.0;
    const uint16_t* grey = samples<uint16_t>(s.image);  // 16-bit: the generator's default
    const double hematoxylin[3] = {0.650, 0.704, 0.286};
    for (size_t i = 0; i < size_t(size) * size_t(size); ++i)
      for (int c = 0; c < 3; ++c)
        samples<uint8_t>(slide)[i * 3 + size_t(c)] = uint8_t(std::lround(255.0 * std::pow(10.0, -1.2 * grey[i] / 65535.0 * hematoxylin[c])));
    std::vector<ObjectMeasurements> measured;
    std::string error;
    if (!measure_objects(labels, &slide, &measured, &error) ||
        !measure_stains(labels, slide, StainVectors{}, &measured, &error)) {
      std::fprintf(stderr, "pipeline_memory: %s\n", error.c_str());
      return 1;
    }
    objects = measured.size();
  }
  at_peak = nullptr;
  counting = false;
  std::sort(blocks.rbegin(), blocks.rend());
  std::printf("\n%-9s %9s %8s %13s %10s  %s\n", "measure", "slide", "objects", "held MB", "peak MB",
              "blocks of 1 MiB or more alive at the peak, MB");
  std::printf("%-9s %4dx%-4d %8zu %13.1f %10.1f ", "stains", size, size, objects, held_mb, double(peak) / 1048576.0);
  for (size_t b : blocks) std::printf(" %.1f", double(b) / 1048576.0);
  std::printf("\n");
  return 0;
}
