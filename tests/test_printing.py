"""debugprint text, and pictures rendered through graphviz's real `dot`."""
import io
import pathlib
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symgraph as sg

needs_dot = pytest.mark.skipif(shutil.which("dot") is None and not __import__("os").environ.get("CI"),
                               reason="graphviz's dot is not installed (CI installs it)")


def _training_function():
    x, y = sg.matrix("x"), sg.ivector("y")
    params, h = [], x
    for k, (i, o) in enumerate([(4, 3), (3, 2)]):
        with sg.name_scope(f"dense{k}"):
            W = sg.shared(np.zeros((i, o), "float32"), "W")
            b = sg.shared(np.zeros(o, "float32"), "b")
            h = sg.tanh(sg.dot(h, W) + b)
        params += [W, b]
    cost = -(h - sg.logsumexp(h, axis=1, keepdims=True))[sg.arange(y.shape[0]), y].mean()
    cost.name = "cost"
    grads = sg.grad(cost, params)
    return sg.function([x, y], cost, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)],
                       backend="numpy"), cost


def test_debugprint_text_forms(capsys):
    x = sg.vector("x")
    y = sg.exp(x) * 2
    y.name = "y"
    text = sg.debugprint(y, file="str")
    lines = text.splitlines()
    assert lines[0].startswith("Elemwise{mul} [id A] 'y'")
    assert " |Elemwise{exp} [id B]" in lines[1] and "x [id C] <float32[?]>" in lines[2]
    sg.debugprint(y)
    assert capsys.readouterr().out == text
    buffer = io.StringIO()
    sg.debugprint(y, file=buffer)
    assert buffer.getvalue() == text


def test_debugprint_of_a_function_shows_updates_and_shared_values():
    f, _ = _training_function()
    text = sg.debugprint(f, file="str")
    # (the output's node, named; h - logsumexp(h) picked is one CrossentropySoftmax node)
    assert text.startswith("Mean{axis=(0,)} [id A] 'cost'") and "CrossentropySoftmax" in text
    assert "update W <- " in text and "shared W" in text
    assert "(see above)" in text  # shared subgraphs are printed once


def test_to_dot_marks_inputs_shared_outputs_updates_and_clusters():
    f, cost = _training_function()
    source = sg.to_dot(f).source
    assert "cluster_dense0" in source and "cluster_dense1" in source
    assert "shape=cylinder" in source and "shape=ellipse" in source and "doubleoctagon" in source
    assert source.count("label=update") == 4 and "style=dashed" in source
    assert "float32[4,3]" in source and "int32[?]" in source
    assert "output 0: cost" in source
    unoptimized = sg.to_dot(f, optimized=False).source
    assert "cluster_dense0" in unoptimized
    collapsed = sg.to_dot(f, collapse_scopes=True).source
    assert "dense0\n(collapsed)" in collapsed and "label=Dot" not in collapsed
    assert "label=Dot" in source
    shallow = sg.to_dot(cost, max_depth=2).source
    assert shallow.count("label=\"…\"") + shallow.count("label=…") >= 1


@needs_dot
def test_render_png_svg_pdf_and_dot(tmp_path):
    f, cost = _training_function()
    png = sg.render(f, tmp_path / "train.png")
    data = pathlib.Path(png).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    svg = sg.render(f, tmp_path / "train.svg")
    root = ET.parse(svg).getroot()
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for expected in ["x", "float32[?,?]", "W", "Gemm", "Composite{", "Elemwise{tanh", "update", "output 0: cost", "dense0"]:
        assert expected in texts, expected
    plain = ET.parse(sg.render(f, tmp_path / "plain.svg", optimized=False)).getroot()
    plain_texts = " ".join(t.text or "" for t in plain.iter("{http://www.w3.org/2000/svg}text"))
    assert "Elemwise{tanh}" in plain_texts and "Dot" in plain_texts and "Composite" not in plain_texts
    assert pathlib.Path(sg.render(cost, tmp_path / "cost.pdf")).read_bytes()[:5] == b"%PDF-"
    dot_text = pathlib.Path(sg.render(cost, tmp_path / "cost.dot")).read_text()
    assert dot_text.startswith("digraph") and "Elemwise{neg}" in dot_text


@needs_dot
def test_theanos_pydotprint_writes_or_returns_the_picture(tmp_path, monkeypatch, capsys):
    f, _ = _training_function()
    monkeypatch.chdir(tmp_path)
    path = sg.printing.pydotprint(f, compact=True, with_ids=False)  # (Theano's styling options accepted)
    assert path == "symgraph.pydotprint.png" and (tmp_path / path).read_bytes()[:4] == b"\x89PNG"
    assert "The output file is available at symgraph.pydotprint.png" in capsys.readouterr().out
    svg = sg.printing.pydotprint(f, outfile=str(tmp_path / "f.svg"), print_output_file=False)
    assert "Gemm" in pathlib.Path(svg).read_text() and capsys.readouterr().out == ""
    assert sg.printing.pydotprint(f, format="pdf", return_image=True)[:5] == b"%PDF-"


def test_missing_dot_gives_install_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    x = sg.vector("x")
    with pytest.raises(sg.GraphvizNotInstalled, match="apt-get install graphviz"):
        sg.render(x * 2, tmp_path / "g.png")
    with pytest.raises(sg.GraphvizNotInstalled, match="apt-get install graphviz"):
        sg.printing.pydotprint(x * 2, return_image=True)
