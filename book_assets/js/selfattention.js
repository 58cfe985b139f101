// The book's attention, computed in the reader's browser: score → normalize → blend as in
// src/selfattention/numpy_backend.py, and chapter 6's hand-built layers as in examples.py.
// A plain script (no module, no build step), so it also works from a book opened from disk.
// Matrices are arrays of rows: (n, m) is n rows of m numbers. The data (vocabulary,
// W_Q, W_K, W_V, limits, messages) is window.selfattentionData, which the book's build
// writes from the Python package (selfattention.browser): nothing here is typed twice.
// tests/test_browser_compute.py checks handBuilt against examples.contextualize.
(function (sa) {
  "use strict";

  // --- The three steps (numpy_backend.py) ---------------------------------------------

  const transpose = (a) => a[0].map((_, j) => a.map((row) => row[j])); // (n, m) -> (m, n)
  // (n, k) @ (k, m) -> (n, m)
  const matmul = (a, b) =>
    a.map((row) => b[0].map((_, j) => row.reduce((sum, x, i) => sum + x * b[i][j], 0)));
  const add = (a, b) => a.map((row, i) => row.map((x, j) => x + b[i][j])); // (n, m)

  function score(q, k, scale = 1 / Math.sqrt(q[0].length)) {
    // Step 1: q (n, d_k) and k (m, d_k) -> scores (n, m) = q @ kᵀ · scale
    return matmul(q.map((row) => row.map((x) => x * scale)), transpose(k));
  }

  function normalize(scores) {
    // Step 2: scores (n, m) -> weights (n, m): each row a softmax, ≥ 0, summing to 1
    return scores.map((row) => {
      const rowMax = Math.max(...row); // every entry minus it is ≤ 0: exp cannot overflow
      const weights = row.map((s) => Math.exp(s - rowMax));
      const total = weights.reduce((sum, w) => sum + w, 0); // ≥ 1
      return weights.map((w) => w / total);
    });
  }

  function blend(weights, v) {
    // Step 3: weights (n, m) and v (m, d_v) -> output (n, d_v) = weights @ v
    return matmul(weights, v);
  }

  function attention(q, k, v, scale) {
    // q (n, d_k), k (m, d_k), v (m, d_v) -> [output (n, d_v), weights (n, m)]
    const weights = normalize(score(q, k, scale));
    return [blend(weights, v), weights];
  }

  function selfAttention(x, wQ, wK, wV) {
    // x (n, d_model); wQ, wK (d_model, d_k); wV (d_model, d_v)
    // -> [output (n, d_v), weights (n, n)]
    return attention(matmul(x, wQ), matmul(x, wK), matmul(x, wV));
  }

  // --- The hand-built layers (examples.py) --------------------------------------------

  function data() {
    if (!window.selfattentionData) throw new Error("selfattention-data.js is not loaded");
    return window.selfattentionData;
  }

  class SentenceError extends Error {
    // a sentence the explorer cannot use; the message is meant for the reader, as it is
  }
  SentenceError.prototype.name = "SentenceError";

  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu; // examples.WORD: [^\W_]+(?:'[^\W_]+)*

  let pythonKnows = null; // code point -> known to Python's Unicode database?
  function asPythonSees(text) {
    // Characters Python's (older) Unicode database does not know are, to Python, neither
    // letters nor spaces nor lower-case of anything: a space here does the same.
    if (!pythonKnows) {
      const starts = []; // where each run of selfattentionData.unicode.assigned starts
      data().unicode.assigned.reduce((at, length) => (starts.push(at), at + length), 0);
      pythonKnows = (cp) => {
        let lo = 0, hi = starts.length - 1; // the last run starting at or before cp
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (starts[mid] <= cp) lo = mid;
          else hi = mid - 1;
        }
        return lo % 2 === 0; // runs alternate: known, unknown, known...
      };
    }
    return Array.from(text, (c) => (pythonKnows(c.codePointAt(0)) ? c : " ")).join("");
  }

  function tokenize(sentence) {
    // As examples.tokenize: NFKC, ’ as ', lower case, then the words (letters and digits,
    // maybe joined by apostrophes). Throws SentenceError with the Python's messages.
    const d = data();
    if (typeof sentence !== "string") {
      throw new SentenceError(fill(d.messages["not text"], { type: typeof sentence }));
    }
    const text = asPythonSees(sentence).normalize("NFKC").replace(/\u2019/g, "'");
    const lower = Array.from(text, (c) => c.toLowerCase()).join(""); // one at a time
    const tokens = lower.match(WORD) || [];
    if (!tokens.length) throw new SentenceError(d.messages["no words"]);
    if (tokens.length > d.maxTokens) {
      const values = { count: tokens.length, limit: d.maxTokens };
      throw new SentenceError(fill(d.messages["too many words"], values));
    }
    const long = tokens.find((t) => Array.from(t).length > d.maxWordLength); // code points
    if (long) {
      const start = Array.from(long).slice(0, d.longWordShown).join("");
      const values = { start, limit: d.maxWordLength };
      throw new SentenceError(fill(d.messages["long word"], values));
    }
    return tokens;
  }

  function leftOut(sentence) {
    // As examples.left_out: typed characters that are in no word and are not spaces or
    // punctuation (emoji, symbols), so that an explorer can say it dropped them.
    const text = asPythonSees(sentence).normalize("NFKC");
    const kept = new Set(Array.from((text.match(WORD) || []).join("")));
    const ignored = /[\s\p{P}\p{Mn}\p{Cf}]/u; // spaces, punctuation, marks, format
    const dropped = Array.from(text).filter((c) => !kept.has(c) && !ignored.test(c));
    return [...new Set(dropped)];
  }

  function fnv1a(bytes) {
    // the 32-bit FNV-1a hash of some bytes
    let h = 0x811c9dc5;
    for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    return h;
  }

  function mulberry32(seed) {
    // uniform numbers in [0, 1) from a 32-bit seed (as examples._mulberry32)
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let z = Math.imul(state ^ (state >>> 15), state | 1);
      z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
      return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
    };
  }

  function unknownWordVector(word) {
    // As examples.unknown_word_vector: seeded by the hash of the word's UTF-8 bytes,
    // Box-Muller normal numbers, length 0.5. -> (d_model,)
    const uniform = mulberry32(fnv1a(new TextEncoder().encode(word)));
    const v = data().features.map(
      () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())
    );
    const length = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
    return v.map((x) => (data().unknownWordLength * x) / length);
  }

  const known = (tokens) => tokens.map((t) => Object.hasOwn(data().vocabulary, t));

  function embed(tokens) {
    // the tokens' hand-built vectors (or unknownWordVector) -> x (n, d_model)
    const vocabulary = data().vocabulary;
    return tokens.map((t) =>
      Object.hasOwn(vocabulary, t) ? vocabulary[t] : unknownWordVector(t)
    );
  }

  function handBuilt(sentence) {
    // As examples.contextualize(sentence): its tokens, and weights[l], the (n, n)
    // attention matrix of hand-built layer l.
    const tokens = tokenize(sentence);
    let x = embed(tokens); // (n, d_model)
    const weights = [];
    for (const layer of data().layers) {
      // gathered (n, d_model), w (n, n)
      const [gathered, w] = selfAttention(x, layer.w_q, layer.w_k, layer.w_v);
      x = add(x, gathered); // residual: keep what the token was, add what it gathered
      weights.push(w);
    }
    return { tokens, weights };
  }

  Object.assign(sa, {
    score, normalize, blend, attention, selfAttention,
    SentenceError, tokenize, leftOut, unknownWordVector, known, embed, handBuilt,
  });
})((window.selfattention = window.selfattention || {}));
