"""Every command over the malformed-input corpus (tests/corpus): issue 12's acceptance.

For each corpus file, every command that reads its kind (and, for the generic files, every
command) is run on it, with valid files for the other inputs. Whatever the input, a run must:
- end with exit 0 or one of the documented error codes, never 70 (internal error) and never
  a traceback; an error names the file;
- leave nothing behind when it fails (no output file, no temporary file) and never change an
  input;
- write strict JSON (no NaN or Infinity) when it succeeds.
tests/corpus/expected.tsv pins the outcome of particular cases (an exit code, or 0 with a
caveat code that must appear in the output).

Special files (/dev/zero, /dev/urandom, a FIFO) run in a subprocess with a time limit: they
must be refused, not read forever.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from precisionrx.cli import main

CORPUS = Path(__file__).parent / "corpus"
DEMO = Path(__file__).parents[1] / "src" / "precisionrx" / "demo"
SCORE = Path(__file__).parent / "data" / "PGS000001_hmPOS_GRCh38.txt"
INTERNAL = 70
#: Exit codes a run may end with: success, usage error and the error tree (docs/errors.md).
ALLOWED = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 30, 40}

#: Commands per input kind; {f}: the corpus file, {out}: an output file, {dir}: an output
#: folder, {vcf}/{maf}/{cgm}/{patient}/{score}: valid inputs.
COMMANDS: dict[str, list[list[str]]] = {
    "vcf": [
        ["pgx", "{f}", "--quiet", "-o", "{out}"],
        ["prs", "--vcf", "{f}", "{score}", "-o", "{out}"],
        ["tumor", "{f}", "--tumor-type", "LUAD", "-o", "{out}"],
    ],
    "maf": [["tumor", "{f}", "--tumor-type", "LUAD", "-o", "{out}"]],
    "cna": [["tumor", "{maf}", "--tumor-type", "LUAD", "--cna", "{f}", "-o", "{out}"]],
    "fusions": [["tumor", "{maf}", "--tumor-type", "LUAD", "--fusions", "{f}", "-o", "{out}"]],
    "cgm": [
        ["monitor", "metrics", "{f}", "--format", "json", "-o", "{out}"],
        ["monitor", "alerts", "{f}", "-o", "{out}"],
        ["monitor", "agp", "{f}", "-o", "{out}.html"],
    ],
    "vitals": [["monitor", "vitals", "{f}", "-o", "{out}"]],
    "risk": [["risk", "{f}", "--format", "json", "-o", "{out}"]],
    "patient": [["plan", "{f}", "-o", "{dir}"]],
    "scorefile": [["prs", "--vcf", "{vcf}", "{f}", "-o", "{out}"]],
    "medications": [["pgx", "{vcf}", "--quiet", "--medications", "{f}", "-o", "{out}"]],
    "outside": [["pgx", "{vcf}", "--quiet", "--outside-calls", "{f}", "-o", "{out}"]],
}
COMMANDS["generic"] = [c for kind, cs in COMMANDS.items() for c in cs]


def _expected() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for line in (CORPUS / "expected.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rel, command, expect = line.split("\t")[:3]
            out[(rel, command)] = expect
    return out


EXPECTED = _expected()


def _cases() -> Iterator[tuple[str, list[str]]]:
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix == ".py" or path.parent == CORPUS:
            continue
        for template in COMMANDS[path.parent.name]:
            yield path.relative_to(CORPUS).as_posix(), template


def _name(template: list[str]) -> str:
    return " ".join(t for t in template[:2] if not t.startswith(("{", "-")))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strict(text: str) -> object:
    def refuse(token: str) -> object:
        raise ValueError(f"non-finite number {token} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, err.getvalue()


@pytest.mark.parametrize(("rel", "template"), list(_cases()), ids=lambda v: str(v))
def test_corpus(rel: str, template: list[str], tmp_path: Path) -> None:
    work = tmp_path / "in"
    work.mkdir()
    src = work / Path(rel).name
    shutil.copyfile(CORPUS / rel, src)
    valid = {
        "vcf": work / "demo.vcf",
        "maf": work / "tumour.maf",
        "score": work / SCORE.name,
    }
    shutil.copyfile(DEMO / "demo.vcf", valid["vcf"])
    shutil.copyfile(DEMO / "tumour.maf", valid["maf"])
    shutil.copyfile(SCORE, valid["score"])
    before = {p: _sha(p) for p in work.iterdir()}
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "result"
    fill = {"f": str(src), "out": str(out), "dir": str(outdir / "plan")}
    fill.update({k: str(v) for k, v in valid.items()})
    argv = [t.format(**fill) for t in template]
    code, err = _run(argv)
    assert code != INTERNAL, f"internal error on {rel}: {err}"
    assert code in ALLOWED, (code, err)
    assert "Traceback" not in err, err
    if code != 0 and code != 2:
        assert src.name in err or any(p.name in err for p in work.iterdir()), (
            f"the error does not name the file: {err}"
        )
    # Nothing partial: a failed run leaves no file; no run leaves a temporary file.
    written = [p for p in outdir.rglob("*") if p.is_file()]
    if code != 0:
        assert written == [], f"files left by a failed run: {written}"
    assert not [p for p in written if p.name.startswith(".") or p.suffix == ".tmp"], written
    # Inputs are never changed.
    assert {p: _sha(p) for p in before} == before
    # Success: strict JSON where JSON was written.
    texts = []
    for p in written:
        if p.suffix in {".json", ""} and p.stat().st_size:
            text = p.read_text()
            if text.lstrip().startswith(("{", "[")):
                _strict(text)
                texts.append(text)
    want = EXPECTED.get((rel, _name(template)))
    if want is None:
        return
    expect_code, _, caveat = want.partition("+")
    assert code == int(expect_code), f"{rel} with {_name(template)}: exit {code}, {err}"
    if caveat:
        assert any(caveat in t for t in texts), f"no {caveat} in the output of {rel}"


# ---------------------------------------------------------------- special files


def _subprocess(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRIMARY = [
    ["pgx", "{f}", "--quiet"],
    ["prs", "--vcf", "{f}", "{score}"],
    ["tumor", "{f}", "--tumor-type", "LUAD"],
    ["monitor", "metrics", "{f}"],
    ["monitor", "alerts", "{f}"],
    ["monitor", "vitals", "{f}"],
    ["risk", "{f}"],
    ["plan", "{f}", "-o", "{dir}"],
    ["pgx", "{vcf}", "--quiet", "--medications", "{f}"],
    ["pgx", "{vcf}", "--quiet", "--outside-calls", "{f}"],
]


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo", "directory", "absent"])
@pytest.mark.parametrize("template", PRIMARY, ids=lambda t: " ".join(t[:3]))
def test_special_files_are_refused(
    special: str, template: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if special == "fifo":
        target = str(request.getfixturevalue("fifo"))
    elif special == "directory":
        target = str(tmp_path)
    elif special == "absent":
        target = str(tmp_path / "no-such-file.txt")
    else:
        target = special
    fill = {
        "f": target,
        "vcf": str(DEMO / "demo.vcf"),
        "score": str(SCORE),
        "dir": str(tmp_path / "plan-out"),
    }
    argv = [t.format(**fill) for t in template]
    if special in {"/dev/zero", "/dev/urandom", "fifo"}:
        proc = _subprocess(argv)  # a hang fails the test through the timeout
        code, err = proc.returncode, proc.stderr
    else:
        code, err = _run(argv)
    assert code not in {0, INTERNAL}, err
    assert "Traceback" not in err
    assert target in err or Path(target).name in err, err
    if special in {"/dev/zero", "/dev/urandom", "fifo"}:
        assert "regular file" in err, err
    elif special == "directory":
        assert "directory" in err, err
    else:
        assert "not found" in err, err
    assert not (tmp_path / "plan-out").exists() or not any((tmp_path / "plan-out").iterdir())
