"""Property test of every upload parser: any bytes give a summary or a clear InputError.

The service acknowledges an upload only after the reader of its kind has read it
(:func:`precisionrx.service.uploads.validate`). Whatever a client sends — random bytes, or a
valid file of the kind truncated, spliced, with bytes flipped or lines repeated or dropped — the
parser either reads it or raises :class:`precisionrx.errors.InputError` naming the problem;
any other exception would surface as a 500 and is a defect.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precisionrx.errors import InputError
from precisionrx.service.uploads import FileKind, safe_suffix, validate

from .helpers import DEMO

TUMOR = Path(__file__).parents[1] / "data" / "tumor"

_VCF_TUMOUR = (
    "##fileformat=VCFv4.2\n##reference=GRCh38\n##contig=<ID=chr7,length=159345973>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
    "chr7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT\t0/1\n"
)
_APPLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_GB">\n'
    ' <Record type="HKQuantityTypeIdentifierRestingHeartRate" unit="count/min" '
    'startDate="2024-01-09 07:00:00 +0000" endDate="2024-01-09 07:00:00 +0000" value="58"/>\n'
    ' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" unit="ms" '
    'startDate="2024-01-09 07:00:00 +0000" endDate="2024-01-09 07:00:00 +0000" value="42"/>\n'
    "</HealthData>\n"
)
_BUNDLE = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Condition", "code": {"coding": [
        {"system": "http://snomed.info/sct", "code": "44054006"}]}}},
    {"resource": {"resourceType": "MedicationStatement", "status": "active",
                  "medicationCodeableConcept": {"coding": [
                      {"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                       "code": "36567", "display": "simvastatin"}]}}},
]})  # fmt: skip


def _head(path: Path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


#: A valid small file of each kind (the seed the mutations start from) and its form fields.
SEEDS: dict[FileKind, tuple[bytes, dict[str, str]]] = {
    FileKind.germline_vcf: (_head(DEMO / "demo.vcf", 80), {"genome_build": "GRCh38"}),
    FileKind.tumor_maf: ((DEMO / "tumour.maf").read_bytes(), {}),
    FileKind.tumor_vcf: (_VCF_TUMOUR.encode(), {}),
    FileKind.cna: ((TUMOR / "cna.tsv").read_bytes(), {}),
    FileKind.fusions: ((TUMOR / "arriba.fusions.tsv").read_bytes(), {}),
    FileKind.cgm: (_head(DEMO / "cgm.csv", 200), {"timezone": "Europe/London"}),
    FileKind.vitals: (_APPLE.encode(), {}),
    FileKind.fhir_bundle: (_BUNDLE.encode(), {}),
    FileKind.medications: (b"simvastatin 40 mg daily\nclopidogrel 75 mg\namlodipine\n", {}),
    FileKind.outside_calls: (b"#gene\tdiplotype\tphenotype\tactivity\nCYP2D6\t*1/*4\t\t\n", {}),
    FileKind.questionnaires: (b"id,instrument,date,item_1,item_2\np1,PHQ-2,2024-01-05,1,2\n", {}),
}
FILENAMES = {FileKind.tumor_maf: "t.maf", FileKind.fusions: "arriba.fusions.tsv",
             FileKind.vitals: "export.xml", FileKind.fhir_bundle: "bundle.json"}  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed after a few random edits (truncation, splice, flips, repeated/dropped lines)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["cut", "insert", "flip", "lines", "field"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if edit == "cut":
            del data[at:]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif edit == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif edit == "lines":
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i : i + 1] = draw(st.sampled_from([[], [lines[i]] * 3]))
            data = bytearray(b"".join(lines))
        else:  # replace one tab/comma-separated field with odd text
            text = bytes(data)
            sep = b"\t" if b"\t" in text else b","
            parts = text.split(sep)
            i = draw(st.integers(0, len(parts) - 1))
            parts[i] = draw(st.sampled_from(
                [b"", b"NaN", b"-1", b"1e400", b"\x00", "é".encode(), b"999999999999999999999",
                 b"..", b"chrUn", b"\n\n", b'"', b"*1/*", b"{}", b"[]"]))  # fmt: skip
            data = bytearray(sep.join(parts))
    return bytes(data)


def _check(kind: FileKind, content: bytes, tmp: Path) -> None:
    fields = SEEDS[kind][1]
    name = FILENAMES.get(kind, f"upload{safe_suffix(None, kind)}")
    path = tmp / f"u{safe_suffix(name, kind)}"
    path.write_bytes(content)
    try:
        summary = validate(kind, path, {**fields, "filename": name})
    except InputError as exc:
        assert exc.message.strip(), "an input error names the problem"
    else:
        assert isinstance(summary, str) and summary


@pytest.mark.parametrize("kind", list(FileKind), ids=str)
def test_seed_files_are_valid(kind: FileKind, tmp_path: Path) -> None:
    """The seeds themselves are read (so the mutations start from a file the parser takes)."""
    fields = SEEDS[kind][1]
    name = FILENAMES.get(kind, f"upload{safe_suffix(None, kind)}")
    path = tmp_path / f"u{safe_suffix(name, kind)}"
    path.write_bytes(SEEDS[kind][0])
    assert validate(kind, path, {**fields, "filename": name})


FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip


@pytest.mark.parametrize("kind", list(FileKind), ids=str)
@FUZZ
@given(data=st.data())
def test_mutated_uploads_are_read_or_refused_clearly(
    kind: FileKind, data: st.DataObject, tmp_path: Path
) -> None:
    _check(kind, data.draw(mutated(SEEDS[kind][0])), tmp_path)


@pytest.mark.parametrize("kind", list(FileKind), ids=str)
@FUZZ
@given(content=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_arbitrary_bytes_are_read_or_refused_clearly(
    kind: FileKind, content: bytes, tmp_path: Path
) -> None:
    _check(kind, content, tmp_path)
