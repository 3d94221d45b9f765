"""The README's "From PyTorch" example runs as written."""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_readme_example_runs(capsys):
    text = open(os.path.join(ROOT, "README.md")).read()
    block = re.search(r"## From PyTorch.*?```python\n(.*?)```", text, re.S)
    assert block, "README has no Python example under 'From PyTorch'"
    exec(compile(block.group(1), "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.strip()
    assert 0.0 <= float(printed) <= 1.0
