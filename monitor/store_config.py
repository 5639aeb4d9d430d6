"""Where the store keeps its data: the optional ``config/store.toml``.

::

    [store]
    readings_root = "s3://bucket/jointwatch/readings"   # fsspec URL or path
    state_url = "postgresql+psycopg://jw@db/jointwatch"  # SQLAlchemy URL

Both keys are optional: without them (or without the file) the readings are in
``<data dir>/readings`` and the state in ``<data dir>/jointwatch.sqlite``.  A plain
relative ``readings_root`` is taken relative to the data directory.  Moving the
readings to object storage or the state to a database server is therefore a
configuration change, not a code change.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from monitor.config import AppConfig, read_toml, validate_model
from monitor.store import Store

#: File name of the store configuration inside the config directory.
STORE_FILE = "store.toml"


class StoreSettings(BaseModel):
    """The ``[store]`` table: where readings and state live (None = in the data directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    readings_root: str | None = None
    state_url: str | None = None


def load_store_settings(config: AppConfig) -> StoreSettings:
    """Read ``[store]`` of ``store.toml`` in the config directory (defaults when absent).

    Raises
    ------
    ConfigError
        naming the file and the key.
    """
    path = config.config_dir / STORE_FILE
    raw = read_toml(path).get("store", {}) if path.exists() else {}
    return validate_model(StoreSettings, raw, path, "store.")


def open_store(config: AppConfig, data_dir: Path) -> Store:
    """The store of ``data_dir`` placed as ``store.toml`` says."""
    settings = load_store_settings(config)
    root = settings.readings_root
    if root is not None and "://" not in root and not Path(root).is_absolute():
        root = str(data_dir / root)
    return Store(data_dir, readings_root=root, state_url=settings.state_url)
