"""The console test reads a guest's screen off the noVNC canvas cell by cell in the VGA
BIOS's font (helpers/vga_text.py). These tests draw screens in that font and read them
back: exact text, any colours, a lossy encoder's noise, and refusals for what is no text
screen. tests/e2e/test_vga_text.py reads a real QEMU screen."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from helpers.vga_text import VGA_BIOS, bios_font, read_screen, render

SCREEN = ("SeaBIOS (version 1.16.2-debian-1.16.2-1)\n"
          "Machine UUID 863e44f8-33c8-41b0-b3c6-52314764a130\n"
          "\n"
          "ownstack-tiny test image: log in as root, no password on the console.\n"
          "vm-8d776aa7 login: _")


def test_the_bios_font_is_found_once_with_its_glyphs() -> None:
    font = bios_font()
    assert len(font) == 256 and {len(glyph) for glyph in font} == {16}
    assert font[0x20] == bytes(16) and font[0xDB] == b"\xff" * 16
    assert len({font[code] for code in range(0x21, 0x7F)}) == 0x7F - 0x21   # all distinct


def test_a_screen_reads_back_exactly() -> None:
    assert read_screen(720, 400, render(SCREEN)) == SCREEN + "\n" * (25 - 5)


def test_any_text_colour_on_any_background_reads_and_rgba_too() -> None:
    pixels = render(SCREEN, ink=(0, 0, 0xAA), paper=(0xAA, 0xAA, 0xAA))
    rgba = b"".join(pixels[i:i + 3] + b"\xff" for i in range(0, len(pixels), 3))
    assert read_screen(720, 400, rgba, channels=4).startswith(SCREEN)


def test_noise_from_a_lossy_encoding_does_not_change_a_character() -> None:
    pixels = bytearray(render(SCREEN))
    rng = random.Random(7)
    for offset in range(0, len(pixels)):
        pixels[offset] = max(0, min(255, pixels[offset] + rng.randint(-30, 30)))
    for _ in range(40):                          # and a few pixels wholly wrong
        spot = rng.randrange(0, len(pixels) // 3) * 3
        pixels[spot:spot + 3] = b"\xff\xff\xff"
    assert read_screen(720, 400, bytes(pixels)).startswith(SCREEN)


def test_another_guests_prompt_is_not_this_one() -> None:
    text = read_screen(720, 400, render("vm-8d776aa1 login:"))
    assert "vm-8d776aa7 login:" not in text


@pytest.mark.parametrize(("width", "height"), [(640, 480), (1024, 768), (0, 400), (720, 0)])
def test_a_graphics_mode_screen_is_refused(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="not VGA text mode"):
        read_screen(width, height, bytes(width * height * 3))


def test_pixels_that_do_not_fill_the_screen_are_refused() -> None:
    with pytest.raises(ValueError, match="bytes for 720x400x3"):
        read_screen(720, 400, bytes(100))


def test_a_file_without_exactly_one_font_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "vgabios.bin"
    fake.write_bytes(bytes(8192))                    # no solid block anywhere
    with pytest.raises(ValueError, match="0 places look like an 8x16 font"):
        bios_font(fake)
    doubled = VGA_BIOS.read_bytes() * 2
    fake.write_bytes(doubled)
    with pytest.raises(ValueError, match="2 places"):
        bios_font(fake)
