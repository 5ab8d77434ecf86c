(function () {
  "use strict";
  var body = document.getElementById("rows");
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-verdict]"));
  var byVerdict = document.getElementById("filter-verdict");
  var byOU = document.getElementById("filter-ou");
  var shown = document.getElementById("shown");
  var bars = Array.prototype.slice.call(document.querySelectorAll("button.bar"));
  var heads = Array.prototype.slice.call(document.querySelectorAll("th button[data-col]"));

  function filter() {
    var v = byVerdict.value, o = byOU.value, n = 0;
    rows.forEach(function (r) {
      var show = (v === "*" || r.getAttribute("data-verdict") === v) && (o === "*" || r.getAttribute("data-ou") === o);
      r.hidden = !show;
      if (show) n++;
    });
    bars.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-verdict") === v)); });
    shown.textContent = n + " of " + rows.length + " accounts";
  }

  // A verdict's bar filters by it; pressing it again shows every verdict.
  bars.forEach(function (b) {
    b.addEventListener("click", function () {
      var v = b.getAttribute("data-verdict");
      byVerdict.value = byVerdict.value === v ? "*" : v;
      filter();
    });
  });
  byVerdict.addEventListener("change", filter);
  byOU.addEventListener("change", filter);
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });

  // Sorting: by the cell's data-key when it has one (the verdict's report order), else its
  // text, numbers compared as numbers; ties keep the previous order (the sort is stable).
  function key(r, col) {
    var c = r.cells[col];
    return c.hasAttribute("data-key") ? c.getAttribute("data-key") : c.textContent;
  }
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  heads.forEach(function (h) {
    h.addEventListener("click", function () {
      var col = Number(h.getAttribute("data-col"));
      var th = h.parentNode;
      var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (o) { o.parentNode.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      rows.sort(function (a, b) { return sign * collator.compare(key(a, col), key(b, col)); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  filter();
})();
