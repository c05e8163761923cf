"""Builds the map page once with folium, pointing every asset at the shipped copies (no CDN, works offline)."""

from __future__ import annotations

import folium
from branca.element import Element, JavascriptLink, CssLink, MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

ASSET_BASE = "app://local/map/"
_VENDOR = ASSET_BASE + "vendor/"
# The bridge script comes from Qt's own resources; the page never fetches anything from the internet.
QWEBCHANNEL_JS = "qrc:///qtwebchannel/qwebchannel.js"


class _InitHook(MacroElement):
    """Hands the folium map object to console_map.js once Leaflet has created it."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.rticInit({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def build_map_html(lat: float, lon: float, zoom: int = 15, theme: str = "dark") -> str:
    """The whole page as HTML text. Markers, incident and tiles come later through window.rtic."""
    fmap = folium.Map(location=[lat, lon], zoom_start=zoom, tiles=None, control_scale=False,
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
    fmap.add_child(_InitHook())
    html = root.render()
    return html.replace("<body>", f'<body class="theme-{theme} no-tiles">', 1)
