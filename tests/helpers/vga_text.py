"""Reading a VGA text console's screen back from its pixels, exactly.

A guest in VGA text mode (80 x 25 cells of 9 x 16 pixels: 720 x 400) is drawn by QEMU from
the glyphs its VGA BIOS loaded, and every cell holding one character is drawn the same way.
So the screen is read by looking each cell up in that font, not by OCR: Tesseract, tried
first, took the VGA font's 7 for ``?`` and its 8 for ``S`` often enough to fail CI twice on
a hostname such as ``vm-8d776aa7``. The font comes from the VGA BIOS file QEMU itself loads
(SeaBIOS's ``vgabios-stdvga.bin``, a dependency of Debian's QEMU), so nothing is copied here;
``tests/e2e/test_vga_text.py`` checks the whole claim against a real QEMU screen.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

VGA_BIOS = Path("/usr/share/seabios/vgabios-stdvga.bin")
CELL_WIDTH, CELL_HEIGHT = 9, 16          # 8 columns of glyph and one of gap
GLYPH_BYTES = CELL_HEIGHT                # one byte per row, high bit leftmost
_FULL_BLOCK = 0xDB                       # code page 437's full block: every bit set
_FOREGROUND = 48                         # a channel this far from the background is ink


@cache
def bios_font(path: Path = VGA_BIOS) -> tuple[bytes, ...]:
    """The 256 glyphs of the 8 x 16 font in a VGA BIOS image: the one 4096-byte table whose
    glyph 0 and space are empty and whose full block is solid (the BIOS's 8 x 8 and 8 x 14
    fonts have other strides, so they never fit)."""
    data = path.read_bytes()
    empty, solid = bytes(GLYPH_BYTES), b"\xff" * GLYPH_BYTES
    found = [base for base in range(len(data) - 256 * GLYPH_BYTES)
             if data[base:base + GLYPH_BYTES] == empty
             and data[base + 0x20 * GLYPH_BYTES:base + 0x21 * GLYPH_BYTES] == empty
             and data[base + _FULL_BLOCK * GLYPH_BYTES:
                      base + (_FULL_BLOCK + 1) * GLYPH_BYTES] == solid]
    if len(found) != 1:
        raise ValueError(f"{path}: {len(found)} places look like an 8x16 font, not one")
    base = found[0]
    return tuple(data[base + code * GLYPH_BYTES:base + (code + 1) * GLYPH_BYTES]
                 for code in range(256))


def _character(code: int) -> str:
    if code in (0x00, 0xFF):             # drawn blank, like a space
        return " "
    return bytes([code]).decode("cp437")


@cache
def _glyph_table(font: tuple[bytes, ...]) -> dict[bytes, str]:
    """Glyph bitmap -> character; where glyphs coincide, printable ASCII wins."""
    table: dict[bytes, str] = {}
    ascii_first = [*range(0x20, 0x7F), *range(0x80, 0x100), *range(0x00, 0x20), 0x7F]
    for code in reversed(ascii_first):
        table[font[code]] = _character(code)
    return table


def read_screen(width: int, height: int, pixels: bytes, *, channels: int = 3,
                font: tuple[bytes, ...] | None = None) -> str:
    """The text of a VGA text-mode screen given as ``width`` x ``height`` pixels of
    ``channels`` bytes each (RGB or RGBA, row by row): one line per row of cells, trailing
    blanks stripped. A pixel is ink when any colour channel differs from the screen's
    commonest colour by more than a little (so any text colour reads, and lossy encoding
    noise does not); a cell whose ink is no glyph exactly is the nearest glyph by bits.
    Raises ValueError for a screen that is not a grid of 9 x 16 cells (a graphics mode)."""
    if width <= 0 or height <= 0 or width % CELL_WIDTH or height % CELL_HEIGHT:
        raise ValueError(f"a {width}x{height} screen is not VGA text mode "
                         f"({CELL_WIDTH}x{CELL_HEIGHT} cells)")
    if len(pixels) != width * height * channels:
        raise ValueError(f"{len(pixels)} bytes for {width}x{height}x{channels}")
    font = font or bios_font()
    table = _glyph_table(font)
    background = Counter(pixels[i:i + 3] for i in range(0, len(pixels), channels * 7)
                         ).most_common(1)[0][0]
    stride = width * channels

    def ink(offset: int) -> bool:
        return any(abs(pixels[offset + c] - background[c]) > _FOREGROUND for c in range(3))

    lines = []
    for top in range(0, height, CELL_HEIGHT):
        row = []
        for left in range(0, width, CELL_WIDTH):
            glyph = bytes(
                sum(128 >> x for x in range(8)
                    if ink((top + y) * stride + (left + x) * channels))
                for y in range(CELL_HEIGHT))
            row.append(table.get(glyph) or _nearest(glyph, font))
        lines.append("".join(row).rstrip())
    return "\n".join(lines)


def _nearest(glyph: bytes, font: tuple[bytes, ...]) -> str:
    bits = int.from_bytes(glyph, "big")
    code = min(range(256), key=lambda c: (
        (bits ^ int.from_bytes(font[c], "big")).bit_count(), not 0x20 <= c < 0x7F))
    return _character(code)


def render(text: str, *, width: int = 720, height: int = 400,
           ink: tuple[int, int, int] = (0xAA, 0xAA, 0xAA),
           paper: tuple[int, int, int] = (0, 0, 0),
           font: tuple[bytes, ...] | None = None) -> bytes:
    """RGB pixels of ``text`` drawn as a VGA text screen in ``font`` (code page 437), for
    the reader's own tests."""
    font = font or bios_font()
    pixels = bytearray(bytes(paper) * (width * height))
    for row, line in enumerate(text.splitlines()):
        for column, char in enumerate(line):
            glyph = font[char.encode("cp437")[0]]
            for y, bits in enumerate(glyph):
                for x in range(8):
                    if bits & (128 >> x):
                        offset = ((row * CELL_HEIGHT + y) * width
                                  + column * CELL_WIDTH + x) * 3
                        pixels[offset:offset + 3] = bytes(ink)
    return bytes(pixels)
