"""Secret detection over extracted text: detect-secrets' vendor plugins plus the project's rules.

detect-secrets (Yelp, PyPI) is used as a library: its regex plugins' ``denylist`` patterns run on
text the carriers extracted (:mod:`codelewm.secrets.carriers`), so a match has an offset, and each
value passes a validator before it counts. Left out on purpose: the keyword and high-entropy plugins
(they fire on ordinary code: thousands of hits on the standard library) and the public-IP plugin (not
a credential); its private-key plugin matches the bare ``BEGIN ... PRIVATE KEY`` header that ssl code
and docs mention, so the project's rule (header + body) replaces it. Overlapping matches of several
rules on one value are reported once (the longest span, then the first rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from codelewm.secrets.rules import RULES, Match, Rule, fingerprint, random_token, url_password

# plugin class -> (needles that every match contains, lower-case; validator of the value; how far a
# match reaches before / after its needle). A plugin without needles runs on every text.
_Plugin = tuple[type[RegexBasedDetector], tuple[str, ...], Callable[[str], bool], int, int]
_KEYWORDS = ("key", "pwd", "pw", "pass", "token")  # keyword-assignment plugins: keyword, then <= ~70 chars
_PLUGINS: tuple[_Plugin, ...] = (
    (ArtifactoryDetector, ("akc", "ap"), random_token, 2, 512),
    (AWSKeyDetector, ("akia", "asia", "abia", "acca", "a3t", "aws"), random_token, 2, 128),
    (AzureStorageKeyDetector, ("accountkey=",), random_token, 0, 128),
    (BasicAuthDetector, ("://",), url_password, 0, 1024),
    (CloudantDetector, ("clou", "cl_", "cl-", "clapi", "clkey", "clpw", "clpass", "cltoken"), random_token, 256, 128),
    (DiscordBotTokenDetector, (), random_token, 0, 0),
    (GitHubTokenDetector, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), random_token, 0, 64),
    (GitLabTokenDetector, ("gl", "gr1348941"), random_token, 0, 1100),
    (IbmCloudIamDetector, _KEYWORDS, random_token, 128, 8),  # its prefix may be empty: "key = ..."
    (IbmCosHmacDetector, ("secret",), random_token, 64, 128),
    (JwtTokenDetector, ("eyj",), lambda v: JwtTokenDetector.is_formally_valid(v) and random_token(v), 0, 8192),
    (MailchimpDetector, ("-us",), random_token, 40, 8),
    (NpmDetector, ("_authtoken",), random_token, 1024, 1024),
    (OpenAIDetector, ("t3blbkfj",), random_token, 512, 64),
    (PypiTokenDetector, ("pypi-",), random_token, 0, 1024),
    (SendGridDetector, ("sg.",), random_token, 0, 80),
    (SlackDetector, ("xox", "hooks.slack.com"), random_token, 16, 512),
    (SoftlayerDetector, ("sl", "softlayer"), random_token, 128, 8),
    (SquareOAuthDetector, ("sq0csp-",), random_token, 0, 64),
    (StripeDetector, ("k_live_",), random_token, 2, 64),
    (TelegramBotTokenDetector, (":",), random_token, 12, 40),
    (TwilioKeyDetector, ("ac", "sk"), random_token, 0, 40),
)


def _plugin_name(cls: type[RegexBasedDetector]) -> str:
    """detect-secrets' user-facing type as a rule name: 'Slack Token' -> 'ds:slack-token'."""
    return "ds:" + re.sub(r"[^a-z0-9]+", "-", cls.secret_type.lower()).strip("-")


# Plugins whose needles are everywhere in code get a gate instead: a cheap regex for the rare part of
# every match (the fixed-length value of a keyword-assignment pattern, the case-sensitive prefix).
_GATES: dict[type[RegexBasedDetector], re.Pattern[str]] = {
    IbmCloudIamDetector: re.compile(r"[a-zA-Z0-9_\-]{44}"),
    ArtifactoryDetector: re.compile(r"AKC|AP[\dABCDEF]"),
    SoftlayerDetector: re.compile(r"[a-z0-9]{64}"),
}


@cache
def all_rules() -> tuple[Rule, ...]:
    """The project's rules first (their value spans are exact), then each detect-secrets pattern."""
    out = list(RULES)
    for cls, needles, validate, back, reach in _PLUGINS:
        gate = _GATES.get(cls)
        for i, pattern in enumerate(cls.denylist):
            name = _plugin_name(cls) + (f"#{i}" if len(cls.denylist) > 1 else "")
            out.append(Rule(name, pattern, validate, () if gate else needles, reach=reach, back=back, gate=gate))
    return tuple(out)


def rule_names() -> list[str]:
    return [r.name for r in all_rules()]


FULL_SCAN_FRACTION = 0.5  # windows covering more of the text than this: run the regex on all of it
DENSE_NEEDLE = 1 / 2000  # a needle this frequent (per char): skip the per-occurrence loop, run on all
SAMPLE_CHARS = 1 << 18


def _windows(text: str, lower: str | None, rule: Rule) -> list[tuple[int, int]]:
    """Merged (start, end) ranges around every needle occurrence: the only places a match can be."""
    n = len(text)
    if rule.gate is not None:
        return _merge([(max(0, m.start() - rule.back), min(n, m.end() + rule.reach)) for m in rule.gate.finditer(text)])
    if not rule.needles or lower is None:
        return [(0, n)]
    present = [needle for needle in rule.needles if needle in lower]  # C speed
    if not present:
        return []
    sample = min(n, SAMPLE_CHARS)  # density on a sample bounds the Python loop below
    if sum(lower.count(needle, 0, sample) for needle in present) > DENSE_NEEDLE * sample:
        return [(0, n)]
    spans = []
    for needle in present:
        i = lower.find(needle)
        while i != -1:
            spans.append((max(0, i - rule.back), min(n, i + len(needle) + rule.reach)))
            i = lower.find(needle, i + 1)
    merged = _merge(spans)
    if sum(e - s for s, e in merged) > FULL_SCAN_FRACTION * n:
        return [(0, n)]
    return merged


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _values(rule: Rule, text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) of each match in text[start:end] (lookbehinds see before ``start``): group
    'v', else detect-secrets' findall semantics (the non-empty groups, or the whole match)."""
    groups = rule.pattern.groups
    v_index = rule.pattern.groupindex.get("v")
    for m in rule.pattern.finditer(text, start, end):
        if v_index is not None:
            yield m.start("v"), m.end("v"), m.group("v")
        elif groups == 0:
            yield m.start(), m.end(), m.group(0)
        else:
            for g in range(1, groups + 1):
                if m.group(g):
                    yield m.start(g), m.end(g), m.group(g)


def find_secrets(text: str, rules: tuple[Rule, ...] | None = None) -> list[Match]:
    """All validated matches in ``text``, one per secret (overlaps merged), in text order."""
    rules = all_rules() if rules is None else rules
    lower: str | None = text.lower()
    if len(lower) != len(text):  # a few non-ASCII characters lower-case to two: offsets would drift
        lower = None
    found: set[Match] = set()
    for rule in rules:
        for w_start, w_end in _windows(text, lower, rule):
            for start, end, value in _values(rule, text, w_start, w_end):
                value = value.strip()
                if not value or (rule.validate is not None and not rule.validate(value)):
                    continue
                canonical = rule.normalize(value) if rule.normalize else value
                found.add(Match(rule=rule.name, start=start, end=end, fingerprint=fingerprint(canonical)))
    if len(found) < 2:
        return list(found)
    # longest span first at each start (then the first rule: project rules before detect-secrets');
    # a match inside an already kept span is the same secret
    order = {r.name: i for i, r in enumerate(rules)}
    ranked = sorted(found, key=lambda m: (m.start, -(m.end - m.start), order.get(m.rule, 0)))
    kept: list[Match] = []
    reach = -1
    for m in ranked:
        if m.end <= reach:
            continue
        kept.append(m)
        reach = max(reach, m.end)
    return kept
