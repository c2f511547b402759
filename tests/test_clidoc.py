"""docs/reference/cli.md is every command's ``--help``, as click renders it today."""

from __future__ import annotations

from click.testing import CliRunner

from grader import clidoc
from grader.cli import main
from tests.helpers import REPO

PAGE = REPO / "docs" / "reference" / "cli.md"


def test_the_cli_reference_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == clidoc.render(), (
        f"{PAGE.relative_to(REPO)} differs from the commands' help: run `make docs` "
        "(or `python -m grader.clidoc docs/reference/cli.md`) and commit it"
    )


def test_the_reference_holds_each_command_as_help_prints_it() -> None:
    """The page is what ``grader COMMAND --help`` prints at the page's width."""
    page = clidoc.render()
    for name in main.commands:
        printed = CliRunner().invoke(
            main, [name, "--help"], prog_name="grader", terminal_width=clidoc.WIDTH
        )
        assert printed.exit_code == 0
        assert f"## grader {name}\n\n```text\n{printed.output}" in page, name
