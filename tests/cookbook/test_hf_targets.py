"""End-to-end checks of the Hugging Face example targets in cookbook/targets/.

Each target is copied to a temporary folder and run as a real subprocess with no flags, offline,
on one CPU thread: it must exit 0, report its metric and save its model. Trained artefacts are
shared through module-scoped fixtures so every model is trained once per test run.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TARGETS = Path(__file__).resolve().parents[2] / "cookbook" / "targets"
NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def run(folder: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 280) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AFT_")}
    full_env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1",
                    TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                    PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=folder, env=full_env, text=True,
                          capture_output=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def metric(stdout: str, name: str) -> float:
    """The last `name: value` line the script printed."""
    values = re.findall(rf"^{re.escape(name)}: ({NUMBER})$", stdout, re.MULTILINE)
    assert values, f"no '{name}: <number>' line in:\n{stdout[-2000:]}"
    return float(values[-1])


def trainer_evals(stdout: str) -> list[dict]:
    """The Trainer's per-evaluation log dicts printed on stdout."""
    import ast
    return [ast.literal_eval(line) for line in stdout.splitlines()
            if line.startswith("{'eval_loss'")]


def copy_target(name: str, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp(name) / name
    shutil.copytree(TARGETS / name, dest, ignore=shutil.ignore_patterns(
        "data", "outputs", "__pycache__", "*.db", "mlruns"))
    return dest


def one_sentence_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------------ convo_classifier (seed 001)

@pytest.fixture(scope="module")
def convo(tmp_path_factory) -> Path:
    folder = copy_target("convo_classifier", tmp_path_factory)
    ok(run(folder, "generate_data.py"))
    return folder


@pytest.fixture(scope="module")
def convo_runs(convo) -> dict[str, str]:
    """Train the classifier, the unified model and both specialists once, with no flags."""
    return {
        "classifier": ok(run(convo, "train_classifier.py")),
        "unified": ok(run(convo, "train_unified.py")),
        "qna": ok(run(convo, "train_unified.py", "--category", "qna")),
        "technical": ok(run(convo, "train_unified.py", "--category", "technical")),
    }


def load_module(path: Path, name: str):
    """Import one target file by path (the targets are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def load_inference_module():
    """inference.py's routing logic, imported without torch (it loads models lazily)."""
    return load_module(TARGETS / "convo_classifier" / "inference.py", "convo_inference_under_test")


def test_generated_data_passes_validation(convo):
    files = sorted(p.name for p in (convo / "data").glob("*.jsonl"))
    assert files == sorted(f"{kind}_{split}.jsonl" for kind in ("classification", "unified")
                           for split in ("test", "train", "validation"))
    first = json.loads((convo / "data" / "classification_train.jsonl").read_text().splitlines()[0])
    assert set(first) == {"text", "label"} and first["label"] in (0, 1, 2)
    unified = json.loads((convo / "data" / "unified_train.jsonl").read_text().splitlines()[0])
    assert set(unified) == {"input_text", "target_text", "category"}
    out = ok(run(convo, "validate_data.py"))
    assert out.startswith("ok: 6 file(s) valid")


def test_generation_is_deterministic(convo, tmp_path):
    ok(run(convo, "generate_data.py", "--out", str(tmp_path)))
    for path in (convo / "data").glob("*.jsonl"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


GOOD = [{"text": f"message number {i}", "label": i % 3} for i in range(30)]


@pytest.mark.parametrize("line, problem", [
    ('{"text": "hello", "label": 1', "invalid JSON"),
    ('{"label": 1}', "missing required field 'text'"),
    ('{"text": 42, "label": 1}', "field 'text' must be a string"),
    ('{"text": "hello", "label": "1"}', "field 'label' must be an integer"),
    ('{"text": "hello", "label": true}', "field 'label' must be an integer"),
    ('{"text": "hello", "label": 7}', "label 7 is not one of 0 (qna), 1 (technical), 2 (general)"),
    ('{"text": "' + "x" * 501 + '", "label": 1}', "field 'text' is too long (501 characters, limit 500)"),
    ('{"text": "   ", "label": 1}', "field 'text' is empty"),
    ('["hello", 1]', "record is a JSON list"),
])
def test_validator_names_file_line_and_problem(convo, tmp_path, line, problem):
    rows = [json.dumps(r) for r in GOOD]
    rows.insert(4, line)  # becomes line 5
    path = tmp_path / "classification_train.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run(convo, "validate_data.py", str(path))
    assert result.returncode == 1
    assert f"classification_train.jsonl:5: {problem}" in result.stdout, result.stdout


def test_validator_rejects_skewed_distribution(convo, tmp_path):
    rows = [{"text": f"m {i}", "label": 0} for i in range(40)] + \
           [{"text": f"n {i}", "label": 1} for i in range(10)] + \
           [{"text": f"o {i}", "label": 2} for i in range(10)]
    path = tmp_path / "classification_validation.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run(convo, "validate_data.py", str(path))
    assert result.returncode == 1
    assert re.search(r"^classification_validation\.jsonl:0: label distribution is skewed "
                     r"\(0: 67%, 1: 17%, 2: 17%\)", result.stdout, re.MULTILINE), result.stdout


def test_validator_checks_unified_records(convo, tmp_path):
    rows = [{"input_text": f"q {i}", "target_text": "a", "category": c}
            for i, c in enumerate(["qna", "technical", "general"] * 5)]
    rows[2] = {"input_text": "q", "target_text": "a", "category": "smalltalk"}
    path = tmp_path / "unified_train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run(convo, "validate_data.py", str(path))
    assert result.returncode == 1
    assert "unified_train.jsonl:3: category 'smalltalk' is not one of qna, technical, general" \
        in result.stdout


def test_classifier_trains_standalone(convo, convo_runs):
    out = convo_runs["classifier"]
    evals = trainer_evals(out)
    assert len(evals) >= 3 and all("eval_accuracy" in e and "eval_f1" in e for e in evals)
    assert 0.0 <= metric(out, "eval_accuracy") <= 1.0
    assert 0.0 <= metric(out, "eval_f1") <= 1.0
    saved = convo / "outputs" / "classifier"
    assert (saved / "config.json").is_file() and (saved / "model.safetensors").is_file()
    assert (saved / "tokenizer.json").is_file()


def test_unified_model_reports_eval_loss_per_epoch(convo, convo_runs):
    out = convo_runs["unified"]
    losses = [float(e["eval_loss"]) for e in trainer_evals(out)]
    assert len(losses) >= 6  # one per epoch, then the final evaluation
    assert losses[-1] < losses[0]
    assert metric(out, "eval_loss") == pytest.approx(losses[-1], abs=1e-3)
    for name in ("unified_model", "qna_specialist", "technical_specialist"):
        assert (convo / "outputs" / name / "model.safetensors").is_file()
    assert "specialist starts from" in convo_runs["qna"]


def test_route_choice_rules():
    inference = load_inference_module()
    choose = inference.choose_route
    confident = choose([0.9, 0.05, 0.05], "What is the capital of Peru?", 0.7)
    assert (confident.model, confident.category) == ("unified_model", "qna")
    unsure = choose([0.2, 0.5, 0.3], "How do I undo in Revit?", 0.7)
    assert unsure.model == "technical_specialist" and "low confidence" in unsure.reason
    # An unsure "general" verdict goes to the likelier of the two specialists.
    assert choose([0.35, 0.1, 0.55], "hmm", 0.7).model == "qna_specialist"
    expert = choose([0.05, 0.9, 0.05], "SketchUp expert mode: curved surfaces", 0.7)
    assert expert.model == "technical_specialist" and expert.reason == "expert mode requested"
    assert choose([0.9, 0.05, 0.05], "전문가 모드로 답해줘", 0.7).model == "qna_specialist"
    assert inference.strip_expert_request("SketchUp expert mode: extrude") == "SketchUp extrude"


def test_hybrid_routing_with_trained_models(convo, convo_runs):
    # Threshold 0: every classifier verdict is confident, so only expert mode reaches a specialist.
    out = ok(run(convo, "inference.py", "--threshold", "0", "Hello, how are you today?",
                 "expert mode: how do I draw a line in SketchUp?"))
    routes = re.findall(r"^  route: (\S+) \[\w+ [\d.]+; ([^\]]+)\]", out, re.MULTILINE)
    assert routes[0][0] == "unified_model"
    assert routes[1][0].endswith("_specialist") and routes[1][1] == "expert mode requested"
    assert re.search(rf"^specialists loaded: {routes[1][0]}$", out, re.MULTILINE)

    # Threshold 1: no verdict is confident enough, so a specialist answers.
    out = ok(run(convo, "inference.py", "--threshold", "1", "Hello, how are you today?"))
    route = re.search(r"^  route: (\S+) \[\w+ ([\d.]+); low confidence \(([\d.]+) < 1\.00\)\]",
                      out, re.MULTILINE)
    assert route and route.group(1).endswith("_specialist"), out
    assert "answer: " in out

    # Nothing to route without trained models: one sentence, exit 2.
    missing = run(convo, "inference.py", "--models-dir", str(convo / "nowhere"), "hi")
    assert "run train_classifier.py and train_unified.py first" in one_sentence_error(missing)


# ------------------------------------------------------------------ llm_config_mlflow (seed 002)

@pytest.fixture(scope="module")
def mlflow_target(tmp_path_factory) -> tuple[Path, str]:
    folder = copy_target("llm_config_mlflow", tmp_path_factory)
    return folder, ok(run(folder, "train.py"))


def test_mlflow_target_trains_and_logs_every_param(mlflow_target):
    folder, out = mlflow_target
    assert metric(out, "eval_loss") > 0
    assert (folder / "outputs" / "model" / "adapter_config.json").is_file()
    assert (folder / "outputs" / "model" / "adapter_model.safetensors").is_file()
    assert (folder / "mlruns.db").is_file()  # default store: relative to the working directory

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("llm-lab-mrc")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    params = runs[0].data.params
    assert params["lora.r"] == "8" and params["lora.alpha"] == "16"
    assert params["lora.target_modules"] == "c_attn,c_proj,c_fc"
    assert params["training.learning_rate"] == "0.003" and params["training.epochs"] == "3"
    assert params["quantization.load_in_4bit"] == "False"
    assert params["tokenizer.max_length"] == "96" and params["model.hidden_size"] == "64"
    assert int(params["model.trainable_params"]) < int(params["model.total_params"])
    history = client.get_metric_history(runs[0].info.run_id, "eval_loss")
    assert len(history) >= 3  # one per epoch
    assert runs[0].data.metrics["final_eval_loss"] == pytest.approx(metric(out, "eval_loss"), abs=1e-3)


def test_mlflow_target_follows_the_trial_protocol(mlflow_target, tmp_path):
    folder, _ = mlflow_target
    metrics_file = tmp_path / "metrics.jsonl"
    out = ok(run(folder, "train.py", "--epochs", "1", "--lora-r", "4",
                 env={"AFT_RUN_DIR": str(tmp_path), "AFT_METRICS": str(metrics_file)}))
    assert "base model: cached at" in out  # the first run's base is reused
    records = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    assert records and {"step", "epoch", "eval_loss"} <= set(records[0])
    assert records[-1]["eval_loss"] == pytest.approx(metric(out, "eval_loss"), abs=1e-3)
    assert (tmp_path / "model" / "adapter_config.json").is_file()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}")
    run_ = client.search_runs([client.get_experiment_by_name("llm-lab-mrc").experiment_id])[0]
    assert run_.data.params["lora.r"] == "4" and run_.data.params["training.epochs"] == "1"


@pytest.mark.parametrize("flag", ["--load-in-4bit", "--load-in-8bit"])
def test_quantization_flags_fail_with_one_sentence(flag, tmp_path):
    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes"):
        pytest.skip("this machine can load quantized models")
    result = run(TARGETS / "llm_config_mlflow", "train.py", flag,
                 "--mlflow-uri", f"sqlite:///{tmp_path / 'never.db'}")
    message = one_sentence_error(result)
    assert message.startswith(f"{flag} needs ") and message.endswith(
        "remove the flag to train in full precision.")
    assert not (tmp_path / "never.db").exists()


# ------------------------------------------------------------------ two_stage (seed 003)

@pytest.fixture(scope="module")
def two_stage(tmp_path_factory) -> tuple[Path, str]:
    folder = copy_target("two_stage", tmp_path_factory)
    return folder, ok(run(folder, "train.py"))


def test_two_stage_runs_both_stages_and_reports_rouge(two_stage):
    folder, out = two_stage
    assert re.search(r"domain terms kept whole: (\d+)/\1$", out, re.MULTILINE), out
    assert 0.0 <= metric(out, "rouge_l") <= 1.0
    assert 0.0 <= metric(out, "rouge_1") <= 1.0
    assert 0.0 <= metric(out, "difficulty_accuracy") <= 1.0
    assert metric(out, "m1_eval_loss") > 0 and metric(out, "m2_eval_loss") > 0
    assert (folder / "outputs" / "m1_domain_adapted" / "config.json").is_file()
    assert (folder / "outputs" / "m2_lora_adapter" / "adapter_config.json").is_file()

    digests = json.loads((folder / "outputs" / "digests.json").read_text(encoding="utf-8"))
    assert len(digests) == 3
    for digest in digests:
        assert set(digest) == {"summary", "keywords", "difficulty_level", "prerequisites",
                               "technical_terms", "processing_time"}
        assert 1 <= digest["difficulty_level"]["score"] <= 5
        assert digest["difficulty_level"]["label"] in {
            "beginner", "elementary", "intermediate", "advanced", "expert"}
        assert all(set(t) == {"term", "explanation"} for t in digest["technical_terms"])
        assert digest["processing_time"] >= 0


def test_two_stage_rejects_a_bad_config_in_one_sentence(tmp_path):
    bad = tmp_path / "config.yaml"
    text = (TARGETS / "two_stage" / "config.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("learning_rate: 1.0e-2", "learning_rate: fast"), encoding="utf-8")
    message = one_sentence_error(run(TARGETS / "two_stage", "train.py", "--config", str(bad)))
    assert message.startswith("training.m2.learning_rate in ") and "must be a number" in message
    missing = run(TARGETS / "two_stage", "train.py", "--config", str(tmp_path / "nope.yaml"))
    assert "does not exist" in one_sentence_error(missing)


def test_rouge_known_values():
    rouge = load_module(TARGETS / "two_stage" / "rouge.py", "two_stage_rouge_under_test")
    scores = rouge.rouge(["the cat sat on the mat"], ["the cat lay on the mat"])
    assert scores["rouge_1"] == pytest.approx(5 / 6)
    assert scores["rouge_l"] == pytest.approx(5 / 6)
    assert rouge.rouge(["a b c d"], ["d c b a"])["rouge_l"] == pytest.approx(0.25)
    assert rouge.rouge([""], ["words"])["rouge_1"] == 0.0


# ------------------------------------------------------------------ lora_sft (seed 004)

@pytest.fixture(scope="module")
def lora_sft(tmp_path_factory) -> tuple[Path, str]:
    folder = copy_target("lora_sft", tmp_path_factory)
    return folder, ok(run(folder, "train.py"))


def test_lora_sft_saves_adapter_and_merged_model(lora_sft):
    folder, out = lora_sft
    evals = trainer_evals(out)
    assert len(evals) >= 3
    assert metric(out, "eval_loss") == pytest.approx(float(evals[-1]["eval_loss"]), abs=1e-3)
    assert 0.0 <= metric(out, "exact_match") <= 1.0
    adapter, merged = folder / "outputs" / "adapter", folder / "outputs" / "merged"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (merged / "config.json").is_file() and (merged / "model.safetensors").is_file()
    assert not (merged / "adapter_config.json").exists()
    drift = float(re.search(rf"match the adapter model's within ({NUMBER})", out).group(1))
    assert drift < 1e-3

    data = json.loads((folder / "data" / "alpaca_train.json").read_text(encoding="utf-8"))
    assert data and set(data[0]) == {"instruction", "input", "output"}


def test_lora_sft_wandb_flag_without_wandb_fails_in_one_sentence():
    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed")
    message = one_sentence_error(run(TARGETS / "lora_sft", "train.py", "--wandb"))
    assert message.startswith("--wandb needs the wandb package")
