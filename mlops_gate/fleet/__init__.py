"""`mlops-gate fleet` and `mlops-gate merge`: the gate over every repository of an organisation (docs/fleet.md).

platforms.py lists the repositories (GitHub organisation, GitLab group with subgroups, Azure DevOps project or
organisation), reads a repository's default-branch head and its policy file; select.py filters them and picks
this shard's part; overrides.py puts a repository's policy file over the fleet policy; judge.py judges one
repository with the engine and the checks that need no checkout; exchange.py and cache.py keep the API budget
(conditional requests, rate limits, a request budget, counting); run.py is the run, report.py the fleet report
(versioned JSON), merge.py combines shard reports; scores.py, scorecard_html.py and scorecard_md.py write the
scorecard; cli.py parses the two commands' arguments.

Nothing here is imported by `check`, `audit` or `--version`: the CLI imports `mlops_gate.fleet.cli` only for
the two commands.
"""
