"""The fitted-effects model file: a versioned, checksummed artefact.

A model file is a zip archive holding ``manifest.json`` (format name and version, the
precisionrx version, the SHA-256 of the payload, and a summary for ``effects describe``) and
``model.pkl`` (the fitted model, Python pickle protocol 5). Loading refuses a file that is not
such an archive, whose format or version differs from this release's, or whose payload does not
match its checksum — and then unpickles with an allow-list of classes (numpy, scikit-learn,
scipy and precisionrx's effect learners): a pickle naming anything else (``os.system``,
``subprocess``, ``builtins.eval`` ...) is refused before it runs. The checksum detects damage;
it is not a signature: load models from people you trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

from precisionrx import __version__
from precisionrx.errors import InputError

FORMAT = "precisionrx-effects-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOAD = "model.pkl"
#: Modules whose classes a model may hold (prefix match on the module path).
ALLOWED_PREFIXES = ("numpy", "sklearn", "scipy", "precisionrx.engines.effects")
_BUILTINS = ("dict", "list", "tuple", "set", "frozenset", "float", "int", "str", "bool", "slice",
             "complex", "bytearray", "bytes", "object")  # fmt: skip
ALLOWED_BUILTINS = {("builtins", n) for n in _BUILTINS} | {
    ("collections", "OrderedDict"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
}


class ModelFileError(InputError):
    """A model file that is not a precisionrx effects model, or not this version's."""


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = (module, name) in ALLOWED_BUILTINS or any(
            module == p or module.startswith(p + ".") for p in ALLOWED_PREFIXES
        )
        if not allowed:
            raise pickle.UnpicklingError(f"class {module}.{name} is not allowed in a model")
        return super().find_class(module, name)


def model_bytes(model: Any, summary: dict[str, Any]) -> bytes:
    """The archive's bytes (the caller writes them atomically)."""
    payload = pickle.dumps(model, protocol=5)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "precisionrx_version": __version__,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        **summary,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, allow_nan=False))
        archive.writestr(PAYLOAD, payload)
    return buffer.getvalue()


def read_manifest(path: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest and the payload bytes, checked (format, version, checksum)."""
    if not path.is_file():
        raise ModelFileError("model file not found", path=path)
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            payload = archive.read(PAYLOAD)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            "not a precisionrx effects model (expected a zip archive with manifest.json and "
            "model.pkl written by `precisionrx effects fit`)",
            path=path,
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError("not a precisionrx effects model (wrong format name)", path=path)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"model format version {manifest.get('format_version')!r} is not this release's "
            f"({FORMAT_VERSION})",
            path=path,
            hint="refit the model with this release",
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest.get("payload_sha256"):
        raise ModelFileError(
            "the model payload does not match its checksum: the file is damaged or was changed",
            path=path,
        )
    return manifest, payload


def load_model(path: Path) -> tuple[dict[str, Any], Any]:
    """The manifest and the fitted model (allow-listed unpickling after the checks)."""
    manifest, payload = read_manifest(path)
    try:
        model = _AllowListUnpickler(io.BytesIO(payload)).load()
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError) as exc:
        raise ModelFileError(f"the model payload cannot be loaded ({exc})", path=path) from exc
    return manifest, model
