"""Generated source depends only on the user's code.

Not on hash seeds (set and dict order of strings), object ids, or which
functions were transformed before: two interpreters with different
PYTHONHASHSEED values transform the same random programs (tests/random_programs.py)
and the corpus and must print the same text, and one interpreter transforming
fresh imports of the same programs in different orders must too.
"""

import gc
import json
import os
import random
import subprocess
import sys

import astgrad
import random_programs as rp

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
PROGRAMS = range(12)

TRANSFORM_ALL = """
import json, sys
import astgrad
import corpus
import random_programs as rp

sources = {}
for index in range(%d):
    program = rp.make_program(0, index)
    module = rp.import_file(rp.write(program, sys.argv[1]))
    sources[program.label] = [
        program.source,
        astgrad.source(astgrad.grad(module.f, wrt=program.wrt)),
        astgrad.source(astgrad.value_and_grad(module.f)),
    ]
for fn in corpus.CORPUS:
    sources[fn.__name__] = [astgrad.source(astgrad.grad(fn)), astgrad.source(astgrad.value_and_grad(fn, wrt=0))]
print(json.dumps(sources))
""" % len(PROGRAMS)


def transform_in_a_new_interpreter(hash_seed, directory):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    env["PYTHONPATH"] = os.pathsep.join([ROOT, TESTS] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.Popen(
        [sys.executable, "-c", TRANSFORM_ALL, str(directory)], env=env, stdout=subprocess.PIPE, text=True
    )


def test_source_does_not_depend_on_the_hash_seed(tmp_path):
    runs = []
    for hash_seed in (0, 4242):
        directory = tmp_path / str(hash_seed)
        directory.mkdir()
        runs.append(transform_in_a_new_interpreter(hash_seed, directory))
    outputs = []
    for run in runs:
        stdout, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        outputs.append(json.loads(stdout))
    first, second = outputs
    assert len(first) == len(PROGRAMS) + 6
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between hash seeds"


def test_source_does_not_depend_on_the_order_of_transforms(tmp_path):
    programs = [rp.make_program(0, index) for index in PROGRAMS]
    paths = [rp.write(program, str(tmp_path)) for program in programs]

    def transform(order, seed):
        """The sources of every program, transformed in `order`, with other objects made in between."""
        modules = {i: rp.import_file(paths[i]) for i in order}
        clutter, sources = [], {}
        shuffle = random.Random(seed).random
        for i in order:
            clutter += [object() for _ in range(int(shuffle() * 50))]  # other ids for what follows
            program = programs[i]
            sources[i] = (
                astgrad.source(astgrad.grad(modules[i].f, wrt=program.wrt)),
                astgrad.source(astgrad.value_and_grad(modules[i].f)),
            )
            gc.collect()
        return sources

    forward = transform(list(PROGRAMS), seed=1)
    shuffled = list(PROGRAMS)
    random.Random(2).shuffle(shuffled)
    assert transform(shuffled, seed=2) == forward
    assert len({text for pair in forward.values() for text in pair}) == 2 * len(PROGRAMS)
