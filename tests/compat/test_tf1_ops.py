"""TensorFlow 1's control flow (tf.cond, tf.case, tf.while_loop, tf.map_fn, tf.scan, folds), its
gathers, scatters and segment sums, matrix and random functions, tf.nn's 1-d, depthwise,
separable and dilated convolutions, LRN, tf.image and tf.app / tf.logging, each against NumPy
written from TensorFlow's definitions, gradients against central differences in float64."""
import importlib
import logging

import numpy as np
import pytest

import symgraph.compat.v1 as tf


@pytest.fixture(autouse=True)
def seeded_graph():
    tf.set_random_seed(0)  # (conftest.py's new graph, then this seed)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed or {})


def _numeric_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


def test_cond_takes_one_branch_and_its_gradient():
    x = tf.placeholder(tf.float64, [3], name="x")
    big = tf.placeholder(tf.bool, [], name="big")
    y = tf.cond(big, lambda: tf.reduce_sum(x ** 3), lambda: tf.reduce_sum(tf.sin(x)))
    g = tf.gradients(y, x)[0]
    xv = np.array([0.5, -1.0, 2.0])
    for flag, value, grad in ((True, (xv ** 3).sum(), 3 * xv ** 2), (False, np.sin(xv).sum(), np.cos(xv))):
        out, gout = _run([y, g], {x: xv, big: flag})
        np.testing.assert_allclose(out, value)
        np.testing.assert_allclose(gout, grad, rtol=1e-12)
    # Structures, a Python predicate, a predicate from a comparison, and the errors.
    pair = tf.cond(tf.less(tf.reduce_sum(x), 0.0), lambda: (x, x * 2), lambda: (x * 3, x * 4))
    np.testing.assert_allclose(_run(pair, {x: xv}), (xv * 3, xv * 4))
    assert tf.cond(True, lambda: "left", lambda: "right") == "left"
    with pytest.raises(ValueError, match="same structure"):
        tf.cond(big, lambda: (x, x), lambda: x)
    with pytest.raises(TypeError, match="one dtype"):
        tf.cond(big, lambda: x, lambda: tf.cast(x, tf.float32))


def test_cond_of_assigns_applies_the_chosen_branch_and_case_picks_the_first_true():
    v = tf.Variable(0.0, name="v")
    flag = tf.placeholder(tf.bool, [])
    step = tf.cond(flag, lambda: tf.assign_add(v, 1.0), lambda: tf.assign_sub(v, 10.0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step, {flag: True})
        sess.run(step, {flag: True})
        sess.run(step, {flag: False})
        assert v.get_value() == -8.0
    n = tf.placeholder(tf.int32, [])
    picked = tf.case([(tf.less(n, 0), lambda: tf.constant(-1)), (tf.equal(n, 0), lambda: tf.constant(0))],
                     default=lambda: tf.constant(1))
    with tf.Session() as sess:
        assert [sess.run(picked, {n: k}) for k in (-5, 0, 7)] == [-1, 0, 1]
    by_dict = tf.case({tf.greater(n, 2): lambda: tf.constant(10)}, default=lambda: tf.constant(20))
    assert _run(by_dict, {n: 3}) == 10


def test_while_loop_runs_until_its_condition_fails_and_differentiates():
    n = tf.placeholder(tf.int32, [], name="n")
    i, total = tf.while_loop(lambda i, s: tf.less(i, n), lambda i, s: (i + 1, s + i), [tf.constant(0), tf.constant(0)])
    with tf.Session() as sess:
        assert [tuple(sess.run([i, total], {n: k})) for k in (5, 0, 1)] == [(5, 10), (0, 0), (1, 0)]
    # x ** 5 by repeated products, and its derivative through the loop.
    x = tf.placeholder(tf.float64, [2], name="x")
    _, power = tf.while_loop(lambda k, p: k < 5, lambda k, p: (k + 1, p * x), (tf.constant(0), tf.ones_like(x)))
    grad = tf.gradients(tf.reduce_sum(power), x)[0]
    xv = np.array([1.5, -0.7])
    out, gout = _run([power, grad], {x: xv})
    np.testing.assert_allclose(out, xv ** 5)
    np.testing.assert_allclose(gout, 5 * xv ** 4, rtol=1e-12)
    # maximum_iterations bounds it; one loop variable comes back alone; the body's rank is kept.
    bounded = tf.while_loop(lambda k: k < 100, lambda k: k + 1, [tf.constant(0)], maximum_iterations=7)
    assert _run(bounded) == 7
    halving = tf.while_loop(lambda v: tf.reduce_max(v) > 1.0, lambda v: v / 2, [tf.constant([40.0, 3.0])])
    np.testing.assert_allclose(_run(halving), [0.625, 3 / 64])
    with pytest.raises(ValueError, match="changed a loop variable's rank"):
        tf.while_loop(lambda v: tf.reduce_sum(v) > 0, lambda v: tf.reduce_sum(v), [tf.constant([1.0])])


def test_map_fn_scan_and_folds_against_numpy():
    x = tf.placeholder(tf.float64, [None, 3])
    xv = np.arange(12.0).reshape(4, 3) - 5
    rows = tf.map_fn(lambda row: tf.reduce_sum(row ** 2), x)
    pairs = tf.map_fn(lambda ab: ab[0] * ab[1], (x, x + 1))
    cumulative = tf.scan(lambda acc, row: acc + row, x)
    products = tf.scan(lambda acc, row: acc * row[0], x, initializer=tf.constant(1.0, tf.float64))
    backwards = tf.scan(lambda acc, row: acc + row, x, reverse=True)
    left = tf.foldl(lambda acc, row: acc - row, x, initializer=tf.zeros([3], tf.float64))
    right = tf.foldr(lambda acc, row: acc * 2 + row, x)
    out = _run([rows, pairs, cumulative, products, backwards, left, right], {x: xv})
    np.testing.assert_allclose(out[0], (xv ** 2).sum(1))
    np.testing.assert_allclose(out[1], xv * (xv + 1))
    np.testing.assert_allclose(out[2], np.cumsum(xv, 0))
    np.testing.assert_allclose(out[3], np.cumprod(xv[:, 0]))
    np.testing.assert_allclose(out[4], np.cumsum(xv[::-1], 0)[::-1])
    np.testing.assert_allclose(out[5], -xv.sum(0))
    expected = xv[-1]
    for row in xv[-2::-1]:
        expected = expected * 2 + row
    np.testing.assert_allclose(out[6], expected)
    grad = tf.gradients(tf.reduce_sum(rows), x)[0]
    np.testing.assert_allclose(_run(grad, {x: xv}), 2 * xv)


def test_gathers_scatters_and_segments_against_numpy(rng):
    params = rng.normal(size=(4, 3, 2))
    indices = np.array([[[0, 1], [3, 2]], [[1, 0], [0, 1]]])
    p = tf.placeholder(tf.float64, [None, None, 2])
    gathered = tf.gather_nd(p, indices)
    single = tf.gather_nd(p, np.array([2, 1, 0]))
    rows = tf.gather_nd(p, np.array([[1], [3]]))
    updates = rng.normal(size=(3, 2))
    spots = np.array([[0, 1], [2, 2], [0, 1]])  # (a repeated spot: both added)
    scattered = tf.scatter_nd(spots, updates, [3, 3, 2])
    data = rng.normal(size=(6, 2))
    ids = np.array([0, 0, 1, 3, 3, 3])
    sums, means = tf.segment_sum(data, ids), tf.segment_mean(data, ids)
    unsorted = tf.unsorted_segment_sum(data, np.array([2, 0, 2, -1, 1, 0]), 4)
    out = _run([gathered, single, rows, scattered, sums, means, unsorted], {p: params})
    np.testing.assert_allclose(out[0], params[indices[..., 0], indices[..., 1]])
    np.testing.assert_allclose(out[1], params[2, 1, 0])
    np.testing.assert_allclose(out[2], params[[1, 3]])
    expected = np.zeros((3, 3, 2))
    np.add.at(expected, (spots[:, 0], spots[:, 1]), updates)
    np.testing.assert_allclose(out[3], expected)
    np.testing.assert_allclose(out[4], [data[:2].sum(0), data[2], [0, 0], data[3:].sum(0)])
    np.testing.assert_allclose(out[5], [data[:2].mean(0), data[2], [0, 0], data[3:].mean(0)])
    np.testing.assert_allclose(out[6], [data[1] + data[5], data[4], data[0] + data[2], [0, 0]])  # (-1 dropped)
    # The gather's gradient: the picked entries' seeds added back in place.
    grad = tf.gradients(tf.reduce_sum(gathered * np.arange(8.0).reshape(2, 2, 2)), p)[0]
    numeric = _numeric_gradient(lambda v: (v[indices[..., 0], indices[..., 1]] * np.arange(8.0).reshape(2, 2, 2)).sum(),
                                params)
    np.testing.assert_allclose(_run(grad, {p: params}), numeric, atol=1e-8)


def test_masks_bands_and_matrix_functions_against_numpy(rng):
    lengths = np.array([1, 3, 0])
    masks = _run([tf.sequence_mask(lengths), tf.sequence_mask(lengths, 5, dtype=tf.float32)])
    np.testing.assert_array_equal(masks[0], np.arange(3) < lengths[:, None])
    np.testing.assert_array_equal(masks[1], (np.arange(5) < lengths[:, None]).astype("float32"))
    m = rng.normal(size=(2, 4, 5))
    band = _run([tf.matrix_band_part(m, 1, 2), tf.matrix_band_part(m, -1, 0), tf.matrix_band_part(m, 0, -1)])
    i, j = np.indices((4, 5))
    np.testing.assert_allclose(band[0], np.where((i - j <= 1) & (j - i <= 2), m, 0))
    np.testing.assert_allclose(band[1], np.tril(m))
    np.testing.assert_allclose(band[2], np.triu(m))
    square = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    out = _run([tf.diag(np.array([1.0, 2.0])), tf.diag_part(square), tf.trace(square), tf.matrix_inverse(square),
                tf.matrix_determinant(square), tf.matrix_transpose(m),
                tf.is_nan(np.array([1.0, np.nan])), tf.is_finite(np.array([np.inf, 0.0]))])
    np.testing.assert_allclose(out[0], np.diag([1.0, 2.0]))
    np.testing.assert_allclose(out[1], np.diag(square))
    np.testing.assert_allclose(out[2], np.trace(square))
    np.testing.assert_allclose(out[3], np.linalg.inv(square), rtol=1e-10)
    np.testing.assert_allclose(out[4], np.linalg.det(square), rtol=1e-10)
    np.testing.assert_allclose(out[5], m.transpose(0, 2, 1))
    assert out[6].tolist() == [False, True] and out[7].tolist() == [False, True]


def test_random_shuffle_multinomial_and_random_crop():
    values = np.arange(20.0).reshape(10, 2)
    shuffled = tf.random_shuffle(values, seed=3)
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]], "float32"))
    draws = tf.multinomial(logits, 4000, seed=1)
    image = np.arange(60.0).reshape(6, 10)
    crop = tf.random_crop(image, [3, 4], seed=2)
    with tf.Session() as sess:
        first, second = sess.run(shuffled), sess.run(shuffled)
        counts = sess.run(draws)
        crops = [sess.run(crop) for _ in range(5)]
    assert sorted(first[:, 0].tolist()) == values[:, 0].tolist() and (first[:, 1] == first[:, 0] + 1).all()
    assert not np.array_equal(first, second)  # (a new order each run)
    assert counts.shape == (2, 4000) and counts.dtype == np.int64
    for row, p in zip(counts, np.exp(logits)):
        np.testing.assert_allclose(np.bincount(row, minlength=3) / 4000, p, atol=0.03)
    for window in crops:  # (each a real window of the image)
        top, left = int(window[0, 0]) // 10, int(window[0, 0]) % 10
        np.testing.assert_array_equal(window, image[top:top + 3, left:left + 4])
    assert len({float(w[0, 0]) for w in crops}) > 1


def _conv_reference(x, w, stride=1, dilation=1):
    """VALID NHWC convolution, filters (kh, kw, in, out)."""
    kh, kw = w.shape[:2]
    span_h, span_w = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    oh, ow = (x.shape[1] - span_h) // stride + 1, (x.shape[2] - span_w) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + span_h:dilation, j * stride:j * stride + span_w:dilation]
            out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def test_conv1d_depthwise_separable_and_atrous_convolutions_against_numpy(rng):
    seq, k1 = rng.normal(size=(2, 9, 3)), rng.normal(size=(3, 3, 4))
    images, depthwise = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 2, 3, 2))
    pointwise, dense = rng.normal(size=(1, 1, 6, 4)), rng.normal(size=(3, 3, 3, 2))
    out = _run([tf.nn.conv1d(seq, k1, 2, "VALID"), tf.nn.conv1d(np.swapaxes(seq, 1, 2), k1, 1, "VALID",
                                                                 data_format="NCW"),
                tf.nn.depthwise_conv2d(images, depthwise, [1, 1, 1, 1], "VALID"),
                tf.nn.separable_conv2d(images, depthwise, pointwise, [1, 1, 1, 1], "VALID"),
                tf.nn.atrous_conv2d(images, dense, 2, "VALID")])
    np.testing.assert_allclose(out[0], _conv_reference(seq[:, None], k1[None], stride=2)[:, 0], rtol=1e-10)
    np.testing.assert_allclose(out[1], np.swapaxes(_conv_reference(seq[:, None], k1[None])[:, 0], 1, 2), rtol=1e-10)
    expected = np.concatenate([_conv_reference(images[..., k:k + 1], depthwise[:, :, k:k + 1, :]) for k in range(3)],
                              axis=-1)  # (channel k * multiplier + m from input channel k)
    np.testing.assert_allclose(out[2], expected, rtol=1e-10)
    np.testing.assert_allclose(out[3], np.einsum("nhwc,co->nhwo", expected, pointwise[0, 0]), rtol=1e-10)
    np.testing.assert_allclose(out[4], _conv_reference(images, dense, dilation=2), rtol=1e-10)


def test_lrn_and_weighted_cross_entropy_follow_tensorflows_formulas(rng):
    x = rng.normal(size=(2, 3, 3, 7))
    radius, bias, alpha, beta = 2, 1.5, 0.3, 0.75
    squares = np.pad(x ** 2, [(0, 0)] * 3 + [(radius, radius)])
    window = sum(squares[..., k:k + 7] for k in range(2 * radius + 1))
    labels, logits = (rng.random((4, 3)) > 0.5).astype(float), rng.normal(size=(4, 3)) * 3
    sigmoid = 1 / (1 + np.exp(-logits))
    expected_loss = -(3.0 * labels * np.log(sigmoid) + (1 - labels) * np.log(1 - sigmoid))
    out = _run([tf.nn.lrn(x, radius, bias, alpha, beta),
                tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=3.0)])
    np.testing.assert_allclose(out[0], x / (bias + alpha * window) ** beta, rtol=1e-10)
    np.testing.assert_allclose(out[1], expected_loss, rtol=1e-8)
    p = tf.placeholder(tf.float64, x.shape)
    grad = tf.gradients(tf.reduce_sum(tf.nn.lrn(p, radius, bias, alpha, beta) * x), p)[0]
    numeric = _numeric_gradient(lambda v: (v / (bias + alpha * sum(np.pad(v ** 2, [(0, 0)] * 3 + [(2, 2)])[..., k:k + 7]
                                                                 for k in range(5))) ** beta * x).sum(), x)
    np.testing.assert_allclose(_run(grad, {p: x}), numeric, rtol=1e-6, atol=1e-8)


def test_layers_conv1d_pooling1d_and_separable_conv2d():
    seq = tf.placeholder(tf.float32, [None, 10, 3])
    conv = tf.layers.conv1d(seq, 4, 3, padding="same", activation=tf.nn.relu)
    pooled, averaged = tf.layers.max_pooling1d(conv, 2, 2), tf.layers.average_pooling1d(conv, 2, 2)
    images = tf.placeholder(tf.float32, [None, 6, 6, 3])
    separable = tf.layers.separable_conv2d(images, 5, 3, depth_multiplier=2)
    assert [v.name for v in tf.trainable_variables()] == [
        "conv1d/kernel:0", "conv1d/bias:0", "separable_conv2d/depthwise_kernel:0",
        "separable_conv2d/pointwise_kernel:0", "separable_conv2d/bias:0"]
    assert conv.name == "conv1d/Relu:0" and conv.op.name == "conv1d/Relu"  # (cifar10's summaries' names)
    sparsity = tf.nn.zero_fraction(conv)
    sv = np.random.default_rng(0).normal(size=(2, 10, 3)).astype("float32")
    c, p, a, s, z = _run([conv, pooled, averaged, separable, sparsity],
                         {seq: sv, images: np.ones((1, 6, 6, 3), "float32")})
    assert z == pytest.approx((c == 0).mean())
    assert c.shape == (2, 10, 4) and s.shape == (1, 4, 4, 5)
    first = tf.layers.max_pooling1d(np.swapaxes(c, 1, 2), 2, 2, data_format="channels_first")
    np.testing.assert_allclose(_run(first), np.swapaxes(p, 1, 2))
    np.testing.assert_allclose(p, c.reshape(2, 5, 2, 4).max(2))
    np.testing.assert_allclose(a, c.reshape(2, 5, 2, 4).mean(2), rtol=1e-6)


def _bilinear_reference(image, out_h, out_w):
    """TensorFlow 1's resize_bilinear (corners not aligned, no half-pixel centres)."""
    in_h, in_w = image.shape[:2]
    out = np.zeros((out_h, out_w) + image.shape[2:])
    for y in range(out_h):
        for x in range(out_w):
            sy, sx = y * in_h / out_h, x * in_w / out_w
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            y1, x1 = min(y0 + 1, in_h - 1), min(x0 + 1, in_w - 1)
            dy, dx = sy - y0, sx - x0
            top = image[y0, x0] * (1 - dx) + image[y0, x1] * dx
            bottom = image[y1, x0] * (1 - dx) + image[y1, x1] * dx
            out[y, x] = top * (1 - dy) + bottom * dy
    return out


def test_tf_image_against_numpy(rng):
    image = rng.random((5, 4, 3)).astype("float32")
    batch = rng.random((2, 5, 4, 3)).astype("float32")
    out = _run([tf.image.resize_images(image, [7, 3]), tf.image.resize_nearest_neighbor(batch, [10, 8]),
                tf.image.resize_bilinear(batch, [4, 9], align_corners=True), tf.image.flip_left_right(image),
                tf.image.flip_up_down(batch), tf.image.per_image_standardization(batch),
                tf.image.crop_to_bounding_box(image, 1, 1, 3, 2), tf.image.pad_to_bounding_box(image, 1, 2, 8, 7),
                tf.image.resize_image_with_crop_or_pad(image, 3, 6), tf.image.central_crop(image, 0.5),
                tf.image.rgb_to_grayscale(image), tf.image.convert_image_dtype(np.array([0, 255], "uint8"), tf.float32),
                tf.image.convert_image_dtype(np.array([0.0, 0.5, 1.0], "float32"), tf.uint8),
                tf.image.adjust_contrast(batch, 2.0)])
    np.testing.assert_allclose(out[0], _bilinear_reference(image, 7, 3), rtol=1e-5)
    np.testing.assert_array_equal(out[1], batch[:, (np.arange(10) * 5 // 10)][:, :, (np.arange(8) * 4 // 8)])
    ys, xs = np.arange(4) * 4 / 3, np.arange(9) * 3 / 8  # (aligned corners: the first and last pixels kept)
    np.testing.assert_allclose(out[2][:, [0, -1]][:, :, [0, -1]], batch[:, [0, -1]][:, :, [0, -1]], rtol=1e-6)
    assert out[2].shape == (2, 4, 9, 3) and len(ys) == 4 and len(xs) == 9
    np.testing.assert_array_equal(out[3], image[:, ::-1])
    np.testing.assert_array_equal(out[4], batch[:, ::-1])
    mean, std = batch.mean(axis=(1, 2, 3), keepdims=True), batch.std(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out[5], (batch - mean) / np.maximum(std, 1 / np.sqrt(60)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[6], image[1:4, 1:3])
    padded = np.zeros((8, 7, 3), "float32")
    padded[1:6, 2:6] = image
    np.testing.assert_array_equal(out[7], padded)
    expected = np.zeros((3, 6, 3), "float32")
    expected[:, 1:5] = image[1:4]
    np.testing.assert_array_equal(out[8], expected)
    np.testing.assert_array_equal(out[9], image[1:4, 1:3])
    np.testing.assert_allclose(out[10][..., 0], image @ np.array([0.2989, 0.5870, 0.1140], "float32"), rtol=1e-6)
    np.testing.assert_allclose(out[11], [0.0, 1.0])
    assert out[12].tolist() == [0, 127, 255]
    channel_mean = batch.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out[13], (batch - channel_mean) * 2 + channel_mean, rtol=1e-5, atol=1e-6)
    # Images of a size known only when run: the positions computed in the graph, the same values.
    unknown = tf.placeholder(tf.float32, [None, None, None, 3])
    dynamic = _run([tf.image.resize_images(unknown, [7, 3]), tf.image.resize_nearest_neighbor(unknown, [10, 8]),
                    tf.image.resize_bilinear(unknown, [4, 9], align_corners=True),
                    tf.image.resize_nearest_neighbor(unknown, [4, 9], align_corners=True)], {unknown: batch})
    np.testing.assert_allclose(dynamic[0], np.stack([_bilinear_reference(b, 7, 3) for b in batch]), rtol=1e-5)
    np.testing.assert_array_equal(dynamic[1], out[1])
    np.testing.assert_allclose(dynamic[2], out[2], rtol=1e-6)
    rows, cols = np.floor(np.arange(4) * 4 / 3 + 0.5).astype(int), np.floor(np.arange(9) * 3 / 8 + 0.5).astype(int)
    aligned = batch[:, rows][:, :, cols]  # (aligned corners: the nearest position, rounded)
    np.testing.assert_array_equal(dynamic[3], aligned)
    np.testing.assert_array_equal(_run(tf.image.resize_nearest_neighbor(batch, [4, 9], align_corners=True)), aligned)
    flips = tf.image.random_flip_left_right(np.tile(image, (40, 1, 1, 1)), seed=4)
    got = _run(flips)
    flipped = [np.array_equal(g, image[:, ::-1]) for g in got]
    assert all(f or np.array_equal(g, image) for f, g in zip(flipped, got)) and 5 < sum(flipped) < 35


def test_app_flags_run_main_and_logging(caplog):
    app_module = importlib.import_module("symgraph.compat.v1.app")  # (tf.app is its namespace)
    flags = tf.app.flags
    values = app_module._FlagValues()
    flags.DEFINE_integer("batch_size", 100, "Batch size.", flag_values=values)
    flags.DEFINE_string("data_dir", "/tmp/data", "Where the data is.", flag_values=values)
    flags.DEFINE_boolean("fake_data", False, "Fake it.", flag_values=values)
    flags.DEFINE_float("learning_rate", 0.01, "Rate.", flag_values=values)
    assert values.batch_size == 100 and values.fake_data is False
    rest = values(["train.py", "--batch_size=32", "--data_dir", "/d", "--fake_data", "--learning_rate=0.5", "extra"])
    assert rest == ["train.py", "extra"] and (values.batch_size, values.data_dir, values.fake_data) == (32, "/d", True)
    assert values.learning_rate == 0.5 and values(["x", "--nofake_data"]) == ["x"] and values.fake_data is False
    with pytest.raises(SystemExit, match="Unknown command line flag 'epochs'"):
        values(["x", "--epochs=3"])
    with pytest.raises(AttributeError, match="no flag --epochs"):
        values.epochs
    flags.DEFINE_integer("steps", 3, "Steps.")  # (tf.app.flags.FLAGS, read by tf.app.run)
    seen = []
    with pytest.raises(SystemExit) as exited:
        tf.app.run(main=lambda argv: seen.append((argv, tf.app.flags.FLAGS.steps)), argv=["prog", "--steps=9", "a"])
    assert seen == [(["prog", "a"], 9)] and exited.value.code is None
    tf.logging.set_verbosity(tf.logging.INFO)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        tf.logging.info("step %d", 5)
        tf.logging.debug("hidden")
        for _ in range(5):
            tf.logging.log_every_n(tf.logging.INFO, "every %d", 2, 2)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["step 5", "every 2", "every 2", "every 2"]


def test_gradients_through_scan_and_segment_sums(rng):
    x = tf.placeholder(tf.float64, [4, 2])
    xv = rng.normal(size=(4, 2))
    weights = rng.normal(size=(4, 2))
    running = tf.scan(lambda acc, row: acc * 0.5 + row ** 2, x)
    segments = tf.unsorted_segment_sum(x, np.array([1, 0, 1, 1]), 3)
    cost = tf.reduce_sum(running * weights) + tf.reduce_sum(segments ** 2)

    def reference(v):
        rows = [v[0]]  # (no initializer: the first row starts the accumulator)
        for row in v[1:]:
            rows.append(rows[-1] * 0.5 + row ** 2)
        sums = np.zeros((3, 2))
        np.add.at(sums, [1, 0, 1, 1], v)
        return (np.array(rows) * weights).sum() + (sums ** 2).sum()
    np.testing.assert_allclose(_run(cost, {x: xv}), reference(xv))
    np.testing.assert_allclose(_run(tf.gradients(cost, x)[0], {x: xv}), _numeric_gradient(reference, xv), rtol=1e-6,
                               atol=1e-8)


def test_print_writes_the_values_each_run_that_computes_them(capsys):
    x = tf.placeholder(tf.float32, [None])
    y = tf.Print(x, [x, tf.reduce_sum(x)], message="x, sum: ", first_n=2, summarize=2)
    doubled = y * 2
    unrelated = x + 1
    with tf.Session() as sess:
        for k in range(3):
            np.testing.assert_allclose(sess.run(doubled, {x: np.arange(4, dtype=np.float32) + k}),
                                       2 * (np.arange(4) + k))
        sess.run(unrelated, {x: np.zeros(2, np.float32)})  # (not computed from the Print: nothing written)
        sess.run(tf.print(unrelated, summarize=5), {x: np.ones(3, np.float32)})
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["x, sum: [0.0 1.0...][6.0]", "x, sum: [1.0 2.0...][10.0]", "[2.0 2.0 2.0]"]


def test_nest_keeps_namedtuples_and_while_loop_carries_them():
    import collections
    State = collections.namedtuple("State", ["h", "c"])
    structure = {"a": [1, (2, 3)], "s": State(4, 5)}
    assert tf.nest.flatten(structure) == [1, 2, 3, 4, 5]
    packed = tf.nest.pack_sequence_as(structure, [10, 20, 30, 40, 50])
    assert packed == {"a": [10, (20, 30)], "s": State(40, 50)} and isinstance(packed["s"], State)
    k, state = tf.while_loop(lambda k, s: k < 3, lambda k, s: (k + 1, State(s.h * 2, s.c + s.h)),
                             (tf.constant(0), State(tf.constant(1.0), tf.constant(0.0))))
    assert isinstance(state, State)
    assert _run([k, state.h, state.c]) == [3, 8.0, 7.0]
