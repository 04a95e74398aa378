"""The e2e console test reads a guest's login prompt off the noVNC canvas by OCR; its
matcher must forgive what Tesseract misreads in a VGA font and still tell one guest's
prompt from another's, or from a screen without one."""

from __future__ import annotations

import pytest

from helpers.browser import on_screen

PROMPT = "vm-bcd74e01 login:"


@pytest.mark.parametrize("screen", [
    "ownstack-tiny test image\nvm-bcd74e01 login:\n",       # read exactly
    "vm-bed?4e01 login:",                                    # read in CI: c->e, 7->?
    "VM-BCD74EO1 LOGIN:",                                    # case and O for 0
    "vm-bcd74e01login:",                                     # a space lost
])
def test_a_prompt_read_with_a_few_ocr_slips_is_on_screen(screen: str) -> None:
    assert on_screen(PROMPT, screen)


@pytest.mark.parametrize("screen", [
    "",
    "SeaBIOS (version 1.16.2)\nBooting from Hard Disk...\n",  # no prompt yet
    "vm-5a1f9e33 login:",                                     # another guest's prompt
    "vm-bcd7 login:",                                         # half its name
])
def test_a_screen_without_that_prompt_is_not(screen: str) -> None:
    assert not on_screen(PROMPT, screen)


def test_the_allowed_slips_can_be_set() -> None:
    assert not on_screen(PROMPT, "vm-bed?4e01 login:", errors=1)
    assert on_screen(PROMPT, "vm-bed74e01 login:", errors=1)
