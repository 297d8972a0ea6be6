"""The README's two set-up commands are what CI runs, so the front door is tested."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- setup-commands:.*?-->\s*```bash\n(.*?)```", text, re.S)
    assert block, "README.md lost its marked set-up block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands():
    install, test = readme_setup_commands()
    assert "pip install" in install and "pytest" in test


def test_ci_runs_the_readme_commands_verbatim():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    install, test = readme_setup_commands()
    assert install in ci_lines
    assert any(line.startswith(test) for line in ci_lines)
