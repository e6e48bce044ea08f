"""A small, exact evaluator for the PromQL subset the detection rules use, and for promtool's rule
unit-test format, so the alert tests run where `promtool` is not installed (CI).

Supported: vector selectors with `=`, `!=`, `=~` matchers and `offset`; `rate` / `increase` over a range;
`sum` / `sum by (...)`; `> <number>` (filtering); `or` and `unless` (label sets matched without the metric
name); alerting rules with `for`. Semantics follow Prometheus 2.x (the `promtool` of Debian's
`prometheus` 2.42 package, which the tests also run when present): promql/functions.go `extrapolatedRate`
(counter resets, extrapolation to the range edges with the 1.1 x average-interval threshold, never below
zero for counters), a 5 m lookback for instant selectors, a range `[t - range, t]`, and set operators
matching on all labels except `__name__` (promql/engine.go `VectorOr` / `VectorUnless`). Anything else is a
`ValueError`, never a silent guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Labels = tuple[tuple[str, str], ...]
LOOKBACK = 300.0

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?![smhd\w]))|(?P<dur>\d+[smhd])|(?P<str>\"(?:[^\"\\]|\\.)*\")|"
    r"(?P<op>=~|!=|[(){}\[\],=>])|(?P<id>[A-Za-z_:][A-Za-z0-9_:]*))"
)


def duration(text: str) -> float:
    return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr.rstrip()):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot tokenize {expr[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


@dataclass
class Series:
    labels: dict[str, str]
    samples: list[tuple[float, float]]  # (seconds, value), ascending


class Parser:
    """Recursive descent: `or` < `unless` < `>` < primary (Prometheus operator precedence)."""

    def __init__(self, expr: str) -> None:
        self.toks = _tokens(expr)
        self.i = 0

    def peek(self, value: str | None = None) -> bool:
        return self.i < len(self.toks) and (value is None or self.toks[self.i][1] == value)

    def take(self, value: str | None = None) -> str:
        if not self.peek(value):
            raise ValueError(f"expected {value!r} at token {self.i}: {self.toks[self.i : self.i + 3]}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> Any:
        node = self.or_expr()
        if self.i != len(self.toks):
            raise ValueError(f"unparsed tail: {self.toks[self.i :]}")
        return node

    def or_expr(self) -> Any:
        node = self.unless_expr()
        while self.peek("or"):
            self.take()
            node = ("or", node, self.unless_expr())
        return node

    def unless_expr(self) -> Any:
        node = self.cmp_expr()
        while self.peek("unless"):
            self.take()
            node = ("unless", node, self.cmp_expr())
        return node

    def cmp_expr(self) -> Any:
        node = self.primary()
        if self.peek(">"):
            self.take()
            node = (">", node, float(self.take()))
        return node

    def primary(self) -> Any:
        if self.peek("("):
            self.take("(")
            node = self.or_expr()
            self.take(")")
            return node
        name = self.take()
        if name == "sum":
            by: tuple[str, ...] | None = None
            if self.peek("by"):
                self.take()
                self.take("(")
                names = [self.take()]
                while self.peek(","):
                    self.take()
                    names.append(self.take())
                self.take(")")
                by = tuple(names)
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return ("sum", by, inner)
        if name in ("rate", "increase"):
            self.take("(")
            sel = self.selector(self.take())
            self.take("[")
            rng = duration(self.take())
            self.take("]")
            self.take(")")
            return (name, sel, rng)
        return self.selector(name)

    def selector(self, name: str) -> Any:
        matchers = [("__name__", "=", name)]
        if self.peek("{"):
            self.take("{")
            while not self.peek("}"):
                label, op, value = self.take(), self.take(), self.take()
                if op not in ("=", "!=", "=~"):
                    raise ValueError(f"matcher operator {op!r}")
                matchers.append((label, op, value[1:-1].encode().decode("unicode_escape")))
                if self.peek(","):
                    self.take()
            self.take("}")
        offset = 0.0
        if self.peek("offset"):
            self.take()
            offset = duration(self.take())
        return ("sel", tuple(matchers), offset)


def _matches(series: Series, matchers: Sequence[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        have = series.labels.get(label, "")
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op == "=~" and not re.fullmatch(value, have):
            return False
    return True


def _key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _signature(labels: Labels) -> Labels:
    return tuple(kv for kv in labels if kv[0] != "__name__")


def _extrapolated(
    samples: list[tuple[float, float]], start: float, end: float, rng: float, is_rate: bool
) -> float | None:
    if len(samples) < 2:
        return None
    first_t, first_v = samples[0]
    last_t, last_v = samples[-1]
    result = last_v - first_v
    prev = first_v
    for _, v in samples[1:]:
        if v < prev:
            result += prev
        prev = v
    to_start, to_end = first_t - start, end - last_t
    sampled = last_t - first_t
    average = sampled / (len(samples) - 1)
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result *= interval / sampled
    return result / rng if is_rate else result


def evaluate(node: Any, series: Sequence[Series], t: float) -> dict[Labels, float]:
    kind = node[0]
    if kind == "sel":
        _, matchers, offset = node
        at = t - offset
        out: dict[Labels, float] = {}
        for s in series:
            if _matches(s, matchers):
                recent = [(ts, v) for ts, v in s.samples if at - LOOKBACK < ts <= at]
                if recent:
                    out[_key(s.labels)] = recent[-1][1]
        return out
    if kind in ("rate", "increase"):
        _, (_, matchers, offset), rng = node
        end = t - offset
        out = {}
        for s in series:
            if _matches(s, matchers):
                window = [(ts, v) for ts, v in s.samples if end - rng <= ts <= end]
                value = _extrapolated(window, end - rng, end, rng, kind == "rate")
                if value is not None:
                    out[_signature(_key(s.labels))] = value
        return out
    if kind == "sum":
        _, by, inner = node
        groups: dict[Labels, float] = {}
        for labels, value in evaluate(inner, series, t).items():
            key = tuple(kv for kv in labels if kv[0] in (by or ()))
            groups[key] = groups.get(key, 0.0) + value
        return groups
    if kind == ">":
        _, inner, bound = node
        return {k: v for k, v in evaluate(inner, series, t).items() if v > bound}
    if kind in ("or", "unless"):
        left, right = evaluate(node[1], series, t), evaluate(node[2], series, t)
        right_sigs = {_signature(k) for k in right}
        if kind == "unless":
            return {k: v for k, v in left.items() if _signature(k) not in right_sigs}
        left_sigs = {_signature(k) for k in left}
        return {**left, **{k: v for k, v in right.items() if _signature(k) not in left_sigs}}
    raise ValueError(f"unsupported node {kind!r}")


# --- promtool's input-series notation and alert unit tests --------------------------------------------
_SERIES = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>.*)\})?$")


def parse_series(desc: str, values: str, interval: float) -> Series:
    m = _SERIES.match(desc.strip())
    if not m:
        raise ValueError(f"series {desc!r}")
    labels = {"__name__": m.group("name")}
    for part in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group("labels") or ""):
        labels[part[0]] = part[1]
    points: list[float | None] = []
    for item in values.split():
        if item == "_":
            points.append(None)
        elif re.fullmatch(r"_x\d+", item):
            points += [None] * int(item[2:])
        elif mm := re.fullmatch(r"(-?[\d.]+)([+-][\d.]+)?x(\d+)", item):
            base, step, n = float(mm.group(1)), float(mm.group(2) or 0), int(mm.group(3))
            points += [base + step * j for j in range(n + 1)]
        else:
            points.append(float(item))
    return Series(labels, [(i * interval, v) for i, v in enumerate(points) if v is not None])


def firing_alerts(
    rule: Mapping[str, Any], series: Sequence[Series], eval_time: float, evaluation_interval: float = 60.0
) -> list[dict[str, str]]:
    """Label sets (with the rule's labels) of the alert's firing instances at `eval_time`."""
    tree = Parser(rule["expr"]).parse()
    hold = duration(rule.get("for", "0m")) if rule.get("for", "0m") not in ("0", "0s") else 0.0
    active: dict[Labels, float] = {}
    t = 0.0
    while t <= eval_time + 1e-9:
        now = evaluate(tree, series, t)
        active = {k: active.get(k, t) for k in now}
        t += evaluation_interval
    t -= evaluation_interval
    return sorted(
        ({**dict(k), **rule.get("labels", {})} for k, since in active.items() if t - since >= hold),
        key=lambda d: sorted(d.items()),
    )
