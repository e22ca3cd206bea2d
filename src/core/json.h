// A small, strict JSON reader (RFC 8259) for the files CellDrop reads: model cards, chiefly, which
// users write or edit by hand. Strict, because a silently misread card gives wrong segmentations:
// no comments, no trailing commas, no NaN, no leading zeros, no unescaped control characters, no
// invalid UTF-8 or lone surrogates, no duplicate keys. Errors say where: "line 3, column 14: ...".
// (The writer is json_writer.h; this file only reads.)
//
// The result is a plain tree of values; objects keep their keys in document order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace celldrop {

enum class JsonType : uint8_t { Null, Bool, Number, String, Array, Object };

const char* json_type_name(JsonType t);  // "null", "boolean", "number", "string", "array", "object"

struct JsonValue {
  JsonType type = JsonType::Null;
  bool boolean = false;
  double number = 0.0;                                     // every number is a finite double
  std::string string;                                      // UTF-8, escapes decoded
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // document order, keys unique

  bool is_null() const { return type == JsonType::Null; }
  bool is_bool() const { return type == JsonType::Bool; }
  bool is_number() const { return type == JsonType::Number; }
  bool is_string() const { return type == JsonType::String; }
  bool is_array() const { return type == JsonType::Array; }
  bool is_object() const { return type == JsonType::Object; }

  // The member named `key`, or nullptr when absent (or when this is not an object). Linear search:
  // the objects read here have a handful of keys.
  const JsonValue* find(const std::string& key) const;
};

struct JsonLimits {
  int max_depth = 64;                // nested arrays/objects; deeper input is refused, not recursed into
  size_t max_bytes = size_t(16) << 20;  // a model card is a few kB; refuse anything absurd up front
};

// Parses exactly one JSON value (surrounded by optional whitespace; a leading UTF-8 byte order mark
// is skipped, as editors on Windows add one). False + "line L, column C: message" on any error;
// columns count characters, not bytes, from 1.
bool json_parse(const char* text, size_t size, JsonValue* out, std::string* error,
                const JsonLimits& limits = JsonLimits());
inline bool json_parse(const std::string& text, JsonValue* out, std::string* error,
                       const JsonLimits& limits = JsonLimits()) {
  return json_parse(text.data(), text.size(), out, error, limits);
}

}  // namespace celldrop
