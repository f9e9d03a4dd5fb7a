/* 乡安县级平台: sortable and filterable tables, and a busy state for slow forms.
 * ES5 only, no libraries: it must run in the old browsers county offices still use.
 * Tables: <table class="sortable"> with <th data-sort="text|number">; a cell's data-value (if any) is
 * what it sorts by. Filters: <input class="table-filter" data-table="ID"> (text anywhere in the row) and
 * <select class="table-tag-filter" data-table="ID"> (rows whose data-tags contain the chosen tag);
 * <span class="table-count" data-table="ID"> shows how many rows are shown. */
(function () {
  "use strict";

  function each(list, fn) {
    for (var i = 0; i < list.length; i++) { fn(list[i], i); }
  }

  function trim(s) { return s.replace(/^\s+|\s+$/g, ""); }

  function textOf(node) {
    return trim((node.textContent || node.innerText || "").replace(/\s+/g, " "));
  }

  function bodyRows(table) {
    return table.tBodies.length ? table.tBodies[0].rows : [];
  }

  function forTable(selector, tableId, fn) {
    each(document.querySelectorAll(selector), function (el) {
      if (el.getAttribute("data-table") === tableId) { fn(el); }
    });
  }

  var collator = (window.Intl && window.Intl.Collator) ? new window.Intl.Collator("zh-CN", {numeric: true}) : null;

  function compareText(a, b) {
    if (collator) { return collator.compare(a, b); }
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  function sortKey(cell, numeric) {
    var raw = cell ? cell.getAttribute("data-value") : "";
    if (raw === null) { raw = textOf(cell); }
    if (!numeric) { return raw; }
    var n = parseFloat(raw);
    return isNaN(n) ? -1e308 : n;
  }

  function setClass(el, name, on) {
    var rest = (" " + el.className + " ").replace(" " + name + " ", " ");
    el.className = trim(on ? rest + " " + name : rest);
  }

  function sortBy(table, headers, th, index) {
    var numeric = th.getAttribute("data-sort") === "number";
    var descending = th.getAttribute("aria-sort") === "ascending";
    each(headers, function (other) {
      other.removeAttribute("aria-sort");
      setClass(other, "sorted-asc", false);
      setClass(other, "sorted-desc", false);
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    setClass(th, descending ? "sorted-desc" : "sorted-asc", true);
    var entries = [];
    each(bodyRows(table), function (row, i) {
      entries.push({row: row, key: sortKey(row.cells[index], numeric), at: i});
    });
    entries.sort(function (a, b) {
      var c = numeric ? (a.key < b.key ? -1 : (a.key > b.key ? 1 : 0)) : compareText(a.key, b.key);
      if (c === 0) { return a.at - b.at; }  // ties keep their order: sorting is stable everywhere
      return descending ? -c : c;
    });
    var body = table.tBodies[0];
    each(entries, function (entry) { body.appendChild(entry.row); });
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var headers = table.tHead.rows[0].cells;
    each(headers, function (th, index) {
      if (!th.getAttribute("data-sort")) { return; }
      setClass(th, "sortable-header", true);
      th.setAttribute("title", (th.getAttribute("title") ? th.getAttribute("title") + "；" : "") + "点击排序");
      th.onclick = function () { sortBy(table, headers, th, index); };
    });
  }

  function applyFilters(tableId) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var term = "";
    var tag = "";
    forTable(".table-filter", tableId, function (input) { term = trim(input.value).toLowerCase(); });
    forTable(".table-tag-filter", tableId, function (select) { tag = select.value; });
    var shown = 0;
    var rows = bodyRows(table);
    each(rows, function (row) {
      var tags = " " + (row.getAttribute("data-tags") || "") + " ";
      var visible = (!term || textOf(row).toLowerCase().indexOf(term) >= 0) &&
        (!tag || tags.indexOf(" " + tag + " ") >= 0);
      setClass(row, "is-hidden", !visible);
      if (visible) { shown++; }
    });
    forTable(".table-count", tableId, function (span) {
      var text = shown === rows.length ? "共 " + rows.length + " 行" : "显示 " + shown + " / " + rows.length + " 行";
      if ("textContent" in span) { span.textContent = text; } else { span.innerText = text; }
    });
  }

  function watchFilter(el, events) {
    var tableId = el.getAttribute("data-table");
    each(events, function (name) {
      el.addEventListener(name, function () { applyFilters(tableId); }, false);
    });
    applyFilters(tableId);
  }

  function busyOnSubmit(form) {
    form.addEventListener("submit", function () {
      each(form.querySelectorAll("button[type=submit]"), function (button) {
        button.disabled = true;
        if ("textContent" in button) { button.textContent = form.getAttribute("data-busy-text"); }
      });
    }, false);
  }

  function start() {
    each(document.querySelectorAll("table.sortable"), makeSortable);
    each(document.querySelectorAll(".table-filter"), function (el) { watchFilter(el, ["input", "keyup", "change"]); });
    each(document.querySelectorAll(".table-tag-filter"), function (el) { watchFilter(el, ["change"]); });
    each(document.querySelectorAll("span.table-count"), function (span) { applyFilters(span.getAttribute("data-table")); });
    each(document.querySelectorAll("form[data-busy-text]"), busyOnSubmit);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, false);
  } else {
    start();
  }
}());
