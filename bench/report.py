#!/usr/bin/env python3
"""Turn the result lines of the benchmark programs into Markdown and SVG.

    report.py RESULTS.tsv OUT_DIR MODE COMMAND SECONDS > report.md

RESULTS.tsv contains the R, M and P lines that bench/bench.h describes. The
report lists every comparison with the ratio's median, minimum and maximum
over the rounds and states by how much a target is missed. It draws one SVG
per section (ratios with their min-max range against the target) and one
of latency against fleet size, into OUT_DIR as <section>-<MODE>.svg.
"""
import html
import os
import platform
import subprocess
import sys
import time


def lscpu_field(name):
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def read_results(path):
    ratios, metrics, points = [], [], []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "R" and len(fields) == 14:
                ratios.append({
                    "section": fields[1], "case": fields[2],
                    "variant": fields[3], "baseline": fields[4],
                    "host": fields[5], "unit": fields[6],
                    "base": float(fields[7]), "value": float(fields[8]),
                    "median": float(fields[9]), "min": float(fields[10]),
                    "max": float(fields[11]), "target": float(fields[12]),
                    "rounds": int(fields[13])})
            elif fields[0] == "M" and len(fields) >= 6:
                metrics.append({
                    "section": fields[1], "metric": fields[2],
                    "host": fields[3], "unit": fields[4],
                    "value": float(fields[5]),
                    "note": fields[6] if len(fields) > 6 else ""})
            elif fields[0] == "P" and len(fields) == 6:
                points.append({
                    "plot": fields[1], "series": fields[2], "host": fields[3],
                    "x": float(fields[4]), "y": float(fields[5])})
    return ratios, metrics, points


def verdict(r):
    if r["target"] <= 0:
        return ""
    if r["median"] <= r["target"]:
        return "met"
    return "missed by %.0f %%" % ((r["median"] / r["target"] - 1.0) * 100.0)


def ratio_table(rows):
    out = ["| case | host | variant | baseline | baseline | variant | "
           "ratio (min-max) | target | |",
           "|---|---|---|---|---:|---:|---|---:|---|"]
    for r in rows:
        out.append("| %s | %s | %s | %s | %.2f %s | %.2f %s | "
                   "**%.2fx** (%.2f-%.2f) | %s | %s |" % (
                       r["case"], r["host"], r["variant"], r["baseline"],
                       r["base"], r["unit"], r["value"], r["unit"],
                       r["median"], r["min"], r["max"],
                       "%.2fx" % r["target"] if r["target"] > 0 else "",
                       verdict(r)))
    return "\n".join(out)


def metric_table(rows):
    out = ["| metric | host | value | unit | note |", "|---|---|---:|---|---|"]
    for m in rows:
        out.append("| %s | %s | %.2f | %s | %s |" % (
            m["metric"], m["host"], m["value"], m["unit"], m["note"]))
    return "\n".join(out)


def svg_ratios(rows, title):
    """Draw horizontal bars on a log scale: from 1.0 to the median ratio, a
    whisker from min to max, and the target as a red tick, one bar per case
    and host."""
    import math
    bar, gap, left, width = 16, 6, 330, 420
    top = 40
    height = top + len(rows) * (bar + gap) + 40
    vmin = 0.5
    vmax = max([r["max"] for r in rows] + [r["target"] for r in rows] + [2.0])
    vmax = min(vmax * 1.1, 20.0)

    def x(v):
        v = min(max(v, vmin), vmax)
        return left + math.log(v / vmin) / math.log(vmax / vmin) * width

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="11">' % (left + width + 40,
                                                            height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="20" font-size="14">%s</text>' % html.escape(title)]
    for i, r in enumerate(rows):
        y = top + i * (bar + gap)
        label = "%s, %s (%s)" % (r["case"], r["variant"], r["host"])
        color = "#4a7ebb" if r["host"] == "sqlite" else "#d08c2c"
        x0, x1 = sorted((x(1.0), x(r["median"])))
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (
            left - 6, y + bar - 4, html.escape(label)))
        parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" '
                     'fill="%s"/>' % (x0, y, max(x1 - x0, 1.0), bar, color))
        parts.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" '
                     'stroke="black"/>' % (x(r["min"]), x(r["max"]),
                                           y + bar // 2, y + bar // 2))
        parts.append('<text x="%.1f" y="%d">%.2fx</text>' % (
            max(x(r["max"]), x(r["median"])) + 4, y + bar - 4, r["median"]))
        if r["target"] > 0:
            parts.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" '
                         'stroke="red" stroke-width="2"/>' % (
                             x(r["target"]), x(r["target"]), y - 2,
                             y + bar + 2))
    axis_y = top + len(rows) * (bar + gap) + 5
    parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (
        left, left + width, axis_y, axis_y))
    for tick in (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0):
        if tick > vmax:
            break
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%gx</text>'
                     % (x(tick), axis_y + 14, tick))
    parts.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="gray" '
                 'stroke-dasharray="3,3"/>' % (x(1.0), x(1.0), top - 4,
                                               axis_y))
    parts.append('<text x="%d" y="%d">log scale. Blue: SQLite 3.40, orange: '
                 'SQLCipher 3.4.1. Bar: median ratio of the rounds, line: '
                 'their min-max, red: target.</text>' % (10, axis_y + 30))
    parts.append("</svg>")
    return "\n".join(parts)


def svg_lines(points, title, xlabel, ylabel):
    """Draw one polyline per series and host, x on a log scale."""
    import math
    left, top, width, height = 70, 40, 520, 300
    series = {}
    for p in points:
        series.setdefault((p["series"], p["host"]), []).append((p["x"], p["y"]))
    xs = [p["x"] for p in points]
    ys = [p["y"] for p in points]
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    if x1 == x0:
        x1 = x0 + 1
    y1 = max(ys) * 1.1

    def px(v):
        return left + (math.log10(v) - x0) / (x1 - x0) * width

    def py(v):
        return top + height - v / y1 * height

    colors = ["#4a7ebb", "#d08c2c", "#3a9a5b", "#b0413e", "#7b5ea7",
              "#888888", "#2aa1b3", "#c4a000", "#5c3566", "#204a87",
              "#8f5902", "#4e9a06"]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="11">' % (
                 left + width + 300, top + height + 60),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="20" font-size="14">%s</text>' % html.escape(title),
             '<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (
                 left, left + width, top + height, top + height),
             '<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (
                 left, left, top, top + height),
             '<text x="%d" y="%d" text-anchor="middle">%s</text>' % (
                 left + width // 2, top + height + 35, html.escape(xlabel)),
             '<text x="15" y="%d" transform="rotate(-90 15 %d)" '
             'text-anchor="middle">%s</text>' % (
                 top + height // 2, top + height // 2, html.escape(ylabel))]
    for v in sorted(set(xs)):
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (
            px(v), top + height + 15, v))
    for i in range(5):
        v = y1 * i / 4
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (
            left - 4, py(v) + 4, v))
    for i, (key, pts) in enumerate(sorted(series.items())):
        pts.sort()
        color = colors[i % len(colors)]
        dash = "" if key[1] == "sqlite" else ' stroke-dasharray="5,3"'
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2"%s '
                     'points="%s"/>' % (color, dash, " ".join(
                         "%.1f,%.1f" % (px(a), py(b)) for a, b in pts)))
        parts.append('<text x="%d" y="%d" fill="%s">%s (%s)</text>' % (
            left + width + 10, top + 12 * i + 10, color,
            html.escape(key[0]), key[1]))
    parts.append('<text x="%d" y="%d">solid: SQLite 3.40, dashed: SQLCipher '
                 '3.4.1</text>' % (left, top + height + 52))
    parts.append("</svg>")
    return "\n".join(parts)


SECTIONS = [
    ("isolation", "1. Isolation: virtual tables against a hand-written filter"),
    ("dedicated", "2. Dedicated placement: a Sapphire session against plain "
                  "SQLite"),
    ("vfs", "3. The tenant VFS against the default VFS"),
    ("open", "4. Opening a session"),
    ("fleet", "5. Fleet size"),
    ("memory", "6. Memory"),
]


def main():
    path, out_dir, mode, command, seconds = sys.argv[1:6]
    ratios, metrics, points = read_results(path)
    print("# Benchmark report (%s)\n" % mode)
    print("- command: `%s` (%s s)" % (command, seconds))
    print("- date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print("- machine: %s, %s CPUs (lscpu), %s, Linux %s" % (
        lscpu_field("Model name"), lscpu_field("CPU(s)"),
        lscpu_field("Hypervisor vendor") + " guest"
        if lscpu_field("Hypervisor vendor") != "unknown" else "bare metal",
        platform.release()))
    print("- hosts: SQLite 3.40 (sqlite host), SQLCipher 3.4.1 = SQLite "
          "3.15.2 (sqlcipher host, placements encrypted)")
    print("- rounds per comparison: %s\n" % (
        ratios[0]["rounds"] if ratios else "none"))
    for key, title in SECTIONS:
        rows = [r for r in ratios if r["section"] == key]
        mets = [m for m in metrics if m["section"] == key]
        if not rows and not mets:
            continue
        print("## %s\n" % title)
        if rows:
            print(ratio_table(rows) + "\n")
            name = "%s-%s.svg" % (key, mode)
            with open(os.path.join(out_dir, name), "w") as f:
                f.write(svg_ratios(rows, title))
            print("![%s](%s)\n" % (title, name))
        if mets:
            print(metric_table(mets) + "\n")
        pts = [p for p in points if p["plot"] == key]
        if pts:
            name = "%s-latency-%s.svg" % (key, mode)
            with open(os.path.join(out_dir, name), "w") as f:
                f.write(svg_lines(pts, "One customer's latency against fleet "
                                  "size", "customers in the fleet",
                                  "microseconds (median of rounds)"))
            print("![latency against fleet size](%s)\n" % name)


if __name__ == "__main__":
    main()
