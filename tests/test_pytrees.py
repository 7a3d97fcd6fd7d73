"""Containers as parameters: dicts, lists and tuples of arrays and numbers, read by constant keys, indices and unpacking.

Every gradient is checked against central differences taken leaf by leaf
(and against the analytic value where it is short), in reverse and forward
mode; the errors a container can cause at the call are in
`test_values_at_the_call.py`.
"""

import copy
import math

import numpy as np
import pytest

import astgrad
from support import assert_close

MODES = ["reverse", "forward"]
rng = np.random.default_rng(7)


def dense_loss(params, x, y):
    W = params["W"]
    b = params["b"]
    prediction = np.tanh(x @ W + b)
    return np.sum((prediction - y) ** 2)


def two_layers(layers, x):
    W, b = layers[0]
    h = np.tanh(x @ W + b)
    last = layers[1]
    return np.sum(h @ last["W"] + last["b"])


def pair_product(p):
    a, b = p
    return a * b + p[0] + math.sin(p[-1])


def rows_of_state(state):
    t1, t2, w1, w2 = state
    return np.sin(t1) * w1 + t2 * w2 * w2


def with_data(params, data):
    X, y = data
    return np.sum((X @ params["w"] - y) ** 2)


def scalar_dict(p):
    return p["a"] * p["a"] * p["b"]


def leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, path + (key,))
    elif isinstance(value, (list, tuple)):
        for key, item in enumerate(value):
            yield from leaf_paths(item, path + (key,))
    else:
        yield path


def get(value, path):
    for key in path:
        value = value[key]
    return value


def with_leaf(tree, path, leaf):
    """A copy of `tree` with the leaf at `path` replaced (tuples rebuilt)."""
    if not path:
        return leaf
    key, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, key: with_leaf(tree[key], rest, leaf)}
    parts = list(tree)
    parts[key] = with_leaf(tree[key], rest, leaf)
    return type(tree)(parts)


def tree_difference(f, args, index, h=1e-6):
    """d f / d (each leaf of args[index]) by central differences, in the container's structure."""
    tree = args[index]
    result = copy.deepcopy(tree)
    for path in leaf_paths(tree):
        leaf = np.asarray(get(tree, path), dtype=float)
        gradient = np.zeros_like(leaf)
        for position in np.ndindex(leaf.shape):
            step = h * max(1.0, abs(leaf[position]))
            up, down = leaf.copy(), leaf.copy()
            up[position] += step
            down[position] -= step
            at = lambda v: f(*args[:index], with_leaf(tree, path, v if leaf.ndim else float(v)), *args[index + 1:])
            gradient[position] = (at(up) - at(down)) / (2 * step)
        result = with_leaf(result, path, gradient if leaf.ndim else float(gradient))
    return result


def assert_same_tree(actual, expected, rtol=1e-5, atol=1e-7):
    assert type(actual) is type(expected)
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same_tree(actual[key], expected[key], rtol, atol)
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same_tree(a, e, rtol, atol)
    else:
        assert np.shape(actual) == np.shape(expected)
        assert_close(actual, expected, rtol=rtol, atol=atol)


PARAMS = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
X = rng.normal(size=(5, 3))
Y = rng.normal(size=(5, 2))
LAYERS = [(rng.normal(size=(3, 4)), rng.normal(size=4)), {"W": rng.normal(size=(4, 1)), "b": rng.normal(size=1)}]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "fn, args",
    [
        (dense_loss, (PARAMS, X, Y)),
        (two_layers, (LAYERS, X)),
        (pair_product, ((0.7, -1.3),)),
        (pair_product, ([0.7, -1.3],)),
        (scalar_dict, ({"a": 1.5, "b": -2.0},)),
    ],
    ids=["dict", "list-of-tuple-and-dict", "tuple", "list", "dict-of-numbers"],
)
def test_the_gradient_of_a_container_has_its_structure_and_central_differences(fn, args, mode):
    gradient = astgrad.grad(fn, wrt=0, mode=mode)(*args)
    assert_same_tree(gradient, tree_difference(fn, args, 0))


@pytest.mark.parametrize("mode", MODES)
def test_analytic_gradients_of_numbers_in_containers(mode):
    a, b = 0.7, -1.3
    expected = (b + 1.0, a + math.cos(b))
    assert astgrad.grad(pair_product, mode=mode)((a, b)) == pytest.approx(expected, rel=1e-12)
    assert astgrad.grad(pair_product, mode=mode)([a, b]) == pytest.approx(list(expected), rel=1e-12)
    assert astgrad.grad(scalar_dict, mode=mode)({"a": 1.5, "b": -2.0}) == pytest.approx({"a": -6.0, "b": 2.25})


@pytest.mark.parametrize("mode", MODES)
def test_leaves_the_code_does_not_read_get_zeros_of_their_shape(mode):
    params = {**PARAMS, "unused": np.ones((2, 3)), "count": 4}
    gradient = astgrad.grad(dense_loss, wrt="params", mode=mode)(params, X, Y)
    assert list(gradient) == ["W", "b", "unused", "count"]
    assert_close(gradient["unused"], np.zeros((2, 3)))
    assert gradient["count"] == 0.0
    assert_same_tree(gradient["W"], tree_difference(dense_loss, (PARAMS, X, Y), 0)["W"])


@pytest.mark.parametrize("mode", MODES)
def test_a_container_of_data_passes_through_untouched(mode):
    params = {"w": rng.normal(size=3)}
    data = (X, rng.normal(size=5))
    frozen = copy.deepcopy(data)
    value, gradient = astgrad.value_and_grad(with_data, wrt="params", mode=mode)(params, data)
    assert value == pytest.approx(with_data(params, data), rel=1e-12)
    analytic = 2 * X.T @ (X @ params["w"] - data[1])
    assert_close(gradient["w"], analytic)
    assert data[0] is frozen[0] or np.array_equal(data[0], frozen[0])
    assert np.array_equal(data[1], frozen[1])


@pytest.mark.parametrize("mode", MODES)
def test_wrt_none_differentiates_every_parameter_containers_and_arrays_alike(mode):
    g_params, g_x, g_y = astgrad.grad(dense_loss, mode=mode)(PARAMS, X, Y)
    assert_same_tree(g_params, tree_difference(dense_loss, (PARAMS, X, Y), 0))
    prediction = np.tanh(X @ PARAMS["W"] + PARAMS["b"])
    assert_close(g_y, -2 * (prediction - Y))
    assert g_x.shape == X.shape


@pytest.mark.parametrize("mode", MODES)
def test_an_array_unpacked_into_names_along_its_first_axis(mode):
    state = np.array([0.3, -0.4, 1.1, 0.6])
    t1, t2, w1, w2 = state
    analytic = np.array([math.cos(t1) * w1, w2 * w2, math.sin(t1), 2 * t2 * w2])
    assert_close(astgrad.grad(rows_of_state, mode=mode)(state), analytic, rtol=1e-12)


def test_the_hessian_of_an_unpacked_array():
    state = np.array([0.3, -0.4, 1.1, 0.6])
    t1, t2, w1, w2 = state
    expected = np.array(
        [
            [-math.sin(t1) * w1, 0.0, math.cos(t1), 0.0],
            [0.0, 0.0, 0.0, 2 * w2],
            [math.cos(t1), 0.0, 0.0, 0.0],
            [0.0, 2 * w2, 0.0, 2 * t2],
        ]
    )
    assert_close(astgrad.hessian(rows_of_state)(state), expected, rtol=1e-12)


def test_jvp_takes_a_tangent_of_the_container_structure():
    tangent = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    value, derivative = astgrad.jvp(dense_loss, wrt="params")(PARAMS, X, Y, tangent)
    assert value == pytest.approx(dense_loss(PARAMS, X, Y), rel=1e-12)
    gradient = tree_difference(dense_loss, (PARAMS, X, Y), 0)
    expected = np.sum(gradient["W"] * tangent["W"]) + np.sum(gradient["b"] * tangent["b"])
    assert derivative == pytest.approx(expected, rel=1e-5)


def test_jvp_of_a_tuple_of_numbers():
    value, derivative = astgrad.jvp(pair_product)((0.7, -1.3), (1.0, 2.0))
    assert value == pytest.approx(pair_product((0.7, -1.3)), rel=1e-15)
    assert derivative == pytest.approx((-1.3 + 1.0) * 1.0 + (0.7 + math.cos(-1.3)) * 2.0, rel=1e-12)


def test_the_seed_scales_a_container_gradient():
    gradient = astgrad.grad(scalar_dict)({"a": 1.5, "b": -2.0}, d_out=2.0)
    assert gradient == pytest.approx({"a": -12.0, "b": 4.5})


def test_arrays_still_take_the_code_written_for_arrays():
    def first_times_last(x):
        return x[0] * x[-1]

    d_f = astgrad.grad(first_times_last)
    assert d_f((2.0, 5.0, 3.0)) == (3.0, 0.0, 2.0)
    assert astgrad.source(d_f).splitlines()[0] == "def d_first_times_last(x_0, x_2, d_out=1.0):"
    assert_close(d_f(np.array([2.0, 5.0, 3.0])), np.array([3.0, 0.0, 2.0]))
    assert "unindex" in astgrad.source(d_f)  # the source shown is that of the latest call


def test_each_structure_gets_its_own_code_named_after_the_users_variables():
    d_loss = astgrad.grad(dense_loss, wrt="params")
    d_loss(PARAMS, X, Y)
    text = astgrad.source(d_loss)
    assert text.splitlines()[0] == "def d_dense_loss(W, b, x, y, d_out=1.0):"
    assert text.splitlines()[-1] == "    return d_W, d_b"
    d_two = astgrad.grad(two_layers, wrt="layers")
    d_two(LAYERS, X)
    assert astgrad.source(d_two).splitlines()[0] == "def d_two_layers(W, b, layers_1_W, layers_1_b, x, d_out=1.0):"


def test_a_function_whose_unpacking_waits_for_the_call_still_checks_wrt_at_once():
    with pytest.raises(ValueError) as error:
        astgrad.grad(pair_product, wrt="q")
    assert str(error.value) == "wrt='q' is not a parameter of pair_product; its parameters are ('p',)"
    d_pair = astgrad.grad(pair_product)
    assert d_pair.__name__ == "d_pair_product"
    with pytest.raises(astgrad.NotStraightLineError) as refused:  # a number cannot be unpacked
        d_pair(2.0)
    assert refused.value.reason == "cannot unpack this value into 2 names"


def loss_and_prediction(params, x, y):
    prediction = np.tanh(x @ params["W"] + params["b"])
    return np.sum((prediction - y) ** 2), prediction


@pytest.mark.parametrize("mode", MODES)
def test_has_aux_with_a_container_returns_the_gradient_in_its_structure_and_the_aux(mode):
    gradient, prediction = astgrad.grad(loss_and_prediction, wrt="params", mode=mode, has_aux=True)(PARAMS, X, Y)
    assert_same_tree(gradient, tree_difference(dense_loss, (PARAMS, X, Y), 0))
    assert_close(prediction, np.tanh(X @ PARAMS["W"] + PARAMS["b"]), rtol=1e-15)
    (value, aux), gradient = astgrad.value_and_grad(loss_and_prediction, wrt=0, mode=mode, has_aux=True)(PARAMS, X, Y)
    assert value == pytest.approx(dense_loss(PARAMS, X, Y), rel=1e-12)
    assert_close(aux, prediction, rtol=1e-15)
    assert_same_tree(gradient, tree_difference(dense_loss, (PARAMS, X, Y), 0))


# ---- a loop over a differentiated list (per-element code, one pass per entry) -------------------
def mlp_over_layers(x, layers):
    for W, b in layers:
        x = np.tanh(W @ x + b)
    return np.sum(x**2)


def weighted_layers(x, layers):
    total = 0.0
    for i, layer in enumerate(layers):
        total = total + (i + 1.0) * np.sum(np.sin(layer["W"] @ x))
    return total


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_a_differentiated_list_of_layers_gives_a_list_of_pairs(mode):
    r = np.random.default_rng(3)
    x = r.normal(size=3)
    layers = [(r.normal(size=(4, 3)), r.normal(size=4)), (r.normal(size=(2, 4)), r.normal(size=2))]
    d_x, d_layers = astgrad.grad(mlp_over_layers, wrt=("x", "layers"), mode=mode)(x, layers)
    assert isinstance(d_layers, list) and all(isinstance(pair, tuple) and len(pair) == 2 for pair in d_layers)
    assert_same_tree(d_layers, tree_difference(mlp_over_layers, (x, layers), 1))
    assert_close(d_x, tree_difference(mlp_over_layers, (x, layers), 0), rtol=1e-5)
    h = np.tanh(layers[0][0] @ x + layers[0][1])
    out = np.tanh(layers[1][0] @ h + layers[1][1])
    d_last = 2 * out * (1 - out**2)  # analytic, the last layer's bias
    assert_close(d_layers[1][1], d_last, rtol=1e-12)
    assert_close(d_layers[1][0], np.outer(d_last, h), rtol=1e-12)


def test_the_generated_code_is_one_pass_per_layer_named_after_the_loop_targets():
    r = np.random.default_rng(3)
    layers = [(r.normal(size=(2, 2)), r.normal(size=2)) for _ in range(3)]
    gradient = astgrad.grad(mlp_over_layers, wrt="layers")
    gradient(np.ones(2), layers)
    lines = astgrad.source(gradient).splitlines()
    assert lines[0] == "def d_mlp_over_layers(x, W_0, b_0, W_1, b_1, W_2, b_2, d_out=1.0):"
    assert lines[1:4] == ["    x_1 = np.tanh(W_0 @ x + b_0)", "    x_2 = np.tanh(W_1 @ x_1 + b_1)",
                          "    x_3 = np.tanh(W_2 @ x_2 + b_2)"]  # fmt: skip


def layers_when_asked(x, layers, deep):
    if deep > 0:
        for W, b in layers:
            x = np.tanh(W @ x + b)
    else:
        x = 2.0 * x
    return np.sum(x**2)


def layers_twice(x, layers):
    for repeat in range(2):
        for W, b in layers:
            x = np.tanh(W @ x + b)
    return np.sum(x**2)


def layers_zipped_in_a_branch(x, weights, biases):
    if np.sum(x) > -10.0:
        for W, b in zip(weights, biases):
            x = np.tanh(W @ x + b)
    return np.sum(x**2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, extra", [(layers_when_asked, (1.0,)), (layers_when_asked, (-1.0,)),
                                       (layers_twice, ())], ids=["in an if", "the other branch", "in a loop"])
def test_a_loop_over_a_differentiated_list_inside_an_if_or_a_loop(fn, extra, mode):
    r = np.random.default_rng(5)
    x = r.normal(size=3)
    layers = [(r.normal(size=(3, 3)) * 0.5, r.normal(size=3)), (r.normal(size=(3, 3)) * 0.5, r.normal(size=3))]
    d_x, d_layers = astgrad.grad(fn, wrt=("x", "layers"), mode=mode)(x, layers, *extra)
    assert isinstance(d_layers, list) and all(isinstance(pair, tuple) for pair in d_layers)
    assert_same_tree(d_layers, tree_difference(fn, (x, layers) + extra, 1))
    assert_close(d_x, tree_difference(fn, (x, layers) + extra, 0), rtol=1e-5)
    if extra == (-1.0,):
        assert all(np.all(g == 0.0) for pair in d_layers for g in pair)
        assert_close(d_x, 8.0 * x, rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_zipped_differentiated_lists_inside_an_if(mode):
    r = np.random.default_rng(6)
    x, weights, biases = r.normal(size=2), [r.normal(size=(2, 2)) for _ in range(3)], [r.normal(size=2)] * 3
    gradient = astgrad.grad(layers_zipped_in_a_branch, wrt=("weights", "biases"), mode=mode)(x, weights, biases)
    for position in (0, 1):
        assert isinstance(gradient[position], list) and len(gradient[position]) == 3
        assert_same_tree(gradient[position], tree_difference(layers_zipped_in_a_branch, (x, weights, biases),
                                                             position + 1))  # fmt: skip
    only_weights = astgrad.grad(layers_zipped_in_a_branch, wrt="weights", mode=mode)(x, weights, biases)
    assert isinstance(only_weights, list)  # the biases, walked in step, are a container of data
    assert_same_tree(only_weights, gradient[0])


def test_a_list_a_loop_walks_as_data_keeps_the_loop():
    r = np.random.default_rng(3)
    layers = [(r.normal(size=(2, 2)), r.normal(size=2)) for _ in range(3)]
    gradient = astgrad.grad(mlp_over_layers, wrt="x")
    gradient(np.ones(2), layers)
    assert "    for i in range(len_layers):" in astgrad.source(gradient).splitlines()


def horner_over_coefficients(x, coefficients):
    total = 0.0
    for c in reversed(coefficients):
        total = total * x + c
    return total


@pytest.mark.parametrize("mode", MODES)
def test_reversed_over_a_differentiated_tuple_of_numbers(mode):
    gradient = astgrad.grad(horner_over_coefficients, wrt=("x", "coefficients"), mode=mode)(1.5, (1.0, -2.0, 0.5))
    assert_close(gradient[0], -2.0 + 2 * 0.5 * 1.5, rtol=1e-12)
    assert isinstance(gradient[1], tuple)
    assert_close(gradient[1], (1.0, 1.5, 1.5**2), rtol=1e-12)


def test_enumerate_over_a_list_of_dicts_and_jvp():
    r = np.random.default_rng(4)
    x = r.normal(size=2)
    layers = [{"W": r.normal(size=(3, 2))}, {"W": r.normal(size=(1, 2))}]
    gradient = astgrad.grad(weighted_layers, wrt="layers")(x, layers)
    assert_same_tree(gradient, tree_difference(weighted_layers, (x, layers), 1))
    assert_close(gradient[1]["W"], 2.0 * np.outer(np.cos(layers[1]["W"] @ x), x), rtol=1e-12)
    tangent = [{"W": np.ones((3, 2))}, {"W": np.ones((1, 2))}]
    value, derivative = astgrad.jvp(weighted_layers, wrt="layers")(x, layers, tangent)
    assert value == weighted_layers(x, layers)
    expected = sum(np.sum(g["W"] * t["W"]) for g, t in zip(gradient, tangent))
    assert_close(derivative, expected, rtol=1e-12)


def lagrangian(q, q_dot):
    (t1, t2), (w1, w2) = q, q_dot  # two containers unpacked in one assignment
    return t1 * w1 * w2 + t2 * t2 + math.sin(w2)


def swaps_and_unpacks(q, state):
    (t1, t2), (a, b) = q, state  # a container and an array's rows side by side
    return t1 * np.sum(a) + t2 * np.sum(b * b)


@pytest.mark.parametrize("mode", MODES)
def test_a_tuple_of_containers_unpacked_at_once(mode):
    q, q_dot = (0.1, 0.2), (0.3, 0.4)
    gradient = astgrad.grad(lagrangian, mode=mode)(q, q_dot)
    expected = ((0.3 * 0.4, 2 * 0.2), (0.1 * 0.4, 0.1 * 0.3 + math.cos(0.4)))
    assert_same_tree(gradient, expected, rtol=1e-12, atol=1e-12)
    assert_same_tree(gradient[1], tree_difference(lagrangian, (q, q_dot), 1))
    state = np.array([[0.5, -1.0], [2.0, 0.25]])
    d_q, d_state = astgrad.grad(swaps_and_unpacks, mode=mode)([1.5, -0.5], state)
    assert isinstance(d_q, list) and d_q == pytest.approx([0.5 - 1.0, 2.0 ** 2 + 0.25 ** 2], rel=1e-12)
    assert_close(d_state, [[1.5, 1.5], [2 * -0.5 * 2.0, 2 * -0.5 * 0.25]], rtol=1e-12, atol=1e-12)
