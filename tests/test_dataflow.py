"""`astgrad.graph`: the DOT text, read back with a small parser, and its drawing in a notebook."""

import os
import re
import shutil
import sys
from dataclasses import dataclass

import pytest

import astgrad
from astgrad.cli import load_function
from astgrad.dataflow import Graph
from astgrad.errors import NonScalarOutputError
from support import load_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = re.compile(r'^"(?P<id>[^"]+)" \[label="(?P<label>[^"]*)", shape=(?P<shape>\w+)\];$')
EDGE = re.compile(r'^"(?P<tail>[^"]+)" -> "(?P<head>[^"]+)"(?: \[(?P<attributes>.*)\])?;$')
ROLE = re.compile(r'^label="(?P<role>[^"]+)"$')
ADJOINT = "adjoint "
HEADER = ["node [fontname=\"Helvetica\"];", "edge [fontname=\"Helvetica\"];"]
ADJOINT_DEFAULTS = [
    'node [color="#c0392b", fontcolor="#c0392b"];',
    'edge [style=dashed, color="#c0392b", dir=back];',
]
SEED = 'label="seed", style=dashed, color="#c0392b", fontcolor="#c0392b", constraint=false'


@dataclass
class Dot:
    """A graph read back: the primal nodes and edges, and the adjoint sweep (empty without adjoint=True)."""

    nodes: dict  # node id -> (label, shape)
    edges: list  # (tail, head, role): role is the edge label (an argument's position or keyword), or None
    adjoint_nodes: dict  # variable -> (adjoint label, shape)
    flow: list  # (variable, input): a gradient passed from the variable's adjoint to the input's, in order
    seed: str = None  # the variable the seed edge from `return` reaches


def parse_dot(text):
    """A `Dot`, after checking that every line of `text` is one of the statements `graph` writes."""
    lines = text.splitlines()
    assert lines[0].startswith("digraph ") and lines[0].endswith(" {") and lines[-1] == "}"
    body = [line.strip() for line in lines[1:-1]]
    assert body[:2] == HEADER
    body = body[2:]
    if body and body[0] == 'subgraph "cluster_primal" {':
        primal_end = body.index("}")
        primal, rest = body[2:primal_end], body[primal_end + 1 :]
        assert body[1] == 'label="primal"; fontname="Helvetica";'
        assert rest[:2] == ['subgraph "cluster_adjoint" {', 'label="adjoint"; fontname="Helvetica";']
        assert rest[2:4] == ADJOINT_DEFAULTS
        adjoint_end = rest.index("}")
        adjoint, after = rest[4:adjoint_end], rest[adjoint_end + 1 :]
    else:
        primal, adjoint, after = body, [], []
    nodes, edges = _statements(primal)
    adjoint_node_lines, adjoint_edges = _statements(adjoint)
    for tail, head, _ in edges:
        assert tail in nodes and head in nodes
    adjoint_nodes = {}
    for node_id, (label, shape) in adjoint_node_lines.items():
        assert node_id.startswith(ADJOINT)
        adjoint_nodes[node_id[len(ADJOINT) :]] = (label, shape)
    flow = []
    for tail, head, attributes in adjoint_edges:  # written input first, drawn with dir=back
        assert attributes is None and tail.startswith(ADJOINT) and head.startswith(ADJOINT)
        flow.append((head[len(ADJOINT) :], tail[len(ADJOINT) :]))
    seed = None
    if after:
        ((tail, head, attributes),) = [_edge(line) for line in after]
        assert (tail, attributes) == ("return", SEED)
        seed = head[len(ADJOINT) :]
    for variable, input_ in flow:
        assert variable in adjoint_nodes and input_ in adjoint_nodes
    return Dot(nodes, [(t, h, _role(a)) for t, h, a in edges], adjoint_nodes, flow, seed)


def _statements(lines):
    nodes, edges = {}, []
    for line in lines:
        node = NODE.match(line)
        if node:
            assert node["id"] not in nodes, "a node id is used twice"
            nodes[node["id"]] = (node["label"], node["shape"])
        else:
            edges.append(_edge(line))
    return nodes, edges


def _edge(line):
    edge = EDGE.match(line)
    assert edge, f"not a node or an edge: {line!r}"
    return edge["tail"], edge["head"], edge["attributes"]


def _role(attributes):
    if attributes is None:
        return None
    match = ROLE.match(attributes)
    assert match, attributes
    return match["role"]


def example(target):
    return load_function(os.path.join(ROOT, "examples", target))


def into(dot, head):
    """(tail, role) of each edge into `head`, in order."""
    return [(tail, role) for tail, edge_head, role in dot.edges if edge_head == head]


# (target, nodes, data-flow edges, adjoints, gradient edges), counted by hand from the SSA programs
SEED_EXAMPLES = [
    ("quickstart.py:f", 6, 5, 5, 4),
    ("relu_sigmoid.py:model", 24, 27, 19, 22),
    ("two_variables.py:f", 18, 23, 15, 20),
]


@pytest.mark.parametrize("target, node_count, edge_count, adjoint_count, flow_count", SEED_EXAMPLES)
def test_seed_examples_have_the_expected_nodes_and_edges(target, node_count, edge_count, adjoint_count, flow_count):
    fn = example(target)
    dot = parse_dot(astgrad.graph(fn, adjoint=True))
    assert (len(dot.nodes), len(dot.edges), len(dot.adjoint_nodes), len(dot.flow)) == (
        node_count, edge_count, adjoint_count, flow_count,
    )  # fmt: skip
    # The primal cluster holds exactly the graph drawn without the adjoint.
    primal = parse_dot(astgrad.graph(fn))
    assert (primal.nodes, primal.edges, primal.adjoint_nodes, primal.flow, primal.seed) == (
        dot.nodes, dot.edges, {}, [], None,
    )  # fmt: skip


def test_quickstart_graph_text():
    assert astgrad.graph(example("quickstart.py:f"), adjoint=True) == (
        'digraph "f" {\n'
        '    node [fontname="Helvetica"];\n'
        '    edge [fontname="Helvetica"];\n'
        '    subgraph "cluster_primal" {\n'
        '        label="primal"; fontname="Helvetica";\n'
        '        "x" [label="x", shape=ellipse];\n'
        '        "y" [label="y", shape=ellipse];\n'
        '        "sin_x" [label="sin\\nsin_x", shape=box];\n'
        '        "cos_y" [label="cos\\ncos_y", shape=box];\n'
        '        "out" [label="*\\nout", shape=box];\n'
        '        "return" [label="return", shape=doubleoctagon];\n'
        '        "x" -> "sin_x";\n'
        '        "y" -> "cos_y";\n'
        '        "sin_x" -> "out";\n'
        '        "cos_y" -> "out";\n'
        '        "out" -> "return";\n'
        "    }\n"
        '    subgraph "cluster_adjoint" {\n'
        '        label="adjoint"; fontname="Helvetica";\n'
        '        node [color="#c0392b", fontcolor="#c0392b"];\n'
        '        edge [style=dashed, color="#c0392b", dir=back];\n'
        '        "adjoint x" [label="d_x", shape=ellipse];\n'
        '        "adjoint y" [label="d_y", shape=ellipse];\n'
        '        "adjoint sin_x" [label="d_sin_x", shape=box];\n'
        '        "adjoint cos_y" [label="d_cos_y", shape=box];\n'
        '        "adjoint out" [label="d_out", shape=box];\n'
        '        "adjoint sin_x" -> "adjoint out";\n'
        '        "adjoint cos_y" -> "adjoint out";\n'
        '        "adjoint y" -> "adjoint cos_y";\n'
        '        "adjoint x" -> "adjoint sin_x";\n'
        "    }\n"
        '    "return" -> "adjoint out" [label="seed", style=dashed, color="#c0392b", fontcolor="#c0392b", '
        "constraint=false];\n"
        "}\n"
    )


def test_relu_sigmoid_nodes_show_primitive_name_and_operand_order():
    dot = parse_dot(astgrad.graph(example("relu_sigmoid.py:model"), adjoint=True))
    assert dot.nodes["sigmoid_a"] == ("/\\nsigmoid_a", "box")
    assert dot.nodes["relu_x"] == ("max\\nrelu_x", "box")
    assert dot.nodes["power"] == ("**\\npower", "box")
    assert dot.nodes["a"] == ("a", "ellipse")
    constants = sorted(label for label, shape in dot.nodes.values() if shape == "plaintext")
    assert constants == ["0.0", "1", "1", "5"]
    assert into(dot, "power") == [("log_diff_plus_5", "1"), ("a", "2")]  # log(...) ** a
    assert into(dot, "power_over_b") == [("power", "1"), ("b", "2")]
    assert into(dot, "diff") == [("sin_a_times_b", "1"), ("exp_c", "2")]
    assert [role for _, role in into(dot, "sigmoid_a")] == ["1", "2"]  # 1 / total
    assert into(dot, "a_times_b") == [("a", None), ("b", None)]  # * is commutative
    # No gradient flows into the constant 0.0 of max(x, 0.0), nor into 5 or 1.
    assert all(dot.nodes[input_][1] != "plaintext" for _, input_ in dot.flow)
    assert dot.seed == "relu_x" and dot.adjoint_nodes["relu_x"] == ("d_out", "box")
    assert dot.flow[0] == ("relu_x", "x")
    assert [variable for variable, input_ in dot.flow if input_ == "a"] == ["power", "a_times_b", "neg_a"]
    assert dot.adjoint_nodes["a"] == ("d_a", "ellipse")


def graph_of(tmp_path, source, adjoint=False):
    module = load_module(tmp_path, source)
    return parse_dot(astgrad.graph(module.f, adjoint=adjoint))


@pytest.mark.parametrize("operator", ["/", "-", "**", "@", "<", ">="])
def test_operands_of_an_operator_whose_order_matters_are_numbered(tmp_path, operator):
    forward = astgrad.graph(load_module(tmp_path, f"def f(x, y):\n    return x {operator} y\n").f)
    backward = astgrad.graph(load_module(tmp_path, f"def f(x, y):\n    return y {operator} x\n").f)
    assert forward != backward  # the same picture before operands were numbered
    assert into(parse_dot(forward), "out") == [("x", "1"), ("y", "2")]
    assert into(parse_dot(backward), "out") == [("y", "1"), ("x", "2")]


@pytest.mark.parametrize("operator", ["+", "*", "==", "!="])
def test_operands_of_a_commutative_operator_are_not_numbered(tmp_path, operator):
    dot = graph_of(tmp_path, f"def f(x, y):\n    return x {operator} y\n")
    assert into(dot, "out") == [("x", None), ("y", None)]


def test_positional_arguments_of_calls_are_numbered(tmp_path):
    dot = graph_of(
        tmp_path,
        """
        import math
        import numpy as np

        def f(x, y, c):
            angle = math.atan2(y, x)
            chosen = np.where(c, x, 2.0)
            stacked = np.stack([y, x])
            return np.sum(np.exp(angle) * chosen * stacked)
        """,
    )
    assert into(dot, "angle") == [("y", "1"), ("x", "2")]
    assert [(dot.nodes[tail][0], role) for tail, role in into(dot, "chosen")] == [("c", "1"), ("x", "2"), ("2.0", "3")]
    assert into(dot, "stacked") == [("y", "1"), ("x", "2")]
    assert into(dot, "exp_angle") == [("angle", None)]  # one argument: no number


def test_keyword_arguments_are_labelled_with_their_names(tmp_path):
    dot = graph_of(
        tmp_path,
        """
        import numpy as np

        def f(x):
            top = np.max(x, axis=1, keepdims=True)
            total = np.sum(x - top, 0)
            return total.sum(axis=0)
        """,
    )
    assert into(dot, "top") == [("x", None), ("#1", "axis"), ("#2", "keepdims")]
    assert (dot.nodes["#1"], dot.nodes["#2"]) == (("1", "plaintext"), ("True", "plaintext"))
    # The axis passed by position is labelled with its name too.
    assert into(dot, "total") == [("x_minus_top", None), ("#3", "axis")]
    assert into(dot, "out") == [("total", None), ("#4", "axis")]
    assert dot.nodes["#3"] == dot.nodes["#4"] == ("0", "plaintext")


@pytest.mark.parametrize("target", [case[0] for case in SEED_EXAMPLES])
def test_adjoint_labels_are_the_names_in_the_generated_code(target):
    fn = example(target)
    dot = parse_dot(astgrad.graph(fn, adjoint=True))
    reverse = astgrad.explain(fn)["reverse"]
    assigned = set(re.findall(r"^    (\w+) = ", reverse, flags=re.M)) | {"d_out"}
    assert {label for label, _ in dot.adjoint_nodes.values()} <= assigned


def test_only_the_chosen_parameters_get_adjoints():
    dot = parse_dot(astgrad.graph(example("quickstart.py:f"), wrt="y", adjoint=True))
    assert dot.adjoint_nodes == {"y": ("d_y", "ellipse"), "cos_y": ("d_cos_y", "box"), "out": ("d_out", "box")}
    assert (dot.flow, dot.seed) == ([("out", "cos_y"), ("cos_y", "y")], "out")


def test_names_that_collide_get_the_suffixed_adjoint(tmp_path):
    dot = graph_of(tmp_path, "def f(x):\n    d_x = x * 2.0\n    return d_x * x\n", adjoint=True)
    assert {variable: label for variable, (label, _) in dot.adjoint_nodes.items()} == {
        "x": "d_x_1", "d_x": "d_d_x", "out": "d_out",
    }  # fmt: skip
    assert dot.flow == [("out", "d_x"), ("out", "x"), ("d_x", "x")]


def test_parameter_returned_as_is_and_a_global_name(tmp_path):
    module = load_module(
        tmp_path, "SCALE = 3.0\n\ndef ident(x):\n    return x\n\ndef scaled(x):\n    return SCALE * x\n"
    )
    dot = parse_dot(astgrad.graph(module.ident, adjoint=True))
    assert dot.edges == [("x", "return", None)]
    assert (dot.adjoint_nodes, dot.flow, dot.seed) == ({"x": ("d_out", "ellipse")}, [], "x")
    dot = parse_dot(astgrad.graph(module.scaled))
    assert dot.nodes["SCALE"] == ("SCALE", "plaintext")
    assert ("SCALE", "out", None) in dot.edges


def test_tuple_output_has_a_graph_but_no_adjoint(tmp_path):
    module = load_module(tmp_path, "def pair(x, y):\n    return x + y, x * y\n")
    dot = parse_dot(astgrad.graph(module.pair))
    assert into(dot, "return") == [("x_plus_y", None), ("x_times_y", None)]
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
    dot = parse_dot(astgrad.graph(module.loss, adjoint=True))
    labels = {node_id: label.split("\\n")[0] for node_id, (label, _) in dot.nodes.items()}
    assert [labels[n] for n in ("x_matmul_w", "z", "z_0", "w_T", "sum_z", "mean_sum_z")] == [
        "@", "np.stack", "[]", ".T", ".sum()", ".mean()",
    ]  # fmt: skip
    assert into(dot, "z") == [("y", "1"), ("prod", "2")]
    assert [(labels[tail], role) for tail, role in into(dot, "z_0")] == [("np.stack", "1"), ("0", "2")]
    # The index 0 and axis=0 are written in the source; np.sum's axis=None and keepdims=False are not.
    assert sorted(label for label, shape in dot.nodes.values() if shape == "plaintext") == ["0", "0", "2.0"]
    assert ("z", "prod") in dot.flow and ("w_T", "w") in dot.flow
    reverse = astgrad.explain(module.loss)["reverse"]
    assigned = set(re.findall(r"^    (\w+) = ", reverse, flags=re.M)) | {"d_out"}
    assert {label for label, _ in dot.adjoint_nodes.values()} <= assigned


# Drawing in a notebook: Jupyter shows the SVG of `_repr_mimebundle_` (or `_repr_svg_`).

QUICKSTART = example("quickstart.py:f")
FAKE_DOT = (
    # Stands in for Graphviz: an "SVG" holding its arguments and the DOT text it reads.
    f"#!{sys.executable}\n"
    "import sys\n"
    "sys.stdout.write('<svg>' + ' '.join(sys.argv[1:]) + '\\n' + sys.stdin.read() + '</svg>')\n"
)
FAILING_DOT = f"#!{sys.executable}\nimport sys\nsys.exit('Error: <stdin>: syntax error in line 1')\n"


def put_on_path(monkeypatch, tmp_path, script):
    """Make `script` the only `dot` on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text(script)
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_graph_is_its_dot_text():
    graph = astgrad.graph(QUICKSTART)
    assert isinstance(graph, Graph) and isinstance(graph, str)
    text = str(graph)
    assert type(text) is str and text == graph and text.startswith('digraph "f" {\n')
    assert f"{graph}" == text and graph + "" == text and graph.splitlines()[0] == 'digraph "f" {'


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in `dot` is a script run by its #! line")
def test_notebook_gets_the_svg_that_dot_draws(monkeypatch, tmp_path):
    put_on_path(monkeypatch, tmp_path, FAKE_DOT)
    graph = astgrad.graph(QUICKSTART, adjoint=True)
    expected_svg = f"<svg>-Tsvg\n{graph}</svg>"
    assert graph._repr_mimebundle_() == {"image/svg+xml": expected_svg, "text/plain": str(graph)}
    assert graph._repr_svg_() == expected_svg == graph.svg()
    assert shown_as_text(graph) == str(graph)


class TextPrinter:
    """Stands in for IPython's pretty printer, which asks `_repr_pretty_` for a str subclass's text."""

    def __init__(self):
        self.texts = []

    def text(self, text):
        self.texts.append(text)


def shown_as_text(graph):
    printer = TextPrinter()
    graph._repr_pretty_(printer, cycle=False)
    return "".join(printer.texts)


def test_a_graph_is_drawn_once_while_dot_stays_the_same(monkeypatch, tmp_path):
    put_on_path(monkeypatch, tmp_path, FAKE_DOT)
    graph = astgrad.graph(QUICKSTART)
    calls, draw = [], Graph.svg
    monkeypatch.setattr(Graph, "svg", lambda self: calls.append(self) or draw(self))
    for _ in range(2):
        assert graph._repr_mimebundle_()["image/svg+xml"] == graph._repr_svg_() == f"<svg>-Tsvg\n{graph}</svg>"
        assert shown_as_text(graph) == str(graph)
    assert len(calls) == 1
    monkeypatch.setenv("PATH", str(tmp_path))  # Graphviz gone: looked for again
    assert list(graph._repr_mimebundle_()) == ["text/plain"]


def test_notebook_without_graphviz_gets_the_text_and_an_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    graph = astgrad.graph(QUICKSTART)
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    shown = bundle["text/plain"]
    assert shown.startswith(str(graph))
    assert shown[len(graph) :] == (
        "\ndrawing the graph needs the Graphviz program `dot`, which is not installed\n"
        "hint: install Graphviz: `apt install graphviz` (Debian, Ubuntu), `brew install graphviz` (macOS), "
        "or see https://graphviz.org/download/"
    )
    assert graph._repr_svg_() is None
    assert shown_as_text(graph) == shown
    with pytest.raises(astgrad.dataflow.GraphvizError, match="not installed"):
        graph.svg()


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in `dot` is a script run by its #! line")
def test_notebook_gets_the_text_and_graphviz_message_when_dot_fails(monkeypatch, tmp_path):
    put_on_path(monkeypatch, tmp_path, FAILING_DOT)
    graph = astgrad.graph(QUICKSTART)
    assert graph._repr_mimebundle_() == {
        "text/plain": f"{graph}\nGraphviz could not draw the graph:\nError: <stdin>: syntax error in line 1"
    }
    assert graph._repr_svg_() is None
    assert shown_as_text(graph) == graph._repr_mimebundle_()["text/plain"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="an extra check with Graphviz itself, where it is installed")
def test_real_graphviz_draws_every_node():
    graph = astgrad.graph(example("relu_sigmoid.py:model"), adjoint=True)
    svg = graph._repr_svg_()
    assert svg.startswith("<?xml") and svg.rstrip().endswith("</svg>")
    for variable in ("a", "relu_x", "adjoint relu_x", "adjoint a"):
        assert f"<title>{variable}</title>" in svg


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in `dot` is a script run by its #! line")
def test_a_dot_that_cannot_run_is_reported_too(monkeypatch, tmp_path):
    put_on_path(monkeypatch, tmp_path, "#!/no/such/interpreter\n")
    graph = astgrad.graph(QUICKSTART)
    shown = graph._repr_mimebundle_()["text/plain"]
    assert shown.startswith(f"{graph}\nGraphviz could not draw the graph: ")
    assert "No such file or directory" in shown and graph._repr_svg_() is None
