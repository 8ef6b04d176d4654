"""Loading G from a run without training code; the frozen graph's names; one-line load errors."""

import ast
import os

import numpy as np
import pytest

from common_tools import checkpoint, export, runs
from common_tools.errors import UserError
from stargan.config import StarGANConfig
from stargan.export import OUTPUT, freeze_generator, load_generator, serving_function
from stargan.networks import build_discriminator, build_generator
from stargan.step import TrainStep

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stargan")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, eager_mode):
    """A tiny run folder: config.json and checkpoints/model-1 after one real training iteration."""
    run_dir = str(tmp_path_factory.mktemp("run"))
    cfg = StarGANConfig.tiny()
    G, D = build_generator(cfg), build_discriminator(cfg)
    step = TrainStep(cfg, G, D)
    rng = np.random.RandomState(0)
    with eager_mode():
        step(rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32"), np.eye(5, dtype="float32")[:2], 1)
    runs.save_config(cfg, run_dir)
    checkpoint.CheckpointKeeper(os.path.join(run_dir, "checkpoints"), **step.variables()).save(1)
    return run_dir, cfg, G


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.RandomState(3)
    return rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32"), np.array([[0, 1, 0, 1, 1]], "float32")


def test_save_load_gives_identical_outputs(trained_run, inputs):
    run_dir, cfg, G = trained_run
    cfg2, G2, step = load_generator(os.path.join(run_dir, "checkpoints", "model-1"))
    assert cfg2 == cfg and step == 1
    np.testing.assert_array_equal(np.asarray(G(*inputs)), np.asarray(G2(*inputs)))
    # the bare name the seed's test_1p.sh passes, resolved against <output_dir>/checkpoints
    _, G3, _ = load_generator("model-1", output_dir=run_dir)
    np.testing.assert_array_equal(np.asarray(G(*inputs)), np.asarray(G3(*inputs)))


def _imports(module: str) -> set:
    """The stargan modules ``module`` imports (relative or absolute), read from its source."""
    tree = ast.parse(open(os.path.join(PACKAGE, module + ".py")).read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("stargan")):
            base = (node.module or "").replace("stargan.", "").replace("stargan", "")
            found |= {base} if base else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("stargan.")}
    return found


def test_inference_code_never_reaches_the_training_step():
    """Probe: stargan/export.py imported stargan.step (named_weights) to load G."""
    seen, todo = set(), ["export", "test", "offline", "evaluate"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += sorted(_imports(module))
    assert "networks" in seen and "config" in seen          # the walk does follow imports
    assert not {"step", "train", "losses"} & seen, seen


def test_missing_checkpoint_is_one_clear_error(trained_run):
    run_dir, _, _ = trained_run
    with pytest.raises(UserError, match="checkpoint not found: model-7"):
        load_generator("model-7", output_dir=run_dir)


def test_mismatched_checkpoint_is_one_clear_error(trained_run, tmp_path):
    """A checkpoint whose config.json says another width cannot be loaded: a UserError, not a trace."""
    run_dir, cfg, _ = trained_run
    os.makedirs(tmp_path / "checkpoints")
    for name in os.listdir(os.path.join(run_dir, "checkpoints")):
        with open(os.path.join(run_dir, "checkpoints", name), "rb") as f:
            (tmp_path / "checkpoints" / name).write_bytes(f.read())
    runs.save_config(cfg.replace(g_conv_dim=12), str(tmp_path))
    with pytest.raises(UserError, match="does not match"):
        load_generator(str(tmp_path / "checkpoints" / "model-1"))


def test_freeze_names_what_atc_needs(trained_run, inputs, tmp_path):
    run_dir, cfg, G = trained_run
    paths = freeze_generator(G, cfg, str(tmp_path / "stargan.pb"), str(tmp_path / "stargan.onnx"))
    graph_def = export.load_graph_def(paths["pb"])
    assert [(n, s) for n, s, _ in export.placeholders(graph_def)] == [("x_real", (1, 32, 32, 3)),
                                                                      ("c_trg", (1, 5))]
    assert "G/Tanh" in {n.name for n in graph_def.node}
    pb = export.FrozenGraph(paths["pb"], outputs=[OUTPUT]).run({"x_real": inputs[0], "c_trg": inputs[1]})[0]
    np.testing.assert_allclose(pb, np.asarray(G(*inputs)), atol=1e-5)


def test_serving_function_is_tanh_of_g(trained_run, inputs):
    _, cfg, G = trained_run
    np.testing.assert_allclose(serving_function(G, cfg)(*inputs).numpy(), np.asarray(G(*inputs)), atol=1e-6)
