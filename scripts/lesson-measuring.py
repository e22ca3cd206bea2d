#!/usr/bin/python3
"""Makes the figures and numbers of the lesson "From outlines to numbers" at site-assembly time.

    /usr/bin/python3 scripts/lesson-measuring.py SITE_DIR

The app's sample (seed 1, with its exact ground truth) is segmented by the CLI with the model and
backend the app starts with, given a pixel size (--pixel-size, as the app's Pixel size field), once
keeping every object and once leaving out those the image border cuts (--exclude-border). The lesson
quotes the CLI's own measurement tables; this script only finds which objects touch the border, to
colour and count them, and stops if that disagrees with what --exclude-border removed.

For counting positive nuclei, a second channel is added to the sample: a marker that some of its true
nuclei carry, at levels that vary from cell to cell as real stains do. The two-channel TIFF is kept
for the students (media/nuclei-and-marker.tif, to drop on the app), and the CLI counts it with
--positive, whose count the lesson compares with the marker's truth.

The same marker then stains a synthetic immunohistochemistry slide of the sample (ihc_slide.py's
mixing): every nucleus blue with hematoxylin, the carriers' brown with DAB at amounts that vary from
cell to cell, brown patches between the nuclei. The slide is kept for the students too
(media/ihc-slide.png), and the CLI reads it through its hematoxylin and counts it with --positive dab.
The same amounts of stain in another lab's colours (a purple hematoxylin, a dark DAB;
media/ihc-other-lab.png) are read twice: with the standard colours and with --estimate-stains.
Needs numpy, Pillow and tifffile.
"""
import csv
import json
import math
import pathlib
import tempfile

import numpy as np
from PIL import Image

from lesson_chart import Chart, nice_ticks  # beside this script
from lesson_facts import fill_facts, lesson_dirs
from ihc_slide import blobs_between, ihc_rgb
from lesson_sample import fail, make_sample, outline, read_image, run_cli, stretch

LESSON = "lessons/measuring"
MODEL = "nuclei-star"  # the app's first model, on the page's backend
PIXEL_UM = 0.5         # the lesson's example calibration: a 20x objective on a common camera, roughly
WHO = "lesson-measuring"
MARKER_SHARE = 0.4  # of the true nuclei carry the marker
MARKER_SEED = 7
# Another lab's hematoxylin and DAB (optical density in red, green and blue): a purple hematoxylin
# (Macenko et al.'s reference) and a dark, neutral DAB, 20 degrees apart where Ruifrok's are 37.
OTHER_LAB = ((0.5626, 0.7201, 0.4062), (0.40, 0.60, 0.69))


def read_table(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: float(v) if v != "" else None for k, v in row.items()} for row in csv.DictReader(f)]


def border_ids(labels):
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return {int(i) for i in np.unique(edge) if i > 0}


def diameter(area_um2):
    """The diameter of the circle with this area."""
    return 2 * math.sqrt(area_um2 / math.pi)


def histogram_svg(inner, cut):
    """Stacked bars of object areas: whole objects, then those the border cuts, on top."""
    top = max(inner + cut)
    width = nice_ticks(top, 20)[1]  # about 20 bars of a round width
    bins = int(top // width) + 1
    count = lambda values: np.bincount((np.array(values) // width).astype(int), minlength=bins)
    n_inner, n_cut = count(inner), count(cut)
    chart = Chart("Areas of the objects found", width * bins, int((n_inner + n_cut).max()), "area (µm²)",
                  "objects", "{:.0f}")
    x, y = chart.x, chart.y
    for b in range(bins):
        x0, x1 = x(b * width) + 1, x((b + 1) * width) - 1
        for base, n, colour in ((0, n_inner[b], "#1f6fb4"), (n_inner[b], n_cut[b], "#f08a24")):
            if n:
                chart.add(f'<rect x="{x0:.1f}" y="{y(base + n):.1f}" width="{x1 - x0:.1f}" '
                          f'height="{y(base) - y(base + n):.1f}" fill="{colour}"/>')
    right = chart.left + chart.pw
    for i, (colour, name) in enumerate((("#1f6fb4", "whole"), ("#f08a24", "cut by the border"))):
        chart.add(f'<rect x="{right - 150}" y="{chart.top + 4 + 20 * i}" width="12" height="12" fill="{colour}"/>')
        chart.add(f'<text x="{right - 132}" y="{chart.top + 15 + 20 * i}" fill="#222">{name}</text>')
    return chart.svg()


def marker_channel(truth):
    """A marker in some of the true nuclei: (the channel as uint16, the ids that carry it). Levels are
    log-normal per nucleus, bright for carriers and dim (autofluorescence) for the rest, with a little
    overlap, plus background and shot noise: where to draw the line is then a real question."""
    rng = np.random.default_rng(MARKER_SEED)
    ids = np.unique(truth)[1:]
    carries = rng.random(ids.size) < MARKER_SHARE
    level = np.where(carries, rng.lognormal(np.log(900), 0.3, ids.size), rng.lognormal(np.log(160), 0.3, ids.size))
    per_id = np.zeros(int(truth.max()) + 1)
    per_id[ids] = level
    marker = rng.poisson(per_id[truth] + 60.0)
    return np.clip(marker, 0, 65535).astype(np.uint16), {int(i) for i in ids[carries]}


def means_histogram_svg(means, threshold):
    """Bars of the nuclei's mean marker level, coloured by the side of the threshold they fall on."""
    top = max(means)
    width = nice_ticks(top, 30)[1]
    bins = int(top // width) + 1
    counts = np.bincount((np.array(means) // width).astype(int), minlength=bins)
    chart = Chart("Mean marker level of each nucleus", width * bins, int(counts.max()), "mean in channel 2",
                  "nuclei", "{:.0f}")
    x, y = chart.x, chart.y
    for b in range(bins):
        if counts[b]:
            colour = "#ff6e3c" if (b + 0.5) * width >= threshold else "#56b4e9"
            x0, x1 = x(b * width) + 1, x((b + 1) * width) - 1
            chart.add(f'<rect x="{x0:.1f}" y="{y(counts[b]):.1f}" width="{x1 - x0:.1f}" '
                      f'height="{y(0) - y(counts[b]):.1f}" fill="{colour}"/>')
    tx = x(threshold)
    chart.add(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{chart.top}" y2="{chart.top + chart.ph}" stroke="#222" '
              f'stroke-dasharray="5 4"/>')
    chart.add(f'<text x="{tx + 6:.1f}" y="{chart.top + 14}" fill="#222">Otsu: {threshold:.0f}</text>')
    return chart.svg()


def count_marker(tmp, media, image, truth):
    """Segments the sample with its marker channel, counts the positive nuclei; returns the facts."""
    import tifffile
    marker, carriers = marker_channel(truth)
    two = media / "nuclei-and-marker.tif"
    tifffile.imwrite(two, np.stack([image.astype(np.uint16), marker], axis=-1), photometric="minisblack",
                     planarconfig="contig", compression="zlib")
    line = run_cli(["segment", two, "--out", tmp / "marker", "--model", MODEL, "--backend", "wasm", "--channel", 0,
                    "--positive", 1, "--export", "csv"], WHO)
    counted = json.loads(line.splitlines()[0])
    rows = read_table(tmp / "marker" / "nuclei-and-marker.csv")
    labels = read_image(tmp / "marker" / "nuclei-and-marker.png")[0].astype(np.int64)
    means = [r["mean_2"] for r in rows]
    threshold = counted["positive_threshold"]
    if sum(int(r["positive"]) for r in rows) != counted["positive"]:
        fail(WHO, "the CSV's positive column and the CLI's count disagree")
    (media / "marker.svg").write_text(means_histogram_svg(means, threshold), encoding="utf-8")
    grey = stretch(marker)
    rgb = outlined_by_class(np.repeat(grey[..., None], 3, axis=2), labels, rows)
    Image.fromarray(rgb).save(media / "marker.png", optimize=True)
    n, true_nuclei = len(rows), len(np.unique(truth)) - 1
    at = lambda t: sum(m >= t for m in means)
    return {
        "m_objects": str(n),
        "m_positive": str(counted["positive"]),
        "m_percent": f"{100 * counted['positive'] / n:.0f}",
        "m_threshold": f"{threshold:.0f}",
        "m_truth": str(len(carriers)),
        "m_truth_all": str(true_nuclei),
        "m_truth_percent": f"{100 * len(carriers) / true_nuclei:.0f}",
        "m_agree": f"{100 * agreement(rows, labels, truth, carriers):.0f}",
        "m_low": f"{threshold / 2:.0f}",
        "m_low_percent": f"{100 * at(threshold / 2) / n:.0f}",
        "m_high": f"{threshold * 1.5:.0f}",
        "m_high_percent": f"{100 * at(threshold * 1.5) / n:.0f}",
        **count_dab(tmp, media, image, truth, carriers),
    }


def agreement(rows, labels, truth, carriers):
    """The share of objects classified as the true nucleus each mostly covers says (carrier or not)."""
    agree = 0
    for r in rows:
        under = truth[labels == int(r["label"])]
        under = under[under > 0]
        truly = under.size > 0 and int(np.bincount(under).argmax()) in carriers
        agree += int(truly) == int(r["positive"])
    return agree / len(rows)


def outlined_by_class(rgb, labels, rows):
    """Draws each object's outline in the app's colours: orange when positive, blue when not."""
    edge = outline(labels)
    is_positive = np.isin(labels, [int(r["label"]) for r in rows if int(r["positive"])])
    rgb[edge & is_positive] = (255, 110, 60)
    rgb[edge & ~is_positive] = (86, 180, 233)
    return rgb


def count_dab(tmp, media, image, truth, carriers):
    """The sample as an IHC slide, the carriers' nuclei brown; read through its hematoxylin and counted
    by DAB. Returns the facts."""
    rng = np.random.default_rng(MARKER_SEED)
    t = (image - image.min()) / max(float(image.max() - image.min()), 1.0)
    per_id = np.zeros(int(truth.max()) + 1)
    ids = np.array(sorted(carriers))
    per_id[ids] = rng.lognormal(np.log(0.35), 0.3, ids.size)  # each carrier stained to its own degree
    dab = per_id[truth] + blobs_between(truth, rng, count=40)
    slide = media / "ihc-slide.png"
    Image.fromarray(ihc_rgb(0.05 + 0.6 * t, dab), "RGB").save(slide, optimize=True)
    line = run_cli(["segment", slide, "--out", tmp / "ihc", "--model", MODEL, "--backend", "wasm",
                    "--stain", "hematoxylin", "--positive", "dab", "--export", "csv"], WHO)
    counted = json.loads(line.splitlines()[0])
    rows = read_table(tmp / "ihc" / "ihc-slide.csv")
    labels = read_image(tmp / "ihc" / "ihc-slide.png")[0].astype(np.int64)
    if sum(int(r["positive"]) for r in rows) != counted["positive"]:
        fail(WHO, "the slide's CSV positive column and the CLI's count disagree")
    figure = outlined_by_class(np.asarray(Image.open(slide).convert("RGB")).copy(), labels, rows)
    Image.fromarray(figure).save(media / "ihc.png", optimize=True)
    n = len(rows)
    return {
        **count_other_lab(tmp, media, 0.05 + 0.6 * t, dab, truth, carriers),
        "d_objects": str(n),
        "d_positive": str(counted["positive"]),
        "d_percent": f"{100 * counted['positive'] / n:.0f}",
        "d_threshold": f"{counted['positive_threshold']:.2f}",
        "d_agree": f"{100 * agreement(rows, labels, truth, carriers):.0f}",
    }


def count_other_lab(tmp, media, hematoxylin, dab, truth, carriers):
    """The same slide in OTHER_LAB's colours, read and counted by DAB with the standard colours and with
    the slide's own (--estimate-stains). Figure: the two results side by side. Returns the facts."""
    slide = media / "ihc-other-lab.png"
    Image.fromarray(ihc_rgb(hematoxylin, dab, OTHER_LAB), "RGB").save(slide, optimize=True)
    rgb = np.asarray(Image.open(slide).convert("RGB"))
    facts, halves = {}, []
    for key, extra in (("l", []), ("e", ["--estimate-stains"])):
        out = tmp / f"lab-{key}"
        line = run_cli(["segment", slide, "--out", out, "--model", MODEL, "--backend", "wasm", "--stain", "hematoxylin",
                        "--positive", "dab", "--export", "csv"] + extra, WHO)
        counted = json.loads(line.splitlines()[0])
        rows = read_table(out / "ihc-other-lab.csv")
        labels = read_image(out / "ihc-other-lab.png")[0].astype(np.int64)
        on_glass = sum(1 for r in rows if not (truth[labels == int(r["label"])] > 0).any())
        facts.update({f"{key}_objects": str(len(rows)), f"{key}_positive": str(counted["positive"]),
                      f"{key}_on_glass": str(on_glass)})
        halves.append(outlined_by_class(rgb.copy(), labels, rows))
    facts["e_agree"] = f"{100 * agreement(rows, labels, truth, carriers):.0f}"  # of the last read, the slide's own
    if int(facts["e_on_glass"]) >= int(facts["l_on_glass"]):
        fail(WHO, f"the slide's own colours should find fewer brown patches ({facts['e_on_glass']}) than the "
                  f"standard ones ({facts['l_on_glass']})")
    gap = np.full((rgb.shape[0], 8, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([halves[0], gap, halves[1]], axis=1)).save(media / "ihc-other-lab-read.png", optimize=True)
    return facts


def main():
    lesson, media = lesson_dirs(LESSON, WHO)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "sample").mkdir()
        image, _, truth, image_file = make_sample(tmp / "sample", WHO)
        common = ["--model", MODEL, "--backend", "wasm", "--pixel-size", PIXEL_UM, "--export", "csv"]
        run_cli(["segment", image_file, "--out", tmp / "all"] + common, WHO)
        run_cli(["segment", image_file, "--out", tmp / "inner", "--exclude-border"] + common, WHO)
        labels = read_image(tmp / "all" / (image_file.stem + ".png"))[0].astype(np.int64)
        rows = read_table(tmp / "all" / (image_file.stem + ".csv"))
        inner_rows = read_table(tmp / "inner" / (image_file.stem + ".csv"))
        marker_facts = count_marker(tmp, media, image, truth)

    cut_ids = border_ids(labels)
    cut = [r["area_um2"] for r in rows if int(r["label"]) in cut_ids]
    whole = [r["area_um2"] for r in rows if int(r["label"]) not in cut_ids]
    if sorted(whole) != sorted(r["area_um2"] for r in inner_rows):
        fail(WHO, f"{len(cut_ids)} objects touch the border here, but --exclude-border kept {len(inner_rows)} "
                  f"of {len(rows)} objects with other areas")
    if not cut or not whole:
        fail(WHO, f"the lesson needs objects both on the border ({len(cut)}) and inside ({len(whole)})")

    # Figure 1: whole objects outlined in blue, those the border cuts filled orange.
    grey = stretch(image)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float64)
    cut_mask = np.isin(labels, list(cut_ids))
    rgb[cut_mask] = 0.4 * rgb[cut_mask] + 0.6 * np.array([240, 138, 36])
    rgb[outline(labels) & ~cut_mask] = (70, 160, 255)
    Image.fromarray(rgb.round().astype(np.uint8)).save(media / "border.png", optimize=True)
    (media / "areas.svg").write_text(histogram_svg(whole, cut), encoding="utf-8")

    # A typical nucleus: the whole object of median area.
    typical = sorted(inner_rows, key=lambda r: r["area_um2"])[len(inner_rows) // 2]
    true_cut = border_ids(truth)
    true_whole = [int(n) for i, n in enumerate(np.bincount(truth.ravel())) if i > 0 and n > 0 and i not in true_cut]
    mean = lambda v: sum(v) / len(v)
    fill_facts(lesson / "index.html", {
        "model": MODEL,
        "pixel": f"{PIXEL_UM:g}",
        "pixel_area": f"{PIXEL_UM * PIXEL_UM:g}",
        "objects": str(len(rows)),
        "cut": str(len(cut)),
        "whole": str(len(whole)),
        "t_area_px": f"{typical['area_px']:.0f}",
        "t_area_um2": f"{typical['area_um2']:.4g}",
        "t_area_sum": f"{typical['area_px']:.0f} × {PIXEL_UM * PIXEL_UM:g}",
        "t_diameter": f"{diameter(typical['area_um2']):.1f}",
        "t_perimeter": f"{typical['perimeter_px'] * PIXEL_UM:.1f}",
        "t_circularity": f"{typical['circularity']:.2f}",
        "t_mean": f"{typical['mean_1']:.0f}",
        "mean_all": f"{mean(cut + whole):.1f}",
        "mean_whole": f"{mean(whole):.1f}",
        "mean_cut": f"{mean(cut):.1f}",
        "bias": f"{100 * (1 - mean(cut + whole) / mean(whole)):.0f}",
        "cut_smaller": f"{100 * (1 - mean(cut) / mean(whole)):.0f}",
        "cut_share": f"{100 * len(cut) / len(rows):.0f}",
        "truth_whole": f"{mean(true_whole) * PIXEL_UM * PIXEL_UM:.1f}",
        "diameter_whole": f"{mean([diameter(a) for a in whole]):.1f}",
        **marker_facts,
    }, WHO)
    print(f"{WHO}: {MODEL} measured {len(rows)} objects, {len(cut)} cut by the border -> {media}")


if __name__ == "__main__":
    main()
