// Contours (+ optional measurements) -> GeoJSON FeatureCollection in QuPath's conventions.
#include <cstdint>
#include <cmath>
#include <unordered_map>

#include "core/export.h"
#include "core/json_writer.h"

namespace celldrop {

bool write_geojson(const std::vector<Contour>& contours, const GeoJsonOptions& options, std::string* out,
                   std::string* error) {
  // Rows of the measurement table by label, so features and rows may come in any order.
  std::unordered_map<uint32_t, size_t> row_of;
  const MeasurementTable* table = options.measurements;
  size_t positive_col = SIZE_MAX;  // the marker-positive column, when the objects were classified
  size_t grade_col = SIZE_MAX;     // the intensity grade column, when they were graded
  if (table) {
    size_t id_col = table->columns.size();
    for (size_t c = 0; c < table->columns.size(); ++c) {
      if (table->columns[c] == options.id_column) id_col = c;
      if (table->columns[c] == "positive") positive_col = c;
      if (table->columns[c] == "grade") grade_col = c;
    }
    if (id_col == table->columns.size()) {
      *error = "GeoJSON: the measurement table has no column \"" + options.id_column +
               "\" to match its rows to objects";
      return false;
    }
    for (size_t r = 0; r < table->rows.size(); ++r) {
      if (table->rows[r].size() != table->columns.size()) {
        *error = "GeoJSON: measurement row " + std::to_string(r + 1) + " does not match the columns";
        return false;
      }
      const double id = table->rows[r][id_col];
      if (id >= 0 && id <= 4294967295.0 && id == std::floor(id)) row_of[uint32_t(id)] = r;
    }
  }

  JsonWriter w;
  w.begin_object().key("type").value("FeatureCollection").key("features").begin_array();
  for (const Contour& c : contours) {
    if (c.points.size() < 3) {
      *error = "GeoJSON: object " + std::to_string(c.label) + " has no outline";
      return false;
    }
    w.begin_object().key("type").value("Feature");
    w.key("geometry").begin_object().key("type").value("Polygon").key("coordinates").begin_array();
    w.begin_array();
    for (size_t i = 0; i <= c.points.size(); ++i) {  // GeoJSON rings repeat the first position
      const CornerPoint& p = c.points[i % c.points.size()];
      w.begin_array().value(int64_t(p.x)).value(int64_t(p.y)).end_array();
    }
    w.end_array().end_array().end_object();
    w.key("properties").begin_object().key("objectType").value("detection");
    w.key("name").value(std::to_string(c.label));
    auto it = table ? row_of.find(c.label) : row_of.end();
    std::string class_name = options.classification_name;
    const uint8_t* class_color = options.classification_color;
    if (it != row_of.end() && positive_col != SIZE_MAX) {
      // QuPath's built-in classes and their default colours.
      static const uint8_t kPositive[3] = {200, 50, 50}, kNegative[3] = {112, 112, 225};
      const double positive = table->rows[it->second][positive_col];
      if (positive == 1.0 || positive == 0.0) {
        class_name = positive == 1.0 ? "Positive" : "Negative";
        class_color = positive == 1.0 ? kPositive : kNegative;
      }
    }
    if (it != row_of.end() && grade_col != SIZE_MAX) {
      // Graded: QuPath's intensity classes, which its H-score counts.
      static const char* kGradeNames[4] = {"Negative", "1+", "2+", "3+"};
      static const uint8_t kGradeColors[4][3] = {{112, 112, 225}, {255, 215, 0}, {225, 150, 50}, {200, 50, 50}};
      const double grade = table->rows[it->second][grade_col];
      if (grade == 0.0 || grade == 1.0 || grade == 2.0 || grade == 3.0) {
        class_name = kGradeNames[int(grade)];
        class_color = kGradeColors[int(grade)];
      }
    }
    if (!class_name.empty()) {
      w.key("classification").begin_object().key("name").value(class_name);
      w.key("color").begin_array();
      for (int k = 0; k < 3; ++k) w.value(int(class_color[k]));
      w.end_array().end_object();
    }
    if (table) {
      if (it != row_of.end()) {
        w.key("measurements").begin_object();
        for (size_t col = 0; col < table->columns.size(); ++col)
          w.key(table->columns[col]).value(table->rows[it->second][col]);
        w.end_object();
      }
    }
    w.end_object().end_object();
  }
  w.end_array().end_object();
  *out = w.str();
  return true;
}

}  // namespace celldrop
