// measure.h's objects -> table columns and values; an uncalibrated image leaves area_um2 empty.
#include <gtest/gtest.h>

#include <cmath>

#include "core/export.h"
#include "core/measure.h"

namespace celldrop {
namespace {

TEST(ExportTable, ColumnsPerChannelAndValues) {
  ObjectMeasurements a;
  a.id = 4;
  a.area_px = 10;
  a.centroid_x = 1.5;
  a.bbox_x1 = 3;
  a.perimeter_px = 9.5;
  a.mean = {1, 2};
  a.min = {0, 1};
  a.max = {2, 3};
  a.integrated = {10, 20};
  const MeasurementTable t = measurements_table({a});
  ASSERT_EQ(t.columns.size(), 12u + 8u);
  EXPECT_EQ(t.columns[0], "label");
  EXPECT_EQ(t.columns[12], "mean_1");
  EXPECT_EQ(t.columns[19], "integrated_2");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0][0], 4.0);
  EXPECT_EQ(t.rows[0][1], 10.0);
  EXPECT_TRUE(std::isnan(t.rows[0][2]));  // no pixel size: no µm² area
  EXPECT_EQ(t.rows[0][3], 1.5);
  EXPECT_EQ(t.rows[0][7], 3.0);
  EXPECT_EQ(t.rows[0][9], 9.5);
  EXPECT_EQ(t.rows[0][16], 2.0);  // mean_2
  std::string csv, error;
  ASSERT_TRUE(write_csv(t, &csv, &error)) << error;
  EXPECT_EQ(csv.substr(csv.find("\r\n") + 2, 8), "4,10,,1.");
}

TEST(ExportTable, CalibratedAreaIsKept) {
  ObjectMeasurements a;
  a.id = 1;
  a.area_px = 4;
  a.area_um2 = 0.25;
  const MeasurementTable t = measurements_table({a});
  EXPECT_EQ(t.columns.size(), 12u);
  EXPECT_EQ(t.rows[0][2], 0.25);
}

TEST(ExportTable, PositiveColumnOnlyWhenClassified) {
  ObjectMeasurements a, b;
  a.id = 1;
  b.id = 2;
  a.mean = b.mean = {5};
  EXPECT_EQ(measurements_table({a, b}).columns.back(), "integrated_1");
  a.positive = 1;
  b.positive = 0;
  const MeasurementTable t = measurements_table({a, b});
  ASSERT_EQ(t.columns.back(), "positive");
  EXPECT_EQ(t.rows[0].back(), 1.0);
  EXPECT_EQ(t.rows[1].back(), 0.0);
  // Graded (0 to 3), a "grade" column follows.
  a.grade = 3;
  b.grade = 0;
  const MeasurementTable g = measurements_table({a, b});
  ASSERT_EQ(g.columns.size(), t.columns.size() + 1);
  ASSERT_EQ(g.columns.back(), "grade");
  EXPECT_EQ(g.rows[0].back(), 3.0);
  EXPECT_EQ(g.rows[1].back(), 0.0);
}

TEST(ExportTable, StainColumnsOnlyWhenMeasured) {
  ObjectMeasurements a, b;
  a.id = 1;
  b.id = 2;
  a.mean = b.mean = {200, 180, 150};
  EXPECT_EQ(measurements_table({a, b}).columns.back(), "integrated_3");
  a.hematoxylin_od = 0.5;
  a.dab_od = 0.0;
  b.hematoxylin_od = 0.2;
  b.dab_od = 0.4;
  b.positive = 1;
  a.positive = 0;
  const MeasurementTable t = measurements_table({a, b});
  const size_t n = t.columns.size();
  ASSERT_EQ(t.columns[n - 3], "hematoxylin_od_mean");
  EXPECT_EQ(t.columns[n - 2], "dab_od_mean");
  EXPECT_EQ(t.columns[n - 1], "positive");
  EXPECT_EQ(t.rows[1][n - 3], 0.2);
  EXPECT_EQ(t.rows[1][n - 2], 0.4);
}

}  // namespace
}  // namespace celldrop
