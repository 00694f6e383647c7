from __future__ import annotations

import pytest

from tests.settings.conftest import ENV, config_error
from worker.settings import SHARD_COUNT_ENV, SHARD_INDEX_ENV, Shard, load_settings

# Organization names of the deployment examples and a few awkward ones.
NAMES = ["acme-mx", "globex-mx", "initech-mx", "default", "a", "Ünïcode", "x" * 63]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0/1", Shard(0, 1)),
        ("0/3", Shard(0, 3)),
        ("2/3", Shard(2, 3)),
        (" 1/2\n", Shard(1, 2)),
        ("007/10", Shard(7, 10)),
        ("99/100", Shard(99, 100)),
    ],
)
def test_parses(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a shard"),
        ("3", "not a shard"),
        ("1/", "not a shard"),
        ("/3", "not a shard"),
        ("1 / 3", "not a shard"),
        ("-1/3", "not a shard"),
        ("+1/3", "not a shard"),
        ("1/3/5", "not a shard"),
        ("a/b", "not a shard"),
        ("1.0/3", "not a shard"),
        ("\uff11/\uff13", "not a shard"),  # full-width digits: \d would take them
        ("3/3", "INDEX must be less than COUNT"),
        ("4/3", "INDEX must be less than COUNT"),
        ("0/0", "COUNT must be at least 1"),
        ("1/" + "9" * 10, "too large"),
    ],
)
def test_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        Shard.parse(text)
    if len(text.strip()) > 3:
        assert text.strip() not in str(info.value)


@pytest.mark.parametrize(("index", "count"), [(-1, 3), (3, 3), (0, 0), (0, -2)])
def test_constructor_checks_too(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)


def test_bools_are_not_numbers() -> None:
    with pytest.raises(TypeError, match="whole numbers"):
        Shard(True, 2)


@pytest.mark.parametrize("shard", [Shard(0, 1), Shard(2, 3), Shard(41, 100)])
def test_text_round_trips(shard: Shard) -> None:
    assert Shard.parse(str(shard)) == shard


# sha256 of the UTF-8 name, first 8 bytes big-endian, mod COUNT. Fixed here on purpose: a
# change of hash moves organizations between the shards of a running deployment.
@pytest.mark.parametrize(
    ("name", "count", "index"),
    [
        ("acme-mx", 3, 0),
        ("globex-mx", 3, 1),
        ("initech-mx", 3, 0),
        ("acme-mx", 7, 5),
        ("globex-mx", 7, 2),
        ("initech-mx", 7, 6),
        ("default", 7, 4),
        ("Ünïcode", 3, 2),
        ("Ünïcode", 7, 0),
    ],
)
def test_owner_is_stable(name: str, count: int, index: int) -> None:
    owners = [i for i in range(count) if Shard(i, count).owns(name)]
    assert owners == [index]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 16])
def test_every_name_has_exactly_one_shard(count: int) -> None:
    names = [*NAMES, *(f"org-{n}" for n in range(200))]
    for name in names:
        assert sum(Shard(i, count).owns(name) for i in range(count)) == 1
    if count > 1:  # and the hash spreads them: no shard is left empty by 200 names
        assert all(any(Shard(i, count).owns(n) for n in names) for i in range(count))


@pytest.mark.parametrize(
    ("environ", "flag", "expected"),
    [
        ({}, None, None),
        ({SHARD_INDEX_ENV: "2", SHARD_COUNT_ENV: "3"}, None, Shard(2, 3)),
        ({SHARD_INDEX_ENV: "0", SHARD_COUNT_ENV: "1"}, None, Shard(0, 1)),
        ({SHARD_INDEX_ENV: "", SHARD_COUNT_ENV: ""}, None, None),  # empty is unset
        ({}, "1/4", Shard(1, 4)),
        ({}, Shard(1, 4), Shard(1, 4)),
        ({SHARD_INDEX_ENV: "2", SHARD_COUNT_ENV: "3"}, "0/2", Shard(0, 2)),  # the flag wins
        ({SHARD_INDEX_ENV: "2"}, "0/2", Shard(0, 2)),  # ... and makes a lone variable moot
        ({SHARD_COUNT_ENV: "3"}, "0/2", Shard(0, 2)),
    ],
)
def test_shard_from_flag_or_environment(
    environ: dict[str, str], flag: str | Shard | None, expected: Shard | None
) -> None:
    settings = load_settings(environ={**ENV, **environ}, shard=flag)
    assert settings.shard == expected


@pytest.mark.parametrize(
    ("environ", "only"),
    [({SHARD_INDEX_ENV: "1"}, SHARD_INDEX_ENV), ({SHARD_COUNT_ENV: "3"}, SHARD_COUNT_ENV)],
)
def test_one_variable_without_the_other_names_both(environ: dict[str, str], only: str) -> None:
    message = config_error(environ={**ENV, **environ})
    assert message.startswith(f"{SHARD_INDEX_ENV} and {SHARD_COUNT_ENV}: set both or neither")
    assert f"only {only} is set" in message


@pytest.mark.parametrize(
    ("environ", "flag", "expected"),
    [
        (
            {SHARD_INDEX_ENV: "3", SHARD_COUNT_ENV: "3"},
            None,
            f"{SHARD_INDEX_ENV} and {SHARD_COUNT_ENV}: shard INDEX must be less than COUNT",
        ),
        (
            {SHARD_INDEX_ENV: "0", SHARD_COUNT_ENV: "three"},
            None,
            f"{SHARD_INDEX_ENV} and {SHARD_COUNT_ENV}: not a shard",
        ),
        ({}, "1of3", "--shard: not a shard"),
        ({}, "0/0", "--shard: shard COUNT must be at least 1"),
        ({}, 3, "--shard: expected INDEX/COUNT"),
    ],
)
def test_bad_shard_names_its_input(environ: dict[str, str], flag: object, expected: str) -> None:
    assert config_error(environ={**ENV, **environ}, shard=flag).startswith(expected)


def test_sweeper_shard_count_is_a_known_variable() -> None:
    # Every other SWEEPER_* variable is a field's; this one is the shard's count.
    settings = load_settings(environ={**ENV, SHARD_INDEX_ENV: "0", SHARD_COUNT_ENV: "2"})
    assert str(settings.shard) == "0/2"
    assert config_error(environ={**ENV, "SWEEPER_SHARD_COUNTS": "2"}) == (
        "SWEEPER_SHARD_COUNTS: unknown variable (did you mean SWEEPER_SHARD_COUNT?)"
    )
