"""The README's two set-up commands are what CI runs, so the front door is tested; its layout
section names every module the packages have."""

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


def test_the_layout_section_names_every_module_of_every_package():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = re.search(r"## Layout\n.*?```\n(.*?)```", text, re.S)
    assert layout, "README.md lost its layout block"
    missing = []
    for package in ("transformer_tf", "lstm_tf", "pipeline"):
        block = re.search(rf"^{package}/(.*?)(?=^\S)", layout.group(1), re.S | re.M)
        assert block, f"the layout block has no {package}/ entry"
        named = set(re.findall(r"(\w+)\.py", block.group(1)))
        modules = {path.stem for path in (ROOT / package).glob("*.py")} - {"__init__"}
        missing += [f"{package}/{name}.py" for name in sorted(modules - named)]
    assert missing == []
