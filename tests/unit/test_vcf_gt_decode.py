"""The VCF fast path: the word-at-a-time GT decoder against a plain per-call parser, and BGZF
reading split at any point."""

from __future__ import annotations

from pathlib import Path

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
    out_max = np.zeros(len(lines), dtype=np.uint8)
    if not _decode_cells(_cells(lines), _cell_masks(len(lines[0])), out, out_max):
        return None
    assert (out_max == out.view(np.uint8).reshape(len(lines), -1).max(axis=1)).all()
    return out


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


def _bgzf(data: bytes, block: int) -> bytes:
    """``data`` as BGZF (SAM specification 4.1): gzip members of ``block`` bytes of text, each
    with the ``BC`` extra field giving its size, then the empty end-of-file member."""
    import struct
    import zlib

    members = []
    for chunk in [data[i : i + block] for i in range(0, len(data), block)] + [b""]:
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        raw = deflate.compress(chunk) + deflate.flush()
        head = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0" + struct.pack("<H", len(raw) + 25)
        members.append(head + raw + struct.pack("<II", zlib.crc32(chunk), len(chunk)))
    return b"".join(members)


@pytest.mark.parametrize("one_call", [True, False], ids=["group-reader", "block-by-block"])
@pytest.mark.parametrize(("block", "group"), [(7, 2), (50, 1), (64, 3), (1 << 16, 64)])
def test_bgzf_groups_split_anywhere_give_the_plain_file_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, group: int, one_call: bool
) -> None:
    """BGZF groups are inflated on a helper thread (in one call per group by ISA-L's gzip
    reader, or block by block without it): lines that cross group boundaries, groups without
    any newline and a last line without a newline all come out as from the plain file, with
    the same per-row maxima."""
    from precisionrx.io import vcf_fastgt

    if not one_call:
        monkeypatch.setattr(vcf_fastgt, "_group_reader", lambda: None)

    rng = np.random.default_rng(block)
    calls = np.array(["0/0", "0/1", "1|0", "1/1", "./.", "0/2"])
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
             + "\t".join(f"S{i}" for i in range(7))]  # fmt: skip
    for j in range(60):
        alt = "G,T" if j % 7 == 0 else "G"
        row = calls[rng.integers(0, 6 if j % 7 == 0 else 5, 7)]
        lines.append(f"1\t{100 + j}\t.\tA\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(row))
    text = "\n".join(lines).encode()  # no newline after the last line
    plain, packed = tmp_path / "f.vcf", tmp_path / "f.vcf.gz"
    plain.write_bytes(text)
    packed.write_bytes(_bgzf(text, block))
    monkeypatch.setattr(vcf_fastgt, "BGZF_GROUP", group)
    assert vcf_fastgt._is_bgzf(packed) and not vcf_fastgt._is_bgzf(plain)
    points = {("1", 100 + j) for j in range(0, 60, 2)} | {("1", 159)}
    want = vcf_fastgt.read_gt_sites(plain, 7, points)
    got = vcf_fastgt.read_gt_sites(packed, 7, points)
    assert want is not None and got is not None
    assert got.table.equals(want.table) and np.array_equal(got.gt, want.gt)
    assert len(got.gt) == len(points)
    for sites in (want, got):
        assert sites.row_max is not None
        assert (sites.row_max == sites.gt.view(np.uint8).max(axis=(1, 2))).all()
    # a GT:DP line among them sends the whole file to the general reader
    lines[30] = lines[30].replace("\tGT\t", "\tGT:DP\t")
    packed.write_bytes(_bgzf("\n".join(lines).encode(), block))
    assert vcf_fastgt.read_gt_sites(packed, 7, points) is None


def test_a_bgzf_crc_mismatch_is_an_error(tmp_path: Path) -> None:
    import zlib

    from precisionrx.io.vcf_fastgt import read_gt_sites

    text = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\n1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\n"
    data = bytearray(_bgzf(text, 1 << 16))
    data[-28 - 8] ^= 0xFF  # a byte of the first member's CRC (the EOF member is 28 bytes)
    path = tmp_path / "f.vcf.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error, match="CRC"):
        read_gt_sites(path, 1, {("1", 100)})
    # the declared text size (ISIZE) must be the inflated size and at most 64 KB
    for size, problem in ((len(text) + 1, "size mismatch"), (1 << 17, "more than 64 KB")):
        data = bytearray(_bgzf(text, 1 << 16))
        data[-28 - 4 : -28] = size.to_bytes(4, "little")
        path.write_bytes(bytes(data))
        with pytest.raises(zlib.error, match=problem):
            read_gt_sites(path, 1, {("1", 100)})
    # a damaged deflate stream (the first byte after the 18-byte BGZF header)
    data = bytearray(_bgzf(text, 1 << 16))
    data[18] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error, match="corrupt BGZF block"):
        read_gt_sites(path, 1, {("1", 100)})


def test_a_bgzf_block_shorter_than_its_header_is_an_error(tmp_path: Path) -> None:
    """A block size (BSIZE) too small for the header and trailer is a format error, not an
    index error while the block is taken apart."""
    import zlib

    from precisionrx.io.vcf_fastgt import read_gt_sites

    text = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\n1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\n"
    data = bytearray(_bgzf(text, 1 << 16))
    data[16:18] = (9).to_bytes(2, "little")  # BSIZE = total size - 1
    path = tmp_path / "f.vcf.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error, match="shorter than its header"):
        read_gt_sites(path, 1, {("1", 100)})


def test_a_damaged_plain_gzip_file_is_a_zlib_error(tmp_path: Path) -> None:
    """A gzip (not BGZF) file is read by ISA-L's gzip reader, whose own error for a damaged
    deflate stream becomes zlib.error (the reader of the VCF turns that into exit 3)."""
    import gzip
    import zlib

    from precisionrx.io.vcf_fastgt import read_gt_sites

    head = b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\n"
    text = head + b"".join(b"1\t%d\t.\tA\tG\t.\t.\t.\tGT\t0/1\n" % i for i in range(1, 5000))
    path = tmp_path / "f.vcf.gz"
    path.write_bytes(gzip.compress(text))
    sites = read_gt_sites(path, 1, {("1", 100), ("1", 4999)})
    assert sites is not None and sites.gt[:, :, 0].tolist() == [[0, 1], [0, 1]]
    data = bytearray(gzip.compress(text))
    data[12] ^= 0xFF  # inside the deflate stream (the gzip header is 10 bytes)
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error, match="corrupt compressed data"):
        read_gt_sites(path, 1, {("1", 100)})
