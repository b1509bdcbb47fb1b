"""Code hierarchies: parents, children, ancestors and depth, cycle-safe and iterative."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from ehrfeat.codes import canonical_system, normalize_code

__all__ = ["Hierarchy"]


class Hierarchy:
    """A directed acyclic (or not quite) graph of ``child -> parent`` edges in one code system.

    Codes are normalised on the way in. Every traversal is iterative and keeps a
    visited set, so a cycle in a source file never hangs or overflows the stack;
    :meth:`cycles` reports them.
    """

    def __init__(self, system: str, edges: Iterable[tuple[object, object]] = ()) -> None:
        self.system = canonical_system(system)
        self._parents: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {}
        for child, parent in edges:
            self.add_edge(child, parent)

    def _norm(self, code: object) -> str:
        if type(code) is str and code in self._parents:  # a node is canonical, and normalising is idempotent
            return code
        return normalize_code(self.system, code)

    def add_node(self, code: object) -> str:
        node = self._norm(code)
        self._parents.setdefault(node, [])
        self._children.setdefault(node, [])
        return node

    def add_edge(self, child: object, parent: object) -> None:
        """Record that ``parent`` is a direct parent of ``child``; self-loops are ignored."""
        c, p = self.add_node(child), self.add_node(parent)
        if c == p or p in self._parents[c]:
            return
        self._parents[c].append(p)
        self._children[p].append(c)

    # -- direct relations ---------------------------------------------------
    def __contains__(self, code: object) -> bool:
        try:
            return self._norm(code) in self._parents
        except ValueError:
            return False

    def __len__(self) -> int:
        return len(self._parents)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parents)

    @property
    def edge_count(self) -> int:
        return sum(len(p) for p in self._parents.values())

    def parents(self, code: object) -> tuple[str, ...]:
        return tuple(self._parents.get(self._norm(code), ()))

    def children(self, code: object) -> tuple[str, ...]:
        return tuple(self._children.get(self._norm(code), ()))

    def siblings(self, code: object) -> tuple[str, ...]:
        """Codes sharing at least one parent with ``code``, excluding itself."""
        node = self._norm(code)
        out: dict[str, None] = {}
        for parent in self._parents.get(node, ()):
            for sib in self._children[parent]:
                if sib != node:
                    out[sib] = None
        return tuple(out)

    def roots(self) -> list[str]:
        return [n for n, ps in self._parents.items() if not ps]

    def leaves(self) -> list[str]:
        return [n for n, cs in self._children.items() if not cs]

    # -- transitive relations -------------------------------------------------
    def _walk(self, start: str, graph: dict[str, list[str]]) -> dict[str, int]:
        """Breadth-first hop distances from ``start`` along ``graph`` (start excluded)."""
        dist: dict[str, int] = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in graph.get(node, ()):
                if nxt not in dist:
                    dist[nxt] = dist[node] + 1
                    queue.append(nxt)
        del dist[start]
        return dist

    def ancestors(self, code: object) -> dict[str, int]:
        """Every ancestor with its shortest hop distance."""
        return self._walk(self._norm(code), self._parents)

    def descendants(self, code: object) -> dict[str, int]:
        return self._walk(self._norm(code), self._children)

    def depth(self, code: object) -> int:
        """Hops from ``code`` up to the nearest root (0 for a root)."""
        node = self._norm(code)
        ups = self.ancestors(node)
        rootward = [d for a, d in ups.items() if not self._parents[a]]
        return min(rootward) if rootward else 0

    def distance(self, a: object, b: object, cap: int | None = None) -> int | None:
        """Shortest path length through a common ancestor (``None`` if unrelated), capped at ``cap``."""
        x, y = self._norm(a), self._norm(b)
        if x == y:
            return 0
        up_x = {x: 0, **self.ancestors(x)}
        up_y = {y: 0, **self.ancestors(y)}
        common = up_x.keys() & up_y.keys()
        if not common:
            return None
        hops = min(up_x[c] + up_y[c] for c in common)
        return min(hops, cap) if cap is not None else hops

    def cycles(self) -> list[tuple[str, ...]]:
        """Each cycle found (as its nodes), by an iterative depth-first search."""
        state: dict[str, int] = {}  # 1 = on stack, 2 = done
        found: list[tuple[str, ...]] = []
        for root in self._parents:
            if root in state:
                continue
            stack: list[tuple[str, Iterator[str]]] = [(root, iter(self._parents[root]))]
            path = [root]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                elif state.get(nxt) == 1:
                    found.append(tuple(path[path.index(nxt):]))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(self._parents[nxt])))
                    path.append(nxt)
        return found

    def __repr__(self) -> str:
        return f"Hierarchy({self.system}, {len(self)} nodes, {self.edge_count} edges)"
