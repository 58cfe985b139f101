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

  async function unknownWords(sentence) {
    // The words (as typed, split at white space) in which the model's tokenizer finds
    // something its vocabulary lacks: it reads them as [UNK].
    const words = Array.from(new Set(sentence.split(/\s+/).filter(Boolean)));
    const found = [];
    for (const word of words) {
      if ((await sa.miniLM.tokenize(word)).includes("[UNK]")) found.push(word);
    }
    return found;
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
      wanted: root.dataset.query || first.query || "it",
      query: null, // index in result.tokens, or null: the reader picks
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
      const old = state.result && state.result.tokens.join("\u0000");
      state.result = result;
      if (old !== result.tokens.join("\u0000")) {
        state.query = tokenChoice(select, result.tokens, [state.wanted, "it"]);
      }
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
      const row = i === null ? "" : `; the row of "${tokens[i]}" is outlined`;
      sa.draw.heatmap(heatmapBox, w, tokens, null, {
        layout, title: name, highlightRow: i,
        label: `Heatmap of the attention matrix of all-MiniLM-L6-v2, ${name}, `
          + `${tokens.length} tokens as rows (queries) and columns (keys), in order: `
          + `${tokens.join(", ")}${row}.`,
      });
      const title = i === null ? "choose a query token" : `row of "${tokens[i]}": where it looks`;
      sa.draw.bars(barsBox, i === null ? null : w[i], tokens, {
        layout: { ...layout }, title, highlight: i,
        message: "Choose a query token to see its row.",
        label: i === null ? "No row shown: choose a query token."
          : `Bars: the row of "${tokens[i]}" in ${name}, the weight it gives each token: `
            + tokens.map((t, k) => `${t} ${sa.draw.fixed(w[i][k])}`).join(", ") + ".",
      });
    }

    function showBook(k) {
      // one of the book's sentences, from the weights written at build time
      state.decoded[k] = state.decoded[k] || decode(data.sentences[k], layers, heads);
      show(state.decoded[k]);
    }

    async function shown(sentence, result) {
      // a result of the model, with a note on what it read as [UNK]
      const unknown = result.tokens.includes("[UNK]") ? await unknownWords(sentence) : [];
      if (state.typed !== null) return; // the reader typed on meanwhile
      show(result);
      say(unknown.length
        ? "Not in the model's vocabulary, so it reads them as [UNK] (unknown): "
          + unknown.slice(0, 6).join(" ") + (unknown.length > 6 ? " …" : "")
        : "");
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
      state.query = select.value === "" ? null : Number(select.value);
      if (state.query !== null) {
        state.wanted = state.result.tokens[state.query];
        const placeholder = select.querySelector('option[value=""]');
        if (placeholder) placeholder.remove();
      }
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
