"""Fake secrets for the scan tests, assembled at run time from a seeded RNG so that no source file
holds a token literal (and push protection / the scanner itself never trip on the test code)."""

from __future__ import annotations

import random
import string

_rng = random.Random(1234)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _pem() -> str:
    body = "\n".join(_rand(64, ALNUM + "+/") for _ in range(3))
    return "-----BEGIN " + "RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----"


SECRETS: dict[str, str] = {
    "aws-access-key-id": "AK" + "IA" + _rand(16, string.ascii_uppercase + string.digits),
    "aws-secret-access-key": _rand(40, ALNUM + "/+"),
    "github-token": "gh" + "p_" + _rand(36),
    "github-fine-grained-pat": "github" + "_pat_" + _rand(82),
    "huggingface-token": "h" + "f_" + _rand(34),
    "slack-token": "xo" + "xb-" + _rand(11, string.digits) + "-" + _rand(24),
    "private-key": _pem(),
    "google-api-key": "AI" + "za" + _rand(35),
    "stripe-live-key": "sk" + "_live_" + _rand(24),
    "generic-credential-assignment": _rand(10) + "#" + _rand(8, string.digits),
    "hf-s3-access-key-id": "HF" + "AK" + _rand(20, string.ascii_uppercase + string.digits),
}


def embed_secret(rule: str, value: str) -> str:
    """Embed a value the way it would appear in a config, log or notebook."""
    if rule == "aws-secret-access-key":
        return f"aws_secret_access_key = {value}"
    if rule == "generic-credential-assignment":
        return f'db_password = "{value}"'
    return f"token: {value}"
