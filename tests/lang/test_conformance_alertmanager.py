"""Conformance: Alertmanager's own configuration tests (prometheus/alertmanager 68fb2d57, after v0.34.0:
config/config_test.go, config/notifiers_test.go and config/testdata/, in ../shared/corpus/upstream; see
../shared/corpus/SOURCES.md). Read where they are, never copied.

Every row below comes from reading one Go test: what it loads (a testdata file, a raw-string literal of
the test, one value) and what the test expects — `load` (no error) or `fail` with the error it checks
(`upstream`, verbatim or the substring the test looks for). The gate must agree, judging as Alertmanager
0.34: what must load has no problem, what must fail has a problem whose message contains `match` (the
upstream words, or ours where they differ: a different type name in a strict-decode error).

Not cases (they test no load outcome): TestSecretTemplURLMarshaling (marshalling), the JSON and
idempotency halves of TestJSONMarshal/TestJSONUnmarshal/TestMarshalIdempotency (their load half is the
conf.good.yml row), TestEmailDisallowMalformed's address parse (its load half is a row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_gate import yamlio
from mlops_gate.lang import alertmanager as am
from mlops_gate.lang import alertmanager_schema as schema
from mlops_gate.lang.versions import parse
from tests.support import gosource

UPSTREAM = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "upstream" / "alertmanager" / "config"
pytestmark = pytest.mark.skipif(
    not UPSTREAM.is_dir(), reason=f"Alertmanager's upstream test data is not here ({UPSTREAM}): see ../shared/corpus"
)
CONFIG_TEST = UPSTREAM / "config_test.go"
NOTIFIERS_TEST = UPSTREAM / "notifiers_test.go"
VERSION = parse("0.34")


@dataclass(frozen=True)
class Case:
    test: str  # the Go test (/subtest) the row comes from
    source: str  # file:NAME | literal:FUNC:N | template:FUNC:N:ARG | struct:STRUCT:FUNC:N | value:KIND:TEXT | empty
    expect: str  # load | fail
    upstream: str = ""  # the error the Go test expects
    match: str = ""  # what our message must contain, when not `upstream` itself

    @property
    def id(self) -> str:
        return f"{self.test}[{self.source.split(':', 1)[-1]}]"


def load(name: str) -> Case:
    tests = ", ".join(t for t, f in LOADS if f == name)
    return Case(tests, f"file:{name}", "load")


def fail(test: str, source: str, upstream: str, match: str = "") -> Case:
    return Case(test, source, "fail", upstream, match)


def ok(test: str, source: str) -> Case:
    return Case(test, source, "load")


# (Go test, testdata file) for every LoadFile a test expects to succeed
LOADS = [
    (
        "TestHideConfigSecrets, TestJSONMarshal, TestJSONUnmarshal, TestMarshalIdempotency, TestSMTPHello",
        "conf.good.yml",
    ),
    ("TestEmptyFieldsAndRegex", "conf.empty-fields.yml"),
    ("TestGlobalAndLocalHTTPConfig", "conf.http-config.good.yml"),
    ("TestSMTPNoUsernameOrPassword", "conf.smtp-no-username-or-password.yml"),
    ("TestGlobalAndLocalSMTPPassword", "conf.smtp-password-global-and-local.yml"),
    ("TestGroupByAll", "conf.group-by-all.yml"),
    ("TestVictorOpsDefaultAPIKey", "conf.victorops-default-apikey.yml"),
    ("TestVictorOpsDefaultAPIKeyFile", "conf.victorops-default-apikey-file.yml"),
    ("TestTelegramDefaultBotToken", "conf.telegram-default-bot-token.yml"),
    ("TestTelegramDefaultBotTokenFile", "conf.telegram-default-bot-token-file.yml"),
    ("TestOpsGenieDefaultAPIKey", "conf.opsgenie-default-apikey.yml"),
    ("TestOpsGenieDefaultAPIKeyFile", "conf.opsgenie-default-apikey-file.yml"),
    ("TestSlackGlobalAppToken", "conf.slack-default-app-token.yml"),
    ("TestSlackGlobalAPIURLFile", "conf.slack-default-api-url-file.yml"),
    ("TestValidSNSConfig", "conf.sns-topic-arn.yml"),
    ("TestRocketchatDefaultToken, TestRocketchatDefaultTokenID", "conf.rocketchat-default-token.yml"),
    ("TestRocketchatDefaultTokenFile, TestRocketchatDefaultIDTokenFile", "conf.rocketchat-default-token-file.yml"),
    ("TestWechatGlobalAPISecretFile", "conf.wechat-default-api-secret-file.yml"),
    ("TestMattermostDefaultWebhookURL", "conf.mattermost-default-webhook-url.yml"),
    ("TestMattermostDefaultWebhookURLFile", "conf.mattermost-default-webhook-url-file.yml"),
]
_EMPTY_INTEGRATIONS = {  # TestEmptyConfigOfIntegration: `<key>: [null]` and the error each must give
    "discord_configs": "missing discord config",
    "email_configs": "missing email config",
    "incidentio_configs": "missing incidentio config",
    "pagerduty_configs": "missing pagerduty config",
    "webhook_configs": "missing webhook config",
    "pushover_configs": "missing pushover config",
    "victorops_configs": "missing victorops config",
    "sns_configs": "missing sns config",
    "telegram_configs": "missing telegram config",
    "webex_configs": "missing webex config",
    "msteams_configs": "missing msteams config",
    "msteamsv2_configs": "missing msteamsv2 config",
    "jira_configs": "missing jira config",
    "mattermost_configs": "missing mattermost config",
    "slack_configs": "no Slack API URL nor App token set either inline or in a file",
    "opsgenie_configs": "no global OpsGenie API Key set either inline or in a file",
    "wechat_configs": "no global Wechat Api Secret set either inline or in a file",
    "rocketchat_configs": "no global Rocketchat TokenID set either inline or in a file",
}
CASES = [
    fail("TestLoadEmptyString", "empty", "no route provided in config"),
    ok("TestEventRecorderWebhookBatchingConfig", "literal:TestEventRecorderWebhookBatchingConfig:0"),
    fail(
        "TestDefaultReceiverExists", "literal:TestDefaultReceiverExists:0", "root route must specify a default receiver"
    ),
    fail(
        "TestReceiverNameIsUnique",
        "literal:TestReceiverNameIsUnique:0",
        'notification config name "team-X" is not unique',
    ),
    fail("TestReceiverExists", "literal:TestReceiverExists:0", 'undefined receiver "team-X" used in route'),
    fail(
        "TestReceiverExistsForDeepSubRoute",
        "literal:TestReceiverExistsForDeepSubRoute:0",
        'undefined receiver "nonexistent" used in route',
    ),
    fail("TestReceiverHasName", "literal:TestReceiverHasName:0", "missing name in receiver"),
    ok("TestReceiverLabelsAutoPopulatesName", "literal:TestReceiverLabelsAutoPopulatesName:0"),
    ok("TestReceiverLabelsPreservesUserLabels", "literal:TestReceiverLabelsPreservesUserLabels:0"),
    fail(
        "TestReceiverLabelsNameConflict",
        "literal:TestReceiverLabelsNameConflict:0",
        'receiver label "name" must match receiver name "team-X", got "different-name"',
    ),
    ok("TestReceiverLabelsNameMatchesExplicitly", "literal:TestReceiverLabelsNameMatchesExplicitly:0"),
    ok("TestReceiverLabelsAllowsHyphensAndUTF8", "literal:TestReceiverLabelsAllowsHyphensAndUTF8:0"),
    fail(
        "TestMuteTimeExists", "literal:TestMuteTimeExists:0", 'undefined time interval "business_hours" used in route'
    ),
    fail(
        "TestActiveTimeExists",
        "literal:TestActiveTimeExists:0",
        'undefined time interval "business_hours" used in route',
    ),
    fail("TestTimeIntervalHasName", "literal:TestTimeIntervalHasName:0", "missing name in time interval"),
    fail(
        "TestMuteTimeNoDuplicates", "literal:TestMuteTimeNoDuplicates:0", 'mute time interval "duplicate" is not unique'
    ),
    fail(
        "TestGroupByHasNoDuplicatedLabels",
        "literal:TestGroupByHasNoDuplicatedLabels:0",
        'duplicated label "cluster" in group_by',
    ),
    fail(
        "TestWildcardGroupByWithOtherGroupByLabels",
        "literal:TestWildcardGroupByWithOtherGroupByLabels:0",
        "cannot have wildcard group_by (`...`) and other labels at the same time",
    ),
    fail(
        "TestGroupByInvalidLabel",
        "literal:TestGroupByInvalidLabel:0",
        'invalid label name "-invalid-" in group_by list',
    ),
    fail(
        "TestRouteLabelsInvalidLabelName",
        "literal:TestRouteLabelsInvalidLabelName:0",
        'invalid label name "-invalid-" in route labels',
    ),
    ok("TestRouteLabelsValidLabelName", "literal:TestRouteLabelsValidLabelName:0"),
    fail("TestRootRouteExists", "literal:TestRootRouteExists:0", "no routes provided"),
    fail(
        "TestRootRouteNoMuteTimes",
        "literal:TestRootRouteNoMuteTimes:0",
        "root route must not have any mute time intervals",
    ),
    fail(
        "TestRootRouteNoActiveTimes",
        "literal:TestRootRouteNoActiveTimes:0",
        "root route must not have any active time intervals",
    ),
    fail(
        "TestRootRouteHasNoMatcher/Test deprecated matchers on root route not allowed",
        "literal:TestRootRouteHasNoMatcher:0",
        "root route must not have any matchers",
    ),
    fail(
        "TestRootRouteHasNoMatcher/Test matchers not allowed on root route",
        "literal:TestRootRouteHasNoMatcher:1",
        "root route must not have any matchers",
    ),
    fail(
        "TestContinueErrorInRouteRoot", "literal:TestContinueErrorInRouteRoot:0", "cannot have continue in root route"
    ),
    fail(
        "TestGroupIntervalIsGreaterThanZero",
        "literal:TestGroupIntervalIsGreaterThanZero:0",
        "group_interval cannot be zero",
    ),
    fail(
        "TestRepeatIntervalIsGreaterThanZero",
        "literal:TestRepeatIntervalIsGreaterThanZero:0",
        "repeat_interval cannot be zero",
    ),
    ok("TestGroupByAllNotMarshaled", "literal:TestGroupByAllNotMarshaled:0"),
    *(
        fail(f"TestEmptyConfigOfIntegration/{key}", f"template:TestEmptyConfigOfIntegration:0:{key}", why)
        for key, why in _EMPTY_INTEGRATIONS.items()
    ),
    *(load(name) for _, name in LOADS),
    fail(
        "TestSMTPBothPasswordAndFile",
        "file:conf.smtp-both-password-and-file.yml",
        "at most one of smtp_auth_password & smtp_auth_password_file must be configured",
    ),
    fail(
        "TestVictorOpsBothAPIKeyAndFile",
        "file:conf.victorops-both-file-and-apikey.yml",
        "at most one of victorops_api_key & victorops_api_key_file must be configured",
    ),
    fail("TestVictorOpsNoAPIKey", "file:conf.victorops-no-apikey.yml", "no global VictorOps API Key set"),
    fail(
        "TestTelegramBothBotTokenAndFile",
        "file:conf.telegram-both-bot-token-and-file.yml",
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured",
    ),
    fail(
        "TestTelegramValidReceiverBothBotTokenAndFile",
        "file:conf.telegram-valid-receiver-both-bot-token-and-file.yml",
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured",
    ),
    fail(
        "TestTelegramNoBotToken",
        "file:conf.telegram-no-bot-token.yml",
        "missing bot_token or bot_token_file on telegram_config",
    ),
    fail(
        "TestOpsGenieBothAPIKeyAndFile",
        "file:conf.opsgenie-both-file-and-apikey.yml",
        "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured",
    ),
    fail(
        "TestOpsGenieNoAPIKey",
        "file:conf.opsgenie-no-apikey.yml",
        "no global OpsGenie API Key set either inline or in a file",
    ),
    fail(
        "TestOpsGenieDeprecatedTeamSpecified",
        "file:conf.opsgenie-default-apikey-old-team.yml",
        "yaml: unmarshal errors:\n  line 16: field teams not found in type opsgenie.plain",
        "field teams not found in type OpsGenie",
    ),
    fail(
        "TestSlackBothAPIURLAndFile",
        "file:conf.slack-both-file-and-url.yml",
        "at most one of slack_api_url & slack_api_url_file must be configured",
    ),
    fail(
        "TestSlackBothAppTokenAndFile",
        "file:conf.slack-both-file-and-token.yml",
        "at most one of slack_app_token & slack_app_token_file must be configured",
    ),
    fail(
        "TestSlackBothAppTokenAndAPIURL",
        "file:conf.slack-both-url-and-token.yml",
        "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured",
    ),
    fail(
        "TestSlackUpdateMessageWebhookURL",
        "file:conf.slack-update-message-and-webhook.yml",
        "update_message can only be used with bot tokens. api_url must be set to https://slack.com/api/chat.postMessage",
    ),
    fail(
        "TestSlackNoAPIURL",
        "file:conf.slack-no-api-url-or-token.yml",
        "no Slack API URL nor App token set either inline or in a file",
    ),
    fail(
        "TestInvalidSNSConfig",
        "file:conf.sns-invalid.yml",
        "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
    ),
    fail(
        "TestRocketchatBothTokenAndTokenFile",
        "file:conf.rocketchat-both-token-and-tokenfile.yml",
        "at most one of rocketchat_token & rocketchat_token_file must be configured",
    ),
    fail(
        "TestRocketchatBothTokenIDAndTokenIDFile",
        "file:conf.rocketchat-both-tokenid-and-tokenidfile.yml",
        "at most one of rocketchat_token_id & rocketchat_token_id_file must be configured",
    ),
    fail(
        "TestRocketchatNoToken",
        "file:conf.rocketchat-no-token.yml",
        "no global Rocketchat Token set either inline or in a file",
    ),
    fail("TestNilRegexp/testdata/conf.nil-match_re-route.yml", "file:conf.nil-match_re-route.yml", "invalid_label"),
    fail(
        "TestNilRegexp/testdata/conf.nil-source_match_re-inhibition.yml",
        "file:conf.nil-source_match_re-inhibition.yml",
        "invalid_source_label",
    ),
    fail(
        "TestNilRegexp/testdata/conf.nil-target_match_re-inhibition.yml",
        "file:conf.nil-target_match_re-inhibition.yml",
        "invalid_target_label",
    ),
    ok("TestGroupByEmptyOverride", "literal:TestGroupByEmptyOverride:0"),
    fail(
        "TestWechatNoAPIURL",
        "file:conf.wechat-no-api-secret.yml",
        "no global Wechat Api Secret set either inline or in a file",
    ),
    fail(
        "TestWechatBothAPIURLAndFile",
        "file:conf.wechat-both-file-and-secret.yml",
        "at most one of wechat_api_secret & wechat_api_secret_file must be configured",
    ),
    fail(
        "TestMattermostBothWebhookURLAndFile",
        "file:conf.mattermost-both-webhook-url-and-file.yml",
        "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured",
    ),
    fail(
        "TestMattermostValidReceiverBothWebhookURLAndFile",
        "file:conf.mattermost-valid-receiver-both-webhook-url-and-file.yml",
        "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured",
    ),
    fail(
        "TestMattermostNoWebhookURL",
        "file:conf.mattermost-no-webhook-url.yml",
        "missing webhook_url or webhook_url_file on mattermost_config",
    ),
    ok(
        "TestMSTeamsV2GlobalProxyInheritedWhenNoLocalHTTPConfig",
        "literal:TestMSTeamsV2GlobalProxyInheritedWhenNoLocalHTTPConfig:0",
    ),
    ok(
        "TestMSTeamsV2GlobalProxyInheritedWhenPartialHTTPConfig",
        "literal:TestMSTeamsV2GlobalProxyInheritedWhenPartialHTTPConfig:0",
    ),
    ok("TestMSTeamsV2LocalProxyTakesPrecedence", "literal:TestMSTeamsV2LocalProxyTakesPrecedence:0"),
    # TestUnmarshalHostPort: yaml.Unmarshal of one value into HostPort
    ok("TestUnmarshalHostPort/empty", "value:hostport:"),
    ok("TestUnmarshalHostPort/localhost:25", "value:hostport:localhost:25"),
    ok("TestUnmarshalHostPort/:25", "value:hostport::25"),
    fail("TestUnmarshalHostPort/localhost", "value:hostport:localhost", "(an error)", "missing port in address"),
    fail("TestUnmarshalHostPort/localhost:", "value:hostport:localhost:", "(an error)", "port cannot be empty"),
    ok("TestUnmarshalHostPort/[fd12:3456:789a::1]:25", "value:hostport:[fd12:3456:789a::1]:25"),
    # TestSecretTemplURL: yaml.Unmarshal of one value into SecretTemplateURL (a webhook url)
    ok("TestSecretTemplURL/valid http URL", "value:turl:http://example.com/webhook"),
    fail("TestSecretTemplURL/invalid URL missing scheme", "value:turl:example.com/webhook", "unsupported scheme"),
    fail(
        "TestSecretTemplURL/invalid URL unsupported scheme",
        "value:turl:ftp://example.com/webhook",
        "unsupported scheme",
    ),
    ok(
        "TestSecretTemplURL/templated URL is not validated",
        "value:turl:http://example.com/{{ .GroupLabels.alertname }}",
    ),
    ok(
        "TestSecretTemplURL/invalid URL with template is not validated",
        "value:turl:not-a-url-{{ .GroupLabels.alertname }}",
    ),
    fail(
        "TestSecretTemplURL/invalid template syntax",
        "value:turl:http://example.com/{{ .Invalid",
        "invalid template syntax",
    ),
    ok("TestSecretTemplURL/empty string", "value:turl:"),
    ok("TestSecretTemplURL/secret token", "value:turl:<secret>"),
    # notifiers_test.go: yaml.UnmarshalStrict of one notifier's YAML into its struct
    fail("TestEmailToIsPresent", "struct:Email:TestEmailToIsPresent:0", "missing to address in email config"),
    fail(
        "TestEmailHeadersCollision",
        "struct:Email:TestEmailHeadersCollision:0",
        'duplicate header "Subject" in email config',
    ),
    ok("TestEmailToAllowsMultipleAdresses", "struct:Email:TestEmailToAllowsMultipleAdresses:0"),
    ok(
        "TestEmailDisallowMalformed (loads; the address fails to parse later)",
        "struct:Email:TestEmailDisallowMalformed:0",
    ),
    ok("TestVictorOpsConfiguration/valid configuration", "struct:VictorOps:TestVictorOpsConfiguration:0"),
    fail(
        "TestVictorOpsConfiguration/routing key is missing",
        "struct:VictorOps:TestVictorOpsConfiguration:1",
        "missing Routing key in VictorOps config",
    ),
    fail(
        "TestVictorOpsConfiguration/api_key and api_key_file both defined",
        "struct:VictorOps:TestVictorOpsConfiguration:2",
        "at most one of api_key & api_key_file must be configured",
    ),
    fail(
        "TestVictorOpsCustomFieldsValidation",
        "struct:VictorOps:TestVictorOpsCustomFieldsValidation:0",
        "victorOps config contains custom field entity_state which cannot be used as it conflicts with the fixed/static fields",
    ),
    ok(
        "TestVictorOpsCustomFieldsValidation (my_special_field)",
        "struct:VictorOps:TestVictorOpsCustomFieldsValidation:1",
    ),
    ok("TestLoadSlackConfiguration", "struct:Slack:TestLoadSlackConfiguration:0"),
    ok("TestLoadSlackConfiguration", "struct:Slack:TestLoadSlackConfiguration:1"),
    fail(
        "TestSlackAuthMethodConfigValidation",
        "struct:Slack:TestSlackAuthMethodConfigValidation:0",
        "at most one of api_url & api_url_file must be configured",
    ),
    fail(
        "TestSlackAuthMethodConfigValidation",
        "struct:Slack:TestSlackAuthMethodConfigValidation:1",
        "at most one of app_token & app_token_file must be configured",
    ),
    fail(
        "TestSlackAuthMethodConfigValidation",
        "struct:Slack:TestSlackAuthMethodConfigValidation:2",
        "at most one of api_url/api_url_file & app_token/app_token_file must be configured",
    ),
    fail(
        "TestSlackFieldConfigValidation",
        "struct:Slack:TestSlackFieldConfigValidation:0",
        "missing value in Slack field configuration",
    ),
    fail(
        "TestSlackFieldConfigValidation",
        "struct:Slack:TestSlackFieldConfigValidation:1",
        "missing title in Slack field configuration",
    ),
    ok("TestSlackFieldConfigValidation", "struct:Slack:TestSlackFieldConfigValidation:2"),
    ok("TestSlackFieldConfigUnmarshaling", "struct:Slack:TestSlackFieldConfigUnmarshaling:0"),
    ok("TestSlackActionsValidation", "struct:Slack:TestSlackActionsValidation:0"),
    fail(
        "TestWebexConfiguration/with no room_id - it fails",
        "struct:Webex:TestWebexConfiguration:0",
        "missing room_id on webex_config",
    ),
    ok(
        "TestWebexConfiguration/with room_id and http_config.authorization set - it succeeds",
        "struct:Webex:TestWebexConfiguration:1",
    ),
    ok("TestEmailConfig_UnmarshalYAML/with basic config - it succeeds", "struct:Email:TestEmailConfig_UnmarshalYAML:0"),
    fail(
        "TestEmailConfig_UnmarshalYAML/with empty to address - it fails",
        "struct:Email:TestEmailConfig_UnmarshalYAML:1",
        "missing to address in email config",
    ),
    ok(
        "TestEmailConfig_UnmarshalYAML/with correct threading - it succeeds",
        "struct:Email:TestEmailConfig_UnmarshalYAML:2",
    ),
    fail(
        "TestEmailConfig_UnmarshalYAML/with invalid threading - it fails",
        "struct:Email:TestEmailConfig_UnmarshalYAML:3",
        "threading.thread_by_date must be either 'none' or 'daily'",
    ),
    fail(
        "TestEmailConfig_UnmarshalYAML/with duplicate headers - it failes",
        "struct:Email:TestEmailConfig_UnmarshalYAML:4",
        'duplicate header "X-Custom-Header" in email config',
    ),
]


def _wechat_cases() -> list[Case]:
    """TestWeChatTypeMatcher: the message types its `good` and `bad` lists name, as a WeChat config's."""
    if not UPSTREAM.is_dir():
        return []
    good = gosource.string_list(NOTIFIERS_TEST, "TestWeChatTypeMatcher", "good")
    bad = gosource.string_list(NOTIFIERS_TEST, "TestWeChatTypeMatcher", "bad")
    return [ok("TestWeChatTypeMatcher/good", f"wechat:{t}") for t in good] + [
        fail("TestWeChatTypeMatcher/bad", f"wechat:{t}", "does not match valid options") for t in bad
    ]


ALL = CASES + _wechat_cases()


def problems(case: Case) -> list[str]:
    """The gate's problems for the case's input, judged as Alertmanager 0.34."""
    kind, _, rest = case.source.partition(":")
    whole: Callable[[Any], list[str]] = lambda doc: [p.message for p in am.config_problems(doc, VERSION)]  # noqa: E731
    if kind == "empty":
        return whole(None)
    if kind == "file":
        return whole(_doc((UPSTREAM / "testdata" / rest).read_text(encoding="utf-8")))
    if kind == "literal":
        func, index = rest.rsplit(":", 1)
        return whole(_doc(gosource.literal(CONFIG_TEST, func, int(index))))
    if kind == "template":
        func, index, arg = rest.split(":")
        return whole(_doc(gosource.literal(CONFIG_TEST, func, int(index)).replace("%s", arg)))
    if kind == "struct":
        struct, func, index = rest.split(":")
        doc = _doc(gosource.literal(NOTIFIERS_TEST, func, int(index)))
        return [p.message for p in am.struct_problems(doc, struct, VERSION)]
    if kind == "wechat":
        return [p.message for p in am.struct_problems({"message_type": rest}, "WeChat", VERSION)]
    if kind == "value":
        value_kind, _, text = rest.partition(":")
        why = schema.scalar_problem(text, value_kind)
        return [why] if why else []
    raise AssertionError(f"unknown source {case.source}")


def _doc(text: str) -> Any:
    docs = yamlio.load(text).documents
    return docs[0] if docs else None


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_the_gate_agrees_with_alertmanager(case: Case) -> None:
    found = problems(case)
    if case.expect == "load":
        assert found == [], f"{case.test}: Alertmanager loads it; the gate says: {found}"
    else:
        want = case.match or case.upstream
        assert any(want in m for m in found), (
            f"{case.test}: Alertmanager refuses it ({case.upstream}); the gate says: {found}"
        )


def test_every_testdata_file_has_a_row() -> None:
    named = {c.source.removeprefix("file:") for c in ALL if c.source.startswith("file:")}
    on_disk = {p.name for p in (UPSTREAM / "testdata").iterdir()}
    assert on_disk - named == set()


def test_every_go_test_is_read() -> None:
    """Each Go test function is a row, or a documented non-case (module docstring)."""
    not_cases = {"TestSecretTemplURLMarshaling", "TestJSONMarshal", "TestJSONUnmarshal", "TestMarshalIdempotency"}
    import re

    for path in (CONFIG_TEST, NOTIFIERS_TEST):
        for func in re.findall(r"^func (Test\w+)\(", path.read_text(encoding="utf-8"), re.M):
            assert func in not_cases or any(func in c.test for c in ALL), f"{path.name}: {func} has no row"
