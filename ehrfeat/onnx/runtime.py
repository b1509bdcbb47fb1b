"""``OnnxEncoder``: the torch-free encoder over an exported model folder.

Tokenisation runs in the Rust ``tokenizers`` library (tokenizer.json), inference
in onnxruntime; pooling and L2 normalisation are inside the graph. On the CPU each of
``threads`` workers runs whole batches on one core (the session's runs release the
GIL): a term is a few dozen tokens, too small a product to split well across cores.
Imports only numpy, onnxruntime and tokenizers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from ehrfeat.encoders.base import BatchedEncoder, EncodeCall
from ehrfeat.encoders.pooling import pool
from ehrfeat.errors import ModelError
from ehrfeat.onnx.manifest import OnnxManifest, VariantEntry, read_manifest, verified_file
from ehrfeat.onnx.providers import CPU, check_session_providers, requested_providers
from ehrfeat.onnx.variants import choose_variant

__all__ = ["PARALLELISM", "EncodeStats", "OnnxEncoder"]

#: ``"batches"``: on the CPU, ``threads`` batches at once, one core each (the default);
#: ``"intra_op"``: one batch at a time, its operators split across ``threads`` cores.
PARALLELISM = ("batches", "intra_op")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodeStats:
    """Counts of the last ``encode`` call: nothing is dropped, odd inputs are counted."""

    texts: int = 0
    unique: int = 0
    empty: int = 0
    truncated: int = 0


def _cpu_threads(threads: int | None) -> int:
    """``threads``, else ``EHRFEAT_THREADS``, else every core this process may run on (0 or unset: the next one)."""
    setting = os.environ.get("EHRFEAT_THREADS", "").strip()
    where = f"threads={threads!r}" if threads else f"EHRFEAT_THREADS={setting!r}"
    try:
        value = int(threads or setting or 0)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise ModelError(f"{where} is not a number of CPU cores",
                         fix="set it to a whole number of cores such as 4, or unset it to use every core", code="E342")
    return value or len(os.sched_getaffinity(0))


class OnnxEncoder(BatchedEncoder):
    """Encoder protocol on onnxruntime: dedupe, token-length-sorted batches, GPU IO binding."""

    def __init__(
        self,
        folder: str | Path,
        *,
        variant: str | None = None,
        device: str = "auto",
        allow_cpu_fallback: bool = False,
        threads: int | None = None,
        verify: bool = True,
        max_length: int | None = None,
        providers: Sequence[str] | None = None,
        parallelism: str = "batches",
    ) -> None:
        """``max_length`` overrides the manifest's token limit (e.g. to compare models at one length).
        ``providers``: the session's provider list when the caller already resolved it for ``device``
        (:func:`~ehrfeat.models.loader.load_encoder` does, to pick the folder); else resolved here.
        ``threads``: CPU cores to use (default ``EHRFEAT_THREADS``, else every core this process
        may run on); ``parallelism``: how they share the work (:data:`PARALLELISM`)."""
        if parallelism not in PARALLELISM:
            raise ModelError(f"parallelism must be one of {', '.join(PARALLELISM)}, got {parallelism!r}",
                             fix="pass parallelism='batches' (the default) or 'intra_op'", code="E341")
        self.folder = Path(folder).expanduser()
        self.manifest: OnnxManifest = read_manifest(self.folder)
        self.max_length = int(max_length or self.manifest.max_length)
        providers = list(providers) if providers is not None else requested_providers(device)
        self.variant: VariantEntry = choose_variant(self.manifest, providers[0], variant)
        path = verified_file(
            self.folder / self.variant.file, self.variant.sha256, verify,
            missing=ModelError(f"variant file {self.folder / self.variant.file} is missing",
                               fix="re-run `ehrfeat export` into this folder", code="E313"),
            changed=ModelError(f"{self.folder / self.variant.file} does not match the sha256 in the manifest (corrupt or replaced)",
                               fix="re-run `ehrfeat export` into a fresh folder", code="E314"),
        )
        self._tokenizer = self._load_tokenizer(verify)
        threads = _cpu_threads(threads)
        self.workers = threads if parallelism == "batches" and providers[0] == CPU else 1
        self._session = self._load_session(path, providers, threads if self.workers == 1 else 1)
        self.requested_providers = tuple(providers)
        self.provider = check_session_providers(self._session.get_providers(), providers, allow_cpu_fallback=allow_cpu_fallback)
        self.last_stats = EncodeStats()
        logger.info("ONNX encoder %s on %s", self.variant.file, self.provider)

    def _load_tokenizer(self, verify: bool) -> Tokenizer:
        path = verified_file(
            self.folder / "tokenizer.json", self.manifest.tokenizer_sha256, verify,
            missing=ModelError(f"{self.folder / 'tokenizer.json'} is missing",
                               fix="re-run `ehrfeat export`; it copies the tokenizer", code="E315"),
            changed=ModelError(f"{self.folder / 'tokenizer.json'} is not the tokenizer the model was exported with",
                               fix="restore the exported tokenizer.json, or re-export the model together with its tokenizer",
                               code="E316"),
        )
        tokenizer = Tokenizer.from_file(str(path))
        if tokenizer.get_vocab_size() > self.manifest.vocab_size:
            raise ModelError(
                f"tokenizer has {tokenizer.get_vocab_size()} tokens, the model only {self.manifest.vocab_size}",
                fix="use the tokenizer that belongs to the model (re-export it)",
                code="E316",
            )
        tokenizer.enable_truncation(self.max_length)
        tokenizer.no_padding()
        pad_id = tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else pad_id
        return tokenizer

    @staticmethod
    def _load_session(path: Path, providers: list[str], threads: int) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # idle intra-op threads block instead of spinning: on a shared 2-core machine the spinning thread
        # took the core the caller (spaCy, the linker's search) or a second worker needed; encoding alone ran
        # 1,200 terms/s without spinning against 700-1,000 with it (same vectors); EHRFEAT_ORT_SPINNING=1 spins
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if os.environ.get("EHRFEAT_ORT_SPINNING") == "1" else "0")
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own (InvalidProtobuf, Fail, ...) classes
            raise ModelError(
                f"onnxruntime cannot load {path}: {str(exc).splitlines()[0][:300]}",
                fix="the file is corrupt or truncated; re-run `ehrfeat export`",
                code="E317",
            ) from exc
        names = {o.name for o in session.get_outputs()}
        if "sentence_embedding" not in names:
            raise ModelError(f"{path} has no 'sentence_embedding' output", fix="export it with `ehrfeat export`", code="E317")
        return session

    @property
    def fingerprint(self) -> str:
        """sha256 of the ONNX file this encoder runs."""
        return self.variant.sha256

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def session(self) -> ort.InferenceSession:
        return self._session

    def _workers(self) -> int:
        return self.workers

    def _begin_call(self, call: EncodeCall) -> EncodeCall:
        """Tokenise the call's texts once (the Rust tokenizer batches them); batching sorts by token count."""
        call.prepared["encodings"] = dict(zip(call.unique, self._tokenizer.encode_batch(call.unique), strict=True))
        return call

    def _length_key(self, text: str, call: EncodeCall) -> int:
        encoding = call.prepared["encodings"].get(text)
        return len(encoding.ids) if encoding is not None else len(text)

    def _end_call(self, call: EncodeCall) -> None:
        """Record the call's statistics in ``last_stats`` and warn about truncated or empty texts."""
        encodings: dict[str, Encoding] = call.prepared.get("encodings", {})
        truncated = sum(1 for e in encodings.values() if e.overflowing)
        empty = sum(1 for t in call.unique if not t.strip())
        self.last_stats = EncodeStats(texts=call.n_texts, unique=len(call.unique), empty=empty, truncated=truncated)
        if truncated:
            logger.warning("%d of %d texts were longer than %d tokens and were truncated", truncated, len(call.unique), self.max_length)
        if empty:
            logger.warning("%d empty or blank texts were encoded as the empty string", empty)

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        prepared: dict[str, Encoding] = call.prepared.get("encodings", {})
        encodings = [prepared.get(t) or self._tokenizer.encode(t) for t in texts]
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        if ids.size and int(ids.max()) >= self.manifest.vocab_size:
            raise ModelError("the tokenizer produced ids the model does not have", fix="re-export with the matching tokenizer", code="E316")
        if call.normalize:  # the graph pools and normalises itself
            return self._run("sentence_embedding", ids, mask)
        return pool(self._run("token_embeddings", ids, mask), mask, self.manifest.pooling).astype(np.float32)

    def _run(self, output: str, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self.provider == CPU:  # on a GPU, IO binding avoids a copy per output
            return np.asarray(self._session.run([output], feeds)[0], dtype=np.float32)
        binding = self._session.io_binding()
        device = "cuda"
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, device, 0))
        binding.bind_output(output, device)
        self._session.run_with_iobinding(binding)
        return np.asarray(binding.copy_outputs_to_cpu()[0], dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        """What runs: the variant, its parity, the provider (for `ehrfeat doctor` and logs)."""
        return {
            "folder": str(self.folder),
            "variant": self.variant.file,
            "precision": self.variant.precision,
            "optimization": self.variant.optimization,
            "quantization": self.variant.quantization,
            "provider": self.provider,
            "workers": self.workers,
            "providers_requested": list(self.requested_providers),
            "fingerprint": self.fingerprint,
            "parity": self.variant.parity,
        }

    def __repr__(self) -> str:
        return f"OnnxEncoder({str(self.folder)!r}, variant={self.variant.file}, provider={self.provider})"

