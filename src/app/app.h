// The page's state, shared by the UI (main.cpp), what it does (session.h) and the page API's entry
// points (page_bridge.cpp): one App, g_app, lives for the page's lifetime.
#pragma once

#include <emscripten/html5.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "app/display.h"
#include "app/object_table.h"
#include "app/overlay.h"
#include "app/platform.h"
#include "app/share.h"
#include "app/texture.h"
#include "app/viewer.h"
#include "core/contours.h"
#include "core/image.h"
#include "core/stains.h"
#include "imgui.h"

constexpr uint64_t kSampleSeed = 1;
constexpr const char* kDefaultModel = "nuclei-star";  // segments the sample at start when present
constexpr int kDefaultTile = 512;
constexpr int kColourView = -1;  // App::channel of the colour view (channels 1-3 as RGB)
constexpr double kLiveRerunDelayMs = 150.0;  // a threshold slider at rest this long re-post-processes  // PipelineParams' tile size, what the worker uses when none is sent

struct Hover {
  bool inside = false;
  int x = -1;
  int y = -1;
  double value = 0.0;
};

constexpr size_t kMostOverlayRepaints = 2048;
constexpr int kMeansBins = 48;

struct App {
  celldrop::Platform platform;
  EMSCRIPTEN_WEBGL_CONTEXT_HANDLE gl = 0;

  // The image on show and what describes it.
  std::string image_title;
  std::string image_note;  // one line of provenance under the title
  celldrop::Image image;
  std::vector<uint8_t> image_file;  // the image as a file, what the worker decodes
  std::string image_file_name;
  std::string image_stem;    // names the exports: <stem>_<model>_labels.tiff (with _pageN for a page)
  int image_page = 0, image_pages = 1;  // the page on show of a multi-page TIFF (0-based), and how many
  std::string image_sha256;  // of image_file: share links and the run record name it
  std::string image_url;     // where it came from (?image=), else ""
  std::string open_error;    // the last open that failed; the image before it stays on show
  // Calibration. The file's pixel size (micrometres; 0 = it has none), and the user's, which replaces
  // every image's while it is set: a folder saved as PNG by one microscope carries none at all.
  // image.pixel_size_* holds the one in use; measurements and exports read it there.
  double file_pixel_size_x_um = 0.0, file_pixel_size_y_um = 0.0;
  double given_pixel_size_um = 0.0;
  char pixel_size_text[24] = {};  // the panel's field while it is being typed in
  bool pixel_size_typing = false;
  // Several images opened together (web/page_api.js keeps them): which one of how many, and its name.
  int list_index = 0, list_count = 0;
  std::string list_name;
  int batch_total = 0;  // "Segment all" in progress over this many images (0: none); batch_done finished
  int batch_done = 0;
  bool run_wanted = true;    // segment the image on show as soon as a model is known (start, open)
  int ground_truth_count = 0;
  double make_ms = 0.0;  // time to synthesize the sample

  // Display: one channel in grey, or kColourView.
  int channel = 0;
  celldrop::ChannelStats stats;  // of the channel on show, or of channels 1-3 pooled in the colour view
  celldrop::ContrastWindow contrast;
  std::vector<uint8_t> display_pixels;  // what the texture holds: 1 byte a pixel, 3 in the colour view
  celldrop::Texture texture;
  bool texture_dirty = true;

  // Viewer.
  celldrop::viewer::View view;
  celldrop::viewer::Rect viewport;
  bool fitted = true;  // re-fit on resize until the user pans or zooms
  bool view_valid = false;
  Hover hover;
  bool panel_touch_scroll = false;  // a finger that went down on the panel's background scrolls it

  // Segmentation: the chosen model and parameters, and the overlay of the last result.
  int model = -1;  // index into segmentation().models
  bool diameter_auto = true;
  double diameter = 20.0;
  std::vector<double> thresholds;  // the chosen model's, in its card's order (doubles: a run with the
                                   // card's values must match the CLI's bit for bit)
  bool exclude_border = false;     // leave out the objects the image border cuts (post-processing too)
  // Advanced parameters: sent only when they differ from the card's (or PipelineParams') defaults,
  // so a run with the defaults matches the CLI's default run exactly.
  double percentile_low = 1.0, percentile_high = 99.8;
  bool invert = false;   // the network sees 1 - the normalised image (dark objects on a bright background)
  int tile_size = kDefaultTile;
  int seg_channel = -1;  // multichannel images with a one-channel model: -1 = merge (mean), else channel
  // Or, for an RGB slide, one stain's density by colour deconvolution (core/stains.h), "hematoxylin" or
  // "dab"; empty: the channels. An IHC slide's hematoxylin is its nuclei as a fluorescence model sees them.
  std::string stain;
  // With a stain: unmix with the slide's own colours, estimated from it (stains.h's
  // estimate_stain_vectors), instead of Ruifrok & Johnston's.
  bool estimate_stains = false;
  // "auto" (WebGPU when the browser has it, else WASM), "webgpu" or "wasm": a share link asks for the
  // backend its result came from, since only the same backend promises identical labels.
  std::string backend_choice = "auto";
  // The masks over the image: outlines, filled colours (object_color, fixed by the id) or both.
  bool show_overlay = true;
  celldrop::OverlayMode overlay_mode = celldrop::OverlayMode::Outlines;
  bool overlay_dirty = false;  // the mode changed: the overlay texture is rebuilt on the next frame
  // Boxes of objects whose class changed, repainted on the next frame; beyond kMostOverlayRepaints of
  // them the whole layer is rebuilt instead.
  std::vector<celldrop::OverlayRect> overlay_repaint;
  float overlay_opacity = 0.9f;
  celldrop::Texture overlay;  // made from the labels a band at a time; no copy in memory
  // Screen rectangles of the Segment panel's controls, published for the browser tests to click.
  ImVec4 run_rect, cancel_rect, auto_diameter_rect, diameter_rect;
  std::vector<ImVec4> model_rects;
  uint32_t hover_object = 0;

  // Counting the nuclei positive for a marker (measure.h): an object is positive when its mean of the
  // marker reaches the threshold, Otsu's split of the objects' means while positive_otsu, else
  // positive_given. The marker is channel positive_channel, or on a slide read through a stain the
  // stain positive_stain (an IHC slide's DAB); -1 and None: not counting. Kept from image to image, as
  // the run settings.
  int positive_channel = -1;
  celldrop::Stain positive_stain = celldrop::Stain::None;
  bool positive_otsu = true;
  double positive_given = 0.0;
  // Intensity grades (measure.h): the 2+ and 3+ thresholds, positive_given being the 1+ one (grading
  // needs all three given: positive_otsu is then false); NaN: not grading.
  double grade_given[2] = {std::nan(""), std::nan("")};
  bool grading() const { return !std::isnan(grade_given[0]); }
  // For the result on show (classify_objects): the threshold in use (NaN when Otsu finds no split),
  // how many are positive (-1: not classified), the overlay's colour by id (empty when not counting)
  // and why the rule cannot be applied to this image ("" when it can).
  double positive_threshold = 0.0;
  int positive_count = -1;
  celldrop::GradeCounts grades;  // graded: each grade's count and the H-score (NaN h_score: not graded)
  bool graded() const { return !std::isnan(grades.h_score); }  // the result on show is graded
  std::vector<uint32_t> class_rgb;
  std::string positive_note;
  // The nuclei's means of the marker: their range (the threshold slider's) and how many fall
  // in each of kMeansBins equal bins over it (a mean equal to the top counts in the last bin), drawn
  // behind the slider so the user sees where the threshold cuts. Empty when not counting.
  double means_low = 0.0, means_high = 0.0;
  std::vector<int> means_histogram;

  // The last result, measured and traced once when it arrives (the table, the tooltip, the exports).
  celldrop::ObjectTable table;
  std::vector<celldrop::Contour> contours;
  bool centre_on_selected = false;  // a table click: the viewer pans to the object on the next frame
  // Drawing by hand (a nucleus the model missed): in draw mode a left drag in the viewer traces an
  // outline, in whole image pixels; releasing adds it as an object.
  bool draw_mode = false;
  std::vector<celldrop::Point2> stroke;
  std::string draw_note;  // why the last outline added nothing
  uint32_t select_when_measured = 0;  // a drawn object: selected once the table has it
  // An action of the panel or its keys that would drop the result's edits by hand (a run, the next
  // image), held until the user says yes in the dialog (unless_edits_lost).
  std::function<void()> confirm_action;
  std::string confirm_kind;  // "run", "thresholds", "model", "step", "segment_all"; "" when none waits
  bool show_keys = false;    // the list of keys ('?')

  // Share links: the state a link asked for (applied once models are known) and what it said about
  // the image, for the "same image" badge.
  bool link_pending = false;
  celldrop::ShareState link;
  bool has_link = false;
  bool link_edits_pending = false;  // the link has edits by hand: apply_link_edits, once
  std::string link_note;  // e.g. the link's model differs from this site's
  std::string share_fragment;  // the last link made by Share
  std::string export_error;    // the last export that failed

  // Screen rectangles of named controls (Open, Share, each export), published for the tests.
  std::vector<std::pair<std::string, ImVec4>> ui_rects;

  double live_rerun_due_ms = 0.0;  // when a requested live re-run starts (emscripten_get_now); 0 = none

  std::string error;  // shown over the viewer and published to the page
  int frames = 0;
  bool ready = false;
};


// The run parameters the panel edits, apart from the rest of the App so they can be changed on a
// copy and kept only when all of a request's keys are valid.
struct RunSettings {
  int model = -1;
  bool diameter_auto = true;
  double diameter = 20.0;
  std::vector<double> thresholds;
  double percentile_low = 1.0, percentile_high = 99.8;
  int tile_size = kDefaultTile;
  int seg_channel = -1;
  std::string backend = "auto";
  bool exclude_border = false;
  bool invert = false;
  std::string stain;
  bool estimate_stains = false;
};

extern App g_app;
