#include "app/object_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/overlay.h"
#include "imgui.h"

namespace celldrop {

const std::vector<const char*>& object_table_columns() {
  // The mean third: with id and area it fits the panel's width, where the columns after it need a
  // sideways scroll, and it is what a marker's channel is read by.
  static const std::vector<const char*> columns = {"id", "area px", "mean", "x", "y", "perimeter", "circularity",
                                                   "eccentricity"};
  return columns;
}

static constexpr int kMeanColumn = 2;

// The "mean" column's value: the stain's mean density, the channel's mean, or the channels' mean.
static double mean_of(const ObjectTable& t, const ObjectMeasurements& m) {
  if (t.mean_stain != Stain::None) {
    PositiveRule stain;
    stain.stain = t.mean_stain;
    const double density = marker_mean(m, stain);
    return std::isnan(density) ? 0.0 : density;
  }
  const int channel = t.mean_channel;
  if (channel >= 0) return channel < int(m.mean.size()) ? m.mean[size_t(channel)] : 0.0;
  double sum = 0.0;
  for (double v : m.mean) sum += v;
  return m.mean.empty() ? 0.0 : sum / double(m.mean.size());
}

double object_table_value(const ObjectTable& t, const ObjectMeasurements& m, int column) {
  switch (column) {
    case 0: return double(m.id);
    case 1: return double(m.area_px);
    case kMeanColumn: return mean_of(t, m);
    case 3: return m.centroid_x;
    case 4: return m.centroid_y;
    case 5: return m.perimeter_px;
    case 6: return m.circularity;
    case 7: return m.eccentricity;
    default: return 0.0;
  }
}

void object_table_reset(ObjectTable* t, std::vector<ObjectMeasurements> objects) {
  t->objects = std::move(objects);
  t->index_of_id.clear();
  for (size_t i = 0; i < t->objects.size(); i++) {
    uint32_t id = t->objects[i].id;
    if (id >= t->index_of_id.size()) t->index_of_id.resize(size_t(id) + 1, -1);
    t->index_of_id[id] = int(i);
  }
  t->selected = 0;
  t->scroll_to_selected = false;
  object_table_sort(t, t->sort_column, t->sort_ascending);
}

const ObjectMeasurements* object_table_find(const ObjectTable& t, uint32_t id) {
  if (id == 0 || id >= t.index_of_id.size() || t.index_of_id[id] < 0) return nullptr;
  return &t.objects[size_t(t.index_of_id[id])];
}

void object_table_sort(ObjectTable* t, int column, bool ascending) {
  t->sort_column = column;
  t->sort_ascending = ascending;
  t->order.resize(t->objects.size());
  for (size_t i = 0; i < t->order.size(); i++) t->order[i] = int(i);
  std::stable_sort(t->order.begin(), t->order.end(), [&](int a, int b) {
    double va = object_table_value(*t, t->objects[size_t(a)], column);
    double vb = object_table_value(*t, t->objects[size_t(b)], column);
    return ascending ? va < vb : va > vb;
  });
}

void object_table_set_mean_channel(ObjectTable* t, int channel) {
  if (t->mean_channel == channel) return;
  t->mean_channel = channel;
  if (t->sort_column == kMeanColumn) object_table_sort(t, t->sort_column, t->sort_ascending);
}

void object_table_set_mean_stain(ObjectTable* t, Stain stain) {
  if (t->mean_stain == stain) return;
  t->mean_stain = stain;
  if (t->sort_column == kMeanColumn) object_table_sort(t, t->sort_column, t->sort_ascending);
}

std::string object_summary(const ObjectMeasurements& m) {
  char text[320];
  int n = std::snprintf(text, sizeof text,
                        "Object %u\nArea %lld px\nCentroid %.1f, %.1f\nPerimeter %.1f px\nCircularity %.3f\n"
                        "Eccentricity %.3f",
                        m.id, m.area_px, m.centroid_x, m.centroid_y, m.perimeter_px, m.circularity, m.eccentricity);
  std::string out(text, size_t(std::max(0, std::min(n, int(sizeof text) - 1))));
  if (m.area_um2 > 0.0) {
    std::snprintf(text, sizeof text, "\nArea %.2f \xC2\xB5m\xC2\xB2", m.area_um2);
    out += text;
  }
  for (size_t c = 0; c < m.mean.size(); c++) {
    std::snprintf(text, sizeof text, "\nChannel %zu: mean %.1f, min %.0f, max %.0f", c + 1, m.mean[c], m.min[c], m.max[c]);
    out += text;
  }
  if (!std::isnan(m.dab_od)) {  // a slide read through a stain
    std::snprintf(text, sizeof text, "\nHematoxylin OD %.3f, DAB OD %.3f", m.hematoxylin_od, m.dab_od);
    out += text;
  }
  if (m.grade >= 1) out += std::string("\nPositive for the marker: ") + grade_name(m.grade);
  else if (m.positive >= 0) out += m.positive ? "\nPositive for the marker" : "\nNegative for the marker";
  return out;
}

uint32_t object_table_draw(ObjectTable* t, float height, bool touch) {
  uint32_t clicked = 0;
  const std::vector<const char*>& columns = object_table_columns();
  ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg |
                          ImGuiTableFlags_BordersOuter | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX;
  if (!ImGui::BeginTable("objects", int(columns.size()), flags, ImVec2(0.0f, height))) return 0;
  ImGui::TableSetupScrollFreeze(1, 1);  // the id column and the header stay in view
  for (size_t c = 0; c < columns.size(); c++) {
    ImGuiTableColumnFlags cf = c == 0 ? ImGuiTableColumnFlags_DefaultSort : ImGuiTableColumnFlags_None;
    ImGui::TableSetupColumn(columns[c], cf, 0.0f, ImGuiID(c));
  }
  // TableHeadersRow() spelled out, to learn each header's rectangle.
  ImGui::TableNextRow(ImGuiTableRowFlags_Headers);
  // The mean column names its channel when the image has several (### keeps the header's id).
  const size_t channels = t->objects.empty() ? 0 : t->objects[0].mean.size();
  char mean_header[32] = "mean";
  const bool stain = t->mean_stain != Stain::None;
  if (stain) std::snprintf(mean_header, sizeof mean_header, "%s OD###mean", t->mean_stain == Stain::Dab ? "DAB" : "hemat.");
  else if (channels > 1 && t->mean_channel >= 0) std::snprintf(mean_header, sizeof mean_header, "mean ch%d###mean", t->mean_channel + 1);
  else if (channels > 1) std::snprintf(mean_header, sizeof mean_header, "mean all###mean");
  for (size_t c = 0; c < columns.size(); c++) {
    if (!ImGui::TableSetColumnIndex(int(c))) {  // scrolled out of view: no rectangle to click
      if (c < 8) std::fill(t->header_rects[c], t->header_rects[c] + 4, 0.0f);
      continue;
    }
    ImGui::TableHeader(int(c) == kMeanColumn ? mean_header : columns[c]);
    if (ImGui::IsItemHovered()) {
      // How to use the table, where it takes no line of the panel.
      const char* how = "Click to sort by it, again to reverse. Click a row to find its object in the image.";
      if (int(c) == kMeanColumn && stain) {
        ImGui::SetTooltip("Mean optical density of %s, the stain the nuclei are counted by (Count positive).\n%s",
                          stain_label(t->mean_stain), how);
      } else if (int(c) == kMeanColumn && channels > 1 && t->mean_channel >= 0) {
        ImGui::SetTooltip("Mean intensity in channel %d, the channel on show (Contrast > Channel, or comma and period).\n%s",
                          t->mean_channel + 1, how);
      } else if (int(c) == kMeanColumn && channels > 1) {
        ImGui::SetTooltip("Mean intensity over the channels: the colour view (C shows one channel).\n%s", how);
      } else {
        ImGui::SetTooltip("%s", how);
      }
    }
    ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
    if (c < 8) {
      float* r = t->header_rects[c];
      r[0] = lo.x, r[1] = lo.y, r[2] = hi.x, r[3] = hi.y;
    }
  }
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs()) {
    if (specs->SpecsDirty && specs->SpecsCount > 0) {
      const ImGuiTableColumnSortSpecs& s = specs->Specs[0];
      object_table_sort(t, int(s.ColumnUserID), s.SortDirection != ImGuiSortDirection_Descending);
      specs->SpecsDirty = false;
    }
  }
  int selected_row = -1;
  if (t->scroll_to_selected) {
    for (size_t r = 0; r < t->order.size(); r++) {
      if (t->objects[size_t(t->order[r])].id == t->selected) selected_row = int(r);
    }
  }
  t->visible_rows.clear();
  ImGuiListClipper clipper;
  clipper.Begin(int(t->order.size()));
  if (selected_row >= 0) clipper.ForceDisplayRangeByIndices(selected_row, selected_row + 1);
  while (clipper.Step()) {
    for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; r++) {
      const ObjectMeasurements& m = t->objects[size_t(t->order[size_t(r)])];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      char id[16];
      std::snprintf(id, sizeof id, "%u", m.id);
      bool is_selected = m.id == t->selected;
      // A counted object's id in its class's colour, as it is outlined in the image.
      const uint32_t rgb = class_rgb(m);
      if (m.positive >= 0) ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(rgb >> 16, (rgb >> 8) & 0xFF, rgb & 0xFF, 255));
      if (ImGui::Selectable(id, is_selected, ImGuiSelectableFlags_SpanAllColumns)) clicked = m.id;
      if (m.positive >= 0) ImGui::PopStyleColor();
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", object_summary(m).c_str());
      ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
      if (ImGui::IsRectVisible(lo, hi)) t->visible_rows.push_back({m.id, {lo.x, lo.y, hi.x, hi.y}});
      if (is_selected && r == selected_row) {
        ImGui::SetScrollHereY(0.5f);
        t->scroll_to_selected = false;
      }
      ImGui::TableNextColumn();
      ImGui::Text("%lld", m.area_px);
      ImGui::TableNextColumn();
      if (stain) ImGui::Text("%.3f", mean_of(*t, m));  // densities are fractions
      else if (m.mean.empty()) ImGui::TextDisabled("-");
      else ImGui::Text("%.1f", mean_of(*t, m));
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", m.centroid_x);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", m.centroid_y);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", m.perimeter_px);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.circularity);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", m.eccentricity);
    }
  }
  // A finger dragged over the rows scrolls them, as lists scroll on phones (ImGui scrolls by wheel and
  // scrollbar only); the row under the finger when it lifts is then not a click.
  if (touch && ImGui::IsWindowHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem) && ImGui::IsMouseDragging(0)) {
    ImGui::SetScrollY(ImGui::GetScrollY() - ImGui::GetIO().MouseDelta.y);
    t->dragged_by_finger = true;
  }
  if (t->dragged_by_finger) {
    clicked = 0;
    if (!ImGui::IsMouseDown(0)) t->dragged_by_finger = false;
  }
  ImGui::EndTable();
  return clicked;
}

}  // namespace celldrop
