"""MEDS code strings: the built-in rule table, user rules from TOML, and the words fallback."""

from __future__ import annotations

import pytest

from ehrfeat.errors import ConfigError
from ehrfeat.store.meds.code_rules import code_words, default_rules, load_code_rules


@pytest.mark.parametrize(
    ("code", "system", "system_code", "words"),
    [
        ("DIAGNOSIS//ICD//10//E119", "ICD10CM", "E11.9", None),
        ("DIAGNOSIS//ICD//9//4019", "ICD9CM", "401.9", None),
        ("ICD10CM//E11.9", "ICD10CM", "E11.9", None),
        ("ICD10CM/E11.9", "ICD10CM", "E11.9", None),
        ("PROCEDURE//ICD//9//5491", "ICD9Proc", "54.91", None),
        ("PROCEDURE//ICD//10//0016070", "ICD10PCS", "0016070", None),
        ("MEDICATION//START//Heparin", "MEDICATION", None, "Heparin"),
        ("DRG//APR//283//OTHER DISORDERS OF THE LIVER", "DRG", "283", "Other disorders of the liver"),
        ("LAB//51237//mg/dL", "MIMIC-LAB", "51237", None),
        ("LAB//Glucose//mg/dL", "LAB", None, "Glucose"),
        ("MEDS_BIRTH", "MEDS", None, "birth"),
        ("RxNorm/6809", "RxNorm", "6809", None),
        ("LOINC/4548-4", "LOINC", "4548-4", None),
        ("HPO/HP:0005978", "HPO", "HP:0005978", None),
    ],
)
def test_builtin_rules_parse_the_common_etl_conventions(code, system, system_code, words):
    parsed = default_rules().parse(code)
    assert (parsed.system, parsed.code, parsed.words) == (system, system_code, words)


def test_words_fallback_drops_units_numbers_and_structure():
    assert code_words("LAB//Platelets//K/uL") == "Platelets"
    assert code_words("Gender/F") == "Gender F"
    assert code_words("LAB//50912//UNK") is None
    parsed = default_rules().parse("TRANSFER_TO//ED//Emergency Department")
    assert parsed.system is None and parsed.words == "TRANSFER TO Emergency Department"


def test_user_rules_come_first(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nprefix = "DX//"\nsystem = "icd-10-cm"\n\n'
                    '[[rules]]\npattern = "LAB//(?P<code>\\\\d+)//.*"\nsystem = "LOINC"\n')
    rules = load_code_rules(path)
    assert rules.parse("DX//E119").system == "ICD10CM" and rules.parse("DX//E119").code == "E11.9"
    assert rules.parse("LAB//51237//mg/dL").system == "LOINC"  # overrides the MIMIC lab-item rule
    assert rules.parse("DIAGNOSIS//ICD//9//4280").code == "428.0"  # built-ins still apply


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[rules]]\nsystem = 'X'\n", "exactly one of prefix or pattern"),
        ("[[rules]]\nprefix = 'A//'\n", "has no system"),
        ("[[rules]]\npattern = 'A//(.+)'\nsystem = 'X'\n", "no (?P<code>...)"),
        ("[[rules]]\npattern = 'A//(?P<code>'\nsystem = 'X'\n", "not a regular expression"),
        ("rules = [", "not valid TOML"),
    ],
)
def test_bad_rules_files_name_the_file_and_the_fix(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_code_rules(path)
    assert err.value.code == "E1501" and needle in str(err.value) and "bad.toml" in str(err.value)
