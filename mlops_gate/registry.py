"""`mlops_gate.registry`, kept for third-party checks: `from mlops_gate.registry import check` is how the README's
plugin contract declares one (entry-point group `mlops_gate.checks`).

The names live elsewhere now: the decorator and CheckSpec in mlops_gate.checkspec, the catalogue of every
check in mlops_gate.catalogue (`registry` was a confusing name next to the `registry.*` model-registry checks).
"""

from mlops_gate.catalogue import Catalogue, catalogue, reset_cache
from mlops_gate.checkspec import CheckFunc, CheckSpec, NoParams, ScopeFunc, check

__all__ = ["Catalogue", "CheckFunc", "CheckSpec", "NoParams", "ScopeFunc", "catalogue", "check", "reset_cache"]
