// Chapter 12's explorer in the HTML book: one head of all-MiniLM-L6-v2 at a time, its
// attention matrix and the row of a query token (widgets.PretrainedExplorer, which
// JupyterLab and Colab run instead). The mount point, in a markdown cell:
//   <div class="selfattention-live" data-explorer="pretrained"></div>
// (optional: data-layer and data-head from 1, data-query the token whose row to show).
//
// The book's sentences are shown at once, without the model: their attention, as
// pretrained.recompute gives it, is written into the page at build time
// (selfattention.browser.write_pretrained_js: window.selfattentionPretrained). To type
// another sentence the reader loads the model into the page (selfattention.miniLM,
// minilm.js: a button that says the download's size, then its progress); from then on a
// text box computes whatever is typed. Typed text is data: textContent and attributes
// only.
(function (sa) {
  "use strict";

  const { element, field, choice, tokenChoice } = sa.explorers;
  // Python's str.isspace(), and the characters the tokenizer may drop: control and
  // format characters, combining marks, the replacement character
  const SPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  const DROPPABLE = /[\p{C}\p{M}\ufffd]/u;
  let made = 0;

  function decode(entry, layers, heads) {
    // base64 of float32 (layers · heads · n · n), little-endian -> [layer][head][i][j]
    const bytes = Uint8Array.from(atob(entry.weights), (c) => c.charCodeAt(0));
    const flat = new Float32Array(bytes.buffer);
    const n = entry.tokens.length;
    const attentions = [];
    for (let l = 0; l < layers; l++) {
      const layer = [];
      for (let h = 0; h < heads; h++) {
        const rows = [];
        for (let i = 0; i < n; i++) {
          const start = ((l * heads + h) * n + i) * n;
          rows.push(Array.from(flat.subarray(start, start + n)));
        }
        layer.push(rows);
      }
      attentions.push(layer);
    }
    return { tokens: entry.tokens.slice(), attentions };
  }

  const megabytes = (bytes) => `${Math.max(1, Math.round(bytes / 1e6))} MB`;

  async function unread(sentence) {
    // What of the sentence the model did not read as it was typed, as the Python
    // explorer says it (pretrained.Recomputed.unread): the typed pieces that became
    // [UNK], and the characters no token covers (control and zero-width characters, a
    // combining accent on no letter), each once.
    const unknown = new Set(), leftOut = new Set();
    for (const piece of await sa.miniLM.pieces(sentence)) {
      if ((await sa.miniLM.tokenize(piece)).includes("[UNK]")) unknown.add(piece);
    }
    const chars = Array.from(sentence);
    for (const [k, ch] of chars.entries()) {
      if (SPACE.test(ch) || !DROPPABLE.test(ch)) continue;
      const onLetter = /\p{M}/u.test(ch) && k > 0 && !SPACE.test(chars[k - 1]);
      if (!onLetter && (await sa.miniLM.tokenize(ch)).length === 2) leftOut.add(ch);
    }
    const shown = (ch) => (/[\p{C}\p{Z}\p{M}]/u.test(ch)
      ? `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}` : ch);
    const notes = [];
    if (unknown.size) {
      notes.push(`Not in the model's vocabulary, so read as [UNK]: ${[...unknown].join(" ")}`);
    }
    if (leftOut.size) {
      notes.push(`Left out by the tokenizer: ${[...leftOut].map(shown).join(" ")}`);
    }
    return notes.join(". ");
  }

  function pretrainedExplorer(root) {
    const data = window.selfattentionPretrained;
    const id = `sa-pretrained-${++made}`;
    const layers = data.layers || 6, heads = data.heads || 12;
    root.replaceChildren();
    root.classList.add("sa-explorer", "sa-pretrained");
    element(root, "p", { class: "sa-intro", id: `${id}-intro` },
      "The attention of all-MiniLM-L6-v2, computed for the book's sentences when the book "
      + "was built: choose a sentence, a query token, a layer and a head. To type your own "
      + "sentence, load the model into the page.");
    root.setAttribute("role", "group");
    root.setAttribute("aria-labelledby", `${id}-intro`);
    const controls = element(root, "div", { class: "sa-controls" });
    // the sentence: one of the book's until the model is loaded, then a text box
    const sentenceId = `${id}-sentence`;
    const book = field(controls, sentenceId, "sentence", "select",
      { "aria-describedby": `${id}-message` });
    book.parentNode.classList.add("sa-field-input");
    data.sentences.forEach((s, k) => element(book, "option", { value: k }, s.sentence));
    let input = null;
    const select = field(controls, `${id}-query`, "query token", "select");
    const layerRadios = choice(controls, `${id}-layer`, "layer",
      Array.from({ length: layers }, (_, l) => String(l + 1)));
    const headRadios = choice(controls, `${id}-head`, "head",
      Array.from({ length: heads }, (_, h) => String(h + 1)));
    const model = element(root, "div", { class: "sa-model" });
    const load = element(model, "button", { type: "button", class: "sa-load", hidden: "" });
    const progress = element(model, "progress", {
      class: "sa-progress", hidden: "", "aria-label": "Loading the model",
    });
    const progressText = element(model, "span", { class: "sa-progress-text", hidden: "" });
    const note = element(model, "p", { class: "sa-model-note", hidden: "" });
    const message = element(root, "p", {
      class: "sa-message", id: `${id}-message`, role: "status",
    });
    const picture = element(root, "div", { class: "sa-picture" });
    const heatmapBox = element(picture, "div", { class: "sa-heatmap" });
    const barsBox = element(picture, "div", { class: "sa-bars" });

    const first = data.first || {};
    const state = {
      result: null, // {tokens, attentions} shown now
      decoded: {}, // the book's sentences, decoded when first shown
      wanted: root.dataset.query || first.query || "it", // before the first picture
      query: 0, // the query token's index in result.tokens
      layer: Number(root.dataset.layer || first.layer || 1) - 1,
      head: Number(root.dataset.head || first.head || 1) - 1,
      bytes: 0, // the model's download (miniLM.info)
      typed: null, // the text to compute next (the reader typed on while one ran)
      running: false,
      width: 0,
    };

    function say(text, error = false) {
      message.textContent = text;
      message.className = error ? "sa-message sa-error" : "sa-message";
    }

    function show(result) {
      // New tokens: the query token shown so far if it is there, else "it", else the
      // first token after [CLS] (as the Python explorer: never a silent [CLS]).
      const old = state.result && state.result.tokens.join("\u0000");
      const tokens = result.tokens;
      if (old !== tokens.join("\u0000")) {
        const shown = state.result ? state.result.tokens[state.query] : state.wanted;
        const first = tokens[tokens.length > 2 ? 1 : 0];
        state.query = tokenChoice(select, tokens, [shown, "it", first]);
      }
      state.result = result;
      draw();
    }

    function draw() {
      const { tokens, attentions } = state.result;
      const w = attentions[state.layer][state.head]; // (n, n)
      const i = state.query;
      const labels = sa.draw.shortLabels(tokens);
      // the picture's width, kept by the ResizeObserver below (reading it here would
      // lay the whole page out again at every redraw)
      state.width = state.width || picture.clientWidth;
      const layout = sa.draw.columns(state.width || 640, tokens.length, labels);
      const name = `layer ${state.layer + 1}, head ${state.head + 1}`;
      sa.draw.heatmap(heatmapBox, w, tokens, null, {
        layout, title: name, highlightRow: i,
        label: `Heatmap of the attention matrix of all-MiniLM-L6-v2, ${name}, `
          + `${tokens.length} tokens as rows (queries) and columns (keys), in order: `
          + `${tokens.join(", ")}; the row of "${tokens[i]}" is outlined.`,
      });
      sa.draw.bars(barsBox, w[i], tokens, {
        layout: { ...layout }, title: `row of "${tokens[i]}": where it looks`,
        highlight: sa.draw.largest(w[i]),
        label: `Bars: the row of "${tokens[i]}" in ${name}, the weight it gives each token: `
          + tokens.map((t, k) => `${t} ${sa.draw.fixed(w[i][k])}`).join(", ") + ".",
      });
      // after the frame is laid out (reading the widths now would lay the page out again)
      requestAnimationFrame(() => sa.draw.scrollable(picture));
    }

    function showBook(k) {
      // one of the book's sentences, from the weights written at build time
      state.decoded[k] = state.decoded[k] || decode(data.sentences[k], layers, heads);
      show(state.decoded[k]);
    }

    async function shown(sentence, result) {
      // a result of the model, with a note on what it did not read as typed
      const note = await unread(sentence);
      if (state.typed !== null) return; // the reader typed on meanwhile
      show(result);
      say(note);
      root.dataset.state = "live";
    }

    async function compute() {
      // The text box's sentence through the model; the reader may type on meanwhile:
      // then the newest text is computed next and the older result is not shown.
      state.typed = input.value;
      if (state.running) return;
      state.running = true;
      try {
        while (state.typed !== null) {
          const sentence = state.typed;
          state.typed = null;
          let result;
          try {
            result = await sa.miniLM(sentence);
          } catch (err) {
            if (state.typed === null) say(err.message, true); // the picture stays
            continue;
          }
          if (state.typed === null) await shown(sentence, result);
        }
      } finally {
        state.running = false;
      }
    }

    async function loadModel() {
      // The model, loaded with its progress, computes the sentence shown; then the
      // sentence becomes a text box, focused, that computes what is typed.
      const sentence = data.sentences[Number(book.value)].sentence;
      load.hidden = true;
      note.hidden = true;
      progress.hidden = false;
      progressText.hidden = false;
      progress.value = 0;
      progressText.textContent = `Loading the model: 0.0 of ${megabytes(state.bytes)}`;
      root.dataset.state = "loading";
      say("");
      const onProgress = ({ loaded, total }) => {
        progress.max = total;
        progress.value = loaded;
        progressText.textContent = `Loading the model: ${(loaded / 1e6).toFixed(1)} `
          + `of ${megabytes(total)}`;
      };
      let result;
      try {
        result = await sa.miniLM(sentence, { onProgress });
      } catch (err) {
        progress.hidden = true;
        progressText.hidden = true;
        load.hidden = false;
        load.textContent = `Try again to load the model (${megabytes(state.bytes)})`;
        root.dataset.state = "failed";
        say(`The model could not be loaded: ${err.message}`, true);
        load.focus();
        return;
      }
      input = element(null, "input", {
        type: "text", id: sentenceId, autocomplete: "off", spellcheck: "false",
        autocapitalize: "off", "aria-describedby": `${id}-message`,
      });
      // the sentence chosen now (the reader may have chosen the other one meanwhile)
      input.value = data.sentences[Number(book.value)].sentence;
      book.replaceWith(input);
      input.addEventListener("input", compute);
      model.hidden = true;
      input.focus();
      if (input.value === sentence) await shown(sentence, result);
      else await compute();
    }

    function offerModel() {
      // the button, with the download's size; or why this page cannot load the model
      const fail = (why) => {
        note.textContent = `Only the book's sentences can be shown here: ${why}`;
        note.hidden = false;
        root.dataset.state = "unavailable";
      };
      if (!sa.miniLM) return fail("this page has no in-page model.");
      sa.miniLM.info().then((info) => {
        if (!info.available) return fail(info.unavailable);
        state.bytes = info.bytes;
        load.textContent = `Load the model to type your own sentence (${megabytes(info.bytes)})`;
        load.hidden = false;
        root.dataset.state = "ready";
      }, (err) => fail(err.message));
    }

    book.addEventListener("change", () => showBook(Number(book.value)));
    select.addEventListener("change", () => {
      state.query = Number(select.value);
      draw();
    });
    const pick = (radios, key) => radios.forEach((radio, k) => {
      radio.addEventListener("change", () => {
        if (radio.checked) {
          state[key] = k;
          draw();
        }
      });
    });
    pick(layerRadios, "layer");
    pick(headRadios, "head");
    load.addEventListener("click", loadModel);
    new ResizeObserver(([entry]) => {
      const width = Math.round(entry.contentBoxSize[0].inlineSize);
      if (state.result && width !== state.width) {
        state.width = width;
        draw();
      }
    }).observe(picture);

    layerRadios[state.layer].checked = true;
    headRadios[state.head].checked = true;
    if (!data.sentences.length) {
      // no weights written at build time (no model there): say so; no picture
      book.disabled = true;
      say(data.unavailable, true);
      return;
    }
    showBook(0);
    offerModel();
  }

  sa.explorers.define("pretrained", pretrainedExplorer);
})((window.selfattention = window.selfattention || {}));
