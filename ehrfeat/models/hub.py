"""Hub ids without a network: answer at once instead of after a minute of retries.

A Hugging Face hub id that is not in the local cache needs the hub. When the
process is offline (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``) or the hub's
endpoint (``HF_ENDPOINT``, or the proxy in ``HTTPS_PROXY``) does not accept a TCP
connection within a few seconds, :func:`hub_access` raises a :class:`ModelError`
naming the fix (a local folder, or ``--model minilm``) before transformers starts
its retries. A cached hub id loads from the cache without touching the network.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlsplit

from ehrfeat.errors import ModelError

__all__ = ["CONNECT_TIMEOUT_S", "hub_access", "hub_is_offline", "is_cached"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
_DEFAULT_ENDPOINT = "https://huggingface.co"
_FIX = ("pass a local model folder (e.g. one saved with SentenceTransformer.save), or use --model minilm "
        "(bundled, no network needed)")


def hub_is_offline() -> bool:
    """True when the environment says not to use the network for the hub."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def is_cached(model_id: str) -> bool:
    """True when the hub cache holds ``model_id``'s config (it can load without the network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - comes with transformers
        return False
    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except ValueError:  # not a valid repo id: transformers says so itself
        return False
    return isinstance(found, str)


def _endpoint() -> tuple[str, str, int]:
    """(what is contacted, host, port): the HTTPS proxy if one is set, else the hub endpoint."""
    proxy = next((os.environ[n] for n in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(n)), None)
    url = proxy or os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT
    parts = urlsplit(url if "://" in url else f"http://{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (f"proxy {parts.hostname}:{port}" if proxy else url), parts.hostname or "", port


def _reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_access(model_id: str, *, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether to load ``model_id`` from the cache only (True) or from the hub (False); raises when neither can work."""
    if is_cached(model_id):
        offline = hub_is_offline()
        if not offline:
            _, host, port = _endpoint()
            offline = not _reachable(host, port, timeout)
        if offline:
            logger.info("hub model %s: offline, loading it from the local cache", model_id)
        return offline
    if hub_is_offline():
        raise ModelError(
            f"model {model_id!r} is a hub id, it is not in the local cache, and the hub is switched off (HF_HUB_OFFLINE is set)",
            fix=_FIX + "; or unset HF_HUB_OFFLINE to download it once",
            code="E1231",
        )
    where, host, port = _endpoint()
    if not _reachable(host, port, timeout):
        raise ModelError(
            f"model {model_id!r} is a hub id, it is not in the local cache, and {where} cannot be reached "
            f"(no connection within {timeout:g} s): this machine looks offline",
            fix=_FIX + "; or download it on a machine with internet and copy the folder here",
            code="E1232",
        )
    return False
