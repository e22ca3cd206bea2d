// Run record: every field present, strings escaped, parameter order kept.
#include <gtest/gtest.h>

#include "core/export.h"
#include "core/sha256.h"

namespace celldrop {
namespace {

TEST(ExportRecord, HoldsEverythingToReproduceARun) {
  RunRecord r;
  r.started_at = "2026-01-02T03:04:05Z";
  const std::string image = "pixels";
  r.image_name = "dir/cells \"1\".tif";
  r.image_sha256 = sha256_hex(image.data(), image.size());
  r.image_width = 512;
  r.image_height = 256;
  r.image_channels = 1;
  r.model_name = "nuclei-flow";
  r.model_sha256 = std::string(64, 'a');
  r.parameters = {{"diameter", RecordValue::of(17.5)}, {"auto_diameter", RecordValue::of(true)},
                  {"channel", RecordValue::of("gray")}, {"tile", RecordValue::of(512)},
                  {"pixel_size_um", RecordValue()}};
  r.timings_s = {{"decode", 0.01}, {"inference", 0.25}};
  r.objects = 42;
  const std::string json = write_run_record(r);
  EXPECT_EQ(json,
            "{\"app\":\"CellDrop\",\"app_version\":\"" CELLDROP_VERSION "\",\"started_at\":\"2026-01-02T03:04:05Z\","
            "\"image\":{\"name\":\"dir/cells \\\"1\\\".tif\",\"sha256\":\"" + r.image_sha256 + "\","
            "\"width\":512,\"height\":256,\"channels\":1},"
            "\"model\":{\"name\":\"nuclei-flow\",\"sha256\":\"" + r.model_sha256 + "\"},"
            "\"parameters\":{\"diameter\":17.5,\"auto_diameter\":true,\"channel\":\"gray\",\"tile\":512,"
            "\"pixel_size_um\":null},"
            "\"timings_s\":{\"decode\":0.01,\"inference\":0.25},\"objects\":42}\n");
  // The user's edits by hand are listed in order after the count that includes them.
  r.objects = 40;
  r.edits_by_hand = {{7, {}}, {43, {{10, 20}, {14, 20}, {12, 23.5}}}, {3, {}}};
  const std::string edited = write_run_record(r);
  EXPECT_NE(edited.find("\"objects\":40,\"edits_by_hand\":[{\"removed\":7},"
                        "{\"drawn\":43,\"outline\":[10,20,14,20,12,23.5]},{\"removed\":3}]}"),
            std::string::npos)
      << edited;
  // A calibration is named with where it came from.
  r.pixel_size_um = 0.325;
  EXPECT_NE(write_run_record(r).find("\"channels\":1,\"pixel_size_um\":0.325,\"pixel_size_from\":\"file\"}"),
            std::string::npos);
  r.pixel_size_given = true;
  EXPECT_NE(write_run_record(r).find("\"pixel_size_um\":0.325,\"pixel_size_from\":\"user\"}"), std::string::npos);
  // Marker-positive objects: the rule, where its threshold came from, and the count.
  r.edits_by_hand.clear();
  r.positive_channel = 1;
  r.positive_threshold = 56.5;
  r.positive_objects = 12;
  EXPECT_NE(write_run_record(r).find("\"objects\":40,\"positive\":{\"channel\":1,\"threshold\":56.5,"
                                     "\"threshold_from\":\"otsu\",\"objects\":12}}"),
            std::string::npos) << write_run_record(r);
  r.positive_threshold_given = true;
  EXPECT_NE(write_run_record(r).find("\"threshold_from\":\"user\""), std::string::npos);
  // A stain as the marker (an immunohistochemistry slide) is named in the channel's place.
  r.positive_stain = "dab";
  r.positive_threshold = 0.25;
  EXPECT_NE(write_run_record(r).find("\"positive\":{\"stain\":\"dab\",\"threshold\":0.25,"), std::string::npos)
      << write_run_record(r);
  EXPECT_EQ(write_run_record(r).find("grades"), std::string::npos);
  // Graded: the three thresholds, the objects of each grade and the H-score.
  r.grade_thresholds = {0.25, 0.4, 0.6};
  r.grade_objects[0] = 28;
  r.grade_objects[1] = 6;
  r.grade_objects[2] = 4;
  r.grade_objects[3] = 2;
  r.h_score = 50.0;
  EXPECT_NE(write_run_record(r).find("\"objects\":12,\"grades\":{\"thresholds\":[0.25,0.4,0.6],"
                                     "\"objects\":[28,6,4,2],\"h_score\":50}}"),
            std::string::npos) << write_run_record(r);
}

}  // namespace
}  // namespace celldrop
