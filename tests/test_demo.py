import os
import pathlib

import symgraph.demo


def test_demo_trains_the_convnet_and_writes_the_pictures(tmp_path, capsys):
    accuracy = symgraph.demo.main(["--epochs", "6", "--out", str(tmp_path), "--verbose", "0"])
    assert accuracy > 0.9
    out = capsys.readouterr().out
    assert "test accuracy" in out and "per epoch" in out and "faster with numba" in out
    for name in ("graph.png", "training.png", "model.png"):
        data = pathlib.Path(os.path.join(tmp_path, name)).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 5000, name
    assert pathlib.Path(os.path.join(tmp_path, "graph-full.svg")).read_text().count("Conv2D") >= 2
