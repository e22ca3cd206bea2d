// The JSON run record; see export.h for its fields.
#include "core/export.h"

#include <algorithm>

#include "core/json_writer.h"
#include "core/measure.h"

namespace celldrop {

std::string write_run_record(const RunRecord& r) {
  JsonWriter w;
  w.begin_object();
  w.key("app").value("CellDrop").key("app_version").value(r.app_version);
  if (!r.started_at.empty()) w.key("started_at").value(r.started_at);
  w.key("image").begin_object().key("name").value(r.image_name).key("sha256").value(r.image_sha256);
  if (r.image_page >= 0) w.key("page").value(r.image_page);
  w.key("width").value(r.image_width).key("height").value(r.image_height).key("channels").value(r.image_channels);
  if (r.pixel_size_um > 0) {
    w.key("pixel_size_um").value(r.pixel_size_um).key("pixel_size_from").value(r.pixel_size_given ? "user" : "file");
  }
  w.end_object();
  w.key("model").begin_object().key("name").value(r.model_name).key("sha256").value(r.model_sha256).end_object();
  w.key("parameters").begin_object();
  for (const auto& p : r.parameters) {
    w.key(p.first);
    switch (p.second.kind) {
      case RecordValue::Kind::Number: w.value(p.second.number); break;
      case RecordValue::Kind::Text: w.value(p.second.text); break;
      case RecordValue::Kind::Flag: w.value(p.second.flag); break;
      case RecordValue::Kind::Null: w.null(); break;
    }
  }
  w.end_object();
  w.key("timings_s").begin_object();
  for (const auto& t : r.timings_s) w.key(t.first).value(t.second);
  w.end_object();
  if (r.objects >= 0) w.key("objects").value(r.objects);
  if (r.positive_channel >= 0 || !r.positive_stain.empty()) {
    w.key("positive").begin_object();
    if (!r.positive_stain.empty()) w.key("stain").value(r.positive_stain);
    else w.key("channel").value(r.positive_channel);
    w.key("threshold").value(r.positive_threshold);
    w.key("threshold_from").value(r.positive_threshold_given ? "user" : "otsu");
    w.key("objects").value(r.positive_objects);
    if (r.grade_thresholds.size() == 3) {
      w.key("grades").begin_object().key("thresholds").begin_array();
      for (double t : r.grade_thresholds) w.value(t);
      w.end_array().key("objects").begin_array();
      for (long long n : r.grade_objects) w.value(int64_t(n));
      w.end_array().key("h_score").value(r.h_score).end_object();
    }
    w.end_object();
  }
  if (!r.edits_by_hand.empty()) {
    w.key("edits_by_hand").begin_array();
    for (const HandEdit& e : r.edits_by_hand) {
      w.begin_object().key(e.outline.empty() ? "removed" : "drawn").value(int64_t(e.id));
      if (!e.outline.empty()) {
        w.key("outline").begin_array();
        for (const Point2& p : e.outline) w.value(p.x).value(p.y);
        w.end_array();
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return w.str() + "\n";
}

void record_positive(RunRecord* r, const PositiveRule& rule, bool threshold_given,
                     const std::vector<ObjectMeasurements>& objects) {
  if (!rule.counts()) return;
  r->positive_channel = rule.channel;
  r->positive_stain = stain_name(rule.stain);
  r->positive_threshold = rule.threshold;
  r->positive_threshold_given = threshold_given;
  r->positive_objects = 0;
  for (const ObjectMeasurements& m : objects) r->positive_objects += m.positive == 1;
  if (rule.graded()) {
    const GradeCounts grades = count_grades(objects);
    r->grade_thresholds = {rule.threshold, rule.grade_thresholds[0], rule.grade_thresholds[1]};
    std::copy(grades.objects, grades.objects + 4, r->grade_objects);
    r->h_score = grades.h_score;  // NaN (null) when there are no objects
  }
}

}  // namespace celldrop
