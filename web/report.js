/* report.js: draws a Noderr report's charts (inlined into every report after the
 * lightweight-charts library). Reads the JSON blob #nd-data written by src/report/report_html.c:
 * {"scenarios": [{"equity": [[time_s, value]...], "drawdown": [[time_s, pct]...],
 *   "markers": [[time_s, code]...]}]} with times strictly ascending. When every chart is drawn
 * it sets document.body.dataset.rendered = "ok"; any error is shown in #nd-errors and sets
 * it to "error", so a headless browser test can tell the two apart. */
(function () {
  'use strict';
  var errors = document.getElementById('nd-errors');
  var failed = false;

  function fail(message) {
    failed = true;
    errors.hidden = false;
    errors.textContent += 'Chart error: ' + message + '\n';
    document.body.dataset.rendered = 'error';
  }

  window.addEventListener('error', function (event) { fail(event.message); });

  /* Marker codes: see the enum in src/report/report_html.c. */
  var MARKERS = [
    { position: 'belowBar', shape: 'arrowUp', color: '#16a34a', text: '' },   /* long entry */
    { position: 'aboveBar', shape: 'arrowDown', color: '#dc2626', text: '' }, /* long exit */
    { position: 'aboveBar', shape: 'arrowDown', color: '#16a34a', text: '' }, /* short entry */
    { position: 'belowBar', shape: 'arrowUp', color: '#dc2626', text: '' },   /* short exit */
    { position: 'aboveBar', shape: 'circle', color: '#ea580c', text: 'halt' } /* breaker */
  ];

  /* Explicit sizes (not autoSize): fitContent must see the real width when it runs, and
   * minBarSpacing must be tiny so that years of hourly bars fit a phone's width. */
  function baseOptions(element) {
    return {
      width: element.clientWidth, height: element.clientHeight,
      layout: { background: { type: 'solid', color: '#ffffff' }, textColor: '#334155',
                fontSize: element.clientWidth < 500 ? 10 : 12, attributionLogo: false },
      grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
      rightPriceScale: { borderColor: '#e2e8f0' },
      timeScale: { borderColor: '#e2e8f0', timeVisible: true, secondsVisible: false,
                   minBarSpacing: 0.0001, fixLeftEdge: true, fixRightEdge: true },
      handleScroll: { vertTouchDrag: false },
      crosshair: { mode: 0 }
    };
  }

  function points(list) {
    return list.map(function (p) { return { time: p[0], value: p[1] }; });
  }

  function toMarker(m, size) {
    var style = MARKERS[m[1]] || MARKERS[4];
    return { time: m[0], position: style.position, shape: style.shape, color: style.color,
             text: style.text, size: m[1] === 4 ? 1 : size };
  }

  function isEntry(m) { return m[1] === 0 || m[1] === 2; }

  /* Markers for the visible time range only. Past one round trip per eight pixels the arrows
   * would bury the line, so trades are left out (breaker trips stay) and the hint says to
   * zoom in; zooming or scrolling brings them back. */
  function showMarkers(LC, chart, series, element, scenario, hint) {
    var plugin = LC.createSeriesMarkers(series, []);
    var trades = scenario.markers.filter(isEntry).length;
    function update() {
      var range = chart.timeScale().getVisibleRange();
      var inside = scenario.markers.filter(function (m) {
        return !range || (m[0] >= range.from && m[0] <= range.to);
      });
      var visibleTrades = inside.filter(isEntry).length;
      var density = visibleTrades / Math.max(1, element.clientWidth);
      var dense = density > 0.125;
      var size = density > 0.03 ? 0.6 : 1;
      plugin.setMarkers(inside.filter(function (m) { return !dense || m[1] === 4; })
        .map(function (m) { return toMarker(m, size); }));
      if (hint) {
        hint.textContent = dense ? ' \u2014 ' + trades + ' trades: zoom in (scroll or pinch) to ' +
                                   'see their markers' : '';
      }
    }
    chart.timeScale().subscribeVisibleTimeRangeChange(update);
    update();
  }

  /* Bars on which trading was halted get a pale orange band behind the line (an area on its own
   * hidden scale, broken outside the halts), so an idle, halted tail is visible at a glance. */
  function shadeHalts(LC, chart, scenario) {
    var halts = scenario.halts || [];
    if (!halts.length) return;
    var shade = chart.addSeries(LC.AreaSeries, {
      lineColor: 'rgba(234,88,12,0)', topColor: 'rgba(234,88,12,0.12)',
      bottomColor: 'rgba(234,88,12,0.12)', lineWidth: 1, priceScaleId: 'halt',
      priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false,
      autoscaleInfoProvider: function () { return { priceRange: { minValue: 0, maxValue: 1 } }; }
    });
    chart.priceScale('halt').applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
    var k = 0;
    shade.setData(scenario.equity.map(function (p) {
      while (k < halts.length && halts[k][1] < p[0]) k++;
      var inside = k < halts.length && p[0] >= halts[k][0];
      return inside ? { time: p[0], value: 1 } : { time: p[0] };
    }));
  }

  function drawEquity(LC, element, scenario, hint) {
    var chart = LC.createChart(element, baseOptions(element));
    var series = chart.addSeries(LC.LineSeries, {
      color: '#2563eb', lineWidth: 2, priceLineVisible: false,
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 }
    });
    series.setData(points(scenario.equity));
    shadeHalts(LC, chart, scenario);
    if (scenario.markers.length) showMarkers(LC, chart, series, element, scenario, hint);
    chart.timeScale().fitContent();
    return chart;
  }

  function drawDrawdown(LC, element, scenario) {
    var chart = LC.createChart(element, baseOptions(element));
    var series = chart.addSeries(LC.AreaSeries, {
      lineColor: '#dc2626', topColor: 'rgba(220,38,38,0.05)', bottomColor: 'rgba(220,38,38,0.35)',
      invertFilledArea: true, lineWidth: 1, priceLineVisible: false,
      priceFormat: { type: 'custom', minMove: 0.01,
                     formatter: function (v) { return v.toFixed(1) + '%'; } }
    });
    series.setData(points(scenario.drawdown));
    chart.timeScale().fitContent();
    return chart;
  }

  /* Scrolling or zooming one chart of a scenario moves the other to the same times. */
  function link(a, b) {
    var busy = false;
    function follow(source, target) {
      source.timeScale().subscribeVisibleTimeRangeChange(function (range) {
        if (busy || !range) return;
        busy = true;
        try { target.timeScale().setVisibleRange(range); } catch (e) { /* outside data */ }
        busy = false;
      });
    }
    follow(a, b);
    follow(b, a);
  }

  var drawn = [];

  function track(chart, element) {
    drawn.push({ chart: chart, element: element });
    return chart;
  }

  window.addEventListener('resize', function () {
    drawn.forEach(function (d) {
      d.chart.resize(d.element.clientWidth, d.element.clientHeight);
      d.chart.timeScale().fitContent();
    });
  });

  try {
    if (typeof LightweightCharts === 'undefined') {
      throw new Error('the charting library did not load');
    }
    var LC = LightweightCharts;
    var data = JSON.parse(document.getElementById('nd-data').textContent);
    data.scenarios.forEach(function (scenario, i) {
      var eq = document.getElementById('eq-' + i);
      var dd = document.getElementById('dd-' + i);
      if (!eq || !scenario.equity.length) return;
      var a = track(drawEquity(LC, eq, scenario, document.getElementById('hint-' + i)), eq);
      if (dd && scenario.drawdown.length) link(a, track(drawDrawdown(LC, dd, scenario), dd));
    });
    /* The widest the page lays out; a phone-width test checks nothing scrolls sideways. */
    document.body.dataset.pageWidth = String(document.documentElement.scrollWidth);
    if (!failed) document.body.dataset.rendered = 'ok';
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
})();
