import os

import symgraph.demo


def test_demo_trains_and_writes_both_pictures(tmp_path, capsys):
    accuracy = symgraph.demo.main(["--epochs", "8", "--out", str(tmp_path)])
    assert accuracy > 0.9
    out = capsys.readouterr().out
    assert "test accuracy" in out and "per epoch" in out
    for name in ("graph.png", "training.png"):
        data = open(os.path.join(tmp_path, name), "rb").read()
        assert data[:4] == b"\x89PNG" and len(data) > 5000
