// libFuzzer target: share links (src/app/share.cpp), which arrive in the page's address from anyone,
// and the edits by hand they carry, replayed on a small label image as the page replays them
// (core/labels.h: removals and drawn outlines with any coordinates).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/share.h"
#include "core/labels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace celldrop;
  const std::string fragment(reinterpret_cast<const char*>(data), size);
  ShareState state;
  std::vector<std::string> unknown;
  std::string error;
  if (!parse_share_fragment(fragment, &state, &unknown, &error)) {
    if (error.empty()) __builtin_trap();  // every refusal must say why
    return 0;
  }
  // What is read back is written again readably (the page re-shares a link it opened), edits intact.
  ShareState again;
  if (!parse_share_fragment(share_fragment(state), &again, &unknown, &error)) __builtin_trap();
  if (again.edits.size() != state.edits.size()) __builtin_trap();
  for (size_t i = 0; i < state.edits.size(); i++) {
    if (again.edits[i].id != state.edits[i].id || again.edits[i].outline.size() != state.edits[i].outline.size()) {
      __builtin_trap();
    }
  }

  // The edits on a 40 x 30 image with two objects; a drawn object takes the next free id, as in the page.
  Labels labels;
  labels.width = 40;
  labels.height = 30;
  labels.data.assign(size_t(labels.width) * size_t(labels.height), 0);
  for (int y = 5; y < 15; y++)
    for (int x = 5; x < 25; x++) labels.data[size_t(y) * 40 + size_t(x)] = x < 15 ? 1 : 2;
  const Labels original = labels;
  uint32_t next_id = 3;
  std::vector<HandEdit> applied;
  std::vector<EditedObject> changes;
  for (HandEdit e : state.edits) {
    if (!e.outline.empty()) e.id = next_id;
    EditedObject changed;
    if (!apply_hand_edit(labels, e, &changed)) continue;
    if (changed.pixels.empty() || changed.id != e.id) __builtin_trap();
    if (!e.outline.empty()) next_id++;
    applied.push_back(e);
    changes.push_back(changed);
  }
  // Undone in reverse order, the edits leave the labels as they were.
  for (size_t i = applied.size(); i-- > 0;) undo_hand_edit(labels, applied[i], changes[i]);
  if (labels.data != original.data) __builtin_trap();
  return 0;
}
