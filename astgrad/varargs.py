"""`*args` and `**kwargs` parameters, made explicit for a known call.

A ``*args`` or ``**kwargs`` parameter holds data passed through: how many
values and which keys it holds is known only where the function is called.
For a user's helper that is where resolve inlines it; for the differentiated
function it is each call of its derivative, so `api` hands such a function to
a `PerCall`, which makes the derivative once per `CallShape` (cached), as
JAX traces once per signature.

`specialize` rewrites a function for one shape, on a copy of its tree: the
``*args`` parameter becomes one positional parameter per value and
``**kwargs`` one keyword-only parameter per key, and each use of them in the
body reads those parameters:

- ``args[0]``, ``args[-1]``, ``kwargs["scale"]``, ``kwargs.get("scale", 1.0)``
  read one parameter (a constant index or key: the value it reads must be
  known when the code is transformed);
- ``X, y = args`` unpacks them (a top-level unpacking, or a top-level
  ``X = args[0]``, into names assigned only there, names the parameters
  themselves, so the generated code reads ``def d_loss(params, X, y)``);
- ``helper(x, *args)`` and ``model(x, **kwargs)`` pass them on one by one;
- ``len(args)`` is a number.

Any other use of them (a loop over ``args``, an index computed when the code
runs, the tuple or dict as a value) is an `UnsupportedSyntaxError`; an index
or key the call does not provide is an `ArgumentsError`, both located at the
read. Every later stage sees an ordinary function.
"""

import copy
import inspect
import keyword
import re
import threading
from dataclasses import dataclass, replace

import gast

from .errors import ArgumentsError, Location, NoDerivativeError, UnsupportedSyntaxError


@dataclass(frozen=True)
class CallShape:
    """What a call passes to ``*args`` (how many values) and ``**kwargs`` (which keys, sorted)."""

    positional: int = 0
    keywords: tuple = ()


@dataclass
class Specialized:
    """A function rewritten for one `CallShape`, and the parameters standing for the packed values."""

    function: object  # the rewritten parse.Function
    positional: tuple  # the parameter holding each value of *args, in order
    keywords: dict  # the parameter holding each value of **kwargs, by key


def packed(tree):
    """The names of the ``*args`` and ``**kwargs`` parameters of the def `tree` (None where there is none)."""
    args = tree.args
    return (args.vararg.id if args.vararg else None), (args.kwarg.id if args.kwarg else None)


def has_packed(tree):
    return packed(tree) != (None, None)


def named_parameters(tree):
    """The parameters a caller can name, in the order of the def (``*args`` and ``**kwargs`` left out)."""
    args = tree.args
    return [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]


def shape_of(tree, positional, keywords):
    """The `CallShape` of a call passing `positional` values and the keyword names `keywords` to the def `tree`."""
    vararg, kwarg = packed(tree)
    count = len(tree.args.posonlyargs + tree.args.args)
    extra = max(0, positional - count) if vararg else 0
    named = set(named_parameters(tree))
    keys = tuple(sorted(k for k in keywords if k not in named)) if kwarg else ()
    return CallShape(extra, keys)


def guessed_shape(tree):
    """The shape the body's constant reads imply (for checking at `grad(f)` before any call)."""
    vararg, kwarg = packed(tree)
    positional, keys = 0, set()
    for node in gast.walk(tree):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
            key = _constant(node.slice)
            if node.value.id == vararg and isinstance(key, int):
                positional = max(positional, key + 1 if key >= 0 else -key)
            elif node.value.id == kwarg and isinstance(key, str):
                keys.add(key)
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Name) and node.value.id == vararg:
            target = node.targets[0]
            if isinstance(target, (gast.Tuple, gast.List)):
                positional = max(positional, len(target.elts))
    return CallShape(positional, tuple(sorted(keys)))


def specialize(function, shape):
    """`function` (a parse.Function with ``*args`` or ``**kwargs``) rewritten for `shape`: a `Specialized`."""
    return _Specializing(function, shape).run()


def signature(function):
    """The `inspect.Signature` of a specialized parse.Function (its defaults those of the function as written)."""
    args, original, kind = function.tree.args, function.function, inspect.Parameter
    positional = args.posonlyargs + args.args
    defaults = tuple(getattr(original, "__defaults__", None) or ())
    defaults = defaults[len(defaults) - len(args.defaults):] if args.defaults else ()
    first = len(positional) - len(defaults)
    params = [kind(a.id, kind.POSITIONAL_OR_KEYWORD, default=defaults[i - first] if i >= first else kind.empty)
              for i, a in enumerate(positional)]  # fmt: skip
    keyword_defaults = getattr(original, "__kwdefaults__", None) or {}
    params += [kind(a.id, kind.KEYWORD_ONLY, default=keyword_defaults.get(a.id, kind.empty)) for a in args.kwonlyargs]
    return inspect.Signature(params)


def bound_values(values, tree, specialized):
    """`values` (parameter -> value, bound to the def `tree`) keyed by the parameters of `specialized` instead."""
    vararg, kwarg = packed(tree)
    out = {p: v for p, v in values.items() if p not in (vararg, kwarg)}
    out.update(zip(specialized.positional, values.get(vararg, ())))
    out.update((specialized.keywords[k], v) for k, v in values.get(kwarg, {}).items())
    return out


class _Specializing:
    def __init__(self, function, shape):
        self.function = function
        self.shape = shape
        self.location = Location(function.filename)
        self.tree = copy.deepcopy(function.tree)
        self.vararg, self.kwarg = packed(self.tree)
        self.taken = {n.id for n in gast.walk(self.tree) if isinstance(n, gast.Name)}
        self.taken |= set(named_parameters(self.tree)) | {self.vararg, self.kwarg} - {None}
        self.stores = {}
        for node in gast.walk(self.tree):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                self.stores[node.id] = self.stores.get(node.id, 0) + 1

    def run(self):
        tree = self.tree
        dropped = set()
        positional = self._positional_names(dropped) if self.vararg else []
        keywords = self._keyword_names(dropped) if self.kwarg else {}
        self.positional, self.keywords = positional, keywords
        tree.body = [_Uses(self).visit(s) for i, s in enumerate(tree.body) if i not in dropped]
        args = tree.args
        if positional:
            args.args = args.args + [self._param(p, args.vararg) for p in positional]
            args.defaults = []  # every positional parameter is passed when *args receives values
        args.kwonlyargs = args.kwonlyargs + [self._param(keywords[k], args.kwarg) for k in sorted(keywords)]
        args.kw_defaults = args.kw_defaults + [None] * len(keywords)
        args.vararg = args.kwarg = None
        return Specialized(replace(self.function, tree=tree), tuple(positional), keywords)

    def _param(self, identifier, node):
        return gast.copy_location(gast.Name(id=identifier, ctx=gast.Param(), annotation=None, type_comment=None), node)

    def _once(self, target):
        """Whether `target` is a name assigned only once and free to become a parameter."""
        return isinstance(target, gast.Name) and self.stores.get(target.id) == 1 and target.id not in (
            named_parameters(self.tree) + [self.vararg, self.kwarg])  # fmt: skip

    def _positional_names(self, dropped):
        """A name per value of *args: the user's if a top-level statement unpacks or reads it into one, else args_i."""
        count = self.shape.positional
        names = [None] * count
        for index, statement in enumerate(self.tree.body):
            if not isinstance(statement, gast.Assign) or len(statement.targets) != 1:
                continue
            target, value = statement.targets[0], statement.value
            if _is_name(value, self.vararg) and isinstance(target, (gast.Tuple, gast.List)):
                if len(target.elts) == count and all(self._once(t) for t in target.elts) and not any(names):
                    names = [t.id for t in target.elts]
                    dropped.add(index)
                break  # the first unpacking decides; any other is rewritten where it stands
            if isinstance(value, gast.Subscript) and _is_name(value.value, self.vararg) and self._once(target):
                key = _constant(value.slice)
                if isinstance(key, int) and -count <= key < count and names[key % count] is None:
                    names[key % count] = target.id
                    dropped.add(index)
        for i, wanted in enumerate(self._names_where_passed_on()):
            if names[i] is None and wanted is not None and wanted not in self.taken:
                names[i] = wanted
                self.taken.add(wanted)
        return [n if n is not None else self._fresh(f"{self.vararg}_{i}") for i, n in enumerate(names)]

    def _names_where_passed_on(self):
        """The parameter names of the function ``*args`` is first passed on to (``residuals(w, *args)``: X, y)."""
        count = self.shape.positional
        for node in gast.walk(self.tree):
            if not isinstance(node, gast.Call) or not isinstance(node.func, gast.Name):
                continue
            starred = [i for i, a in enumerate(node.args) if isinstance(a, gast.Starred)]
            if starred != [len(node.args) - 1] or not _is_name(node.args[-1].value, self.vararg):
                continue
            callee = self.function.closure.get(node.func.id, self.function.globals.get(node.func.id))
            try:
                params = list(inspect.signature(callee).parameters.values())
            except (TypeError, ValueError):
                return [None] * count
            start = len(node.args) - 1
            plain = [p.name for p in params if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
            return [plain[start + i] if start + i < len(plain) else None for i in range(count)]
        return [None] * count

    def _keyword_names(self, dropped):
        """A name per key of **kwargs: the user's if a top-level ``name = kwargs["key"]`` reads it, else the key."""
        names = {}
        for index, statement in enumerate(self.tree.body):
            if isinstance(statement, gast.Assign) and len(statement.targets) == 1 and self._once(statement.targets[0]):
                value = statement.value
                if isinstance(value, gast.Subscript) and _is_name(value.value, self.kwarg):
                    key = _constant(value.slice)
                    if key in self.shape.keywords and key not in names:
                        names[key] = statement.targets[0].id
                        dropped.add(index)
        for key in self.shape.keywords:
            if key not in names:
                plain = key.isidentifier() and not keyword.iskeyword(key) and key not in self.taken
                names[key] = self._fresh(key if plain else f"{self.kwarg}_{_identifier(key)}")
        return names

    def _fresh(self, wanted):
        identifier, number = wanted, 0
        while identifier in self.taken:
            number += 1
            identifier = f"{wanted}_{number}"
        self.taken.add(identifier)
        return identifier

    # ---- the reads, as `_Uses` finds them ----------------------------------------------------
    def positional_read(self, node, key):
        count = self.shape.positional
        if not -count <= key < count:
            raise self.location.error(
                ArgumentsError,
                node,
                f"`{self.vararg}[{key}]` is read, but this call passes {_values(count)} to `*{self.vararg}`",
                hint=f"pass at least {key + 1 if key >= 0 else -key} values after the named parameters, "
                "or read one the call passes",
            )
        return self.positional[key % count]

    def keyword_read(self, node, key):
        if key not in self.keywords:
            passed = ", ".join(repr(k) for k in self.shape.keywords) or "none"
            raise self.location.error(
                ArgumentsError,
                node,
                f"`{self.kwarg}[{key!r}]` is read, but this call passes no keyword `{key}` "
                f"(the keywords `**{self.kwarg}` holds: {passed})",
                hint=f"pass `{key}=...` in the call, or read it with a default: `{self.kwarg}.get({key!r}, 1.0)`",
            )
        return self.keywords[key]

    def refuse(self, node, what):
        packed_name = self.vararg if node.id == self.vararg else self.kwarg
        stars = "*" if packed_name == self.vararg else "**"
        example = (f"`{packed_name}[0]`, `a, b = {packed_name}`, `helper(x, *{packed_name})`" if stars == "*"
                   else f"`{packed_name}[\"scale\"]`, `{packed_name}.get(\"scale\", 1.0)`, "
                   f"`helper(x, **{packed_name})`")  # fmt: skip
        return self.location.error(
            UnsupportedSyntaxError,
            node,
            f"`{packed_name}` (the `{stars}{packed_name}` parameter) is {what}",
            hint=f"read its values by a constant {'index' if stars == '*' else 'key'}, unpack or pass it on: {example}",
        )


class _Uses(gast.NodeTransformer):
    """Replaces each use of ``*args`` and ``**kwargs`` in a statement by the parameters of the shape."""

    def __init__(self, specializing):
        self.s = specializing

    def name(self, identifier, node):
        return gast.copy_location(gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None), node)

    def visit_Assign(self, node):
        s = self.s
        if _is_name(node.value, s.vararg) and len(node.targets) == 1 and isinstance(node.targets[0], (gast.Tuple, gast.List)):
            target = node.targets[0]
            if len(target.elts) != s.shape.positional or any(isinstance(t, gast.Starred) for t in target.elts):
                raise s.location.error(
                    ArgumentsError,
                    node.value,
                    f"`{s.vararg}` holds {_values(s.shape.positional)} at this call, but is unpacked into "
                    f"{len(target.elts)} names",
                    hint="pass as many values as the names it is unpacked into",
                )
            elements = [self.name(p, node.value) for p in s.positional]
            node.value = gast.copy_location(gast.Tuple(elts=elements, ctx=gast.Load()), node.value)
            node.targets = [self.visit(t) for t in node.targets]
            return node
        return self.generic_visit(node)

    def visit_Subscript(self, node):
        s = self.s
        if isinstance(node.value, gast.Name) and node.value.id in (s.vararg, s.kwarg) and isinstance(node.ctx, gast.Load):
            key = _constant(node.slice)
            if node.value.id == s.vararg and isinstance(key, int):
                return self.name(s.positional_read(node, key), node)
            if node.value.id == s.kwarg and isinstance(key, str):
                return self.name(s.keyword_read(node, key), node)
            raise s.refuse(node.value, "read by an index computed when the code runs" if node.value.id == s.vararg
                           else "read by a key that is not a string written in the code")  # fmt: skip
        return self.generic_visit(node)

    def visit_Call(self, node):
        s = self.s
        func = node.func
        if _is_name(func, "len") and len(node.args) == 1 and not node.keywords and isinstance(node.args[0], gast.Name):
            if node.args[0].id == s.vararg:
                return gast.copy_location(gast.Constant(value=s.shape.positional, kind=None), node)
            if node.args[0].id == s.kwarg:
                return gast.copy_location(gast.Constant(value=len(s.shape.keywords), kind=None), node)
        if isinstance(func, gast.Attribute) and _is_name(func.value, s.kwarg) and func.attr == "get":
            key = _constant(node.args[0]) if node.args and not node.keywords and len(node.args) <= 2 else None
            if not isinstance(key, str):
                raise s.refuse(func.value, "read by `.get` with a key that is not a string written in the code")
            if key in s.keywords:
                return self.name(s.keywords[key], node)
            if len(node.args) == 2:
                return self.visit(node.args[1])
            return gast.copy_location(gast.Constant(value=None, kind=None), node)
        args = []
        for arg in node.args:
            if isinstance(arg, gast.Starred) and _is_name(arg.value, s.vararg):
                args += [self.name(p, arg) for p in s.positional]
            else:
                args.append(self.visit(arg))
        keywords = []
        for item in node.keywords:
            if item.arg is None and _is_name(item.value, s.kwarg):
                keywords += [gast.keyword(arg=k, value=self.name(s.keywords[k], item.value)) for k in s.shape.keywords]
            else:
                keywords.append(self.visit(item))
        node.func, node.args, node.keywords = self.visit(func), args, keywords
        return node

    def visit_For(self, node):
        s = self.s
        if isinstance(node.iter, gast.Name) and node.iter.id in (s.vararg, s.kwarg):
            raise s.refuse(node.iter, "looped over: its length is known only at the call")
        return self.generic_visit(node)

    def visit_Name(self, node):
        s = self.s
        if node.id in (s.vararg, s.kwarg):
            if isinstance(node.ctx, gast.Store):
                raise s.refuse(node, "assigned to")
            raise s.refuse(node, "used as a whole value")
        return node


def _is_name(node, identifier):
    return identifier is not None and isinstance(node, gast.Name) and node.id == identifier


def _constant(node):
    """The int or str a subscript or argument writes (``0``, ``-1``, ``"scale"``), else None."""
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, str)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _constant(node.operand)
        return -inner if isinstance(inner, int) else None
    return None


def _identifier(key):
    return "".join(c if c.isalnum() or c == "_" else "_" for c in key) or "key"


def _values(count):
    return "no value" if count == 0 else "1 value" if count == 1 else f"{count} values"


# ---- the derivative of a function with *args or **kwargs, made at each call -------------------------------
SEED = re.compile(r"d\d*_out(_\d+)?")  # a seed the generated functions take (d_out, d2_out, d_out_1), never **kwargs


class PerCall:
    """What `grad` and the others return for a function with ``*args`` or ``**kwargs``: see the module docstring.

    `derivative(parse.Function)` makes the derivative of the function
    rewritten for one shape; `tangents` is how many positional values after
    the arguments are tangents or vectors (`jvp`, `hvp`), not arguments.
    """

    def __init__(self, function, derivative, name, tangents=0, of=None):
        self.function = function
        self.derivative = derivative
        self.of = of  # the PerCall this one differentiates again (its code for a shape is `derivative`'s input)
        self.tangents = tangents
        self.lock = threading.Lock()
        self.cache = {}
        self.latest = None
        self.__name__ = self.__qualname__ = name
        self.__doc__ = f"The derivative of {function.name}, made at each call for the values its *args and **kwargs hold."

    def __repr__(self):
        return f"<astgrad derivative {self.__name__} of {self.function.name}, per number of *args and keys of **kwargs>"

    @property
    def __astgrad__(self):
        """The record of the code made for the latest call (what `astgrad.source` shows)."""
        if self.latest is None:
            raise TypeError(
                f"{self.__name__} is made at each call, for the values passed to the *args and **kwargs "
                f"of {self.function.name}: call it once, then ask for its source"
            )
        latest = self.latest
        if getattr(latest, "__astgrad__", None) is None and hasattr(latest, "default"):  # the containers' dispatcher
            latest = latest.latest or latest.default()
        return latest.__astgrad__

    def for_shape(self, shape):
        """The derivative made for `shape` (made once, then cached)."""
        with self.lock:
            if shape not in self.cache:
                made = self.of.for_shape(shape) if self.of is not None else specialize(self.function, shape).function
                self.cache[shape] = self.derivative(made)
            return self.cache[shape]

    def __call__(self, *args, **kwargs):
        positional = len(args) - self.tangents
        named = named_parameters(self.function.tree)
        shape = shape_of(self.function.tree, positional, [k for k in kwargs if k in named or not SEED.fullmatch(k)])
        generated = self.for_shape(shape)
        self.latest = generated
        return generated(*args, **kwargs)


def refuse_in_wrt(function, item):
    """`wrt` naming the ``*args`` or ``**kwargs`` parameter: say how to differentiate such a value instead."""
    vararg, kwarg = packed(function.tree)
    node = function.tree.args.vararg if item == vararg else function.tree.args.kwarg
    stars = "*" if item == vararg else "**"
    return Location(function.filename).error(
        NoDerivativeError,
        node,
        f"wrt names `{item}`, the `{stars}{item}` parameter of {function.name}: what it holds is data passed "
        "through, with no gradient",
        hint=f"to differentiate a value, make it a parameter of its own, e.g. `def {function.name}("
        f"{', '.join(named_parameters(function.tree) + ['value'])}, {stars}{item})`, and name it in wrt",
    )


def refuse_packed(fn, what):
    """A `TypeError` for `what` (a reverse Jacobian, `check_grads`) of a function taking ``*args`` or ``**kwargs``.

    Both need the generated function's signature before the call that makes
    it; differentiating a function with the packed values bound works today.
    """
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return
    packed_kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if isinstance(fn, PerCall) or any(p.kind in packed_kinds for p in parameters):
        name = getattr(fn, "__name__", "f")
        raise TypeError(
            f"{what} of {name}, which takes *args or **kwargs, is not supported: bind the values they hold "
            f"first, e.g. with a lambda: `lambda x: {name}(x, X, y)`"
        )
