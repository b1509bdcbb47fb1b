"""Copy an `ehrfeat export --fp16` folder into ehrfeat/models/<name>/: the fp16 graph and what loads it.

Usage: python -m ehrfeat.export.ship EXPORT_DIR CHECKPOINT_DIR [NAME]
Keeps only the fp16 variant in the ONNX manifest (its sha256 and parity from the
export stay as they are), the tokenizer files, the training manifest and the
held-out set of the checkpoint (so `ehrfeat evaluate hiprbert-mini` runs offline),
and the model card ehrfeat/models/<name>.md as README.md. On the CPU the runtime
derives the fp32 and int8 variants from the fp16 graph on first use
(:mod:`ehrfeat.onnx.derive`), so they need not ship. The shipped inference max
length is at least ``SHIPPED_MAX_LENGTH`` tokens (bounded by the model's positions),
whatever length the model was trained at, so long code descriptions keep their
late qualifiers (laterality, 7th-character encounter) instead of being cut.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

SHIPPED_MAX_LENGTH = 64  # ICD-10-CM's longest leaf description is 45 word pieces
FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json", "ehrfeat_manifest.json")


def main(export: Path, checkpoint: Path, name: str = "hiprbert-mini", out: Path | None = None) -> Path:
    """Write the shipped folder (default ``ehrfeat/models/<name>``) and return it."""
    models = Path(__file__).resolve().parents[1] / "models"
    out = out or models / name
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    manifest = json.loads((export / "ehrfeat_onnx.json").read_text())
    fp16 = [v for v in manifest["variants"] if v["name"] == "fp16" and v["parity"]["passed"]]
    if not fp16:
        sys.exit(f"{export} has no fp16 variant that passed its parity gate")
    manifest["variants"] = fp16
    manifest["source"]["model"] = name
    if "max_length" in manifest:
        positions = int(json.loads((export / "config.json").read_text()).get("max_position_embeddings", SHIPPED_MAX_LENGTH))
        manifest["max_length"] = min(max(int(manifest["max_length"]), SHIPPED_MAX_LENGTH), positions)
    shutil.copy2(export / fp16[0]["file"], out / fp16[0]["file"])
    for f in FILES:
        shutil.copy2(export / f, out / f)
    shutil.copy2(checkpoint / "ehrfeat_heldout.json", out / "ehrfeat_heldout.json")
    (out / "ehrfeat_onnx.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (out / "parity_report.json").write_text((export / "parity_report.json").read_text())
    card = models / f"{name}.md"
    if card.is_file():  # the model card: update its evaluation table before shipping
        shutil.copy2(card, out / "README.md")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "hiprbert-mini")
