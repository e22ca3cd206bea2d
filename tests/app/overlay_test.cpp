// The mask overlay (src/app/overlay.cpp): outlines where an object meets anything else, the image
// border included, so touching nuclei stay visibly separate; fills in a colour each object keeps;
// areas and counts for the hover text.
#include "app/overlay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace celldrop {
namespace {

Labels from_rows(const std::vector<std::vector<uint32_t>>& rows) {
  Labels l = make_labels(int(rows[0].size()), int(rows.size()));
  for (int y = 0; y < l.height; y++)
    for (int x = 0; x < l.width; x++) l.at(x, y) = rows[size_t(y)][size_t(x)];
  return l;
}

// The whole layer in one band. `rgba` keeps its size (width x height x 4) and must be overwritten.
void whole_layer(const Labels& labels, OverlayMode mode, uint32_t outline_rgb, std::vector<uint8_t>* rgba) {
  rgba->resize(size_t(labels.width) * size_t(labels.height) * 4);
  overlay_rgba_rect(labels, mode, outline_rgb, 0, 0, labels.width, labels.height, rgba->data());
}

// Each pixel's colour as 0xRRGGBB, or -1 where the layer is transparent.
std::vector<std::vector<long>> layer(const Labels& labels, OverlayMode mode, uint32_t outline_rgb) {
  std::vector<uint8_t> rgba;
  whole_layer(labels, mode, outline_rgb, &rgba);
  std::vector<std::vector<long>> out(size_t(labels.height), std::vector<long>(size_t(labels.width)));
  for (int y = 0; y < labels.height; y++) {
    for (int x = 0; x < labels.width; x++) {
      const uint8_t* p = &rgba[(size_t(y) * labels.width + x) * 4];
      if (p[3] == 0) {
        EXPECT_TRUE(p[0] == 0 && p[1] == 0 && p[2] == 0) << "transparent pixels carry no colour";
        out[size_t(y)][size_t(x)] = -1;
      } else {
        EXPECT_EQ(p[3], 255) << "drawn pixels are opaque: opacity is the viewer's";
        out[size_t(y)][size_t(x)] = long(p[0]) << 16 | long(p[1]) << 8 | p[2];
      }
    }
  }
  return out;
}

// The outline layer as rows of 0/1, for readable expectations.
std::vector<std::vector<int>> outline_mask(const Labels& labels) {
  const uint32_t rgb = 0x12AB34;
  std::vector<std::vector<int>> mask;
  for (const auto& row : layer(labels, OverlayMode::Outlines, rgb)) {
    mask.emplace_back();
    for (long c : row) {
      EXPECT_TRUE(c == -1 || c == long(rgb)) << "outlines only, in the outline colour";
      mask.back().push_back(c != -1);
    }
  }
  return mask;
}

TEST(Overlay, AnObjectIsOutlinedAndItsInsideStaysClear) {
  const Labels l = from_rows({{0, 0, 0, 0, 0, 0},
                              {0, 3, 3, 3, 3, 0},
                              {0, 3, 3, 3, 3, 0},
                              {0, 3, 3, 3, 3, 0},
                              {0, 0, 0, 0, 0, 0}});
  EXPECT_EQ(outline_mask(l), (std::vector<std::vector<int>>{{0, 0, 0, 0, 0, 0},
                                                            {0, 1, 1, 1, 1, 0},
                                                            {0, 1, 0, 0, 1, 0},
                                                            {0, 1, 1, 1, 1, 0},
                                                            {0, 0, 0, 0, 0, 0}}));
}

TEST(Overlay, TouchingObjectsAreOutlinedOnBothSides) {
  const Labels l = from_rows({{1, 1, 1, 2, 2, 2},
                              {1, 1, 1, 2, 2, 2},
                              {1, 1, 1, 2, 2, 2},
                              {1, 1, 1, 2, 2, 2}});
  // The image border counts as background; the shared edge is drawn in both objects.
  EXPECT_EQ(outline_mask(l), (std::vector<std::vector<int>>{{1, 1, 1, 1, 1, 1},
                                                            {1, 0, 1, 1, 0, 1},
                                                            {1, 0, 1, 1, 0, 1},
                                                            {1, 1, 1, 1, 1, 1}}));
}

TEST(Overlay, DiagonalNeighboursDoNotMakeAnEdge) {
  // 4-neighbours only: a pixel diagonal to background is still inside.
  const Labels l = from_rows({{0, 5, 5, 5, 0},
                              {5, 5, 5, 5, 5},
                              {5, 5, 5, 5, 5},
                              {5, 5, 5, 5, 5},
                              {0, 5, 5, 5, 0}});
  const auto mask = outline_mask(l);
  EXPECT_EQ(mask[2][2], 0);
  EXPECT_EQ(mask[1][1], 0) << "diagonal to a background corner";
  EXPECT_EQ(mask[1][0], 1) << "on the image border";
}

TEST(Overlay, FilledColoursEveryObjectPixelInItsOwnColour) {
  const Labels l = from_rows({{0, 7, 7, 7, 8},
                              {0, 7, 7, 7, 8},
                              {0, 7, 7, 7, 8},
                              {0, 0, 0, 0, 8}});
  const auto filled = layer(l, OverlayMode::Filled, 0xFFFFFF);
  const auto both = layer(l, OverlayMode::Both, 0xFFFFFF);
  for (int y = 0; y < l.height; y++) {
    for (int x = 0; x < l.width; x++) {
      const uint32_t id = l.at(x, y);
      const long fill = id ? long(object_color(id)) : -1;
      EXPECT_EQ(filled[size_t(y)][size_t(x)], fill) << "filled, edges included, at " << x << "," << y;
      const bool inside = x == 2 && y == 1;  // the only pixel of 7 or 8 with all four neighbours its own
      EXPECT_EQ(both[size_t(y)][size_t(x)], id == 0 ? -1 : inside ? fill : 0xFFFFFF) << "both, at " << x << "," << y;
    }
  }
}

TEST(Overlay, ObjectColoursAreStableBrightAndTellNeighboursApart) {
  EXPECT_EQ(object_color(42), object_color(42));
  std::set<uint32_t> distinct;
  int close_neighbours = 0;
  for (uint32_t id = 1; id <= 2000; id++) {
    const uint32_t c = object_color(id);
    const int r = int(c >> 16) & 255, g = int(c >> 8) & 255, b = int(c) & 255;
    EXPECT_EQ(c >> 24, 0u);
    EXPECT_EQ(std::max({r, g, b}), 255) << "id " << id << ": full value, readable over dark regions";
    EXPECT_LE(std::min({r, g, b}), 116) << "id " << id << ": saturated, not a washed-out grey";
    distinct.insert(c);
    // Neighbouring ids (often neighbouring objects) should not look alike.
    const uint32_t n = object_color(id + 1);
    const int dr = r - int(n >> 16 & 255), dg = g - int(n >> 8 & 255), db = b - int(n & 255);
    close_neighbours += dr * dr + dg * dg + db * db < 40 * 40;
  }
  EXPECT_GT(distinct.size(), 1900u);
  EXPECT_LT(close_neighbours, 100) << "of 2000 consecutive pairs";
}

TEST(Overlay, ModesHaveTheNamesThePageApiUses) {
  EXPECT_STREQ(overlay_mode_name(OverlayMode::Outlines), "outlines");
  EXPECT_STREQ(overlay_mode_name(OverlayMode::Filled), "filled");
  EXPECT_STREQ(overlay_mode_name(OverlayMode::Both), "both");
}

TEST(Overlay, AnEmptyResultDrawsNothing) {
  const Labels l = make_labels(7, 3);
  for (OverlayMode mode : {OverlayMode::Outlines, OverlayMode::Filled, OverlayMode::Both}) {
    std::vector<uint8_t> rgba(7 * 3 * 4, 9);
    whole_layer(l, mode, 0xFFFFFF, &rgba);
    EXPECT_EQ(rgba, std::vector<uint8_t>(7 * 3 * 4, 0)) << "and nothing of an earlier layer remains";
  }
}

TEST(Overlay, BandsOfRowsMakeTheWholeLayer) {
  // The page uploads the layer in bands; a band's first and last rows must still see the rows
  // beside them (outlines between bands are where an off-by-one would show).
  Labels l = make_labels(13, 11);
  for (int y = 0; y < l.height; y++)
    for (int x = 0; x < l.width; x++) l.at(x, y) = uint32_t((x / 4 + 3 * (y / 3)) % 5);
  for (OverlayMode mode : {OverlayMode::Outlines, OverlayMode::Filled, OverlayMode::Both}) {
    std::vector<uint8_t> whole;
    whole_layer(l, mode, 0xFFD21E, &whole);
    for (int band : {1, 2, 4, 11}) {
      std::vector<uint8_t> banded(whole.size(), 7);
      for (int y = 0; y < l.height; y += band)
        overlay_rgba_rect(l, mode, 0xFFD21E, 0, y, l.width, std::min(y + band, l.height), &banded[size_t(y) * l.width * 4]);
      EXPECT_EQ(banded, whole) << overlay_mode_name(mode) << ", bands of " << band;
    }
  }
}

TEST(Overlay, ARectangleIsThatPartOfTheWholeLayer) {
  // A rectangle's edge pixels must still see the ids outside it, or repainted boxes would show seams.
  Labels l = make_labels(13, 11);
  for (int y = 0; y < l.height; y++)
    for (int x = 0; x < l.width; x++) l.at(x, y) = uint32_t((x / 3 + 2 * (y / 4)) % 6);
  for (OverlayMode mode : {OverlayMode::Outlines, OverlayMode::Filled, OverlayMode::Both}) {
    std::vector<uint8_t> whole;
    whole_layer(l, mode, kOutlineRgb, &whole);
    for (const OverlayRect& r : {OverlayRect{0, 0, 13, 11}, OverlayRect{2, 3, 7, 4}, OverlayRect{4, 0, 5, 11},
                                 OverlayRect{9, 6, 13, 11}, OverlayRect{1, 1, 12, 10}}) {
      const int w = r.x1 - r.x0, h = r.y1 - r.y0;
      std::vector<uint8_t> part(size_t(w) * h * 4, 7);
      overlay_rgba_rect(l, mode, kOutlineRgb, r.x0, r.y0, r.x1, r.y1, part.data());
      for (int y = 0; y < h; y++) {
        const size_t from = (size_t(r.y0 + y) * l.width + size_t(r.x0)) * 4;
        EXPECT_EQ(std::vector<uint8_t>(part.begin() + long(size_t(y) * w * 4), part.begin() + long(size_t(y + 1) * w * 4)),
                  std::vector<uint8_t>(whole.begin() + long(from), whole.begin() + long(from + size_t(w) * 4)))
            << overlay_mode_name(mode) << ", rectangle " << r.x0 << "," << r.y0 << " - " << r.x1 << "," << r.y1
            << ", row " << y;
      }
    }
  }
}

TEST(Overlay, RepaintingTheChangedClassesBoxesGivesTheNewLayer) {
  // What the page does while the threshold of "Count positive" moves: the old layer, with the boxes
  // of the objects whose class changed repainted, must be the new layer pixel for pixel.
  const Labels l = from_rows({{1, 1, 0, 2, 2, 0, 0},
                              {1, 1, 0, 2, 2, 3, 3},
                              {0, 4, 4, 0, 0, 3, 3},
                              {0, 4, 4, 5, 5, 0, 0}});
  std::vector<ObjectMeasurements> objects;
  std::string why;
  ASSERT_TRUE(measure_objects(l, nullptr, &objects, &why)) << why;
  const std::vector<uint32_t> before = {0, kPositiveRgb, kNegativeRgb, kNegativeRgb, kPositiveRgb, kNegativeRgb};
  const std::vector<uint32_t> after = {0, kPositiveRgb, kPositiveRgb, kNegativeRgb, kNegativeRgb};  // 5 past the end
  const std::vector<OverlayRect> rects = class_change_rects(before, after, objects);
  ASSERT_EQ(rects.size(), 3u) << "objects 2, 4 and 5 changed colour; 1 and 3 did not";
  EXPECT_EQ(rects[0].x0, 3);
  EXPECT_EQ(rects[0].y1, 2);
  EXPECT_TRUE(class_change_rects(after, after, objects).empty()) << "nothing changed, nothing to repaint";
  EXPECT_EQ(class_change_rects({}, after, objects).size(), 4u) << "counting turned on: every coloured object";
  for (OverlayMode mode : {OverlayMode::Outlines, OverlayMode::Filled, OverlayMode::Both}) {
    std::vector<uint8_t> layer_now(size_t(l.width) * l.height * 4), expected(layer_now.size());
    overlay_rgba_rect(l, mode, kOutlineRgb, 0, 0, l.width, l.height, layer_now.data(), &before);
    overlay_rgba_rect(l, mode, kOutlineRgb, 0, 0, l.width, l.height, expected.data(), &after);
    for (const OverlayRect& r : rects) {
      std::vector<uint8_t> part(size_t(r.x1 - r.x0) * (r.y1 - r.y0) * 4);
      overlay_rgba_rect(l, mode, kOutlineRgb, r.x0, r.y0, r.x1, r.y1, part.data(), &after);
      for (int y = r.y0; y < r.y1; y++)
        std::copy_n(&part[size_t(y - r.y0) * (r.x1 - r.x0) * 4], size_t(r.x1 - r.x0) * 4,
                    &layer_now[(size_t(y) * l.width + size_t(r.x0)) * 4]);
    }
    EXPECT_EQ(layer_now, expected) << overlay_mode_name(mode);
  }
}

TEST(Overlay, ClassColoursReplaceOutlineAndFillOfTheirObjectsOnly) {
  const Labels l = from_rows({{1, 1, 1, 0, 2, 2, 2},
                              {1, 1, 1, 0, 2, 2, 2},
                              {1, 1, 1, 0, 2, 2, 2}});
  const std::vector<uint32_t> by_id = {0, kPositiveRgb};  // id 1 positive; id 2 past the end
  for (OverlayMode mode : {OverlayMode::Outlines, OverlayMode::Filled, OverlayMode::Both}) {
    std::vector<uint8_t> rgba(size_t(l.width) * l.height * 4), plain(rgba.size());
    overlay_rgba_rect(l, mode, kOutlineRgb, 0, 0, l.width, l.height, rgba.data(), &by_id);
    overlay_rgba_rect(l, mode, kOutlineRgb, 0, 0, l.width, l.height, plain.data());
    for (int y = 0; y < l.height; y++) {
      for (int x = 0; x < l.width; x++) {
        const size_t i = (size_t(y) * l.width + x) * 4;
        const uint32_t rgb = uint32_t(rgba[i]) << 16 | uint32_t(rgba[i + 1]) << 8 | rgba[i + 2];
        if (l.at(x, y) == 1 && plain[i + 3]) {
          EXPECT_EQ(rgb, kPositiveRgb) << overlay_mode_name(mode) << " at " << x << "," << y;
        } else {
          EXPECT_EQ(std::vector<uint8_t>(rgba.begin() + long(i), rgba.begin() + long(i) + 4),
                    std::vector<uint8_t>(plain.begin() + long(i), plain.begin() + long(i) + 4))
              << "unclassified pixels as without classes, " << overlay_mode_name(mode) << " at " << x << "," << y;
        }
      }
    }
  }
}

TEST(Overlay, AreasAndCountsIgnoreIdGaps) {
  const Labels l = from_rows({{0, 0, 4, 4},
                              {1, 0, 4, 4},
                              {1, 0, 0, 9}});
  const std::vector<uint32_t> areas = label_areas(l);
  ASSERT_EQ(areas.size(), 10u);
  EXPECT_EQ(areas[0], 5u);
  EXPECT_EQ(areas[1], 2u);
  EXPECT_EQ(areas[4], 4u);
  EXPECT_EQ(areas[9], 1u);
  EXPECT_EQ(areas[2], 0u);
  EXPECT_EQ(count_objects(areas), 3) << "ids 1, 4 and 9; the gaps are no objects";
  EXPECT_EQ(count_objects(label_areas(make_labels(3, 3))), 0);
}

}  // namespace
}  // namespace celldrop
