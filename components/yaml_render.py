"""`yaml.dump`, memoized: the same document renders to the same text without running PyYAML again.

A fleet program renders the same chart values, audit policy and cloud-init for every cluster; PyYAML's
pure-Python emitter was about a tenth of such a program's CPU time (benchmarks/bench_fleet.py). The cache
key is the document's exact shape: every value's type and value (floats by `repr`, so `-0.0` is not
`0.0`), mapping items in order, and which containers are the same object (PyYAML writes a repeated
container as an anchor and alias unless the dumper ignores aliases). Two documents with the same key render
to the same text; anything else is a miss. Bounded (least recently used entries go first), per process.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import yaml

MAX_ENTRIES = 512
_cache: OrderedDict[Hashable, str] = OrderedDict()
_SCALARS = (str, int, float, bool, type(None), bytes)


def _shape(value: Any, seen: dict[int, int], keep: list[Any]) -> Hashable:
    t = type(value)
    if t is float:
        return (t, repr(value))
    if t in _SCALARS:
        return (t, value)
    ident = id(value)
    if ident in seen:
        return ("same-as", seen[ident])
    seen[ident] = len(seen)
    keep.append(value)  # ids stay unique while the key is built
    if isinstance(value, Mapping):
        return (t, tuple((_shape(k, seen, keep), _shape(v, seen, keep)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (t, tuple(_shape(v, seen, keep) for v in value))
    raise _Unkeyable


class _Unkeyable(Exception):
    """A value this module does not describe exactly (sets, dates, objects): render without the cache."""


def dump(data: Mapping[str, Any], *, Dumper: type[yaml.SafeDumper], **options: Any) -> str:
    """`yaml.dump(dict(data), Dumper=Dumper, **options)`, from the cache when the same document was
    rendered with the same dumper class and options."""
    document = dict(data)
    try:
        key: Hashable = (Dumper, tuple(sorted(options.items())), _shape(document, {}, []))
    except (_Unkeyable, TypeError):  # TypeError: an option value that cannot be hashed
        return yaml.dump(document, Dumper=Dumper, **options)
    text = _cache.get(key)
    if text is None:
        text = yaml.dump(document, Dumper=Dumper, **options)
        _cache[key] = text
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return text
