// The page's model list: the values each threshold takes, and which model it suggests for an image
// that the chosen model was not trained on.
#include "app/models.h"

#include <gtest/gtest.h>

namespace celldrop {
namespace {

ModelChoice model(const char* name, const char* modality) {
  ModelChoice m;
  m.name = name;
  m.modality = modality;
  return m;
}

TEST(Models, ThresholdRanges) {
  const ThresholdRange logit = threshold_range("cellprob_thresh");
  EXPECT_EQ(logit.lo, -20.0);
  EXPECT_EQ(logit.hi, 20.0);
  EXPECT_FALSE(logit.area);
  const ThresholdRange area = threshold_range("min_area");
  EXPECT_TRUE(area.area);
  EXPECT_EQ(area.lo, 0.0);
  for (const char* p : {"prob_thresh", "nms_thresh", "flow_thresh"}) {
    const ThresholdRange r = threshold_range(p);
    EXPECT_EQ(r.lo, 0.0) << p;
    EXPECT_EQ(r.hi, 1.0) << p;
  }
}

TEST(Models, AStainedSlideUnderAFluorescenceModelGetsTheSlideModel) {
  const std::vector<ModelChoice> models = {model("nuclei-flow", "fluorescence"), model("nuclei-he-star", "histology"),
                                           model("nuclei-star", "fluorescence"), model("mine", "")};
  // Chosen: nuclei-flow (0). A bright background: the H&E model.
  EXPECT_EQ(model_for_background(models, 0, Background::Bright, "nuclei-star"), 1);
  // The H&E model on fluorescence: the page's default, though another fluorescence model comes first.
  EXPECT_EQ(model_for_background(models, 1, Background::Dark, "nuclei-star"), 2);
  EXPECT_EQ(model_for_background(models, 1, Background::Dark, "not listed"), 0);
  // Nothing to suggest: the model fits, the image's kind is unknown, the model's is, or none fits.
  EXPECT_EQ(model_for_background(models, 0, Background::Dark, "nuclei-star"), -1);
  EXPECT_EQ(model_for_background(models, 0, Background::Unknown, "nuclei-star"), -1);
  EXPECT_EQ(model_for_background(models, 3, Background::Bright, "nuclei-star"), -1);
  EXPECT_EQ(model_for_background({models[0], models[2]}, 0, Background::Bright, "nuclei-star"), -1);
  EXPECT_EQ(model_for_background(models, -1, Background::Bright, "nuclei-star"), -1);
  EXPECT_EQ(model_for_background(models, 9, Background::Bright, "nuclei-star"), -1);
}

// A mismatch is what the page offers to invert, with or without a model of the image's kind listed.
TEST(Models, BackgroundMismatchNeedsBothKindsKnownAndDifferent) {
  EXPECT_TRUE(background_mismatch(model("nuclei-flow", "fluorescence"), Background::Bright));
  EXPECT_TRUE(background_mismatch(model("nuclei-he-star", "histology"), Background::Dark));
  EXPECT_TRUE(background_mismatch(model("bf", "brightfield"), Background::Dark));
  EXPECT_FALSE(background_mismatch(model("nuclei-flow", "fluorescence"), Background::Dark));
  EXPECT_FALSE(background_mismatch(model("nuclei-flow", "fluorescence"), Background::Unknown));
  EXPECT_FALSE(background_mismatch(model("mine", ""), Background::Bright));
}

}  // namespace
}  // namespace celldrop
