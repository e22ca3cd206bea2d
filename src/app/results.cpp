#include "app/results.h"

#include <algorithm>
#include <cmath>

#include "core/export.h"
#include "core/json.h"
#include "core/pipeline_json.h"
#include "core/png_write.h"

namespace celldrop {

const std::vector<ExportKind>& export_kinds() {
  static const std::vector<ExportKind> kinds = {
      {"labels_png", "labels.png", "image/png", "Labels PNG", "16-bit label image: 0 = background, 1..N = objects"},
      {"labels_tiff", "labels.tiff", "image/tiff", "Labels TIFF",
       "Label image as TIFF (16 or 32-bit, calibrated when the image is): opens in ImageJ/Fiji"},
      {"csv", "objects.csv", "text/csv", "Table CSV", "One row per object: area, centroid, shape and intensities"},
      {"geojson", "objects.geojson", "application/geo+json", "GeoJSON", "Object outlines for QuPath, with their measurements"},
      {"roi", "rois.zip", "application/zip", "ImageJ ROIs", "One polygon ROI per object, for ImageJ's ROI Manager"},
      {"record", "run.json", "application/json", "Run record",
       "What produced this result: image and model fingerprints, every parameter, timings"},
      {"overlay_png", "overlay.png", "image/png", "Overlay PNG", "The image as displayed, with the outlines drawn over it"},
  };
  return kinds;
}

const ExportKind* find_export_kind(const std::string& key) {
  for (const ExportKind& k : export_kinds()) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

std::string export_file_name(const ExportKind& kind, const ResultSource& source) {
  std::string model = source.model_name.empty() ? "model" : source.model_name;
  for (char& c : model) {
    if (std::string("/\\:*?\"<>| ").find(c) != std::string::npos) c = '_';
  }
  return (source.image_stem.empty() ? "image" : source.image_stem) + "_" + model + "_" + kind.suffix;
}

// How many objects classify_positive marked positive (the summary row's count).
static int positive_objects(const std::vector<ObjectMeasurements>& objects) {
  int n = 0;
  for (const ObjectMeasurements& m : objects) n += m.positive == 1;
  return n;
}

static RecordValue record_value(const JsonValue& v) {
  if (v.is_number()) return RecordValue::of(v.number);
  if (v.is_bool()) return RecordValue::of(v.boolean);
  if (v.is_string()) return RecordValue::of(v.string);
  if (v.is_null()) return RecordValue::of("all");  // "channel": null = every channel
  return RecordValue();
}

std::string page_run_record(const ResultSource& source) {
  RunRecord rec;
  rec.started_at = source.started_at;
  rec.image_name = source.image_name;
  rec.image_sha256 = source.image_sha256;
  rec.image_page = source.image_page;
  if (source.image) {
    rec.image_width = source.image->width;
    rec.image_height = source.image->height;
    rec.image_channels = source.image->channels;
  }
  rec.pixel_size_um = source.image ? source.image->square_pixel_size_um() : 0.0;
  rec.pixel_size_given = source.pixel_size_given;
  if (source.objects) record_positive(&rec, source.positive, source.positive_threshold_given, *source.objects);
  rec.model_name = source.model_name;
  rec.model_sha256 = source.model_sha256;
  auto add = [&](const std::string& name, RecordValue v) { rec.parameters.emplace_back(name, std::move(v)); };
  add("kind", RecordValue::of(source.model_kind));
  add("backend", RecordValue::of(source.backend));
  add("model_diameter", RecordValue::of(source.model_diameter));
  JsonValue params, summary;
  std::string ignored;
  // Both texts come from this page (what it sent, what the worker's core wrote); a text that does not
  // parse only leaves its entries out of the record.
  if (json_parse(source.params_json, &params, &ignored) && params.is_object()) {
    for (const auto& [key, value] : params.object) {
      if (key == "diameter") {
        add("diameter_requested", value.is_number() && value.number > 0 ? RecordValue::of(value.number) : RecordValue::of("auto"));
      } else {
        add(key, record_value(value));
      }
    }
  }
  if (json_parse(source.summary_json, &summary, &ignored) && summary.is_object()) {
    for (const char* key : {"diameter", "diameter_estimated", "scale", "passes", "tiles", "network_width", "network_height"}) {
      if (const JsonValue* v = summary.find(key)) add(key, record_value(*v));
    }
    if (const JsonValue* t = summary.find("thresholds"); t && t->is_object()) {
      for (const auto& [key, value] : t->object) add(threshold_parameter(key) + "_used", record_value(value));
    }
    // Read through a stain: the colours it was unmixed with, as the CLI's record gives them.
    StainVectors vectors;
    bool estimated = false;
    if (summary_stain_vectors(summary, &vectors, &estimated)) {
      add("stain_vector_hematoxylin", RecordValue::of(stain_vector_text(vectors.hematoxylin)));
      add("stain_vector_dab", RecordValue::of(stain_vector_text(vectors.dab)));
    }
    if (const JsonValue* n = summary.find("note"); n && n->is_string() && !n->string.empty()) add("note", RecordValue::of(n->string));
    if (const JsonValue* t = summary.find("timings_s"); t && t->is_object()) {
      for (const auto& [stage, seconds] : t->object) {
        if (seconds.is_number()) rec.timings_s.emplace_back(stage, seconds.number);
      }
    }
  }
  rec.objects = source.objects ? int(source.objects->size()) : -1;
  rec.edits_by_hand = source.edits_by_hand;
  return write_run_record(rec);
}

// The overlay as on screen: the displayed image (grey or colour), outline pixels blended towards the
// outline colour.
static bool write_overlay_png(const ResultSource& s, std::vector<uint8_t>* out, std::string* error) {
  const Labels& labels = *s.labels;
  const size_t n = size_t(labels.width) * size_t(labels.height);
  const size_t bpp = s.display_pixels && s.display_pixels->size() == n * 3 ? 3 : 1;
  if (!s.display_pixels || !s.overlay_rows || s.display_pixels->size() != n * bpp) {
    *error = "the overlay is not ready yet: wait until the masks are shown, then save again";
    return false;
  }
  Image rgb = make_image(labels.width, labels.height, 3, SampleType::U8);
  uint8_t* p = samples<uint8_t>(rgb);
  const float alpha = std::fmin(std::fmax(s.outline_opacity, 0.0f), 1.0f);
  const int band = 64;
  std::vector<uint8_t> layer(size_t(band) * size_t(labels.width) * 4);
  for (int y0 = 0; y0 < labels.height; y0 += band) {
    const int y1 = std::min(y0 + band, labels.height);
    s.overlay_rows(y0, y1, layer.data());
    const size_t first = size_t(y0) * size_t(labels.width), end = size_t(y1) * size_t(labels.width);
    for (size_t i = first; i < end; i++) {
      const uint8_t* shown = &(*s.display_pixels)[i * bpp];
      const uint8_t* o = &layer[(i - first) * 4];
      const float a = alpha * float(o[3]) / 255.0f;
      for (size_t c = 0; c < 3; c++) {
        const float v = float(shown[bpp == 3 ? c : 0]);
        p[i * 3 + c] = uint8_t(std::lround(v * (1.0f - a) + float(o[c]) * a));
      }
    }
  }
  PngWriteOptions options;
  options.pixel_size_x_um = options.pixel_size_y_um = s.image->square_pixel_size_um();
  return write_png(rgb, options, out, error);
}

bool write_export(const ExportKind& kind, const ResultSource& s, std::vector<uint8_t>* out, std::string* error) {
  out->clear();
  if (!s.labels || !s.image || !s.objects || !s.contours || s.labels->data.empty()) {
    *error = "there is no result to save yet: run the segmentation first";
    return false;
  }
  const std::string key = kind.key;
  std::string text;
  bool ok = true;
  if (key == "labels_png") {
    PngWriteOptions o;
    o.pixel_size_x_um = o.pixel_size_y_um = s.image->square_pixel_size_um();
    ok = write_labels_png(*s.labels, o, out, error);
    if (!ok) *error += " (save the labels as TIFF instead)";
    return ok;
  } else if (key == "labels_tiff") {
    LabelTiffOptions o;
    o.pixel_size_um = s.image->square_pixel_size_um();
    return write_labels_tiff(*s.labels, o, out, error);
  } else if (key == "csv") {
    ok = write_csv(measurements_table(*s.objects), &text, error);
  } else if (key == "geojson") {
    const MeasurementTable table = measurements_table(*s.objects);
    GeoJsonOptions o;
    o.measurements = &table;
    ok = write_geojson(*s.contours, o, &text, error);
  } else if (key == "roi") {
    return write_imagej_roi_zip(*s.contours, out, error);
  } else if (key == "record") {
    text = page_run_record(s);
  } else if (key == "overlay_png") {
    return write_overlay_png(s, out, error);
  } else {
    *error = "unknown export " + key;
    return false;
  }
  if (ok) out->assign(text.begin(), text.end());
  return ok;
}

// --- "Segment all" ---------------------------------------------------------------------------------------
bool batch_add_result(Batch* batch, const ResultSource& source, std::string* error) {
  if (!source.labels || !source.objects) {
    *error = "there is no result to add";
    return false;
  }
  // A second image of the same name (from another folder) must not overwrite the first's files.
  ResultSource s = source;
  const std::string stem = s.image_stem.empty() ? "image" : s.image_stem;
  s.image_stem = stem;
  for (int k = 2; batch->stems.count(s.image_stem); k++) s.image_stem = stem + "-" + std::to_string(k);
  std::vector<ZipEntry> files;
  for (const char* key : {"labels_png", "csv", "record"}) {
    const ExportKind* kind = find_export_kind(key);
    ZipEntry entry;
    std::string why;
    if (!write_export(*kind, s, &entry.data, &why)) {
      // Over 65535 objects a PNG cannot hold the ids: the TIFF holds them all.
      if (std::string(key) != "labels_png" || !write_export(*(kind = find_export_kind("labels_tiff")), s, &entry.data, &why)) {
        *error = "cannot save " + std::string(kind->button) + ": " + why;
        return false;
      }
    }
    entry.name = export_file_name(*kind, s);
    files.push_back(std::move(entry));
  }
  BatchRow row;
  row.image = s.image_name;
  row.page = s.image_page;
  row.image_sha256 = s.image_sha256;
  row.model = s.model_name;
  row.model_sha256 = s.model_sha256;
  row.backend = s.backend;
  row.objects = int(s.objects->size());
  if (s.positive.counts()) row.positive = positive_objects(*s.objects);
  if (s.positive.counts() && s.positive.graded()) row.h_score = count_grades(*s.objects).h_score;
  double area = 0.0;
  for (const ObjectMeasurements& m : *s.objects) area += double(m.area_px);
  row.mean_area_px = row.objects > 0 ? area / row.objects : std::nan("");
  row.pixel_size_um = s.image->square_pixel_size_um();
  JsonValue summary;
  std::string ignored;
  if (json_parse(s.summary_json.data(), s.summary_json.size(), &summary, &ignored)) {
    if (const JsonValue* v = summary.find("diameter"); v && v->is_number()) row.diameter = v->number;
    if (const JsonValue* v = summary.find("diameter_estimated"); v && v->is_bool()) row.diameter_estimated = v->boolean;
  }
  batch->stems.insert(s.image_stem);
  batch->rows.push_back(std::move(row));
  for (ZipEntry& f : files) batch->files.push_back(std::move(f));
  return true;
}

void batch_add_failure(Batch* batch, const std::string& image_name, int page, const std::string& why) {
  BatchRow row;
  row.image = image_name;
  row.page = page;
  row.error = why.empty() ? "no result" : why;
  batch->rows.push_back(std::move(row));
}

bool batch_zip(Batch* batch, std::vector<uint8_t>* out, std::string* error) {
  std::string csv =
      "image,page,objects,positive,h_score,mean_area_px,mean_area_um2,diameter_px,diameter_estimated,pixel_size_um,model,model_sha256,"
      "image_sha256,backend,error\r\n";
  for (const BatchRow& r : batch->rows) {
    const bool ok = r.error.empty(), calibrated = ok && r.pixel_size_um > 0;
    // Areas in um^2 as the objects' table computes them: pixels times the pixel's area.
    const double pixel_area = r.pixel_size_um * r.pixel_size_um;
    csv += csv_field(r.image) + ',' + (r.page >= 0 ? std::to_string(r.page) : "") + ',' +
           (ok ? csv_number(r.objects) : "") + ',' + (ok && r.positive >= 0 ? csv_number(r.positive) : "") + ',' +
           (ok && !std::isnan(r.h_score) ? csv_number(r.h_score) : "") + ',' +
           (ok ? csv_number(r.mean_area_px) : "") + ',' +
           (calibrated ? csv_number(r.mean_area_px * pixel_area) : "") + ',' + (ok ? csv_number(r.diameter) : "") + ',' +
           (ok ? (r.diameter_estimated ? "true" : "false") : "") + ',' + (calibrated ? csv_number(r.pixel_size_um) : "") +
           ',' + csv_field(r.model) + ',' + r.model_sha256 + ',' + r.image_sha256 + ',' + csv_field(r.backend) + ',' +
           csv_field(r.error) + "\r\n";
  }
  batch->files.insert(batch->files.begin(), ZipEntry{"summary.csv", std::vector<uint8_t>(csv.begin(), csv.end())});
  return write_zip(batch->files, true, out, error);
}

}  // namespace celldrop
