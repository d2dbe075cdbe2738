"""Calling rules over real PharmCAT definitions, with synthetic VCFs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from precisionrx.api.pgx import call_vcf
from precisionrx.engines.pgx.caller import CallOptions
from precisionrx.errors import GenomeBuildMismatch
from precisionrx.kb.registry import KnowledgeBase
from testkit.synthetic import VcfBuilder


def codes(gc: object) -> list[str]:
    return [c.code for c in gc.caveats]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("gene", "a", "b", "phenotype"),
    [
        ("CYP2C19", "*1", "*2", "Intermediate Metabolizer"),
        ("CYP2C19", "*2", "*2", "Poor Metabolizer"),
        ("CYP2C19", "*1", "*17", "Rapid Metabolizer"),
        ("CYP2C9", "*1", "*3", "Intermediate Metabolizer"),
        ("TPMT", "*1", "*3A", "Intermediate Metabolizer"),
        ("NUDT15", "*1", "*3", "Intermediate Metabolizer"),
        ("CYP3A5", "*3", "*3", "Poor Metabolizer"),
        ("UGT1A1", "*28", "*28", "Poor Metabolizer"),
    ],
)
def test_unphased_diplotype_and_phenotype(
    call_one: Any,
    kb: KnowledgeBase,
    builder: VcfBuilder,
    tmp_path: Path,
    gene: str,
    a: str,
    b: str,
    phenotype: str,
) -> None:
    builder.haplotypes(gene, a, b, phased=False)
    gc = call_one(kb, builder, tmp_path, gene)
    assert gc.called
    assert f"{a}/{b}" in gc.diplotypes
    assert gc.phenotype == phenotype
    assert gc.positions.missing == []


def test_cyp2c9_activity_score(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C9", "*2", "*3", phased=True)
    gc = call_one(kb, builder, tmp_path, "CYP2C9")
    assert gc.diplotypes == ["*2/*3"]
    assert gc.activity_score == "0.5"
    assert gc.phenotype == "Poor Metabolizer"


def test_all_reference_cyp2c19_is_star38(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    # The GRCh38 reference base at rs3758581 is the *38 allele (PharmCAT documentation).
    builder.haplotypes("CYP2C19", "*38", "*38", phased=False)
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert gc.diplotypes == ["*38/*38"]
    assert gc.phenotype == "Normal Metabolizer"


def test_missing_positions_reported_and_caveated(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C19", "*1", "*2", phased=False)
    pos = next(p for p in kb.definition("CYP2C19").positions if p.rsid == "rs12248560")
    del builder.rows[("10", pos.position)]
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert gc.called and gc.diplotypes == ["*1/*2"]
    assert gc.positions.missing == ["rs12248560"]
    assert gc.positions.found == gc.positions.total - 1
    cav = next(c for c in gc.caveats if c.code == "missing_positions")
    assert "rs12248560" in cav.message and "*17" in cav.message


def test_no_data_is_not_called_not_reference(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C9", "*1", "*1")
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert not gc.called
    assert gc.diplotypes == []
    assert gc.phenotype is None
    assert "no_data" in codes(gc)


def test_undocumented_alt_not_called(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C19", "*1", "*1", phased=False)
    builder.genotype("CYP2C19", "rs4244285", "G/T")  # defined alleles are G and A
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert not gc.called
    assert "undocumented_allele" in codes(gc)


def test_undocumented_alt_in_toxicity_gene_is_reference(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("TPMT", "*1", "*1", phased=False)
    pos = kb.definition("TPMT").allele("*3B").defined
    j = next(i for i, d in enumerate(pos) if d is not None)
    p = kb.definition("TPMT").positions[j]
    other = next(x for x in "ACGT" if x not in p.known_alleles)
    builder.genotype("TPMT", p.position, f"{p.ref}/{other}")
    gc = call_one(kb, builder, tmp_path, "TPMT")
    assert gc.called and gc.diplotypes == ["*1/*1"]
    assert "undocumented_allele_as_reference" in codes(gc)


def test_partial_reference_genotype_is_missing(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C19", "*1", "*2", phased=False)
    pos = next(p for p in kb.definition("CYP2C19").positions if p.rsid == "rs12248560")
    builder.site("10", pos.position, pos.ref, list(pos.alts), ["0/."])
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert gc.called
    assert "rs12248560" in gc.positions.missing


def test_partial_alt_genotype_blocks_call(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2C19", "*1", "*1", phased=False)
    pos = next(p for p in kb.definition("CYP2C19").positions if p.rsid == "rs4244285")
    builder.site("10", pos.position, pos.ref, list(pos.alts), ["./1"])
    gc = call_one(kb, builder, tmp_path, "CYP2C19")
    assert not gc.called
    assert "partial_genotype" in codes(gc)


def test_split_multiallelic_records_merge(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    # UGT1A1 rs3064744 written 1KGP-style as separate biallelic records with other padding.
    builder.haplotypes("UGT1A1", "*1", "*1", phased=True)
    pos = next(p for p in kb.definition("UGT1A1").positions if p.rsid == "rs3064744")
    del builder.rows[("2", pos.position)]
    text = builder.text().splitlines()
    extra = [
        f"chr2\t{pos.position}\t.\tC\tCAT\t.\tPASS\t.\tGT\t1|0",
        f"chr2\t{pos.position}\t.\tCAT\tC\t.\tPASS\t.\tGT\t0|1",
    ]
    body = sorted(
        text[text.index(next(t for t in text if t.startswith("#CHROM"))) + 1 :] + extra,
        key=lambda ln: int(ln.split("\t")[1]),
    )
    header = [t for t in text if t.startswith("#")]
    path = tmp_path / "split.vcf"
    path.write_text("\n".join(header + body) + "\n")
    (res,) = call_vcf(path, kb, None, CallOptions(genes=["UGT1A1"]))
    assert res.genes[0].diplotypes == ["*28/*36"]


def test_chr_prefix_optional_and_index_same_result(kb: KnowledgeBase, tmp_path: Path) -> None:
    calls = []
    for prefix, bgz in [(True, False), (False, False), (True, True), (False, True)]:
        b = VcfBuilder(kb, chr_prefix=prefix)
        b.haplotypes("CYP2C19", "*2", "*17", phased=False)
        sub = tmp_path / f"{prefix}{bgz}"
        sub.mkdir()
        path = b.write(sub / "x.vcf", bgzip=bgz)
        (res,) = call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"]))
        calls.append(res.genes[0].diplotypes)
    assert all(c == ["*2/*17"] for c in calls)


def test_gvcf_reference_block_fills_reference(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    defn = kb.definition("CYP3A5")
    builder.site("7", defn.start - 10, "A", ["<NON_REF>"], ["0/0"], info=f"END={defn.end + 10}")
    builder.genotype("CYP3A5", "rs776746", "T/C")
    gc = call_one(kb, builder, tmp_path, "CYP3A5")
    assert gc.called and gc.diplotypes == ["*1/*3"]
    assert gc.positions.reference_filled == gc.positions.total - 1
    assert gc.positions.missing == []


def test_g6pd_male_is_hemizygous(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("G6PD", "A- 202A_376G", "A- 202A_376G", phased=False)
    gc = call_one(kb, builder, tmp_path, "G6PD", default_sex="male")
    assert gc.diplotypes == ["A- 202A_376G"]
    assert gc.phenotype == "Deficient"


def test_g6pd_female_heterozygous_variable(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("G6PD", "B (reference)", "A- 202A_376G", phased=False)
    gc = call_one(kb, builder, tmp_path, "G6PD", default_sex="female")
    assert gc.diplotypes == ["B (reference)/A- 202A_376G"]
    assert gc.phenotype == "Variable"


def test_g6pd_heterozygous_male_not_called(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("G6PD", "B (reference)", "A- 202A_376G", phased=False)
    gc = call_one(kb, builder, tmp_path, "G6PD", default_sex="male")
    assert not gc.called
    assert "hemizygous_heterozygous" in codes(gc)


def test_dpyd_unphased_two_lowest(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("DPYD", "Reference", "Reference", phased=False)
    builder.genotype("DPYD", "rs3918290", "C/T")  # c.1905+1G>A (*2A), no function
    builder.genotype("DPYD", "rs67376798", "T/A")  # c.2846A>T, decreased
    builder.genotype("DPYD", "rs1801265", "A/G")  # c.85T>C, normal
    gc = call_one(kb, builder, tmp_path, "DPYD")
    assert gc.called and not gc.phased
    # CPIC: activity score 0.5 (no-function + decreased-function variant) is Poor Metabolizer.
    assert gc.activity_score == "0.5"
    assert gc.phenotype == "Poor Metabolizer"
    assert "unphased_variant_list" in codes(gc)


def test_dpyd_phased_strands(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("DPYD", "Reference", "Reference", phased=True)
    builder.genotype("DPYD", "rs3918290", "C|T")
    builder.genotype("DPYD", "rs67376798", "T|A")
    gc = call_one(kb, builder, tmp_path, "DPYD")
    assert gc.diplotypes == ["Reference/[c.1905+1G>A (*2A) + c.2846A>T]"] or gc.diplotypes == [
        "Reference/[c.2846A>T + c.1905+1G>A (*2A)]"
    ]
    assert gc.activity_score == "1.0"


def test_dpyd_hapb3_exonic_fallback(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("DPYD", "Reference", "Reference", phased=False)
    intronic = next(p for p in kb.definition("DPYD").positions if p.rsid == "rs75017182")
    del builder.rows[("1", intronic.position)]
    builder.genotype("DPYD", "rs56038477", "C/T")
    gc = call_one(kb, builder, tmp_path, "DPYD")
    assert "c.1129-5923C>G, c.1236G>A (HapB3)" in gc.diplotypes[0]
    assert any(c.code == "hapb3" and "rs75017182" in c.message for c in gc.caveats)


def test_slco1b1_rs4149056_fallback(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("SLCO1B1", "*1", "*1", phased=False)
    builder.genotype("SLCO1B1", "rs4149056", "T/C")
    other = next(p for p in kb.definition("SLCO1B1").positions if p.rsid != "rs4149056")
    builder.genotype(
        "SLCO1B1",
        other.position,
        f"{other.ref}/{next(x for x in 'ACGT' if x not in other.known_alleles)}",
    )
    gc = call_one(kb, builder, tmp_path, "SLCO1B1")
    assert gc.called
    assert gc.diplotypes == ["rs4149056 C/T"]
    assert gc.phenotype == "Decreased Function"
    assert "slco1b1_rs4149056_fallback" in codes(gc)


def test_nat2_unphased_priority(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    # PharmCAT documentation: these five genotypes give *5/*15 under the priority scheme.
    builder.haplotypes("NAT2", "*4", "*4", phased=False)
    for rs, gt in [
        ("rs1801279", "G/A"),
        ("rs1801280", "T/C"),
        ("rs1799930", "G/A"),
        ("rs1208", "A/G"),
    ]:
        builder.genotype("NAT2", rs, gt)
    gc = call_one(kb, builder, tmp_path, "NAT2")
    assert gc.diplotypes == ["*5/*15"]
    assert "unphased_priority" in codes(gc)


def test_ambiguity_keeps_all_ties(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    # With rs3745274 (516G>T) missing, a het 785A>G fits several equal-score pairs; all are
    # kept, and no probability is invented for alleles whose panel frequency is unknown.
    builder.haplotypes("CYP2B6", "*1", "*1", phased=False)
    builder.genotype("CYP2B6", "rs2279343", "A/G")  # 785A>G
    pos = next(p for p in kb.definition("CYP2B6").positions if p.rsid == "rs3745274")
    del builder.rows[("19", pos.position)]
    gc = call_one(kb, builder, tmp_path, "CYP2B6")
    assert gc.called and len(gc.diplotypes) >= 2, gc.diplotypes
    assert "*1/*4" in gc.diplotypes and "*1/*6" in gc.diplotypes
    assert "ambiguous_diplotype" in codes(gc)
    assert gc.diplotype_probabilities is None
    # Each candidate keeps its own phenotype (*4 increased, *6 decreased function). The
    # missing 516G>T also leaves *9 (defined by 516G>T alone) possible in place of *1: *6/*9
    # adds a result (poor); *4/*9 (intermediate, as *1/*6) adds none and is not listed.
    assert {c.diplotype: c.phenotype for c in gc.diplotype_calls} == {
        "*1/*4": "Rapid Metabolizer",
        "*1/*6": "Intermediate Metabolizer",
        "*6/*9": "Poor Metabolizer",
    }
    assert "possible_with_missing_positions" in codes(gc)


def test_rank_diplotypes_by_panel_frequency(kb: KnowledgeBase) -> None:
    from precisionrx.engines.pgx.frequencies import rank_diplotypes

    counts = kb.haplotype_counts["CYP2C19"]
    pairs, probs = rank_diplotypes([("*3", "*35"), ("*1", "*2")], counts)
    assert pairs[0] == ("*1", "*2")
    assert probs is not None and probs[0] > 0.99 and abs(sum(probs) - 1) < 1e-3
    # Unknown panel frequency for a candidate: no probabilities.
    _, none = rank_diplotypes([("*1", "*2"), ("*1", "*4")], counts, frozenset({"*4"}))
    assert none is None


def test_cyp2d6_always_carries_sv_caveat(
    call_one: Any, kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path
) -> None:
    builder.haplotypes("CYP2D6", "*1", "*4", phased=False)
    gc = call_one(kb, builder, tmp_path, "CYP2D6")
    assert gc.diplotypes[0] == "*1/*4"
    assert gc.activity_score == "1.0"
    assert "cyp2d6_sv_not_assessed" in codes(gc)


def test_wrong_build_detected_from_reference_bases(kb: KnowledgeBase, tmp_path: Path) -> None:
    b = VcfBuilder(kb, declare_contigs=False)
    for p in kb.definition("CYP2C19").positions[:5]:
        wrong = next(x for x in "ACGT" if x not in p.known_alleles)
        b.site("10", p.position, wrong, ["G" if wrong != "G" else "C"], ["0/0"])
    path = b.write(tmp_path / "x.vcf")
    with pytest.raises(GenomeBuildMismatch):
        call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"]))


def test_grch37_input(kb: KnowledgeBase, tmp_path: Path) -> None:
    # CYP2C19 *2 (rs4244285) at its GRCh37 coordinate 96541616; CYP3A5 *3 where GRCh37's
    # reference base (C) is the *3 allele.
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=10,length=135534747>",
        "##contig=<ID=7,length=159138663>",
        "##contig=<ID=1,length=249250621>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
        "7\t99270539\trs776746\tC\tT\t.\tPASS\t.\tGT\t0/0",
        "10\t96541616\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0/1",
    ]
    path = tmp_path / "b37.vcf"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(GenomeBuildMismatch):
        call_vcf(path, kb, None, CallOptions(genes=["CYP3A5"]))
    (res,) = call_vcf(
        path, kb, None, CallOptions(genes=["CYP3A5", "CYP2C19"], genome_build="GRCh37")
    )
    cyp3a5, cyp2c19 = res.genes
    assert cyp3a5.positions.found == 1
    assert cyp3a5.diplotypes == ["*3/*3"]
    assert cyp2c19.positions.found == 1
    # One CYP2C19 position (rs4244285 heterozygous) leaves most positions of the common
    # decreased/no-function alleles missing: not called, the variant is still listed.
    assert not cyp2c19.called
    assert "insufficient_coverage" in [c.code for c in cyp2c19.caveats]
    assert any(v.startswith("rs4244285") for v in cyp2c19.variants)


def test_bcf_input(kb: KnowledgeBase, builder: VcfBuilder, tmp_path: Path) -> None:
    import pysam

    builder.haplotypes("CYP2C19", "*1", "*2", phased=False)
    vcf = builder.write(tmp_path / "in.vcf")
    bcf = tmp_path / "in.bcf"
    with (
        pysam.VariantFile(str(vcf)) as src,
        pysam.VariantFile(str(bcf), "wb", header=src.header) as dst,
    ):
        for rec in src:
            dst.write(rec)
    (res,) = call_vcf(bcf, kb, None, CallOptions(genes=["CYP2C19"]))
    assert res.genes[0].diplotypes == ["*1/*2"]


def test_phase_sets_are_independent(kb: KnowledgeBase, tmp_path: Path) -> None:
    # *2 and *17 are written on the same strand but in different phase sets; the relative
    # orientation of two phase sets is unknown, so *2/*17 is the call. Treated as one phase
    # set, the strand would be a *2+*17 combination that matches no named allele.
    d = kb.definition("CYP2C19")
    star17 = d.allele("*17")
    ref = d.reference_allele
    flip = {
        d.positions[j].position
        for j, x in enumerate(star17.defined)
        if x is not None and x != ref.defined[j] and x != d.allele("*2").defined[j]
    }
    b = VcfBuilder(kb).haplotypes("CYP2C19", "*2", "*17", phased=True)
    lines = b.text().splitlines()
    out = []
    for ln in lines:
        if ln.startswith("##"):
            out.append(ln)
            continue
        if ln.startswith("#"):
            out.insert(1, '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">')
            out.append(ln)
            continue
        f = ln.split("\t")
        gt = f[9]
        if int(f[1]) in flip:
            a, c = gt.split("|")
            f[9] = f"{c}|{a}:2"
        else:
            f[9] = f"{gt}:1"
        f[8] = "GT:PS"
        out.append("\t".join(f))
    path = tmp_path / "ps.vcf"
    path.write_text("\n".join(out) + "\n")
    (res,) = call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"]))
    assert res.genes[0].diplotypes == ["*2/*17"]


def test_missing_to_reference_is_opt_in_and_caveated(kb: KnowledgeBase, tmp_path: Path) -> None:
    # A variant-only VCF: just the two *2 sites, heterozygous.
    d = kb.definition("CYP2C19")
    star2 = d.allele("*2")
    ref = d.reference_allele
    b = VcfBuilder(kb)
    for j, p in enumerate(d.positions):
        x = star2.defined[j]
        if x in p.alts and x != ref.defined[j] and p.rsid != "rs3758581":
            b.genotype("CYP2C19", p.position, f"{p.ref}/{x}")
    b.genotype("CYP2C19", "rs3758581", "G/G")
    path = b.write(tmp_path / "v.vcf")
    (plain,) = call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"]))
    assert plain.genes[0].positions.missing  # default: absent is missing, never reference
    (filled,) = call_vcf(path, kb, None, CallOptions(genes=["CYP2C19"], missing_to_reference=True))
    gc = filled.genes[0]
    assert gc.diplotypes == ["*1/*2"]
    assert gc.positions.missing == []
    assert any(c.code == "assumed_reference" for c in gc.caveats)
