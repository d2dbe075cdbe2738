"""Knowledge-base registry: discovery, versions, integrity checks and the loaded bundle.

Each packaged source lives in ``kb/data/<name>/`` with an ``about.json`` recording source,
version, date, licence, the sha256 of every file and a bundle sha256 over that manifest.
Sources the user adds at run time (``precisionrx kb add civic FILE``) live in
``$PRECISIONRX_HOME/kb/<name>/`` with the same ``about.json`` and are registered here too:
they are listed by ``kb list``, checked by ``kb verify`` and named in every result's
provenance (:meth:`KnowledgeBase.versions`).

The :class:`KnowledgeBase` is the only way into the data: engines ask it for parsed tables
(:meth:`KnowledgeBase.json`, :meth:`KnowledgeBase.rows`) and keep what they derive from them
in its cache (:meth:`KnowledgeBase.memo`), so no module-level state outlives the object and
nothing outside ``kb/`` builds paths into the data.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from precisionrx.errors import KbIntegrityError, KbNotFound
from precisionrx.kb.prescribing import PrescribingKb
from precisionrx.kb.schema import GeneDefinition, PhenotypeTable, load_definition
from precisionrx.kb.supplementary import DualBuildMap, SupplementaryPhenotypes
from precisionrx.records.evidence import KbVersion, Provenance

T = TypeVar("T")
#: Packaged source -> the user-added source that extends it (named in its provenance).
USER_SOURCE_OF = {"oncology": "civic"}


def data_root() -> Path:
    return Path(str(resources.files("precisionrx.kb").joinpath("data")))


def user_home() -> Path:
    """``$PRECISIONRX_HOME`` (default ``~/.precisionrx``): where user-added sources live."""
    home = os.environ.get("PRECISIONRX_HOME")
    return Path(home) if home else Path.home() / ".precisionrx"


@dataclass(frozen=True, slots=True)
class KbInfo:
    name: str
    version: str
    date: str
    license: str
    source: str
    sha256: str
    files: dict[str, str]
    path: Path
    #: ``packaged`` with the tool, or ``user`` (added with ``precisionrx kb add``).
    origin: Literal["packaged", "user"] = "packaged"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def bundle_sha256(files: dict[str, str]) -> str:
    """The sha256 over a source's file manifest (``name<TAB>sha256`` lines, sorted)."""
    return hashlib.sha256(
        "".join(f"{k}\t{v}\n" for k, v in sorted(files.items())).encode()
    ).hexdigest()


def _read_about(folder: Path, origin: Literal["packaged", "user"] = "packaged") -> KbInfo:
    about_path = folder / "about.json"
    try:
        about = json.loads(about_path.read_text())
        return KbInfo(
            name=str(about["name"]),
            version=str(about["version"]),
            date=str(about.get("date", "")),
            license=str(about.get("license", "")),
            source=str(about.get("source", "")),
            sha256=str(about["sha256"]),
            files={str(k): str(v) for k, v in dict(about.get("files", {})).items()},
            path=folder,
            origin=origin,
        )
    except (OSError, ValueError) as exc:
        raise KbIntegrityError("about.json missing or unreadable", path=about_path) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise KbIntegrityError(
            f"about.json lacks a valid {exc} entry (name, version, sha256, files)",
            path=about_path,
        ) from exc


def list_kbs(root: Path | None = None) -> list[KbInfo]:
    """All packaged knowledge bases, sorted by name."""
    root = root or data_root()
    if not root.is_dir():
        raise KbNotFound("knowledge-base directory not found", path=root)
    return [_read_about(p) for p in sorted(root.iterdir()) if (p / "about.json").is_file()]


def list_user_kbs(home: Path | None = None) -> list[KbInfo]:
    """Sources the user added (``<home>/kb/<name>/about.json``), sorted by name.

    A folder written by an older version (a table without ``about.json``) is still used and
    listed as ``unregistered``; ``kb verify`` reports its files until it is added again.
    """
    folder = (home or user_home()) / "kb"
    if not folder.is_dir():
        return []
    out: list[KbInfo] = []
    for p in sorted(q for q in folder.iterdir() if q.is_dir()):
        if (p / "about.json").is_file():
            out.append(_read_about(p, "user"))
        elif any(p.iterdir()):
            out.append(KbInfo(p.name, "unregistered", "", "", "added by an older version",
                              "", {}, p, "user"))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    kb: str
    file: str
    problem: str


def verify_kbs(root: Path | None = None, home: Path | None = None) -> list[VerifyProblem]:
    """Recompute every file's sha256 and the bundle sha256 of the packaged and the
    user-added sources; return the problems found."""
    problems: list[VerifyProblem] = []
    for info in [*list_kbs(root), *list_user_kbs(home)]:
        for rel, expected in sorted(info.files.items()):
            path = info.path / rel
            if not path.is_file():
                problems.append(VerifyProblem(info.name, rel, "missing"))
                continue
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            if actual != expected:
                problems.append(VerifyProblem(info.name, rel, f"sha256 {actual} != {expected}"))
        if info.origin == "user" and not (info.path / "about.json").is_file():
            problems.append(
                VerifyProblem(info.name, "about.json", "missing (added by an older version): "
                              "add the export again with `precisionrx kb add`")
            )  # fmt: skip
        elif bundle_sha256(info.files) != info.sha256:
            problems.append(VerifyProblem(info.name, "about.json", "bundle sha256 mismatch"))
        known = set(info.files) | {"about.json"}
        for extra in sorted(p for p in info.path.rglob("*") if p.is_file()):
            rel = extra.relative_to(info.path).as_posix()
            if rel not in known and "__pycache__" not in rel:
                problems.append(VerifyProblem(info.name, rel, "file not listed in about.json"))
    return problems


@dataclass(eq=False)
class KnowledgeBase:
    """The loaded knowledge bundle handed to engines (PharmCAT's ``Env``).

    ``root`` holds the packaged sources, ``home`` the user's (default ``$PRECISIONRX_HOME``,
    read when the object is made). Everything is loaded lazily and kept on the object.

    >>> kb = KnowledgeBase()
    >>> kb.info("cardio").origin
    'packaged'
    >>> "version" in kb.json("cardio", "about.json")
    True
    """

    root: Path = field(default_factory=data_root)
    home: Path = field(default_factory=user_home)
    _definitions: dict[str, GeneDefinition] = field(default_factory=dict)
    _phenotypes: dict[str, PhenotypeTable | None] = field(default_factory=dict)
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def infos(self) -> list[KbInfo]:
        """Packaged sources, then the user's."""
        return [*list_kbs(self.root), *list_user_kbs(self.home)]

    def versions(self) -> list[dict[str, str]]:
        return [i.as_dict() for i in self.infos]

    def info(self, name: str, origin: Literal["packaged", "user"] | None = None) -> KbInfo:
        for i in self.infos:
            if i.name == name and origin in (None, i.origin):
                return i
        raise KbNotFound(f"knowledge base {name!r} is not installed", path=self.root)

    def verify(self) -> list[VerifyProblem]:
        """:func:`verify_kbs` over this registry's packaged and user-added sources."""
        return verify_kbs(self.root, self.home)

    def user_source(self, name: str) -> KbInfo | None:
        """The user-added source ``name`` (``kb add``), or None."""
        return next((i for i in self.infos if i.origin == "user" and i.name == name), None)

    def source_dir(self, source: str) -> Path:
        """The folder of a packaged source (for readers inside ``kb/`` that take a folder)."""
        folder = self.root / source
        if not folder.is_dir():
            raise KbNotFound(f"knowledge base {source!r} is not installed", path=folder)
        return folder

    def _file(self, source: str, rel: str, user: bool = False) -> Path:
        if user:
            info = self.user_source(source)
            if info is None:
                raise KbNotFound(f"no user-added {source!r} knowledge base", path=self.home)
            path = info.path / rel
        else:
            path = self.root / source / rel
        if not path.is_file():
            raise KbNotFound(f"knowledge-base file {source}/{rel} is missing", path=path)
        return path

    def has(self, source: str, rel: str) -> bool:
        """Whether the packaged source ships ``rel``."""
        return (self.root / source / rel).is_file()

    def json(self, source: str, rel: str, *, user: bool = False) -> Any:
        """A JSON file of a source, parsed once per knowledge-base object."""
        key = ("json", source, rel, user)
        if key not in self._memo:
            path = self._file(source, rel, user)
            try:
                self._memo[key] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise KbIntegrityError(f"unreadable JSON: {exc}", path=path) from exc
        return self._memo[key]

    def rows(
        self, source: str, rel: str, *, delimiter: str = "\t", user: bool = False
    ) -> list[dict[str, str]]:
        """A delimited table of a source as dicts (``#`` comment lines skipped), parsed once.

        Callers must not modify the rows: they are shared by every reader of the object.
        """
        key = ("rows", source, rel, delimiter, user)
        if key not in self._memo:
            path = self._file(source, rel, user)
            with path.open(encoding="utf-8", newline="") as fh:
                lines = (ln for ln in fh if not ln.startswith("#"))
                reader = csv.DictReader(lines, delimiter=delimiter)
                rows = list(reader)
            for n, row in enumerate(rows, start=2):
                # A field count unlike the header's shifts every later column (an unquoted
                # delimiter inside a value): refused, never read as data.
                if None in row or None in row.values():
                    raise KbIntegrityError(
                        f"row {n} (after comment lines) has a field count unlike the header's",
                        path=path,
                    )
            self._memo[key] = rows
        return cast(list[dict[str, str]], self._memo[key])

    def provenance(
        self,
        sources: list[str],
        input_sha256: str | None = None,
        parameters: dict[str, str] | None = None,
    ) -> Provenance:
        """Provenance of a result computed from ``sources`` (packaged source names; the
        user-added source of the same kind, e.g. a CIViC import for ``oncology``, is named
        too): tool version, each source's version and sha256, the input fingerprint."""
        from precisionrx import __version__

        users = {USER_SOURCE_OF.get(s, "") for s in sources}
        used = [
            i
            for i in self.infos
            if (i.origin == "packaged" and i.name in sources)
            or (i.origin == "user" and i.name in users)
        ]
        return Provenance(
            tool_version=__version__,
            knowledge_bases=tuple(
                KbVersion(
                    name=i.name if i.origin == "packaged" else f"{i.name} (user)",
                    version=i.version,
                    sha256=i.sha256,
                )
                for i in used
            ),
            input_sha256=input_sha256,
            parameters=dict(parameters or {}),
        )

    def memo(self, key: Hashable, factory: Callable[[], T]) -> T:
        """What an engine derives from the data, computed once per knowledge-base object
        (indexes, coefficient tables, per-gene lookups): the cache lives and dies with the
        object, never in a module."""
        full = ("memo", key)
        if full not in self._memo:
            self._memo[full] = factory()
        return cast(T, self._memo[full])

    @cached_property
    def genes(self) -> list[str]:
        folder = self.root / "pharmcat" / "definitions"
        return sorted(p.stem for p in folder.glob("*.json"))

    def definition(self, gene: str) -> GeneDefinition:
        if gene not in self._definitions:
            path = self.root / "pharmcat" / "definitions" / f"{gene}.json"
            if not path.is_file():
                raise KbNotFound(f"no allele definition for gene {gene}", path=path)
            self._definitions[gene] = load_definition(path)
        return self._definitions[gene]

    def raw_definition(self, gene: str) -> GeneDefinition:
        """The packaged definition with no exemption applied (for the allele audit)."""
        path = self.root / "pharmcat" / "definitions" / f"{gene}.json"
        if not path.is_file():
            raise KbNotFound(f"no allele definition for gene {gene}", path=path)
        return load_definition(path, apply_exemptions=False)

    def phenotypes(self, gene: str) -> PhenotypeTable | None:
        if gene not in self._phenotypes:
            path = self.root / "pharmcat" / "phenotypes" / f"{gene}.json"
            self._phenotypes[gene] = PhenotypeTable.load(path) if path.is_file() else None
        return self._phenotypes[gene]

    @cached_property
    def supplementary(self) -> SupplementaryPhenotypes:
        return SupplementaryPhenotypes.load(self.root / "pypgx")

    @cached_property
    def dual_build(self) -> DualBuildMap:
        return DualBuildMap.load(self.root / "pypgx" / "variants_dual_build.tsv")

    @cached_property
    def _frequency_data(self) -> dict[str, Any]:
        path = self.root / "frequencies_1kgp" / "haplotype_counts.json"
        if not path.is_file():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return dict(data["genes"])

    @cached_property
    def haplotype_counts(self) -> dict[str, dict[str, int]]:
        """1KGP panel counts of haplotypes matched to each named allele, per gene."""
        return {g: dict(v["counts"]) for g, v in self._frequency_data.items()}

    def population_frequencies(self, gene: str) -> dict[str, dict[str, float]]:
        """Per 1KGP super-population: named-allele frequencies among its panel haplotypes."""
        pops = self._frequency_data.get(gene, {}).get("populations", {})
        return {
            pop: {a: k / v["haplotypes"] for a, k in v["counts"].items()}
            for pop, v in pops.items()
            if v["haplotypes"]
        }

    @cached_property
    def _position_frequency_data(self) -> dict[str, Any]:
        path = self.root / "frequencies_1kgp" / "position_frequencies.json"
        if not path.is_file():
            return {}
        data: dict[str, Any] = json.loads(path.read_text())
        return dict(data["genes"])

    def position_frequencies(self, gene: str) -> dict[str, dict[str, dict[str, float]]]:
        """Per allele-defining position label and 1KGP super-population: the frequency of each
        non-reference allele in the panel (positions absent from the panel are left out)."""
        return dict(self._position_frequency_data.get(gene, {}))

    def no_frequency(self, gene: str) -> frozenset[str]:
        """Alleles with defining positions absent from the panel: frequency unknown."""
        return frozenset(self._frequency_data.get(gene, {}).get("no_frequency", []))

    @cached_property
    def prescribing(self) -> PrescribingKb:
        return PrescribingKb.load(self.root)

    @cached_property
    def reporter_messages(self) -> list[dict[str, Any]]:
        path = self.root / "pharmcat" / "reporter_messages.json"
        data: Any = json.loads(path.read_text())
        return list(data.get("messages", data) if isinstance(data, dict) else data)
