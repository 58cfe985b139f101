// Pictures of attention drawn in the page (SVG), in the look of src/selfattention/plotting.py:
// viridis for weights (its 256 colours come from the package, selfattentionData.style), token
// labels, the query's row outlined and its bar red, hatched and outlined (the highlight rule
// of every explorer), a white ground in both colour modes (like the book's figures).
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
    // a new <svg> in el (replacing what was there): an image with a name, on white; the
    // same drawing in the same element gives the same SVG (its ids are the element's)
    el.dataset.saPicture = el.dataset.saPicture || String(++made);
    el.replaceChildren();
    const svg = node(el, "svg", {
      xmlns: SVG, width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": label, "font-family": FAMILY, "font-size": FONT,
    });
    node(svg, "rect", { width, height, fill: "white" });
    return svg;
  }

  function slanted(svg, labels, x0, cell, y) {
    // labels under columns, slanted 45° and ending under their column (slanted_xticks)
    labels.forEach((label, j) => {
      const x = x0 + (j + 0.5) * cell;
      node(svg, "text", {
        x, y, "text-anchor": "end", "dominant-baseline": "hanging",
        transform: `rotate(-45 ${x} ${y})`, fill: "black", class: "sa-label",
      }, label);
    });
  }

  const slantedHeight = (labels) =>
    Math.max(0, ...labels.map((l) => textWidth(l))) * Math.SQRT1_2 + FONT + 4;

  function columns(width, count, rowLabels, opts = {}) {
    // Where the columns go: room on the left for an axis label and the row labels, on the
    // right for a colour bar; cells at least opts.minCell (20 px) wide (the picture grows past
    // `width` rather than shrink its text).
    const left = 26 + Math.max(textWidth("0.5"), ...(rowLabels || []).map((l) => textWidth(l))) + 8;
    const right = opts.right !== undefined ? opts.right : 26 + 8 + textWidth("1.0") + 22;
    const cell = Math.max(opts.minCell || 20, (width - left - right) / count);
    return { left, right, cell, width: Math.ceil(left + count * cell + right) };
  }

  function heatmap(el, matrix, rowLabels, colLabels, opts = {}) {
    // matrix (n, m): rows are queries (who looks), columns keys (who is looked at); a
    // colour bar from vmin to vmax; opts.highlightRow outlined in the query colour.
    const n = matrix.length, m = matrix[0].length;
    const vmin = opts.vmin ?? 0, vmax = opts.vmax ?? 1;
    const rows = shortLabels(rowLabels), cols = colLabels && shortLabels(colLabels);
    const layout = opts.layout || columns(opts.width || el.clientWidth || 640, m, rows, opts);
    const { left, cell } = layout;
    const cellHeight = Math.min(Math.max(cell, 16), 30);
    const top = opts.title ? TITLE + 12 : 8;
    const bottom = (cols ? slantedHeight(cols) : 4) + (opts.xlabel ? FONT + 8 : 0);
    const height = Math.ceil(top + n * cellHeight + bottom);
    const svg = picture(el, layout.width, height, opts.label || opts.title || "heatmap");
    if (opts.title) {
      node(svg, "text", { x: left + (m * cell) / 2, y: TITLE + 2, "text-anchor": "middle",
        "font-size": TITLE, fill: "black" }, opts.title);
    }
    const annotate = opts.annotate ?? Math.max(n, m) <= 8;
    matrix.forEach((row, i) => row.forEach((value, j) => {
      const { fill, ink } = colorOf(value, vmin, vmax);
      const x = left + j * cell, y = top + i * cellHeight;
      // a hair wider than the cell: no seams between cells
      node(svg, "rect", { x, y, width: cell + 0.5, height: cellHeight + 0.5, fill });
      if (annotate) {
        node(svg, "text", { x: x + cell / 2, y: y + cellHeight / 2, "text-anchor": "middle",
          "dominant-baseline": "central", fill: ink, class: "sa-value" }, fixed(value));
      }
    }));
    node(svg, "rect", { x: left, y: top, width: m * cell, height: n * cellHeight,
      fill: "none", stroke: "black", "stroke-width": 0.8 });
    rows.forEach((label, i) => node(svg, "text", { x: left - 6, y: top + (i + 0.5) * cellHeight,
      "text-anchor": "end", "dominant-baseline": "central", fill: "black", class: "sa-label" }, label));
    if (opts.ylabel !== null) {
      const y = top + (n * cellHeight) / 2;
      node(svg, "text", { x: 12, y, "text-anchor": "middle", "dominant-baseline": "central",
        transform: `rotate(-90 12 ${y})`, fill: "black" }, opts.ylabel || "query: the token looking");
    }
    if (cols) slanted(svg, cols, left, cell, top + n * cellHeight + 4);
    if (opts.xlabel) {
      node(svg, "text", { x: left + (m * cell) / 2, y: height - 4, "text-anchor": "middle",
        fill: "black" }, opts.xlabel);
    }
    const row = opts.highlightRow;
    if (row !== undefined && row !== null) {
      node(svg, "rect", { x: left, y: top + row * cellHeight, width: m * cell, height: cellHeight,
        fill: "none", stroke: style().query, "stroke-width": 2.5 });
    }
    if (layout.right >= 40) colorbar(svg, left + m * cell + 10, top, n * cellHeight, vmin, vmax, opts);
    return layout;
  }

  function colorbar(svg, x, top, height, vmin, vmax, opts) {
    const id = `sa-gradient-${svg.parentNode.dataset.saPicture}`;
    const gradient = node(node(svg, "defs"), "linearGradient", { id, x1: 0, y1: 1, x2: 0, y2: 0 });
    style().colors.forEach((color, i) => {
      node(gradient, "stop", { offset: (i + 0.5) / 256, "stop-color": color });
    });
    node(svg, "rect", { x, y: top, width: 14, height, fill: `url(#${id})`, stroke: "black",
      "stroke-width": 0.8 });
    for (let k = 0; k <= 5; k++) {
      const value = vmin + ((vmax - vmin) * k) / 5, y = top + height * (1 - k / 5);
      node(svg, "line", { x1: x + 14, x2: x + 18, y1: y, y2: y, stroke: "black" });
      node(svg, "text", { x: x + 20, y, "dominant-baseline": "central", fill: "black" },
        value.toFixed(1));
    }
    const lx = x + 20 + textWidth("1.0") + 12, ly = top + height / 2;
    node(svg, "text", { x: lx, y: ly, "text-anchor": "middle", "dominant-baseline": "central",
      transform: `rotate(-90 ${lx} ${ly})`, fill: "black" }, opts.colorbarLabel || "weight");
  }

  function bars(el, values, labels, opts = {}) {
    // One row as bars, one per key, with its number on each bar; opts.highlight's bar red,
    // hatched and outlined. values null: the axes, the labels and opts.message instead.
    const m = labels.length;
    const cols = shortLabels(labels);
    const layout = opts.layout || columns(opts.width || el.clientWidth || 640, m, null,
      { ...opts, right: opts.right ?? 8 });
    const { left, cell } = layout;
    const [low, high] = opts.ylim || [0, 1];
    const numberWidth = textWidth("0.00");
    const upright = cell >= numberWidth + 4; // numbers across the bars, or along them
    const top = (opts.title ? TITLE + 12 : 8) + (upright ? FONT + 4 : numberWidth + 6);
    const plot = opts.plotHeight || 110; // from low to high
    const bottom = slantedHeight(cols) + (opts.xlabel === null ? 0 : FONT + 10);
    const height = Math.ceil(top + plot + bottom);
    const svg = picture(el, layout.width, height, opts.label || opts.title || "bars");
    const y = (v) => top + plot * (1 - (Math.min(Math.max(v, low), high) - low) / (high - low));
    if (opts.title) {
      node(svg, "text", { x: left + (m * cell) / 2, y: TITLE + 2, "text-anchor": "middle",
        "font-size": TITLE, fill: "black" }, opts.title);
    }
    for (const tick of [low, (low + high) / 2, high]) {
      node(svg, "line", { x1: left - 4, x2: left, y1: y(tick), y2: y(tick), stroke: "black" });
      node(svg, "text", { x: left - 6, y: y(tick), "text-anchor": "end",
        "dominant-baseline": "central", fill: "black" }, String(tick));
    }
    const yl = top + plot / 2;
    node(svg, "text", { x: 12, y: yl, "text-anchor": "middle", "dominant-baseline": "central",
      transform: `rotate(-90 12 ${yl})`, fill: "black" }, opts.ylabel || "weight");
    const hatch = `sa-hatch-${el.dataset.saPicture}`;
    const pattern = node(node(svg, "defs"), "pattern", { id: hatch, width: 6, height: 6,
      patternUnits: "userSpaceOnUse" });
    node(pattern, "path", { d: HATCH, stroke: "black", "stroke-width": 1 });
    (values || []).forEach((value, j) => {
      const x = left + j * cell + cell * 0.1, w = cell * 0.8;
      const y0 = y(Math.max(low, 0)), y1 = y(value);
      const box = { x, y: Math.min(y0, y1), width: w, height: Math.abs(y0 - y1) };
      const marked = j === opts.highlight;
      node(svg, "rect", { ...box, fill: marked ? style().query : style().key });
      if (marked) {
        node(svg, "rect", { ...box, fill: `url(#${hatch})`, stroke: "black", "stroke-width": 1.2 });
      }
      const cx = x + w / 2, at = Math.min(y0, y1) - 3;
      node(svg, "text", upright
        ? { x: cx, y: at, "text-anchor": "middle", fill: "black", class: "sa-value" }
        : { x: cx, y: at, "dominant-baseline": "central", fill: "black", class: "sa-value",
            transform: `rotate(-90 ${cx} ${at})` }, fixed(value));
    });
    node(svg, "line", { x1: left, x2: left + m * cell, y1: y(Math.max(low, 0)), y2: y(Math.max(low, 0)),
      stroke: "black", "stroke-width": 0.8 });
    node(svg, "line", { x1: left, x2: left, y1: top, y2: top + plot, stroke: "black", "stroke-width": 0.8 });
    if (!values && opts.message) {
      node(svg, "text", { x: left + (m * cell) / 2, y: top + plot / 2, "text-anchor": "middle",
        fill: "black" }, opts.message);
    }
    slanted(svg, cols, left, cell, top + plot + 4);
    if (opts.xlabel !== null) {
      node(svg, "text", { x: left + (m * cell) / 2, y: height - 4, "text-anchor": "middle",
        fill: "black" }, opts.xlabel || "key: the token being looked at");
    }
    return layout;
  }

  sa.draw = { heatmap, bars, columns, fixed, colorOf, shortLabels, textWidth };
})((window.selfattention = window.selfattention || {}));
