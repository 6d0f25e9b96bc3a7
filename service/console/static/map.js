// A crisis map: the shipped boundaries as the base map (offline), the provinces hit shaded by the
// exposed workers the viewer may see, every zone version and the hazard's own geometry. Tiles
// only when the deployment names a tile server (data-tiles).
"use strict";
(function () {
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") {
    return;
  }
  element.textContent = "";
  var map = L.map(element, { attributionControl: false });
  var tiles = element.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
  }
  function shade(workers, most) {
    if (workers === null || workers === undefined) {
      return 0.15;
    }
    return 0.2 + 0.6 * (most ? workers / most : 0);
  }
  // Tooltips are given an element holding text, never a string: Leaflet writes a string as
  // HTML, and a name or an alert's headline comes from feeds and pushes that anyone may write.
  function asText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }
  function label(p) {
    if (p.layer === "province") {
      var count = p.workers === null ? "withheld (few)" : String(p.workers);
      return p.name + ": " + count + " exposed workers";
    }
    if (p.layer === "zone") {
      return "Zone version " + p.version + (p.latest ? " (current)" : "");
    }
    return p.name || "";
  }
  fetch(element.getAttribute("data-geojson"), { credentials: "same-origin" })
    .then(function (answer) { return answer.json(); })
    .then(function (data) {
      var most = 0;
      data.features.forEach(function (f) {
        if (f.properties.layer === "province" && f.properties.workers) {
          most = Math.max(most, f.properties.workers);
        }
      });
      var styles = {
        country: function () { return { color: "#5b6470", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 }; },
        province: function (p) { return { color: "#1f3f73", weight: 1, fillColor: "#3e6fb0", fillOpacity: shade(p.workers, most) }; },
        hazard: function () { return { color: "#b35900", weight: 2, fillColor: "#e67e22", fillOpacity: 0.15 }; },
        zone: function (p) {
          return p.latest
            ? { color: "#a01818", weight: 3, fillOpacity: 0.05 }
            : { color: "#333333", weight: 2, dashArray: "6 4", fill: false };
        }
      };
      var current = null;
      ["country", "province", "hazard", "zone"].forEach(function (layer) {
        var features = data.features.filter(function (f) { return f.properties.layer === layer; });
        var drawn = L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: function (f) { return styles[layer](f.properties); },
          onEachFeature: function (f, shape) {
            if (layer !== "country") {
              shape.bindTooltip(asText(label(f.properties)));
            }
            if (layer === "zone" && f.properties.latest) {
              current = shape;
            }
          }
        }).addTo(map);
        if (layer === "country" && features.length && !current) {
          map.fitBounds(drawn.getBounds());
        }
      });
      if (current) {
        map.fitBounds(current.getBounds(), { padding: [20, 20] });
      } else {
        map.setView([0, 0], 2);
      }
    })
    .catch(function () {
      element.textContent = "The map could not be loaded; the counts below say the same in words.";
    });
})();
