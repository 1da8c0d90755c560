/* pysampler heatmap: line selection by URL hash, line panels, index filter and sort.
   Everything from the profile is set as textContent: never parsed as markup. */
(function () {
  "use strict";
  var doc = document;

  // ---- the selected line: #L<n> in the URL, highlighted every time it is reached ----
  var selected = null;

  function lineFor(hash) {
    return /^#L[0-9]+$/.test(hash) ? doc.getElementById(hash.slice(1)) : null;
  }

  function highlight(row) {
    if (selected && selected !== row) selected.classList.remove("sel", "flash");
    selected = row;
    row.classList.add("sel");
    row.classList.remove("flash");
    void row.offsetWidth; // a reflow between removing and adding restarts the animation
    row.classList.add("flash");
    row.scrollIntoView({ block: "center", inline: "nearest" });
  }

  function followHash() {
    var row = lineFor(location.hash);
    if (row) highlight(row);
  }

  window.addEventListener("hashchange", followHash);

  doc.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) return;
    var url = new URL(link.href, location.href);
    // A link to the line already selected changes no hash, so no hashchange: replay here.
    if (url.hash && url.hash === location.hash && url.pathname === location.pathname &&
        url.search === location.search) {
      var row = lineFor(url.hash);
      if (row) {
        event.preventDefault();
        highlight(row);
      }
    }
  });

  // ---- the panel under a line: callers, callees, bytecode ----
  var holder = doc.getElementById("heat-data");
  var lines = holder ? JSON.parse(holder.textContent).lines || {} : {};
  var originals = new WeakMap();

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function count(n) {
    return Number(n).toLocaleString("en-US");
  }

  function share(part, whole) {
    return whole ? Math.round((100 * part) / whole) + "%" : "";
  }

  function panelRow(className, first, self, total, parts) {
    var row = el("div", "prow" + (className ? " " + className : ""));
    row.appendChild(el("span", "no", first));
    row.appendChild(el("span", "self", self));
    row.appendChild(el("span", "tot", total));
    var text = el("span", "txt");
    parts.forEach(function (part) { text.appendChild(part); });
    row.appendChild(text);
    return row;
  }

  function linkSection(panel, glyph, title, entries, lineTotal) {
    if (!entries || !entries.length) return;
    panel.appendChild(panelRow("phead", glyph, "self", "total", [el("span", "ptitle", title)]));
    entries.forEach(function (entry) {
      var link = el("a", "nav", entry[1]);
      link.href = entry[0];
      link.title = entry[2];
      panel.appendChild(panelRow("link", share(entry[4], lineTotal), count(entry[3]),
        count(entry[4]), [link]));
    });
  }

  function markSpan(row, start, end) {
    var code = row.querySelector(".src");
    if (!code) return;
    unmarkSpan(row);
    var text = code.textContent;
    originals.set(code, text);
    code.textContent = "";
    code.appendChild(doc.createTextNode(text.slice(0, start)));
    code.appendChild(el("mark", "", text.slice(start, end)));
    code.appendChild(doc.createTextNode(text.slice(end)));
  }

  function unmarkSpan(row) {
    var code = row.querySelector(".src");
    if (code && originals.has(code)) {
      code.textContent = originals.get(code);
      originals.delete(code);
    }
  }

  function bytecodeSection(panel, row, info) {
    var ops = info.o;
    if (!ops || !ops.length) return;
    var sampled = 0, specialized = 0, specializedCount = 0, hottest = 0;
    ops.forEach(function (op) {
      sampled += op[3];
      hottest = Math.max(hottest, op[3]);
      if (op[0] !== op[1]) {
        specialized += op[3];
        specializedCount += 1;
      }
    });
    var summary = ops.length + (ops.length === 1 ? " instruction" : " instructions") +
      " sampled, " + specializedCount + " specialized · " + share(specialized, sampled) +
      " of their samples in specialized instructions";
    panel.appendChild(panelRow("phead bytecode", "op", "self", "total",
      [el("span", "ptitle", "Bytecode"), el("span", "pnote spec-share", summary)]));
    ops.forEach(function (op) {
      var box = el("span", "barbox");
      var bar = el("span", "bar");
      bar.style.width = Math.max(2, Math.round((100 * op[3]) / hottest)) + "%";
      box.appendChild(bar);
      var parts = [box, el("span", "op", op[0]), el("span", "opbase", op[1])];
      if (op[0] !== op[1]) parts.push(el("span", "tag", "specialized"));
      var opRow = panelRow("opr", share(op[3], info.t), count(op[2]), count(op[3]), parts);
      opRow.title = op[0] + (op[0] !== op[1] ? " (specializes " + op[1] + ")" : "") +
        ": " + count(op[2]) + " self, " + count(op[3]) + " total samples";
      if (op[4] >= 0 && op[5] > op[4]) {
        opRow.addEventListener("mouseenter", function () { markSpan(row, op[4], op[5]); });
        opRow.addEventListener("mouseleave", function () { unmarkSpan(row); });
      }
      panel.appendChild(opRow);
    });
  }

  function buildPanel(row) {
    var number = row.id.slice(1);
    var info = lines[number] || { c: [], e: [], o: [], t: 0 };
    var panel = el("div", "panel");
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", "Line " + number + ": callers, callees and bytecode");
    linkSection(panel, "\u2191", "Called from", info.c, info.t);
    linkSection(panel, "\u2193", "Calls", info.e, info.t);
    bytecodeSection(panel, row, info);
    return panel;
  }

  function isOpen(row) {
    var next = row.nextElementSibling;
    return !!(next && next.classList.contains("panel"));
  }

  function toggle(row, open) {
    var opened = isOpen(row);
    if (open === undefined) open = !opened;
    if (open && !opened) {
      row.after(buildPanel(row));
    } else if (!open && opened) {
      unmarkSpan(row);
      row.nextElementSibling.remove();
    }
    var button = row.querySelector("button.fold");
    if (button) button.setAttribute("aria-expanded", String(open));
  }

  doc.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.fold") : null;
    if (button) toggle(button.closest(".ln"));
  });

  doc.addEventListener("keydown", function (event) {
    if (event.key !== "b" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
        target.isContentEditable)) return;
    var rows = Array.prototype.slice.call(doc.querySelectorAll(".ln[data-ops]"));
    var open = rows.some(function (row) { return !isOpen(row); });
    rows.forEach(function (row) { toggle(row, open); });
  });

  doc.querySelectorAll('input[name="heat"]').forEach(function (input) {
    input.addEventListener("change", function () {
      doc.body.classList.toggle("by-total", input.checked && input.value === "total");
    });
    if (input.checked && input.value === "total") doc.body.classList.add("by-total");
  });

  // ---- the index: filter and sort ----
  var filter = doc.getElementById("filter");
  var tbody = doc.querySelector("table.files tbody");
  if (filter && tbody) {
    var rows = Array.prototype.slice.call(tbody.rows);
    var shown = doc.getElementById("shown");
    var applyFilter = function () {
      var query = filter.value.trim().toLowerCase();
      var visible = 0;
      rows.forEach(function (row) {
        var match = row.dataset.path.toLowerCase().indexOf(query) >= 0;
        row.hidden = !match;
        if (match) visible += 1;
      });
      if (shown) shown.textContent = count(visible) + " of " + count(rows.length) + " files";
    };
    filter.addEventListener("input", applyFilter);
    applyFilter();

    doc.querySelectorAll("table.files th[data-sort]").forEach(function (header) {
      header.addEventListener("click", function () {
        var key = header.dataset.sort;
        var ascending = key === "rank" || key === "path";
        if (header.hasAttribute("aria-sort")) {
          ascending = header.getAttribute("aria-sort") !== "ascending";
        }
        doc.querySelectorAll("table.files th[aria-sort]").forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = a.dataset[key], y = b.dataset[key];
          var order = key === "path" ? x.localeCompare(y) : Number(x) - Number(y);
          if (!ascending) order = -order;
          return order || Number(a.dataset.rank) - Number(b.dataset.rank);
        });
        rows.forEach(function (row) { tbody.appendChild(row); });
      });
    });
  }

  followHash();
})();
