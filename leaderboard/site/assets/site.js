// wmbench leaderboard: sortable columns and row/column filters. No dependencies, no network.
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell ? (cell.getAttribute("data-value") || "") : "";
    if (type === "number") {
      var value = parseFloat(raw);
      return isNaN(value) ? null : value;
    }
    return (raw || cell.textContent).trim().toLowerCase();
  }

  function compare(a, b, direction) {
    if (a === b) return 0;
    if (a === null) return 1;  // missing values last, whatever the direction
    if (b === null) return -1;
    return (a < b ? -1 : 1) * direction;
  }

  function sortBy(table, header) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(header);
    var type = header.getAttribute("data-type") || "text";
    var current = header.getAttribute("aria-sort");
    var first = header.getAttribute("data-first") || (type === "number" ? "descending" : "ascending");
    var next = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var direction = next === "ascending" ? 1 : -1;
    headers.forEach(function (h) { if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", next);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      return compare(cellValue(a, index, type), cellValue(b, index, type), direction) ||
             compare(cellValue(a, 1, "text"), cellValue(b, 1, "text"), 1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilters(form) {
    var table = document.getElementById(form.getAttribute("data-table"));
    var value = function (name) { var f = form.elements[name]; return f ? f.value : ""; };
    var area = value("area"), family = value("family"), kind = value("kind"), device = value("device");
    var text = value("model").trim().toLowerCase();
    Array.prototype.forEach.call(table.querySelectorAll("[data-area]"), function (cell) {
      cell.hidden = area !== "" && cell.getAttribute("data-area") !== area;
    });
    Array.prototype.forEach.call(table.querySelectorAll("[data-family]"), function (cell) {
      cell.hidden = family === "" || (family !== "*" && cell.getAttribute("data-family") !== family);
    });
    var shown = 0, rows = table.tBodies[0].rows;
    Array.prototype.forEach.call(rows, function (row) {
      var visible = (kind === "" || row.getAttribute("data-kind") === kind) &&
                    (device === "" || row.getAttribute("data-device") === device) &&
                    (text === "" || row.getAttribute("data-model").toLowerCase().indexOf(text) >= 0);
      row.hidden = !visible;
      if (visible) shown += 1;
    });
    var status = document.getElementById(form.getAttribute("data-status"));
    if (status) status.textContent = shown + " of " + rows.length + " rows shown";
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
        var button = header.querySelector("button");
        if (button) button.addEventListener("click", function () { sortBy(table, header); });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      form.addEventListener("input", function () { applyFilters(form); });
      form.addEventListener("change", function () { applyFilters(form); });
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      applyFilters(form);
    });
  });
})();
