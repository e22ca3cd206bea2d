"""The app's sample for the lesson scripts (lesson-figures.py, lesson-scoring.py): the synthetic image
and its exact ground truth made by CellDrop's CLI (`celldrop synth`, the C++ core through Node), seed 1,
the very picture the app opens with, and the small drawing helpers the lessons' figures share."""
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEED = 1


def fail(who, message):
    sys.exit(f"{who}: {message}")


def run_cli(args, who):
    """Runs `celldrop ARGS` and returns its standard output; exits with its messages when it fails."""
    cli = ROOT / "cli" / "celldrop.mjs"
    if not cli.exists():
        fail(who, f"{cli} is missing: the lesson figures are drawn by the CLI")
    cmd = ["node", "--no-experimental-fetch", str(cli)] + [str(a) for a in args]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        fail(who, f"{' '.join(cmd)} failed:\n{run.stdout}{run.stderr}")
    return run.stdout


def read_image(path):
    """Samples and the bits per sample stored in the file (Pillow widens 16-bit PNGs to 32-bit)."""
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile  # only when the CLI writes TIFF
        a = np.asarray(tifffile.imread(path))
        return a, 8 * a.dtype.itemsize
    data = path.read_bytes()
    return np.asarray(Image.open(path)), data[24]  # PNG: IHDR bit depth


def make_sample(workdir, who):
    """Writes the sample into `workdir` and returns (image, bits per sample, labels, image file)."""
    run_cli(["synth", "--seed", SEED, "--out", workdir], who)
    files = [p for p in sorted(workdir.iterdir()) if p.suffix.lower() in (".png", ".tif", ".tiff")]
    labels = [p for p in files if "label" in p.name.lower()]
    images = [p for p in files if "label" not in p.name.lower()]
    if len(labels) != 1 or len(images) != 1:
        fail(who, f"expected one image and one label image from the CLI in {workdir}, found {[p.name for p in files]}")
    (image, bits), (labels, _) = read_image(images[0]), read_image(labels[0])
    if image.ndim == 3:
        image = image[..., 0]
    if image.shape != labels.shape:
        fail(who, f"image {image.shape} and labels {labels.shape} differ in size")
    return image, bits, labels.astype(np.int64), images[0]


def stretch(image):
    """8-bit display copy, 0.1th..99.9th percentile, as the app's Auto contrast."""
    lo, hi = np.percentile(image, [0.1, 99.9])
    return (np.clip((image.astype(np.float64) - lo) / max(hi - lo, 1e-9), 0, 1) * 255).round().astype(np.uint8)


def outline(labels):
    """Pixels of a nucleus with a 4-neighbour of another id (background included)."""
    p = np.pad(labels, 1, mode="edge")
    c = p[1:-1, 1:-1]
    edge = (c != p[:-2, 1:-1]) | (c != p[2:, 1:-1]) | (c != p[1:-1, :-2]) | (c != p[1:-1, 2:])
    return edge & (c > 0)
