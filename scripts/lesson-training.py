#!/usr/bin/python3
"""Makes the figures and numbers of the lesson "How a network learns to find nuclei" at site-assembly time.

    /usr/bin/python3 scripts/lesson-training.py SITE_DIR

Everything comes from the shipped models themselves: each model's loss curve (models/<name>.loss.json,
written by models/train/train.py while it trained) is drawn as an SVG, and the numbers the lesson
quotes (steps, parameters, crops, validation scores) are read from the model cards and written into
the page, so the text always matches the models the app ships. Standard library only.
"""
import json
import math
import pathlib
import sys

from lesson_facts import fill_facts  # beside this script

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSON = "lessons/training"
# The models the lesson shows, in its order: the two kinds for fluorescence, then the H&E one.
MODELS = ["nuclei-flow", "nuclei-star", "nuclei-he-star"]


def fail(message):
    sys.exit(f"lesson-training: {message}")


def read_model(name):
    card_path = ROOT / "models" / f"{name}.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        loss_name = card["training"]["loss_curve"]
        curve = json.loads((ROOT / "models" / loss_name).read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError) as e:
        fail(f"cannot read {name}'s card or loss curve: {e}")
    steps, loss = curve.get("steps", []), curve.get("loss", [])
    if len(steps) < 2 or len(steps) != len(loss):
        fail(f"{name}'s loss curve has {len(steps)} steps and {len(loss)} losses")
    return card, steps, loss


def nice_ticks(top, count=5):
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten."""
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def number(v):
    return f"{v:,.0f}" if v >= 1 or v == 0 else f"{v:.1f}"


def loss_svg(title, steps, loss, marker_step=None, marker_label=""):
    """A line chart of loss against training step, with labelled axes; plain SVG, no script, no style
    sheet (the site's Content Security Policy allows neither inline)."""
    w, h = 640, 300
    left, right, top, bottom = 64, 40, 36, 48
    pw, ph = w - left - right, h - top - bottom
    xt = nice_ticks(steps[-1])
    yt = nice_ticks(max(loss))
    xmax, ymax = xt[-1], yt[-1]
    x = lambda s: left + pw * s / xmax
    y = lambda v: top + ph * (1 - v / ymax)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="13">',
           f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold" fill="#222">{title}</text>']
    for v in yt:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#444">{v:.1f}</text>')
    for s in xt:
        out.append(f'<line x1="{x(s):.1f}" x2="{x(s):.1f}" y1="{top + ph}" y2="{top + ph + 5}" stroke="#444"/>')
        out.append(f'<text x="{x(s):.1f}" y="{top + ph + 20}" text-anchor="middle" fill="#444">{number(s)}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#444"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#444"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle" fill="#222">training step</text>')
    out.append(f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#222">loss</text>')
    if marker_step:
        mx = x(marker_step)
        out.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + ph}" stroke="#888" stroke-dasharray="5 4"/>')
        out.append(f'<text x="{mx + 6:.1f}" y="{top + 14}" fill="#555">{marker_label}</text>')
    points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(steps, loss))
    out.append(f'<polyline points="{points}" fill="none" stroke="#1f6fb4" stroke-width="1.6"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: lesson-training.py SITE_DIR")
    lesson = pathlib.Path(sys.argv[1]) / LESSON
    if not (lesson / "index.html").exists():
        fail(f"{lesson / 'index.html'} is missing")
    media = lesson / "media"
    media.mkdir(parents=True, exist_ok=True)
    facts = {}
    for name in MODELS:
        card, steps, loss = read_model(name)
        t, val = card["training"], card.get("metrics", {}).get("val_pipeline", {})
        parent = t.get("init_from", {}).get("steps")
        svg = loss_svg(f"{name}: loss while training", steps, loss, parent,
                       f"fine-tuning from step {parent:,}" if parent else "")
        (media / f"loss-{name}.svg").write_text(svg, encoding="utf-8")
        key = name.replace("nuclei-", "")
        facts.update({
            f"{key}-steps": f"{t['steps']:,}",
            f"{key}-parameters": f"{t['parameters']:,}",
            f"{key}-loss-first": f"{loss[0]:.2f}",
            f"{key}-loss-last": f"{loss[-1]:.2f}",
            f"{key}-ap50": f"{val['ap50']:.3f}" if "ap50" in val else "not measured",
            f"{key}-dsb": f"{val['dsb']:.3f}" if "dsb" in val else "not measured",
            f"{key}-val-images": str(val.get("images", "?")),
            f"{key}-finetune": (f" The dashed line is where training was continued (fine-tuned) from the model of step "
                                f"{parent:,}, with smaller nudges." if parent else ""),
        })
        if name == "nuclei-flow":
            facts.update({"batch": str(t["batch"]), "crop": str(t["crop"]), "diameter": f"{card['diameter']:g}"})
    fill_facts(lesson / "index.html", facts, "lesson-training")
    print(f"lesson-training: {len(MODELS)} loss curves -> {media}")


if __name__ == "__main__":
    main()
