// Exports: what a user takes away from a segmentation, written to memory (the page offers the bytes
// as downloads, the CLI writes them to files). One file per format: export_tiff.cpp (label TIFF),
// export_table.cpp (measurements -> table), export_csv.cpp, export_geojson.cpp, export_roi.cpp (ImageJ ROI zip), export_zip.cpp,
// export_record.cpp (JSON run record). The 16-bit label PNG is png_write.h's write_labels_png.
// Outlines come from contours.h (one simple polygon per object on pixel corners).
//
// Every writer returns false and sets *error (a sentence a user can act on) when it cannot write.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/contours.h"
#include "core/image.h"
#include "core/labels.h"

namespace celldrop {

// --- label image as TIFF -------------------------------------------------------------------------
// One page, one channel, unsigned integers: 16-bit when every label is <= 65535, else 32-bit;
// Deflate-compressed (Adobe Deflate, compression 8, no predictor), strips of about 64 KiB. ImageJ,
// Fiji, tifffile and libtiff read it. With a pixel size, the resolution tags hold pixels per
// micrometre and an ImageJ description says "unit=micron", so ImageJ shows calibrated sizes.
struct LabelTiffOptions {
  double pixel_size_um = 0.0;  // > 0: write the calibration; square pixels assumed
  int compression_level = 6;   // zlib level 1..9
};
bool write_labels_tiff(const Labels& labels, const LabelTiffOptions& options, std::vector<uint8_t>* out,
                       std::string* error);

// --- measurement table as CSV ---------------------------------------------------------------------
// A table of numbers with one row per object, whatever produced it (measure.h's per-object table).
struct MeasurementTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // each as long as `columns`
};
// measure.h's per-object table as a MeasurementTable, the shape the CSV and GeoJSON writers take.
// Columns: label, area_px, area_um2 (empty when the image has no pixel size), centroid_x,
// centroid_y, bbox_x0, bbox_y0, bbox_x1, bbox_y1 (x1/y1 one past the last pixel), perimeter_px,
// circularity, eccentricity, then per channel i (1-based): mean_i, min_i, max_i, integrated_i; then
// hematoxylin_od_mean and dab_od_mean when stains were measured (measure.h's measure_stains); then
// "positive" (1 or 0) when the objects were classified (measure.h's classify_positive), "grade" (0 to 3)
// when they were graded.
struct ObjectMeasurements;
MeasurementTable measurements_table(const std::vector<ObjectMeasurements>& objects);

// RFC 4180: a header line, then one line per row, "\r\n" line ends. Integral values print without a
// decimal point, others as the shortest text that reads back exactly, NaN as an empty cell. Names
// holding a comma, quote or line break are quoted.
bool write_csv(const MeasurementTable& table, std::string* out, std::string* error);

// One CSV cell as write_csv writes it: a text quoted when it holds a comma, quote or line break; a
// number integral without a decimal point, else the shortest text that reads back exactly, NaN empty.
std::string csv_field(const std::string& text);
std::string csv_number(double value);

// --- polygons as GeoJSON (QuPath) -------------------------------------------------------------------
// A FeatureCollection with one Feature per contour: geometry a Polygon (one closed exterior ring,
// pixel-corner coordinates in image pixels, x right, y down, as QuPath uses them), properties
// {"objectType": "detection", "name": "<label>", "classification": {"name", "color"} when
// classification_name is set, "measurements": {column: value} when a table is given}: the layout
// QuPath 0.4+ itself exports for detections (not checked against QuPath here: it is not installed;
// tests check GeoJSON validity with shapely). When the table has a "positive" column (marker-positive
// objects) each object's classification is QuPath's own "Positive" or "Negative" class, in QuPath's
// colours, so QuPath counts them as its positive detection would; with a "grade" column, its intensity
// classes "Negative", "1+", "2+" and "3+", which QuPath's H-score counts.
struct GeoJsonOptions {
  std::string classification_name;          // "" = unclassified
  uint8_t classification_color[3] = {200, 0, 0};
  const MeasurementTable* measurements = nullptr;  // optional; rows matched by the id column
  std::string id_column = "label";          // the table's column holding each row's label
};
bool write_geojson(const std::vector<Contour>& contours, const GeoJsonOptions& options, std::string* out,
                   std::string* error);

// --- ImageJ ROI zip -----------------------------------------------------------------------------------
// One polygon ROI per contour in ImageJ's binary .roi format (as RoiDecoder reads it: "Iout", version
// 228, type polygon, bounds, vertex count, vertices as int16 offsets from the bounds' top-left; images
// wider or taller than 32767 px add float coordinates), named "<index>-<y>-<x>.roi" like ImageJ's own
// ("0001-0123-0456.roi", the centre of the bounds) and stored in a zip the ROI Manager opens.
bool write_imagej_roi_zip(const std::vector<Contour>& contours, std::vector<uint8_t>* out, std::string* error);
// One ROI file alone (what the zip holds), with the given name embedded nowhere: ImageJ takes the
// name from the zip entry.
bool write_imagej_roi(const Contour& contour, std::vector<uint8_t>* out, std::string* error);

// --- zip container --------------------------------------------------------------------------------------
// A plain zip (no zip64: at most 65535 entries, each and the whole under 4 GiB), entries stored or
// deflated, with CRC-32s; readable by Java's ZipInputStream (ImageJ), unzip and Python's zipfile.
struct ZipEntry {
  std::string name;
  std::vector<uint8_t> data;
};
bool write_zip(const std::vector<ZipEntry>& entries, bool deflate, std::vector<uint8_t>* out,
               std::string* error);

// --- the run record ---------------------------------------------------------------------------------------
// Everything needed to reproduce or audit a result: app version, model, every parameter, the input
// image's fingerprint, timings. Written as one JSON object:
// {"app": "CellDrop", "app_version", "started_at"?, "image": {"name", "sha256", "width", "height",
//  "channels"}, "model": {"name", "sha256"}, "parameters": {...}, "timings_s": {...}, "objects"}.
struct RecordValue {
  enum class Kind { Number, Text, Flag, Null } kind = Kind::Null;
  double number = 0.0;
  std::string text;
  bool flag = false;
  static RecordValue of(double v) { RecordValue r; r.kind = Kind::Number; r.number = v; return r; }
  static RecordValue of(int v) { return of(double(v)); }
  static RecordValue of(bool v) { RecordValue r; r.kind = Kind::Flag; r.flag = v; return r; }
  static RecordValue of(const std::string& v) { RecordValue r; r.kind = Kind::Text; r.text = v; return r; }
  static RecordValue of(const char* v) { return of(std::string(v)); }
};
struct RunRecord {
  std::string app_version = CELLDROP_VERSION;
  std::string started_at;  // ISO 8601 from the caller's clock; "" = omitted
  std::string image_name, image_sha256;
  int image_page = -1;  // the page of a multi-page TIFF (0-based); < 0: omitted
  int image_width = 0, image_height = 0, image_channels = 0;
  // The calibration that gave area_um2 (square pixels; 0 = none, omitted), and whether the user gave
  // it ("pixel_size_from": "user") rather than the file ("file"): a wrong one explains wrong areas.
  double pixel_size_um = 0.0;
  bool pixel_size_given = false;
  std::string model_name, model_sha256;
  std::vector<std::pair<std::string, RecordValue>> parameters;  // in the order given
  std::vector<std::pair<std::string, double>> timings_s;        // stage -> seconds
  int objects = -1;                                             // < 0: omitted
  // Marker-positive objects (measure.h): "positive": {"channel" (from 0) or "stain" ("dab",
  // "hematoxylin"), "threshold", "threshold_from": "otsu" or "user", "objects": how many}; omitted when
  // neither a channel (>= 0) nor a stain is the marker.
  int positive_channel = -1;
  std::string positive_stain;
  double positive_threshold = 0.0;
  bool positive_threshold_given = false;
  int positive_objects = 0;
  // Intensity grades, when the rule was graded (measure.h): "positive" then holds "grades":
  // {"thresholds": [1+, 2+, 3+], "objects": [negative, 1+, 2+, 3+], "h_score" (null when NaN: no
  // objects)}. Empty: omitted.
  std::vector<double> grade_thresholds;  // the three, 1+ first
  long long grade_objects[4] = {0, 0, 0, 0};
  double h_score = 0.0;
  // The user's edits to the run's labels, in order: "edits_by_hand": [{"removed": id} or
  // {"drawn": id, "outline": [x0, y0, x1, y1, ...]} (image pixels)]; omitted if none.
  std::vector<HandEdit> edits_by_hand;
};
std::string write_run_record(const RunRecord& record);
// Fills the record's marker-positive fields from the rule `objects` were classified by (measure.h's
// classify_positive): the marker, its threshold and whether the user gave it, how many are positive
// and, for a graded rule, the grades' thresholds, counts and H-score. Nothing when the rule has no marker.
struct PositiveRule;
void record_positive(RunRecord* record, const PositiveRule& rule, bool threshold_given,
                     const std::vector<ObjectMeasurements>& objects);

}  // namespace celldrop
