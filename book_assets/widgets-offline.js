// Loaded after require.js and before the ipywidgets HTML manager (see nb_ipywidgets_js in _config.yml).
(function () {
  // 1. The widget manager computes where its icon fonts live from its module path; point that path at the
  //    copy served with the book, so no page asks for fonts that are not there.
  var root = document.documentElement.dataset.content_root || "";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": root + "_static/vendor/html-manager" } });

  // 2. The widget manager typesets widget labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3 lacks.
  //    Give every MathJax object (the configuration now, MathJax itself once loaded) a small Hub that
  //    forwards to MathJax 3's typesetPromise.
  var hub = {
    Queue: function (job) {
      var mathjax = window.MathJax;
      var element = job && job[2];
      if (mathjax && mathjax.typesetPromise && element) {
        mathjax.typesetPromise([element]).catch(function () {});
      }
    },
  };
  var current = window.MathJax;
  if (current && !current.Hub) current.Hub = hub;
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      if (value && typeof value === "object" && !value.Hub) value.Hub = hub;
      current = value;
    },
  });
})();
