// CSV: header, numbers, quoting, row-length errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/export.h"

namespace celldrop {
namespace {

TEST(ExportCsv, HeaderRowsAndNumbers) {
  MeasurementTable t;
  t.columns = {"label", "area_px", "name, with comma", "say \"hi\""};
  t.rows = {{1, 120, 0.1, -2.5}, {2, 7, std::nan(""), 1e20}};
  std::string csv, error;
  ASSERT_TRUE(write_csv(t, &csv, &error)) << error;
  EXPECT_EQ(csv,
            "label,area_px,\"name, with comma\",\"say \"\"hi\"\"\"\r\n"
            "1,120,0.1,-2.5\r\n"
            "2,7,,1e+20\r\n");
}

TEST(ExportCsv, RowsMustMatchTheColumns) {
  MeasurementTable t;
  t.columns = {"a", "b"};
  t.rows = {{1, 2}, {3}};
  std::string csv, error;
  EXPECT_FALSE(write_csv(t, &csv, &error));
  EXPECT_NE(error.find("row 2"), std::string::npos) << error;
  t.columns.clear();
  EXPECT_FALSE(write_csv(t, &csv, &error));
}

}  // namespace
}  // namespace celldrop
