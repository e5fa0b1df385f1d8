"""What an admin call may send: its JSON (or, for a state load, YAML) body, parsed within bounds.

Owns: the content types the admin API takes, the density check that refuses a JSON body
holding far more containers than a state of its size would, and YAML aliases that expand
past what the text could hold ("billion laughs"). The size of a body per route is
``admin.body_limit``'s.
May import: ``errors``, ``types``, ``jsontext``, yaml.
"""

from __future__ import annotations

import yaml

from ..core.errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError, Violation
from ..core.jsontext import decode_json
from ..core.types import Json, MockRequest

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: A YAML state body may be this large at most (PyYAML holds about 27 bytes per byte it
#: reads, and reads about 1 MB/s): send JSON for larger states.
MAX_YAML_STATE_BYTES = 8 * 1024 * 1024
#: A JSON state body over ``_DENSE_FROM`` bytes may hold at most one object or array per
#: this many bytes: parsed, an empty ``{}`` costs about 75 bytes (25 times its text), while
#: real states hold one per 135 bytes or so (the bundled fixtures' dump).
STATE_BYTES_PER_CONTAINER = 16
_DENSE_FROM = 1024 * 1024


def json_body(request: MockRequest, *, allow_yaml: bool = False) -> Json:
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if not request.body:
        return None
    if allow_yaml and content_type in {"application/yaml", "application/x-yaml", "text/yaml"}:
        if len(request.body) > MAX_YAML_STATE_BYTES:
            raise PayloadTooLargeError(
                f"A YAML body may be {MAX_YAML_STATE_BYTES} bytes at most (YAML is slow and large to parse); "
                "send the same document as JSON (Content-Type: application/json)."
            )
        try:
            return yaml_bounded(request.body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidRequestError(f"The body is not valid YAML: {exc}") from None
    if content_type not in {"application/json", ""} and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f"Send JSON{' or YAML' if allow_yaml else ''}; got {content_type!r}.")
    body = request.body
    if len(body) > _DENSE_FROM and body.count(b"{") + body.count(b"[") > len(body) // STATE_BYTES_PER_CONTAINER:
        raise PayloadTooLargeError(
            f"The body holds more objects and arrays than a state of its size would (over one per "
            f"{STATE_BYTES_PER_CONTAINER} bytes); it is not parsed."
        )
    return decode_json(body)


def yaml_bounded(text: str) -> Json:
    """``text`` parsed as YAML, refusing aliases (``*name``) that stand for more than the text could.

    A few hundred bytes of nested aliases ("billion laughs") stand for 10 million values:
    walking them to check the state took 33 s. The node graph is composed first and its
    size with every alias expanded is counted, each node once; more than
    ``max(len(text), 100_000)`` nodes (a YAML text without aliases holds fewer than one node
    per byte) or a recursive alias is refused before anything is built. Aliases within
    that (``yaml.safe_dump`` writes one for every shared object) load as usual.
    """
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        limit = max(len(text), 100_000)
        # No "&", no anchor, so no alias: the walk is for texts that may hold some.
        if "&" in text and _expanded_nodes(node, limit) > limit:
            raise InvalidRequestError(
                f"The YAML body's aliases (*name) stand for more than {limit} values; write them out, or send JSON.",
                details=[Violation("body", "holds aliases that expand too far, or refer to themselves")],
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_nodes(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` stands for with its aliases expanded (``limit + 1`` for a
    cycle, or as soon as it is passed); each node is visited once, scalars without a push."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        value = node.value
        if key in sizes or value.__class__ is str:
            sizes.setdefault(key, 1)
            stack.pop()
            continue
        kids = value if isinstance(node, yaml.SequenceNode) else [part for pair in value for part in pair]
        if key not in open_nodes:
            open_nodes.add(key)
            pending = [kid for kid in kids if kid.value.__class__ is not str and id(kid) not in sizes]
            if pending:
                if any(id(kid) in open_nodes for kid in pending):
                    return limit + 1  # an alias to its own anchor, from inside it
                stack.extend(pending)
                continue
        size = 1 + sum(1 if kid.value.__class__ is str else sizes[id(kid)] for kid in kids)
        if size > limit:
            return limit + 1
        sizes[key] = size
        open_nodes.discard(key)
        stack.pop()
    return sizes[id(root)]


def object_body(request: MockRequest) -> dict[str, Json]:
    body = json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.", details=[Violation("body", "must be an object")])
    return body
