import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from common_tools import text_encoder
from common_tools.errors import UserError
from common_tools.text_encoder import cosine, encode

SENTENCES = ["a small red bird with a black crown",
             "this bird has a white belly, gray wings and a long orange beak.",
             "the tail is long and the head is yellow"]


def test_shape_dtype_and_unit_norm():
    v = encode(SENTENCES)
    assert v.shape == (3, 1024) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v.astype(np.float64), axis=1), 1.0, atol=1e-6)
    assert encode("a red crown").shape == (1, 1024)  # one string is one sentence, not its letters
    assert encode([]).shape == (0, 1024)


def test_same_sentence_same_bits_whatever_the_batch(monkeypatch):
    alone = encode([SENTENCES[1]])[0]
    np.testing.assert_array_equal(encode(SENTENCES)[1], alone)
    np.testing.assert_array_equal(encode("THIS bird has a white belly, gray wings and a long orange beak")[0], alone)
    monkeypatch.setattr(text_encoder, "_CHUNK", 2)  # chunk boundaries do not change any bit
    np.testing.assert_array_equal(encode(SENTENCES * 3)[[1, 4, 7]], np.stack([alone] * 3))
    assert not np.array_equal(encode("a white belly")[0], encode("a black belly")[0])


def test_stable_across_processes():
    # a fresh interpreter with another str-hash salt gives the very same bytes
    code = ("import hashlib, sys; from common_tools.text_encoder import encode; "
            "print(hashlib.sha256(encode(sys.argv[1:]).tobytes()).hexdigest())")
    digests = set()
    for salt in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=salt)
        out = subprocess.run([sys.executable, "-c", code, *SENTENCES], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        digests.add(out)
    assert digests == {hashlib.sha256(encode(SENTENCES).tobytes()).hexdigest()}


def test_projection_is_fixed_signs_independent_of_the_data():
    col = text_encoder._column(text_encoder.bucket("u:red"))
    assert set(np.unique(col)) == {-1, 1} and abs(int(col.sum())) < 200
    assert text_encoder.bucket("u:red") != text_encoder.bucket("u:blue")
    assert 0 <= text_encoder.bucket("b:red crown") < text_encoder.NUM_BUCKETS
    f = text_encoder.features("A red crown, a red tail")
    assert f["u:red"] == 2.0 and f["u:a"] == 2 * text_encoder.STOP_WEIGHT and f["b:red crown"] == 1.0


def test_shared_colours_and_parts_are_closer_than_unrelated():
    base, para, partial, swapped, other, foreign = encode([
        "a red crown and black wings",
        "this bird has a red crown and black wings.",
        "a red crown with gray wings",
        "a black crown and red wings",
        "a long orange beak and a white belly",
        "quantum chromodynamics lecture notes"])
    assert cosine(base, para) > 0.8
    assert cosine(base, para) > cosine(base, partial) > cosine(base, other) + 0.2
    assert cosine(base, swapped) < cosine(base, para)  # bigrams bind colours to parts
    assert cosine(base, swapped) > cosine(base, other) + 0.2
    assert abs(cosine(base, foreign)) < 0.15 and abs(cosine(other, foreign)) < 0.15  # nearly orthogonal


def test_bad_input_is_one_user_error():
    with pytest.raises(UserError, match="sentence 1 has no words"):
        encode(["a red crown", " ,.; "])
    with pytest.raises(UserError, match="sentence 0 is a int"):
        encode([3])


def test_cli_writes_the_vectors(tmp_path):
    out = tmp_path / "emb.npy"
    listing = tmp_path / "caps.txt"
    listing.write_text("a yellow belly\n\nblue wings\n")
    assert text_encoder.main(["--out", str(out), "--file", str(listing), SENTENCES[0]]) == 0
    np.testing.assert_array_equal(np.load(out), encode([SENTENCES[0], "a yellow belly", "blue wings"]))
    with pytest.raises(UserError, match=".npy"):
        text_encoder.main(["--out", str(tmp_path / "emb.txt"), "a red crown"])
    with pytest.raises(UserError, match="no sentences"):
        text_encoder.main(["--out", str(out)])
    with pytest.raises(UserError, match="cannot read --file"):
        text_encoder.main(["--out", str(out), "--file", str(tmp_path / "missing.txt")])
