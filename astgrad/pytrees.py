"""Containers as parameters (pytrees): dicts, lists and tuples of arrays and numbers.

A parameter read by a constant key or index (``params["W"]``, ``layers[1]["b"]``)
or unpacked as a whole (``W, b = params``) may be a container, or an array
(``x[0]``, ``t1, t2 = state``): only the call can tell. Its derivative is
therefore made per *structure* of the arguments, at the call, as JAX traces
once per tree structure:

- `structure` describes an argument: a `Node` (dict, list or tuple, with its
  keys and its children's structures) or `LEAF`;
- `flatten` rewrites the user's function for one structure into a function
  of the leaves the code reads: each container parameter is replaced by one
  parameter per leaf read, named after the variable the user assigns it to
  (``W = params["W"]`` makes the leaf parameter ``W``) or else after its path
  (``params_W``, ``layers_1_b``); aliases of sub-containers (``layer =
  layers[0]``) and unpackings are followed statement by statement. An array
  parameter unpacked into n names (``t1, t2, w1, w2 = state``) becomes n
  constant indexings, its length checked at the call;
- `Dispatcher` is the function `grad` returns for such a function: at each
  call it reads the arguments' structures, checks them (every leaf of a
  differentiated container a number or an array, every key the code reads
  present), differentiates the flat function once per structure (cached)
  and rebuilds the gradient with the argument's structure, zeros of their
  shape for leaves the code does not read. Arguments with no container go
  to the derivative made for arrays, as for any other function.
"""

import copy
import threading
from dataclasses import dataclass, replace

import gast
import numpy as np

from .errors import ContainerError, Location, NotStraightLineError

NO_KEY = object()


class _Leaf:
    """The structure of anything that is not a dict, list or tuple."""

    def __repr__(self):
        return "LEAF"


LEAF = _Leaf()


@dataclass(frozen=True)
class Node:
    """A container's structure: its type, its keys (indices for a list or tuple) and its children's structures."""

    kind: type
    keys: tuple
    children: tuple

    def child(self, key):
        return self.children[self.keys.index(key)]


@dataclass(frozen=True)
class Rows:
    """An array parameter unpacked along its first axis, of that length at the call."""

    length: int


def structure(value):
    """`value`'s structure: a `Node` for a dict, list or tuple (nested), else `LEAF`."""
    if isinstance(value, dict):
        return Node(dict, tuple(value), tuple(structure(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return Node(list if isinstance(value, list) else tuple, tuple(range(len(value))), tuple(structure(v) for v in value))
    return LEAF


def path_text(name, path):
    """How Python spells the read of `path` in `name`: ``params["W"][1]``."""
    return name + "".join("[" + ('"%s"' % key if isinstance(key, str) else str(key)) + "]" for key in path)


def leaves(value, tree, path=()):
    """(path, leaf) pairs of `value` of structure `tree`, in the order of its keys."""
    if tree is LEAF:
        yield path, value
        return
    for key, child in zip(tree.keys, tree.children):
        yield from leaves(value[key], child, path + (key,))


def candidates(tree):
    """The parameters of the def `tree` that may be containers: read by a constant key or unpacked as a whole.

    Returns (read, unpacked): two sets of names, the second those unpacked
    whole or through constant subscripts (``W, b = layers[0]``).
    """
    params = {a.id for a in tree.args.args + tree.args.posonlyargs + tree.args.kwonlyargs}
    read, unpacked = set(), set()
    for node in gast.walk(tree):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and node.value.id in params:
            if constant_key(node.slice) is not NO_KEY:
                read.add(node.value.id)
        elif isinstance(node, gast.Assign) and any(isinstance(t, (gast.Tuple, gast.List)) for t in node.targets):
            root = _root(node.value)
            if root in params:
                unpacked.add(root)
            for target, value in _pairs(node) or ():  # (t1, t2), (w1, w2) = q, q_dot
                if isinstance(target, (gast.Tuple, gast.List)) and _root(value) in params:
                    unpacked.add(_root(value))
    return read, unpacked


def _pairs(node):
    """(target, value) pairs of ``a, (b, c) = x, y`` when its sides have one length, else None.

    Only when no value reads a name the assignment assigns, so that assigning the
    pairs one after another is the same as assigning them at once (not a swap).
    """
    if len(node.targets) != 1:
        return None
    target, value = node.targets[0], node.value
    if not (isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, (gast.Tuple, gast.List))):
        return None
    if len(target.elts) != len(value.elts) or any(isinstance(n, gast.Starred) for n in target.elts + value.elts):
        return None
    assigned = {n.id for n in gast.walk(target) if isinstance(n, gast.Name)}
    if any(isinstance(n, gast.Name) and n.id in assigned for n in gast.walk(value)):
        return None
    return list(zip(target.elts, value.elts))


def iterated(tree):
    """The parameters of the def `tree` a ``for`` loop walks (``for W, b in layers``, ``enumerate(layers)``,
    ``reversed``, ``zip(weights, biases)``)."""
    return {name for group in walked_together(tree) for name in group}


def walked_together(tree):
    """For each ``for`` loop of the def `tree`, the set of its parameters it walks (in step, for ``zip``)."""
    params = {a.id for a in tree.args.args}
    groups = []
    for node in gast.walk(tree):
        if isinstance(node, gast.For):
            pairs, _, _ = _walked_sequences(node)
            groups.append({s.id for s, _ in pairs if isinstance(s, gast.Name) and s.id in params})
    return [group for group in groups if group]


def _walked_sequences(loop):
    """(the (sequence, element target) pairs a ``for`` walks in step, the index target of ``enumerate`` or None,
    whether backwards)."""
    iterable, target, index, backwards = loop.iter, loop.target, None, False
    if _is_call_of(iterable, "enumerate") and isinstance(target, gast.Tuple) and len(target.elts) == 2:
        iterable, (index, target) = iterable.args[0], target.elts
    elif _is_call_of(iterable, "reversed"):
        iterable, backwards = iterable.args[0], True
    if (isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name) and iterable.func.id == "zip"
            and iterable.args and not iterable.keywords and isinstance(target, gast.Tuple)
            and len(target.elts) == len(iterable.args)):  # fmt: skip
        return list(zip(iterable.args, target.elts)), index, backwards
    return [(iterable, target)], index, backwards


def _is_call_of(node, function):
    """Whether `node` is ``function(one_argument)`` of a builtin named `function`."""
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == function
            and len(node.args) == 1 and not node.keywords)  # fmt: skip


def _root(node):
    """The name a chain of constant subscripts starts from (``layers`` in ``layers[0]["W"]``), else None."""
    while isinstance(node, gast.Subscript) and constant_key(node.slice) is not NO_KEY:
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def constant_key(node):
    """The constant a subscript reads (``"W"``, ``0``, ``-1``), else `NO_KEY`."""
    if isinstance(node, gast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return node.value
    if (
        isinstance(node, gast.UnaryOp)
        and isinstance(node.op, gast.USub)
        and isinstance(node.operand, gast.Constant)
        and isinstance(node.operand.value, int)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value
    return NO_KEY


@dataclass
class Flat:
    """A function rewritten for one structure of its arguments: the leaves each container parameter passes."""

    function: object  # the rewritten parse.Function
    read: dict  # container parameter -> ((path, leaf parameter name), ...) in the order of its keys


def flatten(function, specs):
    """`function` (a parse.Function) rewritten for `specs`: parameter name -> `Node` or `Rows`; a `Flat`."""
    return _Flattening(function, specs).run()


class _Flattening:
    def __init__(self, function, specs):
        self.function = function
        self.specs = specs
        self.location = Location(function.filename)
        self.tree = copy.deepcopy(function.tree)
        self.taken = {n.id for n in gast.walk(self.tree) if isinstance(n, gast.Name)}
        self.assigned = {}
        for n in gast.walk(self.tree):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                self.assigned[n.id] = self.assigned.get(n.id, 0) + 1
        self.env = {name: (name, ()) for name, spec in specs.items() if isinstance(spec, Node)}
        self.names = {}  # (parameter, path) -> leaf parameter name

    def run(self):
        body = []
        for statement in self.tree.body:
            body.extend(self.statement(statement))
        self.tree.body = body
        read = {}
        args = []
        for arg in self.tree.args.args:
            spec = self.specs.get(arg.id)
            if not isinstance(spec, Node):
                args.append(arg)
                continue
            pairs = tuple((path, self.names[(arg.id, path)]) for path in _paths(spec) if (arg.id, path) in self.names)
            read[arg.id] = pairs
            for _, name in pairs:
                args.append(gast.copy_location(gast.Name(name, gast.Param(), None, None), arg))
        for arg in self.tree.args.kwonlyargs + self.tree.args.posonlyargs:
            if isinstance(self.specs.get(arg.id), Node):
                raise self.error(arg, f"`{arg.id}` is a container at this call, but a keyword-only or positional-only "
                                 "parameter", "make it an ordinary positional parameter")
        self.tree.args.args = args
        self.tree.args.defaults = []  # every positional argument is passed, defaults filled in at the call
        return Flat(replace(self.function, tree=self.tree), read)

    def error(self, node, message, hint):
        return self.location.error(ContainerError, node, message, hint)

    def statement(self, node):
        if isinstance(node, gast.For) and not node.orelse:
            unrolled = self.unrolled(node)
            if unrolled is not None:
                return unrolled
        if isinstance(node, (gast.If, gast.For, gast.While)):
            return [self.compound(node)]
        pairs = _pairs(node) if isinstance(node, gast.Assign) else None
        if pairs and any(isinstance(t, (gast.Tuple, gast.List)) and self._unpackable(v) for t, v in pairs):
            out = []  # (t1, t2), (w1, w2) = q, q_dot: each pair on its own, the containers' unpacked
            for target, value in pairs:
                out.extend(self.statement(gast.copy_location(gast.Assign([target], value, None), value)))
            return out
        if isinstance(node, gast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            ref = self.reference(node.value)
            if ref is not None:
                return self.bind(target, ref, node)
            if isinstance(node.value, gast.Name) and isinstance(self.specs.get(node.value.id), Rows):
                if isinstance(target, (gast.Tuple, gast.List)):
                    return self.rows(target, node.value, node)
        node = _Reads(self).visit(node)
        for n in gast.walk(node):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                self.env.pop(n.id, None)
        return [node]

    def compound(self, node):
        """An `if` or a loop with its blocks' statements rewritten (a loop over a container among them unrolled).

        A name the statement assigns anywhere is unbound from its container
        entry after it, and (in a loop, whose next pass reads what the last
        one assigned) before it too; each branch of an `if` starts from the
        bindings before it.
        """
        stored = {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        before = self.env if isinstance(node, gast.If) else {k: v for k, v in self.env.items() if k not in stored}
        self.env = dict(before)
        if isinstance(node, gast.For):
            node.iter = _Reads(self).visit(node.iter)
        else:
            node.test = _Reads(self).visit(node.test)
        for field in ("body", "orelse"):
            self.env = dict(before)
            statements = [s for statement in getattr(node, field) for s in self.statement(statement)]
            setattr(node, field, statements or ([gast.copy_location(gast.Pass(), node)] if field == "body" else []))
        self.env = {k: v for k, v in before.items() if k not in stored}
        return node

    def _unpackable(self, value):
        """Whether `value` is a container of the call (or part of one) or an array unpacked by rows."""
        if isinstance(value, gast.Name) and isinstance(self.specs.get(value.id), Rows):
            return True
        return self.reference(value) is not None

    def unrolled(self, loop):
        """A loop over a list or tuple of the call (``for W, b in layers``): its body once per entry, or None.

        The length is known at the call and each entry's leaves are parameters
        of their own (``W_0, b_0, W_1, ...``), so each pass reads its entry's
        leaves: per-element code, which any entry shapes allow (an MLP's
        layers differ in shape, so they cannot be stacked into one array).
        """
        pairs, index, backwards = _walked_sequences(loop)
        refs = [self.reference(sequence) for sequence, _ in pairs]
        if any(ref is None or self.subtree(ref) is LEAF or self.subtree(ref).kind is dict for ref in refs):
            return None
        trees = [self.subtree(ref) for ref in refs]
        count = min(len(tree.keys) for tree in trees)  # (zip stops at the shortest)
        targets = [n.id for _, t in pairs for n in gast.walk(t) if isinstance(n, gast.Name)]
        for identifier in targets + ([index.id] if index is not None else []):  # assigned once per pass
            self.assigned[identifier] = self.assigned.get(identifier, 0) + count
        out = []
        for position in reversed(range(count)) if backwards else range(count):
            if index is not None:
                value = gast.copy_location(gast.Constant(value=position, kind=None), loop.iter)
                out.append(gast.copy_location(gast.Assign([copy.deepcopy(index)], value, None), loop))
            for (sequence, target), ref, tree in zip(pairs, refs, trees):
                key = tree.keys[position]
                entry = (ref[0], ref[1] + (key,))
                self.name_leaves(target, entry, key)
                where = gast.copy_location(gast.Assign([copy.deepcopy(target)], copy.deepcopy(sequence), None), loop)
                out.extend(self.bind(where.targets[0], entry, where))
            for statement in copy.deepcopy(loop.body):
                out.extend(self.statement(statement))
        return out

    def name_leaves(self, target, ref, key):
        """Name the leaves a loop's target takes in the pass over entry `key` after the target (`W_0`)."""
        tree = self.subtree(ref)
        if isinstance(target, gast.Name) and tree is LEAF and ref not in self.names:
            wanted, number = f"{target.id}_{key}", 0
            while wanted in self.taken:
                number += 1
                wanted = f"{target.id}_{key}_{number}"
            self.leaf_name(ref, wanted)
        elif isinstance(target, (gast.Tuple, gast.List)) and tree is not LEAF and tree.kind is not dict:
            for child_key, element in zip(tree.keys, target.elts):
                self.name_leaves(element, (ref[0], ref[1] + (child_key,)), key)

    def reference(self, node):
        """(parameter, path) if `node` reads a container parameter or a part of one by constant keys, else None."""
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            return self.env.get(node.id)
        if not isinstance(node, gast.Subscript):
            return None
        base = self.reference(node.value)
        if base is None:
            return None
        name, path = base
        tree = self.subtree(base)
        if tree is LEAF:
            return None  # indexing a leaf (an array): an ordinary subscript
        key = constant_key(node.slice)
        text = path_text(name, path)
        if key is NO_KEY:
            raise self.error(
                node.slice,
                f"`{text}` is a {tree.kind.__name__} at this call; it can be read only by a constant key or index",
                f'write the key or index itself ({text}["W"], {text}[0])',
            )
        if tree.kind is not dict and isinstance(key, int) and -len(tree.keys) <= key < 0:
            key += len(tree.keys)
        if key not in tree.keys:
            raise self.error(
                node,
                f"`{path_text(name, path + (key,))}` is read, but `{text}` at this call has no such "
                + ("key" if tree.kind is dict else "index")
                + f": its {'keys are' if tree.kind is dict else 'length is'} "
                + (", ".join(repr(k) for k in tree.keys) if tree.kind is dict else str(len(tree.keys))),
                "pass a container with that entry, or read one it has",
            )
        return name, path + (key,)

    def subtree(self, ref):
        name, path = ref
        tree = self.specs[name]
        for key in path:
            tree = tree.child(key)
        return tree

    def leaf_name(self, ref, wanted=None):
        if ref in self.names:
            return self.names[ref]
        name, path = ref
        if wanted is None:
            base = "_".join([name] + [_identifier(k) for k in path])
            wanted, number = base, 0
            while wanted in self.taken:
                number += 1
                wanted = f"{base}_{number}"
        self.taken.add(wanted)
        self.names[ref] = wanted
        return wanted

    def bind(self, target, ref, node):
        tree = self.subtree(ref)
        if isinstance(target, gast.Name):
            if tree is not LEAF:
                self.env[target.id] = ref
                return []
            self.env.pop(target.id, None)
            if ref not in self.names and self.assigned.get(target.id) == 1 and target.id not in self.specs:
                self.leaf_name(ref, target.id)
                return []
            value = gast.Name(self.leaf_name(ref), gast.Load(), None, None)
            return [gast.copy_location(gast.Assign([target], gast.copy_location(value, node.value), None), node)]
        if isinstance(target, (gast.Tuple, gast.List)):
            text = path_text(*ref)
            if tree is LEAF or tree.kind is dict:
                what = "a dict" if tree is not LEAF else "an entry that is not a list or tuple"
                raise self.error(
                    node.value,
                    f"`{text}` is {what} at this call and cannot be unpacked",
                    f'read its entries by key ({text}["W"]) or index ({text}[0])',
                )
            if any(isinstance(t, gast.Starred) for t in target.elts) or len(target.elts) != len(tree.keys):
                raise self.error(
                    node.value,
                    f"`{text}` has {len(tree.keys)} entries at this call, but is unpacked into {len(target.elts)} names",
                    "unpack it into as many names as it has entries",
                )
            out = []
            for key, element in zip(tree.keys, target.elts):
                out.extend(self.bind(element, (ref[0], ref[1] + (key,)), node))
            return out
        raise self.error(target, "a part of a container can be assigned only to a name", "assign it to a name")

    def rows(self, target, array, node):
        length = self.specs[array.id].length
        if len(target.elts) != length or not all(isinstance(t, gast.Name) for t in target.elts):
            raise self.error(
                node.value,
                f"`{array.id}` is an array of length {length} at this call, but is unpacked into "
                f"{len(target.elts)} targets",
                "unpack it into as many names as it has rows",
            )
        out = []
        for i, element in enumerate(target.elts):
            self.env.pop(element.id, None)
            row = gast.Subscript(gast.Name(array.id, gast.Load(), None, None), gast.Constant(i, None), gast.Load())
            for part in (row, row.value, row.slice):
                gast.copy_location(part, node.value)
            out.append(gast.copy_location(gast.Assign([element], row, None), node))
        return out


def _paths(tree, path=()):
    if tree is LEAF:
        yield path
        return
    for key, child in zip(tree.keys, tree.children):
        yield from _paths(child, path + (key,))


def _identifier(key):
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(key))
    return text.replace("-", "_") or "key"


class _Reads(gast.NodeTransformer):
    """Replaces each read of a leaf by its parameter; refuses a container used as a value."""

    def __init__(self, flattening):
        self.flattening = flattening

    def visit_Subscript(self, node):
        return self.replaced(node) or self.generic_visit(node)

    def visit_Name(self, node):
        return self.replaced(node) or node

    def replaced(self, node):
        flattening = self.flattening
        ref = flattening.reference(node)
        if ref is None:
            return None
        if flattening.subtree(ref) is LEAF:
            return gast.copy_location(gast.Name(flattening.leaf_name(ref), gast.Load(), None, None), node)
        text = path_text(*ref)
        kind = flattening.subtree(ref).kind.__name__
        raise flattening.error(
            node,
            f"`{text}` is a {kind} at this call, used here as a value; astgrad reads containers "
            "only by constant keys and indices and by unpacking",
            f'read its entries ({text}["W"], {text}[0]) and pass those, or unpack it (W, b = {text})',
        )


def check_leaves(name, value, tree, node, location):
    """Refuse a differentiated container holding something other than a number or a numeric array, naming its path."""
    for path, leaf in leaves(value, tree):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fiuc":
            continue
        if isinstance(leaf, (int, float, np.integer, np.floating)) and not isinstance(leaf, (bool, np.bool_)):
            continue
        raise location.error(
            ContainerError,
            node,
            f"the differentiated argument `{path_text(name, path)}` is {_described(leaf)}, which has no gradient",
            "differentiate containers of numbers and arrays only; pass other values as a separate "
            "parameter that wrt does not name",
        )


def _described(value):
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return f"a {type(value).__name__} ({value!r:.40})"


def zeros_like(leaf):
    """The gradient of a leaf the code does not read."""
    if isinstance(leaf, np.ndarray):
        return np.zeros(leaf.shape)
    return 0.0


def rebuild(tree, value, gradients, path=()):
    """A container of `tree`'s structure: `gradients[path]` at each leaf read, zeros of the leaf's shape elsewhere."""
    if tree is LEAF:
        return gradients[path] if path in gradients else zeros_like(value)
    parts = [rebuild(child, value[key], gradients, path + (key,)) for key, child in zip(tree.keys, tree.children)]
    if tree.kind is dict:
        return dict(zip(tree.keys, parts))
    return tree.kind(parts)


class Dispatcher:
    """What `grad` and the others return for a function that may take containers: see the module docstring.

    `default()` is the derivative for arguments without containers (made at
    once, so a function's errors are raised at `grad(f)` as for any other);
    `flat(specs)` the derivative of the function rewritten for one structure.
    """

    def __init__(self, function, signature, wrt, kind, unpacked, default, derivative, has_aux=False, containers=True):
        self.function = function
        self.wrt = wrt
        self.kind = kind
        self.unpacked = unpacked
        read, _ = candidates(function.tree)
        self.only_iterated = iterated(function.tree) - read - set(unpacked)  # unrolled only when differentiated
        self.walked_together = walked_together(function.tree)  # a list walked in step with a differentiated one is too
        self.has_aux = has_aux  # the derivative returns (gradient, aux), or ((value, aux), gradient)
        self.containers = containers  # whether this kind of derivative takes containers (else arrays only)
        self.location = Location(function.filename)
        self.params = [a.id for a in function.tree.args.args]
        self.nodes = {a.id: a for a in function.tree.args.args}
        self.signature = signature
        self.derivative = derivative  # (parse.Function, wrt) -> generated function
        self.lock = threading.Lock()
        self.cache = {}
        self.latest = None
        self._default = None
        self._default_error = None
        try:
            self._default = default()
        except NotStraightLineError as error:  # an unpacking is refused unless the call provides the structure
            if not unpacked:
                raise
            self._default_error = error
        self.check_wrt()
        prefix = {"value_and_grad": "value_and_d_", "jvp": "jvp_", "hessian": "hessian_", "hvp": "hvp_"}.get(kind, "d_")
        self.__name__ = self.__qualname__ = getattr(self._default, "__name__", prefix + function.name)
        self.__doc__ = f"The derivative of {function.name}, made at the call for each structure of its container arguments."

    @property
    def __code__(self):
        """The code for arrays' (its parameters and seed are those of every structure's but the containers')."""
        return self.default().__code__

    def __repr__(self):
        return f"<astgrad derivative {self.__name__} of {self.function.name}, per structure of its containers>"

    def default(self):
        if self._default is None:
            raise self._default_error
        return self._default

    def check_wrt(self):
        """The checks `grad` makes of `wrt`, for a function whose code for arrays waits for the call."""
        everything = self.params + [a.id for a in self.function.tree.args.kwonlyargs]
        items = self.wrt if isinstance(self.wrt, (tuple, list)) else () if self.wrt is None else (self.wrt,)
        for item in items:
            if isinstance(item, int) and not -len(self.params) <= item < len(self.params):
                raise ValueError(f"wrt={item} is out of range: {self.function.name} has parameters {tuple(self.params)}")
            if isinstance(item, str) and item not in everything:
                raise ValueError(
                    f"wrt={item!r} is not a parameter of {self.function.name}; its parameters are {tuple(self.params)}"
                )

    def wrt_names(self):
        if self.wrt is None:
            return tuple(p for p in self.params if p != self.function.instance)
        items = self.wrt if isinstance(self.wrt, (tuple, list)) else (self.wrt,)
        return tuple(self.params[i] if isinstance(i, int) else i for i in items)

    def spec(self, name, value):
        differentiated = set(self.wrt_names())
        if name in self.only_iterated and not any(name in g and g & differentiated for g in self.walked_together):
            return LEAF  # a list a loop walks as data: the loop over its indices, as for any sequence
        if isinstance(value, (dict, list, tuple)):
            return structure(value)
        if name in self.unpacked and isinstance(value, np.ndarray) and value.ndim >= 1:
            return Rows(len(value))
        return LEAF

    def __call__(self, *args, **kwargs):
        n = len(self.params)
        tangents = args[n:] if self.kind in ("jvp", "hvp") else ()
        primal = args[:n] if self.kind in ("jvp", "hvp") else args
        seeds = {k: kwargs.pop(k) for k in list(kwargs) if k not in self.params} if kwargs else {}
        if not kwargs and len(primal) == n:
            values = primal
        else:
            bound = self.signature.bind(*primal, **kwargs)
            bound.apply_defaults()
            values = [bound.arguments[p] for p in self.params]
        specs = {p: self.spec(p, v) for p, v in zip(self.params, values)}
        if all(s is LEAF for s in specs.values()):
            self.latest = self.default()
            return self.latest(*args, **kwargs, **seeds)
        key = tuple(specs[p] for p in self.params)
        with self.lock:
            if key not in self.cache:
                self.cache[key] = self.specialized(specs)
        flat, generated, flat_wrt, wrt_names = self.cache[key]
        self.latest = generated
        containers = [p for p in self.params if isinstance(specs[p], Node)]
        if not containers:
            return generated(*args, **kwargs, **seeds)
        arguments = []
        for p, value in zip(self.params, values):
            if p in flat.read:
                if p in wrt_names:
                    check_leaves(p, value, specs[p], self.nodes[p], self.location)
                arguments.extend(_leaf_at(value, path) for path, _ in flat.read[p])
            else:
                arguments.append(value)
        if self.kind == "jvp":
            if len(tangents) != len(wrt_names):
                raise TypeError(f"{generated.__name__} takes {len(wrt_names)} tangents after the arguments, "
                                f"one per differentiated parameter, not {len(tangents)}")
            for p, tangent in zip(wrt_names, tangents):
                if p in flat.read:
                    if structure(tangent) != specs[p]:
                        raise self.location.error(
                            ContainerError, self.nodes[p],
                            f"the tangent of `{p}` is not a container of the same structure as `{p}`",
                            "pass a tangent with the same keys and lengths as the argument",
                        )
                    arguments.extend(_leaf_at(tangent, path) for path, _ in flat.read[p])
                else:
                    arguments.append(tangent)
            return generated(*arguments)
        result = generated(*arguments, **seeds)
        aux = None
        if self.kind == "value_and_grad":
            value, gradients = result
        elif self.has_aux:
            (gradients, aux), value = result, None
        else:
            value, gradients = None, result
        by_name = dict(zip(flat_wrt, gradients))
        out = []
        for p, v in zip(self.params, values):
            if p not in wrt_names:
                continue
            if p in flat.read:
                read = {path: by_name[name] for path, name in flat.read[p]}
                out.append(rebuild(specs[p], v, read))
            else:
                out.append(by_name[p])
        ordered = tuple(out[[q for q in self.params if q in wrt_names].index(p)] for p in wrt_names)
        gradient = ordered if isinstance(self.wrt, (tuple, list)) or len(wrt_names) != 1 else ordered[0]
        if self.kind == "value_and_grad":
            return value, gradient
        return (gradient, aux) if self.has_aux else gradient

    def specialized(self, specs):
        flat = flatten(self.function, specs)
        wrt_names = self.wrt_names()
        if not any(isinstance(s, Node) for s in specs.values()):
            return flat, self.derivative(flat.function, self.wrt), None, wrt_names
        if not self.containers:
            name = next(p for p in self.params if isinstance(specs[p], Node))
            what = {"hessian": "hessian", "hvp": "hvp"}.get(self.kind, "jacobian")
            raise self.location.error(
                ContainerError, self.nodes[name],
                f"`{name}` is a container at this call, and {what} takes numbers and arrays only",
                "pass the array (np.concatenate the leaves into one vector) or take grad of each entry",
            )
        flat_wrt = []
        for p in wrt_names:
            flat_wrt.extend(name for _, name in flat.read[p]) if p in flat.read else flat_wrt.append(p)
        if not flat_wrt:
            raise self.location.error(
                ContainerError, self.nodes[wrt_names[0]],
                f"{self.function.name} reads no entry of the containers it is differentiated with respect to",
                "read the entries to differentiate, or name other parameters in wrt",
            )
        return flat, self.derivative(flat.function, tuple(flat_wrt)), tuple(flat_wrt), wrt_names


def _leaf_at(value, path):
    for key in path:
        value = value[key]
    return value
