"""Facts: each kind declared once as a typed accessor, and the same facts as a read-only mapping by kind name
(what third-party checks were always given)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mlops_gate.facts import FACT_KINDS, Facts, Kind
from mlops_gate.facts.files import RepoFiles, SourceFile
from mlops_gate.facts.oci import ImageFacts


def test_every_kind_is_declared_once_as_an_accessor() -> None:
    """(mypy checks `facts.ci_config.files` through the accessor's type; this checks the declarations.)"""
    assert len(FACT_KINDS) == 18
    for name, kind in FACT_KINDS.items():
        assert kind.name == name and isinstance(kind.type, type) and kind.doc and kind.area
        assert isinstance(getattr(Facts, name), Kind)


def test_typed_and_mapping_access_give_the_same_values() -> None:
    files = RepoFiles("/repo", (SourceFile(".gitlab-ci.yml", "yaml"),))
    facts = Facts({"ci_config": files}, oci_image=ImageFacts(""))
    assert facts.ci_config is files and facts["ci_config"] is files
    assert isinstance(facts, Mapping) and sorted(facts) == ["ci_config", "oci_image"] and len(facts) == 2
    assert dict(facts) == {"ci_config": files, "oci_image": ImageFacts("")}


def test_a_kind_not_given_is_an_error_never_an_empty_value() -> None:
    facts = Facts(ci_config=RepoFiles("/repo"))
    with pytest.raises(KeyError, match="dockerfiles was not given to this check: add it to the check's needs"):
        _ = facts.dockerfiles
    with pytest.raises(KeyError):
        facts["dockerfiles"]


def test_unknown_kinds_and_wrong_types_are_refused() -> None:
    with pytest.raises(KeyError, match="unknown fact kinds: ci_confg"):
        Facts(ci_confg=RepoFiles("/repo"))
    with pytest.raises(TypeError, match="ci_config holds a ImageFacts, not a RepoFiles"):
        _ = Facts(ci_config=ImageFacts("")).ci_config
