"""Issue 11 item 5: PGx calling gaps.

(a) every named allele is called from a VCF written from its own definition (G6PD Chatham,
    RYR1 c.14509C>G were dropped with an ignored variant at the same position);
(b) tied diplotypes each carry their own phenotype, in every output, and get recommendations;
(c) outside calls as PharmCAT's Outside-Call-Format.md: repeated genes are ambiguous calls,
    activity-score-only and phenotype-only lines are valid;
(d) CYP2D6 haplotypes with no exact named-allele match are called from the alleles whose
    defining variants are all present, ranked, instead of no call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.io.outside_calls import read_outside_calls
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import GeneCall, SampleResult
from testkit.synthetic import VcfBuilder

CHATHAM = 154532990  # rs5030869 C>T, G6PD Chatham; the Villeurbanne deletion starts here too


def codes(gc: GeneCall) -> list[str]:
    return [c.code for c in gc.caveats]


def g6pd(kb: KnowledgeBase, tmp: Path, gt: str, sex: str, extra: str | None = None) -> GeneCall:
    b = VcfBuilder(kb).haplotypes("G6PD", "B (reference)", "B (reference)", phased=False)
    if gt:
        b.site("X", CHATHAM, "C", ["T"], [gt], "rs5030869")
    else:
        del b.rows[("X", CHATHAM)]
    if extra:
        b.site("X", CHATHAM, "CGGT", ["C"], [extra])
    (res,) = call_vcf(
        b.write(tmp / "g6pd.vcf"), kb, None, CallOptions(genes=["G6PD"], default_sex=sex)
    )
    return res.genes[0]


# ---------------------------------------------------------------- (a) allele audit


@pytest.mark.parametrize(
    ("gt", "sex", "diplotypes", "phenotype"),
    [
        ("0/1", "female", ["B (reference)/Chatham"], "Variable"),
        ("1/1", "female", ["Chatham/Chatham"], "Deficient"),
        ("1", "male", ["Chatham"], "Deficient"),
        ("1/1", "male", ["Chatham"], "Deficient"),
    ],
)
def test_g6pd_chatham_is_called_from_a_vcf(
    kb: KnowledgeBase, tmp_path: Path, gt: str, sex: str, diplotypes: list[str], phenotype: str
) -> None:
    gc = g6pd(kb, tmp_path, gt, sex)
    assert gc.diplotypes == diplotypes
    assert gc.phenotype == phenotype
    assert gc.positions.missing == []


def test_ignored_variant_is_matched_on_alleles_not_on_position(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    # Only the (ignored) Villeurbanne deletion at the Chatham position: it says nothing about
    # rs5030869, which is missing, never reference, never an undocumented allele.
    gc = g6pd(kb, tmp_path, "", "female", extra="0/1")
    assert "rs5030869" in gc.positions.missing
    assert "undocumented_allele_as_reference" not in codes(gc)
    # The deletion and Chatham in one multi-allelic record: Chatham is still read.
    b = VcfBuilder(kb).haplotypes("G6PD", "B (reference)", "B (reference)", phased=False)
    b.site("X", CHATHAM, "CGGT", ["C", "TGGT"], ["0/2"])
    (res,) = call_vcf(b.write(tmp_path / "m.vcf"), kb, None, CallOptions(genes=["G6PD"]))
    assert res.genes[0].diplotypes == ["B (reference)/Chatham"]


def test_ryr1_variant_sharing_an_ignored_position_is_called(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    b = VcfBuilder(kb).haplotypes("RYR1", "Reference", "Reference", phased=False)
    b.site("19", 38580126, "C", ["G"], ["0/1"])  # c.14509C>G; ignored: CA>C (rs193922877)
    (res,) = call_vcf(b.write(tmp_path / "r.vcf"), kb, None, CallOptions(genes=["RYR1"]))
    assert res.genes[0].diplotypes == ["Reference/c.14509C>G"]


def test_loader_drops_only_documented_exclusions(kb: KnowledgeBase) -> None:
    for gene in kb.genes:
        raw = {a.name for a in kb.raw_definition(gene).alleles}
        kept = {a.name for a in kb.definition(gene).alleles}
        assert raw - kept == set(kb.definition(gene).exemptions.ignored_alleles) & raw, gene
    assert "Chatham" in {a.name for a in kb.definition("G6PD").alleles}


@pytest.mark.parametrize("gene", ["G6PD", "RYR1", "DPYD", "CYP2C19"])
def test_allele_audit_has_no_unexplained_failure(
    kb: KnowledgeBase, tmp_path: Path, gene: str
) -> None:
    from testkit.exhaustive import audit_gene

    n, rows = audit_gene(kb, gene, tmp_path)
    assert n == len(kb.raw_definition(gene).alleles)
    assert [r for r in rows if not r.explained] == []


def test_dpyd_unphased_names_reference_first(kb: KnowledgeBase, tmp_path: Path) -> None:
    b = VcfBuilder(kb).haplotypes(
        "DPYD", "Reference", "c.1129-5923C>G, c.1236G>A (HapB3)", phased=False
    )
    (res,) = call_vcf(b.write(tmp_path / "d.vcf"), kb, None, CallOptions(genes=["DPYD"]))
    assert res.genes[0].diplotypes == ["Reference/c.1129-5923C>G, c.1236G>A (HapB3)"]


# ---------------------------------------------------------------- (b) ties


@pytest.mark.parametrize("sparse", [False, True])
def test_cyp2b6_star1_star34_is_not_a_tie(kb: KnowledgeBase, tmp_path: Path, sparse: bool) -> None:
    # NamedAlleleMatcher-101 scoring: *1 scores every present position, so *1/*34 (48 + 4,
    # or 4 + 4 with only the four variant records) beats *33/*36 (1 + 3).
    b = VcfBuilder(kb).haplotypes("CYP2B6", "*1", "*34", phased=False)
    if sparse:
        keep = {"rs34223104", "rs3745274", "rs2279343", "rs3211371"}
        b.rows = {k: v for k, v in b.rows.items() if v["id"] in keep}
    (res,) = call_vcf(b.write(tmp_path / "b6.vcf"), kb, None, CallOptions(genes=["CYP2B6"]))
    gc = res.genes[0]
    if not sparse:
        assert gc.diplotypes == ["*1/*34"]
        assert gc.phenotype == "Intermediate Metabolizer" and gc.diplotype_calls == []
        return
    # With 44 of 48 positions missing the matched *1/*34 still beats *33/*36, but the
    # alleles those positions define stay possible (never assumed reference): listed, each
    # with its own phenotype, none presented as the answer.
    assert "*1/*34" in gc.diplotypes and "*33/*36" not in gc.diplotypes
    assert len(gc.diplotypes) > 1 and len(gc.diplotype_calls) == len(gc.diplotypes)
    assert gc.lookup_key is None and " or " in (gc.phenotype or "")
    assert "possible_with_missing_positions" in [c.code for c in gc.caveats]


def _cyp2b6_tie(kb: KnowledgeBase, tmp: Path) -> Path:
    # rs3745274 (516G>T) missing and 785A>G heterozygous: *1/*4 (increased function) and
    # *1/*6 (decreased function) score the same; the missing 516G>T also leaves *9 (516G>T
    # alone) possible in place of *1: *6/*9 (poor) is listed; *4/*9 (intermediate, a result
    # *1/*6 already gives) is not.
    b = VcfBuilder(kb).haplotypes("CYP2B6", "*1", "*1", phased=False)
    b.genotype("CYP2B6", "rs2279343", "A/G")
    pos = next(p for p in kb.definition("CYP2B6").positions if p.rsid == "rs3745274")
    del b.rows[("19", pos.position)]
    return b.write(tmp / "tie.vcf")


def test_tied_diplotypes_each_have_their_phenotype(kb: KnowledgeBase, tmp_path: Path) -> None:
    (res,) = call_vcf(_cyp2b6_tie(kb, tmp_path), kb, None, CallOptions(genes=["CYP2B6"]))
    gc = res.genes[0]
    assert [c.diplotype for c in gc.diplotype_calls] == gc.diplotypes
    pheno = {c.diplotype: c.phenotype for c in gc.diplotype_calls}
    assert pheno["*1/*4"] == "Rapid Metabolizer"
    assert pheno["*1/*6"] == "Intermediate Metabolizer"
    assert pheno["*6/*9"] == "Poor Metabolizer"
    # No single phenotype is presented as the answer: all are named, no lookup key.
    assert set(gc.phenotype.split(" or ")) == {
        "Rapid Metabolizer",
        "Intermediate Metabolizer",
        "Poor Metabolizer",
    }
    assert gc.lookup_key is None


def test_tied_recommendations_cover_each_phenotype(kb: KnowledgeBase, tmp_path: Path) -> None:
    (res,) = call_vcf(_cyp2b6_tie(kb, tmp_path), kb, None, CallOptions())
    res = prescribed(kb, res, None, ["efavirenz"])
    recs = [r for r in res.recommendations or [] if r.matched]
    keys = {r.lookup_keys["CYP2B6"] for r in recs if r.source == "CPIC"}
    assert keys == {"Rapid Metabolizer", "Intermediate Metabolizer", "Poor Metabolizer"}
    # Each applies only to some candidates, and says which (also DPWG's, which has no RM row);
    # each carries the missing-position caveat itself.
    want = {
        "Intermediate Metabolizer": "*1/*6",
        "Rapid Metabolizer": "*1/*4",
        "Poor Metabolizer": "*6/*9",
    }
    for r in recs:
        (amb,) = [c for c in r.caveats if c.code == "ambiguous_recommendation"]
        assert want[r.lookup_keys["CYP2B6"]] in amb.message
        (gap,) = [c for c in r.caveats if c.code == "missing_positions"]
        assert "rs3745274" in gap.message


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from precisionrx.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_tie_in_every_output_format(kb: KnowledgeBase, tmp_path: Path) -> None:
    vcf = _cyp2b6_tie(kb, tmp_path)
    out = tmp_path / "o.json"
    assert _cli("pgx", str(vcf), "-o", str(out), "--genotypes-only", "--quiet").returncode == 0
    (gene,) = [
        g for g in json.loads(out.read_text())["results"][0]["genes"] if g["gene"] == "CYP2B6"
    ]
    expected = {
        "*1/*4": "Rapid Metabolizer",
        "*1/*6": "Intermediate Metabolizer",
        "*6/*9": "Poor Metabolizer",
    }
    assert [(c["diplotype"], c["phenotype"]) for c in gene["diplotype_calls"]] == [
        (d, expected[d]) for d in gene["diplotypes"]
    ]
    tsv = _cli("pgx", str(vcf), "--format", "tsv", "--genotypes-only").stdout.splitlines()
    head = tsv[0].split("\t")
    (row,) = [dict(zip(head, ln.split("\t"), strict=True)) for ln in tsv[1:] if "\tCYP2B6\t" in ln]
    assert row["diplotypes"].split(";") == gene["diplotypes"]
    assert row["diplotype_phenotypes"].split(";") == [expected[d] for d in gene["diplotypes"]]
    html = _cli("pgx", str(vcf), "--format", "html", "--genotypes-only").stdout
    assert "*1/*4 — Rapid Metabolizer" in html and "*1/*6 — Intermediate Metabolizer" in html


def test_ties_are_ranked_but_never_dropped(kb: KnowledgeBase) -> None:
    from precisionrx.engines.pgx.frequencies import rank_diplotypes

    counts = {"*1": 100, "*2": 10, "*4": 1}
    pairs: list[tuple[str, str | None]] = [("*1", "*4"), ("*1", "*2"), ("*2", "*4")]
    ranked, probs = rank_diplotypes(pairs, counts, frozenset({"*4"}))
    assert ranked == [("*1", "*2"), ("*1", "*4"), ("*2", "*4")]
    assert probs is None  # *4's panel frequency unknown: ordered, no probability invented


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Normal Metabolizer", "Poor Metabolizer", "Indeterminate"]),
            st.sampled_from(["2.0", "0.0", "1.0"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_summary_names_every_distinct_phenotype(rows: list[tuple[str, str]]) -> None:
    from precisionrx.engines.pgx.phenotyper import summarise
    from precisionrx.records import DiplotypeCall

    calls = [
        DiplotypeCall(diplotype=f"*{i}/*{i}", phenotype=p, activity_score=s, lookup_key=s)
        for i, (p, s) in enumerate(rows)
    ]
    got = summarise(calls)
    phenos = list(dict.fromkeys(p for p, _ in rows))
    assert got.phenotype is not None and got.phenotype.split(" or ") == phenos
    keys = {s for _, s in rows}
    assert got.lookup_key == (next(iter(keys)) if len(keys) == 1 else None)


# ---------------------------------------------------------------- (c) outside calls


def _outside(kb: KnowledgeBase, tmp: Path, text: str, drugs: list[str]) -> SampleResult:
    vcf = VcfBuilder(kb).haplotypes("CYP2C9", "*1", "*1", phased=False).write(tmp / "s.vcf")
    (tmp / "oc.tsv").write_text(text, encoding="utf-8")
    calls = read_outside_calls(tmp / "oc.tsv")
    (res,) = call_vcf(vcf, kb, None, CallOptions(), calls)
    return prescribed(kb, res, None, drugs)


def gene(res: SampleResult, name: str) -> GeneCall:
    return next(g for g in res.genes if g.gene == name)


def test_gene_on_several_lines_is_an_ambiguous_call(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _outside(kb, tmp_path, "CYP2C19\t*1/*2\nCYP2C19\t*2/*2\n", ["clopidogrel"])
    gc = gene(res, "CYP2C19")
    assert gc.called and gc.diplotypes == ["*1/*2", "*2/*2"]
    assert [c.phenotype for c in gc.diplotype_calls] == [
        "Intermediate Metabolizer",
        "Poor Metabolizer",
    ]
    assert "outside_call_ambiguous" in codes(gc)
    cpic = [r for r in res.recommendations or [] if r.source == "CPIC" and r.matched]
    assert {r.lookup_keys["CYP2C19"] for r in cpic} == {
        "Intermediate Metabolizer",
        "Poor Metabolizer",
    }
    assert all(any(c.code == "ambiguous_recommendation" for c in r.caveats) for r in cpic)


def test_gene_in_several_files_via_cli(kb: KnowledgeBase, tmp_path: Path) -> None:
    vcf = VcfBuilder(kb).haplotypes("CYP2C9", "*1", "*1", phased=False).write(tmp_path / "s.vcf")
    (tmp_path / "a.tsv").write_text("CYP2D6\t*1/*4\n")
    (tmp_path / "b.tsv").write_text("CYP2D6\t*4/*4\n")
    out = tmp_path / "o.json"
    proc = _cli(
        "pgx", str(vcf), "--outside-calls", str(tmp_path / "a.tsv"),
        "--outside-calls", str(tmp_path / "b.tsv"), "--drug", "codeine", "-o", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())["results"][0]
    (gc,) = [g for g in res["genes"] if g["gene"] == "CYP2D6"]
    assert gc["diplotypes"] == ["*1/*4", "*4/*4"]
    assert [c["activity_score"] for c in gc["diplotype_calls"]] == ["1.0", "0.0"]
    keys = {r["lookup_keys"].get("CYP2D6") for r in res["recommendations"] if r["matched"]}
    assert {"1.0", "0.0"} <= keys


@pytest.mark.parametrize(
    ("line", "gene_", "phenotype", "score"),
    [
        ("CYP2D6\t\t\t1.0\n", "CYP2D6", "Intermediate Metabolizer", "1.0"),
        ("CYP2D6\t\t\t1.25\n", "CYP2D6", "Normal Metabolizer", "1.25"),
        ("CYP2D6\t\t\t≥3.75\n", "CYP2D6", "Ultrarapid Metabolizer", "≥3.75"),
        ("CYP2C9\t\t\t2\n", "CYP2C9", "Normal Metabolizer", "2.0"),
        ("CYP2C9\t\t\t0.5\n", "CYP2C9", "Poor Metabolizer", "0.5"),
        ("DPYD\t\t\t1.5\n", "DPYD", "Intermediate Metabolizer", "1.5"),
        # The score trumps: the phenotype comes from CPIC's table, with a warning.
        ("CYP2D6\t*1/*1\tPoor Metabolizer\t1.0\n", "CYP2D6", "Intermediate Metabolizer", "1.0"),
        # Phenotype only, one CPIC score for it.
        ("CYP2C9\t\tNormal Metabolizer\n", "CYP2C9", "Normal Metabolizer", "2.0"),
        ("CYP2D6\t\tPM\n", "CYP2D6", "Poor Metabolizer", "0.0"),
    ],
)
def test_activity_score_or_phenotype_alone(
    kb: KnowledgeBase, tmp_path: Path, line: str, gene_: str, phenotype: str, score: str
) -> None:
    gc = gene(_outside(kb, tmp_path, line, []), gene_)
    assert gc.called
    assert (gc.phenotype, gc.activity_score, gc.lookup_key) == (phenotype, score, score)
    if "\t*1/*1\t" in line:
        assert "outside_call_mismatch" in codes(gc)


def test_phenotype_alone_with_several_scores_gives_each(kb: KnowledgeBase, tmp_path: Path) -> None:
    res = _outside(kb, tmp_path, "CYP2C9\t\tIntermediate Metabolizer\n", ["celecoxib"])
    gc = gene(res, "CYP2C9")
    assert [c.activity_score for c in gc.diplotype_calls] == ["1.0", "1.5"]
    assert gc.phenotype == "Intermediate Metabolizer"
    keys = {r.lookup_keys["CYP2C9"] for r in res.recommendations or [] if r.matched}
    assert keys == {"1.0", "1.5"}


def test_unknown_activity_score_is_a_no_call(kb: KnowledgeBase, tmp_path: Path) -> None:
    gc = gene(_outside(kb, tmp_path, "CYP2D6\t\t\t7.0\n", []), "CYP2D6")
    assert not gc.called and "outside_call_unrecognised" in codes(gc)


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("PM", "Poor Metabolizer"),
        ("em", "Normal Metabolizer"),
        ("intermediate metaboliser", "Intermediate Metabolizer"),
        ("CYP2C19 Ultrarapid Metabolizers (UM)", "Ultrarapid Metabolizer"),
        ("likely cyp2c19 poor metaboliser", "Likely Poor Metabolizer"),
        ("Rapid Metabolizer", "Rapid Metabolizer"),
    ],
)
def test_phenotype_text_is_normalised(
    kb: KnowledgeBase, tmp_path: Path, given: str, want: str
) -> None:
    gc = gene(_outside(kb, tmp_path, f"CYP2C19\t\t{given}\n", []), "CYP2C19")
    assert gc.phenotype == want


def test_hla_allele_status_alone(kb: KnowledgeBase, tmp_path: Path) -> None:
    # The example of Outside-Call-Format.md: "HLA-B<TAB><TAB>*57:01 positive".
    res = _outside(kb, tmp_path, "HLA-B\t\t*57:01 positive\n", ["abacavir"])
    cpic = [r for r in res.recommendations or [] if r.source == "CPIC" and r.matched]
    assert cpic and cpic[0].lookup_keys == {"HLA-B": "*57:01 positive"}


def test_cyp2d6_copy_number_goes_to_cpic_bin(kb: KnowledgeBase, tmp_path: Path) -> None:
    gc = gene(_outside(kb, tmp_path, "CYP2D6\tCYP2D6*1x5/CYP2D6*4.001\n", []), "CYP2D6")
    assert gc.diplotypes == ["*1x≥3/*4"]
    # CPIC: *1x≥3 counts as activity ≥3.0, *4 as 0: Ultrarapid.
    assert (gc.phenotype, gc.activity_score) == ("Ultrarapid Metabolizer", "≥3.0")


# ---------------------------------------------------------------- (d) CYP2D6 from SNVs


def _with_extra(kb: KnowledgeBase, gene_: str, a: str, b: str, rsid: str, gt: str) -> VcfBuilder:
    bld = VcfBuilder(kb).haplotypes(gene_, a, b, phased=True)
    bld.genotype(gene_, rsid, gt)
    return bld


def test_cyp2d6_novel_haplotype_is_called_from_its_alleles(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    # *1|*4 with *43's only core variant (rs28371696) added on the *4 haplotype: no named
    # allele matches that haplotype exactly. *4 (rs3892097) and *43 each explain one of its
    # two variants: both diplotypes are listed, each with its own phenotype, not a no call.
    b = _with_extra(kb, "CYP2D6", "*1", "*4", "rs28371696", "C|T")
    (res,) = call_vcf(b.write(tmp_path / "d6.vcf"), kb, None, CallOptions(genes=["CYP2D6"]))
    gc = res.genes[0]
    assert gc.called and sorted(gc.diplotypes) == ["*1/*4", "*1/*43"]
    scores = {c.diplotype: c.activity_score for c in gc.diplotype_calls}
    assert scores["*1/*4"] == "1.0"
    assert "partial_match" in codes(gc) and "cyp2d6_sv_not_assessed" in codes(gc)
    (partial,) = [c for c in gc.caveats if c.code == "partial_match"]
    assert "rs28371696" in partial.message or "rs3892097" in partial.message


def test_cyp2d6_candidate_needing_an_unseen_variant_ranks_last(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    # *10 and *37 differ only at *37's own variant; with that position missing both fit and
    # are listed, *10 (fully observed) first.
    defn = kb.definition("CYP2D6")
    ref, a37, a10 = defn.reference_allele, defn.allele("*37"), defn.allele("*10")
    only37 = [
        p
        for j, p in enumerate(defn.positions)
        if a37.defined[j] not in (None, ref.defined[j]) and a10.defined[j] != a37.defined[j]
    ]
    b = VcfBuilder(kb).haplotypes("CYP2D6", "*10", "*10", phased=False)
    for p in only37:
        del b.rows[("22", p.position)]
    (res,) = call_vcf(b.write(tmp_path / "d6.vcf"), kb, None, CallOptions(genes=["CYP2D6"]))
    gc = res.genes[0]
    assert gc.diplotypes[0] == "*10/*10" and "*10/*37" in gc.diplotypes


def test_other_genes_keep_pharmcat_no_call_rule(kb: KnowledgeBase, tmp_path: Path) -> None:
    # CYP2C19 *2 haplotype with *17's promoter variant: PharmCAT gives no call (combination).
    b = _with_extra(kb, "CYP2C19", "*38", "*2", "rs12248560", "C|T")
    (res,) = call_vcf(b.write(tmp_path / "c19.vcf"), kb, None, CallOptions(genes=["CYP2C19"]))
    gc = res.genes[0]
    assert not gc.called and "no_match" in codes(gc)


def test_each_tied_candidate_is_phenoconverted_on_its_own(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    from precisionrx.records import Medication

    vcf = VcfBuilder(kb).haplotypes("CYP2C9", "*1", "*1", phased=False).write(tmp_path / "s.vcf")
    (tmp_path / "oc.tsv").write_text("CYP2D6\t*1/*1\nCYP2D6\t*1/*4\n")
    (res,) = call_vcf(vcf, kb, None, CallOptions(), read_outside_calls(tmp_path / "oc.tsv"))
    res = prescribed(kb, res, [Medication(name="codeine"), Medication(name="paroxetine")])
    conv = {
        (e.genotype_phenotype, e.genotype_activity_score) for e in res.effective_phenotypes or []
    }
    # Paroxetine (strong CYP2D6 inhibitor): both candidates become activity score 0.
    assert conv == {("Normal Metabolizer", "2.0"), ("Intermediate Metabolizer", "1.0")}
    assert {e.effective_activity_score for e in res.effective_phenotypes or []} == {"0.0"}


def test_cyp2d6_partial_match_unphased(kb: KnowledgeBase, tmp_path: Path) -> None:
    # rs28371696 homozygous on an unphased *4/*10 background: one copy is *43's, the other is
    # left unexplained; the call is made, with the unexplained variant named.
    b = VcfBuilder(kb).haplotypes("CYP2D6", "*4", "*10", phased=False)
    b.genotype("CYP2D6", "rs28371696", "T/T")
    (res,) = call_vcf(b.write(tmp_path / "u.vcf"), kb, None, CallOptions(genes=["CYP2D6"]))
    gc = res.genes[0]
    assert gc.called and gc.diplotypes[0] == "*4/*43" and not gc.phased
    (partial,) = [c for c in gc.caveats if c.code == "partial_match"]
    assert partial.message.endswith("rs28371696")
