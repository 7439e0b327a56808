"""Bit fields, base64url and Fibonacci coding, against the specifications' own tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.tcf.bits import BitReader, BitsError, BitWriter, fibonacci_decode, fibonacci_encode


def test_fibonacci_code_words_match_the_gpp_table():
    # "GPP Consent String Specification", About Fibonacci Encoding.
    table = {1: "11", 2: "011", 3: "0011", 4: "1011", 5: "00011", 6: "10011", 7: "01011"}
    for number, word in table.items():
        assert fibonacci_encode(number) == word
        assert fibonacci_decode(word) == number


@given(st.integers(min_value=1, max_value=10**9))
def test_fibonacci_round_trip(number):
    word = fibonacci_encode(number)
    assert word.endswith("11") and "11" not in word[:-1]
    assert fibonacci_decode(word) == number


@pytest.mark.parametrize("word", ["", "1", "0", "10", "111", "0110"])
def test_fibonacci_rejects_what_is_not_a_code_word(word):
    with pytest.raises(BitsError):
        fibonacci_decode(word)


def test_tc_segments_pad_to_24_bits_and_gpp_segments_to_whole_bytes():
    out = BitWriter()
    out.number(3, 6)
    out.number(1, 6)
    out.number(1, 12)
    out.flag(False)
    out.fibonacci(2)  # the GPP spec's Header Example 1: EU TCF v2 only
    assert out.length == 28
    assert out.base64(gpp=True) == "DBABMA"  # 28 -> 32 (bytes) -> 36 (characters)
    assert out.base64() == "DBABMAAA"  # 28 -> 48 bits


def test_reader_reads_what_the_writer_wrote():
    out = BitWriter()
    out.number(2, 6)
    out.letters("EN")
    out.bits([True, False, True])
    out.fibonacci(12)
    reader = BitReader(out.base64())
    assert reader.number(6) == 2
    assert reader.letters(2) == "EN"
    assert reader.bits(3) == (True, False, True)
    assert reader.fibonacci() == 12


def test_reader_refuses_foreign_characters_and_short_input():
    with pytest.raises(BitsError, match="base64url"):
        BitReader("ab+c")
    with pytest.raises(BitsError, match="too early"):
        BitReader("A").number(7)
    with pytest.raises(BitsError):
        BitReader("")


def test_writer_refuses_values_that_do_not_fit():
    with pytest.raises(BitsError, match="does not fit"):
        BitWriter().number(64, 6)
    with pytest.raises(BitsError, match="letters"):
        BitWriter().letters("e1")
