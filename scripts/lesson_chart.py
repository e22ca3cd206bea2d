"""Plain SVG charts for the lesson scripts (lesson-training.py, lesson-measuring.py): no script and no
style sheet, which the site's Content Security Policy allows neither inline. Standard library only."""
import math


def nice_ticks(top, count=5):
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten."""
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def number(v):
    return f"{v:,.0f}" if v >= 1 or v == 0 else f"{v:.1f}"


class Chart:
    """A 640 x 300 chart: a title, y grid lines with labels, x ticks with labels and both axes named,
    both running from 0 to their last tick. `x(v)` and `y(v)` map values to the drawing; add marks
    with `add`, then `svg()` gives the file's text."""

    def __init__(self, title, x_top, y_top, x_name, y_name, y_format="{:.1f}"):
        w, h = 640, 300
        left, right, top, bottom = 64, 40, 36, 48
        pw, ph = w - left - right, h - top - bottom
        xt, yt = nice_ticks(x_top), nice_ticks(y_top)
        self.x = lambda v: left + pw * v / xt[-1]
        self.y = lambda v: top + ph * (1 - v / yt[-1])
        self.left, self.top, self.pw, self.ph = left, top, pw, ph
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
               f'font-family="sans-serif" font-size="13">',
               f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
               f'<text x="{left}" y="22" font-size="15" font-weight="bold" fill="#222">{title}</text>']
        for v in yt:
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{self.y(v):.1f}" y2="{self.y(v):.1f}" stroke="#e3e3e3"/>')
            out.append(f'<text x="{left - 8}" y="{self.y(v) + 4:.1f}" text-anchor="end" fill="#444">{y_format.format(v)}</text>')
        for v in xt:
            out.append(f'<line x1="{self.x(v):.1f}" x2="{self.x(v):.1f}" y1="{top + ph}" y2="{top + ph + 5}" stroke="#444"/>')
            out.append(f'<text x="{self.x(v):.1f}" y="{top + ph + 20}" text-anchor="middle" fill="#444">{number(v)}</text>')
        out.append(f'<text x="{left + pw / 2}" y="{h - 8}" text-anchor="middle" fill="#222">{x_name}</text>')
        out.append(f'<text transform="translate(16 {top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#222">{y_name}</text>')
        self.out = out

    def add(self, element):
        self.out.append(element)

    def svg(self):
        # The axes last, over whatever was drawn.
        left, top, pw, ph = self.left, self.top, self.pw, self.ph
        axes = [f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#444"/>',
                f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#444"/>']
        return "\n".join(self.out + axes + ["</svg>"]) + "\n"
