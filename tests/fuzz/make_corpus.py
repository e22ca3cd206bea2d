#!/usr/bin/python3
"""Regenerates the fuzzing seed corpora in tests/fuzz/corpus/<target>/: tiny files (a few hundred bytes
each) covering the layouts each decoder supports, written by tifffile, tiffcp and Pillow. Run with
Debian's /usr/bin/python3 (numpy, tifffile, PIL) and libtiff-tools installed; the output is committed,
so the fuzzers never depend on these tools."""
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import tifffile
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tif(**kw):
    data = kw.pop("data")
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, **kw)
    return buf.getvalue()


def tiffcp(src_bytes, *args):
    with tempfile.TemporaryDirectory() as t:
        a, b = os.path.join(t, "a.tif"), os.path.join(t, "b.tif")
        open(a, "wb").write(src_bytes)
        subprocess.run(["tiffcp", *args, a, b], check=True)
        return open(b, "rb").read()


g8 = (rng.integers(0, 256, (12, 10))).astype(np.uint8)
g16 = (rng.integers(0, 65536, (12, 10))).astype(np.uint16)
rgb8 = (rng.integers(0, 256, (9, 11, 3))).astype(np.uint8)
f32 = rng.normal(size=(8, 8)).astype(np.float32)

out("fuzz_tiff", "u8_gray.tif", tif(data=g8))
out("fuzz_tiff", "u16_bigendian.tif", tif(data=g16, byteorder=">"))
out("fuzz_tiff", "u16_bigtiff.tif", tif(data=g16, bigtiff=True))
out("fuzz_tiff", "f32.tif", tif(data=f32))
out("fuzz_tiff", "u32.tif", tif(data=g16.astype(np.uint32) * 3))
out("fuzz_tiff", "i16.tif", tif(data=(g16.astype(np.int32) - 32768).astype(np.int16)))
out("fuzz_tiff", "multipage.tif", tif(data=np.stack([g8, g8[::-1], g8 // 2]), photometric="minisblack"))
# tifffile takes planar data as (samples, rows, columns).
out("fuzz_tiff", "rgb_planar.tif", tif(data=np.moveaxis(rgb8, -1, 0), photometric="rgb", planarconfig="separate"))
out("fuzz_tiff", "deflate_predictor.tif", tif(data=g16, compression="zlib", predictor=True))
out("fuzz_tiff", "tiled.tif", tif(data=np.tile(g8, (3, 4)), tile=(16, 16)))
out("fuzz_tiff", "ome.tif", tif(data=g8, ome=True, metadata={"PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}))
out("fuzz_tiff", "imagej.tif", tif(data=g16, imagej=True, resolution=(2.0, 2.0), metadata={"unit": "um"}))
# Channels stored a page each (2 slices of 2 channels; 2 channels): one image's channels on reading.
out("fuzz_tiff", "imagej_hyperstack.tif",
    tif(data=np.stack([np.stack([g16, g16[::-1]]), np.stack([g16 // 2, g16 ^ 7])]), imagej=True,
        metadata={"axes": "ZCYX"}))
out("fuzz_tiff", "ome_channels.tif", tif(data=np.stack([g8, g8[::-1]]), ome=True, photometric="minisblack",
                                         metadata={"axes": "CYX"}))
out("fuzz_tiff", "lzw.tif", tiffcp(tif(data=g16), "-c", "lzw"))
out("fuzz_tiff", "lzw_predictor.tif", tiffcp(tif(data=g16), "-c", "lzw:2"))
out("fuzz_tiff", "packbits_rgb.tif", tiffcp(tif(data=rgb8, photometric="rgb"), "-c", "packbits"))
out("fuzz_tiff", "zip_tiled_planar.tif",
    tiffcp(tif(data=np.tile(rgb8, (2, 2, 1)), photometric="rgb"), "-c", "zip", "-t", "-w", "16", "-l", "16",
           "-p", "separate"))


def pil(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


out("fuzz_png", "gray8.png", pil(Image.fromarray(g8), "PNG"))
out("fuzz_png", "gray16.png", pil(Image.fromarray(g16.astype(np.int32), "I").convert("I;16"), "PNG"))
out("fuzz_png", "rgb8_phys.png", pil(Image.fromarray(rgb8), "PNG", dpi=(25400, 25400)))
out("fuzz_png", "rgba8.png", pil(Image.fromarray(np.dstack([rgb8, rgb8[..., :1]])), "PNG"))
out("fuzz_png", "gray_alpha.png", pil(Image.fromarray(np.dstack([rgb8[..., 0], rgb8[..., 1]]), "LA"), "PNG"))
out("fuzz_png", "palette.png", pil(Image.fromarray(rgb8).convert("P"), "PNG"))
out("fuzz_png", "bilevel.png", pil(Image.fromarray(g8 > 128), "PNG"))

out("fuzz_jpeg", "gray.jpg", pil(Image.fromarray(g8), "JPEG", quality=80))
out("fuzz_jpeg", "rgb_420.jpg", pil(Image.fromarray(rgb8), "JPEG", quality=80, subsampling=2))
out("fuzz_jpeg", "rgb_444.jpg", pil(Image.fromarray(rgb8), "JPEG", quality=95, subsampling=0))
out("fuzz_jpeg", "progressive.jpg", pil(Image.fromarray(np.tile(rgb8, (2, 2, 1))), "JPEG", progressive=True))
out("fuzz_jpeg", "optimized.jpg", pil(Image.fromarray(g8), "JPEG", optimize=True))

out("fuzz_bmp", "rgb24.bmp", pil(Image.fromarray(rgb8), "BMP"))
out("fuzz_bmp", "gray8_palette.bmp", pil(Image.fromarray(g8), "BMP"))
out("fuzz_bmp", "palette8.bmp", pil(Image.fromarray(rgb8).convert("P"), "BMP"))
out("fuzz_bmp", "bilevel.bmp", pil(Image.fromarray(g8 > 128), "BMP"))
out("fuzz_bmp", "rgba32.bmp", pil(Image.fromarray(np.dstack([rgb8, rgb8[..., :1]])), "BMP"))
print("corpora written under", os.path.join(HERE, "corpus"), file=sys.stderr)
