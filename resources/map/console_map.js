// The console's live map: Python drives it through window.rtic.* (runJavaScript) and hears back through the
// QWebChannel object "bridge". The page is built once; nothing here reloads it.
(function () {
  "use strict";
  var STATE = ["registered", "live_not_now", "live_now"];
  var map, bridge = null, cluster, insideLayer, fovLayer, incidentLayer, gridLayer, tileLayer = null;
  var markers = {}, cameras = {}, selectedId = null, incident = null, ring = null;
  // The footage area: drawn corner by corner while `drawing`, then kept on the map until Python clears it.
  var areaLayer, drawing = false, areaPoints = [], areaBar = null, legendDiv = null;

  // Text from outside (labels, addresses, attribution) is data: it reaches the DOM only through textContent,
  // in nodes this file builds. Nothing here parses a string as HTML.
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Shapes as well as colours, so the three states read at a glance for colour-blind users too.
  function iconNode(state, inside, selected) {
    return el("div", "cam cam-" + (STATE[state] || STATE[0]) + (inside ? " cam-inside" : "") +
              (selected ? " cam-selected" : ""));
  }
  function makeIcon(state, inside, selected) {
    var size = inside ? 18 : 14;
    if (selected) size = 24;
    return L.divIcon({className: "cam-icon", html: iconNode(state, inside, selected),
                      iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
  }

  // The one escaping function, for the single Leaflet API that only takes an HTML string (attribution).
  var ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  function escapeText(text) {
    return String(text).replace(/[&<>"']/g, function (ch) { return ENTITY[ch]; });
  }

  function fmtDistance(m) { return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(2) + " km"; }

  function fovCone(c) {
    // A wedge of the camera's view: centre line c.fb (degrees from north), opening c.fa, range c.fr metres.
    var pts = [[c.lat, c.lon]], steps = 8, R = 6371008.8;
    for (var i = 0; i <= steps; i++) {
      var b = (c.fb - c.fa / 2 + c.fa * i / steps) * Math.PI / 180, d = c.fr / R;
      var la = c.lat * Math.PI / 180, lo = c.lon * Math.PI / 180;
      var la2 = Math.asin(Math.sin(la) * Math.cos(d) + Math.cos(la) * Math.sin(d) * Math.cos(b));
      var lo2 = lo + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(la), Math.cos(d) - Math.sin(la) * Math.sin(la2));
      pts.push([la2 * 180 / Math.PI, lo2 * 180 / Math.PI]);
    }
    return L.polygon(pts, {className: "fov fov-" + STATE[c.s], weight: 1, interactive: false});
  }

  function onMarkerClick(e) {
    if (drawing) { addCorner(e.target.getLatLng()); return; }  // a camera under the cursor is a corner too
    var id = e.target.camId;
    if (bridge) bridge.markerClicked(id);
  }
  function onMarkerOver(e) {
    var c = cameras[e.target.camId];
    if (!e.target.getTooltip()) {
      var tip = el("span", "cam-tip");
      tip.appendChild(el("span", "cam-label", c.label));
      tip.appendChild(el("span", "cam-distance", " · " + fmtDistance(c.d)));
      e.target.bindTooltip(tip, {direction: "top", offset: [0, -8]});
      e.target.openTooltip();
    }
  }

  function dropGroup(inside) {
    for (var id in cameras) {
      if (cameras[id].inside === inside) { delete cameras[id]; delete markers[id]; }
    }
  }

  // Replace the highlighted cameras (inside) or the context cameras (clusters); the other group stays.
  function replace(rows, inside) {
    dropGroup(inside);
    if (inside) { insideLayer.clearLayers(); fovLayer.clearLayers(); } else { cluster.clearLayers(); }
    var batch = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (!inside && cameras[r[0]]) continue;  // already shown highlighted
      var c = {id: r[0], lat: r[1], lon: r[2], s: r[3], inside: inside, label: r[5], d: r[6],
               fb: r[7], fa: r[8], fr: r[9]};
      cameras[c.id] = c;
      var m = L.marker([c.lat, c.lon], {icon: makeIcon(c.s, inside, c.id === selectedId),
                                         keyboard: false, riseOnHover: true});
      m.camId = c.id;
      m.on("click", onMarkerClick);
      m.on("mouseover", onMarkerOver);
      markers[c.id] = m;
      batch.push(m);
      if (inside && c.fr !== null && c.fr > 0) fovLayer.addLayer(fovCone(c));
    }
    if (inside) {
      for (var j = 0; j < batch.length; j++) insideLayer.addLayer(batch[j]);
      // A camera now highlighted leaves the clusters.
      cluster.eachLayer(function (m) { if (cameras[m.camId] && cameras[m.camId].inside) cluster.removeLayer(m); });
    } else {
      cluster.addLayers(batch);
    }
    return batch.length;
  }

  // --- drawing an area (footage requests): each click a corner, double-click or "Finish" closes, Esc abandons ---

  function drawArea(closed) {
    areaLayer.clearLayers();
    if (legendDiv) legendDiv.classList.toggle("with-area", areaPoints.length > 0);
    if (!areaPoints.length) return;
    var style = {className: closed ? "area area-done" : "area area-drawing", interactive: false};
    if (closed) L.polygon(areaPoints, style).addTo(areaLayer);
    else L.polyline(areaPoints, style).addTo(areaLayer);
    if (!closed) {
      for (var i = 0; i < areaPoints.length; i++) {
        L.circleMarker(areaPoints[i], {radius: 5, className: "area-corner", interactive: false}).addTo(areaLayer);
      }
    }
  }
  function addCorner(latlng) {
    var last = areaPoints[areaPoints.length - 1];
    // The two clicks of a double-click land on one spot: one corner, not two.
    if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(latlng)) < 6) return;
    areaPoints.push([latlng.lat, latlng.lng]);
    drawArea(false);
    updateBar();
  }
  function updateBar() {
    if (!areaBar) return;
    var n = areaPoints.length;
    areaBar.querySelector(".area-hint").textContent = n < 3
      ? "Click the map to add corners (" + n + " of at least 3) · Esc cancels"
      : n + " corners · double-click or Finish to close the area · Esc cancels";
    areaBar.querySelector(".area-finish").disabled = n < 3;
  }
  function showBar(show) {
    if (show && !areaBar) {
      areaBar = L.DomUtil.create("div", "area-bar", map.getContainer());
      areaBar.appendChild(el("span", "area-hint"));
      var finish = areaBar.appendChild(el("button", "area-finish", "Finish area"));
      var cancel = areaBar.appendChild(el("button", "area-cancel", "Cancel"));
      finish.type = cancel.type = "button";
      L.DomEvent.disableClickPropagation(areaBar);
      finish.addEventListener("click", function () { rtic.finishArea(); });
      cancel.addEventListener("click", function () { rtic.cancelArea(); });
    } else if (!show && areaBar) {
      areaBar.parentNode.removeChild(areaBar);
      areaBar = null;
    }
  }
  function stopDrawing() {
    drawing = false;
    map.getContainer().classList.remove("drawing-area");
    map.doubleClickZoom.enable();
    showBar(false);
  }
  function onDrawClick(e) { addCorner(e.latlng); }
  function onDrawDoubleClick() { rtic.finishArea(); }
  function onDrawKey(e) { if (e.key === "Escape") rtic.cancelArea(); }

  // --- streets (road centerlines, setting streets_geojson): one canvas under the markers, redrawn when the view
  // settles. Names are painted as canvas text (never markup), along the line where it runs straight enough.
  var streets = [], streetsCanvas = null, streetsLabels = [], STREET_PAD = 0.3;
  function streetWidth(zoom) { return zoom >= 18 ? 12 : zoom >= 17 ? 8 : zoom >= 16 ? 5 : zoom >= 15 ? 3.5 : zoom >= 13 ? 2 : 1; }
  function cssVar(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }
  function setStreets(rows) {
    streets = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], s = {name: String(r[0] || ""), pts: [], minLat: 90, maxLat: -90, minLon: 180, maxLon: -180};
      for (var k = 1; k + 1 < r.length; k += 2) {
        var la = r[k], lo = r[k + 1];
        s.pts.push(L.latLng(la, lo));
        if (la < s.minLat) s.minLat = la; if (la > s.maxLat) s.maxLat = la;
        if (lo < s.minLon) s.minLon = lo; if (lo > s.maxLon) s.maxLon = lo;
      }
      if (s.pts.length >= 2) streets.push(s);
    }
    if (!streetsCanvas) {
      var pane = map.createPane("streets");
      pane.style.zIndex = 250;  // over the grid and tiles (200), under view cones and markers (400+)
      pane.style.pointerEvents = "none";
      streetsCanvas = L.DomUtil.create("canvas", "streets-canvas", pane);
      map.on("zoomstart", function () { streetsCanvas.style.visibility = "hidden"; });
      map.on("moveend zoomend resize viewreset", drawStreets);
    }
    drawStreets();
    return streets.length;
  }
  function drawStreets() {
    if (!streetsCanvas) return;
    var size = map.getSize(), padX = Math.round(size.x * STREET_PAD), padY = Math.round(size.y * STREET_PAD);
    var origin = map.containerPointToLayerPoint([-padX, -padY]), ratio = window.devicePixelRatio || 1;
    var w = size.x + 2 * padX, h = size.y + 2 * padY;
    streetsCanvas.width = w * ratio; streetsCanvas.height = h * ratio;
    streetsCanvas.style.width = w + "px"; streetsCanvas.style.height = h + "px";
    L.DomUtil.setPosition(streetsCanvas, origin);
    streetsCanvas.style.visibility = "visible";
    var ctx = streetsCanvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var bounds = map.getBounds().pad(STREET_PAD), zoom = map.getZoom(), shown = [];
    var south = bounds.getSouth(), north = bounds.getNorth(), west = bounds.getWest(), east = bounds.getEast();
    for (var i = 0; i < streets.length; i++) {
      var s = streets[i];
      if (s.maxLat < south || s.minLat > north || s.maxLon < west || s.minLon > east) continue;
      var xy = [];
      for (var k = 0; k < s.pts.length; k++) xy.push(map.latLngToLayerPoint(s.pts[k]).subtract(origin));
      shown.push({s: s, xy: xy});
    }
    var width = streetWidth(zoom);
    ctx.lineJoin = ctx.lineCap = "round";
    [[cssVar("--street-casing", "#0c0f12"), width + 2], [cssVar("--street-line", "#4a5563"), width]].forEach(function (pass) {
      ctx.strokeStyle = pass[0]; ctx.lineWidth = pass[1];
      ctx.beginPath();
      for (var j = 0; j < shown.length; j++) {
        var xy = shown[j].xy;
        ctx.moveTo(xy[0].x, xy[0].y);
        for (var k = 1; k < xy.length; k++) ctx.lineTo(xy[k].x, xy[k].y);
      }
      ctx.stroke();
    });
    streetsLabels = zoom >= 15 ? labelStreets(ctx, shown, padX, padY, size) : [];
  }
  // Names along their lines, every ~450 px, only where the line is straight under the text and no other name is.
  function labelStreets(ctx, shown, padX, padY, size) {
    var placed = [], names = [], fontPx = map.getZoom() >= 17 ? 14 : 12;
    ctx.font = "bold " + fontPx + "px 'DejaVu Sans', Arial, sans-serif";
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.lineWidth = 3.5; ctx.strokeStyle = cssVar("--street-halo", "#161a1f"); ctx.fillStyle = cssVar("--street-label", "#c9d2dc");
    for (var j = 0; j < shown.length; j++) {
      var name = shown[j].s.name, xy = shown[j].xy;
      if (!name) continue;
      var textW = ctx.measureText(name).width + 10, cum = [0];
      for (var k = 1; k < xy.length; k++) cum.push(cum[k - 1] + xy[k].distanceTo(xy[k - 1]));
      var total = cum[cum.length - 1];
      if (total < textW) continue;
      for (var at = Math.min(total / 2, 220); at + textW / 2 <= total; at += 450) {
        if (at < textW / 2) continue;
        var a = pointAt(xy, cum, at - textW / 2), b = pointAt(xy, cum, at + textW / 2), mid = pointAt(xy, cum, at);
        var cx = (a.x + b.x) / 2, cy = (a.y + b.y) / 2;
        if (cx < padX + 10 || cy < padY + 10 || cx > padX + size.x - 10 || cy > padY + size.y - 10) continue;
        if (Math.abs(mid.x - cx) + Math.abs(mid.y - cy) > 4) continue;  // bends under the text
        var angle = Math.atan2(b.y - a.y, b.x - a.x);
        if (angle > Math.PI / 2) angle -= Math.PI; else if (angle < -Math.PI / 2) angle += Math.PI;
        var half = [Math.abs(Math.cos(angle)) * textW / 2 + Math.abs(Math.sin(angle)) * fontPx / 2 + 3,
                    Math.abs(Math.sin(angle)) * textW / 2 + Math.abs(Math.cos(angle)) * fontPx / 2 + 3];
        var box = [cx - half[0], cy - half[1], cx + half[0], cy + half[1]];
        if (placed.some(function (o) { return o[0] < box[2] && box[0] < o[2] && o[1] < box[3] && box[1] < o[3]; })) continue;
        placed.push(box);
        names.push(name);
        ctx.save(); ctx.translate(cx, cy); ctx.rotate(angle);
        ctx.strokeText(name, 0, 0); ctx.fillText(name, 0, 0);
        ctx.restore();
      }
    }
    return names;
  }
  function pointAt(xy, cum, d) {
    var k = 1;
    while (k < cum.length - 1 && cum[k] < d) k++;
    var span = cum[k] - cum[k - 1], t = span > 0 ? (d - cum[k - 1]) / span : 0;
    return L.point(xy[k - 1].x + (xy[k].x - xy[k - 1].x) * t, xy[k - 1].y + (xy[k].y - xy[k - 1].y) * t);
  }

  var rtic = window.rtic = {
    // rows: [id, lat, lon, state 0..2, inside 0/1, label, distance m, fov bearing, fov angle, fov range].
    // Inside rows (within the radius) are drawn highlighted, with view cones; the others go into the clusters.
    setCameras: function (rows) { return replace(rows, true); },
    setContext: function (rows) { return replace(rows, false); },
    setIncident: function (lat, lon, radius, label, fit) {
      incidentLayer.clearLayers();
      incident = {lat: lat, lon: lon, radius: radius, label: label || ""};
      var icon = L.divIcon({className: "incident-icon", html: el("div", "incident"),
                            iconSize: [28, 28], iconAnchor: [14, 14]});
      L.marker([lat, lon], {icon: icon, zIndexOffset: 10000, interactive: false}).addTo(incidentLayer);
      ring = L.circle([lat, lon], {radius: radius, className: "radius-ring", interactive: false}).addTo(incidentLayer);
      if (fit) map.fitBounds(ring.getBounds(), {padding: [30, 30], animate: false});
      return true;
    },
    setRadius: function (radius) {
      if (!ring) return false;
      incident.radius = radius; ring.setRadius(radius);
      return true;
    },
    zoomToIncident: function () {
      if (ring) map.fitBounds(ring.getBounds(), {padding: [30, 30], animate: false});
      return !!ring;
    },
    select: function (id) {
      var old = markers[selectedId];
      if (old) old.setIcon(makeIcon(cameras[selectedId].s, cameras[selectedId].inside, false));
      selectedId = id;
      var m = markers[id];
      if (!m) return false;
      m.setIcon(makeIcon(cameras[id].s, cameras[id].inside, true));
      m.setZIndexOffset(5000);
      if (!cameras[id].inside) cluster.zoomToShowLayer(m, function () {});
      else if (!map.getBounds().contains(m.getLatLng())) map.panTo(m.getLatLng(), {animate: false});
      return true;
    },
    setTiles: function (url, attribution, maxZoom) {
      if (tileLayer) { map.removeLayer(tileLayer); tileLayer = null; }
      if (url) {
        // Leaflet's attribution control takes HTML: the text (from a settings or MBTiles file) goes in escaped.
        tileLayer = L.tileLayer(url, {attribution: escapeText(attribution || ""), maxZoom: 19,
                                      maxNativeZoom: maxZoom || 19});
        tileLayer.addTo(map);
        map.removeLayer(gridLayer);
      } else if (!map.hasLayer(gridLayer)) {
        gridLayer.addTo(map);
      }
      document.body.classList.toggle("no-tiles", !url);
      return true;
    },
    setTheme: function (name) {
      document.body.className = "theme-" + name + (tileLayer ? "" : " no-tiles");
      drawStreets();  // the street colours come from the theme
      return name;
    },
    // rows: [name, lat, lon, lat, lon, ...] per road line (from the streets file, checked in Python).
    setStreets: function (rows) { return setStreets(rows || []); },
    // What the streets canvas shows now: lines known, and the names painted (for tests).
    streetsState: function () {
      return JSON.stringify({lines: streets.length, labels: streetsLabels,
                             visible: !!streetsCanvas && streetsCanvas.style.visibility !== "hidden"});
    },
    // What the page shows, for tests and the status bar: JSON because runJavaScript returns '' for objects.
    state: function () {
      var inside = 0;
      insideLayer.eachLayer(function () { inside++; });
      return JSON.stringify({
        cameras: Object.keys(cameras).length, inside: inside, clustered: cluster.getLayers().length,
        fov: fovLayer.getLayers().length, selected: selectedId, incident: incident,
        tiles: tileLayer ? tileLayer._url : null, zoom: map.getZoom(), theme: document.body.className,
        center: map.getCenter()
      });
    },
    // Start drawing a footage area; any earlier area is removed.
    startArea: function () {
      areaPoints = [];
      areaLayer.clearLayers();
      drawing = true;
      map.doubleClickZoom.disable();  // a double-click closes the area instead
      map.getContainer().classList.add("drawing-area");
      showBar(true);
      updateBar();
      return true;
    },
    // Close the ring (at least 3 corners) and hand it to Python; false (still drawing) when there are fewer.
    finishArea: function () {
      if (!drawing || areaPoints.length < 3) return false;
      stopDrawing();
      drawArea(true);
      if (bridge) bridge.areaDrawn(JSON.stringify(areaPoints));
      return true;
    },
    cancelArea: function () {
      var was = drawing;
      areaPoints = [];
      areaLayer.clearLayers();
      if (drawing) stopDrawing();
      if (was && bridge) bridge.areaCancelled();
      return was;
    },
    // Show an area drawn before (or drop it with no points), not drawing.
    showArea: function (points) {
      if (drawing) stopDrawing();
      areaPoints = points || [];
      drawArea(true);
      return areaPoints.length;
    },
    areaState: function () {
      return JSON.stringify({drawing: drawing, points: areaPoints, shapes: areaLayer.getLayers().length});
    },
    // A real Leaflet double-click at a point (closes an area being drawn).
    doubleClickMap: function (lat, lon) {
      map.fire("dblclick", {latlng: L.latLng(lat, lon)});
      return true;
    },
    // Fire a real Leaflet click on a marker (the third argument lets it reach a cluster's listener).
    clickMarker: function (id) {
      var m = markers[id];
      if (!m) return false;
      m.fire("click", {latlng: m.getLatLng()}, true);
      return true;
    },
    // A real Leaflet map click at a point, as a user's click would fire it.
    clickMap: function (lat, lon) {
      map.fire("click", {latlng: L.latLng(lat, lon)});
      return true;
    },
    // Hover a marker as the mouse would (Leaflet's mouseover); returns the tooltip's text as the page shows it.
    hoverMarker: function (id) {
      var m = markers[id];
      if (!m) return null;
      m.fire("mouseover", {latlng: m.getLatLng()}, true);
      var tip = m.getTooltip(), node = tip && tip.getElement();
      return node ? node.textContent : null;
    },
    // Where a point is in the view, in CSS pixels from its top left (for a real mouse click there).
    pointOf: function (lat, lon) {
      var p = map.latLngToContainerPoint(L.latLng(lat, lon));
      return JSON.stringify([p.x, p.y]);
    },
    markerPoint: function (id) {
      var m = markers[id];
      if (!m || !map.hasLayer(m)) return null;
      var p = map.latLngToContainerPoint(m.getLatLng());
      return JSON.stringify([p.x, p.y]);
    }
  };

  // A neutral coordinate grid drawn on a canvas: with no tile source the map still has a sense of scale.
  function makeGrid() {
  return L.GridLayer.extend({
    createTile: function (coords) {
      var tile = document.createElement("canvas"), size = this.getTileSize();
      tile.width = size.x; tile.height = size.y;
      var ctx = tile.getContext("2d");
      ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--grid-line") || "#888";
      ctx.lineWidth = 1;
      ctx.strokeRect(0.5, 0.5, size.x, size.y);
      ctx.globalAlpha = 0.4;
      ctx.beginPath(); ctx.moveTo(size.x / 2, 0); ctx.lineTo(size.x / 2, size.y);
      ctx.moveTo(0, size.y / 2); ctx.lineTo(size.x, size.y / 2); ctx.stroke();
      return tile;
    }
  });
  }

  // Called from the folium page once Leaflet (loaded after this file) has made the map.
  window.rticInit = function (leafletMap) {
    map = leafletMap;
    // Leaflet's own prefix is a link out of the app (and inline SVG): the page links nowhere.
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    if (window.rticStart) map.setView([rticStart.lat, rticStart.lon], rticStart.zoom, {animate: false});
    var Grid = makeGrid();
    gridLayer = new Grid({zIndex: 0}).addTo(map);
    fovLayer = L.featureGroup().addTo(map);
    // Not chunked: setCameras() returns once every marker is in, so 'painted' means painted.
    cluster = L.markerClusterGroup({chunkedLoading: false, showCoverageOnHover: false, maxClusterRadius: 50});
    cluster.addTo(map);
    insideLayer = L.featureGroup().addTo(map);
    incidentLayer = L.featureGroup().addTo(map);
    areaLayer = L.featureGroup().addTo(map);
    L.control.scale({metric: true, imperial: true}).addTo(map);
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var div = legendDiv = L.DomUtil.create("div", "legend");
      [["", "incident", "Incident and radius"], ["", "cam cam-live_now", "Live now"],
       ["", "cam cam-live_not_now", "Live-capable, not shared now"],
       ["", "cam cam-registered", "Registered only (call owner)"],
       ["legend-area", "area-swatch", "Footage request area"]].forEach(function (row) {
        var line = div.appendChild(el("div", row[0]));
        line.appendChild(el("i", row[1]));
        line.appendChild(document.createTextNode(row[2]));
      });
      return div;
    };
    legend.addTo(map);
    // While an area is drawn, clicks are its corners: they are not map clicks (the incident stays put).
    map.on("click", function (e) {
      if (drawing) onDrawClick(e);
      else if (bridge) bridge.mapClicked(e.latlng.lat, e.latlng.lng);
    });
    map.on("dblclick", function (e) { if (drawing) onDrawDoubleClick(e); });
    document.addEventListener("keydown", function (e) { if (drawing) onDrawKey(e); });
    if (window.qt && window.QWebChannel) {
      new QWebChannel(qt.webChannelTransport, function (channel) {
        bridge = channel.objects.bridge;
        bridge.pageReady();
      });
    }
  };
})();
