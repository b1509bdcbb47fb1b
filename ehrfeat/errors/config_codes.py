"""Codes of :class:`~ehrfeat.errors.ConfigError`: training configs, linker and export settings."""

from __future__ import annotations

from ehrfeat.errors import ConfigError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["CONFIG_CODES"]

_C = ConfigError

CONFIG_CODES: tuple[ErrorCode, ...] = (
    # training configs
    ErrorCode("E401", _C, "The training config is not valid TOML, or a section is not a table.", "Fix the TOML syntax; sections are [tables].", ("training.config",)),
    ErrorCode("E402", _C, "The training config has an unknown key.", "Use the keys the message lists.", ("training.config",)),
    ErrorCode("E403", _C, "The training config lacks a required key or [[sources]].", "Add the key, or at least one [[sources]] table with a reader.", ("training.config",)),
    ErrorCode("E404", _C, "A training config value has the wrong type or is out of range.", "Give a value of the type and range the message names.", ("training.config", "training.config_checks", "training.model")),
    ErrorCode("E405", _C, "A reader argument names an unset environment variable.", "Export the variable (e.g. SHARED_DATA=/path/to/shared/data) or write the path out.", ("training.config_paths",)),
    ErrorCode("E406", _C, "The config file, or a file it names, does not exist.", "Fix the path (relative paths start at the config's folder), or pass a recipe name.", ("training.config", "training.config_paths")),
    ErrorCode("E407", _C, "Two [[sources]] have the same name, or one is named synonyms or anchors, which training keeps for its own batches and loss.", "Give each [[sources]] a distinct name of its own.", ("training.config",)),
    ErrorCode("E408", _C, "A source names an unknown reader.", "Use one of the readers the message lists.", ("training.data_sources",)),
    ErrorCode("E409", _C, "A source's reader is not available.", "Install ehrfeat with the readers, or choose another reader.", ("training.data_sources",)),
    ErrorCode("E410", _C, "A source's reader arguments are not accepted by the reader.", "Give the arguments the reader takes.", ("training.data_sources",)),
    ErrorCode("E411", _C, "The number of sources given does not match the config's [[sources]].", "Give one source per [[sources]] table.", ("training.data_sources",)),
    ErrorCode("E412", _C, "The sources give nothing to train on.", "Check the [[sources]], add data, or lower training.batch_size.", ("training.data_sources", "training.loop")),
    ErrorCode("E413", _C, "training.device is 'cuda' but no CUDA device is available.", "Use 'auto' or 'cpu'.", ("training.loop",)),
    ErrorCode("E414", _C, "The checkpoint to resume belongs to a run of another plan, or one that trained other weights (model.freeze_layers) or at other learning rates (training.lr, training.layer_lr_decay).", "Resume with the same config and data, or delete the checkpoint folder to start over.", ("training.loop", "training.checkpoint")),
    ErrorCode("E415", _C, "The model folder holds no held-out groups to evaluate on.", "Pass --config with the recipe or TOML file the held-out groups come from.", ("training.compare",)),
    ErrorCode("E416", _C, "An icd10cm_slice block is not an ICD-10-CM block or chapter.", "Use block ids such as 'E08-E13'.", ("training.data_sources",)),
    ErrorCode("E417", _C, "The bootstrap unit is unknown.", "Use item (pairs and queries) or concept (held-out concepts with all their items).", ("evaluation.bootstrap",)),
    ErrorCode("E1721", _C, "model.init names a folder that does not exist.", "Train that model first (e.g. `ehrfeat train hiprbert-mini-v2`), or point model.init at a model folder.", ("training.loop",)),
    ErrorCode("E1723", _C, "The merge weight is not in (0, 1].", "1.0 keeps the fine-tuned weights; 0.6 moves them 40 % of the way back to the base.", ("training.merge",)),
    ErrorCode("E1724", _C, "pairs.drop_phecode_siblings or pairs.closer_phecode_siblings is on but no source of the config maps codes to phecodes.", "Add the phecode source (reader = \"phecode\"), or turn the option off.", ("training.data_sources",)),
    ErrorCode("E1725", _C, "A pair set's bands (its source's lambdas, else loss.lambdas) do not give one threshold per far category of its pairs; pairs.closer_phecode_siblings gives the ICD trees four.", "Give that source's lambdas one threshold per far category, or use a single loss.lambda.", ("training.data_sources",)),
    # linker settings
    ErrorCode("E420", _C, "The linker's k is below 1.", "Set k >= 1.", ("linking.settings",)),
    ErrorCode("E421", _C, "The linker's threshold is not a cosine between -1 and 1.", "Set a threshold in [-1, 1].", ("linking.settings",)),
    ErrorCode("E422", _C, "The linker's detect_mentions mode is unknown.", "Use one of the modes the message lists.", ("linking.settings",)),
    ErrorCode("E423", _C, "The linker's batch_size is below 1.", "Set batch_size >= 1.", ("linking.settings",)),
    ErrorCode("E424", _C, "The linker links to systems its index does not hold.", "Set systems to systems of the index ([] for all), or use an index of those systems.", ("linking.component",)),
    ErrorCode("E425", _C, "The linker's index settings have unknown keys.", "Use the keys the message lists.", ("linking.sources",)),
    ErrorCode("E426", _C, "The linker's index names several sources.", "Give exactly one source.", ("linking.sources",)),
    ErrorCode("E427", _C, "max_code_length is not between 3 (categories) and 7 (all codes).", "Set max_code_length between 3 and 7.", ("linking.sources",)),
    ErrorCode("E428", _C, "The built-in index is switched off and no other source is given.", "Give a source for the index.", ("linking.sources",)),
    ErrorCode("E429", _C, "ehrfeat has no built-in vocabulary of the systems to link to.", "Link to the built-in systems, or embed your codes with `ehrfeat embed-codes DB` and use index={'db': DB}.", ("linking.sources",)),
    # export settings
    ErrorCode("E430", _C, "The optimisation level is unknown.", "Use O1, O2, O3 or O4.", ("export.optimize",)),
    ErrorCode("E431", _C, "The quantisation preset is unknown.", "Use one of the presets the message lists.", ("onnx.quantize",)),
    ErrorCode("E432", _C, "The training output folder holds a finished run; training into it would replace its model.", "Pass another output folder, or delete the finished run's folder to train it again (ehrfeat evaluate FOLDER evaluates it).", ("training.loop",)),
    # OMOP source values (issue 14)
    ErrorCode("E1401", _C, "A --source-system value is not TABLE=SYSTEM[,SYSTEM...].", "Write e.g. --source-system condition=ICD10CM,ICD9CM.", ("store.source_values",)),
    ErrorCode("E1402", _C, "--source-system names a table that is no OMOP domain table.", "Use condition, procedure, drug, measurement, observation, device or visit.", ("store.source_values",)),
    ErrorCode("E1403", _C, "--source-system names a code system ehrfeat cannot detect in source values.", "Use ICD10CM, ICD9CM, ICD10PCS, ICD9Proc, LOINC, NDC, RxNorm or CPT4.", ("store.source_values",)),
    # MEDS code-string rules (issue 15)
    ErrorCode("E1501", _C, "A MEDS code-rules file is missing, not TOML, or has a rule without system, prefix/pattern or a code/words group.", "Fix the rule the message names: [[rules]] with system and prefix = \"DX//\" or pattern = \"DX//(?P<code>.+)\".", ("store.meds.code_rules",)),
)
