"""Free-text de-identification for HIPAA Safe Harbor (45 CFR 164.514(b)(2)): pattern detectors,
the record's own deny-list, and an allow-list that keeps genomic nomenclature verbatim.

Used by :mod:`precisionrx.security.deid` (imported from there: ``clean_text``, ``TextCleaner``,
``RecordTerm``, ``Placeholder``). One pass over a text runs in this order:

1. characters of the Unicode private-use planes 15 and 16 are replaced by U+FFFD (they are the
   placeholders of the steps below);
2. URLs and e-mail addresses are replaced (before anything else, so that a genomic-looking piece
   of an address cannot shield the rest of it);
3. **allow-list**: HGVS expressions (``NM_000106.6:c.1846G>A``, ``p.Val600Glu``, ``c.35delG``),
   RefSeq/Ensembl accessions, rsIDs (``rs4244285``), star alleles and diplotypes
   (``CYP2C19*2/*2``, ``CYP2D6*1x2``, ``HLA-B*15:02``, ``HLA-B*57:01:01``), the gene symbols of
   :data:`GENE_SYMBOLS` (upper case, exact) and doses or lab values with a unit (``75 mg``,
   ``0.5 mg/kg``, ``7.2 %``, ``3.4 mmol/L``) are set aside, each as one private-use character
   that no later detector can match or split;
4. **deny-list**: the record's own names, address parts, identifiers and contact values
   (:class:`RecordTerm`), matched case-insensitively on whole words;
5. detectors: IP addresses (v4, v6), GS1 device identifiers, labelled identifiers
   (``MRN: 12345``, ``account no. …``, ``licence …``, ``plate …``, ``serial no. …``,
   ``member ID …``, ``tel: …``), social security numbers, birth years and dates (a date keeps its
   year, a day or month without a year becomes ``[DATE]``; with a ``reference_date``, a year 90 or
   more years before it becomes ``[DATE]``), ages over 89 (``93-year-old`` → ``90+-year-old``),
   ZIP codes after a state or a ZIP label, ``City, ST`` before a ZIP, phone and fax numbers and
   other runs of seven or more digits, street addresses and P.O. boxes, titled names
   (``Dr. Smith``) and labelled names (``Patient: Jane Doe``);
6. the set-aside tokens are put back verbatim and the placeholders written (``[NAME]``,
   ``[PHONE]`` …).

Detectors never see a protected token, so a phone or date pattern cannot eat ``*15:02``,
``c.1846G>A`` or ``rs4244285``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Placeholder(StrEnum):
    """What replaces a removed identifier in free text (45 CFR 164.514(b)(2)(i) letter)."""

    NAME = "[NAME]"  # A
    ADDRESS = "[ADDRESS]"  # B
    ZIP = "[ZIP]"  # B
    DATE = "[DATE]"  # C
    PHONE = "[PHONE]"  # D, E
    EMAIL = "[EMAIL]"  # F
    SSN = "[SSN]"  # G
    MRN = "[MRN]"  # H
    HEALTH_PLAN = "[HEALTH_PLAN]"  # I
    ACCOUNT = "[ACCOUNT]"  # J
    LICENSE = "[LICENSE]"  # K
    VEHICLE = "[VEHICLE]"  # L
    DEVICE = "[DEVICE]"  # M
    URL = "[URL]"  # N
    IP = "[IP]"  # O
    ID = "[ID]"  # R


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` (compact tables of codes and symbols)."""
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class RecordTerm:
    """A value taken from the structured record (a name, address part, identifier, phone...)
    removed wherever it appears in the record's free text, as ``kind``."""

    text: str
    kind: Placeholder = Placeholder.NAME


#: Gene symbols kept verbatim even when a deny-listed name spells the same word (exact, upper
#: case): pharmacogenes, HLA genes and the commonest oncology and cardiology genes.
GENE_SYMBOLS = _words(
    "ABCB1 ABCG2 ACE AKT1 ALK ANKK1 APC APOB APOE AR ARID1A ATM ATR BARD1 BCR BRAF BRCA1 BRCA2 "
    "BRIP1 CACNA1S CDH1 CDK4 CDKN2A CES1 CFTR CHEK2 COMT CYP1A2 CYP2A6 CYP2B6 CYP2C19 CYP2C8 "
    "CYP2C9 CYP2D6 CYP3A4 CYP3A5 CYP4F2 DPYD DRD2 EGFR EPCAM ERBB2 ESR1 EZH2 F2 F5 FGFR1 FGFR2 "
    "FGFR3 FGFR4 FLT3 G6PD GNAS GSTM1 GSTT1 HER2 HLA HNF1A HRAS HTR2A HTR2C IDH1 IDH2 IFNL3 "
    "IFNL4 JAK2 KIT KRAS LDLR MAP2K1 MET MLH1 MSH2 MSH6 MTHFR MTOR MYC NAT1 NAT2 NF1 NRAS NRG1 "
    "NTRK1 NTRK2 NTRK3 NUDT15 OPRM1 PALB2 PCSK9 PDGFRA PIK3CA PMS2 POLE POLG PTEN RAD51C RAD51D "
    "RB1 RET ROS1 RYR1 SLC6A4 SLCO1B1 SMAD4 STK11 TP53 TPMT TSC1 TSC2 UGT1A1 UGT2B15 UGT2B7 VHL "
    "VKORC1"
)

# --- allow-list ---------------------------------------------------------------------------------
_ACCESSION = (
    r"(?:[ANXWY][CGMPRTW]_\d+(?:\.\d+)?|ENS[A-Z]{0,3}[GTPE]\d{6,}(?:\.\d+)?|LRG_\d+(?:[tp]\d+)?)"
)
_HGVS_BODY = r"[\w*\-?=(\[][\w*+\-?()\[\]>=;/^]*(?<=[\w*)\]=?])"
_HGVS = (
    rf"(?<![\w.]){_ACCESSION}(?:\([A-Za-z0-9\-]+\))?:[cgmnopr]\.{_HGVS_BODY}"
    rf"|(?<![\w.]){_ACCESSION}(?![\w])"
    rf"|(?<![\w.])[cgmnopr]\.{_HGVS_BODY}"
)
_RSID = r"(?<![\w])[rR][sS]\d{1,12}(?![\w])"
_ALLELE = r"\*\d{1,4}(?:\.\d{3})?(?::\d{2,4}){0,3}[A-Z]{0,2}(?:x(?:\d{1,2}|N))?"
_ALLELES = rf"{_ALLELE}(?:[/+]{_ALLELE})*"
_STAR = (
    rf"(?<![\w*])[A-Z][A-Z0-9]{{1,9}}(?:-[A-Z0-9]{{1,6}})? ?{_ALLELES}(?![\w*])"
    rf"|(?<![\w*]){_ALLELES}(?![\w*:])"
)
_UNIT = (
    r"(?:mg|mcg|µg|μg|ug|ng|pg|g|kg|mL|ml|dL|dl|L|IU|iU|U|units?|mmol|µmol|μmol|umol|nmol|pmol|"
    r"mEq|meq|mmHg|bpm|cells|copies|mIU|µIU|uIU|kcal|fL|fl|µL|uL|mm3|%)"
)
_UNIT_TAIL = r"(?:/(?:min|h|hr|day|d|kg|m2|m²|1\.73\s?m2|L|dL|dl|mL|ml|mol|µL|uL|mm3|24\s?h))*"
_NUMBER = r"\d+(?:[.,]\d+)?"
_DOSE = (
    rf"(?<![\w.\-+(/])(?<!\d[\s.\-])(?<!\)\s){_NUMBER}(?:\s?[-–]\s?{_NUMBER})?\s?{_UNIT}"
    rf"{_UNIT_TAIL}(?![\w])"
)
_GENE = r"(?<![\w\-*])[A-Z][A-Z0-9]{1,7}(?![\w\-*])"
_PROTECT = re.compile(
    rf"(?P<hgvs>{_HGVS})|(?P<rsid>{_RSID})|(?P<star>{_STAR})|(?P<dose>{_DOSE})|(?P<gene>{_GENE})"
)

# --- detectors ----------------------------------------------------------------------------------
_URL = re.compile(
    r"\b(?:(?:https?|ftp|sftp|file)://|www\.)[^\s<>\"'\]]*[^\s<>\"'\].,;:!?)]",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w]|\.\d)"
)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%\w+)?(?![\w:])"
)
_UDI = re.compile(
    r"\(01\)\d{14}(?:\(\d{2,4}\)[^\s(]+)*|(?<![\w+])\+[A-Z]\d{3}[A-Z0-9]{4,}[A-Z0-9/$+%.\-]*"
)
_NO = r"(?:\s?(?:number|num\.?|no\.?|nr\.?|#))?"
_LABELS: tuple[tuple[Placeholder, str], ...] = (
    (Placeholder.SSN, rf"SSN|SS#|social security{_NO}"),
    (Placeholder.MRN, rf"MRN|MR#|medical record{_NO}|med(?:ical)?\.? rec(?:ord)?\.?{_NO}|"
                      rf"(?:patient|hospital|chart|unit) (?:id|number|no\.?|#)|chart{_NO}"),
    (Placeholder.HEALTH_PLAN, r"(?:health )?plan (?:id|number|no\.?|#)|(?:member|beneficiary|"
                              r"policy|insurance|subscriber|medicare|medicaid|group) "
                              r"(?:id|number|no\.?|#)|MBI|HICN"),
    (Placeholder.ACCOUNT, rf"account{_NO}|acct\.?{_NO}|a/c|(?:billing|claim|invoice) "
                          rf"(?:id|number|no\.?|#)"),
    (Placeholder.VEHICLE, rf"licen[cs]e plate{_NO}|(?:number )?plate{_NO}|registration{_NO}|VIN|"
                          rf"vehicle (?:id|identification number|number|no\.?|#)"),
    (Placeholder.LICENSE, rf"(?:driver'?s? )?licen[cs]e{_NO}|DL|passport{_NO}|certificate{_NO}|"
                          rf"NPI|DEA{_NO}"),
    (Placeholder.DEVICE, rf"serial{_NO}|S/N|SN|UDI|device (?:id|identifier|number|no\.?|#)|IMEI|"
                         rf"lot{_NO}"),
    (Placeholder.ID, rf"ID|identifier|record{_NO}|ref(?:erence)?{_NO}|case{_NO}|"
                     rf"(?:specimen|sample) (?:id|number|no\.?|#)|accession{_NO}"),
)  # fmt: skip
_LABELLED = re.compile(
    "|".join(
        rf"(?P<{kind.name}>(?<![\w])(?:{pattern})(?![\w])\s*(?:[:#=]|\bis\b)?\s*)"
        rf"(?P<{kind.name}_v>[A-Za-z0-9](?:[A-Za-z0-9\-/.]*[A-Za-z0-9])?)"
        for kind, pattern in _LABELS
    ),
    re.IGNORECASE,
)
_PHONE_LABEL = re.compile(
    r"(?i)(?<![\w])((?:tel(?:ephone)?|phone|ph|mobile|cell|fax|pager)(?:\s?(?:number|no\.?|#))?"
    r"\s*[:#.]?\s*)(\+?[\d(][\d\s().\-]{5,}\d)"
)
_SSN = re.compile(r"(?<![\w\-])\d{3}([- ])\d{2}\1\d{4}(?![\w\-])")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
_DOB_YEAR = re.compile(
    r"(?i)\b((?:born(?:\s+in)?|DOB|d\.o\.b\.?|(?:date|year) of birth)\s*:?\s*)(\d{4})\b"
)
_DATES = (
    # (pattern, group holding the year or None); the year is kept, else [DATE]
    (re.compile(r"(?<![\w/.\-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}"
                r"(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp][Mm])?(?:Z|[+\-]\d{2}:?\d{2})?)?"
                r"(?![\w/\-]|\.\d)"), 1),
    (re.compile(r"(?<![\w/.\-])\d{1,2}[/.\-]\d{1,2}[/.\-](\d{4})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?"
                r"(?:\s?[AaPp][Mm])?)?(?![\w/\-]|\.\d)"), 1),
    (re.compile(r"(?<![\w/.\-])\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}(?![\w/\-]|\.\d)"), None),
    (re.compile(rf"(?i)\b{_MONTH}\s+{_ORD},?\s+(\d{{4}})\b"), 1),
    (re.compile(rf"(?i)\b{_ORD}\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b"), 1),
    (re.compile(rf"(?i)\b{_MONTH},?\s+(\d{{4}})\b"), 1),
    (re.compile(r"(?<![\w/.\-])\d{1,2}/(\d{4})(?![\w/\-])"), 1),
    (re.compile(rf"\b(?-i:{_MONTH})\s+{_ORD}\b(?!:)"), None),
    (re.compile(rf"\b{_ORD}\s+(?:of\s+)?(?-i:{_MONTH})(?![\w])"), None),
)  # fmt: skip
_OLD_AGE = "(?:9\\d|1[0-4]\\d)"
_AGE = re.compile(
    rf"(?i)(?<![\w.])(?:(?P<n1>{_OLD_AGE})(?=\s?-?\s?(?:years?|yrs?|y\.?o\.?\b|y/o)\b)"
    rf"|(?<=\bage\s)(?P<n2>{_OLD_AGE})(?![\w.])|(?<=\baged\s)(?P<n3>{_OLD_AGE})(?![\w.])"
    rf"|(?<=\bage:\s)(?P<n4>{_OLD_AGE})(?![\w.]))"
)
_DIGITS = re.compile(
    r"(?<![\w.,+*:/\-])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d{2,}(?:[\s.\-]\d{2,}){0,5}"
    r"(?![\w/]|[.,]\d)"
)
#: US states, DC and territories (USPS codes): a ZIP code after one is a ZIP code.
_STATES = sorted(
    _words(
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
        "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
    )
)
_ZIP = r"\d{5}(?:-\d{4})?"
_CITY_STATE_ZIP = re.compile(
    rf"\b([A-Z][A-Za-z.'\-]*(?:\s[A-Z][A-Za-z.'\-]*){{0,2}}),\s*((?:{'|'.join(_STATES)}))\s+"
    rf"({_ZIP})(?![\w\-])"
)
_ZIP_CONTEXT = re.compile(
    rf"(?:\b((?:{'|'.join(_STATES)}))\s+|(?i:\b(zip(?:\s?code)?|postal\s?code|postcode)\s*:?\s*))"
    rf"({_ZIP})(?![\w\-])"
)
_ZIP4 = re.compile(r"(?<![\w\-])\d{5}-\d{4}(?![\w\-])")
_STREET = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Z][\w.'\-]*\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|"
    r"Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|Terrace|Ter|Way|Parkway|Pkwy|Highway|Hwy|"
    r"Circle|Cir|Trail|Trl|Landing|Loop|Row|Alley|Crescent|Close|Plaza|Route|Rte|Gardens|Grove|"
    r"Heights|Hill|Park|Ridge|Run|Walk|Path|Pike|Point|Port|Station|Village|Mews)\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Unit|Suite|Ste|Flat|#)\.?\s*#?\w+)?"
    r"|(?i:\bP\.?\s?O\.?\s*Box\s+\d+\b)"
)
_NAME_WORD = r"[A-Z][\w'\-]*"
_TITLED = re.compile(
    rf"\b((?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Rev|Sr|Fr)\.?\s+)(?:[A-Z]\.\s?|{_NAME_WORD} ){{0,2}}"
    rf"{_NAME_WORD}"
)
_NAME_LABEL = re.compile(
    rf"(?i:\b((?:patient(?:'s)?(?: full)? name|patient|name|pt|signed by|seen by|attending|"
    rf"physician|provider|nurse|mother|father|wife|husband|son|daughter|brother|sister|spouse|"
    rf"partner|guardian|next of kin|nok|emergency contact|employer|author)\s*:\s*))"
    rf"(?:[A-Z]\.\s?|{_NAME_WORD},? ){{0,3}}{_NAME_WORD}"
)

#: Small words of names that are never removed on their own (particles, titles).
_NAME_STOPWORDS = _words(
    "de du da di del della der den des la le van von y e al el bin ibn mr mrs ms miss dr jr sr "
    "ii iii iv md phd the and of"
)
#: Shortest deny-list term kept, per kind (a one-letter initial is not a name).
_MIN_TERM = {Placeholder.NAME: 2}
_DEFAULT_MIN_TERM = 3
_WORD = re.compile(r"\w+")
#: Largest gap of non-word characters allowed between two words of one deny-list term.
_MAX_GAP = 3
#: Private-use code points used as placeholders of set-aside tokens (planes 15 and 16).
_HOLD_BASE = 0xF0000
_HOLD_LIMIT = 0x10FFFE - _HOLD_BASE
#: Deepest nesting searched for record terms.
_MAX_DEPTH = 64
_PRIVATE = re.compile("[\U000f0000-\U0010ffff]")


class _Held:
    """Tokens set aside during one cleaning: each becomes one private-use character."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, str] = {}

    def hold(self, value: str) -> str:
        if value in self._index:
            return self._index[value]
        if len(self.values) >= _HOLD_LIMIT:  # absurdly many distinct tokens: left in place
            return value
        char = chr(_HOLD_BASE + len(self.values))
        self.values.append(value)
        self._index[value] = char
        return char

    def restore(self, text: str) -> str:
        values = self.values
        return _PRIVATE.sub(lambda m: values[ord(m.group()) - _HOLD_BASE], text)


def _norm_words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in _WORD.findall(text))


class TextCleaner:
    """A reusable free-text cleaner: the detectors plus one record's deny-list.

    ``reference_date`` (optional) turns dates and birth years 90 or more years before it into
    ``[DATE]`` (45 CFR 164.514(b)(2)(i)(C): date elements indicative of an age over 89).
    """

    def __init__(
        self,
        record_terms: Iterable[str | RecordTerm] = (),
        *,
        reference_date: date | None = None,
    ) -> None:
        self.reference_date = reference_date
        self._terms: dict[str, list[tuple[tuple[str, ...], Placeholder]]] = {}
        self._seen: set[tuple[tuple[str, ...], Placeholder]] = set()
        self.add_terms(record_terms)

    def add_terms(self, terms: Iterable[str | RecordTerm]) -> None:
        """Add deny-list terms (a bare string is a name; a name's words are added too)."""
        for term in terms:
            item = term if isinstance(term, RecordTerm) else RecordTerm(str(term))
            words = _norm_words(item.text)
            if not words or len("".join(words)) < _MIN_TERM.get(item.kind, _DEFAULT_MIN_TERM):
                continue
            if len(words) == 1 and words[0] in _NAME_STOPWORDS:
                continue
            self._add(words, item.kind)
            if item.kind is Placeholder.NAME and len(words) > 1:  # each part of a name, too
                for word in words:
                    if len(word) >= _MIN_TERM[Placeholder.NAME] and word not in _NAME_STOPWORDS:
                        self._add((word,), item.kind)

    def _add(self, words: tuple[str, ...], kind: Placeholder) -> None:
        if (words, kind) in self._seen:
            return
        self._seen.add((words, kind))
        bucket = self._terms.setdefault(words[0], [])
        bucket.append((words, kind))
        bucket.sort(key=lambda t: -len(t[0]))

    @property
    def has_terms(self) -> bool:
        return bool(self._terms)

    def clean(self, text: str) -> str:
        """``text`` with every identifier found replaced (see the module docstring)."""
        if not text:
            return text
        held = _Held()
        text = _PRIVATE.sub("\ufffd", text)
        text = _URL.sub(lambda m: held.hold(Placeholder.URL), text)
        text = _EMAIL.sub(lambda m: held.hold(Placeholder.EMAIL), text)
        text = _PROTECT.sub(lambda m: self._protect(m, held), text)
        text = self._deny(text, held)
        for step in self._detectors(held):
            text = step(text)
        return held.restore(text)

    # -- steps ---------------------------------------------------------------------------------
    @staticmethod
    def _protect(m: re.Match[str], held: _Held) -> str:
        token = m.group()
        if m.lastgroup == "gene" and token not in GENE_SYMBOLS:
            return token
        return held.hold(token)

    def _deny(self, text: str, held: _Held) -> str:
        if not self._terms:
            return text
        words = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(text)]
        spans: list[tuple[int, int, Placeholder]] = []
        i = 0
        while i < len(words):
            matched = 0
            for term, kind in self._terms.get(words[i][2], ()):
                n = len(term)
                if i + n > len(words):
                    continue
                if all(words[i + j][2] == term[j] for j in range(n)) and all(
                    self._gap_ok(text[words[i + j][1] : words[i + j + 1][0]]) for j in range(n - 1)
                ):
                    spans.append((words[i][0], words[i + n - 1][1], kind))
                    matched = n
                    break
            i += matched or 1
        for start, end, kind in reversed(spans):
            text = text[:start] + held.hold(kind) + text[end:]
        return text

    @staticmethod
    def _gap_ok(gap: str) -> bool:
        return len(gap) <= _MAX_GAP and not _PRIVATE.search(gap)

    def _too_old(self, year: str) -> bool:
        ref = self.reference_date
        return ref is not None and year.isdigit() and ref.year - int(year) >= 90

    def _detectors(self, held: _Held) -> list[Callable[[str], str]]:
        hold = held.hold

        def ipv6(m: re.Match[str]) -> str:
            candidate = m.group().split("%")[0]
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                return m.group()
            return hold(Placeholder.IP) if sum(c.isalnum() for c in candidate) >= 2 else m.group()

        def labelled(m: re.Match[str]) -> str:
            kind = Placeholder[str(m.lastgroup).removesuffix("_v")]
            label, value = m.group(kind.name), m.group(f"{kind.name}_v")
            if not any(c.isdigit() for c in value):
                return m.group()
            return label + hold(kind)

        def dob(m: re.Match[str]) -> str:
            year = m.group(2)
            return m.group(1) + (hold(Placeholder.DATE) if self._too_old(year) else year)

        def dated(group: int | None) -> Callable[[re.Match[str]], str]:
            def replace(m: re.Match[str]) -> str:
                if group is None:
                    return hold(Placeholder.DATE)
                year = m.group(group)
                return hold(Placeholder.DATE if self._too_old(year) else year)

            return replace

        def digits(m: re.Match[str]) -> str:
            value = m.group()
            count = sum(c.isdigit() for c in value)
            if count < 7:
                return value
            phone_like = any(c in value for c in "+() -.")
            return hold(Placeholder.PHONE if phone_like and count <= 15 else Placeholder.ID)

        steps: list[Callable[[str], str]] = [
            lambda t: _IPV4.sub(lambda m: hold(Placeholder.IP), t),
            lambda t: _IPV6.sub(ipv6, t),
            lambda t: _UDI.sub(lambda m: hold(Placeholder.DEVICE), t),
            lambda t: _PHONE_LABEL.sub(lambda m: m.group(1) + hold(Placeholder.PHONE), t),
            lambda t: _LABELLED.sub(labelled, t),
            lambda t: _SSN.sub(lambda m: hold(Placeholder.SSN), t),
            lambda t: _DOB_YEAR.sub(dob, t),
        ]
        steps += [_sub(pattern, dated(group)) for pattern, group in _DATES]
        steps += [
            lambda t: _AGE.sub(lambda m: hold("90+"), t),
            lambda t: _CITY_STATE_ZIP.sub(
                lambda m: f"{hold(Placeholder.ADDRESS)}, {m.group(2)} {hold(Placeholder.ZIP)}", t
            ),
            lambda t: _ZIP_CONTEXT.sub(
                lambda m: (m.group(0)[: m.start(3) - m.start(0)]) + hold(Placeholder.ZIP), t
            ),
            lambda t: _ZIP4.sub(lambda m: hold(Placeholder.ZIP), t),
            lambda t: _DIGITS.sub(digits, t),
            lambda t: _STREET.sub(lambda m: hold(Placeholder.ADDRESS), t),
            lambda t: _NAME_LABEL.sub(lambda m: m.group(1) + hold(Placeholder.NAME), t),
            lambda t: _TITLED.sub(lambda m: m.group(1) + hold(Placeholder.NAME), t),
        ]
        return steps


# --- record terms (the deny-list) ---------------------------------------------------------------
def _name_terms(name: Any) -> Iterator[RecordTerm]:
    if isinstance(name, str):
        yield RecordTerm(name)
        yield from (RecordTerm(w) for w in name.split())
        return
    if not isinstance(name, dict):
        return
    parts: list[str] = []
    for key in ("family", "given", "text"):
        value = name.get(key)
        parts += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
    for part in parts:
        yield RecordTerm(part)
        yield from (RecordTerm(w) for w in part.split())
    given = [g for g in name.get("given", []) or [] if isinstance(g, str)]
    family = name.get("family")
    if given and isinstance(family, str):
        yield RecordTerm(" ".join([*given, family]))


def _address_terms(address: Any) -> Iterator[RecordTerm]:
    if not isinstance(address, dict):
        return
    lines = address.get("line")
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, str):
            yield RecordTerm(line, Placeholder.ADDRESS)
            street = re.sub(r"^\s*\d+[A-Za-z]?\s+", "", line)
            if street != line:
                yield RecordTerm(street, Placeholder.ADDRESS)
    for key in ("city", "district", "text"):
        if isinstance(address.get(key), str):
            yield RecordTerm(address[key], Placeholder.ADDRESS)
    if isinstance(address.get("postalCode"), str):
        yield RecordTerm(address["postalCode"], Placeholder.ZIP)


_TELECOM_KIND = {
    "phone": Placeholder.PHONE, "fax": Placeholder.PHONE, "sms": Placeholder.PHONE,
    "pager": Placeholder.PHONE, "email": Placeholder.EMAIL, "url": Placeholder.URL,
}  # fmt: skip


def _terms_in(value: Any, key: str, rtype: str, depth: int = 0) -> Iterator[RecordTerm]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _terms_in(item, key, rtype, depth + 1)
        return
    if not isinstance(value, dict):
        return
    if key in ("name", "valueHumanName") and not isinstance(value.get("resourceType"), str):
        yield from _name_terms(value)
    elif key in ("address", "valueAddress"):
        yield from _address_terms(value)
    elif key in ("telecom", "valueContactPoint") and isinstance(value.get("value"), str):
        kind = _TELECOM_KIND.get(str(value.get("system")), Placeholder.ID)
        yield RecordTerm(value["value"], kind)
    elif key in ("identifier", "valueIdentifier") and isinstance(value.get("value"), str):
        yield RecordTerm(value["value"], Placeholder.ID)
    maiden = str(value.get("url", "")).endswith("patient-mothersMaidenName")
    if maiden and isinstance(value.get("valueString"), str):
        yield from _name_terms(value["valueString"])
    here = value.get("resourceType") if isinstance(value.get("resourceType"), str) else rtype
    if isinstance(value.get("resourceType"), str) and isinstance(value.get("name"), str):
        yield from _name_terms(value["name"])
    if here in ("Patient", "Person", "RelatedPerson") and isinstance(value.get("id"), str):
        yield RecordTerm(value["id"], Placeholder.ID)
    for k, v in value.items():
        yield from _terms_in(v, k, str(here), depth + 1)


def collect_record_terms(resources: Iterable[Mapping[str, Any]]) -> tuple[RecordTerm, ...]:
    """The deny-list of free text: every name (patients, relatives, contacts, practitioners),
    address line, city, district and postal code, telecom value and identifier value found in
    ``resources`` (nested and contained resources included), and the ids of Patient, Person and
    RelatedPerson resources. 45 CFR 164.514(b)(2)(i)(A), (B), (D)-(K), (R)."""
    seen: dict[tuple[str, Placeholder], RecordTerm] = {}
    for res in resources:
        for term in _terms_in(res, "", str(res.get("resourceType", ""))):
            seen.setdefault((term.text.casefold(), term.kind), term)
    return tuple(seen.values())


def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: pattern.sub(repl, text)


def clean_text(
    text: str,
    *,
    record_terms: Iterable[str | RecordTerm] = (),
    reference_date: date | None = None,
) -> str:
    """Free text with the Safe Harbor identifiers (45 CFR 164.514(b)(2)(i)) replaced by
    bracketed placeholders, genomic nomenclature and doses kept verbatim.

    ``record_terms`` are the record's own names, address parts and identifiers (a bare string
    is a name; see :func:`precisionrx.security.deid.collect_record_terms`), removed
    case-insensitively on whole words. Never raises on any text.

    >>> clean_text("Jane Roe (MRN: 12345, tel 617-555-0199) on clopidogrel 75 mg: CYP2C19*2/*2",
    ...            record_terms=["Jane Roe"])
    '[NAME] (MRN: [MRN], tel [PHONE]) on clopidogrel 75 mg: CYP2C19*2/*2'
    >>> clean_text("Seen 2019-03-04 for HLA-B*15:02 and NM_000106.6:c.1846G>A (rs4244285)")
    'Seen 2019 for HLA-B*15:02 and NM_000106.6:c.1846G>A (rs4244285)'
    """
    return TextCleaner(record_terms, reference_date=reference_date).clean(text)
