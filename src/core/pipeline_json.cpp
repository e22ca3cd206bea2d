#include "core/pipeline_json.h"

#include <cmath>

#include "core/json.h"
#include "core/json_writer.h"

namespace celldrop {

namespace {

bool fail(std::string* error, const std::string& message) {
  if (error) *error = "parameters: " + message;
  return false;
}

bool whole_number(const JsonValue& v, int lo, int hi, int* out) {
  if (!v.is_number() || std::floor(v.number) != v.number || v.number < lo || v.number > hi) return false;
  *out = int(v.number);
  return true;
}

std::string describe(const JsonValue& v) {
  if (v.is_number()) return json_number(v.number);
  if (v.is_string()) return json_quote(v.string);
  return json_type_name(v.type);
}

}  // namespace

bool parse_pipeline_params(const char* json, size_t size, PipelineParams* params, std::string* error) {
  JsonValue root;
  std::string parse_error;
  if (!json_parse(json, size, &root, &parse_error)) return fail(error, parse_error);
  if (!root.is_object()) return fail(error, "expected a JSON object, not " + describe(root));
  PipelineParams p = *params;
  bool channel_given = false;
  for (const auto& member : root.object) {
    // Named references, not structured bindings: C++17 lambdas cannot capture those (clang refuses).
    const std::string& key = member.first;
    const JsonValue& v = member.second;
    auto number_in = [&](double lo, double hi, const char* what, double* out) {
      if (!v.is_number() || v.number < lo || v.number > hi)
        return fail(error, key + " must be " + what + ", not " + describe(v));
      *out = v.number;
      return true;
    };
    double x = 0.0;
    if (key == "diameter") {
      if (!number_in(0, 1e6, "0 (automatic) or an object diameter in px", &p.diameter)) return false;
    } else if (key == "channel") {
      if (v.is_null()) continue;
      int c = 0;
      if (!whole_number(v, 0, 255, &c))
        return fail(error, "channel must be a channel number from 0, or null for every channel, not " + describe(v));
      if (channel_given) return fail(error, "give channel or channels, not both");
      channel_given = true;
      p.channels.channels = {c};
    } else if (key == "channels") {
      if (!v.is_array() || v.array.empty())
        return fail(error, "channels must be a non-empty list of channel numbers, not " + describe(v));
      if (channel_given) return fail(error, "give channel or channels, not both");
      channel_given = true;
      p.channels.channels.clear();
      for (const JsonValue& e : v.array) {
        int c = 0;
        if (!whole_number(e, 0, 255, &c))
          return fail(error, "channels must hold channel numbers from 0, not " + describe(e));
        p.channels.channels.push_back(c);
      }
    } else if (key == "merge") {
      if (!v.is_bool()) return fail(error, "merge must be true or false, not " + describe(v));
      p.channels.merge = v.boolean;
    } else if (key == "stain") {
      p.channels.stain = Stain::None;
      if (v.is_null()) continue;
      if (!v.is_string() || !parse_stain(v.string, &p.channels.stain))
        return fail(error, "stain must be \"hematoxylin\" or \"dab\" (colour deconvolution), or null, not " + describe(v));
    } else if (key == "estimate_stains") {
      if (!v.is_bool()) return fail(error, "estimate_stains must be true or false, not " + describe(v));
      p.channels.estimate_stains = v.boolean;
    } else if (key == "tile") {
      if (!whole_number(v, 1, 1 << 16, &p.tile_size))
        return fail(error, "tile must be a whole number of px from 1 to 65536, not " + describe(v));
    } else if (key == "overlap") {
      if (!whole_number(v, 0, 1 << 15, &p.overlap))
        return fail(error, "overlap must be a whole number of px from 0 to 32768, not " + describe(v));
    } else if (key == "percentile_low") {
      if (!number_in(0, 100, "a percentage from 0 to 100", &x)) return false;
      p.percentile_low = x;
    } else if (key == "percentile_high") {
      if (!number_in(0, 100, "a percentage from 0 to 100", &x)) return false;
      p.percentile_high = x;
    } else if (key == "invert") {
      if (!v.is_bool()) return fail(error, "invert must be true or false, not " + describe(v));
      p.invert = v.boolean;
    } else if (key == "prob_thresh") {
      if (!number_in(0, 1, "a probability from 0 to 1", &x)) return false;
      p.prob_threshold = x;
    } else if (key == "nms_thresh") {
      if (!number_in(0, 1, "an overlap (IoU) from 0 to 1", &x)) return false;
      p.nms_threshold = x;
    } else if (key == "cellprob_thresh") {
      if (!number_in(-1e3, 1e3, "a logit (0 = probability 0.5)", &x)) return false;
      p.cellprob_threshold = x;
    } else if (key == "flow_thresh") {
      if (!number_in(0, 1e3, "a flow error >= 0 (0 turns the check off)", &x)) return false;
      p.flow_threshold = x;
    } else if (key == "min_area") {
      if (!number_in(0, 1e9, "an area in image px, 0 or more (0 keeps every object)", &x)) return false;
      p.min_area = x;
    } else if (key == "exclude_border") {
      if (!v.is_bool()) return fail(error, "exclude_border must be true or false, not " + describe(v));
      p.exclude_border = v.boolean;
    } else {
      return fail(error, "unknown key \"" + key +
                             "\" (known: diameter, channel, channels, merge, stain, estimate_stains, tile, overlap, percentile_low, "
                             "percentile_high, invert, prob_thresh, nms_thresh, cellprob_thresh, flow_thresh, "
                             "min_area, exclude_border)");
    }
  }
  *params = std::move(p);
  return true;
}

std::string threshold_parameter(const std::string& card_key) {
  return card_key == "min_area" ? card_key : card_key + "_thresh";
}

std::vector<std::pair<std::string, RecordValue>> pipeline_record_parameters(const ModelCard& card,
                                                                            const PipelineParams& params,
                                                                            const PipelineResult& r) {
  std::vector<std::pair<std::string, RecordValue>> out;
  auto add = [&](const char* name, RecordValue v) { out.emplace_back(name, std::move(v)); };
  add("kind", RecordValue::of(model_kind_name(card.kind)));
  if (card.kind == ModelKind::Star) {
    add("prob_thresh", RecordValue::of(r.prob_threshold));
    add("nms_thresh", RecordValue::of(r.nms_threshold));
  } else {
    add("cellprob_thresh", RecordValue::of(r.cellprob_threshold));
    add("flow_thresh", RecordValue::of(r.flow_threshold));
    add("flow_niter", RecordValue::of(r.niter));
  }
  add("min_area", RecordValue::of(r.min_area));
  add("exclude_border", RecordValue::of(r.exclude_border));
  add("diameter_requested", params.diameter > 0 ? RecordValue::of(params.diameter) : RecordValue::of("auto"));
  add("diameter", RecordValue::of(r.diameter));
  add("diameter_estimated", RecordValue::of(r.diameter_estimated));
  add("model_diameter", RecordValue::of(card.diameter));
  add("scale", RecordValue::of(r.scale));
  add("passes", RecordValue::of(r.passes));
  add("tiles", RecordValue::of(r.tiles));
  add("tile_size", RecordValue::of(params.tile_size));
  add("tile_overlap", RecordValue::of(params.overlap));
  add("network_width", RecordValue::of(r.network_width));
  add("network_height", RecordValue::of(r.network_height));
  add("percentile_low", RecordValue::of(r.percentile_low));
  add("percentile_high", RecordValue::of(r.percentile_high));
  add("invert", RecordValue::of(r.invert));
  for (size_t c = 0; c < r.levels.size(); ++c) {
    const std::string i = std::to_string(c);
    out.emplace_back("level_low_" + i, RecordValue::of(r.levels[c].low));
    out.emplace_back("level_high_" + i, RecordValue::of(r.levels[c].high));
  }
  std::string channels;
  for (int c : r.channels.channels) channels += (channels.empty() ? "" : ",") + std::to_string(c);
  add("channels", RecordValue::of(channels.empty() ? std::string("all") : channels));
  add("merge_channels", RecordValue::of(r.channels.merge));
  if (r.channels.stain != Stain::None) {
    add("stain", RecordValue::of(std::string(stain_name(r.channels.stain))));
    add("estimate_stains", RecordValue::of(r.channels.estimate_stains));
    add("stain_vector_hematoxylin", RecordValue::of(stain_vector_text(r.channels.stain_vectors.hematoxylin)));
    add("stain_vector_dab", RecordValue::of(stain_vector_text(r.channels.stain_vectors.dab)));
  }
  if (!r.note.empty()) add("note", RecordValue::of(r.note));
  return out;
}

std::vector<std::pair<std::string, double>> pipeline_record_timings(const PipelineResult& r) {
  return {{"normalize", r.timings.normalize},
          {"inference", r.timings.inference},
          {"postprocess", r.timings.postprocess},
          {"total", r.timings.total}};
}

std::string pipeline_summary_json(const ModelCard& card, const PipelineResult& r) {
  JsonWriter w;
  w.begin_object();
  w.key("objects").value(r.count);
  w.key("diameter").value(r.diameter);
  w.key("diameter_estimated").value(r.diameter_estimated);
  w.key("scale").value(r.scale);
  w.key("passes").value(r.passes);
  w.key("tiles").value(r.tiles);
  w.key("network_width").value(r.network_width);
  w.key("network_height").value(r.network_height);
  w.key("thresholds").begin_object();
  if (card.kind == ModelKind::Star) {
    w.key("prob").value(r.prob_threshold);
    w.key("nms").value(r.nms_threshold);
  } else {
    w.key("cellprob").value(r.cellprob_threshold);
    w.key("flow").value(r.flow_threshold);
  }
  w.key("min_area").value(r.min_area);
  w.end_object();
  w.key("exclude_border").value(r.exclude_border);
  w.key("border_objects").value(r.border_objects);
  w.key("invert").value(r.invert);
  w.key("note").value(r.note);
  // The page offers a model made for this kind of picture (or inverting it) when the note says the
  // chosen one is not; "background" is what the network saw, after any invert.
  w.key("background");
  if (r.background == Background::Unknown) w.null();
  else w.value(r.background == Background::Bright ? "bright" : "dark");
  // A slide read through a stain: the stains' colours it was unmixed with, what measure_stains needs
  // to measure the same densities again (after edits by hand) and what the page shows.
  if (r.channels.stain != Stain::None) {
    const StainVectors& v = r.channels.stain_vectors;
    w.key("stain_vectors").begin_object();
    w.key("estimated").value(r.channels.estimate_stains);
    w.key("hematoxylin").begin_array().value(v.hematoxylin[0]).value(v.hematoxylin[1]).value(v.hematoxylin[2]).end_array();
    w.key("dab").begin_array().value(v.dab[0]).value(v.dab[1]).value(v.dab[2]).end_array();
    w.end_object();
  }
  w.key("timings_s").begin_object();
  for (const auto& [stage, seconds] : pipeline_record_timings(r)) w.key(stage).value(seconds);
  w.end_object();
  w.end_object();
  return w.str();
}

bool summary_stain_vectors(const JsonValue& summary, StainVectors* vectors, bool* estimated) {
  const JsonValue* v = summary.is_object() ? summary.find("stain_vectors") : nullptr;
  if (!v || !v->is_object()) return false;
  const JsonValue* e = v->find("estimated");
  *estimated = e && e->is_bool() && e->boolean;
  for (auto [key, out] : {std::pair{"hematoxylin", vectors->hematoxylin}, std::pair{"dab", vectors->dab}}) {
    const JsonValue* a = v->find(key);
    if (!a || !a->is_array() || a->array.size() != 3) continue;
    for (size_t k = 0; k < 3; ++k)
      if (a->array[k].is_number()) out[k] = a->array[k].number;
  }
  return true;
}

}  // namespace celldrop
