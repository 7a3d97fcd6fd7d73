"""`astgrad.graph`: a function's data-flow graph, from its SSA program, as Graphviz DOT text.

    print(astgrad.graph(f))                 # paste into any Graphviz viewer
    astgrad.graph(f, adjoint=True)          # with the reverse sweep drawn beside it

Nodes: one per parameter (ellipse), one per SSA equation after cse (box: the
primitive, ``sin`` or ``*``, above the variable it defines; a value the user
wrote twice is one node), one per use of a constant (plain text), one per free
name the program reads, and ``return``. Edges run from each input to the
equation that uses it, in argument order, and from the returned value to
``return``. An edge says which argument it feeds where the order matters: a
keyword argument by its name (``axis``), a positional one by its position from
1 when the equation has several (``x / y``: ``x`` is 1, ``y`` is 2), except for
the commutative ``+``, ``*``, ``&``, ``|``, ``^``, ``==`` and ``!=``.

With ``adjoint=True`` the graph has two clusters side by side: the primal
sweep (the graph above) and the adjoint sweep, one node per variable that gets
a gradient, named as in the generated code (``d_x``), with an edge from each
equation's adjoint to the adjoint of each input that receives a gradient
through it. Those edges are written input first with ``dir=back``, so each
adjoint sits on the row of its variable and the arrows point up the graph, the
way the reverse sweep runs. A ``seed`` edge joins ``return`` to the output's
adjoint (``d_out``).

The text depends only on the program (no ids, no addresses): the same
function always gives the same graph. `graph` returns it as a `Graph`, a
``str`` that a notebook draws (through Graphviz's ``dot`` when it is
installed). (This module is not called `graph.py`: the public function
`astgrad.graph` would shadow it.)
"""

from __future__ import annotations

import shutil

import gast

from . import api
from .ir import STACK_STATEMENTS, Branch, Loop, all_equations, test_names
from .errors import AstgradError
from .rules import ZERO
from .resolve import OPERATOR_SYMBOLS

COMPARISON_SYMBOLS = {gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">", gast.GtE: ">=", gast.Eq: "==", gast.NotEq: "!="}
COMMUTATIVE = (gast.Add, gast.Mult, gast.BitAnd, gast.BitOr, gast.BitXor, gast.Eq, gast.NotEq)
OUTPUT_NODE = "return"  # a keyword, so never a variable's name
ADJOINT_PREFIX = "adjoint "  # adjoint node ids: a space, so never a variable's name
HEADER = ('    node [fontname="Helvetica"];', '    edge [fontname="Helvetica"];')
ADJOINT_COLOR = '"#c0392b"'
ADJOINT_DEFAULTS = (
    f"node [color={ADJOINT_COLOR}, fontcolor={ADJOINT_COLOR}];",
    f"edge [style=dashed, color={ADJOINT_COLOR}, dir=back];",
)
SEED_STYLE = f'label="seed", style=dashed, color={ADJOINT_COLOR}, fontcolor={ADJOINT_COLOR}, constraint=false'
INSTALL_GRAPHVIZ = (
    "install Graphviz: `apt install graphviz` (Debian, Ubuntu), `brew install graphviz` (macOS), "
    "or see https://graphviz.org/download/"
)
MISSING_DOT = "drawing the graph needs the Graphviz program `dot`, which is not installed\nhint: " + INSTALL_GRAPHVIZ
DOT_TIMEOUT_SECONDS = 60


def graph(fn: api.Function, wrt: api.Wrt = None, adjoint: bool = False) -> Graph:
    """The data-flow graph of `fn` as a `Graph` (DOT text); `adjoint` adds the reverse sweep for `wrt`."""
    api._wrt_key(wrt)
    where = api._caller()
    try:
        return Graph(api._on_deep_stack(_graph, fn, wrt, adjoint, where))
    except AstgradError as error:
        raise error.with_traceback(None) from None


class Graph(str):
    """DOT text that Jupyter and IPython draw: as SVG when Graphviz's ``dot`` is on the PATH.

    It is the text itself (``print`` it, write it to a file, compare it);
    without ``dot``, a notebook shows the text with a hint on installing Graphviz.
    """

    def svg(self):
        """The graph drawn by Graphviz, as SVG text; `GraphvizError` if ``dot`` is missing or fails."""
        return draw(self, "svg").decode("utf-8")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return dict(self._shown())

    def _repr_svg_(self):
        return self._shown().get("image/svg+xml")

    def _repr_pretty_(self, printer, cycle):
        # IPython formats a str's text/plain itself (as a quoted literal) unless the class says how.
        printer.text(self._shown()["text/plain"])

    def _shown(self):
        """What a notebook shows: {mime type: data}, drawn once for each ``dot`` program found."""
        dot_program = shutil.which("dot")
        drawings = self.__dict__.setdefault("_drawings", {})
        if dot_program not in drawings:
            try:
                drawings[dot_program] = {"image/svg+xml": self.svg(), "text/plain": str(self)}
            except GraphvizError as error:
                drawings[dot_program] = {"text/plain": f"{self}\n{error}"}
        return drawings[dot_program]


class GraphvizError(Exception):
    """Graphviz's ``dot`` is not installed, or could not draw the graph."""


def draw(text, output_format):
    """DOT `text` drawn by Graphviz's ``dot`` in `output_format` (``svg``, ``png``, ...), as bytes."""
    import subprocess  # when a picture is first asked for: `import astgrad` stays cheap

    dot_program = shutil.which("dot")
    if dot_program is None:
        raise GraphvizError(MISSING_DOT)
    try:
        result = subprocess.run(
            [dot_program, "-T" + output_format], input=text.encode("utf-8"), capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GraphvizError(f"Graphviz could not draw the graph: {error}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(f"Graphviz could not draw the graph:\n{message}")
    return result.stdout


def _graph(fn, wrt, adjoint, where):
    front = api.front_end(fn, where)
    program = front.program
    names = api._wrt_names(program, front.function, wrt)
    if not adjoint:
        return dot(program)
    api._require_scalar_output(program, front.location, front.function)
    return dot(program, adjoint_names(program, names))


def dot(program, adjoints=None):
    """DOT text for `program`; `adjoints` (variable -> adjoint name) adds the adjoint sweep beside it."""
    lines = [f"digraph {_quote(program.name)} {{", *HEADER]
    if adjoints is None:
        lines += _indented(_primal_lines(program))
    else:
        lines += _cluster("primal", _primal_lines(program))
        lines += _cluster("adjoint", [*ADJOINT_DEFAULTS, *_adjoint_lines(program, adjoints)])
        if isinstance(program.output, gast.Name) and program.output.id in adjoints:
            lines += _indented([_edge(OUTPUT_NODE, ADJOINT_PREFIX + program.output.id, SEED_STYLE)])
    lines.append("}")
    return "\n".join(lines) + "\n"


def _primal_lines(program):
    """The node and edge statements of the data flow: parameters, free names, equations, ``return``."""
    nodes = [_node(param, param, "ellipse") for param in program.all_params]
    nodes += [_node(free, free, "plaintext") for free in _free_names(program)]
    edges = []
    constants = _Constants()
    scope = {}
    nodes += _block_lines(program.body, scope, constants, edges, [0])
    nodes.append(_node(OUTPUT_NODE, OUTPUT_NODE, "doubleoctagon"))
    sources = [_source(atom) for atom in _outputs(program)]
    edges += [_edge(constants.node_id(scope.get(source, source) if isinstance(source, str) else source, nodes),
                    OUTPUT_NODE) for source in sources]  # fmt: skip
    return nodes + edges


def _block_lines(body, scope, constants, edges, branches, suffix=""):
    """The nodes of a block's equations (edges go to `edges`); each branch's blocks as a cluster of their own.

    `scope` maps a name to its node where that is not the name itself: a
    branch's own value for a name it merges is a node of that branch
    (``y|then1``), the merged value after the `if` a diamond named ``y``.
    """
    nodes = []
    for statement in body:
        if isinstance(statement, STACK_STATEMENTS):
            continue
        if isinstance(statement, Loop):
            branches[0] += 1
            number = branches[0]
            inside = dict(scope)
            loop_suffix = f"|loop{number}"
            headers = [h for h, _, _ in statement.carried]
            for h in headers + [statement.target]:
                inside[h] = h + loop_suffix
            inner = [_node(h + loop_suffix, h, "ellipse") for h in headers + [statement.target]]
            inner += _block_lines(statement.body, inside, constants, edges, branches, loop_suffix)
            bounds = ", ".join(gast.unparse(b) for b in statement.bounds)
            nodes += _cluster(f"loop{number}", inner, f"for {statement.target} in range({bounds})")
            for h, init, end in statement.carried:
                source = _source(init)
                tail = scope.get(source, source) if isinstance(source, str) else source
                edges.append(_edge(constants.node_id(tail, nodes), h + loop_suffix, 'label="initial"'))
                source = _source(end)
                tail = inside.get(source, source) if isinstance(source, str) else source
                edges.append(_edge(constants.node_id(tail, nodes), h + loop_suffix,
                                   'label="next", style=dashed, constraint=false'))  # fmt: skip
                node_id = f"{h}|after{number}"
                scope[h] = node_id
                nodes.append(_node(node_id, f"after loop\\n{h}", "diamond"))
                edges.append(_edge(h + loop_suffix, node_id, 'label="last"'))
            continue
        if isinstance(statement, Branch):
            branches[0] += 1
            number = branches[0]
            merged = [target for target, _, _ in statement.merges]
            for arm, block, position in (("then", statement.then, 1), ("else", statement.orelse, 2)):
                arm_scope = dict(scope)
                arm_suffix = f"|{arm}{number}"
                inner = _block_lines(block, arm_scope, constants, edges, branches, arm_suffix)
                label = f"if {gast.unparse(statement.test)}" if arm == "then" else "else"
                nodes += _cluster(f"{arm}{number}", inner, label)
                for target, *atoms in statement.merges:
                    atom = atoms[position - 1]
                    if atom is not None:
                        source = _source(atom)
                        tail = arm_scope.get(source, source) if isinstance(source, str) else source
                        head = target + suffix if suffix else target
                        edges.append(_edge(constants.node_id(tail, nodes), head, f"label={_quote(arm)}"))
            for target in merged:
                scope.pop(target, None)
                if suffix:
                    scope[target] = target + suffix
                nodes.append(_node(target + suffix, f"merge\\n{target}", "diamond"))
            continue
        node_id = statement.target + suffix if suffix else statement.target
        if suffix:
            scope[statement.target] = node_id
        nodes.append(_node(node_id, f"{primitive_label(statement)}\\n{statement.target}", "box"))
        for source, role in _sources(statement):
            attributes = f"label={_quote(role)}" if role else None
            tail = scope.get(source, source) if isinstance(source, str) else source
            edges.append(_edge(constants.node_id(tail, nodes), node_id, attributes))
    return nodes


def _cluster(name, statements, label=None):
    """A labelled ``subgraph cluster_<name>``: Graphviz draws its nodes together, in a frame."""
    return [
        f"    subgraph {_quote('cluster_' + name)} {{",
        f'        label={_quote(label or name)}; fontname="Helvetica";',
        *("        " + statement for statement in statements),
        "    }",
    ]


def _indented(statements):
    return ["    " + statement for statement in statements]


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
    """(param, atom) for each input of `equation`, in argument order (a list argument gives one per element)."""
    rule = equation.rule
    for param, value in zip(rule.params, equation.inputs):
        for atom in value if param == rule.sequence else (value,):
            yield param, atom


def _sources(equation):
    """(source, role) for what feeds `equation`, in argument order.

    A source is a variable's name or a constant written in the call; its role
    labels the edge: the keyword for an optional argument (``axis``, also when
    passed by position), the position from 1 for the others when there are
    several and their order matters, else None. Defaults of arguments the call
    leaves out (``axis=None``) are inputs of the rule, but not written by the
    user: they are left out of the graph.
    """
    written = {id(node) for node in gast.walk(equation.value)}
    optional = equation.rule.optional
    inputs = [(param, atom) for param, atom in _inputs(equation) if _names_in(atom) or id(atom) in written]
    positional_count = sum(param not in optional for param, _ in inputs)
    numbered = positional_count > 1 and not _is_commutative(equation.value)
    position = 0
    for param, atom in inputs:
        if param in optional:
            role = param
        else:
            position += 1
            role = str(position) if numbered else None
        for source in _names_in(atom) or [atom]:
            yield source, role


def _is_commutative(value):
    operator = value.ops[0] if isinstance(value, gast.Compare) else getattr(value, "op", None)
    return isinstance(operator, COMMUTATIVE)


def _source(atom):
    """A variable's name for a name, else the atom (a constant)."""
    return atom.id if isinstance(atom, gast.Name) else atom


def _outputs(program):
    return program.output if isinstance(program.output, tuple) else (program.output,)


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
    for statement in _statements(program.body):
        if isinstance(statement, STACK_STATEMENTS):
            continue
        if isinstance(statement, Loop):
            free += [b.id for b in statement.bounds if isinstance(b, gast.Name) and b.id not in defined]
            defined.update([h for h, _, _ in statement.carried] + [statement.target])
            continue
        if isinstance(statement, Branch):
            free += [n for n in sorted(test_names(statement.test)) if n not in defined]
            defined.update(target for target, _, _ in statement.merges)
            continue
        free += [source for source, _ in _sources(statement) if isinstance(source, str) and source not in defined]
        defined.add(statement.target)
    free += [atom.id for atom in _outputs(program) if isinstance(atom, gast.Name) and atom.id not in defined]
    return list(dict.fromkeys(free))


def adjoint_names(program, wrt):
    """variable -> the name of its adjoint in the generated code, for the variables that get one.

    The reverse stage's own map: the output's adjoint is the seed.
    """
    return api.reverse_adjoint(program, wrt, as_tuple=len(wrt) != 1).names


def _adjoint_lines(program, adjoints):
    """The adjoint sweep: a node per adjoint (parameters first), then its edges in the sweep's order."""
    variables = [param for param in program.all_params if param in adjoints]
    variables += [e.target for e in all_equations(program.body) if e.target in adjoints]
    variables = list(dict.fromkeys(variables))
    shapes = {param: "ellipse" for param in program.all_params}
    nodes = [_node(ADJOINT_PREFIX + v, adjoints[v], shapes.get(v, "box")) for v in variables]
    flow = _gradient_flow(program, adjoints)
    return nodes + [_edge(ADJOINT_PREFIX + source, ADJOINT_PREFIX + target) for target, source in dict.fromkeys(flow)]


def _gradient_flow(program, adjoints):
    """(equation target, input) for each gradient the reverse sweep passes on, last equation first."""
    flow = []
    for equation in reversed(list(_statements(program.body))):
        if isinstance(equation, STACK_STATEMENTS):
            continue
        if isinstance(equation, Loop):
            flow += [(h, atom.id) for h, *atoms in equation.carried for atom in atoms
                     if isinstance(atom, gast.Name) and atom.id in adjoints and atom.id != h]  # fmt: skip
            continue
        if isinstance(equation, Branch):
            flow += [(target, atom.id) for target, *atoms in equation.merges for atom in atoms
                     if isinstance(atom, gast.Name) and atom.id in adjoints and atom.id != target]  # fmt: skip
            continue
        if equation.target not in adjoints:
            continue
        rule = equation.rule
        for param, value in zip(rule.params, equation.inputs):
            if rule.templates[param] is ZERO:
                continue
            for atom in value if param == rule.sequence else (value,):
                if isinstance(atom, gast.Name) and atom.id in adjoints:
                    flow.append((equation.target, atom.id))
    return flow


def _statements(body):
    """Every statement of a block, those inside branches and loops too: a branch after its blocks' statements,
    a loop before its body's."""
    for statement in body:
        if isinstance(statement, Loop):
            yield statement
            yield from _statements(statement.body)
            continue
        if isinstance(statement, Branch):
            yield from _statements(statement.then)
            yield from _statements(statement.orelse)
        yield statement


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
