"""The policy format's JSON Schema, for editors: every key and every check's params with its type, default,
meaning and an example (from the dataclasses' field docs, mlops_gate.fielddoc: the same text `mlops-gate
explain ID` prints). `python -m mlops_gate.docsgen` writes it to mlops_gate/policies/policy.schema.json."""

from __future__ import annotations

from typing import Any

from mlops_gate import typed
from mlops_gate.catalogue import catalogue
from mlops_gate.policy_doc import CheckDoc, PolicyDoc
from mlops_gate.waivers import VISIBLE_PATTERN


def schema() -> dict[str, Any]:
    """JSON Schema of the policy format, with every built-in check's params."""
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlops-gate.dev/schemas/policy-v1.json",
        "title": "mlops-gate policy",
        **typed.schema_of(PolicyDoc),
    }
    check_props = {}
    for cid, spec in catalogue().checks.items():
        if spec.origin != "builtin" and not spec.origin.startswith("mlops_gate."):
            continue
        cschema = typed.schema_of(CheckDoc)
        cschema["properties"]["params"] = typed.schema_of(spec.params)
        cschema["properties"]["params"]["description"] = f"{spec.id}'s settings (`mlops-gate explain {spec.id}`)"
        cschema["description"] = f"{spec.title} (default severity {spec.severity.value}; {spec.docs_url})"
        check_props[cid] = cschema
    checks = out["properties"]["checks"]
    out["properties"]["checks"] = {
        "description": checks.get("description", ""),
        "type": "object",
        "properties": check_props,
        "additionalProperties": False,
    }
    waiver = out["properties"]["waivers"]["items"]["properties"]
    waiver["check"] = {**waiver["check"], "enum": sorted(check_props)}
    waiver["check"].pop("type", None)
    waiver["expires"] = {
        **waiver["expires"],
        "format": "date",
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "YYYY-MM-DD only. The waiver applies through this day, judged in UTC "
        "(whatever the runner's time zone), and no longer from the next day on.",
    }
    for name in ("owner", "reason", "subject"):
        waiver[name] = {
            **waiver[name],
            "minLength": 1,
            "pattern": VISIBLE_PATTERN,
            "description": waiver[name].get("description", "")
            + " It must contain visible text (not only blank or invisible characters).",
        }
    return out
