// Private to src/core: the per-format decoders that decode.cpp dispatches to after sniffing the magic
// bytes. Each has the contract of probe_image/decode_image in decode.h (false + a user-facing error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/decode.h"

namespace celldrop {

// PNG, JPEG and BMP through stb_image (decode_stb.cpp). `format` is "png", "jpeg" or "bmp".
bool stb_probe(const char* format, const uint8_t* bytes, size_t size, ImageInfo* info,
               std::string* error);
bool stb_decode(const char* format, const uint8_t* bytes, size_t size, const DecodeOptions& options,
                Image* out, std::string* error);

// TIFF and BigTIFF through libtiff (tiff_reader.cpp).
bool tiff_probe(const uint8_t* bytes, size_t size, ImageInfo* info, std::string* error);
bool tiff_decode(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image* out,
                 std::string* error);

// Pixel-size parsing shared with the tests (tiff_metadata.cpp). Units are the ones microscopy
// writers use; both return false when the text does not state a usable size.
//   ImageJ: "ImageJ=1.53t\nunit=micron\n..." with X/YResolution in pixels per unit.
bool imagej_unit_to_um(const std::string& description, double* um_per_unit);
//   OME-XML: the first <Pixels> element's PhysicalSizeX/Y (+ ...Unit, default µm).
bool ome_physical_size_um(const std::string& description, double* x_um, double* y_um);
// How many consecutive one-sample pages hold the channels of one image, as the description states:
// ImageJ hyperstacks ("channels=C") and OME-TIFF (SizeC, channels varying fastest or the only
// dimension beyond X and Y). 1 when it says nothing of the kind; the reader checks the pages agree.
int tiff_channels_in_pages(const std::string& description);

}  // namespace celldrop
