// CellDrop's C API: the flat functions the Node CLI (and the browser worker) call in the WebAssembly
// module. It is a thin shell: all logic lives in src/core.
//
// Memory contract (the same from C and from JavaScript):
//   - Inputs the caller passes by pointer (file bytes, parameter strings) are the caller's: allocate
//     them with cd_alloc (in JS: write into HEAPU8 at that address) and cd_free them afterwards.
//   - Every char* a function returns is a NUL-terminated JSON object on the heap, never NULL: the
//     result, or {"error":"<sentence a user can act on>"}. Free it with cd_free.
//   - Buffers returned through out-parameters (PNG bytes) are heap blocks too: free each with cd_free.
//   - In WebAssembly, pointers above 2 GB arrive in JS as negative numbers: read them as `ptr >>> 0`.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define CD_API EMSCRIPTEN_KEEPALIVE
#else
#define CD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

// "0.1.0": the version of the core; static, do not free.
CD_API const char* cd_version(void);

// malloc/free for the caller's inputs and for everything returned. cd_alloc(0) returns a valid block.
CD_API void* cd_alloc(size_t size);
CD_API void cd_free(void* ptr);

// What an image file is, without keeping its pixels:
//   {"format":"tiff","width":512,"height":512,"channels":1,"type":"uint16","pages":3,
//    "pixel_size_um":[0.325,0.325]}            (pixel_size_um is null when the file does not say)
// The first page is decoded too, so a truncated or corrupt file is reported here rather than later.
// max_megapixels bounds width x height (the decode budget); <= 0 takes the core's default.
CD_API char* cd_info(const uint8_t* bytes, size_t size, double max_megapixels);

// Synthetic nuclei (src/core/synth.h). `params` is text of name=value pairs separated by spaces,
// commas or newlines; each is optional, defaults as in SynthParams:
//   seed (unsigned 64-bit integer), width, height, bits (8|16), diameter, spread, density,
//   count (0 = from density), overlap, blur, background, photons (0 = no shot noise), read_noise
// Returns {"seed":"7","width":512,"height":512,"bits":16,"count":231,"overlapped":40} (the seed is
// a string: 64-bit integers do not survive JSON numbers in JS) and sets the out-parameters to the
// image PNG and the 16-bit label PNG; on error they are set to NULL/0.
CD_API char* cd_synth(const char* params, uint8_t** image_png, size_t* image_png_size, uint8_t** labels_png,
                      size_t* labels_png_size);

// --- segmentation -------------------------------------------------------------------------------
// Handles (models, images, runs, results) are opaque pointers; each has its own *_free, which
// accepts NULL. A run borrows its model and image: free the run before either. A result owns
// everything it needs: the run, model and image may be freed once it exists. Functions that give
// a handle through an out-parameter set it to NULL on error.
//
// A segmentation, as the CLI drives it (ONNX Runtime's session.run is asynchronous, so the core
// offers tiles and waits for their outputs instead of calling the network itself):
//   model = cd_model_open(card) ; cd_model_check_onnx(model, bytes) ; cd_model_check_io(model, names)
//   image = cd_image_decode(file bytes)
//   run = cd_run_start(model, image, params)
//   loop: t = cd_run_next_tile(run)   {"done":true} ends the loop
//         outputs = network(Float32Array view of t.data, [1, t.channels, t.height, t.width])
//         for each card output k: copy it into cd_run_output(run, k, channels, height, width)
//         cd_run_submit(run)
//   result = cd_run_finish(run) ; cd_result_export(result, "labels_png", ...) ...
// Memory may grow (and move, in WebAssembly) in any call that allocates: re-create typed-array views
// of the heap after each call.

// Reads and validates a model card (format 1, models/README.md). Returns a summary:
//   {"name","kind","diameter","input":{"name","channels","divisor"},"outputs":[{"name","channels","grid"}],
//    "thresholds":{...},"onnx":{"file","sha256","bytes"}}
CD_API char* cd_model_open(const char* card_json, size_t size, void** model);
// Checks the ONNX file's bytes against the card's size and SHA-256: {"ok":true,"sha256":"..."}. A run
// can start only after this succeeded, so the run record's model fingerprint is the file that ran.
CD_API char* cd_model_check_onnx(void* model, const uint8_t* bytes, size_t size);
// Checks the inference session's input and output names (and, where known, channel counts: -1 or
// null = unknown) against the card: io_json is
//   {"inputs":["image"],"outputs":["prob","dist"],"input_channels":[1],"output_channels":[1,32]}
CD_API char* cd_model_check_io(void* model, const char* io_json);
CD_API void cd_model_free(void* model);

// Decodes page `page` of an image file (max_megapixels <= 0: the core's default budget). Returns
//   {"format","width","height","channels","type","pages","pixel_size_um","sha256"}  (of the file's bytes)
CD_API char* cd_image_decode(const uint8_t* bytes, size_t size, int page, double max_megapixels, void** image);
// Gives a decoded image its pixel size (square, micrometres), over what its file said: the areas in
// um^2, the label files' calibration and the record (which says the user gave it) follow in the
// results of runs started afterwards. Returns {"pixel_size_um"} or the error.
CD_API char* cd_image_set_pixel_size(void* image, double um);
CD_API void cd_image_free(void* image);

// Starts a run: params_json as parse_pipeline_params reads it (src/core/pipeline_json.h; NULL or
// "{}" = the card's defaults and an automatic diameter). Returns {"passes":1|2}.
CD_API char* cd_run_start(void* model, void* image, const char* params_json, void** run);
// Like cd_run_start, and the result keeps the final pass's stitched network outputs (at network
// scale: star 1 + n_rays floats per grid cell, flow 3 floats per pixel) for cd_result_repostprocess.
// They stay with the result until cd_result_free: use it where thresholds may change afterwards.
CD_API char* cd_run_start_keeping_maps(void* model, void* image, const char* params_json, void** run);
// The tile waiting for the network:
//   {"done":false,"data":<float* address>,"channels","height","width","index","count","pass","passes"}
// or {"done":true} when the run has every output it needs; with external flow dynamics (below), the
// request for end points when the run waits for them:
//   {"done":false,"dynamics":true,"flow":<float* planar 2 x h x w>,"foreground":<uint8_t* h x w>,
//    "width","height","niter","flow_scale","passes"} The tile's floats (NCHW, N = 1) stay
// valid until cd_run_submit / cd_run_cancel / cd_run_free.
CD_API char* cd_run_next_tile(void* run);
// A buffer of channels x height x width floats for the current tile's output k (the card's order),
// to copy the network's output into; NULL when k is out of range or the run has no tile waiting.
CD_API float* cd_run_output(void* run, int k, int channels, int height, int width);
// Hands the outputs in: {"ok":true,"done":false|true} or the error (wrong shapes, cancelled).
CD_API char* cd_run_submit(void* run);
// Flow models: the run waits for the caller's end points after each pass's tiles (the page follows
// flows on the GPU) instead of running follow_flows; call right after cd_run_start. Star runs ignore it.
CD_API void cd_run_external_flow_dynamics(void* run);
// The end points for the waiting request, per pixel as cd_flow_follow writes them (only foreground
// pixels are read): {"ok":true,"done":false|true}, or the error (no request waiting, non-finite).
CD_API char* cd_run_submit_end_points(void* run, const float* end_y, const float* end_x);
// Stops the run: the network failed (message says how; the run's error names the tile), or the
// user cancelled (message NULL: the error is "cancelled").
CD_API void cd_run_fail(void* run, const char* message);
// The run's result and its summary (pipeline_summary_json) once every tile is in; else the error.
CD_API char* cd_run_finish(void* run, void** result);
CD_API void cd_run_free(void* run);

// Writes one export of a result into *bytes (a cd_free-able block) and returns {"bytes":N} or the
// error. format: "labels_png" (16-bit; refused above 65535 objects: use "labels_tiff"),
// "labels_tiff" (16 or 32-bit), "csv" (measurements), "geojson" (QuPath), "roi" (ImageJ ROI zip),
// "record" (JSON run record), "summary" (the run summary JSON). options_json may be NULL; "record"
// reads {"image_name": "...", "started_at": "ISO 8601", "image_page": N (a multi-page file's page)} from it.
CD_API char* cd_result_export(void* result, const char* format, const char* options_json, uint8_t** bytes,
                              size_t* size);
// Classifies the result's objects as positive for a marker (measure.h): positive when the object's
// mean of the marker is >= threshold; a NaN threshold is Otsu's over the objects' means (NaN too when
// they cannot be split: then none is positive). The marker is a channel from 0 ("1"), or a stain
// ("dab", "hematoxylin": each object's mean density, measured when the run read the slide through a
// stain); NULL or "" clears the classification. The CSV ("positive" column), GeoJSON (QuPath's
// Positive / Negative classes) and record ("positive") follow. Returns {"positive": N, "objects": M,
// "threshold": T or null, "threshold_from": "otsu" or "user"} or the error (a channel the image
// lacks, stains not measured).
// Graded (measure.h's intensity grades): grade2 and grade3 are the 2+ and 3+ thresholds, and
// threshold, the 1+ one, is then needed; NaN and NaN: not graded. The CSV gets a "grade" column, the
// GeoJSON QuPath's Negative / 1+ / 2+ / 3+ classes, the record "grades", and the answer "grades":
// [negative, 1+, 2+, 3+] and "h_score" (0 to 300).
CD_API char* cd_result_classify(void* result, const char* marker, double threshold, double grade2, double grade3);
CD_API void cd_result_free(void* result);
// The result's label image as it is held (width x height uint32, row-major, 0 = background, objects
// 1..N), valid until cd_result_free; sets *width, *height and returns N. For a caller in the same
// process (the page's worker hands the labels to the page as they are: a 4096^2 PNG would cost an
// encode here and a decode there, and the decode's buffers, for nothing).
CD_API const uint32_t* cd_result_labels(void* result, int* width, int* height, int* count);
// Post-processes a result again with other thresholds (prob_thresh / nms_thresh, cellprob_thresh /
// flow_thresh, min_area), without the network: the pipeline runs on `image` (the one the result was made from)
// with params_json, each tile answered from the result's kept network outputs (cd_run_start_keeping_maps),
// so the labels are those of a full run with these parameters. params_json may differ from the
// result's parameters in thresholds only. Returns the new result's summary (as cd_run_finish) and sets
// *new_result, which keeps the outputs too; the old result is left as it was. When the network is
// needed after all (no kept outputs, another image or parameters, or an automatic diameter that comes
// to another scale with these thresholds) the error has "needs_network":true: run it in full.
CD_API char* cd_result_repostprocess(void* result, void* image, const char* params_json, void** new_result);

// --- flow dynamics (src/core/flow.h), one step at a time --------------------------------------------
// For the GPU path (shaders/flow_follow.wgsl replaces cd_flow_follow) and its tests: the same inputs
// go to the C++ reference and to the shader, and either's end points go on to the clustering.
// Arrays are row-major, width x height; a flow field is planar 2 x height x width floats (the dy
// plane, then dx). Each returns JSON: {"error"} on a bad size, else what it says below.

// Unit flows toward each object's centre from a label image (0 = background): masks_to_flows, the
// training target; writes 2 x width x height floats to `flow`. Returns {"ok":true}.
CD_API char* cd_flow_from_labels(const uint32_t* labels, int width, int height, float* flow);
// The reference dynamics (follow_flows): every pixel with foreground[i] != 0 moves `niter` Euler
// steps along flow / flow_scale. Writes each pixel's end position to end_y[i], end_x[i] (background
// pixels: their own position). Returns {"foreground":N}.
CD_API char* cd_flow_follow(const float* flow, const uint8_t* foreground, int width, int height, int niter,
                            float flow_scale, float* end_y, float* end_x);
// The clustering (get_masks) of the foreground pixels' end points, from cd_flow_follow or a shader:
// writes labels (0 = no cluster) to `labels`. Returns {"max_label":N}; a non-finite end point is an error.
CD_API char* cd_flow_masks(const float* end_y, const float* end_x, const uint8_t* foreground, int width, int height,
                           float max_size_fraction, uint32_t* labels);

// --- evaluation ------------------------------------------------------------------------------------
// Compares a predicted label image with the ground truth (both files: 16-bit PNG, 8/16/32-bit TIFF,
// one channel, same size) by one-to-one matching at IoU > t (src/core/metrics.h):
//   {"gt_objects","pred_objects","thresholds":[0.5,...,0.95],"tp":[...],"fp":[...],"fn":[...],"dsb":x}
CD_API char* cd_eval_pair(const uint8_t* gt, size_t gt_size, const uint8_t* pred, size_t pred_size);

#ifdef __cplusplus
}
#endif
