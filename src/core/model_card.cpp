#include "core/model_card.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>

#include "core/sha256.h"

namespace celldrop {

const char* model_kind_name(ModelKind kind) { return kind == ModelKind::Star ? "star" : "flow"; }

int ModelCard::output_index(const std::string& role) const {
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].name == role) return int(i);
  return -1;
}

namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Walks the card's tree, naming every field by its path ("input.channels", "outputs[1].grid") in
// the errors it reports.
class CardReader {
 public:
  explicit CardReader(std::string* error) : error_(error) {}

  bool fail(const std::string& message) {
    if (error_) *error_ = "model card: " + message;
    return false;
  }

  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }

  bool wrong_type(const JsonValue& v, const std::string& path, const char* expected) {
    const bool vowel = v.is_array() || v.is_object();
    return fail(path + " is " +
                (v.is_null() ? std::string("null") : std::string(vowel ? "an " : "a ") + json_type_name(v.type)) +
                "; expected " + expected);
  }

  // An object whose keys are all among `allowed`.
  bool object(const JsonValue& v, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!v.is_object()) return wrong_type(v, path.empty() ? "the card" : path, "an object");
    for (const auto& kv : v.object) {
      bool known = false;
      for (const char* key : allowed) known = known || kv.first == key;
      if (!known) {
        std::string list;
        for (const char* key : allowed) list += (list.empty() ? "" : ", ") + std::string(key);
        return fail("unknown key " + quoted(kv.first) + (path.empty() ? " at the top level" : " in " + path) +
                    " (expected " + list + ")");
      }
    }
    return true;
  }

  const JsonValue* required(const JsonValue& obj, const std::string& path, const char* key) {
    const JsonValue* v = obj.find(key);
    if (!v) fail(join(path, key) + " is missing");
    return v;
  }

  bool string(const JsonValue& obj, const std::string& path, const char* key, std::string* out) {
    const JsonValue* v = required(obj, path, key);
    if (!v) return false;
    if (!v->is_string()) return wrong_type(*v, join(path, key), "a string");
    if (v->string.empty()) return fail(join(path, key) + " is empty");
    *out = v->string;
    return true;
  }

  // A string that must be one of `choices`.
  bool choice(const JsonValue& obj, const std::string& path, const char* key,
              std::initializer_list<const char*> choices, std::string* out) {
    if (!string(obj, path, key, out)) return false;
    std::string list;
    for (const char* c : choices) {
      if (*out == c) return true;
      list += (list.empty() ? "" : " or ") + quoted(c);
    }
    return fail(join(path, key) + " is " + quoted(*out) + "; expected " + list);
  }

  bool number(const JsonValue& obj, const std::string& path, const char* key, double lo, double hi,
              const char* what, double* out) {
    const JsonValue* v = required(obj, path, key);
    if (!v) return false;
    std::string expected = std::string(what) + " from " + fmt(lo) + " to " + fmt(hi);
    if (!v->is_number()) return wrong_type(*v, join(path, key), expected.c_str());
    if (!(v->number >= lo && v->number <= hi))
      return fail(join(path, key) + " is " + fmt(v->number) + "; expected " + expected);
    *out = v->number;
    return true;
  }

  bool integer(const JsonValue& obj, const std::string& path, const char* key, double lo, double hi,
               double* out) {
    const JsonValue* v = required(obj, path, key);
    if (!v) return false;
    std::string expected = "an integer from " + fmt(lo) + " to " + fmt(hi);
    if (!v->is_number()) return wrong_type(*v, join(path, key), expected.c_str());
    if (!(v->number >= lo && v->number <= hi) || v->number != std::floor(v->number))
      return fail(join(path, key) + " is " + fmt(v->number) + "; expected " + expected);
    *out = v->number;
    return true;
  }

  bool integer(const JsonValue& obj, const std::string& path, const char* key, int lo, int hi, int* out) {
    double v;
    if (!integer(obj, path, key, double(lo), double(hi), &v)) return false;
    *out = int(v);
    return true;
  }

 private:
  std::string* error_;
};

bool is_plain_file_name(const std::string& s) {
  if (s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == '\\' || c == ':' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

bool read_outputs(CardReader& r, const JsonValue& root, ModelCard* card) {
  const JsonValue* outs = r.required(root, "", "outputs");
  if (!outs) return false;
  if (!outs->is_array()) return r.wrong_type(*outs, "outputs", "an array of 2 outputs");
  const bool star = card->kind == ModelKind::Star;
  const char* roles[2] = {star ? "prob" : "cellprob", star ? "dist" : "flow"};
  const std::string role_list = std::string("\"") + roles[0] + "\" and \"" + roles[1] + "\"";
  const std::string kind_outputs = std::string("a ") + model_kind_name(card->kind) +
                                   " model's outputs are named " + role_list;
  if (outs->array.size() != 2)
    return r.fail("outputs has " + std::to_string(outs->array.size()) + " entries; " + kind_outputs);
  card->outputs.clear();
  for (size_t i = 0; i < 2; ++i) {
    const std::string path = "outputs[" + std::to_string(i) + "]";
    const JsonValue& o = outs->array[i];
    if (!r.object(o, path, {"name", "channels", "grid"})) return false;
    ModelOutput out;
    if (!r.string(o, path, "name", &out.name)) return false;
    if (out.name != roles[0] && out.name != roles[1])
      return r.fail(path + ".name is " + quoted(out.name) + "; " + kind_outputs);
    if (card->output_index(out.name) >= 0)
      return r.fail(path + ".name " + quoted(out.name) + " is listed twice; " + kind_outputs);
    if (!r.integer(o, path, "channels", 1, 1024, &out.channels)) return false;
    if (!r.integer(o, path, "grid", 1, 64, &out.grid)) return false;
    card->outputs.push_back(out);
  }
  // Cross-checks, now that the settings section is read.
  for (size_t i = 0; i < 2; ++i) {
    const ModelOutput& o = card->outputs[i];
    const std::string path = "outputs[" + std::to_string(i) + "]";
    int want_channels, want_grid;
    std::string because, grid_because;
    if (star) {
      want_grid = card->star.grid;
      grid_because = " but star.grid is " + std::to_string(card->star.grid);
      if (o.name == "prob") {
        want_channels = 1;
        because = "; \"prob\" has 1 channel";
      } else {
        want_channels = card->star.n_rays;
        because = " but star.n_rays is " + std::to_string(card->star.n_rays);
      }
    } else {
      want_grid = 1;
      grid_because = "; flow models predict at full resolution (grid 1)";
      want_channels = o.name == "cellprob" ? 1 : 2;
      because = o.name == "cellprob" ? "; \"cellprob\" has 1 channel" : "; \"flow\" has 2 channels (dy, dx)";
    }
    if (o.channels != want_channels)
      return r.fail(path + ".channels is " + std::to_string(o.channels) + because);
    if (o.grid != want_grid) return r.fail(path + ".grid is " + std::to_string(o.grid) + grid_because);
  }
  return true;
}

}  // namespace

bool parse_model_card(const char* json, size_t size, ModelCard* card, std::string* error) {
  CardReader r(error);
  JsonValue root;
  std::string json_error;
  if (!json_parse(json, size, &root, &json_error)) return r.fail("not valid JSON: " + json_error);
  if (!root.is_object()) return r.wrong_type(root, "the card", "an object");

  ModelCard c;
  // The format first: a newer card may have keys this reader does not know.
  if (!r.integer(root, "", "format", 0, 1000000, &c.format)) return false;
  if (c.format != 1)
    return r.fail("format is " + std::to_string(c.format) + ", but this CellDrop reads format 1 cards");
  std::string kind;
  if (!r.choice(root, "", "kind", {"star", "flow"}, &kind)) return false;
  c.kind = kind == "star" ? ModelKind::Star : ModelKind::Flow;
  const bool star = c.kind == ModelKind::Star;
  if (!r.object(root, "",
                {"name", "kind", "format", "input", "normalization", "diameter", "outputs", "thresholds",
                 star ? "star" : "flow", "training", "metrics", "onnx"})) {
    const char* other = star ? "flow" : "star";
    if (root.find(other))
      return r.fail("kind is " + quoted(kind) + " but the card has a " + quoted(other) + " section");
    return false;
  }
  if (!r.string(root, "", "name", &c.name)) return false;

  // input
  const JsonValue* in = r.required(root, "", "input");
  if (!in || !r.object(*in, "input", {"name", "channels", "layout", "dtype", "divisor"})) return false;
  std::string layout, dtype;
  if (!r.string(*in, "input", "name", &c.input.name)) return false;
  if (!r.integer(*in, "input", "channels", 1, 4, &c.input.channels)) return false;
  if (!r.choice(*in, "input", "layout", {"NCHW"}, &layout)) return false;
  if (!r.choice(*in, "input", "dtype", {"float32"}, &dtype)) return false;
  if (!r.integer(*in, "input", "divisor", 1, 1024, &c.input.divisor)) return false;

  // normalization
  const JsonValue* norm = r.required(root, "", "normalization");
  if (!norm || !r.object(*norm, "normalization", {"percentile_low", "percentile_high"})) return false;
  if (!r.number(*norm, "normalization", "percentile_low", 0, 100, "a percentage", &c.percentile_low) ||
      !r.number(*norm, "normalization", "percentile_high", 0, 100, "a percentage", &c.percentile_high))
    return false;
  if (!(c.percentile_low < c.percentile_high))
    return r.fail("normalization.percentile_low (" + fmt(c.percentile_low) +
                  ") must be below normalization.percentile_high (" + fmt(c.percentile_high) + ")");

  if (!r.number(root, "", "diameter", 1, 10000, "the training object diameter in px,", &c.diameter))
    return false;

  // kind settings and thresholds
  const JsonValue* th = r.required(root, "", "thresholds");
  if (!th) return false;
  if (star) {
    const JsonValue* s = r.required(root, "", "star");
    if (!s || !r.object(*s, "star", {"n_rays", "grid"})) return false;
    if (!r.integer(*s, "star", "n_rays", 3, 1024, &c.star.n_rays) ||
        !r.integer(*s, "star", "grid", 1, 64, &c.star.grid))
      return false;
    if (!r.object(*th, "thresholds", {"prob", "nms", "min_area"}) ||
        !r.number(*th, "thresholds", "prob", 0, 1, "a probability", &c.star.prob_threshold) ||
        !r.number(*th, "thresholds", "nms", 0, 1, "an IoU", &c.star.nms_threshold))
      return false;
    if (c.input.divisor % c.star.grid != 0)
      return r.fail("star.grid (" + std::to_string(c.star.grid) + ") must divide input.divisor (" +
                    std::to_string(c.input.divisor) + "), so that every tile maps onto whole grid cells");
  } else {
    const JsonValue* f = r.required(root, "", "flow");
    if (!f || !r.object(*f, "flow", {"flow_scale", "reference_niter"})) return false;
    if (!r.number(*f, "flow", "flow_scale", 1e-3, 1e3, "a positive number", &c.flow.flow_scale) ||
        !r.integer(*f, "flow", "reference_niter", 1, 100000, &c.flow.reference_niter))
      return false;
    if (!r.object(*th, "thresholds", {"cellprob", "flow", "min_area"}) ||
        !r.number(*th, "thresholds", "cellprob", -100, 100, "a logit", &c.flow.cellprob_threshold) ||
        !r.number(*th, "thresholds", "flow", 0, 100, "a flow error", &c.flow.flow_threshold))
      return false;
  }
  if (th->find("min_area") &&
      !r.number(*th, "thresholds", "min_area", 0, 1e9, "an area in image px", &c.min_area))
    return false;
  if (!read_outputs(r, root, &c)) return false;

  // provenance
  for (const char* key : {"training", "metrics"}) {
    const JsonValue* v = root.find(key);
    if (!v) continue;
    if (!v->is_object()) return r.wrong_type(*v, key, "an object");
    (std::string(key) == "training" ? c.training : c.metrics) = *v;
  }

  // onnx
  const JsonValue* onnx = r.required(root, "", "onnx");
  if (!onnx || !r.object(*onnx, "onnx", {"file", "sha256", "bytes", "opset", "weights"})) return false;
  if (!r.string(*onnx, "onnx", "file", &c.onnx.file)) return false;
  if (!is_plain_file_name(c.onnx.file))
    return r.fail("onnx.file " + quoted(c.onnx.file) +
                  " must be a plain file name: the ONNX file sits next to its card");
  if (!r.string(*onnx, "onnx", "sha256", &c.onnx.sha256)) return false;
  bool hex = c.onnx.sha256.size() == 64;
  for (char& ch : c.onnx.sha256) {
    if (ch >= 'A' && ch <= 'F') ch = char(ch - 'A' + 'a');
    hex = hex && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
  }
  if (!hex) return r.fail("onnx.sha256 must be 64 hex digits (the SHA-256 of the ONNX file)");
  double bytes;
  if (!r.integer(*onnx, "onnx", "bytes", 1, 9007199254740992.0, &bytes)) return false;
  c.onnx.bytes = uint64_t(bytes);
  if (!r.integer(*onnx, "onnx", "opset", 1, 1000, &c.onnx.opset)) return false;
  if (!r.choice(*onnx, "onnx", "weights", {"float32", "float16", "int8", "uint8"}, &c.onnx.weights))
    return false;

  *card = std::move(c);
  return true;
}

bool check_model_bytes(const ModelCard& card, const void* onnx, size_t size, std::string* error) {
  if (uint64_t(size) != card.onnx.bytes) {
    if (error)
      *error = "the ONNX file is " + std::to_string(size) + " bytes but its model card (onnx.bytes) says " +
               std::to_string(card.onnx.bytes) + ": the card and the model file do not belong together";
    return false;
  }
  std::string digest = sha256_hex(onnx, size);
  if (digest != card.onnx.sha256) {
    if (error)
      *error = "the ONNX file's SHA-256 is " + digest + " but its model card (onnx.sha256) says " +
               card.onnx.sha256 + ": the card and the model file do not belong together";
    return false;
  }
  return true;
}

bool validate_model_io(const ModelCard& card, const std::vector<std::string>& input_names,
                       const std::vector<std::string>& output_names, std::string* error,
                       const std::vector<int64_t>& input_channels,
                       const std::vector<int64_t>& output_channels) {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + quoted(n);
    return s.empty() ? std::string("none") : s;
  };
  if (input_names.size() != 1)
    return fail("the ONNX model has " + std::to_string(input_names.size()) + " inputs (" + list(input_names) +
                "); CellDrop feeds exactly one, " + quoted(card.input.name) + " (the card's input.name)");
  if (input_names[0] != card.input.name)
    return fail("the ONNX model's input is named " + quoted(input_names[0]) + " but its model card says " +
                quoted(card.input.name) + " (input.name)");
  if (!input_channels.empty() && input_channels[0] > 0 && input_channels[0] != card.input.channels)
    return fail("the ONNX model's input " + quoted(input_names[0]) + " takes " +
                std::to_string(input_channels[0]) + " channels but its model card says " +
                std::to_string(card.input.channels) + " (input.channels)");
  for (size_t i = 0; i < card.outputs.size(); ++i) {
    const ModelOutput& o = card.outputs[i];
    const std::string field = "outputs[" + std::to_string(i) + "]";
    size_t k = 0;
    while (k < output_names.size() && output_names[k] != o.name) ++k;
    if (k == output_names.size())
      return fail("the ONNX model has no output named " + quoted(o.name) + " (the card's " + field +
                  "); its outputs are " + list(output_names));
    if (k < output_channels.size() && output_channels[k] > 0 && output_channels[k] != o.channels)
      return fail("the ONNX model's output " + quoted(o.name) + " has " + std::to_string(output_channels[k]) +
                  " channels but its model card says " + std::to_string(o.channels) + " (" + field +
                  ".channels)");
  }
  return true;
}

}  // namespace celldrop
