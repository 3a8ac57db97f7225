"""The project's own secret rules: what detect-secrets has no plugin for, plus stricter versions of a few.

detect-secrets (:mod:`codelewm.secrets.detect`) covers the common vendor formats; these rules add the
credentials this project handles (Hugging Face tokens, the HF S3 gateway's ``HFAK`` key ids, AWS
secret keys and session tokens in boto/CLI output) and formats its plugins miss or cut short (full
JWTs, OpenAI project keys, Anthropic keys, Slack app tokens and workflow webhooks, Stripe test keys,
passwords in database URLs, hex API keys, PEM bodies). Each rule's group ``"v"`` is the secret value;
its validator rejects look-alikes (documented example keys, placeholders, low-entropy strings), because
the scanned data is Python source and precision matters: ``password = None``, ``token = self._token``
or ``http://user:pass@host`` in a docstring must not fail the pipeline. A value never leaves this
package except as a sha256 prefix (:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from detect_secrets.filters.heuristic import is_sequential_string, is_templated_secret
from detect_secrets.plugins.jwt import JwtTokenDetector

FINGERPRINT_CHARS = 16  # 64 bits of sha256: unique enough for an allowlist, reveals nothing


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None  # False = not a secret (placeholder, example...)
    # Lower-case literals one of which every match contains: a cheap `in` test skips the regex on
    # the vast majority of text (source code rarely mentions any of them). Empty = always run.
    needles: tuple[str, ...] = ()
    # Most characters a match extends past the end of its needle (the regex runs only in windows
    # around needles; :mod:`codelewm.secrets.detect`), and most characters it starts before one.
    reach: int = 4096
    back: int = 512
    # A cheap regex every match contains (instead of needles): the rule runs only around its matches.
    gate: re.Pattern[str] | None = None
    # Canonical form of a value for its fingerprint, so one secret written two ways is one finding.
    normalize: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Match:
    rule: str
    start: int  # offset of the value in the scanned text
    end: int
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


# Values that documentation and tests use in place of real credentials. The words match in one case
# (lower, UPPER or Capitalized): a random token holds "FAkE" by chance, documentation writes "FAKE".
_PLACEHOLDER_WORDS = ("example", "sample", "dummy", "placeholder", "your", "changeme", "redacted", "fake", "xxxx")
_PLACEHOLDER = re.compile(
    "|".join(re.escape(v) for w in _PLACEHOLDER_WORDS for v in (w, w.upper(), w.capitalize()))
    + r"|0000|1234|abcd|ABCD|\.\.\.|<|>|\$\{|%\(|\{\}"
)


def not_placeholder(v: str) -> bool:
    return not _PLACEHOLDER.search(v) and not is_templated_secret(v) and not is_sequential_string(v)


_VENDOR_PREFIX = re.compile(r"^(?:(?:AKIA|ASIA|HFAK|AIza)|(?:[A-Za-z0-9]{2,6}[_-]){1,3})")


def random_token(v: str) -> bool:
    """Vendor-prefixed tokens: reject placeholders and repetitive bodies (e.g. hf_aaaa...). The body is
    judged without its prefix: HFAK + "E7N..." spells FAKE by chance."""
    body = v[_VENDOR_PREFIX.match(v).end() :] if _VENDOR_PREFIX.match(v) else v
    return not_placeholder(body) and shannon_entropy(v) >= 3.0


def _classes(v: str) -> int:
    return sum(bool(re.search(p, v)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))


def generic_value(v: str) -> bool:
    """A literal assigned to password/api_key/...: must look machine-generated, not like a word."""
    if not not_placeholder(v) or len(v) < 12:
        return False
    if _classes(v) < 3 or not re.search(r"[0-9]", v):
        return False
    # Dotted/pathy identifiers (module.attr, /usr/lib/x2) are code, not credentials.
    if re.fullmatch(r"[\w.]+\.[A-Za-z_]\w*", v) or v.count("/") >= 2:
        return False
    return shannon_entropy(v) >= 3.3


def hex_value(v: str) -> bool:
    """A hex string assigned to an api key/secret: digits and letters mixed, high entropy."""
    return (
        not_placeholder(v) and re.search(r"[a-fA-F]", v) is not None and re.search(r"[0-9]", v) is not None
    ) and shannon_entropy(v) >= 3.0


_URL_PLACEHOLDER = re.compile(r"(?i)^(?:pass(?:word|wd)?|pwd|secret|xxx+|\*+|test|admin|root|user|guest|none|null)$")


def url_password(v: str) -> bool:
    """The password of ``scheme://user:password@host``: docs write pass/secret/%s, leaks look generated."""
    if _URL_PLACEHOLDER.match(v) or not not_placeholder(v) or v.startswith(("$", "%", "{", "[")):
        return False
    v = unquote(v)  # judge the password, not its percent-encoding ("a%20secret" has no digit)
    return len(v) >= 8 and _classes(v) >= 2 and re.search(r"[0-9]", v) is not None and shannon_entropy(v) >= 2.5


def jwt_token(v: str) -> bool:
    return JwtTokenDetector.is_formally_valid(v) and random_token(v.split(".")[0] + v.split(".")[-1])


_B = r"(?<![A-Za-z0-9_])"  # token boundary: not preceded by an identifier character
_E = r"(?![A-Za-z0-9_])"
_ASSIGN = r"[\"']?\s*(?::|=|:=|=>)\s*"  # end of a key, the assignment, optional spaces


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


RULES: tuple[Rule, ...] = (
    # AKIA = long-term, ASIA = temporary access key ids; AIDA/AROA... are public unique ids, not secrets.
    Rule("aws-access-key-id", _r(_B + r"(?P<v>(?:AKIA|ASIA)[0-9A-Z]{16})" + _E), random_token, ("akia", "asia")),
    Rule(
        "aws-secret-access-key",  # 40 base64-ish chars, trusted next to aws_secret... / boto's SecretAccessKey
        _r(
            r"(?i)(?:aws_?(?:secret|private)[\w.-]{0,20}|secret_?access_?key)"
            + _ASSIGN
            + r"[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        random_token,
        ("aws", "secret_access", "secretaccess"),
    ),
    Rule(
        "aws-session-token",
        _r(r"(?i)(?:aws_?session_?token|sessiontoken)" + _ASSIGN + r"[\"']?(?P<v>[A-Za-z0-9/+=]{100,2000})"),
        random_token,
        ("session_token", "sessiontoken"),
    ),
    # Hugging Face Storage Bucket S3 credentials (access key ids start with HFAK).
    Rule("hf-s3-access-key-id", _r(_B + r"(?P<v>HFAK[0-9A-Z]{16,40})" + _E), random_token, ("hfak",)),
    Rule("huggingface-token", _r(_B + r"(?P<v>hf_[A-Za-z0-9]{34,40})" + _E), random_token, ("hf_",)),
    Rule("huggingface-org-token", _r(_B + r"(?P<v>api_org_[A-Za-z0-9]{34})" + _E), random_token, ("api_org_",)),
    Rule(
        "github-token",
        _r(_B + r"(?P<v>gh[pousr]_[A-Za-z0-9]{36,255})" + _E),
        random_token,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    Rule(
        "github-fine-grained-pat",
        _r(_B + r"(?P<v>github_pat_[A-Za-z0-9_]{70,255})" + _E),
        random_token,
        ("github_pat_",),
    ),
    Rule("slack-token", _r(_B + r"(?P<v>xox[abposr]-[0-9A-Za-z-]{20,})"), random_token, ("xox",)),
    Rule("slack-app-token", _r(_B + r"(?P<v>xapp-[0-9]-[A-Za-z0-9]{6,}-[0-9]{6,}-[A-Za-z0-9]{20,})"), None, ("xapp-",)),
    Rule(
        "slack-webhook",
        _r(r"(?P<v>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]+/[A-Za-z0-9_/]{10,})"),
        lambda v: random_token(v.rsplit("/", 1)[-1]),
        ("hooks.slack.com",),
    ),
    Rule(
        "stripe-key",
        _r(_B + r"(?P<v>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247})" + _E),
        random_token,
        ("k_live_", "k_test_"),
    ),
    Rule("stripe-webhook-secret", _r(_B + r"(?P<v>whsec_[0-9A-Za-z]{32,})" + _E), random_token, ("whsec_",)),
    Rule(
        "openai-key",  # project/service/admin keys; legacy sk-...T3BlbkFJ... keys
        _r(
            _B + r"(?P<v>sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|"
            r"[A-Za-z0-9]{48}))(?![A-Za-z0-9_-])"
        ),
        random_token,
        ("sk-",),
    ),
    Rule(
        "anthropic-key",
        _r(_B + r"(?P<v>sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{40,})(?![A-Za-z0-9_-])"),
        random_token,
        ("sk-ant-",),
    ),
    Rule("npm-token", _r(_B + r"(?P<v>npm_[A-Za-z0-9]{36})" + _E), random_token, ("npm_",)),
    Rule("gitlab-token", _r(_B + r"(?P<v>gl(?:pat|dt|rt|ptt|soat)-[A-Za-z0-9_-]{20,})"), random_token, ("gl",)),
    Rule(
        "jwt",  # the whole token (detect-secrets' own pattern stops before the signature)
        _r(_B + r"(?P<v>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"),
        jwt_token,
        ("eyj",),
    ),
    Rule(
        "private-key",
        # The header alone appears in ssl code and docs; require a base64 body after it (also when
        # the newlines are JSON-escaped), and take the block up to its END line when there is one.
        _r(
            r"(?P<v>-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
            r"(?:\\r|\\n|\s)+(?:[A-Za-z0-9-]+: [^\n]*(?:\\n|\s)+)*[A-Za-z0-9+/=]{40,}"
            r"(?:(?:\\r|\\n|\s|[A-Za-z0-9+/=])*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?)"
        ),
        None,
        ("private key",),
        normalize=lambda v: v.replace("\\r", "\r").replace("\\n", "\n"),  # as written in JSON = as in a file
        reach=50_000,  # an 8192-bit key block is ~6.5 kB; the END line is searched lazily
    ),
    Rule(
        "putty-private-key",
        _r(r"(?P<v>PuTTY-User-Key-File-[23]: [^\n]*\n(?:[^\n]*\n){0,6}?Private-Lines: \d+\n[A-Za-z0-9+/=\n]{40,})"),
        None,
        ("putty-user-key-file",),
    ),
    Rule("google-api-key", _r(_B + r"(?P<v>AIza[0-9A-Za-z_\-]{35})(?![A-Za-z0-9_\-])"), random_token, ("aiza",)),
    Rule(
        "url-password",  # postgres://user:password@host, redis://:password@host ...
        _r(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/?#\[\]@\"'<>]{0,64}:(?P<v>[^\s:/?#\[\]@\"'<>]{3,128})@[a-z0-9\[]"),
        url_password,
        ("://",),
    ),
    Rule(
        "generic-credential-assignment",
        # key = 'value' / "key": "value" / key='value' with the keyword ending the key name: only
        # quoted literals, so `password = None` and `token = self._token` never match, and the value
        # must also look machine-generated (generic_value).
        _r(
            r"(?i)(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|"
            r"private[_-]?key|client[_-]?secret)[\"']?\s*(?::|=|:=)\s*(?P<q>[\"'])(?P<v>[^\"'\s]{12,200})(?P=q)"
        ),
        generic_value,
        ("passw", "secret", "api_key", "api-key", "apikey", "token", "private_key", "private-key", "privatekey"),
    ),
    Rule(
        "hex-credential-assignment",  # api_key = "3f9c...": hex has too few character classes for the rule above
        _r(
            r"(?i)(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|client[_-]?secret|"
            r"passw(?:or)?d)" + _ASSIGN + r"[\"']?(?P<v>[0-9a-f]{32,128})(?![0-9A-Za-z])"
        ),
        hex_value,
        ("api_key", "api-key", "apikey", "secret", "token", "passw"),
    ),
)
