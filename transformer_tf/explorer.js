/* Glue of the attention explorer (transformer_tf/explorer.py): turns the page's data into
   Plotly traces and wires the controls. Plotly does all the drawing, hovering and colour
   scales; this file only says what to draw.

   Data (the "attention-data" block): tokens {name: [piece]}, kinds [{name, title, rows,
   columns, layers, weights}] with weights[layer][head][query][key], head_colors, colorscales.
   The live page of `transformer-tf serve` has no such block: explorer_live.js fetches the
   data and calls window.attentionExplorer.load(data), which also writes the header (as text). */
(function () {
  "use strict";

  const block = document.getElementById("attention-data");
  let data = block ? JSON.parse(block.textContent) : null;
  const BINS = 20; // head view: a line's opacity is its weight rounded to 1/BINS (Plotly draws one opacity a trace)
  const ROW_PX = 22; // pixels per token in the head view and the heatmap
  const CONFIG = {displaylogo: false, responsive: true};
  const state = {kind: 0, layer: 0, head: 0, heads: new Set(), focus: null};
  const $ = (id) => document.getElementById(id);
  const views = {head: $("head-view"), model: $("model-view"), heatmap: $("heatmap-view")};

  const kind = () => data.kinds[state.kind];
  const numHeads = () => kind().weights[0].length;
  const rows = () => data.tokens[kind().rows];
  const columns = () => data.tokens[kind().columns];
  const range = (n) => Array.from({length: n}, (_, i) => i);

  function fillSelect(select, labels, selected) {
    select.replaceChildren(...labels.map((label, i) => new Option(label, i, false, i === selected)));
  }

  /* "query → key" for every cell of the current kind (hover text of both heatmap views). */
  function cellText() {
    const cols = columns();
    return rows().map((q) => cols.map((k) => q + " → " + k));
  }

  // ---- head view: two columns of tokens, one line per (query, key), one colour per head
  function headTraces() {
    const k = kind(), queries = rows(), keys = columns(), focus = state.focus;
    const traces = [];
    const heads = numHeads();
    for (const head of range(heads)) {
      if (!state.heads.has(head)) continue;
      const w = k.weights[state.layer][head];
      const lane = heads > 1 ? 0.6 * (head / (heads - 1) - 0.5) : 0; // heads side by side within ±0.3 of a row
      const bins = range(BINS).map(() => ({x: [], y: []}));
      queries.forEach((_, q) => keys.forEach((_, c) => {
        if (focus && (focus.side === "rows" ? q !== focus.index : c !== focus.index)) return;
        const bin = Math.round(w[q][c] * BINS);
        if (bin === 0) return;
        bins[bin - 1].x.push(0.03, 0.97, null);
        bins[bin - 1].y.push(lane - q, lane - c, null);
      }));
      bins.forEach((bin, i) => {
        if (!bin.x.length) return;
        traces.push({type: "scatter", mode: "lines", x: bin.x, y: bin.y, hoverinfo: "skip", showlegend: false,
                     line: {color: data.head_colors[head], width: 3}, opacity: (i + 1) / BINS,
                     meta: {head: head, weight: (i + 1) / BINS}});
      });
    }
    // the hovered token in black, the others greyed
    const shade = (side) => (_, i) => (!focus || (focus.side === side && focus.index === i) ? "#111" : "#aaa");
    const tokenTrace = (pieces, x, side, position) => ({
      type: "scatter", mode: "markers+text", x: pieces.map(() => x), y: pieces.map((_, i) => -i), text: pieces,
      textposition: position, textfont: {size: 13, color: pieces.map(shade(side))},
      marker: {size: 16, color: "rgba(0,0,0,0)"},
      hoverinfo: "none", showlegend: false, meta: {side: side},
    });
    traces.push(tokenTrace(queries, 0, "rows", "middle left"), tokenTrace(keys, 1, "columns", "middle right"));
    return traces;
  }

  function headLayout() {
    const n = Math.max(rows().length, columns().length);
    const k = kind();
    return {
      height: n * ROW_PX + 90, width: 640, margin: {l: 10, r: 10, t: 60, b: 10}, hovermode: "closest",
      hoverdistance: 110, // px from a token's anchor: the whole width of its text hovers it
      xaxis: {range: [-0.75, 1.75], visible: false, fixedrange: true},
      yaxis: {range: [-n + 0.5, 0.7], visible: false, fixedrange: true},
      title: {text: "Layer " + k.layers[state.layer] + ", " + k.title, font: {size: 14}},
      annotations: [
        {x: 0, y: 1, xref: "x", yref: "paper", yanchor: "bottom", xanchor: "right", showarrow: false,
         text: "<b>queries (" + k.rows + ")</b>"},
        {x: 1, y: 1, xref: "x", yref: "paper", yanchor: "bottom", xanchor: "left", showarrow: false,
         text: "<b>keys (" + k.columns + ")</b>"},
      ],
    };
  }

  function drawHead() {
    return Plotly.react(views.head, headTraces(), headLayout(), CONFIG);
  }

  function fillToggles() {
    const box = $("head-toggles");
    box.replaceChildren(...range(numHeads()).map((head) => {
      const label = document.createElement("label");
      label.style.color = data.head_colors[head];
      const input = document.createElement("input");
      input.type = "checkbox";
      input.dataset.head = head;
      input.checked = state.heads.has(head);
      input.addEventListener("change", () => {
        if (input.checked) state.heads.add(head); else state.heads.delete(head);
        drawHead();
      });
      label.append(input, " Head " + (head + 1));
      return label;
    }));
  }

  // ---- model view: layers × heads of the chosen kind
  function modelFigure() {
    const k = kind(), heads = numHeads(), layers = k.layers.length, text = cellText();
    const traces = [], layout = {
      grid: {rows: layers, columns: heads, pattern: "independent", xgap: 0.08, ygap: 0.08},
      height: layers * 120 + 70, width: heads * 120 + 90, margin: {l: 70, r: 10, t: 40, b: 40},
      title: {text: k.title + ": every layer × head (click one)", font: {size: 14}},
    };
    k.layers.forEach((layer, l) => range(heads).forEach((head) => {
      const n = l * heads + head + 1, suffix = n === 1 ? "" : String(n);
      traces.push({type: "heatmap", z: k.weights[l][head], text: text, xaxis: "x" + suffix, yaxis: "y" + suffix,
                   colorscale: data.colorscales[head], zmin: 0, zmax: 1, showscale: false,
                   hovertemplate: "layer " + layer + ", head " + (head + 1) +
                                  "<br>%{text}<br>weight %{z:.4f}<extra></extra>",
                   meta: {layer: l, head: head}});
      layout["xaxis" + suffix] = {showticklabels: false, ticks: "", fixedrange: true,
                                  title: l === layers - 1 ? {text: "Head " + (head + 1), standoff: 4} : undefined};
      layout["yaxis" + suffix] = {showticklabels: false, ticks: "", fixedrange: true, autorange: "reversed",
                                  title: head === 0 ? {text: "Layer " + layer, standoff: 4} : undefined};
    }));
    return [traces, layout];
  }

  function drawModel() {
    const [traces, layout] = modelFigure();
    return Plotly.react(views.model, traces, layout, CONFIG);
  }

  // ---- heatmap: one layer and head, tokens on the axes
  function drawHeatmap() {
    const k = kind(), queries = rows(), keys = columns(), head = state.head;
    const trace = {type: "heatmap", z: k.weights[state.layer][head], x: range(keys.length), y: range(queries.length),
                   text: cellText(), colorscale: data.colorscales[head], zmin: 0, zmax: 1,
                   hovertemplate: "%{text}<br>weight %{z:.4f}<extra></extra>"};
    const layout = {
      title: {text: "Layer " + k.layers[state.layer] + ", head " + (head + 1) + ", " + k.title, font: {size: 14}},
      height: queries.length * ROW_PX + 190, width: keys.length * ROW_PX + 300,
      margin: {l: 150, r: 20, t: 50, b: 130},
      xaxis: {tickvals: range(keys.length), ticktext: keys, tickangle: -90, fixedrange: true,
              title: {text: "keys: positions attended to (" + k.columns + ")"}},
      yaxis: {tickvals: range(queries.length), ticktext: queries, autorange: "reversed", fixedrange: true,
              title: {text: "queries: attending positions (" + k.rows + ")"}},
    };
    return Plotly.react(views.heatmap, [trace], layout, CONFIG);
  }

  // ---- controls
  function fillLayerAndHead() {
    state.layer = Math.min(state.layer, kind().layers.length - 1);
    state.head = Math.min(state.head, numHeads() - 1);
    fillSelect($("layer"), kind().layers.map(String), state.layer);
    fillSelect($("head"), range(numHeads()).map((h) => "Head " + (h + 1)), state.head);
    state.heads = new Set(range(numHeads()));
    state.focus = null;
    fillToggles();
  }

  /* Open one layer and head: the head view shows only that head, the heatmap shows it. */
  function openHead(layer, head) {
    state.layer = layer;
    state.head = head;
    state.heads = new Set([head]);
    state.focus = null;
    $("layer").value = String(layer);
    $("head").value = String(head);
    fillToggles();
    $("head-section").scrollIntoView({behavior: "smooth"});
    return Promise.all([drawHead(), drawHeatmap()]);
  }

  $("kind").addEventListener("change", (event) => {
    state.kind = Number(event.target.value);
    fillLayerAndHead();
    Promise.all([drawHead(), drawModel(), drawHeatmap()]);
  });
  $("layer").addEventListener("change", (event) => {
    state.layer = Number(event.target.value);
    state.focus = null;
    Promise.all([drawHead(), drawHeatmap()]);
  });
  $("head").addEventListener("change", (event) => {
    state.head = Number(event.target.value);
    drawHeatmap();
  });

  /* The header of the live page: sentence, translation, model, warnings, pieces, all as text. */
  function writeHeader() {
    $("sentence").textContent = data.sentence;
    $("translation").textContent = data.translation;
    $("model").textContent = data.model;
    $("alerts").replaceChildren(...data.warnings.map((message) => {
      const p = document.createElement("p");
      p.className = "warning";
      p.setAttribute("role", "alert");
      p.textContent = "⚠ " + message;
      return p;
    }));
    $("pieces").replaceChildren(...Object.entries(data.tokens).map(([name, pieces]) => {
      const p = document.createElement("p"), label = document.createElement("b");
      p.className = "pieces";
      label.textContent = data.token_labels[name] || name;
      p.append(label, " (" + pieces.length + "): ");
      pieces.forEach((piece, i) => {
        const span = document.createElement("span");
        span.className = "piece";
        span.textContent = piece;
        p.append(...(i ? [" ", span] : [span]));
      });
      return p;
    }));
  }

  function bindHovers() {
    let clearFocus = null;
    views.head.on("plotly_hover", (event) => {
      const meta = event.points[0].data.meta;
      clearTimeout(clearFocus);
      if (!meta || meta.side === undefined) return;
      const focus = {side: meta.side, index: event.points[0].pointIndex};
      if (state.focus && state.focus.side === focus.side && state.focus.index === focus.index) return;
      state.focus = focus;
      drawHead();
    });
    views.head.on("plotly_unhover", () => {
      clearFocus = setTimeout(() => { state.focus = null; drawHead(); }, 250);
    });
    views.model.on("plotly_click", (event) => {
      const meta = event.points[0].data.meta;
      openHead(meta.layer, meta.head);
    });
  }

  const explorer = {data: data, state: state, views: views, openHead: openHead, ready: false, loads: 0};
  window.attentionExplorer = explorer; // for the browser tests and the curious reader's console
  let bound = false;

  /* Draw `data` (the page's own, or new data from the server); resolves when drawn. */
  function show() {
    state.kind = 0;
    fillSelect($("kind"), data.kinds.map((k) => k.title), 0);
    fillLayerAndHead();
    return Promise.all([drawHead(), drawModel(), drawHeatmap()]).then(() => {
      if (!bound) bindHovers();
      bound = true;
      explorer.ready = true;
    });
  }

  explorer.load = (newData) => {
    data = explorer.data = newData;
    writeHeader();
    explorer.ready = false;
    return show().then(() => { explorer.loads += 1; });
  };
  if (data) show();
})();
