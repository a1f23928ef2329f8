/* ferry portmap home page: filter solutions in the browser from the embedded index.
 * The index comes from assets/portmap-index.js (window.PORTMAP_INDEX), not fetch(), so the
 * site also works when opened from file://. Filter state lives in the URL hash so a filtered
 * view can be bookmarked or linked (index.html#datatype=Photos&source=Facebook). Words are
 * matched and ranked by assets/search.js (typos tolerated, best first); without words the list
 * keeps the catalog's order. */
(function () {
  "use strict";
  var index = window.PORTMAP_INDEX;
  var form = document.getElementById("filters");
  if (!index || !form || !window.PortmapSearch) { return; }
  var els = {
    datatype: document.getElementById("f-datatype"),
    source: document.getElementById("f-source"),
    destination: document.getElementById("f-destination"),
    text: document.getElementById("f-text"),
    runnable: document.getElementById("f-runnable"),
    results: document.getElementById("results"),
    count: document.getElementById("result-count")
  };
  var labels = { datatype: "Any data type", source: "Any source", destination: "Any destination" };

  /* Free text is ranked by search.js, the port of `ferry catalog search` (typos tolerated). */
  var searcher = new window.PortmapSearch.Searcher(index);
  var position = {};
  index.solutions.forEach(function (s, i) { position[s.slug] = i; });
  var textCache = { text: null, scores: null };
  function textScores(text) {
    if (textCache.text !== text) { textCache = { text: text, scores: searcher.textScores(text) }; }
    return textCache.scores;
  }

  function state() {
    return {
      datatype: els.datatype.value, source: els.source.value, destination: els.destination.value,
      text: els.text.value, runnable: els.runnable.checked
    };
  }
  function matches(s, f, skip) {
    if (skip !== "datatype" && f.datatype && s.datatype !== f.datatype) { return false; }
    if (skip !== "source" && f.source && s.sources.indexOf(f.source) < 0) { return false; }
    if (skip !== "destination" && f.destination && s.destinations.indexOf(f.destination) < 0) { return false; }
    if (f.runnable && !(s.runnable && s.runnable.length)) { return false; }
    if (f.text.trim() && !Object.prototype.hasOwnProperty.call(textScores(f.text), position[s.slug])) { return false; }
    return true;
  }
  /* Rebuild one select's options from the solutions that match the other filters. */
  function refresh(select, key, f) {
    var counts = {};
    index.solutions.forEach(function (s) {
      if (!matches(s, f, key)) { return; }
      var values = key === "datatype" ? [s.datatype] : s[key === "source" ? "sources" : "destinations"];
      values.forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
    });
    var current = select.value;
    if (current && !counts[current]) { counts[current] = 0; }
    var names = Object.keys(counts).sort(function (a, b) { return a.toLowerCase() < b.toLowerCase() ? -1 : 1; });
    select.textContent = "";
    select.appendChild(new Option(labels[key], ""));
    names.forEach(function (n) { select.appendChild(new Option(n + " (" + counts[n] + ")", n)); });
    select.value = current;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function card(s) {
    var li = el("li", "card"); li.setAttribute("data-slug", s.slug);
    var art = el("article");
    var h = el("h2", "card-title"); var a = el("a", "", s.title); a.href = s.url; h.appendChild(a); art.appendChild(h);
    var route = el("p", "route");
    route.appendChild(el("span", "tag", s.datatype)); route.appendChild(document.createTextNode(" "));
    route.appendChild(el("span", "", s.sources.join(", "))); route.appendChild(document.createTextNode(" "));
    var arrow = el("span", "", "→"); arrow.setAttribute("aria-hidden", "true"); route.appendChild(arrow);
    route.appendChild(el("span", "visually-hidden", " to ")); route.appendChild(document.createTextNode(" "));
    route.appendChild(el("span", "", s.destinations.join(", ")));
    art.appendChild(route);
    if (s.summary) { art.appendChild(el("p", "summary", s.summary)); }
    if (s.runnable && s.runnable.length) { art.appendChild(el("p", "badge", "Runnable with ferry")); }
    li.appendChild(art);
    return li;
  }
  function writeHash(f) {
    var parts = [];
    ["datatype", "source", "destination", "text"].forEach(function (k) {
      if (f[k]) { parts.push(k + "=" + encodeURIComponent(f[k])); }
    });
    if (f.runnable) { parts.push("runnable=1"); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== location.hash && history.replaceState) {
      history.replaceState(null, "", location.pathname + location.search + hash);
    }
  }
  function readHash() {
    location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      var kv = pair.split("="); var value = decodeURIComponent(kv[1] || "");
      if (kv[0] === "runnable") { els.runnable.checked = value === "1"; }
      else if (els[kv[0]] && kv[0] !== "results" && kv[0] !== "count") {
        if (els[kv[0]].tagName === "SELECT" && value && !Array.prototype.some.call(els[kv[0]].options, function (o) { return o.value === value; })) {
          els[kv[0]].appendChild(new Option(value, value));
        }
        els[kv[0]].value = value;
      }
    });
  }
  function update() {
    var f = state();
    refresh(els.datatype, "datatype", f);
    refresh(els.source, "source", f);
    refresh(els.destination, "destination", f);
    var shown;
    if (f.text.trim()) {  /* best first, exactly as `ferry catalog search` ranks from the index */
      shown = searcher.search({ datatype: f.datatype, source: f.source, destination: f.destination, text: f.text })
        .map(function (hit) { return hit.solution; })
        .filter(function (s) { return matches(s, f); });
    } else {
      shown = index.solutions.filter(function (s) { return matches(s, f); });
    }
    els.results.textContent = "";
    shown.forEach(function (s) { els.results.appendChild(card(s)); });
    els.count.textContent = shown.length === 1 ? "1 solution" : shown.length + " solutions";
    writeHash(f);
  }
  form.addEventListener("change", update);
  els.text.addEventListener("input", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
  form.addEventListener("reset", function () { setTimeout(update, 0); });
  readHash();
  update();
}());
