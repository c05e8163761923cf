"""Builds the map page once with folium, pointing every asset at the shipped copies (no CDN, works offline).

The folium page is kept in the user's cache folder (keyed by folium's version and this file), so later starts
skip importing folium (over a second on a busy workstation); the start view is injected as a small script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from html import escape
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

ASSET_ORIGIN = "app://local"
TILES_ORIGIN = "tiles://local"
ASSET_BASE = ASSET_ORIGIN + "/map/"
_VENDOR = ASSET_BASE + "vendor/"
# The bridge script comes from Qt's own resources; the page never fetches anything from the internet.
QWEBCHANNEL_JS = "qrc:///qtwebchannel/qwebchannel.js"


# What folium writes inline: <script>/<style> bodies, allowed one by one by their hash, nothing else inline.
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def build_map_html(lat: float, lon: float, zoom: int = 15, theme: str = "dark", cache_dir: Path | None = None) -> str:
    """The whole page as HTML text. Markers, incident and tiles come later through window.rtic."""
    start = json.dumps({"lat": float(lat), "lon": float(lon), "zoom": int(zoom)})
    html = _folium_page(cache_dir)
    html = html.replace("</head>", f"<script>window.rticStart = {start};</script>\n</head>", 1)
    return html.replace("<body>", f'<body class="theme-{theme if theme.isalnum() else "dark"} no-tiles">', 1)


def content_security_policy(html: str) -> str:
    """The page's policy: scripts and styles only from the app (and Qt's qwebchannel.js) or by the hash of what the
    page itself carries inline; images only from the app and the tiles scheme; no connections, frames, objects."""
    hashes = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return "; ".join([
        "default-src 'none'",
        " ".join(["script-src", ASSET_ORIGIN, "qrc:", *sorted(set(hashes["script"]))]),
        " ".join(["style-src", ASSET_ORIGIN, *sorted(set(hashes["style"]))]),
        f"img-src {ASSET_ORIGIN} {TILES_ORIGIN}",
        "font-src 'none'", "connect-src 'none'", "media-src 'none'", "object-src 'none'", "frame-src 'none'",
        "worker-src 'none'", "child-src 'none'", "manifest-src 'none'", "base-uri 'none'", "form-action 'none'",
    ])


def header_policy(policy: str) -> str:
    """The part of the policy that can travel as a response header: QtWebEngine (6.11) lower-cases the values of
    headers a scheme handler adds, which breaks the base64 hashes; so script-src, style-src and default-src (whose
    fallback would cover scripts) stay in the page's <meta>, and the header carries the rest, frame-ancestors
    included (a <meta> cannot). Both are enforced: a load must pass each."""
    kept = [d for d in policy.split("; ") if d.split(" ", 1)[0] not in ("default-src", "script-src", "style-src")]
    return "; ".join([*kept, "frame-ancestors 'none'"])


def with_policy_meta(html: str, policy: str) -> str:
    """The whole policy as the first element of <head>, before any script or style (see header_policy)."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{escape(policy, quote=True)}">'
    return html.replace("<head>", "<head>\n    " + meta, 1)


def _folium_page(cache_dir: Path | None) -> str:
    key = hashlib.sha256(Path(__file__).read_bytes() + version("folium").encode()).hexdigest()[:16]
    cached = cache_dir / f"map-page-{key}.html" if cache_dir else None
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    html = _render_with_folium()
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(html, encoding="utf-8")
        except OSError as exc:  # a read-only cache only costs start-up time
            log.warning("cannot keep the map page in %s: %s", cached, exc)
    return html


def _render_with_folium() -> str:
    import folium
    from branca.element import CssLink, JavascriptLink, MacroElement
    from folium.plugins import MarkerCluster
    from jinja2 import Template

    class InitHook(MacroElement):
        """Hands the folium map object to console_map.js once Leaflet has created it."""

        _template = Template("""
            {% macro script(this, kwargs) %}
            window.rticInit({{ this._parent.get_name() }});
            {% endmacro %}
        """)

    fmap = folium.Map(location=[0, 0], zoom_start=2, tiles=None, control_scale=False,
                      prefer_canvas=False, zoom_control=True, maxZoom=20, minZoom=2)
    # Instance attributes, not folium's class defaults: nothing global is changed.
    fmap.default_js = [("leaflet", _VENDOR + "leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", _VENDOR + "leaflet/leaflet.css")]
    cluster = MarkerCluster(name="context")
    cluster.default_js = [("markerclusterjs", _VENDOR + "markercluster/leaflet.markercluster.js")]
    cluster.default_css = [("markerclustercss", _VENDOR + "markercluster/MarkerCluster.css"),
                           ("markerclusterdefaultcss", _VENDOR + "markercluster/MarkerCluster.Default.css")]
    # Added so folium links the plugin's assets; the page's own cluster group is made by console_map.js.
    fmap.add_child(cluster)
    root = fmap.get_root()
    root.header.add_child(JavascriptLink(QWEBCHANNEL_JS), name="qwebchannel")
    root.header.add_child(CssLink(ASSET_BASE + "console_map.css"), name="console_css")
    root.header.add_child(JavascriptLink(ASSET_BASE + "console_map.js"), name="console_js")
    fmap.add_child(InitHook())
    return root.render()
