"""`mlops-gate fleet` and `mlops-gate merge`: the gate over every repository of an organisation.

enumerate.py lists the repositories (GitHub organisation, GitLab group with subgroups, Azure DevOps project or
organisation) and filters them; shard.py picks this shard's part; judge.py judges one repository with the
engine and the checks that need no checkout; exchange.py and cache.py keep the API budget (conditional
requests, rate limits, a request budget, counting); report.py is the fleet report (versioned JSON), merge.py
combines shard reports; scorecard_html.py and scorecard_md.py write the scorecard.

Nothing here is imported by `check`, `audit` or `--version`: the CLI imports `mlops_gate.fleet.cli` only for
the two commands.
"""
