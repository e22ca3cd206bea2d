"""Writes the numbers a lesson quotes into its page, for the lesson scripts (lesson-figures.py,
lesson-training.py): each element marked data-fact="key" gets the text made for that key, so the
text always matches the figures and models it describes."""
import re
import sys


def fill_facts(page, facts, who):
    """Replaces the content of every <span>, <div> or <td> with data-fact="key" by facts[key]. Exits
    with a message naming `who` when a fact has no element or an element asks for an unknown fact."""
    text = page.read_text(encoding="utf-8")
    for key, value in facts.items():
        pattern = re.compile(rf'(<(span|div|td)[^>]*\sdata-fact="{key}"[^>]*>)(.*?)(</\2>)', re.S)
        text, n = pattern.subn(lambda m: m.group(1) + value + m.group(4), text)
        if n == 0:
            sys.exit(f'{who}: {page} has no data-fact="{key}" element')
    unfilled = [k for k in re.findall(r'data-fact="([^"]+)"', text) if k not in facts]
    if unfilled:
        sys.exit(f"{who}: {page} asks for facts this script does not make: {unfilled}")
    page.write_text(text, encoding="utf-8")
