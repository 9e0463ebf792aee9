"""Reading element-set files (TLE, OMM) as text, with errors that say what is wrong.

Shared by :mod:`orbitlearn.space.tle` and :mod:`orbitlearn.space.omm`: a missing file, a
folder, an unreadable file, a binary file (NUL bytes) or text that is not UTF-8 each raise an
:class:`~orbitlearn.errors.ElementSetError` naming the path (and the line where one applies).
"""

from __future__ import annotations

import os
from pathlib import Path

from orbitlearn.errors import ElementSetError

__all__ = ["alpha5_to_int", "read_element_text"]

_UTF8_BOM = b"\xef\xbb\xbf"


def read_element_text(path: str | os.PathLike[str], *, kind: str) -> str:
    """Return the text of the element-set file at ``path``.

    ``kind`` names what the file should hold (``"TLE"``, ``"OMM"``) in the messages. A UTF-8
    byte-order mark is dropped.

    Raises:
        ElementSetError: the file is missing, a folder, unreadable, binary or not UTF-8 text.
    """
    name = os.fspath(path)
    file = Path(name)
    a_kind = ("an " if kind[:1] in "AEIOU" else "a ") + kind
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ElementSetError(name, None, f"file not found; expected {a_kind} file") from None
    except IsADirectoryError:
        raise ElementSetError(name, None, f"is a folder; expected {a_kind} file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ElementSetError(name, None, f"cannot be read ({reason})") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ElementSetError(
            name,
            data.count(b"\n", 0, nul) + 1,
            f"is a binary file (NUL byte at offset {nul}); expected {a_kind} text file",
        )
    skip = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        raise ElementSetError(
            name,
            data.count(b"\n", 0, offset) + 1,
            f"byte 0x{data[offset]:02x} at offset {offset} is not UTF-8 text; "
            f"expected {a_kind} text file",
        ) from None


def alpha5_to_int(text: str) -> int:
    """The value of a catalog number written in digits or Alpha-5 (letters A-Z without I, O).

    Alpha-5 replaces the first of five digits by a letter worth 10 (A) to 33 (Z), so catalog
    numbers up to 339999 fit the TLE's five columns (18th Space Defense Squadron, "Alpha-5"
    convention, https://www.space-track.org/documentation#tle-alpha5).

    >>> alpha5_to_int("25544"), alpha5_to_int("A0001"), alpha5_to_int("Z9999")
    (25544, 100001, 339999)
    """
    text = text.strip()
    if text[:1].isalpha():
        letter = text[0].upper()
        value = ord(letter) - ord("A") + 10 - (letter > "I") - (letter > "O")
        return value * 10_000 + int(text[1:])
    return int(text)
