"""`astgrad.graph`: the DOT text, read back with a small parser, for the seed examples."""

import os
import re

import pytest

import astgrad
from astgrad.cli import load_function
from astgrad.errors import NonScalarOutputError
from support import load_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = re.compile(r'^ +"(?P<id>[^"]+)" \[label="(?P<label>[^"]*)", shape=(?P<shape>\w+)\];$', re.M)
EDGE = re.compile(r'^ +"(?P<tail>[^"]+)" -> "(?P<head>[^"]+)"(?: \[label="(?P<label>[^"]*)"\])?;$', re.M)
ADJOINT_BLOCK = '    {\n        edge [style=dashed, color="#c0392b", fontcolor="#c0392b", constraint=false];\n'


def parse_dot(text):
    """(nodes {id: (label, shape)}, data-flow edges, adjoint edges), edges as (tail, head, label)."""
    assert text.startswith("digraph ") and text.endswith("}\n")
    forward, _, adjoint = text.partition(ADJOINT_BLOCK)
    nodes = {m["id"]: (m["label"], m["shape"]) for m in NODE.finditer(text)}
    assert len(nodes) == len(NODE.findall(text)), "a node id is used twice"

    def edges(part):
        return [(m["tail"], m["head"], m["label"]) for m in EDGE.finditer(part)]

    all_edges = edges(text)
    header, adjoint_block, closing = 3, 3 * bool(adjoint), 1
    assert len(nodes) + len(all_edges) + header + adjoint_block + closing == text.count("\n"), "a line was not parsed"
    for tail, head, _ in all_edges:
        assert tail in nodes and head in nodes
    return nodes, edges(forward), edges(adjoint)


def example(target):
    return load_function(os.path.join(ROOT, "examples", target))


# (target, nodes, data-flow edges, adjoint edges), counted by hand from the SSA programs
SEED_EXAMPLES = [
    ("quickstart.py:f", 6, 5, 5),
    ("relu_sigmoid.py:model", 24, 27, 23),
    ("two_variables.py:f", 18, 23, 21),
]


@pytest.mark.parametrize("target, node_count, edge_count, adjoint_count", SEED_EXAMPLES)
def test_seed_examples_have_the_expected_nodes_and_edges(target, node_count, edge_count, adjoint_count):
    nodes, edges, adjoint_edges = parse_dot(astgrad.graph(example(target), adjoint=True))
    assert (len(nodes), len(edges), len(adjoint_edges)) == (node_count, edge_count, adjoint_count)
    assert parse_dot(astgrad.graph(example(target))) == (nodes, edges, [])


def test_quickstart_graph_text():
    assert astgrad.graph(example("quickstart.py:f"), adjoint=True) == (
        'digraph "f" {\n'
        '    node [fontname="Helvetica"];\n'
        '    edge [fontname="Helvetica"];\n'
        '    "x" [label="x", shape=ellipse];\n'
        '    "y" [label="y", shape=ellipse];\n'
        '    "sin_x" [label="sin\\nsin_x", shape=box];\n'
        '    "cos_y" [label="cos\\ncos_y", shape=box];\n'
        '    "out" [label="*\\nout", shape=box];\n'
        '    "return" [label="return", shape=doubleoctagon];\n'
        '    "x" -> "sin_x";\n'
        '    "y" -> "cos_y";\n'
        '    "sin_x" -> "out";\n'
        '    "cos_y" -> "out";\n'
        '    "out" -> "return";\n'
        "    {\n"
        '        edge [style=dashed, color="#c0392b", fontcolor="#c0392b", constraint=false];\n'
        '        "return" -> "out" [label="d_out"];\n'
        '        "out" -> "sin_x" [label="d_sin_x"];\n'
        '        "out" -> "cos_y" [label="d_cos_y"];\n'
        '        "cos_y" -> "y" [label="d_y"];\n'
        '        "sin_x" -> "x" [label="d_x"];\n'
        "    }\n"
        "}\n"
    )


def test_relu_sigmoid_nodes_show_primitive_and_name():
    nodes, edges, adjoint_edges = parse_dot(astgrad.graph(example("relu_sigmoid.py:model"), adjoint=True))
    assert nodes["sigmoid_a"] == ("/\\nsigmoid_a", "box")
    assert nodes["relu_x"] == ("max\\nrelu_x", "box")
    assert nodes["power"] == ("**\\npower", "box")
    assert nodes["a"] == ("a", "ellipse")
    constants = sorted(label for label, shape in nodes.values() if shape == "plaintext")
    assert constants == ["0.0", "1", "1", "5"]
    assert [tail for tail, head, _ in edges if head == "power"] == ["log_diff_plus_5", "a"]
    # No gradient flows into the constant 0.0 of max(x, 0.0), nor into 5 or 1.
    assert all(nodes[head][1] != "plaintext" for _, head, _ in adjoint_edges)
    assert ("relu_x", "x", "d_x") in adjoint_edges
    assert [label for _, head, label in adjoint_edges if head == "a"] == ["d_a", "d_a", "d_a"]


@pytest.mark.parametrize("target", [case[0] for case in SEED_EXAMPLES])
def test_adjoint_labels_are_the_names_in_the_generated_code(target):
    fn = example(target)
    _, _, adjoint_edges = parse_dot(astgrad.graph(fn, adjoint=True))
    reverse = astgrad.explain(fn)["reverse"]
    assigned = set(re.findall(r"^    (\w+) = ", reverse, flags=re.M)) | {"d_out"}
    assert {label for _, _, label in adjoint_edges} <= assigned


def test_only_the_chosen_parameters_get_adjoint_edges():
    _, _, adjoint_edges = parse_dot(astgrad.graph(example("quickstart.py:f"), wrt="y", adjoint=True))
    assert adjoint_edges == [("return", "out", "d_out"), ("out", "cos_y", "d_cos_y"), ("cos_y", "y", "d_y")]


def test_names_that_collide_get_the_suffixed_adjoint(tmp_path):
    module = load_module(tmp_path, "def k(x):\n    d_x = x * 2.0\n    return d_x * x\n")
    _, _, adjoint_edges = parse_dot(astgrad.graph(module.k, adjoint=True))
    assert adjoint_edges == [
        ("return", "out", "d_out"),
        ("out", "d_x", "d_d_x"),
        ("out", "x", "d_x_1"),
        ("d_x", "x", "d_x_1"),
    ]


def test_parameter_returned_as_is_and_a_global_name(tmp_path):
    module = load_module(
        tmp_path, "SCALE = 3.0\n\ndef ident(x):\n    return x\n\ndef scaled(x):\n    return SCALE * x\n"
    )
    nodes, edges, adjoint_edges = parse_dot(astgrad.graph(module.ident, adjoint=True))
    assert (edges, adjoint_edges) == ([("x", "return", None)], [("return", "x", "d_out")])
    nodes, edges, _ = parse_dot(astgrad.graph(module.scaled))
    assert nodes["SCALE"] == ("SCALE", "plaintext")
    assert ("SCALE", "out", None) in edges


def test_tuple_output_has_a_graph_but_no_adjoint(tmp_path):
    module = load_module(tmp_path, "def pair(x, y):\n    return x + y, x * y\n")
    _, edges, _ = parse_dot(astgrad.graph(module.pair))
    assert [tail for tail, head, _ in edges if head == "return"] == ["x_plus_y", "x_times_y"]
    with pytest.raises(NonScalarOutputError):
        astgrad.graph(module.pair, adjoint=True)


def test_numpy_methods_indexing_lists_and_left_out_defaults(tmp_path):
    module = load_module(
        tmp_path,
        """
        import numpy as np

        def loss(w, x):
            y = np.tanh(x @ w)
            z = np.stack([y, y * 2.0])
            return np.sum(z[0] * w.T) + z.sum(axis=0).mean()
        """,
    )
    nodes, edges, adjoint_edges = parse_dot(astgrad.graph(module.loss, adjoint=True))
    labels = {node_id: label.split("\\n")[0] for node_id, (label, _) in nodes.items()}
    assert [labels[n] for n in ("x_matmul_w", "z", "z_0", "w_T", "sum_z", "mean_sum_z")] == [
        "@", "np.stack", "[]", ".T", ".sum()", ".mean()",
    ]  # fmt: skip
    assert [tail for tail, head, _ in edges if head == "z"] == ["y", "prod"]
    # The index 0 and axis=0 are written in the source; np.sum's axis=None and keepdims=False are not.
    assert sorted(label for label, shape in nodes.values() if shape == "plaintext") == ["0", "0", "2.0"]
    assert ("z", "prod", "d_prod") in adjoint_edges and ("w_T", "w", "d_w") in adjoint_edges
    reverse = astgrad.explain(module.loss)["reverse"]
    assert {label for _, _, label in adjoint_edges} <= set(re.findall(r"^    (\w+) = ", reverse, flags=re.M))
