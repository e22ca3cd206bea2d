#include "core/json.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace celldrop {

const char* json_type_name(JsonType t) {
  switch (t) {
    case JsonType::Null: return "null";
    case JsonType::Bool: return "boolean";
    case JsonType::Number: return "number";
    case JsonType::String: return "string";
    case JsonType::Array: return "array";
    case JsonType::Object: return "object";
  }
  return "?";
}

const JsonValue* JsonValue::find(const std::string& key) const {
  if (type != JsonType::Object) return nullptr;
  for (const auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {

class Parser {
 public:
  Parser(const char* text, size_t size, const JsonLimits& limits)
      : s_(reinterpret_cast<const unsigned char*>(text)), n_(size), limits_(limits) {}

  bool parse(JsonValue* out, std::string* error) {
    if (n_ >= 3 && s_[0] == 0xEF && s_[1] == 0xBB && s_[2] == 0xBF) p_ = 3;
    skip_ws();
    bool ok = p_ < n_ ? value(out, 0) : fail("the text is empty; expected a JSON value");
    if (ok) {
      skip_ws();
      if (p_ < n_) ok = fail("unexpected text after the end of the JSON value");
    }
    if (!ok && error) *error = where() + message_;
    return ok;
  }

 private:
  const unsigned char* s_;
  size_t n_;
  size_t p_ = 0;
  JsonLimits limits_;
  std::string message_;

  bool fail(const std::string& message) {
    message_ = message;
    return false;
  }

  // Line and column of p_, computed only when reporting (a UTF-8 continuation byte is not a column).
  std::string where() const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p_ && i < n_; ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else if ((s_[i] & 0xC0) != 0x80) {
        ++col;
      }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col) + ": ";
  }

  void skip_ws() {
    while (p_ < n_ && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }

  static std::string describe(unsigned char c) {
    if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }

  bool literal(const char* word) {
    size_t len = std::strlen(word);
    if (n_ - p_ < len || std::memcmp(s_ + p_, word, len) != 0)
      return fail(std::string("invalid literal; expected '") + word + "'");
    p_ += len;
    return true;
  }

  bool value(JsonValue* out, int depth) {
    if (p_ >= n_) return fail("unexpected end of text; expected a value");
    unsigned char c = s_[p_];
    *out = JsonValue();
    switch (c) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': out->type = JsonType::String; return string(&out->string);
      case 't': out->type = JsonType::Bool; out->boolean = true; return literal("true");
      case 'f': out->type = JsonType::Bool; out->boolean = false; return literal("false");
      case 'n': out->type = JsonType::Null; return literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          out->type = JsonType::Number;
          return number(&out->number);
        }
        if (c == 'N' || c == 'I') return fail("NaN and Infinity are not JSON numbers");
        if (c == '\'') return fail("strings take double quotes in JSON, not single quotes");
        return fail("unexpected " + describe(c) + "; expected a value");
    }
  }

  bool enter(int depth) {
    if (depth > limits_.max_depth)
      return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    return true;
  }

  bool object(JsonValue* out, int depth) {
    if (!enter(depth)) return false;
    out->type = JsonType::Object;
    ++p_;  // '{'
    skip_ws();
    if (p_ < n_ && s_[p_] == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (p_ >= n_) return fail("unexpected end of text inside an object");
      if (s_[p_] == '}') return fail("trailing comma before '}'");
      if (s_[p_] != '"') return fail("unexpected " + describe(s_[p_]) + "; expected a key in double quotes");
      size_t key_at = p_;
      std::string key;
      if (!string(&key)) return false;
      for (const auto& kv : out->object) {
        if (kv.first == key) {
          p_ = key_at;
          return fail("duplicate key \"" + key + "\"");
        }
      }
      skip_ws();
      if (p_ >= n_ || s_[p_] != ':')
        return fail(p_ >= n_ ? "unexpected end of text; expected ':'"
                             : "unexpected " + describe(s_[p_]) + "; expected ':' after the key");
      ++p_;
      skip_ws();
      out->object.emplace_back(std::move(key), JsonValue());
      if (!value(&out->object.back().second, depth)) return false;
      skip_ws();
      if (p_ >= n_) return fail("unexpected end of text inside an object; expected ',' or '}'");
      if (s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (s_[p_] == '}') {
        ++p_;
        return true;
      }
      return fail("unexpected " + describe(s_[p_]) + "; expected ',' or '}'");
    }
  }

  bool array(JsonValue* out, int depth) {
    if (!enter(depth)) return false;
    out->type = JsonType::Array;
    ++p_;  // '['
    skip_ws();
    if (p_ < n_ && s_[p_] == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (p_ < n_ && s_[p_] == ']') return fail("trailing comma before ']'");
      out->array.emplace_back();
      if (!value(&out->array.back(), depth)) return false;
      skip_ws();
      if (p_ >= n_) return fail("unexpected end of text inside an array; expected ',' or ']'");
      if (s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (s_[p_] == ']') {
        ++p_;
        return true;
      }
      return fail("unexpected " + describe(s_[p_]) + "; expected ',' or ']'");
    }
  }

  // The grammar is checked here; the conversion is strtod's on a copy of the token (a JSON number
  // is a valid strtod number in the "C" locale, which is the locale of a program that never calls
  // setlocale, as neither the CLI nor the page does).
  bool number(double* out) {
    size_t start = p_;
    auto digit = [&](size_t i) { return i < n_ && s_[i] >= '0' && s_[i] <= '9'; };
    if (s_[p_] == '-') ++p_;
    if (!digit(p_)) return fail("a number needs a digit after '-'");
    if (s_[p_] == '0') {
      ++p_;
      if (digit(p_)) return fail("numbers may not have leading zeros");
    } else {
      while (digit(p_)) ++p_;
    }
    if (p_ < n_ && s_[p_] == '.') {
      ++p_;
      if (!digit(p_)) return fail("a number needs a digit after the decimal point");
      while (digit(p_)) ++p_;
    }
    if (p_ < n_ && (s_[p_] == 'e' || s_[p_] == 'E')) {
      ++p_;
      if (p_ < n_ && (s_[p_] == '+' || s_[p_] == '-')) ++p_;
      if (!digit(p_)) return fail("a number needs a digit in its exponent");
      while (digit(p_)) ++p_;
    }
    std::string token(reinterpret_cast<const char*>(s_ + start), p_ - start);
    double v = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(v)) {
      p_ = start;
      return fail("number " + token + " is out of range");
    }
    *out = v;
    return true;
  }

  bool hex4(unsigned* out) {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p_ >= n_) return fail("unexpected end of text in a \\u escape");
      unsigned char c = s_[p_];
      unsigned d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return fail("a \\u escape needs 4 hex digits");
      v = v * 16 + d;
      ++p_;
    }
    *out = v;
    return true;
  }

  static void append_utf8(std::string* s, unsigned cp) {
    if (cp < 0x80) {
      s->push_back(char(cp));
    } else if (cp < 0x800) {
      s->push_back(char(0xC0 | (cp >> 6)));
      s->push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(char(0xE0 | (cp >> 12)));
      s->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(char(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(char(0xF0 | (cp >> 18)));
      s->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(char(0x80 | (cp & 0x3F)));
    }
  }

  // One UTF-8 sequence starting at p_ (already known to be >= 0x80), checked per RFC 3629:
  // no overlong forms, no surrogates, nothing above U+10FFFF.
  bool utf8_sequence(std::string* out) {
    unsigned char c = s_[p_];
    int len;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return fail("invalid UTF-8 (" + describe(c) + ") in a string");
    if (n_ - p_ < size_t(len)) return fail("invalid UTF-8: a sequence is cut off by the end of text");
    for (int i = 1; i < len; ++i) {
      unsigned char d = s_[p_ + i];
      if ((d & 0xC0) != 0x80) return fail("invalid UTF-8: a sequence ends early");
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid UTF-8: overlong form, surrogate or code point above U+10FFFF");
    out->append(reinterpret_cast<const char*>(s_ + p_), size_t(len));
    p_ += size_t(len);
    return true;
  }

  bool string(std::string* out) {
    ++p_;  // opening quote
    for (;;) {
      if (p_ >= n_) return fail("unexpected end of text inside a string (missing closing '\"')");
      unsigned char c = s_[p_];
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return fail("control character " + describe(c) + " inside a string; escape it");
      if (c >= 0x80) {
        if (!utf8_sequence(out)) return false;
        continue;
      }
      if (c != '\\') {
        out->push_back(char(c));
        ++p_;
        continue;
      }
      size_t escape_at = p_;
      ++p_;
      if (p_ >= n_) return fail("unexpected end of text after '\\'");
      char e = char(s_[p_++]);
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          unsigned cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            p_ = escape_at;
            return fail("lone low surrogate \\u escape (not preceded by a high surrogate)");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (n_ - p_ < 2 || s_[p_] != '\\' || s_[p_ + 1] != 'u') {
              p_ = escape_at;
              return fail("high surrogate \\u escape not followed by a low surrogate");
            }
            p_ += 2;
            unsigned low;
            if (!hex4(&low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) {
              p_ = escape_at;
              return fail("high surrogate \\u escape not followed by a low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          p_ = escape_at;
          return fail(std::string("invalid escape '\\") + (e >= 0x20 && e < 0x7F ? std::string(1, e) : "?") +
                      "' in a string");
      }
    }
  }
};

}  // namespace

bool json_parse(const char* text, size_t size, JsonValue* out, std::string* error,
                const JsonLimits& limits) {
  if (size > limits.max_bytes) {
    if (error)
      *error = "the JSON text is " + std::to_string(size) + " bytes, more than the limit of " +
               std::to_string(limits.max_bytes);
    return false;
  }
  JsonValue value;
  Parser parser(text, size, limits);
  if (!parser.parse(&value, error)) return false;
  *out = std::move(value);
  return true;
}

}  // namespace celldrop
