"""A self-hosted API reference page built from the OpenAPI schema (no CDN, no script).

Swagger UI and ReDoc load their assets from a CDN, which a closed network cannot reach;
this page lists every operation with its parameters, body and responses, and links the
raw schema for tools.
"""

from __future__ import annotations

from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

_PAGE = Engine(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.8rem 0;padding:.6rem .8rem;border:1px solid #e3e6ea;border-radius:6px}
.m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}
.GET{color:#0b6e4f}.POST{color:#1f5fbf}.PATCH,.PUT{color:#9a6100}.DELETE{color:#b3261e}
code{background:#f3f4f6;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;margin:.4rem 0}td,th{padding:.15rem .6rem;text-align:left;
border-bottom:1px solid #eee;font-size:14px}
</style></head><body>
<h1>{{ title }} <small>v{{ version }}</small></h1>
<p>{{ description }}</p>
<p>Machine-readable schema: <a href="{{ schema_url }}">{{ schema_url }}</a> (OpenAPI 3).
Authenticate with <code>Authorization: Token &lt;key&gt;</code> (get a key from
<code>POST /api/v1/auth/token/</code>) or a browser session.</p>
{% for tag, ops in groups %}<h2 id="{{ tag }}">{{ tag }}</h2>
{% for op in ops %}<div class="op"><span class="m {{ op.method }}">{{ op.method }}</span>
<code>{{ op.path }}</code> {% if op.summary %}&mdash; {{ op.summary }}{% endif %}
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td>
<td>{{ p.type }}</td><td>{{ p.description }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.body %}<div>body: {{ op.body }}</div>{% endif %}
<div>responses: {{ op.responses }}</div></div>{% endfor %}{% endfor %}
</body></html>"""
)


def _type(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "object")
    if "enum" in schema:
        return f"{kind}: " + " | ".join(str(v) for v in schema["enum"])
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    return kind


def _operations(schema: dict) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body = op.get("requestBody", {}).get("content", {})
            groups.setdefault((op.get("tags") or ["api"])[0], []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "type": _type(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": ", ".join(
                        f"{media} ({_type(c.get('schema', {}))})" for media, c in body.items()
                    ),
                    "responses": ", ".join(sorted(op.get("responses", {}))),
                }
            )
    return sorted(groups.items())


@lru_cache(maxsize=1)
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    schema = _schema()
    info = schema.get("info", {})
    html = _PAGE.render(
        Context(
            {
                "title": info.get("title", "API"),
                "version": info.get("version", ""),
                "description": info.get("description", ""),
                "schema_url": request.build_absolute_uri("/api/v1/schema/"),
                "groups": _operations(schema),
            }
        )
    )
    return HttpResponse(html)
