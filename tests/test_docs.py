"""The README's numbers come from docs/RESULTS.md, where each has the command that produced it."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_measured_number_in_the_readme_is_in_results():
    readme = (REPO / "README.md").read_text()
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)  # config examples are settings, not results
    prose = re.sub(r"\]\([^)]*\)", "]", prose)  # links (arXiv numbers)
    prose = re.sub(r"\d+\.\d+\.\d+", "", prose)  # versions (torch 2.14.1)
    results = (REPO / "docs" / "RESULTS.md").read_text()
    missing = [n for n in re.findall(r"\d+\.\d+", prose) if n not in results]
    assert not missing, f"README numbers without a source in docs/RESULTS.md: {missing}"


def test_the_readme_stays_short_and_names_the_ci_test_command():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make test" in readme and "make test" in (REPO / ".ci" / "run").read_text()
