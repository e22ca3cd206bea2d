// The page API's entry points: the cd_app_* functions web/page_api.js calls (they answer in JSON,
// like the C API of src/api), and the page-level state the page publishes every frame.
#include "app/page_bridge.h"

#include <emscripten.h>

#include <algorithm>
#include <cmath>

#include "app/results.h"
#include "app/segmentation.h"
#include "app/session.h"
#include "core/json_writer.h"

namespace cd = celldrop;

// What the page API changes must be drawn: the page otherwise sleeps until the next input event.
static void redraw() { cd::platform_want_frames(&g_app.platform, 3); }

// "removed", "drawn": the ids of the objects removed and drawn by hand in the result on show, each in
// the order done (the page state and the API's answers).
static void write_edits(cd::JsonWriter& w) {
  // Read in place: the page state is written every frame, and a copy would copy every outline.
  for (bool drawn : {false, true}) {
    w.key(drawn ? "drawn" : "removed").begin_array();
    for (const cd::Segmentation::AppliedEdit& e : cd::segmentation().edits) {
      if (e.edit.outline.empty() != drawn) w.value(int64_t(e.edit.id));
    }
    w.end_array();
  }
}

std::string page_state_json() {
  const App& a = g_app;
  cd::JsonWriter w;
  w.begin_object();
  w.key("image").begin_object();
  w.key("name").value(a.image_file_name).key("stem").value(a.image_stem).key("sha256").value(a.image_sha256);
  w.key("url").value(a.image_url).key("bytes").value(int64_t(a.image_file.size()));
  // The calibration in use (square pixels; null: none) and who gave it, "file" or "user".
  const double pixel_size = a.image.square_pixel_size_um();
  w.key("pixelSizeUm");
  if (pixel_size > 0) w.value(pixel_size); else w.null();
  w.key("pixelSizeFrom");
  if (a.given_pixel_size_um > 0) w.value("user"); else if (pixel_size > 0) w.value("file"); else w.null();
  w.end_object();
  w.key("list").begin_object().key("index").value(a.list_index).key("count").value(a.list_count).end_object();
  w.key("batch").begin_object().key("total").value(a.batch_total).key("done").value(a.batch_done).end_object();
  w.key("runsStarted").value(cd::segmentation().runs_started);
  w.key("display").begin_object();
  w.key("colour").value(a.channel == kColourView).key("channel").value(a.channel);
  w.end_object();
  w.key("openError");
  if (a.open_error.empty()) w.null(); else w.value(a.open_error);
  w.key("modelError");
  if (cd::segmentation().model_error.empty()) w.null(); else w.value(cd::segmentation().model_error);
  w.key("exportError");
  if (a.export_error.empty()) w.null(); else w.value(a.export_error);
  w.key("link").begin_object();
  w.key("active").value(a.has_link).key("pending").value(a.link_pending);
  w.key("imageSha256").value(a.link.image_sha256).key("imageUrl").value(a.link.image_url).key("note").value(a.link_note);
  w.key("sameImage");
  if (a.has_link && !a.link.image_sha256.empty()) w.value(a.link.image_sha256 == a.image_sha256); else w.null();
  w.end_object();
  write_edits(w);
  w.key("borderObjects").value(cd::segmentation().border_objects);  // left out of the result on show
  // The colours the result on show was unmixed with, when it was read through a stain.
  w.key("stainVectors");
  if (const cd::Segmentation& seg = cd::segmentation(); seg.has_result && seg.read_through_stain) {
    w.begin_object().key("estimated").value(seg.stain_vectors_estimated);
    for (auto [key, v] : {std::pair{"hematoxylin", seg.stain_vectors.hematoxylin}, std::pair{"dab", seg.stain_vectors.dab}})
      w.key(key).begin_array().value(v[0]).value(v[1]).value(v[2]).end_array();
    w.end_object();
  } else {
    w.null();
  }
  w.key("drawMode").value(a.draw_mode);
  w.key("keysShown").value(a.show_keys);
  w.key("confirm");  // an action waiting for the user's yes because it would drop edits by hand
  if (a.confirm_kind.empty()) w.null(); else w.value(a.confirm_kind);
  w.key("shareFragment").value(a.share_fragment);
  w.key("backendChoice").value(a.backend_choice);
  w.key("params");
  if (a.model >= 0 && a.model < int(cd::segmentation().models.size())) w.value(run_params_json()); else w.null();
  // Marker-positive objects: the rule, and for the result on show the threshold in use and the count
  // (null when not counted).
  w.key("positive").begin_object().key("channel").value(a.positive_channel).key("stain");
  if (a.positive_stain == cd::Stain::None) w.null(); else w.value(cd::stain_name(a.positive_stain));
  w.key("otsu").value(a.positive_otsu);
  w.key("threshold");
  if (a.positive_count >= 0 && !std::isnan(a.positive_threshold)) w.value(a.positive_threshold); else w.null();
  w.key("count");
  if (a.positive_count >= 0) w.value(a.positive_count); else w.null();
  // Intensity grades: the 2+ and 3+ thresholds (null when not grading), and for the result on show
  // the objects of each grade (negative, 1+, 2+, 3+) and the H-score (null when not graded).
  w.key("grades");
  if (a.grading()) w.begin_array().value(a.grade_given[0]).value(a.grade_given[1]).end_array(); else w.null();
  w.key("gradeCounts");
  if (a.graded()) {
    w.begin_array();
    for (long long n : a.grades.objects) w.value(int64_t(n));
    w.end_array();
  } else {
    w.null();
  }
  w.key("hScore");
  if (a.graded()) w.value(a.grades.h_score); else w.null();
  w.key("note").value(a.positive_note);
  w.key("means");
  if (a.means_histogram.empty()) {
    w.null();
  } else {
    w.begin_object().key("low").value(a.means_low).key("high").value(a.means_high).key("histogram").begin_array();
    for (int n : a.means_histogram) w.value(n);
    w.end_array().end_object();
  }
  w.end_object();
  w.key("table").begin_object();
  w.key("rows").value(int64_t(a.table.objects.size())).key("selected").value(a.table.selected);
  w.key("sortColumn").value(cd::object_table_columns()[size_t(a.table.sort_column)]);
  w.key("ascending").value(a.table.sort_ascending);
  w.key("meanChannel").value(a.table.mean_channel);  // -1: the mean of the channels
  w.key("meanStain");  // the stain counted by, whose density the mean column shows instead
  if (a.table.mean_stain == cd::Stain::None) w.null(); else w.value(cd::stain_name(a.table.mean_stain));
  w.key("order").begin_array();
  for (size_t r = 0; r < a.table.order.size() && r < 20; r++) w.value(a.table.objects[size_t(a.table.order[r])].id);
  w.end_array();
  w.key("headers").begin_object();
  for (size_t c = 0; c < cd::object_table_columns().size() && c < 8; c++) {
    const float* r = a.table.header_rects[c];
    w.key(cd::object_table_columns()[c]).begin_object().key("x0").value(double(r[0])).key("y0").value(double(r[1]));
    w.key("x1").value(double(r[2])).key("y1").value(double(r[3])).end_object();
  }
  w.end_object();
  w.key("visibleRows").begin_array();
  for (const auto& row : a.table.visible_rows) {
    w.begin_object().key("id").value(row.id).key("x0").value(double(row.rect[0])).key("y0").value(double(row.rect[1]));
    w.key("x1").value(double(row.rect[2])).key("y1").value(double(row.rect[3])).end_object();
  }
  w.end_array();
  w.end_object();
  w.key("ui").begin_object();
  for (const auto& [name, r] : a.ui_rects) {
    w.key(name).begin_object().key("x0").value(double(r.x)).key("y0").value(double(r.y));
    w.key("x1").value(double(r.z)).key("y1").value(double(r.w)).end_object();
  }
  w.end_object();
  w.end_object();
  return w.str();
}

// Answers to the page API: JSON text in a buffer that stays valid until the next call.
static const char* answer(const std::string& json) {
  static std::string last;
  last = json;
  return last.c_str();
}

static const char* answer_error(const std::string& message) {
  return answer("{\"error\":" + cd::json_quote(message) + "}");
}

// {"ok":true,"removed":[ids],"drawn":[ids]}: the objects removed and drawn by hand in the result.
static const char* edits_answer() {
  cd::JsonWriter w;
  w.begin_object().key("ok").value(true);
  write_edits(w);
  w.end_object();
  return answer(w.str());
}

extern "C" {

// An image file the page was given (drop, paste, Open, ?image=), page `page` of a multi-page TIFF
// (-1: the first, or a share link's). {"ok":true,...,"page","pages"} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_open(const uint8_t* bytes, int size, const char* name, const char* url, int page) {
  std::string error;
  if (!open_file(bytes, size_t(std::max(size, 0)), name, url, page, &error)) return answer_error(error);
  const App& a = g_app;
  cd::JsonWriter w;
  w.begin_object().key("ok").value(true).key("name").value(a.image_file_name).key("width").value(a.image.width);
  w.key("height").value(a.image.height).key("channels").value(a.image.channels);
  w.key("page").value(a.image_page).key("pages").value(a.image_pages);
  w.key("type").value(cd::sample_type_name(a.image.type)).key("sha256").value(a.image_sha256).end_object();
  return answer(w.str());
}

// Where the page's list of images stands (web/page_api.js): image `index` (0-based) of `count`, named
// `name`, is being opened; a count under 2 means a single image and no list.
EMSCRIPTEN_KEEPALIVE void cd_app_image_list(int index, int count, const char* name) {
  App& a = g_app;
  a.list_index = index;
  a.list_count = count;
  a.list_name = name;
  redraw();
}

// "Segment all" (web/page_api.js's segmentAll): the page opens and runs each image of its list and
// hands each result, or why there is none, to the batch here, which keeps the files for one zip.
static cd::Batch g_batch;

EMSCRIPTEN_KEEPALIVE void cd_app_batch_begin(int total) {
  App& a = g_app;
  g_batch = cd::Batch();
  a.batch_total = std::max(total, 1);
  a.batch_done = 0;
  redraw();
}

// The list grew during the batch (a multi-page file's pages took its place).
EMSCRIPTEN_KEEPALIVE void cd_app_batch_total(int total) {
  g_app.batch_total = std::max(total, 1);
  redraw();
}

// The result on show joins the batch. {"ok":true} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_batch_add() {
  App& a = g_app;
  std::string error;
  a.batch_done++;
  redraw();
  if (!cd::batch_add_result(&g_batch, result_source(), &error)) {
    cd::batch_add_failure(&g_batch, a.image_file_name, a.image_pages > 1 ? a.image_page : -1, error);
    return answer_error(error);
  }
  return answer("{\"ok\":true}");
}

EMSCRIPTEN_KEEPALIVE void cd_app_batch_failed(const char* image_name, int page, const char* why) {
  g_app.batch_done++;
  redraw();
  cd::batch_add_failure(&g_batch, image_name, page, why);
}

// The zip of the batch: {"name","mime","size","data":<address>} or {"error"}; the batch is done.
EMSCRIPTEN_KEEPALIVE const char* cd_app_batch_finish() {
  App& a = g_app;
  static std::vector<uint8_t> zip;
  std::string error;
  const size_t images = g_batch.rows.size();
  const std::string model = g_batch.rows.empty() ? "" : cd::segmentation().model_name;
  const bool ok = cd::batch_zip(&g_batch, &zip, &error);
  g_batch = cd::Batch();
  a.batch_total = a.batch_done = 0;
  redraw();
  if (!ok) return answer_error("Could not save the zip: " + error);
  cd::JsonWriter w;
  w.begin_object().key("name").value("celldrop_" + (model.empty() ? std::string("results") : model) + "_" +
                                     std::to_string(images) + "-images.zip");
  w.key("mime").value("application/zip").key("size").value(int64_t(zip.size()));
  w.key("data").value(int64_t(reinterpret_cast<uintptr_t>(zip.data()))).end_object();
  return answer(w.str());
}

// The page could not even get the file's bytes (a download that failed): said where open errors are.
EMSCRIPTEN_KEEPALIVE void cd_app_open_failed(const char* message) {
  App& a = g_app;
  a.open_error = message;
  if (!cd::segmentation().has_result) a.run_wanted = true;  // the sample waited for this image
  redraw();
}

// An image is on its way (?image=, a link's URL): the sample is not segmented meanwhile.
EMSCRIPTEN_KEEPALIVE void cd_app_expect_image() { g_app.run_wanted = false; }

// Applies parameters (and "model") and starts a run. {"ok":true} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_run(const char* params_json) {
  cd::JsonValue p;
  std::string error;
  const std::string text = params_json && *params_json ? params_json : "{}";
  if (!cd::json_parse(text, &p, &error)) return answer_error("parameters are not JSON: " + error);
  if (!cd::segmentation().models_known) return answer_error("the site's models are still loading: try again in a moment");
  if (cd::segmentation().running) return answer_error("a segmentation is running: wait for it, or cancel it");
  if (!apply_params(p, &error)) return answer_error(error);
  if (!can_run()) return answer_error("nothing to segment: open an image first");
  g_app.run_wanted = false;
  run_segmentation();
  redraw();
  return answer("{\"ok\":true,\"params\":" + run_params_json() + "}");
}

// One export's bytes: {"name","mime","size","data":<address>} (valid until the next export) or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_export(const char* key) {
  static std::vector<uint8_t> bytes;
  std::string name, error;
  const char* mime = "";
  if (!make_export(key, &bytes, &name, &mime, &error)) return answer_error(error);
  cd::JsonWriter w;
  w.begin_object().key("name").value(name).key("mime").value(mime).key("size").value(int64_t(bytes.size()));
  w.key("data").value(int64_t(reinterpret_cast<uintptr_t>(bytes.data()))).end_object();
  return answer(w.str());
}

// The last result's label image: {"width","height","data":<address of width x height uint32>} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_labels() {
  const cd::Segmentation& s = cd::segmentation();
  if (!s.has_result) return answer_error("there is no result yet");
  cd::JsonWriter w;
  w.begin_object().key("width").value(s.labels.width).key("height").value(s.labels.height);
  w.key("data").value(int64_t(reinterpret_cast<uintptr_t>(s.labels.data.data()))).end_object();
  return answer(w.str());
}

// Removing objects by hand (the panel's Remove and Undo): ids_json is an array of ids, removed in
// that order; all or none. {"ok":true,"removed":[every id removed so far]} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_remove_objects(const char* ids_json) {
  const cd::Segmentation& s = cd::segmentation();
  cd::JsonValue ids;
  std::string error;
  if (!cd::json_parse(ids_json ? ids_json : "", &ids, &error) || !ids.is_array()) {
    return answer_error("removeObjects takes an array of object ids");
  }
  if (!s.has_result || s.running) return answer_error("there is no result to remove objects from: run a segmentation first");
  std::vector<uint32_t> wanted;
  for (const cd::JsonValue& v : ids.array) {
    if (!v.is_number()) return answer_error("removeObjects takes an array of object ids (numbers)");
    if (v.number < 1 || v.number >= double(s.areas.size()) || v.number != double(uint32_t(v.number)) ||
        s.areas[size_t(v.number)] == 0 || std::count(wanted.begin(), wanted.end(), uint32_t(v.number))) {
      return answer_error("the result has no object " + cd::json_number(v.number) + " to remove (ids are the table's; each once)");
    }
    wanted.push_back(uint32_t(v.number));
  }
  for (uint32_t id : wanted) cd::segmentation_remove_object(id);
  redraw();
  return edits_answer();
}

// Drawing an object by hand (the panel's Draw): points_json is [[x, y], ...], its outline in image
// pixels, rounded to whole pixels as a share link keeps it. {"ok":true,"id":N,"removed","drawn"} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_draw_object(const char* points_json) {
  const cd::Segmentation& s = cd::segmentation();
  const char* usage = "drawObject takes an outline: an array of at least 3 [x, y] points in image pixels";
  cd::JsonValue points;
  std::string error;
  if (!cd::json_parse(points_json ? points_json : "", &points, &error) || !points.is_array()) return answer_error(usage);
  std::vector<cd::Point2> outline;
  for (const cd::JsonValue& p : points.array) {
    if (!p.is_array() || p.array.size() != 2 || !p.array[0].is_number() || !p.array[1].is_number() ||
        std::fabs(p.array[0].number) > 1e6 || std::fabs(p.array[1].number) > 1e6) {
      return answer_error(usage);
    }
    outline.push_back({std::round(p.array[0].number), std::round(p.array[1].number)});
  }
  if (outline.size() < 3 || outline.size() > 4096) return answer_error(usage + std::string(" (at most 4096)"));
  if (!s.has_result || s.running) return answer_error("there is no result to draw objects in: run a segmentation first");
  const uint32_t id = cd::segmentation_draw_object(outline);
  if (id == 0) return answer_error("the outline encloses no free pixel of the image (objects already there are kept)");
  redraw();
  cd::JsonWriter w;
  w.begin_object().key("ok").value(true).key("id").value(int64_t(id));
  write_edits(w);
  w.end_object();
  return answer(w.str());
}

// Reverts the last edit by hand. {"ok":true,"removed","drawn"} or {"error"} when there was none.
EMSCRIPTEN_KEEPALIVE const char* cd_app_undo_edit() {
  if (!cd::segmentation_undo_edit()) return answer_error("nothing was removed or drawn by hand in this result");
  redraw();
  return edits_answer();
}

// The pixel size for this and later images, in micrometres (0: each file's own). {"ok":true} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_set_pixel_size(double um) {
  if (!(um >= 0.0 && um <= 1e6)) return answer_error("setPixelSize takes a length in micrometres above 0, or 0 for the file's own");
  set_pixel_size(um);
  redraw();
  return answer("{\"ok\":true}");
}

// Counting marker-positive nuclei: the marker a channel from 0 or a stain ("dab", "hematoxylin"; ""
// and a channel < 0 stop counting), threshold (NaN: Otsu's). {"ok":true} or {"error"}; a marker the
// image lacks is kept for later images, as the panel keeps it.
EMSCRIPTEN_KEEPALIVE const char* cd_app_set_positive(int channel, const char* stain_name, double threshold) {
  cd::Stain stain = cd::Stain::None;
  const std::string name = stain_name ? stain_name : "";
  if (!name.empty() && !cd::parse_stain(name, &stain))
    return answer_error("setPositive takes a channel from 0, \"dab\" or \"hematoxylin\" (or -1 to stop counting)");
  if (channel > 4095) return answer_error("setPositive takes a channel from 0 (or -1 to stop counting)");
  if (std::isinf(threshold)) return answer_error("setPositive takes a finite threshold, or none for Otsu's");
  set_positive(channel, stain, std::isnan(threshold), threshold);
  redraw();
  return answer("{\"ok\":true}");
}

// Intensity grades on the counting rule: the 2+ and 3+ thresholds (NaN and NaN: no grades), rising
// from the 1+ threshold, which must be given. {"ok":true} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_set_grades(double grade2, double grade3) {
  const App& a = g_app;
  if (std::isnan(grade2) != std::isnan(grade3) || std::isinf(grade2) || std::isinf(grade3))
    return answer_error("setPositive's grades are two finite thresholds, 2+ and 3+ (or none)");
  if (!std::isnan(grade2)) {
    if (a.positive_channel < 0 && a.positive_stain == cd::Stain::None)
      return answer_error("grades need a marker to count by: setPositive('dab', 0.2, [0.4, 0.6])");
    if (a.positive_otsu) return answer_error("grades take three thresholds: give the 1+ one too, as setPositive('dab', 0.2, [0.4, 0.6])");
    if (!(a.positive_given <= grade2 && grade2 <= grade3))
      return answer_error("the grades' thresholds must rise from 1+ to 3+, not " + cd::json_number(a.positive_given) + ", " +
                          cd::json_number(grade2) + ", " + cd::json_number(grade3));
  }
  set_grades(grade2, grade3);
  redraw();
  return answer("{\"ok\":true}");
}

// The fragment of a share link for the current state (what Share writes).
EMSCRIPTEN_KEEPALIVE const char* cd_app_share_fragment() { return answer(cd::share_fragment(current_share_state())); }

// A share link's fragment, read at start-up: {"ok":true,"imageUrl":...} or {"error"}.
EMSCRIPTEN_KEEPALIVE const char* cd_app_apply_link(const char* fragment) {
  App& a = g_app;
  std::vector<std::string> unknown;
  std::string error;
  cd::ShareState link;
  if (!cd::parse_share_fragment(fragment, &link, &unknown, &error)) {
    a.link_note = "The link could not be read: " + error + ".";
    return answer_error(error);
  }
  a.link = link;
  a.has_link = true;
  a.link_pending = true;
  if (!unknown.empty()) {
    std::string keys;
    for (const std::string& k : unknown) keys += (keys.empty() ? "" : ", ") + k;
    a.link_note = "The link has entries this version does not know (" + keys + "); they were ignored.";
  }
  if (!link.image_url.empty()) a.run_wanted = false;  // the link's image is on its way
  redraw();
  return answer("{\"ok\":true,\"imageUrl\":" + cd::json_quote(link.image_url) + "}");
}

}  // extern "C"
