"""`astgrad.graph`: a function's data-flow graph, from its SSA program, as Graphviz DOT text.

    print(astgrad.graph(f))                 # paste into any Graphviz viewer
    astgrad.graph(f, adjoint=True)          # with the reverse sweep drawn in

Nodes: one per parameter (ellipse), one per SSA equation (box: the primitive,
``sin`` or ``*``, above the variable it defines), one per use of a constant
(plain text), one per free name the program reads, and ``return``. Edges run
from each input to the equation that uses it, in argument order, and from the
returned value to ``return``.

With ``adjoint=True``, dashed edges run the other way: from ``return`` to the
returned value, labelled with the output seed (``d_out``), and from each
equation to each input that receives a gradient through it, labelled with the
adjoint that gradient is added to (``d_x``): the names of the generated code.

The text depends only on the program (no ids, no addresses): the same
function always gives the same graph. (This module is not called `graph.py`:
the public function `astgrad.graph` would shadow it.)
"""


import gast

from . import api, reverse
from .errors import AstgradError
from .rules import ZERO
from .resolve import OPERATOR_SYMBOLS

COMPARISON_SYMBOLS = {gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">", gast.GtE: ">=", gast.Eq: "==", gast.NotEq: "!="}
OUTPUT_NODE = "return"  # a keyword, so never a variable's name
HEADER = ('    node [fontname="Helvetica"];', '    edge [fontname="Helvetica"];')
ADJOINT_STYLE = 'style=dashed, color="#c0392b", fontcolor="#c0392b", constraint=false'


def graph(fn, wrt=None, adjoint=False):
    """The data-flow graph of `fn` as DOT text; `adjoint` adds the reverse sweep's edges for `wrt`."""
    api._wrt_key(wrt)
    where = api._caller()
    try:
        return api._on_deep_stack(_graph, fn, wrt, adjoint, where)
    except AstgradError as error:
        raise error.with_traceback(None) from None


def _graph(fn, wrt, adjoint, where):
    front = api.front_end(fn, where)
    program = front.program
    names = api._wrt_names(program, front.function, wrt)
    if not adjoint:
        return dot(program)
    api._require_scalar_output(program, front.location, front.function)
    return dot(program, adjoint_names(program, names))


def dot(program, adjoints=None):
    """DOT text for `program`; `adjoints` (variable -> adjoint name) adds the adjoint edges."""
    nodes = [_node(param, param, "ellipse") for param in program.all_params]
    nodes += [_node(free, free, "plaintext") for free in _free_names(program)]
    edges = []
    constants = _Constants()
    for equation in program.equations:
        nodes.append(_node(equation.target, f"{primitive_label(equation)}\\n{equation.target}", "box"))
        edges += [_edge(constants.node_id(source, nodes), equation.target) for source in _sources(equation)]
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    nodes.append(_node(OUTPUT_NODE, OUTPUT_NODE, "doubleoctagon"))
    edges += [_edge(constants.node_id(_source(atom), nodes), OUTPUT_NODE) for atom in outputs]
    lines = [f"digraph {_quote(program.name)} {{", *HEADER]
    lines += ["    " + line for line in nodes + edges]
    if adjoints is not None:
        lines += ["    {", f"        edge [{ADJOINT_STYLE}];"]
        lines += ["        " + line for line in _adjoint_edges(program, adjoints)]
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def primitive_label(equation):
    """What an equation applies, as a reader writes it: ``sin``, ``math.exp``, ``*``, ``<``, ``.sum()``, ``[]``."""
    value = equation.value
    if isinstance(value, gast.Call):
        method = equation.rule.fn if isinstance(equation.rule.fn, str) else None  # ".sum" for x.sum()
        return method + "()" if method else gast.unparse(value.func)
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return OPERATOR_SYMBOLS[type(value.op)]
    if isinstance(value, gast.Compare):
        return COMPARISON_SYMBOLS[type(value.ops[0])]
    if isinstance(value, gast.Attribute):
        return "." + value.attr
    if isinstance(value, gast.Subscript):
        return "[]"
    return equation.rule.expression


def _inputs(equation):
    """Each input atom of `equation`, in argument order (a list argument gives one per element)."""
    rule = equation.rule
    for param, value in zip(rule.params, equation.inputs):
        yield from value if param == rule.sequence else (value,)


def _sources(equation):
    """What feeds `equation`, in argument order: variable names, and constants written in the call.

    Defaults of arguments the call leaves out (``axis=None``) are inputs of the
    rule, but not written by the user: they are left out of the graph.
    """
    written = {id(node) for node in gast.walk(equation.value)}
    for atom in _inputs(equation):
        names = _names_in(atom)
        if names:
            yield from names
        elif id(atom) in written:
            yield atom


def _source(atom):
    """A variable's name for a name, else the atom (a constant)."""
    return atom.id if isinstance(atom, gast.Name) else atom


def _names_in(node):
    """The variable names `node` reads (``i`` in the index ``i, 0``); ``math.pi`` reads none."""
    if isinstance(node, gast.Name):
        return [node.id]
    if isinstance(node, gast.Attribute):
        return []
    return [found for child in gast.iter_child_nodes(node) for found in _names_in(child)]


def _free_names(program):
    """Names the program reads that it does not define (a module's global constants), in order."""
    defined = set(program.all_params)
    free = []
    for equation in program.equations:
        free += [source for source in _sources(equation) if isinstance(source, str) and source not in defined]
        defined.add(equation.target)
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    free += [atom.id for atom in outputs if isinstance(atom, gast.Name) and atom.id not in defined]
    return list(dict.fromkeys(free))


def adjoint_names(program, wrt):
    """variable -> the name of its adjoint in the generated code, for the variables that get one.

    The reverse stage's own map: the output's adjoint is the seed.
    """
    return reverse.reverse(program, wrt, as_tuple=len(wrt) != 1).names


def _adjoint_edges(program, adjoints):
    """The reverse sweep's edges, in its order: the seed first, then last equation to first."""
    edges = []
    output = program.output
    if isinstance(output, gast.Name) and output.id in adjoints:
        edges.append(_edge(OUTPUT_NODE, output.id, f"label={_quote(adjoints[output.id])}"))
    for equation in reversed(program.equations):
        if equation.target not in adjoints:
            continue
        rule = equation.rule
        for param, value in zip(rule.params, equation.inputs):
            if rule.templates[param] is ZERO:
                continue
            for atom in value if param == rule.sequence else (value,):
                if isinstance(atom, gast.Name) and atom.id in adjoints:
                    edges.append(_edge(equation.target, atom.id, f"label={_quote(adjoints[atom.id])}"))
    return edges


class _Constants:
    """Node ids for the non-name inputs (numbers, ``math.pi``): one node per use, numbered in order."""

    def __init__(self):
        self.count = 0

    def node_id(self, source, nodes):
        """The node id an edge from `source` (a name or a constant) starts at, adding a node for a constant."""
        if isinstance(source, str):
            return source
        self.count += 1
        node_id = f"#{self.count}"  # '#' cannot start a Python name
        nodes.append(_node(node_id, gast.unparse(source), "plaintext"))
        return node_id


def _node(node_id, label, shape):
    return f"{_quote(node_id)} [label={_quote(label)}, shape={shape}];"


def _edge(tail, head, attributes=None):
    suffix = f" [{attributes}]" if attributes else ""
    return f"{_quote(tail)} -> {_quote(head)}{suffix};"


def _quote(text):
    """A DOT quoted string (labels hold no backslash but the line breaks ``\\n`` written on purpose)."""
    return '"' + text.replace('"', '\\"') + '"'
