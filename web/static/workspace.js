// fiduflow workspace: field boxes on page images, keyboard, bulk selection.
// A static file (the pages' CSP allows no inline script); no framework, no network.
(function () {
  "use strict";

  function typing(event) {
    var el = event.target;
    var tag = el && el.tagName ? el.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  // --- boxes: placed from their fractions (inline styles are not allowed by the CSP) ---
  document.querySelectorAll(".fbox").forEach(function (box) {
    var x0 = parseFloat(box.dataset.x0), y0 = parseFloat(box.dataset.y0);
    var x1 = parseFloat(box.dataset.x1), y1 = parseFloat(box.dataset.y1);
    box.style.left = (x0 * 100) + "%";
    box.style.top = (y0 * 100) + "%";
    box.style.width = ((x1 - x0) * 100) + "%";
    box.style.height = ((y1 - y0) * 100) + "%";
    box.classList.add("placed");
  });
  document.querySelectorAll(".confbar span[data-pct]").forEach(function (bar) {
    bar.style.width = Math.max(3, Math.min(100, parseInt(bar.dataset.pct, 10))) + "%";
  });

  // A field's row and its box light up together.
  function mark(name, on) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
      el.classList.toggle("active", on);
    });
  }
  document.querySelectorAll(".field-row[data-field], .fbox[data-field]").forEach(function (el) {
    var name = el.dataset.field;
    el.addEventListener("mouseenter", function () { mark(name, true); });
    el.addEventListener("mouseleave", function () { mark(name, false); });
    el.addEventListener("focusin", function () { mark(name, true); });
    el.addEventListener("focusout", function () { mark(name, false); });
  });
  document.querySelectorAll(".fbox[data-field]").forEach(function (box) {
    box.addEventListener("click", function () {
      var input = document.getElementById("f_" + box.dataset.field);
      if (input) { input.focus(); input.select && input.select(); }
    });
  });

  // --- the inbox ---
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.task-row"));
  var current = -1;
  function select(i) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("selected", j === current); });
    rows[current].scrollIntoView({block: "nearest"});
  }
  rows.forEach(function (row, i) {
    row.addEventListener("click", function (event) {
      var tag = event.target.tagName.toLowerCase();
      if (tag === "input" || tag === "a" || tag === "label") { return; }
      window.location.href = row.dataset.href;
    });
    row.addEventListener("mouseenter", function () { current = i; });
  });
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="task_id"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  // --- the keyboard ---
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    var key = event.key;
    if (rows.length) {
      if (key === "j") { select(current + 1); event.preventDefault(); }
      else if (key === "k") { select(current - 1); event.preventDefault(); }
      else if (key === "Enter" && current >= 0) { window.location.href = rows[current].dataset.href; }
      else if (key === "x" && current >= 0) {
        var box = rows[current].querySelector('input[name="task_id"]');
        if (box) { box.checked = !box.checked; }
      }
      return;
    }
    var link;
    if (key === "j" && (link = document.getElementById("next-task"))) { window.location.href = link.href; }
    else if (key === "k" && (link = document.getElementById("prev-task"))) { window.location.href = link.href; }
    else if (key === "e") {
      var first = document.querySelector("#main-form input:not([type=hidden]):not([readonly])");
      if (first) { first.focus(); if (first.select) { first.select(); } event.preventDefault(); }
    }
    else if (key === "Enter") {
      var form = document.getElementById("main-form");
      var button = form && form.querySelector('button[type="submit"]');
      if (button) { button.click(); event.preventDefault(); }
    }
  });
})();
