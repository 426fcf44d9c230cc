"""Hashing of tokens and passwords. Only hashes are stored; nothing here is logged.

Tokens are long random strings, so one SHA-256 is enough to look them up by hash;
passwords are chosen by people, so they get a salted, slow scrypt. Checking a password
always costs one scrypt, also when there is no hash to check it against (no such user,
or a user without a password): else a login's answer time would tell which names exist.
"""

import base64
import hashlib
import hmac
import secrets

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
# A hash of a password nobody knows, checked when there is nothing else to check.
_DUMMY_HASH = "scrypt$FDzxrspiEqpUxVqiLNLPcw==$ybAMYrxtvmW4CiAnvJDoQ4QNudxAKG0c+DchGQjeUmw="


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_hash(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str | None) -> bool:
    """Whether `password` is the one `stored` was made from (None: no password, False)."""
    if not stored or not stored.startswith("scrypt$"):
        _scrypt_matches(password, _DUMMY_HASH)  # the same time as a real check
        return False
    return _scrypt_matches(password, stored)


def _scrypt_matches(password: str, stored: str) -> bool:
    _, salt_b64, digest_b64 = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
