"""Knowledge-base data tests: versions, checksums, tamper detection, schema sanity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from precisionrx.kb.registry import KnowledgeBase, data_root, list_kbs, verify_kbs


def test_every_kb_has_about_and_verifies() -> None:
    infos = {i.name: i for i in list_kbs()}
    assert {"pharmcat", "pypgx", "frequencies_1kgp"} <= set(infos)
    for info in infos.values():
        assert info.version and info.license and len(info.sha256) == 64 and info.files
    assert verify_kbs() == []


def test_tampering_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data_root(), copy)
    target = copy / "pypgx" / "allele_functions.tsv"
    target.write_text(target.read_text() + "G6PD\tfake\tNormal\n")
    (copy / "pypgx" / "extra.txt").write_text("x")
    problems = {(p.kb, p.file) for p in verify_kbs(copy)}
    assert ("pypgx", "allele_functions.tsv") in problems
    assert ("pypgx", "extra.txt") in problems


def test_definitions_are_consistent(kb: KnowledgeBase) -> None:
    assert len(kb.genes) == 20
    for gene in kb.genes:
        d = kb.definition(gene)
        assert d.reference_allele.reference
        assert all(len(a.defined) == len(d.positions) for a in d.alleles)
        assert all(p.ref for p in d.positions)
    g6pd = kb.definition("G6PD")
    assert "Mediterranean Haplotype" not in [a.name for a in g6pd.alleles]
    assert 154532439 not in [p.position for p in g6pd.positions]
    assert kb.definition("NAT2").exemptions.required_positions
    assert kb.definition("CYP2C9").exemptions.extra_positions[0].rsid == "rs12777823"


_CIVIC_EXPORT = (
    "molecular_profile\tdisease\ttherapies\tevidence_type\tevidence_direction\t"
    "evidence_level\tsignificance\tevidence_status\tevidence_id\tcitation\n"
    "BRAF V600E\tMelanoma\tNewdrugumab\tPredictive\tSupports\tA\tSensitivity/Response\t"
    "accepted\t9001\tDoe 2026\n"
)


def test_a_user_added_source_is_registered_listed_verified_and_named(tmp_path: Path) -> None:
    from precisionrx.kb.registry import verify_kbs
    from precisionrx.kb.user_sources import add_civic

    export = tmp_path / "civic.tsv"
    export.write_text(_CIVIC_EXPORT)
    kb = KnowledgeBase(home=tmp_path / "home")
    add_civic(export, kb)
    kb = KnowledgeBase(home=tmp_path / "home")  # a fresh registry sees it
    user = kb.user_source("civic")
    assert user is not None and user.origin == "user" and user.version.startswith("user ")
    assert ("civic", "user") in {(i.name, i.origin) for i in kb.infos}
    assert verify_kbs(kb.root, kb.home) == []
    named = {v.name for v in kb.provenance(["oncology"]).knowledge_bases}
    assert named == {"oncology", "civic (user)"}
    assert "civic (user)" not in {v.name for v in kb.provenance(["cardio"]).knowledge_bases}
    rows = kb.rows("civic", "biomarkers.tsv", user=True)
    assert [r["therapy"] for r in rows] == ["Newdrugumab"]
    # A changed file is found by verify.
    (user.path / "biomarkers.tsv").write_text("tampered\n")
    problems = verify_kbs(kb.root, kb.home)
    assert [(p.kb, p.file) for p in problems] == [("civic", "biomarkers.tsv")]


def test_a_user_folder_from_an_older_version_is_used_and_reported(tmp_path: Path) -> None:
    from precisionrx.kb.registry import verify_kbs

    folder = tmp_path / "kb" / "civic"
    folder.mkdir(parents=True)
    (folder / "biomarkers.tsv").write_text("source\n")
    kb = KnowledgeBase(home=tmp_path)
    user = kb.user_source("civic")
    assert user is not None and user.version == "unregistered"
    problems = verify_kbs(kb.root, kb.home)
    assert [p.file for p in problems] == ["about.json", "biomarkers.tsv"]
    assert "add the export again" in problems[0].problem


def test_caches_belong_to_the_knowledge_base_object(tmp_path: Path) -> None:
    a, b = KnowledgeBase(home=tmp_path), KnowledgeBase(home=tmp_path)
    calls: list[int] = []
    assert a.memo("k", lambda: calls.append(1) or 1) == 1
    assert a.memo("k", lambda: calls.append(2) or 2) == 1
    assert b.memo("k", lambda: calls.append(3) or 3) == 3
    assert calls == [1, 3]
    assert a.json("cardio", "about.json") is a.json("cardio", "about.json")


def test_missing_knowledge_base_file_is_a_kb_error(tmp_path: Path) -> None:
    from precisionrx.errors import KbNotFound

    kb = KnowledgeBase(home=tmp_path)
    with pytest.raises(KbNotFound):
        kb.rows("cardio", "no_such_table.csv")
    with pytest.raises(KbNotFound):
        kb.json("civic", "about.json", user=True)


def test_a_ragged_knowledge_base_table_is_refused(tmp_path: Path) -> None:
    from precisionrx.errors import KbIntegrityError

    folder = tmp_path / "data" / "demo"
    folder.mkdir(parents=True)
    (folder / "effects.csv").write_text(
        "outcome,population,source\nmace,123 RCTs (613,815 participants),Ettehad 2016\n"
    )
    kb = KnowledgeBase(root=tmp_path / "data", home=tmp_path)
    with pytest.raises(KbIntegrityError, match="row 2"):
        kb.rows("demo", "effects.csv", delimiter=",")


def test_trial_effect_citations_are_their_own_column() -> None:
    # The packaged table keeps "(613,815 participants)" in population: the citation column is
    # the citation (it read "815 participants)" when the comma split the row).
    rows = KnowledgeBase().rows("cardio", "treatment_effects.csv", delimiter=",")
    sources = {r["population"]: r["source"] for r in rows}
    assert sources["123 RCTs (613,815 participants)"] == "Ettehad D et al. Lancet 2016;387:957-67"
    assert sources["6 primary-prevention RCTs IPD (95,000)"].startswith("ATT Collaboration")


@pytest.mark.parametrize(
    "about",
    [
        "{}",
        '{"name": "civic"}',
        "[1, 2]",
        '{"name": "c", "version": "v", "sha256": "x", "files": 3}',
        "not json",
    ],
)
def test_a_broken_user_about_json_is_a_kb_error_naming_it(tmp_path: Path, about: str) -> None:
    from precisionrx.errors import KbIntegrityError

    folder = tmp_path / "kb" / "civic"
    folder.mkdir(parents=True)
    (folder / "about.json").write_text(about)
    with pytest.raises(KbIntegrityError) as err:
        _ = KnowledgeBase(home=tmp_path).infos
    assert "about.json" in str(err.value.path)


def test_cli_kb_list_with_a_broken_user_source_exits_cleanly(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    folder = tmp_path / "kb" / "civic"
    folder.mkdir(parents=True)
    (folder / "about.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", "kb", "list"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PRECISIONRX_HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 12, proc.stderr
    assert "Traceback" not in proc.stderr and "about.json" in proc.stderr
