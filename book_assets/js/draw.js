// Pictures of attention drawn in the page (SVG), in the look of src/selfattention/plotting/:
// viridis for weights (its 256 colours come from the package, selfattentionData.style), token
// labels, the query's row outlined, and the one largest weight's bar red, hatched and outlined
// (the highlight rule of the whole book: plotting.largest; a tie marks none), a white ground in
// both colour modes (like the book's figures).
// Sizes are CSS pixels and never shrink: a picture wider than its box scrolls in it, so text
// stays readable on a phone. Text is set with textContent, never as markup.
//
//   selfattention.draw.heatmap(el, matrix, rowLabels, colLabels, opts) -> layout
//   selfattention.draw.bars(el, values, labels, opts)
//   selfattention.draw.fixed(x, digits)   numbers as Python's f"{x:.2f}" writes them
(function (sa) {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const FONT = 12; // labels and numbers (plotting.SMALL: 9 pt, about 12 px in the book)
  const TITLE = 13;
  const FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"; // matplotlib's font first
  const HATCH = "M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2"; // "///", plotting.HIGHLIGHT_HATCH
  let made = 0; // pictures drawn so far: ids of patterns and gradients, unique in the page

  const style = () => window.selfattentionData.style;

  function node(parent, name, attributes, text) {
    const el = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) el.setAttribute(key, value);
    if (text !== undefined) el.textContent = text; // text, never markup
    if (parent) parent.appendChild(el);
    return el;
  }

  let context = null;
  function textWidth(text, size = FONT) {
    context = context || document.createElement("canvas").getContext("2d");
    context.font = `${size}px ${FAMILY}`;
    return context.measureText(text).width;
  }

  function fixed(x, digits = 2) {
    // x with `digits` decimals as Python's f"{x:.2f}" writes it: a tie (0.125 is exactly
    // a float) goes to the even digit, where toFixed goes up; otherwise both round the
    // float's exact value.
    const exact = Math.abs(x).toFixed(digits + 20); // exact enough to see a tie
    const tie = new RegExp(`\\.\\d{${digits}}50*$`).test(exact);
    const kept = exact.slice(0, exact.indexOf(".") + digits + 1);
    if (tie && Number(kept.slice(-1)) % 2 === 0) return (x < 0 ? "-" : "") + kept;
    return x.toFixed(digits);
  }

  function colorOf(value, vmin, vmax) {
    // the colour map's entry for value, as matplotlib picks it: floor(t · 256), t in [0, 1]
    const t = Math.min(Math.max((value - vmin) / (vmax - vmin), 0), 1);
    const i = Math.min(Math.floor(t * 256), 255);
    return { fill: style().colors[i], ink: style().ink[i] === "b" ? "black" : "white" };
  }

  function shortLabels(labels, limit = style().labelChars) {
    // as plotting.short_labels: longer labels end in "…"
    return labels.map((t) => {
      const chars = Array.from(t);
      return chars.length <= limit ? t : chars.slice(0, limit - 1).join("") + "…";
    });
  }

  function picture(el, width, height, label) {
    // a new <svg> for el: an image with a name, on white; the same drawing in the same
    // element gives the same SVG (its ids are the element's). Drawn apart from the page
    // and put into el when whole (show): one change to the page, not one per shape
    // (scripts that watch the page, like the theme's icons, see each change).
    el.dataset.saPicture = el.dataset.saPicture || String(++made);
    const svg = node(null, "svg", {
      xmlns: SVG, width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": label, "font-family": FAMILY, "font-size": FONT,
    });
    node(svg, "rect", { width, height, fill: "white" });
    return svg;
  }

  // text at (x, y), black unless said otherwise; anchor: start, middle or end
  const text = (svg, x, y, string, anchor = "start", attributes = {}) =>
    node(svg, "text", { x, y, "text-anchor": anchor, fill: "black", ...attributes }, string);
  // text read from bottom to top, centred on (x, y): an axis label
  const upward = (svg, x, y, string, attributes = {}) => text(svg, x, y, string, "middle",
    { "dominant-baseline": "central", transform: `rotate(-90 ${x} ${y})`, ...attributes });
  const title = (svg, x, string) =>
    text(svg, x, TITLE + 2, string, "middle", { "font-size": TITLE });
  const line = (svg, x1, y1, x2, y2, width = 1) =>
    node(svg, "line", { x1, y1, x2, y2, stroke: "black", "stroke-width": width });

  function slanted(svg, labels, x0, cell, y) {
    // labels under columns, slanted 45° and ending under their column (slanted_xticks)
    labels.forEach((label, j) => {
      const x = x0 + (j + 0.5) * cell;
      text(svg, x, y, label, "end", { "dominant-baseline": "hanging",
        transform: `rotate(-45 ${x} ${y})`, class: "sa-label" });
    });
  }

  const slantedHeight = (labels) =>
    Math.max(0, ...labels.map((l) => textWidth(l))) * Math.SQRT1_2 + FONT + 4;

  function columns(width, count, rowLabels, opts = {}) {
    // Where the columns go: room on the left for an axis label and the row labels, on
    // the right for a colour bar; cells from opts.minCell (20 px) to opts.maxCell (56 px)
    // wide: the picture grows past `width` rather than shrink its text.
    const labels = (rowLabels || []).map((l) => textWidth(l));
    const left = 26 + Math.max(textWidth("0.5"), ...labels) + 8;
    const right = opts.right !== undefined ? opts.right : 26 + 8 + textWidth("1.0") + 22;
    const fit = (width - left - right) / count;
    const cell = Math.max(opts.minCell || 20, Math.min(opts.maxCell || 56, fit));
    return { left, right, cell, width: Math.ceil(left + count * cell + right) };
  }

  function heatmap(el, matrix, rowLabels, colLabels, opts = {}) {
    // matrix (n, m): rows are queries (who looks), columns keys (who is looked at); a
    // colour bar from vmin to vmax; opts.highlightRow outlined in the query colour.
    // Returns the layout ({left, right, cell, width}), for bars under the columns.
    const n = matrix.length, m = matrix[0].length;
    const vmin = opts.vmin ?? 0, vmax = opts.vmax ?? 1;
    const rows = shortLabels(rowLabels), cols = colLabels && shortLabels(colLabels);
    const layout = opts.layout || columns(opts.width || el.clientWidth || 640, m, rows, opts);
    const { left, cell } = layout;
    const cellHeight = Math.min(Math.max(cell, 16), 30);
    const top = opts.title ? TITLE + 12 : 8;
    const bottom = (cols ? slantedHeight(cols) : 4) + (opts.xlabel ? FONT + 8 : 0);
    const width = m * cell, height = n * cellHeight; // of the matrix
    const svg = picture(el, layout.width, Math.ceil(top + height + bottom),
      opts.label || opts.title || "heatmap");
    if (opts.title) title(svg, left + width / 2, opts.title);
    const annotate = opts.annotate ?? Math.max(n, m) <= 8;
    matrix.forEach((row, i) => row.forEach((value, j) => {
      const { fill, ink } = colorOf(value, vmin, vmax);
      const x = left + j * cell, y = top + i * cellHeight;
      // a hair wider than the cell: no seams between cells
      node(svg, "rect", { x, y, width: cell + 0.5, height: cellHeight + 0.5, fill,
        class: "sa-cell" });
      if (annotate) {
        text(svg, x + cell / 2, y + cellHeight / 2, fixed(value), "middle",
          { "dominant-baseline": "central", fill: ink, class: "sa-value" });
      }
    }));
    node(svg, "rect", { x: left, y: top, width, height, fill: "none", stroke: "black",
      "stroke-width": 0.8 });
    rows.forEach((label, i) => text(svg, left - 6, top + (i + 0.5) * cellHeight, label, "end",
      { "dominant-baseline": "central", class: "sa-label" }));
    if (opts.ylabel !== null) {
      upward(svg, 12, top + height / 2, opts.ylabel || "query: the token looking");
    }
    if (cols) slanted(svg, cols, left, cell, top + height + 4);
    if (opts.xlabel) text(svg, left + width / 2, top + height + bottom - 4, opts.xlabel, "middle");
    const row = opts.highlightRow;
    if (row !== undefined && row !== null) {
      node(svg, "rect", { x: left, y: top + row * cellHeight, width, height: cellHeight,
        fill: "none", stroke: style().query, "stroke-width": 2.5 });
    }
    if (layout.right >= 40) {
      const id = `sa-gradient-${el.dataset.saPicture}`;
      colorbar(svg, id, left + width + 10, top, height, vmin, vmax, opts);
    }
    el.replaceChildren(svg);
    return layout;
  }

  function colorbar(svg, id, x, top, height, vmin, vmax, opts) {
    // the colour map from vmin (bottom) to vmax (top), six ticks, a label; id: the
    // gradient's, unique in the page
    const gradient = node(node(svg, "defs"), "linearGradient", { id, x1: 0, y1: 1, x2: 0, y2: 0 });
    style().colors.forEach((color, i) => {
      node(gradient, "stop", { offset: (i + 0.5) / 256, "stop-color": color });
    });
    node(svg, "rect", { x, y: top, width: 14, height, fill: `url(#${id})`, stroke: "black",
      "stroke-width": 0.8 });
    for (let k = 0; k <= 5; k++) {
      const value = vmin + ((vmax - vmin) * k) / 5, y = top + height * (1 - k / 5);
      line(svg, x + 14, y, x + 18, y);
      text(svg, x + 20, y, value.toFixed(1), "start", { "dominant-baseline": "central" });
    }
    upward(svg, x + 20 + textWidth("1.0") + 12, top + height / 2, opts.colorbarLabel || "weight");
  }

  function bars(el, values, labels, opts = {}) {
    // One row as bars, one per key, with its number on each bar; opts.highlight's bar (use
    // largest(values)) red, hatched and outlined. values null: the axes, the labels and opts.message instead.
    // opts.layout: the heatmap's, to put each bar under its column.
    const m = labels.length;
    const cols = shortLabels(labels);
    const layout = opts.layout
      || columns(opts.width || el.clientWidth || 640, m, null, { ...opts, right: opts.right ?? 8 });
    const { left, cell } = layout;
    const [low, high] = opts.ylim || [0, 1];
    const numberWidth = textWidth("0.00");
    const upright = cell >= numberWidth + 4; // numbers across the bars, or along them
    const top = (opts.title ? TITLE + 12 : 8) + (upright ? FONT + 4 : numberWidth + 6);
    const plot = opts.plotHeight || 110; // from low to high
    const bottom = slantedHeight(cols) + (opts.xlabel === null ? 0 : FONT + 10);
    const width = m * cell, height = Math.ceil(top + plot + bottom);
    const svg = picture(el, layout.width, height, opts.label || opts.title || "bars");
    const y = (v) => top + plot * (1 - (Math.min(Math.max(v, low), high) - low) / (high - low));
    const base = y(Math.max(low, 0));
    if (opts.title) title(svg, left + width / 2, opts.title);
    for (const tick of [low, (low + high) / 2, high]) {
      line(svg, left - 4, y(tick), left, y(tick));
      text(svg, left - 6, y(tick), String(tick), "end", { "dominant-baseline": "central" });
    }
    upward(svg, 12, top + plot / 2, opts.ylabel || "weight");
    const hatch = `sa-hatch-${el.dataset.saPicture}`;
    const pattern = node(node(svg, "defs"), "pattern", { id: hatch, width: 6, height: 6,
      patternUnits: "userSpaceOnUse" });
    node(pattern, "path", { d: HATCH, stroke: "black", "stroke-width": 1 });
    (values || []).forEach((value, j) => {
      const x = left + (j + 0.1) * cell, w = 0.8 * cell, end = y(value);
      const box = { x, y: Math.min(base, end), width: w, height: Math.abs(base - end) };
      const marked = j === opts.highlight;
      node(svg, "rect", { ...box, fill: marked ? style().query : style().key });
      if (marked) {
        node(svg, "rect", { ...box, fill: `url(#${hatch})`, stroke: "black", "stroke-width": 1.2,
          class: "sa-largest", "data-index": j });
      }
      const cx = x + w / 2, above = Math.min(base, end) - 3;
      if (upright) text(svg, cx, above, fixed(value), "middle", { class: "sa-value" });
      else upward(svg, cx, above - numberWidth / 2, fixed(value), { class: "sa-value" });
    });
    line(svg, left, base, left + width, base, 0.8);
    line(svg, left, top, left, top + plot, 0.8);
    if (!values && opts.message) {
      text(svg, left + width / 2, top + plot / 2, opts.message, "middle");
    }
    slanted(svg, cols, left, cell, top + plot + 4);
    if (opts.xlabel !== null) {
      const xlabel = opts.xlabel || "key: the token being looked at";
      text(svg, left + width / 2, height - 4, xlabel, "middle");
    }
    el.replaceChildren(svg);
    return layout;
  }

  // The index of the one largest value, or null when two or more share it: the bar marked
  // red and hatched (plotting.largest, with numpy.isclose's test: rtol 1e-9, atol 1e-12).
  function largest(values, rtol = 1e-9) {
    const top = Math.max(...values);
    const tied = values.filter((v) => Math.abs(v - top) <= 1e-12 + rtol * Math.abs(top));
    return tied.length === 1 ? values.indexOf(top) : null;
  }

  // A picture wider than its box scrolls sideways in it (phones): then the box takes the keyboard focus, so
  // that the arrow keys scroll it, and says so (WCAG 2.1.1; axe-core: scrollable-region-focusable).
  function scrollable(box) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    for (const [name, value] of [["tabindex", "0"], ["role", "group"], ["aria-label",
      "The picture, wider than the page: scroll it sideways to see all of it"]]) {
      if (scrolls) box.setAttribute(name, value);
      else box.removeAttribute(name);
    }
  }

  sa.draw = { heatmap, bars, columns, fixed, colorOf, shortLabels, textWidth, scrollable, largest };
})((window.selfattention = window.selfattention || {}));
