// Metrics: one-to-one object matching by IoU and the scores the field reports, with the convention of
// the DSB2018 data README: AP@t = TP / (TP + FP + FN), a prediction matching a ground-truth object when
// IoU > t; the DSB score is, per image, the mean of AP over t = 0.50, 0.55, ..., 0.95.
#pragma once

#include <vector>

#include "core/image.h"

namespace celldrop {

struct MatchCounts {
  int tp = 0;
  int fp = 0;
  int fn = 0;
  double ap() const { return tp + fp + fn == 0 ? 1.0 : double(tp) / double(tp + fp + fn); }
  double f1() const { return 2 * tp + fp + fn == 0 ? 1.0 : 2.0 * tp / double(2 * tp + fp + fn); }
};

// Matches objects of `pred` to objects of `gt` (same size) one-to-one at IoU > threshold.
MatchCounts match_labels(const Labels& gt, const Labels& pred, double iou_threshold);

// Mean of AP over thresholds 0.50..0.95 in steps of 0.05 for one image.
double dsb_score(const Labels& gt, const Labels& pred);

}  // namespace celldrop
