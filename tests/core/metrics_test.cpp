#include "core/metrics.h"

#include <gtest/gtest.h>

namespace celldrop {
namespace {

void rect(Labels& l, int x0, int y0, int x1, int y1, uint32_t id) {  // [x0,x1) x [y0,y1)
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) l.at(x, y) = id;
}

TEST(Metrics, IdenticalLabelsScorePerfectly) {
  Labels gt = make_labels(64, 48);
  rect(gt, 2, 2, 12, 9, 1);
  rect(gt, 12, 2, 20, 9, 2);  // touching the first
  rect(gt, 30, 30, 33, 31, 3);
  rect(gt, 40, 5, 60, 40, 4);
  MatchCounts c = match_labels(gt, gt, 0.5);
  EXPECT_EQ(c.tp, 4);
  EXPECT_EQ(c.fp, 0);
  EXPECT_EQ(c.fn, 0);
  EXPECT_DOUBLE_EQ(c.ap(), 1.0);
  EXPECT_DOUBLE_EQ(c.f1(), 1.0);
  EXPECT_DOUBLE_EQ(dsb_score(gt, gt), 1.0);
}

TEST(Metrics, ShiftedObjectMatchesOnlyAboveThreshold) {
  // A 30x10 rectangle shifted by s px has IoU (30 - s) / (30 + s): s = 10 gives exactly 0.5, which
  // does not match (IoU must exceed t); s = 9 gives 21/39 = 0.538, which does.
  Labels gt = make_labels(80, 20);
  rect(gt, 10, 5, 40, 15, 1);
  Labels exact = make_labels(80, 20), above = make_labels(80, 20);
  rect(exact, 20, 5, 50, 15, 7);
  rect(above, 19, 5, 49, 15, 7);
  MatchCounts at_half = match_labels(gt, exact, 0.5);
  EXPECT_EQ(at_half.tp, 0);
  EXPECT_EQ(at_half.fp, 1);
  EXPECT_EQ(at_half.fn, 1);
  EXPECT_DOUBLE_EQ(at_half.ap(), 0.0);
  EXPECT_EQ(match_labels(gt, exact, 0.49).tp, 1);
  EXPECT_EQ(match_labels(gt, above, 0.5).tp, 1);
  EXPECT_EQ(match_labels(gt, above, 0.53).tp, 1);
  EXPECT_EQ(match_labels(gt, above, 0.54).tp, 0);
  // DSB score of the 0.538 pair: AP is 1 at t = 0.50 only, 0 at 0.55..0.95.
  EXPECT_DOUBLE_EQ(dsb_score(gt, above), 0.1);
}

TEST(Metrics, SplitAndMergeMatchAtMostOnce) {
  Labels whole = make_labels(40, 20), halves = make_labels(40, 20);
  rect(whole, 10, 5, 30, 15, 1);
  rect(halves, 10, 5, 20, 15, 1);
  rect(halves, 20, 5, 30, 15, 2);
  // Each half has IoU 0.5 with the whole: no match at 0.5; at 0.3 one half matches, the other is FP.
  MatchCounts split = match_labels(whole, halves, 0.5);
  EXPECT_EQ(split.tp, 0);
  EXPECT_EQ(split.fp, 2);
  EXPECT_EQ(split.fn, 1);
  MatchCounts split_low = match_labels(whole, halves, 0.3);
  EXPECT_EQ(split_low.tp, 1);
  EXPECT_EQ(split_low.fp, 1);
  EXPECT_EQ(split_low.fn, 0);
  EXPECT_DOUBLE_EQ(split_low.ap(), 0.5);
  EXPECT_DOUBLE_EQ(split_low.f1(), 2.0 / 3.0);
  MatchCounts merge_low = match_labels(halves, whole, 0.3);  // roles swapped: a merge
  EXPECT_EQ(merge_low.tp, 1);
  EXPECT_EQ(merge_low.fp, 0);
  EXPECT_EQ(merge_low.fn, 1);
}

TEST(Metrics, EmptyImagesAndUnmatchedObjects) {
  Labels empty = make_labels(16, 16), one = make_labels(16, 16), other = make_labels(16, 16);
  rect(one, 1, 1, 5, 5, 3);
  rect(other, 9, 9, 14, 14, 8);
  MatchCounts none = match_labels(empty, empty, 0.5);
  EXPECT_EQ(none.tp + none.fp + none.fn, 0);
  EXPECT_DOUBLE_EQ(none.ap(), 1.0);  // nothing to find and nothing found
  EXPECT_DOUBLE_EQ(dsb_score(empty, empty), 1.0);
  MatchCounts fp_only = match_labels(empty, one, 0.5);
  EXPECT_EQ(fp_only.fp, 1);
  EXPECT_DOUBLE_EQ(fp_only.ap(), 0.0);
  MatchCounts fn_only = match_labels(one, empty, 0.5);
  EXPECT_EQ(fn_only.fn, 1);
  MatchCounts apart = match_labels(one, other, 0.1);
  EXPECT_EQ(apart.tp, 0);
  EXPECT_EQ(apart.fp, 1);
  EXPECT_EQ(apart.fn, 1);
}

TEST(Metrics, LowThresholdFindsTheLargestMatching) {
  // One row of pixels: gt A = [0,10), B = [10,13); pred Y = [0,3), X = [3,13).
  // IoU(A,X) = 7/13, IoU(A,Y) = 3/10, IoU(B,X) = 3/10. Greedy by IoU takes A-X and stops at one
  // match; the best one-to-one matching at t = 0.25 is A-Y plus B-X.
  Labels gt = make_labels(16, 1), pred = make_labels(16, 1);
  rect(gt, 0, 0, 10, 1, 1);
  rect(gt, 10, 0, 13, 1, 2);
  rect(pred, 0, 0, 3, 1, 1);
  rect(pred, 3, 0, 13, 1, 2);
  EXPECT_EQ(match_labels(gt, pred, 0.25).tp, 2);
  EXPECT_EQ(match_labels(gt, pred, 0.5).tp, 1);
  EXPECT_EQ(match_labels(gt, pred, 0.6).tp, 0);
}

TEST(Metrics, ArbitraryIdsGiveTheSameCounts) {
  Labels gt = make_labels(32, 32), pred = make_labels(32, 32), pred_big_ids = make_labels(32, 32);
  rect(gt, 0, 0, 10, 10, 1);
  rect(gt, 20, 20, 30, 30, 2);
  rect(pred, 1, 0, 11, 10, 1);
  rect(pred, 20, 0, 30, 8, 2);
  rect(pred_big_ids, 1, 0, 11, 10, 4000000000u);  // forces the sparse-id path
  rect(pred_big_ids, 20, 0, 30, 8, 123456789u);
  MatchCounts a = match_labels(gt, pred, 0.5), b = match_labels(gt, pred_big_ids, 0.5);
  EXPECT_EQ(a.tp, 1);
  EXPECT_EQ(a.fp, 1);
  EXPECT_EQ(a.fn, 1);
  EXPECT_EQ(b.tp, a.tp);
  EXPECT_EQ(b.fp, a.fp);
  EXPECT_EQ(b.fn, a.fn);
}

}  // namespace
}  // namespace celldrop
