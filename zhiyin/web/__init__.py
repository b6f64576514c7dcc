"""The web front: routes (one module per resource), their typed dependencies, pages, templates and static files."""
