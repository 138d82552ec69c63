"""Personal accounts, the pure rules: password hashing, the rights table, names and lockout."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest

from inspector.core import accounts
from inspector.core.accounts import (
    ANONYMOUS_RIGHTS,
    ITERATIONS,
    RIGHTS,
    Right,
    Role,
    allowed,
    hash_iterations,
    hash_password,
    lock_seconds,
    min_role,
    needs_rehash,
    needs_text,
    normalise_username,
    validate_password,
    verify_password,
)

PW = "correct horse battery"


# -- hashing ----------------------------------------------------------------------------------------
def test_a_hash_verifies_its_password_and_refuses_others() -> None:
    stored = hash_password(PW)
    assert stored.startswith(f"pbkdf2_sha256${ITERATIONS}$")
    assert PW not in stored
    assert verify_password(PW, stored)
    for wrong in ("correct horse batterY", "correct horse battery ", "", PW[:-1]):
        assert not verify_password(wrong, stored)


def test_every_hash_has_its_own_salt() -> None:
    a, b = hash_password(PW, iterations=1000), hash_password(PW, iterations=1000)
    assert a != b
    salt_a, salt_b = a.split("$")[2], b.split("$")[2]
    assert salt_a != salt_b
    assert len(bytes.fromhex(salt_a)) == 16
    assert verify_password(PW, a)
    assert verify_password(PW, b)


def test_the_work_factor_is_recorded_and_honoured_on_verify() -> None:
    assert ITERATIONS >= 600_000  # OWASP 2023 for PBKDF2-HMAC-SHA256
    stored = hash_password(PW, salt=b"s" * 16, iterations=1234)
    assert hash_iterations(stored) == 1234
    expected = hashlib.pbkdf2_hmac("sha256", PW.encode(), b"s" * 16, 1234).hex()
    assert stored == f"pbkdf2_sha256$1234${(b's' * 16).hex()}${expected}"
    assert verify_password(PW, stored)  # verified with the stored count, not today's
    # the count is part of what is checked: the same salt and digest with another count fail
    assert not verify_password(PW, stored.replace("$1234$", "$1235$"))
    assert needs_rehash(stored)
    assert not needs_rehash(hash_password(PW))


def test_a_raised_work_factor_keeps_old_hashes_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    old = hash_password(PW, iterations=1000)
    monkeypatch.setattr(accounts, "ITERATIONS", 2000)
    new = hash_password(PW)
    assert hash_iterations(new) == 2000
    assert verify_password(PW, old)
    assert needs_rehash(old)
    assert not needs_rehash(new)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "md5$1000$00$00",
        "pbkdf2_sha256$0$00ff$00ff",
        "pbkdf2_sha256$-5$00ff$00ff",
        "pbkdf2_sha256$99999999999$00ff$00ff",  # would hang the login: treated as corrupt
        "pbkdf2_sha256$1000$zz$00ff",
        "pbkdf2_sha256$1000$$",
        "pbkdf2_sha256$1000$00ff",
    ],
)
def test_malformed_hashes_verify_nothing(stored: str) -> None:
    assert not verify_password(PW, stored)
    assert not verify_password("", stored)


def test_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(accounts.hmac, "compare_digest", spy)
    stored = hash_password(PW, iterations=1000)
    assert verify_password(PW, stored)
    assert not verify_password("nope", stored)
    assert len(calls) == 2


def test_an_unknown_user_costs_one_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[int] = []
    real = hashlib.pbkdf2_hmac

    def spy(name: str, password: bytes, salt: bytes, n: int, dklen: int | None = None) -> bytes:
        rounds.append(n)
        return real(name, password, salt, 1, dklen)  # the count is what matters here, not the time

    monkeypatch.setattr(accounts.hashlib, "pbkdf2_hmac", spy)
    accounts.burn_verify(PW)
    assert rounds == [ITERATIONS]


# -- rights -----------------------------------------------------------------------------------------
EXPECTED = {
    Role.OPERATOR: {Right.INSPECT, Right.LOT, Right.REVIEW},
    Role.QA: {Right.INSPECT, Right.LOT, Right.REVIEW, Right.RECIPE, Right.PROMOTE, Right.LEAVE_KIOSK},
    Role.ENGINEER: {
        Right.INSPECT,
        Right.LOT,
        Right.REVIEW,
        Right.RECIPE,
        Right.PROMOTE,
        Right.LEAVE_KIOSK,
        Right.TRAIN,
        Right.ENGINE,
        Right.PRODUCTS,
    },
    Role.ADMIN: set(Right),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("right", list(Right))
def test_the_rights_table(role: Role, right: Right) -> None:
    assert allowed(role, right) is (right in EXPECTED[role])
    assert allowed(role.value, right) is (right in EXPECTED[role])  # the plain string from the DB


def test_operators_cannot_train_rebuild_promote_or_change_recipes() -> None:
    for right in (Right.TRAIN, Right.ENGINE, Right.PROMOTE, Right.RECIPE, Right.PRODUCTS, Right.USERS):
        assert not allowed(Role.OPERATOR, right)
        assert not allowed(None, right)
        assert not allowed(Role.ADMIN, right, personal=False)  # no login, no rights beyond nobody's
    assert allowed(Role.QA, Right.RECIPE)
    assert not allowed(Role.QA, Right.TRAIN)


def test_roles_accumulate_and_every_right_has_a_lowest_role() -> None:
    roles = list(Role)
    for lower, higher in itertools.pairwise(roles):
        assert RIGHTS[lower] < RIGHTS[higher]
    assert RIGHTS[Role.ADMIN] == frozenset(Right)
    assert {r: min_role(r) for r in Right} == {
        Right.INSPECT: Role.OPERATOR,
        Right.LOT: Role.OPERATOR,
        Right.REVIEW: Role.OPERATOR,
        Right.RECIPE: Role.QA,
        Right.PROMOTE: Role.QA,
        Right.LEAVE_KIOSK: Role.QA,
        Right.TRAIN: Role.ENGINEER,
        Right.ENGINE: Role.ENGINEER,
        Right.PRODUCTS: Role.ENGINEER,
        Right.USERS: Role.ADMIN,
    }
    assert needs_text(Right.RECIPE) == "needs QA, Engineer or Admin"
    assert needs_text(Right.TRAIN) == "needs Engineer or Admin"
    assert needs_text(Right.USERS) == "needs Admin"


def test_the_anonymous_session_inspects_and_runs_lots_and_reviews_only_without_accounts() -> None:
    assert {r for r in Right if allowed(None, r)} == set(ANONYMOUS_RIGHTS) == {Right.INSPECT, Right.LOT}
    assert {r for r in Right if allowed(None, r, accounts=False)} == {Right.INSPECT, Right.LOT, Right.REVIEW}
    assert allowed(Role.OPERATOR, Right.REVIEW)  # a logged-in operator signs reviews


def test_an_unknown_role_has_no_rights() -> None:
    assert not any(allowed("superuser", r) for r in Right)


# -- names, passwords, lockout ---------------------------------------------------------------------
def test_user_names_are_normalised_and_checked() -> None:
    assert normalise_username("  ANovak ") == "anovak"
    assert normalise_username("a.novak@plant-2") == "a.novak@plant-2"
    for bad in ("", "a", "-anna", "anna novak", "anna/../x", "ä" * 3, "x" * 65):
        with pytest.raises(ValueError, match="User name"):
            normalise_username(bad)


def test_password_rules() -> None:
    validate_password("eight ch", "anna")
    for bad, why in (
        ("short", "at least 8"),
        (" padded pw", "space"),
        ("x" * 257, "at most"),
        ("AnnaNovak", "user name"),
    ):
        with pytest.raises(ValueError, match=why):
            validate_password(bad, "annanovak")


def test_lockout_grows_and_is_capped() -> None:
    assert [lock_seconds(n) for n in range(1, 10)] == [0, 0, 0, 0, 30, 60, 120, 240, 480]
    assert lock_seconds(50) == 3600
