"""Reads CellDrop's exports with independent readers and prints what they saw as JSON.

Usage: /usr/bin/python3 read_exports.py DIR   (DIR as written by tests/tools/export_fixture)
tifffile reads the label TIFFs, shapely builds every GeoJSON polygon, Python's csv module reads the
table. The Node test (exports.test.mjs) compares the findings with the fixture's truth.
"""
import csv
import json
import sys

import numpy as np
import tifffile
from shapely.geometry import shape

d = sys.argv[1]
fx = json.load(open(f"{d}/fixture.json"))
truth = np.fromfile(f"{d}/labels.u32", dtype="<u4").reshape(fx["height"], fx["width"])
out = {}

for name, offset in (("labels.tif", 0), ("labels32.tif", 100000)):
    with tifffile.TiffFile(f"{d}/{name}") as tif:
        page = tif.pages[0]
        arr = page.asarray()
        expected = np.where(truth > 0, truth.astype(np.int64) + offset, 0)
        out[name] = {
            "dtype": str(arr.dtype),
            "shape": list(arr.shape),
            "compression": int(page.compression),
            "equal": bool(np.array_equal(arr.astype(np.int64), expected)),
        }

gj = json.load(open(f"{d}/objects.geojson"))
polys = []
for f in gj["features"]:
    g = shape(f["geometry"])
    props = f["properties"]
    polys.append({
        "label": int(props["name"]),
        "valid": bool(g.is_valid),
        "type": g.geom_type,
        "area": float(g.area),
        "ccw": bool(g.exterior.is_ccw),
        "objectType": props.get("objectType"),
        "classification": props.get("classification", {}).get("name"),
        "measured_area": props.get("measurements", {}).get("area_px"),
    })
out["geojson"] = {"type": gj["type"], "features": polys}

noise = json.load(open(f"{d}/noise.geojson"))
out["noise"] = [{"valid": bool(shape(f["geometry"]).is_valid), "area": float(shape(f["geometry"]).area)}
                for f in noise["features"]]

with open(f"{d}/objects.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
out["csv"] = {
    "columns": list(rows[0].keys()) if rows else [],
    "rows": len(rows),
    "labels": [int(r["label"]) for r in rows],
    "areas": [float(r["area_px"]) for r in rows],
    "polygon_areas": [float(r["polygon_area_px"]) for r in rows],
}
# Pixel counts straight from the truth, to check the table's numbers too.
counts = np.bincount(truth.ravel(), minlength=fx["objects"] + 1)
out["truth_areas"] = [int(c) for c in counts[1:]]
print(json.dumps(out))
