"""Server profiles and where their tokens live.

A profile names one server and one agent (``profiles.json`` in the user config directory, no
secrets in it). The token goes to the OS keyring (the ``keyring`` package); only with an
explicit ``--insecure-storage`` is it written to a file readable by its owner alone (0600).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from supportdesk.errors import SupportdeskError

KEYRING_SERVICE = "supportdesk"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProfileError(SupportdeskError):
    """A profile or its token cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Profile:
    name: str
    server: str
    agent_email: str = ""
    storage: str = "keyring"  # or "file"


def profiles_path() -> Path:
    from supportdesk.config import config_dir

    return config_dir() / "profiles.json"


def _token_file(name: str) -> Path:
    from supportdesk.config import config_dir

    return config_dir() / "tokens" / name


def load_profiles() -> dict[str, Profile]:
    path = profiles_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        return {name: Profile(**value) for name, value in data.items()}
    except (ValueError, TypeError) as error:
        raise ProfileError(f"{path} is damaged: {error}") from None


def save_profile(profile: Profile) -> None:
    if not _NAME.match(profile.name):
        raise ProfileError(f"{profile.name!r} is not a profile name: letters, digits, _ . - (at most 64)")
    profiles = load_profiles()
    profiles[profile.name] = profile
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({name: asdict(p) for name, p in profiles.items()}, indent=2) + "\n")


def check_profile_owner(profile: Profile) -> None:
    """Refuse to give a profile of one agent another agent's token on the same server: the
    workspaces following that profile belong to the first agent, and would sync as the second."""
    known = load_profiles().get(profile.name)
    if known is None or not known.agent_email or not profile.agent_email:
        return
    same_server = known.server.rstrip("/") == profile.server.rstrip("/")
    if same_server and known.agent_email.lower() != profile.agent_email.lower():
        raise ProfileError(
            f"profile {profile.name!r} is {known.agent_email}'s on {known.server}: log in as "
            f"{profile.agent_email} with another profile (--profile NAME) and another --workspace"
        )


def get_profile(name: str) -> Profile:
    profiles = load_profiles()
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise ProfileError(f"no server profile {name!r} (known: {known}): run 'supportdesk login --server URL'")
    return profiles[name]


def store_token(profile: Profile, token: str) -> str | None:
    """Keep the token; returns a sentence when it now lies in plain text on this disk, which the
    caller must show: plaintext storage is never silent, whoever chose it."""
    if profile.storage == "file":
        path = _token_file(profile.name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(token)
        path.chmod(0o600)
        return f"the token is kept in plain text in {path} (readable by you alone)"
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    plaintext = _plaintext_backend(keyring.get_keyring())
    try:
        keyring.set_password(KEYRING_SERVICE, _keyring_user(profile), token)
    except NoKeyringError:
        raise ProfileError(
            "no OS keyring is available here: pass --insecure-storage to keep the token in a file only you can read"
        ) from None
    except KeyringError as error:
        raise ProfileError(f"the OS keyring refused the token: {error}") from None
    if plaintext:
        return f"the keyring in use here ({plaintext}) keeps the token in plain text on disk"
    return None


def _plaintext_backend(backend: object) -> str | None:
    """The name of a keyring backend that writes secrets unencrypted (keyrings.alt's plaintext
    file, which test and server setups install), looking inside a chain of backends."""
    inner = getattr(backend, "backends", None)
    for candidate in inner if isinstance(inner, list | tuple) else [backend]:
        kind = type(candidate)
        name = f"{kind.__module__}.{kind.__qualname__}"
        if "plaintext" in name.lower():
            return name
    return None


def load_token(profile: Profile) -> str:
    """The profile's token; ``SUPPORTDESK_TOKEN`` is used when none is stored."""
    token: str | None = None
    if profile.storage == "file":
        path = _token_file(profile.name)
        try:
            token = path.read_text().strip() if path.exists() else None
        except UnicodeDecodeError:
            token = "\ufffd"  # not text: refused as damaged below
    else:
        import keyring
        from keyring.errors import KeyringError

        try:
            token = keyring.get_password(KEYRING_SERVICE, _keyring_user(profile))
        except KeyringError:
            token = None
    token = token or os.environ.get("SUPPORTDESK_TOKEN")
    if not token:
        raise ProfileError(f"no token stored for profile {profile.name!r}: run 'supportdesk login' again")
    if not (token.isascii() and token.isprintable()) or " " in token:
        # it goes into an HTTP header as it is; a token file edited by hand must not break or smuggle one
        raise ProfileError(
            f"the token of profile {profile.name!r} is damaged (it holds characters no token has): "
            "run 'supportdesk login' again"
        )
    return token


def _keyring_user(profile: Profile) -> str:
    return f"{profile.name}@{profile.server}"
