#include "core/labels.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace celldrop {
namespace {

// Builds labels from rows of characters: '.' = 0, '1'..'9' = that id, letters a..z = 10..35.
Labels parse(const std::vector<std::string>& rows) {
  Labels l;
  l.height = int(rows.size());
  l.width = int(rows[0].size());
  for (const std::string& r : rows)
    for (char c : r) l.data.push_back(c == '.' ? 0u : c <= '9' ? uint32_t(c - '0') : uint32_t(c - 'a' + 10));
  return l;
}

std::vector<std::string> show(const Labels& l) {
  std::vector<std::string> rows;
  for (int y = 0; y < l.height; ++y) {
    std::string r;
    for (int x = 0; x < l.width; ++x) {
      uint32_t v = l.at(x, y);
      r += v == 0 ? '.' : v <= 9 ? char('0' + v) : char('a' + v - 10);
    }
    rows.push_back(r);
  }
  return rows;
}

TEST(Labels, IndexObjectsListsIdsInOrderForDenseAndSparseIds) {
  Labels l = parse({"3.7", "7.3"});
  ObjectIndex i = index_objects(l);
  ASSERT_EQ(i.ids, (std::vector<uint32_t>{3, 7}));
  EXPECT_EQ(i.pixel_index, (std::vector<int32_t>{0, -1, 1, 1, -1, 0}));
  l.data[0] = 4000000000u;  // a huge id takes the hash-map path
  l.data[5] = 4000000000u;
  i = index_objects(l);
  ASSERT_EQ(i.ids, (std::vector<uint32_t>{7, 4000000000u}));
  EXPECT_EQ(i.pixel_index, (std::vector<int32_t>{1, -1, 0, 0, -1, 1}));
  EXPECT_EQ(index_objects(parse({"..", ".."})).count(), 0);
}

TEST(Labels, RelabelSequentialKeepsIdOrder) {
  Labels l = parse({"9..4", "9.a.", "...4"});
  EXPECT_EQ(relabel_sequential(l), 3);
  EXPECT_EQ(show(l), (std::vector<std::string>{"2..1", "2.3.", "...1"}));
  Labels seq = parse({"12", "3."});
  Labels before = seq;
  EXPECT_EQ(relabel_sequential(seq), 3);
  EXPECT_EQ(seq.data, before.data);
  Labels sparse = parse({"9..4", "9.a.", "...4"});
  sparse.data[1] = 4000000000u;  // ids far beyond the pixel count: no table by id
  EXPECT_EQ(relabel_sequential(sparse), 4);
  EXPECT_EQ(show(sparse), (std::vector<std::string>{"24.1", "2.3.", "...1"}));
}

TEST(Labels, RemoveSmallObjectsRenumbersTheRest) {
  Labels l = parse({"22.4", "22.4", "...5", "7..."});
  EXPECT_EQ(remove_small_objects(l, 2), 2);  // 5 and 7 have one pixel each
  EXPECT_EQ(show(l), (std::vector<std::string>{"11.2", "11.2", "....", "...."}));
  EXPECT_EQ(remove_small_objects(l, 3), 1);  // 2 has two pixels
  EXPECT_EQ(remove_small_objects(l, 4), 1);  // 1 has four
  EXPECT_EQ(show(l), (std::vector<std::string>{"11..", "11..", "....", "...."}));
  EXPECT_EQ(remove_small_objects(l, 5), 0);
  EXPECT_EQ(show(l), (std::vector<std::string>{"....", "....", "....", "...."}));
}

TEST(Labels, RemoveSmallObjectsWithHugeIds) {
  Labels l = parse({"22.4", "22.4", "...5", "7..."});
  for (uint32_t& v : l.data)
    if (v) v += 4000000000u;
  EXPECT_EQ(remove_small_objects(l, 2), 2);
  EXPECT_EQ(show(l), (std::vector<std::string>{"11.2", "11.2", "....", "...."}));
}

// Any pixel on any of the four sides cuts an object, however much of it lies inside; one that only
// comes near the border stays, and so do the ids of the others (renumbering is the caller's).
TEST(Labels, ClearBorderObjectsRemovesWhatTheFieldOfViewCuts) {
  Labels l = parse({"1......",
                    "..33...",
                    ".333.4.",
                    "......4",
                    ".6.....",
                    ".6.77..",
                    "8.....9"});
  EXPECT_EQ(clear_border_objects(l), 4);  // 1 (a corner), 4 (right side), 8 and 9 (bottom corners)
  EXPECT_EQ(show(l), (std::vector<std::string>{".......",
                                               "..33...",
                                               ".333...",
                                               ".......",
                                               ".6.....",
                                               ".6.77..",
                                               "......."}));
  EXPECT_EQ(clear_border_objects(l), 0);
  // The top row and left column: an object running along the whole edge, and one image row alone.
  Labels edge = parse({"555", ".5.", "..."});
  EXPECT_EQ(clear_border_objects(edge), 1);
  EXPECT_EQ(show(edge), (std::vector<std::string>{"...", "...", "..."}));
  Labels row = parse({"1.2.3"});
  EXPECT_EQ(clear_border_objects(row), 3);
  // Huge ids are looked up as they are.
  Labels huge = parse({"....", ".2..", "...3"});
  for (uint32_t& v : huge.data)
    if (v) v += 4000000000u;
  EXPECT_EQ(clear_border_objects(huge), 1);
  EXPECT_EQ(huge.at(1, 1), 4000000002u);
  EXPECT_EQ(huge.at(3, 2), 0u);
}

TEST(Labels, RemovedObjectsComeBackInAnyOrderAndTheOthersKeepTheirIds) {
  const Labels original = parse({"22.4", "22.4", "...5", "7.55"});
  Labels l = original;
  EditedObject five, two, none;
  ASSERT_TRUE(remove_object(l, 5, &five));
  EXPECT_EQ(five.pixels, (std::vector<size_t>{11, 14, 15}));
  ASSERT_TRUE(remove_object(l, 2, &two));
  EXPECT_EQ(show(l), (std::vector<std::string>{"...4", "...4", "....", "7..."}));
  // No such object, or background: nothing changes.
  EXPECT_FALSE(remove_object(l, 5, &none));
  EXPECT_FALSE(remove_object(l, 0, &none));
  EXPECT_FALSE(remove_object(l, 9, &none));
  EXPECT_EQ(none.id, 0u);
  undo_hand_edit(l, HandEdit{5, {}}, five);
  EXPECT_EQ(show(l), (std::vector<std::string>{"...4", "...4", "...5", "7.55"}));
  undo_hand_edit(l, HandEdit{2, {}}, two);
  EXPECT_EQ(l.data, original.data);
}

TEST(Labels, ADrawnObjectTakesOnlyBackgroundAndItsLargestPiece) {
  const Labels original = parse({
      "......",
      "..33..",
      "..33..",
      "......",
      "......",
  });
  Labels l = original;
  // Pixel centres inside the rectangle from (0.5, 0.5) to (4.5, 3.5): columns 1-4 of rows 1-3. Object 3
  // keeps its pixels; what is left is one piece around it (4-connected through row 3).
  const std::vector<Point2> box = {{0.5, 0.5}, {4.5, 0.5}, {4.5, 3.5}, {0.5, 3.5}};
  EditedObject drawn;
  ASSERT_TRUE(apply_hand_edit(l, HandEdit{9, box}, &drawn));
  EXPECT_EQ(show(l), (std::vector<std::string>{"......", ".9339.", ".9339.", ".9999.", "......"}));
  EXPECT_EQ(drawn.id, 9u);
  EXPECT_EQ(drawn.pixels.size(), 8u);
  // Undo takes exactly those pixels back to background.
  undo_hand_edit(l, HandEdit{9, box}, drawn);
  EXPECT_EQ(l.data, original.data);

  // A band across object 3 leaves two pieces, left (2 px) and right (3 px): only the larger is drawn.
  const std::vector<Point2> band = {{-0.5, 0.5}, {5.5, 0.5}, {5.5, 1.5}, {-0.5, 1.5}};
  Labels cut = parse({"......", "..3...", "..3...", "......"});
  ASSERT_TRUE(draw_object(cut, band, 4, &drawn));
  EXPECT_EQ(show(cut), (std::vector<std::string>{"......", "..3444", "..3...", "......"}));
  // Outlines may leave the image: pixels outside are clipped.
  Labels corner = parse({"...", "...", "..."});
  ASSERT_TRUE(draw_object(corner, {{-5, -5}, {1.5, -5}, {1.5, 1.5}, {-5, 1.5}}, 1, &drawn));
  EXPECT_EQ(show(corner), (std::vector<std::string>{"11.", "11.", "..."}));

  // Refused, nothing changed: an id already in the image, no background inside, too few points, no id.
  Labels full = parse({"11", "11"});
  const std::vector<Point2> all = {{-1, -1}, {2, -1}, {2, 2}, {-1, 2}};
  EXPECT_FALSE(draw_object(l, box, 3, &drawn));
  EXPECT_FALSE(draw_object(full, all, 2, &drawn));
  EXPECT_FALSE(draw_object(l, {{0, 0}, {3, 3}}, 7, &drawn));
  EXPECT_FALSE(draw_object(l, box, 0, &drawn));
  EXPECT_FALSE(draw_object(l, {{20, 20}, {30, 20}, {30, 30}}, 7, &drawn));  // wholly outside the image
  EXPECT_EQ(l.data, original.data);
  EXPECT_EQ(show(full), (std::vector<std::string>{"11", "11"}));
}

TEST(Labels, FillHolesEnclosedByOneObjectOnly) {
  Labels l = parse({
      "........",
      ".111.2..",
      ".1.1.2.2",  // a hole in 1; 2's gap opens to the border through the top right
      ".111.222",
      "..33444.",
      "..3..4..",  // the gap between 3 and 4 is bordered by two objects: not a hole
      "..3444..",
      "........",
  });
  EXPECT_EQ(fill_holes(l), 1);
  EXPECT_EQ(show(l), (std::vector<std::string>{
                         "........",
                         ".111.2..",
                         ".111.2.2",
                         ".111.222",
                         "..33444.",
                         "..3..4..",
                         "..3444..",
                         "........",
                     }));
  // A large hole, and a hole whose only diagonal link to the outside does not count (4-connected).
  Labels ring = parse({
      "55555.",
      "5...5.",
      "5...5.",
      "55555.",
      "......",
      "6.....",
  });
  EXPECT_EQ(fill_holes(ring), 6);
  EXPECT_EQ(ring.at(2, 1), 5u);
  Labels diag = parse({".7.", "7.7", ".7."});  // the centre touches the corners only diagonally
  EXPECT_EQ(fill_holes(diag), 1);
  EXPECT_EQ(diag.at(1, 1), 7u);
}

TEST(Labels, OutlinesMarkObjectBoundariesAndTheImageBorder) {
  Labels l = parse({
      "11111...",
      "11111.22",
      "11111.22",
      "........",
  });
  std::vector<uint8_t> o = outlines(l);
  std::string got;
  for (int y = 0; y < l.height; ++y) {
    for (int x = 0; x < l.width; ++x) got += o[size_t(y) * 8 + size_t(x)] ? '#' : '.';
    got += '/';
  }
  EXPECT_EQ(got, "#####.../#...#.##/#####.##/......../");
  // Touching objects both get an outline along their shared border.
  Labels t = parse({"111222", "111222", "111222"});
  std::vector<uint8_t> ot = outlines(t);
  EXPECT_EQ(ot[1 * 6 + 1], 0);
  EXPECT_EQ(ot[1 * 6 + 2], 1);
  EXPECT_EQ(ot[1 * 6 + 3], 1);
  EXPECT_EQ(ot[1 * 6 + 4], 0);
}

}  // namespace
}  // namespace celldrop
