#include "core/model_card.h"

#include <gtest/gtest.h>

#include <string>

#include "core/sha256.h"

using namespace celldrop;

namespace {

// As models/train/export.py writes them (indent and key order included).
const char* kStarCard = R"({
  "name": "nuclei-star",
  "kind": "star",
  "format": 1,
  "input": {"name": "image", "channels": 1, "layout": "NCHW", "dtype": "float32", "divisor": 8},
  "normalization": {"percentile_low": 1.0, "percentile_high": 99.8},
  "diameter": 20.0,
  "outputs": [{"name": "prob", "channels": 1, "grid": 2}, {"name": "dist", "channels": 32, "grid": 2}],
  "thresholds": {"prob": 0.5, "nms": 0.4},
  "training": {"data": "DSB2018", "steps": 100, "seed": 1},
  "metrics": {"val": {"ap50": 0.8}},
  "onnx": {"file": "nuclei-star.onnx", "sha256": "SHA", "bytes": 11, "opset": 13, "weights": "float32"},
  "star": {"n_rays": 32, "grid": 2}
}
)";

const char* kFlowCard = R"({
  "name": "nuclei-flow", "kind": "flow", "format": 1,
  "input": {"name": "image", "channels": 3, "layout": "NCHW", "dtype": "float32", "divisor": 16},
  "normalization": {"percentile_low": 0.5, "percentile_high": 99.5},
  "diameter": 30,
  "outputs": [{"name": "flow", "channels": 2, "grid": 1}, {"name": "cellprob", "channels": 1, "grid": 1}],
  "thresholds": {"cellprob": -0.5, "flow": 0.6},
  "flow": {"flow_scale": 5.0, "reference_niter": 150},
  "onnx": {"file": "nuclei-flow.onnx", "sha256": "SHA", "bytes": 11, "opset": 13, "weights": "float32"}
})";

const std::string kOnnxBytes = "not-a-model";  // 11 bytes; its digest goes into the cards

std::string card_text(const char* base) {
  std::string s = base;
  s.replace(s.find("SHA"), 3, sha256_hex(kOnnxBytes.data(), kOnnxBytes.size()));
  return s;
}

// The card with the first occurrence of `from` replaced by `to`.
std::string edited(const char* base, const std::string& from, const std::string& to) {
  std::string s = card_text(base);
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string card_error(const std::string& text) {
  ModelCard card;
  std::string error;
  EXPECT_FALSE(parse_model_card(text, &card, &error)) << "accepted:\n" << text;
  return error;
}

ModelCard parse_ok(const std::string& text) {
  ModelCard card;
  std::string error;
  EXPECT_TRUE(parse_model_card(text, &card, &error)) << error;
  return card;
}

}  // namespace

TEST(ModelCard, ReadsStarCard) {
  ModelCard c = parse_ok(card_text(kStarCard));
  EXPECT_EQ(c.name, "nuclei-star");
  EXPECT_EQ(c.kind, ModelKind::Star);
  EXPECT_EQ(c.input.name, "image");
  EXPECT_EQ(c.input.channels, 1);
  EXPECT_EQ(c.input.divisor, 8);
  EXPECT_EQ(c.percentile_low, 1.0);
  EXPECT_EQ(c.percentile_high, 99.8);
  EXPECT_EQ(c.diameter, 20.0);
  ASSERT_EQ(c.outputs.size(), 2u);
  EXPECT_EQ(c.output_index("prob"), 0);
  EXPECT_EQ(c.output_index("dist"), 1);
  EXPECT_EQ(c.output_index("flow"), -1);
  EXPECT_EQ(c.outputs[1].channels, 32);
  EXPECT_EQ(c.outputs[1].grid, 2);
  EXPECT_EQ(c.star.n_rays, 32);
  EXPECT_EQ(c.star.grid, 2);
  EXPECT_EQ(c.star.prob_threshold, 0.5);
  EXPECT_EQ(c.star.nms_threshold, 0.4);
  EXPECT_EQ(c.training.find("steps")->number, 100.0);
  EXPECT_EQ(c.metrics.find("val")->find("ap50")->number, 0.8);
  EXPECT_EQ(c.onnx.file, "nuclei-star.onnx");
  EXPECT_EQ(c.onnx.bytes, 11u);
  EXPECT_EQ(c.onnx.opset, 13);
  EXPECT_EQ(c.onnx.weights, "float32");
}

TEST(ModelCard, ReadsFlowCardWithOutputsInAnyOrder) {
  ModelCard c = parse_ok(card_text(kFlowCard));
  EXPECT_EQ(c.kind, ModelKind::Flow);
  EXPECT_EQ(c.input.channels, 3);
  EXPECT_EQ(c.output_index("flow"), 0);
  EXPECT_EQ(c.output_index("cellprob"), 1);
  EXPECT_EQ(c.flow.flow_scale, 5.0);
  EXPECT_EQ(c.flow.reference_niter, 150);
  EXPECT_EQ(c.flow.cellprob_threshold, -0.5);
  EXPECT_EQ(c.flow.flow_threshold, 0.6);
  EXPECT_EQ(c.min_area, 0.0);  // optional: every object kept
  EXPECT_TRUE(c.training.is_null());
  EXPECT_EQ(parse_ok(edited(kFlowCard, "\"flow\": 0.6}", "\"flow\": 0.6, \"min_area\": 25}")).min_area, 25.0);
}

TEST(ModelCard, UpperCaseDigestIsLowered) {
  std::string digest = sha256_hex(kOnnxBytes.data(), kOnnxBytes.size());
  std::string upper = digest;
  for (char& ch : upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  ModelCard c = parse_ok(edited(kStarCard, digest, upper));
  EXPECT_EQ(c.onnx.sha256, digest);
}

TEST(ModelCard, ErrorsNameTheField) {
  struct Case {
    const char* base;
    std::string from, to, error;
  } cases[] = {
      {kStarCard, "\"channels\": 32", "\"channels\": 16",
       "model card: outputs[1].channels is 16 but star.n_rays is 32"},
      {kStarCard, "\"channels\": 1, \"grid\": 2", "\"channels\": 1, \"grid\": 1",
       "model card: outputs[0].grid is 1 but star.grid is 2"},
      {kStarCard, "\"name\": \"prob\"", "\"name\": \"probability\"",
       "model card: outputs[0].name is \"probability\"; a star model's outputs are named \"prob\" and \"dist\""},
      {kStarCard, "\"name\": \"dist\"", "\"name\": \"prob\"",
       "model card: outputs[1].name \"prob\" is listed twice; a star model's outputs are named \"prob\" and "
       "\"dist\""},
      {kStarCard, "\"percentile_high\"", "\"percentile_hi\"",
       "model card: unknown key \"percentile_hi\" in normalization (expected percentile_low, "
       "percentile_high)"},
      {kStarCard, "\"percentile_low\": 1.0", "\"percentile_low\": 99.9",
       "model card: normalization.percentile_low (99.9) must be below normalization.percentile_high (99.8)"},
      {kStarCard, "\"format\": 1", "\"format\": 2",
       "model card: format is 2, but this CellDrop reads format 1 cards"},
      {kStarCard, "\"kind\": \"star\"", "\"kind\": \"stardist\"",
       "model card: kind is \"stardist\"; expected \"star\" or \"flow\""},
      {kStarCard, "\"layout\": \"NCHW\"", "\"layout\": \"NHWC\"",
       "model card: input.layout is \"NHWC\"; expected \"NCHW\""},
      {kStarCard, "\"channels\": 1, \"layout\"", "\"channels\": 1.5, \"layout\"",
       "model card: input.channels is 1.5; expected an integer from 1 to 4"},
      {kStarCard, "\"divisor\": 8", "\"divisor\": \"8\"",
       "model card: input.divisor is a string; expected an integer from 1 to 1024"},
      {kStarCard, "\"diameter\": 20.0", "\"diameter\": 0",
       "model card: diameter is 0; expected the training object diameter in px, from 1 to 10000"},
      {kStarCard, "\"diameter\": 20.0,", "",
       "model card: diameter is missing"},
      {kStarCard, "\"prob\": 0.5", "\"prob\": 1.5",
       "model card: thresholds.prob is 1.5; expected a probability from 0 to 1"},
      {kStarCard, "\"divisor\": 8", "\"divisor\": 9",
       "model card: star.grid (2) must divide input.divisor (9), so that every tile maps onto whole grid "
       "cells"},
      {kStarCard, "\"file\": \"nuclei-star.onnx\"", "\"file\": \"../nuclei-star.onnx\"",
       "model card: onnx.file \"../nuclei-star.onnx\" must be a plain file name: the ONNX file sits next to "
       "its card"},
      {kStarCard, "\"opset\": 13", "\"opset\": null",
       "model card: onnx.opset is null; expected an integer from 1 to 1000"},
      {kStarCard, "\"weights\": \"float32\"", "\"weights\": \"double\"",
       "model card: onnx.weights is \"double\"; expected \"float32\" or \"float16\" or \"int8\" or \"uint8\""},
      {kStarCard, "\"training\": {", "\"training\": [{",
       "model card: not valid JSON: line 11, column 12: unexpected ':'; expected ',' or ']'"},
      {kStarCard, "\"metrics\": {\"val\": {\"ap50\": 0.8}}", "\"metrics\": 3",
       "model card: metrics is a number; expected an object"},
      {kStarCard, "\"star\": {\"n_rays\": 32, \"grid\": 2}", "\"flow\": {\"flow_scale\": 5}",
       "model card: kind is \"star\" but the card has a \"flow\" section"},
      {kFlowCard, "\"channels\": 2, \"grid\": 1", "\"channels\": 2, \"grid\": 2",
       "model card: outputs[0].grid is 2; flow models predict at full resolution (grid 1)"},
      {kFlowCard, "\"name\": \"flow\", \"channels\": 2", "\"name\": \"flow\", \"channels\": 3",
       "model card: outputs[0].channels is 3; \"flow\" has 2 channels (dy, dx)"},
      {kFlowCard, "\"thresholds\": {\"cellprob\": -0.5, \"flow\": 0.6}", "\"thresholds\": {\"prob\": 0.5}",
       "model card: unknown key \"prob\" in thresholds (expected cellprob, flow, min_area)"},
      {kFlowCard, "\"flow\": 0.6}", "\"flow\": 0.6, \"min_area\": -1}",
       "model card: thresholds.min_area is -1; expected an area in image px from 0 to 1000000000"},
      {kFlowCard, "\"flow_scale\": 5.0", "\"flow_scale\": -5.0",
       "model card: flow.flow_scale is -5; expected a positive number from 0.001 to 1000"},
      {kFlowCard, "\"sha256\": \"", "\"sha256\": \"0",
       "model card: onnx.sha256 must be 64 hex digits (the SHA-256 of the ONNX file)"},
  };
  for (const Case& c : cases) EXPECT_EQ(card_error(edited(c.base, c.from, c.to)), c.error) << c.from;
}

TEST(ModelCard, NotAnObject) {
  EXPECT_EQ(card_error("[1]"), "model card: the card is an array; expected an object");
  EXPECT_EQ(card_error("{\"format\": 1, \"kind\": \"star\", \"extra\": 1}"),
            "model card: unknown key \"extra\" at the top level (expected name, kind, format, input, "
            "normalization, diameter, outputs, thresholds, star, training, metrics, onnx)");
}

TEST(ModelCard, CheckModelBytes) {
  ModelCard c = parse_ok(card_text(kStarCard));
  std::string error;
  EXPECT_TRUE(check_model_bytes(c, kOnnxBytes.data(), kOnnxBytes.size(), &error)) << error;
  std::string other = "not-a-mode!";  // same size, other bytes
  EXPECT_FALSE(check_model_bytes(c, other.data(), other.size(), &error));
  EXPECT_NE(error.find("the ONNX file's SHA-256 is " + sha256_hex(other.data(), other.size())),
            std::string::npos) << error;
  EXPECT_NE(error.find("do not belong together"), std::string::npos);
  EXPECT_FALSE(check_model_bytes(c, other.data(), 5, &error));
  EXPECT_EQ(error, "the ONNX file is 5 bytes but its model card (onnx.bytes) says 11: the card and the "
                   "model file do not belong together");
}

TEST(ModelCard, ValidateModelIo) {
  ModelCard c = parse_ok(card_text(kStarCard));
  std::string error;
  EXPECT_TRUE(validate_model_io(c, {"image"}, {"prob", "dist"}, &error)) << error;
  EXPECT_TRUE(validate_model_io(c, {"image"}, {"dist", "prob", "features"}, &error)) << error;
  EXPECT_TRUE(validate_model_io(c, {"image"}, {"prob", "dist"}, &error, {1}, {1, 32})) << error;
  EXPECT_TRUE(validate_model_io(c, {"image"}, {"prob", "dist"}, &error, {-1}, {-1, -1})) << error;

  EXPECT_FALSE(validate_model_io(c, {"input"}, {"prob", "dist"}, &error));
  EXPECT_EQ(error, "the ONNX model's input is named \"input\" but its model card says \"image\" (input.name)");
  EXPECT_FALSE(validate_model_io(c, {"image", "mask"}, {"prob", "dist"}, &error));
  EXPECT_EQ(error, "the ONNX model has 2 inputs (\"image\", \"mask\"); CellDrop feeds exactly one, "
                   "\"image\" (the card's input.name)");
  EXPECT_FALSE(validate_model_io(c, {}, {"prob", "dist"}, &error));
  EXPECT_FALSE(validate_model_io(c, {"image"}, {"prob", "distances"}, &error));
  EXPECT_EQ(error, "the ONNX model has no output named \"dist\" (the card's outputs[1]); its outputs are "
                   "\"prob\", \"distances\"");
  EXPECT_FALSE(validate_model_io(c, {"image"}, {"prob", "dist"}, &error, {3}, {}));
  EXPECT_EQ(error, "the ONNX model's input \"image\" takes 3 channels but its model card says 1 "
                   "(input.channels)");
  EXPECT_FALSE(validate_model_io(c, {"image"}, {"dist", "prob"}, &error, {1}, {16, 1}));
  EXPECT_EQ(error, "the ONNX model's output \"dist\" has 16 channels but its model card says 32 "
                   "(outputs[1].channels)");
}
