// What the page does, apart from drawing it: the image on show (the sample, opened files), the run
// settings and runs, share links, the exports and the selected object. The UI (main.cpp) and the
// page API (page_bridge.cpp) both go through these, so the buttons and window.celldrop agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/app.h"
#include "app/results.h"
#include "app/share.h"
#include "core/json.h"

// The image on show.
void choose_channel(int channel);  // display channel (or kColourView): its statistics and default contrast
void load_sample();                // the synthetic nuclei the page opens with
// Replaces the image with a decoded file; on failure the image and results on show stay as they were
// and the panel says why. A new image drops the old result and is segmented as soon as it can be.
// page: which page of a multi-page TIFF (0-based); -1 = the first, or a share link's when this is its file.
bool open_file(const uint8_t* bytes, size_t size, const std::string& name, const std::string& url, int page,
               std::string* error);
// The pixel size in micrometres for this and every image opened after it (0: each file's own). The
// table's areas in um^2 and the exports follow at once; the labels do not change.
void set_pixel_size(double um);

// Run settings and runs.
RunSettings run_settings();
void set_run_settings(const RunSettings& r);
void choose_model(int index);  // with its card's thresholds and normalisation
int model_index(const std::string& name);  // -1 when the site has no such model
bool can_run();
std::string run_params_json();  // every parameter of a run, as cd_run_start reads it
void run_segmentation();
// Does `action` now, unless the result has edits by hand that it would drop: then it waits for the
// user's yes in the panel's dialog (`kind` says what it is: "run", "thresholds", "model", "step",
// "segment_all"). The page API does not ask: a script that edits and runs again means it.
void unless_edits_lost(const char* kind, std::function<void()> action);
// Live re-runs: when only post-processing thresholds changed since the last result, the worker
// post-processes that result's network outputs again instead of running the network. The panel
// asks on each slider change; the re-run starts once the slider has rested kLiveRerunDelayMs.
bool only_thresholds_changed();
void request_live_rerun(double now_ms);
// Starts the requested re-run when it is due and nothing is running; true while one is pending.
bool live_rerun_step(double now_ms);
// Applies run parameters given as JSON (the page API's run(params), a share link's p.* values).
// Unknown keys and values out of range are refused with a sentence naming them, and nothing changes.
bool apply_params(const celldrop::JsonValue& p, std::string* error);

// Share links.
celldrop::ShareState current_share_state();
void apply_link();  // the pending link's model and parameters, once the site's models are known
// The link's edits by hand (objects removed and drawn), once a new result for the link's own image is on show.
void apply_link_edits();

// Results.
celldrop::ResultSource result_source();
// Marker-positive objects: the rule (the marker a channel, or a stain when not None; channel -1 and
// no stain stops counting; otsu: Otsu's threshold, else `threshold`), applied at once to the result on
// show and to every result after it.
void set_positive(int channel, celldrop::Stain stain, bool otsu, double threshold);
// Intensity grades on top of that rule: the 2+ and 3+ thresholds (NaN, NaN: none). Each is raised to
// the one below it if it lies under it, so the three always rise; grading takes a given 1+ threshold,
// so it leaves Otsu's for the one in use (and Otsu's, set again, ends grading). Without a marker, or
// with NaN, grading ends.
void set_grades(double grade2, double grade3);
// Applies the rule to the table's objects (after each measurement): counts, overlay colours (the
// boxes of objects whose class changed are queued for repainting), the note.
void classify_objects();
bool make_export(const std::string& key, std::vector<uint8_t>* bytes, std::string* name, const char** mime,
                 std::string* error);
void select_object(uint32_t id, bool centre);  // `centre` pans the viewer to it on the next frame
