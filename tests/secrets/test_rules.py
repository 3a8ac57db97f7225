"""Rules and detector: each planted kind is matched with its exact value; code that merely mentions
credentials is not; needle windows find what a full scan finds."""

from __future__ import annotations

import random

import pytest

from codelewm.secrets.detect import all_rules, find_secrets
from codelewm.secrets.rules import fingerprint
from tests.secrets.conftest import SECRETS, embed_secret
from tests.secrets.corpus import KINDS


@pytest.mark.parametrize("rule", sorted(SECRETS))
def test_each_rule_finds_its_planted_secret(rule: str) -> None:
    text = "some preamble\n" + embed_secret(rule, SECRETS[rule]) + "\ntrailer\n"
    found = {m.rule for m in find_secrets(text)}
    assert rule in found or (rule == "stripe-live-key" and "stripe-key" in found)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_found_with_its_exact_value(kind: str) -> None:
    secret, text = KINDS[kind](random.Random(7))
    matches = find_secrets(f"x = 1\n{text}\ny = 2\n")
    assert fingerprint(secret) in {m.fingerprint for m in matches}, [m.rule for m in matches]
    assert len(matches) == 1  # one secret, one finding (detect-secrets' overlapping hits merged)


CLEAN_CODE = '''
def connect(host, password=None, token=None):
    """Log in. Example: connect('db', password='secret', api_key='YOUR_API_KEY')."""
    password = None
    token = self._token
    api_key = os.environ["API_KEY"]
    secret = get_secret(name)
    password = getpass.getpass("Password: ")
    auth_token = f"Bearer {token}"
    PEM_HEADER = "-----BEGIN CERTIFICATE-----"
    KEY_HEADER = "-----BEGIN PRIVATE KEY-----"
    secret_key = "django.core.signing.secret"
    example = "AKIAIOSFODNN7EXAMPLE"
    aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    user_id = "AIDAIT2UOQQY3AUEXAMPL"
    hf_hub_download_with_cache_and_more_words = 1
    url = "postgresql://user:password@localhost/db"
    url2 = "http://jo%40email.com:a%20secret@example.org/"
    url3 = "ftp://anonymous:%s@%s/" % (pw, host)
    digest = "d41d8cd98f00b204e9800998ecf8427e"
    return password_hash_algorithm_name
'''


def test_clean_code_has_no_findings() -> None:
    assert find_secrets(CLEAN_CODE) == []


def test_placeholder_words_match_in_one_case_only() -> None:
    # a random token may contain "FAkE" by chance; documentation writes FAKE/fake/Fake
    body = "Ab3dEfGhIjKlMnOpQrSt" + "FAkE" + "UvWxYz937152"
    assert find_secrets("hf" + "_" + body) != []
    assert find_secrets("hf" + "_" + body.replace("FAkE", "FAKE")) == []


def test_windows_agree_with_full_scan() -> None:
    """The regexes run only near their needles; on text full of near-misses the result is the same as
    running every rule on the whole text."""
    r = random.Random(3)
    parts = []
    for _kind, gen in sorted(KINDS.items()):
        _secret, text = gen(r)
        parts += ["# filler " * r.randrange(1, 400), text, "token: " * r.randrange(0, 50)]
    text = "\n".join(parts)
    windowed = find_secrets(text)
    full_rules = tuple(type(rule)(rule.name, rule.pattern, rule.validate, ()) for rule in all_rules())
    assert windowed == find_secrets(text, full_rules)
    assert len(windowed) == len(KINDS)


def test_non_ascii_text_keeps_offsets() -> None:
    # "İ".lower() is two characters: the detector must not misplace matches after it
    value = SECRETS["github-token"]
    text = "İ" * 50 + "\n" + value + "\n"
    (m,) = find_secrets(text)
    assert text[m.start : m.end] == value
