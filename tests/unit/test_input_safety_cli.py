"""Issue 12, input safety at the command line: safe writes (exit 9, all files or none, never an
input overwritten), checked option values (usage errors with a suggestion), only medication
lists as --medications, special files as inputs, and outside calls the knowledge base knows.

Tests run as root here, so directory permissions do not stop a write: the read-only case uses
/proc and /sys (read-only file systems) and a monkeypatched rename/temporary file.
"""

from __future__ import annotations

import difflib
import errno
import os
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from precisionrx.cli import main
from precisionrx.errors import InputError, OutputPathError, OutsideCallError
from precisionrx.kb.registry import KnowledgeBase
from testkit.synthetic import VcfBuilder

USAGE = 2
FIXTURE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )


def invoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def usage_error(code: int, err: str, option: str) -> None:
    assert code == USAGE, err
    assert "Usage: precisionrx" in err and option in err
    assert "Traceback" not in err and "please report" not in err


@pytest.fixture(scope="module")
def vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vcf")
    b = VcfBuilder(KnowledgeBase(), samples=["NA1"])
    b.haplotypes("CYP2C19", "*1", "*2", phased=False)
    return b.write(folder / "s.vcf")


@pytest.fixture
def patient(tmp_path: Path) -> Path:
    from importlib import resources

    demo = Path(str(resources.files("precisionrx.demo")))
    text = (demo / "patient.yaml").read_text()
    # the demo patient's relative input files stay where they are
    out = tmp_path / "patient.yaml"
    out.write_text(text)
    for f in demo.iterdir():
        if f.is_file() and f.name != "patient.yaml" and not f.name.startswith("__"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    return out


# ---------------------------------------------------------------- (a) safe writes


def test_plan_writes_nothing_when_plan_html_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "plan.html").mkdir(parents=True)  # a directory where plan.html must go
    proc = run("demo", "-o", str(out))
    assert proc.returncode == OutputPathError.exit_code, proc.stderr
    assert "plan.html" in proc.stderr and "directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["plan.html"]  # no plan.json left
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_write_all_atomic_rolls_back_a_failed_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only target (simulated: root ignores permissions): nothing new is left, and a file
    replaced in the same call is put back."""
    from precisionrx.report import output

    old = tmp_path / "plan.json"
    old.write_text("old plan\n")
    real = Path.replace

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).name == "plan.html":
            raise PermissionError(errno.EROFS, "Read-only file system", str(target))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(OutputPathError) as info:
        output.write_all_atomic({old: "new plan\n", tmp_path / "plan.html": "<html>"})
    assert "plan.html" in str(info.value) and "read-only" in str(info.value)
    assert old.read_text() == "old plan\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_unwritable_temporary_file_is_an_output_path_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from precisionrx.report import output

    def mkstemp(*_a: object, **_k: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkstemp", mkstemp)
    with pytest.raises(OutputPathError) as info:
        output.write_atomic(tmp_path / "x.json", "{}")
    assert "permission denied" in str(info.value) and "x.json" in str(info.value)


BAD_OUTPUTS = [
    ("/proc/precisionrx-test/out.json", "cannot be"),  # read-only pseudo file system
    ("/sys/precisionrx-test.json", "cannot be"),
    ("/dev/full", "no space left on device"),  # a stream: the write itself fails
]


@pytest.mark.parametrize(("path", "problem"), BAD_OUTPUTS)
def test_special_and_read_only_outputs(
    path: str, problem: str, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(["pgx", str(vcf), "--genotypes-only", "-o", path], capsys)
    assert code == OutputPathError.exit_code, err
    assert path in err and problem in err and "PRX-INT" not in err
    assert Path("/dev/null").is_char_device()


def test_streams_are_written_in_place(vcf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # /dev/null and FIFOs are written as streams (a file renamed over /dev/null would replace
    # the device); the device stays a device.
    main(["pgx", str(vcf), "--genotypes-only", "-o", "/dev/null"])  # no SystemExit: success
    assert "wrote /dev/null" in capsys.readouterr().err
    assert Path("/dev/null").is_char_device()


def test_symlinked_output_replaces_the_target_not_the_link(
    tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    main(["pgx", str(vcf), "--genotypes-only", "-o", str(link)])
    assert link.is_symlink() and target.read_text().startswith("{")


@given(
    kind=st.sampled_from(["directory", "long", "parent-file", "proc"]),
    name=st.text(string.ascii_letters, min_size=1, max_size=12),
)
@FIXTURE
def test_output_path_problems_exit_9(
    kind: str, name: str, tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = vcf.read_bytes()
    if kind == "directory":
        out = tmp_path / f"d{name}"
        out.mkdir(exist_ok=True)
    elif kind == "long":
        out = tmp_path / (name * (300 // len(name) + 1))
    elif kind == "parent-file":
        out = vcf / name / "out.json"
    else:
        out = Path("/proc") / name / "out.json"
    code, _, err = invoke(["pgx", str(vcf), "--genotypes-only", "-o", str(out)], capsys)
    assert code == OutputPathError.exit_code, err
    assert "PRX-IN-007" in err and "Traceback" not in err
    assert vcf.read_bytes() == before


@given(via=st.sampled_from(["same", "symlink", "dotted", "hardlink"]))
@FIXTURE
def test_output_equal_to_an_input_is_refused_before_running(
    via: str, tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meds = tmp_path / "meds.txt"
    meds.write_text("clopidogrel\n")
    before = (meds.read_bytes(), meds.stat().st_mtime_ns)
    out = {
        "same": meds,
        "symlink": tmp_path / "link.txt",
        "dotted": tmp_path / "." / ".." / tmp_path.name / "meds.txt",
        "hardlink": tmp_path / "hard.txt",
    }[via]
    if via == "symlink" and not out.exists():
        out.symlink_to(meds)
    if via == "hardlink" and not out.exists():
        os.link(meds, out)
    code, _, err = invoke(["pgx", str(vcf), "--medications", str(meds), "-o", str(out)], capsys)
    assert code == OutputPathError.exit_code, err
    assert "is also an input" in err and str(out) in err
    assert (meds.read_bytes(), meds.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    "args",
    [
        ["risk", "{in}", "-o", "{in}"],
        ["prs", "{in}", "--vcf", "{vcf}", "-o", "{vcf}"],
        ["tumor", "{in}", "-o", "{in}"],
        ["monitor", "metrics", "{in}", "-o", "{in}"],
        ["monitor", "alerts", "{in}", "-o", "{in}"],
        ["monitor", "agp", "{in}", "-o", "{in}"],
        ["monitor", "vitals", "{in}", "-o", "{in}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_command_refuses_to_overwrite_an_input(
    args: list[str], tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "input.txt"
    src.write_text("precious\n")
    copy = tmp_path / "copy.vcf"
    copy.write_bytes(vcf.read_bytes())
    argv = [a.format(**{"in": src, "vcf": copy}) for a in args]
    code, _, err = invoke(argv, capsys)
    assert code == OutputPathError.exit_code, err
    assert src.read_text() == "precious\n" and copy.read_bytes() == vcf.read_bytes()


def test_plan_refuses_an_output_folder_holding_its_input(
    patient: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = patient.parent / "plan.json"
    target.symlink_to(patient)  # plan.json in the output folder *is* the patient file
    before = patient.read_bytes()
    code, _, err = invoke(["plan", str(patient), "-o", str(patient.parent)], capsys)
    assert code == OutputPathError.exit_code, err
    assert patient.read_bytes() == before


def test_agp_png_pages_are_written_all_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from precisionrx.cli import monitor

    monkeypatch.setattr("precisionrx.report.agp_png.agp_png", lambda a, n, c: b"PNG")
    (tmp_path / "agp-b.png").mkdir()  # the second page cannot be written
    agps = [{"subject": "a"}, {"subject": "b"}, {"subject": "a b"}, {"subject": "a_b"}]
    with pytest.raises(OutputPathError):
        monitor._write_agp_png(agps, [], tmp_path / "agp.png", "notice")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agp-b.png"]
    (tmp_path / "agp-b.png").rmdir()
    monitor._write_agp_png(agps, [], tmp_path / "agp.png", "notice")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["agp-a.png", "agp-a_b-2.png", "agp-a_b.png", "agp-b.png"]  # none lost


# ---------------------------------------------------------------- (b) --medications


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"##fileformat=VCFv4.2\n#CHROM\tPOS\n", "a VCF, not a medication list"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 1"),
        (b"hello world\nthe quick brown fox\n", "no recognisable medication"),
        (b"id\tdrug\tdose\n1\tx\t2\n", "tab-separated"),
        (b"clopidogrel\n" + b"x" * 5000 + b"\n", "line 2"),
        (b"clopidogrel\n----\n", "line 2"),
    ],
    ids=["vcf", "binary", "random-text", "table", "long-line", "no-name"],
)
def test_medications_reads_only_a_medication_list(
    content: bytes, problem: str, tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meds = tmp_path / "meds.txt"
    meds.write_bytes(content)
    out = tmp_path / "o.json"
    code, _, err = invoke(["pgx", str(vcf), "--medications", str(meds), "-o", str(out)], capsys)
    assert code == InputError.exit_code, err
    assert str(meds) in err and problem in err and "Traceback" not in err
    assert not out.exists()


@given(words=st.lists(st.text(string.ascii_lowercase, min_size=12, max_size=20), min_size=1))
@settings(max_examples=20, deadline=None)
def test_random_words_are_not_a_medication_list(words: list[str]) -> None:
    import tempfile

    from precisionrx.cli.pgx import medication_reader

    pkb = KnowledgeBase().prescribing
    real = pkb.drugs | set(pkb.brands) | {m.drug for m in pkb.modulators}
    assume(not real & set(words))  # hypothesis can spell a real drug name (atorvastatin)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.txt"
        path.write_text("\n".join(words) + "\n")
        with pytest.raises(InputError, match="no recognisable medication"):
            medication_reader(KnowledgeBase())(path)


def test_a_real_medication_list_still_reads(tmp_path: Path) -> None:
    from precisionrx.cli.pgx import medication_reader

    path = tmp_path / "m.txt"
    path.write_text("# current\nPlavix 75 mg daily\n5-FU\nunknownium\n32968\n")
    meds = medication_reader(KnowledgeBase())(path)
    assert [m.name for m in meds] == ["Plavix 75 mg daily", "5-FU", "unknownium", "32968"]


# ---------------------------------------------------------------- (c) option values

KB = KnowledgeBase()
DRUGS = sorted(KB.prescribing.drugs)


def _misspell(draw: st.DrawFn, word: str) -> str:
    i = draw(st.integers(0, len(word) - 1))
    op = draw(st.sampled_from(["drop", "swap", "add"]))
    if op == "drop" and len(word) > 3:
        return word[:i] + word[i + 1 :]
    if op == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + draw(st.sampled_from("qzxj")) + word[i:]


@st.composite
def misspelled_drug(draw: st.DrawFn) -> tuple[str, str]:
    word = draw(st.sampled_from(DRUGS))
    wrong = _misspell(draw, word)
    return word, wrong


@given(pair=misspelled_drug())
@settings(max_examples=30, deadline=None)
def test_misspelled_drug_is_a_usage_error_with_a_suggestion(pair: tuple[str, str]) -> None:
    word, wrong = pair
    names = set(DRUGS) | set(KB.prescribing.brands)
    if wrong.lower() in names:
        return  # the misspelling is another real name
    import io
    from contextlib import redirect_stderr

    buf = io.StringIO()
    with redirect_stderr(buf), pytest.raises(SystemExit) as info:
        main(["pgx", "x.vcf", "--drug", wrong])
    err = buf.getvalue()
    usage_error(int(info.value.code or 0), err, "--drug")
    close = difflib.get_close_matches(wrong.lower(), sorted(names), n=8, cutoff=0.6)
    if word in close[:3]:
        assert "did you mean" in err


ENUMS = [
    (["pgx", "x.vcf", "--format"], ["json", "tsv", "html", "fhir"]),
    (["pgx", "x.vcf", "--genome-build"], ["GRCh37", "GRCh38"]),
    (["prs", "s.txt", "--vcf", "x.vcf", "--format"], ["json", "tsv"]),
    (["risk", "x.csv", "--format"], ["csv", "json"]),
    (["risk", "x.csv", "--models"], ["prevent", "pce_revised", "score2", "qrisk3", "findrisc"]),
    (["tumor", "x.maf", "--msi"], ["MSI-H", "MSI-L", "MSS"]),
    (["tumor", "x.maf", "--tumor-type"], ["LUAD", "COADREAD", "BRCA", "SKCM", "NSCLC"]),
    (["tumor", "x.maf", "--tmb-scheme"], ["coding_and_silent", "missense_only"]),
    (["tumor", "x.maf", "--genome-build"], ["GRCh37", "GRCh38"]),
    (["tumor", "x.maf", "--format"], ["json", "html"]),
    (["monitor", "metrics", "x.csv", "--population"], ["adult", "pregnancy"]),
    (["monitor", "metrics", "x.csv", "--format"], ["csv", "json", "fhir"]),
    (["monitor", "alerts", "x.csv", "--format"], ["json", "csv"]),
    (["monitor", "metrics", "x.csv", "--tz"], ["Europe/London", "America/New_York"]),
    (["plan", "p.yaml", "--format"], ["json", "html", "fhir"]),
]


@st.composite
def misspelled_enum(draw: st.DrawFn) -> tuple[list[str], str, str]:
    prefix, values = draw(st.sampled_from(ENUMS))
    word = draw(st.sampled_from(values))
    return prefix, word, _misspell(draw, word)


@given(case=misspelled_enum())
@settings(max_examples=60, deadline=None)
def test_misspelled_closed_set_values_are_usage_errors(case: tuple[list[str], str, str]) -> None:
    import io
    from contextlib import redirect_stderr

    prefix, word, wrong = case
    _, values = next(e for e in ENUMS if e[0] == prefix)
    if wrong.casefold() in {v.casefold() for v in values} or len(wrong) < 3:
        return
    buf = io.StringIO()
    with redirect_stderr(buf), pytest.raises(SystemExit) as info:
        main([*prefix, wrong])
    err = buf.getvalue()
    code = info.value.code
    if (
        code == 0
        or (isinstance(code, int) and code not in (USAGE,))
        or (err.startswith("error [PRX-") and "Usage:" not in err)
    ):
        # accepted: the misspelling is itself an accepted value (an alias such as hg38, a
        # value with spaces or in another case, another zone); the command then went on to
        # its input (which does not exist here: an input error, whose exit code 2 is shared
        # with usage errors)
        assert "Invalid value" not in err
        return
    usage_error(int(code or 0), err, prefix[-1])
    if difflib.SequenceMatcher(None, wrong.casefold(), word.casefold()).ratio() >= 0.75:
        assert "did you mean" in err


NUMBERS = [
    (["prs", "s.txt", "--vcf", "x.vcf", "--min-overlap"], 0.0, 1.0, True, False),
    (["tumor", "x.maf", "--callable-mb"], 0.0, None, True, False),
    (["tumor", "x.maf", "--msisensor-score"], 0.0, 100.0, False, False),
    (["monitor", "alerts", "x.csv", "--rate"], 0.0, None, True, False),
    (["monitor", "alerts", "x.csv", "--low"], 0.0, 1000.0, True, False),
    (["monitor", "alerts", "x.csv", "--urgent-low"], 55.0, 1000.0, False, False),
    (["monitor", "metrics", "x.csv", "--conga-hours"], 0.0, None, True, False),
    (["monitor", "metrics", "x.csv", "--roc-minutes"], 0.0, None, True, False),
]


@st.composite
def bad_number(draw: st.DrawFn) -> tuple[list[str], str]:
    prefix, low, high, low_open, _ = draw(st.sampled_from(NUMBERS))
    options = [st.sampled_from(["nan", "inf", "-inf", "NaN", "Infinity"])]
    below = st.floats(max_value=low, allow_nan=False, allow_infinity=False)
    if not low_open:
        below = below.filter(lambda x: x < low)
    options.append(below.map(repr))
    if high is not None:
        above = st.floats(min_value=high, allow_nan=False, allow_infinity=False)
        options.append(above.filter(lambda x: x > high).map(repr))
    return prefix, draw(st.one_of(*options))


@given(case=bad_number())
@settings(max_examples=60, deadline=None)
def test_out_of_range_and_non_finite_numbers_are_usage_errors(case: tuple[list[str], str]) -> None:
    import io
    from contextlib import redirect_stderr

    prefix, value = case
    buf = io.StringIO()
    with redirect_stderr(buf), pytest.raises(SystemExit) as info:
        main([*prefix, value])
    usage_error(int(info.value.code or 0), buf.getvalue(), prefix[-1])


def test_integer_options_are_range_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for option in ("--modd-lag", "--mage-short"):
        code, _, err = invoke(["monitor", "metrics", "x.csv", option, "0"], capsys)
        usage_error(code, err, option)


def test_kb_add_name_is_a_closed_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["kb", "add", "civc", "x.tsv"], capsys)
    usage_error(code, err, "civic")
    assert "did you mean 'civic'" in err


# ---------------------------------------------------------------- (d) special files


SPECIAL = ["/dev/zero", "/dev/urandom", "{fifo}", "{dir}", "-"]


@pytest.mark.parametrize("which", SPECIAL)
@pytest.mark.parametrize(
    "argv",
    [
        ["pgx", "{vcf}", "--medications", "{x}"],
        ["pgx", "{vcf}", "--outside-calls", "{x}"],
        ["tumor", "{x}"],
        ["kb", "add", "civic", "{x}"],
    ],
    ids=lambda a: " ".join(a[:1] + a[2:3]),
)
def test_special_files_as_inputs(
    which: str, argv: list[str], tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    x = which.format(fifo=fifo, dir=tmp_path)
    code, _, err = invoke([a.format(vcf=vcf, x=x) for a in argv], capsys)
    assert code not in (0, 70), err
    assert "Traceback" not in err and x in err
    if which == "-":
        assert "not found" in err
    elif which == "{dir}":
        assert "directory" in err and "not found" not in err
    else:
        assert "not a regular file" in err and "not found" not in err


# ---------------------------------------------------------------- (e) outside calls


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("CYP2D7\t*1/*4", "did you mean 'CYP2D6'"),
        ("cyp2d6\t*1/*4", "did you mean 'CYP2D6'"),
        ("CYP2D6\tbanana", "'banana'"),
        ("CYP2D6\t*1/*999", "'*999'"),
        ("CYP2C19\t*1/*2/*3", "one allele or two"),
        ("HLA-B\t*5701/*08:01", "*NN:NN"),
    ],
)
def test_unusable_outside_calls_are_errors(
    line: str, problem: str, tmp_path: Path, vcf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oc = tmp_path / "oc.tsv"
    oc.write_text(f"# outside\n{line}\n")
    code, _, err = invoke(["pgx", str(vcf), "--outside-calls", str(oc)], capsys)
    assert code == OutsideCallError.exit_code, err
    assert f"{oc}: line 2" in err and problem in err


@given(allele=st.text(string.ascii_letters + string.digits + "*.", min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_random_alleles_never_override_the_vcf(allele: str) -> None:
    from precisionrx.engines.pgx.outside import check_outside_call, known_alleles
    from precisionrx.io.outside_calls import OutsideCall

    call = OutsideCall("CYP2C19", f"*1/{allele}", None, None, 3, "oc.tsv")
    if allele in known_alleles(KB, "CYP2C19") or allele.split(".")[0] in known_alleles(
        KB, "CYP2C19"
    ):
        check_outside_call(KB, call)
        return
    with pytest.raises(OutsideCallError, match=r"oc\.tsv: line 3"):
        check_outside_call(KB, call)


def test_valid_outside_calls_still_pass() -> None:
    from precisionrx.engines.pgx.outside import check_outside_calls
    from precisionrx.io.outside_calls import OutsideCall

    lines = [
        ("CYP2D6", "*1/*4.001"), ("CYP2D6", "*1x5/*4"), ("HLA-B", "*57:01:01/*08:01"),
        ("MT-RNR1", "m.1555A>G"), ("DPYD", "c.1905+1G>A/Reference"), ("CYP2C19", "*2/*2"),
        ("CYP2D6", None),
    ]  # fmt: skip
    check_outside_calls(
        KB, [OutsideCall(g, d, "PM", None, i, "x") for i, (g, d) in enumerate(lines)]
    )


def test_errors_document_output_paths() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    assert "## Output paths" in doc
