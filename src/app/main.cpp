// CellDrop's page: a Dear ImGui window over WebGL2 that shows an image in a pan/zoom viewer with
// contrast controls, and segments it with a model in a worker (segmentation.h), drawing the masks'
// outlines over it. At start-up it shows the embedded sample: synthetic nuclei made by the core,
// segmented once with the default model when the site has one. Images the user opens (dropped,
// pasted, chosen, or from ?image=, all gathered by web/app.js and web/page_api.js) are segmented
// the same way; results are saved as files and described by share links.
//
// One file for the loop and the UI. Beside it: the page's state (app.h) and what it does apart from
// drawing (session.h), the page API's entry points (page_bridge.cpp), the viewer math (viewer.h),
// the display mapping (display.h), the GL texture (texture.h), the browser events (platform.h),
// opening files (intake.h), the exports (results.h), the object table (object_table.h) and share
// links (share.h).
#include <emscripten.h>
#include <emscripten/html5.h>

#include <GLES3/gl3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "app/app.h"
#include "app/display.h"
#include "app/object_table.h"
#include "app/overlay.h"
#include "app/page_bridge.h"
#include "app/platform.h"
#include "app/results.h"
#include "app/segmentation.h"
#include "app/session.h"
#include "app/share.h"
#include "app/texture.h"
#include "app/viewer.h"
#include "core/contours.h"
#include "core/measure.h"
#include "core/stains.h"
#include "imgui.h"
#include "imgui_internal.h"  // ClearActiveID: a finger that scrolls the panel presses nothing
#include "imgui_impl_opengl3.h"

namespace cd = celldrop;
namespace vw = celldrop::viewer;

// Layout, in CSS pixels.
constexpr float kPanelWidth = 300.0f;
constexpr float kFontSize = 15.0f;
constexpr double kFitMargin = 16.0;
constexpr ImU32 kSelectedColor = IM_COL32(60, 220, 255, 255);  // cyan: apart from the outlines' yellow
// While positive nuclei are counted the negatives are sky blue, close to that cyan: the selection is white then.
static ImU32 selected_color() { return g_app.positive_count >= 0 ? IM_COL32(255, 255, 255, 255) : kSelectedColor; }
constexpr const char* kFontFile = "/fonts/DejaVuSans.ttf";  // embedded at link time (CMakeLists.txt)

// DOM keyCodes, which platform.cpp uses as ImGui key indices.
enum : int { kKeyC = 'C', kKeyD = 'D', kKeyF = 'F', kKeyN = 'N', kKeyP = 'P', kKeyR = 'R', kKeyO = 'O', kKeyS = 'S', kKeyU = 'U',
             kKeyBackspace = 8, kKeyDelete = 46, kKeyEscape = 27, kKey1 = '1', kKeypad1 = 97, kKeyPlus = 187, kKeyMinus = 189, kKeypadPlus = 107,
             kKeypadMinus = 109, kKeyEquals = 61, kKeyDashFirefox = 173, kKeyComma = 188, kKeyPeriod = 190 };


// --- the page-visible state: the test (and later the page API) reads window.celldropShell ------------
EM_JS(void, js_publish_state,
      (int ready, int frames, int image_w, int image_h, int channels, const char* sample_type,
       int ground_truth, double zoom, double fit_zoom, int fitted, double origin_x, double origin_y,
       double vx0, double vy0, double vx1, double vy1, double dpr, int canvas_css_w, int canvas_css_h,
       int canvas_px_w, int canvas_px_h, double low, double high, double data_min, double data_max,
       int hover_inside, int hover_x, int hover_y, double hover_value, const char* error),
      {
        const s = {
          ready : !!ready,
          frames : frames,
          image : {width : image_w, height : image_h, channels : channels, type : UTF8ToString(sample_type),
                   groundTruthObjects : ground_truth},
          // zoom: CSS pixels per image pixel; zoomPercent: device pixels per image pixel x 100.
          view : {zoom : zoom, zoomPercent : zoom * dpr * 100, fitZoom : fit_zoom, fitted : !!fitted,
                  originX : origin_x, originY : origin_y},
          viewport : {x0 : vx0, y0 : vy0, x1 : vx1, y1 : vy1},
          imageRect : {x0 : origin_x, y0 : origin_y, x1 : origin_x + image_w * zoom, y1 : origin_y + image_h * zoom},
          devicePixelRatio : dpr,
          canvas : {cssWidth : canvas_css_w, cssHeight : canvas_css_h, width : canvas_px_w, height : canvas_px_h},
          contrast : {min : low, max : high, dataMin : data_min, dataMax : data_max},
          hover : hover_inside ? {x : hover_x, y : hover_y, value : hover_value} : null,
          error : UTF8ToString(error) || null,
        };
        window.celldropShell = s;
        const state = s.error ? 'error' : s.ready ? 'ready' : 'loading';
        if (document.body.dataset.state !== state) document.body.dataset.state = state;
      });

// A fatal problem before anything can be drawn: the page shows it in HTML (app.js listens).
EM_JS(void, js_fatal, (const char* message), {
  window.dispatchEvent(new CustomEvent('celldrop-fatal', {detail : UTF8ToString(message)}));
});

EM_JS(void, js_publish_segmentation,
      (int models_known, const char* models_csv, const char* model, int running, const char* stage, int tile,
       int tiles, int pass, int passes, double elapsed_s, const char* backend, int has_result, int objects,
       double checksum, double diameter, int diameter_estimated, int tiles_run,
       int runs, double decode_s, double inference_s, double postprocess_s, double total_s, int reused, int live, int threads, const char* error, int cancelled,
       int show_overlay, int overlay_mode, double opacity, int hover_id, int hover_area, const float* rects, int n_rects),
      {
        const r = (i) => ({x0 : HEAPF32[(rects >> 2) + 4 * i], y0 : HEAPF32[(rects >> 2) + 4 * i + 1],
                           x1 : HEAPF32[(rects >> 2) + 4 * i + 2], y1 : HEAPF32[(rects >> 2) + 4 * i + 3]});
        const modelRects = [];
        for (let i = 4; i < n_rects; i++) modelRects.push(r(i));
        const models = UTF8ToString(models_csv);
        window.celldropShell.segmentation = {
          modelsKnown : !!models_known,
          models : models ? models.split('\n') : [],
          model : UTF8ToString(model) || null,
          running : !!running,
          progress : {stage : UTF8ToString(stage), tile : tile, tiles : tiles, pass : pass, passes : passes,
                      elapsed : elapsed_s},
          backend : UTF8ToString(backend) || null,
          hasResult : !!has_result,
          count : has_result ? objects : null,
          labelsChecksum : has_result ? checksum : null,
          diameter : has_result ? diameter : null,
          diameterEstimated : !!diameter_estimated,
          tilesRun : tiles_run,
          runs : runs,
          timings : has_result ? {decode : decode_s, inference : inference_s, postprocess : postprocess_s, total : total_s} : null,
          reused : has_result ? !!reused : null,
          live : !!live,
          threads : threads,
          error : UTF8ToString(error) || null,
          cancelled : !!cancelled,
          outlines : {visible : !!show_overlay && overlay_mode != 1, opacity : opacity},
          overlay : {visible : !!show_overlay, mode : ['outlines', 'filled', 'both'][overlay_mode], opacity : opacity},
          hoverObject : hover_id ? {id : hover_id, area : hover_area} : null,
          ui : {run : r(0), cancel : r(1), autoDiameter : r(2), diameter : r(3), models : modelRects},
        };
      });

// The page-level state beside the viewer's: the image's identity, errors, the share link's badge,
// the table and named control rectangles. One JSON text, parsed in the page.
EM_JS(void, js_publish_page, (const char* json), {
  if (window.celldropShell) window.celldropShell.page = JSON.parse(UTF8ToString(json));
});

static void publish_state() {
  const App& a = g_app;
  const cd::Platform& p = a.platform;
  double fit = vw::fit_zoom(a.viewport, a.image.width, a.image.height, kFitMargin);
  js_publish_state(a.ready, a.frames, a.image.width, a.image.height, a.image.channels,
                   a.image.empty() ? "" : cd::sample_type_name(a.image.type), a.ground_truth_count,
                   a.view.zoom, fit, a.fitted, a.view.origin.x, a.view.origin.y, a.viewport.min.x,
                   a.viewport.min.y, a.viewport.max.x, a.viewport.max.y, p.device_pixel_ratio, p.css_width,
                   p.css_height, p.pixel_width, p.pixel_height, a.contrast.low, a.contrast.high, a.stats.min,
                   a.stats.max, a.hover.inside, a.hover.x, a.hover.y, a.hover.value, a.error.c_str());
  const cd::Segmentation& s = cd::segmentation();
  std::string names;
  for (const cd::ModelChoice& m : s.models) names += (names.empty() ? "" : "\n") + m.name;
  std::vector<ImVec4> rects = {a.run_rect, a.cancel_rect, a.auto_diameter_rect, a.diameter_rect};
  rects.insert(rects.end(), a.model_rects.begin(), a.model_rects.end());
  const char* model = a.model >= 0 && a.model < int(s.models.size()) ? s.models[size_t(a.model)].name.c_str() : "";
  uint32_t area = a.hover_object < s.areas.size() ? s.areas[a.hover_object] : 0;
  js_publish_segmentation(s.models_known, names.c_str(), model, s.running, s.stage.c_str(), s.tile, s.tiles, s.pass,
                          s.passes, s.elapsed_s, s.backend.c_str(), s.has_result, s.objects, double(s.checksum), s.diameter,
                          s.diameter_estimated, s.tiles_run, s.runs_finished,
                          s.decode_s, s.inference_s, s.postprocess_s, s.total_s, s.reused, s.running && s.running_live, s.threads, s.error.c_str(), s.cancelled, a.show_overlay, int(a.overlay_mode),
                          a.overlay_opacity, int(a.hover_object), int(area), &rects[0].x, int(rects.size()));
  js_publish_page(page_state_json().c_str());
}

// --- fonts and style -------------------------------------------------------------------------------------
// Glyphs are rasterised at the device resolution and drawn scaled back by 1/dpr: sharp on HiDPI.
static void load_fonts(double dpr) {
  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  cfg.OversampleV = 1;
  ImFont* font = io.Fonts->AddFontFromFileTTF(kFontFile, float(kFontSize * dpr), &cfg);
  if (!font) {
    // The build embeds the font; without it ImGui's built-in bitmap font still keeps the page usable.
    ImFontConfig fallback;
    fallback.SizePixels = float(13.0 * dpr);
    io.Fonts->AddFontDefault(&fallback);
  }
  io.FontGlobalScale = float(1.0 / dpr);
}

static void apply_style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowRounding = 0.0f;
  s.WindowBorderSize = 0.0f;
  s.FrameRounding = 3.0f;
  s.GrabRounding = 3.0f;
  s.WindowPadding = ImVec2(14, 12);
  s.FramePadding = ImVec2(8, 5);
  s.ItemSpacing = ImVec2(8, 7);
  s.GrabMinSize = 12.0f;
  ImVec4* c = s.Colors;
  c[ImGuiCol_WindowBg] = ImVec4(0.125f, 0.133f, 0.145f, 1.0f);
  c[ImGuiCol_Text] = ImVec4(0.90f, 0.91f, 0.92f, 1.0f);
  c[ImGuiCol_TextDisabled] = ImVec4(0.60f, 0.62f, 0.65f, 1.0f);
  c[ImGuiCol_Separator] = ImVec4(0.26f, 0.28f, 0.31f, 1.0f);
  c[ImGuiCol_FrameBg] = ImVec4(0.18f, 0.19f, 0.21f, 1.0f);
  c[ImGuiCol_FrameBgHovered] = ImVec4(0.22f, 0.24f, 0.27f, 1.0f);
  c[ImGuiCol_FrameBgActive] = ImVec4(0.25f, 0.28f, 0.32f, 1.0f);
  c[ImGuiCol_Button] = ImVec4(0.20f, 0.32f, 0.46f, 1.0f);
  c[ImGuiCol_ButtonHovered] = ImVec4(0.25f, 0.40f, 0.57f, 1.0f);
  c[ImGuiCol_ButtonActive] = ImVec4(0.18f, 0.29f, 0.42f, 1.0f);
  c[ImGuiCol_SliderGrab] = ImVec4(0.40f, 0.60f, 0.85f, 1.0f);
  c[ImGuiCol_SliderGrabActive] = ImVec4(0.50f, 0.70f, 0.95f, 1.0f);
}

static void refresh_texture() {
  App& a = g_app;
  if (!a.texture_dirty || a.image.empty()) return;
  a.texture_dirty = false;
  const bool colour = a.channel == kColourView;
  if (colour) cd::map_to_rgb(a.image, a.contrast, &a.display_pixels);
  else cd::map_to_gray(a.image, a.channel, a.contrast, &a.display_pixels);
  std::string why;
  if (!cd::upload_image_texture(&a.texture, a.display_pixels.data(), a.image.width, a.image.height, colour ? 3 : 1,
                                &why)) {
    a.error = "Cannot show the image: " + why + ".";
  }
}

// The value under the pointer: the channel on show's, or channel 1's in the colour view (the status
// line then lists all three).
static double sample_value(int x, int y) { return g_app.image.at(x, y, std::max(0, g_app.channel)); }

// --- UI pieces ---------------------------------------------------------------------------------------------
static std::string format_value(double v) {
  char buf[48];
  bool integer = g_app.image.type != cd::SampleType::F32;
  std::snprintf(buf, sizeof buf, integer ? "%.0f" : "%.5g", v);
  return buf;
}

static void wrapped_disabled(const char* text) {
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", text);
  ImGui::PopStyleColor();
}

// Whether an item `width` wide fits beside the last one, before the panel's edge.
static bool fits_beside(float width) {
  const float right = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + width;
  return right <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
}

// A button's width for `label`: its text and the frame's padding on both sides.
static float button_width(const char* label) {
  return ImGui::CalcTextSize(label, nullptr, true).x + ImGui::GetStyle().FramePadding.x * 2.0f;
}

// Places the next button beside the last one when it fits there, else on a new line.
static void same_line_if_fits(const char* next_label) {
  if (fits_beside(button_width(next_label))) ImGui::SameLine();
}

static void heading(const char* text) {
  ImGui::Spacing();
  ImGui::TextDisabled("%s", text);
  ImGui::Separator();
}

// Histogram of the channel (log counts: the background peak would otherwise flatten everything
// else) with the contrast window and its grey ramp drawn over it.
static void draw_histogram(float height) {
  const App& a = g_app;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  float w = ImGui::GetContentRegionAvail().x;
  ImVec2 p1(p0.x + w, p0.y + height);
  dl->AddRectFilled(p0, p1, IM_COL32(24, 26, 29, 255), 3.0f);
  const std::vector<float>& h = a.stats.histogram;
  float top = 0.0f;
  for (float c : h) top = std::max(top, std::log1p(c));
  double range = a.stats.max - a.stats.min;
  if (!h.empty() && top > 0.0f) {
    float bw = w / float(h.size());
    for (size_t i = 0; i < h.size(); i++) {
      float f = std::log1p(h[i]) / top;
      if (f <= 0.0f) continue;
      float x0 = p0.x + bw * float(i), x1 = x0 + std::max(1.0f, bw - 0.5f);
      dl->AddRectFilled(ImVec2(x0, p1.y - f * (height - 4)), ImVec2(x1, p1.y), IM_COL32(120, 130, 145, 255));
    }
  }
  if (range > 0.0) {
    auto x_of = [&](double v) { return p0.x + float((v - a.stats.min) / range) * w; };
    float xl = std::clamp(x_of(a.contrast.low), p0.x, p1.x);
    float xh = std::clamp(x_of(a.contrast.high), p0.x, p1.x);
    dl->PushClipRect(p0, p1, true);
    dl->AddLine(ImVec2(p0.x, p1.y - 1), ImVec2(x_of(a.contrast.low), p1.y - 1), IM_COL32(230, 230, 230, 200), 1.5f);
    dl->AddLine(ImVec2(x_of(a.contrast.low), p1.y - 1), ImVec2(x_of(a.contrast.high), p0.y + 1),
                IM_COL32(230, 230, 230, 200), 1.5f);
    dl->AddLine(ImVec2(x_of(a.contrast.high), p0.y + 1), ImVec2(p1.x, p0.y + 1), IM_COL32(230, 230, 230, 200), 1.5f);
    dl->PopClipRect();
    dl->AddLine(ImVec2(xl, p0.y), ImVec2(xl, p1.y), IM_COL32(90, 160, 240, 255), 1.5f);
    dl->AddLine(ImVec2(xh, p0.y), ImVec2(xh, p1.y), IM_COL32(90, 160, 240, 255), 1.5f);
  }
  ImGui::Dummy(ImVec2(w, height));
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip(a.channel == kColourView
                          ? "Histogram of channels 1-3 together (log counts), with the contrast window.\n"
                            "In each channel, values below Min show none of its colour, above Max all of it."
                          : "Histogram of the channel (log counts), with the contrast window.\n"
                            "Values below Min show black, above Max white.");
  }
}

static void fit_view() {
  g_app.view = vw::fit(g_app.viewport, g_app.image.width, g_app.image.height, kFitMargin);
  g_app.fitted = true;
}

static void one_to_one() {
  App& a = g_app;
  vw::ZoomLimits lim = vw::zoom_limits(a.viewport, a.image.width, a.image.height, a.platform.device_pixel_ratio);
  a.view = vw::zoom_to(a.view, a.viewport.center(), 1.0 / a.platform.device_pixel_ratio, lim);
  a.fitted = false;
}

static void zoom_center(double factor) {
  App& a = g_app;
  vw::ZoomLimits lim = vw::zoom_limits(a.viewport, a.image.width, a.image.height, a.platform.device_pixel_ratio);
  a.view = vw::zoom_about(a.view, a.viewport.center(), factor, lim);
  a.fitted = false;
}

// --- results: measurements, outlines, exports --------------------------------------------------------------
// A new result (or overlay mode): a new result's objects are measured, traced and classified once for
// the table, the tooltip and the exports, and then the overlay texture is rebuilt once in their
// colours (opacity is applied when drawing). A change of classes alone repaints the boxes of the
// objects whose colour changed, unless they cover much of the image: one upload then costs less than
// many small ones.
static void refresh_overlay() {
  App& a = g_app;
  cd::Segmentation& s = cd::segmentation();
  if (!s.result_changed && !a.overlay_dirty && a.overlay_repaint.empty()) return;
  std::vector<cd::OverlayRect> parts = std::move(a.overlay_repaint);
  a.overlay_repaint.clear();
  if (!s.has_result) {
    a.overlay_dirty = false;
    return;
  }
  std::string why;
  bool whole = a.overlay_dirty || s.result_changed;
  if (s.result_changed) {
    s.result_changed = false;
    const bool edited = s.result_edited;  // a removal by hand: the table keeps its order
    s.result_edited = false;
    std::vector<cd::ObjectMeasurements> objects;
    if (!cd::measure_objects(s.labels, &a.image, &objects, &why) ||
        // Read through a stain, it is a brightfield slide: its objects' stain densities are measured
        // too (what a count by DAB reads), with the colours the run unmixed it with.
        (s.read_through_stain && !cd::measure_stains(s.labels, a.image, s.stain_vectors, &objects, &why))) {
      s.error = "the objects cannot be measured: " + why + ".";
      s.has_result = false;
      return;
    }
    const int column = a.table.sort_column;
    const bool ascending = a.table.sort_ascending;
    cd::object_table_reset(&a.table, std::move(objects));
    if (edited) cd::object_table_sort(&a.table, column, ascending);
    a.contours = cd::trace_contours(s.labels);
    classify_objects();
    a.overlay_repaint.clear();
    if (a.select_when_measured) {
      select_object(a.select_when_measured, false);
      a.table.scroll_to_selected = a.table.selected != 0;
      a.select_when_measured = 0;
    }
  }
  a.overlay_dirty = false;
  const int w = s.labels.width, h = s.labels.height;
  long long area = 0;
  for (const cd::OverlayRect& r : parts) area += (long long)(r.x1 - r.x0) * (r.y1 - r.y0);
  whole = whole || a.overlay.id == 0 || a.overlay.width != w || a.overlay.height != h || parts.size() > kMostOverlayRepaints ||
          area > (long long)w * h / 4;
  bool uploaded = true;
  if (whole) {
    uploaded = cd::allocate_rgba_texture(&a.overlay, w, h, &why);
    // A band of rows at a time (64 rows of a 4096 px wide image: 1 MB), not the whole layer.
    const int band = std::max(1, (1 << 20) / std::max(1, w * 4));
    parts.clear();
    for (int y = 0; y < h; y += band) parts.push_back({0, y, w, std::min(y + band, h)});
  }
  std::vector<uint8_t> pixels;
  cd::clear_graphics_errors();
  for (size_t i = 0; uploaded && i < parts.size(); i++) {
    const cd::OverlayRect& r = parts[i];
    pixels.resize(std::max(pixels.size(), size_t(r.x1 - r.x0) * size_t(r.y1 - r.y0) * 4));
    cd::overlay_rgba_rect(s.labels, a.overlay_mode, cd::kOutlineRgb, r.x0, r.y0, r.x1, r.y1, pixels.data(),
                          a.class_rgb.empty() ? nullptr : &a.class_rgb);
    cd::upload_rgba_rect(&a.overlay, pixels.data(), r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
  }
  uploaded = uploaded && cd::graphics_ok("overlay", &why);
  if (!uploaded) {
    cd::destroy_texture(&a.overlay);
    s.error = "the masks cannot be shown: " + why + ".";
    s.has_result = false;
  }
}

// --- drawing by hand -----------------------------------------------------------------------------------------
static void toggle_draw_mode() {
  App& a = g_app;
  a.draw_mode = !a.draw_mode;
  a.stroke.clear();
  a.draw_note.clear();
}

// The traced outline becomes an object. Traced pixel by pixel, it is first cut to its corners (within
// 0.7 px), which is what the share link and the run record then carry.
static void finish_stroke() {
  App& a = g_app;
  std::vector<cd::Point2> outline = cd::simplify_polyline(a.stroke, 0.7);
  a.stroke.clear();
  a.draw_note.clear();
  if (outline.size() > 3 && outline.front().x == outline.back().x && outline.front().y == outline.back().y) {
    outline.pop_back();  // a trace closed by hand repeats its start
  }
  if (outline.size() < 3) return;  // a click or a line: nothing enclosed
  const uint32_t id = cd::segmentation_draw_object(outline);
  if (id) {
    a.select_when_measured = id;
  } else {
    a.draw_note = "Nothing was drawn: the outline enclosed no free pixel (objects already there are kept).";
  }
}

EM_JS(void, js_download, (const char* name, const char* mime, const uint8_t* bytes, int size), {
  const blob = new Blob([HEAPU8.slice(bytes, bytes + size)], {type : UTF8ToString(mime)});
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = UTF8ToString(name);
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The download has its own copy once it started; a minute is ample.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
});

static void download_export(const std::string& key) {
  App& a = g_app;
  std::vector<uint8_t> bytes;
  std::string name, error;
  const char* mime = "";
  if (!make_export(key, &bytes, &name, &mime, &error)) {
    a.export_error = "Could not save: " + error + ".";
    return;
  }
  a.export_error.clear();
  js_download(name.c_str(), mime, bytes.data(), int(bytes.size()));
}

static void centre_on_object(const cd::ObjectMeasurements& m) {
  App& a = g_app;
  vw::ZoomLimits lim = vw::zoom_limits(a.viewport, a.image.width, a.image.height, a.platform.device_pixel_ratio);
  // Small objects are brought up to a quarter of the viewer, so the selection is plain to see.
  double extent = std::max(1, std::max(m.bbox_x1 - m.bbox_x0, m.bbox_y1 - m.bbox_y0));
  double want = 0.25 * std::min(a.viewport.width(), a.viewport.height()) / extent;
  if (a.view.zoom < want) a.view = vw::zoom_to(a.view, a.viewport.center(), want, lim);
  vw::Vec2 at = vw::image_to_screen(a.view, {m.centroid_x + 0.5, m.centroid_y + 0.5});
  vw::Vec2 c = a.viewport.center();
  a.view = vw::pan_by(a.view, {c.x - at.x, c.y - at.y});
  a.fitted = false;
}

static ImVec4 item_rect() {
  ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
  return ImVec4(lo.x, lo.y, hi.x, hi.y);
}

// Publishes the last item's rectangle under `name` (cleared each frame) for the browser tests.
static void ui_rect(const std::string& name) { g_app.ui_rects.emplace_back(name, item_rect()); }

EM_JS(void, js_choose_file, (), {
  // web/app.js's hidden <input type=file>; the click counts as the user's (a button was just pressed).
  const input = document.getElementById('celldrop-open');
  if (input) input.click();
});

EM_JS(void, js_step_image, (int delta), {
  // web/page_api.js's list of images opened together.
  if (Module.imageList) Module.imageList.step(delta);
});

EM_JS(void, js_segment_all, (), {
  if (Module.imageList) Module.imageList.segmentAll();
});

EM_JS(void, js_choose_model, (), {
  // web/app.js's hidden chooser for a model's .onnx and .json together.
  const input = document.getElementById('celldrop-load-model');
  if (input) input.click();
});

EM_JS(void, js_share, (const char* fragment), {
  const hash = '#' + UTF8ToString(fragment);
  history.replaceState(null, "", hash);
  // The clipboard may be refused (no permission, not focused): the address bar has the link anyway.
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(location.href).catch(() => {});
});

EM_JS(void, js_ask_pixel_size, (double current), {
  window.dispatchEvent(new CustomEvent('celldrop-ask-pixel-size', {detail : {current : current}}));
});

// A decimal number as people type it: digits and one separator, a point or a comma (ImGui's number
// fields drop the comma, which would read "0,5" as 5).
static int decimal_char(ImGuiInputTextCallbackData* data) {
  if (data->EventChar == ',') data->EventChar = '.';
  return (data->EventChar >= '0' && data->EventChar <= '9') || data->EventChar == '.' ? 0 : 1;
}

// The calibration, as ImageJ's "Set Scale": the file's pixel size, or one the user types, which stays
// for the images opened after this one (a folder of PNGs from one microscope carries none). Only
// the areas in um^2 and the files' calibration follow; a typed value applies when the field is left.
static void pixel_size_row() {
  App& a = g_app;
  const double pixel_size = a.image.square_pixel_size_um();
  if (!a.pixel_size_typing) std::snprintf(a.pixel_size_text, sizeof a.pixel_size_text, "%g", pixel_size);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Pixel size");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::CalcTextSize("0.00000").x + 2.0f * ImGui::GetStyle().FramePadding.x);
  ImGui::InputText("##pixel_size", a.pixel_size_text, sizeof a.pixel_size_text, ImGuiInputTextFlags_CallbackCharFilter,
                   decimal_char);
  if (ImGui::IsItemActivated() && a.platform.last_pointer_touch) {
    // A finger: a canvas brings up no on-screen keyboard, so the page asks in a field of its own
    // (web/app.js), which sets the size through the page API.
    ImGui::ClearActiveID();
    js_ask_pixel_size(pixel_size);
  }
  a.pixel_size_typing = ImGui::IsItemActive();
  if (ImGui::IsItemDeactivatedAfterEdit()) {
    // Empty is 0 (each file's own); a malformed number ("1.2.3") changes nothing, and the field shows
    // the size in use again.
    char* end = nullptr;
    const double um = a.pixel_size_text[0] ? std::strtod(a.pixel_size_text, &end) : 0.0;
    if (!a.pixel_size_text[0] || (*end == '\0' && um <= 1e6)) set_pixel_size(um);
  }
  ui_rect("pixel_size");
  // Where it comes from: beside the field when the panel is wide enough, else in its tooltip (the
  // object table below needs the height).
  char note[96];
  if (a.given_pixel_size_um > 0) {
    std::snprintf(note, sizeof note, "yours, for the next images too");
  } else if (pixel_size > 0) {
    std::snprintf(note, sizeof note, "from file");
  } else if (a.image.pixel_size_x_um > 0) {
    std::snprintf(note, sizeof note, "%g \xC3\x97 %g in file", a.image.pixel_size_x_um, a.image.pixel_size_y_um);
  } else {
    std::snprintf(note, sizeof note, "none in file");
  }
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("Micrometres per pixel (%s): gives the objects' areas in \xC2\xB5m\xC2\xB2 and calibrates the\n"
                      "label files. A size you type is used for the next images too; 0 goes back to each file's own",
                      note);
  }
  ImGui::SameLine();
  ImGui::TextUnformatted("\xC2\xB5m");
  if (a.given_pixel_size_um > 0) {
    same_line_if_fits("Use file's");
    if (ImGui::SmallButton("Use file's")) set_pixel_size(0.0);
    ui_rect("pixel_size.file");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Use each file's own pixel size again (none when it has none)");
  } else if (fits_beside(ImGui::CalcTextSize(note).x)) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", note);
  }
}

// The IMAGE section: what is on show, how to open another, and what the last open or link said.
static void image_section() {
  App& a = g_app;
  heading("IMAGE");
  ImGui::TextWrapped("%s", a.image_title.c_str());  // a long file name wraps rather than being cut
  if (!a.image.empty()) {
    ImGui::Text("%d \xC3\x97 %d px, %d channel%s, %s", a.image.width, a.image.height, a.image.channels,
                a.image.channels == 1 ? "" : "s", cd::sample_type_name(a.image.type));
    if (a.ground_truth_count > 0) ImGui::Text("%d nuclei in its ground truth", a.ground_truth_count);
    wrapped_disabled(a.image_note.c_str());
    pixel_size_row();
  }
  if (ImGui::Button("Open image...")) js_choose_file();
  ui_rect("open");
  ImGui::SameLine();
  ImGui::TextDisabled("or drop / paste one");
  if (a.list_count > 1) {
    // Images opened together: each is segmented with the same parameters as it comes up.
    ImGui::BeginDisabled(a.list_index == 0 || a.batch_total > 0);
    if (ImGui::Button("< Previous (P)")) unless_edits_lost("step", [] { js_step_image(-1); });
    ImGui::EndDisabled();
    ui_rect("previous_image");
    ImGui::SameLine();
    ImGui::Text("%d of %d", a.list_index + 1, a.list_count);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", a.list_name.c_str());
    ImGui::SameLine();
    ImGui::BeginDisabled(a.list_index + 1 >= a.list_count || a.batch_total > 0);
    if (ImGui::Button("Next (N) >")) unless_edits_lost("step", [] { js_step_image(1); });
    ImGui::EndDisabled();
    ui_rect("next_image");
    if (a.batch_total > 0) {
      ImGui::Text("Segmenting all: %d of %d done", a.batch_done, a.batch_total);
      wrapped_disabled("Cancel (Esc) stops at the image in progress and saves what is done.");
    } else {
      char label[64];
      std::snprintf(label, sizeof label, "Segment all %d, save a zip", a.list_count);
      ImGui::BeginDisabled(!cd::segmentation().models_known || a.model < 0);
      if (ImGui::Button(label)) unless_edits_lost("segment_all", [] { js_segment_all(); });
      ImGui::EndDisabled();
      ui_rect("segment_all");
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("Each image in turn with the model and parameters in use: its labels, measurements and\n"
                          "run record in one zip, with summary.csv (objects, mean area and diameter per image)");
      }
    }
  }
  if (a.has_link && !a.link.image_sha256.empty() && !a.image_sha256.empty()) {
    bool same = a.link.image_sha256 == a.image_sha256;
    ImGui::PushStyleColor(ImGuiCol_Button, same ? ImVec4(0.16f, 0.42f, 0.24f, 1.0f) : ImVec4(0.55f, 0.36f, 0.08f, 1.0f));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImGui::GetStyleColorVec4(ImGuiCol_Button));
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImGui::GetStyleColorVec4(ImGuiCol_Button));
    ImGui::SmallButton(same ? "Same image as the link" : "A different image than the link's");
    ImGui::PopStyleColor(3);
    ui_rect("badge");
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("The link was made on %s (sha256 %.12s...); this image's sha256 is %.12s...",
                        a.link.image_name.empty() ? "an image" : a.link.image_name.c_str(), a.link.image_sha256.c_str(),
                        a.image_sha256.c_str());
    }
  }
  if (!a.link_note.empty()) ImGui::TextWrapped("%s", a.link_note.c_str());
  if (!a.open_error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.6f, 0.55f, 1.0f));
    ImGui::TextWrapped("%s", a.open_error.c_str());
    ImGui::PopStyleColor();
    if (!a.image.empty()) wrapped_disabled("The image and results you had are still here.");
  }
}

static void positive_controls();

// The RESULTS section: the exports, the share link and the object table.
static void results_section() {
  App& a = g_app;
  const cd::Segmentation& s = cd::segmentation();
  heading("RESULTS");
  if (!s.has_result) {
    wrapped_disabled("Run a segmentation to save masks, tables and outlines.");
  } else {
    const std::vector<cd::ExportKind>& kinds = cd::export_kinds();
    float half = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    for (size_t i = 0; i < kinds.size(); i++) {
      if (i % 2 == 1) ImGui::SameLine();
      if (ImGui::Button(kinds[i].button, ImVec2(half, 0.0f))) download_export(kinds[i].key);
      ui_rect(std::string("export.") + kinds[i].key);
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s\nSaved as %s", kinds[i].tooltip, cd::export_file_name(kinds[i], result_source()).c_str());
    }
    if (kinds.size() % 2 == 1) ImGui::SameLine();  // beside the last export, sparing a line
  }
  if (ImGui::Button("Share link  (S)", ImVec2(s.has_result ? (ImGui::GetContentRegionAvail().x) : 0.0f, 0.0f))) {
    a.share_fragment = cd::share_fragment(current_share_state());
    js_share(a.share_fragment.c_str());
  }
  ui_rect("share");
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("A link with the model, its sha256, every parameter and the image's sha256 (and URL):\n"
                      "opened with the same image it reproduces these masks. The image itself is not in it.");
  }
  if (!a.share_fragment.empty()) ImGui::TextDisabled("Link copied and in the address bar.");
  if (!a.export_error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.6f, 0.55f, 1.0f));
    ImGui::TextWrapped("%s", a.export_error.c_str());
    ImGui::PopStyleColor();
  }
  if (!s.has_result || s.running) a.draw_mode = false;
  if (s.has_result) {
    // Curation: a false detection is removed by hand, a missed nucleus drawn, and Undo reverts the last
    // edit; the count, the table, every export and the share link follow. The other objects keep their ids.
    // Short labels, so the three buttons share one line and leave the table its rows; the tooltips
    // give the keys.
    ImGui::BeginDisabled(!a.table.selected || s.running);
    if (ImGui::Button("Remove")) cd::segmentation_remove_object(a.table.selected);
    ImGui::EndDisabled();
    ui_rect("remove_object");
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
      if (a.table.selected) {
        ImGui::SetTooltip("Remove object %u, the selected one, when it is no nucleus (Delete).\n"
                          "A new run or a threshold change starts again from the model's masks.", a.table.selected);
      } else {
        ImGui::SetTooltip("Select an object (click it, or its row), then remove it when it is no nucleus (Delete).\n"
                          "A new run or a threshold change starts again from the model's masks.");
      }
    }
    same_line_if_fits("Draw");
    const bool drawing = a.draw_mode;
    if (drawing) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
    ImGui::BeginDisabled(s.running);
    if (ImGui::Button("Draw")) toggle_draw_mode();
    ImGui::EndDisabled();
    if (drawing) ImGui::PopStyleColor();
    ui_rect("draw_object");
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
      ImGui::SetTooltip("Add a nucleus the model missed (D): drag around it in the image. It takes only\n"
                        "free pixels, never a neighbour's. D or Esc ends drawing; the middle button still pans.");
    }
    same_line_if_fits("Undo");
    ImGui::BeginDisabled(s.edits.empty() || s.running);
    if (ImGui::Button("Undo")) cd::segmentation_undo_edit();
    ImGui::EndDisabled();
    ui_rect("undo_edit");
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Undo the last removal or drawing (U, Ctrl+Z).");
    if (a.draw_mode) wrapped_disabled("Drawing: drag around a nucleus.");
    if (!a.draw_note.empty()) wrapped_disabled(a.draw_note.c_str());
  }
  // Counting positive nuclei takes the line a hint to the table had (the table's headers say it now).
  if (s.has_result) positive_controls();
  if (s.has_result && !a.table.objects.empty()) {
    // The table takes the rest of the panel and its rows scroll inside it. Taller than that rest, its
    // last rows would hide below the panel's edge, where selecting them could not bring them into
    // view; only a very short window gets a four-row table and a scrolling panel.
    float height = std::max(ImGui::GetTextLineHeightWithSpacing() * 4.0f, ImGui::GetContentRegionAvail().y - 2.0f);
    cd::object_table_set_mean_channel(&a.table, a.channel == kColourView ? -1 : a.channel);
    cd::object_table_set_mean_stain(&a.table, a.positive_count >= 0 ? a.positive_stain : cd::Stain::None);
    uint32_t clicked = cd::object_table_draw(&a.table, height, a.platform.touch_count == 1);
    if (clicked) select_object(clicked, true);
  }
}

// A colour swatch the size of a text line's height, then its label on the same line.
static void swatch(ImU32 color, bool line, const char* label) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  float side = ImGui::GetTextLineHeight();
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImVec2 p1(p0.x + side, p0.y + side);
  if (line) {
    dl->AddRect(ImVec2(p0.x + 1, p0.y + 1), ImVec2(p1.x - 1, p1.y - 1), color, 0.0f, 0, 2.0f);
  } else {
    dl->AddRectFilled(p0, p1, color, 2.0f);
  }
  ImGui::Dummy(ImVec2(side, side));
  if (label) {
    ImGui::SameLine(0.0f, 6.0f);
    ImGui::TextDisabled("%s", label);
  }
}

static ImU32 rgb_color(uint32_t rgb, int alpha = 255) { return IM_COL32(rgb >> 16, (rgb >> 8) & 0xFF, rgb & 0xFF, alpha); }

// How the masks are drawn: shown or not, outlines / filled / both, opacity, and a key to the colours.
static void overlay_controls() {
  App& a = g_app;
  // One line for showing and how strongly, one for the mode, one for the key: the object table
  // below needs the panel's height.
  ImGui::Checkbox("Masks (O)", &a.show_overlay);
  ui_rect("overlay.show");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(-1.0f);
  ImGui::SliderFloat("##opacity", &a.overlay_opacity, 0.0f, 1.0f, "opacity %.2f");
  ui_rect("overlay.opacity");
  static const cd::OverlayMode modes[] = {cd::OverlayMode::Outlines, cd::OverlayMode::Filled, cd::OverlayMode::Both};
  static const char* const labels[] = {"Outlines", "Filled", "Both"};
  for (int i = 0; i < 3; i++) {
    if (i) ImGui::SameLine();
    if (ImGui::RadioButton(labels[i], a.overlay_mode == modes[i]) && a.overlay_mode != modes[i]) {
      a.overlay_mode = modes[i];
      a.overlay_dirty = true;
    }
    ui_rect(std::string("overlay.") + cd::overlay_mode_name(modes[i]));
  }
  // The key: what each colour on the image means.
  if (a.graded()) {
    for (int grade = 0; grade < 4; grade++) {
      swatch(rgb_color(cd::kGradeRgb[grade]), a.overlay_mode == cd::OverlayMode::Outlines, cd::grade_name(grade));
      ImGui::SameLine(0.0f, 12.0f);
    }
  } else if (a.positive_count >= 0) {
    swatch(rgb_color(cd::kPositiveRgb), a.overlay_mode == cd::OverlayMode::Outlines, "positive");
    ImGui::SameLine(0.0f, 12.0f);
    swatch(rgb_color(cd::kNegativeRgb), a.overlay_mode == cd::OverlayMode::Outlines, "negative");
    ImGui::SameLine(0.0f, 12.0f);
  } else if (a.overlay_mode != cd::OverlayMode::Filled) {
    swatch(rgb_color(cd::kOutlineRgb), true, "outline");
    ImGui::SameLine(0.0f, 12.0f);
  }
  if (a.overlay_mode != cd::OverlayMode::Outlines && a.positive_count < 0) {
    for (uint32_t id = 1; id <= 3; id++) {
      swatch(rgb_color(cd::object_color(id)), false, nullptr);
      ImGui::SameLine(0.0f, 2.0f);
    }
    ImGui::TextDisabled("objects");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("One colour per object, fixed by its number: the same between runs");
    ImGui::SameLine(0.0f, 12.0f);
  }
  // The grades' key is long: "selected" then goes below it.
  if (ImGui::GetContentRegionAvail().x < ImGui::GetTextLineHeight() + 6.0f + ImGui::CalcTextSize("selected").x) ImGui::NewLine();
  swatch(selected_color(), true, "selected");
}

// The nuclei's means of the marker as bars in the box at p0 of `size` (the threshold
// slider's frame, drawn over them), those at or above the threshold in the positive colour and the rest
// in the negative one (graded: each in its grade's colour): where the thresholds cut, and whether the
// means fall in groups at all. Square root heights, so a small group of positives still shows beside a
// large one of negatives.
static void draw_means_histogram(ImVec2 p0, ImVec2 size) {
  const App& a = g_app;
  int top = 0;
  for (int n : a.means_histogram) top = std::max(top, n);
  if (top == 0 || !(a.means_high > a.means_low)) return;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float bar = size.x / float(a.means_histogram.size());
  const double bin_width = (a.means_high - a.means_low) / double(a.means_histogram.size());
  for (size_t i = 0; i < a.means_histogram.size(); i++) {
    if (a.means_histogram[i] == 0) continue;
    // A bar takes the class of its bin's middle.
    const double mid = a.means_low + (double(i) + 0.5) * bin_width;
    uint32_t rgb = mid >= a.positive_threshold ? cd::kPositiveRgb : cd::kNegativeRgb;
    if (a.graded()) {
      rgb = cd::kGradeRgb[int(mid >= a.positive_threshold) + int(mid >= a.grade_given[0]) + int(mid >= a.grade_given[1])];
    }
    const float h = std::max(1.0f, (size.y - 2.0f) * std::sqrt(float(a.means_histogram[i]) / float(top)));
    // Whole pixels, so narrow bars stay crisp; a gap between them when there is room for one.
    const float x0 = std::floor(p0.x + bar * float(i));
    const float x1 = std::max(x0 + 1.0f, std::floor(p0.x + bar * float(i + 1)) - (bar >= 3.0f ? 1.0f : 0.0f));
    dl->AddRectFilled(ImVec2(x0, p0.y + size.y - h), ImVec2(x1, p0.y + size.y), rgb_color(rgb, 150));
  }
}

// Intensity grades (measure.h), offered when the marker is a stain: a pathologist scores an IHC slide
// by how strongly each nucleus is stained, and QuPath's three thresholds on the mean DAB density (0.2,
// 0.4, 0.6) are where grading starts. The 1+ threshold is the slider above; here 2+ and 3+ over the
// same range of means, then the H-score and each grade's count in its colour. lo and hi are the
// means' range.
static void grade_controls(double lo, double hi) {
  App& a = g_app;
  const ImGuiStyle& style = ImGui::GetStyle();
  bool on = a.grading();
  if (ImGui::Checkbox("Grade", &on)) {
    if (on) {
      set_positive(a.positive_channel, a.positive_stain, false, 0.2);
      set_grades(0.4, 0.6);
    } else {
      set_grades(std::nan(""), std::nan(""));
    }
  }
  ui_rect("positive.grade");
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("Grade the nuclei by how strongly they are stained, as a pathologist scores a slide: negative,\n"
                      "1+ (weak) from the threshold above, 2+ (moderate) and 3+ (strong) from the two below this\n"
                      "(QuPath's 0.2, 0.4 and 0.6 to start). The H-score is 1 x %%1+ + 2 x %%2+ + 3 x %%3+, from 0 to 300.\n"
                      "The CSV gets a grade column, the GeoJSON QuPath's classes 1+, 2+ and 3+, the record and link the thresholds.");
  }
  if (!on) return;
  if (a.graded()) {
    ImGui::SameLine(0.0f, 12.0f);
    ImGui::Text("H-score %.0f", a.grades.h_score);
    ui_rect("positive.h_score");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("1 x %%1+ + 2 x %%2+ + 3 x %%3+ of the nuclei: %.1f of 300", a.grades.h_score);
  }
  // 2+ and 3+ side by side over the means' range (widened to take the thresholds themselves).
  const float width = (ImGui::GetContentRegionAvail().x - style.ItemSpacing.x) / 2;
  const double low = std::min(lo, a.positive_given), high = std::max(hi, a.grade_given[1]);
  for (int k = 0; k < 2; k++) {
    if (k) ImGui::SameLine();
    ImGui::SetNextItemWidth(width);
    double t = a.grade_given[k];
    if (ImGui::SliderScalar(k == 0 ? "##grade2" : "##grade3", ImGuiDataType_Double, &t, &low, &high,
                            k == 0 ? "2+ >= %.3f" : "3+ >= %.3f")) {
      // Each stays at or above the one below it (set_grades raises them).
      if (k == 0) set_grades(t, std::max(t, a.grade_given[1]));
      else set_grades(a.grade_given[0], std::max(t, a.grade_given[0]));
    }
    ui_rect(k == 0 ? "positive.grade2" : "positive.grade3");
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("A nucleus is %s when its mean reaches this (Ctrl+click to type it)", k == 0 ? "2+ (moderate)" : "3+ (strong)");
    }
  }
  if (!a.graded()) return;
  // Each grade's count beside its colour, as the overlay's key names them.
  for (int grade = 0; grade < 4; grade++) {
    if (grade) ImGui::SameLine(0.0f, 12.0f);
    swatch(rgb_color(cd::kGradeRgb[grade]), false, nullptr);
    ImGui::SameLine(0.0f, 4.0f);
    ImGui::Text("%lld", a.grades.objects[grade]);
    if (ImGui::IsItemHovered()) {
      const long long n = a.grades.objects[grade], all = a.grades.objects[0] + a.grades.objects[1] + a.grades.objects[2] + a.grades.objects[3];
      ImGui::SetTooltip("%s: %lld of %lld nuclei (%.0f%%)", cd::grade_name(grade), n, all, all ? 100.0 * double(n) / double(all) : 0.0);
    }
  }
  ui_rect("positive.grade_counts");
}

// Counting the nuclei positive for a marker: its channel (or, on a slide read through a stain, the DAB
// stain), and a threshold on each nucleus's mean there (Otsu's split of the nuclei's means until the
// user moves it). The count, the overlay's colours, the table, every export and the share link follow
// at once; nothing runs again.
static void positive_controls() {
  App& a = g_app;
  // Two lines, so the object table below keeps its rows: the switch and the count, then the marker,
  // the threshold and Otsu (and, for a stain, a third to grade, a fourth for the H-score while
  // grading). The overlay's key names the colours.
  bool on = a.positive_channel >= 0 || a.positive_stain != cd::Stain::None;
  // The result's stain densities were measured (it was read through a stain): DAB may be the marker.
  const bool stained = !a.table.objects.empty() && !std::isnan(a.table.objects[0].dab_od);
  if (ImGui::Checkbox("Count positive", &on)) {
    // The marker is usually DAB on a stained slide, else the channel on show (the colour view: the
    // first; the last may be alpha).
    if (!on) set_positive(-1, cd::Stain::None, a.positive_otsu, a.positive_given);
    else if (stained) set_positive(-1, cd::Stain::Dab, true, 0.0);
    else set_positive(a.channel == kColourView ? 0 : a.channel, cd::Stain::None, a.positive_otsu, a.positive_given);
  }
  ui_rect("positive.count");
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("Count the nuclei positive for a marker: those whose mean in the marker's channel (on a slide\n"
                      "read through its hematoxylin: mean DAB optical density) reaches a threshold (Otsu's split\n"
                      "of the nuclei's means until you move it). The overlay, the table, the CSV (column positive),\n"
                      "GeoJSON (QuPath's Positive and Negative), the run record and the share link follow.");
  }
  if (a.positive_count >= 0) {
    const int n = int(a.table.objects.size());
    ImGui::SameLine();
    ImGui::Text("%d of %d (%.0f%%)", a.positive_count, n, n ? 100.0 * a.positive_count / n : 0.0);
  }
  if (!on) return;
  const ImGuiStyle& style = ImGui::GetStyle();
  if (stained || a.positive_stain != cd::Stain::None) {
    // The marker among the stains and the channels: on an IHC slide the brown DAB is the marker, and
    // the red, green and blue means are there for completeness.
    std::string shown = a.positive_stain != cd::Stain::None ? cd::stain_label(a.positive_stain)
                                                            : "ch" + std::to_string(a.positive_channel + 1);
    ImGui::SetNextItemWidth(ImGui::CalcTextSize("hematoxylin").x + style.FramePadding.x * 2 + ImGui::GetFrameHeight());
    if (ImGui::BeginCombo("##positive_marker", shown.c_str())) {
      for (cd::Stain stain : {cd::Stain::Dab, cd::Stain::Hematoxylin})
        if (ImGui::Selectable(cd::stain_label(stain), a.positive_stain == stain)) set_positive(-1, stain, true, 0.0);
      for (int c = 0; c < a.image.channels; c++) {
        const std::string name = "ch" + std::to_string(c + 1);
        if (ImGui::Selectable(name.c_str(), a.positive_stain == cd::Stain::None && a.positive_channel == c))
          set_positive(c, cd::Stain::None, true, 0.0);
      }
      ImGui::EndCombo();
    }
    ui_rect("positive.marker");
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("The marker: each nucleus's mean optical density of a stain (DAB: the brown marker of an IHC\n"
                        "slide), or its mean intensity in a channel, is compared with the threshold");
    }
    if (a.positive_count >= 0) ImGui::SameLine();
  } else if (a.image.channels > 1) {
    ImGui::SetNextItemWidth(ImGui::CalcTextSize("ch00").x + style.FramePadding.x * 2 + ImGui::GetFrameHeight());
    int shown = std::min(a.positive_channel, a.image.channels - 1) + 1;
    if (ImGui::SliderInt("##positive_channel", &shown, 1, a.image.channels, "ch%d")) {
      set_positive(shown - 1, cd::Stain::None, a.positive_otsu, a.positive_given);
    }
    ui_rect("positive.channel");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The marker's channel: each nucleus's mean intensity there is compared with the threshold");
    if (a.positive_count >= 0) ImGui::SameLine();
  }
  if (a.positive_count >= 0) {
    // The slider spans the nuclei's means in the marker's channel, their histogram behind it.
    double lo = a.means_low, hi = a.means_high;
    double t = std::isnan(a.positive_threshold) ? (lo + hi) / 2 : a.positive_threshold;
    // While grading the three thresholds are the user's: no Otsu button, and room for the label.
    const float width = ImGui::GetContentRegionAvail().x - (a.grading() ? 0.0f : button_width("Otsu") + style.ItemSpacing.x);
    // The frame's background is drawn here, under the bars; the slider draws its grab and text over them.
    const ImVec2 p0 = ImGui::GetCursorScreenPos(), size(width, ImGui::GetFrameHeight());
    static bool held = false;  // the slider's state in the last frame, since its frame is drawn before it
    const ImGuiCol bg = held ? ImGuiCol_FrameBgActive
                             : ImGui::IsMouseHoveringRect(p0, ImVec2(p0.x + size.x, p0.y + size.y)) ? ImGuiCol_FrameBgHovered
                                                                                                   : ImGuiCol_FrameBg;
    ImGui::GetWindowDrawList()->AddRectFilled(p0, ImVec2(p0.x + size.x, p0.y + size.y), ImGui::GetColorU32(bg), style.FrameRounding);
    draw_means_histogram(p0, size);
    ImGui::PushStyleColor(ImGuiCol_FrameBg, IM_COL32(0, 0, 0, 0));
    ImGui::PushStyleColor(ImGuiCol_FrameBgHovered, IM_COL32(0, 0, 0, 0));
    ImGui::PushStyleColor(ImGuiCol_FrameBgActive, IM_COL32(0, 0, 0, 0));
    ImGui::SetNextItemWidth(width);
    // Optical densities are fractions (DAB about 0.1 to 1): three decimals; intensities need none.
    const bool density = a.positive_stain != cd::Stain::None;
    if (ImGui::SliderScalar("##positive_threshold", ImGuiDataType_Double, &t, &lo, &hi, density ? (a.grading() ? "1+ >= %.3f" : ">= %.3f") : (a.grading() ? "1+: mean >= %.1f" : "mean >= %.1f"))) {
      set_positive(a.positive_channel, a.positive_stain, false, t);
    }
    held = ImGui::IsItemActive();
    ImGui::PopStyleColor(3);
    ui_rect("positive.threshold");
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip(density ? "A nucleus is positive when its mean optical density of the stain reaches this (Ctrl+click to type it).\n"
                                  "Behind it, the histogram of the nuclei's means: %d from %.3f to %.3f."
                                : "A nucleus is positive when its mean in the marker's channel reaches this (Ctrl+click to type it).\n"
                                  "Behind it, the histogram of the nuclei's means: %d from %.1f to %.1f.",
                        int(a.table.objects.size()), lo, hi);
    }
    if (!a.grading()) {
      ImGui::SameLine();
      ImGui::BeginDisabled(a.positive_otsu);
      if (ImGui::Button("Otsu")) set_positive(a.positive_channel, a.positive_stain, true, 0.0);
      ImGui::EndDisabled();
      ui_rect("positive.otsu");
      if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
        ImGui::SetTooltip(a.positive_otsu ? "The threshold is Otsu's: the split of the nuclei's means into a dim and a bright group"
                                          : "Back to Otsu's threshold: the split of the nuclei's means into a dim and a bright group");
      }
    }
    if (a.positive_stain != cd::Stain::None || a.grading()) grade_controls(lo, hi);
  }
  if (!a.positive_note.empty()) wrapped_disabled(a.positive_note.c_str());
}

// Which colours a slide is unmixed with: the standard ones or the slide's own (estimated at the next
// run), and beside it the two the result on show was unmixed with, as swatches of the colour each
// stain gives the light, so a user sees whether "hematoxylin" is the blue of their nuclei.
static void stain_colours(const cd::Segmentation& s) {
  App& a = g_app;
  ImGui::Checkbox("Estimate the stains' colours", &a.estimate_stains);
  ui_rect("estimate_stains");
  if (ImGui::IsItemHovered()) {
    ImGui::SetTooltip("Unmix with this slide's own hematoxylin and DAB, measured on its stained pixels\n"
                      "(Macenko's method) at the next run, instead of the standard colours (Ruifrok & Johnston's).\n"
                      "A lab's stains differ: with the wrong colours some DAB reads as hematoxylin (brown spots\n"
                      "become nuclei) and some hematoxylin as DAB (negative nuclei look positive)");
  }
  if (!s.has_result || !s.read_through_stain) return;
  for (cd::Stain stain : {cd::Stain::Hematoxylin, cd::Stain::Dab}) {
    const double* v = stain == cd::Stain::Hematoxylin ? s.stain_vectors.hematoxylin : s.stain_vectors.dab;
    const double length = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    float rgb[3];  // the light through 0.8 units of the stain (optical density 0.8 along its vector)
    for (int k = 0; k < 3; ++k) rgb[k] = float(std::pow(10.0, -0.8 * v[k] / length));
    if (stain == cd::Stain::Dab) ImGui::SameLine();
    ImGui::ColorButton(stain == cd::Stain::Hematoxylin ? "##hematoxylin" : "##dab", ImVec4(rgb[0], rgb[1], rgb[2], 1.0f),
                       ImGuiColorEditFlags_NoTooltip, ImVec2(ImGui::GetTextLineHeight(), ImGui::GetTextLineHeight()));
    if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("%s: optical density per unit (red, green, blue) %s", cd::stain_label(stain),
                        cd::stain_vector_text(v).c_str());
    }
    ImGui::SameLine(0.0f, ImGui::GetStyle().ItemInnerSpacing.x);
    ImGui::TextDisabled("%s", cd::stain_label(stain));
  }
  ImGui::SameLine();
  ImGui::TextDisabled(s.stain_vectors_estimated ? "(this slide's)" : "(standard)");
  ui_rect("stain_colours");
}

static void segment_section() {
  App& a = g_app;
  cd::Segmentation& s = cd::segmentation();
  heading("SEGMENT");
  a.model_rects.clear();
  if (!s.models_known) {
    ImGui::TextDisabled("Looking for models...");
  } else if (s.models.empty()) {
    ImGui::TextWrapped("This site has no models yet: segmentation needs a model in its models/ folder.");
  } else {
    ImGui::TextDisabled("Model");
    // The user's own model (.onnx + card), on the heading's line to spare the panel's height.
    ImGui::SameLine();
    ImGui::BeginDisabled(s.running);
    if (ImGui::SmallButton("Load your own...")) js_choose_model();
    ImGui::EndDisabled();
    ui_rect("model.load");
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
      ImGui::SetTooltip("Choose your model's .onnx file and its .json card together, or drop both on the page.\n"
                        "They are checked here against each other and never leave this computer.");
    }
    // Two columns when every name fits half the panel: the object table below needs the height.
    const ImGuiStyle& style = ImGui::GetStyle();
    const float left = ImGui::GetCursorPosX();
    const float column = (ImGui::GetContentRegionAvail().x + style.ItemSpacing.x) * 0.5f;
    bool two_columns = true;
    for (const cd::ModelChoice& m : s.models) {
      float width = ImGui::GetFrameHeight() + style.ItemInnerSpacing.x + ImGui::CalcTextSize(m.name.c_str()).x;
      if (m.own) width += style.ItemSpacing.x + ImGui::CalcTextSize("(yours)").x;
      two_columns = two_columns && width <= column - style.ItemSpacing.x;
    }
    for (size_t i = 0; i < s.models.size(); i++) {
      if (two_columns && i % 2 == 1) ImGui::SameLine(left + column);
      ImGui::BeginDisabled(s.running);
      if (ImGui::RadioButton(s.models[i].name.c_str(), a.model == int(i))) choose_model(int(i));
      ImGui::EndDisabled();
      a.model_rects.push_back(item_rect());
      if (s.models[i].own) {
        ImGui::SameLine();
        ImGui::TextDisabled("(yours)");
      }
      if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
        ImGui::SetTooltip("%s model, trained at %.0f px object diameter%s", s.models[i].kind.c_str(), s.models[i].diameter,
                          s.models[i].own ? "\nLoaded from your computer for this session" : "");
      }
    }
    if (!s.model_error.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.6f, 0.55f, 1.0f));
      ImGui::TextWrapped("%s", s.model_error.c_str());
      ImGui::PopStyleColor();
    }
    // A live re-run (thresholds only) leaves the parameters free: the slider is still being moved.
    ImGui::BeginDisabled(s.running && !s.running_live);
    ImGui::Checkbox("Automatic diameter", &a.diameter_auto);
    a.auto_diameter_rect = item_rect();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("A first pass measures the objects and rescales the image to the model's size");
    ImGui::PushItemWidth(-110.0f);
    a.diameter_rect = ImVec4(0, 0, 0, 0);
    if (!a.diameter_auto) {
      const double lo = 4.0, hi = 200.0;
      ImGui::SliderScalar("Diameter px", ImGuiDataType_Double, &a.diameter, &lo, &hi, "%.1f", ImGuiSliderFlags_Logarithmic);
      a.diameter_rect = item_rect();
    }
    if (a.model >= 0 && a.model < int(s.models.size())) {
      const cd::ModelChoice& m = s.models[size_t(a.model)];
      for (size_t i = 0; i < m.thresholds.size() && i < a.thresholds.size(); i++) {
        const std::string& key = m.thresholds[i].first;
        const cd::ThresholdRange range = cd::threshold_range(key);
        const bool area = range.area;
        // Thresholds act after the network: a change re-post-processes the last result's network
        // outputs (live, no Run needed) when nothing else changed since it was made.
        if (ImGui::SliderScalar(area ? "min_area px" : key.c_str(), ImGuiDataType_Double, &a.thresholds[i],
                                &range.slider_lo, &range.slider_hi, area ? "%.0f" : "%.3f",
                                area ? ImGuiSliderFlags_Logarithmic : 0) &&
            only_thresholds_changed()) {
          request_live_rerun(emscripten_get_now());
        }
        ui_rect("threshold." + key);
        if (ImGui::IsItemHovered() && area) {
          ImGui::SetTooltip("Objects smaller than this many image pixels are removed (0 keeps all).\n"
                            "Re-applied to the last result as the slider moves, without the network");
        } else if (ImGui::IsItemHovered()) {
          ImGui::SetTooltip("Re-applied to the last result as the slider moves, without the network; it runs again only\n"
                            "when an automatic diameter's estimate changes with the threshold");
        }
      }
      // Objects the field of view cuts are parts: their area, shape and intensity mislead counts and
      // statistics, so analyses often leave them out. Post-processing, so live as the thresholds.
      // With the count it left out in the last result; ### keeps the control's id as the label changes.
      char border_label[80] = "Leave out objects on the border###exclude_border";
      if (s.has_result && s.border_objects > 0) {
        std::snprintf(border_label, sizeof border_label, "Leave out objects on the border (%d)###exclude_border",
                      s.border_objects);
      }
      if (ImGui::Checkbox(border_label, &a.exclude_border) && only_thresholds_changed())
        request_live_rerun(emscripten_get_now());
      ui_rect("exclude_border");
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("Removes every object that touches the image's edge (a nucleus cut by the field of view);\n"
                          "the number says how many the last result left out. Re-applied without the network");
      }
      // Multichannel images meet one-channel models: which channel the network sees.
      if (a.image.channels > 1 && m.input_channels == 1) {
        // An RGB slide may also be read as one stain's density (colour deconvolution, core/stains.h).
        const bool stains = cd::can_unmix_stains(a.image);
        char current[32];
        std::snprintf(current, sizeof current, "channel %d", a.seg_channel + 1);
        const char* shown = a.seg_channel < 0 ? "all, merged" : current;
        cd::Stain reading = cd::Stain::None;
        if (stains && cd::parse_stain(a.stain, &reading)) shown = cd::stain_label(reading);
        if (ImGui::BeginCombo("Input", shown)) {
          if (ImGui::Selectable("all, merged", a.seg_channel < 0 && (a.stain.empty() || !stains))) {
            a.seg_channel = -1;
            a.stain.clear();
          }
          for (int c = 0; c < a.image.channels; c++) {
            std::snprintf(current, sizeof current, "channel %d", c + 1);
            if (ImGui::Selectable(current, a.seg_channel == c && (a.stain.empty() || !stains))) {
              a.seg_channel = c;
              a.stain.clear();
            }
          }
          for (cd::Stain stain : {cd::Stain::Hematoxylin, cd::Stain::Dab}) {
            if (stains && ImGui::Selectable(cd::stain_label(stain), reading == stain)) {
              a.seg_channel = -1;
              a.stain = cd::stain_name(stain);
            }
          }
          ImGui::EndCombo();
        }
        if (ImGui::IsItemHovered()) {
          ImGui::SetTooltip(stains ? "The model reads one channel: the mean of all channels, one of them, or one stain's\n"
                                     "density by colour deconvolution (H-DAB). An immunohistochemistry slide's\n"
                                     "hematoxylin is its nuclei, bright on dark, as a fluorescence model sees them"
                                   : "The model reads one channel: the mean of all channels, or one of them");
        }
        if (stains && reading != cd::Stain::None) stain_colours(s);
      }
    }
    // Folded away, an inverted input would go unseen: the heading says so (### keeps the node's id).
    bool advanced = ImGui::TreeNode(a.invert ? "Normalisation and tiles (inverted)###advanced" : "Normalisation and tiles###advanced");
    ui_rect("advanced");
    if (advanced) {
      const double p_lo = 0.0, p_hi = 100.0;
      ImGui::SliderScalar("Low %", ImGuiDataType_Double, &a.percentile_low, &p_lo, &p_hi, "%.2f");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("This percentile of each channel maps to 0 before the network");
      ImGui::SliderScalar("High %", ImGuiDataType_Double, &a.percentile_high, &p_lo, &p_hi, "%.2f");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("This percentile of each channel maps to 1 before the network");
      if (a.percentile_high <= a.percentile_low) a.percentile_high = std::min(100.0, a.percentile_low + 0.01);
      ImGui::Checkbox("Invert", &a.invert);
      ui_rect("invert");
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("The network sees the image's negative (1 - each normalised value), as Cellpose's invert:\n"
                          "dark nuclei on a bright background (a grey brightfield picture) then look to a\n"
                          "fluorescence model like the pictures it learnt from. Applies at the next Run");
      }
      const int t_lo = 128, t_hi = 2048;
      ImGui::SliderScalar("Tile px", ImGuiDataType_S32, &a.tile_size, &t_lo, &t_hi, "%d");
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("Tile size at the network's scale; larger tiles take more memory");
      static const char* const backends[] = {"auto", "webgpu", "wasm"};
      if (ImGui::BeginCombo("Backend", a.backend_choice.c_str())) {
        for (const char* b : backends) {
          if (ImGui::Selectable(b, a.backend_choice == b)) a.backend_choice = b;
        }
        ImGui::EndCombo();
      }
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("auto: the GPU (WebGPU) when this browser offers one, else WebAssembly");
      ImGui::TreePop();
    }
    ImGui::PopItemWidth();
    ImGui::EndDisabled();
  }

  a.run_rect = a.cancel_rect = ImVec4(0, 0, 0, 0);
  if (s.models.empty()) return;  // no Run button that could never work: the line above says why
  ImGui::BeginDisabled(!can_run());
  if (ImGui::Button("Run  (R)")) unless_edits_lost("run", run_segmentation);
  ImGui::EndDisabled();
  a.run_rect = item_rect();
  if (s.running) {
    ImGui::SameLine();
    if (ImGui::Button("Cancel  (Esc)")) cd::segmentation_cancel();
    a.cancel_rect = item_rect();
    char label[96];
    if (s.stage == "tiles" && s.tiles > 0) {
      std::snprintf(label, sizeof label, "%stile %d of %d  %.1f s", s.passes > 1 ? (s.pass == 1 ? "pass 1: " : "pass 2: ") : "",
                    s.tile, s.tiles, s.elapsed_s);
    } else if (s.running_live) {
      std::snprintf(label, sizeof label, "applying the thresholds  %.1f s", s.elapsed_s);
    } else {
      std::snprintf(label, sizeof label, "loading model  %.1f s", s.elapsed_s);
    }
    float fraction = s.tiles > 0 ? float(s.tile - 1) / float(s.tiles) : 0.0f;
    ImGui::ProgressBar(fraction, ImVec2(-1.0f, 0.0f), label);
    ImGui::TextDisabled("Backend: %s", s.backend.empty() ? "starting" : s.backend.c_str());
  }
  if (!s.error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.6f, 0.55f, 1.0f));
    ImGui::TextWrapped("Segmentation failed: %s", s.error.c_str());
    ImGui::PopStyleColor();
  } else if (s.cancelled) {
    wrapped_disabled("Cancelled: the masks shown (if any) are from the run before.");
  }
  if (s.has_result) {
    // One line: the object table below needs the panel's height.
    int drawn = 0;
    for (const cd::Segmentation::AppliedEdit& e : s.edits) drawn += !e.edit.outline.empty();
    const int removed = int(s.edits.size()) - drawn;
    if (s.edits.empty()) {
      ImGui::Text("%d objects", s.objects);
    } else if (drawn == 0) {
      ImGui::Text("%d objects (%d removed)", s.objects, removed);
    } else if (removed == 0) {
      ImGui::Text("%d objects (%d drawn)", s.objects, drawn);
    } else {
      ImGui::Text("%d objects (%d removed, %d drawn)", s.objects, removed, drawn);
    }
    char diameter[48];
    std::snprintf(diameter, sizeof diameter, "diameter %.1f px", s.diameter);  // of the model chosen above
    ImGui::SameLine();
    if (ImGui::GetContentRegionAvail().x < ImGui::CalcTextSize(diameter).x) ImGui::NewLine();
    ImGui::TextDisabled("%s", diameter);
    if (ImGui::IsItemHovered()) {
      char calibrated[40] = "";
      if (const double um = a.image.square_pixel_size_um(); um > 0)
        std::snprintf(calibrated, sizeof calibrated, " (%.1f \xC2\xB5m)", s.diameter * um);
      ImGui::SetTooltip("Model %s; object diameter %.1f px%s, %s; %d tile%s", s.model_name.c_str(), s.diameter, calibrated,
                        s.diameter_estimated ? "estimated by a first pass" : "as given", s.tiles_run, s.tiles_run == 1 ? "" : "s");
    }
    if (!s.note.empty()) {
      std::string note = s.note;  // the core's remarks are clauses: the panel shows a sentence
      note[0] = char(std::toupper(static_cast<unsigned char>(note[0])));
      ImGui::TextWrapped("%s.", note.c_str());
    }
    // The note says when the model was trained on the other kind of picture: offer one made for it,
    // and the image's negative (the only answer when the site has no model of that kind).
    const int current = model_index(s.model_name);
    const int suggested = cd::model_for_background(s.models, current, s.background, kDefaultModel);
    const bool mismatch = current >= 0 && cd::background_mismatch(s.models[size_t(current)], s.background);
    if (mismatch && !s.running && a.batch_total == 0) {
      if (suggested >= 0) {
        const std::string label = "Use " + s.models[size_t(suggested)].name;
        if (ImGui::Button(label.c_str())) {
          unless_edits_lost("model", [suggested] {
            choose_model(suggested);
            run_segmentation();
          });
        }
        ui_rect("suggested_model");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Segment this image again with a model trained on pictures like it");
      }
      const char* invert_label = s.inverted ? "Run without invert" : "Invert and run";
      if (suggested >= 0) same_line_if_fits(invert_label);
      if (ImGui::Button(invert_label)) {
        unless_edits_lost("run", [] {
          g_app.invert = !cd::segmentation().inverted;
          run_segmentation();
        });
      }
      ui_rect("invert_offer");
      if (ImGui::IsItemHovered()) {
        ImGui::SetTooltip("Segment this image again with this model, the network seeing the image's negative%s\n"
                          "(Normalisation and tiles > Invert)",
                          s.inverted ? " no more" : "");
      }
      // A one-channel model on a colour slide: its hematoxylin is the nuclei alone, bright on dark, what
      // a fluorescence model knows; on an immunohistochemistry slide it is the answer, where the
      // inverted picture takes the brown marker for nuclei too and an H&E model finds few.
      const cd::ModelChoice& model = s.models[size_t(current)];
      if (model.input_channels == 1 && cd::can_unmix_stains(a.image) && !s.read_through_stain) {
        const char* stain_label = "Read its hematoxylin";
        same_line_if_fits(stain_label);
        if (ImGui::Button(stain_label)) {
          unless_edits_lost("run", [] {
            App& app = g_app;
            app.stain = cd::stain_name(cd::Stain::Hematoxylin);
            app.seg_channel = -1;
            app.invert = false;
            run_segmentation();
          });
        }
        ui_rect("stain_offer");
        if (ImGui::IsItemHovered()) {
          ImGui::SetTooltip("Segment this slide again with this model, reading its hematoxylin (the nuclei's blue stain)\n"
                            "by colour deconvolution: the way to an immunohistochemistry slide's nuclei (Input)");
        }
      }
    }
    if (!s.fallback.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.45f, 1.0f));
      ImGui::TextWrapped("%s", s.fallback.c_str());
      ImGui::PopStyleColor();
    }
    overlay_controls();
  }
}

static void side_panel(ImVec2 pos, ImVec2 size) {
  App& a = g_app;
  ImGui::SetNextWindowPos(pos);
  ImGui::SetNextWindowSize(size);
  ImGuiWindowFlags flags = ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                           ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings |
                           ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("Panel", nullptr, flags);

  image_section();

  // Segmenting is what the page is for: its section comes right after the image, where its
  // progress and errors are in view without scrolling.
  segment_section();
  results_section();

  heading("VIEW");
  if (ImGui::Button("Fit  (F)")) fit_view();
  ImGui::SameLine();
  if (ImGui::Button("1:1  (1)")) one_to_one();
  ImGui::SameLine();
  if (ImGui::Button(" - ")) zoom_center(1.0 / 1.25);
  ImGui::SameLine();
  if (ImGui::Button(" + ")) zoom_center(1.25);
  ImGui::Text("Zoom %.0f%%", a.view.zoom * a.platform.device_pixel_ratio * 100.0);
  ImGui::TextDisabled("Drag to pan. Wheel or pinch to zoom.");

  heading("CONTRAST");
  if (cd::has_colour_view(a.image)) {
    bool colour = a.channel == kColourView;
    if (ImGui::Checkbox("Colour  (C)", &colour)) choose_channel(colour ? kColourView : 0);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Channels 1-3 as red, green and blue, through one contrast window");
  }
  if (a.image.channels > 1 && a.channel != kColourView) {
    int ch = a.channel + 1;
    if (ImGui::SliderInt("Channel", &ch, 1, a.image.channels)) choose_channel(ch - 1);
    ui_rect("display_channel");
  }
  draw_histogram(72.0f);
  double lo = a.stats.min, hi = a.stats.max;
  const char* fmt = a.image.type == cd::SampleType::F32 ? "%.5g" : "%.0f";
  ImGui::PushItemWidth(-40.0f);
  if (ImGui::SliderScalar("Min", ImGuiDataType_Double, &a.contrast.low, &lo, &hi, fmt)) {
    a.contrast.high = std::max(a.contrast.high, a.contrast.low);
    a.texture_dirty = true;
  }
  if (ImGui::SliderScalar("Max", ImGuiDataType_Double, &a.contrast.high, &lo, &hi, fmt)) {
    a.contrast.low = std::min(a.contrast.low, a.contrast.high);
    a.texture_dirty = true;
  }
  ImGui::PopItemWidth();
  if (ImGui::Button("Auto")) {
    a.contrast = a.stats.auto_window;
    a.texture_dirty = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Min and Max at the 0.1th and 99.9th percentiles of the channel");
  ImGui::SameLine();
  if (ImGui::Button("Full range")) {
    a.contrast = {a.stats.min, a.stats.max};
    a.texture_dirty = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Min and Max at the smallest and largest value in the channel");
  ImGui::TextDisabled("Data range %s to %s", format_value(a.stats.min).c_str(), format_value(a.stats.max).c_str());
  ImGui::TextDisabled("Display only: pixel values stay as loaded.");

  // Touch screens: a finger dragged up or down over the panel scrolls it as a page scrolls (ImGui
  // itself scrolls by wheel and scrollbar only), whatever it went down on: the button under it is
  // then not pressed. Sideways drags stay the sliders'.
  if (a.platform.touch_count != 1 || !ImGui::IsMouseDown(0)) {
    a.panel_touch_scroll = false;
  } else if (!a.panel_touch_scroll && ImGui::IsWindowHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem)) {
    const ImVec2 d = ImGui::GetMouseDragDelta(0, 0.0f);
    if (std::fabs(d.y) > 8.0f && std::fabs(d.y) > 2.0f * std::fabs(d.x)) {
      a.panel_touch_scroll = true;
      ImGui::ClearActiveID();
      ImGui::SetScrollY(ImGui::GetScrollY() - d.y);
    }
  } else if (a.panel_touch_scroll) {
    ImGui::SetScrollY(ImGui::GetScrollY() - ImGui::GetIO().MouseDelta.y);
  }
  ImGui::End();
}

static void status_bar(float y, float width, float height) {
  App& a = g_app;
  ImGui::SetNextWindowPos(ImVec2(0, y));
  ImGui::SetNextWindowSize(ImVec2(width, height));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(14, 6));
  ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.10f, 0.105f, 0.115f, 1.0f));
  ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                           ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("Status", nullptr, flags);
  const cd::Segmentation& s = cd::segmentation();
  if (a.hover.inside) {
    if (a.channel == kColourView) {
      ImGui::Text("x %d   y %d   RGB %s, %s, %s", a.hover.x, a.hover.y, format_value(a.hover.value).c_str(),
                  format_value(a.image.at(a.hover.x, a.hover.y, 1)).c_str(),
                  format_value(a.image.at(a.hover.x, a.hover.y, 2)).c_str());
    } else {
      ImGui::Text("x %d   y %d   value %s", a.hover.x, a.hover.y, format_value(a.hover.value).c_str());
    }
    if (a.hover_object != 0) {
      ImGui::SameLine(0.0f, 24.0f);
      ImGui::Text("object %u   area %u px", a.hover_object, s.areas[a.hover_object]);
    }
  }
  char right[256];
  double zoom_percent = a.view.zoom * a.platform.device_pixel_ratio * 100.0;
  if (s.has_result) {
    // Where the time went, by stage: a re-post-processed result ran no network and decoded nothing.
    char inference[48];
    if (s.reused) std::snprintf(inference, sizeof inference, "inference reused");
    else std::snprintf(inference, sizeof inference, "inference %.2f s", s.inference_s);
    std::snprintf(right, sizeof right, "%d objects   decode %.2f s   %s   post-processing %.2f s   total %.2f s   %s%s   Zoom %.0f%%",
                  s.objects, s.decode_s, inference, s.postprocess_s, s.total_s, s.backend.c_str(),
                  s.threads > 1 ? " (threads)" : "", zoom_percent);
    if (ImGui::CalcTextSize(right).x > width - 28.0f) {  // a narrow window: the count and the total
      std::snprintf(right, sizeof right, "%d objects   %.2f s   %s   %.0f%%", s.objects, s.total_s, s.backend.c_str(),
                    zoom_percent);
    }
  } else {
    std::snprintf(right, sizeof right, "Zoom %.0f%%", zoom_percent);
  }
  // The right-hand side keeps to the right edge; the hint on the left shows only where it fits.
  float rw = ImGui::CalcTextSize(right).x;
  const char* hint = "Point at the image to read pixel values   ? lists the keys";
  if (a.hover.inside) {
    ImGui::SameLine(std::max(ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + 20.0f, width - rw - 14.0f));
  } else if (ImGui::CalcTextSize(hint).x + 14.0f + 20.0f < width - rw - 14.0f) {
    ImGui::TextDisabled("%s", hint);
    ImGui::SameLine(width - rw - 14.0f);
  } else {
    ImGui::SetCursorPosX(std::max(14.0f, width - rw - 14.0f));
  }
  ImGui::TextUnformatted(right);
  ImGui::End();
  ImGui::PopStyleColor();
  ImGui::PopStyleVar();
}

static void viewer_window(vw::Rect rect) {
  App& a = g_app;
  ImGuiIO& io = ImGui::GetIO();
  cd::Platform& p = a.platform;

  bool resized = rect.min.x != a.viewport.min.x || rect.min.y != a.viewport.min.y ||
                 rect.max.x != a.viewport.max.x || rect.max.y != a.viewport.max.y;
  vw::Vec2 old_center = a.viewport.center();
  a.viewport = rect;
  if (!a.view_valid || (resized && a.fitted)) {
    fit_view();
    a.view_valid = true;
  } else if (resized) {
    vw::Vec2 c = rect.center();  // keep what was in the middle in the middle
    a.view = vw::pan_by(a.view, {c.x - old_center.x, c.y - old_center.y});
  }

  ImGui::SetNextWindowPos(ImVec2(float(rect.min.x), float(rect.min.y)));
  ImGui::SetNextWindowSize(ImVec2(float(rect.width()), float(rect.height())));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                           ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus |
                           ImGuiWindowFlags_NoBackground | ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::Begin("Viewer", nullptr, flags);
  ImGui::PopStyleVar();
  ImGui::InvisibleButton("image", ImVec2(float(rect.width()), float(rect.height())),
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonMiddle);
  bool hovered = ImGui::IsItemHovered();
  bool dragging = ImGui::IsItemActive();
  const cd::Segmentation& seg = cd::segmentation();

  vw::ZoomLimits lim = vw::zoom_limits(rect, a.image.width, a.image.height, p.device_pixel_ratio);
  vw::Vec2 mouse{io.MousePos.x, io.MousePos.y};
  if (hovered && p.zoom_log != 0.0) {
    a.view = vw::zoom_about(a.view, mouse, std::exp(p.zoom_log), lim);
    a.fitted = false;
  }
  // A drag pans, but in draw mode the left button traces instead (the middle one still pans).
  const bool tracing = a.draw_mode && dragging && io.MouseDown[ImGuiMouseButton_Left] && p.touch_count < 2;
  if (dragging && !tracing && !p.pointer_jumped && (io.MouseDelta.x != 0.0f || io.MouseDelta.y != 0.0f)) {
    a.view = vw::pan_by(a.view, {io.MouseDelta.x, io.MouseDelta.y});
    a.fitted = false;
  }
  if (tracing) {
    // Outline points are pixel centres (polygon.h), a half pixel from the viewer's pixel corners, and
    // may lie one pixel outside the image, so a nucleus cut by the border can be closed along it.
    const vw::Vec2 q = vw::screen_to_image(a.view, mouse);
    const cd::Point2 at{std::clamp(std::round(q.x - 0.5), -1.0, double(a.image.width)),
                        std::clamp(std::round(q.y - 0.5), -1.0, double(a.image.height))};
    if (a.stroke.empty() || a.stroke.back().x != at.x || a.stroke.back().y != at.y) a.stroke.push_back(at);
  } else if (!a.stroke.empty()) {
    // Released: the outline is done. A second finger (a pinch) or leaving draw mode drops it.
    if (a.draw_mode && p.touch_count < 2) finish_stroke();
    a.stroke.clear();
  }
  // Shortcuts work whenever no text field is being typed into; modified keys stay the browser's,
  // but for Ctrl+Z (Cmd+Z), which outside a text field undoes nothing in a browser.
  bool plain = !io.WantTextInput && !io.KeyCtrl && !io.KeyAlt && !io.KeySuper && a.confirm_kind.empty();
  if (p.undo_pressed) {
    p.undo_pressed = false;
    cd::segmentation_undo_edit();
  }
  if (p.keys_help_pressed) {
    p.keys_help_pressed = false;
    if (a.confirm_kind.empty()) a.show_keys = !a.show_keys;
  }
  if (plain) {
    if (ImGui::IsKeyPressed(kKeyF, false)) fit_view();
    if (ImGui::IsKeyPressed(kKeyR, false)) unless_edits_lost("run", run_segmentation);
    if (ImGui::IsKeyPressed(kKeyO, false)) a.show_overlay = !a.show_overlay;
    const bool stepping = a.list_count > 1 && a.batch_total == 0;  // "Segment all" steps by itself
    if (ImGui::IsKeyPressed(kKeyN, false) && stepping) unless_edits_lost("step", [] { js_step_image(1); });
    if (ImGui::IsKeyPressed(kKeyP, false) && stepping) unless_edits_lost("step", [] { js_step_image(-1); });
    if (ImGui::IsKeyPressed(kKeyC, false) && cd::has_colour_view(a.image)) {
      choose_channel(a.channel == kColourView ? 0 : kColourView);
    }
    // ImageJ's keys for the previous and next slice step through the channels here: the Channel
    // slider lies below the object table, whose mean follows the channel on show.
    const bool next = ImGui::IsKeyPressed(kKeyPeriod, false), previous = ImGui::IsKeyPressed(kKeyComma, false);
    if ((next || previous) && a.image.channels > 1) {
      const int n = a.image.channels;
      if (a.channel == kColourView) choose_channel(next ? 0 : n - 1);
      else choose_channel((a.channel + (next ? 1 : n - 1)) % n);
    }
    if (ImGui::IsKeyPressed(kKeyS, false)) {
      a.share_fragment = cd::share_fragment(current_share_state());
      js_share(a.share_fragment.c_str());
    }
    if (ImGui::IsKeyPressed(kKeyEscape, false)) {
      if (a.show_keys) a.show_keys = false;
      else if (a.draw_mode) toggle_draw_mode();
      else cd::segmentation_cancel();
    }
    if (ImGui::IsKeyPressed(kKeyD, false) && (a.draw_mode || (seg.has_result && !seg.running))) toggle_draw_mode();
    if ((ImGui::IsKeyPressed(kKeyDelete, false) || ImGui::IsKeyPressed(kKeyBackspace, false)) && a.table.selected) {
      cd::segmentation_remove_object(a.table.selected);
    }
    if (ImGui::IsKeyPressed(kKeyU, false)) cd::segmentation_undo_edit();
    if (ImGui::IsKeyPressed(kKey1, false) || ImGui::IsKeyPressed(kKeypad1, false)) one_to_one();
    if (ImGui::IsKeyPressed(kKeyPlus) || ImGui::IsKeyPressed(kKeypadPlus) || ImGui::IsKeyPressed(kKeyEquals))
      zoom_center(1.25);
    if (ImGui::IsKeyPressed(kKeyMinus) || ImGui::IsKeyPressed(kKeypadMinus) || ImGui::IsKeyPressed(kKeyDashFirefox))
      zoom_center(1.0 / 1.25);
  }
  if (a.centre_on_selected) {
    a.centre_on_selected = false;
    if (const cd::ObjectMeasurements* m = cd::object_table_find(a.table, a.table.selected)) centre_on_object(*m);
  }
  a.view = vw::keep_visible(a.view, rect, a.image.width, a.image.height, 48.0);

  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImVec2 r0(float(rect.min.x), float(rect.min.y)), r1(float(rect.max.x), float(rect.max.y));
  dl->AddRectFilled(r0, r1, IM_COL32(21, 23, 26, 255));
  if (a.texture.id != 0 && a.error.empty()) {
    vw::Rect ir = vw::image_rect_on_screen(a.view, a.image.width, a.image.height);
    ImVec2 i0(float(ir.min.x), float(ir.min.y)), i1(float(ir.max.x), float(ir.max.y));
    dl->AddRect(ImVec2(i0.x - 1, i0.y - 1), ImVec2(i1.x + 1, i1.y + 1), IM_COL32(70, 75, 82, 255));
    dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(a.texture.id)), i0, i1);
    const cd::Segmentation& s = cd::segmentation();
    bool overlay_fits = s.labels.width == a.image.width && s.labels.height == a.image.height;
    if (a.show_overlay && s.has_result && overlay_fits && a.overlay.id != 0) {
      ImU32 tint = IM_COL32(255, 255, 255, int(std::lround(a.overlay_opacity * 255.0f)));
      dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(a.overlay.id)), i0, i1, ImVec2(0, 0),
                   ImVec2(1, 1), tint);
    }
    // The selected object's outline, on pixel corners, drawn over everything.
    if (s.has_result && overlay_fits && a.table.selected) {
      auto c = std::lower_bound(a.contours.begin(), a.contours.end(), a.table.selected,
                                [](const cd::Contour& k, uint32_t id) { return k.label < id; });
      if (c != a.contours.end() && c->label == a.table.selected && c->points.size() >= 3) {
        std::vector<ImVec2> points;
        points.reserve(c->points.size());
        for (const cd::CornerPoint& q : c->points) {
          vw::Vec2 p = vw::image_to_screen(a.view, {double(q.x), double(q.y)});
          points.emplace_back(float(p.x), float(p.y));
        }
        dl->PushClipRect(r0, r1, true);
        dl->AddPolyline(points.data(), int(points.size()), selected_color(), ImDrawFlags_Closed, 2.0f);
        dl->PopClipRect();
      }
    }
    // The outline being traced, in the selection's colour: it becomes the selected object.
    if (a.stroke.size() > 1) {
      std::vector<ImVec2> points;
      points.reserve(a.stroke.size());
      for (const cd::Point2& q : a.stroke) {
        vw::Vec2 p = vw::image_to_screen(a.view, {q.x + 0.5, q.y + 0.5});
        points.emplace_back(float(p.x), float(p.y));
      }
      dl->PushClipRect(r0, r1, true);
      dl->AddPolyline(points.data(), int(points.size()), selected_color(), ImDrawFlags_None, 2.0f);
      dl->PopClipRect();
    }
  }
  if (!a.error.empty()) {
    ImVec2 size = ImGui::CalcTextSize(a.error.c_str(), nullptr, false, float(rect.width()) - 40.0f);
    ImVec2 at(float(rect.center().x) - size.x * 0.5f, float(rect.center().y) - size.y * 0.5f);
    dl->AddText(nullptr, 0.0f, at, IM_COL32(255, 150, 140, 255), a.error.c_str(), nullptr, float(rect.width()) - 40.0f);
  }

  a.hover = Hover();
  if (hovered || dragging) {
    int px, py;
    if (vw::pixel_under(a.view, mouse, a.image.width, a.image.height, &px, &py)) {
      a.hover = {true, px, py, sample_value(px, py)};
    }
  }
  a.hover_object = 0;
  if (a.hover.inside && seg.has_result && seg.labels.width == a.image.width && seg.labels.height == a.image.height) {
    a.hover_object = seg.labels.at(a.hover.x, a.hover.y);
    if (a.hover_object >= seg.areas.size()) a.hover_object = 0;
  }
  // Hovering an object shows its measurements; a click (not a drag) selects it in the table, and a
  // click on the background clears the selection.
  if (a.hover_object && !dragging) {
    if (const cd::ObjectMeasurements* m = cd::object_table_find(a.table, a.hover_object)) {
      ImGui::BeginTooltip();
      if (a.overlay_mode != cd::OverlayMode::Outlines) swatch(rgb_color(cd::object_color(a.hover_object)), false, nullptr);
      ImGui::TextUnformatted(cd::object_summary(*m).c_str());
      ImGui::EndTooltip();
    }
  }
  if (hovered && !a.draw_mode && ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseDragMaxDistanceSqr[0] < 16.0f &&
      seg.has_result) {
    select_object(a.hover_object, false);
    a.table.scroll_to_selected = a.table.selected != 0;
  }
  const char* cursor = dragging && !a.draw_mode && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0.0f) ? "grabbing"
                       : hovered ? (a.hover.inside || a.draw_mode ? "crosshair" : "grab")
                                 : nullptr;
  ImGui::End();
  if (cursor) {
    cd::platform_set_cursor(cursor);
  } else {
    // Over the panels ImGui picks the cursor (text beam, resize arrows) as its own backends do.
    static const char* const css[] = {"default", "text", "move", "ns-resize", "ew-resize", "nesw-resize",
                                      "nwse-resize", "pointer", "not-allowed"};
    int c = ImGui::GetMouseCursor();
    cd::platform_set_cursor(c >= 0 && c < int(IM_ARRAYSIZE(css)) ? css[c] : "default");
  }
}

// The keys, listed on '?': shortcuts are faster than the panel, but only once someone knows them.
static void keys_window() {
  App& a = g_app;
  if (!a.show_keys) return;
  static const char* const keys[][2] = {
      {"R", "run the model (again)"},
      {"Esc", "cancel the run; end drawing; close this list"},
      {"O", "masks on or off"},
      {"wheel, pinch, + -", "zoom about the pointer"},
      {"drag", "pan (the middle button while drawing)"},
      {"F", "fit the image in the window"},
      {"1", "one image pixel per screen pixel"},
      {"C", "colour or one channel at a time"},
      {"comma, period", "previous or next channel (the table's mean too)"},
      {"N, P", "next or previous image of a list"},
      {"click", "select an object (its row too)"},
      {"Delete", "remove the selected object"},
      {"D", "draw: drag around a missed nucleus"},
      {"U, Ctrl+Z", "undo the last removal or drawing"},
      {"S", "share link to this result"},
      {"Ctrl+V", "paste an image"},
      {"?", "this list"},
  };
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.5f), ImGuiCond_Always,
                          ImVec2(0.5f, 0.5f));
  ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                           ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove;
  if (ImGui::Begin("Keys", &a.show_keys, flags)) {
    if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_SizingFixedFit)) {
      for (const auto& k : keys) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(k[0]);
        ImGui::TableNextColumn();
        ImGui::TextDisabled("%s", k[1]);
      }
      ImGui::EndTable();
    }
  }
  ImGui::End();
}

// Asks before an action drops the result's edits by hand (unless_edits_lost): work done by hand is
// never lost to a key pressed by mistake or a slider nudged after the edits.
static void confirm_dialog() {
  App& a = g_app;
  if (a.confirm_kind.empty()) return;
  const char* title = "Your edits by hand";
  if (!ImGui::IsPopupOpen(title)) ImGui::OpenPopup(title);
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->Pos.x + vp->Size.x * 0.5f, vp->Pos.y + vp->Size.y * 0.5f), ImGuiCond_Always,
                          ImVec2(0.5f, 0.5f));
  ImGui::SetNextWindowSize(ImVec2(std::min(420.0f, vp->Size.x - 20.0f), 0.0f));
  if (!ImGui::BeginPopupModal(title, nullptr, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoMove)) return;
  const cd::Segmentation& s = cd::segmentation();
  if (!s.has_result || s.edits.empty()) {
    // The edits went meanwhile (a script undid them, another image was dropped): nothing to ask.
    a.confirm_action = nullptr;
    a.confirm_kind.clear();
    ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
    return;
  }
  const std::string edits = std::to_string(s.edits.size()) + (s.edits.size() == 1 ? " edit" : " edits");
  const std::string& kind = a.confirm_kind;
  std::string text, yes;
  if (kind == "thresholds") {
    text = "The new thresholds apply to the model's masks again, so this result's " + edits + " by hand would be lost.";
    yes = "Apply them";
  } else if (kind == "step") {
    text = "Opening another image drops this result and its " + edits + " by hand. Export what you need first.";
    yes = "Open it";
  } else if (kind == "segment_all") {
    text = "Segment all starts again from the model's masks, so this result's " + edits + " by hand would be lost.";
    yes = "Segment all";
  } else {
    text = "A new run starts again from the model's masks, so this result's " + edits + " by hand would be lost.";
    yes = "Run";
  }
  ImGui::TextWrapped("%s", text.c_str());
  ImGui::Spacing();
  if (ImGui::Button(yes.c_str())) {
    std::function<void()> action = std::move(a.confirm_action);
    a.confirm_action = nullptr;
    a.confirm_kind.clear();
    ImGui::CloseCurrentPopup();
    action();
  }
  // Published once placed: on its first frame an auto-sized window has no size yet, so centring it
  // puts it elsewhere for that frame.
  const bool placed = !ImGui::IsWindowAppearing();
  // An idle page draws nothing, so the frame that places the window is asked for here; without
  // it the question could stay unplaced, off-centre, until the next mouse move.
  if (!placed) cd::platform_want_frames(&a.platform, 2);
  if (placed) ui_rect("confirm.yes");
  ImGui::SameLine();
  if (ImGui::Button("Keep my edits") || ImGui::IsKeyPressed(kKeyEscape, false)) {
    // The thresholds go back to the result's, so the panel shows what made the masks on show.
    if (kind == "thresholds") {
      cd::JsonValue params;
      std::string error;
      if (cd::json_parse(s.params_json, &params, &error)) apply_params(params, &error);
    }
    a.confirm_action = nullptr;
    a.confirm_kind.clear();
    ImGui::CloseCurrentPopup();
  }
  if (placed) ui_rect("confirm.keep");
  ImGui::EndPopup();
}

// --- the loop ----------------------------------------------------------------------------------------------
static void frame() {
  App& a = g_app;
  cd::Platform& p = a.platform;
  if (platform_new_frame(&p)) {
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    load_fonts(p.device_pixel_ratio);
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }
  ImGuiIO& io = ImGui::GetIO();
  // Idle pages draw nothing: the canvas keeps showing the last frame.
  cd::Segmentation& seg = cd::segmentation();
  if (live_rerun_step(emscripten_get_now())) cd::platform_want_frames(&p, 1);
  if (seg.dirty) {
    seg.dirty = false;
    cd::platform_want_frames(&p, 2);
  }
  // A model the user just loaded is selected and segments the image on show.
  if (!seg.model_added.empty()) {
    int i = model_index(seg.model_added);
    seg.model_added.clear();
    if (i >= 0) {
      choose_model(i);
      a.run_wanted = true;
    }
  }
  // A share link's model and parameters apply once the site's models are known, before any run.
  if (a.link_pending && seg.models_known) apply_link();
  // The image on show (the sample at start, then each opened one) is segmented once, with the
  // chosen model, else the default one (or the only one), when the site has one.
  if (a.run_wanted && seg.models_known && a.ready) {
    a.run_wanted = false;
    if (a.model < 0) {
      for (size_t i = 0; i < seg.models.size(); i++) {
        if (seg.models[i].name == kDefaultModel) choose_model(int(i));
      }
    }
    if (a.model < 0 && !seg.models.empty()) choose_model(0);
    if (can_run()) run_segmentation();
  }
  bool busy = p.frames_wanted > 0 || a.texture_dirty || io.WantTextInput || !a.ready;
  if (!busy) return;
  if (p.frames_wanted > 0) p.frames_wanted--;

  refresh_texture();
  apply_link_edits();
  refresh_overlay();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
  a.ui_rects.clear();
  cd::platform_after_new_frame(&p);

  float w = io.DisplaySize.x, h = io.DisplaySize.y;
  float status_h = ImGui::GetFontSize() + 12.0f;
  if (w < kPanelWidth * 2.0f && h > w) {
    // A narrow window standing upright (a phone): the image on top and the panel below it, both the
    // full width, instead of a panel that leaves the image a sliver and cuts its own lines.
    float viewer_h = std::floor((h - status_h) * 0.55f);
    side_panel(ImVec2(0, viewer_h), ImVec2(w, h - status_h - viewer_h));
    viewer_window({{0.0, 0.0}, {w, viewer_h}});
  } else {
    float panel_w = std::min(kPanelWidth, std::max(180.0f, w * 0.4f));
    side_panel(ImVec2(0, 0), ImVec2(panel_w, h - status_h));
    viewer_window({{panel_w, 0.0}, {w, h - status_h}});
  }
  status_bar(h - status_h, w, status_h);
  keys_window();
  confirm_dialog();
  p.zoom_log = 0.0;
  p.pointer_jumped = false;

  ImGui::Render();
  glViewport(0, 0, p.pixel_width, p.pixel_height);
  glClearColor(0.08f, 0.09f, 0.10f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

  a.frames++;
  // Ready once a frame with the image texture has been drawn (or an error is on screen to read).
  if (!a.ready && a.frames >= 2 && (a.texture.id != 0 || !a.error.empty())) a.ready = true;
  publish_state();
}

int main() {
  App& a = g_app;
  EmscriptenWebGLContextAttributes attrs;
  emscripten_webgl_init_context_attributes(&attrs);
  attrs.majorVersion = 2;
  attrs.minorVersion = 0;
  attrs.alpha = EM_FALSE;  // opaque canvas: the page behind never shows through
  attrs.depth = EM_FALSE;
  attrs.stencil = EM_FALSE;
  attrs.antialias = EM_FALSE;  // ImGui antialiases its own shapes
  a.gl = emscripten_webgl_create_context(a.platform.canvas, &attrs);
  if (a.gl <= 0) {
    js_fatal("This browser could not give CellDrop a WebGL2 context, which it needs to draw images. "
             "Turn on hardware acceleration in the browser settings, or try a current Chrome, Edge, "
             "Firefox or Safari.");
    return 1;
  }
  emscripten_webgl_make_context_current(a.gl);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  cd::platform_init(&a.platform);
  apply_style();
  cd::platform_new_frame(&a.platform);
  load_fonts(a.platform.device_pixel_ratio);
  ImGui_ImplOpenGL3_Init("#version 300 es");

  load_sample();
  publish_state();
  cd::segmentation_init();
  emscripten_set_main_loop(frame, 0, false);
  return 0;
}
