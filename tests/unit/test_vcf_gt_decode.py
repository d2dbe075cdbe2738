"""The word-at-a-time GT decoder of the VCF fast path against a plain per-call parser."""

from __future__ import annotations

import numpy as np
import pytest

from precisionrx.io.vcf_fastgt import _cell_masks, _decode_cells


def _reference(lines: list[list[str]]) -> np.ndarray | None:
    """Allele indexes of 3-character calls; None when any call is not digit/dot, separator, digit/dot."""
    out = np.empty((len(lines), 2, len(lines[0])), dtype=np.int8)
    for i, calls in enumerate(lines):
        for j, call in enumerate(calls):
            a, sep, b = call
            if sep not in "/|" or any(c not in "0123456789." for c in (a, b)):
                return None
            out[i, 0, j] = -1 if a == "." else int(a)
            out[i, 1, j] = -1 if b == "." else int(b)
    return out


def _cells(lines: list[list[str]]) -> np.ndarray:
    text = ["\t".join(calls) + "\n" for calls in lines]
    return np.frombuffer("".join(text).encode(), dtype=np.uint8).reshape(len(lines), -1).copy()


def _decode(lines: list[list[str]]) -> np.ndarray | None:
    out = np.full((len(lines), 2, len(lines[0])), 99, dtype=np.int8)
    return out if _decode_cells(_cells(lines), _cell_masks(len(lines[0])), out) else None


@pytest.mark.parametrize("seed", range(40))
def test_random_blocks_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_lines, n_samples = int(rng.integers(1, 40)), int(rng.integers(1, 30))
    # most blocks are clean unphased or phased biallelic calls (the one-pass path); some mix in
    # multi-allelic digits, missing alleles, mixed phasing or an invalid character
    alleles = "01" if seed % 4 == 0 else "0123456789."
    seps = "/" if seed % 4 == 0 else ("|" if seed % 4 == 1 else "/|")
    if seed % 4 == 1:
        alleles = "012"
    lines = [
        [rng.choice(list(alleles)) + rng.choice(list(seps)) + rng.choice(list(alleles))
         for _ in range(n_samples)]
        for _ in range(n_lines)
    ]  # fmt: skip
    if seed % 5 == 3:
        i, j = int(rng.integers(n_lines)), int(rng.integers(n_samples))
        bad = str(rng.choice(list(":?x-")))
        lines[i][j] = lines[i][j][:2] + bad if seed % 2 else bad + lines[i][j][1:]
    expected = _reference(lines)
    got = _decode(lines)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("call", ["0:1", "0\\1", "0 1", ":/0", "0/?", "?|1", "0/;"])
def test_invalid_calls_are_refused(call: str) -> None:
    # characters 0x3A-0x3F pass the high-nibble mask of a digit and must still be refused
    assert _decode([["0/0", call, "1/1"], ["0/1", "0/0", "0/0"]]) is None


def test_clean_phased_block_is_decoded() -> None:
    got = _decode([["0|1", "1|1"], ["1|0", "0|0"]])
    assert got is not None
    np.testing.assert_array_equal(got[:, 0, :], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(got[:, 1, :], [[1, 1], [0, 0]])
