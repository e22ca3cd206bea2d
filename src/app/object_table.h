// The object table of the Segment panel: one row per object of the last result (measure.h), sortable
// by any column, with one selected object shared with the viewer (click a row to select and centre
// it, click an object in the image to select its row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/measure.h"

namespace celldrop {

struct ObjectTable {
  std::vector<ObjectMeasurements> objects;  // ascending id, as measure_objects gives them
  std::vector<int> order;                   // row -> index into objects, in the current sort order
  std::vector<int> index_of_id;             // id -> index into objects, -1 when absent
  int sort_column = 0;
  bool sort_ascending = true;
  // The channel whose mean intensity the "mean" column shows: the one on show in the viewer, so a
  // marker's channel can be read and sorted by nucleus; -1 = the mean of the channels (a colour view).
  int mean_channel = 0;
  // Or, while the nuclei are counted by a stain (an IHC slide's DAB), that stain's mean optical
  // density: the column then shows what the count reads. None: the channel's mean.
  Stain mean_stain = Stain::None;
  uint32_t selected = 0;           // object id; 0 = none
  bool scroll_to_selected = false;  // set when the viewer selects: the table brings the row into view
  // Rows drawn in the last frame, top to bottom: id and screen rectangle (x0, y0, x1, y1), published
  // so the browser tests can click a row as a person would.
  struct VisibleRow {
    uint32_t id;
    float rect[4];
  };
  std::vector<VisibleRow> visible_rows;
  float header_rects[8][4] = {};  // the column headers' rectangles, likewise (sorting by a click)
  bool dragged_by_finger = false;  // the rows are being scrolled by touch: the lifted finger selects nothing
};

// Takes a new result's measurements (sorted by id, the default order); clears the selection.
void object_table_reset(ObjectTable* table, std::vector<ObjectMeasurements> objects);

// The measurements of object `id`, or nullptr.
const ObjectMeasurements* object_table_find(const ObjectTable& table, uint32_t id);

// Sorts the rows by column `column` of object_table_columns() (stable; ties keep id order).
void object_table_sort(ObjectTable* table, int column, bool ascending);

// Shows channel `channel`'s mean in the "mean" column (see mean_channel); the rows are sorted again
// when they are sorted by it.
void object_table_set_mean_channel(ObjectTable* table, int channel);
// Shows stain `stain`'s mean optical density in the "mean" column instead (None: the channel's again).
void object_table_set_mean_stain(ObjectTable* table, Stain stain);

// The table's column names and each object's value in a column (the "mean" column's as the table
// shows it, mean_stain's or mean_channel's: 0 when the object has no such measurement).
const std::vector<const char*>& object_table_columns();
double object_table_value(const ObjectTable& table, const ObjectMeasurements& m, int column);

// Draws the table (ImGui) in a child region of `height`; returns the id of a row the user clicked,
// 0 when none was. touch: one finger is down (a touch screen), which scrolls the rows when it drags.
uint32_t object_table_draw(ObjectTable* table, float height, bool touch);

// One object's measurements as lines of text, for the hover tooltip.
std::string object_summary(const ObjectMeasurements& m);

}  // namespace celldrop
