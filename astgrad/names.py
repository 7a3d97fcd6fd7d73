"""Names in one generated function: local names, and what free names refer to.

A `Namespace` is created by the resolve stage and handed along the pipeline.
It knows the user's globals, closure and builtins (the generated function
shares them), the local names taken so far, and the objects astgrad had to add
(they become closure cells of the generated function, never entries in the
user's module). It answers two questions: "a new local name like `sin_x`,
please" (`fresh`, deterministic suffixes `_1`, `_2`, ... on collision), and
"an expression that names this object" (`reference`, preferring the way the
user already spells it: `cos`, then `math.cos`, then an added name).
"""

import ast
import builtins
import copy
import keyword
import numbers
import types

import gast
import numpy as np


BUILTIN_NAMES = frozenset(dir(builtins))
_MISSING = object()


class Namespace:
    def __init__(self, globals, closure):
        self.globals = globals
        self.closure = dict(closure)
        self.added = {}  # name -> object, for names astgrad adds as closure cells
        self.locals = set()  # every local name of the generated function
        self.free = set()  # every free name the generated code reads
        self.instances = frozenset()  # parameters holding a method's instance: `self.exog` is data
        self._references = {}
        self._last_suffix = {}  # base -> the last suffix `fresh` gave it

    def fork(self):
        """A copy whose new names do not touch this one: each stage that makes names works on its own fork.

        So running a stage twice on the same input gives the same names.
        """
        other = copy.copy(self)
        other.closure = dict(self.closure)
        other.added = dict(self.added)
        other.locals = set(self.locals)
        other.free = set(self.free)
        other._references = dict(self._references)
        other._last_suffix = dict(self._last_suffix)
        return other

    # ---- looking names up --------------------------------------------------------------
    def lookup(self, name, default=_MISSING):
        """The object a free `name` refers to in the generated function."""
        for scope in (self.added, self.closure, self.globals):
            if name in scope:
                return scope[name]
        if name in BUILTIN_NAMES:
            return getattr(builtins, name)
        if default is _MISSING:
            raise LookupError(name)
        return default

    # ---- making names ------------------------------------------------------------------
    def is_taken(self, name):
        return (
            name in self.locals
            or name in self.free
            or name in self.added
            or name in BUILTIN_NAMES
            or keyword.iskeyword(name)
        )

    def is_readable(self, name):
        """Whether the generated function could read `name` from outside: globals, closure, builtins, added names."""
        return (
            name in self.globals
            or name in self.closure
            or name in self.added
            or name in self.free
            or name in BUILTIN_NAMES
            or keyword.iskeyword(name)
        )

    def fresh(self, base):
        """A new local name: `base` itself if free, else `base_1`, `base_2`, ..."""
        name, counter = base, self._last_suffix.get(base, 0)
        if counter or self.is_taken(name):
            counter += 1
            name = f"{base}_{counter}"
            while self.is_taken(name):
                counter += 1
                name = f"{base}_{counter}"
            self._last_suffix[base] = counter
        self.locals.add(name)
        return name

    def reference(self, obj, hint=None):
        """An expression that evaluates to `obj` inside the generated function."""
        key = id(obj)
        if key not in self._references:
            self._references[key] = (obj, self._find_reference(obj, hint))
        expression = self._references[key][1]
        self.free.add(root_name(expression))
        return copy_atom(expression)

    def _find_reference(self, obj, hint):
        # An object without a __name__ (np.s_) is known by the last part of its dotted hint.
        attribute = getattr(obj, "__name__", None) or (hint or "value").split(".")[-1]
        direct = [name for name in self._names_bound_to(obj) if name not in self.locals]
        modules = self._modules_holding(obj, attribute)
        for candidates in (
            [n for n in direct if n in self.free],
            [chain for chain in modules if chain.split(".")[0] in self.free],
            direct,
            modules,
        ):
            if candidates:
                return _parse_reference(candidates[0])
        name = attribute if attribute.isidentifier() else "value"
        added = self.fresh(name)
        self.locals.discard(added)
        self.added[added] = obj
        return gast.Name(id=added, ctx=gast.Load(), annotation=None, type_comment=None)

    def _names_bound_to(self, obj):
        names = [n for n in self.closure if self.closure[n] is obj]
        names += sorted(n for n, v in self.globals.items() if v is obj and n not in self.closure)
        name = getattr(obj, "__name__", None)
        if name in BUILTIN_NAMES and getattr(builtins, name) is obj and self.lookup(name, None) is obj:
            names.append(name)
        return names

    def _modules_holding(self, obj, name):
        if not isinstance(name, str):
            return []
        chains = []
        for scope in (self.closure, self.globals):
            for alias in sorted(scope):
                module = scope[alias]
                if (
                    isinstance(module, types.ModuleType)
                    and alias not in self.locals
                    and getattr(module, name, None) is obj
                    and self.lookup(alias) is module
                ):
                    chains.append(f"{alias}.{name}")
        return chains

    def is_value_attribute(self, node, local_names=None, lookup=None):
        """Whether `node` (``a.b``) is an attribute of a value (``x.T``, ``x.sum``), not of a module (``math.pi``)
        or of another object outside the function (``self.exog`` of a bound method's instance, a class's constant).

        `local_names` and `lookup` default to the generated function's; the
        resolve stage passes those of the body being inlined.
        """
        if not isinstance(node, gast.Attribute):
            return False
        local_names = self.locals if local_names is None else local_names
        if isinstance(node.value, gast.Name) and node.value.id in self.instances:
            return False
        if dotted_name(node.value) is None or root_name(node.value) in local_names:
            return True
        try:
            return is_number_or_array(self.evaluate(node.value, lookup))
        except LookupError:
            return False

    # ---- evaluating references ----------------------------------------------------------
    def refers_to(self, node, obj):
        """Whether the name or attribute chain `node` (``unindex``, ``runtime.unindex``) is `obj` here."""
        try:
            return self.evaluate(node) is obj
        except (LookupError, AttributeError):  # not a name or chain, or not one the function can read
            return False

    def evaluate(self, node, lookup=None):
        """The object a name or attribute chain (`math.sin`) refers to; LookupError if none."""
        lookup = lookup or self.lookup
        attributes = []
        while isinstance(node, gast.Attribute):
            attributes.append(node.attr)
            node = node.value
        value = lookup(node.id)
        for attribute in reversed(attributes):
            try:
                value = getattr(value, attribute)
            except AttributeError:
                raise LookupError(attribute) from None
        return value


def is_number_or_array(value):
    """Whether `value` is data astgrad computes with (its attributes are the table's `.T`, `.shape`, ...)."""
    return isinstance(value, (numbers.Number, np.ndarray, np.generic))


def root_name(expression):
    """`math` for `math.pi`, `x` for `x`."""
    while isinstance(expression, gast.Attribute):
        expression = expression.value
    return expression.id


def _parse_reference(dotted):
    """The expression for a dotted name: ``np.linalg.norm`` (without the parser, which costs more)."""
    first, *attributes = dotted.split(".")
    expression = name(first)
    for attribute in attributes:
        expression = gast.Attribute(value=expression, attr=attribute, ctx=gast.Load())
    return expression


def copy_atom(atom):
    """A fresh node for an atom (name, number, `math.pi`, `-2`), or a tuple of atoms as a Tuple."""
    if isinstance(atom, tuple):
        return gast.Tuple(elts=[copy_atom(a) for a in atom], ctx=gast.Load())
    if isinstance(atom, gast.Name):
        return name(atom.id)
    if isinstance(atom, gast.Constant):
        return gast.Constant(value=atom.value, kind=None)
    if isinstance(atom, gast.Attribute):
        return gast.Attribute(value=copy_atom(atom.value), attr=atom.attr, ctx=gast.Load())
    return gast.UnaryOp(op=atom.op, operand=copy_atom(atom.operand))


def name(identifier):
    """A `gast.Name` load of `identifier`."""
    return gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None)


def with_children(node, transform):
    """A new node like `node` whose child nodes are `transform(child)` (other fields shared)."""
    fields = {}
    for field, value in gast.iter_fields(node):
        if isinstance(value, list):
            fields[field] = [transform(v) if isinstance(v, gast.AST) else v for v in value]
        elif isinstance(value, gast.AST):
            fields[field] = transform(value)
        else:
            fields[field] = value
    return type(node)(**fields)


def name_ids(node):
    """The id of every `gast.Name` in the expression `node`, once per occurrence, in no particular order.

    What ``[n.id for n in gast.walk(node) if isinstance(n, gast.Name)]`` gives,
    several times faster (no generator per node): the stages ask it of every
    statement, several times.
    """
    ids, stack = [], [node]
    while stack:
        node = stack.pop()
        if isinstance(node, gast.Name):  # (only a parameter's Name has a part: its annotation)
            ids.append(node.id)
        elif isinstance(node, gast.AST):  # lists may hold other values: a dict display's None keys
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    stack.extend(value)
                elif isinstance(value, gast.AST):
                    stack.append(value)
    return ids


def substituted(node, replacements):
    """`node` with each load of a name in `replacements` (name -> expression) replaced by that expression."""
    if isinstance(node, gast.Name) and node.id in replacements:
        return replacements[node.id]
    if isinstance(node, (gast.Name, gast.Constant)):
        return node
    return with_children(node, lambda child: substituted(child, replacements))


def dotted_name(node):
    """'math.cos' for the expression `math.cos`, None for anything but a name chain."""
    parts = []
    while isinstance(node, (gast.Attribute, ast.Attribute)):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, (gast.Name, ast.Name)):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
