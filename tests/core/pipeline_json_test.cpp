#include "core/pipeline_json.h"

#include <gtest/gtest.h>

#include "core/json.h"

using namespace celldrop;

namespace {

bool parse(const std::string& text, PipelineParams* p, std::string* error) {
  return parse_pipeline_params(text.data(), text.size(), p, error);
}

}  // namespace

TEST(PipelineJson, ParsesEveryKey) {
  PipelineParams p;
  std::string error;
  ASSERT_TRUE(parse(R"({"diameter": 31.5, "channel": 2, "merge": false, "tile": 256, "overlap": 32,
      "percentile_low": 2, "percentile_high": 99.5, "prob_thresh": 0.6, "nms_thresh": 0.3,
      "cellprob_thresh": -1, "flow_thresh": 0.2, "min_area": 12.5,
      "exclude_border": true, "invert": true})", &p, &error)) << error;
  EXPECT_EQ(p.diameter, 31.5);
  EXPECT_EQ(p.channels.channels, std::vector<int>{2});
  EXPECT_EQ(p.tile_size, 256);
  EXPECT_EQ(p.overlap, 32);
  EXPECT_EQ(*p.percentile_low, 2.0);
  EXPECT_EQ(*p.percentile_high, 99.5);
  EXPECT_EQ(*p.prob_threshold, 0.6);
  EXPECT_EQ(*p.nms_threshold, 0.3);
  EXPECT_EQ(*p.cellprob_threshold, -1.0);
  EXPECT_EQ(*p.flow_threshold, 0.2);
  EXPECT_EQ(*p.min_area, 12.5);
  EXPECT_TRUE(p.exclude_border);
  EXPECT_TRUE(p.invert);

  PipelineParams d;  // an empty object keeps every default, null channel = every channel
  ASSERT_TRUE(parse(R"({"channel": null})", &d, &error)) << error;
  EXPECT_EQ(d.diameter, 0.0);
  EXPECT_TRUE(d.channels.channels.empty());
  EXPECT_FALSE(d.prob_threshold.has_value());
  EXPECT_FALSE(d.exclude_border);
  EXPECT_FALSE(d.invert);
  ASSERT_TRUE(parse(R"({"channels": [0, 2], "merge": true})", &d, &error)) << error;
  EXPECT_EQ(d.channels.channels, (std::vector<int>{0, 2}));
  EXPECT_TRUE(d.channels.merge);
  EXPECT_EQ(d.channels.stain, Stain::None);
  ASSERT_TRUE(parse(R"({"stain": "Hematoxylin"})", &d, &error)) << error;
  EXPECT_EQ(d.channels.stain, Stain::Hematoxylin);
  EXPECT_FALSE(d.channels.estimate_stains);
  ASSERT_TRUE(parse(R"({"stain": "dab", "estimate_stains": true})", &d, &error)) << error;
  EXPECT_TRUE(d.channels.estimate_stains);
  ASSERT_TRUE(parse(R"({"stain": null})", &d, &error)) << error;
  EXPECT_EQ(d.channels.stain, Stain::None);
}

// Each card threshold names the run parameter that overrides it, one the parser reads.
TEST(PipelineJson, ThresholdParameterIsAParameter) {
  EXPECT_EQ(threshold_parameter("prob"), "prob_thresh");
  EXPECT_EQ(threshold_parameter("cellprob"), "cellprob_thresh");
  EXPECT_EQ(threshold_parameter("min_area"), "min_area");
  for (const char* key : {"prob", "nms", "cellprob", "flow", "min_area"}) {
    PipelineParams p;
    std::string error;
    EXPECT_TRUE(parse("{\"" + threshold_parameter(key) + "\": 0.5}", &p, &error)) << key << ": " << error;
  }
}

TEST(PipelineJson, RefusesWithTheKeyNamed) {
  PipelineParams p;
  std::string error;
  const std::pair<const char*, const char*> cases[] = {
      {R"({"tile": 12.5})", "tile must be a whole number"},
      {R"({"prob_thresh": 1.5})", "prob_thresh must be a probability"},
      {R"({"min_area": -1})", "min_area must be an area in image px"},
      {R"({"diameter": -3})", "diameter must be 0 (automatic)"},
      {R"({"exclude_border": 1})", "exclude_border must be true or false"},
      {R"({"invert": "yes"})", "invert must be true or false"},
      {R"({"channel": "red"})", "channel must be a channel number"},
      {R"({"channel": 0, "channels": [1]})", "not both"},
      {R"({"stain": "eosin"})", "stain must be \"hematoxylin\" or \"dab\""},
      {R"({"estimate_stains": "yes"})", "estimate_stains must be true or false"},
      {R"({"prob_tresh": 0.5})", "unknown key \"prob_tresh\""},
      {R"([1, 2])", "expected a JSON object"},
      {R"({"tile": )", "parameters: line 1"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_FALSE(parse(text, &p, &error)) << text;
    EXPECT_NE(error.find(message), std::string::npos) << text << " -> " << error;
    EXPECT_EQ(error.rfind("parameters: ", 0), 0u) << error;
  }
  EXPECT_EQ(p.tile_size, 512);  // a refused object changes nothing
}

TEST(PipelineJson, RecordParametersAndSummary) {
  ModelCard card;
  card.kind = ModelKind::Star;
  card.diameter = 20;
  PipelineParams params;
  params.tile_size = 256;
  PipelineResult r;
  r.count = 7;
  r.diameter = 33.25;
  r.diameter_estimated = true;
  r.scale = 20 / 33.25;
  r.passes = 2;
  r.prob_threshold = 0.55;
  r.nms_threshold = 0.4;
  r.levels = {{100.0, 900.0}};
  r.exclude_border = true;
  r.border_objects = 3;
  r.invert = true;
  r.timings.total = 1.5;
  auto list = pipeline_record_parameters(card, params, r);
  auto find = [&](const std::string& k) -> const RecordValue* {
    for (const auto& [name, v] : list)
      if (name == k) return &v;
    return nullptr;
  };
  ASSERT_NE(find("prob_thresh"), nullptr);
  EXPECT_EQ(find("prob_thresh")->number, 0.55);
  EXPECT_EQ(find("cellprob_thresh"), nullptr);  // another kind's threshold is not listed
  EXPECT_EQ(find("diameter_requested")->text, "auto");
  EXPECT_EQ(find("diameter")->number, 33.25);
  EXPECT_EQ(find("tile_size")->number, 256);
  EXPECT_EQ(find("level_high_0")->number, 900.0);
  EXPECT_EQ(find("channels")->text, "all");
  EXPECT_TRUE(find("exclude_border")->flag);
  EXPECT_TRUE(find("invert")->flag);
  EXPECT_EQ(find("stain"), nullptr);  // no stain, no colours
  EXPECT_EQ(find("stain_vector_dab"), nullptr);

  JsonValue v;
  std::string error;
  const std::string summary = pipeline_summary_json(card, r);
  ASSERT_TRUE(json_parse(summary, &v, &error)) << error << summary;
  EXPECT_EQ(v.find("objects")->number, 7);
  EXPECT_EQ(v.find("diameter")->number, 33.25);
  EXPECT_TRUE(v.find("diameter_estimated")->boolean);
  EXPECT_EQ(v.find("thresholds")->find("prob")->number, 0.55);
  EXPECT_TRUE(v.find("exclude_border")->boolean);
  EXPECT_EQ(v.find("border_objects")->number, 3);
  EXPECT_TRUE(v.find("invert")->boolean);
  EXPECT_EQ(v.find("timings_s")->find("total")->number, 1.5);
  EXPECT_EQ(v.find("stain_vectors"), nullptr);

  // Read through a stain, the record and the summary give the colours it was unmixed with.
  r.channels.stain = Stain::Hematoxylin;
  r.channels.estimate_stains = true;
  r.channels.stain_vectors.dab[0] = 0.4, r.channels.stain_vectors.dab[1] = 0.6, r.channels.stain_vectors.dab[2] = 0.69;
  list = pipeline_record_parameters(card, params, r);
  EXPECT_EQ(find("stain")->text, "hematoxylin");
  EXPECT_TRUE(find("estimate_stains")->flag);
  EXPECT_EQ(find("stain_vector_hematoxylin")->text, "0.650 0.704 0.286");
  EXPECT_EQ(find("stain_vector_dab")->text, "0.401 0.601 0.691");  // scaled to length 1
  ASSERT_TRUE(json_parse(pipeline_summary_json(card, r), &v, &error)) << error;
  const JsonValue* vectors = v.find("stain_vectors");
  ASSERT_NE(vectors, nullptr);
  EXPECT_TRUE(vectors->find("estimated")->boolean);
  EXPECT_EQ(vectors->find("dab")->array.at(2).number, 0.69);
  EXPECT_EQ(vectors->find("hematoxylin")->array.at(0).number, 0.650);
  // Read back as the page reads it.
  StainVectors back;
  bool estimated = false;
  ASSERT_TRUE(summary_stain_vectors(v, &back, &estimated));
  EXPECT_TRUE(estimated);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(back.dab[k], r.channels.stain_vectors.dab[k]);
  ASSERT_TRUE(json_parse(summary, &v, &error));  // the summary without a stain
  EXPECT_FALSE(summary_stain_vectors(v, &back, &estimated));
}
