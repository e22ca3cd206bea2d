#include "app/models.h"

namespace celldrop {

ThresholdRange threshold_range(const std::string& parameter) {
  if (parameter == "cellprob_thresh") return {-20.0, 20.0, -6.0, 6.0, false};  // a logit
  if (parameter == "min_area") return {0.0, 1e9, 0.0, 1000.0, true};
  return {0.0, 1.0, 0.0, 1.0, false};  // probabilities, overlaps, the flow error
}

bool background_mismatch(const ModelChoice& model, Background background) {
  const Background trained = modality_background(model.modality);
  return trained != Background::Unknown && background != Background::Unknown && trained != background;
}

int model_for_background(const std::vector<ModelChoice>& models, int current, Background background,
                         const std::string& preferred) {
  if (current < 0 || current >= int(models.size()) || !background_mismatch(models[size_t(current)], background))
    return -1;
  int found = -1;
  for (size_t i = 0; i < models.size(); i++) {
    if (modality_background(models[i].modality) != background) continue;
    if (models[i].name == preferred) return int(i);
    if (found < 0) found = int(i);
  }
  return found;
}

}  // namespace celldrop
