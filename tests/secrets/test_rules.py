"""Rules: each planted secret kind is matched; code that merely mentions credentials is not."""

from __future__ import annotations

import pytest

from codelewm.secrets.rules import find_secrets
from codelewm.secrets.scan import OVERLAP, scan_stream
from tests.secrets.conftest import SECRETS, embed_secret


@pytest.mark.parametrize("rule", sorted(SECRETS))
def test_each_rule_finds_its_planted_secret(rule: str) -> None:
    text = "some preamble\n" + embed_secret(rule, SECRETS[rule]) + "\ntrailer\n"
    found = {m.rule for m in find_secrets(text)}
    assert rule in found


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
    user_id = "AIDAIT2UOQQY3AUEXAMPL"
    hf_hub_download_with_cache_and_more_words = 1
    return password_hash_algorithm_name
'''


def test_clean_code_has_no_findings() -> None:
    assert list(find_secrets(CLEAN_CODE)) == []


def test_stream_finds_secret_across_chunk_boundary() -> None:
    value = SECRETS["github-token"]
    text = "x" * (3 * OVERLAP - 10) + "\n" + value + "\n"
    chunks = [text[i : i + OVERLAP] for i in range(0, len(text), OVERLAP)]
    hits = list(scan_stream(chunks))
    assert [(line, m.rule) for line, m in hits] == [(2, "github-token")]
