"""Stage 3, resolve: every call target resolved, user helpers inlined.

Takes the checked function and gives a `Resolved` program: a flat list of
statements (assignments, augmented assignments, one final return) in which

* every call names an entry of the primitive table (`math.sin`, `np.exp`,
  ``from math import sin as s``, builtins such as `max`), in the spelling the
  user wrote it, and its `ir.Match` (the rule, its inputs bound to the call's
  resolved arguments) is in `Resolved.matches`, for ssa: a call is matched
  once, here;
* every call of a user's pure-Python straight-line helper has been replaced by
  the helper's statements (its locals renamed where they would collide, its
  parameters bound to the arguments) and its returned expression; helpers
  calling helpers work, recursion is refused;
* functions used as values are known here and inlined where they are
  called: a function passed to a helper (``rk4(f, y, dt)`` with `f` a
  module-level function, a lambda or ``np.tanh``), a default argument that is
  a function, a lambda bound to a name or a nested ``def`` in the body (its
  free names mean what they mean in the body around it, read when it is
  called, as Python's closures read them). A function only known when the
  code runs (a parameter called as a function) is a located error;
* every free name means in the generated function what it meant where it was
  written (a helper from another module gets its globals through
  `Namespace.reference`).

Anything else a call could name has no derivative: `NoDerivativeError`,
naming the callee and the place of the call.

Resolve goes on past an obstacle, to report every one at once: a refused
expression (a call, and what contains it) stands for a placeholder value and
the rest of the statement is resolved; the statements the check refused are
passed over, the names they bind taken as assigned (calls of the names,
and of what a refused ``def`` or ``import`` binds, are not refused again). A helper's obstacles, the check's included, are listed at
the call that inlines it. The error raised is the first obstacle met (the one raised
if resolve stopped there), listing them all in source order
(`errors.all_obstacles`).
"""

import copy

import builtins
import inspect
import itertools
import numbers
import random
import types
from dataclasses import dataclass, replace

import gast
import numpy as np

from . import check, desugar, parse, rules, runtime, templates, varargs
from .errors import PRIMITIVE_TABLE, AstgradError, Location, NoDerivativeError, UnsupportedSyntaxError, all_obstacles
from .ir import Match, Matches, assigned_names, parameter_names
from .names import Namespace, copy_atom, dotted_name, name, root_name
from .rules import BINARY_OPERATORS, UNARY_OPERATORS

OPERATOR_SYMBOLS = {
    gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**", gast.MatMult: "@",
    gast.FloorDiv: "//", gast.Mod: "%", gast.USub: "-", gast.UAdd: "+", gast.Not: "not", gast.Invert: "~",
}  # fmt: skip
def no_derivative_hint(callee, arity):
    """The hint for a call with no rule and no source to inline: the table, or a rule of the user's own."""
    if arity == 0:  # a value that does not depend on the parameters
        return f"use a function from {PRIMITIVE_TABLE}, or call it outside the function and pass the value in"
    inputs = ["x"] if arity == 1 else ["x", "y"] if arity == 2 else [f"x{k}" for k in range(1, arity + 1)]
    partials = ", ".join(f'{p}="..."' for p in inputs)
    return (
        f"use a function from {PRIMITIVE_TABLE}, or give `{callee}` a derivative: "
        f"astgrad.derivative(\"out = {callee}({', '.join(inputs)})\", {partials}) with the partial for each input, "
        "or astgrad.adjoint(...) if it is not elementwise (see help(astgrad.derivative))"
    )


@dataclass
class _Known:
    """A function value known at transform time: the object, and where its expression was written (to spell it)."""

    value: object
    node: object = None  # the expression naming it (None for a default argument)
    scope: object = None


@dataclass
class _Local:
    """A lambda or nested def written in a body: inlined where called, its free names read in `scope`."""

    function: parse.Function
    scope: object
    defaults: tuple = ((), ())  # (positional defaults, keyword-only defaults), resolved where it was defined


@dataclass
class ResolvedIf:
    """An `if` statement after resolve: its test and each branch's statements (with their files)."""

    test: gast.expr
    body: list
    body_files: list
    orelse: list
    orelse_files: list
    node: gast.If  # the user's statement, for its place


@dataclass
class ResolvedFor:
    """A ``for target in range(...)`` loop after resolve: the range's arguments and the body's statements."""

    target: gast.Name
    arguments: list
    body: list
    body_files: list
    node: gast.For  # the user's statement, for its place
    backwards: bool = False  # ``reversed(range(...))`` (generated code)


@dataclass
class ResolvedWhile:
    """A ``while test:`` loop after resolve: its test and the body's statements."""

    test: gast.expr
    body: list
    body_files: list
    node: gast.While


@dataclass
class ResolvedStack:
    """A stack statement of generated code: ``s = []`` ("new"), ``s.append(v)`` ("push"), ``v = s.pop()`` ("pop")."""

    kind: str
    stack: str
    value: object  # the pushed expression, or the popped-into name
    node: gast.stmt


@dataclass
class Resolved:
    """The function after resolve: flat statements over primitives, and its names."""

    function: parse.Function
    statements: list  # gast statements or `ResolvedIf`s; each remembers its file in `statement_files`
    statement_files: list  # the file each statement came from (helpers may live elsewhere)
    namespace: Namespace
    matches: Matches  # each call's rule and bound inputs, matched here once
    obstacles: tuple = ()  # with `past_obstacles`: those found, in source order (refused parts are placeholders)
    first_obstacle: object = None  # the one met first, which an error listing them all is raised as


def _in_place_adds_as_sums(function):
    """A generated `function` with its calls of `runtime.add_at` read as the sums they stand for
    (`desugar.in_place_adds_as_sums`), `runtime.unindex` added to its closure values if it has no name for it."""
    namespace = Namespace(function.globals, function.closure)

    def naming(helper):
        return lambda node: namespace.refers_to(node, helper)

    if not any(isinstance(node, gast.Call) and naming(runtime.add_at)(node.func) for node in gast.walk(function.tree)):
        return function
    closure = function.closure
    bound = {**function.globals, **closure}
    unindex = next((variable for variable, value in bound.items() if value is runtime.unindex), None)
    if unindex is None:
        taken = set(bound) | {node.id for node in gast.walk(function.tree) if isinstance(node, gast.Name)}
        spellings = ("unindex" if k == 0 else f"unindex_{k}" for k in itertools.count())
        unindex = next(spelling for spelling in spellings if spelling not in taken)
        closure = {**closure, unindex: runtime.unindex}
    tree = desugar.in_place_adds_as_sums(function.tree, naming(runtime.add_at), unindex, naming(runtime.zero_gradient))
    return replace(function, tree=tree, closure=closure)


def resolve(function, location, survey=None, past_obstacles=False):
    """The `Resolved` form of the checked `function`, or an error listing every obstacle in it.

    `survey` is the check's `Survey` of the function, if it found obstacles:
    they are listed with resolve's own, and the statements they are in are
    passed over (nothing is resolved after an obstacle that stops the survey).
    With `past_obstacles`, the `Resolved` form is given with its obstacles
    (the parts they are in replaced by placeholders), for ssa to add its own.
    """
    if survey is not None and survey.stops:
        raise all_obstacles(check.in_source_order(survey.obstacles), first=survey.obstacles[0])
    tree, passed = (function.tree, {}) if survey is None else passed_over(function.tree, survey.flagged)
    if function.primal_params is not None:
        function = _in_place_adds_as_sums(replace(function, tree=tree))
        tree = function.tree
    function = replace(function, tree=desugar.desugared(tree, generated=function.primal_params is not None))
    namespace = Namespace(function.globals, function.closure)
    params = parameter_names(function.tree)
    namespace.locals.update(params)
    namespace.locals.update(assigned_names(function.tree.body))
    instances = {} if function.bound or function.instance is None else {function.instance: function.owner}
    namespace.instances = frozenset(instances)
    scope = _Scope(function, location, {p: name(p) for p in params}, stack=(function.code,), instances=instances)
    scope.passed = passed
    resolver = _Resolver(namespace)
    resolver.written = set(assigned_names(tree.body))
    for error in () if survey is None else survey.obstacles:
        resolver.record(error, scope)
    statements, files = resolver.statements(function.tree.body, scope)
    first = resolver.obstacles[0][1] if resolver.obstacles else None  # the check's first, if any
    if resolver.obstacles and not past_obstacles:
        raise all_obstacles(resolver.in_source_order(), first=first)
    return Resolved(function, statements, files, namespace, resolver.matches, tuple(resolver.in_source_order()), first)


PLACEHOLDER = 0.0
"""The value a refused expression or a passed-over statement stands for, so that resolve can go on past it."""


def _placeholder(where):
    return gast.copy_location(gast.Constant(value=PLACEHOLDER, kind=None), where)


def passed_over(tree, flagged):
    """`tree` with the statements whose `id` is in `flagged` replaced by placeholders; the names they bind (`_bound`).

    A statement becomes an assignment of a placeholder to each name it binds
    (a refused ``return`` a ``return`` of one), so that the statements after
    it are resolved as if it were there.
    """
    bound = {}

    def block(statements):
        out = []
        for statement in statements:
            if id(statement) in flagged:
                names = _bound(statement)
                bound.update(names)
                if isinstance(statement, gast.Return):
                    out.append(gast.copy_location(gast.Return(value=_placeholder(statement)), statement))
                for identifier in names:
                    store = gast.Name(id=identifier, ctx=gast.Store(), annotation=None, type_comment=None)
                    assign = gast.Assign(targets=[store], value=_placeholder(statement), type_comment=None)
                    out.append(gast.copy_location(assign, statement))
            elif isinstance(statement, (gast.If, gast.For, gast.While)):
                new = copy.copy(statement)
                new.body, new.orelse = block(statement.body), block(statement.orelse)
                out.append(new)
            elif isinstance(statement, gast.FunctionDef):  # a nested helper
                new = copy.copy(statement)
                new.body = block(statement.body)
                out.append(new)
            else:
                out.append(statement)
        return out or [gast.copy_location(gast.Pass(), statements[0])] if statements else out

    new = copy.copy(tree)
    new.body = block(tree.body)
    return new, bound


def _bound(statement):
    """The names `statement` binds, each to "definition" (a `def`, `class` or `import`) or "value" (an assignment)."""
    if isinstance(statement, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
        return {statement.name: "definition"}
    if isinstance(statement, (gast.Import, gast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0]: "definition" for alias in statement.names}
    stored = (node.id for node in gast.walk(statement) if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store))
    return dict.fromkeys(stored, "value")


class _Scope:
    """Where a body being resolved was written: its function, file and local renaming."""

    def __init__(self, function, location, renamed, stack, instances=None, functions=None, parent=None, origin=()):
        self.function = function
        self.functions = dict(functions or {})  # a local name -> the `_Known` or `_Local` function it holds
        self.parent = parent  # the body a lambda or nested def was written in
        self.origin = origin  # the places, in the function transformed, of the calls inlining this body
        self.passed = {}  # names bound by statements passed over (refused) -> "definition" or "value" (`_bound`)
        self.instances = instances or {}  # a parameter holding a method's instance -> the method's class
        self.location = location
        self.renamed = renamed  # the body's local name -> the expression it stands for now
        self.locals = set(renamed) | set(assigned_names(function.tree.body)) | _nested_defs(function.tree.body)
        self.defined = set(parameter_names(function.tree))  # locals assigned so far
        self.lists = set()  # the locals holding a list the body builds (``ys = []``)
        self.stack = stack  # code objects being inlined, outermost first
        self.is_helper = len(stack) > 1

    def visible_locals(self):
        """The locals of this body and of the bodies around it (for a lambda or nested def)."""
        return self.locals if self.parent is None else self.locals | self.parent.visible_locals()

    def enclosing(self, identifier):
        """The scope of an enclosing body where `identifier` is a local (a lambda's free name), or None."""
        scope = self.parent
        while scope is not None and identifier not in scope.locals:
            scope = scope.parent
        return scope

    def lookup(self, identifier):
        """What a free name means where this body was written."""
        function = self.function
        if identifier in function.closure:
            return function.closure[identifier]
        if identifier in function.globals:
            return function.globals[identifier]
        if hasattr(builtins, identifier):
            return getattr(builtins, identifier)
        raise LookupError(identifier)


class _Resolver:
    def __init__(self, namespace):
        self.namespace = namespace
        self.matches = Matches()
        self.obstacles = []  # (where in the function transformed, error)
        self.index_calls = {}  # id -> call written as (a part of) an index, where `range` may stand (kept alive)
        self.lists = set()  # the resolved names of lists (built by the code, or made by a rule over lists)
        self.list_reads = {}  # id -> a name node passing a list to a call (kept alive)
        self.written = set()  # the names the user's code assigns (the others desugar made: a comprehension's list)

    # ---- obstacles -----------------------------------------------------------------------
    def record(self, error, scope):
        """Note an obstacle found in `scope`'s body, and go on."""
        self.obstacles.append((scope.origin + (_position(error),), error))

    def in_source_order(self):
        """The obstacles in source order (a helper's at the call inlining it), each once."""
        seen, ordered = set(), []
        for _, error in sorted(self.obstacles, key=lambda entry: entry[0]):
            key = (error.filename, error.lineno, error.col_offset, error.reason)
            if key not in seen:
                seen.add(key)
                ordered.append(error)
        return ordered

    def _refused(self, error, scope, before):
        """Record `error`, unless an obstacle found since `before` explains it (it is about a placeholder)."""
        if len(self.obstacles) == before:
            self.record(error, scope)

    # ---- statements ----------------------------------------------------------------------
    def statements(self, body, scope):
        """(resolved statements, their files); for a helper the last is its Return."""
        out, files = [], []
        for statement in body:
            if check.is_docstring(statement) or isinstance(statement, gast.Pass):
                continue
            before = len(self.obstacles)
            try:
                resolved, resolved_files = self._statement(statement, scope)
            except AstgradError as error:
                self._refused(error, scope, before)
                names = _bound(statement)
                scope.passed.update(names)
                scope.defined.update(names)
                for identifier in names:
                    scope.renamed.setdefault(identifier, name(identifier))
                continue
            out += resolved
            files += resolved_files
        return out, files

    def _statement(self, statement, scope):
        """One statement's resolved statements (a helper's inlined before it) and their files."""
        prelude, prelude_files = [], []
        context = (prelude, prelude_files)
        here = [scope.location.filename]
        if self._binds_function(statement, scope, context):
            return prelude, prelude_files
        if isinstance(statement, gast.If):
            test = self.expression(statement.test, scope, context)
            body, body_files = self.statements(statement.body, scope)
            orelse, orelse_files = self.statements(statement.orelse, scope)
            return prelude + [ResolvedIf(test, body, body_files, orelse, orelse_files, statement)], prelude_files + here
        if isinstance(statement, gast.For):
            return self._for(statement, scope, context), prelude_files + here
        if isinstance(statement, gast.While):
            test = self.expression(statement.test, scope, context)
            if prelude:
                self.record(scope.location.error(
                    UnsupportedSyntaxError,
                    statement.test,
                    "a helper called in a `while` loop's test would run once, not before each iteration",
                    hint="compute the condition into a name before the loop and again at the end of its body",
                ), scope)  # fmt: skip
            body, body_files = self.statements(statement.body, scope)
            return [ResolvedWhile(test, body, body_files, statement)], here
        generated = scope.function.primal_params is not None and check.is_stack_statement(statement)
        if generated or check.is_list_statement(statement):
            resolved = self._stack(statement, scope, context)
            return prelude + [resolved], prelude_files + here
        if isinstance(statement, gast.Return):
            new = gast.Return(value=self.expression(statement.value, scope, context))
        elif isinstance(statement, gast.AugAssign):
            value = self.expression(statement.value, scope, context)
            target = self._store(statement.target, scope)
            new = gast.AugAssign(target=target, op=statement.op, value=value)
        else:
            value = self.expression(statement.value, scope, context)
            targets = statement.targets if isinstance(statement, gast.Assign) else [statement.target]
            new = gast.Assign(targets=[self._store(t, scope) for t in targets], value=value, type_comment=None)
            if isinstance(value, gast.Call) and self.matches.has(value) and rules.makes_list(
                    self.matches.of(value).rule):  # fmt: skip
                scope.lists.update(t.id for t in targets if isinstance(t, gast.Name))
                self.lists.update(t.id for t in new.targets if isinstance(t, gast.Name))
        gast.copy_location(new, statement)
        return prelude + [new], prelude_files + here

    def _binds_function(self, statement, scope, context):
        """Whether `statement` defines a function (``def g``, ``g = lambda t: ...``, ``g = np.tanh``): kept in `scope`."""
        if isinstance(statement, gast.FunctionDef):
            identifier, value = statement.name, self._local(statement, scope, context)
        elif isinstance(statement, gast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], gast.Name):
            identifier, value = statement.targets[0].id, self._function_value(statement.value, scope, context)
        else:
            return False
        if value is None:
            return False
        scope.defined.add(identifier)
        scope.functions[identifier] = value
        return True

    def _function_value(self, node, scope, context):
        """The `_Known` or `_Local` function `node` names, or None if it is not a function known now."""
        if isinstance(node, gast.Lambda):
            return self._local(node, scope, context)
        if isinstance(node, gast.Name) and node.id in scope.locals:
            return scope.functions.get(node.id)
        if isinstance(node, gast.Name) and scope.enclosing(node.id) is not None:
            return self._function_value(node, scope.enclosing(node.id), context)
        if not isinstance(node, (gast.Name, gast.Attribute)) or self._is_value_attribute(node, scope):
            return None
        if isinstance(node, gast.Attribute) and self._is_instance(node.value, scope):
            return None
        try:
            value = self.namespace.evaluate(node, scope.lookup)
        except LookupError:
            return None
        return _Known(value, node, scope) if _is_function(value) else None

    def _local(self, node, scope, context):
        """A `_Local` for a lambda or nested def; its defaults are computed here, as Python computes them."""
        if isinstance(node, gast.Lambda):
            body = gast.copy_location(gast.Return(value=node.body), node.body)
            tree = gast.FunctionDef(name="lambda_", args=node.args, body=[body], decorator_list=[], returns=None,
                                    type_comment=None, type_params=[])  # fmt: skip
            tree = gast.copy_location(tree, node)
        else:
            tree = node
        defaults = [self._default(d, scope, context) for d in tree.args.defaults]
        kw_defaults = [None if d is None else self._default(d, scope, context) for d in tree.args.kw_defaults]
        outer = scope.function
        function = parse.Function(tree=tree, name="lambda" if tree.name == "lambda_" else tree.name,
                                  filename=scope.location.filename, globals=outer.globals, closure=outer.closure,
                                  code=tree)  # fmt: skip
        return _Local(function, scope, (defaults, kw_defaults))

    def _default(self, node, scope, context):
        known = self._function_value(node, scope, context)
        if known is not None:
            return known
        value = self.expression(node, scope, context)
        if _is_atom(value):
            return value
        prelude, files = context
        fresh = self.namespace.fresh("default")
        binding = gast.Assign(targets=[gast.Name(id=fresh, ctx=gast.Store(), annotation=None, type_comment=None)],
                              value=value, type_comment=None)  # fmt: skip
        prelude.append(gast.copy_location(binding, node))
        files.append(scope.location.filename)
        return name(fresh)


    def _stack(self, statement, scope, context):
        """A list's statements (``ys = []``, ``ys.append(v)``), and in generated code a stack's (``v = s.pop()``)."""
        if isinstance(statement, gast.Expr):
            call = statement.value
            stack = self._list_name(call.func.value, scope)
            value = self.expression(call.args[0], scope, context)
            return ResolvedStack("push", stack, value, statement)
        if isinstance(statement.value, gast.List):
            original = statement.targets[0].id
            if scope.function.primal_params is None and (original in scope.lists or original in scope.defined):
                raise scope.location.error(
                    UnsupportedSyntaxError,
                    statement.targets[0],
                    f"`{original}` is given a new list after holding a value",
                    hint="give each list a name of its own",
                )
            target = self._store(statement.targets[0], scope).id
            scope.lists.add(original)
            self.lists.add(target)
            return ResolvedStack("new", target, None, statement)
        stack = self._list_name(statement.value.func.value, scope)
        target = self._store(statement.targets[0], scope).id
        return ResolvedStack("pop", stack, target, statement)

    def _list_name(self, node, scope):
        """The name of the list `node` names (``ys`` of ``ys.append(v)``); a located error if it is not one."""
        renamed = scope.renamed.get(node.id)
        if node.id not in scope.lists or not isinstance(renamed, gast.Name):
            raise scope.location.error(
                UnsupportedSyntaxError,
                node,
                f"`{node.id}.append(...)` changes a value the function did not make as an empty list",
                hint=f"start the list in this function: `{node.id} = []` before the loop that appends to it",
            )
        return renamed.id

    def _for(self, statement, scope, context):
        """The loop's prelude (helpers its range's arguments call) and the `ResolvedFor`."""
        prelude, _ = context
        iterable, backwards = statement.iter, False
        if scope.function.primal_params is not None and iterable.func.id == "reversed":
            iterable, backwards = iterable.args[0], True
        func = iterable.func
        try:
            is_range = self.namespace.evaluate(func, scope.lookup) is range and func.id not in scope.locals
        except LookupError:
            is_range = False
        if not is_range:
            self.record(scope.location.error(
                UnsupportedSyntaxError,
                iterable,
                "`range` here is not the builtin `range`",
                hint="loop over the builtin `range(...)`",
            ), scope)  # fmt: skip
        arguments = [self.expression(a, scope, context) for a in iterable.args]
        target = self._store(statement.target, scope)
        body, body_files = self.statements(statement.body, scope)
        return prelude + [ResolvedFor(target, arguments, body, body_files, statement, backwards)]

    def _store(self, target, scope):
        if isinstance(target, gast.Name):
            scope.functions.pop(target.id, None)
            scope.defined.add(target.id)
            renamed = scope.renamed.get(target.id)
            identifier = renamed.id if isinstance(renamed, gast.Name) else target.id
            if target.id not in scope.renamed:
                scope.renamed[target.id] = name(identifier)
            node = gast.Name(id=identifier, ctx=gast.Store(), annotation=None, type_comment=None)
            return gast.copy_location(node, target)
        node = gast.Tuple(elts=[self._store(e, scope) for e in target.elts], ctx=gast.Store())
        return gast.copy_location(node, target)

    # ---- expressions ---------------------------------------------------------------------
    def expression(self, node, scope, context):
        method = getattr(self, "_" + type(node).__name__, None)
        before = len(self.obstacles)
        try:
            new = method(node, scope, context)
        except AstgradError as error:  # recorded: the expression stands for a placeholder, and resolve goes on
            if len(self.obstacles) == before:  # else an obstacle inside explains it (it is about a placeholder)
                self.record(error, scope)
                if isinstance(node, gast.Call):
                    self._arguments_alone(node, scope, context)
            return _placeholder(node)
        return gast.copy_location(new, node) if new is not node else new

    def _arguments_alone(self, node, scope, context):
        """Resolve the arguments of a refused call, for the obstacles in them (a call refused before its arguments)."""
        for argument in node.args + [k.value for k in node.keywords]:
            argument = argument.value if isinstance(argument, gast.Starred) else argument
            if getattr(self, "_" + type(argument).__name__, None) is not None:  # not a lambda or a `**{...}`
                self.expression(argument, scope, context)

    def _Constant(self, node, scope, context):
        return node

    def _Lambda(self, node, scope, context):
        raise scope.location.error(
            NoDerivativeError,
            node,
            "a lambda passed to a function astgrad does not inline",
            hint="bind it to a name and call it, or pass it to a helper of yours that calls it",
        )

    def _Tuple(self, node, scope, context):
        return gast.Tuple(elts=[self.expression(e, scope, context) for e in node.elts], ctx=gast.Load())

    def _BinOp(self, node, scope, context):
        self._operator_rule(BINARY_OPERATORS[type(node.op)], 2, node, scope)
        left = self.expression(node.left, scope, context)
        right = self.expression(node.right, scope, context)
        return gast.BinOp(left=left, op=node.op, right=right)

    def _UnaryOp(self, node, scope, context):
        if isinstance(node.op, gast.Not):  # in a condition: zero derivative
            return gast.UnaryOp(op=node.op, operand=self.expression(node.operand, scope, context))
        self._operator_rule(UNARY_OPERATORS[type(node.op)], 1, node, scope)
        return gast.UnaryOp(op=node.op, operand=self.expression(node.operand, scope, context))

    def _Compare(self, node, scope, context):
        left = self.expression(node.left, scope, context)
        comparators = [self.expression(c, scope, context) for c in node.comparators]
        return gast.Compare(left=left, ops=node.ops, comparators=comparators)

    def _BoolOp(self, node, scope, context):
        return gast.BoolOp(op=node.op, values=[self._evaluated_alone(v, scope, context) for v in node.values])

    def _IfExp(self, node, scope, context):
        test = self.expression(node.test, scope, context)
        body, orelse = (self._evaluated_alone(part, scope, context) for part in (node.body, node.orelse))
        return gast.IfExp(test=test, body=body, orelse=orelse)

    def _evaluated_alone(self, node, scope, context):
        """A part of an expression that runs only in some cases: it may call no helper (inlined before the line)."""
        prelude, _ = context
        before = len(prelude)
        new = self.expression(node, scope, context)
        if len(prelude) != before:
            raise scope.location.error(
                UnsupportedSyntaxError,
                node,
                "a helper called here would run whether or not this part is evaluated",
                hint="write an `if` statement and call the helper in its branch",
            )
        return new

    def _operator_rule(self, fn, arity, node, scope):
        if rules.lookup(fn, arity) is None:
            symbol = OPERATOR_SYMBOLS[type(node.op)]
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"the operator `{symbol}` has no derivative in astgrad",
                hint=f"use + - * / ** and functions from {PRIMITIVE_TABLE}",
            )

    def _Name(self, node, scope, context):
        if node.id in scope.functions:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{node.id}` is a function used as a value, not called",
                hint=f"call it here, `{node.id}(...)`, or pass it to a helper that calls it",
            )
        if node.id not in scope.locals and scope.enclosing(node.id) is not None:  # a lambda's free name
            return self._Name(node, scope.enclosing(node.id), context)
        if node.id in scope.locals:
            if node.id not in scope.defined:
                raise scope.location.error(
                    UnsupportedSyntaxError,
                    node,
                    f"`{node.id}` is used before it is assigned",
                    hint=f"assign `{node.id}` before this line",
                )
            renamed = scope.renamed[node.id]
            if isinstance(renamed, gast.Name) and renamed.id in self.lists and id(node) not in self.list_reads:
                if node.id not in self.written:  # the list of a comprehension passed to a call
                    raise scope.location.error(
                        UnsupportedSyntaxError,
                        node,
                        "a list comprehension is passed here to a call that takes no list the function builds: "
                        "only `sum`, `max`, `min`, `len`, `np.stack` and `np.array` do",
                        hint="pass it to one of them, e.g. `np.stack([...], axis=1)`, and work on the array",
                    )
                raise scope.location.error(
                    UnsupportedSyntaxError,
                    node,
                    f"the list `{node.id}` is read here; a list the function builds is read only as a whole, by "
                    "`sum`, `max`, `min`, `len`, `np.stack` or `np.array`",
                    hint=f"pass it to one of them, e.g. `np.stack({node.id})`, and index or loop over the result",
                )
            return copy_atom(renamed)
        return self._free_value(node, scope)

    def _Attribute(self, node, scope, context):
        if self._is_instance(node.value, scope):  # `self.exog` of an instance passed in: data, read when the code runs
            self._require_data_attribute(node, scope)
            return gast.Attribute(value=copy_atom(scope.renamed[node.value.id]), attr=node.attr, ctx=gast.Load())
        if not self._is_value_attribute(node, scope):
            return self._free_value(node, scope)
        if rules.lookup("." + node.attr, 1) is None and root_name(node) in scope.instances and dotted_name(node):
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{dotted_name(node)}` reads an attribute of an attribute of the instance passed in as "
                f"`{root_name(node)}`, whose type astgrad cannot know",
                hint="differentiate the bound method, `grad(model.method)`, which reads the instance's attributes "
                "to any depth, or pass the value in as a parameter",
            )
        if rules.lookup("." + node.attr, 1) is None:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"the attribute `.{node.attr}` has no derivative",
                hint="use `.T`, `.shape`, `.ndim`, `.size`, or functions from the primitive table",
            )
        return gast.Attribute(value=self.expression(node.value, scope, context), attr=node.attr, ctx=gast.Load())

    def _is_instance(self, node, scope):
        return isinstance(node, gast.Name) and node.id in scope.instances

    def _require_data_attribute(self, node, scope):
        """`self.attr` is read as data: a method there is an error (it is called, or it has no value to differentiate)."""
        if callable(getattr(scope.instances[node.value.id], node.attr, None)):
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{dotted_name(node)}` is a method used as a value, not called",
                hint=f"call it here, `{dotted_name(node)}(...)`: astgrad inlines the methods a method calls",
            )

    def _is_value_attribute(self, node, scope):
        return self.namespace.is_value_attribute(node, scope.visible_locals(), scope.lookup)

    def _Subscript(self, node, scope, context):
        parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        self.index_calls.update((id(part), part) for part in parts if isinstance(part, gast.Call))
        value = self.expression(node.value, scope, context)
        return gast.Subscript(value=value, slice=self.expression(node.slice, scope, context), ctx=gast.Load())

    def _Slice(self, node, scope, context):
        parts = [None if part is None else self.expression(part, scope, context)
                 for part in (node.lower, node.upper, node.step)]  # fmt: skip
        return gast.Slice(*parts)

    def _List(self, node, scope, context):
        return gast.List(elts=[self.expression(e, scope, context) for e in node.elts], ctx=gast.Load())

    def _free_value(self, node, scope):
        """A global, closure or module constant used as a value (`SCALE`, `math.pi`)."""
        try:
            value = self.namespace.evaluate(node, scope.lookup)
        except LookupError:
            if scope.is_helper:
                raise scope.location.error(
                    NoDerivativeError, node, f"`{dotted_name(node)}` is not defined", hint="define it at module level"
                ) from None
            self.namespace.free.add(root_name(node))
            return node  # a global defined later: looked up when the gradient runs
        if isinstance(value, types.ModuleType) or callable(value) and not _is_constant(value):
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{dotted_name(node)}` is used as a value, not called",
                hint="astgrad differentiates numbers computed by calls; call the function here",
            )
        return self._same_object(node, value, scope)

    def _same_object(self, node, value, scope):
        """`node` if it means `value` in the generated function too, else another reference."""
        try:
            if _same(self.namespace.evaluate(node), value) and root_name(node) not in self.namespace.locals:
                self.namespace.free.add(root_name(node))
                return copy_atom(node)
        except LookupError:
            pass
        if isinstance(node, gast.Attribute):  # ``config.scale`` of an object a helper elsewhere reads: read live
            owner = self.namespace.evaluate(node.value, scope.lookup)
            if not isinstance(owner, types.ModuleType) and not _is_constant(owner):
                value_node = self._same_object(node.value, owner, scope)
                return gast.Attribute(value=value_node, attr=node.attr, ctx=gast.Load())
        return self.namespace.reference(value, hint=root_name(node))

    # ---- calls ---------------------------------------------------------------------------
    def _Call(self, node, scope, context):
        owner = node.func.value if isinstance(node.func, gast.Attribute) else None
        if isinstance(owner, gast.Name) and owner.id in scope.lists:
            raise scope.location.error(
                UnsupportedSyntaxError,
                node,
                f"`{owner.id}.{node.func.attr}(...)`: a list the function builds is only appended to, and read "
                "whole by `sum`, `max`, `min`, `len`, `np.stack` or `np.array`",
                hint=f"read it whole, e.g. `np.stack({owner.id})`, and take what you need from the result",
            )
        if self._calls_what_is_passed_over(node.func, scope):
            self._arguments_alone(node, scope, context)
            return _placeholder(node)
        if isinstance(node.func, gast.Attribute) and self._is_instance(node.func.value, scope):
            return self._instance_method_call(node, scope, context)
        if isinstance(node.func, gast.Attribute) and self._is_value_attribute(node.func, scope):
            return self._method_call(node, scope, context)
        callee = dotted_name(node.func)
        known = self._called_function(node, scope, callee)
        if isinstance(known, _Local):
            args, keywords = self._arguments(node, scope, context, functions=True)
            return self._inline_local(known, node, args, keywords, scope, context, callee)
        if known is not None:
            return self._call_of(known.value, node, scope, context, callee, known)
        if callee.split(".")[0] in scope.visible_locals():
            raise scope.location.error(
                NoDerivativeError,
                node.func,
                f"`{callee}` is a local value, not a function astgrad can see",
                hint="call module-level functions by name, e.g. `math.sin(x)` or `helper(x)`",
            )
        try:
            fn = self.namespace.evaluate(node.func, scope.lookup)
        except LookupError:
            raise scope.location.error(
                NoDerivativeError,
                node.func,
                f"`{callee}` is not defined (yet)",
                hint="define helper functions above the function you differentiate "
                "(with @grad, the transformation happens where the decorator runs)",
            ) from None
        return self._call_of(fn, node, scope, context, callee, _Known(fn, node.func, scope))

    def _call_of(self, fn, node, scope, context, callee, known):
        """The resolved call of the known function `fn` (`known` says where its name was written)."""
        if self._passes_list(fn, node, scope):
            return self._list_call(fn, node, scope, context, callee)
        if fn is builtins.sum:
            return self._sum_of_display(node, scope, context)
        inlined = isinstance(fn, types.FunctionType) and not hasattr(fn, "__astgrad__") and not rules.rules_for(fn)
        args, keywords = self._arguments(node, scope, context, functions=inlined)
        if fn is builtins.range:
            return self._range_index(node, args, keywords, scope, callee)
        if rules.rules_for(fn):
            match = self._match(fn, node, args, keywords, scope, callee)
            call = gast.Call(func=self._spelling(known), args=args, keywords=keywords)
            self.matches.add(call, match)
            return call
        if rules.is_scipy(fn):  # a SciPy function or distribution method with no entry
            from .primitives_scipy import missing

            message, hint = missing(fn, callee)
            raise scope.location.error(NoDerivativeError, node, message, hint=hint)
        if fn in runtime.WITHOUT_DERIVATIVE:  # a second derivative of a primitive that has only a first
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` has no derivative: {runtime.WITHOUT_DERIVATIVE[fn]} has no second derivative in astgrad",
                hint="differentiate it once (grad, jvp); for a second derivative, write the density with NumPy",
            )
        if fn is runtime.add_at:  # read back from a generated function, it is a sum (`_in_place_adds_as_sums`)
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` has no derivative: it adds into its first argument in place, which astgrad "
                "differentiates only in a gradient it generated",
                hint="differentiate the generated gradient itself (astgrad.grad(d_f), astgrad.hessian(f)), "
                "or write the sum it stands for: `whole + runtime.unindex(gradient, whole, index)`",
            )
        if getattr(fn, "__module__", None) == runtime.__name__:  # a helper of generated code with no entry
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` has no derivative: it is a run-time helper of astgrad's forward mode",
                hint="differentiate the function itself again: astgrad.hessian(f), or grad of its reverse-mode gradient",
            )
        if inlined:
            return self._inline(fn, node, args, keywords, scope, context, callee)
        if isinstance(fn, types.MethodType) and self._is_own_method(node.func, scope):  # self.helper(x)
            return self._inline(fn, node, args, keywords, scope, context, callee)
        if _draws_random_numbers(fn, callee):
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` draws random numbers, which have no derivative and would change on every call",
                hint="draw the random numbers outside the function and pass them in as a parameter",
            )
        raise scope.location.error(
            NoDerivativeError,
            node,
            f"`{callee}` has no derivative: it is {_describe(fn)}",
            hint=no_derivative_hint(callee, len(node.args)),
        )

    def _spelling(self, known):
        """How the generated code names a known function: as its user wrote it where that still means it."""
        if known.node is None:
            return self.namespace.reference(known.value, hint=getattr(known.value, "__name__", None))
        return self._same_object(known.node, known.value, known.scope)

    def _arguments(self, node, scope, context, functions=False):
        """The call's resolved arguments and keywords; with `functions`, an argument naming a function is kept as one.

        ``*sequence`` and ``**mapping`` are unpacked when their contents are known now: a display written in
        the call, or a tuple, list or dict defined outside the function (its values are data).
        """

        def argument(value, hint="value"):
            if not isinstance(value, gast.AST):  # an element of a sequence or mapping defined outside
                if _is_function(value) and functions:
                    return _Known(value)
                return self._constant(value, hint)
            known = self._function_value(value, scope, context) if functions else None
            return known if known is not None else self.expression(value, scope, context)

        args, keywords = [], []
        for arg in node.args:
            unpacked = self._unpacked(arg.value, "*", scope) if isinstance(arg, gast.Starred) else [arg]
            args += [argument(a) for a in unpacked]
        for keyword in node.keywords:
            items = self._unpacked(keyword.value, "**", scope) if keyword.arg is None else [(keyword.arg, keyword.value)]
            keywords += [gast.keyword(arg=key, value=argument(value, key)) for key, value in items]
        return args, keywords

    def _unpacked(self, node, stars, scope):
        """The elements of ``*node`` (or the (key, value) items of ``**node``) when they are known now."""
        if stars == "*" and isinstance(node, (gast.Tuple, gast.List)):
            return list(node.elts)
        if stars == "**" and isinstance(node, gast.Dict):
            return [(k.value, v) for k, v in zip(node.keys, node.values)]
        value = None
        if isinstance(node, (gast.Name, gast.Attribute)) and dotted_name(node) and \
                root_name(node) not in scope.visible_locals():  # fmt: skip
            try:
                value = self.namespace.evaluate(node, scope.lookup)
            except LookupError:
                value = None
        if stars == "*" and isinstance(value, (tuple, list)):
            return list(value)
        if stars == "**" and isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return list(value.items())
        written = dotted_name(node) or "(...)"
        raise scope.location.error(
            NoDerivativeError,
            node,
            f"`{stars}{written}` unpacks {'a sequence' if stars == '*' else 'a mapping'} whose contents are known "
            "only when the code runs",
            hint="pass the arguments one by one, or unpack a "
            + ("tuple written in the call, `*(a, b)`," if stars == "*" else "dict written in the call, `**{\"w\": w}`,")
            + " or one defined at module level",
        )

    def _called_function(self, node, scope, callee):
        """The `_Known` or `_Local` function a local name called here holds (None if the callee is not local)."""
        if not isinstance(node.func, gast.Name):
            return None
        identifier = node.func.id
        owner = scope if identifier in scope.locals else scope.enclosing(identifier)
        if owner is None:
            return None
        if identifier in owner.functions:
            return owner.functions[identifier]
        if owner.parent is None and not owner.is_helper and identifier in parameter_names(owner.function.tree):
            raise self._function_parameter_error(node.func, owner)
        return None

    @staticmethod
    def _function_parameter_error(node, scope):
        """A parameter of the differentiated function called as a function: say how to bind it before `grad`."""
        identifier, function = node.id, scope.function
        others = ", ".join(p for p in parameter_names(function.tree) if p != identifier)
        default = next((d for a, d in _parameter_defaults(function.tree) if a == identifier), None)
        if default is not None:
            written = dotted_name(default) or "its default"
            why = f"its default `{written}` is only a default: the caller may pass another function"
            hint = f"differentiate a function that calls it, `grad(lambda {others}: {function.name}({others}))` for the default"
        else:
            why = "which function it is is known only when the gradient is called"
            hint = f"bind the function before differentiating, with a closure or a lambda such as " \
                f"`grad(lambda {others}: {function.name}({others}, {identifier}=np.sin))`"
        return scope.location.error(
            NoDerivativeError, node, f"`{identifier}` is a parameter called as a function: {why}", hint=hint
        )

    @staticmethod
    def _calls_what_is_passed_over(func, scope):
        """Whether `func` is a name a refused statement binds, or reaches into what a refused `def` or `import` binds.

        (``x.conj()`` of an `x` a refused assignment binds is a method of a value, resolved as any.)
        """
        kind = scope.passed.get(root_name(func)) if dotted_name(func) else None
        return kind == "definition" or kind == "value" and isinstance(func, gast.Name)

    @staticmethod
    def _is_own_method(func, scope):
        """Whether `func` is ``self.helper`` in a bound method, `self` its instance (other objects' methods are not inlined)."""
        function = scope.function
        return function.bound and isinstance(func, gast.Attribute) and dotted_name(func.value) == function.instance

    def _instance_method_call(self, node, scope, context):
        """``self.predict(params)`` with `self` a parameter: the method its class defines, inlined with `self`."""
        owner, method = scope.instances[node.func.value.id], node.func.attr
        callee = dotted_name(node.func)
        attribute = inspect.getattr_static(owner, method, None)
        args, keywords = self._arguments(node, scope, context)
        if isinstance(attribute, staticmethod):
            fn = attribute.__func__
        elif isinstance(attribute, classmethod):
            fn = getattr(owner, method)
        elif isinstance(attribute, types.FunctionType):
            fn, args = attribute, [copy_atom(scope.renamed[node.func.value.id])] + args
        else:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` is not a method astgrad can inline: `{owner.__name__}` defines no function `{method}`",
                hint="call methods defined with def in the class, or functions from the primitive table",
            )
        instances = {fn.__code__.co_varnames[0]: owner} if fn is attribute and fn.__code__.co_argcount else {}
        return self._inline(fn, node, args, keywords, scope, context, callee, instances)

    def _passes_list(self, fn, node, scope):
        """Whether this call reads a list the function builds, or makes one (a call of a rule over lists)."""
        if not rules.list_rules_for(fn):
            return False
        if not rules.rules_for(fn) and fn is not builtins.sum:
            return True
        return any(isinstance(a, gast.Name) and a.id in scope.lists for a in node.args)

    def _list_call(self, fn, node, scope, context, callee):
        """A call of a rule over lists: its list inputs are lists, and no other input is."""
        for argument in node.args + [k.value for k in node.keywords]:
            if isinstance(argument, gast.Name) and argument.id in scope.lists:
                self.list_reads[id(argument)] = argument
        args = [self.expression(a, scope, context) for a in node.args]
        keywords = [gast.keyword(arg=k.arg, value=self.expression(k.value, scope, context)) for k in node.keywords]
        rule, bound = rules.match_list(fn, args, [(k.arg, k.value) for k in keywords])
        lists = rules.list_inputs(rule) if rule is not None else ()
        if rule is None or any((isinstance(a, gast.Name) and a.id in self.lists) != (p in lists)
                               for p, a in bound.items()):  # fmt: skip
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` is not differentiated over a list the function builds",
                hint="read the list with `sum`, `max`, `min`, `len`, `np.stack` or `np.array`",
            )
        call = gast.Call(func=self._same_object(node.func, fn, scope), args=args, keywords=keywords)
        self.matches.add(call, Match(rule, bound))
        return call

    def _sum_of_display(self, node, scope, context):
        """``sum([a, b, c])``: ``a + b + c``, added left to right as Python's `sum` does (``sum(xs, s)``: ``s + a + ...``)."""
        start = [k.value for k in node.keywords if k.arg == "start"]
        elements = node.args[0].elts if node.args and isinstance(node.args[0], (gast.List, gast.Tuple)) else None
        if elements is None or len(node.args) + len(start) > 2 or len(node.keywords) > len(start):
            raise scope.location.error(
                NoDerivativeError,
                node,
                "`sum` is differentiated over a list or tuple written in the call, e.g. `sum([a, b, c])`",
                hint="for the elements of an array use `np.sum(x)`",
            )
        terms = [self.expression(e, scope, context) for e in node.args[1:] + start + elements]
        if not terms:
            return gast.Constant(value=0, kind=None)
        total = terms[0]
        for term in terms[1:]:
            total = gast.copy_location(gast.BinOp(left=total, op=gast.Add(), right=term), node)
        return total

    def _range_index(self, node, args, keywords, scope, callee):
        """``scores[range(n), y]``: an integer index with no derivative, matched as ``np.arange`` is."""
        if id(node) not in self.index_calls:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}(...)` is differentiated only as an index, as in `scores[range(n), y]`",
                hint="for an array of integers use `np.arange(...)`",
            )
        match = self._match(np.arange, node, args, keywords, scope, callee)
        call = gast.Call(func=self._same_object(node.func, builtins.range, scope), args=args, keywords=keywords)
        self.matches.add(call, match)
        return call

    def _method_call(self, node, scope, context):
        """``x.sum(axis=0)``: a method of an array, differentiated through the table's ``.sum`` entry."""
        method = node.func.attr
        callee = f"{_describe_value(node.func.value)}.{method}"
        if method in IN_PLACE_METHODS:
            raise scope.location.error(
                UnsupportedSyntaxError,
                node,
                f"`{callee}()` changes its array in place",
                hint="compute a new value instead: astgrad differentiates functions of values, not changes to them",
            )
        if not rules.rules_for("." + method) and isinstance(node.func.value, gast.Call):
            self._refuse_frozen_distribution(node, scope)
        if not rules.rules_for("." + method):
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"the method `.{method}()` has no derivative",
                hint=f"{PRIMITIVE_TABLE} lists the methods astgrad differentiates; or use the NumPy function",
            )
        receiver = self.expression(node.func.value, scope, context)
        args, keywords = self._arguments(node, scope, context)
        match = self._match("." + method, node, [receiver] + args, keywords, scope, callee)
        func = gast.Attribute(value=receiver, attr=method, ctx=gast.Load())
        call = gast.Call(func=func, args=args, keywords=keywords)
        self.matches.add(call, match)
        return call

    def _refuse_frozen_distribution(self, node, scope):
        """A located error for ``norm(mu, sigma).logpdf(x)``: a distribution frozen inside the function."""
        make = node.func.value.func
        if dotted_name(make) is None or root_name(make) in scope.locals:
            return
        try:
            distribution = self.namespace.evaluate(make, scope.lookup)
        except LookupError:
            return
        if rules.is_scipy(getattr(distribution, "logpdf", getattr(distribution, "logpmf", None))):
            method = node.func.attr
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{dotted_name(make)}(...).{method}` is a method of a frozen distribution, "
                "which astgrad does not differentiate",
                hint=f"pass the parameters to the method itself: `{dotted_name(make)}.{method}(x, loc, scale)`",
            )

    def _match(self, fn, node, args, keywords, scope, callee):
        """The `Match` of the rule for this call of resolved `args` and `keywords`; a located error if none fits."""
        keywords = [(k.arg, k.value) for k in keywords]
        out = next((value for keyword, value in keywords if keyword == "out"), None)
        if out is not None:
            raise scope.location.error(
                UnsupportedSyntaxError,
                out,
                f"`{callee}(..., out=...)` writes its result into an existing array, changing it in place",
                hint="leave out `out=` and assign the result to a new name",
            )
        rule, bound = rules.match(fn, args, keywords)
        if rule is None:
            forms = " or ".join(f"`{r.expression}`" for r in rules.rules_for(fn))
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` is differentiated when called as {forms}; this call does not fit ({bound})",
                hint=f"call it as {forms}",
            )
        for param in rule.params:
            if rule.templates[param] is rules.STATIC:
                try:
                    rules.static_value(bound[param])
                except ValueError:
                    raise scope.location.error(
                        NoDerivativeError,
                        bound[param],
                        f"`{param}` of `{callee}` must be a constant written in the call",
                        hint=f"write `{param}` as a number, a tuple of numbers or None, e.g. `{param}=0`",
                    ) from None
        try:
            templates.check_static(rule, bound)
        except ValueError as reason:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` has no derivative in this form: {reason}",
                hint=f"{PRIMITIVE_TABLE} lists the forms astgrad differentiates",
            ) from None
        return Match(rule, bound)

    def _inline(self, fn, node, args, keywords, scope, context, callee, instances=None):
        helper = parse.read(fn, where=(scope.location.filename, node.lineno))
        location = Location(helper.filename)
        packed = None
        if varargs.has_packed(helper.tree):  # made explicit for what this call passes to *args and **kwargs
            shape = varargs.shape_of(helper.tree, len(args), [k.arg for k in keywords])
            packed = (helper.tree, varargs.specialize(helper, shape))
            helper = packed[1].function
        origin = scope.origin + ((node.lineno, node.col_offset),)
        found = check.survey(helper.tree, location)
        rule = f"@astgrad.derivative({', '.join(p + '=...' for p in parameter_names(helper.tree))}) above its def"
        for error in found.obstacles:  # the helper may still be a primitive with a rule of its own
            self.obstacles.append((origin + (_position(error),), UnsupportedSyntaxError(
                error.reason, filename=error.filename, lineno=error.lineno, col_offset=error.col_offset,
                hint=f"{error.hint}; or give `{callee}` its derivative, making it a primitive: {rule}",
            )))  # fmt: skip
        if found.stops:
            return _placeholder(node)
        tree, passed = passed_over(helper.tree, found.flagged) if found.obstacles else (helper.tree, {})
        bound = self._bind(inspect.signature(fn), node, args, keywords, scope, callee, packed)
        return self._inline_body(replace(helper, tree=tree), location, bound, node, scope, context, callee, instances,
                                 passed=passed)  # fmt: skip

    def _inline_local(self, local, node, args, keywords, scope, context, callee):
        """A call of a lambda or nested def: its body inlined, its free names those of the body it was written in."""
        bound = self._bind(_local_signature(local), node, args, keywords, scope, callee)
        location = Location(local.function.filename)
        # A lambda's result is named after the name it is called by (`func(b)` -> func_b), a def's after the def.
        result_name = callee if local.function.name == "lambda" else local.function.name
        return self._inline_body(local.function, location, bound, node, scope, context, callee, parent=local.scope,
                                 result_name=result_name)  # fmt: skip

    def _inline_body(self, helper, location, bound, node, scope, context, callee, instances=None, parent=None,
                     result_name=None, passed=None):  # fmt: skip
        code = helper.code
        if code in scope.stack:
            raise scope.location.error(
                NoDerivativeError,
                node,
                f"`{callee}` calls itself (recursion is not straight-line code)",
                hint="write the recursion out as a fixed number of steps",
            )
        self.written |= set(assigned_names(helper.tree.body))
        helper = replace(helper, tree=desugar.desugared(helper.tree))
        prelude, files = context
        helper_assigned = set(assigned_names(helper.tree.body))
        called = {n.func.id for n in gast.walk(helper.tree) if isinstance(n, gast.Call) and isinstance(n.func, gast.Name)}
        renamed, functions = {}, {}
        for param in parameter_names(helper.tree):
            value = bound[param]
            if isinstance(value, (_Known, _Local)):
                functions[param] = value
                renamed[param] = name(self.namespace.fresh(param) if param in helper_assigned else param)
            elif param in called and param not in helper_assigned:
                raise scope.location.error(
                    NoDerivativeError,
                    value if getattr(value, "lineno", None) is not None else node,
                    f"`{callee}` calls its parameter `{param}`, but what is passed for it here is not a function "
                    "known when astgrad transforms the code",
                    hint="pass a module-level function, a lambda or a NumPy function; to choose the function when "
                    "calling, bind it before differentiating, e.g. `grad(lambda x: loss(x, np.sin))`",
                )
            elif _is_atom(value) and param not in helper_assigned:
                renamed[param] = value
            else:
                fresh = self.namespace.fresh(param)
                renamed[param] = name(fresh)
                binding = gast.Assign(
                    targets=[gast.Name(id=fresh, ctx=gast.Store(), annotation=None, type_comment=None)],
                    value=value,
                    type_comment=None,
                )
                prelude.append(gast.copy_location(binding, node))
                files.append(scope.location.filename)
        for local in assigned_names(helper.tree.body):
            if local not in renamed:
                renamed[local] = name(self.namespace.fresh(local))
        origin = scope.origin + ((node.lineno, node.col_offset),)
        helper_scope = _Scope(helper, location, renamed, scope.stack + (code,), instances, functions, parent, origin)
        helper_scope.passed = dict(passed or {})
        body, body_files = self.statements(helper.tree.body, helper_scope)
        if not body or not isinstance(body[-1], gast.Return):  # its `return` refused: an obstacle is recorded
            return _placeholder(node)
        # The helper's result gets a name like a call's: sigmoid(a) -> sigmoid_a.
        atoms = [renamed[p] for p in parameter_names(helper.tree) if p not in (instances or {}) and p not in functions]
        simple = [a.id for a in atoms if isinstance(a, gast.Name)]
        result_name = result_name or helper.name
        result = self.namespace.fresh("_".join([result_name] + simple) if len(simple) == len(atoms) else result_name)
        store = gast.Name(id=result, ctx=gast.Store(), annotation=None, type_comment=None)
        returned = gast.Assign(targets=[store], value=body[-1].value, type_comment=None)
        prelude += body[:-1] + [gast.copy_location(returned, body[-1])]
        files += body_files
        return name(result)

    def _bind(self, signature, node, args, keywords, scope, callee, packed=None):
        try:
            bound = signature.bind(*args, **{k.arg: k.value for k in keywords})
        except TypeError as exc:
            raise scope.location.error(
                NoDerivativeError, node, f"this call does not match `{callee}`'s parameters: {exc}"
            ) from None
        bound.apply_defaults()
        values = dict(bound.arguments)
        if packed is not None:  # (the def as written, the def made explicit for this call)
            values = varargs.bound_values(values, *packed)
        for param, value in values.items():
            if _is_function(value):  # a default argument such as ``nonlinearity=np.tanh``
                values[param] = _Known(value)
            elif not isinstance(value, (gast.AST, _Known, _Local)):
                values[param] = self._constant(value, param)
        return values

    def _constant(self, value, hint):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return gast.Constant(value=value, kind=None)
        return self.namespace.reference(value, hint=hint)


def _position(error):
    return (error.lineno or 0, error.col_offset or 0)


IN_PLACE_METHODS = frozenset({"sort", "fill", "resize", "put", "partition", "itemset", "setflags", "byteswap"})


def _draws_random_numbers(fn, callee):
    """Whether `fn` is NumPy's or the `random` module's (a method of a `random.Random`)."""
    if getattr(fn, "__module__", None) == "numpy.random" or callee.startswith(("np.random.", "numpy.random.")):
        return True
    return isinstance(getattr(fn, "__self__", None), random.Random)


def _describe_value(node):
    return dotted_name(node) or "(...)"


def _is_constant(value):
    """Numbers, arrays, and number types passed as a dtype (``x.astype(float)``)."""
    if isinstance(value, type) and issubclass(value, (numbers.Number, np.generic)):
        return True
    return isinstance(value, (numbers.Number, np.ndarray, np.generic, np.dtype))


def _is_function(value):
    """Whether `value` is a function astgrad can call or inline (not a class, a module or a number)."""
    return callable(value) and not isinstance(value, (type, types.ModuleType)) and not _is_constant(value)


def _nested_defs(body):
    return {statement.name for statement in body if isinstance(statement, gast.FunctionDef)}


def _parameter_defaults(tree):
    """(parameter name, its default expression) for each parameter of `tree` that has a default."""
    args = tree.args
    positional = args.posonlyargs + args.args
    pairs = [(a.id, d) for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults)]
    return pairs + [(a.id, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]


def _local_signature(local):
    """The `inspect.Signature` of a lambda or nested def, its defaults those resolved where it was written."""
    args = local.function.tree.args
    defaults, kw_defaults = local.defaults
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(defaults)
    empty = inspect.Parameter.empty
    params = [
        inspect.Parameter(
            a.id,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=defaults[i - first_default] if i >= first_default else empty,
        )
        for i, a in enumerate(positional)
    ]
    params += [
        inspect.Parameter(a.id, inspect.Parameter.KEYWORD_ONLY, default=empty if d is None else d)
        for a, d in zip(args.kwonlyargs, kw_defaults)
    ]
    return inspect.Signature(params)


def _same(found, value):
    """Whether `found` is `value`, or the same method of the same object (``norm.logpdf`` is new on each access)."""
    return found is value or isinstance(value, types.MethodType) and found == value


def _is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


def _describe(fn):
    if str(getattr(fn, "__module__", None)).startswith("numpy"):
        return "a NumPy function that is not in the primitive table"
    if isinstance(fn, types.BuiltinFunctionType):
        return f"a built-in function of module {getattr(fn, '__module__', None) or '?'} with no derivative template"
    if isinstance(fn, type):
        return "a class"
    if hasattr(fn, "__astgrad__"):
        return "a function generated by astgrad"
    return f"a {type(fn).__name__} with no derivative template and no Python source to inline"
