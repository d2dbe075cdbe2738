"""What ``mh options`` needs to know about the patient, read once from the record.

Conditions are matched on their ICD-10 code when one is given, else on whole words of their
names (case-insensitive; "respiratory depression", "ST depression" and "diabetes insipidus"
are not depression or diabetes; a negated name such as "Not pregnant" names nothing); a
condition marked inactive does not count. Nothing is inferred that the record does not say:
an unknown age, sex, pregnancy status or smoking status stays None and lowers the confidence
of the candidates whose rules need it.

>>> from precisionrx.records import PatientRecord
>>> from precisionrx.records.patient import Condition, Demographics
>>> r = PatientRecord(id="p", demographics=Demographics(sex_at_birth="female", age_years=30),
...     conditions=(Condition(name="Type 2 diabetes mellitus"),
...                 Condition(name="Bipolar affective disorder")))
>>> f = patient_facts(r)
>>> f.diabetes, f.bipolar, f.childbearing_potential, f.psychiatric_conditions
(True, True, True, ['bipolar'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from precisionrx.records import PatientRecord

#: condition key -> (whole words or phrases of the name, ICD-10 code prefixes). A name matches
#: a term as whole words (``psychosis`` but not ``psychosocial``).
CONDITION_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "depression": (("depression", "depressive disorder", "depressive episode",
                    "major depressive", "dysthymia", "dysthymic disorder"),
                   ("F32", "F33", "F34.1")),
    "anxiety": (("anxiety disorder", "generalised anxiety", "generalized anxiety",
                 "panic disorder", "anxiety"), ("F41",)),
    "bipolar": (("bipolar", "manic episode", "mania", "hypomania", "hypomanic episode",
                 "hypomanic"), ("F30", "F31")),
    "psychosis": (("psychosis", "psychoses", "psychotic disorder", "psychotic episode",
                   "schizophrenia", "schizoaffective", "schizophreniform",
                   "delusional disorder"), ("F20", "F22", "F23", "F25", "F28", "F29")),
    "adhd": (("adhd", "attention deficit", "attention-deficit", "hyperkinetic disorder"),
             ("F90",)),
    "diabetes": (("diabetes", "diabetes mellitus", "diabetic"), ("E10", "E11", "E13", "E14")),
    "obesity": (("obesity", "obese"), ("E66",)),
    "long_qt": (("long qt", "long qt syndrome", "qt prolongation", "prolonged qt",
                 "torsades de pointes", "torsade de pointes"), ("I45.81",)),
    "cardiac": (("heart failure", "myocardial infarction", "coronary artery disease",
                 "coronary heart disease", "arrhythmia", "atrial fibrillation", "bradycardia",
                 "cardiomyopathy", "heart block", "ischaemic heart disease",
                 "ischemic heart disease"),
                ("I20", "I21", "I22", "I24", "I25", "I42", "I44", "I47", "I48", "I49", "I50")),
    "hepatic": (("cirrhosis", "hepatic impairment", "hepatic failure", "liver failure",
                 "liver disease", "hepatic insufficiency"), ("K70", "K72", "K74", "K76")),
    "pregnancy": (("pregnancy", "pregnant"), ("O", "Z33", "Z34")),
    "breastfeeding": (("breastfeeding", "breast-feeding", "lactation", "lactating"), ("Z39.1",)),
    "menopause": (("menopause", "postmenopausal", "post-menopausal", "hysterectomy"),
                  ("N95", "Z90.71")),
}  # fmt: skip
#: Phrases in which a term does not name the condition (``respiratory depression``, ``ST
#: depression``, ``diabetes insipidus``).
EXCLUDED = {
    "depression": ("respiratory depression", "st depression", "st-segment depression",
                   "st segment depression", "bone marrow depression", "cns depression",
                   "marrow depression"),
    "diabetes": ("diabetes insipidus",),
    "anxiety": (),
}  # fmt: skip
#: A name that negates what it names (``Not pregnant``, ``No history of ...``).
NEGATION = re.compile(r"^\s*(?:no|not|non|never|denies|negative for)\b|\b(?:negative|ruled out|"
                      r"excluded)\b", re.IGNORECASE)  # fmt: skip
PSYCHIATRIC = ("depression", "anxiety", "bipolar", "psychosis", "adhd")
CURRENT_SMOKER = {"current", "yes", "smoker", "current smoker", "daily", "occasional",
                  "current every day smoker", "current some day smoker"}  # fmt: skip
NON_SMOKER = {"never", "former", "ex", "ex-smoker", "former smoker", "no", "never smoker",
              "non-smoker"}  # fmt: skip
#: BMI at or above which obesity is recorded (WHO adult obesity definition, BMI >= 30 kg/m2).
OBESITY_BMI = 30.0


def _matches(key: str, name: str, code: str | None) -> bool:
    """The condition ``name`` (or its ICD-10 ``code``) names ``key``: the code decides when it
    is an ICD-10 code; else a whole-word term of the name, outside an excluded phrase and not
    negated."""
    words, codes = CONDITION_WORDS[key]
    if code and re.fullmatch(r"[A-Z]\d\d(?:\.\d+)?", code.strip().upper()):
        return any(code.strip().upper().startswith(c) for c in codes)
    text = " ".join(name.lower().split())
    if NEGATION.search(text):
        return False
    for phrase in EXCLUDED.get(key, ()):
        text = text.replace(phrase, " ")
    return any(re.search(rf"\b{re.escape(w)}\b", text) for w in words)


@dataclass(frozen=True)
class PatientFacts:
    age: float | None
    sex: str | None
    pregnancy: str | None
    smoking: bool | None
    present: frozenset[str] = frozenset()
    #: The recorded psychiatric conditions, in record order.
    psychiatric_conditions: list[str] = field(default_factory=list)
    #: Condition names per key, for messages.
    named: dict[str, str] = field(default_factory=dict)
    bmi: float | None = None

    def has(self, key: str) -> bool:
        return key in self.present

    @property
    def diabetes(self) -> bool:
        return self.has("diabetes")

    @property
    def bipolar(self) -> bool:
        return self.has("bipolar")

    @property
    def obesity(self) -> bool:
        return self.has("obesity") or (self.bmi is not None and self.bmi >= OBESITY_BMI)

    @property
    def pregnant(self) -> bool:
        return self.pregnancy == "pregnant" or self.has("pregnancy")

    @property
    def breastfeeding(self) -> bool:
        return self.pregnancy == "breastfeeding" or self.has("breastfeeding")

    @property
    def childbearing_potential(self) -> bool | None:
        """Female and not recorded as unable to become pregnant; None when sex is unknown."""
        if self.sex not in ("female", "male"):
            return None
        if self.sex == "male":
            return False
        return self.pregnancy != "not_applicable" and not self.has("menopause")


def patient_facts(record: PatientRecord) -> PatientFacts:
    present: set[str] = set()
    named: dict[str, str] = {}
    psychiatric: list[str] = []
    for c in record.conditions:
        if not c.active:
            continue
        for key in CONDITION_WORDS:
            if _matches(key, c.name, c.code):
                present.add(key)
                named.setdefault(key, c.name)
                if key in PSYCHIATRIC and key not in psychiatric:
                    psychiatric.append(key)
    smoking_text = (record.lifestyle.smoking or "").strip().lower()
    smoking = (
        True if smoking_text in CURRENT_SMOKER
        else False if smoking_text in NON_SMOKER
        else None
    )  # fmt: skip
    bmi = record.measurement("bmi", "body mass index")
    demo = record.demographics
    return PatientFacts(
        age=demo.age_years,
        sex=demo.sex_at_birth if demo.sex_at_birth != "unknown" else None,
        pregnancy=record.pregnancy,
        smoking=smoking,
        present=frozenset(present),
        psychiatric_conditions=psychiatric,
        named=named,
        bmi=bmi.value if bmi is not None else None,
    )
