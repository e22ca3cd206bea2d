// measure.h's per-object measurements -> the numeric table the CSV and GeoJSON writers take.
#include <algorithm>
#include <cmath>

#include "core/export.h"
#include "core/measure.h"

namespace celldrop {

MeasurementTable measurements_table(const std::vector<ObjectMeasurements>& objects) {
  MeasurementTable t;
  t.columns = {"label", "area_px", "area_um2", "centroid_x", "centroid_y", "bbox_x0", "bbox_y0",
               "bbox_x1", "bbox_y1", "perimeter_px", "circularity", "eccentricity"};
  size_t channels = 0;
  bool calibrated = false, classified = false, graded = false, stained = false;
  for (const ObjectMeasurements& m : objects) {
    channels = std::max(channels, m.mean.size());
    calibrated |= m.area_um2 > 0.0;
    classified |= m.positive >= 0;
    graded |= m.grade >= 0;
    stained |= !std::isnan(m.dab_od);
  }
  for (size_t c = 1; c <= channels; ++c)
    for (const char* what : {"mean_", "min_", "max_", "integrated_"}) t.columns.push_back(what + std::to_string(c));
  if (stained) t.columns.insert(t.columns.end(), {"hematoxylin_od_mean", "dab_od_mean"});
  if (classified) t.columns.push_back("positive");
  if (graded) t.columns.push_back("grade");
  const double nan = std::nan("");
  for (const ObjectMeasurements& m : objects) {
    std::vector<double> row = {double(m.id), double(m.area_px), calibrated ? m.area_um2 : nan,
                               m.centroid_x, m.centroid_y, double(m.bbox_x0), double(m.bbox_y0),
                               double(m.bbox_x1), double(m.bbox_y1), m.perimeter_px, m.circularity,
                               m.eccentricity};
    for (size_t c = 0; c < channels; ++c) {
      auto at = [&](const std::vector<double>& v) { return c < v.size() ? v[c] : nan; };
      row.push_back(at(m.mean));
      row.push_back(at(m.min));
      row.push_back(at(m.max));
      row.push_back(at(m.integrated));
    }
    if (stained) row.insert(row.end(), {m.hematoxylin_od, m.dab_od});
    if (classified) row.push_back(m.positive >= 0 ? double(m.positive) : nan);
    if (graded) row.push_back(m.grade >= 0 ? double(m.grade) : nan);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace celldrop
