#!/usr/bin/python3
"""Makes the figures and numbers of the lesson "How a network learns to find nuclei" at site-assembly time.

    /usr/bin/python3 scripts/lesson-training.py SITE_DIR

Everything comes from the shipped models themselves: each model's loss curve (models/<name>.loss.json,
written by models/train/train.py while it trained) is drawn as an SVG, and the numbers the lesson
quotes (steps, parameters, crops, validation scores) are read from the model cards and written into
the page, so the text always matches the models the app ships. Standard library only.
"""
import json
import pathlib
import sys

from lesson_chart import Chart  # beside this script
from lesson_facts import fill_facts, lesson_dirs

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


def loss_svg(title, steps, loss, marker_step=None, marker_label=""):
    """A line chart of loss against training step."""
    chart = Chart(title, steps[-1], max(loss), "training step", "loss")
    x, y = chart.x, chart.y
    if marker_step:
        mx = x(marker_step)
        chart.add(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{chart.top}" y2="{chart.top + chart.ph}" stroke="#888" stroke-dasharray="5 4"/>')
        chart.add(f'<text x="{mx + 6:.1f}" y="{chart.top + 14}" fill="#555">{marker_label}</text>')
    points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(steps, loss))
    chart.add(f'<polyline points="{points}" fill="none" stroke="#1f6fb4" stroke-width="1.6"/>')
    return chart.svg()


def main():
    lesson, media = lesson_dirs(LESSON, "lesson-training")
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
