"""High-precision secret detection rules and the redacted fingerprint of a match.

Each rule is a compiled regex whose group ``"v"`` is the secret value plus an optional validator that
rejects look-alikes (documented example keys, placeholders, low-entropy strings). Precision matters
more than recall here: the scanned data is Python source (the standard library by default), so rules
must stay quiet on code such as ``password = None``, ``token = self._token`` or ``password='secret'``
in a docstring, while still catching real credentials. The value itself never leaves this module
except as a sha256 prefix (:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FINGERPRINT_CHARS = 16  # 64 bits of sha256: unique enough for an allowlist, reveals nothing


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None  # False = not a secret (placeholder, example...)
    # Lower-case literals one of which every match contains: a cheap `in` test skips the regex on
    # the vast majority of text (source code rarely mentions any of them).
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    rule: str
    start: int  # offset of the value in the scanned text
    fingerprint: str


def fingerprint(value: str) -> str:
    """Redacted, stable identity of a secret value: a sha256 prefix (never the value)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_CHARS]


def shannon_entropy(s: str) -> float:
    """Bits per character; random tokens score >= ~3.5, words and identifiers lower."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


# Values that documentation and tests use in place of real credentials.
_PLACEHOLDER = re.compile(
    r"(?i)example|sample|dummy|placeholder|your[_-]?|changeme|redacted|fake|xxxx|0000|1234|abcd|\.\.\.|<|>|\$\{|%\(|\{\}"
)


def _not_placeholder(v: str) -> bool:
    return not _PLACEHOLDER.search(v)


def _random_token(v: str) -> bool:
    """Vendor-prefixed tokens: reject placeholders and repetitive bodies (e.g. hf_aaaa...)."""
    return _not_placeholder(v) and shannon_entropy(v) >= 3.0


def _generic_value(v: str) -> bool:
    """A literal assigned to password/api_key/...: must look machine-generated, not like a word."""
    if not _not_placeholder(v) or len(v) < 12:
        return False
    classes = sum(bool(re.search(p, v)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 3 or not re.search(r"[0-9]", v):
        return False
    # Dotted/pathy identifiers (module.attr, /usr/lib/x2) are code, not credentials.
    if re.fullmatch(r"[\w.]+\.[A-Za-z_]\w*", v) or v.count("/") >= 2:
        return False
    return shannon_entropy(v) >= 3.3


_B = r"(?<![A-Za-z0-9_])"  # token boundary: not preceded by an identifier character
_E = r"(?![A-Za-z0-9_])"

RULES: tuple[Rule, ...] = (
    # AKIA = long-term, ASIA = temporary access key ids; AIDA/AROA... are public unique ids, not secrets.
    Rule(
        "aws-access-key-id",
        re.compile(_B + r"(?P<v>(?:AKIA|ASIA)[0-9A-Z]{16})" + _E),
        _random_token,
        needles=("akia", "asia"),
    ),
    Rule(
        "aws-secret-access-key",  # 40 base64-ish chars: only trusted next to an aws_secret... key
        re.compile(
            r"(?i)aws_?(?:secret|private)[\w.-]{0,20}[\"']?\s*[:=]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        _random_token,
        needles=("aws",),
    ),
    # Hugging Face Storage Bucket S3 credentials (access key ids start with HFAK).
    Rule("hf-s3-access-key-id", re.compile(_B + r"(?P<v>HFAK[0-9A-Z]{16,40})" + _E), _random_token, needles=("hfak",)),
    Rule(
        "github-token",
        re.compile(_B + r"(?P<v>gh[pousr]_[A-Za-z0-9]{36,255})" + _E),
        _random_token,
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    Rule(
        "github-fine-grained-pat",
        re.compile(_B + r"(?P<v>github_pat_[A-Za-z0-9_]{70,255})" + _E),
        _random_token,
        needles=("github_pat_",),
    ),
    Rule("huggingface-token", re.compile(_B + r"(?P<v>hf_[A-Za-z0-9]{34,40})" + _E), _random_token, needles=("hf_",)),
    Rule(
        "slack-token",
        re.compile(_B + r"(?P<v>xox[bpas]-[0-9]{8,}-[0-9A-Za-z-]{16,})"),
        _random_token,
        needles=("xoxb-", "xoxp-", "xoxa-", "xoxs-"),
    ),
    Rule(
        "private-key",
        # The header alone appears in ssl code and docs; require a base64 body after it (also when
        # the newlines are JSON-escaped).
        re.compile(
            r"(?P<v>-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
            r"(?:\\r|\\n|\s)+(?:[A-Za-z0-9-]+: [^\n]*(?:\\n|\s)+)*[A-Za-z0-9+/=]{40,})"
        ),
        None,
        needles=("private key",),
    ),
    Rule(
        "google-api-key",
        re.compile(_B + r"(?P<v>AIza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])"),
        _random_token,
        needles=("aiza",),
    ),
    Rule(
        "stripe-live-key",
        re.compile(_B + r"(?P<v>(?:sk|rk)_live_[0-9A-Za-z]{20,99})" + _E),
        _random_token,
        needles=("_live_",),
    ),
    Rule(
        "generic-credential-assignment",
        # key = 'value' / "key": "value" / key='value' with the keyword ending the key name: only
        # quoted literals, so `password = None` and `token = self._token` never match, and the value
        # must also look machine-generated (_generic_value).
        re.compile(
            r"(?i)(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|"
            r"private[_-]?key|client[_-]?secret)[\"']?\s*(?::|=|:=)\s*(?P<q>[\"'])(?P<v>[^\"'\s]{12,200})(?P=q)"
        ),
        _generic_value,
        needles=(
            "passw",
            "secret",
            "api_key",
            "api-key",
            "apikey",
            "token",
            "private_key",
            "private-key",
            "privatekey",
        ),
    ),
)


def find_secrets(text: str, rules: tuple[Rule, ...] = RULES) -> Iterator[Match]:
    """All rule matches in ``text`` whose value passes the rule's validator."""
    lower = text.lower()
    for rule in rules:
        if rule.needles and not any(n in lower for n in rule.needles):
            continue
        for m in rule.pattern.finditer(text):
            value = m.group("v")
            if rule.validate is not None and not rule.validate(value):
                continue
            yield Match(rule=rule.name, start=m.start("v"), fingerprint=fingerprint(value))
