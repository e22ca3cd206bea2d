// GeoJSON: structure, closed rings, QuPath properties, measurements matched by label.
#include <gtest/gtest.h>

#include <cmath>

#include "core/export.h"

namespace celldrop {
namespace {

std::vector<Contour> two_squares() {
  Contour a;
  a.label = 3;
  a.points = {{1, 1}, {3, 1}, {3, 3}, {1, 3}};
  Contour b;
  b.label = 9;
  b.points = {{5, 0}, {6, 0}, {6, 1}, {5, 1}};
  return {a, b};
}

TEST(ExportGeojson, FeaturesAreQuPathDetections) {
  std::string out, error;
  ASSERT_TRUE(write_geojson(two_squares(), GeoJsonOptions(), &out, &error)) << error;
  EXPECT_EQ(out.rfind("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",", 0), 0u) << out;
  EXPECT_NE(out.find("\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[1,1],[3,1],[3,3],[1,3],[1,1]]]}"),
            std::string::npos) << out;
  EXPECT_NE(out.find("\"properties\":{\"objectType\":\"detection\",\"name\":\"9\"}"), std::string::npos) << out;
  EXPECT_EQ(out.find("classification"), std::string::npos);
  EXPECT_EQ(out.find("measurements"), std::string::npos);
}

TEST(ExportGeojson, ClassificationAndMeasurements) {
  MeasurementTable t;
  t.columns = {"label", "area_px"};
  t.rows = {{9, 1}, {3, 4}};  // any order
  GeoJsonOptions o;
  o.classification_name = "Nucleus";
  o.classification_color[0] = 10;
  o.classification_color[1] = 20;
  o.classification_color[2] = 30;
  o.measurements = &t;
  std::string out, error;
  ASSERT_TRUE(write_geojson(two_squares(), o, &out, &error)) << error;
  EXPECT_NE(out.find("\"name\":\"3\",\"classification\":{\"name\":\"Nucleus\",\"color\":[10,20,30]},"
                     "\"measurements\":{\"label\":3,\"area_px\":4}"),
            std::string::npos) << out;
  EXPECT_NE(out.find("\"measurements\":{\"label\":9,\"area_px\":1}"), std::string::npos) << out;

  o.id_column = "id";
  EXPECT_FALSE(write_geojson(two_squares(), o, &out, &error));
  EXPECT_NE(error.find("\"id\""), std::string::npos) << error;
}

TEST(ExportGeojson, MarkerPositiveObjectsAreQuPathsPositiveAndNegativeClasses) {
  MeasurementTable t;
  t.columns = {"label", "mean_2", "positive"};
  t.rows = {{3, 80, 1}, {9, 20, 0}};
  GeoJsonOptions o;
  o.measurements = &t;
  std::string out, error;
  ASSERT_TRUE(write_geojson(two_squares(), o, &out, &error)) << error;
  EXPECT_NE(out.find("\"name\":\"3\",\"classification\":{\"name\":\"Positive\",\"color\":[200,50,50]},"),
            std::string::npos) << out;
  EXPECT_NE(out.find("\"name\":\"9\",\"classification\":{\"name\":\"Negative\",\"color\":[112,112,225]},"),
            std::string::npos) << out;
  // An object left unclassified (NaN) keeps the options' classification, here none.
  t.rows[1][2] = std::nan("");
  ASSERT_TRUE(write_geojson(two_squares(), o, &out, &error)) << error;
  EXPECT_NE(out.find("\"name\":\"9\",\"measurements\""), std::string::npos) << out;
}

TEST(ExportGeojson, GradedObjectsAreQuPathsIntensityClasses) {
  MeasurementTable t;
  t.columns = {"label", "dab_od_mean", "positive", "grade"};
  t.rows = {{3, 0.45, 1, 2}, {9, 0.1, 0, 0}};
  GeoJsonOptions o;
  o.measurements = &t;
  std::string out, error;
  ASSERT_TRUE(write_geojson(two_squares(), o, &out, &error)) << error;
  EXPECT_NE(out.find("\"name\":\"3\",\"classification\":{\"name\":\"2+\",\"color\":[225,150,50]},"),
            std::string::npos) << out;
  EXPECT_NE(out.find("\"name\":\"9\",\"classification\":{\"name\":\"Negative\",\"color\":[112,112,225]},"),
            std::string::npos) << out;
  t.rows[0][3] = 3;
  ASSERT_TRUE(write_geojson(two_squares(), o, &out, &error)) << error;
  EXPECT_NE(out.find("\"classification\":{\"name\":\"3+\",\"color\":[200,50,50]}"), std::string::npos) << out;
}

}  // namespace
}  // namespace celldrop
