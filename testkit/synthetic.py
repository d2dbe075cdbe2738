"""Synthetic VCFs written from allele definitions (tests, demo data, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import IUPAC, DefinedPosition, NamedAllele

HEADER = """##fileformat=VCFv4.2
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">
##INFO=<ID=END,Number=1,Type=Integer,Description="End of reference block">
"""
CONTIGS = {
    "1": 248956422, "2": 242193529, "4": 190214555, "6": 170805979, "7": 159345973,
    "8": 145138636, "10": 133797422, "12": 133275309, "13": 114364328, "16": 90338345,
    "19": 58617616, "22": 50818468, "X": 156040895,
}  # fmt: skip


def allele_sequence(allele: NamedAllele, ref: NamedAllele, j: int, pos: DefinedPosition) -> str:
    """A concrete sequence for the allele at position j (IUPAC codes resolved)."""
    d = allele.defined[j] if allele.defined[j] is not None else ref.defined[j]
    if d is None:
        return pos.ref
    if len(d) == 1 and d in IUPAC:
        known = [x for x in (pos.ref, *pos.alts) if x in IUPAC[d]]
        return known[0] if known else sorted(IUPAC[d])[0]
    return d


@dataclass
class VcfBuilder:
    """Build a VCF: ``VcfBuilder(kb).allele("CYP2C19", "*2", "*17").write(path)``."""

    kb: KnowledgeBase
    samples: list[str] = field(default_factory=lambda: ["S1"])
    chr_prefix: bool = True
    rows: dict[tuple[str, int], dict[str, object]] = field(default_factory=dict)
    declare_contigs: bool = True

    def site(
        self,
        chrom: str,
        pos: int,
        ref: str,
        alts: list[str],
        gts: list[str],
        rsid: str = ".",
        info: str = ".",
    ) -> VcfBuilder:
        self.rows[(chrom, pos)] = {"ref": ref, "alts": alts, "gts": gts, "id": rsid, "info": info}
        return self

    def genotype(self, gene: str, rsid_or_pos: str | int, gt: str) -> VcfBuilder:
        """Genotype given as bases, e.g. ``"G/A"`` or ``"A|G"``, at a definition position."""
        defn = self.kb.definition(gene)
        pos = next(
            p
            for p in list(defn.positions) + list(defn.exemptions.extra_positions)
            if p.rsid == rsid_or_pos or p.position == rsid_or_pos
        )
        sep = "|" if "|" in gt else "/"
        bases = gt.split(sep) if gt not in {".", "./."} else [".", "."]
        alleles = [pos.ref, *pos.alts]
        alts = list(pos.alts)
        idx = []
        for b in bases:
            if b == ".":
                idx.append(".")
                continue
            if b not in alleles:
                alts.append(b)
                alleles.append(b)
            idx.append(str(alleles.index(b)))
        chrom = defn.chromosome.removeprefix("chr")
        self.site(chrom, pos.position, pos.ref, alts or ["."], [sep.join(idx)], pos.rsid or ".")
        return self

    def haplotypes(
        self, gene: str, first: str, second: str | None, phased: bool = True
    ) -> VcfBuilder:
        """Write the diplotype first/second at every defining position of the gene."""
        defn = self.kb.definition(gene)
        a = defn.allele(first)
        b = defn.allele(second) if second is not None else None
        ref = defn.reference_allele
        sep = "|" if phased else "/"
        for j, pos in enumerate(defn.positions):
            x = allele_sequence(a, ref, j, pos)
            if b is None:
                self.genotype(gene, pos.position, x)
            else:
                self.genotype(gene, pos.position, f"{x}{sep}{allele_sequence(b, ref, j, pos)}")
        return self

    def text(self) -> str:
        lines = [HEADER.rstrip("\n")]
        if self.declare_contigs:
            for c, ln in CONTIGS.items():
                name = f"chr{c}" if self.chr_prefix else c
                lines.append(f"##contig=<ID={name},length={ln}>")
        lines.append(
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(self.samples)
        )
        order = sorted(self.rows, key=lambda k: (list(CONTIGS).index(k[0]), k[1]))
        for chrom, pos in order:
            r = self.rows[(chrom, pos)]
            name = f"chr{chrom}" if self.chr_prefix else chrom
            gts = r["gts"]
            assert isinstance(gts, list)
            if len(gts) < len(self.samples):
                gts = gts + [gts[-1]] * (len(self.samples) - len(gts))
            alts = r["alts"]
            assert isinstance(alts, list)
            lines.append(
                f"{name}\t{pos}\t{r['id']}\t{r['ref']}\t{','.join(alts)}\t.\tPASS\t{r['info']}\tGT\t"
                + "\t".join(str(g) for g in gts)
            )
        return "\n".join(lines) + "\n"

    def write(self, path: Path, bgzip: bool = False) -> Path:
        path.write_text(self.text())
        if bgzip:
            import pysam

            out = pysam.tabix_index(str(path), preset="vcf", force=True)
            return Path(out)
        return path
