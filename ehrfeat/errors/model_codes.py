"""Codes of :class:`~ehrfeat.errors.ModelError` and :class:`~ehrfeat.errors.ParityError`."""

from __future__ import annotations

from ehrfeat.errors import ModelError, ParityError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["MODEL_CODES"]

_M = ModelError
_P = ParityError

MODEL_CODES: tuple[ErrorCode, ...] = (
    # torch encoders and training runs
    ErrorCode("E301", _M, "The pooling configuration of a model folder cannot be read.", "Restore the model folder from its source.", ("encoders.pooling",)),
    ErrorCode("E302", _M, "A model folder holds no weights.", "Point --model at a Hugging Face model folder or an ehrfeat checkpoint.", ("encoders.transformer",)),
    ErrorCode("E303", _M, "The torch encoder needs torch and transformers.", 'pip install "ehrfeat[torch]", or use an ONNX model folder.', ("encoders.transformer",)),
    ErrorCode("E304", _M, "The pooling mode is not supported.", "Use mean or cls pooling.", ("encoders.pooling", "encoders.transformer", "training.model")),
    ErrorCode("E305", _M, "The model folder does not exist.", "Pass a model folder, an ehrfeat checkpoint or a hub id.", ("encoders.transformer", "export.exporter", "models.doctor")),
    ErrorCode("E306", _M, "The model cannot be loaded.", "Check the folder holds config.json, tokenizer files and weights; a hub id needs internet.", ("encoders.transformer", "export.exporter", "training.model")),
    ErrorCode("E308", _M, "The encoder backend is unknown.", "Use one of the backends the message lists.", ("models.loader",)),
    ErrorCode("E309", _M, "A fine-tuned model cannot be merged with its base (a weight is missing or shaped differently).", "Merge only with the model the run was fine-tuned from, or set merge_with_base = 1.0.", ("training.merge",)),
    ErrorCode("E1722", _M, "The folder to merge is not a finished training run with unmerged weights.", "Merge the folder `ehrfeat train` wrote with merge_with_base = 1.0.", ("training.merge",)),
    ErrorCode("E318", _M, "A training checkpoint is missing or cannot be read.", "Pass a folder written by `ehrfeat train`, or delete it to start over.", ("training.checkpoint",)),
    # ONNX exports
    ErrorCode("E310", _M, "The ONNX model folder does not exist or is not an ehrfeat export.", "Run `ehrfeat export MODEL OUT_DIR` once and load OUT_DIR.", ("onnx.manifest",)),
    ErrorCode("E311", _M, "The export's manifest cannot be read, is of a newer format or lists no variant.", "Re-run `ehrfeat export` into a fresh folder, or upgrade ehrfeat.", ("onnx.manifest",)),
    ErrorCode("E1230", _M, "An ONNX manifest names a variant file outside its folder (an absolute path, `..`, or a link leading out).", "Re-export the model, or correct the manifest to name files inside its folder.", ("onnx.manifest",)),
    ErrorCode("E1231", _M, "A model is a hub id that is not in the local cache, and the hub is switched off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE).", "Pass a local model folder or --model minilm, or unset HF_HUB_OFFLINE to download it once.", ("models.hub",)),
    ErrorCode("E1232", _M, "A model is a hub id that is not in the local cache, and the hub (HF_ENDPOINT, or the HTTPS proxy) accepts no connection within a few seconds.", "Pass a local model folder or --model minilm, or download the model where there is internet and copy the folder here.", ("models.hub",)),
    ErrorCode("E312", _M, "The export has no variant of the requested name.", "Pick a variant the export has, or export with the option that makes it.", ("onnx.variants",)),
    ErrorCode("E313", _M, "A variant file of the export is missing.", "Re-run `ehrfeat export` into this folder.", ("onnx.runtime",)),
    ErrorCode("E314", _M, "A variant file does not match the sha256 in the manifest.", "Re-run `ehrfeat export` into a fresh folder.", ("onnx.runtime",)),
    ErrorCode("E315", _M, "The export's tokenizer file is missing.", "Re-run `ehrfeat export`; it copies the tokenizer.", ("onnx.runtime",)),
    ErrorCode("E316", _M, "The tokenizer is not the one the model was exported with.", "Restore the exported tokenizer.json, or re-export the model with its tokenizer.", ("onnx.runtime",)),
    ErrorCode("E317", _M, "onnxruntime cannot load the graph, or it has no sentence_embedding output.", "Re-run `ehrfeat export`; the file is corrupt, truncated or not an ehrfeat export.", ("onnx.runtime",)),
    ErrorCode("E320", _M, "The device is unknown.", "Use one of the devices the message lists.", ("models.doctor", "onnx.providers")),
    ErrorCode("E321", _M, "The GPU was asked for but onnxruntime cannot use it.", "Install onnxruntime-gpu with CUDA 12 and cuDNN 9, or pass device='cpu' / allow_cpu_fallback=True.", ("onnx.providers",)),
    ErrorCode("E331", _M, "The export folder holds something else (another model's export or other files).", "Export into an empty or new folder.", ("export.exporter",)),
    ErrorCode("E332", _M, "all-MiniLM-L6-v2 has not been exported yet and torch/optimum are not installed to do it.", 'pip install "ehrfeat[export]" once, or pass an exported folder.', ("onnx.cache",)),
    ErrorCode("E333", _M, "Exporting all-MiniLM-L6-v2 on first use failed.", "Run `ehrfeat export minilm FOLDER --quantize int8` to see the full error, then pass FOLDER.", ("onnx.cache",)),
    ErrorCode("E334", _M, "This build does not ship the named model.", "Use --model minilm, or build and ship the model (see the README's Default model).", ("models.loader",)),
    ErrorCode("E337", _M, "The export has no fp16 variant to derive CPU variants from.", "Export it with `ehrfeat export --fp16`.", ("onnx.derive", "onnx.upcast")),
    ErrorCode("E338", _M, "The fp32 graph derived from a shipped fp16 model fails parity.", "Pass --variant fp16 to run the shipped graph as it is, and report this.", ("onnx.derive",)),
    ErrorCode("E340", _M, "The linking index was built with another encoder than the pipeline's model.", "Set the linker's model to the index's encoder, or rebuild the index with this model.", ("linking.code_index",)),
    ErrorCode("E341", _M, "The encoder's parallelism is not one it knows.", "Pass parallelism='batches' (the default) or 'intra_op'.", ("onnx.runtime",)),
    ErrorCode("E342", _M, "The number of CPU threads (threads= or EHRFEAT_THREADS) is not a whole number >= 0.", "Set it to a number of cores such as 4, or unset EHRFEAT_THREADS to use every core.", ("onnx.runtime",)),
    # parity of exported variants
    ErrorCode("E502", _P, "The reference export fails parity with the source model; nothing was written.", "Check the source model.", ("export.exporter",)),
    ErrorCode("E503", _P, "Some optimised or quantised variants fail parity; the variants that passed were written.", "Try another --optimize level or quantisation.", ("export.exporter",)),
)
