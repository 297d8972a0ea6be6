"""The README's two set-up commands are what CI runs, so the front door is tested; its layout
section names every module the packages have; it stays short enough to read in ten minutes;
and every relative link of the README and the guides leads to a file and heading that exist."""

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


PACKAGES = ("transformer_tf", "lstm_tf", "pipeline", "cli_common")
DOCUMENTS = ("README.md", "docs/*.md", "notebooks/README.md", "checkpoints/README.md")
FRONT_PAGE_MAX_LINES = 400


def test_the_layout_section_names_every_module_of_every_package():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = re.search(r"## Layout\n.*?```\n(.*?)```", text, re.S)
    assert layout, "README.md lost its layout block"
    missing = []
    for package in PACKAGES:
        block = re.search(rf"^{package}/(.*?)(?=^\S)", layout.group(1), re.S | re.M)
        assert block, f"the layout block has no {package}/ entry"
        named = set(re.findall(r"(\w+)\.py", block.group(1)))
        modules = {path.stem for path in (ROOT / package).glob("*.py")} - {"__init__"}
        missing += [f"{package}/{name}.py" for name in sorted(modules - named)]
    assert missing == [], "name these modules in README.md's layout block, under their package"


def test_the_front_page_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < FRONT_PAGE_MAX_LINES, "move detail to the package guides in docs/"


def heading_anchors(markdown):
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = sum(anchor == slug or anchor.startswith(f"{slug}-") for anchor in anchors)
        anchors.add(slug if slug not in anchors else f"{slug}-{count}")
    return anchors


def relative_links(markdown):
    """(target, anchor) of each Markdown link or image that does not leave the repository."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z]+:", target):
            path, _, anchor = target.partition("#")
            yield path, anchor


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    broken = []
    documents = [path for pattern in DOCUMENTS for path in sorted(ROOT.glob(pattern))]
    assert len(documents) >= 5, "the README, its guides in docs/ and the folder READMEs"
    for document in documents:
        for path, anchor in relative_links(document.read_text(encoding="utf-8")):
            target = (document.parent / path).resolve() if path else document
            where = f"{document.relative_to(ROOT)}: {path}#{anchor}"
            if not target.exists():
                broken.append(where)
            elif anchor and anchor not in heading_anchors(target.read_text(encoding="utf-8")):
                broken.append(where)
    assert broken == []


def test_heading_anchors_follow_github():
    headings = "# The English→Spanish translator\n## The explorer: `attention.html`\n## Speed\n## Speed\n"
    assert heading_anchors(headings) == {
        "the-englishspanish-translator",
        "the-explorer-attentionhtml",
        "speed",
        "speed-1",
    }
