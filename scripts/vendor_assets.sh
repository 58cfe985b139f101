#!/usr/bin/env bash
# Refresh the third-party files the HTML book serves itself (so it works offline): MathJax 3, RequireJS and
# the ipywidgets HTML manager, from the npm registry. Maintainers only: the results are committed under
# book_assets/vendor/, so building the book needs nothing but `pip install -r requirements.txt`.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=3.2.2
REQUIREJS=2.3.8
HTML_MANAGER=1.0.15
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
  "mathjax@$MATHJAX" "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER")
nm="$work/node_modules"
out=book_assets/vendor
rm -rf "$out"
mkdir -p "$out/mathjax/output/chtml/fonts" "$out/requirejs" "$out/html-manager"
cp "$nm/mathjax/es5/tex-chtml.js" "$out/mathjax/"
cp -r "$nm/mathjax/es5/output/chtml/fonts/woff-v2" "$out/mathjax/output/chtml/fonts/"
cp "$nm/mathjax/LICENSE" "$out/mathjax/LICENSE"
cp "$nm/requirejs/require.js" "$out/requirejs/"
cp "$nm/@jupyter-widgets/html-manager/dist/embed-amd.js" "$out/html-manager/"
cp "$nm/@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt" "$out/html-manager/THIRD-PARTY-LICENSES.txt"
cp "$nm"/@jupyter-widgets/html-manager/dist/*.woff2 "$out/html-manager/"
cat > "$out/VERSIONS.txt" <<VERSIONS
mathjax $MATHJAX (Apache-2.0): mathjax/LICENSE
requirejs $REQUIREJS (MIT): requirejs/LICENSE
@jupyter-widgets/html-manager $HTML_MANAGER (BSD-3-Clause): html-manager/LICENSE, html-manager/THIRD-PARTY-LICENSES.txt
VERSIONS
cat > "$out/requirejs/LICENSE" <<'LICENSE'
RequireJS is released under the MIT license (header of require.js: "Copyright jQuery Foundation and other
contributors. Released under MIT license").

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without
limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
Software, and to permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions
of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED
TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL
THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
LICENSE
cat > "$out/html-manager/LICENSE" <<'LICENSE'
BSD 3-Clause License (the licence of @jupyter-widgets/html-manager, per its package.json)

Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted provided that
the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the
   following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the
   following disclaimer in the documentation and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
   promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY
DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR
OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH
DAMAGE.
LICENSE
echo "vendored into $out:"; du -sh "$out"
