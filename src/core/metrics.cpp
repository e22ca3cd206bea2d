// Matching, in two steps:
//  1. Overlaps: one pass over the pixels counts, for every (gt object, predicted object) pair that
//     shares pixels, how many it shares. Pairs are counted per run of equal pixels, so the hash map is
//     touched about once per object per row, and the pass is linear in the pixel count.
//  2. One-to-one matching at IoU > t: the largest matching (maximum cardinality) among the pairs above
//     t, which is what TP counts. For t >= 0.5 a pair above t is unique for both of its objects (two
//     objects cannot each cover more than half of a third), so every pair above t is a match and no
//     search is needed. Below 0.5 a greedy pass by descending IoU starts the matching and augmenting
//     paths (Kuhn's algorithm) complete it, so the count is optimal, as StarDist's Hungarian matching
//     (which maximises the number of matches first) would give. The DSB thresholds are all >= 0.5.
#include "core/metrics.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/labels.h"

namespace celldrop {
namespace {

struct Pair {
  int gt, pred;
  double iou;
};

struct Overlaps {
  int gt_count = 0, pred_count = 0;
  std::vector<Pair> pairs;  // only pairs sharing at least one pixel
};

Overlaps compute_overlaps(const Labels& gt, const Labels& pred) {
  if (gt.width != pred.width || gt.height != pred.height)
    throw std::invalid_argument("match_labels: ground truth is " + std::to_string(gt.width) + "x" +
                                std::to_string(gt.height) + " but the prediction is " +
                                std::to_string(pred.width) + "x" + std::to_string(pred.height) +
                                "; compare label images of the same size");
  ObjectIndex gi = index_objects(gt), pi = index_objects(pred);
  Overlaps ov;
  ov.gt_count = gi.count();
  ov.pred_count = pi.count();
  std::vector<long long> gt_area(size_t(ov.gt_count), 0), pred_area(size_t(ov.pred_count), 0);
  std::unordered_map<uint64_t, long long> shared;
  const size_t w = size_t(gt.width);
  for (size_t y = 0; y < size_t(gt.height); ++y) {
    const int32_t* g = gi.pixel_index.data() + y * w;
    const int32_t* p = pi.pixel_index.data() + y * w;
    uint64_t run_key = 0;
    long long run_len = 0;
    for (size_t x = 0; x < w; ++x) {
      if (g[x] >= 0) ++gt_area[size_t(g[x])];
      if (p[x] >= 0) ++pred_area[size_t(p[x])];
      if (g[x] < 0 || p[x] < 0) continue;
      uint64_t key = (uint64_t(uint32_t(g[x])) << 32) | uint32_t(p[x]);
      if (run_len > 0 && key != run_key) {
        shared[run_key] += run_len;
        run_len = 0;
      }
      run_key = key;
      ++run_len;
    }
    if (run_len > 0) shared[run_key] += run_len;
  }
  ov.pairs.reserve(shared.size());
  for (const auto& kv : shared) {
    int g = int(kv.first >> 32), p = int(kv.first & 0xffffffffu);
    double uni = double(gt_area[size_t(g)] + pred_area[size_t(p)] - kv.second);
    ov.pairs.push_back({g, p, double(kv.second) / uni});
  }
  // The hash map's order differs between standard libraries; sort so ties break the same everywhere.
  std::sort(ov.pairs.begin(), ov.pairs.end(), [](const Pair& a, const Pair& b) {
    if (a.iou != b.iou) return a.iou > b.iou;
    return a.gt != b.gt ? a.gt < b.gt : a.pred < b.pred;
  });
  return ov;
}

int count_matches(const Overlaps& ov, double t) {
  // ov.pairs is sorted by descending IoU: the pairs above t are a prefix.
  size_t above = 0;
  while (above < ov.pairs.size() && ov.pairs[above].iou > t) ++above;
  if (t >= 0.5) return int(above);

  std::vector<int> gt_match(size_t(ov.gt_count), -1), pred_match(size_t(ov.pred_count), -1);
  std::vector<std::vector<int>> adj(size_t(ov.gt_count));  // gt -> preds above t
  int matched = 0;
  for (size_t i = 0; i < above; ++i) {
    const Pair& pr = ov.pairs[i];
    adj[size_t(pr.gt)].push_back(pr.pred);
    if (gt_match[size_t(pr.gt)] < 0 && pred_match[size_t(pr.pred)] < 0) {
      gt_match[size_t(pr.gt)] = pr.pred;
      pred_match[size_t(pr.pred)] = pr.gt;
      ++matched;
    }
  }
  // Augmenting paths by breadth-first search (iterative: no deep recursion in WebAssembly).
  std::vector<int> seen_stamp(size_t(ov.pred_count), -1), parent_gt(size_t(ov.pred_count), -1);
  std::vector<int> queue;
  for (int root = 0; root < ov.gt_count; ++root) {
    if (gt_match[size_t(root)] >= 0 || adj[size_t(root)].empty()) continue;
    queue.assign(1, root);
    int free_pred = -1;
    for (size_t qi = 0; qi < queue.size() && free_pred < 0; ++qi) {
      int g = queue[qi];
      for (int p : adj[size_t(g)]) {
        if (seen_stamp[size_t(p)] == root) continue;
        seen_stamp[size_t(p)] = root;
        parent_gt[size_t(p)] = g;
        if (pred_match[size_t(p)] < 0) {
          free_pred = p;
          break;
        }
        queue.push_back(pred_match[size_t(p)]);
      }
    }
    if (free_pred < 0) continue;
    for (int p = free_pred; p >= 0;) {  // flip the path back to the root
      int g = parent_gt[size_t(p)];
      int next = gt_match[size_t(g)];
      gt_match[size_t(g)] = p;
      pred_match[size_t(p)] = g;
      p = g == root ? -1 : next;
    }
    ++matched;
  }
  return matched;
}

MatchCounts counts_at(const Overlaps& ov, double t) {
  MatchCounts c;
  c.tp = count_matches(ov, t);
  c.fp = ov.pred_count - c.tp;
  c.fn = ov.gt_count - c.tp;
  return c;
}

}  // namespace

MatchCounts match_labels(const Labels& gt, const Labels& pred, double iou_threshold) {
  return counts_at(compute_overlaps(gt, pred), iou_threshold);
}

double dsb_score(const Labels& gt, const Labels& pred) {
  Overlaps ov = compute_overlaps(gt, pred);
  double sum = 0.0;
  for (int i = 0; i < 10; ++i) sum += counts_at(ov, 0.5 + 0.05 * i).ap();
  return sum / 10.0;
}

}  // namespace celldrop
