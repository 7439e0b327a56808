"""Bit fields as the IAB strings store them: big-endian fields, left-to-right bit order,
written out in the URL-safe base64 alphabet (RFC 4648 §5) without `=` padding.

TCF and GPP differ only in how a segment's last character is padded: a TC string segment
is padded with zero bits to a multiple of 24 (whole bytes and whole characters, as the IAB
encoders do), a GPP header or `usnat` segment to whole bytes and then to whole characters
("GPP Consent String Specification", Creating a GPP String; the IAB GPP encoder's
CompressedBase64UrlEncoder). Decoders accept either.
"""

from __future__ import annotations

from collections.abc import Iterable

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


class BitsError(ValueError):
    """The text is not a bit field of the expected shape."""


class BitWriter:
    """Collects fields as a string of '0' and '1'; simple, and strings stay short."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.length = 0

    def number(self, value: int, width: int) -> None:
        if value < 0 or value >= 1 << width:
            raise BitsError(f"{value} does not fit in {width} bits")
        self._parts.append(format(value, f"0{width}b") if width else "")
        self.length += width

    def flag(self, value: bool) -> None:
        self.number(1 if value else 0, 1)

    def bits(self, flags: Iterable[bool]) -> None:
        text = "".join("1" if flag else "0" for flag in flags)
        self._parts.append(text)
        self.length += len(text)

    def letters(self, text: str) -> None:
        """Two (or more) letters A-Z as 6-bit numbers, A=0 ("ConsentLanguage", "PublisherCC")."""
        for char in text.upper():
            if not "A" <= char <= "Z":
                raise BitsError(f"{text!r} must be letters A-Z")
            self.number(ord(char) - 65, 6)

    def fibonacci(self, value: int) -> None:
        self._parts.append(fibonacci_encode(value))
        self.length += len(self._parts[-1])

    def append(self, other: BitWriter) -> None:
        self._parts.append(other.text())
        self.length += other.length

    def text(self) -> str:
        return "".join(self._parts)

    def base64(self, *, gpp: bool = False) -> str:
        bits = self.text()
        if gpp:
            bits += "0" * (-len(bits) % 8)
            bits += "0" * (-len(bits) % 6)
        else:
            bits += "0" * (-len(bits) % 24)
        return "".join(ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


class BitReader:
    def __init__(self, encoded: str) -> None:
        try:
            self._bits = "".join(format(_INDEX[char], "06b") for char in encoded)
        except KeyError as exc:
            raise BitsError(f"{exc.args[0]!r} is not a base64url character") from None
        if not encoded:
            raise BitsError("empty segment")
        self.position = 0

    @property
    def remaining(self) -> int:
        return len(self._bits) - self.position

    def number(self, width: int) -> int:
        end = self.position + width
        if end > len(self._bits):
            raise BitsError(f"the string ends {end - len(self._bits)} bits too early")
        chunk = self._bits[self.position : end]
        self.position = end
        return int(chunk, 2) if chunk else 0

    def flag(self) -> bool:
        return self.number(1) == 1

    def bits(self, width: int) -> tuple[bool, ...]:
        end = self.position + width
        if end > len(self._bits):
            raise BitsError(f"the string ends {end - len(self._bits)} bits too early")
        chunk = self._bits[self.position : end]
        self.position = end
        return tuple(char == "1" for char in chunk)

    def letters(self, count: int) -> str:
        out = ""
        for _ in range(count):
            value = self.number(6)
            if value > 25:
                raise BitsError(f"letter value {value} is not A-Z")
            out += chr(65 + value)
        return out

    def fibonacci(self) -> int:
        end = self._bits.find("11", self.position)
        if end < 0:
            raise BitsError("a Fibonacci number has no terminating 11")
        value = fibonacci_decode(self._bits[self.position : end + 2])
        self.position = end + 2
        return value


def _fibonacci_numbers(*, up_to: int = 0, count: int = 0) -> list[int]:
    """1, 2, 3, 5, 8, ...: past `up_to`, or `count` of them."""
    numbers = [1, 2]
    while numbers[-1] <= up_to or len(numbers) < count:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers


def fibonacci_encode(value: int) -> str:
    """Zeckendorf code word of a positive integer, least significant first, ending in 11."""
    if value < 1:
        raise BitsError(f"Fibonacci coding needs a positive integer, not {value}")
    numbers = _fibonacci_numbers(up_to=value)
    word = ["0"] * len(numbers)
    rest = value
    for index in range(len(numbers) - 1, -1, -1):
        if numbers[index] <= rest:
            word[index] = "1"
            rest -= numbers[index]
    text = "".join(word).rstrip("0")
    return text + "1"


def fibonacci_decode(word: str) -> int:
    if len(word) < 2 or not word.endswith("11") or "11" in word[:-1]:
        raise BitsError(f"{word!r} is not a Fibonacci code word")
    numbers = _fibonacci_numbers(count=len(word))
    return sum(numbers[i] for i, char in enumerate(word[:-1]) if char == "1")
