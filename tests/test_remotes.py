"""A git remote read as platform, repository and (self-hosted) API URL; the checkout read with git; the layers
of the target merged with where each value came from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_gate import checkout, remotes
from mlops_gate.target import Target
from tests.support.git_repos import GIT_ENV, git


@pytest.mark.parametrize(
    ("url", "platform", "repository"),
    [
        ("https://github.com/acme/churn-model.git", "github", "acme/churn-model"),
        ("https://github.com/acme/churn-model", "github", "acme/churn-model"),
        ("git@github.com:acme/churn-model.git", "github", "acme/churn-model"),
        ("ssh://git@github.com/acme/churn-model.git", "github", "acme/churn-model"),
        ("ssh://git@ssh.github.com:443/acme/churn-model.git", "github", "acme/churn-model"),
        ("git://github.com/acme/churn-model.git", "github", "acme/churn-model"),
        ("https://x-access-token:ghs_secret@github.com/acme/churn-model.git", "github", "acme/churn-model"),
        ("https://gitlab.com/acme/ml/fraud-model.git", "gitlab", "acme/ml/fraud-model"),
        ("git@gitlab.com:acme/ml/deep/fraud-model.git", "gitlab", "acme/ml/deep/fraud-model"),
        ("ssh://git@altssh.gitlab.com:443/acme/fraud-model.git", "gitlab", "acme/fraud-model"),
        (
            "https://dev.azure.com/contoso/Fraud%20Detection/_git/fraud-model",
            "azure",
            "contoso/Fraud Detection/fraud-model",
        ),
        ("https://contoso@dev.azure.com/contoso/ml/_git/fraud-model", "azure", "contoso/ml/fraud-model"),
        ("git@ssh.dev.azure.com:v3/contoso/ml/fraud-model", "azure", "contoso/ml/fraud-model"),
        ("contoso@vs-ssh.visualstudio.com:v3/contoso/ml/fraud-model", "azure", "contoso/ml/fraud-model"),
        ("https://contoso.visualstudio.com/ml/_git/fraud-model", "azure", "contoso/ml/fraud-model"),
        ("https://contoso.visualstudio.com/DefaultCollection/ml/_git/fraud-model", "azure", "contoso/ml/fraud-model"),
    ],
)
def test_public_hosts(url: str, platform: str, repository: str) -> None:
    parsed = remotes.parse(url)
    assert parsed is not None
    seen = remotes.identify(parsed)
    assert (seen.platform, seen.repository) == (platform, repository)
    assert seen.api_url is None  # the provider's default public API: nothing derived from the URL
    assert "secret" not in repr(parsed)  # credentials in a remote URL are dropped at once


@pytest.mark.parametrize(
    ("url", "platform", "repository", "api"),
    [
        ("git@github.example.com:acme/churn.git", "github", "acme/churn", "https://github.example.com/api/v3"),
        (
            "https://github.example.com:8443/acme/churn",
            "github",
            "acme/churn",
            "https://github.example.com:8443/api/v3",
        ),
        # an SSH port is not the HTTPS port; plain http never carries the token: always https, on the same host
        ("ssh://git@github.example.com:2222/acme/churn", "github", "acme/churn", "https://github.example.com/api/v3"),
        ("http://gitlab.example.com/ml/fraud.git", "gitlab", "ml/fraud", "https://gitlab.example.com"),
        ("git@gitlab.example.com:ml/team/fraud.git", "gitlab", "ml/team/fraud", "https://gitlab.example.com"),
        (
            "https://tfs.example.com/tfs/DefaultCollection/ML/_git/fraud",
            "azure",
            "DefaultCollection/ML/fraud",
            "https://tfs.example.com/tfs/DefaultCollection",
        ),
        (
            "ssh://tfs.example.com:22/tfs/DefaultCollection/ML/_git/fraud",
            "azure",
            "DefaultCollection/ML/fraud",
            "https://tfs.example.com/tfs/DefaultCollection",
        ),
    ],
)
def test_a_self_hosted_server_is_read_once_its_platform_is_stated(
    url: str, platform: str, repository: str, api: str
) -> None:
    parsed = remotes.parse(url)
    assert parsed is not None
    unknown = remotes.identify(parsed)
    assert (unknown.platform, unknown.repository, unknown.api_url) == (None, None, None)
    assert "say which platform it is with --platform, MLOPS_GATE_PLATFORM or target.platform" in unknown.note
    seen = remotes.identify(parsed, platform)
    assert (seen.platform, seen.repository, seen.api_url) == (platform, repository, api)


def test_github_enterprise_cloud_with_data_residency_has_its_own_api_host() -> None:
    parsed = remotes.parse("https://octo.ghe.com/acme/churn.git")
    assert parsed is not None
    seen = remotes.identify(parsed)
    assert (seen.platform, seen.repository, seen.api_url) == ("github", "acme/churn", "https://api.octo.ghe.com")


def test_a_gitlab_under_a_relative_url_root_strips_the_prefix_the_api_url_names() -> None:
    parsed = remotes.parse("https://example.com/gitlab/ml/fraud.git")
    assert parsed is not None
    seen = remotes.identify(parsed, "gitlab", "https://example.com/gitlab/api/v4")
    assert seen.repository == "ml/fraud"


def test_a_public_host_of_another_platform_is_not_read_as_the_stated_one() -> None:
    parsed = remotes.parse("https://gitlab.com/acme/churn.git")
    assert parsed is not None
    seen = remotes.identify(parsed, "github")
    assert (seen.platform, seen.repository, seen.api_url) == (None, None, None)
    assert "gitlab.com (GitLab) but the platform is GitHub" in seen.note


@pytest.mark.parametrize("url", ["/srv/git/churn.git", "../churn", "./churn", "~/churn", "C:\\repos\\churn", "", "a b"])
def test_local_paths_are_not_remotes(url: str) -> None:
    assert remotes.parse(url) is None


@pytest.mark.parametrize(
    ("url", "stated"),
    [("https://github.com/acme", None), ("https://github.com/a/b/c", None), ("https://dev.azure.com/org/p", None)],
)
def test_paths_that_are_not_repositories_say_so(url: str, stated: str | None) -> None:
    parsed = remotes.parse(url)
    assert parsed is not None
    seen = remotes.identify(parsed, stated)
    assert seen.repository is None and "is not a" in seen.note


# ---- the checkout ----------------------------------------------------------------------------------------


def repo_with(tmp_path: Path, *remotes_: tuple[str, str], branch: str = "main") -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", branch)
    (repo / "README.md").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    for name, url in remotes_:
        git(repo, "remote", "add", name, url)
    return repo


def test_head_branch_and_origin(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "git@github.com:acme/churn.git"), ("fork", "git@github.com:me/churn.git"))
    seen = checkout.infer(repo, Target(), {})
    assert seen.target == Target(
        platform="github", repository="acme/churn", branch="main", commit=git(repo, "rev-parse", "HEAD")
    )
    assert (seen.remote, seen.host, seen.notes) == ("origin", "github.com", ())


def test_the_upstream_of_the_current_branch_wins_over_origin(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "git@github.com:me/churn.git"), ("upstream", "https://gitlab.com/acme/churn"))
    git(repo, "config", "branch.main.remote", "upstream")
    seen = checkout.infer(repo, Target(), {})
    assert (seen.remote, seen.target.platform, seen.target.repository) == ("upstream", "gitlab", "acme/churn")


def test_the_only_remote_is_used_whatever_its_name(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("github", "git@github.com:acme/churn.git"))
    assert checkout.infer(repo, Target(), {}).target.repository == "acme/churn"


def test_insteadof_applies_as_git_applies_it(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "gh:acme/churn"))
    git(repo, "config", "url.git@github.com:.insteadOf", "gh:")
    assert checkout.infer(repo, Target(), {}).target.repository == "acme/churn"


def test_a_subdirectory_reads_its_repository(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "https://github.com/acme/mono.git"))
    (repo / "models" / "churn").mkdir(parents=True)
    assert checkout.infer(repo / "models" / "churn", Target(), {}).target.repository == "acme/mono"


def test_detached_head_gives_the_commit_and_no_branch(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "git@github.com:acme/churn.git"))
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    seen = checkout.infer(repo, Target(), {})
    assert (seen.target.commit, seen.target.branch) == (sha, None)


def test_no_remote_and_no_repository(tmp_path: Path) -> None:
    repo = repo_with(tmp_path)
    seen = checkout.infer(repo, Target(), {})
    assert seen.target.platform is None and seen.target.commit
    assert seen.notes == ("the checkout has no remote to read the platform and repository from",)
    assert checkout.infer(repo, Target(repository="acme/churn"), {}).notes == ()  # said elsewhere: no note
    plain = tmp_path / "plain"
    plain.mkdir()
    assert checkout.infer(plain, Target(), {}) == checkout.Inferred()
    empty = tmp_path / "empty"
    empty.mkdir()
    subprocess.run(["git", "init", "-q", str(empty)], check=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"})
    assert checkout.infer(empty, Target(), {}) == checkout.Inferred()  # no commit yet


def test_a_self_hosted_api_url_is_derived_only_when_the_environment_does_not_name_one(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, ("origin", "git@github.example.com:acme/churn.git"))
    assert checkout.infer(repo, Target(), {}).target.platform is None
    stated = Target(platform="github")
    assert checkout.infer(repo, stated, {}).target.api_url == "https://github.example.com/api/v3"
    named = {"GITHUB_API_URL": "https://api.example.com"}
    assert checkout.infer(repo, stated, named).target.api_url is None


def test_layers_later_win_and_each_value_says_where_it_came_from() -> None:
    merged, sources = checkout.layered(
        ("checkout", Target(platform="github", repository="acme/a", commit="1" * 40, branch="main")),
        ("CI", Target(commit="2" * 40)),
        ("policy", Target(repository="acme/b", model="m@champion")),
        ("env", Target(branch="release")),
        ("flag", Target(model="m/3")),
    )
    assert merged == Target(platform="github", repository="acme/b", commit="2" * 40, branch="release", model="m/3")
    assert sources == {
        "platform": "checkout",
        "repository": "policy",
        "commit": "CI",
        "branch": "env",
        "model": "flag",
    }
