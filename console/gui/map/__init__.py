"""The live map: a folium-built Leaflet page served from app://local, driven through a QWebChannel bridge."""
