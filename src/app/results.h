// Results out of the page: each export a user can download, made here in the tab by the core's
// writers (png_write.h, export.h) from the labels the worker sent back. Nothing is uploaded.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/contours.h"
#include "core/export.h"
#include "core/image.h"
#include "core/measure.h"

namespace celldrop {

struct ExportKind {
  const char* key;     // "labels_png": what the page API and the tests ask for
  const char* suffix;  // "labels.png": the file is named <image stem>_<model>_<suffix>
  const char* mime;
  const char* button;  // the panel's button label
  const char* tooltip;
};

// Every export, in the order the panel lists them.
const std::vector<ExportKind>& export_kinds();
const ExportKind* find_export_kind(const std::string& key);

// What the exports are made from: the image on show and the last result for it.
struct ResultSource {
  const Image* image = nullptr;
  std::string image_name, image_stem, image_sha256;
  int image_page = -1;  // the page of a multi-page TIFF (0-based); -1 for a one-page image
  bool pixel_size_given = false;  // image's pixel size is the user's, not its file's
  const Labels* labels = nullptr;
  const std::vector<ObjectMeasurements>* objects = nullptr;  // measure_objects of labels over image
  const std::vector<Contour>* contours = nullptr;            // trace_contours of labels
  std::string model_name, model_kind, model_sha256;
  double model_diameter = 0.0;
  std::string params_json;   // the parameters the run was started with
  std::string summary_json;  // pipeline_summary_json of the run
  std::string backend;
  std::vector<HandEdit> edits_by_hand;  // the user's edits to the run's labels, in order
  // Marker-positive objects: the rule the objects' `positive` came from (channel < 0: not counted),
  // and whether the user set its threshold (else it is Otsu's).
  PositiveRule positive;
  bool positive_threshold_given = false;
  std::string started_at;    // ISO 8601, for the run record
  // The overlay as drawn: the display's pixels (one grey byte each, or three in the colour view: the
  // size says which), the overlay layer and its opacity. The layer is made on request, rows
  // y0..y1 - 1 as RGBA into `rgba`, a band at a time (the page keeps it on the GPU only); empty while
  // the masks are not on show yet.
  const std::vector<uint8_t>* display_pixels = nullptr;
  std::function<void(int y0, int y1, uint8_t* rgba)> overlay_rows;
  float outline_opacity = 1.0f;
};

// <image stem>_<model>_<suffix>, e.g. "cells_nuclei-star_labels.tiff".
std::string export_file_name(const ExportKind& kind, const ResultSource& source);

// Writes one export into *out. False + a sentence when it cannot (e.g. more than 65535 objects for
// the label PNG, which then names the TIFF instead).
bool write_export(const ExportKind& kind, const ResultSource& source, std::vector<uint8_t>* out,
                  std::string* error);

// The run record's parameters as the page knows them: those it sent to the worker and what the run's
// summary says it used (diameter, scale, tiles, thresholds), plus the backend.
std::string page_run_record(const ResultSource& source);

// --- "Segment all": a list of images segmented in turn with the same parameters, each one's label
// image, measurements and run record gathered into one zip beside summary.csv, one row per image
// (objects found, the diameter used, or why it failed): the per-image counts a folder of images is
// usually segmented for. The page (web/page_api.js) opens and runs each image; this keeps the files.
struct BatchRow {
  std::string image;   // the file's name
  int page = -1;       // its page, for a multi-page TIFF (0-based)
  std::string error;   // why it has no result; empty when it has one
  std::string image_sha256, model, model_sha256, backend;
  int objects = 0;
  int positive = -1;  // marker-positive objects; -1: not counted
  double h_score = std::nan("");  // of graded objects (measure.h); NaN: not graded
  double mean_area_px = 0.0;  // of its objects (NaN when it has none)
  double pixel_size_um = 0.0;  // the calibration its areas in um^2 used (square pixels; 0 = none)
  double diameter = 0.0;  // image px, as used
  bool diameter_estimated = false;
};

struct Batch {
  std::vector<BatchRow> rows;     // in the list's order
  std::vector<ZipEntry> files;    // each image's exports
  std::set<std::string> stems;    // the stems used: two images of one name get "name-2" and so on
};

// Adds the result on show: <stem>_<model>_labels.png (the TIFF above 65535 objects),
// <stem>_<model>_objects.csv and <stem>_<model>_run.json (the exports' own names), and its summary row.
bool batch_add_result(Batch* batch, const ResultSource& source, std::string* error);

// An image of the list without a result (it could not be opened, its run failed or was cancelled).
void batch_add_failure(Batch* batch, const std::string& image_name, int page, const std::string& why);

// summary.csv first, then the images' files (moved into the zip: the batch is spent). Columns: image,
// page (0-based, empty for one-page images), objects, positive (marker-positive objects, empty when
// not counted), h_score (empty when not graded), mean_area_px, mean_area_um2, diameter_px, diameter_estimated, model, model_sha256, image_sha256, backend,
// error.
bool batch_zip(Batch* batch, std::vector<uint8_t>* out, std::string* error);

}  // namespace celldrop
