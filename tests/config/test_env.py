import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_required, env_str


def test_env_bool_accepts_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG") is expected


def test_env_bool_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG")


def test_env_int_rejects_non_numbers_and_values_below_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_INT", " 42 ")
    assert env_int("X_INT", 1) == 42


def test_env_float_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_FLOAT", raising=False)
    assert env_float("X_FLOAT", 0.5) == 0.5
    monkeypatch.setenv("X_FLOAT", "nan-ish")
    with pytest.raises(ImproperlyConfigured, match="not a number"):
        env_float("X_FLOAT", 0.5)


def test_env_list_and_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LIST", "a, b,,c ")
    assert env_list("X_LIST") == ["a", "b", "c"]
    monkeypatch.delenv("X_REQ", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X_REQ must be set"):
        env_required("X_REQ")
    assert env_str("X_REQ", "fallback") == "fallback"
