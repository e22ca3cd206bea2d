// Writes every CellDrop export of one synthetic label image into a folder, for the real-reader tests
// in tests/export (tifffile, shapely, Python's csv, ImageJ). Usage: export_fixture OUT_DIR
// Files: labels.tif (16-bit), labels32.tif (ids above 65535), labels.u32 (the expected labels, raw
// little-endian uint32), objects.csv, objects.geojson, rois.zip, record.json, noise.geojson (outlines
// of random pixel noise), fixture.json (sizes and counts the tests compare against).
#include <cstdio>
#include <string>
#include <vector>

#include "core/contours.h"
#include "core/export.h"
#include "core/labels.h"
#include "core/sha256.h"
#include "core/synth.h"

using namespace celldrop;

static bool save(const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

static int fail(const std::string& what) {
  std::fprintf(stderr, "export_fixture: %s\n", what.c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: export_fixture OUT_DIR");
  const std::string dir = argv[1];
  SynthParams sp;
  sp.seed = 11;
  sp.width = 320;
  sp.height = 256;
  SynthResult s = synthesize_nuclei(sp);
  if (!s.error.empty()) return fail(s.error);
  Labels& l = s.labels;
  // Shapes the synthetic nuclei rarely have: a ring (a hole), an object in two pieces, a pixel-wide
  // diagonal (pieces that touch at corners), a single pixel. Painted over a cleared corner.
  for (int y = 200; y < 256; ++y)
    for (int x = 0; x < 80; ++x) l.at(x, y) = 0;
  const uint32_t base = uint32_t(s.count);
  for (int y = 204; y < 220; ++y)
    for (int x = 4; x < 20; ++x)
      if (!(x >= 9 && x < 14 && y >= 209 && y < 214)) l.at(x, y) = base + 1;
  for (int y = 204; y < 210; ++y)
    for (int x = 26; x < 32; ++x) l.at(x, y) = base + 2;
  for (int y = 214; y < 218; ++y)
    for (int x = 28; x < 31; ++x) l.at(x, y) = base + 2;
  for (int k = 0; k < 10; ++k) l.at(40 + k, 204 + k) = base + 3;
  l.at(60, 230) = base + 4;
  const int objects = relabel_sequential(l);

  std::string error;
  std::vector<uint8_t> bytes;
  if (!write_labels_tiff(l, LabelTiffOptions(), &bytes, &error)) return fail(error);
  if (!save(dir + "/labels.tif", bytes.data(), bytes.size())) return fail("cannot write labels.tif");
  Labels big = l;
  for (uint32_t& v : big.data)
    if (v) v += 100000;
  if (!write_labels_tiff(big, LabelTiffOptions(), &bytes, &error)) return fail(error);
  if (!save(dir + "/labels32.tif", bytes.data(), bytes.size())) return fail("cannot write labels32.tif");
  if (!save(dir + "/labels.u32", l.data.data(), l.data.size() * 4)) return fail("cannot write labels.u32");

  const std::vector<Contour> contours = trace_contours(l);
  // A small table for the CSV and GeoJSON: pixel counts per object, and the traced polygon's area.
  MeasurementTable table;
  table.columns = {"label", "area_px", "polygon_area_px", "pieces"};
  std::vector<double> area(size_t(objects) + 1, 0.0);
  for (uint32_t v : l.data) area[v] += 1;
  for (const Contour& c : contours)
    table.rows.push_back({double(c.label), area[c.label], double(c.piece_area), double(c.pieces)});
  std::string text;
  if (!write_csv(table, &text, &error)) return fail(error);
  if (!save(dir + "/objects.csv", text.data(), text.size())) return fail("cannot write objects.csv");
  GeoJsonOptions go;
  go.classification_name = "Nucleus";
  go.measurements = &table;
  if (!write_geojson(contours, go, &text, &error)) return fail(error);
  if (!save(dir + "/objects.geojson", text.data(), text.size())) return fail("cannot write objects.geojson");
  if (!write_imagej_roi_zip(contours, &bytes, &error)) return fail(error);
  if (!save(dir + "/rois.zip", bytes.data(), bytes.size())) return fail("cannot write rois.zip");

  RunRecord r;
  r.image_name = "synthetic seed 11";
  r.image_sha256 = sha256_hex(s.image.data.data(), s.image.data.size());
  r.image_width = s.image.width;
  r.image_height = s.image.height;
  r.image_channels = s.image.channels;
  r.model_name = "none (ground truth)";
  r.model_sha256 = sha256_hex("", 0);
  r.parameters = {{"seed", RecordValue::of(11)}, {"note", RecordValue::of("exports of \"ground truth\"\n")}};
  r.timings_s = {{"synthesize", 0.0}};
  r.objects = objects;
  text = write_run_record(r);
  if (!save(dir + "/record.json", text.data(), text.size())) return fail("cannot write record.json");

  // Pathological shapes for the tracer: each pixel of a 48x40 patch is at random label 1 (62%, just
  // above the 4-connected percolation threshold: one sprawling piece), 2, 3 or 4 (10% each) or
  // background (8%), so objects come in many pieces, with holes and corner-only contacts.
  Labels noise;
  noise.width = 48;
  noise.height = 40;
  noise.data.resize(size_t(noise.width) * size_t(noise.height));
  uint32_t state = 2024;
  for (uint32_t& v : noise.data) {
    state = state * 1664525u + 1013904223u;
    const uint32_t r = (state >> 16) % 50;
    v = r < 31 ? 1 : r < 36 ? 2 : r < 41 ? 3 : r < 46 ? 4 : 0;
  }
  if (!write_geojson(trace_contours(noise), GeoJsonOptions(), &text, &error)) return fail(error);
  if (!save(dir + "/noise.geojson", text.data(), text.size())) return fail("cannot write noise.geojson");

  char info[256];
  std::snprintf(info, sizeof info,
                "{\"width\":%d,\"height\":%d,\"objects\":%d,\"multi_piece_label\":%u,\"ring_label\":%u}\n",
                l.width, l.height, objects, l.at(26, 204), l.at(4, 204));
  text = info;
  if (!save(dir + "/fixture.json", text.data(), text.size())) return fail("cannot write fixture.json");
  return 0;
}
