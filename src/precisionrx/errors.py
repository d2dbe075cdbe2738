"""The single exception tree of precisionrx.

Every error a user can cause has a stable code (``PRX-<AREA>-<NNN>``) and a CLI exit
code. Clinical uncertainty is never an exception: it is a :class:`~precisionrx.records.Caveat`.

::

    PrecisionRxError                      exit 1   PRX-000
    ├── InputError                        exit 2   PRX-IN-000
    │   ├── VcfFormatError                exit 3   PRX-IN-001
    │   ├── GenomeBuildMismatch           exit 4   PRX-IN-002
    │   ├── MissingSampleError            exit 5   PRX-IN-003
    │   ├── FhirValidationError           exit 6   PRX-IN-004
    │   ├── PatientFileError              exit 7   PRX-IN-005
    │   ├── OutsideCallError              exit 8   PRX-IN-006
    │   └── OutputPathError               exit 9   PRX-IN-007
    ├── KnowledgeBaseError                exit 10  PRX-KB-000
    │   ├── KbNotFound                    exit 11  PRX-KB-001
    │   └── KbIntegrityError              exit 12  PRX-KB-002
    ├── ConsentError                      exit 20  PRX-CS-000
    ├── EngineError                       exit 30  PRX-EN-000
    ├── ConfigError                       exit 40  PRX-CF-000
    └── InternalError                     exit 70  PRX-INT-000

Third-party errors (htslib, pydantic, YAML) are translated once, at the ``io``/``kb``
boundary, with ``raise ... from exc``.
"""

from __future__ import annotations

from pathlib import Path

DOCS_BASE = "docs/errors.md"


class PrecisionRxError(Exception):
    """Base class: a user-facing error with a stable code and exit code."""

    code = "PRX-000"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.record = record
        self.hint = hint
        super().__init__(self.render())

    @property
    def docs_url(self) -> str:
        return f"{DOCS_BASE}#{self.code.lower()}"

    def render(self) -> str:
        """One paragraph naming the file, the record and the problem."""
        parts = []
        if self.path:
            parts.append(f"{self.path}:")
        if self.record:
            parts.append(f"{self.record}:")
        parts.append(self.message)
        text = " ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(PrecisionRxError):
    """Bad input supplied by the user."""

    code = "PRX-IN-000"
    exit_code = 2


class VcfFormatError(InputError):
    """A VCF/BCF file that cannot be read (not a VCF, truncated, malformed)."""

    code = "PRX-IN-001"
    exit_code = 3


class GenomeBuildMismatch(InputError):
    """The VCF's genome build differs from the requested or supported build."""

    code = "PRX-IN-002"
    exit_code = 4


class MissingSampleError(InputError):
    """A requested sample is not in the VCF."""

    code = "PRX-IN-003"
    exit_code = 5


class FhirValidationError(InputError):
    """A FHIR document that is not a readable R4 Bundle."""

    code = "PRX-IN-004"
    exit_code = 6


class PatientFileError(InputError):
    """A patient YAML/JSON file that is malformed or has impossible values."""

    code = "PRX-IN-005"
    exit_code = 7


class OutsideCallError(InputError):
    """A malformed outside-call TSV."""

    code = "PRX-IN-006"
    exit_code = 8


class OutputPathError(InputError):
    """An output path that cannot be written (missing or read-only directory, a directory
    where a file is expected, a name too long, a special file, or one of the inputs)."""

    code = "PRX-IN-007"
    exit_code = 9


class KnowledgeBaseError(PrecisionRxError):
    """The packaged knowledge base is missing or corrupt."""

    code = "PRX-KB-000"
    exit_code = 10


class KbNotFound(KnowledgeBaseError):
    code = "PRX-KB-001"
    exit_code = 11


class KbIntegrityError(KnowledgeBaseError):
    """A knowledge-base file does not match its recorded sha256."""

    code = "PRX-KB-002"
    exit_code = 12


class ConsentError(PrecisionRxError):
    code = "PRX-CS-000"
    exit_code = 20


class IntegrityError(PrecisionRxError):
    """Protected data failed its integrity check: an AES-GCM tag that does not verify (wrong key,
    tampered ciphertext or associated data), or a broken audit hash chain. No plaintext is
    released."""

    code = "PRX-SEC-001"
    exit_code = 21


class AccessDenied(PrecisionRxError):
    """An identity or token that is missing, invalid, expired, or lacks the role asked for."""

    code = "PRX-SEC-002"
    exit_code = 22


class EngineError(PrecisionRxError):
    code = "PRX-EN-000"
    exit_code = 30


class ConfigError(PrecisionRxError):
    code = "PRX-CF-000"
    exit_code = 40


class InternalError(PrecisionRxError):
    """A bug: an impossible state was reached."""

    code = "PRX-INT-000"
    exit_code = 70


ALL_ERRORS: tuple[type[PrecisionRxError], ...] = (
    PrecisionRxError,
    InputError,
    VcfFormatError,
    GenomeBuildMismatch,
    MissingSampleError,
    FhirValidationError,
    PatientFileError,
    OutsideCallError,
    OutputPathError,
    KnowledgeBaseError,
    KbNotFound,
    KbIntegrityError,
    ConsentError,
    IntegrityError,
    AccessDenied,
    EngineError,
    ConfigError,
    InternalError,
)
