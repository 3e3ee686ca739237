"""Cases generated from the served OpenAPI schema, so every new route is covered at once."""

from __future__ import annotations

import re
from functools import lru_cache

from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"\{([^}]+)\}")
# Routes that hold no object of any project.
PUBLIC = {"/api/v1/schema/", "/api/v1/docs/", "/api/v1/auth/token/"}


@lru_cache(maxsize=1)
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict]]:
    """(path, method, operation) for every operation in the schema."""
    found = []
    for path, item in sorted(schema()["paths"].items()):
        for method in METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return found


def resource_of(path: str, param: str) -> str:
    """The collection a path parameter names: the segment just before ``{param}``."""
    segments = path.strip("/").split("/")
    index = segments.index("{" + param + "}")
    return segments[index - 1]


def fill_path(path: str, objects: dict[str, int]) -> str:
    """The path with each ``{param}`` replaced by the id of that world's object."""

    def repl(match: re.Match) -> str:
        resource = resource_of(path, match.group(1))
        if resource not in objects:
            raise KeyError(
                f"{path}: no test object for resource {resource!r}; add one to "
                "tests/api/conftest.py build_world() so the route is covered"
            )
        return str(objects[resource])

    return PARAM.sub(repl, path)


def resolve(ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        name = ref_or_schema["$ref"].rsplit("/", 1)[-1]
        return schema()["components"]["schemas"][name]
    return ref_or_schema


def example_value(prop: dict, name: str, ids: dict[str, int]):
    prop = resolve(prop)
    if name == "project":
        return ids["projects"]
    if name in ("sample", "sample_id"):
        return ids["samples"]
    if name == "sample_ids":
        return [ids["samples"]]
    if "enum" in prop:
        return prop["enum"][0]
    if "allOf" in prop:
        return example_value(prop["allOf"][0], name, ids)
    if "oneOf" in prop:
        return example_value(prop["oneOf"][0], name, ids)
    kind = prop.get("type")
    if kind == "integer":
        return max(1, prop.get("minimum", 1))
    if kind == "number":
        return prop.get("minimum", 0.5)
    if kind == "boolean":
        return False
    if kind == "array":
        return [example_value(prop.get("items", {}), name, ids)]
    if kind == "object":
        return body_for(prop, ids)
    if prop.get("format") == "binary":
        return b"x"
    return "x"


def body_for(body_schema: dict, ids: dict[str, int]) -> dict:
    """A body with every required field, naming the given world's project and sample."""
    body_schema = resolve(body_schema)
    props = body_schema.get("properties", {})
    wanted = set(body_schema.get("required", [])) | ({"project", "sample_id"} & set(props))
    return {name: example_value(props[name], name, ids) for name in sorted(wanted)}


def request_body(operation: dict, ids: dict[str, int]) -> tuple[dict | None, str]:
    """(body, format) for the operation: JSON where it takes JSON, else multipart."""
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None, "json"
    if "application/json" in content:
        return body_for(content["application/json"]["schema"], ids), "json"
    media = next(iter(content))
    return body_for(content[media]["schema"], ids), "multipart"
