"""Run the command line in-process for a test: exit code, standard output, standard error."""

from __future__ import annotations

import pytest

from precisionrx.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``precisionrx ARGS`` through :func:`precisionrx.cli.main`; a normal return is exit 0."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
