"""Waivers exactly as documented: `expires` is YYYY-MM-DD only, owner/reason/subject hold visible text,
and expiry is judged in UTC whatever the runner's time zone."""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from mlops_gate import policy, policy_schema, waivers
from mlops_gate.cli import main
from mlops_gate.errors import PolicyError

HEAD = "version: 1\nwaivers:\n  - check: image.base-pinned\n"


def waiver_policy(
    tmp_path: Path,
    owner: str = "'@ml-platform'",
    reason: str = "'PLAT-42'",
    expires: str = "2999-01-01",
    subject: str | None = None,
) -> Path:
    path = tmp_path / "policy.yml"
    text = HEAD + f"    owner: {owner}\n    reason: {reason}\n    expires: {expires}\n"
    path.write_text(text + (f"    subject: {subject}\n" if subject is not None else ""), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(PolicyError) as exc:
        policy.load(path)
    return exc.value.diagnostics().replace(str(path.parent) + "/", "")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("'20270331'", "'20270331' is not a date (YYYY-MM-DD)"),  # basic ISO format: Python 3.11 would take it
        ("2027-W13-3", "'2027-W13-3' is not a date (YYYY-MM-DD)"),  # ISO week date: likewise
        ("'2027-03-31T00:00:00'", "'2027-03-31T00:00:00' is not a date (YYYY-MM-DD)"),
        ("2027-03-31 12:00:00", "'2027-03-31 12:00:00' is not a date (YYYY-MM-DD)"),
        ("2027-3-31", "'2027-3-31' is not a date (YYYY-MM-DD)"),
        ("2027-02-30", "'2027-02-30' is not a date (YYYY-MM-DD): no such day"),
        ("'\uff12\uff10\uff12\uff17-03-31'", "is not a date (YYYY-MM-DD)"),  # full-width digits
        ("20270331", "expected a string, got int 20270331"),  # YAML reads it as a number
    ],
)
def test_expires_is_yyyy_mm_dd_only(tmp_path: Path, written: str, message: str) -> None:
    got = error_of(waiver_policy(tmp_path, expires=written))
    assert got.startswith("policy.yml:6: waivers[0].expires: ") and message in got, got


@pytest.mark.parametrize("written", ["2027-03-31", "'2027-03-31'", '"2027-03-31"'])
def test_a_yaml_date_or_a_string_date_is_accepted(tmp_path: Path, written: str) -> None:
    (w,) = policy.load(waiver_policy(tmp_path, expires=written)).waivers
    assert w.expires == "2027-03-31"
    assert waivers.expiry(dt.date(2027, 3, 31)) == dt.date(2027, 3, 31)  # a date YAML already parsed
    with pytest.raises(ValueError, match="is not a date"):
        waivers.expiry(dt.datetime(2027, 3, 31, 12, 0))


@pytest.mark.parametrize(
    ("field", "written", "message"),
    [
        ("owner", '"\\u200B"', "must contain visible text, not only blank or invisible characters (U+200B)"),
        ("owner", '"\\u200B\\u200C\\u2060\\uFEFF"', "(U+200B U+200C U+2060 U+FEFF)"),
        ("owner", '"\\u3164"', "must contain visible text"),  # Hangul filler: a letter drawn as nothing
        ("owner", '"\\u2800 \\u00A0"', "must contain visible text"),  # Braille blank, no-break space
        ("owner", "'   '", "must contain visible text"),
        ("owner", "''", "must not be empty"),
        ("reason", '"\\u200D\\u0301"', "must contain visible text"),  # a joiner and a lone combining accent
        ("reason", '"\\t\\n"', "must contain visible text"),
        ("reason", '"ok \\u202Eevil"', "contains the control character U+202E; write plain text"),  # bidi override
        ("reason", '"ok \\x1b[2J"', "contains the control character U+001B; write plain text"),
        ("subject", '"\\u200B"', "must contain visible text"),
    ],
)
def test_owner_reason_and_subject_need_visible_text(tmp_path: Path, field: str, written: str, message: str) -> None:
    kwargs = {field: written}
    got = error_of(waiver_policy(tmp_path, **kwargs))
    line = {"owner": 4, "reason": 5, "subject": 7}[field]
    assert got.startswith(f"policy.yml:{line}: waivers[0].{field}: "), got
    assert message in got


def test_visible_text_in_any_script_is_accepted(tmp_path: Path) -> None:
    path = waiver_policy(tmp_path, owner='"@équipe-ml"', reason='"审批 PLAT-42 ✅\\n(multi-line)"')
    (w,) = policy.load(path).waivers
    assert w.owner == "@équipe-ml" and w.reason.startswith("审批")


def test_cli_rejects_before_anything_is_fetched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = waiver_policy(tmp_path, owner='"\\u200B"')
    assert main(["policy", "validate", str(path)], env={}) == 2
    err = capsys.readouterr().err
    assert f"{path}:4: waivers[0].owner: must contain visible text" in err and "Traceback" not in err
    code = main(
        [
            "check",
            "--policy",
            str(path),
            "--repo",
            str(tmp_path),
            "--platform",
            "github",
            "--repository",
            "acme/x",
            "--api-url",
            "http://127.0.0.1:9",
        ],
        env={},
    )
    assert code == 2 and "waivers[0].owner" in capsys.readouterr().err


def test_policy_schema_says_the_same(tmp_path: Path) -> None:
    schema = policy_schema.schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    good = {
        "version": 1,
        "waivers": [{"check": "image.base-pinned", "owner": "@me", "reason": "r", "expires": "2027-03-31"}],
    }
    assert not list(validator.iter_errors(good))
    for key, value in (
        ("expires", "20270331"),
        ("expires", "2027-W13-3"),
        ("owner", "\u200b"),
        ("reason", "\u200b\ufeff "),
        ("owner", ""),
    ):
        bad = {**good, "waivers": [{**good["waivers"][0], key: value}]}
        assert list(validator.iter_errors(bad)), (key, value)
    described = schema["properties"]["waivers"]["items"]["properties"]["expires"]["description"]
    assert "YYYY-MM-DD only" in described and "judged in UTC" in described


# --- expiry in UTC ---------------------------------------------------------------------------------


@pytest.fixture
def time_zone() -> Iterator[None]:
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_expiry_is_judged_in_utc_whatever_the_runner_time_zone(
    tmp_path: Path, time_zone: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner whose local date differs from UTC's (ahead after 10:00 UTC in UTC+14, behind before 12:00
    UTC in UTC-12) judges waivers by the UTC date: a waiver expiring today (UTC) applies, one that expired
    yesterday (UTC) does not."""
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")  # unpinned: image.base-pinned fails
    utc_today = dt.datetime.now(dt.timezone.utc).date()
    zones = [
        z
        for z, hour_ok in (
            ("Etc/GMT-14", dt.datetime.now(dt.timezone.utc).hour >= 10),
            ("Etc/GMT+12", dt.datetime.now(dt.timezone.utc).hour < 12),
        )
        if hour_ok
    ]
    assert zones  # at any hour one of the two runs on another date than UTC
    for zone in zones:
        os.environ["TZ"] = zone
        time.tzset()
        assert dt.date.today() != utc_today  # the local calendar says another day than UTC's
        for expires, status in ((utc_today, "waived"), (utc_today - dt.timedelta(days=1), "failed")):
            path = waiver_policy(tmp_path, expires=expires.isoformat())
            code = main(
                [
                    "check",
                    "--policy",
                    str(path),
                    "--repo",
                    str(tmp_path),
                    "--only",
                    "image.base-pinned",
                    "--fail-on",
                    "low",
                    "--format",
                    "json",
                ],
                env={},
            )
            report = json.loads(capsys.readouterr().out)
            assert [r["status"] for r in report["results"]] == [status], (zone, expires)
            assert code == (0 if status == "waived" else 1)
            assert len(report["waivers"]["expired"]) == (status == "failed")


def test_a_replayed_bundle_with_a_malformed_waiver_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_gate import evidence
    from tests.support.git_repos import git, make_repo

    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "main")
    git(repo, "tag", "v1")
    bundle = tmp_path / "evidence.json"
    pol = tmp_path / "p.yml"
    pol.write_text(
        textwrap.dedent("""\
        version: 1
        waivers:
          - check: image.base-pinned
            owner: '@me'
            reason: PLAT-42
            expires: 2999-01-01
        """)
    )
    assert (
        main(
            [
                "audit",
                "--release",
                "v1",
                "--repo",
                str(repo),
                "--policy",
                str(pol),
                "--only",
                "image.base-pinned",
                "-q",
                "--evidence",
                str(bundle),
            ],
            env={},
        )
        == 0
    )
    data = json.loads(bundle.read_text())
    data["policy"]["applied"]["waivers"][0]["expires"] = "29990101"
    data["policy"]["digest"] = evidence.applied_digest(data["policy"]["applied"])
    data["sha256"] = evidence.digest(data)
    bundle.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["check", "--facts-in", str(bundle), "-q"], env={}) == 2
    err = capsys.readouterr().err
    assert "policy.applied.waivers[0].expires: '29990101' is not a date (YYYY-MM-DD)" in err
    assert "Traceback" not in err
