"""Which provider a litellm model string names, which key it needs, and whether it is local.

This mirrors litellm's provider naming ("openai/gpt-4o-mini", "anthropic/claude-...",
"ollama/llama3.1") without importing litellm, so `aft doctor` and start-up stay fast.
Only key *names* are handled here; values are never read out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "text-completion-openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY", "OR_API_KEY"),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "TOGETHER_AI_TOKEN"),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
    "cohere_chat": ("COHERE_API_KEY", "CO_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"),
    "huggingface": ("HF_TOKEN", "HUGGINGFACE_API_KEY"),
    "replicate": ("REPLICATE_API_KEY", "REPLICATE_API_TOKEN"),
    "upstage": ("UPSTAGE_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "nvidia_nim": ("NVIDIA_NIM_API_KEY",),
    "databricks": ("DATABRICKS_API_KEY",),
}
# Providers whose credentials usually live in a file rather than a variable.
PROVIDER_FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bedrock": (("AWS_ACCESS_KEY_ID", "AWS_PROFILE"), ("~/.aws/credentials",)),
    "sagemaker": (("AWS_ACCESS_KEY_ID", "AWS_PROFILE"), ("~/.aws/credentials",)),
    "vertex_ai": (("GOOGLE_APPLICATION_CREDENTIALS",), ("~/.config/gcloud/application_default_credentials.json",)),
}
LOCAL_PROVIDERS: dict[str, str | None] = {
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
    "lm_studio": "http://localhost:1234/v1",
    "llamafile": "http://localhost:8080/v1",
    "hosted_vllm": None,
    "vllm": None,
    "xinference": "http://localhost:9997/v1",
}
_NAME_HINTS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "davinci", "babbage"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "gemini"),
    (("mistral", "mixtral", "codestral"), "mistral"),
    (("command-r", "command"), "cohere_chat"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("solar",), "upstage"),
)


@dataclass
class ModelAccess:
    """What using a model needs and whether this machine has it (never any key value)."""

    model: str
    provider: str
    key_vars: tuple[str, ...] = ()
    key_present: str | None = None  # the variable (or file) that provides the credential
    local: bool = False
    api_base: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def needs_key(self) -> bool:
        return bool(self.key_vars) and not self.local

    @property
    def usable_without_probe(self) -> bool:
        return self.local or not self.needs_key or self.key_present is not None


def provider_of(model: str) -> str:
    """The litellm provider a model string routes to ("openai/x" -> openai, "claude-3" -> anthropic)."""
    head, sep, _ = model.partition("/")
    known = set(PROVIDER_KEYS) | set(PROVIDER_FILES) | set(LOCAL_PROVIDERS)
    if sep and head in known:
        return head
    name = model.lower()
    for prefixes, provider in _NAME_HINTS:
        if name.startswith(prefixes):
            return provider
    return head if sep else "openai"


def is_local_url(url: str | None) -> bool:
    if not url:
        return False
    host = (urlparse(url if "://" in url else f"http://{url}").hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local")


def model_access(model: str, api_base: str | None = None) -> ModelAccess:
    provider = provider_of(model)
    base = api_base or LOCAL_PROVIDERS.get(provider)
    local = provider in LOCAL_PROVIDERS or is_local_url(api_base)
    access = ModelAccess(model=model, provider=provider, local=local, api_base=base)
    if provider in PROVIDER_FILES:
        names, files = PROVIDER_FILES[provider]
        access.key_vars = names
        access.key_present = next((n for n in names if os.environ.get(n)), None)
        if access.key_present is None:
            access.key_present = next((f for f in files if Path(f).expanduser().is_file()), None)
        return access
    access.key_vars = PROVIDER_KEYS.get(provider, ())
    access.key_present = next((n for n in access.key_vars if os.environ.get(n)), None)
    if not access.key_vars and provider not in LOCAL_PROVIDERS:
        access.notes.append(f"AFT does not know which variable holds {provider}'s key; litellm's documentation for "
                            f"'{provider}' names it")
    return access


def probe_url(api_base: str, provider: str) -> str:
    """A cheap GET that answers when an OpenAI-compatible (or Ollama) server is up."""
    base = api_base.rstrip("/")
    if provider in ("ollama", "ollama_chat"):
        return base + "/api/tags"
    return base + "/models"
