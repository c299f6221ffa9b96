// Draws noisesched figures in the browser with uPlot (compiled into the program and inlined into
// every HTML report after uPlot itself; see html_figure.h). Each figure is a
// <div class="ns-figure"> followed by <script type="application/json" class="ns-figure-data">
// holding the same description the PNG renderer reads (figure_to_json): panels of labelled
// series, null for a gap, log_y, xlim/ylim, and an "x" shared by every series of a panel when
// they have one. Every number was computed by the program; this script only draws. A chart's
// legend shows the values under the cursor; drag across a chart to zoom, double-click to reset.
(function () {
  "use strict";
  // matplotlib's default colours, so the PNG figures and the report look alike.
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];

  function dash(style) {
    if (style.indexOf("--") >= 0) return [6, 4];
    if (style.indexOf("-.") >= 0) return [6, 3, 2, 3];
    if (style.indexOf(":") >= 0) return [2, 3];
    return undefined;
  }

  // [x, y] of one series, in increasing x (uPlot needs it), with points a log axis cannot show
  // turned into gaps.
  function table(panel, series) {
    var xs = series.x || panel.x, ys = series.y, pairs = [];
    for (var i = 0; i < xs.length; ++i) {
      if (xs[i] === null) continue;
      var y = ys[i];
      if (y !== null && panel.log_y && !(y > 0)) y = null;
      pairs.push([xs[i], y]);
    }
    pairs.sort(function (a, b) { return a[0] - b[0]; });
    return [pairs.map(function (p) { return p[0]; }), pairs.map(function (p) { return p[1]; })];
  }

  // Tick labels: 3 significant digits, exponents for very small or large magnitudes.
  function tick(v) {
    if (v == null) return "";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
    return Number(v.toPrecision(3)).toString();
  }

  function ticks(u, splits) { return splits.map(tick); }

  function fixedRange(limits) {
    return function () { return [limits[0], limits[1]]; };
  }

  function chartWidth(cell) {
    return Math.max(240, Math.floor(cell.getBoundingClientRect().width) - 4);
  }

  function drawPanel(panel, index, cell) {
    if (!panel.series || panel.series.length === 0) {
      cell.textContent = panel.title + ": nothing to draw";
      return null;
    }
    var tables = panel.series.map(function (s) { return table(panel, s); });
    // One x axis for the chart: the union of the series' x values. A series has no value where
    // only another one has a point (undefined: drawn through), and null where its own number was
    // not finite (a gap, as in the PNG).
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var series = [{ label: panel.xlabel || "x" }];
    panel.series.forEach(function (s, i) {
      var style = s.style || "-";
      series.push({
        label: s.label || panel.ylabel || "value",
        stroke: palette[i % palette.length],
        width: 1.5,
        dash: dash(style),
        points: { show: style.indexOf("o") >= 0, size: 5 },
        spanGaps: false,
        value: function (u, v) { return v == null ? "-" : Number(v.toPrecision(5)).toString(); }
      });
    });
    var scales = { x: { time: false }, y: { distr: panel.log_y ? 3 : 1 } };
    if (panel.xlim) scales.x.range = fixedRange(panel.xlim);
    if (panel.ylim) scales.y.range = fixedRange(panel.ylim);
    var options = {
      title: panel.title || "",
      width: chartWidth(cell),
      height: 260,
      scales: scales,
      series: series,
      axes: [{ label: panel.xlabel || "", values: ticks },
             { label: panel.ylabel || "", size: 64, values: ticks }],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true }
    };
    var chart = new uPlot(options, data, cell);
    cell.setAttribute("data-drawn", "yes");
    return chart;
  }

  function drawFigure(container, figure) {
    if (figure.title) {
      var title = document.createElement("div");
      title.className = "ns-figure-title";
      title.textContent = figure.title;
      container.appendChild(title);
    }
    var grid = document.createElement("div");
    grid.className = "ns-figure-grid";
    var columns = Math.max(1, Math.min(figure.columns || 3, figure.panels.length));
    grid.style.gridTemplateColumns = "repeat(" + columns + ", minmax(0, 1fr))";
    container.appendChild(grid);
    var charts = [];
    figure.panels.forEach(function (panel, index) {
      var cell = document.createElement("div");
      cell.className = "ns-chart";
      grid.appendChild(cell);
      var chart = drawPanel(panel, index, cell);
      if (chart) charts.push([chart, cell]);
    });
    return charts;
  }

  function drawAll() {
    var charts = [];
    var blocks = document.querySelectorAll("script.ns-figure-data");
    for (var i = 0; i < blocks.length; ++i) {
      var container = blocks[i].previousElementSibling;
      charts = charts.concat(drawFigure(container, JSON.parse(blocks[i].textContent)));
    }
    // For checks (headless browsers' --dump-dom): how many charts were drawn, and when the
    // last one was, in milliseconds since the page started loading.
    document.documentElement.setAttribute("data-ns-charts", String(charts.length));
    document.documentElement.setAttribute("data-ns-drawn-ms", String(Math.round(performance.now())));
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c[0].setSize({ width: chartWidth(c[1]), height: 260 }); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
