/* pysampler flamegraph: draws the embedded profile on a canvas.
 *
 * Data: the JSON object in #flamegraph-data (see pysampler/renderers/_flamepayload.py).
 * Every name, path and line from the profile is shown as text: textContent in
 * the DOM, fillText on the canvas. Nothing is ever parsed as markup.
 */
(() => {
  "use strict";

  const timings = { scriptStart: performance.now() };
  window.__flamegraphTimings = timings;

  // ---- constants -----------------------------------------------------------
  const ROW = 18;
  const MIN_WIDTH = 0.5; // px: narrower frames (and their callees) are not drawn
  const LABEL_MIN = 22; // px: narrower frames get no label
  const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';
  const PALETTE = [
    "#f6a56f", "#7cc4e8", "#9ad07f", "#f5d06b", "#c6a8ec", "#f49c9c",
    "#6fd3c0", "#e8b4d8", "#bccb7e", "#a8b8f0", "#f2c09a", "#8fd6a2",
  ];
  const MARKER_COLOUR = "#c9ccd2";
  const ROOT_COLOUR = "#cfd4de";
  const DIM_COLOUR = "#e7e9ed";
  const TEXT_COLOUR = "#1d2129";
  const DIM_TEXT = "#7b8390";
  const CONTEXT_TEXT = "#4a5160"; // ancestors of the zoomed frame
  const KIND_MARKER = 3;

  // ---- data ----------------------------------------------------------------
  const data = JSON.parse(document.getElementById("flamegraph-data").textContent);
  timings.parsed = performance.now();
  const strings = data.strings;
  const meta = data.meta;
  const threads = data.threads;

  const groupCount = data.groups.length / 2;
  const groupLabel = new Array(groupCount);
  const groupKind = new Int8Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    groupLabel[g] = strings[data.groups[2 * g]];
    groupKind[g] = data.groups[2 * g + 1];
  }
  const fileCount = data.files.length / 3;
  const filePath = new Array(fileCount);
  const fileModule = new Array(fileCount);
  const fileGroup = new Int32Array(fileCount);
  for (let f = 0; f < fileCount; f++) {
    filePath[f] = strings[data.files[3 * f]];
    fileModule[f] = strings[data.files[3 * f + 1]];
    fileGroup[f] = data.files[3 * f + 2];
  }
  const funcCount = data.funcs.length / 3;
  const funcName = new Array(funcCount);
  const funcFile = new Int32Array(funcCount);
  const funcFirst = new Int32Array(funcCount);
  for (let f = 0; f < funcCount; f++) {
    funcName[f] = strings[data.funcs[3 * f]];
    funcFile[f] = data.funcs[3 * f + 1];
    funcFirst[f] = data.funcs[3 * f + 2];
  }

  // The function tree (flame view), in preorder: parent[i] < i.
  const N = data.nodes.up.length;
  const parentOf = new Int32Array(N);
  const funcOf = Int32Array.from(data.nodes.func);
  const lineCode = Int32Array.from(data.nodes.line);
  parentOf[0] = -1;
  for (let i = 1; i < N; i++) parentOf[i] = i - data.nodes.up[i];
  const moreLines = new Map();
  for (let at = 0; at < data.lines.length; ) {
    const count = data.lines[at + 1];
    moreLines.set(data.lines[at], data.lines.slice(at + 2, at + 2 + 2 * count));
    at += 2 + 2 * count;
  }
  const selfCount = data.self.node.length;
  const selfNode = new Int32Array(selfCount);
  const selfThread = Int32Array.from(data.self.thread);
  const selfWeight = Float64Array.from(data.self.weight);
  for (let e = 0, node = 0; e < selfCount; e++) {
    node += data.self.node[e];
    selfNode[e] = node;
  }
  const threadTotals = new Float64Array(threads.length);
  for (let e = 0; e < selfCount; e++) threadTotals[selfThread[e]] += selfWeight[e];

  function lineOf(node) {
    const code = lineCode[node];
    if (code === 0 || funcOf[node] < 0) return 0;
    const first = funcFirst[funcOf[node]];
    return code > 0 ? first + code - 1 : first + code;
  }

  // ---- trees -----------------------------------------------------------------
  // A tree: parent, func, total, self (per the thread filter) and children in
  // drawing order (childStart/childList, compressed rows).
  function childRows(n, parent, order) {
    const start = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) start[parent[i] + 1]++;
    for (let i = 0; i < n; i++) start[i + 1] += start[i];
    const fill = start.slice(0, n);
    const list = new Int32Array(Math.max(n - 1, 0));
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      if (i !== 0) list[fill[parent[i]]++] = i;
    }
    return { start, list };
  }

  function flameTree() {
    const order = new Int32Array(N);
    for (let i = 0; i < N; i++) order[i] = i;
    const rows = childRows(N, parentOf, order);
    return {
      kind: "flame", n: N, parent: parentOf, func: funcOf,
      total: new Float64Array(N), self: new Float64Array(N),
      childStart: rows.start, childList: rows.list,
    };
  }

  function fillFlameValues(tree, thread) {
    const { total, self } = tree;
    self.fill(0);
    for (let e = 0; e < selfCount; e++) {
      if (thread < 0 || selfThread[e] === thread) self[selfNode[e]] += selfWeight[e];
    }
    total.set(self);
    for (let i = N - 1; i > 0; i--) total[parentOf[i]] += total[i];
  }

  // Inverted: roots are the functions with self time, children their callers.
  function invertedTree(thread) {
    const parent = [-1];
    const func = [-1];
    const total = [0];
    const ends = [0];
    const index = new Map();
    for (let e = 0; e < selfCount; e++) {
      if (thread >= 0 && selfThread[e] !== thread) continue;
      const weight = selfWeight[e];
      total[0] += weight;
      let at = 0;
      for (let node = selfNode[e]; node > 0; node = parentOf[node]) {
        const key = at * funcCount + funcOf[node];
        let child = index.get(key);
        if (child === undefined) {
          child = parent.length;
          index.set(key, child);
          parent.push(at);
          func.push(funcOf[node]);
          total.push(0);
          ends.push(0);
        }
        total[child] += weight;
        at = child;
      }
      ends[at] += weight;
    }
    const n = parent.length;
    const tree = {
      kind: "inverted", n, parent: Int32Array.from(parent), func: Int32Array.from(func),
      total: Float64Array.from(total), self: Float64Array.from(ends),
    };
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const rows = childRows(n, tree.parent, order);
    for (let p = 0; p < n; p++) {
      const a = rows.start[p], b = rows.start[p + 1];
      if (b - a > 1) rows.list.subarray(a, b).sort((x, y) => tree.total[y] - tree.total[x] || x - y);
    }
    tree.childStart = rows.start;
    tree.childList = rows.list;
    return tree;
  }

  // ---- colours ---------------------------------------------------------------
  function hash(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }
  function groupColour(g) {
    if (groupKind[g] === KIND_MARKER) return MARKER_COLOUR;
    return PALETTE[g < PALETTE.length ? g : hash(groupLabel[g]) % PALETTE.length];
  }
  function tint(hex, amount) {
    const v = parseInt(hex.slice(1), 16);
    const mix = (c) => Math.round(c + (255 - c) * amount);
    return `rgb(${mix(v >> 16)},${mix((v >> 8) & 255)},${mix(v & 255)})`;
  }
  const funcColour = new Array(funcCount);
  function colourOf(func) {
    if (func < 0) return ROOT_COLOUR;
    let colour = funcColour[func];
    if (colour === undefined) {
      const g = fileGroup[funcFile[func]];
      colour = groupKind[g] === KIND_MARKER
        ? MARKER_COLOUR
        : tint(groupColour(g), (hash(funcName[func]) % 7) * 0.045);
      funcColour[func] = colour;
    }
    return colour;
  }

  // ---- formatting ------------------------------------------------------------
  // Not Intl.NumberFormat: creating one costs tens of milliseconds at startup.
  const integer = { format: (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",") };
  const samplesText = (n) => `${integer.format(n)} ${n === 1 ? "sample" : "samples"}`;
  const percent = (part, whole) => `${whole > 0 ? ((100 * part) / whole).toFixed(2) : "0.00"}%`;
  function seconds(value) {
    if (!(value > 0)) return "0 s";
    if (value < 1e-3) return `${(value * 1e6).toFixed(0)} µs`;
    if (value < 1) return `${(value * 1e3).toFixed(value < 0.01 ? 2 : 1)} ms`;
    if (value < 120) return `${value.toFixed(2)} s`;
    return `${Math.floor(value / 60)} min ${(value % 60).toFixed(0)} s`;
  }
  const timeOf = (weight) => (meta.secondsPerSample > 0 ? seconds(weight * meta.secondsPerSample) : "");
  function localTime(date) {
    const two = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
      `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  }
  const nameOf = (func) => (func < 0 ? "all" : funcName[func]);
  function shellWord(word) {
    return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
  }
  function threadName(t) {
    const thread = threads[t];
    return thread.name === null ? `thread ${thread.ident}` : thread.name;
  }
  function threadIds(t) {
    const thread = threads[t];
    return `${thread.ident}${thread.native ? `, tid ${thread.native}` : ""}`;
  }
  const threadLabel = (t) => `${threadName(t)} (${threadIds(t)})`;

  // ---- elements --------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const chart = $("chart");
  const canvas = $("flame");
  const overlay = $("overlay");
  const ctx = canvas.getContext("2d", { alpha: false });
  const octx = overlay.getContext("2d");
  const tooltip = $("tooltip");
  const searchInput = $("search");
  const searchResult = $("search-result");
  const threadSelect = $("thread");

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- state -----------------------------------------------------------------
  const flame = flameTree();
  const state = {
    view: "flame",
    thread: -1,
    tree: flame,
    zoom: 0,
    query: "",
    matches: null, // Uint8Array per function, or null when not searching
    hover: -1,
    width: 0,
    height: 0,
  };
  let inverted = null; // built on demand, for state.thread

  // Visible frames of the last layout, in preorder (so by x within a row).
  const rects = { count: 0, node: new Int32Array(1024), x: new Float64Array(1024), w: new Float64Array(1024), depth: new Int32Array(1024) };
  let rowStart = new Int32Array(2);
  let rowList = new Int32Array(0);
  let maxDepth = 0;
  let zoomDepth = 0;

  function pushRect(node, x, w, depth) {
    if (rects.count === rects.node.length) {
      const grow = (a) => { const b = new a.constructor(a.length * 2); b.set(a); return b; };
      rects.node = grow(rects.node); rects.x = grow(rects.x); rects.w = grow(rects.w); rects.depth = grow(rects.depth);
    }
    const k = rects.count++;
    rects.node[k] = node; rects.x[k] = x; rects.w[k] = w; rects.depth[k] = depth;
    if (depth > maxDepth) maxDepth = depth;
  }

  // ---- layout and painting -------------------------------------------------------
  function layout(width) {
    const tree = state.tree;
    rects.count = 0;
    maxDepth = 0;
    const path = [];
    for (let a = state.zoom; a >= 0; a = tree.parent[a]) path.push(a);
    path.reverse();
    for (let d = 0; d < path.length; d++) pushRect(path[d], 0, width, d);
    zoomDepth = path.length - 1;
    const zoomTotal = tree.total[state.zoom];
    if (zoomTotal > 0) {
      const scale = width / zoomTotal;
      const { childStart, childList, total } = tree;
      const stackNode = [state.zoom];
      const stackX = [0];
      const stackDepth = [zoomDepth];
      let first = true;
      while (stackNode.length) {
        const node = stackNode.pop();
        const x = stackX.pop();
        const depth = stackDepth.pop();
        if (!first) pushRect(node, x, total[node] * scale, depth);
        first = false;
        const a = childStart[node], b = childStart[node + 1];
        let end = x;
        for (let k = a; k < b; k++) end += total[childList[k]] * scale;
        // Push right to left so the leftmost child is laid out first.
        for (let k = b - 1; k >= a; k--) {
          const child = childList[k];
          const w = total[child] * scale;
          end -= w;
          if (w >= MIN_WIDTH) {
            stackNode.push(child);
            stackX.push(end);
            stackDepth.push(depth + 1);
          }
        }
      }
    }
    // Index the frames by row for hit testing.
    rowStart = new Int32Array(maxDepth + 2);
    for (let k = 0; k < rects.count; k++) rowStart[rects.depth[k] + 1]++;
    for (let d = 0; d <= maxDepth; d++) rowStart[d + 1] += rowStart[d];
    const fill = rowStart.slice(0, maxDepth + 1);
    rowList = new Int32Array(rects.count);
    for (let k = 0; k < rects.count; k++) rowList[fill[rects.depth[k]]++] = k;
  }

  const rowTop = (depth) => (state.view === "flame" ? state.height - (depth + 1) * ROW : depth * ROW);

  // Label widths from per-character widths, measured once per character:
  // measuring every label with measureText is what makes big redraws slow.
  const charWidths = new Map();
  function charWidth(code) {
    let width = charWidths.get(code);
    if (width === undefined) {
      width = ctx.measureText(String.fromCharCode(code)).width;
      charWidths.set(code, width);
    }
    return width;
  }
  function fitLabel(text, room) {
    const ellipsis = charWidth(0x2026);
    let width = 0;
    let fits = 0; // characters that fit with an ellipsis after them
    for (let i = 0; i < text.length; i++) {
      width += charWidth(text.charCodeAt(i));
      if (width + ellipsis <= room) fits = i + 1;
      else if (width > room) return fits >= 2 ? `${text.slice(0, fits)}…` : "";
    }
    return text;
  }

  function sizeCanvas(width, height) {
    const ratio = window.devicePixelRatio || 1;
    for (const c of [canvas, overlay]) {
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
      c.width = Math.round(width * ratio);
      c.height = Math.round(height * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    octx.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  function paint() {
    const tree = state.tree;
    const { func } = tree;
    const matches = state.matches;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, state.width, state.height);
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    for (let k = 0; k < rects.count; k++) {
      const node = rects.node[k];
      const x = rects.x[k];
      const w = rects.w[k];
      const depth = rects.depth[k];
      const y = rowTop(depth);
      const f = func[node];
      const dim = matches !== null && (f < 0 || !matches[f]);
      const context = depth < zoomDepth;
      ctx.globalAlpha = context ? 0.55 : 1;
      ctx.fillStyle = dim ? DIM_COLOUR : colourOf(f);
      ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
      if (w >= LABEL_MIN) {
        const label = fitLabel(node === 0 ? `all · ${samplesText(tree.total[0])}` : nameOf(f), w - 8);
        if (label) {
          ctx.globalAlpha = 1;
          ctx.fillStyle = dim ? DIM_TEXT : context ? CONTEXT_TEXT : TEXT_COLOUR;
          ctx.fillText(label, x + 4, y + ROW / 2);
        }
      }
    }
    ctx.globalAlpha = 1;
    paintOverlay();
  }

  function paintOverlay() {
    octx.clearRect(0, 0, state.width, state.height);
    const k = rectIndexOf(state.hover);
    if (k < 0) return;
    const y = rowTop(rects.depth[k]);
    octx.strokeStyle = "#1d2129";
    octx.lineWidth = 1.5;
    octx.strokeRect(rects.x[k] + 0.75, y + 0.75, Math.max(rects.w[k] - 2.5, 1), ROW - 2.5);
  }

  function rectIndexOf(node) {
    if (node < 0) return -1;
    for (let k = 0; k < rects.count; k++) if (rects.node[k] === node) return k;
    return -1;
  }

  function draw() {
    const started = performance.now();
    const empty = state.tree.total[0] === 0;
    $("empty").hidden = !empty;
    canvas.hidden = empty;
    const width = Math.max(chart.clientWidth, 200);
    layout(width);
    const height = Math.max(chart.clientHeight, (maxDepth + 1) * ROW + 6);
    if (width !== state.width || height !== state.height) {
      state.width = width;
      state.height = height;
      sizeCanvas(width, height);
    }
    paint();
    timings.lastDraw = performance.now() - started;
    timings.lastDrawFrames = rects.count;
  }

  function scrollToRoot() {
    chart.scrollTop = state.view === "flame" ? chart.scrollHeight : 0;
  }

  // ---- hit testing and the tooltip ---------------------------------------------
  function hit(clientX, clientY) {
    const box = canvas.getBoundingClientRect();
    const x = clientX - box.left;
    const y = clientY - box.top;
    const depth = state.view === "flame" ? Math.floor((state.height - y) / ROW) : Math.floor(y / ROW);
    if (depth < 0 || depth > maxDepth) return -1;
    let lo = rowStart[depth], hi = rowStart[depth + 1] - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (rects.x[rowList[mid]] <= x) { found = rowList[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && x < rects.x[found] + rects.w[found] ? rects.node[found] : -1;
  }

  function isWithin(node, ancestor) {
    const parent = state.tree.parent;
    for (let a = node; a >= 0; a = parent[a]) if (a === ancestor) return true;
    return false;
  }

  function addRow(grid, label, field, strong, rest, className) {
    const dt = element("dt", "", label);
    const dd = element("dd", className || "");
    dd.dataset.field = field;
    dd.append(element("b", "", strong));
    if (rest) dd.append(document.createTextNode(rest));
    grid.append(dt, dd);
  }

  function fillTooltip(node) {
    const tree = state.tree;
    const f = tree.func[node];
    const total = tree.total[node];
    const whole = tree.total[0];
    tooltip.querySelector('[data-field="name"]').textContent = nameOf(f);
    let location = "";
    if (f >= 0) {
      const line = tree === flame ? lineOf(node) : 0;
      const path = filePath[funcFile[f]];
      location = path === "~" ? "outside Python code" : `${path}:${line || funcFirst[f]}`;
      const module = fileModule[funcFile[f]];
      if (module && path !== "~") location += `  (${module})`;
    } else {
      location = state.thread < 0 ? "every sample with a Python frame" : `thread ${threadLabel(state.thread)}`;
    }
    tooltip.querySelector('[data-field="location"]').textContent = location;
    const grid = tooltip.querySelector(".tt-grid");
    grid.textContent = "";
    const time = (weight) => (weight > 0 && timeOf(weight) ? ` · ${timeOf(weight)}` : "");
    addRow(grid, "Total", "total", integer.format(total), ` ${total === 1 ? "sample" : "samples"}${time(total)}`);
    if (tree === flame) {
      const own = tree.self[node];
      addRow(grid, "Self", "self", integer.format(own), ` ${own === 1 ? "sample" : "samples"}${time(own)}`);
    }
    addRow(grid, "Percentage", "percentage", percent(total, whole), state.thread < 0 ? " of all samples" : " of the thread's samples");
    if (state.zoom !== 0 && isWithin(node, state.zoom)) {
      const zoomed = nameOf(tree.func[state.zoom]);
      addRow(grid, "Relative Percentage", "relative", percent(total, tree.total[state.zoom]), ` of ${zoomed}`, "rel");
    }
    if (tree === flame && moreLines.has(node)) {
      const pairs = moreLines.get(node);
      const parts = [];
      for (let k = 0; k < pairs.length; k += 2) parts.push(`${pairs[k] || "?"} (${percent(pairs[k + 1], total)})`);
      addRow(grid, "Lines", "lines", parts.join(", "), "");
    }
    let note = "";
    if (tree !== flame && f >= 0) {
      const leaf = tree.parent[node] === 0 || node === 0 ? null : rootOf(node);
      note = leaf === null
        ? "Time spent in this function itself (its self time), over all its callers."
        : `Time spent in ${nameOf(tree.func[leaf])} when called through this path.`;
    } else if (node !== state.zoom) {
      note = "Click to zoom in.";
    }
    tooltip.querySelector('[data-field="note"]').textContent = note;
  }

  function rootOf(node) {
    const parent = state.tree.parent;
    while (parent[node] > 0) node = parent[node];
    return node;
  }

  function placeTooltip(clientX, clientY) {
    const pad = 14;
    const box = tooltip.getBoundingClientRect();
    let left = clientX + pad;
    let top = clientY + pad;
    if (left + box.width > window.innerWidth - 4) left = Math.max(4, clientX - box.width - pad);
    if (top + box.height > window.innerHeight - 4) top = Math.max(4, clientY - box.height - pad);
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${top}px`;
  }

  function showTooltip(node, clientX, clientY) {
    fillTooltip(node);
    tooltip.hidden = false;
    placeTooltip(clientX, clientY);
  }

  function setHover(node) {
    if (node === state.hover) return;
    state.hover = node;
    paintOverlay();
  }

  canvas.addEventListener("mousemove", (event) => {
    const node = hit(event.clientX, event.clientY);
    setHover(node);
    if (node < 0) tooltip.hidden = true;
    else showTooltip(node, event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => {
    setHover(-1);
    tooltip.hidden = true;
  });
  canvas.addEventListener("click", (event) => {
    const node = hit(event.clientX, event.clientY);
    if (node >= 0 && node !== state.zoom) {
      zoomTo(node);
      const after = hit(event.clientX, event.clientY);
      setHover(after);
      if (after >= 0) showTooltip(after, event.clientX, event.clientY);
      else tooltip.hidden = true;
    }
  });

  // ---- zoom and breadcrumbs --------------------------------------------------------
  function zoomTo(node) {
    const started = performance.now();
    state.zoom = node;
    draw();
    renderCrumbs();
    scrollToRoot();
    updateSearchResult();
    timings.lastZoom = performance.now() - started;
  }

  function renderCrumbs() {
    const crumbs = $("crumbs");
    crumbs.textContent = "";
    const tree = state.tree;
    const path = [];
    for (let a = state.zoom; a >= 0; a = tree.parent[a]) path.push(a);
    path.reverse();
    path.forEach((node, index) => {
      if (index) crumbs.append(element("span", "sep", "›"));
      const button = element("button", "", node === 0 ? (tree === flame ? "all" : "all (inverted)") : nameOf(tree.func[node]));
      button.type = "button";
      button.title = button.textContent;
      if (node === state.zoom) button.setAttribute("aria-current", "true");
      else button.addEventListener("click", () => zoomTo(node));
      crumbs.append(button);
    });
    $("reset").disabled = state.zoom === 0;
  }

  // ---- search ------------------------------------------------------------------------
  function matcher(query) {
    const regex = /^\/(.+)\/([i]?)$/.exec(query);
    if (regex) return new RegExp(regex[1], regex[2] || "i");
    const needle = query.toLowerCase();
    return { test: (text) => text.toLowerCase().includes(needle) };
  }

  function setSearch(query) {
    state.query = query.trim();
    searchInput.classList.remove("invalid");
    if (!state.query) {
      state.matches = null;
    } else {
      let test;
      try {
        test = matcher(state.query);
      } catch (error) {
        searchInput.classList.add("invalid");
        state.matches = null;
        searchResult.textContent = "invalid regular expression";
        paint();
        return;
      }
      const matches = new Uint8Array(funcCount);
      for (let f = 0; f < funcCount; f++) {
        const file = funcFile[f];
        matches[f] = test.test(funcName[f]) || test.test(filePath[file]) || test.test(fileModule[file]) ? 1 : 0;
      }
      state.matches = matches;
    }
    paint();
    updateSearchResult();
  }

  function matchedWeight(tree, matches) {
    // Samples with a matching frame: the top-most match on each path counts.
    let weight = 0;
    let frames = 0;
    const { childStart, childList, total, func } = tree;
    const pending = [0];
    while (pending.length) {
      const node = pending.pop();
      if (node !== 0 && matches[func[node]]) {
        weight += total[node];
        continue;
      }
      for (let k = childStart[node]; k < childStart[node + 1]; k++) pending.push(childList[k]);
    }
    for (let i = 1; i < tree.n; i++) if (total[i] > 0 && matches[func[i]]) frames++;
    return { weight, frames };
  }

  function updateSearchResult() {
    if (state.matches === null) {
      if (!searchInput.classList.contains("invalid")) searchResult.textContent = "";
      return;
    }
    const tree = state.tree;
    const { weight, frames } = matchedWeight(tree, state.matches);
    searchResult.textContent = "";
    searchResult.dataset.weight = String(weight);
    searchResult.dataset.frames = String(frames);
    if (frames === 0) {
      searchResult.textContent = "no match";
      return;
    }
    searchResult.append(
      element("b", "", percent(weight, tree.total[0])),
      document.createTextNode(` of samples (${samplesText(weight)}) · ${integer.format(frames)} ${frames === 1 ? "frame" : "frames"}`),
    );
  }

  let searchTimer = 0;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setSearch(searchInput.value), 60);
  });
  searchInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(searchTimer);
      setSearch(searchInput.value);
    }
  });

  // ---- views and threads -------------------------------------------------------------
  function setView(view) {
    if (view === state.view) return;
    state.view = view;
    if (view === "inverted" && inverted === null) inverted = invertedTree(state.thread);
    state.tree = view === "flame" ? flame : inverted;
    $("view-flame").setAttribute("aria-pressed", String(view === "flame"));
    $("view-inverted").setAttribute("aria-pressed", String(view === "inverted"));
    state.hover = -1;
    tooltip.hidden = true;
    zoomTo(0);
  }

  function setThread(thread) {
    state.thread = thread;
    threadSelect.value = String(thread);
    fillFlameValues(flame, thread);
    inverted = state.view === "inverted" ? invertedTree(thread) : null;
    if (state.view === "inverted") {
      state.tree = inverted;
      state.zoom = 0;
    }
    while (state.zoom > 0 && state.tree.total[state.zoom] === 0) state.zoom = state.tree.parent[state.zoom];
    tooltip.hidden = true;
    zoomTo(state.zoom);
  }

  $("view-flame").addEventListener("click", () => setView("flame"));
  $("view-inverted").addEventListener("click", () => setView("inverted"));
  $("reset").addEventListener("click", () => zoomTo(0));
  threadSelect.addEventListener("change", () => setThread(Number(threadSelect.value)));

  // ---- header, threads and legend -------------------------------------------------------
  function renderHeader() {
    const command = meta.command.map(shellWord).join(" ");
    $("command").textContent = command;
    $("command").title = command;
    document.title = `Flamegraph · ${meta.command.length ? meta.command[meta.command.length - 1] : meta.pid} · pysampler`;
    const summary = $("summary");
    const item = (label, field, value, sub) => {
      const box = element("div");
      const dd = element("dd", "", value);
      dd.dataset.field = field;
      if (sub) dd.append(element("span", "sub", ` ${sub}`));
      box.append(element("dt", "", label), dd);
      summary.append(box);
    };
    const duration = meta.durationNs / 1e9;
    item("Duration", "duration", duration > 0 ? seconds(duration) : "unknown");
    const framed = meta.withFrames;
    item("Samples", "samples", integer.format(meta.samples), framed !== meta.samples ? `(${integer.format(framed)} with Python frames)` : "");
    const requested = meta.intervalNs > 0 ? `${integer.format(1e9 / meta.intervalNs)} Hz` : "as fast as possible";
    const achieved = meta.taken > 0 && duration > 0 ? `(${integer.format(meta.taken / duration)}/s achieved)` : "";
    item("Rate", "rate", requested, achieved);
    item("Failed", "failed", integer.format(meta.failed), meta.taken > 0 ? `(${percent(meta.failed, meta.taken)})` : "");
    item("Mode", "mode", meta.mode);
    item("Python", "python", meta.python);
    item("PID", "pid", String(meta.pid));
    item("Threads", "threads", integer.format(threads.length));
    if (meta.startTime > 0) item("Started", "started", localTime(new Date(meta.startTime * 1000)));
    const warning = $("warning");
    if (meta.truncated) {
      warning.textContent = "The profile file was cut short (the profiler was stopped mid-write): this shows what it held.";
      warning.hidden = false;
    }
  }

  function renderThreads() {
    const all = element("option", "", `All threads · ${samplesText(meta.withFrames)}`);
    all.value = "-1";
    threadSelect.append(all);
    const order = threads.map((_, t) => t).sort((a, b) => threadTotals[b] - threadTotals[a] || a - b);
    for (const t of order) {
      const option = element("option", "", `${threadName(t)} · ${samplesText(threadTotals[t])} · ${threadIds(t)}`);
      option.value = String(t);
      threadSelect.append(option);
    }
    threadSelect.disabled = threads.length < 2;
  }

  function renderLegend() {
    const legend = $("legend");
    const selfByGroup = new Float64Array(groupCount);
    for (let e = 0; e < selfCount; e++) {
      const f = funcOf[selfNode[e]];
      if (f >= 0) selfByGroup[fileGroup[funcFile[f]]] += selfWeight[e];
    }
    const shown = Math.min(groupCount, PALETTE.length);
    legend.append(element("span", "", "Colours:"));
    for (let g = 0; g < shown; g++) {
      const item = element("span", "item");
      const swatch = element("span", "swatch");
      swatch.style.background = groupColour(g);
      const name = element("span", "name", groupLabel[g]);
      item.title = `${groupLabel[g]}: ${percent(selfByGroup[g], meta.withFrames)} of samples ran here`;
      item.append(swatch, name);
      legend.append(item);
    }
    if (groupCount > shown) legend.append(element("span", "", `+ ${groupCount - shown} more (colours repeat)`));
  }

  // ---- keyboard ----------------------------------------------------------------------
  const help = $("help");
  function toggleHelp(show) {
    help.hidden = !show;
    if (show) $("help-close").focus();
  }
  $("help-button").addEventListener("click", () => toggleHelp(true));
  $("help-close").addEventListener("click", () => toggleHelp(false));
  help.addEventListener("click", (event) => { if (event.target === help) toggleHelp(false); });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
    if (event.key === "Escape") {
      if (!help.hidden) toggleHelp(false);
      else if (searchInput.value) { searchInput.value = ""; setSearch(""); searchInput.blur(); }
      else if (typing) event.target.blur();
      else if (state.zoom !== 0) zoomTo(0);
      return;
    }
    if (typing) return;
    let handled = true;
    switch (event.key) {
      case "/": searchInput.focus(); searchInput.select(); break;
      case "u": case "Backspace": if (state.zoom !== 0) zoomTo(state.tree.parent[state.zoom]); break;
      case "r": zoomTo(0); break;
      case "i": setView("inverted"); break;
      case "f": setView("flame"); break;
      case "t": if (!threadSelect.disabled) threadSelect.focus(); break;
      case "?": toggleHelp(help.hidden); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Redraw when the chart's box changes (window resized, toolbar rewrapped).
  let seenWidth = 0;
  let seenHeight = 0;
  new ResizeObserver(() => {
    if (chart.clientWidth === seenWidth && chart.clientHeight === seenHeight) return;
    seenWidth = chart.clientWidth;
    seenHeight = chart.clientHeight;
    draw();
    scrollToRoot();
  }).observe(chart);

  // ---- hooks for tests and benchmarks ------------------------------------------------
  window.__flamegraph = {
    zoom: (node) => zoomTo(node),
    reset: () => zoomTo(0),
    search: (query) => { searchInput.value = query; setSearch(query); },
    setThread,
    setView,
    state: () => ({ view: state.view, thread: state.thread, zoom: state.zoom, query: state.query, frames: rects.count }),
    nodes: (name) => {
      const found = [];
      const tree = state.tree;
      for (let i = 1; i < tree.n; i++) if (funcName[tree.func[i]] === name && tree.total[i] > 0) found.push(i);
      return found;
    },
    path: (node) => {
      const names = [];
      for (let a = node; a > 0; a = state.tree.parent[a]) names.push(nameOf(state.tree.func[a]));
      return names.reverse();
    },
    frame: (node) => {
      const f = state.tree.func[node];
      return { name: nameOf(f), file: f < 0 ? "" : filePath[funcFile[f]], line: state.tree === flame ? lineOf(node) : 0 };
    },
    children: (node) => Array.from(state.tree.childList.subarray(state.tree.childStart[node], state.tree.childStart[node + 1])),
    total: (node) => state.tree.total[node],
    self: (node) => state.tree.self[node],
    // The frame's rectangle in viewport coordinates, scrolled into view; null when not drawn.
    rect: (node) => {
      const k = rectIndexOf(node);
      if (k < 0) return null;
      const top = rowTop(rects.depth[k]);
      if (top < chart.scrollTop || top + ROW > chart.scrollTop + chart.clientHeight) {
        chart.scrollTop = top - chart.clientHeight / 2;
      }
      const box = canvas.getBoundingClientRect();
      return { x: box.left + rects.x[k], y: box.top + top, width: rects.w[k], height: ROW - 1 };
    },
    canvasWidth: () => state.width,
    // Every frame drawn: node, function name, file, module and its box in canvas pixels.
    drawn: () => {
      const out = [];
      for (let k = 0; k < rects.count; k++) {
        const node = rects.node[k];
        const f = state.tree.func[node];
        out.push({
          node, name: nameOf(f), file: f < 0 ? "" : filePath[funcFile[f]], module: f < 0 ? "" : fileModule[funcFile[f]],
          x: rects.x[k], y: rowTop(rects.depth[k]), width: rects.w[k], context: rects.depth[k] < zoomDepth,
        });
      }
      return out;
    },
  };

  // ---- start -------------------------------------------------------------------------
  fillFlameValues(flame, -1);
  timings.built = performance.now();
  renderHeader();
  renderThreads();
  renderLegend();
  renderCrumbs();
  draw();
  scrollToRoot();
  seenWidth = chart.clientWidth;
  seenHeight = chart.clientHeight;
  timings.firstDraw = performance.now();
  requestAnimationFrame(() => {
    timings.firstFrame = performance.now();
    timings.ready = true;
  });
})();
