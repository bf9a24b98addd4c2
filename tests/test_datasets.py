import gzip
import struct

import numpy as np
import pytest

import symgraph as sg


def test_load_digits_offline_split_and_scaling():
    (xtr, ytr), (xte, yte) = sg.datasets.load_digits()
    assert xtr.shape[1:] == (1, 8, 8) and xte.shape[1:] == (1, 8, 8)
    assert len(xtr) + len(xte) == 1797 and len(xte) == 360
    assert xtr.dtype == sg.config.floatX and ytr.dtype == np.int32
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0
    assert set(np.unique(yte)) == set(range(10))


def _write_idx(path, array, compress):
    codes = {np.dtype("uint8"): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    payload = header + array.tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(payload)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_reads_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    train = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", train, compress)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.arange(5, dtype=np.uint8), compress)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", test, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.arange(3, dtype=np.uint8), compress)
    (xtr, ytr), (xte, yte) = sg.datasets.load_mnist(str(tmp_path))
    assert xtr.shape == (5, 1, 28, 28) and xte.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(xtr[:, 0] * 255, train, atol=1e-3)
    assert ytr.tolist() == [0, 1, 2, 3, 4] and ytr.dtype == np.int32


def test_truncated_idx_is_refused(tmp_path):
    _write_idx(tmp_path / "bad", np.zeros((4, 2, 2), np.uint8), False)
    data = (tmp_path / "bad").read_bytes()
    (tmp_path / "bad").write_bytes(data[:-3])
    with pytest.raises(ValueError, match="promises"):
        sg.datasets.read_idx(str(tmp_path / "bad"))
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="magic"):
        sg.datasets.read_idx(str(tmp_path / "junk"))
