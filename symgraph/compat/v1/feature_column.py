"""tf.feature_column: how a model reads a dict of feature tensors. Dense columns (numeric,
indicator, embedding, bucketized) become a (batch, n) tensor by input_layer, in the columns'
sorted order as TensorFlow's; categorical columns (identity, bucketized) give linear_model one
weight row per id. Columns of strings (vocabulary lists, hashed buckets) are not here: symgraph's
tensors are numbers."""
import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.selection import take
from ...ops.shape import arange, expand_dims, reshape, shape
from .scopes import get_variable, truncated_normal_initializer, variable_scope, zeros_initializer


class _NumericColumn:
    def __init__(self, key, shape=(1,), default_value=None, dtype="float32", normalizer_fn=None):
        self.key, self.shape = key, tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),)
        self.dtype, self.normalizer_fn = np.dtype(dtype).name, normalizer_fn
        self.name, self.dimension = key, int(np.prod(self.shape))

    def dense(self, features):
        value = E.cast(as_variable(features[self.key]), "float32")
        value = value if self.normalizer_fn is None else self.normalizer_fn(value)
        return reshape(value, [shape(value)[0], self.dimension])


class _IdentityColumn:
    """Integer ids in [0, num_buckets); others default_value's (None: refused at run time by the
    gather, as TensorFlow's)."""

    def __init__(self, key, num_buckets, default_value=None):
        self.key, self.num_buckets, self.default_value = key, int(num_buckets), default_value
        self.name = key

    def ids(self, features):
        ids = E.cast(as_variable(features[self.key]), "int64")
        ids = reshape(ids, [shape(ids)[0]])
        if self.default_value is not None:
            inside = E.logical_and(E.ge(ids, 0), E.lt(ids, self.num_buckets))
            ids = E.where(inside, ids, np.int64(self.default_value))
        return ids


class _BucketizedColumn:
    """A numeric column's values cut at the boundaries: bucket k holds boundaries[k-1] <= v <
    boundaries[k]; dense as its one-hot, categorical as its bucket ids."""

    def __init__(self, source_column, boundaries):
        if source_column.dimension != 1:
            raise NotImplementedError("bucketized_column: a numeric column of one value per example only")
        self.source, self.boundaries = source_column, [float(b) for b in boundaries]
        self.name, self.num_buckets = f"{source_column.name}_bucketized", len(self.boundaries) + 1
        self.dimension = self.num_buckets

    def ids(self, features):
        value = self.source.dense(features)[:, 0]
        ids = None
        for boundary in self.boundaries:
            step = E.cast(E.ge(value, np.float32(boundary)), "int64")
            ids = step if ids is None else ids + step
        return ids if ids is not None else E.cast(value * 0, "int64")

    def dense(self, features):
        return _one_hot(self.ids(features), self.num_buckets)


class _IndicatorColumn:
    def __init__(self, categorical_column):
        self.categorical = categorical_column
        self.name, self.dimension = f"{categorical_column.name}_indicator", categorical_column.num_buckets

    def dense(self, features):
        return _one_hot(self.categorical.ids(features), self.dimension)


class _EmbeddingColumn:
    def __init__(self, categorical_column, dimension, combiner="mean", initializer=None, trainable=True):
        self.categorical, self.dimension, self.trainable = categorical_column, int(dimension), trainable
        self.initializer = initializer or truncated_normal_initializer(stddev=1 / np.sqrt(self.dimension))
        self.name = f"{categorical_column.name}_embedding"

    def dense(self, features):
        with variable_scope(self.name):
            table = get_variable("embedding_weights", [self.categorical.num_buckets, self.dimension],
                                 initializer=self.initializer, trainable=self.trainable)
        return take(table, self.categorical.ids(features), axis=0)


def _one_hot(ids, depth):
    return E.cast(E.eq(expand_dims(ids, 1), arange(depth)), "float32")


def numeric_column(key, shape=(1,), default_value=None, dtype="float32", normalizer_fn=None):
    return _NumericColumn(key, shape, default_value, dtype, normalizer_fn)


def categorical_column_with_identity(key, num_buckets, default_value=None):
    return _IdentityColumn(key, num_buckets, default_value)


def bucketized_column(source_column, boundaries):
    return _BucketizedColumn(source_column, boundaries)


def indicator_column(categorical_column):
    return _IndicatorColumn(categorical_column)


def embedding_column(categorical_column, dimension, combiner="mean", initializer=None, ckpt_to_load_from=None,
                     tensor_name_in_ckpt=None, max_norm=None, trainable=True):
    return _EmbeddingColumn(categorical_column, dimension, combiner, initializer, trainable)


def _sorted(columns):
    return sorted(columns, key=lambda c: c.name)


def input_layer(features, feature_columns, weight_collections=None, trainable=True, cols_to_vars=None):
    """The dense columns' tensors side by side, (batch, sum of their dimensions), in the order of
    the columns' names."""
    columns = _sorted(feature_columns)
    for column in columns:
        if not hasattr(column, "dense"):
            raise ValueError(f"input_layer: {column.name} is categorical; wrap it in indicator_column or "
                             f"embedding_column")
    with variable_scope("input_layer"):
        parts = [column.dense(features) for column in columns]
    from ...ops.shape import concatenate
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=1)


def linear_model(features, feature_columns, units=1, sparse_combiner="sum", weight_collections=None,
                 trainable=True):
    """sum over the columns of their weights times their values (a categorical column: its id's
    weight row) plus a bias: (batch, units). Variables linear_model/<column>/weights and
    linear_model/bias_weights, as TensorFlow's."""
    total = None
    with variable_scope("linear_model"):
        for column in _sorted(feature_columns):
            with variable_scope(column.name):
                if hasattr(column, "ids") and not isinstance(column, _NumericColumn):
                    weights = get_variable("weights", [column.num_buckets, units], initializer=zeros_initializer(),
                                           trainable=trainable)
                    term = take(weights, column.ids(features), axis=0)
                else:
                    weights = get_variable("weights", [column.dimension, units], initializer=zeros_initializer(),
                                           trainable=trainable)
                    from ...ops.linalg import matmul
                    term = matmul(column.dense(features), weights)
            total = term if total is None else total + term
        bias = get_variable("bias_weights", [units], initializer=zeros_initializer(), trainable=trainable)
    return total + bias if total is not None else R.sum(bias) * 0 + bias
