#!/usr/bin/env python3
"""Write the bundled synthetic demo patient (src/precisionrx/demo/).

The VCF covers every allele-defining position (reference unless stated) and carries:
CYP2C19 *2/*2, SLCO1B1 rs4149056 T/C, DPYD c.2846A>T heterozygous, CYP2D6 *1/*4,
UGT1A1 *1/*28, and one deliberately missing position (CYP2C19 rs12248560, the *17 site).
A tumour MAF (colorectal, BRAF V600E) exercises the oncology section, and 28 days of 5-minute CGM
readings the monitoring section: the first 14 days well controlled, the last 14 with higher
evening peaks and lows around 03:00 (the plan finds the fall in time in range and the new
nocturnal lows, and with no laboratory HbA1c the GMI stands in for it in the risk equations).
The person is synthetic.
"""

from __future__ import annotations

import sys
from pathlib import Path

from precisionrx.kb.registry import KnowledgeBase

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ is at the root
from testkit.synthetic import VcfBuilder

OUT = Path(__file__).resolve().parents[1] / "src" / "precisionrx" / "demo"

PATIENT = """\
# Synthetic demo patient for `precisionrx demo`. Not a real person.
id: demo-001
name: Alex Example (synthetic)
demographics:
  sex_at_birth: female
  age_years: 58
  ancestry_self_reported: European
  country: GB
conditions:
  - {name: Essential hypertension, code: "59621000", system: http://snomed.info/sct}
  - {name: Hypercholesterolaemia, code: "13644009", system: http://snomed.info/sct}
  - {name: Colorectal adenocarcinoma, code: "35917007", system: http://snomed.info/sct}
  - {name: Type 2 diabetes mellitus, code: "44054006", system: http://snomed.info/sct}
medications:
  - {name: clopidogrel, rxnorm: "32968", dose: 75 mg daily}
  - {name: amlodipine, dose: 5 mg daily}
  - {name: simvastatin, rxnorm: "36567", dose: 40 mg nightly}
  - {name: capecitabine, rxnorm: "194000", dose: planned}
measurements:
  - {name: LDL cholesterol, value: 3.9, unit: mmol/L}
  - {name: Total cholesterol, value: 6.1, unit: mmol/L}
  - {name: HDL cholesterol, value: 1.2, unit: mmol/L}
  - {name: Systolic blood pressure, value: 146, unit: "mm[Hg]"}
  - {name: BMI, value: 29.0, unit: kg/m2}
  - {name: eGFR, value: 78, unit: mL/min/1.73m2}
lifestyle: {smoking: former, alcohol_units_per_week: 6}
family_history:
  - {relation: father, condition: myocardial infarction, age_at_onset: 52}
genomic_inputs:
  - {kind: germline_vcf, path: demo.vcf, genome_build: GRCh38}
  - {kind: maf, path: tumour.maf, genome_build: GRCh38, tumor_type: COADREAD, msi: MSS}
monitoring:
  - {kind: cgm, path: cgm.csv, timezone: Europe/London}
"""
#: Synthetic colorectal tumour: BRAF V600E (the tumour calls for encorafenib + cetuximab with
#: fluorouracil-based chemotherapy), APC truncation, TP53 R175H, one silent variant.
TUMOUR_MAF = """\
#version 2.4 (synthetic demo tumour; not a real person)
Hugo_Symbol\tChromosome\tStart_Position\tReference_Allele\tTumor_Seq_Allele2\t\
Variant_Classification\tHGVSp_Short\tHGVSc\tExon_Number\tt_depth\tt_alt_count\t\
Tumor_Sample_Barcode\tNCBI_Build
BRAF\t7\t140753336\tA\tT\tMissense_Mutation\tp.V600E\tc.1799T>A\t15/18\t210\t74\tdemo-001-T\tGRCh38
APC\t5\t112839942\tC\tT\tNonsense_Mutation\tp.R1450*\tc.4348C>T\t16/16\t180\t71\tdemo-001-T\tGRCh38
TP53\t17\t7675088\tC\tT\tMissense_Mutation\tp.R175H\tc.524G>A\t5/11\t160\t66\tdemo-001-T\tGRCh38
TTN\t2\t178527000\tG\tA\tSilent\tp.L1200=\tc.3600C>T\t20/363\t120\t30\tdemo-001-T\tGRCh38
"""


def demo_cgm(days: int = 28, start: str = "2026-10-05", zone: str = "Europe/London") -> str:
    """``time,gl`` readings every 5 minutes for ``days`` days from local midnight, written in
    local wall-clock time as a device does (the hour repeated when clocks go back on 25 October
    appears twice); deterministic (seeded)."""
    import math
    import random
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    rng = random.Random(2026)
    tz = ZoneInfo(zone)
    first = datetime.fromisoformat(start).replace(tzinfo=tz).astimezone(UTC)
    end = (datetime.fromisoformat(start) + timedelta(days=days)).replace(tzinfo=tz)
    n = round((end.astimezone(UTC) - first).total_seconds() / 300)
    rows = ["time,gl"]
    for i in range(n):
        t = (first + timedelta(minutes=5 * i)).astimezone(tz)
        hour = t.hour + t.minute / 60
        later = i >= n - 14 * 288
        # meals at 08:00, 13:00 and 19:00: a rise over ~2 hours
        meal = sum(math.exp(-((((hour - m) % 24) - 1.0) ** 2) / 0.5) for m in (8, 13, 19))
        value = 105 + (38 if not later else 95) * meal + rng.gauss(0, 6)
        if later and 2.5 <= hour < 4 and (i // 288) % 3 == 0:
            value = 62 + rng.gauss(0, 3)  # a nocturnal low every third night
        rows.append(f"{t:%Y-%m-%d %H:%M:%S},{round(min(max(value, 40), 400))}")
    return "\n".join(rows) + "\n"


def main() -> None:
    kb = KnowledgeBase()
    b = VcfBuilder(kb, samples=["demo-001"])
    special = {
        "CYP2C19": ("*2", "*2"),
        "CYP2D6": ("*1", "*4"),
        "UGT1A1": ("*1", "*28"),
    }
    for gene in kb.genes:
        ref = kb.definition(gene).reference_allele.name
        first, second = special.get(gene, (ref, ref))
        if gene == "CYP2C19":
            first, second = "*2", "*2"
        b.haplotypes(gene, first, second, phased=False)
    b.genotype("SLCO1B1", "rs4149056", "T/C")
    b.genotype("DPYD", "rs67376798", "T/A")
    missing = kb.definition("CYP2C19").positions
    rs17 = next(p for p in missing if p.rsid == "rs12248560")
    del b.rows[(rs17.chromosome.removeprefix("chr"), rs17.position)]
    OUT.mkdir(parents=True, exist_ok=True)
    b.write(OUT / "demo.vcf")
    (OUT / "patient.yaml").write_text(PATIENT)
    (OUT / "tumour.maf").write_text(TUMOUR_MAF)
    (OUT / "cgm.csv").write_text(demo_cgm())


if __name__ == "__main__":
    main()
