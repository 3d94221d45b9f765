"""Helpers shared by the side-by-side bench scripts: the mean ± std cell and the BENCHMARKS.md
block between a script's markers."""
import os
import statistics


def fmt(xs, d=4):
    """`mean ± std` of the finite results (`diverged` when there is none)."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "diverged"
    s = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.{d}f} ± {s:.{d}f}"


def write_block(path, name, script, heading, table):
    """Replaces the text between `<!-- NAME:start (SCRIPT; do not edit) -->` and
    `<!-- NAME:end -->` in `path` with `table`, or appends a `## HEADING` section with it."""
    start, end = f"<!-- {name}:start ({script}; do not edit) -->", f"<!-- {name}:end -->"
    text = open(path).read() if os.path.exists(path) else ""
    block = f"{start}\n{table}\n{end}"
    if start in text:
        a, b = text.index(start), text.index(end) + len(end)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    open(path, "w").write(text)
