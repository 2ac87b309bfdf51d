"""Users and login for the sample shop."""

import hashlib

USERS = {"ada": hashlib.sha256(b"lovelace").hexdigest()}


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def login(username: str, password: str) -> bool:
    stored = USERS.get(username)
    # BUG: compares the stored hash with the plain password.
    return stored is not None and stored == password
