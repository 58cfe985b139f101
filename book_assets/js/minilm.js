// all-MiniLM-L6-v2 in the page: window.selfattention.miniLM(sentence, {onProgress}) is a Promise of
// {tokens, attentions}, the model's WordPiece tokens ([CLS] ... [SEP]) and every head's attention weights,
// attentions[layer][head][i][j] (6 × 12 × n × n nested arrays of numbers): how much token i looks at token j.
//
// The same model as the Python package's (selfattention.pretrained): an ONNX graph exported from the same weights
// at build time (scripts/build_browser_model.py), run by onnxruntime-web on one WebAssembly thread (a plain static
// server gives no cross-origin isolation, so no threads), its tokenizer.json read by @huggingface/tokenizers. All of
// it is served by the book itself from _static/minilm/ (book_ext copies it there), loaded on the first call only;
// tests/test_browser_minilm.py compares the results with the Python model. minilm.json, written by the build, says
// whether this build has the model, how big the download is, and the messages the Python explorer gives.
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = new URL("../minilm/", script ? script.src : location.href).href;
  var SERVE =
    "The in-page model is loaded with fetch, which browsers refuse to pages opened as files. " +
    "Serve the book instead, e.g. python -m http.server -d _build/html, and open http://localhost:8000/.";
  // Python's str.isspace(): the Python explorer's test for an empty sentence
  var BLANK = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

  var configPromise = null; // minilm.json
  var loads = {}; // "tokenizer", "session": each loaded once (a failed load is tried again by the next call)
  var loaded = { tokenizer: 0, session: 0 }; // bytes so far, of cfg.download_bytes in all
  var listeners = []; // the onProgress of every call made while loading
  var queue = Promise.resolve(); // the runs of the session, one after the other

  function fail(message, cause) {
    var error = new Error(message);
    if (cause) error.cause = cause;
    return error;
  }

  async function get(name) {
    var response;
    try {
      response = await fetch(BASE + name);
    } catch (err) {
      throw fail(location.protocol === "file:" ? SERVE : "Could not fetch " + BASE + name + ": " + err.message, err);
    }
    if (!response.ok) throw fail("Could not fetch " + BASE + name + ": HTTP " + response.status);
    return response;
  }

  function config() {
    if (location.protocol === "file:") return Promise.reject(fail(SERVE));
    if (!configPromise) {
      configPromise = get("minilm.json").then(function (r) {
        return r.json();
      });
      configPromise.catch(function () {
        configPromise = null;
      });
    }
    return configPromise;
  }

  // count(delta) for one of the loads: tells every listener the bytes loaded so far
  function counter(cfg, what) {
    return function count(delta) {
      loaded[what] += delta;
      var sum = Math.min(cfg.download_bytes, loaded.tokenizer + loaded.session);
      listeners.forEach(function (report) {
        try {
          report({ loaded: sum, total: cfg.download_bytes });
        } catch (err) {
          console.error(err);
        }
      });
    };
  }

  // A file's bytes, counted as they arrive.
  async function bytes(name, count) {
    var response = await get(name);
    var reader = response.body.getReader();
    var pieces = [];
    var length = 0;
    for (;;) {
      var piece = await reader.read();
      if (piece.done) break;
      pieces.push(piece.value);
      length += piece.value.length;
      count(piece.value.length);
    }
    var all = new Uint8Array(length);
    var offset = 0;
    pieces.forEach(function (p) {
      all.set(p, offset);
      offset += p.length;
    });
    return all;
  }

  async function json(name, count) {
    return JSON.parse(new TextDecoder().decode(await bytes(name, count)));
  }

  // A JavaScript module, counted when it has arrived (its size from minilm.json).
  async function module(name, count, cfg) {
    var m = await import(BASE + name);
    count(cfg.files[name]);
    return m;
  }

  var LOADERS = {
    // @huggingface/tokenizers reading the model's own tokenizer files (half a megabyte)
    tokenizer: async function (cfg, count) {
      var parts = await Promise.all([
        module("tokenizers.min.mjs", count, cfg),
        json(cfg.tokenizer[0], count),
        json(cfg.tokenizer[1], count),
      ]);
      return new parts[0].Tokenizer(parts[1], parts[2]);
    },
    // onnxruntime-web, one WebAssembly thread, and the graph (the bulk of the download)
    session: async function (cfg, count) {
      var parts = await Promise.all([
        module("ort.wasm.min.mjs", count, cfg),
        module("ort-wasm-simd-threaded.mjs", count, cfg), // onnxruntime imports it again: from the cache
        bytes("ort-wasm-simd-threaded.wasm", count),
        bytes(cfg.graph, count),
      ]);
      var ort = parts[0];
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = { mjs: BASE + "ort-wasm-simd-threaded.mjs" };
      ort.env.wasm.wasmBinary = parts[2];
      var session = await ort.InferenceSession.create(parts[3], {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
      });
      return { ort: ort, session: session };
    },
  };

  function need(cfg, what, onProgress) {
    if (onProgress && listeners.indexOf(onProgress) < 0) listeners.push(onProgress);
    if (!loads[what]) {
      loaded[what] = 0;
      loads[what] = LOADERS[what](cfg, counter(cfg, what));
      loads[what].catch(function () {
        delete loads[what]; // the next call starts it again, from 0 bytes
      });
    }
    return loads[what];
  }

  // (layers · heads · n · n) flat -> [layer][head][i][j]
  function nest(flat, layers, heads, n) {
    var out = [];
    for (var l = 0; l < layers; l++) {
      var layer = [];
      for (var h = 0; h < heads; h++) {
        var rows = [];
        for (var i = 0; i < n; i++) {
          var start = ((l * heads + h) * n + i) * n;
          rows.push(Array.from(flat.subarray(start, start + n)));
        }
        layer.push(rows);
      }
      out.push(layer);
    }
    return out;
  }

  async function miniLM(sentence, options) {
    var onProgress = options && options.onProgress;
    var cfg = await config();
    if (!cfg.available) throw fail(cfg.unavailable);
    if (typeof sentence !== "string" || BLANK.test(sentence)) throw fail(cfg.messages.empty);
    try {
      var tokenizer = await need(cfg, "tokenizer", onProgress);
      var encoded = tokenizer.encode(sentence); // {ids, tokens}, [CLS] and [SEP] included
      var n = encoded.ids.length;
      if (n > cfg.max_tokens) {
        throw fail(cfg.messages.too_long.replace("{n}", n).replace("{max_tokens}", cfg.max_tokens));
      }
      var m = await need(cfg, "session", onProgress);
    } finally {
      // this call's progress ends with its loading
      listeners = listeners.filter(function (f) {
        return f !== onProgress;
      });
    }
    var feeds = {};
    feeds[cfg.input] = new m.ort.Tensor("int64", BigInt64Array.from(encoded.ids, BigInt), [1, n]);
    // one run at a time: a session does not take a second while the first is under way
    var run = queue.then(function () {
      return m.session.run(feeds);
    });
    queue = run.catch(function () {});
    var attentions = (await run)[cfg.output]; // (1, layers, heads, n, n)
    var nested = nest(attentions.data, cfg.layers, cfg.heads, n);
    attentions.dispose();
    return { tokens: encoded.tokens.slice(), attentions: nested };
  }

  // The tokenizer alone (half a megabyte; nothing more when the model is loaded already).
  async function tokenizerOnly() {
    var cfg = await config();
    if (!cfg.available) throw fail(cfg.unavailable);
    return need(cfg, "tokenizer");
  }

  // The model's WordPiece tokens of a text ([CLS] ... [SEP]), without running the model.
  miniLM.tokenize = async function (text) {
    return (await tokenizerOnly()).encode(String(text)).tokens.slice();
  };

  // The pieces the tokenizer cuts a text into before WordPiece (at spaces, at punctuation and around CJK characters,
  // which its normalizer sets apart), as typed: a piece the vocabulary cannot spell becomes one [UNK].
  miniLM.pieces = async function (text) {
    var tokenizer = await tokenizerOnly();
    var apart = Array.from(String(text), function (ch) {
      return /\s/.test(ch) || tokenizer.normalizer.normalize(ch).charAt(0) !== " " ? ch : " " + ch + " ";
    });
    return tokenizer.pre_tokenizer.pre_tokenize(apart.join(""));
  };

  // What the first call will download: {available, bytes, unavailable}; downloads nothing but minilm.json.
  miniLM.info = async function () {
    var cfg = await config();
    return { available: cfg.available, bytes: cfg.download_bytes || 0, unavailable: cfg.unavailable || null };
  };

  var selfattention = (window.selfattention = window.selfattention || {});
  selfattention.miniLM = miniLM;
})();
