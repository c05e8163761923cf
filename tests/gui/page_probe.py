"""Reading the live map page from tests: what it shows, evaluated in the page through runJavaScript."""


def js_state(qtbot, window) -> dict:
    """The page's own account of what it shows (markers, rings, selection), read through runJavaScript."""
    box = {}
    window.map.state(lambda state: box.setdefault("state", state))
    qtbot.waitUntil(lambda: "state" in box, timeout=10_000)
    return box["state"]


def js_eval(qtbot, window, script: str):
    box = {}
    window.map.run_js(script, lambda result: box.setdefault("result", result))
    qtbot.waitUntil(lambda: "result" in box, timeout=10_000)
    return box["result"]
