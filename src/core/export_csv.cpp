// Measurement table -> CSV (RFC 4180).
#include <cmath>
#include <cstdio>

#include "core/export.h"
#include "core/json_writer.h"

namespace celldrop {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  return json_number(v);  // shortest text that reads back exactly
}

bool write_csv(const MeasurementTable& table, std::string* out, std::string* error) {
  if (table.columns.empty()) {
    *error = "CSV: the table has no columns";
    return false;
  }
  for (size_t r = 0; r < table.rows.size(); ++r)
    if (table.rows[r].size() != table.columns.size()) {
      *error = "CSV: row " + std::to_string(r + 1) + " has " + std::to_string(table.rows[r].size()) +
               " values for " + std::to_string(table.columns.size()) + " columns";
      return false;
    }
  out->clear();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c) *out += ',';
    *out += csv_field(table.columns[c]);
  }
  *out += "\r\n";
  for (const std::vector<double>& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) *out += ',';
      *out += csv_number(row[c]);
    }
    *out += "\r\n";
  }
  return true;
}

}  // namespace celldrop
