#!/usr/bin/python3
"""Makes the figures of the lesson "What is an instance mask?" at site-assembly time.

    /usr/bin/python3 scripts/lesson-figures.py SITE_DIR

The image and its exact ground truth come from CellDrop's CLI (`celldrop synth`, the C++ core
through Node), seed 1: the very sample the app opens with. This script only colours them for
teaching and writes the numbers the lesson quotes into its page, so the text always matches the
pictures. Needs numpy and Pillow (Debian: python3-numpy, python3-pil).
"""
import colorsys
import pathlib
import tempfile

import numpy as np
from PIL import Image

from lesson_facts import fill_facts, lesson_dirs  # beside this script
from lesson_sample import SEED, fail, make_sample, outline, stretch

LESSON = "lessons/instance-masks"


def label_colours(n):
    """n + 1 RGB colours, 0 black; hues stepped by the golden angle so neighbouring ids differ."""
    table = np.zeros((n + 1, 3), np.uint8)
    for i in range(1, n + 1):
        r, g, b = colorsys.hsv_to_rgb((i * 0.6180339887) % 1.0, 0.62, 0.98)
        table[i] = (round(r * 255), round(g * 255), round(b * 255))
    return table


def touching_pairs(labels):
    """All (a, b), a < b, of different nuclei sharing a pixel edge."""
    pairs = set()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        m = (a > 0) & (b > 0) & (a != b)
        for x, y in zip(a[m].tolist(), b[m].tolist()):
            pairs.add((min(x, y), max(x, y)))
    return pairs


def blobs(labels, pairs):
    """Connected white regions of the semantic mask, as groups of nucleus ids (union-find)."""
    ids = [int(v) for v in np.unique(labels) if v > 0]
    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def patch_table(labels, pairs, rows=9, cols=13):
    """An HTML table of label numbers where two touching nuclei and the background all show."""
    h, w = labels.shape
    best = None  # (score, a, b, y0, x0): score = the fewest cells of nucleus a, nucleus b, background
    for a, b in sorted(pairs):
        contact = ((labels[:, :-1] == a) & (labels[:, 1:] == b)) | ((labels[:, :-1] == b) & (labels[:, 1:] == a))
        for y, x in zip(*np.nonzero(contact)):
            y0 = min(max(0, int(y) - rows // 2), h - rows)
            x0 = min(max(0, int(x) - cols // 2), w - cols)
            patch = labels[y0:y0 + rows, x0:x0 + cols]
            score = min(int((patch == a).sum()), int((patch == b).sum()), int((patch == 0).sum()))
            if best is None or score > best[0]:
                best = (score, a, b, y0, x0)
    if best is None:
        fail("lesson-figures", "the sample has no touching nuclei to show")
    _, a, b, y0, x0 = best
    patch = labels[y0:y0 + rows, x0:x0 + cols]
    out = [f'<table class="labels"><caption>Label numbers of pixels x = {x0} to {x0 + cols - 1}, '
           f'y = {y0} to {y0 + rows - 1}: nucleus {a} meets nucleus {b}; 0 is background.</caption>']
    for r in patch.tolist():
        cells = []
        for v in r:
            cls = "a" if v == a else "b" if v == b else "z" if v == 0 else "o"
            cells.append(f'<td class="{cls}">{v}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def main():
    lesson, media = lesson_dirs(LESSON, "lesson-figures")
    with tempfile.TemporaryDirectory() as tmp:
        image, bits, labels, _ = make_sample(pathlib.Path(tmp), "lesson-figures")
    n = int(labels.max())
    grey = stretch(image)
    colours = label_colours(n)
    pairs = touching_pairs(labels)
    groups = blobs(labels, pairs)
    merged = sum(len(g) for g in groups if len(g) > 1)

    Image.fromarray(grey).save(media / "nuclei.png", optimize=True)
    Image.fromarray(((labels > 0) * 255).astype(np.uint8)).save(media / "semantic.png", optimize=True)
    Image.fromarray(colours[labels]).save(media / "instance.png", optimize=True)
    overlay = np.repeat(grey[..., None], 3, axis=2)
    edge = outline(labels)
    overlay[edge] = colours[labels[edge]]
    Image.fromarray(overlay).save(media / "overlay.png", optimize=True)

    h, w = labels.shape
    fill_facts(lesson / "index.html", {
        "size": f"{w} by {h}",
        "bits": str(bits),
        "nuclei": str(len(np.unique(labels)) - 1),
        "blobs": f"{len(groups)}",
        "merged": f"{merged} of the {len(np.unique(labels)) - 1}",
        "seed": str(SEED),
        "patch": patch_table(labels, pairs),
    }, "lesson-figures")
    print(f"lesson-figures: {n} nuclei, {len(groups)} blobs, {merged} in touching groups -> {media}")


if __name__ == "__main__":
    main()
