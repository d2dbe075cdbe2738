#!/usr/bin/env python3
"""Build the packaged knowledge bases from ../shared/data (run by developers, never at run time).

Usage::

    python tools/build_kb.py [--shared ../shared] [--only pharmcat,pypgx,frequencies]

Writes ``src/precisionrx/kb/data/<source>/`` with trimmed, validated data files and an
``about.json`` (source, version, date, licence, per-file sha256 and a bundle sha256).
The converted files are committed; the package never reads ``../shared``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "precisionrx" / "kb" / "data"

GENES = [
    "ABCG2",
    "CACNA1S",
    "CFTR",
    "CYP2B6",
    "CYP2C19",
    "CYP2C9",
    "CYP2D6",
    "CYP3A4",
    "CYP3A5",
    "CYP4F2",
    "DPYD",
    "G6PD",
    "IFNL3",
    "NAT2",
    "NUDT15",
    "RYR1",
    "SLCO1B1",
    "TPMT",
    "UGT1A1",
    "VKORC1",
]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=None, separators=(",", ":"), ensure_ascii=False) + "\n")


def write_about(folder: Path, meta: dict[str, object]) -> None:
    files = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "about.json"
    }
    bundle = hashlib.sha256(
        "".join(f"{k}\t{v}\n" for k, v in sorted(files.items())).encode()
    ).hexdigest()
    about = {**meta, "files": files, "sha256": bundle}
    (folder / "about.json").write_text(json.dumps(about, indent=2, ensure_ascii=False) + "\n")


def build_pharmcat(shared: Path) -> None:
    src = shared / "data" / "pgx" / "pharmcat"
    out = OUT / "pharmcat"
    exemptions = json.loads((src / "definitions" / "exemptions.json").read_text())
    version = ""
    for gene in GENES:
        d = json.loads((src / "definitions" / f"{gene}_translation.json").read_text())
        version = d["version"]
        variants = [
            {
                "chromosome": v["chromosome"],
                "position": v["position"],
                "rsid": v.get("rsid"),
                "ref": v["ref"],
                "alts": v["alts"],
                "hgvs": v.get("chromosomeHgvsName"),
            }
            for v in d["variants"]
        ]
        alleles = []
        for a in d["namedAlleles"]:
            if len(a["alleles"]) != len(variants):
                raise SystemExit(f"{gene} {a['name']}: allele row length mismatch")
            score = sum(1 for x in a["alleles"] if x is not None)
            if a["score"] and score != a["score"]:
                raise SystemExit(f"{gene} {a['name']}: score {a['score']} != {score}")
            alleles.append(
                {"name": a["name"], "alleles": a["alleles"], "reference": a["reference"]}
            )
        ex = exemptions.get(gene, {})
        write_json(
            out / "definitions" / f"{gene}.json",
            {
                "format_version": 1,
                "source": "PharmCAT allele definitions (ClinPGx)",
                "version": d["version"],
                "modified": d["modificationDate"],
                "genome_build": "GRCh38",
                "license": "MPL-2.0 (content CPIC CC0, PharmVar/ClinPGx CC BY-SA 4.0)",
                "gene": gene,
                "chromosome": d["chromosome"],
                "variants": variants,
                "named_alleles": alleles,
                "exemptions": {
                    # Kept whole: an ignored position is one variant (position AND alleles),
                    # e.g. the G6PD Villeurbanne deletion left-aligned onto rs5030869's base.
                    "ignored_positions": [
                        {
                            "chromosome": p["chromosome"],
                            "position": p["position"],
                            "rsid": p.get("rsid"),
                            "ref": p["ref"],
                            "alts": p["alts"],
                            "hgvs": p.get("chromosomeHgvsName"),
                        }
                        for p in ex.get("ignoredPositions", [])
                    ],
                    "extra_positions": [
                        {
                            "chromosome": p["chromosome"],
                            "position": p["position"],
                            "rsid": p.get("rsid"),
                            "ref": p["ref"],
                            "alts": p["alts"],
                        }
                        for p in ex.get("extraPositions", [])
                    ],
                    "required_positions": ex.get("requiredPositions", []),
                    "ignored_alleles": ex.get("ignoredAlleles", []),
                    "unphased_priorities": [
                        {"list": p["list"], "pick": p["pick"]}
                        for p in ex.get("unphasedDiplotypePriorities", [])
                    ],
                    "amp1_alleles": ex.get("amp1Alleles", []),
                },
            },
        )
    # Phenotype tables (allele function, activity value, diplotype -> phenotype).
    pheno_files = {g: f"{g}.json" for g in GENES if (src / "phenotypes" / f"{g}.json").exists()}
    pheno_files["CYP2D6"] = "CYP2D6.cpic.v2.12.0.json"
    pheno_files["MT-RNR1"] = "MT_RNR1.json"
    for gene, fname in sorted(pheno_files.items()):
        p = json.loads((src / "phenotypes" / fname).read_text())
        alleles = {
            a["name"]: {"function": a.get("functionValue"), "activity": a.get("activityValue")}
            for a in p["namedAlleles"]
        }
        diplotypes = []
        for row in p["diplotypes"]:
            names = [n for n, c in row["diplotypekey"].items() for _ in range(c)]
            diplotypes.append([names, row["phenotype"], row.get("activityScore"), row["lookupkey"]])
        write_json(
            out / "phenotypes" / f"{gene}.json",
            {
                "format_version": 1,
                "source": f"PharmCAT phenotype table {fname}",
                "version": p.get("version"),
                "gene": gene,
                "alleles": alleles,
                "diplotypes": diplotypes,
            },
        )
    messages = json.loads((src / "misc" / "reporter_messages.json").read_text())
    write_json(out / "reporter_messages.json", messages)
    write_about(
        out,
        {
            "name": "pharmcat",
            "source": "PharmGKB/PharmCAT @ 5431bf1187e50383df7e7db18ef67b36fc8b562e "
            "(definitions, exemptions, phenotypes; CYP2D6 phenotypes from tag v2.12.0)",
            "version": version,
            "date": version[:10],
            "license": "MPL-2.0; content CPIC (CC0), PharmVar/ClinPGx (CC BY-SA 4.0)",
            "genome_build": "GRCh38",
        },
    )


def read_csv(path: Path) -> Iterable[dict[str, str]]:
    with path.open(newline="") as fh:
        yield from csv.DictReader(fh)


def build_pypgx(shared: Path) -> None:
    src = shared / "data" / "pgx" / "pypgx"
    out = OUT / "pypgx"
    out.mkdir(parents=True, exist_ok=True)
    genes = set(GENES)
    rows = [
        [
            r["Gene"],
            r["rsID"],
            r["Chromosome"],
            r["GRCh37Position"],
            r["GRCh38Position"],
            r["GRCh37Allele"],
            r["GRCh38Allele"],
            r["Variant"],
        ]
        for r in read_csv(src / "variant-table.csv")
        if r["Gene"] in genes
    ]
    with (out / "variants_dual_build.tsv").open("w") as fh:
        fh.write(
            "# PyPGx variant-table (MIT): GRCh37 and GRCh38 coordinates of PGx variants\n"
            "gene\trsid\tchrom\tgrch37_pos\tgrch38_pos\tgrch37_ref\tgrch38_ref\talt\n"
        )
        for r in rows:
            fh.write("\t".join(r) + "\n")
    with (out / "diplotype_phenotypes.tsv").open("w") as fh:
        fh.write(
            "# PyPGx diplotype-table (MIT, from CPIC): G6PD and RYR1 diplotype -> phenotype\n"
            "gene\tallele1\tallele2\tphenotype\n"
        )
        for r in read_csv(src / "diplotype-table.csv"):
            if r["Gene"] not in {"G6PD", "RYR1"}:
                continue
            a1, _, a2 = r["Diplotype"].partition("/")
            pheno = r["Phenotype"].removeprefix("G6PD ")
            fh.write(f"{r['Gene']}\t{a1}\t{a2}\t{pheno}\n")
    with (out / "allele_functions.tsv").open("w") as fh:
        fh.write("# PyPGx allele-table (MIT): allele function for G6PD and RYR1\n")
        fh.write("gene\tallele\tfunction\n")
        for r in read_csv(src / "allele-table.csv"):
            if r["Gene"] in {"G6PD", "RYR1"}:
                fh.write(f"{r['Gene']}\t{r['StarAllele']}\t{r['Function']}\n")
    write_about(
        out,
        {
            "name": "pypgx",
            "source": "sbslee/pypgx @ fa6b9f70747bdf1b6566adc5c21bb17276ae9f52 (api/data tables)",
            "version": "0.27.0-tables",
            "date": "2025-01-01",
            "license": "MIT; content from CPIC (CC0) and PharmGKB (CC BY-SA 4.0)",
            "genome_build": "GRCh37+GRCh38",
        },
    )


def build_frequencies(shared: Path) -> None:
    """Call every 1KGP panel haplotype and count named-allele frequencies."""
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))  # testkit/
    from testkit.panel_frequencies import panel_haplotype_counts, panel_position_frequencies

    panel = shared / "data" / "pgx" / "1kgp_panel_grch38"
    out = OUT / "frequencies_1kgp"
    out.mkdir(parents=True, exist_ok=True)
    labels_file = panel / "integrated_call_samples_v3.20130502.ALL.panel"
    labels = {
        row["sample"]: row["super_pop"]
        for row in csv.DictReader(labels_file.open(), delimiter="\t")
        if row.get("sample") and row.get("super_pop")
    }
    genes = panel_haplotype_counts(panel, labels)
    write_json(
        out / "haplotype_counts.json",
        {
            "format_version": 2,
            "source": "1000 Genomes 30x (NYGC) phased panel, 3,103 samples, GRCh38",
            "note": "Counts of panel haplotypes matched to a single named allele by "
            "precisionrx's phased matcher. Sites absent from the panel are missing, so alleles "
            "defined at such sites get no frequency ('no_frequency'). 'counts': every panel "
            "haplotype; 'populations': the panel samples that carry a 1000 Genomes phase-3 "
            "super-population label (integrated_call_samples_v3.20130502.ALL.panel: AFR, AMR, "
            "EAS, EUR, SAS), with the number of labelled haplotypes. Labels describe where "
            "samples were collected, not a person's ancestry.",
            "genes": genes,
        },
    )
    write_json(
        out / "position_frequencies.json",
        {
            "format_version": 1,
            "source": "1000 Genomes 30x (NYGC) phased panel, GRCh38, samples with a phase-3 "
            "super-population label",
            "note": "Per gene, allele-defining position and super-population: frequency of each "
            "non-reference allele among labelled haplotypes. Positions absent from the panel "
            "are monomorphic there and left out. Used to find the positions that define common "
            "decreased- and no-function alleles (data sufficiency of a call).",
            "genes": panel_position_frequencies(panel, labels),
        },
    )
    write_about(
        out,
        {
            "name": "frequencies_1kgp",
            "source": "sbslee/pypgx-bundle @ 919279ac733d4391e3a7c0f96ee0ed5e74c3297f "
            "1kgp/GRCh38 (NYGC 1KGP 30x phased), haplotypes called with precisionrx",
            "version": "2025-11-05",
            "date": "2025-11-05",
            "license": "1000 Genomes data: free use without restriction",
            "genome_build": "GRCh38",
        },
    )


def _plain(html: str) -> str:
    """Guideline HTML -> plain text (paragraphs and list items on their own lines)."""
    import html as htmllib
    import re

    text = re.sub(r"<(br|/p|/li|/h\d)[^>]*>", "\n", html)
    text = re.sub(r"<li[^>]*>", "- ", text)
    text = re.sub(r"<[^>]+>", "", text)
    lines = [htmllib.unescape(ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln)


def build_guidelines(shared: Path) -> None:
    """CPIC and DPWG guideline annotations (PharmCAT v2.12.0, data 2024-03-25) + drug codes."""
    src = shared / "data" / "pgx" / "pharmcat" / "guidelines_cpic_dpwg_2024-03"
    out = OUT / "guidelines"
    out.mkdir(parents=True, exist_ok=True)
    guidelines = []
    version = ""
    for path in sorted(src.glob("*.json")):
        d = json.loads(path.read_text())
        g = d["guideline"]
        version = d.get("version", version)
        recs = []
        for r in d["recommendations"]:
            recs.append(
                {
                    "lookup": r["lookupKey"],
                    "population": r.get("population") or "general",
                    "classification": (r.get("classification") or {}).get("term"),
                    "text": _plain((r.get("text") or {}).get("html") or ""),
                    "implications": r.get("implications") or [],
                    "drugs": [c["name"] for c in r.get("relatedChemicals") or []],
                    "dosing_information": bool(r.get("dosingInformation")),
                    "alternate_drug": bool(r.get("alternateDrugAvailable")),
                }
            )
        cites = d.get("citations") or []
        guidelines.append(
            {
                "id": g["id"],
                "file": path.name,
                "name": g["name"],
                "source": g["source"],
                "version": str(g.get("version")),
                "url": g.get("url"),
                "drugs": [c["name"] for c in g.get("relatedChemicals") or []],
                "genes": [x["symbol"] for x in g.get("relatedGenes") or []],
                "citation": (
                    f"{cites[0].get('title')} ({cites[0].get('journal')} {cites[0].get('year')}; "
                    f"PMID {cites[0].get('pmid')})"
                    if cites
                    else None
                ),
                "recommendations": recs,
            }
        )
    write_json(
        out / "guidelines.json",
        {
            "format_version": 1,
            "source": "PharmCAT guideline annotations (CPIC, DPWG via ClinPGx)",
            "version": version,
            "license": "MPL-2.0; CPIC text CC0; DPWG annotations CC BY-SA 4.0 (ClinPGx)",
            "guidelines": guidelines,
        },
    )
    drugs = []
    for r in read_csv(shared / "data" / "pgx" / "pypgx" / "cpic-table.csv"):
        drugs.append(
            {
                "gene": r["Gene"],
                "drug": r["Drug"],
                "rxnorm": r["RxNorm"],
                "atc": [a.strip() for a in r["ATC"].split(",") if a.strip() and a != "N/A"],
                "cpic_level": r["CPICLevel"],
            }
        )
    write_json(
        out / "drugs.json",
        {"format_version": 1, "source": "PyPGx cpic-table (MIT)", "drugs": drugs},
    )
    changes = []
    with (shared / "data" / "pgx" / "cpic" / "cpic_data_changelog.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            date = row["Date of Change"] or ""
            if len(date) == 10 and date[4] == "-" and date > "2024-03-25":
                changes.append(
                    {
                        "date": row["Date of Change"],
                        "type": row["Type of Data"],
                        "subject": row["Subject"],
                        "note": row["Note of Change"],
                    }
                )
    write_json(
        out / "cpic_changes_since_2024-03-25.json",
        {
            "format_version": 1,
            "source": "cpicpgx/cpic-data release 1.56.0 data.tsv (CC0), entries after 2024-03-25",
            "changes": changes,
        },
    )
    write_about(
        out,
        {
            "name": "guidelines",
            "source": "PharmGKB/PharmCAT tag v2.12.0 reporter/guidelines (118 CPIC and DPWG "
            "annotations); PyPGx cpic-table; cpicpgx/cpic-data 1.56.0 change log",
            "version": version,
            "date": version[:10],
            "license": "MPL-2.0 (PharmCAT); CPIC CC0; DPWG via ClinPGx CC BY-SA 4.0; PyPGx MIT",
        },
    )


def build_interactions(shared: Path) -> None:
    """Curated tables kept in the repo (tools/curated): CYP modulators, brand names."""
    import shutil

    out = OUT / "interactions"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("cyp_modulators.tsv", "brand_names.tsv", "patient_advice.tsv"):
        shutil.copyfile(ROOT / "tools" / "curated" / name, out / name)
    write_about(
        out,
        {
            "name": "interactions",
            "source": "precisionrx curated tables: FDA Drug Development and Drug Interactions "
            "table of CYP inhibitors/inducers (strong, moderate); brand names from product labels; "
            "plain-language advice and symptoms to report, paraphrased from the named product "
            "labels (patient_advice.tsv, unverified paraphrase)",
            "version": "2026-11-29",
            "date": "2026-11-29",
            "license": "Apache-2.0 (precisionrx); FDA content is public domain",
        },
    )


def write_treatment_effects(src: Path, dest: Path) -> None:
    """Copy the trial-effect table, mending rows whose ``population`` holds an unquoted
    thousands separator ("123 RCTs (613,815 participants)"): the extra fields belong to
    ``population``, or every later column (the citation above all) shifts by one."""
    with src.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    at = header.index("population")
    mended = []
    for row in rows:
        extra = len(row) - len(header)
        if extra > 0:
            row = [*row[:at], ",".join(row[at : at + extra + 1]), *row[at + extra + 1 :]]
        if len(row) != len(header):
            raise SystemExit(f"{src}: a row has {len(row)} fields, the header {len(header)}")
        mended.append(row)
    with dest.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *mended])


def build_cardio(shared: Path) -> None:
    """Risk-equation coefficients: PREVENT (preventr CSVs), PCE, SCORE2/SCORE2-OP."""
    import shutil

    src = shared / "data" / "cardio"
    out = OUT / "cardio"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((src / "prevent").glob("*")):
        shutil.copyfile(path, out / path.name)
    shutil.copyfile(src / "pce" / "pce_coefficients.json", out / "pce_coefficients.json")
    shutil.copyfile(src / "score2" / "score2_coefficients.json", out / "score2_coefficients.json")
    shutil.copyfile(shared / "data" / "plan" / "score2_diabetes.json", out / "score2_diabetes.json")
    shutil.copyfile(shared / "data" / "plan" / "statin_intensity.csv", out / "statin_intensity.csv")
    shutil.copyfile(
        src / "qrisk3" / "qrisk3_2017_coefficients.json", out / "qrisk3_2017_coefficients.json"
    )
    write_treatment_effects(
        src / "treatment" / "treatment_effects.csv", out / "treatment_effects.csv"
    )
    shutil.copyfile(src / "fh_lpa" / "fh_lpa_knowledge.json", out / "fh_lpa_knowledge.json")
    for name in ("diabetes_points.json", "fh_gene_windows.json"):
        shutil.copyfile(ROOT / "tools" / "curated" / name, out / name)
    write_about(
        out,
        {
            "name": "cardio",
            "source": "PREVENT coefficients (Khan 2024 supplement via martingmayer/preventr @ ebe2ac1, "
            "v0.12.0); PCE (Goff 2013) and revised PCE (Yadlowsky 2018); SCORE2/SCORE2-OP (ESC 2021, "
            "full precision as in Kaptoge's score2risk/score2oprisk); SCORE2-Diabetes (Eur Heart J "
            "2023;44:2544; coefficients as in dvicencio/RiskScorescvd @ 2ae1357 and the authors' "
            "score2dmrisk.ado @ abd8702, CC0 transcription); statin intensities (2018 AHA/ACC "
            "cholesterol guideline Table 3) and CPIC 2022 statin dose limits (Cooper-DeHoff, "
            "PMID 35152405) in statin_intensity.csv; QRISK3-2017 (ClinRisk "
            "open-source qrisk3.c via sisuhealthgroup/qrisk3 @ f1815fb, LGPL-3.0 + ClinRisk terms); "
            "ADA risk test (Bang 2009) and FINDRISC (Lindstrom 2003) points, curated in "
            "tools/curated/diabetes_points.json (unverified transcription); FH/LPA search windows "
            "(tools/curated/fh_gene_windows.json, unverified spans padded 50 kb)",
            "version": "2024-prevent-0.12.0",
            "date": "2025-01-01",
            "license": "coefficients are published facts; preventr MIT; our JSON transcriptions "
            "CC0; QRISK3 LGPL-3.0-or-later with ClinRisk additional terms (disclaimer shown with "
            "every score)",
        },
    )


def build_oncology_guidelines(shared: Path) -> None:
    """FDA tumour-agnostic labels (with their excluded tumour types and settings) and the
    guideline biomarker panels per tumour type, for the plan's oncology headline."""
    import shutil

    src = shared / "data" / "plan"
    out = OUT / "oncology_guidelines"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("tumor_agnostic_labels.csv", "tumor_biomarker_panels.csv"):
        shutil.copyfile(src / name, out / name)
    write_about(
        out,
        {
            "name": "oncology_guidelines",
            "source": "FDA tumour-agnostic indications (label text via MOAlmanac "
            "referenced/indications.json @ 7815662; approval years from CA Cancer J Clin 2020 "
            "Table 2, NEJM 2017, Ann Oncol 2020); guideline biomarker panels by OncoTree code "
            "(ASCP/CAP/AMP/ASCO 2017 colorectal, CAP/IASLC/AMP 2018 lung, ASCO breast 2022-2024, "
            "ASCO ovarian 2020, NCCN prostate/pancreas as quoted, ESMO NGS 2020/2024, MOAlmanac "
            "NCCN/FDA rows); curated 2026-12-03, every row cited with a verified flag",
            "version": "2026-12-03",
            "date": "2026-12-03",
            "license": "facts with citations (CC0 transcription); label text US public domain; "
            "MOAlmanac-derived text GPL-2.0, research use only",
        },
    )


#: MOAlmanac predictive implication -> PCGR-style strength (evidence_level_crosswalk.tsv).
MOA_STRENGTH = {"FDA-Approved": "strong", "Guideline": "strong"}
MOA_CLASS = {
    "Missense": "missense", "Nonsense": "nonsense", "Frameshift": "frameshift",
    "Splice Site": "splice", "Deletion": "deletion", "Insertion": "insertion",
    "Activating mutation": "activating",
}  # fmt: skip


def _variant_kind(protein: str, exon: str, vclass: str) -> str:
    from precisionrx.records.notation import codon

    if protein:
        return "codon" if codon(protein) == protein else "protein"
    if exon:
        return "exon"
    if vclass in {"nonsense", "frameshift", "splice"}:
        return "gene_lof"
    return "gene_any"


def _moalmanac_rows(path: Path) -> list[dict[str, str]]:
    from precisionrx.kb.oncology_sources import BIOMARKER_COLUMNS, drug_name
    from precisionrx.records.notation import codon, gene_symbol, protein_change, residues

    out = []
    for r in json.loads(path.read_text()):
        if r.get("_deprecated") in (True, "True"):
            continue
        sens, res = str(r.get("therapy_sensitivity") or ""), str(r.get("therapy_resistance") or "")
        if sens == "1":
            response = "sensitive"
        elif res == "1" or sens == "0":
            response = "resistant"
        else:
            continue  # prognostic-only rows carry no therapy response
        ft = r.get("feature_type") or ""
        row = dict.fromkeys(BIOMARKER_COLUMNS, "")
        row.update(
            source="moalmanac", source_id=str(r.get("assertion_id", "")),
            tumor_code=r.get("oncotree_code") or "", tumor_name=r.get("oncotree_term") or "",
            therapy=" + ".join(drug_name(d) for d in (r.get("therapy_name") or "").split(" + ")),
            therapy_type=r.get("therapy_type") or "",
            response=response, evidence_level=r.get("predictive_implication") or "",
            strength=MOA_STRENGTH.get(r.get("predictive_implication") or "", "weak"),
            approval="FDA-Approved" if r.get("predictive_implication") == "FDA-Approved" else "",
            citation=r.get("citation") or "", url=r.get("url") or "",
        )  # fmt: skip
        if ft in ("Somatic Variant", "Germline Variant"):
            protein = protein_change(r.get("protein_change"))
            vclass = MOA_CLASS.get(r.get("variant_annotation") or "", "")
            span = residues(protein) if protein else None
            row.update(
                feature="germline" if ft.startswith("Germline") else "somatic",
                gene=gene_symbol(r.get("gene") or ""), protein=protein, codon=codon(protein),
                aa_start=str(span[0]) if span else "", aa_end=str(span[1]) if span else "",
                hgvsc=r.get("cdna_change") or "", exon=str(r.get("exon") or ""),
                variant_class=vclass, kind=_variant_kind(protein, str(r.get("exon") or ""), vclass),
                chrom=str(r.get("chromosome") or ""), pos=str(r.get("start_position") or ""),
                ref=r.get("reference_allele") or "", alt=r.get("alternate_allele") or "",
                build="GRCh37" if r.get("start_position") else "",
            )  # fmt: skip
            label = " ".join(x for x in (row["gene"], protein or (
                f"exon {row['exon']} {vclass or 'mutation'}" if row["exon"] else vclass or "mutation"
            )) if x)  # fmt: skip
        elif ft == "Copy Number":
            direction = (r.get("direction") or "").lower()
            kind = "amplification" if direction.startswith("amp") else "deletion"
            row.update(feature="cna", gene=gene_symbol(r.get("gene") or ""), kind=kind)
            label = f"{row['gene']} {kind}"
        elif ft == "Rearrangement":
            g1, g2 = gene_symbol(r.get("gene1") or ""), gene_symbol(r.get("gene2") or "")
            row.update(feature="fusion", gene=g1, gene2=g2, kind="fusion")
            label = f"{g1}::{g2}" if g2 else f"{g1} fusion"
        elif ft == "Microsatellite Stability":
            row.update(feature="msi", kind="msi_high")
            label = "MSI-H"
        elif ft == "Mutational Burden":
            row.update(feature="tmb", kind="tmb_high")
            label = "TMB-H"
        else:
            row.update(feature="other", kind="unsupported", gene=r.get("gene") or "")
            label = ft
        row["alteration"] = label
        out.append(row)
    return out


def _name_located_changes(rows: list[dict[str, str]]) -> None:
    """Give coordinate-only rows the protein change other rows name at the same variant.

    CIViC 2018 names ABL1 T315I "BCR-ABL T334I" (isoform 1b numbering) and gives its GRCh37
    coordinates; MOAlmanac names the same coordinates (9:133748283 C>T) ABL1 p.T315I. The
    shared coordinates make the CIViC item matchable by protein too, so annotated input
    without coordinates reaches it.
    """
    named: dict[tuple[str, str, str, str, str], dict[str, str]] = {}
    for r in rows:
        if r["kind"] == "protein" and r["protein"] and r["pos"]:
            named.setdefault((r["gene"], r["chrom"], r["pos"], r["ref"], r["alt"]), r)
    for r in rows:
        if r["kind"] != "genomic":
            continue
        other = named.get((r["gene"], r["chrom"], r["pos"], r["ref"], r["alt"]))
        if other is not None:
            r.update(kind="protein", protein=other["protein"], codon=other["codon"],
                     aa_start=other["aa_start"], aa_end=other["aa_end"])  # fmt: skip


def build_oncology(shared: Path) -> None:
    """MOAlmanac (primary) and CIViC 2018-05 in one biomarker table; OncoTree subset; TMB/MSI."""
    import shutil

    sys.path.insert(0, str(ROOT / "src"))
    from collections import Counter

    from precisionrx.engines.oncology.knowledge import (
        LIFTOVER_COLUMNS,
        LIFTOVER_REPORT_COLUMNS,
        coordinate_key,
        lift_rows,
    )
    from precisionrx.kb.liftover import chain_file_name, read_chain
    from precisionrx.kb.oncology_sources import BIOMARKER_COLUMNS, civic_rows, read_disease_map

    src = shared / "data" / "oncology"
    out = OUT / "oncology"
    out.mkdir(parents=True, exist_ok=True)
    curated = ROOT / "tools" / "curated"
    disease_map = read_disease_map(curated / "civic_disease_oncotree.tsv")
    rows = _moalmanac_rows(src / "moalmanac-db" / "molecular-oncology-almanac.json")
    rows += civic_rows(
        src / "civic-2018-05-18" / "nightly-ClinicalEvidenceSummaries.tsv",
        disease_map,
        "2018-05-18",
    )
    _name_located_changes(rows)
    with (curated / "oncology_supplementary_evidence.tsv").open(encoding="utf-8") as fh:
        rows += list(csv.DictReader((x for x in fh if not x.startswith("#")), delimiter="\t"))
    # GRCh38 coordinates of the (GRCh37) biomarker variants, by the packaged Ensembl chains
    # (run the genome step first); failures are listed in liftover_report.tsv.
    genome = OUT / "genome"
    forward = read_chain(genome / chain_file_name("GRCh37", "GRCh38"), source_build="GRCh37",
                         target_build="GRCh38")  # fmt: skip
    back = read_chain(genome / chain_file_name("GRCh38", "GRCh37"), source_build="GRCh38",
                      target_build="GRCh37")  # fmt: skip
    failures = lift_rows(rows, forward, back)
    with (out / "biomarkers.tsv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(
            fh, BIOMARKER_COLUMNS + LIFTOVER_COLUMNS, delimiter="\t", lineterminator="\n"
        )
        w.writeheader()
        w.writerows(rows)
    with (out / "liftover_report.tsv").open("w", newline="", encoding="utf-8") as fh:
        fh.write(
            "# GRCh37 biomarker variants not converted to GRCh38 (Ensembl chain "
            f"{forward.sha256[:12]}); they match GRCh38 input by protein, exon or gene only\n"
        )
        w = csv.DictWriter(fh, list(LIFTOVER_REPORT_COLUMNS), delimiter="\t",
                           lineterminator="\n")  # fmt: skip
        w.writeheader()
        w.writerows(failures)
    lifted = [r for r in rows if r["liftover"]]
    summary = {
        "chain": forward.name.rsplit("/", 1)[-1],
        "chain_sha256": forward.sha256,
        "round_trip_chain_sha256": back.sha256,
        "rows_with_coordinates": len(lifted),
        "rows_converted": sum(r["liftover"] == "ok" for r in lifted),
        "rows_failed": sum(r["liftover"] != "ok" for r in lifted),
        "variants_with_coordinates": len({coordinate_key(r) for r in lifted}),
        "variants_failed": len(failures),
        "rows_by_method": dict(
            sorted(Counter(r["liftover_method"] or r["liftover"] for r in lifted).items())
        ),
        "reference_bases_checked": False,
        "report": "liftover_report.tsv",
    }
    print(
        f"oncology: {summary['rows_converted']} of {summary['rows_with_coordinates']} biomarker "
        f"rows with GRCh37 coordinates converted to GRCh38; {summary['variants_failed']} of "
        f"{summary['variants_with_coordinates']} distinct variants failed (liftover_report.tsv)"
    )
    shutil.copyfile(curated / "oncotree_subset.tsv", out / "oncotree_subset.tsv")
    shutil.copyfile(curated / "civic_disease_oncotree.tsv", out / "civic_disease_oncotree.tsv")
    shutil.copyfile(curated / "oncology_evidence_flags.tsv", out / "evidence_flags.tsv")
    shutil.copyfile(src / "evidence_level_crosswalk.tsv", out / "evidence_level_crosswalk.tsv")
    shutil.copyfile(src / "tmb_msi_reference.json", out / "tmb_msi_reference.json")
    write_about(
        out,
        {
            "name": "oncology",
            "source": "MOAlmanac-db (vanallenlab/moalmanac-db @ 7815662, 2026-05-15; primary) and "
            "CIViC nightly ClinicalEvidenceSummaries 2018-05-18 (OUT OF DATE: refresh with "
            "`precisionrx kb add civic FILE`); OncoTree subset and CIViC disease map curated "
            "by precisionrx (tools/curated, unverified)",
            "version": "moalmanac-2026-05-15+civic-2018-05-18",
            "date": "2026-05-15",
            "license": "MOAlmanac data GPL-2.0 with the upstream research-use-only notice; "
            "CIViC CC0 1.0; curated tables CC0",
            "notice": "MOAlmanac: for research use only; not for diagnostic or clinical use "
            "(Dana-Farber / Broad Institute notice). CIViC snapshot dated 2018-05-18.",
            "genome_build": "GRCh37 (chrom, pos, ref, alt); GRCh38 (*_grch38, converted)",
            "inputs": {
                "genome/" + summary["chain"]: forward.sha256,
                "genome/" + chain_file_name("GRCh38", "GRCh37"): back.sha256,
            },
            "liftover": summary,
        },
    )


def build_genome(shared: Path) -> None:
    """Ensembl GRCh37 <-> GRCh38 chain files, checked against SHA256SUMS and parsed."""
    import shutil

    sys.path.insert(0, str(ROOT / "src"))
    from precisionrx.kb.liftover import chain_file_name, read_chain

    src = shared / "data" / "genome" / "liftover"
    out = OUT / "genome"
    out.mkdir(parents=True, exist_ok=True)
    sums = {}
    for line in (src / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    for a, b in (("GRCh37", "GRCh38"), ("GRCh38", "GRCh37")):
        name = chain_file_name(a, b)
        if sha256_file(src / name) != sums.get(name):
            raise SystemExit(f"{src / name}: sha256 differs from SHA256SUMS")
        shutil.copyfile(src / name, out / name)
        chain = read_chain(out / name, source_build=a, target_build=b)
        print(f"genome: {name}: {chain.n_chains} chains, {chain.n_blocks} aligned blocks")
    write_about(
        out,
        {
            "name": "genome",
            "source": "Ensembl assembly mapping chain files (ftp.ensembl.org/pub/assembly_mapping/) "
            "as redistributed in liguowang/CrossMap @ 2fefee44 (chain_files/human/); UCSC chain "
            "format, Ensembl chromosome names (1..22, X, Y, MT; no chr prefix)",
            "version": "ensembl-assembly-mapping@crossmap-2fefee44",
            "license": "Ensembl data: no restrictions on use",
            "genome_build": "GRCh37<->GRCh38",
        },
    )


def build_monitoring(shared: Path) -> None:
    """CGM consensus targets (Battelino 2019/2023) and alert reference parameters."""
    import shutil

    src = shared / "data" / "monitoring" / "reference"
    out = OUT / "monitoring"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("cgm_consensus_targets.csv", "cgm_alert_reference.csv", "loinc_wearables.csv"):
        shutil.copyfile(src / name, out / name)
    write_about(
        out,
        {
            "name": "monitoring",
            "source": "CGM consensus targets (Battelino 2019 Diabetes Care 42:1593; Battelino 2023 "
            "Lancet Diabetes Endocrinol 11:42; Bergenstal 2018; Klonoff 2023), alert parameters "
            "(Nightscout 15.0.7 settings, Dexcom labelling; 'verified' column), LOINC codes for "
            "wearables (HL7 CGM IG 1.0.0)",
            "version": "2026-11-29",
            "date": "2026-11-29",
            "license": "facts compiled CC0; LOINC content (c) Regenstrief Institute, LOINC licence",
        },
    )


def build_limits(shared: Path) -> None:
    """Physiological plausibility limits (tools/curated/plausibility_limits.tsv), one table for
    every reader (src/precisionrx/kb/limits.py)."""
    import shutil

    out = OUT / "limits"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        ROOT / "tools" / "curated" / "plausibility_limits.tsv", out / "plausibility.tsv"
    )
    write_about(
        out,
        {
            "name": "limits",
            "source": "precisionrx curated table of physiological plausibility limits; each row "
            "names its source and whether it is verified (tools/curated/plausibility_limits.tsv)",
            "version": "2026-12-01",
            "date": "2026-12-01",
            "license": "Apache-2.0 (precisionrx)",
        },
    )


_SALICYLATE_FIX = (
    "the transcription maps the paper's class 'Salicylates' to aminosalicylate, methacholine, "
    "morpholine salicylate and niclosamide (a mapping error flagged in the row's note); the row "
    "is kept with aspirin, the salicylate the note names, and matches no other salicylate"
)
_ESOMEPRAZOLE_FIX = "misspelt 'Esmoprazole' in the transcription: esomeprazole"
#: Transcription errors of the curated tables, applied by the reader (kb/ddi.py): (file, row
#: key, column, value as shipped, corrected value, reason). The copied tables stay identical to
#: the curated ones; a shipped value that no longer matches makes the build fail.
DDI_CORRECTIONS = [
    ("ddi_non_interruptive.csv", "1", "precipitant_members",
     "Aminosalicylate;Methacholine;Morpholine Salicylate;Niclosamide", "Aspirin", _SALICYLATE_FIX),
    ("ddi_non_interruptive.csv", "29", "precipitant_members",
     "Aminosalicylate;Methacholine;Morpholine Salicylate;Niclosamide", "Aspirin", _SALICYLATE_FIX),
    ("ddi_non_interruptive.csv", "4", "precipitant_members",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esmoprazole",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esomeprazole", _ESOMEPRAZOLE_FIX),
    ("ddi_non_interruptive.csv", "20", "precipitant_members",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esmoprazole",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esomeprazole", _ESOMEPRAZOLE_FIX),
    ("ddi_non_interruptive.csv", "21", "object_members",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esmoprazole",
     "Omeprazole;Lansoprazole;Pantoprazole;Rabeprazole;Esomeprazole", _ESOMEPRAZOLE_FIX),
    ("ddi_non_interruptive.csv", "32", "precipitant_members",
     "Physostigmine;neostigmine;Pyridostigmine;Ambenonium;Demecariuim;Edrophonium",
     "Physostigmine;neostigmine;Pyridostigmine;Ambenonium;Demecarium;Edrophonium",
     "misspelt 'Demecariuim' in the transcription: demecarium"),
]  # fmt: skip


def build_ddi(shared: Path) -> None:
    """Drug-drug interactions between the patient's medicines (kb/ddi.py): the curated table
    of clinically major pairs with its class members and the ONC 2013 low-priority pairs,
    copied unchanged, plus the corrections of known transcription errors
    (``ddi_corrections.csv``, from :data:`DDI_CORRECTIONS`)."""
    import shutil

    src = shared / "data" / "plan"
    out = OUT / "ddi"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("ddi_major.csv", "ddi_classes.csv", "ddi_non_interruptive.csv"):
        shutil.copyfile(src / name, out / name)
    keys = {"ddi_non_interruptive.csv": "onc2013_id", "ddi_major.csv": "id"}
    for file, key, column, old, _new, _why in DDI_CORRECTIONS:
        rows = {r[keys[file]]: r for r in read_csv(src / file)}
        if rows.get(key, {}).get(column) != old:
            raise SystemExit(f"{file} row {key}: {column} is no longer {old!r}; review the fix")
    with (out / "ddi_corrections.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "row", "column", "shipped", "corrected", "reason"])
        writer.writerows(DDI_CORRECTIONS)
    write_about(
        out,
        {
            "name": "ddi",
            "source": "Plan-level drug-drug interactions (ddi_major.csv: 128 rows curated "
            "2026-12-03, each cited in its source column with a verified flag): ONC high-priority "
            "list (Phansalkar S et al. JAMIA 2012;19:735-743, Table 2, PMC3422823); FDA labels "
            "(Zocor highlights table, lovastatin, Plavix section 7, omeprazole/esomeprazole label "
            "change 2012, Xeloda boxed warning, Zanaflex, Colcrys, Tikosyn, Inspra, Brilinta "
            "boxed warning); FDA Drug Safety Communications (citalopram 2011/2012, linezolid and "
            "methylene blue 2011, opioids with benzodiazepines 2016); EMA/BfArM DHPC brivudine "
            "2020; EMA CHMP 2014 dual RAS blockade; Campto SmPC; Medsafe Prescriber Update 2022; "
            "Can Fam Physician 2014; Australian Prescriber and bpac NZ (lithium); Kolesar 1999; "
            "Kerin 1988; Sanoski 2002; Hansten & Horn; CPIC 2018 tamoxifen. Class members "
            "(ddi_classes.csv) and the ONC 2013 non-interruptive list (Phansalkar S et al. JAMIA "
            "2013;20:489-493, PMC3628052; ddi_non_interruptive.csv) as transcribed in "
            "dbmi-pitt/public-PDDI-analysis @ 8199ee66b60bcb337f777889a210dd0d72a96e8f (Ayvaz S et "
            "al. Toward a complete dataset of drug-drug interaction information from publicly "
            "available sources. J Biomed Inform 2015;55:206-217); transcription errors corrected "
            "in ddi_corrections.csv. No QT list: CredibleMeds forbids redistribution",
            "version": "2026-12-03",
            "date": "2026-12-03",
            "license": "our tables and corrections CC0; FDA label text US public domain; ONC "
            "2012/2013 drug-name lists are facts from the publications (taken without code from "
            "a repository with no licence file; cite Ayvaz 2015 as it asks)",
        },
    )


#: The ZIP3 prefixes that HIPAA Safe Harbor row B names as restricted (2000 Census areas of 20,000
#: people or fewer); the build refuses a table that lists any other set.
RESTRICTED_ZIP3 = ("036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830",
                   "831", "878", "879", "884", "890", "893")  # fmt: skip


def build_privacy(shared: Path) -> None:
    """HIPAA Safe Harbor de-identification (45 CFR 164.514(b)(2)), read by
    ``precisionrx.security.deid``: the 18 identifier classes (A-R) with their FHIR R4 locations,
    copied unchanged, and ``safe_harbor.json`` (the same rows plus the restricted ZIP3 prefixes
    parsed from row B, checked against :data:`RESTRICTED_ZIP3`)."""
    import re
    import shutil

    src = shared / "data" / "interop" / "privacy" / "hipaa_safe_harbor_identifiers.csv"
    out = OUT / "privacy"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out / "hipaa_safe_harbor_identifiers.csv")
    rows = list(read_csv(src))
    letters = [r["letter"] for r in rows]
    if letters != [chr(c) for c in range(ord("A"), ord("R") + 1)]:
        raise SystemExit(f"{src.name}: expected the 18 identifiers A-R, got {letters}")
    geo = next(r for r in rows if r["letter"] == "B")["rule_text_summary"]
    listed = re.search(r"(\d+) restricted ZIP3s: ([\d ]+)", geo)
    if listed is None:
        raise SystemExit(f"{src.name}: row B no longer lists the restricted ZIP3 prefixes")
    zip3 = tuple(listed.group(2).split())
    if zip3 != RESTRICTED_ZIP3 or int(listed.group(1)) != len(zip3):
        raise SystemExit(f"{src.name}: restricted ZIP3 prefixes changed: {zip3}; review them")
    write_json(
        out / "safe_harbor.json",
        {
            "format_version": 1,
            "source": "45 CFR 164.514(b)(2)(i)(A)-(R) and HHS OCR de-identification guidance "
            "(2012), via shared/data/interop/privacy/hipaa_safe_harbor_identifiers.csv",
            "version": "2026-12-05",
            "modified": "2026-12-05",
            "license": "regulation text US public domain; table CC0",
            "regulation": "45 CFR 164.514(b)(2)",
            "restricted_zip3": {
                "prefixes": list(zip3),
                "census": "2000",
                "rule": "45 CFR 164.514(b)(2)(i)(B): the initial three digits of a ZIP code "
                "may stay if the area they cover has more than 20,000 people, else they "
                "become 000",
                "population_threshold": 20000,
            },
            "identifiers": [
                {
                    "letter": r["letter"],
                    "identifier": r["identifier"],
                    "rule": r["rule_text_summary"],
                    "fhir_r4_locations": r["typical_fhir_r4_locations"],
                    "default_transform": r["default_transform"],
                }
                for r in rows
            ],
        },
    )
    write_about(
        out,
        {
            "name": "privacy",
            "source": "HIPAA Privacy Rule Safe Harbor de-identification standard, 45 CFR "
            "164.514(b)(2): the 18 identifiers (A-R) mapped to FHIR R4 elements, and the 17 "
            "restricted three-digit ZIP prefixes (2000 Census, HHS OCR guidance 2012); table "
            "written for precisionrx from the regulation text "
            "(shared/data/interop/privacy/hipaa_safe_harbor_identifiers.csv)",
            "version": "2026-12-05",
            "date": "2026-12-05",
            "license": "regulation and HHS guidance: US government work, public domain; table "
            "CC0 1.0",
        },
    )


def build_mental_health(shared: Path) -> None:
    """Mental-health questionnaires (kb/questionnaires.py): PHQ-9, PHQ-2, GAD-7, GAD-2, PHQ-15,
    EPDS, AUDIT-C and ASRS v1.1 Part A as facts (item counts, response scales, severity bands,
    safety rules, missing-item status, LOINC codes) and the measurement-based-care block
    (response, remission, reassessment), copied unchanged from
    ``shared/data/mental_health/questionnaires.json``; the guideline steps of depression care
    (NICE NG222, CANMAT 2023, STAR*D, APA 2010 ..., kb/mbc.py) copied unchanged from
    ``shared/data/mental_health/guideline_steps.csv``."""
    import csv
    import shutil

    folder = shared / "data" / "mental_health"
    src = folder / "questionnaires.json"
    out = OUT / "mental_health"
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads(src.read_text(encoding="utf-8"))
    ids = [i["id"] for i in data["instruments"]]
    for core in ("PHQ-9", "PHQ-2", "GAD-7", "GAD-2"):
        if core not in ids:
            raise SystemExit(f"{src.name}: instrument {core} missing (got {ids})")
    if not {"response", "remission"} <= set(data.get("measurement_based_care") or {}):
        raise SystemExit(f"{src.name}: measurement_based_care lacks response or remission")
    steps = folder / "guideline_steps.csv"
    with steps.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    step_ids = [r["step_id"] for r in rows]
    needed = ("first_review", "no_response_review", "further_line_options", "continuation",
              "adjunct_over_serial_switch", "mbc_definitions")  # fmt: skip
    for step in needed:
        if step_ids.count(step) != 1:
            raise SystemExit(f"{steps.name}: step {step} found {step_ids.count(step)} times")
    drugs = folder / "pgx_psychiatry_drugs.csv"
    with drugs.open(encoding="utf-8", newline="") as fh:
        drug_rows = list(csv.DictReader(fh))
    if not drug_rows or not {"drug", "gene", "cpic_level", "source"} <= set(drug_rows[0]):
        raise SystemExit(f"{drugs.name}: expected columns drug, gene, cpic_level, source")
    shutil.copyfile(src, out / "questionnaires.json")
    shutil.copyfile(steps, out / "guideline_steps.csv")
    shutil.copyfile(drugs, out / "pgx_psychiatry_drugs.csv")
    # Medication options (kb/psychotropics.py): side-effect categories, NMA priors, and the
    # project's candidate and caution tables.
    for name, columns in (
        ("psychotropic_side_effects.csv", {"drug", "class", "acb_score_acbcalc_2023", "verified",
                                           "source"}),
        ("antidepressant_nma.csv", {"drug", "efficacy_or_vs_placebo", "verified", "source"}),
        ("antipsychotic_nma.csv", {"drug", "efficacy_smd_vs_placebo", "verified", "source"}),
    ):  # fmt: skip
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            header = set(next(csv.reader(fh)))
        if not columns <= header:
            raise SystemExit(f"{name}: expected columns {sorted(columns - header)}")
        shutil.copyfile(folder / name, out / name)
    for name in ("mh_condition_candidates.csv", "mh_cautions.csv"):
        text = (ROOT / "tools" / "curated" / name).read_text(encoding="utf-8")
        body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        rows = list(csv.DictReader(body))
        if not rows or any(not r.get("source") for r in rows):
            raise SystemExit(f"{name}: every row needs a source")
        (out / name.removeprefix("mh_")).write_text(text, encoding="utf-8")
    write_about(
        out,
        {
            "name": "mental_health",
            "source": "precisionrx curated reference of public mental-health questionnaires "
            "(shared/data/mental_health/questionnaires.json, retrieved 2026-12-03): items as "
            "short neutral labels (no item wording), response scales, severity bands (Kroenke "
            "2001 PHQ-9; Spitzer 2006 / Kroenke 2007 GAD-7; Kroenke 2003 PHQ-2; Kroenke 2007 "
            "GAD-2; Kroenke 2002 PHQ-15; Cox 1987 EPDS; Bush 1998 / Bradley 2003 AUDIT-C), "
            "safety rules, missing-item status and LOINC codes (NLM LHC-Forms "
            "LHNCBC/lforms-fhir-app @ 00585d0, HL7 SDC and PHR-format IGs); cut-points "
            "cross-checked with CamCOPS (facts only, no code); measurement-based-care "
            "definitions (response: STAR*D Trivedi 2006, GUIDED Greden 2019; remission per "
            "instrument; reassessment: NICE NG222 1.4.11, 1.4.24, 1.9.1-1.9.4). "
            "guideline_steps.csv (shared/data/mental_health/guideline_steps.csv, retrieved "
            "2026-12-03): steps of depression care paraphrased from NICE NG222 (2022), CANMAT "
            "2023 (Lam 2024), STAR*D (Trivedi 2006), GUIDED (Greden 2019), GAPP-MDD (2022) and "
            "APA 2010, each row with its source and a verified flag. "
            "pgx_psychiatry_drugs.csv (shared/data/mental_health, retrieved 2026-12-03): "
            "psychiatric drug x gene pairs with CPIC level and status (CPIC gene-drug table via "
            "sbslee/pypgx cpic-table.csv @ fa6b9f7), PharmGKB level, FDA label PGx category, "
            "DPWG guideline ids (PharmCAT v2.12.0 data 2024-03-25), used to pick the psychiatric "
            "medicines out of a medication list. "
            "psychotropic_side_effects.csv, antidepressant_nma.csv, antipsychotic_nma.csv "
            "(shared/data/mental_health, retrieved 2026-12-03): anticholinergic burden (Boustani "
            "2008/2012 column; ACBcalc 2023), Maudsley 13th-ed. relative adverse-effect "
            "categories and the FDA citalopram QT note, all secondary transcriptions "
            "(verified=false); Cipriani 2018 antidepressant response ORs and Huhn 2019 "
            "antipsychotic SMDs vs placebo (verified per row). condition_candidates.csv and "
            "cautions.csv: precisionrx curated (tools/curated/mh_*.csv, 2026-12-05), candidate "
            "medicines per condition (Cipriani 2018, Huhn 2019, NICE NG222/CG113/CG185/NG87) "
            "and record-triggered cautions (MHRA 2018 valproate, FDA citalopram, NICE NG222, "
            "Lexi CYP1A2/smoking), each row cited with a verified flag",
            "version": "2026-12-03",
            "date": "2026-12-03",
            "license": "facts and short neutral labels only (no verbatim item wording); table "
            "CC0. Instrument licences, per instrument in the file: PHQ/GAD Pfizer, free to "
            "reproduce; EPDS (c) 1987 Royal College of Psychiatrists, permission needed to "
            "redistribute item text; AUDIT WHO, non-commercial; ASRS WHO/Harvard. LOINC content "
            "(c) Regenstrief Institute, LOINC licence. guideline_steps.csv: NICE content (c) "
            "NICE, facts paraphrased (no verbatim recommendation text); the other rows facts. "
            "pgx_psychiatry_drugs.csv: CPIC data CC0; PharmGKB/DPWG annotations CC BY-SA 4.0. "
            "Side-effect categories: facts from copyrighted tables (Maudsley, ACB), kept as "
            "categories only; NMA estimates: published facts; curated tables CC0",
        },
    )


#: Build steps, run in this order.
STEPS = {
    "pharmcat": build_pharmcat, "pypgx": build_pypgx, "frequencies": build_frequencies,
    "guidelines": build_guidelines, "interactions": build_interactions, "cardio": build_cardio,
    "genome": build_genome, "oncology": build_oncology, "monitoring": build_monitoring,
    "oncology_guidelines": build_oncology_guidelines, "ddi": build_ddi,
    "privacy": build_privacy, "mental_health": build_mental_health,
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--only", default=",".join(STEPS), help="comma list of steps to run")
    args = ap.parse_args()
    wanted = set(args.only.split(","))
    for name, step in STEPS.items():  # always in this order, whatever the --only order
        if name in wanted:
            step(args.shared)
    if "limits" in wanted or wanted == set(STEPS):
        build_limits(args.shared)


if __name__ == "__main__":
    main()
