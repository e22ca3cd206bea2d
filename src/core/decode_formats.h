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

}  // namespace celldrop
