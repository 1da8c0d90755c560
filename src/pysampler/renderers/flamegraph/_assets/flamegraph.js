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

  // A tree's columns (the flame view's, or the elided view's of a diff), in
  // preorder: parent[i] < i.
  function decodeTree(columns) {
    const n = columns.nodes.up.length;
    const parent = new Int32Array(n);
    parent[0] = -1;
    for (let i = 1; i < n; i++) parent[i] = i - columns.nodes.up[i];
    const moreLines = new Map();
    for (let at = 0; at < columns.lines.length; ) {
      const count = columns.lines[at + 1];
      moreLines.set(columns.lines[at], columns.lines.slice(at + 2, at + 2 + 2 * count));
      at += 2 + 2 * count;
    }
    const selfCount = columns.self.node.length;
    const selfNode = new Int32Array(selfCount);
    for (let e = 0, node = 0; e < selfCount; e++) {
      node += columns.self.node[e];
      selfNode[e] = node;
    }
    return {
      n, parent, func: Int32Array.from(columns.nodes.func), lineCode: Int32Array.from(columns.nodes.line),
      moreLines, selfCount, selfNode, selfThread: Int32Array.from(columns.self.thread),
      selfWeight: Float64Array.from(columns.self.weight),
    };
  }
  const main = decodeTree(data);
  const { n: N, parent: parentOf, func: funcOf, selfCount, selfNode, selfThread, selfWeight } = main;
  const threadTotals = new Float64Array(threads.length);
  for (let e = 0; e < selfCount; e++) threadTotals[selfThread[e]] += selfWeight[e];

  // A differential flamegraph: the baseline's weights per node of the flame
  // view, and the tree of the call paths that are gone (decoded when shown).
  const diff = data.diff || null;
  const baseSelf = diff ? Float64Array.from(diff.self) : null;
  const baseTotal = diff ? Float64Array.from(diff.total) : null;

  function lineOf(columns, node) {
    const code = columns.lineCode[node];
    if (code === 0 || columns.func[node] < 0) return 0;
    const first = funcFirst[columns.func[node]];
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

  // A flame view's tree (the profile's, or the elided paths of a diff): its
  // values are weights, each standing for `unit` seconds.
  function flameTree(kind, columns, unit) {
    const n = columns.n;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const rows = childRows(n, columns.parent, order);
    return {
      kind, n, parent: columns.parent, func: columns.func, columns, unit,
      total: new Float64Array(n), self: new Float64Array(n),
      childStart: rows.start, childList: rows.list,
    };
  }

  function fillFlameValues(tree, thread) {
    const { total, self, parent, columns } = tree;
    self.fill(0);
    for (let e = 0; e < columns.selfCount; e++) {
      if (thread < 0 || columns.selfThread[e] === thread) self[columns.selfNode[e]] += columns.selfWeight[e];
    }
    total.set(self);
    for (let i = tree.n - 1; i > 0; i--) total[parent[i]] += total[i];
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
      unit: meta.secondsPerSample, total: Float64Array.from(total), self: Float64Array.from(ends),
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

  // A diff colours a frame by the change of its total time against the
  // baseline: neutral under diff.steps[0] percent, then shades at each step.
  const RISE = ["#f9d2c9", "#f3a594", "#e9745f", "#d5493a"]; // slower
  const FALL = ["#d3e2f7", "#a7c4ee", "#7aa5e4"]; // faster
  const NEUTRAL_COLOUR = "#dfe2e7";
  const NEW_COLOUR = "#c983d8";
  const GONE_COLOUR = FALL[FALL.length - 1];
  const STILL_COLOUR = "#eceef1"; // elided view: callers that still run
  const steps = diff ? diff.steps : [];

  function changeOf(node) {
    const current = flame.total[node] * flame.unit;
    const baseline = baseTotal[node] * diff.unit;
    return { current, baseline, change: current - baseline, percent: percentOf(node) };
  }
  function percentOf(node) {
    const baseline = baseTotal[node] * diff.unit;
    return baseline > 0 ? (100 * (flame.total[node] * flame.unit - baseline)) / baseline : null;
  }
  function diffColour(pct) {
    if (pct === null) return NEW_COLOUR;
    let step = -1;
    while (step + 1 < steps.length && Math.abs(pct) >= steps[step + 1]) step++;
    if (step < 0) return NEUTRAL_COLOUR;
    return pct > 0 ? RISE[Math.min(step, RISE.length - 1)] : FALL[Math.min(step, FALL.length - 1)];
  }
  function fillOf(tree, node) {
    if (tree.kind === "elided") return tree.gone[node] ? GONE_COLOUR : STILL_COLOUR;
    if (diff && tree.kind === "flame") return diffColour(percentOf(node));
    return colourOf(tree.func[node]);
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
  const timeOf = (weight, unit) => (unit > 0 ? seconds(weight * unit) : "");
  const signed = (value, text) => `${value < 0 ? "-" : "+"}${text}`;
  const signedSeconds = (value) => signed(value, seconds(Math.abs(value)));
  const signedPercent = (value) => signed(value, `${Math.abs(value).toFixed(1)}%`);
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
  const flame = flameTree("flame", main, meta.secondsPerSample);
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
  let elided = null; // a diff's elided view, built on demand

  function elidedTree() {
    const tree = flameTree("elided", decodeTree(diff.elided), diff.unit);
    fillFlameValues(tree, -1);
    tree.gone = new Uint8Array(tree.n);
    for (const root of diff.elided.roots) tree.gone[root] = 1;
    for (let i = 1; i < tree.n; i++) if (tree.gone[tree.parent[i]]) tree.gone[i] = 1;
    return tree;
  }

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

  const rootBelow = () => state.tree.kind !== "inverted";
  const rowTop = (depth) => (rootBelow() ? state.height - (depth + 1) * ROW : depth * ROW);

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

  function rootLabel(tree) {
    if (tree.kind === "elided") return `gone since the baseline · ${seconds(tree.total[0] * tree.unit)}`;
    return `all · ${samplesText(tree.total[0])}`;
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
      ctx.fillStyle = dim ? DIM_COLOUR : fillOf(tree, node);
      ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
      if (w >= LABEL_MIN) {
        const label = fitLabel(node === 0 ? rootLabel(tree) : nameOf(f), w - 8);
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
    chart.scrollTop = rootBelow() ? chart.scrollHeight : 0;
  }

  // ---- hit testing and the tooltip ---------------------------------------------
  function hit(clientX, clientY) {
    const box = canvas.getBoundingClientRect();
    const x = clientX - box.left;
    const y = clientY - box.top;
    const depth = rootBelow() ? Math.floor((state.height - y) / ROW) : Math.floor(y / ROW);
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

  // Both runs' total and self time of a frame of a diff's flame view.
  function fillDiffTable(table, node) {
    table.textContent = "";
    const head = element("tr");
    for (const title of ["", "Baseline", "Current", "Change"]) head.append(element("th", "", title));
    table.append(head);
    const row = (label, key, baseline, current) => {
      const tr = element("tr");
      tr.append(element("th", "", label));
      const change = current - baseline;
      let changeText = "—";
      if (baseline > 0) changeText = `${signedSeconds(change)} (${signedPercent((100 * change) / baseline)})`;
      else if (current > 0) changeText = signedSeconds(change);
      for (const [field, text] of [["baseline", seconds(baseline)], ["current", seconds(current)], ["change", changeText]]) {
        const td = element("td", "", text);
        td.dataset.field = `${field}-${key}`;
        tr.append(td);
      }
      table.append(tr);
    };
    row("Total", "total", baseTotal[node] * diff.unit, flame.total[node] * flame.unit);
    row("Self", "self", baseSelf[node] * diff.unit, flame.self[node] * flame.unit);
  }

  function fillTooltip(node) {
    const tree = state.tree;
    const f = tree.func[node];
    const total = tree.total[node];
    const whole = tree.total[0];
    const field = (name) => tooltip.querySelector(`[data-field="${name}"]`);
    field("name").textContent = nameOf(f);
    let location = "";
    if (f >= 0) {
      const line = tree.columns ? lineOf(tree.columns, node) : 0;
      const path = filePath[funcFile[f]];
      location = path === "~" ? "outside Python code" : `${path}:${line || funcFirst[f]}`;
      const module = fileModule[funcFile[f]];
      if (module && path !== "~") location += `  (${module})`;
    } else if (tree.kind === "elided") {
      location = "the baseline's call paths that no longer occur";
    } else {
      location = state.thread < 0 ? "every sample with a Python frame" : `thread ${threadLabel(state.thread)}`;
    }
    field("location").textContent = location;
    const badge = field("badge");
    badge.textContent = "";
    const table = tooltip.querySelector(".tt-diff");
    table.hidden = !(diff && tree === flame);
    const grid = tooltip.querySelector(".tt-grid");
    grid.textContent = "";
    const time = (weight) => (weight > 0 && timeOf(weight, tree.unit) ? ` · ${timeOf(weight, tree.unit)}` : "");
    const samples = (weight) => ` ${weight === 1 ? "sample" : "samples"}${time(weight)}`;
    let note = "";
    if (tree.kind === "elided") {
      const own = tree.self[node];
      addRow(grid, "Baseline total", "baseline-total", seconds(total * tree.unit), ` · ${samplesText(total)}`);
      addRow(grid, "Baseline self", "baseline-self", seconds(own * tree.unit), ` · ${samplesText(own)}`);
      addRow(grid, "Percentage", "percentage", percent(total, diff.baseline.withFrames), " of the baseline's samples");
      if (tree.gone[node]) {
        badge.textContent = "gone";
        badge.style.background = GONE_COLOUR;
        note = `Gone: this call path ran in the baseline only. Times are the baseline's, scaled ×${diff.scale.toFixed(3)}.`;
      } else if (node !== 0) {
        note = "Still runs now: as wide as the call paths under it that are gone.";
      }
    } else if (diff && tree === flame) {
      fillDiffTable(table, node);
      const { change, percent: pct } = changeOf(node);
      badge.textContent = pct === null ? "new" : signedPercent(pct);
      badge.style.background = diffColour(pct);
      if (pct === null) addRow(grid, "Change", "change", "new", ` · ${signedSeconds(change)}, not in the baseline`, "new");
      else {
        const direction = Math.abs(pct) < steps[0] ? "" : pct > 0 ? "up" : "down";
        addRow(grid, "Change", "change", signedPercent(pct), ` · ${signedSeconds(change)} of total time`, direction);
      }
      addRow(grid, "Samples", "total", integer.format(total), ` ${total === 1 ? "sample" : "samples"} in the current run`);
      addRow(grid, "Percentage", "percentage", percent(total, whole), " of all samples");
      if (pct === null) note = "New: this call path does not occur in the baseline.";
    } else {
      addRow(grid, "Total", "total", integer.format(total), samples(total));
      if (tree.kind === "flame") addRow(grid, "Self", "self", integer.format(tree.self[node]), samples(tree.self[node]));
      addRow(grid, "Percentage", "percentage", percent(total, whole), state.thread < 0 ? " of all samples" : " of the thread's samples");
    }
    if (state.zoom !== 0 && isWithin(node, state.zoom)) {
      const zoomed = nameOf(tree.func[state.zoom]);
      addRow(grid, "Relative Percentage", "relative", percent(total, tree.total[state.zoom]), ` of ${zoomed}`, "rel");
    }
    if (tree.columns && tree.columns.moreLines.has(node)) {
      const pairs = tree.columns.moreLines.get(node);
      const parts = [];
      for (let k = 0; k < pairs.length; k += 2) parts.push(`${pairs[k] || "?"} (${percent(pairs[k + 1], total)})`);
      addRow(grid, "Lines", "lines", parts.join(", "), "");
    }
    if (tree.kind === "inverted" && f >= 0) {
      const leaf = tree.parent[node] === 0 || node === 0 ? null : rootOf(node);
      note = leaf === null
        ? "Time spent in this function itself (its self time), over all its callers."
        : `Time spent in ${nameOf(tree.func[leaf])} when called through this path.`;
    } else if (!note && node !== state.zoom) {
      note = "Click to zoom in.";
    }
    field("note").textContent = note;
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

  const ROOT_CRUMB = { flame: "all", inverted: "all (inverted)", elided: "gone since the baseline" };
  function renderCrumbs() {
    const crumbs = $("crumbs");
    crumbs.textContent = "";
    const tree = state.tree;
    const path = [];
    for (let a = state.zoom; a >= 0; a = tree.parent[a]) path.push(a);
    path.reverse();
    path.forEach((node, index) => {
      if (index) crumbs.append(element("span", "sep", "›"));
      const button = element("button", "", node === 0 ? ROOT_CRUMB[tree.kind] : nameOf(tree.func[node]));
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
  // The views this page offers: a diff has no inverted view and no thread
  // filter (the baseline is not split by thread), and an elided view when
  // call paths of the baseline are gone.
  const VIEWS = diff ? (diff.elidedPaths > 0 ? ["flame", "elided"] : ["flame"]) : ["flame", "inverted"];
  function setView(view) {
    if (view === state.view || !VIEWS.includes(view)) return;
    state.view = view;
    if (view === "inverted" && inverted === null) inverted = invertedTree(state.thread);
    if (view === "elided" && elided === null) elided = elidedTree();
    state.tree = { flame, inverted, elided }[view];
    for (const name of VIEWS) $(`view-${name}`).setAttribute("aria-pressed", String(name === view));
    state.hover = -1;
    tooltip.hidden = true;
    renderLegend();
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

  for (const name of ["flame", "inverted", "elided"]) {
    const button = $(`view-${name}`);
    if (VIEWS.includes(name)) button.addEventListener("click", () => setView(name));
    else button.remove();
  }
  if (VIEWS.length < 2) $("views").remove();
  $("reset").addEventListener("click", () => zoomTo(0));
  threadSelect.addEventListener("change", () => setThread(Number(threadSelect.value)));

  // ---- header, threads and legend -------------------------------------------------------
  function summaryItem(summary, label, field, value, sub) {
    const box = element("div");
    const dd = element("dd", "", value);
    dd.dataset.field = field;
    if (sub) dd.append(element("span", "sub", ` ${sub}`));
    box.append(element("dt", "", label), dd);
    summary.append(box);
    return box;
  }

  // One run's figures: the profile's, or a diff's baseline.
  function summarise(summary, run) {
    const item = (...args) => summaryItem(summary, ...args);
    const duration = run.durationNs / 1e9;
    item("Duration", "duration", duration > 0 ? seconds(duration) : "unknown");
    const framed = run.withFrames;
    item("Samples", "samples", integer.format(run.samples), framed !== run.samples ? `(${integer.format(framed)} with Python frames)` : "");
    const requested = run.intervalNs > 0 ? `${integer.format(1e9 / run.intervalNs)} Hz` : "as fast as possible";
    const achieved = run.taken > 0 && duration > 0 ? `(${integer.format(run.taken / duration)}/s achieved)` : "";
    item("Rate", "rate", requested, achieved);
    item("Failed", "failed", integer.format(run.failed), run.taken > 0 ? `(${percent(run.failed, run.taken)})` : "");
    item("Mode", "mode", run.mode);
    item("Python", "python", run.python);
    item("PID", "pid", String(run.pid));
  }

  function renderHeader() {
    const command = meta.command.map(shellWord).join(" ");
    $("command").textContent = command;
    $("command").title = command;
    const name = meta.command.length ? meta.command[meta.command.length - 1] : meta.pid;
    document.title = `${diff ? "Differential flamegraph" : "Flamegraph"} · ${name} · pysampler`;
    const summary = $("summary");
    summarise(summary, meta);
    summaryItem(summary, "Threads", "threads", integer.format(threads.length));
    if (meta.startTime > 0) summaryItem(summary, "Started", "started", localTime(new Date(meta.startTime * 1000)));
    const cut = [meta.truncated ? "The profile file" : "", diff && diff.baseline.truncated ? "The baseline's file" : ""];
    if (diff) {
      const base = diff.baseline;
      $("kind").textContent = "differential flamegraph";
      const row = $("baseline-summary");
      row.hidden = false;
      summarise(row, base);
      summaryItem(row, "Scaled", "scale", `×${diff.scale.toFixed(3)}`).title =
        "The baseline's times are multiplied by this so both runs have the same total (samples × interval)";
      if (base.startTime > 0) summaryItem(row, "Started", "started", localTime(new Date(base.startTime * 1000)));
      const theirs = base.command.map(shellWord).join(" ");
      $("baseline-command").textContent = theirs;
      $("baseline-command").title = theirs;
    }
    const warning = $("warning");
    const files = cut.filter(Boolean);
    if (files.length) {
      warning.textContent = `${files.join(" and ")} ${files.length > 1 ? "were" : "was"} cut short (the profiler was stopped mid-write): this shows what ${files.length > 1 ? "they" : "it"} held.`;
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

  function legendItem(legend, colour, label, title) {
    const item = element("span", "item");
    const swatch = element("span", "swatch");
    swatch.style.background = colour;
    item.title = title || label;
    item.append(swatch, element("span", "name", label));
    legend.append(item);
  }

  function renderLegend() {
    const legend = $("legend");
    legend.textContent = "";
    if (diff) {
      renderDiffLegend(legend);
      return;
    }
    const selfByGroup = new Float64Array(groupCount);
    for (let e = 0; e < selfCount; e++) {
      const f = funcOf[selfNode[e]];
      if (f >= 0) selfByGroup[fileGroup[funcFile[f]]] += selfWeight[e];
    }
    const shown = Math.min(groupCount, PALETTE.length);
    legend.append(element("span", "", "Colours:"));
    for (let g = 0; g < shown; g++) {
      legendItem(legend, groupColour(g), groupLabel[g], `${groupLabel[g]}: ${percent(selfByGroup[g], meta.withFrames)} of samples ran here`);
    }
    if (groupCount > shown) legend.append(element("span", "", `+ ${groupCount - shown} more (colours repeat)`));
  }

  function renderDiffLegend(legend) {
    const scale = `×${diff.scale.toFixed(3)}`;
    if (state.view === "elided") {
      legend.append(element("span", "", `Call paths of the baseline that no longer occur, as wide as their baseline time (scaled ${scale}):`));
      legendItem(legend, GONE_COLOUR, "gone");
      legendItem(legend, STILL_COLOUR, "still runs (their caller)");
      return;
    }
    legend.append(element("span", "", "Width: current time · colour: change of total time against the baseline:"));
    const range = (shades, sign) => shades.map((colour, k) => [
      colour,
      k + 1 < shades.length ? `${sign}${steps[k]}–${steps[k + 1]}%` : `${sign}${steps[k]}% or more`,
    ]);
    const items = [
      ...range(FALL, "-").reverse(),
      [NEUTRAL_COLOUR, `under ±${steps[0]}%`],
      ...range(RISE, "+"),
      [NEW_COLOUR, "new"],
    ];
    for (const [colour, label] of items) legendItem(legend, colour, label);
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
      case "e": setView(state.view === "elided" ? "flame" : "elided"); break;
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
      const columns = state.tree.columns;
      return { name: nameOf(f), file: f < 0 ? "" : filePath[funcFile[f]], line: columns ? lineOf(columns, node) : 0 };
    },
    children: (node) => Array.from(state.tree.childList.subarray(state.tree.childStart[node], state.tree.childStart[node + 1])),
    total: (node) => state.tree.total[node],
    self: (node) => state.tree.self[node],
    // A diff's figures for a frame of the current view, in seconds (the
    // baseline's scaled); null without a diff or in the inverted view.
    diff: (node) => {
      const tree = state.tree;
      if (!diff || tree.kind === "inverted") return null;
      if (tree.kind === "elided") {
        return { baselineTotal: tree.total[node] * tree.unit, baselineSelf: tree.self[node] * tree.unit, gone: tree.gone[node] === 1 };
      }
      const { current, baseline, change, percent: pct } = changeOf(node);
      return {
        currentTotal: current, currentSelf: flame.self[node] * flame.unit, baselineTotal: baseline,
        baselineSelf: baseSelf[node] * diff.unit, change, percent: pct, isNew: pct === null,
      };
    },
    colour: (node) => fillOf(state.tree, node),
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
  if (diff) {
    document.body.classList.add("diff");
    if (VIEWS.includes("elided")) {
      document.body.classList.add("has-elided");
      $("view-elided").textContent = `Elided (${integer.format(diff.elidedPaths)})`;
    }
    threadSelect.disabled = true;
    threadSelect.closest(".field").remove();
  }
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
