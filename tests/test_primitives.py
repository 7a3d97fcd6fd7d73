"""The generated test of the primitive table: every spelling of every entry, against central differences.

Each test case is a one-line user function calling a primitive, written into
a module file, differentiated with astgrad and compared with central
differences. Outputs that are arrays are checked as vector-Jacobian products
with a random output seed.

* Elementwise entries (``derivative(...)``) get their cases from the table
  itself, for each spelling (``math.sin`` and ``np.sin``): scalars at several
  points of the rule's domain, and, for spellings that take arrays, array
  shapes including broadcasting in both directions.
* Other entries (reductions, ``@``, reshaping, indexing, ...) take constant
  arguments such as ``axis``, so their cases are listed in `CASES` below by
  spelling, at least three each; a spelling without cases fails
  `test_every_entry_has_cases`.
"""

import math
import operator
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest

import astgrad
from astgrad import rules
from astgrad.rules import NOT_DIFFERENTIABLE, STATIC, ZERO, TableError
from support import assert_close, central_difference, load_module

RULES = rules.all_rules()  # one per spelling
# values for inputs marked NOT_DIFFERENTIABLE (k - loc is a count; df, a, b: a cdf's shape parameters)
INTEGER_ARGUMENTS = {"i": 3, "ndigits": 2, "n": 2, "k": 3, "loc": 1, "df": 3, "a": 2, "b": 3}
SCALAR = [()]
BROADCASTING = {
    1: [(), (3,), (2, 3)],
    2: [((), ()), ((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)), ((2, 3), ())],
    3: [((), (), ()), ((2, 3), (3,), ()), ((3, 1), (1, 4), (4,)), ((4,), (), (2, 4))],
    4: [((), (), (), ()), ((2, 3), (3,), (), (2, 1)), ((3,), (), (2, 3), ())],
    5: [((), (), (), (), ()), ((2, 3), (3,), (), (2, 1), ()), ((3,), (), (), (2, 3), (3,))],
}
HAS_SCIPY = rules.all_entries()[-1].rules[0].expression.startswith("scipy.")  # SciPy is an optional dependency
CONDITION = "c"  # np.where's condition: sampled as a boolean array

# Non-elementwise entries: signature -> [(expression, {input: shape}, domain)], at least three each.
# The functions have the inputs as parameters, in the order given; ONE_OF_EACH is an index array.
DEFAULT = rules.REAL
AWAY_FROM_ZERO = (0.5, 1.5)


def cases(expression, shapes, *more, domain=DEFAULT):
    """Cases for one expression: one per shape dict given."""
    return [(expression, shape, domain) for shape in (shapes,) + more]


X34, X234 = {"x": (3, 4)}, {"x": (2, 3, 4)}
REDUCTION_SHAPES = [
    ("{f}(x)", X34), ("{f}(x, axis=0)", X34), ("{f}(x, 1, keepdims=True)", X34),
    ("{f}(x, axis=(0, 2))", X234), ("{f}(x, axis=-1, keepdims=True)", X234), ("{f}(x, keepdims=True)", {"x": (3,)}),
]  # fmt: skip
METHOD_SHAPES = [(text.replace("{f}(x, ", "x.{f}(").replace("{f}(x)", "x.{f}()"), shape) for text, shape in REDUCTION_SHAPES]


def reduction(name, domain=DEFAULT, method=False):
    forms = METHOD_SHAPES if method else REDUCTION_SHAPES
    return [(text.format(f=name), shape, domain) for text, shape in forms]


MATMUL_SHAPES = [
    {"x": (2, 3), "y": (3, 4)}, {"x": (3,), "y": (3, 4)}, {"x": (2, 3), "y": (3,)},
    {"x": (3,), "y": (3,)}, {"x": (2, 2, 3), "y": (3, 4)}, {"x": (3,), "y": (2, 3, 4)},
]  # fmt: skip
DOT_SHAPES = MATMUL_SHAPES[:4] + [{"x": (), "y": (3,)}, {"x": (2, 3), "y": ()}]
TWO = {"x": (3,), "y": (3,)}

CASES = {
    "z = x @ y": cases("x @ y", *MATMUL_SHAPES),
    "z = np.matmul(x, y)": cases("np.matmul(x, y)", *MATMUL_SHAPES),
    "z = np.dot(x, y)": cases("np.dot(x, y)", *DOT_SHAPES),
    "z = x.dot(y)": cases("x.dot(y)", *MATMUL_SHAPES[:4]),
    "z = np.outer(x, y)": cases("np.outer(x, y)", {"x": (3,), "y": (4,)}, {"x": (2, 2), "y": (3,)}, {"x": (2, 3), "y": (2,)}),
    "z = np.inner(x, y)": cases("np.inner(x, y)", TWO, {"x": (2, 3), "y": (4, 3)}, {"x": (3,), "y": (2, 3)}),
    "z = np.einsum(spec, x, y)": (
        cases("np.einsum('ij,jk->ik', x, y)", {"x": (2, 3), "y": (3, 4)})
        + cases("np.einsum('i,i->', x, y)", TWO)
        + cases("np.einsum('bi,bi->b', x, y)", {"x": (2, 3), "y": (2, 3)})
        + cases("np.einsum('ij,j->i', x, y)", {"x": (2, 3), "y": (3,)})
        + cases("np.einsum('i,j->ij', x, y)", {"x": (2,), "y": (3,)})
    ),
    "y = x[index]": (
        cases("x[0]", {"x": (4,)}, {"x": (2, 3)})
        + cases("x[-1]", {"x": (2, 3)})
        + cases("x[:, 1]", {"x": (2, 3)})
        + cases("x[1:3]", {"x": (4,)})
        + cases("x[::2, -2:]", {"x": (3, 4)})
        + cases("x[..., None]", {"x": (2, 3)})
        + cases("x[ONE_OF_EACH]", {"x": (4,)}, {"x": (3, 2)})
    ),
    "s = runtime.checked_seed(y, seed, *wrt)": (
        cases("runtime.checked_seed(x, y)", {"x": (), "y": ()})
        + cases("runtime.checked_seed(x, y) * x", {"x": (), "y": ()})
        + cases("np.sin(runtime.checked_seed(np.sum(x), y, x, y)) * x", {"x": (2,), "y": ()})
        + cases("runtime.checked_seed(np.sum(x), y, x) * x", {"x": (2, 3), "y": ()})
    ),
    "y = runtime.unbroadcast(x, like)": cases(
        "runtime.unbroadcast(x, y)", {"x": (2, 3), "y": (3,)}, {"x": (2, 3), "y": (2, 1)}, {"x": (3,), "y": ()}, {"x": (3,), "y": (3,)}
    ),
    "y = runtime.broadcast_like(x, like)": cases(
        "runtime.broadcast_like(x, y)", {"x": (3,), "y": (2, 3)}, {"x": (), "y": (3,)}, {"x": (2, 1), "y": (2, 3)}, {"x": (), "y": ()}
    ),
    "y = runtime.zero_gradient(x)": cases("x + runtime.zero_gradient(x)", {"x": (3,)}, {"x": ()}, {"x": (2, 3)}),
    "y = runtime.unindex(x, like, index)": (
        cases("runtime.unindex(x, y, 0)", {"x": (3,), "y": (2, 3)})
        + cases("runtime.unindex(x, y, ONE_OF_EACH)", {"x": (3,), "y": (4,)})
        + cases("runtime.unindex(x, y, np.s_[1:3])", {"x": (2,), "y": (4,)})
    ),
    "a = runtime.matmul_left_adjoint(g, x, y)": cases(
        "runtime.matmul_left_adjoint(g, x, y)",
        {"g": (2, 4), "x": (2, 3), "y": (3, 4)}, {"g": (4,), "x": (3,), "y": (3, 4)}, {"g": (2,), "x": (2, 3), "y": (3,)},
        {"g": (2, 2, 4), "x": (2, 2, 3), "y": (3, 4)},
    ),
    "b = runtime.matmul_right_adjoint(g, x, y)": cases(
        "runtime.matmul_right_adjoint(g, x, y)",
        {"g": (2, 4), "x": (2, 3), "y": (3, 4)}, {"g": (4,), "x": (3,), "y": (3, 4)}, {"g": (2,), "x": (2, 3), "y": (3,)},
        {"g": (), "x": (3,), "y": (3,)},
    ),
    "a = runtime.inner_left_adjoint(g, x, y)": cases(
        "runtime.inner_left_adjoint(g, x, y)",
        {"g": (), "x": (3,), "y": (3,)}, {"g": (2, 4), "x": (2, 3), "y": (4, 3)}, {"g": (2,), "x": (3,), "y": (2, 3)},
    ),
    "b = runtime.inner_right_adjoint(g, x, y)": cases(
        "runtime.inner_right_adjoint(g, x, y)",
        {"g": (), "x": (3,), "y": (3,)}, {"g": (2, 4), "x": (2, 3), "y": (4, 3)}, {"g": (2,), "x": (3,), "y": (2, 3)},
    ),
    "y = np.take(x, indices, axis=None)": (
        cases("np.take(x, 1, axis=0)", {"x": (3, 2)}) + cases("np.take(x, ONE_OF_EACH, axis=-1)", {"x": (2, 3)})
        + cases("np.take(x, ONE_OF_EACH)", {"x": (2, 2)})
    ),
    "y = runtime.untake(x, like, indices, axis=None)": (
        cases("runtime.untake(x, y, 1, 0)", {"x": (2,), "y": (3, 2)}) + cases("runtime.untake(x, y, ONE_OF_EACH, -1)", {"x": (2, 3), "y": (2, 4)})
        + cases("runtime.untake(x, y, ONE_OF_EACH)", {"x": (3,), "y": (2, 2)})
    ),
    "y = runtime.concatenate_part(g, [*parts], k, axis=0)": (
        cases("runtime.concatenate_part(g, (x, y), 1)", {"g": (5,), "x": (2,), "y": (3,)})
        + cases("runtime.concatenate_part(g, [x, y], 0, 1)", {"g": (2, 4), "x": (2, 1), "y": (2, 3)})
        + cases("runtime.concatenate_part(g, (x, y, x), 2, axis=0)", {"g": (5, 2), "x": (2, 2), "y": (1, 2)})
    ),
    "y = runtime.concatenate_unpart(x, like, [*parts], k, axis=0)": (
        cases("runtime.concatenate_unpart(x, g, (x, y), 0)", {"x": (2,), "g": (5,), "y": (3,)})
        + cases("runtime.concatenate_unpart(y, g, [x, y], 1, 1)", {"y": (2, 3), "g": (2, 4), "x": (2, 1)})
        + cases("runtime.concatenate_unpart(x, g, (x, y, x), 2, axis=0)", {"x": (2, 2), "g": (5, 2), "y": (1, 2)})
    ),
    "y = runtime.hstack_part(g, [*parts], k)": cases(
        "runtime.hstack_part(g, (x, y), 1)", {"g": (5,), "x": (3,), "y": (2,)}, {"g": (2, 4), "x": (2, 1), "y": (2, 3)},
        {"g": (2,), "x": (), "y": ()},
    ),
    "y = runtime.hstack_unpart(x, like, [*parts], k)": cases(
        "runtime.hstack_unpart(x, g, (x, y), 0)", {"x": (3,), "g": (5,), "y": (2,)}, {"x": (2, 1), "g": (2, 4), "y": (2, 3)},
        {"x": (), "g": (2,), "y": ()},
    ),
    "y = runtime.vstack_part(g, [*parts], k)": cases(
        "runtime.vstack_part(g, (x, y), 0)", {"g": (2, 3), "x": (3,), "y": (3,)}, {"g": (3, 3), "x": (2, 3), "y": (1, 3)},
        {"g": (3, 3), "x": (3,), "y": (2, 3)},
    ),
    "y = runtime.vstack_unpart(x, like, [*parts], k)": cases(
        "runtime.vstack_unpart(x, g, (x, y), 0)", {"x": (3,), "g": (2, 3), "y": (3,)}, {"x": (2, 3), "g": (3, 3), "y": (1, 3)},
        {"x": (3,), "g": (3, 3), "y": (2, 3)},
    ),
    "y = np.broadcast_to(x, shape)": cases("np.broadcast_to(x, (2, 3))", {"x": (3,)}, {"x": ()}, {"x": (2, 1)}),
    "s = runtime.checked_arguments(seed, *wrt)": (
        cases("runtime.checked_arguments(x)", {"x": ()})
        + cases("runtime.checked_arguments(y, x) * x", {"x": (), "y": ()})
        + cases("np.sin(runtime.checked_arguments(y, x, y)) * x", {"x": (2,), "y": ()})
    ),
    "y = len(x)": cases("x * len(x)", {"x": (3,)}, {"x": (2, 3)}) + cases("x / len(x) ** 2", {"x": (4,)}),
    "y = np.sum(x, axis=None, keepdims=False)": reduction("np.sum"),
    "y = x.sum(axis=None, keepdims=False)": reduction("sum", method=True),
    "y = np.mean(x, axis=None, keepdims=False)": reduction("np.mean"),
    "y = x.mean(axis=None, keepdims=False)": reduction("mean", method=True),
    "y = np.prod(x, axis=None, keepdims=False)": reduction("np.prod", AWAY_FROM_ZERO),
    "y = x.prod(axis=None, keepdims=False)": reduction("prod", AWAY_FROM_ZERO, method=True),
    "y = np.max(x, axis=None, keepdims=False)": reduction("np.max"),
    "y = x.max(axis=None, keepdims=False)": reduction("max", method=True),
    "y = np.min(x, axis=None, keepdims=False)": reduction("np.min"),
    "y = x.min(axis=None, keepdims=False)": reduction("min", method=True),
    "y = np.amax(x, axis=None, keepdims=False)": reduction("np.amax"),
    "y = np.amin(x, axis=None, keepdims=False)": reduction("np.amin"),
    "y = np.var(x, axis=None, ddof=0, keepdims=False)": reduction("np.var") + cases("np.var(x, 0, ddof=1)", X34),
    "y = x.var(axis=None, ddof=0, keepdims=False)": reduction("var", method=True) + cases("x.var(ddof=1)", X34),
    "y = np.std(x, axis=None, ddof=0, keepdims=False)": reduction("np.std") + cases("np.std(x, ddof=1)", X34),
    "y = x.std(axis=None, ddof=0, keepdims=False)": reduction("std", method=True) + cases("x.std(1, ddof=1)", X34),
    "y = np.linalg.norm(x, ord=None, axis=None, keepdims=False)": (
        cases("np.linalg.norm(x)", {"x": (4,)}, {"x": (2, 3)})
        + cases("np.linalg.norm(x, axis=1)", {"x": (2, 3)})
        + cases("np.linalg.norm(x, 2, axis=0, keepdims=True)", {"x": (2, 3)})
        + cases("np.linalg.norm(x, axis=-1, keepdims=True)", {"x": (2, 2, 3)})
        + cases("np.linalg.norm(x, 'fro')", {"x": (2, 3)})  # the Frobenius norm of matrices
        + cases("np.linalg.norm(x, axis=(0, 1))", {"x": (3, 2)})
        + cases("np.linalg.norm(x, ord='fro', axis=(1, 2), keepdims=True)", X234)
        + cases("np.linalg.norm(x, 2)", {"x": (3, 2)}, {"x": (4,)})  # the largest singular value of a matrix
        + cases("np.linalg.norm(x, 2, axis=(0, 2), keepdims=True)", X234)
        + cases("np.linalg.norm(x, ord=2, axis=(-1, -2))", X234)
    ),
    "y = runtime.spectral_norm_adjoint(g, x, axis, keepdims)": (
        cases("runtime.spectral_norm_adjoint(g, SVD_INPUT, None, False)", {"g": ()})
        + cases("runtime.spectral_norm_adjoint(g, SVD_BATCH, (1, 2), False)", {"g": (2,)})
        + cases("runtime.spectral_norm_adjoint(g, SVD_BATCH, (2, 1), True)", {"g": (2, 1, 1)})
    ),
    "t = runtime.spectral_norm_tangent(d, x, axis, keepdims)": (
        cases("runtime.spectral_norm_tangent(d, SVD_INPUT, None, False)", {"d": (2, 3)})
        + cases("runtime.spectral_norm_tangent(d, SVD_BATCH, (1, 2), False)", {"d": (2, 2, 3)})
        + cases("runtime.spectral_norm_tangent(d, SVD_BATCH, (2, 1), True)", {"d": (2, 2, 3)})
        + cases("runtime.spectral_norm_tangent(d, SVD_INPUT.T, None, True)", {"d": (3, 2)})
    ),
    "y = x.T": cases("x.T", {"x": (2, 3)}, {"x": (3,)}, {"x": (2, 3, 4)}),
    "y = np.transpose(x, axes=None)": (
        cases("np.transpose(x)", {"x": (2, 3)}, {"x": (3,)})
        + cases("np.transpose(x, (1, 0, 2))", X234)
        + cases("np.transpose(x, axes=(2, 0, 1))", X234)
    ),
    "y = np.moveaxis(x, source, destination)": (
        cases("np.moveaxis(x, 0, -1)", X234, {"x": (2, 3)})
        + cases("np.moveaxis(x, (0, 1), (2, 0))", X234)
        + cases("np.moveaxis(x, -1, 0)", {"x": (3,)})
    ),
    "y = np.reshape(x, shape)": (
        cases("np.reshape(x, (3, 2))", {"x": (2, 3)})
        + cases("np.reshape(x, -1)", {"x": (2, 3)})
        + cases("np.reshape(x, (2, -1))", {"x": (4,)})
        + cases("np.reshape(x, (1, 2, 3))", {"x": (3, 2)})
    ),
    "y = x.reshape(*shape)": (
        cases("x.reshape(3, 2)", {"x": (2, 3)}) + cases("x.reshape((6,))", {"x": (3, 2)}) + cases("x.reshape(-1, 1)", {"x": (3,)})
    ),
    "y = np.ravel(x)": cases("np.ravel(x)", {"x": (2, 3)}, {"x": (3,)}, {"x": (2, 1, 2)}),
    "y = x.ravel()": cases("x.ravel()", {"x": (2, 3)}, {"x": (3,)}, {"x": (2, 1, 2)}),
    "y = x.flatten()": cases("x.flatten()", {"x": (2, 3)}, {"x": (3,)}, {"x": (2, 1, 2)}),
    "y = np.expand_dims(x, axis)": (
        cases("np.expand_dims(x, 0)", {"x": (3,)}) + cases("np.expand_dims(x, axis=-1)", {"x": (2, 3)})
        + cases("np.expand_dims(x, (0, 2))", {"x": (3, 2)})
    ),
    "y = np.squeeze(x, axis=None)": (
        cases("np.squeeze(x)", {"x": (1, 3)}) + cases("np.squeeze(x, axis=0)", {"x": (1, 3, 1)})
        + cases("np.squeeze(x, 2)", {"x": (2, 3, 1)})
    ),
    "y = x.squeeze(axis=None)": (
        cases("x.squeeze()", {"x": (1, 3)}) + cases("x.squeeze(axis=0)", {"x": (1, 3, 1)}) + cases("x.squeeze(2)", {"x": (2, 3, 1)})
    ),
    "y = np.concatenate([*xs], axis=0)": (
        cases("np.concatenate([x, y])", {"x": (2,), "y": (3,)})
        + cases("np.concatenate((x, y), axis=1)", {"x": (2, 1), "y": (2, 3)})
        + cases("np.concatenate([x, y, x], 0)", {"x": (2, 2), "y": (1, 2)})
    ),
    "y = np.stack([*xs], axis=0)": (
        cases("np.stack([x, y])", TWO) + cases("np.stack((x, y), axis=1)", {"x": (2, 3), "y": (2, 3)})
        + cases("np.stack([x, y, x], -1)", {"x": (2, 2), "y": (2, 2)})
    ),
    "y = np.hstack([*xs])": cases("np.hstack([x, y])", {"x": (3,), "y": (2,)}, {"x": (2, 1), "y": (2, 3)}, {"x": (), "y": ()}),
    "y = np.vstack([*xs])": cases("np.vstack([x, y])", TWO, {"x": (2, 3), "y": (1, 3)}, {"x": (3,), "y": (2, 3)}),
    "y = np.array([*xs])": (
        cases("np.array([x, y])", {"x": (), "y": ()}) + cases("np.array([x, y, x])", TWO)
        + cases("np.array((x, y))", {"x": (2, 2), "y": (2, 2)})
    ),
    "y = np.asarray([*xs])": (
        cases("np.asarray([x, y])", {"x": (), "y": ()}) + cases("np.asarray((x, y, x))", TWO)
        + cases("np.asarray([x, y])", {"x": (2, 2), "y": (2, 2)})
    ),
    "y = x.shape": (
        cases("x * x.shape[0]", {"x": (3,)}) + cases("x / x.shape[-1]", {"x": (2, 3)}) + cases("np.sum(x) * len(x.shape)", X34)
    ),
    "y = x.ndim": cases("x * x.ndim", {"x": (3,)}, {"x": (2, 3)}, {"x": (1,)}),
    "y = x.size": cases("x * x.size", {"x": (3,)}, {"x": (2, 3)}, {"x": (1,)}),
    "y = np.shape(x)": (
        cases("x * np.shape(x)[0]", {"x": (3,)}, {"x": (2, 3)}) + cases("x * len(np.shape(x))", {"x": (2, 3)})
    ),
    "y = np.ndim(x)": cases("x * np.ndim(x)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.size(x)": cases("x / np.size(x)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.broadcast(*xs)": cases("x * y / np.broadcast(x, y).size", {"x": (3,), "y": (2, 1)}, {"x": (2, 3), "y": ()})
    + cases("x + np.broadcast(x, y).shape[0] * y", {"x": (3, 1), "y": (2,)}),
    "y = np.zeros(shape)": cases("x + np.zeros(3)", {"x": (3,)}) + cases("x * np.zeros((2, 3))", {"x": (2, 3)}) + cases("x + np.zeros(x.shape)", X34),
    "y = np.ones(shape)": cases("x * np.ones(3)", {"x": (3,)}) + cases("x * np.ones((2, 3))", {"x": (3,)}) + cases("x - np.ones(x.shape)", X34),
    "y = np.zeros_like(x)": cases("x + np.zeros_like(x)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.ones_like(x)": cases("x * np.ones_like(x)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.eye(n)": cases("x @ np.eye(3)", {"x": (2, 3)}, {"x": (3,)}) + cases("x * np.eye(2)", {"x": (2, 1)}),
    "y = np.arange(n)": cases("x * np.arange(3)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.arange(a, b)": cases("x * np.arange(1, 4)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.arange(a, b, step)": cases("x * np.arange(0, 6, 2)", {"x": (3,)}, {"x": (2, 3)}, {"x": ()}),
    "y = np.tri(N, M=None, k=0)": (
        cases("x * np.tri(3)", {"x": (3,)}, {"x": (3, 3)}) + cases("x @ np.tri(3, 2, k=-1)", {"x": (2, 3)})
    ),
    "y = np.isnan(x)": cases("x + np.isnan(x)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.logical_not(x)": cases("x * np.logical_not(x > 0.5)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.argsort(x, axis=-1)": (
        cases("x * np.argsort(x)", {"x": (4,)}, {"x": (2, 3)}) + cases("x * np.argsort(x, axis=0)", {"x": (3, 2)})
    ),
    # ---- sums, differences and orderings along an axis
    "y = np.nansum(x, axis=None, keepdims=False)": reduction("np.nansum") + cases("np.nansum(np.where(FIRST, np.nan, x), axis=1)", {"x": (3, 2)}),
    "y = np.nanmean(x, axis=None, keepdims=False)": reduction("np.nanmean") + cases("np.nanmean(np.where(FIRST, np.nan, x), 0)", {"x": (3, 2)}),
    "y = np.cumsum(x, axis=None)": (
        cases("np.cumsum(x)", {"x": (4,)}, {"x": (2, 3)}) + cases("np.cumsum(x, axis=1)", X34) + cases("np.cumsum(x, -1)", X234)
    ),
    "y = x.cumsum(axis=None)": cases("x.cumsum()", {"x": (4,)}, {"x": (2, 3)}) + cases("x.cumsum(0)", X34),
    "y = np.cumprod(x, axis=None)": (
        cases("np.cumprod(x)", {"x": (4,)}, {"x": (2, 3)}, domain=AWAY_FROM_ZERO)
        + cases("np.cumprod(x, axis=0)", X34, domain=AWAY_FROM_ZERO)
    ),
    "y = x.cumprod(axis=None)": cases("x.cumprod()", {"x": (4,)}, {"x": (2, 3)}, domain=AWAY_FROM_ZERO)
    + cases("x.cumprod(1)", X34, domain=AWAY_FROM_ZERO),
    "y = np.diff(x, n=1, axis=-1)": (
        cases("np.diff(x)", {"x": (5,)}, X34) + cases("np.diff(x, 2)", {"x": (5,)}) + cases("np.diff(x, axis=0)", X34)
        + cases("np.diff(x, n=2, axis=1)", X234)
    ),
    "y = np.sort(x, axis=-1)": (
        cases("np.sort(x)", {"x": (5,)}, X34) + cases("np.sort(x, axis=0)", X34) + cases("np.sort(x, None)", {"x": (2, 3)})
    ),
    "z = np.cross(x, y)": cases("np.cross(x, y)", {"x": (3,), "y": (3,)}, {"x": (2, 3), "y": (2, 3)}, {"x": (2, 3), "y": (3,)},
                                {"x": (3,), "y": (4, 3)}),
    "z = np.convolve(x, y, mode='full')": (
        cases("np.convolve(x, y)", {"x": (5,), "y": (3,)}, {"x": (2,), "y": (4,)})
        + cases("np.convolve(x, y, 'same')", {"x": (5,), "y": (2,)}, {"x": (2,), "y": (6,)}, {"x": (4,), "y": (4,)})
        + cases("np.convolve(x, y, mode='valid')", {"x": (5,), "y": (3,)}, {"x": (3,), "y": (4,)})
    ),
    "z = np.correlate(x, y, mode='valid')": (
        cases("np.correlate(x, y)", {"x": (5,), "y": (3,)}, {"x": (2,), "y": (4,)})
        + cases("np.correlate(x, y, 'same')", {"x": (5,), "y": (2,)}, {"x": (2,), "y": (6,)}, {"x": (3,), "y": (5,)})
        + cases("np.correlate(x, y, mode='full')", {"x": (5,), "y": (3,)}, {"x": (3,), "y": (4,)})
    ),
    # ---- linear algebra: matrices made well conditioned, or symmetric positive definite for cholesky
    "y = np.linalg.det(x)": (
        cases("np.linalg.det(x)", {"x": (2, 2)}, {"x": (3, 3)}) + cases("np.linalg.det(x + 4 * np.eye(3))", {"x": (2, 3, 3)})
    ),
    "y = np.linalg.slogdet(x)": (
        cases("np.linalg.slogdet(x)[1]", {"x": (2, 2)}, {"x": (3, 3)})
        + cases("np.linalg.slogdet(x + 4 * np.eye(3))[1]", {"x": (2, 3, 3)})
        + cases("np.linalg.slogdet(x)[0] * x", {"x": (2, 2)})
    ),
    "y = np.linalg.inv(x)": cases("np.linalg.inv(x + 4 * np.eye(3))", {"x": (3, 3)}, {"x": (2, 3, 3)})
    + cases("np.linalg.inv(x + 4 * np.eye(2))", {"x": (2, 2)}),
    "z = np.linalg.solve(a, b)": cases(
        "np.linalg.solve(a + 4 * np.eye(3), b)", {"a": (3, 3), "b": (3,)}, {"a": (3, 3), "b": (3, 2)}, {"a": (2, 3, 3), "b": (2, 3, 1)},
    ),
    "y = np.linalg.cholesky(x)": cases(
        "np.linalg.cholesky(x @ np.swapaxes(x, -1, -2) + 3 * np.eye(3))", {"x": (3, 3)}, {"x": (3, 2)}, {"x": (2, 3, 3)}
    ),
    "y = np.swapaxes(x, axis1, axis2)": cases("np.swapaxes(x, 0, 1)", {"x": (2, 3)}, X234, {"x": (3, 1)}) + cases("np.swapaxes(x, -1, -3)", X234),
    # ---- shapes and copies
    "y = np.split(x, sections, axis=0)": (
        cases("np.split(x, 2)[1]", {"x": (4,)}, {"x": (2, 3)}) + cases("np.split(x, 3, axis=1)[0] * np.split(x, 3, axis=1)[2]", X234)
    ),
    "y = np.array_split(x, sections, axis=0)": (
        cases("np.array_split(x, 2)[0]", {"x": (4,)}, {"x": (2, 3)}) + cases("np.array_split(x, 2, 1)[1] ** 2", X34)
    ),
    "y = np.atleast_1d(x)": cases("np.atleast_1d(x)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.atleast_2d(x)": cases("np.atleast_2d(x)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.asarray(x)": cases("np.asarray(x)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.array(x)": cases("np.array(x) * x", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.copy(x)": cases("np.copy(x) * x", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = x.copy()": cases("x.copy() * x", {"x": (3,)}, {"x": (2, 3)}, X234),
    "y = x.swapaxes(axis1, axis2)": cases("x.swapaxes(0, 1)", {"x": (2, 3)}, X234, {"x": (3, 1)}),
    "y = np.asanyarray(x)": cases("np.asanyarray(x)", {"x": ()}, {"x": (3,)}, {"x": (2, 3)}),
    "y = np.asarray(x, dtype)": cases("np.asarray(x, float)", {"x": ()}, {"x": (3,)}) + cases("np.asarray(x, dtype=np.float64)", X34),
    "y = np.array(x, dtype)": cases("np.array(x, dtype=float)", {"x": ()}, {"x": (3,)}) + cases("x * np.array(x, int)", X34),
    "y = x.astype(dtype)": cases("x.astype(float)", {"x": (3,)}, X34) + cases("x * x.astype(int)", {"x": (2, 3)}),
    "y = np.flip(x, axis=None)": cases("np.flip(x)", {"x": (3,)}, X34) + cases("np.flip(x, 1)", X34) + cases("np.flip(x, axis=(0, 2))", X234),
    "y = np.roll(x, shift, axis=None)": (
        cases("np.roll(x, 1)", {"x": (4,)}, X34, X234) + cases("np.roll(x, -1, axis=0)", X34) + cases("np.roll(x, (1, 2), axis=(0, 1))", X34)
    ),
    "y = np.repeat(x, repeats, axis=None)": (
        cases("np.repeat(x, 2)", {"x": (3,)}, {"x": (2, 3)}) + cases("np.repeat(x, 3, axis=1)", {"x": (2, 3)})
        + cases("np.repeat(x, ONE_OF_EACH, axis=0)", {"x": (3, 2)})
    ),
    "y = x.repeat(repeats, axis=None)": cases("x.repeat(2)", {"x": (3,)}, {"x": (2, 3)}, X234) + cases("x.repeat(2, axis=0)", {"x": (2, 3)}),
    "y = np.tile(x, reps)": (
        cases("np.tile(x, 2)", {"x": (3,)}, {"x": (2, 3)}) + cases("np.tile(x, (2, 1, 2))", {"x": (2, 3)})
        + cases("np.tile(x, (2, 3))", {"x": ()})
    ),
    "y = np.triu(x, k=0)": cases("np.triu(x)", {"x": (3, 3)}, {"x": (2, 3, 4)}) + cases("np.triu(x, 1)", {"x": (3, 2)}),
    "y = np.tril(x, k=0)": cases("np.tril(x)", {"x": (3, 3)}, {"x": (2, 3, 4)}) + cases("np.tril(x, k=-1)", {"x": (3, 2)}),
    "y = np.diag(x, k=0)": (
        cases("np.diag(x)", {"x": (3,)}, {"x": (3, 3)}, {"x": (2, 4)}) + cases("np.diag(x, 1)", {"x": (3,)}, {"x": (3, 4)})
        + cases("np.diag(x, k=-1)", {"x": (4, 3)})
    ),
    "y = np.trace(x, offset=0, axis1=0, axis2=1)": (
        cases("np.trace(x)", {"x": (3, 3)}, {"x": (2, 4)}, X234) + cases("np.trace(x, 1)", {"x": (3, 3)})
        + cases("np.trace(x, axis1=1, axis2=2)", X234) + cases("np.trace(x, -1, axis1=2, axis2=0)", X234)
    ),
    "y = x.trace(offset=0, axis1=0, axis2=1)": cases("x.trace()", {"x": (3, 3)}, X234) + cases("x.trace(1)", {"x": (3, 4)}),
    "y = np.diagonal(x, offset=0, axis1=0, axis2=1)": (
        cases("np.diagonal(x)", {"x": (3, 3)}, {"x": (2, 4)}, X234) + cases("np.diagonal(x, 1)", {"x": (3, 4)})
        + cases("np.diagonal(x, -1, axis1=2, axis2=0)", X234)
    ),
    "y = x.diagonal(offset=0, axis1=0, axis2=1)": (
        cases("x.diagonal()", {"x": (3, 3)}, X234, {"x": (2, 4)}) + cases("x.diagonal(1, axis1=1, axis2=2)", X234)
    ),
    "y = runtime.undiagonal(g, x, offset, axis1, axis2)": (
        cases("runtime.undiagonal(g, x, 0, 0, 1)", {"g": (3,), "x": (3, 3)}, {"g": (4, 2), "x": (2, 3, 4)})
        + cases("runtime.undiagonal(g, x, -1, 2, 0)", {"g": (3, 2), "x": (2, 3, 4)})
    ),
    "y = np.take_along_axis(x, indices, axis)": (
        cases("np.take_along_axis(x, np.argsort(x), -1)", {"x": (4,)}, X34)
        + cases("np.take_along_axis(x, ONE_OF_EACH[:, None], axis=1)", {"x": (3, 4)})
        + cases("np.take_along_axis(x, ONE_OF_EACH, None)", {"x": (2, 2)})
    ),
    "y = np.pad(x, pad_width, mode='constant')": (
        cases("np.pad(x, 1)", {"x": (3,)}, {"x": (2, 3)}, X234) + cases("np.pad(x, (1, 2))", {"x": (2, 3)})
        + cases("np.pad(x, ((0, 1), (2, 0)), mode='constant')", {"x": (2, 3)})
    ),
    # ---- run-time helpers of the entries above (their second derivatives)
    "y = runtime.unsplit(g, axis=0)": cases("runtime.unsplit(g)", {"g": (2, 3)}, {"g": (2, 2, 3)}) + cases("runtime.unsplit(g, 1)", {"g": (3, 2, 2)}),
    "y = runtime.resplit(g, pieces, axis=0)": (
        cases("runtime.resplit(g, 2)", {"g": (4,)}, {"g": (2, 3)}, {"g": (4, 1)}) + cases("runtime.resplit(g, 3, axis=1)", {"g": (2, 3)})
    ),
    "y = runtime.cumsum_adjoint(g, x, axis=None)": (
        cases("runtime.cumsum_adjoint(g, x)", {"g": (6,), "x": (2, 3)}, {"g": (3,), "x": (3,)})
        + cases("runtime.cumsum_adjoint(g, x, 1)", {"g": (3, 4), "x": (3, 4)})
    ),
    "y = runtime.unsort(g, x, axis=-1)": (
        cases("runtime.unsort(g, x)", {"g": (4,), "x": (4,)}, {"g": (3, 4), "x": (3, 4)})
        + cases("runtime.unsort(g, x, None)", {"g": (6,), "x": (2, 3)}) + cases("runtime.unsort(g, x, 0)", {"g": (3, 4), "x": (3, 4)})
    ),
    "y = runtime.sorted_like(g, x, axis=-1)": (
        cases("runtime.sorted_like(g, x)", {"g": (4,), "x": (4,)}, {"g": (3, 4), "x": (3, 4)})
        + cases("runtime.sorted_like(g, x, None)", {"g": (2, 3), "x": (2, 3)})
    ),
    "y = runtime.undiff(g, n, axis)": (
        cases("runtime.undiff(g, 1, -1)", {"g": (4,)}, {"g": (2, 3)}, {"g": (2, 3, 4)}) + cases("runtime.undiff(g, 2, 0)", {"g": (2, 3)})
    ),
    "y = runtime.unrepeat(g, x, repeats, axis=None)": (
        cases("runtime.unrepeat(g, x, 2)", {"g": (6,), "x": (3,)}, {"g": (12,), "x": (2, 3)})
        + cases("runtime.unrepeat(g, x, 3, 1)", {"g": (2, 9), "x": (2, 3)})
    ),
    "y = runtime.untile(g, x, reps)": (
        cases("runtime.untile(g, x, 2)", {"g": (6,), "x": (3,)}, {"g": (2, 6), "x": (2, 3)})
        + cases("runtime.untile(g, x, (2, 1, 2))", {"g": (2, 2, 6), "x": (2, 3)})
    ),
    "y = runtime.untrace(g, x, offset, axis1, axis2)": (
        cases("runtime.untrace(g, x, 0, 0, 1)", {"g": (), "x": (3, 3)}, {"g": (4,), "x": (2, 3, 4)})
        + cases("runtime.untrace(g, x, 1, 2, 0)", {"g": (3,), "x": (2, 3, 4)})
    ),
    "y = runtime.undiag(g, x, k=0)": (
        cases("runtime.undiag(g, x)", {"g": (3, 3), "x": (3,)}, {"g": (2,), "x": (2, 4)})
        + cases("runtime.undiag(g, x, -1)", {"g": (3,), "x": (4, 3)})
    ),
    "y = runtime.untake_along_axis(g, x, indices, axis)": (
        cases("runtime.untake_along_axis(g, x, ONE_OF_EACH, 0)", {"g": (3,), "x": (4,)})
        + cases("runtime.untake_along_axis(g, x, ONE_OF_EACH[:, None], 1)", {"g": (3, 1), "x": (3, 4)})
        + cases("runtime.untake_along_axis(g, x, ONE_OF_EACH, None)", {"g": (3,), "x": (2, 2)})
    ),
    "y = runtime.unpad(g, pad_width)": (
        cases("runtime.unpad(g, 1)", {"g": (5,)}, {"g": (4, 5)}) + cases("runtime.unpad(g, ((0, 1), (2, 0)))", {"g": (3, 5)})
    ),
    "f = runtime.full_convolution(g, x, y, mode, correlate)": (
        cases("runtime.full_convolution(g, x, y, 'same', False)", {"g": (5,), "x": (5,), "y": (2,)})
        + cases("runtime.full_convolution(g, x, y, 'valid', True)", {"g": (2,), "x": (3,), "y": (4,)})
        + cases("runtime.full_convolution(g, x, y, 'full', False)", {"g": (6,), "x": (3,), "y": (4,)})
    ),
    "p = runtime.convolution_part(g, x, y, mode, correlate)": (
        cases("runtime.convolution_part(g, x, y, 'same', False)", {"g": (6,), "x": (5,), "y": (2,)})
        + cases("runtime.convolution_part(g, x, y, 'same', True)", {"g": (7,), "x": (2,), "y": (6,)})
        + cases("runtime.convolution_part(g, x, y, 'valid', False)", {"g": (6,), "x": (3,), "y": (4,)})
    ),
    "y = runtime.through_cast(g, dtype)": (
        cases("runtime.through_cast(g, float)", {"g": ()}, {"g": (3,)}) + cases("runtime.through_cast(g, int)", {"g": (2, 3)})
    ),
    "y = runtime.lower_halved(x)": cases("runtime.lower_halved(x)", {"x": (3, 3)}, {"x": (2, 2, 2)}, {"x": (4, 4)}),
    "y = runtime.symmetrized(x)": cases("runtime.symmetrized(x)", {"x": (3, 3)}, {"x": (2, 2, 2)}, {"x": (4, 4)}),
    # ---- builtins of any number of arguments
    "z = max(x, y, *xs)": (
        cases("max(x, y, z)", {"x": (), "y": (), "z": ()}) + cases("max(x, y, z, x * y)", {"x": (), "y": (), "z": ()})
        + cases("max(x, 0.5, y)", {"x": (), "y": ()})
    ),
    "z = min(x, y, *xs)": (
        cases("min(x, y, z)", {"x": (), "y": (), "z": ()}) + cases("min(x, y, z, x * y)", {"x": (), "y": (), "z": ()})
        + cases("min(x, 0.5, y)", {"x": (), "y": ()})
    ),
    "s = runtime.tie_share(z, v, [*values])": (
        cases("x * runtime.tie_share(x, x, [x, y])", {"x": (), "y": ()}) + cases("y * runtime.tie_share(y, x, [x, y, z])", {"x": (), "y": (), "z": ()})
        + cases("x + runtime.tie_share(x, x, [x])", {"x": ()})
    ),
}


def integer_arguments(rule):
    """The inputs of an elementwise rule that its generated cases pass integers for (`INTEGER_ARGUMENTS`)."""
    if not is_automatic(rule):
        return []
    return [p for p in rule.params if p in INTEGER_ARGUMENTS and rule.templates[p] is NOT_DIFFERENTIABLE]

if HAS_SCIPY:
    SPD = "c @ c.T + np.eye(3)"  # a covariance matrix: its adjoint is checked through c
    MVN_CASES = [
        ("({f}(x, m, " + SPD + "))", {"x": (3,), "m": (3,), "c": (3, 3)}),
        ("({f}(x, mean=m, cov=" + SPD + "))", {"x": (4, 3), "m": (3,), "c": (3, 3)}),
        ("({f}(x, m, v))", {"x": (2, 3), "m": (3,), "v": (3,)}),
        ("({f}(x, m, cov=v))", {"x": (3,), "m": (3,), "v": ()}),
        ("({f}(x, 0.5, v))", {"x": (4,), "v": ()}),  # one dimension: x holds four points
    ]
    POSITIVE_V = {"x": DEFAULT, "m": DEFAULT, "c": DEFAULT, "v": (0.5, 2.0)}
    CASES.update({
        "y = scipy.special.logsumexp(x, axis=None, keepdims=False, b=1.0)": (
            reduction("scipy.special.logsumexp")
            + cases("scipy.special.logsumexp(x, axis=-1, b=y)", {"x": (2, 3), "y": (2, 3)}, {"x": (2, 3), "y": (3,)},
                    domain=rules.POSITIVE)
        ),
        "y = scipy.special.softmax(x, axis=None)": (
            cases("scipy.special.softmax(x)", {"x": (3,)}, X34) + cases("scipy.special.softmax(x, axis=0)", X34)
            + cases("scipy.special.softmax(x, axis=-1)", X234)
        ),
        "y = scipy.special.log_softmax(x, axis=None)": (
            cases("scipy.special.log_softmax(x)", {"x": (3,)}, X34) + cases("scipy.special.log_softmax(x, axis=1)", X34)
            + cases("scipy.special.log_softmax(x, axis=-1)", X234)
        ),
        "y = scipy.stats.multivariate_normal.logpdf(x, mean=0.0, cov=1.0)": [
            (text.format(f="scipy.stats.multivariate_normal.logpdf"), shapes, POSITIVE_V) for text, shapes in MVN_CASES
        ],
        "y = scipy.stats.multivariate_normal.pdf(x, mean=0.0, cov=1.0)": [
            (text.format(f="scipy.stats.multivariate_normal.pdf"), shapes, POSITIVE_V) for text, shapes in MVN_CASES
        ],
    })  # fmt: skip


def is_automatic(rule):
    """Whether the rule's cases come from the table (elementwise entries)."""
    return rule.elementwise and rule.signature not in CASES


def takes_arrays(rule):
    """NumPy's functions and methods, operators, and builtins whose partials have a NumPy twin (``abs``)."""
    return rule.array_code or rule.is_operator or rule.array_twin is not rule


def differentiable(rule):
    return [p for p in rule.params if rule.templates[p] not in (NOT_DIFFERENTIABLE, STATIC)]


def automatic_cases(rule):
    """(rule, expression, {input: shape}, domain) for an elementwise rule."""
    inputs = differentiable(rule)
    shape_lists = BROADCASTING[len(inputs)] if takes_arrays(rule) and not rule.is_constant else SCALAR
    if rule.is_method:  # a method of arrays: a Python number has none
        shape_lists = shape_lists[1:]
    found = []
    for shapes in shape_lists:
        shapes = shapes if len(inputs) > 1 else (shapes,)
        if len(inputs) > 1 and shapes == ():
            shapes = ((),) * len(inputs)
        expression = re.sub(r"(\w+)=[^,)]+", r"\1=\1", rule.expression)  # `loc=0.0`: the case passes `loc=loc`
        if not rule.array_code and any(shapes):
            # Code that calls no NumPy function is scalar code (no unbroadcasting, see
            # docs/design.md); as in a real program on arrays, NumPy is called.
            expression = f"np.float64({expression})"
        found.append((rule, expression, dict(zip(inputs, shapes)), rule.domain))
    return found


def listed_cases(rule):
    return [(rule, expression, shapes, domain) for expression, shapes, domain in CASES.get(rule.signature, [])]


ALL_CASES = [case for rule in RULES for case in (automatic_cases(rule) if is_automatic(rule) else listed_cases(rule))]


def case_id(case):
    rule, expression, shapes, _ = case
    return f"{expression} {'x'.join(str(shape) for shape in shapes.values())}"


@pytest.fixture(scope="module")
def table_module(tmp_path_factory):
    """One module with a function `case_<n>` per case, calling its primitive."""
    lines = ["import math", "import numpy as np", "from astgrad import runtime", "", "ONE_OF_EACH = np.array([0, 2, 0])", "FIRST = np.array([[True, False], [False, False], [True, False]])",
             "SVD_INPUT = np.array([[2.0, 0.5, 0.1], [0.3, 1.0, 0.2]])", "SVD_BATCH = np.stack([SVD_INPUT, SVD_INPUT[::-1]])", ""]
    if HAS_SCIPY:
        lines[:0] = ["import scipy.special", "import scipy.stats"]
    for number, (rule, expression, shapes, _) in enumerate(ALL_CASES):
        params = list(shapes) + integer_arguments(rule)
        lines += [f"def case_{number}({', '.join(params)}):", f"    return {expression}", ""]
        for reduction in ("sum", "mean"):  # a number output: its adjoint stays a number as long as it can
            lines += [f"def {reduction}_case_{number}({', '.join(params)}):", f"    return np.{reduction}({expression})", ""]
    return load_module(tmp_path_factory.mktemp("table"), "\n".join(lines))


def sample(rule, shapes, domain, rng):
    args = []
    for param, shape in shapes.items():
        if param == CONDITION:
            value = rng.uniform(size=shape) > 0.5
            args.append(bool(value) if shape == () else value)
            continue
        low, high = domain.get(param, DEFAULT) if isinstance(domain, dict) else domain
        value = rng.uniform(low, high, size=shape)
        args.append(float(value) if shape == () else value)
    if is_automatic(rule):
        args += [INTEGER_ARGUMENTS[p] for p in integer_arguments(rule)]
    return args


def rng_for(text):
    return np.random.default_rng(zlib.crc32(text.encode()))


@pytest.mark.parametrize("number", range(len(ALL_CASES)), ids=[case_id(case) for case in ALL_CASES])
def test_entry_against_central_differences(table_module, number):
    rule, expression, shapes, domain = ALL_CASES[number]
    f = getattr(table_module, f"case_{number}")
    wrt = tuple(p for p in shapes if p != CONDITION)
    value_and_gradient = astgrad.value_and_grad(f, wrt=wrt)
    rng = rng_for(case_id(ALL_CASES[number]))
    for _ in range(4 if shapes and all(shape == () for shape in shapes.values()) else 1):
        args = sample(rule, shapes, domain, rng)
        output = f(*args)
        seed = rng.normal(size=np.shape(output)) if np.ndim(output) else 1.0
        value, gradient = value_and_gradient(*args, d_out=seed)
        np.testing.assert_array_equal(value, output)

        def weighted(*point):
            return float(np.sum(seed * f(*point)))

        for param, computed in zip(wrt, gradient):
            index = list(shapes).index(param)
            expected = central_difference(weighted, args, index)
            assert np.shape(computed) == np.shape(args[index]), param
            if np.shape(args[index]) == ():
                assert isinstance(computed, float), (param, type(computed))
            if is_automatic(rule) and rule.templates[param] is ZERO:
                assert np.all(computed == 0.0) and np.all(expected == 0.0)
            else:
                assert_close(computed, expected)


@pytest.mark.parametrize("number", range(len(ALL_CASES)), ids=[case_id(case) for case in ALL_CASES])
def test_entry_under_a_sum_and_a_mean(table_module, number):
    """The gradient of np.sum(case) and np.mean(case) (a number output) is the case's vjp with a uniform seed."""
    rule, expression, shapes, domain = ALL_CASES[number]
    wrt = tuple(p for p in shapes if p != CONDITION)
    args = sample(rule, shapes, domain, rng_for("sum " + case_id(ALL_CASES[number])))
    output = getattr(table_module, f"case_{number}")(*args)
    vjp = astgrad.grad(getattr(table_module, f"case_{number}"), wrt=wrt)
    for reduction, seed in (("sum", np.ones(np.shape(output))), ("mean", np.full(np.shape(output), 1 / np.size(output)))):
        gradient = astgrad.grad(getattr(table_module, f"{reduction}_case_{number}"), wrt=wrt)(*args)
        expected = vjp(*args, d_out=seed if np.ndim(output) else float(seed))
        for param, computed, want in zip(wrt, gradient, expected):
            assert np.shape(computed) == np.shape(want), (reduction, param)
            assert isinstance(computed, float) == isinstance(want, float), (reduction, param, type(computed))
            assert_close(computed, want, rtol=1e-12)


@pytest.mark.parametrize("number", range(len(ALL_CASES)), ids=[case_id(case) for case in ALL_CASES])
def test_entry_forward_mode(table_module, number):
    """The tangent (jvp) in a random direction: against central differences along it, and against reverse mode."""
    rule, expression, shapes, domain = ALL_CASES[number]
    f = getattr(table_module, f"case_{number}")
    wrt = tuple(p for p in shapes if p != CONDITION)
    tangent_function = astgrad.jvp(f, wrt=wrt)
    value_and_gradient = astgrad.value_and_grad(f, wrt=wrt)
    rng = rng_for("forward " + case_id(ALL_CASES[number]))
    args = sample(rule, shapes, domain, rng)
    positions = [list(shapes).index(p) for p in wrt]
    direction = [rng.normal(size=shapes[p]) for p in wrt]
    direction = [float(d) if np.ndim(d) == 0 else d for d in direction]
    value, tangent = tangent_function(*args, *direction)
    output = f(*args)
    np.testing.assert_array_equal(value, output)
    assert np.shape(tangent) == np.shape(output)

    def along(t):
        point = list(args)
        for position, d in zip(positions, direction):
            point[position] = args[position] + t * d
        return f(*point)

    expected = central_difference(along, [0.0], 0)
    if is_automatic(rule) and all(rule.templates[p] is ZERO for p in wrt):
        assert np.all(np.asarray(tangent) == 0.0) and np.all(np.asarray(expected) == 0.0)
        return
    assert_close(tangent, expected)
    seed = rng.normal(size=np.shape(output)) if np.ndim(output) else 1.0
    _, gradient = value_and_gradient(*args, d_out=seed)
    assert_close(np.sum(seed * tangent), sum(np.sum(g * d) for g, d in zip(gradient, direction)))


def test_every_entry_has_cases():
    """Adding a primitive without test cases fails here; the listed ones use their entry."""
    for rule in RULES:
        found = automatic_cases(rule) if is_automatic(rule) else listed_cases(rule)
        assert len(found) >= 3 or rule in SCALAR_ONLY_RULES, f"{rule.signature}: add at least three cases to CASES"
    assert set(CASES) <= {rule.signature for rule in RULES}, set(CASES) - {rule.signature for rule in RULES}


SCALAR_ONLY_RULES = [rule for rule in RULES if is_automatic(rule) and not takes_arrays(rule) or rule.is_constant and rule.elementwise]


def test_every_numpy_entry_is_tested_with_broadcasting_or_several_shapes():
    for rule in RULES:
        if not rule.array_code or rule.is_constant:
            continue
        found = automatic_cases(rule) if is_automatic(rule) else listed_cases(rule)
        shapes = {tuple(shapes.values()) for _, _, shapes, _ in found}
        assert len(shapes) >= 3, rule.signature
        if is_automatic(rule) and len(differentiable(rule)) > 1:
            assert any(len(set(s)) > 1 for s in shapes), f"{rule.signature}: no broadcasting case"


def test_every_rule_is_exercised():
    """The parametrization above comes from the table itself: nothing is left out."""
    signatures = {rule.signature for rule in RULES}
    assert len(signatures) == len(RULES) > 140
    for expected in ("z = x ** y", "y = math.erf(x)", "z = max(x, y)", "y = np.tanh(x)", "y = math.log(x, base)"):
        assert expected in signatures
    tested = {case[0].signature for case in ALL_CASES}
    assert tested == signatures


# ---- kinks and ties: the conventions written beside the rules ---------------------------------
SPECIAL_VALUES = [
    # (source of f, arguments, expected gradient)
    ("abs(x)", (0.0,), 0.0),  # sign convention: 0 at the kink
    ("math.fabs(x)", (0.0,), 0.0),
    ("np.abs(x)", (0.0,), 0.0),
    ("abs(x)", (-2.0,), -1.0),
    ("max(x, y)", (1.5, 1.5), (0.5, 0.5)),  # a tie shares the gradient equally
    ("min(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("np.maximum(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("np.minimum(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("max(x, y)", (2.0, 1.0), (1.0, 0.0)),
    ("min(x, y)", (2.0, 1.0), (0.0, 1.0)),
    ("x ** 2", (0.0,), 0.0),
    ("x * (x > 0)", (-1.0,), 0.0),
    ("x * (x > 0)", (3.0,), 1.0),
    ("np.clip(x, y, 2.0)", (1.0, 1.0), (1.0, 0.0)),  # at a bound, the gradient goes to x
    ("max(x, y, 1.5)", (1.5, 1.5), (1 / 3, 1 / 3)),  # three tied: a third each
    ("min(x, 1.0, y, x)", (1.0, 2.0), (2 / 3, 0.0)),  # x twice among three tied
    ("max(x, y, -1.0)", (2.0, 1.0), (1.0, 0.0)),
]
ARRAY_SPECIAL_VALUES = [
    ("np.max(x)", [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),  # tied maxima share
    ("np.min(x, axis=0)", [[1.0, 2.0], [1.0, 0.0]], [[0.5, 0.0], [0.5, 1.0]]),
    ("abs(x)", [-2.0, 0.0, 3.0], [-1.0, 0.0, 1.0]),
    ("np.sum(x[ONE_OF_EACH])", [1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 1.0, 0.0]),  # repeated indices add up
    ("np.sort(x) * np.arange(3.0)", [2.0, 1.0, 2.0], [1.0, 0.0, 2.0]),  # sort ties keep their order
    ("np.sort(x)[0]", [1.0, 1.0, 3.0], [1.0, 0.0, 0.0]),
    ("np.sinc(x)", [0.0, 0.5], [0.0, -4 / np.pi]),  # 0 at 0, the limit
    ("np.nansum(x)", [1.0, np.nan, 2.0], [1.0, 0.0, 1.0]),  # nothing flows to a NaN
    ("np.nanmean(x)", [1.0, np.nan, 2.0], [0.5, 0.0, 0.5]),
    ("np.take_along_axis(x, ONE_OF_EACH, 0)", [1.0, 2.0, 3.0], [2.0, 0.0, 1.0]),  # repeated indices add up
    ("np.repeat(x, ONE_OF_EACH)", [1.0, 2.0, 3.0], [0.0, 2.0, 0.0]),  # each copy adds; 0 copies: 0
]


@pytest.mark.parametrize("expression, args, expected", SPECIAL_VALUES)
def test_special_values(tmp_path, expression, args, expected):
    params = ["x", "y"][: len(args)]
    module = load_module(
        tmp_path, f"import math\nimport numpy as np\ndef f({', '.join(params)}):\n    return {expression}\n"
    )
    gradient = astgrad.grad(module.f)(*args)
    assert gradient == expected


@pytest.mark.parametrize("expression, x, expected", ARRAY_SPECIAL_VALUES)
def test_special_values_on_arrays(tmp_path, expression, x, expected):
    module = load_module(
        tmp_path, f"import numpy as np\nONE_OF_EACH = np.array([0, 2, 0])\ndef f(x):\n    return np.sum({expression})\n"
    )
    np.testing.assert_allclose(astgrad.grad(module.f)(np.array(x)), expected, rtol=1e-15)


# ---- the checker catches a wrong rule --------------------------------------------------------
def test_a_deliberately_wrong_rule_fails_the_check(tmp_path):
    module = load_module(
        tmp_path,
        """
        import math

        def my_sin(x):
            return math.sin(x)

        def f(x):
            return my_sin(x)
        """,
    )
    namespace = {"my_sin": module.my_sin, "math": math}
    entry = rules.derivative("y = my_sin(x)", namespace=namespace, x="math.sin(x)")  # wrong: should be cos
    try:
        gradient = astgrad.grad(module.f)(0.7)
        assert gradient == math.sin(0.7)  # the wrong rule is really used, not inlined
        with pytest.raises(AssertionError):
            assert_close(gradient, central_difference(module.f, [0.7], 0))
    finally:
        rules.remove(entry)


# ---- the table refuses malformed entries -----------------------------------------------------
def _fresh_function():
    def fresh(x, y):
        return x

    return fresh


@pytest.mark.parametrize(
    "signature, partials, message",
    [
        ("y = fresh(x, y)", {"x": "1"}, "give exactly one template"),
        ("y = fresh(x + 1, y)", {"x": "1", "y": "1"}, "inputs must be placeholder names"),
        ("y = fresh(x, axis=k)", {"x": "1", "axis": STATIC}, "must be a constant"),
        ("y = missing.attr(x)", {"x": "1"}, ""),
        ("fresh(x, y)", {"x": "1", "y": "1"}, "a signature reads like"),
    ],
)
def test_malformed_entries_are_refused_naming_the_entry(signature, partials, message):
    namespace = {"fresh": _fresh_function(), "missing": math}
    with pytest.raises(TableError) as error:
        rules.derivative(signature, namespace=namespace, **partials)
    assert signature in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "spellings, templates, message",
    [
        ("y = fresh(x, y)", {"x": "1", "y": "cosine(x)"}, "'cosine' is neither an input nor a dotted module name"),
        ("y = fresh(x, y)", {"x": "1", "y": "1 +"}, "'1 +' is not a Python expression"),
        ("z = fresh(x, y)", {"x": "d_z", "y": "1", "tangent": "d_x"}, "the tangent must name exactly the tangents"),
    ],
)
def test_a_malformed_template_is_refused_when_first_used(spellings, templates, message):
    """Templates are parsed when a rule is first used (not when the table loads): the error names the entry then."""
    make = rules.adjoint if "tangent" in templates else rules.derivative
    entry = make(spellings, namespace={"fresh": _fresh_function()}, **templates)
    try:
        with pytest.raises(TableError) as error:
            entry.rules[0].templates
        assert spellings in str(error.value) and message in str(error.value)
    finally:
        rules.remove(entry)


@pytest.mark.parametrize(
    "spellings, message",
    [
        ("z = fresh(x, y) | x.fresh(y, z)", "every spelling takes the inputs ('x', 'y')"),
        ("z = fresh(x, y) | y.fresh", "must be a method of the first input"),
        ("z = x + y | np.nonexistent", "np.nonexistent does not exist"),
    ],
)
def test_malformed_spellings_are_refused_naming_the_entry(spellings, message):
    with pytest.raises(TableError) as error:
        rules.derivative(spellings, namespace={"fresh": _fresh_function()}, x="1", y="1")
    assert spellings in str(error.value) and message in str(error.value)


def test_every_template_parses():
    """What the table would check when it loads, were templates not parsed lazily: each spelling's templates."""
    for rule in RULES:
        for version in (rule, rule.array_twin):
            assert set(version.templates) == set(rule.params), rule.signature
            assert (version.tangent is None) == (rule.tangent_text is None), rule.signature


def test_a_duplicate_entry_is_refused():
    with pytest.raises(TableError, match="already in the table"):
        rules.derivative("y = math.sin(x)", x="math.cos(x)")
    with pytest.raises(TableError, match="already in the table"):
        rules.derivative("y = np.exp(x) | np.sin", x="y")
    assert rules.lookup(np.sin, 1).signature == "y = np.sin(x)"  # nothing of the refused entry was added


def test_einsum_adjoint_subscripts():
    assert rules.einsum_adjoint_spec("ij,jk->ik", 0) == "ik,jk->ij"
    assert rules.einsum_adjoint_spec("ij,jk->ik", 1) == "ij,ik->jk"
    with pytest.raises(ValueError, match="diagonal"):
        rules.einsum_adjoint_spec("ii,i->", 0)
    with pytest.raises(ValueError, match="one operand alone"):
        rules.einsum_adjoint_spec("ij,k->k", 0)


# ---- spellings and properties: what an entry says instead of the stages guessing ----------------
def test_one_entry_lists_its_spellings_and_each_resolves_its_module():
    sin, np_sin = rules.lookup(math.sin, 1), rules.lookup(np.sin, 1)
    assert sin.entry is np_sin.entry and sin.texts == {"x": "cos(x)"}
    assert (sin.references, np_sin.references) == ({"math.cos": math.cos}, {"np.cos": np.cos})
    assert rules.lookup(np.add, 2).signature == "z = np.add(x, y)"
    assert rules.lookup(".sum", 1).signature == "y = x.sum(axis=None, keepdims=False)"
    assert rules.lookup(".reshape", 2).signature == "y = x.reshape(*shape)"
    assert rules.lookup(np.arctan2, 2).signature == "z = np.arctan2(y, x)"
    assert len(rules.all_entries()) < len(rules.all_rules())


def test_an_operator_or_builtin_takes_the_module_of_the_code_it_is_in():
    power, absolute = rules.lookup(operator.pow, 2), rules.lookup(abs, 1)
    assert power.references == {"math.log": math.log} and power.array_twin.references == {"np.log": np.log}
    assert absolute.references == {"float": float} and absolute.array_twin.references == {"np.sign": np.sign}
    assert rules.lookup(math.fabs, 1).references == {"float": float}  # math has no sign: written out
    assert rules.lookup(np.fabs, 1).references == {"np.sign": np.sign}
    assert absolute.array_twin is absolute.array_twin  # chosen once
    times = rules.lookup(operator.mul, 2)
    assert times.array_twin is times  # no module function in its partials: nothing to choose


def test_entries_state_their_properties():
    reductions = {rule.signature.split("(")[0].split()[-1]: rule.reduction for rule in RULES if rule.reduction}
    assert reductions["np.sum"] == reductions["x.sum"] == "sum" and reductions["x.mean"] == "mean"
    assert reductions["np.amax"] == "max" and reductions["np.linalg.norm"] == "norm"
    assert {rule.signature for rule in RULES if rule.spreads_adjoint} == {
        "y = np.sum(x, axis=None, keepdims=False)", "y = x.sum(axis=None, keepdims=False)",
        "y = np.mean(x, axis=None, keepdims=False)", "y = x.mean(axis=None, keepdims=False)",
    }
    assert {rule.signature for rule in RULES if rule.sums_back} == {
        "z = x @ y", "z = np.matmul(x, y)", "z = np.dot(x, y)", "z = x.dot(y)",
    }
    numbers = {rule.signature for rule in RULES if rule.number_result}
    assert {"y = math.sin(x)", "z = max(x, y)", "y = float(x)", "y = len(x)", "y = x.shape", "y = np.size(x)"} <= (
        numbers
    )
    assert not numbers & {"z = np.maximum(x, y)", "y = np.float64(x)", "y = abs(x)", "z = x ** y", "y = np.sin(x)"}
    arrays = {rule.signature for rule in RULES if rule.array_code}
    assert {"z = x @ y", "y = x[index]", "y = x.T", "y = np.sin(x)", "s = runtime.sigmoid(x)"} <= arrays
    assert not arrays & {"z = x * y", "y = math.sin(x)", "y = abs(x)", "z = max(x, y)"}


def test_a_reduction_over_every_axis_returns_a_number():
    total = rules.lookup(np.sum, 1)
    call = [rules.constant_node(value) for value in (None, False)]
    assert rules.returns_number(total, ["x", *call])
    assert not rules.returns_number(total, ["x", rules.constant_node(0), rules.constant_node(False)])
    assert not rules.returns_number(total, ["x", rules.constant_node(None), rules.constant_node(True)])


def test_the_table_loads_and_its_templates_are_parsed_when_first_used():
    script = (
        "import sys, math, astgrad\n"
        "assert 'astgrad.primitives' not in sys.modules\n"
        "from astgrad import rules\n"
        "sin = rules.lookup(math.sin, 1)\n"
        "assert all('_parsed' not in vars(entry) for entry in rules.all_entries())\n"
        "sin.templates\n"
        "print(sorted(entry.signature for entry in rules.all_entries() if '_parsed' in vars(entry)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "['y = math.sin(x)']\n"


# ---- second derivatives: the adjoints are written in the table's own functions and helpers ------
SECOND_ORDER = [
    # (expression of x, x's shape, domain): np.sum of it is differentiated twice
    ("np.cumsum(x) ** 2", (4,), DEFAULT),
    ("np.cumsum(x, axis=1) * np.sin(x)", (2, 3), DEFAULT),
    ("np.cumprod(x, 0) * x", (3, 2), AWAY_FROM_ZERO),
    ("np.sort(x) * np.cos(x)", (4,), DEFAULT),
    ("np.sort(x, axis=0) ** 2 * np.arange(3.0)[:, None]", (3, 2), DEFAULT),
    ("np.diff(x, 2) ** 2", (5,), DEFAULT),
    ("np.flip(x, 0) * x ** 2", (3, 2), DEFAULT),
    ("np.roll(x, 1) * x", (4,), DEFAULT),
    ("np.repeat(x, 2, axis=1) ** 3", (2, 3), DEFAULT),
    ("np.tile(x, (2, 1)) ** 3", (2, 3), DEFAULT),
    ("np.triu(x) * np.tril(x, 1) * x", (3, 3), DEFAULT),
    ("np.trace(x) ** 2 + np.trace(x, 1) ** 3", (3, 3), DEFAULT),
    ("np.trace(x ** 2, axis1=0, axis2=2) ** 2", (2, 3, 2), DEFAULT),
    ("np.diag(x) ** 3 * np.sum(np.diag(x, 1) ** 2)", (3, 3), DEFAULT),
    ("np.diagonal(x, 1, axis1=1, axis2=2) ** 3", (2, 3, 3), DEFAULT),
    ("np.diag(x, -1) ** 3", (2,), DEFAULT),
    ("np.cross(x, x ** 2)", (2, 3), DEFAULT),
    ("np.take_along_axis(x, np.argsort(x), -1) ** 3", (2, 3), DEFAULT),
    ("np.pad(x, 1) ** 3", (2, 2), DEFAULT),
    ("np.convolve(x, x ** 2, 'same')", (4,), DEFAULT),
    ("np.correlate(x, np.sin(x), 'full')", (3,), DEFAULT),
    ("np.nansum(x ** 3, axis=0)", (2, 3), DEFAULT),
    ("np.nanmean(x ** 3)", (2, 3), DEFAULT),
    ("np.split(x, 2)[0] * np.split(x, 2)[1] ** 2", (4,), DEFAULT),
    ("np.array_split(x ** 3, 3, axis=1)[2]", (2, 3), DEFAULT),
    ("np.asarray(x) ** 3 * x.astype(float)", (3,), DEFAULT),
    ("np.atleast_2d(x) ** 3", (3,), DEFAULT),
    ("np.linalg.det(x)", (3, 3), DEFAULT),
    ("np.linalg.slogdet(x + 4 * np.eye(2))[1]", (2, 2), DEFAULT),
    ("np.linalg.inv(x + 4 * np.eye(2))", (2, 2), DEFAULT),
    ("np.linalg.solve(x + 4 * np.eye(2), x[:, 0] ** 2)", (2, 2), DEFAULT),
    ("np.linalg.cholesky(x @ x.T + 3 * np.eye(2))", (2, 2), DEFAULT),
    ("np.swapaxes(x, 0, 1) ** 3", (2, 3), DEFAULT),
    ("np.logaddexp2(x, x ** 2)", (3,), DEFAULT),
    ("np.sinc(x)", (3,), DEFAULT),
]


@pytest.fixture(scope="module")
def second_order_module(tmp_path_factory):
    lines = ["import numpy as np", ""]
    for number, (expression, _, _) in enumerate(SECOND_ORDER):
        lines += [f"def f_{number}(x):", f"    return np.sum({expression})", ""]
    return load_module(tmp_path_factory.mktemp("second"), "\n".join(lines))


@pytest.mark.parametrize("number", range(len(SECOND_ORDER)), ids=[case[0] for case in SECOND_ORDER])
def test_second_derivatives_of_new_entries(second_order_module, number):
    """The Hessian (forward over reverse) against central differences of the gradient, and reverse over reverse."""
    expression, shape, (low, high) = SECOND_ORDER[number]
    f = getattr(second_order_module, f"f_{number}")
    rng = rng_for("second " + expression)
    x = rng.uniform(low, high, size=shape)
    gradient = astgrad.grad(f)
    hessian = astgrad.hessian(f)(x)
    expected = np.stack([central_difference(lambda p: gradient(p)[index], [x], 0) for index in np.ndindex(shape)])
    assert_close(np.reshape(hessian, expected.shape), expected, rtol=1e-5, atol=1e-6)
    v = rng.normal(size=shape)
    assert_close(astgrad.grad(gradient, wrt=0)(x, d2_out=v), np.tensordot(hessian, v, axes=len(shape)), rtol=1e-9)
