"""Pictures of graphs through graphviz: sg.to_dot and sg.render.

    >>> sg.render(train_fn, "train.png")          # the optimized graph that runs
    >>> sg.render(cost, "cost.svg")               # a variable's graph as written
    >>> dot = sg.to_dot(f, optimized=False)       # a graphviz.Digraph to tweak

Inputs are green ellipses (name, dtype, static shape), shared variables blue cylinders,
constants small grey boxes, ops boxes coloured by family, outputs double octagons; an
update is a dashed edge from the new value to its shared variable. Variables made under a
name scope (each layer opens one) are drawn inside a cluster of that name.
"""
import os


from .graph import Constant, SharedVariable, toposort

_FAMILY_COLOURS = {"Elemwise": "#fff2b3", "Composite": "#ffd966", "Dot": "#f4b183", "Matmul": "#f4b183",
                   "Gemm": "#f4b183", "Reduce": "#bdd7ee", "ArgReduce": "#bdd7ee", "Subtensor": "#e2d3f0",
                   "IncSubtensor": "#e2d3f0", "RandomDraw": "#c9e6c2"}
_MAX_LABEL = 40


class GraphvizNotInstalled(RuntimeError):
    pass


def _short(text, limit=_MAX_LABEL):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _type_label(var):
    return str(var.type)


def _collect(obj, optimized):
    """(outputs, [(shared, new_value)]) of a variable, a list of them, or a compiled function."""
    from .function import Function
    if isinstance(obj, Function):
        if optimized:
            return list(obj.fgraph.outputs), list(zip(obj.updated, obj.fgraph.update_outputs))
        return list(obj.user_outputs), list(obj.user_updates)
    return (list(obj) if isinstance(obj, (list, tuple)) else [obj]), []


def to_dot(obj, optimized=True, max_depth=None, collapse_scopes=False, show_types=True, rankdir="TB"):
    """A graphviz.Digraph of a variable's graph or a compiled function's graph.

    optimized: for a function, draw the graph that runs (True) or the graph as written.
    max_depth: draw only nodes within this many steps of the outputs (big graphs).
    collapse_scopes: True, or a list of scope names, to draw those clusters as one box each."""
    outputs, updates = _collect(obj, optimized)
    roots = outputs + [new for _, new in updates]
    nodes = toposort(roots)
    if max_depth is not None:
        nodes = _within_depth(nodes, roots, max_depth)
    kept = set(nodes)
    collapsed = _collapsed_scopes(nodes, collapse_scopes)

    import graphviz  # here, not at import: 12 ms of every process's start (compile_time.py)
    dot = graphviz.Digraph("symgraph", graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "newrank": "true",
                                                   "fontsize": "11", "compound": "true"},
                           node_attr={"fontname": "Helvetica", "fontsize": "10"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "8", "color": "#555555"})
    ids, clusters = {}, {}

    def node_id(key):
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    def scope_of(var_or_node):
        var = var_or_node.outputs[0] if hasattr(var_or_node, "outputs") else var_or_node
        return getattr(var, "scope", "")

    def place(key, scope, **attrs):
        name = node_id(key)
        target = clusters.setdefault(scope, []) if scope else None
        (target.append((name, attrs)) if target is not None else dot.node(name, **attrs))
        return name

    def collapsed_root(scope):
        for c in collapsed:
            if scope == c or scope.startswith(c + "/"):
                return c
        return None

    def source_of(var):
        """The drawn node a variable comes from (its op, a leaf, or a collapsed cluster)."""
        if var.owner is not None and var.owner in kept:
            c = collapsed_root(scope_of(var.owner))
            return node_id(("scope", c)) if c else node_id(var.owner)
        if var.owner is not None:  # cut by max_depth
            key = ("cut", var)
            if key not in ids:
                place(key, "", label="…", shape="plaintext")
            return node_id(key)
        if isinstance(var, SharedVariable) and collapsed_root(getattr(var, "scope", "")):
            return node_id(("scope", collapsed_root(var.scope)))  # drawn inside its collapsed box
        if var not in ids:
            _leaf(var, place, collapsed_root)
        return node_id(var)

    for c in collapsed:
        place(("scope", c), "", label=f"{c}\n(collapsed)", shape="box3d", style="filled", fillcolor="#eeeeee")
    for node in nodes:
        scope = scope_of(node)
        if collapsed_root(scope):
            continue
        family = type(node.op).__name__
        label = _short(str(node.op))
        if len(node.outputs) > 1:
            label += f"\n{len(node.outputs)} outputs"
        place(node, scope, label=label, shape="box", style="rounded,filled",
              fillcolor=_FAMILY_COLOURS.get(family, "#ffffff"))
    edges = set()
    for node in nodes:
        target_c = collapsed_root(scope_of(node))
        target = node_id(("scope", target_c)) if target_c else node_id(node)
        for k, var in enumerate(node.inputs):
            if target_c and isinstance(var, Constant):
                continue  # a collapsed box stands for its constants too
            src = source_of(var)
            if src == target or (src, target, k) in edges:
                continue
            edges.add((src, target, k))
            label = _type_label(var) if show_types else ""
            if len(node.inputs) > 1 and not isinstance(var, Constant):
                label = f"{k}: {label}" if label else str(k)
            dot.edge(src, target, label=label)
    for i, out in enumerate(outputs):
        name = f"out{i}"
        title = f"output {i}" + (f": {out.name}" if out.name else "")
        dot.node(name, label=f"{title}\n{_type_label(out)}", shape="doubleoctagon", style="filled",
                 fillcolor="#f8cbad")
        dot.edge(source_of(out), name)
    drawn_updates = set()
    for shared, new in updates:
        src, dst = source_of(new), source_of(shared)
        if src == dst or (src, dst) in drawn_updates:
            continue  # an update inside one collapsed box, or one already drawn
        drawn_updates.add((src, dst))
        dot.edge(src, dst, style="dashed", color="#2f5597", fontcolor="#2f5597", label="update",
                 constraint="false")
    _emit_clusters(dot, clusters)
    return dot


def _leaf(var, place, collapsed_root):
    scope = getattr(var, "scope", "")
    scope = "" if collapsed_root(scope) else scope  # keep leaves visible next to a collapsed box
    if isinstance(var, SharedVariable):
        place(var, scope, label=f"{var.name or 'shared'}\n{_type_label(var)}", shape="cylinder",
              style="filled", fillcolor="#9dc3e6")
    elif isinstance(var, Constant):
        place(var, "", label=_short(repr(var), 16), shape="box", style="filled", fillcolor="#eeeeee",
              fontsize="8", height="0.2", margin="0.04,0.02")
    else:
        place(var, scope, label=f"{var.name or 'input'}\n{_type_label(var)}", shape="ellipse",
              style="filled", fillcolor="#a9d18e")


def _emit_clusters(dot, clusters):
    """Nested clusters: scope 'a/b' is drawn inside 'a'."""
    tree = {}
    for scope in clusters:
        parts = scope.split("/")
        for depth in range(1, len(parts) + 1):
            tree.setdefault("/".join(parts[:depth]), None)

    def emit(parent_graph, prefix):
        children = sorted(s for s in tree if s.rsplit("/", 1)[0] == prefix and s != prefix) if prefix else \
            sorted(s for s in tree if "/" not in s)
        for scope in children:
            with parent_graph.subgraph(name=f"cluster_{scope.replace('/', '__')}") as sub:
                sub.attr(label=scope.rsplit("/", 1)[-1], style="rounded,filled", fillcolor="#f7f7f7",
                         color="#999999", fontsize="11")
                for name, attrs in clusters.get(scope, []):
                    sub.node(name, **attrs)
                emit(sub, scope)
    emit(dot, "")


def _within_depth(nodes, roots, max_depth):
    depth = {}
    frontier = [(r.owner, 0) for r in roots if r.owner is not None]
    while frontier:
        node, d = frontier.pop()
        if node in depth and depth[node] <= d or d >= max_depth:
            continue
        depth[node] = d
        frontier += [(v.owner, d + 1) for v in node.inputs if v.owner is not None]
    return [n for n in nodes if n in depth]


def _collapsed_scopes(nodes, collapse):
    if not collapse:
        return []
    scopes = {getattr(n.outputs[0], "scope", "") for n in nodes} - {""}
    tops = {s.split("/")[0] for s in scopes}
    return sorted(tops if collapse is True else set(collapse))


def render(obj, path, format=None, **to_dot_options):
    """Write a picture of the graph to `path`; the format comes from the suffix (png, svg, pdf, dot)."""
    return _write(to_dot(obj, **to_dot_options), path, format)


def _write(dot, path, format=None):
    """Render a graphviz graph to `path` in the format its suffix names."""
    fmt = (format or os.path.splitext(str(path))[1].lstrip(".") or "png").lower()
    folder = os.path.dirname(os.path.abspath(str(path)))
    os.makedirs(folder, exist_ok=True)
    if fmt in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dot.source)
        return str(path)
    data = image(dot, fmt)
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path)


def image(dot, fmt):
    """The bytes of a graphviz graph rendered in format `fmt` by graphviz's `dot`."""
    import graphviz
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotInstalled(
            "rendering needs graphviz's 'dot' program, which is not installed: install it with "
            "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
            "'conda install graphviz', or write the .dot text with sg.render(obj, 'graph.dot')") from exc
