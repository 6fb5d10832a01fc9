"""Training options: every flag dependency is refused before any work, recipes are plain JSON, flags win over them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compression import train
from compression.train_config import ConfigError, TrainConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("options,complaint", [
    ({"lac_types": True}, "--lac-types needs --lac"),
    ({"lac": "build/lac", "lac_types": True, "augment_brands": 0.2, "no_lexicon": True}, "drop --no-lexicon"),
    ({"augment_brands": 0.2}, "--augment-brands draws LAC's organisation names"),
    ({"headquarters": 0.5}, "--headquarters is a share of --augment-brands"),
    ({"lac_encoder": True}, "--lac-encoder needs --lac"),
    ({"lac": "build/lac", "lac_words": True}, "--lac-words needs --lac-encoder"),
    ({"lac": "build/lac", "lac_encoder": True, "lac_both": True}, "--lac-both needs --lac-words"),
    ({"lac_tune": 1}, "--lac-tune needs --lac-encoder"),
    ({"lac_lr": 0.01}, "--lac-lr is the learning rate of --lac-tune"),
    ({"augment_lexicon": True}, "--augment-lexicon widens"),
    ({"distill_weight": 2.0}, "--distill-weight weighs the --teachers"),
    ({"unlabelled": "headlines.txt"}, "--unlabelled text has no gold tags"),
    ({"emb_lr": 0.0}, "--emb-lr must be positive"),
    ({"bigram_min_count": 0}, "--bigram-min-count must be at least 1"),
    ({"augment": 1.5}, "--augment is a share in [0, 1]"),
    ({"out": None}, "give --out"),
])
def test_each_dependency_is_named(options, complaint):
    cfg = TrainConfig.from_dict({"out": "runs/x", **options})
    with pytest.raises(ConfigError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        cfg.validate()


def test_every_problem_is_reported_at_once():
    cfg = TrainConfig.from_dict({"headquarters": 0.5, "lac_encoder": True})
    assert len(cfg.problems()) == 3  # no --out, --headquarters alone, --lac-encoder without --lac


@pytest.mark.parametrize("recipe", sorted((ROOT / "configs").glob("*.json")), ids=lambda p: p.stem)
def test_shipped_recipes_are_valid(recipe):
    TrainConfig.from_file(recipe).validate()


def test_recipe_values_are_typed_and_unknown_keys_refused(tmp_path):
    good = tmp_path / "r.json"
    good.write_text(json.dumps({"out": "runs/r", "teachers": ["a", "b"], "lr": 1}), encoding="utf-8")
    cfg = TrainConfig.from_file(good, epochs=2)
    assert cfg.out == Path("runs/r") and cfg.teachers == (Path("a"), Path("b")) and cfg.lr == 1.0 and cfg.epochs == 2
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"out": "x", "epoch": 3}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown option.*epoch"):
        TrainConfig.from_file(bad)
    with pytest.raises(ConfigError, match="is not a int"):
        TrainConfig.from_dict({"epochs": "3"})


def test_command_line_refuses_bad_options_before_reading_data(tmp_path, capsys):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"out": str(tmp_path / "o"), "headquarters": 0.5}), encoding="utf-8")
    with pytest.raises(SystemExit, match="--headquarters is a share"):
        train.main(["--config", str(recipe), "--data", str(tmp_path / "no-such-data")])
    with pytest.raises(SystemExit, match="train.txt: no such file"):
        train.main(["--config", str(recipe), "--headquarters", "0", "--data", str(tmp_path / "no-such-data")])
    assert not (tmp_path / "o").exists()


def test_a_recorded_command_can_be_run_again():
    from compression.invocation import invocation

    assert invocation("compression.prune", ["runs/s", "--hidden", "80"]) == (
        "python -m compression.prune runs/s --hidden 80")
    assert invocation("compression.adopt", ["m", "--describe", "two words"]) == (
        "python -m compression.adopt m --describe 'two words'")  # quoted, not split into two arguments


def test_teachers_are_checked_by_their_directory_with_or_without_a_variant(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "manifest.json").write_text("{}", encoding="utf-8")
    cfg = TrainConfig.from_dict({"data": str(tmp_path), "teachers": [f"{tmp_path}/model:ensemble",
                                                                     f"{tmp_path}/model", f"{tmp_path}/gone:fp32"]})
    assert cfg.teacher_dirs() == [tmp_path / "model", tmp_path / "model", tmp_path / "gone"]
    with pytest.raises(ConfigError) as err:
        cfg.check_files()
    assert "gone:fp32: not an exported model directory" in str(err.value)
    assert "model:ensemble" not in str(err.value)
