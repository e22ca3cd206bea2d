#!/usr/bin/python3
"""Writes the TIFF interoperability fixtures into DIR (argv[1]) at test time, with two independent
writers, and tifffile's reading of each as the reference:

  tifffile: 16-bit, float32, BigTIFF, big-endian, multi-page, OME-TIFF with physical size, ImageJ with
            resolution, Deflate with horizontal predictor, planar RGB, tiled, and multichannel images
            stored a channel per page (an ImageJ hyperstack, an OME-TIFF), which read as one image;
  tiffcp:   LZW, Deflate (zip), PackBits, tiled 64x64, planar (separate), LZW with predictor.

For each case DIR/manifest.json lists the file, the page, the expected geometry and pixel size, and a
raw little-endian dump of tifffile's samples in CellDrop's chunky layout (rows, then channels
interleaved). tifffile 2023.2.3 without imagecodecs (not packaged by Debian) cannot decode LZW, so an
LZW file's reference is tifffile's reading of the file tiffcp was given: tiffcp is lossless, and a
round trip back to uncompressed (tiffcp -c none, read by tifffile) checks that it was here too."""
import json
import os
import subprocess
import sys

import numpy as np
import tifffile

out_dir = sys.argv[1]
rng = np.random.default_rng(2)
cases = []


def path(name):
    return os.path.join(out_dir, name)


def chunky(page):
    """tifffile's array for one page, in CellDrop's (height, width, channels) layout."""
    a = page.asarray()
    h, w = page.imagelength, page.imagewidth
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.shape[1:] == (h, w) and a.shape[:2] != (h, w):  # planar order: samples first
        a = np.moveaxis(a, 0, -1)
    assert a.shape[:2] == (h, w), (a.shape, h, w)
    return a


def add(name, file, page=0, pixel_size=None, reference=None, pages=None):
    with tifffile.TiffFile(path(file)) as tif:
        pages = len(tif.pages) if pages is None else pages
        a = chunky(tif.pages[page]) if reference is None else reference
    assert a.dtype.name in ("uint8", "uint16", "uint32", "float32"), a.dtype
    raw = name + ".ref.raw"
    np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tofile(path(raw))
    cases.append({"name": name, "file": file, "page": page, "reference": raw, "width": int(a.shape[1]),
                  "height": int(a.shape[0]), "channels": int(a.shape[2]), "type": a.dtype.name, "pages": pages,
                  "pixel_size_um": pixel_size})


def ramp16(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 431 + y * 977 + (x * y) % 251) % 65536).astype(np.uint16)


g16 = ramp16(70, 100)
g16 = g16 ^ rng.integers(0, 64, g16.shape, dtype=np.uint16)  # noise so predictors and LZW have work
rgb8 = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
f32 = (rng.normal(size=(50, 40)) * 1000).astype(np.float32)

tifffile.imwrite(path("u16.tif"), g16)
add("tifffile_u16", "u16.tif")
tifffile.imwrite(path("f32.tif"), f32)
add("tifffile_float32", "f32.tif")
tifffile.imwrite(path("bigtiff.tif"), g16, bigtiff=True)
add("tifffile_bigtiff", "bigtiff.tif")
tifffile.imwrite(path("bigendian.tif"), g16, byteorder=">")
add("tifffile_big_endian", "bigendian.tif")
tifffile.imwrite(path("bigendian_f32.tif"), f32, byteorder=">")
add("tifffile_big_endian_float32", "bigendian_f32.tif")
stack = np.stack([g16, g16[::-1], g16 // 3])
tifffile.imwrite(path("multipage.tif"), stack, photometric="minisblack")
add("tifffile_multipage_p0", "multipage.tif", page=0)
add("tifffile_multipage_p2", "multipage.tif", page=2)
tifffile.imwrite(path("ome.tif"), g16, ome=True, metadata={"axes": "YX", "PhysicalSizeX": 0.325,
                 "PhysicalSizeXUnit": "µm", "PhysicalSizeY": 0.5, "PhysicalSizeYUnit": "µm"})
add("tifffile_ome", "ome.tif", pixel_size=[0.325, 0.5])
tifffile.imwrite(path("imagej.tif"), g16, imagej=True, resolution=(1 / 0.65, 1 / 0.65), metadata={"unit": "um"})
add("tifffile_imagej", "imagej.tif", pixel_size=[0.65, 0.65])
# Channels on pages: 2 slices of 3 channels (ImageJ's order: channels, then slices), and 2 channels.
hyper = np.stack([np.stack([g16, g16[::-1], g16 // 3]), np.stack([g16 // 2, g16[:, ::-1], g16 ^ 255])])
tifffile.imwrite(path("imagej_hyperstack.tif"), hyper, imagej=True, metadata={"axes": "ZCYX"})
add("tifffile_imagej_hyperstack_z0", "imagej_hyperstack.tif", page=0, reference=np.moveaxis(hyper[0], 0, -1), pages=2)
add("tifffile_imagej_hyperstack_z1", "imagej_hyperstack.tif", page=1, reference=np.moveaxis(hyper[1], 0, -1), pages=2)
two = np.stack([g16, g16[::-1]])
tifffile.imwrite(path("ome_channels.tif"), two, ome=True, photometric="minisblack", metadata={"axes": "CYX"})
add("tifffile_ome_channels", "ome_channels.tif", reference=np.moveaxis(two, 0, -1), pages=1)
tifffile.imwrite(path("deflate_predictor.tif"), g16, compression="zlib", predictor=True)
add("tifffile_deflate_predictor", "deflate_predictor.tif")
tifffile.imwrite(path("planar_rgb.tif"), np.moveaxis(rgb8, -1, 0), photometric="rgb", planarconfig="separate")
add("tifffile_planar_rgb", "planar_rgb.tif")
tifffile.imwrite(path("tiled.tif"), g16, tile=(32, 32))
add("tifffile_tiled", "tiled.tif")

# tiffcp, from uncompressed sources written by tifffile.
tifffile.imwrite(path("src_gray.tif"), g16)
tifffile.imwrite(path("src_rgb.tif"), rgb8, photometric="rgb")
src_gray = chunky(tifffile.TiffFile(path("src_gray.tif")).pages[0])
src_rgb = chunky(tifffile.TiffFile(path("src_rgb.tif")).pages[0])


def tiffcp(name, src, source_array, *args, lzw=False):
    file = name + ".tif"
    subprocess.run(["tiffcp", *args, path(src), path(file)], check=True)
    if lzw:
        back = name + ".none.tif"
        subprocess.run(["tiffcp", "-c", "none", path(file), path(back)], check=True)
        assert np.array_equal(chunky(tifffile.TiffFile(path(back)).pages[0]), source_array), name
        add("tiffcp_" + name, file, reference=source_array)
    else:
        add("tiffcp_" + name, file)


tiffcp("lzw", "src_gray.tif", src_gray, "-c", "lzw", lzw=True)
tiffcp("lzw_rgb", "src_rgb.tif", src_rgb, "-c", "lzw", lzw=True)
tiffcp("zip", "src_gray.tif", src_gray, "-c", "zip")
tiffcp("packbits", "src_rgb.tif", src_rgb, "-c", "packbits")
tiffcp("tiled", "src_gray.tif", src_gray, "-t", "-w", "64", "-l", "64")
tiffcp("planar", "src_rgb.tif", src_rgb, "-p", "separate")
tiffcp("lzw_predictor", "src_gray.tif", src_gray, "-c", "lzw:2", lzw=True)

with open(path("manifest.json"), "w") as f:
    json.dump(cases, f, indent=1)
