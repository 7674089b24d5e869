"""Route handlers must not block the event loop: an `async def` handler has to await something.

After Eyened's guard: a scan with an allow-list (reason per entry), a count so that an empty scan
cannot pass, and a negative control.
"""

from __future__ import annotations

import ast

from tests.architecture.sources import python_files, relative

# (file, function) -> why it may be async without awaiting
ALLOWED = {
    ("circus_api/routes/status.py", "status"): "returns a constant",
    ("circus_api/routes/admin/groups.py", "list_global_privileges"): "returns a constant",
    ("circus_api/routes/debug.py", "echo"): "returns the parsed body",
    ("circus_api/routes/debug.py", "dummy_progress"): "returns a streaming response; the stream awaits",
    ("circus_api/routes/debug.py", "debug_status"): "reads process counters only",
    ("circus_api/routes/login_info.py", "login_info"): "the user is already loaded",
    ("circus_api/routes/preferences.py", "get_preferences"): "the user is already loaded",
    ("circus_api/routes/cases.py", "get_case"): "the project-role check already loaded the case",
    ("circus_api/routes/plugins.py", "get_plugin"): "the privilege summary holds the readable plug-ins",
    ("circus_api/routes/plugins.py", "list_plugins"): "the privilege summary holds the readable plug-ins",
    ("circus_api/routes/plugin_jobs.py", "get_job"): "the plug-in-role check already loaded the job",
    ("circus_api/routes/plugin_job_results.py", "list_feedback"): "the plug-in role check already loaded the job",
}


def handlers_that_await_nothing(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncFunctionDef):
            body = ast.Module(body=node.body, type_ignores=[])
            awaits = any(isinstance(n, ast.Await | ast.AsyncFor | ast.AsyncWith) for n in ast.walk(body))
            yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(body))
            if not awaits and not yields:
                found.append(node.name)
    return found


def test_async_route_handlers_await_or_are_allowed() -> None:
    scanned = 0
    offenders = []
    for path in python_files("circus_api/routes"):
        source = path.read_text()
        scanned += source.count("async def ")
        for name in handlers_that_await_nothing(source):
            if (relative(path), name) not in ALLOWED:
                offenders.append(f"{relative(path)}:{name}")
    assert scanned > 40, "the scan found too few handlers to mean anything"
    assert offenders == []


def test_async_web_page_handlers_await() -> None:
    # page handlers that only render a template are plain `def`s (page() calls both kinds)
    scanned = 0
    offenders = []
    for path in python_files("circus_api/web"):
        source = path.read_text()
        scanned += source.count("async def ")
        offenders += [f"{relative(path)}:{name}" for name in handlers_that_await_nothing(source)]
    assert scanned > 5, "the scan found too few handlers to mean anything"
    assert offenders == []


def test_the_guard_finds_a_handler_that_awaits_nothing() -> None:
    source = "async def blocking(ctx):\n    return sum(range(10))\n\nasync def fine(ctx):\n    await x()\n"
    assert handlers_that_await_nothing(source) == ["blocking"]
