"""f5lab.units: one spelling of each human-scale number, as the notebooks' stored outputs show it."""

from __future__ import annotations

from f5lab.units import GIB, MIB, gib, human_bytes, human_count, mib


def test_counts_switch_to_millions_at_one_million():
    # the 01_inspect notebook's module rows of a tiny model: thousands, even above 100 K
    assert [human_count(n) for n in (812, 6_500, 116_400, 999_949)] == ["812", "6.5 K", "116.4 K", "999.9 K"]
    assert human_count(337_100_000) == "337.1 M" and human_count(1_000_000) == "1.0 M"
    assert human_count(2545.0) == "2.5 K" and human_count(7.0) == "7"


def test_memory_is_binary_with_fixed_decimals():
    assert gib(3.8 * GIB) == "3.80 GiB" and mib(512 * MIB) == "512.0 MiB"
    assert gib(GIB // 4, signed=True) == "+0.25 GiB" and mib(-3.2 * MIB, signed=True) == "-3.2 MiB"
    assert gib(0) == "0.00 GiB"


def test_file_sizes_are_decimal():
    assert [human_bytes(n) for n in (None, 512, 2_620_000, 1_350_000_000)] == ["-", "512 B", "2.62 MB", "1.35 GB"]
