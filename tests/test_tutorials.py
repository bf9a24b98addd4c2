"""Every tutorial runs end to end in its fast mode and produces sensible numbers."""
import importlib
import pathlib

import pytest


def test_t1_logistic_regression():
    accuracy = importlib.import_module("tutorials.t1_logistic_regression").main(fast=True)
    assert accuracy > 0.85


def test_t2_mlp():
    by_hand, with_layers = importlib.import_module("tutorials.t2_mlp").main(fast=True)
    assert by_hand > 0.8 and with_layers > 0.8


def test_t3_vgg_convnet():
    assert importlib.import_module("tutorials.t3_vgg_convnet").main(fast=True) > 0.5


def test_t4_denoising_autoencoder(tmp_path):
    loss1, loss2, path = importlib.import_module("tutorials.t4_denoising_autoencoder").main(fast=True, out=str(tmp_path))
    assert 0 < loss1 < 1 and 0 < loss2 < 1
    assert pathlib.Path(path).read_bytes()[:4] == b"\x89PNG"


def test_t5_transfer_learning():
    transfer, scratch = importlib.import_module("tutorials.t5_transfer_learning").main(fast=True)
    assert transfer > 0.4 and 0 <= scratch <= 1


def test_t6_half_precision():
    results = importlib.import_module("tutorials.t6_half_precision").main(fast=True)
    assert results["float16"][1] * 2 == results["float32"][1]
    assert results["float16"][0] > 0.8 and results["float32"][0] > 0.8


def test_t7_sequences():
    scan_acc, lstm_acc, text_acc = importlib.import_module("tutorials.t7_sequences").main(fast=True)
    assert scan_acc > 0.6 and lstm_acc > 0.4 and text_acc > 0.6


def test_t8_keras_your_way():
    digit, even, transfer = importlib.import_module("tutorials.t8_keras_your_way").main(fast=True)
    assert digit > 0.5 and even > 0.6 and transfer > 0.7


def test_t9_tensorflow1(tmp_path):
    accuracy, restored, picture = importlib.import_module("tutorials.t9_tensorflow1").main(fast=True, out=str(tmp_path))
    assert accuracy > 0.7 and restored == accuracy
    assert pathlib.Path(picture).read_bytes()[:4] == b"\x89PNG"


def test_t10_caffe(tmp_path):
    accuracy, deployed, svm, picture = importlib.import_module("tutorials.t10_caffe").main(fast=True, out=str(tmp_path))
    assert accuracy > 0.85 and deployed == pytest.approx(accuracy, abs=1e-6) and svm > 0.85
    assert pathlib.Path(picture).read_bytes()[:4] == b"\x89PNG"
