#include "api/celldrop_api.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/contours.h"
#include "core/decode.h"
#include "core/export.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/label_io.h"
#include "core/measure.h"
#include "core/metrics.h"
#include "core/model_card.h"
#include "core/pipeline.h"
#include "core/pipeline_json.h"
#include "core/png_write.h"
#include "core/sha256.h"
#include "core/synth.h"

using namespace celldrop;

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

// Hands a string to the caller as a cd_free-able heap block.
char* give(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

char* give_error(const std::string& message) { return give("{\"error\":" + json_string(message) + "}"); }

uint8_t* give_bytes(const std::vector<uint8_t>& v) {
  uint8_t* p = static_cast<uint8_t*>(std::malloc(v.empty() ? 1 : v.size()));
  if (p && !v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

// name=value pairs, separated by whitespace or commas.
bool parse_synth_params(const char* text, SynthParams* p, std::string* error) {
  std::string s = text ? text : "";
  size_t at = 0;
  while (at < s.size()) {
    size_t end = s.find_first_of(" \t\r\n,", at);
    if (end == std::string::npos) end = s.size();
    std::string pair = s.substr(at, end - at);
    at = end + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      *error = "synth: expected name=value, got '" + pair + "'";
      return false;
    }
    std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
    const char* v = value.c_str();
    char* rest = nullptr;
    errno = 0;
    if (name == "seed") {
      // strtoull accepts "-1" (wrapping it) and leading spaces; only plain digits are seeds.
      bool digits = value.find_first_not_of("0123456789") == std::string::npos;
      unsigned long long seed = std::strtoull(v, &rest, 10);
      if (!digits || *rest || errno == ERANGE) {
        *error = "synth: seed must be an integer from 0 to 18446744073709551615, not '" + value + "'";
        return false;
      }
      p->seed = uint64_t(seed);
      continue;
    }
    double number = std::strtod(v, &rest);
    if (*rest || rest == v || !std::isfinite(number)) {
      *error = "synth: " + name + " must be a number, not '" + value + "'";
      return false;
    }
    bool integer = std::floor(number) == number && std::fabs(number) < 2e9;
    auto need_integer = [&](int* field) {
      if (!integer) {
        *error = "synth: " + name + " must be an integer, not '" + value + "'";
        return false;
      }
      *field = int(number);
      return true;
    };
    if (name == "width") {
      if (!need_integer(&p->width)) return false;
    } else if (name == "height") {
      if (!need_integer(&p->height)) return false;
    } else if (name == "bits") {
      if (!need_integer(&p->bits)) return false;
    } else if (name == "count") {
      if (!need_integer(&p->count)) return false;
    } else if (name == "diameter") {
      p->mean_diameter = number;
    } else if (name == "spread") {
      p->diameter_spread = number;
    } else if (name == "density") {
      p->density = number;
    } else if (name == "overlap") {
      p->overlap = number;
    } else if (name == "blur") {
      p->blur_sigma = number;
    } else if (name == "background") {
      p->background = number;
    } else if (name == "photons") {
      p->photons = number;
    } else if (name == "read_noise") {
      p->read_noise = number;
    } else {
      *error = "synth: unknown parameter '" + name +
               "' (known: seed, width, height, bits, diameter, spread, density, count, overlap, blur, "
               "background, photons, read_noise)";
      return false;
    }
  }
  return true;
}

// --- handles --------------------------------------------------------------------------------------
struct ModelHandle {
  ModelCard card;
  bool onnx_checked = false;
};

struct ImageHandle {
  Image image;
  std::string sha256;  // of the file's bytes
  bool pixel_size_given = false;  // by cd_image_set_pixel_size, not the file
};

struct RunHandle {
  const ModelHandle* model = nullptr;
  const ImageHandle* image = nullptr;
  PipelineParams params;
  PipelineRun run;
  std::vector<NetworkOutput> outputs;  // the current tile's, filled through cd_run_output
};

struct ResultHandle {
  ModelCard card;
  PipelineParams params;
  PipelineResult result;  // labels included
  std::vector<ObjectMeasurements> objects;
  std::string image_sha256;
  int image_width = 0, image_height = 0, image_channels = 0;
  double pixel_size_um = 0.0;  // square pixels only; 0 = unknown
  bool pixel_size_given = false;
  PositiveRule positive;  // cd_result_classify's; without a marker: not classified
  bool positive_threshold_given = false;
  bool have_contours = false;
  std::vector<Contour> contours;  // traced on the first export that needs them

  const std::vector<Contour>& outlines() {
    if (!have_contours) {
      contours = trace_contours(result.labels);
      have_contours = true;
    }
    return contours;
  }
};

std::string model_summary(const ModelCard& c) {
  JsonWriter w;
  w.begin_object();
  w.key("name").value(c.name);
  w.key("kind").value(model_kind_name(c.kind));
  w.key("diameter").value(c.diameter);
  w.key("input").begin_object();
  w.key("name").value(c.input.name).key("channels").value(c.input.channels).key("divisor").value(c.input.divisor);
  w.end_object();
  w.key("outputs").begin_array();
  for (const ModelOutput& o : c.outputs)
    w.begin_object().key("name").value(o.name).key("channels").value(o.channels).key("grid").value(o.grid).end_object();
  w.end_array();
  w.key("thresholds").begin_object();
  if (c.kind == ModelKind::Star)
    w.key("prob").value(c.star.prob_threshold).key("nms").value(c.star.nms_threshold);
  else
    w.key("cellprob").value(c.flow.cellprob_threshold).key("flow").value(c.flow.flow_threshold);
  w.key("min_area").value(c.min_area);
  w.end_object();
  w.key("onnx").begin_object();
  w.key("file").value(c.onnx.file).key("sha256").value(c.onnx.sha256).key("bytes").value(int64_t(c.onnx.bytes));
  w.end_object();
  w.end_object();
  return w.str();
}

// A JSON array of strings (names) or of integers / nulls (channel counts, null = -1 = unknown).
bool read_names(const JsonValue* v, const char* key, std::vector<std::string>* out, std::string* error) {
  if (!v || !v->is_array()) {
    *error = std::string("session I/O: \"") + key + "\" must be a list of names";
    return false;
  }
  for (const JsonValue& e : v->array) {
    if (!e.is_string()) {
      *error = std::string("session I/O: \"") + key + "\" must hold names (strings)";
      return false;
    }
    out->push_back(e.string);
  }
  return true;
}

bool read_counts(const JsonValue* v, const char* key, std::vector<int64_t>* out, std::string* error) {
  if (!v) return true;
  if (!v->is_array()) {
    *error = std::string("session I/O: \"") + key + "\" must be a list of channel counts";
    return false;
  }
  for (const JsonValue& e : v->array) out->push_back(e.is_number() ? int64_t(e.number) : -1);
  return true;
}

// Defined below the C functions they serve.
char* start_run(void* model, void* image, const char* params_json, bool keep_maps, void** run);
char* finish_result(PipelineRun& run, const ModelCard& card, const PipelineParams& params, const ImageHandle& image,
                    bool replayed, void** result);

}  // namespace

extern "C" {

const char* cd_version(void) { return CELLDROP_VERSION; }

void* cd_alloc(size_t size) { return std::malloc(size ? size : 1); }

void cd_free(void* ptr) { std::free(ptr); }

char* cd_info(const uint8_t* bytes, size_t size, double max_megapixels) {
  if (!bytes && size) return give_error("no input bytes");
  ImageInfo info;
  std::string error;
  if (!probe_image(bytes, size, &info, &error)) return give_error(error);

  DecodeOptions options;
  double pixels = double(info.width) * double(info.height);
  double budget = max_megapixels > 0.0 ? max_megapixels * 1e6 : double(options.max_samples) / 4.0;
  if (pixels > budget) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "%dx%d is %.1f megapixels, above the budget of %.1f; raise it (--max-megapixels) if "
                  "this machine has the memory",
                  info.width, info.height, pixels / 1e6, budget / 1e6);
    return give_error(buf);
  }
  // Decoding checks the pixel data itself (truncation, corrupt compressed streams).
  options.max_samples = uint64_t(budget) * uint64_t(info.channels > 0 ? info.channels : 1);
  Image image;
  if (!decode_image(bytes, size, options, &image, &error)) return give_error(error);

  std::string pixel_size = "null";
  if (info.pixel_size_x_um > 0.0 && info.pixel_size_y_um > 0.0)
    pixel_size = "[" + json_number(info.pixel_size_x_um) + "," + json_number(info.pixel_size_y_um) + "]";
  std::string json = "{\"format\":" + json_string(info.format) + ",\"width\":" + std::to_string(info.width) +
                     ",\"height\":" + std::to_string(info.height) + ",\"channels\":" +
                     std::to_string(info.channels) + ",\"type\":" + json_string(sample_type_name(info.type)) +
                     ",\"pages\":" + std::to_string(info.pages) + ",\"pixel_size_um\":" + pixel_size + "}";
  return give(json);
}

char* cd_synth(const char* params, uint8_t** image_png, size_t* image_png_size, uint8_t** labels_png,
               size_t* labels_png_size) {
  if (image_png) *image_png = nullptr;
  if (labels_png) *labels_png = nullptr;
  if (image_png_size) *image_png_size = 0;
  if (labels_png_size) *labels_png_size = 0;
  if (!image_png || !image_png_size || !labels_png || !labels_png_size)
    return give_error("cd_synth: the four out-parameters must not be NULL");

  SynthParams p;
  std::string error;
  if (!parse_synth_params(params, &p, &error)) return give_error(error);
  SynthResult r = synthesize_nuclei(p);
  if (!r.error.empty()) return give_error(r.error);

  std::vector<uint8_t> image_bytes, label_bytes;
  if (!write_png(r.image, PngWriteOptions(), &image_bytes, &error)) return give_error(error);
  if (!write_labels_png(r.labels, PngWriteOptions(), &label_bytes, &error)) return give_error(error);
  uint8_t* image = give_bytes(image_bytes);
  uint8_t* labels = give_bytes(label_bytes);
  if (!image || !labels) {
    std::free(image);
    std::free(labels);
    return give_error("out of memory for the PNG files");
  }
  *image_png = image;
  *image_png_size = image_bytes.size();
  *labels_png = labels;
  *labels_png_size = label_bytes.size();
  return give("{\"seed\":\"" + std::to_string(p.seed) + "\",\"width\":" + std::to_string(p.width) +
              ",\"height\":" + std::to_string(p.height) + ",\"bits\":" + std::to_string(p.bits) +
              ",\"count\":" + std::to_string(r.count) + ",\"overlapped\":" + std::to_string(r.overlapped) + "}");
}

// --- models ---------------------------------------------------------------------------------------

char* cd_model_open(const char* card_json, size_t size, void** model) {
  if (!model) return give_error("cd_model_open: the out-parameter must not be NULL");
  *model = nullptr;
  if (!card_json && size) return give_error("no model card text");
  auto* m = new ModelHandle;
  std::string error;
  if (!parse_model_card(card_json ? card_json : "", size, &m->card, &error)) {
    delete m;
    return give_error(error);
  }
  *model = m;
  return give(model_summary(m->card));
}

char* cd_model_check_onnx(void* model, const uint8_t* bytes, size_t size) {
  auto* m = static_cast<ModelHandle*>(model);
  if (!m) return give_error("cd_model_check_onnx: no model");
  if (!bytes && size) return give_error("no ONNX bytes");
  std::string error;
  m->onnx_checked = false;
  if (!check_model_bytes(m->card, bytes, size, &error)) return give_error(error);
  m->onnx_checked = true;
  return give("{\"ok\":true,\"sha256\":" + json_string(m->card.onnx.sha256) + "}");
}

char* cd_model_check_io(void* model, const char* io_json) {
  auto* m = static_cast<ModelHandle*>(model);
  if (!m) return give_error("cd_model_check_io: no model");
  JsonValue io;
  std::string error;
  const std::string text = io_json ? io_json : "";
  if (!json_parse(text, &io, &error)) return give_error("session I/O: " + error);
  std::vector<std::string> inputs, outputs;
  std::vector<int64_t> input_channels, output_channels;
  if (!read_names(io.find("inputs"), "inputs", &inputs, &error) ||
      !read_names(io.find("outputs"), "outputs", &outputs, &error) ||
      !read_counts(io.find("input_channels"), "input_channels", &input_channels, &error) ||
      !read_counts(io.find("output_channels"), "output_channels", &output_channels, &error))
    return give_error(error);
  if (!validate_model_io(m->card, inputs, outputs, &error, input_channels, output_channels))
    return give_error(error);
  return give("{\"ok\":true}");
}

void cd_model_free(void* model) { delete static_cast<ModelHandle*>(model); }

// --- images ---------------------------------------------------------------------------------------

char* cd_image_decode(const uint8_t* bytes, size_t size, int page, double max_megapixels, void** image) {
  if (!image) return give_error("cd_image_decode: the out-parameter must not be NULL");
  *image = nullptr;
  if (!bytes && size) return give_error("no input bytes");
  ImageInfo info;
  std::string error;
  if (!probe_image(bytes, size, &info, &error)) return give_error(error);
  if (page < 0 || page >= info.pages)
    return give_error("page " + std::to_string(page) + " does not exist: the file has " + std::to_string(info.pages) +
                      " page" + (info.pages == 1 ? "" : "s") + " (numbered from 0)");
  DecodeOptions options;
  options.page = page;
  if (max_megapixels > 0.0) options.max_samples = uint64_t(max_megapixels * 1e6) * uint64_t(std::max(1, info.channels));
  auto* h = new ImageHandle;
  if (!decode_image(bytes, size, options, &h->image, &error)) {
    delete h;
    return give_error(error);
  }
  h->sha256 = sha256_hex(bytes, size);
  const Image& im = h->image;
  std::string pixel_size = "null";
  if (im.pixel_size_x_um > 0.0 && im.pixel_size_y_um > 0.0)
    pixel_size = "[" + json_number(im.pixel_size_x_um) + "," + json_number(im.pixel_size_y_um) + "]";
  *image = h;
  return give("{\"format\":" + json_string(info.format) + ",\"width\":" + std::to_string(im.width) +
              ",\"height\":" + std::to_string(im.height) + ",\"channels\":" + std::to_string(im.channels) +
              ",\"type\":" + json_string(sample_type_name(im.type)) + ",\"pages\":" + std::to_string(info.pages) +
              ",\"pixel_size_um\":" + pixel_size + ",\"sha256\":" + json_string(h->sha256) + "}");
}

char* cd_image_set_pixel_size(void* image, double um) {
  auto* h = static_cast<ImageHandle*>(image);
  if (!h) return give_error("cd_image_set_pixel_size: no image");
  if (!(um > 0.0 && um <= 1e6)) return give_error("the pixel size must be a length in micrometres above 0");
  h->image.pixel_size_x_um = h->image.pixel_size_y_um = um;
  h->pixel_size_given = true;
  return give("{\"pixel_size_um\":" + json_number(um) + "}");
}

void cd_image_free(void* image) { delete static_cast<ImageHandle*>(image); }

// --- runs -----------------------------------------------------------------------------------------

char* cd_run_start(void* model, void* image, const char* params_json, void** run) {
  return start_run(model, image, params_json, false, run);
}

char* cd_run_start_keeping_maps(void* model, void* image, const char* params_json, void** run) {
  return start_run(model, image, params_json, true, run);
}

}  // extern "C"

namespace {

char* start_run(void* model, void* image, const char* params_json, bool keep_maps, void** run) {
  if (!run) return give_error("cd_run_start: the out-parameter must not be NULL");
  *run = nullptr;
  auto* m = static_cast<ModelHandle*>(model);
  auto* im = static_cast<ImageHandle*>(image);
  if (!m || !im) return give_error("cd_run_start: no model or no image");
  if (!m->onnx_checked)
    return give_error("the model's ONNX file was not checked against its card (cd_model_check_onnx), so the "
                      "run record could not vouch for it");
  auto* r = new RunHandle;
  r->model = m;
  r->image = im;
  std::string error;
  const std::string text = params_json && *params_json ? params_json : "{}";
  if (!parse_pipeline_params(text.data(), text.size(), &r->params, &error)) {
    delete r;
    return give_error(error);
  }
  r->params.keep_maps = keep_maps;
  if (!r->run.begin(im->image, m->card, r->params, &error)) {
    delete r;
    return give_error(error);
  }
  *run = r;
  return give("{\"passes\":" + std::to_string(r->run.passes()) + "}");
}

// A finished run's result: labels, measurements and what the exports need of the card and image.
// `replayed`: the tiles were answered from kept outputs, so no inference happened: the time the
// pipeline counted for its tiles was post-processing work, and the summary and record say so.
char* finish_result(PipelineRun& run, const ModelCard& card, const PipelineParams& params, const ImageHandle& image,
                    bool replayed, void** result) {
  auto* h = new ResultHandle;
  std::string error;
  if (!run.finish(&h->result, &error)) {
    delete h;
    return give_error(error);
  }
  if (replayed) {
    h->result.timings.postprocess += h->result.timings.inference;
    h->result.timings.inference = 0.0;
  }
  const Image& im = image.image;
  // A slide read through a stain is a brightfield one: each object's stain densities are measured
  // too, the DAB one being what a positive count on an immunohistochemistry slide reads.
  if (!measure_objects(h->result.labels, &im, &h->objects, &error) ||
      (params.channels.stain != Stain::None &&
       !measure_stains(h->result.labels, im, h->result.channels.stain_vectors, &h->objects, &error))) {
    delete h;
    return give_error(error);
  }
  h->card = card;
  h->params = params;
  h->params.keep_maps = false;  // the comparison in cd_result_repostprocess is of what the user chose
  h->image_sha256 = image.sha256;
  h->image_width = im.width;
  h->image_height = im.height;
  h->image_channels = im.channels;
  h->pixel_size_um = im.square_pixel_size_um();
  h->pixel_size_given = image.pixel_size_given;
  *result = h;
  return give(pipeline_summary_json(h->card, h->result));
}

// Everything but the thresholds: what decides the network's inputs and so its outputs.
bool same_network_inputs(const PipelineParams& a, const PipelineParams& b) {
  return a.channels.channels == b.channels.channels && a.channels.merge == b.channels.merge &&
         a.channels.stain == b.channels.stain &&
         (a.channels.stain == Stain::None || a.channels.estimate_stains == b.channels.estimate_stains) &&
         a.invert == b.invert && a.percentile_low == b.percentile_low &&
         a.percentile_high == b.percentile_high && a.diameter == b.diameter &&
         a.tile_size == b.tile_size && a.overlap == b.overlap && a.max_network_pixels == b.max_network_pixels;
}

// The kept stitched outputs, cut to the tile's window as the network would have returned them. Only
// the window's kept centre is stitched, and it lies inside the network-scale image where the maps
// are defined; the padding beyond is never read, so it is left at zero.
std::vector<NetworkOutput> outputs_from_maps(const ModelCard& card, const PipelineMaps& m, const NetworkTile& t) {
  std::vector<NetworkOutput> outs(card.outputs.size());
  if (card.kind == ModelKind::Star) {
    const int g = m.grid, R = card.star.n_rays;
    NetworkOutput& P = outs[size_t(card.output_index("prob"))];
    NetworkOutput& D = outs[size_t(card.output_index("dist"))];
    P.channels = 1;
    D.channels = R;
    P.height = D.height = t.height / g;
    P.width = D.width = t.width / g;
    const size_t plane = size_t(P.width) * size_t(P.height);
    P.data.assign(plane, 0.0f);
    D.data.assign(plane * size_t(R), 0.0f);
    for (int ly = 0; ly < P.height; ++ly) {
      const int gy = t.y / g + ly;
      if (gy >= m.grid_height) break;
      for (int lx = 0; lx < P.width; ++lx) {
        const int gx = t.x / g + lx;
        if (gx >= m.grid_width) break;
        const size_t cell = size_t(gy) * size_t(m.grid_width) + size_t(gx), local = size_t(ly) * size_t(P.width) + size_t(lx);
        P.data[local] = m.prob[cell];
        for (int k = 0; k < R; ++k) D.data[size_t(k) * plane + local] = m.dist[cell * size_t(R) + size_t(k)];
      }
    }
  } else {
    NetworkOutput& P = outs[size_t(card.output_index("cellprob"))];
    NetworkOutput& F = outs[size_t(card.output_index("flow"))];
    P.channels = 1;
    F.channels = 2;
    P.height = F.height = t.height;
    P.width = F.width = t.width;
    const size_t plane = size_t(t.width) * size_t(t.height);
    P.data.assign(plane, 0.0f);
    F.data.assign(2 * plane, 0.0f);
    for (int ly = 0; ly < t.height && t.y + ly < m.height; ++ly) {
      for (int lx = 0; lx < t.width && t.x + lx < m.width; ++lx) {
        const size_t p = size_t(t.y + ly) * size_t(m.width) + size_t(t.x + lx), local = size_t(ly) * size_t(t.width) + size_t(lx);
        P.data[local] = m.cellprob[p];
        F.data[local] = m.flow.dy()[p];
        F.data[plane + local] = m.flow.dx()[p];
      }
    }
  }
  return outs;
}

}  // namespace

extern "C" {

char* cd_run_next_tile(void* run) {
  auto* r = static_cast<RunHandle*>(run);
  if (!r) return give_error("cd_run_next_tile: no run");
  const NetworkTile* t = r->run.next_tile();
  char buf[320];
  if (!t) {
    const FlowDynamicsRequest* d = r->run.flow_dynamics();
    if (!d) return give("{\"done\":true}");
    std::snprintf(buf, sizeof buf,
                  "{\"done\":false,\"dynamics\":true,\"flow\":%lu,\"foreground\":%lu,\"width\":%d,\"height\":%d,"
                  "\"niter\":%d,\"flow_scale\":%.9g,\"passes\":%d}",
                  static_cast<unsigned long>(reinterpret_cast<uintptr_t>(d->flow->data.data())),
                  static_cast<unsigned long>(reinterpret_cast<uintptr_t>(d->foreground->data())), d->flow->width,
                  d->flow->height, d->niter, double(d->flow_scale), r->run.passes());
    return give(buf);
  }
  std::snprintf(buf, sizeof buf,
                "{\"done\":false,\"data\":%lu,\"channels\":%d,\"height\":%d,\"width\":%d,\"index\":%d,"
                "\"count\":%d,\"pass\":%d,\"passes\":%d}",
                static_cast<unsigned long>(reinterpret_cast<uintptr_t>(t->data)), t->channels, t->height, t->width,
                t->index, t->count, t->pass, r->run.passes());
  return give(buf);
}

float* cd_run_output(void* run, int k, int channels, int height, int width) {
  auto* r = static_cast<RunHandle*>(run);
  if (!r || !r->run.next_tile() || k < 0 || k >= int(r->model->card.outputs.size())) return nullptr;
  if (channels <= 0 || height <= 0 || width <= 0 || int64_t(channels) * height * width > (int64_t(1) << 30))
    return nullptr;
  if (r->outputs.size() != r->model->card.outputs.size()) r->outputs.resize(r->model->card.outputs.size());
  NetworkOutput& o = r->outputs[size_t(k)];
  o.channels = channels;
  o.height = height;
  o.width = width;
  o.data.assign(size_t(channels) * size_t(height) * size_t(width), 0.0f);
  return o.data.data();
}

char* cd_run_submit(void* run) {
  auto* r = static_cast<RunHandle*>(run);
  if (!r) return give_error("cd_run_submit: no run");
  std::string error;
  const bool ok = r->run.submit(r->outputs, &error);
  for (NetworkOutput& o : r->outputs) o = NetworkOutput();  // each tile brings its own
  if (!ok) return give_error(error);
  return give(std::string("{\"ok\":true,\"done\":") + (r->run.next_tile() ? "false" : "true") + "}");
}

void cd_run_external_flow_dynamics(void* run) {
  if (auto* r = static_cast<RunHandle*>(run)) r->run.set_external_flow_dynamics(true);
}

char* cd_run_submit_end_points(void* run, const float* end_y, const float* end_x) {
  auto* r = static_cast<RunHandle*>(run);
  if (!r) return give_error("cd_run_submit_end_points: no run");
  const FlowDynamicsRequest* d = r->run.flow_dynamics();
  if (!d) return give_error("the run is not waiting for flow end points");
  // Per-pixel arrays (cd_flow_follow's layout) to the core's list over the foreground pixels.
  EndPoints ends;
  const std::vector<uint8_t>& fg = *d->foreground;
  for (size_t i = 0; i < fg.size(); ++i) {
    if (!fg[i]) continue;
    ends.pixel.push_back(uint32_t(i));
    ends.y.push_back(end_y[i]);
    ends.x.push_back(end_x[i]);
  }
  std::string error;
  if (!r->run.submit_end_points(ends, &error)) return give_error(error);
  return give(std::string("{\"ok\":true,\"done\":") + (r->run.done() ? "true" : "false") + "}");
}

void cd_run_fail(void* run, const char* message) {
  auto* r = static_cast<RunHandle*>(run);
  if (!r) return;
  if (message) r->run.fail_tile(message);
  else r->run.cancel();
}

char* cd_run_finish(void* run, void** result) {
  if (!result) return give_error("cd_run_finish: the out-parameter must not be NULL");
  *result = nullptr;
  auto* r = static_cast<RunHandle*>(run);
  if (!r) return give_error("cd_run_finish: no run");
  return finish_result(r->run, r->model->card, r->params, *r->image, false, result);
}

void cd_run_free(void* run) { delete static_cast<RunHandle*>(run); }

// --- results ----------------------------------------------------------------------------------------

char* cd_result_export(void* result, const char* format, const char* options_json, uint8_t** bytes, size_t* size) {
  if (!bytes || !size) return give_error("cd_result_export: the out-parameters must not be NULL");
  *bytes = nullptr;
  *size = 0;
  auto* h = static_cast<ResultHandle*>(result);
  if (!h) return give_error("cd_result_export: no result");
  const std::string what = format ? format : "";
  std::vector<uint8_t> out;
  std::string text, error;
  bool ok = true, is_text = false;
  if (what == "labels_png") {
    PngWriteOptions o;
    o.pixel_size_x_um = o.pixel_size_y_um = h->pixel_size_um;
    ok = write_labels_png(h->result.labels, o, &out, &error);
  } else if (what == "labels_tiff") {
    LabelTiffOptions o;
    o.pixel_size_um = h->pixel_size_um;
    ok = write_labels_tiff(h->result.labels, o, &out, &error);
  } else if (what == "csv") {
    is_text = true;
    ok = write_csv(measurements_table(h->objects), &text, &error);
  } else if (what == "geojson") {
    is_text = true;
    const MeasurementTable table = measurements_table(h->objects);
    GeoJsonOptions o;
    o.measurements = &table;
    ok = write_geojson(h->outlines(), o, &text, &error);
  } else if (what == "roi") {
    ok = write_imagej_roi_zip(h->outlines(), &out, &error);
  } else if (what == "record" || what == "summary") {
    is_text = true;
    if (what == "summary") {
      text = pipeline_summary_json(h->card, h->result);
    } else {
      JsonValue options;
      const std::string o = options_json && *options_json ? options_json : "{}";
      if (!json_parse(o, &options, &error) || !options.is_object()) return give_error("record options: " + error);
      RunRecord rec;
      if (const JsonValue* v = options.find("image_name"); v && v->is_string()) rec.image_name = v->string;
      if (const JsonValue* v = options.find("started_at"); v && v->is_string()) rec.started_at = v->string;
      if (const JsonValue* v = options.find("image_page"); v && v->is_number() && v->number >= 0) rec.image_page = int(v->number);
      rec.image_sha256 = h->image_sha256;
      rec.image_width = h->image_width;
      rec.image_height = h->image_height;
      rec.image_channels = h->image_channels;
      rec.pixel_size_um = h->pixel_size_um;
      rec.pixel_size_given = h->pixel_size_given;
      rec.model_name = h->card.name;
      rec.model_sha256 = h->card.onnx.sha256;
      rec.parameters = pipeline_record_parameters(h->card, h->params, h->result);
      rec.timings_s = pipeline_record_timings(h->result);
      rec.objects = h->result.count;
      record_positive(&rec, h->positive, h->positive_threshold_given, h->objects);
      text = write_run_record(rec);
    }
  } else {
    return give_error("unknown export \"" + what + "\" (labels_png, labels_tiff, csv, geojson, roi, record, summary)");
  }
  if (!ok) return give_error(error);
  if (is_text) out.assign(text.begin(), text.end());
  uint8_t* p = give_bytes(out);
  if (!p) return give_error("out of memory for the export");
  *bytes = p;
  *size = out.size();
  return give("{\"bytes\":" + std::to_string(out.size()) + "}");
}

char* cd_result_classify(void* result, const char* marker, double threshold, double grade2, double grade3) {
  auto* h = static_cast<ResultHandle*>(result);
  if (!h) return give_error("cd_result_classify: no result");
  PositiveRule rule;
  const std::string name = marker ? marker : "";
  if (!name.empty() && !parse_marker(name, &rule))
    return give_error("the marker is a channel from 0, \"dab\" or \"hematoxylin\", not \"" + name + "\"");
  const bool given = !std::isnan(threshold);
  if (std::isnan(grade2) != std::isnan(grade3) || (!std::isnan(grade2) && !given))
    return give_error("grades take three thresholds, 1+, 2+ and 3+ (such as QuPath's 0.2, 0.4, 0.6 for DAB)");
  rule.grade_thresholds[0] = grade2;
  rule.grade_thresholds[1] = grade3;
  rule.threshold = given ? threshold : otsu_threshold_of_means(h->objects, rule);
  std::string error;
  const int count = classify_positive(&h->objects, rule, &error);
  if (count < 0) {
    h->positive = PositiveRule();  // the objects are left unclassified: the record must not say otherwise
    return give_error(error);
  }
  h->positive = rule;
  h->positive_threshold_given = given;
  JsonWriter w;
  w.begin_object().key("positive").value(count).key("objects").value(int64_t(h->objects.size())).key("threshold");
  if (std::isnan(rule.threshold)) w.null();
  else w.value(rule.threshold);
  w.key("threshold_from").value(given ? "user" : "otsu");
  if (rule.graded()) {
    const GradeCounts grades = count_grades(h->objects);
    w.key("grades").begin_array();
    for (long long n : grades.objects) w.value(int64_t(n));
    w.end_array().key("h_score").value(grades.h_score);  // null when there are no objects
  }
  w.end_object();
  return give(w.str());
}

void cd_result_free(void* result) { delete static_cast<ResultHandle*>(result); }

const uint32_t* cd_result_labels(void* result, int* width, int* height, int* count) {
  auto* h = static_cast<ResultHandle*>(result);
  if (!h || !width || !height || !count) return nullptr;
  *width = h->result.labels.width;
  *height = h->result.labels.height;
  *count = h->result.count;
  return h->result.labels.data.data();
}

char* cd_result_repostprocess(void* result, void* image, const char* params_json, void** new_result) {
  if (!new_result) return give_error("cd_result_repostprocess: the out-parameter must not be NULL");
  *new_result = nullptr;
  auto* old = static_cast<ResultHandle*>(result);
  auto* im = static_cast<ImageHandle*>(image);
  if (!old || !im) return give_error("cd_result_repostprocess: no result or no image");
  const char* needs_network = ",\"needs_network\":true}";
  auto refuse = [&](const std::string& why) {
    char* e = give_error(why);
    std::string s = std::string(e, std::strlen(e) - 1) + needs_network;
    std::free(e);
    return give(s);
  };
  const PipelineMaps& maps = old->result.maps;
  if (maps.width == 0 || maps.height == 0)
    return refuse("this result kept no network outputs (its run was not started with cd_run_start_keeping_maps)");
  if (im->sha256 != old->image_sha256) return refuse("the image is not the one this result was made from");
  PipelineParams params;
  std::string error;
  const std::string text = params_json && *params_json ? params_json : "{}";
  if (!parse_pipeline_params(text.data(), text.size(), &params, &error)) return give_error(error);
  if (!same_network_inputs(params, old->params))
    return refuse("only the post-processing thresholds may differ from the result's parameters; the others change "
                  "what the network sees");
  params.keep_maps = true;  // the new result can be post-processed again in its turn
  // The pipeline itself, with the kept outputs in the network's place: the same tiles, stitching,
  // post-processing and (for an automatic diameter) the same decision about a second pass, so the
  // labels are a full run's. A pass the kept outputs do not cover (another scale) needs the network.
  PipelineRun run;
  if (!run.begin(im->image, old->card, params, &error)) return give_error(error);
  while (const NetworkTile* t = run.next_tile()) {
    if (t->scale != old->result.scale || t->pass > old->result.passes)
      return refuse("with these thresholds the automatic diameter leads to another scale, which needs the network");
    const std::vector<NetworkOutput> outs = outputs_from_maps(old->card, maps, *t);
    if (!run.submit(outs, &error)) return give_error(error);
  }
  return finish_result(run, old->card, params, *im, true, new_result);
}

// --- evaluation ---------------------------------------------------------------------------------------

char* cd_eval_pair(const uint8_t* gt, size_t gt_size, const uint8_t* pred, size_t pred_size) {
  Labels a, b;
  std::string error;
  if (!decode_labels(gt, gt_size, &a, &error)) return give_error("ground truth: " + error);
  if (!decode_labels(pred, pred_size, &b, &error)) return give_error("prediction: " + error);
  if (a.width != b.width || a.height != b.height)
    return give_error("the prediction is " + std::to_string(b.width) + " x " + std::to_string(b.height) +
                      " px but the ground truth " + std::to_string(a.width) + " x " + std::to_string(a.height));
  JsonWriter w;
  w.begin_object();
  auto objects = [](const Labels& l) {
    std::vector<uint32_t> ids(l.data);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return int(ids.size()) - (ids.empty() || ids[0] != 0 ? 0 : 1);
  };
  w.key("gt_objects").value(objects(a));
  w.key("pred_objects").value(objects(b));
  std::vector<MatchCounts> counts;
  w.key("thresholds").begin_array();
  for (int i = 0; i < 10; ++i) {
    const double t = 0.5 + 0.05 * i;
    w.value(t);
    counts.push_back(match_labels(a, b, t));
  }
  w.end_array();
  w.key("tp").begin_array();
  for (const MatchCounts& c : counts) w.value(c.tp);
  w.end_array().key("fp").begin_array();
  for (const MatchCounts& c : counts) w.value(c.fp);
  w.end_array().key("fn").begin_array();
  for (const MatchCounts& c : counts) w.value(c.fn);
  w.end_array();
  w.key("dsb").value(dsb_score(a, b));
  w.end_object();
  return give(w.str());
}

}  // extern "C"
