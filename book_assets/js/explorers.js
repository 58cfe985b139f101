// Explorers computed in the page, for the HTML book (no kernel there). A chapter's markdown
// holds the mount point, which no other front end shows:
//   <div class="selfattention-live" data-explorer="hand-built"></div>
// (optional: data-sentence, data-query the word whose row to show, data-layer from 1).
// JupyterLab and Colab run the chapter's Python explorer instead (widgets.py); this one
// works like it: the same controls, messages and picture (selfattention.draw).
// Typed text is data: it reaches the page through textContent and attributes only.
// Other explorers (explorer-pretrained.js) use the same parts (selfattention.explorers:
// element, field, choice, tokenChoice) and mount themselves with define(name, make).
(function (sa) {
  "use strict";

  let made = 0;

  function element(parent, tag, attributes, text) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) el.setAttribute(key, value);
    if (text !== undefined) el.textContent = text;
    if (parent) parent.appendChild(el);
    return el;
  }

  function field(parent, id, label, tag, attributes) {
    const box = element(parent, "div", { class: `sa-field sa-field-${tag}` });
    element(box, "label", { for: id }, label);
    return element(box, tag, { id, ...attributes });
  }

  function choice(parent, name, legend, labels) {
    // a group of radio buttons, each a box at least 44 px tall: its buttons
    const set = element(parent, "fieldset", { class: "sa-field sa-choice" });
    element(set, "legend", {}, legend);
    const options = element(set, "div", { class: "sa-options" });
    return labels.map((label, k) => {
      const option = element(options, "label", { class: "sa-option" });
      const radio = element(option, "input", { type: "radio", name, value: k });
      element(option, "span", {}, label);
      return radio;
    });
  }

  function tokenChoice(select, tokens, wanted) {
    // Offer the tokens as the query; keep the first wanted word that is there ("it"
    // by default); none there: no choice, the reader picks (never silently another
    // token). Returns the index chosen, or null.
    const i = wanted.map((w) => tokens.indexOf(w)).find((k) => k >= 0);
    select.replaceChildren();
    if (i === undefined) element(select, "option", { value: "" }, "choose a token");
    tokens.forEach((t, k) => element(select, "option", { value: k }, `${k}: ${t}`));
    select.value = i === undefined ? "" : String(i);
    return i === undefined ? null : i;
  }

  function handBuiltExplorer(root) {
    // Type a sentence, pick a query token and a layer: the attention matrix of that layer
    // and the token's row (widgets.AttentionMatrixExplorer).
    const data = window.selfattentionData;
    const layers = data.layers.map((layer, l) => `layer ${l + 1}: ${layer.name}`);
    const id = `sa-explorer-${++made}`;
    root.replaceChildren();
    root.classList.add("sa-explorer");
    element(root, "p", { class: "sa-intro", id: `${id}-intro` },
      "Computed in your browser: type a sentence, choose a query token and a layer.");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", `${id}-intro`);
    const controls = element(root, "div", { class: "sa-controls" });
    const input = field(controls, `${id}-sentence`, "sentence", "input", {
      type: "text", autocomplete: "off", spellcheck: "false", autocapitalize: "off",
      "aria-describedby": `${id}-message`,
    });
    const select = field(controls, `${id}-query`, "query token", "select");
    const radios = choice(controls, `${id}-layer`, "layer", layers);
    const message = element(root, "p", {
      class: "sa-message", id: `${id}-message`, role: "status",
    });
    const picture = element(root, "div", { class: "sa-picture" });
    const heatmapBox = element(picture, "div", { class: "sa-heatmap" });
    const barsBox = element(picture, "div", { class: "sa-bars" });

    const state = {
      result: null, // handBuilt of the last sentence that worked
      wanted: root.dataset.query || "it", // the word whose row the reader wants
      query: null, // its index in result.tokens, or null: the reader picks
      layer: Number(root.dataset.layer || data.layers.length) - 1,
      width: 0,
    };

    function setTokens(tokens) {
      // the wanted word if it is there, else "it", else none (the reader picks)
      state.query = tokenChoice(select, tokens, [state.wanted, "it"]);
    }

    function compute() {
      // the typed sentence -> state.result, or the Python's message (keeping the picture)
      let result;
      try {
        result = sa.handBuilt(input.value);
      } catch (err) {
        if (!(err instanceof sa.SentenceError)) throw err;
        message.textContent = err.message;
        message.className = "sa-message sa-error";
        return false;
      }
      const old = state.result && state.result.tokens.join("\u0000");
      state.result = result;
      if (old !== result.tokens.join("\u0000")) setTokens(result.tokens);
      const notes = [];
      const dropped = sa.leftOut(input.value);
      if (dropped.length) notes.push(`Left out (not letters or digits): ${dropped.join(" ")}`);
      const known = sa.known(result.tokens);
      const unknown = result.tokens.filter((t, k) => !known[k]);
      if (unknown.length) {
        const listing = unknown.slice(0, 6).join(", ") + (unknown.length > 6 ? "…" : "");
        notes.push("Not in the hand-built vocabulary, so given fixed pseudo-random "
          + `vectors: ${listing}`);
      }
      message.textContent = notes.join(". ");
      message.className = "sa-message";
      return true;
    }

    function draw() {
      const { tokens, weights } = state.result;
      const w = weights[state.layer]; // (n, n)
      const i = state.query;
      const labels = sa.draw.shortLabels(tokens);
      state.width = picture.clientWidth;
      const layout = sa.draw.columns(state.width || 640, tokens.length, labels);
      const name = layers[state.layer];
      const row = i === null ? "" : `; the row of "${tokens[i]}" is outlined`;
      sa.draw.heatmap(heatmapBox, w, tokens, null, {
        layout, title: name, highlightRow: i,
        label: `Heatmap of the attention matrix of ${name}, ${tokens.length} tokens as rows `
          + `(queries) and columns (keys), in order: ${tokens.join(", ")}${row}.`,
      });
      const title = i === null ? "choose a query token" : `row of "${tokens[i]}": where it looks`;
      sa.draw.bars(barsBox, i === null ? null : w[i], tokens, {
        layout: { ...layout }, title, highlight: i === null ? null : sa.draw.largest(w[i]),
        message: "Choose a query token to see its row.",
        label: i === null ? "No row shown: choose a query token."
          : `Bars: the row of "${tokens[i]}" in ${name}, the weight it gives each token: `
            + tokens.map((t, k) => `${t} ${sa.draw.fixed(w[i][k])}`).join(", ") + ".",
      });
      requestAnimationFrame(() => sa.draw.scrollable(picture));
    }

    input.addEventListener("input", () => compute() && draw());
    select.addEventListener("change", () => {
      state.query = select.value === "" ? null : Number(select.value);
      if (state.query !== null) {
        state.wanted = state.result.tokens[state.query];
        const placeholder = select.querySelector('option[value=""]');
        if (placeholder) placeholder.remove();
      }
      draw();
    });
    radios.forEach((radio, l) => radio.addEventListener("change", () => {
      if (radio.checked) {
        state.layer = l;
        draw();
      }
    }));
    new ResizeObserver(() => {
      if (state.result && picture.clientWidth !== state.width) draw();
    }).observe(picture);

    input.value = root.dataset.sentence || data.sentence;
    radios[state.layer].checked = true;
    if (!compute()) throw new Error(`the explorer's sentence fails: ${message.textContent}`);
    draw();
  }

  const EXPLORERS = { "hand-built": handBuiltExplorer };

  function mountAll() {
    document.querySelectorAll(".selfattention-live[data-explorer]").forEach((root) => {
      const make = EXPLORERS[root.dataset.explorer];
      if (make && !root.classList.contains("sa-explorer")) make(root);
    });
  }

  function define(name, make) {
    // another explorer, mounted wherever its mount point is (now, or once the page is read)
    EXPLORERS[name] = make;
    if (document.readyState !== "loading") mountAll();
  }

  sa.explorers = { handBuilt: handBuiltExplorer, mountAll, define, element, field, choice,
    tokenChoice };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})((window.selfattention = window.selfattention || {}));
