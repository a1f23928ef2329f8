/* ferry portmap search: the browser's copy of catalog/search.py and catalog/fuzzy.py.
 *
 * A line-by-line port, so the site ranks exactly as `Searcher(index)` does in Python (the CLI
 * adds page bodies on top): the same normalisation, difflib's SequenceMatcher ratio (no junk
 * heuristics), the trigram shortlist, prefix and spelling expansion of each word, and the
 * service / data type names and aliases of the index resolved for words and 2-3 word phrases
 * ("google fotos" -> Google Photos). tests/test_catalog_search_js.py runs both on the same
 * queries in Chromium and compares; change the two files together.
 *
 * Exposes window.PortmapSearch = { normalize, tokens, similarity, Searcher }. No DOM access. */
(function (root) {
  "use strict";

  var W_TITLE = 3.0, W_SERVICE = 2.0, W_DATATYPE = 2.0, W_TEXT = 1.0;
  var FILTER_WEIGHT = 4.0, NAME_CUTOFF = 0.7, MAX_QUERY_WORDS = 16, MAX_FUZZY_CHARS = 64;
  var PHRASE_WORDS = [1, 2, 3];
  var COMBINING = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/g;

  function has(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

  /* fuzzy.normalize: NFKD, drop combining marks, lower case, & -> and, non [0-9a-z] -> space. */
  function normalize(text) {
    var s = String(text == null ? "" : text).normalize("NFKD").replace(COMBINING, "").toLowerCase();
    return s.replace(/&/g, " and ").replace(/[^0-9a-z]+/g, " ").trim();
  }
  function tokens(text) { var n = normalize(text); return n ? n.split(" ") : []; }

  /* difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() */
  function similarity(a, b) {
    if (a === b) { return 1.0; }
    var b2j = {}, i, j;
    for (j = 0; j < b.length; j++) { (b2j[b[j]] = b2j[b[j]] || []).push(j); }
    function longest(alo, ahi, blo, bhi) {
      var besti = alo, bestj = blo, bestsize = 0, j2len = {}, newj2len, k, list, x;
      for (i = alo; i < ahi; i++) {
        newj2len = {};
        list = has(b2j, a[i]) ? b2j[a[i]] : [];
        for (x = 0; x < list.length; x++) {
          j = list[x];
          if (j < blo) { continue; }
          if (j >= bhi) { break; }
          k = newj2len[j] = (has(j2len, j - 1) ? j2len[j - 1] : 0) + 1;
          if (k > bestsize) { besti = i - k + 1; bestj = j - k + 1; bestsize = k; }
        }
        j2len = newj2len;
      }
      while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) { besti--; bestj--; bestsize++; }
      while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) { bestsize++; }
      return [besti, bestj, bestsize];
    }
    var matches = 0, queue = [[0, a.length, 0, b.length]], q, m;
    while (queue.length) {
      q = queue.pop();
      m = longest(q[0], q[1], q[2], q[3]);
      if (m[2]) {
        matches += m[2];
        if (q[0] < m[0] && q[2] < m[1]) { queue.push([q[0], m[0], q[2], m[1]]); }
        if (m[0] + m[2] < q[1] && m[1] + m[2] < q[3]) { queue.push([m[0] + m[2], q[1], m[1] + m[2], q[3]]); }
      }
    }
    var total = a.length + b.length;
    return total ? 2.0 * matches / total : 1.0;
  }

  function trigrams(word) {
    var padded = "  " + word + " ", seen = {}, out = [], g;
    for (var i = 0; i + 3 <= padded.length; i++) {
      g = padded.substr(i, 3);
      if (!has(seen, g)) { seen[g] = true; out.push(g); }
    }
    return out;
  }
  function byScoreThenWord(x, y) { return y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0); }

  /* fuzzy.FuzzyVocabulary */
  function Vocabulary() { this.words = {}; this.byGram = {}; }
  Vocabulary.prototype.add = function (word) {
    if (has(this.words, word)) { return; }
    this.words[word] = true;
    var grams = trigrams(word);
    for (var i = 0; i < grams.length; i++) { (this.byGram[grams[i]] = this.byGram[grams[i]] || []).push(word); }
  };
  Vocabulary.prototype.close = function (word, cutoff, limit) {
    if (has(this.words, word)) { return [[word, 1.0]]; }
    if (word.length > MAX_FUZZY_CHARS) { return []; }
    var counts = {}, order = [], grams = trigrams(word), i, j, list, c;
    for (i = 0; i < grams.length; i++) {
      list = has(this.byGram, grams[i]) ? this.byGram[grams[i]] : [];
      for (j = 0; j < list.length; j++) {
        c = list[j];
        if (!has(counts, c)) { counts[c] = 0; order.push(c); }
        counts[c] += 1;
      }
    }
    order.sort(function (x, y) { return counts[y] - counts[x] || (x < y ? -1 : x > y ? 1 : 0); });
    var scored = [];
    order.slice(0, 50).forEach(function (w) {
      var s = similarity(word, w);
      if (s >= cutoff) { scored.push([w, s]); }
    });
    scored.sort(byScoreThenWord);
    return scored.slice(0, limit);
  };

  /* search._Names */
  function Names() { this.keys = {}; this.order = []; }
  Names.prototype.add = function (canonical, aliases) {
    var all = [canonical].concat(aliases || []);
    for (var i = 0; i < all.length; i++) {
      var key = normalize(all[i]);
      if (!has(this.keys, key)) { this.keys[key] = canonical; this.order.push(key); }
    }
  };
  Names.prototype.resolve = function (query) {
    var key = normalize(query), found = {};
    if (!key) { return found; }
    if (has(this.keys, key)) { found[this.keys[key]] = 1.0; return found; }
    for (var i = 0; i < this.order.length; i++) {
      var known = this.order[i], canonical = this.keys[known];
      var reachable = 2 * Math.min(key.length, known.length) >= NAME_CUTOFF * (key.length + known.length);
      var score = reachable ? similarity(key, known) : 0.0;
      if (known.indexOf(key) === 0 && key.length >= 3) { score = Math.max(score, 0.85); }
      else if (known.split(" ").indexOf(key) >= 0) { score = Math.max(score, 0.75); }
      if (score >= NAME_CUTOFF && score > (has(found, canonical) ? found[canonical] : 0.0)) { found[canonical] = score; }
    }
    return found;
  };

  /* Python's round(x, 4): correctly rounded, ties to even. A tie at 4 decimals is exactly
   * representable only when 32 * x is an odd integer (x = j/32); toFixed would round it up. */
  function round4(x) {
    var t = x * 32;
    if (Number.isInteger(t) && Math.abs(t) % 2 === 1) {
      var lo = Math.floor(x * 10000);
      return (lo % 2 === 0 ? lo : lo + 1) / 10000;
    }
    return Number(x.toFixed(4));
  }

  function keep(map, i, value) { if (!has(map, i) || value > map[i]) { map[i] = value; } }

  /* search.Searcher over the JSON index (no page bodies: the index carries summaries only). */
  function Searcher(index) {
    var self = this;
    this.solutions = (index.solutions || []).slice();
    this.services = new Names();
    this.datatypes = new Names();
    var aliasesOf = {};
    (index.services || []).forEach(function (svc) {
      self.services.add(svc.name, svc.aliases || []);
      aliasesOf[svc.name] = (svc.aliases || []).slice();
    });
    (index.datatypes || []).forEach(function (d) { self.datatypes.add(d.name, d.aliases || []); });
    this.solutions.forEach(function (s) { s.sources.concat(s.destinations).forEach(function (n) { self.services.add(n, []); }); });
    this.withService = {};
    this.withDatatype = {};
    this.postings = {};
    this.words = new Vocabulary();
    this.solutions.forEach(function (s, i) {
      var seen = {};
      s.sources.concat(s.destinations).forEach(function (n) {
        if (has(seen, n)) { return; }
        seen[n] = true;
        (self.withService[n] = self.withService[n] || []).push(i);
      });
      (self.withDatatype[s.datatype] = self.withDatatype[s.datatype] || []).push(i);
      var fields = [[W_TITLE, s.title], [W_DATATYPE, s.datatype], [W_TEXT, s.summary || ""]];
      s.sources.concat(s.destinations).forEach(function (n) {
        fields.push([W_SERVICE, [n].concat(has(aliasesOf, n) ? aliasesOf[n] : []).join(" ")]);
      });
      fields.forEach(function (f) {
        tokens(f[1]).forEach(function (word) {
          var p = has(self.postings, word) ? self.postings[word] : (self.postings[word] = {});
          keep(p, i, f[0]);
        });
      });
    });
    Object.keys(this.postings).forEach(function (w) { self.words.add(w); });
  }
  Searcher.prototype.expand = function (word) {
    var found = {}, order = [];
    this.words.close(word, 0.8, 5).forEach(function (ws) { found[ws[0]] = ws[1]; order.push(ws[0]); });
    if (word.length >= 3) {
      this.words.close(word, 0.5, 20).forEach(function (ws) {
        if (ws[0].indexOf(word) === 0 && !has(found, ws[0])) { found[ws[0]] = 0.9; order.push(ws[0]); }
      });
    }
    return order.map(function (w) { return [w, found[w]]; });
  };
  Searcher.prototype.named = function (words) {
    var self = this, perWord = words.map(function () { return {}; });
    PHRASE_WORDS.forEach(function (size) {
      for (var start = 0; start + size <= words.length; start++) {
        var phrase = words.slice(start, start + size).join(" ");
        [[self.services, self.withService, W_SERVICE], [self.datatypes, self.withDatatype, W_DATATYPE]].forEach(function (t) {
          var resolved = t[0].resolve(phrase);
          Object.keys(resolved).forEach(function (canonical) {
            var pages = has(t[1], canonical) ? t[1][canonical] : [];
            pages.forEach(function (i) {
              for (var w = start; w < start + size; w++) { keep(perWord[w], i, t[2] * resolved[canonical]); }
            });
          });
        });
      }
    });
    return perWord;
  };
  /* Text scores by solution position: {i: score}. */
  Searcher.prototype.textScores = function (text) {
    var self = this, words = tokens(text).slice(0, MAX_QUERY_WORDS), perWord = this.named(words);
    words.forEach(function (word, n) {
      self.expand(word).forEach(function (ws) {
        var p = has(self.postings, ws[0]) ? self.postings[ws[0]] : {};
        Object.keys(p).forEach(function (i) { keep(perWord[n], i, p[i] * ws[1]); });
      });
    });
    var scores = {};
    perWord.forEach(function (best) {
      Object.keys(best).forEach(function (i) { scores[i] = (has(scores, i) ? scores[i] : 0.0) + best[i]; });
    });
    Object.keys(scores).forEach(function (i) {
      var matched = perWord.filter(function (best) { return has(best, i); }).length;
      scores[i] *= matched / perWord.length;
    });
    return scores;
  };
  /* Searcher.search with exact filters (the site's selects hold canonical names). Hits are
   * {solution, score} sorted best first, ties by title; score is rounded to 4 places as in Python. */
  Searcher.prototype.search = function (criteria) {
    var c = criteria || {}, self = this, scores = {}, text = c.text && c.text.trim() ? c.text : "";
    this.solutions.forEach(function (s, i) {
      var score = 0.0;
      if (c.source) { if (s.sources.indexOf(c.source) < 0) { return; } score += FILTER_WEIGHT * 1.0; }
      if (c.destination) { if (s.destinations.indexOf(c.destination) < 0) { return; } score += FILTER_WEIGHT * 1.0; }
      if (c.datatype) { if (s.datatype !== c.datatype) { return; } score += FILTER_WEIGHT * 1.0; }
      scores[i] = score;
    });
    if (text) {
      var t = this.textScores(text);
      Object.keys(scores).forEach(function (i) { if (has(t, i)) { scores[i] += t[i]; } else { delete scores[i]; } });
    }
    var hits = Object.keys(scores).map(function (i) {
      var s = self.solutions[i];
      return { solution: s, score: round4(scores[i] + (s.runnable && s.runnable.length ? 0.1 : 0.0)) };
    });
    hits.sort(function (x, y) {
      var a = x.solution.title.toLowerCase(), b = y.solution.title.toLowerCase();
      return y.score - x.score || (a < b ? -1 : a > b ? 1 : 0);
    });
    return c.limit ? hits.slice(0, c.limit) : hits;
  };

  root.PortmapSearch = { normalize: normalize, tokens: tokens, similarity: similarity, round4: round4, Searcher: Searcher };
}(typeof window !== "undefined" ? window : this));
