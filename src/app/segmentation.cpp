#include "app/segmentation.h"

#include <emscripten.h>

#include <cstring>

#include "app/overlay.h"
#include "core/json.h"
#include "core/pipeline_json.h"

namespace celldrop {

Segmentation& segmentation() {
  static Segmentation s;
  return s;
}

}  // namespace celldrop

namespace cd = celldrop;

// Module.segmenter is web/segment.js's object, given to the module factory by web/app.js. Its
// callbacks copy what the worker sent into the heap and call the exported functions below.
EM_JS(void, js_segmenter_init, (), {
  const seg = Module.segmenter;
  if (!seg) return;
  const str = (s) => {
    const n = lengthBytesUTF8(s) + 1;
    const p = _malloc(n);
    stringToUTF8(s, p, n);
    return p;
  };
  const call = (strings, build) => {
    const ptrs = strings.map(str);
    try {
      build(ptrs);
    } finally {
      ptrs.forEach((p) => _free(p));
    }
  };
  seg.onModels = (models) => {
    _cd_app_models_begin();
    for (const m of models) {
      call([m.name, m.kind || ""], ([name, kind]) => _cd_app_model_add(name, kind, Number(m.diameter) || 0));
      const n = m.normalization || {};
      call([m.sha256 || "", m.modality || ""], ([sha, modality]) =>
        _cd_app_model_card(sha, Number(n.percentile_low ?? 1), Number(n.percentile_high ?? 99.8), Number(m.inputChannels) || 1,
                           modality));
      if (m.own) _cd_app_model_own();
      for (const key of Object.keys(m.thresholds || {})) {
        const value = m.thresholds[key];
        if (typeof value !== 'number') continue;
        call([key], ([k]) => _cd_app_model_threshold(k, value));
      }
    }
    _cd_app_models_end();
  };
  seg.onProgress = (m) => {
    call([m.stage || "", m.backend || ""], ([stage, backend]) =>
      _cd_app_progress(stage, m.tile, m.tiles, m.pass, m.passes, m.elapsed_s, backend));
  };
  seg.onDone = (labels, m) => {
    // Straight into the labels' own buffer: TypedArray.set widens 16-bit ids as it copies.
    const p = _cd_app_labels_buffer(m.labelsWidth | 0, m.labelsHeight | 0, labels.length);
    if (p) HEAPU32.set(labels, p >>> 2);
    call([m.model || "", m.backend || "", JSON.stringify(m.summary || {}), m.modelSha256 || "", m.fallback || ""],
         ([model, backend, summary, sha, fallback]) =>
      _cd_app_done(p ? 1 : 0, model, backend, summary, sha, fallback, m.threads || 0, m.reused ? 1 : 0,
                   m.timings.model_s || 0, m.timings.decode_s || 0, m.timings.inference_s || 0,
                   m.timings.postprocess_s || 0, m.timings.total_s || 0));
  };
  seg.onError = (message, cancelled) => {
    call([message], ([msg]) => _cd_app_error(msg, cancelled ? 1 : 0));
  };
  seg.onModelAdded = (name) => call([name], ([n]) => _cd_app_model_added(n));
  seg.onModelError = (message) => call([message], ([msg]) => _cd_app_model_error(msg));
  seg.loadModels();
});

EM_JS(void, js_segmenter_start, (const char* model, const uint8_t* bytes, int size, int page, const char* name,
                                  const char* params, const char* backend, int reuse), {
  const seg = Module.segmenter;
  if (!seg) {
    _cd_app_error_static(1);
    return;
  }
  seg.start(UTF8ToString(model), HEAPU8.slice(bytes, bytes + size), UTF8ToString(name), UTF8ToString(params),
            UTF8ToString(backend), !!reuse, page);
});

EM_JS(void, js_segmenter_cancel, (), {
  if (Module.segmenter) Module.segmenter.cancel();
});

EM_JS(void, js_segmenter_abandon, (), {
  if (Module.segmenter) Module.segmenter.abandon();
});

// Areas, count and checksum of the labels on show.
static void count_labels(cd::Segmentation& s) {
  s.areas = cd::label_areas(s.labels);
  s.objects = cd::count_objects(s.areas);
  s.checksum = 0;
  for (size_t i = 0; i < s.labels.data.size(); i++) s.checksum += s.labels.data[i] * (uint32_t(i) * 2654435761u + 1u);
}

extern "C" {

EMSCRIPTEN_KEEPALIVE void cd_app_models_begin() { cd::segmentation().models.clear(); }

EMSCRIPTEN_KEEPALIVE void cd_app_model_add(const char* name, const char* kind, double diameter) {
  cd::ModelChoice m;
  m.name = name;
  m.kind = kind;
  m.diameter = diameter;
  cd::segmentation().models.push_back(m);
}

// `card_key`: the card's name ("prob"); the model keeps the run parameter's ("prob_thresh").
EMSCRIPTEN_KEEPALIVE void cd_app_model_threshold(const char* card_key, double value) {
  auto& models = cd::segmentation().models;
  if (!models.empty()) models.back().thresholds.push_back({cd::threshold_parameter(card_key), value});
}

EMSCRIPTEN_KEEPALIVE void cd_app_model_card(const char* sha256, double percentile_low, double percentile_high,
                                             int input_channels, const char* modality) {
  auto& models = cd::segmentation().models;
  if (models.empty()) return;
  models.back().sha256 = sha256;
  models.back().percentile_low = percentile_low;
  models.back().percentile_high = percentile_high;
  models.back().input_channels = input_channels;
  models.back().modality = modality;
}

EMSCRIPTEN_KEEPALIVE void cd_app_model_own() {
  auto& models = cd::segmentation().models;
  if (!models.empty()) models.back().own = true;
}

EMSCRIPTEN_KEEPALIVE void cd_app_model_added(const char* name) {
  cd::Segmentation& s = cd::segmentation();
  s.model_added = name;
  s.model_error.clear();
  s.dirty = true;
}

EMSCRIPTEN_KEEPALIVE void cd_app_model_error(const char* message) {
  cd::Segmentation& s = cd::segmentation();
  s.model_error = message;
  s.dirty = true;
}

EMSCRIPTEN_KEEPALIVE void cd_app_models_end() {
  cd::segmentation().models_known = true;
  cd::segmentation().dirty = true;
}

EMSCRIPTEN_KEEPALIVE void cd_app_progress(const char* stage, int tile, int tiles, int pass, int passes, double elapsed_s,
                                          const char* backend) {
  cd::Segmentation& s = cd::segmentation();
  s.dirty = true;
  if (!s.running) return;
  s.stage = stage;
  s.tile = tile;
  s.tiles = tiles;
  s.pass = pass;
  s.passes = passes;
  s.elapsed_s = elapsed_s;
  s.backend = backend;
}

// A buffer for the worker's labels, width x height, that cd_app_done then takes; null when the size
// does not match the `count` ids sent.
EMSCRIPTEN_KEEPALIVE uint32_t* cd_app_labels_buffer(int width, int height, double count) {
  cd::Segmentation& s = cd::segmentation();
  s.incoming = cd::Labels();
  if (width <= 0 || height <= 0 || double(width) * double(height) != count) return nullptr;
  s.incoming = cd::make_labels(width, height);
  return s.incoming.data.data();
}

EMSCRIPTEN_KEEPALIVE void cd_app_done(int have_labels, const char* model, const char* backend,
                                      const char* summary_json, const char* model_sha256, const char* fallback, int threads,
                                      int reused, double model_s, double decode_s, double inference_s,
                                      double postprocess_s, double total_s) {
  cd::Segmentation& s = cd::segmentation();
  s.dirty = true;
  s.running = false;
  if (!have_labels) {
    s.error = "the worker's labels could not be read: their size does not match the image they describe";
    return;
  }
  s.labels = std::move(s.incoming);
  s.incoming = cd::Labels();
  s.edits.clear();
  s.result_edited = false;
  count_labels(s);
  s.next_id = uint32_t(s.areas.size());  // ids 1 .. areas.size() - 1 are the model's
  if (*model) s.model_name = model;
  s.model_sha256 = model_sha256;
  s.params_json = s.running_params;
  s.summary_json = summary_json;
  s.fallback = fallback;
  s.backend = backend;
  s.threads = threads;
  // The summary only adds what the UI shows beside the masks; a summary it cannot read costs nothing else.
  cd::JsonValue summary;
  std::string summary_error;
  s.diameter = 0.0;
  s.diameter_estimated = false;
  s.tiles_run = 0;
  s.border_objects = 0;
  s.inverted = false;
  s.read_through_stain = false;
  s.stain_vectors = cd::StainVectors();
  s.stain_vectors_estimated = false;
  s.note.clear();
  s.background = cd::Background::Unknown;
  if (cd::json_parse(summary_json, std::strlen(summary_json), &summary, &summary_error)) {
    if (const cd::JsonValue* v = summary.find("diameter"); v && v->is_number()) s.diameter = v->number;
    if (const cd::JsonValue* v = summary.find("diameter_estimated"); v && v->is_bool()) s.diameter_estimated = v->boolean;
    if (const cd::JsonValue* v = summary.find("tiles"); v && v->is_number()) s.tiles_run = int(v->number);
    if (const cd::JsonValue* v = summary.find("border_objects"); v && v->is_number()) s.border_objects = int(v->number);
    if (const cd::JsonValue* v = summary.find("invert"); v && v->is_bool()) s.inverted = v->boolean;
    if (const cd::JsonValue* v = summary.find("note"); v && v->is_string()) s.note = v->string;
    s.read_through_stain = cd::summary_stain_vectors(summary, &s.stain_vectors, &s.stain_vectors_estimated);
    if (const cd::JsonValue* v = summary.find("background"); v && v->is_string()) {
      s.background = v->string == "bright" ? cd::Background::Bright : cd::Background::Dark;
    }
  }
  s.model_s = model_s;
  s.decode_s = decode_s;
  s.inference_s = inference_s;
  s.postprocess_s = postprocess_s;
  s.total_s = total_s;
  s.reused = reused != 0;
  s.result_key = s.running_key;
  s.error.clear();
  s.cancelled = false;
  s.has_result = true;
  s.result_changed = true;
  s.runs_finished++;
}

EMSCRIPTEN_KEEPALIVE void cd_app_error(const char* message, int cancelled) {
  cd::Segmentation& s = cd::segmentation();
  s.dirty = true;
  s.running = false;
  s.cancelled = cancelled != 0;
  s.error = s.cancelled ? "" : message;
}

EMSCRIPTEN_KEEPALIVE void cd_app_error_static(int) {
  cd::Segmentation& s = cd::segmentation();
  s.dirty = true;
  s.running = false;
  s.error = "it is not available on this page (its script did not start). Reload the page.";
}

}  // extern "C"

namespace celldrop {

void segmentation_init() { js_segmenter_init(); }

void segmentation_start(const std::string& model, const std::vector<uint8_t>& image_file, int page, const char* image_name,
                        const std::string& params_json, const std::string& backend, const std::string& key,
                        bool reuse) {
  Segmentation& s = segmentation();
  s.running = true;
  s.runs_started++;
  s.stage = "loading";
  s.tile = s.tiles = s.pass = s.passes = 0;
  s.elapsed_s = 0.0;
  s.error.clear();
  s.cancelled = false;
  s.model_name = model;
  s.running_params = params_json;
  s.running_key = key;
  s.running_live = reuse;
  js_segmenter_start(model.c_str(), image_file.data(), int(image_file.size()), page, image_name, params_json.c_str(),
                     backend.c_str(), reuse);
}

void segmentation_cancel() {
  if (segmentation().running) js_segmenter_cancel();
}

static void labels_edited(Segmentation& s) {
  count_labels(s);
  s.result_changed = true;
  s.result_edited = true;
  s.dirty = true;
}

static bool apply_edit(Segmentation& s, const HandEdit& edit) {
  EditedObject changed;
  if (!s.has_result || s.running || !apply_hand_edit(s.labels, edit, &changed)) return false;
  s.edits.push_back({edit, std::move(changed)});
  labels_edited(s);
  return true;
}

bool segmentation_remove_object(uint32_t id) { return apply_edit(segmentation(), HandEdit{id, {}}); }

uint32_t segmentation_draw_object(const std::vector<Point2>& outline) {
  Segmentation& s = segmentation();
  if (outline.empty() || !apply_edit(s, HandEdit{s.next_id, outline})) return 0;
  return s.next_id++;
}

bool segmentation_undo_edit() {
  Segmentation& s = segmentation();
  if (!s.has_result || s.running || s.edits.empty()) return false;
  const Segmentation::AppliedEdit& last = s.edits.back();
  undo_hand_edit(s.labels, last.edit, last.changed);
  if (!last.edit.outline.empty()) s.next_id--;
  s.edits.pop_back();
  labels_edited(s);
  return true;
}

std::vector<HandEdit> segmentation_edits() {
  std::vector<HandEdit> edits;
  for (const Segmentation::AppliedEdit& e : segmentation().edits) edits.push_back(e.edit);
  return edits;
}

void segmentation_forget() {
  Segmentation& s = segmentation();
  if (s.running) js_segmenter_abandon();
  s.running = false;
  s.has_result = false;
  s.result_changed = false;
  s.labels = Labels();
  s.areas.clear();
  s.objects = 0;
  s.checksum = 0;
  s.edits.clear();
  s.result_edited = false;
  s.result_key.clear();
  s.error.clear();
  s.cancelled = false;
  s.dirty = true;
}

}  // namespace celldrop
