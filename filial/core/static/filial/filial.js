// Small progressive enhancements; every page works without this file.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.classList && el.classList.contains("autosubmit") && el.form) { el.form.submit(); }
});
document.addEventListener("click", function (event) {
  var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
});

// Phone layout (filial.css): each table cell learns its column's name, so a wide table can be shown as cards;
// «Фильтры» and other .fold-narrow folds start closed on a narrow screen (open on a wide one, and without script).
(function () {
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 700px)") : null;

  function label(root) {
    var tables = (root.querySelectorAll ? root : document).querySelectorAll(".table-wrap table");
    Array.prototype.forEach.call(tables, function (table) {
      var names = [];
      var head = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : null;
      if (!head) { return; }
      Array.prototype.forEach.call(head.cells, function (th) {
        var span = th.colSpan || 1;
        for (var i = 0; i < span; i++) { names.push(th.textContent.replace(/\s+/g, " ").trim()); }
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var col = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            if (!cell.hasAttribute("data-label") && names[col]) { cell.setAttribute("data-label", names[col]); }
            col += cell.colSpan || 1;
          });
        });
      });
    });
  }

  function fold(root) {
    if (!narrow || !narrow.matches) { return; }
    var folds = (root.querySelectorAll ? root : document).querySelectorAll("details.fold-narrow[open]");
    // Filters in use stay open, so the person sees what the list is narrowed to.
    var used = false;
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (value && ["page", "view", "date", "month"].indexOf(key) < 0) { used = true; }
    });
    Array.prototype.forEach.call(folds, function (d) {
      if (!d.hasAttribute("data-keep-open") && !(used && d.querySelector("form"))) { d.open = false; }
    });
  }

  function enhance(root) { label(root); fold(root); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
  document.addEventListener("htmx:load", function (event) { label(event.target || document); });
})();
