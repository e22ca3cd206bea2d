#include "app/session.h"

#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/intake.h"
#include "app/overlay.h"
#include "app/segmentation.h"
#include "core/json_writer.h"
#include "core/png_write.h"
#include "core/sha256.h"
#include "core/stains.h"
#include "core/synth.h"

namespace cd = celldrop;
namespace vw = celldrop::viewer;

App g_app;

// --- the image on show -------------------------------------------------------------------------------------
void choose_channel(int channel) {
  App& a = g_app;
  a.texture_dirty = true;
  if (channel == kColourView && cd::has_colour_view(a.image)) {
    a.channel = kColourView;
    a.stats = cd::colour_stats(a.image);
    a.contrast = cd::colour_default_window(a.image, a.stats);
    return;
  }
  a.channel = std::clamp(channel, 0, std::max(0, a.image.channels - 1));
  a.stats = cd::channel_stats(a.image, a.channel);
  a.contrast = a.stats.auto_window;
}

// The image just put on show: its file's calibration is remembered, and the user's replaces it.
static void use_pixel_size_of_file() {
  App& a = g_app;
  a.file_pixel_size_x_um = a.image.pixel_size_x_um;
  a.file_pixel_size_y_um = a.image.pixel_size_y_um;
  if (a.given_pixel_size_um > 0) a.image.pixel_size_x_um = a.image.pixel_size_y_um = a.given_pixel_size_um;
}

void set_pixel_size(double um) {
  App& a = g_app;
  a.given_pixel_size_um = um > 0 && std::isfinite(um) ? um : 0.0;
  a.image.pixel_size_x_um = a.given_pixel_size_um > 0 ? a.given_pixel_size_um : a.file_pixel_size_x_um;
  a.image.pixel_size_y_um = a.given_pixel_size_um > 0 ? a.given_pixel_size_um : a.file_pixel_size_y_um;
  // Only the areas in um^2 depend on it (measure_objects: pixels times the pixel's area); the table
  // shows none, so its order stays.
  const double pixel_area = a.image.pixel_size_x_um * a.image.pixel_size_y_um;
  for (cd::ObjectMeasurements& m : a.table.objects) m.area_um2 = pixel_area > 0 ? double(m.area_px) * pixel_area : 0.0;
}

void load_sample() {
  App& a = g_app;
  cd::SynthParams params;
  params.seed = kSampleSeed;
  double t0 = emscripten_get_now();
  cd::SynthResult sample = cd::synthesize_nuclei(params);
  a.make_ms = emscripten_get_now() - t0;
  if (!sample.error.empty()) {
    a.error = "Cannot make the sample image: " + sample.error;
    return;
  }
  a.image = std::move(sample.image);
  use_pixel_size_of_file();
  a.ground_truth_count = sample.count;
  // The worker decodes files: the sample goes to it as the same 16-bit PNG the CLI's
  // `synth --seed 1` writes (compression only changes the size, not the pixels).
  cd::PngWriteOptions png;
  png.compression = 1;
  std::string why;
  if (!cd::write_png(a.image, png, &a.image_file, &why)) a.image_file.clear();
  a.image_file_name = "sample-seed-1.png";
  a.image_stem = "sample-seed-1";
  a.image_page = 0;
  a.image_pages = 1;
  a.image_sha256 = cd::sha256_hex(a.image_file.data(), a.image_file.size());
  a.image_url.clear();
  a.image_title = "Sample: synthetic nuclei";
  char note[160];
  std::snprintf(note, sizeof note, "Made in this tab in %.0f ms (seed %llu)", a.make_ms,
                static_cast<unsigned long long>(kSampleSeed));
  a.image_note = note;
  std::printf("celldrop: sample %dx%d %s, %d nuclei, made in %.1f ms\n", a.image.width, a.image.height,
              cd::sample_type_name(a.image.type), a.ground_truth_count, a.make_ms);
  choose_channel(0);
  a.fitted = true;
  a.view_valid = false;
}

// --- run settings and runs ------------------------------------------------------------------------------
RunSettings run_settings() {
  const App& a = g_app;
  return {a.model,           a.diameter_auto, a.diameter,    a.thresholds,    a.percentile_low,
          a.percentile_high, a.tile_size,     a.seg_channel, a.backend_choice, a.exclude_border,
          a.invert,          a.stain,         a.estimate_stains};
}

void set_run_settings(const RunSettings& r) {
  App& a = g_app;
  a.model = r.model;
  a.diameter_auto = r.diameter_auto;
  a.diameter = r.diameter;
  a.thresholds = r.thresholds;
  a.percentile_low = r.percentile_low;
  a.percentile_high = r.percentile_high;
  a.tile_size = r.tile_size;
  a.seg_channel = r.seg_channel;
  a.backend_choice = r.backend;
  a.exclude_border = r.exclude_border;
  a.invert = r.invert;
  a.stain = r.stain;
  a.estimate_stains = r.estimate_stains;
}

// A model's card defaults for thresholds and normalisation.
static void choose_model_in(RunSettings* r, int index) {
  const cd::Segmentation& s = cd::segmentation();
  if (index < 0 || index >= int(s.models.size())) return;
  r->model = index;
  r->thresholds.clear();
  const cd::ModelChoice& m = s.models[size_t(index)];
  for (const auto& t : m.thresholds) r->thresholds.push_back(t.second);
  r->percentile_low = m.percentile_low;
  r->percentile_high = m.percentile_high;
}

void choose_model(int index) {
  RunSettings r = run_settings();
  choose_model_in(&r, index);
  set_run_settings(r);
}

int model_index(const std::string& name) {
  const cd::Segmentation& s = cd::segmentation();
  for (size_t i = 0; i < s.models.size(); i++) {
    if (s.models[i].name == name) return int(i);
  }
  return -1;
}

bool can_run() {
  const App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  return !s.running && a.model >= 0 && a.model < int(s.models.size()) && !a.image_file.empty();
}

// Every parameter of a run, as cd_run_start reads it. All are sent, defaults included, so a share
// link can name each one and a later version's different defaults cannot change what a link runs.
// JsonWriter writes doubles so that they read back exactly: the card's values match the CLI's.
static std::string params_json(bool with_thresholds) {
  const App& a = g_app;
  const cd::ModelChoice& m = cd::segmentation().models[size_t(a.model)];
  cd::JsonWriter w;
  w.begin_object();
  w.key("diameter").value(a.diameter_auto ? 0.0 : a.diameter);
  for (size_t i = 0; with_thresholds && i < m.thresholds.size() && i < a.thresholds.size(); i++)
    w.key(m.thresholds[i].first).value(a.thresholds[i]);
  if (with_thresholds) w.key("exclude_border").value(a.exclude_border);  // post-processing, like them
  w.key("percentile_low").value(a.percentile_low);
  w.key("percentile_high").value(a.percentile_high);
  w.key("invert").value(a.invert);
  w.key("tile").value(a.tile_size);
  // A one-channel model needs one channel: the chosen one, a stain of an RGB slide, or the mean of all
  // (say, RGB nuclei).
  if (a.image.channels > 1 && m.input_channels == 1) {
    if (!a.stain.empty() && cd::can_unmix_stains(a.image)) w.key("stain").value(a.stain).key("estimate_stains").value(a.estimate_stains);
    else if (a.seg_channel >= 0 && a.seg_channel < a.image.channels) w.key("channel").value(a.seg_channel);
    else w.key("merge").value(true);
  }
  w.end_object();
  return w.str();
}

std::string run_params_json() { return params_json(true); }

// What decides the network's outputs: the model, the backend asked for and every parameter but the
// thresholds and exclude_border (the image is the one on show: a new image drops the result).
static std::string network_key() {
  const App& a = g_app;
  return cd::segmentation().models[size_t(a.model)].name + "\n" + a.backend_choice + "\n" + params_json(false);
}

static void start(bool reuse) {
  App& a = g_app;
  const cd::ModelChoice& m = cd::segmentation().models[size_t(a.model)];
  cd::segmentation_start(m.name, a.image_file, a.image_page, a.image_file_name.c_str(), run_params_json(),
                         a.backend_choice, network_key(), reuse);
}

void run_segmentation() {
  if (!can_run()) return;
  g_app.live_rerun_due_ms = 0.0;  // a full run supersedes a pending live one
  start(false);
}

bool only_thresholds_changed() {
  const cd::Segmentation& s = cd::segmentation();
  return s.has_result && can_run() && !s.result_key.empty() && s.result_key == network_key() &&
         s.params_json != run_params_json();
}

void unless_edits_lost(const char* kind, std::function<void()> action) {
  App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  if (!s.has_result || s.edits.empty()) {
    action();
    return;
  }
  a.confirm_kind = kind;
  a.confirm_action = std::move(action);
  cd::platform_want_frames(&a.platform, 3);  // the question opens on its own
}

void request_live_rerun(double now_ms) { g_app.live_rerun_due_ms = now_ms + kLiveRerunDelayMs; }

bool live_rerun_step(double now_ms) {
  App& a = g_app;
  if (a.live_rerun_due_ms <= 0.0) return false;
  if (now_ms < a.live_rerun_due_ms || cd::segmentation().running) return true;  // still waiting
  a.live_rerun_due_ms = 0.0;
  if (only_thresholds_changed()) {
    unless_edits_lost("thresholds", [] {
      if (only_thresholds_changed()) start(true);
    });
  }
  return false;
}

// Applies run parameters given as JSON (the page API's run(params), a share link's p.* values):
// "model" by name, then the keys run_params_json writes. Unknown keys and values out of range are
// refused with a sentence naming them, and nothing is changed.
bool apply_params(const cd::JsonValue& p, std::string* error) {
  RunSettings copy = run_settings();  // kept only when every key was understood
  const cd::Segmentation& s = cd::segmentation();
  if (!p.is_object()) {
    *error = "parameters must be a JSON object";
    return false;
  }
  if (const cd::JsonValue* v = p.find("model")) {
    int i = v->is_string() ? model_index(v->string) : -1;
    if (i < 0) {
      std::string names;
      for (const cd::ModelChoice& m : s.models) names += (names.empty() ? "" : ", ") + m.name;
      *error = "there is no model " + (v->is_string() ? "\"" + v->string + "\"" : std::string("of that name")) +
               " on this site (it has: " + (names.empty() ? "none" : names) + ")";
      return false;
    }
    choose_model_in(&copy, i);  // resets thresholds and percentiles to the card's
  }
  if (copy.model < 0 || copy.model >= int(s.models.size())) {
    *error = "no model is chosen yet (the site's models are still loading, or it has none)";
    return false;
  }
  const cd::ModelChoice& m = s.models[size_t(copy.model)];
  for (const auto& member : p.object) {
    const std::string& key = member.first;  // named references: lambdas cannot capture structured bindings
    const cd::JsonValue& v = member.second;
    auto number = [&](double lo, double hi, double* out) {
      if (!v.is_number() || v.number < lo || v.number > hi) {
        char text[160];
        std::snprintf(text, sizeof text, "%s must be a number from %.10g to %.10g", key.c_str(), lo, hi);
        *error = text;
        return false;
      }
      *out = v.number;
      return true;
    };
    double x = 0.0;
    if (key == "model") {
      continue;
    } else if (key == "diameter") {
      if (v.is_number() && v.number == 0.0) {
        copy.diameter_auto = true;
      } else {
        if (!number(1.0, 2000.0, &copy.diameter)) return false;
        copy.diameter_auto = false;
      }
    } else if (key == "percentile_low" || key == "percentile_high") {
      if (!number(0.0, 100.0, key == "percentile_low" ? &copy.percentile_low : &copy.percentile_high)) return false;
    } else if (key == "tile") {
      if (!number(64.0, 4096.0, &x) || x != std::floor(x)) {
        *error = "tile must be a whole number of pixels from 64 to 4096";
        return false;
      }
      copy.tile_size = int(x);
    } else if (key == "channel") {
      if (v.is_null()) {
        copy.seg_channel = -1;
      } else if (!number(0.0, 1e6, &x) || x != std::floor(x)) {
        *error = "channel must be a channel number from 0, or null";
        return false;
      } else {
        copy.seg_channel = int(x);
        copy.stain.clear();
      }
    } else if (key == "backend") {
      if (!v.is_string() || (v.string != "auto" && v.string != "webgpu" && v.string != "wasm")) {
        *error = "backend must be \"auto\", \"webgpu\" or \"wasm\"";
        return false;
      }
      copy.backend = v.string;
    } else if (key == "merge") {
      if (!v.is_bool()) {
        *error = "merge must be true or false";
        return false;
      }
      if (v.boolean) {
        copy.seg_channel = -1;
        copy.stain.clear();
      }
    } else if (key == "stain") {
      cd::Stain stain = cd::Stain::None;
      if (!v.is_null() && (!v.is_string() || !cd::parse_stain(v.string, &stain))) {
        *error = "stain must be \"hematoxylin\" or \"dab\" (colour deconvolution of an RGB slide), or null";
        return false;
      }
      copy.stain = stain == cd::Stain::None ? "" : cd::stain_name(stain);
      if (!copy.stain.empty()) copy.seg_channel = -1;
    } else if (key == "exclude_border" || key == "invert" || key == "estimate_stains") {
      if (!v.is_bool()) {
        *error = key + " must be true or false";
        return false;
      }
      (key == "invert" ? copy.invert : key == "estimate_stains" ? copy.estimate_stains : copy.exclude_border) = v.boolean;
    } else {
      bool known = false;
      for (size_t i = 0; i < m.thresholds.size() && i < copy.thresholds.size(); i++) {
        if (m.thresholds[i].first != key) continue;
        const cd::ThresholdRange range = cd::threshold_range(key);
        if (!number(range.lo, range.hi, &copy.thresholds[i])) return false;
        known = true;
      }
      if (!known) {
        std::string keys = "model, backend, diameter, percentile_low, percentile_high, invert, tile, channel, merge, stain, exclude_border";
        for (const auto& t : m.thresholds) keys += ", " + t.first;
        *error = "unknown parameter \"" + key + "\" for the model " + m.name + " (known: " + keys + ")";
        return false;
      }
    }
  }
  if (!(copy.percentile_low < copy.percentile_high)) {
    *error = "percentile_low must be below percentile_high";
    return false;
  }
  set_run_settings(copy);
  return true;
}

// --- the image on show: opening files ------------------------------------------------------------------
// Replaces the image with a decoded file; on failure the image and results on show stay as they were
// and the panel says why. A new image drops the old result and is segmented as soon as it can be.
bool open_file(const uint8_t* bytes, size_t size, const std::string& name, const std::string& url, int page,
               std::string* error) {
  App& a = g_app;
  cd::OpenedImage opened;
  bool ok = cd::open_image(bytes, size, name, url, std::max(page, 0), &opened, error);
  // No page asked for: a share link's page when this is the link's file.
  if (ok && page < 0 && a.has_link && a.link.image_page > 0 && a.link.image_page < opened.pages &&
      opened.sha256 == a.link.image_sha256) {
    ok = cd::open_image(bytes, size, name, url, a.link.image_page, &opened, error);
  }
  if (!ok) {
    a.open_error = *error;
    cd::platform_want_frames(&a.platform, 3);
    return false;
  }
  // Another page of the file on show (a time-lapse's next frame): the view and the channel choices stay.
  const bool same_file = opened.sha256 == a.image_sha256 && opened.pages > 1 && opened.image.width == a.image.width &&
                         opened.image.height == a.image.height && opened.image.channels == a.image.channels;
  cd::segmentation_forget();
  cd::object_table_reset(&a.table, {});
  a.contours.clear();
  classify_objects();  // no result: nothing counted
  a.image = std::move(opened.image);
  use_pixel_size_of_file();
  a.image_file = std::move(opened.file);
  a.image_file_name = opened.name;
  a.image_stem = opened.stem;
  a.image_page = opened.page;
  a.image_pages = opened.pages;
  a.image_sha256 = opened.sha256;
  a.image_url = opened.source_url;
  a.image_title = opened.name;
  if (opened.pages > 1) {
    // Pages are numbered from 1 on screen, from 0 in file names and records (as the CLI's --page).
    a.image_title += ", page " + std::to_string(opened.page + 1) + " of " + std::to_string(opened.pages);
    const int digits = int(std::to_string(opened.pages - 1).size());
    std::string index = std::to_string(opened.page);
    a.image_stem += "_page" + std::string(size_t(digits) - index.size(), '0') + index;
  }
  char note[200];
  std::snprintf(note, sizeof note, "%s, %.1f kB%s", opened.format.c_str(), double(a.image_file.size()) / 1024.0,
                url.empty() ? ", opened from this computer" : ", downloaded from its URL");
  a.image_note = note;
  a.ground_truth_count = 0;
  a.error.clear();
  a.open_error.clear();
  if (same_file) {
    choose_channel(a.channel);  // its statistics and contrast are the new page's
  } else {
    a.seg_channel = -1;
    // An 8-bit RGB(A) image is a picture (a slide, a photograph): it opens in colour. Deeper
    // multichannel images are stacks whose channels are no red, green and blue: one at a time.
    choose_channel(cd::has_colour_view(a.image) && a.image.type == cd::SampleType::U8 ? kColourView : 0);
    a.fitted = true;
    a.view_valid = false;
  }
  a.run_wanted = true;
  cd::platform_want_frames(&a.platform, 3);
  std::printf("celldrop: opened %s, %dx%d, %d channel(s) %s\n", opened.name.c_str(), a.image.width, a.image.height,
              a.image.channels, cd::sample_type_name(a.image.type));
  return true;
}

// --- share links ----------------------------------------------------------------------------------------
cd::ShareState current_share_state() {
  const App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  cd::ShareState st;
  st.app_version = CELLDROP_VERSION;
  if (a.model >= 0 && a.model < int(s.models.size())) {
    const cd::ModelChoice& m = s.models[size_t(a.model)];
    st.model = m.name;
    st.model_sha256 = m.sha256;
    cd::JsonValue params;
    std::string ignored;
    if (cd::json_parse(run_params_json(), &params, &ignored)) {
      for (const auto& [key, v] : params.object) {
        st.params.emplace_back(key, v.is_bool()     ? (v.boolean ? "true" : "false")
                                    : v.is_string() ? v.string  // a link's value as it reads, unquoted
                                                    : cd::json_number(v.number));
      }
    }
  }
  st.backend = s.has_result ? s.backend : "";
  if (s.has_result) st.edits = cd::segmentation_edits();
  st.image_sha256 = a.image_sha256;
  st.image_page = a.image_page;
  st.image_name = a.image_file_name;
  st.image_url = a.image_url;
  st.pixel_size_um = a.given_pixel_size_um;
  st.positive_channel = a.positive_channel;
  st.positive_stain = a.positive_stain;
  st.positive_threshold = a.positive_otsu ? std::nan("") : a.positive_given;
  std::copy(a.grade_given, a.grade_given + 2, st.positive_grades);
  return st;
}

// A link's state, once the site's models are known: its model and parameters become the page's.
// What cannot be honoured (a model this site lacks or whose file differs) is said, not hidden.
void apply_link() {
  App& a = g_app;
  a.link_pending = false;
  const cd::ShareState& l = a.link;
  int i = model_index(l.model);
  if (!l.model.empty() && i < 0) {
    a.link_note = "The link's model " + l.model + " is not on this site: its parameters were not applied.";
    return;
  }
  std::string params = "{";
  if (!l.model.empty()) params += "\"model\":" + cd::json_quote(l.model);
  if (l.backend == "webgpu" || l.backend == "wasm") params += std::string(params.size() > 1 ? "," : "") + "\"backend\":" + cd::json_quote(l.backend);
  for (const auto& [key, value] : l.params) {
    // Numbers and true/false stand as they are; a word (a stain's name) is a JSON string.
    cd::JsonValue literal;
    std::string not_json;
    const bool plain = cd::json_parse(value, &literal, &not_json) && !literal.is_object() && !literal.is_array();
    params += std::string(params.size() > 1 ? "," : "") + cd::json_quote(key) + ":" + (plain ? value : cd::json_quote(value));
  }
  params += "}";
  cd::JsonValue p;
  std::string error;
  if (!cd::json_parse(params, &p, &error) || !apply_params(p, &error)) {
    a.link_note = "The link's parameters could not be applied: " + error + ".";
    return;
  }
  if (l.pixel_size_um > 0) set_pixel_size(l.pixel_size_um);
  set_positive(l.positive_channel, l.positive_stain, std::isnan(l.positive_threshold), l.positive_threshold);
  set_grades(l.positive_grades[0], l.positive_grades[1]);
  a.link_edits_pending = !l.edits.empty();
  const cd::ModelChoice& m = cd::segmentation().models[size_t(a.model)];
  if (!l.model_sha256.empty() && !m.sha256.empty() && l.model_sha256 != m.sha256) {
    a.link_note = "This site's " + m.name + " is a different file than the link's (sha256 " + m.sha256.substr(0, 12) +
                  "... instead of " + l.model_sha256.substr(0, 12) + "...): results may differ.";
  } else if (!l.app_version.empty() && l.app_version != CELLDROP_VERSION) {
    a.link_note = "The link was made with CellDrop " + l.app_version + ", this is " + CELLDROP_VERSION + ".";
  }
}

void apply_link_edits() {
  App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  // A fresh result (not an edit) of the link's image and page: the ids then name the same objects.
  if (!a.link_edits_pending || !s.has_result || !s.result_changed || s.result_edited || s.running ||
      a.link.image_sha256.empty() || a.image_sha256 != a.link.image_sha256 || a.image_page != a.link.image_page) {
    return;
  }
  a.link_edits_pending = false;
  std::string missing;
  int undrawn = 0;
  for (const cd::HandEdit& e : a.link.edits) {
    if (!e.outline.empty()) {
      undrawn += cd::segmentation_draw_object(e.outline) == 0;
    } else if (!cd::segmentation_remove_object(e.id)) {
      missing += (missing.empty() ? "" : ", ") + std::to_string(e.id);
    }
  }
  if (!missing.empty() || undrawn) {
    a.link_note = std::string("The link's edits do not fit this result (") +
                  (missing.empty() ? "" : "it has no object " + missing) + (!missing.empty() && undrawn ? "; " : "") +
                  (undrawn ? std::to_string(undrawn) + " drawn object(s) found no free pixels" : "") +
                  "): its parameters or backend are not the link's.";
  }
}

// --- results -----------------------------------------------------------------------------------------------
EM_JS(int, js_iso_now, (char* out, int size), {
  stringToUTF8(new Date().toISOString(), out, size);
  return 0;
});

void set_positive(int channel, cd::Stain stain, bool otsu, double threshold) {
  App& a = g_app;
  a.positive_stain = stain;
  a.positive_channel = channel < 0 || stain != cd::Stain::None ? -1 : channel;
  a.positive_otsu = otsu;
  if (!otsu && std::isfinite(threshold)) a.positive_given = threshold;
  if (otsu || (a.positive_channel < 0 && stain == cd::Stain::None)) {
    a.grade_given[0] = a.grade_given[1] = std::nan("");
  } else if (a.grading()) {  // a 1+ threshold moved above 2+ takes 2+ (and 3+) with it
    a.grade_given[0] = std::max(a.grade_given[0], a.positive_given);
    a.grade_given[1] = std::max(a.grade_given[1], a.grade_given[0]);
  }
  classify_objects();
}

void set_grades(double grade2, double grade3) {
  App& a = g_app;
  if (std::isnan(grade2) || std::isnan(grade3) || (a.positive_channel < 0 && a.positive_stain == cd::Stain::None)) {
    a.grade_given[0] = a.grade_given[1] = std::nan("");  // no grades, or no marker to grade by
  } else {
    if (a.positive_otsu) {  // the 1+ threshold in use becomes a given one
      a.positive_given = std::isnan(a.positive_threshold) ? grade2 : std::min(a.positive_threshold, grade2);
      a.positive_otsu = false;
    }
    a.grade_given[0] = std::max(grade2, a.positive_given);
    a.grade_given[1] = std::max(grade3, a.grade_given[0]);
  }
  classify_objects();
}

// The rule applied to the table's objects: their class, the count, the threshold and a note.
static void apply_positive_rule() {
  App& a = g_app;
  a.positive_note.clear();
  a.positive_count = -1;
  a.positive_threshold = std::nan("");
  a.means_histogram.clear();
  cd::PositiveRule rule;
  if (!cd::segmentation().has_result) {
    // Nothing to count until the next result (a newly opened image).
  } else if (a.positive_stain != cd::Stain::None) {
    rule.stain = a.positive_stain;
    if (!a.table.objects.empty() && std::isnan(cd::marker_mean(a.table.objects[0], rule))) {
      // Stains are measured only for a result read through one (a brightfield slide).
      a.positive_note = std::string("This result has no ") + cd::stain_label(rule.stain) +
                        " densities: segment the slide read through its hematoxylin (Input) to count by a stain.";
      rule = cd::PositiveRule();
    }
  } else if (a.positive_channel >= a.image.channels) {
    a.positive_note = "This image has no channel " + std::to_string(a.positive_channel + 1) + ": nothing is counted.";
  } else if (a.positive_channel >= 0) {
    rule.channel = a.positive_channel;
  }
  if (rule.counts()) rule.threshold = a.positive_otsu ? cd::otsu_threshold_of_means(a.table.objects, rule) : a.positive_given;
  if (rule.counts() && a.grading()) std::copy(a.grade_given, a.grade_given + 2, rule.grade_thresholds);
  std::string why;
  const int count = cd::classify_positive(&a.table.objects, rule, &why);
  a.grades = cd::count_grades(a.table.objects);
  if (!rule.counts() || count < 0) return;
  a.positive_threshold = rule.threshold;
  a.positive_count = count;
  if (std::isnan(rule.threshold) && a.table.objects.size() > 0) {
    a.positive_note = "Otsu needs objects of at least two different means to split: set a threshold.";
  }
  for (size_t i = 0; i < a.table.objects.size(); i++) {
    const double v = cd::marker_mean(a.table.objects[i], rule);
    a.means_low = i == 0 ? v : std::min(a.means_low, v);
    a.means_high = i == 0 ? v : std::max(a.means_high, v);
  }
  a.means_histogram.assign(kMeansBins, 0);
  const double width = a.means_high - a.means_low;
  for (const cd::ObjectMeasurements& m : a.table.objects) {
    const int bin = width > 0 ? int((cd::marker_mean(m, rule) - a.means_low) / width * kMeansBins) : 0;
    a.means_histogram[size_t(std::clamp(bin, 0, kMeansBins - 1))]++;
  }
  uint32_t top = 0;
  for (const cd::ObjectMeasurements& m : a.table.objects) top = std::max(top, m.id);
  a.class_rgb.assign(size_t(top) + 1, 0);
  for (const cd::ObjectMeasurements& m : a.table.objects) a.class_rgb[m.id] = cd::class_rgb(m);
}

void classify_objects() {
  App& a = g_app;
  const std::vector<uint32_t> before = std::move(a.class_rgb);
  a.class_rgb.clear();
  apply_positive_rule();
  const std::vector<cd::OverlayRect> changed = cd::class_change_rects(before, a.class_rgb, a.table.objects);
  a.overlay_repaint.insert(a.overlay_repaint.end(), changed.begin(), changed.end());
  if (a.overlay_repaint.size() > kMostOverlayRepaints) {  // many changes before a frame (page API calls)
    a.overlay_repaint.clear();
    a.overlay_dirty = true;
  }
}

cd::ResultSource result_source() {
  App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  cd::ResultSource r;
  if (!s.has_result) return r;
  r.image = &a.image;
  r.image_name = a.image_file_name;
  r.image_stem = a.image_stem;
  r.image_page = a.image_pages > 1 ? a.image_page : -1;
  r.image_sha256 = a.image_sha256;
  r.pixel_size_given = a.given_pixel_size_um > 0;
  r.labels = &s.labels;
  r.objects = &a.table.objects;
  r.contours = &a.contours;
  r.model_name = s.model_name;
  int i = model_index(s.model_name);
  if (i >= 0) {
    r.model_kind = s.models[size_t(i)].kind;
    r.model_diameter = s.models[size_t(i)].diameter;
  }
  r.model_sha256 = s.model_sha256;
  r.params_json = s.params_json;
  r.summary_json = s.summary_json;
  r.backend = s.backend;
  r.edits_by_hand = cd::segmentation_edits();
  if (a.positive_count >= 0) {
    r.positive.channel = a.positive_channel;
    r.positive.stain = a.positive_stain;
    r.positive.threshold = a.positive_threshold;
    if (a.grading()) std::copy(a.grade_given, a.grade_given + 2, r.positive.grade_thresholds);
    r.positive_threshold_given = !a.positive_otsu;
  }
  char now[40];
  js_iso_now(now, sizeof now);
  r.started_at = now;
  r.display_pixels = &a.display_pixels;
  const cd::Labels& labels = s.labels;
  if (a.overlay.id != 0 && a.overlay.width == labels.width && a.overlay.height == labels.height) {
    const cd::OverlayMode mode = a.overlay_mode;
    const std::vector<uint32_t>* class_rgb = a.class_rgb.empty() ? nullptr : &a.class_rgb;
    r.overlay_rows = [&labels, mode, class_rgb](int y0, int y1, uint8_t* rgba) {
      cd::overlay_rgba_rect(labels, mode, cd::kOutlineRgb, 0, y0, labels.width, y1, rgba, class_rgb);
    };
  }
  r.outline_opacity = a.show_overlay ? a.overlay_opacity : 0.0f;
  return r;
}

// Makes one export; on success *name is its file name. Used by the panel and the page API.
bool make_export(const std::string& key, std::vector<uint8_t>* bytes, std::string* name, const char** mime,
                        std::string* error) {
  const cd::ExportKind* kind = cd::find_export_kind(key);
  if (!kind) {
    *error = "unknown export \"" + key + "\" (labels_png, labels_tiff, csv, geojson, roi, record, overlay_png)";
    return false;
  }
  cd::ResultSource source = result_source();
  if (!cd::write_export(*kind, source, bytes, error)) return false;
  *name = cd::export_file_name(*kind, source);
  *mime = kind->mime;
  return true;
}

// Selecting an object (table row or click in the image); `centre` pans the viewer to it.
void select_object(uint32_t id, bool centre) {
  App& a = g_app;
  a.table.selected = cd::object_table_find(a.table, id) ? id : 0;
  if (a.table.selected && centre) a.centre_on_selected = true;
}

