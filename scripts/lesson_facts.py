"""What every lesson script does with its page: finds it in the assembled site (lesson_dirs) and
writes the numbers it quotes into it (fill_facts): each element marked data-fact="key" gets the text
made for that key, so the text always matches the figures and models it describes."""
import pathlib
import re
import sys


def lesson_dirs(lesson, who):
    """The lesson's folder in the site named by the script's one argument, and its media/ folder
    (made if missing). Exits with the usage line, or a message naming `who` when the site has no page
    for the lesson (the figures would go where no page shows them)."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: {who}.py SITE_DIR")
    folder = pathlib.Path(sys.argv[1]) / lesson
    if not (folder / "index.html").exists():
        sys.exit(f"{who}: {folder / 'index.html'} is missing")
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    return folder, media


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
