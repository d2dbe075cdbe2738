"""The fitted-effects model file: a versioned, checksummed artefact.

A model file is a zip archive holding ``manifest.json`` (format name and version, the
precisionrx version, the SHA-256 of the payload, and a summary for ``effects describe``) and
``model.pkl`` (the fitted model, Python pickle protocol 5). Loading refuses a file that is not
such an archive, whose format or version differs from this release's, or whose payload does not
match its checksum — and then unpickles with an allow-list: classes defined in numpy,
scikit-learn, scipy, EconML and precisionrx's effect learners, a few builtins and numpy's
reconstruction functions (``_AllowListUnpickler``): a pickle naming anything else
(``os.system``, also when reached as a dotted name through an allowed module, ``numpy.load``,
``builtins.eval`` ...) is refused before it runs. The checksum detects damage;
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
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
PAYLOAD = "model.pkl"
#: Modules whose classes a model may hold (prefix match on the module path).
ALLOWED_PREFIXES = ("numpy", "sklearn", "scipy", "econml", "precisionrx.engines.effects")
_BUILTINS = ("dict", "list", "tuple", "set", "frozenset", "float", "int", "str", "bool", "slice",
             "complex", "bytearray", "bytes", "object")  # fmt: skip
ALLOWED_BUILTINS = {("builtins", n) for n in _BUILTINS} | {
    ("collections", "OrderedDict"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
}


class ModelFileError(InputError):
    """A model file that is not a precisionrx effects model, or not this version's."""


#: The functions (not classes) a pickle of numpy / scikit-learn / EconML objects calls to
#: rebuild them: array and scalar reconstruction, random-generator state.
ALLOWED_FUNCTIONS = {
    (numpy, name)
    for numpy in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
}


def _allowed_module(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in ALLOWED_PREFIXES)


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only (a) the listed builtins and reconstruction functions and (b) classes
    defined in an allowed package. A dotted name (``os.system`` reached through an allowed
    module's attributes) is refused, and so is a function or a class re-exported by an
    allowed module from elsewhere: calling either could run arbitrary code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_BUILTINS or (module, name) in ALLOWED_FUNCTIONS:
            return super().find_class(module, name)
        if "." in name or not _allowed_module(module):
            raise pickle.UnpicklingError(f"class {module}.{name} is not allowed in a model")
        found = super().find_class(module, name)
        if not isinstance(found, type) or not _allowed_module(found.__module__):
            raise pickle.UnpicklingError(f"{module}.{name} is not an allowed class in a model")
        return found


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
