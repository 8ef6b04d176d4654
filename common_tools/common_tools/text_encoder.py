"""A deterministic sentence encoder that needs no pretrained model: text -> float32 [N, 1024].

Text-to-image models are trained on one 1024-d vector per caption. The encoders that made the
published vectors (a Torch7 char-CNN-RNN, skip-thoughts) cannot run here, and a user with new
captions needs *some* encoder. This one is a bag of hashed word unigrams and bigrams through a fixed
random projection:

1. ``tokenize``: lower-case, split into words (runs of letters and digits, any script).
2. Features: every word (``u:red``) and every pair of neighbouring words (``b:red crown``). Words in
   :data:`STOPWORDS` ("a", "the", "bird", ...) and bigrams of two stop words weigh 1/4, the rest 1,
   so the colour and part words that tell captions apart dominate.
3. Each feature is hashed with CRC-32 into one of :data:`NUM_BUCKETS` (2**20) buckets; bucket ``b``
   owns column ``b`` of a fixed 2**20 x 1024 matrix of signs +-1, derived from SHAKE-128 of
   :data:`PROJECTION_SEED` and ``b`` (never materialised: columns are made when first needed).
4. The vector is the weighted sum of its features' columns, divided by its L2 norm.

Properties (all tested):

- The same sentence gives the same bits in every process and on every platform: no salted
  ``hash()``, no random generator whose stream may change between numpy releases, and the sums are
  of multiples of 1/4, exact in float64 in any order, before one correctly rounded division.
- Sentences that share words share features: "a red crown and black wings" is much closer (cosine)
  to "this bird has a red crown and black wings" than to "a long orange beak and a white belly";
  unrelated features are nearly orthogonal (cosine ~ N(0, 1/32)).
- Word order matters only through bigrams: "red crown, blue wings" and "blue crown, red wings" share
  all unigrams but differ in their bigrams.

It is not a language model: synonyms ("bill" / "beak") are unrelated features. A model trained on
vectors from this encoder accepts new sentences encoded by it; it cannot use vectors from another
encoder, nor this encoder with a model trained on another one's vectors.

Example::

    from common_tools import text_encoder
    vectors = text_encoder.encode(["a small red bird with a black crown"])   # (1, 1024) float32

    python -m common_tools.text_encoder --out emb.npy "a small red bird with a black crown"
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
import zlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from common_tools.errors import UserError

DIM = 1024                       # length of each sentence vector
NUM_BUCKETS = 2 ** 20            # hash buckets of the word and bigram features
PROJECTION_SEED = b"common_tools.text_encoder/v1"  # fixed: the same projection for every data set
STOP_WEIGHT = 0.25               # weight of a stop word, or of a bigram of two stop words
STOPWORDS = frozenset(
    "a an the this that these those it its is are was has have had with and of to in on at by "
    "for from as very which who bird birds".split())

_WORD = re.compile(r"[^\W_]+")
_CHUNK = 4096                    # sentences per matrix product


def tokenize(sentence: str) -> List[str]:
    """Lower-cased words of ``sentence``: ``"A red-crowned bird."`` -> ``["a", "red", "crowned", "bird"]``."""
    return _WORD.findall(sentence.lower())


def features(sentence: str) -> Dict[str, float]:
    """Weighted unigram (``u:word``) and bigram (``b:w1 w2``) features of ``sentence``."""
    words = tokenize(sentence)
    out: Dict[str, float] = {}
    for w in words:
        out["u:" + w] = out.get("u:" + w, 0.0) + (STOP_WEIGHT if w in STOPWORDS else 1.0)
    for w1, w2 in zip(words, words[1:]):
        key = f"b:{w1} {w2}"
        out[key] = out.get(key, 0.0) + (STOP_WEIGHT if w1 in STOPWORDS and w2 in STOPWORDS else 1.0)
    return out


def bucket(feature: str) -> int:
    """Hash bucket of one feature string (CRC-32 of its UTF-8 bytes, modulo :data:`NUM_BUCKETS`)."""
    return zlib.crc32(feature.encode("utf-8")) % NUM_BUCKETS


@functools.lru_cache(maxsize=16384)
def _column(b: int) -> np.ndarray:
    """Column ``b`` of the projection: DIM signs +-1 (int8) from SHAKE-128(seed, b)."""
    bits = np.unpackbits(np.frombuffer(
        hashlib.shake_128(PROJECTION_SEED + b.to_bytes(4, "little")).digest(DIM // 8), np.uint8))
    return (bits.astype(np.int8) * 2 - 1)


def _sentence_rows(sentences: Sequence[str]) -> Tuple[List[Dict[int, float]], List[int]]:
    rows, used = [], {}
    for n, s in enumerate(sentences):
        if not isinstance(s, str):
            raise UserError(f"sentence {n} is a {type(s).__name__}, expected a string")
        row: Dict[int, float] = {}
        for feat, weight in features(s).items():
            b = bucket(feat)
            row[b] = row.get(b, 0.0) + weight
            used[b] = None
        if not row:
            raise UserError(f"sentence {n} has no words: {s!r}")
        rows.append(row)
    return rows, list(used)


def encode(sentences: Union[str, Iterable[str]]) -> np.ndarray:
    """Encode sentences (a list, or one string) to L2-normalised float32 vectors of shape [N, 1024].

    Raises UserError for an item that is not a string or has no words.

        encode(["a red crown", "blue wings"]).shape   # (2, 1024)
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    sentences = list(sentences)
    out = np.zeros((len(sentences), DIM), np.float32)
    for start in range(0, len(sentences), _CHUNK):
        chunk = sentences[start:start + _CHUNK]
        rows, used = _sentence_rows(chunk)
        index = {b: j for j, b in enumerate(used)}
        weights = np.zeros((len(chunk), len(used)), np.float64)
        for i, row in enumerate(rows):
            for b, w in row.items():
                weights[i, index[b]] = w
        columns = np.stack([_column(b) for b in used]).astype(np.float64)  # (U, DIM)
        v = weights @ columns  # exact: sums of multiples of 1/4
        v /= np.sqrt((v * v).sum(axis=1, keepdims=True))
        out[start:start + len(chunk)] = v
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---- command line ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m common_tools.text_encoder",
        description="Encode sentences to 1024-d vectors (hashed words and bigrams, fixed random projection).",
        epilog='example: python -m common_tools.text_encoder --out emb.npy "a small red bird with a black crown"')
    parser.add_argument("sentences", nargs="*", help="sentences to encode")
    parser.add_argument("--file", help="a text file with one sentence per line (blank lines skipped)")
    parser.add_argument("--out", required=True, help=".npy file to write, float32 [N, 1024]")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from common_tools.errors import check_output_file

    args = build_parser().parse_args(argv)
    sentences = list(args.sentences)
    if args.file:
        try:
            with open(args.file, encoding="utf-8") as f:
                sentences += [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read --file {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
    if not sentences:
        raise UserError("no sentences given: pass them as arguments or with --file")
    if not args.out.endswith(".npy"):
        raise UserError(f"--out {args.out}: expected a file name ending in .npy")
    out = check_output_file(args.out, what="--out")
    vectors = encode(sentences)
    np.save(out, vectors)
    print(f"wrote {out}: {vectors.shape[0]} x {vectors.shape[1]} float32")
    return 0


if __name__ == "__main__":
    from common_tools.errors import run_cli

    run_cli(main)
