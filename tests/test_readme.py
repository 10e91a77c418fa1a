"""Every Python example in the README and in docs/codecs.md runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE_PAGES = (README, ROOT / "docs" / "codecs.md")


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    lines = [ln.split("#")[0].strip() for ln in first_block.strip().splitlines()]
    assert lines == ["make demo", "make test"]


@pytest.mark.parametrize(
    ("page", "block"),
    [
        (page.name, block)
        for page in EXAMPLE_PAGES
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    ],
)
def test_python_examples_run(page, block, capsys):
    exec(compile(block, page, "exec"), {})
    out = capsys.readouterr().out
    assert out.strip()
