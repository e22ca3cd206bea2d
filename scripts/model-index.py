#!/usr/bin/env python3
"""Writes DIR/index.json for the page's model picker: the model cards in DIR (files *.json that are
cards: they have "format", "name" and "onnx"), sorted by name, with what the picker shows and the
defaults of its parameters. Usage: model-index.py DIR"""
import json
import os
import sys

folder = sys.argv[1]
models = []
# Sorted by model name (not file name, where '-' sorts before '.': nuclei-star-tta before nuclei-star).
for name in sorted((n for n in os.listdir(folder) if n.endswith('.json')), key=lambda n: n[:-len('.json')]):
    if name == 'index.json':
        continue
    try:
        with open(os.path.join(folder, name), encoding='utf-8') as f:
            card = json.load(f)
    except (OSError, ValueError):
        continue  # not a card (a loss curve, say), or unreadable: the app cannot use it either
    if not isinstance(card, dict) or not {'format', 'name', 'onnx'} <= card.keys():
        continue
    models.append({
        'name': name[:-len('.json')],  # the page fetches <name>.json
        'kind': card.get('kind', ''),
        'diameter': card.get('diameter', 0),
        'thresholds': card.get('thresholds', {}),
    })
with open(os.path.join(folder, 'index.json'), 'w', encoding='utf-8') as f:
    json.dump({'models': models}, f, indent=1)
    f.write('\n')
