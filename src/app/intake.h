// Opening a user's image in the page: file bytes (dropped, pasted, chosen or downloaded) -> the
// decoded image the viewer shows, plus what a share link and the run record say about it.
// Decoding is the core's (decode.h); this only sets the page's budget and words the errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"

namespace celldrop {

// The page opens at most this many samples (width x height x channels): a 16k x 16k one-channel
// image. The core's default takes four times more, which a browser tab (4 GB of WebAssembly memory,
// the image held by the page and again by the worker) cannot.
constexpr uint64_t kPageMaxSamples = uint64_t(16384) * 16384;

struct OpenedImage {
  Image image;
  std::vector<uint8_t> file;  // the bytes as given: what the worker decodes and the sha256 covers
  std::string name;           // file name as the user knows it ("cells.tif")
  std::string stem;           // the name without its extension, for export names ("cells")
  std::string format;         // "png", "jpeg", "tiff", ...
  int page = 0;               // which page of a multi-page TIFF this is (0-based)
  int pages = 1;              // a multi-page TIFF's pages (a hyperstack's channels count as one)
  std::string sha256;         // of `file`
  std::string source_url;     // where it was downloaded from (?image=), else ""
};

// Decodes page `page` of `bytes` (0 but for multi-page TIFFs: a time-lapse, a z-stack). False + a sentence for the user, naming the
// file, when it is not an image the core reads or is larger than the page's budget.
bool open_image(const uint8_t* bytes, size_t size, const std::string& name, const std::string& source_url,
                int page, OpenedImage* out, std::string* error);

// "cells.ome.tif" -> "cells.ome", "" or an extension-only name -> "image"; characters that file
// systems refuse (/ \ : * ? " < > |) and control characters become '_'.
std::string file_stem(const std::string& name);

}  // namespace celldrop
