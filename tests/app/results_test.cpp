// The page's exports (src/app/results.cpp), each read back by the core's readers or by a parser written
// here: the label files hold the labels, the table has one row per object, the ROI zip one ROI per
// object, the record says what produced the result, the overlay is what the viewer shows, and every
// file is named the way the page names its downloads.
#include "app/results.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/display.h"
#include "core/decode.h"
#include "core/export.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/label_io.h"
#include "core/synth.h"

namespace celldrop {
namespace {

// A result as the page holds one: a synthetic 16-bit image, its ground truth as "the masks", and
// everything the page derives from them.
struct Result {
  Result() = default;
  Result(const Result&) = delete;  // `source` points into this object
  Result& operator=(const Result&) = delete;
  Image image;
  Labels labels;
  std::vector<ObjectMeasurements> objects;
  std::vector<Contour> contours;
  std::vector<uint8_t> gray, outline;
  ResultSource source;
};

void fill_source(Result* r) {
  ResultSource& s = r->source;
  s.image = &r->image;
  s.image_name = "plate A1.png";
  s.image_stem = "plate A1";
  s.image_sha256 = std::string(64, 'e');
  s.labels = &r->labels;
  s.objects = &r->objects;
  s.contours = &r->contours;
  s.model_name = "nuclei-star";
  s.model_kind = "star";
  s.model_sha256 = std::string(64, 'f');
  s.model_diameter = 17.5;
  s.params_json = R"({"diameter":0,"prob_thresh":0.6,"nms_thresh":0.3,"percentile_low":1,"percentile_high":99.8,"tile":512})";
  s.summary_json =
      R"({"diameter":21.25,"diameter_estimated":true,"scale":0.8235294117647058,"passes":1,"tiles":4,)"
      R"("network_width":256,"network_height":192,"thresholds":{"prob":0.6,"nms":0.3},"note":"",)"
      R"("timings_s":{"network":1.25,"postprocess":0.5,"total":2}})";
  s.backend = "wasm";
  s.started_at = "2026-11-28T07:30:00.000Z";
  s.display_pixels = &r->gray;
  s.overlay_rows = [r](int y0, int y1, uint8_t* rgba) {
    std::copy(r->outline.begin() + ptrdiff_t(y0) * r->labels.width * 4, r->outline.begin() + ptrdiff_t(y1) * r->labels.width * 4, rgba);
  };
  s.outline_opacity = 1.0f;
}

// The overlay layer the viewer draws, made here rather than by overlay.cpp so these tests only
// depend on results.cpp: opaque 0xFFD000 on object pixels that touch another id, transparent elsewhere.
void outline_layer(const Labels& l, std::vector<uint8_t>* rgba) {
  rgba->assign(l.data.size() * 4, 0);
  for (int y = 0; y < l.height; y++) {
    for (int x = 0; x < l.width; x++) {
      const uint32_t id = l.at(x, y);
      const bool edge = id != 0 && (x == 0 || y == 0 || x == l.width - 1 || y == l.height - 1 || l.at(x - 1, y) != id ||
                                    l.at(x + 1, y) != id || l.at(x, y - 1) != id || l.at(x, y + 1) != id);
      if (!edge) continue;
      uint8_t* p = &(*rgba)[(size_t(y) * l.width + x) * 4];
      p[0] = 0xFF;
      p[1] = 0xD0;
      p[2] = 0x00;
      p[3] = 0xFF;
    }
  }
}

void make_result(Result* out, double pixel_size_um = 0.0) {
  Result& r = *out;
  SynthParams p;
  p.seed = 11;
  p.width = 96;
  p.height = 80;
  p.mean_diameter = 14.0;
  SynthResult synth = synthesize_nuclei(p);
  EXPECT_TRUE(synth.error.empty()) << synth.error;
  EXPECT_GT(synth.count, 5);
  r.image = std::move(synth.image);
  r.image.pixel_size_x_um = r.image.pixel_size_y_um = pixel_size_um;
  r.labels = std::move(synth.labels);
  std::string error;
  EXPECT_TRUE(measure_objects(r.labels, &r.image, &r.objects, &error)) << error;
  r.contours = trace_contours(r.labels);
  map_to_gray(r.image, 0, channel_stats(r.image, 0).auto_window, &r.gray);
  outline_layer(r.labels, &r.outline);
  fill_source(&r);
}

std::vector<uint8_t> export_bytes(const char* key, const ResultSource& source, std::string* error = nullptr) {
  const ExportKind* kind = find_export_kind(key);
  EXPECT_NE(kind, nullptr) << key;
  std::vector<uint8_t> out;
  std::string why;
  const bool ok = kind && write_export(*kind, source, &out, &why);
  if (error) {
    *error = why;
  } else {
    EXPECT_TRUE(ok) << key << ": " << why;
  }
  if (ok) {
    EXPECT_FALSE(out.empty()) << key;
  }
  return ok ? out : std::vector<uint8_t>();
}

std::string as_text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::map<uint32_t, long long> pixel_counts(const Labels& labels) {
  std::map<uint32_t, long long> counts;
  for (uint32_t id : labels.data) counts[id]++;
  return counts;
}

std::set<uint32_t> ids_of(const Labels& labels) {
  std::set<uint32_t> ids(labels.data.begin(), labels.data.end());
  ids.erase(0);
  return ids;
}

TEST(ExportNames, AreTheImageStemTheModelAndTheKind) {
  Result r;
  make_result(&r);
  // The names the browser test sees on the downloads (tests/browser/export.test.mjs).
  const std::map<std::string, std::string> want = {
      {"labels_png", "plate A1_nuclei-star_labels.png"}, {"labels_tiff", "plate A1_nuclei-star_labels.tiff"},
      {"csv", "plate A1_nuclei-star_objects.csv"},        {"geojson", "plate A1_nuclei-star_objects.geojson"},
      {"roi", "plate A1_nuclei-star_rois.zip"},           {"record", "plate A1_nuclei-star_run.json"},
      {"overlay_png", "plate A1_nuclei-star_overlay.png"}};
  ASSERT_EQ(export_kinds().size(), want.size());
  std::set<std::string> keys, names;
  for (const ExportKind& kind : export_kinds()) {
    ASSERT_TRUE(want.count(kind.key)) << kind.key;
    EXPECT_EQ(export_file_name(kind, r.source), want.at(kind.key));
    EXPECT_EQ(find_export_kind(kind.key), &kind);
    EXPECT_GT(std::strlen(kind.mime), 0u);
    EXPECT_GT(std::strlen(kind.button), 0u);
    EXPECT_GT(std::strlen(kind.tooltip), 0u);
    keys.insert(kind.key);
    names.insert(export_file_name(kind, r.source));
  }
  EXPECT_EQ(names.size(), want.size()) << "two exports would overwrite each other";
  EXPECT_EQ(find_export_kind("labels_jpeg"), nullptr);
  EXPECT_EQ(find_export_kind(""), nullptr);
}

TEST(ExportNames, ModelNamesCannotBreakTheFileName) {
  ResultSource s;
  s.image_stem = "cells";
  s.model_name = "lab/nuclei v2:final";
  const ExportKind& csv = *find_export_kind("csv");
  EXPECT_EQ(export_file_name(csv, s), "cells_lab_nuclei_v2_final_objects.csv");
  s.model_name.clear();
  s.image_stem.clear();
  EXPECT_EQ(export_file_name(csv, s), "image_model_objects.csv");
}

TEST(Exports, NothingToSaveBeforeARun) {
  ResultSource empty;
  for (const ExportKind& kind : export_kinds()) {
    std::vector<uint8_t> out = {1, 2, 3};
    std::string error;
    EXPECT_FALSE(write_export(kind, empty, &out, &error)) << kind.key;
    EXPECT_EQ(error, "there is no result to save yet: run the segmentation first") << kind.key;
    EXPECT_TRUE(out.empty()) << kind.key;
  }
}

TEST(Exports, LabelPngHoldsTheLabelsAndTheCalibration) {
  Result r;
  make_result(&r, 0.5);
  const std::vector<uint8_t> png = export_bytes("labels_png", r.source);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(std::memcmp(png.data(), "\x89PNG", 4), 0);
  Image img;
  std::string error;
  ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_EQ(img.type, SampleType::U16);
  EXPECT_EQ(img.channels, 1);
  EXPECT_DOUBLE_EQ(img.pixel_size_x_um, 0.5);
  EXPECT_DOUBLE_EQ(img.pixel_size_y_um, 0.5);
  Labels back;
  ASSERT_TRUE(labels_from_image(img, &back, &error)) << error;
  EXPECT_EQ(back.width, r.labels.width);
  EXPECT_EQ(back.height, r.labels.height);
  EXPECT_EQ(back.data, r.labels.data);
}

TEST(Exports, LabelTiffHoldsTheLabelsAndTheCalibration) {
  Result r;
  make_result(&r, 0.325);
  const std::vector<uint8_t> tiff = export_bytes("labels_tiff", r.source);
  Image img;
  std::string error;
  ASSERT_TRUE(decode_image(tiff.data(), tiff.size(), DecodeOptions(), &img, &error)) << error;
  EXPECT_NEAR(img.pixel_size_x_um, 0.325, 1e-6);
  Labels back;
  ASSERT_TRUE(labels_from_image(img, &back, &error)) << error;
  EXPECT_EQ(back.data, r.labels.data);
}

TEST(Exports, UncalibratedOrNonSquarePixelsWriteNoCalibration) {
  Result r;
  make_result(&r, 0.0);
  r.image.pixel_size_x_um = 0.5;
  r.image.pixel_size_y_um = 0.25;  // the label writers take square pixels only: claim none
  for (const char* key : {"labels_png", "labels_tiff"}) {
    const std::vector<uint8_t> file = export_bytes(key, r.source);
    Image img;
    std::string error;
    ASSERT_TRUE(decode_image(file.data(), file.size(), DecodeOptions(), &img, &error)) << key << ": " << error;
    EXPECT_EQ(img.pixel_size_x_um, 0.0) << key;
    EXPECT_EQ(img.pixel_size_y_um, 0.0) << key;
  }
}

TEST(Exports, MoreObjectsThanAPngHoldsPointsToTheTiff) {
  // 66000 one-pixel objects: ids above 65535 do not fit a 16-bit PNG.
  Result r;
  make_result(&r);
  r.labels = make_labels(300, 220);
  for (size_t i = 0; i < r.labels.data.size(); i++) r.labels.data[i] = uint32_t(i + 1);
  r.image = make_image(300, 220, 1, SampleType::U8);
  r.objects.clear();
  r.contours.clear();
  std::string error;
  const std::vector<uint8_t> png = export_bytes("labels_png", r.source, &error);
  EXPECT_TRUE(png.empty());
  EXPECT_NE(error.find("65535"), std::string::npos) << error;
  EXPECT_NE(error.find("(save the labels as TIFF instead)"), std::string::npos) << error;
  const std::vector<uint8_t> tiff = export_bytes("labels_tiff", r.source);
  Labels back;
  ASSERT_TRUE(decode_labels(tiff.data(), tiff.size(), &back, &error)) << error;
  EXPECT_EQ(back.data, r.labels.data);
}

// RFC 4180 lines of numbers: the writer quotes nothing for these columns.
std::vector<std::vector<std::string>> csv_cells(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    EXPECT_NE(end, std::string::npos) << "every line ends with CRLF";
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> cells;
    std::stringstream line(text.substr(pos, end - pos));
    std::string cell;
    while (std::getline(line, cell, ',')) cells.push_back(cell);
    if (end > pos && text[end - 1] == ',') cells.push_back("");  // getline drops a last empty cell
    rows.push_back(cells);
    pos = end + 2;
  }
  return rows;
}

TEST(Exports, CsvHasOneRowPerObjectWithItsArea) {
  Result r;
  make_result(&r, 0.5);
  const std::vector<std::vector<std::string>> rows = csv_cells(as_text(export_bytes("csv", r.source)));
  ASSERT_FALSE(rows.empty());
  const std::vector<std::string>& header = rows[0];
  ASSERT_GE(header.size(), 3u);
  EXPECT_EQ(header[0], "label");
  EXPECT_EQ(header[1], "area_px");
  EXPECT_EQ(header[2], "area_um2");
  const std::set<uint32_t> ids = ids_of(r.labels);
  ASSERT_EQ(rows.size(), ids.size() + 1) << "a header, then one row per object";
  const std::map<uint32_t, long long> areas = pixel_counts(r.labels);
  auto id = ids.begin();
  for (size_t i = 1; i < rows.size(); i++, id++) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    EXPECT_EQ(rows[i][0], std::to_string(*id)) << "rows in id order";
    EXPECT_EQ(rows[i][1], std::to_string(areas.at(*id))) << "object " << *id;
    EXPECT_DOUBLE_EQ(std::stod(rows[i][2]), areas.at(*id) * 0.25) << "object " << *id;
  }
}

TEST(Exports, GeoJsonHasOneFeaturePerObjectWithItsOutline) {
  Result r;
  make_result(&r);
  const std::string text = as_text(export_bytes("geojson", r.source));
  JsonValue doc;
  std::string error;
  ASSERT_TRUE(json_parse(text, &doc, &error)) << error;
  ASSERT_TRUE(doc.find("type") && doc.find("type")->string == "FeatureCollection");
  const JsonValue* features = doc.find("features");
  ASSERT_TRUE(features && features->is_array());
  ASSERT_EQ(features->array.size(), r.contours.size());
  ASSERT_EQ(r.contours.size(), ids_of(r.labels).size());
  const std::map<uint32_t, long long> areas = pixel_counts(r.labels);
  for (size_t i = 0; i < r.contours.size(); i++) {
    const Contour& c = r.contours[i];
    const JsonValue& f = features->array[i];
    const JsonValue* props = f.find("properties");
    ASSERT_TRUE(props);
    EXPECT_EQ(props->find("name")->string, std::to_string(c.label));
    const JsonValue* m = props->find("measurements");
    ASSERT_TRUE(m && m->find("area_px")) << "feature " << i;
    EXPECT_EQ(m->find("area_px")->number, double(areas.at(c.label)));
    const JsonValue& ring = f.find("geometry")->find("coordinates")->array.at(0);
    ASSERT_EQ(ring.array.size(), c.points.size() + 1) << "a closed ring of the contour's corners";
    for (size_t k = 0; k < c.points.size(); k++) {
      EXPECT_EQ(ring.array[k].array.at(0).number, c.points[k].x);
      EXPECT_EQ(ring.array[k].array.at(1).number, c.points[k].y);
    }
  }
}

uint32_t le16(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8; }
uint32_t le32(const uint8_t* p) { return le16(p) | le16(p + 2) << 16; }

struct ZipFile {
  std::string name;
  std::vector<uint8_t> data;
};

// Reads a zip through its central directory (as unzip and ImageJ do), inflating deflated entries.
std::vector<ZipFile> read_zip(const std::vector<uint8_t>& zip) {
  std::vector<ZipFile> files;
  EXPECT_GE(zip.size(), 22u);
  if (zip.size() < 22) return files;
  const uint8_t* end = &zip[zip.size() - 22];
  EXPECT_EQ(le32(end), 0x06054b50u) << "end of central directory, no comment";
  const uint32_t count = le16(end + 10), dir = le32(end + 16);
  size_t at = dir;
  for (uint32_t i = 0; i < count; i++) {
    if (at + 46 > zip.size() || le32(&zip[at]) != 0x02014b50u) {
      ADD_FAILURE() << "central directory entry " << i;
      return files;
    }
    const uint32_t method = le16(&zip[at + 10]), packed = le32(&zip[at + 20]), size = le32(&zip[at + 24]);
    const uint32_t name_len = le16(&zip[at + 28]), extra = le16(&zip[at + 30]), comment = le16(&zip[at + 32]);
    const uint32_t local = le32(&zip[at + 42]), crc = le32(&zip[at + 16]);
    ZipFile f;
    f.name.assign(reinterpret_cast<const char*>(&zip[at + 46]), name_len);
    at += 46 + name_len + extra + comment;
    EXPECT_EQ(le32(&zip[local]), 0x04034b50u) << f.name;
    const size_t data = local + 30 + le16(&zip[local + 26]) + le16(&zip[local + 28]);
    EXPECT_LE(data + packed, zip.size()) << f.name;
    if (data + packed > zip.size()) return files;
    f.data.resize(size);
    if (method == 0) {
      std::memcpy(f.data.data(), &zip[data], size);
    } else {
      EXPECT_EQ(method, 8u) << f.name;
      z_stream z{};
      inflateInit2(&z, -15);
      z.next_in = const_cast<uint8_t*>(&zip[data]);
      z.avail_in = packed;
      z.next_out = f.data.data();
      z.avail_out = size;
      EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END) << f.name;
      EXPECT_EQ(z.total_out, size) << f.name;
      inflateEnd(&z);
    }
    EXPECT_EQ(uint32_t(crc32(0, f.data.data(), uInt(f.data.size()))), crc) << f.name;
    files.push_back(std::move(f));
  }
  return files;
}

TEST(Exports, RoiZipHoldsOneImageJRoiPerObject) {
  Result r;
  make_result(&r);
  const std::vector<ZipFile> files = read_zip(export_bytes("roi", r.source));
  ASSERT_EQ(files.size(), ids_of(r.labels).size());
  std::set<std::string> names;
  for (size_t i = 0; i < files.size(); i++) {
    EXPECT_EQ(files[i].name.size(), std::string("0001-0123-0456.roi").size()) << files[i].name;
    EXPECT_EQ(files[i].name.substr(files[i].name.size() - 4), ".roi");
    names.insert(files[i].name);
    std::vector<uint8_t> want;
    std::string error;
    ASSERT_TRUE(write_imagej_roi(r.contours[i], &want, &error)) << error;
    EXPECT_EQ(files[i].data, want) << "entry " << files[i].name << " is object " << r.contours[i].label << "'s ROI";
    EXPECT_EQ(std::memcmp(files[i].data.data(), "Iout", 4), 0);
  }
  EXPECT_EQ(names.size(), files.size()) << "ROI Manager would merge entries with the same name";
}

TEST(Exports, RunRecordSaysWhatProducedTheResult) {
  Result r;
  make_result(&r);
  JsonValue rec;
  std::string error;
  ASSERT_TRUE(json_parse(as_text(export_bytes("record", r.source)), &rec, &error)) << error;
  EXPECT_EQ(rec.find("app")->string, "CellDrop");
  EXPECT_EQ(rec.find("started_at")->string, "2026-11-28T07:30:00.000Z");
  const JsonValue* image = rec.find("image");
  EXPECT_EQ(image->find("name")->string, "plate A1.png");
  EXPECT_EQ(image->find("sha256")->string, std::string(64, 'e'));
  EXPECT_EQ(image->find("width")->number, 96);
  EXPECT_EQ(image->find("height")->number, 80);
  EXPECT_EQ(image->find("channels")->number, 1);
  EXPECT_EQ(rec.find("model")->find("name")->string, "nuclei-star");
  EXPECT_EQ(rec.find("model")->find("sha256")->string, std::string(64, 'f'));
  EXPECT_EQ(rec.find("objects")->number, double(ids_of(r.labels).size()));

  const JsonValue* p = rec.find("parameters");
  ASSERT_TRUE(p && p->is_object());
  EXPECT_EQ(p->find("kind")->string, "star");
  EXPECT_EQ(p->find("backend")->string, "wasm");
  EXPECT_EQ(p->find("model_diameter")->number, 17.5);
  EXPECT_EQ(p->find("diameter_requested")->string, "auto") << "diameter 0 asks for the automatic estimate";
  EXPECT_EQ(p->find("prob_thresh")->number, 0.6);
  EXPECT_EQ(p->find("percentile_high")->number, 99.8);
  EXPECT_EQ(p->find("tile")->number, 512);
  // What the run used, from its summary.
  EXPECT_EQ(p->find("diameter")->number, 21.25);
  EXPECT_EQ(p->find("diameter_estimated")->boolean, true);
  EXPECT_EQ(p->find("scale")->number, 0.8235294117647058);
  EXPECT_EQ(p->find("tiles")->number, 4);
  EXPECT_EQ(p->find("network_height")->number, 192);
  EXPECT_EQ(p->find("prob_thresh_used")->number, 0.6);
  EXPECT_EQ(p->find("nms_thresh_used")->number, 0.3);
  EXPECT_EQ(p->find("note"), nullptr) << "an empty note is left out";
  const JsonValue* t = rec.find("timings_s");
  EXPECT_EQ(t->find("network")->number, 1.25);
  EXPECT_EQ(t->find("total")->number, 2);
}

TEST(Exports, RunRecordNamesARequestedDiameterAndAChannelChoice) {
  Result r;
  make_result(&r);
  r.source.params_json = R"({"diameter":30.5,"channel":null,"merge":true})";
  r.source.summary_json = R"({"note":"the image was upscaled 2x"})";
  JsonValue rec;
  std::string error;
  ASSERT_TRUE(json_parse(page_run_record(r.source), &rec, &error)) << error;
  const JsonValue* p = rec.find("parameters");
  EXPECT_EQ(p->find("diameter_requested")->number, 30.5);
  EXPECT_EQ(p->find("channel")->string, "all");
  EXPECT_EQ(p->find("merge")->boolean, true);
  EXPECT_EQ(p->find("note")->string, "the image was upscaled 2x");
}

TEST(Exports, RunRecordStaysValidWhenTheRunTextsDoNotParse) {
  Result r;
  make_result(&r);
  r.source.params_json = "{\"diameter\":";
  r.source.summary_json = "not json";
  JsonValue rec;
  std::string error;
  ASSERT_TRUE(json_parse(page_run_record(r.source), &rec, &error)) << error;
  const JsonValue* p = rec.find("parameters");
  EXPECT_EQ(p->find("backend")->string, "wasm");
  EXPECT_EQ(p->find("diameter_requested"), nullptr);
  EXPECT_EQ(rec.find("image")->find("name")->string, "plate A1.png");
}

TEST(Exports, OverlayPngIsTheDisplayWithOutlinesBlendedOver) {
  Result r;
  make_result(&r, 0.5);
  for (float opacity : {1.0f, 0.5f, 0.0f}) {
    r.source.outline_opacity = opacity;
    const std::vector<uint8_t> png = export_bytes("overlay_png", r.source);
    Image img;
    std::string error;
    ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
    ASSERT_EQ(img.width, 96);
    ASSERT_EQ(img.height, 80);
    ASSERT_EQ(img.channels, 3);
    ASSERT_EQ(img.type, SampleType::U8);
    EXPECT_DOUBLE_EQ(img.pixel_size_x_um, 0.5);
    const uint8_t* px = samples<uint8_t>(img);
    size_t outlined = 0;
    for (size_t i = 0; i < r.gray.size(); i++) {
      const uint8_t g = r.gray[i];
      const uint8_t* o = &r.outline[i * 4];
      for (int c = 0; c < 3; c++) {
        const int want = o[3] == 0 ? g : int(std::lround(g + (o[c] - g) * double(opacity)));
        ASSERT_NEAR(px[i * 3 + size_t(c)], want, 1) << "pixel " << i << " channel " << c << " opacity " << opacity;
      }
      outlined += o[3] != 0;
    }
    EXPECT_GT(outlined, 100u);
  }
  // Full opacity: outline pixels are exactly the outline colour, others exactly the display grey.
  r.source.outline_opacity = 1.0f;
  Image img;
  std::string error;
  const std::vector<uint8_t> png = export_bytes("overlay_png", r.source);
  ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
  const uint8_t* px = samples<uint8_t>(img);
  for (size_t i = 0; i < r.gray.size(); i++) {
    const uint8_t want[3] = {r.outline[i * 4 + 3] ? uint8_t(0xFF) : r.gray[i], r.outline[i * 4 + 3] ? uint8_t(0xD0) : r.gray[i],
                             r.outline[i * 4 + 3] ? uint8_t(0x00) : r.gray[i]};
    ASSERT_EQ(std::memcmp(px + i * 3, want, 3), 0) << "pixel " << i;
  }
}

TEST(Exports, OverlayPngOfTheColourViewKeepsTheColours) {
  Result r;
  make_result(&r);
  // The display in colour: each pixel's grey level spread over three different channel values.
  std::vector<uint8_t> rgb(r.gray.size() * 3);
  for (size_t i = 0; i < r.gray.size(); i++) {
    rgb[i * 3] = r.gray[i];
    rgb[i * 3 + 1] = uint8_t(255 - r.gray[i]);
    rgb[i * 3 + 2] = uint8_t(i % 251);
  }
  r.source.display_pixels = &rgb;
  r.source.outline_opacity = 1.0f;
  const std::vector<uint8_t> png = export_bytes("overlay_png", r.source);
  Image img;
  std::string error;
  ASSERT_TRUE(decode_image(png.data(), png.size(), DecodeOptions(), &img, &error)) << error;
  ASSERT_EQ(img.channels, 3);
  const uint8_t* px = samples<uint8_t>(img);
  const uint8_t outline[3] = {0xFF, 0xD0, 0x00};
  for (size_t i = 0; i < r.gray.size(); i++) {
    const uint8_t* want = r.outline[i * 4 + 3] ? outline : &rgb[i * 3];
    ASSERT_EQ(std::memcmp(px + i * 3, want, 3), 0) << "pixel " << i;
  }
  // A display of the wrong size (the image changed under it) is refused, not read past its end.
  rgb.resize(rgb.size() - 3);
  EXPECT_TRUE(export_bytes("overlay_png", r.source, &error).empty());
  EXPECT_EQ(error, "the overlay is not ready yet: wait until the masks are shown, then save again");
}

TEST(Exports, OverlayBeforeTheMasksAreDrawnSaysToWait) {
  Result r;
  make_result(&r);
  r.source.overlay_rows = nullptr;  // the page has the labels but has not drawn the overlay yet
  std::string error;
  EXPECT_TRUE(export_bytes("overlay_png", r.source, &error).empty());
  EXPECT_EQ(error, "the overlay is not ready yet: wait until the masks are shown, then save again");
}

// "Segment all": every image's exports under its own stem (a repeated name gets "-2"), and one
// summary row per image of the list, in its order, failures included.
TEST(Batch, ZipHoldsEachImagesExportsAndASummaryRowPerImage) {
  Result first, second;
  make_result(&first);
  make_result(&second, 0.5);
  second.source.image_page = 4;  // a page of a multi-page TIFF: its row and record say which
  // The second's nuclei are counted for a marker in channel 0: its row and record give the count.
  second.source.positive = {0, otsu_threshold_of_means(second.objects, {0})};
  second.source.positive_threshold_given = false;
  std::string why;
  const int positive = classify_positive(&second.objects, second.source.positive, &why);
  ASSERT_GT(positive, 0) << why;
  ASSERT_LT(positive, int(second.objects.size()));
  Batch batch;
  std::string error;
  ASSERT_TRUE(batch_add_result(&batch, first.source, &error)) << error;
  batch_add_failure(&batch, "broken, \"really\".tif", -1, "Cannot open it: not an image");
  ASSERT_TRUE(batch_add_result(&batch, second.source, &error)) << error;  // the same name as the first
  std::vector<uint8_t> zip;
  ASSERT_TRUE(batch_zip(&batch, &zip, &error)) << error;
  const std::vector<ZipFile> files = read_zip(zip);
  std::vector<std::string> names;
  for (const ZipFile& f : files) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"summary.csv", "plate A1_nuclei-star_labels.png", "plate A1_nuclei-star_objects.csv",
                                             "plate A1_nuclei-star_run.json", "plate A1-2_nuclei-star_labels.png",
                                             "plate A1-2_nuclei-star_objects.csv", "plate A1-2_nuclei-star_run.json"}));
  const std::string summary(files[0].data.begin(), files[0].data.end());
  const std::string n = std::to_string(first.objects.size());
  double area = 0;
  for (const ObjectMeasurements& m : first.objects) area += double(m.area_px);
  const std::string mean = csv_number(area / double(first.objects.size()));
  // The second image is calibrated (0.5 um pixels): its mean area in um^2 is a quarter of the pixels'.
  const std::string mean_um2 = csv_number(area / double(first.objects.size()) * 0.25);
  EXPECT_EQ(summary,
            "image,page,objects,positive,h_score,mean_area_px,mean_area_um2,diameter_px,diameter_estimated,pixel_size_um,model,model_sha256,"
            "image_sha256,backend,error\r\n"
            "plate A1.png,," + n + ",,," + mean + ",,21.25,true,,nuclei-star," + std::string(64, 'f') + "," + std::string(64, 'e') + ",wasm,\r\n"
            "\"broken, \"\"really\"\".tif\",,,,,,,,,,,,,,Cannot open it: not an image\r\n"
            "plate A1.png,4," + n + "," + std::to_string(positive) + ",," + mean + "," + mean_um2 + ",21.25,true,0.5,nuclei-star," + std::string(64, 'f') + "," +
            std::string(64, 'e') + ",wasm,\r\n");
  const std::string record(files[6].data.begin(), files[6].data.end());
  EXPECT_NE(record.find("\"image\":{\"name\":\"plate A1.png\",\"sha256\":\"" + std::string(64, 'e') + "\",\"page\":4,"),
            std::string::npos) << record;
  EXPECT_NE(record.find("\"positive\":{\"channel\":0,\"threshold\":"), std::string::npos) << record;
  EXPECT_NE(record.find("\"threshold_from\":\"otsu\",\"objects\":" + std::to_string(positive) + "}"), std::string::npos) << record;
  const std::string first_record(files[3].data.begin(), files[3].data.end());
  EXPECT_EQ(first_record.find("\"positive\""), std::string::npos) << "not counted, not in the record";
  // Each file is the export the panel would save for that image.
  EXPECT_EQ(files[1].data, export_bytes("labels_png", first.source));
  EXPECT_EQ(files[2].data, export_bytes("csv", first.source));
  EXPECT_EQ(files[4].data, export_bytes("labels_png", second.source)) << "the second image's own labels, calibrated";
}

// Graded (1+, 2+, 3+ from three thresholds): the summary row gives the H-score, the record the grades.
TEST(Batch, GradedNucleiGiveTheHScore) {
  Result r;
  make_result(&r);
  std::vector<double> means;
  for (const ObjectMeasurements& m : r.objects) means.push_back(m.mean[0]);
  std::sort(means.begin(), means.end());
  PositiveRule rule{0, means[means.size() / 4]};  // a quarter negative, the rest split at the median and 3/4
  rule.grade_thresholds[0] = means[means.size() / 2];
  rule.grade_thresholds[1] = means[means.size() * 3 / 4];
  r.source.positive = rule;
  r.source.positive_threshold_given = true;
  std::string why;
  ASSERT_GT(classify_positive(&r.objects, rule, &why), 0) << why;
  const GradeCounts grades = count_grades(r.objects);
  for (long long n : grades.objects) ASSERT_GT(n, 0);
  Batch batch;
  std::string error;
  ASSERT_TRUE(batch_add_result(&batch, r.source, &error)) << error;
  std::vector<uint8_t> zip;
  ASSERT_TRUE(batch_zip(&batch, &zip, &error)) << error;
  const std::vector<ZipFile> files = read_zip(zip);
  const std::string summary(files[0].data.begin(), files[0].data.end());
  const std::string row = summary.substr(summary.find("\r\n") + 2);
  EXPECT_EQ(row.rfind("plate A1.png,," + std::to_string(r.objects.size()) + "," +
                          std::to_string(grades.objects[1] + grades.objects[2] + grades.objects[3]) + "," +
                          csv_number(grades.h_score) + ",", 0), 0u) << row;
  const std::string record(files[3].data.begin(), files[3].data.end());
  EXPECT_NE(record.find("\"grades\":{\"thresholds\":[" + json_number(rule.threshold) + "," +
                        json_number(rule.grade_thresholds[0]) + "," + json_number(rule.grade_thresholds[1]) + "],\"objects\":[" +
                        std::to_string(grades.objects[0]) + "," + std::to_string(grades.objects[1]) + "," +
                        std::to_string(grades.objects[2]) + "," + std::to_string(grades.objects[3]) + "],\"h_score\":"),
            std::string::npos) << record;
}

TEST(Batch, NothingToAddIsSaid) {
  Batch batch;
  std::string error;
  EXPECT_FALSE(batch_add_result(&batch, ResultSource(), &error));
  EXPECT_EQ(error, "there is no result to add");
  EXPECT_TRUE(batch.rows.empty());
}

}  // namespace
}  // namespace celldrop
