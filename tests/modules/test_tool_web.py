"""tool-web: the Tool contract, both search backends and web_fetch, against a local server on
127.0.0.1 (starlette + uvicorn in a thread). No test reaches beyond this machine."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from amplifier_core.testing import MockCoordinator
from amplifier_core.validation.behavioral import ToolBehaviorTests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from amplifier_foreman_modules.tool_web import mount

ARTICLE = """<html><head><title>Lighthouses</title><script>var tracking = "SCRIPT-NOISE";</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>A history of lighthouses</h1>
<p>The Pharos of Alexandria was among the tallest structures of the ancient world for centuries.</p>
<p>Modern lighthouses use Fresnel lenses, invented by Augustin-Jean Fresnel in the 1820s, to focus light.</p>
<p>Most lighthouses today are automated, and the profession of keeper has almost disappeared.</p>
</article><footer>Copyright footer</footer></body></html>"""

# trafilatura finds no main content in this page, so web_fetch falls back to its visible text.
ASIDE_ONLY = "<html><body><aside>Only a side note</aside><script>SCRIPT-NOISE</script></body></html>"


def searxng(request: Request) -> Response:
    if request.query_params.get("format") != "json":
        return PlainTextResponse("format=json required", status_code=403)
    query = request.query_params["q"]
    rows = [{"title": f"Result {n} for {query}", "url": f"https://example.org/{n}", "content": f"<b>snippet</b> {n} &amp; more"} for n in range(8)]
    return JSONResponse({"query": query, "results": rows})


def brave(request: Request) -> Response:
    if request.headers.get("x-subscription-token") != "test-key":
        return JSONResponse({"error": "bad token"}, status_code=401)
    count = int(request.query_params["count"])
    rows = [{"title": f"Brave {n}", "url": f"https://brave.example/{n}", "description": "a <strong>hit</strong>"} for n in range(count)]
    return JSONResponse({"web": {"results": rows}})


APP = Starlette(
    routes=[
        Route("/search", searxng),
        Route("/brave", brave),
        Route("/article", lambda request: Response(ARTICLE, media_type="text/html")),
        Route("/aside", lambda request: Response(ASIDE_ONLY, media_type="text/html")),
        Route("/redirect", lambda request: RedirectResponse("/article", status_code=302)),
        Route("/to-file", lambda request: RedirectResponse("file:///etc/passwd", status_code=302)),
        Route("/plain", lambda request: Response(b"caf\xe9 " * 1000, media_type="text/plain; charset=latin-1")),
        Route("/image", lambda request: Response(b"\x89PNG\r\n\x1a\n" + bytes(100), media_type="image/png")),
        Route("/missing", lambda request: PlainTextResponse("nope", status_code=404)),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of `APP` served on an ephemeral port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(APP, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert uv.started, "the test server did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
async def mounted():
    """`await mounted(config)` -> the mounted tools by name; every client is closed afterwards."""
    cleanups = []

    async def mount_with(config: dict) -> dict:
        coordinator = MockCoordinator()
        cleanups.append(await mount(coordinator, config))
        return coordinator.mount_points["tools"]

    yield mount_with
    for cleanup in cleanups:
        await cleanup()


@pytest.fixture
async def web(server, mounted):
    return await mounted({"search_url": f"{server}/search", "timeout": 5})


class TestWebToolContract(ToolBehaviorTests):
    """amplifier-core's behavioural contract, once per tool (no call here reaches a network)."""

    @pytest.fixture(params=["web_search", "web_fetch"])
    def tool_module(self, request, web):
        return web[request.param]


async def test_cleanup_closes_the_shared_client():
    coordinator = MockCoordinator()
    cleanup = await mount(coordinator, {})
    await cleanup()
    assert coordinator.mount_points["tools"]["web_fetch"].client.is_closed


async def test_unknown_backend_fails_the_mount():
    with pytest.raises(ValueError, match="unknown search_backend 'bing'"):
        await mount(MockCoordinator(), {"search_backend": "bing"})


@pytest.mark.parametrize("key", ["timeout", "max_bytes", "max_results"])
async def test_non_positive_limits_fail_the_mount(key):
    with pytest.raises(ValueError, match=f"tool-web: config {key} must be > 0"):
        await mount(MockCoordinator(), {key: 0})


# --- web_search --------------------------------------------------------------------------------


async def test_searxng_results_are_numbered_and_cleaned(web):
    result = await web["web_search"].execute({"query": "lighthouse", "max_results": 2})
    assert result.success
    assert result.output == (
        "1. Result 0 for lighthouse\n   https://example.org/0\n   snippet 0 & more\n"
        "2. Result 1 for lighthouse\n   https://example.org/1\n   snippet 1 & more"
    )


async def test_search_uses_the_configured_default_count(server, mounted):
    tools = await mounted({"search_url": f"{server}/search", "max_results": 3})
    output = (await tools["web_search"].execute({"query": "q", "max_results": None})).output
    assert [line[:2] for line in output.splitlines() if not line.startswith(" ")] == ["1.", "2.", "3."]


async def test_brave_backend_sends_the_key_from_the_environment(server, mounted, monkeypatch):
    monkeypatch.setenv("TEST_BRAVE_KEY", "test-key")
    tools = await mounted({"search_backend": "brave", "search_url": f"{server}/brave", "api_key": "${TEST_BRAVE_KEY}"})
    result = await tools["web_search"].execute({"query": "q", "max_results": 2})
    assert result.output == "1. Brave 0\n   https://brave.example/0\n   a hit\n2. Brave 1\n   https://brave.example/1\n   a hit"


async def test_brave_without_a_key_is_not_configured(server, mounted, monkeypatch):
    monkeypatch.delenv("BRAVE_API_KEY", raising=False)
    tools = await mounted({"search_backend": "brave", "search_url": f"{server}/brave"})
    assert (await tools["web_search"].execute({"query": "q"})).error["code"] == "search_not_configured"


async def test_a_backend_refusal_is_an_http_error(server, mounted):
    tools = await mounted({"search_backend": "brave", "search_url": f"{server}/brave", "api_key": "wrong"})
    error = (await tools["web_search"].execute({"query": "q"})).error
    assert error["code"] == "http_error" and "HTTP 401" in error["message"]


async def test_a_backend_that_is_not_json_is_a_search_failure(server, mounted):
    tools = await mounted({"search_url": f"{server}/article"})
    assert (await tools["web_search"].execute({"query": "q"})).error["code"] == "search_failed"


async def test_an_unreachable_backend_names_its_host(closed_port, mounted):
    tools = await mounted({"search_url": f"http://127.0.0.1:{closed_port}/search"})
    error = (await tools["web_search"].execute({"query": "q"})).error
    assert error["code"] == "network_unreachable"
    assert f"127.0.0.1:{closed_port}" in error["message"]


@pytest.mark.parametrize("input", [{}, {"query": " "}, {"query": "q", "max_results": 0}, {"query": "q", "max_results": 99}])
async def test_search_rejects_bad_input(web, input):
    assert (await web["web_search"].execute(input)).error["code"] == "invalid_input"


# --- web_fetch ---------------------------------------------------------------------------------


async def test_fetch_returns_the_main_text_of_an_html_page(web, server):
    output = (await web["web_fetch"].execute({"url": f"{server}/article"})).output
    assert output.startswith(f"URL: {server}/article\n\n")
    assert "Fresnel lenses" in output and "profession of keeper" in output
    assert "SCRIPT-NOISE" not in output


async def test_fetch_follows_redirects_and_shows_the_final_url(web, server):
    output = (await web["web_fetch"].execute({"url": f"{server}/redirect"})).output
    assert output.startswith(f"URL: {server}/article\n")


async def test_fetch_falls_back_to_visible_text(web, server):
    output = (await web["web_fetch"].execute({"url": f"{server}/aside"})).output
    assert output == f"URL: {server}/aside\n\nOnly a side note"


async def test_fetch_decodes_text_with_its_charset_and_cuts_to_max_chars(web, server):
    output = (await web["web_fetch"].execute({"url": f"{server}/plain", "max_chars": 10})).output
    assert output == f"URL: {server}/plain\n\ncafé café \n[text cut at 10 of 4999 characters]"


async def test_fetch_reads_at_most_max_bytes(server, mounted):
    tools = await mounted({"max_bytes": 100})
    output = (await tools["web_fetch"].execute({"url": f"{server}/plain"})).output
    assert output.endswith("\n[body cut at 100 bytes]")
    assert len(output.split("\n\n", 1)[1]) < 150


@pytest.mark.parametrize(
    ("path", "code"),
    [("/missing", "http_error"), ("/image", "unsupported_content"), ("/to-file", "invalid_url")],
)
async def test_fetch_errors_from_the_server(web, server, path, code):
    assert (await web["web_fetch"].execute({"url": f"{server}{path}"})).error["code"] == code


@pytest.mark.parametrize("url", [None, "", "example.org", "file:///etc/passwd", "ftp://127.0.0.1/x", "http://"])
async def test_fetch_accepts_only_http_urls(web, url):
    assert (await web["web_fetch"].execute({"url": url})).error["code"] == "invalid_url"


async def test_fetch_from_a_closed_port_is_network_unreachable(web, closed_port):
    result = await web["web_fetch"].execute({"url": f"http://127.0.0.1:{closed_port}/"})
    assert result.error["code"] == "network_unreachable"
    assert result.error["message"].startswith(f"Cannot reach 127.0.0.1:{closed_port}")


async def test_fetch_from_a_silent_server_times_out(silent_port, mounted):
    tools = await mounted({"timeout": 0.3})
    result = await tools["web_fetch"].execute({"url": f"http://127.0.0.1:{silent_port}/"})
    assert result.error == {"code": "timeout", "message": f"127.0.0.1:{silent_port} did not answer within 0.3 s."}
