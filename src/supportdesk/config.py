"""Settings and the paths they name.

Precedence, lowest first: built-in defaults, the TOML file in the user config directory
(``SUPPORTDESK_CONFIG`` names another file), ``SUPPORTDESK_*`` environment variables, then
command-line flags. The file is read with ``tomllib``; sections that belong to one layer
(``[keys]`` for the console, ``[server]`` for ``supportdesk serve``) are kept as plain dicts
and interpreted by that layer.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportdesk.errors import SupportdeskError

APP_NAME = "supportdesk"
ENV_PREFIX = "SUPPORTDESK_"


class ConfigError(SupportdeskError):
    """The configuration file or an override cannot be used; the message says why."""


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    override = os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def default_workspace() -> Path:
    return data_dir() / "workspace"


@dataclass
class Settings:
    """What every layer may need to know at start-up."""

    workspace: Path
    config_file: Path
    theme: str = "textual-dark"
    editor: str | None = None
    profile: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    macro_keys: dict[str, str] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        value = self.sections.get(name, {})
        return value if isinstance(value, dict) else {}


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror}") from None


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"[{where}] must map names to strings")
    return dict(value)


def load_settings(workspace: str | Path | None = None, profile: str | None = None) -> Settings:
    """Build the settings from defaults, file, environment and the given flag values."""
    path = config_path()
    data = read_config_file(path)
    general = data.get("general", {})
    if not isinstance(general, dict):
        raise ConfigError(f"{path}: [general] must be a table")

    chosen = workspace or os.environ.get(f"{ENV_PREFIX}WORKSPACE") or general.get("workspace") or default_workspace()
    console = data.get("console", {}) if isinstance(data.get("console"), dict) else {}
    return Settings(
        workspace=Path(chosen).expanduser(),
        config_file=path,
        theme=os.environ.get(f"{ENV_PREFIX}THEME") or console.get("theme", "textual-dark"),
        editor=os.environ.get(f"{ENV_PREFIX}EDITOR") or general.get("editor"),
        profile=profile or os.environ.get(f"{ENV_PREFIX}PROFILE") or general.get("profile"),
        keys=_str_map(data.get("keys"), "keys"),
        macro_keys=_str_map(data.get("macro_keys"), "macro_keys"),
        sections=data,
    )
