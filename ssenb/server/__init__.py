"""The demo and replay server: SSE scenarios played over HTTP on 127.0.0.1."""

__all__: list[str] = []
