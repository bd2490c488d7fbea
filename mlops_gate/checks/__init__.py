"""Built-in checks: a check with id `area.name` is defined in `checks/<area>.py` or `checks/<area>_<topic>.py`.

Each check is pure over the facts it declares it needs (`mlops_gate.facts.Facts`, read through typed
accessors), its params and the target; other tools' languages are read with `mlops_gate.lang`. Modules
starting with `_` are helpers the checks of several areas share. mlops_gate.catalogue lists the modules.
"""
