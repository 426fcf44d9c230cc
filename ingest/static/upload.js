// The upload page: drag and drop or choose files, upload them one by one (with progress),
// and keep the documents table current by polling /upload/documents every 2 seconds.
// Plain JavaScript, no dependencies; all text from the server is set with textContent.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  var input = document.getElementById("file-input");
  var zone = document.getElementById("dropzone");
  var queue = document.getElementById("queue");
  var body = document.getElementById("documents-body");
  var live = document.getElementById("live");
  var clientSelect = document.getElementById("client-select");
  var splitCheck = document.getElementById("split-check");  // staff only
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var staff = body.getAttribute("data-staff") === "true";
  var known = {};
  var POLL_MS = 2000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function selectedClass() {
    var checked = form.querySelector('input[name="document_class"]:checked');
    return checked ? checked.value : "payable";
  }

  // --- uploading ---------------------------------------------------------------------

  function queueItem(file) {
    var item = el("li");
    item.appendChild(el("span", "name", file.name));
    var status = el("span", "status", "Wartet …");
    item.appendChild(status);
    var bar = el("span", "bar");
    var fill = el("span");
    bar.appendChild(fill);
    item.appendChild(bar);
    queue.appendChild(item);
    return { item: item, status: status, fill: fill };
  }

  function uploadOne(file, view) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("files", file, file.name);
      data.append("document_class", selectedClass());
      data.append("csrf_token", csrf);
      if (clientSelect) data.append("client", clientSelect.value);
      if (splitCheck && splitCheck.checked) data.append("split", "true");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/upload");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) {
          view.fill.style.width = Math.round((event.loaded / event.total) * 100) + "%";
          view.status.textContent = "Wird hochgeladen …";
        }
      };
      xhr.onload = function () {
        var reply = {};
        try { reply = JSON.parse(xhr.responseText); } catch (e) { reply = {}; }
        if (xhr.status === 401) { window.location.href = "/login?next=/upload"; return; }
        if (xhr.status >= 200 && xhr.status < 300 && reply.documents && reply.documents.length) {
          var doc = reply.documents[0];
          view.item.className = "done";
          view.fill.style.width = "100%";
          view.status.textContent = doc.state === "duplicate"
            ? "Bereits vorhanden – nicht doppelt erfasst"
            : "Übermittelt";
        } else {
          view.item.className = "error";
          var detail = reply.detail || (reply.errors && reply.errors[0] && reply.errors[0].detail);
          view.status.textContent = detail || ("Fehler " + xhr.status + " – bitte erneut versuchen");
        }
        resolve();
      };
      xhr.onerror = function () {
        view.item.className = "error";
        view.status.textContent = "Keine Verbindung – bitte erneut versuchen";
        resolve();
      };
      xhr.send(data);
    });
  }

  function uploadAll(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    if (!files.length) return;
    if (clientSelect && !clientSelect.value) {
      clientSelect.focus();
      clientSelect.reportValidity();
      return;
    }
    var views = files.map(queueItem);
    // One after the other: a phone on a weak network finishes each file before the next.
    files.reduce(function (done, file, i) {
      return done.then(function () { return uploadOne(file, views[i]); }).then(refresh);
    }, Promise.resolve());
  }

  input.addEventListener("change", function () {
    uploadAll(input.files);
    input.value = "";
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    uploadAll(input.files);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragover");
    });
  });
  ["dragleave", "dragend"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragover"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("dragover");
    if (event.dataTransfer) uploadAll(event.dataTransfer.files);
  });
  // A file dropped next to the zone must not navigate away from the page.
  window.addEventListener("dragover", function (event) { event.preventDefault(); });
  window.addEventListener("drop", function (event) { event.preventDefault(); });

  // --- the documents table -----------------------------------------------------------

  var dateFormat = new Intl.DateTimeFormat("de-CH", {
    day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit"
  });

  function row(doc) {
    var tr = el("tr");
    tr.setAttribute("data-id", String(doc.id));
    tr.setAttribute("data-state", doc.state);
    var file = el("td", "file", doc.filename);
    file.appendChild(el("span", "sub", doc.class_label ? doc.class_label : "Beleg Nr. " + doc.id));
    tr.appendChild(file);
    if (staff) tr.appendChild(el("td", "", doc.client_id));
    tr.appendChild(el("td", "hide-sm", doc.doc_type_label || "–"));
    tr.appendChild(el("td", "hide-sm", doc.channel_label));
    tr.appendChild(el("td", "hide-xs", dateFormat.format(new Date(doc.received_at))));
    var state = el("td");
    var badge = el("span", "badge state-" + doc.state, doc.state_label);
    badge.setAttribute("data-testid", "state");
    state.appendChild(badge);
    if (doc.outcome) state.appendChild(el("span", "sub outcome", doc.outcome));
    else if (doc.duplicate_of) state.appendChild(el("span", "sub", "wie Beleg Nr. " + doc.duplicate_of));
    tr.appendChild(state);
    var previous = known[doc.id];
    if (previous !== undefined && previous !== doc.state) tr.className = "fresh";
    known[doc.id] = doc.state;
    return tr;
  }

  function render(documents) {
    var fragment = document.createDocumentFragment();
    if (!documents.length) {
      var empty = el("tr", "empty");
      var cell = el("td", "", "Noch keine Belege. Ziehen Sie die erste Datei in das Feld oben.");
      cell.setAttribute("colspan", "6");
      empty.appendChild(cell);
      fragment.appendChild(empty);
    }
    documents.forEach(function (doc) { fragment.appendChild(row(doc)); });
    body.replaceChildren(fragment);
  }

  function refresh() {
    return fetch("/upload/documents", {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) { window.location.href = "/login?next=/upload"; return null; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (reply) {
      if (!reply) return;
      render(reply.documents);
      live.classList.remove("paused");
    }).catch(function () {
      live.classList.add("paused");  // try again at the next tick
    });
  }

  refresh();
  window.setInterval(function () {
    if (!document.hidden) refresh();
  }, POLL_MS);
})();
